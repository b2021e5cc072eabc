"""generate_instance's fast path (edge arrays, a deferred graph, no re-checks) gives exactly the instance of the checked
path: build_task_graph's DiGraph through partition_tasks and assemble_instance, the same draws in the same order."""

from __future__ import annotations

import dataclasses
import pickle

import networkx as nx
import numpy as np
import pytest

from ces_env.config import make_config
from ces_env.generator import (
    assemble_instance,
    draw_classes,
    draw_speeds,
    generate_instance,
    partition_tasks,
    split_agents,
)
from ces_env.graphs import TaskEdges, build_task_edges, build_task_graph
from ces_env.maze import generate_mazes
from ces_env.types import Instance

ARRAY_FIELDS = [f.name for f in dataclasses.fields(Instance) if f.name not in ("graph", "mazes", "n_groups")]


def checked_instance(config, rng: np.random.Generator) -> Instance:
    """The instance as generate_instance built it before the fast path: every part through the public, checked API."""
    graph = build_task_graph(config.graph, config.n_tasks, rng, config.graph_density, config.graph_layers)
    n_tasks = graph.number_of_nodes()
    task_group = partition_tasks(graph, config.n_groups, config.partition, rng)
    rewards = rng.uniform(config.reward_range[0], config.reward_range[1], size=n_tasks)
    n_classes = min(config.n_classes, n_tasks)
    task_class = draw_classes(n_tasks, n_classes, rng)
    agent_group = split_agents(config.n_agents, config.n_groups)
    agent_speed = draw_speeds(config, agent_group, rng)
    mazes = generate_mazes(*config.maze_shape, n_classes, rng)
    return assemble_instance(
        graph, rewards, task_group, task_class, agent_group, agent_speed, mazes, n_groups=config.n_groups
    )


def assert_same_graph(fast: nx.DiGraph, checked: nx.DiGraph) -> None:
    assert isinstance(fast, nx.DiGraph)
    assert list(fast.nodes(data=True)) == list(checked.nodes(data=True))
    assert list(fast.edges(data=True)) == list(checked.edges(data=True))
    assert fast.graph == checked.graph


def assert_same_instance(fast: Instance, checked: Instance) -> None:
    for name in ARRAY_FIELDS:
        a, b = getattr(fast, name), getattr(checked, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert fast.n_groups == checked.n_groups and type(fast.n_groups) is int
    assert len(fast.mazes) == len(checked.mazes)
    for x, y in zip(fast.mazes, checked.mazes):
        assert (x.start, x.target) == (y.start, y.target)
        np.testing.assert_array_equal(x.passages, y.passages)
        np.testing.assert_array_equal(x.solution, y.solution)
    assert_same_graph(fast.graph, checked.graph)


SCENARIOS = [
    dict(preset="small"),
    dict(preset="small-decentralized"),
    dict(graph="hds", n_tasks=60, n_agents=6, n_groups=3),
    dict(graph="layered", n_tasks=33, graph_density=0.6, n_agents=4, n_groups=2),
    dict(graph="lds", n_tasks=50, graph_layers=3, n_agents=5, n_groups=5),
    dict(graph="hds", n_tasks=7, graph_layers=1, n_agents=2, n_groups=1),  # one layer: no edge at all
    dict(graph="lds", n_tasks=1, n_agents=3, n_groups=2),  # one task, a group without tasks
    dict(graph="chain", n_tasks=12, n_agents=3, n_groups=3),
    dict(graph="independent", n_tasks=9, n_agents=2, n_groups=2),
    dict(graph="lds", n_tasks=40, partition="independent"),  # the DiGraph path: components
    dict(graph="g18", n_tasks=30, n_agents=4, n_groups=2),  # a tiled graph: the DiGraph path
    dict(graph="lds", n_tasks=40, speed_spread=0.4, group_speeds=(1.0, 2.5), n_agents=6, n_groups=2),
]


@pytest.mark.parametrize("overrides", SCENARIOS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("seed", [0, 1, 17, 123456789])
def test_fast_path_gives_the_checked_instance_and_generator_state(overrides, seed):
    config = make_config(**overrides)
    fast_rng, checked_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    fast = generate_instance(config, fast_rng)
    checked = checked_instance(config, checked_rng)
    assert fast_rng.bit_generator.state == checked_rng.bit_generator.state
    assert_same_instance(fast, checked)


def test_generated_families_defer_the_graph_and_build_it_once():
    config = make_config(preset="small")
    instance = generate_instance(config, np.random.default_rng(3))
    assert isinstance(vars(instance)["_graph"], TaskEdges)  # nothing on the reset's path built it
    graph = instance.graph
    assert instance.graph is graph and isinstance(vars(instance)["_graph"], nx.DiGraph)
    edges = np.array(list(graph.edges), dtype=np.int64).reshape(-1, 2)
    succ = np.concatenate([instance.successors(v) for v in range(instance.n_tasks)])
    np.testing.assert_array_equal(edges[:, 1], succ)  # the DiGraph and the CSR arrays describe the same DAG


def test_instance_with_a_deferred_graph_survives_replace_and_pickle():
    instance = generate_instance(make_config(preset="small"), np.random.default_rng(8))
    restored = pickle.loads(pickle.dumps(instance))
    assert_same_instance(restored, instance)
    changed = dataclasses.replace(instance, rewards=instance.rewards * 2)
    assert_same_graph(changed.graph, instance.graph)
    np.testing.assert_array_equal(changed.rewards, instance.rewards * 2)


def test_instance_graph_is_read_only_and_required():
    instance = generate_instance(make_config(preset="small"), np.random.default_rng(2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        instance.graph = nx.DiGraph()
    fields = {f.name: f for f in dataclasses.fields(Instance)}
    assert fields["graph"].default is dataclasses.MISSING  # a graph must always be given


@pytest.mark.parametrize("source", ["lds", "hds", "layered", "chain", "independent"])
def test_task_edges_build_the_graph_build_task_graph_builds(source):
    for n_tasks in (1, 2, 25, 101):
        edges_rng, graph_rng = np.random.default_rng(n_tasks), np.random.default_rng(n_tasks)
        edges = build_task_edges(source, n_tasks, edges_rng)
        assert isinstance(edges, TaskEdges)
        assert edges.sources.dtype == edges.targets.dtype == np.int64
        assert np.all(edges.sources < edges.targets)
        keys = edges.sources * n_tasks + edges.targets
        assert np.all(np.diff(keys) > 0)  # sorted by (source, target), no duplicate
        assert_same_graph(edges.to_graph(), build_task_graph(source, n_tasks, graph_rng))
        assert edges_rng.bit_generator.state == graph_rng.bit_generator.state


def test_solution_lengths_are_computed_once_and_handed_out_as_copies():
    instance = generate_instance(make_config(preset="small"), np.random.default_rng(5))
    expected = np.array([instance.mazes[c].solution_length for c in instance.task_class], dtype=np.int64)
    first = instance.solution_lengths()
    np.testing.assert_array_equal(first, expected)
    first[:] = -1  # a caller's scratch use must not reach the instance's cached lengths
    second = instance.solution_lengths()
    np.testing.assert_array_equal(second, expected)
    assert second is not first and second.dtype == np.int64

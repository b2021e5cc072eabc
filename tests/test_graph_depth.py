"""``graph_layers``: the depth of the random layered families (issue 9: the paper's 500-task graphs are at most about
11 tasks deep, the families' own shape about sqrt(m) = 23).

The default (None) must draw exactly the graphs it always drew, so that every existing seed's episode is unchanged;
a layer count must give DAGs whose longest path is that count (exactly at density 1, at most otherwise) with the
family's in-degree kept; a bad value must be a ConfigError naming the field."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

import ces_env
from ces_env.config import ConfigError, make_config
from ces_env.graphs import DEFAULT_DENSITY, build_task_graph, family_density, layer_sizes
from tests.graph_helpers import assert_task_dag, edge_set, rng

RANDOM_FAMILIES = sorted(DEFAULT_DENSITY)


def longest_path_tasks(graph: nx.DiGraph) -> int:
    """Tasks on the longest dependency path (1 for a graph without edges)."""
    return nx.dag_longest_path_length(graph) + 1


def reference_layered_edges(n: int, p: float, seed: int) -> set[tuple[int, int]]:
    """The layered generator as it was before ``graph_layers`` existed (width round(sqrt(n)), the last layer shorter,
    one ``rng.random`` block per consecutive pair of layers): the default must still draw exactly these edges."""
    generator = rng(seed)
    width = max(1, round(math.sqrt(n)))
    starts = list(range(0, n, width))
    edges: set[tuple[int, int]] = set()
    for prev_start, start in zip(starts, starts[1:]):
        stop = min(start + width, n)
        us, vs = np.nonzero(generator.random((start - prev_start, stop - start)) < p)
        edges.update(zip((us + prev_start).tolist(), (vs + start).tolist()))
    return edges


@pytest.mark.parametrize("family", RANDOM_FAMILIES)
@pytest.mark.parametrize("n", [1, 2, 7, 40, 500])
def test_default_depth_draws_the_graphs_it_always_drew(family, n):
    for seed in range(3):
        graph = build_task_graph(family, n, rng(seed))
        assert edge_set(graph) == reference_layered_edges(n, DEFAULT_DENSITY[family], seed)
    assert make_config().graph_layers is None


@pytest.mark.parametrize("family", RANDOM_FAMILIES)
@pytest.mark.parametrize(("n", "layers"), [(1, 1), (10, 1), (10, 10), (40, 7), (500, 11), (500, 37)])
def test_layers_at_density_one_give_exactly_that_longest_path(family, n, layers):
    graph = build_task_graph(family, n, rng(), density=1.0, layers=layers)
    assert_task_dag(graph, n)
    assert longest_path_tasks(graph) == layers
    sizes = layer_sizes(n, layers)
    assert len(sizes) == layers and sum(sizes) == n and max(sizes) - min(sizes) <= 1
    # density 1: exactly the complete links between consecutive layers, nothing else
    layer_of = np.repeat(np.arange(layers), sizes)
    assert edge_set(graph) == {(u, v) for u in range(n) for v in range(n) if layer_of[v] == layer_of[u] + 1}


@pytest.mark.parametrize("family", RANDOM_FAMILIES)
def test_paper_depth_at_500_tasks_keeps_the_family_in_degree(family):
    """11 layers of 45-46 tasks: the longest path is 11 on every seed (the default's is 15-23 for lds, 23 for hds),
    and the family's mean in-degree (density x width) is what it is at the default width."""
    deep = [build_task_graph(family, 500, rng(s)) for s in range(5)]
    shallow = [build_task_graph(family, 500, rng(s), layers=11) for s in range(5)]
    assert all(longest_path_tasks(g) == 11 for g in shallow)
    assert min(longest_path_tasks(g) for g in deep) > 11
    in_degree_deep = np.mean([g.number_of_edges() / 500 for g in deep])
    in_degree_shallow = np.mean([g.number_of_edges() / 500 for g in shallow])
    assert in_degree_shallow == pytest.approx(in_degree_deep, rel=0.15)
    assert family_density(family, 500, 11) == pytest.approx(DEFAULT_DENSITY[family] * 22 / (500 / 11))


def test_layers_bound_the_longest_path_at_any_density():
    for seed in range(10):
        for layers in (2, 5, 13):
            graph = build_task_graph("layered", 60, rng(seed), density=0.3, layers=layers)
            assert longest_path_tasks(graph) <= layers


def test_an_explicit_density_is_used_as_given():
    """Only the family's default density is scaled with the depth; an explicit one stays the edge probability."""
    for seed in range(3):
        graph = build_task_graph("hds", 200, rng(seed), density=0.0, layers=5)
        assert graph.number_of_edges() == 0
    assert family_density("hds", 500, 500) == 1.0  # one task per layer: capped at a probability of 1


def test_an_episode_runs_on_the_configured_depth():
    env = ces_env.parallel_env(graph="hds", n_tasks=60, graph_layers=4, maze_size=5, n_agents=4, n_groups=2)
    env.reset(seed=3)
    assert longest_path_tasks(env.unwrapped.sim.instance.graph) <= 4
    default = ces_env.parallel_env(graph="hds", n_tasks=60, maze_size=5, n_agents=4, n_groups=2)
    default.reset(seed=3)
    assert longest_path_tasks(default.unwrapped.sim.instance.graph) > 4


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (dict(graph_layers=0), ">= 1"),
        (dict(graph_layers=-3), ">= 1"),
        (dict(graph_layers=2.0), "integer"),
        (dict(graph_layers=True), "integer"),
        (dict(graph_layers="11"), "integer"),
        (dict(n_tasks=10, graph_layers=11), "<= n_tasks"),
        (dict(graph="g18", graph_layers=3), "layered families"),
        (dict(graph="chain", graph_layers=3), "layered families"),
    ],
)
def test_bad_layers_are_a_config_error_naming_the_field(overrides, reason):
    with pytest.raises(ConfigError, match=r"config field 'graph_layers'.*" + reason):
        make_config(**overrides)


@pytest.mark.parametrize("layers", [0, 1.5, True, 41])
def test_bad_layers_are_refused_by_the_graph_builder_too(layers):
    with pytest.raises(ValueError, match="layers"):
        build_task_graph("lds", 40, rng(), layers=layers)
    with pytest.raises(ValueError, match="layers"):
        build_task_graph("g40", 40, rng(), layers=3)

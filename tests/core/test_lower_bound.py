"""The makespan lower bound is valid: never above a brute-force optimal schedule, never above a simulated makespan."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ces_env.config import make_config
from ces_env.core.lower_bound import makespan_lower_bound, min_task_durations
from ces_env.generator import assemble_instance
from ces_env.maze import generate_maze


def book(busy: list[tuple[int, int]], earliest: int, length: int) -> int:
    """Reserve ``length`` ticks of a single server at the first gap from ``earliest``; returns the start."""
    start = earliest
    for begin, end in sorted(busy):
        if start + length <= begin:
            break
        start = max(start, end)
    if length:
        busy.append((start, start + length))
    return start


def best_schedule_makespan(
    graph: nx.DiGraph, task_group, durations_by_agent, agent_group, *, centralized: bool, before: int, after: int
) -> int:
    """Brute force over every list schedule: a topological order of the tasks and an agent of the task's group for
    each, every step as early as the protocol allows. Decentralized: a task starts ``before`` (claim latency) after
    its agent and its dependencies are free, and counts as done ``after`` (peer validation) later. Centralized: the
    group's controller serves the assignment (``before``) and the validation (``after``) one job at a time, each in
    the earliest free gap of its busy intervals.
    Each enumerated schedule is feasible, so the minimum is >= the optimum >= any valid lower bound. With zero
    protocol costs this enumerates every semi-active schedule and the minimum is the optimum itself. Exponential:
    tiny instances only."""
    m = graph.number_of_nodes()
    preds = [list(graph.predecessors(t)) for t in range(m)]
    n_groups = int(max(agent_group)) + 1
    best = math.inf
    for order in nx.all_topological_sorts(graph):
        agent_choices = [np.flatnonzero(agent_group == task_group[t]).tolist() for t in order]
        for agents in itertools.product(*agent_choices):
            free = np.zeros(len(agent_group), dtype=np.int64)
            controller: list[list[tuple[int, int]]] = [[] for _ in range(n_groups)]  # busy intervals per group
            done = np.zeros(m, dtype=np.int64)
            for task, agent in zip(order, agents):
                ready = max([free[agent]] + [done[p] for p in preds[task]])
                group = task_group[task]
                if centralized:
                    assign = book(controller[group], ready, before)
                    end = assign + before + durations_by_agent[agent][task]
                    done[task] = book(controller[group], end, after) + after
                else:
                    start = ready + before
                    done[task] = start + durations_by_agent[agent][task] + after
                free[agent] = done[task]
            best = min(best, int(done.max()))
    return best


@st.composite
def tiny_instances(draw):
    m = draw(st.integers(1, 5))
    edges = [(u, v) for u in range(m) for v in range(u + 1, m) if draw(st.booleans())]
    graph = nx.DiGraph()
    graph.add_nodes_from(range(m))
    graph.add_edges_from(edges)
    n_groups = draw(st.integers(1, 2))
    n_agents = draw(st.integers(n_groups, 3))
    agent_group = np.arange(n_agents) % n_groups
    task_group = np.array([draw(st.integers(0, n_groups - 1)) for _ in range(m)])
    speeds = np.array([draw(st.sampled_from([0.5, 1.0, 2.0])) for _ in range(n_agents)])
    seed = draw(st.integers(0, 1000))
    control = draw(st.sampled_from(["centralized", "decentralized"]))
    costs = (draw(st.integers(0, 4)), draw(st.integers(0, 4)))  # (before a task, after it) under that control
    return graph, task_group, agent_group, speeds, seed, control, costs


@settings(max_examples=150, deadline=None)
@given(tiny_instances())
def test_lower_bound_never_exceeds_the_brute_force_optimum(case):
    graph, task_group, agent_group, speeds, seed, control, (before, after) = case
    rng = np.random.default_rng(seed)
    m = graph.number_of_nodes()
    mazes = [generate_maze(4, 5, rng) for _ in range(m)]
    instance = assemble_instance(
        graph, np.ones(m), task_group, np.arange(m), agent_group, speeds, mazes, n_groups=int(agent_group.max()) + 1
    )
    config = make_config(
        n_agents=len(agent_group),
        n_groups=instance.n_groups,
        n_tasks=m,
        control=control,
        assign_service_ticks=before,
        validate_service_ticks=after,
        claim_latency_ticks=before,
        peer_validate_ticks=after,
    )
    # the fastest possible execution of task j by agent a: walking its solution at a's speed
    lengths = instance.solution_lengths()
    durations = [np.maximum(1, np.ceil(lengths / s - 1e-9)).astype(np.int64) for s in speeds]
    best = best_schedule_makespan(
        graph, task_group, durations, agent_group, centralized=control == "centralized", before=before, after=after
    )
    assert makespan_lower_bound(instance, config) <= best


def test_lower_bound_is_tight_on_a_chain():
    rng = np.random.default_rng(0)
    graph = nx.path_graph(4, create_using=nx.DiGraph)
    mazes = [generate_maze(5, 5, rng) for _ in range(4)]
    instance = assemble_instance(
        graph, np.ones(4), np.zeros(4), np.arange(4), np.zeros(2), np.ones(2), mazes, n_groups=1
    )
    config = make_config(n_agents=2, n_groups=1, n_tasks=4, assign_service_ticks=3, validate_service_ticks=2)
    expected = int(min_task_durations(instance).sum()) + 4 * (3 + 2)
    assert makespan_lower_bound(instance, config) == expected


@pytest.mark.parametrize("control", ["centralized", "decentralized"])
def test_protocol_costs_raise_the_bound(control):
    from ces_env.generator import generate_instance

    base = make_config(n_agents=4, n_groups=2, n_tasks=12, maze_size=6, control=control)
    instance = generate_instance(base, np.random.default_rng(1))
    cheap = base.replace(assign_service_ticks=0, validate_service_ticks=0, claim_latency_ticks=0, peer_validate_ticks=0)
    costly = base.replace(
        assign_service_ticks=20, validate_service_ticks=20, claim_latency_ticks=20, peer_validate_ticks=20
    )
    assert makespan_lower_bound(instance, cheap) < makespan_lower_bound(instance, costly)

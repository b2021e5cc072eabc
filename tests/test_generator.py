"""Tests for the instance draws of ces_env.generator: the partitions and the checks of a hand-built instance."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ces_env.generator import assemble_instance, cross_group_edges, partition_tasks
from ces_env.graphs import build_task_graph
from ces_env.maze import generate_maze
from tests.graph_helpers import rng

# --------------------------------------------------------------------------------------------------------------------
# Partitions


@settings(max_examples=60, deadline=None)
@given(
    n_tasks=st.integers(1, 120),
    n_groups=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from(["interdependent", "independent"]),
    family=st.sampled_from(["lds", "hds", "g18", "g40", "independent"]),
)
def test_partition_is_disjoint_and_complete(n_tasks, n_groups, seed, kind, family):
    graph = build_task_graph(family, n_tasks, rng(seed))
    groups = partition_tasks(graph, n_groups, kind, rng(seed + 1))
    assert groups.shape == (n_tasks,) and groups.dtype == np.int32
    assert groups.min() >= 0 and groups.max() < n_groups
    # Disjoint and complete: each task has exactly one group, and the groups' task sets cover 0..n-1.
    members = [set(np.flatnonzero(groups == k)) for k in range(n_groups)]
    assert sum(map(len, members)) == n_tasks and set().union(*members) == set(range(n_tasks))
    if kind == "independent":
        assert cross_group_edges(graph, groups) == 0
    else:
        sizes = np.bincount(groups, minlength=n_groups)
        assert sizes.max() - sizes.min() <= 1


def test_interdependent_partition_is_seeded_and_crosses_on_dense_graph():
    graph = build_task_graph("hds", 300, rng(1))
    a = partition_tasks(graph, 4, "interdependent", rng(5))
    assert np.array_equal(a, partition_tasks(graph, 4, "interdependent", rng(5)))
    assert not np.array_equal(a, partition_tasks(graph, 4, "interdependent", rng(6)))
    assert cross_group_edges(graph, a) > 0


def test_independent_partition_has_no_crossing_on_dense_graph():
    graph = build_task_graph("g40", 280, rng())
    groups = partition_tasks(graph, 2, "independent", rng())
    assert cross_group_edges(graph, groups) == 0
    # Seven 40-task components onto two groups: 4 vs 3 copies (Figure 3's uneven HDS split emerges).
    assert sorted(np.bincount(groups)) == [120, 160]


def test_lpt_balance_on_many_small_components():
    sizes = [int(s) for s in rng(3).integers(1, 8, size=60)]
    graph = nx.DiGraph()
    start = 0
    for s in sizes:  # chains of the given sizes
        graph.add_nodes_from(range(start, start + s))
        graph.add_edges_from((v, v + 1) for v in range(start, start + s - 1))
        start += s
    for n_groups in (2, 3, 5, 7):
        groups = partition_tasks(graph, n_groups, "independent", rng())
        loads = np.bincount(groups, minlength=n_groups)
        assert cross_group_edges(graph, groups) == 0
        assert loads.max() - loads.min() <= max(sizes)


def test_lpt_rule_is_exact():
    # Components of sizes 5, 4, 3, 3 (by lowest id) onto 2 groups: 5->g0, 4->g1, 3->g1, 3->g0 => loads 8, 7.
    graph = nx.DiGraph()
    graph.add_nodes_from(range(15))
    graph.add_edges_from([(0, 1), (1, 2)])  # size 3, lowest id 0
    graph.add_edges_from([(3, 4), (4, 5), (5, 6), (6, 7)])  # size 5
    graph.add_edges_from([(8, 9), (9, 10), (10, 11)])  # size 4
    graph.add_edges_from([(12, 13), (13, 14)])  # size 3, lowest id 12
    groups = partition_tasks(graph, 2, "independent", rng())
    assert set(groups[3:8]) == {0} and set(groups[8:12]) == {1}
    assert set(groups[0:3]) == {1} and set(groups[12:15]) == {0}


def test_g18_splits_more_evenly_than_g40():
    def imbalance(family):
        graph = build_task_graph(family, 280, rng())
        loads = np.bincount(partition_tasks(graph, 2, "independent", rng()), minlength=2)
        return abs(int(loads[0]) - int(loads[1]))

    assert imbalance("g18") < imbalance("g40")


def test_partition_argument_errors():
    graph = build_task_graph("chain", 5, rng())
    with pytest.raises(ValueError, match="interdependent"):
        partition_tasks(graph, 2, "random", rng())
    with pytest.raises(ValueError, match="n_groups"):
        partition_tasks(graph, 0, "independent", rng())


def test_more_groups_than_tasks_leaves_groups_empty():
    graph = build_task_graph("independent", 3, rng())
    groups = partition_tasks(graph, 5, "independent", rng())
    assert sorted(groups) == [0, 1, 2]


def test_cross_group_edges_counts():
    chain = build_task_graph("chain", 4, rng())
    assert cross_group_edges(chain, np.array([0, 0, 1, 1])) == 1
    assert cross_group_edges(chain, np.array([0, 1, 0, 1])) == 3


def test_a_hand_built_instance_with_a_cycle_names_it():
    mazes = [generate_maze(3, 3, rng())]
    graph = nx.DiGraph([(0, 1), (1, 2), (2, 1)])
    with pytest.raises(ValueError, match=r"^instance graph: dependency cycle 1 -> 2 -> 1$"):
        assemble_instance(graph, [1.0] * 3, [0] * 3, [0] * 3, [0], [1.0], mazes, n_groups=1)

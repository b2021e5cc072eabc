"""Tests for ces_env.graphs: families, the G18/G40 stand-ins, tiling, source resolution, paths and arrays."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from ces_env.graphs import (
    DEFAULT_DENSITY,
    GRAPH_FAMILIES,
    build_task_graph,
    critical_path_length,
    to_arrays,
)
from tests.graph_helpers import assert_task_dag, edge_set, rng, write

RANDOM_FAMILIES = sorted(DEFAULT_DENSITY)
FIXED_FAMILIES = ["g18", "g40", "independent", "chain"]


# --------------------------------------------------------------------------------------------------------------------
# Families


def test_family_table_lists_required_families():
    assert {"layered", "lds", "hds", "g18", "g40", "independent", "chain"} <= set(GRAPH_FAMILIES)
    assert set(DEFAULT_DENSITY) <= set(GRAPH_FAMILIES)
    assert DEFAULT_DENSITY["lds"] < DEFAULT_DENSITY["layered"] < DEFAULT_DENSITY["hds"]


@pytest.mark.parametrize("family", sorted(GRAPH_FAMILIES))
@pytest.mark.parametrize("n", [1, 2, 17, 18, 19, 40, 41, 100, 500])
def test_every_family_gives_a_topologically_numbered_dag(family, n):
    graph = build_task_graph(family, n, rng(n))
    assert_task_dag(graph, n)


def test_fixed_families_structure():
    assert build_task_graph("independent", 30, rng()).number_of_edges() == 0
    chain = build_task_graph("chain", 30, rng())
    assert edge_set(chain) == {(i, i + 1) for i in range(29)}
    g40 = build_task_graph("g40", 40, rng())
    assert all(w == 4.0 for _, w in g40.nodes(data="weight"))
    assert all(w == 1.0 for _, w in build_task_graph("g18", 18, rng()).nodes(data="weight"))


def test_stand_ins_match_published_description():
    g18 = build_task_graph("g18", 18, rng())
    g40 = build_task_graph("g40", 40, rng())
    # G18: few links (about one predecessor per node), several roots, more than one component.
    assert 0.7 <= g18.number_of_edges() / 18 <= 1.3
    assert sum(1 for v in g18 if g18.in_degree(v) == 0) >= 3
    assert nx.number_weakly_connected_components(g18) >= 2
    # G40: highly interlinked: every non-root has 3-4 predecessors, one component.
    roots = [v for v in g40 if g40.in_degree(v) == 0]
    assert 1 <= len(roots) <= 6
    assert all(3 <= g40.in_degree(v) <= 4 for v in g40 if v not in roots)
    assert nx.number_weakly_connected_components(g40) == 1
    # The stand-ins are fixed: the rng does not matter.
    assert edge_set(build_task_graph("g40", 40, rng(1))) == edge_set(build_task_graph("g40", 40, rng(2)))


@pytest.mark.parametrize("family", RANDOM_FAMILIES)
def test_random_families_are_reproducible_and_seed_dependent(family):
    a = build_task_graph(family, 200, rng(7))
    b = build_task_graph(family, 200, rng(7))
    assert edge_set(a) == edge_set(b)
    others = [edge_set(build_task_graph(family, 200, rng(seed))) for seed in (8, 9, 10)]
    assert all(o != edge_set(a) for o in others)


def test_default_densities_give_lds_and_hds_in_degrees_at_500_tasks():
    def mean_in_degree(family):
        return np.mean([build_task_graph(family, 500, rng(s)).number_of_edges() / 500 for s in range(5)])

    assert 0.7 <= mean_in_degree("lds") <= 1.4
    assert 4.0 <= mean_in_degree("hds") <= 6.5


def test_layered_density_extremes():
    n = 50
    width = round(math.sqrt(n))
    assert build_task_graph("layered", n, rng(), density=0.0).number_of_edges() == 0
    full = build_task_graph("layered", n, rng(), density=1.0)
    layer = [v // width for v in range(n)]
    # density 1: exactly the complete links between consecutive layers, nothing else.
    expected = {(u, v) for u in range(n) for v in range(n) if layer[v] == layer[u] + 1}
    assert edge_set(full) == expected


@pytest.mark.parametrize("density", [-0.1, 1.5, float("nan"), "high"])
def test_density_out_of_range_is_rejected(density):
    with pytest.raises(ValueError, match="density"):
        build_task_graph("layered", 10, rng(), density=density)


@pytest.mark.parametrize("family", FIXED_FAMILIES)
def test_density_for_non_random_family_is_rejected(family):
    with pytest.raises(ValueError, match="density"):
        build_task_graph(family, 10, rng(), density=0.5)


def test_unknown_family_lists_families():
    with pytest.raises(ValueError) as info:
        build_task_graph("g99", 10, rng())
    assert "layered" in str(info.value) and "g40" in str(info.value)


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_bad_task_count_is_rejected(n):
    with pytest.raises(ValueError, match="n_tasks"):
        build_task_graph("chain", n, rng())


# --------------------------------------------------------------------------------------------------------------------
# Tiling


@pytest.mark.parametrize("family,size", [("g18", 18), ("g40", 40)])
@pytest.mark.parametrize("n", [1, 5, 18, 40, 90, 100, 163])
def test_tiling_sizes_and_truncation(family, size, n):
    base = build_task_graph(family, size, rng())
    graph = build_task_graph(family, n, rng())
    copies = math.ceil(n / size)
    counts = np.bincount([c for _, c in graph.nodes(data="copy")], minlength=copies)
    assert len(counts) == copies
    assert list(counts[:-1]) == [size] * (copies - 1)
    assert counts[-1] == n - (copies - 1) * size
    for c in range(copies):
        offset = c * size
        k = int(counts[c])
        # Each copy is the base graph's first k nodes (topological order), shifted; no edge between copies.
        expected = {(u + offset, v + offset) for u, v in base.subgraph(range(k)).edges}
        actual = {(u, v) for u, v in graph.edges if graph.nodes[u]["copy"] == c}
        assert actual == expected
    assert all(graph.nodes[u]["copy"] == graph.nodes[v]["copy"] for u, v in graph.edges)


def test_table3_shape_five_g18_groups():
    graph = build_task_graph("g18", 90, rng())
    assert sorted({c for _, c in graph.nodes(data="copy")}) == [0, 1, 2, 3, 4]
    assert graph.number_of_edges() == 5 * build_task_graph("g18", 18, rng()).number_of_edges()


def test_edge_list_is_renumbered_topologically(tmp_path):
    path = write(tmp_path, "g.txt", "5 3\n3 1\n")
    graph = build_task_graph(str(path), 3, rng())
    assert edge_set(graph) == {(0, 1), (1, 2)}
    assert [graph.nodes[v]["label"] for v in range(3)] == [5, 3, 1]


def test_source_path_detection(tmp_path, monkeypatch):
    write(tmp_path, "mygraph", "0 1\n")
    monkeypatch.chdir(tmp_path)
    assert build_task_graph("mygraph", 2, rng()).number_of_edges() == 1  # an existing file, no separator
    with pytest.raises(FileNotFoundError, match="nothere.txt"):
        build_task_graph("sub/nothere.txt", 2, rng())


# --------------------------------------------------------------------------------------------------------------------
# Metrics and arrays


def test_critical_path_length():
    chain = build_task_graph("chain", 4, rng())
    assert critical_path_length(chain, np.array([1.0, 2.0, 3.0, 4.0])) == 10.0
    assert critical_path_length(build_task_graph("independent", 4, rng()), np.array([1.0, 5.0, 2.0, 3.0])) == 5.0
    diamond = nx.DiGraph([(0, 1), (0, 2), (1, 3), (2, 3)])
    assert critical_path_length(diamond, np.array([1.0, 10.0, 2.0, 1.0])) == 12.0
    g18 = build_task_graph("g18", 18, rng())
    assert critical_path_length(g18, np.ones(18)) == 5.0
    with pytest.raises(ValueError, match="shape"):
        critical_path_length(chain, np.ones(3))


def test_to_arrays():
    graph = build_task_graph("hds", 100, rng(2))
    edges, weights = to_arrays(graph)
    assert edges.dtype == np.int32 and edges.shape == (graph.number_of_edges(), 2)
    assert weights.dtype == np.float64 and weights.shape == (100,)
    assert [tuple(e) for e in edges.tolist()] == sorted(graph.edges)
    empty_edges, _ = to_arrays(build_task_graph("independent", 3, rng()))
    assert empty_edges.shape == (0, 2)
    g40_edges, g40_weights = to_arrays(build_task_graph("g40", 45, rng()))
    assert np.all(g40_weights == 4.0) and np.all(g40_edges[:, 0] < g40_edges[:, 1])

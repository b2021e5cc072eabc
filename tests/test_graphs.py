"""Tests for ces_env.graphs: families, tiling, file loaders (real and malformed files), partitions."""

from __future__ import annotations

import math
import re
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ces_env.graphs import (
    DEFAULT_DENSITY,
    GRAPH_FAMILIES,
    STG_ZERO_TIME_WEIGHT,
    build_task_graph,
    critical_path_length,
    cross_group_edges,
    load_graph_file,
    partition_tasks,
    to_arrays,
    validate_dag,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"real graph files not found at {DATA}")
GAUSS18 = DATA / "gauss18.txt"
STG50 = DATA / "stg" / "rand0000_50.stg"

RANDOM_FAMILIES = sorted(DEFAULT_DENSITY)
FIXED_FAMILIES = ["g18", "g40", "independent", "chain"]


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def edge_set(graph: nx.DiGraph) -> set[tuple]:
    return set(graph.edges)


def assert_task_dag(graph: nx.DiGraph, n: int) -> None:
    assert sorted(graph.nodes) == list(range(n))
    assert nx.is_directed_acyclic_graph(graph)
    assert all(u < v for u, v in graph.edges)
    for _, attrs in graph.nodes(data=True):
        assert attrs["weight"] > 0 and isinstance(attrs["weight"], float)
        assert isinstance(attrs["copy"], int)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


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


@needs_data
def test_density_for_file_graph_is_rejected():
    with pytest.raises(ValueError, match="density"):
        build_task_graph(str(GAUSS18), 18, rng(), density=0.5)


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


@needs_data
def test_file_graph_is_tiled():
    graph = build_task_graph(str(GAUSS18), 40, rng())
    assert_task_dag(graph, 40)
    assert [c for _, c in graph.nodes(data="copy")].count(2) == 4


# --------------------------------------------------------------------------------------------------------------------
# Real files


@needs_data
def test_gauss18_loads_with_its_matrix_edges():
    graph = load_graph_file(GAUSS18)
    assert sorted(graph.nodes) == list(range(18))
    # Independent reading of the file: second data line = costs, then the 18 matrix rows.
    lines = [l for l in GAUSS18.read_text(encoding="utf-8").splitlines() if l.strip() and not l.startswith("#")]
    costs = [float(c) for c in lines[0].split(";")]
    cells = [row.split(";") for row in lines[1:]]
    expected = {(i, j) for i, row in enumerate(cells) for j, c in enumerate(row) if c.strip()}
    assert len(cells) == 18 and all(len(row) == 18 for row in cells)
    assert graph.number_of_edges() == len(expected) == sum(c.strip() != "" for row in cells for c in row)
    assert edge_set(graph) == expected
    assert {(0, j) for j in range(1, 7)} <= edge_set(graph)
    assert (2, 6) in graph.edges and (2, 7) in graph.edges and (0, 7) not in graph.edges
    assert graph.edges[0, 1]["comm"] == 12.0
    assert [graph.nodes[v]["weight"] for v in range(18)] == costs
    built = build_task_graph(str(GAUSS18), 18, rng())
    assert_task_dag(built, 18)
    assert built.number_of_edges() == len(expected)
    assert sorted(w for _, w in built.nodes(data="weight")) == sorted(costs)


@needs_data
def test_stg_loads_with_dummies_dropped():
    graph = load_graph_file(STG50)
    assert sorted(graph.nodes) == list(range(1, 51))
    expected_edges, times = set(), {}
    for line in STG50.read_text().splitlines()[2:52]:  # the real tasks 1..50
        fields = [int(x) for x in line.split()]
        task, time, count, preds = fields[0], fields[1], fields[2], fields[3:]
        assert len(preds) == count
        times[task] = float(time)
        expected_edges |= {(p, task) for p in preds if p != 0}
    assert edge_set(graph) == expected_edges
    assert {(2, 10), (6, 10), (8, 10), (30, 49), (39, 49), (46, 49), (47, 49)} <= expected_edges
    assert {v: w for v, w in graph.nodes(data="weight")} == times
    built = build_task_graph(str(STG50), 50, rng())
    assert_task_dag(built, 50)
    assert built.number_of_edges() == len(expected_edges)
    # STG ids are already topological, so renumbering is the shift id -> id - 1.
    assert edge_set(built) == {(u - 1, v - 1) for u, v in expected_edges}


# --------------------------------------------------------------------------------------------------------------------
# Round trips and format details


def test_graphml_round_trip(tmp_path):
    original = build_task_graph("g40", 60, rng())
    for v in original:
        original.nodes[v]["weight"] = 1.0 + v % 3
        del original.nodes[v]["label"]
    path = tmp_path / "g.graphml"
    nx.write_graphml(original, path)
    loaded = load_graph_file(path)
    assert {(int(u), int(v)) for u, v in loaded.edges} == edge_set(original)
    assert {int(v): w for v, w in loaded.nodes(data="weight")} == dict(original.nodes(data="weight"))
    rebuilt = build_task_graph(str(path), 60, rng())
    assert_task_dag(rebuilt, 60)
    assert edge_set(rebuilt) == edge_set(original)


def test_graphml_cost_attribute_and_default_weight(tmp_path):
    g = nx.DiGraph()
    g.add_node("a", cost=2.5)
    g.add_node("b")
    g.add_edge("a", "b")
    path = tmp_path / "c.graphml"
    nx.write_graphml(g, path)
    loaded = load_graph_file(path)
    assert loaded.nodes["a"]["weight"] == 2.5 and loaded.nodes["b"]["weight"] == 1.0


def test_edge_list_round_trip(tmp_path):
    original = build_task_graph("g40", 70, rng())  # no isolated tasks, so the edges carry every task
    path = tmp_path / "g.edgelist"
    nx.write_edgelist(original, path, data=False)
    loaded = load_graph_file(path)
    assert set(loaded.nodes) == set(original.nodes)
    assert edge_set(loaded) == edge_set(original)
    rebuilt = build_task_graph(str(path), 70, rng())
    assert_task_dag(rebuilt, 70)
    label = dict(rebuilt.nodes(data="label"))
    assert {(label[u], label[v]) for u, v in rebuilt.edges} == edge_set(original)


def test_edge_list_details(tmp_path):
    path = write(tmp_path, "g.csv", "# header comment\n0,1\n1 2 3.5  # weighted\n7\n")
    graph = load_graph_file(path)
    assert edge_set(graph) == {(0, 1), (1, 2)}
    assert 7 in graph and graph.edges[1, 2]["comm"] == 3.5


def test_edge_list_is_renumbered_topologically(tmp_path):
    path = write(tmp_path, "g.txt", "5 3\n3 1\n")
    graph = build_task_graph(str(path), 3, rng())
    assert edge_set(graph) == {(0, 1), (1, 2)}
    assert [graph.nodes[v]["label"] for v in range(3)] == [5, 3, 1]


def test_stg_zero_time_real_task_gets_small_weight(tmp_path):
    path = write(tmp_path, "z.stg", "2\n0 0 0\n1 0 1 0\n2 3 1 1\n3 0 1 2\n# comment\n")
    graph = load_graph_file(path)
    assert graph.nodes[1]["weight"] == STG_ZERO_TIME_WEIGHT and graph.nodes[2]["weight"] == 3.0
    assert edge_set(graph) == {(1, 2)}


def test_source_path_detection(tmp_path, monkeypatch):
    write(tmp_path, "mygraph", "0 1\n")
    monkeypatch.chdir(tmp_path)
    assert build_task_graph("mygraph", 2, rng()).number_of_edges() == 1  # an existing file, no separator
    with pytest.raises(FileNotFoundError, match="nothere.txt"):
        build_task_graph("sub/nothere.txt", 2, rng())


# --------------------------------------------------------------------------------------------------------------------
# Malformed files: ValueError naming "file:line"

STG_OK_HEAD = "2\n0 0 0\n"  # lines 1-2

MALFORMED = [
    # (file name, content, expected line, fragment of the message)
    ("cyc.edgelist", "0 1\n# c\n1 2\n2 1\n", 3, "cycle"),
    ("self.edges", "0 1\n1 1\n", 2, "cycle"),
    ("bad.edgelist", "0 1\n1 x\n", 2, "integer"),
    ("neg.edgelist", "0 1\n-1 2\n", 2, "non-negative"),
    ("many.edgelist", "0 1\n1 2 3 4\n", 2, "expected"),
    ("dup.edgelist", "0 1\n1 2\n0 1\n", 3, "repeated"),
    ("w.edgelist", "0 1 heavy\n", 1, "number"),
    ("empty.txt", "", 1, "no tasks"),
    ("comments.txt", "# a\n# b\n\n", 3, "no tasks"),
    ("cyc.stg", STG_OK_HEAD + "1 1 1 2\n2 1 1 1\n3 0 2 1 2\n", 3, "cycle"),
    ("count.stg", STG_OK_HEAD + "1 4 1 0\n2 5 3 0 1\n3 0 1 2\n", 4, "lists 3 predecessors but 2 ids follow"),
    ("range.stg", STG_OK_HEAD + "1 4 1 0\n2 5 1 9\n3 0 1 2\n", 4, "out of range"),
    ("dupid.stg", STG_OK_HEAD + "1 4 1 0\n1 5 1 0\n3 0 1 1\n", 4, "duplicate task id 1"),
    ("float.stg", STG_OK_HEAD + "1 4.5 1 0\n2 5 1 1\n3 0 1 2\n", 3, "integer"),
    ("short.stg", STG_OK_HEAD + "1 4 1 0\n", 3, "expected 4 task lines"),
    ("fields.stg", STG_OK_HEAD + "1 4\n2 5 1 1\n3 0 1 2\n", 3, "expected"),
    ("header.stg", "two\n", 1, "integer"),
    ("zero.stg", "0\n", 1, "at least one"),
    ("empty.stg", "", 1, "no tasks"),
    ("extra.stg", STG_OK_HEAD + "1 4 1 0\n2 5 1 1\n3 0 1 2\n4 1 0\n", 6, "unexpected"),
    ("dummy.stg", "2\n0 3 0\n1 4 1 0\n2 5 1 1\n3 0 1 2\n", 2, "dummy entry"),
    ("exitpred.stg", STG_OK_HEAD + "1 4 1 3\n2 5 1 1\n3 0 1 2\n", 3, "dummy exit"),
    ("nonsquare.txt", "# costs\n1;2;3\n# matrix\n;1;\n;;1\n", 5, "not square"),
    ("rowlen.txt", "1;2;3\n;1;\n;;1;\n;;\n", 3, "has 4 cells"),
    ("costcount.txt", "1;2\n;1;\n;;1\n;;\n", 2, "lists 2 task costs"),
    ("tallmatrix.txt", "1;2\n;1\n;\n;\n", 4, "more than 2 rows"),
    ("negcost.txt", "1;-2;3\n;1;\n;;1\n;;\n", 1, "> 0"),
    ("zerocost.txt", "1;0\n;1\n;\n", 1, "> 0"),
    ("textcost.txt", "1;two\n;1\n;\n", 1, "number"),
    ("cell.txt", "1;2\n;x\n;\n", 2, "number"),
    ("gausscyc.txt", "1;2;3\n;1;\n;;1\n1;;\n", 2, "cycle"),
]


@pytest.mark.parametrize("name,content,line,fragment", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_file_names_file_and_line(tmp_path, name, content, line, fragment):
    path = write(tmp_path, name, content)
    with pytest.raises(ValueError) as info:
        load_graph_file(path)
    message = str(info.value)
    assert f"{name}:{line}:" in message, message
    assert fragment in message, message
    # build_task_graph passes the same error through.
    with pytest.raises(ValueError, match=re.escape(f"{name}:{line}:")):
        build_task_graph(str(path), 3, rng())


def test_cycle_message_lists_the_cycle(tmp_path):
    path = write(tmp_path, "cyc.edgelist", "0 1\n1 2\n2 0\n")
    with pytest.raises(ValueError, match=r"cyc\.edgelist:1: dependency cycle .*0.*1.*2"):
        load_graph_file(path)


def test_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.stg"):
        load_graph_file(tmp_path / "nope.stg")


@pytest.mark.parametrize(
    "name,content,fragment",
    [
        ("broken.graphml", "<graphml><graph edgedefault='directed'><node id='a'>", "cannot read GraphML"),
        ("undirected.graphml", None, "undirected"),
        ("cyclic.graphml", None, "cycle"),
        ("weight.graphml", None, "weight"),
        ("emptyg.graphml", None, "no tasks"),
    ],
)
def test_bad_graphml_names_file(tmp_path, name, content, fragment):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    elif name.startswith("undirected"):
        nx.write_graphml(nx.path_graph(3), path)
    elif name.startswith("cyclic"):
        nx.write_graphml(nx.DiGraph([(0, 1), (1, 2), (2, 0)]), path)
    elif name.startswith("weight"):
        g = nx.DiGraph([(0, 1)])
        g.nodes[0]["weight"] = -1.0
        nx.write_graphml(g, path)
    else:
        nx.write_graphml(nx.DiGraph(), path)
    with pytest.raises(ValueError) as info:
        load_graph_file(path)
    assert name in str(info.value) and fragment in str(info.value)


def test_validate_dag():
    with pytest.raises(ValueError, match="here: .*no tasks"):
        validate_dag(nx.DiGraph(), "here")
    with pytest.raises(ValueError, match=r"there: dependency cycle"):
        validate_dag(nx.DiGraph([(0, 1), (1, 0)]), "there")
    validate_dag(nx.DiGraph([(0, 1)]), "fine")


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


def test_cross_group_edges_counts():
    chain = build_task_graph("chain", 4, rng())
    assert cross_group_edges(chain, np.array([0, 0, 1, 1])) == 1
    assert cross_group_edges(chain, np.array([0, 1, 0, 1])) == 3

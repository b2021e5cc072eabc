"""Tests for ces_env.graph_files: the real files, round trips, malformed files (``file:line``), the one acyclicity
check, the parse cache, and a graph file setting the episode's task count."""

from __future__ import annotations

import re

import networkx as nx
import pytest

import ces_env
from ces_env.config import DEFAULT_N_TASKS, CESConfig, ConfigError, make_config
from ces_env.graph_files import STG_ZERO_TIME_WEIGHT, load_graph_file, validate_dag
from ces_env.graphs import build_task_graph
from tests.graph_helpers import assert_task_dag, edge_set, rng, write

GAUSS18 = "gauss18.txt"
STG50 = "stg/rand0000_50.stg"


# --------------------------------------------------------------------------------------------------------------------
# Real files


def test_gauss18_loads_with_its_matrix_edges(data_dir):
    gauss18 = data_dir / GAUSS18
    graph = load_graph_file(gauss18)
    assert sorted(graph.nodes) == list(range(18))
    # Independent reading of the file: second data line = costs, then the 18 matrix rows.
    lines = [l for l in gauss18.read_text(encoding="utf-8").splitlines() if l.strip() and not l.startswith("#")]
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
    built = build_task_graph(str(gauss18), 18, rng())
    assert_task_dag(built, 18)
    assert built.number_of_edges() == len(expected)
    assert sorted(w for _, w in built.nodes(data="weight")) == sorted(costs)


def test_stg_loads_with_dummies_dropped(data_dir):
    stg50 = data_dir / STG50
    graph = load_graph_file(stg50)
    assert sorted(graph.nodes) == list(range(1, 51))
    expected_edges, times = set(), {}
    for line in stg50.read_text().splitlines()[2:52]:  # the real tasks 1..50
        fields = [int(x) for x in line.split()]
        task, time, count, preds = fields[0], fields[1], fields[2], fields[3:]
        assert len(preds) == count
        times[task] = float(time)
        expected_edges |= {(p, task) for p in preds if p != 0}
    assert edge_set(graph) == expected_edges
    assert {(2, 10), (6, 10), (8, 10), (30, 49), (39, 49), (46, 49), (47, 49)} <= expected_edges
    assert {v: w for v, w in graph.nodes(data="weight")} == times
    built = build_task_graph(str(stg50), 50, rng())
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


def test_stg_zero_time_real_task_gets_small_weight(tmp_path):
    path = write(tmp_path, "z.stg", "2\n0 0 0\n1 0 1 0\n2 3 1 1\n3 0 1 2\n# comment\n")
    graph = load_graph_file(path)
    assert graph.nodes[1]["weight"] == STG_ZERO_TIME_WEIGHT and graph.nodes[2]["weight"] == 3.0
    assert edge_set(graph) == {(1, 2)}


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


def test_validate_dag_names_the_cycle_it_finds():
    # 3 -> 4 -> 5 -> 3 is reached from the earliest node on a cycle (3) along its first successor in the cycle
    graph = nx.DiGraph([(0, 1), (1, 3), (3, 4), (4, 5), (5, 3), (4, 6)])
    with pytest.raises(ValueError, match=r"^g: dependency cycle 3 -> 4 -> 5 -> 3$"):
        validate_dag(graph, "g")
    with pytest.raises(ValueError, match=r"^g: dependency cycle 2 -> 2$"):
        validate_dag(nx.DiGraph([(0, 1), (2, 2)]), "g")
    with pytest.raises(ValueError, match="directed"):
        validate_dag(nx.path_graph(3), "g")


def test_acyclicity_check_is_linear_on_large_dags():
    # networkx.find_cycle needs tens of seconds on this DAG (it grows with the square of the graph); the linear check
    # takes a fraction of a second. The bound is loose so that a slow machine does not fail it.
    import time

    graph = build_task_graph("hds", 20_000, rng())
    start = time.perf_counter()
    validate_dag(graph, "big")
    assert time.perf_counter() - start < 2.0
    graph.add_edges_from([(19_999, 100), (19_998, 100)])  # edges back: cycles through many layers
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"^big: dependency cycle ") as info:
        validate_dag(graph, "big")
    assert time.perf_counter() - start < 2.0
    cycle = [int(v) for v in str(info.value).split("cycle ")[1].split(" -> ")]
    assert cycle[0] == cycle[-1] and len(set(cycle)) == len(cycle) - 1
    assert all(graph.has_edge(u, v) for u, v in zip(cycle, cycle[1:]))


# --------------------------------------------------------------------------------------------------------------------
# Files as graph sources: tiling, density, one parse per file version


def test_density_for_file_graph_is_rejected(data_dir):
    with pytest.raises(ValueError, match="density"):
        build_task_graph(str(data_dir / GAUSS18), 18, rng(), density=0.5)


def test_file_graph_is_tiled(data_dir):
    graph = build_task_graph(str(data_dir / GAUSS18), 40, rng())
    assert_task_dag(graph, 40)
    assert [c for _, c in graph.nodes(data="copy")].count(2) == 4


def test_a_file_is_parsed_once_per_version(tmp_path, monkeypatch):
    import ces_env.graph_files as graph_files

    parses = []
    real_parse = graph_files._parse
    monkeypatch.setattr(graph_files, "_parse", lambda path, name: parses.append(name) or real_parse(path, name))
    path = write(tmp_path, "g.edgelist", "0 1\n1 2\n")
    config = make_config(graph=str(path), n_agents=2, n_groups=1, maze_size=3)  # checks the file and counts its tasks
    env = ces_env.parallel_env(config=config)
    env.reset(seed=0)
    env.reset(seed=1)
    assert len(parses) == 1
    loaded = load_graph_file(path)
    assert nx.is_frozen(loaded) and load_graph_file(path) is loaded  # shared, so callers must not edit it
    path.write_text("0 1\n1 2\n2 3\n")  # a new version (another size) is parsed again
    assert load_graph_file(path).number_of_nodes() == 4 and len(parses) == 2


# --------------------------------------------------------------------------------------------------------------------
# A graph file sets the task count


def test_a_graph_file_sets_the_task_count(data_dir):
    stg = str(data_dir / STG50)
    assert make_config(graph=stg).n_tasks == 50
    env = ces_env.parallel_env(graph=stg, n_agents=4, n_groups=2, maze_size=4)
    env.reset(seed=0)
    assert env.unwrapped.sim.instance.n_tasks == 50
    assert sorted(env.unwrapped.sim.instance.graph.nodes(data="label")) == [(v, v + 1) for v in range(50)]
    # a family keeps the default, an explicit count still cuts or tiles the file
    assert make_config(graph="g18").n_tasks == DEFAULT_N_TASKS
    assert make_config(graph=stg, n_tasks=30).n_tasks == 30
    tiled = ces_env.parallel_env(graph=stg, n_tasks=120, n_agents=4, n_groups=2, maze_size=4)
    tiled.reset(seed=0)
    graph = tiled.unwrapped.sim.instance.graph
    assert graph.number_of_nodes() == 120 and [c for _, c in graph.nodes(data="copy")].count(2) == 20
    # resolved once: the count is part of the config (an int) and survives a round trip through a dict
    config = make_config(graph=stg)
    assert isinstance(config.n_tasks, int) and CESConfig(**config.to_dict()) == config
    assert config.replace(graph="lds").n_tasks == 50  # kept unless asked again ...
    assert config.replace(graph="lds", n_tasks=None).n_tasks == DEFAULT_N_TASKS  # ... with n_tasks=None


def test_a_bad_graph_file_without_n_tasks_names_the_field(tmp_path):
    path = write(tmp_path, "loop.edgelist", "0 1\n1 2\n# the edge back\n2 0\n")
    with pytest.raises(
        ConfigError,
        match=r"config field 'graph': .*loop\.edgelist:1: dependency cycle 0 -> 1 -> 2 -> 0 \(edges on lines 1, 2, 4\)",
    ):
        make_config(graph=str(path))

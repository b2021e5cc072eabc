"""Task dependency graphs: families, file loaders, tiling and partitions.

Every graph handed to the simulator is a ``networkx.DiGraph`` on nodes ``0..m-1`` in which **every edge goes from a
lower to a higher id** (a topological numbering), an edge ``u -> v`` meaning "task v depends on task u". Nodes carry

* ``weight`` (float > 0): the task's computation cost (1.0 unless the source says otherwise),
* ``copy`` (int): which tiled copy of a fixed graph the task belongs to (0 for generated families),
* ``label``: the task's id in its source (the file's id, or the node of the G18/G40 stand-in).

Sources (``build_task_graph(source, n_tasks, rng, density)``)
-------------------------------------------------------------
Random families (only they take ``density``; the default is ``DEFAULT_DENSITY[family]``):

``layered``
    Tasks are dealt into consecutive layers of width ``w = max(1, round(sqrt(n_tasks)))`` (the last layer may be
    shorter). For every node of layer ``L > 0`` and every node of layer ``L-1``, the edge is drawn independently with
    probability ``density``; there are no other edges. A node is *not* forced to have a predecessor: a node of a
    later layer that draws none is simply another root. This keeps ``density`` an honest edge probability
    (``density=0`` gives independent tasks, ``density=1`` complete bipartite links between consecutive layers) and
    lets low densities give the many roots and small components of a less-dependent system.
    The expected in-degree of a node of layer ``L > 0`` is ``density * w``, about ``density * sqrt(n_tasks)``.
``lds``
    ``layered`` with density 0.05: average in-degree about 1.05 at 500 tasks (w = 22), a less-dependent system.
``hds``
    ``layered`` with density 0.25: average in-degree about 5.3 at 500 tasks, a highly-dependent system.

Fixed graphs, tiled to ``n_tasks`` (``density`` is rejected):

``g18`` / ``g40``
    **Stand-ins** for the program graphs G18 (18 nodes, few links: the paper's LDS) and G40 (40 nodes, highly
    interlinked, every computation cost 4: the paper's HDS) of Seredynski and Zomaya's cellular-automata scheduling
    work. Their published edge lists are not available here, so these are hard-coded graphs designed to match the
    published description; they are the same on every run, like the real graphs.
    G18 stand-in: 18 tasks of weight 1, 18 edges (average in-degree 1.0), 4 roots, critical path of 5 tasks, two
    weakly connected components (11 and 7 tasks).
    G40 stand-in: 40 tasks of weight 4 in 7 layers (4, 6, 6, 6, 6, 6, 6); every non-root depends on 3 consecutive
    tasks of the previous layer and, for half of them, on one task two layers back (123 edges, 3-4 predecessors per
    non-root), one weakly connected component. See ``_G18_PREDECESSORS`` and ``_G40_PREDECESSORS``.
file graphs
    Any ``source`` containing a path separator, or naming an existing file, is read with ``load_graph_file``. Family
    names take precedence over a file of the same name in the working directory (write ``./g18`` for the file).

Other families (``density`` is rejected): ``independent`` (no edges) and ``chain`` (a single path 0 -> ... -> m-1).

Tiling. A fixed graph of ``s`` nodes is first renumbered topologically (a lexicographic topological sort keyed by
its source order, so a graph already in topological order keeps its order). ``n_tasks`` tasks are then made of
``ceil(n_tasks / s)`` disjoint copies: copy ``c`` holds tasks ``c*s .. c*s+s-1``, and the last copy is truncated to
the first ``k = n_tasks - (copies-1)*s`` nodes of that order (an induced subgraph, which is still a DAG and still
closed under predecessors). This is how the paper builds its experiments (Table 3: 5 groups x 18 tasks with a
G18-like structure). Copies are never linked to each other.

File formats (``load_graph_file``)
----------------------------------
The format is chosen by extension, then by content. Line-oriented formats are parsed here (not by networkx) so that
every error can name ``file:line``. ``#`` starts a comment line in all of them; blank lines are ignored.

``.graphml`` (or ``.xml``, or content starting with ``<``)
    Read with ``networkx.read_graphml``; must be directed. A node's weight is its attribute ``weight``, else
    ``cost``, else 1.0; it must be a finite number > 0. Node ids are kept as read (strings). GraphML has no useful
    line numbers once parsed, so its errors name the file and the node.
``.stg`` (Standard Task Graph Set, Kasahara lab)
    Line 1: the number ``n`` of real tasks. Then ``n + 2`` lines ``id  time  n_preds  pred_id...`` for ids
    ``0..n+1`` (any order, each exactly once); fields split on white space, all integers. Task 0 (dummy entry) and
    task ``n+1`` (dummy exit) must have time 0 and are dropped together with their edges; task 0 may appear in a
    real task's predecessor list (that link carries no dependency), the exit may not. Real tasks keep their file ids
    ``1..n``; ``weight`` is the processing time. A real task with time 0 (a pure synchronisation point) is kept,
    because its edges still order the work, and gets weight ``STG_ZERO_TIME_WEIGHT`` (1e-3), since weights must be
    positive; this is negligible next to the integer costs (>= 1) of the STG set. After the task lines only comment
    and blank lines may follow.
gauss18 matrix format (any other extension, detected when a non-comment line contains ``;``)
    The first non-comment line holds the ``n`` task costs separated by ``;`` (finite numbers > 0). Then exactly ``n``
    matrix rows of ``n`` cells separated by ``;``: a number in row ``i``, column ``j`` is the weight (>= 0) of the
    edge ``i -> j``, stored as the edge attribute ``comm``; an empty cell means no edge. Tasks are ``0..n-1``.
plain edge list (``.edgelist``, ``.edges``, ``.txt``, ``.csv``, ... without ``;``)
    One edge ``u v`` per line (white space or commas), optionally ``u v w`` with a numeric edge weight (stored as
    ``comm``); a line with a single id declares a task without edges. Ids are non-negative integers; text after
    ``#`` is a comment. Every task has weight 1.0. A repeated edge is an error (usually a mistake in the file).

Every malformed input raises ``ValueError`` whose message starts with ``file:line:`` (wrong counts, non-integer or
non-numeric fields, ids out of range, duplicate ids or edges, non-square matrices, costs that do not match the
matrix, non-positive costs, trailing content). A cycle is reported with the lowest line holding one of its edges and
the cycle's nodes; a file without tasks names the file (line 1 if empty, else its last line). A missing file raises
``FileNotFoundError`` naming the path.

Partitions (``partition_tasks``)
--------------------------------
``interdependent``
    Balanced random split: shuffle the tasks with ``rng``, then deal them round-robin to the groups. Dependencies
    may cross groups. Group sizes differ by at most one.
``independent``
    No dependency crosses groups: the weakly connected components are packed onto the groups, largest first
    (ties: the component with the lowest task id first), each onto the currently least-loaded group (by task count;
    ties: lowest group index) -- the LPT rule. Group sizes are as even as the component sizes allow, so a highly
    interlinked graph (few, large components) gives uneven groups: the paper's Figure 3 effect comes from the graph's
    components, not from a rule. This split is deterministic; ``rng`` is not used.
With more groups than tasks (or than components) some groups are empty.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import networkx as nx
import numpy as np

__all__ = [
    "GRAPH_FAMILIES",
    "DEFAULT_DENSITY",
    "PARTITION_KINDS",
    "STG_ZERO_TIME_WEIGHT",
    "build_task_graph",
    "load_graph_file",
    "validate_dag",
    "partition_tasks",
    "cross_group_edges",
    "critical_path_length",
    "to_arrays",
]

GRAPH_FAMILIES: dict[str, str] = {
    "layered": "random layered DAG (layer width ~sqrt(n)); density = probability of each edge from the previous layer",
    "lds": "'layered' with a low default density (0.05): a less-dependent system, LDS-like",
    "hds": "'layered' with a high default density (0.25): a highly-dependent system, HDS-like",
    "g18": "stand-in for the paper's G18 program graph (18 nodes, few links), tiled to n_tasks",
    "g40": "stand-in for the paper's G40 (40 nodes, highly interlinked, every computation cost 4), tiled to n_tasks",
    "independent": "no edges: every task is ready at the start",
    "chain": "a single path 0 -> 1 -> ... -> n-1",
}

DEFAULT_DENSITY: dict[str, float] = {
    "layered": 0.10,  # average in-degree ~2.1 at 500 tasks
    "lds": 0.05,  # ~1.05 at 500 tasks
    "hds": 0.25,  # ~5.3 at 500 tasks
}

PARTITION_KINDS: tuple[str, ...] = ("interdependent", "independent")

STG_ZERO_TIME_WEIGHT = 1e-3
"""Weight given to a real STG task whose processing time is 0 (weights must be > 0)."""

# --------------------------------------------------------------------------------------------------------------------
# G18 / G40 stand-ins. Both are written as "node: its predecessors", nodes numbered in topological order.
#
# G18 (LDS): 18 nodes, 18 edges (average in-degree 1.0), 4 roots (0-3), depth 5, and two weakly connected
# components of 11 and 7 nodes -- "few links". Most tasks have one predecessor; four joins (10, 12, 14 and 16 have
# two) give it some shape beyond a forest. Critical path: 5 tasks (0 -> 4 -> 10 -> 14 -> 16).
_G18_PREDECESSORS: dict[int, tuple[int, ...]] = {
    0: (),
    1: (),
    2: (),
    3: (),
    4: (0,),
    5: (0,),
    6: (1,),
    7: (2,),
    8: (3,),
    9: (4,),
    10: (4, 5),
    11: (6,),
    12: (7, 8),
    13: (9,),
    14: (10, 11),
    15: (12,),
    16: (13, 14),
    17: (15,),
}

# G40 (HDS): 40 nodes in 7 layers of sizes 4, 6, 6, 6, 6, 6, 6; every computation cost 4. Node i of a layer depends on
# three consecutive nodes (i, i+1, i+2, cyclically) of the previous layer, and even-indexed nodes of layers >= 2 also
# on node (i mod size) of the layer two back: every non-root has 3 or 4 predecessors (123 edges, 3.1 per node on
# average, 3.4 per non-root), 4 roots, depth 7, one weakly connected component -- "highly interlinked".
_G40_PREDECESSORS: dict[int, tuple[int, ...]] = {
    0: (),
    1: (),
    2: (),
    3: (),
    4: (0, 1, 2),
    5: (1, 2, 3),
    6: (2, 3, 0),
    7: (3, 0, 1),
    8: (0, 1, 2),
    9: (1, 2, 3),
    10: (4, 5, 6, 0),
    11: (5, 6, 7),
    12: (6, 7, 8, 2),
    13: (7, 8, 9),
    14: (8, 9, 4, 0),
    15: (9, 4, 5),
    16: (10, 11, 12, 4),
    17: (11, 12, 13),
    18: (12, 13, 14, 6),
    19: (13, 14, 15),
    20: (14, 15, 10, 8),
    21: (15, 10, 11),
    22: (16, 17, 18, 10),
    23: (17, 18, 19),
    24: (18, 19, 20, 12),
    25: (19, 20, 21),
    26: (20, 21, 16, 14),
    27: (21, 16, 17),
    28: (22, 23, 24, 16),
    29: (23, 24, 25),
    30: (24, 25, 26, 18),
    31: (25, 26, 27),
    32: (26, 27, 22, 20),
    33: (27, 22, 23),
    34: (28, 29, 30, 22),
    35: (29, 30, 31),
    36: (30, 31, 32, 24),
    37: (31, 32, 33),
    38: (32, 33, 28, 26),
    39: (33, 28, 29),
}

_RANDOM_FAMILIES = frozenset(DEFAULT_DENSITY)


# --------------------------------------------------------------------------------------------------------------------
# Public API


def build_task_graph(source: str, n_tasks: int, rng: np.random.Generator, density: float | None = None) -> nx.DiGraph:
    """Build the dependency DAG of ``n_tasks`` tasks from a family name or a graph file (see the module docstring).

    Returns a DiGraph on ``0..n_tasks-1`` with every edge from a lower to a higher id and node attributes ``weight``,
    ``copy`` and ``label``. All randomness comes from ``rng``. ``density`` (random families only) must lie in
    [0, 1]; ``None`` takes ``DEFAULT_DENSITY``. Raises ``ValueError`` for an unknown source, a bad ``n_tasks`` or
    ``density``, or a malformed file.
    """
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, (int, np.integer)):
        raise ValueError(f"n_tasks must be an integer, got {n_tasks!r}")
    n_tasks = int(n_tasks)
    if n_tasks < 1:
        raise ValueError(f"n_tasks must be >= 1, got {n_tasks}")
    source = os.fspath(source)
    kind = resolve_graph_source(source, density)

    if kind in _RANDOM_FAMILIES:
        p = _check_density(DEFAULT_DENSITY[kind] if density is None else density, kind)
        graph = _layered(n_tasks, p, rng)
    else:
        if kind == "independent":
            graph = _from_edges(n_tasks, [])
        elif kind == "chain":
            graph = _from_edges(n_tasks, [(i, i + 1) for i in range(n_tasks - 1)])
        elif kind == "g18":
            graph = _tile(_from_predecessors(_G18_PREDECESSORS, weight=1.0), n_tasks)
        elif kind == "g40":
            graph = _tile(_from_predecessors(_G40_PREDECESSORS, weight=4.0), n_tasks)
        else:
            graph = _tile(load_graph_file(source), n_tasks)

    graph.graph["source"] = source
    validate_dag(graph, source)
    return graph


def resolve_graph_source(source: str, density: float | None = None) -> str | None:
    """Check a graph source without building it: returns the family name, or None for a file.

    Raises ``ValueError`` for an unknown family, a ``density`` outside [0, 1] or given to a non-random source, and
    for a malformed file (naming ``file:line``); ``FileNotFoundError`` for a missing file. The config calls this so
    that a bad ``graph`` is reported when the config is built, not at the first reset.
    """
    source = os.fspath(source)
    if source in GRAPH_FAMILIES:
        kind = source
    elif _looks_like_path(source):
        kind = None
    else:
        raise ValueError(
            f"unknown graph source {source!r}: not a file, and not one of the families {sorted(GRAPH_FAMILIES)}"
        )
    if kind in _RANDOM_FAMILIES:
        if density is not None:
            _check_density(density, kind)
    elif density is not None:
        what = f"family {kind!r}" if kind else f"graph file {source!r}"
        raise ValueError(
            f"density={density!r} was given but {what} is not random; density applies only to "
            f"{sorted(_RANDOM_FAMILIES)}"
        )
    if kind is None:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"graph file {source!r} does not exist")
        stat = path.stat()
        _check_file_once(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    return kind


@functools.lru_cache(maxsize=64)
def _check_file_once(path: str, mtime_ns: int, size: int) -> None:
    """Parse a file once per version (path, modification time, size): configs are built often, files rarely change."""
    load_graph_file(path)


def load_graph_file(path: str | os.PathLike) -> nx.DiGraph:
    """Read a task graph file (GraphML, STG, gauss18 matrix or edge list; see the module docstring).

    Returns a DAG with the file's own task ids and a ``weight`` (> 0) on every node. Malformed input raises
    ``ValueError`` naming ``file:line``; a missing file raises ``FileNotFoundError`` naming the path.
    """
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise FileNotFoundError(f"{name}: graph file not found")
    if not path.is_file():
        raise ValueError(f"{name}: not a regular file")
    ext = path.suffix.lower()
    if ext in (".graphml", ".xml"):
        return _load_graphml(path)
    try:
        # Comments may be in any encoding (gauss18's are Polish); data lines are ASCII, so bad bytes can only
        # matter where they would fail number parsing anyway.
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ValueError(f"{name}: cannot read file: {exc}") from exc
    if ext == ".stg":
        return _parse_stg(text, name)
    if text.lstrip().startswith("<"):
        return _load_graphml(path)
    if any(";" in line for line in text.splitlines() if not line.lstrip().startswith("#")):
        return _parse_gauss(text, name)
    return _parse_edge_list(text, name)


def validate_dag(graph: nx.DiGraph, origin: str) -> None:
    """Raise ``ValueError`` naming ``origin`` if ``graph`` has no tasks, is undirected or has a cycle (listed)."""
    if graph.number_of_nodes() == 0:
        raise ValueError(f"{origin}: the graph has no tasks")
    if not graph.is_directed():
        raise ValueError(f"{origin}: a dependency graph must be directed")
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    raise ValueError(f"{origin}: dependency cycle {_cycle_text(cycle)}")


def partition_tasks(graph: nx.DiGraph, n_groups: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Split the tasks ``0..m-1`` among ``n_groups`` groups; returns an ``(m,)`` int32 array of group indices.

    ``kind`` is ``"interdependent"`` (shuffle, then deal round-robin) or ``"independent"`` (weakly connected
    components packed largest-first onto the least-loaded group). See the module docstring.
    """
    if kind not in PARTITION_KINDS:
        raise ValueError(f"unknown partition kind {kind!r}; expected one of {list(PARTITION_KINDS)}")
    if isinstance(n_groups, bool) or not isinstance(n_groups, (int, np.integer)) or n_groups < 1:
        raise ValueError(f"n_groups must be an integer >= 1, got {n_groups!r}")
    n = _check_node_ids(graph)
    groups = np.empty(n, dtype=np.int32)
    if kind == "interdependent":
        order = rng.permutation(n)
        groups[order] = np.arange(n) % n_groups
        return groups

    components = sorted((sorted(c) for c in nx.weakly_connected_components(graph)), key=lambda c: (-len(c), c[0]))
    load = np.zeros(n_groups, dtype=np.int64)
    for component in components:
        target = int(np.argmin(load))  # argmin returns the first minimum: the lowest index wins ties
        groups[component] = target
        load[target] += len(component)
    return groups


def cross_group_edges(graph: nx.DiGraph, groups: np.ndarray) -> int:
    """Number of edges whose two tasks lie in different groups."""
    groups = np.asarray(groups)
    return sum(1 for u, v in graph.edges if groups[u] != groups[v])


def critical_path_length(graph: nx.DiGraph, node_cost: np.ndarray) -> float:
    """Length of the longest path, counting the cost of every node on it (0.0 for an empty graph)."""
    n = _check_node_ids(graph)
    cost = np.asarray(node_cost, dtype=np.float64)
    if cost.shape != (n,):
        raise ValueError(f"node_cost must have shape ({n},), got {cost.shape}")
    finish = np.zeros(n, dtype=np.float64)  # longest path ending at each node, including it
    for v in nx.topological_sort(graph):
        preds = list(graph.predecessors(v))
        finish[v] = cost[v] + (finish[preds].max() if preds else 0.0)
    return float(finish.max()) if n else 0.0


def to_arrays(graph: nx.DiGraph) -> tuple[np.ndarray, np.ndarray]:
    """``(edges, weights)``: edges as an ``(E, 2)`` int32 array sorted by (source, target), and the ``(n,)`` float64
    node weights (attribute ``weight``, 1.0 where absent)."""
    n = _check_node_ids(graph)
    edges = np.array(sorted(graph.edges), dtype=np.int32).reshape(-1, 2)
    weights = np.array([graph.nodes[v].get("weight", 1.0) for v in range(n)], dtype=np.float64)
    return edges, weights


# --------------------------------------------------------------------------------------------------------------------
# Families


def _looks_like_path(source: str) -> bool:
    separators = [s for s in (os.sep, os.altsep, "/") if s]
    return any(s in source for s in separators) or os.path.isfile(source)


def _check_density(density: float, family: str) -> float:
    try:
        p = float(density)
    except (TypeError, ValueError):
        raise ValueError(f"density for {family!r} must be a number in [0, 1], got {density!r}") from None
    if not 0.0 <= p <= 1.0:  # also rejects NaN
        raise ValueError(f"density for {family!r} must be in [0, 1], got {density!r}")
    return p


def _layered(n: int, p: float, rng: np.random.Generator) -> nx.DiGraph:
    width = max(1, round(math.sqrt(n)))
    starts = list(range(0, n, width))
    edges: list[tuple[int, int]] = []
    for prev_start, start in zip(starts, starts[1:]):
        stop = min(start + width, n)
        hit = rng.random((start - prev_start, stop - start)) < p
        us, vs = np.nonzero(hit)
        edges.extend(zip((us + prev_start).tolist(), (vs + start).tolist()))
    return _from_edges(n, edges)


def _from_edges(n: int, edges: Iterable[tuple[int, int]], weight: float = 1.0) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from((v, {"weight": weight, "copy": 0, "label": v}) for v in range(n))
    graph.add_edges_from(edges)
    return graph


def _from_predecessors(preds: Mapping[int, tuple[int, ...]], weight: float) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from((v, {"weight": weight}) for v in preds)
    graph.add_edges_from((u, v) for v, us in preds.items() for u in us)
    return graph


def _tile(base: nx.DiGraph, n_tasks: int) -> nx.DiGraph:
    """Disjoint copies of ``base`` (renumbered topologically) covering ``n_tasks`` tasks; the last one truncated."""
    validate_dag(base, base.graph.get("origin", "base graph"))
    position = {v: i for i, v in enumerate(base.nodes)}
    order = list(nx.lexicographical_topological_sort(base, key=position.__getitem__))
    index = {v: i for i, v in enumerate(order)}
    s = len(order)
    base_edges = sorted((index[u], index[v]) for u, v in base.edges)
    copies = -(-n_tasks // s)

    graph = nx.DiGraph()
    for c in range(copies):
        k = min(s, n_tasks - c * s)
        offset = c * s
        graph.add_nodes_from(
            (offset + i, {"weight": float(base.nodes[order[i]].get("weight", 1.0)), "copy": c, "label": order[i]})
            for i in range(k)
        )
        # Nodes are numbered topologically, so the first k nodes are closed under predecessors.
        graph.add_edges_from((offset + u, offset + v) for u, v in base_edges if v < k)
    graph.graph["base_size"] = s
    graph.graph["copies"] = copies
    return graph


# --------------------------------------------------------------------------------------------------------------------
# File parsing helpers


def _fail(name: str, line: int, message: str) -> ValueError:
    return ValueError(f"{name}:{line}: {message}")


def _data_lines(text: str, inline_comments: bool = False) -> list[tuple[int, str]]:
    """Non-blank, non-comment lines with their 1-based line numbers."""
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0] if inline_comments else raw
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        out.append((number, line.strip()))
    return out


def _end_line(text: str) -> int:
    return max(1, len(text.splitlines()))


def _parse_int(token: str, name: str, line: int, what: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", token):
        raise _fail(name, line, f"{what} must be an integer, got {token!r}")
    return int(token)


def _parse_positive(token: str, name: str, line: int, what: str, allow_zero: bool = False) -> float:
    try:
        value = float(token)
    except ValueError:
        raise _fail(name, line, f"{what} must be a number, got {token!r}") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise _fail(name, line, f"{what} must be a finite number {bound}, got {token!r}")
    return value


def _check_file_dag(graph: nx.DiGraph, name: str, edge_lines: Mapping[tuple, int], end_line: int) -> nx.DiGraph:
    """Reject an empty or cyclic file graph, naming the lowest line that holds an edge of the cycle."""
    if graph.number_of_nodes() == 0:
        raise _fail(name, end_line, "no tasks found (the file is empty or holds only comments)")
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        graph.graph["origin"] = name
        return graph
    lines = sorted(edge_lines[(u, v)] for u, v, *_ in cycle)
    raise _fail(name, lines[0], f"dependency cycle {_cycle_text(cycle)} (edges on lines {', '.join(map(str, lines))})")


def _cycle_text(cycle: list[tuple]) -> str:
    nodes = [cycle[0][0]] + [edge[1] for edge in cycle]
    return " -> ".join(str(v) for v in nodes)


def _parse_stg(text: str, name: str) -> nx.DiGraph:
    lines = _data_lines(text)
    if not lines:
        raise _fail(name, _end_line(text), "no tasks found (the file is empty or holds only comments)")
    header_line, header = lines[0]
    fields = header.split()
    if len(fields) != 1:
        raise _fail(name, header_line, f"expected the number of tasks alone on the first line, got {header!r}")
    n = _parse_int(fields[0], name, header_line, "the number of tasks")
    if n < 1:
        raise _fail(name, header_line, f"the file declares {n} tasks; a task graph needs at least one")
    entry, exit_ = 0, n + 1

    tasks: dict[int, tuple[int, int, list[int]]] = {}  # id -> (line, time, predecessors)
    body = lines[1:]
    for line, content in body[: n + 2]:
        tokens = content.split()
        if len(tokens) < 3:
            raise _fail(name, line, f"expected 'id time n_predecessors pred...', got {content!r}")
        task = _parse_int(tokens[0], name, line, "task id")
        time = _parse_int(tokens[1], name, line, f"processing time of task {task}")
        count = _parse_int(tokens[2], name, line, f"predecessor count of task {task}")
        if not 0 <= task <= exit_:
            raise _fail(name, line, f"task id {task} out of range 0..{exit_} (n = {n} plus two dummies)")
        if task in tasks:
            raise _fail(name, line, f"duplicate task id {task} (first on line {tasks[task][0]})")
        if time < 0:
            raise _fail(name, line, f"task {task} has negative processing time {time}")
        if count < 0:
            raise _fail(name, line, f"task {task} has negative predecessor count {count}")
        ids = tokens[3:]
        if len(ids) != count:
            raise _fail(name, line, f"task {task} lists {count} predecessors but {len(ids)} ids follow")
        preds = [_parse_int(t, name, line, f"predecessor of task {task}") for t in ids]
        for p in preds:
            if not 0 <= p <= exit_:
                raise _fail(name, line, f"task {task}: predecessor id {p} out of range 0..{exit_}")
        duplicates = {p for p in preds if preds.count(p) > 1}
        if duplicates:
            raise _fail(name, line, f"task {task} lists predecessor {min(duplicates)} more than once")
        tasks[task] = (line, time, preds)

    if len(body) < n + 2:
        missing = sorted(set(range(n + 2)) - set(tasks))
        raise _fail(
            name,
            _end_line(text),
            f"expected {n + 2} task lines (n = {n} plus two dummies), found "
            f"{len(body)}; missing task ids {missing[:10]}{' ...' if len(missing) > 10 else ''}",
        )
    if len(body) > n + 2:
        line, content = body[n + 2]
        raise _fail(name, line, f"unexpected line after the {n + 2} task lines: {content!r}")

    for dummy, role in ((entry, "entry"), (exit_, "exit")):
        line, time, preds = tasks[dummy]
        if time != 0:
            raise _fail(name, line, f"dummy {role} task {dummy} must have processing time 0, got {time}")
    if tasks[entry][2]:
        raise _fail(name, tasks[entry][0], "dummy entry task 0 must have no predecessors")

    graph = nx.DiGraph()
    graph.add_nodes_from(
        (t, {"weight": float(tasks[t][1]) if tasks[t][1] > 0 else STG_ZERO_TIME_WEIGHT}) for t in range(1, n + 1)
    )
    edge_lines: dict[tuple[int, int], int] = {}
    for t in range(1, n + 1):
        line, _, preds = tasks[t]
        for p in preds:
            if p == exit_:
                raise _fail(name, line, f"task {t} lists the dummy exit task {exit_} as a predecessor")
            if p != entry:  # links from the dummy entry carry no dependency
                graph.add_edge(p, t)
                edge_lines[(p, t)] = line
    return _check_file_dag(graph, name, edge_lines, _end_line(text))


def _parse_gauss(text: str, name: str) -> nx.DiGraph:
    lines = _data_lines(text)
    if not lines:
        raise _fail(name, _end_line(text), "no tasks found (the file is empty or holds only comments)")
    cost_line, cost_text = lines[0]
    costs = [
        _parse_positive(cell.strip(), name, cost_line, f"cost of task {i}")
        for i, cell in enumerate(cost_text.split(";"))
    ]
    n = len(costs)
    rows = lines[1:]
    graph = nx.DiGraph()
    graph.add_nodes_from((i, {"weight": c}) for i, c in enumerate(costs))
    edge_lines: dict[tuple[int, int], int] = {}
    for i, (line, row) in enumerate(rows):
        cells = row.split(";")
        # A row of the wrong length is reported before a wrong row count: it is the first line that disagrees.
        if len(cells) != n:
            raise _fail(
                name,
                line,
                f"matrix row {i} has {len(cells)} cells, but line {cost_line} lists {n} task "
                f"costs (the matrix must be {n} x {n})",
            )
        if i >= n:
            raise _fail(name, line, f"matrix has more than {n} rows, but line {cost_line} lists {n} task costs")
        for j, cell in enumerate(cells):
            cell = cell.strip()
            if cell:
                comm = _parse_positive(cell, name, line, f"edge weight {i} -> {j}", allow_zero=True)
                graph.add_edge(i, j, comm=comm)
                edge_lines[(i, j)] = line
    if len(rows) < n:
        last = rows[-1][0] if rows else cost_line
        raise _fail(
            name,
            last,
            f"matrix is not square: {len(rows)} rows, but line {cost_line} lists {n} task "
            f"costs (one row and one column per task)",
        )
    return _check_file_dag(graph, name, edge_lines, _end_line(text))


def _parse_edge_list(text: str, name: str) -> nx.DiGraph:
    graph = nx.DiGraph()
    edge_lines: dict[tuple[int, int], int] = {}
    for line, content in _data_lines(text, inline_comments=True):
        tokens = content.replace(",", " ").split()
        if len(tokens) > 3:
            raise _fail(name, line, f"expected 'u v' or 'u v weight' (or a single task id), got {content!r}")
        ids = [_parse_int(t, name, line, "task id") for t in tokens[:2]]
        for v in ids:
            if v < 0:
                raise _fail(name, line, f"task ids must be non-negative integers, got {v}")
        for v in ids:
            if v not in graph:
                graph.add_node(v, weight=1.0)
        if len(ids) == 1:
            continue
        u, v = ids
        if (u, v) in edge_lines:
            raise _fail(name, line, f"edge {u} -> {v} repeated (first on line {edge_lines[(u, v)]})")
        attrs = {}
        if len(tokens) == 3:
            attrs["comm"] = _parse_positive(tokens[2], name, line, f"weight of edge {u} -> {v}", allow_zero=True)
        graph.add_edge(u, v, **attrs)
        edge_lines[(u, v)] = line
    return _check_file_dag(graph, name, edge_lines, _end_line(text))


def _load_graphml(path: Path) -> nx.DiGraph:
    name = str(path)
    try:
        raw = nx.read_graphml(path)
    except Exception as exc:  # the parser raises many types (ParseError, NetworkXError, KeyError, ...)
        position = getattr(exc, "position", None)
        where = f"{name}:{position[0]}" if position else name
        raise ValueError(f"{where}: cannot read GraphML: {exc}") from exc
    if not raw.is_directed():
        raise ValueError(f"{name}: GraphML graph is undirected; a dependency graph must be directed")
    graph = nx.DiGraph()
    for node, attrs in raw.nodes(data=True):
        key = "weight" if "weight" in attrs else "cost" if "cost" in attrs else None
        weight = 1.0
        if key is not None:
            try:
                weight = float(attrs[key])
            except (TypeError, ValueError):
                raise ValueError(f"{name}: node {node!r}: {key} {attrs[key]!r} is not a number") from None
            if not math.isfinite(weight) or weight <= 0:
                raise ValueError(f"{name}: node {node!r}: {key} must be a finite number > 0, got {attrs[key]!r}")
        graph.add_node(node, weight=weight)
    graph.add_edges_from((u, v) for u, v in raw.edges())
    if graph.number_of_nodes() == 0:
        raise ValueError(f"{name}: the graph has no tasks")
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        graph.graph["origin"] = name
        return graph
    raise ValueError(f"{name}: dependency cycle {_cycle_text(cycle)}")


def _check_node_ids(graph: nx.DiGraph) -> int:
    n = graph.number_of_nodes()
    if set(graph.nodes) != set(range(n)):
        raise ValueError("the graph's nodes must be the integers 0..n-1 (use build_task_graph to renumber)")
    return n

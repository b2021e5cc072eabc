"""Task graph files: GraphML, STG, gauss18 matrix and edge-list loaders, and the one acyclicity check.

Every loader returns a ``networkx.DiGraph`` with the file's own task ids and a ``weight`` (> 0) on every node;
``ces_env.graphs`` renumbers and tiles it. A file is parsed once per version: :func:`load_graph_file` keeps the parsed
graph keyed by (resolved path, modification time, size), so that checking a config and generating its episodes share
one parse (a million-edge file costs minutes to read).

File formats
------------
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

Acyclicity (``validate_dag``)
-----------------------------
One check for every graph, from a file, a family or a hand-built instance: ``networkx.is_directed_acyclic_graph``
(linear). Only when it fails is a cycle searched for the message, also in linear time (a walk inside a strongly
connected component); ``networkx.find_cycle`` is never called, as it grows with the square of the graph on DAGs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Hashable, Mapping
from pathlib import Path

import networkx as nx

__all__ = ["STG_ZERO_TIME_WEIGHT", "load_graph_file", "validate_dag"]

STG_ZERO_TIME_WEIGHT = 1e-3
"""Weight given to a real STG task whose processing time is 0 (weights must be > 0)."""

PARSED_CACHE_SIZE = 4
"""Parsed files kept in memory (most recently used); a million-edge graph takes about a gigabyte."""

_parsed: dict[tuple[str, int, int], nx.DiGraph] = {}


def load_graph_file(path: str | os.PathLike) -> nx.DiGraph:
    """Read a task graph file (GraphML, STG, gauss18 matrix or edge list; see the module docstring).

    Returns a DAG with the file's own task ids and a ``weight`` (> 0) on every node. The graph is **frozen** and
    shared by every caller that reads the same version of the file (same resolved path, modification time and
    size): copy it (``networkx.DiGraph(graph)``) to edit it. Malformed input raises ``ValueError`` naming
    ``file:line``; a missing file raises ``FileNotFoundError`` naming the path.
    """
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise FileNotFoundError(f"{name}: graph file not found")
    if not path.is_file():
        raise ValueError(f"{name}: not a regular file")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    graph = _parsed.pop(key, None)
    if graph is None:
        graph = nx.freeze(_parse(path, name))
    _parsed[key] = graph  # re-inserted last: the dict's order is the recency order
    while len(_parsed) > PARSED_CACHE_SIZE:
        del _parsed[next(iter(_parsed))]
    return graph


def _parse(path: Path, name: str) -> nx.DiGraph:
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


def validate_dag(graph: nx.DiGraph, origin: str, edge_lines: Mapping[tuple, int] | None = None) -> None:
    """Raise ``ValueError`` naming ``origin`` if ``graph`` has no tasks, is undirected or has a cycle (listed).

    With ``edge_lines`` (edge -> line of the file that holds it), the message starts with ``origin:line:`` for the
    lowest line holding an edge of the cycle, and lists those lines. Linear time on the success path.
    """
    if graph.number_of_nodes() == 0:
        raise ValueError(f"{origin}: the graph has no tasks")
    if not graph.is_directed():
        raise ValueError(f"{origin}: a dependency graph must be directed")
    if nx.is_directed_acyclic_graph(graph):
        return
    cycle = _find_cycle(graph)
    text = " -> ".join(str(v) for v in cycle)
    if not edge_lines:
        raise ValueError(f"{origin}: dependency cycle {text}")
    lines = sorted(edge_lines[edge] for edge in zip(cycle, cycle[1:]))
    raise _fail(origin, lines[0], f"dependency cycle {text} (edges on lines {', '.join(map(str, lines))})")


def _find_cycle(graph: nx.DiGraph) -> list[Hashable]:
    """One dependency cycle of a cyclic graph, as its nodes with the first repeated at the end (``[0, 1, 2, 0]``).

    Linear time: a self-loop if there is one, else a walk inside the strongly connected component holding the
    earliest node (in the graph's node order) that lies on a cycle, from that node along the first successor that
    stays in the component, until a node repeats. Raises ``ValueError`` for an acyclic graph.
    """
    for u, _ in nx.selfloop_edges(graph):
        return [u, u]
    position = {v: i for i, v in enumerate(graph)}
    components = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    if not components:
        raise ValueError("the graph has no cycle")
    component = min(components, key=lambda c: min(position[v] for v in c))
    path = [min(component, key=position.__getitem__)]
    seen = {path[0]: 0}
    while True:  # every node of a strongly connected component has a successor inside it
        step = next(w for w in graph.successors(path[-1]) if w in component)
        if step in seen:
            return path[seen[step] :] + [step]
        seen[step] = len(path)
        path.append(step)


# --------------------------------------------------------------------------------------------------------------------
# Parsing helpers


def _check_file_graph(graph: nx.DiGraph, name: str, edge_lines: Mapping[tuple, int], end_line: int) -> nx.DiGraph:
    """Reject an empty file (naming its last line) or a cyclic one (naming the lowest line of the cycle)."""
    if graph.number_of_nodes() == 0:
        raise _fail(name, end_line, "no tasks found (the file is empty or holds only comments)")
    validate_dag(graph, name, edge_lines)
    graph.graph["origin"] = name
    return graph


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
    # ASCII digits with an optional sign (int() alone would also take "1_000" or other scripts' digits); string
    # methods, not a regex, because a million-edge file calls this two million times.
    digits = token[1:] if token[:1] in ("+", "-") else token
    if not (digits.isascii() and digits.isdigit()):
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
    return _check_file_graph(graph, name, edge_lines, _end_line(text))


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
    return _check_file_graph(graph, name, edge_lines, _end_line(text))


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
    return _check_file_graph(graph, name, edge_lines, _end_line(text))


def _check_graphml_structure(path: Path, name: str) -> None:
    """What networkx accepts silently: a second ``<graph>`` (ignored), a repeated node id and a repeated edge (both
    merged). Read with expat, which knows the line of every element, so that a repeat is reported as ``file:line``."""
    from xml.parsers import expat

    parser = expat.ParserCreate(namespace_separator="}")  # tags arrive as "namespace}local"
    graphs = 0
    node_lines: dict[str, int] = {}
    edge_lines: dict[tuple[str, str], int] = {}
    repeats: list[str] = []  # the first repeat; the count of <graph> elements is known only at the end

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal graphs
        kind, line = tag.rsplit("}", 1)[-1], parser.CurrentLineNumber
        if kind == "graph":
            graphs += 1
        elif kind == "node":
            node = attrs.get("id", "")
            if node in node_lines and not repeats:
                repeats.append(f"{name}:{line}: duplicate node id {node!r} (first on line {node_lines[node]})")
            node_lines.setdefault(node, line)
        elif kind == "edge":
            pair = (attrs.get("source", ""), attrs.get("target", ""))
            if pair in edge_lines and not repeats:
                repeats.append(
                    f"{name}:{line}: duplicate edge {pair[0]} -> {pair[1]} (first on line {edge_lines[pair]})"
                )
            edge_lines.setdefault(pair, line)

    parser.StartElementHandler = start
    try:
        with path.open("rb") as stream:
            parser.ParseFile(stream)
    except expat.ExpatError as exc:
        raise ValueError(f"{name}:{exc.lineno}: cannot read GraphML: {exc}") from exc
    if graphs > 1:
        raise ValueError(f"{name}: holds {graphs} <graph> elements; a task graph file must hold exactly one")
    if repeats:
        raise ValueError(repeats[0])


def _load_graphml(path: Path) -> nx.DiGraph:
    name = str(path)
    _check_graphml_structure(path, name)
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
    validate_dag(graph, name)
    graph.graph["origin"] = name
    return graph

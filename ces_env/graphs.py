"""Task dependency graphs: families, the G18/G40 stand-ins and tiling (files are read by ``ces_env.graph_files``).

Every graph handed to the simulator is a ``networkx.DiGraph`` on nodes ``0..m-1`` in which **every edge goes from a
lower to a higher id** (a topological numbering), an edge ``u -> v`` meaning "task v depends on task u". Nodes carry

* ``weight`` (float > 0): the task's computation cost (1.0 unless the source says otherwise),
* ``copy`` (int): which tiled copy of a fixed graph the task belongs to (0 for generated families),
* ``label``: the task's id in its source (the file's id, or the node of the G18/G40 stand-in).

Sources (``build_task_graph(source, n_tasks, rng, density, layers)``)
---------------------------------------------------------------------
Random families (only they take ``density`` and ``layers``; the default density is ``DEFAULT_DENSITY[family]``):

``layered``
    Tasks are dealt into consecutive layers of width ``w = max(1, round(sqrt(n_tasks)))`` (the last layer may be
    shorter). For every node of layer ``L > 0`` and every node of layer ``L-1``, the edge is drawn independently with
    probability ``density``; there are no other edges. A node is *not* forced to have a predecessor: a node of a
    later layer that draws none is simply another root. This keeps ``density`` an honest edge probability
    (``density=0`` gives independent tasks, ``density=1`` complete bipartite links between consecutive layers) and
    lets low densities give the many roots and small components of a less-dependent system.
    The expected in-degree of a node of layer ``L > 0`` is ``density * w``, about ``density * sqrt(n_tasks)``.

    ``layers`` (config field ``graph_layers``) sets the number of layers instead: the tasks are dealt into exactly
    ``layers`` consecutive layers whose sizes differ by at most one (the first ``n_tasks % layers`` one task larger),
    so no path is longer than ``layers`` tasks, and at ``density=1`` the longest path is exactly ``layers``. Without
    an explicit ``density`` the family's default is scaled by ``w / (n_tasks / layers)`` (capped at 1) so that the
    expected in-degree stays the family's: a shallower graph is wider, not more dependent per task. ``None`` keeps
    the width ``w`` above (and draws exactly the graphs it always drew).
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
"""

from __future__ import annotations

import functools
import math
import os
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from ces_env.graph_files import load_graph_file

__all__ = [
    "GRAPH_FAMILIES",
    "DEFAULT_DENSITY",
    "build_task_graph",
    "build_task_edges",
    "TaskEdges",
    "resolve_graph_source",
    "layer_sizes",
    "family_density",
    "expected_edge_count",
    "file_task_count",
    "critical_path_length",
    "to_arrays",
    "check_task_ids",
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


def build_task_graph(
    source: str,
    n_tasks: int,
    rng: np.random.Generator,
    density: float | None = None,
    layers: int | None = None,
) -> nx.DiGraph:
    """Build the dependency DAG of ``n_tasks`` tasks from a family name or a graph file (see the module docstring).

    Returns a DiGraph on ``0..n_tasks-1`` with every edge from a lower to a higher id and node attributes ``weight``,
    ``copy`` and ``label``. All randomness comes from ``rng``. ``density`` (random families only) must lie in
    [0, 1]; ``None`` takes :func:`family_density`. ``layers`` (random families only) is the number of layers, in
    ``[1, n_tasks]``; ``None`` keeps layers of width ``round(sqrt(n_tasks))``. Raises ``ValueError`` for an unknown
    source, a bad ``n_tasks``, ``density`` or ``layers``, or a malformed file.
    """
    built = build_task_edges(source, n_tasks, rng, density, layers)
    return built.to_graph() if isinstance(built, TaskEdges) else built


@dataclass(frozen=True, eq=False)
class TaskEdges:
    """A generated family's DAG as edge arrays, and the networkx graph :func:`build_task_graph` makes of it on demand.

    Building the DiGraph (a dict per node and per edge) cost about as much as drawing the graph at every reset, and
    the simulator, the lower bound and the observations read the arrays only: the generator keeps these and the
    :class:`~ces_env.types.Instance` builds ``graph`` the first time someone reads it (the renderer, DPOP, tests).
    """

    n_tasks: int
    sources: np.ndarray  # (E,) int64, edges sorted by (source, target), every source < its target
    targets: np.ndarray  # (E,) int64
    source: str  # the graph source it was built from (the graph's ``graph["source"]``)

    def to_graph(self) -> nx.DiGraph:
        """The DiGraph :func:`build_task_graph` returns for this source: nodes ``0..m-1`` with ``weight`` 1.0,
        ``copy`` 0 and ``label`` = id, these edges, and ``graph["source"]``."""
        graph = _from_edges(self.n_tasks, zip(self.sources.tolist(), self.targets.tolist()))
        graph.graph["source"] = self.source
        return graph


def build_task_edges(
    source: str,
    n_tasks: int,
    rng: np.random.Generator,
    density: float | None = None,
    layers: int | None = None,
) -> TaskEdges | nx.DiGraph:
    """:func:`build_task_graph` without building a networkx graph where it can be avoided: the generated families
    (random, ``independent``, ``chain``) come back as :class:`TaskEdges`, tiled and file graphs as the DiGraph itself.
    The same draws from ``rng``, the same checks and errors."""
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, (int, np.integer)):
        raise ValueError(f"n_tasks must be an integer, got {n_tasks!r}")
    n_tasks = int(n_tasks)
    if n_tasks < 1:
        raise ValueError(f"n_tasks must be >= 1, got {n_tasks}")
    source = os.fspath(source)
    kind = resolve_graph_source(source, density, layers)

    if kind in _RANDOM_FAMILIES:
        p = _check_density(family_density(kind, n_tasks, layers) if density is None else density, kind)
        sources, targets = _layered_edges(layer_sizes(n_tasks, layers), p, rng)
        return TaskEdges(n_tasks, sources, targets, source)
    if kind == "independent":
        return TaskEdges(n_tasks, _NO_EDGES, _NO_EDGES, source)
    if kind == "chain":
        chain = np.arange(n_tasks, dtype=np.int64)
        return TaskEdges(n_tasks, chain[:-1], chain[1:], source)
    graph = _tile(_stand_in(kind), n_tasks) if kind in ("g18", "g40") else _tile(load_graph_file(source), n_tasks)
    # Acyclic by construction (every edge goes from a lower to a higher id); assemble_instance checks it again.
    graph.graph["source"] = source
    return graph


def resolve_graph_source(source: str, density: float | None = None, layers: int | None = None) -> str | None:
    """Check a graph source without building it: returns the family name, or None for a file.

    Raises ``ValueError`` for an unknown family, a ``density`` outside [0, 1], ``density`` or ``layers`` given to a
    non-random source, a ``layers`` that is not a positive integer, and for a malformed file (naming ``file:line``);
    ``FileNotFoundError`` for a missing file. The config calls this so that a bad ``graph`` is reported when the
    config is built, not at the first reset. (``layers <= n_tasks`` is checked where the task count is known.)
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
        if layers is not None:
            _check_layers(layers, None)
    else:
        what = f"family {kind!r}" if kind else f"graph file {source!r}"
        for name, value in (("density", density), ("layers", layers)):
            if value is not None:
                raise ValueError(
                    f"{name}={value!r} was given but {what} is not random; {name} applies only to "
                    f"{sorted(_RANDOM_FAMILIES)}"
                )
    if kind is None:
        path = Path(source)
        if not path.is_file():
            if path.is_symlink() and not path.exists():
                raise FileNotFoundError(f"graph file {source!r} is a symbolic link to a missing file")
            if path.is_dir():
                raise ValueError(f"graph file {source!r} is a directory, not a file")
            if path.exists():
                raise ValueError(f"graph file {source!r} is not a regular file (a FIFO, socket or device)")
            raise FileNotFoundError(f"graph file {source!r} does not exist")
        load_graph_file(source)  # parsed once: the graphs built at every reset reuse this parse
    return kind


def file_task_count(source: str | os.PathLike) -> int | None:
    """The number of tasks in a graph file (the episode's default ``n_tasks``), or None for a family name.

    Raises like :func:`resolve_graph_source` for an unknown family or a missing or malformed file.
    """
    source = os.fspath(source)
    if resolve_graph_source(source) is not None:
        return None
    return load_graph_file(source).number_of_nodes()


def layer_sizes(n_tasks: int, layers: int | None = None) -> list[int]:
    """The sizes of the consecutive layers a random layered family deals ``n_tasks`` tasks into.

    ``layers=None``: layers of width ``max(1, round(sqrt(n_tasks)))``, the last one possibly shorter (the families'
    own shape, about ``sqrt(n_tasks)`` deep). An integer in ``[1, n_tasks]``: exactly that many layers, sizes
    differing by at most one, the larger ones first. Raises ``ValueError`` for any other ``layers``.
    """
    if layers is None:
        width = max(1, round(math.sqrt(n_tasks)))
        return [min(width, n_tasks - start) for start in range(0, n_tasks, width)]
    count = _check_layers(layers, n_tasks)
    base, extra = divmod(n_tasks, count)
    return [base + 1] * extra + [base] * (count - extra)


def expected_edge_count(source: str, n_tasks: int, density: float | None = None, layers: int | None = None) -> float:
    """The number of dependency edges of a graph of ``n_tasks`` tasks (its expectation for a random family, an upper
    bound for a tiled one), in O(1) for a family, so that the memory estimate can count them before anything is built.

    Random families: the density times the pairs of nodes in consecutive layers (the sums of products of
    :func:`layer_sizes` in closed form). Tiled graphs (G18, G40, files): every copy counted whole. ``source`` must
    resolve (:func:`resolve_graph_source`); a file is read once (its parse is cached).
    """
    kind = resolve_graph_source(source, density, layers)
    if kind in _RANDOM_FAMILIES:
        p = family_density(kind, n_tasks, layers) if density is None else float(density)
        if layers is None:  # width w except a shorter last layer
            width = max(1, round(math.sqrt(n_tasks)))
            count = -(-n_tasks // width)
            last = n_tasks - (count - 1) * width
            pairs = max(0, count - 2) * width * width + (width * last if count >= 2 else 0)
        else:  # `extra` layers of base + 1, then base
            base, extra = divmod(n_tasks, layers)
            pairs = max(0, extra - 1) * (base + 1) ** 2 + max(0, layers - extra - 1) * base**2
            pairs += (base + 1) * base if 0 < extra < layers else 0
        return p * pairs
    if kind == "independent":
        return 0.0
    if kind == "chain":
        return float(n_tasks - 1)
    base_graph = _stand_in(kind) if kind in ("g18", "g40") else load_graph_file(source)
    return float(-(-n_tasks // base_graph.number_of_nodes()) * base_graph.number_of_edges())


def family_density(family: str, n_tasks: int, layers: int | None = None) -> float:
    """The default edge probability of a random family: ``DEFAULT_DENSITY[family]`` at the families' own width, and
    with ``layers`` that density scaled by ``round(sqrt(n)) / (n / layers)`` (capped at 1), so that the expected
    in-degree ``density x width`` of a node stays the family's whatever the depth."""
    base = DEFAULT_DENSITY[family]
    if layers is None:
        return base
    natural_width = max(1, round(math.sqrt(n_tasks)))
    mean_width = n_tasks / _check_layers(layers, n_tasks)
    return min(1.0, base * natural_width / mean_width)


def critical_path_length(graph: nx.DiGraph, node_cost: np.ndarray) -> float:
    """Length of the longest path, counting the cost of every node on it (0.0 for an empty graph)."""
    n = check_task_ids(graph)
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
    n = check_task_ids(graph)
    edges = np.array(sorted(graph.edges), dtype=np.int32).reshape(-1, 2)
    weights = np.array([graph.nodes[v].get("weight", 1.0) for v in range(n)], dtype=np.float64)
    return edges, weights


# --------------------------------------------------------------------------------------------------------------------
# Families


def _looks_like_path(source: str) -> bool:
    """A path (to be reported as one: missing, a directory, a FIFO, a dangling link) rather than an unknown family:
    it has a separator, or something of that name exists here (``lexists``: a dangling link counts too)."""
    separators = [s for s in (os.sep, os.altsep, "/") if s]
    return any(s in source for s in separators) or os.path.lexists(source)


def _check_density(density: float, family: str) -> float:
    try:
        p = float(density)
    except (TypeError, ValueError):
        raise ValueError(f"density for {family!r} must be a number in [0, 1], got {density!r}") from None
    if not 0.0 <= p <= 1.0:  # also rejects NaN
        raise ValueError(f"density for {family!r} must be in [0, 1], got {density!r}")
    return p


def _check_layers(layers: int, n_tasks: int | None) -> int:
    """``layers`` as an int after checking it is an integer >= 1 (and <= ``n_tasks`` when that is known): a graph of
    m tasks cannot have more than m non-empty layers."""
    if isinstance(layers, bool) or not isinstance(layers, (int, np.integer)):
        raise ValueError(f"layers must be an integer, got {layers!r}")
    if layers < 1:
        raise ValueError(f"layers must be >= 1, got {layers}")
    if n_tasks is not None and layers > n_tasks:
        raise ValueError(f"layers must be <= n_tasks ({n_tasks}): every layer holds at least one task, got {layers}")
    return int(layers)


_NO_EDGES = np.zeros(0, dtype=np.int64)
_NO_EDGES.flags.writeable = False


def _layered_edges(sizes: list[int], p: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive layers of the given sizes; each edge from a node of the previous layer drawn with probability p
    (one ``rng.random`` block per pair of layers, in layer order). Returns (sources, targets) as int64 arrays, sorted
    by (source, target): row-major ``nonzero`` within a pair of layers, and the pairs in order."""
    starts = np.concatenate(([0], np.cumsum(sizes))).tolist()
    sources: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    for prev_start, start, stop in zip(starts, starts[1:], starts[2:]):
        hit = rng.random((start - prev_start, stop - start)) < p
        us, vs = np.nonzero(hit)
        sources.append(us + prev_start)
        targets.append(vs + start)
    if not sources:
        return _NO_EDGES, _NO_EDGES
    return np.concatenate(sources).astype(np.int64, copy=False), np.concatenate(targets).astype(np.int64, copy=False)


def _from_edges(n: int, edges: Iterable[tuple[int, int]], weight: float = 1.0) -> nx.DiGraph:
    graph = nx.DiGraph()
    # shared attributes in one call, then the label into each node's own dict (the same dicts, keys in the same
    # order as one dict per node gave): half the cost of a (node, dict) pair per node, paid at every reset
    graph.add_nodes_from(range(n), weight=weight, copy=0)
    for v, data in graph.nodes(data=True):
        data["label"] = v
    graph.add_edges_from(edges)
    return graph


def _from_predecessors(preds: Mapping[int, tuple[int, ...]], weight: float) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from((v, {"weight": weight}) for v in preds)
    graph.add_edges_from((u, v) for v, us in preds.items() for u in us)
    return graph


@dataclass(frozen=True)
class _TilingBase:
    """A fixed graph renumbered topologically: what every tiling of it needs, computed once per graph."""

    labels: list  # source id of renumbered node i
    weights: list[float]
    edges: list[tuple[int, int]]  # renumbered, sorted by (source, target)


# Keyed by the base graph itself (files are parsed once and shared, the stand-ins are built once), forgotten with it.
_tiling_bases: weakref.WeakKeyDictionary[nx.DiGraph, _TilingBase] = weakref.WeakKeyDictionary()


def _tiling_base(base: nx.DiGraph) -> _TilingBase:
    known = _tiling_bases.get(base)
    if known is None:
        # ``base`` is a checked file graph or a stand-in; the sort below would raise on a cycle anyway.
        position = {v: i for i, v in enumerate(base.nodes)}
        order = list(nx.lexicographical_topological_sort(base, key=position.__getitem__))
        index = {v: i for i, v in enumerate(order)}
        known = _TilingBase(
            labels=order,
            weights=[float(base.nodes[v].get("weight", 1.0)) for v in order],
            edges=sorted((index[u], index[v]) for u, v in base.edges),
        )
        _tiling_bases[base] = known
    return known


@functools.cache
def _stand_in(name: str) -> nx.DiGraph:
    """The G18 or G40 stand-in, built once (frozen, shared)."""
    if name == "g18":
        return nx.freeze(_from_predecessors(_G18_PREDECESSORS, weight=1.0))
    return nx.freeze(_from_predecessors(_G40_PREDECESSORS, weight=4.0))


def _tile(base: nx.DiGraph, n_tasks: int) -> nx.DiGraph:
    """Disjoint copies of ``base`` (renumbered topologically) covering ``n_tasks`` tasks; the last one truncated."""
    layout = _tiling_base(base)
    s = len(layout.labels)
    copies = -(-n_tasks // s)
    graph = nx.DiGraph()
    for c in range(copies):
        k = min(s, n_tasks - c * s)
        offset = c * s
        graph.add_nodes_from(
            (offset + i, {"weight": layout.weights[i], "copy": c, "label": layout.labels[i]}) for i in range(k)
        )
        # Nodes are numbered topologically, so the first k nodes are closed under predecessors.
        graph.add_edges_from((offset + u, offset + v) for u, v in layout.edges if v < k)
    graph.graph["base_size"] = s
    graph.graph["copies"] = copies
    return graph


def check_task_ids(graph: nx.DiGraph) -> int:
    """The number of tasks ``m``, after checking that the nodes are exactly ``0..m-1`` (as after tiling)."""
    n = graph.number_of_nodes()
    if set(graph.nodes) != set(range(n)):
        raise ValueError("the graph's nodes must be the integers 0..n-1 (use build_task_graph to renumber)")
    return n

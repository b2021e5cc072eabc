"""Instances from a seed: the task DAG, rewards, the partition lambda, inference classes, one maze per class, and the
agents with their groups and speeds.

Generation is kept apart from the dynamics (as in Jumanji): :func:`generate_instance` draws everything from the
generator it is given, and :func:`assemble_instance` builds an :class:`~ces_env.types.Instance` from hand-made parts,
so tests and users can inject their own instance with ``env.reset(options={"instance": instance})``.

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

import networkx as nx
import numpy as np

from ces_env.config import PARTITIONS, CESConfig
from ces_env.graph_files import validate_dag
from ces_env.graphs import TaskEdges, build_task_edges, check_task_ids
from ces_env.maze import Maze, generate_mazes
from ces_env.types import Instance


def split_agents(n_agents: int, n_groups: int) -> np.ndarray:
    """(n,) group index per agent: contiguous blocks of n/l agents, sizes differing by at most one."""
    return (np.arange(n_agents, dtype=np.int64) * n_groups // n_agents).astype(np.int32)


def partition_tasks(graph: nx.DiGraph, n_groups: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Split the tasks ``0..m-1`` among ``n_groups`` groups; returns an ``(m,)`` int32 array of group indices.

    ``kind`` is ``"interdependent"`` (shuffle, then deal round-robin) or ``"independent"`` (weakly connected
    components packed largest-first onto the least-loaded group). See the module docstring.
    """
    if kind not in PARTITIONS:
        raise ValueError(f"unknown partition kind {kind!r}; expected one of {list(PARTITIONS)}")
    if isinstance(n_groups, bool) or not isinstance(n_groups, (int, np.integer)) or n_groups < 1:
        raise ValueError(f"n_groups must be an integer >= 1, got {n_groups!r}")
    n = check_task_ids(graph)
    if kind == "interdependent":
        return _deal_round_robin(n, n_groups, rng)

    groups = np.empty(n, dtype=np.int32)
    components = sorted((sorted(c) for c in nx.weakly_connected_components(graph)), key=lambda c: (-len(c), c[0]))
    load = np.zeros(n_groups, dtype=np.int64)
    for component in components:
        target = int(np.argmin(load))  # argmin returns the first minimum: the lowest index wins ties
        groups[component] = target
        load[target] += len(component)
    return groups


def _deal_round_robin(n_tasks: int, n_groups: int, rng: np.random.Generator) -> np.ndarray:
    """The interdependent split: shuffle the tasks, then deal them round-robin to the groups."""
    groups = np.empty(n_tasks, dtype=np.int32)
    groups[rng.permutation(n_tasks)] = np.arange(n_tasks) % n_groups
    return groups


def cross_group_edges(graph: nx.DiGraph, groups: np.ndarray) -> int:
    """Number of edges whose two tasks lie in different groups."""
    groups = np.asarray(groups)
    return sum(1 for u, v in graph.edges if groups[u] != groups[v])


def draw_classes(n_tasks: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """(m,) class per task: a random permutation cut into classes of (almost) equal size, so every class is used."""
    order = rng.permutation(n_tasks)
    task_class = np.empty(n_tasks, dtype=np.int32)
    task_class[order] = np.arange(n_tasks, dtype=np.int64) * n_classes // n_tasks
    return task_class


def draw_speeds(config: CESConfig, agent_group: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    speeds = np.full(agent_group.shape[0], float(config.agent_speed))
    if config.group_speeds:
        speeds *= np.asarray(config.group_speeds, dtype=np.float64)[agent_group]
    if config.speed_spread > 0:
        speeds *= rng.uniform(1.0 - config.speed_spread, 1.0 + config.speed_spread, size=speeds.shape[0])
    return speeds


def generate_instance(config: CESConfig, rng: np.random.Generator) -> Instance:
    """Draw a whole instance from ``rng`` (the env's generator seeded at reset).

    The generated families keep their DAG as edge arrays (:class:`~ces_env.graphs.TaskEdges`): the instance builds
    its networkx graph when someone reads it, and skips the checks of :func:`assemble_instance` that hold by
    construction. Tiled and file graphs, and the ``independent`` partition (it reads the graph's components), take
    the DiGraph and :func:`assemble_instance`. Both give the same instance from the same draws
    (``tests/test_generator_fast_path.py``)."""
    built = build_task_edges(config.graph, config.n_tasks, rng, config.graph_density, config.graph_layers)
    edges: TaskEdges | None = None
    if isinstance(built, TaskEdges) and config.partition == "interdependent":
        edges, graph, n_tasks = built, None, built.n_tasks
        task_group = _deal_round_robin(n_tasks, config.n_groups, rng)  # without a graph to check
    else:
        graph = built.to_graph() if isinstance(built, TaskEdges) else built
        n_tasks = graph.number_of_nodes()
        task_group = partition_tasks(graph, config.n_groups, config.partition, rng)
    rewards = rng.uniform(config.reward_range[0], config.reward_range[1], size=n_tasks)
    n_classes = min(config.n_classes, n_tasks)
    task_class = draw_classes(n_tasks, n_classes, rng)
    agent_group = split_agents(config.n_agents, config.n_groups)
    agent_speed = draw_speeds(config, agent_group, rng)
    height, width = config.maze_shape
    mazes = generate_mazes(height, width, n_classes, rng)  # = one generate_maze per class, in one compiled call
    if edges is not None:
        # parts just drawn need no checks: the edges go from lower to higher ids (layered, chain), the arrays have the
        # draws' dtypes and shapes, rewards lie in the config's positive range, speeds are positive (the config bounds
        # the spread), every group has an agent and task_class indexes the mazes (one per class). Rechecking them was
        # a tenth of a small reset's instance generation.
        parts = (rewards, task_group, task_class, agent_group, agent_speed, mazes)
        return _instance(edges, edges.n_tasks, edges.sources, edges.targets, *parts, n_groups=config.n_groups)
    assert graph is not None
    return assemble_instance(
        graph, rewards, task_group, task_class, agent_group, agent_speed, mazes, n_groups=config.n_groups
    )


def _instance(
    graph: nx.DiGraph | TaskEdges,
    n_tasks: int,
    sources: np.ndarray,
    targets: np.ndarray,
    rewards: np.ndarray,
    task_group: np.ndarray,
    task_class: np.ndarray,
    agent_group: np.ndarray,
    agent_speed: np.ndarray,
    mazes: tuple[Maze, ...],
    *,
    n_groups: int,
) -> Instance:
    """The :class:`Instance` of checked parts, with the DAG's predecessor and successor lists built from its edges."""
    pred_indptr, pred_indices = _csr(n_tasks, targets, sources)
    succ_indptr, succ_indices = _csr(n_tasks, sources, targets)
    return Instance(
        graph=graph,
        rewards=rewards,
        task_group=task_group,
        task_class=task_class,
        pred_indptr=pred_indptr,
        pred_indices=pred_indices,
        succ_indptr=succ_indptr,
        succ_indices=succ_indices,
        agent_group=agent_group,
        agent_speed=agent_speed,
        mazes=mazes,
        n_groups=int(n_groups),
    )


def _csr(n: int, sources: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((targets, sources))
    counts = np.bincount(sources, minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=indptr[1:])
    return indptr, targets[order].astype(np.int32)


def assemble_instance(
    graph: nx.DiGraph,
    rewards,
    task_group,
    task_class,
    agent_group,
    agent_speed,
    mazes: tuple[Maze, ...] | list[Maze],
    *,
    n_groups: int,
) -> Instance:
    """Build and check an :class:`Instance` from its parts (nodes of ``graph`` must be 0..m-1)."""
    n_tasks = graph.number_of_nodes()
    if sorted(graph.nodes) != list(range(n_tasks)):
        raise ValueError("instance graph: nodes must be the integers 0..m-1")
    edges = np.array(list(graph.edges), dtype=np.int64).reshape(-1, 2)
    backwards = edges[:, 0] >= edges[:, 1]
    if n_tasks == 0 or not graph.is_directed() or backwards.any():
        # a graph with every edge forward is acyclic: the full check (and its cycle report) only when one is not
        validate_dag(graph, "instance graph")
    if backwards.any():  # the core, the lower bound and the observations rely on a topological numbering
        raise ValueError(
            f"instance graph: edge {tuple(edges[np.argmax(backwards)].tolist())} goes from a higher to a lower id; "
            "number the tasks topologically (every edge u -> v with u < v), e.g. with networkx.topological_sort"
        )
    rewards = np.asarray(rewards, dtype=np.float64)
    task_group = np.asarray(task_group, dtype=np.int32)
    task_class = np.asarray(task_class, dtype=np.int32)
    agent_group = np.asarray(agent_group, dtype=np.int32)
    agent_speed = np.asarray(agent_speed, dtype=np.float64)
    mazes = tuple(mazes)
    for name, array, length in (
        ("rewards", rewards, n_tasks),
        ("task_group", task_group, n_tasks),
        ("task_class", task_class, n_tasks),
        ("agent_speed", agent_speed, len(agent_group)),
    ):
        if array.shape != (length,):
            raise ValueError(f"instance {name}: expected shape ({length},), got {array.shape}")
    if np.any(rewards <= 0):
        raise ValueError("instance rewards: every reward must be > 0")
    if np.any(agent_speed <= 0):
        raise ValueError("instance agent_speed: every speed must be > 0")
    if task_group.size and (task_group.min() < 0 or task_group.max() >= n_groups):
        raise ValueError(f"instance task_group: values must lie in [0, {n_groups})")
    if agent_group.size == 0 or agent_group.min() < 0 or agent_group.max() >= n_groups:
        raise ValueError(f"instance agent_group: values must lie in [0, {n_groups})")
    if len(np.unique(agent_group)) != n_groups:
        raise ValueError("instance agent_group: every group needs at least one agent")
    if task_class.size and (task_class.min() < 0 or task_class.max() >= len(mazes)):
        raise ValueError(f"instance task_class: values must index the {len(mazes)} mazes")
    parts = (rewards, task_group, task_class, agent_group, agent_speed, mazes)
    return _instance(graph, n_tasks, edges[:, 0], edges[:, 1], *parts, n_groups=n_groups)

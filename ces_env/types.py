"""Data types shared by the generator, the simulator core and the environment (shapes in the comments).

m = number of tasks, n = number of agents, l = number of groups, c = number of inference classes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol, overload

import networkx as nx
import numpy as np

from ces_env.maze import Maze


class TaskStatus(IntEnum):
    BLOCKED = 0  # some dependency not completed
    READY = 1  # every dependency completed, nobody holds it
    CLAIMED = 2  # reserved by a controller or claimed by an agent, execution not started
    RUNNING = 3  # being explored or replayed
    VALIDATING = 4  # solution submitted, validation pending
    DONE = 5  # validated and rewarded


class AgentStatus(IntEnum):
    IDLE = 0  # available: deciding, parked (no ready task) or waiting by choice
    QUEUED = 1  # centralized: request waiting or being served at the group controller
    CLAIMING = 2  # decentralized: claim broadcast, waiting for the claim latency
    EXPLORING = 3  # exploring a maze (automatic mode)
    STEERING = 4  # exploring a maze move by move (steered mode)
    REPLAYING = 5  # walking a known solution
    VALIDATING = 6  # solution submitted (queued at the controller or with the peers)
    FINISHED = 7  # its group has completed all of its tasks


# The statuses as plain ints, for the simulator's and the protocols' per-event code: on Python 3.11 every
# ``AgentStatus.X`` lookup goes through ``EnumType.__getattr__`` (about a microsecond, 200,000 of them in a profile of
# 20,000 decisions), and the status arrays hold plain int8 values anyway.
TASK_BLOCKED = int(TaskStatus.BLOCKED)
TASK_READY = int(TaskStatus.READY)
TASK_CLAIMED = int(TaskStatus.CLAIMED)
TASK_RUNNING = int(TaskStatus.RUNNING)
TASK_VALIDATING = int(TaskStatus.VALIDATING)
TASK_DONE = int(TaskStatus.DONE)
AGENT_IDLE = int(AgentStatus.IDLE)
AGENT_QUEUED = int(AgentStatus.QUEUED)
AGENT_CLAIMING = int(AgentStatus.CLAIMING)
AGENT_EXPLORING = int(AgentStatus.EXPLORING)
AGENT_STEERING = int(AgentStatus.STEERING)
AGENT_REPLAYING = int(AgentStatus.REPLAYING)
AGENT_VALIDATING = int(AgentStatus.VALIDATING)
AGENT_FINISHED = int(AgentStatus.FINISHED)


class DeferredGraph(Protocol):
    """A task DAG not yet built as a networkx graph (e.g. :class:`ces_env.graphs.TaskEdges`)."""

    def to_graph(self) -> nx.DiGraph: ...


class _GraphField:
    """``Instance.graph``: holds a DiGraph, or a :class:`DeferredGraph` that becomes one the first time it is read.

    The generator hands over its edge arrays instead of a DiGraph because building the networkx graph cost as much as
    drawing it at every reset, and nothing on a reset's path reads it (the simulator, the lower bound and the
    observations read the CSR arrays). Readers still always get a DiGraph, built once and kept. Reading the
    descriptor on the class raises AttributeError, so that the dataclass field keeps no default (Python's rule for
    descriptor-typed fields)."""

    @overload
    def __get__(self, instance: None, owner: Any = None) -> _GraphField: ...

    @overload
    def __get__(self, instance: Instance, owner: Any = None) -> nx.DiGraph: ...

    def __get__(self, instance: Instance | None, owner: Any = None) -> nx.DiGraph | _GraphField:
        if instance is None:
            raise AttributeError("Instance.graph has no class-level value")
        stored = instance.__dict__["_graph"]
        if isinstance(stored, nx.DiGraph):
            return stored
        graph = stored.to_graph()
        instance.__dict__["_graph"] = graph  # the instance is frozen for users; this only caches what it holds
        return graph

    def __set__(self, instance: Instance, value: nx.DiGraph | DeferredGraph) -> None:
        # reached from the dataclass __init__ only: a frozen dataclass refuses assignment before any descriptor
        instance.__dict__["_graph"] = value


@dataclass(frozen=True)
class Instance:
    """One problem instance: everything drawn from the seed before time starts. Immutable; reset can reuse it."""

    rewards: np.ndarray  # (m,) float64 > 0
    task_group: np.ndarray  # (m,) int32 in [0, l): the partition lambda
    task_class: np.ndarray  # (m,) int32 in [0, c): inference class (tasks of a class share a maze)
    pred_indptr: np.ndarray  # (m+1,) int32 CSR of predecessors (the dependency sets d_j)
    pred_indices: np.ndarray  # (E,) int32
    succ_indptr: np.ndarray  # (m+1,) int32 CSR of successors (the dependents)
    succ_indices: np.ndarray  # (E,) int32
    agent_group: np.ndarray  # (n,) int32 in [0, l)
    agent_speed: np.ndarray  # (n,) float64 > 0, maze cells per tick
    mazes: tuple[Maze, ...]  # (c,) one maze per inference class
    n_groups: int
    # the task DAG; nodes 0..m-1, every edge goes from a lower to a higher id. Given as a DiGraph or a DeferredGraph
    # (read back as a DiGraph either way); last because mypy takes a descriptor for a default, which must come last
    graph: _GraphField = _GraphField()

    @property
    def n_tasks(self) -> int:
        return int(self.rewards.shape[0])

    @property
    def n_agents(self) -> int:
        return int(self.agent_speed.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.mazes)

    def predecessors(self, task: int) -> np.ndarray:
        return self.pred_indices[self.pred_indptr[task] : self.pred_indptr[task + 1]]

    def successors(self, task: int) -> np.ndarray:
        return self.succ_indices[self.succ_indptr[task] : self.succ_indptr[task + 1]]

    def group_agents(self, group: int) -> np.ndarray:
        return np.flatnonzero(self.agent_group == group)

    def solution_lengths(self) -> np.ndarray:
        """(m,) int64: moves of each task's maze solution (the shortest possible execution). A new array each call;
        computed once per instance (the lower bound and the observations read it at every reset)."""
        return self._solution_lengths.copy()

    @functools.cached_property
    def _solution_lengths(self) -> np.ndarray:
        # cached_property writes the instance's __dict__ directly, which a frozen dataclass allows
        per_class = np.array([len(maze.solution) - 1 for maze in self.mazes], dtype=np.int64)
        return per_class[self.task_class]

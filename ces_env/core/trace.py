"""The trace of one episode: what every agent, task and controller did, tick by tick, for charts and analyses.

Tracing is off by default and then costs nothing but an ``is not None`` test per event: the simulator holds
``trace=None``. With ``CESSimulator(..., trace=True)`` (or ``ces_env.parallel_env(..., trace=True)``) the simulator
calls :meth:`Trace.record` before time moves on and after every event; the trace compares the simulator's public
arrays (agent status and task, task status, steered moves) with its last copy and appends what changed. Comparing
arrays instead of hooking every assignment keeps the hooks to two lines in the simulator, and any control protocol,
including ones written later, is traced without changes. What the arrays do not show is reported by the two CES
protocols: a controller's service periods (:meth:`Trace.service`) and lost claims (:meth:`Trace.conflict`); another
protocol reports its own by calling the same two methods when ``sim.trace is not None``.

Changes that undo each other between two records (within one tick) are not seen; they last no time. Everything read
from a trace is an interval or an instant on the simulator's clock; the reading methods bring the trace up to date
with the simulator first, so they may be called at any time (the open intervals end at the current tick).

The trace never feeds the dynamics back: an episode with tracing on is step-for-step the one with tracing off
(``tests/test_trace.py``), and the metrics recomputed from a trace equal :func:`ces_env.core.metrics.episode_metrics`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ces_env.types import AgentStatus, TaskStatus

if TYPE_CHECKING:
    from ces_env.core.simulator import CESSimulator

WORK_STATUSES = (AgentStatus.EXPLORING, AgentStatus.REPLAYING)
"""Statuses whose every tick is work (a steering agent works only while it moves)."""


class AgentChange(NamedTuple):
    """At ``tick`` the agent's status or task became ``status``/``task`` (task -1: none)."""

    tick: int
    agent: int
    status: int
    task: int


class TaskChange(NamedTuple):
    """At ``tick`` the task's status became ``status``; ``holder`` is the agent holding it then (-1: nobody)."""

    tick: int
    task: int
    status: int
    holder: int


class Move(NamedTuple):
    """Steered mode: at ``tick`` the agent started a move into ``cell``, arriving ``ticks`` later."""

    tick: int
    agent: int
    cell: int
    ticks: int


class Service(NamedTuple):
    """A group controller served ``agent`` from ``start`` to ``end`` (planned; a truncation may cut it short)."""

    group: int
    start: int
    end: int
    kind: str  # "assign" or "validate"
    agent: int
    task: int


class Conflict(NamedTuple):
    """At ``tick`` the agent claimed ``task`` although an earlier claim (not yet visible to it) held it."""

    tick: int
    agent: int
    task: int


class AgentInterval(NamedTuple):
    """The agent had ``status`` and ``task`` during ``[start, end)``."""

    agent: int
    start: int
    end: int
    status: AgentStatus
    task: int


class Validation(NamedTuple):
    """At ``tick`` the solution of ``agent`` for ``task`` was accepted (task done) or rejected (task ready again)."""

    tick: int
    agent: int
    task: int
    accepted: bool


class Claim(NamedTuple):
    """At ``tick`` the agent claimed ``task`` (decentralized control); ``won`` is False for a conflict."""

    tick: int
    agent: int
    task: int
    won: bool


class Trace:
    """Records the changes of one simulator's state; see the module docstring."""

    def __init__(self, sim: CESSimulator) -> None:
        self._sim = sim
        n, m = sim.instance.n_agents, sim.instance.n_tasks
        self.agent_changes: list[AgentChange] = []
        self.task_changes: list[TaskChange] = []
        self.moves: list[Move] = []
        self.services: list[Service] = []
        self.conflicts: list[Conflict] = []
        # last seen copies; impossible values so that the first record logs every agent and task at tick 0
        self._agent_status = np.full(n, -1, dtype=sim.agent_status.dtype)
        self._agent_task = np.full(n, -2, dtype=sim.agent_task.dtype)
        self._task_status = np.full(m, -1, dtype=sim.task_status.dtype)
        self._steer_moves = sim.steer_moves.copy()
        self.record(sim.time)

    # -------------------------------------------------------------------------------------------- recording
    def record(self, tick: int) -> None:
        """Append what changed in the simulator's arrays since the last record, as happening at ``tick``."""
        sim = self._sim
        if sim.steered:
            self._record_moves(tick)
        status, task = sim.agent_status, sim.agent_task
        changed = np.flatnonzero((status != self._agent_status) | (task != self._agent_task))
        if changed.size:
            self.agent_changes.extend(
                AgentChange(tick, a, s, t)
                for a, s, t in zip(changed.tolist(), status[changed].tolist(), task[changed].tolist(), strict=True)
            )
            self._agent_status[changed] = status[changed]
            self._agent_task[changed] = task[changed]
        task_status = sim.task_status
        changed = np.flatnonzero(task_status != self._task_status)
        if changed.size:
            self.task_changes.extend(
                TaskChange(tick, t, s, h)
                for t, s, h in zip(
                    changed.tolist(), task_status[changed].tolist(), sim.task_holder[changed].tolist(), strict=True
                )
            )
            self._task_status[changed] = task_status[changed]

    def _record_moves(self, tick: int) -> None:
        """A steering agent's move count rises by one per move (it restarts at 0 with each execution)."""
        sim = self._sim
        changed = np.flatnonzero(sim.steer_moves != self._steer_moves)
        for agent in changed.tolist():
            if sim.steer_moves[agent] > 0:
                self.moves.append(Move(tick, agent, int(sim.position[agent]), int(sim.move_ticks[agent])))
        self._steer_moves[changed] = sim.steer_moves[changed]

    def service(self, group: int, start: int, end: int, validate: bool, agent: int) -> None:
        """Called by a controller starting a service (an assignment, or a validation if ``validate``)."""
        task = int(self._sim.agent_task[agent])
        self.services.append(Service(group, start, end, "validate" if validate else "assign", agent, task))

    def conflict(self, tick: int, agent: int, task: int) -> None:
        """Called by a protocol when a claim loses to an earlier one on the same task."""
        self.conflicts.append(Conflict(tick, agent, task))

    # -------------------------------------------------------------------------------------------- reading
    @property
    def now(self) -> int:
        """The simulator's current tick (the episode's ET once it has terminated): open intervals end here."""
        return int(self._sim.time)

    @property
    def start_time(self) -> int:
        """The tick execution starts, after the split overhead."""
        return int(self._sim.start_time)

    def sync(self) -> None:
        """Bring the trace up to date (changes since the last event, e.g. decisions of the current step)."""
        self.record(self._sim.time)

    def agent_intervals(self) -> list[AgentInterval]:
        """Every agent's statuses as intervals of non-zero length, by agent then time; the last ends now."""
        self.sync()
        now = self.now
        by_agent: list[list[AgentChange]] = [[] for _ in range(self._sim.instance.n_agents)]
        for change in self.agent_changes:
            by_agent[change.agent].append(change)
        intervals = []
        for changes in by_agent:
            for change, following in zip(changes, changes[1:] + [None], strict=True):
                end = now if following is None else following.tick
                if end > change.tick:
                    intervals.append(
                        AgentInterval(change.agent, change.tick, end, AgentStatus(change.status), change.task)
                    )
        return intervals

    def task_times(self, status: TaskStatus, first: bool = True) -> np.ndarray:
        """(m,) the first (or last) tick each task entered ``status``; -1 if it never did."""
        self.sync()
        times = np.full(self._sim.instance.n_tasks, -1, dtype=np.int64)
        for change in self.task_changes if first else reversed(self.task_changes):
            if change.status == status and times[change.task] < 0:
                times[change.task] = change.tick
        return times

    def ready_times(self) -> np.ndarray:
        """(m,) the tick each task first became ready (0 for tasks without dependencies), -1 if never."""
        return self.task_times(TaskStatus.READY)

    def done_times(self) -> np.ndarray:
        """(m,) the tick each task was completed (its solution validated), -1 if not (yet)."""
        return self.task_times(TaskStatus.DONE)

    def validations(self) -> list[Validation]:
        """Every concluded validation: a validating task that became done (accepted) or ready again (rejected)."""
        self.sync()
        holder = np.full(self._sim.instance.n_tasks, -1, dtype=np.int64)
        previous = np.full(self._sim.instance.n_tasks, -1, dtype=np.int64)
        out = []
        for change in self.task_changes:
            if previous[change.task] == TaskStatus.VALIDATING and change.status in (TaskStatus.DONE, TaskStatus.READY):
                accepted = change.status == TaskStatus.DONE
                out.append(Validation(change.tick, int(holder[change.task]), change.task, accepted))
            previous[change.task] = change.status
            holder[change.task] = change.holder
        return out

    def claims(self) -> list[Claim]:
        """Every claim (an agent entering ``CLAIMING``), with ``won=False`` for those that conflicted."""
        self.sync()
        lost = {(c.tick, c.agent, c.task) for c in self.conflicts}
        return [
            Claim(c.tick, c.agent, c.task, (c.tick, c.agent, c.task) not in lost)
            for c in self.agent_changes
            if c.status == AgentStatus.CLAIMING
        ]

    def group_end_times(self) -> np.ndarray:
        """(l,) the tick each group completed its last task (``ET_g``); now for a group not done yet; the start
        tick for a group without tasks."""
        inst = self._sim.instance
        done = self.done_times()
        ends = np.full(inst.n_groups, self.start_time, dtype=np.int64)
        for group in range(inst.n_groups):
            times = done[inst.task_group == group]
            if times.size:
                ends[group] = self.now if (times < 0).any() else int(times.max())
        return ends

    def work_ticks(self) -> np.ndarray:
        """(n,) ticks each agent spent moving in mazes: exploring and replaying intervals, and steered moves (a
        move in progress counts as far as it got)."""
        work = np.zeros(self._sim.instance.n_agents, dtype=np.int64)
        for interval in self.agent_intervals():
            if interval.status in WORK_STATUSES:
                work[interval.agent] += interval.end - interval.start
        now = self.now
        for move in self.moves:
            work[move.agent] += min(move.ticks, now - move.tick)
        return work

    def waiting_ticks(self) -> np.ndarray:
        """(n,) ticks each agent did not move in a maze while its group had unfinished tasks (between the start and
        its group's end): idle, queued, claiming, awaiting validation, or standing still while steering."""
        inst = self._sim.instance
        ends = self.group_end_times()
        waiting = np.zeros(inst.n_agents, dtype=np.int64)
        for interval in self.agent_intervals():
            if interval.status in WORK_STATUSES:
                continue
            end = int(ends[inst.agent_group[interval.agent]])
            waiting[interval.agent] += max(0, min(interval.end, end) - max(interval.start, self.start_time))
        now = self.now
        for move in self.moves:  # a steering interval is waiting except while the agent moves
            waiting[move.agent] -= min(move.ticks, now - move.tick)
        return waiting

    def controller_busy_ticks(self) -> np.ndarray:
        """(l,) ticks each group's controller spent serving up to now (0 for protocols without a controller)."""
        busy = np.zeros(self._sim.instance.n_groups, dtype=np.int64)
        now = self.now
        for service in self.services:
            busy[service.group] += max(0, min(service.end, now) - service.start)
        return busy


__all__ = [
    "AgentChange",
    "AgentInterval",
    "Claim",
    "Conflict",
    "Move",
    "Service",
    "TaskChange",
    "Trace",
    "Validation",
]

"""A single server per group that serves jobs first in, first out: the group entity of Algorithm 1 as a resource.

A protocol that keeps some work at one entity per group (validation, knowledge sharing, ...) pushes ``(kind, agent,
ticks)`` jobs onto the group's queue; the server serves one job at a time, each for its ``ticks``, and calls the
protocol back when a job is done. Busy time and queue lengths feed ``controller_utilization``, the observations and
the viewer, like a controller's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ces_env.core.simulator import CESSimulator

JobDone = Callable[[int, int, int], None]
"""Called with (group, kind, agent) when the server has finished a job."""


class FifoServer:
    """One FIFO single server per group. ``kind`` is the protocol's own job label (e.g. validate, share); a job
    pushed with ``front=True`` is served next (work the entity does at once, such as sharing what it just validated)."""

    def __init__(self, sim: CESSimulator, on_done: JobDone, validate_kinds: frozenset[int] = frozenset()) -> None:
        n_groups = sim.instance.n_groups
        self.sim = sim
        self.queue: list[deque[tuple[int, int, int]]] = [deque() for _ in range(n_groups)]
        self.job: list[tuple[int, int] | None] = [None] * n_groups  # (kind, agent) in service
        self.served_ticks = np.zeros(n_groups, dtype=np.int64)  # completed service time
        self.job_start = np.zeros(n_groups, dtype=np.int64)
        self._on_done = on_done
        self._validate_kinds = validate_kinds  # kinds the trace labels "validate" (the others "assign")

    def push(self, group: int, kind: int, agent: int, ticks: int, front: bool = False) -> None:
        """Queue a job of ``ticks`` at ``group``'s server (at the back, or next if ``front``) and serve if idle."""
        if front:
            self.queue[group].appendleft((kind, agent, ticks))
        else:
            self.queue[group].append((kind, agent, ticks))
        self.serve_next(group)

    def serve_next(self, group: int) -> None:
        """Start the next queued job if the server is idle."""
        if self.job[group] is not None or not self.queue[group]:
            return
        kind, agent, ticks = self.queue[group].popleft()
        sim = self.sim
        self.job[group] = (kind, agent)
        self.job_start[group] = sim.time
        if sim.trace is not None:
            sim.trace.service(group, sim.time, sim.time + ticks, kind in self._validate_kinds, agent)
        sim.schedule(sim.time + ticks, self._done, group)

    def clear(self, group: int) -> None:
        """Drop the jobs still queued at ``group``'s server (its group is done)."""
        self.queue[group].clear()

    def queue_lengths(self) -> np.ndarray:
        return np.array([len(q) for q in self.queue], dtype=np.int64)

    def busy_ticks(self) -> np.ndarray:
        busy = self.served_ticks.copy()
        serving = np.array([job is not None for job in self.job])
        busy[serving] += self.sim.time - self.job_start[serving]  # service in progress, up to now
        return busy

    def _done(self, group: int) -> None:
        job = self.job[group]
        assert job is not None, "a server finished a job it never started"
        kind, agent = job
        self.job[group] = None
        self.served_ticks[group] += self.sim.time - self.job_start[group]
        self._on_done(group, kind, agent)
        if not self.sim.terminated:
            self.serve_next(group)


__all__ = ["FifoServer", "JobDone"]

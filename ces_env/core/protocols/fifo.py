"""A single server per group that serves jobs first in, first out: the group entity of Algorithm 1 as a resource.

(The compiled engine, :mod:`ces_env.core.compiled.engine`, has its own copy of this server as ring buffers for the two
CES controls, without outages; ``tests/core/test_compiled_engine.py`` keeps the two equal.)

A protocol that keeps some work at one entity per group (assignment, validation, knowledge sharing, ...) pushes
``(kind, agent, ticks)`` jobs onto the group's queue; the server serves one job at a time, each for its ``ticks``, and
calls the protocol back when a job is done. Busy time and queue lengths feed ``controller_utilization``, the
observations and the viewer. Three things serve the centralized controller and cost nothing to the others:

* **a job that needs a decision** (pushed with ``ticks=None``, e.g. an assignment the policy makes): when it reaches
  the head of an idle server, the protocol's ``admit`` hook is asked. It may *hold* the server (nothing else is
  served) until the decision arrives: :meth:`FifoServer.start` then serves the decided job, :meth:`FifoServer.release`
  moves on without it. Or it drops the job (parked or finished by the protocol) and the server goes on;
* **an outage**: :meth:`FifoServer.fail` stops the server; the job in service is lost (its event never concludes) and
  redone from scratch by :meth:`FifoServer.restore`, after which the queue is served again. Jobs keep queueing;
* **a job queued without serving** (``push(..., serve=False)``): work the protocol adds while it handles a finished
  job (sharing what it just validated), served when that handling is over, like any job the server moves on to.
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
Admit = Callable[[int, int, int], bool]
"""Called with (group, kind, agent) when a job pushed with ``ticks=None`` reaches the head of an idle server. True:
the server holds for the decision (until :meth:`FifoServer.start` or :meth:`FifoServer.release`); False: the job is
dropped (the protocol has put it aside) and the server serves the next one."""


def _never(group: int, kind: int, agent: int) -> bool:
    raise AssertionError("a job without a service time reached a server that has no admit hook")


class FifoServer:
    """One FIFO single server per group. ``kind`` is the protocol's own job label (e.g. validate, share); a job
    pushed with ``front=True`` is served next (work the entity does at once, such as sharing what it just validated).
    ``validate_kinds`` are the kinds the trace labels "validate" (the others "assign")."""

    def __init__(
        self,
        sim: CESSimulator,
        on_done: JobDone,
        validate_kinds: frozenset[int] = frozenset(),
        admit: Admit = _never,
    ) -> None:
        n_groups = sim.instance.n_groups
        self.sim = sim
        self.queue: list[deque[tuple[int, int, int | None]]] = [deque() for _ in range(n_groups)]
        self.job: list[tuple[int, int, int] | None] = [None] * n_groups  # (kind, agent, ticks) in service
        self.held = np.zeros(n_groups, dtype=bool)  # waiting for the decision on a job at its head
        self.down = np.zeros(n_groups, dtype=bool)  # failed: serves nothing until restored
        self.interrupted: list[tuple[int, int, int] | None] = [None] * n_groups  # a job lost to an outage, to redo
        self.served_ticks = np.zeros(n_groups, dtype=np.int64)  # completed (and lost) service time
        self.job_start = np.zeros(n_groups, dtype=np.int64)
        # service tokens: a service event carries token * n_groups + group; a service lost to an outage never concludes
        self._token = np.zeros(n_groups, dtype=np.int64)
        self._on_done = on_done
        self._admit = admit
        self._validate_kinds = validate_kinds

    def push(
        self, group: int, kind: int, agent: int, ticks: int | None, front: bool = False, serve: bool = True
    ) -> None:
        """Queue a job of ``ticks`` (None: decided when it reaches the head, see ``admit``) at ``group``'s server, at
        the back or next if ``front``; serve at once if idle, unless ``serve=False``."""
        if front:
            self.queue[group].appendleft((kind, agent, ticks))
        else:
            self.queue[group].append((kind, agent, ticks))
        if serve:
            self.serve_next(group)

    def serve_next(self, group: int) -> None:
        """Start the next queued job if the server is up, idle and not holding for a decision."""
        queue = self.queue[group]
        # the queue first: it is often empty, and the other tests index numpy arrays (side-effect free, any order)
        while queue and self.job[group] is None and not self.held[group] and not self.down[group]:
            kind, agent, ticks = queue.popleft()
            if ticks is None:
                self.held[group] = self._admit(group, kind, agent)
            else:
                self._start(group, kind, agent, ticks)

    def start(self, group: int, kind: int, agent: int, ticks: int) -> None:
        """Serve the job the server was holding for, now decided (if the server has failed meanwhile, it is redone
        when the server is restored)."""
        self.held[group] = False
        if self.down[group]:
            self.interrupted[group] = (kind, agent, ticks)
        else:
            self._start(group, kind, agent, ticks)

    def release(self, group: int) -> None:
        """Stop holding (the decision was not to serve the job) and serve the next one."""
        self.held[group] = False
        self.serve_next(group)

    def discard(self, group: int, kind: int, agent: int) -> None:
        """Drop ``agent``'s queued jobs of ``kind`` (an agent that crashed no longer waits for them)."""
        queue = self.queue[group]
        if any(job[0] == kind and job[1] == agent for job in queue):
            self.queue[group] = deque(job for job in queue if job[0] != kind or job[1] != agent)

    def clear(self, group: int) -> None:
        """Drop what ``group``'s server still had to do: its queue, a decision it held for, a job lost to an outage
        (its group is done)."""
        self.queue[group].clear()
        self.held[group] = False
        self.interrupted[group] = None

    def fail(self, group: int) -> None:
        """The server stops: the job in service is lost (its time counts as busy) and redone after :meth:`restore`."""
        self.down[group] = True
        job = self.job[group]
        if job is not None:
            self.served_ticks[group] += self.sim.time - self.job_start[group]
            self.interrupted[group] = job
            self.job[group] = None
            self._token[group] += 1

    def restore(self, group: int, serve: bool = True) -> None:
        """The server is back: it redoes the job an outage lost, or serves its queue (neither if ``serve=False``:
        its group is done)."""
        self.down[group] = False
        if not serve:
            return
        lost, self.interrupted[group] = self.interrupted[group], None
        if lost is not None:
            self._start(group, *lost)
        else:
            self.serve_next(group)

    def queue_lengths(self) -> np.ndarray:
        return np.array([len(q) for q in self.queue], dtype=np.int64)

    def busy_ticks(self) -> np.ndarray:
        busy = self.served_ticks.copy()
        serving = np.array([job is not None for job in self.job])
        busy[serving] += self.sim.time - self.job_start[serving]  # service in progress, up to now
        return busy

    def _start(self, group: int, kind: int, agent: int, ticks: int) -> None:
        sim = self.sim
        self.job[group] = (kind, agent, ticks)
        self.job_start[group] = sim.time
        if sim.trace is not None:
            sim.trace.service(group, sim.time, sim.time + ticks, kind in self._validate_kinds, agent)
        self._token[group] += 1
        sim.schedule(sim.time + ticks, self._done, int(self._token[group]) * len(self.job) + group)

    def _done(self, event: int) -> None:
        token, group = divmod(event, len(self.job))
        if token != self._token[group]:  # a service lost to an outage
            return
        job = self.job[group]
        assert job is not None, "a server finished a job it never started"
        kind, agent, _ = job
        self.job[group] = None
        self.served_ticks[group] += self.sim.time - self.job_start[group]
        self._on_done(group, kind, agent)
        if not self.sim.terminated:
            self.serve_next(group)


__all__ = ["FifoServer", "JobDone", "Admit"]

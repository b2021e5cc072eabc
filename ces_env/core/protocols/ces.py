"""The paper's two group controls (CES): a centralized controller per group, and decentralized claiming.

Both are mirrored by the compiled engine (:mod:`ces_env.core.compiled.engine`, which runs them by default): a change
to their dynamics here must be made there too (``tests/core/test_compiled_engine.py`` compares the two engines).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ces_env.core.protocols.base import ControlProtocol, register_control
from ces_env.core.protocols.fifo import FifoServer
from ces_env.types import AGENT_CLAIMING, AGENT_FINISHED, AGENT_IDLE, AGENT_QUEUED, TASK_CLAIMED, TASK_READY, Instance

if TYPE_CHECKING:
    from ces_env.config import CESConfig
    from ces_env.core.simulator import CESSimulator

# controller jobs
_ASSIGN, _VALIDATE, _SHARE = 0, 1, 2


@register_control
class CentralizedControl(ControlProtocol):
    """One controller per group, a FIFO single server that assigns tasks and validates solutions.

    An available agent sends a request (1 message) that joins its group's queue. When the request reaches the head,
    the controller decides (the policy plays the controller for that agent) and spends ``assign_service_ticks`` on the
    assignment (1 message back); the task is reserved at once, so no conflict is possible. A finished agent's solution
    (1 message) joins the same queue and costs ``validate_service_ticks``; the verdict goes back (1 message). If no
    task is ready the controller parks the request and serves it again when a task of the group becomes ready.
    Requests and validations wait behind each other: the queue is the bottleneck of many agents.

    **Controller outage** (config ``controller_outage_*``): from ``controller_outage_start`` the controller of the
    chosen group (or of every group) serves nothing; requests and solutions keep queueing, and a service in progress
    is lost and redone when service resumes (the reservation of an assignment is kept). Service resumes after
    ``controller_outage_ticks``, or once an election (``election_timeout_ticks`` of silence, then ``election_ticks``
    and ``2(s-1)`` messages) has installed a new controller, whichever comes first. Down for good with no election:
    :meth:`blocked_reason` says ``"controller_down"`` and the simulator truncates the episode once nothing else can
    happen.
    """

    name: ClassVar[str] = "centralized"
    description: ClassVar[str] = "a FIFO controller per group assigns tasks and validates solutions"

    def __init__(self, sim: CESSimulator) -> None:
        super().__init__(sim)
        n_groups = sim.instance.n_groups
        # the controller is the shared FIFO single server (ces_env.core.protocols.fifo); an assignment request is a
        # job without a service time: at the head it holds the server until the policy has decided (see _admit)
        self.server = FifoServer(sim, self._service_done, frozenset({_VALIDATE, _SHARE}), admit=self._admit)
        # per group, the agent whose assignment the policy decides (-1: none); a list, not an array: it is read at
        # every event (has_deciders) and numpy's per-call overhead on a few elements dominated that
        self.deciding: list[int] = [-1] * n_groups
        self.parked: list[list[int]] = [[] for _ in range(n_groups)]
        self._down_since = np.zeros(n_groups, dtype=np.int64)
        self._down_ticks = np.zeros(n_groups, dtype=np.int64)
        self._restoring = np.zeros(n_groups, dtype=bool)  # an outage end or an election is on its way
        start = sim.config.controller_outage_start
        if start is not None:
            which = sim.config.controller_outage_group
            for group in range(n_groups) if which is None else [which]:
                sim.schedule(start, self._fail, group)

    def agent_available(self, agent: int) -> None:
        group = int(self.sim.instance.agent_group[agent])
        self.sim.add_messages(1)  # the request to the controller
        self.sim.agent_status[agent] = AGENT_QUEUED
        self.server.push(group, _ASSIGN, agent, None)

    def task_deciders(self) -> list[int]:
        return sorted(a for a in self.deciding if a >= 0)

    def has_deciders(self) -> bool:
        return max(self.deciding, default=-1) >= 0

    def choose(self, agent: int, task: int) -> None:
        group = int(self.sim.instance.agent_group[agent])
        self.deciding[group] = -1
        self.sim.reserve(task, agent)  # the controller knows its own reservations: no conflict is possible
        self.server.start(group, _ASSIGN, agent, self.sim.config.assign_service_ticks)

    def decline(self, agent: int) -> None:
        group = int(self.sim.instance.agent_group[agent])
        if self.deciding[group] == agent:
            self.deciding[group] = -1  # the controller keeps the request aside and serves its next job
            self.server.release(group)

    def resume(self, agent: int) -> None:
        """The controller still holds the request: it queues again, with no new message."""
        group = int(self.sim.instance.agent_group[agent])
        self.server.push(group, _ASSIGN, agent, None)

    def submit(self, agent: int) -> None:
        group = int(self.sim.instance.agent_group[agent])
        self.sim.add_messages(1)  # the solution to the controller
        self.server.push(group, _VALIDATE, agent, self.sim.config.validate_service_ticks)

    def tasks_ready(self, group: int) -> None:
        waiting, self.parked[group] = self.parked[group], []
        for agent in sorted(waiting):
            self.server.push(group, _ASSIGN, agent, None, serve=False)  # the controller still holds the request
        if waiting:
            self.server.serve_next(group)

    def group_finished(self, group: int) -> None:
        self.parked[group].clear()
        self.server.clear(group)
        self.deciding[group] = -1

    def knowledge_shared(self, group: int, agent: int, ticks: int) -> None:
        """The controller sends the solution it just validated to each recipient before its next job."""
        if ticks > 0:
            self.server.push(group, _SHARE, agent, ticks, front=True, serve=False)

    def agent_crashed(self, agent: int) -> None:
        group = int(self.sim.instance.agent_group[agent])
        self.server.discard(group, _ASSIGN, agent)
        if agent in self.parked[group]:
            self.parked[group].remove(agent)
        if self.deciding[group] == agent:
            self.deciding[group] = -1
            self.server.release(group)

    def blocked_reason(self) -> str | None:
        remaining = self.sim.group_remaining > 0
        return "controller_down" if bool((self.server.down & ~self._restoring & remaining).any()) else None

    def controller_down_ticks(self) -> int:
        ongoing = np.where(self.server.down, self.sim.time - self._down_since, 0)
        return int((self._down_ticks + ongoing).sum())

    def queue_lengths(self) -> np.ndarray:
        return self.server.queue_lengths()

    def busy_ticks(self) -> np.ndarray:
        return self.server.busy_ticks()

    @classmethod
    def task_overheads(cls, config: CESConfig) -> tuple[int, int]:
        return config.assign_service_ticks, config.validate_service_ticks

    @classmethod
    def resource_bound(cls, instance: Instance, config: CESConfig) -> int:
        """A group's controller serves each of its tasks' assignment and validation one at a time."""
        per_task = config.assign_service_ticks + config.validate_service_ticks
        tasks_per_group = np.bincount(instance.task_group, minlength=instance.n_groups)
        return int(tasks_per_group.max()) * per_task

    def _admit(self, group: int, kind: int, agent: int) -> bool:
        """An assignment request at the head of the queue: the policy decides it (the server holds), or the agent is
        finished (its group is done) or parked until a task of the group is ready (the server goes on)."""
        if self.sim.group_remaining[group] == 0:
            self.sim.agent_status[agent] = AGENT_FINISHED
            return False
        if len(self.candidates(group)):
            self.deciding[group] = int(agent)
            return True
        self.parked[group].append(agent)
        return False

    def _service_done(self, group: int, kind: int, agent: int) -> None:
        sim = self.sim
        if kind != _SHARE:  # (a share job's messages are counted when the solution is shared)
            sim.add_messages(1)  # the verdict, or the assignment, back to the agent
        if kind == _VALIDATE:
            sim.conclude_validation(agent)
        elif kind == _ASSIGN:
            sim.start_execution(agent, int(sim.agent_task[agent]))

    # -------------------------------------------------------------------------------------------- outage
    def _fail(self, group: int) -> None:
        sim = self.sim
        if self.server.down[group] or sim.group_remaining[group] == 0:
            return
        self._down_since[group] = sim.time
        if sim.faults is not None:
            sim.faults.counts["controller_outages"] += 1
        self.server.fail(group)  # a service in progress is lost: redone from scratch after the outage
        config = sim.config
        if config.controller_outage_ticks is not None:
            self._restoring[group] = True
            sim.schedule(sim.time + config.controller_outage_ticks, self._restore, group)
        if config.election_timeout_ticks is not None:
            self._restoring[group] = True
            sim.schedule(sim.time + config.election_timeout_ticks, self._elect, group)

    def _elect(self, group: int) -> None:
        """The group has heard nothing for the timeout: it elects a new controller (a call and the votes)."""
        sim = self.sim
        if not self.server.down[group] or sim.group_remaining[group] == 0:
            return
        if sim.faults is not None:
            sim.faults.counts["elections"] += 1
        sim.add_messages(2 * (int(sim.group_size[group]) - 1))
        sim.schedule(sim.time + sim.config.election_ticks, self._restore, group)

    def _restore(self, group: int) -> None:
        sim = self.sim
        if not self.server.down[group]:
            return
        self._restoring[group] = False
        self._down_ticks[group] += sim.time - self._down_since[group]
        self.server.restore(group, serve=sim.group_remaining[group] > 0)


@dataclasses.dataclass(frozen=True)
class DecentralizedOptions:
    """Options of ``decentralized`` (config ``control_options``)."""

    validation: str = "peer"
    """Who validates: ``"peer"`` (the peers, ``peer_validate_ticks``, ``2(s-1)`` messages; the default) or
    ``"central"`` (the paper's reading of decentralized control as task *distribution* only: the group entity keeps
    validating, a FIFO single server per group with ``validate_service_ticks`` per solution, 1 message in and 1
    verdict out; with ``share_ticks_per_recipient`` it also sends the solution to the group, busy for it)."""

    def __post_init__(self) -> None:
        if self.validation not in ("peer", "central"):
            raise ValueError(f"option 'validation' must be 'peer' or 'central', got {self.validation!r}")


@register_control
class DecentralizedControl(ControlProtocol):
    """Agents claim ready tasks themselves and validate peer to peer.

    An available agent picks a ready task of its group and broadcasts a claim to its ``s-1`` peers (``s-1``
    messages). The claim takes ``claim_latency_ticks`` to reach everybody: until then the task still looks ready to
    the others (it stays among their candidates), and a second claim on it conflicts. The earliest claim wins (same
    tick: the lower agent id, as decisions are applied in id order); the loser has lost the latency and decides again.
    Validation goes to the peers and their verdicts come back (``2(s-1)`` messages), taking ``peer_validate_ticks``;
    with the option ``validation="central"`` it stays with the group entity instead (:class:`DecentralizedOptions`).
    """

    name: ClassVar[str] = "decentralized"
    description: ClassVar[str] = "agents claim ready tasks (claims propagate with a latency) and validate peer to peer"
    Options: ClassVar[type] = DecentralizedOptions

    def __init__(self, sim: CESSimulator) -> None:
        super().__init__(sim)
        self.central = self.options.validation == "central"
        # the group entity that validates (and shares) under central validation; None: peers validate
        self.validator = FifoServer(sim, self._validator_done, frozenset({_VALIDATE, _SHARE})) if self.central else None
        self.deciding: set[int] = set()
        self.parked: list[list[int]] = [[] for _ in range(sim.instance.n_groups)]
        self.claim_time = np.full(sim.instance.n_tasks, -1, dtype=np.int64)
        self.claim_lost = np.zeros(sim.instance.n_agents, dtype=bool)

    def agent_available(self, agent: int) -> None:
        group = int(self.sim.instance.agent_group[agent])
        self.sim.agent_status[agent] = AGENT_IDLE
        if len(self.candidates(group)):
            self.deciding.add(agent)
        else:
            self.parked[group].append(agent)

    def task_deciders(self) -> list[int]:
        return sorted(self.deciding)

    def has_deciders(self) -> bool:
        return bool(self.deciding)

    def candidates(self, group: int) -> np.ndarray:
        """Ready tasks, and tasks whose claim has not reached the peers yet (claiming one conflicts)."""
        order = self.sim.group_order[group]
        return order[self.candidate_flags(order)]

    def candidate_flags(self, tasks: np.ndarray) -> np.ndarray:
        """Which of ``tasks`` are candidates (the observation builder asks for all groups' tasks at once)."""
        sim = self.sim
        status = sim.task_status[tasks]
        in_flight = (status == TASK_CLAIMED) & (self.claim_time[tasks] + sim.config.claim_latency_ticks > sim.time)
        return (status == TASK_READY) | in_flight

    def choose(self, agent: int, task: int) -> None:
        sim = self.sim
        group = int(sim.instance.agent_group[agent])
        self.deciding.discard(agent)
        sim.add_messages(int(sim.group_size[group]) - 1)  # the claim broadcast
        sim.agent_status[agent] = AGENT_CLAIMING
        if sim.task_status[task] == TASK_READY:
            sim.reserve(task, agent)
            self.claim_time[task] = sim.time
            self.claim_lost[agent] = False
        else:  # an earlier claim, not yet visible, holds the task: this claim will lose
            self.claim_lost[agent] = True
            sim.add_conflict()
            if sim.trace is not None:
                sim.trace.conflict(sim.time, agent, task)
        sim.schedule(sim.time + sim.config.claim_latency_ticks, self._claim_resolved, agent)

    def decline(self, agent: int) -> None:
        self.deciding.discard(agent)

    def submit(self, agent: int) -> None:
        sim = self.sim
        group = int(sim.instance.agent_group[agent])
        if self.validator is not None:
            sim.add_messages(1)  # the solution to the group entity
            self.validator.push(group, _VALIDATE, agent, sim.config.validate_service_ticks)
            return
        sim.add_messages(2 * (int(sim.group_size[group]) - 1))  # the solution to the peers, their verdicts back
        sim.schedule(sim.time + sim.config.peer_validate_ticks, sim.conclude_validation, agent)

    def tasks_ready(self, group: int) -> None:
        waiting, self.parked[group] = self.parked[group], []
        self.deciding.update(waiting)

    def group_finished(self, group: int) -> None:
        self.deciding.difference_update(self.sim.instance.group_agents(group).tolist())
        self.parked[group].clear()
        if self.validator is not None:
            self.validator.clear(group)

    def knowledge_shared(self, group: int, agent: int, ticks: int) -> None:
        """Central validation: the group entity sends the solution it validated, before its next job. Not once the
        group is done: like the centralized controller, whose queue is then cleared, its entity serves nothing more
        (the recipients still learn the solution; only the entity's busy time is at stake)."""
        if self.validator is not None and ticks > 0 and self.sim.group_remaining[group] > 0:
            self.validator.push(group, _SHARE, agent, ticks, front=True)

    def queue_lengths(self) -> np.ndarray:
        return super().queue_lengths() if self.validator is None else self.validator.queue_lengths()

    def busy_ticks(self) -> np.ndarray | None:
        return None if self.validator is None else self.validator.busy_ticks()

    @classmethod
    def resource_bound(cls, instance: Instance, config: CESConfig) -> int:
        """Central validation: a group's entity validates each of its tasks one at a time."""
        if cls.make_options(dict(config.control_options)).validation != "central":
            return 0
        tasks_per_group = np.bincount(instance.task_group, minlength=instance.n_groups)
        return int(tasks_per_group.max()) * config.validate_service_ticks

    def _validator_done(self, group: int, kind: int, agent: int) -> None:
        if kind == _VALIDATE:
            self.sim.add_messages(1)  # the verdict back to the agent
            self.sim.conclude_validation(agent)

    def agent_crashed(self, agent: int) -> None:
        group = int(self.sim.instance.agent_group[agent])
        self.deciding.discard(agent)
        if agent in self.parked[group]:
            self.parked[group].remove(agent)

    @classmethod
    def task_overheads(cls, config: CESConfig) -> tuple[int, int]:
        if cls.make_options(dict(config.control_options)).validation == "central":
            return config.claim_latency_ticks, config.validate_service_ticks
        return config.claim_latency_ticks, config.peer_validate_ticks

    def _claim_resolved(self, agent: int) -> None:
        if self.claim_lost[agent]:
            self.claim_lost[agent] = False
            self.sim.make_available(agent)
        else:
            self.sim.start_execution(agent, int(self.sim.agent_task[agent]))


__all__ = ["CentralizedControl", "DecentralizedControl", "DecentralizedOptions"]

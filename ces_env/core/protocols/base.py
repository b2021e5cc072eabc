"""The base of group control protocols: how a group hands out its ready tasks and validates its agents' solutions.

The simulator (:class:`ces_env.core.simulator.CESSimulator`) owns what every protocol shares: the tasks and their
dependencies, the agents and their executions in the mazes, knowledge, rewards and time. What differs between
centralized control, decentralized claiming, an auction or a failing controller is an object plugged into it, a
:class:`ControlProtocol`, as a ``Scenario`` is plugged into MPE2's ``World``. The simulator calls the protocol's hooks
at fixed points of an agent's cycle and never asks which protocol it runs.

Adding a protocol
-----------------
Write one subclass of :class:`ControlProtocol` and decorate it with :func:`register_control`; its ``name`` is then a
legal value of the config field ``control``. Nothing in the simulator changes. An agent's cycle and the hooks on it:

1. The agent becomes available (start, after a validation, after a lost claim, after waiting): the simulator calls
   :meth:`~ControlProtocol.agent_available`. Set the agent's status (``AgentStatus.IDLE`` or ``QUEUED``) and either
   put it among the deciders (:meth:`~ControlProtocol.task_deciders`) or park it until a task of its group becomes
   ready (:meth:`~ControlProtocol.tasks_ready`).
2. The policy answers for every decider: a task among :meth:`~ControlProtocol.candidates` of the agent's group
   (:meth:`~ControlProtocol.choose`) or wait (:meth:`~ControlProtocol.decline`; the simulator keeps the agent
   waiting until something changes in its group, or for ``wait_ticks``, and then calls
   :meth:`~ControlProtocol.resume`). To hold the task, call :meth:`CESSimulator.reserve`; when the agent may start,
   call :meth:`CESSimulator.start_execution` (at once, or from a timed event). A protocol that overrides
   ``candidates`` also overrides :meth:`~ControlProtocol.candidate_flags` (the same answer for all groups at once,
   which keeps the observation builder free of a loop over groups); otherwise it is asked group by group.
3. The agent finishes its execution: :meth:`~ControlProtocol.submit`. Validate (at once or after a delay) and then
   call :meth:`CESSimulator.conclude_validation`, which checks the path with the real validator, pays or rejects,
   releases dependents and makes the agent available again.
4. A group completes its tasks: :meth:`~ControlProtocol.group_finished` drops whatever the protocol still holds for it.

Time is charged by scheduling the protocol's own events with :meth:`CESSimulator.schedule` (a callable and an
integer argument); messages and conflicts are counted with :meth:`CESSimulator.add_messages` and
:meth:`CESSimulator.add_conflict`. Three class methods give the protocol's share of the analysis, so the lower bound
and the truncation limit stay valid for it: :meth:`~ControlProtocol.task_overheads` (fixed ticks before a task can
start and after it ends), :meth:`~ControlProtocol.resource_bound` (e.g. a single server's total service time) and
:meth:`~ControlProtocol.max_task_overhead`. :meth:`~ControlProtocol.queue_lengths` and
:meth:`~ControlProtocol.busy_ticks` feed the observations, the state, the viewer and ``controller_utilization``.

A protocol may only read the simulator's public arrays and call its public methods; the policy sees the protocol
through the candidates and the action mask only.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ces_env.types import TASK_READY, Instance

if TYPE_CHECKING:
    from ces_env.config import CESConfig
    from ces_env.core.simulator import CESSimulator

Handler = Callable[[int], None]
"""A timed event's action: called with the event's integer argument (an agent, a group or a task)."""


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """A protocol without options of its own."""


class ControlProtocol(ABC):
    """The base class of group control protocols; its module docstring is the guide to writing one.

    The base class implements the parts most protocols share: candidates are the group's ready tasks in candidate
    order (reward descending, then task id), no queue and no controller. It is abstract: a subclass that misses one of
    :meth:`agent_available`, :meth:`task_deciders`, :meth:`choose`, :meth:`decline`, :meth:`submit`,
    :meth:`tasks_ready`, :meth:`group_finished` or :meth:`task_overheads` cannot be built (``TypeError`` naming it).
    """

    name: ClassVar[str]
    """The value of the config field ``control`` that selects this protocol."""
    description: ClassVar[str]
    """One line for listings."""
    Options: ClassVar[type] = NoOptions
    """A frozen dataclass of the protocol's own parameters (a docstring per field), filled from the config field
    ``control_options`` and validated when the config is built. Costs every protocol shares stay config fields."""

    def __init__(self, sim: CESSimulator) -> None:
        self.sim = sim
        self.options = self.make_options(dict(sim.config.control_options))

    @classmethod
    def make_options(cls, values: Mapping[str, Any]) -> Any:
        """The :attr:`Options` of ``values``; raises ``ValueError`` naming a key that is unknown or out of range."""
        known = {f.name for f in dataclasses.fields(cls.Options)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"control {cls.name!r} has no option {unknown[0]!r}; its options: {', '.join(sorted(known)) or 'none'}"
            )
        return cls.Options(**values)

    # -------------------------------------------------------------------------------------------- the agent's cycle
    @abstractmethod
    def agent_available(self, agent: int) -> None:
        """``agent`` has no task and its group has unfinished tasks: let it decide, queue it or park it."""
        ...

    @abstractmethod
    def task_deciders(self) -> list[int]:
        """Agents that must choose a task (or wait) now, sorted by id."""
        ...

    def has_deciders(self) -> bool:
        """Whether some agent must choose a task now (the simulator stops advancing time while this holds)."""
        return bool(self.task_deciders())

    def candidates(self, group: int) -> np.ndarray:
        """Task ids a decider of ``group`` chooses among, in slot order. Default: the group's ready tasks."""
        order = self.sim.group_order[group]
        return order[self.sim.task_status[order] == TASK_READY]

    def candidate_flags(self, tasks: np.ndarray) -> np.ndarray | None:
        """Which of ``tasks`` (task ids of any groups, each group's in its candidate order) are candidates now, as
        one bool array; or None when the protocol cannot say it this way.

        The observation builder asks this once per step for every group's tasks instead of calling
        :meth:`candidates` group by group (a Python loop over the groups); with None it falls back to that loop.
        A protocol whose candidates are a filter over its group's order overrides both, with
        ``candidates(group) = order[candidate_flags(order)]``. Default: the ready tasks, as the default
        :meth:`candidates`; None for a subclass that overrides :meth:`candidates` but not this (its flags are
        unknown)."""
        if type(self).candidates is not ControlProtocol.candidates:
            return None
        return self.sim.task_status[tasks] == TASK_READY

    @abstractmethod
    def choose(self, agent: int, task: int) -> None:
        """A decider chose ``task`` (one of its group's candidates; ``sim.agent_task[agent]`` is already set)."""
        ...

    @abstractmethod
    def decline(self, agent: int) -> None:
        """A decider chose to wait: forget its pending decision (the simulator keeps it waiting, then resumes it)."""
        ...

    def resume(self, agent: int) -> None:
        """A waiting agent is to be asked again. Default: as if it had just become available."""
        self.agent_available(agent)

    @abstractmethod
    def submit(self, agent: int) -> None:
        """``agent`` finished executing its task; the task and the agent are ``VALIDATING``. Validate it."""
        ...

    @abstractmethod
    def tasks_ready(self, group: int) -> None:
        """Some task of ``group`` became ready (released by a dependency or back from a rejected solution)."""
        ...

    @abstractmethod
    def group_finished(self, group: int) -> None:
        """``group`` completed all of its tasks: drop what is still pending for it (its agents are finished)."""
        ...

    def knowledge_shared(self, group: int, agent: int, ticks: int) -> None:
        """``agent``'s validated solution is being sent to its recipients one after the other, ``ticks`` in all
        (config ``share_ticks_per_recipient``; the simulator schedules when each learns it). A protocol whose group
        entity does the sending keeps it busy that long. Default: nobody is busy (the solver sends it)."""
        return None  # a deliberate default, not an abstract hook

    def agent_crashed(self, agent: int) -> None:
        """``agent`` is down (it crashed mid-execution, or was quarantined after a false solution): forget whatever
        is pending for it and never hand it work until it becomes available again. Its task is already back to ready
        (or will be at once). Default: nothing (the base holds no per-agent state)."""
        return None  # a deliberate default, not an abstract hook

    def blocked_reason(self) -> str | None:
        """Why some group can never progress again because of a fault of the protocol (e.g. ``"controller_down"``),
        asked when nothing is pending; None if nothing is blocked for good."""
        return None

    def controller_down_ticks(self) -> int:
        """Ticks the protocol's controllers have been down so far, summed over groups (0 without a controller)."""
        return 0

    # -------------------------------------------------------------------------------------------- what others read
    def queue_lengths(self) -> np.ndarray:
        """(l,) jobs waiting at each group's controller (zeros for a protocol without one)."""
        return np.zeros(self.sim.instance.n_groups, dtype=np.int64)

    def busy_ticks(self) -> np.ndarray | None:
        """(l,) ticks each group's controller has been busy up to now (service in progress included), or None for a
        protocol without a controller (``controller_utilization`` is then 0)."""
        return None

    # -------------------------------------------------------------------------------------------- analysis
    @classmethod
    @abstractmethod
    def task_overheads(cls, config: CESConfig) -> tuple[int, int]:
        """(ticks before a task can start, ticks after it ends until it is validated) that no policy avoids."""
        ...

    @classmethod
    def resource_bound(cls, instance: Instance, config: CESConfig) -> int:
        """A lower bound on the makespan from a resource the protocol serialises (0 when there is none)."""
        return 0

    @classmethod
    def max_task_overhead(cls, config: CESConfig) -> int:
        """An upper bound on the protocol's own ticks per task without waiting in a queue (for ``max_ticks``)."""
        before, after = cls.task_overheads(config)
        return before + after


CONTROL_PROTOCOLS: dict[str, type[ControlProtocol]] = {}
"""Registered protocols by name: the legal values of the config field ``control``."""


def register_control(cls: type[ControlProtocol]) -> type[ControlProtocol]:
    """Class decorator: make ``cls`` selectable with ``control=cls.name``."""
    if cls.name in CONTROL_PROTOCOLS and CONTROL_PROTOCOLS[cls.name] is not cls:
        raise ValueError(f"control protocol {cls.name!r} is registered twice")
    CONTROL_PROTOCOLS[cls.name] = cls
    return cls


def control_protocol(name: str) -> type[ControlProtocol]:
    """The protocol class registered under ``name``."""
    try:
        return CONTROL_PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown control protocol {name!r}; known: {', '.join(CONTROL_PROTOCOLS)}") from None


__all__ = ["CONTROL_PROTOCOLS", "ControlProtocol", "Handler", "NoOptions", "control_protocol", "register_control"]

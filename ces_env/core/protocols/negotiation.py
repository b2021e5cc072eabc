"""The base of market and consensus mechanisms: what every negotiated allocation shares, so that they compare.

The two CES controls let the policy pick tasks (the controller's choice, or each agent's claim). A market or
consensus mechanism (Contract Net, auctions, VCG, CBBA, Max-Sum, ...) allocates tasks *itself*: it is a
:class:`~ces_env.core.protocols.base.ControlProtocol` whose :meth:`NegotiationProtocol.task_deciders` is always empty,
so the policy only walks mazes in the steered mode (and waits otherwise). What differs between mechanisms is one
method, :meth:`NegotiationProtocol.open_round`; everything below is shared, so that their ET, TWT and message counts
differ only by the mechanism.

What every mechanism shares
---------------------------
**Bids from what an agent can know.** :func:`estimated_cost` is an agent's expected ticks for a task: if it knows the
solution of the task's inference class, the replay time ``ceil(solution_length / speed)`` (a known solution is a known
path); otherwise an *exploration estimate from the maze's size only*, :func:`expected_exploration_moves` (for the
depth-first explorer ``n_cells - 1``: every side branch off the start-target path is searched before the branch that
leads on with probability 1/2, so the expected moves are the path plus half of twice the side branches; the part of the
maze behind the target is never searched, so this slightly overestimates, by about 8% on 20x20), divided by the
agent's speed. The hidden exploration cost of a maze (the moves the explorer will actually draw) is never read.
:meth:`NegotiationProtocol.backlog` adds what the agent still holds: the expected rest of its current task (elapsed
ticks subtracted from the estimate; an exact remainder only for a replay, whose length the agent knows), the tasks
awarded to it but not started, and one validation per held task. :meth:`NegotiationProtocol.completion_estimate`
(backlog + cost) is the bid of Contract Net and of every auction: an estimated completion time in ticks.

**One clock.** A *hop* (an announcement, a set of bids, an award, one clock call, the answers to it) reaches its
recipients ``negotiation_latency_ticks`` after it is sent (a config field, default 3 = ``claim_latency_ticks``: a hop
costs what a claim broadcast costs). Mechanisms schedule their steps with :meth:`NegotiationProtocol.after_hops`. A
task is never negotiated before it is ready, and every mechanism here needs at least an announcement, a reply and an
award (:attr:`NegotiationProtocol.hops_before_start` = 3 hops) before an agent can start a task.

**Every message counted.** :meth:`NegotiationProtocol.send` adds to the simulator's ``messages`` and to the
mechanism's own ``negotiation_messages`` (:meth:`NegotiationProtocol.mechanism_stats`): an announcement to k bidders
is k messages, each bid 1, each award 1, each rejection 1 (``notify_losers``).

**Who validates.** :attr:`NegotiationProtocol.validation` is :class:`ManagerValidation` (the group entity that runs
the market validates, a FIFO single server per group with ``validate_service_ticks`` per solution, 1 message in and 1
verdict out: the CES controller's validation cost) or :class:`PeerValidation` (``peer_validate_ticks``, ``2(s-1)``
messages: the decentralized control's).

**Agents hold at most one task by default.** An agent takes part in a negotiation when it holds at most
``queue_limit`` tasks (:class:`NegotiationOptions`; default 0: only agents with nothing to do bid, as in the CES
controls where an agent holds one task). With ``queue_limit > 0`` busy agents bid with their backlog and queue what
they win; an awarded task starts as soon as its agent is free.

**One negotiation at a time per group.** :meth:`NegotiationProtocol.request_round` opens a round at the end of the
current tick (so that every agent freed and every task released at that tick takes part) when the group has ready
tasks that nobody holds and some agent may bid, and no round of the group is running; :meth:`end_round` closes it and
asks for the next one.

**Analysis.** ``task_overheads = (hops_before_start * latency, validation ticks)``; the resource bound is the
validator's (a manager validates each of its group's tasks one at a time); ``max_task_overhead`` uses
:meth:`NegotiationProtocol.max_negotiation_hops` (a clock auction's worst number of rounds).

Writing a mechanism
-------------------
Subclass :class:`NegotiationProtocol`, set ``name``, ``description``, ``validation``, and an ``Options`` dataclass
that subclasses :class:`NegotiationOptions` if the mechanism has knobs of its own; register it with
:func:`~ces_env.core.protocols.base.register_control`; implement :meth:`open_round(group, tasks, bidders)
<NegotiationProtocol.open_round>`. It runs the negotiation in simulated time (``after_hops``), counts its messages
(``send``), hands out tasks with :meth:`award` (task, agent, price paid to the agent; the award travels one hop) and
ends with :meth:`end_round`. A round should award at least one task when it has a bidder; one that awards nothing
ends with ``end_round(group, retry=False)`` and the next round waits for an agent to free up or a task to be released.
"""

from __future__ import annotations

import dataclasses
import math
from abc import abstractmethod
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ces_env.core.protocols.base import ControlProtocol, Handler
from ces_env.core.protocols.fifo import FifoServer
from ces_env.types import AgentStatus, Instance, TaskStatus

if TYPE_CHECKING:
    from ces_env.config import CESConfig
    from ces_env.core.simulator import CESSimulator

RANDOM_WALK_EXPONENT = 1.625
"""The random-walk explorer's expected moves are estimated as ``n_cells ** 1.625``: its hitting time on a tree is
``O(n_cells * path length)`` and a random maze's path lengths grow like ``n_cells ** 0.625`` (the maze module's
measured means: 2e4 moves on 20x20, 3e6 on 100x100)."""


def expected_exploration_moves(n_cells: int, explorer: str) -> float:
    """Expected moves to find the target of an unexplored maze of ``n_cells`` cells, from its size alone.

    Depth-first search (``"dfs"``, and ``"wall_follower"``, a depth-first search with a fixed turn order in a random
    maze): ``n_cells - 1`` (see the module docstring). ``"random_walk"``: ``n_cells ** RANDOM_WALK_EXPONENT``.
    """
    if explorer == "random_walk":
        return float(n_cells) ** RANDOM_WALK_EXPONENT
    return float(max(1, n_cells - 1))


def replay_ticks(sim: CESSimulator, agent: int, cls: int) -> int:
    """Ticks ``agent`` needs to walk the known solution of class ``cls`` (as the simulator charges a replay)."""
    speed = float(sim.instance.agent_speed[agent])
    return max(1, math.ceil(sim.instance.mazes[cls].solution_length / speed - 1e-9))


def exploration_estimate(sim: CESSimulator, agent: int, cls: int) -> int:
    """Expected ticks for ``agent`` to explore the maze of class ``cls``, from the maze's size and its own speed.

    In the steered mode the policy walks depth-first (one move per ``ceil(1/speed)`` ticks), whatever ``explorer``
    says; in the automatic mode the configured explorer's estimate is divided by the speed."""
    n_cells = sim.instance.mazes[cls].n_cells
    if sim.steered:
        return max(1, math.ceil(expected_exploration_moves(n_cells, "dfs"))) * int(sim.move_ticks[agent])
    moves = expected_exploration_moves(n_cells, sim.config.explorer)
    return max(1, math.ceil(moves / float(sim.instance.agent_speed[agent]) - 1e-9))


def estimated_cost(
    sim: CESSimulator,
    agent: int,
    task: int,
    known: frozenset[int] | set[int] = frozenset(),
    *,
    truthful: bool = False,
) -> int:
    """``agent``'s expected ticks to execute ``task``: a replay if it knows the class's solution (or will know it:
    ``known``, e.g. the classes of tasks it holds), else an exploration estimate from the maze's size. Never the
    maze's hidden exploration cost.

    This is the cost the agent *reports*: a misreporting agent (config ``misreport_fraction``) states it times
    ``misreport_factor`` (rounded, at least 1) in every bid. ``truthful=True`` gives the agent's true estimate."""
    cls = int(sim.instance.task_class[task])
    cost = (
        replay_ticks(sim, agent, cls)
        if sim.knows[agent, cls] or cls in known
        else exploration_estimate(sim, agent, cls)
    )
    faults = getattr(sim, "faults", None)
    if faults is None or truthful or faults.cost_factor[agent] == 1.0:
        return cost
    return max(1, round(cost * float(faults.cost_factor[agent])))


# ------------------------------------------------------------------------------------------------------------ options
@dataclasses.dataclass(frozen=True)
class NegotiationOptions:
    """Options every negotiation mechanism has (a mechanism's ``Options`` subclasses this)."""

    queue_limit: int = 0
    """Tasks an agent may hold besides the one it executes (awarded, not started) and still bid. 0: only agents with
    nothing to do bid, and an agent holds one task at a time, as under the CES controls."""
    notify_losers: bool = False
    """Send every losing bidder a rejection (1 message each, FIPA's reject-proposal). Off: losing bids expire
    silently (Smith's Contract Net)."""

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            _check_option(self, field.name)


def _check_option(options: Any, name: str) -> None:
    """Type and range of one option, from its dataclass type annotation and the ``OPTION_BOUNDS`` of its class."""
    value = getattr(options, name)
    kind = {f.name: f.type for f in dataclasses.fields(options)}[name]
    low, high = getattr(options, "OPTION_BOUNDS", {}).get(name, _DEFAULT_BOUNDS.get(name, (None, None)))
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"option {name!r} must be True or False, got {value!r}")
        return
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"option {name!r} must be an integer, got {value!r}")
    if kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)):
        raise ValueError(f"option {name!r} must be a finite number, got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"option {name!r} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"option {name!r} must be <= {high}, got {value}")


_DEFAULT_BOUNDS: dict[str, tuple[float | None, float | None]] = {"queue_limit": (0, None)}


# --------------------------------------------------------------------------------------------------------- validation
_VALIDATE = 0  # the manager's one kind of job


class ManagerValidation:
    """The group entity that runs the negotiation validates: a FIFO single server per group.

    A solution (1 message) queues at the group's manager, which validates one at a time in ``validate_service_ticks``
    and sends the verdict back (1 message): the CES controller's validation cost, without its assignments.
    """

    name: ClassVar[str] = "manager"

    def __init__(self, sim: CESSimulator) -> None:
        self.sim = sim
        # the group entity is the same FIFO single server as a central validator (ces_env.core.protocols.fifo)
        self.server = FifoServer(sim, self._done, validate_kinds=frozenset({_VALIDATE}))

    @staticmethod
    def ticks(config: CESConfig) -> int:
        """Validation time of one solution, without queueing."""
        return config.validate_service_ticks

    @staticmethod
    def resource_bound(instance: Instance, config: CESConfig) -> int:
        """A group's manager validates each of its tasks one at a time."""
        tasks_per_group = np.bincount(instance.task_group, minlength=instance.n_groups)
        return int(tasks_per_group.max()) * config.validate_service_ticks

    def submit(self, agent: int) -> None:
        group = int(self.sim.instance.agent_group[agent])
        self.sim.add_messages(1)  # the solution to the manager
        self.server.push(group, _VALIDATE, agent, self.sim.config.validate_service_ticks)

    def queue_lengths(self) -> np.ndarray:
        return self.server.queue_lengths()

    def busy_ticks(self) -> np.ndarray:
        return self.server.busy_ticks()

    def drop(self, group: int) -> None:
        self.server.clear(group)

    def _done(self, group: int, kind: int, agent: int) -> None:
        self.sim.add_messages(1)  # the verdict back to the agent
        self.sim.conclude_validation(agent)


class PeerValidation:
    """The peers validate: the solution goes to the ``s-1`` groupmates and their verdicts come back (``2(s-1)``
    messages), taking ``peer_validate_ticks``, as under decentralized control."""

    name: ClassVar[str] = "peers"

    def __init__(self, sim: CESSimulator) -> None:
        self.sim = sim

    @staticmethod
    def ticks(config: CESConfig) -> int:
        return config.peer_validate_ticks

    @staticmethod
    def resource_bound(instance: Instance, config: CESConfig) -> int:
        return 0

    def submit(self, agent: int) -> None:
        sim = self.sim
        group = int(sim.instance.agent_group[agent])
        sim.add_messages(2 * (int(sim.group_size[group]) - 1))
        sim.schedule(sim.time + sim.config.peer_validate_ticks, sim.conclude_validation, agent)

    def queue_lengths(self) -> np.ndarray:
        return np.zeros(self.sim.instance.n_groups, dtype=np.int64)

    def busy_ticks(self) -> np.ndarray | None:
        return None

    def drop(self, group: int) -> None:
        pass


# ---------------------------------------------------------------------------------------------------------- the base
class NegotiationProtocol(ControlProtocol):
    """The base class of mechanisms that allocate tasks themselves; its module docstring is the guide.

    Public state, read by tests and analyses: ``payments`` (n,) what each agent has been paid (in ticks of estimated
    work, the bids' unit), ``awards`` (n,) tasks awarded to each agent, ``rounds`` (l,) negotiation rounds per group,
    ``negotiation_messages`` (messages sent by the negotiation itself, validation and knowledge sharing excluded),
    ``negotiation_ticks`` (l,) ticks each group spent with a round open, ``true_costs`` (n,) what each agent's awards
    truly cost it: for every award, the bid the agent would have made telling the truth (the same function as its
    bid, :meth:`completion_estimate` with ``truthful=True``: backlog plus cost, as it stood when the agent bid; the
    mechanism passes it to :meth:`award`), so that an agent's utility is ``payments - true_costs`` whatever it
    reported, and an honest first-price winner's utility is exactly 0 at any ``queue_limit``.
    """

    Options: ClassVar[type] = NegotiationOptions
    validation: ClassVar[type[ManagerValidation] | type[PeerValidation]] = ManagerValidation
    """Who validates the solutions (:class:`ManagerValidation` or :class:`PeerValidation`)."""
    hops_before_start: ClassVar[int] = 3
    """Hops no task avoids between becoming ready and starting (announce, reply, award)."""

    def __init__(self, sim: CESSimulator) -> None:
        super().__init__(sim)
        n, l = sim.instance.n_agents, sim.instance.n_groups
        self.validator = self.validation(sim)
        self.latency = int(sim.config.negotiation_latency_ticks)
        self.incoming: list[deque[int]] = [deque() for _ in range(n)]  # awards on their way to the agent
        self.queued: list[deque[int]] = [deque() for _ in range(n)]  # awards arrived, waiting for the agent
        self.negotiating = np.zeros(l, dtype=bool)
        self.rounds = np.zeros(l, dtype=np.int64)
        self.negotiation_ticks = np.zeros(l, dtype=np.int64)
        self.payments = np.zeros(n, dtype=np.float64)
        self.awards = np.zeros(n, dtype=np.int64)
        self.negotiation_messages = 0
        self.true_costs = np.zeros(n, dtype=np.float64)
        self._stale_awards = np.zeros(n, dtype=np.int64)  # awards in flight to an agent that crashed since
        self._round_start = np.zeros(l, dtype=np.int64)
        self._requested = np.zeros(l, dtype=bool)
        self._missed = np.zeros(l, dtype=bool)  # a round was asked for while one was running
        self._explore_ceiling: dict[tuple[int, int], int] = {}

    # ------------------------------------------------------------------------------------------- the mechanism
    @abstractmethod
    def open_round(self, group: int, tasks: np.ndarray, bidders: list[int]) -> None:
        """Negotiate ``tasks`` (the group's ready tasks nobody holds, highest reward first) among ``bidders`` (agents
        of the group that may take a task, by id; never empty). Award at least one task, then :meth:`end_round`."""
        ...

    # ------------------------------------------------------------------------------------------- services
    def send(self, count: int) -> None:
        """Count ``count`` negotiation messages."""
        self.negotiation_messages += int(count)
        self.sim.add_messages(int(count))

    def after_hops(self, hops: int, action: Handler, argument: int) -> None:
        """Call ``action(argument)`` once ``hops`` hops of messages have reached their recipients."""
        self.sim.schedule(self.sim.time + hops * self.latency, action, argument)

    def award(
        self,
        task: int,
        agent: int,
        price: float | None = None,
        *,
        messages: int = 1,
        hops: int = 1,
        true_cost: float | None = None,
    ) -> None:
        """Give ``task`` to ``agent`` now: the task is held for it at once; the award (``messages``, default 1)
        reaches the agent ``hops`` hops later, and it starts then, or when it is free. ``price`` is paid to the
        agent (recorded in :attr:`payments`). ``true_cost`` (added to :attr:`true_costs`) is the agent's truthful
        bid for what it won, computed by the mechanism when the bids were made; without it, the truthful
        :meth:`completion_estimate` now (for mechanisms whose bids are not completion times taken at one instant)."""
        sim = self.sim
        if sim.task_status[task] != TaskStatus.READY:
            raise RuntimeError(f"{self.name}: task {task} awarded while {TaskStatus(sim.task_status[task]).name}")
        if sim.down[agent]:  # it crashed since it bid: the task stays open for the next round
            self.request_round(int(sim.instance.agent_group[agent]))
            return
        if true_cost is None:
            true_cost = self.completion_estimate(agent, task, truthful=True)
        self.true_costs[agent] += float(true_cost)
        sim.reserve(task, agent)
        self.send(messages)
        self.awards[agent] += 1
        if price is not None:
            self.payments[agent] += float(price)
        self.incoming[agent].append(task)
        if sim.agent_task[agent] < 0:
            sim.agent_status[agent] = AgentStatus.CLAIMING  # waiting for its award to arrive
        self.after_hops(hops, self._award_arrives, agent)

    def end_round(self, group: int, *, retry: bool = True) -> None:
        """The round of ``group`` is over: the next one opens at the end of this tick if there is work and a bidder.

        A round that awarded nothing passes ``retry=False``: the same bidders would make the same bids at once, so the
        next round waits until something changes (an agent frees up or a task becomes ready; a change during the
        round counts)."""
        self.negotiating[group] = False
        self.negotiation_ticks[group] += self.sim.time - self._round_start[group]
        if retry or self._missed[group]:
            self.request_round(group)

    def request_round(self, group: int) -> None:
        """Open a round of ``group`` at the end of the current tick, if by then it has open tasks and bidders."""
        if not self._requested[group]:
            self._requested[group] = True
            self.sim.schedule(self.sim.time, self._maybe_open, group)

    def open_tasks(self, group: int) -> np.ndarray:
        """The group's ready tasks that nobody holds, highest reward first (then lower id)."""
        order = self.sim.group_order[group]
        return order[self.sim.task_status[order] == TaskStatus.READY]

    def load(self, agent: int) -> int:
        """Tasks ``agent`` holds: the one it executes or has submitted, awards on their way, awards queued."""
        return int(self.sim.agent_task[agent] >= 0) + len(self.incoming[agent]) + len(self.queued[agent])

    def bidders(self, group: int) -> list[int]:
        """Agents of ``group`` that may bid now (they hold at most ``queue_limit`` tasks), by id."""
        sim = self.sim
        members = sim.instance.group_agents(group).tolist()
        limit = self.options.queue_limit
        return [a for a in members if sim.agent_status[a] != AgentStatus.FINISHED and self.load(a) <= limit]

    def held_tasks(self, agent: int) -> list[int]:
        """The tasks ``agent`` holds, in the order it will do them."""
        current = [int(self.sim.agent_task[agent])] if self.sim.agent_task[agent] >= 0 else []
        return current + list(self.queued[agent]) + list(self.incoming[agent])

    def validation_ticks(self) -> int:
        return self.validation.ticks(self.sim.config)

    def backlog(self, agent: int, *, truthful: bool = False) -> int:
        """Expected ticks until ``agent`` is free: the rest of its current task (estimated; exact for a replay), every
        task it holds (estimated, as reported unless ``truthful``), and a validation per held task. Queueing at a
        manager is not foreseen."""
        sim = self.sim
        validation = self.validation_ticks()
        total = 0
        known: set[int] = set()
        task = int(sim.agent_task[agent])
        if task >= 0:
            cls = int(sim.instance.task_class[task])
            status = sim.agent_status[agent]
            if status == AgentStatus.EXPLORING:
                total += max(0, exploration_estimate(sim, agent, cls) - int(sim.time - sim.job_start[agent]))
            elif status == AgentStatus.REPLAYING:
                total += max(0, int(sim.job_end[agent] - sim.time))
            elif status == AgentStatus.STEERING:
                expected = math.ceil(expected_exploration_moves(sim.instance.mazes[cls].n_cells, "dfs"))
                total += max(0, expected - int(sim.steer_moves[agent])) * int(sim.move_ticks[agent])
            total += validation
            known.add(cls)
        for held in list(self.queued[agent]) + list(self.incoming[agent]):
            total += estimated_cost(sim, agent, held, known, truthful=truthful) + validation
            known.add(int(sim.instance.task_class[held]))
        return total

    def known_after_backlog(self, agent: int) -> set[int]:
        """Classes whose solution ``agent`` will know once it has done what it holds (if its solutions are valid)."""
        return {int(self.sim.instance.task_class[t]) for t in self.held_tasks(agent)}

    def completion_estimate(self, agent: int, task: int, *, truthful: bool = False) -> int:
        """``agent``'s estimated completion time of ``task`` if given it now: backlog + estimated cost (the bid, as
        reported; ``truthful``: the bid it would make telling the truth, its true cost)."""
        known = self.known_after_backlog(agent)
        return self.backlog(agent, truthful=truthful) + estimated_cost(self.sim, agent, task, known, truthful=truthful)

    def misreports(self, agent: int) -> bool:
        """Whether ``agent`` states its costs other than they are (config ``misreport_fraction``): only then does a
        truthful estimate differ from its reported one, and need computing apart."""
        faults = getattr(self.sim, "faults", None)  # as estimated_cost reads it
        return faults is not None and float(faults.cost_factor[agent]) != 1.0

    def reported_and_true_estimates(self, agents: Sequence[int], task: int) -> tuple[list[int], list[int]]:
        """Each agent's completion estimate of ``task`` as it bids it, and as it would bid it telling the truth (the
        true cost an award records): the second computed only for agents that misreport."""
        reported = [self.completion_estimate(a, task) for a in agents]
        true = [
            self.completion_estimate(a, task, truthful=True) if self.misreports(a) else cost
            for a, cost in zip(agents, reported, strict=True)
        ]
        return reported, true

    def completion_estimates(self, agent: int, tasks: list[int], *, truthful: bool = False) -> list[int]:
        """:meth:`completion_estimate` of each of ``tasks`` (the backlog is estimated once)."""
        backlog, known = self.backlog(agent, truthful=truthful), self.known_after_backlog(agent)
        return [backlog + estimated_cost(self.sim, agent, task, known, truthful=truthful) for task in tasks]

    def exploration_ceiling(self, group: int, task: int) -> int:
        """The largest exploration estimate of ``task`` among the group's agents (public: maze size and the group's
        speeds); no agent of the group estimates the task above it."""
        cls = int(self.sim.instance.task_class[task])
        key = (group, cls)
        if key not in self._explore_ceiling:
            agents = self.sim.instance.group_agents(group).tolist()
            self._explore_ceiling[key] = max(exploration_estimate(self.sim, a, cls) for a in agents)
        return self._explore_ceiling[key]

    def reservation_cost(self, group: int, task: int) -> int:
        """What the group expects ``task`` to cost at worst (slowest member exploring, plus its validation): the
        price at which every member with nothing to do is willing to take it.

        It is the manager's one *reserve price* (public: maze sizes and the group's speeds, never a bid): the double
        auction's buy limit, the sealed-bid auctions' reserve (a bid above it does not win; under Vickrey a lone
        bidder is paid it) and VCG's value of a task (the cost of leaving it unallocated, so a lone bidder is paid
        it). A reserve independent of the bids keeps truthful bidding dominant in each auction."""
        return self.exploration_ceiling(group, task) + self.validation_ticks()

    def price_ceiling(self, group: int, task: int) -> int:
        """An upper bound on any bid for ``task`` in ``group``: the task's exploration ceiling plus, per task a bidder
        may hold (``queue_limit``), the group's largest reservation cost."""
        limit = self.options.queue_limit
        if not limit:
            return self.exploration_ceiling(group, task)
        tasks = np.flatnonzero(self.sim.instance.task_group == group)
        worst = max(self.reservation_cost(group, int(t)) for t in tasks)
        return self.exploration_ceiling(group, task) + limit * worst

    def mechanism_stats(self) -> dict[str, Any]:
        """What the mechanism did, beyond the shared metrics (for the harness and reports)."""
        return {
            "mechanism": self.name,
            "validation": self.validation.name,
            "rounds": int(self.rounds.sum()),
            "negotiation_messages": int(self.negotiation_messages),
            "negotiation_ticks": int(self.negotiation_ticks.sum()),
            "awards": int(self.awards.sum()),
            "payments_total": float(self.payments.sum()),
            "payments": [float(p) for p in self.payments],
        }

    # ------------------------------------------------------------------------------------------- protocol hooks
    def agent_available(self, agent: int) -> None:
        sim = self.sim
        if self.queued[agent]:
            self._start(agent, self.queued[agent].popleft())
            return
        sim.agent_status[agent] = AgentStatus.CLAIMING if self.incoming[agent] else AgentStatus.IDLE
        self.request_round(int(sim.instance.agent_group[agent]))

    def task_deciders(self) -> list[int]:
        return []  # the mechanism allocates; the policy never chooses a task

    def has_deciders(self) -> bool:
        return False

    def choose(self, agent: int, task: int) -> None:
        raise RuntimeError(f"control {self.name!r} allocates tasks itself: no agent chooses one")

    def decline(self, agent: int) -> None:
        raise RuntimeError(f"control {self.name!r} allocates tasks itself: no agent is asked to choose")

    def submit(self, agent: int) -> None:
        self.validator.submit(agent)

    def tasks_ready(self, group: int) -> None:
        self.request_round(group)

    def group_finished(self, group: int) -> None:
        self.validator.drop(group)
        for agent in self.sim.instance.group_agents(group).tolist():
            self.incoming[agent].clear()
            self.queued[agent].clear()

    def agent_crashed(self, agent: int) -> None:
        """The tasks ``agent`` held but had not started go back to ready; awards still on their way to it are
        ignored when they arrive."""
        sim = self.sim
        held = list(self.queued[agent]) + list(self.incoming[agent])
        self._stale_awards[agent] += len(self.incoming[agent])
        self.incoming[agent].clear()
        self.queued[agent].clear()
        for task in held:
            sim.task_status[task] = TaskStatus.READY
            sim.task_holder[task] = -1
        if held:
            sim.release_tasks(int(sim.instance.agent_group[agent]))

    def blocked_reason(self) -> str | None:
        """``"no_award"`` when nothing is pending and a group still has tasks: its mechanism awards nothing and nothing
        will change (e.g. a double auction whose every ask is above every limit, as agents that overstate their costs
        enough make it)."""
        return "no_award" if bool((self.sim.group_remaining > 0).any()) else None

    def queue_lengths(self) -> np.ndarray:
        return self.validator.queue_lengths()

    def busy_ticks(self) -> np.ndarray | None:
        return self.validator.busy_ticks()

    # ------------------------------------------------------------------------------------------- analysis
    @classmethod
    def task_overheads(cls, config: CESConfig) -> tuple[int, int]:
        return cls.hops_before_start * config.negotiation_latency_ticks, cls.validation.ticks(config)

    @classmethod
    def resource_bound(cls, instance: Instance, config: CESConfig) -> int:
        return cls.validation.resource_bound(instance, config)

    @classmethod
    def max_negotiation_hops(cls, config: CESConfig) -> int:
        """The most hops one negotiation of a task can take (a clock auction's rounds); default the minimum."""
        return cls.hops_before_start

    @classmethod
    def max_task_overhead(cls, config: CESConfig) -> int:
        return cls.max_negotiation_hops(config) * config.negotiation_latency_ticks + cls.validation.ticks(config)

    # ------------------------------------------------------------------------------------------- internals
    def _maybe_open(self, group: int) -> None:
        sim = self.sim
        self._requested[group] = False
        if self.negotiating[group]:
            self._missed[group] = True
            return
        if sim.group_remaining[group] == 0 or sim.terminated:
            return
        tasks = self.open_tasks(group)
        if not len(tasks):
            return
        bidders = self.bidders(group)
        if not bidders:
            return
        self.negotiating[group] = True
        self._missed[group] = False
        self.rounds[group] += 1
        self._round_start[group] = sim.time
        self.open_round(group, tasks, bidders)

    def _award_arrives(self, agent: int) -> None:
        if self._stale_awards[agent]:  # sent before the agent crashed: its task went back to ready then
            self._stale_awards[agent] -= 1
            return
        task = self.incoming[agent].popleft()
        if self.sim.agent_task[agent] < 0:
            self._start(agent, task)
        else:
            self.queued[agent].append(task)

    def _start(self, agent: int, task: int) -> None:
        self.sim.agent_task[agent] = task
        self.sim.start_execution(agent, task)


__all__ = [
    "ManagerValidation",
    "NegotiationOptions",
    "NegotiationProtocol",
    "PeerValidation",
    "RANDOM_WALK_EXPONENT",
    "estimated_cost",
    "expected_exploration_moves",
    "exploration_estimate",
    "replay_ticks",
]

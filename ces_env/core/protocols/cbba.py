"""CBBA, the Consensus-Based Bundle Algorithm (Choi, Brunet and How 2009), as a group control protocol.

The algorithm itself is :func:`run_cbba`, a pure function of the agents' bid estimates; :class:`CBBAControl` runs it
whenever a group has ready tasks nobody holds, charges its rounds in simulated time and its messages in ``messages``,
and lets each agent execute its bundle in order. :func:`discounted_scores` is the score of CBBA and, for
comparability, the utility of Max-Sum and DPOP (``max_sum.py``, ``dpop.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ces_env.core.protocols.base import register_control
from ces_env.core.protocols.negotiation import NegotiationOptions, NegotiationProtocol, PeerValidation, estimated_cost
from ces_env.types import AgentStatus

if TYPE_CHECKING:
    from ces_env.config import CESConfig

NOBODY = -1
"""The winner of a task nobody has bid on."""

_REL_TOL = 1e-12  # bids within this relative distance are equal (ties go to the lower agent id)


@dataclass(frozen=True)
class CBBAResult:
    """The outcome of one CBBA run.

    ``bundles[i]`` lists agent i's tasks (indices into the run's tasks) in the order it added and will execute them;
    no task is in two bundles. ``rounds`` counts bundle+consensus rounds, the last one being the round in which
    nothing changed any more (the group's agreement); ``messages`` the (y, z, s) vectors sent, one per directed
    neighbour link per round. ``converged`` is False when ``max_rounds`` stopped the run first; the bundles were then
    made conflict-free by keeping each disputed task with its best bidder (``conflicts`` counts the removals).
    """

    bundles: list[list[int]]
    winners: np.ndarray  # (tasks,) agent index or NOBODY, the winner of each task by the bundles
    bids: np.ndarray  # (tasks,) the winning bids
    views: np.ndarray  # (agents, tasks) each agent's final view of the winners (z); after agreement all rows equal
    rounds: int
    messages: int
    converged: bool
    conflicts: int


def ring_neighbours(n_agents: int) -> list[list[int]]:
    """Each agent talks to the previous and the next one (a ring; two agents are simply linked)."""
    if n_agents == 1:
        return [[]]
    return [sorted({(i - 1) % n_agents, (i + 1) % n_agents}) for i in range(n_agents)]


def full_neighbours(n_agents: int) -> list[list[int]]:
    """Every agent talks to every other one (a fully connected network)."""
    return [[k for k in range(n_agents) if k != i] for i in range(n_agents)]


def marginal_scores(
    rewards: np.ndarray, durations: np.ndarray, ready_at: float, discount: float, time_scale: float
) -> np.ndarray:
    """Score of appending each task to a path that frees the agent at ``ready_at``: ``r_j * discount**(finish/scale)``.

    The score of a path is the sum of its tasks' time-discounted rewards, each discounted by its estimated finish
    time. Appending a task at the end of the path never changes the finish times of the tasks before it, so the
    marginal score of a task is its own discounted reward; it only shrinks as the path grows (``ready_at`` grows),
    which is CBBA's diminishing-marginal-gain condition, the condition of its convergence and of its conflict-free
    result.
    """
    return rewards * discount ** ((ready_at + durations) / time_scale)


def _equal(a: float, b: float) -> bool:
    return abs(a - b) <= _REL_TOL * max(abs(a), abs(b))


def _outbids_array(bid: np.ndarray, bidder: np.ndarray | int, other_bid: np.ndarray, other: np.ndarray) -> np.ndarray:
    """:func:`_outbids` elementwise."""
    equal = np.abs(bid - other_bid) <= _REL_TOL * np.maximum(np.abs(bid), np.abs(other_bid))
    lower_id = (other != NOBODY) & (bidder != NOBODY) & (bidder < other)
    return np.where(equal, lower_id, bid > other_bid)


def _outbids(bid: float, bidder: int, other_bid: float, other: int) -> bool:
    """Whether (bid, bidder) beats (other_bid, other): a higher bid, or an equal bid from a lower agent id."""
    if _equal(bid, other_bid):
        return other != NOBODY and bidder != NOBODY and bidder < other
    return bid > other_bid


def run_cbba(
    rewards: np.ndarray,
    durations: np.ndarray,
    ready_at: np.ndarray,
    capacity: np.ndarray,
    neighbours: list[list[int]],
    *,
    discount: float,
    time_scale: float,
    max_rounds: int,
) -> CBBAResult:
    """CBBA over ``T`` tasks and ``N`` agents (indices local to the run).

    Args:
        rewards: (T,) task rewards.
        durations: (N, T) each agent's estimate of the ticks a task would take it (execution and protocol costs).
        ready_at: (N,) ticks until each agent could start a new task (its current work and committed bundle).
        capacity: (N,) how many tasks each agent may still add (the bundle limit L minus what it already holds).
        neighbours: the communication network, ``neighbours[i]`` the agents i sends to and hears from (symmetric,
            connected).
        discount, time_scale: the score's time discount (see :func:`marginal_scores`).
        max_rounds: the bound on bundle+consensus rounds.

    Each round is synchronous. **Bundle phase**: every agent keeps adding the task of highest marginal score that
    it would win against its current view (y winning bids, z winners), until its bundle is full or no task is left
    that it outbids. **Consensus phase**: every agent sends (y, z, s) to its neighbours (s: when it last heard, directly
    or not, from each agent) and applies the update/reset/leave rules of Table 1 of Choi et al. (2009) to each
    message; then it releases the first task of its bundle it was outbid on and every task added after it (their
    scores were computed on a path that no longer holds). The run ends after a round that changes nothing.
    """
    n_agents, n_tasks = durations.shape
    y = np.zeros((n_agents, n_tasks))
    z = np.full((n_agents, n_tasks), NOBODY, dtype=np.int64)
    stamps = np.zeros((n_agents, n_agents))  # stamps[i, k]: the round of the latest information i has from k
    bundles: list[list[int]] = [[] for _ in range(n_agents)]
    links = sum(len(nb) for nb in neighbours)
    rounds = messages = 0
    converged = False
    while rounds < max_rounds:
        rounds += 1
        before = (y.copy(), z.copy(), [list(b) for b in bundles])
        for i in range(n_agents):
            _build_bundle(
                i, bundles[i], y[i], z[i], rewards, durations[i], ready_at[i], capacity[i], discount, time_scale
            )
        messages += links
        y, z, stamps = _consensus(y, z, stamps, neighbours, rounds)
        for i in range(n_agents):
            _release_outbid(i, bundles[i], y[i], z[i])
        if np.array_equal(y, before[0]) and np.array_equal(z, before[1]) and bundles == before[2]:
            converged = True
            break
    conflicts = _make_conflict_free(bundles, y)  # nothing to do after an agreement (the tests check it)
    winners = np.full(n_tasks, NOBODY, dtype=np.int64)
    bids = np.zeros(n_tasks)
    for i, bundle in enumerate(bundles):
        for j in bundle:
            winners[j], bids[j] = i, y[i, j]
    return CBBAResult(bundles, winners, bids, z, rounds, messages, converged, conflicts)


def _build_bundle(
    agent: int,
    bundle: list[int],
    y: np.ndarray,
    z: np.ndarray,
    rewards: np.ndarray,
    durations: np.ndarray,
    ready_at: float,
    capacity: int,
    discount: float,
    time_scale: float,
) -> None:
    """The bundle phase of one agent (its own y and z rows are updated in place)."""
    in_bundle = np.zeros(len(rewards), dtype=bool)
    in_bundle[bundle] = True
    free_at = ready_at + float(durations[bundle].sum())
    while len(bundle) < capacity:
        scores = marginal_scores(rewards, durations, free_at, discount, time_scale)
        valid = ~in_bundle & _outbids_array(scores, agent, y, z)
        if not valid.any():
            return
        top = float(scores[valid].max())
        best = int(np.flatnonzero(valid & (scores >= top - _REL_TOL * top))[0])  # near ties: the lower task index
        bundle.append(best)
        in_bundle[best] = True
        y[best], z[best] = scores[best], agent
        free_at += float(durations[best])


def _consensus(
    y: np.ndarray, z: np.ndarray, stamps: np.ndarray, neighbours: list[list[int]], now: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One synchronous exchange: every agent hears its neighbours' (y, z, s) of before the exchange.

    A receiver processes its neighbours' messages one after the other, in the order of its neighbour list; all
    receivers do so at once (the p-th message of every receiver is one array operation)."""
    sent_y, sent_z, sent_s = y.copy(), z.copy(), stamps.copy()
    y, z, stamps = y.copy(), z.copy(), stamps.copy()
    for p in range(max((len(heard) for heard in neighbours), default=0)):
        receivers = np.array([i for i, heard in enumerate(neighbours) if len(heard) > p], dtype=np.int64)
        senders = np.array([neighbours[i][p] for i in receivers], dtype=np.int64)
        action = _decide_all(
            receivers,
            senders,
            sent_z[senders],
            sent_y[senders],
            z[receivers],
            y[receivers],
            sent_s[senders],
            stamps[receivers],
        )
        update, reset = action == _UPDATE, action == _RESET
        rows_y, rows_z = y[receivers], z[receivers]
        rows_y[update], rows_z[update] = sent_y[senders][update], sent_z[senders][update]
        rows_y[reset], rows_z[reset] = 0.0, NOBODY
        y[receivers], z[receivers] = rows_y, rows_z
        # what k knew about the others is now known to i too, and i heard from k itself now
        stamps[receivers] = np.maximum(stamps[receivers], sent_s[senders])
        stamps[receivers, senders] = now
    return y, z, stamps


_LEAVE, _UPDATE, _RESET = 0, 1, 2


def _decide(i: int, k: int, zk: int, yk: float, zi: int, yi: float, sk: np.ndarray, si: np.ndarray) -> int:
    """Table 1 of Choi, Brunet and How (2009): receiver i, sender k, for one task (k's winner zk, bid yk; i's zi, yi).

    "k is newer about m" (``sk[m] > si[m]``) means k has more recent information from agent m than i has. This is the
    table in readable form; the consensus runs its array form :func:`_decide_all`.
    """

    def newer(m: int) -> bool:
        return bool(sk[m] > si[m])

    if zk == k:  # the sender thinks it wins
        if zi == i:
            return _UPDATE if _outbids(yk, zk, yi, zi) else _LEAVE
        if zi in (k, NOBODY):
            return _UPDATE
        return _UPDATE if newer(zi) or _outbids(yk, zk, yi, zi) else _LEAVE
    if zk == i:  # the sender thinks the receiver wins
        if zi == k:
            return _RESET
        if zi not in (i, NOBODY) and newer(zi):
            return _RESET
        return _LEAVE
    if zk != NOBODY:  # the sender thinks a third agent m wins
        m = zk
        if zi == i:
            return _UPDATE if newer(m) and _outbids(yk, zk, yi, zi) else _LEAVE
        if zi == k:
            return _UPDATE if newer(m) else _RESET
        if zi == m:
            return _UPDATE if newer(m) else _LEAVE
        if zi == NOBODY:
            return _UPDATE if newer(m) else _LEAVE
        if newer(zi) and newer(m):  # zi is a fourth agent n
            return _UPDATE
        if newer(m) and _outbids(yk, zk, yi, zi):
            return _UPDATE
        if newer(zi) and si[m] > sk[m]:
            return _RESET
        return _LEAVE
    # the sender thinks nobody wins
    if zi == k:
        return _UPDATE
    if zi not in (i, NOBODY) and newer(zi):
        return _UPDATE
    return _LEAVE


def _decide_all(
    i: np.ndarray,
    k: np.ndarray,
    zk: np.ndarray,
    yk: np.ndarray,
    zi: np.ndarray,
    yi: np.ndarray,
    sk: np.ndarray,
    si: np.ndarray,
) -> np.ndarray:
    """:func:`_decide` for many (receiver, sender) pairs and every task at once: ``i``, ``k`` (R,), the winners and
    bids (R, T), the timestamps (R, N). The tests check that both agree everywhere."""
    i, k = i[:, None], k[:, None]

    def newer(m: np.ndarray) -> np.ndarray:
        known = np.maximum(m, 0)
        return (m != NOBODY) & (np.take_along_axis(sk, known, axis=1) > np.take_along_axis(si, known, axis=1))

    outbids = _outbids_array(yk, zk, yi, zi)
    action = np.full(zk.shape, _LEAVE, dtype=np.int8)
    zi_i, zi_k, zi_none = zi == i, zi == k, zi == NOBODY
    zi_other = ~(zi_i | zi_k | zi_none)
    zi_newer, m_newer = newer(zi), newer(zk)

    sender_wins = zk == k
    action[sender_wins & ((zi_i & outbids) | zi_k | zi_none | (zi_other & (zi_newer | outbids)))] = _UPDATE

    receiver_wins = zk == i
    action[receiver_wins & (zi_k | (zi_other & zi_newer))] = _RESET

    third = ~sender_wins & ~receiver_wins & (zk != NOBODY)  # the sender thinks a third agent m = zk wins
    action[third & zi_i & m_newer & outbids] = _UPDATE
    action[third & zi_k] = np.where(m_newer[third & zi_k], _UPDATE, _RESET)
    action[third & ((zi == zk) | zi_none) & m_newer] = _UPDATE
    fourth = third & zi_other & (zi != zk)  # ... and the receiver a fourth one
    m_known = np.maximum(zk, 0)
    receiver_newer_about_m = np.take_along_axis(si, m_known, axis=1) > np.take_along_axis(sk, m_known, axis=1)
    rule_update = (zi_newer & m_newer) | (m_newer & outbids)
    action[fourth & rule_update] = _UPDATE
    action[fourth & ~rule_update & zi_newer & receiver_newer_about_m] = _RESET

    nobody = zk == NOBODY
    action[nobody & (zi_k | (zi_other & zi_newer))] = _UPDATE
    return action


def _release_outbid(agent: int, bundle: list[int], y: np.ndarray, z: np.ndarray) -> None:
    """Drop the first task of the bundle the agent no longer wins and every task added after it.

    The later tasks' bids were computed on a path through the lost task, so they are reset (y = 0, z = nobody) for
    the agent to bid on them again; the lost task keeps the winner the consensus gave it.
    """
    for n, j in enumerate(bundle):
        if z[j] != agent:
            for later in bundle[n + 1 :]:
                if z[later] == agent:
                    y[later], z[later] = 0.0, NOBODY
            del bundle[n:]
            return


def _make_conflict_free(bundles: list[list[int]], y: np.ndarray) -> int:
    """After ``max_rounds`` without agreement: every task held by several agents stays with its best bidder (own bid,
    then lower id); returns how many bundle entries were removed."""
    holders: dict[int, list[int]] = {}
    for i, bundle in enumerate(bundles):
        for j in bundle:
            holders.setdefault(j, []).append(i)
    removed = 0
    for j, agents in holders.items():
        if len(agents) < 2:
            continue
        keep = min(agents, key=lambda a: (-float(y[a, j]), a))
        for a in agents:
            if a != keep:
                bundles[a].remove(j)
                removed += 1
    return removed


# ------------------------------------------------------------------------------------------------------ the protocol
def task_durations(protocol: NegotiationProtocol, agents: list[int], tasks: list[int]) -> np.ndarray:
    """(agents, tasks) each agent's estimated ticks for a task: its expected execution (a replay if it knows, or will
    know from what it holds, the task's class; else an exploration estimate from the maze's size and its speed) plus
    one validation. What an agent can know, never a maze's hidden cost."""
    sim = protocol.sim
    validation = protocol.validation_ticks()
    durations = np.zeros((len(agents), len(tasks)))
    for i, agent in enumerate(agents):
        known = protocol.known_after_backlog(agent)
        for j, task in enumerate(tasks):
            durations[i, j] = estimated_cost(sim, agent, task, known) + validation
    return durations


def score_time_scale(protocol: NegotiationProtocol, group: int, tasks: list[int]) -> float:
    """The time unit of the discount: the largest reservation cost of the round's tasks (slowest groupmate exploring,
    plus a validation), known to every agent of the group (maze sizes and speeds are public), so that every agent
    scores with the same function."""
    return float(max(protocol.reservation_cost(group, task) for task in tasks))


def discounted_scores(
    protocol: NegotiationProtocol, group: int, agents: list[int], tasks: list[int], discount: float
) -> np.ndarray:
    """(agents, tasks) ``reward * discount ** ((backlog + duration) / scale)``: a task's reward discounted by when the
    agent expects to finish it if it took it now (:func:`task_durations`, :meth:`NegotiationProtocol.backlog`,
    :func:`score_time_scale`). CBBA's score for a bundle's first task; Max-Sum's and DPOP's utility."""
    rewards = protocol.sim.instance.rewards[tasks]
    backlog = np.array([protocol.backlog(a) for a in agents], dtype=np.float64)
    finish = backlog[:, None] + task_durations(protocol, agents, tasks)
    return rewards[None, :] * discount ** (finish / score_time_scale(protocol, group, tasks))


NETWORKS = ("full", "ring")


@dataclasses.dataclass(frozen=True)
class CBBAOptions(NegotiationOptions):
    """Options of ``cbba``. The bundle limit L is ``queue_limit + 1``: an agent holds at most L tasks (the one it
    executes included) and bids while it holds fewer."""

    queue_limit: int = 1
    """Tasks an agent may hold besides the one it executes: the bundle limit L is ``queue_limit + 1`` (default 2)."""
    discount: float = 0.5
    """The score's time discount per time unit (:func:`score_time_scale`): a task finished one unit later is worth
    ``discount`` times as much. In (0, 1]."""
    network: str = "full"
    """The group's communication network in the consensus phase: ``"full"`` (everyone hears everyone) or ``"ring"``
    (each agent hears the previous and the next agent by id)."""
    max_rounds: int = 100
    """Bound on bundle+consensus rounds per run (CBBA agrees within ``tasks x network diameter`` rounds under its
    diminishing-gain score, far below this)."""

    OPTION_BOUNDS = {"queue_limit": (0, None), "discount": (1e-9, 1.0), "max_rounds": (1, None)}  # noqa: RUF012

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.network not in NETWORKS:
            raise ValueError(f"option 'network' must be one of {', '.join(map(repr, NETWORKS))}, got {self.network!r}")


@register_control
class CBBAControl(NegotiationProtocol):
    """CBBA, the Consensus-Based Bundle Algorithm (H.-L. Choi, L. Brunet and J. P. How, "Consensus-Based
    Decentralized Auctions for Robust Task Allocation", IEEE Trans. Robotics 25(4), 2009), per group.

    **When.** Whenever a group has ready tasks that nobody holds and an agent that holds fewer than L tasks
    (``queue_limit + 1``), one CBBA run allocates them; a run is in progress at most once per group, and the next one
    starts when this one ends if tasks and room are left, or when a task becomes ready or an agent frees up.

    **Who.** Every unfinished agent of the group takes part in the consensus (the group is the network: ``full`` or
    ``ring``); an agent's room in its bundle is L minus the tasks it holds (0 for a full one, which only relays).

    **Bundle phase.** Each agent adds, one at a time, the task of highest marginal score it would win against its
    current view of the winning bids, until its bundle is full. The score of appending task j is its reward discounted
    by the agent's estimated finish time of j after its backlog and its bundle (:func:`discounted_scores`; estimates
    from what the agent knows: replay if the class is known, else the maze's size over its speed). Appending never
    raises a later marginal score (diminishing marginal gain), the condition of CBBA's convergence. Estimates do not
    foresee that exploring a task teaches its class to the agent: that would break the diminishing gain.

    **Consensus phase.** Each agent sends its winning bids, winners and timestamps to its neighbours (one message per
    directed link per round) and applies the update/reset/leave rules of the paper's Table 1; an agent outbid on a
    bundle task releases it and every task it added after it. Rounds repeat until one changes nothing: the agreement
    (:func:`run_cbba`), conflict-free (no task in two bundles; ``tests/mechanisms/test_cbba.py``). At ``max_rounds``
    without agreement a disputed task stays with its best bidder and each removal counts as a conflict.

    **Time and messages.** Each round (a bundle phase and one exchange) costs one hop (``negotiation_latency_ticks``);
    a run costs ``rounds`` hops and ``rounds x links`` messages (links: ``s(s-1)`` full, ``2s`` ring for s > 2). Nobody
    announces or awards: after the agreement each agent executes its bundle in order (the award costs no message and
    no hop). Solutions are validated by the peers (:class:`PeerValidation`). A task waits at least one run: one round
    if ``max_rounds`` is 1, else two (a first round always adds a bid, so agreement is seen in a second one).
    """

    name: ClassVar[str] = "cbba"
    description: ClassVar[str] = "CBBA: agents build bundles of tasks and agree on the winners by consensus"
    Options: ClassVar[type] = CBBAOptions
    validation: ClassVar[type[PeerValidation]] = PeerValidation
    hops_before_start: ClassVar[int] = 1

    def __init__(self, sim) -> None:
        super().__init__(sim)
        self._pending: list[list[tuple[int, int]]] = [[] for _ in range(sim.instance.n_groups)]
        self.conflicts = 0
        self.unconverged_runs = 0
        self.consensus_rounds = 0  # bundle+consensus rounds over all runs (one hop each)

    def open_round(self, group: int, tasks: np.ndarray, bidders: list[int]) -> None:
        sim = self.sim
        options = self.options
        members = [a for a in sim.instance.group_agents(group).tolist() if self._in_network(a)]
        task_list = [int(t) for t in tasks]
        bundle_limit = options.queue_limit + 1
        capacity = np.array([max(0, bundle_limit - self.load(a)) for a in members], dtype=np.int64)
        network = full_neighbours(len(members)) if options.network == "full" else ring_neighbours(len(members))
        result = run_cbba(
            sim.instance.rewards[task_list],
            task_durations(self, members, task_list),
            np.array([self.backlog(a) for a in members], dtype=np.float64),
            capacity,
            network,
            discount=options.discount,
            time_scale=score_time_scale(self, group, task_list),
            max_rounds=options.max_rounds,
        )
        self.send(result.messages)
        for _ in range(result.conflicts):
            sim.add_conflict()
        self.conflicts += result.conflicts
        self.unconverged_runs += int(not result.converged)
        self.consensus_rounds += result.rounds
        self._pending[group] = [(task_list[j], members[i]) for i, b in enumerate(result.bundles) for j in b]
        self.after_hops(result.rounds, self._agreed, group)

    def _in_network(self, agent: int) -> bool:
        return self.sim.agent_status[agent] != AgentStatus.FINISHED

    def _agreed(self, group: int) -> None:
        """The group has agreed: each agent knows its bundle and executes it in order."""
        pending, self._pending[group] = self._pending[group], []
        for task, agent in pending:
            self.award(task, agent, messages=0, hops=0)
        self.end_round(group, retry=bool(pending))

    def mechanism_stats(self) -> dict:
        stats = super().mechanism_stats()
        stats.update(
            conflicts=self.conflicts, unconverged_runs=self.unconverged_runs, consensus_rounds=self.consensus_rounds
        )
        return stats

    @classmethod
    def task_overheads(cls, config: CESConfig) -> tuple[int, int]:
        options = cls.make_options(dict(config.control_options))
        hops = min(2, options.max_rounds)
        return hops * config.negotiation_latency_ticks, cls.validation.ticks(config)

    @classmethod
    def max_negotiation_hops(cls, config: CESConfig) -> int:
        return int(cls.make_options(dict(config.control_options)).max_rounds)


__all__ = [
    "CBBAControl",
    "CBBAOptions",
    "CBBAResult",
    "NOBODY",
    "discounted_scores",
    "full_neighbours",
    "ring_neighbours",
    "run_cbba",
    "task_durations",
]

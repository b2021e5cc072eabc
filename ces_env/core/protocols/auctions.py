"""Auctions as group control protocols: sequential sealed-bid (first-price, Vickrey), clock (English, Dutch) and a
k-double auction.

**Convention: procurement (reverse) auctions in ticks.** The group entity (the auctioneer) buys the execution of a
task; an agent's bid is its cost, the *estimated completion time* of the task if it got it
(:meth:`~ces_env.core.protocols.negotiation.NegotiationProtocol.completion_estimate`: backlog plus a replay time if
it knows the task's class, else an estimate from the maze's size and its speed). The lowest cost wins, and the price
is what the group pays the winner, in ticks of estimated work (recorded in ``payments``, reported by
``mechanism_stats()``). In the forward language of the textbooks, an agent's value for a task is ``C - cost`` for the
auction's public ceiling ``C`` (:meth:`price_ceiling`), so "the highest value wins" is "the lowest cost wins", an
ascending price ``p`` is the asking price ``C - p`` falling, and a descending one is the offer rising: the English
auction's clock moves against the bidders and ends at about the second-lowest cost (like Vickrey), the Dutch clock
moves in their favour and stops at the first acceptance (like first-price).

**The reserve price.** The buyer (the group's manager) will pay at most its *reserve* for a task,
:meth:`~ces_env.core.protocols.negotiation.NegotiationProtocol.reservation_cost` (the slowest member's exploration
estimate plus a validation: public, never a bid; the double auction's buy limit and VCG's value of a task are the
same function). In both sealed-bid auctions a bid above the reserve does not win (nobody wins if every bid is above
it: the round awards nothing and the next waits for a change), so the two rules always pick the same winner. Under
first-price the winner is paid its bid (at most the reserve: the reserve caps the price but never sets it). Under
Vickrey the reserve acts as a phantom second bid: the winner is paid ``min(second-lowest bid, reserve)``, so a lone
bidder is paid the reserve, whatever it bid; with a reserve independent of the bids, bidding one's true cost is a
weakly dominant strategy in each auction (without it a lone bidder was paid its own bid, and overstating paid as
under first-price). An idle agent's truthful bid is never above the reserve (its exploration estimate is at most the
slowest member's), so the reserve changes no fault-free allocation with ``queue_limit=0``; with ``queue_limit>0`` a
busy agent whose backlog pushes its bid above the reserve waits for a later round.

The clock auctions keep their own public bound: the English clock starts at :meth:`price_ceiling` (the slowest
member's exploration estimate with ``queue_limit=0``, one validation below the reserve), so a lone bidder is paid
that start whatever its cost (as under Vickrey, at a reserve one validation lower); the Dutch clock pays about the
winner's own cost (as first-price). A bid above the clock's bound is the ceiling fallback of :func:`english_clock`
and :func:`dutch_clock` (only overstated costs get there), not the sealed-bid rule of no award.

The pure functions (:func:`first_price_outcome`, :func:`second_price_outcome`, :func:`english_clock`,
:func:`dutch_clock`, :func:`k_double_auction`) are the auction rules alone, checked by hand in
``tests/mechanisms/test_auctions.py``; the protocols wrap them in simulated time and messages.
"""

from __future__ import annotations

import dataclasses
import math
from abc import abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from scipy.optimize import linear_sum_assignment

from ces_env.core.protocols.base import register_control
from ces_env.core.protocols.negotiation import ManagerValidation, NegotiationOptions, NegotiationProtocol
from ces_env.types import Instance

if TYPE_CHECKING:
    from ces_env.config import CESConfig


# -------------------------------------------------------------------------------------------------------- the rules
@dataclasses.dataclass(frozen=True)
class AuctionOutcome:
    """The result of one single-item auction: the winning bidder's index, the price paid to it, and for a clock
    auction the bidders called and the answers received in each round."""

    winner: int
    price: float
    calls: tuple[int, ...] = (1,)
    answers: tuple[int, ...] = (1,)

    @property
    def rounds(self) -> int:
        return len(self.calls)


def lowest_bid(bids: Sequence[float]) -> int:
    """Index of the lowest bid (ties: the lower index, e.g. the lower agent id)."""
    return int(np.argmin(np.asarray(bids, dtype=np.float64)))


def first_price_outcome(bids: Sequence[float], reserve: float = math.inf) -> AuctionOutcome | None:
    """Sealed-bid first-price procurement: the lowest bid wins if it is at most the buyer's ``reserve`` and is paid
    its own bid; ``None`` (no award) if every bid is above the reserve."""
    winner = lowest_bid(bids)
    if float(bids[winner]) > reserve:
        return None
    return AuctionOutcome(winner, float(bids[winner]))


def second_price_outcome(bids: Sequence[float], reserve: float) -> AuctionOutcome | None:
    """Sealed-bid second-price (Vickrey 1961) procurement with a reserve price: the lowest bid wins if it is at most
    the buyer's ``reserve`` and is paid the second-lowest bid or the reserve, whichever is lower (the reserve is a
    phantom bid: a lone bidder is paid the reserve); ``None`` (no award) if every bid is above the reserve. The
    winner's bid never sets its price, so bidding the true cost is weakly dominant."""
    winner = lowest_bid(bids)
    if float(bids[winner]) > reserve:
        return None
    others = [float(b) for i, b in enumerate(bids) if i != winner]
    return AuctionOutcome(winner, min([*others, float(reserve)]))


def clock_step(ceiling: float, fraction: float) -> int:
    """The clock's step in ticks: ``fraction`` of the ceiling, rounded up, at least 1."""
    return max(1, math.ceil(fraction * ceiling - 1e-9))


def english_clock(costs: Sequence[float], ceiling: float, step: float) -> AuctionOutcome:
    """English (open ascending) procurement clock: the asking price starts at ``ceiling`` and falls by ``step`` per
    round; each bidder still in answers each call, staying in while the price covers its cost. When one bidder stays
    in, it wins at that price. If the last ones all drop out in the same round the auctioneer cannot tell them apart:
    the lowest index among them wins at the previous price, which they all accepted."""
    costs = [float(c) for c in costs]
    active = list(range(len(costs)))
    price, previous = float(ceiling), None
    calls: list[int] = []
    while True:
        calls.append(len(active))
        staying = [i for i in active if costs[i] <= price]
        if len(staying) == 1:
            return AuctionOutcome(staying[0], price, tuple(calls), tuple(calls))
        # everyone dropped at this price; at the ceiling only when every bid is above it (overstated costs: faults'
        # misreporting), and the auctioneer, who sees no bids, gives the task to the lowest index at the ceiling
        if not staying:
            return AuctionOutcome(
                min(active), float(ceiling) if previous is None else previous, tuple(calls), tuple(calls)
            )
        active, previous, price = staying, price, price - step


def dutch_clock(costs: Sequence[float], ceiling: float, step: float) -> AuctionOutcome:
    """Dutch (open descending) procurement clock: the offered price starts at ``step`` and rises by ``step`` per
    round up to ``ceiling``; every call goes to every bidder and a bidder accepts as soon as the price covers its cost.
    The first round with an acceptance ends the auction: the accepting bidder (the lowest index if several accept at
    once) wins at that price. At the ceiling the lowest index wins: nobody accepted (every bid is above the ceiling, as
    only an overstated cost can be) and the auctioneer sees no bids to choose by."""
    costs = [float(c) for c in costs]
    price = min(float(step), float(ceiling))
    calls: list[int] = []
    answers: list[int] = []
    while True:
        calls.append(len(costs))
        accepting = [i for i, c in enumerate(costs) if c <= price]
        answers.append(len(accepting))
        if accepting or price >= ceiling:
            winner = accepting[0] if accepting else 0
            return AuctionOutcome(winner, price, tuple(calls), tuple(answers))
        price = min(price + step, float(ceiling))


@dataclasses.dataclass(frozen=True)
class DoubleAuctionOutcome:
    """A k-double auction's clearing: the trading buyers and sellers (indices, best first) and the uniform price."""

    buyers: tuple[int, ...]
    sellers: tuple[int, ...]
    price: float

    @property
    def trades(self) -> int:
        return len(self.buyers)


def k_double_auction(buy: Sequence[float], sell: Sequence[float], k: float) -> DoubleAuctionOutcome:
    """Clear a call market (the k-double auction of Chatterjee & Samuelson 1983 and Satterthwaite & Williams 1989).

    Buy bids are sorted high to low, sell asks low to high (ties: the lower index first). The number of trades q is
    the largest with ``buy_(q) >= sell_(q)``; the q best buyers trade with the q best sellers at one price
    ``k * buy_(q) + (1 - k) * sell_(q)``, inside the marginal pair's interval: every trader gains (individually
    rational) and buyers pay what sellers receive (budget balanced)."""
    buy_order = sorted(range(len(buy)), key=lambda j: (-float(buy[j]), j))
    sell_order = sorted(range(len(sell)), key=lambda i: (float(sell[i]), i))
    q = 0
    while q < min(len(buy), len(sell)) and float(buy[buy_order[q]]) >= float(sell[sell_order[q]]):
        q += 1
    if q == 0:
        return DoubleAuctionOutcome((), (), math.nan)
    price = k * float(buy[buy_order[q - 1]]) + (1 - k) * float(sell[sell_order[q - 1]])
    return DoubleAuctionOutcome(tuple(buy_order[:q]), tuple(sell_order[:q]), price)


# -------------------------------------------------------------------------------------------------------- sequential
class SequentialAuction(NegotiationProtocol):
    """Sequential single-item auctions per group: one task at a time, the highest reward first; the auctioneer (the
    group entity) opens the next auction as soon as one closes. Validation by the auctioneer (a FIFO single server).

    Sequential auctions serialise a group's negotiations: each takes at least two hops of the auctioneer's time (the
    call, the answers), so a group's makespan is at least ``|lambda_g| * 2 * latency`` plus the last task's award
    hop, a tick of work and its validation (:meth:`resource_bound`)."""

    validation: ClassVar[type[ManagerValidation]] = ManagerValidation

    @classmethod
    def resource_bound(cls, instance: Instance, config: CESConfig) -> int:
        tasks_per_group = int(np.bincount(instance.task_group, minlength=instance.n_groups).max())
        latency = config.negotiation_latency_ticks
        serial = tasks_per_group * 2 * latency + latency + 1 + cls.validation.ticks(config)
        return max(super().resource_bound(instance, config), serial)


@dataclasses.dataclass(frozen=True)
class SealedBidOptions(NegotiationOptions):
    """Options of the sealed-bid auctions."""

    markup: float = 0.0
    """Bid shading: every agent bids its estimated completion time times ``1 + markup`` (first-price bidders ask
    above cost in equilibrium; Vickrey bidders have no reason to, the rule is the same for comparability), but never
    above the public reserve unless its cost already is (nobody asks a price the buyer is known to refuse). A uniform
    markup changes the payments, never the winner, except between bids the reserve caps to the same value."""

    OPTION_BOUNDS = {"markup": (0.0, None)}  # noqa: RUF012  (a plain class attribute, not a field)


class SealedBidAuction(SequentialAuction):
    """A sequential sealed-bid auction: the call for bids (one message per bidder, one hop), the sealed bids (one
    message each, one hop), the award (one message, one hop; ``notify_losers``: one rejection per losing bid)."""

    Options: ClassVar[type] = SealedBidOptions

    @staticmethod
    @abstractmethod
    def pricing(bids: Sequence[float], reserve: float) -> AuctionOutcome | None:
        """The auction's rule: winner and price from the sealed bids and the buyer's reserve (``None``: no award)."""
        ...

    def __init__(self, sim) -> None:
        super().__init__(sim)
        n_groups = sim.instance.n_groups
        self._task = np.full(n_groups, -1, dtype=np.int64)
        self._bidders: list[list[int]] = [[] for _ in range(n_groups)]
        self._bids: list[list[float]] = [[] for _ in range(n_groups)]
        self._true_bids: list[list[float]] = [[] for _ in range(n_groups)]

    def open_round(self, group: int, tasks: np.ndarray, bidders: list[int]) -> None:
        self._task[group], self._bidders[group] = int(tasks[0]), bidders
        self.send(len(bidders))  # the call for bids
        self.after_hops(1, self._bid, group)

    def _bid(self, group: int) -> None:
        task, scale = int(self._task[group]), 1.0 + self.options.markup
        reserve = float(self.reservation_cost(group, task))
        # the bids, and the agents' true costs fixed when they bid (the same function as the bid, telling the truth)
        estimates, true_costs = self.reported_and_true_estimates(self._bidders[group], task)
        self._bids[group] = [min(e * scale, max(e, reserve)) for e in map(float, estimates)]
        self._true_bids[group] = [float(c) for c in true_costs]
        self.send(len(self._bidders[group]))
        self.after_hops(1, self._close, group)

    def _close(self, group: int) -> None:
        bidders, bids, task = self._bidders[group], self._bids[group], int(self._task[group])
        outcome = self.pricing(bids, float(self.reservation_cost(group, task)))
        if outcome is None:  # every bid above the reserve: nobody wins, the next round waits for a change
            if self.options.notify_losers:
                self.send(len(bidders))
            self.end_round(group, retry=False)
            return
        self.award(task, bidders[outcome.winner], outcome.price, true_cost=self._true_bids[group][outcome.winner])
        if self.options.notify_losers:
            self.send(len(bidders) - 1)
        self.end_round(group)


@register_control
class FirstPriceAuction(SealedBidAuction):
    """Sequential sealed-bid first-price procurement auctions (one task at a time, highest reward first): every agent
    that may take a task bids its estimated completion time (times ``1 + markup``); the lowest bid wins if it is at
    most the reserve (:meth:`reservation_cost`) and is paid its own bid. See the module docstring for the convention
    and the reserve, and :class:`SequentialAuction` for the timing."""

    name: ClassVar[str] = "auction-first-price"
    description: ClassVar[str] = "sequential sealed-bid first-price auctions: lowest completion time wins, paid its bid"

    @staticmethod
    def pricing(bids: Sequence[float], reserve: float) -> AuctionOutcome | None:
        return first_price_outcome(bids, reserve)


@register_control
class VickreyAuction(SealedBidAuction):
    """Sequential sealed-bid second-price procurement auctions (W. Vickrey, "Counterspeculation, Auctions, and
    Competitive Sealed Tenders", J. Finance 16(1), 1961) with a reserve price: the lowest bid wins if it is at most
    the reserve (:meth:`reservation_cost`) and is paid the second-lowest bid or the reserve, whichever is lower (a
    lone bidder is paid the reserve), so bidding one's true cost is a weakly dominant strategy in each auction. Same
    calls, bids, winners and timing as ``auction-first-price``."""

    name: ClassVar[str] = "auction-vickrey"
    description: ClassVar[str] = "sequential sealed-bid second-price auctions: lowest completion time wins, paid 2nd"

    @staticmethod
    def pricing(bids: Sequence[float], reserve: float) -> AuctionOutcome | None:
        return second_price_outcome(bids, reserve)


# -------------------------------------------------------------------------------------------------------- clocks
@dataclasses.dataclass(frozen=True)
class ClockOptions(NegotiationOptions):
    """Options of the clock auctions."""

    step_fraction: float = 0.05
    """The clock's step per round as a fraction of the auction's ceiling (rounded up to whole ticks, at least 1):
    the English clock's increment (its asking price's decrement), the Dutch clock's decrement (its offer's
    increment). It bounds the rounds of an auction by about ``1 / step_fraction``."""

    OPTION_BOUNDS = {"step_fraction": (0.001, 1.0)}  # noqa: RUF012  (a plain class attribute, not a field)


class ClockAuction(SequentialAuction):
    """A sequential clock auction: one task at a time, highest reward first, each round a call (one hop) and its
    answers (one hop), then the award (one hop). The bidders' costs are fixed when the first call reaches them
    (private values); the clock starts from the task's public ceiling (:meth:`price_ceiling`, above every bid)."""

    Options: ClassVar[type] = ClockOptions

    @staticmethod
    @abstractmethod
    def clock(costs: Sequence[float], ceiling: float, step: float) -> AuctionOutcome:
        """The clock's rule: winner, price and rounds from the bidders' costs."""
        ...

    def __init__(self, sim) -> None:
        super().__init__(sim)
        n_groups = sim.instance.n_groups
        self._task = np.full(n_groups, -1, dtype=np.int64)
        self._bidders: list[list[int]] = [[] for _ in range(n_groups)]
        self._outcome: list[AuctionOutcome | None] = [None] * n_groups
        self._true_costs: list[list[float]] = [[] for _ in range(n_groups)]
        self._round = np.zeros(n_groups, dtype=np.int64)
        self.clock_rounds = 0

    def open_round(self, group: int, tasks: np.ndarray, bidders: list[int]) -> None:
        self._task[group], self._bidders[group] = int(tasks[0]), bidders
        self._outcome[group], self._round[group] = None, 0
        self.send(len(bidders))  # the first call goes to every bidder
        self.after_hops(1, self._answers, group)

    def _answers(self, group: int) -> None:
        outcome = self._outcome[group]
        if outcome is None:  # the first call has arrived: the bidders' costs are their private values from now on
            task = int(self._task[group])
            costs, true_costs = self.reported_and_true_estimates(self._bidders[group], task)
            self._true_costs[group] = [float(c) for c in true_costs]
            ceiling = self.price_ceiling(group, task)
            step = clock_step(ceiling, self.options.step_fraction)
            outcome = self._outcome[group] = self.clock(costs, ceiling, step)
        self.send(outcome.answers[int(self._round[group])])
        self.after_hops(1, self._next_call, group)

    def _next_call(self, group: int) -> None:
        outcome = self._outcome[group]
        assert outcome is not None, "a clock round closed before it opened"
        self._round[group] += 1
        self.clock_rounds += 1
        if self._round[group] < outcome.rounds:
            self.send(outcome.calls[int(self._round[group])])
            self.after_hops(1, self._answers, group)
            return
        bidders = self._bidders[group]
        true_cost = self._true_costs[group][outcome.winner]
        self.award(int(self._task[group]), bidders[outcome.winner], outcome.price, true_cost=true_cost)
        if self.options.notify_losers:
            self.send(len(bidders) - 1)
        self._outcome[group] = None
        self.end_round(group)

    @classmethod
    def max_negotiation_hops(cls, config: CESConfig) -> int:
        """Each round is two hops, plus the award; at most ``floor(1 / step_fraction) + 2`` rounds (English: the
        price falls from the ceiling to below every cost; Dutch: the offer rises to the ceiling)."""
        fraction = cls.make_options(dict(config.control_options)).step_fraction
        return 2 * (math.floor(1.0 / fraction + 1e-9) + 2) + 1

    def mechanism_stats(self) -> dict:
        return {**super().mechanism_stats(), "clock_rounds": int(self.clock_rounds)}


@register_control
class EnglishAuction(ClockAuction):
    """Sequential English auctions (open ascending price in the forward language; here a procurement clock whose
    asking price falls from the task's ceiling by ``step_fraction`` of it per round). Every bidder still in answers
    each call (one message each way per bidder and round) and stays in while the price covers its cost; the last one
    in wins at the current price, about the second-lowest cost (:func:`english_clock`). Rounds cost two hops each."""

    name: ClassVar[str] = "auction-english"
    description: ClassVar[str] = "sequential English clock auctions: price moves until one bidder is left"

    @staticmethod
    def clock(costs: Sequence[float], ceiling: float, step: float) -> AuctionOutcome:
        return english_clock(costs, ceiling, step)


@register_control
class DutchAuction(ClockAuction):
    """Sequential Dutch auctions (open descending price in the forward language; here a procurement clock whose offer
    rises by ``step_fraction`` of the task's ceiling per round). Each round's call goes to every bidder; a bidder
    accepts (one message) as soon as the offer covers its cost, and the first acceptance wins at that price, about
    the winner's own cost (:func:`dutch_clock`). Rounds cost two hops each (the call, the window for acceptances)."""

    name: ClassVar[str] = "auction-dutch"
    description: ClassVar[str] = "sequential Dutch clock auctions: offer rises until a bidder accepts"

    @staticmethod
    def clock(costs: Sequence[float], ceiling: float, step: float) -> AuctionOutcome:
        return dutch_clock(costs, ceiling, step)


# -------------------------------------------------------------------------------------------------------- double
@dataclasses.dataclass(frozen=True)
class DoubleAuctionOptions(NegotiationOptions):
    """Options of ``auction-double``."""

    k: float = 0.5
    """Where the clearing price lies in the marginal pair's interval: 0 the ask, 1 the bid, 0.5 the middle."""

    OPTION_BOUNDS = {"k": (0.0, 1.0)}  # noqa: RUF012  (a plain class attribute, not a field)


@register_control
class DoubleAuction(NegotiationProtocol):
    """A k-double auction (call market) for work inside each group (Chatterjee & Samuelson 1983; Satterthwaite &
    Williams, "The Rate of Convergence to Efficiency in the Buyer's Bid Double Auction", J. Econ. Theory 48, 1989).

    **Orders.** The group posts a *request for work* (a buy order) for each open task, at the task's reservation cost
    (:meth:`reservation_cost`: the slowest member's exploration estimate plus a validation, what the group expects to
    pay at worst). Each agent that may bid posts an *offer of work* (a sell order): its ask is its lowest estimated
    completion time over the open tasks, and the offer lists its estimate for each of them.

    **Clearing.** The market clears with :func:`k_double_auction`: the q requests with the highest limits trade with
    the q cheapest offers at one price (budget balanced: every traded task pays it, every trading agent receives it);
    the trading agents are matched to the traded tasks at the least total estimated time (Hungarian algorithm). With
    agents that hold nothing (the default ``queue_limit=0``) every ask is below every limit, so the market clears
    ``min(tasks, agents)`` trades; offers or requests that do not trade wait for the next call, which opens when this
    one closes, or when an agent frees up.

    **Messages and time.** The call for offers (one per agent, one hop), the offers (one each, one hop), the trades
    (one message per traded task, one hop); ``notify_losers`` tells each agent that did not trade (one message each).
    The market maker (the group entity) validates solutions as a FIFO single server.

    **Limitation: groups do not trade with each other.** The glossary's double auction has groups both offer work
    (more ready tasks than free agents) and request it (free agents, no ready work). The model keeps execution and
    knowledge inside a group: a task is completed by an agent of its own group (an invariant of the test suite), the
    lower bound counts only a group's own agents for its work, and an agent whose group has finished stops. So this
    market clears inside each group, between the group's requests (its tasks) and its agents' offers (their time).
    A cross-group market needs a simulator service that lets an agent execute (and keep serving) another group's
    task, with the lower bound's work term pooled over the groups that trade.
    """

    name: ClassVar[str] = "auction-double"
    description: ClassVar[str] = "k-double auction per group: task requests and agents' offers clear at one price"
    Options: ClassVar[type] = DoubleAuctionOptions
    validation: ClassVar[type[ManagerValidation]] = ManagerValidation

    def __init__(self, sim) -> None:
        super().__init__(sim)
        n_groups = sim.instance.n_groups
        self._tasks: list[list[int]] = [[] for _ in range(n_groups)]
        self._bidders: list[list[int]] = [[] for _ in range(n_groups)]
        self._estimates: list[np.ndarray | None] = [None] * n_groups
        self._true_estimates: list[np.ndarray | None] = [None] * n_groups
        self.trades = 0
        self.clearing_prices: list[float] = []
        self.requests_paid = 0.0  # what the traded tasks paid (equals what the trading agents received)

    def open_round(self, group: int, tasks: np.ndarray, bidders: list[int]) -> None:
        self._tasks[group], self._bidders[group] = [int(t) for t in tasks], bidders
        self.send(len(bidders))  # the call for offers
        self.after_hops(1, self._offers, group)

    def _offers(self, group: int) -> None:
        tasks, bidders = self._tasks[group], self._bidders[group]
        self._estimates[group] = np.array(
            [self.completion_estimates(a, tasks) for a in bidders], dtype=np.float64
        ).reshape(len(bidders), len(tasks))
        self._true_estimates[group] = np.array(
            [self.completion_estimates(a, tasks, truthful=True) for a in bidders], dtype=np.float64
        ).reshape(len(bidders), len(tasks))
        self.send(len(bidders))
        self.after_hops(1, self._clear, group)

    def _clear(self, group: int) -> None:
        tasks, bidders, estimates = self._tasks[group], self._bidders[group], self._estimates[group]
        true_estimates = self._true_estimates[group]
        assert estimates is not None and true_estimates is not None, "auction-double: clearing before the offers"
        self._estimates[group] = self._true_estimates[group] = None
        limits = [float(self.reservation_cost(group, t)) for t in tasks]
        outcome = k_double_auction(limits, estimates.min(axis=1), self.options.k)
        if not outcome.trades:
            self.end_round(group, retry=False)
            return
        buyers, sellers = list(outcome.buyers), list(outcome.sellers)
        rows, cols = linear_sum_assignment(estimates[np.ix_(sellers, buyers)])
        for r, c in sorted(zip(rows.tolist(), cols.tolist()), key=lambda rc: rc[1]):
            true_cost = float(true_estimates[sellers[r], buyers[c]])
            self.award(tasks[buyers[c]], bidders[sellers[r]], outcome.price, true_cost=true_cost)
        self.trades += outcome.trades
        self.clearing_prices.append(outcome.price)
        self.requests_paid += outcome.price * outcome.trades
        if self.options.notify_losers:
            self.send(len(bidders) - outcome.trades)
        self.end_round(group)

    def mechanism_stats(self) -> dict:
        return {
            **super().mechanism_stats(),
            "trades": int(self.trades),
            "mean_clearing_price": float(np.mean(self.clearing_prices)) if self.clearing_prices else 0.0,
            "budget_surplus": float(self.requests_paid - self.payments.sum()),
        }


__all__ = [
    "AuctionOutcome",
    "ClockAuction",
    "DoubleAuction",
    "DoubleAuctionOutcome",
    "DutchAuction",
    "EnglishAuction",
    "FirstPriceAuction",
    "SealedBidAuction",
    "SequentialAuction",
    "VickreyAuction",
    "clock_step",
    "dutch_clock",
    "english_clock",
    "first_price_outcome",
    "k_double_auction",
    "lowest_bid",
    "second_price_outcome",
]

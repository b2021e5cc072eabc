"""Auctions and Contract Net by hand, where the mechanism tests left room: the clocks' fallbacks when no bid is under
the ceiling, the bound on a clock's hops, rejections counted under ``notify_losers``, the double auction's stats over
several clearings and after a market that did not clear, and Contract Net's ``batch_size``.

Written for the mutants of ``ces_env/core/protocols/auctions.py`` and ``contract_net.py`` that the mechanism tests let
live (issue 15, ``reports/mutation.md``). The two-agent case (``tests.mechanisms.cases``): one group, agents 0 (speed
1) and 1 (speed 2), tasks in 4x5 mazes (20 cells) whose classes nobody knows, so the agents' estimates are 19 and 10
ticks; hops take ``negotiation_latency_ticks`` = 3 ticks and a validation ``validate_service_ticks`` = 4 ticks.
"""

from __future__ import annotations

import contextlib
import signal

import pytest

from ces_env.config import CESConfig
from ces_env.core.protocols.auctions import DutchAuction, EnglishAuction, dutch_clock, english_clock, k_double_auction
from tests.golden_helpers import build_instance, corridor_maze
from tests.mechanisms.cases import TWO_AGENT_COSTS, run_on_instance, two_agent_instance

LIMIT = 19 + 4
"""The double auction's limit for a task of the two-agent case: the slowest member's exploration estimate (19) plus a
validation (4)."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Fail (TimeoutError) instead of hanging when the code under test does not return within ``seconds``."""

    def expire(signum, frame):
        raise TimeoutError(f"no result within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ------------------------------------------------------------------------------------------------ clock rules
def test_dutch_clock_stops_at_the_ceiling_when_nobody_accepts():
    """Costs 40 and 50, both above the ceiling 30 (a misreporting agent's bid can be): the offer rises 10, 20, 30
    with no acceptance; at the ceiling the clock stops (it does not spin there) and bidder 0 wins at 30, after 3
    calls to both bidders and no answers."""
    with _time_limit(1.0):
        outcome = dutch_clock([40, 50], ceiling=30, step=10)
    assert (outcome.winner, outcome.price, outcome.rounds) == (0, 30, 3)
    assert outcome.calls == (2, 2, 2) and outcome.answers == (0, 0, 0)


def test_english_clock_when_everyone_drops_at_the_first_call():
    """Costs 40 and 50 above the ceiling 30: at the first asking price (30) nobody stays in; there is no previous
    price, so bidder 0 wins at the ceiling, 30.0, after one call to both bidders."""
    outcome = english_clock([40, 50], ceiling=30, step=10)
    assert (outcome.winner, outcome.price, outcome.calls) == (0, 30.0, (2,))


def test_english_clock_when_the_last_bidders_drop_below_the_ceiling():
    """Costs 10 and 10 from 15 by 3: both stay at 15 and at 12, both drop at 9; bidder 0 wins at the previous price
    12 (the last one both accepted), not at the ceiling 15, after 3 calls to both."""
    outcome = english_clock([10, 10], ceiling=15, step=3)
    assert (outcome.winner, outcome.price, outcome.calls) == (0, 12.0, (2, 2, 2))


def test_k_double_auction_without_trades_has_no_traders():
    """Limit 5 below the ask 6: no trade, so both trader lists are empty tuples (and the price is undefined)."""
    outcome = k_double_auction([5.0], [6.0], k=0.5)
    assert outcome.buyers == () and outcome.sellers == ()


# ------------------------------------------------------------------------------------------------ clock protocols
@pytest.mark.parametrize("step_fraction", [0.05, 0.3])
def test_clock_auctions_bound_their_hops(step_fraction):
    """At most ``floor(1 / f) + 2`` rounds of two hops each, plus the award hop: f = 0.05 gives floor(20) + 2 = 22
    rounds, 2 * 22 + 1 = 45 hops (1 / 0.05 is exactly 20 in floating point: the 1e-9 keeps it 20); f = 0.3 gives
    floor(3.33) + 2 = 5 rounds, 11 hops."""
    expected = {0.05: 45, 0.3: 11}[step_fraction]
    for control in (EnglishAuction, DutchAuction):
        config = CESConfig(control=control.name, control_options={"step_fraction": step_fraction})
        assert control.max_negotiation_hops(config) == expected


@pytest.mark.parametrize(("control", "silent"), [("auction-english", 9), ("auction-dutch", 22)])
def test_clock_auctions_reject_each_loser_once(control, silent):
    """Costs 19 and 10, ceiling 19, step 1. English: calls to both at 19 and 18 and both answer each (2 + 2 + 2 + 2),
    the award: 9. Dutch: 10 calls to both (offers 1..10), one acceptance, the award: 22. ``notify_losers`` adds one
    rejection for the one loser (2 bidders - 1)."""
    _, sim = run_on_instance(control, two_agent_instance())
    assert sim.control.negotiation_messages == silent
    _, sim = run_on_instance(control, two_agent_instance(), control_options={"notify_losers": True})
    assert sim.control.negotiation_messages == silent + 1


# ------------------------------------------------------------------------------------------------ double auction
def test_double_auction_rejects_each_agent_that_did_not_trade():
    """One request, two offers (asks 19 and 10): one trade. The call (2), the offers (2), the trade (1), and with
    ``notify_losers`` one rejection for the agent that did not trade (2 - 1): 6 messages."""
    _, sim = run_on_instance("auction-double", two_agent_instance(), control_options={"notify_losers": True})
    assert sim.control.negotiation_messages == 2 + 2 + 1 + 1


def test_double_auction_stats_add_up_over_clearings():
    """Three tasks (limits 23 each), asks 19 and 10. Clearing 1: q = 2 (23 >= 10, 23 >= 19), price (23 + 19) / 2 = 21
    paid to both agents. Task 2 waits for a free agent; agent 1 takes it (``completed_by``) as the best ask, which
    is its idle estimate 10 (one request: q = 1): price (23 + 10) / 2 = 16.5. Trades 3 over both clearings, mean
    price (21 + 16.5) / 2 = 18.75, and the requests paid 2 * 21 + 16.5 = 58.5, what the agents received: surplus 0."""
    _, sim = run_on_instance("auction-double", two_agent_instance(3))
    assert TWO_AGENT_COSTS == (19, 10) and sim.completed_by.tolist() == [1, 0, 1]
    assert sim.control.clearing_prices == [(LIMIT + 19) / 2, (LIMIT + 10) / 2]
    stats = sim.control.mechanism_stats()
    assert stats["trades"] == 3 and stats["mean_clearing_price"] == 18.75
    assert sim.control.requests_paid == 58.5 and stats["payments_total"] == 58.5 and stats["budget_surplus"] == 0.0


def test_double_auction_stats_before_any_clearing():
    """``max_ticks=5`` ends the episode before the first clearing (call at 0, offers at 3, clearing at 6): no trade,
    no clearing price, and the mean clearing price reports 0.0 (not NaN)."""
    _, sim = run_on_instance("auction-double", two_agent_instance(), max_ticks=5)
    stats = sim.control.mechanism_stats()
    assert stats["trades"] == 0 and stats["mean_clearing_price"] == 0.0 and stats["budget_surplus"] == 0.0


def test_double_auction_waits_after_a_market_that_did_not_clear():
    """Three tasks in 19-move corridors (20 cells: estimates 19 and 10 ticks, and the walks take exactly 19 and 10
    ticks), ``queue_limit=1``; the episode starts at t=2 (the split into one group), hops take 3 ticks. Clearing 1
    (t=8): tasks 0 and 1 at (23 + 19) / 2 = 21; the awards arrive and both agents start at t=11. Round 2 opens at once
    (each agent holds one task, within the limit); at its offers (t=11) the asks are 19 + 4 + 19 = 42 and 10 + 4 + 10
    = 24, above the limit 23: no trade (t=14), and no retry. Agent 1 frees up at 11 + 10 + 4 = 25; in round 3 its idle
    ask is 10 (agent 0's: 19 - 17 + 4 + 19 = 25), so it trades at (23 + 10) / 2 = 16.5. (Retrying at t=14 would clear
    at t=20 against agent 1's busy ask 10 - 6 + 4 + 10 = 18: 20.5.) Messages: 2 + 2 + 2, then 2 + 2, then 2 + 2 + 1."""
    instance = build_instance(
        edges=[],
        rewards=[3.0, 2.0, 1.0],
        task_class=[0, 1, 2],
        mazes=[corridor_maze(19)] * 3,
        agent_group=[0, 0],
        agent_speed=[1.0, 2.0],
    )
    _, sim = run_on_instance("auction-double", instance, control_options={"queue_limit": 1})
    assert sim.control.rounds.tolist() == [3] and sim.completed_by.tolist() == [1, 0, 1]
    assert sim.control.clearing_prices == [21.0, 16.5] and sim.control.trades == 3
    assert sim.control.negotiation_messages == 6 + 4 + 5


# ------------------------------------------------------------------------------------------------ contract net
def test_contract_net_rejects_each_losing_bid():
    """One task, two contractors: announcements 1 x 2, bids 2, award 1; ``notify_losers`` rejects the one losing bid
    (2 bids - 1 award): 6 messages."""
    _, sim = run_on_instance("contract-net", two_agent_instance(), control_options={"notify_losers": True})
    assert sim.control.negotiation_messages == 2 + 2 + 1 + 1


def test_contract_net_batch_size_announces_one_task_per_round():
    """``batch_size=1``, three tasks: each round announces only the highest-reward open task and awards it, so three
    rounds. Round 1: task 0 to both (2 + 2 bids + 1 award), agent 1 wins (10 < 19); round 2 at once: task 1 to agent
    0, the only free one (1 + 1 + 1); round 3 when one agent frees up: task 2 to it alone (3): 11 messages. Announcing
    every task would award tasks 0 and 1 in round 1 (14 messages) and need 2 rounds."""
    _, sim = run_on_instance("contract-net", two_agent_instance(3), control_options={"batch_size": 1})
    assert sim.control.rounds.tolist() == [3] and sim.completed_by.tolist() == [1, 0, 1]
    assert sim.control.negotiation_messages == 5 + 3 + 3

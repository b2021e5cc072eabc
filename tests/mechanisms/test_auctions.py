"""Auctions by hand: who wins and what it is paid, in the rules alone and in simulated episodes."""

from __future__ import annotations

import math

import pytest

from ces_env.core.protocols.auctions import (
    clock_step,
    dutch_clock,
    english_clock,
    first_price_outcome,
    k_double_auction,
    second_price_outcome,
)
from tests.mechanisms.cases import TWO_AGENT_COSTS, run_on_instance, two_agent_instance


# ------------------------------------------------------------------------------------------------ sealed bids
def test_first_price_winner_is_paid_its_bid():
    outcome = first_price_outcome([14.0, 10.0, 20.0])
    assert (outcome.winner, outcome.price) == (1, 10.0)


def test_vickrey_winner_is_paid_the_second_price():
    outcome = second_price_outcome([14.0, 10.0, 20.0])
    assert (outcome.winner, outcome.price) == (1, 14.0)
    tie = second_price_outcome([7.0, 7.0])  # the lower index wins a tie, paid the equal second bid
    assert (tie.winner, tie.price) == (0, 7.0)
    alone = second_price_outcome([9.0])  # no reserve price: a lone bidder is paid its own bid
    assert (alone.winner, alone.price) == (0, 9.0)


@pytest.mark.parametrize(("control", "price"), [("auction-first-price", 10.0), ("auction-vickrey", 19.0)])
def test_payments_recorded_in_an_episode(control, price):
    """Bids 19 (agent 0) and 10 (agent 1): agent 1 wins; first-price pays its bid, Vickrey the other bid."""
    _, sim = run_on_instance(control, two_agent_instance())
    assert sim.control.payments.tolist() == [0.0, price]
    assert sim.control.mechanism_stats()["payments_total"] == price


def test_first_price_markup_scales_the_payment_not_the_winner():
    _, sim = run_on_instance("auction-first-price", two_agent_instance(), control_options={"markup": 0.5})
    assert sim.control.payments.tolist() == [0.0, 15.0] and sim.completed_by[0] == 1


# ------------------------------------------------------------------------------------------------ clocks
def test_english_clock_ends_near_the_second_cost():
    """Costs 10, 14, 20, asking price from 30 down by 3: 30, 27, 24, 21 (all in), 18 and 15 (10 and 14 in), 12
    (only 10 in): bidder 0 wins at 12 after 7 rounds. Each call goes to the bidders in at the previous price and
    each of them answers (stay or drop): three until 18, where the 20 drops, two at 15 and 12."""
    outcome = english_clock([10, 14, 20], ceiling=30, step=3)
    assert (outcome.winner, outcome.price, outcome.rounds) == (0, 12, 7)
    assert outcome.calls == (3, 3, 3, 3, 3, 2, 2) and outcome.answers == outcome.calls


def test_english_clock_when_the_last_bidders_drop_together():
    """Costs 10 and 10 from 12 by 3: both stay at 12, both drop at 9: bidder 0 wins at 12, the price both took."""
    outcome = english_clock([10, 10], ceiling=12, step=3)
    assert (outcome.winner, outcome.price, outcome.rounds) == (0, 12, 2)


def test_dutch_clock_stops_at_the_first_acceptance():
    """Costs 10, 14, 20, offer 3, 6, 9, 12: bidder 0 accepts 12 (the first offer >= 10) in round 4; every call goes
    to every bidder, one acceptance comes back."""
    outcome = dutch_clock([10, 14, 20], ceiling=30, step=3)
    assert (outcome.winner, outcome.price, outcome.rounds) == (0, 12, 4)
    assert outcome.calls == (3, 3, 3, 3) and outcome.answers == (0, 0, 0, 1)


def test_clock_step_is_a_fraction_of_the_ceiling_in_whole_ticks():
    assert clock_step(19, 0.05) == 1 and clock_step(400, 0.05) == 20 and clock_step(3, 0.01) == 1


@pytest.mark.parametrize(("control", "price"), [("auction-english", 18), ("auction-dutch", 10)])
def test_clock_auctions_in_an_episode(control, price):
    """Costs 19 and 10, ceiling 19, step 1: English asks 19 (both in) then 18 (only agent 1): paid 18; Dutch offers
    1, 2, ..., 10: agent 1 accepts 10."""
    _, sim = run_on_instance(control, two_agent_instance())
    assert TWO_AGENT_COSTS == (19, 10)
    assert sim.control.payments.tolist() == [0.0, price] and sim.completed_by[0] == 1
    assert sim.control.mechanism_stats()["clock_rounds"] == (2 if control == "auction-english" else 10)


# ------------------------------------------------------------------------------------------------ double auction
def test_k_double_auction_clears_at_the_marginal_pair():
    """Buy limits 30, 25, 12 and asks 8, 20, 28: pairs (30, 8) and (25, 20) trade, (12, 28) does not; with k=0.5 the
    price is the middle of the marginal pair [20, 25]."""
    outcome = k_double_auction([12.0, 30.0, 25.0], [20.0, 28.0, 8.0], k=0.5)
    assert outcome.buyers == (1, 2) and outcome.sellers == (2, 0) and outcome.price == 22.5
    assert k_double_auction([12.0, 30.0, 25.0], [20.0, 28.0, 8.0], k=0.0).price == 20.0
    assert k_double_auction([12.0, 30.0, 25.0], [20.0, 28.0, 8.0], k=1.0).price == 25.0
    none = k_double_auction([5.0], [6.0], k=0.5)
    assert none.trades == 0 and math.isnan(none.price)


def test_double_auction_in_an_episode_is_budget_balanced():
    """One request at the reservation cost 19 + 4 (the slowest exploration plus a validation) and asks 19 and 10:
    one trade, with the fast agent, at (23 + 10) / 2; what the task pays is what the agent receives."""
    _, sim = run_on_instance("auction-double", two_agent_instance())
    assert sim.control.payments.tolist() == [0.0, 16.5] and sim.completed_by[0] == 1
    stats = sim.control.mechanism_stats()
    assert stats["trades"] == 1 and stats["budget_surplus"] == 0.0

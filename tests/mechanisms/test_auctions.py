"""Auctions by hand: who wins and what it is paid, in the rules alone and in simulated episodes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ces_env
from ces_baselines.mechanisms import MechanismPolicy
from ces_env.core.protocols.auctions import (
    clock_step,
    dutch_clock,
    english_clock,
    first_price_outcome,
    k_double_auction,
    second_price_outcome,
)
from ces_env.runner import run_episode
from tests.mechanisms.cases import TWO_AGENT_COSTS, run_on_instance, two_agent_instance


# ------------------------------------------------------------------------------------------------ sealed bids
def test_first_price_winner_is_paid_its_bid():
    outcome = first_price_outcome([14.0, 10.0, 20.0])
    assert (outcome.winner, outcome.price) == (1, 10.0)


def test_vickrey_winner_is_paid_the_second_price():
    outcome = second_price_outcome([14.0, 10.0, 20.0], reserve=30.0)
    assert (outcome.winner, outcome.price) == (1, 14.0)
    tie = second_price_outcome([7.0, 7.0], reserve=30.0)  # the lower index wins a tie, paid the equal second bid
    assert (tie.winner, tie.price) == (0, 7.0)


def test_the_reserve_pays_a_lone_vickrey_bidder_and_caps_the_second_price():
    """Reserve 23: a lone bidder is paid 23 whatever it bids (9 or 23); with a second bid of 30 the reserve (23) is
    the lower of the two, so it sets the price."""
    for bid in (9.0, 23.0):
        alone = second_price_outcome([bid], reserve=23.0)
        assert (alone.winner, alone.price) == (0, 23.0)
    capped = second_price_outcome([30.0, 10.0], reserve=23.0)
    assert (capped.winner, capped.price) == (1, 23.0)


def test_a_bid_above_the_reserve_does_not_win_under_either_rule():
    """Bids 24 and 30 against a reserve of 23: no award under first-price or Vickrey; first-price pays a bid at or
    below the reserve (the reserve caps, it does not set, the price)."""
    assert second_price_outcome([24.0, 30.0], reserve=23.0) is None
    assert first_price_outcome([24.0, 30.0], reserve=23.0) is None
    assert first_price_outcome([24.0, 12.0], reserve=23.0) == first_price_outcome([24.0, 12.0])
    assert first_price_outcome([23.0], reserve=23.0).price == 23.0


def _utility(rule, true_costs: list[int], reports: list[int], reserve: int, agent: int) -> float:
    """``agent``'s utility (price - true cost if it wins, else 0) when the others bid ``reports``."""
    outcome = rule(reports, reserve)
    return outcome.price - true_costs[agent] if outcome is not None and outcome.winner == agent else 0.0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(1, 40), min_size=1, max_size=4),
    st.integers(1, 40),
    st.integers(1, 60),
    st.integers(0, 3),
)
def test_truthful_bidding_is_weakly_dominant_under_vickrey_with_a_reserve(costs, lie, reserve, agent):
    """Whatever the others bid (their costs here) and whatever the reserve, no report ``lie`` gives an agent more
    than its true cost does."""
    agent %= len(costs)
    lying = [*costs[:agent], lie, *costs[agent + 1 :]]
    assert _utility(second_price_outcome, costs, lying, reserve, agent) <= _utility(
        second_price_outcome, costs, costs, reserve, agent
    )


def test_first_price_stays_gamable():
    """Costs 14 and 20, reserve 23: truthful, agent 0 wins at 14 (utility 0); asking 18 it still wins, paid 18
    (utility 4); under Vickrey both reports pay it 20 (utility 6)."""
    true_costs = [14, 20]
    assert _utility(first_price_outcome, true_costs, true_costs, 23, 0) == 0.0
    assert _utility(first_price_outcome, true_costs, [18, 20], 23, 0) == 4.0
    assert _utility(second_price_outcome, true_costs, [18, 20], 23, 0) == 6.0
    assert _utility(second_price_outcome, true_costs, true_costs, 23, 0) == 6.0


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


# ------------------------------------------------------------------------------------------------ reserve, utility
def test_a_lone_vickrey_bidder_is_paid_the_reserve_in_an_episode():
    """Two tasks: round 1 (both bid 19 and 10) awards task 0 to agent 1 at 19; round 2 has agent 0 alone (agent 1
    holds a task), bidding 19, paid the reserve 19 + 4 = 23 (first-price: its bid, 19). Same winners under both."""
    _, vickrey = run_on_instance("auction-vickrey", two_agent_instance(2))
    _, first = run_on_instance("auction-first-price", two_agent_instance(2))
    assert vickrey.completed_by.tolist() == first.completed_by.tolist() == [1, 0]
    assert vickrey.control.payments.tolist() == [23.0, 19.0]
    assert first.control.payments.tolist() == [19.0, 10.0]


@pytest.mark.parametrize("queue_limit", [0, 1, 3])
def test_honest_first_price_bidders_have_utility_zero_at_any_queue_limit(queue_limit):
    """A truthful first-price winner is paid its bid, and its true cost is the bid it made telling the truth (backlog
    included): utility exactly 0 for every agent, however many tasks it may hold."""
    for seed in range(3):
        env = ces_env.parallel_env(
            n_agents=4,
            n_groups=1,
            n_tasks=12,
            maze_size=6,
            control="auction-first-price",
            control_options={"queue_limit": queue_limit},
        )
        run_episode(MechanismPolicy(), env, seed)
        control = env.unwrapped.sim.control
        assert env.unwrapped.sim.terminated and control.awards.sum() == 12
        assert control.payments.tolist() == control.true_costs.tolist()
        assert control.payments.sum() > 0


def test_a_liar_still_gains_under_first_price_in_an_episode():
    """Agent 1 (every agent lies, factor 1.5) bids round(1.5 x 10) = 15 <= the reserve 23 and is paid it: utility
    15 - 10 = 5 > 0, where the truth pays 0."""
    _, sim = run_on_instance("auction-first-price", two_agent_instance(), misreport_fraction=1.0, misreport_factor=1.5)
    assert sim.control.payments[1] - sim.control.true_costs[1] == 5.0

"""VCG over bundles: the efficient allocation and Clarke pivot payments by hand; the size limit; an episode."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ces_env
from ces_env.core.protocols.vcg import count_allocations, vcg_outcome
from tests.mechanisms.cases import run_on_instance, two_agent_instance


def test_two_agents_two_bundles_by_hand():
    """Bundles B1, B2 worth 100 each; agent a costs (10, 30), agent b (20, 25).
    Allocations: a-B1 & b-B2: welfare 200 - 35 = 165; a-B2 & b-B1: 150; one bundle only: at most 90. So a gets B1,
    b gets B2, W* = 165. Without a the best is b-B1, W = 80: a is paid 10 + 165 - 80 = 95. Without b the best is a-B1,
    W = 90: b is paid 25 + 165 - 90 = 100. Each is paid its cost plus its marginal contribution (85, 75)."""
    bundles = [frozenset({0}), frozenset({1})]
    outcome = vcg_outcome(bundles, [100.0, 100.0], np.array([[10.0, 30.0], [20.0, 25.0]]))
    assert outcome.assignment == (0, 1)
    assert outcome.welfare == 165.0
    assert outcome.payments == (95.0, 100.0)


def test_a_bundle_with_synergy_goes_to_one_agent():
    """Items 0 and 1 of one class: agent a does both for 12 (explore then replay), each alone for 10; agent b costs
    20 each. Bundles {0}, {1}, {0,1} worth 30, 30, 60: a-{0,1} gives 48 > a-{0} & b-{1} (30). Without a: b takes one
    item (10) or... b-{0,1} is not offered; so W_-a = 10 and a is paid 12 + 48 - 10 = 50; b gets nothing, paid 0."""
    bundles = [frozenset({0}), frozenset({1}), frozenset({0, 1})]
    costs = np.array([[10.0, 10.0, 12.0], [20.0, 20.0, np.inf]])
    outcome = vcg_outcome(bundles, [30.0, 30.0, 60.0], costs)
    assert outcome.assignment == (2, -1) and outcome.welfare == 48.0 and outcome.payments == (50.0, 0.0)


def test_a_single_item_vcg_is_a_vickrey_auction():
    """One task, costs 19 and 10, worth 23: agent 1 wins and is paid 10 + 13 - 4 = 19, the other bid."""
    _, sim = run_on_instance("vcg", two_agent_instance())
    assert sim.control.payments.tolist() == [0.0, 19.0] and sim.completed_by[0] == 1
    assert sim.control.mechanism_stats()["welfare"] == 13.0


def test_allocation_counts_by_hand():
    # one agent, two items, bundles of 2: nothing, {0}, {1}, {0,1}
    assert count_allocations(1, 2, 2) == 4
    # two agents, one item: nothing; the item to one of the two
    assert count_allocations(2, 1, 2) == 3
    # two agents, two items, singletons only: none; 2 x 2 single assignments; 2 ways to give both
    assert count_allocations(2, 2, 1) == 1 + 4 + 2
    assert count_allocations(5, 4, 2) == 1191


def test_too_large_a_brute_force_is_refused_clearly():
    env = ces_env.parallel_env(
        n_agents=10, n_groups=1, n_tasks=12, maze_size=5, control="vcg", control_options={"max_items": 6}
    )
    with pytest.raises(ValueError, match=r"vcg.*1556851 allocations.*max_allocations=100000"):
        env.reset(seed=0)


def _vcg_utility(true_costs: np.ndarray, reports: np.ndarray, values: list[float], agent: int) -> float:
    """``agent``'s utility under VCG: its Clarke payment minus the true cost of the bundle it gets (0 if none)."""
    bundles = [frozenset({0}), frozenset({1}), frozenset({0, 1})]
    outcome = vcg_outcome(bundles, values, reports)
    bundle = outcome.assignment[agent]
    return outcome.payments[agent] - float(true_costs[agent, bundle]) if bundle >= 0 else 0.0


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 3).flatmap(
        lambda n: st.tuples(
            st.lists(st.lists(st.integers(1, 30), min_size=3, max_size=3), min_size=n, max_size=n),
            st.lists(st.integers(1, 30), min_size=3, max_size=3),
        )
    ),
    st.lists(st.integers(1, 40), min_size=2, max_size=2),
)
def test_truthful_reporting_is_weakly_dominant_under_vcg(costs_and_lie, item_values):
    """Two items, bundles {0}, {1}, {0, 1} worth the items' values (the reserve), 1-3 agents with random costs:
    agent 0 reporting any other cost vector never gains over the truth (a lone agent included: it is paid the value
    of what it gets, whatever it reports)."""
    costs, lie = costs_and_lie
    true_costs = np.array(costs, dtype=np.float64)
    values = [float(item_values[0]), float(item_values[1]), float(sum(item_values))]
    lying = true_costs.copy()
    lying[0] = lie
    assert _vcg_utility(true_costs, lying, values, 0) <= _vcg_utility(true_costs, true_costs, values, 0) + 1e-6


def test_a_lone_vcg_bidder_is_paid_the_reserve_whatever_it_reports():
    """One agent, one task worth its reserve 23: reporting 10 or 20 it is paid 23."""
    for report in (10.0, 20.0):
        outcome = vcg_outcome([frozenset({0})], [23.0], np.array([[report]]))
        assert outcome.assignment == (0,) and outcome.payments == (23.0,)


def test_vcg_true_costs_are_the_truthful_bundle_bids():
    """Agent 1 wins the pair of two tasks of different classes (cost 10 + 4 + 10 = 24, see the mutation tests); its
    true cost is that truthful bundle bid, counted once. When both lie by 1.1 (reports round(1.1 x 10) = 11 and
    round(1.1 x 19) = 21), agent 1 still wins the pair (46 - 26 = 20 against 46 - 32 = 14), its true cost is still
    24, and it is paid 26 + 20 - 2 = 44 (agent 0 alone now reaches 23 - 21 = 2)."""
    _, sim = run_on_instance("vcg", two_agent_instance(2))
    assert sim.completed_by.tolist() == [1, 1] and sim.control.true_costs.tolist() == [0.0, 24.0]
    _, lying = run_on_instance("vcg", two_agent_instance(2), misreport_fraction=1.0, misreport_factor=1.1)
    assert lying.completed_by.tolist() == [1, 1] and lying.control.true_costs.tolist() == [0.0, 24.0]
    assert lying.control.payments.tolist() == [0.0, 44.0]

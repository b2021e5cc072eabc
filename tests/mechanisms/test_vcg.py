"""VCG over bundles: the efficient allocation and Clarke pivot payments by hand; the size limit; an episode."""

from __future__ import annotations

import numpy as np
import pytest

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

"""Contract Net: the manager awards each task to the best (lowest) bid, in reward order, one contract per agent."""

from __future__ import annotations

import numpy as np

from ces_env.core.protocols.contract_net import contract_net_awards
from tests.mechanisms.cases import TWO_AGENT_COSTS, run_on_instance, two_agent_instance


def test_each_task_goes_to_the_best_remaining_bid_in_priority_order():
    # three tasks (highest priority first), three bidders; bids are estimated completion times
    bids = np.array(
        [
            [10.0, 4.0, 7.0],
            [6.0, 5.0, 9.0],
            [8.0, 3.0, 2.0],
        ]
    )
    # task 0: best bid 6 (bidder 1); task 1: best remaining 3 (bidder 2); task 2: only bidder 0 is left (7)
    assert contract_net_awards([100, 101, 102], bids) == [(0, 1), (1, 2), (2, 0)]


def test_ties_go_to_the_lower_bidder_and_extra_tasks_wait():
    bids = np.array([[5.0, 1.0, 1.0], [5.0, 1.0, 1.0]])
    assert contract_net_awards([0, 1, 2], bids) == [(0, 0), (1, 1)]


def test_the_faster_contractor_wins_the_announced_task():
    """Two idle contractors bid 19 and 10 ticks for the one task: the award goes to agent 1, 3 hops after the
    announcement, and the manager validates (its utilisation is positive)."""
    metrics, sim = run_on_instance("contract-net", two_agent_instance())
    assert TWO_AGENT_COSTS[1] < TWO_AGENT_COSTS[0]
    assert sim.completed_by[0] == 1 and sim.control.awards.tolist() == [0, 1]
    assert metrics["controller_utilization"] > 0


def test_a_known_class_beats_speed():
    """Agent 0 (slow) knows the class of the second task after doing the first of the same class: with two
    same-class tasks and agent 1 busy, the manager's later round prefers whoever bids the replay."""
    metrics, sim = run_on_instance("contract-net", two_agent_instance(2, same_class=True))
    assert metrics["mu_g"] == [2]
    # round 1 announces both tasks to both idle agents: task 0 (reward 2) to the faster bid, task 1 to the other
    assert sorted(sim.completed_by.tolist()) == [0, 1]
    assert sim.completed_by[0] == 1

"""Contract Net: the manager awards each task to the best (lowest) bid, in reward order, one contract per agent."""

from __future__ import annotations

import networkx as nx
import numpy as np

from ces_env.core.protocols.contract_net import contract_net_awards
from ces_env.generator import assemble_instance
from ces_env.maze import generate_maze
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
    """Knowledge is private (``knowledge_sharing="none"``). Tasks 0 (class B, reward 3) and 1 (class A, reward 2)
    are ready; task 2 (class A, reward 1) needs both. Round 1: task 0 to the fast agent 1 (bid 10 < 19), task 1 to
    agent 0. When task 2 is announced, agent 0 knows class A and bids its replay, the solution's length (7 at speed
    1), below agent 1's exploration estimate (10): the slow agent that knows wins."""
    rng = np.random.default_rng(6)
    mazes = [generate_maze(4, 5, rng) for _ in range(2)]  # class 0 = A (solution 7), class 1 = B
    assert mazes[0].solution_length == 7
    graph = nx.DiGraph([(0, 2), (1, 2)])
    instance = assemble_instance(graph, [3.0, 2.0, 1.0], [0, 0, 0], [1, 0, 0], [0, 0], [1.0, 2.0], mazes, n_groups=1)
    metrics, sim = run_on_instance("contract-net", instance, knowledge_sharing="none")
    assert metrics["mu_g"] == [3]
    assert sim.completed_by.tolist() == [1, 0, 0]
    assert sim.stats()["replays"] == 1

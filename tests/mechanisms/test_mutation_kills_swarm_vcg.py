"""Hand-checked cases of the swarm mechanisms (``aco``, ``response-threshold``) and of ``vcg`` that the other tests
leave open (they were found by mutation testing): evaporation between calls, deposits that add up, the heuristic's
known classes and its scaling, the stimulus clock of response thresholds, the engagement count, the analysis bounds,
VCG's tie-breaks, bundles, bundle costs, award messages, payments, welfare and round retries.

Hand-built instances use 4x5 mazes (20 cells): an agent of speed 1 estimates an unknown maze at ceil(19 / 1) = 19
ticks, one of speed 2 at ceil(19 / 2) = 10 (see ``tests.mechanisms.cases``).
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from ces_env.config import make_config
from ces_env.core.protocols.swarm import ResponseThresholdControl
from ces_env.core.protocols.vcg import count_allocations, vcg_outcome
from ces_env.core.simulator import CESSimulator
from ces_env.generator import assemble_instance
from ces_env.maze import generate_maze
from ces_env.types import Instance, TaskStatus
from tests.mechanisms.cases import run_on_instance, simulator_on, two_agent_instance


# ----------------------------------------------------------------------------------------------------------- helpers
def small_instance(speeds, rewards, classes, edges=()) -> Instance:
    """One group; agents of the given speeds; tasks with the given rewards and classes (one 4x5 maze per class) and
    dependency edges."""
    rng = np.random.default_rng(0)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(rewards)))
    graph.add_edges_from(edges)
    mazes = [generate_maze(4, 5, rng) for _ in range(max(classes) + 1)]
    return assemble_instance(
        graph,
        np.asarray(rewards, dtype=np.float64),
        np.zeros(len(rewards)),
        np.asarray(classes),
        np.zeros(len(speeds)),
        np.asarray(speeds, dtype=np.float64),
        mazes,
        n_groups=1,
    )


def simulator(control: str, instance: Instance, **fields) -> CESSimulator:
    """A simulator of ``control`` on ``instance``, before its first event."""
    return simulator_on(instance, control, **fields)


class ScriptedDraws:
    """Stands in for a protocol's generator: ``random()`` returns the scripted values, then ``then`` for ever;
    ``choice(n, p)`` records ``p`` and returns 0."""

    def __init__(self, values=(), then: float = 0.0) -> None:
        self.values, self.then, self.p = list(values), then, None

    def random(self) -> float:
        return self.values.pop(0) if self.values else self.then

    def choice(self, n: int, p: np.ndarray) -> int:
        self.p = np.asarray(p)
        return 0


# --------------------------------------------------------------------------------------------------------------- ACO
def test_aco_deposits_add_up_and_evaporate_per_tick_between_reads():
    """Three tasks of one class, ``class_deposit`` 8, evaporation 0.5 per tick. At tick 10 task 0 is validated: 8 on
    each unfinished task of its class (1 and 2); then task 1 is validated at the same tick: 8 more on task 2, so the
    deposits are (0, 8, 16) and 2 board writes. One tick later they have halved: pheromone 1 + (0, 4, 8) = (1, 5, 9);
    two ticks after that (from the last read) they are a quarter of that: 1 + (0, 1, 2)."""
    options = {"evaporation": 0.5, "class_deposit": 8.0, "successor_deposit": 0.0}
    sim = simulator("aco", small_instance((1.0, 2.0), (3, 2, 1), (0, 0, 0)), control_options=options)
    control = sim.control
    sim.time = 10
    for task, agent in ((0, 0), (1, 1)):
        sim.task_status[task] = TaskStatus.DONE
        control.task_completed(agent, task)
    assert control.deposits.tolist() == [0.0, 8.0, 16.0]
    assert control.mechanism_stats()["deposit_writes"] == 2
    sim.time = 11
    assert control.pheromone().tolist() == [1.0, 5.0, 9.0]
    sim.time = 13
    assert control.pheromone().tolist() == [1.0, 2.0, 3.0]


def test_aco_heuristic_counts_the_classes_of_held_tasks_as_replays():
    """``queue_limit`` 1: agent 1 (speed 2) holds task 0 (class 0) and chooses between task 1 (class 0, reward 2) and
    task 2 (class 1, reward 1). Task 1 will be a replay: ceil(solution_length / 2) ticks plus the peer validation
    (4); task 2 an exploration, 10 + 4 = 14. eta = reward / cost, scaled by the best; tau = 1 + deposits = (1, 4)
    after a deposit of 3 on task 2; p is proportional to tau * (eta / eta_max)^2 (alpha 1, beta 2)."""
    instance = small_instance((1.0, 2.0), (3, 2, 1), (0, 0, 1))
    sim = simulator("aco", instance, control_options={"queue_limit": 1})
    control = sim.control
    control.award(0, 1, messages=0, hops=0)  # agent 1 now holds task 0
    control.deposits[2] = 3.0
    control.rng = draws = ScriptedDraws()
    assert control.choose_task(1, 0, np.array([1, 2])) == 0
    replay = math.ceil(instance.mazes[0].solution_length / 2)
    eta = np.array([2.0 / (replay + 4), 1.0 / 14])
    weights = np.array([1.0, 4.0]) * (eta / eta.max()) ** 2
    assert draws.p == pytest.approx(weights / weights.sum(), rel=1e-12)


def test_aco_a_huge_beta_is_the_greedy_limit():
    """beta = 1000: the heuristic is scaled by the best one before the power, so the best task (reward 3, all costs
    19 + 4) keeps weight 1 and the others (2/3)^1000 and (1/3)^1000, about 0: the agent takes the best task with
    probability 1 (unscaled, every weight would underflow to 0 and the choice would be undefined)."""
    sim = simulator("aco", small_instance((1.0, 2.0), (3, 2, 1), (0, 1, 2)), control_options={"beta": 1000.0})
    control = sim.control
    control.rng = draws = ScriptedDraws()
    control.choose_task(0, 0, np.array([0, 1, 2]))
    assert draws.p == pytest.approx([1.0, 0.0, 0.0], abs=1e-12)


# ------------------------------------------------------------------------------------------------ response threshold
def test_response_threshold_stimulus_counts_from_when_each_task_became_ready():
    """No split cost, so the episode starts at tick 0 with tasks 0, 1 and 3 ready (task 2 waits for task 1). At tick 5
    tasks 0 and 1 are awarded (they stop waiting). At tick 20 task 1 is done and task 2 becomes ready; at tick 30
    task 0's solution is rejected, so it waits afresh. At tick 40 (stimulus_ticks 10): task 0 has waited 10 ticks
    (stimulus 2), task 2 20 ticks (3), task 3, never marked, 40 ticks (5)."""
    instance = small_instance((1.0, 2.0), (4, 3, 2, 1), (0, 1, 2, 3), edges=[(1, 2)])
    sim = simulator("response-threshold", instance, split_ticks_per_group=0)
    control = sim.control
    assert sim.start_time == 0
    sim.time = 5
    control.award(0, 0, messages=0, hops=0)
    control.award(1, 1, messages=0, hops=0)
    sim.time = 20
    sim.task_status[1] = TaskStatus.DONE
    sim.task_status[2] = TaskStatus.READY
    sim.release_tasks(0)
    sim.time = 30
    sim.task_status[0], sim.task_holder[0] = TaskStatus.READY, -1  # as a rejection does
    sim.release_tasks(0)
    sim.time = 40
    assert control.stimulus(np.array([0, 2, 3])).tolist() == [2.0, 3.0, 5.0]


def test_response_threshold_counts_one_draw_per_task_considered():
    """Three fresh tasks (stimulus 1) and thresholds 1: each engages with probability 1 / (1 + 1) = 0.5. Draws of
    0.99 decline all three (3 draws, no choice); then a draw of 0 engages the first one considered (1 draw): 4."""
    sim = simulator("response-threshold", small_instance((1.0, 2.0), (3, 2, 1), (0, 1, 2)))
    control = sim.control
    control.rng = ScriptedDraws([0.99, 0.99, 0.99], then=0.0)
    tasks = control.open_tasks(0)
    assert control.choose_task(0, 0, tasks) == -1
    assert control.engagement_draws == 3
    assert control.choose_task(0, 0, tasks) == 0
    assert control.mechanism_stats()["engagement_draws"] == 4


def test_response_threshold_types_by_class_by_default():
    """Task 0 (class 1, depth 0) precedes task 1 (class 0, depth 1). By default a threshold is kept per class: one
    per agent and class (2 x 2), and validating task 0 lowers agent 0's class-1 threshold by ``learning`` (0.2) and
    raises its class-0 one by ``forgetting`` (0.05)."""
    sim = simulator("response-threshold", small_instance((1.0, 2.0), (2, 1), (1, 0), edges=[(0, 1)]))
    control = sim.control
    assert control.task_type.tolist() == [1, 0]
    assert control.thresholds.shape == (2, 2)
    control.task_completed(0, 0)
    assert control.thresholds[0].tolist() == pytest.approx([1.05, 0.8])


def test_response_threshold_rounds_that_engage_nobody_last_one_hop_at_latency_one():
    """Hop of 1 tick, two agents, one task. Round 1 (tick 2): both agents decline (draws 0.99 against 0.5); the round
    lasts one hop. Round 2 (tick 3): both engage (draws 0), the marks land one hop later (tick 4), agent 0 keeps the
    task (1 conflict) and starts it then: 2 rounds, 4 draws, 2 marks."""
    sim = simulator("response-threshold", two_agent_instance(), negotiation_latency_ticks=1)
    control = sim.control
    control.rng = ScriptedDraws([0.99, 0.99], then=0.0)
    sim.advance()
    assert sim.terminated
    assert sim.exec_start_time[0] == sim.start_time + 2 == 4
    stats = control.mechanism_stats()
    assert (stats["rounds"], stats["engagement_draws"], stats["marks"], stats["conflicts"]) == (2, 4, 2, 1)


@pytest.mark.parametrize(
    ("fields", "hops", "overhead"),
    [
        ({}, 131, 400),
        ({"negotiation_latency_ticks": 1}, 391, 396),
        ({"control_options": {"initial_threshold": 0.1, "min_threshold": 0.1, "max_threshold": 0.1}}, 1, 10),
    ],
)
def test_response_threshold_analysis_bounds_by_hand(fields, hops, overhead):
    """The engagement wait is the time until a task's stimulus is 10x ``max_threshold``: (10 * 4 - 1) * 10 = 390
    ticks by default, 0 when ``max_threshold`` is 0.1 (a fresh task already engages with probability 0.99).
    max_negotiation_hops = 1 + ceil(wait / latency): 1 + 130 = 131 at latency 3, 1 + 390 at latency 1, 1 with no
    wait. max_task_overhead = wait + max(1, latency) + latency + peer validation (4): 390 + 3 + 3 + 4 = 400,
    390 + 1 + 1 + 4 = 396, 0 + 3 + 3 + 4 = 10."""
    config = make_config(control="response-threshold", **fields)
    assert ResponseThresholdControl.max_negotiation_hops(config) == hops
    assert ResponseThresholdControl.max_task_overhead(config) == overhead


# --------------------------------------------------------------------------------------------------------- VCG rule
def test_vcg_allocates_nothing_when_no_bundle_is_worth_its_cost():
    """One bundle worth 5, costs 7 and 9: every allocation has negative welfare, the empty one 0: nobody gets
    anything, welfare 0, no payments."""
    outcome = vcg_outcome([frozenset({0})], [5.0], np.array([[7.0], [9.0]]))
    assert outcome.assignment == (-1, -1) and outcome.welfare == 0.0 and outcome.payments == (0.0, 0.0)


def test_vcg_one_tick_more_welfare_wins():
    """One agent, bundles {0} and {1} worth 10 each at costs 6 and 5: welfare 4 against 5, so it gets {1}; without
    it the welfare is 0, so it is paid 5 + 5 - 0 = 10."""
    outcome = vcg_outcome([frozenset({0}), frozenset({1})], [10.0, 10.0], np.array([[6.0, 5.0]]))
    assert outcome.assignment == (1,) and outcome.welfare == 5.0 and outcome.payments == (10.0,)


def test_vcg_more_items_break_only_exact_welfare_ties():
    """One agent, bundles {0} and {0, 1}. Worth 10 and 20 at costs 10 and 20: welfare 0 both, the bundle with more
    items wins (paid its cost, 20). Worth 10 and 20 at costs 8 and 19: welfare 2 against 1, the single item wins
    although the pair allocates more (paid 8 + 2 - 0 = 10)."""
    bundles = [frozenset({0}), frozenset({0, 1})]
    tie = vcg_outcome(bundles, [10.0, 20.0], np.array([[10.0, 20.0]]))
    assert tie.assignment == (1,) and tie.welfare == 0.0 and tie.payments == (20.0,)
    better = vcg_outcome(bundles, [10.0, 20.0], np.array([[8.0, 19.0]]))
    assert better.assignment == (0,) and better.welfare == 2.0 and better.payments == (10.0,)


def test_vcg_equal_bids_go_to_the_lower_agent_id():
    """Two agents bid 4 on one bundle worth 10: welfare 6 either way, so the lower id (agent 0) gets it. Without
    agent 0, agent 1 takes it at welfare 6: agent 0 is paid 4 + 6 - 6 = 4, the other's bid."""
    outcome = vcg_outcome([frozenset({0})], [10.0], np.array([[4.0], [4.0]]))
    assert outcome.assignment == (0, -1) and outcome.payments == (4.0, 0.0)


# ----------------------------------------------------------------------------------------------------- VCG protocol
def test_vcg_bundles_are_every_set_of_one_to_bundle_size_items():
    """Three items, bundles of at most 2 (the default): the 3 singletons then the 3 pairs, in item order."""
    sim = simulator("vcg", two_agent_instance(3))
    assert sim.control.bundles([7, 8, 9]) == [
        frozenset({0}),
        frozenset({1}),
        frozenset({2}),
        frozenset({0, 1}),
        frozenset({0, 2}),
        frozenset({1, 2}),
    ]


def test_vcg_bundle_cost_replays_a_class_learnt_in_the_bundle():
    """Two tasks of one class. Agent 1 (speed 2): explore the first (10), a validation (4), replay the second
    (ceil(solution_length / 2)); agent 0 (speed 1): 19 + 4 + solution_length."""
    instance = two_agent_instance(2, same_class=True)
    sim = simulator("vcg", instance)
    length = instance.mazes[0].solution_length
    assert sim.control.bundle_cost(1, [0, 1]) == 10 + 4 + math.ceil(length / 2)
    assert sim.control.bundle_cost(0, [0, 1]) == 19 + 4 + length


def test_vcg_a_brute_force_of_exactly_max_allocations_is_allowed():
    """Groups of 2 agents, 4 items, bundles of 2: one agent has 1 + 4 + 6 = 11 choices on 4 items, 7 on 3, 4 on 2,
    so two agents have 11 + 4 * 7 + 6 * 4 = 63 allocations. max_allocations 63 is enough; 62 is refused."""
    assert count_allocations(2, 4, 2) == 63
    simulator("vcg", two_agent_instance(), control_options={"max_allocations": 63})
    with pytest.raises(ValueError, match="63 allocations"):
        simulator("vcg", two_agent_instance(), control_options={"max_allocations": 62})


def test_vcg_one_winner_with_a_bundle_one_award_message_one_payment():
    """Two tasks of different classes, validation 4. Costs: agent 0 19, 19, 19 + 4 + 19 = 42 for the pair; agent 1
    10, 10, 24. Each task is worth its reservation cost 19 + 4 = 23. Agent 1 taking the pair gives 46 - 24 = 22, the
    best split 46 - 29 = 17: agent 1 gets both. Without it agent 0 reaches 4, so it is paid 24 + 22 - 4 = 42, once.
    Messages: 2 offers, 2 bids, 1 award (one per winner), 1 rejection (``notify_losers``) = 6."""
    metrics, sim = run_on_instance("vcg", two_agent_instance(2), control_options={"notify_losers": True})
    stats = sim.control.mechanism_stats()
    assert sim.completed_by.tolist() == [1, 1]
    assert stats["payments"] == [0.0, 42.0] and stats["welfare"] == 22.0
    assert stats["negotiation_messages"] == 6 and stats["rounds"] == 1


def test_vcg_two_winners_two_awards_no_rejection():
    """As above with a validation of 10: values 29 each; agent 1's pair costs 30 (welfare 28) while agent 0 taking
    task 0 (19) and agent 1 task 1 (10) gives 58 - 29 = 29 (the first split found). Without agent 0 the best is
    agent 1's pair, 28: agent 0 is paid 19 + 29 - 28 = 20; without agent 1 it is 10: agent 1 is paid 10 + 29 - 10 =
    29. Messages: 2 offers, 2 bids, 2 awards, no loser = 6."""
    metrics, sim = run_on_instance(
        "vcg", two_agent_instance(2), validate_service_ticks=10, control_options={"notify_losers": True}
    )
    stats = sim.control.mechanism_stats()
    assert sim.completed_by.tolist() == [0, 1]
    assert stats["payments"] == [20.0, 29.0] and stats["welfare"] == 29.0
    assert stats["negotiation_messages"] == 6 and stats["rounds"] == 1


def test_vcg_a_round_with_a_winner_is_followed_at_once_and_welfare_adds_up():
    """``max_items`` 1, two tasks. Round 1 (tick 2) offers task 0: agent 1 wins (welfare 23 - 10 = 13, paid
    10 + 13 - 4 = 19) and the award arrives 3 hops later (tick 11). Since it awarded, round 2 opens at once (tick 8)
    for agent 0, the only agent without a task: task 1, welfare 23 - 19 = 4, paid 19 + 4 - 0 = 23, started at tick
    8 + 9 = 17. Welfare 13 + 4 = 17; messages 2 + 2 + 1 and 1 + 1 + 1."""
    metrics, sim = run_on_instance("vcg", two_agent_instance(2), control_options={"max_items": 1})
    stats = sim.control.mechanism_stats()
    assert sim.completed_by.tolist() == [1, 0]
    assert sim.exec_start_time.tolist() == [11, 17]
    assert stats["payments"] == [23.0, 19.0] and stats["welfare"] == 17.0
    assert stats["negotiation_messages"] == 8 and stats["rounds"] == 2


def test_vcg_a_round_that_awards_nothing_waits_for_a_change():
    """One agent (speed 1), ``queue_limit`` 1, tasks 0 and 1 ready, task 2 after task 0, all of different classes.
    Round 1: {0}, {1}, {0, 1} all have welfare 4 (23 - 19, 46 - 42): the pair wins (more items). When task 0 is
    validated task 2 becomes ready and the agent starts task 1: round 2 sees its backlog (19 + 4) plus 19 against a
    value of 23 and awards nothing, so no round follows until the agent is free; round 3 gives it task 2 (welfare
    4). Three rounds, welfare 8; messages 1 + 1 + 1, 1 + 1, 1 + 1 + 1 = 8."""
    instance = small_instance((1.0,), (3, 2, 1), (0, 1, 2), edges=[(0, 2)])
    metrics, sim = run_on_instance("vcg", instance, control_options={"queue_limit": 1})
    stats = sim.control.mechanism_stats()
    assert sim.terminated
    assert stats["rounds"] == 3 and stats["welfare"] == 8.0 and stats["negotiation_messages"] == 8

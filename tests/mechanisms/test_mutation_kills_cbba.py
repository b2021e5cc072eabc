"""CBBA: hand-checked cases for what the mutation campaign found untested (tie tolerances, irregular networks, the
reset rule, the cut-off's conflict resolution, the protocol's capacities, estimates and counters)."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from ces_env.core.protocols.cbba import (
    NOBODY,
    _consensus,
    _decide,
    _decide_all,
    discounted_scores,
    ring_neighbours,
    run_cbba,
    task_durations,
)
from ces_env.core.simulator import CESSimulator
from ces_env.generator import assemble_instance
from ces_env.maze import generate_maze
from tests.mechanisms.cases import simulator_on, two_agent_instance


def _run(rewards, durations, neighbours, *, capacity=None, ready_at=None, max_rounds=100, discount=0.5, scale=10.0):
    durations = np.asarray(durations, dtype=np.float64).reshape(len(neighbours), len(rewards))
    n_agents = durations.shape[0]
    return run_cbba(
        np.asarray(rewards, dtype=np.float64),
        durations,
        np.zeros(n_agents) if ready_at is None else np.asarray(ready_at, dtype=np.float64),
        np.full(n_agents, 1) if capacity is None else np.asarray(capacity),
        neighbours,
        discount=discount,
        time_scale=scale,
        max_rounds=max_rounds,
    )


# ------------------------------------------------------------------------------------------------ the pure algorithm
def test_near_ties_in_the_bundle_phase_go_to_the_lower_task_index():
    """One agent, two tasks, capacity 2, discount 1: a score is the task's reward exactly (``1.0 ** x == 1``), so the
    bundle order shows which task the agent takes first. Scores within a relative 1e-12 of the best one are ties and
    the lower task index comes first; the bound itself counts as within (``>= top - 1e-12 * top``).

    - rewards (1e6 - 1 ulp, 1e6): 1.2e-16 apart relatively, a tie: t0 first;
    - rewards (1e-3 * (1 - 1e-8), 1e-3): 1e-8 apart relatively, no tie: t1 first;
    - rewards (1 - 1e-12, 1): exactly at the tolerance, a tie: t0 first.
    """
    cases = [
        ([np.nextafter(1e6, 0.0), 1e6], [0, 1]),
        ([1e-3 * (1 - 1e-8), 1e-3], [1, 0]),
        ([1.0 - 1e-12 * 1.0, 1.0], [0, 1]),
    ]
    for rewards, order in cases:
        result = _run(rewards, [[1.0, 1.0]], [[]], capacity=[2], discount=1.0)
        assert result.bundles == [order], rewards
        assert list(result.bids) == rewards


def test_bids_equal_up_to_a_relative_1e12_go_to_the_lower_agent_id():
    """Two linked agents, one task of reward 1000 taking 10 ticks each (discount 0.5 per 10 ticks): both bid about
    1000 * 0.5 = 500. Agent 0 is ready 1e-12 ticks later, so its bid is lower by a relative ln 2 * 1e-13 (7e-14),
    within the 1e-12 tolerance: a tie, which the lower id (agent 0) wins. Ready 1e-9 ticks later (a relative 7e-11)
    it is a real difference and agent 1 wins. Either way round 2 changes nothing: 2 rounds."""
    tie = _run([1000], [[10], [10]], [[1], [0]], ready_at=[1e-12, 0.0])
    assert tie.bundles == [[0], []] and list(tie.winners) == [0]
    assert tie.bids[0] == pytest.approx(500.0) and tie.bids[0] < 500.0
    assert (tie.rounds, tie.converged) == (2, True)
    apart = _run([1000], [[10], [10]], [[1], [0]], ready_at=[1e-9, 0.0])
    assert apart.bundles == [[], [0]] and list(apart.bids) == [500.0]


def test_the_readable_table_treats_near_equal_bids_as_ties_like_the_array_table():
    """Agents 0 and 1 each think they win the task, with bids 1000 and 1000 * (1 + 1e-14) (a relative 1e-14 apart:
    equal within the 1e-12 tolerance). Table 1 (sender wins, receiver wins): update only if the sender outbids, and
    an equal bid goes to the lower id. Receiver 0 hearing sender 1 leaves; receiver 1 hearing sender 0 updates. The
    one-task table (``_decide``) and the array table agree."""
    low, high = 1000.0, 1000.0 * (1 + 1e-14)
    assert low != high
    stamps = np.zeros(2)
    assert _decide(0, 1, 1, high, 0, low, stamps, stamps) == 0  # _LEAVE
    assert _decide(1, 0, 0, low, 1, high, stamps, stamps) == 1  # _UPDATE
    actions = _decide_all(
        np.array([0, 1]),
        np.array([1, 0]),
        np.array([[1], [0]]),
        np.array([[high], [low]]),
        np.array([[0], [1]]),
        np.array([[low], [high]]),
        np.zeros((2, 2)),
        np.zeros((2, 2)),
    )
    assert actions.ravel().tolist() == [0, 1]


def test_a_line_network_relays_a_win_over_two_hops():
    """A line 0 - 1 - 2 (agent 1 hears two agents, the others one: a network of unequal degrees); one task of reward
    10, taking 10, 20 and 5 ticks (bids 5, 2.5 and 10 * 0.5**0.5 = 7.07). Round 1: agent 1 hears 0 (5 > 2.5: update)
    then 2 (7.07 > 5: update) and releases; agents 0 and 2 only hear agent 1's own 2.5 and keep the task. Round 2:
    agent 0 hears from agent 1 that agent 2 wins (newer news about 2) and releases. Round 3 changes nothing:
    agreement in 3 rounds, 4 directed links x 3 = 12 messages."""
    result = _run([10], [[10], [20], [5]], [[1], [0, 2], [1]])
    assert result.bundles == [[], [], [0]]
    assert result.bids[0] == pytest.approx(10 * 0.5**0.5)
    assert (result.rounds, result.messages, result.converged, result.conflicts) == (3, 12, True, 0)
    assert result.views.ravel().tolist() == [2, 2, 2]


def test_a_run_without_agents_allocates_nothing():
    """No agent, one task: nothing is sent and nothing changes, so the first round is the agreement."""
    result = run_cbba(
        np.array([1.0]), np.zeros((0, 1)), np.zeros(0), np.zeros(0, dtype=np.int64), [], discount=0.5,
        time_scale=10.0, max_rounds=5,
    )  # fmt: skip
    assert result.bundles == [] and list(result.winners) == [NOBODY]
    assert (result.rounds, result.messages, result.converged, result.conflicts) == (1, 0, True, 0)


def test_crossed_views_reset_the_task_to_no_bid():
    """Agent 0 thinks agent 1 wins the task at 3.0 and agent 1 thinks agent 0 does (information that crossed). Table
    1: a sender that thinks the receiver wins, to a receiver that thinks the sender wins, means reset: the receiver
    forgets the task (bid 0, winner nobody), so that any positive bid takes it again. Both reset; each has now
    heard from the other at round 1."""
    y, z, stamps = _consensus(
        np.array([[3.0], [3.0]]), np.array([[1], [0]], dtype=np.int64), np.zeros((2, 2)), [[1], [0]], 1
    )
    assert y.tolist() == [[0.0], [0.0]]
    assert z.tolist() == [[NOBODY], [NOBODY]]
    assert stamps.tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_the_cut_off_keeps_each_disputed_task_with_its_best_bidder():
    """A ring of 4 (0 hears 1 and 3, 2 hears 1 and 3), capacity 1, rewards 10, discount 0.5 per 10 ticks, one round.

    Case 1, durations (t0, t1): agent 0 (40, 10), 1 (20, 40), 2 (30, 40), 3 (10, 40). Agent 0 bids t1 (5), the
    others t0 (2.5, 1.25, 5). Agent 2 hears agent 1's 2.5 and releases t0; agents 1 and 3 only hear agent 0 (no bid on
    t0) and agent 2 (lower), so both keep t0. The cut-off looks at t1 (agent 0 alone: nothing to do), then t0: it
    stays with the better bid, agent 3's 5 (not the lower id, agent 1's 2.5): 1 conflict.

    Case 2, durations: agent 0 (10, 40), 1 (40, 10), 2 (20, 40), 3 (40, 20). Agents 0 and 2 bid t0 (5, 2.5), agents 1
    and 3 t1 (5, 2.5); nobody hears a rival bid, so t0 is in two bundles and t1 too. Each stays with its better bid
    (agents 0 and 1): 2 conflicts. Neither run sees an agreement: ``converged`` is False.
    """
    ring = ring_neighbours(4)
    one = _run([10, 10], [[40, 10], [20, 40], [30, 40], [10, 40]], ring, max_rounds=1)
    assert one.bundles == [[1], [], [], [0]] and one.conflicts == 1
    assert list(one.winners) == [3, 0] and list(one.bids) == [5.0, 5.0]
    assert one.converged is False and one.rounds == 1
    two = _run([10, 10], [[10, 40], [40, 10], [20, 40], [40, 20]], ring, max_rounds=1)
    assert two.bundles == [[0], [1], [], []] and two.conflicts == 2
    assert two.converged is False


# ------------------------------------------------------------------------------------------------ the protocol
def _one_agent_holding_a_task() -> CESSimulator:
    """The two-agent case (agents 0 and 1 of speeds 1 and 2, 4x5 mazes, 19 exploration moves) with two tasks of one
    class (rewards 2 and 1), ``queue_limit`` 0 (bundle limit L = 1), before the start: agent 1 already holds t1."""
    sim = simulator_on(two_agent_instance(2, same_class=True), "cbba", control_options={"queue_limit": 0})
    sim.reserve(1, 1)
    sim.control.queued[1].append(1)
    return sim


def test_estimates_count_the_validation_and_what_held_tasks_teach():
    """Agent 0 would explore t0: ceil(19 / 1) = 19 ticks, plus a peer validation of 4: 23. Agent 1 holds t1 of the
    same class, so it will know the solution: a replay of ceil(solution_length / 2) ticks, plus 4. Scores: backlog
    (agent 1: t1 explored in ceil(19 / 2) = 10, plus 4 = 14) plus the duration, over the scale (the slowest
    exploration plus a validation: 23): 2 * 0.5**(23 / 23) = 1 and 2 * 0.5**((14 + replay + 4) / 23)."""
    sim = _one_agent_holding_a_task()
    replay = math.ceil(sim.instance.mazes[0].solution_length / 2)
    durations = task_durations(sim.control, [0, 1], [0])
    assert durations.tolist() == [[23.0], [replay + 4.0]]
    scores = discounted_scores(sim.control, 0, [0, 1], [0], 0.5)
    assert scores[:, 0] == pytest.approx([1.0, 2 * 0.5 ** ((14 + replay + 4) / 23)])


def test_an_agent_holding_the_bundle_limit_only_relays():
    """With L = 1, agent 1 (busy with t1 from the start) has no room: only agent 0 bids on t0, although agent 1 would
    outbid it (its score 2 * 0.5**((14 + replay + 4) / 23) > 1, see above). Round 1 agent 0 adds t0, round 2 changes
    nothing: t0 starts at tick 2 + 2 hops of 3 = 8, by agent 0; 2 rounds x 2 links = 4 messages."""
    sim = _one_agent_holding_a_task()
    sim.advance()
    assert sim.terminated
    assert sim.completed_by.tolist() == [0, 1]
    assert sim.exec_start_time.tolist() == [sim.start_time + 2 * 3, sim.start_time]
    stats = sim.control.mechanism_stats()
    assert (stats["consensus_rounds"], stats["negotiation_messages"]) == (2, 4)


def test_one_round_runs_on_a_ring_count_conflicts_unconverged_runs_and_rerun_at_once():
    """One group of 4 agents in a ring (speeds 2, 1, 1.5, 1: estimated 10, 19, 13, 19 ticks plus a validation of 4),
    tasks t0 (reward 2) and t1 (reward 1) of unknown classes, ``queue_limit`` 0, ``max_rounds`` 1.

    Run 1 at the start (tick 2): everybody bids t0 (reward 2 beats 1 at an equal duration). Agents 0 and 2 only hear
    the slower 1 and 3, so both keep t0; the cut-off keeps it with agent 0 (14 ticks beat 17): 1 conflict. The award
    reaches agent 0 one hop later (tick 5). t1 is still open and agents 1 to 3 are free, so the next run opens at
    once: agent 0 (full) only relays, agent 2 (17 ticks) outbids 1 and 3 (23): t1 starts at tick 8, no conflict.
    Neither run sees an agreement in its one round: 2 unconverged runs, 2 consensus rounds, 2 x 8 links = 16
    messages.
    """
    rng = np.random.default_rng(0)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(2))
    instance = assemble_instance(
        graph, [2.0, 1.0], np.zeros(2), np.arange(2), np.zeros(4), np.array([2.0, 1.0, 1.5, 1.0]),
        [generate_maze(4, 5, rng) for _ in range(2)], n_groups=1,
    )  # fmt: skip
    options = {"network": "ring", "max_rounds": 1, "queue_limit": 0}
    sim = simulator_on(instance, "cbba", control_options=options)
    sim.advance()
    assert sim.terminated
    assert sim.completed_by.tolist() == [0, 2]
    assert sim.exec_start_time.tolist() == [sim.start_time + 3, sim.start_time + 6]
    assert sim.conflicts == 1
    stats = sim.control.mechanism_stats()
    assert {k: stats[k] for k in ("conflicts", "unconverged_runs", "consensus_rounds", "negotiation_messages")} == {
        "conflicts": 1,
        "unconverged_runs": 2,
        "consensus_rounds": 2,
        "negotiation_messages": 16,
    }

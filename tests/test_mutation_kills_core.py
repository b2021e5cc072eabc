"""Semantic tests written for the mutants of ``ces_env/core`` that the rest of the suite let live (issue 15 item 3,
README "Tests that pin the model, and mutation testing"). Each test pins one number the model defines, worked out in
its docstring; the mutant it was written for is named there so that a later campaign can tell why it exists.
"""

from __future__ import annotations

import numpy as np
import pytest

import ces_env
from ces_env.config import make_config
from ces_env.core.faults import (
    BYZANTINE,
    CRASH,
    MISREPORT,
    FaultPlan,
    choose_agents,
    corrupt_path,
    crash_rate_for_share,
    fault_stream,
)
from ces_env.core.lower_bound import lower_bound_terms, min_task_durations
from ces_env.core.metrics import work_ticks
from ces_env.core.simulator import CESSimulator
from ces_env.core.trace import Claim, Move, Validation
from ces_env.maze import DELTA_COL, DELTA_ROW, EAST
from ces_env.observations import ActionLayout
from ces_env.types import AgentStatus, TaskStatus
from tests.golden_helpers import (
    FREE,
    agent_feature,
    build_instance,
    config_for,
    corridor_maze,
    slot_feature,
    start,
    task_deciders,
    tick,
)

# ------------------------------------------------------------------------------------------------- the lower bound


def test_a_one_move_task_without_costs_has_a_lower_bound_of_one_tick():
    """One agent, one task of one move, no protocol or system cost: chain = work = 1 tick and the controller term 0,
    so the bound is 1 (its floor of 1 must not push it higher; mutant ``makespan_lower_bound`` ``max(2, ...)``)."""
    inst = build_instance(edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(1)], agent_group=[0])
    for control in ("centralized", "decentralized"):
        env, *_ = start(inst, control=control, **FREE)
        assert env.metrics()["lower_bound"] == 1


def test_min_task_durations_are_integer_ticks():
    """Durations are whole ticks (int64, as documented): 5 moves at speed 2 take ceil(5 / 2) = 3 ticks, 4 moves 2;
    a float array would turn every sum built on it (the chain, the upward rank) into floats (mutant
    ``min_task_durations`` ``astype(None)``)."""
    inst = build_instance(
        edges=[(0, 1)],
        rewards=[1.0, 1.0],
        task_class=[0, 1],
        mazes=[corridor_maze(5), corridor_maze(4)],
        agent_group=[0],
        agent_speed=[2.0],
    )
    durations = min_task_durations(inst)
    assert durations.dtype == np.int64
    assert durations.tolist() == [3, 2]
    terms = lower_bound_terms(inst, config_for(inst, control="decentralized", **FREE))
    assert terms == {"chain": 5, "work": 5, "protocol": 0}  # work: ceil(9 cells / speed 2) = 5
    assert all(type(value) is int for value in terms.values())


def test_central_validation_adds_the_validator_term_to_the_bound():
    """Six one-move tasks, six agents, decentralized control with central validation: the group entity validates the
    six solutions one at a time, 6 x 4 = 24 ticks, far above the chain (claim 3 + 1 move + validation 4 = 8) and the
    work (1). Peer validation has no such term."""
    inst = build_instance(
        edges=[], rewards=[1.0] * 6, task_class=[0] * 6, mazes=[corridor_maze(1)], agent_group=[0] * 6
    )
    costs = dict(FREE, claim_latency_ticks=3, validate_service_ticks=4, peer_validate_ticks=4)
    central = config_for(inst, control="decentralized", control_options={"validation": "central"}, **costs)
    assert lower_bound_terms(inst, central) == {"chain": 8, "work": 1, "protocol": 24}
    peers = config_for(inst, control="decentralized", **costs)
    assert lower_bound_terms(inst, peers) == {"chain": 8, "work": 1, "protocol": 0}


# ------------------------------------------------------------------------------------------------- the metrics


def test_a_one_move_task_without_costs_has_a_makespan_ratio_of_one():
    """The one-move episode above: explored 0..1, validated at once, ET = 1 = the bound, so the ratio is 1."""
    inst = build_instance(edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(1)], agent_group=[0])
    env, *_ = start(inst, control="decentralized", **FREE)
    env.step({"agent_0": 1})
    assert not env.agents
    metrics = env.metrics()
    assert (metrics["ET"], metrics["lower_bound"], metrics["makespan_ratio"]) == (1, 1, 1.0)


def test_a_group_without_tasks_ends_when_execution_starts_and_waits_for_nothing():
    """Two groups, all tasks in group 0, no split cost: group 1 is done at tick 0 (``ET_g`` 0) and its agent waits
    for nothing (``TWT_g`` 0), whatever group 0 does (its task of 2 moves ends at 2)."""
    inst = build_instance(
        edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(2)], agent_group=[0, 1], task_group=[0]
    )
    env, *_ = start(inst, control="decentralized", **FREE)
    env.step({"agent_0": 1})
    assert not env.agents
    metrics = env.metrics()
    assert metrics["ET_g"] == [2, 0]
    assert metrics["TWT_g"] == [0.0, 0.0]


def test_fairness_before_any_work_is_one():
    """At the start nobody has worked: every agent has done the same (nothing), Jain's index is 1 (not 0 / 0)."""
    inst = build_instance(edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(2)], agent_group=[0, 0])
    env, *_ = start(inst, control="decentralized", **FREE)
    assert env.metrics()["fairness_jain"] == 1.0


def test_a_controller_busy_for_the_one_elapsed_tick_is_fully_used():
    """Centralized, assignment 1 tick, execution from 1: agent_0 is assigned 1..2 and agent_1 is asked at 2; the
    controller has been busy 1 of the 1 elapsed ticks, utilisation 1."""
    inst = build_instance(
        edges=[], rewards=[2.0, 1.0], task_class=[0, 1], mazes=[corridor_maze(2)] * 2, agent_group=[0, 0]
    )
    env, *_ = start(inst, control="centralized", **dict(FREE, split_ticks_per_group=1, assign_service_ticks=1))
    env.step({"agent_0": 1})
    assert tick(env) == 2
    assert env.metrics()["controller_utilization"] == 1.0


def _two_speed_corridors():
    """Two agents of group 0, speeds 0.5 and 1, and two tasks of their own class, each a 4-move corridor."""
    return build_instance(
        edges=[],
        rewards=[2.0, 1.0],
        task_class=[0, 1],
        mazes=[corridor_maze(4)] * 2,
        agent_group=[0, 0],
        agent_speed=[0.5, 1.0],
    )


def test_a_move_in_progress_counts_as_far_as_it_got():
    """Steered mode, decentralized, two agents of speed 0.5 (a move takes 2 ticks) and 1, a corridor task each.
    Claims at 0 resolve at 3 (latency 3, no split); both start their first move at 3 (east: the only way out of a
    corridor's first cell). At 4 agent_1 has arrived and moves again while agent_0 is halfway: agent_0 has worked 1
    tick, agent_1 1 tick, and the group has waited 2 x 4 - 2 = 6 agent-ticks (4 ticks each since the start)."""
    inst = _two_speed_corridors()
    env, *_ = start(inst, control="decentralized", exploration_mode="steered", **dict(FREE, claim_latency_ticks=3))
    east = ActionLayout(env.unwrapped.config).first_move + EAST
    env.step({"agent_0": 1, "agent_1": 2})
    assert tick(env) == 3
    observations, *_ = env.step({"agent_0": east, "agent_1": east})
    assert tick(env) == 4
    assert agent_feature(observations["agent_1"], "deciding_move") == 1.0
    assert agent_feature(observations["agent_0"], "deciding_move") == 0.0
    assert work_ticks(env.unwrapped.sim).tolist() == [1.0, 1.0]
    assert env.metrics()["TWT_g"] == [6.0]


# ------------------------------------------------------------------------------------------------- the faults


def test_a_quarter_of_four_agents_is_one_agent():
    """``round(0.25 * 4) = 1`` agent is chosen, whatever the stream (one group, no agent kept back)."""
    for seed in range(5):
        assert choose_agents(seed, BYZANTINE, 0.25, np.zeros(4, dtype=np.int64), keep_one=False).sum() == 1


def test_choosing_every_agent_keeps_one_per_group_only_when_asked():
    """Groups {0, 1} and {2}: a fraction of 1 takes all three agents, or, keeping one agent per group, only one of
    the first group (the second has nobody to spare)."""
    groups = np.array([0, 0, 1])
    assert choose_agents(0, MISREPORT, 1.0, groups, keep_one=False).tolist() == [True, True, True]
    kept = choose_agents(0, BYZANTINE, 1.0, groups, keep_one=True)
    assert kept.sum() == 1 and not kept[2]


def test_the_fault_plan_keeps_an_honest_agent_per_group_but_lets_everybody_lie():
    """Byzantine agents leave one honest agent per group (3 agents, 2 groups: 1 Byzantine); misreporting has no such
    limit (all 3 lie). The counts reported in the stats say so."""
    config = make_config(n_agents=3, n_groups=2, n_tasks=4, byzantine_fraction=1.0, misreport_fraction=1.0)
    plan = FaultPlan(config, 7, np.array([0, 0, 1]))
    assert (plan.byzantine.sum(), plan.liars.sum()) == (1, 3)
    assert (plan.counts["byzantine_agents"], plan.counts["misreporting_agents"]) == (1, 3)


def test_the_k_th_execution_draws_its_crash_delay_from_stream_k():
    """An agent's executions 0, 1, 2 draw from the streams (seed, CRASH, agent, 0), (..., 1), (..., 2)."""
    config = make_config(n_agents=2, n_groups=1, n_tasks=4, crash_rate=0.1)
    plan = FaultPlan(config, 11, np.array([0, 0]))
    delays = [plan.crash_delay(1) for _ in range(3)]
    assert delays == [int(fault_stream(11, CRASH, 1, k).geometric(0.1)) for k in range(3)]


def test_a_false_solution_drops_the_middle_cell():
    """Five cells lose the third (index 5 // 2 = 2), three the second; two or one keep their first cell only."""
    assert corrupt_path(np.array([10, 11, 12, 13, 14])).tolist() == [10, 11, 13, 14]
    assert corrupt_path(np.array([10, 11, 12])).tolist() == [10, 12]
    assert corrupt_path(np.array([10, 11])).tolist() == [10]
    assert corrupt_path(np.array([10])).tolist() == [10]


def test_crash_rate_for_share_on_short_work():
    """Crash at least once with probability 1/2 over 1 tick of work: rate 1/2; over 2 ticks with probability 3/4:
    1 - (1/4)^(1/2) = 1/2."""
    assert crash_rate_for_share(0.5, 1) == pytest.approx(0.5)
    assert crash_rate_for_share(0.75, 2) == pytest.approx(0.5)


# ------------------------------------------------------------------------------------------------- the trace


def test_the_trace_keeps_the_first_and_last_time_a_task_became_ready_and_each_verdict():
    """The rejected-solution episode of ``tests/test_golden.py`` (one agent, one task of 3 moves, every solution
    corrupted, centralized, truncated at 17): task0 is ready from tick 0, its solution is rejected at 10 (validation
    6..10) and it is ready again then. First ready 0, last ready 10; one validation, rejected, of task0 by agent_0.
    The episode ends by its tick limit (reason ``max_ticks``, not ``stalled``)."""
    inst = build_instance(edges=[], rewards=[5.0], task_class=[0], mazes=[corridor_maze(3)], agent_group=[0])
    costs = dict(split_ticks_per_group=1, assign_service_ticks=2, validate_service_ticks=4)
    env = ces_env.parallel_env(
        config=config_for(inst, control="centralized", solution_error_prob=1.0, max_ticks=17, **costs), trace=True
    )
    env.reset(seed=0, options={"instance": inst})
    env.step({"agent_0": 1})
    _, _, _, _, infos = env.step({"agent_0": 1})
    assert not env.agents
    assert infos["agent_0"]["truncation_reason"] == "max_ticks"
    trace = env.unwrapped.sim.trace
    assert trace.task_times(TaskStatus.READY).tolist() == [0]
    assert trace.task_times(TaskStatus.READY, first=False).tolist() == [10]
    assert trace.validations() == [Validation(10, 0, 0, False)]


def test_reading_the_trace_records_the_changes_of_the_current_tick_at_that_tick():
    """Driving the simulator directly: at tick 1 (split 1) agent_0 claims task0 (decentralized); read before time
    moves on, the trace already holds the claim, at tick 1."""
    inst = build_instance(
        edges=[], rewards=[3.0, 2.0, 1.0], task_class=[0, 1, 2], mazes=[corridor_maze(2)] * 3, agent_group=[0, 0, 0]
    )
    config = config_for(inst, control="decentralized", split_ticks_per_group=1)
    sim = CESSimulator(config, inst, np.random.default_rng(0), trace=True)
    sim.advance()
    assert (sim.time, sim.task_deciders().tolist()) == (1, [0, 1, 2])
    sim.decide({0: 0})
    assert sim.trace.claims() == [Claim(1, 0, 0, True)]


# ------------------------------------------------------------------------------------------------- the simulator


def test_a_choice_outside_the_candidates_means_waiting():
    """``decide`` takes an index into the group's candidates; one past the last (here 3 of 3) is a wait, not an
    error: agent_0 stays undecided and is asked again (no fixed wait: at once, with waiting masked out)."""
    inst = build_instance(
        edges=[], rewards=[3.0, 2.0, 1.0], task_class=[0, 1, 2], mazes=[corridor_maze(2)] * 3, agent_group=[0]
    )
    sim = CESSimulator(config_for(inst, control="decentralized"), inst, np.random.default_rng(0))
    sim.advance()
    assert len(sim.candidates(0)) == 3
    sim.decide({0: 3})
    assert sim.agent_task[0] == -1
    sim.advance()
    assert (sim.task_deciders().tolist(), sorted(sim.must_act)) == ([0], [0])


def test_a_byzantine_solver_is_rejected_once_and_quarantined():
    """Two agents, two independent tasks, ``byzantine_fraction=0.5``: one agent is Byzantine (keeping an honest
    one). Both take a task at once; the Byzantine's solution is rejected and it is quarantined; the honest agent then
    does the other task too. One false solution rejected, one agent quarantined, both tasks done."""
    inst = build_instance(
        edges=[], rewards=[2.0, 1.0], task_class=[0, 1], mazes=[corridor_maze(2), corridor_maze(3)], agent_group=[0, 0]
    )
    env = ces_env.parallel_env(config=config_for(inst, control="decentralized", byzantine_fraction=0.5), trace=True)
    observations, _ = env.reset(seed=0, options={"instance": inst})
    infos = {}
    while env.agents:
        actions = {a: int(o["action_mask"][1]) for a, o in observations.items()}
        if set(task_deciders(observations)) == {"agent_0", "agent_1"}:
            actions = {"agent_0": 1, "agent_1": 2}
        observations, _, _, _, infos = env.step(actions)
    stats = infos["agent_0"]["stats"]
    assert (stats["byzantine_agents"], stats["rejected_false_solutions"], stats["quarantined"]) == (1, 1, 1)
    assert env.metrics()["mu_g"] == [2]
    sim = env.unwrapped.sim
    (liar,) = np.flatnonzero(sim.faults.byzantine)
    last = [c for c in sim.trace.agent_changes if c.agent == liar][-1]
    assert (last.status, last.task) == (AgentStatus.FINISHED, -1)  # quarantined, holding no task
    assert sim.down[liar] and sim.down_for_good[liar]  # for good: a quarantined agent never recovers
    # the rejected task is ready again, held by nobody, until the honest agent takes it
    rejected = [c for c in sim.trace.task_changes if c.status == TaskStatus.READY and c.tick > 0]
    assert len(rejected) == 1 and rejected[0].holder == -1


def test_a_solver_keeps_its_own_solution_when_sharing_takes_time():
    """One agent, two tasks of one class (a chain), sharing at 1 tick per recipient: the solver knows its solution at
    once (only recipients wait for it), so it replays the second task: one exploration, one replay."""
    inst = build_instance(
        edges=[(0, 1)], rewards=[1.0, 1.0], task_class=[0, 0], mazes=[corridor_maze(3)], agent_group=[0]
    )
    env, *_ = start(inst, control="decentralized", share_ticks_per_recipient=1)
    infos = {}
    while env.agents:
        _, _, _, _, infos = env.step({"agent_0": 1})
    assert (infos["agent_0"]["stats"]["explorations"], infos["agent_0"]["stats"]["replays"]) == (1, 1)


def test_a_steered_execution_under_a_crash_rate_that_does_not_strike():
    """Steered mode with faults on (a crash rate of 1e-9 per tick: the crash draw is made, and falls far beyond the
    episode): one agent walks a one-move corridor east and completes it, no crash, one exploration."""
    inst = build_instance(edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(1)], agent_group=[0])
    env, *_ = start(inst, control="decentralized", exploration_mode="steered", crash_rate=1e-9, **FREE)
    env.step({"agent_0": 1})
    _, _, _, _, infos = env.step({"agent_0": ActionLayout(env.unwrapped.config).first_move + EAST})
    assert not env.agents
    stats = infos["agent_0"]["stats"]
    assert (stats["crashes"], stats["explorations"], env.metrics()["mu_g"]) == (0, 1, [1])


def test_a_simulator_traces_only_when_asked_and_nobody_holds_a_task_at_the_start():
    """``CESSimulator`` records no trace unless asked (tracing costs time); with a trace, the first record shows
    every task held by nobody (holder -1) and the agent holding no task (-1)."""
    inst = build_instance(
        edges=[(0, 1)], rewards=[1.0, 1.0], task_class=[0, 1], mazes=[corridor_maze(2)] * 2, agent_group=[0]
    )
    config = config_for(inst, control="decentralized")
    assert CESSimulator(config, inst, np.random.default_rng(0)).trace is None
    traced = CESSimulator(config, inst, np.random.default_rng(0), trace=True)
    assert [(c.tick, c.task, c.holder) for c in traced.trace.task_changes] == [(0, 0, -1), (0, 1, -1)]
    assert [(c.tick, c.agent, c.task) for c in traced.trace.agent_changes] == [(0, 0, -1)]  # no task either


def test_two_crashes_lose_their_work_and_the_agent_recovers_each_time():
    """One agent, one task of 10 moves, no costs, ``crash_rate=0.2``, recovery 2 ticks, seed 3. The crash delays of
    the agent's executions 0, 1, 2 come from the streams (seed, CRASH, agent 0, k): 3, 3 and 20 ticks. So: execution
    0..10 crashes at 3 (3 ticks lost), the agent is back at 5 and starts again, crashes at 8 (3 lost), is back at 10,
    and completes 10..20 (20 >= 10: no crash). Decisions at 0, 5, 10; ET 20; two crashes, two recoveries, 6 ticks
    lost, three explorations; worked 3 + 3 + 10 = 16 of 20 ticks: TWT 4."""
    inst = build_instance(edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(10)], agent_group=[0])
    env, _, _, record = start(inst, seed=3, control="decentralized", crash_rate=0.2, crash_recovery_ticks=2, **FREE)
    seed = env.unwrapped.sim.faults.seed
    assert [int(fault_stream(seed, CRASH, 0, k).geometric(0.2)) for k in range(3)] == [3, 3, 20]
    decisions, infos = [record.tick], {}
    while env.agents:
        _, _, _, _, infos = env.step({"agent_0": 1})
        decisions.append(tick(env))
    assert decisions == [0, 5, 10, 20]
    stats, metrics = infos["agent_0"]["stats"], env.metrics()
    assert (stats["crashes"], stats["recoveries"], stats["lost_work_ticks"], stats["explorations"]) == (2, 2, 6, 3)
    assert (metrics["ET"], metrics["TWT_g"]) == (20, [4.0])


def test_a_corrupted_short_path_is_rejected():
    """``solution_error_prob=1``: every explored path is corrupted. A 2-cell path (one move) keeps only its first cell,
    a 3-cell path loses its middle cell: both are rejected, again and again, until the tick limit (30)."""
    for moves in (1, 2):
        inst = build_instance(edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(moves)], agent_group=[0])
        env, *_ = start(inst, control="decentralized", solution_error_prob=1.0, max_ticks=30, **FREE)
        infos = {}
        while env.agents:
            _, _, _, _, infos = env.step({"agent_0": 1})
        assert infos["agent_0"]["truncation_reason"] == "max_ticks"
        assert infos["agent_0"]["stats"]["rejected_solutions"] >= 2
        assert env.metrics()["mu_g"] == [0]


def test_a_recipient_learns_a_shared_solution_when_it_arrives():
    """Two agents, task0 -> task1 of one class, group sharing at 1 tick per recipient, ``wait_ticks=1``. agent_0
    solves task0 (0..3); at 3 task1 is released and agent_1 (the only recipient) learns the solution at 4. Both wait
    at 3; at 4 agent_1 knows the class (``known`` in its slot) and replays task1: one exploration, one replay."""
    inst = build_instance(
        edges=[(0, 1)], rewards=[1.0, 1.0], task_class=[0, 0], mazes=[corridor_maze(3)], agent_group=[0, 0]
    )
    env, *_ = start(inst, control="decentralized", wait_ticks=1, share_ticks_per_recipient=1, n_candidates=1, **FREE)
    env.step({"agent_0": 1})
    assert tick(env) == 3
    observations, *_ = env.step({})
    assert tick(env) == 4
    assert slot_feature(observations["agent_1"], 0, "known") == 1.0
    infos = {}
    while env.agents:
        _, _, _, _, infos = env.step({"agent_1": 1})
    assert (infos["agent_1"]["stats"]["explorations"], infos["agent_1"]["stats"]["replays"]) == (1, 1)


def test_the_agents_of_a_finished_group_are_finished():
    """Groups {agent_0, agent_2} and {agent_1}, no costs, ``wait_ticks=1``. At 0 agent_0 takes group 0's only task
    (one move) while agent_2 and agent_1 wait; at 1 the task is done and group 0 complete, so agent_2, which had
    nothing left to do, is finished too and is not asked again: only agent_1 is."""
    inst = build_instance(
        edges=[],
        rewards=[1.0, 1.0],
        task_class=[0, 1],
        mazes=[corridor_maze(1), corridor_maze(2)],
        agent_group=[0, 1, 0],
        task_group=[0, 1],
    )
    env, *_ = start(inst, control="decentralized", wait_ticks=1, **FREE)
    observations, *_ = env.step({"agent_0": 1})
    assert (tick(env), task_deciders(observations)) == (1, ("agent_1",))
    assert [agent_feature(observations[a], "status_finished") for a in ("agent_0", "agent_2")] == [1.0, 1.0]


def test_the_trace_counts_a_move_in_progress_as_far_as_it_got():
    """The steered episode of ``test_a_move_in_progress_counts_as_far_as_it_got``, traced: both agents start a move
    east at 3, into cell 1 of their corridors, agent_0's lasting 2 ticks and agent_1's 1. At 4 each has worked 1
    tick and waited 3 of the 4 since the start, as the trace reads it too."""
    inst = _two_speed_corridors()
    config = config_for(inst, control="decentralized", exploration_mode="steered", **dict(FREE, claim_latency_ticks=3))
    env = ces_env.parallel_env(config=config, trace=True)
    env.reset(seed=0, options={"instance": inst})
    east = ActionLayout(config).first_move + EAST
    env.step({"agent_0": 1, "agent_1": 2})
    env.step({"agent_0": east, "agent_1": east})
    assert tick(env) == 4
    trace = env.unwrapped.sim.trace
    assert trace.moves == [Move(3, 0, 1, 2), Move(3, 1, 1, 1)]
    assert trace.work_ticks().tolist() == [1, 1]
    assert trace.waiting_ticks().tolist() == [3, 3]


def test_an_episode_that_ends_exactly_at_max_ticks_completes():
    """One agent, one task of 2 moves, no costs: it is done at tick 2. With ``max_ticks=2`` the events of tick 2
    still happen: the episode terminates (ET 2), it is not truncated."""
    inst = build_instance(edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(2)], agent_group=[0])
    env, *_ = start(inst, control="decentralized", max_ticks=2, **FREE)
    _, _, terminations, truncations, _ = env.step({"agent_0": 1})
    assert (terminations["agent_0"], truncations["agent_0"], env.metrics()["ET"]) == (True, False, 2)


def test_each_byzantine_solver_is_quarantined():
    """Two groups of two agents, two tasks per group, ``byzantine_fraction=0.5``: two Byzantine agents, one per group
    (each group keeps an honest one). All four take a task at once; both false solutions are rejected and both
    authors quarantined; the honest agents finish the four tasks."""
    inst = build_instance(
        edges=[],
        rewards=[2.0, 1.0, 2.0, 1.0],
        task_class=[0, 1, 2, 3],
        mazes=[corridor_maze(2), corridor_maze(3), corridor_maze(2), corridor_maze(3)],
        agent_group=[0, 0, 1, 1],
        task_group=[0, 0, 1, 1],
    )
    env, observations, _, _ = start(inst, control="decentralized", byzantine_fraction=0.5)
    infos = {}
    first = True
    while env.agents:
        actions = {a: int(o["action_mask"][1]) for a, o in observations.items()}
        if first:  # everyone at once, on distinct tasks
            actions, first = {"agent_0": 1, "agent_1": 2, "agent_2": 1, "agent_3": 2}, False
        observations, _, _, _, infos = env.step(actions)
    stats = infos["agent_0"]["stats"]
    assert (stats["byzantine_agents"], stats["rejected_false_solutions"], stats["quarantined"]) == (2, 2, 2)
    assert env.metrics()["mu_g"] == [2, 2]


def _solution_moves(maze, first_move: int) -> list[int]:
    """The move actions that walk ``maze``'s solution path, cell by cell (``first_move`` + a direction)."""
    rows, cols = np.divmod(np.asarray(maze.solution), maze.passages.shape[1])
    directions = list(zip(DELTA_ROW.tolist(), DELTA_COL.tolist(), strict=True))
    steps = zip(np.diff(rows).tolist(), np.diff(cols).tolist(), strict=True)
    return [first_move + directions.index(step) for step in steps]


def _slow_walker():
    """One agent of speed 0.5 (a steered move takes 2 ticks) and one task: a 4-move corridor."""
    return build_instance(
        edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(4)], agent_group=[0], agent_speed=[0.5]
    )


def test_a_crash_in_the_middle_of_a_steered_move_counts_the_move_as_far_as_it_got():
    """Steered mode, one agent of speed 0.5 (a move takes 2 ticks), a 4-move corridor, no costs, ``crash_rate=0.2``,
    recovery 2 ticks, seed 43: the crash delays of the agent's executions 0 and 1 are 3 and 15 ticks.

    The claim resolves at once; moves start at 0 and 2; the crash strikes at 3, halfway through the second move: the
    agent has worked 2 + 1 = 3 ticks (the move never ends: its last tick is not work), 3 are lost. It is down until 5,
    then claims the task again and walks the 4 moves, 5..13 (15 > 8: no second crash). ET 13; worked 3 + 8 = 11 of 13
    ticks: TWT 2; one crash, one recovery, and the agent is up at the end."""
    inst = _slow_walker()
    faults = dict(crash_rate=0.2, crash_recovery_ticks=2)
    env, _, _, record = start(inst, seed=43, control="decentralized", exploration_mode="steered", **faults, **FREE)
    sim = env.unwrapped.sim
    assert [int(fault_stream(sim.faults.seed, CRASH, 0, k).geometric(0.2)) for k in range(2)] == [3, 15]
    moves = _solution_moves(inst.mazes[0], ActionLayout(env.unwrapped.config).first_move)
    observations, *_ = env.step({"agent_0": 1})
    ticks, walked = [record.tick, tick(env)], 0
    while env.agents:
        if agent_feature(observations["agent_0"], "deciding_task") == 1.0:
            action, walked = 1, 0
        else:
            action, walked = moves[walked], walked + 1
        observations, _, _, _, infos = env.step({"agent_0": action})
        ticks.append(tick(env))
    assert ticks == [0, 0, 2, 5, 5, 7, 9, 11, 13]  # moves at 0 and 2, the crash at 3, back at 5
    stats, metrics = infos["agent_0"]["stats"], env.metrics()
    assert (stats["crashes"], stats["recoveries"], stats["lost_work_ticks"]) == (1, 1, 3)
    assert stats["explorations"] == 2  # the maze is explored again after the crash (a steered walk is no replay)
    assert sim.steer_moves[0] == 4  # the moves of the current (last) walk
    assert work_ticks(sim).tolist() == [11.0]
    assert (metrics["ET"], metrics["TWT_g"]) == (13, [2.0])
    assert not sim.down[0]


def test_an_agent_that_crashes_for_good_is_down_and_its_group_truncates_the_episode():
    """As above without recovery: the crash at 3 takes the group's only agent down for good; the episode is
    truncated there ("crashed") with the agent down, its 3 ticks of work counted and the task undone."""
    inst = _slow_walker()
    env, *_ = start(inst, seed=43, control="decentralized", exploration_mode="steered", crash_rate=0.2, **FREE)
    sim = env.unwrapped.sim
    moves = _solution_moves(inst.mazes[0], ActionLayout(env.unwrapped.config).first_move)
    env.step({"agent_0": 1})
    env.step({"agent_0": moves[0]})
    assert not sim.down[0]
    _, _, _, truncations, infos = env.step({"agent_0": moves[1]})
    assert truncations["agent_0"] and infos["agent_0"]["truncation_reason"] == "crashed"
    assert tick(env) == 3 and sim.down[0] and sim.down_for_good[0]
    assert work_ticks(sim).tolist() == [3.0] and env.metrics()["mu_g"] == [0]


def test_the_event_that_ends_the_episode_is_the_last_one_processed():
    """Two groups of one agent each, no costs, ``crash_rate=0.3``, no recovery, seed 20: agent_0's first execution
    (a 5-move corridor) crashes after 2 ticks; agent_1's (a 2-move corridor) would crash after 4, so it ends first.

    Both start at 0; at tick 2 agent_0's crash (scheduled first) takes group 0's only agent down for good and
    truncates the episode ("crashed"). agent_1's exploration also ends at tick 2, but after the event that ended the
    episode: it is not processed, so group 1 has not completed its task when the episode ends."""
    inst = build_instance(
        edges=[],
        rewards=[1.0, 1.0],
        task_class=[0, 1],
        mazes=[corridor_maze(5), corridor_maze(2)],
        agent_group=[0, 1],
        task_group=[0, 1],
    )
    env, *_ = start(inst, seed=20, control="decentralized", crash_rate=0.3, **FREE)
    seed = env.unwrapped.sim.faults.seed
    assert [int(fault_stream(seed, CRASH, agent, 0).geometric(0.3)) for agent in (0, 1)] == [2, 4]
    _, _, _, truncations, infos = env.step({"agent_0": 1, "agent_1": 1})
    assert all(truncations.values()) and infos["agent_1"]["truncation_reason"] == "crashed"
    assert tick(env) == 2 and env.metrics()["mu_g"] == [0, 0]


def test_a_waiting_agent_is_asked_again_when_a_task_of_its_group_becomes_ready():
    """Decentralized, no costs, ``wait_ticks=None``: task 1 depends on task 0 (3-move and 2-move corridors). At tick
    0 only task 0 is ready: agent_0 takes it, agent_1 waits for a change. Task 0 is validated at 3 and task 1 becomes
    ready: agent_1 is asked again at 3, with agent_0, not only when nothing else is left to happen."""
    inst = build_instance(
        edges=[(0, 1)],
        rewards=[1.0, 1.0],
        task_class=[0, 1],
        mazes=[corridor_maze(3), corridor_maze(2)],
        agent_group=[0, 0],
    )
    env, *_ = start(inst, control="decentralized", **FREE)
    observations, *_ = env.step({"agent_0": 1, "agent_1": 0})
    assert tick(env) == 3 and task_deciders(observations) == ("agent_0", "agent_1")


def test_a_one_move_solution_is_replayed_in_one_tick_and_every_exploration_is_counted():
    """One agent of speed 2, no costs; three tasks by reward: 0 and 1 of class 0, 2 of class 1, each maze a one-move
    corridor. It explores task 0 (half a tick of walking: 1 tick), replays task 1's known solution (1 tick, not
    more: a replay lasts the solution's moves over the speed, rounded up, at least 1), explores task 2 (1 tick).
    Decisions at 0, 1, 2; ET 3; two explorations, one replay."""
    inst = build_instance(
        edges=[],
        rewards=[3.0, 2.0, 1.0],
        task_class=[0, 0, 1],
        mazes=[corridor_maze(1), corridor_maze(1)],
        agent_group=[0],
        agent_speed=[2.0],
    )
    env, _, _, record = start(inst, control="decentralized", **FREE)
    ticks, infos = [record.tick], {}
    while env.agents:
        _, _, _, _, infos = env.step({"agent_0": 1})
        ticks.append(tick(env))
    stats = infos["agent_0"]["stats"]
    assert ticks == [0, 1, 2, 3] and env.metrics()["ET"] == 3
    assert (stats["explorations"], stats["replays"]) == (2, 1)
    assert env.unwrapped.sim.attempts.tolist() == [1, 0, 1]  # explorations per task; a replay is not one


def test_a_crash_leaves_the_task_held_by_nobody_and_the_agent_holding_nothing():
    """The traced steered crash above (seed 43): after agent_0's crash at 3 its task is ready and held by nobody
    (-1), and the agent, down, holds no task (-1)."""
    inst = _slow_walker()
    config = config_for(
        inst, control="decentralized", exploration_mode="steered", crash_rate=0.2, crash_recovery_ticks=2, **FREE
    )
    env = ces_env.parallel_env(config=config, trace=True)
    env.reset(seed=43, options={"instance": inst})
    moves = _solution_moves(inst.mazes[0], ActionLayout(config).first_move)
    for action in (1, moves[0], moves[1]):
        env.step({"agent_0": action})
    trace = env.unwrapped.sim.trace
    assert [(c.tick, c.status, c.holder) for c in trace.task_changes if c.tick == 3] == [(3, TaskStatus.READY, -1)]
    assert [(c.tick, c.status, c.task) for c in trace.agent_changes if c.tick == 3] == [(3, AgentStatus.FINISHED, -1)]

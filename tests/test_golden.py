"""Golden episodes: tiny hand-built instances whose every metric is worked out on paper in the test's docstring.

The rules (``ces_env.core.simulator`` module docstring, README "The model's dynamics"), as used below:

* execution starts at ``split_ticks_per_group * l``; ``ET`` adds ``collect_ticks_per_group * l`` after the last
  validation; ``ET_g`` is the tick the group's last validation completes;
* centralized: a request (1 message) queues at the group's FIFO controller; at the head the policy picks a task and
  the controller spends ``assign_service_ticks`` (then 1 assignment message); a finished agent submits (1 message),
  queues, is validated in ``validate_service_ticks`` and gets the verdict (1 message); a request with nothing ready is
  parked and served when a task of the group becomes ready;
* decentralized: a claim costs ``s-1`` messages and ``claim_latency_ticks``; a second claim on a task whose claim has
  not yet reached everybody conflicts and loses; peer validation costs ``2(s-1)`` messages and ``peer_validate_ticks``;
* a validated solution pays the task's reward to the solver in the step the validation completes, is shared (one
  message per learner but the solver), and releases dependents (one message per *other* group notified);
* exploration of a corridor maze (``corridor_maze(L)``) takes exactly ``L`` ticks at speed 1; so does a replay;
* ``TWT_g`` = agents of g x (ET_g - start) - their ticks spent moving in mazes; ``controller_utilization`` = mean over
  groups of busy ticks / (ET_g - start); ``lower_bound`` = max(chain, work, controller) (``ces_env.core.lower_bound``);
  ``makespan_ratio`` = (max ET_g - start) / lower_bound; ``fairness_jain`` = (sum w)^2 / (n sum w^2) over maze ticks.

Step records: step 0 is the state after ``reset``; step k after the k-th ``env.step``. ``deciders`` are the agents
whose ``deciding_task`` feature is set; ``paid`` the non-zero rewards of the step.
"""

from __future__ import annotations

import pytest

from ces_env.observations import agent_feature_index
from ces_env.types import AgentStatus, TaskStatus
from tests.golden_helpers import StepRecord, build_instance, corridor_maze, dead_end_maze, play, start

# Protocol costs of every golden episode: all different, so that swapping two of them changes some number below.
COSTS = dict(
    split_ticks_per_group=1,
    collect_ticks_per_group=3,
    assign_service_ticks=2,
    validate_service_ticks=4,
    claim_latency_ticks=3,
    peer_validate_ticks=5,
    n_candidates=2,
)


def assert_metrics(metrics: dict, **expected) -> None:
    """Every metric key must be given: a golden episode pins all of them."""
    assert set(expected) == set(metrics), f"keys differ: {sorted(set(expected) ^ set(metrics))}"
    for key, value in expected.items():
        if isinstance(value, float) or isinstance(value, list) and value and isinstance(value[0], float):
            assert metrics[key] == pytest.approx(value, abs=1e-12), key
        else:
            assert metrics[key] == value, key


def test_chain_of_two_tasks_centralized():
    """Two agents, one group, chain task0 (reward 5, 4 moves) -> task1 (reward 3, 2 moves), centralized.

    t=1   start (split 1 x 1 group); agent_0 then agent_1 request (messages 1, 2); the controller serves agent_0
          at once (queue [agent_1]).                                                  step 0: tick 1, deciders a0
    step 1: agent_0 takes task0: assignment 1..3 (busy 2), message 3; explores 3..7. The controller pops agent_1:
          nothing ready (task0 running, task1 blocked), so it is parked. t=7 agent_0 submits (4), validation 7..11
          (busy 6), verdict (5); task0 done, reward 5 to agent_0; shared with agent_1 (6); task1 released (same group:
          no message) and parked agent_1 served first; agent_0 requests again (7), queued behind.
                                                                            step 1: tick 11, a0 paid 5, deciders a1
    step 2: agent_1 takes task1: assignment 11..13 (busy 8), message 8; explores 13..15. The controller pops agent_0:
          nothing ready, parked. t=15 submit (9), validation 15..19 (busy 12), verdict (10); reward 3 to agent_1,
          shared (11). Group done at 19; ET = 19 + collect 3 = 22.                   step 2: tick 22, a1 paid 3

    ET_g = [19]; span 19 - 1 = 18; maze ticks a0 4, a1 2: TWT = 2 x 18 - 6 = 30; utilisation 12 / 18.
    lower bound: chain (4+2+4) + (2+2+4) = 18; work ceil(6 / 2) = 3; controller 2 x (2+4) = 12 -> 18; ratio 18/18.
    Jain over (4, 2): 36 / (2 x 20) = 0.9.
    """
    inst = build_instance(
        edges=[(0, 1)],
        rewards=[5.0, 3.0],
        task_class=[0, 1],
        mazes=[corridor_maze(4), corridor_maze(2)],
        agent_group=[0, 0],
    )
    episode = play(inst, [{"agent_0": 1}, {"agent_1": 1}], control="centralized", **COSTS)
    assert episode.records == [
        StepRecord(1, ("agent_0",)),
        StepRecord(11, ("agent_1",), {"agent_0": 5.0}),
        StepRecord(22, (), {"agent_1": 3.0}, terminated=True),
    ]
    assert_metrics(
        episode.metrics,
        ET=22,
        ET_g=[19],
        TWT=30.0,
        TWT_g=[30.0],
        lambda_g=[2],
        mu_g=[2],
        total_reward=8.0,
        messages=11,
        conflicts=0,
        controller_utilization=12 / 18,
        fairness_jain=0.9,
        lower_bound=18,
        makespan_ratio=1.0,
    )
    assert episode.infos["agent_0"]["stats"] == {"explorations": 2, "replays": 0, "rejected_solutions": 0, "ticks": 22}
    assert episode.infos["agent_0"]["metrics"] == episode.metrics


def test_chain_state_while_the_second_task_waits_for_its_controller():
    """The same chain, stopped after step 1 (tick 11): task0 done, task1 ready (the controller is asking agent_1,
    nothing reserved yet); agent_0 queued, agent_1 queued (its request is being served); group completed 1/2.
    ``state()`` layout: per task a one-hot over TaskStatus plus its group, per agent a one-hot over AgentStatus plus
    its progress, then per group completed fraction and queue length / group size, then time."""
    inst = build_instance(
        edges=[(0, 1)],
        rewards=[5.0, 3.0],
        task_class=[0, 1],
        mazes=[corridor_maze(4), corridor_maze(2)],
        agent_group=[0, 0],
    )
    env, *_ = start(inst, control="centralized", **COSTS)
    env.step({"agent_0": 1, "agent_1": 0})
    state = env.state()
    n_task_cols, n_agent_cols = len(TaskStatus) + 1, len(AgentStatus) + 1
    tasks = state[: 2 * n_task_cols].reshape(2, n_task_cols)
    agents = state[2 * n_task_cols : 2 * n_task_cols + 2 * n_agent_cols].reshape(2, n_agent_cols)
    assert tasks[0, TaskStatus.DONE] == 1 and tasks[0].sum() == 1  # group column 0
    assert tasks[1, TaskStatus.READY] == 1 and tasks[1].sum() == 1
    assert agents[0, AgentStatus.QUEUED] == 1 and agents[1, AgentStatus.QUEUED] == 1
    completed, queue = state[-3:-1]  # the last entry, time, is the training-reward work's (issue 7) to pin
    assert completed == 0.5
    assert queue == 0.5  # agent_0's request waits behind agent_1's, which is being served: 1 queued / 2 agents
    assert len(state) == env.state_space.shape[0]


def test_fork_decentralized_with_a_conflict():
    """Two agents, one group, fork task0 (reward 4, 2 moves) -> task1 (6, 3 moves) and task2 (2, 5 moves);
    decentralized (claim 3 ticks, peer validation 5; s = 2 so a claim is 1 message, a validation 2).

    t=1   both agents see task0.                                                     step 0: tick 1, deciders a0 a1
    step 1: both claim task0 (messages 1, 2); agent_1's claim comes after agent_0's, still in flight: a conflict.
          t=4 agent_0 explores 4..6; agent_1 lost and sees nothing ready (task0 running): parked. t=6 agent_0
          submits (4), peers validate 6..11; task0 done, reward 4 to agent_0; shared with agent_1 (5); task1 and
          task2 ready (slots: task1 reward 6, then task2 reward 2).              step 1: tick 11, a0 paid 4, a0 a1
    step 2: agent_0 claims slot 1 (task1), agent_1 slot 2 (task2) (6, 7). t=14 both start: agent_0 explores 14..17,
          agent_1 14..19. t=17 agent_0 submits (9), validated at 22: reward 6 to agent_0, shared (10); agent_0
          sees nothing ready: parked. t=19 agent_1 submits (12), validated at 24: reward 2 to agent_1, shared (13).
          Group done at 24; ET = 24 + 3 = 27.                              step 2: tick 27, a0 paid 6, a1 paid 2

    ET_g = [24]; span 23; maze ticks a0 2+3 = 5, a1 5: TWT = 2 x 23 - 10 = 36; no controller.
    lower bound: task costs 3 + L + 5: chain task0 -> task2 = 10 + 13 = 23; work ceil(10 / 2) = 5 -> 23; ratio 1.
    """
    inst = build_instance(
        edges=[(0, 1), (0, 2)],
        rewards=[4.0, 6.0, 2.0],
        task_class=[0, 1, 2],
        mazes=[corridor_maze(2), corridor_maze(3), corridor_maze(5)],
        agent_group=[0, 0],
    )
    episode = play(inst, [{"agent_0": 1, "agent_1": 1}, {"agent_0": 1, "agent_1": 2}], control="decentralized", **COSTS)
    assert episode.records == [
        StepRecord(1, ("agent_0", "agent_1")),
        StepRecord(11, ("agent_0", "agent_1"), {"agent_0": 4.0}),
        StepRecord(27, (), {"agent_0": 6.0, "agent_1": 2.0}, terminated=True),
    ]
    assert_metrics(
        episode.metrics,
        ET=27,
        ET_g=[24],
        TWT=36.0,
        TWT_g=[36.0],
        lambda_g=[3],
        mu_g=[3],
        total_reward=12.0,
        messages=13,
        conflicts=1,
        controller_utilization=0.0,
        fairness_jain=1.0,
        lower_bound=23,
        makespan_ratio=1.0,
    )
    assert episode.infos["agent_1"]["stats"] == {"explorations": 3, "replays": 0, "rejected_solutions": 0, "ticks": 27}


def test_shared_class_is_replayed_by_a_groupmate():
    """Two agents, one group, chain task0 (reward 5) -> task1 (reward 7), both of one inference class whose maze is
    ``dead_end_maze`` (the wall follower explores 7 moves; the solution is 3). Decentralized, wait_ticks 4.

    t=1   both see task0.                                                            step 0: tick 1, deciders a0 a1
    step 1: agent_0 claims task0 (message 1); agent_1 waits until 5. t=4 agent_0 explores 4..11; t=5 agent_1 finds
          nothing ready: parked. t=11 submit (3), validated at 16: reward 5 to agent_0, class shared with agent_1 (4);
          task1 ready; both decide.                                              step 1: tick 16, a0 paid 5, a0 a1
    step 2: agent_0 waits (until 20), agent_1 claims task1 (5). t=19 agent_1 knows the class: replays 3 ticks 19..22;
          t=20 agent_0 finds nothing ready: parked. t=22 submit (7), validated at 27: reward 7 to agent_1, shared (8).
          ET = 27 + 3 = 30.                                                           step 2: tick 30, a1 paid 7

    ET_g = [27]; span 26; maze ticks a0 7, a1 3: TWT = 52 - 10 = 42; Jain 100 / (2 x 58).
    lower bound: each task 3 + 3 + 5 = 11 (the solution, as if known), chain 22; work ceil(6 / 2) = 3 -> 22.
    makespan 26: ratio 26 / 22. One exploration, one replay.
    """
    maze = dead_end_maze()
    inst = build_instance(edges=[(0, 1)], rewards=[5.0, 7.0], task_class=[0, 0], mazes=[maze], agent_group=[0, 0])
    episode = play(
        inst,
        [{"agent_0": 1, "agent_1": 0}, {"agent_0": 0, "agent_1": 1}],
        control="decentralized",
        explorer="wall_follower",
        wait_ticks=4,
        **COSTS,
    )
    assert episode.records == [
        StepRecord(1, ("agent_0", "agent_1")),
        StepRecord(16, ("agent_0", "agent_1"), {"agent_0": 5.0}),
        StepRecord(30, (), {"agent_1": 7.0}, terminated=True),
    ]
    assert_metrics(
        episode.metrics,
        ET=30,
        ET_g=[27],
        TWT=42.0,
        TWT_g=[42.0],
        lambda_g=[2],
        mu_g=[2],
        total_reward=12.0,
        messages=8,
        conflicts=0,
        controller_utilization=0.0,
        fairness_jain=100 / 116,
        lower_bound=22,
        makespan_ratio=26 / 22,
    )
    assert episode.infos["agent_0"]["stats"] == {"explorations": 1, "replays": 1, "rejected_solutions": 0, "ticks": 30}
    # every agent of the group knows the one class at the end
    known = agent_feature_index("classes_known")
    assert [episode.observations[a]["observation"][known] for a in ("agent_0", "agent_1")] == [1.0, 1.0]


def test_two_groups_release_across_groups_centralized():
    """Two groups of one agent; task0 (group 0, 4 moves, reward 2) -> task1 (group 1, 2 moves, reward 9).
    Centralized; split 1 x 2 groups = start at 2, collect 3 x 2 = 6.

    t=2   agent_0 requests (1) and is served; agent_1 requests (2): nothing ready in group 1, parked.
                                                                                    step 0: tick 2, deciders a0
    step 1: agent_0 takes task0: assignment 2..4 (controller 0 busy 2), message 3; explores 4..8; submits (4);
          validation 8..12 (busy 6); verdict (5); reward 2 to agent_0; a group of one shares with nobody (0); task1
          released in the other group: 1 message (6); group 1's controller serves parked agent_1. Group 0 is done
          at 12.                                                                    step 1: tick 12, a0 paid 2, a1
    step 2: agent_1 takes task1: assignment 12..14 (controller 1 busy 2), message 7; explores 14..16; submits (8);
          validation 16..20 (busy 6); verdict (9); reward 9. Group 1 done at 20; ET = 20 + 6 = 26.
                                                                                       step 2: tick 26, a1 paid 9

    ET_g = [12, 20]; spans 10 and 18; TWT_g = [10 - 4, 18 - 2] = [6, 16] (agent_1 waits for group 0's work);
    utilisation mean(6 / 10, 6 / 18). lower bound: chain (4+2+4) + (2+2+4) = 18; work max(4, 2); controller 1 x 6
    -> 18; makespan 20 - 2 = 18. Jain over (4, 2) = 0.9.
    """
    inst = build_instance(
        edges=[(0, 1)],
        rewards=[2.0, 9.0],
        task_class=[0, 1],
        mazes=[corridor_maze(4), corridor_maze(2)],
        agent_group=[0, 1],
        task_group=[0, 1],
    )
    episode = play(inst, [{"agent_0": 1}, {"agent_1": 1}], control="centralized", **COSTS)
    assert episode.records == [
        StepRecord(2, ("agent_0",)),
        StepRecord(12, ("agent_1",), {"agent_0": 2.0}),
        StepRecord(26, (), {"agent_1": 9.0}, terminated=True),
    ]
    assert_metrics(
        episode.metrics,
        ET=26,
        ET_g=[12, 20],
        TWT=22.0,
        TWT_g=[6.0, 16.0],
        lambda_g=[1, 1],
        mu_g=[1, 1],
        total_reward=11.0,
        messages=9,
        conflicts=0,
        controller_utilization=(6 / 10 + 6 / 18) / 2,
        fairness_jain=0.9,
        lower_bound=18,
        makespan_ratio=1.0,
    )


def test_rejected_solutions_centralized_until_truncation():
    """One agent, one task (3 moves, reward 5), ``solution_error_prob=1``: every explored path is corrupted and
    rejected. Centralized; ``max_ticks=17``.

    t=1   request (1), served.                                                          step 0: tick 1, deciders a0
    step 1: assignment 1..3 (busy 2), message 2; explores 3..6; submits (3); validation 6..10 (busy 6); verdict (4):
          rejected, task0 ready again, no reward; agent_0 requests again (5) and is served.  step 1: tick 10, a0
    step 2: assignment 10..12 (busy 8), message 6; explores 12..15 (a new attempt, corrupted too); submits (7);
          validation starts at 15 and would end at 19 > 17: truncated at 17.    step 2: tick 17, truncated, no pay

    As of tick 17: ET = ET_g = 17 (unfinished); span 16; maze ticks 3 + 3 = 6: TWT = 16 - 6 = 10; controller busy
    8 + the 2 elapsed ticks of the validation in progress = 10: utilisation 10 / 16. lower bound: chain 3 + 2 + 4 = 9,
    work 3, controller 6 -> 9; makespan_ratio max(16, 9) / 9. Two explorations, one rejection so far.
    """
    inst = build_instance(edges=[], rewards=[5.0], task_class=[0], mazes=[corridor_maze(3)], agent_group=[0])
    episode = play(
        inst,
        [{"agent_0": 1}, {"agent_0": 1}],
        control="centralized",
        solution_error_prob=1.0,
        max_ticks=17,
        **COSTS,
    )
    assert episode.records == [
        StepRecord(1, ("agent_0",)),
        StepRecord(10, ("agent_0",)),
        StepRecord(17, (), truncated=True),
    ]
    assert_metrics(
        episode.metrics,
        ET=17,
        ET_g=[17],
        TWT=10.0,
        TWT_g=[10.0],
        lambda_g=[1],
        mu_g=[0],
        total_reward=0.0,
        messages=7,
        conflicts=0,
        controller_utilization=10 / 16,
        fairness_jain=1.0,
        lower_bound=9,
        makespan_ratio=16 / 9,
    )
    assert episode.infos["agent_0"]["stats"] == {"explorations": 2, "replays": 0, "rejected_solutions": 1, "ticks": 17}


def test_rejected_solutions_decentralized_until_truncation():
    """The same task and agent, decentralized (claim 3, peer validation 5), ``max_ticks=20``. A group of one agent
    sends no message: a claim goes to s-1 = 0 peers, a validation to 2(s-1) = 0.

    t=1   agent_0 sees task0.                                                           step 0: tick 1, deciders a0
    step 1: claim 1..4; explores 4..7; peers validate 7..12: rejected, task0 ready again.  step 1: tick 12, a0
    step 2: claim 12..15; explores 15..18; validation would end at 23 > 20: truncated at 20.
                                                                                      step 2: tick 20, truncated

    As of 20: ET = ET_g = 20; span 19; maze ticks 6: TWT 13; lower bound chain 3 + 3 + 5 = 11 (work 3); makespan
    ratio max(19, 11) / 11.
    """
    inst = build_instance(edges=[], rewards=[5.0], task_class=[0], mazes=[corridor_maze(3)], agent_group=[0])
    episode = play(
        inst,
        [{"agent_0": 1}, {"agent_0": 1}],
        control="decentralized",
        solution_error_prob=1.0,
        max_ticks=20,
        **COSTS,
    )
    assert episode.records == [
        StepRecord(1, ("agent_0",)),
        StepRecord(12, ("agent_0",)),
        StepRecord(20, (), truncated=True),
    ]
    assert_metrics(
        episode.metrics,
        ET=20,
        ET_g=[20],
        TWT=13.0,
        TWT_g=[13.0],
        lambda_g=[1],
        mu_g=[0],
        total_reward=0.0,
        messages=0,
        conflicts=0,
        controller_utilization=0.0,
        fairness_jain=1.0,
        lower_bound=11,
        makespan_ratio=19 / 11,
    )
    assert episode.infos["agent_0"]["stats"] == {"explorations": 2, "replays": 0, "rejected_solutions": 1, "ticks": 20}

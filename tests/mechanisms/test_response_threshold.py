"""Response thresholds: the engagement probability s^2/(s^2+theta^2) with a stimulus that grows while a task waits,
threshold learning and forgetting, determinism per seed without global draws, hand counts, completion."""

from __future__ import annotations

import numpy as np
import pytest

from ces_env.config import ConfigError, make_config
from ces_env.core.protocols.swarm import task_depths
from ces_env.types import TaskStatus
from tests.mechanisms.cases import run_config, run_on_instance, two_agent_instance
from tests.mechanisms.swarm_cases import assert_deterministic_without_global_draws, fresh_simulator


@pytest.mark.parametrize(("waited", "theta"), [(0, 1.0), (10, 1.0), (30, 3.0), (5, 0.5)])
def test_an_agent_engages_with_probability_s2_over_s2_plus_theta2(waited, theta):
    """One ready task that has waited ``waited`` ticks (stimulus 1 + waited / 10): the share of draws in which an
    agent engages matches s^2 / (s^2 + theta^2)."""
    sim = fresh_simulator("response-threshold", preset="tiny", graph="chain")
    control = sim.control
    task = control.open_tasks(0)[:1]
    sim.time = int(control.ready_since[task[0]]) + waited
    control.thresholds[0, :] = theta
    stimulus = 1.0 + waited / 10.0
    assert control.stimulus(task) == pytest.approx([stimulus])
    draws = 20_000
    engaged = sum(control.choose_task(0, 0, task) == 0 for _ in range(draws))
    assert engaged / draws == pytest.approx(stimulus**2 / (stimulus**2 + theta**2), abs=0.015)


def test_tasks_are_considered_by_stimulus_first():
    """With a threshold so low that the first task considered is always engaged, the agent takes the task that has
    waited longest, whatever its reward."""
    sim = fresh_simulator("response-threshold", preset="small", control_options={"min_threshold": 1e-6})
    control = sim.control
    tasks = control.open_tasks(0)
    control.thresholds[:] = 1e-6
    control.ready_since[tasks] = 0
    control.ready_since[tasks[-1]] = -50  # the lowest-reward task has waited 50 ticks more
    sim.time = 10
    assert control.choose_task(0, 0, tasks) == len(tasks) - 1


def test_thresholds_learn_and_forget_within_bounds():
    options = {"learning": 0.3, "forgetting": 0.1, "min_threshold": 0.5, "max_threshold": 1.2}
    sim = fresh_simulator("response-threshold", preset="small", control_options=options)
    control = sim.control
    task = 0
    kind = int(control.task_type[task])
    control.task_completed(2, task)
    row = control.thresholds[2]
    assert row[kind] == pytest.approx(0.7)
    assert np.delete(row, kind) == pytest.approx(1.1)
    for _ in range(5):
        control.task_completed(2, task)
    assert row[kind] == pytest.approx(0.5) and np.delete(row, kind) == pytest.approx(1.2)  # clamped
    assert (control.thresholds[[0, 1, 3]] == 1.0).all()  # the others' are their own


def test_types_by_depth():
    sim = fresh_simulator("response-threshold", preset="small", control_options={"task_type": "depth"})
    depth = task_depths(sim.instance)
    assert (sim.control.task_type == depth).all()
    for task in range(sim.instance.n_tasks):
        preds = sim.instance.predecessors(task)
        assert depth[task] == (depth[preds].max() + 1 if preds.size else 0)


def test_same_seed_same_episode_and_no_global_draws():
    assert_deterministic_without_global_draws("response-threshold", preset="small", speed_spread=0.5)


def test_two_agent_case_by_hand_when_both_engage():
    """Thresholds of 1e-6 make engaging certain (1 - 1e-12): both agents mark the one task in the first round (2
    board writes), the lower id keeps it (1 conflict); learning sends nothing; the peer validation costs 2 messages
    and the shared solution 1. The task starts one hop after the start."""
    options = {"initial_threshold": 1e-6, "min_threshold": 1e-6}
    metrics, sim = run_on_instance("response-threshold", two_agent_instance(), control_options=options)
    assert sim.control.negotiation_messages == 2
    assert metrics["messages"] == 2 + 2 + 1
    assert metrics["conflicts"] == 1
    assert sim.completed_by[0] == 0
    assert sim.exec_start_time[0] == sim.start_time + sim.config.negotiation_latency_ticks


def test_rounds_that_engage_nobody_each_cost_a_hop():
    """High thresholds: agents often decline, and every round, marking or not, lasts one hop, so the one task
    starts exactly ``rounds`` hops after the start; a later round sees a larger stimulus."""
    options = {"initial_threshold": 4.0, "max_threshold": 4.0}
    waits = set()
    for seed in range(8):
        metrics, sim = run_on_instance(
            "response-threshold", two_agent_instance(seed=seed), seed, control_options=options
        )
        rounds = int(sim.control.rounds.sum())
        assert sim.exec_start_time[0] == sim.start_time + rounds * sim.config.negotiation_latency_ticks
        assert sim.control.negotiation_messages == metrics["conflicts"] + 1  # one mark each, one kept
        waits.add(rounds)
    assert max(waits) > 1


@pytest.mark.parametrize("graph", ["lds", "hds"])
@pytest.mark.parametrize("options", [{}, {"task_type": "depth"}, {"learning": 0.0, "forgetting": 0.0}])
def test_response_threshold_completes_every_task(graph, options):
    for seed in (0, 1, 2):
        result, sim = run_config("response-threshold", seed, preset="small", graph=graph, control_options=options)
        assert sim.terminated and (sim.task_status == TaskStatus.DONE).all()
        stats = sim.control.mechanism_stats()
        assert result.metrics["conflicts"] == stats["conflicts"] == stats["marks"] - stats["awards"]


def test_bad_options_name_the_option():
    with pytest.raises(ConfigError, match="task_type"):
        make_config("tiny", control="response-threshold", control_options={"task_type": "reward"})
    with pytest.raises(ConfigError, match="min_threshold <= initial_threshold"):
        make_config("tiny", control="response-threshold", control_options={"initial_threshold": 9.0})

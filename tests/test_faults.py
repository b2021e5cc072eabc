"""Faults and self-interested agents (issue 11): crashes, controller outages and elections, Byzantine solvers and
misreported costs. The guarantees: every task completed exactly once or the episode truncated with a reason, no false
solution ever rewarded, the same seed the same faults."""

from __future__ import annotations

import numpy as np
import pytest

import ces_env
from ces_env.config import ConfigError, make_config
from ces_env.core.faults import FAULT_STAT_KEYS, choose_agents, corrupt_path, crash_rate_for_share
from ces_env.core.metrics import STAT_KEYS
from ces_env.core.protocols import CONTROL_PROTOCOLS
from ces_env.core.protocols.negotiation import estimated_cost
from ces_env.maze import validate_solution
from ces_env.types import AgentStatus, TaskStatus
from tests.helpers import rollout

BASE = dict(n_agents=6, n_groups=2, n_tasks=16, maze_size=6, graph="lds")
PROTOCOLS = ["centralized", "decentralized", "auction-first-price", "contract-net"]
"""Played under every fault setting."""
OTHER_PROTOCOLS = [name for name in CONTROL_PROTOCOLS if name not in PROTOCOLS]
"""Every other registered control, played under the settings of :data:`OTHER_FAULTS` only (the suite stays fast;
the soak, ``benchmarks/soak.py``, plays every control under random combinations of every option)."""
OTHER_FAULTS = ["crash-for-good", "byzantine", "misreport", "everything"]
TRUNCATION_REASONS = {"crashed", "controller_down", "max_ticks", "stalled", "no_award"}
FAULTS = {
    "crash-recover": dict(crash_rate=0.05, crash_recovery_ticks=5),
    "crash-for-good": dict(crash_rate=0.03),
    "outage": dict(controller_outage_start=20, controller_outage_ticks=40),
    "outage-election": dict(controller_outage_start=10, election_timeout_ticks=15, election_ticks=5),
    "outage-for-good": dict(controller_outage_start=10),
    "byzantine": dict(byzantine_fraction=0.34),
    "misreport": dict(misreport_fraction=0.5, misreport_factor=1.7),
    "everything": dict(
        crash_rate=0.02,
        crash_recovery_ticks=3,
        controller_outage_start=15,
        controller_outage_ticks=20,
        byzantine_fraction=0.2,
        misreport_fraction=0.3,
        misreport_factor=0.6,
        solution_error_prob=0.1,
    ),
}


def first_slot(env, observations, rng):
    """The first candidate for every decider (any valid action for the others)."""
    actions = {}
    for agent, obs in observations.items():
        valid = np.flatnonzero(obs["action_mask"])
        actions[agent] = int(valid[1]) if len(valid) > 1 and valid[0] == 0 else int(valid[0])
    return actions


def play(control: str, seed: int, **faults):
    env = ces_env.parallel_env(**BASE, control=control, **faults)
    rewards = np.zeros(BASE["n_agents"])

    def collect(env, observations, rng):
        return first_slot(env, observations, rng)

    infos, steps = rollout(env, seed, policy=collect)
    for step in steps:
        for agent, reward in step.rewards.items():
            rewards[env.possible_agents.index(agent)] += reward
    return env.unwrapped.sim, next(iter(infos.values())), rewards


FAULT_CASES = [(control, fault) for control in PROTOCOLS for fault in FAULTS] + [
    (control, fault) for control in OTHER_PROTOCOLS for fault in OTHER_FAULTS
]


@pytest.mark.parametrize(("control", "fault"), FAULT_CASES)
def test_every_task_done_once_or_truncated_with_a_reason(control, fault):
    for seed in (0, 1, 2) if control in PROTOCOLS else (0, 1):
        sim, info, rewards = play(control, seed, **FAULTS[fault])
        stats = info["stats"]
        assert set(stats) == set(STAT_KEYS) | set(FAULT_STAT_KEYS)
        done = sim.task_status == TaskStatus.DONE
        assert sim.tasks_done == int(done.sum())  # a task completes at most once: one count per DONE task
        assert np.array_equal(sim.group_completed, np.bincount(sim.instance.task_group[done], minlength=2))
        assert np.all((sim.completed_by >= 0) == done)
        assert rewards.sum() == pytest.approx(sim.instance.rewards[done].sum())  # paid once per completed task
        if sim.terminated:
            assert done.all() and info["truncation_reason"] is None
        else:
            assert info["truncation_reason"] in TRUNCATION_REASONS
            if info["truncation_reason"] == "crashed":  # some group has tasks left and nobody up for good
                dead = [g for g in range(2) if sim.down_for_good[sim.instance.agent_group == g].all()]
                assert any(sim.group_remaining[g] > 0 for g in dead)
        if sim.faults.byzantine.any():  # no false solution is ever rewarded
            assert rewards[sim.faults.byzantine].sum() == 0
            assert not np.isin(sim.completed_by[done], np.flatnonzero(sim.faults.byzantine)).any()
        if fault == "outage-for-good" and control == "centralized":
            assert info["truncation_reason"] == "controller_down"


@pytest.mark.parametrize("control", list(CONTROL_PROTOCOLS))
def test_same_seed_same_faults_step_by_step(control):
    faults = FAULTS["everything"]
    envs = [ces_env.parallel_env(**BASE, control=control, **faults) for _ in range(2)]
    obs = [env.reset(seed=7)[0] for env in envs]
    rng = np.random.default_rng(0)
    while envs[0].agents:
        actions = first_slot(envs[0], obs[0], rng)
        out = [env.step(actions) for env in envs]
        assert out[0][1] == out[1][1] and out[0][2] == out[1][2] and out[0][3] == out[1][3]
        for agent in out[0][0]:
            assert np.array_equal(out[0][0][agent]["observation"], out[1][0][agent]["observation"])
        obs = [o[0] for o in out]
    stats = [env.unwrapped.sim.stats() for env in envs]
    assert stats[0] == stats[1]


@pytest.mark.parametrize("control", ["centralized", "decentralized", "auction-vickrey"])
def test_different_seeds_draw_different_faults(control):
    faults = FAULTS["everything"]
    seen = set()
    for seed in range(6):
        sim, info, _ = play(control, seed, **faults)
        seen.add((tuple(sim.faults.byzantine), tuple(sim.faults.liars), info["stats"]["crashes"]))
    assert len(seen) > 1


def test_the_fault_streams_do_not_depend_on_the_protocol():
    """Byzantine and lying agents are drawn from the episode's seed alone: the same under every protocol."""
    chosen = set()
    for control in CONTROL_PROTOCOLS:
        sim, _, _ = play(control, 3, byzantine_fraction=0.34, misreport_fraction=0.5)
        chosen.add((tuple(sim.faults.byzantine), tuple(sim.faults.liars)))
    assert len(chosen) == 1


def test_fault_free_configs_build_no_plan_and_keep_their_stats():
    sim, info, _ = play("centralized", 0)
    assert sim.faults is None
    assert set(info["stats"]) == set(STAT_KEYS)


@pytest.mark.parametrize("control", ["centralized", "decentralized"])
def test_crash_with_recovery_completes_and_without_recovery_agents_stay_down(control):
    recovered = [play(control, seed, crash_rate=0.05, crash_recovery_ticks=4) for seed in range(4)]
    assert all(sim.terminated for sim, _, _ in recovered)
    assert sum(info["stats"]["crashes"] for _, info, _ in recovered) > 0
    for sim, info, _ in recovered:
        stats = info["stats"]
        assert stats["recoveries"] <= stats["crashes"]
        assert (stats["lost_work_ticks"] > 0) == (stats["crashes"] > 0) or stats["lost_work_ticks"] == 0
        assert not sim.down.any() or not sim.terminated or stats["recoveries"] < stats["crashes"]
    forever = [play(control, seed, crash_rate=0.05) for seed in range(4)]
    for sim, info, _ in forever:
        crashes = info["stats"]["crashes"]
        assert int(sim.down_for_good.sum()) == crashes and info["stats"]["recoveries"] == 0
        assert np.all(sim.agent_status[sim.down_for_good] == AgentStatus.FINISHED)
    assert any(info["truncation_reason"] == "crashed" for _, info, _ in forever)


def test_a_crash_loses_the_partial_work_and_the_task_is_redone():
    sim, info, _ = play("decentralized", 0, crash_rate=0.05, crash_recovery_ticks=2)
    stats = info["stats"]
    assert stats["crashes"] > 0 and stats["lost_work_ticks"] > 0
    assert sim.terminated
    assert stats["explorations"] + stats["replays"] >= sim.instance.n_tasks + stats["crashes"]


def test_a_controller_outage_delays_centralized_but_not_decentralized():
    outage = dict(controller_outage_start=20, controller_outage_ticks=60)
    for seed in range(3):
        central = play("centralized", seed)[1]["metrics"]["ET"]
        central_down = play("centralized", seed, **outage)
        assert central_down[0].terminated
        assert central_down[1]["metrics"]["ET"] > central
        assert central_down[1]["stats"]["controller_down_ticks"] == 2 * 60  # both groups' controllers
        decentral = play("decentralized", seed)[1]["metrics"]
        decentral_down = play("decentralized", seed, **outage)[1]["metrics"]
        assert decentral_down == decentral


def test_an_election_restores_service():
    for seed in range(3):
        stuck = play("centralized", seed, controller_outage_start=10, controller_outage_group=0)
        assert stuck[1]["truncation_reason"] == "controller_down"
        assert stuck[0].group_remaining[0] > 0
        elected = play(
            "centralized",
            seed,
            controller_outage_start=10,
            controller_outage_group=0,
            election_timeout_ticks=8,
            election_ticks=5,
        )
        sim, info, _ = elected
        assert sim.terminated and info["stats"]["elections"] == 1
        assert info["stats"]["controller_down_ticks"] == 8 + 5
        # the same silence as a 13-tick outage, plus the election's call and votes
        same_silence = play(
            "centralized", seed, controller_outage_start=10, controller_outage_group=0, controller_outage_ticks=13
        )[1]["metrics"]
        assert info["metrics"]["ET"] == same_silence["ET"]
        assert info["metrics"]["messages"] == same_silence["messages"] + 2 * (sim.group_size[0] - 1)


def test_byzantine_agents_are_chosen_with_an_honest_agent_left_in_every_group():
    groups = np.array([0, 0, 0, 1, 1, 2])
    for seed in range(20):
        chosen = choose_agents(seed, 2, 1.0, groups, keep_one=True)
        for g in range(3):
            assert not chosen[groups == g].all()
        assert chosen.sum() == 3  # 2 + 1 + 0: at most s_g - 1 per group
    assert choose_agents(1, 2, 0.5, np.zeros(10, dtype=int), keep_one=True).sum() == 5


def test_a_false_solution_never_validates():
    sim, _, _ = play("centralized", 0)
    for maze in sim.instance.mazes:
        assert validate_solution(maze, maze.solution)
        assert not validate_solution(maze, corrupt_path(maze.solution))


def test_misreporting_agents_scale_their_reported_costs_only():
    env = ces_env.parallel_env(**BASE, control="auction-first-price", misreport_fraction=0.5, misreport_factor=1.5)
    env.reset(seed=0)
    sim = env.unwrapped.sim
    liars = np.flatnonzero(sim.faults.liars)
    assert len(liars) == 3
    for agent in range(BASE["n_agents"]):
        true = estimated_cost(sim, agent, 0, truthful=True)
        expected = max(1, round(true * 1.5)) if agent in liars else true
        assert estimated_cost(sim, agent, 0) == expected


def test_crash_rate_for_share_inverts_the_survival_probability():
    rate = crash_rate_for_share(0.2, 300)
    assert (1 - rate) ** 300 == pytest.approx(0.8)
    assert crash_rate_for_share(0.0, 300) == 0.0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (dict(controller_outage_ticks=5), "controller_outage_ticks"),
        (dict(election_timeout_ticks=5), "election_timeout_ticks"),
        (dict(controller_outage_start=0, controller_outage_group=2), "controller_outage_group"),
        (dict(crash_rate=1.0), "crash_rate"),
        (dict(misreport_factor=0), "misreport_factor"),
    ],
)
def test_bad_fault_options_name_their_field(fields, field):
    with pytest.raises(ConfigError, match=f"'{field}'"):
        make_config(**BASE, **fields)

"""The negotiation base, over every registered mechanism: bids from what an agent can know, no task decisions left
to the policy, every task completed under the invariants, a valid lower bound, hand-counted messages, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ces_env
from ces_baselines.registry import POLICIES, _load_builtin
from ces_env.config import ConfigError, make_config
from ces_env.core.protocols import CONTROL_PROTOCOLS
from ces_env.core.protocols.negotiation import (
    NegotiationProtocol,
    estimated_cost,
    expected_exploration_moves,
    replay_ticks,
)
from ces_env.maze import explore_dfs, generate_maze
from ces_env.types import AgentStatus, TaskStatus
from tests.core.test_invariants import StepChecker, small_configs
from tests.helpers import rollout
from tests.mechanisms.cases import (
    MECHANISMS,
    PART_ONE,
    TWO_AGENT_COSTS,
    run_config,
    run_on_instance,
    two_agent_instance,
)

# The twelve mechanisms issue 10 asks for, by name: a list written out (not read from the registry), so that a
# mechanism that stops being registered fails here.
ISSUE_MECHANISMS = (*PART_ONE, "cbba", "max-sum", "dpop", "aco", "response-threshold")


def test_every_mechanism_of_the_issue_is_registered_with_a_policy_each():
    _load_builtin()
    assert len(ISSUE_MECHANISMS) == len(set(ISSUE_MECHANISMS)) == 12
    assert set(ISSUE_MECHANISMS) <= set(MECHANISMS)
    for name in ISSUE_MECHANISMS:
        assert issubclass(CONTROL_PROTOCOLS[name], NegotiationProtocol), name
        assert POLICIES[name].required_config == {"control": name}, name


# ------------------------------------------------------------------------------------------------ what bids use
def test_expected_dfs_moves_match_the_explorer_on_random_mazes():
    """n_cells - 1 overestimates a depth-first search by the part of the maze behind the target only (a few %)."""
    rng = np.random.default_rng(0)
    moves = [explore_dfs(generate_maze(10, 10, rng), rng).moves for _ in range(300)]
    estimate = expected_exploration_moves(100, "dfs")
    assert estimate == 99
    assert 0.8 * estimate < np.mean(moves) <= estimate


def test_a_bid_reads_the_maze_size_and_what_the_agent_knows_never_the_hidden_cost():
    """Two instances that differ only in their mazes (same size, different layouts and so different hidden
    exploration costs) give the same estimates for an unknown class; a known class costs its replay."""
    for seed in (0, 1):
        _, sim = run_on_instance("contract-net", two_agent_instance(seed=seed))
        sim.knows[:] = False
        assert [estimated_cost(sim, a, 0) for a in (0, 1)] == list(TWO_AGENT_COSTS)
        sim.knows[1, 0] = True
        length = sim.instance.mazes[0].solution_length
        assert estimated_cost(sim, 1, 0) == replay_ticks(sim, 1, 0) == math.ceil(length / 2)
        assert estimated_cost(sim, 0, 0, known={0}) == length


def test_mechanisms_never_ask_the_policy_for_a_task():
    for control in MECHANISMS:
        env = ces_env.parallel_env(preset="tiny", control=control)
        observations, _ = env.reset(seed=0)
        while env.agents:
            for obs in observations.values():
                assert not obs["action_mask"][1:].any(), f"{control}: a task slot is legal"
            observations, *_ = env.step({a: 0 for a in env.agents})
        with pytest.raises(RuntimeError, match="allocates tasks itself"):
            env.unwrapped.sim.control.choose(0, 0)


# ------------------------------------------------------------------------------------------------ completion
@pytest.mark.parametrize("control", MECHANISMS)
@pytest.mark.parametrize("graph", ["lds", "hds"])
@pytest.mark.parametrize("partition", ["interdependent", "independent"])
def test_every_mechanism_completes_every_task_on_random_instances(control, graph, partition):
    for seed in (0, 1):
        checker = StepChecker()
        env = ces_env.parallel_env(
            n_agents=6, n_groups=2, n_tasks=24, graph=graph, partition=partition, maze_size=6, control=control
        )
        infos, _ = rollout(env, seed, policy=lambda e, o, r: {a: 0 for a in e.agents}, on_step=checker)
        sim = env.unwrapped.sim
        metrics = next(iter(infos.values()))["metrics"]
        assert sim.terminated, f"{control} seed {seed}: not terminated"
        assert metrics["mu_g"] == metrics["lambda_g"]
        assert np.all(sim.task_status == TaskStatus.DONE)
        assert np.all(sim.instance.agent_group[sim.completed_by] == sim.instance.task_group)
        assert max(metrics["ET_g"]) - sim.start_time >= metrics["lower_bound"]
        assert sim.control.awards.sum() >= sim.instance.n_tasks  # rejected solutions are negotiated again
        stats = sim.control.mechanism_stats()
        assert 0 < stats["negotiation_messages"] <= metrics["messages"]
        assert stats["rounds"] >= 1


@pytest.mark.parametrize("control", MECHANISMS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=small_configs(), seed=st.integers(0, 2**16), queue_limit=st.sampled_from([0, 0, 1]))
def test_random_episodes_keep_the_invariants_under_every_mechanism(control, config, seed, queue_limit):
    """The invariant test's random configs (steered mode, rejections, knowledge modes...) under each mechanism,
    also with agents that queue a task."""
    config = {**config, "control": control}
    env = ces_env.parallel_env(**config, control_options={"queue_limit": queue_limit})
    checker = StepChecker()
    try:
        infos, _ = rollout(env, seed, on_step=checker)
    except ConfigError as error:  # DPOP refuses, by design, rounds too large for an exact solution
        assert control == "dpop" and "max_util_entries" in str(error), error
        return
    sim = env.unwrapped.sim
    metrics = next(iter(infos.values()))["metrics"]
    assert sim.terminated, f"truncated: {infos[next(iter(infos))].get('truncation_reason')}"
    assert metrics["mu_g"] == metrics["lambda_g"]
    assert max(metrics["ET_g"]) - sim.start_time >= metrics["lower_bound"]
    before, _ = sim.control.task_overheads(sim.config)  # the protocol's claim, used by the lower bound's chain term
    for task in range(sim.instance.n_tasks):  # negotiated only once ready: a task starts >= `before` after that
        preds = sim.instance.predecessors(task)
        ready = max(sim.start_time, int(sim.done_time[preds].max()) if preds.size else 0)
        assert sim.exec_start_time[task] >= ready + before


def test_same_seed_same_metrics_and_payments():
    for control in MECHANISMS:
        runs = [run_config(control, seed=7, preset="tiny", speed_spread=0.5) for _ in range(2)]
        (first, sim_a), (second, sim_b) = runs
        assert first.metrics == second.metrics, control
        assert sim_a.control.mechanism_stats() == sim_b.control.mechanism_stats(), control


# ------------------------------------------------------------------------------------------------ hand counts
# Every mechanism on the two-agent case (one task, agents of speeds 1 and 2, estimated costs 19 and 10): the
# negotiation's messages by hand, then the manager's validation (the solution in, the verdict out: 2) and the
# solution shared with the one groupmate (1).
HAND_COUNTS = {
    "contract-net": 2 + 2 + 1,  # announcement to 2, 2 bids, 1 award
    "auction-first-price": 2 + 2 + 1,  # call for bids to 2, 2 bids, 1 award
    "auction-vickrey": 2 + 2 + 1,
    # ceiling 19, step ceil(0.05 * 19) = 1: round 1 at 19, both stay (2 calls, 2 answers); round 2 at 18 only the
    # fast agent stays (10 <= 18 < 19): 2 calls, 2 answers; it wins at 18; 1 award
    "auction-english": 2 + 2 + 2 + 2 + 1,
    # offers 1, 2, ..., 10 to both agents (10 rounds x 2 calls); the fast agent accepts 10 (1 answer); 1 award
    "auction-dutch": 10 * 2 + 1 + 1,
    "auction-double": 2 + 2 + 1,  # call for offers to 2, 2 offers, 1 trade
    "vcg": 2 + 2 + 1,  # offer to 2, 2 bids, 1 award
}


@pytest.mark.parametrize("control", sorted(HAND_COUNTS))
def test_two_agent_messages_match_a_hand_count(control):
    metrics, sim = run_on_instance(control, two_agent_instance())
    assert sim.control.negotiation_messages == HAND_COUNTS[control]
    assert metrics["messages"] == HAND_COUNTS[control] + 2 + 1
    assert sim.completed_by[0] == 1  # the faster agent wins everywhere
    hops = 3 if control not in ("auction-english", "auction-dutch") else 2 * (2 if "english" in control else 10) + 1
    assert sim.exec_start_time[0] == sim.start_time + hops * sim.config.negotiation_latency_ticks


def test_rejections_are_counted_when_losers_are_notified():
    quiet, _ = run_on_instance("auction-vickrey", two_agent_instance())
    loud, _ = run_on_instance("auction-vickrey", two_agent_instance(), control_options={"notify_losers": True})
    assert loud["messages"] == quiet["messages"] + 1


def test_a_busy_agent_bids_with_its_backlog_and_queues_what_it_wins():
    """queue_limit=1: with two same-class tasks, the fast agent explores the first and, bidding with its backlog
    plus a replay, can win the second while still busy; it then starts it as soon as it is free."""
    metrics, sim = run_on_instance(
        "auction-vickrey", two_agent_instance(2, same_class=True), control_options={"queue_limit": 1}
    )
    assert metrics["mu_g"] == [2]
    # every agent held at most one task besides its current one, and nothing is left held at the end
    assert all(not q for q in sim.control.queued) and all(not q for q in sim.control.incoming)


# ------------------------------------------------------------------------------------------------ config and options
def test_options_are_validated_naming_the_option():
    with pytest.raises(ConfigError, match="queue_limit"):
        make_config("tiny", control="contract-net", control_options={"queue_limit": -1})
    with pytest.raises(ConfigError, match="notify_losers"):
        make_config("tiny", control="contract-net", control_options={"notify_losers": "yes"})
    with pytest.raises(ConfigError, match="step_fraction"):
        make_config("tiny", control="auction-english", control_options={"step_fraction": 0.0})
    with pytest.raises(ConfigError, match="no option 'step_fraction'"):
        make_config("tiny", control="contract-net", control_options={"step_fraction": 0.1})
    with pytest.raises(ConfigError, match="negotiation_latency_ticks"):
        make_config("tiny", negotiation_latency_ticks=-1)


def test_the_task_is_held_while_its_award_travels():
    """Stopped (max_ticks) between the award (2 hops after the round opens) and its arrival (3 hops): the task is
    held for the winner, which waits (CLAIMING) while the loser is idle; nobody executes yet."""
    latency = 3
    env = ces_env.parallel_env(
        n_agents=2, n_groups=1, n_tasks=1, maze_size=(4, 5), control="contract-net", max_ticks=2 + 2 * latency + 1
    )
    env.reset(seed=0, options={"instance": two_agent_instance()})
    sim = env.unwrapped.sim
    assert sim.truncated and not sim.terminated
    assert TaskStatus(sim.task_status[0]) == TaskStatus.CLAIMED and sim.task_holder[0] == 1
    assert AgentStatus(sim.agent_status[1]) == AgentStatus.CLAIMING
    assert AgentStatus(sim.agent_status[0]) == AgentStatus.IDLE
    assert list(sim.control.incoming[1]) == [0] and sim.exec_start_time[0] == -1


def test_rejection_streaks_fit_in_the_automatic_max_ticks():
    """One task rejected three times in a row (solution_error_prob=0.3, seed 0 under aco) once hit the automatic
    max_ticks (then twice one worst-case attempt per task); the limit now allows the attempts that every task needs
    but with probability 1e-6."""
    config = dict(n_agents=1, n_groups=1, n_tasks=1, maze_size=2, tasks_per_class=1, knowledge_sharing="none")
    config |= dict(speed_spread=0.5, agent_speed=2.5, solution_error_prob=0.3, claim_latency_ticks=0)
    config |= dict(assign_service_ticks=0, validate_service_ticks=0, peer_validate_ticks=2, n_candidates=1)
    env = ces_env.parallel_env(**config, control="aco", control_options={"queue_limit": 0})
    rollout(env, 0)
    sim = env.unwrapped.sim
    assert sim.rejected_solutions >= 3  # the streak this test is about
    assert sim.terminated and not sim.truncated

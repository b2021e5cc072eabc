"""Behaviour of the environment: masks, strict mode, rewards, modes, metrics, files, injected instances, rendering."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import ces_env
from ces_env.config import ConfigError
from ces_env.generator import assemble_instance
from ces_env.maze import generate_maze
from ces_env.observations import slot_feature_index
from ces_env.policies import RewardFirstPolicy
from ces_env.types import AgentStatus
from tests.helpers import rollout


def test_infos_name_the_group_and_the_slot_tasks():
    env = ces_env.parallel_env(preset="small")
    observations, infos = env.reset(seed=0)
    sim = env.unwrapped.sim
    for i, agent in enumerate(env.agents):
        group = infos[agent]["group"]
        assert group == sim.instance.agent_group[i]
        cands = sim.candidates(group)[: env.config.n_candidates]
        shown = infos[agent]["candidates"]
        assert shown[: len(cands)].tolist() == cands.tolist() and (shown[len(cands) :] == -1).all()
        # a slot is valid in the observation exactly when a task id is shown
        valid = observations[agent]["observation"][[slot_feature_index(k, "valid") for k in range(len(shown))]]
        assert ((valid > 0.5) == (shown >= 0)).all()


def test_metrics_only_at_the_end_and_in_every_agents_info():
    env = ces_env.parallel_env(preset="tiny")
    infos, records = rollout(env, seed=0, policy=RewardFirstPolicy())
    for record in records[:-1]:
        assert all("metrics" not in info for info in record[5].values())
    final_infos = records[-1][5]
    assert set(final_infos) == set(env.possible_agents)
    metrics = [info["metrics"] for info in final_infos.values()]
    assert all(m == metrics[0] for m in metrics)
    assert tuple(metrics[0]) == ces_env.METRIC_KEYS
    assert metrics[0] == env.metrics()
    assert all(records[-1][3].values()) and env.agents == []


def test_step_after_the_end_returns_empty_dicts():
    env = ces_env.parallel_env(preset="tiny")
    rollout(env, seed=0, policy=RewardFirstPolicy())
    assert env.step({}) == ({}, {}, {}, {}, {})


def test_only_deciding_agents_have_choices():
    env = ces_env.parallel_env(preset="small")
    observations, _ = env.reset(seed=0)
    sim = env.unwrapped.sim
    deciders = set(sim.task_deciders().tolist())
    assert deciders
    for i, agent in enumerate(env.agents):
        mask = observations[agent]["action_mask"]
        assert mask[0] == 1
        assert bool(mask[1:].any()) == (i in deciders)


def test_candidate_slots_are_ordered_by_reward_then_id():
    env = ces_env.parallel_env(preset="small", n_candidates=8)
    env.reset(seed=4)
    sim = env.unwrapped.sim
    for group in range(sim.instance.n_groups):
        cands = sim.candidates(group)
        keys = [(-sim.instance.rewards[t], t) for t in cands]
        assert keys == sorted(keys)


def test_strict_mode_rejects_a_masked_action_with_a_clear_message():
    env = ces_env.parallel_env(preset="tiny", strict_actions=True)
    observations, _ = env.reset(seed=0)
    agent = next(a for a in env.agents if not observations[a]["action_mask"][-1])
    with pytest.raises(ValueError, match=rf"{agent}: action \d+ is masked out at tick \d+ \(legal actions: \[0"):
        env.step({agent: env.action_space(agent).n - 1})


def test_lenient_mode_treats_a_masked_action_as_wait():
    env = ces_env.parallel_env(preset="tiny")
    observations, _ = env.reset(seed=0)
    agent = next(a for a in env.agents if not observations[a]["action_mask"][-1])
    _, _, _, _, infos = env.step({agent: env.action_space(agent).n - 1})
    assert infos[agent]["invalid_action"] is True


def test_actions_for_unknown_agents_are_rejected():
    env = ces_env.parallel_env(preset="tiny")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="not live"):
        env.step({"agent_99": 0})


def test_reward_first_pays_the_solver_and_team_mode_shares():
    individual = ces_env.parallel_env(preset="tiny")
    _, records = rollout(individual, seed=2, policy=RewardFirstPolicy())
    per_step = [r[2] for r in records]
    assert any(len({v for v in step.values()}) > 1 for step in per_step)  # some agents earn, others not
    team = ces_env.parallel_env(preset="tiny", reward_mode="team")
    _, records = rollout(team, seed=2, policy=RewardFirstPolicy())
    assert all(len(set(r[2].values())) == 1 for r in records)


def test_time_penalty_is_charged_per_elapsed_tick():
    """Every tick of the episode, the split before the first observation included, costs every agent 0.5."""
    env = ces_env.parallel_env(preset="tiny", time_penalty=0.5)
    infos, records = rollout(env, seed=1, policy=RewardFirstPolicy())
    sim = env.unwrapped.sim
    paid = sum(sum(r[2].values()) for r in records)
    et = next(iter(infos.values()))["metrics"]["ET"]
    assert sim.start_time > 0 and et == sim.time
    assert np.isclose(paid, sim.total_reward - 0.5 * env.config.n_agents * et)


def test_truncation_at_max_ticks():
    env = ces_env.parallel_env(preset="tiny", max_ticks=30)
    infos, records = rollout(env, seed=0, policy=RewardFirstPolicy())
    assert all(records[-1][4].values()) and not any(records[-1][3].values())
    assert env.unwrapped.sim.time == 30
    assert next(iter(infos.values()))["metrics"]["ET"] == 30


@pytest.mark.parametrize("control", ["centralized", "decentralized"])
def test_steered_mode_completes_with_the_reference_policy(control):
    env = ces_env.parallel_env(preset="steered", control=control)
    statuses = set()
    infos, _ = rollout(
        env,
        seed=0,
        policy=RewardFirstPolicy(),
        on_step=lambda e: statuses.update(e.unwrapped.sim.agent_status.tolist()),
    )
    assert env.unwrapped.sim.terminated
    assert AgentStatus.STEERING in statuses
    metrics = next(iter(infos.values()))["metrics"]
    assert metrics["mu_g"] == metrics["lambda_g"]


def test_steered_moves_are_masked_by_walls():
    env = ces_env.parallel_env(preset="steered")
    observations, infos = env.reset(seed=0)
    policy = RewardFirstPolicy()
    policy.reset(env, 0)
    checked = 0
    for _ in range(200):
        if not env.agents:
            break
        sim = env.unwrapped.sim
        for agent in sim.move_deciders().tolist():
            maze = sim.instance.mazes[int(sim.instance.task_class[sim.agent_task[agent]])]
            row, col = divmod(int(sim.position[agent]), maze.width)
            mask = observations[f"agent_{agent}"]["action_mask"][-4:]
            expected = [(maze.passages[row, col] >> d) & 1 for d in range(4)]
            assert mask.tolist() == expected
            checked += 1
        observations, _, _, _, infos = env.step(policy.act(observations, infos))
    assert checked > 0


def test_centralized_controller_is_a_queue_and_decentralized_claims_conflict():
    central = ces_env.parallel_env(preset="small", assign_service_ticks=30, validate_service_ticks=30)
    infos, _ = rollout(central, seed=0, policy=RewardFirstPolicy())
    m = next(iter(infos.values()))["metrics"]
    assert m["controller_utilization"] > 0.1 and m["conflicts"] == 0
    decentral = ces_env.parallel_env(preset="small", control="decentralized", claim_latency_ticks=5)
    infos, _ = rollout(decentral, seed=0, policy=RewardFirstPolicy())
    m = next(iter(infos.values()))["metrics"]
    assert m["conflicts"] > 0 and m["controller_utilization"] == 0.0


def test_more_controller_service_time_means_a_later_end():
    ends = []
    for service in (0, 40):
        env = ces_env.parallel_env(preset="small", assign_service_ticks=service, validate_service_ticks=service)
        infos, _ = rollout(env, seed=5, policy=RewardFirstPolicy())
        ends.append(next(iter(infos.values()))["metrics"]["ET"])
    assert ends[1] > ends[0]


def test_system_overheads_put_et_above_the_groups():
    env = ces_env.parallel_env(preset="tiny", split_ticks_per_group=7, collect_ticks_per_group=5)
    infos, _ = rollout(env, seed=0, policy=RewardFirstPolicy())
    m = next(iter(infos.values()))["metrics"]
    assert m["ET"] == max(m["ET_g"]) + 5 * env.config.n_groups
    assert min(m["ET_g"]) > 7 * env.config.n_groups


def test_invalid_solutions_are_not_rewarded_and_retried():
    env = ces_env.parallel_env(preset="tiny", solution_error_prob=0.5)
    infos, _ = rollout(env, seed=0, policy=RewardFirstPolicy())
    sim = env.unwrapped.sim
    assert sim.terminated
    # every task was paid exactly once despite the rejected submissions
    assert np.isclose(sim.total_reward, sim.instance.rewards.sum())


def test_group_speeds_make_a_group_faster():
    env = ces_env.parallel_env(
        n_agents=4,
        n_groups=2,
        n_tasks=20,
        maze_size=12,
        graph="independent",
        partition="independent",
        group_speeds=(1.0, 4.0),
    )
    infos, _ = rollout(env, seed=0, policy=RewardFirstPolicy())
    et_g = next(iter(infos.values()))["metrics"]["ET_g"]
    assert et_g[1] < et_g[0]


def hand_built_instance(n_groups=1):
    graph = nx.DiGraph([(0, 1), (0, 2), (1, 3), (2, 3)])
    rng = np.random.default_rng(0)
    mazes = [generate_maze(4, 4, rng), generate_maze(4, 4, rng)]
    return assemble_instance(
        graph, [1.0, 2.0, 3.0, 4.0], [0, 0, 0, 0], [0, 1, 0, 1], [0, 0], [1.0, 1.0], mazes, n_groups=n_groups
    )


def test_an_injected_instance_is_used():
    env = ces_env.parallel_env(n_agents=2, n_groups=1, n_tasks=4)
    instance = hand_built_instance()
    observations, infos = env.reset(seed=0, options={"instance": instance})
    assert env.unwrapped.sim.instance is instance
    policy = RewardFirstPolicy()
    policy.reset(env, 0)
    while env.agents:
        observations, _, _, _, infos = env.step(policy.act(observations, infos))
    sim = env.unwrapped.sim
    assert sim.terminated and sim.done_time[3] > max(sim.done_time[1], sim.done_time[2])


def test_an_injected_instance_needs_topological_ids():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"edge \(1, 0\) goes from a higher to a lower id"):
        assemble_instance(
            nx.DiGraph([(1, 0)]), [1.0, 1.0], [0, 0], [0, 0], [0], [1.0], [generate_maze(3, 3, rng)], n_groups=1
        )


def test_an_injected_instance_must_match_the_config():
    env = ces_env.parallel_env(n_agents=2, n_groups=1, n_tasks=5)
    with pytest.raises(ValueError, match="n_tasks=4 but the env's config has 5"):
        env.reset(seed=0, options={"instance": hand_built_instance()})


def test_graph_files_run_through_the_env(data_dir):
    for name, n_tasks in (("gauss18.txt", 18), ("stg/rand0000_50.stg", 50)):
        env = ces_env.parallel_env(graph=str(data_dir / name), n_tasks=n_tasks, n_agents=4, n_groups=2, maze_size=5)
        rollout(env, seed=0, policy=RewardFirstPolicy())
        sim = env.unwrapped.sim
        assert sim.terminated and sim.instance.graph.number_of_edges() > 0


def test_a_cyclic_graph_file_is_reported_with_file_and_line(tmp_path):
    path = tmp_path / "loop.edgelist"
    path.write_text("# a cycle\n0 1\n1 2\n2 0\n")
    # reported when the config is built, before anything runs
    with pytest.raises(ConfigError, match=r"config field 'graph': .*loop\.edgelist:\d+:.*cycl"):
        ces_env.parallel_env(graph=str(path), n_tasks=3, n_agents=2, n_groups=1)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (dict(graph="g18", graph_density=0.5), "config field 'graph_density': .*not random"),
        (dict(graph="ldss"), "config field 'graph': unknown graph source 'ldss'"),
        (dict(graph="no/such/file.stg"), "config field 'graph': graph file 'no/such/file.stg' does not exist"),
    ],
)
def test_bad_graph_settings_are_rejected_when_the_config_is_built(overrides, words):
    with pytest.raises(ConfigError, match=words):
        ces_env.make_config(**overrides)


def test_truncated_episodes_keep_the_metric_invariants():
    # the controller is still validating when time runs out: its busy time counts only up to the truncation
    env = ces_env.parallel_env(
        n_agents=4, n_groups=2, n_tasks=12, maze_size=5, validate_service_ticks=1000, max_ticks=300
    )
    infos, _ = rollout(env, seed=0, policy=RewardFirstPolicy())
    m = next(iter(infos.values()))["metrics"]
    assert env.unwrapped.sim.truncated
    assert 0.0 < m["controller_utilization"] <= 1.0
    assert m["makespan_ratio"] >= 1.0 and m["lower_bound"] > 300


def test_steering_without_moving_is_waiting():
    env = ces_env.parallel_env(preset="steered", max_ticks=200)
    observations, _ = env.reset(seed=0)
    first_move = 1 + env.config.n_candidates
    while env.agents:  # take tasks, then never move
        actions = {a: (1 if observations[a]["action_mask"][1] else 0) for a in env.agents}
        observations, _, _, _, infos = env.step(actions)
    m = next(iter(infos.values()))["metrics"]
    assert env.unwrapped.sim.steer_moves.sum() == 0 and first_move > 1
    elapsed = 200 - env.unwrapped.sim.start_time
    assert m["TWT"] == env.config.n_agents * elapsed  # nobody moved: every agent-tick was waiting


def test_random_walk_exploration_fits_the_automatic_tick_limit():
    for seed in range(5):
        env = ces_env.parallel_env(
            n_agents=2, n_groups=1, n_tasks=4, graph="chain", maze_size=20, explorer="random_walk"
        )
        rollout(env, seed=seed, policy=RewardFirstPolicy())
        assert env.unwrapped.sim.terminated, seed


def test_rgb_render_shows_the_dag_and_the_mazes():
    env = ces_env.parallel_env(preset="small", render_mode="rgb_array")
    observations, infos = env.reset(seed=0)
    policy = RewardFirstPolicy()
    policy.reset(env, 0)
    first = env.render()
    for _ in range(3):
        observations, _, _, _, infos = env.step(policy.act(observations, infos))
    later = env.render()
    assert first.dtype == np.uint8 and first.ndim == 3 and first.shape[2] == 3
    assert later.shape == first.shape  # one frame size for the whole episode (video writers need it)
    assert not np.array_equal(first, later)


def test_ansi_render_lists_every_group():
    env = ces_env.parallel_env(preset="small", render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert "tick" in text and all(f"g{g}:" in text for g in range(env.config.n_groups))


def test_render_before_reset_is_a_clear_error():
    env = ces_env.parallel_env(preset="tiny", render_mode="ansi")
    with pytest.raises(RuntimeError, match="reset"):
        env.render()

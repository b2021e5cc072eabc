"""The pieces around the training scripts: the slot-scoring network, the multi-process VecEnv, the paired comparisons
of train/evaluate.py, the learning-curve plot and the policy analysis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

import torch  # noqa: E402
from analyze_policy import departures, feature_groups  # noqa: E402
from evaluate import SUITES, compare, paired_relative  # noqa: E402
from plot_curves import main as plot_main  # noqa: E402
from plot_curves import read_curve, rows_for_episodes  # noqa: E402
from vec_processes import ProcessVecEnv, worker_seeds  # noqa: E402

from ces_baselines.learned_nets import N_AGENT, N_SLOT, SlotScoringExtractor  # noqa: E402
from ces_env.config import make_config  # noqa: E402
from ces_env.observations import AGENT_FEATURES, slot_feature_index  # noqa: E402


# ------------------------------------------------------------------------------------------------------ network
def test_the_slot_scorer_gives_one_logit_per_action_and_scores_slots_with_one_network():
    torch.manual_seed(0)
    n_slots = 8
    net = SlotScoringExtractor(
        N_AGENT + N_SLOT * n_slots, n_slots, hidden=16, critic_arch=[32], activation=torch.nn.Tanh
    )
    obs = torch.rand(5, N_AGENT + N_SLOT * n_slots)
    logits, value_latent = net(obs)
    assert logits.shape == (5, 1 + n_slots) and value_latent.shape == (5, 32)
    # one network scores every slot: with the position input zeroed, swapping two slots' features swaps their logits
    # and leaves the others and the wait logit as they were (permutation equivariance)
    net.position.zero_()
    logits = net.forward_actor(obs)
    slots = obs[:, N_AGENT:].reshape(5, n_slots, N_SLOT)
    swapped = slots[:, [1, 0, *range(2, n_slots)]].reshape(5, -1)
    logits_swapped = net.forward_actor(torch.cat([obs[:, :N_AGENT], swapped], 1))
    assert torch.allclose(logits_swapped[:, [2, 1, *range(3, 1 + n_slots)]], logits[:, 1:], atol=1e-6)
    assert torch.allclose(logits_swapped[:, 0], logits[:, 0], atol=1e-6)  # wait: sees only a mean over slots


def test_the_slot_scorer_refuses_a_steered_observation():
    steered_size = N_AGENT + N_SLOT * 8 + 5 * 25
    with pytest.raises(ValueError, match="steered"):
        SlotScoringExtractor(steered_size, 8, hidden=8, critic_arch=[8], activation=torch.nn.Tanh)


# ------------------------------------------------------------------------------------------------------ processes
def test_process_vec_env_is_seeded_and_serves_masks():
    config = make_config("tiny", control="decentralized", reward_mode="time", reward_time_scale=100.0)
    runs = []
    for _ in range(2):
        env = ProcessVecEnv(n_envs=3, n_processes=2, seed=5, config=config)
        try:
            observations = [env.reset()]
            assert [int(i["seed"]) >= 0 for i in env.reset_infos] == [True] * 3
            for _ in range(30):
                masks = np.stack(env.env_method("action_masks"))
                assert masks.shape == (3, env.action_space.n) and env.has_attr("action_masks")
                assert (masks.sum(axis=1) >= 2).all()  # only real decisions reach the learner
                observation, rewards, dones, infos = env.step(masks.argmax(axis=1))
                observations.append(observation)
        finally:
            env.close()
        runs.append(np.stack(observations))
    assert np.array_equal(runs[0], runs[1])
    assert worker_seeds(5, 2) != worker_seeds(6, 2) and worker_seeds(None, 2) == [None, None]


def test_process_vec_env_forwards_row_access_to_the_workers_in_row_order():
    """get_attr/set_attr/env_method reach the row's own ParallelEnv in whichever worker holds it."""
    config = make_config("tiny")
    env = ProcessVecEnv(n_envs=3, n_processes=2, seed=5, config=config)  # rows 0-1 in worker 0, row 2 in worker 1
    try:
        env.reset()
        assert env.has_attr("possible_agents") and not env.has_attr("no_such_attribute")
        assert env.get_attr("config") == [config] * 3
        env.set_attr("probe", "x", indices=[2])
        env.set_attr("probe", "y", indices=[0, 1])
        assert env.get_attr("probe", indices=[2, 0, 1]) == ["x", "y", "y"]  # the order asked for
        assert env.env_method("action_space", "agent_0", indices=2) == [env.get_attr("_action_spaces")[2]["agent_0"]]
        with pytest.raises(IndexError, match="row 3"):
            env.get_attr("config", indices=[3])
    finally:
        env.close()


# ------------------------------------------------------------------------------------------------------ evaluation
def _row(policy: str, seed: int, et: float) -> dict:
    return {"policy": policy, "seed": seed, "ET": et, "truncated": False, "conflicts": 0}


def test_paired_relative_is_the_mean_of_per_seed_ratios():
    rows = [_row("a", 0, 90), _row("a", 1, 110), _row("b", 0, 100), _row("b", 1, 100), _row("b", 2, 50)]
    mean, half, n = paired_relative(rows, "a", "b")
    assert n == 2 and mean == pytest.approx(0.0) and half > 0  # -10% and +10%; seed 2 is unpaired
    summary = compare(rows, "a", ["b"])
    assert summary["ET"] == 100 and summary["pct_vs_b"] == pytest.approx(0.0) and summary["seeds"] == 2


def test_every_held_out_suite_is_a_valid_config():
    for suite in SUITES.values():
        if suite.needs_data and not Path(suite.overrides["graph"]).exists():
            continue
        config = make_config("small", **{"control": "decentralized", **suite.overrides})
        assert config.n_candidates == 8  # the observation layout of the training family


# ------------------------------------------------------------------------------------------------------ plots, analysis
def test_the_learning_curve_plot_reads_curve_csv(tmp_path):
    curve = tmp_path / "curve.csv"
    lines = ["kind,decisions,agent_steps,episodes,wall_seconds,ET,ET_mean_100,seed"]
    lines += [f"train,{10 * i},{100 * i},{i},{i},{1000 - i},{1000 - i},{10**6 + i}" for i in range(1, 30)]
    lines += ["validation,150,1500,15,15,950,,", "validation,290,2900,29,29,5000,,"]
    curve.write_text("\n".join(lines) + "\n")
    data = read_curve(curve)
    assert len(data["train"]) == 29 and data["validation"][0]["ET"] == 950
    out = tmp_path / "curve.png"
    plot_main([f"run={curve}", "--out", str(out), "--reference", "ces=1000", "--ymax", "2000", "--window", "5"])
    assert out.stat().st_size > 1000


def test_rllib_curves_with_one_row_per_iteration_are_smoothed_over_as_many_episodes():
    """ppo_shared.py/ppo_graph.py write a row per episode, rllib_ppo.py a row per iteration of ~20 episodes: the
    rolling window counts episodes, so an RLlib curve of 56 rows is a line, not one averaged point."""
    per_episode = [{"episodes": float(i)} for i in range(1, 300)]
    per_iteration = [{"episodes": float(20 * i)} for i in range(1, 57)]
    assert rows_for_episodes(per_episode, 200) == 200
    assert rows_for_episodes(per_iteration, 200) == 10
    assert rows_for_episodes([{"ET": 1.0}], 200) == 200  # no episodes column: a row is an episode


def test_departures_count_the_choices_against_the_features():
    n_slots = 2
    obs = np.zeros((3, len(AGENT_FEATURES) + N_SLOT * n_slots), dtype=np.float32)
    obs[0, slot_feature_index(1, "known")] = 1  # decision 0: slot 2 known, slot 1 not
    obs[1, slot_feature_index(0, "class_in_progress")] = 1  # decision 1: slot 1 is a maze a groupmate explores
    masks = np.ones((3, 1 + n_slots), dtype=bool)
    actions = np.array([2, 2, 0])  # the known task; the free task instead of the busy one; a wait
    stats = departures(obs, masks, actions, n_slots)
    assert stats["takes a known task, when slot 1 is unknown and another is known"] == 1.0
    assert stats["takes a maze a groupmate explores, when another task is legal"] == 0.0
    assert stats["waits (of all decisions)"] == pytest.approx(1 / 3)
    assert stats["takes slot 1, the CES choice (highest reward)"] == 0.0
    groups = feature_groups(n_slots)
    assert groups["slot.known"] == [slot_feature_index(0, "known"), slot_feature_index(1, "known")]

"""Trainer adapters: SB3VecEnv (VecEnv contract, decisions only, credit, seeds, MaskablePPO) and rllib_env.

stable-baselines3 has no checker for vector envs, so the VecEnv contract is checked here: shapes and dtypes, the
reset/step protocol, auto-reset with ``terminal_observation``, Monitor-style episode statistics, determinism for a
seed. The decision protocol is checked against an independent replay on the plain ParallelEnv.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("sb3_contrib")

from sb3_contrib import MaskablePPO  # noqa: E402
from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported  # noqa: E402
from stable_baselines3.common.monitor import Monitor  # noqa: E402
from stable_baselines3.common.vec_env import VecEnv  # noqa: E402

import ces_env  # noqa: E402
from ces_env.config import ConfigError  # noqa: E402
from ces_env.core.metrics import METRIC_KEYS  # noqa: E402
from ces_env.wrappers import SB3VecEnv, rllib_env  # noqa: E402

TIME = {"reward_mode": "time", "reward_time_scale": 50.0}


def random_actions(masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniformly random legal action per row, from a seeded generator."""
    return np.array([int(rng.choice(np.flatnonzero(mask))) for mask in masks])


def first_task_actions(masks: np.ndarray) -> np.ndarray:
    """A deterministic policy: the first legal task slot, else the first legal action."""
    return np.array([int(np.flatnonzero(m[1:])[0] + 1) if m[1:].any() else int(np.flatnonzero(m)[0]) for m in masks])


def play(vec: SB3VecEnv, episodes: int, rng: np.random.Generator, max_steps: int = 20_000) -> list[dict]:
    """Random masked play until ``episodes`` episodes ended; the final infos of each, with the rewards summed."""
    returns = np.zeros(vec.num_envs)
    finished: list[dict] = []
    for _ in range(max_steps):
        _, rewards, dones, infos = vec.step(random_actions(vec.action_masks(), rng))
        returns += rewards
        for i in np.flatnonzero(dones):
            finished.append({**infos[i], "summed_rewards": returns[i]})
            returns[i] = 0.0
        if len(finished) >= episodes:
            return finished
    raise AssertionError(f"fewer than {episodes} episodes ended in {max_steps} vec steps")


# ----------------------------------------------------------------------------------------------------- VecEnv contract
@pytest.mark.parametrize("preset", ["tiny", "small-decentralized", "steered"])
def test_vecenv_contract(preset):
    n_envs = 3
    vec = SB3VecEnv(n_envs=n_envs, seed=1, preset=preset)
    assert isinstance(vec, VecEnv) and vec.num_envs == n_envs
    env = ces_env.parallel_env(preset=preset)
    agent = env.possible_agents[0]
    assert vec.observation_space == env.observation_space(agent)["observation"]
    assert vec.action_space == env.action_space(agent)
    n_actions = vec.action_space.n

    obs = vec.reset()
    assert obs.shape == (n_envs, *vec.observation_space.shape) and obs.dtype == np.float32
    assert all(vec.observation_space.contains(row) for row in obs)
    assert [set(info) >= {"agent", "seed"} for info in vec.reset_infos] == [True] * n_envs

    rng = np.random.default_rng(0)
    decisions = np.zeros(n_envs, dtype=int)
    seeds = [info["seed"] for info in vec.reset_infos]
    ended = np.zeros(n_envs, dtype=int)
    for _ in range(20_000):
        masks = vec.action_masks()
        assert masks.shape == (n_envs, n_actions) and masks.dtype == bool
        assert (masks.sum(axis=1) >= 2).all(), "a row without a choice was emitted"
        obs, rewards, dones, infos = vec.step(random_actions(masks, rng))
        decisions += 1
        assert obs.shape == (n_envs, *vec.observation_space.shape) and obs.dtype == np.float32
        assert all(vec.observation_space.contains(row) for row in obs)
        assert rewards.shape == (n_envs,) and rewards.dtype == np.float32
        assert dones.shape == (n_envs,) and dones.dtype == bool
        assert isinstance(infos, list) and len(infos) == n_envs
        for i in np.flatnonzero(dones):
            info = infos[i]
            assert vec.observation_space.contains(info["terminal_observation"])
            assert isinstance(info["TimeLimit.truncated"], bool)
            assert set(info["episode"]) == {"r", "l", "t"} and info["episode"]["l"] == decisions[i]
            assert set(info["metrics"]) == set(METRIC_KEYS)
            assert info["seed"] == seeds[i]
            # auto-reset: the returned row is the first decision of a fresh episode with a new seed
            assert vec.reset_infos[i]["seed"] != seeds[i] and vec.observation_space.contains(obs[i])
            seeds[i] = vec.reset_infos[i]["seed"]
            decisions[i] = 0
            ended[i] += 1
        if ended.min() >= 1:
            break
    assert ended.min() >= 1, f"episodes ended per row: {ended}"
    vec.close()


def test_step_wait_without_step_async_is_an_error():
    vec = SB3VecEnv(n_envs=1, seed=0, preset="tiny")
    vec.reset()
    with pytest.raises(RuntimeError, match="step_async"):
        vec.step_wait()


def test_bad_arguments_name_the_field():
    with pytest.raises(ValueError, match="n_envs"):
        SB3VecEnv(n_envs=0, preset="tiny")
    with pytest.raises(ValueError, match="eval_seeds"):
        SB3VecEnv(n_envs=1, eval_seeds=[], preset="tiny")
    with pytest.raises(ConfigError, match="no_such_field"):
        SB3VecEnv(n_envs=1, preset="tiny", no_such_field=1)


# ----------------------------------------------------------------------------------------------------- protocol
@pytest.mark.parametrize("control", ["centralized", "decentralized"])
def test_rows_are_the_parallel_envs_real_decisions(control):
    """Replay the row's decisions on a plain ParallelEnv: at every env step the agents with a choice, in id order,
    are exactly the agents the row presented, with the env's observations and masks; agents with one legal action
    play it; the episode ends the same way."""
    vec = SB3VecEnv(n_envs=1, seed=7, preset="small", control=control, strict_actions=True)
    obs = vec.reset()
    seed = vec.reset_infos[0]["seed"]
    rng = np.random.default_rng(1)
    presented = []  # (agent, observation, mask, action)
    while True:
        mask = vec.action_masks()[0]
        agent = vec.presented_agents()[0]
        action = int(random_actions(mask[None], rng)[0])
        presented.append((agent, obs[0].copy(), mask.copy(), action))
        obs, _, dones, infos = vec.step(np.array([action]))
        assert infos[0]["agent"] == agent
        if dones[0]:
            final = infos[0]
            break

    env = ces_env.parallel_env(preset="small", control=control)
    observations, _ = env.reset(seed=seed)
    cursor = 0
    while env.agents:
        choosers = [a for a in env.agents if np.count_nonzero(observations[a]["action_mask"]) > 1]
        actions = {}
        for a in env.agents:
            legal = np.flatnonzero(observations[a]["action_mask"])
            if len(legal) == 1:
                actions[a] = int(legal[0])
        for a in choosers:
            agent, row_obs, row_mask, action = presented[cursor]
            cursor += 1
            assert agent == a
            np.testing.assert_array_equal(row_obs, observations[a]["observation"])
            np.testing.assert_array_equal(row_mask, observations[a]["action_mask"].astype(bool))
            actions[a] = action
        observations, _, _, _, infos = env.step(actions)
    assert cursor == len(presented)
    assert next(iter(infos.values()))["metrics"] == final["metrics"]
    np.testing.assert_array_equal(final["terminal_observation"], observations[presented[-1][0]]["observation"])


@pytest.mark.parametrize("batched", [True, False])
def test_masks_reach_maskable_ppo(batched):
    vec = SB3VecEnv(n_envs=4, seed=2, preset="tiny", strict_actions=True, batched=batched)
    vec.reset()
    assert is_masking_supported(vec)
    rng = np.random.default_rng(0)
    for _ in range(50):
        masks = get_action_masks(vec)
        np.testing.assert_array_equal(masks, vec.action_masks())
        # the env's own mask for the agent each row presents (the masks it enforces; get_attr brings it up to date)
        env_masks = [
            vec.get_attr("_masks", i)[0][int(agent.removeprefix("agent_"))]
            for i, agent in enumerate(vec.presented_agents())
        ]
        np.testing.assert_array_equal(masks, np.stack(env_masks).astype(bool))
        vec.step(random_actions(masks, rng))  # strict_actions: a masked-out action would raise


# ----------------------------------------------------------------------------------------------------- credit
@pytest.mark.parametrize("control", ["centralized", "decentralized"])
def test_time_reward_return_is_minus_et_over_scale(control):
    vec = SB3VecEnv(n_envs=2, seed=3, preset="small", control=control, **TIME)
    vec.reset()
    for info in play(vec, episodes=4, rng=np.random.default_rng(0)):
        expected = -info["metrics"]["ET"] / TIME["reward_time_scale"]
        assert info["episode"]["r"] == pytest.approx(expected, abs=1e-6)
        assert info["summed_rewards"] == pytest.approx(expected, rel=1e-5)


def test_individual_reward_credits_the_team_sum():
    """With the reward-first reward every task's reward is paid once: the team's return is the total reward."""
    vec = SB3VecEnv(n_envs=2, seed=4, preset="tiny")
    vec.reset()
    for info in play(vec, episodes=3, rng=np.random.default_rng(0)):
        assert info["episode"]["r"] == pytest.approx(info["metrics"]["total_reward"], abs=1e-6)


def test_elapsed_ticks_sum_to_et():
    vec = SB3VecEnv(n_envs=1, seed=5, preset="tiny")
    vec.reset()
    rng = np.random.default_rng(0)
    ticks = 0
    while True:
        _, _, dones, infos = vec.step(random_actions(vec.action_masks(), rng))
        ticks += infos[0]["elapsed_ticks"]
        if dones[0]:
            assert ticks == infos[0]["metrics"]["ET"]
            return


# ----------------------------------------------------------------------------------------------------- seeds
def test_same_seed_same_stream_of_episodes():
    def trace(vec: SB3VecEnv) -> list:
        out = [vec.reset().copy()]
        rng = np.random.default_rng(0)
        for _ in range(300):
            obs, rewards, dones, infos = vec.step(random_actions(vec.action_masks(), rng))
            out += [obs.copy(), rewards.copy(), dones.copy(), [i.get("seed") for i in infos]]
        return out

    a, b = trace(SB3VecEnv(n_envs=2, seed=11, preset="tiny")), trace(SB3VecEnv(n_envs=2, seed=11, preset="tiny"))
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    dones = a[3::4]  # out = [reset obs, then (obs, rewards, dones, seeds) per step]
    assert sum(bool(np.any(d)) for d in dones) > 0, "no episode ended: auto-reset seeds were not compared"

    other = SB3VecEnv(n_envs=2, seed=12, preset="tiny")
    other.reset()
    fresh = SB3VecEnv(n_envs=2, seed=11, preset="tiny")
    fresh.reset()
    assert [i["seed"] for i in other.reset_infos] != [i["seed"] for i in fresh.reset_infos]
    assert len({i["seed"] for i in fresh.reset_infos}) == 2, "rows must play different episodes"


def test_seed_method_restarts_the_stream_at_the_next_reset():
    vec = SB3VecEnv(n_envs=2, seed=0, preset="tiny")
    vec.reset()
    first_seeds = vec.seed(21)
    obs = vec.reset()
    reference = SB3VecEnv(n_envs=2, seed=21, preset="tiny")
    np.testing.assert_array_equal(obs, reference.reset())
    assert first_seeds == [i["seed"] for i in reference.reset_infos] == [i["seed"] for i in vec.reset_infos]


def test_eval_seeds_and_evaluate_play_the_given_seeds():
    seeds = [101, 102, 103]
    vec = SB3VecEnv(n_envs=2, seed=0, preset="tiny", **TIME)
    summaries = vec.evaluate(lambda obs, masks: first_task_actions(masks), seeds)
    assert [s.seed for s in summaries] == seeds
    for s in summaries:
        assert s.episode_return == pytest.approx(-s.metrics["ET"] / TIME["reward_time_scale"], abs=1e-6)
        assert s.decisions > 0 and s.terminated != s.truncated

    fixed = SB3VecEnv(n_envs=len(seeds), eval_seeds=seeds, preset="tiny", **TIME)
    fixed.reset()
    assert [i["seed"] for i in fixed.reset_infos] == seeds
    ets: dict[int, int] = {}
    while len(ets) < len(seeds):
        _, _, dones, infos = fixed.step(first_task_actions(fixed.action_masks()))
        for i in np.flatnonzero(dones):
            ets.setdefault(infos[i]["seed"], infos[i]["metrics"]["ET"])
    assert ets == {s.seed: s.metrics["ET"] for s in summaries}


# ----------------------------------------------------------------------------------------------------- SB3 plumbing
def test_attributes_and_methods_reach_the_envs():
    vec = SB3VecEnv(n_envs=2, seed=0, preset="tiny")
    vec.reset()
    assert vec.has_attr("action_masks") and vec.has_attr("config") and not vec.has_attr("no_such_attribute")
    assert [c.n_agents for c in vec.get_attr("config")] == [4, 4]
    vec.set_attr("marker", 5, indices=1)
    assert vec.get_attr("marker", indices=[1]) == [5]
    assert [set(m) for m in vec.env_method("metrics")] == [set(METRIC_KEYS)] * 2
    assert vec.env_is_wrapped(Monitor) == [True, True] and vec.env_is_wrapped(object) == [False, False]


def test_an_always_wait_policy_ends():
    """Rows must not loop forever whatever the policy does: waiting whenever possible still ends episodes (measured:
    about 400 vec steps for two episodes on seeds 0-2; the bound leaves room, not a factor of ten)."""
    vec = SB3VecEnv(n_envs=2, seed=0, preset="small")
    vec.reset()
    ended = 0
    for _ in range(1000):
        masks = vec.action_masks()
        _, _, dones, _ = vec.step(np.where(masks[:, 0], 0, masks.argmax(axis=1)))
        ended += int(dones.sum())
        if ended >= 2:
            return
    raise AssertionError("an always-wait policy did not end two episodes in 1000 vec steps")


def test_truncation_is_reported_as_sb3_expects():
    """An episode cut by ``max_ticks`` ends with ``TimeLimit.truncated`` True (SB3 then bootstraps from
    ``terminal_observation``) and the env's reason; rows before the end carry neither."""
    vec = SB3VecEnv(n_envs=1, seed=0, preset="tiny", max_ticks=60)
    n_tasks = vec.get_attr("config")[0].n_tasks
    vec.reset()
    rng = np.random.default_rng(0)
    for _ in range(2000):
        _, _, dones, infos = vec.step(random_actions(vec.action_masks(), rng))
        if not dones[0]:
            assert "TimeLimit.truncated" not in infos[0] and "truncation_reason" not in infos[0]
            continue
        info = infos[0]
        assert sum(info["metrics"]["mu_g"]) < n_tasks  # really cut short: tasks were left
        assert info["metrics"]["ET"] >= 60
        assert info["TimeLimit.truncated"] is True
        assert info["truncation_reason"] == "max_ticks"
        return
    raise AssertionError("the episode with max_ticks=60 did not end in 2000 vec steps")


@pytest.fixture
def one_torch_thread():
    """Tiny MLPs run far faster on one torch thread; several threads spin against each other on a busy machine
    (measured: 12 s instead of 150 s for the learn call below on 2 loaded cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_maskable_ppo_learns_on_it(one_torch_thread):
    vec = SB3VecEnv(n_envs=4, seed=0, preset="small", **TIME)
    model = MaskablePPO("MlpPolicy", vec, n_steps=64, batch_size=64, seed=0, verbose=0).learn(2048)
    assert model.num_timesteps >= 2048
    assert len(model.ep_info_buffer) > 0, "no episode statistics reached SB3's logger"
    assert all(info["r"] < 0 for info in model.ep_info_buffer)


# ----------------------------------------------------------------------------------------------------- RLlib
@pytest.mark.parametrize("control", ["centralized", "decentralized"])
def test_rllib_env_steps_an_episode_with_rllib_masks(control):
    pytest.importorskip("ray.rllib")
    from ray.rllib.env.multi_agent_env import MultiAgentEnv
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments

    env = rllib_env(preset="small", control=control, strict_actions=True, **TIME)
    assert isinstance(env, MultiAgentEnv)
    check_multiagent_environments(env)
    observations, infos = env.reset(seed=9)
    rng = np.random.default_rng(0)
    paid: dict[str, float] = {}
    acted: set[str] = set()
    for _ in range(10_000):
        assert observations, "an obs dict without any deciding agent"
        for agent, obs in observations.items():
            assert set(obs) == {"observations", "action_mask"}
            assert env.observation_spaces[agent].contains(obs)
            assert obs["action_mask"].dtype == np.float32 and obs["action_mask"].sum() >= 2
        # strict_actions: the env raises if an action allowed by the RLlib mask is masked out in the env
        actions = {a: int(rng.choice(np.flatnonzero(o["action_mask"]))) for a, o in observations.items()}
        acted.update(actions)
        observations, rewards, terminateds, truncateds, infos = env.step(actions)
        assert set(rewards) == set(observations) == set(infos)
        for agent, reward in rewards.items():
            paid[agent] = paid.get(agent, 0.0) + reward
        if terminateds["__all__"] or truncateds["__all__"]:
            break
    else:
        raise AssertionError("the RLlib episode did not end")
    assert set(observations) == acted, "every agent that acted must get a final observation"
    assert terminateds["__all__"] != truncateds["__all__"]
    et = next(iter(infos.values()))["metrics"]["ET"]
    for agent in acted:
        assert paid[agent] == pytest.approx(-et / TIME["reward_time_scale"], rel=1e-9)
        assert terminateds[agent] == terminateds["__all__"] and truncateds[agent] == truncateds["__all__"]


def test_rllib_env_takes_an_env_config_dict():
    pytest.importorskip("ray.rllib")
    from ces_env.wrappers.rllib import CESMultiAgentEnv

    env = CESMultiAgentEnv({"preset": "tiny", "reward_mode": "time"})
    observations, _ = env.reset(seed=0)
    assert observations and env.possible_agents == [f"agent_{i}" for i in range(4)]
    with pytest.raises(ValueError, match="no action given"):
        env.step({})


def test_rllib_action_masking_module_reads_the_observations_unchanged():
    """RLlib's example action-masking RLModule builds on the env's spaces and masks exactly the illegal actions."""
    pytest.importorskip("ray.rllib")
    torch = pytest.importorskip("torch")
    from ray.rllib.core.columns import Columns
    from ray.rllib.examples.rl_modules.classes.action_masking_rlm import ActionMaskingTorchRLModule

    env = rllib_env(preset="small-decentralized", **TIME)
    observations, _ = env.reset(seed=0)
    agent = next(iter(observations))
    module = ActionMaskingTorchRLModule(
        observation_space=env.observation_spaces[agent], action_space=env.action_spaces[agent], model_config={}
    )
    keys = ("observations", "action_mask")
    batch = {Columns.OBS: {k: torch.as_tensor(np.stack([o[k] for o in observations.values()])) for k in keys}}
    masks = batch[Columns.OBS]["action_mask"].numpy().copy()
    logits = module.forward_exploration(batch)[Columns.ACTION_DIST_INPUTS].detach().numpy()
    assert logits.shape == masks.shape
    assert (logits[masks == 0] < -1e30).all() and (logits[masks == 1] > -1e30).all()


def test_rllib_episode_bookkeeping_accepts_the_stream():
    """RLlib's own MultiAgentEpisode (what its env runners record) takes an episode of rllib_env without error, and
    an agent that decides from the reset on gets exactly -ET / scale (rewards before a first decision that comes
    later precede every action of that agent, and RLlib keeps them outside its return)."""
    pytest.importorskip("ray.rllib")
    from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

    env = rllib_env(preset="small", **TIME)
    observations, infos = env.reset(seed=4)
    at_reset = set(observations)
    episode = MultiAgentEpisode(
        observation_space=env.observation_spaces,
        action_space=env.action_spaces,
        agent_to_module_mapping_fn=lambda agent_id, episode: "shared",
    )
    episode.add_env_reset(observations=observations, infos=infos)
    rng = np.random.default_rng(0)
    while True:
        actions = {a: int(rng.choice(np.flatnonzero(o["action_mask"]))) for a, o in observations.items()}
        observations, rewards, terminateds, truncateds, infos = env.step(actions)
        episode.add_env_step(
            observations=observations,
            actions=actions,
            rewards=rewards,
            infos=infos,
            terminateds=terminateds,
            truncateds=truncateds,
        )
        if terminateds["__all__"] or truncateds["__all__"]:
            break
    episode.validate()
    assert episode.is_done
    et = next(iter(infos.values()))["metrics"]["ET"]
    for agent in at_reset:
        assert episode.agent_episodes[agent].get_return() == pytest.approx(-et / TIME["reward_time_scale"], rel=1e-9)


@pytest.mark.parametrize(
    ("blocked", "module", "extra"),
    [
        ("ray.rllib.env.multi_agent_env", "ces_env.wrappers.rllib", "ray"),
        ("stable_baselines3.common.vec_env", "ces_env.wrappers.sb3", "train"),
    ],
)
def test_a_missing_trainer_library_gets_an_install_hint(monkeypatch, blocked, module, extra):
    import importlib
    import re
    import sys

    monkeypatch.setitem(sys.modules, blocked, None)  # makes ``import blocked`` raise ImportError
    monkeypatch.delitem(sys.modules, module, raising=False)
    hint = re.escape(f'pip install -c constraints.txt -e ".[{extra}]"')
    with pytest.raises(ImportError, match=hint):
        importlib.import_module(module)
    if extra == "ray":  # the public entry point imports Ray only when called, and fails the same way
        with pytest.raises(ImportError, match=hint):
            rllib_env(preset="tiny")

"""``CESVectorEnv``: B copies stepped together play the same episodes as B separate envs on the same seeds."""

from __future__ import annotations

import numpy as np
import pytest

from ces_env import parallel_env
from ces_env.env import NO_ACTION
from ces_env.vector import CESVectorEnv


def masked_random(masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.argmax(rng.random(masks.shape) * masks, axis=-1).astype(np.int64)


SCENARIOS: dict[str, dict] = {
    "tiny": {"preset": "tiny"},
    "small-decentralized": {"preset": "small-decentralized"},
    "time reward, penalty, truncated": {
        "preset": "small",
        "reward_mode": "time",
        "time_penalty": 0.01,
        "max_ticks": 200,
    },
    "team reward, central validation, fixed waits": {
        "preset": "small",
        "control": "decentralized",
        "control_options": (("validation", "central"),),
        "reward_mode": "team",
        "wait_ticks": 2,
    },
    "steered (Python simulator)": {"preset": "steered", "max_ticks": 120},
}


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "one by one"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_copies_play_the_episodes_of_separate_envs_step_for_step(name: str, batched: bool) -> None:
    config = SCENARIOS[name]
    vec = CESVectorEnv(3, seed=10, batched=batched, **config)
    assert (vec._compiled is not None) == (batched and name != "steered (Python simulator)")
    observations, masks = vec.reset()
    assert observations.shape == (3, vec.n_agents, vec.observation_size)
    assert masks.shape == (3, vec.n_agents, vec.n_actions)
    rng = np.random.default_rng(0)

    # per copy, per episode: the observations seen, the actions taken, the rewards, the final metrics
    def fresh(first_observations: np.ndarray, first_masks: np.ndarray) -> dict:
        return {"obs": [first_observations], "masks": [first_masks], "actions": [], "rewards": [], "elapsed": []}

    episodes: list[list[dict]] = [[fresh(observations[b], masks[b])] for b in range(3)]
    ended = 0
    for _ in range(400):
        actions = masked_random(masks, rng)
        if rng.random() < 0.2:  # no action, or an illegal one (played as a wait)
            actions[0, 0] = rng.choice([NO_ACTION, 0, vec.n_actions])
        step = vec.step(actions)
        for b in range(3):
            episode = episodes[b][-1]
            episode["actions"].append(actions[b])
            episode["rewards"].append(step.rewards[b])
            episode["elapsed"].append(step.elapsed_ticks[b])
            if step.terminated[b] or step.truncated[b]:
                ended += 1
                episode["obs"].append(step.final_observations[b])
                episode["metrics"] = step.final_metrics[b]
                episode["outcome"] = (bool(step.terminated[b]), bool(step.truncated[b]))
                episodes[b].append(fresh(step.observations[b], step.masks[b]))
            else:
                episode["obs"].append(step.observations[b])
                episode["masks"].append(step.masks[b])
        masks = step.masks
    assert ended >= 3
    # every seed used once, in a deterministic sequence starting at copy b -> seed + b
    used = [seed for seeds in vec.episode_seeds for seed in seeds]
    assert sorted(used) == list(range(10, 10 + len(used)))
    assert [seeds[0] for seeds in vec.episode_seeds] == [10, 11, 12]

    single = parallel_env(engine="python", **config)  # the reference: the Python simulator, one env, one by one
    for b in range(3):
        for seed, episode in zip(vec.episode_seeds[b], episodes[b], strict=True):
            result = single.reset_arrays(seed=seed)
            assert np.array_equal(result.observations, episode["obs"][0])
            assert np.array_equal(result.masks, episode["masks"][0])
            for t, action in enumerate(episode["actions"]):
                result = single.step_arrays(action)
                assert np.array_equal(result.observations, episode["obs"][t + 1]), (b, seed, t)
                if t + 1 < len(episode["masks"]):
                    assert np.array_equal(result.masks, episode["masks"][t + 1]), (b, seed, t)
                assert np.array_equal(result.rewards, episode["rewards"][t])
                assert result.elapsed_ticks == episode["elapsed"][t]
            if "metrics" in episode:
                assert result.metrics == episode["metrics"]
                assert (result.terminated, result.truncated) == episode["outcome"]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="n_envs"):
        CESVectorEnv(0, preset="tiny")
    with pytest.raises(ValueError, match="seed"):
        CESVectorEnv(2, preset="tiny", seed=-1)
    vec = CESVectorEnv(2, preset="tiny")
    with pytest.raises(RuntimeError, match="reset"):
        vec.step(vec.no_actions())
    vec.reset()
    with pytest.raises(TypeError, match=r"shape \(2, "):
        vec.step(np.zeros((3, vec.n_agents), dtype=np.int64))
    assert (vec.no_actions() == NO_ACTION).all()


def test_batched_copies_are_synced_on_request_and_refuse_strictly_before_moving() -> None:
    vec = CESVectorEnv(2, preset="small", seed=3, strict_actions=True)
    reference = CESVectorEnv(2, preset="small", seed=3, batched=False)
    rng = np.random.default_rng(1)
    _, masks = vec.reset()
    reference.reset()
    for _ in range(30):
        actions = masked_random(masks, rng)
        masks = vec.step(actions).masks
        reference.step(actions)
    for ours, theirs in zip(vec.sync(), reference.sync(), strict=True):
        assert ours.sim.time == theirs.sim.time and ours.metrics() == theirs.metrics()
        np.testing.assert_array_equal(ours.state(), theirs.state())
    before = [env.sim.time for env in vec.sync()]
    actions = masked_random(masks, rng)
    actions[1, 2] = vec.n_actions  # outside the action space: masked out
    with pytest.raises(ValueError, match=rf"copy 1, agent_2: action {vec.n_actions} is masked out"):
        vec.step(actions)
    assert [env.sim.time for env in vec.sync()] == before

"""``CESVectorEnv``: B copies stepped together play the same episodes as B separate envs on the same seeds."""

from __future__ import annotations

import numpy as np
import pytest

from ces_env import parallel_env
from ces_env.env import NO_ACTION
from ces_env.vector import CESVectorEnv


def masked_random(masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.argmax(rng.random(masks.shape) * masks, axis=-1).astype(np.int64)


@pytest.mark.parametrize("preset", ["tiny", "small-decentralized"])
def test_copies_play_the_episodes_of_separate_envs_step_for_step(preset: str) -> None:
    vec = CESVectorEnv(3, preset=preset, seed=10)
    observations, masks = vec.reset()
    assert observations.shape == (3, vec.n_agents, vec.observation_size)
    assert masks.shape == (3, vec.n_agents, vec.n_actions)
    rng = np.random.default_rng(0)
    # per copy, per episode: the observations seen, the actions taken, the rewards, the final metrics
    episodes: list[list[dict]] = [[{"obs": [observations[b]], "actions": [], "rewards": []}] for b in range(3)]
    ended = 0
    for _ in range(400):
        actions = masked_random(masks, rng)
        step = vec.step(actions)
        for b in range(3):
            episode = episodes[b][-1]
            episode["actions"].append(actions[b])
            episode["rewards"].append(step.rewards[b])
            if step.terminated[b] or step.truncated[b]:
                ended += 1
                episode["obs"].append(step.final_observations[b])
                episode["metrics"] = step.final_metrics[b]
                episodes[b].append({"obs": [step.observations[b]], "actions": [], "rewards": []})
            else:
                episode["obs"].append(step.observations[b])
        masks = step.masks
    assert ended >= 3
    # every seed used once, in a deterministic sequence starting at copy b -> seed + b
    used = [seed for seeds in vec.episode_seeds for seed in seeds]
    assert sorted(used) == list(range(10, 10 + len(used)))
    assert [seeds[0] for seeds in vec.episode_seeds] == [10, 11, 12]

    single = parallel_env(preset=preset)
    for b in range(3):
        for seed, episode in zip(vec.episode_seeds[b], episodes[b], strict=True):
            result = single.reset_arrays(seed=seed)
            assert np.array_equal(result.observations, episode["obs"][0])
            for t, action in enumerate(episode["actions"]):
                result = single.step_arrays(action)
                assert np.array_equal(result.observations, episode["obs"][t + 1]), (b, seed, t)
                assert np.array_equal(result.rewards, episode["rewards"][t])
            if "metrics" in episode:
                assert result.metrics == episode["metrics"]


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

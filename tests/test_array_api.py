"""The array-level API (``reset_arrays``/``step_arrays``) plays the same episodes as PettingZoo's ``reset``/``step``.

The trainer adapters drive the env through it (no dict per agent per step), so it must agree with the dict API step
for step: observations, masks, slot tasks, rewards, elapsed ticks, invalid-action flags and the final metrics.
"""

from __future__ import annotations

import numpy as np
import pytest

from ces_env import parallel_env
from ces_env.env import NO_ACTION

CONFIGS = {
    "small": dict(preset="small"),
    "small-decentralized, time reward": dict(preset="small-decentralized", reward_mode="time"),
    "steered": dict(preset="steered"),
    "team reward, rejections": dict(preset="tiny", reward_mode="team", solution_error_prob=0.3),
}


def random_actions(masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A legal action per agent, except now and then a masked-out one or none at all (to exercise both paths)."""
    actions = np.argmax(rng.random(masks.shape) * masks, axis=1).astype(np.int64)
    draw = rng.random(len(actions))
    actions[draw < 0.05] = masks.shape[1] + 3  # out of range: played as a wait, flagged invalid
    actions[(draw >= 0.05) & (draw < 0.1)] = NO_ACTION
    return actions


@pytest.mark.parametrize("name", list(CONFIGS))
def test_step_arrays_plays_the_same_episode_as_step(name: str) -> None:
    dict_env, array_env = parallel_env(**CONFIGS[name]), parallel_env(**CONFIGS[name])
    agents = dict_env.possible_agents
    for seed in (0, 1):
        observations, infos = dict_env.reset(seed=seed)
        result = array_env.reset_arrays(seed=seed)
        rng = np.random.default_rng(seed)
        steps = 0
        while True:
            assert np.array_equal(result.observations, np.stack([observations[a]["observation"] for a in agents]))
            assert np.array_equal(result.masks, np.stack([observations[a]["action_mask"] for a in agents]))
            assert np.array_equal(result.slot_tasks, np.stack([infos[a]["candidates"] for a in agents]))
            assert result.elapsed_ticks == infos[agents[0]]["elapsed_ticks"]
            if not dict_env.agents:
                break
            actions = random_actions(result.masks, rng)
            as_dict = {a: int(actions[i]) for i, a in enumerate(agents) if actions[i] != NO_ACTION}
            observations, rewards, terminations, truncations, infos = dict_env.step(as_dict)
            result = array_env.step_arrays(actions)
            steps += 1
            assert np.array_equal(result.rewards, [rewards[a] for a in agents])
            assert result.terminated == terminations[agents[0]]
            assert result.truncated == truncations[agents[0]]
            flagged = [bool(infos[a].get("invalid_action", False)) for a in agents]
            assert result.invalid.tolist() == flagged
        assert steps > 3
        assert result.over and not array_env.agents
        assert result.metrics == infos[agents[0]]["metrics"]
        assert result.stats == infos[agents[0]]["stats"]
        assert result.truncation_reason == infos[agents[0]]["truncation_reason"]


def test_no_action_is_a_wait_that_is_not_flagged() -> None:
    env = parallel_env(preset="small")
    result = env.reset_arrays(seed=0)
    result = env.step_arrays(np.full(env.config.n_agents, NO_ACTION))
    assert not result.invalid.any()


def test_bad_action_arrays_are_refused_with_the_expected_shape() -> None:
    env = parallel_env(preset="small")
    n = env.config.n_agents
    with pytest.raises(RuntimeError, match="reset"):
        env.step_arrays(np.zeros(n, dtype=np.int64))
    env.reset_arrays(seed=0)
    with pytest.raises(TypeError, match=rf"shape \({n},\)"):
        env.step_arrays(np.zeros(n + 1, dtype=np.int64))
    with pytest.raises(TypeError, match="integer array"):
        env.step_arrays(np.zeros(n, dtype=np.float64))
    with pytest.raises(TypeError, match="integer array"):
        env.step_arrays(np.zeros(n, dtype=bool))


def test_strict_mode_names_the_agent_and_its_legal_actions() -> None:
    env = parallel_env(preset="small", strict_actions=True)
    result = env.reset_arrays(seed=0)
    actions = np.zeros(env.config.n_agents, dtype=np.int64)
    agent = int(np.flatnonzero(result.masks[:, 1] == 0)[0])  # an agent for which slot 1 is masked out
    actions[agent] = 1
    with pytest.raises(ValueError, match=rf"agent_{agent}: action 1 is masked out .*legal actions"):
        env.step_arrays(actions)


def test_step_arrays_after_the_end_asks_for_a_reset() -> None:
    env = parallel_env(preset="tiny")
    result = env.reset_arrays(seed=0)
    while not result.over:
        result = env.step_arrays(np.argmax(result.masks, axis=1))
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step_arrays(np.zeros(env.config.n_agents, dtype=np.int64))


def test_unknown_reset_options_warn_in_both_apis() -> None:
    env = parallel_env(preset="tiny")
    with pytest.warns(UserWarning, match="not used by ces_v1"):
        env.reset_arrays(seed=0, options={"instanse": None})


def test_reset_simulator_starts_the_episode_reset_arrays_starts_without_an_answer():
    answered, silent = parallel_env(preset="small"), parallel_env(preset="small")
    answered.reset_arrays(seed=4)
    silent.reset_simulator(seed=4)
    assert silent.sim.time == answered.sim.time and silent.agents == answered.agents
    np.testing.assert_array_equal(silent.sim.task_status, answered.sim.task_status)
    np.testing.assert_array_equal(silent.sim.instance.rewards, answered.sim.instance.rewards)
    with pytest.raises(RuntimeError, match="reset_simulator"):
        silent.step_arrays(np.full(silent.config.n_agents, NO_ACTION, dtype=np.int64))

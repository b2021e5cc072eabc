"""PettingZoo's own test kit over every preset, plus registry, spaces and AEC conversion."""

import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, render_test

import ces_env
from ces_env.config import PRESETS

# the paper-scale presets have 400x400 mazes: their API check is kept short
CYCLES = {name: (60 if name.startswith("paper") else 1000) for name in PRESETS}


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_parallel_api(preset):
    parallel_api_test(ces_env.parallel_env(preset=preset), num_cycles=CYCLES[preset])


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_render(preset):
    render_test(lambda render_mode=None: ces_env.env(preset=preset, render_mode=render_mode))


@pytest.mark.parametrize("preset", ["tiny", "steered", "small-decentralized"])
def test_aec_api(preset):
    api_test(ces_env.env(preset=preset), num_cycles=200)


@pytest.mark.parametrize("preset", ["tiny", "steered"])
def test_pettingzoo_parallel_seed_test(preset):
    parallel_seed_test(lambda: ces_env.parallel_env(preset=preset))


def test_registered_with_pettingzoo():
    from pettingzoo import make

    env = make("parallel", ces_env.ENV_ID, preset="tiny")
    assert isinstance(env, ces_env.CESParallelEnv)
    assert make("aec", ces_env.ENV_ID, preset="tiny").possible_agents == env.possible_agents


def test_spaces_are_cached_and_consistent():
    env = ces_env.parallel_env(preset="steered")
    observations, infos = env.reset(seed=3)
    assert env.possible_agents == [f"agent_{i}" for i in range(env.config.n_agents)]
    for agent in env.agents:
        assert env.observation_space(agent) is env.observation_space(agent)
        assert env.action_space(agent) is env.action_space(agent)
        assert env.observation_space(agent).contains(observations[agent])
        assert infos[agent]["group"] == env.unwrapped.sim.instance.agent_group[env.possible_agents.index(agent)]
    K = env.config.n_candidates
    assert env.action_space("agent_0").n == 1 + K + 4
    assert env.state_space.contains(env.state())


def test_state_is_in_its_space_through_an_episode():
    from tests.helpers import rollout

    env = ces_env.parallel_env(preset="tiny", control="decentralized")
    seen = []
    rollout(env, seed=5, on_step=lambda e: seen.append(e.state_space.contains(e.state())))
    assert seen and all(seen)

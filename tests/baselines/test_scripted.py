"""The scripted baselines: completion on random small instances, determinism, legal actions, sanity of heft, the
conflicts of the two CES controls, and the registry's error message. The rules of the two strong references
(knowledge-aware, heft) on hand-built observations and their margins are in test_knowledge_aware.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ces_baselines.registry import POLICIES, make_policy
from ces_baselines.scripted import CESCentralized, CESDecentralized, HEFTPolicy, KnowledgeAwarePolicy, RandomPolicy
from ces_env.config import PARTITIONS, make_config
from ces_env.runner import run_episode

SCRIPTED = ("ces-centralized", "ces-decentralized", "random", "heft", "knowledge-aware")
GRAPHS = ("lds", "hds", "g18", "g40", "chain", "independent")


@st.composite
def small_configs(draw, required: dict):
    n_agents = draw(st.integers(1, 6))
    fields = dict(
        n_agents=n_agents,
        n_groups=draw(st.integers(1, n_agents)),
        n_tasks=draw(st.integers(1, 20)),
        graph=draw(st.sampled_from(GRAPHS)),
        partition=draw(st.sampled_from(PARTITIONS)),
        maze_size=draw(st.integers(3, 8)),
        exploration_mode=draw(st.sampled_from(("auto", "steered"))),
        speed_spread=draw(st.sampled_from((0.0, 0.5))),
        view_radius=draw(st.sampled_from((0, 1, 2))),
    )
    if "control" not in required:
        fields["control"] = draw(st.sampled_from(("centralized", "decentralized")))
    return make_config(**fields, **required, strict_actions=True), draw(st.integers(0, 2**16))


def test_the_scripted_policies_are_registered():
    make_policy("random")  # loads the built-in policies
    for name in SCRIPTED:
        cls = POLICIES[name]
        assert cls.name == name and cls.description and "\n" not in cls.description
    assert CESCentralized.required_config == {"control": "centralized"}
    assert CESDecentralized.required_config == {"control": "decentralized"}
    assert RandomPolicy.required_config == {} and HEFTPolicy.required_config == {}
    assert KnowledgeAwarePolicy.required_config == {}


@pytest.mark.parametrize("name", SCRIPTED)
@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_policy_completes_every_task(name, data):
    policy = make_policy(name)
    config, seed = data.draw(small_configs(policy.required_config))
    result = run_episode(policy, config, seed)  # strict_actions: a masked-out action raises
    metrics = result.metrics
    assert not result.truncated, (config, seed)
    assert metrics["mu_g"] == metrics["lambda_g"], (config, seed)


@pytest.mark.parametrize("name", SCRIPTED)
@pytest.mark.parametrize("mode", ["auto", "steered"])
def test_policies_are_deterministic_given_the_seed(name, mode):
    config = make_config(
        n_agents=5,
        n_groups=2,
        n_tasks=16,
        graph="lds",
        maze_size=6,
        exploration_mode=mode,
        speed_spread=0.3,
        **POLICIES[name].required_config,
    )
    first = run_episode(make_policy(name), config, 3)
    second = run_episode(make_policy(name), config, 3)
    assert first.metrics == second.metrics and first.env_steps == second.env_steps


# every policy under every control it is defined for
POLICY_CONTROLS = [
    (name, control)
    for name in SCRIPTED
    for control in ("centralized", "decentralized")
    if POLICIES[name].required_config.get("control", control) == control
]


@pytest.mark.parametrize(("name", "control"), POLICY_CONTROLS)
@pytest.mark.parametrize("preset", ["tiny", "steered"])
def test_every_action_is_legal_under_the_mask(name, control, preset):
    policy = make_policy(name)
    config = make_config(preset, control=control, strict_actions=True)
    from ces_env import parallel_env

    env = parallel_env(config=config)
    observations, infos = env.reset(seed=1)
    policy.reset(env, 1)
    while env.agents:
        actions = policy.act(observations, infos)
        assert set(actions) == set(env.agents)
        for agent, action in actions.items():
            assert isinstance(action, int)
            assert observations[agent]["action_mask"][action] == 1, (agent, action)
        observations, _, _, _, infos = env.step(actions)  # strict: would raise on a masked-out action
    metrics = env.metrics()
    assert metrics["mu_g"] == metrics["lambda_g"]


@pytest.mark.parametrize("view_radius", [0, 1, 2])
def test_steered_exploration_is_depth_first(view_radius):
    """One agent, one task: every step after the task choice is one move, and depth-first search in a perfect maze
    of c cells makes at most 2(c-1) moves."""
    for seed in range(5):
        config = make_config(
            n_agents=1,
            n_groups=1,
            n_tasks=1,
            maze_size=8,
            exploration_mode="steered",
            view_radius=view_radius,
            strict_actions=True,
        )
        result = run_episode(make_policy("ces-centralized"), config, seed)
        assert result.metrics["mu_g"] == [1]
        assert result.env_steps - 1 <= 2 * (8 * 8 - 1)


def test_heft_beats_random_on_a_dependency_heavy_config():
    # small mazes keep the exploration noise (the explorer's draws differ between policies) below the scheduling
    # signal; at larger mazes the two are within noise of each other
    config = make_config(n_agents=6, n_groups=2, n_tasks=30, graph="hds", maze_size=3)
    seeds = range(8)
    heft = np.mean([run_episode(make_policy("heft"), config, s).metrics["ET"] for s in seeds])
    rand = np.mean([run_episode(make_policy("random"), config, s).metrics["ET"] for s in seeds])
    assert heft <= rand, (heft, rand)


def test_conflicts_only_under_decentralized_ces():
    # one group of six agents, all tasks ready at the start: the six agents decide at the same tick
    base = dict(n_agents=6, n_groups=1, n_tasks=20, graph="independent", maze_size=4)
    central = run_episode(make_policy("ces-centralized"), make_config(**base, control="centralized"), 0)
    decentral = run_episode(make_policy("ces-decentralized"), make_config(**base, control="decentralized"), 0)
    assert central.metrics["conflicts"] == 0
    assert decentral.metrics["conflicts"] > 0
    # the group schedulers hand out distinct tasks, and remember those whose claims are still in flight
    schedulers = [
        run_episode(make_policy(name), make_config(**base, control="decentralized"), 0)
        for name in ("heft", "knowledge-aware")
    ]
    for result in schedulers:
        assert result.metrics["conflicts"] == 0
    for result in (central, decentral, *schedulers):
        assert result.metrics["mu_g"] == result.metrics["lambda_g"]


def test_unknown_policy_names_the_policies():
    with pytest.raises(ValueError) as err:
        make_policy("nope")
    for name in SCRIPTED:
        assert name in str(err.value)

"""The two strong scripted references, knowledge-aware and heft: their rules on hand-built observations, distinct
slots for a group's same-tick deciders, completion on random instances, and their margins over CES and random on
fixed seeds (paired, so that the margin is judged against the seed-to-seed noise, not by luck)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from ces_baselines.registry import make_policy
from ces_baselines.reproduce.stats import compare
from ces_baselines.scripted import GroupScheduler, expected_maze_costs
from ces_env import parallel_env
from ces_env.config import make_config
from ces_env.observations import ActionLayout, agent_feature_index, observation_size, slot_feature_index
from ces_env.policies import Infos, Observations
from ces_env.runner import run_episode

K = 4  # slots of the hand-built observations


def scheduler(name: str, n_agents: int = 3, maze_size: int = 20) -> GroupScheduler:
    """A reset ``name`` policy on a one-group decentralized env with ``K`` slots (its sizes and maze size only)."""
    config = make_config(
        n_agents=n_agents, n_groups=1, n_tasks=8, maze_size=maze_size, n_candidates=K, control="decentralized"
    )
    env = parallel_env(config=config)
    env.reset(seed=0)
    policy = make_policy(name)
    policy.reset(env, 0)
    assert isinstance(policy, GroupScheduler)
    return policy


def hand_built(
    policy: GroupScheduler,
    slots: Sequence[dict[str, float]],
    deciders: Sequence[int],
    tasks: Sequence[int] | None = None,
    speeds: Sequence[float] | None = None,
    known: dict[int, Sequence[float]] | None = None,
    may_wait: bool = True,
) -> tuple[Observations, Infos]:
    """Observations and infos of one group: slot ``k`` shows ``slots[k]`` (feature name -> value, ``valid`` set),
    the agents in ``deciders`` may take any shown slot; ``known[i]`` overrides agent i's ``known`` features."""
    config = policy.env.unwrapped.config
    agents = policy.env.possible_agents
    size = observation_size(config.n_candidates, config.view_radius, config.exploration_mode == "steered")
    tasks = list(range(len(slots))) if tasks is None else list(tasks)
    observations, infos = {}, {}
    for i, agent in enumerate(agents):
        vector = np.zeros(size, dtype=np.float32)
        vector[agent_feature_index("speed")] = 1.0 if speeds is None else speeds[i]
        for k, features in enumerate(slots):
            vector[slot_feature_index(k, "valid")] = 1.0
            for name, value in features.items():
                vector[slot_feature_index(k, name)] = value
            if known is not None and i in known:
                vector[slot_feature_index(k, "known")] = known[i][k]
        mask = np.zeros(ActionLayout(config).n_actions, dtype=np.int8)
        mask[0] = 1
        if i in deciders:
            mask[0] = int(may_wait)
            mask[1 : 1 + len(slots)] = 1
        observations[agent] = {"observation": vector, "action_mask": mask}
        infos[agent] = {"group": 0, "candidates": np.array(tasks + [-1] * (K - len(tasks)), dtype=np.int64)}
    return observations, infos


# ---------------------------------------------------------------------------------------------- knowledge-aware rule


def test_knowledge_aware_takes_a_known_task_first():
    policy = scheduler("knowledge-aware")
    slots = [{"reward": 1.0, "upward_rank": 1.0}, {"reward": 0.5, "upward_rank": 0.1, "known": 1.0}]
    actions = policy.act(*hand_built(policy, slots, deciders=[0]))
    assert actions["agent_0"] == 2  # the known task, although slot 1 has the higher reward and rank


def test_knowledge_aware_skips_a_maze_being_explored_when_another_task_is_ready():
    policy = scheduler("knowledge-aware")
    slots = [
        {"reward": 1.0, "upward_rank": 1.0, "class_in_progress": 1.0},
        {"reward": 0.5, "upward_rank": 0.2},
    ]
    assert policy.act(*hand_built(policy, slots, deciders=[0]))["agent_0"] == 2
    # a known solution makes a groupmate's exploration of the same maze irrelevant
    known = {0: [1.0, 0.0]}
    assert scheduler("knowledge-aware").act(*hand_built(policy, slots, deciders=[0], known=known))["agent_0"] == 1


def test_knowledge_aware_waits_when_only_explored_mazes_remain():
    policy = scheduler("knowledge-aware")
    slots = [{"upward_rank": 0.5, "class_in_progress": 1.0}, {"upward_rank": 0.9, "class_in_progress": 1.0}]
    assert policy.act(*hand_built(policy, slots, deciders=[0]))["agent_0"] == 0
    # asked again with waiting masked out, it takes one: the highest rank
    forced = scheduler("knowledge-aware")
    assert forced.act(*hand_built(forced, slots, deciders=[0], may_wait=False))["agent_0"] == 2


def test_knowledge_aware_orders_by_rank_then_reward():
    policy = scheduler("knowledge-aware")
    slots = [{"reward": 1.0, "upward_rank": 0.3}, {"reward": 0.8, "upward_rank": 0.7}, {"reward": 0.6}]
    assert policy.act(*hand_built(policy, slots, deciders=[0]))["agent_0"] == 2  # higher rank beats higher reward
    tied = [{"reward": 1.0, "upward_rank": 0.5}, {"reward": 0.8, "upward_rank": 0.5}]
    fresh = scheduler("knowledge-aware")
    assert fresh.act(*hand_built(fresh, tied, deciders=[0]))["agent_0"] == 1  # equal rank: the higher reward


# ---------------------------------------------------------------------------------------------- distinct slots


@pytest.mark.parametrize("name", ["knowledge-aware", "heft"])
def test_same_tick_deciders_of_a_group_get_distinct_slots(name):
    policy = scheduler(name, n_agents=4)
    slots = [{"reward": 1.0 - 0.1 * k, "upward_rank": 0.5} for k in range(K)]
    actions = policy.act(*hand_built(policy, slots, deciders=[0, 1, 2]))
    taken = [actions[f"agent_{i}"] for i in range(3)]
    assert 0 not in taken and len(set(taken)) == 3, taken
    # a step later the claimed tasks are still shown (claims in flight): the next decider takes the last one
    later = policy.act(*hand_built(policy, slots, deciders=[3]))
    assert later["agent_3"] == 1 + (set(range(K)) - {a - 1 for a in taken}).pop()


@pytest.mark.parametrize("name", ["knowledge-aware", "heft"])
def test_handed_out_tasks_are_forgotten_once_they_leave_the_slots(name):
    policy = scheduler(name)
    slots = [{"reward": 1.0, "upward_rank": 0.9}, {"reward": 0.5, "upward_rank": 0.1}]
    assert policy.act(*hand_built(policy, slots, deciders=[0], tasks=[7, 3]))["agent_0"] == 1
    assert policy.act(*hand_built(policy, slots, deciders=[1], tasks=[7, 3]))["agent_1"] == 2  # task 7 is handed out
    policy.act(*hand_built(policy, slots[1:], deciders=[], tasks=[3]))  # task 7 left the slots (started)
    # task 7 is ready again (e.g. its solution was rejected): it can be handed out again
    assert policy.act(*hand_built(policy, slots, deciders=[2], tasks=[7, 3]))["agent_2"] == 1


# ---------------------------------------------------------------------------------------------- heft's costs


def test_expected_maze_costs_grow_with_the_maze():
    small, large = expected_maze_costs(8, 8, "dfs"), expected_maze_costs(40, 40, "dfs")
    assert 1.0 < small.ratio < large.ratio  # exploring costs more replays as mazes grow
    assert small.explore <= 2 * (8 * 8 - 1)  # depth-first: at most 2(cells-1) moves
    walk = expected_maze_costs(8, 8, "random_walk")
    assert walk.explore == 8 * 8 * walk.replay and walk.replay == small.replay


def test_heft_explores_first_when_exploring_costs_many_replays():
    policy = scheduler("heft")
    slots = [{"upward_rank": 0.9, "known": 1.0}, {"upward_rank": 0.3}]
    assert policy.act(*hand_built(policy, slots, deciders=[0]))["agent_0"] == 2  # the long task starts first
    # knowledge-aware, on the same observation, replays first
    other = scheduler("knowledge-aware")
    assert other.act(*hand_built(other, slots, deciders=[0]))["agent_0"] == 1


def test_heft_gives_the_top_task_to_the_fastest_agent():
    policy = scheduler("heft")
    slots = [{"upward_rank": 0.2}, {"upward_rank": 0.8}]
    actions = policy.act(*hand_built(policy, slots, deciders=[0, 1], speeds=[0.5, 1.0, 1.0]))
    assert actions == {"agent_0": 1, "agent_1": 2, "agent_2": 0}


def test_heft_leaves_a_maze_being_explored_to_the_explorer():
    policy = scheduler("heft")
    slots = [{"upward_rank": 0.9, "class_in_progress": 1.0}]
    assert policy.act(*hand_built(policy, slots, deciders=[0]))["agent_0"] == 0
    forced = scheduler("heft")
    assert forced.act(*hand_built(forced, slots, deciders=[0], may_wait=False))["agent_0"] == 1
    # with 2x2 mazes exploring costs about as much as waiting for half an exploration and replaying: it explores
    tiny = scheduler("heft", maze_size=2)
    assert expected_maze_costs(2, 2, "dfs").ratio < 2
    assert tiny.act(*hand_built(tiny, slots, deciders=[0]))["agent_0"] == 1


# ---------------------------------------------------------------------------------------------- whole episodes


@pytest.mark.parametrize("control", ["centralized", "decentralized"])
@pytest.mark.parametrize("preset", ["tiny", "small", "steered"])
@pytest.mark.parametrize("name", ["knowledge-aware", "heft"])
def test_the_references_complete_every_task(name, preset, control):
    config = make_config(preset, control=control, strict_actions=True, speed_spread=0.3)
    for seed in range(3):
        result = run_episode(make_policy(name), config, seed)
        assert not result.truncated, (preset, control, seed)
        assert result.metrics["mu_g"] == result.metrics["lambda_g"], (preset, control, seed)


def paired_ets(name: str, control: str, seeds: range) -> np.ndarray:
    config = make_config("small", control=control)
    return np.array([run_episode(make_policy(name), config, seed).metrics["ET"] for seed in seeds], dtype=float)


SEEDS = range(20)


def test_knowledge_aware_beats_decentralized_ces():
    """On 20 seeds of ``small`` (decentralized), about 12% lower ET; the whole paired 95% CI must be below zero and
    the mean difference beyond 5% of CES's ET. Measured on five disjoint blocks of 20 seeds (0-99): the upper CI end
    is between -43 and -172 ticks on every block, the mean difference between -8% and -16%."""
    ces = paired_ets("ces-decentralized", "decentralized", SEEDS)
    ours = paired_ets("knowledge-aware", "decentralized", SEEDS)
    difference = compare(ours, ces)
    assert difference.high < 0, difference.text
    assert difference.diff < -0.05 * ces.mean(), difference.text


@pytest.mark.parametrize("control", ["centralized", "decentralized"])
def test_heft_beats_random_on_small(control):
    """The fixed heft is clearly better than random on ``small`` (it used to be 5% worse): the paired 95% CI of the
    difference lies below zero under both controls."""
    difference = compare(paired_ets("heft", control, SEEDS), paired_ets("random", control, SEEDS))
    assert difference.high < 0, difference.text

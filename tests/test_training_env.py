"""The environment as a trainer meets it: a reward aligned with ET, waiting that cannot stall, features that move and
tell groupmates apart, and elapsed time in the infos."""

from __future__ import annotations

import numpy as np
import pytest

import ces_env
from ces_env.observations import AGENT_INDEX
from tests.helpers import rollout

CONTROLS = ["centralized", "decentralized"]


def wait_with_probability(p_wait: float):
    """Wait with probability ``p_wait`` whenever waiting is legal; otherwise a uniformly random legal task or move."""

    def policy(env, observations, rng):
        actions = {}
        for agent in env.agents:
            mask = observations[agent]["action_mask"]
            others = np.flatnonzero(mask[1:]) + 1
            if not len(others) or (mask[0] and rng.random() < p_wait):
                actions[agent] = 0
            else:
                actions[agent] = int(others[rng.integers(len(others))])
        return actions

    return policy


@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize("scale", [1.0, 250.0])
def test_time_reward_sums_to_minus_et_over_the_scale(control, scale):
    env = ces_env.parallel_env(preset="small", control=control, reward_mode="time", reward_time_scale=scale)
    infos, records = rollout(env, seed=4)
    et = next(iter(infos.values()))["metrics"]["ET"]
    for agent in env.possible_agents:
        assert np.isclose(sum(r.rewards[agent] for r in records), -et / scale)
    elapsed = [next(iter(r.infos.values()))["elapsed_ticks"] for r in records]
    assert sum(elapsed) == et and min(elapsed) >= 0
    assert all(np.isclose(r.rewards["agent_0"], -e / scale) for r, e in zip(records, elapsed))


@pytest.mark.parametrize("control", CONTROLS)
def test_an_always_waiting_policy_ends_at_once_truncated_as_stalled(control):
    env = ces_env.parallel_env(preset="small", control=control)
    infos, records = rollout(env, seed=0, policy=lambda env, obs, rng: {a: 0 for a in env.agents})
    # decentralized: everybody waits, is asked again with waiting masked out, waits: two steps. Centralized: the
    # requests reach the head of their queue one by one, so up to one step per agent (the README's bounds)
    assert len(records) == 2 if control == "decentralized" else 2 <= len(records) <= env.config.n_agents
    last = next(iter(infos.values()))
    assert all(records[-1].truncations.values())
    assert last["truncation_reason"] == "stalled" and last["metrics"]["mu_g"] == [0] * env.config.n_groups


def test_waiting_while_steering_runs_until_max_ticks():
    """A steering agent's wait is a stay of one tick: time moves, so nothing stalls and the episode runs to its
    limit (with tasks taken whenever possible, so that agents do steer)."""
    deciding_move = AGENT_INDEX["deciding_move"]

    def take_tasks_then_stay(env, observations, rng):
        actions = {}
        for agent in env.agents:
            obs = observations[agent]
            tasks = np.flatnonzero(obs["action_mask"][1 : 1 + env.config.n_candidates]) + 1
            actions[agent] = 0 if obs["observation"][deciding_move] or not len(tasks) else int(tasks[0])
        return actions

    env = ces_env.parallel_env(preset="steered", max_ticks=300)
    infos, records = rollout(env, seed=0, policy=take_tasks_then_stay)
    last = next(iter(infos.values()))
    assert last["truncation_reason"] == "max_ticks" and last["metrics"]["ET"] >= 300
    assert sum(r.observations["agent_0"]["observation"][deciding_move] for r in records) > 100  # it did steer


def test_stalling_is_charged_up_to_max_ticks_under_the_time_reward():
    env = ces_env.parallel_env(preset="small", reward_mode="time", reward_time_scale=100.0)
    _, records = rollout(env, seed=0, policy=lambda env, obs, rng: {a: 0 for a in env.agents})
    returned = sum(r.rewards["agent_0"] for r in records)
    assert env.unwrapped.sim.stalled and np.isclose(returned, -env.unwrapped.sim.max_ticks / 100.0)


def test_the_second_ask_masks_waiting_out():
    env = ces_env.parallel_env(preset="small", control="decentralized")
    observations, _ = env.reset(seed=1)
    observations, *_ = env.step({a: 0 for a in env.agents})  # everybody waits: nothing else can happen
    deciders = [a for a in env.agents if observations[a]["action_mask"][1:].any()]
    assert deciders and all(observations[a]["action_mask"][0] == 0 for a in deciders)


@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize("seed", range(3))
def test_a_policy_that_mostly_waits_still_completes_every_task(control, seed):
    env = ces_env.parallel_env(preset="small", control=control)
    infos, records = rollout(env, seed=seed, policy=wait_with_probability(0.9))
    metrics = next(iter(infos.values()))["metrics"]
    assert all(records[-1].terminations.values()) and metrics["mu_g"] == metrics["lambda_g"]
    # a change in a group asks each of its waiting agents once (under centralized control one after the other, as
    # each reaches the head of the queue), so the steps are bounded by the events times the group size
    sim = env.unwrapped.sim
    assert len(records) <= (sim.events_scheduled + 1) * int(sim.group_size.max())


def test_a_fixed_wait_is_still_available():
    env = ces_env.parallel_env(preset="tiny", wait_ticks=3, control="decentralized")
    infos, records = rollout(env, seed=2, policy=wait_with_probability(0.5))
    assert all(records[-1].terminations.values())
    assert next(iter(infos.values()))["truncation_reason"] is None


def test_the_time_feature_moves_over_an_episode():
    env = ces_env.parallel_env(preset="small")
    times = []
    rollout(env, seed=3, on_step=lambda e: times.append(e.unwrapped.sim.time))
    observations, _ = env.reset(seed=3)
    first = observations["agent_0"]["observation"][AGENT_INDEX["time"]]
    _, records = rollout(env, seed=3)
    last = records[-2].observations["agent_0"]["observation"][AGENT_INDEX["time"]]
    assert first == 0.0 and 0.3 < last < 1.0


def test_groupmates_deciding_together_see_distinct_ranks_and_indices():
    env = ces_env.parallel_env(preset="small", control="decentralized")
    observations, infos = env.reset(seed=0)
    groups: dict[int, list[str]] = {}
    for agent in env.agents:
        groups.setdefault(infos[agent]["group"], []).append(agent)
    for members in groups.values():
        ranks = [observations[a]["observation"][AGENT_INDEX["decider_rank"]] for a in members]
        indices = [observations[a]["observation"][AGENT_INDEX["index_in_group"]] for a in members]
        assert len(set(ranks)) == len(members) and len(set(indices)) == len(members)
        assert min(ranks) == 0.0 and max(ranks) == 1.0


def test_a_centralized_wait_keeps_the_request_at_the_controller():
    """Waiting sends no new request: the messages of an episode with waits are requests + assignments + ..., with
    exactly one request per availability, whatever the number of waits."""
    env = ces_env.parallel_env(preset="tiny", control="centralized")
    _, records = rollout(env, seed=5, policy=wait_with_probability(0.7))
    waits = sum(
        1
        for previous, step in zip(records, records[1:])
        for agent, action in step.actions.items()
        if action == 0 and previous.observations[agent]["action_mask"][1:].any()
    )
    sim = env.unwrapped.sim
    assert waits > 0 and sim.terminated
    # per task: a request, an assignment, a submission and a verdict; then the solution shared with the group and
    # one notice per other group released; and every agent's last request, answered by the end of its group
    shared = sum(int(sim.group_size[sim.instance.agent_group[a]]) - 1 for a in sim.completed_by)
    assert sim.messages <= 4 * sim.tasks_done + shared + sim.instance.n_agents + sim.tasks_done * sim.instance.n_groups

"""The compiled and the vectorised observation builders against a straightforward per-group reference.

``ObservationBuilder.build`` gathers every group's top-K candidates into one array and indexes it (issue 12). The
reference below is the plain construction it replaced: a Python loop over groups, each group's candidates asked from
the control protocol one group at a time. Both run on the same simulator states (episodes under random masked actions,
so queues, claims in flight, waits and forced rounds all occur) and must agree bit for bit, feature by feature. The
compiled ``build`` (ces_env.kernels) and the numpy ``build_numpy`` are both checked against it.
"""

from __future__ import annotations

import numpy as np
import pytest

from ces_env import parallel_env
from ces_env.config import make_config
from ces_env.core.simulator import CESSimulator
from ces_env.observations import (
    AGENT_FEATURES,
    AGENT_INDEX,
    SLOT_FEATURES,
    SLOT_INDEX,
    SLOT_OFFSET,
    ObservationBuilder,
    squashed_time,
)
from ces_env.types import AgentStatus, TaskStatus
from tests.helpers import random_masked_actions

CASES = {
    "tiny": dict(preset="tiny"),
    "small": dict(preset="small"),
    "small-decentralized": dict(preset="small-decentralized"),
    "steered": dict(preset="steered"),
    "decentralized, latency, fixed wait": dict(
        preset="small", control="decentralized", claim_latency_ticks=3, wait_ticks=2, n_candidates=3
    ),
    "one candidate slot, 5 groups": dict(n_agents=10, n_groups=5, n_tasks=30, maze_size=8, n_candidates=1),
    "many slots": dict(n_agents=6, n_groups=2, n_tasks=30, maze_size=8, n_candidates=12),
    # the controller's queue holds validations under decentralized control
    "central validation": dict(preset="small-decentralized", control_options={"validation": "central"}),
    # agents of different speeds (the speed feature is each agent's speed over the fastest's)
    "mixed speeds": dict(preset="tiny", agent_speed=2.0, speed_spread=0.4, group_speeds=(0.5, 1.0)),
}


def reference_build(builder: ObservationBuilder, sim: CESSimulator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-group construction: for each group, ask the protocol for its candidates and fill its members' rows."""
    inst = sim.instance
    n, K = builder.n_agents, builder.config.n_candidates
    obs = np.zeros((n, builder.obs_size), dtype=np.float32)
    masks = np.zeros((n, builder.actions.n_actions), dtype=np.int8)
    masks[:, 0] = 1
    slot_tasks = np.full((n, K), -1, dtype=np.int64)
    status = sim.agent_status
    deciders = sim.task_deciders()
    for agent in range(n):
        obs[agent, int(status[agent])] = 1.0
    obs[deciders, AGENT_INDEX["deciding_task"]] = 1.0
    obs[sim.move_deciders(), AGENT_INDEX["deciding_move"]] = 1.0
    obs[:, AGENT_INDEX["speed"]] = inst.agent_speed / inst.agent_speed.max()
    obs[:, AGENT_INDEX["time"]] = squashed_time(sim)
    obs[:, AGENT_INDEX["job_progress"]] = sim.job_progress()
    obs[:, AGENT_INDEX["classes_known"]] = sim.knows.mean(axis=1)
    queues = sim.control.queue_lengths()
    for group in range(inst.n_groups):
        members = np.flatnonzero(inst.agent_group == group)
        obs[members, AGENT_INDEX["index_in_group"]] = np.arange(len(members)) / max(1, len(members) - 1)
        total = max(1, sim.group_total[group])
        cands = sim.candidates(group)
        obs[members, AGENT_INDEX["group_progress"]] = sim.group_completed[group] / total
        obs[members, AGENT_INDEX["group_ready"]] = min(1.0, len(cands) / total)
        obs[members, AGENT_INDEX["group_idle"]] = np.mean(status[members] == AgentStatus.IDLE)
        obs[members, AGENT_INDEX["controller_queue"]] = min(1.0, queues[group] / len(members))
        # classes a member of the group is exploring (or steering through) right now
        explored = {
            int(inst.task_class[t])
            for t in np.flatnonzero(sim.task_status == TaskStatus.RUNNING)
            if inst.task_group[t] == group
            and status[sim.task_holder[t]] in (AgentStatus.EXPLORING, AgentStatus.STEERING)
        }
        group_deciders = [a for a in deciders.tolist() if inst.agent_group[a] == group]
        for agent in members.tolist():
            for k, task in enumerate(cands[:K].tolist()):
                slot_tasks[agent, k] = task
                base = SLOT_OFFSET + k * len(SLOT_FEATURES)
                cls = int(inst.task_class[task])
                obs[agent, base + SLOT_INDEX["valid"]] = 1.0
                obs[agent, base + SLOT_INDEX["reward"]] = builder._reward_norm[task]
                obs[agent, base + SLOT_INDEX["known"]] = sim.knows[agent, cls]
                obs[agent, base + SLOT_INDEX["successors"]] = builder._succ_norm[task]
                obs[agent, base + SLOT_INDEX["upward_rank"]] = builder._rank_norm[task]
                obs[agent, base + SLOT_INDEX["class_in_progress"]] = cls in explored
                if agent in group_deciders:
                    masks[agent, 1 + k] = 1
        if len(group_deciders) > 1:
            for rank, agent in enumerate(group_deciders):
                obs[agent, AGENT_INDEX["decider_rank"]] = rank / (len(group_deciders) - 1)
    for agent in sorted(sim.must_act):
        if masks[agent, 1:].any():
            masks[agent, 0] = 0
    if builder.steered:
        builder._add_steering(sim, obs, masks, sim.move_deciders())
    return obs, masks, slot_tasks


def feature_name(column: int, n_candidates: int) -> str:
    """Name of an observation column, for a failure message that says which feature differs."""
    if column < SLOT_OFFSET:
        return AGENT_FEATURES[column]
    slot, feature = divmod(column - SLOT_OFFSET, len(SLOT_FEATURES))
    return f"slot {slot} {SLOT_FEATURES[feature]}" if slot < n_candidates else f"view column {column}"


@pytest.mark.parametrize("case", list(CASES))
def test_builder_matches_per_group_reference(case: str) -> None:
    config = make_config(**CASES[case])
    env = parallel_env(config=config)
    rng = np.random.default_rng(12)
    compared = deciding_steps = 0
    for seed in (0, 1):
        observations, _ = env.reset(seed=seed)
        while env.agents and compared < 400:
            ref_obs, ref_masks, ref_slots = reference_build(env._builder, env.sim)
            for builder in (env._builder.build, env._builder.build_numpy):
                obs, masks, slots = builder(env.sim)
                where = f"{builder.__name__}, {case}, seed {seed}, tick {env.sim.time}"
                for column in np.flatnonzero((obs != ref_obs).any(axis=0)):
                    pytest.fail(f"{where}: feature {feature_name(int(column), config.n_candidates)!r} differs")
                assert np.array_equal(masks, ref_masks), f"{where}: masks differ"
                assert np.array_equal(slots, ref_slots), f"{where}: slot tasks differ"
            compared += 1
            deciding_steps += bool(len(env.sim.task_deciders()))
            observations, *_ = env.step(random_masked_actions(env, observations, rng))
    assert compared > 10
    # the comparison saw real decisions (slots filled and masks opened), not only empty observations
    assert deciding_steps > 0


def test_group_by_group_fallback_matches_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """A protocol that cannot flag candidates for all groups at once is asked group by group: same observations."""
    monkeypatch.setattr(ObservationBuilder, "_candidate_flags", staticmethod(lambda sim, tasks: None))
    test_builder_matches_per_group_reference("decentralized, latency, fixed wait")


def test_builder_handles_a_new_episode_on_the_same_builder() -> None:
    """The builder caches the simulator's flattened candidate order: a reset must not reuse the previous episode's."""
    env = parallel_env(config=make_config(preset="small"))
    for seed in (3, 4):
        env.reset(seed=seed)
        obs, masks, slots = env._builder.build(env.sim)
        ref_obs, ref_masks, ref_slots = reference_build(env._builder, env.sim)
        assert np.array_equal(obs, ref_obs) and np.array_equal(masks, ref_masks) and np.array_equal(slots, ref_slots)

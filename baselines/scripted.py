"""Scripted baseline policies: the paper's CES rule under each control, a uniform random policy, and a HEFT-like
DAG scheduler.

Every policy here acts only on what the environment shows: the per-agent observations with their action masks, the
public action spaces, ``env.unwrapped.config`` (for sizes) and the infos (each agent's group and the task ids of its
slots). None reads the simulator. Each is a :class:`ces_env.policies.ScriptedPolicy`: maze moves in the steered mode
(``exploration_mode="steered"``) come from the same :class:`ces_env.policies.DepthFirstWalker`, so that the policies
differ only in how they choose tasks. The two CES policies are ``ces_env``'s :class:`RewardFirstPolicy`, bound to
one control each.

Observation features are read by name through the layout of ``ces_env.observations`` (``AGENT_INDEX``,
``SLOT_INDEX``); slots list the group's ready tasks by reward descending, then task id ascending.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ces_baselines.registry import register
from ces_env.observations import AGENT_INDEX, SLOT_INDEX
from ces_env.policies import RewardFirstPolicy, ScriptedPolicy

_SPEED = AGENT_INDEX["speed"]
_KNOWN, _RANK = SLOT_INDEX["known"], SLOT_INDEX["upward_rank"]


@register
class CESCentralized(RewardFirstPolicy):
    """The paper's CES rule under centralized control.

    The group's controller hands ready tasks to available agents, highest reward first. Under centralized control
    only the agent at the head of its group controller's FIFO queue decides at a step, and the controller reserves
    the task at once, so "every deciding agent takes slot 1" is exactly the controller's rule: no task is given
    twice and there are no conflicts.
    """

    name: ClassVar[str] = "ces-centralized"
    description: ClassVar[str] = "CES, centralized: the group controller assigns the highest-reward ready task"
    required_config: ClassVar[dict] = {"control": "centralized"}


@register
class CESDecentralized(RewardFirstPolicy):
    """The paper's CES rule under decentralized control.

    Each available agent pulls the highest-reward ready task of its group (slot 1) and broadcasts its claim. When
    several agents of a group decide at the same tick (or within the claim latency) they all pull the same task and
    all but the earliest claim conflict and lose the latency. That is the protocol's real cost, the thing the
    centralized/decentralized comparison measures, so this policy deliberately does not coordinate it away.
    """

    name: ClassVar[str] = "ces-decentralized"
    description: ClassVar[str] = "CES, decentralized: each available agent claims the highest-reward ready task"
    required_config: ClassVar[dict] = {"control": "decentralized"}


@register
class RandomPolicy(ScriptedPolicy):
    """Uniform over the legal task actions of the mask, wait included, from the policy's seeded generator.

    Runs under whatever control the config sets. In the steered mode maze moves use the shared depth-first walker
    like every scripted policy (a uniform random walk in the maze says nothing about scheduling and can take
    quadratically many moves); only the choice of tasks is random.
    """

    name: ClassVar[str] = "random"
    description: ClassVar[str] = "uniform over the legal actions (wait included); depth-first maze moves"

    def choose_tasks(self, agents, observations, infos):
        actions = {}
        for agent in agents:
            legal = np.flatnonzero(observations[agent]["action_mask"][: self.first_move])
            actions[agent] = int(legal[self.rng.integers(len(legal))])
        return actions


@register
class HEFTPolicy(ScriptedPolicy):
    """A centralized HEFT-like list scheduler: the "what a scheduler would do" reference.

    Priority is the upward rank (slot feature ``upward_rank``: the longest path from the task to a sink of the DAG,
    each task weighted by its minimal duration, i.e. walking its maze's solution at its group's fastest speed;
    normalised by the instance's largest rank). The rule, per group, at every step:

    1. The group's deciding agents are served fastest first (agent feature ``speed``; ties: lower agent id).
    2. Each takes one of the remaining candidates (valid slots not yet given at this step, and not given by this
       scheduler at an earlier step while still visible: see below): let ``top`` be the highest remaining rank; among
       the candidates with rank >= ``top - RANK_TOLERANCE`` (a near tie; the tolerance is in units of the instance's
       largest rank), one whose solution the agent already knows (slot feature ``known``) is preferred; within the
       chosen set the highest rank wins, then the lower slot (higher reward, then lower task id).
    3. It never waits while a candidate remains. An agent left without one (more deciders than visible tasks, or
       only tasks handed out earlier whose claims are still in flight) waits ``wait_ticks``.

    A centralized scheduler never assigns a task twice: distinct agents get distinct tasks, and under decentralized
    control (where a claimed task stays visible to the peers for ``claim_latency_ticks``) it remembers the task ids it
    handed out (``info["candidates"]``) until they leave the group's slots. Under centralized control at most one agent
    per group decides at a step and the controller reserves the task at once, so this only matters under
    decentralized control. Candidates are the K slots the observation shows (the K highest-reward ready tasks).
    """

    name: ClassVar[str] = "heft"
    description: ClassVar[str] = "HEFT-like: highest upward rank to the fastest agents, distinct tasks, known on ties"
    RANK_TOLERANCE: ClassVar[float] = 0.05

    def reset(self, env, seed: int) -> None:
        super().reset(env, seed)
        self._handed_out: dict[int, set[int]] = {}

    def act(self, observations, infos):
        # forget hand-outs that no longer appear among their group's slots (claimed, started or done)
        visible: dict[int, set[int]] = {}
        for info in infos.values():
            visible.setdefault(info["group"], set()).update(int(t) for t in info["candidates"] if t >= 0)
        for group in list(self._handed_out):
            self._handed_out[group] &= visible.get(group, set())
        return super().act(observations, infos)

    def choose_tasks(self, agents, observations, infos):
        by_group: dict[int, list[str]] = {}
        for agent in agents:
            by_group.setdefault(infos[agent]["group"], []).append(agent)
        actions = {}
        for group, members in by_group.items():
            members.sort(key=lambda a: (-float(observations[a]["observation"][_SPEED]), self._index(a)))
            handed = self._handed_out.setdefault(group, set())
            for agent in members:
                obs = observations[agent]
                slots = self.slots(obs["observation"])
                tasks = infos[agent]["candidates"]
                free = [k for k in range(self.n_slots) if obs["action_mask"][1 + k] and int(tasks[k]) not in handed]
                if not free:  # every visible task is already handed out: nothing is available to this agent
                    actions[agent] = 0
                    continue
                slot = self._pick(slots, free)
                handed.add(int(tasks[slot]))
                actions[agent] = 1 + slot
        return actions

    def _pick(self, slots: np.ndarray, pool: list[int]) -> int:
        ranks = slots[pool, _RANK]
        near = [k for k, r in zip(pool, ranks) if r >= ranks.max() - self.RANK_TOLERANCE]
        known = [k for k in near if slots[k, _KNOWN] > 0.5]
        chosen = known or near
        return min(chosen, key=lambda k: (-float(slots[k, _RANK]), k))

    def _index(self, agent: str) -> int:
        return self.env.possible_agents.index(agent)


__all__ = ["ScriptedPolicy", "CESCentralized", "CESDecentralized", "RandomPolicy", "HEFTPolicy"]

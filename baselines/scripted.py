"""Scripted baseline policies: the paper's CES rule under each control, a uniform random policy, and a HEFT-like
DAG scheduler.

Every policy here acts only on what the environment shows: the per-agent observations with their action masks, the
public action spaces, ``env.unwrapped.config`` (for sizes) and the infos (each agent's group and the task ids of its
slots). None reads the simulator. Each handles the steered mode (``exploration_mode="steered"``) with the same
:class:`DepthFirstWalker`, so that the policies differ only in how they choose tasks.

Observation layout (``ces_env.observations``): ``AGENT_FEATURES`` first, then ``n_candidates`` slots of
``SLOT_FEATURES``; slots list the group's ready tasks by reward descending, then task id ascending.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np

from ces_baselines.policy import Policy, deciding_agents
from ces_baselines.registry import register
from ces_env.observations import AGENT_FEATURES, SLOT_FEATURES
from ces_env.policies import DepthFirstWalker

_SPEED = AGENT_FEATURES.index("speed")
_N_SLOT = len(SLOT_FEATURES)
_KNOWN, _RANK = SLOT_FEATURES.index("known"), SLOT_FEATURES.index("upward_rank")


class ScriptedPolicy(Policy):
    """Shared skeleton: maze moves by the :class:`DepthFirstWalker`, task choices by :meth:`choose_tasks`."""

    def reset(self, env, seed: int) -> None:
        super().reset(env, seed)
        config = env.unwrapped.config
        self.n_slots = int(config.n_candidates)
        self.first_move = 1 + self.n_slots
        self.steered = env.action_space(env.possible_agents[0]).n > self.first_move
        self.walker = DepthFirstWalker(self.first_move, int(config.view_radius), self.rng)

    def act(self, observations: dict[str, dict], infos: dict[str, dict]) -> dict[str, int]:
        actions = {agent: 0 for agent in observations}
        task_deciders = []
        for agent in deciding_agents(observations):
            obs = observations[agent]
            mask = obs["action_mask"]
            if mask[1 : self.first_move].any():
                task_deciders.append(agent)
            elif self.steered:
                actions[agent] = self.walker.action(agent, obs["observation"], mask)
        for agent, obs in observations.items():
            self.walker.observe(agent, obs["observation"])
        if task_deciders:
            actions.update(self.choose_tasks(task_deciders, observations, infos))
        return actions

    @abstractmethod
    def choose_tasks(self, agents: list[str], observations: dict[str, dict], infos: dict[str, dict]) -> dict[str, int]:
        """Actions (0..K) for the agents that must choose a task now (each has at least one legal slot)."""

    def slots(self, observation: np.ndarray) -> np.ndarray:
        """(K, len(SLOT_FEATURES)) view of an observation's candidate slots."""
        start = len(AGENT_FEATURES)
        return observation[start : start + self.n_slots * _N_SLOT].reshape(self.n_slots, _N_SLOT)


class _HighestRewardFirst(ScriptedPolicy):
    """Every deciding agent takes slot 1, the highest-reward ready task of its group."""

    def choose_tasks(self, agents, observations, infos):
        return {agent: 1 for agent in agents}


@register
class CESCentralized(_HighestRewardFirst):
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
class CESDecentralized(_HighestRewardFirst):
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

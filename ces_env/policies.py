"""The policy interface of ces_env, the depth-first maze walker, and the reference reward-first policy.

:class:`Policy` is the one interface every policy implements (scripted ones here and in ``ces_baselines``, auction
and consensus mechanisms, learned policies), so that :func:`ces_env.runner.run_episode` and the ``ces-bench`` harness
run them all the same way on the same seeds. A policy sees only what the environment shows: the per-agent
observations (with their action masks) and infos, the public spaces and config, and, for policies that are
centralized by definition, ``env.state()``. Nothing reaches into the simulator. Like PettingZoo's environments that
ship a policy beside them, the environment's reference policy lives here:

:class:`RewardFirstPolicy`: every deciding agent takes slot 1, the highest-reward ready task of its group (the paper's
CES rule; under centralized control the controller does this for the agent at the head of its queue). In the steered
mode exploring agents walk depth-first with :class:`DepthFirstWalker`. :class:`ScriptedPolicy` is the skeleton it
shares with the scripted baselines: maze moves by the walker, task choices by a rule.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, cast

import numpy as np
from pettingzoo import ParallelEnv

from ces_env.config import CESConfig
from ces_env.observations import AGENT_INDEX, VISITED_CHANNEL, ActionLayout, slot_features, view_features
from ces_env.types import AgentStatus

Observations = dict[str, dict[str, np.ndarray]]
Infos = dict[str, dict[str, Any]]
Actions = dict[str, int]

_STEERING = AGENT_INDEX[f"status_{AgentStatus.STEERING.name.lower()}"]
# maze moves N, E, S, W as (row, col) steps; the action for direction d is first_move + d
_STEPS = ((-1, 0), (0, 1), (1, 0), (0, -1))
_OPPOSITE = (2, 3, 0, 1)


def env_config(env: ParallelEnv) -> CESConfig:
    """The config of a CES env, through any PettingZoo wrappers."""
    return cast(CESConfig, env.unwrapped.config)


class Policy(ABC):
    """A policy for the CES ParallelEnv: ``reset`` once per episode, then ``act`` at every step.

    Class attributes (used by the ``ces-bench`` registry):
        name: the registry name used by ``ces-bench --policy``.
        description: one line for ``ces-bench list``.
        required_config: config fields the policy is defined for (e.g. ``{"control": "centralized"}``); the harness
            applies them on top of the preset and records them in the results.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    required_config: ClassVar[dict[str, Any]] = {}

    env: ParallelEnv
    rng: np.random.Generator

    def reset(self, env: ParallelEnv, seed: int) -> None:
        """Called after ``env.reset(seed=seed)``, before the first ``act``. Seeds the policy's own generator, so that
        an episode depends on the seed only."""
        self.env = env
        self.rng = np.random.default_rng(seed)

    @abstractmethod
    def act(self, observations: Observations, infos: Infos) -> Actions:
        """One action per live agent."""


def deciding_agents(observations: Observations) -> list[str]:
    """Agents whose mask allows more than waiting, in agent order."""
    return [agent for agent, obs in observations.items() if obs["action_mask"][1:].any()]


def explore_move(observation: np.ndarray, open_moves: np.ndarray, radius: int, rng: np.random.Generator | None) -> int:
    """A direction among ``open_moves`` that leads to a cell the local view shows as not visited (random among
    several), else any open direction."""
    view = view_features(observation, radius)
    side = view.shape[0]
    visited = view[:, :, VISITED_CHANNEL]
    centre = radius
    neighbours = ((centre - 1, centre), (centre, centre + 1), (centre + 1, centre), (centre, centre - 1))
    fresh = [
        d
        for d, (r, c) in enumerate(neighbours)
        if open_moves[d] and 0 <= r < side and 0 <= c < side and not visited[r, c]
    ]
    choices = fresh or np.flatnonzero(open_moves).tolist()
    if rng is None or len(choices) == 1:
        return int(choices[0])
    return int(choices[rng.integers(len(choices))])


class DepthFirstWalker:
    """Steered mode: a depth-first walk through a maze, move by move.

    The forward choice is :func:`explore_move` (an open neighbour not yet visited, read off the observation's local
    view; ties broken by the seeded generator). The walker adds what the observation lacks, the way back: per agent,
    the stack of forward moves of the current exploration and the cells visited (relative to the start; this also
    covers ``view_radius=0``). With no unvisited open neighbour it steps back along the stack. In a perfect maze this
    is exact depth-first search: at most ``2(cells-1)`` moves. An agent's memory is dropped whenever its observation
    says it is not steering (each exploration starts afresh at the maze's start).
    """

    def __init__(self, first_move: int, view_radius: int, rng: np.random.Generator | None):
        self.first_move = first_move
        self.radius = view_radius
        self.rng = rng
        self._state: dict[str, tuple[list[int], set[tuple[int, int]], list[int]]] = {}

    def observe(self, agent: str, observation: np.ndarray) -> None:
        if observation[_STEERING] < 0.5:
            self._state.pop(agent, None)

    def action(self, agent: str, observation: np.ndarray, mask: np.ndarray) -> int:
        open_moves = np.asarray(mask[self.first_move : self.first_move + 4]).astype(bool)
        if not open_moves.any():
            return 0
        stack, visited, pos = self._state.setdefault(agent, ([], {(0, 0)}, [0, 0]))
        fresh = np.array(
            [open_moves[d] and (pos[0] + dr, pos[1] + dc) not in visited for d, (dr, dc) in enumerate(_STEPS)]
        )
        if fresh.any():
            direction = explore_move(observation, fresh, self.radius, self.rng)
            stack.append(direction)
        elif stack:
            direction = _OPPOSITE[stack.pop()]
        else:  # nowhere new and no way back: cannot happen in a perfect maze before the target; keep moving
            direction = explore_move(observation, open_moves, self.radius, self.rng)
        dr, dc = _STEPS[direction]
        pos[0] += dr
        pos[1] += dc
        visited.add((pos[0], pos[1]))
        return self.first_move + direction


class ScriptedPolicy(Policy):
    """Shared skeleton of the scripted policies: maze moves by the :class:`DepthFirstWalker`, task choices by
    :meth:`choose_tasks`, so that scripted policies differ only in how they choose tasks."""

    def reset(self, env: ParallelEnv, seed: int) -> None:
        super().reset(env, seed)
        config = env_config(env)
        actions = ActionLayout(config)
        self.n_slots = actions.n_slots
        self.first_move = actions.first_move
        self.steered = actions.n_actions > actions.first_move
        self.walker = DepthFirstWalker(self.first_move, int(config.view_radius), self.rng)

    def act(self, observations: Observations, infos: Infos) -> Actions:
        actions = {agent: 0 for agent in observations}
        task_deciders = []
        for agent in deciding_agents(observations):
            obs = observations[agent]
            mask = obs["action_mask"]
            if mask[1 : self.first_move].any():
                task_deciders.append(agent)
            elif self.steered:
                actions[agent] = self.walker.action(agent, obs["observation"], mask)
        if self.steered:  # the walker's memory only exists in the steered mode
            for agent, obs in observations.items():
                self.walker.observe(agent, obs["observation"])
        if task_deciders:
            actions.update(self.choose_tasks(task_deciders, observations, infos))
        return actions

    @abstractmethod
    def choose_tasks(self, agents: list[str], observations: Observations, infos: Infos) -> Actions:
        """Actions (0..K) for the agents that must choose a task now (each has at least one legal slot)."""

    def slots(self, observation: np.ndarray) -> np.ndarray:
        """(K, len(SLOT_FEATURES)) view of an observation's candidate slots."""
        return slot_features(observation, self.n_slots)


class RewardFirstPolicy(ScriptedPolicy):
    """The paper's CES rule: every deciding agent takes slot 1, the highest-reward ready task of its group (slots
    list the ready tasks by reward descending). Defined for both controls; ``ces-centralized`` and
    ``ces-decentralized`` in ``ces_baselines.scripted`` are this rule bound to one control each."""

    name: ClassVar[str] = "reward-first"
    description: ClassVar[str] = "every deciding agent takes the highest-reward ready task; depth-first maze moves"

    def choose_tasks(self, agents: list[str], observations: Observations, infos: Infos) -> Actions:
        return {agent: 1 for agent in agents}


__all__ = [
    "Policy",
    "ScriptedPolicy",
    "RewardFirstPolicy",
    "DepthFirstWalker",
    "explore_move",
    "deciding_agents",
    "env_config",
]

"""The reference reward-first policy, acting only on what the environment shows every agent.

Every deciding agent takes slot 1: the highest-reward ready task of its group (the paper's CES rule; under centralized
control the controller does this for the agent at the head of its queue). In the steered mode an exploring agent
prefers an open, unvisited neighbouring cell (a depth-first walk read off its local view), and otherwise takes a
random open direction. The scripted baselines of ``ces-bench`` build on the same observations.
"""

from __future__ import annotations

import numpy as np

from ces_env.observations import VIEW_CHANNELS, ActionLayout


def reward_first_actions(env, observations: dict, rng: np.random.Generator | None = None) -> dict[str, int]:
    """One action per live agent: slot 1 when a task can be chosen, a move when exploring, else wait (0)."""
    layout: ActionLayout = env.unwrapped._builder.actions
    config = env.unwrapped.config
    actions: dict[str, int] = {}
    for agent, obs in observations.items():
        mask = obs["action_mask"]
        if mask[1]:
            actions[agent] = 1
        elif layout.n_actions > layout.first_move and mask[layout.first_move:].any():
            actions[agent] = layout.first_move + _explore_move(obs["observation"], mask[layout.first_move:],
                                                               config.view_radius, rng)
        else:
            actions[agent] = 0
    return actions


def _explore_move(observation: np.ndarray, open_moves: np.ndarray, radius: int, rng) -> int:
    side = 2 * radius + 1
    view = observation[-side * side * len(VIEW_CHANNELS):].reshape(side, side, len(VIEW_CHANNELS))
    visited = view[:, :, -1]
    centre = radius
    neighbours = ((centre - 1, centre), (centre, centre + 1), (centre + 1, centre), (centre, centre - 1))
    fresh = [d for d, (r, c) in enumerate(neighbours) if open_moves[d] and 0 <= r < side and 0 <= c < side
             and not visited[r, c]]
    choices = fresh or np.flatnonzero(open_moves).tolist()
    if rng is None or len(choices) == 1:
        return int(choices[0])
    return int(choices[rng.integers(len(choices))])

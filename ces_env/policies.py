"""The reference reward-first policy and the depth-first maze walker, acting only on what the environment shows.

:class:`RewardFirstPolicy`: every deciding agent takes slot 1, the highest-reward ready task of its group (the paper's
CES rule; under centralized control the controller does this for the agent at the head of its queue). In the steered
mode exploring agents walk depth-first with :class:`DepthFirstWalker`. ``python -m ces_env`` and the benchmarks use
it; the scripted baselines of ``ces-bench`` share the walker.
"""

from __future__ import annotations

import numpy as np

from ces_env.observations import AGENT_FEATURES, VIEW_CHANNELS
from ces_env.types import AgentStatus

_STEERING = AGENT_FEATURES.index(f"status_{AgentStatus.STEERING.name.lower()}")
# maze moves N, E, S, W as (row, col) steps; the action for direction d is first_move + d
_STEPS = ((-1, 0), (0, 1), (1, 0), (0, -1))
_OPPOSITE = (2, 3, 0, 1)


def explore_move(observation: np.ndarray, open_moves: np.ndarray, radius: int, rng: np.random.Generator | None) -> int:
    """A direction among ``open_moves`` that leads to a cell the local view shows as not visited (random among
    several), else any open direction."""
    side = 2 * radius + 1
    view = observation[-side * side * len(VIEW_CHANNELS) :].reshape(side, side, len(VIEW_CHANNELS))
    visited = view[:, :, -1]
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


class RewardFirstPolicy:
    """Slot 1 for every agent that must choose a task; depth-first moves for steering agents; else wait."""

    def __init__(self, env, rng: np.random.Generator | None = None):
        config = env.unwrapped.config
        self.first_move = 1 + config.n_candidates  # actions: 0 wait, 1..K slots, then the moves
        self.walker = DepthFirstWalker(self.first_move, config.view_radius, rng)

    def act(self, observations: dict) -> dict[str, int]:
        actions: dict[str, int] = {}
        for agent, obs in observations.items():
            mask = obs["action_mask"]
            if mask[1]:
                actions[agent] = 1
            elif len(mask) > self.first_move and mask[self.first_move :].any():
                actions[agent] = self.walker.action(agent, obs["observation"], mask)
            else:
                actions[agent] = 0
            self.walker.observe(agent, obs["observation"])
        return actions

"""B copies of one CES config stepped together as arrays, with automatic resets: for batched multi-agent learners.

:class:`CESVectorEnv` is what a MAPPO-style learner written against arrays wants: ``step(actions (B, n))`` returns
observations ``(B, n, D)``, masks ``(B, n, A)``, rewards ``(B, n)`` and per-copy flags, with no dict per agent and no
per-agent Python in between (each copy runs through :meth:`ces_env.env.CESParallelEnv.step_arrays`). A copy whose
episode ends is reset at once (the SB3 convention: the returned row is the new episode's first observation; the final
one is in ``final_observations``), on the next seed of a deterministic sequence: copy b starts on ``seed + b`` and
every later episode, whichever copy plays it, takes the next unused seed, in copy order within a step. Copy b plays
exactly the episodes a separate env would play on the seeds listed in ``episode_seeds[b]`` (tested step for step).

The copies run one after the other in this process, each through its own ``step_arrays``: B copies cost B envs,
without the dicts. The batched compiled path (all copies stepped in one numba call) is inside
:class:`ces_env.wrappers.SB3VecEnv` (``batched=True``, :mod:`ces_env.core.compiled.rows`); for more cores, run
several of these in processes (``train/vec_processes.py`` does that for SB3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ces_env.config import CESConfig
from ces_env.env import NO_ACTION, ArrayStep, CESParallelEnv
from ces_env.instance_cache import InstanceCache


@dataclass(frozen=True, eq=False)
class VectorStep:
    """One step of every copy (shapes in comments; B copies, n agents)."""

    observations: np.ndarray  # (B, n, D) float32: after an episode's end, the next episode's first observation
    masks: np.ndarray  # (B, n, A) int8
    rewards: np.ndarray  # (B, n) float64
    elapsed_ticks: np.ndarray  # (B,) int64
    terminated: np.ndarray  # (B,) bool: the copy's episode completed every task at this step
    truncated: np.ndarray  # (B,) bool: the copy's episode was truncated at this step
    final_observations: list[np.ndarray | None]  # per copy: (n, D) the ended episode's last observation, else None
    final_metrics: list[dict[str, Any] | None]  # per copy: the ended episode's metrics, else None


class CESVectorEnv:
    """``n_envs`` copies of ``parallel_env(**config)`` as one batched array environment; see the module docstring."""

    def __init__(
        self,
        n_envs: int,
        preset: str | None = None,
        config: CESConfig | Mapping[str, Any] | None = None,
        seed: int = 0,
        instance_cache: InstanceCache | None = None,
        **fields: Any,
    ) -> None:
        if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
            raise ValueError(f"CESVectorEnv: n_envs must be an int >= 1, got {n_envs!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"CESVectorEnv: seed must be an int >= 0, got {seed!r}")
        # the first copy resolves preset, config and fields as parallel_env does; the others share its config
        first = CESParallelEnv(preset=preset, config=config, instance_cache=instance_cache, **fields)
        self.config = first.config
        self.envs = [first] + [
            CESParallelEnv(config=first.config, instance_cache=instance_cache) for _ in range(n_envs - 1)
        ]
        self.num_envs = n_envs
        self.n_agents = first.config.n_agents
        agent = first.possible_agents[0]
        self.observation_size = int(first.observation_space(agent)["observation"].shape[0])  # type: ignore[index]
        self.n_actions = int(first.action_space(agent).n)
        self.seed = seed
        self._next_seed = seed
        self.episode_seeds: list[list[int]] = [[] for _ in range(n_envs)]
        self._last: list[ArrayStep | None] = [None] * n_envs

    def reset(self) -> tuple[np.ndarray, np.ndarray]:
        """Start every copy on the first seeds (``seed + b``); returns observations (B, n, D) and masks (B, n, A)."""
        self._next_seed = self.seed
        self.episode_seeds = [[] for _ in range(self.num_envs)]
        for b in range(self.num_envs):
            self._start(b)
        return self._stack("observations"), self._stack("masks")

    def step(self, actions: np.ndarray) -> VectorStep:
        """Play ``actions`` (B, n) integers (``ces_env.env.NO_ACTION`` = none) in every copy; reset ended copies."""
        if any(last is None for last in self._last):
            raise RuntimeError("CESVectorEnv: call reset() before step()")
        chosen = np.asarray(actions)
        if chosen.shape != (self.num_envs, self.n_agents) or chosen.dtype.kind not in "iu":
            raise TypeError(
                f"CESVectorEnv.step: actions must be an integer array of shape ({self.num_envs}, {self.n_agents}), "
                f"got {chosen.dtype} {chosen.shape}"
            )
        rewards = np.zeros((self.num_envs, self.n_agents))
        elapsed = np.zeros(self.num_envs, dtype=np.int64)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        final_observations: list[np.ndarray | None] = [None] * self.num_envs
        final_metrics: list[dict[str, Any] | None] = [None] * self.num_envs
        for b, env in enumerate(self.envs):
            result = env.step_arrays(chosen[b])
            self._last[b] = result
            rewards[b] = result.rewards
            elapsed[b] = result.elapsed_ticks
            if result.over:
                terminated[b], truncated[b] = result.terminated, result.truncated
                final_observations[b] = result.observations
                final_metrics[b] = result.metrics
        for b in np.flatnonzero(terminated | truncated).tolist():  # in copy order: the seed sequence is deterministic
            self._start(b)
        return VectorStep(
            observations=self._stack("observations"),
            masks=self._stack("masks"),
            rewards=rewards,
            elapsed_ticks=elapsed,
            terminated=terminated,
            truncated=truncated,
            final_observations=final_observations,
            final_metrics=final_metrics,
        )

    def no_actions(self) -> np.ndarray:
        """(B, n) actions filled with ``NO_ACTION``: a starting point for a learner that acts for some agents only."""
        return np.full((self.num_envs, self.n_agents), NO_ACTION, dtype=np.int64)

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def _start(self, b: int) -> None:
        seed = self._next_seed
        self._next_seed += 1
        self.episode_seeds[b].append(seed)
        self._last[b] = self.envs[b].reset_arrays(seed=seed)

    def _stack(self, name: str) -> np.ndarray:
        return np.stack([getattr(last, name) for last in self._last])

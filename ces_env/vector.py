"""B copies of one CES config stepped together as arrays, with automatic resets: for batched multi-agent learners.

:class:`CESVectorEnv` is what a MAPPO-style learner written against arrays wants: ``step(actions (B, n))`` returns
observations ``(B, n, D)``, masks ``(B, n, A)``, rewards ``(B, n)`` and per-copy flags, with no dict per agent and no
per-agent Python in between (each copy runs through :meth:`ces_env.env.CESParallelEnv.step_arrays`). A copy whose
episode ends is reset at once (the SB3 convention: the returned row is the new episode's first observation; the final
one is in ``final_observations``), on the next seed of a deterministic sequence: copy b starts on ``seed + b`` and
every later episode, whichever copy plays it, takes the next unused seed, in copy order within a step. Copy b plays
exactly the episodes a separate env would play on the seeds listed in ``episode_seeds[b]`` (tested step for step).

On the compiled engine (config field ``engine``) every copy steps in the same compiled call (``batched=True``, the
default; :mod:`ces_env.batched`): the same episodes as ``step_arrays`` (the test above plays them against separate
envs), at a fraction of the cost of B envs. ``batched=False``, or a scenario the compiled engine does not cover, steps
the copies one after the other through their own ``step_arrays``. The copies' envs (``vec.envs``) are then only up to
date after :meth:`CESVectorEnv.sync`. For more cores, run several of these in processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ces_env.batched import CompiledRows, first_masked_out
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
        *,
        batched: bool = True,
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
        self._compiled = CompiledRows(self.envs) if batched and first.compiled else None
        self._started = False

    def reset(self) -> tuple[np.ndarray, np.ndarray]:
        """Start every copy on the first seeds (``seed + b``); returns observations (B, n, D) and masks (B, n, A)."""
        self._next_seed = self.seed
        self.episode_seeds = [[] for _ in range(self.num_envs)]
        for b in range(self.num_envs):
            self._start(b)
        self._started = True
        return self._stack("observations"), self._stack("masks")

    def step(self, actions: np.ndarray) -> VectorStep:
        """Play ``actions`` (B, n) integers (``ces_env.env.NO_ACTION`` = none) in every copy; reset ended copies."""
        if not self._started:
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
        if self._compiled is not None:
            compiled = self._compiled
            self._step_compiled(
                compiled, np.ascontiguousarray(chosen, np.int64), rewards, elapsed, terminated, truncated
            )
            for b in np.flatnonzero(terminated | truncated).tolist():
                final_observations[b] = compiled.observations_of(b).copy()
                final_metrics[b] = compiled.sync(b).sim.metrics()
        else:
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

    def sync(self) -> list[CESParallelEnv]:
        """The copies' envs, brought up to date (the compiled path steps them without their Python side)."""
        if self._compiled is not None:
            self._compiled.sync_all()
        return self.envs

    def _step_compiled(
        self,
        compiled: CompiledRows,
        chosen: np.ndarray,
        rewards: np.ndarray,
        elapsed: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> None:
        """Every copy's step_arrays in one compiled call; a masked-out action under ``strict_actions`` is refused
        before any copy moves (the separate envs refuse it at its copy)."""
        if self.config.strict_actions:
            masks = self._stack("masks")
            refused = first_masked_out(chosen, masks)
            if refused is not None:
                b, i = refused
                env = compiled.sync(b)
                raise ValueError(
                    f"copy {b}, {env.possible_agents[i]}: action {int(chosen[b, i])} is masked out at tick "
                    f"{env.sim.time} (legal actions: {np.flatnonzero(masks[b, i]).tolist()})"
                )
        over = np.zeros(self.num_envs, dtype=bool)
        compiled.step(chosen, rewards, elapsed, over, terminated)
        truncated[:] = over & ~terminated

    def _start(self, b: int) -> None:
        seed = self._next_seed
        self._next_seed += 1
        self.episode_seeds[b].append(seed)
        if self._compiled is not None:
            self._compiled.begin(b, seed, settle=False)
        else:
            self._last[b] = self.envs[b].reset_arrays(seed=seed)

    def _stack(self, name: str) -> np.ndarray:
        if self._compiled is not None:
            compiled = self._compiled
            read = compiled.observations_of if name == "observations" else compiled.masks_of
            return np.stack([read(b) for b in range(self.num_envs)])
        return np.stack([getattr(last, name) for last in self._last])

"""One episode of a policy on a config and seed: the one episode loop of ces_env.

``python -m ces_env``, the ``ces-bench`` harness, the benchmarks and the tests all play episodes through
:func:`run_episode`, so that a seed means the same episode everywhere. The hooks (``on_step``, ``max_steps``,
``reset_options``) and the timings of :class:`EpisodeResult` are what those callers need beyond the final metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from pettingzoo import ParallelEnv

from ces_env.config import CESConfig
from ces_env.env import parallel_env
from ces_env.instance_cache import InstanceCache
from ces_env.policies import Actions, Infos, Observations, Policy


class Step(NamedTuple):
    """One env step as ``on_step`` sees it: the actions taken and everything ``env.step`` returned."""

    actions: Actions
    observations: Observations
    rewards: dict[str, float]
    terminations: dict[str, bool]
    truncations: dict[str, bool]
    infos: Infos


@dataclass(frozen=True)
class EpisodeResult:
    """What one episode produced.

    ``metrics``/``stats`` are those of the last step's infos (``env.metrics()`` and the final counts); they are
    ``None`` only when ``max_steps`` stopped the episode before it ended (``ended`` is then False).
    ``wall_seconds`` covers everything (env construction, reset, steps); ``reset_seconds`` the env construction,
    ``env.reset`` and ``policy.reset``; ``step_cpu_seconds`` is the CPU time (``time.process_time``, comparable when
    other processes share the core) of the step loop only, policy included, ``on_step`` excluded (the benchmarks'
    agent-steps per CPU-second).
    ``agent_steps`` counts one per live agent per env step (each gets an observation and gives an action).
    """

    metrics: dict[str, Any] | None
    stats: dict[str, Any] | None
    env_steps: int
    agent_steps: int
    truncated: bool
    ended: bool
    wall_seconds: float
    reset_seconds: float
    step_cpu_seconds: float
    infos: Infos  # the last infos the env returned (those of reset if no step was taken)

    def metric(self, name: str) -> Any:
        """The final value of metric ``name``; a RuntimeError if ``max_steps`` stopped the episode first."""
        if self.metrics is None:
            raise RuntimeError(f"no final {name}: max_steps stopped the episode after {self.env_steps} steps")
        return self.metrics[name]


def run_episode(
    policy: Policy,
    config: CESConfig | ParallelEnv,
    seed: int,
    *,
    on_step: Callable[[ParallelEnv, Step], None] | None = None,
    max_steps: int | None = None,
    instance_cache: InstanceCache | None = None,
    reset_options: dict[str, Any] | None = None,
) -> EpisodeResult:
    """Play one episode of ``policy``: ``env.reset(seed=seed, options=reset_options)``, ``policy.reset(env, seed)``,
    then steps until no agent is live (or ``max_steps`` steps).

    ``config`` is a :class:`CESConfig` (a fresh env is made from it) or an env to reuse (e.g. a test that inspects
    the simulator afterwards). ``on_step(env, step)`` is called after every step; its time is not counted in
    ``step_cpu_seconds``. ``instance_cache`` is given to the fresh env (a sweep's cheap resets; same episode).
    ``reset_options`` are the env's reset options, e.g. ``{"instance": instance}`` to play a hand-made instance.
    """
    start = time.perf_counter()
    env = parallel_env(config=config, instance_cache=instance_cache) if isinstance(config, CESConfig) else config
    observations, infos = env.reset(seed=seed, options=reset_options)
    policy.reset(env, seed)
    reset_done = time.perf_counter()
    env_steps = agent_steps = 0
    truncated = False
    hook_cpu_seconds = 0.0
    cpu_start = time.process_time()
    while env.agents and (max_steps is None or env_steps < max_steps):
        agent_steps += len(env.agents)
        actions = policy.act(observations, infos)
        observations, rewards, terminations, truncations, infos = env.step(actions)
        env_steps += 1
        truncated = any(truncations.values())
        if on_step is not None:
            hook_start = time.process_time()
            on_step(env, Step(actions, observations, rewards, terminations, truncations, infos))
            hook_cpu_seconds += time.process_time() - hook_start
    step_cpu_seconds = time.process_time() - cpu_start - hook_cpu_seconds
    end = time.perf_counter()
    ended = not env.agents
    # at the end every agent's info holds the episode's metrics and stats
    final: dict[str, Any] = next(iter(infos.values()), {})
    return EpisodeResult(
        metrics=final.get("metrics") if ended else None,
        stats=final.get("stats") if ended else None,
        env_steps=env_steps,
        agent_steps=agent_steps,
        truncated=truncated,
        ended=ended,
        wall_seconds=end - start,
        reset_seconds=reset_done - start,
        step_cpu_seconds=step_cpu_seconds,
        infos=infos,
    )


__all__ = ["run_episode", "EpisodeResult", "Step"]

"""Run one episode of a policy on a config and seed: the unit of work of every benchmark."""

from __future__ import annotations

import time

from ces_baselines.policy import Policy
from ces_env import parallel_env
from ces_env.config import CESConfig


def run_episode(policy: Policy, config: CESConfig, seed: int) -> dict:
    """Play one whole episode; returns ``{"metrics", "stats", "env_steps", "wall_seconds", "truncated"}``."""
    start = time.perf_counter()
    env = parallel_env(config=config)
    observations, infos = env.reset(seed=seed)
    policy.reset(env, seed)
    steps = 0
    truncated = False
    while env.agents:
        actions = policy.act(observations, infos)
        observations, _, _, truncations, infos = env.step(actions)
        truncated = any(truncations.values())
        steps += 1
    final = next(iter(infos.values()))  # the last step's info of any agent holds the episode's metrics and stats
    return {
        "metrics": final["metrics"],
        "stats": final["stats"],
        "env_steps": steps,
        "wall_seconds": time.perf_counter() - start,
        "truncated": truncated,
    }

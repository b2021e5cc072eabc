"""Shared helpers of the test suite: rollouts with seeded random masked actions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"


def random_masked_actions(env, observations: dict, rng: np.random.Generator) -> dict[str, int]:
    """A uniformly random legal action per live agent, from a seeded generator."""
    actions = {}
    for agent in env.agents:
        legal = np.flatnonzero(observations[agent]["action_mask"])
        actions[agent] = int(legal[rng.integers(len(legal))])
    return actions


def rollout(env, seed: int, policy=None, on_step=None, max_steps: int = 100_000):
    """Run one episode; returns (final infos, list of per-step records). ``policy(env, obs, rng) -> actions``."""
    policy = policy or random_masked_actions
    rng = np.random.default_rng(seed + 10_000)
    observations, infos = env.reset(seed=seed)
    records = []
    for _ in range(max_steps):
        if not env.agents:
            break
        actions = policy(env, observations, rng)
        observations, rewards, terminations, truncations, infos = env.step(actions)
        records.append((actions, observations, rewards, terminations, truncations, infos))
        if on_step is not None:
            on_step(env)
    return infos, records


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"the shared data folder {DATA_DIR} is not beside the repository")
    return DATA_DIR

"""Helpers of the test suite: rollouts through ces_env's episode runner, seeded random masked actions, the data dir.

Tests import these from here (``from tests.helpers import rollout``); ``conftest.py`` holds only fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from pettingzoo import ParallelEnv

from ces_env.policies import Actions, Infos, Observations, Policy
from ces_env.runner import Step, run_episode

# the real graph files of the paper, kept beside the repository (tests that need them skip without them)
DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"

# a one-off test rule: (env, observations, the policy's seeded generator) -> one action per live agent
PolicyFunction = Callable[[ParallelEnv, Observations, np.random.Generator], Actions]


def random_masked_actions(env: ParallelEnv, observations: Observations, rng: np.random.Generator) -> Actions:
    """A uniformly random legal action per live agent, from a seeded generator."""
    actions = {}
    for agent in env.agents:
        legal = np.flatnonzero(observations[agent]["action_mask"])
        actions[agent] = int(legal[rng.integers(len(legal))])
    return actions


class FunctionPolicy(Policy):
    """A :class:`Policy` around a :data:`PolicyFunction`, so that a test can write its rule as a lambda."""

    name = "test-function"
    description = "test only: a policy function"

    def __init__(self, function: PolicyFunction):
        self.function = function

    def act(self, observations: Observations, infos: Infos) -> Actions:
        return self.function(self.env, observations, self.rng)


def rollout(
    env: ParallelEnv,
    seed: int,
    policy: Policy | PolicyFunction | None = None,
    on_step: Callable[[ParallelEnv], None] | None = None,
    max_steps: int = 100_000,
) -> tuple[Infos, list[Step]]:
    """Run one episode on ``env`` with :func:`ces_env.runner.run_episode`; returns (the last infos, every step).

    ``policy`` is a :class:`Policy` or a :data:`PolicyFunction` (default: uniformly random masked actions).
    ``on_step(env)`` is called after every step. Each record is a :class:`ces_env.runner.Step` (a tuple: actions,
    observations, rewards, terminations, truncations, infos).
    """
    if policy is None:
        policy = random_masked_actions
    if not isinstance(policy, Policy):
        policy = FunctionPolicy(policy)
    records: list[Step] = []

    def record(env: ParallelEnv, step: Step) -> None:
        records.append(step)
        if on_step is not None:
            on_step(env)

    result = run_episode(policy, env, seed, on_step=record, max_steps=max_steps)
    return result.infos, records

"""The one policy interface of ces-bench: observations and infos of the ParallelEnv in, one action per agent out.

Scripted policies, auction and consensus mechanisms and learned policies all implement :class:`Policy`, so the
harness runs them the same way on the same seeds. A policy sees only what the environment shows: the per-agent
observations (with their action masks) and infos, the public spaces and config, and, for policies that are
centralized by definition, ``env.state()``. Nothing reaches into the simulator.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np


class Policy(ABC):
    """A policy for the CES ParallelEnv.

    Class attributes:
        name: the registry name used by ``ces-bench --policy``.
        description: one line for ``ces-bench list``.
        required_config: config fields the policy is defined for (e.g. ``{"control": "centralized"}``); the harness
            applies them on top of the preset and records them in the results.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    required_config: ClassVar[dict[str, Any]] = {}

    def reset(self, env, seed: int) -> None:
        """Called after ``env.reset(seed=seed)``, before the first ``act``. Seeds the policy's own generator."""
        self.env = env
        self.rng = np.random.default_rng(seed)

    @abstractmethod
    def act(self, observations: dict[str, dict], infos: dict[str, dict]) -> dict[str, int]:
        """One action per live agent."""


def deciding_agents(observations: dict[str, dict]) -> list[str]:
    """Agents whose mask allows more than waiting, in agent order."""
    return [agent for agent, obs in observations.items() if obs["action_mask"][1:].any()]

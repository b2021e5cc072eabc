"""Scripted baselines, classic allocation mechanisms and the ces-bench harness (import name ``ces_baselines``).

The policy interface and the episode runner are ``ces_env``'s (``ces_env.policies.Policy``,
``ces_env.runner.run_episode``); they are re-exported here for convenience.
"""

from ces_baselines.registry import POLICIES, make_policy
from ces_env.policies import Policy, deciding_agents
from ces_env.runner import run_episode

__all__ = ["Policy", "deciding_agents", "run_episode", "POLICIES", "make_policy"]

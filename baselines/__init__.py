"""Scripted baselines, classic allocation mechanisms and the ces-bench harness (import name ``ces_baselines``)."""

from ces_baselines.policy import Policy, deciding_agents
from ces_baselines.registry import POLICIES, make_policy

__all__ = ["Policy", "deciding_agents", "POLICIES", "make_policy"]

"""Baseline policies of the negotiation mechanisms (``ces_env.core.protocols.negotiation``): one per mechanism.

A mechanism allocates tasks itself, so its baseline policy has no task rule: it walks mazes depth-first in the
steered mode and waits otherwise (:class:`MechanismPolicy`). Importing this package registers, under the mechanism's
own name and with ``required_config={"control": name}``, one policy for every registered mechanism, so that
``ces-bench run --policy contract-net`` runs Contract Net and ``ces-bench list`` shows it.
"""

from ces_baselines.mechanisms.policies import MechanismPolicy, mechanism_policy, register_mechanism_policies

register_mechanism_policies()

__all__ = ["MechanismPolicy", "mechanism_policy", "register_mechanism_policies"]

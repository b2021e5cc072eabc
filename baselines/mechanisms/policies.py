"""One baseline policy per negotiation mechanism: maze moves only, the mechanism allocates the tasks."""

from __future__ import annotations

import sys
from typing import ClassVar

from ces_baselines.registry import POLICIES, register
from ces_env.core.protocols import CONTROL_PROTOCOLS, ControlProtocol, NegotiationProtocol
from ces_env.policies import Actions, Infos, Observations, ScriptedPolicy


class MechanismPolicy(ScriptedPolicy):
    """The policy of a mechanism that allocates tasks itself (a :class:`NegotiationProtocol`).

    Under such a control no agent is ever asked to choose a task (the action masks allow only waiting, except for
    maze moves in the steered mode), so the policy only walks mazes with the shared
    :class:`~ces_env.policies.DepthFirstWalker`, like every scripted policy, and waits otherwise. It is the same for
    every mechanism: runs of two mechanisms differ only by the mechanism.
    """

    name: ClassVar[str] = "mechanism"
    description: ClassVar[str] = "maze moves only; the mechanism allocates tasks"

    def choose_tasks(self, agents: list[str], observations: Observations, infos: Infos) -> Actions:
        """Never called under a negotiation mechanism (no agent decides a task); wait if it ever is."""
        return {agent: 0 for agent in agents}


def mechanism_policy(protocol: type[ControlProtocol]) -> type[MechanismPolicy]:
    """The baseline policy class of ``protocol``: named like it, requiring ``control=protocol.name``."""
    class_name = "".join(part.capitalize() for part in protocol.name.replace("_", "-").split("-")) + "Policy"
    cls = type(
        class_name,
        (MechanismPolicy,),
        {
            "__doc__": f"The baseline of ``control={protocol.name!r}``: {protocol.description}. "
            "Maze moves only (:class:`MechanismPolicy`).",
            "__module__": __name__,
            "name": protocol.name,
            "description": f"{protocol.description} (mechanism)",
            "required_config": {"control": protocol.name},
        },
    )
    setattr(sys.modules[__name__], class_name, cls)  # a module attribute, so that worker processes can unpickle it
    return cls


def register_mechanism_policies() -> list[str]:
    """Register a :func:`mechanism_policy` for every registered negotiation mechanism not registered yet; returns
    the names registered."""
    added = []
    for name, protocol in sorted(CONTROL_PROTOCOLS.items()):
        if issubclass(protocol, NegotiationProtocol) and name not in POLICIES:
            register(mechanism_policy(protocol))
            added.append(name)
    return added


__all__ = ["MechanismPolicy", "mechanism_policy", "register_mechanism_policies"]

"""Group control protocols: one class per way a group hands out and validates work (see :mod:`.base` for the guide).

Importing this package registers the built-in protocols; ``control_protocol(name)`` returns a class by the name the
config field ``control`` takes.
"""

from ces_env.core.protocols.base import (
    CONTROL_PROTOCOLS,
    ControlProtocol,
    Handler,
    NoOptions,
    control_protocol,
    register_control,
)
from ces_env.core.protocols.ces import CentralizedControl, DecentralizedControl

__all__ = [
    "CONTROL_PROTOCOLS",
    "CentralizedControl",
    "ControlProtocol",
    "DecentralizedControl",
    "Handler",
    "NoOptions",
    "control_protocol",
    "register_control",
]

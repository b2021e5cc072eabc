"""Group control protocols: one class per way a group hands out and validates work (see :mod:`.base` for the guide).

Importing this package registers the built-in protocols; ``control_protocol(name)`` returns a class by the name the
config field ``control`` takes.
"""

from ces_env.core.protocols.auctions import (
    DoubleAuction,
    DutchAuction,
    EnglishAuction,
    FirstPriceAuction,
    VickreyAuction,
)
from ces_env.core.protocols.base import (
    CONTROL_PROTOCOLS,
    ControlProtocol,
    Handler,
    NoOptions,
    control_protocol,
    register_control,
)
from ces_env.core.protocols.cbba import CBBAControl
from ces_env.core.protocols.ces import CentralizedControl, DecentralizedControl
from ces_env.core.protocols.contract_net import ContractNet
from ces_env.core.protocols.dpop import DPOPControl
from ces_env.core.protocols.max_sum import MaxSumControl
from ces_env.core.protocols.negotiation import NegotiationOptions, NegotiationProtocol
from ces_env.core.protocols.swarm import ACOControl, ResponseThresholdControl
from ces_env.core.protocols.vcg import VCGAllocation

__all__ = [
    "ACOControl",
    "CBBAControl",
    "CONTROL_PROTOCOLS",
    "CentralizedControl",
    "ControlProtocol",
    "ContractNet",
    "DPOPControl",
    "DecentralizedControl",
    "DoubleAuction",
    "DutchAuction",
    "EnglishAuction",
    "FirstPriceAuction",
    "Handler",
    "MaxSumControl",
    "NegotiationOptions",
    "NegotiationProtocol",
    "NoOptions",
    "ResponseThresholdControl",
    "VCGAllocation",
    "VickreyAuction",
    "control_protocol",
    "register_control",
]

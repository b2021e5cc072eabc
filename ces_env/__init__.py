"""ces-env: cooperative task execution by groups of agents, as a fast simulator and a PettingZoo environment.

``ces_env.parallel_env(**config)`` returns the PettingZoo ``ParallelEnv``; ``ces_env.env(**config)`` its AEC form.
See ``ces_env.env`` (the environment's documentation page) and the README.
"""

from pettingzoo import aec_registry, parallel_registry, register

from ces_env.config import PRESETS, CESConfig, ConfigError, make_config
from ces_env.core.metrics import METRIC_KEYS
from ces_env.core.simulator import CESSimulator
from ces_env.env import CESParallelEnv, env, parallel_env
from ces_env.generator import assemble_instance, generate_instance
from ces_env.instance_cache import InstanceCache

__version__ = "0.2.0"
ENV_ID = "ces/ces-v1"


def _register() -> None:
    """Register with PettingZoo's registry, so that ``pettingzoo.make("parallel", "ces/ces-v1")`` works."""
    if ENV_ID not in parallel_registry:
        register("parallel", ENV_ID, entry_point="ces_env.env:parallel_env")
    if ENV_ID not in aec_registry:
        register("aec", ENV_ID, entry_point="ces_env.env:env")


_register()

__all__ = [
    "parallel_env",
    "env",
    "CESParallelEnv",
    "CESConfig",
    "ConfigError",
    "make_config",
    "PRESETS",
    "CESSimulator",
    "METRIC_KEYS",
    "generate_instance",
    "assemble_instance",
    "InstanceCache",
    "ENV_ID",
    "__version__",
]

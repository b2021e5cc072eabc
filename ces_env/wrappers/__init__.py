"""Trainer adapters for CES: a stable-baselines3 ``VecEnv`` and an RLlib ``MultiAgentEnv``.

Both feed the learner only real decisions (agents with two or more legal actions) and credit the rewards of the
env steps in between to those decisions, so that with ``reward_mode="time"`` the return is still
``-ET / reward_time_scale``. The training libraries are imported only when an adapter is used:

* ``ces_env.wrappers.SB3VecEnv(n_envs=..., seed=..., **config)`` (stable-baselines3, sb3-contrib's MaskablePPO);
* ``ces_env.wrappers.rllib_env(**config)`` (Ray RLlib, its action-masking RLModule).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ces_env.wrappers._driver import DecisionDriver

if TYPE_CHECKING:
    from ces_env.wrappers.sb3 import EpisodeSummary, SB3VecEnv

__all__ = ["SB3VecEnv", "EpisodeSummary", "rllib_env", "DecisionDriver"]


def rllib_env(**config: Any):
    """An RLlib ``MultiAgentEnv`` over ``ces_env.parallel_env(**config)`` (see :mod:`ces_env.wrappers.rllib`)."""
    from ces_env.wrappers.rllib import CESMultiAgentEnv

    return CESMultiAgentEnv(config)


def __getattr__(name: str) -> Any:
    # stable-baselines3 pulls in torch: import it only when the SB3 adapter is asked for
    if name in ("SB3VecEnv", "EpisodeSummary"):
        from ces_env.wrappers import sb3

        return getattr(sb3, name)
    raise AttributeError(f"module 'ces_env.wrappers' has no attribute {name!r}")

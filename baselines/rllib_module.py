"""The RLlib side of the shared RLlib policy: an RLModule that wraps :class:`ces_baselines.rllib_policy.
MaskedActorCritic`, so that what RLlib trains is a plain torch network that evaluation loads without Ray.

It lives in the installed package (not in ``train/``) because RLlib's env runners, possibly on other machines of a
Ray cluster, import the module class by name. Importing this file imports Ray; the harness never does.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule

from ces_baselines.rllib_policy import MASK_KEY, OBS_KEY, MaskedActorCritic, masked_logits

NETWORK_KEYS = ("network", "slot_hidden", "hidden", "activation")
"""The ``model_config`` entries this module reads (MaskedActorCritic's arguments besides the spaces); RLlib may add
its own defaults to ``model_config``, which are ignored."""


class MaskedActorCriticRLModule(TorchRLModule, ValueFunctionAPI):
    """PPO's RLModule over ``rllib_env``'s observations ``{"observations", "action_mask"}``: the logits of
    ``self.net`` with the masked actions at the lowest float (never sampled), and its value. The same module acts in
    the env runners (they receive every weight: the critic is small, and there is no inference-only variant)."""

    def setup(self) -> None:
        if not isinstance(self.observation_space, spaces.Dict) or not isinstance(self.action_space, spaces.Discrete):
            raise ValueError(
                f"{type(self).__name__} needs rllib_env's spaces (a Dict observation with {OBS_KEY!r} and "
                f"{MASK_KEY!r}, a Discrete action), got {self.observation_space} and {self.action_space}"
            )
        given: dict[str, Any] = self.model_config if isinstance(self.model_config, dict) else {}
        config = {k: given[k] for k in NETWORK_KEYS if k in given}
        size = self.observation_space[OBS_KEY].shape
        assert size is not None
        self.net = MaskedActorCritic(int(size[0]), int(self.action_space.n), **config)

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        observations = batch[Columns.OBS]
        logits = self.net.logits(observations[OBS_KEY])
        return {Columns.ACTION_DIST_INPUTS: masked_logits(logits, observations[MASK_KEY])}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        return self.net.value(batch[Columns.OBS][OBS_KEY])


def network_weights(module_weights: dict[str, Any]) -> dict[str, Any]:
    """The wrapped network's ``state_dict`` out of this module's weights (as ``learner_group.get_weights`` gives
    them: the network's keys under ``net.``)."""
    prefix = "net."
    weights = {k[len(prefix) :]: v for k, v in module_weights.items() if k.startswith(prefix)}
    if not weights or len(weights) != len(module_weights):
        raise ValueError(f"not the weights of a {MaskedActorCriticRLModule.__name__}: keys {sorted(module_weights)}")
    return weights


__all__ = ["MaskedActorCriticRLModule", "network_weights", "NETWORK_KEYS"]

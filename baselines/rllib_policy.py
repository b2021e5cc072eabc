"""``rllib:PATH``: a shared RLlib RLModule trained by ``train/rllib_ppo.py``, played greedily through the harness.

An RLlib algorithm checkpoint is a folder of pickles that needs the algorithm's whole config (and the env registered
under its name) to come back. What evaluation needs is far less: the one shared RLModule's weights. So
``train/rllib_ppo.py`` also exports that module as one small torch file (:func:`export_module`: the module's class,
its ``model_config`` and the learner's ``state_dict``), with the usual JSON sidecar beside it;
:class:`RLlibModulePolicy` builds the module again on the spaces of the sidecar's env config (the spaces of
``ces_env.wrappers.rllib_env``) and plays it greedily: the argmax of the logits after masking. No Ray instance is
started: only ``ray.rllib`` is imported.

The env adapter and the harness agree on who decides: an agent with two or more legal actions asks the module, an
agent with a single legal task takes it, the others wait (:class:`ces_baselines.learned.CheckpointPolicy`), so the
harness plays the episodes that the adapter's greedy play (:func:`greedy_episode`) plays.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pettingzoo import ParallelEnv

from ces_baselines.learned import CheckpointPolicy, _single_torch_thread_in_workers
from ces_env.policies import Infos, Observations

MODULE_FORMAT = "ces-rllib-module/1"
MODULE_ID = "shared"
"""The one policy every agent maps to (``policy_mapping_fn`` in ``train/rllib_ppo.py``)."""
OBS_KEY = "observations"
MASK_KEY = "action_mask"


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _import_class(path: str) -> type:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def export_module(
    path: str | Path,
    module_class: type,
    model_config: Mapping[str, Any],
    state_dict: Mapping[str, Any],
    inference_only: bool = False,
) -> Path:
    """Write a torch RLModule as one file: its class, ``model_config``, whether it is the inference-only variant
    (no value network) and its ``state_dict`` (tensors or numpy arrays, as RLlib's ``get_weights`` gives them)."""
    import torch

    payload = {
        "format": MODULE_FORMAT,
        "module_class": _class_path(module_class),
        "model_config": dict(model_config),
        "inference_only": bool(inference_only),
        "state_dict": {k: torch.as_tensor(np.asarray(v)).clone() for k, v in state_dict.items()},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def env_spaces(env_config: Mapping[str, Any]) -> tuple[Any, Any]:
    """The observation (``{"observations", "action_mask"}``) and action space of one agent of
    ``rllib_env`` built on ``env_config`` (a ``CESConfig.to_dict()``)."""
    from ces_env.config import make_config
    from ces_env.wrappers.rllib import CESMultiAgentEnv

    env = CESMultiAgentEnv({"config": make_config(None, **dict(env_config))})
    agent = env.possible_agents[0]
    spaces = env.observation_spaces[agent], env.action_spaces[agent]
    env.close()
    return spaces


def load_module(path: str | Path, env_config: Mapping[str, Any]) -> Any:
    """The RLModule exported by :func:`export_module` at ``path``, built on the spaces of ``env_config``."""
    import torch
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != MODULE_FORMAT:
        raise ValueError(f"{path}: not an RLlib module export (expected format {MODULE_FORMAT!r})")
    observation_space, action_space = env_spaces(env_config)
    spec = RLModuleSpec(
        module_class=_import_class(payload["module_class"]),
        observation_space=observation_space,
        action_space=action_space,
        inference_only=payload["inference_only"],
        model_config=payload["model_config"],
    )
    module = spec.build()
    module.load_state_dict(payload["state_dict"])  # strict: a layout mismatch is an error, not random weights
    module.eval()
    return module


def greedy_module_actions(module: Any, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Argmax over the masked logits of an action-masking RLModule for a batch (rows with a legal action)."""
    import torch
    from ray.rllib.core.columns import Columns

    masks = np.asarray(masks)
    batch = {
        Columns.OBS: {
            OBS_KEY: torch.as_tensor(np.asarray(observations, dtype=np.float32)),
            MASK_KEY: torch.as_tensor(masks.astype(np.float32)),
        }
    }
    with torch.no_grad():
        logits = module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS].cpu().numpy()
    logits = np.where(masks.astype(bool), logits, -np.inf)  # never a masked action, whatever the module does
    return logits.argmax(axis=1)


def greedy_episode(module: Any, env_config: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """Play one episode of ``rllib_env`` on ``seed`` with the module's greedy actions; the final info of an agent
    (``metrics``, ``stats``, ``truncation_reason``). Validation during training uses this."""
    from ces_env.wrappers.rllib import CESMultiAgentEnv

    env = CESMultiAgentEnv(env_config)
    observations, _ = env.reset(seed=seed)
    while True:
        agents = list(observations)
        actions = greedy_module_actions(
            module,
            np.stack([observations[a][OBS_KEY] for a in agents]),
            np.stack([observations[a][MASK_KEY] for a in agents]),
        )
        observations, _, terminateds, truncateds, infos = env.step(dict(zip(agents, actions.tolist())))
        if terminateds["__all__"] or truncateds["__all__"]:
            env.close()
            return next(iter(infos.values()))


class RLlibModulePolicy(CheckpointPolicy):
    """``rllib:PATH``: the shared RLModule of ``train/rllib_ppo.py`` (PATH is its module export, with a sidecar),
    greedy over masked logits."""

    name: ClassVar[str] = "rllib"
    description: ClassVar[str] = "learned: RLlib multi-agent PPO, one shared module (train/rllib_ppo.py), greedy"

    @classmethod
    def load(cls, checkpoint: str, metadata: dict[str, Any]) -> Any:
        _single_torch_thread_in_workers()
        try:
            import ray.rllib  # noqa: F401
        except ImportError:
            raise ImportError('rllib:PATH needs Ray RLlib: pip install -c constraints.txt -e ".[ray]"') from None
        return load_module(checkpoint, metadata["env_config"])

    def reset(self, env: ParallelEnv, seed: int) -> None:
        super().reset(env, seed)
        observation_space = self.model.observation_space[OBS_KEY]
        if observation_space.shape != (self.observation_size,) or int(self.model.action_space.n) != self.n_actions:
            raise ValueError(
                f"learned policy {self.name!r}: the module takes observations {observation_space.shape} and "
                f"{self.model.action_space.n} actions, the env gives ({self.observation_size},) and {self.n_actions}"
            )

    def choose(self, agents: list[str], observations: Observations, infos: Infos) -> np.ndarray:
        batch = np.stack([observations[a]["observation"] for a in agents])
        masks = np.stack([observations[a]["action_mask"] for a in agents])
        return greedy_module_actions(self.model, batch, masks)


__all__ = [
    "RLlibModulePolicy",
    "export_module",
    "load_module",
    "greedy_module_actions",
    "greedy_episode",
    "env_spaces",
    "MODULE_FORMAT",
    "MODULE_ID",
]

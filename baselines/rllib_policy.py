"""``rllib:PATH``: the shared policy trained by ``train/rllib_ppo.py``, played greedily through the harness.

An RLlib algorithm checkpoint is a folder of pickles that needs the algorithm's whole config (and the env registered
under its name) to come back. What evaluation needs is far less: the weights of the one shared module's network. The
module that ``train/rllib_ppo.py`` trains (``ces_baselines.rllib_module.MaskedActorCriticRLModule``) is a thin RLlib
wrapper around a plain torch network defined here, :class:`MaskedActorCritic`; :func:`export_network` writes that
network's constructor arguments and ``state_dict`` as one small torch file (with the usual JSON sidecar beside it),
and :func:`load_network` builds it again with torch alone. Evaluation therefore neither starts nor imports Ray: a
greedy action is one forward pass, the argmax of the logits after masking.

The env adapter and the harness agree on who decides: an agent with two or more legal actions asks the network, an
agent with a single legal task takes it, the others wait (:class:`ces_baselines.learned.CheckpointPolicy`), so the
harness plays the episodes that the adapter's greedy play (:func:`greedy_episode`) plays. Greedy play cannot stall:
the env's wait lasts until something changes, and a quiescent all-wait round is asked again with waiting masked out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from pettingzoo import ParallelEnv
from torch import nn

from ces_baselines.learned import CheckpointPolicy, _single_torch_thread_in_workers
from ces_baselines.learned_nets import SlotScoringExtractor, mlp
from ces_env.observations import AGENT_FEATURES, SLOT_FEATURES
from ces_env.policies import Infos, Observations

MODULE_FORMAT = "ces-rllib-network/1"
MODULE_ID = "shared"
"""The one policy every agent maps to (``policy_mapping_fn`` in ``train/rllib_ppo.py``)."""
OBS_KEY = "observations"
MASK_KEY = "action_mask"
NETWORKS = ("slots", "mlp")
"""``slots``: ``train/ppo_shared.py``'s actor, one scorer shared across the K ready-task slots; ``mlp``: a plain MLP
over the observation (RLlib's default network, what the first, untuned RLlib run used)."""
ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}


class MaskedActorCritic(nn.Module):
    """The shared policy's network in plain torch: action logits (wait, then the K slots) and a state value.

    ``network="slots"`` is the slot scorer of ``train/ppo_shared.py`` (:class:`ces_baselines.learned_nets.
    SlotScoringExtractor`: every slot scored by one network from the slot's features, its position, the agent's
    features and a summary of the valid slots, so that "a known task is good" is learned once, not once per slot
    position); ``"mlp"`` an MLP of ``hidden`` layers. The critic is an MLP of ``hidden`` layers over the observation
    in both cases. Initialisation as stable-baselines3's: orthogonal, gain sqrt(2) inside, 0.01 on the logits (a
    near-uniform first policy) and 1 on the value.

    The logits are not masked here: :func:`masked_logits` does it, for training and greedy play alike.
    """

    def __init__(
        self,
        observation_size: int,
        n_actions: int,
        network: str = "slots",
        slot_hidden: int = 64,
        hidden: Sequence[int] = (128, 128),
        activation: str = "tanh",
    ):
        super().__init__()
        if network not in NETWORKS:
            raise ValueError(f"network: {network!r}; choose one of {', '.join(NETWORKS)}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation: {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if not hidden or min(hidden) < 1:
            raise ValueError(f"hidden: layer sizes must be >= 1, got {tuple(hidden)}")
        self.config = {
            "observation_size": int(observation_size),
            "n_actions": int(n_actions),
            "network": network,
            "slot_hidden": int(slot_hidden),
            "hidden": [int(h) for h in hidden],
            "activation": activation,
        }
        act = ACTIVATIONS[activation]
        self.critic = mlp([observation_size, *hidden], act)
        self.value_head = nn.Linear(hidden[-1], 1)
        outputs: list[nn.Linear]
        self.slot_actor: SlotScoringExtractor | None = None
        self.mlp_actor: nn.Sequential | None = None
        if network == "slots":
            n_slots = (observation_size - len(AGENT_FEATURES)) // len(SLOT_FEATURES)
            if n_actions != 1 + n_slots:
                raise ValueError(
                    f"network 'slots': {n_actions} actions is not wait + {n_slots} slots (the steered mode's actions "
                    "are not supported; use network 'mlp')"
                )
            # ppo_shared's actor as is; it builds a critic of its own, unused here (critic_arch=[1]) and dropped
            self.slot_actor = SlotScoringExtractor(observation_size, n_slots, slot_hidden, [1], act)
            del self.slot_actor.critic
            outputs = self.slot_actor.output_layers()
        else:
            self.mlp_actor = mlp([observation_size, *hidden, n_actions], act, last_activation=False)
            outputs = [layer for layer in self.mlp_actor if isinstance(layer, nn.Linear)][-1:]
        for layer in self.modules():
            if isinstance(layer, nn.Linear):
                nn.init.orthogonal_(layer.weight, gain=float(np.sqrt(2.0)))
                nn.init.zeros_(layer.bias)
        for layer, gain in [*((o, 0.01) for o in outputs), (self.value_head, 1.0)]:
            nn.init.orthogonal_(layer.weight, gain=gain)
            nn.init.zeros_(layer.bias)

    def logits(self, observations: torch.Tensor) -> torch.Tensor:
        """Unmasked action logits, (B, n_actions)."""
        if self.slot_actor is not None:
            return self.slot_actor.forward_actor(observations)
        assert self.mlp_actor is not None
        return self.mlp_actor(observations)

    def value(self, observations: torch.Tensor) -> torch.Tensor:
        """State values, (B,)."""
        return self.value_head(self.critic(observations)).squeeze(-1)


def masked_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``logits`` with every action the 0/1 ``mask`` forbids pushed to the lowest float (RLlib's action-masking
    example does the same): such an action has probability 0 and is never an argmax while a legal one exists."""
    return logits + torch.clamp(torch.log(mask), min=torch.finfo(logits.dtype).min)


def export_network(path: str | Path, network: MaskedActorCritic | Mapping[str, Any], state_dict=None) -> Path:
    """Write the shared network as one torch file: its constructor arguments and ``state_dict`` (no optimizer: this
    is what evaluation needs; RLlib's algorithm checkpoint is what resumes training).

    ``network`` is a :class:`MaskedActorCritic`, or its constructor arguments (``MaskedActorCritic.config``) with
    ``state_dict`` given separately (tensors or numpy arrays, as RLlib's ``get_weights`` gives them)."""
    if isinstance(network, MaskedActorCritic):
        config, weights = network.config, network.state_dict()
    else:
        config, weights = dict(network), state_dict
    if weights is None:
        raise ValueError("export_network: a network config needs its state_dict")
    payload = {
        "format": MODULE_FORMAT,
        "network_config": dict(config),
        "state_dict": {k: torch.as_tensor(np.asarray(v)).detach().clone() for k, v in weights.items()},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def load_network(path: str | Path) -> MaskedActorCritic:
    """The network exported by :func:`export_network` at ``path``, in eval mode (torch only, no Ray)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != MODULE_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(
            f"{path}: not an RLlib policy network export (expected format {MODULE_FORMAT!r}, found {found!r}; "
            "exports of an earlier train/rllib_ppo.py must be trained again)"
        )
    network = MaskedActorCritic(**payload["network_config"])
    network.load_state_dict(payload["state_dict"])  # strict: a layout mismatch is an error, not random weights
    network.eval()
    return network


def greedy_network_actions(network: MaskedActorCritic, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Argmax over the masked logits for a batch (rows with at least one legal action); deterministic."""
    masks = np.asarray(masks).astype(bool)
    with torch.no_grad():
        logits = network.logits(torch.as_tensor(np.asarray(observations, dtype=np.float32))).numpy()
    logits = np.where(masks, logits, -np.inf)  # never a masked action
    return logits.argmax(axis=1)


def greedy_episode(network: MaskedActorCritic, env_config: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """Play one episode of ``rllib_env`` (needs Ray RLlib installed, not running) on ``seed`` with the network's
    greedy actions; the final info of an agent (``metrics``, ``stats``, ``truncation_reason``). Validation during
    training uses this; the harness's ``rllib:PATH`` plays the same episodes on the ParallelEnv."""
    from ces_env.wrappers.rllib import CESMultiAgentEnv

    env = CESMultiAgentEnv(env_config)
    observations, _ = env.reset(seed=seed)
    while True:
        agents = list(observations)
        actions = greedy_network_actions(
            network,
            np.stack([observations[a][OBS_KEY] for a in agents]),
            np.stack([observations[a][MASK_KEY] for a in agents]),
        )
        observations, _, terminateds, truncateds, infos = env.step(dict(zip(agents, actions.tolist())))
        if terminateds["__all__"] or truncateds["__all__"]:
            env.close()
            return next(iter(infos.values()))


class RLlibModulePolicy(CheckpointPolicy):
    """``rllib:PATH``: the shared network of ``train/rllib_ppo.py`` (PATH is its export, with a sidecar), greedy over
    masked logits, in plain torch."""

    name: ClassVar[str] = "rllib"
    description: ClassVar[str] = "learned: RLlib multi-agent PPO, one shared network (train/rllib_ppo.py), greedy"

    @classmethod
    def load(cls, checkpoint: str, metadata: dict[str, Any]) -> Any:
        _single_torch_thread_in_workers()
        return load_network(checkpoint)

    def reset(self, env: ParallelEnv, seed: int) -> None:
        super().reset(env, seed)
        size, n_actions = self.model.config["observation_size"], self.model.config["n_actions"]
        if size != self.observation_size or n_actions != self.n_actions:
            raise ValueError(
                f"learned policy {self.name!r}: the network takes observations ({size},) and {n_actions} actions, "
                f"the env gives ({self.observation_size},) and {self.n_actions}"
            )

    def choose(self, agents: list[str], observations: Observations, infos: Infos) -> np.ndarray:
        batch = np.stack([observations[a]["observation"] for a in agents])
        masks = np.stack([observations[a]["action_mask"] for a in agents])
        return greedy_network_actions(self.model, batch, masks)


__all__ = [
    "RLlibModulePolicy",
    "MaskedActorCritic",
    "masked_logits",
    "export_network",
    "load_network",
    "greedy_network_actions",
    "greedy_episode",
    "MODULE_FORMAT",
    "MODULE_ID",
    "NETWORKS",
]

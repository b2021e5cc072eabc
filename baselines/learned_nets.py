"""Networks of the learned slot policies (torch; imported by checkpoints, so they live in an installed package).

:class:`SlotScoringPolicy` is a MaskablePPO actor-critic whose actor scores each of the K ready-task slots with ONE
small network shared across slots (permutation-equivariant, like the per-node scorers of Decima or READYS, restricted
to the K slots the observation shows), instead of a plain MLP that must learn "a known task is good" separately for
every slot position. Each slot's score sees the slot's own features, its position (slots are ordered by reward), the
agent's features (status, time, group state, identity: ``index_in_group``, ``decider_rank``) and a summary of all
valid slots; the wait action's score sees the agent and that summary. The critic is a plain MLP over the whole
observation. A checkpoint made with it loads with ``MaskablePPO.load`` wherever ``ces_baselines`` is installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from torch import nn

from ces_env.observations import AGENT_FEATURES, SLOT_FEATURES, SLOT_INDEX

N_AGENT = len(AGENT_FEATURES)
N_SLOT = len(SLOT_FEATURES)
_VALID = SLOT_INDEX["valid"]


def mlp(sizes: Sequence[int], activation: type[nn.Module], last_activation: bool = True) -> nn.Sequential:
    """Linear layers through ``sizes``, each followed by ``activation`` (the last one only if ``last_activation``)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if last_activation or i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class SlotScoringExtractor(nn.Module):
    """The ``mlp_extractor`` of :class:`SlotScoringPolicy`: the actor's "latent" is the action logits themselves
    (``latent_dim_pi = 1 + K``: wait, then the K slots); the critic's latent is an MLP over the observation."""

    position: torch.Tensor  # a registered buffer (declared for the type checker: nn.Module's attributes are untyped)

    def __init__(
        self, observation_size: int, n_slots: int, hidden: int, critic_arch: list[int], activation: type[nn.Module]
    ):
        super().__init__()
        if observation_size != N_AGENT + N_SLOT * n_slots:
            raise ValueError(
                f"SlotScoringPolicy: observation of {observation_size} features is not {N_AGENT} agent features + "
                f"K x {N_SLOT} slot features (the steered mode's maze view is not supported)"
            )
        self.n_slots = n_slots
        self.agent_net = mlp([N_AGENT, hidden, hidden], activation)
        self.slot_net = mlp([N_SLOT + 1 + hidden, hidden, hidden], activation)
        self.context_net = mlp([2 * hidden, hidden], activation)
        self.slot_out = mlp([2 * hidden, hidden, 1], activation, last_activation=False)
        self.wait_out = mlp([2 * hidden, hidden, 1], activation, last_activation=False)
        self.critic = mlp([observation_size, *critic_arch], activation)
        self.latent_dim_pi = 1 + n_slots
        self.latent_dim_vf = critic_arch[-1]
        self.register_buffer("position", torch.linspace(0.0, 1.0, n_slots).view(1, n_slots, 1), persistent=False)

    def output_layers(self) -> list[nn.Linear]:
        """The last linear layers of the logits (initialised small, so that the first policy is near uniform)."""
        return [cast(nn.Linear, self.slot_out[-1]), cast(nn.Linear, self.wait_out[-1])]

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        batch = features.shape[0]
        agent = self.agent_net(features[:, :N_AGENT])  # (B, h)
        slots = features[:, N_AGENT:].reshape(batch, self.n_slots, N_SLOT)  # (B, K, f)
        hidden = agent.shape[1]
        per_slot = torch.cat(
            [slots, self.position.expand(batch, -1, -1), agent.unsqueeze(1).expand(batch, self.n_slots, hidden)], -1
        )
        embedded = self.slot_net(per_slot)  # (B, K, h)
        valid = slots[:, :, _VALID : _VALID + 1]
        pooled = (embedded * valid).sum(1) / valid.sum(1).clamp(min=1.0)  # mean over the valid slots
        context = self.context_net(torch.cat([agent, pooled], -1))  # (B, h)
        slot_logits = self.slot_out(
            torch.cat([embedded, context.unsqueeze(1).expand(batch, self.n_slots, hidden)], -1)
        ).squeeze(-1)
        wait_logit = self.wait_out(torch.cat([agent, context], -1))
        return torch.cat([wait_logit, slot_logits], 1)

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        return self.critic(features)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)


class SlotScoringPolicy(MaskableActorCriticPolicy):
    """MaskablePPO policy with a shared per-slot scorer as actor (see the module docstring).

    Extra keyword: ``slot_hidden`` (width of the scorer). ``net_arch`` gives the critic's layers (a list, or a dict
    whose ``vf`` entry is used); ``activation_fn`` both networks' activation.
    """

    def __init__(self, *args: Any, slot_hidden: int = 64, **kwargs: Any):
        self.slot_hidden = slot_hidden
        super().__init__(*args, **kwargs)

    def _build_mlp_extractor(self) -> None:
        arch = self.net_arch
        critic = list(arch.get("vf", [64, 64]) if isinstance(arch, dict) else (arch or [64, 64]))
        size = int(self.features_dim)
        # SB3 types the attribute as its MlpExtractor; ours has the same interface (latent sizes, forward_*)
        self.mlp_extractor = SlotScoringExtractor(  # type: ignore[assignment]
            size, (size - N_AGENT) // N_SLOT, self.slot_hidden, critic, self.activation_fn
        )

    def _build(self, lr_schedule) -> None:
        super()._build(lr_schedule)
        self.action_net = nn.Identity()  # the extractor's actor latent is already the logits
        if self.ortho_init:
            for layer in cast(SlotScoringExtractor, self.mlp_extractor).output_layers():
                nn.init.orthogonal_(layer.weight, gain=0.01)
                nn.init.zeros_(layer.bias)
        # as SB3 does: its optimizer_class is typed as the Optimizer base, whose constructor takes no lr
        self.optimizer = self.optimizer_class(  # type: ignore[call-arg]
            self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data["slot_hidden"] = self.slot_hidden
        return data


__all__ = ["SlotScoringPolicy", "SlotScoringExtractor"]

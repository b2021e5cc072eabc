"""A policy that sees the task DAG: per-task scores from message passing over the dependency graph (``graph:PATH``).

The slot policy (``ppo:PATH``) sees K ready tasks ordered by reward, each through six numbers; it cannot tell that a
low-reward task heads a long chain. This one scores **every task of the instance** with a small graph neural network
in plain torch, as Decima (Mao et al., 2019) and READYS (Grinsztajn et al., 2020) do for DAG scheduling:

1. Each task starts from its public features (:data:`NODE_FEATURES`): the static ones of
   ``env.unwrapped.task_graph()`` (reward, upward rank, successor and predecessor counts, minimal duration,
   classmates in the group), the dynamic ones of ``env.unwrapped.task_features(agent)`` (status as the agent's group
   sees it, own group, class known, class explored by a groupmate now) and where it sits in the agent's slots. The
   deciding agent's own features (the observation's ``AGENT_FEATURES``: status, speed, time, group state,
   ``index_in_group``, ``decider_rank``) are projected and added to every task's initial state, so that two
   groupmates deciding at the same tick can prefer different tasks.
2. Tasks already done are dropped (they constrain nothing any more). ``rounds`` rounds of message passing: each
   task's state is updated from the mean and the max of its successors'
   states (what its completion unlocks: the critical path flows backwards) and the mean of its predecessors' (what it
   waits for), with a residual connection and layer norm. Aggregations are scatter sums over an edge list, so a batch
   is the disjoint union of its graphs: no padding, any number of tasks, and a task's score never depends on the
   other graphs of the batch.
3. A task's score is an MLP of its final state and the agent's embedding. Slot k's score is the score of the task in
   slot k (``info["candidates"]``), so the policy can pick a critical task whatever its reward, among the K slots the
   env lets it take. The action is chosen in two levels: wait or not (a separate head: agent embedding, mean and max
   pooled task states, mean state of the slot tasks), then which legal slot (softmax of the slot scores). Greedy play
   takes the mode of each level. The value head reads the agent embedding and the pooled states. Illegal actions are
   masked.

Nothing here reads the simulator: only the observation, the infos and the env's public task-graph accessors. The
training script is ``train/ppo_graph.py``; :class:`GraphPPOPolicy` plays a checkpoint greedily in the harness
(``ces-bench run --policy graph:train/checkpoints/ppo_graph_small.pt``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np
import torch
from pettingzoo import ParallelEnv
from torch import nn
from torch.nn import functional as F  # noqa: N812  (the usual torch spelling)

from ces_baselines.learned import CheckpointPolicy, _single_torch_thread_in_workers
from ces_env.env import TASK_DYNAMIC_FEATURES, TASK_STATIC_FEATURES
from ces_env.observations import AGENT_FEATURES
from ces_env.policies import Infos, Observations, env_config

SLOT_NODE_FEATURES = ("in_slots", "slot_position")
"""Where the task sits among the agent's K slots: listed at all (it can be taken), and its slot index / (K - 1)."""
NODE_FEATURES: tuple[str, ...] = (*TASK_STATIC_FEATURES, *TASK_DYNAMIC_FEATURES, *SLOT_NODE_FEATURES)
N_AGENT_FEATURES = len(AGENT_FEATURES)
_DONE = TASK_DYNAMIC_FEATURES.index("done")
CHECKPOINT_FORMAT = "ces-graph-policy/1"
MASKED_LOGIT = -1e9
"""Logit of an illegal action: exp() of it is exactly 0 in float32, and unlike -inf it keeps entropies finite."""


# ------------------------------------------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class TaskGraph:
    """One instance's DAG as an edge list (``src[e] -> dst[e]``: ``dst`` depends on ``src``) and its static
    features, built once per instance from ``env.unwrapped.task_graph()``."""

    n_tasks: int
    src: np.ndarray  # (E,) int64
    dst: np.ndarray  # (E,) int64
    static: np.ndarray  # (m, len(TASK_STATIC_FEATURES)) float32

    @classmethod
    def from_env_graph(cls, graph: dict[str, np.ndarray]) -> TaskGraph:
        indptr = graph["succ_indptr"]
        n_tasks = len(indptr) - 1
        src = np.repeat(np.arange(n_tasks, dtype=np.int64), np.diff(indptr))
        return cls(n_tasks, src, graph["succ_indices"].astype(np.int64), graph["static"])


@dataclass(frozen=True)
class DecisionRow:
    """What one deciding agent sees at one tick: the DAG of the tasks not yet done (completed tasks constrain
    nothing any more, and dropping them halves the work on average), their features, the agent's own features, the
    node of each of its K slots (-1: empty) and its action mask (wait + K slots)."""

    tasks: np.ndarray  # (m',) int64: the task id of each node (the tasks not done, ascending)
    src: np.ndarray  # (E',) int64 node index: dst depends on src
    dst: np.ndarray  # (E',) int64
    nodes: np.ndarray  # (m', len(NODE_FEATURES)) float32
    agent: np.ndarray  # (N_AGENT_FEATURES,) float32
    slots: np.ndarray  # (K,) int64 node index, -1 for an empty slot
    mask: np.ndarray  # (1 + K,) bool

    @property
    def n_nodes(self) -> int:
        return len(self.tasks)


class RowBuilder:
    """Builds :class:`DecisionRow` objects from one env's public views (its task graph is converted once per
    instance: ``task_graph()`` returns the same dict object for an instance)."""

    def __init__(self) -> None:
        self._source: dict[str, np.ndarray] | None = None
        self._graph: TaskGraph | None = None

    def graph(self, env: Any) -> TaskGraph:
        source = env.task_graph()
        if source is not self._source or self._graph is None:
            self._source, self._graph = source, TaskGraph.from_env_graph(source)
        return self._graph

    def row(self, env: Any, agent: str, observation: dict[str, np.ndarray], info: dict[str, Any]) -> DecisionRow:
        """The row of ``agent`` deciding now; ``env`` is the unwrapped CES env."""
        graph = self.graph(env)
        candidates = np.asarray(info["candidates"], dtype=np.int64)
        mask = np.asarray(observation["action_mask"], dtype=bool)[: 1 + len(candidates)]
        slot_part = np.zeros((graph.n_tasks, len(SLOT_NODE_FEATURES)), dtype=np.float32)
        valid = np.flatnonzero(candidates >= 0)
        slot_part[candidates[valid], 0] = 1.0
        slot_part[candidates[valid], 1] = valid / max(1, len(candidates) - 1)
        dynamic = env.task_features(agent)
        nodes = np.concatenate([graph.static, dynamic, slot_part], axis=1)
        keep = dynamic[:, _DONE] < 0.5
        keep[candidates[valid]] = True  # a slot task is never done; belt and braces
        node_of = np.cumsum(keep) - 1  # new index of each kept task
        edges = keep[graph.src] & keep[graph.dst]
        slots = np.where(candidates >= 0, node_of[np.maximum(candidates, 0)], -1)
        agent_features = np.asarray(observation["observation"][:N_AGENT_FEATURES], dtype=np.float32)
        return DecisionRow(
            tasks=np.flatnonzero(keep),
            src=node_of[graph.src[edges]],
            dst=node_of[graph.dst[edges]],
            nodes=nodes[keep],
            agent=agent_features,
            slots=slots,
            mask=mask,
        )


@dataclass
class GraphBatch:
    """Rows collated as one disjoint graph: node tensors stacked, edges and slots shifted by each row's offset."""

    nodes: torch.Tensor  # (N, F) float32
    node_row: torch.Tensor  # (N,) int64: the row of each node
    src: torch.Tensor  # (E,) int64
    dst: torch.Tensor  # (E,) int64
    agent: torch.Tensor  # (B, A) float32
    slot_nodes: torch.Tensor  # (B, K) int64 index into nodes, 0 where the slot is empty (then slot_valid is False)
    slot_valid: torch.Tensor  # (B, K) bool
    mask: torch.Tensor  # (B, 1 + K) bool
    n_rows: int


def collate(rows: list[DecisionRow]) -> GraphBatch:
    """One :class:`GraphBatch` of ``rows`` (rows may come from instances of different sizes; all have the same K)."""
    sizes = np.array([row.n_nodes for row in rows], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    src = np.concatenate([row.src + off for row, off in zip(rows, offsets)])
    dst = np.concatenate([row.dst + off for row, off in zip(rows, offsets)])
    slots = np.stack([row.slots for row in rows])
    valid = slots >= 0
    slot_nodes = np.where(valid, slots + offsets[:, None], 0)
    return GraphBatch(
        nodes=torch.from_numpy(np.concatenate([row.nodes for row in rows])),
        node_row=torch.from_numpy(np.repeat(np.arange(len(rows), dtype=np.int64), sizes)),
        src=torch.from_numpy(src),
        dst=torch.from_numpy(dst),
        agent=torch.from_numpy(np.stack([row.agent for row in rows])),
        slot_nodes=torch.from_numpy(slot_nodes),
        slot_valid=torch.from_numpy(valid),
        mask=torch.from_numpy(np.stack([row.mask for row in rows])),
        n_rows=len(rows),
    )


# ------------------------------------------------------------------------------------------------------ network
def scatter_mean(values: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """Mean of the rows of ``values`` sharing an ``index`` (rows of the output nobody points at stay 0)."""
    total = values.new_zeros(size, values.shape[1]).index_add_(0, index, values)
    count = values.new_zeros(size).index_add_(0, index, values.new_ones(index.shape[0]))
    return total / count.clamp(min=1.0).unsqueeze(1)


def scatter_max(values: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """Elementwise max of the rows of ``values`` sharing an ``index`` (rows nobody points at stay 0)."""
    out = values.new_zeros(size, values.shape[1])
    return out.scatter_reduce(0, index.unsqueeze(1).expand_as(values), values, reduce="amax", include_self=False)


class MessagePassingRound(nn.Module):
    """``h <- LayerNorm(h + MLP([h, mean_succ h, max_succ h, mean_pred h]))``."""

    def __init__(self, hidden: int):
        super().__init__()
        self.update = nn.Sequential(nn.Linear(4 * hidden, hidden), nn.Tanh(), nn.Linear(hidden, hidden))
        self.norm = nn.LayerNorm(hidden)

    def forward(self, h: torch.Tensor, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        n = h.shape[0]
        from_succ = h[dst]  # a task hears from the tasks that depend on it ...
        succ_mean = scatter_mean(from_succ, src, n)
        succ_max = scatter_max(from_succ, src, n)
        pred_mean = scatter_mean(h[src], dst, n)  # ... and from those it depends on
        return self.norm(h + self.update(torch.cat([h, succ_mean, succ_max, pred_mean], dim=1)))


@dataclass(frozen=True)
class NetConfig:
    """The network's shape (stored in the checkpoint)."""

    node_features: int = len(NODE_FEATURES)
    agent_features: int = N_AGENT_FEATURES
    hidden: int = 32
    rounds: int = 3


class GraphPolicyNet(nn.Module):
    """Per-task scores by message passing; slot logits are the scores of the slot tasks; wait and value heads."""

    def __init__(self, config: NetConfig):
        super().__init__()
        self.config = config
        h = config.hidden
        self.node_in = nn.Linear(config.node_features, h)
        self.agent_in = nn.Sequential(nn.Linear(config.agent_features, h), nn.Tanh())
        self.agent_to_nodes = nn.Linear(h, h, bias=False)
        self.rounds = nn.ModuleList(MessagePassingRound(h) for _ in range(config.rounds))
        self.score = nn.Sequential(nn.Linear(2 * h, h), nn.Tanh(), nn.Linear(h, 1))
        self.wait = nn.Sequential(nn.Linear(4 * h, h), nn.Tanh(), nn.Linear(h, 1))
        self.value = nn.Sequential(nn.Linear(3 * h, h), nn.Tanh(), nn.Linear(h, 1))
        with torch.no_grad():  # start by waiting rarely (p = 0.27): a wait is only right in particular states
            cast(nn.Linear, self.wait[-1]).bias.fill_(-1.0)

    def task_states(self, batch: GraphBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """(per-node final states (N, H), agent embeddings (B, H))."""
        agent = self.agent_in(batch.agent)
        h = torch.tanh(self.node_in(batch.nodes) + self.agent_to_nodes(agent)[batch.node_row])
        for layer in self.rounds:
            h = layer(h, batch.src, batch.dst)
        return h, agent

    def task_scores(self, batch: GraphBatch) -> torch.Tensor:
        """(N,) a score for every task of every row (the slot logits are these, at the slot tasks)."""
        h, agent = self.task_states(batch)
        return self.score(torch.cat([h, agent[batch.node_row]], dim=1)).squeeze(1)

    def heads(self, batch: GraphBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(wait logit (B,): log-odds of waiting, masked slot scores (B, K), values (B,))."""
        h, agent = self.task_states(batch)
        scores = self.score(torch.cat([h, agent[batch.node_row]], dim=1)).squeeze(1)
        pooled_mean = scatter_mean(h, batch.node_row, batch.n_rows)
        pooled_max = scatter_max(h, batch.node_row, batch.n_rows)
        valid = batch.slot_valid.unsqueeze(2).float()
        slot_mean = (h[batch.slot_nodes] * valid).sum(1) / valid.sum(1).clamp(min=1.0)
        wait = self.wait(torch.cat([agent, pooled_mean, pooled_max, slot_mean], dim=1)).squeeze(1)
        slot_scores = scores[batch.slot_nodes].masked_fill(~batch.mask[:, 1:], MASKED_LOGIT)
        value = self.value(torch.cat([agent, pooled_mean, pooled_max], dim=1)).squeeze(1)
        return wait, slot_scores, value

    def forward(self, batch: GraphBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """(log-probabilities of the actions (B, 1 + K), masked ones at ``MASKED_LOGIT``; values (B,)).

        Two levels: wait with probability ``sigmoid(wait logit)`` (when waiting and some task are both legal), else
        take a legal slot with probability ``softmax(slot scores)``. Unlike one flat softmax over wait and K slots,
        the mode of each level is a sensible greedy action: a flat argmax waits whenever p(wait) beats every single
        task, even when taking some task is far more likely (measured: greedy play then waited at 40% of its
        decisions against 20% sampled, and ET grew by half)."""
        wait, slot_scores, value = self.heads(batch)
        may_wait = batch.mask[:, 0]
        may_take = batch.mask[:, 1:].any(dim=1)
        both = may_wait & may_take
        log_wait = torch.where(both, F.logsigmoid(wait), torch.zeros_like(wait))
        log_take = torch.where(both, F.logsigmoid(-wait), torch.zeros_like(wait))
        log_slots = torch.log_softmax(slot_scores, dim=1) + log_take.unsqueeze(1)
        logits = torch.cat([log_wait.unsqueeze(1), log_slots], dim=1).masked_fill(~batch.mask, MASKED_LOGIT)
        return logits, value


def greedy_actions(net: GraphPolicyNet, rows: list[DecisionRow]) -> np.ndarray:
    """The mode of each level (see :meth:`GraphPolicyNet.forward`): wait when it is legal and more likely than not
    (or the only legal action), else the legal slot of highest score. Never a masked action."""
    with torch.no_grad():
        wait, slot_scores, _ = net.heads(collate(rows))
    masks = np.stack([row.mask for row in rows])
    slots = np.where(masks[:, 1:], slot_scores.numpy(), -np.inf)
    may_take = masks[:, 1:].any(axis=1)
    waits = masks[:, 0] & (~may_take | (wait.numpy() > 0.0))
    return np.where(waits, 0, 1 + slots.argmax(axis=1))


# ------------------------------------------------------------------------------------------------------ checkpoints
def save_checkpoint(path: str | Path, net: GraphPolicyNet, **training_state: Any) -> None:
    """The network's config and weights, plus whatever the trainer needs to resume (optimizer state, counters)."""
    payload = {"format": CHECKPOINT_FORMAT, "net_config": asdict(net.config), "state_dict": net.state_dict()}
    torch.save({**payload, **training_state}, str(path))


def load_checkpoint(path: str | Path) -> tuple[GraphPolicyNet, dict[str, Any]]:
    """(the network in eval mode, the whole checkpoint dict); a file of another format is a ``ValueError``."""
    data = torch.load(str(path), map_location="cpu", weights_only=True)
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a graph-policy checkpoint (expected format {CHECKPOINT_FORMAT!r})")
    config = NetConfig(**data["net_config"])
    if config.node_features != len(NODE_FEATURES) or config.agent_features != N_AGENT_FEATURES:
        raise ValueError(
            f"{path}: the network takes {config.node_features} task and {config.agent_features} agent features, "
            f"this version builds {len(NODE_FEATURES)} and {N_AGENT_FEATURES}"
        )
    net = GraphPolicyNet(config)
    net.load_state_dict(data["state_dict"])
    net.eval()
    return net, data


# ------------------------------------------------------------------------------------------------------ harness
class GraphPPOPolicy(CheckpointPolicy):
    """``graph:PATH``: the DAG message-passing policy of ``train/ppo_graph.py``, played greedily."""

    name: ClassVar[str] = "graph"
    description: ClassVar[str] = (
        "learned: per-task scores by message passing over the task DAG (train/ppo_graph.py), greedy over masked logits"
    )

    @classmethod
    def load(cls, checkpoint: str, metadata: dict[str, Any]) -> GraphPolicyNet:
        _single_torch_thread_in_workers()
        return load_checkpoint(checkpoint)[0]

    def reset(self, env: ParallelEnv, seed: int) -> None:
        super().reset(env, seed)
        if env_config(env).exploration_mode != "auto":
            raise ValueError(f"learned policy {self.name!r} chooses tasks only: it needs exploration_mode='auto'")
        self.rows = RowBuilder()

    def choose(self, agents: list[str], observations: Observations, infos: Infos) -> np.ndarray:
        env = self.env.unwrapped
        rows = [self.rows.row(env, agent, observations[agent], infos[agent]) for agent in agents]
        return greedy_actions(self.model, rows)


__all__ = [
    "NODE_FEATURES",
    "SLOT_NODE_FEATURES",
    "TaskGraph",
    "DecisionRow",
    "RowBuilder",
    "GraphBatch",
    "collate",
    "NetConfig",
    "GraphPolicyNet",
    "MessagePassingRound",
    "greedy_actions",
    "save_checkpoint",
    "load_checkpoint",
    "GraphPPOPolicy",
]

"""PPO for a policy that sees the task DAG: per-task scores by message passing (``ces_baselines.graph_policy``).

CleanRL style: this file is the whole training method (the network and its inputs live in
``baselines/graph_policy.py``, because the harness's worker processes import them to evaluate a checkpoint). Run it
from the repository::

    python train/ppo_graph.py --help
    python train/ppo_graph.py                 # the quick preset: small, decentralized, K=32, <= 15 min on 2 cores
    python train/evaluate.py --policy graph:train/checkpoints/ppo_graph_small.pt --seeds 100 --out runs/eval

What is learned. One network shared by all agents. At each tick where an agent has a choice (two or more legal
actions), it scores every task not yet done from the task graph (``env.unwrapped.task_graph()``), the tasks as the
agent sees them (``env.unwrapped.task_features(agent)``) and the agent's own observation features; slot k's logit is
the score of the task in slot k (``info["candidates"]``), wait has its own head, illegal actions are masked. With
``n_candidates=32`` every ready task of a group of the training family is in some slot, so the choice is not limited
to the highest rewards.

Decisions and credit (as ``ces_env.wrappers.SB3VecEnv``, through the same ``DecisionDriver``). Each env copy is a
sequence of decisions: the choosers of a tick in agent-id order, then the next tick with a choice. With
``reward_mode="time"`` the time between two decisions is what the team pays; it is discounted **per tick**
(semi-MDP): an interval of ``e`` ticks after a decision is worth ``-(1 + g + ... + g^(e-1)) / reward_time_scale``
and the next decision's value is discounted by ``g^e`` (``g = gamma_per_tick``; choosers of the same tick are 0 ticks
apart). The discounted return from any decision is then ``-(1 - g^T) / ((1 - g) * scale)`` with ``T`` the remaining
ticks: a monotone function of the time left, so maximising it minimises ET whatever ``g``, while ``g < 1`` bounds the
variance. Advantages: GAE over the decision sequence with these per-interval discounts. Truncated episodes (never
seen with the default waits) are treated as ended; a stalled one is charged what the env charges (as if it had run to
``max_ticks``), so stalling never pays.

Seeds. torch, and numpy (one ``Generator``: episode seeds, minibatch order) come from ``--seed``; action sampling uses
torch's generator. Training episodes use seeds >= ``TRAIN_SEED_FLOOR`` (10**6, asserted for every episode); greedy
validation uses ``VALIDATION_SEED_BASE + i``; reported evaluations use seeds below ``EVAL_SEED_LIMIT`` (0..N-1), so
no reported number comes from an instance trained or validated on.

Outputs. ``--out`` (a torch file: the network's config and weights, the optimizer state and counters to ``--resume``)
and its JSON sidecar (``ces_baselines.learned.write_sidecar``: the CESConfig, these arguments, the seeds, the
command, the git commit, training statistics). TensorBoard logs and ``curve.csv`` (ET against decisions and
agent-steps, training and greedy validation) under ``--log-dir/RUN_NAME``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import shlex
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.distributions import Categorical
from torch.utils.tensorboard import SummaryWriter

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling scripts (evaluate, dataclass_cli), run or imported

from dataclass_cli import parse_args  # noqa: E402
from evaluate import REPO_ROOT, reference_validation  # noqa: E402

from ces_baselines.graph_policy import (  # noqa: E402
    DecisionRow,
    GraphPolicyNet,
    NetConfig,
    RowBuilder,
    collate,
    greedy_actions,
    load_checkpoint,
    save_checkpoint,
)
from ces_baselines.learned import EVAL_SEED_LIMIT, TRAIN_SEED_FLOOR, VALIDATION_SEED_BASE, write_sidecar  # noqa: E402
from ces_env.config import CESConfig, make_config  # noqa: E402
from ces_env.env import parallel_env  # noqa: E402
from ces_env.summary import parse_set  # noqa: E402
from ces_env.wrappers._driver import DecisionDriver  # noqa: E402

MAX_SEED = 2**63 - 1


@dataclass
class Args:
    """Train the DAG message-passing policy with PPO on one family of CES instances (the defaults are the quick
    preset: preset small, decentralized control, K = 32 slots, at most 14 minutes of training on 2 cores)."""

    # --- the training family -------------------------------------------------------------------------------------
    env_preset: str = "small"
    """ces_env preset of the training instances (random layered LDS DAGs, 10 agents, 2 groups, 40 tasks, 20x20)."""
    control: str = "decentralized"
    """Control protocol during training (held-out evaluation also plays the other one)."""
    n_candidates: int = 32
    """K slots: with 32, every ready task of a 20-task group can be taken (the network itself takes any K)."""
    set: list[str] = field(default_factory=list)
    """Further config overrides FIELD=VALUE (JSON value or bare string), as ces-bench --set."""
    reward_time_scale: float = 1000.0
    """Ticks per unit of reward (reward_mode="time"): about the ET of a small episode."""

    # --- budget ----------------------------------------------------------------------------------------------------
    total_decisions: int = 80_000
    """PPO decisions to train for (after the warm start); the learning rate anneals linearly to 0 over this many.
    The default fits in 15 minutes on 2 shared cores with everything else (references, warm start, validations)."""
    max_minutes: float = 14.0
    """Stop PPO once the whole run (references, warm start, validations included) has taken this long, wall clock
    (0: no limit); the final validation follows."""

    # --- warm start: imitate a scripted policy --------------------------------------------------------------------
    bc_teacher: str = "heft"
    """Before PPO, fit the policy to this registered scripted policy's choices on training episodes (behaviour
    cloning; its value head to the teacher's discounted time-to-go). Empty: PPO from scratch."""
    bc_episodes: int = 400
    """Teacher episodes recorded (each about 55 decisions on small)."""
    bc_epochs: int = 4
    """Passes over the recorded decisions."""
    bc_learning_rate: float = 3e-3
    """Adam step size of the warm start."""

    # --- PPO -------------------------------------------------------------------------------------------------------
    n_envs: int = 16
    """Env copies played in lockstep (their choosers form one forward batch)."""
    rollout_decisions: int = 2048
    """Decisions collected (over all env copies) before each update."""
    minibatch_size: int = 256
    """Decisions per gradient step."""
    n_epochs: int = 4
    """Passes over each rollout."""
    learning_rate: float = 3e-4
    """Adam step size of PPO at its start."""
    anneal_lr: bool = True
    """Anneal the learning rate linearly to 0 over total_decisions."""
    gamma_per_tick: float = 0.999
    """Discount per simulated tick (the horizon 1/(1-g) = 1000 ticks is about one small episode)."""
    gae_lambda: float = 0.95
    """GAE lambda, per decision."""
    clip_coef: float = 0.2
    """PPO clipping of the probability ratio."""
    ent_coef: float = 0.001
    """Entropy bonus weight."""
    vf_coef: float = 0.5
    """Value loss weight."""
    max_grad_norm: float = 0.5
    """Gradient norm clipping."""
    target_kl: float | None = 0.03
    """Stop an update's epochs early once the approximate KL passes this (none: never)."""
    hidden: int = 32
    """Width of the task states and of every head."""
    rounds: int = 3
    """Message-passing rounds (each reaches one more dependency hop; the upward rank is an input already)."""

    # --- seeds, validation, outputs --------------------------------------------------------------------------------
    seed: int = 1
    """Root seed of torch and of the numpy Generator that draws training episode seeds (all >= 10**6)."""
    torch_threads: int = 1
    """torch threads (batches are small; more threads mostly contend with the env on 2 cores)."""
    validate_every: int = 20_000
    """Greedy validation every this many decisions (0: only at the end)."""
    validation_episodes: int = 48
    """Validation seeds VALIDATION_SEED_BASE + 0..N-1 (disjoint from training and from evaluation seeds)."""
    keep_best: bool = True
    """Save the network with the best greedy validation ET (else the last one)."""
    out: str = "train/checkpoints/ppo_graph_small.pt"
    """Checkpoint path (a sidecar .json is written beside it)."""
    log_dir: str = "runs"
    """TensorBoard logs and curve.csv go to LOG_DIR/RUN_NAME (gitignored)."""
    run_name: str = ""
    """Run folder name (empty: ppo_graph_<env_preset>_<control>_s<seed>)."""
    resume: str = ""
    """Continue training this checkpoint (weights, optimizer state, counters) instead of starting afresh."""
    eval_seeds: int = 0
    """After training, evaluate through the harness on seeds 0..N-1 (training family) against the references."""
    eval_workers: int = 2
    """Worker processes of that evaluation."""


# ------------------------------------------------------------------------------------------------------ config
def env_overrides(args: Args) -> dict[str, Any]:
    """The training env's config fields beyond the preset."""
    return {
        **parse_set(list(args.set)),
        "control": args.control,
        "n_candidates": args.n_candidates,
        "reward_mode": "time",
        "reward_time_scale": args.reward_time_scale,
    }


def validation_seeds(args: Args) -> list[int]:
    return [VALIDATION_SEED_BASE + i for i in range(args.validation_episodes)]


def interval_reward(elapsed: np.ndarray | float, gamma: float, scale: float) -> np.ndarray:
    """Discounted time reward of ``elapsed`` ticks: ``-(1 + g + ... + g^(e-1)) / scale`` (``-e / scale`` at g = 1)."""
    e = np.asarray(elapsed, dtype=np.float64)
    if gamma == 1.0:
        return -e / scale
    return -(1.0 - gamma**e) / ((1.0 - gamma) * scale)


# ------------------------------------------------------------------------------------------------------ playing
class EnvCopy:
    """One training env copy: a DecisionDriver, its row builder and the buffer positions of its decisions."""

    def __init__(self, config: CESConfig):
        self.driver = DecisionDriver(parallel_env(config=config))
        self.rows = RowBuilder()
        self.seed = -1

    def start(self, seed: int) -> None:
        """A new episode on ``seed`` (skipping ahead when it has no decision at all is the caller's job)."""
        if seed < TRAIN_SEED_FLOOR:  # never train on an evaluation or validation seed
            raise RuntimeError(f"training episode seed {seed} is below TRAIN_SEED_FLOOR={TRAIN_SEED_FLOOR}")
        self.seed = seed
        self.driver.reset(seed=seed)
        self.driver.drain_team()  # ticks before the first decision: no decision caused them

    def decision_rows(self) -> list[DecisionRow]:
        d = self.driver
        env = d.env.unwrapped
        return [
            self.rows.row(env, agent, d.observation_dict(agent), {"candidates": d.candidates(agent)})
            for agent in d.choosers
        ]


def greedy_episodes(net: GraphPolicyNet, config: CESConfig, seeds: list[int], width: int = 16) -> list[dict]:
    """Play one greedy episode per seed (``width`` env copies in lockstep, choosers batched); their final metrics."""
    results: list[dict | None] = [None] * len(seeds)
    copies = [(DecisionDriver(parallel_env(config=config)), RowBuilder()) for _ in range(min(width, len(seeds)))]
    slot: list[int | None] = [None] * len(copies)
    queue = iter(range(len(seeds)))

    def start(c: int) -> None:
        slot[c] = None
        for i in queue:
            driver = copies[c][0]
            driver.reset(seed=seeds[i])
            if driver.over:
                results[i] = driver.final_metrics()
                continue
            slot[c] = i
            return

    for c in range(len(copies)):
        start(c)
    while any(s is not None for s in slot):
        active = [c for c in range(len(copies)) if slot[c] is not None]
        rows, owners = [], []
        for c in active:
            driver, builder = copies[c]
            env = driver.env.unwrapped
            for agent in driver.choosers:
                observation = driver.observation_dict(agent)
                rows.append(builder.row(env, agent, observation, {"candidates": driver.candidates(agent)}))
                owners.append((c, agent))
        actions = greedy_actions(net, rows)
        per_copy: dict[int, dict[str, int]] = {c: {} for c in active}
        for (c, agent), action in zip(owners, actions):
            per_copy[c][agent] = int(action)
        for c in active:
            driver = copies[c][0]
            driver.step(per_copy[c])
            if driver.over:
                results[slot[c]] = driver.final_metrics()  # type: ignore[index]
                start(c)
    return [r for r in results if r is not None]


# ------------------------------------------------------------------------------------------------------ warm start
def teacher_decisions(
    args: Args, config: CESConfig, seeds: list[int]
) -> tuple[list[DecisionRow], np.ndarray, np.ndarray, list[float], int]:
    """Play the teacher on ``seeds``; (the rows of every decision with a choice, the teacher's actions, the
    discounted time-to-go from each decision, each episode's ET, the agent-steps played)."""
    from ces_baselines.harness import policy_class

    teacher_class = policy_class(args.bc_teacher)
    for key, value in teacher_class.required_config.items():
        if getattr(config, key) != value:
            raise ValueError(
                f"--bc-teacher {args.bc_teacher} requires {key}={value!r}; training uses {getattr(config, key)!r}"
            )
    env = parallel_env(config=config)
    rows: list[DecisionRow] = []
    actions: list[int] = []
    returns: list[float] = []
    ets: list[float] = []
    agent_steps = 0
    for seed in seeds:
        if seed < TRAIN_SEED_FLOOR:
            raise RuntimeError(f"teacher episode seed {seed} is below TRAIN_SEED_FLOOR={TRAIN_SEED_FLOOR}")
        teacher = teacher_class()
        observations, infos = env.reset(seed=seed)
        teacher.reset(env, seed)
        builder = RowBuilder()
        clock = 0
        times: list[int] = []
        while env.agents:
            chosen = teacher.act(observations, infos)
            for agent, obs in observations.items():
                if np.count_nonzero(obs["action_mask"]) > 1:
                    rows.append(builder.row(env.unwrapped, agent, obs, infos[agent]))
                    actions.append(int(chosen.get(agent, 0)))
                    times.append(clock)
            agent_steps += len(env.agents)
            observations, _, _, _, infos = env.step(chosen)
            clock += int(next(iter(infos.values()))["elapsed_ticks"]) if infos else 0
        et = float(env.unwrapped.metrics()["ET"])
        ets.append(et)
        returns += [float(interval_reward(clock - t, args.gamma_per_tick, args.reward_time_scale)) for t in times]
    return rows, np.asarray(actions, dtype=np.int64), np.asarray(returns, dtype=np.float32), ets, agent_steps


def behaviour_cloning(trainer: Trainer, seeds: list[int]) -> dict[str, Any]:
    """Fit the policy to the teacher's actions (cross-entropy) and the value head to its returns."""
    args = trainer.args
    rows, actions, returns, ets, agent_steps = teacher_decisions(args, trainer.config, seeds)
    trainer.agent_steps += agent_steps  # the learning curve counts the teacher's experience too
    for row, action in zip(rows, actions):
        assert row.mask[action], "the teacher chose a masked action"
    for group in trainer.optimizer.param_groups:
        group["lr"] = args.bc_learning_rate
    losses = []
    accuracy = 0.0
    for _ in range(args.bc_epochs):
        order = trainer.rng.permutation(len(rows))
        correct = 0
        for start in range(0, len(order), args.minibatch_size):
            idx = order[start : start + args.minibatch_size]
            logits, values = trainer.net(collate([rows[i] for i in idx]))
            target = torch.from_numpy(actions[idx])
            policy_loss = torch.nn.functional.cross_entropy(logits, target)
            value_loss = 0.5 * (values - torch.from_numpy(returns[idx])).pow(2).mean()
            loss = policy_loss + args.vf_coef * value_loss
            trainer.optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainer.net.parameters(), args.max_grad_norm)
            trainer.optimizer.step()
            losses.append(policy_loss.item())
            correct += int((logits.argmax(dim=1) == target).sum())
        accuracy = correct / len(rows)
    summary = {
        "teacher": args.bc_teacher,
        "episodes": len(seeds),
        "decisions": len(rows),
        "agent_steps": agent_steps,
        "teacher_ET": float(np.mean(ets)),
        "final_cross_entropy": float(np.mean(losses[-10:])),
        "final_epoch_accuracy": accuracy,
        "minutes": trainer.minutes(),
    }
    print(
        f"[{summary['minutes']:5.1f} min] warm start: {len(rows)} decisions of {args.bc_teacher} (ET "
        f"{summary['teacher_ET']:.1f}), cross-entropy {summary['final_cross_entropy']:.3f}, accuracy {accuracy:.2f}",
        flush=True,
    )
    return summary


# ------------------------------------------------------------------------------------------------------ PPO
@dataclass
class Rollout:
    """Decisions of one rollout, in collection order, with each env copy's decision sequence."""

    rows: list[DecisionRow] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    discounts: list[float] = field(default_factory=list)  # g^elapsed to the next decision, 0 when the episode ended
    sequences: dict[int, list[int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def advantages(self, bootstrap: dict[int, float], lam: float) -> tuple[np.ndarray, np.ndarray]:
        """(GAE advantages, value targets); ``bootstrap[c]``: value of copy c's next decision (its episode goes on)."""
        values = np.asarray(self.values)
        rewards = np.asarray(self.rewards)
        discounts = np.asarray(self.discounts)
        advantages = np.zeros(len(self))
        for c, sequence in self.sequences.items():
            next_value, next_advantage = bootstrap.get(c, 0.0), 0.0
            for i in reversed(sequence):
                delta = rewards[i] + discounts[i] * next_value - values[i]
                next_advantage = delta + discounts[i] * lam * next_advantage
                advantages[i] = next_advantage
                next_value = values[i]
        return advantages, advantages + values


class Trainer:
    """Collects rollouts from the env copies, updates the network, validates, logs."""

    def __init__(self, args: Args, config: CESConfig, run_dir: Path, references: dict[str, float], start: float):
        self.start = start  # the run's wall clock starts with main(): references and warm start count
        self.args = args
        self.config = config
        self.run_dir = run_dir
        self.references = references
        self.net = GraphPolicyNet(NetConfig(hidden=args.hidden, rounds=args.rounds))
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=args.learning_rate, eps=1e-5)
        self.decisions = 0
        self.episodes = 0
        self.agent_steps = 0
        self.updates = 0
        self.best_et = math.inf
        self.best_decisions = 0
        self.validations: list[dict[str, float]] = []
        if args.resume:
            net, data = load_checkpoint(args.resume)
            self.net.load_state_dict(net.state_dict())
            self.optimizer.load_state_dict(data["optimizer"])
            for key in ("decisions", "episodes", "agent_steps", "updates"):
                setattr(self, key, int(data[key]))
        self.rng = np.random.default_rng([args.seed, self.decisions])  # a resumed run draws new episode seeds
        self.min_train_seed = MAX_SEED
        self.copies = [EnvCopy(config) for _ in range(args.n_envs)]
        for copy in self.copies:
            self._start(copy)
        self.recent_et: deque[float] = deque(maxlen=100)
        self.writer = SummaryWriter(str(run_dir))
        self.curve_file = (run_dir / "curve.csv").open("a" if args.resume else "w", newline="")
        self.curve = csv.writer(self.curve_file)
        if not args.resume:
            self.curve.writerow(
                ["kind", "decisions", "agent_steps", "episodes", "wall_seconds", "ET", "ET_mean_100", "seed"]
            )

    def minutes(self) -> float:
        return (time.perf_counter() - self.start) / 60.0

    def _start(self, copy: EnvCopy) -> None:
        while True:
            seed = int(self.rng.integers(TRAIN_SEED_FLOOR, MAX_SEED))
            self.min_train_seed = min(self.min_train_seed, seed)
            copy.start(seed)
            if not copy.driver.over:
                return

    # -------------------------------------------------------------------------------------------- collecting
    def collect(self) -> tuple[Rollout, dict[int, float]]:
        """Play until the rollout holds ``rollout_decisions`` decisions; also the bootstrap values."""
        args = self.args
        rollout = Rollout(sequences={c: [] for c in range(len(self.copies))})
        while len(rollout) < args.rollout_decisions:
            rows: list[DecisionRow] = []
            owners: list[tuple[int, str]] = []
            for c, copy in enumerate(self.copies):
                new = copy.decision_rows()
                rows += new
                owners += [(c, agent) for agent in copy.driver.choosers]
            with torch.no_grad():
                logits, values = self.net(collate(rows))
                distribution = Categorical(logits=logits)
                actions = distribution.sample()
                logprobs = distribution.log_prob(actions)
            per_copy: dict[int, dict[str, int]] = {}
            last_of_copy: dict[int, int] = {}
            for j, ((c, agent), row) in enumerate(zip(owners, rows)):
                action = int(actions[j])
                assert row.mask[action], "sampled a masked action"
                per_copy.setdefault(c, {})[agent] = action
                i = len(rollout.rows)
                rollout.rows.append(row)
                rollout.actions.append(action)
                rollout.logprobs.append(float(logprobs[j]))
                rollout.values.append(float(values[j]))
                rollout.rewards.append(0.0)  # choosers of one tick are 0 ticks apart; the last one is credited below
                rollout.discounts.append(1.0)
                rollout.sequences[c].append(i)
                last_of_copy[c] = i
            for c, actions_of_copy in per_copy.items():
                copy = self.copies[c]
                copy.driver.step(actions_of_copy)
                reward, elapsed = copy.driver.drain_team()
                # time mode pays -elapsed / scale; a stalled episode is charged more (as if run to max_ticks): keep it
                charged = max(float(elapsed), -reward * args.reward_time_scale)
                i = last_of_copy[c]
                rollout.rewards[i] = float(interval_reward(charged, args.gamma_per_tick, args.reward_time_scale))
                rollout.discounts[i] = args.gamma_per_tick**elapsed
                if copy.driver.over:
                    rollout.discounts[i] = 0.0
                    self._episode_done(copy)
                    self._start(copy)
            self.decisions += len(rows)
        # the value of each copy's next decision (its episode goes on past the rollout)
        firsts = [copy.decision_rows()[0] for copy in self.copies]
        with torch.no_grad():
            _, next_values = self.net(collate(firsts))
        return rollout, {c: float(v) for c, v in enumerate(next_values)}

    def _episode_done(self, copy: EnvCopy) -> None:
        metrics = copy.driver.final_metrics()
        et = float(metrics["ET"])
        self.episodes += 1
        self.agent_steps += copy.driver.env_steps * self.config.n_agents  # every agent is live at every env step
        self.recent_et.append(et)
        self.writer.add_scalar("train/episode_ET", et, self.decisions)
        self.writer.add_scalar("train/makespan_ratio", float(metrics["makespan_ratio"]), self.decisions)
        self.curve.writerow(
            [
                "train",
                self.decisions,
                self.agent_steps,
                self.episodes,
                round(time.perf_counter() - self.start, 2),
                et,
                round(float(np.mean(self.recent_et)), 2),
                copy.seed,
            ]
        )

    # -------------------------------------------------------------------------------------------- learning
    def update(self, rollout: Rollout, bootstrap: dict[int, float]) -> dict[str, float]:
        args = self.args
        if args.anneal_lr:
            lr = args.learning_rate * max(0.0, 1.0 - self.decisions / args.total_decisions)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        advantages, returns = rollout.advantages(bootstrap, args.gae_lambda)
        old_logprobs = np.asarray(rollout.logprobs, dtype=np.float32)
        actions = np.asarray(rollout.actions, dtype=np.int64)
        stats: dict[str, list[float]] = {
            "policy_loss": [],
            "value_loss": [],
            "entropy": [],
            "approx_kl": [],
            "clip": [],
        }
        stop = False
        for _ in range(args.n_epochs):
            order = self.rng.permutation(len(rollout))
            kls = []
            for start in range(0, len(order), args.minibatch_size):
                idx = order[start : start + args.minibatch_size]
                logits, values = self.net(collate([rollout.rows[i] for i in idx]))
                distribution = Categorical(logits=logits)
                logprob = distribution.log_prob(torch.from_numpy(actions[idx]))
                log_ratio = logprob - torch.from_numpy(old_logprobs[idx])
                ratio = log_ratio.exp()
                adv = torch.as_tensor(advantages[idx], dtype=torch.float32)
                adv = (adv - adv.mean()) / (adv.std() + 1e-8) if len(idx) > 1 else adv
                policy_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)).mean()
                value_loss = 0.5 * (values - torch.as_tensor(returns[idx], dtype=torch.float32)).pow(2).mean()
                entropy = distribution.entropy().mean()
                loss = policy_loss + args.vf_coef * value_loss - args.ent_coef * entropy
                self.optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.net.parameters(), args.max_grad_norm)
                self.optimizer.step()
                with torch.no_grad():
                    kl = float(((ratio - 1) - log_ratio).mean())
                kls.append(kl)
                stats["policy_loss"].append(policy_loss.item())
                stats["value_loss"].append(value_loss.item())
                stats["entropy"].append(entropy.item())
                stats["approx_kl"].append(kl)
                stats["clip"].append(float(((ratio - 1).abs() > args.clip_coef).float().mean()))
            if args.target_kl is not None and np.mean(kls) > args.target_kl:
                stop = True
                break
        self.updates += 1
        summary = {k: float(np.mean(v)) for k, v in stats.items()}
        summary["lr"] = self.optimizer.param_groups[0]["lr"]
        summary["early_stop"] = float(stop)
        explained = 1 - np.var(returns - np.asarray(rollout.values)) / max(1e-12, float(np.var(returns)))
        summary["explained_variance"] = float(explained)
        for key, value in summary.items():
            self.writer.add_scalar(f"losses/{key}", value, self.decisions)
        return summary

    # -------------------------------------------------------------------------------------------- validation
    def validate(self) -> float:
        """Greedy mean ET on the validation seeds; saves the network when it is the best so far (``keep_best``)."""
        seeds = validation_seeds(self.args)
        assert all(VALIDATION_SEED_BASE <= s < TRAIN_SEED_FLOOR for s in seeds)
        self.net.eval()
        ets = [float(m["ET"]) for m in greedy_episodes(self.net, self.config, seeds)]
        self.net.train()
        et = float(np.mean(ets))
        record: dict[str, float] = {"decisions": self.decisions, "ET": et, "minutes": self.minutes()}
        self.writer.add_scalar("validation/ET", et, self.decisions)
        for name, reference in self.references.items():
            record[f"pct_vs_{name}"] = 100.0 * (et / reference - 1.0)
            self.writer.add_scalar(f"validation/pct_vs_{name}", record[f"pct_vs_{name}"], self.decisions)
        self.validations.append(record)
        self.curve.writerow(
            ["validation", self.decisions, self.agent_steps, self.episodes, round(record["minutes"] * 60, 2), et]
        )
        self.curve_file.flush()
        if et < self.best_et:
            self.best_et, self.best_decisions = et, self.decisions
            if self.args.keep_best:
                self.save(self.args.out)
        gaps = " ".join(f"{k[7:]}={v:+.1f}%" for k, v in record.items() if k.startswith("pct_vs_"))
        print(
            f"[{record['minutes']:5.1f} min] decisions {self.decisions:>7}  validation ET {et:7.1f}  {gaps}", flush=True
        )
        return et

    def save(self, path: str | Path) -> None:
        save_checkpoint(
            path,
            self.net,
            optimizer=self.optimizer.state_dict(),
            decisions=self.decisions,
            episodes=self.episodes,
            agent_steps=self.agent_steps,
            updates=self.updates,
        )

    def close(self) -> None:
        self.writer.close()
        self.curve_file.close()


# ------------------------------------------------------------------------------------------------------ main
def main(args: Args, argv: list[str] | None = None) -> dict[str, Any]:
    """Train, save the checkpoint and its sidecar, optionally evaluate; returns a summary (also in the sidecar)."""
    torch.set_num_threads(args.torch_threads)
    torch.manual_seed(args.seed)
    overrides = env_overrides(args)
    config = make_config(args.env_preset, **overrides)
    if config.exploration_mode != "auto":
        raise ValueError("--set exploration_mode: the graph policy chooses tasks only; use exploration_mode=auto")
    # evaluation seeds < validation seeds < training seeds: the three ranges never meet
    last_validation_seed = VALIDATION_SEED_BASE + args.validation_episodes
    assert EVAL_SEED_LIMIT <= VALIDATION_SEED_BASE <= last_validation_seed <= TRAIN_SEED_FLOOR
    run_name = args.run_name or f"ppo_graph_{args.env_preset}_{args.control}_s{args.seed}"
    run_dir = Path(args.log_dir) / run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    references = reference_validation(config, validation_seeds(args)) if args.validation_episodes else {}
    trainer = Trainer(args, config, run_dir, references, start)
    next_validation = trainer.decisions + args.validate_every if args.validate_every > 0 else None
    stopped_by_budget = False
    warm_start: dict[str, Any] = {}
    try:
        if args.bc_teacher and not args.resume:
            bc_seeds = [int(trainer.rng.integers(TRAIN_SEED_FLOOR, MAX_SEED)) for _ in range(args.bc_episodes)]
            trainer.min_train_seed = min([trainer.min_train_seed, *bc_seeds])
            warm_start = behaviour_cloning(trainer, bc_seeds)
            if args.validation_episodes:
                warm_start["validation_ET"] = trainer.validate()
        while trainer.decisions < args.total_decisions:
            rollout, bootstrap = trainer.collect()
            losses = trainer.update(rollout, bootstrap)
            et100 = float(np.mean(trainer.recent_et)) if trainer.recent_et else math.nan
            print(
                f"[{trainer.minutes():5.1f} min] decisions {trainer.decisions:>7}  episodes {trainer.episodes:>5}  "
                f"train ET(100) {et100:7.1f}  entropy {losses['entropy']:.3f}  kl {losses['approx_kl']:.4f}  "
                f"ev {losses['explained_variance']:+.2f}",
                flush=True,
            )
            if next_validation is not None and trainer.decisions >= next_validation:
                next_validation += args.validate_every
                trainer.validate()
            if args.max_minutes > 0 and trainer.minutes() >= args.max_minutes:
                stopped_by_budget = True
                break
        validated = trainer.validations and trainer.validations[-1]["decisions"] == trainer.decisions
        if args.validation_episodes and not validated:
            trainer.validate()
    finally:
        trainer.close()
    wall_seconds = time.perf_counter() - trainer.start
    if not (args.keep_best and args.validation_episodes):
        trainer.save(args.out)
    if trainer.min_train_seed < TRAIN_SEED_FLOOR:
        raise RuntimeError(f"a training seed {trainer.min_train_seed} is below TRAIN_SEED_FLOOR")
    command = "python " + " ".join(shlex.quote(a) for a in [_script_path(), *(sys.argv[1:] if argv is None else argv)])
    summary = {
        "wall_seconds": round(wall_seconds, 1),
        "decisions": trainer.decisions,
        "episodes": trainer.episodes,
        "agent_steps": trainer.agent_steps,
        "updates": trainer.updates,
        "stopped_by_budget": stopped_by_budget,
        "warm_start": warm_start,
        "best_validation_ET": trainer.best_et,
        "best_validation_decisions": trainer.best_decisions,
        "saved": "best validation" if args.keep_best and args.validation_episodes else "last",
        "validation_references": references,
        "validations": trainer.validations,
        "torch_threads": args.torch_threads,
        "parameters": sum(p.numel() for p in trainer.net.parameters()),
        "run_dir": str(run_dir),
    }
    seeds = {
        "root": args.seed,
        "training": f"numpy default_rng([{args.seed}, decisions at start]).integers({TRAIN_SEED_FLOOR}, 2**63-1) "
        "per episode (asserted >= TRAIN_SEED_FLOOR)",
        "min_training_seed_seen": trainer.min_train_seed,
        "validation": [VALIDATION_SEED_BASE, VALIDATION_SEED_BASE + args.validation_episodes - 1],
    }
    write_sidecar(
        args.out,
        family="graph",
        env_config=config.to_dict(),
        args=dataclasses.asdict(args),
        seeds=seeds,
        command=command,
        extra={"training": summary},
    )
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    print(
        f"saved {args.out} ({summary['saved']}, validation ET {trainer.best_et:.1f} at {trainer.best_decisions} "
        f"decisions); trained {trainer.decisions} decisions, {trainer.episodes} episodes in "
        f"{wall_seconds / 60:.1f} min"
    )
    if args.eval_seeds > 0:
        from evaluate import evaluate_suites, print_suite_tables

        results = evaluate_suites(
            [f"graph:{args.out}"],
            ["train"],
            seeds=args.eval_seeds,
            out_dir=run_dir / "eval",
            workers=args.eval_workers,
            base_preset=args.env_preset,
            base_overrides={
                k: v for k, v in overrides.items() if k not in ("reward_mode", "reward_time_scale", "n_candidates")
            },
            progress=False,
        )
        print_suite_tables(results)
        summary["evaluation"] = {name: suite.comparisons for name, suite in results.items()}
    return summary


def _script_path() -> str:
    """This script's path relative to the repository (how the command in the sidecar is meant to be run)."""
    here = Path(__file__).resolve()
    try:
        return str(here.relative_to(REPO_ROOT))
    except ValueError:
        return str(here)


if __name__ == "__main__":
    main(parse_args(Args, description=__doc__))

"""PPO with ONE policy shared by every agent: sb3-contrib's MaskablePPO on ``ces_env.wrappers.SB3VecEnv``.

CleanRL style: this file is the whole method. Run it from the repository::

    python train/ppo_shared.py --help
    python train/ppo_shared.py                      # the quick preset: small, decentralized, <= 15 min on 2 cores
    ces-bench run --policy ppo:train/checkpoints/ppo_shared_small.zip,ces-decentralized,knowledge-aware \\
        --preset small --set control=decentralized --seeds 100 --out runs/eval_small

What is learned. Every agent that has a choice (two or more legal actions) is one row of the learner's batch; the
observation is the agent's own (``ces_env.observations``: its status, the time, its group's state, its identity
features and K ready-task slots ordered by reward), the action is wait or one of the K slots, illegal actions are
masked. One network serves all agents (parameter sharing); identity features (``index_in_group``,
``decider_rank``) let simultaneous deciders of a group act differently. With ``reward_mode="time"`` every decision
is credited with minus the ticks that elapsed since the previous decision of its env copy, over
``reward_time_scale``, so a row's undiscounted return is ``-ET / reward_time_scale``: maximising it minimises ET.

Seeds. Training episodes use the seeds ``SB3VecEnv`` derives from ``--seed`` (63-bit, asserted >=
``TRAIN_SEED_FLOOR`` = 10**6 for every episode); greedy validation during training uses ``VALIDATION_SEED_BASE + i``
(100000...); every reported evaluation uses seeds below ``EVAL_SEED_LIMIT`` (0..N-1). torch, numpy and Python's
``random`` are seeded through SB3's ``seed=``.

Outputs. ``--out`` (a MaskablePPO zip, with the optimizer state for ``--resume``) and its JSON sidecar (the
CESConfig, these arguments, the seeds, the command, the git commit, training statistics), so that
``ces-bench run --policy ppo:PATH`` never needs the training command. TensorBoard logs and a ``curve.csv`` (ET against
decisions and agent-steps, training and greedy validation) under ``--log-dir/RUN_NAME``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import resource
import shlex
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sb3_contrib import MaskablePPO
from stable_baselines3.common.callbacks import BaseCallback

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling scripts (evaluate, dataclass_cli), run or imported

from dataclass_cli import parse_args  # noqa: E402
from evaluate import REPO_ROOT, reference_validation  # noqa: E402
from stable_baselines3.common.vec_env import VecEnv  # noqa: E402
from vec_processes import ProcessVecEnv  # noqa: E402

from ces_baselines.learned import (  # noqa: E402
    TRAIN_SEED_FLOOR,
    VALIDATION_SEED_BASE,
    greedy_masked_actions,
    write_sidecar,
)
from ces_baselines.learned_nets import SlotScoringPolicy  # noqa: E402
from ces_env.config import make_config  # noqa: E402
from ces_env.summary import parse_set  # noqa: E402
from ces_env.wrappers import SB3VecEnv  # noqa: E402

ACTIVATIONS = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}


@dataclass
class Args:
    """Train one MaskablePPO policy shared by all agents on one family of CES instances (the defaults are the quick
    preset: preset small, decentralized control, 300k decisions: 6.4 minutes on 2 cores for the committed checkpoint,
    stopped at 14 minutes on a slower or busier machine)."""

    # --- the training family -------------------------------------------------------------------------------------
    env_preset: str = "small"
    """ces_env preset of the training instances (random layered LDS DAGs, 10 agents, 2 groups, 40 tasks, 20x20)."""
    control: str = "decentralized"
    """Control protocol during training (held-out evaluation also plays the other one)."""
    set: list[str] = field(default_factory=list)
    """Further config overrides FIELD=VALUE (JSON value or bare string), as ces-bench --set."""
    reward_time_scale: float = 1000.0
    """Ticks per unit of reward (reward_mode="time"): about the ET of a small episode, so returns are near -1.5."""

    # --- budget ----------------------------------------------------------------------------------------------------
    total_decisions: int = 300_000
    """Learner steps (decisions, one row each) to train for; the learning rate anneals over this many."""
    max_minutes: float = 14.0
    """Stop training after this many minutes of wall clock since the script started (set-up, reference runs and
    validation included; the final validation and saving follow). 0: no limit."""

    # --- PPO -------------------------------------------------------------------------------------------------------
    n_envs: int = 16
    """Env copies (rows) collected in parallel."""
    n_processes: int = 2
    """Worker processes stepping those rows (the env is most of the time; 1: all in this process)."""
    n_steps: int = 128
    """Decisions per row per rollout (a rollout is n_envs * n_steps decisions)."""
    batch_size: int = 128
    """Minibatch size of the PPO update."""
    n_epochs: int = 10
    """Passes over each rollout."""
    learning_rate: float = 3e-4
    """Adam step size at the start (annealed linearly to 0 over total_decisions when anneal_lr)."""
    anneal_lr: bool = True
    """Anneal the learning rate linearly to 0."""
    gamma: float = 1.0
    """Discount per decision. 1: the return is exactly -ET/scale. Below 1, a policy that makes more decisions (waits
    more) pushes the same ticks further into the discounted future, and training learned to wait (0.995 did)."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip_range: float = 0.2
    """PPO clipping of the probability ratio."""
    ent_coef: float = 0.003
    """Entropy bonus weight."""
    vf_coef: float = 0.5
    """Value loss weight."""
    max_grad_norm: float = 0.5
    """Gradient norm clipping."""
    target_kl: float | None = None
    """Stop an update's epochs early past this KL (none: never)."""
    policy_net: str = "slots"
    """Actor: "slots" (one scorer shared across the K slots, ces_baselines.learned_nets) or "mlp" (a plain MLP)."""
    slot_hidden: int = 64
    """Width of the slot scorer (policy_net="slots")."""
    hidden: tuple[int, ...] = (128, 128)
    """Hidden layers of the value network (and of the actor with policy_net="mlp"; separate networks)."""
    activation: str = "tanh"
    """Hidden activation: tanh or relu."""

    # --- seeds, validation, outputs --------------------------------------------------------------------------------
    seed: int = 1
    """Root seed: torch, numpy, Python random and the training episodes' seeds (derived, all >= 10**6)."""
    torch_threads: int = 1
    """torch threads (batches are small; more threads mostly contend with the env on 2 cores)."""
    validate_every: int = 20_480
    """Greedy validation every this many decisions (0: only at the end)."""
    validation_episodes: int = 48
    """Validation seeds VALIDATION_SEED_BASE + 0..N-1 (disjoint from training and from evaluation seeds)."""
    keep_best: bool = True
    """Save the model with the best greedy validation ET (else the last one)."""
    out: str = "train/checkpoints/ppo_shared_small.zip"
    """Checkpoint path (a sidecar .json is written beside it)."""
    log_dir: str = "runs"
    """TensorBoard logs and curve.csv go to LOG_DIR/RUN_NAME (gitignored)."""
    run_name: str = ""
    """Run folder name (empty: ppo_shared_<env_preset>_<control>_s<seed>)."""
    resume: str = ""
    """Continue training this checkpoint (its optimizer state and step count) instead of starting afresh."""
    eval_seeds: int = 0
    """After training, evaluate through the harness on seeds 0..N-1 against the CES reference of the control and
    knowledge-aware (0: skip; train/evaluate.py gives the full tables and the held-out suites)."""
    eval_workers: int = 2
    """Worker processes of that evaluation."""


# --------------------------------------------------------------------------------------------------------------------
def env_overrides(args: Args) -> dict[str, Any]:
    """The training env's config fields beyond the preset."""
    return {
        **parse_set(list(args.set)),
        "control": args.control,
        "reward_mode": "time",
        "reward_time_scale": args.reward_time_scale,
    }


def validation_seeds(args: Args) -> list[int]:
    return [VALIDATION_SEED_BASE + i for i in range(args.validation_episodes)]


class CurveLogger(BaseCallback):
    """Logs every finished training episode (ET against decisions and agent-steps), runs greedy validation every
    ``validate_every`` decisions, keeps the best model, enforces the wall-clock budget and the seed ranges."""

    def __init__(
        self,
        args: Args,
        run_dir: Path,
        references: dict[str, float],
        n_agents: int,
        start: float,
        validation_env: SB3VecEnv,
    ):
        super().__init__()
        self.args = args
        self.validation_env = validation_env
        self.run_dir = run_dir
        self.references = references  # mean validation ET of scripted references on the validation seeds
        self.n_agents = n_agents
        self.recent_et: deque[float] = deque(maxlen=100)
        self.episodes = 0
        self.env_steps = 0
        self.min_train_seed: int | None = None
        self.start = start  # the script's start: the budget covers set-up and reference runs too
        self.next_validation = args.validate_every if args.validate_every > 0 else None
        self.best_et = float("inf")
        self.best_decisions = 0
        self.validations: list[dict[str, float]] = []
        self.curve_file = (run_dir / "curve.csv").open("w", newline="")
        self.curve = csv.writer(self.curve_file)
        self.curve.writerow(
            ["kind", "decisions", "agent_steps", "episodes", "wall_seconds", "ET", "ET_mean_100", "seed"]
        )
        self.stopped_by_budget = False

    def minutes(self) -> float:
        return (time.perf_counter() - self.start) / 60.0

    def _check_seed(self, seed: int) -> None:
        if seed < TRAIN_SEED_FLOOR:  # never train on an evaluation or validation seed
            raise RuntimeError(f"training episode seed {seed} is below TRAIN_SEED_FLOOR={TRAIN_SEED_FLOOR}")
        self.min_train_seed = seed if self.min_train_seed is None else min(self.min_train_seed, seed)

    def _on_training_start(self) -> None:
        for info in self.training_env.reset_infos:
            self._check_seed(int(info["seed"]))

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "metrics" not in info:
                continue
            self._check_seed(int(info["seed"]))
            et = float(info["metrics"]["ET"])
            self.episodes += 1
            self.env_steps += int(info["env_steps"])
            self.recent_et.append(et)
            self.logger.record_mean("train/episode_ET", et)
            self.logger.record_mean("train/makespan_ratio", float(info["metrics"]["makespan_ratio"]))
            self.curve.writerow(
                [
                    "train",
                    self.num_timesteps,
                    self.agent_steps,
                    self.episodes,
                    round(time.perf_counter() - self.start, 2),
                    et,
                    round(float(np.mean(self.recent_et)), 2),
                    int(info["seed"]),
                ]
            )
        if self.next_validation is not None and self.num_timesteps >= self.next_validation:
            self.next_validation += self.args.validate_every
            self.validate()
        if self.args.max_minutes > 0 and self.minutes() >= self.args.max_minutes:
            self.stopped_by_budget = True
            return False
        return True

    @property
    def agent_steps(self) -> int:
        """Agent-steps of the finished training episodes: every agent is live at every env step of an episode."""
        return self.env_steps * self.n_agents

    def validate(self) -> float:
        """Greedy ET on the validation seeds; saves the model when it is the best so far (``keep_best``)."""
        summaries = self.validation_env.evaluate(
            lambda o, m: greedy_masked_actions(self.model, o, m), validation_seeds(self.args)
        )
        et = float(np.mean([s.metrics["ET"] for s in summaries]))
        record = {"decisions": self.num_timesteps, "ET": et, "minutes": self.minutes()}
        self.validations.append(record)
        self.logger.record("validation/ET", et)
        for name, reference in self.references.items():
            gap = 100.0 * (et / reference - 1.0)
            record[f"pct_vs_{name}"] = gap
            self.logger.record(f"validation/pct_vs_{name}", gap)
        self.curve.writerow(
            [
                "validation",
                self.num_timesteps,
                self.agent_steps,
                self.episodes,
                round(record["minutes"] * 60, 2),
                et,
                "",
                "",
            ]
        )
        self.curve_file.flush()
        if et < self.best_et:
            self.best_et, self.best_decisions = et, self.num_timesteps
            if self.args.keep_best:
                self.model.save(self.args.out)
        gaps = " ".join(f"{k}={v:+.1f}%" for k, v in record.items() if k.startswith("pct_vs_"))
        print(
            f"[{record['minutes']:5.1f} min] decisions {self.num_timesteps:>8}  validation ET {et:8.1f}  {gaps}",
            flush=True,
        )
        return et

    def close(self) -> None:
        self.curve_file.close()


def make_model(args: Args, env: VecEnv, run_dir: Path) -> MaskablePPO:
    if args.activation not in ACTIVATIONS:
        raise ValueError(f"--activation: {args.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    learning_rate: Any = args.learning_rate
    if args.anneal_lr:
        learning_rate = lambda progress_remaining: args.learning_rate * progress_remaining  # noqa: E731
    if args.resume:
        model = MaskablePPO.load(args.resume, env=env, device="cpu", tensorboard_log=str(run_dir))
        model.learning_rate = learning_rate
        model._setup_lr_schedule()
        return model
    if args.policy_net not in ("slots", "mlp"):
        raise ValueError(f"--policy-net: {args.policy_net!r}; choose slots or mlp")
    policy_kwargs: dict[str, Any] = {
        "net_arch": {"pi": list(args.hidden), "vf": list(args.hidden)},
        "activation_fn": ACTIVATIONS[args.activation],
    }
    policy: Any = "MlpPolicy"
    if args.policy_net == "slots":
        policy = SlotScoringPolicy
        policy_kwargs.update(net_arch={"pi": [], "vf": list(args.hidden)}, slot_hidden=args.slot_hidden)
    return MaskablePPO(
        policy,
        env,
        learning_rate=learning_rate,
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        n_epochs=args.n_epochs,
        gamma=args.gamma,
        gae_lambda=args.gae_lambda,
        clip_range=args.clip_range,
        ent_coef=args.ent_coef,
        vf_coef=args.vf_coef,
        max_grad_norm=args.max_grad_norm,
        target_kl=args.target_kl,
        policy_kwargs=policy_kwargs,
        tensorboard_log=str(run_dir),
        seed=args.seed,
        device="cpu",
        verbose=0,
    )


def main(args: Args, argv: list[str] | None = None) -> dict[str, Any]:
    """Train, save the checkpoint and its sidecar, optionally evaluate; returns a summary (also in the sidecar)."""
    start = time.perf_counter()
    cpu_start, load_start = time.process_time(), os.getloadavg()[0]
    torch.set_num_threads(args.torch_threads)
    overrides = env_overrides(args)
    config = make_config(args.env_preset, **overrides)
    run_name = args.run_name or f"ppo_shared_{args.env_preset}_{args.control}_s{args.seed}"
    run_dir = Path(args.log_dir) / run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)

    env: SB3VecEnv | ProcessVecEnv
    if args.n_processes > 1:
        env = ProcessVecEnv(n_envs=args.n_envs, n_processes=args.n_processes, seed=args.seed, config=config)
    else:
        env = SB3VecEnv(n_envs=args.n_envs, seed=args.seed, config=config)
    validation_env = SB3VecEnv(n_envs=8, seed=None, config=config)  # plays given seeds only (evaluate)
    references = reference_validation(config, validation_seeds(args)) if args.validation_episodes else {}
    model = make_model(args, env, run_dir)
    logger = CurveLogger(args, run_dir, references, config.n_agents, start, validation_env)
    try:
        model.learn(
            total_timesteps=args.total_decisions,
            callback=logger,
            tb_log_name="tb",
            reset_num_timesteps=not args.resume,
        )
        last = logger.validations[-1]["decisions"] if logger.validations else -1
        if args.validation_episodes and last != model.num_timesteps:
            logger.validate()
    finally:
        logger.close()
        env.close()
        validation_env.close()
    train_seconds = time.perf_counter() - start
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the env workers, joined by env.close()
    if not (args.keep_best and args.validation_episodes):
        model.save(args.out)
    command = "python " + " ".join(shlex.quote(a) for a in [_script_path(), *(sys.argv[1:] if argv is None else argv)])
    summary = {
        "train_seconds": round(train_seconds, 1),
        # the machine may be shared: CPU time and the load average say how much of the wall time was ours
        "cpu_seconds_main": round(time.process_time() - cpu_start, 1),
        "cpu_seconds_env_workers": round(workers.ru_utime + workers.ru_stime, 1),
        "load_average_1min": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "cpu_count": os.cpu_count(),
        "decisions": int(model.num_timesteps),
        "episodes": logger.episodes,
        "agent_steps": logger.agent_steps,
        "stopped_by_budget": logger.stopped_by_budget,
        "best_validation_ET": logger.best_et,
        "best_validation_decisions": logger.best_decisions,
        "saved": "best validation" if args.keep_best and args.validation_episodes else "last",
        "validation_references": references,
        "validations": logger.validations,
        "torch_threads": args.torch_threads,
        "run_dir": str(run_dir),
    }
    seeds = {
        "root": args.seed,
        "training": f"SB3VecEnv(seed={args.seed}) derived 63-bit episode seeds, all >= {TRAIN_SEED_FLOOR} (asserted)",
        "min_training_seed_seen": logger.min_train_seed,
        "validation": [VALIDATION_SEED_BASE, VALIDATION_SEED_BASE + args.validation_episodes - 1],
    }
    write_sidecar(
        args.out,
        family="ppo",
        env_config=config.to_dict(),
        args=dataclasses.asdict(args),
        seeds=seeds,
        command=command,
        extra={"training": summary},
    )
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"saved {args.out} ({summary['saved']}, validation ET {logger.best_et:.1f} at {logger.best_decisions} "
        f"decisions); trained {summary['decisions']} decisions, {logger.episodes} episodes in "
        f"{train_seconds / 60:.1f} min"
    )
    if args.eval_seeds > 0:
        from evaluate import (
            STRONG_REFERENCE,
            evaluate_suites,
            print_suite_tables,
            reference_policy,
            scripted_references,
        )

        results = evaluate_suites(
            [f"ppo:{args.out}"],
            ["train"],
            seeds=args.eval_seeds,
            out_dir=run_dir / "eval",
            workers=args.eval_workers,
            references=[r for r in (reference_policy(args.control), STRONG_REFERENCE) if r in scripted_references()],
            base_preset=args.env_preset,
            base_overrides={k: v for k, v in overrides.items() if k not in ("reward_mode", "reward_time_scale")},
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

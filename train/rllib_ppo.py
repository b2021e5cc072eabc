"""Multi-agent PPO in Ray RLlib with ONE policy shared by every agent and action masking, on ``rllib_env``.

CleanRL style: this file is the whole method. It trains what ``train/ppo_shared.py`` trains (a shared policy over
each agent's own observation, wait or one of K ready-task slots, illegal actions masked) for users who outgrow one
machine: RLlib samples episodes on ``--num-env-runners`` processes, which a Ray cluster spreads over its nodes::

    python train/rllib_ppo.py --help
    python train/rllib_ppo.py --num-cpus 2                         # the quick preset: one sampling process, <= 15 min
    python train/rllib_ppo.py --num-env-runners 2 --num-cpus 3     # local Ray instance, two sampling processes
    python train/rllib_ppo.py --ray-address auto --num-env-runners 32 --train-batch-size 32000  # on a cluster node
    ces-bench run --policy rllib:train/checkpoints/rllib_ppo_small.pt,ces-decentralized \\
        --preset small --set control=decentralized --seeds 100 --out runs/eval_rllib

What is learned. RLlib's new API stack: the env is ``ces_env.wrappers.rllib`` (its obs dicts hold only the agents
with a real choice, each observation ``{"observations", "action_mask"}``), every agent maps to the module
``"shared"``, an RLlib wrapper (``ces_baselines.rllib_module``) around a plain torch network
(``ces_baselines.rllib_policy.MaskedActorCritic``): by default ``ppo_shared.py``'s actor, one scorer shared across
the K slots, and a separate value MLP; masked logits. Steps are counted in agent steps, i.e. decisions, as
``ppo_shared.py`` counts them. With ``reward_mode="time"`` each agent is paid minus the ticks since its previous
decision (over ``reward_time_scale``), so with ``gamma=1`` an agent's return from a decision is minus the ticks left
to the end of the episode: the objective, ET, itself. The other defaults are ``ppo_shared.py``'s (batches of 2048
decisions, 10 epochs of 128-row minibatches, Adam 3e-4, entropy 0.003, clip 0.2, no KL term) except GAE lambda, which
here runs over one agent's decisions (``Args.gae_lambda``).

Seeds. Every training episode plays a seed drawn from the training range (>= ``TRAIN_SEED_FLOOR`` = 10**6), one
stream per env copy (:class:`TrainingEnv`: rooted at ``--seed``, the env runner and RLlib's per-copy seed); greedy
validation plays ``VALIDATION_SEED_BASE + i``; reported evaluations use seeds below ``EVAL_SEED_LIMIT``. RLlib seeds
torch, numpy and ``random`` in every env runner from ``--seed`` (``config.debugging(seed=...)``).

Reproducibility. Two runs with the same arguments give the same iterations and weights (tested with 0 env runners in
one process; measured with 1 and 2 runners in separate runs) when (a) the string-hash seed is fixed: RLlib orders
the agents of a step by iterating sets of string ids, so the process's hash seed decides which agent gets which
sampled action (this script re-runs itself with ``PYTHONHASHSEED=HASH_SEED`` and gives the Ray workers it starts the
same; workers of a Ray instance started elsewhere keep theirs), and (b) the run is bounded by ``--iterations``, not by
``--max-minutes`` (the wall-clock budget stops after as many iterations as the machine's load allows: pass
``--max-minutes 0``). The committed checkpoint's run predates (a) and was stopped by (b): it cannot be replayed.

Outputs. ``--out``: the shared network as one small torch file (``ces_baselines.rllib_policy.export_network``:
constructor arguments and weights, no optimizer; the harness loads it with torch alone, no Ray) and its JSON sidecar
(CESConfig, these arguments, seeds, command, git commit, training statistics, CPU seconds): ``rllib:PATH`` in the
harness plays it greedily. ``LOG_DIR/RUN_NAME/algorithm``: RLlib's full algorithm checkpoint (``--resume`` continues
from it). ``LOG_DIR/RUN_NAME``: ``curve.csv`` (ET against decisions and agent-steps, per iteration and greedy
validation), ``results.jsonl`` (RLlib's result dict of every iteration) and TensorBoard scalars when tensorboard is
installed.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import shlex
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling scripts (evaluate, dataclass_cli), run or imported

from dataclass_cli import parse_args  # noqa: E402
from evaluate import REPO_ROOT, reference_validation  # noqa: E402

from ces_baselines.learned import TRAIN_SEED_FLOOR, VALIDATION_SEED_BASE, write_sidecar  # noqa: E402
from ces_baselines.rllib_policy import (  # noqa: E402
    MODULE_ID,
    NETWORKS,
    MaskedActorCritic,
    export_network,
    greedy_episode,
)
from ces_env.config import make_config  # noqa: E402
from ces_env.observations import ActionLayout, observation_size  # noqa: E402
from ces_env.summary import parse_set  # noqa: E402

try:
    import ray
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.tune.registry import register_env

    from ces_baselines.rllib_module import MaskedActorCriticRLModule, network_weights
    from ces_env.wrappers.rllib import CESMultiAgentEnv
except ImportError as error:  # pragma: no cover - exercised only without Ray
    raise ImportError('train/rllib_ppo.py needs Ray RLlib: pip install -c constraints.txt -e ".[ray]"') from error

ENV_NAME = "ces-rllib-train"
SEED_ROOT_KEY = "training_seed_root"
"""env_config key of :class:`TrainingEnv`'s root seed (removed before the CES config is built)."""
ACTIVATIONS = ("tanh", "relu")
HASH_SEED = "0"
"""PYTHONHASHSEED of this script and of the Ray workers it starts. RLlib keeps the agents of an env step in sets of
string ids, whose iteration order (so which agent gets which of the actions sampled for a batch) follows the
process's string-hash seed, random per process unless fixed: two runs of the same --seed then sample different
episodes from the first iteration on (measured: 206 and 204 decisions in a tiny run's first iteration, identical
with the hash seed fixed)."""


@dataclass
class Args:
    """Train one PPO policy shared by all agents with Ray RLlib (multi-agent, action masking) on one family of CES
    instances; sampling scales out with --num-env-runners and a Ray cluster (--ray-address)."""

    # --- the training family -------------------------------------------------------------------------------------
    env_preset: str = "small"
    """ces_env preset of the training instances (random layered LDS DAGs, 10 agents, 2 groups, 40 tasks, 20x20)."""
    control: str = "decentralized"
    """Control protocol during training (held-out evaluation also plays the other one)."""
    set: list[str] = field(default_factory=list)
    """Further config overrides FIELD=VALUE (JSON value or bare string), as ces-bench --set."""
    reward_time_scale: float = 1000.0
    """Ticks per unit of reward (reward_mode="time"): about the ET of a small episode, so returns are near -1.5."""

    # --- Ray -------------------------------------------------------------------------------------------------------
    ray_address: str | None = None
    """Address of a running Ray cluster (auto: the one this node belongs to; HOST:PORT of its head's GCS); none:
    start a local Ray instance."""
    num_cpus: int | None = None
    """CPUs of the local Ray instance (none: every core); ignored with --ray-address."""
    num_env_runners: int = 1
    """Sampling processes (Ray actors, one CPU each); 0: sample in this process."""
    num_envs_per_env_runner: int = 8
    """Env copies each sampler steps together (one batched module call for the choosers of all copies)."""

    # --- budget ----------------------------------------------------------------------------------------------------
    iterations: int = 150
    """Training iterations (each: sample train_batch_size decisions, then num_epochs passes of PPO updates); 150 x
    2048 is ppo_shared.py's 300k decisions."""
    max_minutes: float = 14.0
    """Stop after the iteration that passes this many minutes of wall clock (0: no limit), so that the quick preset
    stays within 15 minutes on a busy machine. A run it stops is not reproducible (the iteration count depends on
    the load): 0 for a replayable run."""

    # --- PPO -------------------------------------------------------------------------------------------------------
    train_batch_size: int = 2048
    """Decisions (agent steps) sampled per iteration, over all env runners (ppo_shared.py: 16 copies x 128)."""
    minibatch_size: int = 128
    """Minibatch size of the PPO update (small minibatches, many gradient steps per sample: what made
    ppo_shared.py learn within its budget)."""
    num_epochs: int = 10
    """Passes over each iteration's batch."""
    lr: float = 1e-4
    """Adam step size, constant (RLlib schedules it by env steps, which are not decisions here). ppo_shared.py's 3e-4
    (annealed there) peaked at 8.7 percent below CES's validation ET after 50k decisions, then the policy's entropy
    collapsed and it drifted back to CES's ET; 1e-4 reached 12.3 percent below at 100k decisions."""
    gamma: float = 1.0
    """Discount per decision of an agent. 1: an agent's return is then minus the ticks from its decision to the end
    (over reward_time_scale), the objective itself; a discount per decision rewards pushing the same ticks further
    away by deciding less often, which teaches waiting (reports/learned.md, what was tried)."""
    gae_lambda: float = 0.7
    """GAE lambda, over each agent's own decisions. An agent decides about 7 times an episode, so 0.95 makes its
    advantage nearly the Monte Carlo return (the whole episode's ET noise; the policy collapsed towards CES within
    160k decisions); 0.7 bootstraps from the time-to-go critic after about 3 of its decisions, about as local as
    ppo_shared.py's 0.95 over the interleaved decisions of all 10 agents."""
    clip_param: float = 0.2
    """PPO clipping of the probability ratio."""
    entropy_coeff: float = 0.003
    """Entropy bonus weight."""
    vf_loss_coeff: float = 0.5
    """Value loss weight."""
    grad_clip: float | None = 0.5
    """Gradient norm clipping (none: off)."""
    network: str = "slots"
    """The actor: slots (ppo_shared.py's slot scorer, one small network shared across the K ready-task slots) or mlp
    (an MLP of --hidden layers over the observation, RLlib's default network)."""
    slot_hidden: int = 64
    """Width of the slot scorer (network slots)."""
    hidden: tuple[int, ...] = (128, 128)
    """Hidden layer sizes of the value network (and of the actor with network mlp)."""
    activation: str = "tanh"
    """Hidden activation: tanh or relu."""

    # --- seeds, validation, outputs --------------------------------------------------------------------------------
    seed: int = 1
    """Root seed: RLlib's seeding of torch/numpy/random and the training episodes' seeds (all >= 10**6)."""
    torch_threads: int = 1
    """torch threads of the learner in this process (batches are small; more threads contend with sampling)."""
    validate_every: int = 5
    """Greedy validation every this many iterations (0: only at the end): 48 greedy episodes take a few seconds."""
    validation_episodes: int = 48
    """Validation seeds VALIDATION_SEED_BASE + 0..N-1 (disjoint from training and from evaluation seeds)."""
    keep_best: bool = True
    """Export the module with the best greedy validation ET (else the last one)."""
    out: str = "train/checkpoints/rllib_ppo_small.pt"
    """The shared network's export (plain torch, no optimizer), what rllib:PATH evaluates (a sidecar .json is
    written beside it)."""
    log_dir: str = "runs"
    """curve.csv, results.jsonl, TensorBoard logs and RLlib's algorithm checkpoint go to LOG_DIR/RUN_NAME."""
    run_name: str = ""
    """Run folder name (empty: rllib_ppo_<env_preset>_<control>_s<seed>)."""
    resume: str = ""
    """Continue from this RLlib algorithm checkpoint folder (weights, optimizer, counters) instead of afresh; the
    episode seed streams start over (pass another --seed to train on new episodes)."""
    eval_seeds: int = 0
    """After training, evaluate through the harness on seeds 0..N-1 against the references (0: skip)."""
    eval_workers: int = 2
    """Worker processes of that evaluation."""

    def __post_init__(self) -> None:
        positive = (
            "iterations",
            "train_batch_size",
            "minibatch_size",
            "num_epochs",
            "num_envs_per_env_runner",
            "slot_hidden",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')}: must be >= 1, got {getattr(self, name)}")
        for name in ("num_env_runners", "validate_every", "validation_episodes", "eval_seeds", "seed"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')}: must be >= 0, got {getattr(self, name)}")
        if self.minibatch_size > self.train_batch_size:
            raise ValueError(
                f"--minibatch-size {self.minibatch_size} is larger than --train-batch-size {self.train_batch_size}"
            )
        if self.network not in NETWORKS:
            raise ValueError(f"--network: {self.network!r}; choose one of {', '.join(NETWORKS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"--activation: {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"--hidden: layer sizes must be >= 1, got {self.hidden}")


# ------------------------------------------------------------------------------------------------------ env, seeds
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


def training_episode_seed(stream: np.random.SeedSequence, episode: int) -> int:
    """The seed of an env copy's ``episode``-th training episode: a 63-bit draw from the copy's stream, moved into
    [TRAIN_SEED_FLOOR, 2**63), so that it is never a validation or evaluation seed."""
    child = np.random.SeedSequence(stream.entropy, spawn_key=(*stream.spawn_key, episode))
    draw = int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    return TRAIN_SEED_FLOOR + draw % (2**63 - TRAIN_SEED_FLOOR)


class TrainingEnv(CESMultiAgentEnv):
    """``rllib_env`` whose every episode plays a training-range seed.

    RLlib seeds an env copy only at its first reset (``config.seed`` + env runner index, + the copy's index in its
    runner) and then resets it with ``seed=None``. Here that first seed, the runner index and the root seed of
    ``env_config[SEED_ROOT_KEY]`` root a :class:`numpy.random.SeedSequence`, and episode k plays
    :func:`training_episode_seed` (stream, k). Its final infos also carry ``episode_seed`` and ``env_steps``
    (ParallelEnv steps) for the metrics callback.
    """

    def __init__(self, env_config: Mapping[str, Any] | None = None):
        config = dict(env_config or {})
        self.root_seed = int(config.pop(SEED_ROOT_KEY, 0))
        self.worker_index = int(getattr(env_config, "worker_index", 0) or 0)  # RLlib's EnvContext carries it
        super().__init__(config)
        self._stream: np.random.SeedSequence | None = None
        self._episodes = 0
        self.episode_seed = -1

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None or self._stream is None:
            rllib_seed = 0 if seed is None else int(seed)
            self._stream = np.random.SeedSequence(self.root_seed, spawn_key=(self.worker_index, rllib_seed))
            self._episodes = 0
        self.episode_seed = training_episode_seed(self._stream, self._episodes)
        self._episodes += 1
        return super().reset(seed=self.episode_seed, options=options)

    def step(self, action_dict):
        observations, rewards, terminateds, truncateds, infos = super().step(action_dict)
        if terminateds["__all__"] or truncateds["__all__"]:
            for info in infos.values():
                info.update(episode_seed=self.episode_seed, env_steps=self._driver.env_steps)
        return observations, rewards, terminateds, truncateds, infos


def make_training_env(env_config: Mapping[str, Any]) -> TrainingEnv:
    return TrainingEnv(env_config)


def on_episode_end(*, episode: Any, metrics_logger: Any, **kwargs: Any) -> None:
    """RLlib callback (in the env runners): log the finished episode's ET, env steps and seed.

    RLlib reduces these once per iteration over all env runners: ``ces_ET`` is a mean of the runners' means,
    ``ces_env_steps`` and ``ces_episodes`` sums, ``ces_min_seed`` a minimum."""
    for info in episode.get_infos(-1).values():
        if "metrics" in info:
            metrics_logger.log_value("ces_ET", float(info["metrics"]["ET"]), reduce="mean")
            metrics_logger.log_value("ces_env_steps", int(info["env_steps"]), reduce="sum")
            metrics_logger.log_value("ces_episodes", 1, reduce="sum")
            metrics_logger.log_value("ces_min_seed", int(info["episode_seed"]), reduce="min")
            return


def model_config(args: Args) -> dict[str, Any]:
    """The shared module's network: MaskedActorCritic's arguments besides the spaces."""
    return {
        "network": args.network,
        "slot_hidden": args.slot_hidden,
        "hidden": list(args.hidden),
        "activation": args.activation,
    }


def build_config(args: Args, env_config: dict[str, Any]) -> PPOConfig:
    """The PPOConfig: new API stack, one shared masked actor-critic module, steps counted in decisions."""
    return (
        PPOConfig()
        .api_stack(enable_rl_module_and_learner=True, enable_env_runner_and_connector_v2=True)
        .environment(ENV_NAME, env_config={**env_config, SEED_ROOT_KEY: args.seed})
        .env_runners(
            num_env_runners=args.num_env_runners,
            num_envs_per_env_runner=args.num_envs_per_env_runner,
            num_cpus_per_env_runner=1,
        )
        .multi_agent(
            policies={MODULE_ID},
            policy_mapping_fn=lambda agent_id, episode, **kwargs: MODULE_ID,
            count_steps_by="agent_steps",
        )
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(
                rl_module_specs={
                    MODULE_ID: RLModuleSpec(module_class=MaskedActorCriticRLModule, model_config=model_config(args))
                }
            )
        )
        .training(
            lr=args.lr,
            gamma=args.gamma,
            lambda_=args.gae_lambda,
            clip_param=args.clip_param,
            use_kl_loss=False,  # the clipped objective alone, as stable-baselines3's PPO (ppo_shared.py)
            entropy_coeff=args.entropy_coeff,
            vf_loss_coeff=args.vf_loss_coeff,
            grad_clip=args.grad_clip,
            train_batch_size_per_learner=args.train_batch_size,
            minibatch_size=args.minibatch_size,
            num_epochs=args.num_epochs,
        )
        .callbacks(on_episode_end=on_episode_end)
        .debugging(seed=args.seed)
    )


# ------------------------------------------------------------------------------------------------------ logging
class RunLog:
    """curve.csv (the columns of ppo_shared.py's, one "train" row per iteration with its mean episode ET),
    results.jsonl, and TensorBoard scalars when tensorboard is installed."""

    def __init__(self, run_dir: Path, start: float):
        self.start = start
        self.curve_file = (run_dir / "curve.csv").open("w", newline="")
        self.curve = csv.writer(self.curve_file)
        self.curve.writerow(
            ["kind", "decisions", "agent_steps", "episodes", "wall_seconds", "ET", "ET_mean_100", "seed"]
        )
        self.results = (run_dir / "results.jsonl").open("w")
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tensorboard: Any = SummaryWriter(str(run_dir / "tb"))
        except ImportError:  # tensorboard comes with the train extra, not with ray
            self.tensorboard = None

    def row(self, kind: str, decisions: int, agent_steps: int, episodes: int, et: float) -> None:
        wall = round(time.perf_counter() - self.start, 2)
        self.curve.writerow([kind, decisions, agent_steps, episodes, wall, "" if math.isnan(et) else et, "", ""])
        self.curve_file.flush()

    def scalar(self, tag: str, value: float, decisions: int) -> None:
        if self.tensorboard is not None and math.isfinite(value):
            self.tensorboard.add_scalar(tag, value, decisions)

    def result(self, result: dict[str, Any]) -> None:
        """One line per iteration, without the config (the sidecar has the arguments)."""
        kept = {k: v for k, v in result.items() if k != "config"}
        self.results.write(json.dumps(kept, default=_plain) + "\n")

    def close(self) -> None:
        self.curve_file.close()
        self.results.close()
        if self.tensorboard is not None:
            self.tensorboard.close()


def _plain(value: Any) -> Any:
    """RLlib's results hold numpy scalars and the config object; keep numbers, name the rest."""
    if isinstance(value, np.generic):
        return value.item()
    return repr(value)


def _total(value: Any) -> int:
    """RLlib reports some counts per agent or module (a dict): their sum."""
    if isinstance(value, Mapping):
        return int(sum(_total(v) for v in value.values()))
    return int(value or 0)


# ------------------------------------------------------------------------------------------------------ training
def trained_network(algo: Any, config_space: tuple[int, int], args: Args) -> MaskedActorCritic:
    """The learner's copy of the shared network as a plain torch network (what ``--out`` holds and the harness
    plays); ``config_space`` is (observation size, number of actions)."""
    network = MaskedActorCritic(*config_space, **model_config(args))
    weights = algo.learner_group.get_weights([MODULE_ID])[MODULE_ID]
    network.load_state_dict({k: torch_tensor(v) for k, v in network_weights(weights).items()})
    network.eval()
    return network


def torch_tensor(value: Any) -> Any:
    import torch

    return torch.as_tensor(np.asarray(value))


def validate(network: MaskedActorCritic, env_config: dict[str, Any], seeds: list[int]) -> float:
    """Mean greedy ET of ``network`` on ``seeds`` (no truncation expected: greedy play never stalls)."""
    return float(np.mean([greedy_episode(network, env_config, seed)["metrics"]["ET"] for seed in seeds]))


def start_ray(args: Args) -> bool:
    """Connect to ``--ray-address`` or start a local instance, unless Ray is already up (then its workers keep the
    hash seed they were started with); True if started here. Either way this job's workers get
    ``PYTHONHASHSEED=HASH_SEED`` (see there)."""
    if ray.is_initialized():
        return False
    runtime_env = {"env_vars": {"PYTHONHASHSEED": HASH_SEED}}
    if args.ray_address:
        ray.init(address=args.ray_address, runtime_env=runtime_env)
    else:
        ray.init(num_cpus=args.num_cpus, include_dashboard=False, runtime_env=runtime_env)
    return True


def with_fixed_hash_seed(argv: list[str]) -> None:
    """Run this script again with ``PYTHONHASHSEED=HASH_SEED`` unless a hash seed is already set: with
    ``--num-env-runners 0`` the episodes are sampled in this process, and the learner runs here too."""
    if "PYTHONHASHSEED" not in os.environ:
        os.environ["PYTHONHASHSEED"] = HASH_SEED
        os.execv(sys.executable, [sys.executable, *argv])


def main(args: Args, argv: list[str] | None = None) -> dict[str, Any]:
    """Train, save the module export with its sidecar and the algorithm checkpoint, optionally evaluate; returns a
    summary (also in the sidecar)."""
    import torch

    start = time.perf_counter()
    torch.set_num_threads(args.torch_threads)
    overrides = env_overrides(args)
    config = make_config(args.env_preset, **overrides)
    env_config = {"config": config}
    spaces = (
        observation_size(config.n_candidates, config.view_radius, config.exploration_mode == "steered"),
        ActionLayout(config).n_actions,
    )
    load_start = os.getloadavg()[0]
    run_name = args.run_name or f"rllib_ppo_{args.env_preset}_{args.control}_s{args.seed}"
    run_dir = Path(args.log_dir) / run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    algorithm_dir = (run_dir / "algorithm").resolve()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    seeds = validation_seeds(args)
    references = reference_validation(config, seeds) if seeds else {}

    started_ray = start_ray(args)
    register_env(ENV_NAME, make_training_env)
    algo = build_config(args, env_config).build_algo()
    if args.resume:
        algo.restore_from_path(str(Path(args.resume).resolve()))
    log = RunLog(run_dir, start)
    history: list[dict[str, float]] = []
    validations: list[dict[str, float]] = []
    best_et, best_iteration = math.inf, 0
    decisions = agent_steps = episodes = 0
    min_seed: int | None = None
    stopped_by_budget = False

    def run_validation(iteration: int) -> None:
        nonlocal best_et, best_iteration
        network = trained_network(algo, spaces, args)
        et = validate(network, env_config, seeds)
        record = {"iteration": iteration, "decisions": decisions, "ET": et, "minutes": minutes()}
        for name, reference in references.items():
            record[f"pct_vs_{name}"] = 100.0 * (et / reference - 1.0)
            log.scalar(f"validation/pct_vs_{name}", record[f"pct_vs_{name}"], decisions)
        validations.append(record)
        log.row("validation", decisions, agent_steps, episodes, et)
        log.scalar("validation/ET", et, decisions)
        if et < best_et:
            best_et, best_iteration = et, iteration
            if args.keep_best:
                export_network(args.out, network)
        gaps = " ".join(f"{k[7:]} {v:+.1f}%" for k, v in record.items() if k.startswith("pct_vs_"))
        print(f"    validation: greedy ET {et:8.1f} on {len(seeds)} seeds  {gaps}", flush=True)

    def minutes() -> float:
        return (time.perf_counter() - start) / 60.0

    try:
        for iteration in range(1, args.iterations + 1):
            result = algo.train()
            log.result(result)
            runners = result["env_runners"]
            decisions = _total(runners.get("num_agent_steps_sampled_lifetime", decisions))
            iteration_episodes = int(runners.get("ces_episodes", 0) or 0)
            episodes += iteration_episodes
            agent_steps += int(runners.get("ces_env_steps", 0) or 0) * config.n_agents
            et = float(runners.get("ces_ET", math.nan)) if iteration_episodes else math.nan
            if iteration_episodes:
                seed_seen = int(runners["ces_min_seed"])
                if seed_seen < TRAIN_SEED_FLOOR:  # never train on an evaluation or validation seed
                    raise RuntimeError(
                        f"training episode seed {seed_seen} is below TRAIN_SEED_FLOOR={TRAIN_SEED_FLOOR}"
                    )
                min_seed = seed_seen if min_seed is None else min(min_seed, seed_seen)
            per_agent = runners.get("agent_episode_returns_mean", {})
            agent_return = float(np.mean(list(per_agent.values()))) if per_agent else math.nan
            episode_return = float(runners.get("episode_return_mean", math.nan))
            history.append({"iteration": iteration, "decisions": decisions, "ET": et, "agent_return": agent_return})
            log.row("train", decisions, agent_steps, episodes, et)
            for tag, value in (("train/episode_ET", et), ("train/agent_return", agent_return)):
                log.scalar(tag, value, decisions)
            print(
                f"[{minutes():5.1f} min] iteration {iteration:>4}  decisions {decisions:>8}  episodes "
                f"{iteration_episodes:>4}  return/agent {agent_return:7.3f} (team {episode_return:8.3f})  "
                f"ET {et:8.1f}",
                flush=True,
            )
            last = iteration == args.iterations
            if args.max_minutes > 0 and minutes() >= args.max_minutes:
                stopped_by_budget = last = True
            if seeds and (last or (args.validate_every and iteration % args.validate_every == 0)):
                run_validation(iteration)
            if last:
                break
        if not (args.keep_best and seeds):
            export_network(args.out, trained_network(algo, spaces, args))
        algo.save_to_path(str(algorithm_dir))
        runner_cpu = env_runner_cpu_seconds(algo)
    finally:
        log.close()
        _remove_empty_trainable_dir(algo)
        algo.stop()
        if started_ray:
            ray.shutdown()

    train_seconds = time.perf_counter() - start
    cpu = {"main": round(time.process_time(), 1), "env_runners": runner_cpu}
    command = "python " + " ".join(shlex.quote(a) for a in [_script_path(), *(sys.argv[1:] if argv is None else argv)])
    summary = {
        "train_seconds": round(train_seconds, 1),
        "cpu_seconds": cpu,
        "load_average_1min": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "cpu_count": os.cpu_count(),
        "iterations": len(history),
        "decisions": decisions,
        "episodes": episodes,
        "agent_steps": agent_steps,
        "stopped_by_budget": stopped_by_budget,
        "best_validation_ET": best_et,
        "best_validation_iteration": best_iteration,
        "saved": "best validation" if args.keep_best and seeds else "last",
        "validation_references": references,
        "validations": validations,
        "history": history,
        "algorithm_checkpoint": str(algorithm_dir),
        "ray_version": ray.__version__,
        "python_hash_seed": os.environ.get("PYTHONHASHSEED"),
        "run_dir": str(run_dir),
    }
    seed_record = {
        "root": args.seed,
        "training": f"TrainingEnv streams rooted at seed={args.seed}, every episode seed >= {TRAIN_SEED_FLOOR}",
        "min_training_seed_seen": min_seed,
        "validation": [VALIDATION_SEED_BASE, VALIDATION_SEED_BASE + args.validation_episodes - 1] if seeds else [],
    }
    write_sidecar(
        args.out,
        family="rllib",
        env_config=config.to_dict(),
        args=dataclasses.asdict(args),
        seeds=seed_record,
        command=command,
        extra={"training": summary},
    )
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=_plain) + "\n")
    print(
        f"saved {args.out} ({summary['saved']}, validation ET {best_et:.1f} at iteration {best_iteration}) and "
        f"{algorithm_dir}; trained {decisions} decisions, {episodes} episodes in {train_seconds / 60:.1f} min"
    )
    if args.eval_seeds > 0:
        from evaluate import evaluate_suites, print_suite_tables

        results = evaluate_suites(
            [f"rllib:{args.out}"],
            ["train"],
            seeds=args.eval_seeds,
            out_dir=run_dir / "eval",
            workers=args.eval_workers,
            base_preset=args.env_preset,
            base_overrides={k: v for k, v in overrides.items() if k not in ("reward_mode", "reward_time_scale")},
        )
        print_suite_tables(results)
        summary["evaluation"] = {name: suite.comparisons for name, suite in results.items()}
    return summary


def env_runner_cpu_seconds(algo: Any) -> list[float]:
    """CPU seconds used so far by each remote env runner process (none when sampling runs in this process, whose
    CPU time the summary's "main" counts)."""
    group = getattr(algo, "env_runner_group", None)
    if group is None or group.num_remote_env_runners() == 0:
        return []
    times = group.foreach_env_runner(lambda runner: time.process_time(), local_env_runner=False)
    return [round(float(t), 1) for t in times]


def _remove_empty_trainable_dir(algo: Any) -> None:
    """Built outside Tune, an RLlib algorithm makes an empty folder under ~/ray_results that nothing writes to."""
    logdir = Path(getattr(algo, "logdir", "") or "")
    if logdir.name and logdir.is_dir() and not any(logdir.iterdir()):
        logdir.rmdir()


def _script_path() -> str:
    """This script's path relative to the repository (how the command in the sidecar is meant to be run)."""
    here = Path(__file__).resolve()
    try:
        return str(here.relative_to(REPO_ROOT))
    except ValueError:
        return str(here)


if __name__ == "__main__":
    with_fixed_hash_seed(sys.argv)
    main(parse_args(Args, description=__doc__))

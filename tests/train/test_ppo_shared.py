"""train/ppo_shared.py and the ppo:PATH policy family: training runs and then evaluates, the committed checkpoint
plays deterministically through the harness, greedy play never picks a masked action, seed ranges stay disjoint."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

import ppo_shared  # noqa: E402  (train/ is put on sys.path by tests/train/conftest.py)
from dataclass_cli import build_parser, field_docstrings, parse_args  # noqa: E402

from ces_baselines.harness import Job, make_jobs, policy_class, run_job, run_jobs  # noqa: E402
from ces_baselines.learned import (  # noqa: E402
    EVAL_SEED_LIMIT,
    TRAIN_SEED_FLOOR,
    VALIDATION_SEED_BASE,
    CheckpointPolicy,
    greedy_masked_actions,
    read_sidecar,
)
from ces_env.config import ConfigError, make_config  # noqa: E402
from ces_env.runner import run_episode  # noqa: E402
from ces_env.wrappers import SB3VecEnv  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "train" / "checkpoints" / "ppo_shared_small.zip"
COMMITTED_NAME = f"ppo:{COMMITTED}"


def tiny_args(tmp_path: Path, **changes) -> ppo_shared.Args:
    """A few hundred decisions on the tiny preset: seconds, not minutes."""
    args = ppo_shared.Args(
        env_preset="tiny",
        total_decisions=256,
        n_envs=4,
        n_steps=32,
        batch_size=64,
        n_epochs=2,
        hidden=(16, 16),
        validate_every=128,
        validation_episodes=3,
        out=str(tmp_path / "ckpt" / "tiny.zip"),
        log_dir=str(tmp_path / "runs"),
        eval_seeds=2,
        eval_workers=1,
        n_processes=1,
    )
    return dataclasses.replace(args, **changes)


# ------------------------------------------------------------------------------------------------------ training
def test_training_runs_a_few_hundred_decisions_then_evaluates_through_the_harness(tmp_path, capsys):
    args = tiny_args(tmp_path)
    summary = ppo_shared.main(args, argv=[])
    assert summary["decisions"] >= args.total_decisions
    checkpoint = Path(args.out)
    assert checkpoint.is_file()
    sidecar = read_sidecar(checkpoint)
    assert sidecar["family"] == "ppo"
    assert make_config(None, **sidecar["env_config"]) == make_config("tiny", **ppo_shared.env_overrides(args))
    assert sidecar["args"]["total_decisions"] == 256 and sidecar["args"]["seed"] == args.seed
    assert sidecar["seeds"]["min_training_seed_seen"] >= TRAIN_SEED_FLOOR
    assert sidecar["command"].startswith("python train/ppo_shared.py")
    assert len(sidecar["training"]["validations"]) >= 2  # every 128 decisions, and at the end
    # the learning curve: one training row per finished episode, ET against decisions and agent-steps
    curve = (Path(args.log_dir) / sidecar["training"]["run_dir"].split("/")[-1] / "curve.csv").read_text()
    kinds = [line.split(",")[0] for line in curve.splitlines()[1:]]
    assert "train" in kinds and "validation" in kinds
    # the evaluation after training went through the harness, against the CES reference, on seeds 0..1
    evaluation = summary["evaluation"]["train"]
    learned = evaluation[f"ppo:{args.out}"]
    assert learned["seeds"] == 2 and learned["truncated"] == 0
    assert np.isfinite(learned["pct_vs_ces-decentralized"])
    assert "vs ces-decentralized" in capsys.readouterr().out
    run_dir = Path(args.log_dir) / Path(sidecar["training"]["run_dir"]).name
    assert any(p.stat().st_size > 0 for p in run_dir.rglob("events.out.tfevents.*"))  # TensorBoard scalars

    # --resume continues the checkpoint's step count (and optimizer) for total_decisions more; the checkpoint is the
    # best validation's (keep_best), so its count may be below the run's
    from sb3_contrib import MaskablePPO

    saved_decisions = MaskablePPO.load(args.out, device="cpu").num_timesteps
    assert 0 < saved_decisions <= summary["decisions"]
    resumed = ppo_shared.main(
        dataclasses.replace(
            args, resume=args.out, out=str(tmp_path / "resumed.zip"), total_decisions=128, eval_seeds=0
        ),
        argv=[],
    )
    assert resumed["decisions"] >= saved_decisions + 128
    assert read_sidecar(tmp_path / "resumed.zip")["args"]["resume"] == args.out


def test_training_is_seeded(tmp_path):
    """Same seed, same arguments: the same checkpoint weights."""
    import torch
    from sb3_contrib import MaskablePPO

    weights = []
    for run in ("a", "b"):
        args = tiny_args(tmp_path / run, total_decisions=128, validation_episodes=0, validate_every=0, eval_seeds=0)
        ppo_shared.main(args, argv=[])
        model = MaskablePPO.load(args.out, device="cpu")
        weights.append(torch.cat([p.detach().flatten() for p in model.policy.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_a_training_seed_below_the_floor_is_refused(tmp_path):
    logger = ppo_shared.CurveLogger.__new__(ppo_shared.CurveLogger)
    logger.min_train_seed = None
    logger._check_seed(TRAIN_SEED_FLOOR)
    with pytest.raises(RuntimeError, match="TRAIN_SEED_FLOOR"):
        logger._check_seed(5)


def test_seed_ranges_are_disjoint():
    args = ppo_shared.Args()
    validation = ppo_shared.validation_seeds(args)
    assert EVAL_SEED_LIMIT <= VALIDATION_SEED_BASE <= min(validation)
    assert max(validation) < TRAIN_SEED_FLOOR


def test_every_argument_has_a_docstring_and_a_flag():
    docs = field_docstrings(ppo_shared.Args)
    names = [f.name for f in dataclasses.fields(ppo_shared.Args)]
    assert set(names) == set(docs) and all(docs.values())
    help_text = build_parser(ppo_shared.Args).format_help()
    assert "--reward-time-scale" in help_text and "Ticks per unit of reward" in help_text
    args = parse_args(ppo_shared.Args, ["--hidden", "32", "32", "--no-anneal-lr", "--target-kl", "none", "--seed", "7"])
    assert args.hidden == (32, 32) and args.anneal_lr is False and args.target_kl is None and args.seed == 7
    with pytest.raises(SystemExit):
        parse_args(ppo_shared.Args, ["--seed", "seven"])


# ------------------------------------------------------------------------------------------------------ ppo:PATH
def test_ppo_path_resolves_through_the_harness():
    cls = policy_class(COMMITTED_NAME)
    assert issubclass(cls, CheckpointPolicy) and cls.name == COMMITTED_NAME
    assert cls.required_config == {"n_candidates": 8, "exploration_mode": "auto"}
    assert pickle.loads(pickle.dumps(cls)) is cls  # worker processes rebuild it by name
    job = Job(COMMITTED_NAME, "small", {"control": "decentralized"}, seed=3)
    assert job.config().control == "decentralized"
    with pytest.raises(ConfigError, match="n_candidates"):
        Job(COMMITTED_NAME, "small", {"n_candidates": 4}, seed=0).config()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ppo:/no/such/file.zip", "no checkpoint file"),
        ("nosuchfamily:x.zip", "unknown family"),
        ("ppo:", "expected FAMILY:PATH"),
    ],
)
def test_bad_learned_names_are_errors_that_say_why(name, message):
    with pytest.raises(ValueError, match=message):
        policy_class(name)


def test_a_checkpoint_without_its_sidecar_is_refused(tmp_path):
    lonely = tmp_path / "lonely.zip"
    lonely.write_bytes(COMMITTED.read_bytes())
    with pytest.raises(ValueError, match="has no sidecar"):
        policy_class(f"ppo:{lonely}")


def test_the_committed_checkpoint_evaluates_deterministically():
    job = Job(COMMITTED_NAME, "small", {"control": "decentralized"}, seed=11)
    first, second = run_job(job), run_job(job)
    for row in (first, second):
        del row["wall_seconds"]
    assert first == second
    assert not first["truncated"] and first["mu_g"] == [20, 20]


def test_worker_processes_give_the_same_rows_as_this_process(tmp_path):
    jobs = make_jobs([COMMITTED_NAME], "small", range(2), {"control": "decentralized"})
    here = run_jobs(jobs, workers=1, progress=False)
    pool = run_jobs(jobs, workers=2, progress=False)
    strip = [{k: v for k, v in r.items() if k != "wall_seconds"} for r in here]
    assert strip == [{k: v for k, v in r.items() if k != "wall_seconds"} for r in pool]


def test_harness_play_equals_the_training_adapters_greedy_play():
    """The harness policy (all choosers of a tick at once) and SB3VecEnv.evaluate (one chooser per row) are the same
    greedy policy: the same ET on the same seeds, so validation during training measures what evaluation measures."""
    cls = policy_class(COMMITTED_NAME)
    config = make_config("small", control="decentralized")
    policy = cls()
    env = SB3VecEnv(n_envs=2, seed=0, config=config)
    seeds = [VALIDATION_SEED_BASE + 1, VALIDATION_SEED_BASE + 2]
    summaries = env.evaluate(lambda o, m: greedy_masked_actions(policy.model, o, m), seeds)
    for seed, summary in zip(seeds, summaries):
        assert run_episode(cls(), config, seed).metrics["ET"] == summary.metrics["ET"]


def test_greedy_play_never_picks_a_masked_action():
    model = policy_class(COMMITTED_NAME)().model
    rng = np.random.default_rng(0)
    observations = rng.random((500, model.observation_space.shape[0]), dtype=np.float32)
    masks = rng.random((500, model.action_space.n)) < 0.3
    masks[np.arange(500), rng.integers(model.action_space.n, size=500)] = True  # at least one legal action a row
    actions = greedy_masked_actions(model, observations, masks)
    assert masks[np.arange(500), actions].all()


def test_an_illegal_choice_of_a_learned_policy_is_an_error():
    base = policy_class(COMMITTED_NAME)

    class AlwaysSlotEight(base):  # type: ignore[misc, valid-type]
        def choose(self, agents, observations, infos):
            return np.full(len(agents), 8)

    with pytest.raises(RuntimeError, match="masked action 8"):
        run_episode(AlwaysSlotEight(), make_config("small", control="decentralized"), 0)


def test_the_committed_sidecar_records_how_it_was_made():
    sidecar = json.loads(COMMITTED.with_suffix(".json").read_text())
    assert sidecar["command"].startswith("python train/ppo_shared.py")
    assert sidecar["env_config"]["graph"] == "lds" and sidecar["env_config"]["reward_mode"] == "time"
    assert sidecar["training"]["train_seconds"] <= 15 * 60
    assert sidecar["git_commit"]

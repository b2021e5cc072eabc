"""train/rllib_ppo.py and the rllib:PATH family: one RLlib training iteration on a local Ray instance, then the
exported network plays through the harness exactly as through the env adapter; training seeds stay in their range.
(The committed checkpoint's tests need no Ray: tests/train/test_rllib_checkpoint.py.)

Skipped without Ray (``pytest.importorskip``); CI installs ``.[test,train,ray]``, so it runs there. The tests that start
Ray carry the ``ray`` marker (``pytest -m "not ray"`` leaves them out).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray.rllib")
pytest.importorskip("torch")

TRAIN_DIR = Path(__file__).resolve().parents[2] / "train"
if str(TRAIN_DIR) not in sys.path:  # the scripts' folder (tests/train/conftest.py does the same for its neighbours)
    sys.path.insert(0, str(TRAIN_DIR))

import rllib_ppo  # noqa: E402
from dataclass_cli import build_parser, field_docstrings, parse_args  # noqa: E402

from ces_baselines.harness import Job, policy_class, run_job  # noqa: E402
from ces_baselines.learned import (  # noqa: E402
    EVAL_SEED_LIMIT,
    TRAIN_SEED_FLOOR,
    VALIDATION_SEED_BASE,
    CheckpointPolicy,
    read_sidecar,
)
from ces_baselines.rllib_module import network_weights  # noqa: E402
from ces_baselines.rllib_policy import greedy_episode, load_network  # noqa: E402
from ces_env.config import make_config  # noqa: E402
from ces_env.runner import run_episode  # noqa: E402


def tiny_args(tmp_path: Path, **changes) -> rllib_ppo.Args:
    """One iteration of a couple hundred decisions on the tiny preset, sampled in this process."""
    args = rllib_ppo.Args(
        env_preset="tiny",
        iterations=1,
        num_env_runners=0,
        train_batch_size=200,
        minibatch_size=100,
        num_epochs=2,
        slot_hidden=8,
        hidden=(16, 16),
        validation_episodes=2,
        out=str(tmp_path / "ckpt" / "tiny.pt"),
        log_dir=str(tmp_path / "runs"),
    )
    return dataclasses.replace(args, **changes)


def train_on_local_ray(args) -> dict:
    """``rllib_ppo.main(args)`` on a local one-CPU Ray instance (started here and shut down afterwards, unless one is
    already running); its summary."""
    import ray

    started = not ray.is_initialized()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_USAGE_STATS_ENABLED", "0")  # no network: Ray's usage report stays off
        if started:
            ray.init(num_cpus=1, include_dashboard=False, object_store_memory=100 * 1024**2, log_to_driver=False)
        try:
            return rllib_ppo.main(args, argv=[])
        finally:
            if started:
                ray.shutdown()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(args, summary) of one training iteration on a local one-CPU Ray instance."""
    args = tiny_args(tmp_path_factory.mktemp("rllib"))
    return args, train_on_local_ray(args)


# ------------------------------------------------------------------------------------------------------ training
@pytest.mark.ray
def test_one_training_iteration_on_a_local_ray_instance(trained):
    args, summary = trained
    assert summary["iterations"] == 1
    assert summary["decisions"] >= args.train_batch_size  # RLlib counted agent steps, i.e. decisions
    assert summary["episodes"] >= 1 and np.isfinite(summary["history"][0]["ET"])
    assert summary["history"][0]["agent_return"] < 0  # minus the ticks between an agent's decisions, over the scale
    sidecar = read_sidecar(args.out)
    assert sidecar["family"] == "rllib"
    expected = make_config("tiny", **rllib_ppo.env_overrides(args)).to_dict()
    assert sidecar["env_config"] == json.loads(json.dumps(expected))  # tuples come back from JSON as lists
    assert sidecar["args"]["train_batch_size"] == 200 and sidecar["args"]["seed"] == args.seed
    assert sidecar["seeds"]["min_training_seed_seen"] >= TRAIN_SEED_FLOOR
    assert sidecar["command"].startswith("python train/rllib_ppo.py")
    assert len(summary["validations"]) == 1 and np.isfinite(summary["best_validation_ET"])
    assert (Path(summary["algorithm_checkpoint"]) / "rllib_checkpoint.json").is_file()  # what --resume reads
    run_dir = Path(summary["run_dir"])
    kinds = [line.split(",")[0] for line in (run_dir / "curve.csv").read_text().splitlines()[1:]]
    assert kinds == ["train", "validation"]
    result = json.loads((run_dir / "results.jsonl").read_text().splitlines()[0])
    assert result["training_iteration"] == 1 and "config" not in result


@pytest.mark.ray
def test_the_exported_module_plays_through_the_harness_as_through_the_adapter(trained):
    """rllib:PATH in the harness (all choosers of a tick at once, single legal tasks taken, others wait) and greedy
    play on rllib_env give the same episodes, deterministically."""
    args, _ = trained
    name = f"rllib:{args.out}"
    cls = policy_class(name)
    assert issubclass(cls, CheckpointPolicy)
    assert cls.required_config == {"n_candidates": 8, "exploration_mode": "auto"}
    job = Job(name, "tiny", {"control": "decentralized"}, seed=3)
    first, second = run_job(job), run_job(job)
    for row in (first, second):
        del row["wall_seconds"]
    assert first == second and not first["truncated"]
    config = make_config("tiny", control="decentralized")
    network = load_network(args.out)
    for seed in (0, 1):
        through_adapter = greedy_episode(network, {"config": config}, seed)["metrics"]["ET"]
        assert run_episode(cls(), config, seed).metrics["ET"] == through_adapter


@pytest.mark.ray
def test_the_export_is_the_trained_slot_network(trained):
    """What RLlib trained is ppo_shared.py's slot scorer (the default --network), and the export holds its weights:
    the training module's logits and values equal the exported network's on the same observations."""
    import torch
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    from ces_baselines.rllib_module import MaskedActorCriticRLModule
    from ces_baselines.rllib_policy import MASK_KEY, OBS_KEY
    from ces_env.wrappers.rllib import CESMultiAgentEnv

    args, _ = trained
    network = load_network(args.out)
    assert network.config["network"] == "slots" and network.slot_actor is not None
    env = CESMultiAgentEnv({"config": make_config("tiny", control="decentralized")})
    agent = env.possible_agents[0]
    module = RLModuleSpec(
        module_class=MaskedActorCriticRLModule,
        observation_space=env.observation_spaces[agent],
        action_space=env.action_spaces[agent],
        model_config=rllib_ppo.model_config(args),
    ).build()
    module.load_state_dict({f"net.{k}": v for k, v in network.state_dict().items()})
    assert network_weights(module.state_dict()).keys() == network.state_dict().keys()
    rng = np.random.default_rng(1)
    observations = torch.as_tensor(rng.random((20, network.config["observation_size"]), dtype=np.float32))
    masks = torch.ones(20, network.config["n_actions"])
    masks[:, 3] = 0.0
    batch = {Columns.OBS: {OBS_KEY: observations, MASK_KEY: masks}}
    with torch.no_grad():
        logits = module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
        values = module.compute_values(batch)
        assert torch.allclose(logits[:, [0, 1, 2, 4]], network.logits(observations)[:, [0, 1, 2, 4]])
        assert (logits[:, 3] < -1e30).all()  # the masked action is never sampled
        assert torch.allclose(values, network.value(observations))


@pytest.mark.ray
def test_the_same_seed_trains_the_same_weights_with_sampling_in_this_process(tmp_path):
    """With --num-env-runners 0 every episode is sampled here, so two runs in one process (one string-hash seed,
    rllib_ppo.HASH_SEED's concern) give the same decisions, episode ETs and weights: nothing else is left to chance.
    (With remote env runners the workers' hash seed must match too: start_ray passes it; measured, not tested here.)"""
    runs = []
    for run in ("a", "b"):
        args = tiny_args(tmp_path / run, validation_episodes=0, keep_best=False)
        summary = train_on_local_ray(args)
        runs.append((summary["history"], load_network(args.out).state_dict()))
    (history_a, weights_a), (history_b, weights_b) = runs
    assert history_a == history_b and history_a[0]["decisions"] >= 200
    assert weights_a.keys() == weights_b.keys()
    for key in weights_a:
        assert np.array_equal(weights_a[key].numpy(), weights_b[key].numpy()), key


def test_the_script_fixes_the_string_hash_seed_of_itself_and_of_its_ray_workers(monkeypatch):
    """RLlib iterates sets of agent ids: a run replays only under one PYTHONHASHSEED (rllib_ppo.HASH_SEED)."""
    calls = []
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    monkeypatch.setattr(rllib_ppo.os, "execv", lambda exe, argv: calls.append(argv))
    rllib_ppo.with_fixed_hash_seed(["train/rllib_ppo.py", "--seed", "3"])
    assert calls == [[sys.executable, "train/rllib_ppo.py", "--seed", "3"]]
    assert rllib_ppo.os.environ["PYTHONHASHSEED"] == rllib_ppo.HASH_SEED
    rllib_ppo.with_fixed_hash_seed(["train/rllib_ppo.py"])  # already set (by the user or the re-run): runs on
    assert len(calls) == 1
    inits = []
    monkeypatch.setattr(rllib_ppo.ray, "is_initialized", lambda: False)
    monkeypatch.setattr(rllib_ppo.ray, "init", lambda **kwargs: inits.append(kwargs))
    assert rllib_ppo.start_ray(rllib_ppo.Args(ray_address="auto"))
    assert rllib_ppo.start_ray(rllib_ppo.Args(num_cpus=1))
    assert [i["runtime_env"]["env_vars"]["PYTHONHASHSEED"] for i in inits] == [rllib_ppo.HASH_SEED] * 2


# ------------------------------------------------------------------------------------------------------ no Ray needed
class _Context(dict):
    """What RLlib hands an env creator: the env_config dict with the env runner's index."""

    def __init__(self, config: dict, worker_index: int):
        super().__init__(config)
        self.worker_index = worker_index


def _episode_seeds(worker_index: int, rllib_seed: int | None, episodes: int = 4) -> list[int]:
    env = rllib_ppo.TrainingEnv(_Context({"preset": "tiny", rllib_ppo.SEED_ROOT_KEY: 7}, worker_index))
    seeds = []
    for i in range(episodes):
        env.reset(seed=rllib_seed if i == 0 else None)  # RLlib seeds the first reset only
        seeds.append(env.episode_seed)
    return seeds


def test_training_episodes_play_seeds_of_the_training_range_one_stream_per_env_copy():
    seeds = _episode_seeds(worker_index=1, rllib_seed=8)
    assert min(seeds) >= TRAIN_SEED_FLOOR and len(set(seeds)) == len(seeds)
    assert _episode_seeds(worker_index=1, rllib_seed=8) == seeds  # reproducible
    # RLlib's per-copy seed is config.seed + runner index + copy index: (runner 1, copy 1) and (runner 2, copy 0)
    # get the same one, and the runner index keeps their streams apart
    assert not set(_episode_seeds(worker_index=2, rllib_seed=8)) & set(seeds)
    assert not set(_episode_seeds(worker_index=1, rllib_seed=9)) & set(seeds)
    # the floor holds even for the smallest draw
    assert all(
        rllib_ppo.training_episode_seed(np.random.SeedSequence(s), k) >= TRAIN_SEED_FLOOR
        for s in range(50)
        for k in range(20)
    )


def test_seed_ranges_are_disjoint():
    validation = rllib_ppo.validation_seeds(rllib_ppo.Args())
    assert EVAL_SEED_LIMIT <= VALIDATION_SEED_BASE <= min(validation)
    assert max(validation) < TRAIN_SEED_FLOOR


def test_every_argument_has_a_docstring_and_a_flag():
    docs = field_docstrings(rllib_ppo.Args)
    names = [f.name for f in dataclasses.fields(rllib_ppo.Args)]
    assert set(names) == set(docs) and all(docs.values())
    help_text = build_parser(rllib_ppo.Args).format_help()
    assert "--num-env-runners" in help_text and "--ray-address" in help_text
    args = parse_args(rllib_ppo.Args, ["--num-env-runners", "4", "--ray-address", "auto", "--hidden", "32", "32"])
    assert args.num_env_runners == 4 and args.ray_address == "auto" and args.hidden == (32, 32)
    assert parse_args(rllib_ppo.Args, ["--ray-address", "none"]).ray_address is None


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--minibatch-size", "900", "--train-batch-size", "500"], "--minibatch-size 900 is larger"),
        (["--num-env-runners", "-1"], "--num-env-runners: must be >= 0"),
        (["--iterations", "0"], "--iterations: must be >= 1"),
        (["--activation", "gelu"], "--activation"),
    ],
)
def test_bad_arguments_name_the_flag(flags, message):
    with pytest.raises(ValueError, match=message):
        parse_args(rllib_ppo.Args, flags)

"""The committed RLlib checkpoint (train/checkpoints/rllib_ppo_small.pt): it plays through the harness in plain torch,
without Ray (not started, not even imported), deterministically, and never picks a masked action."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sb3_contrib")  # the slot scorer's module (ces_baselines.learned_nets) imports it

from ces_baselines.harness import Job, make_jobs, policy_class, run_job, run_jobs  # noqa: E402
from ces_baselines.learned import CheckpointPolicy, read_sidecar, write_sidecar  # noqa: E402
from ces_baselines.rllib_policy import (  # noqa: E402
    MaskedActorCritic,
    export_network,
    greedy_network_actions,
    load_network,
)
from ces_env.config import make_config  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "train" / "checkpoints" / "rllib_ppo_small.pt"
COMMITTED_NAME = f"rllib:{COMMITTED}"


def _row(seed: int) -> dict:
    row = run_job(Job(COMMITTED_NAME, "small", {"control": "decentralized"}, seed=seed))
    del row["wall_seconds"]
    return row


def test_the_committed_checkpoint_evaluates_deterministically_through_the_harness():
    cls = policy_class(COMMITTED_NAME)
    assert issubclass(cls, CheckpointPolicy)
    assert cls.required_config == {"n_candidates": 8, "exploration_mode": "auto"}
    first, second = _row(11), _row(11)
    assert first == second
    assert not first["truncated"] and first["mu_g"] == [20, 20]


def test_worker_processes_give_the_same_rows_as_this_process():
    jobs = make_jobs([COMMITTED_NAME], "small", range(2), {"control": "decentralized"})
    strip = [{k: v for k, v in r.items() if k != "wall_seconds"} for r in run_jobs(jobs, workers=1, progress=False)]
    pool = run_jobs(jobs, workers=2, progress=False)
    assert strip == [{k: v for k, v in r.items() if k != "wall_seconds"} for r in pool]


def test_evaluation_neither_starts_nor_imports_ray():
    script = (
        "import sys\n"
        "from ces_baselines.harness import Job, run_job\n"
        f"row = run_job(Job({COMMITTED_NAME!r}, 'small', {{'control': 'decentralized'}}, seed=5))\n"
        "assert not row['truncated']\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_the_sidecar_records_the_command_and_the_training_family():
    sidecar = read_sidecar(COMMITTED)
    assert sidecar["family"] == "rllib"
    assert sidecar["command"].startswith("python train/rllib_ppo.py")
    # the training family (fields added to CESConfig after training take their defaults)
    assert make_config(None, **sidecar["env_config"]) == make_config("small", **_training_overrides())
    assert sidecar["seeds"]["min_training_seed_seen"] >= 1_000_000
    assert COMMITTED.stat().st_size < 500_000  # the network only: no optimizer, no RLlib checkpoint folder


def _training_overrides() -> dict:
    return {"control": "decentralized", "reward_mode": "time", "reward_time_scale": 1000.0}


def test_greedy_play_never_picks_a_masked_action():
    network = load_network(COMMITTED)
    size, n_actions = network.config["observation_size"], network.config["n_actions"]
    rng = np.random.default_rng(0)
    observations = rng.random((500, size), dtype=np.float32)
    masks = rng.random((500, n_actions)) < 0.3
    masks[np.arange(500), rng.integers(n_actions, size=500)] = True  # at least one legal action a row
    actions = greedy_network_actions(network, observations, masks)
    assert masks[np.arange(500), actions].all()


def test_export_and_load_round_trip(tmp_path):
    network = MaskedActorCritic(68, 9, network="slots", slot_hidden=8, hidden=(16,))
    path = export_network(tmp_path / "net.pt", network)
    loaded = load_network(path)
    assert loaded.config == network.config
    rng = np.random.default_rng(2)
    observations = rng.random((30, 68), dtype=np.float32)
    masks = np.ones((30, 9), dtype=bool)
    assert (
        greedy_network_actions(loaded, observations, masks) == greedy_network_actions(network, observations, masks)
    ).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"network": "gnn"}, "network: 'gnn'"),
        ({"activation": "gelu"}, "activation: 'gelu'"),
        ({"hidden": ()}, "hidden"),
    ],
)
def test_bad_network_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MaskedActorCritic(68, 9, **kwargs)


def test_the_slot_network_refuses_an_action_count_that_is_not_wait_plus_the_slots():
    with pytest.raises(ValueError, match="10 actions is not wait"):
        MaskedActorCritic(68, 10, network="slots")


def test_a_file_that_is_not_a_network_export_is_refused(tmp_path):
    import torch

    path = tmp_path / "other.pt"
    torch.save({"format": "ces-rllib-module/1"}, path)
    env_config = make_config("tiny", control="decentralized").to_dict()
    write_sidecar(path, family="rllib", env_config=env_config, args={}, seeds={}, command="")
    with pytest.raises(ValueError, match="not an RLlib policy network export"):
        policy_class(f"rllib:{path}")()

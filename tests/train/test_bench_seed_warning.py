"""ces-bench run warns (and still runs) when a learned policy plays seeds outside the held-out evaluation range
(>= EVAL_SEED_LIMIT), naming the validation seeds and training range of its sidecar that the run reaches and the flags
that avoid them; scripted policies and runs below the limit get no warning."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from ces_baselines.harness.cli import held_out_seed_warnings, main  # noqa: E402
from ces_baselines.learned import EVAL_SEED_LIMIT, TRAIN_SEED_FLOOR  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
RLLIB = f"rllib:{REPO / 'train' / 'checkpoints' / 'rllib_ppo_small.pt'}"  # torch alone: no Ray, no SB3 needed


def test_a_learned_policy_on_validation_seeds_is_run_with_a_one_line_warning(tmp_path, capsys):
    code = main(
        ["run", "--policy", f"{RLLIB},ces-decentralized", "--preset", "tiny", "--seeds", "2", "--seed-offset",
         str(EVAL_SEED_LIMIT - 1), "--out", str(tmp_path / "out"), "--no-progress"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0 and "results:" in captured.out  # warned, not refused
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1  # the learned policy only
    assert RLLIB in warnings[0] and f"{EVAL_SEED_LIMIT - 1}..{EVAL_SEED_LIMIT}" in warnings[0]
    assert "validation seeds 100000..100047" in warnings[0] and "training range" not in warnings[0]
    assert "--seed-offset/--seeds" in warnings[0]


def test_no_warning_below_the_limit_or_for_scripted_policies():
    assert held_out_seed_warnings([RLLIB, "ces-decentralized"], 0, EVAL_SEED_LIMIT) == []
    assert held_out_seed_warnings(["ces-decentralized", "knowledge-aware"], TRAIN_SEED_FLOOR, 5) == []


def test_the_training_range_is_named_when_reached():
    (line,) = held_out_seed_warnings([RLLIB], TRAIN_SEED_FLOOR, 3)
    assert "training range (>= 1,000,000)" in line and "validation" not in line
    (line,) = held_out_seed_warnings([RLLIB], 200_000, 10)  # beyond validation, below training: still not held out
    assert "not all below EVAL_SEED_LIMIT" in line and "include" not in line

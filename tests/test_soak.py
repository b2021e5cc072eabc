"""The soak test's CI slice: 60 random episodes over random valid configurations (faults included, every registered
control), every invariant of ``benchmarks/soak.py`` checked, every 10th episode re-run for determinism."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

SOAK = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"


def load_soak():
    spec = importlib.util.spec_from_file_location("soak", SOAK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sixty_random_episodes_keep_every_invariant():
    soak = load_soak()
    start = time.perf_counter()
    summary = soak.soak(60, seed=11, recheck=10)
    assert summary["violations"] == 0, summary["failures"]
    assert summary["episodes"] == 60 and summary["rechecked_for_determinism"] == 6
    assert summary["with_faults"] > 20  # the slice does exercise faults
    assert len(summary["protocols"]) >= 5
    assert time.perf_counter() - start < 60  # CI budget (13 s measured on the shared, loaded dev machine)


def test_the_checker_catches_a_broken_invariant(monkeypatch):
    """A checker that cannot fail proves nothing: corrupt the reward count and the soak must report it."""
    soak = load_soak()
    original = soak.play

    def lying_play(config, seed):
        metrics, stats, reason, rewards, sim = original(config, seed)
        return {**metrics, "total_reward": metrics["total_reward"] + 1.0}, stats, reason, rewards, sim

    monkeypatch.setattr(soak, "play", lying_play)
    summary = soak.soak(3, seed=11, recheck=10)
    assert summary["violations"] == 3
    assert "total_reward" in summary["failures"][0]["problems"][0]


def test_random_configs_are_reproducible():
    soak = load_soak()
    assert soak.random_config(5, 17) == soak.random_config(5, 17)
    assert soak.random_config(5, 17) != soak.random_config(5, 18)

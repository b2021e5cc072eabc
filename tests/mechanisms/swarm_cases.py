"""Shared helpers of the swarm tests (``aco``, ``response-threshold``): a simulator before its first event, the
determinism and global-random-state checks."""

from __future__ import annotations

import random

import numpy as np

from ces_env.config import make_config
from ces_env.core.simulator import CESSimulator
from ces_env.generator import generate_instance
from tests.mechanisms.cases import run_config


def fresh_simulator(control: str, seed: int = 0, **fields) -> CESSimulator:
    """A simulator of ``control`` on a generated instance, before its first event (tick 0, nothing started): its
    protocol can be asked for choices directly."""
    config = make_config(control=control, **fields)
    rng = np.random.default_rng(seed)
    return CESSimulator(config, generate_instance(config, rng), rng)


def episode_fingerprint(control: str, seed: int, **fields) -> tuple:
    result, sim = run_config(control, seed, **fields)
    return (
        result.metrics,
        sim.control.mechanism_stats(),
        sim.completed_by.tolist(),
        sim.exec_start_time.tolist(),
    )


def assert_deterministic_without_global_draws(control: str, **fields) -> None:
    """The same seed gives the same episode whatever the global generators' states, and leaves them untouched;
    different seeds give different choices."""
    runs = []
    for global_seed in (1, 2):
        np.random.seed(global_seed)
        random.seed(global_seed)
        numpy_state, python_state = np.random.get_state(), random.getstate()
        runs.append(episode_fingerprint(control, 3, **fields))
        after = np.random.get_state()
        assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1]) and after[2:] == numpy_state[2:]
        assert random.getstate() == python_state
    assert runs[0] == runs[1]
    others = {str(episode_fingerprint(control, seed, **fields)[2]) for seed in (4, 5, 6)}
    assert len(others) > 1

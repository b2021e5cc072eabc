"""Same seed, same episode: step by step, whole episodes, in this process and in a fresh one."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys

import numpy as np
import pytest

import ces_env
from tests.helpers import rollout

CASES = [
    dict(preset="tiny"),
    dict(preset="tiny", control="decentralized", solution_error_prob=0.2, speed_spread=0.4),
    dict(preset="steered"),
    dict(preset="small", partition="independent", knowledge_sharing="none"),
]


def trajectory_digest(kwargs: dict, seed: int) -> str:
    """A hash of every action, observation, reward, flag and info of one whole episode."""
    env = ces_env.parallel_env(**kwargs)
    _, records = rollout(env, seed)
    digest = hashlib.sha256()
    for record in records:
        digest.update(pickle.dumps(_plain(record)))
    return digest.hexdigest()


def _plain(value):
    if isinstance(value, dict):
        return sorted((k, _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, value.tobytes())
    return value


@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: "-".join(f"{v}" for v in k.values()))
def test_two_envs_same_seed_identical_at_every_step(kwargs):
    env_a, env_b = ces_env.parallel_env(**kwargs), ces_env.parallel_env(**kwargs)
    _, records_a = rollout(env_a, seed=7)
    _, records_b = rollout(env_b, seed=7)
    assert len(records_a) == len(records_b) > 0
    for step, (a, b) in enumerate(zip(records_a, records_b)):
        assert _plain(a) == _plain(b), f"episodes diverge at step {step}"
    assert env_a.unwrapped.sim.terminated or env_a.unwrapped.sim.truncated


def test_different_seeds_differ():
    assert trajectory_digest(dict(preset="tiny"), 1) != trajectory_digest(dict(preset="tiny"), 2)


def test_reset_with_the_same_seed_replays_the_episode():
    env = ces_env.parallel_env(preset="tiny", control="decentralized")
    _, first = rollout(env, seed=3)
    _, second = rollout(env, seed=3)
    assert _plain(first) == _plain(second)


def test_same_episode_in_a_fresh_process():
    kwargs = dict(preset="tiny", control="decentralized", speed_spread=0.3)
    here = trajectory_digest(kwargs, 11)
    code = f"from tests.test_determinism import trajectory_digest; print(trajectory_digest({kwargs!r}, 11))"
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert here == there

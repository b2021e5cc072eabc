"""Instances reused by seed (``ces_env.InstanceCache``) give the same episodes as instances generated afresh."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ces_env import InstanceCache, make_config, parallel_env
from ces_env.config import PRESETS, CESConfig
from ces_env.generator import generate_instance
from ces_env.instance_cache import NOT_READ_BY_GENERATION, generation_key, instance_bytes
from ces_env.policies import RewardFirstPolicy
from ces_env.runner import run_episode


class RecordingConfig:
    """A config that records which fields are read."""

    def __init__(self, config: CESConfig):
        self._config = config
        self.read: set[str] = set()

    def __getattr__(self, name: str):
        self.read.add(name)
        return getattr(self._config, name)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_generation_reads_no_field_left_out_of_the_key(preset: str) -> None:
    config = make_config(preset)
    recorder = RecordingConfig(config)
    generate_instance(recorder, np.random.default_rng(0))  # type: ignore[arg-type]
    assert recorder.read, "the recorder saw no field: the test would pass whatever generation reads"
    assert not recorder.read & NOT_READ_BY_GENERATION


def test_every_field_left_out_of_the_key_is_a_config_field() -> None:
    names = {field.name for field in dataclasses.fields(CESConfig)}
    assert not NOT_READ_BY_GENERATION - names, "a listed field is not a config field (renamed?)"


def episode_fingerprint(env, seed: int) -> list:
    """Every step's observations, masks, rewards and the final metrics of one reward-first episode."""
    steps: list = []

    def record(env, step) -> None:
        steps.append((step.observations, step.rewards))

    result = run_episode(RewardFirstPolicy(), env, seed, on_step=record)
    return [result.metrics, len(steps)] + [
        (np.stack([o["observation"] for o in obs.values()]).tobytes(), tuple(rewards.values()))
        for obs, rewards in steps
    ]


@pytest.mark.parametrize("preset", ["small", "small-decentralized", "steered", "tiny"])
def test_a_cached_instance_gives_the_same_episode(preset: str) -> None:
    cache = InstanceCache()
    fresh = parallel_env(preset=preset)
    cached = parallel_env(preset=preset, instance_cache=cache)
    for seed in (0, 1, 0, 1):  # the second pass hits the cache
        assert episode_fingerprint(cached, seed) == episode_fingerprint(fresh, seed)
    assert (cache.misses, cache.hits) == (2, 2)


def test_configs_that_differ_only_in_dynamics_share_instances() -> None:
    cache = InstanceCache()
    base = make_config("small")
    other = make_config("small", control="decentralized", reward_mode="time", assign_service_ticks=7)
    assert generation_key(base) == generation_key(other)
    assert generation_key(base) != generation_key(make_config("small", n_tasks=41))
    first = cache.instance(base, 3, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    assert cache.instance(other, 3, rng) is first
    # the generator is left where a fresh generation leaves it
    fresh_rng = np.random.default_rng(3)
    generate_instance(other, fresh_rng)
    assert rng.integers(2**62) == fresh_rng.integers(2**62)


def test_the_cache_keeps_within_its_memory_bound() -> None:
    config = make_config("small")
    one = instance_bytes(generate_instance(config, np.random.default_rng(0)))
    cache = InstanceCache(max_bytes=2 * one + one // 2)  # room for two instances of about this size
    for seed in range(5):
        cache.instance(config, seed, np.random.default_rng(seed))
    assert len(cache) <= 2
    cache.instance(config, 4, np.random.default_rng(4))  # the most recent seed is still there
    assert cache.hits == 1
    with pytest.raises(ValueError, match="max_bytes"):
        InstanceCache(max_bytes=-1)
    with pytest.raises(TypeError, match="instance_cache"):
        parallel_env(preset="tiny", instance_cache={})


def test_a_list_valued_field_is_a_key_too() -> None:
    """The config accepts ``group_speeds`` as a list: the key holds it as a tuple (same instance as the tuple's)."""
    as_list = make_config("small", group_speeds=[1.0, 2.0])
    as_tuple = make_config("small", group_speeds=(1.0, 2.0))
    cache = InstanceCache()
    first = cache.instance(as_list, 0, np.random.default_rng(0))
    assert cache.instance(as_tuple, 0, np.random.default_rng(0)) is first

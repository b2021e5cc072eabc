"""Instances generated once per seed and reused: cheap resets for sweeps that run many policies on the same seeds.

Generating an instance (above all its mazes: 125 mazes of 400x400 take about a second) can cost as much as playing
the episode. A sweep plays every policy on the same seeds, so without a cache each seed's instance is generated once
per policy. :class:`InstanceCache` keeps the instance of each (generation config, seed) together with the state of
the episode's generator right after generation; a reset that hits the cache restores that state, so the episode is
the one a fresh generation gives, draw for draw (``tests/test_instance_cache.py``).

The key holds every config field except :data:`NOT_READ_BY_GENERATION` (protocol, costs, faults, rewards, what the
policy sees): two configs that differ only there share instances, e.g. every control protocol of a sweep. A field
added to the config later is in the key unless listed there, so a new generation parameter can never be served a
stale instance; the test checks, with a config that records what it is asked, that generation reads none of them.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np

from ces_env.config import CESConfig
from ces_env.generator import generate_instance
from ces_env.types import Instance

NOT_READ_BY_GENERATION = frozenset(
    {
        "explorer",
        "solution_error_prob",
        "control",
        "control_options",
        "assign_service_ticks",
        "validate_service_ticks",
        "claim_latency_ticks",
        "peer_validate_ticks",
        "negotiation_latency_ticks",
        "share_ticks_per_recipient",
        "cost_unit",
        "knowledge_sharing",
        "split_ticks_per_group",
        "collect_ticks_per_group",
        "partition_ticks_per_task",
        "crash_rate",
        "crash_recovery_ticks",
        "controller_outage_start",
        "controller_outage_ticks",
        "controller_outage_group",
        "election_timeout_ticks",
        "election_ticks",
        "byzantine_fraction",
        "misreport_fraction",
        "misreport_factor",
        "exploration_mode",
        "n_candidates",
        "view_radius",
        "wait_ticks",
        "reward_mode",
        "reward_time_scale",
        "time_penalty",
        "max_ticks",
        "strict_actions",
        "engine",
    }
)
"""Config fields that only shape the dynamics (never the instance): left out of the cache key."""

DEFAULT_MAX_BYTES = 256 * 2**20


def generation_key(config: CESConfig) -> Hashable:
    """The config's fields that can shape a generated instance, as a hashable tuple."""
    return tuple(
        (field.name, _hashable(getattr(config, field.name)))
        for field in dataclasses.fields(config)
        if field.name not in NOT_READ_BY_GENERATION
    )


def _hashable(value: Any) -> Hashable:
    """Lists (the config accepts ``group_speeds`` as a list) as tuples."""
    return tuple(_hashable(v) for v in value) if isinstance(value, list | tuple) else value


def instance_bytes(instance: Instance) -> int:
    """Approximate memory held by ``instance`` (its arrays and mazes)."""
    total = 0
    for value in vars(instance).values():
        if isinstance(value, np.ndarray):
            total += value.nbytes
    for maze in instance.mazes:
        total += maze.passages.nbytes + maze.solution.nbytes
    return total


class InstanceCache:
    """Least-recently-used instances by (generation config, seed), bounded by their approximate memory.

    Use one per process (it is not shared between processes) and hand it to the envs that play the same seeds:
    ``parallel_env(..., instance_cache=cache)``; ``ces-bench`` gives one to each worker and submits a sweep's jobs
    seed by seed, so that a worker plays several policies on the seed it has just generated.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"InstanceCache: max_bytes must be an int >= 0, got {max_bytes!r}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[Hashable, int], tuple[Instance, Mapping[str, Any], int]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def instance(self, config: CESConfig, seed: int, rng: np.random.Generator) -> Instance:
        """The instance ``generate_instance(config, rng)`` gives for ``rng = default_rng(seed)``, leaving ``rng`` in
        the state that generation leaves it in (so the rest of the episode draws the same numbers)."""
        key = (generation_key(config), int(seed))
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            instance, state, _ = entry
            rng.bit_generator.state = state
            return instance
        self.misses += 1
        instance = generate_instance(config, rng)
        size = instance_bytes(instance)
        if size <= self.max_bytes:
            self._entries[key] = (instance, rng.bit_generator.state, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, _, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted
        return instance

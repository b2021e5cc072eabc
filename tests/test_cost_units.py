"""Costs in exploration units: one calibration means the same relative cost at every maze size, the simulator runs
on the equivalent ticks, and the validation refuses what does not fit the unit."""

import math

import numpy as np
import pytest

from ces_env.config import COST_FIELDS, ConfigError, make_config
from ces_env.core.simulator import CESSimulator
from ces_env.generator import generate_instance

FRACTIONS = dict(
    assign_service_ticks=0.01,
    validate_service_ticks=0.02,
    claim_latency_ticks=0.005,
    peer_validate_ticks=0.008,
    negotiation_latency_ticks=0.005,
    share_ticks_per_recipient=0.001,
    split_ticks_per_group=0.003,
    collect_ticks_per_group=0.003,
    partition_ticks_per_task=0.002,
)


def play(config, seed: int = 0) -> CESSimulator:
    """An episode where every decider takes its first candidate (deterministic)."""
    rng = np.random.default_rng(seed)
    sim = CESSimulator(config, generate_instance(config, rng), rng)
    sim.advance()
    while not (sim.terminated or sim.truncated):
        sim.decide({int(a): 0 for a in sim.task_deciders()})
        sim.advance()
    return sim


def test_ticks_unit_is_its_own_tick_config():
    config = make_config("small")
    assert config.in_ticks() is config


@pytest.mark.parametrize("size", [20, 100])
def test_one_calibration_is_the_same_relative_cost_at_every_maze_size(size):
    config = make_config(maze_size=size, cost_unit="exploration", **FRACTIONS)
    ticks = config.in_ticks()
    unit = config.exploration_unit_ticks
    assert unit == size * size - 1  # n_cells - 1 moves of depth-first search, at speed 1
    assert ticks.cost_unit == "ticks"
    for name in COST_FIELDS:
        value = getattr(ticks, name)
        assert isinstance(value, int)
        # the relative cost is the fraction, up to the rounding to whole ticks (and the 1-tick floor)
        assert abs(value / unit - FRACTIONS[name]) <= max(0.5, 1 - FRACTIONS[name] * unit) / unit


def test_relative_costs_agree_between_20x20_and_100x100():
    small = make_config(maze_size=20, cost_unit="exploration", **FRACTIONS)
    large = make_config(maze_size=100, cost_unit="exploration", **FRACTIONS)
    ratio = large.exploration_unit_ticks / small.exploration_unit_ticks
    for name in ("assign_service_ticks", "validate_service_ticks"):
        # 0.01 of 399 ticks rounds to 4, of 9999 to 100: the ticks scale with the exploration time
        assert getattr(large.in_ticks(), name) / getattr(small.in_ticks(), name) == pytest.approx(ratio, rel=0.15)


def test_the_unit_follows_speed_and_rounding_is_half_up_with_a_one_tick_floor():
    slow = make_config(
        maze_size=10, agent_speed=0.5, cost_unit="exploration", **{**FRACTIONS, "assign_service_ticks": 0.5}
    )
    assert slow.exploration_unit_ticks == pytest.approx(99 / 0.5)
    assert slow.in_ticks().assign_service_ticks == 99  # 0.5 x 198
    tiny = make_config(maze_size=4, cost_unit="exploration", **{**FRACTIONS, "assign_service_ticks": 1e-6})
    assert tiny.in_ticks().assign_service_ticks == 1  # a cost that is on never vanishes
    zero = make_config(maze_size=4, cost_unit="exploration", **{**FRACTIONS, "assign_service_ticks": 0.0})
    assert zero.in_ticks().assign_service_ticks == 0
    half = make_config(maze_size=(3, 3), cost_unit="exploration", **{**FRACTIONS, "assign_service_ticks": 0.0625})
    assert half.in_ticks().assign_service_ticks == math.floor(0.0625 * 8 + 0.5) == 1  # 0.5 rounds up


@pytest.mark.parametrize("control", ["centralized", "decentralized"])
def test_an_exploration_unit_episode_is_the_episode_of_its_tick_config(control):
    config = make_config("small", control=control, cost_unit="exploration", **FRACTIONS)
    a, b = play(config, seed=3), play(config.in_ticks(), seed=3)
    assert a.config == b.config == config.in_ticks()
    assert a.end_time == b.end_time and a.messages == b.messages
    assert np.array_equal(a.done_time, b.done_time)


def test_validation_of_the_unit():
    with pytest.raises(ConfigError, match="config field 'assign_service_ticks'"):
        make_config(assign_service_ticks=0.5)  # a fraction needs cost_unit="exploration"
    with pytest.raises(ConfigError, match="config field 'cost_unit'"):
        make_config(cost_unit="seconds")
    with pytest.raises(ConfigError, match="config field 'validate_service_ticks'"):
        make_config(cost_unit="exploration", validate_service_ticks=float("nan"))

"""The compiled engine (``ces_env.core.compiled``) plays the Python simulator's episodes, step for step.

Both engines are driven through the environment with the same masked-random actions (waits included, so waiting,
wake-ups and the stall rule are exercised); every step's observations, masks, rewards and flags, and the final metrics
and stats, must be equal. The cases cover every option the compiled engine accepts; a hypothesis test draws scenarios
at random among them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ces_baselines.reproduce.scenario import PAPER_PROFILE
from ces_env import parallel_env
from ces_env.config import ConfigError, make_config
from ces_env.core.compiled import unsupported_reason
from ces_env.core.compiled.simulator import CompiledCESSimulator
from ces_env.core.simulator import CESSimulator
from ces_env.generator import generate_instance


def masked_random(masks: np.ndarray, rng: np.random.Generator, wait_prob: float) -> np.ndarray:
    """A legal action per agent at random; with probability ``wait_prob`` an agent that may wait does (action 0)."""
    actions = np.argmax(rng.random(masks.shape) * masks, axis=-1).astype(np.int64)
    waits = (rng.random(len(actions)) < wait_prob) & (masks[:, 0] == 1)
    actions[waits] = 0
    return actions


def play(engine: str, fields: dict[str, Any], seed: int, wait_prob: float) -> list[dict[str, Any]]:
    """Every step of one episode as plain values."""
    env = parallel_env(engine=engine, strict_actions=True, **fields)
    expected = CompiledCESSimulator if engine == "compiled" else CESSimulator
    result = env.reset_arrays(seed=seed)
    assert type(env.sim) is expected
    rng = np.random.default_rng(seed + 1000)
    steps = [{"obs": result.observations, "masks": result.masks}]
    while not result.over:
        result = env.step_arrays(masked_random(result.masks, rng, wait_prob))
        steps.append(
            {
                "obs": result.observations,
                "masks": result.masks,
                "rewards": result.rewards,
                "flags": (result.terminated, result.truncated, result.truncation_reason),
                "time": env.sim.time,
                "messages": env.sim.messages,
                "must_act": sorted(env.sim.must_act),
                "waiting": [sorted(group) for group in env.sim.waiting],
                "queues": env.sim.control.queue_lengths(),
                "busy": env.sim.control.busy_ticks(),
                "events": env.sim.events_scheduled,
                "rejected": env.sim.rejected_solutions,
            }
        )
        assert len(steps) < 5000, "an episode that never ends"
    steps.append({"metrics": result.metrics, "stats": result.stats, "state": env.state()})
    return steps


def assert_same_episode(fields: dict[str, Any], seed: int, wait_prob: float) -> None:
    python = play("python", fields, seed, wait_prob)
    compiled = play("compiled", fields, seed, wait_prob)
    assert len(python) == len(compiled), (len(python), len(compiled))
    for t, (a, b) in enumerate(zip(python, compiled, strict=True)):
        assert a.keys() == b.keys()
        for key in a:
            if isinstance(a[key], np.ndarray) or a[key] is None:
                assert (a[key] is None and b[key] is None) or np.array_equal(a[key], b[key]), (t, key)
            else:
                assert a[key] == b[key], (t, key, a[key], b[key])


CASES: dict[str, dict[str, Any]] = {
    "small": dict(preset="small"),
    "small-decentralized": dict(preset="small-decentralized"),
    "tiny": dict(preset="tiny"),
    "fixed-waits": dict(preset="small", wait_ticks=3),
    "fixed-waits-decentralized": dict(preset="small-decentralized", wait_ticks=2),
    "no-sharing": dict(preset="small", knowledge_sharing="none"),
    "global-sharing-decentralized": dict(preset="small-decentralized", knowledge_sharing="global"),
    "central-validation": dict(preset="small-decentralized", control_options={"validation": "central"}),
    "timed-sharing": dict(preset="small", share_ticks_per_recipient=2),
    "timed-sharing-decentralized": dict(preset="small-decentralized", share_ticks_per_recipient=3),
    "timed-global-sharing-central-validation": dict(
        preset="small-decentralized",
        share_ticks_per_recipient=1,
        knowledge_sharing="global",
        control_options={"validation": "central"},
    ),
    "timed-no-sharing": dict(preset="small", share_ticks_per_recipient=2, knowledge_sharing="none"),
    "paper-cost-profile": dict(preset="small", **PAPER_PROFILE),
    "slips": dict(preset="small", solution_error_prob=0.3),
    "slips-decentralized-wall-follower": dict(
        preset="small-decentralized", solution_error_prob=0.5, explorer="wall_follower"
    ),
    "slips-central-validation-timed-sharing": dict(
        preset="small-decentralized",
        solution_error_prob=0.2,
        share_ticks_per_recipient=2,
        control_options={"validation": "central"},
    ),
    "instant-claims": dict(preset="small-decentralized", claim_latency_ticks=0, peer_validate_ticks=0),
    "wall-follower": dict(preset="small", explorer="wall_follower"),
    "speeds-and-independent-split": dict(
        preset="small", speed_spread=0.5, partition="independent", partition_ticks_per_task=1
    ),
    "cost-in-explorations": dict(preset="small-decentralized", cost_unit="exploration", claim_latency_ticks=0.05),
    "one-agent-groups": dict(n_agents=3, n_groups=3, n_tasks=9, maze_size=5, graph="hds"),
    "empty-group": dict(n_agents=4, n_groups=3, n_tasks=2, maze_size=4, graph="lds"),
    "max-ticks": dict(preset="small", max_ticks=300),
    # long fixed waits across a group's end: a waiting agent of a finished group must stay finished
    "groups-end-while-waiting": dict(
        n_agents=6, n_groups=3, n_tasks=30, graph="independent", maze_size=5, control="decentralized", wait_ticks=30
    ),
}


@pytest.mark.parametrize("wait_prob", [0.0, 0.4])
@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_engine_plays_the_python_episode(case: str, wait_prob: float) -> None:
    for seed in range(3):
        assert_same_episode(CASES[case], seed, wait_prob)


@pytest.mark.parametrize(
    "case", ["small", "timed-sharing", "timed-global-sharing-central-validation", "groups-end-while-waiting"]
)
def test_growing_the_event_heap_and_the_queues_changes_nothing(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """From one heap row and one queue slot, every push past the end grows them (the ring buffers wrapped around)."""
    monkeypatch.setattr(CompiledCESSimulator, "initial_capacities", lambda self: (1, 1))
    for seed in range(2):
        assert_same_episode(CASES[case], seed, wait_prob=0.4)


def test_many_recipients_outgrow_the_initial_heap() -> None:
    """30 agents sharing every solution with everybody, 5 ticks per recipient: more deliveries pending than the
    initial heap holds (the Python simulator's heap reaches 85-116 events; the initial capacity is 74)."""
    for control, options in (("centralized", {}), ("decentralized", {"validation": "central"})):
        fields = dict(
            n_agents=30,
            n_groups=3,
            n_tasks=60,
            maze_size=6,
            knowledge_sharing="global",
            share_ticks_per_recipient=5,
            control=control,
            control_options=options,
        )
        assert_same_episode(fields, 0, wait_prob=0.0)


def test_an_always_waiting_policy_stalls_the_same_way() -> None:
    for preset in ("small", "small-decentralized"):
        assert_same_episode(dict(preset=preset), 0, wait_prob=1.0)


@settings(max_examples=25, deadline=None)
@given(
    control=st.sampled_from(["centralized", "decentralized"]),
    n_groups=st.integers(1, 4),
    agents_per_group=st.integers(1, 4),
    n_tasks=st.integers(1, 24),
    graph=st.sampled_from(["lds", "hds", "chain", "independent"]),
    sharing=st.sampled_from(["none", "group", "global"]),
    wait_ticks=st.one_of(st.none(), st.integers(1, 6)),
    latency=st.integers(0, 5),
    service=st.integers(0, 5),
    share=st.sampled_from([0, 0, 1, 3]),
    error_prob=st.sampled_from([0.0, 0.0, 0.25, 0.6]),
    explorer=st.sampled_from(["dfs", "dfs", "wall_follower"]),
    seed=st.integers(0, 2**32),
    wait_prob=st.sampled_from([0.0, 0.2, 0.7]),
)
def test_compiled_engine_on_random_scenarios(
    control,
    n_groups,
    agents_per_group,
    n_tasks,
    graph,
    sharing,
    wait_ticks,
    latency,
    service,
    share,
    error_prob,
    explorer,
    seed,
    wait_prob,
) -> None:
    fields = dict(
        control=control,
        n_groups=n_groups,
        n_agents=n_groups * agents_per_group,
        n_tasks=n_tasks,
        graph=graph,
        maze_size=4,
        tasks_per_class=2,
        knowledge_sharing=sharing,
        wait_ticks=wait_ticks,
        claim_latency_ticks=latency,
        assign_service_ticks=service,
        validate_service_ticks=service,
        peer_validate_ticks=latency,
        share_ticks_per_recipient=share,
        solution_error_prob=error_prob,
        explorer=explorer,
    )
    assert_same_episode(fields, seed, wait_prob)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (dict(control="auction-vickrey"), "not compiled"),
        (dict(exploration_mode="steered"), "exploration_mode"),
        (dict(explorer="random_walk"), "explorer"),
        (dict(crash_rate=0.01, crash_recovery_ticks=5), "fault"),
    ],
)
def test_what_the_compiled_engine_does_not_run_stays_with_python(fields: dict[str, Any], reason: str) -> None:
    config = make_config("small", **fields)
    assert reason in (unsupported_reason(config) or "")
    env = parallel_env(config=config)
    env.reset(seed=0)
    assert type(env.sim) is CESSimulator  # "auto" falls back
    with pytest.raises(ConfigError, match="config field 'engine'"):
        make_config("small", engine="compiled", **fields)


def test_tracing_uses_the_python_engine_and_compiled_is_the_default_otherwise() -> None:
    traced = parallel_env(preset="small", trace=True)
    traced.reset(seed=0)
    assert type(traced.sim) is CESSimulator and traced.sim.trace is not None
    plain = parallel_env(preset="small")
    plain.reset(seed=0)
    assert type(plain.sim) is CompiledCESSimulator
    assert make_config("small").engine == "auto"


def test_the_view_refuses_protocol_transitions() -> None:
    config = make_config("small")
    rng = np.random.default_rng(0)
    sim = CompiledCESSimulator(config, generate_instance(config, rng), rng)
    sim.advance()
    with pytest.raises(RuntimeError, match="compiled engine"):
        sim.control.choose(0, 0)
    with pytest.raises(ValueError, match="maze moves"):
        sim.decide({}, {0: 1})


def test_both_engines_share_an_instance_cache_and_play_the_same_episode() -> None:
    """The engine shapes no instance: a sweep's instance cache serves a seed to either engine (one miss, one hit)."""
    from ces_env import InstanceCache

    cache = InstanceCache()
    metrics = []
    for engine in ("python", "compiled"):
        env = parallel_env(preset="small", engine=engine, instance_cache=cache)
        result = env.reset_arrays(seed=3)
        while not result.over:
            result = env.step_arrays(np.argmax(result.masks, axis=1).astype(np.int64))
        metrics.append(result.metrics)
    assert (cache.misses, cache.hits) == (1, 1)
    assert metrics[0] == metrics[1]

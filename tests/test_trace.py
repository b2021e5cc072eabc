"""The episode trace (ces_env.core.trace): it reproduces the metrics from its own intervals, it is complete and
consistent, and recording it never changes an episode."""

from __future__ import annotations

import numpy as np
import pytest

import ces_env
from ces_env.core.metrics import work_ticks
from ces_env.core.simulator import CESSimulator
from ces_env.policies import RewardFirstPolicy
from ces_env.types import AgentStatus, TaskStatus
from tests.helpers import rollout
from tests.test_determinism import _plain

CASES = {
    "tiny-centralized": dict(preset="tiny"),
    "tiny-decentralized": dict(preset="tiny", control="decentralized"),
    "small-centralized-errors": dict(preset="small", solution_error_prob=0.3, speed_spread=0.4),
    "small-decentralized-errors": dict(preset="small", control="decentralized", solution_error_prob=0.3),
    "steered-centralized": dict(preset="steered"),
    "steered-decentralized": dict(preset="steered", control="decentralized", solution_error_prob=0.2),
    "fixed-wait-no-sharing": dict(preset="small", wait_ticks=3, knowledge_sharing="none", control="decentralized"),
    "truncated": dict(preset="small", max_ticks=700),
    "slow-controller": dict(preset="small", assign_service_ticks=30, validate_service_ticks=40),
}


def recomputed(sim: CESSimulator) -> dict:
    """The metrics the trace gives from its intervals alone."""
    trace = sim.trace
    assert trace is not None
    inst = sim.instance
    group_end = trace.group_end_times()
    waiting = trace.waiting_ticks()
    done = trace.done_times()
    all_done = bool((done >= 0).all())  # ET: the last validation plus the collect overhead, else now
    et = int(done.max()) + sim.config.collect_ticks_per_group * inst.n_groups if all_done else trace.now
    busy = trace.controller_busy_ticks()
    elapsed = np.maximum(1, np.maximum(0, group_end - trace.start_time))
    return {
        "ET": et,
        "ET_g": group_end.tolist(),
        "TWT_g": np.bincount(inst.agent_group, weights=waiting, minlength=inst.n_groups).tolist(),
        "controller_busy": busy,
        "controller_utilization": float(np.mean(busy / elapsed)) if sim.control.busy_ticks() is not None else 0.0,
        "conflicts": len(trace.conflicts),
        "mu_g": np.bincount(inst.task_group[done >= 0], minlength=inst.n_groups).tolist(),
    }


def check_against_metrics(sim: CESSimulator) -> None:
    metrics, stats, trace = sim.metrics(), sim.stats(), sim.trace
    assert trace is not None
    again = recomputed(sim)
    assert again["ET"] == metrics["ET"]
    assert again["ET_g"] == metrics["ET_g"]
    assert again["TWT_g"] == pytest.approx(metrics["TWT_g"], abs=1e-9)
    assert again["controller_utilization"] == pytest.approx(metrics["controller_utilization"], abs=1e-12)
    busy = sim.control.busy_ticks()
    assert again["controller_busy"].tolist() == (busy.tolist() if busy is not None else [0] * sim.instance.n_groups)
    assert again["conflicts"] == metrics["conflicts"]
    assert again["mu_g"] == metrics["mu_g"]
    np.testing.assert_array_equal(trace.work_ticks(), work_ticks(sim))
    validations = trace.validations()
    assert sum(not v.accepted for v in validations) == stats["rejected_solutions"]
    assert sum(v.accepted for v in validations) == sim.tasks_done
    np.testing.assert_array_equal(trace.done_times(), sim.done_time)


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_trace_reproduces_the_metrics(kwargs, seed):
    env = ces_env.parallel_env(trace=True, **kwargs)
    rollout(env, seed, policy=RewardFirstPolicy() if seed != 2 else None)  # seed 2: random masked actions
    sim = env.unwrapped.sim
    assert sim.terminated or sim.truncated
    check_against_metrics(sim)
    if kwargs.get("max_ticks"):
        assert sim.truncated and not sim.terminated, "the truncation case must truncate"


@pytest.mark.parametrize("control", ["centralized", "decentralized"])
def test_the_trace_reproduces_the_metrics_at_every_step(control):
    env = ces_env.parallel_env(preset="small", control=control, solution_error_prob=0.2, trace=True)
    steps = []

    def check(env) -> None:
        check_against_metrics(env.sim)
        steps.append(env.sim.time)

    rollout(env, 3, policy=RewardFirstPolicy(), on_step=check)
    assert len(steps) > 10


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_tracing_off_and_on_play_the_same_episode(kwargs):
    _, untraced = rollout(ces_env.parallel_env(**kwargs), seed=5)
    traced_env = ces_env.parallel_env(trace=True, **kwargs)
    _, traced = rollout(traced_env, seed=5)
    assert len(untraced) == len(traced) > 0
    for step, (a, b) in enumerate(zip(untraced, traced, strict=True)):
        assert _plain(a) == _plain(b), f"tracing changed the episode at step {step}"
    assert traced_env.sim.trace is not None and traced_env.sim.trace.agent_changes


def test_the_trace_gives_ticks_as_integer_arrays():
    """Ticks are whole numbers: an analysis may index with them or compare them exactly, so no float creeps in."""
    env = ces_env.parallel_env(preset="tiny", trace=True)
    rollout(env, 0, policy=RewardFirstPolicy())
    trace = env.unwrapped.sim.trace
    inst = env.unwrapped.sim.instance
    arrays = {
        "ready_times": (trace.ready_times(), inst.n_tasks),
        "done_times": (trace.done_times(), inst.n_tasks),
        "group_end_times": (trace.group_end_times(), inst.n_groups),
        "work_ticks": (trace.work_ticks(), inst.n_agents),
        "waiting_ticks": (trace.waiting_ticks(), inst.n_agents),
        "controller_busy_ticks": (trace.controller_busy_ticks(), inst.n_groups),
    }
    for name, (values, length) in arrays.items():
        assert values.dtype == np.int64 and values.shape == (length,), name
    assert trace.work_ticks().sum() > 0 and trace.controller_busy_ticks().sum() > 0


def test_tracing_is_off_by_default():
    env = ces_env.parallel_env(preset="tiny")
    env.reset(seed=0)
    assert env.sim.trace is None


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_agent_intervals_tile_the_episode(kwargs):
    """Every agent has exactly one status at every tick from 0 to the end; statuses change only where the trace says."""
    env = ces_env.parallel_env(trace=True, **kwargs)
    rollout(env, 1, policy=RewardFirstPolicy())
    sim = env.sim
    intervals = sim.trace.agent_intervals()
    for agent in range(sim.instance.n_agents):
        own = [i for i in intervals if i.agent == agent]
        assert own[0].start == 0 and own[-1].end == sim.time
        assert all(a.end == b.start for a, b in zip(own, own[1:]))
        assert all(i.end > i.start for i in own)
        last_change = [c for c in sim.trace.agent_changes if c.agent == agent][-1]  # may last no time yet
        assert (last_change.status, last_change.task) == (sim.agent_status[agent], sim.agent_task[agent])
        work = [i for i in own if i.status in (AgentStatus.EXPLORING, AgentStatus.REPLAYING, AgentStatus.STEERING)]
        assert all(i.task >= 0 for i in work), "a working agent always has a task"


@pytest.mark.parametrize("kwargs", [CASES["small-centralized-errors"], CASES["slow-controller"]])
def test_a_controller_serves_one_job_at_a_time(kwargs):
    env = ces_env.parallel_env(trace=True, **kwargs)
    rollout(env, 0, policy=RewardFirstPolicy())
    trace = env.sim.trace
    assert {s.kind for s in trace.services} == {"assign", "validate"}
    for group in range(env.sim.instance.n_groups):
        services = sorted((s for s in trace.services if s.group == group), key=lambda s: s.start)
        assert all(a.end <= b.start for a, b in zip(services, services[1:])), "a single server overlaps itself"
        # each task's validation by the controller is preceded by its assignment to the same agent
        for service in services:
            if service.kind == "validate":
                assert any(
                    s.kind == "assign"
                    and s.task == service.task
                    and s.agent == service.agent
                    and s.end <= service.start
                    for s in services
                )


def test_claims_and_conflicts_agree():
    env = ces_env.parallel_env(trace=True, preset="small", control="decentralized")
    rollout(env, 0, policy=RewardFirstPolicy())
    trace, sim = env.sim.trace, env.sim
    claims = trace.claims()
    assert sum(not c.won for c in claims) == sim.conflicts > 0
    for claim in claims:
        # a won claim holds the task from the claim on; a lost one was made on a task someone else already held
        holders = [c.holder for c in trace.task_changes if c.task == claim.task and c.tick == claim.tick]
        if claim.won:
            assert claim.agent in holders
        else:
            assert claim.agent not in holders


def test_task_times_follow_the_dependencies():
    env = ces_env.parallel_env(trace=True, preset="small")
    rollout(env, 0, policy=RewardFirstPolicy())
    trace, inst = env.sim.trace, env.sim.instance
    ready, done = trace.ready_times(), trace.done_times()
    assert (ready >= 0).all() and (done > ready).all()
    for task in range(inst.n_tasks):
        preds = inst.predecessors(task)
        if preds.size:
            assert ready[task] == done[preds].max(), "a task becomes ready when its last dependency is done"
        else:
            assert ready[task] == 0
    assert trace.task_times(TaskStatus.DONE, first=False).tolist() == done.tolist()

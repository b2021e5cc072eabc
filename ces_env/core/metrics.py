"""The project's metrics, computed from the simulator's state only (as ``ces_env.observations`` builds observations).

The same keys, :data:`METRIC_KEYS`, for every policy and every control protocol, so that scripted, negotiated and
learned allocation are compared on one table. The README's metrics table documents each key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ces_env.types import AgentStatus

if TYPE_CHECKING:
    from ces_env.core.simulator import CESSimulator

METRIC_KEYS = (
    "ET",
    "ET_g",
    "TWT",
    "TWT_g",
    "lambda_g",
    "mu_g",
    "total_reward",
    "messages",
    "conflicts",
    "controller_utilization",
    "fairness_jain",
    "lower_bound",
    "makespan_ratio",
)
METRIC_UNITS = {
    "ET": "ticks",
    "ET_g": "ticks",
    "TWT": "agent-ticks",
    "TWT_g": "agent-ticks",
    "lambda_g": "tasks",
    "mu_g": "tasks",
    "total_reward": "reward",
    "messages": "messages",
    "conflicts": "claims",
    "controller_utilization": "fraction",
    "fairness_jain": "index",
    "lower_bound": "ticks",
    "makespan_ratio": "ratio",
}
STAT_KEYS = ("explorations", "replays", "rejected_solutions", "ticks")


def work_ticks(sim: CESSimulator) -> np.ndarray:
    """(n,) ticks each agent has spent moving in a maze up to now (the elapsed part of work in progress included)."""
    now = sim.time
    productive = sim.productive_ticks.astype(np.float64)
    working = (sim.agent_status == AgentStatus.EXPLORING) | (sim.agent_status == AgentStatus.REPLAYING)
    productive[working] += now - sim.job_start[working]
    steering = sim.agent_status == AgentStatus.STEERING
    productive[steering] -= np.maximum(0, sim.move_end[steering] - now)  # a move counts only as far as it got
    return productive


def episode_metrics(sim: CESSimulator) -> dict[str, Any]:
    """The metrics of the episode so far, with exactly the keys :data:`METRIC_KEYS`.

    Before the end (or after a truncation) times and counts are as of now: unfinished groups count up to now, work
    and controller service in progress count their elapsed part, and ``makespan_ratio`` uses
    ``max(elapsed, lower_bound)``, a lower estimate of the unknown final ratio (so it stays >= 1).
    """
    inst = sim.instance
    now = sim.time
    group_end = np.where(sim.group_done_time >= 0, sim.group_done_time, now)
    productive = work_ticks(sim)
    elapsed = np.maximum(0, group_end - sim.start_time)
    work_by_group = np.bincount(inst.agent_group, weights=productive, minlength=inst.n_groups)
    # in float64: group size x elapsed ticks can pass int64 where neither factor does (100,000 agents x 1e15 ticks)
    twt_g = [float(sim.group_size[g]) * float(elapsed[g]) - float(work_by_group[g]) for g in range(inst.n_groups)]
    et = int(sim.end_time) if sim.terminated else int(now)
    makespan = max(1, int(group_end.max()) - sim.start_time)
    if not sim.terminated:
        makespan = max(makespan, sim.lower_bound)
    busy = sim.control.busy_ticks()
    utilization = 0.0 if busy is None else float(np.mean(busy / np.maximum(1, elapsed)))
    jain = float(productive.sum() ** 2 / (len(productive) * np.square(productive).sum())) if productive.any() else 1.0
    return {
        "ET": et,
        "ET_g": [int(t) for t in group_end],
        "TWT": float(sum(twt_g)),
        "TWT_g": twt_g,
        "lambda_g": [int(v) for v in sim.group_total],
        "mu_g": [int(v) for v in sim.group_completed],
        "total_reward": float(sim.total_reward),
        "messages": int(sim.messages),
        "conflicts": int(sim.conflicts),
        "controller_utilization": utilization,
        "fairness_jain": jain,
        "lower_bound": int(sim.lower_bound),
        "makespan_ratio": float(makespan / sim.lower_bound),
    }


def episode_stats(sim: CESSimulator) -> dict[str, int]:
    """Counts that explain the metrics (not metrics themselves): executions by kind, rejected solutions, time."""
    stats = {
        "explorations": int(sim.explorations),
        "replays": int(sim.replays),
        "rejected_solutions": int(sim.rejected_solutions),
        "ticks": int(sim.time),
    }
    if sim.faults is not None:  # fault counts only when some fault option is set (ces_env.core.faults)
        stats.update(sim.faults.stats())
        stats["controller_down_ticks"] = int(sim.control.controller_down_ticks())
    return stats

"""A valid lower bound on the makespan of any policy on an instance.

The fastest possible execution of a task is walking its maze's solution (the unique start-target path of a perfect
maze) at the fastest speed of the group that owns it, as if the solution were already known: exploration can only add
moves, and nothing moves faster. The protocol adds fixed costs that no policy avoids: before a task starts, a
controller assignment (centralized) or a claim latency (decentralized); after it ends, a validation. Three bounds
follow, and the makespan (first possible start to last validation) is at least the largest:

* **chain**: the longest dependency path, each task weighted by ``before + min_duration + after``;
* **work**: per group, ceil(total cells to walk / total speed of its agents) (an agent walks at most ``speed`` cells
  per tick, and only a group's own agents execute its tasks);
* **controller** (centralized only): a group's controller serves each of its tasks' assignment and validation one at a
  time, so it is busy at least ``|lambda_g| * (assign + validate)`` ticks.

``tests/core/test_lower_bound.py`` checks the bound against brute-force optimal schedules on tiny instances.
"""

from __future__ import annotations

import math

import numpy as np

from ces_env.config import CESConfig
from ces_env.types import Instance


def protocol_overheads(config: CESConfig) -> tuple[int, int]:
    """(ticks before a task can start, ticks after it ends until it counts as completed) under ``config.control``."""
    if config.control == "centralized":
        return config.assign_service_ticks, config.validate_service_ticks
    return config.claim_latency_ticks, config.peer_validate_ticks


def min_task_durations(instance: Instance) -> np.ndarray:
    """(m,) int64: ticks to walk each task's solution at the fastest speed of its group (at least 1)."""
    fastest = np.zeros(instance.n_groups)
    np.maximum.at(fastest, instance.agent_group, instance.agent_speed)
    lengths = instance.solution_lengths()
    return np.maximum(1, np.ceil(lengths / fastest[instance.task_group] - 1e-9)).astype(np.int64)


def makespan_lower_bound(instance: Instance, config: CESConfig) -> int:
    before, after = protocol_overheads(config)
    durations = min_task_durations(instance) + before + after

    # chain bound: tasks are numbered topologically (every edge goes from a lower to a higher id)
    finish = np.zeros(instance.n_tasks, dtype=np.int64)
    for task in range(instance.n_tasks):
        preds = instance.predecessors(task)
        start = int(finish[preds].max()) if preds.size else 0
        finish[task] = start + durations[task]
    chain = int(finish.max())

    lengths = instance.solution_lengths().astype(np.float64)
    work = 0
    controller = 0
    for group in range(instance.n_groups):
        tasks = instance.task_group == group
        if not tasks.any():
            continue
        speed = float(instance.agent_speed[instance.agent_group == group].sum())
        work = max(work, math.ceil(lengths[tasks].sum() / speed - 1e-9))
        if config.control == "centralized":
            controller = max(controller, int(tasks.sum()) * (before + after))
    return max(1, chain, work, controller)

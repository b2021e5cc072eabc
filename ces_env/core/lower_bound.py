"""A valid lower bound on the makespan of any policy on an instance.

The fastest possible execution of a task is walking its maze's solution (the unique start-target path of a perfect
maze) at the fastest speed of the group that owns it, as if the solution were already known: exploration can only add
moves, and nothing moves faster. The control protocol adds fixed costs that no policy avoids
(:meth:`ControlProtocol.task_overheads`): before a task starts, e.g. a controller assignment (centralized) or a claim
latency (decentralized); after it ends, a validation. Three bounds follow, and the makespan (first possible start to
last validation) is at least the largest:

* **chain**: the longest dependency path, each task weighted by ``before + min_duration + after``;
* **work**: per group, ceil(total cells to walk / total speed of its agents) (an agent walks at most ``speed`` cells
  per tick, and only a group's own agents execute its tasks);
* **protocol resource** (:meth:`ControlProtocol.resource_bound`): e.g. under centralized control a group's controller
  serves each of its tasks' assignment and validation one at a time, so it is busy at least
  ``|lambda_g| * (assign + validate)`` ticks.

``tests/core/test_lower_bound.py`` checks the bound against brute-force optimal schedules on tiny instances.
"""

from __future__ import annotations

import math

import numpy as np

from ces_env.config import CESConfig
from ces_env.core.protocols import control_protocol
from ces_env.path_kernels import longest_paths
from ces_env.types import Instance


def min_task_durations(instance: Instance) -> np.ndarray:
    """(m,) int64: ticks to walk each task's solution at the fastest speed of its group (at least 1)."""
    return _min_task_durations(instance, instance.solution_lengths())


def _min_task_durations(instance: Instance, lengths: np.ndarray) -> np.ndarray:
    fastest = np.zeros(instance.n_groups)
    np.maximum.at(fastest, instance.agent_group, instance.agent_speed)
    return np.maximum(1, np.ceil(lengths / fastest[instance.task_group] - 1e-9)).astype(np.int64)


def lower_bound_terms(instance: Instance, config: CESConfig) -> dict[str, int]:
    """The three bounds of the module docstring by name: ``chain``, ``work`` and ``protocol``."""
    config = config.in_ticks()  # costs in exploration units: the bound is in ticks, like the simulator
    protocol = control_protocol(config.control)
    before, after = protocol.task_overheads(config)
    lengths = instance.solution_lengths()  # once for both bounds (the simulator computes this at every reset)
    durations = _min_task_durations(instance, lengths) + (before + after)

    # chain bound: tasks are numbered topologically (every edge goes from a lower to a higher id)
    finish = longest_paths(durations, instance.pred_indptr, instance.pred_indices, towards_sinks=False)

    # work bound: per group, the cells its tasks' solutions walk over the group's total speed (bincount adds the
    # integer lengths as float64, as it did from a float64 copy)
    cells = np.bincount(instance.task_group, weights=lengths, minlength=instance.n_groups).tolist()
    speed = np.bincount(instance.agent_group, weights=instance.agent_speed, minlength=instance.n_groups).tolist()
    work = max(math.ceil(c / s - 1e-9) for c, s in zip(cells, speed))
    return {"chain": int(finish.max()), "work": int(work), "protocol": protocol.resource_bound(instance, config)}


def makespan_lower_bound(instance: Instance, config: CESConfig) -> int:
    """The largest of :func:`lower_bound_terms` (at least 1 tick)."""
    return max(1, *lower_bound_terms(instance, config).values())

"""Compiled longest-path sweep over a topologically numbered DAG given as CSR arrays.

Two per-instance constants are longest paths: the chain bound of the makespan lower bound (over predecessors, from
the roots) and the observations' upward rank (over successors, to the sinks). Both were Python loops over the tasks
with a numpy ``max`` per task (~1 µs each), paid at every reset (issue 12); this loop does the same arithmetic in a few
microseconds. It imports nothing from ``ces_env``, so the core and the observation builder can both use it without an
import cycle.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _longest_paths(durations, indptr, indices, towards_sinks):  # pragma: no cover - compiled
    total = durations.copy()
    n = durations.size
    for step in range(n):
        task = n - 1 - step if towards_sinks else step
        start = indptr[task]
        stop = indptr[task + 1]
        if stop > start:
            best = total[indices[start]]
            for k in range(start + 1, stop):
                value = total[indices[k]]
                if value > best:
                    best = value
            total[task] = durations[task] + best
    return total


def longest_paths(durations: np.ndarray, indptr: np.ndarray, indices: np.ndarray, towards_sinks: bool) -> np.ndarray:
    """Per task, the largest sum of ``durations`` along a dependency path through it, counting the task itself.

    ``indptr``/``indices`` are the CSR of each task's neighbours on the side the path comes from: its predecessors for
    paths from the roots (``towards_sinks=False``, tasks swept in increasing id), its successors for paths to the sinks
    (``towards_sinks=True``, decreasing id). Task ids must be topological (every edge from a lower to a higher id), as
    in every :class:`~ces_env.types.Instance`. Exactly the values of ``durations[t] + max(total[neighbours])`` taken
    task by task (a maximum and one addition per task: no rounding differs)."""
    durations = np.ascontiguousarray(durations)
    if durations.ndim != 1 or indptr.shape != (durations.size + 1,):
        raise ValueError(
            f"longest_paths: durations (m,) and indptr (m+1,) expected, got {durations.shape}, {indptr.shape}"
        )
    return _longest_paths(durations, indptr, indices, bool(towards_sinks))

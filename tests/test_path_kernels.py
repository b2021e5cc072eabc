"""The compiled longest-path sweep gives exactly what the per-task Python loops it replaced gave (issue 12)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from ces_env.config import CESConfig
from ces_env.generator import generate_instance
from ces_env.path_kernels import longest_paths


def _loop_to_sinks(durations: np.ndarray, instance) -> np.ndarray:
    """The observation builder's former upward-rank loop."""
    rank = durations.copy()
    for task in range(instance.n_tasks - 1, -1, -1):
        succ = instance.successors(task)
        if succ.size:
            rank[task] += rank[succ].max()
    return rank


def _loop_from_roots(durations: np.ndarray, instance) -> np.ndarray:
    """The lower bound's former chain loop."""
    finish = np.zeros(instance.n_tasks, dtype=np.int64)
    for task in range(instance.n_tasks):
        preds = instance.predecessors(task)
        start = int(finish[preds].max()) if preds.size else 0
        finish[task] = start + durations[task]
    return finish


@pytest.mark.parametrize("graph", ["lds", "hds", "g40", "chain", "independent"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_python_loops(graph: str, seed: int) -> None:
    config = CESConfig(n_tasks=60, n_agents=4, n_groups=2, graph=graph, maze_size=6)
    instance = generate_instance(config, np.random.default_rng(seed))
    rng = np.random.default_rng(100 + seed)
    floats = rng.uniform(0.1, 5.0, size=instance.n_tasks)  # irrational-looking sums: any reordering would show
    ints = rng.integers(1, 50, size=instance.n_tasks)
    to_sinks = longest_paths(floats, instance.succ_indptr, instance.succ_indices, towards_sinks=True)
    from_roots = longest_paths(ints, instance.pred_indptr, instance.pred_indices, towards_sinks=False)
    assert to_sinks.dtype == np.float64 and from_roots.dtype == np.int64
    assert np.array_equal(to_sinks, _loop_to_sinks(floats, instance))
    assert np.array_equal(from_roots, _loop_from_roots(ints, instance))
    # and the largest is the DAG's longest path (networkx, the task weights moved onto the edges into each task, and
    # a super-source -1 feeding every task so that a root's own weight counts)
    weighted = nx.DiGraph()
    weighted.add_weighted_edges_from((u, v, int(ints[v])) for u, v in instance.graph.edges)
    weighted.add_weighted_edges_from((-1, v, int(ints[v])) for v in range(instance.n_tasks))
    assert from_roots.max() == nx.dag_longest_path_length(weighted)


def test_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="durations \\(m,\\) and indptr \\(m\\+1,\\)"):
        longest_paths(np.ones(3), np.zeros(3, dtype=np.int32), np.zeros(0, dtype=np.int32), towards_sinks=True)

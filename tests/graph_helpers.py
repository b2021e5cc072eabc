"""Helpers shared by the graph tests (families, files, partitions)."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def edge_set(graph: nx.DiGraph) -> set[tuple]:
    return set(graph.edges)


def assert_task_dag(graph: nx.DiGraph, n: int) -> None:
    """Nodes 0..n-1, every edge from a lower to a higher id, float weights and int copy numbers."""
    assert sorted(graph.nodes) == list(range(n))
    assert nx.is_directed_acyclic_graph(graph)
    assert all(u < v for u, v in graph.edges)
    for _, attrs in graph.nodes(data=True):
        assert attrs["weight"] > 0 and isinstance(attrs["weight"], float)
        assert isinstance(attrs["copy"], int)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path

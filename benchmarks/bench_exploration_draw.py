"""CPU time of one automatic-mode dfs exploration: numpy's Generator per (task, attempt) against the compiled draw.

The simulator used to build ``np.random.default_rng([*seed words, task, attempt])`` and draw one direction order per
cell from it; :func:`ces_env.maze.explore_dfs_seeded` draws the same orders with ``ces_env.exploration_kernels``
(issue 12). ``python benchmarks/bench_exploration_draw.py`` prints, per maze size, the best and the worst of
``--repeats`` blocks (pinned to one core) for the draw alone and for the whole exploration (draw + DFS kernel).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_decisions import pin_to_one_core  # noqa: E402

from ces_env.core.simulator import uint32_words  # noqa: E402
from ces_env.exploration_kernels import dfs_direction_orders  # noqa: E402
from ces_env.maze import Maze, explore_dfs, explore_dfs_seeded, generate_maze  # noqa: E402

SIZES = (10, 100, 400)
SEED = 6_917_529_027_641_081_856  # an exploration seed of two words, as most of the simulator's are
Work = Callable[[np.ndarray], object]  # one exploration's draw (or more) from its entropy words


def block_microseconds(
    work: Callable[[np.ndarray], object], words: np.ndarray, calls: int, repeats: int
) -> list[float]:
    """CPU µs per call of each block of ``calls`` calls; the task word changes at every call, as in an episode."""
    work(words)  # compile or load numba's cache outside the timing
    blocks = []
    for _ in range(repeats):
        start = time.process_time()
        for task in range(calls):
            words[-2] = task
            work(words)
        blocks.append((time.process_time() - start) / calls * 1e6)
    return blocks


def draws(n_cells: int) -> tuple[Work, Work]:
    """The direction orders alone: numpy's Generator, then the compiled copy."""

    def with_numpy(words: np.ndarray) -> object:
        return np.random.default_rng(words).integers(0, 24, size=n_cells, dtype=np.uint8)

    def compiled(words: np.ndarray) -> object:
        return dfs_direction_orders(words, n_cells)

    return with_numpy, compiled


def explorations(maze: Maze) -> tuple[Work, Work]:
    """The whole exploration (orders, DFS kernel, result): the simulator's old call, then its new one."""

    def with_numpy(words: np.ndarray) -> object:
        return explore_dfs(maze, np.random.default_rng(words))

    def compiled(words: np.ndarray) -> object:
        return explore_dfs_seeded(maze, words)

    return with_numpy, compiled


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="blocks per measurement")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    print(f"one exploration's CPU time ({pin_to_one_core()})")
    print("\n| maze | what | numpy Generator µs (best-worst) | compiled µs (best-worst) | speed-up (best) |")
    print("|---|---|---|---|---|")
    for size in SIZES:
        maze = generate_maze(size, size, np.random.default_rng(size))
        n_cells = maze.n_cells
        calls = max(20, 200_000 // n_cells)
        words = np.array([*uint32_words(SEED), 0, 3], dtype=np.uint32)
        cases = {"draw": draws(n_cells), "exploration": explorations(maze)}
        for what, (with_numpy, compiled) in cases.items():
            old = block_microseconds(with_numpy, words, calls, args.repeats)
            new = block_microseconds(compiled, words, calls, args.repeats)
            print(
                f"| {size}x{size} | {what} | {min(old):,.1f}-{max(old):,.1f} | {min(new):,.1f}-{max(new):,.1f} "
                f"| x{min(old) / min(new):.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

"""Timing of maze generation and DFS exploration.

Usage: python benchmarks/bench_maze.py [--repeats 30] [--sizes 100 200 400] [--seed 0] [--batch 10 20]

Prints, per square size, the median and p90 CPU time (ms, ``time.process_time``: comparable when other processes
share the core; after JIT warm-up) of ``generate_maze``, ``explore_dfs`` and both together, plus the mean
DFS moves and solution length.  Project requirement: generate + explore on
400x400 <= 20 ms median.

``--batch COUNT SIZE`` instead times an instance's mazes drawn one by one (``generate_maze`` in a loop) against one
``generate_mazes`` call, alternated round by round from the same seeds (CPU µs, medians and the within-round ratio).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

try:
    from ces_env.maze import explore_dfs, generate_maze, generate_mazes
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from ces_env.maze import explore_dfs, generate_maze, generate_mazes


def warm_up() -> None:
    """Compile (or load from cache) the numba kernels so timings exclude JIT."""
    rng = np.random.default_rng(0)
    explore_dfs(generate_maze(4, 5, rng), rng)


def time_maze(size: int, repeats: int, seed: int) -> dict:
    """Time ``repeats`` generate+explore rounds on ``size x size`` mazes.

    Returns median/p90 milliseconds for "generate", "explore" and "total" (keys like
    ``generate_median_ms``), plus ``mean_moves`` and ``mean_solution_length``.
    Call :func:`warm_up` (or any maze call) first to keep JIT time out.
    """
    rng = np.random.default_rng(seed)
    generate_ms, explore_ms, moves, solution_lengths = [], [], [], []
    for _ in range(repeats):
        t0 = time.process_time()
        maze = generate_maze(size, size, rng)
        t1 = time.process_time()
        exploration = explore_dfs(maze, rng)
        t2 = time.process_time()
        generate_ms.append((t1 - t0) * 1e3)
        explore_ms.append((t2 - t1) * 1e3)
        moves.append(exploration.moves)
        solution_lengths.append(maze.solution_length)
    result: dict[str, float] = {"size": size, "repeats": repeats}
    total_ms = np.add(generate_ms, explore_ms)
    for name, samples in (("generate", generate_ms), ("explore", explore_ms), ("total", total_ms)):
        result[f"{name}_median_ms"] = float(np.median(samples))
        result[f"{name}_p90_ms"] = float(np.percentile(samples, 90))
    result["mean_moves"] = float(np.mean(moves))
    result["mean_solution_length"] = float(np.mean(solution_lengths))
    return result


def time_batch(count: int, size: int, rounds: int, calls: int = 200) -> None:
    """Print CPU µs per instance's ``count`` mazes, one by one against one batch call, alternated by round."""
    one_by_one: list[float] = []
    batched: list[float] = []
    generate_mazes(size, size, count, np.random.default_rng(0))  # compile outside the timing
    for round_ in range(rounds):
        for timings, draw in (
            (one_by_one, lambda rng: tuple(generate_maze(size, size, rng) for _ in range(count))),
            (batched, lambda rng: generate_mazes(size, size, count, rng)),
        ):
            rngs = [np.random.default_rng(round_ * calls + k) for k in range(calls)]  # fresh seeds: new mazes
            start = time.process_time()
            for rng in rngs:
                draw(rng)
            timings.append((time.process_time() - start) / calls * 1e6)
    ratios = [a / b for a, b in zip(one_by_one, batched, strict=True)]
    print(f"{count} mazes of {size}x{size}, CPU µs per instance, medians of {rounds} alternated rounds:")
    print(
        f"  one by one {np.median(one_by_one):,.0f}, one batch call {np.median(batched):,.0f}, "
        f"ratio {np.median(ratios):.2f}x"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 400])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, nargs=2, metavar=("COUNT", "SIZE"), help="time the batch instead")
    args = parser.parse_args(argv)

    warm_up()
    if args.batch is not None:
        time_batch(args.batch[0], args.batch[1], rounds=9)
        return
    header = (
        f"{'size':>9} | {'generate ms':>15} | {'explore ms':>15} | {'total ms':>15} | "
        f"{'DFS moves':>10} | {'solution':>8}"
    )
    print(header)
    print(f"{'':>9} | {'median    p90':>15} | {'median    p90':>15} | {'median    p90':>15} |")
    print("-" * len(header))
    for size in args.sizes:
        r = time_maze(size, args.repeats, args.seed)
        print(
            f"{size:>4}x{size:<4} | "
            f"{r['generate_median_ms']:7.2f} {r['generate_p90_ms']:7.2f} | "
            f"{r['explore_median_ms']:7.2f} {r['explore_p90_ms']:7.2f} | "
            f"{r['total_median_ms']:7.2f} {r['total_p90_ms']:7.2f} | "
            f"{r['mean_moves']:10.0f} | {r['mean_solution_length']:8.0f}"
        )


if __name__ == "__main__":
    main()

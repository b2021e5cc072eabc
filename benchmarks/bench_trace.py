"""What tracing (``parallel_env(..., trace=True)``, the Gantt charts' source) costs: CPU time of whole episodes with
tracing off and on, interleaved, with the reference reward-first policy, pinned to one core.

    python benchmarks/bench_trace.py                    # small (12 seeds) and 500 tasks with 20x20 mazes (4 seeds)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from ces_env.config import make_config
from ces_env.env import parallel_env
from ces_env.policies import RewardFirstPolicy
from ces_env.runner import run_episode

SCENARIOS = {"small": (make_config("small"), 12), "500 tasks, 20x20": (make_config("paper-500", maze_size=20), 4)}


def episode_cpu_seconds(config, seed: int, trace: bool) -> float:
    """CPU seconds of one whole episode (env construction and reset included)."""
    start = time.process_time()
    run_episode(RewardFirstPolicy(), parallel_env(config=config, trace=trace), seed)
    return time.process_time() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    episode_cpu_seconds(make_config("tiny"), 0, True)  # warm-up: numba compilation
    print("| scenario | episodes | tracing off, median ms | tracing on, median ms | on / off |")
    print("|---|---|---|---|---|")
    for name, (config, seeds) in SCENARIOS.items():
        off, on = [], []
        for seed in range(seeds):  # interleaved, so that a change of load hits both alike
            off.append(episode_cpu_seconds(config, seed, False))
            on.append(episode_cpu_seconds(config, seed, True))
        median_off, median_on = statistics.median(off), statistics.median(on)
        print(f"| {name} | {seeds} | {1e3 * median_off:.1f} | {1e3 * median_on:.1f} | {median_on / median_off:.2f} |")


if __name__ == "__main__":
    main()

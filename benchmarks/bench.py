"""Benchmarks of ces-env (a script, not a test): run ``python benchmarks/bench.py`` and copy the table to the README.

Measures, pinned to one core:
1. maze generation plus depth-first exploration at 100x100, 200x200 and 400x400 (median and p90 CPU time over
   repeats);
2. agent-steps per second of the environment (one agent-step = one live agent's observation and action in one env
   step) under the reference reward-first policy, in the event-driven mode and the tick-level agent-steered mode;
3. one whole episode at the paper's scale (500 tasks, 50 agents, 10 groups, 400x400 mazes) under the reward-first
   policy, reset (instance and maze generation) included, for both controls; then once more with the instance taken
   from an ``InstanceCache`` that another policy's episode on the same seed filled (a sweep's later policies).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_maze import time_maze, warm_up  # noqa: E402

from ces_env import InstanceCache, parallel_env  # noqa: E402
from ces_env.config import make_config  # noqa: E402
from ces_env.policies import RewardFirstPolicy  # noqa: E402
from ces_env.runner import run_episode  # noqa: E402


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        return "pinned to one core"
    return "not pinned (no sched_setaffinity)"


def agent_steps_per_second(kwargs: dict, seeds: int) -> dict:
    """Run whole episodes with :func:`run_episode` on one env; count only the step loop's CPU time (policy included;
    ``EpisodeResult.step_cpu_seconds``, comparable when other processes share the core) and the live agents per step
    (``agent_steps``)."""
    env = parallel_env(config=make_config(**kwargs))
    agent_steps = steps = 0
    elapsed = 0.0
    for seed in range(seeds):
        result = run_episode(RewardFirstPolicy(), env, seed)
        agent_steps += result.agent_steps
        steps += result.env_steps
        elapsed += result.step_cpu_seconds
    return {"agent_steps_per_s": agent_steps / elapsed, "env_steps_per_s": steps / elapsed, "env_steps": steps}


def paper_scale_episode(
    control: str, seed: int, instance_cache: InstanceCache | None = None, engine: str = "auto"
) -> dict:
    """One whole episode, env construction and reset (instance and maze generation, unless the cache has the seed's
    instance) included."""
    config = make_config(n_tasks=500, n_agents=50, n_groups=10, maze_size=400, control=control, engine=engine)
    cpu_start = time.process_time()
    result = run_episode(RewardFirstPolicy(), config, seed, instance_cache=instance_cache)
    cpu_seconds = time.process_time() - cpu_start
    return {
        "cpu_s": cpu_seconds,
        "total_s": result.wall_seconds,
        "reset_s": result.reset_seconds,
        "steps": result.env_steps,
        "ET": result.metric("ET"),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="maze timings per size")
    parser.add_argument("--seeds", type=int, default=3, help="episodes per environment measurement")
    parser.add_argument(
        "--engines",
        nargs="+",
        default=["auto"],
        choices=["auto", "python", "compiled"],
        help="simulator engines to measure (config field engine), alternated row by row in one run",
    )
    args = parser.parse_args(argv)
    print(f"ces-env benchmarks ({pin_to_one_core()}, numpy {np.__version__})")
    warm_up()

    print("\n| maze | generate median ms | explore median ms | generate+explore median ms | p90 ms |")
    print("|---|---|---|---|---|")
    for size in (100, 200, 400):
        r = time_maze(size, args.repeats, seed=size)
        print(
            f"| {size}x{size} | {r['generate_median_ms']:.2f} | {r['explore_median_ms']:.2f} | "
            f"{r['total_median_ms']:.2f} | {r['total_p90_ms']:.2f} |"
        )

    modes: dict[str, dict[str, Any]] = {
        "event-driven small preset (10 agents, 2 groups, 40 tasks, 20x20, centralized)": dict(preset="small"),
        "event-driven (50 agents, 10 groups, 500 tasks, 20x20, centralized)": dict(
            n_agents=50, n_groups=10, n_tasks=500, maze_size=20
        ),
        "event-driven (50 agents, 10 groups, 500 tasks, 20x20, decentralized)": dict(
            n_agents=50, n_groups=10, n_tasks=500, maze_size=20, control="decentralized"
        ),
        "tick-level steered (20 agents, 4 groups, 100 tasks, 10x10, centralized)": dict(
            n_agents=20, n_groups=4, n_tasks=100, maze_size=10, exploration_mode="steered"
        ),
    }
    agent_steps_per_second(dict(preset="tiny"), 1)  # warm caches
    print("\n| environment mode | agent-steps per CPU-s | env steps per CPU-s |")
    print("|---|---|---|")
    for name, kwargs in modes.items():
        for engine in args.engines:
            r = agent_steps_per_second({**kwargs, "engine": engine}, args.seeds)
            label = name if engine == "auto" else f"{name}, engine={engine}"
            print(f"| {label} | {r['agent_steps_per_s']:,.0f} | {r['env_steps_per_s']:,.0f} |")

    print(
        "\n| paper-scale episode (500 tasks, 50 agents, 10 groups, 400x400) | CPU s (reset incl.) | wall s |"
        " of which reset (wall) | env steps | ET (ticks) |"
    )
    print("|---|---|---|---|---|---|")
    cache = InstanceCache()
    paper_scale_episode("decentralized", seed=0, instance_cache=cache)  # a sweep's first policy fills the cache
    for name, instance_cache in (("centralized", None), ("decentralized", None), ("centralized, cached", cache)):
        for engine in args.engines:
            r = paper_scale_episode(name.split(",")[0], seed=0, instance_cache=instance_cache, engine=engine)
            label = name if engine == "auto" else f"{name}, engine={engine}"
            times = f"{r['cpu_s']:.2f} | {r['total_s']:.2f} | {r['reset_s']:.2f}"
            print(f"| {label} | {times} | {r['steps']} | {r['ET']} |")


if __name__ == "__main__":
    main()

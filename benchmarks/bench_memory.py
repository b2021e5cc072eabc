"""The memory estimate against what a reset really holds: peak RSS of one reset and one step, per scenario.

    python benchmarks/bench_memory.py                   # 20k, 50k, 100k tasks on lds, hds, chain and one-task classes
    python benchmarks/bench_memory.py --tasks 200000 --graphs lds

Each scenario runs in a fresh process (``resource.getrusage`` reports a process's peak, never lower): it warms up
(imports, numba compilation, one tiny reset), notes its peak, builds the scenario's env, resets it and takes one step,
and prints the growth of the peak beside ``ces_env.config.estimate_memory`` (the bounds of ``config.py``'s capacity
check, which should stay above it: ``TASK_BYTES``, ``EDGE_BYTES`` and ``CLASS_BYTES`` come from these figures).
Linux reports ``ru_maxrss`` in KiB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from typing import Any

SCENARIOS: dict[str, dict[str, Any]] = {
    "lds": {"graph": "lds"},
    "hds": {"graph": "hds"},
    "chain": {"graph": "chain"},
    "lds-one-task-classes": {"graph": "lds", "tasks_per_class": 1, "maze_size": 6},
}


def measure(n_tasks: int, fields: dict) -> dict:
    """Peak growth (bytes) of a reset and a step of the scenario in this process, and the estimate."""
    import gc

    import ces_env
    from ces_env.config import estimate_memory, make_config

    warm = ces_env.parallel_env(n_agents=10, n_groups=2, n_tasks=12, maze_size=20, graph=fields["graph"])
    warm.reset(seed=0)
    del warm
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    config = {"n_agents": 10, "n_groups": 2, "n_tasks": n_tasks, "maze_size": 20, **fields}
    env = ces_env.parallel_env(**config)
    env.reset(seed=0)
    env.step({agent: 0 for agent in env.agents})
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    estimate = sum(estimate_memory(make_config(**config)).values())
    return {"n_tasks": n_tasks, **fields, "measured_bytes": grown, "estimate_bytes": estimate}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[20_000, 50_000, 100_000])
    parser.add_argument("--graphs", nargs="+", choices=sorted(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one measurement, in the fresh process
    args = parser.parse_args(argv)
    if args.child:
        n_tasks, name = json.loads(args.child)
        print(json.dumps(measure(n_tasks, SCENARIOS[name])))
        return
    print("| scenario | tasks | measured MB | estimate MB | estimate / measured |")
    print("|---|---|---|---|---|")
    for name in args.graphs:
        for n_tasks in args.tasks:
            child = [sys.executable, __file__, "--child", json.dumps([n_tasks, name])]
            done = subprocess.run(child, capture_output=True, text=True, check=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            measured, estimate = row["measured_bytes"], row["estimate_bytes"]
            ratio = estimate / measured
            print(f"| {name} | {n_tasks:,} | {measured / 1e6:,.0f} | {estimate / 1e6:,.0f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()

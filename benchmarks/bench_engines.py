"""The two simulator engines side by side, and mpe2 beside them, alternated round by round (a script, not a test).

Run ``python benchmarks/bench_engines.py`` (add ``PYTHONPATH=/tmp/mpe2pkg`` for the mpe2 column, see
``bench_mpe2.py``). This machine's speed drifts by tens of percent within minutes (other tenants of the host), so one
measurement of each is not a comparison: every round measures each item once, in the same order, and the table gives
each item's median over rounds, and the median over rounds of the ratios that matter (compiled over python, ces-env
over mpe2) taken within a round. Pinned to one core, CPU time. The items are ``bench.py``'s ParallelEnv agent-steps
(reference reward-first policy, ``run_episode``) and ``bench_decisions.py``'s decisions through ``SB3VecEnv`` with 64
copies and a masked-random policy.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import agent_steps_per_second, pin_to_one_core  # noqa: E402
from bench_decisions import decisions_per_second  # noqa: E402
from bench_mpe2 import agent_steps_per_cpu_second  # noqa: E402

FIFTY_AGENTS = {"n_agents": 50, "n_groups": 10, "n_tasks": 500, "maze_size": 20}


def mpe2_agent_steps_per_second(episodes: int) -> float | None:
    """mpe2 ``simple_spread`` (N=3) under random actions (``bench_mpe2.py``); None if mpe2 is not importable."""
    try:
        return agent_steps_per_cpu_second(episodes)[0]
    except ImportError:
        return None


def parallel_env_rate(config: dict[str, Any], seeds: int) -> float:
    return agent_steps_per_second(config, seeds)["agent_steps_per_s"]


def decision_rate(config: dict[str, Any], decisions: int) -> float:
    return decisions_per_second(config, 64, decisions)["decisions_per_cpu_s"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds (each measures every item once)")
    parser.add_argument("--seeds", type=int, default=10, help="episodes per ParallelEnv measurement")
    parser.add_argument("--decisions", type=int, default=10_000, help="decisions per SB3VecEnv measurement")
    parser.add_argument("--mpe2-episodes", type=int, default=200, help="mpe2 episodes per measurement")
    args = parser.parse_args(argv)
    print(f"engines side by side ({pin_to_one_core()}, numpy {np.__version__}, {args.rounds} rounds)")

    items: dict[str, Callable[[], float | None]] = {
        "mpe2 simple_spread N=3": functools.partial(mpe2_agent_steps_per_second, args.mpe2_episodes)
    }
    for engine in ("python", "compiled"):
        for label, config in (("small", {"preset": "small"}), ("50 agents", FIFTY_AGENTS)):
            items[f"ParallelEnv agent-steps, {label}, {engine}"] = functools.partial(
                parallel_env_rate, {**config, "engine": engine}, args.seeds
            )
        items[f"SB3VecEnv decisions (64 copies), small, {engine}"] = functools.partial(
            decision_rate, {"preset": "small", "engine": engine}, args.decisions
        )
    for measure in items.values():  # warm-up: numba compilation and caches
        measure()

    values: dict[str, list[float]] = {name: [] for name in items}
    for _ in range(args.rounds):
        for name, measure in items.items():
            value = measure()
            if value is not None:
                values[name].append(value)

    print("\n| item (per CPU-s) | median | min | max |")
    print("|---|---|---|---|")
    for name, series in values.items():
        if series:
            print(f"| {name} | {statistics.median(series):,.0f} | {min(series):,.0f} | {max(series):,.0f} |")

    def ratios(numerator: str, denominator: str) -> list[float]:
        return [a / b for a, b in zip(values[numerator], values[denominator], strict=False)]

    print("\n| ratio, within a round | median | min | max |")
    print("|---|---|---|---|")
    rows: list[tuple[str, list[float]]] = []
    for kind in ("ParallelEnv agent-steps, small", "ParallelEnv agent-steps, 50 agents"):
        rows.append((f"compiled / python, {kind}", ratios(f"{kind}, compiled", f"{kind}, python")))
    decisions = "SB3VecEnv decisions (64 copies), small"
    rows.append((f"compiled / python, {decisions}", ratios(f"{decisions}, compiled", f"{decisions}, python")))
    if values["mpe2 simple_spread N=3"]:
        for kind in ("ParallelEnv agent-steps, small", "ParallelEnv agent-steps, 50 agents"):
            for engine in ("python", "compiled"):
                rows.append((f"{kind}, {engine} / mpe2", ratios(f"{kind}, {engine}", "mpe2 simple_spread N=3")))
    for name, series in rows:
        print(f"| {name} | {statistics.median(series):.2f}x | {min(series):.2f}x | {max(series):.2f}x |")


if __name__ == "__main__":
    main()

"""CPU time of one ``reset_arrays`` (instance generation, simulator, first observations), pinned to one core.

A trainer resets once per episode, so on short episodes resets are a fifth of its time (issue 12). The decision-loop
benchmark varies by about 20% between runs on a busy machine, more than a change to resets moves it; this measures
resets alone: ``python benchmarks/bench_reset.py``, then compare with the old code by running the same script with
``PYTHONPATH=<a worktree of the old commit>``. Reported: the best and the worst of ``--repeats`` blocks of
``--resets`` consecutive seeds (the best is the least disturbed by other processes). ``--parts`` times the parts of a
reset one by one instead (instance generation, the mazes, the simulator's construction, the observation statics).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_decisions import pin_to_one_core  # noqa: E402

import ces_env  # noqa: E402

SCENARIOS: dict[str, dict] = {
    "small": {"preset": "small"},
    "50 agents (10 groups, 500 tasks, 20x20)": {"n_agents": 50, "n_groups": 10, "n_tasks": 500, "maze_size": 20},
}


def reset_microseconds(config: dict, resets: int, repeats: int) -> list[float]:
    """CPU µs per reset of each block of ``resets`` seeds (seed 0 first, outside the timing: numba's caches)."""
    env = ces_env.parallel_env(**config)
    env.reset_arrays(seed=0)
    blocks = []
    for block in range(repeats):
        start = time.process_time()
        for seed in range(block * resets, (block + 1) * resets):
            env.reset_arrays(seed=seed)
        blocks.append((time.process_time() - start) / resets * 1e6)
    return blocks


def part_microseconds(config: dict, resets: int) -> dict[str, float]:
    """CPU µs per reset of each part of a reset, each timed alone over ``resets`` repetitions (the same instance for
    the parts that take one): where a reset's time goes."""
    import numpy as np

    from ces_env.generator import generate_instance
    from ces_env.maze import generate_mazes

    env = ces_env.parallel_env(**config)
    env.reset_arrays(seed=0)
    cfg, rng = env.config, np.random.default_rng(0)
    instance = generate_instance(cfg, rng)
    sim_class = type(env.sim)
    parts = {
        "reset_simulator (all of it)": lambda: env.reset_simulator(seed=1),
        "generate_instance": lambda: generate_instance(cfg, rng),
        "of which the mazes": lambda: generate_mazes(*cfg.maze_shape, min(cfg.n_classes, cfg.n_tasks), rng),
        f"the simulator ({sim_class.__name__})": lambda: sim_class(cfg, instance, rng),
        "the observation statics (bind)": lambda: env._builder.bind(instance),
    }
    timings = {}
    for name, part in parts.items():
        part()
        start = time.process_time()
        for _ in range(resets):
            part()
        timings[name] = (time.process_time() - start) / resets * 1e6
    return timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resets", type=int, default=300, help="resets per block")
    parser.add_argument("--repeats", type=int, default=5, help="blocks per scenario")
    parser.add_argument("--parts", action="store_true", help="instead: the parts of a reset, timed one by one")
    args = parser.parse_args(argv)
    if args.resets < 1 or args.repeats < 1:
        parser.error(f"--resets and --repeats must be >= 1, got {args.resets} and {args.repeats}")
    print(f"reset_arrays CPU time ({pin_to_one_core()}, ces_env from {Path(ces_env.__file__).parent})")
    if args.parts:
        for name, config in SCENARIOS.items():
            print(f"\n{name}\n\n| part | CPU µs per reset |\n|---|---|")
            for part, microseconds in part_microseconds(config, args.resets).items():
                print(f"| {part} | {microseconds:,.0f} |", flush=True)
        return
    print("\n| scenario | best µs per reset | worst µs per reset |\n|---|---|---|")
    for name, config in SCENARIOS.items():
        blocks = reset_microseconds(config, args.resets, args.repeats)
        print(f"| {name} | {min(blocks):,.0f} | {max(blocks):,.0f} |", flush=True)


if __name__ == "__main__":
    main()

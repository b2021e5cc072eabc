"""Agent-steps per CPU-second through ``ces_env.vector.CESVectorEnv``, batched and one by one (a script, not a test).

A masked-random policy in numpy acts for every agent of every copy (``(B, n)`` actions per step); "batched" steps the
copies in one compiled call (the default on the compiled engine), "one by one" through each copy's ``step_arrays``.
The two are alternated round by round in one process (this host's speed drifts) and the medians reported. Pinned to
one core; CPU time. Run ``python benchmarks/bench_vector.py`` and copy the table to the README.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from ces_env.vector import CESVectorEnv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_decisions import pin_to_one_core  # noqa: E402


def agent_steps_per_cpu_second(n_envs: int, steps: int, batched: bool, preset: str) -> float:
    vec = CESVectorEnv(n_envs, preset=preset, seed=0, batched=batched)
    rng = np.random.default_rng(0)
    _, masks = vec.reset()
    start = time.process_time()
    for _ in range(steps):
        masks = vec.step(np.argmax(rng.random(masks.shape) * masks, axis=-1)).masks
    return steps * n_envs * vec.n_agents / (time.process_time() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-envs", type=int, default=64, help="copies in the vector env")
    parser.add_argument("--steps", type=int, default=300, help="vector steps per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds")
    args = parser.parse_args(argv)
    print(f"CESVectorEnv agent-steps per CPU-s, masked-random policy ({pin_to_one_core()}, {args.n_envs} copies)")
    for warm_batched in (True, False):  # warm-up: numba compilation
        agent_steps_per_cpu_second(2, 300, warm_batched, "tiny")  # resets too
    print("\n| scenario | batched | one by one | batched / one by one (median of rounds) |")
    print("|---|---|---|---|")
    for name in ("small", "small-decentralized"):
        batched: list[float] = []
        single: list[float] = []
        ratios: list[float] = []
        for _ in range(args.rounds):
            batched.append(agent_steps_per_cpu_second(args.n_envs, args.steps, True, name))
            single.append(agent_steps_per_cpu_second(args.n_envs, args.steps, False, name))
            ratios.append(batched[-1] / single[-1])
        print(
            f"| {name} | {statistics.median(batched):,.0f} | {statistics.median(single):,.0f} | "
            f"{statistics.median(ratios):.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()

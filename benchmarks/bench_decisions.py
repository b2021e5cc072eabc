"""Decisions per second through ``ces_env.wrappers.SB3VecEnv`` under a masked-random policy (a script, not a test).

Run ``python benchmarks/bench_decisions.py`` and copy the table to the README. A decision is one vec-env row a
learner sees: one agent with a real choice (two or more legal actions). The policy is numpy only (a uniform legal
action per row, drawn from ``action_masks()``), so the figures are the environment's side of a training loop:
ParallelEnv steps, the decision protocol, auto-resets with new instances (maze generation included), but no network.
Each measurement runs until every row has finished at least one episode and at least ``--min-decisions`` decisions
were taken; the clock starts after the first ``reset`` (after a warm-up that compiles the numba kernels). "time in
resets" is the share of that time spent inside the copies' resets (``reset_arrays``, or ``reset_simulator`` for the
batched rows: instance generation, the simulator's construction), "time in compiled steps" the share inside the
batched rows' one compiled call per vec step: the rest is the adapter and the policy.
``--rows`` picks how the adapter steps its rows on the compiled engine: ``batched`` (one compiled call for every row,
the default) or ``python`` (a Python driver per row, the reference), alternated in one run. Pinned to one core, like
``benchmarks/bench.py``; "decisions per CPU-s" divides by the process's CPU time instead of wall time, which stays
comparable when other work shares the core.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from ces_env.wrappers import SB3VecEnv

SCENARIOS: dict[str, dict[str, Any]] = {
    "small": {"preset": "small"},
    "small, decentralized": {"preset": "small-decentralized"},
    "50 agents (10 groups, 500 tasks, 20x20)": {"n_agents": 50, "n_groups": 10, "n_tasks": 500, "maze_size": 20},
    "50 agents, decentralized": {
        "n_agents": 50,
        "n_groups": 10,
        "n_tasks": 500,
        "maze_size": 20,
        "control": "decentralized",
    },
}


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        return "pinned to one core"
    return "not pinned (no sched_setaffinity)"


def masked_random(masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random legal action per row: the argmax of uniform draws over the legal actions."""
    return np.argmax(rng.random(masks.shape) * masks, axis=1)


class Clock:
    """Wall time spent inside the methods it wraps (:meth:`timed`)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def timed(self, method):
        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return call


def attach_clocks(vec: SB3VecEnv) -> tuple[Clock, Clock]:
    """(time in the copies' resets, time in the batched rows' compiled steps): instance attributes shadow the methods
    for this benchmark only (the batched rows reset through ``reset_simulator``, the Python rows through
    ``reset_arrays``; ``CompiledRows.act`` is the one compiled call per vec step)."""
    resets, compiled = Clock(), Clock()
    for env in vec.envs:
        env.reset_arrays = resets.timed(env.reset_arrays)  # type: ignore[method-assign]
        env.reset_simulator = resets.timed(env.reset_simulator)  # type: ignore[method-assign]
    if vec._compiled is not None:
        vec._compiled.act = compiled.timed(vec._compiled.act)  # type: ignore[method-assign]
    return resets, compiled


def decisions_per_second(config: dict, n_envs: int, min_decisions: int, seed: int = 0, batched: bool = True) -> dict:
    vec = SB3VecEnv(n_envs=n_envs, seed=seed, reward_mode="time", batched=batched, **config)
    reset_clock, compiled_clock = attach_clocks(vec)
    rng = np.random.default_rng(seed)
    vec.reset()
    finished = np.zeros(n_envs, dtype=int)
    decisions = env_steps = 0
    episode_decisions = []
    start, cpu_start = time.perf_counter(), time.process_time()
    reset_clock.seconds = compiled_clock.seconds = 0.0
    while decisions < min_decisions or finished.min() == 0:
        _, _, dones, infos = vec.step(masked_random(vec.action_masks(), rng))
        decisions += n_envs
        for i in np.flatnonzero(dones):
            finished[i] += 1
            env_steps += infos[i]["env_steps"]
            episode_decisions.append(infos[i]["episode"]["l"])
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    vec.close()
    return {
        "decisions_per_s": decisions / seconds,
        "decisions_per_cpu_s": decisions / cpu_seconds,
        "decisions": decisions,
        "episodes": int(finished.sum()),
        "decisions_per_episode": float(np.mean(episode_decisions)),
        "env_steps_per_decision": env_steps / float(np.sum(episode_decisions)),
        "seconds": seconds,
        "reset_share": reset_clock.seconds / seconds,
        "compiled_share": compiled_clock.seconds / seconds,
    }


def profile_small(n_envs: int, min_decisions: int) -> None:
    """The functions that take the most cumulative time in the `small` decision loop (cProfile slows every Python
    call down, so read shares, not rates)."""
    import cProfile
    import pstats

    decisions_per_second({"preset": "tiny"}, 1, 200)  # numba compilation outside the profile
    decisions_per_second({"preset": "tiny"}, 1, 200, batched=False)
    profiler = cProfile.Profile()
    profiler.enable()
    decisions_per_second({"preset": "small"}, n_envs, min_decisions)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-decisions", type=int, default=20_000, help="decisions per measurement, at least")
    parser.add_argument("--n-envs", type=int, nargs="+", default=[1, 64], help="vec-env sizes to measure")
    parser.add_argument(
        "--engines",
        nargs="+",
        default=["auto"],
        choices=["auto", "python", "compiled"],
        help="simulator engines to measure (config field engine), alternated scenario by scenario in one run",
    )
    parser.add_argument(
        "--rows",
        nargs="+",
        default=["batched"],
        choices=["batched", "python"],
        help="how SB3VecEnv steps its rows on the compiled engine (batched: one compiled call; python: a driver per "
        "row), alternated scenario by scenario",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of the table: cProfile of `small` with the largest --n-envs (where the time goes)",
    )
    args = parser.parse_args(argv)
    if args.profile:
        profile_small(max(args.n_envs), args.min_decisions)
        return
    print(f"SB3VecEnv decisions per second, masked-random policy ({pin_to_one_core()}, numpy {np.__version__})")
    for batched in (True, False):  # warm-up: numba compilation
        decisions_per_second({"preset": "tiny"}, 1, 200, batched=batched)

    print(
        "\n| scenario | n_envs | decisions/s | decisions per CPU-s | decisions per episode | env steps per decision "
        "| time in resets | time in compiled steps | episodes timed |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, config in SCENARIOS.items():
        for n_envs in args.n_envs:
            for engine in args.engines:
                for rows in args.rows:
                    r = decisions_per_second(
                        {**config, "engine": engine}, n_envs, args.min_decisions, batched=rows == "batched"
                    )
                    label = name if engine == "auto" else f"{name}, engine={engine}"
                    label += "" if rows == "batched" else ", Python rows"
                    print(
                        f"| {label} | {n_envs} | {r['decisions_per_s']:,.0f} | {r['decisions_per_cpu_s']:,.0f} | "
                        f"{r['decisions_per_episode']:.0f} | "
                        f"{r['env_steps_per_decision']:.2f} | {r['reset_share']:.0%} | {r['compiled_share']:.0%} | "
                        f"{r['episodes']} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()

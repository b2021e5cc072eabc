"""How the cost of an episode grows with its size (a script, not a test): ``python benchmarks/bench_scale.py``.

One reward-first episode (``ces_env.policies.RewardFirstPolicy`` through ``ces_env.runner.run_episode``) per scale,
10 agents per group, small mazes (``--maze-size``, default 10) so that the simulation, not maze generation, is
measured. Reported per scale: simulator events (``sim.events_scheduled``), env steps, agent-steps (live agents summed
over steps), and CPU time (``time.process_time``: it stays comparable when other processes share the core) of the
whole episode, reset included, per event, per env step and per agent-step. Pinned to one core.

The ParallelEnv hands every live agent an observation at every step, so an env step costs O(n) whatever happens in
it: the cost per *agent-step* is the figure that should stay flat as the scale grows, the cost per *event* grows with
n / (events per step). The same episode is then played through the array-level API (``reset_arrays``/``step_arrays``,
the reward-first rule as one numpy expression; the script checks that it ends with the same metrics): no dict per
agent, so what remains per step is the simulator's events and the compiled observation kernel.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from ces_env import parallel_env
from ces_env.config import make_config
from ces_env.env import NO_ACTION
from ces_env.policies import RewardFirstPolicy
from ces_env.runner import run_episode

SCALES = ((40, 10), (500, 50), (2_000, 200), (10_000, 1_000))  # (tasks, agents); groups of 10 agents


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        return "pinned to one core"
    return "not pinned (no sched_setaffinity)"


def measure(n_tasks: int, n_agents: int, maze_size: int, seed: int) -> dict:
    """One episode at this scale; CPU seconds of the whole run (env construction and reset included)."""
    config = make_config(n_tasks=n_tasks, n_agents=n_agents, n_groups=n_agents // 10, maze_size=maze_size)
    start = time.process_time()
    env = parallel_env(config=config)
    result = run_episode(RewardFirstPolicy(), env, seed)
    cpu = time.process_time() - start
    if result.metrics is None or result.truncated:
        raise RuntimeError(f"scale {n_tasks} tasks / {n_agents} agents: the episode did not complete")
    events = env.sim.events_scheduled
    return {
        "events": events,
        "steps": result.env_steps,
        "agent_steps": result.agent_steps,
        "cpu_s": cpu,
        "reset_s": result.reset_seconds,
        "us_per_event": 1e6 * cpu / events,
        "us_per_step": 1e6 * cpu / result.env_steps,
        "us_per_agent_step": 1e6 * cpu / result.agent_steps,
        "ET": result.metrics["ET"],
        "metrics": result.metrics,
    }


def measure_arrays(n_tasks: int, n_agents: int, maze_size: int, seed: int, expected_metrics: dict) -> dict:
    """The same episode through ``step_arrays``: every agent with a legal slot takes slot 1 (the reward-first rule in
    the automatic exploration mode), the others give no action."""
    config = make_config(n_tasks=n_tasks, n_agents=n_agents, n_groups=n_agents // 10, maze_size=maze_size)
    start = time.process_time()
    env = parallel_env(config=config)
    result = env.reset_arrays(seed=seed)
    while not result.over:
        result = env.step_arrays(np.where(result.masks[:, 1] == 1, 1, NO_ACTION))
    cpu = time.process_time() - start
    if result.metrics != expected_metrics:
        raise RuntimeError(f"scale {n_tasks} tasks: the array-level episode differs from the ParallelEnv's")
    return {"cpu_s": cpu, "us_per_event": 1e6 * cpu / env.sim.events_scheduled}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maze-size", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-tasks", type=int, default=10_000, help="skip scales with more tasks (the largest takes minutes)"
    )
    args = parser.parse_args(argv)
    print(f"ces-env scale benchmark ({pin_to_one_core()}, maze {args.maze_size}x{args.maze_size}, CPU time)")
    run_episode(RewardFirstPolicy(), make_config(preset="tiny"), 0)  # compile the numba kernels first
    print(
        "\n| tasks | agents | groups | events | env steps | agent-steps | CPU s | µs/event | µs/env step "
        "| µs/agent-step | array API: CPU s | array API: µs/event |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n_tasks, n_agents in SCALES:
        if n_tasks > args.max_tasks:
            continue
        r = measure(n_tasks, n_agents, args.maze_size, args.seed)
        a = measure_arrays(n_tasks, n_agents, args.maze_size, args.seed, r["metrics"])
        print(
            f"| {n_tasks:,} | {n_agents:,} | {n_agents // 10} | {r['events']:,} | {r['steps']:,} | "
            f"{r['agent_steps']:,} | {r['cpu_s']:.2f} | {r['us_per_event']:.1f} | {r['us_per_step']:.0f} | "
            f"{r['us_per_agent_step']:.2f} | {a['cpu_s']:.2f} | {a['us_per_event']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

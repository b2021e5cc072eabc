"""Soak test: many random episodes over random valid configurations (faults included), each checked for invariants.

    python benchmarks/soak.py --episodes 10000 --workers 2 --out /tmp/soak.json

Each episode draws a config from its own seeded generator (scale, graph, mazes, explorer, knowledge sharing, a
protocol among several, protocol costs, waits, and every fault option: crashes with or without recovery, a controller
outage with or without an election, Byzantine agents, misreporting agents, slipping explorers), plays it with
uniformly random legal actions, and checks:

* every task completed exactly once, or the episode truncated with a reason (``truncation_reason``);
* lambda_g = the tasks of each group, mu_g = the tasks it completed (<= lambda_g; = on termination);
* TWT = sum of TWT_g; ET >= max ET_g; makespan_ratio >= 1;
* rewards paid = rewards returned: the sum of the env's rewards = ``total_reward`` = the rewards of the done tasks;
* no Byzantine agent earns anything;
* determinism: every ``--recheck``-th episode is played again and must give the same metrics and stats.

A violation or an exception is recorded with the episode's index (its config is re-derived from ``--seed`` and the
index). The summary (counts, truncation reasons, violations, time) is printed and written as JSON with ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

import ces_env
from ces_env.core.protocols import CONTROL_PROTOCOLS

PROTOCOLS = tuple(CONTROL_PROTOCOLS)
"""Every registered control (the two CES controls and every mechanism)."""
SMALL_GROUP_PROTOCOLS = {"dpop": 4, "vcg": 4}
"""Controls whose exact solvers grow exponentially with a group's agents: at most this many agents per group, so that
DPOP's UTIL messages ((ready tasks + 1) ** (agents - 1) <= 25 ** 3 entries, within its default ``max_util_entries``)
and VCG's brute force stay small; a refusal is then a violation like any other exception."""
GRAPHS = ("lds", "hds", "chain", "independent", "layered")


def random_config(seed: int, index: int) -> dict[str, Any]:
    """A random valid config for episode ``index`` of the soak rooted at ``seed`` (small: seconds for thousands)."""
    rng = np.random.default_rng((seed, index))
    n_agents = int(rng.integers(1, 9))
    n_groups = int(rng.integers(1, min(3, n_agents) + 1))
    config: dict[str, Any] = dict(
        n_agents=n_agents,
        n_groups=n_groups,
        n_tasks=int(rng.integers(1, 25)),
        graph=str(rng.choice(GRAPHS)),
        partition=str(rng.choice(["interdependent", "independent"])),
        maze_size=int(rng.integers(2, 9)),
        tasks_per_class=int(rng.integers(1, 5)),
        explorer=str(rng.choice(["dfs", "wall_follower", "random_walk"])),
        knowledge_sharing=str(rng.choice(["none", "group", "global"])),
        control=str(rng.choice(PROTOCOLS)),
        speed_spread=float(rng.choice([0.0, 0.5])),
        assign_service_ticks=int(rng.integers(0, 4)),
        validate_service_ticks=int(rng.integers(0, 6)),
        claim_latency_ticks=int(rng.integers(0, 4)),
        peer_validate_ticks=int(rng.integers(0, 6)),
        negotiation_latency_ticks=int(rng.integers(0, 4)),
        wait_ticks=None if rng.random() < 0.8 else int(rng.integers(1, 5)),
        solution_error_prob=float(rng.choice([0.0, 0.0, 0.2])),
        exploration_mode="steered" if rng.random() < 0.1 else "auto",
    )
    per_group = SMALL_GROUP_PROTOCOLS.get(config["control"])
    if per_group is not None:
        config["n_agents"] = min(n_agents, per_group * n_groups)
    if config["exploration_mode"] == "steered":  # random moves: keep the walks short
        config.update(maze_size=min(config["maze_size"], 4), n_tasks=min(config["n_tasks"], 8))
    if rng.random() < 0.5:
        # a random walk takes ~n_cells^1.6 moves: a rate that crashes most of them would make the episode endless
        scale = 0.05 if config["explorer"] == "random_walk" or config["exploration_mode"] == "steered" else 1.0
        config["crash_rate"] = float(rng.choice([0.002, 0.01, 0.05])) * scale
        config["crash_recovery_ticks"] = None if rng.random() < 0.4 else int(rng.integers(1, 20))
    if rng.random() < 0.4:
        config["controller_outage_start"] = int(rng.integers(0, 60))
        config["controller_outage_ticks"] = None if rng.random() < 0.4 else int(rng.integers(1, 80))
        config["controller_outage_group"] = None if rng.random() < 0.5 else int(rng.integers(0, n_groups))
        if rng.random() < 0.5:
            config["election_timeout_ticks"] = int(rng.integers(0, 30))
            config["election_ticks"] = int(rng.integers(0, 15))
    if rng.random() < 0.4:
        config["byzantine_fraction"] = float(rng.choice([0.1, 0.3, 0.6, 1.0]))
    if rng.random() < 0.3:
        config["misreport_fraction"] = float(rng.choice([0.2, 0.5, 1.0]))
        config["misreport_factor"] = float(rng.choice([0.5, 0.8, 1.3, 2.0]))
    return config


def play(config: dict[str, Any], seed: int) -> tuple[dict, dict, str | None, np.ndarray, Any]:
    """One episode with uniformly random legal actions: (metrics, stats, truncation reason, rewards per agent, sim)."""
    env = ces_env.parallel_env(**config)
    observations, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    rewards = np.zeros(len(env.possible_agents))
    infos: dict = {}
    index = {agent: i for i, agent in enumerate(env.possible_agents)}
    while env.agents:
        actions = {}
        for agent in env.agents:
            legal = np.flatnonzero(observations[agent]["action_mask"])
            actions[agent] = int(legal[rng.integers(len(legal))])
        observations, step_rewards, _, _, infos = env.step(actions)
        for agent, reward in step_rewards.items():
            rewards[index[agent]] += reward
    final = next(iter(infos.values()))
    return final["metrics"], final["stats"], final["truncation_reason"], rewards, env.unwrapped.sim


def check(config: dict[str, Any], seed: int) -> tuple[list[str], tuple]:
    """The invariants of one episode: the violations (empty if all hold) and (metrics, stats, reason) for re-runs."""
    metrics, stats, reason, rewards, sim = play(config, seed)
    problems = []
    inst = sim.instance
    done = sim.task_status == 5  # TaskStatus.DONE
    lam = np.bincount(inst.task_group, minlength=inst.n_groups)
    mu = np.bincount(inst.task_group[done], minlength=inst.n_groups)
    if sim.terminated:
        if not done.all() or reason is not None:
            problems.append(f"terminated with {int((~done).sum())} tasks not done (reason {reason})")
    elif reason is None:
        problems.append("truncated without a reason")
    if sim.tasks_done != int(done.sum()) or np.any((sim.completed_by >= 0) != done):
        problems.append(f"tasks_done {sim.tasks_done} != {int(done.sum())} done tasks (a task completed twice?)")
    if metrics["lambda_g"] != lam.tolist() or metrics["mu_g"] != mu.tolist():
        problems.append(f"lambda/mu {metrics['lambda_g']}/{metrics['mu_g']} != {lam.tolist()}/{mu.tolist()}")
    if not math.isclose(metrics["TWT"], sum(metrics["TWT_g"]), rel_tol=1e-9, abs_tol=1e-6):
        problems.append(f"TWT {metrics['TWT']} != sum TWT_g {sum(metrics['TWT_g'])}")
    if metrics["ET"] < max(metrics["ET_g"]):
        problems.append(f"ET {metrics['ET']} < max ET_g {max(metrics['ET_g'])}")
    if metrics["makespan_ratio"] < 1 - 1e-9:
        problems.append(f"makespan_ratio {metrics['makespan_ratio']} < 1")
    paid = float(inst.rewards[done].sum())
    if not (
        math.isclose(rewards.sum(), metrics["total_reward"], abs_tol=1e-6)
        and math.isclose(paid, metrics["total_reward"], abs_tol=1e-6)
    ):
        problems.append(f"rewards returned {rewards.sum()} / total_reward {metrics['total_reward']} / paid {paid}")
    if sim.faults is not None and rewards[sim.faults.byzantine].sum() != 0:
        problems.append("a Byzantine agent was rewarded")
    return problems, (metrics, stats, reason)


def run_one(args: tuple[int, int, bool]) -> dict[str, Any]:
    seed, index, recheck = args
    config = random_config(seed, index)
    episode_seed = int(np.random.default_rng((seed, index, 1)).integers(2**31))
    record: dict[str, Any] = {"index": index, "control": config["control"], "faulty": _faulty(config)}
    try:
        record["problems"], first = check(config, episode_seed)
        record["reason"] = first[2]
        if recheck and play(config, episode_seed)[:3] != first:
            record["problems"].append("not deterministic: a re-run gave other metrics/stats")
        record["rechecked"] = recheck
    except Exception:  # an exception is a finding: recorded with the episode's index
        record["problems"] = ["exception: " + traceback.format_exc(limit=3).strip().splitlines()[-1]]
        record["traceback"] = traceback.format_exc()
        record["reason"] = "exception"
    return record


def _faulty(config: dict[str, Any]) -> bool:
    keys = ("crash_rate", "controller_outage_start", "byzantine_fraction", "misreport_fraction")
    return any(key in config for key in keys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recheck", type=int, default=20, help="re-run every k-th episode for determinism")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default=None, help="write the summary as JSON here")
    parser.add_argument("--progress", type=int, default=500, help="print a line every k episodes (0: never)")
    args = parser.parse_args(argv)
    if args.episodes < 1 or args.workers < 1 or args.recheck < 1:
        parser.error("--episodes, --workers and --recheck must be >= 1")
    summary = soak(args.episodes, args.seed, args.recheck, args.workers, args.progress, args.out)
    print(json.dumps({k: v for k, v in summary.items() if k != "failures"}, indent=1))
    return 1 if summary["violations"] else 0


def soak(
    episodes: int, seed: int = 0, recheck: int = 20, workers: int = 1, progress: int = 0, out: str | None = None
) -> dict[str, Any]:
    """Run the soak; the summary: counts by outcome, protocol and truncation reason, violations and their episodes."""
    start = time.perf_counter()
    jobs = [(seed, i, i % recheck == 0) for i in range(episodes)]
    reasons: Counter = Counter()
    controls: Counter = Counter()
    failures: list[dict[str, Any]] = []
    faulty = rechecked = 0

    def summary(done: int) -> dict[str, Any]:
        return {
            "episodes": done,
            "seed": seed,
            "with_faults": faulty,
            "terminated": reasons.get(None, 0),
            "truncation_reasons": {str(k): v for k, v in sorted(reasons.items(), key=str) if k is not None},
            "protocols": dict(sorted(controls.items())),
            "rechecked_for_determinism": rechecked,
            "violations": len(failures),
            "failures": failures[:50],
            "seconds": round(time.perf_counter() - start, 1),
        }

    results = map(run_one, jobs) if workers == 1 else ProcessPoolExecutor(workers).map(run_one, jobs, chunksize=20)
    for done, record in enumerate(results, start=1):
        reasons[record["reason"]] += 1
        controls[record["control"]] += 1
        faulty += record["faulty"]
        rechecked += record.get("rechecked", False)
        if record["problems"]:
            failures.append(record)
        if progress and done % progress == 0:
            print(
                f"{done}/{episodes} episodes, {len(failures)} violations, {time.perf_counter() - start:.0f} s",
                flush=True,
            )
            if out:
                _write(out, summary(done))
    result = summary(len(jobs))
    if out:
        _write(out, result)
    return result


def _write(path: str, summary: dict[str, Any]) -> None:
    with open(path, "w") as handle:
        json.dump(summary, handle, indent=1, default=str)


if __name__ == "__main__":
    sys.exit(main())

"""Playing the comparison: each policy's rows through the harness runner (cached under ``--runs``, a documented
refusal kept as its message), and the mechanisms' episodes replayed for what the rows do not keep (their negotiation
counts and schedules), checked to be the rows' episodes."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ces_baselines.harness.runner import Job, make_jobs, policy_class, run_jobs
from ces_env.env import parallel_env
from ces_env.runner import run_episode

from .design import PRESET

REFUSAL_LIMITS = ("max_util_entries", "max_allocations")


def run_set(policies: Sequence[str], overrides: dict[str, Any], seeds: list[int], runs: Path, workers: int):
    """Rows per policy (seed order), or the refusal message for a policy whose config the mechanism refuses (DPOP
    above ``max_util_entries``, VCG above ``max_allocations``: documented limits). Each policy is its own run_jobs
    call, so that a refusal stops only that policy."""
    out: dict[str, list[dict] | str] = {}
    for policy in policies:
        try:
            out[policy] = run_jobs(
                make_jobs([policy], PRESET, seeds, overrides), workers=workers, out_dir=runs, progress=False
            )
        except ValueError as error:  # ConfigError is a ValueError; VCG's brute-force limit raises a ValueError
            if not any(limit in str(error) for limit in REFUSAL_LIMITS):
                raise
            out[policy] = first_refusal(policy, overrides, seeds) or str(error)
    return out


def first_refusal(policy: str, overrides: dict[str, Any], seeds: list[int]) -> str | None:
    """The refusal of the lowest seed that is refused, in this process: the pool reports whichever failing seed
    finishes first, which would make the report's text vary from run to run. A refusal comes at reset, so the
    refused seeds cost nothing; the seeds that pass run their episode once (their rows are not used)."""
    for seed in seeds:
        try:
            run_jobs(make_jobs([policy], PRESET, [seed], overrides), workers=1, progress=False)
        except ValueError as error:
            if any(limit in str(error) for limit in REFUSAL_LIMITS):
                return f"(seed {seed}) {error}"
            raise
    return None


@dataclass(frozen=True)
class EpisodeDetail:
    """What the harness rows do not keep: a mechanism's own counts (``mechanism_stats``) and its schedule (who
    executed each task and when it started), for the allocation-overhead row and the allocation comparisons."""

    policy: str
    seed: int
    et: int
    group_et: tuple[int, ...]
    rounds: int
    awards: int
    negotiation_ticks: int
    completed_by: tuple[int, ...]
    started: tuple[int, ...]


def play_detail(job: Job) -> EpisodeDetail:
    """Play ``job`` (the harness's own config and seed, so the same episode as its row) and read the simulator."""
    env = parallel_env(config=job.config())
    result = run_episode(policy_class(job.policy)(), env, job.seed)
    sim = env.unwrapped.sim
    stats = sim.control.mechanism_stats()
    return EpisodeDetail(
        job.policy,
        job.seed,
        int(result.metric("ET")),
        tuple(int(t) for t in result.metric("ET_g")),
        int(stats["rounds"]),
        int(stats["awards"]),
        int(stats["negotiation_ticks"]),
        tuple(int(a) for a in sim.completed_by),
        tuple(int(t) for t in sim.exec_start_time),
    )


def run_details(
    policies: Sequence[str], overrides: dict[str, Any], seeds: list[int], workers: int
) -> dict[str, list[EpisodeDetail]]:
    """:func:`play_detail` per policy and seed (seed order), on ``workers`` processes (not cached: a few seconds)."""
    jobs = make_jobs(list(policies), PRESET, seeds, overrides)
    if workers == 1:
        details = [play_detail(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            details = list(pool.map(play_detail, jobs, chunksize=4))
    out: dict[str, list[EpisodeDetail]] = {p: [] for p in policies}
    for detail in details:
        out[detail.policy].append(detail)
    return {p: sorted(ds, key=lambda d: d.seed) for p, ds in out.items()}


def check_same_episodes(details: dict[str, list[EpisodeDetail]], results: dict[str, list[dict] | str]) -> None:
    """The detail episodes must be the rows' episodes (same ET on every seed), or their numbers would not belong
    in the same report (a stale ``--runs`` cache from older code shows up here)."""
    for policy, ds in details.items():
        rows = results[policy]
        if isinstance(rows, str):
            continue
        mine = [(d.seed, d.et) for d in ds]
        theirs = [(int(r["seed"]), int(r["ET"])) for r in rows]
        if mine != theirs:
            raise RuntimeError(
                f"{policy}: the replayed episodes differ from the harness rows ({mine[:3]} vs {theirs[:3]}); "
                "the rows under --runs come from other code: remove that directory and run again"
            )


def same_schedules(a: list[EpisodeDetail], b: list[EpisodeDetail]) -> tuple[int, int, int]:
    """Seeds (of those both played) on which every task started at the same tick; on which, besides, every task was
    executed by the same agent; on which the ET is the same."""
    pairs = list(zip(a, b, strict=True))
    return (
        sum(x.started == y.started for x, y in pairs),
        sum(x.started == y.started and x.completed_by == y.completed_by for x, y in pairs),
        sum(x.et == y.et for x, y in pairs),
    )

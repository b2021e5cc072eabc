"""The mechanism comparison (issue 10, item 2): regenerates ``reports/mechanisms.md`` and its log-log figure.

    python benchmarks/mechanisms_report.py --seeds 20 --scale-seeds 5 --workers 2

Every policy plays the same seeds (paired: the same instances and exploration draws), through the harness runner
(``ces_baselines.harness.runner``), whose rows are kept under ``--runs`` so that an interrupted run resumes. Three
parts: (1) the metrics per policy on the ``small`` preset with LDS and HDS graphs, with 95% Student-t intervals over
seeds and the paired ET difference against CES decentralized; (2) three scale sweeps (tasks and agents grow together,
with the number of groups on LDS, then with the size of the groups on LDS and HDS), messages and ET with 95% intervals
over the paired seeds and a log-log slope of messages against agents fitted per seed; (3) the glossary's
distributed-versus-centralized table, each row filled from (1), (2), the mechanisms' episodes replayed for their
negotiation times and schedules, and the fault report ``reports/faults.md``. ``--tiny`` is a smoke run of seconds.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ces_baselines.harness.runner import Job, make_jobs, policy_class, run_jobs
from ces_baselines.reproduce.stats import compare
from ces_env.env import parallel_env
from ces_env.runner import run_episode
from ces_env.summary import format_mean_ci, mean_ci

MECHANISMS = (
    "contract-net",
    "auction-first-price",
    "auction-vickrey",
    "auction-english",
    "auction-dutch",
    "auction-double",
    "vcg",
    "cbba",
    "max-sum",
    "dpop",
    "aco",
    "response-threshold",
)
REFERENCES = ("ces-centralized", "ces-decentralized", "knowledge-aware", "heft", "random")
POLICIES = MECHANISMS + REFERENCES
BASELINE = "ces-decentralized"
PRESET = "small"
REFUSAL_LIMITS = ("max_util_entries", "max_allocations")
GRAPHS = ("lds", "hds")
METRICS = ("ET", "TWT", "messages", "fairness_jain", "makespan_ratio")

# How a policy allocates: a single orchestrator per group (the CES controller, or a market's manager, which also
# validates), or peers without a manager. heft, knowledge-aware and random run under the preset's centralized control.
ARCHITECTURE = {
    **{p: "manager (market)" for p in MECHANISMS[:7]},
    **{p: "peer-to-peer" for p in ("cbba", "max-sum", "dpop", "aco", "response-threshold")},
    "ces-centralized": "central controller",
    "ces-decentralized": "peer-to-peer",
    "knowledge-aware": "central controller",
    "heft": "central controller",
    "random": "central controller",
}
PEER_TO_PEER = tuple(p for p, a in ARCHITECTURE.items() if a == "peer-to-peer")


@dataclass(frozen=True)
class Scale:
    """One point of a scale sweep; the maze is kept small so that the sweep measures allocation, not walking."""

    tasks: int
    agents: int
    groups: int
    graph: str = "lds"

    def overrides(self, maze_size: int) -> dict[str, Any]:
        return dict(
            n_tasks=self.tasks, n_agents=self.agents, n_groups=self.groups, maze_size=maze_size, graph=self.graph
        )

    @property
    def label(self) -> str:
        return f"{self.tasks}/{self.agents}/{self.groups}"


# Sweep "groups": more groups of 5 agents. Sweep "group size": 2 groups that grow (the orchestrator's load grows),
# on LDS and on HDS (denser dependencies: fewer tasks ready at once, so smaller negotiations).
GROUPS_SWEEP = "more groups (5 agents each), LDS"
SIZE_SWEEP = "bigger groups (2 groups), LDS"
SIZE_SWEEP_HDS = "bigger groups (2 groups), HDS"
SWEEPS: dict[str, tuple[Scale, ...]] = {
    GROUPS_SWEEP: (Scale(40, 10, 2), Scale(80, 20, 4), Scale(160, 40, 8), Scale(320, 80, 16)),
    SIZE_SWEEP: (Scale(40, 10, 2), Scale(80, 20, 2), Scale(160, 40, 2)),
    SIZE_SWEEP_HDS: (Scale(40, 10, 2, "hds"), Scale(80, 20, 2, "hds"), Scale(160, 40, 2, "hds")),
}
# ``--tiny``: the smoke test's configuration (seconds, not minutes; its numbers mean nothing). Same shape as the real
# run: two groups on the main tables, tasks = 4 x agents on every sweep.
TINY_MAIN = dict(n_agents=4, n_groups=2, n_tasks=16, maze_size=5)
TINY_SWEEPS: dict[str, tuple[Scale, ...]] = {
    GROUPS_SWEEP: (Scale(16, 4, 2), Scale(32, 8, 4)),
    SIZE_SWEEP: (Scale(16, 4, 2), Scale(32, 8, 2)),
    SIZE_SWEEP_HDS: (Scale(16, 4, 2, "hds"), Scale(32, 8, 2, "hds")),
}


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


def column(rows: list[dict], metric: str) -> np.ndarray:
    return np.asarray([r[metric] for r in rows], dtype=np.float64)


def cell(rows: list[dict], metric: str) -> str:
    return format_mean_ci(*mean_ci(column(rows, metric)))


def paired_diff(rows: list[dict], base: list[dict]) -> str:
    if rows is base:
        return "—"
    assert [r["seed"] for r in rows] == [r["seed"] for r in base], "unpaired seeds"
    c = compare(column(rows, "ET"), column(base, "ET"))
    marker = " (lower)" if c.high < 0 else " (higher)" if c.low > 0 else ""
    return f"{c.diff:+.0f} [{c.low:+.0f}, {c.high:+.0f}]{marker}"


def metrics_table(results: dict[str, list[dict] | str]) -> list[str]:
    base = results[BASELINE]
    assert isinstance(base, list)
    lines = [
        "| policy | allocation | ET | TWT | messages | fairness (Jain) | makespan ratio "
        "| ΔET vs ces-decentralized [95% CI] |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for policy in POLICIES:
        rows = results[policy]
        if isinstance(rows, str):
            lines.append(f"| {policy} | {ARCHITECTURE[policy]} | refused | | | | | |")
            continue
        cells = " | ".join(cell(rows, m) for m in METRICS)
        lines.append(f"| {policy} | {ARCHITECTURE[policy]} | {cells} | {paired_diff(rows, base)} |")
    return lines


def slope(agents: Sequence[int], values: Sequence[float] | np.ndarray) -> float:
    """Least-squares slope of log(value) on log(agents): messages ~ agents^slope."""
    return float(np.polyfit(np.log(agents), np.log(values), 1)[0])


def ci_text(values: Sequence[float] | np.ndarray) -> str:
    """``mean ± half-width`` of the 95% Student-t interval over seeds, as the main tables print it."""
    return format_mean_ci(*mean_ci(np.asarray(values, dtype=np.float64)))


@dataclass(frozen=True)
class ScaleFit:
    """One policy on one sweep: the points it ran, and per seed (paired: the same seeds at every point) the slope of
    log messages on log agents and the ET growth from the first to the last point."""

    points: int
    k_per_seed: np.ndarray
    growth_per_seed: np.ndarray

    @property
    def k(self) -> float:
        return float(self.k_per_seed.mean()) if self.k_per_seed.size else math.nan

    @property
    def growth(self) -> float:
        return float(self.growth_per_seed.mean()) if self.growth_per_seed.size else math.nan


def scale_fit(by_scale: dict[Scale, dict[str, list[dict] | str]], policy: str) -> ScaleFit:
    ran = [(s, rows) for s in by_scale if isinstance(rows := by_scale[s][policy], list)]
    if len(ran) < 2:
        return ScaleFit(len(ran), np.empty(0), np.empty(0))
    for _, rows in ran:
        assert [r["seed"] for r in rows] == [r["seed"] for r in ran[0][1]], f"{policy}: unpaired seeds in a sweep"
    agents = [s.agents for s, _ in ran]
    msgs = np.stack([column(rows, "messages") for _, rows in ran])  # (points, seeds)
    ets = np.stack([column(rows, "ET") for _, rows in ran])
    ks = np.array([slope(agents, msgs[:, i]) for i in range(msgs.shape[1])])
    return ScaleFit(len(ran), ks, ets[-1] / ets[0])


def scale_tables(sweeps: dict[str, dict[Scale, dict[str, list[dict] | str]]]) -> tuple[list[str], dict]:
    """Per sweep, two tables: messages per policy and scale (mean ± 95% CI over seeds) with the log-log slope k of
    messages on agents, and ET per policy and scale with the ET growth from the first to the last point it ran and
    the paired ET difference to ces-decentralized at the largest scale. k and the growth are computed per seed (the
    seeds are the same at every point), so their intervals are over paired seeds too."""
    lines: list[str] = []
    fitted: dict[str, dict[str, ScaleFit]] = {}
    for name, by_scale in sweeps.items():
        scales = list(by_scale)
        last = scales[-1]
        fitted[name] = {p: scale_fit(by_scale, p) for p in POLICIES}
        msg_head = " | ".join(f"{s.label}" for s in scales)
        lines += [
            f"### Sweep: {name}",
            "",
            "Messages per episode (tasks/agents/groups):",
            "",
            f"| policy | {msg_head} | messages ~ agents^k: k [95% CI] |",
            "|---|" + "---|" * (len(scales) + 1),
        ]
        for policy in POLICIES:
            cells = [
                "refused" if isinstance(rows := by_scale[s][policy], str) else cell(rows, "messages") for s in scales
            ]
            fit = fitted[name][policy]
            partial = "" if fit.points == len(scales) else f" ({fit.points} points)"
            k_text = "—" if not fit.k_per_seed.size else ci_text(fit.k_per_seed) + partial
            lines.append(f"| {policy} | {' | '.join(cells)} | {k_text} |")
        lines += [
            "",
            "ET (ticks):",
            "",
            f"| policy | {msg_head} | ET last/first [95% CI] | ΔET vs ces-decentralized at {last.label} [95% CI] |",
            "|---|" + "---|" * (len(scales) + 2),
        ]
        base = by_scale[last][BASELINE]
        for policy in POLICIES:
            cells = ["refused" if isinstance(rows := by_scale[s][policy], str) else cell(rows, "ET") for s in scales]
            fit = fitted[name][policy]
            partial = "" if fit.points == len(scales) else f" ({fit.points} points)"
            g_text = "—" if not fit.growth_per_seed.size else ci_text(fit.growth_per_seed) + partial
            rows = by_scale[last][policy]
            diff = "refused" if isinstance(rows, str) or isinstance(base, str) else paired_diff(rows, base)
            lines.append(f"| {policy} | {' | '.join(cells)} | {g_text} | {diff} |")
        refused = [(p, s) for p in POLICIES for s in scales if isinstance(by_scale[s][p], str)]
        if refused:
            lines += ["", "Refused (a documented limit of the mechanism, checked at reset, not a failure):", ""]
            for policy in dict.fromkeys(p for p, _ in refused):
                labels = ", ".join(s.label for p, s in refused if p == policy)
                first = next(by_scale[s][p] for p, s in refused if p == policy)
                lines.append(f"* `{policy}` at {labels}; the message at {labels.split(',')[0]}: *{first}*")
        lines.append("")
    return lines, fitted


def plot_messages(sweeps: dict[str, dict[Scale, dict[str, list[dict] | str]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sweeps), figsize=(6.5 * len(sweeps), 5.5), sharey=True)
    cmap = plt.get_cmap("tab20")
    for ax, (name, by_scale) in zip(np.atleast_1d(axes), sweeps.items(), strict=True):
        for i, policy in enumerate(POLICIES):
            points = [
                (s.agents, column(rows, "messages").mean())
                for s in by_scale
                if isinstance(rows := by_scale[s][policy], list)
            ]
            if points:
                x, y = zip(*points, strict=True)
                style = "--" if ARCHITECTURE[policy] == "central controller" else "-"
                ax.plot(x, y, style, marker="o", ms=3, color=cmap(i % 20), label=policy)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("agents (tasks = 4 x agents)")
        ax.set_title(name)
        ax.grid(True, which="both", alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("messages per episode (mean over seeds)")
    np.atleast_1d(axes)[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@dataclass(frozen=True)
class FaultNumbers:
    """Per control of the fault report (``centralized``, ``decentralized``, or a mechanism's name): ΔET with a
    controller down for half the ET, ΔET with 30% of the agents crashing (recovering), and what completes at that
    crashing share without recovery. Empty when the report is missing."""

    outage: dict[str, str]
    crash_delta: dict[str, str]
    crash_completed: dict[str, str]

    def crash_delta_text(self) -> str:
        """ΔET under crashes with recovery: the two CES controls, then the mechanisms' range, and whether every
        control's interval overlaps every other's (no control measurably more or less tolerant)."""
        if not self.crash_delta:
            return "n/a"
        parsed = {c: plus_minus(v) for c, v in self.crash_delta.items()}
        ces = [f"{self.crash_delta[c]} ({c})" for c in ("centralized", "decentralized") if c in parsed]
        mechs = {c: m for c, (m, _) in parsed.items() if c in MECHANISMS}
        parts = list(ces)
        if mechs:
            low, high = min(mechs, key=mechs.__getitem__), max(mechs, key=mechs.__getitem__)
            parts.append(f"the mechanisms from {mechs[low]:+.1f} ({low}) to {mechs[high]:+.1f} ({high})")
        return ", ".join(parts) + (
            f"; the {len(parsed)} controls' intervals all overlap"
            if self.crash_intervals_overlap()
            else "; some intervals do not overlap"
        )

    def crash_intervals_overlap(self) -> bool:
        """Does every control's ΔET interval under crashes overlap every other's?"""
        parsed = [plus_minus(v) for v in self.crash_delta.values()]
        return max(m - h for m, h in parsed) <= min(m + h for m, h in parsed)

    def lost_episodes(self) -> dict[str, str]:
        """Controls that did not complete every episode without recovery: ``control: 'done/total'``."""
        lost = {}
        for control, text in self.crash_completed.items():
            done, total = text.split(" ")[0].split("/")
            if int(done) < int(total):
                lost[control] = f"{done}/{total}"
        return lost


def plus_minus(text: str) -> tuple[float, float]:
    """``'83.8 ± 102.7'`` to (83.8, 102.7)."""
    mean, _, half = text.partition("±")
    return float(mean.replace(",", "")), float(half.replace(",", "") or "nan")


def faults_numbers(path: Path) -> FaultNumbers:
    """Read the fault report's crash table (9 columns; the 30% rows) and outage table (6 columns; the 50% rows)."""
    found = FaultNumbers({}, {}, {})
    if not path.exists():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[1] == "50%":
            found.outage[cells[0]] = cells[3]
        if len(cells) == 9 and cells[1] == "30%":
            found.crash_delta[cells[0]] = cells[4]
            found.crash_completed[cells[0]] = f"{cells[7]} episodes, {cells[8]} of tasks"
    return found


def grouped(values: dict[str, str]) -> str:
    """``value (control, control), value (control)``: controls that measured the same value listed together."""
    by_value: dict[str, list[str]] = {}
    for control, value in values.items():
        by_value.setdefault(value, []).append(control)
    return "; ".join(f"{value} ({', '.join(controls)})" for value, controls in by_value.items())


def mean_of(results: dict[str, list[dict] | str], policy: str, metric: str) -> float:
    rows = results[policy]
    return math.nan if isinstance(rows, str) else float(column(rows, metric).mean())


def first_refused_group(by_scale: dict[Scale, dict[str, list[dict] | str]], policy: str) -> int | None:
    """Agents per group at the first point of a sweep that ``policy`` refuses (None if it refuses none)."""
    return next((s.agents // s.groups for s in by_scale if isinstance(by_scale[s][policy], str)), None)


def overhead_shares(details: dict[str, list[EpisodeDetail]]) -> dict[str, tuple[float, float]]:
    """Per mechanism: the share of its groups' time with a negotiation round open (negotiation ticks over the sum of
    the groups' ET, mean over seeds) and the negotiation ticks per task."""
    out = {}
    for policy, ds in details.items():
        share = np.mean([d.negotiation_ticks / sum(d.group_et) for d in ds])
        per_task = np.mean([d.negotiation_ticks / len(d.started) for d in ds])
        out[policy] = (float(share), float(per_task))
    return out


def glossary_table(main: dict[str, Any], fitted: dict[str, dict[str, ScaleFit]], faults: FaultNumbers) -> list[str]:
    lds = main["lds"]
    k_groups, k_size, k_hds = fitted[GROUPS_SWEEP], fitted[SIZE_SWEEP], fitted[SIZE_SWEEP_HDS]

    def k_range(policies: Sequence[str], sweep: dict[str, ScaleFit]) -> str:
        ks = [sweep[p].k for p in policies if math.isfinite(sweep[p].k)]
        return f"{min(ks):.2f}–{max(ks):.2f}" if ks else "n/a"

    ets = {p: mean_of(lds, p, "ET") for p in POLICIES}
    best = min(ets, key=lambda p: ets[p] if math.isfinite(ets[p]) else math.inf)
    gap = {p: 100 * (ets[p] / ets[best] - 1) for p in POLICIES}
    msgs = {p: mean_of(lds, p, "messages") for p in POLICIES}
    n_tasks = lds["ces-centralized"][0]["n_tasks"]

    def msg_range(policies: Sequence[str]) -> str:
        vals = [msgs[p] / n_tasks for p in policies if math.isfinite(msgs[p])]
        return f"{min(vals):.1f}–{max(vals):.1f}"

    def gap_range(policies: Sequence[str]) -> str:
        vals = [gap[p] for p in policies if math.isfinite(gap[p])]
        return f"{min(vals):+.0f}% to {max(vals):+.0f}%"

    size_sweep = main["_size_sweep"]
    util = [column(rows, "controller_utilization").mean() for rows in _size_sweep_rows(size_sweep, "ces-centralized")]
    sizes = [s.agents // s.groups for s in size_sweep]
    peers = PEER_TO_PEER
    markets = MECHANISMS[:7]
    peer_mechs = [p for p in peers if p in MECHANISMS]
    overhead = overhead_shares(main["_details"]["lds"])

    def share_range(policies: Sequence[str]) -> str:
        shares = [100 * overhead[p][0] for p in policies]
        per_task = [overhead[p][1] for p in policies]
        return f"{min(shares):.0f}–{max(shares):.0f}% ({min(per_task):.1f}–{max(per_task):.1f} ticks per task)"

    lds_util = mean_of(lds, "ces-centralized", "controller_utilization")
    refusals = [
        f"{p} refuses groups of {n} agents"
        for p in ("dpop", "vcg")
        if (n := first_refused_group(size_sweep, p)) is not None
    ]
    complexity = (
        f"; its computational side shows in the exact solvers, which refuse large groups ({', '.join(refusals)}: "
        "the refusals under the scale sweeps)"
        if refusals
        else ""
    )
    mechanisms_in_faults = sorted(c for c in faults.crash_completed if c in MECHANISMS)
    missing = [p for p in MECHANISMS if p not in faults.crash_completed]
    fault_text = (
        "from `reports/faults.md`: a controller down for 50% of the ET: ΔET "
        f"{grouped(faults.outage) or 'n/a'} (only the CES controller is made to fail; the mechanisms' managers and "
        "peers are not, so their rows show no change by construction); 30% of agents crashing, with recovery: ΔET "
        f"{faults.crash_delta_text()}; without recovery: {grouped(faults.crash_completed) or 'n/a'}"
        + (f". Not in the fault report: {', '.join(missing)}" if missing and mechanisms_in_faults else "")
        + (". The fault report has no mechanism rows" if not mechanisms_in_faults else "")
    )
    return [
        "| feature | glossary: distributed (DTA) | glossary: centralized (CTA) | measured here |",
        "|---|---|---|---|",
        "| Scalability | high, minimal bottleneck | limited by the orchestrator | messages ~ agents^k (mean k over "
        f"seeds) with more groups: k = {k_groups['ces-centralized'].k:.2f} (ces-centralized), "
        f"{k_range(peers, k_groups)} (peer-to-peer), {k_range(markets, k_groups)} (markets); with bigger groups, LDS: "
        f"k = {k_size['ces-centralized'].k:.2f} (ces-centralized), {k_range(peers, k_size)} (peer-to-peer), "
        f"{k_range(markets, k_size)} (markets); HDS: k = {k_hds['ces-centralized'].k:.2f}, "
        f"{k_range(peers, k_hds)}, {k_range(markets, k_hds)}. The orchestrator's load: the CES controller's "
        f"utilization {', '.join(f'{u:.2f}' for u in util)} as its group grows "
        f"{' → '.join(str(n) for n in sizes[: len(util)])} agents. |",
        "| Communication overhead | high (peer-to-peer negotiation) | lower (command and control) | messages per "
        f"task on LDS `{PRESET}`: {msgs['ces-centralized'] / n_tasks:.1f} (ces-centralized), "
        f"{msgs['ces-decentralized'] / n_tasks:.1f} (ces-decentralized), {msg_range(peers)} (peer-to-peer), "
        f"{msg_range(markets)} (markets) |",
        "| Optimality | local or emergent | possible with exact solvers | ET gap to the best policy on LDS "
        f"(`{best}`, {ets[best]:,.0f}): {gap['ces-centralized']:+.0f}% ces-centralized, {gap['dpop']:+.0f}% dpop "
        f"(exact per round, not per episode), {gap_range(peers)} peer-to-peer, {gap_range(markets)} markets |",
        "| Single point of failure / fault tolerance | high: re-negotiation | low: orchestrator failure halts "
        f"allocation | {fault_text} |",
        "| Allocation overhead | distributed across agents; latency from negotiation | concentrated at the "
        "orchestrator; computational complexity | share of each group's time with a negotiation round open "
        f"(negotiation ticks / Σ ET_g, LDS `{PRESET}`, {len(next(iter(main['_details']['lds'].values())))} seeds): "
        f"{share_range(markets)} markets, {share_range(peer_mechs)} peer-to-peer mechanisms; the CES controller "
        f"(ces-centralized) is busy {100 * lds_util:.0f}% of the ET{complexity} |",
    ]


def _size_sweep_rows(by_scale: dict[Scale, dict[str, list[dict] | str]], policy: str) -> list[list[dict]]:
    return [rows for s in by_scale if isinstance(rows := by_scale[s][policy], list)]


def reading(main: dict[str, dict], fitted: dict, faults: FaultNumbers) -> list[str]:
    """The facts the written reading rests on, computed (the prose around them is in ``write_report``)."""
    lines = []
    for graph in GRAPHS:
        results = main[graph]
        base = results[BASELINE]
        better, worse = [], []
        for policy in POLICIES:
            rows = results[policy]
            if policy == BASELINE or isinstance(rows, str):
                continue
            c = compare(column(rows, "ET"), column(base, "ET"))
            if c.high < 0:
                better.append(f"{policy} ({c.diff:+.0f})")
            elif c.low > 0:
                worse.append(f"{policy} ({c.diff:+.0f})")
        ranking = sorted(
            (p for p in POLICIES if not isinstance(results[p], str)), key=lambda p: mean_of(results, p, "ET")
        )
        lines.append(
            f"* **{graph.upper()}**: fastest three by ET: {', '.join(ranking[:3])}; significantly below "
            f"ces-decentralized (paired 95% CI): {', '.join(better) or 'none'}; significantly above: "
            f"{', '.join(worse) or 'none'}."
        )
    return lines + prose(main, fitted, faults)


def prose(main: dict[str, dict], fitted: dict, faults: FaultNumbers) -> list[str]:
    """The interpretation, every figure in it computed from the tables (so that a rerun cannot leave a stale one)."""
    lds, hds = main["lds"], main["hds"]

    def d(results: dict, policy: str) -> float:
        return compare(column(results[policy], "ET"), column(results[BASELINE], "ET")).diff

    def ratio(policy: str) -> float:
        return mean_of(lds, policy, "messages") / mean_of(lds, "ces-centralized", "messages")

    mechs = [p for p in MECHANISMS if not isinstance(lds[p], str) and not isinstance(hds[p], str)]
    faster = [
        p
        for p in mechs
        for results in (lds, hds)
        if compare(column(results[p], "ET"), column(results[BASELINE], "ET")).high < 0
    ]

    def fastest(results: dict) -> str:
        return min(mechs, key=lambda p: mean_of(results, p, "ET"))

    best_mech = {g: fastest(main[g]) for g in GRAPHS}
    sealed = ("auction-first-price", "auction-vickrey", "auction-double", "vcg")
    ks = fitted[SIZE_SWEEP]
    scale_rows = _size_sweep_rows(main["_size_sweep"], BASELINE)[0]
    steepest = max((p for p in POLICIES if math.isfinite(ks[p].k)), key=lambda p: ks[p].k)
    same_fv = all(
        np.array_equal(column(main[g]["auction-first-price"], "ET"), column(main[g]["auction-vickrey"], "ET"))
        for g in GRAPHS
    )
    refused_at = {p: first_refused_group(main["_size_sweep"], p) for p in ("dpop", "vcg")}
    return [
        "",
        f"* **Who wins on ET: the choice rule, not the protocol.** `heft` and `knowledge-aware` (known solutions "
        f"first, under the CES controller) are {d(lds, 'heft'):+.0f} and {d(lds, 'knowledge-aware'):+.0f} ticks from "
        f"ces-decentralized on LDS, {d(hds, 'heft'):+.0f} and {d(hds, 'knowledge-aware'):+.0f} on HDS. "
        f"{'No' if not faster else 'Only ' + ', '.join(sorted(set(faster)))} mechanism is significantly faster than "
        f"CES decentralized on either graph; the fastest mechanism is `{best_mech['lds']}` on LDS "
        f"({d(lds, best_mech['lds']):+.0f}) and `{best_mech['hds']}` on HDS ({d(hds, best_mech['hds']):+.0f})"
        + (", both within their intervals. " if not faster else ". ")
        + "Every mechanism bids estimated completion times, which cannot see a maze's hidden cost; on these "
        "instances none of them gets a significantly shorter episode than CES's reward-first rule.",
        "* **What they pay in messages** (LDS, relative to ces-centralized's "
        f"{mean_of(lds, 'ces-centralized', 'messages'):.0f}): "
        f"the sealed-bid markets {min(ratio(p) for p in sealed):.2f}–{max(ratio(p) for p in sealed):.2f}x, "
        f"ces-decentralized {ratio('ces-decentralized'):.2f}x, the swarms (aco, response-threshold) "
        f"{min(ratio(p) for p in ('aco', 'response-threshold')):.2f}–"
        f"{max(ratio(p) for p in ('aco', 'response-threshold')):.2f}x, contract-net {ratio('contract-net'):.2f}x, "
        f"Max-Sum {ratio('max-sum'):.2f}x and CBBA {ratio('cbba'):.2f}x for no ET gain. The clock auctions pay "
        f"twice: messages (English {ratio('auction-english'):.2f}x, Dutch {ratio('auction-dutch'):.2f}x) and time, "
        f"because every price step is a round of two hops (Dutch {d(lds, 'auction-dutch'):+.0f} on LDS, "
        f"{d(hds, 'auction-dutch'):+.0f} on HDS; English {d(hds, 'auction-english'):+.0f} on HDS).",
        *(
            [
                "* **First-price and Vickrey allocate alike**: the same ET on every seed of both graphs (the same "
                "winner, only the payment differs; truthfulness matters once agents misreport: `reports/faults.md`)."
            ]
            if same_fv
            else []
        ),
        contract_net_vs_double(main),
        "* **The double auction trades only inside each group.** The glossary's double auction lets groups with "
        "more ready tasks than free agents buy work from groups with free agents; here a task is executed, validated "
        "and learnt from inside its own group (knowledge is shared per group, the group's entity validates, ET_g and "
        "the lower bound are per group), so a cross-group trade would change the model, not just the mechanism: "
        "it is not implemented, and `auction-double` is a call market between a group's tasks and its own agents.",
        f"* **DPOP**, the exact DCOP reference, is exact per negotiation round, not per episode: it is "
        f"{d(lds, 'dpop'):+.0f} on LDS and {d(hds, 'dpop'):+.0f} on HDS against ces-decentralized"
        + (
            f", and it refuses groups of {refused_at['dpop']} agents (the UTIL tables)"
            if refused_at["dpop"] is not None
            else ""
        )
        + (f"; VCG refuses groups of {refused_at['vcg']} (its brute force)" if refused_at["vcg"] is not None else "")
        + ".",
        "* **The glossary's expectations.** *Communication overhead* holds: the central controller sends the fewest "
        "messages. *Scalability* does not hold for messages: with more groups every protocol grows linearly "
        f"(k ≈ 1, groups are independent); with bigger groups the central controller grows slowest "
        f"(k = {ks['ces-centralized'].k:.2f}), the peer-to-peer protocols faster (ces-decentralized "
        f"{ks['ces-decentralized'].k:.2f}, Max-Sum {ks['max-sum'].k:.2f}, CBBA {ks['cbba'].k:.2f}) and "
        f"`{steepest}` fastest ({ks[steepest].k:.2f}). The "
        "orchestrator's load is real (its utilization rises with the group, table above) but as its group grows "
        f"its ET grows about as decentralized's does (x{ci_text(ks['ces-centralized'].growth_per_seed)} against "
        f"x{ci_text(ks['ces-decentralized'].growth_per_seed)} from the first to the last point of the LDS sweep; "
        f"{len(scale_rows)} seeds). "
        "*Optimality*: neither side is optimal here; the gap "
        "to the best comes from using the knowledge of solutions, not from centralization. "
        + fault_tolerance_reading(faults),
        f"* Limits of this report: {len(main['lds'][BASELINE])} seeds on one preset per graph; the scale sweeps use "
        f"{scale_rows[0]['maze_size']}x{scale_rows[0]['maze_size']} mazes and {len(scale_rows)} seeds, so their "
        "intervals are wide; default mechanism options throughout.",
    ]


def fault_tolerance_reading(faults: FaultNumbers) -> str:
    """The fault report's verdict on the glossary's fault-tolerance row, from its numbers."""
    if not faults.crash_delta:
        return "*Fault tolerance*: no fault report was read."
    lost = faults.lost_episodes()
    lost_text = (
        "without recovery, " + ", ".join(f"{c} completed {v} episodes" for c, v in lost.items()) + " and every other "
        "control all of them"
        if lost
        else "without recovery every control completed every episode"
    )
    return (
        "*Fault tolerance* holds for the CES controller in the fault report's outage rows (an outage delays only "
        "centralized control; the mechanisms' managers are not made to fail in the model). Under crashing agents "
        f"(30%) the controls that recover {'differ little' if faults.crash_intervals_overlap() else 'differ'} "
        f"(ΔET: {faults.crash_delta_text()}): a crash costs the crashed agent's work whatever allocates it; "
        f"{lost_text} (a group whose agents all crashed stops)."
    )


# The counter-check of the Contract Net / double auction equality: agents that differ (unshared knowledge, spread
# speeds), on HDS, so that the two rules' different matchings of several bidders can show.
COUNTER_CHECK = {"graph": "hds", "knowledge_sharing": "none", "speed_spread": 0.5}


def contract_net_vs_double(main: dict[str, Any]) -> str:
    """Why Contract Net and the double auction have the same ET: the replayed schedules (who started which task
    when) of both on every seed, the rounds per award, and a counter-check where the agents are not interchangeable."""
    parts = []
    n = len(main["_details"]["lds"]["contract-net"])
    for graph in GRAPHS:
        cn, da = main["_details"][graph]["contract-net"], main["_details"][graph]["auction-double"]
        starts, agents, ets = same_schedules(cn, da)
        parts.append(
            f"on {graph.upper()} every task starts at the same tick under both on {starts}/{n} seeds (and is executed "
            f"by the same agent on {agents}/{n}), the ET is equal on {ets}/{n}"
        )
    cn = main["_details"]["lds"]["contract-net"]
    rounds = np.mean([d.rounds for d in cn])
    awards = np.mean([d.awards for d in cn])
    counter = main["_counter"]
    _, _, counter_same = same_schedules(counter["contract-net"], counter["auction-double"])
    counter_text = ", ".join(f"`{k}={v}`" for k, v in COUNTER_CHECK.items())
    return (
        "* **Contract Net and the double auction allocate alike on these presets.** Replaying each seed's episode "
        f"and comparing the schedules: {'; '.join(parts)}. Why: (1) *the same tasks.* Every request of the double "
        "auction has the same limit (a task's reservation cost is the slowest member's exploration estimate, which "
        "depends on the maze's size only, plus a validation; all mazes of an instance have the same size), so the "
        "tied requests trade in the order of the open tasks, which is reward order; with `queue_limit=0` every idle "
        "agent's ask is below that limit, so a call clears min(open tasks, idle agents) trades: the tasks Contract "
        "Net awards, one per idle bidder in reward order. (2) *The same agents, up to interchangeable ones.* Agents "
        f"free up one at a time, so most rounds have a single bidder ({rounds:.1f} rounds for {awards:.1f} awards "
        "per LDS episode); when several bid they have the same speed and, with knowledge shared in the group, the "
        "same estimates, so Contract Net's greedy award (reward order, best bid) and the double auction's "
        "least-total matching may pair them differently, but the schedule of tasks is the same. The double auction "
        "gets there with fewer messages (one offer per agent instead of one bid per task and agent). Counter-check "
        f"with agents that differ ({counter_text}): the ET is equal on {counter_same}/{len(counter['contract-net'])} "
        "seeds only."
    )


def write_report(args: argparse.Namespace) -> None:
    seeds = list(range(args.seeds))
    scale_seeds = list(range(args.scale_seeds))
    main_overrides: dict[str, Any] = dict(TINY_MAIN) if args.tiny else {}
    sweep_points = TINY_SWEEPS if args.tiny else SWEEPS
    cached = {f.stem for f in (args.runs / "rows").glob("*.json")}  # rows a previous run left (resume)
    start = time.perf_counter()
    main: dict[str, Any] = {}
    for graph in GRAPHS:
        main[graph] = run_set(POLICIES, {**main_overrides, "graph": graph}, seeds, args.runs, args.workers)
    sweeps: dict[str, dict[Scale, dict]] = {}
    for name, scales in sweep_points.items():
        sweeps[name] = {
            s: run_set(POLICIES, s.overrides(args.maze_size), scale_seeds, args.runs, args.workers) for s in scales
        }
    main["_size_sweep"] = sweeps[SIZE_SWEEP]
    detail_start = time.perf_counter()
    main["_details"] = {}
    for graph in GRAPHS:
        main["_details"][graph] = run_details(MECHANISMS, {**main_overrides, "graph": graph}, seeds, args.workers)
        check_same_episodes(main["_details"][graph], main[graph])
    pair = ("contract-net", "auction-double")
    main["_counter"] = run_details(pair, {**main_overrides, **COUNTER_CHECK}, seeds, args.workers)
    detail_seconds = time.perf_counter() - detail_start
    elapsed = time.perf_counter() - start
    every_row = [r for g in GRAPHS for rows in main[g].values() if isinstance(rows, list) for r in rows] + [
        r
        for by in sweeps.values()
        for res in by.values()
        for rows in res.values()
        if isinstance(rows, list)
        for r in rows
    ]
    unique_rows = {r["job_key"]: r for r in every_row}
    episode_seconds = sum(r["wall_seconds"] for r in unique_rows.values())
    reused = len(cached & set(unique_rows))

    scale_lines, fitted = scale_tables(sweeps)
    figure = args.out.parent / "mechanisms_messages.png"
    plot_messages(sweeps, figure)
    faults = faults_numbers(args.faults)
    first = main["lds"][BASELINE][0]
    side = first["maze_size"]
    maze = f"{side}x{side}" if isinstance(side, int) else "x".join(map(str, side))
    shape = f"{first['n_agents']} agents in {first['n_groups']} groups, {first['n_tasks']} tasks, {maze} mazes"
    flags = " --tiny" if args.tiny else ""

    lines = [
        "# The distributed-task-allocation mechanisms beside CES",
        "",
        f"Generated by `python benchmarks/mechanisms_report.py --seeds {args.seeds} --scale-seeds {args.scale_seeds} "
        f"--workers {args.workers}{flags}` ({len(unique_rows)} episodes, {episode_seconds:.0f} s of episodes over "
        f"{args.workers} workers when they were played; rows cached under `{args.runs}`, which a rerun reuses: this "
        f"run read {reused} of them from there and took {elapsed:.0f} s wall clock, of which {detail_seconds:.0f} s "
        "replayed the mechanisms' episodes for their schedules and negotiation times). Every policy plays the "
        "same seeds (paired: the same instances and exploration draws). Intervals are 95% Student-t over seeds; "
        "ΔET is the paired difference to `ces-decentralized` on the same seed with its 95% CI, marked (lower) or "
        "(higher) when the interval excludes 0. The mechanisms allocate the tasks themselves (README, Mechanisms); "
        "`knowledge-aware`, `heft` and `random` are scripted policies under the preset's centralized control. "
        "Metric definitions: README (ET: episode time in ticks, TWT: total waiting time, messages: every message "
        "sent, fairness: Jain's index over the agents' work, makespan ratio: ET over the instance's lower bound).",
        "",
    ]
    for graph in GRAPHS:
        lines += [
            f"## {graph.upper()}, preset `{PRESET}` ({shape}), {args.seeds} seeds",
            "",
            *metrics_table(main[graph]),
            "",
        ]
    lines += [
        "## Growing scale",
        "",
        f"Tasks/agents/groups grow together (tasks = 4 x agents), {args.maze_size}x{args.maze_size} mazes, "
        f"{args.scale_seeds} paired seeds (the same seeds at every point); messages and ET per episode, mean ± 95% "
        "Student-t interval over seeds. k is the least-squares slope of log messages on log agents, fitted per seed "
        "and then averaged, with its interval over seeds (k = 1: messages grow linearly with the agents); ET "
        "last/first likewise per seed; ΔET is the paired difference to ces-decentralized at the largest point. "
        "First sweep: more groups of 5 agents (LDS); then two groups that grow, on LDS and on HDS (DPOP's UTIL "
        "tables grow as (ready tasks + 1)^(agents - 1) per group, so it refuses large groups). With this few seeds "
        "the intervals are wide; a cell's interval says how far to trust it.",
        "",
        *scale_lines,
        f"![messages against agents, log-log]({figure.name})",
        "",
        "## The glossary's distributed-versus-centralized table, measured",
        "",
        "The glossary (`shared/seeds/000_*.txt`, *Distributed vs. Centralized Task Allocation*) states expectations; "
        "the last column puts a number from the tables above (or the fault report) beside each. 'Peer-to-peer' "
        f"here: {', '.join(PEER_TO_PEER)}; 'markets': {', '.join(MECHANISMS[:7])} (a manager per group runs them).",
        "",
        *glossary_table(main, fitted, faults),
        "",
        "## Reading",
        "",
        *reading(main, fitted, faults),
        *[f"{line}" for line in args.notes],
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out} and {figure} in {elapsed:.0f} s", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="paired seeds of the LDS/HDS tables")
    parser.add_argument("--scale-seeds", type=int, default=5, help="paired seeds per point of the scale sweeps")
    parser.add_argument("--maze-size", type=int, default=10, help="maze side in the scale sweeps")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=Path("runs/mechanisms"), help="harness rows (resume)")
    parser.add_argument("--out", type=Path, default=Path("reports/mechanisms.md"))
    parser.add_argument("--notes", type=Path, default=None, help="a markdown file appended to the reading")
    parser.add_argument(
        "--faults", type=Path, default=Path("reports/faults.md"), help="the fault report the glossary table cites"
    )
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="a few-second smoke run (4 agents, 16 tasks, 5x5 mazes, two-point sweeps); its numbers mean nothing",
    )
    args = parser.parse_args(argv)
    for flag in ("seeds", "scale_seeds", "maze_size", "workers"):
        if getattr(args, flag) < 1 or (flag == "seeds" and args.seeds < 2):
            parser.error(f"--{flag.replace('_', '-')} must be >= {2 if flag == 'seeds' else 1}")
    args.notes = args.notes.read_text(encoding="utf-8").splitlines() if args.notes else []
    write_report(args)


if __name__ == "__main__":
    main()

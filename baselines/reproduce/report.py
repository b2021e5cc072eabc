"""Plan every experiment's jobs, run them in one sweep (resumable), analyse, and write ``DIR/reproduction.md``."""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from ces_baselines.harness.runner import run_jobs
from ces_baselines.reproduce.analysis import Section
from ces_baselines.reproduce.experiments import EXPERIMENTS
from ces_baselines.reproduce.scenario import REPRODUCTION_DEFAULTS, SCALES, Scale
from ces_env.config import CESConfig

INTRO = """\
This report is written by `ces-bench reproduce`. The paper's numbers are seconds of its own simulator; ours are
simulated ticks (one tick = one maze cell at speed 1), so the comparison is of **shapes and orderings**, not values.
Every run uses the same parameters: the `CESConfig` defaults (all protocol costs) plus `{defaults}`, plus the scenario
the paper describes for the experiment (agents, groups, tasks, graph, partition, control, and the maze size where the
paper gives one: 400x400 in Table 3). Nothing is tuned per experiment; only the sensitivity study varies protocol costs,
to show how the Figure 2 crossover moves with them. Values are mean ± half-width of the 95% confidence interval
(Student t) over {seeds} seeds; a claim "holds" only when the 95% confidence interval of the difference lies on the
claimed side of zero.
"""


def reproduce(
    out: Path,
    scale: Scale,
    scale_name: str,
    workers: int | None = None,
    only: list[str] | None = None,
    progress: bool = True,
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    experiments = [e for e in EXPERIMENTS if not only or e.key in only]
    plans = {e.key: e.plan(scale) for e in experiments}
    jobs = [job for plan in plans.values() for group in plan.values() for job in group]
    start = time.perf_counter()
    rows = run_jobs(jobs, workers=workers, out_dir=out / "runs", progress=progress)
    elapsed = time.perf_counter() - start
    by_key = {row["job_key"]: row for row in rows}

    sections: list[Section] = []
    for experiment in experiments:
        results = {label: [by_key[job.key()] for job in group] for label, group in plans[experiment.key].items()}
        sections.append(experiment.analyze(results, out, scale))
    path = out / "reproduction.md"
    tmp = path.with_suffix(".md.tmp")
    episode_seconds = sum(float(row["wall_seconds"]) for row in rows)
    tmp.write_text(render(sections, scale, scale_name, len(jobs), elapsed, episode_seconds, workers))
    os.replace(tmp, path)
    return path


def render(
    sections: list[Section], scale: Scale, scale_name: str, n_jobs: int, elapsed: float, episode_seconds: float, workers
) -> str:
    defaults = ", ".join(f"{k}={v!r}" for k, v in REPRODUCTION_DEFAULTS.items())
    costs = CESConfig()
    lines = [
        "# Reproduction of Karishma & Rao, *Cooperative Task Execution in Multi-Agent Systems*",
        "",
        INTRO.format(defaults=defaults, seeds=scale.seeds),
        "",
        f"Protocol costs (ticks): assign {costs.assign_service_ticks}, validate {costs.validate_service_ticks}, "
        f"claim latency {costs.claim_latency_ticks}, peer validation {costs.peer_validate_ticks}, split "
        f"{costs.split_ticks_per_group}/group, collect {costs.collect_ticks_per_group}/group; knowledge sharing "
        f"'{costs.knowledge_sharing}'; tasks per inference class {REPRODUCTION_DEFAULTS['tasks_per_class']}.",
        "",
        f"Run: scale `{scale_name}`, {n_jobs} episodes taking {episode_seconds / 60:.1f} min of episode time in "
        f"all; this invocation took {elapsed / 60:.1f} min with {workers or os.cpu_count()} worker processes "
        f"({platform.machine()}; episodes already saved under `runs/` are reused, not recomputed). The raw rows "
        f"are in `runs/results.csv`.",
        "",
        "## Verdicts",
        "",
        "| experiment | claim | verdict |",
        "|---|---|---|",
    ]
    for sec in sections:
        for claim, holds, _ in sec.verdicts:
            lines.append(f"| {sec.title.split(':')[0]} | {claim} | {'holds' if holds else '**does not hold**'} |")
    for sec in sections:
        lines += ["", f"## {sec.title}", ""] + sec.body + [""]
        for claim, _holds, text in sec.verdicts:
            lines.append(f"* **{claim}** — {text}")
        if sec.why:
            lines += ["", "Why, from the mechanics:", ""] + [f"* {text}" for text in sec.why]
        for plot in sec.plots:
            lines += ["", f"![{plot}]({plot})"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="ces-bench reproduce", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer seeds and sweep points (<= 10 min on 2 cores)")
    parser.add_argument("--scale", choices=sorted(SCALES), help="explicit scale (overrides --quick)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (resumable)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument(
        "--only", default=None, help="comma-separated experiments: " + ",".join(e.key for e in EXPERIMENTS)
    )
    args = parser.parse_args(argv)
    name = args.scale or ("quick" if args.quick else "full")
    only = args.only.split(",") if args.only else None
    known = {e.key for e in EXPERIMENTS}
    if only and set(only) - known:
        parser.error(f"unknown experiment(s) {sorted(set(only) - known)}; known: {sorted(known)}")
    path = reproduce(args.out, SCALES[name], name, workers=args.workers, only=only)
    print(f"wrote {path}")
    return 0

"""Plan every experiment's jobs, run them in one sweep (resumable), analyse, and write ``DIR/reproduction.md``; with
several cost profiles, one such report per profile under ``DIR/<profile>/`` and ``DIR/profiles.md`` side by side."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

from ces_baselines.harness.runner import run_jobs
from ces_baselines.reproduce.analysis import Section
from ces_baselines.reproduce.experiments import EXPERIMENTS
from ces_baselines.reproduce.profiles import PAPER_SHAPES, render_profiles, shape_ratios
from ces_baselines.reproduce.scenario import PROFILES, REPRODUCTION_DEFAULTS, SCALES, Scale
from ces_env.config import COST_FIELDS, make_config
from ces_env.summary import parse_set

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
    all_results = {}
    for experiment in experiments:
        results = {label: [by_key[job.key()] for job in group] for label, group in plans[experiment.key].items()}
        all_results[experiment.key] = results
        sections.append(experiment.analyze(results, out, scale))
    summary = {
        "profile": scale.profile,
        "sets": dict(scale.sets),
        "shapes": shape_ratios(all_results),
        "verdicts": [
            [sec.title.split(":")[0], claim, bool(holds)] for sec in sections for claim, holds, _ in sec.verdicts
        ],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
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
    settings = {**REPRODUCTION_DEFAULTS, **PROFILES[scale.profile], **dict(scale.sets)}
    costs = make_config(**settings).in_ticks()  # at the reproduction's 40x40 mazes
    given = make_config(**settings)
    lines = [
        "# Reproduction of Karishma & Rao, *Cooperative Task Execution in Multi-Agent Systems*",
        "",
        INTRO.format(defaults=defaults, seeds=scale.seeds),
        "",
        f"Cost profile `{scale.profile}`"
        + (f" with --set {', '.join(f'{k}={v!r}' for k, v in scale.sets)}" if scale.sets else "")
        + f" (unit: {given.cost_unit}"
        + (", " + ", ".join(f"{k} {getattr(given, k):g}" for k in COST_FIELDS) if given.cost_unit != "ticks" else "")
        + f"). In ticks at {costs.maze_shape[0]}x{costs.maze_shape[1]}: assign {costs.assign_service_ticks}, validate "
        f"{costs.validate_service_ticks}, claim latency {costs.claim_latency_ticks}, peer validation "
        f"{costs.peer_validate_ticks}, share {costs.share_ticks_per_recipient}/recipient, split "
        f"{costs.split_ticks_per_group}/group, collect {costs.collect_ticks_per_group}/group, partition "
        f"{costs.partition_ticks_per_task}/task (independent only); knowledge sharing '{costs.knowledge_sharing}'; "
        f"tasks per inference class {costs.tasks_per_class}; layered graphs "
        + ("about sqrt(m) deep" if given.graph_layers is None else f"{given.graph_layers} layers deep (graph_layers)")
        + ". Table 3's 400x400 mazes scale the costs of an exploration-unit profile with the maze; a tick profile "
        "keeps them.",
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


def reproduce_profiles(
    out: Path,
    scale: Scale,
    scale_name: str,
    profiles: list[str],
    sets: dict | None = None,
    workers: int | None = None,
    only: list[str] | None = None,
    progress: bool = True,
) -> Path:
    """One report per profile (``out/<profile>/reproduction.md``; one profile alone writes straight into ``out``),
    and with several, ``out/profiles.md``: verdicts and shape ratios side by side."""
    frozen = tuple(sorted((sets or {}).items()))
    if len(profiles) == 1:
        return reproduce(
            out, dataclasses.replace(scale, profile=profiles[0], sets=frozen), scale_name, workers, only, progress
        )
    summaries = {}
    for profile in profiles:
        folder = out / profile
        reproduce(folder, dataclasses.replace(scale, profile=profile, sets=frozen), scale_name, workers, only, progress)
        summaries[profile] = json.loads((folder / "summary.json").read_text())
    path = out / "profiles.md"
    path.write_text(render_profiles(summaries, scale_name, PAPER_SHAPES))
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="ces-bench reproduce", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer seeds and sweep points (<= 10 min on 2 cores)")
    parser.add_argument("--scale", choices=sorted(SCALES), help="explicit scale (overrides --quick)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (required; resumable)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument(
        "--only", default=None, help="comma-separated experiments: " + ",".join(e.key for e in EXPERIMENTS)
    )
    parser.add_argument(
        "--profile",
        default="default",
        help=f"cost profile(s), comma-separated: {', '.join(PROFILES)} (several: a side-by-side report, profiles.md)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a config field in every experiment, on top of the profile (JSON value or bare string)",
    )
    args = parser.parse_args(argv)
    name = args.scale or ("quick" if args.quick else "full")
    only = args.only.split(",") if args.only else None
    known = {e.key for e in EXPERIMENTS}
    if only and set(only) - known:
        parser.error(f"unknown experiment(s) {sorted(set(only) - known)}; known: {sorted(known)}")
    profiles = args.profile.split(",")
    unknown = [p for p in profiles if p not in PROFILES]
    if unknown:
        parser.error(f"--profile: unknown profile(s) {unknown}; known: {', '.join(PROFILES)}")
    try:
        sets = parse_set(args.set)
        for profile in profiles:
            make_config(**{**REPRODUCTION_DEFAULTS, **PROFILES[profile], **sets})
    except ValueError as error:
        parser.error(f"--set: {error}")
    path = reproduce_profiles(args.out, SCALES[name], name, profiles, sets, workers=args.workers, only=only)
    print(f"wrote {path}")
    return 0

"""Evaluate learned policies against the scripted references, on the training family and on held-out instances.

Every episode runs through the ``ces-bench`` harness (``ces_baselines.harness.run_jobs``), so learned and scripted
policies produce the same rows, CSV columns and tables. A learned policy is a ``FAMILY:PATH`` name
(``ppo:train/checkpoints/ppo_shared_small.zip``; see ``ces_baselines.learned``)::

    python train/evaluate.py --policy ppo:train/checkpoints/ppo_shared_small.zip --seeds 100 --out runs/eval
    python train/evaluate.py --policy ppo:A.zip,graph:B.pt --suites train,g40 --markdown runs/eval/tables.md

Suites (:data:`SUITES`) are config overrides on top of the training family (``--base-preset`` small with
``control=decentralized`` by default): ``train`` is the training distribution itself (on evaluation seeds 0..N-1,
which training never uses), the others change what training never saw: the graph (the ``g40`` stand-in, the real
``gauss18`` and STG files of ``../shared/data``), the scale (more tasks and agents), the maze size, and the control.

Every policy plays the same seeds (common random numbers), so comparisons are **paired**: for each seed the relative
ET difference ``ET_policy / ET_reference - 1``, then its mean and 95% Student-t CI over seeds. The CES reference of a
suite is the CES rule under the suite's control (``ces-decentralized``, or ``ces-centralized`` for the centralized
suite). A scripted policy bound to a control (``ces-centralized``) plays its own control on the same instances.

Rows are kept under ``OUT/<suite>/<policy>/`` (learned policies: the folder name carries a hash of the checkpoint, so
a retrained checkpoint is never mixed up with an older one's rows); a run started again resumes.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ces_baselines import registry
from ces_baselines.harness import make_jobs, policy_class, run_jobs, summary_table
from ces_baselines.learned import EVAL_SEED_LIMIT, is_learned_name, learned_policy_class
from ces_env.config import CESConfig, make_config
from ces_env.runner import run_episode
from ces_env.summary import mean_ci, parse_set

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT.parent / "shared" / "data"
"""The real graph files (gauss18, a 50-task STG graph), kept beside the repository as tests/helpers.py expects."""

SCRIPTED_REFERENCES = ("ces-decentralized", "ces-centralized", "knowledge-aware", "heft", "random")
"""Scripted policies every learned policy is compared with (those not registered in this version are skipped)."""
STRONG_REFERENCE = "knowledge-aware"


@dataclass(frozen=True)
class Suite:
    """A set of evaluation instances: config overrides on top of the training family."""

    name: str
    overrides: dict[str, Any]
    description: str
    needs_data: bool = False


def _data(name: str) -> str:
    return str(DATA_DIR / name)


SUITES: dict[str, Suite] = {
    suite.name: suite
    for suite in (
        Suite("train", {}, "the training family itself (the base preset and overrides), on evaluation seeds"),
        Suite("g40", {"graph": "g40"}, "the G40 stand-in (40 nodes, highly interlinked) instead of random LDS DAGs"),
        Suite(
            "gauss18",
            {"graph": _data("gauss18.txt"), "n_tasks": None},
            "the real 18-task Gaussian-elimination graph (gauss18.txt; the file sets the task count)",
            needs_data=True,
        ),
        Suite(
            "stg50",
            {"graph": _data("stg/rand0000_50.stg"), "n_tasks": None},
            "a real 50-task STG random graph (rand0000_50.stg)",
            needs_data=True,
        ),
        Suite("larger", {"n_agents": 20, "n_groups": 4, "n_tasks": 100}, "20 agents in 4 groups, 100 tasks"),
        Suite("maze40", {"maze_size": 40}, "40x40 mazes instead of 20x20"),
        Suite("centralized", {"control": "centralized"}, "the other control: centralized (trained decentralized)"),
    )
}


def reference_policy(control: str) -> str:
    """The CES reference under ``control``."""
    return f"ces-{control}"


def scripted_references() -> list[str]:
    """The reference policies registered in this version, in :data:`SCRIPTED_REFERENCES` order."""
    registry._load_builtin()
    return [name for name in SCRIPTED_REFERENCES if name in registry.POLICIES]


def reference_validation(config: CESConfig, seeds: Sequence[int]) -> dict[str, float]:
    """Mean ET of the CES reference of ``config``'s control and of the strong reference on ``seeds`` (validation
    numbers logged during training, in this process)."""
    means = {}
    names = [reference_policy(config.control), STRONG_REFERENCE]
    for name in dict.fromkeys(names):
        if name not in scripted_references():
            continue
        cls = policy_class(name)
        clean = config.to_dict()
        clean.update(cls.required_config)
        cfg = make_config(None, **clean)
        means[name] = float(np.mean([run_episode(cls(), cfg, seed).metric("ET") for seed in seeds]))
    return means


# ------------------------------------------------------------------------------------------------------ running
@dataclass
class SuiteResult:
    """The rows of one suite and the paired comparisons of each policy with the references."""

    suite: Suite
    rows: list[dict]
    policies: list[str]
    reference: str
    comparisons: dict[str, dict[str, Any]] = field(default_factory=dict)


def _policy_folder(name: str) -> str:
    """A folder name for a policy's rows; a learned one carries a hash of its checkpoint's bytes."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")
    if is_learned_name(name):
        checkpoint = learned_policy_class(name).checkpoint
        digest = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()[:10]
        slug = f"{slug[-60:]}-{digest}"
    return slug


def _jobs_for(policy: str, preset: str | None, overrides: dict[str, Any], seeds: range):
    """Jobs of one policy; a policy bound to a control plays its own control on the same instances."""
    required = policy_class(policy).required_config
    own = {k: v for k, v in overrides.items() if k not in required}
    return make_jobs([policy], preset, seeds, own)


def evaluate_suites(
    learned: Sequence[str],
    suites: Sequence[str],
    *,
    seeds: int,
    out_dir: str | Path,
    workers: int | None = None,
    base_preset: str | None = "small",
    base_overrides: dict[str, Any] | None = None,
    references: Sequence[str] | None = None,
    progress: bool = True,
) -> dict[str, SuiteResult]:
    """Play ``learned`` and the ``references`` (default: every registered :data:`SCRIPTED_REFERENCES`) on seeds
    0..seeds-1 of each suite; returns each suite's rows and paired comparisons."""
    if not 0 < seeds <= EVAL_SEED_LIMIT:
        raise ValueError(f"seeds must be in 1..{EVAL_SEED_LIMIT} (evaluation seeds are 0..N-1), got {seeds}")
    base = {"control": "decentralized"} if base_overrides is None else dict(base_overrides)
    references = list(scripted_references() if references is None else references)
    results: dict[str, SuiteResult] = {}
    for suite_name in suites:
        if suite_name not in SUITES:
            raise ValueError(f"unknown suite {suite_name!r}; suites: {', '.join(SUITES)}")
        suite = SUITES[suite_name]
        if suite.needs_data and not DATA_DIR.is_dir():
            print(f"skipping suite {suite_name}: no data folder {DATA_DIR}", file=sys.stderr)
            continue
        overrides = {**base, **suite.overrides}
        config = make_config(base_preset, **overrides)
        reference = reference_policy(config.control)
        policies = list(dict.fromkeys([*learned, *references]))
        rows: list[dict] = []
        for policy in policies:
            jobs = _jobs_for(policy, base_preset, overrides, range(seeds))
            folder = Path(out_dir) / suite_name / _policy_folder(policy)
            rows += run_jobs(jobs, workers=workers, out_dir=folder, progress=progress)
        result = SuiteResult(suite, rows, policies, reference)
        for policy in policies:
            result.comparisons[policy] = compare(rows, policy, [reference, STRONG_REFERENCE])
        results[suite_name] = result
    return results


def paired_relative(rows: list[dict], policy: str, reference: str, metric: str = "ET") -> tuple[float, float, int]:
    """Mean and 95% CI half-width, in percent, of ``metric_policy / metric_reference - 1`` over the seeds both have."""
    mine = {r["seed"]: float(r[metric]) for r in rows if r["policy"] == policy}
    theirs = {r["seed"]: float(r[metric]) for r in rows if r["policy"] == reference}
    seeds = sorted(set(mine) & set(theirs))
    if not seeds:
        return math.nan, math.nan, 0
    diffs = [100.0 * (mine[s] / theirs[s] - 1.0) for s in seeds]
    mean, half = mean_ci(diffs)
    return mean, half, len(seeds)


def compare(rows: list[dict], policy: str, references: Sequence[str]) -> dict[str, Any]:
    """The policy's mean ET with its CI, and its paired % difference with each reference present in ``rows``."""
    ets = [float(r["ET"]) for r in rows if r["policy"] == policy]
    mean, half = mean_ci(ets)
    out: dict[str, Any] = {"ET": mean, "ET_ci": half, "seeds": len(ets)}
    out["truncated"] = sum(bool(r["truncated"]) for r in rows if r["policy"] == policy)
    out["conflicts"] = float(np.mean([r["conflicts"] for r in rows if r["policy"] == policy]))
    for reference in dict.fromkeys(references):
        if reference != policy and any(r["policy"] == reference for r in rows):
            pct, pct_half, n = paired_relative(rows, policy, reference)
            out[f"pct_vs_{reference}"] = pct
            out[f"pct_vs_{reference}_ci"] = pct_half
    return out


# ------------------------------------------------------------------------------------------------------ tables
def _pct(value: float, half: float) -> str:
    if not math.isfinite(value):
        return ""
    return f"{value:+.1f}% ± {half:.1f}"


def suite_table(result: SuiteResult) -> str:
    """Markdown: each policy's mean ET ± CI, its paired % difference with the CES reference and with the strong
    reference (negative = faster), mean conflicts, truncated episodes."""
    strong = STRONG_REFERENCE
    header = [
        "policy",
        "seeds",
        "ET",
        f"vs {result.reference} (paired)",
        f"vs {strong} (paired)",
        "conflicts",
        "trunc.",
    ]
    lines = []
    for policy in result.policies:
        c = result.comparisons[policy]
        lines.append(
            [
                policy,
                str(c["seeds"]),
                f"{c['ET']:.0f} ± {c['ET_ci']:.0f}",
                _pct(c.get(f"pct_vs_{result.reference}", math.nan), c.get(f"pct_vs_{result.reference}_ci", math.nan)),
                _pct(c.get(f"pct_vs_{strong}", math.nan), c.get(f"pct_vs_{strong}_ci", math.nan)),
                f"{c['conflicts']:.1f}",
                str(c["truncated"]),
            ]
        )
    rule = ["---"] + ["---:"] * (len(header) - 1)
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [header, rule, *lines])


def policy_summary(results: dict[str, SuiteResult], policy: str, others: Sequence[str] = ("heft",)) -> str:
    """Markdown: one line per suite for ``policy``: its mean ET, its paired % difference with the suite's CES
    reference, with the strong reference and with ``others``, the references' own difference with CES (for scale),
    and conflicts (policy / CES)."""
    header = ["set", "ET", "vs CES", f"vs {STRONG_REFERENCE}", *(f"vs {o}" for o in others)]
    header += [f"{STRONG_REFERENCE} vs CES", *(f"{o} vs CES" for o in others), "conflicts (policy / CES)"]
    lines = []
    for name, result in results.items():
        rows, reference = result.rows, result.reference
        if policy not in result.comparisons:
            continue
        mine = result.comparisons[policy]
        cells = [f"{name}", f"{mine['ET']:.0f} ± {mine['ET_ci']:.0f}"]
        for other in (reference, STRONG_REFERENCE, *others):
            cells.append(_pct(*paired_relative(rows, policy, other)[:2]))
        for other in (STRONG_REFERENCE, *others):
            cells.append(_pct(*paired_relative(rows, other, reference)[:2]))
        ces = result.comparisons.get(reference, {})
        cells.append(f"{mine['conflicts']:.1f} / {ces.get('conflicts', math.nan):.1f}")
        lines.append(cells)
    rule = ["---"] + ["---:"] * (len(header) - 1)
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [header, rule, *lines])


def print_suite_tables(results: dict[str, SuiteResult], full: bool = False) -> None:
    for name, result in results.items():
        print(f"\n### {name}: {result.suite.description}\n")
        print(suite_table(result))
        if full:
            print()
            print(summary_table(result.rows))


def markdown(results: dict[str, SuiteResult], seeds: int) -> str:
    parts = [
        f"Seeds 0..{seeds - 1} (evaluation seeds; training and validation never use them). ET: mean ± 95% CI. "
        "Paired columns: mean over seeds of ET_policy / ET_reference - 1, ± the 95% CI half-width (negative = "
        "faster than the reference)."
    ]
    learned = [p for p in next(iter(results.values())).policies if is_learned_name(p)] if results else []
    for policy in learned:
        parts.append(f"### {policy}: every set\n\n{policy_summary(results, policy)}")
    for name, result in results.items():
        parts.append(f"### {name}: {result.suite.description}\n\n{suite_table(result)}")
    return "\n\n".join(parts) + "\n"


# ------------------------------------------------------------------------------------------------------ command line
def main(argv: list[str] | None = None) -> dict[str, SuiteResult]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", required=True, help="learned policies FAMILY:PATH, comma-separated")
    parser.add_argument(
        "--suites", default=",".join(SUITES), help=f"comma-separated (default: all: {','.join(SUITES)})"
    )
    parser.add_argument("--seeds", type=int, default=100, help="evaluation seeds 0..N-1 (default 100)")
    parser.add_argument("--out", required=True, help="rows folder (resumable)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: CPU count)")
    parser.add_argument("--base-preset", default="small", help="preset of the training family (default small)")
    parser.add_argument(
        "--base-set", action="append", default=[], metavar="FIELD=VALUE", help="overrides of the training family"
    )
    parser.add_argument("--references", default=None, help="comma-separated scripted references (default: all)")
    parser.add_argument("--markdown", default=None, help="also write the tables to this markdown file")
    parser.add_argument("--full", action="store_true", help="also print the harness's full metric tables")
    args = parser.parse_args(argv)
    learned = [p.strip() for p in args.policy.split(",") if p.strip()]
    base = {"control": "decentralized", **parse_set(args.base_set)}
    references = None if args.references is None else [p.strip() for p in args.references.split(",") if p.strip()]
    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    results = evaluate_suites(
        learned,
        suites,
        seeds=args.seeds,
        out_dir=args.out,
        workers=args.workers,
        base_preset=args.base_preset,
        base_overrides=base,
        references=references,
    )
    print_suite_tables(results, full=args.full)
    if args.markdown:
        Path(args.markdown).write_text(markdown(results, args.seeds), encoding="utf-8")
        print(f"\ntables: {args.markdown}")
    return results


if __name__ == "__main__":
    main()

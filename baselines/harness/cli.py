"""ces-bench: run policies on the same seeds and report mean ± 95% CI; list policies and presets; reproduce.

    ces-bench run --policy NAME[,NAME...] --preset NAME [--set field=value ...] --seeds N --out DIR
                  [--workers W] [--backend local|ray] [--seed-offset S] [--no-progress] [--gantt]
    ces-bench list
    ces-bench reproduce --out DIR [--quick] [--workers W] [--profile NAME[,NAME]] [--set field=value ...]

"run" writes DIR/results.csv (one row per policy and seed) and DIR/rows/ (one file per finished episode: running
the same command again resumes an interrupted run and recomputes nothing that is finished).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile

from ces_baselines import registry
from ces_baselines.harness.results import DEFAULT_METRICS, RESULTS_FILE, summary_table
from ces_baselines.harness.runner import (
    BACKENDS,
    BackendUnavailableError,
    Job,
    RowStore,
    make_jobs,
    policy_class,
    run_jobs,
)
from ces_env.config import DEFAULT_PRESET, PRESETS, ConfigError, make_config
from ces_env.summary import parse_set

PROG = "ces-bench"


class UsageError(Exception):
    """A bad command line: reported as one line, never as a traceback."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print the usage and exit; we report one line instead
        raise UsageError(message)


MAX_EPISODES = 1_000_000
"""Episodes of one ``run`` (policies x seeds): their rows are kept in memory and in results.csv."""


def _positive_int(name: str, value: int | None, low: int = 1) -> None:
    if value is not None and value < low:
        raise UsageError(f"{name} must be >= {low}, got {value}")


def check_out_dir(flag: str, out: str) -> None:
    """Refuse, before any episode runs, an output folder that cannot be used: empty, a file, or not writable."""
    if not out.strip():
        raise UsageError(f"{flag}: give a folder name (got an empty string)")
    path = os.path.abspath(out)
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{flag} {out!r} is a file, not a folder")
    existing = path
    while not os.path.isdir(existing):  # the nearest folder that exists: where the new ones would be created
        existing = os.path.dirname(existing)
    try:  # a probe file (removed at once): catches permissions, read-only file systems and full disks alike
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise UsageError(f"{flag} {out!r}: cannot write in {existing!r} ({error.strerror or error})") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="{run,list,reproduce}", required=True)

    run = commands.add_parser("run", help="run policies on the same seeds, write results.csv, print the table")
    run.add_argument("--policy", required=True, metavar="NAME[,NAME...]", help="registered policies (ces-bench list)")
    run.add_argument(
        "--preset", default=DEFAULT_PRESET, help=f"one of: {', '.join(PRESETS)} (default {DEFAULT_PRESET})"
    )
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a config field (JSON value or bare string); repeatable",
    )
    run.add_argument(
        "--seeds", type=int, required=True, metavar="N", help="episodes per policy: seeds 0..N-1 (+offset)"
    )
    run.add_argument("--seed-offset", type=int, default=0, metavar="S", help="first seed (default 0)")
    run.add_argument("--out", required=True, metavar="DIR", help="output folder: results.csv and rows/ (resume)")
    run.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="W",
        help="parallel episodes (default: the CPU count; 1 runs in this process)",
    )
    run.add_argument("--backend", choices=BACKENDS, default="local", help="local process pool (default) or ray")
    run.add_argument("--no-progress", action="store_true", help="no progress bar (it is off anyway without a TTY)")
    run.add_argument(
        "--gantt", action="store_true", help="also save DIR/gantt-<policy>-seed<S>.png of the first seed (a traced run)"
    )
    run.set_defaults(func=_cmd_run)

    lst = commands.add_parser("list", help="the registered policies and the presets")
    lst.set_defaults(func=_cmd_list)

    # no -h of its own: --help and any other option go through to ces_baselines.reproduce.main
    rep = commands.add_parser(
        "reproduce", add_help=False, help="reproduce the paper's experiments (ces_baselines.reproduce; see its --help)"
    )
    # not required=True here: `reproduce --help` must reach reproduce's own help without --out
    rep.add_argument("--out", metavar="DIR", help="output folder (required; resumable)")
    rep.add_argument("--quick", action="store_true", help="a fast, reduced version")
    rep.add_argument("--workers", type=int, metavar="W", help="parallel episodes")
    rep.set_defaults(func=_cmd_reproduce)
    return parser


# --- run -------------------------------------------------------------------------------------------------------------


def policy_names(flag: str) -> list[str]:
    """The policies of ``--policy NAME[,NAME...]``, in order, without blanks or repeats."""
    return list(dict.fromkeys(p.strip() for p in flag.split(",") if p.strip()))


def _prepare_run(args) -> list[Job]:
    """Every check of the command line, then the jobs: a refusal never waits for a million jobs to be built."""
    policies = policy_names(args.policy)
    if not policies:
        raise UsageError("--policy: give at least one policy name")
    _positive_int("--seeds", args.seeds)
    _positive_int("--seed-offset", args.seed_offset, low=0)
    _positive_int("--workers", args.workers)
    if args.seeds * len(policies) > MAX_EPISODES:
        raise UsageError(
            f"--seeds {args.seeds} x {len(policies)} policies = {args.seeds * len(policies):,} episodes: a run holds "
            f"at most {MAX_EPISODES:,} (split it with --seed-offset into several --out folders)"
        )
    if args.preset not in PRESETS:
        raise ConfigError(f"unknown preset {args.preset!r}; presets: {', '.join(PRESETS)}")
    overrides = parse_set(args.set)
    make_config(args.preset, **overrides)  # unknown fields and invalid values, before the policies' requirements
    for policy in policies:
        policy_class(policy)
        Job(policy, args.preset, overrides, args.seed_offset).config()  # conflicts with the policy's required_config
    check_out_dir("--out", args.out)
    return make_jobs(policies, args.preset, range(args.seed_offset, args.seed_offset + args.seeds), overrides)


def held_out_seed_warnings(policies: list[str], first_seed: int, n_seeds: int) -> list[str]:
    """One line per learned policy (``FAMILY:PATH``) whose run reaches seeds at or above ``EVAL_SEED_LIMIT``, naming
    what of its sidecar's validation seeds and training range (``>= TRAIN_SEED_FLOOR``) the run plays: results there
    are not held out. A warning, not a refusal: measuring on training instances can be what the user wants."""
    from ces_baselines.learned import EVAL_SEED_LIMIT, TRAIN_SEED_FLOOR, is_learned_name, read_sidecar

    last = first_seed + n_seeds - 1
    if last < EVAL_SEED_LIMIT:
        return []
    warnings = []
    for policy in policies:
        if not is_learned_name(policy):
            continue
        validation = (read_sidecar(policy.partition(":")[2]).get("seeds") or {}).get("validation") or []
        overlaps = []
        if len(validation) == 2 and first_seed <= validation[1] and last >= validation[0]:
            overlaps.append(f"validation seeds {validation[0]}..{validation[1]}")
        if last >= TRAIN_SEED_FLOOR:
            overlaps.append(f"training range (>= {TRAIN_SEED_FLOOR:,})")
        played = f", which include its {' and '.join(overlaps)}" if overlaps else ""
        warnings.append(
            f"warning: {policy} plays seeds {first_seed}..{last}, not all below EVAL_SEED_LIMIT={EVAL_SEED_LIMIT:,} "
            f"(the held-out evaluation seeds){played}; choose --seed-offset/--seeds to stay below it"
        )
    return warnings


def _cmd_run(args, extra: list[str]) -> int:
    jobs = _prepare_run(args)
    for warning in held_out_seed_warnings(policy_names(args.policy), args.seed_offset, args.seeds):
        print(warning, file=sys.stderr)
    args.running = True  # from here on a ValueError is a failure of an episode: let its traceback show (but a
    # ConfigError is a scenario an episode refused, e.g. DPOP's group limit at reset: one line, the saved rows stay)
    try:
        rows = run_jobs(
            jobs, workers=args.workers, backend=args.backend, out_dir=args.out, progress=not args.no_progress
        )
    except KeyboardInterrupt:
        store = RowStore(args.out)
        done = len({job.key() for job in jobs if store.path(job.key()).exists()})
        print(
            f"{PROG}: interrupted; {done} of {len(jobs)} episodes are saved in {args.out}; run the same command "
            f"again to resume",
            file=sys.stderr,
        )
        return 130
    seeds = f"seeds {args.seed_offset}..{args.seed_offset + args.seeds - 1}"
    sets = f" with {' '.join(args.set)}" if args.set else ""
    print(f"preset {args.preset}{sets}; {seeds}; mean ± 95% CI (Student t over seeds)")
    print(summary_table(rows, group_by=("policy",), metrics=DEFAULT_METRICS))
    truncated = sum(bool(r["truncated"]) for r in rows)
    if truncated:
        print(f"warning: {truncated} of {len(rows)} episodes were truncated at max_ticks")
    print(f"results: {args.out.rstrip('/')}/{RESULTS_FILE} ({len(rows)} rows)")
    if args.gantt:
        _save_gantt_charts(jobs, args)
    return 0


def _save_gantt_charts(jobs: list[Job], args) -> None:
    """Replay each policy's first seed with tracing on and save its Gantt chart (same instance for every policy)."""
    from pathlib import Path

    from ces_env.plots import gantt_chart, traced_episode

    for policy in dict.fromkeys(job.policy for job in jobs):
        job = next(j for j in jobs if j.policy == policy)
        sim = traced_episode(policy_class(policy)(), job.config(), job.seed)
        path = Path(args.out) / f"gantt-{registry.policy_file_stem(policy)}-seed{job.seed}.png"
        gantt_chart(sim, title=f"{policy} on {args.preset}, seed {job.seed}", path=path)
        print(f"gantt chart: {path}")


# --- list ------------------------------------------------------------------------------------------------------------


def _cmd_list(args, extra: list[str]) -> int:
    registry._load_builtin()
    print("policies:")
    names = sorted(registry.POLICIES)
    width = max((len(n) for n in names), default=0)
    for name in names:
        cls = registry.POLICIES[name]
        required = ", ".join(f"{k}={v!r}" for k, v in cls.required_config.items())
        requires = f"  [requires {required}]" if required else ""
        print(f"  {name:<{width}}  {getattr(cls, 'description', '')}{requires}")
    print("presets:")
    width = max(len(n) for n in PRESETS)
    for name, overrides in PRESETS.items():
        print(f"  {name:<{width}}  {', '.join(f'{k}={v!r}' for k, v in overrides.items())}")
    return 0


# --- reproduce -------------------------------------------------------------------------------------------------------


def _cmd_reproduce(args, extra: list[str]) -> int:
    try:
        module = importlib.import_module("ces_baselines.reproduce")
    except ModuleNotFoundError as error:
        if error.name != "ces_baselines.reproduce":
            raise
        raise UsageError(
            "reproduce is not available in this version (the module ces_baselines.reproduce is missing)"
        ) from None
    if not callable(getattr(module, "main", None)):
        raise UsageError("reproduce is not available in this version (ces_baselines.reproduce has no main())")
    forward = ["--quick"] if args.quick else []
    if args.out is not None:
        check_out_dir("--out", args.out)
        forward += ["--out", args.out]
    if args.workers is not None:
        forward += ["--workers", str(args.workers)]
    code = module.main(forward + list(extra))
    return 0 if code is None else int(code)


# --- entry point -----------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """The ``ces-bench`` command. Returns the exit code; a usage or config error is one line on stderr."""
    parser = build_parser()
    args = None
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and args.command != "reproduce":
            raise UsageError(f"unrecognized arguments: {' '.join(extra)}")
        return args.func(args, extra)
    except (UsageError, ConfigError, ValueError, BackendUnavailableError) as error:
        if getattr(args, "running", False) and not isinstance(error, (BackendUnavailableError, ConfigError)):
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2
    except SystemExit as exit_:  # --help
        return exit_.code if isinstance(exit_.code, int) else 0


if __name__ == "__main__":
    sys.exit(main())

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
import sys
from collections.abc import Sequence
from pathlib import Path

# The report's parts live in the package beside this script; the test suite loads this file by path, so the folder is
# not on sys.path by itself there.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from mechanism_comparison.report import write_report  # noqa: E402


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

"""The README's "Scripted references" table from the two ``ces-bench run`` results committed beside this file.

    python reports/scripted/table.py [CSV ...]   (default: centralized.csv and decentralized.csv here)

Per control: each policy's mean ET with its 95% CI over seeds, and its paired difference (same seeds: common random
numbers) with the CES policy of that control and with ``random``, each with its 95% CI
(``ces_baselines.reproduce.stats.compare``). A difference below zero means a shorter ET.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ces_baselines.harness.results import read_results
from ces_baselines.reproduce.stats import Comparison, compare
from ces_env.summary import mean_ci

HERE = Path(__file__).resolve().parent
DEFAULT_FILES = (HERE / "centralized.csv", HERE / "decentralized.csv")


def ets_by_policy(rows: list[dict]) -> dict[str, dict[int, float]]:
    """policy -> seed -> ET, refusing truncated episodes (their ET is the truncation time, not a makespan)."""
    ets: dict[str, dict[int, float]] = {}
    for row in rows:
        if row["truncated"]:
            raise ValueError(f"policy {row['policy']!r}, seed {row['seed']}: the episode was truncated")
        ets.setdefault(row["policy"], {})[int(row["seed"])] = float(row["ET"])
    return ets


def paired(a: dict[int, float], b: dict[int, float]) -> Comparison:
    if a.keys() != b.keys():
        raise ValueError("paired comparison over different seeds")
    seeds = sorted(a)
    return compare([a[s] for s in seeds], [b[s] for s in seeds])


def difference(c: Comparison) -> str:
    return f"{c.diff:+.0f} [{c.low:+.0f}, {c.high:+.0f}] ({100 * c.diff / c.mean_b:+.1f}%)"


def table(files: list[Path]) -> str:
    lines = [
        "| control | policy | seeds | ET, mean ± 95% CI | vs CES, paired (95% CI) | vs random, paired (95% CI) |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for path in files:
        rows = read_results(path)
        (control,) = {row["control"] for row in rows}
        ets = ets_by_policy(rows)
        ces = ets[f"ces-{control}"]
        for policy, by_seed in ets.items():
            mean, half = mean_ci(np.array(list(by_seed.values())))
            vs_ces = "" if by_seed is ces else difference(paired(by_seed, ces))
            vs_random = "" if policy == "random" else difference(paired(by_seed, ets["random"]))
            lines.append(
                f"| {control} | `{policy}` | {len(by_seed)} | {mean:.0f} ± {half:.0f} | {vs_ces} | {vs_random} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table([Path(p) for p in sys.argv[1:]] or list(DEFAULT_FILES)))

"""``python -m ces_env``: run the reward-first policy on a scenario under both controls and print the metrics table.

The small embedded default needs no file and runs in seconds; ``--preset`` and ``--set field=value`` choose others.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ces_env.config import CONTROLS, DEFAULT_PRESET, PRESETS, CESConfig, ConfigError, make_config
from ces_env.core.metrics import METRIC_KEYS, METRIC_UNITS
from ces_env.policies import RewardFirstPolicy
from ces_env.runner import run_episode
from ces_env.summary import format_mean_ci, mean_ci, parse_set

MAX_SEEDS = 100_000


def episode_metrics(config: CESConfig, seed: int) -> dict[str, Any]:
    """The final metrics of one episode of the reward-first policy."""
    metrics = run_episode(RewardFirstPolicy(), config, seed).metrics
    assert metrics is not None  # without max_steps the episode always ends
    return metrics


def _cell(values: list[float]) -> str:
    """A table cell: ``mean ± half-width`` over seeds, or the value itself for one seed."""
    if len(values) == 1:
        return f"{values[0]:,.4g}"
    return format_mean_ci(*mean_ci(values))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ces_env", description=__doc__)
    parser.add_argument("--preset", default=DEFAULT_PRESET, help=f"one of: {', '.join(PRESETS)}")
    parser.add_argument("--seeds", type=int, default=5, help="episodes per control (seeds 0..N-1)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a config field")
    args = parser.parse_args(argv)
    if not 1 <= args.seeds <= MAX_SEEDS:
        parser.error(f"--seeds must be between 1 and {MAX_SEEDS}, got {args.seeds}")
    try:
        overrides = parse_set(args.set)
        if "control" in overrides:
            raise ConfigError("--set control=...: this job runs every control; drop the override")
        configs = {control: make_config(args.preset, **{**overrides, "control": control}) for control in CONTROLS}
    except (ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    scalar_keys = [k for k in METRIC_KEYS if not k.endswith("_g")]
    results = {control: [episode_metrics(cfg, seed) for seed in range(args.seeds)] for control, cfg in configs.items()}
    cfg = configs["centralized"]
    # one seed has no interval: its value alone, not "± n/a" in every cell
    what = "1 seed (one episode: no confidence interval)" if args.seeds == 1 else f"{args.seeds} seeds, mean ± 95% CI"
    print(
        f"preset {args.preset}: {cfg.n_agents} agents, {cfg.n_groups} groups, {cfg.n_tasks} tasks, graph "
        f"{cfg.graph}, {cfg.partition}, mazes {cfg.maze_shape[0]}x{cfg.maze_shape[1]}; reward-first policy, {what}"
    )
    rows = [[key, METRIC_UNITS[key]] + [_cell([r[key] for r in results[c]]) for c in CONTROLS] for key in scalar_keys]
    header = ["metric", "unit", *CONTROLS]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(f"{cell:<{w}}" if i < 2 else f"{cell:>{w}}" for i, (cell, w) in enumerate(zip(row, widths))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

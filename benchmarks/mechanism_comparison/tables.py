"""The report's numbers as tables: the metrics per policy (mean ± 95% CI, paired ET difference to ces-decentralized),
and per scale sweep the messages and ET tables with the per-seed log-log fit of messages on agents (:class:`ScaleFit`);
plus the small queries of rows the glossary table and the reading share."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ces_baselines.reproduce.stats import compare
from ces_env.summary import format_mean_ci, mean_ci

from .design import ARCHITECTURE, BASELINE, METRICS, POLICIES, Scale


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


def mean_of(results: dict[str, list[dict] | str], policy: str, metric: str) -> float:
    rows = results[policy]
    return math.nan if isinstance(rows, str) else float(column(rows, metric).mean())


def first_refused_group(by_scale: dict[Scale, dict[str, list[dict] | str]], policy: str) -> int | None:
    """Agents per group at the first point of a sweep that ``policy`` refuses (None if it refuses none)."""
    return next((s.agents // s.groups for s in by_scale if isinstance(by_scale[s][policy], str)), None)


def size_sweep_rows(by_scale: dict[Scale, dict[str, list[dict] | str]], policy: str) -> list[list[dict]]:
    """The rows of each point of a sweep that ``policy`` played (the points it refused left out), in sweep order."""
    return [rows for s in by_scale if isinstance(rows := by_scale[s][policy], list)]

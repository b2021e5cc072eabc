"""The report section an experiment writes, and the table, column and verdict helpers its analysis shares."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ces_baselines.reproduce.stats import compare, fmt, less_verdict


@dataclass
class Section:
    """One experiment's part of the report: markdown body, verdicts per claim, plot files and explanations."""

    title: str
    body: list[str] = field(default_factory=list)
    verdicts: list[tuple[str, bool, str]] = field(default_factory=list)  # (claim, holds, measured text)
    plots: list[str] = field(default_factory=list)

    why: list[str] = field(default_factory=list)  # explanations from the mechanics

    def claim(self, claim: str, holds: bool, text: str) -> None:
        self.verdicts.append((claim, holds, text))

    def explain(self, text: str) -> None:
        self.why.append(text)


def col(rows: list[dict], key: str) -> list[float]:
    return [float(r[key]) for r in rows]


def mean_of_lists(rows: list[dict], key: str) -> list[float]:
    """Per row, the mean of a per-group list metric (e.g. ET_g)."""
    return [float(np.mean(r[key])) for r in rows]


def table(header: list[str], lines: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return out


def trend_verdict(xs: list, samples: list[list[float]], what: str, falling: bool = True) -> tuple[bool, str]:
    """A 'falls (or grows) as x grows' claim: the last point is significantly below (above) the first, and the means
    never move significantly the other way between neighbours."""
    if falling:
        holds_end, text = less_verdict(samples[-1], samples[0], f"{what} at {xs[-1]} vs {xs[0]}")
    else:
        holds_end, text = less_verdict(samples[0], samples[-1], f"{what} at {xs[0]} vs {xs[-1]}")
    steps = [compare(samples[i + 1], samples[i]) for i in range(len(xs) - 1)]
    against = [f"{xs[i]}->{xs[i + 1]}" for i, step in enumerate(steps) if (step.low > 0 if falling else step.high < 0)]
    if against:
        return False, text + f"; but it {'rises' if falling else 'falls'} significantly at {', '.join(against)}"
    return holds_end, text


def explain_groups(sec: Section, results, groups) -> None:
    """Why ET moves (or not) with the number of groups: knowledge is shared only within a group, so every group that
    holds a task of an inference class explores that class itself; and the exploring critical path bounds ET."""
    first, last = str(groups[0]), str(groups[-1])
    sec.explain(
        f"Explorations per episode go from {fmt(col(results[first], 'explorations'))} with {groups[0]} group(s) to "
        f"{fmt(col(results[last], 'explorations'))} with {groups[-1]}: knowledge is shared only inside a group "
        f"(Theorem 3.1), so splitting the agents makes every group explore the inference classes it holds on its own, "
        f"and replays of known solutions (cheap) turn into explorations (expensive). Against that, more groups mean "
        f"more controllers serving in parallel: controller utilisation goes from "
        f"{fmt(col(results[first], 'controller_utilization'))} to {fmt(col(results[last], 'controller_utilization'))}. "
        f"makespan/LB stays far above 1 because the bound assumes every solution is already known; the chain of "
        f"explorations along the DAG's critical path is what ET mostly measures here."
    )

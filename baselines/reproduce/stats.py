"""Statistics of the reproduction: confidence intervals over seeds and the verdict of a directional claim."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ces_env.summary import mean_ci


def fmt(values) -> str:
    """``mean ± half-width`` of the 95% CI over seeds."""
    mean, half = mean_ci(values)
    if np.isnan(half):
        return f"{mean:.4g}"
    return f"{mean:.4g} ± {half:.2g}"


@dataclass(frozen=True)
class Comparison:
    """Difference of means ``a - b`` with its 95% confidence interval."""

    mean_a: float
    mean_b: float
    diff: float
    low: float
    high: float

    @property
    def text(self) -> str:
        return (
            f"{self.mean_a:.4g} vs {self.mean_b:.4g} "
            f"(difference {self.diff:+.4g}, 95% CI [{self.low:+.4g}, {self.high:+.4g}])"
        )


def compare(a, b, paired: bool = True) -> Comparison:
    """``a - b`` with a 95% CI. Paired by default: the reproduction runs every condition on the same seeds, and
    explorations draw common random numbers per task, so the per-seed differences carry far less noise than the
    conditions themselves (a paired t interval); unpaired (Welch) when the samples differ in size."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    diff = a.mean() - b.mean()
    if paired and len(a) == len(b) and len(a) > 1:
        d = a - b
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        return Comparison(a.mean(), b.mean(), diff, diff - half, diff + half)
    va = a.var(ddof=1) / len(a) if len(a) > 1 else 0.0
    vb = b.var(ddof=1) / len(b) if len(b) > 1 else 0.0
    se = np.sqrt(va + vb)
    if se == 0:
        return Comparison(a.mean(), b.mean(), diff, diff, diff)
    dof = (va + vb) ** 2 / ((va**2 / max(1, len(a) - 1)) + (vb**2 / max(1, len(b) - 1)))
    half = stats.t.ppf(0.975, dof) * se
    return Comparison(a.mean(), b.mean(), diff, diff - half, diff + half)


def less_verdict(a, b, what: str) -> tuple[bool, str]:
    """Does ``a`` come out lower than ``b``? Holds only if the whole 95% CI of the difference is below zero."""
    if min(len(a), len(b)) < 2:
        return False, f"cannot be decided: {what} needs at least two seeds for a confidence interval"
    c = compare(a, b)
    if c.high < 0:
        return True, f"holds: {what}: {c.text}"
    if c.low > 0:
        return False, f"does not hold (the opposite is measured): {what}: {c.text}"
    return False, f"does not hold (no significant difference): {what}: {c.text}"

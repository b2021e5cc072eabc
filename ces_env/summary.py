"""Small shared helpers to summarise runs: confidence intervals over seeds and ``field=value`` overrides."""

from __future__ import annotations

import json
import math

import numpy as np
from scipy import stats

from ces_env.config import ConfigError


def mean_ci(values) -> tuple[float, float]:
    """Mean and half-width of the 95% Student-t confidence interval (nan half-width for fewer than 2 values)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float(values.mean()), float("nan")
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean()), float(half)


def format_mean_ci(mean: float, half: float) -> str:
    """``mean ± half`` with both to the same decimals: two significant digits of the half-width (so that columns
    align and no digit claims more precision than the interval has); ``n/a`` for the half-width of one value."""
    if not math.isfinite(half):
        return f"{mean:.4g} ± n/a"
    scale = half if half > 0 else abs(mean)
    decimals = 0 if scale == 0 else max(0, min(6, 1 - math.floor(math.log10(scale))))
    return f"{mean:,.{decimals}f} ± {half:,.{decimals}f}"


def parse_set(items: list[str]) -> dict:
    """``["field=value", ...]`` to overrides; values are read as JSON where they parse (numbers, lists, true/false),
    else kept as strings (``graph=g18``)."""
    overrides = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected field=value")
        try:
            overrides[key] = json.loads(raw)
        except json.JSONDecodeError:
            overrides[key] = raw
    return overrides

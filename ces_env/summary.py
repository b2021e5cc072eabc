"""Small shared helpers to summarise runs: confidence intervals over seeds and ``field=value`` overrides."""

from __future__ import annotations

import json

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

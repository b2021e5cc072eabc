"""Plotting helpers of the reproduction (matplotlib, Agg backend, imported only when a plot is drawn)."""

from __future__ import annotations

import math
from pathlib import Path

from ces_baselines.reproduce.analysis import col
from ces_env.summary import mean_ci


def new_figure(width: float = 6.0, height: float = 4.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    return fig, ax


def save(fig, out: Path, name: str) -> str:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(out / name)
    plt.close(fig)
    return name


def errorbar(ax, xs, groups: list[list[float]], label: str, **kwargs) -> None:
    stats_ = [mean_ci(g) for g in groups]
    ax.errorbar(
        xs,
        [s[0] for s in stats_],
        yerr=[0 if math.isnan(s[1]) else s[1] for s in stats_],
        label=label,
        capsize=3,
        marker="o",
        **kwargs,
    )


def line_plot(xs, series: dict[str, list[list[float]]], xlabel: str, ylabel: str, out: Path, name: str) -> str:
    """One line per series: mean over seeds with its 95% CI at each x."""
    fig, ax = new_figure()
    for label, samples in series.items():
        errorbar(ax, xs, samples, label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return save(fig, out, name)


def plot_et_against_paper(results, groups, paper_et: list[float], xlabel: str, out: Path, name: str) -> str:
    """Our ET (ticks, with 95% CI) and the paper's ET (seconds, right axis) against the number of groups."""
    fig, ax = new_figure()
    errorbar(ax, groups, [col(results[str(l)], "ET") for l in groups], "ours: ET (ticks)")
    ax2 = ax.twinx()
    ax2.plot(groups, paper_et, "k--", marker="s", label="paper: ET (s)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("ET (ticks)")
    ax2.set_ylabel("paper ET (s)")
    ax.legend(loc="upper right")
    ax2.legend(loc="center right")
    return save(fig, out, name)

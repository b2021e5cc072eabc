"""The report's figure: messages per episode against agents, log-log, one panel per scale sweep."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .design import ARCHITECTURE, POLICIES, Scale
from .tables import column


def plot_messages(sweeps: dict[str, dict[Scale, dict[str, list[dict] | str]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sweeps), figsize=(6.5 * len(sweeps), 5.5), sharey=True)
    cmap = plt.get_cmap("tab20")
    for ax, (name, by_scale) in zip(np.atleast_1d(axes), sweeps.items(), strict=True):
        for i, policy in enumerate(POLICIES):
            points = [
                (s.agents, column(rows, "messages").mean())
                for s in by_scale
                if isinstance(rows := by_scale[s][policy], list)
            ]
            if points:
                x, y = zip(*points, strict=True)
                style = "--" if ARCHITECTURE[policy] == "central controller" else "-"
                ax.plot(x, y, style, marker="o", ms=3, color=cmap(i % 20), label=policy)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("agents (tasks = 4 x agents)")
        ax.set_title(name)
        ax.grid(True, which="both", alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("messages per episode (mean over seeds)")
    np.atleast_1d(axes)[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

"""The sensitivity study: where Figure 2's crossover between the controls lies against the controller's service
time and the claim latency (the only experiment that varies protocol costs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ces_baselines.harness.runner import Job
from ces_baselines.reproduce.analysis import Section, col, table
from ces_baselines.reproduce.figures import FIG2_SCENARIO, crossover
from ces_baselines.reproduce.plots import errorbar, new_figure, save
from ces_baselines.reproduce.scenario import CENTRALIZED, DECENTRALIZED, PAPER_SERVICE, Scale, make_job, seeds
from ces_baselines.reproduce.stats import compare
from ces_env.config import CESConfig

UNIT_40 = 40 * 40 - 1
"""The exploration unit of the reproduction's 40x40 mazes, in ticks: the latency sweep is given in its ticks."""


# ---------------------------------------------------------------------------------------------------------- sensitivity
def plan_sensitivity(scale: Scale) -> dict[str, list[Job]]:
    plan = {}
    for r in scale.sensitivity_ratios:
        for m in scale.fig2_task_counts:
            plan[f"ratio/{r}/{m}"] = [
                make_job(scale, CENTRALIZED, s, n_tasks=m, controller_ratio=r, **FIG2_SCENARIO) for s in seeds(scale)
            ]
    for latency in scale.sensitivity_latency:
        for m in scale.fig2_task_counts:
            plan[f"latency/{latency}/{m}"] = [
                make_job(scale, DECENTRALIZED, s, n_tasks=m, claim_ratio=latency / UNIT_40, **FIG2_SCENARIO)
                for s in seeds(scale)
            ]
    return plan


def analyze_sensitivity(results, out: Path, scale: Scale) -> Section:
    sec = Section(
        "Sensitivity: where the centralized/decentralized crossover of Figure 2 lies, against the "
        "controller's service time and the claim latency (the only experiment that varies protocol costs)"
    )
    counts = list(scale.fig2_task_counts)
    ratios = list(scale.sensitivity_ratios)
    lines = []
    for r in ratios:
        cent = [col(results[f"ratio/{r}/{m}"], "ET") for m in counts]
        line = [f"{r:.4g}"]
        for latency in scale.sensitivity_latency:
            dec = [col(results[f"latency/{latency}/{m}"], "ET") for m in counts]
            _, first_dec = crossover(counts, cent, dec)
            dec_wins = sum(compare(d, cc).high < 0 for cc, d in zip(cent, dec))
            cent_wins = sum(compare(cc, d).high < 0 for cc, d in zip(cent, dec))
            line.append(f"{first_dec if first_dec is not None else '—'} (D {dec_wins}, C {cent_wins})")
        lines.append(line)
    sec.body.append(
        "Rows: the controller's cost per task (assign + validate, split 1:2) as a fraction of one maze exploration "
        f"(about one task's work): 0, the default's 6 ticks at 40x40 (0.00375), the paper profile's "
        f"({PAPER_SERVICE:.4f}) and up to 0.4. Columns: the claim latency in ticks of a 40x40 maze (scaled to the "
        "maze). Cell: the task count from which decentralized is significantly faster at every larger count "
        "('—': never), then how many task counts each control wins significantly (D, C)."
    )
    sec.body += table(
        ["controller cost / exploration"] + [f"claim latency {t}" for t in scale.sensitivity_latency], lines
    )
    # the plot: the relative ET difference (decentralized - centralized) / centralized against the task count, paired
    # per seed; one panel varies the controller's cost (claim latency 3), the other the claim latency (controller
    # at the profile's own cost). A line crossing zero from above is the Figure 2 crossover.
    default = CESConfig()
    own_ratio = PAPER_SERVICE if scale.profile == "paper" else 0.00375
    fig, _ = new_figure(10, 4)
    fig.clf()
    panels = (
        (
            "controller cost (assign + validate)",
            scale.sensitivity_ratios,
            lambda r: (r, default.claim_latency_ticks),
            lambda r: f"controller {r:.3g}",
        ),
        ("claim latency", scale.sensitivity_latency, lambda t: (own_ratio, t), lambda t: f"latency {t}"),
    )
    for index, (name, values, cell, label) in enumerate(panels):
        ax = fig.add_subplot(1, 2, index + 1)
        for value in values:
            c, latency = cell(value)
            if c not in scale.sensitivity_ratios or latency not in scale.sensitivity_latency:
                continue
            rel = [
                100
                * (
                    np.array(col(results[f"latency/{latency}/{m}"], "ET"))
                    / np.array(col(results[f"ratio/{c}/{m}"], "ET"))
                    - 1
                )
                for m in counts
            ]
            errorbar(ax, counts, rel, label(value))
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xlabel("tasks")
        ax.set_ylabel("ET decentralized vs centralized (%)")
        ax.set_title(f"varying the {name}")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    sec.plots.append(save(fig, out, "sensitivity.png"))
    sec.body.append("")
    sec.body.append(
        "The plot shows, paired per seed, how much longer (above 0) or shorter (below 0) decentralized "
        "control takes than centralized, against the task count: left, for each controller cost at claim "
        "latency 3; right, for each claim latency at the profile's own controller cost."
    )
    sec.explain(
        "A longer claim latency delays every decentralized assignment and makes more claims overlap; a slower "
        "controller makes every centralized assignment and validation queue behind the others, and the queue "
        "is longer the more tasks wait. Decentralized control wins only where the controller's service time "
        "is large against the claim latency; with this scenario's task durations (hundreds of ticks), the "
        "differences stay within a few percent either way, and the crossover cell moves erratically where "
        "the two controls are within noise of each other."
    )
    return sec

"""Learning curves: ET against decisions and agent-steps, from the ``curve.csv`` that the training scripts write.

    python train/plot_curves.py runs/ppo_shared_small_decentralized_s1/curve.csv --out reports/learned_curve.png \\
        --reference ces-decentralized=1505 --reference knowledge-aware=1294

Training episodes (sampled actions) are drawn as a rolling mean over about ``--window`` episodes (over iterations
holding as many for rllib_ppo.py's curve, which has one row per iteration); greedy validation points
(on the validation seeds) as markers. ``--reference NAME=ET`` draws a scripted policy's mean ET on the same validation
seeds as a horizontal line (the sidecar's ``training.validation_references`` holds them).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np


def read_curve(path: str | Path) -> dict[str, list[dict[str, float]]]:
    """Rows of a curve.csv by kind ("train", "validation"), numeric columns as floats."""
    out: dict[str, list[dict[str, float]]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            values = {k: float(v) for k, v in row.items() if k != "kind" and v not in ("", None)}
            out.setdefault(row["kind"], []).append(values)
    return out


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window:
        window = max(1, len(values))
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def rows_for_episodes(train: list[dict[str, float]], window: int) -> int:
    """Rows that hold about ``window`` episodes: ppo_shared.py and ppo_graph.py write one row per episode,
    rllib_ppo.py one per iteration (the mean ET of its ~20 episodes), whose 56 rows would otherwise be averaged into
    a single point."""
    episodes = np.array([r.get("episodes", np.nan) for r in train])
    per_row = np.nanmean(np.diff(episodes)) if len(episodes) > 1 and np.isfinite(episodes).all() else 1.0
    return max(1, round(window / max(float(per_row), 1.0)))


X_LABELS = {"decisions": "decisions (learner steps)", "agent_steps": "agent-steps"}


def plot(
    curves: dict[str, Path],
    out: Path,
    references: dict[str, float],
    window: int,
    xs: list[str],
    ymax: float | None = None,
) -> None:
    """One panel per x axis in ``xs`` (``decisions``, ``agent_steps``), side by side. With ``ymax``, validation
    points above it are drawn as triangles on the top edge (early greedy policies can be many times slower)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(xs), figsize=(6.5 * len(xs) + 3.5, 4.5), squeeze=False)
    for ax, x in zip(axes[0], xs):
        for i, (label, path) in enumerate(curves.items()):
            data = read_curve(path)
            color = f"C{i}"
            train = data.get("train", [])
            if train:
                steps = np.array([r[x] for r in train])
                smooth = rolling_mean(np.array([r["ET"] for r in train]), rows_for_episodes(train, window))
                ax.plot(steps[len(steps) - len(smooth) :], smooth, color=color, alpha=0.5, label=f"{label}: training")
            validation = data.get("validation", [])
            if validation:
                vx = np.array([r[x] for r in validation])
                vy = np.array([r["ET"] for r in validation])
                above = vy > ymax if ymax is not None else np.zeros(len(vy), dtype=bool)
                shown = np.where(above, ymax, vy) if ymax is not None else vy
                ax.plot(vx, shown, "-", color=color)
                ax.plot(vx[~above], vy[~above], "o", markersize=3, color=color, label=f"{label}: greedy, validation")
                if above.any():
                    ax.plot(vx[above], shown[above], "^", color=color, label=f"{label}: greedy, off the axis")
        for j, (name, value) in enumerate(references.items()):
            ax.axhline(value, color=f"C{len(curves) + j}", linestyle="--", label=f"{name} (validation seeds)")
        if ymax is not None:
            ax.set_ylim(top=ymax)
        ax.set_xlabel(X_LABELS[x])
        ax.set_ylabel("ET (ticks)")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # outside: curves stay visible
    fig.suptitle("ET against training experience (training: rolling mean of sampled episodes)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("curves", nargs="+", help="curve.csv files, optionally LABEL=PATH")
    parser.add_argument("--out", required=True, help="PNG file")
    parser.add_argument("--reference", action="append", default=[], metavar="NAME=ET", help="a horizontal line")
    parser.add_argument("--sidecar", default=None, help="read the references from this checkpoint sidecar")
    parser.add_argument("--ymax", type=float, default=None, help="top of the ET axis (points above: triangles)")
    parser.add_argument("--window", type=int, default=200, help="rolling mean over this many training episodes")
    parser.add_argument(
        "--x", default="decisions,agent_steps", help="x axes, comma-separated: decisions, agent_steps (one panel each)"
    )
    args = parser.parse_args(argv)
    curves = {}
    for item in args.curves:
        label, sep, path = item.partition("=")
        curves[label if sep else Path(item).parent.name] = Path(path if sep else item)
    references = {}
    if args.sidecar:
        references.update(json.loads(Path(args.sidecar).read_text())["training"]["validation_references"])
    for item in args.reference:
        name, _, value = item.partition("=")
        references[name] = float(value)
    xs = [x.strip() for x in args.x.split(",") if x.strip()]
    unknown = [x for x in xs if x not in X_LABELS]
    if unknown or not xs:
        parser.error(f"--x: unknown axis {unknown}; choose from {', '.join(X_LABELS)}")
    plot(curves, Path(args.out), references, args.window, xs, args.ymax)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Learning curves: ET against decisions and agent-steps, from the ``curve.csv`` that the training scripts write.

    python train/plot_curves.py runs/ppo_shared_small_decentralized_s1/curve.csv --out reports/learned_curve.png \\
        --reference ces-decentralized=1505 --reference knowledge-aware=1294

Training episodes (sampled actions) are drawn as a rolling mean over ``--window`` episodes; greedy validation points
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


def plot(curves: dict[str, Path], out: Path, references: dict[str, float], window: int, x: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (label, path) in enumerate(curves.items()):
        data = read_curve(path)
        color = f"C{i}"
        train = data.get("train", [])
        if train:
            xs = np.array([r[x] for r in train])
            ets = np.array([r["ET"] for r in train])
            smooth = rolling_mean(ets, window)
            ax.plot(xs[len(xs) - len(smooth) :], smooth, color=color, alpha=0.5, label=f"{label}: training episodes")
        validation = data.get("validation", [])
        if validation:
            vx = [r[x] for r in validation]
            vy = [r["ET"] for r in validation]
            ax.plot(vx, vy, "o-", color=color, label=f"{label}: greedy, validation seeds")
    for j, (name, value) in enumerate(references.items()):
        ax.axhline(value, color=f"C{len(curves) + j}", linestyle="--", label=f"{name} (validation seeds)")
    ax.set_xlabel({"decisions": "decisions (learner steps)", "agent_steps": "agent-steps"}[x])
    ax.set_ylabel("ET (ticks)")
    ax.set_title("Learning curve: ET against training experience")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("curves", nargs="+", help="curve.csv files, optionally LABEL=PATH")
    parser.add_argument("--out", required=True, help="PNG file")
    parser.add_argument("--reference", action="append", default=[], metavar="NAME=ET", help="a horizontal line")
    parser.add_argument("--sidecar", default=None, help="read the references from this checkpoint sidecar")
    parser.add_argument("--window", type=int, default=200, help="rolling mean over this many training episodes")
    parser.add_argument("--x", choices=("decisions", "agent_steps"), default="decisions", help="x axis")
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
    plot(curves, Path(args.out), references, args.window, args.x)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""The README's gallery: Gantt charts of three policies on one instance and one frame of the live view.

    python benchmarks/gallery.py            # writes reports/gallery/*.png (about 10 s)
    python benchmarks/gallery.py --preset small --seed 0 --out reports/gallery

The three policies are ``ces-centralized``, ``ces-decentralized`` and the best other policy on that instance: the
one with the lowest ET among the scripted references that run on the CES controls and the learned checkpoints
committed in ``train/checkpoints`` (the negotiation mechanisms run their own protocols, whose controller periods the
trace does not show; ``random`` is no contender). All run the same seed, hence the same instance, so the charts
compare side by side. The live-view frame is taken from the centralized
episode, at the first step past 40% of its ET (agents exploring, queues visible).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from PIL import Image

from ces_baselines import registry
from ces_baselines.harness.runner import Job
from ces_env.env import parallel_env
from ces_env.plots import gantt_chart, traced_episode
from ces_env.runner import run_episode
from ces_env.types import AgentStatus

CES_POLICIES = ("ces-centralized", "ces-decentralized")
CES_CONTROLS = ("centralized", "decentralized")
CHECKPOINTS = Path(__file__).resolve().parent.parent / "train" / "checkpoints"
MAX_BYTES = 200_000  # the README's pictures stay small in the repository


def contenders() -> list[str]:
    """Registered policies other than the CES ones and random that run on a CES control, and the committed learned
    checkpoints as ``FAMILY:PATH`` names."""
    registry._load_builtin()
    scripted = sorted(
        name
        for name, cls in registry.POLICIES.items()
        if name not in (*CES_POLICIES, "random") and cls.required_config.get("control", "centralized") in CES_CONTROLS
    )
    learned = []
    for sidecar in sorted(CHECKPOINTS.glob("*.json")):
        metadata = json.loads(sidecar.read_text(encoding="utf-8"))
        learned.append(f"{metadata['family']}:{os.path.relpath(sidecar.with_name(metadata['checkpoint']))}")
    return scripted + learned


def best_other_policy(preset: str, seed: int) -> tuple[str, dict[str, int]]:
    """The contender with the lowest ET on ``preset`` and ``seed`` (ties: by name), and every contender's ET."""
    ets = {}
    for name in contenders():
        result = run_episode(registry.make_policy(name), Job(name, preset, (), seed).config(), seed)
        ets[name] = int(result.metric("ET"))
    return min(ets, key=lambda name: (ets[name], name)), ets


def live_view_frame(policy: str, preset: str, seed: int, at_share: float = 0.4) -> Image.Image:
    """The live view of ``policy``'s episode at its first step past ``at_share`` of the ET."""
    config = Job(policy, preset, (), seed).config()
    final = run_episode(registry.make_policy(policy), config, seed).metrics
    assert final is not None
    env = parallel_env(config=config, render_mode="rgb_array")
    frames: list = []

    def grab(env, step) -> None:
        if not frames and env.unwrapped.sim.time >= at_share * final["ET"]:
            frames.append(env.render())

    run_episode(registry.make_policy(policy), env, seed, on_step=grab)
    return Image.fromarray(frames[0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="reports/gallery")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    other, ets = best_other_policy(args.preset, args.seed)
    print(f"best other policy on {args.preset}, seed {args.seed}: {other} (ET by policy: {ets})")
    written = []
    for policy in (*CES_POLICIES, other):
        sim = traced_episode(registry.make_policy(policy), Job(policy, args.preset, (), args.seed).config(), args.seed)
        path = out / f"gantt-{registry.policy_file_stem(policy)}.png"
        title = f"{policy} ({sim.config.control} control) on {args.preset}, seed {args.seed}"
        gantt_chart(sim, title=title, path=path)
        written.append(path)
        # the figures the README's reading of the charts quotes
        assert sim.trace is not None
        ticks = {"exploring": 0, "waiting": 0, "all": 0}
        for interval in sim.trace.agent_intervals():
            if interval.status == AgentStatus.FINISHED:
                continue
            length = interval.end - interval.start
            ticks["all"] += length
            ticks["exploring"] += length * (interval.status == AgentStatus.EXPLORING)
            ticks["waiting"] += length * (interval.status in (AgentStatus.IDLE, AgentStatus.QUEUED))
        print(
            f"{policy}: ET {sim.metrics()['ET']}, exploring {ticks['exploring']} agent-ticks, waiting (idle or queued)"
            f" {ticks['waiting'] / ticks['all']:.0%} of the agent-time"
        )
    path = out / "live-view.png"
    live_view_frame("ces-centralized", args.preset, args.seed).save(path, optimize=True)
    written.append(path)
    for path in written:
        size = path.stat().st_size
        print(f"{path}  {size / 1000:.0f} kB" + ("  (over the README's 200 kB budget)" if size > MAX_BYTES else ""))


if __name__ == "__main__":
    main()

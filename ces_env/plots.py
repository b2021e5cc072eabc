"""Episode Gantt charts: what every agent and every group controller did, tick by tick, in one traced episode.

Scheduling papers explain a makespan with a Gantt chart; so does this module. One row per agent, grouped by group,
with the group's controller above its agents (centralized control); bars coloured by activity (the palette of the live
view, :mod:`ces_env.render`) and labelled with the task where the label fits; red crosses for lost claims
(conflicts) and black triangles for rejected solutions; the tasks of the DAG's critical path outlined in red, so that
two policies on the same instance can be compared side by side (same seed, same instance, same outlined tasks).

Charts are built from a trace (:mod:`ces_env.core.trace`)::

    from ces_env.plots import gantt_chart, traced_episode
    sim = traced_episode(RewardFirstPolicy(), make_config("small"), seed=0)
    gantt_chart(sim, title="reward-first on small, seed 0", path="gantt.png")

``ces-bench run ... --gantt`` saves one chart per policy for the first seed. matplotlib is imported inside the
functions (with its Agg canvas: no display needed), never when ``ces_env`` is imported.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ces_env.core.lower_bound import min_task_durations
from ces_env.core.protocols import control_protocol
from ces_env.render import ACTIVITIES, ACTIVITY_COLOURS, SERVICE_COLOURS
from ces_env.types import AgentStatus, Instance

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ces_env.config import CESConfig
    from ces_env.core.simulator import CESSimulator
    from ces_env.policies import Policy

CRITICAL_COLOUR = "#d62728"
OVERHEAD_COLOUR = "#ececec"
LABELLED = ("exploring", "replaying")  # activities whose bars carry their task id (where it fits)


def traced_episode(policy: Policy, config: CESConfig, seed: int) -> CESSimulator:
    """Play one episode of ``policy`` with tracing on (:func:`ces_env.runner.run_episode`); returns its simulator,
    whose ``trace`` holds the episode. The episode is the one an untraced run of the same seed plays."""
    from ces_env.env import parallel_env
    from ces_env.runner import run_episode

    env = parallel_env(config=config, trace=True)
    run_episode(policy, env, seed)
    return env.unwrapped.sim


def critical_path(instance: Instance, config: CESConfig) -> list[int]:
    """The tasks of the DAG's longest dependency chain, first to last, each task weighted as in the lower bound's
    chain term (its solution walked at its group's fastest speed, plus the protocol's fixed costs around it).

    It depends on the instance and the control only, so every policy's chart of one instance outlines the same tasks.
    """
    before, after = control_protocol(config.control).task_overheads(config)
    durations = min_task_durations(instance) + before + after
    finish = np.zeros(instance.n_tasks, dtype=np.int64)
    came_from = np.full(instance.n_tasks, -1, dtype=np.int64)
    for task in range(instance.n_tasks):  # ids are topological
        preds = instance.predecessors(task)
        if preds.size:
            came_from[task] = preds[np.argmax(finish[preds])]
            finish[task] = finish[came_from[task]]
        finish[task] += durations[task]
    chain = [int(np.argmax(finish))]
    while came_from[chain[-1]] >= 0:
        chain.append(int(came_from[chain[-1]]))
    return chain[::-1]


def gantt_chart(
    source: Any, *, title: str | None = None, path: str | PathLike[str] | None = None, width: float = 12.0
) -> Figure:
    """The Gantt chart of a traced episode; saved as a PNG (or any format matplotlib knows by the suffix) if ``path``.

    ``source`` is a simulator made with ``trace=True`` or an env made with ``parallel_env(..., trace=True)``, usually
    after the episode ended (a running episode is drawn up to now). ``title`` is the first line of the title (e.g.
    the policy and the seed); the second line gives the episode's ET, lower bound, TWT, conflicts and rejections.
    Returns the matplotlib figure (not attached to pyplot: nothing opens a window).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    sim = _simulator(source)
    trace = sim.trace
    if trace is None:
        raise ValueError("the episode was not traced: make the env with parallel_env(..., trace=True)")
    inst, config = sim.instance, sim.config
    intervals = trace.agent_intervals()
    # controller rows for protocols that report service periods to the trace (the CES centralized control does)
    has_controller = bool(trace.services)

    # rows, top to bottom: per group, its controller (if any), then its agents
    row_of_agent = np.zeros(inst.n_agents, dtype=np.int64)
    controller_row = np.full(inst.n_groups, -1, dtype=np.int64)
    labels: list[str] = []
    group_first_rows: list[int] = []
    for group in range(inst.n_groups):
        group_first_rows.append(len(labels))
        if has_controller:
            controller_row[group] = len(labels)
            labels.append(f"g{group} controller")
        for agent in inst.group_agents(group).tolist():
            row_of_agent[agent] = len(labels)
            labels.append(f"g{group} agent {agent}")
    n_rows = len(labels)

    metrics = sim.metrics()
    end = max(1, trace.now)
    top, bottom = 0.55, 0.95  # inches for the two-line title; for the x axis and the legend
    height = top + bottom + 0.24 * n_rows
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.11, bottom / height, 0.87, 1 - (top + bottom) / height))
    ax.set_xlim(0, end)
    ax.set_ylim(n_rows - 0.5, -0.5)
    ticks_per_px = end / (ax.get_position().width * fig.get_figwidth() * fig.dpi)

    # overheads before the start and after the last validation
    ax.axvspan(0, trace.start_time, color=OVERHEAD_COLOUR, zorder=0, lw=0)
    if sim.terminated:
        last = int(np.max(sim.group_done_time))
        ax.axvspan(last, end, color=OVERHEAD_COLOUR, zorder=0, lw=0)

    critical = set(critical_path(inst, config))
    boxes: list[np.ndarray] = []
    colours: list[str] = []
    outlined: list[np.ndarray] = []
    texts: list[tuple[float, float, str]] = []

    def add_bar(row: int, start: int, stop: int, colour: str, label: str | None, outline: bool) -> None:
        box = np.array([(start, row - 0.4), (stop, row - 0.4), (stop, row + 0.4), (start, row + 0.4)], dtype=float)
        boxes.append(box)
        colours.append(colour)
        if outline:
            outlined.append(box)
        if label is not None and (stop - start) / ticks_per_px >= 6.5 * len(label) + 4:
            texts.append(((start + stop) / 2, row, label))

    for interval in intervals:
        activity = ACTIVITIES[interval.status]
        if interval.status == AgentStatus.FINISHED or interval.end <= trace.start_time:
            continue
        start = max(interval.start, trace.start_time)
        label = str(interval.task) if activity in LABELLED and interval.task >= 0 else None
        outline = activity in LABELLED and interval.task in critical
        add_bar(int(row_of_agent[interval.agent]), start, interval.end, ACTIVITY_COLOURS[activity], label, outline)
    for service in trace.services:
        stop = min(service.end, trace.now)
        if stop > service.start:
            row = int(controller_row[service.group])
            add_bar(row, service.start, stop, SERVICE_COLOURS[service.kind], str(service.task), False)

    ax.add_collection(PolyCollection(boxes, facecolors=colours, edgecolors="none", zorder=2))
    if outlined:
        ax.add_collection(
            PolyCollection(
                outlined, facecolors="none", edgecolors=CRITICAL_COLOUR, linewidths=1.3, zorder=3, gid="critical-path"
            )
        )
    for x, y, text in texts:
        ax.text(x, y, text, ha="center", va="center", fontsize=7, color="white", zorder=4)

    conflicts = trace.conflicts
    if conflicts:
        rows = row_of_agent[[c.agent for c in conflicts]]
        ax.scatter(
            [c.tick for c in conflicts],
            rows,
            marker="x",
            s=28,
            color=CRITICAL_COLOUR,
            lw=1.4,
            zorder=5,
            gid="conflicts",
        )
    rejected = [v for v in trace.validations() if not v.accepted]
    if rejected:
        rows = row_of_agent[[v.agent for v in rejected]]
        ax.scatter([v.tick for v in rejected], rows, marker="v", s=30, color="black", zorder=5, gid="rejections")

    for row in group_first_rows[1:]:
        ax.axhline(row - 0.5, color="#555555", lw=0.8)
    ax.set_yticks(range(n_rows), labels, fontsize=7 if n_rows > 30 else 8)
    ax.tick_params(axis="y", length=0)
    ax.set_xlabel("time (ticks)", fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#dddddd", lw=0.5, zorder=1)
    ax.set_axisbelow(True)

    heading = title or f"{config.control} control"
    stats = sim.stats()
    ax.set_title(
        f"{heading}\nET {metrics['ET']} ticks (lower bound {metrics['lower_bound']}, makespan ratio "
        f"{metrics['makespan_ratio']:.2f}) · TWT {metrics['TWT']:.0f} agent-ticks · conflicts {metrics['conflicts']}"
        f" · rejected solutions {stats['rejected_solutions']}" + ("" if sim.terminated else " · not finished"),
        fontsize=9,
        loc="left",
    )

    # the legend names what the protocol can show: queues or claims, controller services, conflicts
    occurring = {ACTIVITIES[i.status] for i in intervals}
    shown = [a for a in dict.fromkeys(ACTIVITIES.values()) if a in occurring or a in ("exploring", "replaying", "idle")]
    handles: list[Any] = [Patch(color=ACTIVITY_COLOURS[a], label=a) for a in shown if a != "finished"]
    if has_controller:
        handles += [
            Patch(color=SERVICE_COLOURS["assign"], label="controller assigning"),
            Patch(color=SERVICE_COLOURS["validate"], label="controller validating"),
        ]
    if conflicts or "claiming" in occurring:
        handles.append(Line2D([], [], marker="x", ls="", color=CRITICAL_COLOUR, label="conflict (lost claim)"))
    if rejected:
        handles.append(Line2D([], [], marker="v", ls="", color="black", label="rejected solution"))
    handles.append(
        Patch(facecolor="none", edgecolor=CRITICAL_COLOUR, label=f"critical-path task ({len(critical)} tasks)")
    )
    if trace.start_time > 0 or (sim.terminated and end > int(np.max(sim.group_done_time))):
        handles.append(Patch(color=OVERHEAD_COLOUR, label="split / collect overhead"))
    fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.0))
    if path is not None:
        fig.savefig(Path(path))
    return fig


def _simulator(source: Any) -> CESSimulator:
    """The simulator of an env (through PettingZoo wrappers) or a simulator itself."""
    from ces_env.core.simulator import CESSimulator

    if isinstance(source, CESSimulator):
        return source
    unwrapped = getattr(source, "unwrapped", source)
    sim = getattr(unwrapped, "sim", None)
    if not isinstance(sim, CESSimulator):
        raise TypeError(f"expected a CES env or CESSimulator, got {type(source).__name__}")
    return sim


__all__ = ["critical_path", "gantt_chart", "traced_episode"]

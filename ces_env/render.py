"""The viewer: a text summary (``"ansi"``) and a labelled live view (``"rgb_array"``) of a running CES simulation.

The live view is one frame of a fixed size for the whole episode (video writers need it), chosen from the instance's
size when the first frame is drawn: 960 x 540 pixels, or 1280 x 720 for large instances. It shows

* a header: tick, ET so far (the episode's ET once it is over), tasks done, the control, messages and conflicts;
* the task DAG, one square per task coloured by status (blocked, ready, claimed, running, validating, done), each
  group's tasks together in a band (columns follow dependency depth), dependency edges in grey;
* up to four mazes being worked on, each with its agent's position and the cells visited: real visited cells while
  steering; in the automatic mode the found path up to the share of the job done (the exploration's own detours are
  not simulated cell by cell, only counted);
* per group: its agents coloured by activity (as in the Gantt chart of :mod:`ces_env.plots`) and the controller's
  queue (centralized) or the claims in flight (decentralized);
* legends for both colourings.

Text needs a font, so what does not change (layout, labels, legends) is drawn once per instance with matplotlib on
its Agg canvas (no display needed; matplotlib is imported when the first frame is drawn, never when ``ces_env`` is
imported). Each frame then paints squares, bars and mazes with numpy and writes the few changing texts with Pillow in
matplotlib's fonts: a few milliseconds per frame, so that whole episodes can be recorded (:mod:`ces_env.video`).
``"human"`` mode (:class:`HumanWindow`) shows the live view in a matplotlib window, one figure updated in place; where
no window can be opened (a non-interactive backend such as Agg, or no display on Linux) it prints the text summary
instead and warns once.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ces_env.maze_render import RENDER_PALETTE, render_maze, render_maze_overview
from ces_env.types import AgentStatus, Instance, TaskStatus

if TYPE_CHECKING:
    from ces_env.core.simulator import CESSimulator

# ---------------------------------------------------------------------------------------------------- the palette
# Shared with the Gantt chart (ces_env.plots) so that a colour means the same thing in every picture.
TASK_STATUS_COLOURS: dict[TaskStatus, str] = {
    TaskStatus.BLOCKED: "#b8b8b8",
    TaskStatus.READY: "#f2d03b",
    TaskStatus.CLAIMED: "#f39a2b",
    TaskStatus.RUNNING: "#3a78c9",
    TaskStatus.VALIDATING: "#9b59b6",
    TaskStatus.DONE: "#41a35a",
}
ACTIVITIES: dict[AgentStatus, str] = {
    AgentStatus.IDLE: "idle",
    AgentStatus.QUEUED: "queued at controller",
    AgentStatus.CLAIMING: "claiming",
    AgentStatus.EXPLORING: "exploring",
    AgentStatus.STEERING: "exploring",  # steered exploration is exploration
    AgentStatus.REPLAYING: "replaying",
    AgentStatus.VALIDATING: "awaiting validation",
    AgentStatus.FINISHED: "finished",
}
"""What each agent status is called in pictures (steering is drawn as exploring)."""
ACTIVITY_COLOURS: dict[str, str] = {
    "exploring": "#3a78c9",
    "replaying": "#41a35a",
    "queued at controller": "#f39a2b",
    "claiming": "#e3c21c",
    "awaiting validation": "#9b59b6",
    "idle": "#d4d4d4",
    "finished": "#ffffff",
}
SERVICE_COLOURS: dict[str, str] = {"assign": "#c96f0c", "validate": "#6c3483"}
"""A controller's service periods: assigning a task, validating a solution."""

FRAME_SIZES = ((150, (960, 540)), (10**18, (1280, 720)))
"""(largest task count, frame size in pixels): the first size whose task count fits the instance."""
DPI = 100
MAX_MAZES = 4  # shown in a 2 x 2 grid
START_PX, TARGET_PX, POSITION_PX, VISITED_PX = 3, 4, 5, 2  # rows of maze_render.RENDER_PALETTE
KEY_COLOUR = "#ff00ff"  # the fill of squares in the static background, replaced per frame (see _Squares)


def frame_size(instance: Instance) -> tuple[int, int]:
    """(width, height) in pixels of the live view of ``instance``."""
    return next(size for tasks, size in FRAME_SIZES if instance.n_tasks <= tasks)


# ---------------------------------------------------------------------------------------------------- DAG layout
def task_depths(instance: Instance) -> np.ndarray:
    """(m,) the length of the longest dependency chain ending at each task (0 for tasks without dependencies)."""
    depth = np.zeros(instance.n_tasks, dtype=np.int64)
    for task in range(instance.n_tasks):  # ids are topological
        preds = instance.predecessors(task)
        if preds.size:
            depth[task] = depth[preds].max() + 1
    return depth


class DagLayout:
    """Task positions of one instance: a horizontal band per group, one column (or several, wrapped) per depth.

    Columns are shared by all groups, so that dependencies run left to right across bands. A band holds at most
    ``rows`` tasks per column: a deeper layer wraps into more columns. ``rows`` is chosen to give the largest squares
    in a panel of the given aspect (width / height).
    """

    def __init__(self, instance: Instance, aspect: float):
        depth = task_depths(instance)
        group = instance.task_group.astype(np.int64)
        n_depths, n_groups = int(depth.max()) + 1, instance.n_groups
        counts = np.zeros((n_groups, n_depths), dtype=np.int64)
        np.add.at(counts, (group, depth), 1)
        best: tuple[float, int] | None = None
        for rows in range(1, int(counts.max()) + 1):
            width, height = self._extent(counts, rows)
            pitch = min(aspect / width, 1.0 / height)  # square side in panel heights
            if best is None or pitch > best[0] + 1e-12:
                best = (pitch, rows)
        assert best is not None
        self.rows = best[1]
        sub_columns = np.maximum(1, -(-counts // self.rows)).max(axis=0)  # per depth, the widest group
        first_column = np.concatenate([[0], np.cumsum(sub_columns)])[:-1]
        band_rows = np.minimum(self.rows, counts.max(axis=1))  # rows of each group's band (0 if it has no task)
        band_top = np.concatenate([[0], np.cumsum(band_rows + 1)])[:-1]  # one empty row between bands
        index = np.zeros(instance.n_tasks, dtype=np.int64)
        seen = np.zeros((n_groups, n_depths), dtype=np.int64)
        for task in range(instance.n_tasks):
            index[task] = seen[group[task], depth[task]]
            seen[group[task], depth[task]] += 1
        self.x = (first_column[depth] + index // self.rows).astype(np.float64)
        self.y = (band_top[group] + index % self.rows).astype(np.float64)
        self.width, self.height = self._extent(counts, self.rows)
        self.band_top, self.band_rows = band_top, band_rows
        edges = np.array(list(instance.graph.edges), dtype=np.int64).reshape(-1, 2)
        self.segments = np.stack(
            [
                np.stack([self.x[edges[:, 0]], self.y[edges[:, 0]]], 1),
                np.stack([self.x[edges[:, 1]], self.y[edges[:, 1]]], 1),
            ],
            axis=1,
        )

    @staticmethod
    def _extent(counts: np.ndarray, rows: int) -> tuple[int, int]:
        """(columns, rows) of the layout when a band holds ``rows`` tasks per column."""
        columns = int(np.maximum(1, -(-counts // rows)).max(axis=0).sum())
        band_rows = np.minimum(rows, counts.max(axis=1))
        return columns, int((band_rows + 1).sum() - 1)


# ---------------------------------------------------------------------------------------------------- the viewer
class Viewer:
    """Renders a simulator as text or as a live-view frame; keeps the figure of the current instance."""

    def __init__(self, size: tuple[int, int] | None = None) -> None:
        """``size``: (width, height) of the frames in pixels; default: :func:`frame_size` of the first instance."""
        self.size = size
        self._instance: Instance | None = None
        self._frame: _Frame | None = None

    def ansi(self, sim: CESSimulator) -> str:
        """One line for the episode, one per group: tasks done and ready, agent statuses, the controller queue."""
        inst = sim.instance
        lines = [
            f"CES  tick {sim.time}/{sim.max_ticks}  control={sim.config.control}  "
            f"done {sim.tasks_done}/{inst.n_tasks}  reward {sim.total_reward:.1f}  "
            f"messages {sim.messages}  conflicts {sim.conflicts}"
        ]
        status_letters = "iqcesrvf"  # idle queued claiming exploring steering replaying validating finished
        queue_lengths = sim.control.queue_lengths()
        has_controller = sim.control.busy_ticks() is not None
        for group in range(inst.n_groups):
            members = np.flatnonzero(inst.agent_group == group)
            states = "".join(status_letters[sim.agent_status[a]] for a in members)
            tasks = inst.task_group == group
            ready = int(np.count_nonzero(sim.task_status[tasks] == TaskStatus.READY))
            done = int(sim.group_completed[group])
            queue = f" queue {queue_lengths[group]}" if has_controller else ""
            lines.append(
                f"  g{group}: {done:4d}/{int(tasks.sum()):<4d} done  {ready:3d} ready  agents [{states}]{queue}"
            )
        if sim.terminated or sim.truncated:
            outcome = "all tasks completed" if sim.terminated else f"truncated ({sim.truncation_reason})"
            lines.append("  episode over: " + outcome)
        return "\n".join(lines)

    def rgb(self, sim: CESSimulator) -> np.ndarray:
        """The live view of ``sim`` now: a ``(height, width, 3)`` uint8 array of the same shape at every call."""
        if self._frame is None or sim.instance is not self._instance:
            if self.size is None:
                self.size = frame_size(sim.instance)
            self._instance = sim.instance
            self._frame = _Frame(sim, self.size)
        return self._frame.draw(sim)


NO_WINDOW_BACKENDS = frozenset({"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"})
"""matplotlib's backends that only write files (``matplotlib.backends.BackendFilter.NON_INTERACTIVE``, spelled out
because that registry is newer than the oldest matplotlib supported)."""
DISPLAY_BACKENDS = ("gtk", "qt", "tk", "wx")
"""Prefixes of the GUI toolkits' backends, which need an X11 or Wayland display on Linux."""


def window_unavailable_reason() -> str | None:
    """Why ``render_mode="human"`` cannot open a window here (None: it can). Imports matplotlib (only when called)."""
    import matplotlib

    backend = matplotlib.get_backend().lower()  # an unset backend resolves to Agg where no GUI toolkit can start
    if backend in NO_WINDOW_BACKENDS or "inline" in backend:
        return f"matplotlib's backend {backend!r} cannot open a window"
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and headless and backend.startswith(DISPLAY_BACKENDS):
        return f"matplotlib's backend {backend!r} needs a display and neither DISPLAY nor WAYLAND_DISPLAY is set"
    return None


class HumanWindow:
    """``render_mode="human"``: the live view (:meth:`Viewer.rgb`) in one matplotlib window, updated in place.

    Where no window can be opened (:func:`window_unavailable_reason`, or the toolkit fails to start) it prints the text
    summary (:meth:`Viewer.ansi`) instead, with one warning per window object, so that scripts written for a desktop
    still run on a headless server. A window the user closes is opened again at the next frame."""

    def __init__(self, pause: float = 1e-3) -> None:
        self.pause = pause  # seconds the GUI event loop runs per frame: enough to repaint, short enough not to slow
        self.fallback_reason: str | None = None  # set once the window proved impossible: text from then on
        self._checked = False
        self._figure: Any = None
        self._image: Any = None

    @property
    def figure(self) -> Any:
        """The matplotlib figure shown (None before the first frame or in the text fallback)."""
        return self._figure

    def show(self, viewer: Viewer, sim: CESSimulator, stacklevel: int = 2) -> None:
        """Draw ``sim`` now: update the window's image, or print the text summary in the fallback. ``stacklevel``:
        that of the fallback's warning, as seen from this method (2: its caller)."""
        if not self._checked:
            self._checked = True
            reason = window_unavailable_reason()
            if reason is not None:
                self._fall_back(reason, stacklevel + 1)
        if self.fallback_reason is None:
            frame = viewer.rgb(sim)  # outside the try: a failure to draw the frame is a bug to see, not a fallback
            try:
                self._draw(frame)
                return
            except Exception as error:  # a toolkit that cannot start (e.g. no display): text, as on a server
                self._fall_back(f"the window could not be opened ({type(error).__name__}: {error})", stacklevel + 1)
        print(viewer.ansi(sim))

    def close(self) -> None:
        """Close the window, if one is open."""
        if self._figure is not None:
            import matplotlib.pyplot as plt

            plt.close(self._figure)
        self._figure = self._image = None

    def _draw(self, frame: np.ndarray) -> None:
        import matplotlib.pyplot as plt

        if self._figure is None or not plt.fignum_exists(self._figure.number):
            height, width = frame.shape[:2]
            # a figure of its own (not a named one, which every env's window would share)
            self._figure = plt.figure(figsize=(width / DPI, height / DPI), dpi=DPI)
            manager = self._figure.canvas.manager
            if manager is not None:
                manager.set_window_title("CES live view")
            axes = self._figure.add_axes((0.0, 0.0, 1.0, 1.0))
            axes.set_axis_off()
            self._image = axes.imshow(frame, interpolation="nearest")
        else:
            self._image.set_data(frame)
        self._figure.canvas.draw_idle()
        plt.pause(self.pause)

    def _fall_back(self, reason: str, stacklevel: int) -> None:
        self.fallback_reason = reason
        self.close()
        warnings.warn(
            f'render_mode="human": {reason}; printing the text view instead (use render_mode="rgb_array" for frames)',
            stacklevel=stacklevel,
        )


class _Squares:
    """Squares of a pre-drawn background recoloured frame by frame, keeping the text and borders drawn on them.

    The background draws every square filled with :data:`KEY_COLOUR` (magenta, used nowhere else) with a black
    border and black text. A pixel near a square's centre that holds a share ``m`` of magenta (``m`` = (red -
    green) / 255: anti-aliasing mixes the fill with black text and border and, on the outer edge, with the grey or
    white background) gets that share of the new fill instead: ``pixel + m * (fill - magenta)``. Labels and borders
    stay crisp whatever the fill.
    """

    def __init__(self, background: np.ndarray, centres: np.ndarray, half_side: float):
        height, width = background.shape[:2]
        pixels, owners = [], []
        reach = int(np.ceil(half_side)) + 1
        for owner, (x, y) in enumerate(centres):
            rows = np.arange(max(0, int(y) - reach), min(height, int(y) + reach + 1))
            cols = np.arange(max(0, int(x) - reach), min(width, int(x) + reach + 1))
            box = background[rows[:, None], cols[None, :]].astype(np.int64)
            red, green, blue = box[..., 0], box[..., 1], box[..., 2]
            has_key = (red - green >= 4) & (np.abs(red - blue) <= 12)  # some magenta, mixed with greys only
            flat = (rows[:, None] * width + cols[None, :])[has_key]
            pixels.append(flat)
            owners.append(np.full(flat.size, owner, dtype=np.int64))
        self.pixels = np.concatenate(pixels) if pixels else np.zeros(0, dtype=np.int64)
        self.owners = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
        self.base = background.reshape(-1, 3)[self.pixels].astype(np.float32)
        self.share = np.clip((self.base[:, 0:1] - self.base[:, 1:2]) / 255.0, 0.0, 1.0)  # of magenta, per pixel
        self.base -= self.share * np.array(_rgb(KEY_COLOUR), dtype=np.float32)

    def paint(self, frame: np.ndarray, colours: np.ndarray) -> None:
        """Fill square i of ``frame`` (H, W, 3) with ``colours[i]`` (RGB)."""
        mixed = self.base + self.share * colours[self.owners]
        frame.reshape(-1, 3)[self.pixels] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


class _Frame:
    """The live view of one instance: a static picture drawn once by matplotlib, and per frame what changes.

    Per frame, numpy fills the task and agent squares, the queue bars and the maze boxes, and Pillow writes the few
    texts that change (header, maze captions, queue lengths) with matplotlib's own fonts. That costs a few
    milliseconds, against a hundred for a matplotlib redraw of the texts alone.
    """

    def __init__(self, sim: CESSimulator, size: tuple[int, int]):
        from matplotlib import font_manager
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
        from PIL import ImageFont

        inst = sim.instance
        width, height = size
        fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
        canvas = FigureCanvasAgg(fig)
        small, font = (9, 11) if width >= 1200 else (8, 10)
        self.has_controller = sim.control.busy_ticks() is not None

        def pil_font(points: float, family: str) -> Any:
            path = font_manager.findfont(font_manager.FontProperties(family=[family]))
            return ImageFont.truetype(path, max(6, round(points * DPI / 72)))

        self.header_font, self.font = pil_font(font, "monospace"), pil_font(small, "sans-serif")
        self.header_at = (0.01 * width, 0.012 * height)

        # --- the DAG, left: squares in white with their ids; their fill is painted per frame
        dag_box = (0.04, 0.13, 0.43, 0.78)
        ax = fig.add_axes(dag_box)
        aspect = dag_box[2] * width / (dag_box[3] * height)
        layout = DagLayout(inst, aspect)
        x_range = max(layout.width, aspect * layout.height)  # data units square in pixels, layout at the top left
        pitch_px = dag_box[2] * width / x_range
        ax.set_xlim(-0.5, x_range - 0.5)
        ax.set_ylim(x_range / aspect - 0.5, -0.5)
        ax.set_axis_off()
        ax.set_title("tasks, a band per group (columns: dependency depth)", fontsize=small, loc="left")
        for group in range(inst.n_groups):
            if layout.band_rows[group] == 0:
                continue
            top = layout.band_top[group] - 0.5
            ax.axhspan(top, top + layout.band_rows[group], color="#eef2f8" if group % 2 == 0 else "#f5f5f5", zorder=0)
            ax.text(-0.55, top + layout.band_rows[group] / 2, f"g{group}", ha="right", va="center", fontsize=small)
        ax.add_collection(LineCollection(list(layout.segments), colors="#8a8a8a", linewidths=0.5, alpha=0.5, zorder=1))
        task_side = max(2.0, 0.8 * pitch_px)
        ax.scatter(
            layout.x,
            layout.y,
            s=(task_side * 72 / DPI) ** 2,
            marker="s",
            c=KEY_COLOUR,
            edgecolors="black",
            linewidths=0.5,
            zorder=2,
        )
        if pitch_px >= 15:  # task ids fit inside the squares
            label_size = min(small, max(5.0, pitch_px * 0.3))
            for task in range(inst.n_tasks):
                ax.text(layout.x[task], layout.y[task], str(task), ha="center", va="center", fontsize=label_size)
        task_centres = ax.transData.transform(np.stack([layout.x, layout.y], axis=1))

        # --- mazes, top right: four square boxes painted per frame, a caption above each
        right, right_width = 0.5, 0.49
        groups_height = float(np.clip(0.05 + 0.03 * inst.n_groups, 0.13, 0.34))
        maze_bottom, maze_top = 0.14 + groups_height + 0.095, 0.93
        caption = 0.035
        cell_height = (maze_top - maze_bottom) / 2
        self.maze_box = int(min((cell_height - caption) * height, (right_width / 2 - 0.01) * width))
        self.maze_origins: list[tuple[int, int]] = []  # (row, column) of each box's top left pixel
        self.caption_at: list[tuple[float, float]] = []  # (x, y) of each caption's top centre
        for slot in range(MAX_MAZES):
            row, col = divmod(slot, 2)
            centre_x = (right + right_width * (col + 0.5) / 2) * width
            top_y = (1 - (maze_top - row * cell_height)) * height
            self.caption_at.append((centre_x, top_y))
            self.maze_origins.append((int(top_y + caption * height), int(centre_x - self.maze_box / 2)))
        maze_keys = (("start", START_PX), ("target", TARGET_PX), ("agent", POSITION_PX), ("visited / path", VISITED_PX))
        fig.legend(
            handles=[Patch(color=RENDER_PALETTE[index] / 255, label=label) for label, index in maze_keys],
            loc="upper center",
            bbox_to_anchor=(right + right_width / 2, maze_bottom + 0.005),
            ncol=4,
            fontsize=small,
            frameon=False,
            handlelength=1.0,
            columnspacing=1.0,
        )

        # --- groups, bottom right: agents coloured by activity, then the controller queue (or claims in flight)
        sizes = np.bincount(inst.agent_group, minlength=inst.n_groups)
        agents_ax = fig.add_axes((right + 0.03, 0.14, 0.27, groups_height))
        index_in_group = np.zeros(inst.n_agents, dtype=np.int64)
        for group in range(inst.n_groups):
            members = inst.group_agents(group)
            index_in_group[members] = np.arange(members.size)
        columns = max(int(sizes.max()), 5)
        agents_ax.set_xlim(-0.5, columns - 0.5)
        agents_ax.set_ylim(inst.n_groups - 0.5, -0.5)
        agents_ax.set_yticks(range(inst.n_groups), [f"g{g}" for g in range(inst.n_groups)], fontsize=small)
        agents_ax.set_xticks([])
        agents_ax.tick_params(length=0)
        for spine in agents_ax.spines.values():
            spine.set_visible(False)
        agents_ax.set_title("agents (ids)", fontsize=small, loc="left")
        agent_px = min(0.27 * width / columns, groups_height * height / inst.n_groups)
        agent_side = max(2.0, 0.75 * agent_px)
        agents_ax.scatter(
            index_in_group,
            inst.agent_group,
            s=(agent_side * 72 / DPI) ** 2,
            marker="s",
            c=KEY_COLOUR,
            edgecolors="black",
            linewidths=0.5,
        )
        if agent_px >= 15:
            agent_label = min(small, max(5.0, agent_px * 0.3))
            for agent in range(inst.n_agents):
                x, y = index_in_group[agent], inst.agent_group[agent]
                agents_ax.text(x, y, str(agent), ha="center", va="center", fontsize=agent_label)
        agent_centres = agents_ax.transData.transform(np.stack([index_in_group, inst.agent_group], axis=1))

        queue_ax = fig.add_axes((right + 0.36, 0.14, 0.12, groups_height))
        self.queue_limit = max(1, int(sizes.max()))  # an agent has at most one job queued
        queue_ax.set_xlim(0, self.queue_limit * 1.25)
        queue_ax.set_ylim(inst.n_groups - 0.5, -0.5)
        queue_ax.set_yticks([])
        queue_ax.set_xticks(sorted({0, self.queue_limit}))
        queue_ax.tick_params(labelsize=small - 1)
        queue_ax.set_title(
            "controller queue" if self.has_controller else "claims in flight", fontsize=small, loc="left"
        )
        bar_half = 0.3
        corners = queue_ax.transData.transform(
            [(x, g + dy) for g in range(inst.n_groups) for x, dy in ((0, -bar_half), (1, bar_half))]
        )
        self.queue_left, self.queue_unit = corners[0, 0], corners[1, 0] - corners[0, 0]
        self.queue_rows = [(height - corners[2 * g, 1], height - corners[2 * g + 1, 1]) for g in range(len(sizes))]

        # --- legends along the bottom
        legend = dict(frameon=False, handlelength=1.0, columnspacing=0.8, fontsize=small, title_fontsize=small)
        fig.legend(
            handles=[
                Patch(facecolor=c, edgecolor="#303030", linewidth=0.5, label=s.name.lower())
                for s, c in TASK_STATUS_COLOURS.items()
            ],
            loc="lower left",
            bbox_to_anchor=(0.01, 0.0),
            ncol=6,
            title="task status",
            **legend,
        )
        shown = dict.fromkeys(ACTIVITIES.values())
        shown.pop("claiming" if self.has_controller else "queued at controller")
        fig.legend(
            handles=[Patch(facecolor=ACTIVITY_COLOURS[a], edgecolor="#303030", linewidth=0.5, label=a) for a in shown],
            loc="lower right",
            bbox_to_anchor=(0.995, 0.0),
            ncol=3,
            title="agent activity",
            **legend,
        )

        canvas.draw()
        self.background = np.array(canvas.buffer_rgba())[:, :, :3]
        self.tasks = _Squares(self.background, _to_rows(task_centres, height), task_side / 2)
        self.agents = _Squares(self.background, _to_rows(agent_centres, height), agent_side / 2)
        self.task_colours = np.array([_rgb(TASK_STATUS_COLOURS[s]) for s in TaskStatus], dtype=np.float32)
        self.activity_colours = np.array([_rgb(ACTIVITY_COLOURS[ACTIVITIES[s]]) for s in AgentStatus], np.float32)
        self.bar_colour = _rgb(SERVICE_COLOURS["assign"] if self.has_controller else ACTIVITY_COLOURS["claiming"])
        self.slots: list[int] = []  # agents shown in the maze boxes, kept in place while they work

    def draw(self, sim: CESSimulator) -> np.ndarray:
        from PIL import Image, ImageDraw

        inst = sim.instance
        frame = self.background.copy()
        self.tasks.paint(frame, self.task_colours[sim.task_status])
        self.agents.paint(frame, self.activity_colours[sim.agent_status])
        if self.has_controller:
            lengths = sim.control.queue_lengths()
        else:
            claiming = sim.agent_status == AgentStatus.CLAIMING
            lengths = np.bincount(inst.agent_group[claiming], minlength=inst.n_groups)
        shown = np.minimum(lengths, self.queue_limit)  # the scale's end (a queue holds one job per agent at most)
        for group, (top, bottom) in enumerate(self.queue_rows):
            right = int(round(self.queue_left + shown[group] * self.queue_unit))
            frame[int(round(top)) : int(round(bottom)), int(round(self.queue_left)) + 1 : right] = self.bar_colour
        self._choose_slots(sim)
        progress = sim.job_progress()
        captions = []
        for slot, (top, left) in enumerate(self.maze_origins):
            if slot >= len(self.slots):
                continue
            agent = self.slots[slot]
            image = maze_view(sim, agent, float(progress[agent]), self.maze_box)
            frame[top : top + image.shape[0], left : left + image.shape[1]] = image
            status = AgentStatus(sim.agent_status[agent])
            done = (
                f"{int(sim.steer_moves[agent])} moves" if status == AgentStatus.STEERING else f"{progress[agent]:.0%}"
            )
            captions.append((slot, f"agent {agent}, task {int(sim.agent_task[agent])}: {ACTIVITIES[status]} {done}"))

        picture = Image.fromarray(frame)
        draw = ImageDraw.Draw(picture)
        over = "  (episode over)" if sim.terminated else ("  (truncated)" if sim.truncated else "")
        header = (
            f"tick {sim.time} (= ET so far)   lower bound {sim.lower_bound}   done {sim.tasks_done}/"
            f"{inst.n_tasks}   {sim.config.control}   messages {sim.messages}   conflicts {sim.conflicts}{over}"
        )
        draw.text(self.header_at, header, font=self.header_font, fill=(0, 0, 0), anchor="la")
        for slot, text in captions:
            draw.text(self.caption_at[slot], text, font=self.font, fill=(0, 0, 0), anchor="ma")
        for group, (top, bottom) in enumerate(self.queue_rows):
            at = (self.queue_left + (shown[group] + 0.15) * self.queue_unit, (top + bottom) / 2)
            draw.text(at, str(int(lengths[group])), font=self.font, fill=(0, 0, 0), anchor="lm")
        return np.asarray(picture)

    def _choose_slots(self, sim: CESSimulator) -> None:
        """Keep the agents already shown while they work; fill free boxes with explorers first, then replayers."""
        status = sim.agent_status
        working = (AgentStatus.STEERING, AgentStatus.EXPLORING, AgentStatus.REPLAYING)
        self.slots = [a for a in self.slots if status[a] in working]
        for wanted in ((AgentStatus.STEERING, AgentStatus.EXPLORING), (AgentStatus.REPLAYING,)):
            for agent in np.flatnonzero(np.isin(status, wanted)).tolist():
                if len(self.slots) < MAX_MAZES and agent not in self.slots:
                    self.slots.append(agent)


def maze_view(sim: CESSimulator, agent: int, progress: float, box: int) -> np.ndarray:
    """A ``box`` x ``box`` RGB image of the maze ``agent`` works in, its visited cells and (a dark-ringed yellow
    square) its position.

    Steering: the real position and visited cells. Exploring or replaying (automatic mode): the submitted path
    walked up to ``progress``: for a replay that is where the agent is; an exploration's detours are only counted
    by the simulator, so its picture shows the path it will submit.
    """
    inst = sim.instance
    maze = inst.mazes[int(inst.task_class[sim.agent_task[agent]])]
    if sim.agent_status[agent] == AgentStatus.STEERING:
        visited = np.fromiter(sim.visited[agent], dtype=np.int64)
        position = int(sim.position[agent])
    else:
        path = sim.submitted_path[agent]
        path = maze.solution if path is None or len(path) == 0 else path
        reached = int(round(progress * (len(path) - 1)))
        visited, position = np.asarray(path[: reached + 1], dtype=np.int64), int(path[reached])
    side = max(maze.height, maze.width)
    cell_px = (box - 1) // side - 1
    if cell_px >= 1:  # walls fit: one wall pixel and cell_px pixels per cell
        image = render_maze(maze, cell_px=cell_px, visited=visited, position=position)
        pitch, offset = cell_px + 1, 1 + cell_px / 2
    else:  # one pixel per block of cells, zoomed to fill the box
        image = render_maze_overview(maze, box, visited=visited, position=None)
        stride = max(1, int(np.ceil(side / box)))
        zoom = max(1, box // max(image.shape[:2]))
        image = np.repeat(np.repeat(image, zoom, axis=0), zoom, axis=1)
        pitch, offset = zoom / stride, zoom / 2
    out = np.full((box, box, 3), 255, dtype=np.uint8)
    image = image[:box, :box]
    top, left = (box - image.shape[0]) // 2, (box - image.shape[1]) // 2
    out[top : top + image.shape[0], left : left + image.shape[1]] = image
    row, col = divmod(position, maze.width)
    centre_row, centre_col = int(top + row * pitch + offset), int(left + col * pitch + offset)
    radius = max(2, int(pitch * 0.6))
    r0, r1 = max(0, centre_row - radius), min(box, centre_row + radius + 1)
    c0, c1 = max(0, centre_col - radius), min(box, centre_col + radius + 1)
    out[r0:r1, c0:c1] = (20, 20, 20)
    out[r0 + 1 : r1 - 1, c0 + 1 : c1 - 1] = (255, 200, 0)
    return out


def _to_rows(display: np.ndarray, height: int) -> np.ndarray:
    """Display coordinates (x right, y up, origin bottom left) as array coordinates (x = column, y = row)."""
    return np.stack([display[:, 0], height - display[:, 1]], axis=1)


def _rgb(colour: str) -> tuple[int, int, int]:
    """A ``#rrggbb`` colour as an RGB tuple of ints (without importing matplotlib)."""
    value = int(colour.lstrip("#"), 16)
    return (value >> 16, (value >> 8) & 255, value & 255)

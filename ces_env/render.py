"""The viewer: a text summary (``"ansi"``) and an RGB picture (``"rgb_array"``) of a running CES simulation.

The picture has two panels: the task DAG (one square per task, laid out by dependency depth; fill = status, border =
group; edges in grey) and a 2 x 2 grid of up to four mazes being explored right now (visited cells tinted in the
steered mode). Pure
numpy: no GUI or plotting library is imported.
"""

from __future__ import annotations

import numpy as np

from ces_env.core.simulator import CESSimulator
from ces_env.maze_render import render_maze, render_maze_overview
from ces_env.types import AgentStatus, Instance, TaskStatus

STATUS_COLOURS = np.array(
    [
        (150, 150, 150),  # blocked: grey
        (240, 200, 40),  # ready: yellow
        (240, 140, 30),  # claimed: orange
        (60, 120, 230),  # running: blue
        (160, 80, 200),  # validating: purple
        (50, 170, 80),  # done: green
    ],
    dtype=np.uint8,
)
GROUP_COLOURS = np.array(
    [
        (230, 25, 75),
        (60, 180, 75),
        (0, 130, 200),
        (245, 130, 48),
        (145, 30, 180),
        (70, 240, 240),
        (240, 50, 230),
        (210, 245, 60),
        (0, 128, 128),
        (170, 110, 40),
    ],
    dtype=np.uint8,
)
BACKGROUND = 255
NODE_PX = 6  # a task's square, border included
NODE_GAP = 3
MAZE_BOX = 120  # each maze is scaled (integer zoom or stride) to fit a square of this many pixels
MAX_MAZES = 4  # shown in a 2 x 2 grid


class DagLayout:
    """Pixel positions of the tasks of one instance (computed once per instance)."""

    def __init__(self, instance: Instance):
        m = instance.n_tasks
        depth = np.zeros(m, dtype=np.int64)
        for task in range(m):  # ids are topological
            preds = instance.predecessors(task)
            if preds.size:
                depth[task] = depth[preds].max() + 1
        # one column per dependency depth; a deep layer wraps into several columns so the picture stays compact
        max_rows = max(8, int(np.ceil(1.5 * np.sqrt(m))))
        index_in_layer = np.zeros(m, dtype=np.int64)
        counts = np.zeros(int(depth.max()) + 1, dtype=np.int64)
        for task in range(m):
            index_in_layer[task] = counts[depth[task]]
            counts[depth[task]] += 1
        first_column = np.concatenate([[0], np.cumsum(-(-counts // max_rows))])[:-1]
        column = first_column[depth] + index_in_layer // max_rows
        row = index_in_layer % max_rows
        pitch = NODE_PX + NODE_GAP
        self.x = NODE_GAP + column * pitch
        self.y = NODE_GAP + row * pitch
        self.width = int(self.x.max()) + pitch
        self.height = int(self.y.max()) + pitch
        edges = np.array(list(instance.graph.edges), dtype=np.int64).reshape(-1, 2)
        self.edge_pixels = self._edge_pixels(edges)

    def _edge_pixels(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not len(edges):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        half = NODE_PX // 2
        x0, y0 = self.x[edges[:, 0]] + half, self.y[edges[:, 0]] + half
        x1, y1 = self.x[edges[:, 1]] + half, self.y[edges[:, 1]] + half
        t = np.linspace(0.0, 1.0, 24)[None, :]
        xs = np.rint(x0[:, None] + (x1 - x0)[:, None] * t).astype(np.int64).ravel()
        ys = np.rint(y0[:, None] + (y1 - y0)[:, None] * t).astype(np.int64).ravel()
        return ys, xs


class Viewer:
    """Renders a simulator; keeps the DAG layout of the current instance."""

    def __init__(self) -> None:
        self._instance: Instance | None = None
        self._layout: DagLayout | None = None

    def _layout_for(self, instance: Instance) -> DagLayout:
        if instance is not self._instance:
            self._instance, self._layout = instance, DagLayout(instance)
        return self._layout

    def ansi(self, sim: CESSimulator) -> str:
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
            lines.append("  episode over: " + ("all tasks completed" if sim.terminated else "truncated at max_ticks"))
        return "\n".join(lines)

    def rgb(self, sim: CESSimulator) -> np.ndarray:
        """The DAG panel, and beside it (when agents explore) a 2 x 2 grid of the mazes being explored."""
        dag = self._dag_panel(sim)
        mazes = [self._maze_image(sim, agent) for agent in self._exploring_agents(sim)]
        height = max(dag.shape[0], 2 * MAZE_BOX + 4)
        panels = [self._pad(dag, height, dag.shape[1])]
        if mazes:
            boxes = [self._pad(img, MAZE_BOX, MAZE_BOX) for img in mazes]
            boxes += [np.full((MAZE_BOX, MAZE_BOX, 3), BACKGROUND, dtype=np.uint8)] * (MAX_MAZES - len(boxes))
            gap_v = np.full((MAZE_BOX, 4, 3), BACKGROUND, dtype=np.uint8)
            top = np.concatenate([boxes[0], gap_v, boxes[1]], axis=1)
            bottom = np.concatenate([boxes[2], gap_v, boxes[3]], axis=1)
            gap_h = np.full((4, top.shape[1], 3), BACKGROUND, dtype=np.uint8)
            grid = np.concatenate([top, gap_h, bottom], axis=0)
            panels += [np.full((height, 4, 3), 40, dtype=np.uint8), self._pad(grid, height, grid.shape[1])]
        return np.ascontiguousarray(np.concatenate(panels, axis=1))

    def _dag_panel(self, sim: CESSimulator) -> np.ndarray:
        layout = self._layout_for(sim.instance)
        image = np.full((layout.height, layout.width, 3), BACKGROUND, dtype=np.uint8)
        ys, xs = layout.edge_pixels
        image[ys, xs] = 200
        offsets = np.arange(NODE_PX)
        rows = layout.y[:, None, None] + offsets[None, :, None]
        cols = layout.x[:, None, None] + offsets[None, None, :]
        group_colour = GROUP_COLOURS[sim.instance.task_group % len(GROUP_COLOURS)]
        image[rows, cols] = group_colour[:, None, None, :]  # border colour = group
        inner = offsets[1:-1]
        image[layout.y[:, None, None] + inner[None, :, None], layout.x[:, None, None] + inner[None, None, :]] = (
            STATUS_COLOURS[sim.task_status][:, None, None, :]
        )
        return image

    @staticmethod
    def _exploring_agents(sim: CESSimulator) -> list[int]:
        active = np.flatnonzero(np.isin(sim.agent_status, (AgentStatus.EXPLORING, AgentStatus.STEERING)))
        return active[:MAX_MAZES].tolist()

    @staticmethod
    def _maze_image(sim: CESSimulator, agent: int) -> np.ndarray:
        inst = sim.instance
        maze = inst.mazes[int(inst.task_class[sim.agent_task[agent]])]
        steering = sim.agent_status[agent] == AgentStatus.STEERING
        visited = np.fromiter(sim.visited[agent], dtype=np.int64) if steering else None
        position = int(sim.position[agent]) if steering else None
        if 2 * max(maze.height, maze.width) + 1 > MAZE_BOX:  # walls would not fit: one pixel per block of cells
            image = render_maze_overview(maze, MAZE_BOX, visited=visited, position=position)
        else:
            image = render_maze(maze, cell_px=1, visited=visited, position=position)
        zoom = max(1, MAZE_BOX // max(image.shape[:2]))  # fill the box by an integer zoom
        return np.repeat(np.repeat(image, zoom, axis=0), zoom, axis=1)

    @staticmethod
    def _pad(image: np.ndarray, height: int, width: int) -> np.ndarray:
        """Crop or pad (with the background) to exactly height x width."""
        out = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
        h, w = min(height, image.shape[0]), min(width, image.shape[1])
        out[:h, :w] = image[:h, :w]
        return out

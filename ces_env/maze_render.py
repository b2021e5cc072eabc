"""Pictures of a maze: walls, visited cells, start, target and a walker's position, as RGB uint8 arrays.

Kept apart from ``ces_env.maze`` (generation, validation, exploration), which the simulator needs on every step;
these are needed only by the viewer (``ces_env.render``) and by users who want to look at a maze.
"""

from __future__ import annotations

import numpy as np

from ces_env.maze import NORTH, OPEN_BIT, WEST, Maze, check_cell

__all__ = ["RENDER_PALETTE", "render_maze", "render_maze_overview"]

# Palette indices of render_maze.
_WALL_PX, _OPEN_PX, _VISITED_PX, _START_PX, _TARGET_PX, _POSITION_PX = range(6)
RENDER_PALETTE = np.array(
    [
        [30, 30, 30],  # wall
        [235, 235, 235],  # open cell / passage
        [150, 190, 255],  # visited cell / passage between visited cells
        [40, 180, 70],  # start
        [220, 50, 50],  # target
        [255, 200, 0],  # current position
    ],
    dtype=np.uint8,
)


def _visited_mask(maze: Maze, visited: np.ndarray | None) -> np.ndarray:
    """Boolean (H, W) mask from a boolean mask ((H, W) or (n,)) or an array of flat indices."""
    mask = np.zeros(maze.n_cells, dtype=bool)
    if visited is not None:
        visited = np.asarray(visited)
        if visited.dtype == bool:
            if visited.size != maze.n_cells:
                raise ValueError("boolean visited mask must have one entry per cell")
            mask = visited.reshape(-1).copy()
        else:
            mask[visited.reshape(-1).astype(np.int64)] = True
    return mask.reshape(maze.height, maze.width)


def render_maze(
    maze: Maze, cell_px: int = 2, visited: np.ndarray | None = None, position: int | None = None
) -> np.ndarray:
    """RGB uint8 image of shape ``(H * (cell_px + 1) + 1, W * (cell_px + 1) + 1, 3)``.

    Cell ``(r, c)`` fills the ``cell_px`` square at ``(1 + r * (cell_px + 1), 1 + c *
    (cell_px + 1))``; the one-pixel lines between cells are walls (dark) or, where a
    passage is open, light.  ``visited`` (boolean mask or flat indices) tints cells and
    the passages between two visited cells; start is green, target red, ``position``
    yellow (drawn in that order of precedence: position > target > start > visited).
    """
    cell_px = int(cell_px)
    if cell_px < 1:
        raise ValueError("cell_px must be >= 1")
    height, width, step = maze.height, maze.width, cell_px + 1
    seen = _visited_mask(maze, visited)

    cell_colour = np.where(seen, _VISITED_PX, _OPEN_PX).astype(np.uint8)
    cell_colour.reshape(-1)[maze.start] = _START_PX
    cell_colour.reshape(-1)[maze.target] = _TARGET_PX
    if position is not None:
        cell_colour.reshape(-1)[check_cell(maze, position)] = _POSITION_PX

    # Passage colours: visited only when both ends were visited.
    north_seen = np.zeros_like(seen)
    north_seen[1:] = seen[1:] & seen[:-1]
    west_seen = np.zeros_like(seen)
    west_seen[:, 1:] = seen[:, 1:] & seen[:, :-1]
    north_colour = np.where(maze.passages & OPEN_BIT[NORTH], np.where(north_seen, _VISITED_PX, _OPEN_PX), _WALL_PX)
    west_colour = np.where(maze.passages & OPEN_BIT[WEST], np.where(west_seen, _VISITED_PX, _OPEN_PX), _WALL_PX)

    # One (step x step) block per cell: row 0 = north wall line, column 0 = west wall line.
    blocks = np.full((height, step, width, step), _WALL_PX, dtype=np.uint8)
    blocks[:, 1:, :, 1:] = cell_colour[:, None, :, None]
    blocks[:, 0, :, 1:] = north_colour[:, :, None]
    blocks[:, 1:, :, 0] = west_colour[:, None, :]

    image = np.full((height * step + 1, width * step + 1), _WALL_PX, dtype=np.uint8)
    image[:-1, :-1] = blocks.reshape(height * step, width * step)  # south/east border stays wall
    return RENDER_PALETTE[image]


def render_maze_overview(
    maze: Maze, max_side: int, visited: np.ndarray | None = None, position: int | None = None
) -> np.ndarray:
    """RGB uint8 overview of a maze too large to show its walls in ``max_side`` pixels: one pixel per block of
    ``stride x stride`` cells (tinted if any cell of the block was visited), with start, target and ``position`` drawn
    as 3 x 3 markers on top, so they stay visible however large the maze."""
    stride = max(1, int(np.ceil(max(maze.height, maze.width) / max(1, max_side))))
    rows, cols = -(-maze.height // stride), -(-maze.width // stride)
    seen = _visited_mask(maze, visited)
    block_seen = np.zeros((rows, cols), dtype=bool)
    r_idx, c_idx = np.nonzero(seen)
    block_seen[r_idx // stride, c_idx // stride] = True
    image = np.where(block_seen, _VISITED_PX, _OPEN_PX).astype(np.uint8)
    markers = [(maze.start, _START_PX), (maze.target, _TARGET_PX)]
    if position is not None:
        markers.append((check_cell(maze, position), _POSITION_PX))
    for cell, colour in markers:
        r, c = divmod(int(cell), maze.width)
        r, c = r // stride, c // stride
        image[max(0, r - 1) : r + 2, max(0, c - 1) : c + 2] = colour
    return RENDER_PALETTE[image]

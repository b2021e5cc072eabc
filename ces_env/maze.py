"""Perfect random mazes, a solution validator and exploration models (pictures: ``ces_env.maze_render``).

Representation
--------------
A maze is an ``(H, W)`` grid of cells.  Cells are addressed by their *flat index*
``cell = row * W + col`` (row 0 is the top row, north is up).  ``passages[row, col]``
is a ``uint8`` bit set: bit ``d`` (``OPEN_BIT[d] == 1 << d``) is set when the wall on
side ``d`` of the cell is open, with the directions ``NORTH, EAST, SOUTH, WEST = 0, 1,
2, 3`` (also the environment's move-action order).  Passages are symmetric: if the
east bit of ``(r, c)`` is set then the west bit of ``(r, c + 1)`` is set too, and no
bit ever leads off the grid.  Only the low four bits are used, so a cell with no
open side has the byte 0.

A *perfect* maze is a spanning tree of the grid graph: every cell is reachable and
there is exactly one simple path between any two cells (``H * W - 1`` passages).
:class:`Maze` stores the passages, a start and a target cell, and that unique
path (``solution``), computed once at generation.

Generation
----------
:func:`generate_maze` runs randomised Kruskal: the grid's edges are visited in a
random order and every edge that joins two different components (numba union-find
with path splitting and union by size) is opened, stopping once ``H * W - 1`` are
open.  The random order is a Fisher-Yates shuffle of the edge list driven by one
``uint32`` per edge drawn from the caller's ``np.random.Generator``; an index in
``[0, i]`` is taken as ``(u * (i + 1)) >> 32`` (Lemire's multiply-shift, bias below
``m / 2**32``, i.e. < 1e-4 relative on 400x400, which no maze statistic can see).
Drawing 32-bit numbers is ~5x cheaper than ``rng.permutation``.  Randomised Kruskal
does not sample spanning trees exactly uniformly (Wilson's algorithm would, at a
much higher cost), but it gives the usual "many short dead ends" maze texture.

Randomness contract
-------------------
Every random number is drawn by numpy from the ``np.random.Generator`` passed in and
handed to the numba kernels as arrays; nothing uses numba's internal RNG or numpy's
global state.  The same generator state therefore gives the same maze and the same
exploration, in any process.  The one exception, :func:`explore_dfs_seeded`, takes the entropy words of a
``default_rng`` instead and draws the very same numbers with a compiled copy of numpy's generator.

Exploration models
------------------
:data:`EXPLORERS` maps a name to ``f(maze, rng) -> Exploration``:

* ``"dfs"`` (default): depth-first search from the start; in every cell the order
  in which the four directions are tried is one of the 24 permutations, drawn per
  cell as a ``uint8``.  ``moves`` counts every step, forward or back, until the
  walker stands on the target.  Cost O(H * W).
* ``"wall_follower"``: the right-hand rule (deterministic; ``rng`` is not used).  In a
  tree this is the DFS that tries right, straight, left relative to its heading.
* ``"random_walk"``: from each cell the walker moves through one of the open
  passages chosen uniformly at random, until it reaches the target.  The expected
  number of moves in a tree of ``n`` cells is at most ``2 (n - 1) d`` where ``d`` is
  the solution length (commute-time identity).  Measured means: ~2e4 moves on 20x20,
  ~3e6 on 100x100 (70 ms), ~1e8 on 400x400 (about 15-30 ns per move, i.e. seconds):
  meant for small mazes.  It is exact (no move cap); directions are drawn from
  ``rng`` in growing chunks of ``uint32``.

Every exploration's ``path`` is the walker's loop-erased trace when it reaches the
target, which in a perfect maze is exactly ``maze.solution``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from ces_env.exploration_kernels import dfs_direction_orders
from ces_env.pcg64_stream import bounded_uint32, is_numpy_pcg64, read_state_words, uint32_fill, write_state_words

__all__ = [
    "NORTH",
    "EAST",
    "SOUTH",
    "WEST",
    "OPEN_BIT",
    "DELTA_ROW",
    "DELTA_COL",
    "Maze",
    "Exploration",
    "generate_maze",
    "generate_mazes",
    "neighbour",
    "open_directions",
    "validate_solution",
    "explain_invalid_solution",
    "explore_dfs",
    "explore_dfs_seeded",
    "explore_wall_follower",
    "explore_random_walk",
    "EXPLORERS",
    "DEFAULT_EXPLORER",
    "is_perfect",
    "local_view",
    "check_cell",
]

NORTH, EAST, SOUTH, WEST = 0, 1, 2, 3
OPEN_BIT = np.array([1, 2, 4, 8], dtype=np.uint8)
DELTA_ROW = np.array([-1, 0, 1, 0])
DELTA_COL = np.array([0, 1, 0, -1])

# All 24 orders in which a walker can try the four directions; row k is order k.
DIRECTION_ORDERS = np.array(list(itertools.permutations(range(4))), dtype=np.uint8)
_ORDER_INDEX = {tuple(int(d) for d in order): k for k, order in enumerate(DIRECTION_ORDERS)}
# Right-hand rule: arriving with heading h, try right, straight, left, then back.
_RIGHT_HAND_ORDER = np.array(
    [_ORDER_INDEX[((h + 1) % 4, h, (h + 3) % 4, (h + 2) % 4)] for h in range(4)], dtype=np.uint8
)
_FIXED_ORDER = np.zeros(4, dtype=np.uint8)  # always N, E, S, W


def _pending_table() -> np.ndarray:
    """[order, open mask] -> open directions in that order, 2 bits each, count << 8."""
    table = np.zeros((len(DIRECTION_ORDERS), 16), dtype=np.int32)
    for k, order in enumerate(DIRECTION_ORDERS):
        for mask in range(16):
            directions = [int(d) for d in order if mask >> int(d) & 1]
            packed = sum(d << (2 * i) for i, d in enumerate(directions))
            table[k, mask] = packed | len(directions) << 8
    return table


_PENDING_TABLE = _pending_table()
_NO_CELL_ORDER = np.zeros(0, dtype=np.uint8)

# Result codes of the path checker (kernel returns (code, step)).
_VALID, _EMPTY, _OUT_OF_RANGE, _BAD_START, _NOT_ADJACENT, _WALL, _BAD_END = range(7)


# --------------------------------------------------------------------------- kernels


@njit(cache=True)
def _kruskal_kernel(height, width, random_u32):
    """Randomised Kruskal; ``random_u32`` holds one draw per grid edge."""
    passages = np.zeros(height * width, np.uint8)
    _kruskal_into(height, width, random_u32, passages)
    return passages.reshape(height, width)


@njit(cache=True)
def _kruskal_into(height, width, random_u32, passages):
    """Randomised Kruskal into ``passages`` (flat, zeroed; one draw per grid edge in ``random_u32``)."""
    n_cells = height * width
    # Edge id = cell * 2 + (0: east edge, 1: south edge); keep only edges inside the grid.
    n_edges = 2 * n_cells - height - width
    edges = np.empty(n_edges, np.int32)
    k = 0
    for cell in range(n_cells):
        if cell % width != width - 1:
            edges[k] = 2 * cell
            k += 1
        if cell < n_cells - width:
            edges[k] = 2 * cell + 1
            k += 1

    # Shuffle first, then stream: fusing the shuffle into the union-find loop chains
    # three dependent cache misses per edge and is ~1.4x slower on 400x400.
    for i in range(n_edges - 1, 0, -1):  # Fisher-Yates
        j = np.int64((np.uint64(random_u32[i]) * np.uint64(i + 1)) >> np.uint64(32))
        edge = edges[j]
        edges[j] = edges[i]
        edges[i] = edge

    # Union-find forest: parent[c] >= 0 is c's parent, parent[root] = -(component size).
    parent = np.full(n_cells, -1, np.int32)
    unions = 0
    for i in range(n_edges):
        edge = edges[i]
        a = edge >> 1
        b = a + 1 if (edge & 1) == 0 else a + width
        root_a = a
        while parent[root_a] >= 0:  # find with path splitting
            up = parent[root_a]
            if parent[up] >= 0:
                parent[root_a] = parent[up]
            root_a = up
        root_b = b
        while parent[root_b] >= 0:
            up = parent[root_b]
            if parent[up] >= 0:
                parent[root_b] = parent[up]
            root_b = up
        if root_a == root_b:
            continue  # would close a cycle
        if parent[root_a] > parent[root_b]:  # union by size: hang the smaller tree
            root_a, root_b = root_b, root_a
        parent[root_a] += parent[root_b]
        parent[root_b] = root_a
        if (edge & 1) == 0:
            passages[a] |= 2  # east
            passages[b] |= 8  # west
        else:
            passages[a] |= 4  # south
            passages[b] |= 1  # north
        unions += 1
        if unions == n_cells - 1:
            break  # spanning tree complete; the remaining edges would all close cycles


@njit(cache=True)
def _dfs_kernel(passages_flat, width, start, target, order_of_cell, order_by_heading, pending_table):
    """Depth-first walk from ``start``; returns (moves, stack at target, cells visited).

    A cell's direction order is ``order_of_cell[cell]`` when that array is non-empty,
    else ``order_by_heading[heading]`` (heading = direction of the step that entered
    the cell, north for the start).  When a cell is entered, ``pending_table[order,
    open mask without the way back]`` gives the directions it still has to try, packed
    two bits each with their count in bits 8-10: popping from that word instead of
    testing all four walls keeps the loop short and branch-light.  ``target = -1``
    explores everything (flood fill).  The visited mask keeps it correct on graphs
    with cycles; the returned path is empty if the target is unreachable.
    """
    n_cells = passages_flat.size
    step_offset = np.array([-width, 1, width, -1], np.int64)
    use_cell_order = order_of_cell.size > 0
    visited = np.zeros(n_cells, np.uint8)
    stack_cell = np.empty(n_cells, np.int32)
    stack_pending = np.empty(n_cells, np.int32)

    order = order_of_cell[start] if use_cell_order else order_by_heading[0]
    top = 0
    stack_cell[0] = start
    stack_pending[0] = pending_table[order, passages_flat[start]]
    visited[start] = 1
    n_visited = 1
    moves = 0
    if start == target:
        return moves, stack_cell[:1].copy(), n_visited
    while top >= 0:
        pending = stack_pending[top]
        if pending < 256:  # nothing left to try here
            top -= 1
            if top >= 0:
                moves += 1  # walking back to the parent is a move too
            continue
        direction = pending & 3
        stack_pending[top] = ((pending & 255) >> 2) | (pending - 256) & ~255
        nxt = stack_cell[top] + step_offset[direction]
        if visited[nxt]:
            continue
        visited[nxt] = 1
        n_visited += 1
        order = order_of_cell[nxt] if use_cell_order else order_by_heading[direction]
        came_from = 1 << ((direction + 2) & 3)
        top += 1
        stack_cell[top] = nxt
        stack_pending[top] = pending_table[order, passages_flat[nxt] & ~came_from]
        moves += 1
        if nxt == target:
            return moves, stack_cell[: top + 1].copy(), n_visited
    return moves, stack_cell[:0].copy(), n_visited


@njit(cache=True)
def _generate_mazes_kernel(height, width, count, state_words, no_cell_order, fixed_order, pending_table):
    """``count`` mazes drawn exactly as ``count`` calls of :func:`generate_maze` would draw them from the PCG64 stream
    held by ``state_words`` (advanced in place, :mod:`ces_env.pcg64_stream`).

    Returns the passages ``(count, height, width)``, starts, targets, and the solutions concatenated with their end
    offsets (solution ``i`` is ``solutions[ends[i - 1]:ends[i]]``, ``ends[-1]`` read as 0)."""
    n_cells = height * width
    n_edges = 2 * n_cells - height - width
    random_u32 = np.empty(n_edges, np.uint32)
    passages = np.zeros((count, n_cells), np.uint8)
    starts = np.empty(count, np.int64)
    targets = np.empty(count, np.int64)
    ends = np.empty(count, np.int64)
    paths = []
    end = 0
    for i in range(count):
        uint32_fill(state_words, random_u32)
        _kruskal_into(height, width, random_u32, passages[i])
        start = bounded_uint32(state_words, n_cells)
        target = bounded_uint32(state_words, n_cells - 1)
        target += target >= start  # uniform over the other cells
        _, path, _ = _dfs_kernel(passages[i], width, start, target, no_cell_order, fixed_order, pending_table)
        starts[i] = start
        targets[i] = target
        paths.append(path)
        end += path.size
        ends[i] = end
    solutions = np.empty(end, np.int32)
    begin = 0
    for i in range(count):
        solutions[begin : ends[i]] = paths[i]
        begin = ends[i]
    return passages.reshape(count, height, width), starts, targets, solutions, ends


@njit(cache=True)
def _random_walk_kernel(passages_flat, width, target, random_u32, stack, stack_index, state):
    """Advance a random walk by at most ``random_u32.size`` moves.

    ``state = [position, top of stack, moves, reached]`` is updated in place;
    ``stack[:top + 1]`` is the loop-erased walk and ``stack_index[cell]`` the
    position of ``cell`` in it (-1 if absent), so closing a loop is O(loop length).
    """
    step_offset = np.array([-width, 1, width, -1], np.int64)
    position = state[0]
    top = state[1]
    moves = state[2]
    for i in range(random_u32.size):
        bits = passages_flat[position]
        n_open = (bits & 1) + ((bits >> 1) & 1) + ((bits >> 2) & 1) + ((bits >> 3) & 1)
        if n_open == 0:
            break  # isolated cell: cannot happen in a valid maze, but never loop forever
        choice = np.int64((np.uint64(random_u32[i]) * np.uint64(n_open)) >> np.uint64(32))
        direction = 0
        for d in range(4):
            if (bits >> d) & 1:
                if choice == 0:
                    direction = d
                    break
                choice -= 1
        position = position + step_offset[direction]
        moves += 1
        loop_start = stack_index[position]
        if loop_start >= 0:  # back on the trace: erase the loop
            while top > loop_start:
                stack_index[stack[top]] = -1
                top -= 1
        else:
            top += 1
            stack[top] = position
            stack_index[position] = top
        if position == target:
            state[3] = 1
            break
    state[0] = position
    state[1] = top
    state[2] = moves


@njit(cache=True)
def _check_path_kernel(passages_flat, width, start, target, path):
    """Returns (code, step): the first problem of ``path`` (``_VALID`` if none)."""
    n_cells = passages_flat.size
    if path.size == 0:
        return _EMPTY, 0
    if path[0] < 0 or path[0] >= n_cells:
        return _OUT_OF_RANGE, 0
    if path[0] != start:
        return _BAD_START, 0
    for step in range(1, path.size):
        a = path[step - 1]
        b = path[step]
        if b < 0 or b >= n_cells:
            return _OUT_OF_RANGE, step
        delta = b - a
        if delta == -width:
            direction = 0
        elif delta == width:
            direction = 2
        elif delta == 1 and a % width != width - 1:
            direction = 1
        elif delta == -1 and a % width != 0:
            direction = 3
        else:
            return _NOT_ADJACENT, step
        if (passages_flat[a] >> direction) & 1 == 0:
            return _WALL, step
    if path[path.size - 1] != target:
        return _BAD_END, path.size - 1
    return _VALID, 0


# --------------------------------------------------------------------------- data


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class Maze:
    """A maze with a start, a target and their unique connecting path.

    Arrays are stored C-contiguous and read-only (a maze is shared by agents);
    construction checks shapes, ranges, that no passage leads off the grid and
    that ``solution`` is a valid path.  Equality is identity (arrays inside).
    """

    passages: np.ndarray
    start: int
    target: int
    solution: np.ndarray

    def __post_init__(self) -> None:
        passages = np.asarray(self.passages)
        if passages.ndim != 2 or passages.dtype.kind not in "iu":
            raise ValueError("passages must be a 2-D integer array")
        height, width = passages.shape
        if height < 2 or width < 2:
            raise ValueError(f"maze must be at least 2x2, got {height}x{width}")
        if passages.dtype != np.uint8 or passages.flags.writeable or not passages.flags.c_contiguous:
            if passages.min() < 0 or passages.max() > 15:
                raise ValueError("passage bytes must be in 0..15")
            passages = _read_only(np.array(passages, dtype=np.uint8, order="C"))
        elif passages.max() > 15:
            raise ValueError("passage bytes must be in 0..15")
        if (
            (passages[0] & OPEN_BIT[NORTH]).any()
            or (passages[-1] & OPEN_BIT[SOUTH]).any()
            or (passages[:, 0] & OPEN_BIT[WEST]).any()
            or (passages[:, -1] & OPEN_BIT[EAST]).any()
        ):
            raise ValueError("a passage leads off the grid")
        n_cells = height * width
        start, target = int(self.start), int(self.target)
        if not (0 <= start < n_cells and 0 <= target < n_cells) or start == target:
            raise ValueError(f"start {start} and target {target} must be distinct cells in 0..{n_cells - 1}")
        solution = np.asarray(self.solution)
        if solution.ndim != 1 or (solution.dtype.kind not in "iu" and solution.size):
            raise ValueError("solution must be a 1-D integer array")
        if solution.dtype != np.int32 or solution.flags.writeable:
            solution = _read_only(solution.astype(np.int32))
        object.__setattr__(self, "passages", passages)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "solution", solution)
        reason = explain_invalid_solution(self, solution)
        if reason is not None:
            raise ValueError(f"invalid solution: {reason}")

    @classmethod
    def _generated(cls, passages: np.ndarray, start: int, target: int, solution: np.ndarray) -> Maze:
        """A maze :func:`generate_maze` has just built, without ``__post_init__``'s checks: the generator's kernels
        give a read-only uint8 grid closed at the border and an int32 solution walked through it (tests/test_maze.py
        checks their output), and re-checking cost a third of a maze's generation at every reset (issue 12)."""
        maze = object.__new__(cls)
        object.__setattr__(maze, "passages", passages)
        object.__setattr__(maze, "start", start)
        object.__setattr__(maze, "target", target)
        object.__setattr__(maze, "solution", solution)
        return maze

    def __reduce__(self):
        # Rebuild through __init__ so unpickled arrays are read-only again.
        return (Maze, (self.passages, self.start, self.target, self.solution))

    @property
    def height(self) -> int:
        return self.passages.shape[0]

    @property
    def width(self) -> int:
        return self.passages.shape[1]

    @property
    def n_cells(self) -> int:
        return self.passages.size

    @property
    def solution_length(self) -> int:
        """Number of moves of the solution path."""
        return len(self.solution) - 1

    def cell_position(self, cell: int) -> tuple[int, int]:
        """(row, col) of a flat index."""
        return divmod(int(cell), self.width)


@dataclass(frozen=True, eq=False)
class Exploration:
    """Result of an exploration model.

    ``moves`` counts every step (forward and back) until the walker stands on the
    target; ``path`` is its loop-erased trace then, a valid solution.
    """

    moves: int
    path: np.ndarray


# --------------------------------------------------------------------------- generation


def generate_maze(height: int, width: int, rng: np.random.Generator) -> Maze:
    """A random perfect maze (randomised Kruskal) with distinct random start and target."""
    height, width = int(height), int(width)
    if height < 2 or width < 2:
        raise ValueError(f"maze must be at least 2x2, got {height}x{width}")
    n_cells = height * width
    n_edges = 2 * n_cells - height - width
    random_u32 = rng.integers(0, 2**32, size=n_edges, dtype=np.uint32)
    passages = _read_only(_kruskal_kernel(height, width, random_u32))
    start = int(rng.integers(n_cells))
    target = int(rng.integers(n_cells - 1))
    target += target >= start  # uniform over the other cells
    _, solution, _ = _dfs_kernel(passages.ravel(), width, start, target, _NO_CELL_ORDER, _FIXED_ORDER, _PENDING_TABLE)
    return Maze._generated(passages, start, target, _read_only(solution))


def generate_mazes(height: int, width: int, count: int, rng: np.random.Generator) -> tuple[Maze, ...]:
    """``count`` mazes, the same as ``tuple(generate_maze(height, width, rng) for _ in range(count))`` and leaving
    ``rng`` in the same state, in one compiled call.

    An instance draws one maze per inference class at every reset, and per maze the numpy draws and kernel dispatches
    cost more than the maze itself (issue 12). When ``rng`` runs on numpy's PCG64 (``default_rng``), its state is read
    once, the compiled draws continue its stream bit for bit (:mod:`ces_env.pcg64_stream`) and the advanced state is
    written back, under the bit generator's lock. Any other bit generator takes the per-maze path. The mazes' passages
    are read-only views of one block and their solutions read-only views of another.
    """
    height, width, count = int(height), int(width), int(count)
    if height < 2 or width < 2:
        raise ValueError(f"maze must be at least 2x2, got {height}x{width}")
    if count < 0:
        raise ValueError(f"maze count must be >= 0, got {count}")
    if count == 0:
        return ()
    bit_generator = rng.bit_generator
    if not is_numpy_pcg64(bit_generator) or height * width > 2**32:  # start and target are drawn as 32-bit numbers
        return tuple(generate_maze(height, width, rng) for _ in range(count))
    with bit_generator.lock:
        state_words = read_state_words(bit_generator)
        passages, starts, targets, solutions, ends = _generate_mazes_kernel(
            height, width, count, state_words, _NO_CELL_ORDER, _FIXED_ORDER, _PENDING_TABLE
        )
        write_state_words(bit_generator, state_words)
    _read_only(passages)
    _read_only(solutions)
    begins = [0, *ends[:-1].tolist()]
    return tuple(
        Maze._generated(passages[i], start, target, solutions[begin:end])
        for i, (start, target, begin, end) in enumerate(zip(starts.tolist(), targets.tolist(), begins, ends.tolist()))
    )


# --------------------------------------------------------------------------- queries


def check_cell(maze: Maze, cell: int) -> int:
    """``cell`` as an int, after checking that it is a cell of ``maze`` (``ValueError`` otherwise)."""
    cell = int(cell)
    if not 0 <= cell < maze.n_cells:
        raise ValueError(f"cell {cell} outside 0..{maze.n_cells - 1}")
    return cell


def neighbour(maze: Maze, cell: int, direction: int) -> int:
    """The cell reached from ``cell`` moving towards ``direction``, or -1 if a wall is in the way."""
    cell = check_cell(maze, cell)
    direction = int(direction)
    if not 0 <= direction < 4:
        raise ValueError(f"direction {direction} outside 0..3")
    row, col = divmod(cell, maze.width)
    if not maze.passages[row, col] & OPEN_BIT[direction]:
        return -1
    return (row + int(DELTA_ROW[direction])) * maze.width + col + int(DELTA_COL[direction])


def open_directions(maze: Maze, cell: int) -> np.ndarray:
    """(4,) int8 mask: 1 where the passage towards N, E, S, W is open."""
    row, col = divmod(check_cell(maze, cell), maze.width)
    return ((maze.passages[row, col] >> np.arange(4, dtype=np.uint8)) & 1).astype(np.int8)


def _as_path(path) -> np.ndarray | None:
    """``path`` as a C-contiguous int64 array, or None if it is not a 1-D integer sequence."""
    try:
        array = np.asarray(path)
    except (ValueError, OverflowError):
        return None
    if array.ndim != 1:
        return None
    if array.size and array.dtype.kind not in "iu":
        return None
    if array.dtype.kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
        return None
    return np.ascontiguousarray(array, dtype=np.int64)


def validate_solution(maze: Maze, path) -> bool:
    """True iff ``path`` (flat indices) starts at the start, moves between neighbouring
    cells through open passages only, and ends on the target.  Revisits are allowed."""
    array = _as_path(path)
    if array is None:
        return False
    code, _ = _check_path_kernel(maze.passages.ravel(), maze.width, maze.start, maze.target, array)
    return code == _VALID


def explain_invalid_solution(maze: Maze, path) -> str | None:
    """None if ``path`` is valid, else why not.  Step ``k`` is the move from ``path[k-1]`` to ``path[k]``."""
    array = _as_path(path)
    if array is None:
        return "path must be a 1-D sequence of integer cell indices"
    code, step = _check_path_kernel(maze.passages.ravel(), maze.width, maze.start, maze.target, array)
    if code == _VALID:
        return None
    position = maze.cell_position
    if code == _EMPTY:
        return "path is empty"
    if code == _OUT_OF_RANGE:
        return f"step {step}: cell index {array[step]} is outside 0..{maze.n_cells - 1}"
    if code == _BAD_START:
        return f"path starts at {position(array[0])}, not at the start {position(maze.start)}"
    here, there = position(array[step - 1]), position(array[step])
    if code == _NOT_ADJACENT:
        return f"step {step}: {here} and {there} are not neighbouring cells"
    if code == _WALL:
        return f"step {step}: wall between {here} and {there}"
    return f"path ends at {position(array[-1])}, not at the target {position(maze.target)}"


def is_perfect(maze: Maze) -> bool:
    """Connected and acyclic: H*W-1 passages, all symmetric, none off the grid, all cells reachable."""
    passages = maze.passages
    open_ = [(passages & bit) != 0 for bit in OPEN_BIT]
    if open_[NORTH][0].any() or open_[SOUTH][-1].any() or open_[WEST][:, 0].any() or open_[EAST][:, -1].any():
        return False
    if not np.array_equal(open_[EAST][:, :-1], open_[WEST][:, 1:]):
        return False
    if not np.array_equal(open_[SOUTH][:-1], open_[NORTH][1:]):
        return False
    n_passages = int(open_[EAST].sum()) + int(open_[SOUTH].sum())
    if n_passages != maze.n_cells - 1:
        return False
    _, _, n_reached = _dfs_kernel(
        passages.ravel(), maze.width, maze.start, -1, _NO_CELL_ORDER, _FIXED_ORDER, _PENDING_TABLE
    )
    return n_reached == maze.n_cells


# --------------------------------------------------------------------------- exploration


def _run_dfs(maze: Maze, order_of_cell: np.ndarray, order_by_heading: np.ndarray) -> Exploration:
    moves, path, _ = _dfs_kernel(
        maze.passages.ravel(), maze.width, maze.start, maze.target, order_of_cell, order_by_heading, _PENDING_TABLE
    )
    if path.size == 0:
        raise ValueError("target is unreachable from start")
    return Exploration(moves=int(moves), path=_read_only(path))


def explore_dfs(maze: Maze, rng: np.random.Generator) -> Exploration:
    """Depth-first exploration; each cell tries directions in an rng-drawn order (one of 24)."""
    order_of_cell = rng.integers(0, len(DIRECTION_ORDERS), size=maze.n_cells, dtype=np.uint8)
    return _run_dfs(maze, order_of_cell, _FIXED_ORDER)


def explore_dfs_seeded(maze: Maze, entropy_words: np.ndarray) -> Exploration:
    """``explore_dfs(maze, np.random.default_rng(entropy_words))`` without building the generator: the orders come
    from a compiled copy of numpy's SeedSequence, PCG64 and bounded draw (:mod:`ces_env.exploration_kernels`), bit for
    bit, ~15x cheaper on small mazes. ``entropy_words``: a 1-D integer array, every value in [0, 2**32)."""
    return _run_dfs(maze, dfs_direction_orders(entropy_words, maze.n_cells), _FIXED_ORDER)


def explore_wall_follower(maze: Maze, rng: np.random.Generator | None = None) -> Exploration:
    """Right-hand rule from the start (initial heading north); deterministic, ``rng`` unused."""
    return _run_dfs(maze, _NO_CELL_ORDER, _RIGHT_HAND_ORDER)


def explore_random_walk(
    maze: Maze, rng: np.random.Generator, first_chunk: int = 1 << 14, max_chunk: int = 1 << 22
) -> Exploration:
    """Uniform random walk over open passages until the target (exact, no cap).

    Directions are drawn as ``uint32`` chunks of ``first_chunk`` doubling up to
    ``max_chunk``; draws left in the last chunk are discarded, so the result is a
    function of the generator state (and the chunk sizes).  Expected cost is
    ``<= 2 (n - 1) * solution_length`` moves: use on small mazes.
    """
    n_cells = maze.n_cells
    stack = np.empty(n_cells, np.int32)
    stack_index = np.full(n_cells, -1, np.int32)
    stack[0] = maze.start
    stack_index[maze.start] = 0
    state = np.array([maze.start, 0, 0, 0], np.int64)  # position, top, moves, reached
    passages_flat = maze.passages.ravel()
    chunk = int(first_chunk)
    while not state[3]:
        moves_before = state[2]
        random_u32 = rng.integers(0, 2**32, size=chunk, dtype=np.uint32)
        _random_walk_kernel(passages_flat, maze.width, maze.target, random_u32, stack, stack_index, state)
        if state[2] == moves_before:
            raise ValueError("random walk is stuck on an isolated cell")
        chunk = min(2 * chunk, int(max_chunk))
    return Exploration(moves=int(state[2]), path=_read_only(stack[: state[1] + 1].copy()))


EXPLORERS: dict[str, Callable[[Maze, np.random.Generator], Exploration]] = {
    "dfs": explore_dfs,
    "wall_follower": explore_wall_follower,
    "random_walk": explore_random_walk,
}
DEFAULT_EXPLORER = "dfs"


# --------------------------------------------------------------------------- views


def local_view(maze: Maze, cell: int, radius: int) -> np.ndarray:
    """(2r+1, 2r+1) uint8 passage bytes around ``cell`` (centre = cell), 0 outside the grid.

    In a perfect maze every cell has an open side, so 0 unambiguously means "outside".
    """
    row, col = divmod(check_cell(maze, cell), maze.width)
    radius = int(radius)
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    size = 2 * radius + 1
    view = np.zeros((size, size), dtype=np.uint8)
    top, left = row - radius, col - radius
    row_lo, row_hi = max(top, 0), min(top + size, maze.height)
    col_lo, col_hi = max(left, 0), min(left + size, maze.width)
    view[row_lo - top : row_hi - top, col_lo - left : col_hi - left] = maze.passages[row_lo:row_hi, col_lo:col_hi]
    return view

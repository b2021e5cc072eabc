"""Tests of ces_env.maze (perfect mazes, validator, explorers, views) and ces_env.maze_render (pictures)."""

from __future__ import annotations

import hashlib
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from ces_env.maze import (
    DELTA_COL,
    DELTA_ROW,
    EAST,
    EXPLORERS,
    NORTH,
    OPEN_BIT,
    SOUTH,
    WEST,
    Exploration,
    Maze,
    explain_invalid_solution,
    explore_dfs,
    explore_random_walk,
    explore_wall_follower,
    generate_maze,
    is_perfect,
    local_view,
    neighbour,
    open_directions,
    validate_solution,
)
from ces_env.maze_render import RENDER_PALETTE, render_maze, render_maze_overview

SIZES = [(2, 2), (2, 3), (3, 2), (2, 9), (9, 2), (3, 5), (10, 10), (17, 4), (31, 40)]


# --------------------------------------------------------------------------- helpers


def passage_graph(maze: Maze) -> coo_matrix:
    """Undirected passage graph built from the east and south bits only."""
    height, width = maze.passages.shape
    cells = np.arange(height * width).reshape(height, width)
    east = (maze.passages & OPEN_BIT[EAST]) != 0
    south = (maze.passages & OPEN_BIT[SOUTH]) != 0
    rows = np.concatenate([cells[east], cells[south]])
    cols = np.concatenate([cells[east] + 1, cells[south] + width])
    n = height * width
    return coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def assert_perfect_independently(maze: Maze) -> None:
    """Spanning-tree check that does not use the module's own code."""
    p = maze.passages
    n = p.size
    assert p.dtype == np.uint8 and p.max() <= 15
    # nothing leads off the grid
    assert not (p[0] & OPEN_BIT[NORTH]).any() and not (p[-1] & OPEN_BIT[SOUTH]).any()
    assert not (p[:, 0] & OPEN_BIT[WEST]).any() and not (p[:, -1] & OPEN_BIT[EAST]).any()
    # symmetry
    assert np.array_equal((p[:, :-1] & OPEN_BIT[EAST]) != 0, (p[:, 1:] & OPEN_BIT[WEST]) != 0)
    assert np.array_equal((p[:-1] & OPEN_BIT[SOUTH]) != 0, (p[1:] & OPEN_BIT[NORTH]) != 0)
    graph = passage_graph(maze)
    assert graph.nnz == n - 1
    n_components, _ = connected_components(graph, directed=False)
    assert n_components == 1


def reference_solution(maze: Maze) -> np.ndarray:
    """Start..target path from scipy's BFS predecessors."""
    _, predecessors = breadth_first_order(passage_graph(maze), maze.start, directed=False)
    path = [maze.target]
    while path[-1] != maze.start:
        path.append(predecessors[path[-1]])
    return np.array(path[::-1])


def serpentine_maze(height: int, width: int) -> Maze:
    """Hand-built perfect maze: rows joined boustrophedon-style, start 0, target last cell."""
    passages = np.zeros((height, width), dtype=np.uint8)
    passages[:, :-1] |= OPEN_BIT[EAST]
    passages[:, 1:] |= OPEN_BIT[WEST]
    order = []
    for row in range(height):
        cols = range(width) if row % 2 == 0 else range(width - 1, -1, -1)
        order.extend(row * width + c for c in cols)
    for row in range(height - 1):
        col = width - 1 if row % 2 == 0 else 0
        passages[row, col] |= OPEN_BIT[SOUTH]
        passages[row + 1, col] |= OPEN_BIT[NORTH]
    return Maze(passages=passages, start=0, target=order[-1], solution=np.array(order))


def wall_step(maze: Maze) -> tuple[int, int]:
    """(index i on the solution, cell across a closed in-grid wall of solution[i])."""
    height, width = maze.passages.shape
    for i, cell in enumerate(maze.solution):
        row, col = divmod(int(cell), width)
        for d in range(4):
            r, c = row + DELTA_ROW[d], col + DELTA_COL[d]
            if 0 <= r < height and 0 <= c < width and not maze.passages[row, col] & OPEN_BIT[d]:
                return i, int(r * width + c)
    raise AssertionError("no wall next to the solution")


# --------------------------------------------------------------------------- generation


@pytest.mark.parametrize("height,width", SIZES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_mazes_are_perfect(height, width, seed):
    maze = generate_maze(height, width, np.random.default_rng(seed))
    assert maze.passages.shape == (height, width)
    assert (maze.height, maze.width, maze.n_cells) == (height, width, height * width)
    assert is_perfect(maze)
    assert_perfect_independently(maze)
    assert maze.start != maze.target
    assert 0 <= maze.start < maze.n_cells and 0 <= maze.target < maze.n_cells
    assert maze.solution.dtype == np.int32
    assert maze.solution[0] == maze.start and maze.solution[-1] == maze.target
    assert maze.solution_length == len(maze.solution) - 1
    assert validate_solution(maze, maze.solution)
    np.testing.assert_array_equal(maze.solution, reference_solution(maze))


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(2, 14),
    width=st.integers(2, 14),
    seed=st.integers(0, 2**63 - 1),
)
def test_random_sizes_and_seeds(height, width, seed):
    maze = generate_maze(height, width, np.random.default_rng(seed))
    assert is_perfect(maze)
    assert_perfect_independently(maze)
    assert maze.start != maze.target
    assert validate_solution(maze, maze.solution)
    assert explain_invalid_solution(maze, maze.solution) is None
    assert len(np.unique(maze.solution)) == len(maze.solution)  # simple path
    exploration = explore_dfs(maze, np.random.default_rng(seed + 1))
    np.testing.assert_array_equal(exploration.path, maze.solution)


def test_start_and_target_cover_the_grid():
    # on 2x2 every ordered pair of distinct cells should come up
    pairs = {(m.start, m.target) for m in (generate_maze(2, 2, np.random.default_rng(s)) for s in range(300))}
    assert pairs == {(a, b) for a in range(4) for b in range(4) if a != b}


@pytest.mark.parametrize("height,width", [(1, 5), (5, 1), (0, 0), (1, 1), (-3, 4)])
def test_too_small_is_rejected(height, width):
    with pytest.raises(ValueError):
        generate_maze(height, width, np.random.default_rng(0))


def test_same_seed_same_maze_and_exploration():
    a = generate_maze(25, 30, np.random.default_rng(123))
    b = generate_maze(25, 30, np.random.default_rng(123))
    np.testing.assert_array_equal(a.passages, b.passages)
    assert (a.start, a.target) == (b.start, b.target)
    np.testing.assert_array_equal(a.solution, b.solution)

    # the same generator stream, continued, gives the same exploration
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    maze_a, maze_b = generate_maze(20, 20, rng_a), generate_maze(20, 20, rng_b)
    for name in ("dfs", "random_walk", "wall_follower"):
        ea, eb = EXPLORERS[name](maze_a, rng_a), EXPLORERS[name](maze_b, rng_b)
        assert ea.moves == eb.moves, name
        np.testing.assert_array_equal(ea.path, eb.path)


def test_same_seed_same_maze_in_another_process():
    code = (
        "import numpy as np, hashlib\n"
        "from ces_env.maze import generate_maze, explore_dfs\n"
        "rng = np.random.default_rng(2024)\n"
        "m = generate_maze(30, 20, rng)\n"
        "e = explore_dfs(m, rng)\n"
        "print(hashlib.sha256(m.passages.tobytes()).hexdigest(), m.start, m.target, e.moves)\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    rng = np.random.default_rng(2024)
    maze = generate_maze(30, 20, rng)
    moves = explore_dfs(maze, rng).moves
    assert out == [hashlib.sha256(maze.passages.tobytes()).hexdigest(), str(maze.start), str(maze.target), str(moves)]


def test_different_seeds_different_mazes():
    mazes = [generate_maze(20, 20, np.random.default_rng(seed)) for seed in range(8)]
    for i in range(len(mazes)):
        for j in range(i + 1, len(mazes)):
            assert not np.array_equal(mazes[i].passages, mazes[j].passages)
    maze = mazes[0]
    moves = {explore_dfs(maze, np.random.default_rng(seed)).moves for seed in range(10)}
    assert len(moves) > 1


def test_generator_state_advances():
    rng = np.random.default_rng(5)
    first, second = generate_maze(15, 15, rng), generate_maze(15, 15, rng)
    assert not np.array_equal(first.passages, second.passages)


# --------------------------------------------------------------------------- Maze object


def test_maze_is_read_only_and_pickles():
    maze = generate_maze(6, 7, np.random.default_rng(0))
    with pytest.raises(ValueError):
        maze.passages[0, 0] = 0
    with pytest.raises(ValueError):
        maze.solution[0] = 0
    with pytest.raises(AttributeError):
        maze.start = 3
    clone = pickle.loads(pickle.dumps(maze))
    np.testing.assert_array_equal(clone.passages, maze.passages)
    assert (clone.start, clone.target) == (maze.start, maze.target)
    assert not clone.passages.flags.writeable


def test_maze_constructor_checks_input():
    good = serpentine_maze(3, 4)
    passages = np.array(good.passages)
    with pytest.raises(ValueError):  # passage off the grid
        bad = passages.copy()
        bad[0, 0] |= OPEN_BIT[NORTH]
        Maze(bad, good.start, good.target, good.solution)
    with pytest.raises(ValueError):  # start == target
        Maze(passages, 0, 0, [0])
    with pytest.raises(ValueError):  # solution through a wall
        Maze(passages, 0, 4, [0, 4])
    with pytest.raises(ValueError):
        Maze(passages[:1], 0, 1, [0, 1])
    # caller's array is copied, not frozen in place
    maze = Maze(passages, good.start, good.target, good.solution)
    assert passages.flags.writeable and not maze.passages.flags.writeable


def test_is_perfect_detects_broken_mazes():
    maze = serpentine_maze(4, 5)
    assert is_perfect(maze)
    assert_perfect_independently(maze)

    cycle = np.array(maze.passages)  # extra passage (0,0)-(1,0) closes a loop
    cycle[0, 0] |= OPEN_BIT[SOUTH]
    cycle[1, 0] |= OPEN_BIT[NORTH]
    assert not is_perfect(Maze(cycle, maze.start, maze.target, maze.solution))

    one_sided = np.array(maze.passages)
    one_sided[0, 0] |= OPEN_BIT[SOUTH]
    assert not is_perfect(Maze(one_sided, maze.start, maze.target, maze.solution))

    # cut the last row off while adding a loop elsewhere: n-1 passages but disconnected
    split = np.array(maze.passages)
    split[2, 0] &= ~OPEN_BIT[SOUTH]
    split[3, 0] &= ~OPEN_BIT[NORTH]
    split[0, 0] |= OPEN_BIT[SOUTH]
    split[1, 0] |= OPEN_BIT[NORTH]
    broken = Maze(split, 0, 4, np.arange(5))
    assert not is_perfect(broken)


def test_explorers_handle_a_maze_with_loops():
    rng = np.random.default_rng(3)
    maze = generate_maze(12, 12, rng)
    passages = np.array(maze.passages)
    passages[:, :-1] |= OPEN_BIT[EAST]  # open every east-west wall: lots of cycles
    passages[:, 1:] |= OPEN_BIT[WEST]
    loopy = Maze(passages, maze.start, maze.target, maze.solution)
    assert not is_perfect(loopy)
    for name, explore in EXPLORERS.items():
        result = explore(loopy, rng)
        assert validate_solution(loopy, result.path), name
        assert len(np.unique(result.path)) == len(result.path), name
        assert result.moves >= len(result.path) - 1


# --------------------------------------------------------------------------- validator


@pytest.fixture(scope="module")
def maze() -> Maze:
    return generate_maze(12, 15, np.random.default_rng(42))


def test_validator_accepts_solution_in_any_sequence_type(maze):
    assert validate_solution(maze, maze.solution)
    assert validate_solution(maze, list(map(int, maze.solution)))
    assert validate_solution(maze, tuple(maze.solution.astype(np.uint16)))
    assert explain_invalid_solution(maze, maze.solution) is None


def test_validator_rejects_wrong_start(maze):
    path = maze.solution[1:]
    assert not validate_solution(maze, path)
    assert "starts at" in explain_invalid_solution(maze, path)


def test_validator_rejects_wrong_end(maze):
    path = maze.solution[:-1]
    assert not validate_solution(maze, path)
    assert "ends at" in explain_invalid_solution(maze, path)
    # going one step past the target and coming back is still a valid walk
    back_and_forth = list(maze.solution) + [int(maze.solution[-2]), int(maze.solution[-1])]
    assert validate_solution(maze, back_and_forth)


def test_validator_rejects_a_step_through_a_wall(maze):
    i, across = wall_step(maze)
    path = list(maze.solution[: i + 1]) + [across]
    assert not validate_solution(maze, path)
    reason = explain_invalid_solution(maze, path)
    width = maze.width
    here, there = divmod(int(maze.solution[i]), width), divmod(across, width)
    assert reason == f"step {i + 1}: wall between {here} and {there}"


@pytest.mark.parametrize("jump", [2, -2, 0])
def test_validator_rejects_non_adjacent_jumps(maze, jump):
    target = maze.start + jump
    if not 0 <= target < maze.n_cells:
        target = maze.start - jump
    path = [maze.start, target]
    assert not validate_solution(maze, path)
    assert re.match(r"step 1: .* not neighbouring cells", explain_invalid_solution(maze, path))


def test_validator_rejects_row_wraparound():
    snake = serpentine_maze(3, 4)  # cells 3 (row 0, last col) and 4 (row 1, first col) differ by 1
    path = [0, 1, 2, 3, 4]
    assert not validate_solution(snake, path)
    assert explain_invalid_solution(snake, path) == "step 4: (0, 3) and (1, 0) are not neighbouring cells"
    assert validate_solution(snake, snake.solution)


@pytest.mark.parametrize("bad", [-1, 10**6, 2**40])
def test_validator_rejects_out_of_range_indices(maze, bad):
    path = [maze.start, bad]
    assert not validate_solution(maze, path)
    assert explain_invalid_solution(maze, path).startswith("step 1: cell index")
    assert not validate_solution(maze, [bad] + list(maze.solution))
    assert not validate_solution(maze, np.array([maze.start, 2**63 + 5], dtype=np.uint64))


def test_validator_rejects_empty_and_malformed_paths(maze):
    for path in ([], np.array([], dtype=np.int64), np.zeros(0)):
        assert not validate_solution(maze, path)
        assert explain_invalid_solution(maze, path) == "path is empty"
    for path in ([0.5, 1.5], [[maze.start]], "abc", [maze.start, None], [2**70]):
        assert not validate_solution(maze, path)
        assert explain_invalid_solution(maze, path) is not None


def test_validator_step_number_is_the_failing_move(maze):
    # a long valid prefix, then a jump: the reason must name that exact step
    prefix = list(maze.solution[:-1])
    path = prefix + [int(maze.solution[-2])]  # "move" to the same cell
    reason = explain_invalid_solution(maze, path)
    assert reason.startswith(f"step {len(prefix)}:")


# --------------------------------------------------------------------------- explorers


@pytest.mark.parametrize("seed", range(6))
def test_dfs_exploration(seed):
    rng = np.random.default_rng(seed)
    maze = generate_maze(15, 20, rng)
    result = explore_dfs(maze, rng)
    assert isinstance(result, Exploration)
    assert validate_solution(maze, result.path)
    np.testing.assert_array_equal(result.path, maze.solution)
    # in a tree every off-path edge is walked twice (there and back), path edges once
    assert result.moves >= maze.solution_length
    assert (result.moves - maze.solution_length) % 2 == 0
    assert result.moves <= 2 * (maze.n_cells - 1) - maze.solution_length


def test_dfs_explores_off_path_on_average():
    rng = np.random.default_rng(11)
    extra = []
    for _ in range(20):
        maze = generate_maze(20, 20, rng)
        extra.append(explore_dfs(maze, rng).moves - maze.solution_length)
    assert np.mean(extra) > 0


def reference_right_hand_moves(maze: Maze) -> int:
    """Plain step-by-step right-hand rule, starting with heading north."""
    cell, heading, moves = maze.start, NORTH, 0
    while cell != maze.target:
        for turn in (1, 0, 3, 2):  # right, straight, left, back
            direction = (heading + turn) % 4
            nxt = neighbour(maze, cell, direction)
            if nxt >= 0:
                cell, heading, moves = nxt, direction, moves + 1
                break
    return moves


@pytest.mark.parametrize("seed", range(5))
def test_wall_follower_matches_step_by_step_rule(seed):
    maze = generate_maze(9, 13, np.random.default_rng(seed))
    assert explore_wall_follower(maze).moves == reference_right_hand_moves(maze)


def test_wall_follower_is_deterministic_and_valid():
    maze = generate_maze(15, 15, np.random.default_rng(9))
    a, b = explore_wall_follower(maze), explore_wall_follower(maze, np.random.default_rng(1))
    assert a.moves == b.moves
    np.testing.assert_array_equal(a.path, maze.solution)
    assert (a.moves - maze.solution_length) % 2 == 0
    # on the serpentine the right-hand rule only ever walks forward
    snake = serpentine_maze(4, 6)
    assert explore_wall_follower(snake).moves == snake.solution_length


@pytest.mark.parametrize("height,width", [(2, 2), (2, 7), (6, 5), (12, 12)])
def test_random_walk_reaches_target(height, width):
    rng = np.random.default_rng(height * 100 + width)
    for _ in range(3):
        maze = generate_maze(height, width, rng)
        result = explore_random_walk(maze, rng, first_chunk=64)  # small chunks: exercise chunking
        np.testing.assert_array_equal(result.path, maze.solution)
        assert result.moves >= maze.solution_length
        assert (result.moves - maze.solution_length) % 2 == 0  # grid graphs are bipartite


def test_random_walk_mean_matches_theory_on_a_line():
    # 2xN serpentine from one end to the other is a path of n cells: E[moves] = (n - 1)^2
    snake = serpentine_maze(2, 5)
    rng = np.random.default_rng(0)
    moves = [explore_random_walk(snake, rng).moves for _ in range(400)]
    assert abs(np.mean(moves) - 81) < 10


def test_explorer_registry():
    assert {"dfs", "random_walk"} <= set(EXPLORERS)
    assert EXPLORERS["dfs"] is explore_dfs
    maze = generate_maze(8, 8, np.random.default_rng(0))
    for name, explore in EXPLORERS.items():
        result = explore(maze, np.random.default_rng(1))
        np.testing.assert_array_equal(result.path, maze.solution, err_msg=name)


# --------------------------------------------------------------------------- queries and views


def test_neighbour_and_open_directions_agree_with_passages(maze):
    height, width = maze.passages.shape
    for cell in range(maze.n_cells):
        row, col = divmod(cell, width)
        mask = open_directions(maze, cell)
        assert mask.dtype == np.int8 and mask.shape == (4,)
        for d in range(4):
            is_open = bool(maze.passages[row, col] & OPEN_BIT[d])
            assert bool(mask[d]) == is_open
            expected = (row + DELTA_ROW[d]) * width + col + DELTA_COL[d] if is_open else -1
            assert neighbour(maze, cell, d) == expected
            if is_open:  # symmetric
                assert neighbour(maze, expected, (d + 2) % 4) == cell
    with pytest.raises(ValueError):
        neighbour(maze, maze.n_cells, NORTH)
    with pytest.raises(ValueError):
        neighbour(maze, 0, 4)


@pytest.mark.parametrize("radius", [0, 1, 3, 20])
def test_local_view_matches_padded_reference(maze, radius):
    padded = np.pad(maze.passages, radius)
    for cell in [0, maze.n_cells - 1, maze.width - 1, maze.start, maze.target, 37]:
        view = local_view(maze, cell, radius)
        row, col = divmod(cell, maze.width)
        assert view.shape == (2 * radius + 1, 2 * radius + 1) and view.dtype == np.uint8
        assert view[radius, radius] == maze.passages[row, col]
        np.testing.assert_array_equal(view, padded[row : row + 2 * radius + 1, col : col + 2 * radius + 1])


def test_local_view_is_zero_outside():
    maze = generate_maze(5, 5, np.random.default_rng(0))
    view = local_view(maze, 0, 2)
    assert (view[:2] == 0).all() and (view[:, :2] == 0).all()
    assert (view[2:, 2:] > 0).all()  # every cell of a perfect maze has an open side


def test_render_maze():
    maze = serpentine_maze(3, 4)
    px = 3
    image = render_maze(maze, cell_px=px)
    assert image.dtype == np.uint8
    assert image.shape == (3 * (px + 1) + 1, 4 * (px + 1) + 1, 3)

    def cell_pixel(cell):
        row, col = divmod(cell, 4)
        return image[1 + row * (px + 1) + 1, 1 + col * (px + 1) + 1]

    np.testing.assert_array_equal(cell_pixel(maze.start), RENDER_PALETTE[3])
    np.testing.assert_array_equal(cell_pixel(maze.target), RENDER_PALETTE[4])
    np.testing.assert_array_equal(cell_pixel(1), RENDER_PALETTE[1])
    np.testing.assert_array_equal(image[0, 0], RENDER_PALETTE[0])  # border
    np.testing.assert_array_equal(image[-1, -1], RENDER_PALETTE[0])
    # wall line between (0,1) and (1,1) is closed, between (0,0) and (0,1) open
    np.testing.assert_array_equal(image[px + 1, 1 + (px + 1) + 1], RENDER_PALETTE[0])
    np.testing.assert_array_equal(image[2, px + 1], RENDER_PALETTE[1])

    marked = render_maze(maze, cell_px=px, visited=np.array([1, 2]), position=6)
    np.testing.assert_array_equal(marked[2, 1 * (px + 1) + 2], RENDER_PALETTE[2])  # visited cell 1
    np.testing.assert_array_equal(marked[2, 2 * (px + 1)], RENDER_PALETTE[2])  # passage 1-2
    np.testing.assert_array_equal(marked[2, px + 1], RENDER_PALETTE[1])  # passage 0-1 (0 not visited)
    row, col = divmod(6, 4)
    np.testing.assert_array_equal(marked[1 + row * (px + 1), 1 + col * (px + 1)], RENDER_PALETTE[5])
    mask = np.zeros((3, 4), dtype=bool)
    mask.flat[[1, 2]] = True
    np.testing.assert_array_equal(render_maze(maze, px, visited=mask, position=6), marked)


def test_render_large_maze_shape():
    maze = generate_maze(40, 60, np.random.default_rng(0))
    image = render_maze(maze, cell_px=2, visited=maze.solution, position=maze.solution[3])
    assert image.shape == (40 * 3 + 1, 60 * 3 + 1, 3) and image.dtype == np.uint8
    assert len(np.unique(image.reshape(-1, 3), axis=0)) == 6


def test_overview_keeps_markers_visible_on_large_mazes():
    maze = generate_maze(300, 200, np.random.default_rng(5))
    image = render_maze_overview(maze, 100, visited=np.array([maze.start]), position=maze.start)
    assert image.dtype == np.uint8 and image.shape == (100, 67, 3)
    colours = {tuple(c) for c in image.reshape(-1, 3)}
    assert tuple(RENDER_PALETTE[4]) in colours  # the target stays visible
    assert tuple(RENDER_PALETTE[5]) in colours  # and the position (drawn over the start)

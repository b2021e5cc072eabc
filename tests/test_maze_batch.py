"""``generate_mazes`` and ``ces_env.pcg64_stream``: the compiled batch continues the caller's PCG64 stream bit for bit.

Every instance (and so every episode, golden file and figure) depends on the mazes and on the generator state they
leave behind, so each test compares against numpy itself: the per-maze path (``generate_maze``, numpy draws) for the
mazes, and ``bit_generator.state`` plus the next draws for the stream. Streams are taken both with and without a
buffered 32-bit half (after an odd or even number of uint32 draws); the tests assert that both cases occur.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import ces_env.maze as maze_module
from ces_env.config import make_config
from ces_env.generator import generate_instance
from ces_env.maze import Maze, generate_maze, generate_mazes
from ces_env.pcg64_stream import bounded_uint32, next_uint32, read_state_words, uint32_fill, write_state_words


def _twin_generators(seed: int, n_uint32_before: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Two generators in the same state, after ``n_uint32_before`` uint32 draws (odd: a 32-bit half is buffered)."""
    pair = (np.random.default_rng(seed), np.random.default_rng(seed))
    for rng in pair:
        rng.integers(0, 2**32, size=n_uint32_before, dtype=np.uint32)
    return pair


def _assert_same_stream(expected: np.random.Generator, actual: np.random.Generator) -> None:
    # assert_equal walks the state dict (Philox and MT19937 hold arrays in it) and fails on any difference.
    np.testing.assert_equal(actual.bit_generator.state, expected.bit_generator.state)
    # The next draws of every width: a uint32 (reads the buffered half), a bounded int, a double (a new 64-bit output).
    next_uint32s = [rng.integers(0, 2**32, size=3, dtype=np.uint32).tolist() for rng in (expected, actual)]
    assert next_uint32s[0] == next_uint32s[1]
    assert int(actual.integers(1000)) == int(expected.integers(1000))
    assert actual.random() == expected.random()


def _assert_same_mazes(expected: list[Maze], actual: tuple[Maze, ...]) -> None:
    assert len(actual) == len(expected)
    for want, got in zip(expected, actual):
        assert isinstance(got, Maze)
        assert got.passages.dtype == np.uint8 and got.solution.dtype == np.int32
        assert not got.passages.flags.writeable and not got.solution.flags.writeable
        assert got.passages.flags.c_contiguous
        np.testing.assert_array_equal(got.passages, want.passages)
        assert (got.start, got.target) == (want.start, want.target)
        assert type(got.start) is int and type(got.target) is int
        np.testing.assert_array_equal(got.solution, want.solution)


def _sizes_and_counts() -> list[tuple[int, int, int, int]]:
    """(seed, height, width, count): every height and width 2..30 at least once, counts 1..12."""
    cases = []
    for seed in range(120):
        height = 2 + seed % 29
        width = 2 + (seed * 11) % 29
        cases.append((seed, height, width, 1 + seed % 12))
    return cases


def test_batch_equals_the_per_maze_path_and_leaves_the_same_state() -> None:
    buffered_before = {False: 0, True: 0}
    buffered_after = {False: 0, True: 0}
    for seed, height, width, count in _sizes_and_counts():
        for n_before in (0, 1, 2, 5):
            per_maze, batch = _twin_generators(seed, n_before)
            buffered_before[bool(batch.bit_generator.state["has_uint32"])] += 1
            expected = [generate_maze(height, width, per_maze) for _ in range(count)]
            actual = generate_mazes(height, width, count, batch)
            buffered_after[bool(batch.bit_generator.state["has_uint32"])] += 1
            _assert_same_mazes(expected, actual)
            _assert_same_stream(per_maze, batch)
    # Both states of the 32-bit buffer were met on the way in and on the way out.
    assert min(buffered_before.values()) > 0 and min(buffered_after.values()) > 0


def test_a_large_maze_and_mazes_that_stay_valid() -> None:
    per_maze, batch = _twin_generators(2024, 3)
    expected = [generate_maze(200, 200, per_maze) for _ in range(2)]
    actual = generate_mazes(200, 200, 2, batch)
    _assert_same_mazes(expected, actual)
    _assert_same_stream(per_maze, batch)
    for maze in actual:  # the checked constructor accepts them, and they pickle as independent read-only arrays
        Maze(maze.passages, maze.start, maze.target, maze.solution)
        copy = pickle.loads(pickle.dumps(maze))
        np.testing.assert_array_equal(copy.passages, maze.passages)
        assert not copy.passages.flags.writeable


def test_no_maze_draws_nothing_and_bad_sizes_are_refused() -> None:
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    assert generate_mazes(5, 5, 0, rng) == ()
    assert rng.bit_generator.state == state
    with pytest.raises(ValueError, match="at least 2x2"):
        generate_mazes(1, 5, 3, rng)
    with pytest.raises(ValueError, match="count"):
        generate_mazes(5, 5, -1, rng)


@pytest.mark.parametrize(
    "bit_generator",
    [np.random.Philox, np.random.PCG64DXSM, np.random.MT19937, np.random.SFC64],
    ids=lambda b: b.__name__,
)
def test_other_bit_generators_take_the_per_maze_path(bit_generator, monkeypatch) -> None:
    def no_kernel(*args):
        raise AssertionError("the compiled batch reproduces PCG64 only")

    monkeypatch.setattr(maze_module, "_generate_mazes_kernel", no_kernel)
    per_maze = np.random.Generator(bit_generator(7))
    batch = np.random.Generator(bit_generator(7))
    expected = [generate_maze(9, 6, per_maze) for _ in range(4)]
    _assert_same_mazes(expected, generate_mazes(9, 6, 4, batch))
    _assert_same_stream(per_maze, batch)


def test_generate_instance_holds_the_per_maze_mazes_in_class_order(monkeypatch) -> None:
    """The instance's mazes are those the per-maze path draws, one per class in class order, from the generator state
    ``generate_instance`` reached before its mazes; nothing is drawn after them."""
    config = make_config("small")
    batch_call = []

    def recording_generate_mazes(height, width, count, rng):
        batch_call.append((height, width, count, rng.bit_generator.state))
        return generate_mazes(height, width, count, rng)

    monkeypatch.setattr("ces_env.generator.generate_mazes", recording_generate_mazes)
    for seed in range(5):
        batch_call.clear()
        rng = np.random.default_rng(seed)
        instance = generate_instance(config, rng)
        (height, width, count, state_before_mazes), *more_calls = batch_call
        assert not more_calls and (height, width) == config.maze_shape and count == config.n_classes > 1
        replay = np.random.default_rng()
        replay.bit_generator.state = state_before_mazes
        _assert_same_mazes([generate_maze(height, width, replay) for _ in range(count)], instance.mazes)
        _assert_same_stream(replay, rng)


# --------------------------------------------------------------------------- the stream primitives


@pytest.mark.parametrize("n_before", [0, 1, 2, 3])
def test_uint32_fill_and_next_uint32_continue_numpy(n_before: int) -> None:
    for seed in range(40):
        reference, compiled = _twin_generators(seed, n_before)
        words = read_state_words(compiled.bit_generator)
        for n in (0, 1, 2, 3, 7, 64, 1 + seed):
            out = np.empty(n, np.uint32)
            uint32_fill(words, out)
            np.testing.assert_array_equal(out, reference.integers(0, 2**32, size=n, dtype=np.uint32))
            assert next_uint32(words) == reference.integers(0, 2**32, dtype=np.uint32)
        write_state_words(compiled.bit_generator, words)
        _assert_same_stream(reference, compiled)


# Ranges whose rejection threshold (2**32 - high) % high is 0, tiny, or large (3e9 rejects ~30% of draws).
_HIGHS = (1, 2, 3, 4, 5, 399, 400, 40_000, 2**31 + 1, 3_000_000_000, 2**32 - 1, 2**32)


@pytest.mark.parametrize("n_before", [0, 1])
def test_bounded_uint32_is_numpys_integers(n_before: int) -> None:
    for seed in range(60):
        reference, compiled = _twin_generators(seed, n_before)
        words = read_state_words(compiled.bit_generator)
        for _ in range(4):
            for high in _HIGHS:
                assert bounded_uint32(words, high) == int(reference.integers(high))
        write_state_words(compiled.bit_generator, words)
        _assert_same_stream(reference, compiled)


def test_bounded_uint32_refuses_ranges_it_does_not_reproduce() -> None:
    words = read_state_words(np.random.default_rng(0).bit_generator)
    for high in (0, 2**32 + 1):
        with pytest.raises(ValueError, match="high must be in"):
            bounded_uint32(words, high)

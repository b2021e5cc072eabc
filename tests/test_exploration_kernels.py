"""The compiled exploration draw (ces_env.exploration_kernels) must be numpy's draw bit for bit, stage by stage, and
the simulator that uses it must play exactly the episodes it played with numpy's generator (issue 12)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba.core.errors import TypingError

from ces_env import exploration_kernels as kernels
from ces_env.config import make_config
from ces_env.core import simulator as simulator_module
from ces_env.core.simulator import WAIT, CESSimulator, uint32_words
from ces_env.generator import generate_instance
from ces_env.maze import EXPLORERS, explore_dfs, explore_dfs_seeded, generate_maze

SEEDS = st.integers(0, 2**63 - 1)
WORD = st.integers(0, 2**32 - 1)
WORD_LISTS = st.lists(WORD, min_size=0, max_size=9)  # shorter than, equal to and longer than the pool of 4


def _words(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.uint32)


# ----------------------------------------------------------------------------------------- stage by stage


@settings(max_examples=200, deadline=None)
@given(WORD_LISTS)
def test_seed_sequence_pool_and_state_are_numpy(values: list[int]) -> None:
    words = _words(values)
    sequence = np.random.SeedSequence(words)
    assert np.array_equal(kernels.seed_sequence_pool(words), sequence.pool)
    assert np.array_equal(kernels.seed_sequence_state(words), sequence.generate_state(4, np.uint64))


@settings(max_examples=200, deadline=None)
@given(WORD_LISTS, st.integers(0, 40))
def test_pcg64_seeding_and_raw_outputs_are_numpy(values: list[int], n: int) -> None:
    words = _words(values)
    bit_generator = np.random.PCG64(words)
    state = bit_generator.state["state"]
    mine = [int(v) for v in kernels.pcg64_seeded_state(words)]
    assert (mine[0] << 64 | mine[1], mine[2] << 64 | mine[3]) == (state["state"], state["inc"])
    assert np.array_equal(kernels.pcg64_raw(words, n), bit_generator.random_raw(n))


@settings(max_examples=150, deadline=None)
@given(WORD_LISTS, st.sampled_from([1, 2, 3, 7, 24, 100, 128, 129, 255, 256]), st.integers(0, 3000))
def test_bounded_uint8_is_generator_integers(values: list[int], high: int, n: int) -> None:
    """Powers of two (no rejection), 255/256 (numpy's raw-byte case), small and large bounds, and sizes that end
    inside a 64-bit output (the tail loop) or on its boundary."""
    words = _words(values)
    expected = np.random.default_rng(words).integers(0, high, size=n, dtype=np.uint8)
    assert np.array_equal(kernels.bounded_uint8(words, high, n), expected)


# ----------------------------------------------------------------------------------------- the explorer's draw


@settings(max_examples=300, deadline=None)
@given(SEEDS, WORD, WORD, st.integers(1, 5000))
def test_dfs_direction_orders_are_the_tuple_seeded_draw(seed: int, task: int, attempt: int, n_cells: int) -> None:
    """Against the simulator's original stream, seeded with the tuple (numpy splits the seed into words itself)."""
    expected = np.random.default_rng((seed, task, attempt)).integers(0, 24, size=n_cells, dtype=np.uint8)
    words = _words([*uint32_words(seed), task, attempt])
    assert np.array_equal(kernels.dfs_direction_orders(words, n_cells), expected)
    into = np.full(n_cells, 255, dtype=np.uint8)
    kernels.dfs_direction_orders_into(words, into)
    assert np.array_equal(into, expected)
    attempt_into = np.full(n_cells, 255, dtype=np.uint8)
    kernels.attempt_direction_orders_into(_words(uint32_words(seed)), task, attempt, attempt_into)
    assert np.array_equal(attempt_into, expected)


def test_dfs_direction_orders_on_a_400x400_maze() -> None:
    seed, task, attempt = 2**63 - 2, 4_000_000_000, 17
    expected = np.random.default_rng((seed, task, attempt)).integers(0, 24, size=160_000, dtype=np.uint8)
    got = kernels.dfs_direction_orders(_words([*uint32_words(seed), task, attempt]), 160_000)
    assert np.array_equal(got, expected)
    assert np.bincount(got, minlength=24).min() > 0  # all 24 orders drawn: the comparison is not of two constants


@pytest.mark.parametrize("n_words", [1, 2, 3, 4, 5, 6])
def test_entropy_of_each_length_and_any_integer_dtype(n_words: int) -> None:
    values = list(np.random.default_rng(n_words).integers(0, 2**32, size=n_words))
    expected = np.random.default_rng(_words(values)).integers(0, 24, size=999, dtype=np.uint8)
    for dtype in (np.uint32, np.int64, np.uint64):
        assert np.array_equal(kernels.dfs_direction_orders(np.array(values, dtype=dtype), 999), expected)


def test_zero_cells_draw_nothing() -> None:
    assert kernels.dfs_direction_orders(_words([1, 2, 3]), 0).shape == (0,)


# ----------------------------------------------------------------------------------------- the slip's double


def _numpy_orders_then_double(words: np.ndarray, n_cells: int) -> tuple[np.ndarray, float, int]:
    """The simulator's draws on one stream: the orders, then ``random()``; with the 32-bit half numpy held buffered
    between the two (1 when the last byte came from a 64-bit output's low half)."""
    stream = np.random.default_rng(words)
    orders = stream.integers(0, 24, size=n_cells, dtype=np.uint8)
    buffered = int(stream.bit_generator.state["has_uint32"])
    return orders, stream.random(), buffered


@settings(max_examples=400, deadline=None)
@given(SEEDS, WORD, WORD, st.integers(1, 5000) | st.integers(1, 40))
def test_double_after_the_orders_is_numpy(seed: int, task: int, attempt: int, n_cells: int) -> None:
    """Bit for bit (``==`` on the doubles, and their bits), small and large mazes, odd and even cell counts."""
    words = _words([*uint32_words(seed), task, attempt])
    expected_orders, expected_double, _ = _numpy_orders_then_double(words, n_cells)
    orders = np.full(n_cells, 255, dtype=np.uint8)
    double = kernels.dfs_orders_then_double(words, orders)
    assert np.array_equal(orders, expected_orders)
    assert np.float64(double).view(np.uint64) == np.float64(expected_double).view(np.uint64)


def test_double_after_the_orders_with_and_without_a_buffered_half() -> None:
    """Every count from 0 to 40 and some large ones, over several streams each: the byte draws end on a 64-bit output's
    low half (numpy keeps the high half buffered, which ``random()`` must skip) or on its high half; the test checks
    that both happened many times."""
    buffered_counts = {0: 0, 1: 0}
    for n_cells in [*range(0, 41), 99, 100, 101, 4999, 5000]:
        for stream_seed in range(12):
            words = _words([*uint32_words(stream_seed * 7919 + n_cells), n_cells, stream_seed])
            expected_orders, expected_double, buffered = _numpy_orders_then_double(words, n_cells)
            buffered_counts[buffered] += 1
            orders = np.empty(n_cells, dtype=np.uint8)
            assert kernels.dfs_orders_then_double(words, orders) == expected_double, (n_cells, stream_seed)
            assert np.array_equal(orders, expected_orders)
    assert min(buffered_counts.values()) > 100, buffered_counts


@settings(max_examples=200, deadline=None)
@given(SEEDS, WORD, WORD)
def test_first_double_is_numpy(seed: int, task: int, attempt: int) -> None:
    words = _words([*uint32_words(seed), task, attempt])
    expected = np.random.default_rng((seed, task, attempt)).random()
    assert np.float64(kernels.first_double(words)).view(np.uint64) == np.float64(expected).view(np.uint64)
    assert kernels.dfs_orders_then_double(words, np.empty(0, np.uint8)) == expected  # no orders: the fresh stream


def _probabilities_around(double: float) -> list[float]:
    """Error probabilities on both sides of the drawn double and equal to it (``<``, not ``<=``), and the edges."""
    return [double, np.nextafter(double, 2.0), np.nextafter(double, -1.0), 0.0, -0.5, 1.0, 1e-300, 0.5]


@settings(max_examples=200, deadline=None)
@given(SEEDS, WORD, WORD, st.integers(0, 3000), st.floats(0.0, 1.0))
def test_slip_wrappers_compare_the_double(seed: int, task: int, attempt: int, n_cells: int, prob: float) -> None:
    words = _words([*uint32_words(seed), task, attempt])
    expected_orders, double_after, _ = _numpy_orders_then_double(words, n_cells)
    fresh_double = np.random.default_rng(words).random()
    for error_prob in [prob, *_probabilities_around(double_after), *_probabilities_around(fresh_double)]:
        orders = np.full(n_cells, 255, dtype=np.uint8)
        slipped = kernels.dfs_direction_orders_and_slip_into(words, orders, error_prob)
        assert slipped == (error_prob > 0 and double_after < error_prob), error_prob
        assert np.array_equal(orders, expected_orders)  # filled whether or not a double is drawn
        assert kernels.first_double_slips(words, error_prob) == (error_prob > 0 and fresh_double < error_prob)


@pytest.mark.parametrize("explorer", ["dfs", "wall_follower"])
@pytest.mark.parametrize("error_prob", [0.0, 0.3, 0.9])
def test_slip_is_the_simulators_corruption(explorer: str, error_prob: float) -> None:
    """Against ``CESSimulator._maybe_corrupt`` itself, after the simulator's explorer on the same stream: the kernels
    say "slipped" exactly when the simulator drops a cell (a slipped path is always shorter)."""
    rng = np.random.default_rng(404)
    carrier = SimpleNamespace(config=SimpleNamespace(solution_error_prob=error_prob))
    outcomes = set()
    for trial in range(40):
        maze = generate_maze(int(rng.integers(2, 12)), int(rng.integers(2, 12)), rng)
        words = _words([*uint32_words(int(rng.integers(2**63))), trial, int(rng.integers(3))])
        stream = np.random.default_rng(words)
        exploration = EXPLORERS[explorer](maze, stream)
        corrupted = CESSimulator._maybe_corrupt(carrier, exploration.path, stream)  # type: ignore[arg-type]
        simulator_slipped = len(corrupted) != len(exploration.path)
        if explorer == "dfs":
            orders = np.empty(maze.n_cells, dtype=np.uint8)
            slipped = kernels.dfs_direction_orders_and_slip_into(words, orders, error_prob)
            assert explore_dfs_seeded(maze, words).moves == exploration.moves
        else:
            slipped = kernels.first_double_slips(words, error_prob)
        assert slipped == simulator_slipped
        outcomes.add(slipped)
    assert outcomes == ({False} if error_prob == 0 else {False, True})  # both outcomes met: the test can tell


# ----------------------------------------------------------------------------------------- bad input


def test_words_outside_32_bits_are_refused() -> None:
    for values in ([2**32], [-1], [5, 6, 7, 8, 2**40]):
        with pytest.raises(ValueError, match=r"entropy words must each be in \[0, 2\*\*32\)"):
            kernels.dfs_direction_orders(np.array(values, dtype=np.int64), 10)
    with pytest.raises(ValueError, match="2\\*\\*32"):
        kernels.attempt_direction_orders_into(_words([1]), 2**32, 0, np.empty(4, np.uint8))


def test_float_entropy_is_refused_when_compiling() -> None:
    with pytest.raises(TypingError, match="entropy_words must hold integers"):
        kernels.dfs_direction_orders(np.array([1.0, 2.0]), 10)


@pytest.mark.parametrize("high", [0, 257])
def test_bound_outside_one_byte_is_refused(high: int) -> None:
    with pytest.raises(ValueError, match="high must be in 1..256"):
        kernels.bounded_uint8(_words([1]), high, 5)


# ----------------------------------------------------------------------------------------- maze and simulator


@pytest.mark.parametrize(("height", "width"), [(2, 2), (10, 10), (7, 31), (60, 60)])
def test_explore_dfs_seeded_is_explore_dfs(height: int, width: int) -> None:
    rng = np.random.default_rng(height * 1000 + width)
    for _ in range(5):
        maze = generate_maze(height, width, rng)
        words = _words(list(rng.integers(0, 2**32, size=4)))
        expected = explore_dfs(maze, np.random.default_rng(words))
        got = explore_dfs_seeded(maze, words)
        assert got.moves == expected.moves
        assert np.array_equal(got.path, expected.path)


def _play(config_kwargs: dict, seed: int, numpy_streams: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list, dict]:
    """One whole episode driven straight on the simulator (random legal choices from a seeded generator); returns every
    (time, decider, candidates, choice, task statuses, job ends) and the metrics. ``numpy_streams`` forces the
    original path (a Generator per exploration) by dropping the simulator's entropy buffer after construction."""
    config = make_config(**config_kwargs)
    rng = np.random.default_rng(seed)
    instance = generate_instance(config, rng)
    with monkeypatch.context() as patch:
        if numpy_streams:
            original_init = CESSimulator.__init__

            def init_with_numpy_streams(self, *args, **kwargs):
                original_init(self, *args, **kwargs)
                self._dfs_entropy = None

            patch.setattr(CESSimulator, "__init__", init_with_numpy_streams)
        sim = CESSimulator(config, instance, rng)
    chooser = np.random.default_rng(seed + 1)
    record: list = []
    sim.advance()
    while not (sim.terminated or sim.truncated):
        choices = {}
        for agent in sim.task_deciders():
            candidates = sim.candidates(int(instance.agent_group[agent]))
            choice = int(chooser.integers(len(candidates))) if len(candidates) else WAIT
            choices[int(agent)] = choice
            record.append((sim.time, int(agent), candidates.tolist(), choice))
        sim.decide(choices)
        sim.advance()
        record.append((sim.time, sim.task_status.tobytes(), sim.job_end.tobytes(), sim.attempts.tobytes()))
    return record, sim.metrics()


@pytest.mark.parametrize(
    "config_kwargs",
    [
        dict(preset="tiny"),
        dict(preset="small", knowledge_sharing="none"),  # many explorations, some of the same task again
        dict(preset="small-decentralized", speed_spread=0.4),
    ],
    ids=["tiny", "small-no-sharing", "small-decentralized"],
)
@pytest.mark.parametrize("seed", [0, 11])
def test_simulator_episodes_unchanged(config_kwargs: dict, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    seeded = simulator_module.explore_dfs_seeded

    def counting(maze, entropy_words):
        calls.append(entropy_words.copy())
        return seeded(maze, entropy_words)

    monkeypatch.setattr(simulator_module, "explore_dfs_seeded", counting)
    compiled_record, compiled_metrics = _play(config_kwargs, seed, False, monkeypatch)
    assert len(calls) > 0, "the compiled draw was not used: this test would compare the numpy path with itself"
    n_calls = len(calls)
    numpy_record, numpy_metrics = _play(config_kwargs, seed, True, monkeypatch)
    assert len(calls) == n_calls  # the forced numpy path did not use it
    assert compiled_record == numpy_record
    assert compiled_metrics == numpy_metrics


def test_slips_keep_the_numpy_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``solution_error_prob > 0`` the stream draws the slip after the orders: the compiled draw is not used."""

    def refuse(maze, entropy_words):
        raise AssertionError("explore_dfs_seeded used although the stream is needed for slips")

    monkeypatch.setattr(simulator_module, "explore_dfs_seeded", refuse)
    _, metrics = _play(dict(preset="tiny", solution_error_prob=0.3), 3, False, monkeypatch)
    assert metrics  # the episode ran to its end on the numpy streams

"""The simulator builds each exploration stream from precomputed entropy words (a speed-up, issue 12): it must be the
very stream ``np.random.default_rng((exploration seed, task, attempt))`` gives, or every episode would change."""

from __future__ import annotations

import numpy as np
import pytest

from ces_env.config import make_config
from ces_env.core.simulator import CESSimulator, uint32_words
from ces_env.generator import generate_instance


@pytest.mark.parametrize("value", [0, 1, 2**32 - 1, 2**32, 2**32 + 5, 2**63 - 2, 123456789012345678])
def test_uint32_words_match_numpy_coercion(value: int) -> None:
    from numpy.random.bit_generator import _coerce_to_uint32_array  # type: ignore[attr-defined]

    assert uint32_words(value) == _coerce_to_uint32_array(value).tolist()


def test_uint32_words_refuses_negative() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        uint32_words(-1)


@pytest.mark.parametrize("seed", [0, 1, 7, 2024])
def test_exploration_stream_is_the_tuple_seeded_stream(seed: int) -> None:
    config = make_config("small")
    rng = np.random.default_rng(seed)
    sim = CESSimulator(config, generate_instance(config, rng), rng)
    for task, attempt in [(0, 0), (0, 3), (5, 1), (config.n_tasks - 1, 0)]:
        sim.attempts[task] = attempt
        expected = np.random.default_rng((sim._exploration_seed, task, attempt))
        got = sim._exploration_stream(task)
        assert got.bit_generator.state == expected.bit_generator.state
        assert np.array_equal(got.integers(0, 24, size=50), expected.integers(0, 24, size=50))


def test_exploration_stream_small_seed_words() -> None:
    """A seed below 2**32 is one word: the array must not pad it to two (that would be another stream)."""
    config = make_config("small")
    rng = np.random.default_rng(0)
    sim = CESSimulator(config, generate_instance(config, rng), rng)
    sim._exploration_seed, sim._seed_words = 12345, uint32_words(12345)
    assert sim._exploration_stream(3).bit_generator.state == np.random.default_rng((12345, 3, 0)).bit_generator.state

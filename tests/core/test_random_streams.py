"""The simulator's protocol streams (``CESSimulator.random_stream``): what its docstring promises.

The negotiation mechanisms and the fault models draw from these streams; their own tests play whole episodes, these
check the streams themselves on small instances: deterministic from the episode's seed, one per purpose and key,
and drawing from them leaves the exploration streams, hence the episode, unchanged.
"""

from __future__ import annotations

import numpy as np

from ces_env.config import make_config
from ces_env.core.simulator import CESSimulator
from ces_env.generator import generate_instance


def _simulator(seed: int) -> CESSimulator:
    """The ``tiny`` preset's instance of ``seed``: random mazes, so the explorations draw from their streams."""
    config = make_config("tiny")
    rng = np.random.default_rng(seed)
    return CESSimulator(config, generate_instance(config, rng), rng)


def _draws(stream: np.random.Generator) -> list[int]:
    return stream.integers(2**62, size=4).tolist()


def test_the_same_seed_purpose_and_key_give_the_same_stream_in_another_simulator() -> None:
    assert _draws(_simulator(7).random_stream("auction", 2, 5)) == _draws(_simulator(7).random_stream("auction", 2, 5))


def test_another_purpose_key_or_seed_gives_another_stream() -> None:
    sim = _simulator(7)
    draws = _draws(sim.random_stream("auction", 2, 5))
    others = [
        sim.random_stream("swarm", 2, 5),  # purpose
        sim.random_stream("auction", 2, 6),  # key
        sim.random_stream("auction", 2),  # a shorter key
        _simulator(8).random_stream("auction", 2, 5),  # the episode's seed
    ]
    assert all(_draws(other) != draws for other in others)


def test_drawing_from_a_protocol_stream_leaves_the_episode_unchanged() -> None:
    """Two simulators on one seed; one draws a thousand numbers from a protocol stream before every decision. The
    explorations are the same, hence the same ticks, solutions and end."""

    def play(draw: bool) -> list[tuple[int, int]]:
        sim = _simulator(3)
        history = []
        sim.advance()
        while not (sim.terminated or sim.truncated):
            if draw:
                sim.random_stream("noise", int(sim.time)).random(1000)
            deciders = sim.task_deciders().tolist()
            sim.decide({agent: 0 for agent in deciders}, {})
            sim.advance()
            history.append((int(sim.time), int(sim.tasks_done)))
        return history

    history = play(draw=False)
    assert len(history) > 3 and history[-1][1] == 12  # the tiny preset's 12 tasks, all done
    assert play(draw=True) == history

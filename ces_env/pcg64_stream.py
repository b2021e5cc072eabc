"""Continuing a numpy ``Generator``'s PCG64 stream in compiled code, bit for bit.

:mod:`ces_env.exploration_kernels` draws from *fresh* streams (``default_rng(words)``). Generating an instance's mazes
instead continues the env's own generator: every maze draws ``integers(0, 2**32, size=n_edges, dtype=np.uint32)``
then two scalar ``integers(n)``, and doing those ~30 numpy calls (with their Python overhead) per reset cost more than
the mazes' arithmetic (issue 12). Here the generator's state is read once into six uint64 words, numba does the draws
exactly as numpy 2.x does them, and the advanced state is written back, so the generator ends where numpy would have
left it and every later draw is unchanged.

The state (``bit_generator.state`` of ``np.random.PCG64``) is the 128-bit LCG state and increment plus the 32-bit half
of a 64-bit output that ``next_uint32`` keeps for its next call (``has_uint32``, ``uinteger``). numpy's sources
(``numpy/random/src/pcg64/pcg64.h``, ``src/distributions/distributions.c``, ``_bounded_integers.pyx.in``):

* ``pcg64_next32``: if a half is buffered, clear ``has_uint32`` and return ``uinteger`` (left as it was, which the state
  dict shows); else step, return the output's low 32 bits and buffer the high 32 bits.
* ``integers(0, 2**32, size=n, dtype=np.uint32)``: ``random_bounded_uint32_fill`` with ``rng = 0xFFFFFFFF``, which is
  ``next_uint32`` per value (Lemire cannot take that range).
* ``integers(high)`` (int64 scalar): ``random_bounded_uint64_fill`` with ``cnt = 1``, ``rng = high - 1``; for ``rng``
  below ``0xFFFFFFFF`` that is ``buffered_bounded_lemire_uint32``: ``m = next_uint32 * (rng + 1)``, and while the low
  32 bits of ``m`` are below ``(0xFFFFFFFF - rng) % (rng + 1)`` draw again (checked only when they are below
  ``rng + 1``); the value is ``m >> 32``. ``rng = 0`` draws nothing. Its ``bcnt``/``buf`` are unused for 32 bits.

The six words are ``[state >> 64, state & M, inc >> 64, inc & M, has_uint32, uinteger]`` (:func:`read_state_words`,
:func:`write_state_words`); the ``@njit`` draws update them in place. The tests hold each draw against numpy from
states with and without a buffered half.
"""

from __future__ import annotations

from typing import TypeGuard

import numpy as np
from numba import njit

from ces_env.exploration_kernels import _output, _step

__all__ = [
    "N_STATE_WORDS",
    "is_numpy_pcg64",
    "read_state_words",
    "write_state_words",
    "next_uint32",
    "uint32_fill",
    "bounded_uint32",
]

N_STATE_WORDS = 6
_MASK32 = np.uint64(0xFFFFFFFF)
_MASK64 = (1 << 64) - 1
_SHIFT32 = np.uint64(32)
_ZERO = np.uint64(0)
_ONE = np.uint64(1)


def is_numpy_pcg64(bit_generator: np.random.BitGenerator) -> TypeGuard[np.random.PCG64]:
    """Whether ``bit_generator`` is numpy's own ``PCG64`` (not a subclass, not PCG64DXSM or another bit generator):
    the only stream the compiled draws reproduce."""
    return type(bit_generator) is np.random.PCG64


def read_state_words(bit_generator: np.random.PCG64) -> np.ndarray:
    """The generator's state as the six uint64 words the compiled draws take (module docstring)."""
    state = bit_generator.state
    lcg = state["state"]
    words = np.empty(N_STATE_WORDS, np.uint64)
    words[0] = lcg["state"] >> 64
    words[1] = lcg["state"] & _MASK64
    words[2] = lcg["inc"] >> 64
    words[3] = lcg["inc"] & _MASK64
    words[4] = state["has_uint32"]
    words[5] = state["uinteger"]
    return words


def write_state_words(bit_generator: np.random.PCG64, words: np.ndarray) -> None:
    """Sets the generator to the state held by ``words`` (after the compiled draws advanced them)."""
    bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": int(words[0]) << 64 | int(words[1]), "inc": int(words[2]) << 64 | int(words[3])},
        "has_uint32": int(words[4]),
        "uinteger": int(words[5]),
    }


@njit(cache=True)
def next_uint32(words):  # pragma: no cover - compiled
    """numpy's ``pcg64_next32``: the buffered half if there is one, else the low half of a new output (the high half
    is buffered)."""
    if words[4] != _ZERO:
        words[4] = _ZERO
        return words[5]
    state_high, state_low = _step(words[0], words[1], words[2], words[3])
    raw = _output(state_high, state_low)
    words[0] = state_high
    words[1] = state_low
    words[4] = _ONE
    words[5] = raw >> _SHIFT32
    return raw & _MASK32


@njit(cache=True)
def uint32_fill(words, out):  # pragma: no cover - compiled
    """``out[:] = integers(0, 2**32, size=out.size, dtype=np.uint32)``: ``next_uint32`` per value, two per 64-bit
    output (low half first), starting with the buffered half if any and buffering the last output's high half when
    the count left is odd. The state lives in locals inside the loop (``words`` could alias ``out`` for numba)."""
    n = out.size
    i = 0
    if n > 0 and words[4] != _ZERO:
        out[0] = words[5]
        words[4] = _ZERO
        i = 1
    state_high, state_low, inc_high, inc_low = words[0], words[1], words[2], words[3]
    while i + 2 <= n:
        state_high, state_low = _step(state_high, state_low, inc_high, inc_low)
        raw = _output(state_high, state_low)
        out[i] = raw & _MASK32
        out[i + 1] = raw >> _SHIFT32
        i += 2
    if i < n:
        state_high, state_low = _step(state_high, state_low, inc_high, inc_low)
        raw = _output(state_high, state_low)
        out[i] = raw & _MASK32
        words[4] = _ONE
        words[5] = raw >> _SHIFT32
    words[0] = state_high
    words[1] = state_low


@njit(cache=True)
def bounded_uint32(words, high):  # pragma: no cover - compiled
    """``int(integers(high))`` for ``1 <= high <= 2**32`` (numpy's int64 scalar path, module docstring)."""
    if high < 1 or high > 0x100000000:
        raise ValueError("bounded_uint32: high must be in 1..2**32")
    rng = np.uint64(high - 1)
    if rng == _ZERO:
        return 0
    if rng == _MASK32:
        return np.int64(next_uint32(words))
    rng_excl = rng + _ONE
    scaled = next_uint32(words) * rng_excl
    leftover = scaled & _MASK32
    if leftover < rng_excl:
        threshold = (_MASK32 - rng) % rng_excl
        while leftover < threshold:
            scaled = next_uint32(words) * rng_excl
            leftover = scaled & _MASK32
    return np.int64(scaled >> _SHIFT32)

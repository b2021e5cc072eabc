"""numpy's ``default_rng(words).integers(0, high, size=n, dtype=np.uint8)``, compiled and bit for bit.

Every exploration of the automatic mode draws one direction order per cell from a fresh stream,
``np.random.default_rng([*seed words, task, attempt])``. Building that ``Generator`` and drawing 100 orders cost
~15-20 µs (``benchmarks/bench_exploration_draw.py``), about a tenth of a training loop (issue 12), although the
arithmetic underneath is a few hundred integer operations; compiled, it takes ~1 µs. The functions here redo that
arithmetic in numba, stage by stage as numpy 2.x does it, so that the draws (and therefore every episode, golden file
and common-random-numbers comparison) stay exactly the same:

1. ``SeedSequence(words)``: the entropy words are hashed into a pool of four 32-bit words (``mix_entropy``), and
   ``generate_state(4, np.uint64)`` hashes the pool into eight 32-bit words read as four little-endian uint64.
2. ``PCG64`` seeding (``pcg_setseq_128_srandom_r``): ``initstate = s[0] << 64 | s[1]``, ``initseq = s[2] << 64 |
   s[3]``, ``inc = initseq << 1 | 1``; state 0, one step, add initstate, one step.  A step is ``state = state *
   MULTIPLIER + inc`` modulo 2**128, on two uint64 halves (the one 64x64-bit product whose upper half is needed is
   an LLVM ``i128`` multiply), and each 64-bit output is the XSL-RR of the state *after* the step.
3. ``Generator.integers(0, high, dtype=uint8)`` is ``random_bounded_uint8_fill`` with ``rng = high - 1``: Lemire's
   multiply-and-reject on single bytes, the bytes taken least significant first from 32-bit draws, which PCG64's
   ``next_uint32`` cuts from each 64-bit output low half first.  A fresh generator has no buffered half, so the byte
   stream is simply the little-endian bytes of the successive 64-bit outputs.
4. With explorers' slips (``solution_error_prob > 0``) the same stream then draws ``random()``: numpy's
   ``next_double``, ``(next_uint64 >> 11) * 2**-53``, from the 64-bit output after the one holding the last byte
   kept (``pcg64_next64`` ignores the 32-bit half the byte draws may leave buffered), or from the first output when
   nothing was drawn before (the wall follower). :func:`dfs_direction_orders_and_slip_into` and
   :func:`first_double_slips` give the engine the slip decision; the index of the dropped cell, drawn after, is not
   needed there (a slipped path is invalid whichever cell it lost).

Entropy values must each lie in ``[0, 2**32)``: numpy would split a larger int into several words, and the caller
(who knows how its ints split, e.g. :func:`ces_env.core.simulator.uint32_words`) must pass the words.  The stage
functions (:func:`seed_sequence_pool`, :func:`seed_sequence_state`, :func:`pcg64_seeded_state`, :func:`pcg64_raw`) are
public so that the tests can hold each stage against numpy. Everything is ``@njit``: a compiled event loop can call
:func:`attempt_direction_orders_into` directly. The module imports nothing from ``ces_env`` (no import cycle).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core.errors import TypingError
from numba.extending import intrinsic, overload

__all__ = [
    "N_DIRECTION_ORDERS",
    "seed_sequence_pool",
    "seed_sequence_state",
    "pcg64_seeded_state",
    "pcg64_raw",
    "bounded_uint8_into",
    "bounded_uint8",
    "dfs_direction_orders_into",
    "dfs_direction_orders",
    "attempt_direction_orders_into",
    "first_double",
    "dfs_orders_then_double",
    "dfs_direction_orders_and_slip_into",
    "first_double_slips",
]

N_DIRECTION_ORDERS = 24  # the 4! orders in which a depth-first walker tries N, E, S, W (ces_env.maze)

_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_XSHIFT = np.uint64(16)  # SeedSequence's XSHIFT: half of a 32-bit word
# numpy/random/bit_generator.pyx
_POOL_SIZE = 4
_INIT_A = np.uint64(0x43B0D7E5)
_MULT_A = np.uint64(0x931E8875)
_INIT_B = np.uint64(0x8B51F9DD)
_MULT_B = np.uint64(0x58F38DED)
_MIX_MULT_L = np.uint64(0xCA01F9DD)
_MIX_MULT_R = np.uint64(0x4973F715)
# numpy/random/src/pcg64/pcg64.h: PCG_DEFAULT_MULTIPLIER_128 = 0x2360ED051FC65DA44385DF649FCCF645
_MULT_HIGH = np.uint64(0x2360ED051FC65DA4)
_MULT_LOW = np.uint64(0x4385DF649FCCF645)
_ONE = np.uint64(1)
_ROT_SHIFT = np.uint64(58)
_ROT_MASK = np.uint64(63)
_SIXTY_FOUR = np.uint64(64)
_BYTE_MASK = np.uint64(0xFF)
_EIGHT = np.uint64(8)
# numpy/random/src/distributions: next_double = (next_uint64 >> 11) * (1.0 / 9007199254740992.0)
_DOUBLE_SHIFT = np.uint64(11)
_DOUBLE_UNIT = 1.0 / 9007199254740992.0  # 2**-53


def _check_entropy_type(entropy_words):  # pragma: no cover - replaced by the overload below in compiled code
    pass


@overload(_check_entropy_type)
def _check_entropy_type_overload(entropy_words):
    """Refuses, when compiling, entropy that is not a 1-D integer array (a float array would be hashed silently)."""
    if not (isinstance(entropy_words, types.Array) and entropy_words.ndim == 1):
        raise TypingError(f"entropy_words must be a 1-D integer array, got {entropy_words}")
    if not isinstance(entropy_words.dtype, types.Integer):
        raise TypingError(f"entropy_words must hold integers (uint32 words), got {entropy_words.dtype}")
    return lambda entropy_words: None


@njit(cache=True)
def _word(value):  # pragma: no cover - compiled
    """``value`` as a uint64 after checking that it is one 32-bit word (numpy would split a larger int in several)."""
    if value < 0 or value > 0xFFFFFFFF:
        raise ValueError("entropy words must each be in [0, 2**32): split larger ints into 32-bit words")
    return np.uint64(value)


@njit(cache=True)
def _entropy_word(entropy_words, i):  # pragma: no cover - compiled
    return _word(entropy_words[i])


@njit(cache=True)
def _hash_step(value, hash_const, multiplier):  # pragma: no cover - compiled
    """SeedSequence's hashing step: ``hashmix`` with ``_MULT_A``, a ``generate_state`` word with ``_MULT_B``; returns
    the mixed 32-bit value and the advanced hash constant."""
    value = value ^ hash_const
    hash_const = (hash_const * multiplier) & _MASK32
    value = (value * hash_const) & _MASK32
    value ^= value >> _XSHIFT
    return value, hash_const


@njit(cache=True)
def _hashmix(value, hash_const):  # pragma: no cover - compiled
    """SeedSequence's ``hashmix``: returns the mixed 32-bit value and the advanced hash constant."""
    return _hash_step(value, hash_const, _MULT_A)


@njit(cache=True)
def _mix(x, y):  # pragma: no cover - compiled
    """SeedSequence's ``mix`` of two 32-bit words (the subtraction wraps modulo 2**32)."""
    result = ((_MIX_MULT_L * x) - (_MIX_MULT_R * y)) & _MASK32
    result ^= result >> _XSHIFT
    return result


@njit(cache=True)
def _pool_words(entropy_words):  # pragma: no cover - compiled
    """``SeedSequence.mix_entropy``: the four pool words (as uint64 holding 32 bits each)."""
    _check_entropy_type(entropy_words)
    n_entropy = entropy_words.size
    hash_const = _INIT_A
    pool = np.empty(_POOL_SIZE, np.uint64)
    for i in range(_POOL_SIZE):
        word = _entropy_word(entropy_words, i) if i < n_entropy else np.uint64(0)
        pool[i], hash_const = _hashmix(word, hash_const)
    for i_src in range(_POOL_SIZE):
        for i_dst in range(_POOL_SIZE):
            if i_src != i_dst:
                mixed, hash_const = _hashmix(pool[i_src], hash_const)
                pool[i_dst] = _mix(pool[i_dst], mixed)
    for i_src in range(_POOL_SIZE, n_entropy):
        for i_dst in range(_POOL_SIZE):
            mixed, hash_const = _hashmix(_entropy_word(entropy_words, i_src), hash_const)
            pool[i_dst] = _mix(pool[i_dst], mixed)
    return pool


@njit(cache=True)
def seed_sequence_pool(entropy_words):  # pragma: no cover - compiled
    """``np.random.SeedSequence(entropy_words).pool`` (uint32, 4 words) for entropy values in [0, 2**32)."""
    return _pool_words(entropy_words).astype(np.uint32)


@njit(cache=True)
def _generate_word(data, hash_const):  # pragma: no cover - compiled
    """One output word of ``generate_state`` (its own multiplier and constant) and the advanced hash constant."""
    return _hash_step(data, hash_const, _MULT_B)


@njit(cache=True)
def _state_from_pool(pool):  # pragma: no cover - compiled
    """``SeedSequence.generate_state(4, np.uint64)`` from the pool: 8 words of 32 bits, paired little-endian."""
    hash_const = _INIT_B
    state = np.empty(4, np.uint64)
    for i in range(4):
        low, hash_const = _generate_word(pool[(2 * i) % _POOL_SIZE], hash_const)
        high, hash_const = _generate_word(pool[(2 * i + 1) % _POOL_SIZE], hash_const)
        state[i] = low | (high << _SHIFT32)
    return state


@njit(cache=True)
def seed_sequence_state(entropy_words):  # pragma: no cover - compiled
    """``np.random.SeedSequence(entropy_words).generate_state(4, np.uint64)``: the words that seed PCG64."""
    return _state_from_pool(_pool_words(entropy_words))


@intrinsic
def _multiply_high(typingctx, a, b):
    """The upper 64 bits of the 128-bit product of two uint64, as one LLVM ``i128`` multiplication (a single ``mul``
    on x86-64): emulating it with four 32x32 products made each PCG64 step twice as slow."""
    signature = types.uint64(types.uint64, types.uint64)

    def codegen(context, builder, sig, args):
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        return builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))

    return signature, codegen


@njit(cache=True)
def _step(state_high, state_low, inc_high, inc_low):  # pragma: no cover - compiled
    """One PCG64 step, ``state * MULTIPLIER + inc`` modulo 2**128, on (high, low) uint64 halves.

    The low half of the product is ``state_low * MULT_LOW`` (wrapping); the high half is the upper bits of that product
    plus the two cross terms (their own upper bits fall off 2**128)."""
    product_low = state_low * _MULT_LOW
    # numba types the intrinsic as a call with its typing context first: mypy sees one argument missing
    upper = _multiply_high(state_low, _MULT_LOW)  # type: ignore[call-arg,var-annotated]
    product_high = upper + state_low * _MULT_HIGH + state_high * _MULT_LOW
    new_low = product_low + inc_low
    carry = _ONE if new_low < product_low else np.uint64(0)
    return product_high + inc_high + carry, new_low


@njit(cache=True)
def _output(state_high, state_low):  # pragma: no cover - compiled
    """PCG's XSL-RR output: the two halves xor-ed, rotated right by the state's top six bits."""
    rotation = state_high >> _ROT_SHIFT
    value = state_high ^ state_low
    return (value >> rotation) | (value << ((_SIXTY_FOUR - rotation) & _ROT_MASK))


@njit(cache=True)
def _seeded(entropy_words):  # pragma: no cover - compiled
    """PCG64's (state high, state low, inc high, inc low) after ``pcg_setseq_128_srandom_r`` seeded from entropy."""
    seed = _state_from_pool(_pool_words(entropy_words))
    inc_high = (seed[2] << _ONE) | (seed[3] >> np.uint64(63))
    inc_low = (seed[3] << _ONE) | _ONE
    state_high, state_low = _step(np.uint64(0), np.uint64(0), inc_high, inc_low)
    state_low_sum = state_low + seed[1]
    carry = _ONE if state_low_sum < state_low else np.uint64(0)
    state_high, state_low = _step(state_high + seed[0] + carry, state_low_sum, inc_high, inc_low)
    return state_high, state_low, inc_high, inc_low


@njit(cache=True)
def pcg64_seeded_state(entropy_words):  # pragma: no cover - compiled
    """``PCG64(SeedSequence(entropy_words))``'s 128-bit state and increment as uint64 ``[state >> 64, state & M,
    inc >> 64, inc & M]`` (numpy's ``bit_generator.state["state"]`` holds the same two ints)."""
    state_high, state_low, inc_high, inc_low = _seeded(entropy_words)
    out = np.empty(4, np.uint64)
    out[0] = state_high
    out[1] = state_low
    out[2] = inc_high
    out[3] = inc_low
    return out


@njit(cache=True)
def pcg64_raw(entropy_words, n):  # pragma: no cover - compiled
    """``default_rng(entropy_words).bit_generator.random_raw(n)``: the first ``n`` 64-bit outputs."""
    state_high, state_low, inc_high, inc_low = _seeded(entropy_words)
    out = np.empty(n, np.uint64)
    for i in range(n):
        state_high, state_low = _step(state_high, state_low, inc_high, inc_low)
        out[i] = _output(state_high, state_low)
    return out


@njit(cache=True)
def _bounded_uint8_fill(state_high, state_low, inc_high, inc_low, high, out):  # pragma: no cover - compiled
    """numpy's ``random_bounded_uint8_fill`` (Lemire, ``rng = high - 1``) from this PCG64 state; returns the next state.

    The bytes come least significant first from 32-bit draws, which PCG64 cuts from each 64-bit output low half first,
    so the ``n`` kept bytes end inside the ``k``-th 64-bit output and ``out`` uses exactly outputs 1..k. The 32-bit half
    numpy may leave buffered is never read by the 64-bit draws that follow (``pcg64_next64`` ignores it), so the
    returned state is the generator's state for every later ``random()``/``next_uint64``.
    ``high`` in 2..256: numpy keeps the byte ``b`` unless ``(b * high) & 0xFF`` is below ``(256 - high) % high``,
    returning ``(b * high) >> 8``."""
    scale = np.uint64(high)
    threshold = np.uint64((256 - high) % high)  # (UINT8_MAX - rng) % rng_excl with rng = high - 1
    i = np.uint64(0)  # unsigned: the stores need no negative-index wraparound (a third faster)
    n = np.uint64(out.size)
    # While 8 more bytes cannot overflow ``out``, every byte is written and the index moves only if it is kept: no
    # branch to mispredict on the ~6% of rejected bytes (this loop is most of the cost on large mazes).
    while i + _EIGHT <= n:
        state_high, state_low = _step(state_high, state_low, inc_high, inc_low)
        raw = _output(state_high, state_low)
        for _ in range(8):  # the output's bytes, least significant first
            scaled = (raw & _BYTE_MASK) * scale
            out[i] = np.uint8(scaled >> _EIGHT)
            i += np.uint64((scaled & _BYTE_MASK) >= threshold)  # threshold 0 (high 256 or 2**k) keeps every byte
            raw >>= _EIGHT
    while i < n:
        state_high, state_low = _step(state_high, state_low, inc_high, inc_low)
        raw = _output(state_high, state_low)
        for _ in range(8):
            scaled = (raw & _BYTE_MASK) * scale
            if (scaled & _BYTE_MASK) >= threshold:
                out[i] = np.uint8(scaled >> _EIGHT)
                i += _ONE
                if i == n:
                    break  # the output's remaining bytes are lost: numpy's byte buffer lives for one fill call
            raw >>= _EIGHT
    return state_high, state_low


@njit(cache=True)
def bounded_uint8_into(entropy_words, high, out):  # pragma: no cover - compiled
    """Fills ``out`` with ``default_rng(entropy_words).integers(0, high, size=out.size, dtype=np.uint8)``.

    ``high`` in 1..256. numpy draws nothing when ``high == 1``, takes raw bytes when ``high == 256`` (threshold 0
    below: the same bytes), and otherwise rejects as described in :func:`_bounded_uint8_fill`.
    """
    if high < 1 or high > 256:
        raise ValueError("bounded_uint8_into: high must be in 1..256")
    if high == 1:
        out[:] = 0
        return
    state_high, state_low, inc_high, inc_low = _seeded(entropy_words)
    _bounded_uint8_fill(state_high, state_low, inc_high, inc_low, high, out)


@njit(cache=True)
def bounded_uint8(entropy_words, high, n):  # pragma: no cover - compiled
    """``default_rng(entropy_words).integers(0, high, size=n, dtype=np.uint8)`` as a new array."""
    out = np.empty(n, np.uint8)
    bounded_uint8_into(entropy_words, high, out)
    return out


@njit(cache=True)
def dfs_direction_orders_into(entropy_words, out):  # pragma: no cover - compiled
    """Fills ``out`` with the depth-first explorer's per-cell direction orders (0..23) for this entropy."""
    bounded_uint8_into(entropy_words, N_DIRECTION_ORDERS, out)


@njit(cache=True)
def dfs_direction_orders(entropy_words, n_cells):  # pragma: no cover - compiled
    """``default_rng(entropy_words).integers(0, 24, size=n_cells, dtype=np.uint8)``: one direction order per cell."""
    return bounded_uint8(entropy_words, N_DIRECTION_ORDERS, n_cells)


@njit(cache=True)
def attempt_direction_orders_into(seed_words, task, attempt, out):  # pragma: no cover - compiled
    """The orders of (task, attempt)'s exploration: entropy ``[*seed_words, task, attempt]``, both below 2**32.

    For a compiled event loop, which holds the episode's seed words and would otherwise build the entropy itself."""
    n_seed = seed_words.size
    entropy = np.empty(n_seed + 2, np.uint32)
    for i in range(n_seed):
        entropy[i] = _entropy_word(seed_words, i)
    entropy[n_seed] = _word(task)
    entropy[n_seed + 1] = _word(attempt)
    bounded_uint8_into(entropy, N_DIRECTION_ORDERS, out)


@njit(cache=True)
def _next_double(state_high, state_low, inc_high, inc_low):  # pragma: no cover - compiled
    """numpy's ``next_double`` for PCG64: the top 53 bits of the next 64-bit output times 2**-53 (exact, in [0, 1))."""
    state_high, state_low = _step(state_high, state_low, inc_high, inc_low)
    return np.float64(_output(state_high, state_low) >> _DOUBLE_SHIFT) * _DOUBLE_UNIT


@njit(cache=True)
def first_double(entropy_words):  # pragma: no cover - compiled
    """``np.random.default_rng(entropy_words).random()``: the first double of a fresh stream."""
    state_high, state_low, inc_high, inc_low = _seeded(entropy_words)
    return _next_double(state_high, state_low, inc_high, inc_low)


@njit(cache=True)
def dfs_orders_then_double(entropy_words, out):  # pragma: no cover - compiled
    """Fills ``out`` like :func:`dfs_direction_orders_into` and returns the same stream's next ``random()``.

    That is ``rng.integers(0, 24, size=out.size, dtype=np.uint8)`` then ``rng.random()`` on one
    ``rng = np.random.default_rng(entropy_words)``: the depth-first explorer's orders, then the double that decides
    its slip (``CESSimulator._maybe_corrupt``)."""
    state_high, state_low, inc_high, inc_low = _seeded(entropy_words)
    state_high, state_low = _bounded_uint8_fill(state_high, state_low, inc_high, inc_low, N_DIRECTION_ORDERS, out)
    return _next_double(state_high, state_low, inc_high, inc_low)


@njit(cache=True)
def dfs_direction_orders_and_slip_into(entropy_words, out, error_prob):  # pragma: no cover - compiled
    """Fills ``out`` like :func:`dfs_direction_orders_into`; returns whether the explorer slips: the same stream's
    next ``random()`` is below ``error_prob`` (``CESSimulator._maybe_corrupt``). With ``error_prob <= 0`` the
    simulator draws no double, so neither does this (the orders alone, and False)."""
    if error_prob <= 0:
        dfs_direction_orders_into(entropy_words, out)
        return False
    return dfs_orders_then_double(entropy_words, out) < error_prob


@njit(cache=True)
def first_double_slips(entropy_words, error_prob):  # pragma: no cover - compiled
    """Whether the wall follower (which draws nothing before) slips: ``default_rng(entropy_words).random() <
    error_prob``; False without drawing when ``error_prob <= 0``."""
    if error_prob <= 0:
        return False
    return first_double(entropy_words) < error_prob

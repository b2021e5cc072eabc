"""Env copies stepped together in one compiled call: the batched path of ``SB3VecEnv`` and ``CESVectorEnv``.

A *row* is one copy of the ParallelEnv. ``SB3VecEnv`` sees it as a sequence of single decisions: one agent with a real
choice at a time; once the tick's last chooser has acted the copy steps, agents with one legal action play it, and it
keeps stepping until someone has a choice again. In Python that is, per row and per decision, ``_Row.act`` ->
``DecisionDriver.step`` -> ``CESParallelEnv.step_arrays`` (decoding, the simulator, rewards, observations) ->
``DecisionDriver._settle``: about a hundred microseconds of interpreter around a few microseconds of compiled work.
:func:`act_rows` does all of it for every row of the batch in one call; :func:`step_copies` does ``step_arrays`` for
every copy of a ``CESVectorEnv``. Both run over a typed list of :class:`Row` structs and one of the copies' compiled
:class:`~ces_env.core.compiled.engine.State` (two lists: a struct holding the other, loaded from numba's disk cache,
crashed the process).

Each function names the Python method it mirrors; the order of every operation and every float operation is the same,
so the rows play the same episodes, with the same observations, masks, rewards and elapsed ticks
(``tests/test_compiled_rows.py`` and ``tests/test_vector.py`` play both side by side). Resets stay in Python
(instance generation and the simulator's construction); a reset row is rebuilt by :func:`new_row`, then observed by
:func:`observe_row` or settled by :func:`begin_row`.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.core import types
from numba.experimental import structref

from ces_env.core.compiled.engine import (
    ADVANCE,
    C_STALLED,
    C_TERMINATED,
    C_TIME,
    C_TRUNCATED,
    DECIDE,
    F_DECIDING,
    F_MUST_ACT,
    P_CENTRAL_VALIDATION,
    P_CLAIM_LATENCY,
    P_DECENTRALIZED,
    P_MAX_TICKS,
    S_DECIDER,
    S_LEN,
    run,
)
from ces_env.core.compiled.simulator import _ANY_CHOICE
from ces_env.core.simulator import WAIT
from ces_env.kernels import classify_rows, decode_actions, fill_observations, top_candidates
from ces_env.types import TASK_CLAIMED, TASK_READY

NO_ACTION = -1  # ces_env.env.NO_ACTION (the core does not import the env module above it)

# --- settings: a row's float constants
R_START_TIME = 0
R_LOWER_BOUND = 1
R_REWARD_MODE = 2  # REWARD_MODES' code
R_TIME_SCALE = 3
R_TIME_PENALTY = 4
R_FIRST_MOVE = 5
N_SETTINGS = 6
REWARD_MODES = {"individual": 0, "team": 1, "time": 2}
_INDIVIDUAL = REWARD_MODES["individual"]  # plain ints: numba reads module globals as constants
_TEAM = REWARD_MODES["team"]
_TIME = REWARD_MODES["time"]

# --- driver: a row's integer state (DecisionDriver's and _Row's attributes)
D_N_CHOOSERS = 0  # choosers of the current tick (len(DecisionDriver.choosers))
D_POSITION = 1  # the presented chooser's index (_Row.position)
D_CLOCK = 2  # the env's _clock: the tick of the previous step's end
D_ENV_STEPS = 3
D_OVER = 4
D_TERMINATED = 5
D_TRUNCATED = 6
D_TEAM_ELAPSED = 7  # ticks since the last drain (DecisionDriver.team_elapsed)
D_DECISIONS = 8  # decisions taken in the episode (_Row.decisions)
D_INCONSISTENT = 9  # the engine stalled with nobody deciding (the Python simulator raises)
D_LAST_ELAPSED = 10  # ticks of the last env step (ArrayStep.elapsed_ticks)
N_DRIVER = 11
# --- act_rows' answers
ACT_OK = 0
ACT_STALLED = 1  # the engine stalled with nobody deciding (the Python simulator raises)
ACT_NO_DECISION = 2  # the row's episode is over and it was not reset (e.g. its reset raised)
# --- team: a row's float state
T_REWARD = 0  # the team's reward since the last drain (DecisionDriver.team_reward)
T_RETURN = 1  # the episode's return so far (_Row.episode_return)
N_TEAM = 2


@structref.register
class RowType(types.StructRef):
    """The numba type of :class:`Row` (one pointer per row, as the engine's state)."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class Row(structref.StructRefProxy):
    """One copy's decision row, built by :func:`new_row` after each reset (see the module docstring)."""


structref.define_boxing(RowType, Row)

# (name, numba type): shapes with n agents, m tasks, l groups, D observation size, A actions
ROW_FIELDS: tuple[tuple[str, types.Type], ...] = (
    # the observation builder's per-instance features (ObservationBuilder.bind)
    ("reward_norm", types.float64[::1]),  # (m,)
    ("succ_norm", types.float64[::1]),  # (m,)
    ("rank_norm", types.float64[::1]),  # (m,)
    ("speed_norm", types.float64[::1]),  # (n,)
    ("index_in_group", types.float32[::1]),  # (n,)
    ("group_size", types.int64[::1]),  # (l,) members of each group, at least 1
    ("group_total", types.int64[::1]),  # (l,) tasks of each group
    ("flat_order", types.int64[::1]),  # (m,) the groups' candidate orders, concatenated
    ("flat_group", types.int64[::1]),  # (m,) each entry's group
    ("settings", types.float64[::1]),  # (N_SETTINGS,)
    # the env's latest answer: every agent's observation and mask (the env's arrays: the kernel writes into them)
    ("observations", types.float32[:, ::1]),  # (n, D)
    ("masks", types.int8[:, ::1]),  # (n, A)
    # the driver
    ("driver", types.int64[::1]),  # (N_DRIVER,)
    ("team", types.float64[::1]),  # (N_TEAM,)
    ("choosers", types.int64[::1]),  # (n,) the first D_N_CHOOSERS entries: the tick's choosers, by id
    ("forced_row", types.int64[::1]),  # (n,) the forced agents' single legal action, NO_ACTION for the others
    ("pending", types.int64[::1]),  # (n,) the tick's choosers' actions so far
    ("choices", types.int64[::1]),  # (n,) the engine's choices (scratch)
    ("earned", types.float64[::1]),  # (n,) every agent's reward at the last env step (ArrayStep.rewards)
)
_ROW_TYPE = RowType(list(ROW_FIELDS))


@njit(cache=True)
def new_row(
    reward_norm,
    succ_norm,
    rank_norm,
    speed_norm,
    index_in_group,
    group_size,
    group_total,
    flat_order,
    flat_group,
    settings,
    observations,
    masks,
    driver,
    team,
    choosers,
):
    """A :class:`Row` over these arrays (keyword names and dtypes are :data:`ROW_FIELDS`', C order); ``driver`` and
    ``team`` zeroed (the caller keeps them, ``choosers`` and the observations to read the row from Python)."""
    r = structref.new(_ROW_TYPE)  # type: ignore[call-arg,var-annotated]  # numba's intrinsic
    r.reward_norm = reward_norm
    r.succ_norm = succ_norm
    r.rank_norm = rank_norm
    r.speed_norm = speed_norm
    r.index_in_group = index_in_group
    r.group_size = group_size
    r.group_total = group_total
    r.flat_order = flat_order
    r.flat_group = flat_group
    r.settings = settings
    r.observations = observations
    r.masks = masks
    n = speed_norm.size
    r.driver = driver
    r.team = team
    r.choosers = choosers
    r.forced_row = np.full(n, NO_ACTION, dtype=np.int64)
    r.pending = np.full(n, NO_ACTION, dtype=np.int64)
    r.choices = np.full(n, WAIT, dtype=np.int64)
    r.earned = np.zeros(n, dtype=np.float64)
    return r


@njit(cache=True)
def numpy_sum(values):  # pragma: no cover - compiled
    """``float(values.sum())`` bit for bit: numpy's pairwise summation of a contiguous float64 array (blocks of up to
    128 values summed with 8 partial sums, larger arrays split in halves and the halves' sums added), which a plain
    loop does not reproduce in the last bits. The halving recursion is walked with an explicit stack: a recursive
    function loaded from numba's disk cache crashed the process."""
    n = values.size
    if n <= _BLOCK:
        return 0.0 + _block_sum(values, 0, n)  # numpy adds onto its identity: a sum of -0.0s is 0.0
    depth = 64  # halving at least once per level: 2**64 values
    start = np.zeros(depth, dtype=np.int64)
    count = np.zeros(depth, dtype=np.int64)
    phase = np.zeros(depth, dtype=np.int64)  # 0: not split yet; 1: left half being summed; 2: right half
    left = np.zeros(depth, dtype=np.float64)
    top = 0
    count[0] = n
    while True:
        if count[top] > _BLOCK and phase[top] == 0:  # split: sum the left half first
            phase[top] = 1
            half = count[top] // 2
            half -= half % 8
            top += 1
            start[top] = start[top - 1]
            count[top] = half
            phase[top] = 0
            continue
        value = _block_sum(values, start[top], count[top])
        top -= 1
        while True:  # hand the sum up: a left half starts its right half, a right half completes its parent
            if top < 0:
                return 0.0 + value
            if phase[top] == 1:
                left[top] = value
                phase[top] = 2
                half = count[top] // 2
                half -= half % 8
                top += 1
                start[top] = start[top - 1] + half
                count[top] = count[top - 1] - half
                phase[top] = 0
                break
            value = left[top] + value
            top -= 1


_BLOCK = 128  # numpy's PW_BLOCKSIZE


@njit(cache=True)
def _block_sum(values, start, count):  # pragma: no cover - compiled
    if count < 8:
        total = 0.0
        for i in range(start, start + count):
            total += values[i]
        return total
    partial = values[start : start + 8].copy()
    i = 8
    while i < count - (count % 8):
        for j in range(8):
            partial[j] += values[start + i + j]
        i += 8
    total = ((partial[0] + partial[1]) + (partial[2] + partial[3])) + (
        (partial[4] + partial[5]) + (partial[6] + partial[7])
    )
    while i < count:
        total += values[start + i]
        i += 1
    return total


@njit(cache=True)
def _observe(r, s):  # pragma: no cover - compiled
    """ObservationBuilder.build into the row's arrays, for the two CES controls: their candidates are the ready tasks,
    and with decentralized control also the claims still in flight (DecentralizedControl.candidate_flags)."""
    time = s.counters[C_TIME]
    decentralized = s.params[P_DECENTRALIZED] == 1
    latency = s.params[P_CLAIM_LATENCY]
    n_groups = r.group_total.size
    flat_order = r.flat_order
    flags = np.empty(flat_order.size, dtype=np.bool_)
    for j in range(flat_order.size):
        task = flat_order[j]
        status = s.task_status[task]
        flags[j] = status == TASK_READY or (
            decentralized and status == TASK_CLAIMED and s.claim_time[task] + latency > time
        )
    n_slots = int(r.settings[R_FIRST_MOVE]) - 1
    top, n_cands = top_candidates(flags, flat_order, r.flat_group, n_groups, n_slots)
    if decentralized:  # CompiledCESSimulator.task_deciders
        deciders = np.flatnonzero(s.flags[F_DECIDING]).astype(np.int64)
    else:
        held = s.server[S_DECIDER]
        deciders = np.sort(held[held >= 0]).astype(np.int64)
    if decentralized and s.params[P_CENTRAL_VALIDATION] == 0:  # CompiledControlView.queue_lengths: no server
        queues = np.zeros(n_groups, dtype=np.int64)
    else:
        queues = s.server[S_LEN].copy()
    elapsed = max(0, time - int(r.settings[R_START_TIME])) / r.settings[R_LOWER_BOUND]  # squashed_time
    obs = r.observations
    masks = r.masks
    obs[:] = 0.0
    masks[:] = 0
    fill_observations(
        obs,
        masks,
        top,
        n_cands,
        s.agent_status,
        s.agent_group,
        deciders,
        np.zeros(0, dtype=np.int64),  # no move deciders in the automatic exploration mode
        np.flatnonzero(s.flags[F_MUST_ACT]).astype(np.int64),
        r.speed_norm,
        elapsed / (1.0 + elapsed),
        r.index_in_group,
        time,
        s.job_start,
        s.job_end,
        s.knows,
        s.task_status,
        s.task_holder,
        s.task_group,
        s.task_class,
        r.group_total,
        s.group_completed,
        r.group_size,
        queues,
        r.reward_norm,
        r.succ_norm,
        r.rank_norm,
    )


@njit(cache=True)
def _env_step(r, s, chosen):  # pragma: no cover - compiled
    """CESParallelEnv._step_core (decoding, the simulator's step, the step's rewards, observations) and
    DecisionDriver._env_step (the team's reward and ticks since the last drain). False if the engine stalled
    inconsistently (the row is then marked and left as it is)."""
    driver = r.driver
    settings = r.settings
    takers, slots, _, _, _ = decode_actions(chosen, r.masks, int(settings[R_FIRST_MOVE]), NO_ACTION)
    choices = r.choices
    choices[:] = WAIT
    for j in range(takers.size):  # CompiledCESSimulator._set_choices
        slot = slots[j]
        choices[takers[j]] = slot if WAIT <= slot < _ANY_CHOICE else WAIT
    if not run(DECIDE | ADVANCE, choices, s):
        driver[D_INCONSISTENT] = 1
        return False
    time = s.counters[C_TIME]
    previous = driver[D_CLOCK]
    elapsed = time - previous
    driver[D_CLOCK] = time
    earned = s.reward_buffer.copy()  # CESSimulator.pop_rewards
    s.reward_buffer[:] = 0.0
    mode = int(settings[R_REWARD_MODE])
    if mode == _TEAM:
        earned[:] = numpy_sum(earned)
    elif mode == _TIME:
        charged = s.params[P_MAX_TICKS] - previous if s.counters[C_STALLED] == 1 else elapsed
        earned[:] = -charged / settings[R_TIME_SCALE]
    penalty = settings[R_TIME_PENALTY] * elapsed
    for i in range(earned.size):
        earned[i] -= penalty
    r.earned[:] = earned
    driver[D_LAST_ELAPSED] = elapsed
    _observe(r, s)
    driver[D_ENV_STEPS] += 1
    # DecisionDriver's team reward: the sum with "individual", one agent's otherwise (every agent receives it)
    r.team[T_REWARD] += numpy_sum(earned) if mode == _INDIVIDUAL else earned[0]
    driver[D_TEAM_ELAPSED] += elapsed
    terminated = s.counters[C_TERMINATED] == 1
    if terminated or s.counters[C_TRUNCATED] == 1:
        driver[D_OVER] = 1
        driver[D_TERMINATED] = 1 if terminated else 0
        driver[D_TRUNCATED] = 0 if terminated else 1
    return True


@njit(cache=True)
def _settle(r, s):  # pragma: no cover - compiled
    """DecisionDriver._settle: while nobody has a choice and the episode goes on, step with the forced actions."""
    driver = r.driver
    while True:
        if driver[D_OVER] == 1:
            driver[D_N_CHOOSERS] = 0
            return True
        choosers, forced, forced_actions = classify_rows(r.masks)  # DecisionDriver._classify
        driver[D_N_CHOOSERS] = choosers.size
        r.choosers[: choosers.size] = choosers
        r.forced_row[:] = NO_ACTION
        for j in range(forced.size):
            r.forced_row[forced[j]] = forced_actions[j]
        if choosers.size > 0:
            return True
        if not _env_step(r, s, r.forced_row.copy()):
            return False


@njit(cache=True)
def observe_row(r, s):  # pragma: no cover - compiled
    """CESParallelEnv.reset_arrays' answer after the env's reset: every agent's observation and mask."""
    _observe(r, s)


@njit(cache=True)
def step_copies(rows, states, actions, rewards, elapsed, over, terminated):  # pragma: no cover - compiled
    """CESParallelEnv.step_arrays for every copy b (CESVectorEnv): ``actions[b]`` (n,) env actions (NO_ACTION for
    none); writes every agent's reward (``rewards[b]``), the step's ticks, whether the episode ended and how; the
    observations and masks are the rows' own arrays. Returns (ACT_OK, -1), or (ACT_STALLED or ACT_NO_DECISION, b) for
    the first copy whose engine stalled inconsistently or whose episode is over (copies after it are not stepped)."""
    for b in range(len(rows)):
        r = rows[b]
        driver = r.driver
        if driver[D_OVER] == 1:
            return ACT_NO_DECISION, b
        if not _env_step(r, states[b], actions[b]):
            return ACT_STALLED, b
        rewards[b] = r.earned
        elapsed[b] = driver[D_LAST_ELAPSED]
        over[b] = driver[D_OVER] == 1
        terminated[b] = driver[D_TERMINATED] == 1
    return ACT_OK, -1


@njit(cache=True)
def begin_row(r, s):  # pragma: no cover - compiled
    """DecisionDriver.reset after the env's reset: advance to the first real decision (or the end). True if the row
    then presents a decision (False: the episode ended without any, or the engine stalled: see D_INCONSISTENT)."""
    _observe(r, s)
    if not _settle(r, s):
        return False
    return r.driver[D_OVER] == 0


@njit(cache=True)
def act_rows(rows, states, actions, rewards, elapsed, acted, dones, observations, masks):  # pragma: no cover
    """_Row.act for every row b, on its copy's engine state ``states[b]``: ``actions[b]`` is the presented agent's
    action. Writes the reward and ticks credited
    to it (``rewards``, ``elapsed``), the agent that acted (``acted``), whether the row's episode ended (``dones``) and
    the row's next presented observation and mask (for an ended row: the acting agent's final observation and mask).
    Returns (ACT_OK, -1), or (ACT_STALLED or ACT_NO_DECISION, the row) for the first row whose engine stalled
    inconsistently or that has no decision to present (its episode ended and was not reset); rows after it are not
    played."""
    for b in range(len(rows)):
        r = rows[b]
        s = states[b]
        driver = r.driver
        if driver[D_OVER] == 1 or driver[D_POSITION] >= driver[D_N_CHOOSERS]:
            return ACT_NO_DECISION, b
        agent = r.choosers[driver[D_POSITION]]
        r.pending[agent] = actions[b]
        driver[D_DECISIONS] += 1
        driver[D_POSITION] += 1
        reward = 0.0
        ticks = 0
        if driver[D_POSITION] >= driver[D_N_CHOOSERS]:  # the tick's last chooser: the copy steps (DecisionDriver.step)
            chosen = r.forced_row.copy()
            for k in range(driver[D_N_CHOOSERS]):
                chooser = r.choosers[k]
                chosen[chooser] = r.pending[chooser]
            driver[D_POSITION] = 0
            if not _env_step(r, s, chosen) or not _settle(r, s):
                return ACT_STALLED, b
            reward = r.team[T_REWARD]  # DecisionDriver.drain_team
            ticks = driver[D_TEAM_ELAPSED]
            r.team[T_REWARD] = 0.0
            driver[D_TEAM_ELAPSED] = 0
            r.team[T_RETURN] += reward
        rewards[b] = reward
        elapsed[b] = ticks
        acted[b] = agent
        over = driver[D_OVER] == 1
        dones[b] = over
        shown = agent if over else r.choosers[driver[D_POSITION]]
        observations[b] = r.observations[shown]
        masks[b] = r.masks[shown]
    return ACT_OK, -1


__all__ = ["ROW_FIELDS", "Row", "act_rows", "begin_row", "new_row", "numpy_sum", "observe_row", "step_copies"]

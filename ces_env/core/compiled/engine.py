"""The compiled event loop: the CES protocols' dynamics as numba code over the simulator's arrays.

This is :class:`ces_env.core.simulator.CESSimulator` with :class:`~ces_env.core.protocols.ces.CentralizedControl` or
:class:`~ces_env.core.protocols.ces.DecentralizedControl` plugged in, written once more as plain functions over arrays
so that numba compiles the whole per-event path (issue 12): the Python version stays the readable reference and the
home of every other protocol, and ``tests/core/test_compiled_engine.py`` plays both side by side, step for step. Each
function below names the Python method it mirrors; the order of every scheduled event, message and state change is
the same, so the episodes are the same.

Python objects become arrays: the event heap is an ``(capacity, 4)`` int64 array of (tick, sequence, code, argument)
rows ordered by (tick, sequence) as ``heapq`` orders the Python tuples; sets of agents become bool flags read in id
order (every Python iteration over them is sorted); a group's FIFO queue is a ring buffer. Scalars that change (time,
counters, flags) live in one int64 array, ``counters``, indexed by the ``C_*`` constants.

What it covers is what :func:`ces_env.core.compiled.unsupported_reason` accepts: the two CES controls (decentralized
with either validation), automatic exploration with the ``dfs`` or ``wall_follower`` explorer, no faults. A submitted
path is then valid unless the explorer slipped (``solution_error_prob``): a depth-first walk's stack and a known
solution are paths from start to target, and a slip drops a cell or stops the walk short, which the validator always
rejects. So the engine keeps one flag per agent, whether its submission is valid, instead of the path; the slip is
the same draw from the same (task, attempt) stream as the Python simulator's (:mod:`ces_env.exploration_kernels`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numba.core import types
from numba.experimental import structref

from ces_env.exploration_kernels import dfs_direction_orders_and_slip_into, first_double_slips
from ces_env.maze import _FIXED_ORDER, _NO_CELL_ORDER, _PENDING_TABLE, _RIGHT_HAND_ORDER, _dfs_kernel
from ces_env.types import (
    AGENT_CLAIMING,
    AGENT_EXPLORING,
    AGENT_FINISHED,
    AGENT_IDLE,
    AGENT_QUEUED,
    AGENT_REPLAYING,
    AGENT_VALIDATING,
    TASK_CLAIMED,
    TASK_DONE,
    TASK_READY,
    TASK_RUNNING,
    TASK_VALIDATING,
)

# --- counters: the episode's scalars, one int64 array shared with the Python facade
C_TIME = 0
C_MESSAGES = 1
C_CONFLICTS = 2
C_TASKS_DONE = 3
C_EXPLORATIONS = 4
C_REPLAYS = 5
C_TERMINATED = 6
C_TRUNCATED = 7
C_STALLED = 8
C_END_TIME = 9
C_SEQ = 10  # events scheduled so far (the Python simulator's _seq)
C_FORCED_ROUND = 11
C_HEAP_SIZE = 12
C_CHANGED = 13  # number of groups flagged in `changed`
C_MUST_ACT = 14  # agents flagged must-act, after a call (the facade rebuilds its set only when some are)
C_WAITING = 15  # agents waiting by choice, after a call
C_REJECTED = 16  # submissions the validator rejected (slips)
N_COUNTERS = 17

# --- params: the episode's constants
P_DECENTRALIZED = 0  # 0: centralized controller; 1: decentralized claiming
P_CENTRAL_VALIDATION = 1  # decentralized with validation="central"
P_ASSIGN_TICKS = 2
P_VALIDATE_TICKS = 3
P_CLAIM_LATENCY = 4
P_PEER_VALIDATE_TICKS = 5
P_SHARING = 6  # 0 none, 1 group, 2 global
P_COLLECT_TICKS = 7  # collect_ticks_per_group * l
P_WAIT_TICKS = 8  # -1: wait until something changes
P_MAX_TICKS = 9
P_EXPLORER = 10  # 0 dfs, 1 wall_follower
P_SHARE_TICKS = 11  # ticks per recipient of a shared solution (0: everybody learns it at once)
N_PARAMS = 12

SHARING_CODES = {"none": 0, "group": 1, "global": 2}
EXPLORER_CODES = {"dfs": 0, "wall_follower": 1}

# --- event codes (the Python simulator's handlers)
EV_START = 0  # CESSimulator._start
EV_FINISH_WORK = 1  # CESSimulator._finish_work
EV_RESUME = 2  # CESSimulator._resume
EV_SERVER_DONE = 3  # FifoServer._done (argument: token * l + group)
EV_CLAIM_RESOLVED = 4  # DecentralizedControl._claim_resolved
EV_CONCLUDE = 5  # CESSimulator.conclude_validation (peer validation's timed verdict)
EV_LEARN = 6  # CESSimulator._learn (argument: recipient * c + class)

# --- server rows (one column per group) and job kinds (the protocols' _ASSIGN, _VALIDATE)
S_HEAD = 0
S_LEN = 1
S_JOB_KIND = 2  # -1: idle
S_JOB_AGENT = 3
S_JOB_START = 4
S_SERVED = 5  # completed service ticks
S_TOKEN = 6
S_HELD = 7  # holding for a decision on the job at its head
S_DECIDER = 8  # centralized: the agent whose assignment the policy decides (-1: none)
N_SERVER_ROWS = 9
JOB_ASSIGN = 0
JOB_VALIDATE = 1
JOB_SHARE = 2
NO_TICKS = -1  # a job decided when it reaches the head (an assignment request)

# --- per-agent flags (rows of a bool array)
F_WAITING = 0  # waiting by choice (the Python simulator's `waiting` sets)
F_MUST_ACT = 1
F_DECIDING = 2  # decentralized deciders
F_PARKED = 3
F_CLAIM_LOST = 4
F_VALID = 5  # the agent's current submission is a valid path (no slip)
N_FLAGS = 6


@structref.register
class StateType(types.StructRef):
    """The numba type of :class:`State`: a struct of array references, passed between compiled functions as one
    pointer (a tuple of 44 arrays was passed field by field, with a reference count each: 50 s of compilation)."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class State(structref.StructRefProxy):
    """Everything the compiled loop reads and writes, built once per episode by :func:`new_state` (the Python side
    keeps its own references to the arrays; this handle only goes back into :func:`run`)."""


structref.define_boxing(StateType, State)

# (name, numba type): shapes with m tasks, n agents, l groups, c classes
STATE_FIELDS: tuple[tuple[str, types.Type], ...] = (
    # static, per episode
    ("params", types.int64[::1]),  # (N_PARAMS,) int64
    ("agent_group", types.int64[::1]),  # (n,) int64
    ("agent_speed", types.float64[::1]),  # (n,) float64
    ("task_group", types.int64[::1]),  # (m,) int64
    ("task_class", types.int64[::1]),  # (m,) int64
    ("rewards", types.float64[::1]),  # (m,) float64
    ("succ_indptr", types.int64[::1]),  # (m+1,) int64
    ("succ_indices", types.int64[::1]),  # (E,) int64
    ("members_indptr", types.int64[::1]),  # (l+1,) int64: agents of each group, ascending
    ("members", types.int64[::1]),  # (n,) int64
    ("order_indptr", types.int64[::1]),  # (l+1,) int64: tasks of each group in candidate order
    ("order", types.int64[::1]),  # (m,) int64
    ("passages", types.uint8[::1]),  # (sum of cells,) uint8: every class's maze, flattened one after the other
    ("maze_offset", types.int64[::1]),  # (c+1,) int64
    ("maze_info", types.int64[:, ::1]),  # (c, 4) int64: width, start, target, solution length
    ("seed_words", types.uint32[::1]),  # (w,) uint32: the exploration seed's words
    ("error_prob", types.float64[::1]),  # (1,) float64: solution_error_prob
    # the simulator's public arrays (the facade's attributes)
    ("task_status", types.int8[::1]),  # (m,) int8
    ("remaining_preds", types.int32[::1]),  # (m,) int32
    ("task_holder", types.int32[::1]),  # (m,) int32
    ("completed_by", types.int32[::1]),  # (m,) int32
    ("done_time", types.int64[::1]),  # (m,) int64
    ("exec_start_time", types.int64[::1]),  # (m,) int64
    ("attempts", types.int64[::1]),  # (m,) int64
    ("claim_time", types.int64[::1]),  # (m,) int64
    ("agent_status", types.int8[::1]),  # (n,) int8
    ("agent_task", types.int32[::1]),  # (n,) int32
    ("job_start", types.int64[::1]),  # (n,) int64
    ("job_end", types.int64[::1]),  # (n,) int64
    ("productive_ticks", types.int64[::1]),  # (n,) int64
    ("knows", types.boolean[:, ::1]),  # (n, c) bool
    ("reward_buffer", types.float64[::1]),  # (n,) float64
    ("group_size", types.int64[::1]),  # (l,) int64
    ("group_remaining", types.int64[::1]),  # (l,) int64
    ("group_completed", types.int64[::1]),  # (l,) int64
    ("group_done_time", types.int64[::1]),  # (l,) int64
    # the engine's own state
    ("counters", types.int64[::1]),  # (N_COUNTERS,) int64
    ("total_reward", types.float64[::1]),  # (1,) float64
    ("heap", types.int64[:, ::1]),  # (capacity, 4) int64
    ("flags", types.boolean[:, ::1]),  # (N_FLAGS, n) bool
    ("changed", types.boolean[::1]),  # (l,) bool
    ("server", types.int64[:, ::1]),  # (N_SERVER_ROWS, l) int64
    ("queue", types.int64[:, :, ::1]),  # (3, l, capacity) int64: kind, agent, ticks (a ring buffer per group)
    ("scratch", types.int64[::1]),  # (m + l,) int64: per-call lists (candidates, released groups)
    ("cand_count", types.int64[::1]),  # (l,) int64: -1 until a decision round has listed the group's candidates
)
_STATE_TYPE = StateType(list(STATE_FIELDS))


@njit(cache=True)
def new_state(
    params,
    agent_group,
    agent_speed,
    task_group,
    task_class,
    rewards,
    succ_indptr,
    succ_indices,
    members_indptr,
    members,
    order_indptr,
    order,
    passages,
    maze_offset,
    maze_info,
    seed_words,
    error_prob,
    task_status,
    remaining_preds,
    task_holder,
    completed_by,
    done_time,
    exec_start_time,
    attempts,
    claim_time,
    agent_status,
    agent_task,
    job_start,
    job_end,
    productive_ticks,
    knows,
    reward_buffer,
    group_size,
    group_remaining,
    group_completed,
    group_done_time,
    counters,
    total_reward,
    heap,
    flags,
    changed,
    server,
    queue,
    scratch,
    cand_count,
):
    """A :class:`State` over these arrays (keyword names are :data:`STATE_FIELDS`'; each array must have its
    field's dtype, dimensions and C order)."""
    s = structref.new(_STATE_TYPE)  # type: ignore[call-arg,var-annotated]  # numba's intrinsic, typed by its own signature
    s.params = params
    s.agent_group = agent_group
    s.agent_speed = agent_speed
    s.task_group = task_group
    s.task_class = task_class
    s.rewards = rewards
    s.succ_indptr = succ_indptr
    s.succ_indices = succ_indices
    s.members_indptr = members_indptr
    s.members = members
    s.order_indptr = order_indptr
    s.order = order
    s.passages = passages
    s.maze_offset = maze_offset
    s.maze_info = maze_info
    s.seed_words = seed_words
    s.error_prob = error_prob
    s.task_status = task_status
    s.remaining_preds = remaining_preds
    s.task_holder = task_holder
    s.completed_by = completed_by
    s.done_time = done_time
    s.exec_start_time = exec_start_time
    s.attempts = attempts
    s.claim_time = claim_time
    s.agent_status = agent_status
    s.agent_task = agent_task
    s.job_start = job_start
    s.job_end = job_end
    s.productive_ticks = productive_ticks
    s.knows = knows
    s.reward_buffer = reward_buffer
    s.group_size = group_size
    s.group_remaining = group_remaining
    s.group_completed = group_completed
    s.group_done_time = group_done_time
    s.counters = counters
    s.total_reward = total_reward
    s.heap = heap
    s.flags = flags
    s.changed = changed
    s.server = server
    s.queue = queue
    s.scratch = scratch
    s.cand_count = cand_count
    return s


# ------------------------------------------------------------------------------------------------ event heap
@njit(cache=True, inline="always")
def _before(heap, i, j):
    return heap[i, 0] < heap[j, 0] or (heap[i, 0] == heap[j, 0] and heap[i, 1] < heap[j, 1])


@njit(cache=True, inline="always")
def _swap(heap, i, j):
    for k in range(4):
        heap[i, k], heap[j, k] = heap[j, k], heap[i, k]


@njit(cache=True)
def schedule(s, time, code, argument):
    """CESSimulator.schedule: push (tick, sequence, code, argument)."""
    counters = s.counters
    size = counters[C_HEAP_SIZE]
    if size == s.heap.shape[0]:  # more pending events than ever (solutions being shared to many recipients)
        grown = np.empty((2 * size, 4), dtype=np.int64)
        grown[:size] = s.heap
        s.heap = grown
    heap = s.heap
    heap[size, 0] = time
    heap[size, 1] = counters[C_SEQ]
    heap[size, 2] = code
    heap[size, 3] = argument
    counters[C_SEQ] += 1
    counters[C_HEAP_SIZE] = size + 1
    child = size
    while child > 0:
        parent = (child - 1) >> 1
        if not _before(heap, child, parent):
            break
        _swap(heap, child, parent)
        child = parent


@njit(cache=True)
def _pop(s):
    heap, counters = s.heap, s.counters
    code, argument = heap[0, 2], heap[0, 3]
    size = counters[C_HEAP_SIZE] - 1
    counters[C_HEAP_SIZE] = size
    if size > 0:
        for k in range(4):
            heap[0, k] = heap[size, k]
        parent = 0
        while True:
            left = 2 * parent + 1
            if left >= size:
                break
            child = left
            if left + 1 < size and _before(heap, left + 1, left):
                child = left + 1
            if not _before(heap, child, parent):
                break
            _swap(heap, child, parent)
            parent = child
    return code, argument


# ------------------------------------------------------------------------------------------------ the group's server
@njit(cache=True)
def _grow_queues(s):
    """Twice the ring buffers' capacity, each group's jobs moved to the front in their order."""
    server, queue = s.server, s.queue
    capacity = queue.shape[2]
    grown = np.zeros((3, queue.shape[1], 2 * capacity), dtype=np.int64)
    for group in range(queue.shape[1]):
        head = server[S_HEAD, group]
        for k in range(server[S_LEN, group]):
            grown[:, group, k] = queue[:, group, (head + k) % capacity]
        server[S_HEAD, group] = 0
    s.queue = grown


@njit(cache=True)
def _push(s, group, kind, agent, ticks, front, serve):
    """FifoServer.push: at the back, or next if ``front``; ``ticks`` -1 for a job decided at the head."""
    server = s.server
    if server[S_LEN, group] == s.queue.shape[2]:
        _grow_queues(s)
    queue = s.queue
    capacity = queue.shape[2]
    length = server[S_LEN, group]
    if front:
        slot = (server[S_HEAD, group] - 1) % capacity
        server[S_HEAD, group] = slot
    else:
        slot = (server[S_HEAD, group] + length) % capacity
    queue[0, group, slot] = kind
    queue[1, group, slot] = agent
    queue[2, group, slot] = ticks
    server[S_LEN, group] = length + 1
    if serve:
        _serve_next(s, group)


@njit(cache=True)
def _serve_next(s, group):
    """FifoServer.serve_next (no outages here: the server is always up)."""
    server, queue = s.server, s.queue
    capacity = queue.shape[2]
    while server[S_LEN, group] > 0 and server[S_JOB_KIND, group] < 0 and server[S_HELD, group] == 0:
        head = server[S_HEAD, group]
        kind, agent, ticks = queue[0, group, head], queue[1, group, head], queue[2, group, head]
        server[S_HEAD, group] = (head + 1) % capacity
        server[S_LEN, group] -= 1
        if ticks < 0:  # pushed without a service time (an assignment request): the protocol admits it
            server[S_HELD, group] = 1 if _admit(s, group, agent) else 0
        else:
            _start_job(s, group, kind, agent, ticks)


@njit(cache=True)
def _start_job(s, group, kind, agent, ticks):
    """FifoServer._start."""
    server = s.server
    now = s.counters[C_TIME]
    server[S_JOB_KIND, group] = kind
    server[S_JOB_AGENT, group] = agent
    server[S_JOB_START, group] = now
    server[S_TOKEN, group] += 1
    schedule(s, now + ticks, EV_SERVER_DONE, server[S_TOKEN, group] * server.shape[1] + group)


@njit(cache=True)
def _server_done(s, event):
    """FifoServer._done, then the protocol's job-done hook (CentralizedControl._service_done and
    DecentralizedControl._validator_done agree on assignment and validation jobs)."""
    server, counters = s.server, s.counters
    n_groups = server.shape[1]
    token, group = event // n_groups, event % n_groups
    if token != server[S_TOKEN, group]:
        return
    kind, agent = server[S_JOB_KIND, group], server[S_JOB_AGENT, group]
    server[S_JOB_KIND, group] = -1
    server[S_SERVED, group] += counters[C_TIME] - server[S_JOB_START, group]
    if kind == JOB_VALIDATE:
        counters[C_MESSAGES] += 1  # the verdict back to the agent
        conclude_validation(s, agent)
    elif kind == JOB_ASSIGN:
        counters[C_MESSAGES] += 1  # the assignment back to the agent
        start_execution(s, agent, s.agent_task[agent])
    # a sharing job: its messages were counted when the solution was shared
    if counters[C_TERMINATED] == 0:
        _serve_next(s, group)


# ------------------------------------------------------------------------------------------------ the control protocol
@njit(cache=True)
def _has_candidates(s, group):
    """len(control.candidates(group)) > 0."""
    now, latency = s.counters[C_TIME], s.params[P_CLAIM_LATENCY]
    decentralized = s.params[P_DECENTRALIZED] == 1
    for k in range(s.order_indptr[group], s.order_indptr[group + 1]):
        task = s.order[k]
        status = s.task_status[task]
        if status == TASK_READY:
            return True
        if decentralized and status == TASK_CLAIMED and s.claim_time[task] + latency > now:
            return True
    return False


@njit(cache=True)
def _list_candidates(s, group):
    """control.candidates(group), written into the group's part of ``scratch``; returns how many."""
    now, latency = s.counters[C_TIME], s.params[P_CLAIM_LATENCY]
    decentralized = s.params[P_DECENTRALIZED] == 1
    start = s.order_indptr[group]
    count = 0
    for k in range(start, s.order_indptr[group + 1]):
        task = s.order[k]
        status = s.task_status[task]
        if status == TASK_READY or (decentralized and status == TASK_CLAIMED and s.claim_time[task] + latency > now):
            s.scratch[start + count] = task
            count += 1
    return count


@njit(cache=True)
def _admit(s, group, agent):
    """CentralizedControl._admit."""
    if s.group_remaining[group] == 0:
        s.agent_status[agent] = AGENT_FINISHED
        return False
    if _has_candidates(s, group):
        s.server[S_DECIDER, group] = agent
        return True
    s.flags[F_PARKED, agent] = True
    return False


@njit(cache=True)
def _agent_available(s, agent):
    """control.agent_available."""
    group = s.agent_group[agent]
    if s.params[P_DECENTRALIZED] == 0:
        s.counters[C_MESSAGES] += 1  # the request to the controller
        s.agent_status[agent] = AGENT_QUEUED
        _push(s, group, JOB_ASSIGN, agent, -1, False, True)
    else:
        s.agent_status[agent] = AGENT_IDLE
        if _has_candidates(s, group):
            s.flags[F_DECIDING, agent] = True
        else:
            s.flags[F_PARKED, agent] = True


@njit(cache=True)
def has_deciders(s):
    """control.has_deciders."""
    if s.params[P_DECENTRALIZED] == 0:
        deciders = s.server[S_DECIDER]
        for g in range(deciders.size):  # noqa: SIM110 (a loop that stops early; numba has no generator any())
            if deciders[g] >= 0:
                return True
        return False
    deciding = s.flags[F_DECIDING]
    for agent in range(deciding.size):  # noqa: SIM110
        if deciding[agent]:
            return True
    return False


@njit(cache=True)
def task_deciders(s):
    """control.task_deciders: sorted by id."""
    if s.params[P_DECENTRALIZED] == 0:
        deciders = s.server[S_DECIDER]
        return np.sort(deciders[deciders >= 0])
    return np.flatnonzero(s.flags[F_DECIDING]).astype(np.int64)


@njit(cache=True)
def _reserve(s, task, agent):
    s.task_status[task] = TASK_CLAIMED
    s.task_holder[task] = agent


@njit(cache=True)
def _choose(s, agent, task):
    """control.choose."""
    group = s.agent_group[agent]
    counters, params = s.counters, s.params
    if params[P_DECENTRALIZED] == 0:
        s.server[S_DECIDER, group] = -1
        _reserve(s, task, agent)  # the controller knows its own reservations: no conflict is possible
        s.server[S_HELD, group] = 0  # FifoServer.start
        _start_job(s, group, JOB_ASSIGN, agent, params[P_ASSIGN_TICKS])
        return
    s.flags[F_DECIDING, agent] = False
    counters[C_MESSAGES] += s.group_size[group] - 1  # the claim broadcast
    s.agent_status[agent] = AGENT_CLAIMING
    if s.task_status[task] == TASK_READY:
        _reserve(s, task, agent)
        s.claim_time[task] = counters[C_TIME]
        s.flags[F_CLAIM_LOST, agent] = False
    else:  # an earlier claim, not yet visible, holds the task: this claim will lose
        s.flags[F_CLAIM_LOST, agent] = True
        counters[C_CONFLICTS] += 1
    schedule(s, counters[C_TIME] + params[P_CLAIM_LATENCY], EV_CLAIM_RESOLVED, agent)


@njit(cache=True)
def _decline(s, agent):
    """control.decline."""
    if s.params[P_DECENTRALIZED] == 1:
        s.flags[F_DECIDING, agent] = False
        return
    group = s.agent_group[agent]
    if s.server[S_DECIDER, group] == agent:
        s.server[S_DECIDER, group] = -1  # the controller keeps the request aside and serves its next job
        s.server[S_HELD, group] = 0  # FifoServer.release
        _serve_next(s, group)


@njit(cache=True)
def _resume(s, agent):
    """control.resume: the centralized controller still holds the request (no new message)."""
    if s.params[P_DECENTRALIZED] == 0:
        _push(s, s.agent_group[agent], JOB_ASSIGN, agent, -1, False, True)
    else:
        _agent_available(s, agent)


@njit(cache=True)
def _submit_to_protocol(s, agent):
    """control.submit."""
    group = s.agent_group[agent]
    params, counters = s.params, s.counters
    if params[P_DECENTRALIZED] == 0 or params[P_CENTRAL_VALIDATION] == 1:
        counters[C_MESSAGES] += 1  # the solution to the controller (group entity)
        _push(s, group, JOB_VALIDATE, agent, params[P_VALIDATE_TICKS], False, True)
    else:
        counters[C_MESSAGES] += 2 * (s.group_size[group] - 1)  # the solution to the peers, their verdicts back
        schedule(s, counters[C_TIME] + params[P_PEER_VALIDATE_TICKS], EV_CONCLUDE, agent)


@njit(cache=True)
def _tasks_ready(s, group):
    """control.tasks_ready: parked agents (in id order) queue again, or decide."""
    centralized = s.params[P_DECENTRALIZED] == 0
    any_parked = False
    for k in range(s.members_indptr[group], s.members_indptr[group + 1]):
        agent = s.members[k]
        if s.flags[F_PARKED, agent]:
            s.flags[F_PARKED, agent] = False
            any_parked = True
            if centralized:
                _push(s, group, JOB_ASSIGN, agent, -1, False, False)
            else:
                s.flags[F_DECIDING, agent] = True
    if centralized and any_parked:
        _serve_next(s, group)


@njit(cache=True)
def _group_finished(s, group):
    """control.group_finished."""
    for k in range(s.members_indptr[group], s.members_indptr[group + 1]):
        agent = s.members[k]
        s.flags[F_PARKED, agent] = False
        s.flags[F_DECIDING, agent] = False
    s.server[S_LEN, group] = 0  # FifoServer.clear
    s.server[S_HELD, group] = 0
    s.server[S_DECIDER, group] = -1


# ------------------------------------------------------------------------------------------------ the simulator
@njit(cache=True)
def _mark_changed(s, group):
    if not s.changed[group]:
        s.changed[group] = True
        s.counters[C_CHANGED] += 1


@njit(cache=True)
def make_available(s, agent):
    """CESSimulator.make_available."""
    group = s.agent_group[agent]
    s.agent_task[agent] = -1
    if s.group_remaining[group] == 0:
        s.agent_status[agent] = AGENT_FINISHED
        return
    _mark_changed(s, group)  # a groupmate is free: agents waiting for a change are asked again
    _agent_available(s, agent)


@njit(cache=True)
def _release_tasks(s, group):
    """CESSimulator.release_tasks."""
    _mark_changed(s, group)
    _tasks_ready(s, group)


@njit(cache=True)
def _explore(s, cls, task, attempt):
    """The explorer's move count on ``cls``'s maze and whether it slipped, from the (task, attempt) stream: the
    ``dfs`` explorer's direction orders, then the slip's draw (CESSimulator._maybe_corrupt)."""
    info = s.maze_info[cls]
    passages = s.passages[s.maze_offset[cls] : s.maze_offset[cls + 1]]
    if attempt >= 2**32:  # (tasks are fewer than 2**32: config limits) numpy would make two words of it
        raise RuntimeError("compiled CES engine: a task's 2**32nd exploration; run it with engine='python'")
    words = np.empty(s.seed_words.size + 2, dtype=np.uint32)
    words[: s.seed_words.size] = s.seed_words
    words[-2] = task
    words[-1] = attempt
    error_prob = s.error_prob[0]
    if s.params[P_EXPLORER] == 0:
        orders = np.empty(passages.size, dtype=np.uint8)
        slipped = dfs_direction_orders_and_slip_into(words, orders, error_prob)
        moves, _, _ = _dfs_kernel(passages, info[0], info[1], info[2], orders, _FIXED_ORDER, _PENDING_TABLE)
    else:
        slipped = first_double_slips(words, error_prob)  # the wall follower draws nothing before
        moves, _, _ = _dfs_kernel(
            passages, info[0], info[1], info[2], _NO_CELL_ORDER, _RIGHT_HAND_ORDER, _PENDING_TABLE
        )
    return moves, slipped


@njit(cache=True)
def start_execution(s, agent, task):
    """CESSimulator.start_execution (automatic mode)."""
    counters = s.counters
    now = counters[C_TIME]
    cls = s.task_class[task]
    speed = s.agent_speed[agent]
    s.task_status[task] = TASK_RUNNING
    s.task_holder[task] = agent
    _mark_changed(s, s.agent_group[agent])  # a claim or an assignment resolved
    s.exec_start_time[task] = now
    s.job_start[agent] = now
    if s.knows[agent, cls]:
        counters[C_REPLAYS] += 1
        duration = max(1, math.ceil(s.maze_info[cls, 3] / speed - 1e-9))
        s.agent_status[agent] = AGENT_REPLAYING
        s.flags[F_VALID, agent] = True  # the known solution
    else:
        counters[C_EXPLORATIONS] += 1
        attempt = s.attempts[task]
        s.attempts[task] += 1
        moves, slipped = _explore(s, cls, task, attempt)
        duration = max(1, math.ceil(moves / speed - 1e-9))
        s.agent_status[agent] = AGENT_EXPLORING
        s.flags[F_VALID, agent] = not slipped
    s.job_end[agent] = now + duration
    schedule(s, now + duration, EV_FINISH_WORK, agent)


@njit(cache=True)
def _finish_work(s, agent):
    """CESSimulator._finish_work and _submit."""
    status = s.agent_status[agent]
    now = s.counters[C_TIME]
    working = status == AGENT_EXPLORING or status == AGENT_REPLAYING  # noqa: SIM109 (two int8 compares in numba)
    if not working or s.job_end[agent] != now:
        return
    s.productive_ticks[agent] += now - s.job_start[agent]
    s.task_status[s.agent_task[agent]] = TASK_VALIDATING
    s.agent_status[agent] = AGENT_VALIDATING
    _submit_to_protocol(s, agent)


@njit(cache=True)
def conclude_validation(s, agent):
    """CESSimulator.conclude_validation: complete the task, or reject a slipped path (no Byzantine agents here)."""
    task = s.agent_task[agent]
    group = s.task_group[task]
    if s.flags[F_VALID, agent]:
        _complete(s, agent, task, s.task_class[task], group)
    else:
        s.counters[C_REJECTED] += 1
        s.task_status[task] = TASK_READY
        s.task_holder[task] = -1
        _release_tasks(s, group)
    make_available(s, agent)


@njit(cache=True)
def _complete(s, agent, task, cls, group):
    """CESSimulator._complete."""
    counters = s.counters
    now = counters[C_TIME]
    s.task_status[task] = TASK_DONE
    s.done_time[task] = now
    s.completed_by[task] = agent
    reward = s.rewards[task]
    s.reward_buffer[agent] += reward
    s.total_reward[0] += reward
    counters[C_TASKS_DONE] += 1
    s.group_remaining[group] -= 1
    s.group_completed[group] += 1

    _share_knowledge(s, agent, cls)

    # released groups, listed after the task ids' part of scratch, then sorted
    base = s.task_status.size
    n_released = 0
    for k in range(s.succ_indptr[task], s.succ_indptr[task + 1]):
        succ = s.succ_indices[k]
        s.remaining_preds[succ] -= 1
        if s.remaining_preds[succ] == 0:
            s.task_status[succ] = TASK_READY
            succ_group = s.task_group[succ]
            seen = False
            for r in range(n_released):
                if s.scratch[base + r] == succ_group:
                    seen = True
                    break
            if not seen:
                s.scratch[base + n_released] = succ_group
                n_released += 1
    released = np.sort(s.scratch[base : base + n_released])
    for r in range(n_released):
        if released[r] != group:
            counters[C_MESSAGES] += 1  # system-level notice to another group
    for r in range(n_released):
        _release_tasks(s, released[r])

    if s.group_remaining[group] == 0:
        _finish_group(s, group)
    if counters[C_TASKS_DONE] == s.task_status.size:
        counters[C_TERMINATED] = 1
        counters[C_END_TIME] = now + s.params[P_COLLECT_TICKS]
        counters[C_TIME] = counters[C_END_TIME]


@njit(cache=True)
def _share_knowledge(s, agent, cls):
    """CESSimulator._share_knowledge: the learners are the solver, its group or everybody; with a cost per recipient
    they learn it one after the other by id, and the protocol's ``knowledge_shared`` hook runs."""
    counters, params = s.counters, s.params
    sharing, share = params[P_SHARING], params[P_SHARE_TICKS]
    agent_group = s.agent_group[agent]
    if sharing == 0:
        first, last = 0, 0  # no recipient
    elif sharing == 1:
        first, last = s.members_indptr[agent_group], s.members_indptr[agent_group + 1]
    else:
        first, last = 0, s.knows.shape[0]
    n_learners = 1 if sharing == 0 else last - first
    counters[C_MESSAGES] += n_learners - 1  # the solution is sent to every learner but the solver
    s.knows[agent, cls] = True
    k = 0
    for index in range(first, last):
        recipient = s.members[index] if sharing == 1 else index
        if recipient == agent:
            continue
        if share <= 0:
            s.knows[recipient, cls] = True
        else:
            k += 1
            schedule(s, counters[C_TIME] + k * share, EV_LEARN, recipient * s.knows.shape[1] + cls)
    if share > 0:
        _knowledge_shared(s, agent_group, agent, (n_learners - 1) * share)


@njit(cache=True)
def _knowledge_shared(s, group, agent, ticks):
    """control.knowledge_shared: the group entity (the centralized controller, a central validator) sends the
    solution before its next job; peers send nothing through an entity."""
    if ticks <= 0:
        return
    if s.params[P_DECENTRALIZED] == 0:
        _push(s, group, JOB_SHARE, agent, ticks, True, False)
    elif s.params[P_CENTRAL_VALIDATION] == 1 and s.group_remaining[group] > 0:
        _push(s, group, JOB_SHARE, agent, ticks, True, True)


@njit(cache=True)
def _finish_group(s, group):
    """CESSimulator._finish_group."""
    s.group_done_time[group] = s.counters[C_TIME]
    first, last = s.members_indptr[group], s.members_indptr[group + 1]
    for k in range(first, last):
        s.flags[F_WAITING, s.members[k]] = False
    _group_finished(s, group)
    for k in range(first, last):
        agent = s.members[k]
        if s.agent_status[agent] == AGENT_IDLE or s.agent_status[agent] == AGENT_QUEUED:
            s.agent_status[agent] = AGENT_FINISHED


@njit(cache=True)
def _start(s):
    """CESSimulator._start."""
    for g in range(s.group_remaining.size):
        if s.group_remaining[g] == 0:
            s.group_done_time[g] = s.counters[C_TIME]
    for agent in range(s.agent_status.size):
        make_available(s, agent)


@njit(cache=True)
def _choose_wait(s, agent):
    """CESSimulator._choose_wait."""
    _decline(s, agent)
    s.flags[F_WAITING, agent] = True
    wait_ticks = s.params[P_WAIT_TICKS]
    if wait_ticks >= 0:
        schedule(s, s.counters[C_TIME] + wait_ticks, EV_RESUME, agent)


@njit(cache=True)
def _resume_event(s, agent):
    """CESSimulator._resume."""
    if s.flags[F_WAITING, agent]:
        s.flags[F_WAITING, agent] = False
        _resume(s, agent)


@njit(cache=True)
def _wake_changed_groups(s):
    """CESSimulator._wake_changed_groups."""
    changed = np.flatnonzero(s.changed)
    s.changed[:] = False
    s.counters[C_CHANGED] = 0
    if s.params[P_WAIT_TICKS] >= 0:
        return
    for g in changed:
        first, last = s.members_indptr[g], s.members_indptr[g + 1]
        woken = np.empty(last - first, dtype=np.int64)
        n_woken = 0
        for k in range(first, last):
            agent = s.members[k]
            if s.flags[F_WAITING, agent]:
                s.flags[F_WAITING, agent] = False
                woken[n_woken] = agent
                n_woken += 1
        for k in range(n_woken):
            _resume(s, woken[k])


@njit(cache=True)
def _on_quiescence(s):
    """CESSimulator._on_quiescence (no fault can block a group here). Returns False if the state is inconsistent."""
    counters = s.counters
    waiting = np.flatnonzero(s.flags[F_WAITING])
    if waiting.size == 0:
        return False
    if counters[C_FORCED_ROUND] == 1:  # they were asked with waiting masked out and still waited
        counters[C_TRUNCATED] = 1
        counters[C_STALLED] = 1
        return True
    counters[C_FORCED_ROUND] = 1
    s.flags[F_WAITING, :] = False
    for agent in waiting:
        s.flags[F_MUST_ACT, agent] = True
    for agent in waiting:
        _resume(s, agent)
    return True


@njit(cache=True)
def _dispatch(s, code, argument):
    if code == EV_FINISH_WORK:
        _finish_work(s, argument)
    elif code == EV_SERVER_DONE:
        _server_done(s, argument)
    elif code == EV_CLAIM_RESOLVED:  # DecentralizedControl._claim_resolved
        if s.flags[F_CLAIM_LOST, argument]:
            s.flags[F_CLAIM_LOST, argument] = False
            make_available(s, argument)
        else:
            start_execution(s, argument, s.agent_task[argument])
    elif code == EV_CONCLUDE:
        conclude_validation(s, argument)
    elif code == EV_RESUME:
        _resume_event(s, argument)
    elif code == EV_LEARN:
        n_classes = s.knows.shape[1]
        s.knows[argument // n_classes, argument % n_classes] = True
    else:
        _start(s)


@njit(cache=True)
def advance(s):
    """CESSimulator.advance. Returns False if the episode stalled with nobody deciding and nobody waiting (the Python
    simulator raises then; the facade does too)."""
    counters = s.counters  # (not the heap: an event may grow it, so it is read from the state each time)
    max_ticks = s.params[P_MAX_TICKS]
    while counters[C_TERMINATED] == 0 and counters[C_TRUNCATED] == 0:
        if counters[C_CHANGED] > 0:
            _wake_changed_groups(s)
        if has_deciders(s):
            return True
        if counters[C_HEAP_SIZE] == 0:
            if not _on_quiescence(s):
                return False
            continue
        next_time = s.heap[0, 0]
        if next_time > max_ticks:
            counters[C_TIME] = max_ticks
            counters[C_TRUNCATED] = 1
            return True
        counters[C_TIME] = next_time
        counters[C_FORCED_ROUND] = 0
        while (
            counters[C_HEAP_SIZE] > 0
            and s.heap[0, 0] == next_time
            and counters[C_TERMINATED] == 0
            and counters[C_TRUNCATED] == 0
        ):
            code, argument = _pop(s)
            _dispatch(s, code, argument)
    return True


@njit(cache=True)
def decide(s, choices):
    """CESSimulator.decide for task deciders: ``choices[agent]`` is an index into its group's candidates, anything
    else (e.g. -1) waits."""
    s.flags[F_MUST_ACT, :] = False
    s.cand_count[:] = -1
    for agent in task_deciders(s):
        group = s.agent_group[agent]
        if s.cand_count[group] < 0:  # the group's candidates as the round started (a claim made now stays listed)
            s.cand_count[group] = _list_candidates(s, group)
        choice = choices[agent]
        if choice < 0 or choice >= s.cand_count[group]:
            _choose_wait(s, agent)
        else:
            task = s.scratch[s.order_indptr[group] + choice]
            s.agent_task[agent] = task
            _choose(s, agent, task)


# ------------------------------------------------------------------------------------------------ entry
DECIDE = 1
ADVANCE = 2


@njit(cache=True)
def run(mode, choices, s):
    """The one entry from Python: ``decide(choices)`` if ``mode & DECIDE``, then ``advance()`` if ``mode & ADVANCE``,
    on the :class:`State` ``s``. Returns False if the episode stalled inconsistently (nobody deciding, nobody
    waiting, no event pending)."""
    consistent = True
    if mode & DECIDE:
        decide(s, choices)
    if mode & ADVANCE:
        consistent = advance(s)
    s.counters[C_MUST_ACT] = np.count_nonzero(s.flags[F_MUST_ACT])
    s.counters[C_WAITING] = np.count_nonzero(s.flags[F_WAITING])
    return consistent


__all__ = ["ADVANCE", "DECIDE", "STATE_FIELDS", "State", "new_state", "run"]

"""Compiled (numba) kernels of the per-step hot path: observations, masks, action decoding, choosers.

The environment builds every agent's observation and mask after every step. Written with numpy array operations, a
12-agent build costs about 60 small numpy calls (~270 µs, a third of a step), almost all of it call overhead; these
loops do the same work in a few microseconds. The Python objects (simulator, protocol) stay at the edge:
:meth:`ObservationBuilder.build` reads their arrays and passes them in.

The numpy construction is kept as :meth:`ObservationBuilder.build_numpy`, the readable reference:
``tests/test_observation_builder.py`` checks that both give bit-identical observations, masks and slots on every
registered preset and protocol. The action kernels below replace numpy calls on (n,) arrays whose overhead exceeded the
work for tens of agents. Kept in their own module because mutation testing rewrites the functions of
``observations.py`` and ``env.py`` (a rewritten function cannot be compiled).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ces_env.observations import AGENT_INDEX, SLOT_FEATURES, SLOT_INDEX, SLOT_OFFSET
from ces_env.types import AgentStatus, TaskStatus

# numba reads module globals as compile-time constants: plain ints, not the enum members or the mapping
_DECIDING_TASK = AGENT_INDEX["deciding_task"]
_DECIDING_MOVE = AGENT_INDEX["deciding_move"]
_SPEED = AGENT_INDEX["speed"]
_TIME = AGENT_INDEX["time"]
_INDEX_IN_GROUP = AGENT_INDEX["index_in_group"]
_JOB_PROGRESS = AGENT_INDEX["job_progress"]
_CLASSES_KNOWN = AGENT_INDEX["classes_known"]
_GROUP_PROGRESS = AGENT_INDEX["group_progress"]
_GROUP_READY = AGENT_INDEX["group_ready"]
_GROUP_IDLE = AGENT_INDEX["group_idle"]
_CONTROLLER_QUEUE = AGENT_INDEX["controller_queue"]
_DECIDER_RANK = AGENT_INDEX["decider_rank"]
_N_SLOT_FEATURES = len(SLOT_FEATURES)
_VALID = SLOT_INDEX["valid"]
_REWARD = SLOT_INDEX["reward"]
_KNOWN = SLOT_INDEX["known"]
_SUCCESSORS = SLOT_INDEX["successors"]
_UPWARD_RANK = SLOT_INDEX["upward_rank"]
_CLASS_IN_PROGRESS = SLOT_INDEX["class_in_progress"]
_SLOT_OFFSET = SLOT_OFFSET
_IDLE = int(AgentStatus.IDLE)
_EXPLORING = int(AgentStatus.EXPLORING)
_STEERING = int(AgentStatus.STEERING)
_REPLAYING = int(AgentStatus.REPLAYING)
_RUNNING = int(TaskStatus.RUNNING)


@njit(cache=True)
def top_candidates(flags, flat_order, flat_group, n_groups, n_slots):  # pragma: no cover - compiled
    """((l, K) int64 the first K flagged tasks of each group in slot order, -1 padded; (l,) flagged per group).

    ``flat_order`` is the groups' candidate orders concatenated group by group, ``flat_group`` each entry's group and
    ``flags`` which entries are candidates now."""
    top = np.full((n_groups, n_slots), -1, dtype=np.int64)
    n_cands = np.zeros(n_groups, dtype=np.int64)
    for j in range(flat_order.size):
        if flags[j]:
            group = flat_group[j]
            rank = n_cands[group]
            if rank < n_slots:
                top[group, rank] = flat_order[j]
            n_cands[group] = rank + 1
    return top, n_cands


@njit(cache=True)
def fill_observations(  # noqa: PLR0913 (one argument per simulator array: the kernel sees no Python object)
    obs,  # (n, D) float32, zeros: written
    masks,  # (n, A) int8, zeros: written
    top,  # (l, K) int64 each group's slot tasks, -1 for an empty slot
    n_cands,  # (l,) int64 candidates per group
    agent_status,  # (n,) int8
    agent_group,  # (n,) agent -> group
    task_deciders,  # (d,) int64 sorted by id
    move_deciders,  # (e,) int64
    must_act,  # (f,) int64 deciders asked again with waiting masked out
    speed_norm,  # (n,) float64 speed / max speed
    squashed_time,  # float
    index_in_group,  # (n,) float32
    now,  # int the current tick
    job_start,  # (n,) int64
    job_end,  # (n,) int64
    knows,  # (n, C) bool
    task_status,  # (m,) int8
    task_holder,  # (m,) int32
    task_group,  # (m,) group of each task
    task_class,  # (m,) inference class of each task
    group_total,  # (l,) int64 tasks of each group
    group_completed,  # (l,) int64
    group_size,  # (l,) int64 members of each group, at least 1
    queues,  # (l,) jobs at each group's controller
    reward_norm,  # (m,) float64
    succ_norm,  # (m,) float64
    rank_norm,  # (m,) float64
):  # pragma: no cover - compiled
    """Fill ``obs`` and ``masks`` exactly as ``ObservationBuilder.build_numpy`` does (same float64 arithmetic, then
    one cast to float32 per value, so the results are bit-identical)."""
    n = agent_status.size
    n_groups = group_total.size
    n_slots = top.shape[1]
    n_classes = knows.shape[1]

    # per group: the classes a member is exploring now, idle members
    class_explored = np.zeros((n_groups, n_classes), dtype=np.bool_)
    for task in range(task_status.size):
        if task_status[task] == _RUNNING:
            holder_status = agent_status[task_holder[task]]
            if holder_status in (_EXPLORING, _STEERING):
                class_explored[task_group[task], task_class[task]] = True
    idle = np.zeros(n_groups, dtype=np.float64)
    for i in range(n):
        if agent_status[i] == _IDLE:
            idle[agent_group[i]] += 1.0

    for i in range(n):
        group = agent_group[i]
        status = agent_status[i]
        masks[i, 0] = 1  # waiting is allowed, except for deciders asked again because nothing else would happen
        obs[i, status] = 1.0  # the status one-hot: index == status value
        obs[i, _SPEED] = speed_norm[i]
        obs[i, _TIME] = squashed_time
        obs[i, _INDEX_IN_GROUP] = index_in_group[i]
        if status in (_EXPLORING, _REPLAYING):
            span = max(1, job_end[i] - job_start[i])
            obs[i, _JOB_PROGRESS] = min(1.0, max(0.0, (now - job_start[i]) / span))
        known = 0
        for c in range(n_classes):
            if knows[i, c]:
                known += 1
        obs[i, _CLASSES_KNOWN] = known / n_classes
        total = max(1, group_total[group])
        obs[i, _GROUP_PROGRESS] = group_completed[group] / total
        obs[i, _GROUP_READY] = min(1.0, n_cands[group] / total)
        obs[i, _GROUP_IDLE] = idle[group] / group_size[group]
        obs[i, _CONTROLLER_QUEUE] = min(1.0, queues[group] / group_size[group])
        for k in range(n_slots):
            task = top[group, k]
            if task < 0:
                continue  # features of an empty slot stay 0
            base = _SLOT_OFFSET + k * _N_SLOT_FEATURES
            cls = task_class[task]
            obs[i, base + _VALID] = 1.0
            obs[i, base + _REWARD] = reward_norm[task]
            obs[i, base + _KNOWN] = 1.0 if knows[i, cls] else 0.0
            obs[i, base + _SUCCESSORS] = succ_norm[task]
            obs[i, base + _UPWARD_RANK] = rank_norm[task]
            obs[i, base + _CLASS_IN_PROGRESS] = 1.0 if class_explored[group, cls] else 0.0

    # task deciders: their slots are their legal actions; groupmates told apart by their rank among the deciders
    deciders_in_group = np.zeros(n_groups, dtype=np.int64)
    for d in task_deciders:
        deciders_in_group[agent_group[d]] += 1
    seen_in_group = np.zeros(n_groups, dtype=np.int64)
    for d in task_deciders:
        group = agent_group[d]
        obs[d, _DECIDING_TASK] = 1.0
        for k in range(n_slots):
            masks[d, 1 + k] = 1 if top[group, k] >= 0 else 0
        count = deciders_in_group[group]
        if count > 1:
            obs[d, _DECIDER_RANK] = seen_in_group[group] / (count - 1)
        seen_in_group[group] += 1
    for e in move_deciders:
        obs[e, _DECIDING_MOVE] = 1.0
    for f in must_act:
        for a in range(1, masks.shape[1]):
            if masks[f, a]:
                masks[f, 0] = 0  # only where another action is legal
                break


@njit(cache=True)
def decode_actions(chosen, masks, first_move, no_action):  # pragma: no cover - compiled
    """Split (n,) env actions by kind; a masked-out or out-of-range action is played as a wait and flagged.

    Returns (task takers, their slot index, movers, their direction, (n,) bool invalid)."""
    n = chosen.size
    n_actions = masks.shape[1]
    invalid = np.zeros(n, dtype=np.bool_)
    takers = np.empty(n, dtype=np.int64)
    slots = np.empty(n, dtype=np.int64)
    movers = np.empty(n, dtype=np.int64)
    directions = np.empty(n, dtype=np.int64)
    n_takers = 0
    n_movers = 0
    for i in range(n):
        action = chosen[i]
        if action == no_action:
            continue
        if action < 0 or action >= n_actions or masks[i, action] == 0:
            invalid[i] = True
        elif action >= first_move:
            movers[n_movers] = i
            directions[n_movers] = action - first_move
            n_movers += 1
        elif action >= 1:
            takers[n_takers] = i
            slots[n_takers] = action - 1
            n_takers += 1
    return takers[:n_takers], slots[:n_takers], movers[:n_movers], directions[:n_movers], invalid


@njit(cache=True)
def classify_rows(masks):  # pragma: no cover - compiled
    """(choosers: two or more legal actions; forced: one legal action that is not wait; that action)."""
    n = masks.shape[0]
    choosers = np.empty(n, dtype=np.int64)
    forced = np.empty(n, dtype=np.int64)
    forced_actions = np.empty(n, dtype=np.int64)
    n_choosers = 0
    n_forced = 0
    for i in range(n):
        legal = 0
        last = 0
        for a in range(masks.shape[1]):
            if masks[i, a]:
                legal += 1
                last = a
        if legal > 1:
            choosers[n_choosers] = i
            n_choosers += 1
        elif legal == 1 and masks[i, 0] == 0:
            forced[n_forced] = i
            forced_actions[n_forced] = last
            n_forced += 1
    return choosers[:n_choosers], forced[:n_forced], forced_actions[:n_forced]

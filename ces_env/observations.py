"""The one place that turns simulator state into observations, action masks and the global state.

Everything is built for all agents at once with numpy (one pass per group, no Python loop over tasks), because the
environment builds it after every step. The layouts are documented in ``ces_env.env`` and the README.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
from gymnasium import spaces

from ces_env.config import CESConfig
from ces_env.core.lower_bound import min_task_durations
from ces_env.core.simulator import CESSimulator
from ces_env.maze import OPEN_BIT, local_view
from ces_env.path_kernels import longest_paths
from ces_env.types import AgentStatus, Instance, TaskStatus

N_AGENT_STATUSES = len(AgentStatus)
N_TASK_STATUSES = len(TaskStatus)

# ------------------------------------------------------------------------------------------------ observation layout
# The one definition of what each observation index means. The builder below, the policies, the tests and the
# README/env docstring tables (tests/test_observation_layout.py checks them) all read names from here, never offsets.
# An observation is AGENT_FEATURES, then K = n_candidates slots of SLOT_FEATURES, then (steered mode only) the
# (2r+1)x(2r+1) local maze view, row-major, VIEW_CHANNELS per cell.

# the status one-hot opens the layout, in AgentStatus order, so that index == status value
AGENT_FEATURES: tuple[str, ...] = (
    *(f"status_{s.name.lower()}" for s in AgentStatus),
    "deciding_task",
    "deciding_move",
    "speed",
    "time",
    "group_progress",
    "group_ready",
    "group_idle",
    "controller_queue",
    "job_progress",
    "classes_known",
    "index_in_group",
    "decider_rank",
)
SLOT_FEATURES: tuple[str, ...] = ("valid", "reward", "known", "successors", "upward_rank", "class_in_progress")
# the open_* channels come first, in the maze's direction order N, E, S, W (that of OPEN_BIT and of the move actions)
VIEW_CHANNELS: tuple[str, ...] = ("open_north", "open_east", "open_south", "open_west", "visited")
VISITED_CHANNEL = VIEW_CHANNELS.index("visited")
AGENT_INDEX: Mapping[str, int] = MappingProxyType({name: i for i, name in enumerate(AGENT_FEATURES)})
SLOT_INDEX: Mapping[str, int] = MappingProxyType({name: i for i, name in enumerate(SLOT_FEATURES)})
SLOT_OFFSET = len(AGENT_FEATURES)  # index of slot 0's first feature


def agent_feature_index(name: str) -> int:
    """Index of the agent feature ``name`` in every observation."""
    try:
        return AGENT_INDEX[name]
    except KeyError:
        raise KeyError(f"no agent feature {name!r}; agent features: {', '.join(AGENT_FEATURES)}") from None


def slot_feature_index(k: int, name: str) -> int:
    """Index of feature ``name`` of candidate slot ``k`` (0-based: the slot action ``k + 1`` takes)."""
    if k < 0:
        raise ValueError(f"slot index k must be >= 0, got {k}")
    if name not in SLOT_INDEX:
        raise KeyError(f"no slot feature {name!r}; slot features: {', '.join(SLOT_FEATURES)}")
    return SLOT_OFFSET + k * len(SLOT_FEATURES) + SLOT_INDEX[name]


def view_offset(n_candidates: int) -> int:
    """Index where the steered mode's local maze view starts (after the ``n_candidates`` slots)."""
    return SLOT_OFFSET + n_candidates * len(SLOT_FEATURES)


def view_size(view_radius: int) -> int:
    """Length of the local maze view: ``(2r+1)^2`` cells of ``len(VIEW_CHANNELS)`` channels."""
    side = 2 * view_radius + 1
    return side * side * len(VIEW_CHANNELS)


def observation_size(n_candidates: int, view_radius: int, steered: bool) -> int:
    """``D``: the length of an observation vector."""
    return view_offset(n_candidates) + (view_size(view_radius) if steered else 0)


def slot_features(observation: np.ndarray, n_candidates: int) -> np.ndarray:
    """The ``(n_candidates, len(SLOT_FEATURES))`` view of an observation's slots (no copy)."""
    return observation[SLOT_OFFSET : view_offset(n_candidates)].reshape(n_candidates, len(SLOT_FEATURES))


def view_features(observation: np.ndarray, view_radius: int) -> np.ndarray:
    """The ``(2r+1, 2r+1, len(VIEW_CHANNELS))`` local maze view of a steered-mode observation (its tail; no copy)."""
    side = 2 * view_radius + 1
    return observation[-view_size(view_radius) :].reshape(side, side, len(VIEW_CHANNELS))


def squashed_time(sim: CESSimulator) -> float:
    """Elapsed ticks since the start over the instance's makespan lower bound, squashed into [0, 1): x / (1 + x).

    It is 0.5 when the elapsed time equals the lower bound and keeps moving over a whole episode, unlike
    ``tick / max_ticks`` (``max_ticks`` is a safety limit tens of times the typical ET)."""
    x = max(0, sim.time - sim.start_time) / sim.lower_bound
    return x / (1.0 + x)


# the usual empty ``must_act``, shared by every build (left writeable: a read-only array is another numba signature;
# it is empty, so nothing can be written into it)
_NO_AGENTS = np.zeros(0, dtype=np.int64)


class ActionLayout:
    """Discrete action ids: 0 = wait, 1..K = ready-task slots, then (steered mode only) 4 moves N, E, S, W."""

    def __init__(self, config: CESConfig):
        self.n_slots = config.n_candidates
        self.first_move = 1 + self.n_slots
        self.n_actions = self.first_move + (4 if config.exploration_mode == "steered" else 0)


class ObservationBuilder:
    """Builds ``(n, D)`` float32 observations, ``(n, A)`` int8 masks and the ``state()`` vector."""

    def __init__(self, config: CESConfig, n_agents: int):
        self.config = config
        self.actions = ActionLayout(config)
        self.n_agents = n_agents
        self.steered = config.exploration_mode == "steered"
        self.view_offset = view_offset(config.n_candidates)
        self.obs_size = observation_size(config.n_candidates, config.view_radius, self.steered)
        self.observation_box = spaces.Box(0.0, 1.0, shape=(self.obs_size,), dtype=np.float32)
        self.mask_box = spaces.Box(0, 1, shape=(self.actions.n_actions,), dtype=np.int8)
        self._instance: Instance | None = None
        self._flat_cache: tuple[CESSimulator, np.ndarray, np.ndarray] | None = None
        from ces_env import kernels  # here, not at the top: that module imports this one's layout

        self._kernels = kernels

    # ---------------------------------------------------------------------------------------------- static features
    def state_size(self, n_tasks: int, n_groups: int) -> int:
        return n_tasks * (N_TASK_STATUSES + 1) + self.n_agents * (N_AGENT_STATUSES + 1) + 2 * n_groups + 1

    def _bound_instance(self) -> Instance:
        if self._instance is None:
            raise RuntimeError("ObservationBuilder: bind() an instance before building observations")
        return self._instance

    def bind(self, instance: Instance) -> None:
        """Precompute per-instance static features (normalised rewards, successor counts, upward ranks)."""
        self._instance = instance
        self._reward_norm = instance.rewards / instance.rewards.max()
        n_succ = np.diff(instance.succ_indptr).astype(np.float64)
        self._succ_norm = n_succ / max(1.0, n_succ.max())
        # upward rank: longest path to a sink over minimal durations (the HEFT priority); ids are topological
        durations = min_task_durations(instance).astype(np.float64)
        rank = longest_paths(durations, instance.succ_indptr, instance.succ_indices, towards_sinks=True)
        self._rank_norm = rank / rank.max()
        self._group_members = [np.flatnonzero(instance.agent_group == g) for g in range(instance.n_groups)]
        self._index_in_group = np.zeros(instance.n_agents, dtype=np.float32)
        for members in self._group_members:
            self._index_in_group[members] = np.arange(len(members)) / max(1, len(members) - 1)
        self._max_speed = instance.agent_speed.max()
        self._speed_norm = instance.agent_speed / self._max_speed
        self._group_size = np.array([max(1, len(m)) for m in self._group_members], dtype=np.int64)
        self._flat_cache = None

    # ---------------------------------------------------------------------------------------------- per step
    def build(self, sim: CESSimulator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(observations (n, D) float32, masks (n, A) int8, slot task ids (n, K) int64 with -1 for empty slots).

        The compiled kernels of :mod:`ces_env.kernels` fill them from the simulator's arrays; they give
        exactly what :meth:`build_numpy` gives (tests/test_observation_builder.py), in a few microseconds instead of
        a few hundred."""
        kernels = self._kernels
        inst = self._bound_instance()
        n = self.n_agents
        K = self.config.n_candidates
        flat_order, flat_group = self._flat_order(sim)
        flags = self._candidate_flags(sim, flat_order)
        if flags is None:
            top, n_cands = self._top_candidates(sim)
        else:
            top, n_cands = kernels.top_candidates(flags, flat_order, flat_group, inst.n_groups, K)
        obs = np.zeros((n, self.obs_size), dtype=np.float32)
        masks = np.zeros((n, self.actions.n_actions), dtype=np.int8)
        move_deciders = sim.move_deciders()
        kernels.fill_observations(
            obs,
            masks,
            top,
            n_cands,
            sim.agent_status,
            inst.agent_group,
            sim.task_deciders(),
            move_deciders,
            np.fromiter(sim.must_act, dtype=np.int64, count=len(sim.must_act)) if sim.must_act else _NO_AGENTS,
            self._speed_norm,
            squashed_time(sim),
            self._index_in_group,
            sim.time,
            sim.job_start,
            sim.job_end,
            sim.knows,
            sim.task_status,
            sim.task_holder,
            inst.task_group,
            inst.task_class,
            sim.group_total,
            sim.group_completed,
            self._group_size,
            sim.control.queue_lengths(),
            self._reward_norm,
            self._succ_norm,
            self._rank_norm,
        )
        if self.steered:
            self._add_steering(sim, obs, masks, move_deciders)
        return obs, masks, top[inst.agent_group]

    def build_numpy(self, sim: CESSimulator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What :meth:`build` returns, built with numpy array operations: the readable reference of the kernels.

        Built with array operations over all groups at once (the groups' top-K candidates gathered into one (l, K)
        array, then indexed by each agent's group): a Python loop per group made the cost of a step grow with the
        number of groups (issue 12). tests/test_observation_builder.py checks it feature by feature against the
        straightforward per-group construction."""
        inst = self._bound_instance()
        n = self.n_agents
        K = self.config.n_candidates
        groups = inst.agent_group
        obs = np.zeros((n, self.obs_size), dtype=np.float32)
        masks = np.zeros((n, self.actions.n_actions), dtype=np.int8)
        masks[:, 0] = 1  # waiting is allowed, except for deciders asked again because nothing else would happen

        status = sim.agent_status
        obs[np.arange(n), status] = 1.0  # the status one-hot: index == status value
        task_deciders = sim.task_deciders()
        move_deciders = sim.move_deciders()
        obs[task_deciders, AGENT_INDEX["deciding_task"]] = 1.0
        obs[move_deciders, AGENT_INDEX["deciding_move"]] = 1.0
        obs[:, AGENT_INDEX["speed"]] = inst.agent_speed / self._max_speed
        obs[:, AGENT_INDEX["time"]] = squashed_time(sim)
        obs[:, AGENT_INDEX["index_in_group"]] = self._index_in_group
        obs[:, AGENT_INDEX["job_progress"]] = sim.job_progress()
        obs[:, AGENT_INDEX["classes_known"]] = sim.knows.mean(axis=1)

        running = sim.task_status == TaskStatus.RUNNING
        exploring_holder = np.zeros(inst.n_tasks, dtype=bool)
        holder_status = status[sim.task_holder[running]]
        exploring_holder[running] = (holder_status == AgentStatus.EXPLORING) | (holder_status == AgentStatus.STEERING)
        # per group, the classes a member is exploring right now (a boolean lookup instead of a set test per slot)
        class_explored = np.zeros((inst.n_groups, inst.n_classes), dtype=bool)
        class_explored[inst.task_group[exploring_holder], inst.task_class[exploring_holder]] = True

        # per-group features, then broadcast to the members (integer sums and counts: exact in float64)
        top, n_cands = self._top_candidates(sim)
        total = np.maximum(1, sim.group_total)
        idle = np.bincount(groups, weights=status == AgentStatus.IDLE, minlength=inst.n_groups)
        queues = sim.control.queue_lengths()
        obs[:, AGENT_INDEX["group_progress"]] = (sim.group_completed / total)[groups]
        obs[:, AGENT_INDEX["group_ready"]] = np.minimum(1.0, n_cands / total)[groups]
        obs[:, AGENT_INDEX["group_idle"]] = (idle / self._group_size)[groups]
        obs[:, AGENT_INDEX["controller_queue"]] = np.minimum(1.0, queues / self._group_size)[groups]

        # the slots: every agent sees its group's top-K candidates; features of an empty slot stay 0
        slot_tasks = top[groups]  # (n, K), -1 for empty slots
        valid = slot_tasks >= 0
        tasks = np.where(valid, slot_tasks, 0)
        classes = inst.task_class[tasks]
        slots = np.zeros((n, K, len(SLOT_FEATURES)), dtype=np.float32)
        slots[:, :, SLOT_INDEX["valid"]] = valid
        slots[:, :, SLOT_INDEX["reward"]] = np.where(valid, self._reward_norm[tasks], 0.0)
        slots[:, :, SLOT_INDEX["known"]] = valid & sim.knows[np.arange(n)[:, None], classes]
        slots[:, :, SLOT_INDEX["successors"]] = np.where(valid, self._succ_norm[tasks], 0.0)
        slots[:, :, SLOT_INDEX["upward_rank"]] = np.where(valid, self._rank_norm[tasks], 0.0)
        slots[:, :, SLOT_INDEX["class_in_progress"]] = valid & class_explored[groups[:, None], classes]
        obs[:, SLOT_OFFSET : self.view_offset] = slots.reshape(n, K * len(SLOT_FEATURES))

        if len(task_deciders):
            masks[task_deciders, 1 : 1 + K] = valid[task_deciders]
            # identical observations must not send groupmates to the same slot: rank the deciders within the group
            decider_groups = groups[task_deciders]  # deciders are sorted by id, so a stable sort keeps id order
            by_group = np.argsort(decider_groups, kind="stable")
            counts = np.bincount(decider_groups, minlength=inst.n_groups)
            starts = np.cumsum(counts) - counts
            ranked = task_deciders[by_group]
            position = np.arange(len(ranked)) - starts[decider_groups[by_group]]
            many = counts[decider_groups[by_group]] > 1
            obs[ranked[many], AGENT_INDEX["decider_rank"]] = position[many] / (
                counts[decider_groups[by_group]][many] - 1
            )

        if sim.must_act:
            forced = np.fromiter(sim.must_act, dtype=np.int64)
            forced = forced[masks[forced, 1:].any(axis=1)]  # only where another action is legal
            masks[forced, 0] = 0

        if self.steered:
            self._add_steering(sim, obs, masks, move_deciders)
        return obs, masks, slot_tasks

    def _top_candidates(self, sim: CESSimulator) -> tuple[np.ndarray, np.ndarray]:
        """((l, K) int64 the first K candidates of every group in slot order, -1 padded; (l,) number of candidates).

        For the protocols whose candidates are flags over the group's task order (their ``candidate_flags(tasks)``;
        by default the ready tasks), all groups at once; any other protocol is asked group by group."""
        inst = self._bound_instance()
        K = self.config.n_candidates
        l = inst.n_groups
        top = np.full((l, K), -1, dtype=np.int64)
        flat_order, flat_group = self._flat_order(sim)
        flags = self._candidate_flags(sim, flat_order)
        if flags is None:
            n_cands = np.zeros(l, dtype=np.int64)
            for group in range(l):
                cands = sim.candidates(group)
                n_cands[group] = len(cands)
                top[group, : min(K, len(cands))] = cands[:K]
            return top, n_cands
        picked = np.flatnonzero(flags)
        picked_group = flat_group[picked]
        n_cands = np.bincount(picked_group, minlength=l)
        # rank of a candidate within its group: its index among the picked minus the group's first picked index
        first_picked = np.cumsum(n_cands) - n_cands
        rank = np.arange(len(picked)) - first_picked[picked_group]
        keep = rank < K
        top[picked_group[keep], rank[keep]] = flat_order[picked[keep]]
        return top, n_cands

    @staticmethod
    def _candidate_flags(sim: CESSimulator, tasks: np.ndarray) -> np.ndarray | None:
        """Which of ``tasks`` are candidates now, if the protocol can say it for many groups at once (None: ask it
        group by group): :meth:`ces_env.core.protocols.base.ControlProtocol.candidate_flags`."""
        return sim.control.candidate_flags(tasks)

    def _flat_order(self, sim: CESSimulator) -> tuple[np.ndarray, np.ndarray]:
        """The simulator's per-group candidate orders concatenated group by group, and each entry's group; computed
        once per simulator (an episode)."""
        if self._flat_cache is None or self._flat_cache[0] is not sim:
            order = np.concatenate(sim.group_order) if sim.group_order else np.zeros(0, dtype=np.int64)
            lengths = np.array([len(o) for o in sim.group_order], dtype=np.int64)
            self._flat_cache = (sim, order, np.repeat(np.arange(len(lengths)), lengths))
        _, order, group_of = self._flat_cache
        return order, group_of

    def _add_steering(self, sim: CESSimulator, obs: np.ndarray, masks: np.ndarray, move_deciders: np.ndarray) -> None:
        inst = self._bound_instance()
        r = self.config.view_radius
        side = 2 * r + 1
        steering = np.flatnonzero(sim.agent_status == AgentStatus.STEERING)
        bits = OPEN_BIT.reshape(1, 1, 4)
        for agent in steering.tolist():
            maze = inst.mazes[int(inst.task_class[sim.agent_task[agent]])]
            cell = int(sim.position[agent])
            view = local_view(maze, cell, r)
            channels = np.zeros((side, side, len(VIEW_CHANNELS)), dtype=np.float32)
            channels[:, :, : len(OPEN_BIT)] = (view[:, :, None] & bits) > 0  # open_north ... open_west
            row, col = divmod(cell, maze.width)
            visited = sim.visited[agent]
            for dr in range(-r, r + 1):
                for dc in range(-r, r + 1):
                    rr, cc = row + dr, col + dc
                    if 0 <= rr < maze.height and 0 <= cc < maze.width and rr * maze.width + cc in visited:
                        channels[dr + r, dc + r, VISITED_CHANNEL] = 1.0
            obs[agent, self.view_offset :] = channels.reshape(-1)
        first = self.actions.first_move
        for agent in move_deciders.tolist():
            maze = inst.mazes[int(inst.task_class[sim.agent_task[agent]])]
            row, col = divmod(int(sim.position[agent]), maze.width)
            masks[agent, first : first + 4] = (maze.passages[row, col] & OPEN_BIT) > 0

    def state(self, sim: CESSimulator) -> np.ndarray:
        """Global state for centralized critics: task statuses and groups, agent statuses and progress, groups' progress
        and controller queues, and time; all in [0, 1]."""
        inst = self._bound_instance()
        m, n, l = inst.n_tasks, self.n_agents, inst.n_groups
        task_block = np.zeros((m, N_TASK_STATUSES + 1), dtype=np.float32)
        task_block[np.arange(m), sim.task_status] = 1.0
        task_block[:, -1] = inst.task_group / max(1, l - 1)
        agent_block = np.zeros((n, N_AGENT_STATUSES + 1), dtype=np.float32)
        agent_block[np.arange(n), sim.agent_status] = 1.0
        agent_block[:, -1] = sim.job_progress()
        progress = sim.group_completed / np.maximum(1, sim.group_total)
        queues = sim.control.queue_lengths() / sim.group_size
        return np.concatenate(
            [
                task_block.ravel(),
                agent_block.ravel(),
                progress.astype(np.float32),
                np.minimum(1.0, queues).astype(np.float32),
                np.array([squashed_time(sim)], dtype=np.float32),
            ]
        )

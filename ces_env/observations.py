"""The one place that turns simulator state into observations, action masks and the global state.

Everything is built for all agents at once with numpy (one pass per group, no Python loop over tasks), because the
environment builds it after every step. The layouts are documented in ``ces_env.env`` and the README.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from ces_env.config import CESConfig
from ces_env.core.lower_bound import min_task_durations
from ces_env.core.simulator import CESSimulator
from ces_env.maze import OPEN_BIT, local_view
from ces_env.types import AgentStatus, Instance, TaskStatus

N_AGENT_STATUSES = len(AgentStatus)
N_TASK_STATUSES = len(TaskStatus)
AGENT_FEATURES = [f"status_{s.name.lower()}" for s in AgentStatus] + [
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
]
SLOT_FEATURES = ("valid", "reward", "known", "successors", "upward_rank", "class_in_progress")
VIEW_CHANNELS = ("open_north", "open_east", "open_south", "open_west", "visited")


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
        side = 2 * config.view_radius + 1
        self.view_size = side * side * len(VIEW_CHANNELS) if self.steered else 0
        self.slot_offset = len(AGENT_FEATURES)
        self.view_offset = self.slot_offset + config.n_candidates * len(SLOT_FEATURES)
        self.obs_size = self.view_offset + self.view_size
        self.observation_box = spaces.Box(0.0, 1.0, shape=(self.obs_size,), dtype=np.float32)
        self.mask_box = spaces.Box(0, 1, shape=(self.actions.n_actions,), dtype=np.int8)
        self._instance: Instance | None = None

    # ---------------------------------------------------------------------------------------------- static features
    def state_size(self, n_tasks: int, n_groups: int) -> int:
        return n_tasks * (N_TASK_STATUSES + 1) + self.n_agents * (N_AGENT_STATUSES + 1) + 2 * n_groups + 1

    def bind(self, instance: Instance) -> None:
        """Precompute per-instance static features (normalised rewards, successor counts, upward ranks)."""
        self._instance = instance
        self._reward_norm = instance.rewards / instance.rewards.max()
        n_succ = np.diff(instance.succ_indptr).astype(np.float64)
        self._succ_norm = n_succ / max(1.0, n_succ.max())
        # upward rank: longest path to a sink over minimal durations (the HEFT priority); ids are topological
        durations = min_task_durations(instance).astype(np.float64)
        rank = durations.copy()
        for task in range(instance.n_tasks - 1, -1, -1):
            succ = instance.successors(task)
            if succ.size:
                rank[task] += rank[succ].max()
        self._rank_norm = rank / rank.max()
        self._group_members = [np.flatnonzero(instance.agent_group == g) for g in range(instance.n_groups)]
        self._max_speed = instance.agent_speed.max()

    # ---------------------------------------------------------------------------------------------- per step
    def build(self, sim: CESSimulator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(observations (n, D) float32, masks (n, A) int8, slot task ids (n, K) int64 with -1 for empty slots)."""
        inst = self._instance
        cfg = self.config
        K = cfg.n_candidates
        obs = np.zeros((self.n_agents, self.obs_size), dtype=np.float32)
        masks = np.zeros((self.n_agents, self.actions.n_actions), dtype=np.int8)
        masks[:, 0] = 1  # waiting is always allowed
        slot_tasks = np.full((self.n_agents, K), -1, dtype=np.int64)

        status = sim.agent_status
        obs[np.arange(self.n_agents), status] = 1.0
        task_deciders = sim.task_deciders()
        move_deciders = sim.move_deciders()
        obs[task_deciders, N_AGENT_STATUSES] = 1.0
        obs[move_deciders, N_AGENT_STATUSES + 1] = 1.0
        base = N_AGENT_STATUSES + 2
        obs[:, base] = inst.agent_speed / self._max_speed
        obs[:, base + 1] = min(1.0, sim.time / sim.max_ticks)
        obs[:, base + 6] = sim.job_progress()
        obs[:, base + 7] = sim.knows.mean(axis=1)

        running = sim.task_status == TaskStatus.RUNNING
        exploring_holder = np.zeros(inst.n_tasks, dtype=bool)
        holders = sim.task_holder[running]
        exploring_holder[running] = np.isin(status[holders], (AgentStatus.EXPLORING, AgentStatus.STEERING))
        is_decider = np.zeros(self.n_agents, dtype=bool)
        is_decider[task_deciders] = True

        for group, members in enumerate(self._group_members):
            total = max(1, sim.group_total[group])
            cands = sim.candidates(group)
            obs[members, base + 2] = sim.group_completed[group] / total
            obs[members, base + 3] = min(1.0, len(cands) / total)
            obs[members, base + 4] = np.mean(status[members] == AgentStatus.IDLE)
            if sim.centralized:
                obs[members, base + 5] = min(1.0, len(sim.ctrl_queue[group]) / len(members))
            top = cands[:K]
            if not len(top):
                continue
            n_top = len(top)
            slot_tasks[members, :n_top] = top
            classes = inst.task_class[top]
            in_progress = np.isin(classes, inst.task_class[exploring_holder & (inst.task_group == group)])
            slots = np.zeros((n_top, len(SLOT_FEATURES)), dtype=np.float32)
            slots[:, 0] = 1.0
            slots[:, 1] = self._reward_norm[top]
            slots[:, 3] = self._succ_norm[top]
            slots[:, 4] = self._rank_norm[top]
            slots[:, 5] = in_progress
            block = np.broadcast_to(slots, (len(members), n_top, len(SLOT_FEATURES))).copy()
            block[:, :, 2] = sim.knows[np.ix_(members, classes)]
            width = n_top * len(SLOT_FEATURES)
            obs[members, self.slot_offset : self.slot_offset + width] = block.reshape(len(members), width)
            deciding_members = members[is_decider[members]]
            masks[deciding_members, 1 : 1 + n_top] = 1

        if self.steered:
            self._add_steering(sim, obs, masks, move_deciders)
        return obs, masks, slot_tasks

    def _add_steering(self, sim: CESSimulator, obs: np.ndarray, masks: np.ndarray, move_deciders: np.ndarray) -> None:
        inst = self._instance
        r = self.config.view_radius
        side = 2 * r + 1
        steering = np.flatnonzero(sim.agent_status == AgentStatus.STEERING)
        bits = OPEN_BIT.reshape(1, 1, 4)
        for agent in steering.tolist():
            maze = inst.mazes[int(inst.task_class[sim.agent_task[agent]])]
            cell = int(sim.position[agent])
            view = local_view(maze, cell, r)
            channels = np.zeros((side, side, len(VIEW_CHANNELS)), dtype=np.float32)
            channels[:, :, :4] = (view[:, :, None] & bits) > 0
            row, col = divmod(cell, maze.width)
            visited = sim.visited[agent]
            for dr in range(-r, r + 1):
                for dc in range(-r, r + 1):
                    rr, cc = row + dr, col + dc
                    if 0 <= rr < maze.height and 0 <= cc < maze.width and rr * maze.width + cc in visited:
                        channels[dr + r, dc + r, 4] = 1.0
            obs[agent, self.view_offset :] = channels.reshape(-1)
        first = self.actions.first_move
        for agent in move_deciders.tolist():
            maze = inst.mazes[int(inst.task_class[sim.agent_task[agent]])]
            row, col = divmod(int(sim.position[agent]), maze.width)
            masks[agent, first : first + 4] = (maze.passages[row, col] & OPEN_BIT) > 0

    def state(self, sim: CESSimulator) -> np.ndarray:
        """Global state for centralized critics: task statuses and groups, agent statuses and progress, groups' progress
        and controller queues, and time; all in [0, 1]."""
        inst = self._instance
        m, n, l = inst.n_tasks, self.n_agents, inst.n_groups
        task_block = np.zeros((m, N_TASK_STATUSES + 1), dtype=np.float32)
        task_block[np.arange(m), sim.task_status] = 1.0
        task_block[:, -1] = inst.task_group / max(1, l - 1)
        agent_block = np.zeros((n, N_AGENT_STATUSES + 1), dtype=np.float32)
        agent_block[np.arange(n), sim.agent_status] = 1.0
        agent_block[:, -1] = sim.job_progress()
        progress = sim.group_completed / np.maximum(1, sim.group_total)
        queues = np.array([len(q) for q in sim.ctrl_queue]) / sim.group_size
        return np.concatenate(
            [
                task_block.ravel(),
                agent_block.ravel(),
                progress.astype(np.float32),
                np.minimum(1.0, queues).astype(np.float32),
                np.array([min(1.0, sim.time / sim.max_ticks)], dtype=np.float32),
            ]
        )

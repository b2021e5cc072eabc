"""Many copies of one env stepped together by the compiled engine (:mod:`ces_env.core.compiled.rows`).

:class:`CompiledRows` keeps one compiled row per copy and steps them all in one numba call, in either of two ways:
:meth:`~CompiledRows.act` plays ``SB3VecEnv``'s decision rows (one presented agent per row, the decision driver),
:meth:`~CompiledRows.step` plays ``CESVectorEnv``'s copies (every agent's action, as ``step_arrays``). Resets stay
in Python (each copy's own ``reset_simulator``). The copies' envs are left behind by the compiled steps (their
simulators' scalars, clocks and masks): :meth:`CompiledRows.sync` brings one up to date before anything reads it
(final metrics, ``get_attr``, ``env_method``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import typed

from ces_env.core.compiled import rows as kernel
from ces_env.core.compiled.simulator import CompiledCESSimulator
from ces_env.env import NO_ACTION, CESParallelEnv


def first_masked_out(chosen: np.ndarray, masks: np.ndarray) -> tuple[int, ...] | None:
    """The index of the first action of ``chosen`` (any leading shape) that ``strict_actions`` refuses: neither
    :data:`~ces_env.env.NO_ACTION` nor legal under ``masks`` (that shape plus the actions axis); None if there is none.
    The batched paths refuse it before any copy moves."""
    in_range = (chosen >= 0) & (chosen < masks.shape[-1])
    picked = np.take_along_axis(masks, np.where(in_range, chosen, 0)[..., None], axis=-1)[..., 0]
    refused = np.argwhere((chosen != NO_ACTION) & ~(in_range & (picked == 1)))
    return None if refused.size == 0 else tuple(int(x) for x in refused[0])


@dataclass
class _RowArrays:
    """What Python reads of one row (the compiled struct holds the same arrays)."""

    row: kernel.Row
    driver: np.ndarray  # (N_DRIVER,) int64
    team: np.ndarray  # (N_TEAM,) float64
    choosers: np.ndarray  # (n,) int64
    observations: np.ndarray  # (n, D) float32
    masks: np.ndarray  # (n, A) int8


class CompiledRows:
    """``len(envs)`` decision rows over compiled-engine envs (see the module docstring)."""

    def __init__(self, envs: list[CESParallelEnv]):
        first = envs[0]
        self.envs = envs
        self.n_rows = len(envs)
        self.agent_names = list(first.possible_agents)
        agent = self.agent_names[0]
        self.observation_size = int(first.observation_space(agent)["observation"].shape[0])  # type: ignore[index]
        self.n_actions = int(first.action_space(agent).n)
        config = first.config
        self._settings = np.zeros(kernel.N_SETTINGS, dtype=np.float64)
        self._settings[kernel.R_REWARD_MODE] = kernel.REWARD_MODES[config.reward_mode]
        self._settings[kernel.R_TIME_SCALE] = config.reward_time_scale
        self._settings[kernel.R_TIME_PENALTY] = config.time_penalty
        self._settings[kernel.R_FIRST_MOVE] = first._builder.actions.first_move
        self._rows: list[_RowArrays | None] = [None] * self.n_rows
        self.seeds = [0] * self.n_rows  # each row's current episode seed
        self._typed: typed.List | None = None  # built once every row exists, then updated in place
        self._states: typed.List | None = None  # each row's engine state, likewise
        # the presented decision of every row, and the last step's outputs (reused buffers)
        self.observations = np.zeros((self.n_rows, self.observation_size), dtype=np.float32)
        self.masks = np.zeros((self.n_rows, self.n_actions), dtype=np.int8)
        self.rewards = np.zeros(self.n_rows, dtype=np.float64)
        self.elapsed = np.zeros(self.n_rows, dtype=np.int64)
        self.acted = np.zeros(self.n_rows, dtype=np.int64)
        self.dones = np.zeros(self.n_rows, dtype=bool)

    # ------------------------------------------------------------------------------------------------- episodes
    def begin(self, b: int, seed: int, options: dict | None = None, settle: bool = True) -> bool:
        """Reset copy ``b`` on ``seed`` and advance it to its first real decision; False when the episode ended
        without any (DecisionDriver.reset, then _Row.begin's answer). ``settle=False``: only observe the reset (the
        answer of ``reset_arrays``, for :meth:`step`); returns True."""
        env = self.envs[b]
        self.seeds[b] = seed
        env.reset_simulator(seed=seed, options=options or None)  # the observations are built by begin_row
        sim = env.sim
        if not isinstance(sim, CompiledCESSimulator):  # SB3VecEnv chooses this class only for compiled configs
            raise TypeError(f"CompiledRows: copy {b} runs {type(sim).__name__}, not the compiled engine")
        builder = env._builder
        flat_order, flat_group = builder._flat_order(sim)
        settings = self._settings.copy()
        settings[kernel.R_START_TIME] = sim.start_time
        settings[kernel.R_LOWER_BOUND] = sim.lower_bound
        n = len(self.agent_names)
        driver = np.zeros(kernel.N_DRIVER, dtype=np.int64)
        team = np.zeros(kernel.N_TEAM, dtype=np.float64)
        choosers = np.zeros(n, dtype=np.int64)
        observations = np.zeros((n, self.observation_size), dtype=np.float32)
        masks = np.zeros((n, self.n_actions), dtype=np.int8)
        row = kernel.new_row(
            np.ascontiguousarray(builder._reward_norm, dtype=np.float64),
            np.ascontiguousarray(builder._succ_norm, dtype=np.float64),
            np.ascontiguousarray(builder._rank_norm, dtype=np.float64),
            np.ascontiguousarray(builder._speed_norm, dtype=np.float64),
            np.ascontiguousarray(builder._index_in_group, dtype=np.float32),
            np.ascontiguousarray(builder._group_size, dtype=np.int64),
            np.ascontiguousarray(sim.group_total, dtype=np.int64),
            np.ascontiguousarray(flat_order, dtype=np.int64),
            np.ascontiguousarray(flat_group, dtype=np.int64),
            settings,
            observations,
            masks,
            driver,
            team,
            choosers,
        )
        arrays = _RowArrays(row, driver, team, choosers, observations, masks)
        if settle:
            presents = kernel.begin_row(arrays.row, sim.engine_state)
        else:
            kernel.observe_row(arrays.row, sim.engine_state)
            presents = True
        self._rows[b] = arrays
        if self._typed is not None and self._states is not None:
            self._typed[b] = arrays.row
            self._states[b] = sim.engine_state
        elif all(one is not None for one in self._rows):
            self._typed = typed.List([one.row for one in self._rows if one is not None])
            self._states = typed.List([self._sim(i).engine_state for i in range(self.n_rows)])
        if arrays.driver[kernel.D_INCONSISTENT]:
            sim.sync_from_engine(consistent=False)  # raises the simulator's error
        if presents and settle:
            agent = int(arrays.choosers[0])
            self.observations[b] = arrays.observations[agent]
            self.masks[b] = arrays.masks[agent]
        return bool(presents)

    def act(self, actions: np.ndarray) -> None:
        """Every row's presented agent plays its action (``actions`` (B,) int64); the outputs land in ``rewards``,
        ``elapsed``, ``acted``, ``dones`` and the presented ``observations``/``masks`` (an ended row: its last)."""
        if self._typed is None or self._states is None:
            raise RuntimeError("CompiledRows: begin() every row before act()")
        if actions.shape != (self.n_rows,) or actions.dtype != np.int64:  # numba does not check bounds
            raise TypeError(f"CompiledRows.act: actions must be int64 of shape ({self.n_rows},), got {actions.dtype}")
        status, row = kernel.act_rows(
            self._typed,
            self._states,
            actions,
            self.rewards,
            self.elapsed,
            self.acted,
            self.dones,
            self.observations,
            self.masks,
        )
        self._raise_for(status, row)

    def step(
        self, actions: np.ndarray, rewards: np.ndarray, elapsed: np.ndarray, over: np.ndarray, terminated: np.ndarray
    ) -> None:
        """Every copy plays ``actions`` (B, n) int64 as ``step_arrays`` would; writes every agent's reward (B, n), the
        step's ticks (B,), whether each episode ended (B,) and how (B,); the copies' observations and masks are
        :meth:`observations_of` and :meth:`masks_of`."""
        if self._typed is None or self._states is None:
            raise RuntimeError("CompiledRows: begin() every row before step()")
        shape = (self.n_rows, len(self.agent_names))
        if actions.shape != shape or actions.dtype != np.int64 or not actions.flags.c_contiguous:  # numba: no bounds
            raise TypeError(
                f"CompiledRows.step: actions must be C-ordered int64 {shape}, got {actions.dtype} {actions.shape}"
            )
        status, row = kernel.step_copies(self._typed, self._states, actions, rewards, elapsed, over, terminated)
        self._raise_for(status, row)

    def observations_of(self, b: int) -> np.ndarray:
        """(n, D) float32: copy ``b``'s current observations (the row's own array: copy it to keep it)."""
        return self._arrays(b).observations

    def masks_of(self, b: int) -> np.ndarray:
        """(n, A) int8: copy ``b``'s current masks (the row's own array)."""
        return self._arrays(b).masks

    def _raise_for(self, status: int, row: int) -> None:
        if status == kernel.ACT_STALLED:
            self._sim(row).sync_from_engine(consistent=False)  # raises the simulator's error
        elif status == kernel.ACT_NO_DECISION:
            raise RuntimeError(
                f"row {row} has no decision to present: its episode ended and its reset did not complete "
                "(an error during the automatic reset); call reset()"
            )

    # ------------------------------------------------------------------------------------------------- reading rows
    def _arrays(self, b: int) -> _RowArrays:
        arrays = self._rows[b]
        if arrays is None:
            raise RuntimeError(f"CompiledRows: row {b} has not begun an episode")
        return arrays

    def _sim(self, b: int) -> CompiledCESSimulator:
        sim = self.envs[b].sim
        if not isinstance(sim, CompiledCESSimulator):  # begin() checked it: a copy reset behind the rows' back
            raise TypeError(f"CompiledRows: copy {b} runs {type(sim).__name__}, not the compiled engine")
        return sim

    def agent(self, b: int) -> str:
        """The agent whose decision row ``b`` presents."""
        arrays = self._arrays(b)
        return self.agent_names[int(arrays.choosers[arrays.driver[kernel.D_POSITION]])]

    def decisions(self, b: int) -> int:
        return int(self._arrays(b).driver[kernel.D_DECISIONS])

    def env_steps(self, b: int) -> int:
        return int(self._arrays(b).driver[kernel.D_ENV_STEPS])

    def episode_return(self, b: int) -> float:
        return float(self._arrays(b).team[kernel.T_RETURN])

    def outcome(self, b: int) -> tuple[bool, bool]:
        """(terminated, truncated) of row ``b``'s episode."""
        driver = self._arrays(b).driver
        return bool(driver[kernel.D_TERMINATED]), bool(driver[kernel.D_TRUNCATED])

    def sync(self, b: int) -> CESParallelEnv:
        """Bring copy ``b``'s env and simulator up to date with the compiled row, and return the env."""
        env = self.envs[b]
        arrays = self._rows[b]
        if arrays is None:
            return env
        self._sim(b).sync_from_engine()
        env._clock = int(arrays.driver[kernel.D_CLOCK])
        env._masks = arrays.masks.copy()
        if arrays.driver[kernel.D_OVER]:
            env.agents = []
        return env

    def sync_all(self) -> None:
        for b in range(self.n_rows):
            self.sync(b)

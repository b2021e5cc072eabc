"""A stable-baselines3 ``VecEnv`` over CES for one shared policy, fed only real decisions.

Each of the ``n_envs`` rows is one copy of the ParallelEnv. At every vec step a row presents ONE pending decision:
the observation of one agent that has a choice (two or more legal actions). Agents of a copy that decide at the same
tick are presented one after the other, in agent-id order, and their actions are buffered; once every chooser of the
tick has acted, the copy's ParallelEnv steps (agents with a single legal action play it, the others wait) and keeps
stepping until some agent has a choice again. A learner therefore never sees a row without a choice.

Credit: a row's reward at a vec step is the team's reward of the env steps taken since the row's previous decision
(0 for a decision that did not close its tick). The team's reward is one agent's with ``reward_mode`` "time" or
"team" (every agent receives it) and the sum over agents with "individual". A row's undiscounted episode return is
thus the team's return, ``-ET / reward_time_scale`` with ``reward_mode="time"``. ``infos[i]["elapsed_ticks"]`` holds
the ticks since the row's previous decision, for semi-MDP discounting (``gamma ** elapsed_ticks``).

``sb3_contrib``'s MaskablePPO takes its masks through ``env_method("action_masks")``; :meth:`SB3VecEnv.action_masks`
returns the same (n_envs, A) array directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

try:
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import VecEnv
    from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'ces_env.wrappers.SB3VecEnv needs stable-baselines3: pip install -c constraints.txt -e ".[train]"'
    ) from error

from gymnasium import spaces

from ces_env.batched import CompiledRows, first_masked_out
from ces_env.env import CESParallelEnv, RenderMode, parallel_env
from ces_env.wrappers._driver import MAX_SKIPPED_EPISODES, DecisionDriver

Predict = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``predict(observations (k, D) float32, masks (k, A) bool) -> actions (k,)`` for :meth:`SB3VecEnv.evaluate`."""


@dataclass(frozen=True)
class EpisodeSummary:
    """One evaluated episode: its seed, the row's undiscounted return, its decisions and the env's final infos."""

    seed: int
    episode_return: float
    decisions: int
    terminated: bool
    truncated: bool
    metrics: dict[str, Any]
    stats: dict[str, Any]


class _Row:
    """One env copy seen as a sequence of single decisions (one chooser at a time)."""

    def __init__(self, env: CESParallelEnv):
        self.driver = DecisionDriver(env)
        self.seed = 0
        self.position = 0  # index of the presented agent in driver.choosers
        self.pending: dict[str, int] = {}  # actions of the tick's earlier choosers
        self.episode_return = 0.0
        self.decisions = 0

    def begin(self, seed: int, options: dict | None = None) -> bool:
        """Start an episode on ``seed``; False when it ended without any real decision."""
        self.seed = seed
        self.position = 0
        self.pending = {}
        self.episode_return = 0.0
        self.decisions = 0
        self.driver.reset(seed=seed, options=options or None)
        return not self.driver.over

    @property
    def agent(self) -> str:
        """The agent whose decision the row presents."""
        return self.driver.choosers[self.position]

    def observation(self) -> np.ndarray:
        return self.driver.observation(self.agent)

    def action_mask(self) -> np.ndarray:
        """The presented agent's mask as bools (MaskablePPO's format)."""
        return self.driver.mask(self.agent).astype(bool)

    def act(self, action: int) -> tuple[float, int, str]:
        """Record the presented agent's action; step the env once the tick's last chooser has acted.

        Returns the reward and elapsed ticks credited to this decision, and the agent that took it."""
        agent = self.agent
        self.pending[agent] = int(action)
        self.decisions += 1
        self.position += 1
        if self.position < len(self.driver.choosers):
            return 0.0, 0, agent
        actions, self.pending, self.position = self.pending, {}, 0
        self.driver.step(actions)
        reward, elapsed = self.driver.drain_team()
        self.episode_return += reward
        return reward, elapsed, agent


class SB3VecEnv(VecEnv):
    """stable-baselines3 ``VecEnv`` over ``n_envs`` copies of ``ces_env.parallel_env(**config)``, one shared policy.

    Args:
        n_envs: number of env copies (rows).
        seed: root of every episode seed: ``np.random.SeedSequence(seed)`` is spawned once per row, and each row
            spawns one child per episode, so the same (seed, n_envs) plays the same stream of episodes. None: fresh
            OS entropy. :meth:`seed` re-roots the streams at the next :meth:`reset` (SB3 calls it from ``seed=``).
        eval_seeds: play these episode seeds instead (row i plays ``eval_seeds[i], eval_seeds[i + n_envs], ...``,
            cycling); for an exact held-out evaluation prefer :meth:`evaluate`.
        render_mode: passed to every copy (``"rgb_array"`` enables SB3's ``render``/``get_images``).
        batched: when the copies run on the compiled engine (config field ``engine``) and nothing is rendered, step
            every row in one compiled call (:mod:`ces_env.core.compiled.rows`: the same episodes, rewards and
            observations as the Python driver, 2.6-5.6x cheaper per decision). False: a Python driver per row. The
            copies' envs are then brought up to date when read through ``get_attr``/``env_method`` (not when
            ``vec.envs[i]`` is read directly), and with ``strict_actions`` a masked-out action is refused at the vec
            step that gives it, before any row moves (the Python rows refuse it once the tick's last chooser acted).
        **config: ``preset=``, ``config=`` or CESConfig fields, as for ``ces_env.parallel_env``.

    Observations are the agents' ``"observation"`` Box; actions ``Discrete(A)``. Each step's ``infos[i]`` holds
    ``agent`` (who decided) and ``elapsed_ticks``; at an episode end also ``terminal_observation`` (the deciding
    agent's observation of the final state), ``TimeLimit.truncated``, ``episode`` (``r`` return, ``l`` decisions,
    ``t`` seconds since this VecEnv was made: SB3's Monitor convention), ``metrics``, ``stats``,
    ``truncation_reason`` (as the env gives it), ``seed`` and ``env_steps`` (ParallelEnv steps of the episode).
    Episodes in which nobody ever has a choice give no row and are skipped (counted in ``skipped_episodes``).
    """

    ROW_METHODS = ("action_masks",)
    """Methods served by the rows themselves (``env_method``/``get_attr``/``has_attr``); any other name goes to the
    row's ParallelEnv."""

    def __init__(
        self,
        n_envs: int = 1,
        seed: int | None = None,
        eval_seeds: Sequence[int] | None = None,
        render_mode: RenderMode | None = None,
        *,
        batched: bool = True,
        **config: Any,
    ):
        if int(n_envs) != n_envs or n_envs < 1:
            raise ValueError(f"SB3VecEnv: n_envs must be a positive integer, got {n_envs!r}")
        if eval_seeds is not None and len(eval_seeds) == 0:
            raise ValueError("SB3VecEnv: eval_seeds is empty; give at least one seed or None")
        self._config = dict(config)
        self._render_mode = render_mode
        self.envs: list[CESParallelEnv] = [parallel_env(render_mode=render_mode, **config) for _ in range(n_envs)]
        self._compiled = CompiledRows(self.envs) if batched and render_mode is None and self.envs[0].compiled else None
        self._rows = [] if self._compiled is not None else [_Row(env) for env in self.envs]
        first = self.envs[0]
        agent = first.possible_agents[0]
        observation_space = first.observation_space(agent)["observation"]
        action_space = first.action_space(agent)
        self.eval_seeds = None if eval_seeds is None else [int(s) for s in eval_seeds]
        self._streams: list[np.random.SeedSequence] = []
        self._episodes_started = [0] * n_envs
        self._pending_streams: list[np.random.SeedSequence] | None = self._make_streams(seed, n_envs)
        self._actions: np.ndarray | None = None
        self._t_start = time.time()
        self.skipped_episodes = 0
        super().__init__(n_envs, observation_space, action_space)
        assert isinstance(self.action_space, spaces.Discrete)
        self.n_actions = int(self.action_space.n)

    # ------------------------------------------------------------------------------------------------- seeding
    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Re-root the episode seeds at ``seed`` from the next :meth:`reset` on (SB3's semantics; SB3 calls this
        when a model is given ``seed=``). Returns the first episode seed each row will then play."""
        self._pending_streams = self._make_streams(seed, self.num_envs)
        return [self._episode_seed(self._pending_streams, i, 0) for i in range(self.num_envs)]

    @staticmethod
    def _make_streams(root: int | None, n_envs: int) -> list[np.random.SeedSequence]:
        return np.random.SeedSequence(root).spawn(n_envs)

    def _peek_seed(self, row: int) -> int:
        return self._episode_seed(self._streams, row, self._episodes_started[row])

    def _episode_seed(self, streams: list[np.random.SeedSequence], row: int, episode: int) -> int:
        if self.eval_seeds is not None:
            return self.eval_seeds[(row + episode * self.num_envs) % len(self.eval_seeds)]
        stream = streams[row]
        child = np.random.SeedSequence(stream.entropy, spawn_key=(*stream.spawn_key, episode))
        return int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))  # 63 bits: fits an int64 column

    def _begin(self, row: int, options: dict | None = None) -> None:
        """Start the row's next episode that has a real decision."""
        for _ in range(MAX_SKIPPED_EPISODES):
            seed = self._peek_seed(row)
            self._episodes_started[row] += 1
            if self._compiled is not None:
                if self._compiled.begin(row, seed, options):
                    self.reset_infos[row] = {"agent": self._compiled.agent(row), "seed": seed}
                    return
            elif self._rows[row].begin(seed, options):
                self.reset_infos[row] = {"agent": self._rows[row].agent, "seed": seed}
                return
            self.skipped_episodes += 1
            options = None
        raise RuntimeError(
            f"SB3VecEnv row {row}: {MAX_SKIPPED_EPISODES} episodes in a row ended without any agent having a choice "
            f"(two or more legal actions); the config {self._config} leaves nothing to learn"
        )

    # ------------------------------------------------------------------------------------------------- VecEnv API
    def reset(self) -> np.ndarray:
        """Start a new episode in every row (an unfinished one is dropped) and return the first decisions."""
        if self._pending_streams is not None:
            # a seed newly given (at construction or by seed()): every row's episode stream starts over
            self._streams, self._pending_streams = self._pending_streams, None
            self._episodes_started = [0] * self.num_envs
        for row in range(self.num_envs):
            self._begin(row, self._options[row])
        self._reset_options()
        return self._observations()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() without step_async(): call step() or step_async() first")
        actions, self._actions = self._actions, None
        if self._compiled is not None:
            return self._step_compiled(self._compiled, actions)
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        dones = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict[str, Any]] = []
        for i, row in enumerate(self._rows):
            reward, elapsed, agent = row.act(int(actions[i]))
            rewards[i] = reward
            info: dict[str, Any] = {"agent": agent, "elapsed_ticks": elapsed}
            driver = row.driver
            if driver.over:
                dones[i] = True
                final = driver.final_info()
                info["terminal_observation"] = driver.observation(agent).copy()
                info["TimeLimit.truncated"] = driver.truncated and not driver.terminated
                info["episode"] = {
                    "r": round(row.episode_return, 6),
                    "l": row.decisions,
                    "t": round(time.time() - self._t_start, 6),
                }
                info["metrics"] = final["metrics"]
                info["stats"] = final["stats"]
                info["truncation_reason"] = final.get("truncation_reason")
                info["seed"] = row.seed
                info["env_steps"] = driver.env_steps
                self._begin(i)
            infos.append(info)
        return self._observations(), rewards, dones, infos

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def action_masks(self) -> np.ndarray:
        """(n_envs, A) bool: the mask of the agent each row presents."""
        if self._compiled is not None:
            return self._compiled.masks.astype(bool)
        return np.stack([row.action_mask() for row in self._rows])

    def presented_agents(self) -> list[str]:
        """The agent whose decision each row presents now (for logging or per-agent analysis)."""
        if self._compiled is not None:
            return [self._compiled.agent(i) for i in range(self.num_envs)]
        return [row.agent for row in self._rows]

    def has_attr(self, attr_name: str) -> bool:
        return attr_name in self.ROW_METHODS or all(hasattr(env, attr_name) for env in self.envs)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        if attr_name in self.ROW_METHODS:
            return [getattr(self, f"_row_{attr_name}")(i) for i in self._indices(indices)]
        return [getattr(self._env(i), attr_name) for i in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for i in self._indices(indices):
            setattr(self._env(i), attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any):
        if method_name in self.ROW_METHODS:
            return [
                getattr(self, f"_row_{method_name}")(i)(*method_args, **method_kwargs) for i in self._indices(indices)
            ]
        return [getattr(self._env(i), method_name)(*method_args, **method_kwargs) for i in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        """True only for SB3's ``Monitor``: every episode end carries Monitor's ``episode`` statistics, so that
        ``evaluate_policy`` reads returns from them rather than warning that they may be altered."""
        return [wrapper_class is Monitor for _ in self._indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self._render_mode != "rgb_array":
            return [None for _ in self.envs]
        return [cast(np.ndarray, env.render()) for env in self.envs]  # rgb_array mode: a picture per copy

    # ------------------------------------------------------------------------------------------------- evaluation
    def evaluate(self, predict: Predict, seeds: Iterable[int]) -> list[EpisodeSummary]:
        """Play one episode per seed with ``predict`` and return their summaries, in the order of ``seeds``.

        Runs on fresh copies of the env (up to ``n_envs`` at a time), so training rows keep their episodes. The
        decision protocol is the training one; an episode without any real decision is reported with 0 decisions.
        For MaskablePPO: ``predict = lambda obs, masks: model.predict(obs, action_masks=masks, deterministic=True)[0]``.
        """
        seeds = [int(s) for s in seeds]
        results: list[EpisodeSummary | None] = [None] * len(seeds)
        rows = [_Row(parallel_env(**self._config)) for _ in range(min(self.num_envs, len(seeds)))]
        slot_of_row: list[int | None] = [None] * len(rows)
        next_seed = 0

        def summary(row: _Row) -> EpisodeSummary:
            final = row.driver.final_info()
            return EpisodeSummary(
                seed=row.seed,
                episode_return=row.episode_return,
                decisions=row.decisions,
                terminated=row.driver.terminated,
                truncated=row.driver.truncated,
                metrics=final["metrics"],
                stats=final["stats"],
            )

        def start(r: int) -> None:
            nonlocal next_seed
            slot_of_row[r] = None
            while next_seed < len(seeds):
                slot, next_seed = next_seed, next_seed + 1
                if rows[r].begin(seeds[slot]):
                    slot_of_row[r] = slot
                    return
                rows[r].episode_return += rows[r].driver.drain_team()[0]
                results[slot] = summary(rows[r])

        for r in range(len(rows)):
            start(r)
        while True:
            active = [r for r in range(len(rows)) if slot_of_row[r] is not None]
            if not active:
                break
            observations = np.stack([rows[r].observation() for r in active])
            masks = np.stack([rows[r].action_mask() for r in active])
            actions = np.asarray(predict(observations, masks)).reshape(len(active))
            for r, action in zip(active, actions):
                rows[r].act(int(action))
                if rows[r].driver.over:
                    slot = slot_of_row[r]
                    assert slot is not None
                    results[slot] = summary(rows[r])
                    start(r)
        for row in rows:
            row.driver.env.close()
        assert all(result is not None for result in results)
        return [result for result in results if result is not None]

    # ------------------------------------------------------------------------------------------------- helpers
    def _row_action_masks(self, i: int) -> Callable[[], np.ndarray]:
        if self._compiled is not None:
            masks = self._compiled.masks
            return lambda: masks[i].astype(bool)
        return self._rows[i].action_mask

    def _observations(self) -> np.ndarray:
        if self._compiled is not None:
            return self._compiled.observations.copy()  # a learner keeps the previous step's array
        return np.stack([row.observation() for row in self._rows]).astype(np.float32, copy=False)

    def _env(self, i: int) -> CESParallelEnv:
        """Copy ``i``'s env, up to date (the compiled rows step it without its Python side)."""
        return self._compiled.sync(i) if self._compiled is not None else self.envs[i]

    def _step_compiled(self, compiled: CompiledRows, actions: np.ndarray) -> VecEnvStepReturn:
        """step_wait with every row stepped in one compiled call (the same rows, rewards and infos)."""
        chosen = actions.astype(np.int64)
        if self.envs[0].config.strict_actions:  # refused before any row moves (the Python rows raise at the row)
            self._check_strict(compiled, chosen)
        compiled.act(chosen)
        rewards = compiled.rewards.astype(np.float32)
        dones = compiled.dones.copy()
        names = compiled.agent_names
        infos: list[dict[str, Any]] = [
            {"agent": names[agent], "elapsed_ticks": elapsed}
            for agent, elapsed in zip(compiled.acted.tolist(), compiled.elapsed.tolist(), strict=True)
        ]
        for i in np.flatnonzero(dones).tolist():
            info = infos[i]
            env = compiled.sync(i)
            sim = env.sim
            terminated, truncated = compiled.outcome(i)
            info["terminal_observation"] = compiled.observations[i].copy()
            info["TimeLimit.truncated"] = truncated and not terminated
            info["episode"] = {
                "r": round(compiled.episode_return(i), 6),
                "l": compiled.decisions(i),
                "t": round(time.time() - self._t_start, 6),
            }
            info["metrics"] = sim.metrics()
            info["stats"] = sim.stats()
            info["truncation_reason"] = sim.truncation_reason
            info["seed"] = compiled.seeds[i]
            info["env_steps"] = compiled.env_steps(i)
            self._begin(i)
        return self._observations(), rewards, dones, infos

    def _check_strict(self, compiled: CompiledRows, chosen: np.ndarray) -> None:
        """``strict_actions``: the env's refusal of a masked-out action, named as the env names it."""
        refused = first_masked_out(chosen, compiled.masks)
        if refused is not None:
            (i,) = refused
            env = compiled.sync(i)
            raise ValueError(
                f"row {i}, {compiled.agent(i)}: action {int(chosen[i])} is masked out at tick {env.sim.time} "
                f"(legal actions: {np.flatnonzero(compiled.masks[i]).tolist()})"
            )

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int | np.integer):
            return [int(indices)]
        return [int(i) for i in indices]

"""Plays one CES ParallelEnv from one real decision to the next: the engine under both trainer adapters.

The ParallelEnv asks every live agent for an action at every step, but most of those rows are not decisions: an
agent that need not decide has a mask allowing only wait, and an agent whose only legal action is a task can only
take it. A trainer fed those rows wastes most of its batch on actions that change nothing. :class:`DecisionDriver`
plays such agents itself and keeps stepping until some agent has a real choice (two or more legal actions) or the
episode is over, accumulating what happened in between (rewards, elapsed ticks) so that the adapters can credit it to
the decisions that caused it. Nothing here depends on a training library.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ces_env import kernels
from ces_env.env import NO_ACTION, ArrayStep, CESParallelEnv

MAX_SKIPPED_EPISODES = 1000
"""A trainer gets no row from an episode in which no agent ever has a choice; this many of those in a row means that
the config leaves nothing to decide, which is reported rather than looped over."""


class DecisionDriver:
    """One env copy, advanced from one tick with a real choice to the next.

    After :meth:`reset` or :meth:`step`, either ``choosers`` lists the agents with a choice at the current tick (in
    agent-id order) or ``over`` is True. Rewards and elapsed ticks of every env step since the last ``drain_*`` call
    are kept twice: per agent (for multi-agent trainers, which credit each agent between its own decisions) and for
    the team (for one shared policy; see :meth:`team_reward`).

    It drives the env through its array-level API (``reset_arrays``/``step_arrays``: the same episodes as
    ``reset``/``step``), so that no per-agent dict is built for the many env steps in which nobody has a choice.
    """

    def __init__(self, env: CESParallelEnv):
        self.env = env
        self.agent_names: list[str] = list(env.possible_agents)
        self.index: dict[str, int] = {name: i for i, name in enumerate(self.agent_names)}
        # with "team" and "time" every agent receives the team's reward; with "individual" the team's is the sum
        self._shared_reward = env.config.reward_mode in ("team", "time")
        n = len(self.agent_names)
        self.agent_reward = np.zeros(n)
        self.agent_elapsed = np.zeros(n, dtype=np.int64)
        self.team_reward = 0.0
        self.team_elapsed = 0
        self.last: ArrayStep | None = None  # the env's latest answer
        self.choosers: list[str] = []
        self._forced = np.zeros(0, dtype=np.int64)  # agents with one legal action that is not wait
        self._forced_actions = np.zeros(0, dtype=np.int64)
        self._no_actions = np.full(n, NO_ACTION, dtype=np.int64)  # copied for every env step (cheaper than np.full)
        self.over = False
        self.terminated = False
        self.truncated = False
        self.env_steps = 0

    # ------------------------------------------------------------------------------------------------- episode
    def reset(self, seed: int | None, options: dict | None = None) -> None:
        """Start an episode and advance to its first real decision (or its end)."""
        self.agent_reward[:] = 0.0
        self.agent_elapsed[:] = 0
        self.team_reward = 0.0
        self.team_elapsed = 0
        self.over = self.terminated = self.truncated = False
        self.env_steps = 0
        self._settle(self.env.reset_arrays(seed=seed, options=options))

    def step(self, actions: dict[str, int]) -> None:
        """Play the choosers' actions (every chooser must have one) and advance to the next real decision or the end.

        Agents with a single legal action play it; agents that need not decide play nothing (wait)."""
        if self.over:
            raise RuntimeError("the episode is over: call reset() before step()")
        if len(actions) != len(self.choosers) or not all(a in actions for a in self.choosers):  # else exactly them
            missing = [a for a in self.choosers if a not in actions]
            if missing:
                raise ValueError(
                    f"no action given for the deciding agents {missing} (tick with choosers {self.choosers})"
                )
            extra = sorted(set(actions) - set(self.choosers))
            raise ValueError(f"actions given for agents that have no decision now: {extra} (choosers {self.choosers})")
        chosen = self._forced_row()
        for agent in self.choosers:
            chosen[self.index[agent]] = int(actions[agent])
        self._settle(self._env_step(chosen))

    @property
    def result(self) -> ArrayStep:
        """The env's latest answer (observations, masks and slot tasks of every agent)."""
        if self.last is None:
            raise RuntimeError("call reset() first")
        return self.last

    def observation(self, agent: str) -> np.ndarray:
        """(D,) float32: ``agent``'s current observation."""
        return self.result.observations[self.index[agent]]

    def mask(self, agent: str) -> np.ndarray:
        """(A,) int8: ``agent``'s current action mask."""
        return self.result.masks[self.index[agent]]

    def observation_dict(self, agent: str) -> dict[str, np.ndarray]:
        """``agent``'s observation as the ParallelEnv gives it: ``{"observation": (D,), "action_mask": (A,)}``."""
        i = self.index[agent]
        return {"observation": self.result.observations[i], "action_mask": self.result.masks[i]}

    def candidates(self, agent: str) -> np.ndarray:
        """(K,) int64: the task id in each of ``agent``'s candidate slots, -1 for an empty slot."""
        return self.result.slot_tasks[self.index[agent]]

    def final_metrics(self) -> dict[str, Any]:
        """The finished episode's metrics (``info["metrics"]`` of its last step)."""
        return self.final_info()["metrics"]

    def final_info(self) -> dict[str, Any]:
        """The finished episode's final info fields (metrics, stats, truncation reason)."""
        final = self._final_fields()
        if not final:
            raise RuntimeError("the episode is not over: it has no final info yet")
        return final

    def _final_fields(self) -> dict[str, Any]:
        result = self.result
        if not result.over:
            return {}
        return {"metrics": result.metrics, "stats": result.stats, "truncation_reason": result.truncation_reason}

    # ------------------------------------------------------------------------------------------------- credit
    def drain_team(self) -> tuple[float, int]:
        """The team's reward and the ticks elapsed since the previous call, then zero them."""
        reward, elapsed = self.team_reward, self.team_elapsed
        self.team_reward = 0.0
        self.team_elapsed = 0
        return reward, elapsed

    def drain_agent(self, agent: str) -> tuple[float, int]:
        """One agent's reward and the ticks elapsed since the previous call for that agent, then zero them."""
        i = self.index[agent]
        reward, elapsed = float(self.agent_reward[i]), int(self.agent_elapsed[i])
        self.agent_reward[i] = 0.0
        self.agent_elapsed[i] = 0
        return reward, elapsed

    # ------------------------------------------------------------------------------------------------- internals
    def _settle(self, result: ArrayStep) -> None:
        """Store the env's answer; while nobody has a choice and the episode goes on, step with the forced actions.

        This terminates: each env step ends at the next tick where some agent must decide, and the env truncates at
        ``max_ticks`` (and, with the default waits, as soon as nothing is pending)."""
        while True:
            self.last = result
            if self.over:
                self.choosers = []
                self._forced = self._forced_actions = np.zeros(0, dtype=np.int64)
                return
            self._classify(result.masks)
            if self.choosers:
                return
            result = self._env_step(self._forced_row())

    def _forced_row(self) -> np.ndarray:
        """(n,) actions: the forced agents' single legal action, no action for everyone else."""
        chosen = self._no_actions.copy()
        chosen[self._forced] = self._forced_actions
        return chosen

    def _env_step(self, chosen: np.ndarray) -> ArrayStep:
        result = self.env.step_arrays(chosen)
        self.env_steps += 1
        rewards = result.rewards
        self.agent_reward += rewards
        self.team_reward += float(rewards[0]) if self._shared_reward else float(rewards.sum())
        self.team_elapsed += result.elapsed_ticks
        self.agent_elapsed += result.elapsed_ticks
        if result.over:
            self.over = True
            self.terminated = result.terminated
            self.truncated = result.truncated
        return result

    def _classify(self, masks: np.ndarray) -> None:
        """Split the agents: ``choosers`` (two or more legal actions) and the forced (one legal action that is not
        wait: they have no choice but to take it). The others need not decide and wait."""
        choosers, self._forced, self._forced_actions = kernels.classify_rows(masks)
        self.choosers = [self.agent_names[i] for i in choosers.tolist()]

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

from ces_env.env import CESParallelEnv

Observations = dict[str, dict[str, np.ndarray]]
Infos = dict[str, dict[str, Any]]

MAX_SKIPPED_EPISODES = 1000
"""A trainer gets no row from an episode in which no agent ever has a choice; this many of those in a row means that
the config leaves nothing to decide, which is reported rather than looped over."""


class DecisionDriver:
    """One env copy, advanced from one tick with a real choice to the next.

    After :meth:`reset` or :meth:`step`, either ``choosers`` lists the agents with a choice at the current tick (in
    agent-id order) or ``over`` is True. Rewards and elapsed ticks of every env step since the last ``drain_*`` call
    are kept twice: per agent (for multi-agent trainers, which credit each agent between its own decisions) and for
    the team (for one shared policy; see :meth:`team_reward`).
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
        self.observations: Observations = {}
        self.infos: Infos = {}
        self.choosers: list[str] = []
        self._forced: dict[str, int] = {}
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
        observations, infos = self.env.reset(seed=seed, options=options)
        self._add_elapsed(infos)
        self._settle(observations, infos)

    def step(self, actions: dict[str, int]) -> None:
        """Play the choosers' actions (every chooser must have one) and advance to the next real decision or the end.

        Agents with a single legal action play it; agents that need not decide play nothing (wait)."""
        if self.over:
            raise RuntimeError("the episode is over: call reset() before step()")
        missing = [a for a in self.choosers if a not in actions]
        if missing:
            raise ValueError(f"no action given for the deciding agents {missing} (tick with choosers {self.choosers})")
        extra = sorted(set(actions) - set(self.choosers))
        if extra:
            raise ValueError(f"actions given for agents that have no decision now: {extra} (choosers {self.choosers})")
        self._step_env({**self._forced, **{a: int(actions[a]) for a in self.choosers}})

    def final_metrics(self) -> dict[str, Any]:
        """The finished episode's metrics (``info["metrics"]`` of its last step)."""
        return next(iter(self.infos.values()))["metrics"]

    def final_info(self) -> dict[str, Any]:
        """The finished episode's last info of one agent (metrics, stats, truncation reason)."""
        return next(iter(self.infos.values()))

    def mask(self, agent: str) -> np.ndarray:
        return self.observations[agent]["action_mask"]

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
    def _settle(self, observations: Observations, infos: Infos) -> None:
        """Store the env's answer; while nobody has a choice and the episode goes on, step with the forced actions.

        This terminates: each env step ends at the next tick where some agent must decide, and the env truncates at
        ``max_ticks`` (and, with the default waits, as soon as nothing is pending)."""
        while True:
            self.observations, self.infos = observations, infos
            if self.over:
                self.choosers, self._forced = [], {}
                return
            self._classify()
            if self.choosers:
                return
            observations, infos = self._env_step(self._forced)

    def _step_env(self, actions: dict[str, int]) -> None:
        observations, infos = self._env_step(actions)
        self._settle(observations, infos)

    def _env_step(self, actions: dict[str, int]) -> tuple[Observations, Infos]:
        observations, rewards, terminations, truncations, infos = self.env.step(actions)
        self.env_steps += 1
        if rewards:
            values = np.fromiter(rewards.values(), dtype=np.float64, count=len(rewards))
            self.agent_reward[self._positions(rewards)] += values
            self.team_reward += float(values[0]) if self._shared_reward else float(values.sum())
        self._add_elapsed(infos)
        if not self.env.agents:  # PettingZoo: the live-agent list empties when the episode ends
            self.over = True
            self.terminated = any(terminations.values())
            self.truncated = any(truncations.values()) and not self.terminated
        return observations, infos

    def _add_elapsed(self, infos: Infos) -> None:
        if not infos:
            return
        elapsed = int(next(iter(infos.values())).get("elapsed_ticks", 0))
        self.team_elapsed += elapsed
        self.agent_elapsed[self._positions(infos)] += elapsed

    def _positions(self, per_agent: dict[str, Any]) -> slice | list[int]:
        """Indices of a per-agent dict's keys: every agent, in id order, while all are live (the usual case)."""
        if len(per_agent) == len(self.agent_names) and list(per_agent) == self.agent_names:
            return slice(None)
        return [self.index[agent] for agent in per_agent]

    def _classify(self) -> None:
        """Split the live agents: ``choosers`` (two or more legal actions) and ``_forced`` (one legal action that is
        not wait: they have no choice but to take it). The others need not decide and wait."""
        self.choosers = []
        self._forced = {}
        for agent, obs in self.observations.items():
            mask = obs["action_mask"]
            legal = np.count_nonzero(mask)
            if legal > 1:
                self.choosers.append(agent)
            elif legal == 1 and not mask[0]:
                self._forced[agent] = int(mask.argmax())

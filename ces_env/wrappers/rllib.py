"""An RLlib ``MultiAgentEnv`` over CES whose observations use RLlib's action-masking keys.

Each agent's observation is ``{"observations": Box (D,), "action_mask": Box(0, 1, (A,), float32)}``: the keys and the
float mask that ``ray.rllib.examples.rl_modules.classes.action_masking_rlm.ActionMaskingTorchRLModule`` reads, so
that RLlib's action-masking module trains on it unchanged. An obs dict holds only the agents with a real decision
(two or more legal actions) at the current tick; in RLlib's multi-agent protocol exactly those act next. Agents with
a single legal action play it, the others wait, and the env keeps stepping until someone has a choice.

Credit: every env step's reward is accumulated per agent and paid when the agent next appears (its next decision,
or the episode's end), with ``infos[agent]["elapsed_ticks"]`` the ticks since its previous observation, for semi-MDP
discounting. What an agent earns before its first observation is paid with that observation (RLlib keeps it outside
any action's credit), except at ``reset``, which pays no reward: it goes with the agent's next observation. With
``reward_mode="time"`` the rewards of every agent that decides thus sum to ``-ET / reward_time_scale``. At the end,
every agent that decided during the episode receives its final observation, its remaining reward and the episode's
``metrics``/``stats`` in its info, and ``terminateds``/``truncateds`` for it and ``"__all__"``.

Ray is imported when this module is; ``ces_env.wrappers.rllib_env`` imports it only when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

try:
    from ray.rllib.env.multi_agent_env import MultiAgentEnv
except ImportError as error:  # pragma: no cover - exercised only without Ray
    raise ImportError(
        'ces_env.wrappers.rllib_env needs Ray RLlib: pip install -c constraints.txt -e ".[ray]"'
    ) from error

from gymnasium import spaces

from ces_env.env import parallel_env
from ces_env.wrappers._driver import MAX_SKIPPED_EPISODES, DecisionDriver

OBS_KEY = "observations"
MASK_KEY = "action_mask"


class CESMultiAgentEnv(MultiAgentEnv):
    """CES as an RLlib ``MultiAgentEnv``; ``env_config`` holds ``preset=``/``config=``/CESConfig fields.

    RLlib builds env classes with their ``env_config`` dict, so ``config.environment(CESMultiAgentEnv,
    env_config={"preset": "small", "reward_mode": "time"})`` works as well as ``ces_env.wrappers.rllib_env(...)``.
    """

    def __init__(self, env_config: Mapping[str, Any] | None = None):
        super().__init__()
        self._env = parallel_env(**dict(env_config or {}))
        self._driver = DecisionDriver(self._env)
        names: list[str] = list(self._env.possible_agents)
        self.possible_agents = list(names)
        self.agents = list(names)
        first = names[0]
        observation_box = self._env.observation_space(first)["observation"]
        n_actions = int(self._env.action_space(first).n)
        mask_box = spaces.Box(0.0, 1.0, shape=(n_actions,), dtype=np.float32)
        self.observation_spaces = {
            a: spaces.Dict({OBS_KEY: observation_box, MASK_KEY: mask_box}) for a in self.possible_agents
        }
        self.action_spaces = {a: spaces.Discrete(n_actions) for a in self.possible_agents}
        self._acted: set[str] = set()  # agents that decided in this episode: they get the final observation

    @property
    def unwrapped_env(self):
        """The underlying PettingZoo ParallelEnv (``metrics()``, ``state()``, ``config``)."""
        return self._env

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        driver = self._driver
        for _ in range(MAX_SKIPPED_EPISODES):
            driver.reset(seed=seed, options=options)
            if not driver.over:
                break
            seed, options = None, None  # the env's generator goes on from the seeded episode: still reproducible
        else:
            raise RuntimeError(
                f"{MAX_SKIPPED_EPISODES} episodes in a row ended without any agent having a choice: nothing to learn"
            )
        self._acted = set()
        self.agents = list(self.possible_agents)
        observations, infos = {}, {}
        for agent in driver.choosers:
            # RLlib's reset pays no reward: anything the agent earned before is paid with its next observation,
            # as the env itself charges the ticks before reset's end to the first step
            observations[agent], infos[agent] = self._present(agent, elapsed=0)
        return observations, infos

    def step(self, action_dict: dict[Any, Any]):
        driver = self._driver
        self._acted.update(driver.choosers)
        driver.step({a: int(v) for a, v in action_dict.items()})
        observations: dict[str, Any] = {}
        rewards: dict[str, float] = {}
        infos: dict[str, Any] = {}
        recipients = sorted(self._acted, key=driver.index.__getitem__) if driver.over else driver.choosers
        for agent in recipients:
            reward, elapsed = driver.drain_agent(agent)
            observations[agent], infos[agent] = self._present(agent, elapsed)
            rewards[agent] = reward
        terminateds = {"__all__": driver.terminated}
        truncateds = {"__all__": driver.truncated}
        if driver.over:
            final = driver.final_info()
            for agent in recipients:
                terminateds[agent] = driver.terminated
                truncateds[agent] = driver.truncated
                infos[agent].update(
                    metrics=final["metrics"], stats=final["stats"], truncation_reason=final.get("truncation_reason")
                )
            self.agents = []
        return observations, rewards, terminateds, truncateds, infos

    def metrics(self) -> dict[str, Any]:
        """The episode's metrics so far (final once it has ended)."""
        return self._env.metrics()

    def close(self) -> None:
        self._env.close()

    def _present(self, agent: str, elapsed: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        driver = self._driver
        observation = {OBS_KEY: driver.observation(agent), MASK_KEY: driver.mask(agent).astype(np.float32)}
        group = int(self._env.sim.instance.agent_group[driver.index[agent]])
        return observation, {"elapsed_ticks": elapsed, "group": group, "candidates": driver.candidates(agent)}

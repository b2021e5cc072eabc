"""CES: cooperative task execution by groups of agents (PettingZoo parallel environment ``ces_v1``).

This module docstring is the environment's documentation page; the README's environment card says the same.

| | |
|---|---|
| Import | ``import ces_env; env = ces_env.parallel_env(preset="small", control="decentralized")`` |
| Registry | ``pettingzoo.make("parallel", "ces/ces-v1", ...)`` (and ``"aec"``) |
| Agents | ``agent_0 ... agent_{n-1}`` (``n_agents``), in ``n_groups`` groups of contiguous ids |
| Action space | ``Discrete(1 + K)``; ``Discrete(1 + K + 4)`` in the steered mode |
| Observation space | ``Dict(observation=Box(0, 1, (D,), float32), action_mask=Box(0, 1, (A,), int8))`` |
| State space | ``Box(0, 1, (m*7 + n*9 + 2l + 1,), float32)`` |

**The system.** m tasks with rewards and a dependency DAG are split among l groups (``partition``); a task is ready
when its dependencies are completed. Each task's solution is a path through a perfect maze of its inference class;
tasks of one class share the maze, so a group that knows a class's solution replays it without exploring. Under
``control="centralized"`` a FIFO controller per group assigns tasks and validates solutions; under
``"decentralized"`` agents claim tasks themselves (claims take time to propagate and can conflict) and validate peer
to peer. ``control`` takes any registered protocol (``ces_env.core.protocols``): under the negotiation mechanisms
(Contract Net, auctions, ...) the mechanism allocates the tasks, so no agent is asked to choose one. All protocol
costs are parameters (see ``ces_env.core.simulator`` and ``ces_env.config``).

**Decisions and time.** The environment is event-driven: each ``step`` applies the actions of the agents that must
decide and then jumps to the next tick at which some agent must decide. An agent decides a task when it is available
(decentralized) or when its request reaches the head of its controller's queue (centralized: the policy plays the
controller for that agent). Every live agent receives an observation each step; agents that need not decide have a mask
allowing only action 0, and their action is ignored. In the steered mode (``exploration_mode="steered"``) an exploring
agent decides every maze move, one move per ``ceil(1/speed)`` ticks.

**Actions.** ``0`` wait; ``1..K`` take the task in candidate slot k. Slots list the group's ready tasks by reward
descending, then task id ascending (decentralized agents still see tasks whose claim has not reached them yet).
Steered mode: ``K+1..K+4`` move north, east, south, west. An action is an integer (Python or numpy); anything else
(bool, float, str, array) raises ``TypeError`` naming the agent. To give an agent no action, leave it out of the dict
or give ``None`` (a wait that is not flagged); ``-1`` means that only in ``step_arrays`` (:data:`NO_ACTION`).

**Waiting cannot stall.** By default (``wait_ticks=None``) a wait lasts until something changes for the agent's group:
a task of the group becomes ready, an execution starts in it (a claim or an assignment resolved) or a groupmate frees
up; under centralized control the controller keeps the declined request aside (no new message) and queues it again
then. ``wait_ticks=k`` makes a wait last k ticks instead (a greedy policy that always waits then runs until
``max_ticks``). If every deciding agent waits and nothing else is pending, they are asked again at once with waiting
masked out; if they still wait, the episode is truncated (``truncation_reason="stalled"``). So an always-waiting
policy ends within a few steps (two when decentralized; up to n under centralized control, where requests reach the
head of the queue one by one). For a steering agent a wait means staying one tick, which always changes something:
a policy that keeps its steering agents waiting runs until ``max_ticks``.

**Infos.** Every step, each agent's info holds ``action_mask`` (as in the observation), ``group`` (its group index),
``candidates`` (int64, the task id in each of the K slots, -1 for an empty slot), so that allocation mechanisms
can name the tasks they bid on, and ``elapsed_ticks``: the ticks since the previous step (the first step also counts
the ticks before reset's observation, so that their sum over an episode is exactly ET). An agent whose action was
illegal and played as a wait has ``info["invalid_action"] = True``.

**Action mask.** ``observation["action_mask"]`` and ``info["action_mask"]``: int8, 1 where the action is legal. An
illegal action (masked out, or an id outside the action space, ``-1`` included) raises ``ValueError`` naming the
agent, the tick and the legal actions with ``strict_actions=True``; otherwise (the default) it is played as a wait and
flagged in ``info["invalid_action"]``.

**Observation** (all features in [0, 1]), ``D = 20 + 6K (+ 5(2r+1)^2 in the steered mode)``. Features by their names
in the layout of ``ces_env.observations`` (read them with ``agent_feature_index(name)`` and
``slot_feature_index(k, name)``; ``tests/test_observation_layout.py`` checks this paragraph against it):
``[0:8]`` ``status_*``: the agent's status one-hot, in ``AgentStatus`` order (idle, queued, claiming, exploring,
steering, replaying, validating, finished); ``[8]`` ``deciding_task``: deciding a task now; ``[9]`` ``deciding_move``:
deciding a move now; ``[10]`` ``speed``: speed / fastest speed; ``[11]`` ``time``: x / (1 + x), x = ticks since the
start / the makespan lower bound; ``[12]`` ``group_progress``: the group's completed fraction; ``[13]``
``group_ready``: its ready tasks / its tasks; ``[14]`` ``group_idle``: idle fraction of the group; ``[15]``
``controller_queue``: controller queue / group size (centralized); ``[16]`` ``job_progress``: progress of the current
exploration or replay (0 while steering); ``[17]`` ``classes_known``: fraction of inference classes the agent knows;
``[18]`` ``index_in_group``: the agent's index in its group / (group size - 1); ``[19]`` ``decider_rank``: its rank
among the group's agents deciding a task now / (their number - 1). Then, from ``[20 + 6k]``, slot k's 6 features
(k = 0..K-1, taken by action k + 1): ``valid``, ``reward`` (/ max reward), ``known`` (solution known by the agent),
``successors`` (/ max), ``upward_rank`` (longest path to a sink over minimal durations, / max),
``class_in_progress`` (a groupmate is exploring the same maze). Steered mode, from ``[20 + 6K]``: the (2r+1)x(2r+1)
local view of the maze around the agent, row-major, 5 channels per cell: ``open_north``, ``open_east``,
``open_south``, ``open_west``, ``visited``.

**Rewards.** ``reward_mode="individual"`` (default, reward-first): a task's reward goes to the agent whose solution is
validated, at the step in which the validation completes. ``"team"``: every agent receives the team's reward of the
step. ``"time"``: every live agent receives ``-elapsed_ticks / reward_time_scale`` each step, so that each agent's
undiscounted return is exactly ``-ET / reward_time_scale`` (a stalled episode, which never finishes, is charged as if
it had run to ``max_ticks``, so that stalling never pays). ``time_penalty`` is subtracted per elapsed tick from every
agent. Every finished episode completes every task, so the reward-first return is the same for every policy: train
with ``"time"`` to minimise ET, discounting per tick with ``info["elapsed_ticks"]`` (a semi-MDP).

**Termination and truncation.** All agents terminate when every task is completed; all are truncated when time passes
``max_ticks`` (default: twice what one slowest agent would need alone with worst-case explorations and every protocol
cost), when the deciders stall (above), or when a fault leaves the episode unable to complete. The final step's infos
carry ``info["truncation_reason"]``: ``None`` when terminated, else ``"max_ticks"``, ``"stalled"``, ``"crashed"`` (a
group's agents are all down for good with tasks left), ``"controller_down"`` (a controller is down for good and nothing
else can happen) or ``"no_award"`` (a negotiation mechanism awards nothing and nothing else can happen). They also
carry ``info["metrics"]``, a dict with exactly the keys ``ET, ET_g, TWT, TWT_g, lambda_g, mu_g, total_reward,
messages, conflicts, controller_utilization, fairness_jain, lower_bound, makespan_ratio`` (``env.metrics()`` returns
the same at any time; after a truncation, as of the truncation tick), and ``info["stats"]``: counts that explain them
(explorations, replays of known solutions, rejected solutions, ticks). An episode is never over at reset: PettingZoo's
``reset`` has no flags to end it with (agents leave only through a step's terminations and truncations, and the AEC
conversion needs a first agent). If time runs out before any decision (``max_ticks`` below the split overhead, say),
reset still returns every agent live with only waiting legal, and the first step, whatever its actions, truncates them
all with the final infos (``reset_arrays`` likewise reports ``over=False``).

**Rendering.** ``render_mode="rgb_array"``: ``render()`` returns the labelled live view
(:class:`ces_env.render.Viewer`), an (H, W, 3) uint8 frame of one size for the whole episode. ``"ansi"``: the text
view, one line per group. ``"human"``: ``reset`` and ``step`` show the live view in a matplotlib window (one figure,
updated in place; ``render()`` shows it too and returns None); where no window can open (a non-interactive matplotlib
backend such as Agg, or no display on Linux) they print the text view instead, with one warning. matplotlib is
imported at the first frame, never with ``ces_env``; ``close()`` closes the window.

**Arguments.** ``parallel_env(render_mode=None, preset=None, config=None, **fields)`` (``render_mode``: one of
:data:`RenderMode`): every field of
:class:`ces_env.config.CESConfig`; ``preset`` names a set of overrides in ``ces_env.config.PRESETS``. Unknown or
inconsistent values raise :class:`ces_env.config.ConfigError`. ``trace=True`` records each episode's trace in
``env.unwrapped.sim.trace`` (:mod:`ces_env.core.trace`; the episode is the same as without it).
``instance_cache=ces_env.InstanceCache()`` reuses the instance of a seed already played (by this env or any env
given the same cache) instead of generating it again: the same episode, a cheaper reset for sweeps.

**Task graph** (public information of the instance, for policies that reason over the whole DAG):
``env.unwrapped.task_graph()`` gives the CSR successors and predecessors, each task's group and its static features
(columns ``TASK_STATIC_FEATURES``: reward, upward rank, successor and predecessor counts, minimal duration, classmates
in the group, each in [0, 1]); ``env.unwrapped.task_features(agent)`` gives every task as that agent sees it now
(columns ``TASK_DYNAMIC_FEATURES``: status blocked/ready/taken/done as its group sees it, so a claim still in flight
looks ready as in the slots; in the agent's group; class known by the agent; class explored by a groupmate now).

**Array-level stepping** (what the trainer adapters use): ``env.unwrapped.reset_arrays(seed, options)`` and
``env.unwrapped.step_arrays(actions)`` play the same episode as ``reset``/``step`` (same seed, same actions: same
episode), with every agent's data as one array instead of a dict per agent: ``actions`` is ``(n,)`` integers (``-1``:
no action, a wait that is not flagged invalid) and the result an :class:`ArrayStep` (observations ``(n, D)``, masks
``(n, A)``, slot tasks ``(n, K)``, rewards ``(n,)``, elapsed ticks, and at the end metrics and stats).

**Reset options.** ``reset(seed, options={"instance": inst})`` runs on a given :class:`ces_env.types.Instance`
(made with ``ces_env.generator.assemble_instance`` or ``generate_instance``) instead of drawing one.

**Version history.** v1: control protocols are pluggable (``control`` takes any registered protocol); a wait lasts
until something changes for the agent (``wait_ticks=None``) and cannot stall; ``reward_mode="time"``; infos carry
``elapsed_ticks`` (and ``truncation_reason`` at the end); the time feature is squashed over the lower bound; agent
features ``index_in_group`` and ``decider_rank``; non-integer actions are refused; ``reset_arrays``/``step_arrays``
(the same episodes, as arrays). v1, later revisions (the same episodes for legal actions): in ``step`` an id outside the
action space (``-1``, a huge int) is an illegal action like a masked-out one (strict: ``ValueError`` naming the agent;
lenient: a flagged wait; before, ``-1`` was a silent wait and a huge int an ``OverflowError``); an episode over before
its first decision is reported by the first step, also through ``reset_arrays``; ``"human"`` rendering opens a
window; the config field ``engine`` (the compiled event loop of :mod:`ces_env.core.compiled`, by default wherever it
covers the scenario: the same episodes, step by step); ``reset_simulator`` (``reset_arrays`` without building the
answer, for drivers that observe the simulator themselves). v0: first release.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv

from ces_env import kernels
from ces_env.config import CESConfig, make_config
from ces_env.core.compiled import uses_compiled_engine
from ces_env.core.compiled.simulator import CompiledCESSimulator
from ces_env.core.lower_bound import min_task_durations
from ces_env.core.simulator import CESSimulator
from ces_env.generator import generate_instance
from ces_env.instance_cache import InstanceCache
from ces_env.observations import ObservationBuilder
from ces_env.types import AgentStatus, Instance, TaskStatus

RESET_OPTIONS = ("instance",)
TASK_STATIC_FEATURES = ("reward", "upward_rank", "successors", "predecessors", "duration", "classmates")
"""Columns of ``task_graph()["static"]``: reward / max; longest path to a sink over minimal durations / max (the slot
feature ``upward_rank``); successor and predecessor counts / max; minimal duration (solution walked at the group's
fastest speed) / max; other tasks of the task's group in its inference class / max."""
TASK_DYNAMIC_FEATURES = ("blocked", "ready", "taken", "done", "own_group", "known", "class_in_progress")
"""Columns of ``task_features(agent)``: the status one-hot as the task's group sees it (ready includes a claim not yet
propagated, like the slots; taken: claimed, running or validating), in the agent's group, its class known by the
agent, its class explored by one of the agent's groupmates now (the slot feature ``class_in_progress``)."""
RenderMode = Literal["human", "ansi", "rgb_array"]
RENDER_MODES: tuple[RenderMode, ...] = get_args(RenderMode)

AgentID = str
Observation = dict[str, np.ndarray]  # {"observation": (D,) float32, "action_mask": (A,) int8}
ActionType = int


NO_ACTION = -1
"""In :meth:`CESParallelEnv.step_arrays`: the agent gives no action (it waits; unlike a masked-out action, this is not
flagged invalid). ``step`` treats an agent missing from its dict, or given ``None``, the same way."""


@dataclass(frozen=True, eq=False)
class ArrayStep:
    """What :meth:`CESParallelEnv.reset_arrays` and :meth:`CESParallelEnv.step_arrays` return: every agent's row.

    Row i is agent ``agent_{i}``; in ``ces_v1`` every agent is live until the episode ends, so there are always n
    rows. The arrays are the env's own for this step: a caller that keeps them past the next step need not copy them
    (each step builds new ones), but must not write the masks it wants the env to enforce (the env keeps a copy)."""

    observations: np.ndarray  # (n, D) float32
    masks: np.ndarray  # (n, A) int8, 1 where the action is legal
    slot_tasks: np.ndarray  # (n, K) int64: task id in each candidate slot, -1 for an empty slot
    rewards: np.ndarray  # (n,) float64 (zeros at reset)
    elapsed_ticks: int  # ticks since the previous step (0 at reset)
    invalid: np.ndarray  # (n,) bool: the agent's action was masked out and played as a wait
    terminated: bool
    truncated: bool  # and not terminated
    metrics: dict[str, Any] | None = None  # at the episode's end: info["metrics"]
    stats: dict[str, Any] | None = None  # at the episode's end: info["stats"]
    truncation_reason: str | None = None  # at the episode's end

    @property
    def over(self) -> bool:
        return self.terminated or self.truncated


class CESParallelEnv(ParallelEnv[AgentID, Observation, ActionType]):
    """The CES environment; see the module docstring (its documentation page)."""

    metadata = {
        "name": "ces_v1",
        "render_modes": list(RENDER_MODES),
        "is_parallelizable": True,
        "render_fps": 4,
    }

    def __init__(
        self,
        render_mode: RenderMode | None = None,
        preset: str | None = None,
        config: CESConfig | Mapping[str, Any] | None = None,
        trace: bool = False,
        instance_cache: InstanceCache | None = None,
        **fields: Any,
    ) -> None:
        self.tracing = bool(trace)  # record each episode's trace (ces_env.core.trace); it never changes the episode
        if instance_cache is not None and not isinstance(instance_cache, InstanceCache):
            raise TypeError(f"instance_cache= must be a ces_env.InstanceCache, got {type(instance_cache).__name__}")
        self.instance_cache = instance_cache  # instances reused by seed (ces_env.instance_cache); same episodes
        if isinstance(config, Mapping):  # a plain dict of fields, e.g. read from a file
            fields = {**config, **fields}
            config = None
        if config is None:
            self.config = make_config(preset, **fields)
        elif preset is not None:
            raise ValueError("give either config= or preset=, not both")
        elif not isinstance(config, CESConfig):
            raise TypeError(f"config= must be a CESConfig or a dict of its fields, got {type(config).__name__}")
        else:
            self.config = make_config(base=config, **fields) if fields else config
        # the engine is fixed for the env's life (config field `engine`): the compiled one wherever it runs the scenario
        self._simulator_class: type[CESSimulator] = (
            CompiledCESSimulator if uses_compiled_engine(self.config, trace=self.tracing) else CESSimulator
        )
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode {render_mode!r} is not one of {list(RENDER_MODES)}")
        self.render_mode = render_mode
        n = self.config.n_agents
        self.possible_agents = [f"agent_{i}" for i in range(n)]
        self.agent_name_mapping = {name: i for i, name in enumerate(self.possible_agents)}
        self.agents: list[str] = []
        self._builder = ObservationBuilder(self.config, n)
        layout = self._builder.actions
        self._action_spaces: dict[str, spaces.Discrete] = {
            a: spaces.Discrete(layout.n_actions) for a in self.possible_agents
        }
        self._observation_spaces = {
            a: spaces.Dict({"observation": self._builder.observation_box, "action_mask": self._builder.mask_box})
            for a in self.possible_agents
        }
        self.state_space = spaces.Box(
            0.0, 1.0, shape=(self._builder.state_size(self.config.n_tasks, self.config.n_groups),), dtype=np.float32
        )
        self._np_random: np.random.Generator | None = None
        self._simulator: CESSimulator | None = None
        # the env's own copy of the last masks (users may write theirs); None after reset_simulator, until set
        self._masks: np.ndarray | None = np.zeros((n, layout.n_actions), dtype=np.int8)
        self._clock = 0
        self._viewer: Any = None  # ces_env.render.Viewer, imported on the first render
        self._window: Any = None  # ces_env.render.HumanWindow of render_mode="human", made on its first frame
        self._task_graph: tuple[Instance, dict[str, np.ndarray]] | None = None  # task_graph() of the current instance

    # ------------------------------------------------------------------------------------------------- spaces
    def observation_space(self, agent: str) -> spaces.Dict:
        return self._observation_spaces[agent]  # the same cached object on every call

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._action_spaces[agent]

    @property
    def np_random(self) -> np.random.Generator:
        """The generator every random draw of an episode goes through (seeded by ``reset(seed)``)."""
        if self._np_random is None:
            self._np_random = np.random.default_rng()
        return self._np_random

    @property
    def compiled(self) -> bool:
        """Whether this env's episodes run on the compiled engine (config field ``engine``, fixed for its life)."""
        return issubclass(self._simulator_class, CompiledCESSimulator)

    @property
    def sim(self) -> CESSimulator:
        """The running simulator (read-only use: observations, metrics, analyses)."""
        if self._simulator is None:
            raise RuntimeError("call reset() before using the environment (no episode has started)")
        return self._simulator

    # ------------------------------------------------------------------------------------------------- API
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[AgentID, Observation], dict[AgentID, dict[str, Any]]]:
        return self._as_dicts(self._reset_core(seed, options))

    def reset_arrays(self, seed: int | None = None, options: dict[str, Any] | None = None) -> ArrayStep:
        """:meth:`reset` with every agent's data as one array (see :class:`ArrayStep`); the same episode."""
        return self._reset_core(seed, options)

    def _reset_core(self, seed: int | None, options: dict[str, Any] | None) -> ArrayStep:
        """What both resets do; called directly by both, so that a warning points at the caller's line."""
        self._start_episode(seed, options, caller_depth=1)
        n = self.config.n_agents
        # PettingZoo's reset cannot end an episode (agents leave only through a step's terminated/truncated flags, and
        # the AEC conversion needs a first agent): an episode over before any decision is reported by the first step
        result = self._arrays(np.zeros(n), 0, np.zeros(n, dtype=bool), can_end=False)
        if self.render_mode == "human":
            self._render(caller_depth=2)
        return result

    def reset_simulator(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """:meth:`reset_arrays` without its answer (the observations it would build): the same episode, for a driver
        that reads the simulator itself (``SB3VecEnv``'s compiled rows). :meth:`step_arrays` needs the masks of an
        answer: such a driver sets them (``_masks``) before stepping through the env."""
        self._start_episode(seed, options, caller_depth=0)
        self._masks = None

    def _start_episode(self, seed: int | None, options: dict[str, Any] | None, caller_depth: int) -> None:
        """A new instance and simulator, advanced to the first decision; ``caller_depth``: the env's frames between
        the user's line and the caller (for the unknown-option warning)."""
        if seed is not None:
            self._np_random = np.random.default_rng(seed)
        options = dict(options or {})
        unknown = sorted(set(options) - set(RESET_OPTIONS))
        if unknown:
            warnings.warn(
                f"reset options {unknown} are not used by ces_v1 (known options: {list(RESET_OPTIONS)})",
                stacklevel=3 + caller_depth,
            )
        instance = options.get("instance")
        if instance is None and self.instance_cache is not None and seed is not None:
            instance = self.instance_cache.instance(self.config, seed, self.np_random)
        elif instance is None:
            instance = generate_instance(self.config, self.np_random)
        else:
            self._check_instance(instance)
        self._simulator = self._simulator_class(self.config, instance, self.np_random, trace=self.tracing)
        self._builder.bind(instance)
        self.agents = self.possible_agents[:]
        self._clock = 0  # the tick of the previous step's end; the first step counts the ticks before reset's end too
        self.sim.advance()

    def step(
        self, actions: dict[AgentID, ActionType]
    ) -> tuple[
        dict[AgentID, Observation],
        dict[AgentID, float],
        dict[AgentID, bool],
        dict[AgentID, bool],
        dict[AgentID, dict[str, Any]],
    ]:
        if self._simulator is None:
            raise RuntimeError("call reset() before step() (no episode has started)")
        if not self.agents:
            return {}, {}, {}, {}, {}
        unknown = set(actions) - set(self.agents)
        if unknown:
            raise ValueError(f"actions given for agents that are not live: {sorted(unknown)}")
        chosen = np.full(self.config.n_agents, NO_ACTION, dtype=np.int64)
        for name, raw in actions.items():
            if raw is not None:
                i = self.agent_name_mapping[name]
                chosen[i] = self._as_action(name, i, raw)
        result = self._step_core(chosen)
        observations, infos = self._as_dicts(result)
        rewards = {a: float(result.rewards[i]) for i, a in enumerate(self.possible_agents)}
        terminations = dict.fromkeys(self.possible_agents, result.terminated)
        truncations = dict.fromkeys(self.possible_agents, result.truncated)
        for i in np.flatnonzero(result.invalid).tolist():
            infos[self.possible_agents[i]]["invalid_action"] = True
        if result.over:
            for info in infos.values():
                info["metrics"] = result.metrics
                info["stats"] = result.stats
                info["truncation_reason"] = result.truncation_reason
        return observations, rewards, terminations, truncations, infos

    def step_arrays(self, actions: np.ndarray) -> ArrayStep:
        """:meth:`step` with every agent's action in one ``(n,)`` integer array (:data:`NO_ACTION` for none) and the
        result as arrays (see :class:`ArrayStep`); the same episode as :meth:`step` given the same actions."""
        if self._simulator is None:
            raise RuntimeError("call reset() or reset_arrays() before step_arrays() (no episode has started)")
        if not self.agents:
            raise RuntimeError("the episode is over: call reset() or reset_arrays() before step_arrays()")
        chosen = np.asarray(actions)
        n = self.config.n_agents
        if chosen.shape != (n,) or chosen.dtype.kind not in "iu":
            raise TypeError(
                f"step_arrays: actions must be an integer array of shape ({n},), got {chosen.dtype} {chosen.shape}"
            )
        return self._step_core(chosen.astype(np.int64, copy=False))

    def _step_core(self, chosen: np.ndarray) -> ArrayStep:
        """Apply ``chosen`` (n,) int64 actions, advance to the next decision, and report."""
        sim = self.sim
        task_choices, moves, invalid = self._decode(chosen)
        sim.step(task_choices, moves)
        elapsed = sim.time - self._clock  # summed over the steps of an episode: exactly ET
        self._clock = sim.time

        earned = sim.pop_rewards()
        if self.config.reward_mode == "team":
            earned = np.full_like(earned, earned.sum())
        elif self.config.reward_mode == "time":
            # a stalled episode never finishes: it is charged as if it had run to max_ticks, so that stalling on
            # purpose (waiting with invalid actions) can never look faster than working
            charged = sim.max_ticks - (self._clock - elapsed) if sim.stalled else elapsed
            earned = np.full_like(earned, -charged / self.config.reward_time_scale)
        earned -= self.config.time_penalty * elapsed
        result = self._arrays(earned, elapsed, invalid)
        if result.over:
            self.agents = []
        if self.render_mode == "human":
            self._render(caller_depth=2)
        return result

    def state(self) -> np.ndarray:
        return self._builder.state(self.sim)

    def metrics(self) -> dict[str, Any]:
        """The episode's metrics so far (final once the episode has ended)."""
        return self.sim.metrics()

    def task_graph(self) -> dict[str, np.ndarray]:
        """The current instance's task DAG and static task features (see the module docstring, "Task graph").

        Keys: ``succ_indptr``, ``succ_indices``, ``pred_indptr``, ``pred_indices`` (CSR, int64; ids are topological),
        ``task_group`` (m,) int64 and ``static`` (m, len(TASK_STATIC_FEATURES)) float32. Computed once per instance;
        the arrays are read-only."""
        inst = self.sim.instance
        cached = self._task_graph
        if cached is None or cached[0] is not inst:
            durations = min_task_durations(inst).astype(np.float64)
            rank = durations.copy()
            for task in range(inst.n_tasks - 1, -1, -1):  # ids are topological: successors come later
                succ = inst.successors(task)
                if succ.size:
                    rank[task] += rank[succ].max()
            n_succ = np.diff(inst.succ_indptr).astype(np.float64)
            n_pred = np.diff(inst.pred_indptr).astype(np.float64)
            pairs = inst.task_group.astype(np.int64) * inst.n_classes + inst.task_class
            classmates = np.bincount(pairs, minlength=inst.n_groups * inst.n_classes)[pairs] - 1.0
            columns = (inst.rewards, rank, n_succ, n_pred, durations, classmates)
            static = np.stack([c / max(1e-12, float(c.max())) for c in columns], axis=1).astype(np.float32)
            graph: dict[str, np.ndarray] = {
                "succ_indptr": inst.succ_indptr.astype(np.int64),
                "succ_indices": inst.succ_indices.astype(np.int64),
                "pred_indptr": inst.pred_indptr.astype(np.int64),
                "pred_indices": inst.pred_indices.astype(np.int64),
                "task_group": inst.task_group.astype(np.int64),
                "static": static,
            }
            for array in graph.values():
                array.flags.writeable = False
            cached = self._task_graph = (inst, graph)
        return cached[1]

    def task_features(self, agent: str) -> np.ndarray:
        """(m, len(TASK_DYNAMIC_FEATURES)) float32: every task as ``agent`` sees it now (module docstring, "Task
        graph"). Statuses are those every agent can follow (completions, claims once propagated; a claim in flight is
        not shown), knowledge is the agent's own and explorations are its group's: nothing private to the simulator."""
        sim = self.sim
        inst = sim.instance
        i = self.agent_name_mapping[agent]
        group = int(inst.agent_group[i])
        status = sim.task_status
        ready = status == TaskStatus.READY
        for g in range(inst.n_groups):  # the protocol's candidates: ready tasks as the group's agents see them
            ready[sim.candidates(g)] = True
        done = status == TaskStatus.DONE
        blocked = status == TaskStatus.BLOCKED
        exploring = (status == TaskStatus.RUNNING) & (inst.task_group == group)
        holder_status = sim.agent_status[sim.task_holder[exploring]]
        exploring[exploring] = np.isin(holder_status, (AgentStatus.EXPLORING, AgentStatus.STEERING))
        features = np.stack(
            [
                blocked,
                ready,
                ~(blocked | ready | done),
                done,
                inst.task_group == group,
                sim.knows[i, inst.task_class],
                np.isin(inst.task_class, inst.task_class[exploring]),
            ],
            axis=1,
        )
        return features.astype(np.float32)

    def render(self) -> np.ndarray | str | None:
        """The view of ``render_mode``: ``"rgb_array"`` a frame, ``"ansi"`` the text view; ``"human"`` shows the frame
        in a matplotlib window (or prints the text view where no window can open) and returns None. In ``"human"``
        mode ``reset`` and ``step`` call it themselves."""
        return self._render(caller_depth=1)

    def _render(self, caller_depth: int) -> np.ndarray | str | None:
        """:meth:`render`; ``caller_depth``: the env's frames between the user's line and this one (for warnings)."""
        if self.render_mode is None:
            warnings.warn(
                "render() called without a render_mode; pass render_mode= to the constructor",
                stacklevel=2 + caller_depth,
            )
            return None
        sim = self.sim
        if self._viewer is None:
            from ces_env.render import Viewer  # the viewer is only imported when something is drawn

            self._viewer = Viewer()
        if self.render_mode == "rgb_array":
            return self._viewer.rgb(sim)
        if self.render_mode == "ansi":
            return self._viewer.ansi(sim)
        if self._window is None:
            from ces_env.render import HumanWindow

            self._window = HumanWindow()
        # a window, or the text view printed where none can open (its one warning points at the user's line)
        self._window.show(self._viewer, sim, stacklevel=3 + caller_depth)
        return None

    def close(self) -> None:
        """Close the ``"human"`` window, if one is open."""
        if self._window is not None:
            self._window.close()

    # ------------------------------------------------------------------------------------------------- helpers
    def _check_instance(self, instance: Instance) -> None:
        c = self.config
        for name, have, want in (
            ("n_tasks", instance.n_tasks, c.n_tasks),
            ("n_agents", instance.n_agents, c.n_agents),
            ("n_groups", instance.n_groups, c.n_groups),
        ):
            if have != want:
                raise ValueError(f"reset option 'instance': it has {name}={have} but the env's config has {want}")

    def _arrays(self, rewards: np.ndarray, elapsed: int, invalid: np.ndarray, can_end: bool = True) -> ArrayStep:
        """The current observations and masks of every agent, with the step's rewards and outcome (``can_end=False``:
        reset's answer, which never ends the episode)."""
        sim = self.sim
        obs, masks, slot_tasks = self._builder.build(sim)
        self._masks = masks.copy()  # the env's own copy: callers may write the masks they are given
        terminated = can_end and bool(sim.terminated)
        over = terminated or (can_end and bool(sim.truncated))
        return ArrayStep(
            observations=obs,
            masks=masks,
            slot_tasks=slot_tasks,
            rewards=rewards,
            elapsed_ticks=int(elapsed),
            invalid=invalid,
            terminated=terminated,
            truncated=over and not terminated,
            metrics=sim.metrics() if over else None,
            stats=sim.stats() if over else None,
            truncation_reason=sim.truncation_reason if over else None,
        )

    def _as_dicts(self, result: ArrayStep) -> tuple[dict[AgentID, Observation], dict[AgentID, dict[str, Any]]]:
        """PettingZoo's per-agent dicts over an :class:`ArrayStep` (views of its rows, no copies)."""
        obs, masks, slots = result.observations, result.masks, result.slot_tasks
        groups = self.sim.instance.agent_group.tolist()
        elapsed = result.elapsed_ticks
        observations = {a: {"observation": obs[i], "action_mask": masks[i]} for i, a in enumerate(self.possible_agents)}
        infos = {
            a: {"action_mask": masks[i], "group": groups[i], "candidates": slots[i], "elapsed_ticks": elapsed}
            for i, a in enumerate(self.possible_agents)
        }
        return observations, infos

    def _decode(self, chosen: np.ndarray) -> tuple[dict[int, int], dict[int, int], np.ndarray]:
        """Turn (n,) env actions into simulator decisions; masked-out actions become waits (or raise in strict mode).

        Returns task choices and moves by agent index, and which agents' actions were masked out."""
        masks = self._masks
        if masks is None:
            raise RuntimeError("reset_simulator() gave no observations or masks: call reset() or reset_arrays() first")
        takers, slots, movers, directions, invalid = kernels.decode_actions(
            chosen, masks, self._builder.actions.first_move, NO_ACTION
        )
        if self.config.strict_actions and invalid.any():
            i = int(np.flatnonzero(invalid)[0])
            raise ValueError(
                f"{self.possible_agents[i]}: action {int(chosen[i])} is masked out at tick {self.sim.time} "
                f"(legal actions: {np.flatnonzero(masks[i]).tolist()})"
            )
        task_choices = dict(zip(takers.tolist(), slots.tolist(), strict=True))
        moves = dict(zip(movers.tolist(), directions.tolist(), strict=True))
        return task_choices, moves, invalid

    def _as_action(self, name: str, index: int, raw: Any) -> int:
        """An integer action id; anything else (bool, float, str, array, NaN) is refused, naming agent and legal ids.

        An integer outside the action space (``-1`` included: :data:`NO_ACTION` belongs to :meth:`step_arrays`; a
        ``step`` dict says "no action" with ``None`` or by leaving the agent out) is an illegal action like a masked-out
        one: refused with ``strict_actions=True``, played as a flagged wait otherwise."""
        kind = type(raw)
        if (kind is int or kind is np.int64) and 0 <= raw < self._builder.actions.n_actions:
            return int(raw)  # the usual case, without the ABC checks below (a third of a 10-agent step's own time)
        value = raw
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
            action = int(value)
            n_actions = self._builder.actions.n_actions
            if 0 <= action < n_actions:
                return action
            if self.config.strict_actions:
                raise ValueError(
                    f"{name}: action {action} is not in the action space Discrete({n_actions}) at tick "
                    f"{self.sim.time} (legal actions: {self._legal(index)}; no action is None, not -1)"
                )
            return n_actions  # out of range: decoded as a masked-out action (a wait flagged invalid)
        raise TypeError(
            f"{name}: action {raw!r} ({type(raw).__name__}) is not an integer action id at tick {self.sim.time} "
            f"(legal actions: {self._legal(index)})"
        )

    def _legal(self, index: int) -> list[int]:
        """Agent ``index``'s legal action ids, for error messages only (listing them for every action cost a numpy call
        per agent per step)."""
        return [] if self._masks is None else np.flatnonzero(self._masks[index]).tolist()


def parallel_env(render_mode: RenderMode | None = None, **kwargs: Any) -> CESParallelEnv:
    """The CES environment, PettingZoo parallel API. Keyword arguments: ``preset``, ``config`` or config fields."""
    return CESParallelEnv(render_mode=render_mode, **kwargs)


def env(render_mode: RenderMode | None = None, **kwargs: Any) -> AECEnv[AgentID, Observation, ActionType | None]:
    """The CES environment, PettingZoo AEC API (a conversion of :func:`parallel_env`)."""
    from pettingzoo.utils.conversions import parallel_to_aec

    return parallel_to_aec(parallel_env(render_mode=render_mode, **kwargs))

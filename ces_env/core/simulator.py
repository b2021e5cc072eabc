"""The CES simulator core: state arrays, the event queue and the episode's raw counts.

Time is an integer tick. The core never loops over idle ticks: it keeps a heap of timed events and jumps from one to
the next, stopping whenever some agent must decide (choose a ready task, or a maze move in the steered mode). The
environment (or any other driver) reads the decisions that are pending, answers them with :meth:`CESSimulator.decide`
and calls :meth:`CESSimulator.advance` again.

How a group hands out work and validates it is not written here: it is the control protocol, an object from
:mod:`ces_env.core.protocols` chosen by the config field ``control`` (centralized, decentralized, or any registered
protocol). The simulator calls its hooks and owns what every protocol shares (Algorithm 1 of Karishma & Rao, with
every cost explicit):

* **Start.** Splitting the tasks among groups costs ``split_ticks_per_group * l`` ticks; then every agent is available.
* **Execution.** Exploration randomness comes from one stream per (task, attempt), derived from the episode's
  generator (common random numbers across policies). If the agent knows the solution of the task's inference class
  it replays it (``solution length / speed`` ticks); otherwise it explores the maze (automatic mode: the configured
  explorer counts the moves, the task takes ``ceil(moves / speed)`` ticks; steered mode: the policy chooses each
  move, one move per ``ceil(1/speed)`` ticks).
* **Validation.** When the protocol has validated a submission (:meth:`CESSimulator.conclude_validation`), the path
  is checked with the real validator. A valid solution completes the task, pays its reward to the solver, releases
  dependents (in any group; 1 message per other group notified) and is shared (one message per agent that learns it:
  the group, nobody, or everybody). An invalid one pays nothing and the task goes back to ready.
* **End.** When a group has completed its tasks its agents stop; when all groups have, collecting the results costs
  ``collect_ticks_per_group * l`` ticks. ``ET`` includes both system-level overheads, ``ET_g`` is the completion time of
  group g on the same clock.

Waiting time (TWT) counts every tick an agent of a group does not move in a maze while its group still has unfinished
tasks: idle, queued at the controller, claiming, or awaiting validation. The metrics themselves are computed from this
state by :mod:`ces_env.core.metrics`.

This is the reference simulator. For the two CES controls (and whatever else
:func:`ces_env.core.compiled.unsupported_reason` accepts) episodes run by default on :mod:`ces_env.core.compiled`,
which mirrors this module's dynamics function by function: a change to them here must be made there too
(``tests/core/test_compiled_engine.py`` plays both engines step for step and fails otherwise).
"""

from __future__ import annotations

import heapq
import math
import zlib

import numpy as np

from ces_env.config import CESConfig
from ces_env.core.faults import FaultPlan, corrupt_path, faults_enabled
from ces_env.core.lower_bound import makespan_lower_bound
from ces_env.core.protocols import ControlProtocol, Handler, control_protocol
from ces_env.core.trace import Trace
from ces_env.maze import EXPLORERS, explore_dfs_seeded, neighbour, validate_solution
from ces_env.types import (
    AGENT_EXPLORING,
    AGENT_FINISHED,
    AGENT_IDLE,
    AGENT_QUEUED,
    AGENT_REPLAYING,
    AGENT_STEERING,
    AGENT_VALIDATING,
    TASK_BLOCKED,
    TASK_CLAIMED,
    TASK_DONE,
    TASK_READY,
    TASK_RUNNING,
    TASK_VALIDATING,
    Instance,
)

WAIT = -1
"""A decision value meaning: do nothing now."""


def uint32_words(value: int) -> list[int]:
    """The 32-bit words of a non-negative int, least significant first (``[0]`` for 0): how numpy's ``SeedSequence``
    turns an int of its entropy into words (``numpy.random.bit_generator._int_to_uint32_array``)."""
    if value < 0:
        raise ValueError(f"uint32_words: value must be non-negative, got {value}")
    words = [value & 0xFFFFFFFF]
    value >>= 32
    while value:
        words.append(value & 0xFFFFFFFF)
        value >>= 32
    return words


class CESSimulator:
    """Event-driven simulator of one episode on one instance. See the module docstring for the dynamics.

    The arrays below are public so that the control protocol, the observation builder, the metrics and the viewer can
    read them; only the simulator and its control protocol write them. Their dtypes are part of the interface: the
    compiled observation kernels (:mod:`ces_env.kernels`) are specialised for them, and statuses stay one byte per
    task at 10,000 tasks. Shapes: m tasks, n agents, l groups, c inference classes; ticks are int64, -1 means none.

    =====================================  =======  ======  ===========================================================
    array                                  dtype    shape   meaning
    =====================================  =======  ======  ===========================================================
    ``task_status``                        int8     (m,)    :class:`~ces_env.types.TaskStatus`
    ``remaining_preds``                    int32    (m,)    predecessors not yet completed
    ``task_holder``                        int32    (m,)    agent holding the task (claimed, running, validating)
    ``done_time``, ``exec_start_time``     int64    (m,)    tick of completion; start of the latest execution
    ``completed_by``                       int32    (m,)    agent whose solution was validated
    ``attempts``                           int64    (m,)    explorations started (the exploration stream's index)
    ``agent_status``                       int8     (n,)    :class:`~ces_env.types.AgentStatus`
    ``agent_task``                         int32    (n,)    task the agent holds
    ``job_start``, ``job_end``             int64    (n,)    ticks of the current job
    ``productive_ticks``                   int64    (n,)    ticks spent moving in a maze so far
    ``move_ticks``                         int64    (n,)    ticks per steered move (ceil(1 / speed))
    ``position``, ``steer_moves``          int64    (n,)    steered: current cell, moves made
    ``move_end``                           int64    (n,)    steered: tick the current move ends
    ``down``, ``down_for_good``            bool     (n,)    crashed or quarantined; never coming back
    ``knows``                              bool     (n, c)  solutions the agent knows
    ``reward_buffer``                      float64  (n,)    rewards earned since the driver last collected them
    ``group_size``                         int64    (l,)    agents per group
    ``group_remaining``, ``group_total``   int64    (l,)    tasks left; tasks in all
    ``group_completed``                    int64    (l,)    tasks completed
    ``group_done_time``                    int64    (l,)    tick the group finished
    =====================================  =======  ======  ===========================================================
    """

    def __init__(self, config: CESConfig, instance: Instance, rng: np.random.Generator, trace: bool = False):
        config = config.in_ticks()  # costs given as fractions of an exploration become ticks: protocols see ticks
        self.config = config
        self.instance = instance
        self._explore = EXPLORERS[config.explorer]
        self.steered = config.exploration_mode == "steered"
        m, n, l = instance.n_tasks, instance.n_agents, instance.n_groups

        # --- tasks
        self.task_status = np.full(m, TASK_BLOCKED, dtype=np.int8)
        self.remaining_preds = np.diff(instance.pred_indptr).astype(np.int32)
        self.task_status[self.remaining_preds == 0] = TASK_READY
        self.task_holder = np.full(m, -1, dtype=np.int32)
        # tasks of each group in candidate order: reward descending, then task id ascending
        # (a stable sort of the negated rewards keeps equal rewards in id order, as a lexsort on (reward, id) did)
        order = np.argsort(-instance.rewards, kind="stable")
        order_group = instance.task_group[order]
        self.group_order = [order[order_group == g] for g in range(l)]
        # trace of the episode (read by tests and analyses, never by the dynamics)
        self.done_time = np.full(m, -1, dtype=np.int64)
        self.exec_start_time = np.full(m, -1, dtype=np.int64)  # start of the task's latest execution
        self.completed_by = np.full(m, -1, dtype=np.int32)

        # --- agents
        self.agent_status = np.full(n, AGENT_IDLE, dtype=np.int8)
        self.agent_task = np.full(n, -1, dtype=np.int32)
        self.job_start = np.zeros(n, dtype=np.int64)
        self.job_end = np.zeros(n, dtype=np.int64)
        self.productive_ticks = np.zeros(n, dtype=np.int64)
        self.knows = np.zeros((n, instance.n_classes), dtype=bool)
        self.submitted_path: list[np.ndarray | None] = [None] * n
        self.group_size = np.bincount(instance.agent_group, minlength=l)
        # each group's agents, sorted (knowledge sharing reads them at every completion: computed once, not per event)
        self._group_members = [np.flatnonzero(instance.agent_group == g) for g in range(l)]
        self.move_ticks = np.maximum(1, np.ceil(1.0 / instance.agent_speed - 1e-9)).astype(np.int64)
        # steered exploration state: position, the path from the start (a stack: in a tree, stepping back pops it),
        # visited cells and moves made
        self.position = np.full(n, -1, dtype=np.int64)
        self.steer_path: list[list[int]] = [[] for _ in range(n)]
        self.visited: list[set[int]] = [set() for _ in range(n)]
        self.steer_moves = np.zeros(n, dtype=np.int64)
        self.move_end = np.zeros(n, dtype=np.int64)  # when the current move of a steering agent ends
        self.steering_due: set[int] = set()  # steering agents that must choose a move now
        # waiting by choice: agents whose last decision was "wait", per group, until something changes for them
        self.waiting: list[set[int]] = [set() for _ in range(l)]
        self.must_act: set[int] = set()  # deciders asked again with waiting masked out (nothing else would happen)
        self._changed_groups: set[int] = set()
        self._forced_round = False

        # --- groups
        self.group_remaining = np.bincount(instance.task_group, minlength=l).astype(np.int64)
        self.group_total = self.group_remaining.copy()
        self.group_completed = np.zeros(l, dtype=np.int64)
        self.start_time = config.split_ticks_per_group * l
        if config.partition == "independent":  # finding the independent subsets of tasks (Table 4's extra step)
            self.start_time += config.partition_ticks_per_task * m
        # a group without tasks is done when execution starts (not before: a truncation during the split must not
        # date it in the future, which would put ET_g above ET)
        self.group_done_time = np.full(l, -1, dtype=np.int64)

        # --- counters
        self.time = 0
        self.messages = 0
        self.conflicts = 0
        self.total_reward = 0.0
        self.reward_buffer = np.zeros(n, dtype=np.float64)
        self.tasks_done = 0
        self.explorations = 0  # executions that explored a maze (auto or steered)
        self.replays = 0  # executions that replayed a known solution
        self.rejected_solutions = 0
        self.terminated = False
        self.truncated = False
        self.stalled = False  # truncated because every decider kept waiting with nothing else pending
        self.fault_reason: str | None = None  # truncated by a fault ("crashed", "controller_down", "no_award")
        self.end_time = -1

        protocol = control_protocol(config.control)
        self.lower_bound = makespan_lower_bound(instance, config)
        self.max_ticks = config.max_ticks if config.max_ticks is not None else self._auto_max_ticks(protocol)

        # Explorations draw from a stream per (task, attempt) derived from the episode's generator: two policies on
        # the same seed then face the same exploration cost for the same task (common random numbers), which makes
        # comparisons between policies far less noisy than one shared stream consumed in policy-dependent order.
        self._exploration_seed = int(rng.integers(2**63 - 1))
        self._seed_words = uint32_words(self._exploration_seed)
        # When the dfs explorer's draw is all a stream is used for (no slips to draw), the orders come compiled from
        # the stream's entropy words (explore_dfs_seeded, the same numbers): [*seed words, task, attempt], filled in.
        self._dfs_entropy = (
            np.array([*self._seed_words, 0, 0], dtype=np.uint32)
            if config.explorer == "dfs" and config.solution_error_prob <= 0
            else None
        )
        self.attempts = np.zeros(m, dtype=np.int64)
        # faults (ces_env.core.faults): None when every fault option is off, so fault-free episodes draw nothing more
        self.faults: FaultPlan | None = (
            FaultPlan(config, self._exploration_seed, instance.agent_group) if faults_enabled(config) else None
        )
        self.down = np.zeros(n, dtype=bool)  # crashed (until it recovers) or quarantined: status FINISHED, no work
        self.down_for_good = np.zeros(n, dtype=bool)
        self._crash_at = np.full(n, -1, dtype=np.int64)  # when the current execution crashes (-1: it does not)
        self._arrival_due = np.full(n, -1, dtype=np.int64)  # steered: when the pending move (or stay) ends

        # events: (tick, sequence number, action, argument); the sequence number orders events of one tick by the
        # order they were scheduled, so the episode is deterministic, and keeps the heap from comparing actions
        self._events: list[tuple[int, int, Handler, int]] = []
        self._seq = 0
        self.control: ControlProtocol = protocol(self)
        # what happened, for charts and analyses (ces_env.core.trace); None costs nothing: hooks test for it
        self.trace: Trace | None = Trace(self) if trace else None
        self.schedule(self.start_time, self._start, -1)

    # ------------------------------------------------------------------------------------------------ public driving
    def advance(self) -> None:
        """Process events until some agent must decide, the episode ends, or time passes ``max_ticks``.

        Agents waiting by choice are asked again once something changed in their group (``wait_ticks=None``) or after
        ``wait_ticks``. If nothing at all is pending and only waiting agents could act, they are asked again at once
        with waiting masked out (:attr:`must_act`); if they wait even so, the episode is truncated (:attr:`stalled`).
        """
        # locals for the per-event loop (attribute lookups were a visible share of it); none of them is reassigned
        events, control, trace, pop = self._events, self.control, self.trace, heapq.heappop
        while not (self.terminated or self.truncated):
            if self._changed_groups:
                self._wake_changed_groups()
            if self.steering_due or control.has_deciders():
                return
            if not events:
                self._on_quiescence()
                continue
            next_time = events[0][0]
            if trace is not None:  # changes made by decisions and wake-ups, before time moves on
                trace.record(self.time)
            if next_time > self.max_ticks:
                self.time = self.max_ticks
                self.truncated = True
                return
            self.time = next_time
            self._forced_round = False
            while events and events[0][0] == next_time and not (self.terminated or self.truncated):
                _, _, action, argument = pop(events)
                action(argument)
                if trace is not None:
                    trace.record(next_time)

    @property
    def events_scheduled(self) -> int:
        """Events scheduled so far in the episode (a measure of the simulation's work)."""
        return self._seq

    def task_deciders(self) -> np.ndarray:
        """Agents that must choose a task (or wait) now, sorted by id."""
        return np.array(self.control.task_deciders(), dtype=np.int64)

    def move_deciders(self) -> np.ndarray:
        """Agents that must choose a maze move now (steered mode), sorted by id."""
        if not self.steering_due:  # the usual case outside the steered mode: no sort, no list
            return np.zeros(0, dtype=np.int64)
        return np.array(sorted(self.steering_due), dtype=np.int64)

    def candidates(self, group: int) -> np.ndarray:
        """Task ids the deciders of ``group`` choose among now, in slot order (the control protocol's view)."""
        return self.control.candidates(group)

    def decide(self, task_choices: dict[int, int], moves: dict[int, int] | None = None) -> None:
        """Apply decisions taken at the current tick.

        ``task_choices`` maps a deciding agent to an index into :meth:`candidates` of its group, or :data:`WAIT`.
        ``moves`` maps a steering agent to a direction (``ces_env.maze.NORTH`` ...) or :data:`WAIT`; a move into a
        wall is a wait. Agents not listed keep waiting: a task decider that gives no answer waits ``wait_ticks``.
        Conflicting choices made at the same tick are applied in agent-id order.
        """
        candidate_cache: dict[int, np.ndarray] = {}
        self.must_act.clear()
        for agent in self.control.task_deciders():
            group = int(self.instance.agent_group[agent])
            if group not in candidate_cache:
                candidate_cache[group] = self.candidates(group)
            choice = task_choices.get(agent, WAIT)
            cands = candidate_cache[group]
            if choice == WAIT or not 0 <= choice < len(cands):
                self._choose_wait(agent)
            else:
                self.agent_task[agent] = int(cands[choice])
                self.control.choose(agent, int(cands[choice]))
        for agent in sorted(self.steering_due):  # the move deciders, by id
            self.steering_due.discard(agent)
            self._move(agent, WAIT if moves is None else moves.get(agent, WAIT))

    def step(self, task_choices: dict[int, int], moves: dict[int, int] | None = None) -> None:
        """:meth:`decide` then :meth:`advance` (what a driver does at every step; one call lets an engine fuse them)."""
        self.decide(task_choices, moves)
        self.advance()

    def job_progress(self) -> np.ndarray:
        """(n,) fraction of the current exploration or replay done (0 for other agents; steering has no known end)."""
        progress = np.zeros(self.instance.n_agents, dtype=np.float64)
        working = (self.agent_status == AGENT_EXPLORING) | (self.agent_status == AGENT_REPLAYING)
        span = np.maximum(1, self.job_end[working] - self.job_start[working])
        progress[working] = np.clip((self.time - self.job_start[working]) / span, 0.0, 1.0)
        return progress

    def pop_rewards(self) -> np.ndarray:
        """(n,) rewards earned since the last call (reward-first: paid to the solver at validation)."""
        rewards = self.reward_buffer.copy()
        self.reward_buffer[:] = 0.0
        return rewards

    def metrics(self) -> dict:
        """The project's metrics (see :func:`ces_env.core.metrics.episode_metrics`)."""
        from ces_env.core.metrics import episode_metrics

        return episode_metrics(self)

    def stats(self) -> dict:
        """Counts that explain the metrics (see :func:`ces_env.core.metrics.episode_stats`)."""
        from ces_env.core.metrics import episode_stats

        return episode_stats(self)

    # ------------------------------------------------------------------------------------------------ protocol API
    # What a control protocol calls (see ces_env.core.protocols): time, counters, and the steps of an agent's cycle.
    def schedule(self, time: int, action: Handler, argument: int) -> None:
        """Call ``action(argument)`` at tick ``time`` (events of one tick run in the order they were scheduled)."""
        heapq.heappush(self._events, (int(time), self._seq, action, argument))
        self._seq += 1

    def random_stream(self, purpose: str, *key: int) -> np.random.Generator:
        """A generator for a protocol's (or a fault model's) own draws, derived from the episode's seed.

        The same seed, purpose and key give the same stream in any process, whatever the policy does; different
        purposes give independent streams, and none of them consumes the exploration streams or any global state.
        """
        tag = 2**32 + zlib.crc32(purpose.encode())  # above every task id, so it never equals an exploration stream
        return np.random.default_rng((self._exploration_seed, tag, *key))

    def add_messages(self, count: int) -> None:
        """Count ``count`` messages sent."""
        self.messages += count

    def add_conflict(self) -> None:
        """Count one claim that lost to an earlier claim on the same task."""
        self.conflicts += 1

    def reserve(self, task: int, agent: int) -> None:
        """Hold ``task`` for ``agent``: it leaves the ready tasks until it is done or rejected."""
        self.task_status[task] = TASK_CLAIMED
        self.task_holder[task] = agent

    def make_available(self, agent: int) -> None:
        """``agent`` has no task: finished if its group is done, else handed to the control protocol."""
        group = int(self.instance.agent_group[agent])
        self.agent_task[agent] = -1
        if self.group_remaining[group] == 0:
            self.agent_status[agent] = AGENT_FINISHED
            return
        self._changed_groups.add(group)  # a groupmate is free: agents waiting for a change are asked again
        self.control.agent_available(agent)

    def release_tasks(self, group: int) -> None:
        """Some task of ``group`` became ready: tell the protocol, and wake the group's waiting agents."""
        self._changed_groups.add(group)
        self.control.tasks_ready(group)

    def start_execution(self, agent: int, task: int) -> None:
        """``agent`` starts executing ``task``: replay a known solution, or explore the task's maze."""
        inst = self.instance
        cls = int(inst.task_class[task])
        maze = inst.mazes[cls]
        speed = inst.agent_speed[agent]
        self.task_status[task] = TASK_RUNNING
        self.task_holder[task] = agent
        self._changed_groups.add(int(inst.agent_group[agent]))  # a claim or an assignment resolved
        self.exec_start_time[task] = self.time
        self.job_start[agent] = self.time
        if self.knows[agent, cls]:
            self.replays += 1
            duration = max(1, math.ceil(maze.solution_length / speed - 1e-9))
            self.agent_status[agent] = AGENT_REPLAYING
            self.submitted_path[agent] = maze.solution
        elif self.steered:
            self.explorations += 1
            self.agent_status[agent] = AGENT_STEERING
            self.position[agent] = maze.start
            self.steer_path[agent] = [maze.start]
            self.visited[agent] = {maze.start}
            self.steer_moves[agent] = 0
            self.steering_due.add(agent)
            if self.faults is not None:
                self._arm_crash(agent, None)
            return
        else:
            self.explorations += 1
            entropy = self._dfs_entropy
            if entropy is not None and task < 2**32 and self.attempts[task] < 2**32:
                entropy[-2] = task
                entropy[-1] = self.attempts[task]
                self.attempts[task] += 1
                exploration = explore_dfs_seeded(maze, entropy)
                path = exploration.path
            else:
                stream = self._exploration_stream(task)
                self.attempts[task] += 1
                exploration = self._explore(maze, stream)
                path = self._maybe_corrupt(exploration.path, stream)
            duration = max(1, math.ceil(exploration.moves / speed - 1e-9))
            self.agent_status[agent] = AGENT_EXPLORING
            self.submitted_path[agent] = path
        self.job_end[agent] = self.time + duration
        self.schedule(self.time + duration, self._finish_work, agent)
        if self.faults is not None:
            self._arm_crash(agent, duration)

    def _exploration_stream(self, task: int) -> np.random.Generator:
        """The stream of ``task``'s current attempt: ``default_rng((exploration seed, task, attempt))``, built from the
        entropy words that numpy's ``SeedSequence`` makes of that tuple (the seed's words, then one word each for task
        and attempt): the same stream at about half the cost of coercing the tuple at every exploration."""
        attempt = int(self.attempts[task])
        if task >= 2**32 or attempt >= 2**32:  # more than one word each: let numpy coerce the tuple
            return np.random.default_rng((self._exploration_seed, task, attempt))
        return np.random.default_rng(np.array([*self._seed_words, task, attempt], dtype=np.uint32))

    def conclude_validation(self, agent: int) -> None:
        """The protocol has validated ``agent``'s submission: check the path, complete or reject, free the agent."""
        inst = self.instance
        task = int(self.agent_task[agent])
        cls = int(inst.task_class[task])
        group = int(inst.task_group[task])
        path = self.submitted_path[agent]
        self.submitted_path[agent] = None
        if path is not None and validate_solution(inst.mazes[cls], path):
            self._complete(agent, task, cls, group)
        else:
            self.rejected_solutions += 1
            self.task_status[task] = TASK_READY
            self.task_holder[task] = -1
            self.release_tasks(group)
            if self.faults is not None and self.faults.byzantine[agent]:
                # a false solution: the group quarantines its author, so another agent redoes the task
                self.faults.counts["rejected_false_solutions"] += 1
                self.faults.counts["quarantined"] += 1
                self.agent_task[agent] = -1
                self._take_down(agent, for_good=True)
                return
        self.make_available(agent)

    @property
    def truncation_reason(self) -> str | None:
        """Why the episode was truncated: ``"max_ticks"``, ``"stalled"`` (every decider kept waiting), a fault
        (``"crashed"``: a group's agents are all down for good; ``"controller_down"``: a controller is down for good
        and nothing else can happen; ``"no_award"``: a negotiation mechanism awards nothing and nothing else can
        happen, e.g. a market whose asks misreporting agents put above every limit); None if it was not truncated."""
        if self.terminated or not self.truncated:
            return None
        return self.fault_reason or ("stalled" if self.stalled else "max_ticks")

    # ------------------------------------------------------------------------------------------------ events
    def _start(self, _: int) -> None:
        self.group_done_time[self.group_remaining == 0] = self.time
        for agent in range(self.instance.n_agents):
            self.make_available(agent)

    def _choose_wait(self, agent: int) -> None:
        self.control.decline(agent)
        group = int(self.instance.agent_group[agent])
        self.waiting[group].add(agent)
        if self.config.wait_ticks is not None:
            self.schedule(self.time + self.config.wait_ticks, self._resume, agent)

    def _resume(self, agent: int) -> None:
        """A fixed wait (``wait_ticks``) is over: the agent is asked again, unless its group finished meanwhile."""
        group = int(self.instance.agent_group[agent])
        if agent in self.waiting[group]:
            self.waiting[group].discard(agent)
            self.control.resume(agent)

    def _wake_changed_groups(self) -> None:
        """Ask again the agents waiting for a change in a group where something changed (``wait_ticks=None``)."""
        if not self._changed_groups:
            return
        changed, self._changed_groups = sorted(self._changed_groups), set()
        if self.config.wait_ticks is not None:
            return
        for group in changed:
            waiting, self.waiting[group] = self.waiting[group], set()
            for agent in sorted(waiting):
                self.control.resume(agent)

    def _on_quiescence(self) -> None:
        """No event is pending and nobody decides: only agents waiting by choice can move the episode on."""
        reason = self.control.blocked_reason()
        if reason is not None:  # a fault blocks some group for good: the episode cannot complete
            self.truncated, self.fault_reason = True, reason
            return
        waiting = sorted(a for group in self.waiting for a in group)
        if not waiting:  # cannot happen with a consistent state; fail loudly rather than spin
            raise RuntimeError(f"CES simulator stalled at tick {self.time}: no event pending and nobody deciding")
        if self._forced_round:  # they were asked with waiting masked out and still waited
            self.truncated = self.stalled = True
            return
        self._forced_round = True
        for group in self.waiting:
            group.clear()
        self.must_act.update(waiting)
        for agent in waiting:
            self.control.resume(agent)

    def _maybe_corrupt(self, path: np.ndarray, stream: np.random.Generator) -> np.ndarray:
        """With probability ``solution_error_prob``, an explorer's slip: one cell of the path is dropped (a jump)."""
        if self.config.solution_error_prob <= 0 or stream.random() >= self.config.solution_error_prob:
            return path
        if len(path) <= 2:  # no interior cell to drop: the walk stops one cell short
            return path[:1].copy()
        drop = int(stream.integers(1, len(path) - 1))
        return np.delete(path, drop)

    def _move(self, agent: int, direction: int) -> None:
        """Steered mode: the agent starts one move (or stays a tick); it arrives ``move_ticks`` later."""
        task = int(self.agent_task[agent])
        maze = self.instance.mazes[int(self.instance.task_class[task])]
        here = int(self.position[agent])
        target = neighbour(maze, here, direction) if direction != WAIT else -1
        if target < 0:
            self._arrival_due[agent] = self.time + 1
            self.schedule(self.time + 1, self._arrive, agent)
            return
        path = self.steer_path[agent]
        if len(path) >= 2 and path[-2] == target:
            path.pop()  # stepping back towards the start: in a perfect maze this is the only way to revisit
        else:
            path.append(target)
        self.position[agent] = target
        self.visited[agent].add(target)
        self.steer_moves[agent] += 1
        self.productive_ticks[agent] += int(self.move_ticks[agent])  # only ticks spent moving count as work
        self.move_end[agent] = self.time + int(self.move_ticks[agent])
        self._arrival_due[agent] = self.move_end[agent]
        self.schedule(int(self.move_end[agent]), self._arrive, agent)

    def _arrive(self, agent: int) -> None:
        if self._arrival_due[agent] != self.time:  # the move of an execution that crashed
            return
        self._arrival_due[agent] = -1
        task = int(self.agent_task[agent])
        maze = self.instance.mazes[int(self.instance.task_class[task])]
        if self.position[agent] == maze.target:
            self.submitted_path[agent] = np.asarray(self.steer_path[agent], dtype=np.int32)
            self._submit(agent)
        else:
            self.steering_due.add(agent)

    def _finish_work(self, agent: int) -> None:
        working = self.agent_status[agent] in (AGENT_EXPLORING, AGENT_REPLAYING)
        if not working or self.job_end[agent] != self.time:  # the end of an execution that crashed
            return
        self.productive_ticks[agent] += self.time - self.job_start[agent]
        self._submit(agent)

    def _submit(self, agent: int) -> None:
        if self.faults is not None:
            self._crash_at[agent] = -1
            path = self.submitted_path[agent]
            if self.faults.byzantine[agent] and path is not None:
                self.submitted_path[agent] = corrupt_path(path)
        self.task_status[int(self.agent_task[agent])] = TASK_VALIDATING
        self.agent_status[agent] = AGENT_VALIDATING
        self.control.submit(agent)

    def _complete(self, agent: int, task: int, cls: int, group: int) -> None:
        inst = self.instance
        self.task_status[task] = TASK_DONE
        self.done_time[task] = self.time
        self.completed_by[task] = agent
        reward = float(inst.rewards[task])
        self.reward_buffer[agent] += reward
        self.total_reward += reward
        self.tasks_done += 1
        self.group_remaining[group] -= 1
        self.group_completed[group] += 1
        self._share_knowledge(agent, cls)

        released_groups: set[int] = set()
        for succ in inst.successors(task).tolist():
            self.remaining_preds[succ] -= 1
            if self.remaining_preds[succ] == 0:
                self.task_status[succ] = TASK_READY
                released_groups.add(int(inst.task_group[succ]))
        self.messages += len(released_groups - {group})  # system-level notice to other groups
        for g in sorted(released_groups):
            self.release_tasks(g)

        if self.group_remaining[group] == 0:
            self._finish_group(group)
        if self.tasks_done == inst.n_tasks:
            self.terminated = True
            self.end_time = self.time + self.config.collect_ticks_per_group * inst.n_groups
            self.time = self.end_time

    def _share_knowledge(self, agent: int, cls: int) -> None:
        mode = self.config.knowledge_sharing
        if mode == "none":
            learners = np.array([agent])
        elif mode == "group":
            learners = self._group_members[int(self.instance.agent_group[agent])]
        else:
            learners = np.arange(self.instance.n_agents)
        self.messages += len(learners) - 1  # the solution is sent to every learner but the solver
        share = self.config.share_ticks_per_recipient
        if share <= 0:
            self.knows[learners, cls] = True
            return
        # sent one recipient after the other (by id): recipient k learns it k * share ticks later
        self.knows[agent, cls] = True
        recipients = [int(a) for a in learners if a != agent]
        n_classes = self.instance.n_classes
        for k, recipient in enumerate(recipients, start=1):
            self.schedule(self.time + k * share, self._learn, recipient * n_classes + cls)
        self.control.knowledge_shared(int(self.instance.agent_group[agent]), agent, len(recipients) * share)

    def _learn(self, recipient_class: int) -> None:
        """A shared solution reaches its recipient (the event's argument is ``recipient * n_classes + class``)."""
        recipient, cls = divmod(recipient_class, self.instance.n_classes)
        self.knows[recipient, cls] = True

    def _finish_group(self, group: int) -> None:
        self.group_done_time[group] = self.time
        self.waiting[group].clear()
        self.control.group_finished(group)
        for agent in self.instance.group_agents(group).tolist():
            if self.agent_status[agent] in (AGENT_IDLE, AGENT_QUEUED):
                self.agent_status[agent] = AGENT_FINISHED

    # ------------------------------------------------------------------------------------------------ faults
    def _arm_crash(self, agent: int, duration: int | None) -> None:
        """Draw when the execution ``agent`` starts now crashes (``duration`` None: steered, no known end)."""
        assert self.faults is not None
        delay = self.faults.crash_delay(agent)
        if delay is None or (duration is not None and delay >= duration):
            self._crash_at[agent] = -1
            return
        self._crash_at[agent] = self.time + delay
        self.schedule(self.time + delay, self._crash, agent)

    def _crash(self, agent: int) -> None:
        """``agent`` crashes mid-execution: its task goes back to ready, the work done on it is lost."""
        executing = (AGENT_EXPLORING, AGENT_REPLAYING, AGENT_STEERING)
        if self._crash_at[agent] != self.time or self.agent_status[agent] not in executing:
            return  # the execution ended before (a stale draw)
        assert self.faults is not None
        self._crash_at[agent] = -1
        task, group = int(self.agent_task[agent]), int(self.instance.agent_group[agent])
        lost = int(self.time - self.job_start[agent])
        if self.agent_status[agent] == AGENT_STEERING:
            self.productive_ticks[agent] -= max(0, int(self.move_end[agent]) - self.time)  # the move never ends
            self.steering_due.discard(agent)
            self._arrival_due[agent] = -1
        else:
            self.productive_ticks[agent] += lost  # it did move in the maze until the crash
        self.job_end[agent] = self.time
        self.faults.counts["crashes"] += 1
        self.faults.counts["lost_work_ticks"] += lost
        self.agent_task[agent] = -1
        self.submitted_path[agent] = None
        recovery = self.config.crash_recovery_ticks
        self._take_down(agent, for_good=recovery is None)
        self.task_status[task] = TASK_READY
        self.task_holder[task] = -1
        self.release_tasks(group)
        if recovery is not None:
            self.schedule(self.time + recovery, self._recover, agent)

    def _take_down(self, agent: int, *, for_good: bool) -> None:
        """``agent`` leaves the workforce (crashed or quarantined): the protocol forgets it; a group left with nobody
        for good and tasks to do truncates the episode."""
        group = int(self.instance.agent_group[agent])
        self.agent_status[agent] = AGENT_FINISHED
        self.down[agent] = True
        self.down_for_good[agent] = for_good
        self.control.agent_crashed(agent)
        members = self.instance.group_agents(group)
        if for_good and self.group_remaining[group] > 0 and self.down_for_good[members].all():
            self.truncated, self.fault_reason = True, "crashed"

    def _recover(self, agent: int) -> None:
        assert self.faults is not None
        self.down[agent] = False
        self.faults.counts["recoveries"] += 1
        self.make_available(agent)

    # ------------------------------------------------------------------------------------------------ limits
    def _auto_max_ticks(self, protocol: type[ControlProtocol]) -> int:
        """Twice what one slowest agent needs to do every task alone, each with a worst-case exploration.

        Depth-first and wall-following explorations make at most 2(cells-1) moves. A random walk (the random_walk
        explorer, or a steering policy that moves at random) has no worst case; its expected hitting time on a tree
        is at most 2(cells-1) x (solution length), and the cap allows eight times that per task (summed over all
        tasks, so an episode that hits it is far out in the tail)."""
        c, inst = self.config, self.instance
        cells = max(m.n_cells for m in inst.mazes)
        moves = 2 * cells
        if c.explorer == "random_walk" or self.steered:  # a steering policy may walk at random too
            moves = 8 * 2 * cells * max(m.solution_length for m in inst.mazes)
        worst_explore = math.ceil(moves / inst.agent_speed.min())
        per_task = worst_explore + protocol.max_task_overhead(c) + (c.wait_ticks or 0)
        overhead = (c.split_ticks_per_group + c.collect_ticks_per_group) * inst.n_groups
        overhead += c.partition_ticks_per_task * inst.n_tasks
        per_task += c.share_ticks_per_recipient * inst.n_agents  # sharing a solution, at a server or not
        if 0 < c.solution_error_prob < 1:
            # a rejected solution is redone: allow the attempts that every task needs but with probability 1e-6
            # (k with m * p^k <= 1e-6); with "twice" alone, one task rejected three times in a row (p=0.3: 2.7%)
            # was truncated
            p = c.solution_error_prob
            per_task *= min(1000, max(1, math.ceil(math.log(1e-6 / inst.n_tasks) / math.log(p))))
        if c.crash_rate > 0:  # expected restarts of a worst-case execution, each losing it and a recovery
            survive = (1.0 - c.crash_rate) ** worst_explore
            restarts = min(1e9, 1.0 / survive - 1.0) if survive > 0 else 1e9
            per_task += restarts * (worst_explore + per_task + (c.crash_recovery_ticks or 0))
        if c.controller_outage_start is not None:  # a finite outage delays everything at most by its length
            lengths = [c.controller_outage_ticks]
            if c.election_timeout_ticks is not None:
                lengths.append(c.election_timeout_ticks + c.election_ticks)
            overhead += c.controller_outage_start + min((t for t in lengths if t is not None), default=0)
        from ces_env.config import TIME_LIMIT

        return int(min(TIME_LIMIT, 2 * (overhead + inst.n_tasks * per_task)))

"""The CES simulator core: state arrays, the event queue, the group control protocols and the metrics' raw counts.

Time is an integer tick. The core never loops over idle ticks: it keeps a heap of timed events and jumps from one to
the next, stopping whenever some agent must decide (choose a ready task, or a maze move in the steered mode). The
environment (or any other driver) reads the decisions that are pending, answers them with :meth:`CESSimulator.decide`
and calls :meth:`CESSimulator.advance` again.

Dynamics (Algorithm 1 of Karishma & Rao, with every protocol cost explicit):

* **Start.** Splitting the tasks among groups costs ``split_ticks_per_group * l`` ticks; then every agent is available.
* **Centralized control.** Each group has one controller, a FIFO single server. An available agent sends a request
  (1 message) that joins the queue. When the request reaches the head, the controller decides (the policy plays the
  controller: it picks one of the group's ready tasks, reward-first for the scripted CES policy) and spends
  ``assign_service_ticks`` on the assignment (1 message back); then the agent executes. A finished agent submits its
  solution (1 message), which joins the same queue and costs ``validate_service_ticks``; the result goes back
  (1 message). If no task is ready, the controller parks the request and serves it again when a task of the group
  becomes ready. Requests and validations wait behind each other: that queue is the bottleneck of many agents.
* **Decentralized control.** An available agent picks a ready task of its group itself and broadcasts a claim to its
  ``s-1`` peers (``s-1`` messages). The claim takes ``claim_latency_ticks`` to reach everybody: until then the task
  still looks ready to the others, and a second claim on it conflicts. The earliest claim wins (ties: the lower agent
  id); the loser has lost the latency and decides again. Validation is peer to peer: the solution goes to the peers
  and their verdicts come back (``2(s-1)`` messages), taking ``peer_validate_ticks``.
* **Execution.** Exploration randomness comes from one stream per (task, attempt), derived from the episode's
  generator (common random numbers across policies). If the agent knows the solution of the task's inference class
  it replays it (``solution length / speed`` ticks); otherwise it explores the maze (automatic mode: the configured
  explorer counts the moves, the task takes ``ceil(moves / speed)`` ticks; steered mode: the policy chooses each
  move, one move per ``ceil(1/speed)`` ticks).
* **Validation.** The submitted path is checked with the real validator. A valid solution completes the task, pays its
  reward to the solver, releases dependents (in any group; 1 message per other group notified) and is shared (one
  message per agent that learns it: the group, nobody, or everybody). An invalid one pays nothing and the task goes
  back to ready.
* **End.** When a group has completed its tasks its agents stop; when all groups have, collecting the results costs
  ``collect_ticks_per_group * l`` ticks. ``ET`` includes both system-level overheads, ``ET_g`` is the completion time of
  group g on the same clock.

Waiting time (TWT) counts every tick an agent of a group does not move in a maze while its group still has unfinished
tasks: idle, queued at the controller, claiming, or awaiting validation.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

import numpy as np

from ces_env.config import CESConfig
from ces_env.core.lower_bound import makespan_lower_bound
from ces_env.maze import EXPLORERS, neighbour, validate_solution
from ces_env.types import AgentStatus, Instance, TaskStatus

# event kinds (ordering within a tick is by insertion sequence, so the episode is deterministic)
_START, _WORK_DONE, _CLAIM_RESOLVED, _PEER_VALIDATED, _CONTROLLER_DONE, _WAKE, _MOVE_DONE = range(7)
# controller jobs
_ASSIGN, _VALIDATE = 0, 1

WAIT = -1
"""A decision value meaning: do nothing now."""

METRIC_KEYS = (
    "ET",
    "ET_g",
    "TWT",
    "TWT_g",
    "lambda_g",
    "mu_g",
    "total_reward",
    "messages",
    "conflicts",
    "controller_utilization",
    "fairness_jain",
    "lower_bound",
    "makespan_ratio",
)


class CESSimulator:
    """Event-driven simulator of one episode on one instance. See the module docstring for the dynamics."""

    def __init__(self, config: CESConfig, instance: Instance, rng: np.random.Generator):
        self.config = config
        self.instance = instance
        self._explore = EXPLORERS[config.explorer]
        self.centralized = config.control == "centralized"
        self.steered = config.exploration_mode == "steered"
        m, n, l = instance.n_tasks, instance.n_agents, instance.n_groups

        # --- tasks
        self.task_status = np.full(m, TaskStatus.BLOCKED, dtype=np.int8)
        self.remaining_preds = np.diff(instance.pred_indptr).astype(np.int32)
        self.task_status[self.remaining_preds == 0] = TaskStatus.READY
        self.task_holder = np.full(m, -1, dtype=np.int32)
        self.claim_time = np.full(m, -1, dtype=np.int64)
        self.done_time = np.full(m, -1, dtype=np.int64)
        self.exec_start_time = np.full(m, -1, dtype=np.int64)  # start of the task's latest execution
        self.completed_by = np.full(m, -1, dtype=np.int32)
        # tasks of each group in candidate order: reward descending, then task id ascending
        order = np.lexsort((np.arange(m), -instance.rewards))
        self.group_order = [order[instance.task_group[order] == g] for g in range(l)]

        # --- agents
        self.agent_status = np.full(n, AgentStatus.IDLE, dtype=np.int8)
        self.agent_task = np.full(n, -1, dtype=np.int32)
        self.job_start = np.zeros(n, dtype=np.int64)
        self.job_end = np.zeros(n, dtype=np.int64)
        self.productive_ticks = np.zeros(n, dtype=np.int64)
        self.knows = np.zeros((n, instance.n_classes), dtype=bool)
        self.claim_lost = np.zeros(n, dtype=bool)
        self.submitted_path: list[np.ndarray | None] = [None] * n
        self.group_size = np.bincount(instance.agent_group, minlength=l)
        self.move_ticks = np.maximum(1, np.ceil(1.0 / instance.agent_speed - 1e-9)).astype(np.int64)
        # steered exploration state: position, the path from the start (a stack: in a tree, stepping back pops it),
        # visited cells and moves made
        self.position = np.full(n, -1, dtype=np.int64)
        self.steer_path: list[list[int]] = [[] for _ in range(n)]
        self.visited: list[set[int]] = [set() for _ in range(n)]
        self.steer_moves = np.zeros(n, dtype=np.int64)
        self.move_end = np.zeros(n, dtype=np.int64)  # when the current move of a steering agent ends

        # --- groups and controllers
        self.group_remaining = np.bincount(instance.task_group, minlength=l).astype(np.int64)
        self.group_total = self.group_remaining.copy()
        self.group_completed = np.zeros(l, dtype=np.int64)
        self.start_time = config.split_ticks_per_group * l
        self.group_done_time = np.where(self.group_remaining == 0, self.start_time, -1).astype(np.int64)
        self.ctrl_queue: list[deque] = [deque() for _ in range(l)]
        self.ctrl_job: list[tuple[int, int] | None] = [None] * l
        self.ctrl_deciding = np.full(l, -1, dtype=np.int32)
        self.ctrl_busy_ticks = np.zeros(l, dtype=np.int64)  # completed service time
        self.ctrl_job_start = np.zeros(l, dtype=np.int64)
        self.parked: list[list[int]] = [[] for _ in range(l)]

        # --- decisions pending at the current time
        self.deciding: set[int] = set()
        self.steering_due: set[int] = set()

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
        self.end_time = -1
        self.lower_bound = makespan_lower_bound(instance, config)
        self.max_ticks = config.max_ticks if config.max_ticks is not None else self._auto_max_ticks()

        # Explorations draw from a stream per (task, attempt) derived from the episode's generator: two policies on
        # the same seed then face the same exploration cost for the same task (common random numbers), which makes
        # comparisons between policies far less noisy than one shared stream consumed in policy-dependent order.
        self._exploration_seed = int(rng.integers(2**63 - 1))
        self.attempts = np.zeros(m, dtype=np.int64)

        self._events: list[tuple[int, int, int, int]] = []
        self._seq = 0
        self._push(self.start_time, _START, -1)

    # ------------------------------------------------------------------------------------------------ public driving
    def advance(self) -> None:
        """Process events until some agent must decide, the episode ends, or time passes ``max_ticks``."""
        while not (self.terminated or self.truncated):
            if self.deciding or self.steering_due or self._ctrl_decisions_pending():
                return
            if not self._events:  # cannot happen with a consistent state; fail loudly rather than spin
                raise RuntimeError(f"CES simulator stalled at tick {self.time}: no event pending and nobody deciding")
            next_time = self._events[0][0]
            if next_time > self.max_ticks:
                self.time = self.max_ticks
                self.truncated = True
                return
            self.time = next_time
            while self._events and self._events[0][0] == next_time and not self.terminated:
                _, _, kind, who = heapq.heappop(self._events)
                self._handle(kind, who)

    def task_deciders(self) -> np.ndarray:
        """Agents that must choose a task (or wait) now, sorted by id."""
        agents = set(self.deciding)
        agents.update(int(a) for a in self.ctrl_deciding if a >= 0)
        return np.array(sorted(agents), dtype=np.int64)

    def move_deciders(self) -> np.ndarray:
        """Agents that must choose a maze move now (steered mode), sorted by id."""
        return np.array(sorted(self.steering_due), dtype=np.int64)

    def candidates(self, group: int) -> np.ndarray:
        """Ready tasks of ``group`` as its agents see them now, reward descending then id ascending.

        Decentralized agents cannot see a claim before the claim latency has passed, so a task claimed less than
        ``claim_latency_ticks`` ago still looks ready (and claiming it conflicts).
        """
        order = self.group_order[group]
        status = self.task_status[order]
        visible = status == TaskStatus.READY
        if not self.centralized:
            in_flight = (status == TaskStatus.CLAIMED) & (
                self.claim_time[order] + self.config.claim_latency_ticks > self.time
            )
            visible |= in_flight
        return order[visible]

    def decide(self, task_choices: dict[int, int], moves: dict[int, int] | None = None) -> None:
        """Apply decisions taken at the current tick.

        ``task_choices`` maps a deciding agent to an index into :meth:`candidates` of its group, or :data:`WAIT`.
        ``moves`` maps a steering agent to a direction (``ces_env.maze.NORTH`` ...) or :data:`WAIT`; a move into a
        wall is a wait. Agents not listed keep waiting: a task decider that gives no answer waits ``wait_ticks``.
        Conflicting choices made at the same tick are applied in agent-id order.
        """
        deciders = self.task_deciders()
        candidate_cache: dict[int, np.ndarray] = {}
        for agent in deciders.tolist():
            group = int(self.instance.agent_group[agent])
            if group not in candidate_cache:
                candidate_cache[group] = self.candidates(group)
            choice = task_choices.get(agent, WAIT)
            cands = candidate_cache[group]
            if choice == WAIT or not 0 <= choice < len(cands):
                self._choose_wait(agent)
            else:
                self._choose_task(agent, int(cands[choice]))
        for agent in self.move_deciders().tolist():
            self.steering_due.discard(agent)
            self._move(agent, WAIT if moves is None else moves.get(agent, WAIT))

    def job_progress(self) -> np.ndarray:
        """(n,) fraction of the current exploration or replay done (0 for other agents; steering has no known end)."""
        progress = np.zeros(self.instance.n_agents, dtype=np.float64)
        working = np.isin(self.agent_status, (AgentStatus.EXPLORING, AgentStatus.REPLAYING))
        span = np.maximum(1, self.job_end[working] - self.job_start[working])
        progress[working] = np.clip((self.time - self.job_start[working]) / span, 0.0, 1.0)
        return progress

    def pop_rewards(self) -> np.ndarray:
        """(n,) rewards earned since the last call (reward-first: paid to the solver at validation)."""
        rewards = self.reward_buffer.copy()
        self.reward_buffer[:] = 0.0
        return rewards

    # ------------------------------------------------------------------------------------------------ metrics
    def metrics(self) -> dict:
        """The project's metrics, with exactly the keys :data:`METRIC_KEYS`.

        Before the end (or after a truncation) times and counts are as of now: unfinished groups count up to now,
        work and controller service in progress count their elapsed part, and ``makespan_ratio`` uses
        ``max(elapsed, lower_bound)``, a lower estimate of the unknown final ratio (so it stays >= 1).
        """
        inst = self.instance
        now = self.time
        group_end = np.where(self.group_done_time >= 0, self.group_done_time, now)
        productive = self.productive_ticks.astype(np.float64).copy()
        working = np.isin(self.agent_status, (AgentStatus.EXPLORING, AgentStatus.REPLAYING))
        productive[working] += now - self.job_start[working]  # the elapsed part of work in progress
        steering = self.agent_status == AgentStatus.STEERING
        productive[steering] -= np.maximum(0, self.move_end[steering] - now)  # a move counts only as far as it got
        elapsed = np.maximum(0, group_end - self.start_time)
        twt_g = [
            float(self.group_size[g] * elapsed[g] - productive[inst.agent_group == g].sum())
            for g in range(inst.n_groups)
        ]
        et = int(self.end_time) if self.terminated else int(now)
        makespan = max(1, int(group_end.max()) - self.start_time)
        if not self.terminated:
            makespan = max(makespan, self.lower_bound)
        if self.centralized:
            busy = self.ctrl_busy_ticks.astype(np.float64)
            serving = np.array([job is not None for job in self.ctrl_job])
            busy[serving] += now - self.ctrl_job_start[serving]  # service in progress, up to now
            utilization = float(np.mean(busy / np.maximum(1, elapsed)))
        else:
            utilization = 0.0
        work = productive
        jain = float(work.sum() ** 2 / (len(work) * np.square(work).sum())) if work.any() else 1.0
        return {
            "ET": et,
            "ET_g": [int(t) for t in group_end],
            "TWT": float(sum(twt_g)),
            "TWT_g": twt_g,
            "lambda_g": [int(v) for v in self.group_total],
            "mu_g": [int(v) for v in self.group_completed],
            "total_reward": float(self.total_reward),
            "messages": int(self.messages),
            "conflicts": int(self.conflicts),
            "controller_utilization": utilization,
            "fairness_jain": jain,
            "lower_bound": int(self.lower_bound),
            "makespan_ratio": float(makespan / self.lower_bound),
        }

    def stats(self) -> dict:
        """Counts that explain the metrics (not metrics themselves): executions by kind, rejected solutions, time."""
        return {
            "explorations": int(self.explorations),
            "replays": int(self.replays),
            "rejected_solutions": int(self.rejected_solutions),
            "ticks": int(self.time),
        }

    # ------------------------------------------------------------------------------------------------ events
    def _push(self, time: int, kind: int, who: int) -> None:
        heapq.heappush(self._events, (int(time), self._seq, kind, who))
        self._seq += 1

    def _handle(self, kind: int, who: int) -> None:
        if kind == _START:
            for agent in range(self.instance.n_agents):
                self._make_available(agent)
        elif kind == _WORK_DONE:
            self._finish_work(who)
        elif kind == _CLAIM_RESOLVED:
            self._resolve_claim(who)
        elif kind == _PEER_VALIDATED:
            self._finish_validation(who)
        elif kind == _CONTROLLER_DONE:
            self._controller_done(who)
        elif kind == _WAKE:
            if self.agent_status[who] == AgentStatus.IDLE:
                self._make_available(who)
        elif kind == _MOVE_DONE:
            self._arrive(who)

    # ------------------------------------------------------------------------------------------------ agents
    def _make_available(self, agent: int) -> None:
        group = int(self.instance.agent_group[agent])
        self.agent_task[agent] = -1
        if self.group_remaining[group] == 0:
            self.agent_status[agent] = AgentStatus.FINISHED
            return
        if self.centralized:
            self.messages += 1  # the request to the controller
            self.agent_status[agent] = AgentStatus.QUEUED
            self.ctrl_queue[group].append((_ASSIGN, agent))
            self._controller_next(group)
        else:
            self.agent_status[agent] = AgentStatus.IDLE
            if len(self.candidates(group)):
                self.deciding.add(agent)
            else:
                self.parked[group].append(agent)

    def _choose_wait(self, agent: int) -> None:
        group = int(self.instance.agent_group[agent])
        self.deciding.discard(agent)
        if self.centralized and self.ctrl_deciding[group] == agent:
            self.ctrl_deciding[group] = -1  # the controller declines to assign now and serves its next job
            self._controller_next(group)
        self.agent_status[agent] = AgentStatus.IDLE
        self._push(self.time + self.config.wait_ticks, _WAKE, agent)

    def _choose_task(self, agent: int, task: int) -> None:
        group = int(self.instance.agent_group[agent])
        self.agent_task[agent] = task
        if self.centralized:
            # the controller reserves the task at once (it knows its own reservations: no conflict possible) and
            # spends the assignment service time
            self.ctrl_deciding[group] = -1
            self.task_status[task] = TaskStatus.CLAIMED
            self.task_holder[task] = agent
            self._controller_serve(group, _ASSIGN, agent, self.config.assign_service_ticks)
            return
        self.deciding.discard(agent)
        self.messages += int(self.group_size[group]) - 1  # claim broadcast
        self.agent_status[agent] = AgentStatus.CLAIMING
        if self.task_status[task] == TaskStatus.READY:
            self.task_status[task] = TaskStatus.CLAIMED
            self.task_holder[task] = agent
            self.claim_time[task] = self.time
            self.claim_lost[agent] = False
        else:  # an earlier claim, not yet visible, holds the task: this claim will lose
            self.claim_lost[agent] = True
            self.conflicts += 1
        self._push(self.time + self.config.claim_latency_ticks, _CLAIM_RESOLVED, agent)

    def _resolve_claim(self, agent: int) -> None:
        task = int(self.agent_task[agent])
        if self.claim_lost[agent]:
            self.claim_lost[agent] = False
            self._make_available(agent)
        else:
            self._start_execution(agent, task)

    def _start_execution(self, agent: int, task: int) -> None:
        inst = self.instance
        cls = int(inst.task_class[task])
        maze = inst.mazes[cls]
        speed = inst.agent_speed[agent]
        self.task_status[task] = TaskStatus.RUNNING
        self.task_holder[task] = agent
        self.exec_start_time[task] = self.time
        self.job_start[agent] = self.time
        if self.knows[agent, cls]:
            self.replays += 1
            duration = max(1, math.ceil(maze.solution_length / speed - 1e-9))
            self.agent_status[agent] = AgentStatus.REPLAYING
            self.submitted_path[agent] = maze.solution
        elif self.steered:
            self.explorations += 1
            self.agent_status[agent] = AgentStatus.STEERING
            self.position[agent] = maze.start
            self.steer_path[agent] = [maze.start]
            self.visited[agent] = {maze.start}
            self.steer_moves[agent] = 0
            self.steering_due.add(agent)
            return
        else:
            self.explorations += 1
            stream = np.random.default_rng((self._exploration_seed, task, int(self.attempts[task])))
            self.attempts[task] += 1
            exploration = self._explore(maze, stream)
            duration = max(1, math.ceil(exploration.moves / speed - 1e-9))
            self.agent_status[agent] = AgentStatus.EXPLORING
            self.submitted_path[agent] = self._maybe_corrupt(exploration.path, stream)
        self.job_end[agent] = self.time + duration
        self._push(self.time + duration, _WORK_DONE, agent)

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
            self._push(self.time + 1, _MOVE_DONE, agent)
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
        self._push(self.move_end[agent], _MOVE_DONE, agent)

    def _arrive(self, agent: int) -> None:
        task = int(self.agent_task[agent])
        maze = self.instance.mazes[int(self.instance.task_class[task])]
        if self.position[agent] == maze.target:
            self.submitted_path[agent] = np.asarray(self.steer_path[agent], dtype=np.int32)
            self._submit(agent)
        else:
            self.steering_due.add(agent)

    def _finish_work(self, agent: int) -> None:
        self.productive_ticks[agent] += self.time - self.job_start[agent]
        self._submit(agent)

    def _submit(self, agent: int) -> None:
        task = int(self.agent_task[agent])
        group = int(self.instance.agent_group[agent])
        self.task_status[task] = TaskStatus.VALIDATING
        self.agent_status[agent] = AgentStatus.VALIDATING
        if self.centralized:
            self.messages += 1  # the solution to the controller
            self.ctrl_queue[group].append((_VALIDATE, agent))
            self._controller_next(group)
        else:
            self.messages += 2 * (int(self.group_size[group]) - 1)  # solution to the peers, verdicts back
            self._push(self.time + self.config.peer_validate_ticks, _PEER_VALIDATED, agent)

    def _finish_validation(self, agent: int) -> None:
        inst = self.instance
        task = int(self.agent_task[agent])
        cls = int(inst.task_class[task])
        group = int(inst.task_group[task])
        path = self.submitted_path[agent]
        self.submitted_path[agent] = None
        if self.centralized:
            self.messages += 1  # the verdict back to the agent
        if path is not None and validate_solution(inst.mazes[cls], path):
            self._complete(agent, task, cls, group)
        else:
            self.rejected_solutions += 1
            self.task_status[task] = TaskStatus.READY
            self.task_holder[task] = -1
            self._wake_parked(group)
        self._make_available(agent)

    def _complete(self, agent: int, task: int, cls: int, group: int) -> None:
        inst = self.instance
        self.task_status[task] = TaskStatus.DONE
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
                self.task_status[succ] = TaskStatus.READY
                released_groups.add(int(inst.task_group[succ]))
        self.messages += len(released_groups - {group})  # system-level notice to other groups
        for g in sorted(released_groups):
            self._wake_parked(g)

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
            learners = np.flatnonzero(self.instance.agent_group == self.instance.agent_group[agent])
        else:
            learners = np.arange(self.instance.n_agents)
        self.messages += len(learners) - 1  # the solution is sent to every learner but the solver
        self.knows[learners, cls] = True

    def _finish_group(self, group: int) -> None:
        self.group_done_time[group] = self.time
        members = np.flatnonzero(self.instance.agent_group == group)
        for agent in members.tolist():
            self.deciding.discard(agent)
            if self.agent_status[agent] in (AgentStatus.IDLE, AgentStatus.QUEUED):
                self.agent_status[agent] = AgentStatus.FINISHED
        self.parked[group].clear()
        self.ctrl_queue[group].clear()
        self.ctrl_deciding[group] = -1

    def _wake_parked(self, group: int) -> None:
        waiting, self.parked[group] = self.parked[group], []
        for agent in sorted(waiting):
            if self.centralized:
                self.ctrl_queue[group].append((_ASSIGN, agent))  # the controller still holds the request
            else:
                self.deciding.add(agent)
        if self.centralized and waiting:
            self._controller_next(group)

    # ------------------------------------------------------------------------------------------------ controllers
    def _ctrl_decisions_pending(self) -> bool:
        return bool((self.ctrl_deciding >= 0).any())

    def _controller_next(self, group: int) -> None:
        """Serve the next job of an idle controller (FIFO); stop at an assignment that needs a decision."""
        while self.ctrl_job[group] is None and self.ctrl_deciding[group] < 0 and self.ctrl_queue[group]:
            kind, agent = self.ctrl_queue[group].popleft()
            if kind == _VALIDATE:
                self._controller_serve(group, _VALIDATE, agent, self.config.validate_service_ticks)
            elif self.group_remaining[group] == 0:
                self.agent_status[agent] = AgentStatus.FINISHED
            elif len(self.candidates(group)):
                self.ctrl_deciding[group] = agent
            else:
                self.parked[group].append(agent)

    def _controller_serve(self, group: int, kind: int, agent: int, ticks: int) -> None:
        self.ctrl_job[group] = (kind, agent)
        self.ctrl_job_start[group] = self.time
        self._push(self.time + ticks, _CONTROLLER_DONE, group)

    def _controller_done(self, group: int) -> None:
        kind, agent = self.ctrl_job[group]
        self.ctrl_job[group] = None
        self.ctrl_busy_ticks[group] += self.time - self.ctrl_job_start[group]
        if kind == _VALIDATE:
            self._finish_validation(agent)
        else:
            self.messages += 1  # the assignment to the agent
            self._start_execution(agent, int(self.agent_task[agent]))
        if not self.terminated:
            self._controller_next(group)

    # ------------------------------------------------------------------------------------------------ limits
    def _auto_max_ticks(self) -> int:
        """Twice what one slowest agent needs to do every task alone, each with a worst-case exploration.

        Depth-first and wall-following explorations make at most 2(cells-1) moves. A random walk has no worst case;
        its expected hitting time on a tree is at most 2(cells-1) x (solution length), and the cap allows eight
        times that per task (summed over all tasks, so an episode that hits it is far out in the tail)."""
        c, inst = self.config, self.instance
        cells = max(m.n_cells for m in inst.mazes)
        moves = 2 * cells
        if c.explorer == "random_walk":
            moves = 8 * 2 * cells * max(m.solution_length for m in inst.mazes)
        worst_explore = math.ceil(moves / inst.agent_speed.min())
        per_task = (
            worst_explore
            + c.assign_service_ticks
            + c.validate_service_ticks
            + c.claim_latency_ticks
            + c.peer_validate_ticks
            + c.wait_ticks
        )
        overhead = (c.split_ticks_per_group + c.collect_ticks_per_group) * inst.n_groups
        return int(2 * (overhead + inst.n_tasks * per_task))

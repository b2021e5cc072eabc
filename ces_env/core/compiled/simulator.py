"""The compiled engine behind the simulator's interface: :class:`CompiledCESSimulator`.

A :class:`~ces_env.core.simulator.CESSimulator` whose :meth:`decide` and :meth:`advance` run the compiled event loop
(:mod:`ces_env.core.compiled.engine`) on the very arrays the Python simulator exposes, so the observation builder,
the metrics, the viewer and every reader see the same attributes. Python objects stay at this edge: the scalar
counters are copied to the usual attributes after each call, and ``control`` is a read-only view
(:class:`CompiledControlView`) that answers what readers ask a protocol (candidates, deciders, queues, busy time).
"""

from __future__ import annotations

import weakref
from typing import ClassVar

import numpy as np

from ces_env.config import CESConfig
from ces_env.core.compiled import engine
from ces_env.core.compiled.engine import (
    C_CHANGED,
    C_CONFLICTS,
    C_END_TIME,
    C_EXPLORATIONS,
    C_FORCED_ROUND,
    C_HEAP_SIZE,
    C_MESSAGES,
    C_MUST_ACT,
    C_REJECTED,
    C_REPLAYS,
    C_SEQ,
    C_STALLED,
    C_TASKS_DONE,
    C_TERMINATED,
    C_TIME,
    C_TRUNCATED,
    C_WAITING,
    EV_START,
    EXPLORER_CODES,
    F_DECIDING,
    F_MUST_ACT,
    F_WAITING,
    N_COUNTERS,
    N_FLAGS,
    N_PARAMS,
    N_SERVER_ROWS,
    P_ASSIGN_TICKS,
    P_CENTRAL_VALIDATION,
    P_CLAIM_LATENCY,
    P_COLLECT_TICKS,
    P_DECENTRALIZED,
    P_EXPLORER,
    P_MAX_TICKS,
    P_PEER_VALIDATE_TICKS,
    P_SHARE_TICKS,
    P_SHARING,
    P_VALIDATE_TICKS,
    P_WAIT_TICKS,
    S_DECIDER,
    S_JOB_KIND,
    S_JOB_START,
    S_LEN,
    S_SERVED,
    SHARING_CODES,
    new_state,
)
from ces_env.core.protocols.base import ControlProtocol
from ces_env.core.simulator import WAIT, CESSimulator
from ces_env.types import Instance

# _run unpacks the counters in this order (one tolist() instead of sixteen numpy scalar reads)
_COUNTER_ORDER: tuple[int, ...] = (C_TIME, C_MESSAGES, C_CONFLICTS, C_TASKS_DONE, C_EXPLORATIONS, C_REPLAYS)
_COUNTER_ORDER += (C_TERMINATED, C_TRUNCATED, C_STALLED, C_END_TIME, C_SEQ, C_FORCED_ROUND, C_HEAP_SIZE, C_CHANGED)
_COUNTER_ORDER += (C_MUST_ACT, C_WAITING, C_REJECTED)
assert tuple(range(N_COUNTERS)) == _COUNTER_ORDER, "the counters' unpacking in _run must follow their indices"
_ANY_CHOICE = 2**62  # choices outside [-1, this) are waits either way; clipped so they fit the int64 array


# the instance as the engine reads it, per live instance (by id; an entry goes when its instance is collected):
# resets on an instance from an InstanceCache reuse it. Instances are frozen and unhashable (array fields), so a
# WeakKeyDictionary cannot hold them.
_STATIC: dict[int, dict[str, np.ndarray]] = {}


def _static_arrays(instance: Instance) -> dict[str, np.ndarray]:
    """The instance's arrays as the engine reads them (int64, concatenated mazes), computed once per instance."""
    cached = _STATIC.get(id(instance))
    if cached is not None:
        return cached
    l = instance.n_groups
    members_order = np.argsort(instance.agent_group, kind="stable")
    members_indptr = np.zeros(l + 1, dtype=np.int64)
    members_indptr[1:] = np.cumsum(np.bincount(instance.agent_group, minlength=l))
    cells = np.array([maze.n_cells for maze in instance.mazes], dtype=np.int64)
    maze_offset = np.zeros(len(instance.mazes) + 1, dtype=np.int64)
    maze_offset[1:] = np.cumsum(cells)
    static: dict[str, np.ndarray] = {
        "agent_group": instance.agent_group.astype(np.int64),
        "agent_speed": instance.agent_speed.astype(np.float64),
        "task_group": instance.task_group.astype(np.int64),
        "task_class": instance.task_class.astype(np.int64),
        "rewards": instance.rewards.astype(np.float64),
        "succ_indptr": instance.succ_indptr.astype(np.int64),
        "succ_indices": instance.succ_indices.astype(np.int64),
        "members_indptr": members_indptr,
        "members": members_order.astype(np.int64),
        "passages": np.concatenate([maze.passages.ravel() for maze in instance.mazes]).astype(np.uint8),
        "maze_offset": maze_offset,
        "maze_info": np.array(
            [[maze.width, maze.start, maze.target, maze.solution_length] for maze in instance.mazes], dtype=np.int64
        ).reshape(len(instance.mazes), 4),
    }
    _STATIC[id(instance)] = static
    weakref.finalize(instance, _STATIC.pop, id(instance), None)
    return static


class CompiledControlView(ControlProtocol):
    """What readers ask the control protocol, answered from the compiled engine's arrays. The protocol's transitions
    run in the engine: calling one of its hooks here is a mistake and raises."""

    name: ClassVar[str] = "compiled-view"
    description: ClassVar[str] = "read-only view of a CES protocol run by the compiled engine"

    def __init__(self, sim: CompiledCESSimulator, protocol: ControlProtocol) -> None:
        self.sim = sim
        self.engine_sim = sim  # typed as the compiled simulator (``sim`` is the base class's attribute)
        self.options = protocol.options
        self.protocol = protocol  # the Python protocol object, sharing the arrays its candidates read
        self.decentralized = protocol.name == "decentralized"
        self.has_server = not self.decentralized or bool(getattr(protocol, "central", False))

    # what readers ask
    def task_deciders(self) -> list[int]:
        return self.sim.task_deciders().tolist()

    def has_deciders(self) -> bool:
        return len(self.sim.task_deciders()) > 0

    def candidates(self, group: int) -> np.ndarray:
        return self.protocol.candidates(group)

    def candidate_flags(self, tasks: np.ndarray) -> np.ndarray | None:
        return self.protocol.candidate_flags(tasks)

    def queue_lengths(self) -> np.ndarray:
        if not self.has_server:
            return np.zeros(self.sim.instance.n_groups, dtype=np.int64)
        return self.engine_sim.server[S_LEN].copy()

    def busy_ticks(self) -> np.ndarray | None:
        if not self.has_server:
            return None
        server = self.engine_sim.server
        busy = server[S_SERVED].copy()
        serving = server[S_JOB_KIND] >= 0
        busy[serving] += self.sim.time - server[S_JOB_START, serving]  # service in progress, up to now
        return busy

    # the transitions: the engine's
    def _engine_only(self, hook: str) -> None:
        raise RuntimeError(f"{hook}: the compiled engine runs this protocol's transitions; use engine='python'")

    def agent_available(self, agent: int) -> None:
        self._engine_only("agent_available")

    def choose(self, agent: int, task: int) -> None:
        self._engine_only("choose")

    def decline(self, agent: int) -> None:
        self._engine_only("decline")

    def submit(self, agent: int) -> None:
        self._engine_only("submit")

    def tasks_ready(self, group: int) -> None:
        self._engine_only("tasks_ready")

    def group_finished(self, group: int) -> None:
        self._engine_only("group_finished")

    @classmethod
    def task_overheads(cls, config: CESConfig) -> tuple[int, int]:
        raise RuntimeError("task_overheads: ask the protocol class itself (ces_env.core.protocols.control_protocol)")


class CompiledCESSimulator(CESSimulator):
    """:class:`CESSimulator` with the compiled event loop (see :mod:`ces_env.core.compiled`): the same episodes."""

    def __init__(self, config: CESConfig, instance: Instance, rng: np.random.Generator, trace: bool = False):
        from ces_env.core.compiled import unsupported_reason

        # the check on the config in ticks the base class keeps (converting exploration units again at every reset
        # would validate a second config per reset)
        super().__init__(config, instance, rng, trace=False)
        reason = unsupported_reason(self.config, trace=trace)
        if reason is not None:
            raise ValueError(f"the compiled engine cannot run this scenario: {reason} (use engine='python')")
        config = self.config  # in ticks
        protocol = self.control
        n, m, l = instance.n_agents, instance.n_tasks, instance.n_groups
        static = _static_arrays(instance)

        params = np.zeros(N_PARAMS, dtype=np.int64)
        decentralized = config.control == "decentralized"
        params[P_DECENTRALIZED] = int(decentralized)
        params[P_CENTRAL_VALIDATION] = int(decentralized and getattr(protocol, "central", False))
        params[P_ASSIGN_TICKS] = config.assign_service_ticks
        params[P_VALIDATE_TICKS] = config.validate_service_ticks
        params[P_CLAIM_LATENCY] = config.claim_latency_ticks
        params[P_PEER_VALIDATE_TICKS] = config.peer_validate_ticks
        params[P_SHARING] = SHARING_CODES[config.knowledge_sharing]
        params[P_COLLECT_TICKS] = config.collect_ticks_per_group * l
        params[P_WAIT_TICKS] = -1 if config.wait_ticks is None else config.wait_ticks
        params[P_MAX_TICKS] = self.max_ticks
        params[P_EXPLORER] = EXPLORER_CODES[config.explorer]
        params[P_SHARE_TICKS] = config.share_ticks_per_recipient

        # decentralized claims: the Python protocol object reads the engine's array for its candidates
        claim_time = getattr(protocol, "claim_time", None)
        if claim_time is None:
            claim_time = np.full(m, -1, dtype=np.int64)

        self.counters = np.zeros(N_COUNTERS, dtype=np.int64)
        self._total_reward = np.zeros(1, dtype=np.float64)
        heap_rows, queue_capacity = self.initial_capacities()
        heap = np.zeros((heap_rows, 4), dtype=np.int64)
        heap[0] = (self.start_time, 0, EV_START, -1)  # as the Python simulator scheduled it (sequence 0)
        self.counters[C_HEAP_SIZE] = 1
        self.counters[C_SEQ] = self._seq
        self.counters[C_TIME] = self.time
        self.counters[C_END_TIME] = -1
        self.flags = np.zeros((N_FLAGS, n), dtype=bool)
        changed = self._changed = np.zeros(l, dtype=bool)
        self.server = np.zeros((N_SERVER_ROWS, l), dtype=np.int64)
        self.server[S_JOB_KIND] = -1
        self.server[S_DECIDER] = -1
        queue = np.zeros((3, l, queue_capacity), dtype=np.int64)
        order_indptr = np.zeros(l + 1, dtype=np.int64)
        order_indptr[1:] = np.cumsum([len(order) for order in self.group_order])
        order = np.concatenate(self.group_order).astype(np.int64) if m else np.zeros(0, dtype=np.int64)

        self._state = new_state(
            params=params,
            agent_group=static["agent_group"],
            agent_speed=static["agent_speed"],
            task_group=static["task_group"],
            task_class=static["task_class"],
            rewards=static["rewards"],
            succ_indptr=static["succ_indptr"],
            succ_indices=static["succ_indices"],
            members_indptr=static["members_indptr"],
            members=static["members"],
            order_indptr=order_indptr,
            order=order,
            passages=static["passages"],
            maze_offset=static["maze_offset"],
            maze_info=static["maze_info"],
            seed_words=np.array(self._seed_words, dtype=np.uint32),
            error_prob=np.array([config.solution_error_prob], dtype=np.float64),
            task_status=self.task_status,
            remaining_preds=self.remaining_preds,
            task_holder=self.task_holder,
            completed_by=self.completed_by,
            done_time=self.done_time,
            exec_start_time=self.exec_start_time,
            attempts=self.attempts,
            claim_time=claim_time,
            agent_status=self.agent_status,
            agent_task=self.agent_task,
            job_start=self.job_start,
            job_end=self.job_end,
            productive_ticks=self.productive_ticks,
            knows=self.knows,
            reward_buffer=self.reward_buffer,
            group_size=self.group_size.astype(np.int64),
            group_remaining=self.group_remaining,
            group_completed=self.group_completed,
            group_done_time=self.group_done_time,
            counters=self.counters,
            total_reward=self._total_reward,
            heap=heap,
            flags=self.flags,
            changed=changed,
            server=self.server,
            queue=queue,
            scratch=np.zeros(m + l, dtype=np.int64),
            cand_count=np.full(l, -1, dtype=np.int64),
        )
        self._events = []  # the Python heap is not used
        self._choices = np.full(n, WAIT, dtype=np.int64)
        self.control = CompiledControlView(self, protocol)
        self._any_waiting = False

    def initial_capacities(self) -> tuple[int, int]:
        """(rows of the event heap, slots of each group's queue) to start with; both grow when full. Pending events:
        at most one per agent (its execution's end, its claim or its peer verdict), a fixed wait's end, one service
        per group and the start, plus a shared solution's deliveries. Queued jobs: one per agent of the group, plus
        a sharing job now and then."""
        n, l = self.instance.n_agents, self.instance.n_groups
        return 2 * n + 2 * l + 8, int(self.group_size.max(initial=0)) + 2

    # ------------------------------------------------------------------------------------------------ driving
    def advance(self) -> None:
        self._run(engine.ADVANCE)

    def decide(self, task_choices: dict[int, int], moves: dict[int, int] | None = None) -> None:
        self._set_choices(task_choices, moves)
        self._run(engine.DECIDE)

    def step(self, task_choices: dict[int, int], moves: dict[int, int] | None = None) -> None:
        """:meth:`decide` then :meth:`advance`, in one call of the compiled loop."""
        self._set_choices(task_choices, moves)
        self._run(engine.DECIDE | engine.ADVANCE)

    def _set_choices(self, task_choices: dict[int, int], moves: dict[int, int] | None) -> None:
        if moves:
            raise ValueError("the compiled engine runs the automatic exploration mode: there are no maze moves")
        choices = self._choices
        choices.fill(WAIT)
        for agent, choice in task_choices.items():
            choices[agent] = choice if WAIT <= choice < _ANY_CHOICE else WAIT

    def task_deciders(self) -> np.ndarray:
        if self.config.control != "decentralized":
            deciders = self.server[S_DECIDER]
            return np.sort(deciders[deciders >= 0]).astype(np.int64)
        return np.flatnonzero(self.flags[F_DECIDING]).astype(np.int64)

    @property
    def events_scheduled(self) -> int:
        return int(self.counters[C_SEQ])

    def _run(self, mode: int) -> None:
        self.sync_from_engine(consistent=engine.run(mode, self._choices, self._state))

    @property
    def engine_state(self) -> engine.State:
        """The compiled state this simulator runs on (for compiled callers such as :mod:`ces_env.core.compiled.batch`,
        which step it themselves and then call :meth:`sync_from_engine`)."""
        return self._state

    def sync_from_engine(self, consistent: bool = True) -> None:
        """Copy the engine's scalars and agent sets to the simulator's usual attributes (after a compiled call that
        stepped :attr:`engine_state`); raises if that call reported an inconsistent stall, as the Python simulator
        does."""
        # the scalars, copied to the simulator's usual attributes (one list: a numpy scalar read costs as much as
        # a Python int's whole round trip)
        (time, messages, conflicts, tasks_done, explorations, replays, terminated, truncated, stalled, end_time, seq,
         forced_round, _, changed, must_act, waiting, rejected) = self.counters.tolist()  # fmt: skip
        self.time, self.messages, self.conflicts, self.tasks_done = time, messages, conflicts, tasks_done
        self.explorations, self.replays, self.end_time, self._seq = explorations, replays, end_time, seq
        self.rejected_solutions = rejected
        self.terminated, self.truncated, self.stalled = terminated == 1, truncated == 1, stalled == 1
        self._forced_round = forced_round == 1
        self.total_reward = float(self._total_reward[0])
        if must_act or self.must_act:
            self.must_act = set(np.flatnonzero(self.flags[F_MUST_ACT]).tolist())
        if waiting or self._any_waiting:
            groups = self.instance.agent_group
            self.waiting = [set() for _ in range(self.instance.n_groups)]
            for agent in np.flatnonzero(self.flags[F_WAITING]).tolist():
                self.waiting[int(groups[agent])].add(agent)
            self._any_waiting = waiting > 0
        if changed:
            self._changed_groups = set(np.flatnonzero(self._changed).tolist())
        elif self._changed_groups:
            self._changed_groups = set()
        if not consistent:
            raise RuntimeError(f"CES simulator stalled at tick {self.time}: no event pending and nobody deciding")


__all__ = ["CompiledCESSimulator", "CompiledControlView"]

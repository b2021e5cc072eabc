"""Max-Sum message passing (Farinelli, Rogers, Petcu and Jennings 2008) for a group's task assignment.

The algorithm is :func:`run_max_sum`, a pure function of a utility matrix; :class:`MaxSumControl` runs it whenever a
group has available agents and ready tasks nobody holds, and charges its iterations in time and messages.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ces_env.core.protocols.base import register_control
from ces_env.core.protocols.cbba import discounted_scores
from ces_env.core.protocols.negotiation import NegotiationOptions, NegotiationProtocol, PeerValidation

if TYPE_CHECKING:
    from ces_env.config import CESConfig

NONE = -1
"""An agent's decision to take no task."""


@dataclass(frozen=True)
class MaxSumResult:
    """The outcome of one Max-Sum run.

    ``choices[i]`` is the task agent i takes (an index into the run's tasks) or :data:`NONE`, conflict-free:
    ``conflicts`` counts the agents whose argmax named a task a lower-id agent also named (they take none).
    ``iterations`` counts message-passing iterations (at most ``max_iterations``); ``converged`` says whether the
    messages stopped changing before that bound.
    """

    choices: np.ndarray
    beliefs: np.ndarray  # (N, T): belief of taking each task minus the belief of taking none
    iterations: int
    converged: bool
    conflicts: int


def run_max_sum(
    utility: np.ndarray,
    *,
    penalty: float,
    max_iterations: int,
    damping: float,
    tolerance: float = 1e-9,
) -> MaxSumResult:
    """Max-Sum on the factor graph of ``N`` agents (variables) and ``T`` tasks (factors).

    Variable ``x_i`` is the task agent i takes, or none. Factor ``F_j`` values the set S of agents that chose task j:
    ``max_{i in S} utility[i, j] - penalty * (|S| - 1)`` (0 when nobody chose it): one agent does the task, any extra
    one is wasted. The assignment maximises the sum of the factors.

    Every message of Max-Sum depends on a variable's value only through "x_i = j or not" (the factor of task j sees
    nothing else), so each message is kept as one number, the difference between its two values:

    * variable to factor, ``q[i, j] = -max(0, max_{j' != j} r[i, j'])``: what agent i gives up by taking j, i.e. its
      best other option (a task, or none at 0);
    * factor to variable, ``r[i, j] = max(u_ij, max_{m != i}(u_mj - penalty + q[m, j])) - max(0, max_{m != i}(u_mj +
      q[m, j]))``: the value of task j with agent i on it minus its value without i (another agent, or nobody).

    Both are the exact Max-Sum messages (maxima over the other variables in closed form, the factor being a max with a
    per-agent penalty); the constant each message could shift by cancels. New factor messages are damped
    (``damping`` of the old one kept), which helps on the loops of this complete bipartite graph. The run stops when
    no message moves by more than ``tolerance``, or after ``max_iterations``. Each agent then takes the task of its
    largest belief ``r[i, j]`` if positive (ties: the lower task index), else none (:func:`decide`).
    """
    n_agents, n_tasks = utility.shape
    if n_agents == 0 or n_tasks == 0:
        return MaxSumResult(np.full(n_agents, NONE, dtype=np.int64), np.zeros((n_agents, n_tasks)), 0, True, 0)
    u = np.asarray(utility, dtype=np.float64)
    r = np.zeros((n_agents, n_tasks))
    iterations, converged = 0, False
    while iterations < max_iterations:
        iterations += 1
        q = -np.maximum(0.0, _max_of_others(r, axis=1))
        taken_by_other = _max_of_others(u + q, axis=0)  # best value of task j from another agent than i
        with_i = np.maximum(u, _max_of_others(u - penalty + q, axis=0))
        without_i = np.maximum(0.0, taken_by_other)
        new_r = (1.0 - damping) * (with_i - without_i) + damping * r
        moved = float(np.abs(new_r - r).max())
        r = new_r
        if moved <= tolerance:
            converged = True
            break
    choices, conflicts = decide(r)
    return MaxSumResult(choices, r, iterations, converged, conflicts)


def decide(beliefs: np.ndarray) -> tuple[np.ndarray, int]:
    """Each agent takes the task of its largest positive belief (ties: the lower task index), or none.

    A task named by several agents goes to the lowest agent id; each other one is a conflict and takes none (it bids
    again in the next run). If nobody names a task (beliefs all <= 0, which exact ties can cause), the first agent
    takes its task of largest belief, so that a run with agents and tasks always allocates one.
    """
    n_agents, n_tasks = beliefs.shape
    choices = np.full(n_agents, NONE, dtype=np.int64)
    taken = np.zeros(n_tasks, dtype=bool)
    conflicts = 0
    for i in range(n_agents):
        wanted = int(np.argmax(beliefs[i]))  # the first maximum: the lower task index on ties
        if beliefs[i, wanted] <= 0:
            continue
        if taken[wanted]:
            conflicts += 1
            continue
        choices[i] = wanted
        taken[wanted] = True
    if n_agents and n_tasks and not taken.any():
        choices[0] = int(np.argmax(beliefs[0]))
    return choices, conflicts


def _max_of_others(values: np.ndarray, axis: int) -> np.ndarray:
    """For each entry, the maximum along ``axis`` of the other entries (-inf when there is none)."""
    size = values.shape[axis]
    if size == 1:
        return np.full(values.shape, -np.inf)
    order = np.sort(values, axis=axis)
    first = np.take(order, [size - 1], axis=axis)
    second = np.take(order, [size - 2], axis=axis)
    return np.where(values == first, second, first)


# ------------------------------------------------------------------------------------------------------ the protocol
@dataclasses.dataclass(frozen=True)
class MaxSumOptions(NegotiationOptions):
    """Options of ``max-sum``."""

    max_iterations: int = 10
    """Bound on message-passing iterations per run (it stops earlier when the messages stop changing)."""
    damping: float = 0.0
    """Weight of the previous factor message in the new one, in [0, 1). 0 (plain Max-Sum) converged fastest on the
    tests' random problems."""
    penalty: float = 1.0
    """Cost of each extra agent on one task, as a multiple of the run's largest utility (>= 0)."""
    discount: float = 0.5
    """The utility's time discount per time unit (as CBBA's score, :func:`~ces_env.core.protocols.cbba
    .discounted_scores`). In (0, 1]."""

    OPTION_BOUNDS = {  # noqa: RUF012
        "max_iterations": (1, None),
        "damping": (0.0, 0.999),
        "penalty": (0.0, None),
        "discount": (1e-9, 1.0),
    }


@register_control
class MaxSumControl(NegotiationProtocol):
    """Max-Sum (A. Farinelli, A. Rogers, A. Petcu and N. R. Jennings, "Decentralised Coordination of Low-Power
    Embedded Devices Using the Max-Sum Algorithm", AAMAS 2008) on the factor graph of a group's agents and tasks.

    **When and who.** Whenever a group has ready tasks that nobody holds and agents that may take one
    (``queue_limit``, default 0: agents with nothing to do), one run allocates at most one task to each of them; one
    run at a time per group, the next when this one ends (if tasks and agents are left) or when something changes.

    **Factor graph.** A variable per agent (which of the run's tasks it takes, or none) and a factor per task, linked
    to every agent. The factor values the agents that chose the task: the best one's utility, minus ``penalty`` (times
    the run's largest utility) for every extra one. An agent's utility for a task is the task's reward discounted by
    its estimated finish time (backlog plus estimated execution and validation, from what it knows: the score of CBBA,
    :func:`~ces_env.core.protocols.cbba.discounted_scores`). The factor of task k is run by the k-th agent of the run
    (round robin over the agents by id, tasks highest reward first).

    **Messages.** :func:`run_max_sum`: each iteration, every variable sends every factor a message and every factor
    answers (messages between an agent and a factor it runs itself are free): ``2 T (N - 1)`` messages for N agents
    and T tasks, 2 hops. The run stops when messages stop changing or after ``max_iterations``. Each agent then takes
    the task of its largest belief (:func:`decide`) and tells its ``s - 1`` groupmates (1 hop, ``s - 1`` messages per
    agent that takes a task): two agents on one task is a conflict, counted; the lower id keeps it and the other
    bids again in the next run. A run takes ``2 x iterations + 1`` hops, at least 3. The decision broadcast is the
    award (no further message or hop). Solutions are validated by the peers (:class:`PeerValidation`).
    """

    name: ClassVar[str] = "max-sum"
    description: ClassVar[str] = "Max-Sum: message passing on the factor graph of agents and tasks"
    Options: ClassVar[type] = MaxSumOptions
    validation: ClassVar[type[PeerValidation]] = PeerValidation
    hops_before_start: ClassVar[int] = 3

    def __init__(self, sim) -> None:
        super().__init__(sim)
        self._pending: list[list[tuple[int, int]]] = [[] for _ in range(sim.instance.n_groups)]
        self.conflicts = 0
        self.iterations = 0
        self.unconverged_runs = 0

    def open_round(self, group: int, tasks: np.ndarray, bidders: list[int]) -> None:
        sim, options = self.sim, self.options
        task_list = [int(t) for t in tasks]
        utility = discounted_scores(self, group, bidders, task_list, options.discount)
        result = run_max_sum(
            utility,
            penalty=options.penalty * float(utility.max()),
            max_iterations=options.max_iterations,
            damping=options.damping,
            tolerance=1e-9 * float(utility.max()),
        )
        n_agents, n_tasks = utility.shape
        takers = int((result.choices != NONE).sum())
        self.send(result.iterations * 2 * n_tasks * (n_agents - 1))  # variable <-> factor, across agents
        self.send(takers * (int(sim.group_size[group]) - 1))  # the decisions, to the groupmates
        for _ in range(result.conflicts):
            sim.add_conflict()
        self.conflicts += result.conflicts
        self.iterations += result.iterations
        self.unconverged_runs += int(not result.converged)
        self._pending[group] = [(task_list[j], bidders[i]) for i, j in enumerate(result.choices.tolist()) if j != NONE]
        self.after_hops(2 * result.iterations + 1, self._decided, group)

    def _decided(self, group: int) -> None:
        pending, self._pending[group] = self._pending[group], []
        for task, agent in pending:
            self.award(task, agent, messages=0, hops=0)  # the decision broadcast was the award
        self.end_round(group, retry=bool(pending))

    def mechanism_stats(self) -> dict:
        stats = super().mechanism_stats()
        stats.update(conflicts=self.conflicts, iterations=self.iterations, unconverged_runs=self.unconverged_runs)
        return stats

    @classmethod
    def max_negotiation_hops(cls, config: CESConfig) -> int:
        return 2 * int(cls.make_options(dict(config.control_options)).max_iterations) + 1


__all__ = ["MaxSumControl", "MaxSumOptions", "MaxSumResult", "NONE", "decide", "run_max_sum"]

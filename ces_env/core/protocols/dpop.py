"""DPOP (Petcu and Faltings 2005), the optimal DCOP reference, for a group's task assignment on small instances.

The algorithm is :func:`run_dpop`, a pure function of a utility matrix; :class:`DPOPControl` runs it whenever a group
has available agents and ready tasks nobody holds, charges its three phases in time and messages, and refuses at the
start of an episode a group too large for it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import networkx as nx
import numpy as np

from ces_env.config import ConfigError
from ces_env.core.protocols.base import register_control
from ces_env.core.protocols.cbba import discounted_scores
from ces_env.core.protocols.negotiation import NegotiationOptions, NegotiationProtocol, PeerValidation

if TYPE_CHECKING:
    from ces_env.config import CESConfig

NONE = -1
"""An agent's decision to take no task."""


@dataclass(frozen=True)
class DPOPResult:
    """The outcome of one DPOP run: ``choices[i]`` the task of agent i (an index into the run's tasks) or
    :data:`NONE`, pairwise distinct; ``value`` the optimal total utility; ``largest_util`` the entries of the largest
    UTIL message (``(T + 1) ** (N - 1)``, the measure the size limit is on)."""

    choices: np.ndarray
    value: float
    largest_util: int


def util_entries(n_agents: int, n_tasks: int) -> int:
    """Entries of the largest UTIL message for ``n_agents`` agents and ``n_tasks`` tasks: ``(T + 1) ** (N - 1)``."""
    return (n_tasks + 1) ** max(0, n_agents - 1)


def max_ready_tasks(graph: nx.DiGraph, tasks: list[int]) -> int:
    """The largest number of ``tasks`` that can be ready at once: the width of the dependency order on them.

    A ready task's predecessors are all done, so no two ready tasks depend on each other, directly or through other
    tasks (of any group): the ready tasks form an antichain of the DAG's reachability order. By Dilworth's theorem
    the largest antichain has ``|tasks|`` minus a maximum matching of "u reaches v" pairs elements.
    """
    if not tasks:
        return 0
    closure = nx.transitive_closure_dag(graph)
    members = set(tasks)
    pairs = nx.Graph()
    left = [("u", t) for t in tasks]
    pairs.add_nodes_from(left)
    pairs.add_nodes_from(("v", t) for t in tasks)
    pairs.add_edges_from((("u", a), ("v", b)) for a in tasks for b in closure.successors(a) if b in members)
    matching = nx.bipartite.hopcroft_karp_matching(pairs, top_nodes=left)
    return len(tasks) - len(matching) // 2


def run_dpop(utility: np.ndarray) -> DPOPResult:
    """DPOP on the DCOP of ``N`` agents choosing among ``T`` tasks.

    Variable ``x_i`` (agent i) takes a task index or none; its unary utility is ``utility[i, x_i]`` (0 for none) and
    every pair of agents is constrained by "not the same task" (a hard constraint: -inf). The constraint graph is
    complete, so the DFS pseudo-tree is a chain (agent 0 the root, agent N-1 the leaf) in which every agent's
    separator is all of its ancestors.

    * **UTIL** (leaf to root): agent k sends its parent ``UTIL_k(x_0..x_{k-1}) = max_{x_k} [utility[k, x_k] +
      UTIL_{k+1}(x_0..x_k)]`` over the values of x_k that differ from its ancestors' tasks (none always allowed), a
      table of ``(T + 1) ** k`` entries.
    * **VALUE** (root to leaf): the root takes its best value; each agent, given its ancestors' values, takes the
      argmax of the same expression (ties: the lower task index, none last).

    The result is an optimal assignment (tests compare it with brute force).
    """
    n_agents, n_tasks = utility.shape
    values = n_tasks + 1  # task indices, then none
    gain = np.concatenate([np.asarray(utility, dtype=np.float64), np.zeros((n_agents, 1))], axis=1)
    # util[k]: the UTIL message agent k sends to its parent, over (x_0..x_{k-1}); util[n_agents] = 0 (no child)
    util: list[np.ndarray] = [np.zeros(())] * (n_agents + 1)
    for k in range(n_agents - 1, -1, -1):
        util[k] = _util_table(k, gain[k], util[k + 1], values)
    choices = np.full(n_agents, NONE, dtype=np.int64)
    assigned: list[int] = []
    for k in range(n_agents):
        child = util[k + 1][tuple(assigned)] if k + 1 < n_agents else np.zeros(values)
        best = _best_value(gain[k] + child, assigned, n_tasks)
        assigned.append(best)
        choices[k] = best if best < n_tasks else NONE
    value = float(util[0])
    return DPOPResult(choices, value, util_entries(n_agents, n_tasks))


def _util_table(k: int, gain: np.ndarray, child: np.ndarray, values: int) -> np.ndarray:
    """``UTIL_k`` over (x_0..x_{k-1}): the best of ``gain[v] + child[..., v]`` over values v not used by an ancestor."""
    shape = (values,) * k
    best = np.full(shape, -np.inf)
    none = values - 1
    for v in range(values):
        candidate = gain[v] + (child[..., v] if child.ndim else child)
        candidate = np.broadcast_to(candidate, shape).copy() if k else np.asarray(candidate, dtype=np.float64)
        if v != none and k:
            candidate[_uses(shape, v)] = -np.inf
        best = np.maximum(best, candidate)
    return best


def _uses(shape: tuple[int, ...], value: int) -> np.ndarray:
    """Boolean table over the ancestors' values: some ancestor took ``value``."""
    used = np.zeros(shape, dtype=bool)
    for axis in range(len(shape)):
        index: list[int | slice] = [slice(None)] * len(shape)
        index[axis] = value
        used[tuple(index)] = True
    return used


def _best_value(totals: np.ndarray, assigned: list[int], n_tasks: int) -> int:
    """The value of largest total that no ancestor took (ties: the lower index; none, index ``n_tasks``, last)."""
    best, best_total = n_tasks, -np.inf
    for v in [*range(n_tasks), n_tasks]:
        if (v == n_tasks or v not in assigned) and totals[v] > best_total:
            best, best_total = v, float(totals[v])
    return best


# ------------------------------------------------------------------------------------------------------ the protocol
@dataclasses.dataclass(frozen=True)
class DPOPOptions(NegotiationOptions):
    """Options of ``dpop``."""

    max_util_entries: int = 1_000_000
    """The size limit: the most entries a UTIL message may have, ``(T + 1) ** (N - 1)`` for N agents and T tasks.
    An instance whose worst run exceeds it is refused when the episode starts."""
    discount: float = 0.5
    """The utility's time discount per time unit (as CBBA's score, :func:`~ces_env.core.protocols.cbba
    .discounted_scores`). In (0, 1]."""

    OPTION_BOUNDS = {"max_util_entries": (1, None), "discount": (1e-9, 1.0)}  # noqa: RUF012


@register_control
class DPOPControl(NegotiationProtocol):
    """DPOP (A. Petcu and B. Faltings, "A Scalable Method for Multiagent Constraint Optimization", IJCAI 2005): the
    optimal DCOP reference for a group's assignment, on small instances.

    **When and who.** Whenever a group has ready tasks that nobody holds and agents that may take one
    (``queue_limit``, default 0: agents with nothing to do), one run allocates at most one task to each of them,
    maximising the sum of their utilities exactly; one run at a time per group.

    **The DCOP.** A variable per agent (which task it takes, or none); an agent's utility for a task is the task's
    reward discounted by its estimated finish time (the score of CBBA and the utility of Max-Sum,
    :func:`~ces_env.core.protocols.cbba.discounted_scores`: the three solve the same problem); two agents may not take
    the same task (a hard constraint between every pair).

    **The algorithm** (:func:`run_dpop`). Phase 1 builds a DFS pseudo-tree of the constraint graph, which is complete:
    a chain from the lowest id (the root) to the highest, every agent's separator being all of its ancestors (the token
    goes down and back: ``2(N-1)`` messages and hops). Phase 2, UTIL, leaf to root: each agent sends its parent the
    best utility of its subtree for every assignment of its separator (``N-1`` messages and hops). Phase 3, VALUE,
    root to leaf: each agent fixes its value given its ancestors' (``N-1`` messages and hops). Then every agent that
    takes a task tells its ``s - 1`` groupmates (1 hop; that broadcast is the award). A run takes ``4(N-1) + 1``
    hops. Solutions are validated by the peers (:class:`PeerValidation`).

    **The size limit.** The UTIL message of the agent at depth N-1 has ``(T + 1) ** (N - 1)`` entries (DPOP's
    exponential cost in the induced width, here N - 1). When the episode starts, DPOP computes, for every group, the
    most agents it has (s) and the most of its tasks that can be ready at once (the width of the dependency order
    restricted to the group's tasks, :func:`max_ready_tasks`), and refuses with a :class:`ConfigError` an instance
    whose ``(width + 1) ** (s - 1)`` exceeds ``max_util_entries``.
    """

    name: ClassVar[str] = "dpop"
    description: ClassVar[str] = "DPOP: optimal assignment by UTIL/VALUE propagation on a pseudo-tree (small groups)"
    Options: ClassVar[type] = DPOPOptions
    validation: ClassVar[type[PeerValidation]] = PeerValidation
    hops_before_start: ClassVar[int] = 1

    def __init__(self, sim) -> None:
        super().__init__(sim)
        self._check_size()
        self._pending: list[list[tuple[int, int]]] = [[] for _ in range(sim.instance.n_groups)]
        self.optimal_value = 0.0
        self.largest_util = 0

    def _check_size(self) -> None:
        """Refuse an instance whose worst run would exceed ``max_util_entries`` (see the class docstring)."""
        inst = self.sim.instance
        limit = self.options.max_util_entries
        for group in range(inst.n_groups):
            agents = int(self.sim.group_size[group])
            width = max_ready_tasks(inst.graph, np.flatnonzero(inst.task_group == group).tolist())
            entries = util_entries(agents, width)
            if entries > limit:
                raise ConfigError(
                    f"config field 'control_options': dpop refuses this instance: group {group} has {agents} agents "
                    f"and up to {width} tasks ready at once, so a UTIL message may need (ready tasks + 1) ** "
                    f"(agents - 1) = {entries} entries, above the limit max_util_entries={limit}; use fewer agents "
                    "per group or fewer tasks per group, or raise control_options max_util_entries"
                )

    def open_round(self, group: int, tasks: np.ndarray, bidders: list[int]) -> None:
        task_list = [int(t) for t in tasks]
        utility = discounted_scores(self, group, bidders, task_list, self.options.discount)
        result = run_dpop(utility)
        n_agents = len(bidders)
        takers = int((result.choices != NONE).sum())
        self.send(4 * (n_agents - 1))  # pseudo-tree token down and back, UTIL up, VALUE down
        self.send(takers * (int(self.sim.group_size[group]) - 1))  # the decisions, to the groupmates
        self.optimal_value += result.value
        self.largest_util = max(self.largest_util, result.largest_util)
        self._pending[group] = [(task_list[j], bidders[i]) for i, j in enumerate(result.choices.tolist()) if j != NONE]
        self.after_hops(4 * (n_agents - 1) + 1, self._decided, group)

    def _decided(self, group: int) -> None:
        pending, self._pending[group] = self._pending[group], []
        for task, agent in pending:
            self.award(task, agent, messages=0, hops=0)  # the decision broadcast was the award
        self.end_round(group, retry=bool(pending))

    def mechanism_stats(self) -> dict:
        stats = super().mechanism_stats()
        stats.update(optimal_value=self.optimal_value, largest_util=self.largest_util)
        return stats

    @classmethod
    def max_negotiation_hops(cls, config: CESConfig) -> int:
        largest_group = -(-config.n_agents // config.n_groups)
        return 4 * (largest_group - 1) + 1


__all__ = ["DPOPControl", "DPOPOptions", "DPOPResult", "NONE", "max_ready_tasks", "run_dpop", "util_entries"]

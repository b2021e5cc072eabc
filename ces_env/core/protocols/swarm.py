"""Swarm allocation through the environment: ant-colony pheromones (``aco``) and response thresholds
(``response-threshold``).

Neither mechanism negotiates. The group's tasks sit on a shared *task board* (the environment of stigmergy): an agent
with nothing to do reads it, picks a task by its own probabilistic rule and writes a mark on it. Both protocols share
:class:`StigmergyProtocol`, which runs that cycle on the negotiation base (``negotiation.py``), so that their time,
messages and validation are those of every other mechanism:

* **A round** opens when the group has ready unmarked tasks and agents with nothing to do (``queue_limit``). Each of
  them reads the board (free: it is the environment) and chooses a task, or none, on its own, without seeing the
  others' choices of this round. Each choice is a mark written on the board: 1 message, visible to all one hop
  (``negotiation_latency_ticks``) later. Then two marks on one task conflict: the lower agent id keeps it, every other
  one is counted in ``conflicts`` and chooses again in the next round. The agent starts when its mark has landed.
  A task therefore waits at least one hop.
* **Random draws** come from one generator per episode and mechanism, ``sim.random_stream(name)``, derived from the
  episode's seed: the same seed gives the same episode, two policies on one seed see the same draws, and no global
  random state is touched.
* Solutions are validated by the peers (:class:`PeerValidation`), as under decentralized control.
"""

from __future__ import annotations

import dataclasses
import math
from abc import abstractmethod
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ces_env.core.protocols.base import register_control
from ces_env.core.protocols.negotiation import NegotiationOptions, NegotiationProtocol, PeerValidation, estimated_cost
from ces_env.types import Instance, TaskStatus

if TYPE_CHECKING:
    from ces_env.config import CESConfig
    from ces_env.core.simulator import CESSimulator


class StigmergyProtocol(NegotiationProtocol):
    """The task-board cycle shared by the swarm mechanisms (see the module docstring). A subclass implements
    :meth:`choose_task` and may react to :meth:`task_completed`."""

    validation: ClassVar[type[PeerValidation]] = PeerValidation
    hops_before_start: ClassVar[int] = 1

    def __init__(self, sim: CESSimulator) -> None:
        super().__init__(sim)
        self.rng = sim.random_stream(self.name)
        self.conflicts = 0
        self.marks = 0
        self._marks: list[dict[int, list[int]]] = [{} for _ in range(sim.instance.n_groups)]
        self._submitted = np.full(sim.instance.n_agents, -1, dtype=np.int64)

    @abstractmethod
    def choose_task(self, agent: int, group: int, tasks: np.ndarray) -> int:
        """The index into ``tasks`` (the group's unmarked ready tasks, highest reward first) ``agent`` marks, or -1."""
        ...

    def task_completed(self, agent: int, task: int) -> None:
        """``agent``'s solution of ``task`` was validated (called before the agent's next round)."""

    def open_round(self, group: int, tasks: np.ndarray, bidders: list[int]) -> None:
        marks: dict[int, list[int]] = {}
        for agent in bidders:
            choice = self.choose_task(agent, group, tasks)
            if choice >= 0:
                marks.setdefault(int(tasks[choice]), []).append(agent)
        chosen = sum(len(agents) for agents in marks.values())
        self.send(chosen)  # one board write per mark
        self.marks += chosen
        self._marks[group] = marks
        if chosen:
            self.after_hops(1, self._marks_landed, group)
        else:  # nobody took anything: look again one hop (at least one tick) later
            self.sim.schedule(self.sim.time + max(1, self.latency), self._nothing_marked, group)

    def _marks_landed(self, group: int) -> None:
        marks, self._marks[group] = self._marks[group], {}
        for task, agents in sorted(marks.items()):
            winner = min(agents)
            for loser in agents:
                if loser != winner:
                    self.sim.add_conflict()
                    self.conflicts += 1
            self.award(task, winner, messages=0, hops=0)  # the mark was the message
        self.end_round(group)

    def _nothing_marked(self, group: int) -> None:
        self.end_round(group)

    # the agent's cycle: remember what it submitted, to learn whether it was validated
    def submit(self, agent: int) -> None:
        self._submitted[agent] = int(self.sim.agent_task[agent])
        super().submit(agent)

    def agent_available(self, agent: int) -> None:
        self._report_validated(agent)
        super().agent_available(agent)

    def group_finished(self, group: int) -> None:
        """The group's last validation frees no agent (they finish): report it here."""
        for agent in self.sim.instance.group_agents(group).tolist():
            self._report_validated(agent)
        super().group_finished(group)

    def _report_validated(self, agent: int) -> None:
        task = int(self._submitted[agent])
        if task >= 0 and self.sim.task_status[task] != TaskStatus.VALIDATING:
            self._submitted[agent] = -1
            if self.sim.task_status[task] == TaskStatus.DONE:
                self.task_completed(agent, task)

    def mechanism_stats(self) -> dict:
        stats = super().mechanism_stats()
        stats.update(conflicts=self.conflicts, marks=self.marks)
        return stats


# ------------------------------------------------------------------------------------------------------------- ACO
@dataclasses.dataclass(frozen=True)
class ACOOptions(NegotiationOptions):
    """Options of ``aco``."""

    alpha: float = 1.0
    """Weight of the pheromone in the choice (>= 0)."""
    beta: float = 2.0
    """Weight of the heuristic (reward per estimated tick) in the choice (>= 0)."""
    evaporation: float = 0.01
    """Fraction of the deposited pheromone that evaporates per tick, in [0, 1]."""
    class_deposit: float = 1.0
    """Pheromone an agent deposits, on completing a task, on every unfinished task of the same inference class
    (the group now knows that solution) (>= 0)."""
    successor_deposit: float = 1.0
    """Pheromone deposited, on completing a task, on each of its successors (work that the completion opened) (>= 0)."""

    OPTION_BOUNDS = {  # noqa: RUF012
        "alpha": (0.0, None),
        "beta": (0.0, None),
        "evaporation": (0.0, 1.0),
        "class_deposit": (0.0, None),
        "successor_deposit": (0.0, None),
    }


@register_control
class ACOControl(StigmergyProtocol):
    """Ant-colony task allocation by stigmergy (M. Dorigo, V. Maniezzo and A. Colorni, "Ant System: Optimization by
    a Colony of Cooperating Agents", IEEE Trans. SMC-B 26(1), 1996; the random-proportional rule applied to picking
    tasks from a shared board).

    **Choice.** An agent with nothing to do picks one of its group's unmarked ready tasks j with probability
    proportional to ``tau_j ** alpha * eta_ij ** beta``. The heuristic ``eta_ij`` is the task's reward per tick the
    agent expects it to take (:func:`~ces_env.core.protocols.negotiation.estimated_cost` plus a validation: a replay
    when it knows the class, else the maze's size over its speed), scaled by the best one. The pheromone is
    ``tau_j = 1 + deposits``, so an unmarked trail never shuts a task out.

    **Pheromone.** When an agent's solution is validated it deposits ``class_deposit`` on every unfinished task of the
    same inference class (the group knows that solution now: those tasks are replays) and ``successor_deposit`` on
    every successor of the task; deposits evaporate at ``evaporation`` per tick. A deposit is one write to the board:
    1 message per completed task. Choices are marks on the board (see :mod:`ces_env.core.protocols.swarm`); draws come
    from ``sim.random_stream``.
    """

    name: ClassVar[str] = "aco"
    description: ClassVar[str] = "ant colony: agents pick tasks by pheromone x reward per estimated tick"
    Options: ClassVar[type] = ACOOptions

    def __init__(self, sim: CESSimulator) -> None:
        super().__init__(sim)
        self.deposits = np.zeros(sim.instance.n_tasks)
        self._evaporated_at = 0
        self.deposit_writes = 0

    def pheromone(self) -> np.ndarray:
        """(m,) the pheromone on every task now: 1 plus the evaporated deposits."""
        self._evaporate()
        return 1.0 + self.deposits

    def choose_task(self, agent: int, group: int, tasks: np.ndarray) -> int:
        sim, options = self.sim, self.options
        validation = self.validation_ticks()
        known = self.known_after_backlog(agent)
        cost = np.array([estimated_cost(sim, agent, int(t), known) + validation for t in tasks], dtype=np.float64)
        eta = sim.instance.rewards[tasks] / cost
        weights = self.pheromone()[tasks] ** options.alpha * (eta / eta.max()) ** options.beta
        return int(self.rng.choice(len(tasks), p=weights / weights.sum()))

    def task_completed(self, agent: int, task: int) -> None:
        sim, options = self.sim, self.options
        self._evaporate()
        inst = sim.instance
        same_class = (inst.task_class == inst.task_class[task]) & (sim.task_status != TaskStatus.DONE)
        self.deposits[same_class] += options.class_deposit
        self.deposits[inst.successors(task)] += options.successor_deposit
        self.send(1)  # the deposit, written on the board
        self.deposit_writes += 1

    def _evaporate(self) -> None:
        elapsed = self.sim.time - self._evaporated_at
        if elapsed > 0:
            self.deposits *= (1.0 - self.options.evaporation) ** elapsed
            self._evaporated_at = self.sim.time

    def mechanism_stats(self) -> dict:
        stats = super().mechanism_stats()
        stats.update(deposit_writes=self.deposit_writes)
        return stats


# ---------------------------------------------------------------------------------------------- response thresholds
TASK_TYPES = ("class", "depth")


@dataclasses.dataclass(frozen=True)
class ResponseThresholdOptions(NegotiationOptions):
    """Options of ``response-threshold``."""

    task_type: str = "class"
    """What a threshold is kept for: ``"class"`` (a task's inference class: an agent specialises in mazes) or
    ``"depth"`` (a task's depth in the dependency graph)."""
    initial_threshold: float = 1.0
    """Every agent's threshold for every type at the start."""
    stimulus_ticks: float = 10.0
    """A ready task's stimulus is ``1 + (ticks it has waited ready) / stimulus_ticks`` (> 0)."""
    learning: float = 0.2
    """Amount an agent's threshold for a type falls when it completes a task of that type (>= 0)."""
    forgetting: float = 0.05
    """Amount its thresholds for the other types rise at the same time (>= 0)."""
    min_threshold: float = 0.1
    """Lower clamp of the thresholds (> 0)."""
    max_threshold: float = 4.0
    """Upper clamp of the thresholds (>= ``min_threshold``); it also bounds how long a task waits unchosen."""

    OPTION_BOUNDS = {  # noqa: RUF012
        "initial_threshold": (1e-9, None),
        "stimulus_ticks": (1e-9, None),
        "learning": (0.0, None),
        "forgetting": (0.0, None),
        "min_threshold": (1e-9, None),
        "max_threshold": (1e-9, None),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.task_type not in TASK_TYPES:
            raise ValueError(
                f"option 'task_type' must be one of {', '.join(map(repr, TASK_TYPES))}, got {self.task_type!r}"
            )
        if not self.min_threshold <= self.initial_threshold <= self.max_threshold:
            raise ValueError(
                "options need min_threshold <= initial_threshold <= max_threshold, got "
                f"{self.min_threshold} <= {self.initial_threshold} <= {self.max_threshold}"
            )


def task_depths(instance: Instance) -> np.ndarray:
    """(m,) the longest dependency path from a source to each task, in tasks (sources have depth 0)."""
    depth = np.zeros(instance.n_tasks, dtype=np.int64)
    for task in range(instance.n_tasks):  # ids are topological
        preds = instance.predecessors(task)
        if preds.size:
            depth[task] = int(depth[preds].max()) + 1
    return depth


@register_control
class ResponseThresholdControl(StigmergyProtocol):
    """Response-threshold task allocation (E. Bonabeau, G. Theraulaz and J.-L. Deneubourg, "Fixed Response
    Thresholds and the Regulation of Division of Labor in Insect Societies", Bull. Math. Biol. 60, 1998; threshold
    learning and forgetting after G. Theraulaz, E. Bonabeau and J.-L. Deneubourg, Proc. R. Soc. B 265, 1998).

    **Stimulus.** A ready task's stimulus grows with the time it has waited ready and unmarked:
    ``s_j = 1 + wait_j / stimulus_ticks`` (a rejected task waits afresh).

    **Response.** Agent i keeps a threshold ``theta_ic`` per task type c (the task's inference class, or its depth in
    the dependency graph: ``task_type``). With nothing to do it considers the board's tasks by stimulus (largest
    first, then reward) and engages in each with probability ``s^2 / (s^2 + theta^2)``; it marks the first it
    engages in, or none. If nobody of the round engages, the round still lasts one hop (at least one tick) and the
    agents look again then, when the stimuli have grown.

    **Learning.** When an agent's solution of a type-c task is validated its ``theta_ic`` falls by ``learning`` and
    its other thresholds rise by ``forgetting``, within ``[min_threshold, max_threshold]``: agents specialise.
    Thresholds are the agent's own: learning sends nothing. Marks, conflicts and draws as in
    :mod:`ces_env.core.protocols.swarm`.
    """

    name: ClassVar[str] = "response-threshold"
    description: ClassVar[str] = "response thresholds: agents engage with probability s^2/(s^2+theta^2)"
    Options: ClassVar[type] = ResponseThresholdOptions

    def __init__(self, sim: CESSimulator) -> None:
        super().__init__(sim)
        inst, options = sim.instance, self.options
        self.task_type = inst.task_class.astype(np.int64) if options.task_type == "class" else task_depths(inst)
        n_types = int(self.task_type.max()) + 1
        self.thresholds = np.full((inst.n_agents, n_types), float(options.initial_threshold))
        self.ready_since = np.full(inst.n_tasks, -1, dtype=np.int64)
        self.ready_since[sim.task_status == TaskStatus.READY] = sim.start_time
        self.engagement_draws = 0

    def stimulus(self, tasks: np.ndarray) -> np.ndarray:
        """The stimulus of each of ``tasks`` (ready, unmarked) now."""
        waited = np.maximum(0, self.sim.time - self.ready_since[tasks])
        return 1.0 + waited / self.options.stimulus_ticks

    def choose_task(self, agent: int, group: int, tasks: np.ndarray) -> int:
        stimulus = self.stimulus(tasks)
        theta = self.thresholds[agent, self.task_type[tasks]]
        engage = stimulus**2 / (stimulus**2 + theta**2)
        order = np.lexsort((np.arange(len(tasks)), -stimulus))  # largest stimulus, then slot (reward) order
        for k in order.tolist():
            self.engagement_draws += 1
            if self.rng.random() < engage[k]:
                return k
        return -1

    def tasks_ready(self, group: int) -> None:
        sim = self.sim
        order = sim.group_order[group]
        fresh = order[(sim.task_status[order] == TaskStatus.READY) & (self.ready_since[order] < 0)]
        self.ready_since[fresh] = sim.time
        super().tasks_ready(group)

    def award(
        self,
        task: int,
        agent: int,
        price: float | None = None,
        *,
        messages: int = 1,
        hops: int = 1,
        true_cost: float | None = None,
    ) -> None:
        super().award(task, agent, price, messages=messages, hops=hops, true_cost=true_cost)
        # held: it no longer waits (a rejected solution makes it wait afresh); not held when the winner went down
        # since it engaged (the task stays ready and keeps its wait)
        if self.sim.task_holder[task] == agent:
            self.ready_since[task] = -1

    def task_completed(self, agent: int, task: int) -> None:
        options = self.options
        kind = int(self.task_type[task])
        row = self.thresholds[agent]
        row += options.forgetting
        row[kind] -= options.forgetting + options.learning
        np.clip(row, options.min_threshold, options.max_threshold, out=row)

    def mechanism_stats(self) -> dict:
        stats = super().mechanism_stats()
        stats.update(engagement_draws=self.engagement_draws)
        return stats

    @classmethod
    def max_negotiation_hops(cls, config: CESConfig) -> int:
        """Hops until a waiting task's engagement probability reaches 0.99 even at ``max_threshold`` (stimulus 10x
        the threshold), plus the mark's hop: after that, a task stays unchosen with negligible probability."""
        return 1 + math.ceil(cls._engagement_wait(config) / max(1, config.negotiation_latency_ticks))

    @classmethod
    def max_task_overhead(cls, config: CESConfig) -> int:
        """The engagement wait in ticks (rounds that engage nobody last at least one tick even at zero latency), the
        mark's hop and the validation."""
        wait = math.ceil(cls._engagement_wait(config)) + max(1, config.negotiation_latency_ticks)
        return wait + config.negotiation_latency_ticks + cls.validation.ticks(config)

    @classmethod
    def _engagement_wait(cls, config: CESConfig) -> float:
        options = cls.make_options(dict(config.control_options))
        return max(0.0, 10.0 * options.max_threshold - 1.0) * options.stimulus_ticks


__all__ = [
    "ACOControl",
    "ACOOptions",
    "ResponseThresholdControl",
    "ResponseThresholdOptions",
    "StigmergyProtocol",
    "task_depths",
]

"""Scripted baseline policies: the paper's CES rule under each control, a uniform random policy, and two strong
scripted references: a knowledge-aware rule and a HEFT-like list scheduler with expected durations.

Every policy here acts only on what the environment shows: the per-agent observations with their action masks, the
public action spaces, ``env.unwrapped.config`` (sizes, maze size, explorer) and the infos (each agent's group and the
task ids of its slots). None reads the simulator. Each is a :class:`ces_env.policies.ScriptedPolicy`: maze moves in the
steered mode (``exploration_mode="steered"``) come from the same :class:`ces_env.policies.DepthFirstWalker`, so that
the policies differ only in how they choose tasks. The two CES policies are ``ces_env``'s :class:`RewardFirstPolicy`,
bound to one control each; ``knowledge-aware`` and ``heft`` are :class:`GroupScheduler` s, which hand out distinct tasks
among the deciding agents of a group.

Observation features are read by name through the layout of ``ces_env.observations`` (``AGENT_INDEX``,
``SLOT_INDEX``); slots list the group's ready tasks by reward descending, then task id ascending.
"""

from __future__ import annotations

import functools
from abc import abstractmethod
from typing import ClassVar, NamedTuple

import numpy as np

from ces_baselines.registry import register
from ces_env.maze import EXPLORERS, generate_maze
from ces_env.observations import AGENT_INDEX, SLOT_INDEX
from ces_env.policies import Actions, Infos, Observations, RewardFirstPolicy, ScriptedPolicy, env_config

_SPEED = AGENT_INDEX["speed"]
_VALID, _KNOWN, _RANK = SLOT_INDEX["valid"], SLOT_INDEX["known"], SLOT_INDEX["upward_rank"]
_SUCCESSORS, _IN_PROGRESS = SLOT_INDEX["successors"], SLOT_INDEX["class_in_progress"]


@register
class CESCentralized(RewardFirstPolicy):
    """The paper's CES rule under centralized control.

    The group's controller hands ready tasks to available agents, highest reward first. Under centralized control
    only the agent at the head of its group controller's FIFO queue decides at a step, and the controller reserves
    the task at once, so "every deciding agent takes slot 1" is exactly the controller's rule: no task is given
    twice and there are no conflicts.
    """

    name: ClassVar[str] = "ces-centralized"
    description: ClassVar[str] = "CES, centralized: the group controller assigns the highest-reward ready task"
    required_config: ClassVar[dict] = {"control": "centralized"}


@register
class CESDecentralized(RewardFirstPolicy):
    """The paper's CES rule under decentralized control.

    Each available agent pulls the highest-reward ready task of its group (slot 1) and broadcasts its claim. When
    several agents of a group decide at the same tick (or within the claim latency) they all pull the same task and
    all but the earliest claim conflict and lose the latency. That is the protocol's real cost, the thing the
    centralized/decentralized comparison measures, so this policy deliberately does not coordinate it away.
    """

    name: ClassVar[str] = "ces-decentralized"
    description: ClassVar[str] = "CES, decentralized: each available agent claims the highest-reward ready task"
    required_config: ClassVar[dict] = {"control": "decentralized"}


@register
class RandomPolicy(ScriptedPolicy):
    """Uniform over the legal task actions of the mask, wait included, from the policy's seeded generator.

    Runs under whatever control the config sets. In the steered mode maze moves use the shared depth-first walker
    like every scripted policy (a uniform random walk in the maze says nothing about scheduling and can take
    quadratically many moves); only the choice of tasks is random.
    """

    name: ClassVar[str] = "random"
    description: ClassVar[str] = "uniform over the legal actions (wait included); depth-first maze moves"

    def choose_tasks(self, agents, observations, infos):
        actions = {}
        for agent in agents:
            legal = np.flatnonzero(observations[agent]["action_mask"][: self.first_move])
            actions[agent] = int(legal[self.rng.integers(len(legal))])
        return actions


class GroupDecision(NamedTuple):
    """What a :class:`GroupScheduler` decides on: the deciding agents of one group at one step."""

    group: int
    members: list[str]  # the group's deciding agents, in agent order
    free: list[int]  # the slots (0-based) they may take: legal and not handed out yet
    observations: Observations
    infos: Infos
    may_wait: bool  # False when the members must take a task now (waiting is masked out)


class GroupScheduler(ScriptedPolicy):
    """A scripted policy that hands out distinct tasks among the deciding agents of each group.

    Under decentralized control several agents of a group may decide at the same tick; with identical rules they
    would all claim the same slot, and all claims but one would conflict. A scheduler subclass says, per group, which
    slot each of the group's deciders takes (:meth:`assign`); this base gives it only slots not handed out yet, and
    remembers the task ids it handed out (``info["candidates"]``) until they leave the group's slots: a claimed task
    stays visible to the peers for ``claim_latency_ticks``, and a second claim on it would conflict. Under centralized
    control one agent per group decides at a step and the controller reserves the task at once, so the memory never
    bites there.

    A decider that :meth:`assign` leaves without a slot waits. If waiting is masked out (the env asks again with wait
    masked when nothing else would happen), the scheduler is asked again for those agents with ``may_wait=False``
    (over the free slots, or every legal slot if none is free), and an agent still left over takes its first legal
    slot.
    """

    def reset(self, env, seed: int) -> None:
        super().reset(env, seed)
        self._handed_out: dict[int, set[int]] = {}

    def act(self, observations: Observations, infos: Infos) -> Actions:
        # forget hand-outs that no longer appear among their group's slots (claimed, started or done)
        visible: dict[int, set[int]] = {}
        for info in infos.values():
            visible.setdefault(info["group"], set()).update(int(t) for t in info["candidates"] if t >= 0)
        for group in list(self._handed_out):
            self._handed_out[group] &= visible.get(group, set())
        return super().act(observations, infos)

    def choose_tasks(self, agents: list[str], observations: Observations, infos: Infos) -> Actions:
        by_group: dict[int, list[str]] = {}
        for agent in agents:
            by_group.setdefault(infos[agent]["group"], []).append(agent)
        actions = {}
        for group, members in by_group.items():
            handed = self._handed_out.setdefault(group, set())
            tasks = infos[members[0]]["candidates"]  # the group's slots: the same for every member
            legal = [k for k in range(self.n_slots) if all(observations[a]["action_mask"][1 + k] for a in members)]
            free = [k for k in legal if int(tasks[k]) not in handed]
            decision = GroupDecision(group, members, free, observations, infos, may_wait=True)
            choice = self.assign(decision)
            forced = [a for a in members if a not in choice and not observations[a]["action_mask"][0]]
            if forced:
                choice.update(self.assign(decision._replace(members=forced, free=free or legal, may_wait=False)))
            for agent in members:
                if agent in choice:
                    handed.add(int(tasks[choice[agent]]))
                    actions[agent] = 1 + choice[agent]
                else:
                    mask = observations[agent]["action_mask"]
                    actions[agent] = 0 if mask[0] else int(np.flatnonzero(mask[1 : self.first_move])[0]) + 1
        return actions

    @abstractmethod
    def assign(self, decision: GroupDecision) -> dict[str, int]:
        """The slot (0-based, among ``decision.free``, each at most once) each of ``decision.members`` takes; an
        agent left out waits."""


@register
class KnowledgeAwarePolicy(GroupScheduler):
    """The strong scripted reference: exploration is what costs, so never explore a maze twice at once.

    Replaying a known solution takes a few dozen ticks; exploring a maze takes about ten times more (20x20) and the
    ratio grows with the maze. Each deciding agent of a group, in agent order, takes among the slots not yet handed out
    at this step (distinct tasks, see :class:`GroupScheduler`) the first by:

    1. a task whose solution the agent knows (slot feature ``known``) before one it must explore;
    2. never a task whose maze a groupmate is exploring right now (``class_in_progress``) when another task is ready:
       its solution is on the way and the task will then be a replay. If every remaining task is such a task, the
       agent waits (a wait lasts until something changes in the group, e.g. that solution arrives); it takes one only
       when waiting is masked out;
    3. then the highest upward rank (``upward_rank``, the critical-path priority);
    4. then reward: the lower slot (slots are sorted by reward descending, then task id).

    Step 2's wait when only explored mazes remain goes beyond "take any other task first": on 100 seeds of ``small``
    it is worth 9-11% of ET over taking such a task at once (1,235 vs 1,388 ticks centralized, 1,320 vs 1,448
    decentralized). Defined for both controls.
    """

    name: ClassVar[str] = "knowledge-aware"
    description: ClassVar[str] = (
        "known solutions first, never a maze a groupmate is exploring, then upward rank, then reward; distinct tasks"
    )

    def assign(self, decision: GroupDecision) -> dict[str, int]:
        choice = {}
        pool = list(decision.free)
        for agent in decision.members:
            if not pool:
                break
            slots = self.slots(decision.observations[agent]["observation"])
            best = min(pool, key=lambda k: self.preference(slots, k))
            if decision.may_wait and _explored_by_groupmate(
                slots, best
            ):  # only such tasks remain: wait for the solution
                continue
            pool.remove(best)
            choice[agent] = best
        return choice

    @staticmethod
    def preference(slots: np.ndarray, k: int) -> tuple[bool, bool, float, int]:
        """Sort key of slot ``k`` (smaller is better): known first, then not being explored, rank, slot order."""
        return (slots[k, _KNOWN] < 0.5, _explored_by_groupmate(slots, k), -float(slots[k, _RANK]), k)


def _explored_by_groupmate(slots: np.ndarray, k: int) -> bool:
    """The agent does not know slot ``k``'s solution and a groupmate is exploring its maze right now."""
    return bool(slots[k, _KNOWN] < 0.5 and slots[k, _IN_PROGRESS] > 0.5)


class MazeCosts(NamedTuple):
    """Expected cost of one task in maze moves (ticks at speed 1) for a maze of a given size and explorer."""

    replay: float  # walking the solution: its expected length
    explore: float  # finding it: the explorer's expected moves

    @property
    def ratio(self) -> float:
        """How many replays one exploration costs."""
        return self.explore / self.replay


@functools.lru_cache(maxsize=64)
def expected_maze_costs(height: int, width: int, explorer: str, samples: int = 16) -> MazeCosts:
    """Expected solution length and exploration moves of a random maze of this size, from the public generator.

    Estimated once per process and size by drawing ``samples`` mazes and explorations from a fixed seed (public
    knowledge of the model, the same for every episode; the episode's own mazes stay hidden). A random walk is not
    sampled (it can take millions of moves): its expected hitting time in a tree of ``n`` cells is close to
    ``n`` times the solution length (measured: 0.8-1.0 at 8x8 to 40x40).
    """
    rng = np.random.default_rng(0)
    mazes = [generate_maze(height, width, rng) for _ in range(samples)]
    replay = float(np.mean([maze.solution_length for maze in mazes]))
    if explorer == "random_walk":
        return MazeCosts(replay, height * width * replay)
    explore = float(np.mean([EXPLORERS[explorer](maze, rng).moves for maze in mazes]))
    return MazeCosts(replay, explore)


@register
class HEFTPolicy(GroupScheduler):
    """A HEFT-like list scheduler over expected durations: the "what a scheduler would do" reference.

    HEFT orders tasks by upward rank over expected costs, then gives each task, in that order, to the processor that
    finishes it earliest. Here a task's cost depends on what the agent knows: a known class replays its solution
    (``replay`` moves), an unknown one explores its maze (``explore`` moves, about ten replays at 20x20; see
    :func:`expected_maze_costs`, for the config's maze size and explorer, ``dfs`` in the steered mode; divided by
    ``1 - solution_error_prob`` as a slipped exploration is redone). In units of one replay at speed 1, agent ``a``
    (speed feature ``s_a``) needs ``d(a, t) = 1 / s_a`` if it knows task ``t``'s class, else ``ratio / s_a``.

    Per group, at every step, over the slots not yet handed out (distinct tasks, see :class:`GroupScheduler`):

    1. **Priority** (HEFT's expected upward rank): ``upward_rank(t) + u * (mean_a d(a, t) * s_max - 1)``. The slot
       feature ``upward_rank`` is the longest path to a sink over *minimal* durations (replays at the group's fastest
       speed ``s_max``) over the instance's largest rank ``R``; the second term replaces the task's own minimal
       duration by its expected one (mean over the deciding agents). ``u``, one task's minimal duration as a share of
       ``R``, is estimated as the mean ``upward_rank`` of the sinks seen so far in the episode (``successors == 0``:
       a sink's rank is its own duration), or the smallest rank seen before any sink. Successors keep their minimal
       durations (the observation does not show what the group knows of them). With 20x20 mazes an unknown task's own
       exploration outweighs any rank difference, so explorations start first, the longest tasks first, as in HEFT.
    2. **Earliest finish**: in priority order, each task goes to the free deciding agent with the smallest
       ``d(a, t)`` (the fastest; with private knowledge, one that knows it; ties: lower agent id). A task whose maze a
       groupmate is exploring right now (``class_in_progress``, unknown to the agent) finishes earliest on that side:
       the groupmate is on average half-way, ``ratio / 2`` at the group's mean speed, and then replays it; if that
       beats ``d(a, t)`` the task is left for later.
    3. A deciding agent left without a task waits (until something changes in the group).
    """

    name: ClassVar[str] = "heft"
    description: ClassVar[str] = (
        "HEFT-like: expected upward rank (explorations cost more than replays), earliest finish, distinct tasks"
    )

    def reset(self, env, seed: int) -> None:
        super().reset(env, seed)
        config = env_config(env)
        explorer = "dfs" if config.exploration_mode == "steered" else config.explorer
        costs = expected_maze_costs(*config.maze_shape, explorer)
        # a slipped exploration is redone: 1/(1-p) explorations per task (p may be 1: nothing ever succeeds)
        self.explore_ratio = costs.ratio / max(1.0 - config.solution_error_prob, 1e-6)
        self._sink_ranks: dict[int, float] = {}
        self._smallest_rank = 1.0

    def act(self, observations: Observations, infos: Infos) -> Actions:
        seen = set()
        for agent, obs in observations.items():  # slots are per group: one member's view suffices
            if infos[agent]["group"] in seen:
                continue
            seen.add(infos[agent]["group"])
            slots = self.slots(obs["observation"])
            valid = slots[:, _VALID] > 0.5
            if valid.any():
                self._smallest_rank = min(self._smallest_rank, float(slots[valid, _RANK].min()))
            for k in np.flatnonzero(valid & (slots[:, _SUCCESSORS] == 0)):
                self._sink_ranks[int(infos[agent]["candidates"][k])] = float(slots[k, _RANK])
        return super().act(observations, infos)

    def task_share(self) -> float:
        """``u``: one task's minimal duration as a share of the largest upward rank (see the class docstring)."""
        if self._sink_ranks:
            return float(np.mean(list(self._sink_ranks.values())))
        return self._smallest_rank

    def assign(self, decision: GroupDecision) -> dict[str, int]:
        group, members, free, observations, infos, may_wait = decision
        speeds = {a: float(obs["observation"][_SPEED]) for a, obs in observations.items() if infos[a]["group"] == group}
        fastest, mean_speed = max(speeds.values()), float(np.mean(list(speeds.values())))
        slots = {a: self.slots(observations[a]["observation"]) for a in members}

        def duration(agent: str, k: int) -> float:
            return (1.0 if slots[agent][k, _KNOWN] > 0.5 else self.explore_ratio) / speeds[agent]

        share = self.task_share()
        rank = slots[members[0]][:, _RANK]
        priority = {
            k: float(rank[k]) + share * (np.mean([duration(a, k) for a in members]) * fastest - 1.0) for k in free
        }
        choice: dict[str, int] = {}
        available = list(members)
        for k in sorted(free, key=lambda k: (-priority[k], k)):
            if not available:
                break
            agent = min(available, key=lambda a: (duration(a, k), self._index(a)))
            by_explorer = (self.explore_ratio / 2 + 1.0) / mean_speed  # half-way on average, then a replay
            if may_wait and _explored_by_groupmate(slots[agent], k) and by_explorer < duration(agent, k):
                continue
            available.remove(agent)
            choice[agent] = k
        return choice

    def _index(self, agent: str) -> int:
        return self.env.possible_agents.index(agent)


__all__ = [
    "ScriptedPolicy",
    "GroupScheduler",
    "GroupDecision",
    "CESCentralized",
    "CESDecentralized",
    "RandomPolicy",
    "KnowledgeAwarePolicy",
    "HEFTPolicy",
    "MazeCosts",
    "expected_maze_costs",
]

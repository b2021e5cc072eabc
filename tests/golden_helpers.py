"""Helpers of the golden-episode and semantic tests: hand-built mazes and instances, a scripted episode runner, and
named access to observation features.

Everything here goes through the public API (``ces_env.parallel_env``, ``reset(options={"instance": ...})``, ``step``,
infos, ``env.metrics()``, ``env.state()``). The one exception is :func:`tick`, the current simulated time, which the
public API does not expose yet (the event trace of issue 14 will): it is read in that one function only, so that the
change is one line when the trace exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

import ces_env
from ces_env.config import CESConfig, make_config
from ces_env.env import CESParallelEnv
from ces_env.generator import assemble_instance
from ces_env.maze import EAST, NORTH, OPEN_BIT, SOUTH, WEST, Maze
from ces_env.observations import agent_feature_index, slot_feature_index
from ces_env.types import Instance

# --------------------------------------------------------------------------------------------------------------- time


FREE = dict(
    split_ticks_per_group=0,
    collect_ticks_per_group=0,
    assign_service_ticks=0,
    validate_service_ticks=0,
    claim_latency_ticks=0,
    peer_validate_ticks=0,
)
"""Every protocol and system cost at zero (config fields): an episode is then its walks alone."""


def tick(env: CESParallelEnv) -> int:
    """The env's current tick. The ONLY place the tests read simulator internals (until the event trace of issue 14)."""
    return int(env.unwrapped.sim.time)


# -------------------------------------------------------------------------------------------------------------- mazes


def _open(passages: np.ndarray, width: int, a: int, b: int) -> None:
    """Open the wall between neighbouring cells ``a`` and ``b`` (flat indices) on both sides."""
    (ra, ca), (rb, cb) = divmod(a, width), divmod(b, width)
    if ra == rb and cb == ca + 1:
        passages[ra, ca] |= OPEN_BIT[EAST]
        passages[rb, cb] |= OPEN_BIT[WEST]
    elif ra == rb and cb == ca - 1:
        passages[ra, ca] |= OPEN_BIT[WEST]
        passages[rb, cb] |= OPEN_BIT[EAST]
    elif ca == cb and rb == ra + 1:
        passages[ra, ca] |= OPEN_BIT[SOUTH]
        passages[rb, cb] |= OPEN_BIT[NORTH]
    elif ca == cb and rb == ra - 1:
        passages[ra, ca] |= OPEN_BIT[NORTH]
        passages[rb, cb] |= OPEN_BIT[SOUTH]
    else:
        raise ValueError(f"cells {a} and {b} are not neighbours")


def _maze_from_tree(height: int, width: int, links: list[tuple[int, int]], start: int, solution: list[int]) -> Maze:
    passages = np.zeros((height, width), dtype=np.uint8)
    for a, b in links:
        _open(passages, width, a, b)
    return Maze(passages=passages, start=start, target=solution[-1], solution=np.array(solution))


def corridor_maze(length: int) -> Maze:
    """A maze whose exploration is forced: ``length`` moves for every explorer, and a solution of ``length`` moves.

    The passages form one snake (boustrophedon) through a 2 x W grid, a path with no branch; the start is one end of
    the snake and the target the cell ``length`` steps along it. From the start there is only one way to go, and
    every cell before the target has exactly one unvisited neighbour, so a depth-first walk (whatever its random
    direction order) and a wall follower both make exactly ``length`` moves; a replay also walks ``length`` cells.
    """
    if length < 1:
        raise ValueError("a corridor needs at least one move")
    width = max(2, -(-(length + 1) // 2))
    snake = [c for c in range(width)] + [width + c for c in reversed(range(width))]
    links = list(zip(snake[:-1], snake[1:]))
    return _maze_from_tree(2, width, links, start=snake[0], solution=snake[: length + 1])


def dead_end_maze() -> Maze:
    """A 2x3 maze where the wall follower explores a dead end first: 7 exploring moves, a 3-move solution.

    Cells::

        0 1 2      start 1, target 4; passages 1-2, 2-5 (a dead end), 1-0, 0-3, 3-4 (the way)
        3 4 5

    The right-hand rule starts heading north. At 1 it tries east first: 1->2 (1), south 2->5 (2), 5 is a dead end so
    back 5->2 (3) and 2->1 (4), then west 1->0 (5), south 0->3 (6), east 3->4 (7): 7 moves. The solution 1-0-3-4 has 3.
    """
    return _maze_from_tree(2, 3, [(1, 2), (2, 5), (1, 0), (0, 3), (3, 4)], start=1, solution=[1, 0, 3, 4])


# ---------------------------------------------------------------------------------------------------------- instances


def build_instance(
    edges: list[tuple[int, int]],
    rewards: list[float],
    task_class: list[int],
    mazes: list[Maze],
    agent_group: list[int],
    task_group: list[int] | None = None,
    agent_speed: list[float] | None = None,
) -> Instance:
    """An instance from hand-made parts (task ids are topological: every edge goes from a lower to a higher id)."""
    n_tasks = len(rewards)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n_tasks))
    graph.add_edges_from(edges)
    n_groups = max(agent_group) + 1
    return assemble_instance(
        graph,
        rewards,
        task_group if task_group is not None else [0] * n_tasks,
        task_class,
        agent_group,
        agent_speed if agent_speed is not None else [1.0] * len(agent_group),
        mazes,
        n_groups=n_groups,
    )


def config_for(instance: Instance, **fields) -> CESConfig:
    """A config matching ``instance``'s sizes, with strict actions (a test that plays an illegal action fails)."""
    fields.setdefault("strict_actions", True)
    return make_config(
        n_tasks=instance.n_tasks, n_agents=instance.n_agents, n_groups=instance.n_groups, maze_size=4, **fields
    )


# ------------------------------------------------------------------------------------------------- observation names


def agent_feature(observation: dict, name: str) -> float:
    """The agent feature called ``name`` (``ces_env.observations.AGENT_FEATURES``) of one agent's observation."""
    return float(observation["observation"][agent_feature_index(name)])


def slot_feature(observation: dict, slot: int, name: str) -> float:
    """Feature ``name`` (``ces_env.observations.SLOT_FEATURES``) of candidate slot ``slot`` (0-based)."""
    return float(observation["observation"][slot_feature_index(slot, name)])


def task_deciders(observations: dict) -> tuple[str, ...]:
    """Agents that must choose a task now, read from the observation feature ``deciding_task``."""
    return tuple(a for a, o in observations.items() if agent_feature(o, "deciding_task") == 1.0)


# ------------------------------------------------------------------------------------------------------ the episodes


@dataclass
class StepRecord:
    """What an observer sees after reset (step 0) or after one step: the tick, who must decide, who was paid what."""

    tick: int
    deciders: tuple[str, ...]
    paid: dict[str, float] = field(default_factory=dict)  # non-zero rewards of the step
    terminated: bool = False
    truncated: bool = False


@dataclass
class Episode:
    env: CESParallelEnv
    records: list[StepRecord]
    observations: dict
    infos: dict

    @property
    def metrics(self) -> dict:
        return self.env.metrics()


def start(instance: Instance, seed: int = 0, **fields) -> tuple[CESParallelEnv, dict, dict, StepRecord]:
    """A fresh env on ``instance`` (config fields as given), reset; returns (env, observations, infos, record 0)."""
    env = ces_env.parallel_env(config=config_for(instance, **fields))
    observations, infos = env.reset(seed=seed, options={"instance": instance})
    return env, observations, infos, StepRecord(tick(env), task_deciders(observations))


def play(instance: Instance, script: list[dict[str, int]], seed: int = 0, **fields) -> Episode:
    """Play ``script`` (one dict of actions per step; agents not named play 0 = wait) until the episode ends.

    Fails if the episode ends before the script does or outlives it: a golden episode is exactly its script.
    """
    env, observations, infos, record = start(instance, seed, **fields)
    records = [record]
    for number, actions in enumerate(script, start=1):
        assert env.agents, f"the episode ended before step {number} of the script"
        full = {agent: actions.get(agent, 0) for agent in env.agents}
        observations, rewards, terminations, truncations, infos = env.step(full)
        records.append(
            StepRecord(
                tick=tick(env),
                deciders=task_deciders(observations),
                paid={a: r for a, r in rewards.items() if r != 0.0},
                terminated=all(terminations.values()),
                truncated=all(truncations.values()),
            )
        )
    assert not env.agents, "the episode goes on after the script's last step"
    return Episode(env, records, observations, infos)

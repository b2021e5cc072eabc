"""Shared cases of the mechanism tests: the registered mechanisms, a hand-checkable two-agent instance, episodes."""

from __future__ import annotations

import networkx as nx
import numpy as np

import ces_env
from ces_baselines.mechanisms import MechanismPolicy
from ces_env.config import make_config
from ces_env.core.protocols import CONTROL_PROTOCOLS, NegotiationProtocol
from ces_env.core.simulator import CESSimulator
from ces_env.generator import assemble_instance
from ces_env.maze import generate_maze
from ces_env.runner import run_episode
from ces_env.types import Instance

MECHANISMS = sorted(name for name, cls in CONTROL_PROTOCOLS.items() if issubclass(cls, NegotiationProtocol))
"""Every registered negotiation mechanism (the tests that loop over them cover mechanisms added later too)."""
PART_ONE = (
    "contract-net",
    "auction-first-price",
    "auction-vickrey",
    "auction-english",
    "auction-dutch",
    "auction-double",
    "vcg",
)

# The two-agent case: one group, agents 0 (speed 1) and 1 (speed 2), one task in a 4x5 maze (20 cells) whose
# class nobody knows. Estimated costs: ceil(19 / 1) = 19 and ceil(19 / 2) = 10 ticks.
TWO_AGENT_SPEEDS = (1.0, 2.0)
TWO_AGENT_COSTS = (19, 10)


def two_agent_instance(n_tasks: int = 1, *, same_class: bool = False, seed: int = 0) -> Instance:
    """One group of two agents (speeds 1 and 2) and ``n_tasks`` independent tasks with rewards n, n-1, ..., 1 in
    4x5 mazes (one class per task, or one shared class)."""
    rng = np.random.default_rng(seed)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n_tasks))
    classes = np.zeros(n_tasks, dtype=np.int64) if same_class else np.arange(n_tasks)
    mazes = [generate_maze(4, 5, rng) for _ in range(int(classes.max()) + 1)]
    return assemble_instance(
        graph,
        np.arange(n_tasks, 0, -1, dtype=np.float64),
        np.zeros(n_tasks),
        classes,
        np.zeros(2),
        np.array(TWO_AGENT_SPEEDS),
        mazes,
        n_groups=1,
    )


def run_on_instance(control: str, instance: Instance, seed: int = 0, **fields):
    """Play one episode of ``control``'s baseline policy on ``instance``; returns (metrics, simulator)."""
    env = ces_env.parallel_env(
        n_agents=instance.n_agents,
        n_groups=instance.n_groups,
        n_tasks=instance.n_tasks,
        maze_size=(4, 5),
        control=control,
        **fields,
    )
    result = run_episode(MechanismPolicy(), env, seed, reset_options={"instance": instance})
    return result.metrics, env.unwrapped.sim


def run_config(control: str, seed: int, **fields):
    """Play one episode of ``control``'s baseline policy on a generated instance; returns (result, simulator)."""
    env = ces_env.parallel_env(control=control, **fields)
    result = run_episode(MechanismPolicy(), env, seed)
    return result, env.unwrapped.sim


def simulator_on(instance: Instance, control: str, seed: int = 0, **fields) -> CESSimulator:
    """A simulator of ``control`` on ``instance`` before its first event (config sized to the instance; ``fields`` are
    config fields): tests set its state or call its protocol directly."""
    height, width = instance.mazes[0].passages.shape
    config = make_config(
        control=control,
        n_agents=instance.n_agents,
        n_groups=instance.n_groups,
        n_tasks=instance.n_tasks,
        maze_size=(height, width),
        **fields,
    )
    return CESSimulator(config, instance, np.random.default_rng(seed))

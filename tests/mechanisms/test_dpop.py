"""DPOP: the optimum of tiny assignment problems (hand-checked UTIL tables, brute force), the width bound on ready
tasks, the refusal of instances too large for it, and the two-agent hand count."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

import ces_env
from ces_env.config import ConfigError, make_config
from ces_env.core.protocols.cbba import discounted_scores
from ces_env.core.protocols.dpop import NONE, max_ready_tasks, run_dpop, util_entries
from ces_env.core.protocols.max_sum import run_max_sum
from ces_env.generator import generate_instance
from ces_env.types import TaskStatus
from tests.mechanisms.cases import run_config, run_on_instance, two_agent_instance
from tests.mechanisms.test_max_sum import brute_force, value_of


def test_two_agents_two_tasks_by_hand():
    """Utilities a0: (5, 3), a1: (4, 1). Agent 1 (the leaf) sends UTIL_1(x0) = best of its tasks other than x0:
    x0 = t0 -> 1 (t1), x0 = t1 -> 4 (t0), x0 = none -> 4. The root takes max(5 + 1, 3 + 4, 0 + 4) = 7 with t1;
    VALUE: agent 1 takes t0. The UTIL message has (2 + 1) ** 1 = 3 entries."""
    result = run_dpop(np.array([[5.0, 3.0], [4.0, 1.0]]))
    assert list(result.choices) == [1, 0]
    assert result.value == 7.0
    assert result.largest_util == 3


@pytest.mark.parametrize("seed", range(200))
def test_dpop_is_optimal_on_tiny_problems(seed):
    rng = np.random.default_rng(seed)
    utility = rng.uniform(0.5, 10, (int(rng.integers(1, 5)), int(rng.integers(1, 6))))
    if seed % 4 == 0:
        utility = np.round(utility)  # ties
    best, optimal = brute_force(utility)
    result = run_dpop(utility)
    assert result.value == pytest.approx(best)
    assert value_of(utility, result.choices) == pytest.approx(best)
    assert tuple(int(c) for c in result.choices) in optimal
    taken = [c for c in result.choices if c != NONE]
    assert len(taken) == len(set(taken))


def test_util_entries():
    assert util_entries(1, 50) == 1
    assert util_entries(3, 4) == 25
    assert util_entries(5, 9) == 10_000


@pytest.mark.parametrize("seed", range(40))
def test_max_ready_tasks_is_the_largest_antichain(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from((a, b) for a in range(n) for b in range(a + 1, n) if rng.random() < 0.3)
    tasks = sorted(rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False).tolist())
    reach = nx.transitive_closure_dag(graph)
    largest = max(
        k
        for k in range(1, len(tasks) + 1)
        for subset in itertools.combinations(tasks, k)
        if not any(reach.has_edge(a, b) for a in subset for b in subset)
    )
    assert max_ready_tasks(graph, tasks) == largest


def test_a_too_large_instance_is_refused_with_the_limit_named():
    """8 agents in one group and 20 independent tasks: up to 20 ready at once, so (20 + 1) ** 7 UTIL entries."""
    env = ces_env.parallel_env(n_agents=8, n_groups=1, n_tasks=20, graph="independent", maze_size=6, control="dpop")
    with pytest.raises(ConfigError, match=r"max_util_entries=1000000") as refused:
        env.reset(seed=0)
    message = str(refused.value)
    assert "dpop refuses" in message and "8 agents" in message and "20 tasks ready at once" in message
    assert str(21**7) in message


def test_the_limit_is_inclusive():
    """3 agents and 5 independent tasks need (5 + 1) ** 2 = 36 entries: refused at 35, solved at 36."""
    config = dict(n_agents=3, n_groups=1, n_tasks=5, graph="independent", maze_size=6, control="dpop")
    with pytest.raises(ConfigError, match="= 36 entries"):
        ces_env.parallel_env(**config, control_options={"max_util_entries": 35}).reset(seed=0)
    env = ces_env.parallel_env(**config, control_options={"max_util_entries": 36})
    env.reset(seed=0)
    assert env.unwrapped.sim.terminated


def test_the_limit_counts_tasks_that_can_be_ready_together_not_all_tasks():
    """A chain has one ready task at a time: 8 agents and 20 chained tasks need UTIL messages of 2 ** 7 entries."""
    config = dict(n_agents=8, n_groups=1, n_tasks=20, graph="chain", maze_size=6, control="dpop")
    env = ces_env.parallel_env(**config, control_options={"max_util_entries": 2**7})
    env.reset(seed=0)
    assert env.unwrapped.sim.terminated
    assert env.unwrapped.sim.control.largest_util <= 2**7


def test_two_agent_case_messages_and_hops_by_hand():
    """One task, two bidders: the pseudo-tree token down and back (2), UTIL (1), VALUE (1), then the fast agent
    tells its groupmate (1): 5 negotiation messages and 4 + 1 = 5 hops. Then the peer validation (2 messages) and
    the shared solution (1)."""
    metrics, sim = run_on_instance("dpop", two_agent_instance())
    assert sim.control.negotiation_messages == 5
    assert metrics["messages"] == 5 + 2 + 1
    assert sim.completed_by[0] == 1
    assert sim.exec_start_time[0] == sim.start_time + 5 * sim.config.negotiation_latency_ticks


@pytest.mark.parametrize("graph", ["lds", "hds"])
def test_dpop_completes_every_task(graph):
    for seed in (0, 1, 2):
        result, sim = run_config("dpop", seed, preset="small", graph=graph)
        assert sim.terminated and (sim.task_status == TaskStatus.DONE).all()
        assert result.metrics["conflicts"] == 0


def test_dpop_allocates_at_least_as_well_as_max_sum_each_run():
    """On the same instance the first run of both mechanisms solves the same DCOP (same bidders, tasks and
    utilities): DPOP's value is the optimum, so Max-Sum's is not above it."""
    config = make_config("small", control="dpop")
    for seed in range(3):
        instance = generate_instance(config, np.random.default_rng(seed))
        env = ces_env.parallel_env(config=config.replace(max_ticks=1))  # stop right after the start
        env.reset(seed=seed, options={"instance": instance})
        control = env.unwrapped.sim.control
        for group in range(instance.n_groups):
            bidders = instance.group_agents(group).tolist()
            tasks = control.open_tasks(group).tolist()
            utility = discounted_scores(control, group, bidders, tasks, 0.5)
            optimum = run_dpop(utility).value
            approx = run_max_sum(utility, penalty=utility.max(), max_iterations=10, damping=0.0)
            assert value_of(utility, approx.choices) <= optimum + 1e-9

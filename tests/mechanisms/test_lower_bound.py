"""The lower bound stays valid under the mechanisms: never above a brute-force schedule that obeys their costs."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings

from ces_env.config import make_config
from ces_env.core.lower_bound import lower_bound_terms, makespan_lower_bound
from ces_env.core.protocols import control_protocol
from ces_env.core.protocols.auctions import SequentialAuction
from ces_env.core.protocols.negotiation import ManagerValidation
from ces_env.generator import assemble_instance, generate_instance
from ces_env.maze import generate_maze
from tests.core.test_lower_bound import book, tiny_instances
from tests.mechanisms.cases import PART_ONE


def negotiated_schedule_makespan(
    graph, task_group, durations_by_agent, agent_group, *, latency: int, validate: int, manager: bool, sequential: bool
) -> int:
    """Brute force over list schedules (a topological order, an agent of the task's group per task) under a
    mechanism's costs, each step as early as they allow: a task is negotiated once its dependencies are done and
    starts 3 hops later at the earliest (announce, reply, award) and when its agent is free; its solution is
    validated by the group's manager (a single server, ``validate`` ticks per solution) or by the peers (``validate``
    ticks, no queue). ``sequential``: the group's negotiations run one at a time, two hops each (sequential
    auctions). Agents may be negotiated with while busy, which the protocols only allow with ``queue_limit``: a
    relaxation, so the minimum is at most the protocols' optimum, and a valid bound is at most the minimum."""
    m = graph.number_of_nodes()
    preds = [list(graph.predecessors(t)) for t in range(m)]
    n_groups = int(max(agent_group)) + 1
    best = math.inf
    for order in nx.all_topological_sorts(graph):
        agent_choices = [np.flatnonzero(agent_group == task_group[t]).tolist() for t in order]
        for agents in itertools.product(*agent_choices):
            free = np.zeros(len(agent_group), dtype=np.int64)
            server: list[list[tuple[int, int]]] = [[] for _ in range(n_groups)]
            auctioneer: list[list[tuple[int, int]]] = [[] for _ in range(n_groups)]
            done = np.zeros(m, dtype=np.int64)
            for task, agent in zip(order, agents):
                group = task_group[task]
                ready = max([0] + [int(done[p]) for p in preds[task]])
                opened = book(auctioneer[group], ready, 2 * latency) if sequential else ready
                start = max(int(free[agent]), opened + 3 * latency)
                end = start + int(durations_by_agent[agent][task])
                done[task] = book(server[group], end, validate) + validate if manager else end + validate
                free[agent] = done[task]
            best = min(best, int(done.max()))
    return best


@pytest.mark.parametrize("control", PART_ONE)
@settings(max_examples=40, deadline=None)
@given(case=tiny_instances())
def test_lower_bound_never_exceeds_a_brute_force_schedule(control, case):
    graph, task_group, agent_group, speeds, seed, _, (latency, validate) = case
    rng = np.random.default_rng(seed)
    m = graph.number_of_nodes()
    mazes = [generate_maze(4, 5, rng) for _ in range(m)]
    instance = assemble_instance(
        graph, np.ones(m), task_group, np.arange(m), agent_group, speeds, mazes, n_groups=int(agent_group.max()) + 1
    )
    config = make_config(
        n_agents=len(agent_group),
        n_groups=instance.n_groups,
        n_tasks=m,
        control=control,
        negotiation_latency_ticks=latency,
        validate_service_ticks=validate,
        peer_validate_ticks=validate,
    )
    protocol = control_protocol(control)
    lengths = instance.solution_lengths()
    durations = [np.maximum(1, np.ceil(lengths / s - 1e-9)).astype(np.int64) for s in speeds]
    best = negotiated_schedule_makespan(
        graph,
        task_group,
        durations,
        agent_group,
        latency=latency,
        validate=validate,
        manager=protocol.validation is ManagerValidation,
        sequential=issubclass(protocol, SequentialAuction),
    )
    assert makespan_lower_bound(instance, config) <= best


def test_sequential_auctions_bound_a_group_by_its_negotiations():
    """Sequential auctions: each of a group's tasks needs its own auction of at least two hops, one after the other;
    with a long latency that term dominates the bound, and it is the same for all four sequential auctions."""
    config = make_config("tiny", negotiation_latency_ticks=50)
    instance = generate_instance(config, np.random.default_rng(0))
    busiest = int(np.bincount(instance.task_group).max())
    for control in ("auction-first-price", "auction-vickrey", "auction-english", "auction-dutch"):
        terms = lower_bound_terms(instance, config.replace(control=control))
        assert terms["protocol"] == busiest * 100 + 50 + 1 + config.validate_service_ticks
        assert makespan_lower_bound(instance, config.replace(control=control)) == terms["protocol"]
    assert lower_bound_terms(instance, config.replace(control="contract-net"))["protocol"] == (
        busiest * config.validate_service_ticks
    )


@pytest.mark.parametrize("control", PART_ONE)
def test_the_latency_enters_the_chain_bound(control):
    config = make_config("tiny", graph="chain", n_tasks=6, control=control)
    instance = generate_instance(config, np.random.default_rng(0))
    base = lower_bound_terms(instance, config)["chain"]
    slower = lower_bound_terms(instance, config.replace(negotiation_latency_ticks=8))["chain"]
    assert slower - base == 3 * (8 - 3) * config.n_tasks

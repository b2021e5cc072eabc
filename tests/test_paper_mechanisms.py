"""The mechanisms the paper names, as parameters: knowledge sharing that takes time at the group entity,
decentralized distribution with validation kept central, and the cost of finding an independent partition."""

import itertools
import math

import networkx as nx
import numpy as np
import pytest

from ces_env.config import make_config
from ces_env.core.lower_bound import makespan_lower_bound
from ces_env.core.protocols.ces import DecentralizedControl
from ces_env.core.simulator import CESSimulator
from ces_env.generator import assemble_instance, generate_instance
from ces_env.maze import generate_maze
from ces_env.types import TaskStatus
from tests.core.test_lower_bound import book


def play(config, seed: int = 0, hook=None) -> CESSimulator:
    """An episode where every decider takes its first candidate; ``hook(sim)`` after every decision round."""
    rng = np.random.default_rng(seed)
    sim = CESSimulator(config, generate_instance(config, rng), rng)
    sim.advance()
    while not (sim.terminated or sim.truncated):
        sim.decide({int(a): 0 for a in sim.task_deciders()})
        if hook is not None:
            hook(sim)
        sim.advance()
    return sim


# ------------------------------------------------------------------------------------------------ knowledge sharing
CHAIN = dict(n_groups=1, n_tasks=6, graph="chain", maze_size=6, tasks_per_class=1)


@pytest.mark.parametrize("control", ["centralized", "decentralized"])
def test_with_a_sharing_cost_et_grows_with_the_number_of_recipients(control):
    """A chain of tasks of distinct classes (all explored): extra agents add no parallelism, only recipients."""
    share = 7
    ets = {}
    for agents in (1, 2, 4):
        base = play(make_config(n_agents=agents, control=control, **CHAIN))
        shared = play(make_config(n_agents=agents, control=control, share_ticks_per_recipient=share, **CHAIN))
        assert base.terminated and shared.terminated
        ets[agents] = (base.end_time, shared.end_time)
    if control == "centralized":
        # the controller shares each of the first 5 solutions with s-1 recipients before its next assignment
        for agents, (base, shared) in ets.items():
            assert shared - base == (CHAIN["n_tasks"] - 1) * share * (agents - 1)
        assert ets[1][1] < ets[2][1] < ets[4][1]
    else:
        # the solver sends, nobody waits for it: sharing only delays knowledge, never the chain
        assert all(shared == base for base, shared in ets.values())


def test_recipient_k_learns_k_share_ticks_later():
    config = make_config(n_agents=4, share_ticks_per_recipient=5, **CHAIN)
    rng = np.random.default_rng(0)
    sim = CESSimulator(config, generate_instance(config, rng), rng)
    learnt: dict[int, list[tuple[int, int]]] = {}  # class -> (tick, recipient) in arrival order
    original = sim._learn

    def record(recipient_class: int) -> None:
        recipient, cls = divmod(recipient_class, sim.instance.n_classes)
        learnt.setdefault(cls, []).append((sim.time, recipient))
        original(recipient_class)

    sim._learn = record  # type: ignore[method-assign]  # the simulator schedules self._learn
    sim.advance()
    while not sim.terminated:
        sim.decide({int(a): 0 for a in sim.task_deciders()})
        sim.advance()
    assert learnt
    for task in range(CHAIN["n_tasks"] - 1):  # the last task's sharing is cut by the end of the episode
        cls, solver, done = int(sim.instance.task_class[task]), int(sim.completed_by[task]), int(sim.done_time[task])
        others = [a for a in range(4) if a != solver]
        assert learnt[cls] == [(done + 5 * k, recipient) for k, recipient in enumerate(others, start=1)]


def test_the_sharing_job_keeps_the_controller_busy():
    config = make_config(n_agents=4, share_ticks_per_recipient=3, **CHAIN)
    sim = play(config)
    busy = int(sim.control.busy_ticks().sum())
    c = sim.config
    per_task = c.assign_service_ticks + c.validate_service_ticks
    assert busy == CHAIN["n_tasks"] * per_task + (CHAIN["n_tasks"] - 1) * 3 * 3  # the last share is cut by the end


# ------------------------------------------------------------------------------------------------ central validation
def test_decentralized_with_central_validation_queues_validations_at_the_group_entity():
    config = make_config(
        n_agents=6,
        n_groups=1,
        n_tasks=24,
        graph="independent",
        maze_size=4,
        control="decentralized",
        control_options={"validation": "central"},
        validate_service_ticks=40,
    )
    queued = []
    sim = play(config, hook=lambda s: queued.append(int(s.control.queue_lengths().sum())))
    assert sim.terminated
    assert max(queued) > 0  # solutions waited for the validator
    busy = sim.control.busy_ticks()
    assert busy is not None and int(busy.sum()) == 24 * 40
    assert sim.metrics()["controller_utilization"] > 0.5
    peer = play(config.replace(control_options={}))
    assert peer.control.busy_ticks() is None and peer.metrics()["controller_utilization"] == 0
    # 1 message in and 1 verdict out per validation, instead of 2(s-1)
    assert peer.messages - sim.messages == pytest.approx(24 * (2 * 5 - 2), abs=peer.conflicts * 5 + 50)


def test_central_validation_option_is_checked():
    with pytest.raises(Exception, match="validation"):
        make_config(control="decentralized", control_options={"validation": "boss"})
    config = make_config(control="decentralized", control_options={"validation": "central"})
    assert DecentralizedControl.task_overheads(config) == (config.claim_latency_ticks, config.validate_service_ticks)


def best_central_validation_makespan(graph, task_group, durations, agent_group, before, after) -> int:
    """Brute force over list schedules: a claim latency before a task, validations one at a time per group."""
    m = graph.number_of_nodes()
    preds = [list(graph.predecessors(t)) for t in range(m)]
    best = math.inf
    for order in nx.all_topological_sorts(graph):
        choices = [np.flatnonzero(agent_group == task_group[t]).tolist() for t in order]
        for agents in itertools.product(*choices):
            free = np.zeros(len(agent_group), dtype=np.int64)
            server: list[list[tuple[int, int]]] = [[] for _ in range(int(max(agent_group)) + 1)]
            done = np.zeros(m, dtype=np.int64)
            for task, agent in zip(order, agents):
                ready = max([free[agent]] + [done[p] for p in preds[task]])
                end = ready + before + durations[agent][task]
                done[task] = book(server[task_group[task]], end, after) + after
                free[agent] = done[task]
            best = min(best, int(done.max()))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_lower_bound_stays_valid_with_central_validation(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 5))
    graph = nx.DiGraph()
    graph.add_nodes_from(range(m))
    graph.add_edges_from((u, v) for u in range(m) for v in range(u + 1, m) if rng.random() < 0.4)
    agent_group = np.arange(int(rng.integers(1, 4))) % 1
    task_group = np.zeros(m, dtype=np.int64)
    speeds = rng.choice([0.5, 1.0, 2.0], size=len(agent_group))
    mazes = [generate_maze(4, 5, rng) for _ in range(m)]
    instance = assemble_instance(graph, np.ones(m), task_group, np.arange(m), agent_group, speeds, mazes, n_groups=1)
    before, after = int(rng.integers(0, 4)), int(rng.integers(0, 9))
    config = make_config(
        n_agents=len(agent_group),
        n_groups=1,
        n_tasks=m,
        control="decentralized",
        control_options={"validation": "central"},
        claim_latency_ticks=before,
        validate_service_ticks=after,
    )
    lengths = instance.solution_lengths()
    durations = [np.maximum(1, np.ceil(lengths / s - 1e-9)).astype(np.int64) for s in speeds]
    best = best_central_validation_makespan(graph, task_group, durations, agent_group, before, after)
    assert makespan_lower_bound(instance, config) <= best


# ------------------------------------------------------------------------------------------------ partition cost
def test_partition_cost_delays_the_start_only_for_independent_partitions():
    base = dict(n_agents=4, n_groups=2, n_tasks=20, maze_size=5, partition_ticks_per_task=3)
    independent = play(make_config(partition="independent", **base))
    inter = play(make_config(partition="interdependent", **base))
    split = independent.config.split_ticks_per_group * 2
    assert independent.start_time == split + 3 * 20
    assert inter.start_time == split
    free = play(make_config(partition="independent", **{**base, "partition_ticks_per_task": 0}))
    assert independent.end_time == free.end_time + 3 * 20


# ------------------------------------------------------------------------------------------------ defaults
@pytest.mark.parametrize("control", ["centralized", "decentralized"])
def test_zero_mechanism_costs_leave_episodes_identical(control):
    config = make_config("small", control=control)
    explicit = config.replace(share_ticks_per_recipient=0, partition_ticks_per_task=0)
    a, b = play(config, seed=5), play(explicit, seed=5)
    assert a.end_time == b.end_time and a.messages == b.messages and np.array_equal(a.done_time, b.done_time)
    if control == "decentralized":
        c = play(config.replace(control_options={"validation": "peer"}), seed=5)
        assert c.end_time == a.end_time and np.array_equal(c.done_time, a.done_time)
    assert (a.task_status == TaskStatus.DONE).all()

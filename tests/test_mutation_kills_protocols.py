"""Semantic tests written for the mutants of the CES control protocols (``ces_env/core/protocols/base.py``,
``ces.py``, ``fifo.py``) that the rest of the suite let live (issue 15 item 3, README "Tests that pin the model, and
mutation testing"). Each test plays a tiny hand-built episode whose numbers are worked out in its docstring.
"""

from __future__ import annotations

import pytest

import ces_env
from ces_env.core.trace import Service
from tests.golden_helpers import build_instance, config_for, corridor_maze, task_deciders, tick

COSTS = dict(
    split_ticks_per_group=1,
    collect_ticks_per_group=3,
    assign_service_ticks=2,
    validate_service_ticks=4,
    claim_latency_ticks=3,
    peer_validate_ticks=5,
)
CENTRAL_VALIDATION = dict(control="decentralized", control_options={"validation": "central"})


def traced(instance, seed: int = 0, **fields):
    """A reset env on ``instance`` that records its trace; returns (env, observations)."""
    env = ces_env.parallel_env(config=config_for(instance, **fields), trace=True)
    observations, _ = env.reset(seed=seed, options={"instance": instance})
    return env, observations


def step(env, actions: dict[str, int]):
    observations, _, _, _, infos = env.step({a: actions.get(a, 0) for a in env.agents})
    return observations, infos


# ------------------------------------------------------------------------------------- the group entity's FIFO server


def three_solutions_in_a_row():
    """Three agents, one group, three independent tasks of 2, 3 and 4 moves (rewards 3, 2, 1: slots 1, 2, 3), and a
    fourth task of 1 move that depends on task0."""
    return build_instance(
        edges=[(0, 3)],
        rewards=[3.0, 2.0, 1.0, 0.5],
        task_class=[0, 1, 2, 3],
        mazes=[corridor_maze(2), corridor_maze(3), corridor_maze(4), corridor_maze(1)],
        agent_group=[0, 0, 0],
    )


def test_central_validator_serves_solutions_first_in_first_out_and_traces_each_service():
    """Decentralized control with central validation (a FIFO single server per group, 4 ticks per solution).

    Split 1 tick; at t=1 agent_i claims task i (slot i+1), the claims resolve at 4 (latency 3), and the three
    explorations of 2, 3 and 4 moves end at 6, 7 and 8. agent_0's solution is validated 6..10; agent_1's, which
    arrived at 7, is queued before agent_2's (8): it is served 10..14 and agent_2's 14..18, first in first out (a
    server that took the newest job first would serve agent_2 at 10). At 10 task3 is released and agent_0 takes it
    (claim 10..13, one move 13..14), so its solution queues behind agent_2's: 18..22. The trace holds the four
    services with their group, planned interval, kind and agent; ET = 22 + collect 3 = 25.
    """
    inst = three_solutions_in_a_row()
    env, observations = traced(inst, **CENTRAL_VALIDATION, **COSTS)
    assert (tick(env), task_deciders(observations)) == (1, ("agent_0", "agent_1", "agent_2"))
    observations, _ = step(env, {"agent_0": 1, "agent_1": 2, "agent_2": 3})
    assert (tick(env), task_deciders(observations)) == (10, ("agent_0",))
    step(env, {"agent_0": 1})
    assert not env.agents
    services = env.unwrapped.sim.trace.services
    assert services == [
        Service(0, 6, 10, "validate", 0, 0),
        Service(0, 10, 14, "validate", 1, 1),
        Service(0, 14, 18, "validate", 2, 2),
        Service(0, 18, 22, "validate", 0, 3),
    ]
    assert env.metrics()["ET"] == 25


def test_central_validator_utilisation_counts_the_service_in_progress():
    """The episode above, but agent_0 waits at t=10 (``wait_ticks=1``) and is asked again at 11. The server has
    completed agent_0's validation (4 ticks) and has served agent_1's since 10 (1 tick): busy 5 of the 10 ticks since
    execution started at 1, so ``controller_utilization`` is 0.5 then; its queue holds agent_2's solution, 1 of 3
    members."""
    inst = three_solutions_in_a_row()
    env, _ = traced(inst, wait_ticks=1, **CENTRAL_VALIDATION, **COSTS)
    step(env, {"agent_0": 1, "agent_1": 2, "agent_2": 3})
    observations, _ = step(env, {"agent_0": 0})
    assert (tick(env), task_deciders(observations)) == (11, ("agent_0",))
    assert env.metrics()["controller_utilization"] == pytest.approx(5 / 10)


def test_central_validator_shares_a_solution_before_its_next_validation():
    """Two agents, two independent tasks (2 and 3 moves), central validation, group sharing at 1 tick per recipient.
    agent_0's solution is validated 6..10; the server then sends it to agent_1 (1 recipient x 1 tick, 10..11) before
    validating agent_1's solution, which arrived at 7: 11..15 (a share job goes to the front of the queue; it is
    traced as the entity's service, labelled like a validation, with the shared task). agent_1's solution completes
    the group, so the entity shares nothing more (as the centralized controller, whose queue is cleared then): busy
    4 + 1 + 4 = 9 of the 14 ticks from the start (1) to the group's end (15), the utilisation the trace gives too.
    ET = 15 + collect 3 = 18."""
    inst = build_instance(
        edges=[],
        rewards=[2.0, 1.0],
        task_class=[0, 1],
        mazes=[corridor_maze(2), corridor_maze(3)],
        agent_group=[0, 0],
    )
    env, _ = traced(inst, knowledge_sharing="group", share_ticks_per_recipient=1, **CENTRAL_VALIDATION, **COSTS)
    step(env, {"agent_0": 1, "agent_1": 2})
    assert not env.agents
    trace = env.unwrapped.sim.trace
    assert trace.services == [
        Service(0, 6, 10, "validate", 0, 0),
        Service(0, 10, 11, "validate", 0, 0),
        Service(0, 11, 15, "validate", 1, 1),
    ]
    metrics = env.metrics()
    assert metrics["ET"] == 18
    assert metrics["controller_utilization"] == pytest.approx(9 / 14)
    assert trace.controller_busy_ticks().tolist() == [9]

"""Semantic tests written for the mutants of the CES control protocols (``ces_env/core/protocols/base.py``,
``ces.py``, ``fifo.py``) that the rest of the suite let live (issue 15 item 3, README "Tests that pin the model, and
mutation testing"). Each test plays a tiny hand-built episode whose numbers are worked out in its docstring.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import ces_env
from ces_env.core.protocols import CONTROL_PROTOCOLS, control_protocol, register_control
from ces_env.core.protocols.ces import CentralizedControl, DecentralizedControl
from ces_env.core.simulator import CESSimulator
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
    assert env.unwrapped.sim.trace.controller_busy_ticks().tolist() == [4]  # agent_1's service starts now: 0 so far
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


# ------------------------------------------------------------------------------------------- the base class, registry


def test_an_unknown_protocol_option_is_refused_naming_it_and_the_known_ones():
    """``make_options`` refuses a key the protocol does not have with a ``ValueError`` (not the dataclass's
    ``TypeError``) that names the key and lists the options, or says ``none`` for a protocol without options."""
    with pytest.raises(ValueError, match=r"^control 'centralized' has no option 'validation'; its options: none$"):
        CentralizedControl.make_options({"validation": "central"})
    with pytest.raises(ValueError, match=r"^control 'decentralized' has no option 'bogus'; its options: validation$"):
        DecentralizedControl.make_options({"bogus": 1, "validation": "peer"})
    assert DecentralizedControl.make_options({"validation": "central"}).validation == "central"

    @dataclasses.dataclass(frozen=True)
    class TwoOptions:
        beta: int = 0
        alpha: int = 0

    two = type("TwoOptionsControl", (DecentralizedControl,), {"name": "two", "Options": TwoOptions})
    with pytest.raises(ValueError, match=r"^control 'two' has no option 'gamma'; its options: alpha, beta$"):
        two.make_options({"gamma": 1})


def test_the_registry_refuses_a_second_protocol_under_a_taken_name():
    """Registering the same class again is harmless (a module imported twice); another class under a taken name is
    refused, naming it, and leaves the registry as it was."""
    assert register_control(CentralizedControl) is CentralizedControl
    impostor = type("Impostor", (DecentralizedControl,), {"name": "centralized"})
    with pytest.raises(ValueError, match=r"^control protocol 'centralized' is registered twice$"):
        register_control(impostor)
    assert CONTROL_PROTOCOLS["centralized"] is CentralizedControl


def test_an_unknown_protocol_name_lists_the_registered_ones():
    with pytest.raises(ValueError) as error:
        control_protocol("anarchy")
    message = str(error.value)
    assert message.startswith("unknown control protocol 'anarchy'; known: ")
    assert message.split("known: ")[1].split(", ") == list(CONTROL_PROTOCOLS)


def test_a_protocol_without_controller_reports_no_controller_down_time():
    """With a fault option on, the stats add ``controller_down_ticks``; decentralized control has no controller, so
    it is 0 however long the episode (a crash rate of 0.05 per tick turns faults on without touching a controller)."""
    inst = three_solutions_in_a_row()
    env, observations = traced(inst, control="decentralized", crash_rate=0.05, crash_recovery_ticks=1, **COSTS)
    while env.agents:  # every decider takes its first slot when it has one
        observations, infos = step(env, {a: int(o["action_mask"][1]) for a, o in observations.items()})
    assert infos["agent_0"]["stats"]["crashes"] > 0
    assert infos["agent_0"]["stats"]["controller_down_ticks"] == 0


def test_central_validation_messages():
    """The first episode's messages: 4 claims broadcast to the 2 peers (8), 4 solutions to the group entity and 4
    verdicts back (8), and group sharing of 4 solutions to 2 learners each (8): 24."""
    inst = three_solutions_in_a_row()
    env, _ = traced(inst, **CENTRAL_VALIDATION, **COSTS)
    step(env, {"agent_0": 1, "agent_1": 2, "agent_2": 3})
    step(env, {"agent_0": 1})
    assert env.metrics()["messages"] == 24


# ------------------------------------------------------------------------------------------- sharing as a service


def two_tasks_two_agents():
    """Two agents, one group, two independent tasks of 2 and 3 moves (rewards 2, 1)."""
    return build_instance(
        edges=[], rewards=[2.0, 1.0], task_class=[0, 1], mazes=[corridor_maze(2), corridor_maze(3)], agent_group=[0, 0]
    )


def test_centralized_controller_shares_a_solution_right_after_validating_it():
    """Centralized, group sharing at 1 tick per recipient. agent_0 is served first (assignment 1..3, task0), then
    agent_1 (3..5, task1: task0 is reserved); agent_0's solution (explored 3..5) is validated 5..9, then the
    controller sends it to agent_1 (1 tick, 9..10) before validating agent_1's solution (explored 5..8): 10..14. The
    last solution completes the group, whose queue is cleared: no share after it. ET = 14 + 3 = 17; the controller
    was busy 2 + 2 + 4 + 1 + 4 = 13 of the 13 ticks from 1 to 14. Messages: 3 requests (agent_0 asks again after its
    validation and is parked), 2 assignments, 2 solutions, 2 verdicts, 2 shares (one learner each; the share job
    itself sends no verdict): 11."""
    env, _ = traced(two_tasks_two_agents(), control="centralized", share_ticks_per_recipient=1, **COSTS)
    step(env, {"agent_0": 1})
    step(env, {"agent_1": 1})
    assert not env.agents
    assert env.unwrapped.sim.trace.services == [
        Service(0, 1, 3, "assign", 0, 0),
        Service(0, 3, 5, "assign", 1, 1),
        Service(0, 5, 9, "validate", 0, 0),
        Service(0, 9, 10, "validate", 0, -1),
        Service(0, 10, 14, "validate", 1, 1),
    ]
    assert env.metrics()["ET"] == 17
    assert env.metrics()["controller_utilization"] == pytest.approx(1.0)
    assert env.metrics()["messages"] == 11


@pytest.mark.parametrize("control", ["centralized", "central validation"])
def test_sharing_with_nobody_occupies_no_server(control):
    """``knowledge_sharing="none"``: a solution has no recipient, so even at 1 tick per recipient there is no share
    job, not even one of zero ticks: the trace holds the assignments (centralized) and the two validations only."""
    fields = dict(control="centralized") if control == "centralized" else CENTRAL_VALIDATION
    env, _ = traced(two_tasks_two_agents(), knowledge_sharing="none", share_ticks_per_recipient=1, **fields, **COSTS)
    if control == "centralized":  # validations 5..9 and 9..13 (agent_1's solution arrives at 8)
        step(env, {"agent_0": 1})
        step(env, {"agent_1": 1})
        expected = [(1, 3), (3, 5), (5, 9), (9, 13)]
    else:  # claims 1..4, explorations 4..6 and 4..7, validations 6..10 and 10..14
        step(env, {"agent_0": 1, "agent_1": 2})
        expected = [(6, 10), (10, 14)]
    assert not env.agents
    assert [(s.start, s.end) for s in env.unwrapped.sim.trace.services] == expected


# ------------------------------------------------------------------------------------------- controller outage


def one_task_two_agents():
    """Two agents, one group, one task of 3 moves. Centralized: requests at 1 (2 messages); agent_0 is asked, takes
    the task (assignment 1..3); agent_1's request is parked at 3 (nothing ready); agent_0 explores 3..6 and its
    solution is validated 6..10 without outage. Messages without outage: 2 requests, the assignment, the solution,
    the verdict, the share to agent_1: 6."""
    return build_instance(edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(3)], agent_group=[0, 0])


OUTAGES = {
    # case: (config, ET, controller busy ticks, down ticks, elections, messages)
    # no outage: validation 6..10, ET 13, busy 2 + 4
    "none": ({}, 13, 6, None, 0, 6),
    # down 7..12: the validation in progress is lost (1 tick served) and redone 12..16
    "long": (dict(controller_outage_ticks=5), 19, 2 + 1 + 4, 5, 0, 6),
    # down 7..9, back before the lost validation would have ended (10): redone 9..13, the stale end at 10 ignored
    "short": (dict(controller_outage_ticks=2), 16, 7, 2, 0, 6),
    # silence for 4 ticks, then an election of 5 ticks (2 messages): back at 16, validation 16..20
    "election": (dict(election_timeout_ticks=4, election_ticks=5), 23, 7, 9, 1, 8),
    # back at 9, before the election timeout (11): no election
    "back before election": (
        dict(controller_outage_ticks=2, election_timeout_ticks=4, election_ticks=5),
        16,
        7,
        2,
        0,
        6,
    ),
}


@pytest.mark.parametrize("case", sorted(OUTAGES))
def test_a_controller_outage_loses_the_service_in_progress(case):
    """``one_task_two_agents`` with the controller down from tick 7, in the middle of the validation (6..10)."""
    fields, et, busy, down, elections, messages = OUTAGES[case]
    if case != "none":
        fields = dict(controller_outage_start=7, **fields)
    env, _ = traced(one_task_two_agents(), control="centralized", **fields, **COSTS)
    _, infos = step(env, {"agent_0": 1})
    assert not env.agents
    metrics, stats = env.metrics(), infos["agent_0"]["stats"]
    assert metrics["ET"] == et
    assert metrics["controller_utilization"] == pytest.approx(busy / (et - 3 - 1))
    assert metrics["messages"] == messages
    if down is not None:
        assert (stats["controller_outages"], stats["controller_down_ticks"], stats["elections"]) == (1, down, elections)


def test_a_controller_down_for_good_truncates_the_episode():
    """Down from 7 with neither an end nor an election: the lost validation is never redone; once the stale end of
    the lost service (10) has passed nothing can happen, and the episode is truncated at 10 with reason
    ``controller_down``, the controller down for 3 ticks so far."""
    env, _ = traced(one_task_two_agents(), control="centralized", controller_outage_start=7, **COSTS)
    _, infos = step(env, {"agent_0": 1})
    assert not env.agents
    assert infos["agent_0"]["truncation_reason"] == "controller_down"
    assert tick(env) == 10
    assert infos["agent_0"]["stats"]["controller_down_ticks"] == 3


def test_an_outage_of_every_controller_counts_each_group_once():
    """Two groups of one agent and one task of 3 moves each (split 2 x 1 tick: execution starts at 2). Both are
    assigned 2..4, explore 4..7 and are validated from 7; every controller fails at 8 and the validations are redone
    when service resumes. Two outages, each down 5 ticks (back at 13, validations 13..17, ET 17 + 2 x 3 = 23), or
    two elections (timeout 4, election 5: back at 17, ET 27)."""
    inst = build_instance(
        edges=[],
        rewards=[1.0, 1.0],
        task_class=[0, 1],
        mazes=[corridor_maze(3)] * 2,
        agent_group=[0, 1],
        task_group=[0, 1],
    )
    for fields, et, down, elections in (
        (dict(controller_outage_ticks=5), 23, 10, 0),
        (dict(election_timeout_ticks=4, election_ticks=5), 27, 18, 2),
    ):
        env, _ = traced(inst, control="centralized", controller_outage_start=8, **fields, **COSTS)
        _, infos = step(env, {"agent_0": 1, "agent_1": 1})
        assert not env.agents
        stats = infos["agent_0"]["stats"]
        assert env.metrics()["ET"] == et
        assert (stats["controller_outages"], stats["controller_down_ticks"], stats["elections"]) == (2, down, elections)


def test_an_outage_spares_a_group_already_done():
    """Two groups: group 0's task of 1 move is done at 9 (assignment 2..4, move 4..5, validation 5..9), group 1's
    task of 9 moves is explored 4..13. Every controller is to fail at 10: group 0's is done and does not fail; group
    1's is down 10..15 while its solution (13) waits, then validates it 15..19: one outage of 5 ticks, ET 19 + 6."""
    inst = build_instance(
        edges=[],
        rewards=[1.0, 1.0],
        task_class=[0, 1],
        mazes=[corridor_maze(1), corridor_maze(9)],
        agent_group=[0, 1],
        task_group=[0, 1],
    )
    env, _ = traced(inst, control="centralized", controller_outage_start=10, controller_outage_ticks=5, **COSTS)
    _, infos = step(env, {"agent_0": 1, "agent_1": 1})
    assert not env.agents
    stats = infos["agent_0"]["stats"]
    assert (stats["controller_outages"], stats["controller_down_ticks"]) == (1, 5)
    assert env.metrics()["ET"] == 25


# ------------------------------------------------------------------------------------------- a crashed agent


def simulator(instance, **fields):
    """A simulator on ``instance`` advanced to its first decisions."""
    sim = CESSimulator(config_for(instance, **fields), instance, np.random.default_rng(0))
    sim.advance()
    return sim


def test_the_controller_forgets_a_crashed_agent_and_asks_the_next():
    """Centralized, three agents and three ready tasks: at 1 the controller asks agent_0 while the requests of agent_1
    and agent_2 wait. agent_2 crashes: its request leaves the queue, agent_0 is still asked. agent_0 crashes: the
    controller moves on to agent_1's request, and the queue is empty."""
    sim = simulator(three_solutions_in_a_row(), control="centralized", **COSTS)
    assert (sim.task_deciders().tolist(), sim.control.queue_lengths().tolist()) == ([0], [2])
    sim.control.agent_crashed(2)
    assert (sim.task_deciders().tolist(), sim.control.queue_lengths().tolist()) == ([0], [1])
    sim.control.agent_crashed(0)
    assert (sim.task_deciders().tolist(), sim.control.queue_lengths().tolist()) == ([1], [0])


def test_a_crashed_decider_no_longer_decides_under_decentralized_control():
    sim = simulator(three_solutions_in_a_row(), control="decentralized", **COSTS)
    assert sim.task_deciders().tolist() == [0, 1, 2]
    sim.control.agent_crashed(1)
    assert sim.task_deciders().tolist() == [0, 2]


@pytest.mark.parametrize("control", ["centralized", "decentralized"])
def test_a_crashed_parked_agent_is_not_asked_when_a_task_becomes_ready(control):
    """Two agents; task0 (2 moves), then task1 (1 move) which depends on it. agent_0 takes task0 and agent_1 ends up
    parked with nothing ready (centralized: its request is served at 3; decentralized: its claim of task0 loses at
    4). agent_1 crashes at 5 (the protocol's hook, called from an event): when task1 is released only agent_0, back
    from its validation, is asked."""
    inst = build_instance(
        edges=[(0, 1)],
        rewards=[2.0, 1.0],
        task_class=[0, 1],
        mazes=[corridor_maze(2), corridor_maze(1)],
        agent_group=[0, 0],
    )
    sim = simulator(inst, control=control, **COSTS)
    sim.schedule(5, sim.control.agent_crashed, 1)
    sim.decide({0: 0} if control == "centralized" else {0: 0, 1: 0})
    sim.advance()
    assert sim.control.parked == [[]]
    assert sim.task_deciders().tolist() == [0]
    assert sim.candidates(0).tolist() == [1]


def test_a_claim_in_flight_stays_a_candidate_and_claiming_it_conflicts():
    """Decentralized, two agents, one task, ``wait_ticks=1``. At 1 agent_0 claims the task and agent_1 waits; at 2
    the claim has not reached agent_1 yet (latency 3: until 4), so the task is still its candidate in slot 0, and
    claiming it is a conflict (2 - 1 = 1 claim message each, the lost claim resolving at 5)."""
    inst = build_instance(edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(3)], agent_group=[0, 0])
    env, observations = traced(inst, control="decentralized", wait_ticks=1, **COSTS)
    observations, infos = step(env, {"agent_0": 1})
    assert (tick(env), task_deciders(observations)) == (2, ("agent_1",))
    assert infos["agent_1"]["candidates"][0] == 0
    step(env, {"agent_1": 1})
    assert env.metrics()["conflicts"] == 1
    assert [(c.tick, c.agent, c.won) for c in env.unwrapped.sim.trace.claims()] == [(1, 0, True), (2, 1, False)]


def test_an_outage_in_the_middle_of_a_share_redoes_the_share():
    """The centralized sharing episode above at 2 ticks per recipient: the share of agent_0's solution runs 9..11.
    The controller fails at 10 for 3 ticks: the share is lost after 1 tick and redone in full when service resumes,
    13..15; agent_1's validation follows, 15..19. ET = 19 + 3 = 22; busy 2 + 2 + 4 + 1 + 2 + 4 = 15 of 18 ticks."""
    env, _ = traced(
        two_tasks_two_agents(),
        control="centralized",
        share_ticks_per_recipient=2,
        controller_outage_start=10,
        controller_outage_ticks=3,
        **COSTS,
    )
    step(env, {"agent_0": 1})
    step(env, {"agent_1": 1})
    assert not env.agents
    assert [(s.start, s.end, s.agent) for s in env.unwrapped.sim.trace.services] == [
        (1, 3, 0),
        (3, 5, 1),
        (5, 9, 0),
        (9, 11, 0),
        (13, 15, 0),
        (15, 19, 1),
    ]
    assert env.metrics()["ET"] == 22
    assert env.metrics()["controller_utilization"] == pytest.approx(15 / 18)


def test_during_an_outage_the_lost_service_no_longer_counts_as_busy():
    """Two groups of one agent (execution from 2): task0 (group 0, 3 moves), task1 (group 1, 1 move); centralized,
    ``wait_ticks=1``, group 0's controller down from 8 for 5 ticks. agent_0 is assigned 2..4, explores 4..7, and its
    validation starts at 7; the outage at 8 loses it after 1 tick. agent_1 waits every tick until 9, then takes its
    task. At 9 group 0's controller has served 2 + 1 ticks of the 7 since 2 and serves nothing now; group 1's has
    served nothing: utilisation (3/7 + 0) / 2 = 3/14. Then group 1: assignment 9..11, move 11..12, validation 12..16;
    group 0: validation redone 13..17; ET = 17 + 2 x 3 = 23."""
    inst = build_instance(
        edges=[],
        rewards=[1.0, 1.0],
        task_class=[0, 1],
        mazes=[corridor_maze(3), corridor_maze(1)],
        agent_group=[0, 1],
        task_group=[0, 1],
    )
    fields = dict(controller_outage_start=8, controller_outage_ticks=5, controller_outage_group=0, wait_ticks=1)
    env, observations = traced(inst, control="centralized", **fields, **COSTS)
    observations, _ = step(env, {"agent_0": 1})
    while tick(env) < 9:
        assert task_deciders(observations) == ("agent_1",)
        observations, _ = step(env, {})
    assert tick(env) == 9
    assert env.metrics()["controller_utilization"] == pytest.approx(3 / 14)
    step(env, {"agent_1": 1})
    assert not env.agents
    assert env.metrics()["ET"] == 23


def test_a_centralized_episode_where_everyone_waits_stalls_and_is_not_blamed_on_the_controller():
    """One agent that always waits (no ``wait_ticks``: it waits until something changes, and nothing will). Nothing
    is pending, the controller is up: the agent is asked once more with waiting masked out, waits anyway, and the
    episode is truncated as ``stalled``, not ``controller_down``."""
    inst = build_instance(edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(2)], agent_group=[0])
    env, observations = traced(inst, control="centralized", strict_actions=False, **COSTS)
    infos = {}
    while env.agents:
        assert task_deciders(observations) == ("agent_0",)
        observations, infos = step(env, {})
    assert infos["agent_0"]["truncation_reason"] == "stalled"

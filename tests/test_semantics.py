"""Tests that pin the model's semantics, one class of plausible bug each (issue 15): the controller's FIFO order, who
learns a solution under each sharing mode, each term of the lower bound, the observation layout feature by feature
(by name), the reward's recipient, graph files without a final newline, every config bound, and no draw from a global
random generator. Episodes run on hand-built instances through the public API (see ``tests/golden_helpers.py``).
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

import ces_env
from ces_env.config import (
    FIELD_NAMES,
    MAX_AGENTS,
    MAX_CANDIDATES,
    MAX_EXPLORATION_FRACTION,
    MAX_TASKS,
    REWARD_LIMIT,
    SPEED_RANGE,
    TICK_LIMIT,
    TIME_LIMIT,
    ConfigError,
    make_config,
)
from ces_env.generator import generate_instance
from ces_env.observations import AGENT_FEATURES, SLOT_FEATURES
from ces_env.types import AgentStatus
from tests.golden_helpers import (
    agent_feature,
    build_instance,
    corridor_maze,
    slot_feature,
    start,
    task_deciders,
    tick,
)

COSTS = dict(
    split_ticks_per_group=1,
    collect_ticks_per_group=3,
    assign_service_ticks=2,
    validate_service_ticks=4,
    claim_latency_ticks=3,
    peer_validate_ticks=5,
)


def step(env, actions: dict[str, int]):
    """One env step where agents not named wait; returns (observations, rewards, infos)."""
    observations, rewards, _, _, infos = env.step({a: actions.get(a, 0) for a in env.agents})
    return observations, rewards, infos


# ------------------------------------------------------------------------------------------------- controller FIFO


def test_controller_serves_requests_first_in_first_out():
    """Three agents, one group, three ready tasks, centralized (assignment 2 ticks), ``wait_ticks=1``.

    t=1 the three requests arrive in id order; the controller asks agent_0, who declines (asks again at t=2): the
    controller serves the next request, agent_1's, at once; agent_1 takes a task (assignment 1..3). At t=2 agent_0's
    new request queues *behind* agent_2's (made at t=1). So at t=3 the controller asks agent_2, and at t=5 agent_0:
    served in the order of the requests (0, 1, 2, then 0 again), not by id and not last-in first-out.
    """
    inst = build_instance(
        edges=[],
        rewards=[3.0, 2.0, 1.0],
        task_class=[0, 1, 2],
        mazes=[corridor_maze(9)] * 3,
        agent_group=[0, 0, 0],
    )
    env, observations, _, record = start(inst, control="centralized", wait_ticks=1, **COSTS)
    served = [(record.tick, task_deciders(observations))]
    for actions in ({"agent_0": 0}, {"agent_1": 1}, {"agent_2": 1}):
        observations, _, _ = step(env, actions)
        served.append((tick(env), task_deciders(observations)))
    assert served == [(1, ("agent_0",)), (1, ("agent_1",)), (3, ("agent_2",)), (5, ("agent_0",))]


def test_controller_queue_feature_counts_the_waiting_requests():
    """At the start of a centralized episode with three agents, agent_0's request is being served and two wait: the
    ``controller_queue`` feature is 2 / 3 for every member, and the waiting agents' status is ``queued``."""
    inst = build_instance(edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(2)], agent_group=[0, 0, 0])
    _, observations, _, _ = start(inst, control="centralized", **COSTS)
    for agent in ("agent_0", "agent_1", "agent_2"):
        assert agent_feature(observations[agent], "controller_queue") == pytest.approx(2 / 3)
        assert agent_feature(observations[agent], "status_queued") == 1.0


# ------------------------------------------------------------------------------------------------- knowledge sharing


SHARING_CASES = {
    # mode: (classes known by agents 0..3 when group 1 decides, slot known for agents 2 and 3, replays, extra messages)
    "none": ([1, 0, 0, 0], [0, 0], 0, 0),
    "group": ([1, 1, 0, 0], [0, 0], 0, 2),
    "global": ([1, 1, 1, 1], [1, 1], 1, 6),
}


@pytest.mark.parametrize("mode", sorted(SHARING_CASES))
def test_who_learns_a_validated_solution(mode):
    """Groups {agent_0, agent_1} and {agent_2, agent_3}; task0 (group 0) -> task1 (group 1), one inference class.
    agent_0 solves task0; when task1 becomes ready group 1 decides. The solution is known to the solver alone
    (``none``), to its group (``group``) or to everybody (``global``), as the ``classes_known`` agent feature and the
    ``known`` slot feature show; only under ``global`` does agent_2 replay task1 instead of exploring it. Sharing costs
    one message per learner but the solver: 0, 1 or 3 per validated task, over two tasks 0, 2 or 6 more than ``none``
    (in ``group`` mode agent_3 learns task1 from agent_2)."""
    known, slot_known, replays, extra_messages = SHARING_CASES[mode]
    inst = build_instance(
        edges=[(0, 1)],
        rewards=[1.0, 1.0],
        task_class=[0, 0],
        mazes=[corridor_maze(3)],
        agent_group=[0, 0, 1, 1],
        task_group=[0, 1],
    )
    messages = {}
    for sharing in ("none", mode):
        env, observations, _, _ = start(
            inst, control="decentralized", knowledge_sharing=sharing, wait_ticks=100, n_candidates=2, **COSTS
        )
        assert task_deciders(observations) == ("agent_0", "agent_1")
        observations, _, _ = step(env, {"agent_0": 1})
        assert task_deciders(observations) == ("agent_2", "agent_3")  # task0 validated, task1 ready
        if sharing == mode:
            assert [agent_feature(observations[f"agent_{i}"], "classes_known") for i in range(4)] == known
            assert [slot_feature(observations[a], 0, "known") for a in ("agent_2", "agent_3")] == slot_known
        _, _, infos = step(env, {"agent_2": 1})
        assert not env.agents
        messages[sharing] = env.metrics()["messages"]
        assert infos["agent_2"]["stats"]["replays"] == (replays if sharing == mode else 0)
    assert messages[mode] - messages["none"] == extra_messages


# ------------------------------------------------------------------------------------------------- the lower bound


def lower_bound(inst, **fields) -> int:
    env, *_ = start(inst, **fields)
    return env.metrics()["lower_bound"]


def test_lower_bound_is_the_chain_when_the_chain_dominates():
    """A chain of three tasks (3, 4, 5 moves) and three agents. Decentralized, each task costs claim 3 + moves +
    validation 5: chain 11 + 12 + 13 = 36 (work ceil(12 / 3) = 4). Centralized, assignment 2 + validation 4:
    chain 9 + 10 + 11 = 30 (controller 3 x 6 = 18, work 4)."""
    inst = build_instance(
        edges=[(0, 1), (1, 2)],
        rewards=[1.0] * 3,
        task_class=[0, 1, 2],
        mazes=[corridor_maze(3), corridor_maze(4), corridor_maze(5)],
        agent_group=[0, 0, 0],
    )
    assert lower_bound(inst, control="decentralized", **COSTS) == 36
    assert lower_bound(inst, control="centralized", **COSTS) == 30


def test_lower_bound_chain_uses_the_fastest_speed_of_the_owning_group():
    """One task of 7 moves, agents of speed 1 and 2 (one group): the fastest walks it in ceil(7 / 2) = 4 ticks; with
    claim 3 and validation 5 the chain is 12 (work ceil(7 / 3) = 3)."""
    inst = build_instance(
        edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(7)], agent_group=[0, 0], agent_speed=[1.0, 2.0]
    )
    assert lower_bound(inst, control="decentralized", **COSTS) == 12


def test_lower_bound_is_the_work_when_the_work_dominates():
    """Nine independent tasks of 7 moves; agents of speed 1 and 2 in one group walk at most 3 cells per tick together:
    work ceil(63 / 3) = 21 > chain ceil(7 / 2) + 3 + 5 = 12 (decentralized: no controller term)."""
    inst = build_instance(
        edges=[],
        rewards=[1.0] * 9,
        task_class=[0] * 9,
        mazes=[corridor_maze(7)],
        agent_group=[0, 0],
        agent_speed=[1.0, 2.0],
    )
    assert lower_bound(inst, control="decentralized", **COSTS) == 21


def test_lower_bound_work_is_per_group():
    """Group 0 (one agent) owns four tasks of 5 moves; group 1 (three agents) owns one of 1 move. Only a group's own
    agents execute its tasks: work = max(ceil(20 / 1), ceil(1 / 3)) = 20, not ceil(21 / 4) = 6; chain 5 + 8 = 13."""
    inst = build_instance(
        edges=[],
        rewards=[1.0] * 5,
        task_class=[0, 0, 0, 0, 1],
        mazes=[corridor_maze(5), corridor_maze(1)],
        agent_group=[0, 1, 1, 1],
        task_group=[0, 0, 0, 0, 1],
    )
    assert lower_bound(inst, control="decentralized", **COSTS) == 20


def test_lower_bound_is_the_controller_when_the_controller_dominates():
    """Six independent one-move tasks and six agents, centralized: the controller serves 6 x (assign 2 + validate
    4) = 36 ticks; chain 1 + 6 = 7, work ceil(6 / 6) = 1."""
    inst = build_instance(
        edges=[], rewards=[1.0] * 6, task_class=[0] * 6, mazes=[corridor_maze(1)], agent_group=[0] * 6
    )
    assert lower_bound(inst, control="centralized", **COSTS) == 36
    assert lower_bound(inst, control="decentralized", **COSTS) == 9  # no controller: chain 1 + 3 + 5


def test_lower_bound_controller_term_is_per_group():
    """Group 0 (five agents) owns five one-move tasks, group 1 (one agent) one: each group has its own controller, so
    the term is max(5, 1) x 6 = 30, not 6 x 6 = 36 (chain 7, work 1)."""
    inst = build_instance(
        edges=[],
        rewards=[1.0] * 6,
        task_class=[0] * 6,
        mazes=[corridor_maze(1)],
        agent_group=[0, 0, 0, 0, 0, 1],
        task_group=[0, 0, 0, 0, 0, 1],
    )
    assert lower_bound(inst, control="centralized", **COSTS) == 30


# ------------------------------------------------------------------------------------------------- observation layout


def test_feature_names_are_unique_and_complete():
    """The layout the tests below address by name: the status one-hot in AgentStatus order, the documented agent
    features, 6 per slot, no name twice; an observation is the agent features then K slots."""
    assert len(AGENT_FEATURES) == len(set(AGENT_FEATURES))
    assert list(AGENT_FEATURES[: len(AgentStatus)]) == [f"status_{s.name.lower()}" for s in AgentStatus]
    documented = ("deciding_task", "deciding_move", "speed", "time", "group_progress", "group_ready", "group_idle")
    assert set(documented + ("controller_queue", "job_progress", "classes_known")) <= set(AGENT_FEATURES)
    assert set(SLOT_FEATURES) == {"valid", "reward", "known", "successors", "upward_rank", "class_in_progress"}
    env = ces_env.parallel_env(preset="tiny", n_candidates=3)
    assert env.observation_space("agent_0")["observation"].shape == (len(AGENT_FEATURES) + 3 * len(SLOT_FEATURES),)


def _layout_instance():
    """One group: agent_0 (speed 1), agent_1 (speed 0.5). Tasks (reward, class, moves):
    t0 (2, A, 2), t1 (8, B, 6), t2 (4, C, 3), t3 (10, D, 1), t4 (5, B, 6); edges t0->t2, t0->t3, t1->t3.
    Successors: t0 2, t1 1, others 0 (max 2). Upward ranks over minimal durations (the group's fastest speed is 1):
    t3 1, t2 3, t4 6, t1 6 + 1 = 7, t0 2 + max(3, 1) = 5 (max 7). Max reward 10."""
    a, b, c, d = corridor_maze(2), corridor_maze(6), corridor_maze(3), corridor_maze(1)
    return build_instance(
        edges=[(0, 2), (0, 3), (1, 3)],
        rewards=[2.0, 8.0, 4.0, 10.0, 5.0],
        task_class=[0, 1, 2, 3, 1],
        mazes=[a, b, c, d],
        agent_group=[0, 0],
        agent_speed=[1.0, 0.5],
    )


def assert_features(observation: dict, expected: dict[str, float], slots: list[dict[str, float]]) -> None:
    """Every named feature as expected (slots not listed, and slot features not named, must be 0)."""
    for name, value in expected.items():
        assert agent_feature(observation, name) == pytest.approx(value), name
    for k, features in enumerate(slots):
        for name in SLOT_FEATURES:
            assert slot_feature(observation, k, name) == pytest.approx(features.get(name, 0.0)), (k, name)


def test_observation_layout_feature_by_feature():
    """Decentralized (claim 3, peer validation 5), ``wait_ticks=5``, ``max_ticks=1000``, K = 4 slots.

    t=1: both idle and deciding; ready t0, t1, t4 -> slots t1, t4, t0, empty. agent_0 takes t1 (claim 1..4, explores
    4..10); agent_1 waits (asked again at 6).
    t=6: agent_0 exploring (progress (6 - 4) / 6); agent_1 deciding; slots t4 (a groupmate explores its maze), t0.
    agent_1 waits twice more (11, 16); t1 is validated at 15: the group knows class B (1 of 4 classes), completed 1/5,
    and agent_0 decides: slot t4 is now ``known``, nobody explores class B any more.

    ``time`` is only checked as a clock (the same for all, in [0, 1], rising from tick to tick): its scaling is the
    training-reward work's (issue 7) to pin.
    """
    inst = _layout_instance()
    env, observations, _, _ = start(
        inst, control="decentralized", wait_ticks=5, max_ticks=1000, n_candidates=4, **COSTS
    )
    idle = {**{name: 0.0 for name in AGENT_FEATURES if name.startswith("status_")}, "status_idle": 1.0}
    slot_t1 = dict(valid=1, reward=0.8, known=0, successors=1 / 2, upward_rank=1.0, class_in_progress=0)
    slot_t4 = dict(valid=1, reward=0.5, known=0, successors=0.0, upward_rank=6 / 7, class_in_progress=0)
    slot_t0 = dict(valid=1, reward=0.2, known=0, successors=1.0, upward_rank=5 / 7, class_in_progress=0)
    common = dict(group_progress=0, group_ready=3 / 5, group_idle=1, controller_queue=0)
    common.update(deciding_task=1, deciding_move=0, job_progress=0, classes_known=0)
    assert_features(observations["agent_0"], {**idle, **common, "speed": 1.0}, [slot_t1, slot_t4, slot_t0, {}])
    assert_features(observations["agent_1"], {**idle, **common, "speed": 0.5}, [slot_t1, slot_t4, slot_t0, {}])
    clock = [observations]

    observations, _, _ = step(env, {"agent_0": 1, "agent_1": 0})
    assert tick(env) == 6
    exploring = {**idle, "status_idle": 0.0, "status_exploring": 1.0}
    common = dict(group_progress=0, group_ready=2 / 5, group_idle=1 / 2, classes_known=0)
    slots = [{**slot_t4, "class_in_progress": 1}, slot_t0, {}, {}]
    assert_features(observations["agent_0"], {**exploring, **common, "deciding_task": 0, "job_progress": 1 / 3}, slots)
    assert_features(observations["agent_1"], {**idle, **common, "deciding_task": 1, "job_progress": 0}, slots)
    assert observations["agent_0"]["action_mask"].tolist() == [1, 0, 0, 0, 0]
    assert observations["agent_1"]["action_mask"].tolist() == [1, 1, 1, 0, 0]
    clock.append(observations)

    observations, _, _ = step(env, {})
    assert tick(env) == 11
    validating = {**idle, "status_idle": 0.0, "status_validating": 1.0}
    assert_features(observations["agent_0"], {**validating, "job_progress": 0, "deciding_task": 0}, [])
    clock.append(observations)

    observations, _, _ = step(env, {})
    assert tick(env) == 15
    common = dict(group_progress=1 / 5, group_ready=2 / 5, group_idle=1, classes_known=1 / 4)
    slots = [{**slot_t4, "known": 1}, slot_t0, {}, {}]
    assert_features(observations["agent_0"], {**idle, **common, "deciding_task": 1}, slots)
    assert_features(observations["agent_1"], {**idle, **common, "deciding_task": 0}, slots)
    clock.append(observations)
    times = [[agent_feature(o[a], "time") for a in ("agent_0", "agent_1")] for o in clock]
    assert all(t0 == t1 and 0.0 <= t0 <= 1.0 for t0, t1 in times)
    assert times[0][0] < times[1][0] < times[2][0] < times[3][0]


def test_infos_name_the_slot_tasks_and_the_group():
    """``info["candidates"]`` lists the task id of each slot (-1 when empty) in slot order; ``info["group"]``."""
    inst = _layout_instance()
    _, _, infos, _ = start(inst, control="decentralized", n_candidates=4, **COSTS)
    assert infos["agent_1"]["candidates"].tolist() == [1, 4, 0, -1]
    assert infos["agent_1"]["group"] == 0


# ------------------------------------------------------------------------------------------------- rewards


REWARD_CASES = {
    # reward_mode: rewards of (agent_0, agent_1) in step 1 and in step 2
    "individual": [(0.0, 0.0), (0.0, 7.0)],
    "team": [(0.0, 0.0), (7.0, 7.0)],
}


@pytest.mark.parametrize("mode", sorted(REWARD_CASES))
def test_reward_goes_to_the_solver_when_its_validation_completes(mode):
    """Two agents, one task (reward 7, 3 moves), centralized. At t=1 the controller asks agent_0, who declines; it
    asks agent_1 at once (step 1 ends at t=1), who takes the task: assignment 1..3, exploration 3..6, validation
    6..10; ET 10 + collect 3 = 13, the end of step 2. Reward-first: the solver agent_1 gets 7 in step 2, agent_0 who
    declined gets nothing; ``team``: both get the team's 7 in that step."""
    inst = build_instance(edges=[], rewards=[7.0], task_class=[0], mazes=[corridor_maze(3)], agent_group=[0, 0])
    env, *_ = start(inst, control="centralized", reward_mode=mode, wait_ticks=20, **COSTS)
    paid, ticks = [], []
    for actions in ({"agent_0": 0}, {"agent_1": 1}):
        _, rewards, _ = step(env, actions)
        paid.append((rewards["agent_0"], rewards["agent_1"]))
        ticks.append(tick(env))
    assert not env.agents and ticks == [1, 13]
    assert paid == REWARD_CASES[mode]


# ------------------------------------------------------------------------------------------------- graph files


def instance_edges(path, n_tasks: int) -> list[tuple[int, int]]:
    config = make_config(graph=str(path), n_tasks=n_tasks, n_agents=1, n_groups=1, maze_size=2)
    return sorted(generate_instance(config, np.random.default_rng(0)).graph.edges)


GRAPH_FILES = {
    # name: (text without a final newline, tasks, edges once renumbered topologically)
    "tasks.edgelist": ("# a chain\n0 1\n1 2\n2 3", 4, [(0, 1), (1, 2), (2, 3)]),
    "tasks.stg": ("2\n0 0 0\n1 3 1 0\n2 4 1 1\n3 0 1 2", 2, [(0, 1)]),
    "tasks.txt": ("1;2;3\n;1;\n;;1\n;;", 3, [(0, 1), (1, 2)]),  # gauss18 matrix format
}


@pytest.mark.parametrize("name", sorted(GRAPH_FILES))
def test_graph_file_without_final_newline_keeps_its_last_line(tmp_path, name):
    """The last line of a line-based graph file is data even without a newline after it: the edge list's last edge,
    the STG's dummy exit task, the matrix's last row. The same file with a final newline gives the same graph."""
    text, n_tasks, edges = GRAPH_FILES[name]
    without = tmp_path / "without" / name
    with_newline = tmp_path / "with" / name
    for path, content in ((without, text), (with_newline, text + "\n")):
        path.parent.mkdir()
        path.write_text(content)
    assert instance_edges(with_newline, n_tasks) == edges
    assert instance_edges(without, n_tasks) == edges


# ------------------------------------------------------------------------------------------------- config bounds

TINY = math.ulp(0.0)  # the smallest positive float
# field: (overrides at the legal edge, overrides just beyond it). Every field of CESConfig must appear here.
CONFIG_EDGES: dict[str, list[tuple[dict, dict]]] = {
    "n_agents": [
        (dict(n_agents=1, n_groups=1), dict(n_agents=0, n_groups=1)),
        (dict(n_agents=1, n_groups=1), dict(n_agents=-1, n_groups=1)),
        (dict(n_agents=MAX_AGENTS, n_tasks=1), dict(n_agents=MAX_AGENTS + 1, n_tasks=1)),
    ],
    "n_groups": [(dict(n_groups=1), dict(n_groups=0)), (dict(n_agents=3, n_groups=3), dict(n_agents=3, n_groups=4))],
    # the largest task count on the lightest graph (a chain: one edge per task; the memory estimate refuses it on the
    # denser random families)
    "n_tasks": [
        (dict(n_tasks=1), dict(n_tasks=0)),
        (dict(n_tasks=MAX_TASKS, graph="chain"), dict(n_tasks=MAX_TASKS + 1, graph="chain")),
    ],
    "graph": [
        (dict(graph="chain"), dict(graph="")),
        (dict(graph="g40"), dict(graph="no_such_family")),
        # an unknown family is the graph's fault even when a density is given
        (dict(graph="layered", graph_density=0.5), dict(graph="no_such_family", graph_density=0.5)),
    ],
    "graph_density": [
        (dict(graph="layered", graph_density=0.0), dict(graph="layered", graph_density=-TINY)),
        (dict(graph="layered", graph_density=1.0), dict(graph="layered", graph_density=math.nextafter(1.0, 2.0))),
        (dict(graph="layered", graph_density=None), dict(graph="chain", graph_density=0.5)),
    ],
    "graph_layers": [
        (dict(graph_layers=1), dict(graph_layers=0)),
        (dict(n_tasks=12, graph_layers=12), dict(n_tasks=12, graph_layers=13)),
        (dict(graph="hds", graph_layers=None), dict(graph="g40", graph_layers=2)),
    ],
    "partition": [(dict(partition="independent"), dict(partition="balanced"))],
    "reward_range": [
        (dict(reward_range=(TINY, TINY)), dict(reward_range=(0.0, 1.0))),
        (dict(reward_range=(2.0, 2.0)), dict(reward_range=(2.0, math.nextafter(2.0, 0.0)))),
        (dict(reward_range=(1.0, REWARD_LIMIT)), dict(reward_range=(1.0, math.nextafter(REWARD_LIMIT, math.inf)))),
    ],
    "tasks_per_class": [(dict(tasks_per_class=1), dict(tasks_per_class=0))],
    "maze_size": [
        (dict(maze_size=2), dict(maze_size=1)),
        (dict(maze_size=(2, 9)), dict(maze_size=(9, 1))),
        # the memory the mazes need, estimated before anything is built, must fit the machine
        (dict(maze_size=2000), dict(maze_size=100_000)),
    ],
    "explorer": [(dict(explorer="random_walk"), dict(explorer="bfs"))],
    "solution_error_prob": [
        (dict(solution_error_prob=0.0), dict(solution_error_prob=-TINY)),
        (dict(solution_error_prob=1.0), dict(solution_error_prob=math.nextafter(1.0, 2.0))),
    ],
    "agent_speed": [
        (dict(agent_speed=SPEED_RANGE[0]), dict(agent_speed=math.nextafter(SPEED_RANGE[0], 0.0))),
        (dict(agent_speed=SPEED_RANGE[1]), dict(agent_speed=math.nextafter(SPEED_RANGE[1], math.inf))),
    ],
    "group_speeds": [
        (dict(group_speeds=(SPEED_RANGE[0], 1.0)), dict(group_speeds=(0.0, 1.0))),
        (dict(group_speeds=(SPEED_RANGE[0], 1.0)), dict(group_speeds=(math.nextafter(SPEED_RANGE[0], 0.0), 1.0))),
        (dict(group_speeds=(1.0, 1.0)), dict(group_speeds=(1.0, 1.0, 1.0))),
        # the fastest group, agent_speed x its multiplier, must stay within SPEED_RANGE
        (
            dict(agent_speed=SPEED_RANGE[1] / 2, group_speeds=(2.0, 1.0)),
            dict(agent_speed=SPEED_RANGE[1] / 2, group_speeds=(2.0000001, 1.0)),
        ),
    ],
    "speed_spread": [
        (dict(speed_spread=0.0), dict(speed_spread=-TINY)),
        (dict(speed_spread=0.5), dict(speed_spread=1.0)),
        (dict(agent_speed=2e-6, speed_spread=0.5), dict(agent_speed=2e-6, speed_spread=0.5000001)),
        # the fastest agent, agent_speed x (1 + spread), must stay within SPEED_RANGE too
        (
            dict(agent_speed=SPEED_RANGE[1] / 2, speed_spread=0.5),
            dict(agent_speed=SPEED_RANGE[1] / 2, speed_spread=1.5),
        ),
        (
            dict(agent_speed=SPEED_RANGE[1] / 1.5, speed_spread=0.5),
            dict(agent_speed=SPEED_RANGE[1] / 1.5, speed_spread=0.5000001),
        ),
    ],
    "control": [(dict(control="decentralized"), dict(control="central"))],
    "control_options": [(dict(control_options=()), dict(control_options={"no_such_option": 1}))],
    "assign_service_ticks": [
        (dict(assign_service_ticks=0), dict(assign_service_ticks=-1)),
        (dict(assign_service_ticks=TICK_LIMIT), dict(assign_service_ticks=TICK_LIMIT + 1)),
        # in exploration units: a fraction in [0, MAX_EXPLORATION_FRACTION] (a float is refused in ticks)
        (
            dict(cost_unit="exploration", assign_service_ticks=MAX_EXPLORATION_FRACTION),
            dict(cost_unit="exploration", assign_service_ticks=math.nextafter(MAX_EXPLORATION_FRACTION, math.inf)),
        ),
        (
            dict(cost_unit="exploration", assign_service_ticks=0.0),
            dict(cost_unit="exploration", assign_service_ticks=-TINY),
        ),
        (dict(cost_unit="exploration", assign_service_ticks=0.5), dict(assign_service_ticks=0.5)),
    ],
    "validate_service_ticks": [
        (dict(validate_service_ticks=0), dict(validate_service_ticks=-1)),
        (dict(validate_service_ticks=TICK_LIMIT), dict(validate_service_ticks=TICK_LIMIT + 1)),
    ],
    "claim_latency_ticks": [
        (dict(claim_latency_ticks=0), dict(claim_latency_ticks=-1)),
        (dict(claim_latency_ticks=TICK_LIMIT), dict(claim_latency_ticks=TICK_LIMIT + 1)),
    ],
    "peer_validate_ticks": [
        (dict(peer_validate_ticks=0), dict(peer_validate_ticks=-1)),
        (dict(peer_validate_ticks=TICK_LIMIT), dict(peer_validate_ticks=TICK_LIMIT + 1)),
    ],
    "negotiation_latency_ticks": [
        (dict(negotiation_latency_ticks=0), dict(negotiation_latency_ticks=-1)),
        (dict(negotiation_latency_ticks=TICK_LIMIT), dict(negotiation_latency_ticks=TICK_LIMIT + 1)),
    ],
    "share_ticks_per_recipient": [
        (dict(share_ticks_per_recipient=0), dict(share_ticks_per_recipient=-1)),
        (dict(share_ticks_per_recipient=TICK_LIMIT), dict(share_ticks_per_recipient=TICK_LIMIT + 1)),
        (dict(share_ticks_per_recipient=0.5, cost_unit="exploration"), dict(share_ticks_per_recipient=0.5)),
    ],
    "cost_unit": [(dict(cost_unit="exploration", assign_service_ticks=0.0), dict(cost_unit="seconds"))],
    "knowledge_sharing": [(dict(knowledge_sharing="none"), dict(knowledge_sharing="all"))],
    "split_ticks_per_group": [
        (dict(split_ticks_per_group=0), dict(split_ticks_per_group=-1)),
        (dict(split_ticks_per_group=TICK_LIMIT), dict(split_ticks_per_group=TICK_LIMIT + 1)),
    ],
    "collect_ticks_per_group": [
        (dict(collect_ticks_per_group=0), dict(collect_ticks_per_group=-1)),
        (dict(collect_ticks_per_group=TICK_LIMIT), dict(collect_ticks_per_group=TICK_LIMIT + 1)),
    ],
    "partition_ticks_per_task": [
        (dict(partition_ticks_per_task=0), dict(partition_ticks_per_task=-1)),
        (dict(partition_ticks_per_task=TICK_LIMIT), dict(partition_ticks_per_task=TICK_LIMIT + 1)),
    ],
    "crash_rate": [
        (dict(crash_rate=0.0), dict(crash_rate=-TINY)),
        (dict(crash_rate=math.nextafter(1.0, 0.0)), dict(crash_rate=1.0)),
    ],
    "crash_recovery_ticks": [
        (dict(crash_recovery_ticks=1), dict(crash_recovery_ticks=0)),
        (dict(crash_recovery_ticks=TICK_LIMIT), dict(crash_recovery_ticks=TICK_LIMIT + 1)),
    ],
    "controller_outage_start": [(dict(controller_outage_start=0), dict(controller_outage_start=-1))],
    "controller_outage_ticks": [
        (dict(controller_outage_start=0, controller_outage_ticks=1), dict(controller_outage_ticks=1)),
        (
            dict(controller_outage_start=0, controller_outage_ticks=1),
            dict(controller_outage_start=0, controller_outage_ticks=0),
        ),
    ],
    "controller_outage_group": [
        (
            dict(controller_outage_start=0, controller_outage_group=1),
            dict(controller_outage_start=0, controller_outage_group=2),
        ),
        (
            dict(controller_outage_start=0, controller_outage_group=0),
            dict(controller_outage_start=0, controller_outage_group=-1),
        ),
    ],
    "election_timeout_ticks": [
        (dict(controller_outage_start=0, election_timeout_ticks=0), dict(election_timeout_ticks=0)),
        (
            dict(controller_outage_start=0, election_timeout_ticks=0),
            dict(controller_outage_start=0, election_timeout_ticks=-1),
        ),
    ],
    "election_ticks": [
        (dict(election_ticks=0), dict(election_ticks=-1)),
        (dict(election_ticks=TICK_LIMIT), dict(election_ticks=TICK_LIMIT + 1)),
    ],
    "byzantine_fraction": [
        (dict(byzantine_fraction=0.0), dict(byzantine_fraction=-TINY)),
        (dict(byzantine_fraction=1.0), dict(byzantine_fraction=math.nextafter(1.0, 2.0))),
    ],
    "misreport_fraction": [
        (dict(misreport_fraction=0.0), dict(misreport_fraction=-TINY)),
        (dict(misreport_fraction=1.0), dict(misreport_fraction=math.nextafter(1.0, 2.0))),
    ],
    "misreport_factor": [
        (dict(misreport_factor=TINY), dict(misreport_factor=0.0)),
        (dict(misreport_factor=1e6), dict(misreport_factor=math.nextafter(1e6, 2e6))),
    ],
    "exploration_mode": [(dict(exploration_mode="steered"), dict(exploration_mode="manual"))],
    "n_candidates": [
        (dict(n_candidates=1), dict(n_candidates=0)),
        (dict(n_candidates=MAX_CANDIDATES), dict(n_candidates=MAX_CANDIDATES + 1)),
    ],
    "view_radius": [
        (dict(view_radius=0), dict(view_radius=-1)),
        (dict(view_radius=10**3, exploration_mode="steered"), dict(view_radius=10**5, exploration_mode="steered")),
    ],
    "wait_ticks": [
        (dict(wait_ticks=1), dict(wait_ticks=0)),
        (dict(wait_ticks=None), dict(wait_ticks=-1)),
        (dict(wait_ticks=TICK_LIMIT), dict(wait_ticks=TICK_LIMIT + 1)),
    ],
    "reward_mode": [(dict(reward_mode="team"), dict(reward_mode="shared"))],
    "reward_time_scale": [
        (dict(reward_time_scale=1.0 / REWARD_LIMIT), dict(reward_time_scale=math.nextafter(1.0 / REWARD_LIMIT, 0.0)))
    ],
    "time_penalty": [
        (dict(time_penalty=0.0), dict(time_penalty=-TINY)),
        (dict(time_penalty=REWARD_LIMIT), dict(time_penalty=math.nextafter(REWARD_LIMIT, math.inf))),
    ],
    "max_ticks": [
        (dict(max_ticks=1), dict(max_ticks=0)),
        (dict(max_ticks=None), dict(max_ticks=1.5)),
        (dict(max_ticks=TIME_LIMIT), dict(max_ticks=TIME_LIMIT + 1)),
    ],
    "strict_actions": [(dict(strict_actions=False), dict(strict_actions=1))],
    "engine": [
        (dict(engine="compiled"), dict(engine="numba")),
        (dict(engine="compiled"), dict(engine="compiled", control="auction-vickrey")),
        (dict(engine="compiled"), dict(engine="compiled", crash_rate=0.001)),
    ],
}


def test_every_config_field_has_its_bounds_tested():
    assert set(CONFIG_EDGES) == set(FIELD_NAMES)


@pytest.mark.parametrize(
    ("field", "legal", "illegal"),
    [(name, legal, illegal) for name, cases in CONFIG_EDGES.items() for legal, illegal in cases],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_config_bound_at_and_beyond_its_edge(field, legal, illegal):
    """The smallest (or largest) legal value is accepted and kept; one step beyond is refused by a ConfigError that
    names the field."""
    config = make_config(**legal)
    for key, value in legal.items():
        assert getattr(config, key) == value
    assert_refused(field, illegal)


def assert_refused(field: str, overrides: dict) -> None:
    """``overrides`` raise a ConfigError that names ``field`` and says why (a reason, not an empty message)."""
    with pytest.raises(ConfigError, match=f"config field '{field}'") as error:
        make_config(**overrides)
    reason = str(error.value).split(": ", 1)[1]
    assert reason.strip() not in ("", "None"), str(error.value)


NAN = math.nan
# field: values of the wrong type or not finite; each is refused naming the field (bools are not numbers here)
CONFIG_WRONG_TYPES: dict[str, list[dict]] = {
    "n_agents": [dict(n_agents=True), dict(n_agents=2.5)],
    "n_groups": [dict(n_groups=1.5)],
    "n_tasks": [dict(n_tasks="3")],
    "graph": [dict(graph=5)],
    "graph_density": [dict(graph="layered", graph_density=NAN), dict(graph="layered", graph_density="0.1")],
    "partition": [dict(partition=1)],
    "reward_range": [
        dict(reward_range=(1.0,)),
        dict(reward_range=5),
        dict(reward_range=(1.0, NAN)),
        dict(reward_range=(1.0, "2")),
        dict(reward_range=(True, 2.0)),
    ],
    "tasks_per_class": [dict(tasks_per_class=1.5)],
    "maze_size": [dict(maze_size=(2, 2.5)), dict(maze_size=(2, 2, 2)), dict(maze_size=True), dict(maze_size=2.0)],
    "explorer": [dict(explorer=None)],
    "solution_error_prob": [dict(solution_error_prob=NAN), dict(solution_error_prob=True)],
    "agent_speed": [dict(agent_speed=NAN), dict(agent_speed=math.inf), dict(agent_speed="1")],
    "group_speeds": [
        dict(group_speeds=5),
        dict(group_speeds=(1.0, NAN)),
        dict(group_speeds=(True, 1.0)),
        dict(group_speeds=(1.0, "1")),
    ],
    "speed_spread": [dict(speed_spread=NAN)],
    "control": [dict(control=None)],
    "control_options": [dict(control_options=5)],
    "assign_service_ticks": [dict(assign_service_ticks=1.5), dict(assign_service_ticks=True)],
    "wait_ticks": [dict(wait_ticks=1.5), dict(wait_ticks=True)],
    "reward_time_scale": [dict(reward_time_scale=NAN), dict(reward_time_scale=math.inf)],
    "time_penalty": [dict(time_penalty=NAN), dict(time_penalty=math.inf)],
    "max_ticks": [dict(max_ticks=True)],
    "strict_actions": [dict(strict_actions="yes")],
}


def test_config_normalises_json_values_and_replace_keeps_the_other_fields():
    """Lists (from JSON or the CLI) become tuples, option dicts become sorted pairs, and ``replace`` changes only
    the fields it is given."""
    config = make_config(reward_range=[1, 2], maze_size=[3, 4], group_speeds=[1, 1], control="decentralized")
    assert (config.reward_range, config.maze_size, config.group_speeds) == ((1, 2), (3, 4), (1, 1))
    options = make_config(control="decentralized", control_options={"validation": "central"}).control_options
    assert options == (("validation", "central"),)
    changed = config.replace(n_candidates=3)
    assert changed.n_candidates == 3 and changed.maze_size == (3, 4) and changed.control == "decentralized"
    with pytest.raises(ConfigError, match="preset or a base config"):
        make_config("tiny", base=config)


@pytest.mark.parametrize(
    ("field", "illegal"),
    [(name, illegal) for name, cases in CONFIG_WRONG_TYPES.items() for illegal in cases],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_config_refuses_wrong_types_naming_the_field(field, illegal):
    assert_refused(field, illegal)


@pytest.mark.parametrize(
    "edge",
    [
        dict(assign_service_ticks=0, validate_service_ticks=0, split_ticks_per_group=0, collect_ticks_per_group=0),
        dict(claim_latency_ticks=0, peer_validate_ticks=0, control="decentralized"),
        dict(wait_ticks=1, n_candidates=1, tasks_per_class=1, maze_size=2),
        dict(exploration_mode="steered", view_radius=0, n_tasks=4, maze_size=3),
        dict(max_ticks=1),
    ],
)
def test_episodes_run_at_the_legal_edges(edge):
    """A config at its legal edges is not only accepted: an episode runs on it to its end (or its truncation)."""
    env = ces_env.parallel_env(preset="tiny", **edge)
    observations, _ = env.reset(seed=3)
    for _ in range(5000):
        if not env.agents:
            break
        actions = {a: int(np.flatnonzero(observations[a]["action_mask"])[-1]) for a in env.agents}
        observations, *_ = env.step(actions)
    assert not env.agents
    assert env.metrics()["ET"] >= 1


@pytest.mark.parametrize(
    "speeds", [dict(agent_speed=SPEED_RANGE[0]), dict(group_speeds=(SPEED_RANGE[0], 1.0)), dict(agent_speed=1e6)]
)
def test_the_slowest_legal_speed_resets(speeds):
    """A speed the config accepts must give an episode: reset works and the first step runs (the smallest speeds
    used to overflow 1 / speed at reset; the config now bounds speeds to SPEED_RANGE)."""
    env = ces_env.parallel_env(preset="tiny", **speeds)
    observations, _ = env.reset(seed=0)
    env.step({a: int(np.flatnonzero(observations[a]["action_mask"])[-1]) for a in env.agents})


# ------------------------------------------------------------------------------------------------- global random state


def run_trace(seed: int, **fields) -> list:
    """Everything an observer sees of a whole episode under a fixed policy (the first legal task, else wait)."""
    env = ces_env.parallel_env(preset="tiny", **fields)
    observations, _ = env.reset(seed=seed)
    trace = [tick(env)]
    while env.agents:
        actions = {}
        for agent, observation in observations.items():
            legal = np.flatnonzero(observation["action_mask"])
            actions[agent] = int(legal[1]) if len(legal) > 1 else 0
        observations, rewards, _, _, infos = env.step(actions)
        obs = np.stack([observations[a]["observation"] for a in sorted(observations)])
        trace.append((tick(env), obs.tobytes(), sorted(rewards.items())))
    trace.append((env.metrics(), infos["agent_0"]["stats"]))
    return trace


GLOBAL_RNG_CASES = [
    dict(),
    dict(control="decentralized", solution_error_prob=0.5),
    dict(solution_error_prob=0.3, explorer="random_walk", maze_size=5),
    dict(speed_spread=0.5, partition="independent", graph="hds"),
]


@pytest.mark.parametrize(
    "fields", GLOBAL_RNG_CASES, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "default"
)
def test_no_draw_from_a_global_random_generator(fields):
    """An episode (instance generation included) draws only from the env's seeded generator: with numpy's and
    Python's global generators reseeded differently it is the same, and it leaves both global states untouched."""
    traces = []
    for global_seed in (1, 2, 3):
        np.random.seed(global_seed)
        random.seed(global_seed)
        numpy_state, python_state = np.random.get_state(), random.getstate()
        traces.append(run_trace(7, **fields))
        after = np.random.get_state()
        assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1]) and after[2:] == numpy_state[2:]
        assert random.getstate() == python_state
    assert traces[0] == traces[1] == traces[2]
    if fields.get("solution_error_prob"):
        assert traces[0][-1][1]["rejected_solutions"] > 0  # the corrupting draw really happened

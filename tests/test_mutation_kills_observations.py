"""Semantic tests written for the mutants of ``ces_env/observations.py`` that the rest of the suite let live (issue 15
item 3, README "Tests that pin the model, and mutation testing"): the steered mode's local maze view cell by cell and
channel by channel, and the global state vector entry by entry. The expected arrays are worked out in the docstrings.
"""

from __future__ import annotations

import numpy as np
import pytest

from ces_env.config import make_config
from ces_env.maze import EAST, NORTH, SOUTH, WEST
from ces_env.observations import (
    N_AGENT_STATUSES,
    N_TASK_STATUSES,
    VIEW_CHANNELS,
    ActionLayout,
    ObservationBuilder,
    agent_feature_index,
    slot_feature_index,
    view_features,
)
from ces_env.types import AgentStatus, TaskStatus
from tests.golden_helpers import (
    FREE,
    agent_feature,
    build_instance,
    corridor_maze,
    dead_end_maze,
    slot_feature,
    start,
    tick,
)

# ------------------------------------------------------------------------------------------- the local maze view


def test_the_local_view_shows_passages_and_visited_cells_around_the_agent():
    """One agent steers through ``dead_end_maze`` (2 x 3 cells 0 1 2 / 3 4 5, start 1, target 4; passages 1-2, 2-5,
    1-0, 0-3, 3-4) with a view of radius 1 (3 x 3 cells, row-major, centre = the agent's cell).

    After west (1 -> 0) and south (0 -> 3) the agent is at cell 3 (row 1, column 0) and has visited {1, 0, 3}. The
    view's rows are grid rows 0..2 and its columns grid columns -1..1: visited cells 0 and 1 above, 3 at the centre,
    4 (right of it) not visited, everything outside the grid 0. Open sides (N, E, S, W): cell 0 east and south, cell 1
    east and west, cell 3 north and east, cell 4 west; outside cells nothing. A move mask allows north and east.

    Then north, east, east: the agent is at cell 2 (row 0, column 2), visited {0, 1, 2, 3}: in the view's middle row
    cells 1 and 2; the cell to its right is outside the grid (not cell 3 of the next row, which is visited). Back
    west, south and east it reaches the target: one exploration, no replay."""
    inst = build_instance(edges=[], rewards=[1.0], task_class=[0], mazes=[dead_end_maze()], agent_group=[0])
    env, observations, _, _ = start(
        inst, control="decentralized", exploration_mode="steered", view_radius=1, n_candidates=1, **FREE
    )
    first = ActionLayout(env.unwrapped.config).first_move
    observations, *_ = env.step({"agent_0": 1})  # take the task: steering at once (no claim latency)
    for direction in (WEST, SOUTH):
        observations, *_ = env.step({"agent_0": first + direction})
    view = view_features(observations["agent_0"]["observation"], 1)
    visited = view[:, :, VIEW_CHANNELS.index("visited")]
    assert visited.tolist() == [[0, 1, 1], [0, 1, 0], [0, 0, 0]]
    open_sides = view[:, :, : VIEW_CHANNELS.index("visited")]  # N, E, S, W
    nothing = [0, 0, 0, 0]
    assert open_sides.tolist() == [
        [nothing, [0, 1, 1, 0], [0, 1, 0, 1]],
        [nothing, [1, 1, 0, 0], [0, 0, 0, 1]],
        [nothing, nothing, nothing],
    ]
    assert observations["agent_0"]["action_mask"][first:].tolist() == [1, 1, 0, 0]
    for direction in (NORTH, EAST, EAST):
        observations, *_ = env.step({"agent_0": first + direction})
    visited = view_features(observations["agent_0"]["observation"], 1)[:, :, VIEW_CHANNELS.index("visited")]
    assert visited.tolist() == [[0, 0, 0], [1, 1, 0], [0, 0, 0]]
    for direction in (WEST, WEST, SOUTH, EAST):  # back to 0, down to 3, east onto the target 4
        _, _, _, _, infos = env.step({"agent_0": first + direction})
    assert not env.agents
    assert (infos["agent_0"]["stats"]["explorations"], infos["agent_0"]["stats"]["replays"]) == (1, 0)


# ------------------------------------------------------------------------------------------- the global state


def state_blocks(state: np.ndarray, m: int, n: int, l: int) -> tuple[np.ndarray, ...]:
    """The documented blocks of ``env.state()``: tasks (m, statuses + group), agents (n, statuses + progress),
    groups' progress (l), controller queues (l), time (1)."""
    tasks = state[: m * (N_TASK_STATUSES + 1)].reshape(m, N_TASK_STATUSES + 1)
    rest = state[m * (N_TASK_STATUSES + 1) :]
    agents = rest[: n * (N_AGENT_STATUSES + 1)].reshape(n, N_AGENT_STATUSES + 1)
    rest = rest[n * (N_AGENT_STATUSES + 1) :]
    assert len(rest) == 2 * l + 1
    return tasks, agents, rest[:l], rest[l : 2 * l], rest[2 * l :]


@pytest.mark.parametrize("n_groups", [2, 3])
def test_the_global_state_entry_by_entry(n_groups):
    """No costs, ``wait_ticks=1``; task0 (1 move) in group 0, task1 (4 moves) in group 1, task2 (2 moves) in the
    last group, with agent_0 in group 0, agent_1 in group 1 and agent_2 in the last group. At 0 agent_0 and agent_1
    take their tasks and agent_2 waits; at 1 it is asked again. Then: task0 is done (group 0 complete: progress 1),
    task1 is running with agent_1 a quarter through (1 of 4 ticks), task2 is ready. Each task row is its status
    one-hot and its group / (l - 1); each agent row its status one-hot and its job progress; no controller (queues
    0); time: elapsed 1 over the bound 4 (task1's walk; with two groups group 1 walks 6 cells with 2 agents, 3),
    squashed 0.25 / 1.25 = 0.2. Every entry float32."""
    last = n_groups - 1
    inst = build_instance(
        edges=[],
        rewards=[1.0] * 3,
        task_class=[0, 1, 2],
        mazes=[corridor_maze(k) for k in (1, 4, 2)],
        agent_group=[0, 1, last],
        task_group=[0, 1, last],
    )
    env, *_ = start(inst, control="decentralized", wait_ticks=1, n_candidates=1, **FREE)
    observations, *_ = env.step({"agent_0": 1, "agent_1": 1})
    assert tick(env) == 1
    # the same progress in the agents' own features: group 0 complete, agent_2's group has 1 of its tasks ready
    assert agent_feature(observations["agent_0"], "group_progress") == 1.0
    assert agent_feature(observations["agent_2"], "group_ready") == (1.0 if n_groups == 3 else 0.5)
    state = env.state()
    assert state.dtype == np.float32
    tasks, agents, progress, queues, time = state_blocks(state, 3, 3, n_groups)

    expected_tasks = np.zeros((3, N_TASK_STATUSES + 1))
    expected_tasks[[0, 1, 2], [TaskStatus.DONE, TaskStatus.RUNNING, TaskStatus.READY]] = 1.0
    expected_tasks[:, -1] = np.array([0, 1, last]) / last
    np.testing.assert_array_equal(tasks, expected_tasks)

    expected_agents = np.zeros((3, N_AGENT_STATUSES + 1))
    expected_agents[[0, 1, 2], [AgentStatus.FINISHED, AgentStatus.EXPLORING, AgentStatus.IDLE]] = 1.0
    expected_agents[1, -1] = 0.25
    np.testing.assert_array_equal(agents, expected_agents)

    np.testing.assert_array_equal(progress, [1.0] + [0.0] * last)
    np.testing.assert_array_equal(queues, np.zeros(n_groups))
    np.testing.assert_allclose(time, [0.2], rtol=1e-6)


def test_feature_index_errors_list_the_features():
    """An unknown feature name is refused with the list of the known ones, comma separated."""
    with pytest.raises(KeyError, match="agent features: status_idle, "):
        agent_feature_index("colour")
    with pytest.raises(KeyError, match="slot features: valid, reward, known, "):
        slot_feature_index(0, "colour")


# ------------------------------------------------------------------------------------------- agent and slot features


def test_features_at_the_first_decision_of_a_lone_agent():
    """One agent, a chain task0 -> task1 (one successor at most), split 1 tick. At the first decision (tick 1 =
    the start of execution) no time has elapsed: ``time`` 0. The agent is its group's only member and idle:
    ``group_idle`` 1. task0 in slot 0 has the most successors (1 of at most 1): ``successors`` 1. The vectors have
    the card's dtypes (float32 observation, int8 mask)."""
    inst = build_instance(
        edges=[(0, 1)], rewards=[1.0, 1.0], task_class=[0, 1], mazes=[corridor_maze(2)] * 2, agent_group=[0]
    )
    env, observations, _, record = start(inst, control="decentralized", **dict(FREE, split_ticks_per_group=1))
    assert (record.tick, record.deciders) == (1, ("agent_0",))
    observation = observations["agent_0"]
    assert agent_feature(observation, "time") == 0.0
    assert agent_feature(observation, "group_idle") == 1.0
    assert slot_feature(observation, 0, "successors") == 1.0
    assert observation["observation"].dtype == np.float32 and observation["action_mask"].dtype == np.int8


def test_an_unbound_builder_refuses_to_build():
    builder = ObservationBuilder(make_config(preset="tiny"), n_agents=4)
    with pytest.raises(RuntimeError, match=r"^ObservationBuilder: bind\(\) an instance before building observations$"):
        builder.state(None)


def test_the_spaces_are_those_of_the_environment_card():
    """README card: ``observation`` is ``Box(0, 1, (D,), float32)`` and ``action_mask`` ``Box(0, 1, (A,), int8)``
    with ``A = 1 + K`` (plus 4 moves in the steered mode)."""
    for fields, n_actions in ((dict(preset="tiny"), 1 + 8), (dict(preset="tiny", exploration_mode="steered"), 13)):
        config = make_config(n_candidates=8, **fields)
        builder = ObservationBuilder(config, n_agents=config.n_agents)
        box, mask = builder.observation_box, builder.mask_box
        assert (box.low.min(), box.high.max(), box.dtype) == (0.0, 1.0, np.float32)
        assert box.shape == (builder.obs_size,)
        assert (mask.low.min(), mask.high.max(), mask.dtype, mask.shape) == (0, 1, np.int8, (n_actions,))


def test_decider_ranks_follow_the_ids_within_each_group():
    """20 agents in two interleaved groups (even ids in group 0, odd in group 1), 10 ready tasks per group: all 20
    decide at once, and within a group they are ranked by id: agent i is the (i // 2)-th of its 10, ``decider_rank``
    (i // 2) / 9. (More than 16 deciders: an unstable sort would shuffle the ranks.)"""
    n = 20
    inst = build_instance(
        edges=[],
        rewards=[1.0] * n,
        task_class=[0] * n,
        mazes=[corridor_maze(2)],
        agent_group=[i % 2 for i in range(n)],
        task_group=[i % 2 for i in range(n)],
    )
    _, observations, _, record = start(inst, control="decentralized", **FREE)
    assert len(record.deciders) == n
    ranks = [agent_feature(observations[f"agent_{i}"], "decider_rank") for i in range(n)]
    assert ranks == pytest.approx([(i // 2) / 9 for i in range(n)])

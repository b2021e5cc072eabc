"""The simulator's public state arrays have the dtypes and shapes its class docstring documents.

The table in ``CESSimulator``'s docstring is the interface protocols, kernels and analyses program against; this test
reads the table itself, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import ces_env
from ces_env.core.simulator import CESSimulator
from ces_env.policies import RewardFirstPolicy
from tests.helpers import rollout


def documented_arrays() -> dict[str, tuple[str, str]]:
    """{array name: (dtype, shape)} from the rows of the docstring's table."""
    rows = {}
    for line in (CESSimulator.__doc__ or "").splitlines():
        match = re.match(r"\s*((?:``\w+``(?:, )?)+)\s+(\w+)\s+(\([\w, ]*\))\s", line)
        if match:
            for name in re.findall(r"``(\w+)``", match.group(1)):
                rows[name] = (match.group(2), match.group(3))
    return rows


def test_the_table_documents_the_arrays_the_simulator_keeps() -> None:
    rows = documented_arrays()
    assert len(rows) == 25 and {"task_status", "knows", "group_done_time", "down_for_good"} <= set(rows)


CASES = {
    "centralized": dict(preset="tiny"),
    "decentralized, faults": dict(preset="tiny", control="decentralized", crash_rate=0.05, crash_recovery_ticks=3),
    "steered": dict(preset="steered", control="decentralized"),
}


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_every_documented_array_keeps_its_dtype_and_shape_through_an_episode(kwargs: dict) -> None:
    env = ces_env.parallel_env(**kwargs)

    def check(moment: str) -> None:
        sim = env.unwrapped.sim
        inst = sim.instance
        sizes = {"m": inst.n_tasks, "n": inst.n_agents, "l": inst.n_groups, "c": inst.n_classes}
        for name, (dtype, shape) in documented_arrays().items():
            array = getattr(sim, name)
            expected = tuple(sizes[dim.strip()] for dim in shape.strip("()").split(",") if dim.strip())
            assert isinstance(array, np.ndarray), f"{name} {moment}"
            assert (array.dtype, array.shape) == (np.dtype(dtype), expected), f"{name} {moment}"

    env.reset(seed=0)
    check("after reset")
    rollout(env, 0, policy=RewardFirstPolicy())
    assert env.unwrapped.sim.terminated or env.unwrapped.sim.truncated
    check("at the end")


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_at_the_first_decisions_nothing_is_held_started_done_or_finished(kwargs: dict) -> None:
    """-1 means none: before any decision no task has a holder, an execution start, a completion time or a solver,
    no agent holds a task or stands in a maze, and no group has finished."""
    env = ces_env.parallel_env(**kwargs)
    env.reset(seed=0)
    sim = env.unwrapped.sim
    for name in ("task_holder", "done_time", "exec_start_time", "completed_by", "agent_task", "position"):
        assert (getattr(sim, name) == -1).all(), name
    assert (sim.group_done_time == -1).all() and (sim.group_remaining == sim.group_total).all()

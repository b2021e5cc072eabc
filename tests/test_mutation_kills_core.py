"""Semantic tests written for the mutants of ``ces_env/core`` that the rest of the suite let live (issue 15 item 3,
README "Tests that pin the model, and mutation testing"). Each test pins one number the model defines, worked out in
its docstring; the mutant it was written for is named there so that a later campaign can tell why it exists.
"""

from __future__ import annotations

import numpy as np

from ces_env.core.lower_bound import lower_bound_terms, min_task_durations
from tests.golden_helpers import build_instance, config_for, corridor_maze, start

FREE = dict(
    split_ticks_per_group=0,
    collect_ticks_per_group=0,
    assign_service_ticks=0,
    validate_service_ticks=0,
    claim_latency_ticks=0,
    peer_validate_ticks=0,
)
"""Every protocol and system cost at zero: the bound is then the walk alone."""


# ------------------------------------------------------------------------------------------------- the lower bound


def test_a_one_move_task_without_costs_has_a_lower_bound_of_one_tick():
    """One agent, one task of one move, no protocol or system cost: chain = work = 1 tick and the controller term 0,
    so the bound is 1 (its floor of 1 must not push it higher; mutant ``makespan_lower_bound`` ``max(2, ...)``)."""
    inst = build_instance(edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(1)], agent_group=[0])
    for control in ("centralized", "decentralized"):
        env, *_ = start(inst, control=control, **FREE)
        assert env.metrics()["lower_bound"] == 1


def test_min_task_durations_are_integer_ticks():
    """Durations are whole ticks (int64, as documented): 5 moves at speed 2 take ceil(5 / 2) = 3 ticks, 4 moves 2;
    a float array would turn every sum built on it (the chain, the upward rank) into floats (mutant
    ``min_task_durations`` ``astype(None)``)."""
    inst = build_instance(
        edges=[(0, 1)],
        rewards=[1.0, 1.0],
        task_class=[0, 1],
        mazes=[corridor_maze(5), corridor_maze(4)],
        agent_group=[0],
        agent_speed=[2.0],
    )
    durations = min_task_durations(inst)
    assert durations.dtype == np.int64
    assert durations.tolist() == [3, 2]
    terms = lower_bound_terms(inst, config_for(inst, control="decentralized", **FREE))
    assert terms == {"chain": 5, "work": 5, "protocol": 0}  # work: ceil(9 cells / speed 2) = 5
    assert all(type(value) is int for value in terms.values())


def test_central_validation_adds_the_validator_term_to_the_bound():
    """Six one-move tasks, six agents, decentralized control with central validation: the group entity validates the
    six solutions one at a time, 6 x 4 = 24 ticks, far above the chain (claim 3 + 1 move + validation 4 = 8) and the
    work (1). Peer validation has no such term."""
    inst = build_instance(
        edges=[], rewards=[1.0] * 6, task_class=[0] * 6, mazes=[corridor_maze(1)], agent_group=[0] * 6
    )
    costs = dict(FREE, claim_latency_ticks=3, validate_service_ticks=4, peer_validate_ticks=4)
    central = config_for(inst, control="decentralized", control_options={"validation": "central"}, **costs)
    assert lower_bound_terms(inst, central) == {"chain": 8, "work": 1, "protocol": 24}
    peers = config_for(inst, control="decentralized", **costs)
    assert lower_bound_terms(inst, peers) == {"chain": 8, "work": 1, "protocol": 0}

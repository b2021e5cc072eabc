"""The automatic truncation limit (config ``max_ticks=None``), worked out by hand term by term.

The limit is twice what the slowest agent would need to do every task alone, each with a worst-case exploration and
every cost the protocol and the faults can add (``CESSimulator._auto_max_ticks``). It is generous on purpose, so no
ordinary test episode comes near it; these tests pin each of its terms on one hand-built instance, so that a term
lost (an episode truncated that should finish) or inflated (a stalled episode that runs on for ages) is noticed.

The instance: two tasks of one class, both in the 2x3 dead-end maze (6 cells, a 3-move solution), two agents of
group 0 with speeds 1 and 0.5. Base case (centralized, assignment 2 + validation 4 ticks, split 2 + collect 2 per
group): a worst-case depth-first exploration is 2 x 6 = 12 moves, 24 ticks at speed 0.5; per task 24 + 2 + 4 = 30;
overheads 2 + 2 = 4; limit 2 x (4 + 2 x 30) = 128.
"""

from __future__ import annotations

import pytest

from ces_env import config as config_module
from tests.golden_helpers import build_instance, dead_end_maze, start

BASE = 128


def _instance(slowest: float = 0.5, two_groups: bool = False):
    return build_instance(
        edges=[],
        rewards=[1.0, 2.0],
        task_class=[0, 0],
        mazes=[dead_end_maze()],
        agent_group=[0, 1] if two_groups else [0, 0],
        task_group=[0, 1] if two_groups else [0, 0],
        agent_speed=[1.0, slowest],
    )


def _limit(slowest: float = 0.5, two_groups: bool = False, **fields) -> int:
    env, *_ = start(_instance(slowest, two_groups), **fields)
    return int(env.unwrapped.sim.max_ticks)


CASES = {
    "base": (dict(), BASE),
    # a fixed wait is a cost of every task: per task 35
    "fixed wait": (dict(wait_ticks=5), 2 * (4 + 2 * 35)),
    # sharing a solution with both agents: 2 x 3 ticks per task, per task 36
    "sharing cost": (dict(share_ticks_per_recipient=3), 2 * (4 + 2 * 36)),
    # finding the independent subsets: 5 ticks per task, overheads 4 + 10
    "partition cost": (dict(partition="independent", partition_ticks_per_task=5), 2 * (14 + 2 * 30)),
    # no worst case for a random walk: 8 x 2 x 6 cells x 3 solution moves = 288 moves, 576 ticks; per task 582
    "random walk": (dict(explorer="random_walk"), 2 * (4 + 2 * 582)),
    # a steering policy may walk at random too
    "steered": (dict(exploration_mode="steered"), 2 * (4 + 2 * 582)),
    # decentralized: claim 3 + peer validation 4 per task, per task 31
    "decentralized": (dict(control="decentralized", validate_service_ticks=9), 2 * (4 + 2 * 31)),
    # ... validated by the group's entity instead: claim 3 + validation 9, per task 36
    "decentralized, central validation": (
        dict(control="decentralized", validate_service_ticks=9, control_options={"validation": "central"}),
        2 * (4 + 2 * 36),
    ),
    # rejections with p = 0.3: k = ceil(log(1e-6 / 2 tasks) / log 0.3) = ceil(12.05) = 13 attempts, per task 390
    "rejections": (dict(solution_error_prob=0.3), 2 * (4 + 2 * 13 * 30)),
    # every solution rejected: the episode cannot end, no attempt count helps; the cap stays the base
    "every solution rejected": (dict(solution_error_prob=1.0), BASE),
    # one task per group: split and collect are paid by each of the 2 groups, overheads 8
    "two groups": (dict(two_groups=True), 2 * (8 + 2 * 30)),
    # rejections with p = 0.999: ceil(log(5e-7) / log 0.999) = 14,500 attempts, capped at 1000
    "rejections, capped": (dict(solution_error_prob=0.999), 2 * (4 + 2 * 1000 * 30)),
    # rejections with p = 1e-9: log(5e-7) / log(1e-9) = 0.70, one attempt: the base
    "rare rejections": (dict(solution_error_prob=1e-9), BASE),
    # crashes at rate 0.01 per tick: a 24-tick execution survives with 0.99^24 = 0.78568, so 1 / 0.78568 - 1 =
    # 0.27279 expected restarts, each losing the execution (24), the task's costs (30) and a recovery (7):
    # per task 30 + 0.27279 x 61 = 46.64; 2 x (4 + 2 x 46.64) = 194.56, floored
    "crashes": (dict(crash_rate=0.01, crash_recovery_ticks=7), 194),
    # an execution almost sure to crash: the restarts are capped at 1e9 (per task 30 + 1e9 x (24 + 30 + 0))
    "crashes, capped": (dict(crash_rate=0.9), 2 * (4 + 2 * (30 + 10**9 * 54))),
    # speed 0.01: a 1200-tick execution survives with 0.1^1200, 0 in floating point: 1e9 restarts, not a division
    # by zero; per task 1200 + 6 + 1e9 x (1200 + 1206)
    "crashes, certain": (dict(crash_rate=0.9, slowest=0.01), 2 * (4 + 2 * (1206 + 10**9 * 2406))),
    # a controller outage at tick 10 for 20 ticks delays everything by at most 10 + 20
    "outage": (dict(controller_outage_start=10, controller_outage_ticks=20), 2 * (34 + 2 * 30)),
    # ... or until an election (timeout 5 + election 10 = 15) replaces the controller, whichever is first
    "outage, election": (
        dict(controller_outage_start=10, controller_outage_ticks=20, election_timeout_ticks=5, election_ticks=10),
        2 * (29 + 2 * 30),
    ),
    "outage for good, election": (
        dict(controller_outage_start=10, election_timeout_ticks=5, election_ticks=10),
        2 * (29 + 2 * 30),
    ),
    # an outage for good and no election: only the tick at which it starts is counted
    "outage for good": (dict(controller_outage_start=10), 2 * (14 + 2 * 30)),
}


@pytest.mark.parametrize(("fields", "expected"), CASES.values(), ids=CASES.keys())
def test_the_automatic_max_ticks_worked_out_by_hand(fields: dict, expected: int) -> None:
    assert _limit(**fields) == expected


def test_a_given_max_ticks_is_kept() -> None:
    assert _limit(max_ticks=77) == 77


def test_the_automatic_max_ticks_never_passes_the_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    env, *_ = start(_instance())  # validated under the real limit
    monkeypatch.setattr(config_module, "TIME_LIMIT", 100)
    env.reset(seed=0, options={"instance": _instance()})
    assert env.unwrapped.sim.max_ticks == 100  # 128 capped

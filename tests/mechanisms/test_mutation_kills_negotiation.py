"""The negotiation base's numbers, each worked out by hand: the stats a mechanism reports, what agents are paid and what
their work truly costs, a busy agent's backlog term by term, the price ceiling, option types, the crash hook.

Written for the mutants of ``ces_env/core/protocols/negotiation.py`` that the mechanism tests let live (issue 15,
``reports/mutation.md``): each test names the kind of mistake it stops.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque

import numpy as np
import pytest

import ces_env
from ces_env.config import make_config
from ces_env.core.lower_bound import lower_bound_terms
from ces_env.core.protocols.auctions import ClockOptions
from ces_env.core.protocols.contract_net import ContractNet, ContractNetOptions
from ces_env.core.protocols.negotiation import (
    RANDOM_WALK_EXPONENT,
    NegotiationOptions,
    estimated_cost,
    expected_exploration_moves,
    exploration_estimate,
)
from ces_env.core.simulator import CESSimulator
from ces_env.types import AgentStatus, TaskStatus
from tests.golden_helpers import build_instance, config_for, corridor_maze
from tests.mechanisms.cases import TWO_AGENT_COSTS, run_on_instance, simulator_on, two_agent_instance
from tests.mechanisms.swarm_cases import fresh_simulator

VALIDATE = 4  # validate_service_ticks of the hand-built simulators below (the manager's validation)


def _simulator(inst, control: str = "contract-net", **fields) -> CESSimulator:
    """A simulator of ``inst`` under ``control``, before its first event (tests set its state by hand)."""
    fields.setdefault("validate_service_ticks", VALIDATE)
    return simulator_on(inst, control, **fields)


def _three_corridors(speeds=(1.0, 2.0)):
    """One group, agents of ``speeds``; four tasks (rewards 4, 3, 2, 1), of classes 0, 1, 0, 1. Class 0 is a 4-move
    corridor in a 2x3 maze (6 cells: a depth-first estimate of 5 moves, a replay of 4), class 1 a 2-move corridor in a
    2x2 maze (an estimate of 3 moves, a replay of 2)."""
    return build_instance(
        edges=[],
        rewards=[4.0, 3.0, 2.0, 1.0],
        task_class=[0, 1, 0, 1],
        mazes=[corridor_maze(4), corridor_maze(2)],
        agent_group=[0] * len(speeds),
        agent_speed=list(speeds),
    )


# -------------------------------------------------------------------------------------------- stats and payments
def test_stats_of_one_contract_net_round():
    """The two-agent case: one round; announcement to 2 + 2 bids + 1 award = 5 messages; the round is open from the
    announcement to the award, 2 hops of 3 ticks = 6 ticks; one award; Contract Net pays nothing. The winner (agent 1,
    speed 2) truly expects 10 ticks, the task's whole true cost (agent 0 got nothing: 0)."""
    _, sim = run_on_instance("contract-net", two_agent_instance())
    assert sim.control.mechanism_stats() == {
        "mechanism": "contract-net",
        "validation": "manager",
        "rounds": 1,
        "negotiation_messages": 5,
        "negotiation_ticks": 6,
        "awards": 1,
        "payments_total": 0.0,
        "payments": [0.0, 0.0],
    }
    assert sim.control.true_costs.tolist() == [0.0, float(TWO_AGENT_COSTS[1])]
    # the public state's types (the class docstring): counts in whole ticks, money in floats
    control = sim.control
    assert [a.dtype for a in (control.rounds, control.negotiation_ticks, control.awards)] == [np.int64] * 3
    assert [a.dtype for a in (control.payments, control.true_costs)] == [np.float64] * 2


def test_a_misreporting_winner_is_paid_on_its_reports_and_costs_its_truth():
    """Both agents overstate by 2 (``misreport_fraction=1``, ``misreport_factor=2``): they bid 2 x 19 = 38 and
    2 x 10 = 20; first-price awards agent 1 (20 is within the reserve 19 + 4 = 23) at its bid, 20. Its true cost
    stays its truthful estimate, 10, so its utility is 20 - 10 = 10 (the reports must be scaled even by exactly 2,
    and the true cost must not be). Vickrey, since the reserve: paid min(38, 23) = 23, the reserve."""
    _, sim = run_on_instance("auction-first-price", two_agent_instance(), misreport_fraction=1.0, misreport_factor=2.0)
    assert sim.control.payments.tolist() == [0.0, 2.0 * TWO_AGENT_COSTS[1]]
    assert sim.control.mechanism_stats()["payments"] == [0.0, 20.0]
    assert sim.control.mechanism_stats()["payments_total"] == 20.0
    assert sim.control.true_costs.tolist() == [0.0, float(TWO_AGENT_COSTS[1])]
    _, vickrey = run_on_instance("auction-vickrey", two_agent_instance(), misreport_fraction=1.0, misreport_factor=2.0)
    assert vickrey.control.payments.tolist() == [0.0, TWO_AGENT_COSTS[0] + 4.0]
    assert vickrey.control.true_costs.tolist() == [0.0, float(TWO_AGENT_COSTS[1])]


def test_payments_and_true_costs_add_up_over_an_agents_awards():
    """First-price, three 5-move corridors of different classes, agents of speed 1 and 2 (estimates 5 and 3 ticks).
    Task 0: bids 5 and 3, agent 1 wins and is paid 3. Task 1 (the next round, while agent 1 holds task 0): agent 0
    alone bids 5 and is paid 5. Task 2 waits for a free agent: agent 1 (exploring 3 ticks from 11, validated 4 ticks
    later) bids 3 alone and is paid 3 again. Agent 1 is paid 3 + 3 = 6 and truly costs 6; agent 0 5 and 5."""
    inst = build_instance(
        edges=[],
        rewards=[3.0, 2.0, 1.0],
        task_class=[0, 1, 2],
        mazes=[corridor_maze(5)] * 3,
        agent_group=[0, 0],
        agent_speed=[1.0, 2.0],
    )
    _, sim = run_on_instance("auction-first-price", inst)
    assert sim.completed_by.tolist() == [1, 0, 1]
    assert sim.control.payments.tolist() == [5.0, 6.0]
    assert sim.control.true_costs.tolist() == [5.0, 6.0]


def test_the_true_cost_of_a_task_whose_class_the_agent_will_know_is_a_replay():
    """Vickrey, ``queue_limit=1``, two tasks of one class: agent 1 wins task 0 (its exploration estimate, 10) and then
    task 1 while it holds task 0 (bids at tick 9, when task 0's award arrives: its exploration, 10 - 0 ticks done,
    and a validation, 4, are its backlog); by the time it executes task 1 it knows the class, so the task truly costs
    it that backlog plus a replay, ceil(solution / 2) ticks: 10 + 4 + ceil(2 / 2) = 15, the truthful bid. In all
    10 + 15 = 25 (before the true cost was the bid's function, it counted the tasks' own costs only: 10 + 1)."""
    instance = two_agent_instance(2, same_class=True)
    assert instance.mazes[0].solution_length == 2
    _, sim = run_on_instance("auction-vickrey", instance, control_options={"queue_limit": 1})
    assert sim.completed_by.tolist() == [1, 1]
    assert sim.control.true_costs.tolist() == [0.0, TWO_AGENT_COSTS[1] + (TWO_AGENT_COSTS[1] + 4 + 1.0)]
    assert sim.control.payments.tolist() == [0.0, 19.0 + 19.0]  # agent 0's bid both times (below the reserve 23)


def test_a_market_that_trades_nothing_waits_for_a_change():
    """Double auction, ``queue_limit=1``, three tasks of different classes. Round 1 (ticks 2-8) trades two tasks
    (limits 19 + 4 = 23, asks 19 and 10). Round 2 (8-14, task 2, both agents holding an award) has asks above the
    limit (agent 0: 19 + 4 + 19 = 42, agent 1: 10 + 4 + 10 = 24 > 23): no trade, and no new round until an agent
    frees up; round 3 opens then and trades task 2, which starts 3 hops (9 ticks) after that. Three rounds of 2 hops
    (6 ticks each); messages: calls to 2, 2 offers and the trades in each round, 6 + 4 + 5."""
    _, sim = run_on_instance("auction-double", two_agent_instance(3), control_options={"queue_limit": 1}, trace=True)
    stats = sim.control.mechanism_stats()
    assert (stats["rounds"], stats["trades"], stats["negotiation_ticks"]) == (3, 3, 18)
    assert stats["negotiation_messages"] == 6 + 4 + 5
    freed = min(c.tick for c in sim.trace.agent_changes if c.tick > 14 and c.status == AgentStatus.IDLE)
    assert sim.exec_start_time[2] == freed + 3 * sim.config.negotiation_latency_ticks


def test_the_peers_add_no_resource_term_to_the_lower_bound():
    """A manager validates each of its group's 4 tasks in turn (4 x 4 = 16 ticks); peers validate in parallel: 0."""
    inst = _three_corridors()
    manager = lower_bound_terms(inst, config_for(inst, control="contract-net", validate_service_ticks=VALIDATE))
    peers = lower_bound_terms(inst, config_for(inst, control="cbba"))
    assert (manager["protocol"], peers["protocol"]) == (4 * VALIDATE, 0)


# ------------------------------------------------------------------------------------------------ cost estimates
def test_an_understated_cost_is_never_below_one_tick():
    """A liar with factor 0.1 on a 2x2 maze (4 cells, estimate 3 moves at speed 1): 3 x 0.1 = 0.3 rounds to 0, and a
    reported cost is at least 1 tick; its truthful cost stays 3."""
    inst = build_instance(edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(1)], agent_group=[0])
    sim = _simulator(inst, misreport_fraction=1.0, misreport_factor=0.1)
    assert estimated_cost(sim, 0, 0) == 1
    assert estimated_cost(sim, 0, 0, truthful=True) == 3


def test_the_random_walk_estimate_is_the_power_law_of_the_size():
    """``random_walk``: n_cells ** 1.625 expected moves (400 cells: 400 ** 1.625); depth-first: n_cells - 1."""
    assert expected_exploration_moves(400, "random_walk") == pytest.approx(400.0**RANDOM_WALK_EXPONENT)
    assert expected_exploration_moves(400, "dfs") == 399.0


def test_a_fast_agent_estimates_the_smallest_maze_at_one_tick():
    """Automatic mode: an agent of speed 3 needs ceil(3 / 3) = 1 tick for a 2x2 maze (3 moves), not 2."""
    inst = build_instance(
        edges=[], rewards=[1.0], task_class=[0], mazes=[corridor_maze(1)], agent_group=[0], agent_speed=[3.0]
    )
    assert exploration_estimate(_simulator(inst), 0, 0) == 1


def test_the_automatic_mode_estimates_with_the_configured_explorer():
    """Automatic mode, ``explorer="random_walk"``: a 2x3 maze (6 cells) is estimated at 6 ** 1.625 = 18.4 moves,
    ceil(18.4 / 1) = 19 ticks at speed 1; the depth-first explorer's estimate would be 5."""
    sim = _simulator(_three_corridors(), explorer="random_walk")
    assert exploration_estimate(sim, 0, 0) == math.ceil(6**RANDOM_WALK_EXPONENT) == 19


def test_a_tasks_worst_overhead_is_its_hops_and_its_validation():
    """Contract Net: 3 hops of 3 ticks before a task starts and a manager's validation of 4 after: 13 ticks."""
    config = make_config("tiny", control="contract-net", validate_service_ticks=VALIDATE)
    assert ContractNet.max_task_overhead(config) == 3 * 3 + VALIDATE


# ------------------------------------------------------------------------------------------- holdings and backlog
def test_task_zero_counts_as_held():
    """Task ids start at 0: an agent executing task 0 holds it (load 1 with a queued award, 2 with one on its way),
    and, with ``queue_limit=0``, does not bid; a finished agent never bids."""
    sim = _simulator(_three_corridors(speeds=(1.0, 2.0, 1.0)))
    control = sim.control
    sim.agent_task[0], sim.agent_status[0] = 0, AgentStatus.EXPLORING
    assert control.load(0) == 1 and control.held_tasks(0) == [0]
    control.queued[0].append(2)
    control.incoming[0].append(1)
    assert control.load(0) == 3 and control.held_tasks(0) == [0, 2, 1]
    sim.agent_status[2] = AgentStatus.FINISHED
    assert control.bidders(0) == [1]


def _busy(sim: CESSimulator, status: AgentStatus, *, time: int, **state) -> int:
    """Agent 0 executes task 0 (class 0) with ``status`` at ``time``; ``state``: job_start, job_end, steer_moves."""
    sim.time = time
    sim.agent_task[0], sim.agent_status[0] = 0, status
    for name, value in state.items():
        getattr(sim, name)[0] = value
    return sim.control.backlog(0)


def test_the_backlog_of_an_exploring_agent_term_by_term():
    """Agent 0 (speed 1) explores task 0 (class 0, estimate 5) since tick 0. At tick 2: 5 - 2 = 3 ticks left plus its
    validation (4) = 7. Its bid for task 2 (class 0, whose solution it will know) adds a replay, 4: 11; for task 1
    (class 1, unknown) an exploration, 3: 10. An award queued (task 1: 3 + 4) makes the backlog 14; one on its way
    (task 2: a replay, 4 + 4) 22; another (task 3, class 1, known once task 1 is done: a replay, 2 + 4) 28. At tick 9
    it has explored longer than estimated: nothing left but the validation, 4."""
    sim = _simulator(_three_corridors())
    assert _busy(sim, AgentStatus.EXPLORING, time=2, job_start=0) == 3 + VALIDATE
    assert sim.control.completion_estimate(0, 2) == 3 + VALIDATE + 4
    assert sim.control.completion_estimates(0, [1, 2]) == [3 + VALIDATE + 3, 3 + VALIDATE + 4]
    sim.control.queued[0] = deque([1])
    assert sim.control.backlog(0) == 7 + 3 + VALIDATE
    sim.control.incoming[0] = deque([2])
    assert sim.control.backlog(0) == 7 + 3 + VALIDATE + 4 + VALIDATE
    sim.control.incoming[0].append(3)
    assert sim.control.backlog(0) == 7 + 3 + VALIDATE + 4 + VALIDATE + 2 + VALIDATE
    sim.control.queued[0].clear(), sim.control.incoming[0].clear()
    assert _busy(sim, AgentStatus.EXPLORING, time=9, job_start=0) == VALIDATE


def test_the_backlog_of_a_replaying_agent_is_exact():
    """A replay's end is known: at tick 6 with the replay ending at 10, 4 ticks + the validation; ending now, 0 + 4."""
    sim = _simulator(_three_corridors())
    assert _busy(sim, AgentStatus.REPLAYING, time=6, job_end=10) == 4 + VALIDATE
    assert _busy(sim, AgentStatus.REPLAYING, time=10, job_end=10) == VALIDATE


def test_the_backlog_of_a_steered_agent_counts_its_moves_left():
    """Steered, agent 0 of speed 0.5 (2 ticks a move) has made 2 of the 5 expected moves: 3 x 2 = 6 ticks + 4. After 7
    moves (a steered walk may take more than the estimate) nothing is left but the validation."""
    sim = _simulator(_three_corridors(speeds=(0.5, 1.0)), exploration_mode="steered")
    assert int(sim.move_ticks[0]) == 2
    assert _busy(sim, AgentStatus.STEERING, time=7, steer_moves=2) == 3 * 2 + VALIDATE
    assert _busy(sim, AgentStatus.STEERING, time=15, steer_moves=7) == VALIDATE


def test_the_price_ceiling_adds_one_worst_reservation_per_task_an_agent_may_hold():
    """No queue: the ceiling of task 1 is the slowest member's exploration estimate, 3 (agent 0, speed 1, class 1).
    ``queue_limit=2``: plus 2 x the group's largest reservation (class 0: exploration ceiling + validation, 5 + 4 =
    9): 3 + 18 = 21."""
    assert _simulator(_three_corridors()).control.price_ceiling(0, 1) == 3
    queued = _simulator(_three_corridors(), control_options={"queue_limit": 2})
    assert queued.control.price_ceiling(0, 1) == 3 + 2 * (5 + VALIDATE)


# ------------------------------------------------------------------------------------------------------ the hooks
def test_no_agent_is_asked_to_choose_under_a_mechanism():
    """The mechanism allocates: a call of ``choose`` or ``decline`` is a bug of the caller, named as such."""
    sim = _simulator(_three_corridors())
    with pytest.raises(RuntimeError, match="allocates tasks itself"):
        sim.control.choose(0, 0)
    with pytest.raises(RuntimeError, match="allocates tasks itself"):
        sim.control.decline(0)


def test_peers_have_no_queue_and_no_busy_server():
    """Peer validation (CBBA): every group's validation queue is empty, as integers like the manager's, and no server
    is busy (None: there is none)."""
    sim = _simulator(_three_corridors(), control="cbba")
    lengths = sim.control.queue_lengths()
    assert lengths.tolist() == [0] and lengths.dtype == np.int64
    assert sim.control.busy_ticks() is None


def test_the_manager_validates_in_the_trace():
    """The manager's service is labelled a validation in the trace (its one kind of job): the two-agent case, one
    validation of task 0 by agent 1."""
    _, sim = run_on_instance("contract-net", two_agent_instance(), trace=True)
    validations = sim.trace.validations()
    assert [(v.agent, v.task, v.accepted) for v in validations] == [(1, 0, True)]
    assert [(s.kind, s.agent, s.task, s.end - s.start) for s in sim.trace.services] == [("validate", 1, 0, VALIDATE)]


def test_an_agent_freed_while_its_next_award_travels_waits_for_it_claiming():
    """Vickrey, ``queue_limit=1``, two tasks of one class: agent 1 (fast) explores task 0 and wins task 1 while busy;
    it is freed at 16 while that award is still on its way, so it waits CLAIMING (not IDLE), then replays task 1."""
    _, sim = run_on_instance(
        "auction-vickrey", two_agent_instance(2, same_class=True), control_options={"queue_limit": 1}, trace=True
    )
    at_16 = [c for c in sim.trace.agent_changes if c.agent == 1 and c.tick == 16]
    assert at_16 and AgentStatus(at_16[-1].status) == AgentStatus.CLAIMING
    assert sim.completed_by.tolist() == [1, 1]


def _contract_net_with_crashes(seed: int, crash_rate: float) -> CESSimulator:
    """Contract Net on the two-agent case with 4 tasks of one class, ``queue_limit=1`` (agents bid while busy),
    crashes at ``crash_rate`` with a recovery after 5 ticks, traced; the simulator at the episode's end."""
    _, sim = run_on_instance(
        "contract-net",
        two_agent_instance(4, same_class=True),
        seed=seed,
        control_options={"queue_limit": 1},
        crash_rate=crash_rate,
        crash_recovery_ticks=5,
        trace=True,
    )
    return sim


def test_a_crash_returns_the_awards_on_their_way_and_ignores_them_on_arrival():
    """Contract Net, ``queue_limit=1``, crashes (rate 0.05, seed 2, recovery 5 ticks): agent 0 crashes at 16 while
    executing one task and with the award of another on its way. Both tasks are ready again at 16, held by nobody;
    the stale award arriving at 17 is ignored; agent 0 recovers, wins again, and every task gets done."""
    sim = _contract_net_with_crashes(seed=2, crash_rate=0.05)
    assert sim.faults.counts["crashes"] == 1
    released = [(c.task, c.holder) for c in sim.trace.task_changes if c.tick == 16 and c.status == TaskStatus.READY]
    assert len(released) == 2 and all(holder == -1 for _, holder in released)
    assert sim.terminated and (sim.task_status == TaskStatus.DONE).all()
    assert 0 in sim.completed_by.tolist()  # agent 0 worked again after its recovery


def test_an_award_to_an_agent_that_crashed_since_it_bid_is_not_made():
    """Contract Net, ``queue_limit=1``, crashes (rate 0.1, seed 0, recovery 5 ticks): agent 0 bids while executing,
    crashes before the award at 14, and is down then. The task is not awarded to it (it stays open for the next
    round, asked for at once); nobody holds a task for agent 0 while it is down, and every task gets done."""
    sim = _contract_net_with_crashes(seed=0, crash_rate=0.1)
    finished = [c.tick for c in sim.trace.agent_changes if c.agent == 0 and c.status == AgentStatus.FINISHED]
    crash = max(t for t in finished if t < 14)
    assert crash + 5 > 14  # agent 0 is down at 14
    held_while_down = [c for c in sim.trace.task_changes if c.holder == 0 and crash <= c.tick < crash + 5]
    assert held_while_down == []
    assert sim.terminated and (sim.task_status == TaskStatus.DONE).all()


# ------------------------------------------------------------------------------------------------------- options
def test_option_types_are_checked():
    """An integer option refuses a bool (True is an int in Python); a float option refuses a bool and non-finite
    numbers; each error names the option."""
    with pytest.raises(ValueError, match="'batch_size' must be an integer"):
        ContractNetOptions(batch_size=True)
    with pytest.raises(ValueError, match="'step_fraction' must be a finite number"):
        ClockOptions(step_fraction=True)
    with pytest.raises(ValueError, match="'step_fraction' must be a finite number"):
        ClockOptions(step_fraction=float("nan"))


def test_options_of_a_module_without_postponed_annotations_are_checked_too():
    """A mechanism written in a module without ``from __future__ import annotations`` has real types, not strings, as
    its fields' types (``make_dataclass`` gives the same): they are checked all the same."""
    options = dataclasses.make_dataclass(
        "PlainOptions", [("rate", float, 0.5), ("rounds", int, 1)], bases=(NegotiationOptions,), frozen=True
    )
    assert options().rate == 0.5
    with pytest.raises(ValueError, match="'rate' must be a finite number"):
        options(rate=True)
    with pytest.raises(ValueError, match="'rounds' must be an integer"):
        options(rounds=1.5)


# ------------------------------------------------------------------------------------------- faults and mechanisms
def test_a_market_that_can_never_clear_truncates_the_episode_with_its_reason():
    """Both agents overstate by 3 (asks 3 x 19 = 57 and 3 x 10 = 30) against the double auction's limit 19 + 4 = 23:
    no trade, ever, and nothing else can happen. The episode is truncated (``"no_award"``), not crashed."""
    env = ces_env.parallel_env(
        n_agents=2,
        n_groups=1,
        n_tasks=1,
        maze_size=(4, 5),
        control="auction-double",
        misreport_fraction=1.0,
        misreport_factor=3.0,
    )
    env.reset(seed=0, options={"instance": two_agent_instance()})
    sim = env.unwrapped.sim
    assert sim.truncated and not sim.terminated
    assert sim.truncation_reason == "no_award"
    assert sim.control.mechanism_stats()["trades"] == 0 and TaskStatus(sim.task_status[0]) == TaskStatus.READY


def test_a_task_engaged_by_an_agent_down_since_keeps_its_wait():
    """Response threshold: the award to an agent that went down since it engaged is not made, and the task, still
    ready and held by nobody, keeps the tick it became ready (its stimulus keeps growing from there)."""
    sim = fresh_simulator("response-threshold")
    group = int(sim.instance.agent_group[0])
    sim.control.tasks_ready(group)  # tick 0: the group's ready tasks start waiting
    task = int(sim.control.open_tasks(group)[0])
    since = int(sim.control.ready_since[task])
    assert since >= 0
    sim.down[0] = True
    sim.control.award(task, 0)
    assert TaskStatus(sim.task_status[task]) == TaskStatus.READY and sim.task_holder[task] == -1
    assert sim.control.ready_since[task] == since

"""Max-Sum and DPOP, pinned where mutation testing found gaps: the decision rule's edge cases (a zero belief, several
conflicts, the fallback), damping and the inclusive stopping tolerance, runs without agents or tasks, DPOP's tie-break,
the protocols' totals over several runs (messages, iterations, unconverged runs, conflicts, the optimal value), the
next run opening as soon as a run that awarded something ends, the options' scaling by the run's largest utility, and
the worst negotiation hops of the analysis.

Hand numbers of the two-agent instance (``tests.mechanisms.cases.two_agent_instance``): one group, agent 0 of speed 1
and agent 1 of speed 2, every task alone in its own 4x5 maze (20 cells, class unknown to both). Estimated costs 19 and
10 ticks, plus a peer validation of 4 ticks: durations 23 and 14. The discount's time unit is the largest reservation
cost, 19 + 4 = 23 ticks, so with discount 0.5 an idle agent's utility for a task of reward R is ``R * 0.5 ** (23 / 23)
= R / 2`` for agent 0 and ``R * F`` for agent 1, ``F = 0.5 ** (14 / 23) = 0.65579...``. The negotiation latency is 3
ticks a hop.
"""

from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np
import pytest

import ces_env
from ces_env.config import make_config
from ces_env.core.protocols import max_sum
from ces_env.core.protocols.dpop import DPOPControl, max_ready_tasks, run_dpop
from ces_env.core.protocols.max_sum import NONE, MaxSumControl, decide, run_max_sum
from tests.mechanisms.cases import run_on_instance, two_agent_instance

F = 0.5 ** (14 / 23)
"""The fast agent's utility for a task of reward 1 in the two-agent instance (see the module docstring)."""


# ------------------------------------------------------------------------------------------------ Max-Sum, pure
def test_decide_takes_only_positive_beliefs_counts_every_conflict_and_falls_back_on_agent_0s_best():
    """* A largest belief of exactly 0 is not positive: agent 0 (beliefs 0, -1) takes none, agent 1 its task 1.
    * Three agents naming task 0: agent 0 keeps it, agents 1 and 2 are two conflicts.
    * No positive belief at all (0 and -1 on each row): the first agent takes its own best task, index 1 (belief 0),
      not agent 1's best (index 0) nor index 0 by default; agent 1 takes none, no conflict."""
    choices, conflicts = decide(np.array([[0.0, -1.0], [-1.0, 2.0]]))
    assert (choices.tolist(), conflicts) == ([NONE, 1], 0)
    choices, conflicts = decide(np.array([[1.0], [1.0], [1.0]]))
    assert (choices.tolist(), conflicts) == ([0, NONE, NONE], 2)
    choices, conflicts = decide(np.array([[-1.0, 0.0], [0.0, -1.0]]))
    assert (choices.tolist(), conflicts) == ([1, NONE], 0)


def test_damping_keeps_that_share_of_the_old_message():
    """One agent and one task of utility 4: no other agent and no other task, so every factor message is u - 0 = 4.
    Damped by d = 0.5 from r = 0: r_n = (1 - d) * 4 + d * r_{n-1} = 2, 3, 3.5. After 3 iterations the last move
    (0.5) is above the tolerance: not converged."""
    result = run_max_sum(np.array([[4.0]]), penalty=4.0, max_iterations=3, damping=0.5)
    assert result.beliefs.tolist() == [[3.5]]
    assert (result.iterations, result.converged, result.choices.tolist()) == (3, False, [0])


def test_the_stopping_tolerance_is_inclusive():
    """Undamped, the message of a lone agent and task is 4 after iteration 1 and again 4 after iteration 2: a move of
    exactly 0, which "no message moves by more than tolerance = 0" accepts. The run stops at iteration 2."""
    result = run_max_sum(np.array([[4.0]]), penalty=4.0, max_iterations=5, damping=0.0, tolerance=0.0)
    assert (result.iterations, result.converged) == (2, True)


@pytest.mark.parametrize("shape", [(0, 3), (2, 0), (0, 0)])
def test_an_empty_run_is_a_complete_converged_result(shape):
    """No agent or no task: every agent takes none (an int64 array of NONE), beliefs are an (N, T) zero matrix, 0
    iterations, converged, 0 conflicts (an int, as the protocol adds it to its total)."""
    result = run_max_sum(np.zeros(shape), penalty=1.0, max_iterations=10, damping=0.0)
    assert result.choices.dtype == np.int64 and result.choices.tolist() == [NONE] * shape[0]
    assert result.beliefs.shape == shape and not result.beliefs.any()
    assert (result.iterations, result.converged, result.conflicts) == (0, True, 0)
    assert type(result.conflicts) is int


# --------------------------------------------------------------------------------------------- Max-Sum, protocol
def test_max_sum_totals_over_two_runs_and_the_next_run_opens_at_once():
    """Two tasks (rewards 2 and 1), ``max_iterations=1``. Utilities: agent 0 (1, 0.5), agent 1 (2F, F).

    Run 1, both agents: with r = 0 the first factor messages are r_ij = u_ij - u_oj (the other agent's utility; the
    penalty, the largest utility 2F, only bounds the negative ones): agent 1 (2F - 1, F - 0.5) > 0, agent 0 < 0. Agent
    1 takes task 0, agent 0 none. 1 iteration (not converged: the messages moved from 0): 1 x 2 x 2 tasks x 1 other
    agent = 4 messages, and the decision to the groupmate: 1. 3 hops (2 x 1 + 1).
    The run awarded a task, so the next opens at the tick it ends (start + 9), though no agent freed up: agent 0 alone
    (agent 1 holds a task), task 1 alone: belief 0.5 > 0 after 1 iteration (not converged), 0 factor messages (no
    other agent), 1 decision message; 3 hops, so agent 0 starts task 1 at start + 18.
    Totals: 6 negotiation messages, 2 iterations, 2 unconverged runs, 0 conflicts."""
    metrics, sim = run_on_instance("max-sum", two_agent_instance(2), control_options={"max_iterations": 1})
    stats = sim.control.mechanism_stats()
    assert {key: stats[key] for key in ("rounds", "negotiation_messages", "conflicts", "iterations")} == {
        "rounds": 2,
        "negotiation_messages": 6,
        "conflicts": 0,
        "iterations": 2,
    }
    assert stats["unconverged_runs"] == 2
    assert sim.completed_by.tolist() == [1, 0]
    assert sim.exec_start_time.tolist() == [sim.start_time + 9, sim.start_time + 18]


def test_max_sum_iterations_stop_at_a_tolerance_relative_to_the_largest_utility():
    """One task of reward 1000, damping 0.5. Utilities 500 and U = 1000 F = 655.79. With one factor the variable
    messages are 0, so the undamped message is fixed: agent 1 U - 500 = 155.79, agent 0 500 - U (the penalty U does
    not bind). Damped from 0, r_n = (1 - 0.5 ** n) r*, so iteration n moves by 0.5 ** n x 155.79; the run stops when
    that is <= 1e-9 x U: 0.5 ** n <= 1e-9 / (1 - 0.5 ** (9 / 23)) = 4.21e-9, first at n = 28 (0.5 ** 27 = 7.45e-9).
    An absolute tolerance 1e-9 would need 38. Messages 28 x 2 x 1 x 1 + 1 decision = 57; hops 2 x 28 + 1 = 57."""
    instance = dataclasses.replace(two_agent_instance(), rewards=np.array([1000.0]))
    _, sim = run_on_instance("max-sum", instance, control_options={"damping": 0.5, "max_iterations": 100})
    assert (sim.control.iterations, sim.control.unconverged_runs, sim.control.negotiation_messages) == (28, 0, 57)
    assert sim.exec_start_time[0] == sim.start_time + 57 * 3


def test_max_sum_scales_its_penalty_and_tolerance_by_the_runs_largest_utility(monkeypatch):
    """Option ``penalty`` is a multiple of the run's largest utility: in the two-agent case (one task of reward 1) that
    is F, so penalty 0.2 means 0.2 F in the run, and the tolerance is 1e-9 F."""
    calls = []

    def spy(utility, **options):
        calls.append(options)
        return run_max_sum(utility, **options)

    monkeypatch.setattr(max_sum, "run_max_sum", spy)
    run_on_instance("max-sum", two_agent_instance(), control_options={"penalty": 0.2})
    assert len(calls) == 1
    assert calls[0]["penalty"] == pytest.approx(0.2 * F, rel=1e-12)
    assert calls[0]["tolerance"] == pytest.approx(1e-9 * F, rel=1e-12)


def test_max_sum_counts_conflicts_over_runs(monkeypatch):
    """The utilities are replaced by a hand-made matrix so that a run ends in a conflict (exact ties). Three tasks,
    ``max_iterations=4``; run 1 (both agents) gets u = [[1, 1, 1], [2, 1, 2]] (agent A = 0, B = 1), penalty 2.

    Iteration 1 (q = 0): r = u - u_other: A (-1, 0, -1), B (1, 0, 1). Iteration 2: q_A = 0, q_B = -1 everywhere, so
    r_A,j = max(1, u_Bj - 3) - max(0, u_Bj - 1) = (0, 1, 0) and r_B,j = max(u_Bj, u_Aj - 2) - u_Aj = (1, 0, 1).
    Iteration 3: q_A = (-1, 0, -1): r_B = (2 - 0, 1 - 1, 2 - 0) = (2, 0, 2), r_A unchanged. Iteration 4: q_B = -2
    everywhere: r_A = (1 - 0, 1 - 0, 1 - 0) = (1, 1, 1). Both name task index 0 (first maximum): A keeps it, B is a
    conflict. Every later run gets a matrix of ones: an agent alone cannot conflict, and two agents of equal
    utilities keep beliefs 0 (the fallback: agent 0 alone takes a task). So the episode has exactly one conflict,
    counted by the mechanism and the simulator alike."""
    hand = np.array([[1.0, 1.0, 1.0], [2.0, 1.0, 2.0]])

    def scores(protocol, group, agents, tasks, discount):
        if (len(agents), len(tasks)) == hand.shape:
            return hand.copy()
        return np.ones((len(agents), len(tasks)))

    monkeypatch.setattr(max_sum, "discounted_scores", scores)
    metrics, sim = run_on_instance("max-sum", two_agent_instance(3), control_options={"max_iterations": 4})
    assert sim.control.rounds.sum() >= 2
    assert sim.control.mechanism_stats()["conflicts"] == 1
    assert metrics["conflicts"] == 1


def test_max_sum_worst_negotiation_hops():
    """A run takes 2 x iterations + 1 hops: with ``max_iterations=4`` at most 9, so the worst task overhead is 9 hops
    x 3 ticks + the peer validation (4) = 31 ticks."""
    config = make_config("tiny", control="max-sum", control_options={"max_iterations": 4})
    assert MaxSumControl.max_negotiation_hops(config) == 9
    assert MaxSumControl.max_task_overhead(config) == 31


# --------------------------------------------------------------------------------------------------- DPOP, pure
def test_dpop_breaks_ties_towards_the_lower_task_and_none_last():
    """One agent, two tasks of utility 1: the lower index, task 0. One task of utility 0: the task, not none (none
    comes last among equal totals)."""
    result = run_dpop(np.array([[1.0, 1.0]]))
    assert (result.choices.tolist(), result.value) == ([0], 1.0)
    result = run_dpop(np.array([[0.0]]))
    assert (result.choices.tolist(), result.value) == ([0], 0.0)


def test_dpop_without_agents_allocates_nothing():
    """No variable: no UTIL message, value 0, and the largest UTIL message has (3 + 1) ** 0 = 1 entry."""
    result = run_dpop(np.zeros((0, 3)))
    assert result.choices.tolist() == [] and result.choices.dtype == np.int64
    assert (result.value, result.largest_util) == (0.0, 1)


def test_no_task_can_be_ready_in_a_group_without_tasks():
    graph = nx.DiGraph()
    graph.add_nodes_from(range(3))
    assert max_ready_tasks(graph, []) == 0


# ----------------------------------------------------------------------------------------------- DPOP, protocol
def test_dpop_reports_nothing_before_its_first_run():
    """The episode is cut at tick 1, before the first run (the simulation starts at tick 2): the optimal value so far
    is 0 and no UTIL message was sent (largest 0)."""
    env = ces_env.parallel_env(n_agents=2, n_groups=1, n_tasks=1, maze_size=(4, 5), control="dpop", max_ticks=1)
    env.reset(seed=0, options={"instance": two_agent_instance()})
    stats = env.unwrapped.sim.control.mechanism_stats()
    assert (stats["rounds"], stats["optimal_value"], stats["largest_util"]) == (0, 0.0, 0)


def test_dpop_totals_over_two_runs_and_the_next_run_opens_at_once():
    """Three tasks (rewards 3, 2, 1), ``queue_limit=1`` (an agent holding one task still bids).

    Run 1, both agents idle: utilities agent 0 (1.5, 1, 0.5), agent 1 (3F, 2F, F). The best pair is agent 1 on task 0
    and agent 0 on task 1, 3F + 1 = 2.967 (the swap gives 2F + 1.5 = 2.812). Messages: 4 x (2 - 1) = 4, then 2 takers
    tell their groupmate: 2. UTIL message (3 + 1) ** 1 = 4 entries. 5 hops.
    It awarded tasks, so run 2 opens at the tick it ends: both agents hold one task (load 1 <= 1), task 2 is open.
    Each agent's finish time now adds its backlog (its task's estimate + validation): agent 1 14 + 14 = 28 ticks,
    agent 0 23 + 23 = 46. Utilities 0.5 ** (28 / 23) and 0.5 ** 2: agent 1 takes task 2 (value 0.5 ** (28 / 23)).
    Messages 4 + 1 taker x 1 = 5; UTIL (1 + 1) ** 1 = 2 entries.
    Totals: optimal value 3F + 1 + 0.5 ** (28 / 23), largest UTIL 4, 11 messages, 2 rounds."""
    _, sim = run_on_instance("dpop", two_agent_instance(3), control_options={"queue_limit": 1})
    stats = sim.control.mechanism_stats()
    assert stats["optimal_value"] == pytest.approx(3 * F + 1 + 0.5 ** (28 / 23), rel=1e-12)
    assert (stats["largest_util"], stats["negotiation_messages"], stats["rounds"]) == (4, 11, 2)
    assert sim.completed_by.tolist() == [1, 0, 1]


def test_dpop_worst_negotiation_hops():
    """5 agents in 2 groups: the largest group has ceil(5 / 2) = 3 agents, a run 4 x (3 - 1) + 1 = 9 hops; the worst
    task overhead is 9 x 3 ticks + the peer validation (4) = 31 ticks."""
    config = make_config("tiny", control="dpop", n_agents=5, n_groups=2)
    assert DPOPControl.max_negotiation_hops(config) == 9
    assert DPOPControl.max_task_overhead(config) == 31

"""Max-Sum: its compact messages equal textbook Max-Sum on the full factor tables, it finds the optimum of tiny
assignment problems (checked by brute force), conflicts are resolved by the lower id and counted, and the protocol's
messages and hops match a hand count on the two-agent case."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ces_env.config import ConfigError, make_config
from ces_env.core.protocols.max_sum import NONE, decide, run_max_sum
from ces_env.types import TaskStatus
from tests.mechanisms.cases import run_config, run_on_instance, two_agent_instance


def brute_force(utility: np.ndarray) -> tuple[float, list[tuple[int, ...]]]:
    """The best total utility of an assignment (each agent one task or none, no task twice) and every assignment
    reaching it."""
    n_agents, n_tasks = utility.shape
    best, arg = -1.0, []
    for choice in itertools.product(range(-1, n_tasks), repeat=n_agents):
        taken = [t for t in choice if t >= 0]
        if len(taken) != len(set(taken)):
            continue
        value = sum(utility[i, t] for i, t in enumerate(choice) if t >= 0)
        if value > best + 1e-9:
            best, arg = value, [choice]
        elif abs(value - best) <= 1e-9:
            arg.append(choice)
    return best, arg


def value_of(utility: np.ndarray, choices: np.ndarray) -> float:
    return float(sum(utility[i, t] for i, t in enumerate(choices) if t != NONE))


def textbook_max_sum(utility: np.ndarray, penalty: float, iterations: int) -> np.ndarray:
    """Max-Sum with explicit tables: variables take a task or none (index T), factor j's table over every joint value
    of the agents, messages as full vectors. Returns r[i, j] = r_{j->i}(x_i = j) - r_{j->i}(x_i = none)."""
    n_agents, n_tasks = utility.shape
    values = n_tasks + 1
    joint = list(itertools.product(range(values), repeat=n_agents))

    def factor(j: int, x: tuple[int, ...]) -> float:
        on = [i for i in range(n_agents) if x[i] == j]
        return 0.0 if not on else max(utility[i, j] for i in on) - penalty * (len(on) - 1)

    r = np.zeros((n_tasks, n_agents, values))  # r[j, i, x]: factor j to variable i
    for _ in range(iterations):
        q = np.zeros((n_agents, n_tasks, values))  # q[i, j, x]: variable i to factor j
        for i in range(n_agents):
            for j in range(n_tasks):
                q[i, j] = sum(r[k, i] for k in range(n_tasks) if k != j)
        new = np.full((n_tasks, n_agents, values), -np.inf)
        for j in range(n_tasks):
            for x in joint:
                total = factor(j, x) + sum(q[i, j, x[i]] for i in range(n_agents))
                for i in range(n_agents):
                    new[j, i, x[i]] = max(new[j, i, x[i]], total - q[i, j, x[i]])
        # a message only matters up to a constant: check that it has two values (x = j or not), then keep the gap
        for j in range(n_tasks):
            for i in range(n_agents):
                others = [x for x in range(values) if x != j]
                assert np.allclose(new[j, i, others], new[j, i, others[0]])
        r = new - new[:, :, -1:]  # normalised: 0 at "none"
    return np.array([[r[j, i, j] for j in range(n_tasks)] for i in range(n_agents)])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("penalty_factor", [0.3, 1.0])
def test_compact_messages_equal_textbook_max_sum(seed, penalty_factor):
    rng = np.random.default_rng(seed)
    utility = rng.uniform(0.5, 10, (int(rng.integers(2, 4)), int(rng.integers(1, 4))))
    penalty = penalty_factor * utility.max()
    for iterations in (1, 2, 3, 5):
        ours = run_max_sum(utility, penalty=penalty, max_iterations=iterations, damping=0.0, tolerance=-1.0)
        assert ours.iterations == iterations
        assert ours.beliefs == pytest.approx(textbook_max_sum(utility, penalty, iterations), abs=1e-9)


def test_two_agents_two_tasks_by_hand():
    """Utilities a0: (5, 3), a1: (4, 1). Assignments: a0-t0 + a1-t1 = 6, a0-t1 + a1-t0 = 7 (the optimum), one agent
    alone at most 5. Max-Sum finds 7: a0 takes t1, a1 takes t0."""
    utility = np.array([[5.0, 3.0], [4.0, 1.0]])
    best, optimal = brute_force(utility)
    assert best == 7.0 and optimal == [(1, 0)]
    result = run_max_sum(utility, penalty=5.0, max_iterations=10, damping=0.0)
    assert list(result.choices) == [1, 0]
    assert result.converged and result.conflicts == 0


def test_max_sum_finds_the_optimum_of_tiny_problems():
    """Random problems of up to 4 agents and 5 tasks with a unique optimum (the assignment LP is then tight and
    Max-Sum converges to it, Bayati, Shah and Sharma 2008): the decision is optimal."""
    checked = 0
    for seed in range(150):
        rng = np.random.default_rng(seed)
        utility = rng.uniform(0.5, 10, (int(rng.integers(1, 5)), int(rng.integers(1, 6))))
        best, optimal = brute_force(utility)
        if len(optimal) != 1:
            continue
        result = run_max_sum(utility, penalty=utility.max(), max_iterations=100, damping=0.0)
        assert value_of(utility, result.choices) == pytest.approx(best), seed
        checked += 1
    assert checked > 100


def test_conflicts_go_to_the_lower_id_and_are_counted():
    choices, conflicts = decide(np.array([[2.0, 1.0], [3.0, 0.5], [-1.0, 0.2]]))
    assert list(choices) == [0, NONE, 1] and conflicts == 1


def test_a_run_with_agents_and_tasks_always_allocates_one():
    """Exact ties can leave every belief at 0: the first agent then takes its best task."""
    result = run_max_sum(np.array([[5.0], [5.0]]), penalty=5.0, max_iterations=10, damping=0.0)
    assert list(result.choices) == [0, NONE]


@pytest.mark.parametrize("shape", [(0, 3), (2, 0), (0, 0)])
def test_a_run_without_agents_or_tasks_allocates_nothing_at_once(shape):
    """No variable or no factor: no message to pass, the run has converged after 0 iterations."""
    result = run_max_sum(np.zeros(shape), penalty=1.0, max_iterations=10, damping=0.0)
    assert result.choices.tolist() == [NONE] * shape[0] and result.beliefs.shape == shape
    assert (result.iterations, result.converged, result.conflicts) == (0, True, 0)


def test_two_agent_case_messages_and_hops_by_hand():
    """One task, agents of speeds 1 and 2. With a single task the variable messages are 0, so the factor messages
    are fixed after iteration 1 and iteration 2 confirms them: 2 iterations x 2 messages (agent 1's variable <->
    the factor run by agent 0) = 4, then the fast agent, the only positive belief, tells its groupmate (1 message).
    Hops: 2 x 2 + 1 = 5. Then the peer validation (2 messages) and the shared solution (1)."""
    metrics, sim = run_on_instance("max-sum", two_agent_instance())
    assert sim.control.iterations == 2 and sim.control.unconverged_runs == 0
    assert sim.control.negotiation_messages == 4 + 1
    assert metrics["messages"] == 5 + 2 + 1
    assert sim.completed_by[0] == 1
    assert sim.exec_start_time[0] == sim.start_time + 5 * sim.config.negotiation_latency_ticks


@pytest.mark.parametrize("graph", ["lds", "hds"])
@pytest.mark.parametrize("options", [{}, {"max_iterations": 1}, {"damping": 0.5, "penalty": 0.2}, {"queue_limit": 1}])
def test_max_sum_completes_every_task(graph, options):
    for seed in (0, 1, 2):
        result, sim = run_config("max-sum", seed, preset="small", graph=graph, control_options=options)
        assert sim.terminated and (sim.task_status == TaskStatus.DONE).all()
        assert result.metrics["conflicts"] == sim.control.conflicts
        assert sim.control.iterations <= options.get("max_iterations", 10) * sim.control.rounds.sum()


def test_bad_options_name_the_option():
    with pytest.raises(ConfigError, match="max_iterations"):
        make_config("tiny", control="max-sum", control_options={"max_iterations": 0})
    with pytest.raises(ConfigError, match="damping"):
        make_config("tiny", control="max-sum", control_options={"damping": 1.0})

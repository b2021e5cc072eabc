"""ACO: the random-proportional choice, pheromone deposits and evaporation, determinism per seed without global
draws, the two-agent hand count, completion."""

from __future__ import annotations

import numpy as np
import pytest

from ces_env.config import ConfigError, make_config
from ces_env.core.protocols.negotiation import estimated_cost
from ces_env.core.simulator import CESSimulator
from ces_env.generator import generate_instance
from ces_env.types import TaskStatus
from tests.mechanisms.cases import run_config, run_on_instance, two_agent_instance
from tests.mechanisms.swarm_cases import assert_deterministic_without_global_draws, fresh_simulator


def expected_choice(sim, agent: int, tasks: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """tau^alpha * eta^beta, normalised, written out from the docstring."""
    validation = sim.config.peer_validate_ticks
    eta = np.array([sim.instance.rewards[t] / (estimated_cost(sim, agent, int(t)) + validation) for t in tasks])
    tau = sim.control.pheromone()[tasks]
    weights = tau**alpha * eta**beta
    return weights / weights.sum()


@pytest.mark.parametrize("options", [{}, {"alpha": 2.0, "beta": 0.5}])
def test_agents_choose_tasks_in_proportion_to_pheromone_and_heuristic(options):
    sim = fresh_simulator("aco", preset="small", speed_spread=0.5, control_options=options)
    control = sim.control
    tasks = control.open_tasks(0)
    # give a few tasks some pheromone first, so that both terms matter
    control.deposits[tasks[::2]] = 3.0
    alpha, beta = options.get("alpha", 1.0), options.get("beta", 2.0)
    expected = expected_choice(sim, 0, tasks, alpha, beta)
    draws = 20_000
    counts = np.bincount([control.choose_task(0, 0, tasks) for _ in range(draws)], minlength=len(tasks))
    assert np.abs(counts / draws - expected).max() < 0.015


def test_a_completion_deposits_on_its_class_and_successors_and_deposits_evaporate():
    sim = fresh_simulator("aco", preset="small", control_options={"class_deposit": 2.0, "successor_deposit": 0.5})
    control, inst = sim.control, sim.instance
    task = int(np.flatnonzero(inst.succ_indptr[1:] - inst.succ_indptr[:-1])[0])  # a task with successors
    same_class = np.flatnonzero(inst.task_class == inst.task_class[task])
    messages = sim.messages
    control.task_completed(0, task)
    expected = np.zeros(inst.n_tasks)
    expected[same_class] += 2.0
    expected[inst.successors(task)] += 0.5
    assert control.deposits == pytest.approx(expected)
    assert sim.messages == messages + 1  # one write on the board
    sim.time += 100  # evaporation is per tick: 1% by default
    assert control.pheromone() == pytest.approx(1.0 + expected * 0.99**100)


def test_same_seed_same_episode_and_no_global_draws():
    assert_deterministic_without_global_draws("aco", preset="small", speed_spread=0.5)


def test_the_generator_comes_from_the_episode():
    config = make_config("small", control="aco")

    def simulator(seed: int) -> CESSimulator:
        rng = np.random.default_rng(seed)
        return CESSimulator(config, generate_instance(config, rng), rng)

    first, again, other = simulator(0), simulator(0), simulator(1)
    draw = [sim.random_stream("aco").random(3).tolist() for sim in (first, again, other)]
    assert draw[0] == draw[1] != draw[2]
    assert first.random_stream("aco").random() != first.random_stream("response-threshold").random()


def test_two_agent_case_marks_conflict_and_deposit_by_hand():
    """One task: both agents mark it in the first round (2 board writes), the marks land one hop later and the lower
    id keeps it (1 conflict). Its completion deposits pheromone (1 write); the peer validation costs 2 messages and
    the shared solution 1."""
    metrics, sim = run_on_instance("aco", two_agent_instance())
    assert sim.control.negotiation_messages == 2 + 1
    assert metrics["messages"] == 2 + 1 + 2 + 1
    assert metrics["conflicts"] == 1
    assert sim.completed_by[0] == 0
    assert sim.exec_start_time[0] == sim.start_time + sim.config.negotiation_latency_ticks


@pytest.mark.parametrize("graph", ["lds", "hds"])
@pytest.mark.parametrize("options", [{}, {"alpha": 0.0, "beta": 0.0}, {"evaporation": 1.0}, {"queue_limit": 1}])
def test_aco_completes_every_task(graph, options):
    for seed in (0, 1, 2):
        result, sim = run_config("aco", seed, preset="small", graph=graph, control_options=options)
        assert sim.terminated and (sim.task_status == TaskStatus.DONE).all()
        stats = sim.control.mechanism_stats()
        assert stats["deposit_writes"] == sim.tasks_done
        assert result.metrics["conflicts"] == stats["conflicts"] == stats["marks"] - stats["awards"]


def test_bad_options_name_the_option():
    with pytest.raises(ConfigError, match="evaporation"):
        make_config("tiny", control="aco", control_options={"evaporation": 1.5})
    with pytest.raises(ConfigError, match="beta"):
        make_config("tiny", control="aco", control_options={"beta": -1.0})

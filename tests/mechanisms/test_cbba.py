"""CBBA: the bundle and consensus phases on hand-checked cases, a conflict-free agreement on random cases (both
networks), and the protocol's rounds, messages and hops on the two-agent case."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ces_env.config import ConfigError, make_config
from ces_env.core.protocols import control_protocol
from ces_env.core.protocols.cbba import _decide, _decide_all, full_neighbours, ring_neighbours, run_cbba
from ces_env.types import TaskStatus
from tests.mechanisms.cases import run_config, run_on_instance, two_agent_instance


def _run(rewards, durations, capacity=None, network="full", ready_at=None, max_rounds=100, discount=0.5, scale=10.0):
    durations = np.asarray(durations, dtype=np.float64)
    n_agents = durations.shape[0]
    capacity = np.full(n_agents, 2) if capacity is None else np.asarray(capacity)
    neighbours = full_neighbours(n_agents) if network == "full" else ring_neighbours(n_agents)
    return run_cbba(
        np.asarray(rewards, dtype=np.float64),
        durations,
        np.zeros(n_agents) if ready_at is None else np.asarray(ready_at, dtype=np.float64),
        capacity,
        neighbours,
        discount=discount,
        time_scale=scale,
        max_rounds=max_rounds,
    )


# ------------------------------------------------------------------------------------------------ hand-checked runs
def test_each_agent_keeps_the_task_it_values_most_after_consensus():
    """Rewards 10 and 6, discount 0.5 per 10 ticks. Agent 0 takes 10 ticks for either task, agent 1 20 and 5.

    Round 1, bundle phase: agent 0 scores t0 10 * 0.5^1 = 5, t1 6 * 0.5^1 = 3: it adds t0, then t1 finishing at 20
    (6 * 0.5^2 = 1.5). Agent 1 scores t0 10 * 0.5^2 = 2.5, t1 6 * 0.5^0.5 = 4.24: it adds t1, then t0 finishing at 25
    (10 * 0.5^2.5 = 1.77). Consensus: t0 goes to agent 0 (5 > 1.77), t1 to agent 1 (4.24 > 1.5); each loses its second
    task. Round 2 changes nothing: agreement after 2 rounds, 2 links x 2 rounds = 4 messages.
    """
    result = _run([10, 6], [[10, 10], [20, 5]])
    assert result.bundles == [[0], [1]]
    assert result.bids == pytest.approx([5.0, 6 * 0.5**0.5])
    assert (result.rounds, result.messages, result.converged, result.conflicts) == (2, 4, True, 0)
    assert (result.views == [[0, 1], [0, 1]]).all()


def test_a_much_faster_agent_bundles_both_tasks_in_order():
    """Agent 0 (10 ticks per task) outbids agent 1 (40 ticks) on both: its bundle is t0 (5) then t1 after it
    (6 * 0.5^2 = 1.5); agent 1's bids (0.625 and 0.023) lose and it releases its whole bundle."""
    result = _run([10, 6], [[10, 10], [40, 40]])
    assert result.bundles == [[0, 1], []]
    assert result.bids == pytest.approx([5.0, 1.5])
    assert list(result.winners) == [0, 0]


def test_a_full_bundle_leaves_the_rest_to_others_and_capacity_zero_only_relays():
    result = _run([10, 6, 3], [[10, 10, 10], [40, 40, 40], [5, 5, 5]], capacity=[1, 2, 0])
    assert len(result.bundles[0]) == 1 and result.bundles[2] == []
    assert sorted(j for b in result.bundles for j in b) == [0, 1, 2]  # agent 1 takes what agent 0 has no room for


def test_equal_bids_go_to_the_lower_agent_id():
    result = _run([5], [[10], [10], [10]], network="ring")
    assert result.bundles == [[0], [], []]


def test_the_marginal_score_of_a_later_task_only_shrinks():
    """Diminishing marginal gain: the same task scores less when appended after a longer bundle."""
    alone = _run([6], [[10]], capacity=[1]).bids[0]
    after = _run([10, 6], [[10, 10]], capacity=[2])
    assert after.bundles == [[0, 1]] and after.bids[1] < alone


def test_max_rounds_without_agreement_still_leaves_no_task_twice():
    """A ring of 4: agents 0 and 2 both bid high on the task but are not neighbours; after one round each has only
    heard the low bids of agents 1 and 3, so both still hold it. The cut-off keeps it with the better bid (agent 0)
    and counts the other as a conflict; with enough rounds the consensus settles it by itself."""
    durations = [[10], [100], [11], [100]]
    cut = _run([10], durations, capacity=[1] * 4, network="ring", max_rounds=1)
    assert cut.rounds == 1 and not cut.converged
    assert cut.bundles == [[0], [], [], []] and cut.conflicts == 1
    agreed = _run([10], durations, capacity=[1] * 4, network="ring")
    assert agreed.converged and agreed.bundles == [[0], [], [], []] and agreed.conflicts == 0


# ------------------------------------------------------------------------------------------------ random cases
@settings(max_examples=300, deadline=None)
@given(
    n_agents=st.integers(1, 6),
    n_tasks=st.integers(1, 10),
    network=st.sampled_from(["full", "ring"]),
    discount=st.sampled_from([0.3, 0.5, 0.9, 1.0]),
    seed=st.integers(0, 2**16),
    ties=st.booleans(),
)
def test_cbba_agrees_conflict_free_on_random_cases(n_agents, n_tasks, network, discount, seed, ties):
    rng = np.random.default_rng(seed)
    rewards = rng.uniform(1, 10, n_tasks)
    durations = rng.uniform(1, 50, (n_agents, n_tasks))
    if ties:  # many equal bids: the lower-id rule must still settle them
        rewards, durations = np.round(rewards), np.round(durations / 10) * 10 + 10
    capacity = rng.integers(1, 4, n_agents)
    result = _run(rewards, durations, capacity, network, rng.uniform(0, 30, n_agents), 200, discount, 20.0)
    assert result.converged
    assert result.conflicts == 0
    tasks = [j for b in result.bundles for j in b]
    assert len(tasks) == len(set(tasks)), "a task in two bundles"
    assert all(len(b) <= c for b, c in zip(result.bundles, capacity))
    assert (result.views == result.winners[None, :]).all(), "the agents disagree on a winner"
    if capacity.sum() >= n_tasks:
        assert len(tasks) == n_tasks  # every task is won: any positive score beats no bid
    else:
        assert all(len(b) == c for b, c in zip(result.bundles, capacity))
    links = sum(len(nb) for nb in (full_neighbours(n_agents) if network == "full" else ring_neighbours(n_agents)))
    assert result.messages == links * result.rounds


@pytest.mark.parametrize("seed", range(20))
def test_the_array_decision_table_is_the_papers_table(seed):
    """The consensus applies Table 1 to many receivers and tasks at once; it must agree with the one-task rules
    (``_decide``, written as the paper's table) on every combination of winners, bids and timestamps."""
    rng = np.random.default_rng(seed)
    n_agents, n_pairs, n_tasks = int(rng.integers(2, 7)), 30, 40
    receivers = rng.integers(0, n_agents, n_pairs)
    senders = (receivers + rng.integers(1, n_agents, n_pairs)) % n_agents
    zk, zi = (rng.integers(-1, n_agents, (n_pairs, n_tasks)) for _ in range(2))
    yk, yi = (rng.integers(0, 3, (n_pairs, n_tasks)).astype(float) for _ in range(2))  # many equal bids
    sk, si = (rng.integers(0, 3, (n_pairs, n_agents)).astype(float) for _ in range(2))
    table = _decide_all(receivers, senders, zk, yk, zi, yi, sk, si)
    for r in range(n_pairs):
        for j in range(n_tasks):
            expected = _decide(
                int(receivers[r]), int(senders[r]), int(zk[r, j]), yk[r, j], int(zi[r, j]), yi[r, j], sk[r], si[r]
            )
            assert table[r, j] == expected


def test_ring_neighbours():
    assert ring_neighbours(1) == [[]]
    assert ring_neighbours(2) == [[1], [0]]
    assert ring_neighbours(4) == [[1, 3], [0, 2], [1, 3], [0, 2]]


# ------------------------------------------------------------------------------------------------ the protocol
def test_two_agent_case_rounds_messages_and_hops_by_hand():
    """One task; agents of speeds 1 and 2 (estimated 19 and 10 ticks, plus a peer validation of 4). Both bid in
    round 1, the fast agent wins the consensus, round 2 changes nothing: 2 rounds x 2 links = 4 messages and 2 hops
    (no award message). Then the peer validation (2 messages) and the solution shared with the groupmate (1)."""
    metrics, sim = run_on_instance("cbba", two_agent_instance())
    assert sim.control.negotiation_messages == 4
    assert metrics["messages"] == 4 + 2 + 1
    assert metrics["conflicts"] == 0
    assert sim.completed_by[0] == 1
    assert sim.exec_start_time[0] == sim.start_time + 2 * sim.config.negotiation_latency_ticks


@pytest.mark.parametrize("graph", ["lds", "hds"])
@pytest.mark.parametrize(
    "options", [{}, {"network": "ring"}, {"queue_limit": 0}, {"queue_limit": 3, "discount": 0.9}, {"max_rounds": 1}]
)
def test_cbba_completes_every_task_conflict_free(graph, options):
    for seed in (0, 1, 2):
        result, sim = run_config("cbba", seed, preset="small", graph=graph, control_options=options)
        assert sim.terminated and (sim.task_status == TaskStatus.DONE).all()
        if options.get("max_rounds", 100) > 1:
            assert sim.control.unconverged_runs == 0
            assert result.metrics["conflicts"] == 0  # agreement: no task was ever in two bundles
        held = [len(q) + len(i) for q, i in zip(sim.control.queued, sim.control.incoming)]
        assert held == [0] * sim.instance.n_agents


def test_a_ring_sends_fewer_messages_per_round_than_a_full_network():
    _, sim_full = run_config("cbba", 0, preset="small")
    _, sim_ring = run_config("cbba", 0, preset="small", control_options={"network": "ring"})
    per_round = [s.control.negotiation_messages / s.control.consensus_rounds for s in (sim_full, sim_ring)]
    assert per_round[0] == 5 * 4  # 5 agents per group, every directed link
    assert per_round[1] == 5 * 2


def test_bad_options_name_the_option():
    with pytest.raises(ConfigError, match="network"):
        make_config("tiny", control="cbba", control_options={"network": "star"})
    with pytest.raises(ConfigError, match="discount"):
        make_config("tiny", control="cbba", control_options={"discount": 1.5})
    with pytest.raises(ConfigError, match="max_rounds"):
        make_config("tiny", control="cbba", control_options={"max_rounds": 0})


def test_lower_bound_uses_two_rounds_before_a_task_can_start():
    config = make_config("tiny", control="cbba")
    assert control_protocol("cbba").task_overheads(config) == (2 * 3, config.peer_validate_ticks)
    single = config.replace(control_options={"max_rounds": 1})
    assert control_protocol("cbba").task_overheads(single)[0] == 3

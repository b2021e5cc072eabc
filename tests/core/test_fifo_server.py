"""The shared FIFO single server (``ces_env.core.protocols.fifo``) driven directly, on a stand-in simulator: the
paths the centralized controller needs (a job held for a decision, an outage that loses the job in service, work
queued while a finished job is handled) and the episodes of the controller that runs on it."""

from __future__ import annotations

import heapq
from types import SimpleNamespace

import numpy as np
import pytest

import ces_env
from ces_env.core.protocols.ces import CentralizedControl
from ces_env.core.protocols.fifo import FifoServer

ASSIGN, VALIDATE, SHARE = 0, 1, 2


class StandInSim:
    """What a FifoServer uses of the simulator: the group count, the clock, the event queue and the trace."""

    def __init__(self, n_groups: int = 2) -> None:
        self.instance = SimpleNamespace(n_groups=n_groups)
        self.time = 0
        self.trace = None
        self.terminated = False
        self._events: list = []
        self._seq = 0

    def schedule(self, time, action, argument):
        heapq.heappush(self._events, (time, self._seq, action, argument))
        self._seq += 1

    def run_until(self, tick: int) -> None:
        while self._events and self._events[0][0] <= tick:
            time, _, action, argument = heapq.heappop(self._events)
            self.time = time
            action(argument)
        self.time = tick


def server_with_log(admit=None):
    sim = StandInSim()
    done: list[tuple[int, int, int, int]] = []  # (tick, group, kind, agent)
    decisions: list[tuple[int, int]] = []  # (group, agent) the server was asked about

    def on_done(group, kind, agent):
        done.append((sim.time, group, kind, agent))

    def hold(group, kind, agent):
        decisions.append((group, agent))
        return True if admit is None else admit(group, kind, agent)

    return sim, FifoServer(sim, on_done, frozenset({VALIDATE}), admit=hold), done, decisions


def test_a_job_without_a_service_time_holds_the_server_until_it_is_decided():
    sim, server, done, decisions = server_with_log()
    server.push(0, ASSIGN, 7, None)
    server.push(0, VALIDATE, 8, 4)
    assert decisions == [(0, 7)] and server.held[0] and server.job[0] is None
    sim.run_until(10)
    assert done == []  # the validation behind the held request waits for the decision
    server.start(0, ASSIGN, 7, 2)
    sim.run_until(20)
    assert done == [(12, 0, ASSIGN, 7), (16, 0, VALIDATE, 8)]
    assert server.busy_ticks().tolist() == [6, 0]
    # busy ticks and queue lengths are integer counts (they feed integer metrics and the observations)
    assert server.busy_ticks().dtype == np.int64 and server.queue_lengths().dtype == np.int64


def test_a_released_decision_moves_on_and_a_dropped_job_is_skipped():
    sim, server, done, decisions = server_with_log(admit=lambda group, kind, agent: agent != 1)
    server.push(0, ASSIGN, 1, None)  # dropped by the protocol (parked): the server goes on at once
    server.push(0, ASSIGN, 2, None)  # held
    server.push(0, VALIDATE, 3, 5)
    assert decisions == [(0, 1), (0, 2)] and server.held[0]
    server.release(0)
    sim.run_until(9)
    assert done == [(5, 0, VALIDATE, 3)] and not server.held[0]


def test_an_outage_loses_the_job_in_service_and_redoes_it_after_the_restore():
    sim, server, done, _ = server_with_log()
    server.push(1, VALIDATE, 4, 10)
    server.push(1, VALIDATE, 5, 3)
    sim.run_until(6)
    server.fail(1)
    sim.run_until(30)  # the lost service's event comes and goes without concluding anything
    assert done == [] and server.busy_ticks().tolist() == [0, 6]
    server.push(1, VALIDATE, 6, 1)  # jobs keep queueing while the server is down
    assert server.queue_lengths().tolist() == [0, 2]
    server.restore(1)
    sim.run_until(60)
    assert done == [(40, 1, VALIDATE, 4), (43, 1, VALIDATE, 5), (44, 1, VALIDATE, 6)]
    assert server.busy_ticks().tolist() == [0, 6 + 10 + 3 + 1]


def test_a_decision_made_while_the_server_is_down_is_served_after_the_restore():
    sim, server, done, _ = server_with_log()
    server.push(0, ASSIGN, 2, None)
    server.fail(0)  # failed while holding: nothing was in service, nothing is lost
    assert server.interrupted[0] is None and server.held[0]
    server.start(0, ASSIGN, 2, 3)
    assert not server.held[0] and server.interrupted[0] == (ASSIGN, 2, 3) and server.job[0] is None
    sim.run_until(10)
    server.restore(0)
    sim.run_until(20)
    assert done == [(13, 0, ASSIGN, 2)]


def test_a_restore_without_serving_leaves_a_finished_group_idle():
    sim, server, done, _ = server_with_log()
    server.push(0, VALIDATE, 1, 4)
    server.fail(0)
    server.clear(0)  # the group is done: the lost job, the queue and any hold are dropped
    server.push(0, VALIDATE, 2, 1)
    server.restore(0, serve=False)
    sim.run_until(20)
    assert not server.down[0] and done == [] and server.queue_lengths().tolist() == [1, 0]


def test_work_queued_without_serving_waits_for_the_current_handling_then_goes_first():
    sim = StandInSim(1)
    order: list[tuple[int, int]] = []
    server: FifoServer

    def on_done(group, kind, agent):
        order.append((sim.time, kind))
        if kind == VALIDATE:  # share what was just validated, before the validation queued behind
            server.push(group, SHARE, agent, 2, front=True, serve=False)
            assert server.job[group] is None  # not started while the finished job is handled

    server = FifoServer(sim, on_done, frozenset({VALIDATE, SHARE}))
    server.push(0, VALIDATE, 1, 3)
    server.push(0, VALIDATE, 2, 3)
    sim.run_until(20)
    assert order == [(3, VALIDATE), (5, SHARE), (8, VALIDATE), (10, SHARE)]


def test_discard_drops_only_that_agents_jobs_of_that_kind():
    sim, server, _, _ = server_with_log()
    server.push(0, VALIDATE, 9, 50)  # in service
    for kind, agent in [(ASSIGN, 1), (VALIDATE, 1), (ASSIGN, 2), (ASSIGN, 1)]:
        server.push(0, kind, agent, None if kind == ASSIGN else 1)
    server.discard(0, ASSIGN, 1)
    assert [(kind, agent) for kind, agent, _ in server.queue[0]] == [(VALIDATE, 1), (ASSIGN, 2)]


def test_a_job_without_a_service_time_needs_an_admit_hook():
    server = FifoServer(StandInSim(), lambda group, kind, agent: None)
    with pytest.raises(AssertionError, match="admit"):
        server.push(0, ASSIGN, 1, None)


@pytest.mark.parametrize(
    "faults",
    [{}, dict(controller_outage_start=10, election_timeout_ticks=4, election_ticks=3, share_ticks_per_recipient=2)],
)
def test_the_centralized_controller_is_a_fifo_server(faults):
    """Its queue, busy time and traced services are the server's: one queue per group holding requests and
    solutions, every assignment and validation traced once, busy time = the traced service time (lost services
    included, cut at the outage)."""
    env = ces_env.parallel_env(n_agents=6, n_groups=2, n_tasks=20, maze_size=6, trace=True, **faults)
    observations, _ = env.reset(seed=4)
    sim = env.unwrapped.sim
    assert isinstance(sim.control, CentralizedControl) and isinstance(sim.control.server, FifoServer)
    peak = 0
    while env.agents:
        peak = max(peak, int(sim.control.queue_lengths().max()))
        actions = {a: int(np.flatnonzero(o["action_mask"])[-1]) for a, o in observations.items()}
        observations, *_ = env.step(actions)
    services = sim.trace.services
    assert sum(s.kind == "assign" for s in services) >= sim.instance.n_tasks
    assert sum(s.kind == "validate" for s in services) >= sim.instance.n_tasks
    assert peak >= 2  # requests and solutions wait behind each other
    if not faults:
        traced = np.bincount([s.group for s in services], weights=[s.end - s.start for s in services], minlength=2)
        assert np.array_equal(sim.control.busy_ticks(), traced.astype(np.int64))

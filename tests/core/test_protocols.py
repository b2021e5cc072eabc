"""Control protocols are objects plugged into the simulator: a new one is a class and a registry entry.

The protocol below is written only for this test, following the guide in ``ces_env.core.protocols``: an oracle that
hands every available agent the ready tasks at no cost (no messages, no latency, instant validation). Nothing in the
simulator knows about it, yet episodes run, complete, and the metrics, the lower bound and ``max_ticks`` use its
costs.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

import ces_env
from ces_env.config import ConfigError, make_config
from ces_env.core.lower_bound import lower_bound_terms
from ces_env.core.protocols import (
    CONTROL_PROTOCOLS,
    CentralizedControl,
    ControlProtocol,
    DecentralizedControl,
    control_protocol,
    register_control,
)
from ces_env.generator import generate_instance
from ces_env.types import AgentStatus
from tests.helpers import rollout


class InstantControl(ControlProtocol):
    """Test only: every available agent decides at once; tasks are reserved, started and validated instantly."""

    name: ClassVar[str] = "test-instant"
    description: ClassVar[str] = "test only: free, instant hand-out and validation"

    def __init__(self, sim) -> None:
        super().__init__(sim)
        self.deciding: set[int] = set()
        self.parked: set[int] = set()
        self.submissions = 0
        self.ever_parked: set[int] = set()  # agents parked for want of a ready task at some point
        self.woken: set[int] = set()  # parked agents that tasks_ready put among the deciders
        self.resumed = 0  # agents asked again (through resume) after they chose to wait

    def agent_available(self, agent: int) -> None:
        self.sim.agent_status[agent] = AgentStatus.IDLE
        group = int(self.sim.instance.agent_group[agent])
        if len(self.candidates(group)):
            self.deciding.add(agent)
        else:
            self.parked.add(agent)
            self.ever_parked.add(agent)

    def resume(self, agent: int) -> None:
        self.resumed += 1
        super().resume(agent)

    def task_deciders(self) -> list[int]:
        return sorted(self.deciding)

    def choose(self, agent: int, task: int) -> None:
        self.deciding.discard(agent)
        self.sim.reserve(task, agent)
        self.sim.start_execution(agent, task)

    def decline(self, agent: int) -> None:
        self.deciding.discard(agent)

    def submit(self, agent: int) -> None:
        self.submissions += 1
        self.sim.conclude_validation(agent)

    def tasks_ready(self, group: int) -> None:
        members = {a for a in self.parked if self.sim.instance.agent_group[a] == group}
        self.parked -= members
        self.deciding |= members
        self.woken |= members

    def group_finished(self, group: int) -> None:
        members = set(self.sim.instance.group_agents(group).tolist())
        self.deciding -= members
        self.parked -= members

    @classmethod
    def task_overheads(cls, config) -> tuple[int, int]:
        return 0, 0


@pytest.fixture()
def instant_protocol():
    register_control(InstantControl)
    yield InstantControl
    del CONTROL_PROTOCOLS[InstantControl.name]


def distinct_ready_slots(env, observations, rng):
    """Each deciding agent takes a different slot of its group (a coordinated dispatcher), else waits."""
    actions, taken = {}, {}
    for agent in env.agents:
        mask = observations[agent]["action_mask"]
        group = env.unwrapped.sim.instance.agent_group[env.agent_name_mapping[agent]]
        slot = taken.get(group, 0) + 1
        if slot < len(mask) and mask[slot]:
            actions[agent] = slot
            taken[group] = slot
        else:
            actions[agent] = 0
    return actions


def test_the_two_ces_controls_are_registered_protocols():
    assert control_protocol("centralized") is CentralizedControl
    assert control_protocol("decentralized") is DecentralizedControl
    with pytest.raises(ValueError, match="unknown control protocol 'nope'"):
        control_protocol("nope")
    with pytest.raises(ConfigError, match="'control'"):
        make_config("tiny", control="test-instant")  # not registered outside the fixture


def test_a_protocol_class_plugs_in_without_touching_the_simulator(instant_protocol):
    env = ces_env.parallel_env(preset="small", control=instant_protocol.name)
    infos, _ = rollout(env, seed=3, policy=distinct_ready_slots)
    metrics = next(iter(infos.values()))["metrics"]
    sim = env.unwrapped.sim
    assert isinstance(sim.control, InstantControl)
    assert sim.terminated and metrics["mu_g"] == metrics["lambda_g"]
    assert sim.control.submissions == sim.tasks_done + sim.rejected_solutions
    # the protocol sends nothing: every message is a solution shared with the group or a cross-group notice
    group_size = int(sim.group_size[0])
    assert metrics["messages"] >= sim.tasks_done * (group_size - 1)
    assert metrics["conflicts"] == 0 and metrics["controller_utilization"] == 0.0
    # the lower bound uses the protocol's (zero) overheads and no resource term
    terms = lower_bound_terms(sim.instance, env.unwrapped.config)
    assert terms["protocol"] == 0 and metrics["lower_bound"] == max(terms["chain"], terms["work"])
    assert metrics["makespan_ratio"] >= 1.0
    # agents without a ready task slept until the simulator told the protocol that tasks became ready; agents that
    # chose to wait were asked again through the protocol's resume
    assert sim.control.ever_parked and sim.control.woken
    assert sim.control.woken <= sim.control.ever_parked
    assert sim.control.resumed > 0


def test_the_simulators_limits_come_from_the_protocols_class_methods(instant_protocol, monkeypatch):
    """``max_ticks`` (automatic) adds the protocol's ``max_task_overhead`` per task, the lower bound its
    ``task_overheads`` on every task of the chain and its ``resource_bound``: changing them changes the simulator."""
    config = make_config("small", graph="chain", control=instant_protocol.name)  # the chain term is the bound

    def new_simulator():
        env = ces_env.parallel_env(config=config)
        env.reset(seed=0)
        return env.unwrapped.sim

    free = new_simulator()
    n_tasks = free.instance.n_tasks
    monkeypatch.setattr(instant_protocol, "task_overheads", classmethod(lambda cls, config: (2, 3)))
    slower = new_simulator()
    assert slower.lower_bound - free.lower_bound == 5 * n_tasks
    # max_ticks is twice the sum over tasks; max_task_overhead defaults to the sum of the task overheads
    assert slower.max_ticks - free.max_ticks == 2 * 5 * n_tasks
    monkeypatch.setattr(instant_protocol, "max_task_overhead", classmethod(lambda cls, config: 100))
    assert new_simulator().max_ticks - free.max_ticks == 2 * 100 * n_tasks
    monkeypatch.setattr(instant_protocol, "resource_bound", classmethod(lambda cls, instance, config: 10**6))
    assert new_simulator().lower_bound == 10**6


def test_candidate_flags_are_the_ready_tasks_unless_a_protocol_has_its_own_candidates(instant_protocol):
    """The observation builder asks ``candidate_flags`` for all groups at once: by default the ready tasks (the
    default candidates); a protocol that overrides ``candidates`` alone answers None (then it is asked group by
    group), so that the builder never shows tasks its ``candidates`` would not offer."""
    env = ces_env.parallel_env(preset="small", control=instant_protocol.name)
    env.reset(seed=0)
    sim = env.unwrapped.sim
    tasks = np.concatenate(sim.group_order)
    flags = sim.control.candidate_flags(tasks)
    assert flags.any() and not flags.all()
    per_group = [sim.control.candidates(group) for group in range(sim.instance.n_groups)]
    assert np.array_equal(tasks[flags], np.concatenate(per_group))

    class FirstReadyOnly(InstantControl):
        def candidates(self, group: int) -> np.ndarray:
            return super().candidates(group)[:1]

    assert FirstReadyOnly(sim).candidate_flags(tasks) is None


def test_protocol_overheads_enter_the_lower_bound():
    """The chain bound grows by (before + after) per task on a chain, under each protocol's own costs."""
    config = make_config("tiny", graph="chain", n_tasks=6)
    instance = generate_instance(config, np.random.default_rng(0))
    for control, costs in (("centralized", (2, 4)), ("decentralized", (3, 4))):
        base = lower_bound_terms(instance, config.replace(control=control))["chain"]
        fields = (
            {"assign_service_ticks": costs[0] + 5, "validate_service_ticks": costs[1]}
            if control == "centralized"
            else {"claim_latency_ticks": costs[0] + 5, "peer_validate_ticks": costs[1]}
        )
        slower = lower_bound_terms(instance, config.replace(control=control, **fields))["chain"]
        assert slower - base == 5 * config.n_tasks


def test_the_controller_term_is_the_busiest_groups_service_time():
    config = make_config("tiny", assign_service_ticks=50, validate_service_ticks=70)
    instance = generate_instance(config, np.random.default_rng(1))
    busiest = int(np.bincount(instance.task_group).max())
    assert lower_bound_terms(instance, config)["protocol"] == busiest * 120
    assert lower_bound_terms(instance, config.replace(control="decentralized"))["protocol"] == 0


def test_a_protocol_missing_a_hook_cannot_be_built():
    """The hooks are abstract: forgetting one fails when the simulator builds the protocol, naming the hook."""

    class NoSubmit(ControlProtocol):
        name: ClassVar[str] = "test-no-submit"
        description: ClassVar[str] = "test only"
        agent_available = InstantControl.agent_available
        task_deciders = InstantControl.task_deciders
        choose = InstantControl.choose
        decline = InstantControl.decline
        tasks_ready = InstantControl.tasks_ready
        group_finished = InstantControl.group_finished
        task_overheads = InstantControl.task_overheads

    with pytest.raises(TypeError, match="submit"):
        NoSubmit(None)

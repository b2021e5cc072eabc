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

    def agent_available(self, agent: int) -> None:
        self.sim.agent_status[agent] = AgentStatus.IDLE
        group = int(self.sim.instance.agent_group[agent])
        (self.deciding if len(self.candidates(group)) else self.parked).add(agent)

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

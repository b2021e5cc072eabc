"""Faults and self-interested agents: crashing agents, Byzantine solvers and misreported costs (issue 11).

The simulator owns the mechanics (:class:`ces_env.core.simulator.CESSimulator`); this module owns the *draws* and the
counts, so that the same seed gives the same faults in any process and under any policy:

* every draw comes from a stream derived from the episode's exploration seed (itself drawn from the episode's
  generator) and a constant tag, ``np.random.default_rng((seed, FAULT_STREAM, kind, ...))``, as explorations derive
  theirs from ``(seed, task, attempt)``. The tag is far above any task id, so no fault stream is an exploration's;
* an agent's k-th execution draws its crash delay from the stream ``(seed, FAULT_STREAM, CRASH, agent, k)``: a policy
  that gives the agent other tasks changes *when* it works, not how long it works before it crashes;
* the Byzantine agents and the misreporting agents are chosen once, at reset, from their own streams.

A fault-free config (every fault field at its default) builds no plan (``sim.faults is None``) and draws nothing, so
fault-free episodes are exactly those of a build without this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ces_env.config import CESConfig

FAULT_STREAM = 0x6661756C7473
"""The tag of fault streams ("faults" in ASCII): above every task id, so a fault stream never is an exploration's."""
CRASH, BYZANTINE, MISREPORT = 1, 2, 3

FAULT_STAT_KEYS = (
    "crashes",
    "recoveries",
    "lost_work_ticks",
    "byzantine_agents",
    "rejected_false_solutions",
    "quarantined",
    "controller_outages",
    "controller_down_ticks",
    "elections",
    "misreporting_agents",
)
"""Counts added to ``info["stats"]`` when some fault option is set (absent otherwise, so fault-free stats stay as
they were)."""


def faults_enabled(config: CESConfig) -> bool:
    """Whether ``config`` sets any fault option away from its default."""
    return bool(
        config.crash_rate > 0
        or config.controller_outage_start is not None
        or config.byzantine_fraction > 0
        or config.misreport_fraction > 0
    )


def fault_stream(seed: int, kind: int, *keys: int) -> np.random.Generator:
    """The generator of one kind of fault draw (``CRASH``, ``BYZANTINE``, ``MISREPORT``) for ``keys``."""
    return np.random.default_rng((int(seed), FAULT_STREAM, int(kind), *(int(k) for k in keys)))


def choose_agents(seed: int, kind: int, fraction: float, agent_group: np.ndarray, *, keep_one: bool) -> np.ndarray:
    """(n,) bool: ``round(fraction * n)`` agents drawn without replacement from the stream of ``kind``.

    ``keep_one``: never take the last agent of a group (a group of Byzantine agents only could never complete a task;
    the count is then smaller than asked, and the stats say how many were taken)."""
    n = len(agent_group)
    wanted = int(np.floor(fraction * n + 0.5))
    chosen = np.zeros(n, dtype=bool)
    if wanted == 0:
        return chosen
    left = np.bincount(agent_group, minlength=int(agent_group.max()) + 1) - (1 if keep_one else 0)
    for agent in fault_stream(seed, kind).permutation(n).tolist():
        if chosen.sum() == wanted:
            break
        group = int(agent_group[agent])
        if left[group] > 0:
            chosen[agent] = True
            left[group] -= 1
    return chosen


class FaultPlan:
    """The faults of one episode: who is Byzantine, who lies about costs and by what factor, when executions crash,
    and the counts the stats report. Built by the simulator when :func:`faults_enabled`."""

    def __init__(self, config: CESConfig, seed: int, agent_group: np.ndarray) -> None:
        n = len(agent_group)
        self.config = config
        self.seed = seed
        self.byzantine = choose_agents(seed, BYZANTINE, config.byzantine_fraction, agent_group, keep_one=True)
        self.liars = choose_agents(seed, MISREPORT, config.misreport_fraction, agent_group, keep_one=False)
        self.cost_factor = np.where(self.liars, float(config.misreport_factor), 1.0)
        self.executions = np.zeros(n, dtype=np.int64)  # k: the index of an agent's next execution
        self.counts = dict.fromkeys(FAULT_STAT_KEYS, 0)
        self.counts["byzantine_agents"] = int(self.byzantine.sum())
        self.counts["misreporting_agents"] = int(self.liars.sum())

    def crash_delay(self, agent: int) -> int | None:
        """Ticks of work before ``agent``'s next execution crashes (geometric: each tick of work ends in a crash with
        probability ``crash_rate``), or None without crashes. Consumes the agent's execution index either way."""
        k = int(self.executions[agent])
        self.executions[agent] += 1
        rate = self.config.crash_rate
        if rate <= 0:
            return None
        return int(fault_stream(self.seed, CRASH, agent, k).geometric(rate))

    def stats(self) -> dict[str, int]:
        return {key: int(self.counts[key]) for key in FAULT_STAT_KEYS}


def corrupt_path(path: np.ndarray) -> np.ndarray:
    """A Byzantine agent's false solution: the submitted path with its middle cell dropped (a jump the validator
    rejects), or cut to its first cell when it has no interior cell. Deterministic: a Byzantine agent lies always."""
    if len(path) <= 2:
        return np.asarray(path[:1]).copy()
    return np.delete(path, len(path) // 2)


def crash_rate_for_share(share: float, expected_work_ticks: float) -> float:
    """The per-tick crash rate under which an agent that works ``expected_work_ticks`` ticks in an episode crashes at
    least once with probability ``share``: ``1 - (1 - rate) ** W = share``."""
    if share <= 0:
        return 0.0
    return float(1.0 - (1.0 - share) ** (1.0 / max(1.0, expected_work_ticks)))


__all__ = [
    "BYZANTINE",
    "CRASH",
    "FAULT_STAT_KEYS",
    "FAULT_STREAM",
    "MISREPORT",
    "FaultPlan",
    "choose_agents",
    "corrupt_path",
    "crash_rate_for_share",
    "fault_stream",
    "faults_enabled",
]

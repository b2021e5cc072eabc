"""What the mechanism comparison compares: the policies (the mechanisms and the CES and scripted references), how
each allocates (manager, central controller or peer-to-peer), the preset and graphs of the main tables, the scale
sweeps (and their ``--tiny`` smoke versions) and the counter-check of the Contract Net / double auction equality."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MARKETS = (
    "contract-net",
    "auction-first-price",
    "auction-vickrey",
    "auction-english",
    "auction-dutch",
    "auction-double",
    "vcg",
)
"""The mechanisms in which a manager per group runs a market (it also validates)."""
MECHANISMS = (
    *MARKETS,
    "cbba",
    "max-sum",
    "dpop",
    "aco",
    "response-threshold",
)
REFERENCES = ("ces-centralized", "ces-decentralized", "knowledge-aware", "heft", "random")
POLICIES = MECHANISMS + REFERENCES
BASELINE = "ces-decentralized"
PRESET = "small"


GRAPHS = ("lds", "hds")
METRICS = ("ET", "TWT", "messages", "fairness_jain", "makespan_ratio")

# How a policy allocates: a single orchestrator per group (the CES controller, or a market's manager, which also
# validates), or peers without a manager. heft, knowledge-aware and random run under the preset's centralized control.
ARCHITECTURE = {
    **{p: "manager (market)" for p in MARKETS},
    **{p: "peer-to-peer" for p in ("cbba", "max-sum", "dpop", "aco", "response-threshold")},
    "ces-centralized": "central controller",
    "ces-decentralized": "peer-to-peer",
    "knowledge-aware": "central controller",
    "heft": "central controller",
    "random": "central controller",
}
PEER_TO_PEER = tuple(p for p, a in ARCHITECTURE.items() if a == "peer-to-peer")


@dataclass(frozen=True)
class Scale:
    """One point of a scale sweep; the maze is kept small so that the sweep measures allocation, not walking."""

    tasks: int
    agents: int
    groups: int
    graph: str = "lds"

    def overrides(self, maze_size: int) -> dict[str, Any]:
        return dict(
            n_tasks=self.tasks, n_agents=self.agents, n_groups=self.groups, maze_size=maze_size, graph=self.graph
        )

    @property
    def label(self) -> str:
        return f"{self.tasks}/{self.agents}/{self.groups}"


# Sweep "groups": more groups of 5 agents. Sweep "group size": 2 groups that grow (the orchestrator's load grows),
# on LDS and on HDS (denser dependencies: fewer tasks ready at once, so smaller negotiations).
GROUPS_SWEEP = "more groups (5 agents each), LDS"
SIZE_SWEEP = "bigger groups (2 groups), LDS"
SIZE_SWEEP_HDS = "bigger groups (2 groups), HDS"
SWEEPS: dict[str, tuple[Scale, ...]] = {
    GROUPS_SWEEP: (Scale(40, 10, 2), Scale(80, 20, 4), Scale(160, 40, 8), Scale(320, 80, 16)),
    SIZE_SWEEP: (Scale(40, 10, 2), Scale(80, 20, 2), Scale(160, 40, 2)),
    SIZE_SWEEP_HDS: (Scale(40, 10, 2, "hds"), Scale(80, 20, 2, "hds"), Scale(160, 40, 2, "hds")),
}
# ``--tiny``: the smoke test's configuration (seconds, not minutes; its numbers mean nothing). Same shape as the real
# run: two groups on the main tables, tasks = 4 x agents on every sweep.
TINY_MAIN = dict(n_agents=4, n_groups=2, n_tasks=16, maze_size=5)
TINY_SWEEPS: dict[str, tuple[Scale, ...]] = {
    GROUPS_SWEEP: (Scale(16, 4, 2), Scale(32, 8, 4)),
    SIZE_SWEEP: (Scale(16, 4, 2), Scale(32, 8, 2)),
    SIZE_SWEEP_HDS: (Scale(16, 4, 2, "hds"), Scale(32, 8, 2, "hds")),
}


# The counter-check of the Contract Net / double auction equality: agents that differ (unshared knowledge, spread
# speeds), on HDS, so that the two rules' different matchings of several bidders can show.
COUNTER_CHECK = {"graph": "hds", "knowledge_sharing": "none", "speed_spread": 0.5}

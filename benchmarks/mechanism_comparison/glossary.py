"""The glossary's distributed-versus-centralized table, each row filled with a measured number: from the main tables,
the scale fits, the replayed episodes' negotiation times, and the fault report ``reports/faults.md`` (parsed here into
:class:`FaultNumbers`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .design import GROUPS_SWEEP, MARKETS, MECHANISMS, PEER_TO_PEER, POLICIES, PRESET, SIZE_SWEEP, SIZE_SWEEP_HDS
from .runs import EpisodeDetail
from .tables import ScaleFit, column, first_refused_group, mean_of, size_sweep_rows


@dataclass(frozen=True)
class FaultNumbers:
    """Per control of the fault report (``centralized``, ``decentralized``, or a mechanism's name): ΔET with a
    controller down for half the ET, ΔET with 30% of the agents crashing (recovering), and what completes at that
    crashing share without recovery. Empty when the report is missing."""

    outage: dict[str, str]
    crash_delta: dict[str, str]
    crash_completed: dict[str, str]

    def crash_delta_text(self) -> str:
        """ΔET under crashes with recovery: the two CES controls, then the mechanisms' range, and whether every
        control's interval overlaps every other's (no control measurably more or less tolerant)."""
        if not self.crash_delta:
            return "n/a"
        parsed = {c: plus_minus(v) for c, v in self.crash_delta.items()}
        ces = [f"{self.crash_delta[c]} ({c})" for c in ("centralized", "decentralized") if c in parsed]
        mechs = {c: m for c, (m, _) in parsed.items() if c in MECHANISMS}
        parts = list(ces)
        if mechs:
            low, high = min(mechs, key=mechs.__getitem__), max(mechs, key=mechs.__getitem__)
            parts.append(f"the mechanisms from {mechs[low]:+.1f} ({low}) to {mechs[high]:+.1f} ({high})")
        return ", ".join(parts) + (
            f"; the {len(parsed)} controls' intervals all overlap"
            if self.crash_intervals_overlap()
            else "; some intervals do not overlap"
        )

    def crash_intervals_overlap(self) -> bool:
        """Does every control's ΔET interval under crashes overlap every other's?"""
        parsed = [plus_minus(v) for v in self.crash_delta.values()]
        return max(m - h for m, h in parsed) <= min(m + h for m, h in parsed)

    def lost_episodes(self) -> dict[str, str]:
        """Controls that did not complete every episode without recovery: ``control: 'done/total'``."""
        lost = {}
        for control, text in self.crash_completed.items():
            done, total = text.split(" ")[0].split("/")
            if int(done) < int(total):
                lost[control] = f"{done}/{total}"
        return lost


def plus_minus(text: str) -> tuple[float, float]:
    """``'83.8 ± 102.7'`` to (83.8, 102.7)."""
    mean, _, half = text.partition("±")
    return float(mean.replace(",", "")), float(half.replace(",", "") or "nan")


def faults_numbers(path: Path) -> FaultNumbers:
    """Read the fault report's crash table (9 columns; the 30% rows) and outage table (6 columns; the 50% rows)."""
    found = FaultNumbers({}, {}, {})
    if not path.exists():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[1] == "50%":
            found.outage[cells[0]] = cells[3]
        if len(cells) == 9 and cells[1] == "30%":
            found.crash_delta[cells[0]] = cells[4]
            found.crash_completed[cells[0]] = f"{cells[7]} episodes, {cells[8]} of tasks"
    return found


def grouped(values: dict[str, str]) -> str:
    """``value (control, control), value (control)``: controls that measured the same value listed together."""
    by_value: dict[str, list[str]] = {}
    for control, value in values.items():
        by_value.setdefault(value, []).append(control)
    return "; ".join(f"{value} ({', '.join(controls)})" for value, controls in by_value.items())


def overhead_shares(details: dict[str, list[EpisodeDetail]]) -> dict[str, tuple[float, float]]:
    """Per mechanism: the share of its groups' time with a negotiation round open (negotiation ticks over the sum of
    the groups' ET, mean over seeds) and the negotiation ticks per task."""
    out = {}
    for policy, ds in details.items():
        share = np.mean([d.negotiation_ticks / sum(d.group_et) for d in ds])
        per_task = np.mean([d.negotiation_ticks / len(d.started) for d in ds])
        out[policy] = (float(share), float(per_task))
    return out


def glossary_table(main: dict[str, Any], fitted: dict[str, dict[str, ScaleFit]], faults: FaultNumbers) -> list[str]:
    lds = main["lds"]
    k_groups, k_size, k_hds = fitted[GROUPS_SWEEP], fitted[SIZE_SWEEP], fitted[SIZE_SWEEP_HDS]

    def k_range(policies: Sequence[str], sweep: dict[str, ScaleFit]) -> str:
        ks = [sweep[p].k for p in policies if math.isfinite(sweep[p].k)]
        return f"{min(ks):.2f}–{max(ks):.2f}" if ks else "n/a"

    ets = {p: mean_of(lds, p, "ET") for p in POLICIES}
    best = min(ets, key=lambda p: ets[p] if math.isfinite(ets[p]) else math.inf)
    gap = {p: 100 * (ets[p] / ets[best] - 1) for p in POLICIES}
    msgs = {p: mean_of(lds, p, "messages") for p in POLICIES}
    n_tasks = lds["ces-centralized"][0]["n_tasks"]

    def msg_range(policies: Sequence[str]) -> str:
        vals = [msgs[p] / n_tasks for p in policies if math.isfinite(msgs[p])]
        return f"{min(vals):.1f}–{max(vals):.1f}"

    def gap_range(policies: Sequence[str]) -> str:
        vals = [gap[p] for p in policies if math.isfinite(gap[p])]
        return f"{min(vals):+.0f}% to {max(vals):+.0f}%"

    size_sweep = main["_size_sweep"]
    util = [column(rows, "controller_utilization").mean() for rows in size_sweep_rows(size_sweep, "ces-centralized")]
    sizes = [s.agents // s.groups for s in size_sweep]
    peers = PEER_TO_PEER
    markets = MARKETS
    peer_mechs = [p for p in peers if p in MECHANISMS]
    overhead = overhead_shares(main["_details"]["lds"])

    def share_range(policies: Sequence[str]) -> str:
        shares = [100 * overhead[p][0] for p in policies]
        per_task = [overhead[p][1] for p in policies]
        return f"{min(shares):.0f}–{max(shares):.0f}% ({min(per_task):.1f}–{max(per_task):.1f} ticks per task)"

    lds_util = mean_of(lds, "ces-centralized", "controller_utilization")
    refusals = [
        f"{p} refuses groups of {n} agents"
        for p in ("dpop", "vcg")
        if (n := first_refused_group(size_sweep, p)) is not None
    ]
    complexity = (
        f"; its computational side shows in the exact solvers, which refuse large groups ({', '.join(refusals)}: "
        "the refusals under the scale sweeps)"
        if refusals
        else ""
    )
    mechanisms_in_faults = sorted(c for c in faults.crash_completed if c in MECHANISMS)
    missing = [p for p in MECHANISMS if p not in faults.crash_completed]
    fault_text = (
        "from `reports/faults.md`: a controller down for 50% of the ET: ΔET "
        f"{grouped(faults.outage) or 'n/a'} (only the CES controller is made to fail; the mechanisms' managers and "
        "peers are not, so their rows show no change by construction); 30% of agents crashing, with recovery: ΔET "
        f"{faults.crash_delta_text()}; without recovery: {grouped(faults.crash_completed) or 'n/a'}"
        + (f". Not in the fault report: {', '.join(missing)}" if missing and mechanisms_in_faults else "")
        + (". The fault report has no mechanism rows" if not mechanisms_in_faults else "")
    )
    return [
        "| feature | glossary: distributed (DTA) | glossary: centralized (CTA) | measured here |",
        "|---|---|---|---|",
        "| Scalability | high, minimal bottleneck | limited by the orchestrator | messages ~ agents^k (mean k over "
        f"seeds) with more groups: k = {k_groups['ces-centralized'].k:.2f} (ces-centralized), "
        f"{k_range(peers, k_groups)} (peer-to-peer), {k_range(markets, k_groups)} (markets); with bigger groups, LDS: "
        f"k = {k_size['ces-centralized'].k:.2f} (ces-centralized), {k_range(peers, k_size)} (peer-to-peer), "
        f"{k_range(markets, k_size)} (markets); HDS: k = {k_hds['ces-centralized'].k:.2f}, "
        f"{k_range(peers, k_hds)}, {k_range(markets, k_hds)}. The orchestrator's load: the CES controller's "
        f"utilization {', '.join(f'{u:.2f}' for u in util)} as its group grows "
        f"{' → '.join(str(n) for n in sizes[: len(util)])} agents. |",
        "| Communication overhead | high (peer-to-peer negotiation) | lower (command and control) | messages per "
        f"task on LDS `{PRESET}`: {msgs['ces-centralized'] / n_tasks:.1f} (ces-centralized), "
        f"{msgs['ces-decentralized'] / n_tasks:.1f} (ces-decentralized), {msg_range(peers)} (peer-to-peer), "
        f"{msg_range(markets)} (markets) |",
        "| Optimality | local or emergent | possible with exact solvers | ET gap to the best policy on LDS "
        f"(`{best}`, {ets[best]:,.0f}): {gap['ces-centralized']:+.0f}% ces-centralized, {gap['dpop']:+.0f}% dpop "
        f"(exact per round, not per episode), {gap_range(peers)} peer-to-peer, {gap_range(markets)} markets |",
        "| Single point of failure / fault tolerance | high: re-negotiation | low: orchestrator failure halts "
        f"allocation | {fault_text} |",
        "| Allocation overhead | distributed across agents; latency from negotiation | concentrated at the "
        "orchestrator; computational complexity | share of each group's time with a negotiation round open "
        f"(negotiation ticks / Σ ET_g, LDS `{PRESET}`, {len(next(iter(main['_details']['lds'].values())))} seeds): "
        f"{share_range(markets)} markets, {share_range(peer_mechs)} peer-to-peer mechanisms; the CES controller "
        f"(ces-centralized) is busy {100 * lds_util:.0f}% of the ET{complexity} |",
    ]

"""Cost profiles side by side: the shape ratios the paper's tables fix, and the verdict per claim under each profile,
with the cause of a failure separated: a claim that fails under every profile run is a finding about the paper (or
about what the model cannot express); one that fails only under some is a consequence of the modelling choices that
differ between them (named)."""

from __future__ import annotations

import numpy as np

from ces_baselines.reproduce.analysis import table
from ces_baselines.reproduce.scenario import PROFILES
from ces_env.generator import split_agents

PAPER_SHAPES: dict[str, float] = {
    "Table 1: ET(1 group) / ET(10 groups)": 2458.50 / 409.46,
    "Table 2: ET(1 group) / ET(10 groups)": 496.00 / 409.46,
    "Table 3: ET(g) decentralized / centralized": (618.78 / 5) / (669.85 / 5),
    "Table 3: TWT(g) decentralized / centralized": 74.87 / 156.39,
    "Table 3: waiting / agent-time (centralized)": 156.39 / (5 * 669.85),
}
"""The paper's shape ratios (Tables 1-3; Table 3's sums over its 5 groups of 5 agents)."""
TABLE1_WAITING = "Table 1 (10 groups): waiting / agent-time"
"""Ours only (the paper gives no waiting time for Table 1): the share of agent-time spent waiting on the 500-task
graph, the one ``graph_layers`` shapes, beside Table 3's on the G18 stand-ins."""


def split_agents_sizes(n_agents: int, n_groups: int) -> np.ndarray:
    """Agents per group, as the generator splits them."""
    return np.bincount(split_agents(int(n_agents), int(n_groups)), minlength=int(n_groups))


def _mean(rows: list[dict], key: str) -> float:
    return float(np.mean([np.mean(r[key]) for r in rows]))


def shape_ratios(results: dict[str, dict[str, list[dict]]]) -> dict[str, float | None]:
    """Our values of :data:`PAPER_SHAPES` from the experiments' rows (None for an experiment not run)."""
    shapes: dict[str, float | None] = dict.fromkeys([*PAPER_SHAPES, TABLE1_WAITING])
    for key, name in (("table1", "Table 1"), ("table2", "Table 2")):
        if key in results:
            shapes[f"{name}: ET(1 group) / ET(10 groups)"] = _mean(results[key]["1"], "ET") / _mean(
                results[key]["10"], "ET"
            )
    if "table1" in results and "10" in results["table1"]:
        shapes[TABLE1_WAITING] = _waiting_share(results["table1"]["10"])
    if "table3" in results:
        cent, dec = results["table3"]["centralized"], results["table3"]["decentralized"]
        shapes["Table 3: ET(g) decentralized / centralized"] = _mean(dec, "ET_g") / _mean(cent, "ET_g")
        shapes["Table 3: TWT(g) decentralized / centralized"] = _mean(dec, "TWT_g") / _mean(cent, "TWT_g")
        shapes["Table 3: waiting / agent-time (centralized)"] = _waiting_share(cent)
    return shapes


def _waiting_share(rows: list[dict]) -> float:
    """Waiting as a share of agent-time: TWT over (agents x ET(g)), summed over the groups; the mean over seeds."""
    shares = [
        float(np.sum(r["TWT_g"]) / np.dot(split_agents_sizes(r["n_agents"], r["n_groups"]), r["ET_g"])) for r in rows
    ]
    return float(np.mean(shares))


def _differences(profiles: list[str]) -> str:
    """The settings in which the given profiles differ from the others (the modelling choices to name)."""
    keys = sorted({k for p in profiles for k in PROFILES[p]})
    named = [k for k in keys if len({repr(PROFILES[p].get(k)) for p in profiles}) > 1]
    return ", ".join(named) or "none"


def render_profiles(summaries: dict[str, dict], scale_name: str, paper: dict[str, float]) -> str:
    """The side-by-side markdown of several profiles' ``summary.json``."""
    names = list(summaries)
    lines = [
        "# Reproduction under several cost profiles, side by side",
        "",
        f"Scale `{scale_name}`"
        + (" (QUICK: few seeds and sweep points; the full run is the README's command)" if scale_name != "full" else "")
        + f". Profiles: {', '.join(f'`{n}`' for n in names)} (`ces_baselines.reproduce.scenario.PROFILES`; the "
        "paper profile's arithmetic is in the README). Each profile's own report is `<profile>/reproduction.md`.",
        "",
        "## Shape ratios",
        "",
    ]
    rows = []
    for shape in [*paper, TABLE1_WAITING]:  # the last: ours only, the paper gives no waiting for Table 1
        ours = [summaries[n]["shapes"].get(shape) for n in names]
        value = paper.get(shape)
        rows.append(
            [shape, "not given" if value is None else f"{value:.3g}"] + ["—" if v is None else f"{v:.3g}" for v in ours]
        )
    lines += table(["ratio", "paper"] + names, rows)
    lines += ["", "## Verdicts and their cause", ""]
    verdicts: dict[tuple[str, str], dict[str, bool]] = {}
    for name in names:
        for experiment, claim, holds in summaries[name]["verdicts"]:
            verdicts.setdefault((experiment, claim), {})[name] = bool(holds)
    rows = []
    for (experiment, claim), by_profile in verdicts.items():
        failing = [n for n in names if not by_profile.get(n, True)]
        if not failing:
            cause = "holds under every profile"
        elif len(failing) == len(names):
            cause = "**fails under every profile run**: a finding about the paper (or what the model cannot express)"
        else:
            cause = f"fails only under {', '.join(failing)}: a consequence of the settings that differ (below)"
        rows.append(
            [experiment, claim]
            + ["holds" if by_profile.get(n) else ("—" if n not in by_profile else "**no**") for n in names]
            + [cause]
        )
    lines += table(["experiment", "claim"] + names + ["cause"], rows)
    lines += [
        "",
        f"Settings that differ between the profiles: {_differences(names)}. A claim that fails under every profile "
        "does not depend on them; one that fails under some does. At a quick scale a verdict that differs between "
        "profiles may also be within noise (few seeds: 'does not hold' includes 'cannot be told apart').",
    ]
    return "\n".join(lines) + "\n"

"""Tables 1-4 of the paper: execution time against groups (1, 2), the two controls on G18-like graphs (3), and
LDS/HDS graphs under the two partitions (4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ces_baselines.harness.runner import Job
from ces_baselines.reproduce.analysis import Section, col, explain_groups, mean_of_lists, table, trend_verdict
from ces_baselines.reproduce.plots import plot_et_against_paper
from ces_baselines.reproduce.scenario import CENTRALIZED, DECENTRALIZED, Scale, make_job, seeds
from ces_baselines.reproduce.stats import fmt, less_verdict
from ces_env.config import FIELD_NAMES, make_config

# ---------------------------------------------------------------------------------------------------------- Table 1
TABLE1_PAPER = {
    1: (2458.30, 2458.50),
    2: (1631.64, 1705.09),
    4: (859.50, 924.36),
    6: (635.66, 686.5),
    8: (487.14, 534.94),
    10: (368.32, 409.46),
}


def plan_table1(scale: Scale) -> dict[str, list[Job]]:
    return {
        str(l): [make_job(scale, CENTRALIZED, s, n_groups=l, n_agents=5 * l, n_tasks=500) for s in seeds(scale)]
        for l in TABLE1_PAPER
    }


def analyze_table1(results, out: Path, scale: Scale) -> Section:
    sec = Section("Table 1: 1-10 groups of 5 agents, 500 inter-dependent tasks (ces-centralized)")
    groups = list(TABLE1_PAPER)
    lines = []
    for l in groups:
        rows = results[str(l)]
        p_etg, p_et = TABLE1_PAPER[l]
        lines.append(
            [
                str(l),
                f"{p_etg:.2f}",
                f"{p_et:.2f}",
                fmt(mean_of_lists(rows, "ET_g")),
                fmt(col(rows, "ET")),
                fmt(col(rows, "makespan_ratio")),
            ]
        )
    sec.body += table(
        ["groups", "paper ET(g_k) s", "paper ET s", "ours mean ET(g_k) ticks", "ours ET ticks", "ours makespan/LB"],
        lines,
    )
    sec.plots.append(
        plot_et_against_paper(
            results, groups, [TABLE1_PAPER[l][1] for l in groups], "groups of 5 agents", out, "table1.png"
        )
    )
    holds_et, text_et = trend_verdict(groups, [col(results[str(l)], "ET") for l in groups], "ET")
    holds_etg, text_etg = trend_verdict(
        groups, [mean_of_lists(results[str(l)], "ET_g") for l in groups], "mean ET(g_k)"
    )
    sec.claim(
        "ET(g) and ET fall as groups (of 5 agents) are added",
        holds_et and holds_etg,
        f"ET: {text_et}. Mean ET(g_k): {text_etg}",
    )
    above = all(r["ET"] > max(r["ET_g"]) for l in groups for r in results[str(l)])
    sec.claim(
        "ET is always above the groups' times (split and collect overhead)",
        above,
        f"{'holds' if above else 'does not hold'}, by construction: the simulator charges "
        f"collect_ticks_per_group x l after the last group finishes, so ET > max ET(g_k) in every run",
    )
    explain_groups(sec, results, groups)
    return sec


# ---------------------------------------------------------------------------------------------------------- Table 2
TABLE2_PAPER = {1: 496.00, 2: 483.70, 4: 467.56, 6: 451.48, 8: 430.02, 10: 409.46}


def plan_table2(scale: Scale) -> dict[str, list[Job]]:
    return {
        str(l): [make_job(scale, CENTRALIZED, s, n_groups=l, n_agents=50, n_tasks=500) for s in seeds(scale)]
        for l in TABLE2_PAPER
    }


def analyze_table2(results, out: Path, scale: Scale) -> Section:
    sec = Section("Table 2: 50 agents split into 1-10 groups, 500 tasks (ces-centralized)")
    groups = list(TABLE2_PAPER)
    lines = [
        [
            str(l),
            f"{TABLE2_PAPER[l]:.2f}",
            fmt(col(results[str(l)], "ET")),
            fmt(col(results[str(l)], "TWT")),
            fmt(col(results[str(l)], "controller_utilization")),
            fmt(col(results[str(l)], "makespan_ratio")),
        ]
        for l in groups
    ]
    sec.body += table(
        ["groups", "paper ET s", "ours ET ticks", "ours TWT", "controller utilisation", "makespan/LB"], lines
    )
    sec.plots.append(
        plot_et_against_paper(
            results, groups, [TABLE2_PAPER[l] for l in groups], "groups (50 agents in all)", out, "table2.png"
        )
    )
    holds, text = trend_verdict(groups, [col(results[str(l)], "ET") for l in groups], "ET")
    sec.claim("ET falls (modestly) as the 50 agents are split into more groups", holds, text)
    explain_groups(sec, results, groups)
    return sec


# ---------------------------------------------------------------------------------------------------------- Table 3
TABLE3_PAPER = {
    "centralized": ([132.39, 128.41, 139.02, 128.89, 141.14], [34.06, 30.34, 35.09, 27.23, 29.67]),
    "decentralized": ([125.0, 123.26, 122.92, 121.56, 126.04], [14.43, 15.07, 11.15, 15.84, 18.38]),
}
TABLE3_SCENARIO = dict(n_groups=5, n_agents=25, n_tasks=90, graph="g18", maze_size=400)


def plan_table3(scale: Scale) -> dict[str, list[Job]]:
    return {
        control: [make_job(scale, f"ces-{control}", s, **TABLE3_SCENARIO) for s in seeds(scale)]
        for control in ("centralized", "decentralized")
    }


def analyze_table3(results, out: Path, scale: Scale) -> Section:
    sec = Section("Table 3: 5 groups, G18-like dependencies, 400x400 mazes, 18 tasks per group (5 agents per group)")
    lines = []
    for g in range(5):
        line = [str(g + 1)]
        for control in ("centralized", "decentralized"):
            rows = results[control]
            p_et, p_twt = TABLE3_PAPER[control]
            line += [
                f"{p_et[g]:.2f}",
                fmt([r["ET_g"][g] for r in rows]),
                fmt([r["lambda_g"][g] for r in rows]),
                f"{p_twt[g]:.2f}",
                fmt([r["TWT_g"][g] for r in rows]),
            ]
        lines.append(line)
    header = ["group"]
    for control in ("cent.", "decent."):
        header += [
            f"{control} paper ET(g)",
            f"{control} ours ET(g)",
            "|λ|",
            f"{control} paper TWT(g)",
            f"{control} ours TWT(g)",
        ]
    sec.body += table(header, lines)
    cent, dec = results["centralized"], results["decentralized"]
    sec.body.append("")
    sec.body += table(
        ["control", "messages", "conflicts", "controller utilisation", "makespan/LB"],
        [
            [
                c,
                fmt(col(results[c], "messages")),
                fmt(col(results[c], "conflicts")),
                fmt(col(results[c], "controller_utilization")),
                fmt(col(results[c], "makespan_ratio")),
            ]
            for c in ("centralized", "decentralized")
        ],
    )
    holds, text = less_verdict(
        mean_of_lists(dec, "ET_g"), mean_of_lists(cent, "ET_g"), "mean ET(g_k) decentralized vs centralized"
    )
    sec.claim("decentralized control gives lower ET(g_k) than centralized", holds, text)
    holds, text = less_verdict(
        mean_of_lists(dec, "TWT_g"), mean_of_lists(cent, "TWT_g"), "mean TWT(g_k) decentralized vs centralized"
    )
    sec.claim("decentralized control gives lower TWT(g_k) than centralized", holds, text)
    costs = make_config(**{k: cent[0][k] for k in FIELD_NAMES}).in_ticks()  # the run's own costs, at 400x400
    gap = abs(1.0 - float(np.mean(mean_of_lists(dec, "ET_g"))) / float(np.mean(mean_of_lists(cent, "ET_g"))))
    sec.explain(
        f"With 400x400 mazes a group needs {fmt(mean_of_lists(cent, 'ET_g'))} ticks for its 18 tasks "
        f"({fmt(col(cent, 'explorations'))} explorations per episode), while the protocol costs per task are small "
        f"beside it (in ticks: assign {costs.assign_service_ticks}, validate {costs.validate_service_ticks}, share "
        f"{costs.share_ticks_per_recipient}/recipient, claim latency {costs.claim_latency_ticks}, peer validation "
        f"{costs.peer_validate_ticks}): the controller is busy {fmt(col(cent, 'controller_utilization'))} of the "
        f"time, so it never becomes a bottleneck, and the decentralized protocol's lost claims "
        f"({fmt(col(dec, 'conflicts'))} per episode) cost only their latency. Both controls therefore finish within "
        f"{gap:.2%} of each other; the paper's 7.6% gap needs protocol costs that are a sizeable fraction of a task's "
        f"duration (see the sensitivity study)."
    )
    return sec


# ---------------------------------------------------------------------------------------------------------- Table 4
TABLE4_PAPER = {
    ("lds", "interdependent"): ((631.67, 628.41, 629.81), (61.56, 62.18, 60.84)),
    ("lds", "independent"): ((619.49, 613.88, 601.24), (37.85, 34.05, 32.56)),
    ("hds", "interdependent"): ((710.80, 718.15, 709.65), (98.67, 93.97, 96.08)),
    ("hds", "independent"): ((725.80, 732.65, 728.34), (84.52, 76.50, 81.53)),
}
TABLE4_GRAPH = {"lds": "g18", "hds": "g40"}


def plan_table4(scale: Scale) -> dict[str, list[Job]]:
    # the paper's table lists three values per case: read as three groups of 80 tasks, 5 agents each
    return {
        f"{system}/{partition}": [
            make_job(
                scale,
                DECENTRALIZED,
                s,
                n_groups=3,
                n_agents=15,
                n_tasks=240,
                graph=TABLE4_GRAPH[system],
                partition=partition,
            )
            for s in seeds(scale)
        ]
        for system, partition in TABLE4_PAPER
    }


def analyze_table4(results, out: Path, scale: Scale) -> Section:
    sec = Section(
        "Table 4: 3 groups x 80 tasks, LDS (G18-like) vs HDS (G40-like), inter-dependent vs independent "
        "partitions (ces-decentralized)"
    )
    lines = []
    for (system, partition), (p_et, p_twt) in TABLE4_PAPER.items():
        rows = results[f"{system}/{partition}"]
        lines.append(
            [
                system.upper(),
                partition,
                " / ".join(f"{v:.2f}" for v in p_et),
                fmt(col(rows, "ET")),
                " / ".join(f"{v:.2f}" for v in p_twt),
                fmt(col(rows, "TWT")),
                fmt([max(r["lambda_g"]) - min(r["lambda_g"]) for r in rows]),
                fmt(col(rows, "makespan_ratio")),
            ]
        )
    sec.body += table(
        [
            "system",
            "partition",
            "paper ET s",
            "ours ET ticks",
            "paper TWT",
            "ours TWT",
            "ours max-min |λ|",
            "makespan/LB",
        ],
        lines,
    )
    r = results
    # (claim, metric, the case claimed lower, the other case)
    for claim, metric, lower, higher in (
        ("LDS: independent partitions give lower ET", "ET", "lds/independent", "lds/interdependent"),
        ("LDS: independent partitions give lower TWT", "TWT", "lds/independent", "lds/interdependent"),
        ("HDS: inter-dependent partitions give lower ET", "ET", "hds/interdependent", "hds/independent"),
        ("HDS: independent partitions give lower TWT (but higher ET)", "TWT", "hds/independent", "hds/interdependent"),
    ):
        holds, text = less_verdict(col(r[lower], metric), col(r[higher], metric), f"{metric} {lower} vs {higher}")
        sec.claim(claim, holds, text)
    sec.explain(
        "An independent partition gives each group whole connected components, so no group waits for another's "
        "tasks: waiting falls. With the tiled stand-ins the components are graph copies or parts of them (G18: 11 "
        "and 7 tasks; G40: 40), so at 3 x 80 tasks the split stays even (max-min |λ| above) and nothing in the "
        "mechanics makes HDS prefer inter-dependent groups. Explorations per episode: "
        f"LDS {fmt(col(r['lds/interdependent'], 'explorations'))} (inter) vs "
        f"{fmt(col(r['lds/independent'], 'explorations'))} (independent); HDS "
        f"{fmt(col(r['hds/interdependent'], 'explorations'))} vs {fmt(col(r['hds/independent'], 'explorations'))}: "
        "an independent group also keeps more of an inference class's tasks together only by chance, since classes "
        "are drawn independently of the graph."
    )
    return sec

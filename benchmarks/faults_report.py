"""The fault report (issue 11): regenerates ``reports/faults.md``.

    python benchmarks/faults_report.py --seeds 20 --workers 2 --out reports/faults.md

Every row plays the same seeds (paired: the same instances, explorations and fault draws) on the ``small`` preset
(10 agents in 2 groups, 40 tasks, 20x20 mazes) with the paper's reward-first rule (``RewardFirstPolicy``) under every
registered control (``CONTROLS``: CES centralized and decentralized and every mechanism); means with 95% confidence
intervals (Student t over seeds; a paired difference's interval for the changes). The "Reading" section is written
from the measured values by :func:`reading`, so regenerating the report keeps it true.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from ces_env.config import make_config
from ces_env.core.faults import crash_rate_for_share
from ces_env.core.protocols import CONTROL_PROTOCOLS
from ces_env.policies import RewardFirstPolicy
from ces_env.runner import run_episode

PRESET = "small"
CES_CONTROLS = ("centralized", "decentralized")
CONTROLS = CES_CONTROLS + tuple(name for name in CONTROL_PROTOCOLS if name not in CES_CONTROLS)
"""Every registered control, the two CES controls first."""
CRASH_SHARES = (0.0, 0.1, 0.2, 0.3)
RECOVERY_TICKS = 50
OUTAGE_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.5)
BYZANTINE_FRACTIONS = (0.0, 0.1, 0.2)
LIAR_FACTORS = (0.8, 1.25, 1.5, 2.0)
TRUTHFUL_MECHANISMS = ("auction-first-price", "auction-vickrey", "vcg")


def episode(job: tuple[str, int, dict[str, Any]]) -> dict[str, Any]:
    """One episode: ET, completion, stats, and the mechanism's payments and true costs if it has them."""
    control, seed, fields = job
    config = make_config(PRESET, control=control, **fields)
    from ces_env.env import parallel_env

    env = parallel_env(config=config)
    index = {agent: i for i, agent in enumerate(env.possible_agents)}
    rewards = np.zeros(len(env.possible_agents))

    def collect(_env, step) -> None:
        for agent, reward in step.rewards.items():
            rewards[index[agent]] += reward

    result = run_episode(RewardFirstPolicy(), env, seed, on_step=collect)
    sim = env.unwrapped.sim
    metrics = result.metrics
    assert metrics is not None and result.stats is not None
    out = {
        "ET": metrics["ET"],
        "terminated": bool(sim.terminated),
        "completed": sum(metrics["mu_g"]) / sum(metrics["lambda_g"]),
        "work_per_agent": float(sim.productive_ticks.mean()),
        "stats": result.stats,
        "reason": next(iter(result.infos.values())).get("truncation_reason"),
        # what the env returned to the Byzantine agents (the guarantee: 0)
        "byzantine_reward": float(rewards[sim.faults.byzantine].sum()) if sim.faults is not None else 0.0,
    }
    if hasattr(sim.control, "payments"):
        liars = np.flatnonzero(sim.faults.liars) if sim.faults is not None else np.array([], dtype=int)
        agent = int(liars[0]) if len(liars) else -1
        out["utility"] = float(sim.control.payments[agent] - sim.control.true_costs[agent]) if agent >= 0 else 0.0
        out["awards"] = int(sim.control.awards[agent]) if agent >= 0 else 0
    return out


def interval(values: list[float]) -> tuple[float, float]:
    """(mean, half-width of a 95% Student-t interval); the half-width is 0 for fewer than two values."""
    data = np.asarray(values, dtype=np.float64)
    if len(data) < 2:
        return (float(data[0]) if len(data) else math.nan), 0.0
    return float(data.mean()), float(scipy_stats.t.ppf(0.975, len(data) - 1) * data.std(ddof=1) / math.sqrt(len(data)))


def mean_ci(values: list[float]) -> str:
    """'mean ± half-width' of a 95% Student-t interval."""
    if len(values) == 0:
        return "n/a"
    mean, half = interval(values)
    return f"{mean:.1f}" if len(values) == 1 else f"{mean:.1f} ± {half:.1f}"


def verdict(values: list[float]) -> str:
    """Whether a paired gain is above 0, below 0 or not told apart from 0 by its 95% interval."""
    mean, half = interval(values)
    if mean - half > 0:
        return "pays"
    if mean + half < 0:
        return "loses"
    return "not distinguishable from 0"


class Runner:
    def __init__(self, workers: int) -> None:
        self.pool = ProcessPoolExecutor(workers) if workers > 1 else None

    def run(self, jobs: list[tuple[str, int, dict[str, Any]]]) -> list[dict[str, Any]]:
        if self.pool is None:
            return [episode(job) for job in jobs]
        return list(self.pool.map(episode, jobs, chunksize=4))


def report(seeds: int, workers: int) -> str:
    runner = Runner(workers)
    seed_list = list(range(seeds))
    lines: list[str] = []
    start = time.perf_counter()

    base = {c: runner.run([(c, s, {}) for s in seed_list]) for c in CONTROLS}
    measured: dict[str, Any] = {"crash": {}, "crash_lost": [], "norec_truncated": {}, "outage": {}, "byz": {}}
    work = float(np.mean([r["work_per_agent"] for c in CONTROLS for r in base[c]]))
    et0 = {c: [r["ET"] for r in base[c]] for c in CONTROLS}

    # ---- crashes
    lines += [
        "## Crashing agents",
        "",
        f"The crash rate is set so that the expected share of agents that crash at least once in an episode is 0, 10, "
        f"20 and 30%: an agent of the fault-free runs works W = {work:.0f} ticks in an episode on average (all "
        f"{len(CONTROLS)} protocols, every seed), and with a crash probability r per tick of work it survives "
        "the episode with probability (1 - r)^W, so r = 1 - (1 - share)^(1/W) "
        "(`ces_env.core.faults.crash_rate_for_share`). "
        "(A crash adds lost work and so more ticks of work; the realised share is a little above the target.)",
        "",
        f"*With recovery* (back after {RECOVERY_TICKS} ticks): ET, and its paired change from the fault-free run. "
        "*Without recovery*: episodes completed and tasks completed (a group whose agents all crashed stops the "
        'episode: `truncation_reason="crashed"`).',
        "",
        "| control | crashing share | rate per tick | ET (recovery) | ΔET vs no crash | crashes | lost work ticks "
        "| episodes completed (no recovery) | tasks completed (no recovery) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for control in CONTROLS:
        for share in CRASH_SHARES:
            rate = crash_rate_for_share(share, work)
            if share == 0:
                rec = norec = base[control]
            else:
                rec = runner.run(
                    [(control, s, dict(crash_rate=rate, crash_recovery_ticks=RECOVERY_TICKS)) for s in seed_list]
                )
                norec = runner.run([(control, s, dict(crash_rate=rate)) for s in seed_list])
            diffs = [r["ET"] - e for r, e in zip(rec, et0[control], strict=True)]
            measured["crash"][control, share] = diffs
            if share:
                measured["crash_lost"] += [
                    (r["stats"].get("lost_work_ticks", 0), r["stats"].get("crashes", 0)) for r in rec
                ]
                truncated = [r["reason"] for r in norec if not r["terminated"]]
                if truncated:
                    measured["norec_truncated"][control, share] = truncated
            lines.append(
                f"| {control} | {share:.0%} | {rate:.2e} | {mean_ci([r['ET'] for r in rec])} | {mean_ci(diffs)} "
                f"| {np.mean([r['stats'].get('crashes', 0) for r in rec]):.1f} "
                f"| {np.mean([r['stats'].get('lost_work_ticks', 0) for r in rec]):.0f} "
                f"| {sum(r['terminated'] for r in norec)}/{len(norec)} "
                f"| {100 * np.mean([r['completed'] for r in norec]):.1f}% |"
            )
    lines.append("")

    # ---- controller outage
    lines += [
        "## A controller down",
        "",
        "Every group's controller fails at 10% of the seed's fault-free centralized ET and stays down for the given "
        "fraction of that ET (`controller_outage_start`, `controller_outage_ticks`); the last row has no end but "
        "an election after 5% of the ET (`election_timeout_ticks`) taking `election_ticks`=10. Only the CES "
        "controller fails in this model: the decentralized control has no controller, and the mechanisms' "
        "managers (the validators of the auctions and Contract Net) are not made to fail, so their rows measure "
        "that nothing else changes.",
        "",
        "| control | outage (share of ET) | ET | ΔET vs no outage | completed | elections |",
        "|---|---|---|---|---|---|",
    ]
    central_et = et0["centralized"]
    for control in CONTROLS:
        for fraction in (*OUTAGE_FRACTIONS, "election"):
            if fraction == 0.0:
                rows = base[control]
            else:
                jobs = []
                for s in seed_list:
                    fields: dict[str, Any] = dict(controller_outage_start=int(0.1 * central_et[s]))
                    if fraction == "election":
                        fields.update(election_timeout_ticks=max(1, int(0.05 * central_et[s])), election_ticks=10)
                    else:
                        fields["controller_outage_ticks"] = max(1, int(fraction * central_et[s]))
                    jobs.append((control, s, fields))
                rows = runner.run(jobs)
            diffs = [r["ET"] - e for r, e in zip(rows, et0[control], strict=True)]
            measured["outage"][control, fraction] = (diffs, sum(not r["terminated"] for r in rows))
            label = "for good, election" if fraction == "election" else f"{fraction:.0%}"
            lines.append(
                f"| {control} | {label} | {mean_ci([r['ET'] for r in rows])} | {mean_ci(diffs)} "
                f"| {sum(r['terminated'] for r in rows)}/{len(rows)} "
                f"| {np.mean([r['stats'].get('elections', 0) for r in rows]):.1f} |"
            )
    lines.append("")

    # ---- Byzantine agents
    lines += [
        "## Byzantine agents",
        "",
        "A fraction of agents (drawn per seed, never a group's last honest agent) submit false solutions; each is "
        "rejected by the validator, never rewarded, and its author quarantined, so the task is redone by another "
        "agent. The last column is the total reward the environment returned to Byzantine agents over all seeds "
        "(measured from the rewards of every step).",
        "",
        "| control | Byzantine | ET | ΔET vs none | completed | false solutions rejected | reward to Byzantine |",
        "|---|---|---|---|---|---|---|",
    ]
    for control in CONTROLS:
        for fraction in BYZANTINE_FRACTIONS:
            rows = (
                base[control]
                if fraction == 0
                else runner.run([(control, s, dict(byzantine_fraction=fraction)) for s in seed_list])
            )
            diffs = [r["ET"] - e for r, e in zip(rows, et0[control], strict=True)]
            byzantine_reward = sum(r["byzantine_reward"] for r in rows)
            measured["byz"][control, fraction] = (diffs, byzantine_reward, sum(not r["terminated"] for r in rows))
            lines.append(
                f"| {control} | {fraction:.0%} | {mean_ci([r['ET'] for r in rows])} | {mean_ci(diffs)} "
                f"| {sum(r['terminated'] for r in rows)}/{len(rows)} "
                f"| {np.mean([r['stats'].get('rejected_false_solutions', 0) for r in rows]):.1f} "
                f"| {byzantine_reward:g} |"
            )
    lines.append("")

    # ---- misreporting
    lines += [
        "## Misreporting: does lying pay?",
        "",
        "One agent of ten (`misreport_fraction=0.1`, drawn per seed) scales every cost it reports by the factor "
        "(`misreport_factor`); the truthful run is the same seed with factor 1 (the same agent, telling the "
        "truth). Its utility = payments received − the truthful estimated cost of the tasks it was awarded "
        "(`payments - true_costs` of the negotiation base, in ticks of estimated work; a true cost is the bid the "
        "agent would have made telling the truth, backlog included). The gain is the paired difference lying − "
        "truthful. First-price and Vickrey have the manager's reserve (`reservation_cost`: the slowest member's "
        "exploration estimate plus a validation): a bid above it does not win, a lone Vickrey bidder is paid it, "
        "and it is VCG's value of a task.",
        "",
        "| mechanism | factor | utility truthful | utility lying | gain (paired) | tasks won truthful → lying |",
        "|---|---|---|---|---|---|",
    ]
    measured["gain"] = {}
    for control in TRUTHFUL_MECHANISMS:
        truthful = runner.run([(control, s, dict(misreport_fraction=0.1, misreport_factor=1.0)) for s in seed_list])
        for factor in LIAR_FACTORS:
            lying = runner.run([(control, s, dict(misreport_fraction=0.1, misreport_factor=factor)) for s in seed_list])
            gain = [lie["utility"] - true["utility"] for lie, true in zip(lying, truthful, strict=True)]
            measured["gain"][control, factor] = gain
            lines.append(
                f"| {control} | {factor:g} | {mean_ci([r['utility'] for r in truthful])} "
                f"| {mean_ci([r['utility'] for r in lying])} | {mean_ci(gain)} "
                f"| {np.mean([r['awards'] for r in truthful]):.1f} → {np.mean([r['awards'] for r in lying]):.1f} |"
            )
    lines.append("")
    lines += reading(measured)
    seconds = time.perf_counter() - start
    header = [
        "# Faults and self-interested agents",
        "",
        f"Generated by `python benchmarks/faults_report.py --seeds {seeds}` ({seconds:.0f} s). Preset `{PRESET}` "
        f"(10 agents, 2 groups, 40 tasks, 20x20 mazes), {seeds} paired seeds (0..{seeds - 1}), the reward-first "
        f"rule; every registered control ({len(CONTROLS)}): {', '.join(CONTROLS)}. "
        "Intervals are 95% Student-t over seeds; Δ columns are paired differences against the fault-free run of "
        "the same seed.",
        "",
    ]
    return "\n".join(header + lines)


def signed(value: float) -> str:
    """A whole number with its sign ('+0', never '-0')."""
    text = f"{value:+.0f}"
    return "+0" if text == "-0" else text


def _range(values: list[tuple[float, float]]) -> str:
    """'a to b' over the means of some intervals."""
    means = [mean for mean, _ in values]
    return f"{signed(min(means))} to {signed(max(means))}"


def reading(measured: dict[str, Any]) -> list[str]:
    """The report's reading, written from the measured values (templates, no hand-written numbers)."""
    top_share = CRASH_SHARES[-1]
    crash = {c: interval(measured["crash"][c, top_share]) for c in CONTROLS}
    worst, best = max(crash, key=lambda c: crash[c][0]), min(crash, key=lambda c: crash[c][0])
    lost, crashes = (sum(x) for x in zip(*measured["crash_lost"], strict=True)) if measured["crash_lost"] else (0, 0)
    truncated = measured["norec_truncated"]
    truncated_text = (
        "; ".join(
            f"{control} at {share:.0%}: {len(reasons)} ({', '.join(sorted(set(map(str, reasons))))})"
            for (control, share), reasons in sorted(truncated.items())
        )
        if truncated
        else "none"
    )
    central = {f: interval(measured["outage"]["centralized", f][0]) for f in OUTAGE_FRACTIONS[1:]}
    unchanged = [
        c
        for c in CONTROLS
        if c != "centralized"
        and all(max(map(abs, measured["outage"][c, f][0])) == 0 for f in (*OUTAGE_FRACTIONS[1:], "election"))
    ]
    changed = [c for c in CONTROLS if c != "centralized" and c not in unchanged]
    election = interval(measured["outage"]["centralized", "election"][0])
    per_ten = {
        c: interval([d / (BYZANTINE_FRACTIONS[-1] * 10) for d in measured["byz"][c, BYZANTINE_FRACTIONS[-1]][0]])
        for c in CONTROLS
    }
    byzantine_paid = sum(v[1] for v in measured["byz"].values())
    byzantine_truncated = sum(v[2] for v in measured["byz"].values())
    lines = [
        "## Reading (generated from the tables above)",
        "",
        f"* **Crashes.** With recovery, ΔET at {top_share:.0%} crashing agents ranges over "
        f"{_range(list(crash.values()))} ticks across the {len(CONTROLS)} protocols (largest: {worst}, "
        f"{signed(max(v[0] for v in crash.values()))}; smallest: {best}); the work "
        f"lost is {lost / max(crashes, 1):.0f} ticks per crash on average ({crashes} crashes). Episodes that lost a "
        f"whole group without recovery: {truncated_text}.",
        "* **Controller outage.** Centralized control: ΔET "
        + ", ".join(f"{signed(m)} ± {h:.0f} at {f:.0%}" for f, (m, h) in central.items())
        + f" of ET; an election after 5% of ET restores service at ΔET {signed(election[0])} ± {election[1]:.0f}. "
        f"Unchanged to the tick under every outage: {len(unchanged)} of the {len(CONTROLS) - 1} other protocols"
        + (f" (changed: {', '.join(changed)})" if changed else " (they have no controller that fails in this model)")
        + ".",
        f"* **Byzantine agents.** Reward returned to Byzantine agents over every run: {byzantine_paid:g}; episodes "
        f"not completed: {byzantine_truncated}. ΔET per 10% of Byzantine agents (from the "
        f"{BYZANTINE_FRACTIONS[-1]:.0%} rows) ranges over {_range(list(per_ten.values()))} ticks.",
        "* **Misreporting** (95% interval of the paired gain; 'pays' if above 0, 'loses' if below): "
        + "; ".join(
            f"{control}: "
            + ", ".join(
                f"x{factor:g} {verdict(measured['gain'][control, factor])} "
                f"({signed(interval(measured['gain'][control, factor])[0])})"
                for factor in LIAR_FACTORS
            )
            for control in TRUTHFUL_MECHANISMS
        )
        + ".",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="regenerate reports/faults.md")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="reports/faults.md")
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error("--seeds must be >= 2 (confidence intervals)")
    text = report(args.seeds, args.workers)
    with open(args.out, "w") as handle:
        handle.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

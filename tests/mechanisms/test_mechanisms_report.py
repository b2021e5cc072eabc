"""Smoke test of ``benchmarks/mechanisms_report.py``: its ``--tiny`` run writes every table with the expected columns
(mean ± 95% CI cells on the main tables and the scale sweeps, paired differences), the glossary table with a number
in each row (the fault report's rows cited), the Contract Net / double auction comparison and the figure; plus the
per-seed scale fit and the fault-report parser on hand-made input."""

from __future__ import annotations

import importlib.util
import re
import sys
import time
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
REPORT = BENCHMARKS / "mechanisms_report.py"
sys.path.insert(0, str(BENCHMARKS))  # the report's parts: benchmarks/mechanism_comparison/
from mechanism_comparison.design import POLICIES, TINY_SWEEPS, Scale  # noqa: E402
from mechanism_comparison.glossary import grouped  # noqa: E402
from mechanism_comparison.tables import scale_fit  # noqa: E402

# A fault report with the two tables' shapes (9 and 6 columns), as benchmarks/faults_report.py writes them.
FAULTS = """\
| control | crashing share | rate per tick | ET (recovery) | ΔET vs no crash | crashes | lost work ticks | episodes completed (no recovery) | tasks completed (no recovery) |
|---|---|---|---|---|---|---|---|---|
| centralized | 30% | 3.53e-04 | 1607.0 ± 164.3 | 106.2 ± 93.8 | 3.8 | 907 | 19/20 | 97.9% |
| contract-net | 10% | 1.04e-04 | 1572.2 ± 123.7 | 50.0 ± 52.5 | 1.1 | 231 | 20/20 | 100.0% |
| contract-net | 30% | 3.53e-04 | 1608.8 ± 183.3 | 86.5 ± 115.4 | 3.5 | 820 | 20/20 | 100.0% |

| control | outage (share of ET) | ET | ΔET vs no outage | completed | elections |
|---|---|---|---|---|---|
| centralized | 50% | 1918.1 ± 170.5 | 417.4 ± 109.1 | 20/20 | 0.0 |
| decentralized | 50% | 1503.3 ± 109.2 | 0.0 ± 0.0 | 20/20 | 0.0 |
| contract-net | 50% | 1522.3 ± 113.6 | 0.0 ± 0.0 | 20/20 | 0.0 |
"""  # noqa: E501  (table rows as the report has them)


def load_report():
    spec = importlib.util.spec_from_file_location("mechanisms_report", REPORT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report():
    return load_report()


@pytest.fixture(scope="module")
def tiny_run(report, tmp_path_factory):
    out = tmp_path_factory.mktemp("mechanisms")
    faults = out / "faults.md"
    faults.write_text(FAULTS, encoding="utf-8")
    start = time.perf_counter()
    report.main(
        [
            "--tiny",
            "--seeds", "2",
            "--scale-seeds", "2",
            "--maze-size", "4",
            "--workers", "1",
            "--runs", str(out / "runs"),
            "--out", str(out / "mechanisms.md"),
            "--faults", str(faults),
        ]
    )  # fmt: skip
    seconds = time.perf_counter() - start
    return (out / "mechanisms.md").read_text(encoding="utf-8"), out, seconds


def table_after(text: str, heading: str) -> list[list[str]]:
    """The rows (cells) of the first Markdown table after the line ``heading``."""
    lines = text.splitlines()
    at = lines.index(heading)
    rows = []
    for line in lines[at + 1 :]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows


CI = re.compile(r"^-?[\d,.]+ ± [\d,.]+$")
PAIRED = re.compile(r"^(—|[+-]\d+ \[[+-]\d+, [+-]\d+\]( \((lower|higher)\))?)$")


def test_the_main_tables_have_every_policy_with_intervals_and_paired_differences(tiny_run):
    text, _, _ = tiny_run
    for graph in ("LDS", "HDS"):
        heading = next(line for line in text.splitlines() if line.startswith(f"## {graph}, preset"))
        assert "4 agents in 2 groups, 16 tasks, 5x5 mazes" in heading, heading
        header, _, *rows = table_after(text, heading)
        assert header == [
            "policy",
            "allocation",
            "ET",
            "TWT",
            "messages",
            "fairness (Jain)",
            "makespan ratio",
            "ΔET vs ces-decentralized [95% CI]",
        ]
        assert [r[0] for r in rows] == list(POLICIES)
        for row in rows:
            assert all(CI.match(c) for c in row[2:7]), row
            assert PAIRED.match(row[7]), row
        assert dict((r[0], r[7]) for r in rows)["ces-decentralized"] == "—"


def test_each_scale_sweep_has_a_messages_and_an_et_table_with_intervals(tiny_run):
    text, _, _ = tiny_run
    for name, scales in TINY_SWEEPS.items():
        at = text.index(f"### Sweep: {name}")
        section = text[at:]
        labels = [s.label for s in scales]
        messages = table_after(section, "Messages per episode (tasks/agents/groups):")
        assert messages[0] == ["policy", *labels, "messages ~ agents^k: k [95% CI]"]
        ets = table_after(section, "ET (ticks):")
        assert ets[0] == [
            "policy",
            *labels,
            "ET last/first [95% CI]",
            f"ΔET vs ces-decentralized at {labels[-1]} [95% CI]",
        ]
        for table in (messages, ets):
            rows = table[2:]
            assert [r[0] for r in rows] == list(POLICIES)
            for row in rows:
                # a refusal (DPOP, VCG above their limits) is written as such, never as a number
                assert all(CI.match(c) or c == "refused" for c in row[1 : 1 + len(labels)]), row
        for row in ets[2:]:
            assert PAIRED.match(row[-1]) or row[-1] == "refused", row


def test_the_glossary_table_backs_every_row_with_a_number_and_cites_the_fault_report(tiny_run):
    text, _, _ = tiny_run
    intro = next(line for line in text.splitlines() if line.startswith("The glossary (`shared/seeds/"))
    header, _, *rows = table_after(text, intro)
    assert header[0] == "feature"
    features = [r[0] for r in rows]
    assert features == [
        "Scalability",
        "Communication overhead",
        "Optimality",
        "Single point of failure / fault tolerance",
        "Allocation overhead",
    ]
    for row in rows:
        assert re.search(r"\d", row[3]), row
    faults = rows[3][3]
    assert "417.4 ± 109.1 (centralized)" in faults  # the outage row at 50%
    assert "106.2 ± 93.8 (centralized)" in faults  # the crash rows at 30%, not at 10%
    assert "+86.5 (contract-net)" in faults and "+50.0" not in faults
    assert "intervals all overlap" in faults  # [12.4, 200.0] and [-28.9, 201.9]
    assert "Not in the fault report: auction-first-price" in faults
    assert "negotiation ticks" in rows[4][3] and "busy" in rows[4][3]


def test_the_reading_explains_the_contract_net_double_auction_equality_and_the_group_limit(tiny_run):
    text, out, seconds = tiny_run
    assert "Contract Net and the double auction allocate alike" in text
    assert re.search(r"on LDS every task starts at the same tick under both on \d+/2 seeds", text)
    assert "Counter-check with agents that differ" in text
    assert "The double auction trades only inside each group" in text
    assert "without recovery, centralized completed 19/20 episodes and every other control all of them" in text
    assert (out / "mechanisms_messages.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert seconds < 120  # CI budget (11-20 s measured on the shared, loaded dev machine)


def test_scale_fit_is_per_seed_and_paired():
    """messages = c_seed * agents^2 on every seed: k = 2 exactly whatever c; ET doubling: growth 2."""
    scales = [Scale(8, 2, 1), Scale(16, 4, 1), Scale(32, 8, 1)]

    def rows(agents: int) -> list[dict]:
        return [{"seed": seed, "messages": (seed + 1) * agents**2, "ET": 10 * agents} for seed in range(3)]

    by_scale = {s: {"p": rows(s.agents)} for s in scales}
    fit = scale_fit(by_scale, "p")
    assert fit.points == 3
    assert fit.k_per_seed == pytest.approx([2.0, 2.0, 2.0])
    assert fit.growth_per_seed == pytest.approx([4.0, 4.0, 4.0])
    by_scale[scales[2]]["p"] = "refused"
    assert scale_fit(by_scale, "p").points == 2
    by_scale[scales[1]]["p"] = "refused"
    assert scale_fit(by_scale, "p").k_per_seed.size == 0  # one point: no slope


def test_controls_with_the_same_value_are_listed_together():
    assert grouped({"a": "0", "b": "1", "c": "0"}) == "0 (a, c); 1 (b)"

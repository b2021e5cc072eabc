"""A smoke run of ``ces-bench reproduce`` on the smoke scale: every experiment plans, runs, is analysed and reported."""

from pathlib import Path

import pytest

from ces_baselines.reproduce.experiments import EXPERIMENTS
from ces_baselines.reproduce.figures import crossover
from ces_baselines.reproduce.report import reproduce
from ces_baselines.reproduce.scenario import SMOKE
from ces_baselines.reproduce.stats import compare


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reproduce")
    return reproduce(out, SMOKE, "smoke", workers=1, progress=False)


def test_report_has_every_experiment_a_verdict_and_its_plots(report):
    text = report.read_text()
    for experiment in EXPERIMENTS:
        assert f"## {experiment.title}" in text
    # one verdict row per claim, each saying holds / does not hold
    verdict_rows = [
        line
        for line in text.split("## Verdicts")[1].split("\n## ")[0].splitlines()
        if line.startswith("| ") and not line.startswith("| experiment")
    ]
    assert len(verdict_rows) >= len(EXPERIMENTS)
    assert all(row.rstrip(" |").endswith(("holds", "**does not hold**")) for row in verdict_rows)
    for plot in (
        "table1.png",
        "table2.png",
        "figure2.png",
        "figure3.png",
        "speed.png",
        "theorem33.png",
        "theorem35.png",
        "sensitivity.png",
    ):
        assert (report.parent / plot).stat().st_size > 1000
        assert f"({plot})" in text
    # the lower-bound view: every table of episodes shows makespan over the lower bound
    for title in ("Table 1", "Table 2", "Table 3", "Table 4", "Figure 2", "Speed", "Theorem 3.3", "Theorem 3.5"):
        section = text.split(f"## {title}")[1].split("\n## ")[0]
        assert "makespan/LB" in section, title
    # the paper's published numbers sit beside ours
    assert "2458.30" in text and "409.46" in text and "132.39" in text and "631.67" in text


def test_a_second_run_resumes_without_recomputing(report):
    rows_dir = report.parent / "runs" / "rows"
    before = {p.name: p.stat().st_mtime_ns for p in rows_dir.iterdir()}
    reproduce(report.parent, SMOKE, "smoke", workers=1, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in rows_dir.iterdir()}
    assert before == after


def test_the_verdict_statistics():
    from ces_baselines.reproduce.stats import less_verdict

    assert compare([1, 2, 3], [10, 11, 12]).high < 0
    # paired: a consistent small difference under large seed-to-seed spread is significant ...
    a, b = [100.0, 200.0, 300.0, 400.0], [101.0, 201.5, 300.8, 401.2]
    paired = compare(a, b)
    assert paired.high < 0
    # ... unpaired it is not
    unpaired = compare(a, b, paired=False)
    assert unpaired.low < 0 < unpaired.high
    assert less_verdict(a, b, "x")[0] and not less_verdict(b, a, "x")[0]
    assert "opposite" in less_verdict(b, a, "x")[1]
    assert less_verdict([1.0], [2.0], "x") == (
        False,
        "cannot be decided: x needs at least two seeds for a confidence interval",
    )
    counts = [10, 20, 30]
    cent = [[1, 1.1, 0.9], [5, 5.1, 4.9], [9, 9.1, 8.9]]
    dec = [[3, 3.1, 2.9], [5, 5.2, 4.8], [4, 4.1, 3.9]]
    assert crossover(counts, cent, dec) == (10, 30)


def test_cli_reproduce_rejects_unknown_experiments(capsys):
    from ces_baselines.reproduce.report import main

    with pytest.raises(SystemExit):
        main(["--out", "x", "--only", "table9"])
    assert "table9" in capsys.readouterr().err

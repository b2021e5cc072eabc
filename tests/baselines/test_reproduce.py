"""A smoke run of ``ces-bench reproduce`` on the smoke scale: every experiment plans, runs, is analysed and reported."""

import dataclasses
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


def test_reproduce_paper_profile_side_by_side_smoke(tmp_path):
    """`reproduce --scale smoke --profile default,paper --set ...`: one report per profile and the side-by-side one,
    with the shape ratios beside the paper's and a verdict and cause per claim; the --set reaches every job."""
    import json

    from ces_baselines.reproduce.report import main

    only = "table1,table3,sensitivity"
    code = main(
        ["--scale", "smoke", "--out", str(tmp_path), "--workers", "1", "--only", only, "--profile", "default,paper"]
        + ["--set", "speed_spread=0.1"]
    )
    assert code == 0
    text = (tmp_path / "profiles.md").read_text()
    assert "| Table 1: ET(1 group) / ET(10 groups) | 6 |" in text
    assert "| Table 3: TWT(g) decentralized / centralized | 0.479 |" in text
    assert "| Table 1 (10 groups): waiting / agent-time | not given |" in text  # ours only, beside Table 3's
    for profile in ("default", "paper"):
        summary = json.loads((tmp_path / profile / "summary.json").read_text())
        assert summary["profile"] == profile and summary["sets"] == {"speed_spread": 0.1}
        assert all(value is not None for key, value in summary["shapes"].items() if "Table 2" not in key)
        assert "Cost profile `" + profile in (tmp_path / profile / "reproduction.md").read_text()
    paper_rows = (tmp_path / "paper" / "runs" / "results.csv").read_text()
    assert "exploration" in paper_rows and "0.1" in paper_rows
    assert "fails under every profile run" in text or "holds under every profile" in text


def test_paper_profile_arithmetic():
    from ces_baselines.reproduce.scenario import PAPER_PROFILE, PROFILES

    assert PROFILES["default"] == {}
    service = PAPER_PROFILE["assign_service_ticks"] + PAPER_PROFILE["validate_service_ticks"]
    assert service == pytest.approx(496 / 500 / 2 / 37, rel=1e-3)  # half of Table 2's controller budget
    claim = PAPER_PROFILE["claim_latency_ticks"] + PAPER_PROFILE["peer_validate_ticks"]
    assert claim / service == pytest.approx(0.83 / 1.74, rel=0.01)  # Table 3's waiting per task
    assert 10 * (1 - 0.9 ** PAPER_PROFILE["tasks_per_class"]) == pytest.approx(1.5, abs=0.5)  # Table 1's 1.5x
    assert PAPER_PROFILE["graph_layers"] == round(409.46 / 37)  # Table 1 at 10 groups: 11 task-times deep at most


def test_paper_depth_reaches_the_layered_experiments_only():
    """The profile's graph_layers goes to every job on a layered family (a 500-task Table 1 job gets an 11-deep
    graph); the fixed graphs keep their own depth; a smoke graph is capped at its task count; Theorem 3.3 turns its
    dependency degree into a density over the profile's layer width."""
    from ces_baselines.reproduce.scenario import FULL, SMOKE, make_job
    from ces_baselines.reproduce.theorems import THEOREM33_TASKS, plan_theorem33

    paper, default = dataclasses.replace(FULL, profile="paper"), FULL
    table1 = make_job(paper, "ces-centralized", 0, n_groups=10, n_agents=50, n_tasks=500).config()
    assert table1.graph == "lds" and table1.graph_layers == 11
    assert make_job(default, "ces-centralized", 0, n_tasks=500).config().graph_layers is None
    assert make_job(paper, "ces-centralized", 0, n_tasks=90, graph="g18").config().graph_layers is None
    smoke = dataclasses.replace(SMOKE, profile="paper")
    assert make_job(smoke, "ces-centralized", 0, n_tasks=6).config().graph_layers == 6
    degree = max(paper.theorem33_degrees)
    density = plan_theorem33(paper)[str(degree)][0].config().graph_density
    assert density == pytest.approx(min(1.0, degree / (THEOREM33_TASKS / 11)))
    assert plan_theorem33(default)[str(degree)][0].config().graph_density == pytest.approx(degree / 14)


def test_cli_reproduce_rejects_unknown_profiles_and_sets(capsys):
    from ces_baselines.reproduce.report import main

    with pytest.raises(SystemExit):
        main(["--out", "x", "--profile", "tuned"])
    assert "tuned" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--out", "x", "--set", "no_such_field=1"])
    assert "no_such_field" in capsys.readouterr().err


def test_the_profiles_report_names_the_settings_where_the_given_profiles_differ():
    from ces_baselines.reproduce.profiles import _differences
    from ces_baselines.reproduce.scenario import PROFILES

    assert _differences(["default"]) == "none"  # one profile differs from nothing
    named = _differences(["default", "paper"]).split(", ")
    assert named == sorted(k for k in PROFILES["paper"] if PROFILES["paper"][k] != PROFILES["default"].get(k))

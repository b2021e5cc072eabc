"""The ces-bench harness: jobs and keys, rows and results.csv, resume, atomic writes, the CLI, workers and Ray.

Tiny configs only (preset "tiny", 2-3 seeds). The test policies below are registered here, so that these tests do not
depend on the behaviour of the scripted baselines.
"""

from __future__ import annotations

import csv
import json
import sys

import pytest

from ces_baselines.harness import Job, make_jobs, read_results, run_job, run_jobs, summary_table, write_results
from ces_baselines.harness import results as results_module
from ces_baselines.harness import runner as runner_module
from ces_baselines.harness.cli import main
from ces_baselines.registry import POLICIES, register
from ces_env.config import FIELD_NAMES, PRESETS, ConfigError
from ces_env.core.metrics import METRIC_KEYS
from ces_env.policies import Policy, deciding_agents
from ces_env.summary import mean_ci


class SlotOne(Policy):
    """Every deciding agent takes slot 1. Counts its episodes (in this process) and can stop a run on a seed."""

    name = "test-slot1"
    description = "test only: always slot 1"
    episodes = 0  # episodes started in this process
    interrupt_on_seed: int | None = None
    on_reset = None  # a callable run at every reset (in this process)

    def reset(self, env, seed: int) -> None:
        super().reset(env, seed)
        SlotOne.episodes += 1
        if SlotOne.on_reset is not None:
            SlotOne.on_reset()
        if seed == SlotOne.interrupt_on_seed:
            raise KeyboardInterrupt

    def act(self, observations, infos):
        actions = {agent: 0 for agent in observations}
        for agent in deciding_agents(observations):
            if observations[agent]["action_mask"][1]:
                actions[agent] = 1
        return actions


class SlotOneDecentralized(SlotOne):
    name = "test-slot1-dec"
    description = "test only: always slot 1, decentralized control"
    required_config = {"control": "decentralized"}


for _cls in (SlotOne, SlotOneDecentralized):
    if _cls.name not in POLICIES:
        register(_cls)

POLICY_NAMES = ("test-slot1", "test-slot1-dec")
RUN_KEYS = (
    "policy",
    "preset",
    "seed",
    "explorations",
    "replays",
    "rejected_solutions",
    "env_steps",
    "wall_seconds",
    "truncated",
    "job_key",
)


@pytest.fixture(autouse=True)
def _reset_test_policy():
    SlotOne.episodes = 0
    SlotOne.interrupt_on_seed = None
    SlotOne.on_reset = None
    yield
    SlotOne.interrupt_on_seed = None
    SlotOne.on_reset = None


def without_wall(rows):
    return [{k: v for k, v in row.items() if k != "wall_seconds"} for row in rows]


def tiny_jobs(seeds=3, policies=POLICY_NAMES, **overrides):
    return make_jobs(policies, "tiny", range(seeds), overrides)


@pytest.fixture(scope="module")
def fresh_rows():
    """A fresh in-process run of every test policy on seeds 0..2 (the reference rows)."""
    return run_jobs(tiny_jobs(), workers=1, progress=False)


# --- jobs -------------------------------------------------------------------------------------------------------------


def test_job_config_applies_required_config_and_the_key_is_stable():
    job = Job("test-slot1-dec", "tiny", {"reward_range": [2, 5]}, 1)
    assert job.overrides == (("reward_range", (2, 5)),) and hash(job) == hash(
        Job("test-slot1-dec", "tiny", (("reward_range", (2, 5)),), 1)
    )
    config = job.config()
    assert config.control == "decentralized" and config.n_tasks == PRESETS["tiny"]["n_tasks"]
    assert config.reward_range == (2, 5)
    assert job.key() == Job("test-slot1-dec", "tiny", {"reward_range": (2, 5)}, 1).key()
    # the key depends on the resolved config, not on how it was spelled
    assert Job("test-slot1", "tiny", {}, 0).key() == Job("test-slot1", "tiny", {"n_tasks": 12}, 0).key()
    assert Job("test-slot1", None, dict(PRESETS["tiny"]), 0).key() == Job("test-slot1", "tiny", {}, 0).key()
    assert (
        Job("test-slot1", "tiny", {"reward_range": [1, 10], "agent_speed": 1}, 0).key()
        == Job("test-slot1", "tiny", {}, 0).key()
    )  # 1 == 1.0
    keys = {
        Job("test-slot1", "tiny", {}, 0).key(),
        Job("test-slot1", "tiny", {}, 1).key(),
        Job("test-slot1-dec", "tiny", {}, 0).key(),
        Job("test-slot1", "tiny", {"n_tasks": 13}, 0).key(),
    }
    assert len(keys) == 4
    # an override equal to the policy's requirement is fine; a contradicting one is a one-line ConfigError
    assert Job("test-slot1-dec", "tiny", {"control": "decentralized"}, 0).config().control == "decentralized"
    with pytest.raises(ConfigError) as err:
        Job("test-slot1-dec", "tiny", {"control": "centralized"}, 0).config()
    message = str(err.value)
    assert "\n" not in message and "test-slot1-dec" in message and "control" in message
    with pytest.raises(ValueError, match="seed"):
        Job("test-slot1", "tiny", {}, -1)
    with pytest.raises(ValueError, match="unknown policy 'nope'"):
        Job("nope", "tiny", {}, 0).config()


def test_a_row_has_every_config_field_and_metric_key_as_plain_values():
    job = Job("test-slot1", "tiny", {"group_speeds": [1.0, 2.0]}, 2)
    row = run_job(job)
    assert list(row)[:3] == ["policy", "preset", "seed"]
    for key in FIELD_NAMES + METRIC_KEYS + RUN_KEYS:
        assert key in row, key
    assert set(row) == set(FIELD_NAMES) | set(METRIC_KEYS) | set(RUN_KEYS)
    assert (row["policy"], row["preset"], row["seed"], row["job_key"]) == ("test-slot1", "tiny", 2, job.key())
    assert row["group_speeds"] == [1.0, 2.0] and row["reward_range"] == [1.0, 10.0]
    assert isinstance(row["ET_g"], list) and len(row["ET_g"]) == row["n_groups"]
    assert row["truncated"] is False and row["env_steps"] > 0 and row["wall_seconds"] > 0
    assert json.loads(json.dumps(row)) == row  # plain Python values only
    assert row["mu_g"] == row["lambda_g"]  # every task done
    assert without_wall([run_job(job)]) == without_wall([row])  # deterministic


# --- results.csv ------------------------------------------------------------------------------------------------------


def test_results_csv_has_a_column_per_field_and_metric_and_round_trips(tmp_path, fresh_rows):
    rows = [dict(r) for r in fresh_rows]
    rows[0] = {**rows[0], "preset": None, "graph_density": 0.25, "maze_size": [6, 8], "graph": '/tmp/a,b "c".edges'}
    path = write_results(rows, tmp_path / "results.csv")
    with open(path, newline="") as f:
        header = next(csv.reader(f))
    assert header[:3] == ["policy", "preset", "seed"]
    assert header[3 : 3 + len(FIELD_NAMES)] == list(FIELD_NAMES)
    for key in METRIC_KEYS + RUN_KEYS:
        assert key in header
    back = read_results(path)
    assert back == rows  # lists (ET_g, reward_range, maze_size), None, bools, floats and odd strings all come back
    with open(path, newline="") as f:
        raw = next(csv.DictReader(f))
    assert json.loads(raw["ET_g"]) == rows[0]["ET_g"] and json.loads(raw["reward_range"]) == [1.0, 10.0]
    assert raw["truncated"] == "false" and raw["preset"] == ""


def test_summary_table_is_mean_and_student_t_ci_and_always_has_makespan_ratio(fresh_rows):
    table = summary_table(fresh_rows, metrics=("ET", "messages"))
    lines = table.splitlines()
    assert [c.strip() for c in lines[0].split("|")[1:-1]] == ["policy", "seeds", "ET", "messages", "makespan_ratio"]
    assert set(lines[1]) <= set("|-:") and len(lines) == 2 + len(POLICY_NAMES)
    ets = [r["ET"] for r in fresh_rows if r["policy"] == "test-slot1"]
    mean, half = mean_ci(ets)
    cells = [c.strip() for c in lines[2].split("|")[1:-1]]
    assert cells[0] == "test-slot1" and cells[1] == "3"
    shown_mean, shown_half = (float(v) for v in cells[2].split(" ± "))
    assert shown_mean == pytest.approx(mean, abs=0.5 * 10 ** -len(cells[2].split(" ± ")[0].partition(".")[2]))
    assert shown_half == pytest.approx(half, rel=0.05)
    default = summary_table(fresh_rows)
    for metric in (
        "ET",
        "TWT",
        "total_reward",
        "messages",
        "conflicts",
        "controller_utilization",
        "fairness_jain",
        "makespan_ratio",
    ):
        assert metric in default.splitlines()[0]
    with pytest.raises(ValueError, match="scalar"):
        summary_table(fresh_rows, metrics=("ET_g",))


# --- running many jobs ------------------------------------------------------------------------------------------------


def test_every_policy_runs_on_the_same_seeds_in_job_order(fresh_rows):
    assert [(r["policy"], r["seed"]) for r in fresh_rows] == [(p, s) for p in POLICY_NAMES for s in range(3)]
    assert [r["control"] for r in fresh_rows] == ["centralized"] * 3 + ["decentralized"] * 3
    jobs = make_jobs(POLICY_NAMES, "tiny", range(5, 7))
    assert [(j.policy, j.seed) for j in jobs] == [(p, s) for p in POLICY_NAMES for s in (5, 6)]


def test_one_worker_and_two_workers_give_the_same_rows(fresh_rows):
    two = run_jobs(tiny_jobs(), workers=2, progress=False)
    assert without_wall(two) == without_wall(fresh_rows)


def test_resume_recomputes_nothing_that_is_finished(tmp_path, fresh_rows):
    jobs = tiny_jobs()
    out = tmp_path / "out"
    first = run_jobs(jobs[:3], workers=1, out_dir=out, progress=False)  # half the jobs, as if interrupted
    assert SlotOne.episodes == 3 and without_wall(first) == without_wall(fresh_rows[:3])
    assert without_wall(read_results(out / "results.csv")) == without_wall(fresh_rows[:3])
    files = {job.key(): out / "rows" / f"{job.key()}.json" for job in jobs}
    mtimes = {k: p.stat().st_mtime_ns for k, p in files.items() if p.exists()}
    assert len(mtimes) == 3

    SlotOne.episodes = 0
    rows = run_jobs(jobs, workers=1, out_dir=out, progress=False)
    assert SlotOne.episodes == 3  # only the three missing jobs ran
    for key, mtime in mtimes.items():
        assert files[key].stat().st_mtime_ns == mtime  # finished rows were not rewritten
    assert without_wall(rows) == without_wall(fresh_rows)
    assert rows[:3] == first  # the resumed rows are the stored ones, wall time included

    files[jobs[4].key()].unlink()  # a lost row is recomputed, and only that one
    SlotOne.episodes = 0
    again = run_jobs(jobs, workers=1, out_dir=out, progress=False)
    assert SlotOne.episodes == 1
    assert files[jobs[4].key()].exists()
    assert without_wall(again) == without_wall(fresh_rows)

    fresh_out = tmp_path / "fresh"
    run_jobs(jobs, workers=2, out_dir=fresh_out, progress=False)
    assert without_wall(read_results(out / "results.csv")) == without_wall(read_results(fresh_out / "results.csv"))
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


def test_an_interrupted_run_keeps_a_parseable_csv_and_resumes(tmp_path, fresh_rows, monkeypatch):
    jobs = tiny_jobs()
    out = tmp_path / "out"
    monkeypatch.setattr(runner_module, "CSV_REWRITE_SECONDS", 0.0)  # rewrite results.csv after every row
    seen = []

    def check_csv():  # at the start of every episode, the CSV on disk parses and holds every finished row
        path = out / "results.csv"
        seen.append(len(read_results(path)) if path.exists() else 0)

    SlotOne.on_reset = check_csv
    SlotOne.interrupt_on_seed = 1
    with pytest.raises(KeyboardInterrupt):
        run_jobs(jobs, workers=1, out_dir=out, progress=False)
    assert seen == [0, 1]  # job 0 finished and was written; job 1 was interrupted
    assert without_wall(read_results(out / "results.csv")) == without_wall(fresh_rows[:1])
    assert len(list((out / "rows").glob("*.json"))) == 1
    assert not list(out.rglob("*.tmp"))

    SlotOne.interrupt_on_seed = None
    SlotOne.episodes = 0
    seen.clear()
    rows = run_jobs(jobs, workers=1, out_dir=out, progress=False)
    assert SlotOne.episodes == 5 and seen == [1, 2, 3, 4, 5]
    assert without_wall(rows) == without_wall(fresh_rows)
    assert without_wall(read_results(out / "results.csv")) == without_wall(fresh_rows)


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path, fresh_rows, monkeypatch):
    path = write_results(fresh_rows[:2], tmp_path / "results.csv")
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(results_module.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_results(fresh_rows, path)
    assert path.read_bytes() == before and len(read_results(path)) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]  # no temp file left behind


def test_identical_jobs_run_once_and_bad_arguments_fail_early(tmp_path):
    job = Job("test-slot1", "tiny", {}, 0)
    rows = run_jobs([job, Job("test-slot1", "tiny", {"n_tasks": 12}, 0)], workers=1, progress=False)
    assert SlotOne.episodes == 1 and rows[0] == rows[1]
    with pytest.raises(ValueError, match="backend"):
        run_jobs([job], backend="mpi")
    with pytest.raises(ConfigError):  # validated before anything runs
        run_jobs([job, Job("test-slot1", "tiny", {"n_agents": 0}, 0)], workers=1, out_dir=tmp_path)
    assert SlotOne.episodes == 1 and not (tmp_path / "rows").exists()


def test_the_ray_backend_without_ray_says_how_to_install_it(monkeypatch):
    from ces_baselines.harness import BackendUnavailableError

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(BackendUnavailableError, match=r"pip install -c constraints.txt '\.\[ray\]'"):
        run_jobs([Job("test-slot1", "tiny", {}, 0)], backend="ray", progress=False)


# --- the command line -------------------------------------------------------------------------------------------------


def test_cli_run_writes_results_and_prints_the_table(tmp_path, capsys, fresh_rows):
    out = tmp_path / "bench"
    code = main(
        [
            "run",
            "--policy",
            ",".join(POLICY_NAMES),
            "--preset",
            "tiny",
            "--seeds",
            "2",
            "--seed-offset",
            "1",
            "--out",
            str(out),
            "--workers",
            "1",
            "--set",
            "reward_range=[1.0, 10.0]",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = read_results(out / "results.csv")
    assert [(r["policy"], r["seed"]) for r in rows] == [(p, s) for p in POLICY_NAMES for s in (1, 2)]
    expected = [r for r in fresh_rows if r["seed"] in (1, 2)]
    assert without_wall(rows) == without_wall(expected)
    header = next(line for line in captured.out.splitlines() if line.startswith("| policy"))
    for metric in (
        "ET",
        "TWT",
        "total_reward",
        "messages",
        "conflicts",
        "controller_utilization",
        "fairness_jain",
        "makespan_ratio",
    ):
        assert f" {metric} " in header
    for name in POLICY_NAMES:
        assert f"| {name} " in captured.out
    assert "results.csv" in captured.out


def test_cli_list_shows_policies_with_requirements_and_presets(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    policy_part, _, preset_part = out.partition("presets:")
    assert policy_part.startswith("policies:")
    line = next(line for line in policy_part.splitlines() if line.strip().startswith("test-slot1-dec"))
    assert "always slot 1, decentralized" in line and "control='decentralized'" in line
    for name, overrides in PRESETS.items():
        line = next(line for line in preset_part.splitlines() if line.strip().startswith(name + " "))
        for key, value in overrides.items():
            assert f"{key}={value!r}" in line


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["run", "--policy", "nope", "--preset", "tiny", "--seeds", "2"], "unknown policy 'nope'"),
        (["run", "--policy", "test-slot1", "--preset", "huge", "--seeds", "2"], "unknown preset 'huge'"),
        (["run", "--policy", "test-slot1", "--preset", "tiny", "--seeds", "2", "--set", "n_agents"], "field=value"),
        (["run", "--policy", "test-slot1", "--preset", "tiny", "--seeds", "2", "--set", "colour=red"], "'colour'"),
        (["run", "--policy", "test-slot1", "--preset", "tiny", "--seeds", "2", "--set", "n_agents=0"], "n_agents"),
        (["run", "--policy", "test-slot1", "--preset", "tiny", "--seeds", "2", "--set", "n_groups=x"], "n_groups"),
        (["run", "--policy", "test-slot1", "--preset", "tiny", "--seeds", "0"], "--seeds must be >= 1"),
        (["run", "--policy", "test-slot1", "--preset", "tiny", "--seeds", "two"], "--seeds"),
        (["run", "--policy", "test-slot1", "--preset", "tiny", "--seeds", "2", "--workers", "0"], "--workers"),
        (["run", "--policy", "test-slot1", "--preset", "tiny", "--seeds", "2", "--backend", "mpi"], "--backend"),
        (
            ["run", "--policy", "test-slot1-dec", "--preset", "tiny", "--seeds", "2", "--set", "control=centralized"],
            "requires control='decentralized'",
        ),
        (["run", "--policy", "test-slot1", "--preset", "tiny", "--seeds", "2", "--bogus"], "--bogus"),
        (["run", "--policy", "test-slot1", "--preset", "tiny", "--seeds", "2", "--out", None], "--out"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_cli_errors_are_one_line_without_traceback(argv, needle, tmp_path, capsys):
    if argv and argv[-1] is None:
        argv = argv[:-2]  # --out missing
    elif argv and argv[0] == "run":
        argv = argv + ["--out", str(tmp_path / "out")]
    code = main(argv)
    captured = capsys.readouterr()
    assert code != 0
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ces-bench: error: "), captured.err
    assert needle in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "out").exists()  # nothing ran


# --- Ray --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_the_ray_backend_gives_the_same_rows_as_the_local_one(local_ray, tmp_path, fresh_rows):
    jobs = tiny_jobs()
    rows = run_jobs(jobs[:2], backend="ray", out_dir=tmp_path, progress=False)  # resume works the same on Ray
    rows = run_jobs(jobs, backend="ray", workers=2, out_dir=tmp_path, progress=False)
    assert local_ray.is_initialized()
    assert [r["job_key"] for r in rows] == [j.key() for j in jobs]
    assert without_wall(rows) == without_wall(fresh_rows)
    assert without_wall(read_results(tmp_path / "results.csv")) == without_wall(fresh_rows)

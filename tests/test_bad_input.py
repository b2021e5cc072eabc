"""Bad input, as a new user gives it (issue 13): values beyond what the machine can hold fail at once naming the
field and the limit; misuses of the API are refused naming the agent and the legal actions (or the missing reset);
what a user naturally passes (numpy scalars, a Path, a config dict) is accepted; the CLI refuses unusable output
folders and oversized sweeps before any episode; pool workers do not outlive a killed ces-bench."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ces_env
from ces_baselines import registry
from ces_baselines.harness.cli import main as ces_bench
from ces_env.config import ConfigError, make_config


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (dict(n_tasks=10**7), "n_tasks"),
        (dict(n_agents=10**6), "n_agents"),
        (dict(maze_size=100_000), "maze_size"),
        (dict(view_radius=10**5, exploration_mode="steered"), "view_radius"),
        (dict(n_candidates=10**7), "n_candidates"),
        (dict(agent_speed=1e-300), "agent_speed"),
        (dict(assign_service_ticks=3 * 10**18), "assign_service_ticks"),
        (dict(wait_ticks=9 * 10**18), "wait_ticks"),
        (dict(reward_range=(1e308, 1.7e308)), "reward_range"),
        (dict(max_ticks=2**63), "max_ticks"),
    ],
)
def test_values_beyond_the_machine_fail_at_once_naming_the_field(overrides, field):
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=f"config field '{field}'"):
        make_config("small", **overrides)
    assert time.perf_counter() - start < 1.0  # a check, not an attempt (generous: CI machines are shared)


def test_user_friendly_types_are_accepted(tmp_path):
    graph = tmp_path / "chain.edgelist"
    graph.write_text("0 1\n1 2\n")
    config = make_config(n_agents=np.int64(4), agent_speed=np.float32(2.0), graph=graph)
    assert config.n_agents == 4 and type(config.n_agents) is int
    assert config.graph == str(graph) and config.n_tasks == 3
    env = ces_env.parallel_env(config={"n_agents": 4, "n_groups": 2, "n_tasks": 6, "maze_size": 5})
    env.reset(seed=0)
    assert env.unwrapped.config.n_tasks == 6


def test_using_the_env_before_reset_is_refused():
    env = ces_env.parallel_env(preset="tiny")
    for call in (lambda: env.step({}), env.state, env.metrics):
        with pytest.raises(RuntimeError, match="reset"):
            call()


@pytest.mark.parametrize("action", [1.7, 0.9999, "1", True, float("nan"), float("inf"), np.array([1, 2]), None])
def test_non_integer_actions_are_refused_naming_the_agent(action):
    env = ces_env.parallel_env(preset="tiny", strict_actions=True)
    observations, _ = env.reset(seed=0)
    agent = next(a for a in env.agents if observations[a]["action_mask"][1:].any())
    actions = {a: 0 for a in env.agents}
    actions[agent] = action
    if action is None:  # None means "no action": the agent waits
        env.step(actions)
        return
    with pytest.raises(TypeError, match=rf"{agent}: action .* not an integer action id .*legal actions: \[0, 1"):
        env.step(actions)


def test_numpy_integer_actions_are_accepted():
    env = ces_env.parallel_env(preset="tiny", strict_actions=True)
    observations, _ = env.reset(seed=0)
    actions = {a: np.int64(1) if observations[a]["action_mask"][1] else np.int64(0) for a in env.agents}
    env.step(actions)  # no error


def test_writing_into_a_returned_mask_does_not_change_the_env():
    env = ces_env.parallel_env(preset="tiny", strict_actions=True)
    observations, _ = env.reset(seed=0)
    agent = next(a for a in env.agents if not observations[a]["action_mask"][1:].any())
    observations[agent]["action_mask"][:] = 1  # a user's bug: it must not make action 1 legal for the env
    with pytest.raises(ValueError, match="masked out"):
        env.step({**{a: 0 for a in env.agents}, agent: 1})


@pytest.mark.parametrize(
    ("out", "message"),
    [("", "give a folder name"), ("FILE", "is a file, not a folder")],
)
def test_unusable_output_folders_are_refused_before_any_episode(tmp_path, capsys, out, message):
    if out == "FILE":
        out = str(tmp_path / "a_file")
        Path(out).write_text("x")
    code = ces_bench(["run", "--policy", "random", "--preset", "tiny", "--seeds", "2", "--out", out])
    assert code == 2 and message in capsys.readouterr().err


def test_an_oversized_sweep_is_refused_before_anything_is_built(tmp_path, capsys):
    start = time.perf_counter()
    code = ces_bench(["run", "--policy", "random", "--preset", "tiny", "--seeds", "100000000", "--out", str(tmp_path)])
    assert code == 2 and "at most 1,000,000" in capsys.readouterr().err
    assert time.perf_counter() - start < 5.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and kill -9")
def test_pool_workers_exit_when_ces_bench_is_killed(tmp_path):
    args = ["run", "--policy", "random", "--preset", "small", "--seeds", "500", "--workers", "2", "--no-progress"]
    parent = subprocess.Popen(
        [sys.executable, "-m", "ces_baselines.harness.cli", *args, "--out", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(children) < 2:
        time.sleep(0.5)
        children = [int(p) for p in Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()]
    assert len(children) >= 2, "the pool did not start"
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{c}").exists() for c in children):
        time.sleep(0.2)  # orphans are reaped by init once they exit; a zombie left meanwhile has no cmdline
    alive = [c for c in children if Path(f"/proc/{c}/cmdline").exists() and Path(f"/proc/{c}/cmdline").read_bytes()]
    assert not alive, f"workers {alive} outlived their parent"


GRAPHML = """<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <graph id="G" edgedefault="directed">
    <node id="a"/><node id="b"/><node id="c"/>
    <edge source="a" target="b"/>
    <edge source="b" target="c"/>
{extra}
  </graph>
{second}
</graphml>
"""


@pytest.mark.parametrize(
    ("extra", "second", "message"),
    [
        ('    <edge source="a" target="b"/>', "", r"g\.graphml:7: duplicate edge a -> b"),
        ("", '  <graph id="H" edgedefault="directed"><node id="x"/></graph>', "2 <graph> elements"),
        ('    <node id="b"/>', "", r"g\.graphml:7: duplicate node id 'b' \(first on line 4\)"),
    ],
)
def test_graphml_that_networkx_would_silently_merge_is_refused(tmp_path, extra, second, message):
    path = tmp_path / "g.graphml"
    path.write_text(GRAPHML.format(extra=extra, second=second))
    with pytest.raises(ConfigError, match=message):
        make_config(graph=str(path))


def test_graph_paths_that_are_not_files_say_what_they_are(tmp_path):
    os.mkfifo(tmp_path / "fifo.edgelist")
    (tmp_path / "link.edgelist").symlink_to(tmp_path / "gone.edgelist")
    for name, message in (("", "is a directory"), ("fifo.edgelist", "not a regular file"), ("link.edgelist", "link")):
        with pytest.raises(ConfigError, match=message):
            make_config(graph=str(tmp_path / name) + ("/" if not name else ""))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (os.mkfifo, "not a regular file"),
        (os.mkdir, "is a directory"),
        (lambda path: os.symlink("gone.edgelist", path), "symbolic link to a missing file"),
    ],
    ids=["fifo", "directory", "dangling-link"],
)
def test_a_bare_name_in_the_current_folder_is_reported_as_the_path_it_is(tmp_path, monkeypatch, make, message):
    """``graph="x.edgelist"`` (no separator) that is not a file: said as what it is, not as an unknown family."""
    monkeypatch.chdir(tmp_path)
    make("x.edgelist")
    with pytest.raises(ConfigError, match=f"config field 'graph': graph file 'x.edgelist' .*{message}"):
        make_config(graph="x.edgelist")


def test_a_bare_name_that_exists_nowhere_is_an_unknown_graph_source(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="unknown graph source 'x.edgelist'"):
        make_config(graph="x.edgelist")


# --- the command lines: help, refusals and failures (issue 13, audit) -----------------------------------------------


def test_the_help_shows_that_reproduce_needs_an_output_folder(capsys):
    assert ces_bench(["--help"]) == 0
    text = capsys.readouterr().out
    assert "ces-bench reproduce --out DIR [--quick]" in text and "[--out DIR]" not in text
    assert ces_bench(["reproduce", "--help"]) == 0  # reproduce's own help, through ces-bench
    assert "output folder (required; resumable)" in " ".join(capsys.readouterr().out.split())


def test_the_run_help_shows_its_required_flags_without_brackets(capsys):
    assert ces_bench(["run", "--help"]) == 0
    usage = " ".join(capsys.readouterr().out.split("options:")[0].split())
    for flag in ("--policy NAME[,NAME...]", "--seeds N", "--out DIR"):
        assert flag in usage and f"[{flag}" not in usage


def test_a_read_only_output_folder_is_refused_before_any_episode(tmp_path, capsys, monkeypatch):
    """Root ignores permission bits, so the probe file's write is made to fail as it would for a user; without root
    the real chmod 0o500 is tried as well."""
    import ces_baselines.harness.cli as cli

    def no_episode(*args, **kwargs):
        raise AssertionError("an episode ran")

    monkeypatch.setattr(cli, "run_jobs", no_episode)
    folder = tmp_path / "read-only"
    folder.mkdir()
    argv = ["run", "--policy", "random", "--preset", "tiny", "--seeds", "2", "--out", str(folder / "sub")]
    if os.geteuid() != 0:
        folder.chmod(0o500)
        try:
            assert ces_bench(argv) == 2 and "cannot write in" in capsys.readouterr().err
        finally:
            folder.chmod(0o700)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cli.tempfile, "TemporaryFile", refuse)
    assert ces_bench(argv) == 2
    err = capsys.readouterr().err
    assert f"cannot write in {str(folder)!r} (Permission denied)" in err and err.count("\n") == 1
    assert not (folder / "sub").exists()


def test_a_bad_output_folder_is_refused_before_a_million_jobs_are_built(tmp_path, capsys, monkeypatch):
    import ces_baselines.harness.cli as cli

    def no_jobs(*args, **kwargs):
        raise AssertionError("jobs were built before the command line was checked")

    monkeypatch.setattr(cli, "make_jobs", no_jobs)
    (tmp_path / "a_file").write_text("x")
    argv = ["run", "--policy", "random", "--preset", "tiny", "--seeds", "1000000", "--out", str(tmp_path / "a_file")]
    assert ces_bench(argv) == 2 and "is a file, not a folder" in capsys.readouterr().err
    argv[-1] = str(tmp_path)  # a policy's requirement that contradicts an override: refused before the jobs too
    assert ces_bench([*argv, "--set", "control=centralized", "--policy", "ces-decentralized"]) == 2
    assert "requires control='decentralized'" in capsys.readouterr().err


def test_the_key_of_a_job_is_the_hash_of_its_policy_config_and_seed():
    """job_keys shares one config's JSON among the seeds of a sweep: the keys stay those of the full payload (rows
    saved before still resume)."""
    import hashlib
    import json

    from ces_baselines.harness.runner import _canonical, job_keys, make_jobs

    jobs = make_jobs(["random", "heft"], "tiny", [0, 7], {"n_tasks": 10, "reward_range": [1, 2]})
    for job, key in zip(
        jobs, job_keys(make_jobs(["random", "heft"], "tiny", [0, 7], {"n_tasks": 10, "reward_range": [1, 2]}))
    ):
        payload = {"policy": job.policy, "config": _canonical(job.config().to_dict()), "seed": job.seed}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
        assert key == job.key() == hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    assert len(set(job_keys(jobs))) == 4


def test_a_scenario_an_episode_refuses_is_one_line_and_the_saved_rows_stay(tmp_path, capsys, monkeypatch):
    """Like DPOP's group limit at reset: the ConfigError of an episode is ``error: ...`` with exit code 2, and the
    episodes finished before it stay saved and valid."""
    import json

    import ces_baselines.harness.runner as runner
    from ces_env.runner import run_episode

    def refuse_seed_1(policy, config, seed, **kwargs):
        if seed == 1:
            raise ConfigError("dpop: a group of 50 agents is more than the 12 this protocol can hold")
        return run_episode(policy, config, seed, **kwargs)

    monkeypatch.setattr(runner, "run_episode", refuse_seed_1)
    argv = ["run", "--policy", "random", "--preset", "tiny", "--seeds", "3", "--workers", "1", "--out", str(tmp_path)]
    assert ces_bench(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == "ces-bench: error: dpop: a group of 50 agents is more than the 12 this protocol can hold\n"
    rows = [json.loads(p.read_text()) for p in (tmp_path / "rows").glob("*.json")]
    assert [row["seed"] for row in rows] == [0]
    assert (tmp_path / "results.csv").read_text().count("\n") == 2  # the header and seed 0's row


def test_gantt_charts_of_a_learned_policy_get_a_file_name(tmp_path, monkeypatch):
    """``ppo:train/checkpoints/x.zip`` holds ':' and '/': the chart is ``gantt-ppo-x-seed0.png`` in --out."""
    from types import SimpleNamespace

    import ces_baselines.harness.cli as cli
    import ces_baselines.harness.runner as runner
    from ces_baselines.harness.runner import Job
    from ces_env.policies import RewardFirstPolicy

    monkeypatch.setattr(cli, "policy_class", lambda name: RewardFirstPolicy)  # no checkpoint to load: a stand-in
    monkeypatch.setattr(runner, "policy_class", lambda name: RewardFirstPolicy)
    name = "ppo:train/checkpoints/x.zip"
    cli._save_gantt_charts([Job(name, "tiny", (), 0)], SimpleNamespace(out=str(tmp_path), preset="tiny"))
    assert [p.name for p in tmp_path.iterdir()] == ["gantt-ppo-x-seed0.png"]
    assert registry.policy_file_stem("a b:c/d?.zip") == "a_b-d_"


# --- the main job (python -m ces_env) ---------------------------------------------------------------------------------


def test_the_main_job_refuses_zero_seeds_naming_the_flag(capsys):
    from ces_env.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["--seeds", "0"])
    assert exit_.value.code == 2
    assert "error: --seeds must be between 1 and 100000, got 0" in capsys.readouterr().err


@pytest.mark.parametrize("seeds", [1, 2])
def test_the_main_jobs_table_has_units_and_aligned_columns(capsys, seeds):
    from ces_env.__main__ import main
    from ces_env.core.metrics import METRIC_UNITS

    assert main(["--preset", "tiny", "--seeds", str(seeds)]) == 0
    title, header, *rows = capsys.readouterr().out.splitlines()
    assert ("1 seed (one episode" in title) if seeds == 1 else ("2 seeds, mean ± 95% CI" in title)
    assert "seeds" not in title or seeds > 1
    assert header.split() == ["metric", "unit", "centralized", "decentralized"]
    assert len({len(line) for line in [header, *rows]}) == 1  # every column padded to one width
    for row in rows:
        metric, unit, *cells = row.split("  ")[0], *[c.strip() for c in row.split("  ")[1:] if c.strip()]
        assert unit == METRIC_UNITS[metric]
        assert all(("±" in cell) == (seeds > 1) and "n/a" not in cell for cell in cells)
        assert len(cells) == 2


def test_a_reset_of_ten_thousand_tasks_runs():
    """The linear acyclicity check and the single parse keep this well under a second (not asserted: CI is shared)."""
    env = ces_env.parallel_env(preset="small", n_tasks=10_000)
    observations, _ = env.reset(seed=0)
    assert env.unwrapped.config.n_tasks == 10_000 and set(observations) == set(env.agents)

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

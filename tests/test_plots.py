"""Pictures of an episode: the live view's frames (ces_env.render), the Gantt chart (ces_env.plots), episode videos
(ces_env.video) and ``ces-bench run --gantt``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ces_env
from ces_baselines.harness.cli import main as ces_bench
from ces_env import video
from ces_env.config import make_config
from ces_env.core.lower_bound import lower_bound_terms, min_task_durations
from ces_env.core.protocols import control_protocol
from ces_env.plots import critical_path, gantt_chart, traced_episode
from ces_env.policies import RewardFirstPolicy
from ces_env.render import ACTIVITIES, TASK_STATUS_COLOURS, frame_size
from ces_env.types import TaskStatus
from ces_env.video import record_episode
from tests.helpers import rollout

FRAME_CASES = {
    "tiny-centralized": dict(preset="tiny"),
    "tiny-decentralized": dict(preset="tiny", control="decentralized"),
    "steered-centralized": dict(preset="steered"),
    "steered-decentralized": dict(preset="steered", control="decentralized"),
}


@pytest.mark.parametrize("kwargs", FRAME_CASES.values(), ids=FRAME_CASES.keys())
def test_frames_keep_one_shape_through_episodes(kwargs):
    env = ces_env.parallel_env(render_mode="rgb_array", **kwargs)
    shapes, frames = set(), []

    def grab(env) -> None:
        frame = env.render()
        assert frame.dtype == np.uint8
        shapes.add(frame.shape)
        frames.append(frame)

    for seed in (0, 1):  # a new instance at the second reset: still the same frame size
        env.reset(seed=seed)
        grab(env)
        rollout(env, seed, policy=RewardFirstPolicy(), on_step=grab)
    width, height = frame_size(env.sim.instance)
    assert shapes == {(height, width, 3)}
    assert len(frames) > 10 and not np.array_equal(frames[0], frames[-1])


def assert_squares_show(env, statuses: np.ndarray) -> None:
    """In a fresh frame, every pixel of pure fill (no text, no border) of task i's square has the colour of
    ``statuses[i]``."""
    frame = env.render()
    squares = env.unwrapped._viewer._frame.tasks  # the painted squares of the live view
    fill = squares.share[:, 0] == 1.0
    palette = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in TASK_STATUS_COLOURS.values()])
    owners = squares.owners[fill]
    assert np.unique(owners).size == env.sim.instance.n_tasks, "every task has a square"
    np.testing.assert_array_equal(frame.reshape(-1, 3)[squares.pixels[fill]], palette[statuses[owners]])


@pytest.mark.parametrize("control", ["centralized", "decentralized"])
def test_the_dag_is_coloured_by_task_status(control):
    env = ces_env.parallel_env(preset="small", control=control, render_mode="rgb_array")
    observations, infos = env.reset(seed=0)
    policy = RewardFirstPolicy()
    policy.reset(env, 0)
    seen: set[int] = set()
    while env.agents:
        assert_squares_show(env, env.sim.task_status)
        seen.update(env.sim.task_status.tolist())
        observations, *_, infos = env.step(policy.act(observations, infos))
    assert_squares_show(env, np.full(env.sim.instance.n_tasks, TaskStatus.DONE))
    assert {TaskStatus.BLOCKED, TaskStatus.READY, TaskStatus.RUNNING} <= seen


@pytest.mark.parametrize("kwargs", FRAME_CASES.values(), ids=FRAME_CASES.keys())
def test_a_gantt_chart_is_written(kwargs, tmp_path):
    config = make_config(**kwargs)
    sim = traced_episode(RewardFirstPolicy(), config, seed=0)
    path = tmp_path / "gantt.png"
    figure = gantt_chart(sim, title="reward-first, tiny", path=path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (int(figure.get_figwidth() * figure.dpi), int(figure.get_figheight() * figure.dpi))
    rows = sim.instance.n_agents + (sim.instance.n_groups if config.control == "centralized" else 0)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert len(labels) == rows and sum("controller" in label for label in labels) == rows - sim.instance.n_agents


def _artist(figure, gid: str):
    found = [a for a in figure.axes[0].get_children() if a.get_gid() == gid]
    assert len(found) <= 1
    return found[0] if found else None


def _legend_labels(figure) -> list[str]:
    return [t.get_text() for t in figure.legends[0].get_texts()]


@pytest.mark.parametrize("control", ["centralized", "decentralized"])
def test_the_gantt_chart_marks_conflicts_rejections_and_the_critical_path(control):
    config = make_config("small", control=control, solution_error_prob=0.3)
    sim = traced_episode(RewardFirstPolicy(), config, seed=1)
    figure = gantt_chart(sim)
    conflicts, rejected = int(sim.metrics()["conflicts"]), int(sim.stats()["rejected_solutions"])
    assert rejected > 0 and (conflicts > 0) == (control == "decentralized"), "the case must exercise the markers"
    for gid, count, label in [("conflicts", conflicts, "conflict"), ("rejections", rejected, "rejected solution")]:
        artist = _artist(figure, gid)
        assert (0 if artist is None else len(artist.get_offsets())) == count
        assert any(text.startswith(label) for text in _legend_labels(figure)) == (count > 0)
    # one outline per bar of exploring or replaying a task of the critical path, none elsewhere
    critical = set(critical_path(sim.instance, config))
    expected = sum(
        1
        for i in sim.trace.agent_intervals()
        if i.task in critical and i.end > sim.trace.start_time and ACTIVITIES[i.status] in ("exploring", "replaying")
    )
    outlines = _artist(figure, "critical-path")
    assert expected > 0 and outlines is not None and len(outlines.get_paths()) == expected


def test_a_clean_episode_has_no_marker_and_no_legend_entry_for_them():
    sim = traced_episode(RewardFirstPolicy(), make_config("tiny", control="centralized"), seed=0)
    figure = gantt_chart(sim)
    assert sim.metrics()["conflicts"] == 0 and sim.stats()["rejected_solutions"] == 0
    assert _artist(figure, "conflicts") is None and _artist(figure, "rejections") is None
    assert not any(text.startswith(("conflict", "rejected")) for text in _legend_labels(figure))


def test_a_gantt_chart_needs_a_trace():
    env = ces_env.parallel_env(preset="tiny")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="trace=True"):
        gantt_chart(env)


@pytest.mark.parametrize("control", ["centralized", "decentralized"])
@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_the_critical_path_is_the_chain_of_the_lower_bound(preset, control):
    config = make_config(preset, control=control)
    env = ces_env.parallel_env(config=config)
    env.reset(seed=3)
    inst = env.sim.instance
    chain = critical_path(inst, config)
    assert chain[0] in np.flatnonzero(np.diff(inst.pred_indptr) == 0), "the chain starts at a task without dependencies"
    assert all(inst.graph.has_edge(a, b) for a, b in zip(chain, chain[1:]))
    before, after = control_protocol(control).task_overheads(config)
    weight = int((min_task_durations(inst)[chain] + before + after).sum())
    assert weight == lower_bound_terms(inst, config)["chain"]


def test_a_two_second_gif_is_written(tmp_path):
    path = record_episode(RewardFirstPolicy(), make_config("tiny"), 0, tmp_path / "episode.gif", fps=4, max_frames=8)
    with Image.open(path) as gif:
        assert gif.n_frames == 8
        durations = []
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
            assert gif.size == (960, 540)
    assert sum(durations) == 2000


def test_video_arguments_are_checked(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="suffix"):
        record_episode(RewardFirstPolicy(), make_config("tiny"), 0, tmp_path / "episode.avi")
    with pytest.raises(ValueError, match="fps"):
        record_episode(RewardFirstPolicy(), make_config("tiny"), 0, tmp_path / "episode.gif", fps=0)
    monkeypatch.setattr(video, "ffmpeg_program", lambda: None)
    with pytest.raises(RuntimeError, match="ffmpeg"):
        record_episode(RewardFirstPolicy(), make_config("tiny"), 0, tmp_path / "episode.mp4", max_frames=2)
    assert not (tmp_path / "episode.mp4").exists()


@pytest.mark.skipif(video.ffmpeg_program() is None, reason="no ffmpeg program (pip install imageio-ffmpeg)")
def test_a_two_second_mp4_is_written(tmp_path):
    path = tmp_path / "episode.mp4"
    record_episode(RewardFirstPolicy(), make_config("tiny"), 0, path, fps=4, max_frames=8)
    probe = subprocess.run([video.ffmpeg_program(), "-i", str(path)], capture_output=True, text=True)
    # ffmpeg -i with no output file exits 1 after describing the input: its description is what is checked
    assert "Video: h264" in probe.stderr or "Video: mpeg4" in probe.stderr, probe.stderr
    assert "960x540" in probe.stderr
    assert "Duration: 00:00:02.00" in probe.stderr


def test_ces_bench_run_saves_one_gantt_chart_per_policy(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "--policy", "ces-centralized,heft", "--preset", "tiny", "--seeds", "2", "--seed-offset", "3"]
    assert ces_bench([*argv, "--out", str(out), "--workers", "1", "--no-progress", "--gantt"]) == 0
    charts = sorted(p.name for p in out.glob("*.png"))
    assert charts == ["gantt-ces-centralized-seed3.png", "gantt-heft-seed3.png"]
    assert "gantt chart:" in capsys.readouterr().out


def test_importing_ces_env_does_not_import_matplotlib():
    code = (
        "import sys, ces_env, ces_env.plots, ces_env.render, ces_env.video;"
        "sys.exit(1 if 'matplotlib' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_readme_picture_examples_run(tmp_path, monkeypatch):
    """The Python examples of the README's pictures section, run in order in one namespace."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Pictures of an episode", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 3
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block.replace('make_config("small")', 'make_config("tiny")'), "README.md", "exec"), namespace)
    for name, size in (("frame.png", (960, 540)), ("episode.gif", (960, 540))):
        with Image.open(tmp_path / name) as image:
            assert image.size == size
    assert (tmp_path / "gantt.png").stat().st_size > 10_000

"""Episode videos: the live view (:mod:`ces_env.render`) of every step of one episode, as a GIF or an MP4.

::

    from ces_env.video import record_episode
    record_episode(RewardFirstPolicy(), make_config("small"), seed=0, path="episode.gif", fps=8)

GIFs are written by Pillow (installed with matplotlib); MP4s by matplotlib's ``FFMpegWriter``, which needs an
``ffmpeg`` program: the one on the PATH, else the one bundled with ``imageio-ffmpeg`` (``pip install ces-env[video]``).
The episode is played by :func:`ces_env.runner.run_episode`, so a seed gives the same episode as everywhere else;
one frame is drawn after ``reset`` and one after every step.
"""

from __future__ import annotations

import shutil
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ces_env.policies import Actions, Infos, Observations, Policy

if TYPE_CHECKING:
    from pettingzoo import ParallelEnv

    from ces_env.config import CESConfig

VIDEO_SUFFIXES = (".gif", ".mp4")


class _FirstFrame(Policy):
    """Delegates to ``policy`` and hands the frame drawn right after ``env.reset`` to ``grab`` (``run_episode``'s
    ``on_step`` hook is only called after steps)."""

    def __init__(self, policy: Policy, grab: Any):
        self.policy, self.grab = policy, grab

    def reset(self, env: ParallelEnv, seed: int) -> None:
        self.policy.reset(env, seed)
        self.grab(env)

    def act(self, observations: Observations, infos: Infos) -> Actions:
        return self.policy.act(observations, infos)


class _GifWriter:
    """Collects frames as palette images (a third of the memory of RGB) and writes one looping GIF at the end."""

    def __init__(self, path: Path, fps: float):
        self.path, self.fps = path, fps
        self.frames: list[Any] = []

    def add(self, frame: np.ndarray) -> None:
        from PIL import Image

        self.frames.append(
            Image.fromarray(frame).quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        )

    def close(self) -> None:
        first, *rest = self.frames
        duration = int(round(1000 / self.fps))
        first.save(self.path, save_all=True, append_images=rest, duration=duration, loop=0)


def ffmpeg_program() -> str | None:
    """The ffmpeg program MP4s are written with: ``ffmpeg`` on the PATH, else imageio-ffmpeg's bundled binary (a
    maintained wheel that carries a static ffmpeg for each platform), else None."""
    on_path = shutil.which("ffmpeg")
    if on_path is not None:
        return on_path
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:  # the wheel has no binary for this platform
        return None


class _Mp4Writer:
    """Streams frames to ffmpeg through matplotlib's ``FFMpegWriter`` (one figure the size of a frame)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        import matplotlib
        from matplotlib import animation
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        program = ffmpeg_program()
        if program is None:
            raise RuntimeError(
                f"writing {path} needs an ffmpeg program: put one on the PATH, or pip install imageio-ffmpeg "
                "(the 'video' extra), or write a .gif"
            )
        width, height = size
        self.figure = Figure(figsize=(width / 100, height / 100), dpi=100)
        FigureCanvasAgg(self.figure)
        axes = self.figure.add_axes((0, 0, 1, 1))
        axes.set_axis_off()
        self.image = axes.imshow(np.zeros((height, width, 3), dtype=np.uint8), interpolation="nearest")
        self.writer = animation.FFMpegWriter(fps=fps)  # type: ignore[arg-type]  # ffmpeg takes fractional rates
        # matplotlib finds ffmpeg through an rcParam read when the process starts: point it at the program found
        # here for this writer only, without changing the user's settings for anything else
        with matplotlib.rc_context({"animation.ffmpeg_path": program}):
            self.writer.setup(self.figure, str(path), dpi=100)

    def add(self, frame: np.ndarray) -> None:
        self.image.set_data(frame)
        self.writer.grab_frame()

    def close(self) -> None:
        self.writer.finish()


def record_episode(
    policy: Policy,
    config: CESConfig,
    seed: int,
    path: str | PathLike[str],
    *,
    fps: float = 4.0,
    max_frames: int | None = None,
) -> Path:
    """Play one episode of ``policy`` on ``config`` and ``seed`` and write its live view to ``path``.

    The suffix chooses the format: ``.gif`` or ``.mp4`` (ffmpeg needed). One frame per env step (plus the first,
    after reset), shown for ``1 / fps`` seconds; ``max_frames`` stops the episode after that many frames (e.g.
    ``2 * fps`` for a two-second clip). Returns the path written.
    """
    from ces_env.env import parallel_env
    from ces_env.runner import run_episode

    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"path {str(path)!r}: the video format is chosen by the suffix, one of {VIDEO_SUFFIXES}")
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    env = parallel_env(config=config, render_mode="rgb_array")
    writer: _GifWriter | _Mp4Writer | None = None

    def grab(env: Any, _step: Any = None) -> None:
        nonlocal writer
        frame = env.render()
        if writer is None:
            height, width = frame.shape[:2]
            writer = _GifWriter(path, fps) if path.suffix.lower() == ".gif" else _Mp4Writer(path, fps, (width, height))
        writer.add(frame)

    max_steps = None if max_frames is None else max_frames - 1
    try:
        run_episode(_FirstFrame(policy, grab), env, seed, on_step=grab, max_steps=max_steps)
    finally:
        if writer is not None:
            writer.close()
    return path


__all__ = ["VIDEO_SUFFIXES", "record_episode"]

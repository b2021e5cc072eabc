"""Jobs (policy x config x seed), the row of one job, and running many jobs locally or on Ray with resume.

A :class:`Job` names a registered policy, a preset, config overrides and a seed. Its config is the preset plus the
overrides plus the policy's ``required_config``; its :meth:`Job.key` hashes the policy, the full resolved config and
the seed, so that a job is recognised again whatever spelling produced its config. :func:`run_jobs` runs jobs on a
process pool (or Ray) and, given ``out_dir``, persists each finished row at once as ``out_dir/rows/<key>.json``
(atomically) and keeps ``out_dir/results.csv`` up to date, so that an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ces_baselines import registry
from ces_baselines.harness.results import RESULTS_FILE, _atomic_write_text, write_results
from ces_env.config import CESConfig, ConfigError, make_config
from ces_env.core.metrics import METRIC_KEYS
from ces_env.instance_cache import InstanceCache
from ces_env.policies import Policy
from ces_env.runner import run_episode

BACKENDS = ("local", "ray")
ROWS_DIR = "rows"
IN_FLIGHT_PER_WORKER = 4  # jobs submitted to the pool ahead of the free workers
CSV_REWRITE_SECONDS = 2.0  # results.csv is rewritten at most this often during a run, and always at its end


class BackendUnavailableError(RuntimeError):
    """The chosen execution backend cannot be used here (e.g. Ray is not installed)."""


def policy_class(name: str) -> type[Policy]:
    """The registered policy class of ``name`` (the built-in policies are loaded first), or for ``FAMILY:PATH`` the
    class that plays that checkpoint (``ces_baselines.learned``)."""
    if ":" in name:
        return registry.learned_policy_class(name)
    registry._load_builtin()
    try:
        return registry.POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; policies: {', '.join(sorted(registry.POLICIES))}") from None


def _freeze(value: Any) -> Any:
    """Lists (from JSON or the CLI) become tuples, so that a Job stays hashable."""
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _plain(value: Any) -> Any:
    """Plain JSON-compatible Python values: tuples become lists, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _canonical(value: Any) -> Any:
    """Plain values where equal configs are spelled alike: an integral float is written as an int (1.0 -> 1)."""
    value = _plain(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass(frozen=True)
class Job:
    """One episode to run: a registered policy on ``make_config(preset, **overrides, **required_config)``, one seed.

    ``overrides`` may be given as a mapping or as pairs; it is stored as a tuple of ``(field, value)`` pairs with
    lists turned into tuples (hashable).
    """

    policy: str
    preset: str | None
    overrides: tuple[tuple[str, Any], ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        items = self.overrides.items() if isinstance(self.overrides, Mapping) else self.overrides
        object.__setattr__(self, "overrides", tuple((str(k), _freeze(v)) for k, v in items))
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"a job's seed must be an integer >= 0, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))

    def config(self) -> CESConfig:
        """The resolved, validated config. An override that contradicts the policy's ``required_config`` is a
        :class:`ConfigError`."""
        required = policy_class(self.policy).required_config
        overrides = dict(self.overrides)
        for field, value in required.items():
            if field in overrides and _freeze(overrides[field]) != _freeze(value):
                raise ConfigError(
                    f"policy {self.policy!r} requires {field}={value!r}, which conflicts with the "
                    f"override {field}={overrides[field]!r}"
                )
        return make_config(self.preset, **{**overrides, **required})

    def key(self) -> str:
        """A stable id of the job: a hash of the policy, the canonical JSON of the full resolved config and the
        seed (the preset's name and the spelling of the overrides do not enter it, only their effect)."""
        cached = self.__dict__.get("_key")
        if cached is None:
            cached = self._key_with(_config_json(self.config()))
        return cached

    def _key_with(self, config_json: str) -> str:
        """The key, given the canonical JSON of the resolved config (shared by every seed of a sweep)."""
        # the JSON of {"policy", "config", "seed"} with sorted keys, spelled out so that the config's part is reused
        text = f'{{"config":{config_json},"policy":{json.dumps(self.policy)},"seed":{self.seed}}}'
        key = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
        object.__setattr__(self, "_key", key)  # not a field: equality, hash and repr ignore it
        return key


def _config_json(config: CESConfig) -> str:
    """The canonical JSON of a resolved config: equal configs are spelled alike, whatever produced them."""
    return json.dumps(_canonical(config.to_dict()), sort_keys=True, separators=(",", ":"), allow_nan=False)


def job_keys(jobs: list[Job]) -> list[str]:
    """``[job.key() for job in jobs]``, resolving and validating each distinct (policy, preset, overrides) once: the
    jobs of a sweep differ by their seed only, so a million of them cost one config, not a million."""
    config_json: dict[Any, str] = {}
    keys = []
    for job in jobs:
        cached = job.__dict__.get("_key")
        if cached is None:
            scenario: tuple | None = (job.policy, job.preset, job.overrides)
            try:
                text = config_json.get(scenario)
            except TypeError:  # an unhashable override value (a dict): no sharing
                scenario, text = None, None
            if text is None:
                text = _config_json(job.config())
                if scenario is not None:
                    config_json[scenario] = text
            cached = job._key_with(text)
        keys.append(cached)
    return keys


def make_jobs(
    policies: Iterable[str],
    preset: str | None,
    seeds: Iterable[int],
    overrides: Mapping[str, Any] | Iterable[tuple[str, Any]] = (),
) -> list[Job]:
    """Every policy on the same seeds with the same overrides, policy-major (policy 1 on every seed, then 2 ...)."""
    pairs = tuple(overrides.items()) if isinstance(overrides, Mapping) else tuple(overrides)
    seeds = list(seeds)
    return [Job(policy, preset, pairs, seed) for policy in policies for seed in seeds]


# --- one job ---------------------------------------------------------------------------------------------------------


_INSTANCE_CACHE: InstanceCache | None = None


def _process_instance_cache() -> InstanceCache:
    """This process's instance cache: the jobs of a sweep are submitted seed by seed, so a process often plays
    another policy on the seed it has just generated (the same episode, without generating its mazes again)."""
    global _INSTANCE_CACHE
    if _INSTANCE_CACHE is None:
        _INSTANCE_CACHE = InstanceCache()
    return _INSTANCE_CACHE


def _execute(job: Job, cls: type[Policy]) -> dict:
    """Run ``job`` with the policy class ``cls`` (resolved by the caller, so that worker processes need no registry)."""
    config = job.config()
    key = job.key()
    result = run_episode(cls(), config, job.seed, instance_cache=_process_instance_cache())
    metrics = result.metrics
    if metrics is None:  # cannot happen without max_steps; a row must never be written without metrics
        raise RuntimeError(f"job {key}: the episode did not end")
    missing = [k for k in METRIC_KEYS if k not in metrics]
    if missing:
        raise RuntimeError(f"the environment's metrics lack the key(s) {missing}")
    row: dict[str, Any] = {"policy": job.policy, "preset": job.preset, "seed": job.seed}
    row.update(config.to_dict())
    row.update({k: metrics[k] for k in METRIC_KEYS})
    row.update({k: v for k, v in (result.stats or {}).items() if k != "ticks"})  # explorations, replays, rejected
    row.update(
        env_steps=int(result.env_steps),
        wall_seconds=float(result.wall_seconds),
        truncated=bool(result.truncated),
        job_key=key,
    )
    return _plain(row)


def run_job(job: Job) -> dict:
    """Run one job in this process; returns its row: ``policy``, ``preset``, ``seed``, every config field, every
    metric key, ``env_steps``, ``wall_seconds``, ``truncated``, ``job_key``. Values are plain Python (tuples of the
    config, such as ``reward_range``, are lists), so a row equals its own JSON round trip."""
    return _execute(job, policy_class(job.policy))


# --- persistence of rows ---------------------------------------------------------------------------------------------


class RowStore:
    """``out_dir/rows/<job_key>.json``: one atomically written file per finished job."""

    def __init__(self, out_dir: str | os.PathLike):
        self.out_dir = Path(out_dir)
        self.rows_dir = self.out_dir / ROWS_DIR

    def path(self, key: str) -> Path:
        return self.rows_dir / f"{key}.json"

    def load(self, key: str) -> dict | None:
        try:
            row = json.loads(self.path(key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):  # damaged by hand: recompute it
            print(f"ces-bench: warning: ignoring the unreadable row file {self.path(key)}", file=sys.stderr)
            return None
        if not isinstance(row, dict) or row.get("job_key") != key:
            return None
        return row

    def save(self, row: dict) -> None:
        _atomic_write_text(self.path(row["job_key"]), json.dumps(row, allow_nan=True) + "\n")


# --- many jobs -------------------------------------------------------------------------------------------------------


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, initial: int, enabled: bool):
    """A tqdm bar on stderr when it is a terminal and ``enabled``; otherwise nothing (not even tqdm's monitor
    thread, which would be running when the process pool forks)."""
    if not (enabled and sys.stderr.isatty()):
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="episode", desc="ces-bench", file=sys.stderr)


def _run_local(
    pending: list[tuple[str, Job]], classes: dict[str, type[Policy]], workers: int, on_done: Callable[[str, dict], None]
) -> None:
    if workers == 1 or len(pending) <= 1:
        for key, job in pending:
            on_done(key, _execute(job, classes[job.policy]))
        return
    workers = min(workers, len(pending))
    pool = ProcessPoolExecutor(max_workers=workers, initializer=exit_with_parent, initargs=(os.getpid(),))
    try:
        by_seed = iter(sorted(pending, key=lambda item: item[1].seed))  # stable: a seed's policies one after another
        futures: dict[Future, str] = {}
        # a few jobs per worker in flight, submitted as others finish: a million-job sweep never holds a million
        # futures (and their pickled jobs) at once
        for key, job in itertools.islice(by_seed, IN_FLIGHT_PER_WORKER * workers):
            futures[pool.submit(_execute, job, classes[job.policy])] = key
        while futures:
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in done:
                on_done(futures.pop(future), future.result())
                for key, job in itertools.islice(by_seed, 1):
                    futures[pool.submit(_execute, job, classes[job.policy])] = key
    except BaseException:  # an interrupt or a failed job: stop at once, finished rows are already saved
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def exit_with_parent(parent_pid: int) -> None:
    """Pool-worker initializer: end this worker when the parent dies, even by ``kill -9`` (which runs no clean-up and
    would leave the worker blocked on its pipe). Linux: the kernel's parent-death signal; elsewhere a watchdog thread
    that polls the parent's pid."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        if libc.prctl(pr_set_pdeathsig, signal.SIGTERM) == 0:
            if os.getppid() != parent_pid:  # the parent died before the call
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued jobs and terminate the workers (they would otherwise run the calls already sent to them)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()


def run_jobs(
    jobs: Iterable[Job],
    *,
    workers: int | None = None,
    backend: str = "local",
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> list[dict]:
    """Run every job; returns their rows in job order (the same rows whatever the worker count or backend, except
    ``wall_seconds``).

    ``backend="local"``: a process pool of ``workers`` processes (default ``os.cpu_count()``; ``workers=1`` runs in
    this process). ``backend="ray"``: one Ray task per job (``ray.init()`` is called only if Ray is not initialised).
    With ``out_dir``: every finished row is written at once to ``out_dir/rows/<job_key>.json``, jobs whose row is
    already there are not run again, and ``out_dir/results.csv`` (the rows of these jobs finished so far, in job
    order) is rewritten atomically during the run, at its end, and when it is interrupted.
    Identical jobs (same key) run once. The config of every job is validated before anything runs.
    """
    jobs = list(jobs)
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; backends: {', '.join(BACKENDS)}")
    if workers is None:
        workers = (os.cpu_count() or 1) if backend == "local" else None
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    classes = {name: policy_class(name) for name in dict.fromkeys(job.policy for job in jobs)}
    keys = job_keys(jobs)  # resolves and validates every distinct config up front

    store = RowStore(out_dir) if out_dir is not None else None
    rows: dict[str, dict] = {}
    pending_by_key: dict[str, Job] = {}
    for key, job in zip(keys, jobs):
        if key in rows or key in pending_by_key:
            continue
        stored = store.load(key) if store is not None else None
        if stored is not None:
            rows[key] = stored
        else:
            pending_by_key[key] = job
    pending = list(pending_by_key.items())  # one run per key, in job order

    def finished_rows() -> list[dict]:
        return [{**rows[key], "preset": job.preset} for key, job in zip(keys, jobs) if key in rows]

    def write_csv() -> None:
        if store is not None:
            write_results(finished_rows(), store.out_dir / RESULTS_FILE)

    last_csv = time.monotonic()

    def on_done(key: str, row: dict) -> None:
        nonlocal last_csv
        rows[key] = row
        if store is not None:
            store.save(row)
            if time.monotonic() - last_csv >= CSV_REWRITE_SECONDS:
                write_csv()
                last_csv = time.monotonic()
        bar.update(1)

    unique_total = len(dict.fromkeys(keys))
    bar = _progress_bar(unique_total, unique_total - len(pending), progress)
    try:
        if backend == "local":
            _run_local(pending, classes, workers or 1, on_done)  # (never None for the local backend)
        else:
            from ces_baselines.harness.ray_backend import run_ray

            run_ray(pending, classes, workers, on_done)
    finally:
        bar.close()
        write_csv()
    return finished_rows()


__all__ = [
    "Job",
    "job_keys",
    "make_jobs",
    "policy_class",
    "run_job",
    "run_jobs",
    "BACKENDS",
    "BackendUnavailableError",
    "RowStore",
]

"""The Ray backend of :func:`ces_baselines.harness.run_jobs`: one Ray task per job, the same rows as the local pool.

Ray is optional (``pip install -c constraints.txt '.[ray]'``) and imported only here, only when this backend runs.
``ray.init()`` is called only if Ray is not initialised yet (a cluster address comes from ``RAY_ADDRESS`` as usual);
a session started here stays up for later calls in the same process.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from ces_baselines.harness.runner import BackendUnavailableError, Job, _execute
from ces_env.policies import Policy

RAY_HINT = "the ray backend needs Ray: pip install -c constraints.txt '.[ray]'"

_remote_execute = None


def _ray():
    try:
        import ray
    except ImportError:
        raise BackendUnavailableError(RAY_HINT) from None
    return ray


def run_ray(
    pending: list[tuple[str, Job]],
    classes: dict[str, type[Policy]],
    workers: int | None,
    on_done: Callable[[str, dict], None],
) -> None:
    """Run ``pending`` (key, job) pairs as Ray tasks, at most ``workers`` at a time (None: as many as Ray schedules),
    calling ``on_done(key, row)`` in this process as each finishes."""
    global _remote_execute
    if not pending:  # everything was resumed: no need for Ray
        return
    ray = _ray()
    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):  # an existing cluster: it has its own resources
            ray.init()
        else:
            ray.init(num_cpus=workers, include_dashboard=False)
    if _remote_execute is None:
        _remote_execute = ray.remote(num_cpus=1, max_retries=0)(_execute)
    limit = workers or len(pending)
    queue = list(pending)
    in_flight: dict = {}
    try:
        while queue or in_flight:
            while queue and len(in_flight) < limit:
                key, job = queue.pop(0)
                in_flight[_remote_execute.remote(job, classes[job.policy])] = key
            done, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in done:
                key = in_flight.pop(ref)
                on_done(key, ray.get(ref))
    except BaseException:
        for ref in in_flight:
            with contextlib.suppress(Exception):  # already finished or gone
                ray.cancel(ref, force=True)
        raise


__all__ = ["run_ray", "RAY_HINT"]

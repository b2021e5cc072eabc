"""What every reproduction runs on: the shared parameters, the run scales and the job of one scenario and seed.

Every experiment runs on :data:`REPRODUCTION_DEFAULTS` plus the scenario the paper describes for it (agents, groups,
tasks, graph, partition, control, and the maze size where the paper states one). Protocol costs are never changed per
experiment: they keep the defaults of :class:`ces_env.config.CESConfig`; only the sensitivity study varies them, and it
says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from ces_baselines.harness.runner import Job

# One parameter set for every experiment (on top of the CESConfig defaults, which hold every protocol cost).
REPRODUCTION_DEFAULTS = dict(maze_size=40, graph="lds", partition="interdependent", tasks_per_class=4)
CENTRALIZED, DECENTRALIZED = "ces-centralized", "ces-decentralized"


@dataclass(frozen=True)
class Scale:
    seeds: int
    fig2_task_counts: tuple[int, ...]
    sensitivity_service: tuple[int, ...]  # multiples of the default controller service times
    sensitivity_latency: tuple[int, ...]  # claim latencies in ticks
    theorem33_degrees: tuple[float, ...]
    fig3_task_counts: tuple[int, ...]
    max_tasks: int | None = None  # smoke runs only: caps on the scenario sizes
    max_maze: int | None = None
    max_agents: int | None = None


FULL = Scale(
    seeds=20,
    fig2_task_counts=(20, 40, 60, 80, 120, 160, 200, 240),
    sensitivity_service=(0, 1, 2, 4, 8),
    sensitivity_latency=(0, 3, 6, 12, 24),
    theorem33_degrees=(0.0, 0.5, 1.0, 2.0, 4.0, 8.0),
    fig3_task_counts=(40, 80, 120, 160, 200, 240, 280),
)
QUICK = Scale(
    seeds=5,
    fig2_task_counts=(20, 60, 120, 240),
    sensitivity_service=(0, 1, 4),
    sensitivity_latency=(0, 3, 12),
    theorem33_degrees=(0.0, 1.0, 4.0),
    fig3_task_counts=(40, 120, 200, 280),
)
SMOKE = Scale(
    seeds=2,
    fig2_task_counts=(6, 12),
    sensitivity_service=(0, 1),
    sensitivity_latency=(0, 3),
    theorem33_degrees=(0.0, 2.0),
    fig3_task_counts=(20, 40),
    max_tasks=24,
    max_maze=5,
    max_agents=10,
)
SCALES = {"full": FULL, "quick": QUICK, "smoke": SMOKE}


def make_job(scale: Scale, policy: str, seed: int, **overrides) -> Job:
    """A job on the reproduction defaults plus the experiment's scenario (capped only by the smoke scale)."""
    settings = {**REPRODUCTION_DEFAULTS, **overrides}
    if scale.max_tasks is not None:
        settings["n_tasks"] = min(settings.get("n_tasks", scale.max_tasks), scale.max_tasks)
    if scale.max_maze is not None:
        settings["maze_size"] = min(settings["maze_size"], scale.max_maze)
    if scale.max_agents is not None and settings.get("n_agents", 0) > scale.max_agents:
        settings["n_agents"] = max(scale.max_agents, settings.get("n_groups", 1))
    return Job(policy=policy, preset=None, overrides=tuple(sorted(settings.items())), seed=seed)


def seeds(scale: Scale) -> range:
    return range(scale.seeds)

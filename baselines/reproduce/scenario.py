"""What every reproduction runs on: the shared parameters, the cost profiles, the run scales and the job of one
scenario and seed.

Every experiment runs on :data:`REPRODUCTION_DEFAULTS`, then one cost profile (:data:`PROFILES`: ``default`` keeps the
:class:`ces_env.config.CESConfig` defaults, ``paper`` derives every cost from the paper's own numbers, see
:data:`PAPER_ARITHMETIC`), then the user's ``--set`` overrides, then the scenario the paper describes for the
experiment (agents, groups, tasks, graph, partition, control, and the maze size where the paper states one). A profile
is never changed per experiment; only the sensitivity study varies costs, and it says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ces_baselines.harness.runner import Job
from ces_env.config import COST_FIELDS, make_config
from ces_env.graphs import DEFAULT_DENSITY

# One parameter set for every experiment (on top of the CESConfig defaults, which hold every protocol cost).
REPRODUCTION_DEFAULTS = dict(maze_size=40, graph="lds", partition="interdependent", tasks_per_class=4)
CENTRALIZED, DECENTRALIZED = "ces-centralized", "ces-decentralized"

# --- the paper profile: every cost from the paper's numbers (seconds), in units of one maze exploration ------------
PAPER_TASK_WORK_S = 37.0
"""Agent-seconds of work per task: Table 3, 5 agents x mean centralized ET(g) 133.97 s / 18 tasks = 37.2; Table 1 at
10 groups, 50 x 368.32 / 500 = 36.8. At the paper's group counts nearly every task is explored once in our model
(tasks_per_class 2, 5-10 groups), so one task's work is taken as one exploration: 1 unit = 37 s."""
PAPER_CONTROLLER_S = 496.00 / 500
"""Table 2, one group of 50 agents: one controller finishes 500 tasks in 496 s, so assignment + validation + sharing
with the 49 others cost at most 0.992 s per task (a single server cannot be busy more than the whole run)."""
PAPER_SERVICE = PAPER_CONTROLLER_S / 2 / PAPER_TASK_WORK_S
"""Half of that budget to assignment + validation (the paper does not say how it splits; an assumption, stated):
0.496 / 37 = 0.0134 of a task's work, split 1:2 as the defaults (assign 2, validate 4 ticks)."""
PAPER_SHARE = PAPER_CONTROLLER_S / 2 / 49 / PAPER_TASK_WORK_S
"""The other half to sharing each solution with the 49 other agents of the one group: 0.496 / 49 / 37 = 0.000274."""
PAPER_DECENTRALIZED_RATIO = (14.97 / 18) / (31.28 / 18)
"""Table 3's waiting per task, decentralized 0.83 s against centralized 1.74 s: 0.48 (claim + peer validation against
assignment + validation), split 3:4 as the defaults (claim latency 3, peer validation 4 ticks)."""
PAPER_SPLIT_COLLECT = (2458.50 - 2458.30) / PAPER_TASK_WORK_S
"""Table 1 with one group: ET - ET(g) = 0.20 s of splitting and collecting for one group: 0.0054, half each."""
PAPER_PARTITION = ((725.80 + 732.65 + 728.34) / 3 - (710.80 + 718.15 + 709.65) / 3) / 240 / PAPER_TASK_WORK_S
"""Table 4, HDS: independent partitions take 16.07 s longer than inter-dependent ones although agents wait less; the
paper blames the step that finds the independent subsets. 16.07 s over the 240 tasks (3 groups x 80) / 37 = 0.0018."""
PAPER_TASKS_PER_CLASS = 2
"""Table 1: agent-time per task rises from 5 x 2458.30 / 500 = 24.6 s (1 group) to 50 x 368.32 / 500 = 36.8 s (10
groups), 1.50x. With knowledge shared only inside a group, a class of c tasks dealt over 10 groups is explored by about
10 (1 - 0.9^c) groups; 10 (1 - 0.9^c) = 1.5 gives c = 1.54, and the field is an integer: 2 (ours was 4: 3.4x)."""
PAPER_DEPTH_TASK_TIMES = 409.46 / PAPER_TASK_WORK_S
"""Table 1 at 10 groups: 409.46 s is 11.1 task-times, so no dependency path of the 500-task graph is longer than 11
tasks (each task on it takes about one task's work). The layered families' own shape deals 500 tasks into
round(sqrt(500)) = 22-wide layers, 23 deep (longest path 15-23 for ``lds``); the profile sets ``graph_layers`` =
round(11.07) = 11, the deepest graph the paper's time allows: 11 layers of 45-46 tasks, with the family's in-degree
kept (``ces_env.graphs.family_density``). It applies to every experiment on a layered family (Tables 1-2, Figure 2,
the speed experiment, Theorem 3.3); the fixed graphs (G18/G40 stand-ins, independent tasks) keep their own depth."""

PAPER_PROFILE: dict[str, Any] = dict(
    cost_unit="exploration",
    assign_service_ticks=round(PAPER_SERVICE / 3, 5),
    validate_service_ticks=round(2 * PAPER_SERVICE / 3, 5),
    claim_latency_ticks=round(PAPER_DECENTRALIZED_RATIO * PAPER_SERVICE * 3 / 7, 5),
    peer_validate_ticks=round(PAPER_DECENTRALIZED_RATIO * PAPER_SERVICE * 4 / 7, 5),
    negotiation_latency_ticks=round(PAPER_DECENTRALIZED_RATIO * PAPER_SERVICE * 3 / 7, 5),
    share_ticks_per_recipient=round(PAPER_SHARE, 6),
    split_ticks_per_group=round(PAPER_SPLIT_COLLECT / 2, 5),
    collect_ticks_per_group=round(PAPER_SPLIT_COLLECT / 2, 5),
    partition_ticks_per_task=round(PAPER_PARTITION, 5),
    tasks_per_class=PAPER_TASKS_PER_CLASS,
    graph_layers=round(PAPER_DEPTH_TASK_TIMES),
)
PROFILES: dict[str, dict[str, Any]] = {"default": {}, "paper": PAPER_PROFILE}
"""Cost profiles: one set of overrides for every experiment. ``default`` is the CESConfig defaults, unchanged."""


@dataclass(frozen=True)
class Scale:
    seeds: int
    fig2_task_counts: tuple[int, ...]
    sensitivity_latency: tuple[int, ...]  # claim latencies in ticks of a 40x40 maze (converted to its exploration unit)
    theorem33_degrees: tuple[float, ...]
    fig3_task_counts: tuple[int, ...]
    max_tasks: int | None = None  # smoke runs only: caps on the scenario sizes
    max_maze: int | None = None
    max_agents: int | None = None
    sensitivity_ratios: tuple[float, ...] = (0.0, 0.00375, PAPER_SERVICE, 0.05, 0.15, 0.4)
    """Controller cost per task (assign + validate) as a fraction of one exploration: 0, the default's 6 ticks at
    40x40 (6 / 1599), the paper profile's, and up to 0.4 of a task's work."""
    profile: str = "default"
    sets: tuple[tuple[str, Any], ...] = field(default=())  # the user's --set overrides, on top of the profile


FULL = Scale(
    seeds=20,
    fig2_task_counts=(20, 40, 60, 80, 120, 160, 200, 240),
    sensitivity_latency=(0, 3, 6, 12, 24),
    theorem33_degrees=(0.0, 0.5, 1.0, 2.0, 4.0, 8.0),
    fig3_task_counts=(40, 80, 120, 160, 200, 240, 280),
)
QUICK = Scale(
    seeds=5,
    fig2_task_counts=(20, 60, 120, 240),
    sensitivity_latency=(0, 3, 12),
    sensitivity_ratios=(0.0, 0.00375, PAPER_SERVICE, 0.4),
    theorem33_degrees=(0.0, 1.0, 4.0),
    fig3_task_counts=(40, 120, 200, 280),
)
SMOKE = Scale(
    seeds=2,
    fig2_task_counts=(6, 12),
    sensitivity_latency=(0, 3),
    sensitivity_ratios=(0.0, PAPER_SERVICE, 0.4),
    theorem33_degrees=(0.0, 2.0),
    fig3_task_counts=(20, 40),
    max_tasks=24,
    max_maze=5,
    max_agents=10,
)
SCALES = {"full": FULL, "quick": QUICK, "smoke": SMOKE}


def make_job(scale: Scale, policy: str, seed: int, **overrides) -> Job:
    """A job on the reproduction defaults plus the experiment's scenario (capped only by the smoke scale)."""
    settings = {**REPRODUCTION_DEFAULTS, **PROFILES[scale.profile], **dict(scale.sets), **overrides}
    if settings["graph"] not in DEFAULT_DENSITY:
        # a depth belongs to the layered families: a fixed graph (G18/G40 stand-in, independent) keeps its own
        settings.pop("graph_layers", None)
    if scale.max_tasks is not None:
        settings["n_tasks"] = min(settings.get("n_tasks", scale.max_tasks), scale.max_tasks)
        if settings.get("graph_layers") is not None:  # a smoke graph cannot be deeper than its task count
            settings["graph_layers"] = min(settings["graph_layers"], settings["n_tasks"])
    if scale.max_maze is not None:
        settings["maze_size"] = min(settings["maze_size"], scale.max_maze)
    if scale.max_agents is not None and settings.get("n_agents", 0) > scale.max_agents:
        settings["n_agents"] = max(scale.max_agents, settings.get("n_groups", 1))
    if "controller_ratio" in settings or "claim_ratio" in settings:
        settings = with_cost_ratios(settings, settings.pop("controller_ratio", None), settings.pop("claim_ratio", None))
    return Job(policy=policy, preset=None, overrides=tuple(sorted(settings.items())), seed=seed)


def with_cost_ratios(settings: dict[str, Any], controller: float | None, claim: float | None) -> dict[str, Any]:
    """``settings`` with every cost in exploration units (ticks converted at the scenario's maze size), then the
    controller's assign + validate set to ``controller`` of one exploration (split 1:2 like the defaults) and the
    claim latency to ``claim`` of one exploration (None: kept)."""
    config = make_config(**settings)
    if config.cost_unit == "ticks":
        unit = config.exploration_unit_ticks
        settings = {**settings, "cost_unit": "exploration"}
        settings.update({name: getattr(config, name) / unit for name in COST_FIELDS})
    if controller is not None:
        settings.update(assign_service_ticks=controller / 3, validate_service_ticks=2 * controller / 3)
    if claim is not None:
        settings.update(claim_latency_ticks=claim)
    return settings


def profile_setting(scale: Scale, name: str, default: Any = None) -> Any:
    """The value of config field ``name`` under the scale's profile and ``--set`` overrides (``default`` if neither
    sets it), for an experiment that derives a scenario value from it."""
    return {**PROFILES[scale.profile], **dict(scale.sets)}.get(name, default)


def seeds(scale: Scale) -> range:
    return range(scale.seeds)

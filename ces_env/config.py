"""The one configuration object of a CES scenario, its validation and its named presets.

Every parameter of the simulator, its protocols and the environment lives in :class:`CESConfig`. It is validated
when it is built, so a scenario that runs is a scenario that makes sense; an unknown or inconsistent parameter raises
:class:`ConfigError` (a ``ValueError``) that names the field and says what is wrong. Nothing is silently ignored.

Time is counted in integer **ticks**; one tick is the time an agent of speed 1 needs to move one maze cell.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

Partition = Literal["interdependent", "independent"]
KnowledgeSharing = Literal["none", "group", "global"]
ExplorationMode = Literal["auto", "steered"]
RewardMode = Literal["individual", "team", "time"]
CostUnit = Literal["ticks", "exploration"]
Engine = Literal["auto", "python", "compiled"]

CONTROLS = ("centralized", "decentralized")
"""The paper's two controls. Any protocol registered in ``ces_env.core.protocols.CONTROL_PROTOCOLS`` is a legal
``control``; these two are the ones the main job and the reproduction compare."""
PARTITIONS: tuple[str, ...] = get_args(Partition)
KNOWLEDGE_SHARING: tuple[str, ...] = get_args(KnowledgeSharing)
EXPLORATION_MODES: tuple[str, ...] = get_args(ExplorationMode)
REWARD_MODES: tuple[str, ...] = get_args(RewardMode)
COST_UNITS: tuple[str, ...] = get_args(CostUnit)
ENGINES: tuple[str, ...] = get_args(Engine)
COST_FIELDS = (
    "assign_service_ticks",
    "validate_service_ticks",
    "claim_latency_ticks",
    "peer_validate_ticks",
    "negotiation_latency_ticks",
    "share_ticks_per_recipient",
    "split_ticks_per_group",
    "collect_ticks_per_group",
    "partition_ticks_per_task",
)
"""The protocol and system cost fields: ticks with ``cost_unit="ticks"``, fractions of the mean exploration time of
one maze with ``cost_unit="exploration"`` (converted by :meth:`CESConfig.in_ticks`)."""
MAX_EXPLORATION_FRACTION = 1000.0
"""Largest cost in exploration units (a thousand explorations of one maze)."""


class ConfigError(ValueError):
    """A configuration parameter is unknown, out of range or inconsistent with another one."""


@dataclass(frozen=True)
class CESConfig:
    """All parameters of a CES scenario (see the README's parameter table for the same list as a table).

    The fields ``n_agents``, ``n_groups``, ``n_tasks``, ``graph``, ``partition``, ``maze_size`` and ``control`` are the
    public, stable core; the others have documented defaults.
    """

    # --- scale -----------------------------------------------------------------------------------------------------
    n_agents: int = 10
    """Number of agents n; they are split into ``n_groups`` groups of n/l agents (sizes differ by at most one)."""
    n_groups: int = 2
    """Number of groups l (1 <= l <= n_agents)."""
    n_tasks: int = None  # type: ignore[assignment]  # None is resolved in __post_init__: readers always see an int
    """Number of tasks m. Not given (None): the graph file's own task count for a file, ``DEFAULT_N_TASKS`` (40) for a
    family. Resolved when the config is built, so ``replace(graph=...)`` keeps it unless ``n_tasks=None`` is passed."""

    # --- tasks -----------------------------------------------------------------------------------------------------
    graph: str = "lds"
    """Dependency graph: a family name (``ces_env.graphs.GRAPH_FAMILIES``) or the path of a graph file."""
    graph_density: float | None = None
    """Edge probability of the random layered families (None: the family's default). Rejected for other sources."""
    graph_layers: int | None = None
    """Depth of the random layered families: the tasks are dealt into exactly this many layers (sizes differing by at
    most one), so the longest dependency path is at most this many tasks (exactly, at density 1). None: layers of
    width round(sqrt(n_tasks)), about sqrt(n_tasks) deep. With ``graph_density=None`` the family's density is scaled
    so that the expected in-degree stays the family's (``ces_env.graphs.family_density``). In [1, n_tasks]; rejected
    for other sources."""
    partition: Partition = "interdependent"
    """How tasks are split among groups: ``"interdependent"`` (balanced random split; dependencies cross groups) or
    ``"independent"`` (whole connected components per group; no dependency crosses groups)."""
    reward_range: tuple[float, float] = (1.0, 10.0)
    """Task rewards are drawn uniformly in this closed range (both > 0)."""
    tasks_per_class: int = 4
    """Mean size of an inference class: tasks of one class share one maze and so one solution (t_k ~ t_j)."""

    # --- mazes -----------------------------------------------------------------------------------------------------
    maze_size: int | tuple[int, int] = 20
    """Maze height and width in cells (an int for a square maze); at least 2x2."""
    explorer: str = "dfs"
    """Exploration model of the automatic mode (``ces_env.maze.EXPLORERS``): ``"dfs"`` is depth-first exploration with
    a seeded random neighbour order, counting moves (forward and back) until the target is found."""
    solution_error_prob: float = 0.0
    """Probability that an explored solution is corrupted (one wrong step); the validator rejects it, no reward is
    paid and the task goes back to ready."""

    # --- agents ----------------------------------------------------------------------------------------------------
    agent_speed: float = 1.0
    """Maze cells an agent moves per tick (> 0)."""
    group_speeds: tuple[float, ...] = ()
    """Optional per-group multiplier of ``agent_speed`` (one value per group), for the paper's speed experiment."""
    speed_spread: float = 0.0
    """Each agent's speed is drawn uniformly in [s(1-spread), s(1+spread)] (0 <= spread < 1)."""

    # --- group control protocol --------------------------------------------------------------------------------------
    control: str = "centralized"
    """The group control protocol (``ces_env.core.protocols``): ``"centralized"``: one controller per group (a FIFO
    single server) assigns tasks and validates solutions. ``"decentralized"``: agents claim ready tasks themselves and
    validate peer to peer. Any registered protocol's name is accepted."""
    control_options: tuple[tuple[str, Any], ...] = ()
    """Parameters of the chosen protocol's own (its ``Options`` dataclass), as a dict or (name, value) pairs; stored
    sorted as pairs so that the config stays hashable. Costs that every protocol shares are the fields below."""
    assign_service_ticks: int = 2
    """Centralized: controller service time of one task assignment."""
    validate_service_ticks: int = 4
    """Centralized: controller service time of one solution validation."""
    claim_latency_ticks: int = 3
    """Decentralized: time from broadcasting a claim until it is known to every peer; two claims on one task inside
    that window conflict, and the earlier claim (then the lower agent id) wins."""
    peer_validate_ticks: int = 4
    """Decentralized: time for the peers to validate a broadcast solution."""
    negotiation_latency_ticks: int = 3
    """Negotiation mechanisms (``ces_env.core.protocols.negotiation``): ticks for one hop of negotiation messages (an
    announcement, the bids, an award, one clock call or the answers to it) to reach their recipients. Default 3, the
    claim latency: a hop costs what a claim broadcast costs."""
    share_ticks_per_recipient: int = 0
    """Knowledge sharing (Algorithm 1, lines 13-15): the entity that validated a solution sends it to its recipients
    one after the other, so recipient k (by agent id, the solver excluded) learns it k times this later. Under
    centralized control (and decentralized with ``validation="central"``) the group's server is busy for it: a job
    served right after the validation. Default 0: everybody learns at once, for free."""
    cost_unit: CostUnit = "ticks"
    """Unit of the cost fields (``COST_FIELDS``): ``"ticks"`` (integers) or ``"exploration"``: a fraction (float) of
    the mean time one agent of ``agent_speed`` needs to explore one maze of ``maze_size``, estimated as
    ``expected_exploration_moves`` of the negotiation mechanisms (``n_cells - 1`` moves for depth-first search) over
    the speed, so one calibration means the same at 20x20 and 400x400. :meth:`CESConfig.in_ticks` converts."""
    knowledge_sharing: KnowledgeSharing = "group"
    """Who learns a validated solution: ``"none"`` (only the solver), ``"group"`` (the solver's group, the paper's
    choice) or ``"global"`` (every agent)."""
    split_ticks_per_group: int = 2
    """System-level work before execution starts: splitting the tasks costs this many ticks per group."""
    collect_ticks_per_group: int = 2
    """System-level work after the last task: collecting results costs this many ticks per group."""
    partition_ticks_per_task: int = 0
    """``partition="independent"`` only: finding the independent subsets of tasks (Table 4's "additional step")
    costs this many ticks per task before execution starts, on top of the split. Default 0."""

    # --- faults and self-interested agents (ces_env.core.faults; all off by default) --------------------------------
    crash_rate: float = 0.0
    """Probability per tick of work that an executing agent crashes (0 <= rate < 1; the delay is drawn when the
    execution starts, geometric over ticks of work). The task goes back to ready, the partial work is lost (counted in
    ``lost_work_ticks``), and the agent is down (status FINISHED, ``sim.down``) until it recovers."""
    crash_recovery_ticks: int | None = None
    """A crashed agent is back (available again) after this many ticks (>= 1). None: it never recovers; if every agent
    of a group is down for good with tasks left, the episode is truncated with reason ``"crashed"``."""
    controller_outage_start: int | None = None
    """Tick at which group controllers fail (centralized control: the controller stops serving, its queue waits; a
    service in progress is lost and redone after the outage). None: no outage. Protocols without a controller have
    nothing to fail and are unaffected."""
    controller_outage_ticks: int | None = None
    """How long the outage lasts (>= 1). None: for good (unless an election replaces the controller; with neither the
    episode is truncated with reason ``"controller_down"`` once nothing else can happen)."""
    controller_outage_group: int | None = None
    """The group whose controller fails (0 <= g < n_groups). None: every group's."""
    election_timeout_ticks: int | None = None
    """After the controller has been silent this many ticks (>= 0), the group elects a new one (a standby node; the
    agents keep working), which takes ``election_ticks`` and ``2(s-1)`` messages (the call to the s-1 agents, their
    votes), and service resumes. None: no election."""
    election_ticks: int = 10
    """Ticks an election takes (>= 0), from its call to the new controller's first service."""
    byzantine_fraction: float = 0.0
    """Fraction of agents (``round(f n)``, drawn at reset; never the last honest agent of a group) that submit false
    solutions (a path with a jump). The validator rejects them, they are never rewarded, the task goes back to ready,
    and the rejected agent is quarantined (out of the episode), so another agent redoes the task."""
    misreport_fraction: float = 0.0
    """Fraction of agents (``round(f n)``, drawn at reset) that misstate their costs in every bid of a negotiation
    mechanism (``estimated_cost`` times ``misreport_factor``)."""
    misreport_factor: float = 1.0
    """Factor by which misreporting agents scale their reported costs (> 0; > 1 overstates, < 1 understates)."""

    # --- environment -----------------------------------------------------------------------------------------------
    exploration_mode: ExplorationMode = "auto"
    """``"auto"``: exploration runs by itself at the agent's speed and the env jumps to the next decision.
    ``"steered"``: exploring agents choose every maze move (N/E/S/W) from a local view of the maze."""
    n_candidates: int = 8
    """K: number of ready-task slots an idle agent chooses from (ordered by reward, then task id)."""
    view_radius: int = 2
    """Steered mode: the local maze view is (2r+1) x (2r+1) cells around the agent."""
    wait_ticks: int | None = None
    """How long a wait lasts. None (default): until something changes for the agent (a task of its group becomes
    ready, a claim or an assignment resolves, a groupmate frees up); if nothing else is pending, the waiting agents are
    asked again with waiting masked out, and if they still wait the episode is truncated. An integer: the agent is
    asked again after this many ticks (>= 1; greedy policies can then wait until ``max_ticks``)."""
    reward_mode: RewardMode = "individual"
    """``"individual"``: a task's reward goes to the agent whose solution is validated (reward-first).
    ``"team"``: every agent receives the sum of the rewards the whole team earned in the step.
    ``"time"``: every live agent receives ``-elapsed_ticks / reward_time_scale`` each step, so that each agent's
    undiscounted return is ``-ET / reward_time_scale`` (train with this to minimise ET)."""
    reward_time_scale: float = 1.0
    """``reward_mode="time"``: ticks per unit of reward (>= 1e-12, so that ``-ET / scale`` stays finite), e.g. about
    the ET of an episode for returns near -1."""
    time_penalty: float = 0.0
    """Reward subtracted from every agent per elapsed tick (>= 0)."""
    max_ticks: int | None = None
    """Truncation limit in ticks. None: twice the time one agent of the slowest speed would need to do every task
    alone with a worst-case exploration (a random walk's in the steered mode or with the random-walk explorer), plus
    every protocol cost. 0 of 60 `steered` episodes under random masked actions hit it (a random walk in every
    maze)."""
    strict_actions: bool = False
    """If True, a masked-out action raises ``ValueError``; if False it is treated as wait (and counted in the info)."""
    engine: Engine = "auto"
    """Which simulator runs the episode; never what happens in it (both play the same episode on the same seed).
    ``"compiled"``: the numba event loop of :mod:`ces_env.core.compiled` (the CES controls, automatic exploration
    with the dfs or wall-follower explorer, no faults; anything else is refused); ``"python"``: the reference
    simulator, which runs every protocol and records traces; ``"auto"``: compiled where it can run the scenario (and
    no trace is recorded), else Python."""

    def __post_init__(self) -> None:
        options = self.control_options
        if isinstance(options, (Mapping, list, tuple)):  # a dict, or pairs (also as JSON lists from a CSV row)
            try:
                pairs = tuple(sorted((str(k), v) for k, v in dict(options).items()))
            except (TypeError, ValueError):
                raise ConfigError(
                    f"config field 'control_options': must be a dict of option values, got {options!r}"
                ) from None
            object.__setattr__(self, "control_options", pairs)  # frozen: normalised once, before validation
        else:
            raise ConfigError(f"config field 'control_options': must be a dict of option values, got {options!r}")
        _normalise_user_types(self)
        if self.n_tasks is None:  # frozen: set once, before validation, so that every check sees the count
            object.__setattr__(self, "n_tasks", _default_n_tasks(self.graph))
        _validate(self)

    # --- derived -----------------------------------------------------------------------------------------------------
    @property
    def maze_shape(self) -> tuple[int, int]:
        """(height, width) of every maze."""
        if isinstance(self.maze_size, int):
            return (self.maze_size, self.maze_size)
        return (int(self.maze_size[0]), int(self.maze_size[1]))

    @property
    def n_classes(self) -> int:
        """Number of inference classes (one maze each)."""
        return max(1, math.ceil(self.n_tasks / self.tasks_per_class))

    @property
    def exploration_unit_ticks(self) -> float:
        """Ticks of one cost unit under ``cost_unit="exploration"``: the expected moves of the configured explorer in
        one maze (from its size only) over ``agent_speed``."""
        from ces_env.core.protocols.negotiation import expected_exploration_moves  # late: config stays light

        height, width = self.maze_shape
        return expected_exploration_moves(height * width, self.explorer) / self.agent_speed

    def in_ticks(self) -> CESConfig:
        """The same scenario with every cost in ticks: itself if ``cost_unit="ticks"``. A fraction ``f`` becomes
        ``round(f * exploration_unit_ticks)`` (half up), and at least 1 tick when ``f > 0``, so that a cost that is
        on never vanishes in a small maze. The simulator runs on this config; protocols only ever see ticks."""
        if self.cost_unit == "ticks":
            return self
        unit = self.exploration_unit_ticks
        ticks: dict[str, Any] = {name: _fraction_to_ticks(getattr(self, name), unit) for name in COST_FIELDS}
        return dataclasses.replace(self, cost_unit="ticks", **ticks)

    def replace(self, **changes: Any) -> CESConfig:
        """A copy with some fields changed (validated like any config)."""
        return make_config(base=self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(CESConfig))
DEFAULT_N_TASKS = 40

# --- limits -------------------------------------------------------------------------------------------------------
# Upper bounds that keep a scenario inside what the simulator can represent and the machine can hold, so that a
# mistaken value fails at once with a ConfigError instead of late with a MemoryError, an overflow or a hang.
MAX_AGENTS = 100_000
MAX_TASKS = 2_000_000
MAX_CANDIDATES = 10_000
TICK_LIMIT = 10**12
"""Largest value of any tick cost or wait: sums of them over millions of tasks stay far inside int64."""
TIME_LIMIT = 2**62
"""Largest reachable tick (``max_ticks`` and the estimate of the longest possible episode): int64 headroom."""
AGENT_TICKS_LIMIT = 2**63 - 1
"""Largest count of agent-ticks (a group's size times the longest possible episode: its TWT): int64."""
SPEED_RANGE = (1e-6, 1e6)
REWARD_LIMIT = 1e12
"""Largest task reward: the sum over every task stays finite and exact enough."""
MISREPORT_FACTOR_LIMIT = 1e6
"""Largest factor by which an agent may misstate its costs (reported costs stay far inside int64)."""
MEMORY_FRACTION = 0.5
"""A scenario may use at most this fraction of the machine's physical memory (estimated before anything is built)."""


def machine_memory_bytes() -> int:
    """Physical memory of this machine (a generous 64 GiB where it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 64 * 2**30


TASK_BYTES = 1536
"""Bytes held per task (its arrays, events, graph node and bookkeeping): measured about 1.0-1.1 KB (chain graphs,
one class; peak RSS of a reset and a step minus the process's before, 20k-100k tasks)."""
EDGE_BYTES = 512
"""Bytes held per dependency edge (networkx adjacency both ways plus the edge list it is built from): measured
220-330 B (lds and hds graphs, 140k-7.9M edges)."""
CLASS_BYTES = 1024
"""Bytes held per inference class beside its cells (the maze object, its solution, its tables): measured about
700 B (50,000 classes of 2x2 mazes against one)."""


def estimate_memory(c: CESConfig) -> dict[str, float]:
    """Bytes an episode of ``c`` holds, by the field that drives each part (an upper estimate, computed in O(1)).

    Mazes: per class ``CLASS_BYTES`` plus a passage byte and up to a 4-byte solution cell per cell (measured about
    1.1 bytes per cell), plus the generator's 16 bytes per cell of one maze at a time. Tasks: ``TASK_BYTES`` each.
    Graph: ``EDGE_BYTES`` per dependency edge (the expected count, ``ces_env.graphs.expected_edge_count``: the random
    layered families have about density x sqrt(n_tasks) edges per task, so the graph, not the task count, dominates
    large ``lds``/``hds`` scenarios). Agents: their knowledge row (one byte per class), about 1 KiB of state, and
    three float32 copies of their observation (n_candidates slots, steered view). The factors are measured peaks
    (see each constant: ``resource.getrusage`` max RSS of a fresh process before and after a reset and one step,
    20k-100k tasks) with a margin of at least 1.2x."""
    from ces_env.graphs import expected_edge_count  # late import, like the graph check in _validate

    height, width = c.maze_shape
    cells = float(height) * float(width)
    classes = max(1.0, math.ceil(c.n_tasks / c.tasks_per_class))
    side = 2 * c.view_radius + 1
    view = side * side * 5 if c.exploration_mode == "steered" else 0
    edges = expected_edge_count(c.graph, c.n_tasks, c.graph_density, c.graph_layers)
    return {
        "maze_size": classes * (cells * 5 + CLASS_BYTES) + cells * 16,
        "n_tasks": float(TASK_BYTES) * c.n_tasks,
        "graph": float(EDGE_BYTES) * edges,
        "n_agents": float(c.n_agents) * (classes + 1024 + 4.0 * 3 * 30),
        "n_candidates": float(c.n_agents) * 4.0 * 3 * 6 * c.n_candidates,
        "view_radius": float(c.n_agents) * 4.0 * 3 * view,
    }


def _fraction_to_ticks(fraction: float, unit: float) -> int:
    """``fraction`` of ``unit`` ticks, rounded half up; a positive fraction gives at least 1 tick."""
    if fraction <= 0:
        return 0
    return max(1, math.floor(fraction * unit + 0.5))


def _normalise_user_types(c: CESConfig) -> None:
    """Accept what a user naturally passes: numpy scalars as numbers, a ``pathlib.Path`` as the graph's path."""

    def plain(value: Any) -> Any:
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, (list, tuple)):
            return type(value)(plain(v) for v in value)
        return value

    for field in dataclasses.fields(c):
        value = getattr(c, field.name)
        new = os.fspath(value) if isinstance(value, os.PathLike) else plain(value)
        if new is not value:
            object.__setattr__(c, field.name, new)  # frozen: normalised once, before validation


def _default_n_tasks(graph: Any) -> int:
    """The file's task count for a graph file, else ``DEFAULT_N_TASKS``; a bad ``graph`` is left to ``_validate``,
    which reports it naming the field (the file's parse is cached, so a good file is read once for both)."""
    from ces_env.graphs import file_task_count  # late import, like the checks in _validate

    try:
        count = file_task_count(graph)
    except (TypeError, ValueError, OSError):
        return DEFAULT_N_TASKS
    return DEFAULT_N_TASKS if count is None else count


def _validate(c: CESConfig) -> None:
    def fail(name: str, message: str) -> None:
        raise ConfigError(f"config field '{name}': {message}")

    def check_int(name: str, low: int | None = None) -> None:
        value = getattr(c, name)
        if isinstance(value, bool) or not isinstance(value, int):
            fail(name, f"must be an integer, got {value!r}")
        if low is not None and value < low:
            fail(name, f"must be >= {low}, got {value}")

    def check_choice(name: str, choices: tuple[str, ...]) -> None:
        value = getattr(c, name)
        if value not in choices:
            fail(name, f"must be one of {', '.join(map(repr, choices))}, got {value!r}")

    def check_number(name: str, low: float, *, strict: bool = False, high: float | None = None) -> None:
        value = getattr(c, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            fail(name, f"must be a finite number, got {value!r}")
        if value < low or (strict and value == low):
            fail(name, f"must be {'>' if strict else '>='} {low}, got {value}")
        if high is not None and value > high:
            fail(name, f"must be <= {high}, got {value}")

    def check_at_most(name: str, limit: float, value: float | None = None, what: str = "") -> None:
        value = getattr(c, name) if value is None else value
        if value > limit:
            fail(name, f"{what or value} is above the limit {limit:g} (ces_env.config limits)")

    if c.n_agents == 0:
        fail("n_agents", "there must be at least one agent")
    check_int("n_agents", 1)
    check_at_most("n_agents", MAX_AGENTS)
    check_int("n_groups", 1)
    if c.n_groups > c.n_agents:
        fail("n_groups", f"{c.n_groups} groups for {c.n_agents} agents: every group needs at least one agent")
    check_int("n_tasks", 1)
    check_at_most("n_tasks", MAX_TASKS)
    if not isinstance(c.graph, str) or not c.graph:
        fail("graph", f"must be a family name or a file path, got {c.graph!r}")
    if c.graph_density is not None:
        check_number("graph_density", 0.0, high=1.0)
    from ces_env.graphs import resolve_graph_source  # late import, like the maze check below

    try:
        resolve_graph_source(c.graph, c.graph_density)
    except (ValueError, OSError) as error:
        fail("graph_density" if "density" in str(error) and c.graph_density is not None else "graph", str(error))
    if c.graph_layers is not None:
        _validate_graph_layers(c, check_int, fail)
    check_choice("partition", PARTITIONS)
    if not (isinstance(c.reward_range, (tuple, list)) and len(c.reward_range) == 2):
        fail("reward_range", f"must be a pair (low, high), got {c.reward_range!r}")
    low, high = c.reward_range
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (low, high)):
        fail("reward_range", f"must hold two finite numbers, got {c.reward_range!r}")
    if not 0 < low <= high:
        fail("reward_range", f"needs 0 < low <= high (rewards are positive), got {c.reward_range!r}")
    check_at_most("reward_range", REWARD_LIMIT, high, f"the highest reward {high:g}")
    check_int("tasks_per_class", 1)

    size = c.maze_size
    if isinstance(size, (tuple, list)):
        if len(size) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in size):
            fail("maze_size", f"must be an int or a pair of ints (height, width), got {size!r}")
    elif isinstance(size, bool) or not isinstance(size, int):
        fail("maze_size", f"must be an int or a pair of ints (height, width), got {size!r}")
    if min(c.maze_shape) < 2:
        fail("maze_size", f"a maze must be at least 2x2 cells, got {c.maze_shape[0]}x{c.maze_shape[1]}")
    from ces_env.maze import EXPLORERS  # late import: maze pulls numba, config must stay light

    if c.explorer not in EXPLORERS:
        fail("explorer", f"must be one of {', '.join(map(repr, EXPLORERS))}, got {c.explorer!r}")
    check_number("solution_error_prob", 0.0, high=1.0)

    check_number("agent_speed", 0.0, strict=True)
    if not SPEED_RANGE[0] <= c.agent_speed <= SPEED_RANGE[1]:
        fail("agent_speed", f"must lie in [{SPEED_RANGE[0]:g}, {SPEED_RANGE[1]:g}] cells per tick, got {c.agent_speed}")
    if not isinstance(c.group_speeds, (tuple, list)):
        fail("group_speeds", f"must be a sequence of numbers, got {c.group_speeds!r}")
    if c.group_speeds and len(c.group_speeds) != c.n_groups:
        fail("group_speeds", f"has {len(c.group_speeds)} values but there are {c.n_groups} groups")
    for k, s in enumerate(c.group_speeds):
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s) or s <= 0:
            fail("group_speeds", f"value {k} must be a positive number, got {s!r}")
    check_number("speed_spread", 0.0)
    if c.speed_spread >= 1.0:
        fail("speed_spread", f"must be < 1 so that every speed stays positive, got {c.speed_spread}")
    multipliers = list(c.group_speeds) or [1.0]
    slowest = c.agent_speed * min(multipliers) * (1.0 - c.speed_spread)
    fastest = c.agent_speed * max(multipliers) * (1.0 + c.speed_spread)
    if slowest < SPEED_RANGE[0] or fastest > SPEED_RANGE[1]:
        fail(
            "group_speeds" if c.group_speeds else "speed_spread",
            f"agent speeds would range over [{slowest:g}, {fastest:g}] cells per tick, outside "
            f"[{SPEED_RANGE[0]:g}, {SPEED_RANGE[1]:g}]",
        )

    from ces_env.core.protocols import CONTROL_PROTOCOLS  # late import: protocols may be registered after this module

    check_choice("control", tuple(CONTROL_PROTOCOLS))
    try:
        CONTROL_PROTOCOLS[c.control].make_options(dict(c.control_options))
    except (TypeError, ValueError) as error:
        fail("control_options", str(error))
    check_choice("cost_unit", COST_UNITS)
    for name in COST_FIELDS:
        if c.cost_unit == "ticks":
            check_int(name, 0)
            check_at_most(name, TICK_LIMIT)
        else:
            check_number(name, 0.0, high=MAX_EXPLORATION_FRACTION)
            check_at_most(name, TICK_LIMIT, getattr(c, name) * c.exploration_unit_ticks, f"{getattr(c, name)} maze(s)")
    check_choice("knowledge_sharing", KNOWLEDGE_SHARING)
    _validate_faults(c, check_int, check_number, check_at_most, fail)

    check_choice("exploration_mode", EXPLORATION_MODES)
    check_int("n_candidates", 1)
    check_at_most("n_candidates", MAX_CANDIDATES)
    check_int("view_radius", 0)
    if c.wait_ticks is not None:
        check_int("wait_ticks", 1)
        check_at_most("wait_ticks", TICK_LIMIT)
    check_choice("reward_mode", REWARD_MODES)
    check_choice("engine", ENGINES)
    if c.engine == "compiled":
        from ces_env.core.compiled import unsupported_reason  # late import, like the graph check

        reason = unsupported_reason(c)
        if reason is not None:
            fail("engine", f"'compiled' cannot run this scenario: {reason} (use 'auto' or 'python')")
    check_number("reward_time_scale", 1.0 / REWARD_LIMIT)  # -ET / scale stays finite for every ET < TIME_LIMIT
    check_number("time_penalty", 0.0, high=REWARD_LIMIT)
    if c.max_ticks is not None:
        check_int("max_ticks", 1)
        check_at_most("max_ticks", TIME_LIMIT)
    _check_capacity(c, fail)
    if not isinstance(c.strict_actions, bool):
        fail("strict_actions", f"must be True or False, got {c.strict_actions!r}")


def _validate_graph_layers(c: CESConfig, check_int: Any, fail: Any) -> None:
    """``graph_layers``: an integer in [1, n_tasks] (every layer holds a task), for a random layered family only."""
    from ces_env.graphs import DEFAULT_DENSITY  # late import, like the graph check in _validate

    check_int("graph_layers", 1)
    if c.graph not in DEFAULT_DENSITY:
        fail("graph_layers", f"applies only to the random layered families {sorted(DEFAULT_DENSITY)}, not {c.graph!r}")
    if c.graph_layers is not None and c.graph_layers > c.n_tasks:  # (never None here: mypy cannot see it)
        fail("graph_layers", f"must be <= n_tasks ({c.n_tasks}): every layer holds at least one task")


def _validate_faults(c: CESConfig, check_int: Any, check_number: Any, check_at_most: Any, fail: Any) -> None:
    """The fault options (ces_env.core.faults): ranges, and the outage fields only with an outage."""
    check_number("crash_rate", 0.0)
    if c.crash_rate >= 1.0:
        fail("crash_rate", f"must be < 1 (an agent must be able to finish a tick of work), got {c.crash_rate}")
    if c.crash_recovery_ticks is not None:
        check_int("crash_recovery_ticks", 1)
        check_at_most("crash_recovery_ticks", TICK_LIMIT)
    if c.controller_outage_start is None:
        for name in ("controller_outage_ticks", "controller_outage_group", "election_timeout_ticks"):
            if getattr(c, name) is not None:
                fail(name, "needs a controller outage (set controller_outage_start)")
    else:
        check_int("controller_outage_start", 0)
        check_at_most("controller_outage_start", TIME_LIMIT)
    if c.controller_outage_ticks is not None:
        check_int("controller_outage_ticks", 1)
        check_at_most("controller_outage_ticks", TICK_LIMIT)
    if c.controller_outage_group is not None:
        check_int("controller_outage_group", 0)
        if c.controller_outage_group >= c.n_groups:
            fail(
                "controller_outage_group",
                f"must name a group (< n_groups={c.n_groups}), got {c.controller_outage_group}",
            )
    if c.election_timeout_ticks is not None:
        check_int("election_timeout_ticks", 0)
        check_at_most("election_timeout_ticks", TICK_LIMIT)
    check_int("election_ticks", 0)
    check_at_most("election_ticks", TICK_LIMIT)
    check_number("byzantine_fraction", 0.0, high=1.0)
    check_number("misreport_fraction", 0.0, high=1.0)
    check_number("misreport_factor", 0.0, strict=True, high=MISREPORT_FACTOR_LIMIT)


def _check_capacity(c: CESConfig, fail: Any) -> None:
    """The scenario's memory and its longest possible episode, estimated before anything is built."""
    budget = MEMORY_FRACTION * machine_memory_bytes()
    parts = estimate_memory(c)
    if sum(parts.values()) > budget:
        field, _ = max(parts.items(), key=lambda item: item[1])
        fail(
            field,
            f"the scenario would need about {sum(parts.values()) / 2**30:.3g} GiB (mostly for this field), more than "
            f"the {budget / 2**30:.3g} GiB this machine can give ({MEMORY_FRACTION:.0%} of its memory)",
        )
    # the automatic max_ticks: twice (overheads + every task explored worst-case by the slowest agent + its costs)
    c = c.in_ticks()
    height, width = c.maze_shape
    slowest = c.agent_speed * min(list(c.group_speeds) or [1.0]) * (1.0 - c.speed_spread)
    explore = 2.0 * height * width / slowest
    protocol = float(
        c.assign_service_ticks
        + c.validate_service_ticks
        + c.claim_latency_ticks
        + c.peer_validate_ticks
        + 4 * c.negotiation_latency_ticks
        + (c.wait_ticks or 0)
    )
    overheads = float(c.split_ticks_per_group + c.collect_ticks_per_group) * c.n_groups
    overheads += float(c.partition_ticks_per_task) * c.n_tasks
    protocol += float(c.share_ticks_per_recipient) * c.n_agents
    longest = 2.0 * (overheads + c.n_tasks * (explore + protocol))
    if longest > TIME_LIMIT:
        worst = "maze_size" if explore > protocol else "n_tasks"
        fail(worst, f"the longest possible episode ({longest:.3g} ticks) would pass the int64 limit {TIME_LIMIT:.3g}")
    # the metrics' largest product: a group's total waiting time counts every member over the whole episode
    largest_group = -(-c.n_agents // c.n_groups)
    if largest_group * longest > AGENT_TICKS_LIMIT:
        fail(
            "n_agents",
            f"groups of up to {largest_group} agents over the longest possible episode ({longest:.3g} ticks) make "
            f"{largest_group * longest:.3g} agent-ticks of waiting time (TWT), past the int64 limit "
            f"{AGENT_TICKS_LIMIT:.3g}",
        )


# --- presets ---------------------------------------------------------------------------------------------------------
# Named scenarios. Each is a set of overrides of the defaults; the defaults of every protocol cost are the same in
# every preset, so that comparisons between presets come from the scenario, never from tuned costs.
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(n_agents=4, n_groups=2, n_tasks=12, maze_size=8, graph="lds"),
    "small": dict(n_agents=10, n_groups=2, n_tasks=40, maze_size=20, graph="lds"),
    "small-decentralized": dict(
        n_agents=10, n_groups=2, n_tasks=40, maze_size=20, graph="lds", control="decentralized"
    ),
    "steered": dict(n_agents=4, n_groups=2, n_tasks=8, maze_size=6, graph="lds", exploration_mode="steered"),
    # The paper's scales (Karishma & Rao): Table 1/2 scale, Table 3 (5 groups x 18 G18-like tasks, 400x400 mazes),
    # Table 4 (80 tasks per group, LDS/HDS).
    "paper-500": dict(n_agents=50, n_groups=10, n_tasks=500, maze_size=400, graph="lds"),
    "paper-table3": dict(n_agents=25, n_groups=5, n_tasks=90, maze_size=400, graph="g18"),
    "paper-table4-lds": dict(n_agents=10, n_groups=2, n_tasks=160, maze_size=100, graph="g18", control="decentralized"),
    "paper-table4-hds": dict(n_agents=10, n_groups=2, n_tasks=160, maze_size=100, graph="g40", control="decentralized"),
}
DEFAULT_PRESET = "small"


def make_config(preset: str | None = None, base: CESConfig | None = None, **overrides: Any) -> CESConfig:
    """Build a validated config from a preset name (or a base config) plus keyword overrides.

    Unknown keywords are rejected with the list of valid field names; nothing is silently ignored.
    """
    unknown = sorted(set(overrides) - set(FIELD_NAMES))
    if unknown:
        raise ConfigError(
            f"unknown config field(s) {', '.join(map(repr, unknown))}; valid fields: {', '.join(FIELD_NAMES)}"
        )
    if preset is not None and base is not None:
        raise ConfigError("give either a preset or a base config, not both")
    values: dict[str, Any] = {}
    if base is not None:
        values.update(base.to_dict())
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
        values.update(PRESETS[preset])
    values.update(overrides)
    for key in ("reward_range", "group_speeds", "maze_size"):  # lists from JSON/CLI become tuples (hashable)
        if isinstance(values.get(key), list):
            values[key] = tuple(values[key])
    return CESConfig(**values)


__all__ = [
    "CESConfig",
    "ConfigError",
    "PRESETS",
    "DEFAULT_PRESET",
    "FIELD_NAMES",
    "make_config",
    "CONTROLS",
    "PARTITIONS",
    "KNOWLEDGE_SHARING",
    "EXPLORATION_MODES",
    "REWARD_MODES",
    "COST_UNITS",
    "COST_FIELDS",
]

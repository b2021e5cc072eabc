"""The config's capacity checks: the memory estimate, the machine's budget, and the longest possible episode.

A scenario too big for the machine, or whose longest episode would overflow int64 ticks, is refused before anything is
built. These tests work each estimate out by hand on small configs and put the limits at the estimate's exact value,
so that a term dropped or changed in either formula moves it across the edge.
"""

import math
from pathlib import Path

import pytest

from ces_env import config as config_module
from ces_env.config import MEMORY_FRACTION, ConfigError, estimate_memory, make_config

# every cost field distinct, so that each term of the longest-episode formula is visible in the total
COSTS = dict(
    assign_service_ticks=1,
    validate_service_ticks=2,
    claim_latency_ticks=3,
    peer_validate_ticks=4,
    negotiation_latency_ticks=5,
    wait_ticks=6,
    share_ticks_per_recipient=7,
    split_ticks_per_group=8,
    collect_ticks_per_group=9,
)


def test_memory_estimate_by_part_worked_out_by_hand() -> None:
    """3 agents, 10 tasks of 4 per class (3 classes), 6x7 mazes (42 cells), a chain, K = 5 slots, automatic exploration.

    mazes: 3 classes x (42 cells x 5 bytes + 1024) + 42 cells x 16 bytes = 3 x 1234 + 672 = 4374;
    tasks: 1536 x 10 = 15360; graph: 9 edges x 512 = 4608; agents: 3 x (3 classes + 1024 + 4 x 3 x 30) = 3 x 1387 =
    4161; candidates: 3 agents x 4 bytes x 3 copies x 6 features x 5 slots = 1080; no maze view (not steered): 0.
    """
    config = make_config(
        n_agents=3, n_groups=1, n_tasks=10, tasks_per_class=4, maze_size=(6, 7), n_candidates=5, graph="chain"
    )
    assert estimate_memory(config) == {
        "maze_size": 4374.0,
        "n_tasks": 15360.0,
        "graph": 4608.0,
        "n_agents": 4161.0,
        "n_candidates": 1080.0,
        "view_radius": 0.0,
    }


def test_a_single_class_of_tasks_holds_one_maze_per_agent_in_the_memory_estimate() -> None:
    """3 tasks of up to 4 per class: one class. Mazes: 1 x (42 x 5 + 1024) + 42 x 16 = 1906; agents: 2 x (1 + 1024 +
    360)."""
    config = make_config(n_agents=2, n_groups=1, n_tasks=3, tasks_per_class=4, maze_size=(6, 7))
    parts = estimate_memory(config)
    assert (parts["maze_size"], parts["n_agents"]) == (1906.0, 2770.0)


def test_a_steered_agent_holds_its_maze_view_in_the_memory_estimate() -> None:
    """Steered, radius 2: a 5x5 view of 5 channels = 125 values; 3 agents x 4 bytes x 3 copies x 125 = 4500."""
    config = make_config(n_agents=3, n_groups=1, n_tasks=4, maze_size=6, exploration_mode="steered", view_radius=2)
    assert estimate_memory(config)["view_radius"] == 4500.0


@pytest.mark.parametrize(
    ("graph", "layers", "density", "edges"),
    [
        # 10 tasks in layers of width round(sqrt(10)) = 3: sizes 3, 3, 3, 1: 9 + 9 + 3 = 21 pairs at density 0.05
        ("lds", None, None, 21 * 0.05),
        # 3 layers of 4, 3, 3: 12 + 9 = 21 pairs at the given density
        ("hds", 3, 0.5, 21 * 0.5),
        # 10 layers of one task: 9 pairs, at the lds density scaled by width round(sqrt(10)) = 3 over 1 (capped at 1)
        ("lds", 10, None, 9 * 0.15),
        # g40 (40 tasks, 123 edges) tiled to 100 tasks: three copies counted whole (an upper bound)
        ("g40", None, None, 3 * 123),
        ("independent", None, None, 0),
    ],
)
def test_the_graph_part_of_the_memory_estimate_counts_the_expected_edges(graph, layers, density, edges) -> None:
    n_tasks = 100 if graph == "g40" else 10
    config = make_config(n_tasks=n_tasks, graph=graph, graph_layers=layers, graph_density=density)
    assert estimate_memory(config)["graph"] == pytest.approx(512 * edges, rel=1e-12)


@pytest.mark.parametrize("family", ["lds", "hds", "layered"])
@pytest.mark.parametrize("n_tasks", [1, 2, 3, 7, 10, 99, 1001])
def test_the_expected_edge_count_is_the_density_times_the_pairs_of_consecutive_layers(family, n_tasks) -> None:
    """The closed form against the layer sizes themselves, for every shape of the last layer and every depth."""
    from ces_env.graphs import expected_edge_count, family_density, layer_sizes

    for layers in {None, 1, 2, 3, n_tasks} - {k for k in (2, 3) if k > n_tasks}:
        sizes = layer_sizes(n_tasks, layers)
        pairs = sum(a * b for a, b in zip(sizes, sizes[1:]))
        expected = family_density(family, n_tasks, layers) * pairs
        assert expected_edge_count(family, n_tasks, layers=layers) == pytest.approx(expected, rel=1e-12, abs=0)


def test_a_dense_graph_of_two_million_tasks_is_refused_naming_the_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    """2,000,000 hds tasks: about 0.25 x 1414 = 354 predecessors per task, 7e8 edges of 512 bytes (341 GiB): the
    task count alone (3 GiB) would have passed on a machine giving 32 GiB."""
    _pretend_memory(monkeypatch, 32 * 2**30)
    make_config(n_tasks=2_000_000, graph="chain")
    with pytest.raises(ConfigError, match=r"^config field 'graph': the scenario would need about 3\d\d GiB"):
        make_config(n_tasks=2_000_000, graph="hds")


def _pretend_memory(monkeypatch: pytest.MonkeyPatch, budget: float) -> None:
    """Make the machine report the physical memory whose MEMORY_FRACTION is ``budget`` bytes."""
    monkeypatch.setattr(config_module, "machine_memory_bytes", lambda: math.ceil(budget / MEMORY_FRACTION))


def test_a_scenario_needing_exactly_the_memory_budget_is_accepted_and_one_byte_more_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    overrides = dict(
        n_agents=3, n_groups=1, n_tasks=10, tasks_per_class=4, maze_size=(6, 7), n_candidates=5, graph="chain"
    )
    need = sum(estimate_memory(make_config(**overrides)).values())  # 29583 bytes, worked out above
    assert need == 4374 + 15360 + 4608 + 4161 + 1080
    _pretend_memory(monkeypatch, need)
    make_config(**overrides)
    _pretend_memory(monkeypatch, need - 2)  # the memory is rounded up to whole bytes: 2 below stays below
    with pytest.raises(ConfigError) as error:
        make_config(**overrides)
    # the largest part (the 10 tasks' 15360 bytes) names the field to change; the budget is half the memory
    message = str(error.value)
    assert message.startswith("config field 'n_tasks':")
    assert f"about {need / 2**30:.3g} GiB" in message and "(50% of its memory)" in message
    budget = MEMORY_FRACTION * math.ceil((need - 2) / MEMORY_FRACTION)
    assert f"more than the {budget / 2**30:.3g} GiB this machine can give" in message


def test_the_memory_refusal_names_the_field_whose_part_is_largest(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_memory(monkeypatch, 1000.0)
    with pytest.raises(ConfigError, match="^config field 'maze_size':"):
        make_config(n_agents=1, n_groups=1, n_tasks=1, maze_size=100)  # 100x100 maze: 211024 bytes of 214521
    with pytest.raises(ConfigError, match="^config field 'n_agents':"):
        make_config(n_agents=50, n_groups=1, n_tasks=1, maze_size=2, n_candidates=1)


def _longest_by_hand(
    n_groups: int, n_tasks: int, cells: int, slowest: float, partition_ticks: int = 0, n_agents: int = 2
) -> float:
    """Twice (overheads + every task explored by the slowest agent over 2 x cells moves + its protocol costs)."""
    c = COSTS
    explore = 2.0 * cells / slowest
    protocol = (
        c["assign_service_ticks"]
        + c["validate_service_ticks"]
        + c["claim_latency_ticks"]
        + c["peer_validate_ticks"]
        + 4 * c["negotiation_latency_ticks"]
        + c["wait_ticks"]
        + c["share_ticks_per_recipient"] * n_agents
    )
    overheads = (c["split_ticks_per_group"] + c["collect_ticks_per_group"]) * n_groups + partition_ticks * n_tasks
    return 2.0 * (overheads + n_tasks * (explore + protocol))


@pytest.mark.parametrize(
    ("overrides", "longest", "field"),
    [
        # 4x5 maze: explore 2 x 20 / (speed 2 x (1 - spread 0.5)) = 40 < protocol 1+2+3+4+20+6+14 = 50
        # overheads (8 + 9) x 1 group = 17; 2 x (17 + 3 x 90) = 574
        (dict(n_groups=1, maze_size=(4, 5), agent_speed=2.0, speed_spread=0.5), 574.0, "n_tasks"),
        # the slower group (speed multiplier 0.5) sets the pace: explore 80; 2 groups: overheads 34; exploring
        # dominates, so the maze is named
        (
            dict(n_groups=2, maze_size=(4, 5), agent_speed=2.0, speed_spread=0.5, group_speeds=(0.5, 1.0)),
            2.0 * (34 + 3 * (80 + 50)),
            "maze_size",
        ),
        # exploring exactly as long as the protocol costs (4x5 maze at speed 0.8: explore 50 = protocol 50): the
        # tasks are named, as when the protocol costs more
        (dict(n_groups=1, maze_size=(4, 5), agent_speed=0.8), 2.0 * (17 + 3 * (50 + 50)), "n_tasks"),
        # independent partition: 10 ticks per task of partitioning, 30 in all, on top of the first case
        (
            dict(
                n_groups=1,
                maze_size=(4, 5),
                agent_speed=2.0,
                speed_spread=0.5,
                partition="independent",
                partition_ticks_per_task=10,
            ),
            574.0 + 60.0,
            "n_tasks",
        ),
    ],
)
def test_the_longest_possible_episode_may_reach_the_time_limit_but_not_pass_it(
    monkeypatch: pytest.MonkeyPatch, overrides: dict, longest: float, field: str
) -> None:
    config_kwargs = dict(n_agents=2, n_tasks=3, **COSTS, **overrides)
    cells = 20
    slowest = overrides["agent_speed"] * min(overrides.get("group_speeds") or (1.0,))
    slowest *= 1.0 - overrides.get("speed_spread", 0.0)
    assert longest == _longest_by_hand(
        overrides["n_groups"], 3, cells, slowest, overrides.get("partition_ticks_per_task", 0)
    )
    monkeypatch.setattr(config_module, "TIME_LIMIT", int(longest))
    make_config(**config_kwargs)
    monkeypatch.setattr(config_module, "TIME_LIMIT", int(longest) - 1)
    with pytest.raises(ConfigError) as error:
        make_config(**config_kwargs)
    assert str(error.value) == (
        f"config field '{field}': the longest possible episode ({longest:.3g} ticks) would pass the int64 limit "
        f"{int(longest) - 1:.3g}"
    )


def test_the_longest_episode_is_estimated_in_ticks_when_costs_are_fractions_of_an_exploration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In exploration units the costs are converted first: one unit is n_cells - 1 = 19 moves at speed 1.

    Each cost of 1.0 exploration is 19 ticks; the others are 0: protocol = 19 (assign) + 19 (validate) = 38;
    explore = 2 x 20 = 40; 1 group with no split or collect; 2 x 3 x 78 = 468.
    """
    fractions = {name: 0.0 for name in COSTS if name != "wait_ticks"}
    fractions.update(assign_service_ticks=1.0, validate_service_ticks=1.0)
    kwargs = dict(n_agents=2, n_groups=1, n_tasks=3, maze_size=(4, 5), cost_unit="exploration", **fractions)
    assert make_config(**kwargs).in_ticks().assign_service_ticks == 19
    monkeypatch.setattr(config_module, "TIME_LIMIT", 468)
    make_config(**kwargs)
    monkeypatch.setattr(config_module, "TIME_LIMIT", 467)
    with pytest.raises(ConfigError, match=r"\(468 ticks\)"):
        make_config(**kwargs)


def test_the_machine_memory_is_the_physical_memory_the_kernel_reports() -> None:
    """On Linux, physical pages x page size is /proc/meminfo's MemTotal (reported in KiB)."""
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        pytest.skip("no /proc/meminfo on this system")
    total_kib = next(int(line.split()[1]) for line in meminfo.read_text().splitlines() if line.startswith("MemTotal:"))
    assert config_module.machine_memory_bytes() == total_kib * 1024


def test_the_machine_memory_is_64_gib_where_it_cannot_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable(name: str) -> int:
        raise ValueError(f"unrecognized configuration name {name!r}")

    monkeypatch.setattr(config_module.os, "sysconf", unreadable)
    assert config_module.machine_memory_bytes() == 64 * 2**30


@pytest.mark.parametrize(("n_agents", "n_groups", "largest_group"), [(3, 1, 3), (5, 2, 3), (4, 4, 1)])
def test_a_groups_waiting_time_may_reach_the_int64_limit_but_not_pass_it(
    monkeypatch: pytest.MonkeyPatch, n_agents: int, n_groups: int, largest_group: int
) -> None:
    """TWT_g counts every member of a group over the whole episode: the largest group (ceil(n / l) agents) times the
    longest possible episode must stay inside int64, though each factor alone does."""
    kwargs = dict(n_agents=n_agents, n_groups=n_groups, n_tasks=3, maze_size=(4, 5), **COSTS)
    longest = _longest_by_hand(n_groups, 3, 20, 1.0, n_agents=n_agents)
    monkeypatch.setattr(config_module, "AGENT_TICKS_LIMIT", int(largest_group * longest))
    make_config(**kwargs)
    monkeypatch.setattr(config_module, "AGENT_TICKS_LIMIT", int(largest_group * longest) - 1)
    with pytest.raises(ConfigError, match=f"^config field 'n_agents': groups of up to {largest_group} agents over"):
        make_config(**kwargs)


def test_the_audits_overflowing_scenario_is_refused_naming_the_group_size() -> None:
    """100,000 agents in one group, 4 tasks in 6500x6500 mazes at 1e-6 cells per tick: each factor fits int64, their
    product (6.76e19 agent-ticks) does not; the episode ran 52 s and reported TWT = -9.05e18."""
    with pytest.raises(ConfigError, match=r"config field 'n_agents': .* \(6\.76e\+14 ticks\) make 6\.76e\+19"):
        make_config(
            n_agents=100_000, n_groups=1, n_tasks=4, tasks_per_class=1, maze_size=6500, agent_speed=1e-6, graph="chain"
        )


def test_the_waiting_time_metric_is_formed_without_int64_overflow() -> None:
    """On a finished tiny episode, a hand-set state of one group of 100,000 agents that has run 10**15 ticks: the
    product passes int64 (1e20), and TWT_g is that product minus the group's work, not a wrapped negative number."""
    import numpy as np

    import ces_env
    from ces_env.core.metrics import episode_metrics, work_ticks

    env = ces_env.parallel_env(preset="tiny")
    env.reset(seed=0)
    sim = env.unwrapped.sim
    sim.group_size = np.full(sim.instance.n_groups, 100_000, dtype=np.int64)
    sim.group_done_time = np.full(sim.instance.n_groups, sim.start_time + 10**15, dtype=np.int64)
    work = np.bincount(sim.instance.agent_group, weights=work_ticks(sim), minlength=sim.instance.n_groups)
    with np.errstate(over="raise"):
        metrics = episode_metrics(sim)
    assert metrics["TWT_g"] == pytest.approx([1e20 - w for w in work], rel=1e-12)
    assert metrics["TWT"] == pytest.approx(sum(metrics["TWT_g"]), rel=1e-12) and metrics["TWT"] > 0


@pytest.mark.parametrize(("scale", "accepted"), [(1e-12, True), (1e-13, False), (1e-308, False), (0.0, False)])
def test_the_time_reward_scale_is_bounded_below_so_returns_stay_finite(scale: float, accepted: bool) -> None:
    """-ET / scale with ET < 2**62 and scale >= 1e-12 stays below 5e30: finite. 1e-308 gave -inf."""
    if accepted:
        assert make_config(reward_mode="time", reward_time_scale=scale).reward_time_scale == scale
    else:
        with pytest.raises(ConfigError, match=r"^config field 'reward_time_scale': must be >= 1e-12"):
            make_config(reward_mode="time", reward_time_scale=scale)

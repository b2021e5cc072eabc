"""The config object: presets are valid, and every bad input is rejected with a message naming the field."""

import pytest

from ces_env.config import FIELD_NAMES, PRESETS, CESConfig, ConfigError, make_config

PUBLIC_FIELDS = ("n_agents", "n_groups", "n_tasks", "graph", "partition", "maze_size", "control")


def test_public_fields_exist():
    assert set(PUBLIC_FIELDS) <= set(FIELD_NAMES)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_is_valid(preset):
    config = make_config(preset)
    for key, value in PRESETS[preset].items():
        assert getattr(config, key) == value


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        (dict(n_agents=0), "n_agents", "at least one agent"),
        (dict(n_agents=3, n_groups=4), "n_groups", "every group needs at least one agent"),
        (dict(agent_speed=-1.0), "agent_speed", "> 0"),
        (dict(agent_speed=0), "agent_speed", "> 0"),
        (dict(maze_size=1), "maze_size", "at least 2x2"),
        (dict(maze_size=(5, 1)), "maze_size", "at least 2x2"),
        (dict(maze_size="big"), "maze_size", "int"),
        (dict(control="anarchy"), "control", "'centralized', 'decentralized'"),
        (dict(partition="random"), "partition", "'interdependent', 'independent'"),
        (dict(knowledge_sharing="all"), "knowledge_sharing", "'none', 'group', 'global'"),
        (dict(n_tasks=0), "n_tasks", ">= 1"),
        (dict(n_tasks=2.5), "n_tasks", "integer"),
        (dict(reward_range=(0.0, 1.0)), "reward_range", "positive"),
        (dict(reward_range=(5.0, 1.0)), "reward_range", "low <= high"),
        (dict(group_speeds=(1.0,)), "group_speeds", "2 groups"),
        (dict(group_speeds=(1.0, -2.0)), "group_speeds", "positive"),
        (dict(speed_spread=1.0), "speed_spread", "< 1"),
        (dict(graph_density=1.5), "graph_density", "<= 1"),
        (dict(claim_latency_ticks=-1), "claim_latency_ticks", ">= 0"),
        (dict(solution_error_prob=2.0), "solution_error_prob", "<= 1"),
        (dict(explorer="teleport"), "explorer", "'dfs'"),
        (dict(max_ticks=0), "max_ticks", ">= 1"),
        (dict(strict_actions="yes"), "strict_actions", "True or False"),
    ],
)
def test_bad_values_name_the_field(overrides, field, words):
    with pytest.raises(ConfigError) as error:
        make_config(**overrides)
    message = str(error.value)
    assert f"'{field}'" in message and words in message


def test_unknown_field_is_rejected_with_the_valid_names():
    with pytest.raises(ConfigError, match="unknown config field.*'n_agent'.*valid fields: n_agents"):
        make_config(n_agent=3)


def test_unknown_field_rejected_by_the_env_constructor_too():
    import ces_env

    with pytest.raises(ConfigError, match="'speed'"):
        ces_env.parallel_env(speed=2.0)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset 'huge'.*tiny"):
        make_config("huge")


def test_replace_is_validated_and_leaves_the_original():
    config = CESConfig()
    changed = config.replace(n_agents=20)
    assert changed.n_agents == 20 and config.n_agents == CESConfig().n_agents
    with pytest.raises(ConfigError):
        config.replace(n_groups=50)


def test_lists_from_json_become_tuples():
    config = make_config(maze_size=[6, 9], group_speeds=[1.0, 2.0])
    assert config.maze_shape == (6, 9) and config.group_speeds == (1.0, 2.0)


EXPLORATION_UNITS = dict(cost_unit="exploration", maze_size=(101, 100), agent_speed=1e-6)
"""One exploration of a 101x100 maze at speed 1e-6: 10099 moves = 1.0099e10 ticks, so 100 of them pass TICK_LIMIT."""


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(n_agents=0), "config field 'n_agents': there must be at least one agent"),
        (dict(maze_size=(5, 1)), "config field 'maze_size': a maze must be at least 2x2 cells, got 5x1"),
        (dict(agent_speed=0.0), "config field 'agent_speed': must be > 0.0, got 0.0"),
        (dict(misreport_fraction=-0.5), "config field 'misreport_fraction': must be >= 0.0, got -0.5"),
        (dict(agent_speed=2e6), "config field 'agent_speed': must lie in [1e-06, 1e+06] cells per tick, got 2000000.0"),
        (dict(group_speeds=(1.0, 0.0)), "config field 'group_speeds': value 1 must be a positive number, got 0.0"),
        (
            dict(agent_speed=5e5, group_speeds=(3.0, 1.0)),
            "config field 'group_speeds': agent speeds would range over [500000, 1.5e+06] cells per tick, outside "
            "[1e-06, 1e+06]",
        ),
        (
            dict(agent_speed=1e-6, speed_spread=0.5),
            "config field 'speed_spread': agent speeds would range over [5e-07, 1.5e-06] cells per tick, outside "
            "[1e-06, 1e+06]",
        ),
        (
            dict(reward_range=(1.0, 2e12)),
            "config field 'reward_range': the highest reward 2e+12 is above the limit 1e+12 (ces_env.config limits)",
        ),
        (
            dict(assign_service_ticks=10**12 + 1),
            "config field 'assign_service_ticks': 1000000000001 is above the limit 1e+12 (ces_env.config limits)",
        ),
        (
            dict(EXPLORATION_UNITS, assign_service_ticks=100.0),
            "config field 'assign_service_ticks': 100.0 maze(s) is above the limit 1e+12 (ces_env.config limits)",
        ),
        (
            dict(explorer="bfs"),
            "config field 'explorer': must be one of 'dfs', 'wall_follower', 'random_walk', got 'bfs'",
        ),
        (dict(control_options=[1]), "config field 'control_options': must be a dict of option values, got [1]"),
        (
            dict(controller_outage_ticks=5),
            "config field 'controller_outage_ticks': needs a controller outage (set controller_outage_start)",
        ),
    ],
)
def test_the_refusal_says_what_is_wrong_in_full(overrides, message):
    """The messages are the interface of a bad config: the whole text, not a fragment, so that a value, a bound or a
    field name dropped from one is noticed."""
    with pytest.raises(ConfigError) as error:
        make_config(**overrides)
    assert str(error.value) == message


def test_an_exploration_fraction_just_within_the_tick_limit_is_accepted():
    assert make_config(**EXPLORATION_UNITS, assign_service_ticks=99.0).in_ticks().assign_service_ticks == 999801000000


def test_unknown_names_are_refused_with_the_valid_ones_listed_in_full():
    with pytest.raises(ConfigError) as error:
        make_config(n_agent=3, speed=1)
    assert str(error.value) == f"unknown config field(s) 'n_agent', 'speed'; valid fields: {', '.join(FIELD_NAMES)}"
    with pytest.raises(ConfigError) as error:
        make_config("huge")
    assert str(error.value) == f"unknown preset 'huge'; presets: {', '.join(PRESETS)}"
    with pytest.raises(ConfigError) as error:
        make_config("tiny", base=make_config())
    assert str(error.value) == "give either a preset or a base config, not both"

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

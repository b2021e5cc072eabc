"""The batched rows of SB3VecEnv (ces_env.core.compiled.rows) play what the Python driver per row plays.

Two SB3VecEnvs on the same seed, one with ``batched=True`` (every row in one compiled call) and one with
``batched=False`` (a DecisionDriver per row, the reference), get the same masked-random actions; every step's
observations, rewards, dones, masks, presented agents and infos (terminal observations, episode returns, metrics,
stats, seeds) must be equal, over scenarios that exercise every branch of the compiled rows (each reward mode, the time
penalty, both controls and validations, fixed waits, timed sharing, slips, truncation, several choosers per tick).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ces_env.config import make_config
from ces_env.core.compiled.rows import numpy_sum
from ces_env.generator import assemble_instance, generate_instance
from ces_env.wrappers import SB3VecEnv
from ces_env.wrappers._driver import MAX_SKIPPED_EPISODES

SCENARIOS: dict[str, dict[str, Any]] = {
    "tiny": {"preset": "tiny"},
    "small, time reward": {"preset": "small", "reward_mode": "time", "reward_time_scale": 50.0},
    "small, team reward and time penalty": {"preset": "small", "reward_mode": "team", "time_penalty": 0.01},
    "small-decentralized, individual": {"preset": "small-decentralized"},
    "decentralized, central validation": {
        "preset": "small",
        "control": "decentralized",
        "control_options": (("validation", "central"),),
    },
    "fixed waits, global timed sharing, slips": {
        "preset": "small",
        "wait_ticks": 3,
        "knowledge_sharing": "global",
        "share_ticks_per_recipient": 2,
        "solution_error_prob": 0.2,
        "reward_mode": "time",
    },
    "truncated early": {"preset": "small", "max_ticks": 150, "reward_mode": "time"},
    "one group of many agents": {"n_agents": 12, "n_groups": 1, "n_tasks": 30, "maze_size": 8},
}


def _play(
    batched: bool,
    config: dict[str, Any],
    n_envs: int,
    steps: int,
    always_wait: bool = False,
    options: dict[str, Any] | None = None,
) -> list[Any]:
    """Every step of a masked-random policy (``always_wait``: action 0 everywhere, masked out or not, which stalls);
    ``options``: reset options of every row's first episode."""
    vec = SB3VecEnv(n_envs=n_envs, seed=5, batched=batched, **config)
    assert (vec._compiled is not None) == batched
    if options is not None:
        vec.set_options(options)
    record: list[Any] = [vec.reset(), vec.action_masks(), vec.presented_agents(), list(vec.reset_infos)]
    rng = np.random.default_rng(1)
    for _ in range(steps):
        masks = vec.action_masks()
        actions = np.argmax(rng.random(masks.shape) * masks, axis=1) * (not always_wait)
        if rng.random() < 0.2:  # now and then no action, a masked-out or out-of-range action (played as waits)
            actions[0] = rng.choice([-1, 0, -7, vec.n_actions, 10**15])
        observations, rewards, dones, infos = vec.step(actions)
        for info in infos:
            info.get("episode", {}).pop("t", None)  # wall-clock seconds
        record.append((observations, rewards, dones, infos, vec.action_masks(), vec.presented_agents()))
    vec.close()
    return record


def _assert_equal(a: Any, b: Any, where: str) -> None:
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            _assert_equal(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_equal(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_batched_rows_play_the_python_rows_episodes(name):
    config = SCENARIOS[name]
    steps = 160
    python_rows = _play(False, config, n_envs=5, steps=steps)
    batched_rows = _play(True, config, n_envs=5, steps=steps)
    dones = sum(int(step[2].sum()) for step in python_rows[4:])
    assert dones > 0, f"{name}: no episode ended in {steps} steps; the comparison would miss the resets"
    _assert_equal(python_rows, batched_rows, name)


def test_a_stalled_episode_is_charged_alike():
    """Waiting even when waiting is masked out stalls the episode: with the time reward it is charged up to
    max_ticks."""
    config = {"preset": "small", "reward_mode": "time"}
    python_rows = _play(False, config, n_envs=3, steps=40, always_wait=True)
    batched_rows = _play(True, config, n_envs=3, steps=40, always_wait=True)
    reasons = [info.get("truncation_reason") for step in python_rows[4:] for info in step[3]]
    assert "stalled" in reasons
    _assert_equal(python_rows, batched_rows, "always wait")


def test_rows_start_batched_only_on_the_compiled_engine_without_rendering():
    assert SB3VecEnv(n_envs=2, preset="tiny")._compiled is not None
    assert SB3VecEnv(n_envs=2, preset="tiny", engine="python")._compiled is None
    assert SB3VecEnv(n_envs=2, preset="tiny", render_mode="rgb_array")._compiled is None
    assert SB3VecEnv(n_envs=2, preset="steered")._compiled is None  # steering runs on the Python simulator


def test_envs_read_through_the_vec_env_are_up_to_date():
    """get_attr/env_method sync the copies' simulators, which the compiled rows step without their Python side."""
    batched = SB3VecEnv(n_envs=2, seed=3, preset="small")
    reference = SB3VecEnv(n_envs=2, seed=3, preset="small", batched=False)
    rng = np.random.default_rng(0)
    for vec in (batched, reference):
        vec.reset()
    for _ in range(40):
        masks = batched.action_masks()
        actions = np.argmax(rng.random(masks.shape) * masks, axis=1)
        batched.step(actions)
        reference.step(actions)
    for i in range(2):
        ours, theirs = batched.get_attr("sim", i)[0], reference.get_attr("sim", i)[0]
        assert ours.time == theirs.time and ours.tasks_done == theirs.tasks_done and ours.messages == theirs.messages
        assert batched.env_method("metrics", indices=i) == reference.env_method("metrics", indices=i)
        np.testing.assert_array_equal(
            batched.env_method("state", indices=i)[0], reference.env_method("state", indices=i)[0]
        )


def test_strict_actions_refuse_a_masked_out_action_before_any_row_moves():
    vec = SB3VecEnv(n_envs=3, seed=0, preset="small", strict_actions=True)
    vec.reset()
    masks = vec.action_masks()
    actions = np.argmax(masks, axis=1)
    actions[2] = vec.n_actions  # outside the action space: a masked-out action, as for the env
    before = [vec.get_attr("sim", i)[0].time for i in range(3)]
    with pytest.raises(ValueError, match=rf"row 2, agent_\d+: action {vec.n_actions} is masked out"):
        vec.step(actions)
    assert [vec.get_attr("sim", i)[0].time for i in range(3)] == before
    np.testing.assert_array_equal(vec.action_masks(), masks)


def _bits(value: float) -> int:
    return int(np.float64(value).view(np.int64))  # tells -0.0 from 0.0, which == does not


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=700))
def test_numpy_sum_is_numpys_sum_bit_for_bit(values):
    array = np.array(values, dtype=np.float64)
    assert _bits(numpy_sum(array)) == _bits(float(array.sum()))


@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 128, 129, 300])
def test_numpy_sum_of_negative_zeros_is_positive_zero_like_numpys(size):
    array = np.full(size, -0.0)
    assert _bits(numpy_sum(array)) == _bits(float(array.sum())) == _bits(0.0)


def test_agents_of_a_group_need_not_be_contiguous():
    """An injected instance whose groups interleave their agents (generated ones are contiguous blocks): the
    controller's deciders are then listed by id across groups."""
    config = make_config("small")
    generated = generate_instance(config, np.random.default_rng(9))
    interleaved = assemble_instance(
        generated.graph,
        generated.rewards,
        generated.task_group,
        generated.task_class,
        np.arange(config.n_agents) % config.n_groups,
        generated.agent_speed,
        generated.mazes,
        n_groups=config.n_groups,
    )
    for control in ("centralized", "decentralized"):
        settings_ = {"preset": "small", "control": control, "reward_mode": "team"}
        python_rows = _play(False, settings_, n_envs=2, steps=60, options={"instance": interleaved})
        batched_rows = _play(True, settings_, n_envs=2, steps=60, options={"instance": interleaved})
        _assert_equal(python_rows, batched_rows, f"interleaved groups, {control}")


@pytest.mark.parametrize("batched", [True, False])
def test_a_config_without_any_decision_is_reported_by_both_paths(batched):
    vec = SB3VecEnv(n_envs=2, seed=0, preset="tiny", max_ticks=3, batched=batched)
    with pytest.raises(RuntimeError, match="episodes in a row ended without any agent having a choice"):
        vec.reset()
    assert vec.skipped_episodes == MAX_SKIPPED_EPISODES


class ResetError(Exception):
    """Raised by a reset replaced in a test."""


def test_a_row_whose_reset_failed_refuses_to_step():
    """An error during an automatic reset leaves the row without a decision: stepping it again raises instead of
    playing the ended episode on."""
    vec = SB3VecEnv(n_envs=1, seed=0, preset="tiny")
    vec.reset()
    env = vec.envs[0]

    def failing_reset(*args: Any, **kwargs: Any) -> None:
        raise ResetError  # e.g. the user interrupting the reset

    env.reset_simulator = failing_reset  # type: ignore[method-assign]
    with pytest.raises(ResetError):
        for _ in range(1000):
            vec.step(np.argmax(vec.action_masks(), axis=1))
    with pytest.raises(RuntimeError, match="row 0 has no decision to present"):
        vec.step(np.zeros(1, dtype=np.int64))

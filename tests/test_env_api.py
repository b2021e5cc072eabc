"""PettingZoo's own test kit over every preset, plus registry, spaces, AEC conversion, action ids outside the space,
an episode over before its first decision, and the ``"human"`` render mode."""

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, render_test

import ces_env
from ces_env.config import PRESETS

# the paper-scale presets have 400x400 mazes: their API check is kept short
CYCLES = {name: (60 if name.startswith("paper") else 1000) for name in PRESETS}


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_parallel_api(preset):
    parallel_api_test(ces_env.parallel_env(preset=preset), num_cycles=CYCLES[preset])


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_render(preset):
    render_test(lambda render_mode=None: ces_env.env(preset=preset, render_mode=render_mode))


@pytest.mark.parametrize("preset", ["tiny", "steered", "small-decentralized"])
def test_aec_api(preset):
    api_test(ces_env.env(preset=preset), num_cycles=200)


@pytest.mark.parametrize("preset", ["tiny", "steered"])
def test_pettingzoo_parallel_seed_test(preset):
    parallel_seed_test(lambda: ces_env.parallel_env(preset=preset))


def test_registered_with_pettingzoo():
    from pettingzoo import make

    env = make("parallel", ces_env.ENV_ID, preset="tiny")
    assert isinstance(env, ces_env.CESParallelEnv)
    assert make("aec", ces_env.ENV_ID, preset="tiny").possible_agents == env.possible_agents


def test_spaces_are_cached_and_consistent():
    env = ces_env.parallel_env(preset="steered")
    observations, infos = env.reset(seed=3)
    assert env.possible_agents == [f"agent_{i}" for i in range(env.config.n_agents)]
    for agent in env.agents:
        assert env.observation_space(agent) is env.observation_space(agent)
        assert env.action_space(agent) is env.action_space(agent)
        assert env.observation_space(agent).contains(observations[agent])
        assert infos[agent]["group"] == env.unwrapped.sim.instance.agent_group[env.possible_agents.index(agent)]
    K = env.config.n_candidates
    assert env.action_space("agent_0").n == 1 + K + 4
    assert env.state_space.contains(env.state())


def test_state_is_in_its_space_through_an_episode():
    from tests.helpers import rollout

    env = ces_env.parallel_env(preset="tiny", control="decentralized")
    seen = []
    rollout(env, seed=5, on_step=lambda e: seen.append(e.state_space.contains(e.state())))
    assert seen and all(seen)


# ------------------------------------------------------------------------------------------------- illegal action ids
@pytest.mark.parametrize("action", [-1, np.int64(-1), 2**70, 9, np.uint64(2**63)])
def test_strict_mode_refuses_action_ids_outside_the_space(action):
    """``-1`` is "no action" only in ``step_arrays``; in a ``step`` dict it is an illegal id like any out-of-range
    one (huge ints included, which used to raise a bare OverflowError): the error names agent, tick and legal ids."""
    env = ces_env.parallel_env(preset="tiny", strict_actions=True)
    env.reset(seed=0)
    assert env.action_space("agent_0").n == 9  # so that 9 is the first id outside the space
    legal = np.flatnonzero(env.unwrapped._masks[0]).tolist()
    with pytest.raises(ValueError) as refused:
        env.step({"agent_0": action})
    message = str(refused.value)
    assert message.startswith("agent_0: action ")
    assert f"at tick {env.unwrapped.sim.time}" in message and f"(legal actions: {legal}" in message


def test_lenient_mode_plays_out_of_range_ids_as_flagged_waits():
    """Without strict actions an id outside the space is what a masked-out id is: a wait, flagged invalid; ``None``
    (no action) is the same wait, not flagged. All three play the same episode."""
    results = {}
    for name, action in (("none", None), ("minus_one", -1), ("huge", 2**70)):
        env = ces_env.parallel_env(preset="tiny")
        env.reset(seed=0)
        observations, _, _, _, infos = env.step(dict.fromkeys(env.agents, action))
        results[name] = (observations, infos)
    assert not any("invalid_action" in info for info in results["none"][1].values())
    for name in ("minus_one", "huge"):
        observations, infos = results[name]
        assert all(info.get("invalid_action") is True for info in infos.values())
        for agent, obs in observations.items():
            np.testing.assert_array_equal(obs["observation"], results["none"][0][agent]["observation"])


# ------------------------------------------------------------------------------------------ over before any decision
OVER_AT_RESET = dict(
    n_agents=4, n_groups=4, n_tasks=2, graph="independent", split_ticks_per_group=5, max_ticks=10, strict_actions=True
)
"""max_ticks (10) ends before the split overhead (4 groups x 5 ticks): the time limit passes before any decision."""


def test_an_episode_over_before_any_decision_ends_at_the_first_step():
    """PettingZoo's reset cannot end an episode (agents leave only through a step's flags, and the AEC conversion
    needs a first agent), so reset returns every agent live with only waiting legal, and the first step truncates
    them all with the final infos; ``reset_arrays`` says the same."""
    env = ces_env.parallel_env(**OVER_AT_RESET)
    observations, infos = env.reset(seed=0)
    assert env.agents == env.possible_agents and set(observations) == set(infos) == set(env.agents)
    for obs in observations.values():
        assert obs["action_mask"].tolist() == [1] + [0] * (len(obs["action_mask"]) - 1)
    arrays = env.unwrapped.reset_arrays(seed=0)
    assert not arrays.over and arrays.metrics is None and arrays.truncation_reason is None
    _, rewards, terminations, truncations, infos = env.step(dict.fromkeys(env.agents, 0))
    assert env.agents == []
    assert all(truncations.values()) and not any(terminations.values()) and set(rewards) == set(env.possible_agents)
    for info in infos.values():
        assert info["truncation_reason"] == "max_ticks" and info["metrics"]["ET"] >= 10
    assert env.step({}) == ({}, {}, {}, {}, {})


def test_an_episode_over_before_any_decision_passes_pettingzoo_tests():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parallel_api_test(ces_env.parallel_env(**OVER_AT_RESET), num_cycles=10)
    assert not [w for w in caught if "No agents present" in str(w.message)]
    api_test(ces_env.env(**OVER_AT_RESET), num_cycles=10)


# --------------------------------------------------------------------------------------------------- human rendering
def test_importing_ces_env_does_not_import_matplotlib_and_human_falls_back_to_text():
    """In a fresh interpreter on a non-interactive backend (Agg): no matplotlib until the first frame; then the
    ``"human"`` mode prints the text view, warns once (at the user's line), and returns None."""
    script = textwrap.dedent(
        """
        import sys, warnings
        import ces_env
        env = ces_env.parallel_env(preset="tiny", render_mode="human")
        assert "matplotlib" not in sys.modules, "importing or making the env imported matplotlib"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            env.reset(seed=0)  # line 8: reset draws the first frame in human mode
            assert env.render() is None
            env.step({})
        human = [w for w in caught if "render_mode=\\"human\\"" in str(w.message)]
        assert len(human) == 1, [str(w.message) for w in caught]
        assert "'agg' cannot open a window" in str(human[0].message), human[0].message
        assert human[0].lineno == 8, human[0].lineno
        print("FALLBACK-OK")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("CES  tick") == 3  # reset, render and step each printed the text view
    assert done.stdout.rstrip().endswith("FALLBACK-OK")


def test_human_mode_needs_a_display_for_a_gui_backend(monkeypatch):
    import matplotlib

    from ces_env import render

    monkeypatch.setattr(matplotlib, "get_backend", lambda: "TkAgg")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert "DISPLAY" in render.window_unavailable_reason()
    monkeypatch.setenv("DISPLAY", ":0")
    assert render.window_unavailable_reason() is None
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "module://matplotlib_inline.backend_inline")
    assert "cannot open a window" in render.window_unavailable_reason()


def test_human_mode_shows_the_live_view_in_one_window(monkeypatch):
    """Where a window can open, every frame updates the image of one figure with the live view (run on Agg, with
    the backend check answered "a window can open")."""
    import matplotlib.pyplot as plt

    from ces_env import render

    monkeypatch.setattr(render, "window_unavailable_reason", lambda: None)
    env = ces_env.parallel_env(preset="tiny", render_mode="human")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non-interactive.*")  # Agg's plt.pause cannot show
        env.reset(seed=0)
        window = env.unwrapped._window
        figure = window.figure
        assert figure is not None and window.fallback_reason is None
        for _ in range(3):
            env.step({a: 0 for a in env.agents})
            assert window.figure is figure and plt.fignum_exists(figure.number)
        frame = env.unwrapped._viewer.rgb(env.unwrapped.sim)
        images = figure.axes[0].get_images()
        assert len(images) == 1
        np.testing.assert_array_equal(np.asarray(images[0].get_array()), frame)
        other = ces_env.parallel_env(preset="tiny", render_mode="human")
        other.reset(seed=1)
        assert other.unwrapped._window.figure is not figure  # every env has a window of its own
        other.close()
        env.close()
    assert not plt.fignum_exists(figure.number) and window.figure is None


def test_human_mode_falls_back_when_the_toolkit_fails(monkeypatch, capsys):
    import matplotlib.pyplot as plt

    from ces_env import render

    def no_toolkit(*args, **kwargs):
        raise RuntimeError("no toolkit here")

    monkeypatch.setattr(render, "window_unavailable_reason", lambda: None)
    monkeypatch.setattr(plt, "figure", no_toolkit)
    env = ces_env.parallel_env(preset="tiny", render_mode="human")
    with pytest.warns(UserWarning, match="could not be opened.*no toolkit here"):
        env.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning only
        env.step({})
    assert capsys.readouterr().out.count("CES  tick") == 2

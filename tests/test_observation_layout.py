"""The named observation layout of ``ces_env.observations``: the README table and the env docstring say what it says,
and the builder writes each feature where its name says (checked on real observations)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np
import pytest

import ces_env
from ces_env.observations import (
    AGENT_FEATURES,
    SLOT_FEATURES,
    SLOT_INDEX,
    SLOT_OFFSET,
    VIEW_CHANNELS,
    agent_feature_index,
    observation_size,
    slot_feature_index,
    slot_features,
    view_features,
    view_offset,
)
from ces_env.types import AgentStatus

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
ENV_DOC = importlib.import_module("ces_env.env").__doc__ or ""  # the module (``ces_env.env`` is also a function)
STATUS_FEATURES = [f"status_{s.name.lower()}" for s in AgentStatus]


def _observation_table() -> list[tuple[str, list[str]]]:
    """(index expression, names) of every row of the README's observation table."""
    section = README[README.index("**Observation**") :]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("| index |") or line.startswith("|---"):
            continue
        if not line.startswith("|"):
            if rows:
                break
            continue
        index, names, _meaning = (cell.strip() for cell in line.strip("|").split("|", 2))
        rows.append((index, re.findall(r"`(\w+)`", names)))
    return rows


def _indices(expression: str) -> list[int]:
    """``"3"`` -> [3]; ``"0-7"`` -> [0, ..., 7]."""
    if "-" in expression:
        low, high = expression.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(expression)]


def test_the_readme_table_names_every_feature_at_its_index():
    agent_seen: list[str] = []
    slot_seen: list[str] = []
    view_rows = 0
    for index, names in _observation_table():
        assert names, f"README observation row {index!r} names no feature"
        slot = re.fullmatch(r"(\d+) \+ (\d+)k(?: \+ (\d+))?", index)
        view = re.fullmatch(r"(\d+) \+ (\d+)K \+ (\d+)c \+ j", index)
        if slot:
            base, stride, offset = int(slot[1]), int(slot[2]), int(slot[3] or 0)
            assert (base, stride) == (SLOT_OFFSET, len(SLOT_FEATURES)), f"README row {index!r}"
            assert names == [SLOT_FEATURES[offset]], f"README row {index!r}: {names}"
            for k in (0, 3):
                assert slot_feature_index(k, names[0]) == base + stride * k + offset
            slot_seen += names
        elif view:
            base, stride, cell = (int(g) for g in view.groups())
            assert (base, stride, cell) == (SLOT_OFFSET, len(SLOT_FEATURES), len(VIEW_CHANNELS)), f"README {index!r}"
            assert names == list(VIEW_CHANNELS)
            view_rows += 1
        else:
            positions = _indices(index)
            assert len(positions) == len(names), f"README row {index!r}: {len(positions)} indices, names {names}"
            for position, name in zip(positions, names):
                assert agent_feature_index(name) == position, f"README says {name!r} is at {position}"
            agent_seen += names
    assert agent_seen == list(AGENT_FEATURES)
    assert slot_seen == list(SLOT_FEATURES)
    assert view_rows == 1


def test_the_readme_and_docstring_give_the_observation_size():
    n_agent, n_slot, n_view = len(AGENT_FEATURES), len(SLOT_FEATURES), len(VIEW_CHANNELS)
    assert f"`D = {n_agent} + {n_slot}K`, plus `{n_view}(2r+1)^2` in the steered mode" in README
    assert f"``D = {n_agent} + {n_slot}K (+ {n_view}(2r+1)^2 in the steered mode)``" in ENV_DOC
    for K, r in ((1, 0), (3, 2)):
        assert observation_size(K, r, steered=False) == n_agent + n_slot * K
        assert observation_size(K, r, steered=True) == n_agent + n_slot * K + n_view * (2 * r + 1) ** 2


def test_the_env_docstring_names_every_feature_at_its_index():
    doc = " ".join(ENV_DOC.split())  # one line: a name may follow its index across a line break
    paragraph = doc[doc.index("**Observation**") : doc.index("**Rewards.**")]
    named = re.findall(r"``\[(\d+)\]`` ``(\w+)``", paragraph)
    assert [name for _, name in named] == list(AGENT_FEATURES[len(STATUS_FEATURES) :])
    for index, name in named:
        assert agent_feature_index(name) == int(index), f"the docstring says {name!r} is at {index}"
    assert f"``[0:{len(STATUS_FEATURES)}]`` ``status_*``" in paragraph
    statuses = re.search(r"``status_\*``: [^(]*\(([^)]*)\)", paragraph)[1]
    assert [f"status_{s.strip()}" for s in statuses.split(",")] == STATUS_FEATURES
    slots = re.search(r"from ``\[(\d+) \+ (\d+)k\]``, slot k's (\d+) features", paragraph)
    assert tuple(int(g) for g in slots.groups()) == (SLOT_OFFSET, len(SLOT_FEATURES), len(SLOT_FEATURES))
    slot_text = paragraph[slots.end() : paragraph.index("Steered mode")]
    assert re.findall(r"``(\w+)``", slot_text) == list(SLOT_FEATURES)
    view_text = paragraph[paragraph.index("Steered mode") :]
    assert f"from ``[{SLOT_OFFSET} + {len(SLOT_FEATURES)}K]``" in view_text
    assert re.findall(r"``(\w+)``", view_text) == list(VIEW_CHANNELS)


def test_unknown_names_are_errors_that_list_the_names():
    with pytest.raises(KeyError, match="speed"):
        agent_feature_index("sped")
    with pytest.raises(KeyError, match="upward_rank"):
        slot_feature_index(0, "rank")
    with pytest.raises(ValueError, match="k must be >= 0"):
        slot_feature_index(-1, "valid")


def test_the_builder_writes_each_named_feature():
    """On real observations, features read by name hold what their names say."""
    env = ces_env.parallel_env(preset="steered", speed_spread=0.5)
    observations, infos = env.reset(seed=4)
    config = env.unwrapped.config
    K, r = config.n_candidates, config.view_radius
    speeds = env.unwrapped.sim.instance.agent_speed
    assert env.observation_space("agent_0")["observation"].shape == (observation_size(K, r, steered=True),)
    statuses = env.unwrapped.sim.agent_status
    for i, agent in enumerate(env.agents):
        obs = observations[agent]["observation"]
        mask = observations[agent]["action_mask"]
        status_block = obs[: len(STATUS_FEATURES)]
        assert status_block[agent_feature_index(f"status_{AgentStatus(statuses[i]).name.lower()}")] == 1.0
        assert status_block.sum() == 1.0
        assert obs[agent_feature_index("speed")] == pytest.approx(speeds[i] / speeds.max())
        assert obs[agent_feature_index("deciding_task")] == float(mask[1 : 1 + K].any())
        shown = infos[agent]["candidates"]
        slots = slot_features(obs, K)
        assert np.array_equal(slots[:, SLOT_INDEX["valid"]] > 0.5, shown >= 0)
        for k in range(K):
            assert slots[k, SLOT_INDEX["reward"]] == obs[slot_feature_index(k, "reward")]
        # the local view follows the slots: nobody steers at the start, so it is all zero
        assert view_offset(K) == SLOT_OFFSET + K * len(SLOT_FEATURES)
        assert view_features(obs, r).shape == (2 * r + 1, 2 * r + 1, len(VIEW_CHANNELS))
        assert not obs[view_offset(K) :].any()
    # slots list the group's ready tasks by reward descending
    rewards = slot_features(observations["agent_0"]["observation"], K)[:, SLOT_INDEX["reward"]]
    valid = rewards[slot_features(observations["agent_0"]["observation"], K)[:, SLOT_INDEX["valid"]] > 0.5]
    assert (np.diff(valid) <= 0).all()

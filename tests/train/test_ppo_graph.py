"""train/ppo_graph.py and the graph:PATH policy family: the env's public task-graph accessors agree with the slots,
the message-passing network runs on graphs of any size and a task's score never depends on the rest of the batch,
greedy play never picks a masked action, training runs and then evaluates through the harness, the committed
checkpoint plays deterministically, the seed ranges stay disjoint."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import ppo_graph  # noqa: E402  (train/ is put on sys.path by tests/train/conftest.py)
import pytest
import torch
from dataclass_cli import build_parser, field_docstrings, parse_args

import ces_env
from ces_baselines.graph_policy import (
    NODE_FEATURES,
    DecisionRow,
    GraphPolicyNet,
    NetConfig,
    RowBuilder,
    collate,
    greedy_actions,
    load_checkpoint,
)
from ces_baselines.harness import make_jobs, policy_class, run_job, run_jobs
from ces_baselines.learned import TRAIN_SEED_FLOOR, read_sidecar
from ces_env.config import make_config
from ces_env.env import TASK_DYNAMIC_FEATURES, TASK_STATIC_FEATURES
from ces_env.observations import SLOT_INDEX, slot_features
from ces_env.types import TaskStatus

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "train" / "checkpoints" / "ppo_graph_small.pt"
COMMITTED_NAME = f"graph:{COMMITTED}"
DYN = {name: i for i, name in enumerate(TASK_DYNAMIC_FEATURES)}
STATIC = {name: i for i, name in enumerate(TASK_STATIC_FEATURES)}


def play_rows(env, seed: int, limit: int = 10_000) -> list[DecisionRow]:
    """Rows of every chooser of an episode played with reward-first choices (slot 1, or wait when no slot)."""
    obs, infos = env.reset(seed=seed)
    builder = RowBuilder()
    rows = []
    while env.agents and len(rows) < limit:
        choosers = [a for a, o in obs.items() if o["action_mask"].sum() > 1]
        rows += [builder.row(env.unwrapped, a, obs[a], infos[a]) for a in choosers]
        obs, _, _, _, infos = env.step({a: 1 for a in choosers})
    return rows


# ------------------------------------------------------------------------------------------------------ env views
@pytest.mark.parametrize("control", ["decentralized", "centralized"])
def test_task_views_agree_with_the_slots_and_hide_claims_in_flight(control):
    env = ces_env.parallel_env(preset="small", control=control, n_candidates=8)
    obs, infos = env.reset(seed=5)
    graph = env.unwrapped.task_graph()
    assert graph["static"].shape == (40, len(TASK_STATIC_FEATURES))
    assert graph is env.unwrapped.task_graph()  # computed once per instance
    assert not graph["static"].flags.writeable
    in_flight_seen = 0
    while env.agents:
        sim = env.unwrapped.sim
        for agent in env.agents:
            features = env.unwrapped.task_features(agent)
            np.testing.assert_array_equal(features[:, :4].sum(axis=1), 1.0)  # one status each
            slots = infos[agent]["candidates"]
            slots = slots[slots >= 0]
            view = slot_features(obs[agent]["observation"], 8)[: len(slots)]
            assert (features[slots, DYN["ready"]] == 1).all() and (features[slots, DYN["own_group"]] == 1).all()
            np.testing.assert_array_equal(view[:, SLOT_INDEX["known"]], features[slots, DYN["known"]])
            np.testing.assert_array_equal(
                view[:, SLOT_INDEX["class_in_progress"]], features[slots, DYN["class_in_progress"]]
            )
            np.testing.assert_allclose(
                view[:, SLOT_INDEX["upward_rank"]], graph["static"][slots, STATIC["upward_rank"]]
            )
            np.testing.assert_allclose(view[:, SLOT_INDEX["reward"]], graph["static"][slots, STATIC["reward"]])
            claimed = sim.task_status[slots] == TaskStatus.CLAIMED  # claims not yet known to the peers
            in_flight_seen += int(claimed.sum())
            np.testing.assert_array_equal(features[:, DYN["done"]], sim.task_status == TaskStatus.DONE)
        obs, _, _, _, infos = env.step({a: 1 for a, o in obs.items() if o["action_mask"][1]})
    if control == "decentralized":
        assert in_flight_seen > 0  # the check above ran on claims in flight: they looked ready, as in the slots


# ------------------------------------------------------------------------------------------------------ network
def test_scores_run_on_any_graph_size_and_never_depend_on_the_rest_of_the_batch(data_dir):
    torch.manual_seed(0)
    net = GraphPolicyNet(NetConfig(hidden=16, rounds=3)).eval()
    stg = ces_env.parallel_env(preset="small", graph=str(data_dir / "stg" / "rand0000_50.stg"), n_tasks=None)
    big = ces_env.parallel_env(n_agents=20, n_groups=4, n_tasks=500, maze_size=6, graph="lds")
    rows_stg = play_rows(stg, seed=1, limit=6)
    rows_big = play_rows(big, seed=2, limit=6)
    assert rows_stg[0].n_nodes == 50 and rows_big[0].n_nodes == 500  # first decisions: nothing done yet
    assert rows_stg[0].nodes.shape[1] == len(NODE_FEATURES)
    rows = [rows_stg[0], rows_big[0], rows_stg[-1], rows_big[-1]]
    with torch.no_grad():
        alone = [net.task_scores(collate([row])) for row in rows]
        together = net.task_scores(collate(rows))
        logits, values = net(collate(rows))
        logits_alone = [net(collate([row]))[0][0] for row in rows]
        _, slot_scores, _ = net.heads(collate(rows))
    offsets = np.cumsum([0] + [row.n_nodes for row in rows])
    for i, row in enumerate(rows):
        assert torch.isfinite(alone[i]).all()
        torch.testing.assert_close(together[offsets[i] : offsets[i + 1]], alone[i], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(logits[i], logits_alone[i], rtol=1e-5, atol=1e-5)
        # slot k's score is the score of the task in slot k; the action log-probabilities sum to 1 over the legal ones
        valid = np.flatnonzero(row.slots >= 0)
        legal = valid[row.mask[1 + valid]]
        torch.testing.assert_close(slot_scores[i, legal], alone[i][row.slots[legal]])
        assert float(logits[i][torch.from_numpy(row.mask)].exp().sum()) == pytest.approx(1.0, abs=1e-5)
        assert (logits[i][torch.from_numpy(~row.mask)] <= -1e8).all()
    assert values.shape == (len(rows),) and torch.isfinite(values).all()


def test_greedy_never_picks_a_masked_action():
    env = ces_env.parallel_env(preset="small", control="decentralized", n_candidates=16)
    rows = play_rows(env, seed=3, limit=40)
    rng = np.random.default_rng(0)
    net = GraphPolicyNet(NetConfig(hidden=8, rounds=1)).eval()
    with torch.no_grad():  # make every slot logit larger than wait, then forbid the best slots at random
        net.wait[-1].bias.fill_(-50.0)
    masked_rows = []
    for row in rows:
        mask = row.mask.copy()
        legal = np.flatnonzero(mask)
        forbid = rng.choice(legal, size=len(legal) - 1, replace=False)  # keep one legal action
        mask[forbid] = False
        masked_rows.append(dataclasses.replace(row, mask=mask))
    actions = greedy_actions(net, masked_rows)
    for row, action in zip(masked_rows, actions):
        assert row.mask[action]


# ------------------------------------------------------------------------------------------------------ PPO pieces
def test_interval_rewards_add_up_to_the_discounted_episode_return():
    gamma, scale = 0.99, 10.0
    a, b = 7, 12
    joined = ppo_graph.interval_reward(a + b, gamma, scale)
    split = ppo_graph.interval_reward(a, gamma, scale) + gamma**a * ppo_graph.interval_reward(b, gamma, scale)
    assert joined == pytest.approx(split)
    assert ppo_graph.interval_reward(a, 1.0, scale) == pytest.approx(-a / scale)
    assert ppo_graph.interval_reward(a, gamma, scale) == pytest.approx(-sum(gamma**t for t in range(a)) / scale)


def test_gae_with_lambda_one_is_the_discounted_return_minus_the_value():
    rollout = ppo_graph.Rollout(
        rows=[None] * 4,  # type: ignore[list-item]
        values=[0.5, -0.2, 0.1, 0.3],
        rewards=[-1.0, 0.0, -2.0, -0.5],
        discounts=[0.9, 1.0, 0.0, 0.8],  # decision 2 ends an episode; decision 3 goes on (bootstrap)
        sequences={0: [0, 1, 2, 3]},
    )
    advantages, returns = rollout.advantages({0: 2.0}, lam=1.0)
    expected_returns = [-1.0 + 0.9 * (0.0 + 1.0 * -2.0), -2.0, -2.0, -0.5 + 0.8 * 2.0]
    np.testing.assert_allclose(returns, expected_returns)
    np.testing.assert_allclose(advantages, np.array(expected_returns) - np.array(rollout.values))


def test_training_refuses_a_seed_below_the_training_floor(tmp_path):
    copy = ppo_graph.EnvCopy(make_config("tiny", reward_mode="time"))
    with pytest.raises(RuntimeError, match="TRAIN_SEED_FLOOR"):
        copy.start(TRAIN_SEED_FLOOR - 1)
    args = tiny_args(tmp_path)
    config = make_config("tiny", **ppo_graph.env_overrides(args))
    with pytest.raises(RuntimeError, match="TRAIN_SEED_FLOOR"):
        ppo_graph.teacher_decisions(args, config, [TRAIN_SEED_FLOOR, 7])


def test_teacher_decisions_are_legal_and_their_returns_are_the_discounted_time_left(tmp_path):
    args = tiny_args(tmp_path, gamma_per_tick=1.0, reward_time_scale=1.0)
    config = make_config("tiny", **ppo_graph.env_overrides(args))
    rows, actions, returns, ets, agent_steps = ppo_graph.teacher_decisions(args, config, [TRAIN_SEED_FLOOR + 1])
    assert len(rows) == len(actions) == len(returns) > 0 and agent_steps > 0
    assert all(row.mask[a] for row, a in zip(rows, actions))
    # with g = 1 and scale 1 a return is minus the ticks left: within [-ET, 0), never increasing over the episode
    assert (returns < 0).all() and (returns >= -ets[0]).all()
    assert (np.diff(returns) >= 0).all()


# ------------------------------------------------------------------------------------------------------ training
def tiny_args(tmp_path: Path, **changes) -> ppo_graph.Args:
    """A few hundred decisions on the tiny preset: seconds, not minutes."""
    args = ppo_graph.Args(
        env_preset="tiny",
        n_candidates=8,
        total_decisions=300,
        bc_episodes=3,
        bc_epochs=1,
        n_envs=4,
        rollout_decisions=100,
        minibatch_size=50,
        n_epochs=2,
        hidden=8,
        rounds=2,
        validate_every=150,
        validation_episodes=3,
        out=str(tmp_path / "ckpt" / "tiny.pt"),
        log_dir=str(tmp_path / "runs"),
        eval_seeds=3,
        eval_workers=1,
    )
    return dataclasses.replace(args, **changes)


def test_training_runs_a_few_hundred_decisions_then_evaluates_through_the_harness(tmp_path, capsys):
    args = tiny_args(tmp_path)
    summary = ppo_graph.main(args, argv=[])
    assert summary["decisions"] >= args.total_decisions
    sidecar = read_sidecar(args.out)
    assert sidecar["family"] == "graph"
    trained = make_config("tiny", **ppo_graph.env_overrides(args)).to_dict()
    assert sidecar["env_config"] == json.loads(json.dumps(trained))  # tuples come back as lists
    assert sidecar["args"]["total_decisions"] == 300 and sidecar["command"].startswith("python train/ppo_graph.py")
    assert sidecar["seeds"]["min_training_seed_seen"] >= TRAIN_SEED_FLOOR
    assert len(sidecar["training"]["validations"]) >= 3  # after the warm start, every 150 decisions, at the end
    warm = sidecar["training"]["warm_start"]
    assert warm["teacher"] == "heft" and warm["episodes"] == 3 and warm["decisions"] > 0
    curve = (Path(args.log_dir) / Path(sidecar["training"]["run_dir"]).name / "curve.csv").read_text()
    kinds = [line.split(",")[0] for line in curve.splitlines()[1:]]
    assert "train" in kinds and "validation" in kinds
    learned = summary["evaluation"]["train"][f"graph:{args.out}"]
    assert learned["seeds"] == 3 and learned["truncated"] == 0
    assert np.isfinite(learned["pct_vs_ces-decentralized"])
    assert "vs ces-decentralized" in capsys.readouterr().out

    # resuming continues the counters and the optimizer from the checkpoint
    net, data = load_checkpoint(args.out)
    resumed = ppo_graph.main(
        dataclasses.replace(args, resume=args.out, total_decisions=data["decisions"] + 100, eval_seeds=0), argv=[]
    )
    assert resumed["decisions"] >= data["decisions"] + 100
    run_dir = Path(args.log_dir) / Path(sidecar["training"]["run_dir"]).name
    assert any(p.stat().st_size > 0 for p in run_dir.glob("events.out.tfevents.*"))  # TensorBoard scalars


def test_every_argument_has_a_docstring_and_a_flag():
    docs = field_docstrings(ppo_graph.Args)
    names = [f.name for f in dataclasses.fields(ppo_graph.Args)]
    assert set(names) == set(docs) and all(docs.values())
    help_text = build_parser(ppo_graph.Args).format_help()
    assert "--bc-teacher" in help_text and "--total-decisions" in help_text
    args = parse_args(ppo_graph.Args, ["--seed", "7", "--total-decisions", "500"])
    assert args.seed == 7 and args.total_decisions == 500
    with pytest.raises(SystemExit):
        parse_args(ppo_graph.Args, ["--seed", "seven"])


def test_the_same_seed_trains_the_same_network(tmp_path):
    weights = []
    for run in ("a", "b"):
        args = tiny_args(
            tmp_path / run,
            total_decisions=200,
            bc_episodes=2,
            validate_every=0,
            validation_episodes=0,
            eval_seeds=0,
            keep_best=False,
        )
        ppo_graph.main(args, argv=[])
        weights.append(load_checkpoint(args.out)[0].state_dict())
    for key in weights[0]:
        torch.testing.assert_close(weights[0][key], weights[1][key], rtol=0, atol=0)


# ------------------------------------------------------------------------------------------------------ checkpoint
def test_the_committed_checkpoint_plays_deterministically_through_the_harness():
    sidecar = read_sidecar(COMMITTED)
    assert sidecar["family"] == "graph" and "ppo_graph.py" in sidecar["command"]
    assert COMMITTED.stat().st_size < 1_000_000  # small enough to keep in the repository
    cls = policy_class(COMMITTED_NAME)
    assert cls.required_config["n_candidates"] == sidecar["env_config"]["n_candidates"]
    jobs = make_jobs([COMMITTED_NAME], "small", range(2), {"control": "decentralized"})
    first = [run_job(job) for job in jobs]
    again = run_jobs(jobs, workers=2, progress=False)  # worker processes rebuild the class from its name
    for a, b in zip(first, again):
        assert a["ET"] == b["ET"] and a["conflicts"] == b["conflicts"] and not a["truncated"]
    # held out: a real 50-task graph file of another size, under the other control
    stg = str(REPO.parent / "shared" / "data" / "stg" / "rand0000_50.stg")
    if Path(stg).is_file():
        row = run_job(make_jobs([COMMITTED_NAME], "small", [0], {"graph": stg, "n_tasks": None})[0])
        assert not row["truncated"]
    row = run_job(make_jobs([COMMITTED_NAME], "small", [0], {"control": "centralized"})[0])
    assert not row["truncated"]

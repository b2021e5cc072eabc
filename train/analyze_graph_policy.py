"""What the DAG policy (``graph:PATH``) uses and where it departs from CES: input importance and choice statistics.

    python train/analyze_graph_policy.py --policy graph:train/checkpoints/ppo_graph_small.pt --episodes 30

1. **Decisions.** The policy plays ``--episodes`` greedy episodes of its training family on validation seeds
   (``VALIDATION_SEED_BASE + i``: never evaluation seeds); every decision's input (a ``DecisionRow``: the graph of the
   tasks not done, their features, the agent's features, the slots, the mask) and greedy action are recorded.
2. **Permutation importance** over the named inputs: for each task feature (``NODE_FEATURES``) the column is
   shuffled across every recorded task of every decision, for each agent feature across decisions (keeping each
   feature's distribution, breaking its link with the rest), and the share of decisions whose greedy action changes
   is measured (mean over ``--repeats`` shuffles). The graph itself is tested the same way: every decision's edges
   removed (``edges``).
3. **Choice statistics**: how often the policy waits, takes slot 1 (the CES choice: highest reward), the legal slot
   of highest upward rank (the critical-path choice), a task whose solution the agent knows, or a task whose maze a
   groupmate is exploring, against what was available.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from ces_baselines.graph_policy import NODE_FEATURES, DecisionRow, GraphPPOPolicy, greedy_actions
from ces_baselines.harness import policy_class
from ces_baselines.learned import VALIDATION_SEED_BASE
from ces_env.config import make_config
from ces_env.observations import AGENT_FEATURES
from ces_env.runner import run_episode

COLUMN = {name: i for i, name in enumerate(NODE_FEATURES)}


def record_decisions(name: str, seeds: list[int]) -> tuple[GraphPPOPolicy, list[DecisionRow], np.ndarray, list[float]]:
    """Greedy play of ``name`` on ``seeds`` of its training family: (a policy instance, every decision's row, its
    greedy action, each episode's ET)."""
    base = policy_class(name)
    rows: list[DecisionRow] = []
    actions: list[int] = []

    class Recording(base):  # type: ignore[misc, valid-type]
        def choose(self, agents, observations, infos):
            env = self.env.unwrapped
            new = [self.rows.row(env, agent, observations[agent], infos[agent]) for agent in agents]
            chosen = greedy_actions(self.model, new)
            rows.extend(new)
            actions.extend(int(a) for a in chosen)
            return chosen

    policy = Recording()
    config = make_config(None, **policy.metadata["env_config"])
    ets = [float(run_episode(Recording(), config, seed).metric("ET")) for seed in seeds]
    return policy, rows, np.asarray(actions), ets


def permutation_importance(
    policy: GraphPPOPolicy, rows: list[DecisionRow], actions: np.ndarray, repeats: int, seed: int
) -> dict[str, float]:
    """Share of decisions whose greedy action changes when one input is shuffled (or the edges removed)."""
    rng = np.random.default_rng(seed)
    sizes = np.array([row.n_nodes for row in rows])
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    all_nodes = np.concatenate([row.nodes for row in rows])
    all_agents = np.stack([row.agent for row in rows])

    def changed(new_rows: list[DecisionRow]) -> float:
        return float(np.mean(greedy_actions(policy.model, new_rows) != actions))

    out: dict[str, float] = {}
    for name, column in COLUMN.items():
        shares = []
        for _ in range(repeats):
            nodes = all_nodes.copy()
            nodes[:, column] = all_nodes[rng.permutation(len(all_nodes)), column]
            shares.append(
                changed(
                    [dataclasses.replace(row, nodes=nodes[bounds[i] : bounds[i + 1]]) for i, row in enumerate(rows)]
                )
            )
        out[f"task.{name}"] = float(np.mean(shares))
    for column, name in enumerate(AGENT_FEATURES):
        shares = []
        for _ in range(repeats):
            agents = all_agents.copy()
            agents[:, column] = all_agents[rng.permutation(len(rows)), column]
            shares.append(changed([dataclasses.replace(row, agent=agents[i]) for i, row in enumerate(rows)]))
        out[f"agent.{name}"] = float(np.mean(shares))
    no_edges = np.zeros(0, dtype=np.int64)
    out["edges"] = changed([dataclasses.replace(row, src=no_edges, dst=no_edges) for row in rows])
    return out


def choice_statistics(rows: list[DecisionRow], actions: np.ndarray) -> dict[str, float]:
    """How the greedy choices relate to reward order, upward rank and knowledge (shares of the decisions where the
    statistic is defined)."""
    took = actions > 0
    stats: dict[str, list[float]] = {
        "wait | legal": [],
        "slot 1, highest reward (CES) | took a task": [],
        "highest upward rank among legal slots | took a task": [],
        "highest upward rank, not slot 1 | took a task, they differ": [],
        "known task | took a task, one was legal": [],
        "maze a groupmate explores | took a task, a free maze was legal": [],
    }
    for row, action, take in zip(rows, actions, took):
        legal = np.flatnonzero(row.mask[1:])
        if row.mask[0] and len(legal):
            stats["wait | legal"].append(float(not take))
        if not take or not len(legal):
            continue
        nodes = row.nodes[row.slots[legal]]
        slot = int(action) - 1
        chosen = row.nodes[row.slots[slot]]
        rank = nodes[:, COLUMN["upward_rank"]]
        best_rank_slot = int(legal[np.argmax(rank)])
        stats["slot 1, highest reward (CES) | took a task"].append(float(slot == int(legal[0])))
        stats["highest upward rank among legal slots | took a task"].append(
            float(chosen[COLUMN["upward_rank"]] >= rank.max())
        )
        if best_rank_slot != int(legal[0]):
            stats["highest upward rank, not slot 1 | took a task, they differ"].append(
                float(chosen[COLUMN["upward_rank"]] >= rank.max())
            )
        if (nodes[:, COLUMN["known"]] > 0.5).any():
            stats["known task | took a task, one was legal"].append(float(chosen[COLUMN["known"]] > 0.5))
        busy = (nodes[:, COLUMN["class_in_progress"]] > 0.5) & (nodes[:, COLUMN["known"]] < 0.5)
        if (~busy).any():
            chosen_busy = chosen[COLUMN["class_in_progress"]] > 0.5 and chosen[COLUMN["known"]] < 0.5
            stats["maze a groupmate explores | took a task, a free maze was legal"].append(float(chosen_busy))
    return {name: float(np.mean(values)) if values else float("nan") for name, values in stats.items()} | {
        "decisions": float(len(actions))
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", required=True, help="a DAG policy, graph:PATH")
    parser.add_argument("--episodes", type=int, default=30, help="greedy episodes on validation seeds (default 30)")
    parser.add_argument("--repeats", type=int, default=3, help="shuffles per input (default 3)")
    parser.add_argument("--json", default=None, help="write the results to this JSON file")
    args = parser.parse_args(argv)
    if not args.policy.startswith("graph:"):
        parser.error(f"--policy {args.policy!r}: expected graph:PATH")
    seeds = [VALIDATION_SEED_BASE + i for i in range(args.episodes)]
    policy, rows, actions, ets = record_decisions(args.policy, seeds)
    importance = permutation_importance(policy, rows, actions, args.repeats, seed=0)
    stats = choice_statistics(rows, actions)
    print(f"{len(actions)} decisions in {len(seeds)} episodes (validation seeds), mean ET {np.mean(ets):.1f}\n")
    print("| input | decisions changed when shuffled |\n| --- | ---: |")
    for name, value in sorted(importance.items(), key=lambda kv: -kv[1]):
        print(f"| `{name}` | {100 * value:.1f}% |")
    print("\n| choice statistic | value |\n| --- | ---: |")
    for name, value in stats.items():
        print(f"| {name} | {int(value) if name == 'decisions' else f'{100 * value:.1f}%'} |")
    result = {"importance": importance, "choices": stats, "episodes": len(seeds), "mean_ET": float(np.mean(ets))}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()

"""What a learned slot policy uses and where it departs from CES: permutation importance and choice statistics.

    python train/analyze_policy.py --policy ppo:train/checkpoints/ppo_shared_small.zip --episodes 30
    python train/analyze_policy.py --policy rllib:train/checkpoints/rllib_ppo_small.pt --episodes 30

1. **Decisions.** The policy plays ``--episodes`` greedy episodes of its training family on validation seeds
   (``VALIDATION_SEED_BASE + i``: never evaluation seeds), and every decision (the chooser's observation, mask and
   greedy action) is recorded.
2. **Permutation importance** over the observation's named features (``ces_env.observations``): for each agent
   feature, and for each slot feature across all K slots at once, the feature's column is shuffled across the
   recorded decisions (breaking its link with the rest of the observation while keeping its distribution) and the
   share of decisions whose greedy action changes is measured (mean over ``--repeats`` shuffles). High: the policy's
   choice depends on that feature.
3. **Departures from CES**: how often the policy takes slot 1 (the CES choice: highest reward), waits, takes a task
   whose solution the agent knows, or a task whose maze a groupmate is exploring, against what was available.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ces_baselines.harness import policy_class  # noqa: E402
from ces_baselines.learned import VALIDATION_SEED_BASE, CheckpointPolicy  # noqa: E402
from ces_env.config import make_config  # noqa: E402
from ces_env.observations import AGENT_FEATURES, SLOT_FEATURES, agent_feature_index, slot_feature_index  # noqa: E402
from ces_env.runner import run_episode  # noqa: E402


def record_decisions(name: str, config, seeds) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]:
    """Greedy play on ``seeds``: (observations, masks, actions) of every decision, and each episode's ET."""
    base = policy_class(name)
    rows: list[tuple[np.ndarray, np.ndarray, int]] = []

    class Recording(base):  # type: ignore[misc, valid-type]
        def choose(self, agents, observations, infos):
            actions = super().choose(agents, observations, infos)
            for agent, action in zip(agents, actions):
                rows.append(
                    (observations[agent]["observation"].copy(), observations[agent]["action_mask"].copy(), action)
                )
            return actions

    ets = [run_episode(Recording(), config, seed).metric("ET") for seed in seeds]
    obs = np.stack([r[0] for r in rows]).astype(np.float32)
    masks = np.stack([r[1] for r in rows]).astype(bool)
    actions = np.array([int(r[2]) for r in rows])
    return obs, masks, actions, ets


def feature_groups(n_slots: int) -> dict[str, list[int]]:
    """Observation columns by feature name: each agent feature alone, each slot feature over all slots."""
    groups = {name: [agent_feature_index(name)] for name in AGENT_FEATURES}
    for name in SLOT_FEATURES:
        groups[f"slot.{name}"] = [slot_feature_index(k, name) for k in range(n_slots)]
    return groups


def greedy_batch_actions(policy: CheckpointPolicy, obs: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """The policy's greedy actions for a batch of recorded decisions, whatever its family's model: a MaskablePPO
    model (``ppo:``) or a plain torch network (``rllib:``), which have different batch interfaces."""
    from ces_baselines.rllib_policy import MaskedActorCritic, greedy_network_actions

    if isinstance(policy.model, MaskedActorCritic):
        return greedy_network_actions(policy.model, obs, masks)
    from ces_baselines.learned import greedy_masked_actions

    return greedy_masked_actions(policy.model, obs, masks)


def permutation_importance(
    policy: CheckpointPolicy, obs: np.ndarray, masks: np.ndarray, actions: np.ndarray, repeats: int, seed: int
) -> dict[str, float]:
    """Share of decisions whose greedy action changes when a feature's columns are shuffled across decisions."""
    rng = np.random.default_rng(seed)
    n_slots = int(policy.metadata["env_config"]["n_candidates"])
    out = {}
    for name, columns in feature_groups(n_slots).items():
        changed = []
        for _ in range(repeats):
            shuffled = obs.copy()
            order = rng.permutation(len(obs))
            shuffled[:, columns] = obs[order][:, columns]
            changed.append(np.mean(greedy_batch_actions(policy, shuffled, masks) != actions))
        out[name] = float(np.mean(changed))
    return out


def _share(event: np.ndarray, condition: np.ndarray | np.bool_) -> float:
    """Share of the decisions meeting ``condition`` where ``event`` happened (nan when none meets it)."""
    return float(np.mean(event[condition])) if condition.any() else float("nan")


def departures(obs: np.ndarray, masks: np.ndarray, actions: np.ndarray, n_slots: int) -> dict[str, float]:
    """Choice statistics against the CES rule (slot 1) and the knowledge features."""
    n = len(actions)
    slot = actions - 1  # -1: wait
    took = slot >= 0
    known = np.stack([obs[:, slot_feature_index(k, "known")] for k in range(n_slots)], axis=1) > 0.5
    in_progress = np.stack([obs[:, slot_feature_index(k, "class_in_progress")] for k in range(n_slots)], axis=1)
    busy = (in_progress > 0.5) & ~known  # a maze a groupmate is exploring and the agent does not know
    legal = masks[:, 1 : 1 + n_slots]
    rows = np.arange(n)
    chosen_known = np.where(took, known[rows, np.maximum(slot, 0)], False)
    chosen_busy = np.where(took, busy[rows, np.maximum(slot, 0)], False)
    known_available = (known & legal).any(axis=1)
    slot1_unknown_but_known_elsewhere = legal[:, 0] & ~known[:, 0] & known_available
    free_available = (~busy & legal).any(axis=1)
    rank = np.stack([obs[:, slot_feature_index(k, "upward_rank")] for k in range(n_slots)], axis=1)
    free_rank = np.where(legal & ~busy, rank, -1.0)
    top_rank = free_rank.max(axis=1)
    chosen_rank = np.where(took, rank[rows, np.maximum(slot, 0)], -1.0)
    took_free = took & ~chosen_busy
    return {
        "decisions": n,
        "waits (of all decisions)": float(np.mean(~took)),
        "takes slot 1, the CES choice (highest reward)": float(np.mean(slot == 0)),
        "takes a known task, when one is legal": _share(chosen_known, known_available),
        "takes a known task, when slot 1 is unknown and another is known": _share(
            chosen_known, slot1_unknown_but_known_elsewhere
        ),
        "takes a maze a groupmate explores, when another task is legal": _share(chosen_busy, free_available),
        "slot 1 (what CES takes) is a maze a groupmate explores": float(np.mean(busy[:, 0] & legal[:, 0])),
        "waits, when a known task is legal": _share(~took, known_available),
        "waits, when every legal task is a maze a groupmate explores": _share(
            ~took, legal.any(axis=1) & ~free_available
        ),
        "waits, when an unexplored maze nobody explores is legal": _share(~took, (legal & ~busy & ~known).any(axis=1)),
        "takes the highest upward rank among the free legal tasks, when it takes one": _share(
            np.isclose(chosen_rank, top_rank), took_free
        ),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", required=True, help="a learned slot policy, FAMILY:PATH")
    parser.add_argument("--episodes", type=int, default=30, help="greedy episodes on validation seeds (default 30)")
    parser.add_argument("--repeats", type=int, default=5, help="shuffles per feature (default 5)")
    parser.add_argument("--json", default=None, help="write the results to this JSON file")
    args = parser.parse_args(argv)
    cls = policy_class(args.policy)
    policy = cls()
    trained = dict(policy.metadata["env_config"])
    config = make_config(None, **trained)
    seeds = [VALIDATION_SEED_BASE + i for i in range(args.episodes)]
    obs, masks, actions, ets = record_decisions(args.policy, config, seeds)
    n_slots = int(trained["n_candidates"])
    importance = permutation_importance(policy, obs, masks, actions, args.repeats, seed=0)
    stats = departures(obs, masks, actions, n_slots)
    print(f"{len(actions)} decisions in {len(seeds)} episodes (validation seeds), mean ET {np.mean(ets):.1f}\n")
    print("| feature | decisions changed when shuffled |\n| --- | ---: |")
    for name, value in sorted(importance.items(), key=lambda kv: -kv[1]):
        print(f"| `{name}` | {100 * value:.1f}% |")
    print("\n| choice statistic | value |\n| --- | ---: |")
    for name, value in stats.items():
        print(f"| {name} | {value if name == 'decisions' else f'{100 * value:.1f}%'} |")
    result = {"importance": importance, "departures": stats, "episodes": len(seeds), "mean_ET": float(np.mean(ets))}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()

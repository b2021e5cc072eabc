"""Learned policies in the harness: checkpoint families (``ppo:PATH``), the checkpoint sidecar, greedy play.

A learned policy is named ``FAMILY:PATH`` wherever a policy name is accepted (``ces-bench run --policy
ppo:train/checkpoints/ppo_shared_small.zip``, ``ces_baselines.harness.policy_class``, ``make_jobs``). The family says
how to load the file; the path is the checkpoint. :func:`learned_policy_class` turns such a name into a
:class:`ces_env.policies.Policy` class whose instances play the checkpoint greedily, so that learned and scripted
policies go through the same jobs, rows, CSV columns and tables.

Every checkpoint has a JSON **sidecar** beside it (same path, suffix ``.json``; :func:`write_sidecar`,
:func:`read_sidecar`) holding the environment config it was trained on, the training arguments, the seeds and the git
commit, so that evaluating never needs the training command. The sidecar's ``env_config`` fixes the observation and
action layout: a learned policy requires the same ``n_candidates`` and ``exploration_mode`` (its ``required_config``);
every other field (graph, scale, maze size, control) may differ, which is how held-out instances are evaluated.

Adding a family (e.g. the DAG message-passing policy): write a :class:`CheckpointPolicy` subclass that implements
:meth:`CheckpointPolicy.load` and :meth:`CheckpointPolicy.choose`, in a module importable by the harness's worker
processes (under ``baselines/``), and add one line to :data:`FAMILIES`.
"""

from __future__ import annotations

import copyreg
import importlib
import json
import multiprocessing
import subprocess
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np
from pettingzoo import ParallelEnv

from ces_env.observations import ActionLayout, observation_size
from ces_env.policies import Actions, Infos, Observations, Policy, env_config

SIDECAR_FORMAT = "ces-learned-checkpoint/1"
SHAPE_FIELDS = ("n_candidates", "exploration_mode")
"""Config fields that set a policy's observation and action layout: a checkpoint is evaluated only with its own."""

EVAL_SEED_LIMIT = 100_000
"""Evaluation (reports, ``ces-bench``) uses seeds below this; validation during training uses
``VALIDATION_SEED_BASE + i``; training episodes use seeds >= ``TRAIN_SEED_FLOOR``. The three ranges are disjoint, so
no reported number comes from an instance seen in training (the training scripts assert it)."""
VALIDATION_SEED_BASE = 100_000
TRAIN_SEED_FLOOR = 1_000_000


# ------------------------------------------------------------------------------------------------------ sidecar
def sidecar_path(checkpoint: str | Path) -> Path:
    """The JSON sidecar of a checkpoint: the same path with the suffix ``.json``."""
    return Path(checkpoint).with_suffix(".json")


def git_commit(repo: str | Path | None = None) -> str | None:
    """The current commit of the repository at ``repo`` (default: this file's), with ``+dirty`` when the working tree
    has uncommitted changes; None outside a git checkout."""
    where = Path(repo) if repo is not None else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=where, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def write_sidecar(
    checkpoint: str | Path,
    *,
    family: str,
    env_config: dict[str, Any],
    args: dict[str, Any],
    seeds: dict[str, Any],
    command: str,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write the sidecar of ``checkpoint`` and return its path.

    Args:
        family: the policy family that loads the checkpoint (a key of :data:`FAMILIES`).
        env_config: ``CESConfig.to_dict()`` of the training environment.
        args: the training arguments (the script's dataclass as a dict), enough to resume or retrain.
        seeds: every seed used (the run's root seed, the training and validation seed ranges).
        command: the exact command line that produced the checkpoint.
        extra: anything else worth keeping (wall time, decisions trained, final validation ET).
    """
    if family not in FAMILIES:
        raise ValueError(f"write_sidecar: unknown family {family!r}; families: {', '.join(sorted(FAMILIES))}")
    payload = {
        "format": SIDECAR_FORMAT,
        "family": family,
        "checkpoint": Path(checkpoint).name,
        "env_config": env_config,
        "args": args,
        "seeds": seeds,
        "command": command,
        "git_commit": git_commit(),
        **(extra or {}),
    }
    path = sidecar_path(checkpoint)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=_json_default) + "\n", encoding="utf-8")
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set, np.ndarray)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_sidecar(checkpoint: str | Path) -> dict[str, Any]:
    """The sidecar of ``checkpoint``; a missing file, a missing sidecar or a sidecar without the fields evaluation
    needs is a ``ValueError`` naming the file."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise ValueError(f"learned policy: no checkpoint file {str(checkpoint)!r}")
    path = sidecar_path(checkpoint)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"learned policy: the checkpoint {str(checkpoint)!r} has no sidecar {str(path)!r}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{error.lineno}: not valid JSON: {error.msg}") from None
    if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
        raise ValueError(f"{path}: not a checkpoint sidecar (expected format {SIDECAR_FORMAT!r})")
    for key in ("family", "env_config"):
        if key not in data:
            raise ValueError(f"{path}: the sidecar lacks the field {key!r}")
    missing = [field for field in SHAPE_FIELDS if field not in data["env_config"]]
    if missing:
        raise ValueError(f"{path}: env_config lacks the field(s) {missing}")
    return data


# ------------------------------------------------------------------------------------------------------ the policy
class CheckpointPolicy(Policy):
    """A policy that plays a checkpoint greedily, one decision per agent that has a choice.

    Like the training adapters (``ces_env.wrappers.SB3VecEnv``), an agent with two or more legal actions decides
    through the learned model (:meth:`choose`), an agent with a single legal task takes it, and the others wait. Each
    chooser's decision depends only on its own observation, so playing the choosers of a tick together here is the
    same as the adapter presenting them one after the other. A chosen action that the mask forbids raises
    ``RuntimeError`` (greedy play must only ever pick legal actions); waiting cannot stall, because the env's wait
    lasts until something changes and a quiescent all-wait round is asked again with waiting masked out.

    Subclasses implement :meth:`load` (once per process and checkpoint version; the result is cached) and
    :meth:`choose`. A bound class (see :func:`learned_policy_class`) sets ``name``, ``checkpoint`` and
    ``required_config``.
    """

    name: ClassVar[str] = "checkpoint"
    description: ClassVar[str] = "a learned policy played greedily from a checkpoint"
    checkpoint: ClassVar[str] = ""
    """Absolute path of the checkpoint file (set by the bound class)."""

    _cache: ClassVar[dict[tuple[str, str, int, int], Any]] = {}

    def __init__(self) -> None:
        if not self.checkpoint:
            raise TypeError(f"{type(self).__name__} is a family: bind it to a checkpoint with learned_policy_class()")
        self.metadata = read_sidecar(self.checkpoint)
        # also when the model comes cached from a parent that forked this worker after using torch: a worker that
        # then runs torch with the parent's OpenMP thread count hangs in MKL's thread barrier (those threads were
        # not forked)
        _single_torch_thread_in_workers()
        self.model = self._load_cached()

    def _load_cached(self) -> Any:
        stat = Path(self.checkpoint).stat()
        key = (type(self).__qualname__, self.checkpoint, stat.st_mtime_ns, stat.st_size)
        if key not in CheckpointPolicy._cache:
            CheckpointPolicy._cache[key] = self.load(self.checkpoint, self.metadata)
        return CheckpointPolicy._cache[key]

    @classmethod
    @abstractmethod
    def load(cls, checkpoint: str, metadata: dict[str, Any]) -> Any:
        """Load the model behind ``checkpoint`` (called once per process and file version)."""

    @abstractmethod
    def choose(self, agents: list[str], observations: Observations, infos: Infos) -> np.ndarray:
        """The greedy action of each agent in ``agents`` (every one has two or more legal actions), in their order."""

    def reset(self, env: ParallelEnv, seed: int) -> None:
        super().reset(env, seed)
        config = env_config(env)
        trained = self.metadata["env_config"]
        for field in SHAPE_FIELDS:  # the harness enforces these through required_config; direct users get this
            if getattr(config, field) != trained[field]:
                raise ValueError(
                    f"learned policy {self.name!r}: config field {field!r} is {getattr(config, field)!r}, but the "
                    f"checkpoint was trained with {trained[field]!r} (the observation layout depends on it)"
                )
        self.n_actions = ActionLayout(config).n_actions
        self.observation_size = observation_size(
            config.n_candidates, config.view_radius, config.exploration_mode == "steered"
        )

    def act(self, observations: Observations, infos: Infos) -> Actions:
        actions: Actions = {}
        choosers: list[str] = []
        for agent, obs in observations.items():
            legal = np.flatnonzero(obs["action_mask"])
            if len(legal) > 1:
                choosers.append(agent)
            else:  # one legal action (a forced task, or wait): no choice to make
                actions[agent] = int(legal[0]) if len(legal) else 0
        if choosers:
            chosen = np.asarray(self.choose(choosers, observations, infos)).reshape(len(choosers))
            for agent, action in zip(choosers, chosen):
                action = int(action)
                mask = observations[agent]["action_mask"]
                if not (0 <= action < len(mask)) or not mask[action]:
                    raise RuntimeError(
                        f"learned policy {self.name!r} chose the masked action {action} for {agent} "
                        f"(legal: {np.flatnonzero(mask).tolist()})"
                    )
                actions[agent] = action
        return actions


def _single_torch_thread_in_workers() -> None:
    """In the harness's worker processes, one torch thread each: the batches are a handful of rows, and several
    workers with several threads each only fight over the cores."""
    if multiprocessing.current_process().name == "MainProcess":
        return
    import torch

    if torch.get_num_threads() > 1:
        torch.set_num_threads(1)


class MaskablePPOPolicy(CheckpointPolicy):
    """``ppo:PATH``: a stable-baselines3 / sb3-contrib MaskablePPO checkpoint (``train/ppo_shared.py``), one shared
    policy for every agent, played greedily: the argmax of the logits after masking (masked logits are set to a
    large negative number, so a masked action is never the argmax while a legal one exists)."""

    name: ClassVar[str] = "ppo"
    description: ClassVar[str] = "learned: a shared MaskablePPO policy (train/ppo_shared.py), greedy over masked logits"

    @classmethod
    def load(cls, checkpoint: str, metadata: dict[str, Any]) -> Any:
        _single_torch_thread_in_workers()
        try:
            from sb3_contrib import MaskablePPO
        except ImportError:
            raise ImportError('ppo:PATH needs sb3-contrib: pip install -c constraints.txt -e ".[train]"') from None
        return MaskablePPO.load(checkpoint, device="cpu")

    def reset(self, env: ParallelEnv, seed: int) -> None:
        super().reset(env, seed)
        shape = self.model.observation_space.shape
        if shape != (self.observation_size,) or int(self.model.action_space.n) != self.n_actions:
            raise ValueError(
                f"learned policy {self.name!r}: the model takes observations {shape} and {self.model.action_space.n} "
                f"actions, the env gives ({self.observation_size},) and {self.n_actions}"
            )

    def choose(self, agents: list[str], observations: Observations, infos: Infos) -> np.ndarray:
        batch = np.stack([observations[a]["observation"] for a in agents]).astype(np.float32, copy=False)
        masks = np.stack([observations[a]["action_mask"] for a in agents]).astype(bool)
        return greedy_masked_actions(self.model, batch, masks)


def greedy_masked_actions(model: Any, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Argmax over the masked logits of a MaskablePPO ``model`` for a batch (rows with at least one legal action)."""
    import torch

    with torch.no_grad():
        obs_tensor, _ = model.policy.obs_to_tensor(observations)
        distribution = model.policy.get_distribution(obs_tensor, action_masks=masks)
        logits = distribution.distribution.logits.cpu().numpy()
    logits = np.where(masks, logits, -np.inf)  # belt and braces: never a masked action, whatever the library does
    return logits.argmax(axis=1)


# ------------------------------------------------------------------------------------------------------ families
@dataclass(frozen=True)
class PolicyFamily:
    """How to load a ``prefix:PATH`` policy name: ``policy`` is ``"module:Class"``, a :class:`CheckpointPolicy`
    subclass imported only when such a name is used (so scripted runs never import torch)."""

    prefix: str
    policy: str
    description: str

    def policy_class(self) -> type[CheckpointPolicy]:
        module, _, attr = self.policy.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        if not (isinstance(cls, type) and issubclass(cls, CheckpointPolicy)):
            raise TypeError(f"policy family {self.prefix!r}: {self.policy} is not a CheckpointPolicy subclass")
        return cls


FAMILIES: dict[str, PolicyFamily] = {
    "ppo": PolicyFamily("ppo", "ces_baselines.learned:MaskablePPOPolicy", MaskablePPOPolicy.description),
    "graph": PolicyFamily("graph", "ces_baselines.graph_policy:GraphPPOPolicy", "learned: DAG message passing"),
    "rllib": PolicyFamily("rllib", "ces_baselines.rllib_policy:RLlibModulePolicy", "learned: RLlib multi-agent PPO"),
}


def is_learned_name(name: str) -> bool:
    """True for ``FAMILY:PATH`` with a known family."""
    prefix, sep, path = name.partition(":")
    return bool(sep) and prefix in FAMILIES and bool(path)


class _BoundPolicyMeta(ABCMeta):
    """Metaclass of the classes :func:`learned_policy_class` makes. They are made at run time, so pickle could not
    find them by name; they pickle as "bind this name again" instead (worker processes rebuild them)."""


_BOUND: dict[str, type[CheckpointPolicy]] = {}


def learned_policy_class(name: str) -> type[CheckpointPolicy]:
    """The policy class of ``FAMILY:PATH`` (cached per name): instances play that checkpoint greedily.

    Its ``name`` is ``name`` as given (the path as typed, which is what tables and CSV rows show); its
    ``required_config`` holds the checkpoint's layout fields (:data:`SHAPE_FIELDS`). A missing checkpoint or sidecar
    is a ``ValueError`` naming the file.
    """
    if name in _BOUND:
        return _BOUND[name]
    prefix, sep, path = name.partition(":")
    if not sep or not path:
        raise ValueError(f"learned policy name {name!r}: expected FAMILY:PATH, e.g. ppo:train/checkpoints/x.zip")
    if prefix not in FAMILIES:
        raise ValueError(f"learned policy {name!r}: unknown family {prefix!r}; families: {', '.join(FAMILIES)}")
    family = FAMILIES[prefix]
    checkpoint = str(Path(path).expanduser().resolve())
    metadata = read_sidecar(checkpoint)
    if metadata["family"] != prefix:
        raise ValueError(
            f"learned policy {name!r}: {sidecar_path(checkpoint)} says the checkpoint belongs to family "
            f"{metadata['family']!r}, not {prefix!r}"
        )
    base = family.policy_class()
    required = {field: metadata["env_config"][field] for field in SHAPE_FIELDS}
    namespace = {
        "name": name,
        "checkpoint": checkpoint,
        "description": f"{family.description} [{path}]",
        "required_config": required,
        "__module__": __name__,
        "__qualname__": f"{base.__name__}[{name}]",
    }
    cls = cast(type[CheckpointPolicy], _BoundPolicyMeta(f"{base.__name__}[{name}]", (base,), namespace))
    _BOUND[name] = cls
    return cls


def _reduce_bound(cls: Any) -> tuple[Any, tuple[str]]:
    return learned_policy_class, (cls.name,)


copyreg.pickle(_BoundPolicyMeta, _reduce_bound)


__all__ = [
    "CheckpointPolicy",
    "MaskablePPOPolicy",
    "PolicyFamily",
    "FAMILIES",
    "learned_policy_class",
    "is_learned_name",
    "greedy_masked_actions",
    "read_sidecar",
    "write_sidecar",
    "sidecar_path",
    "git_commit",
    "EVAL_SEED_LIMIT",
    "VALIDATION_SEED_BASE",
    "TRAIN_SEED_FLOOR",
    "SHAPE_FIELDS",
]

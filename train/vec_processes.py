"""``ces_env.wrappers.SB3VecEnv`` rows spread over worker processes, so that training steps envs on every core.

Stepping the simulator is most of a training run's time (the network is small), and ``SB3VecEnv`` steps its rows in
one process. :class:`ProcessVecEnv` splits ``n_envs`` rows over ``n_processes`` workers, each holding an
``SB3VecEnv`` of its share, and presents them as one stable-baselines3 ``VecEnv`` with the same protocol: one real
decision per row, masks for MaskablePPO through ``env_method("action_masks")`` (sent along with every step, so no
extra round trip), the same infos. Worker ``i`` roots its episode seeds at the ``i``-th child of
``np.random.SeedSequence(seed)``, so a run is reproducible for a given ``(seed, n_envs, n_processes)``.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

from ces_env.config import CESConfig
from ces_env.wrappers import SB3VecEnv


def _worker(remote: Connection, parent: Connection, n_envs: int, seed: int | None, config: CESConfig) -> None:
    parent.close()
    env = SB3VecEnv(n_envs=n_envs, seed=seed, config=config)
    try:
        while True:
            command, data = remote.recv()
            if command == "step":
                observations, rewards, dones, infos = env.step(data)
                remote.send((observations, rewards, dones, infos, env.action_masks()))
            elif command == "reset":
                observations = env.reset()
                remote.send((observations, env.action_masks(), list(env.reset_infos)))
            elif command == "seed":
                remote.send(env.seed(data))
            elif command == "rows":  # attribute access and method calls on rows, as SB3VecEnv answers them
                kind, name, args, kwargs, local = data
                if kind == "has_attr":
                    remote.send(env.has_attr(name))
                elif kind == "get_attr":
                    remote.send(env.get_attr(name, local))
                elif kind == "set_attr":
                    env.set_attr(name, args[0], local)
                    remote.send(None)
                else:
                    remote.send(env.env_method(name, *args, indices=local, **kwargs))
            elif command == "close":
                env.close()
                remote.send(None)
                return
            else:
                raise ValueError(f"ProcessVecEnv worker: unknown command {command!r}")
    except (KeyboardInterrupt, EOFError):
        return


def worker_seeds(seed: int | None, n_processes: int) -> list[int | None]:
    """The root seed of each worker's ``SB3VecEnv``: children of ``SeedSequence(seed)`` (None stays None)."""
    if seed is None:
        return [None] * n_processes
    children = np.random.SeedSequence(seed).spawn(n_processes)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


class ProcessVecEnv(VecEnv):
    """``n_envs`` rows of ``SB3VecEnv(config=config)`` over ``n_processes`` worker processes (spawned)."""

    def __init__(self, n_envs: int, n_processes: int, seed: int | None, config: CESConfig):
        if not 1 <= n_processes <= n_envs:
            raise ValueError(f"ProcessVecEnv: n_processes must be in 1..n_envs={n_envs}, got {n_processes}")
        self.sizes = [len(part) for part in np.array_split(np.arange(n_envs), n_processes)]
        probe = SB3VecEnv(n_envs=1, seed=0, config=config)
        observation_space, action_space = probe.observation_space, probe.action_space
        probe.close()
        context = mp.get_context("spawn")
        self.remotes: list[Connection] = []
        self.processes = []
        for size, worker_seed in zip(self.sizes, worker_seeds(seed, n_processes)):
            remote, child = context.Pipe()
            process = context.Process(target=_worker, args=(child, remote, size, worker_seed, config), daemon=True)
            process.start()
            child.close()
            self.remotes.append(remote)
            self.processes.append(process)
        assert isinstance(action_space, spaces.Discrete)  # SB3VecEnv's action space: one discrete choice per row
        self._masks = np.zeros((n_envs, int(action_space.n)), dtype=np.bool_)
        self.closed = False
        super().__init__(n_envs, observation_space, action_space)

    def _split(self, values: np.ndarray) -> list[np.ndarray]:
        return np.split(np.asarray(values), np.cumsum(self.sizes)[:-1])

    def reset(self) -> np.ndarray:
        for remote in self.remotes:
            remote.send(("reset", None))
        answers = [remote.recv() for remote in self.remotes]
        self._masks = np.concatenate([a[1] for a in answers])
        self.reset_infos = [info for a in answers for info in a[2]]
        self._reset_options()
        return np.concatenate([a[0] for a in answers])

    def step_async(self, actions: np.ndarray) -> None:
        for remote, part in zip(self.remotes, self._split(actions)):
            remote.send(("step", part))

    def step_wait(self) -> VecEnvStepReturn:
        answers = [remote.recv() for remote in self.remotes]
        self._masks = np.concatenate([a[4] for a in answers])
        infos = [info for a in answers for info in a[3]]
        return (
            np.concatenate([a[0] for a in answers]),
            np.concatenate([a[1] for a in answers]),
            np.concatenate([a[2] for a in answers]),
            infos,
        )

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Re-root every worker's episode seeds (SB3 calls this when the model is given ``seed=``)."""
        for remote, worker_seed in zip(self.remotes, worker_seeds(seed, len(self.remotes))):
            remote.send(("seed", worker_seed))
        return [s for remote in self.remotes for s in remote.recv()]

    def close(self) -> None:
        if self.closed:
            return
        for remote in self.remotes:
            remote.send(("close", None))
        for remote in self.remotes:
            remote.recv()
        for process in self.processes:
            process.join()
        self.closed = True

    def action_masks(self) -> np.ndarray:
        return self._masks.copy()

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int | np.integer):
            return [int(indices)]
        return [int(i) for i in indices]

    def env_method(self, method_name: str, *args: Any, indices: VecEnvIndices = None, **kwargs: Any) -> list[Any]:
        if method_name == "action_masks":  # sent along with every step: no round trip
            return [self._masks[i].copy() for i in self._indices(indices)]
        return self._rows("env_method", method_name, args, kwargs, indices)

    def has_attr(self, attr_name: str) -> bool:
        for remote in self.remotes:
            remote.send(("rows", ("has_attr", attr_name, (), {}, None)))
        return all([remote.recv() for remote in self.remotes])

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return self._rows("get_attr", attr_name, (), {}, indices)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._rows("set_attr", attr_name, (value,), {}, indices)

    def _rows(self, kind: str, name: str, args: tuple, kwargs: dict, indices: VecEnvIndices) -> list[Any]:
        """Forward a row access to the workers holding ``indices`` (values travel pickled); results in row order."""
        starts = np.cumsum([0, *self.sizes])
        wanted = self._indices(indices)
        by_worker: dict[int, list[int]] = {}
        for i in wanted:
            if not 0 <= i < self.num_envs:
                raise IndexError(f"ProcessVecEnv: row {i} outside 0..{self.num_envs - 1}")
            worker = int(np.searchsorted(starts, i, side="right")) - 1
            by_worker.setdefault(worker, []).append(i - int(starts[worker]))
        for worker, local in by_worker.items():
            self.remotes[worker].send(("rows", (kind, name, args, kwargs, local)))
        answers = {worker: self.remotes[worker].recv() for worker in by_worker}
        if kind == "set_attr":
            return []
        taken = dict.fromkeys(by_worker, 0)
        results = []
        for i in wanted:  # back in the order asked for
            worker = int(np.searchsorted(starts, i, side="right")) - 1
            results.append(answers[worker][taken[worker]])
            taken[worker] += 1
        return results

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        """As ``SB3VecEnv``: episode ends carry Monitor's statistics."""
        return [wrapper_class is Monitor for _ in self._indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs


__all__ = ["ProcessVecEnv", "worker_seeds"]

"""mpe2 ``simple_spread`` (N=3) agent-steps per CPU-second under random actions, to set beside ``bench.py``'s figures.

mpe2 is not a dependency: ``pip install --target /tmp/mpe2pkg --no-deps mpe2`` then
``PYTHONPATH=/tmp/mpe2pkg python benchmarks/bench_mpe2.py [episodes]``. mpe2 imports pygame for rendering, which this
never does, so pygame is stubbed. Pinned to one core, CPU time (comparable under load).
"""

from __future__ import annotations

import os
import sys
import time
from unittest.mock import MagicMock

import numpy as np


def agent_steps_per_cpu_second(episodes: int) -> tuple[float, int]:
    """(agent-steps per CPU-s, agent-steps) of ``simple_spread`` N=3 under random actions (mpe2 must be importable)."""
    sys.modules.setdefault("pygame", MagicMock())  # rendering only; never called here
    sys.modules.setdefault("pygame.freetype", sys.modules["pygame"].freetype)
    from mpe2 import simple_spread_v3

    env = simple_spread_v3.parallel_env(N=3)
    rng = np.random.default_rng(0)
    steps = 0
    start = time.process_time()
    for episode in range(episodes):
        env.reset(seed=episode)
        while env.agents:
            steps += len(env.agents)  # live agents this step (all of them, until the episode's last cycle)
            env.step({agent: int(rng.integers(5)) for agent in env.agents})
    return steps / (time.process_time() - start), steps


def main(episodes: int) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rate, steps = agent_steps_per_cpu_second(episodes)
    print(f"mpe2 simple_spread N=3: {rate:,.0f} agent-steps per CPU-s ({steps} agent-steps)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)

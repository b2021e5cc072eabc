"""The compiled engine: the CES protocols' event loop in numba (issue 12), the same episodes as the Python simulator.

:class:`ces_env.core.simulator.CESSimulator` is the reference: readable, every protocol plugs into it, and it records
traces. For the scenarios training runs on, :class:`~ces_env.core.compiled.simulator.CompiledCESSimulator` runs the
same dynamics as one compiled loop over the same arrays (:mod:`ces_env.core.compiled.engine`), and every reader (the
environment, observations, metrics, viewer) sees the usual simulator attributes. The config field ``engine`` picks it:
``"auto"`` (the default) uses it whenever :func:`unsupported_reason` says it can, ``"compiled"`` insists on it (a
scenario it does not cover is refused), ``"python"`` never uses it. Either engine plays the same episode on the same
seed, step by step (``tests/core/test_compiled_engine.py``).
"""

from __future__ import annotations

from ces_env.config import CESConfig

COMPILED_CONTROLS = ("centralized", "decentralized")
COMPILED_EXPLORERS = ("dfs", "wall_follower")


def unsupported_reason(config: CESConfig, *, trace: bool = False) -> str | None:
    """Why the compiled engine cannot run ``config`` (None: it can). Fault options, steering, other protocols and
    tracing stay with the Python simulator."""
    from ces_env.core.faults import faults_enabled

    config = config.in_ticks()
    if trace:
        return "tracing records through the Python simulator's hooks"
    if config.control not in COMPILED_CONTROLS:
        return f"control {config.control!r} is not compiled (only {', '.join(COMPILED_CONTROLS)})"
    if config.exploration_mode != "auto":
        return f"exploration_mode {config.exploration_mode!r} (only 'auto' is compiled)"
    if config.explorer not in COMPILED_EXPLORERS:
        return f"explorer {config.explorer!r} is not compiled (only {', '.join(COMPILED_EXPLORERS)})"
    if faults_enabled(config):
        return "fault options (crashes, outages, Byzantine or misreporting agents) are not compiled"
    return None


def uses_compiled_engine(config: CESConfig, *, trace: bool = False) -> bool:
    """Whether an episode of ``config`` runs on the compiled engine (config field ``engine``; see the module doc)."""
    engine = config.engine
    if engine == "python":
        return False
    reason = unsupported_reason(config, trace=trace)
    if engine == "compiled" and reason is not None:
        raise ValueError(f"config field 'engine': 'compiled' cannot run this scenario: {reason}")
    return reason is None


__all__ = ["COMPILED_CONTROLS", "COMPILED_EXPLORERS", "unsupported_reason", "uses_compiled_engine"]

"""Policy registry: name -> class. Policies register themselves with :func:`register`."""

from __future__ import annotations

import re
from pathlib import PurePath

from ces_env.policies import Policy

POLICIES: dict[str, type[Policy]] = {}


def register(cls: type[Policy]) -> type[Policy]:
    if cls.name in POLICIES:
        raise ValueError(f"policy name {cls.name!r} is registered twice")
    POLICIES[cls.name] = cls
    return cls


def make_policy(name: str) -> Policy:
    if ":" in name:
        return learned_policy_class(name)()
    _load_builtin()
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; policies: {', '.join(sorted(POLICIES))}")
    return POLICIES[name]()


def _load_builtin() -> None:
    """Import the modules that define the built-in policies (they call ``register`` at import)."""
    import ces_baselines.mechanisms  # noqa: F401
    import ces_baselines.scripted  # noqa: F401


def learned_policy_class(name: str) -> type[Policy]:
    """``FAMILY:PATH`` -> the class that plays that checkpoint greedily (imported only when such a name is used)."""
    from ces_baselines.learned import learned_policy_class as bind

    return bind(name)


def policy_file_stem(name: str) -> str:
    """A file-name-safe stem for a policy name: a registered name as it is, ``FAMILY:PATH`` as ``FAMILY-STEM`` (the
    checkpoint file's stem), so that per-policy files (Gantt charts) can be written whatever the name holds."""
    if ":" in name:
        family, _, path = name.partition(":")
        name = f"{family}-{PurePath(path).stem}"
    return re.sub(r"[^\w.-]+", "_", name)

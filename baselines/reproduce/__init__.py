"""``ces-bench reproduce``: the paper's experiments, reproduced with ces-bench jobs, written to ``reproduction.md``."""

from ces_baselines.reproduce.report import main, reproduce

__all__ = ["main", "reproduce"]

"""The ces-bench evaluation harness: jobs (policy x config x seed), local or Ray execution with resume, results.csv.

Typical use::

    from ces_baselines.harness import make_jobs, run_jobs, summary_table
    rows = run_jobs(make_jobs(["random", "heft"], "tiny", seeds=range(5)), out_dir="out")
    print(summary_table(rows))
"""

from ces_baselines.harness.results import DEFAULT_METRICS, read_results, result_columns, summary_table, write_results
from ces_baselines.harness.runner import (
    BACKENDS,
    BackendUnavailableError,
    Job,
    make_jobs,
    policy_class,
    run_job,
    run_jobs,
)

__all__ = [
    "Job",
    "make_jobs",
    "policy_class",
    "run_job",
    "run_jobs",
    "BACKENDS",
    "BackendUnavailableError",
    "write_results",
    "read_results",
    "result_columns",
    "summary_table",
    "DEFAULT_METRICS",
]

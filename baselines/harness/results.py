"""``results.csv``: one row per (policy, config, seed), and the mean ± 95% CI summary table.

Columns: ``policy``, ``preset``, ``seed``, every config field (``ces_env.config.FIELD_NAMES``), every metric key
(``ces_env.core.metrics.METRIC_KEYS``), then ``env_steps``, ``wall_seconds``, ``truncated``, ``job_key``. A cell
holds a plain string for the text columns (policy, preset, job_key, string config fields such as ``graph``), an empty
cell for None, and JSON for everything else: numbers, ``true``/``false``, and lists (``ET_g``, ``reward_range``) as
JSON arrays. :func:`read_results` decodes every cell back, so ``read_results(write_results(rows, p)) == rows``.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ces_env.config import FIELD_NAMES, CESConfig
from ces_env.core.metrics import METRIC_KEYS
from ces_env.summary import mean_ci

RESULTS_FILE = "results.csv"
ID_COLUMNS = ("policy", "preset", "seed")
RUN_COLUMNS = ("env_steps", "wall_seconds", "truncated", "job_key")
COLUMNS = ID_COLUMNS + FIELD_NAMES + METRIC_KEYS + RUN_COLUMNS
TEXT_COLUMNS = frozenset(
    {"policy", "preset", "job_key"} | {f.name for f in dataclasses.fields(CESConfig) if isinstance(f.default, str)}
)
DEFAULT_METRICS = (
    "ET",
    "TWT",
    "total_reward",
    "messages",
    "conflicts",
    "controller_utilization",
    "fairness_jain",
    "makespan_ratio",
)


def _default_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _default_file_mode()


def _atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and ``os.replace``: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def result_columns(rows: Iterable[dict]) -> list[str]:
    """The standard columns in their standard order, then any other key of the rows, sorted."""
    extra = sorted({key for row in rows for key in row} - set(COLUMNS))
    return list(COLUMNS) + extra


def _encode(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and column in TEXT_COLUMNS:
        return value
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value, allow_nan=True)


def _decode(column: str, cell: str) -> Any:
    if cell == "":
        return None
    if column in TEXT_COLUMNS:
        return cell
    try:
        return json.loads(cell)
    except json.JSONDecodeError:
        return cell


def results_to_csv(rows: Sequence[dict]) -> str:
    """The CSV text of ``rows`` (header included)."""
    columns = result_columns(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_encode(c, row.get(c)) for c in columns])
    return out.getvalue()


def write_results(rows: Sequence[dict], path: str | os.PathLike) -> Path:
    """Write ``rows`` to the CSV file ``path`` atomically (temp file + ``os.replace``); returns the path."""
    path = Path(path)
    _atomic_write_text(path, results_to_csv(rows))
    return path


def read_results(path: str | os.PathLike) -> list[dict]:
    """Read a results CSV back into rows with decoded values (lists, numbers, booleans, None)."""
    with open(path, encoding="utf-8", newline="") as f:
        return [{c: _decode(c, cell) for c, cell in row.items()} for row in csv.DictReader(f)]


def _cell(values: list[float]) -> str:
    """``mean ± half``, both rounded to the half-width's second significant digit."""
    mean, half = mean_ci(values)
    if not math.isfinite(half):
        return f"{mean:.4g} ± n/a"  # one seed: no interval
    if half == 0 or not math.isfinite(mean):
        return f"{mean:.4g} ± 0"
    decimals = min(6, max(0, 1 - math.floor(math.log10(half))))
    return f"{mean:.{decimals}f} ± {half:.{decimals}f}"


def summary_table(
    rows: Sequence[dict], group_by: Sequence[str] = ("policy",), metrics: Sequence[str] = DEFAULT_METRICS
) -> str:
    """A markdown table (also readable as plain text): one line per group (in order of first appearance), the
    number of seeds, and mean ± half-width of the 95% Student-t CI of each metric over the group's rows.

    ``makespan_ratio`` is always included. Metrics must be scalar (not the per-group lists such as ``ET_g``).
    """
    group_by = tuple(group_by)
    metrics = tuple(dict.fromkeys(tuple(metrics) + ("makespan_ratio",)))
    if not rows:
        raise ValueError("no results to summarise")
    for name in group_by + metrics:
        if name not in rows[0]:
            raise ValueError(f"unknown column {name!r} in the results")
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(
            tuple(json.dumps(row.get(g)) if isinstance(row.get(g), (list, tuple)) else row.get(g) for g in group_by), []
        ).append(row)
    header = list(group_by) + ["seeds"] + list(metrics)
    lines = []
    for key, members in groups.items():
        cells = ["" if v is None else str(v) for v in key] + [str(len(members))]
        for metric in metrics:
            values = [r[metric] for r in members]
            if any(isinstance(v, (list, tuple, dict)) or v is None for v in values):
                raise ValueError(f"metric {metric!r} is not a scalar; the table takes scalar metrics only")
            cells.append(_cell(values))
        lines.append(cells)
    widths = [max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(len(header))]
    numeric = [False] * len(group_by) + [True] * (len(header) - len(group_by))

    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if num else ("-" * (w + 2)) for w, num in zip(widths, numeric)) + "|"
    return "\n".join([fmt(header), rule] + [fmt(line) for line in lines])


__all__ = [
    "RESULTS_FILE",
    "COLUMNS",
    "DEFAULT_METRICS",
    "result_columns",
    "results_to_csv",
    "write_results",
    "read_results",
    "summary_table",
]

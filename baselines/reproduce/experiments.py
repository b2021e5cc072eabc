"""The registry of the paper's experiments (Karishma & Rao), as ces-bench jobs, and their analysis.

Each experiment is an :class:`Experiment`: it plans its jobs, then turns the rows into a report section with the
paper's numbers beside ours, plots and a verdict per claim. The experiments live by family: ``tables`` (Tables 1-4),
``figures`` (Figures 2-3 and the speed experiment), ``theorems`` (Theorems 3.3 and 3.5) and ``sensitivity``; what
they share is in ``scenario`` (parameters, scales, jobs), ``analysis`` (sections, tables, verdicts) and ``plots``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ces_baselines.harness.runner import Job
from ces_baselines.reproduce import figures, sensitivity, tables, theorems
from ces_baselines.reproduce.analysis import Section
from ces_baselines.reproduce.scenario import Scale


@dataclass
class Experiment:
    key: str
    title: str
    plan: Callable[[Scale], dict[str, list[Job]]]  # label -> jobs (one per seed)
    analyze: Callable[[dict[str, list[dict]], Path, Scale], Section]


EXPERIMENTS = [
    Experiment("table1", "Table 1", tables.plan_table1, tables.analyze_table1),
    Experiment("table2", "Table 2", tables.plan_table2, tables.analyze_table2),
    Experiment("table3", "Table 3", tables.plan_table3, tables.analyze_table3),
    Experiment("table4", "Table 4", tables.plan_table4, tables.analyze_table4),
    Experiment("figure2", "Figure 2", figures.plan_figure2, figures.analyze_figure2),
    Experiment("figure3", "Figure 3", figures.plan_figure3, figures.analyze_figure3),
    Experiment("speed", "Speed", figures.plan_speed, figures.analyze_speed),
    Experiment("theorem33", "Theorem 3.3", theorems.plan_theorem33, theorems.analyze_theorem33),
    Experiment("theorem35", "Theorem 3.5", theorems.plan_theorem35, theorems.analyze_theorem35),
    Experiment("sensitivity", "Sensitivity", sensitivity.plan_sensitivity, sensitivity.analyze_sensitivity),
]

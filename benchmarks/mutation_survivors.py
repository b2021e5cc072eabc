"""List the mutants a mutmut campaign left alive, as Markdown, each with its diff and a first classification.

    python benchmarks/mutation_survivors.py /tmp/ces-mutation [glob ...]     # run after benchmarks/mutation.sh
    MUTATION_REASONS=reports/mutation_reasons.json python benchmarks/mutation_survivors.py ...  # with reasons by hand

The rules below recognise the kinds of mutant that are equivalent by construction in this code base (a dtype the
value already has, an error or assertion message, ``None`` stored where only truth is tested). Every other survivor is
printed as "to analyse": a reason (equivalent, accepted) or a test that kills it has to be written by hand; the
reasons written by hand (a JSON object: mutant name -> reason) take precedence over the rules.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ALIVE = (0, 33)  # mutmut's exit codes for "survived" and "no tests"

RULES: list[tuple[str, str]] = [
    (
        r"np\.full\([^()]*, -?\d+, (dtype=None)?\s?\)",
        "equivalent: np.full with an integer fill value is int64 with or without the dtype",
    ),
    (r"\"XX|'XX|[A-Z]{4,} [A-Z]{2,}", "accepted: the text of a message (an error, an assertion or a stats key)"),
    (r"RuntimeError\(None\)|AssertionError\(None\)", "accepted: the text of an error no reachable state raises"),
    (r"^self\.\w+\[\w+\] = None$", "equivalent: None stored in a bool array is False"),
    (r"np\.array\(\[len\(", "equivalent: an array of Python ints is int64 with or without the dtype"),
]


def mutant_diff(work: Path, name: str) -> list[str]:
    """The changed lines of one mutant, from ``mutmut show``."""
    shown = subprocess.run(["mutmut", "show", name], cwd=work, capture_output=True, text=True).stdout
    return [line for line in shown.splitlines() if line[:2] in ("- ", "+ ")]


def classify(diff: list[str]) -> str:
    added = " ".join(line[2:].split("  #")[0].strip() for line in diff if line.startswith("+ "))
    for pattern, reason in RULES:
        if re.search(pattern, added):
            return reason
    return "to analyse"


def main() -> None:
    work = Path(sys.argv[1])
    globs = sys.argv[2:] or ["*"]
    reasons_file = os.environ.get("MUTATION_REASONS")
    reasons: dict[str, str] = json.loads(Path(reasons_file).read_text()) if reasons_file else {}
    for meta in sorted((work / "mutants").rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        alive = [n for n, c in codes.items() if c in ALIVE and any(fnmatch.fnmatch(n, g) for g in globs)]
        if not alive:
            continue
        print(f"\n#### `{meta.relative_to(work / 'mutants').with_suffix('').with_suffix('.py')}`\n")
        for name in sorted(alive):
            diff = mutant_diff(work, name)
            change = " / ".join(line[2:].strip() for line in diff if line.startswith("+ "))[:140]
            short = name.rsplit(".", 1)[-1]
            status = reasons.get(short) or ("no tests" if codes[name] == 33 else classify(diff))
            print(f"- `{short}`: {status}; `{change}`")


if __name__ == "__main__":
    main()

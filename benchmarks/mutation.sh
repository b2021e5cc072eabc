#!/usr/bin/env bash
# Mutation testing of the model's semantics (mutmut; configured in pyproject.toml [tool.mutmut]). Not in CI: a full
# campaign runs the suite's relevant tests once per mutant, which takes hours on 2 cores.
#
#   pip install -c constraints.txt -e ".[test,mutation]"
#   benchmarks/mutation.sh                          # every mutant of ces_env/core, observations.py and config.py
#   benchmarks/mutation.sh 'ces_env.config.*'       # only the mutants whose name matches (mutmut's glob)
#
# It works in a scratch copy of the working tree (mutmut writes a mutants/ folder beside the sources), prints the
# score (killed + timed out) / (mutants - skipped) and the surviving mutants; `cd <copy> && mutmut show NAME` shows
# one. MUTATION_WORKDIR=dir reuses a copy, so an interrupted campaign resumes where it stopped; MUTATION_REF=HEAD (any
# git revision) tests a committed tree instead of the working tree; MUTATION_TESTS="tests/a.py tests/b" runs the
# mutants against those tests instead of pyproject's selection; MUTATION_JOBS=n sets the parallel workers.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${MUTATION_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/ces-mutation.XXXXXX")}"
mkdir -p "$work"

cd "$repo"
if [ -n "${MUTATION_REF:-}" ]; then
    # a committed tree (e.g. MUTATION_REF=HEAD): what was committed, whatever is being edited now
    git archive "$MUTATION_REF" | tar -x -C "$work"
else
    # tracked and new (not ignored) files as they are now (files deleted in the working tree are left out); cp -p
    # keeps modification times, by which mutmut tells which sources changed since a previous run in the same copy
    git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
        if [ -f "$file" ]; then
            mkdir -p "$work/$(dirname "$file")" && cp -p "$file" "$work/$file"
        fi
    done
fi

cd "$work"
if [ -n "${MUTATION_TESTS:-}" ]; then
    # run the mutants against these tests only (the copy's pyproject.toml is rewritten; the repository's is untouched)
    python - "$MUTATION_TESTS" <<'PY'
import json
import re
import sys

text = open("pyproject.toml").read()
selection = json.dumps(sys.argv[1].split())
text, count = re.subn(
    r"pytest_add_cli_args_test_selection = \[.*?\]", f"pytest_add_cli_args_test_selection = {selection}", text, flags=re.S
)
assert count == 1, "pyproject.toml [tool.mutmut] has no pytest_add_cli_args_test_selection"
open("pyproject.toml", "w").write(text)
PY
fi
echo "mutation testing in $work"
mutmut run --max-children "${MUTATION_JOBS:-$(nproc)}" "$@"
# the score over the mutants this run checked (a name glob leaves the others "not checked"), per source file
python - "$work" <<'PY'
import collections
import json
import sys
from pathlib import Path

from mutmut.stats import status_by_exit_code

KILLED = ("killed", "timeout", "caught by type check")
per_file = collections.defaultdict(collections.Counter)
survivors = []
for meta in sorted(Path("mutants").rglob("*.py.meta")):
    source = str(meta.relative_to("mutants"))[: -len(".meta")]
    for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
        status = status_by_exit_code[code]
        if status in ("not checked", "skipped"):
            continue
        per_file[source][status] += 1
        if status not in KILLED:
            survivors.append(f"{name}: {status}")
total = collections.Counter()
for source, counts in per_file.items():
    checked, killed = sum(counts.values()), sum(counts[s] for s in KILLED)
    total.update(counts)
    print(f"{source}: {killed} / {checked} killed ({100 * killed / checked:.1f}%) {dict(counts)}")
checked, killed = sum(total.values()), sum(total[s] for s in KILLED)
print(f"mutation score: {killed} / {checked} killed = {100 * killed / max(1, checked):.1f}%")
print(f"surviving mutants ({len(survivors)}; `cd {sys.argv[1]} && mutmut show NAME` shows the diff):")
print("\n".join("    " + line for line in survivors))
PY

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
mutmut export-cicd-stats >/dev/null
python - <<'EOF'
import json

stats = json.load(open("mutants/mutmut-cicd-stats.json"))
tested = stats["total"] - stats["skipped"]
score = (stats["killed"] + stats["timeout"]) / tested if tested else 0.0
print(json.dumps(stats))
print(f"mutation score: {stats['killed'] + stats['timeout']} / {tested} killed = {100 * score:.1f}%")
EOF
echo "surviving mutants (mutmut show NAME in $work for the diff):"
mutmut results

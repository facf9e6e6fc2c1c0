#!/usr/bin/env bash
# The instruction-count gate passes on the real model code with repeatable
# counts, and fails (exit 1, naming the cases) on the deliberately slower
# walker build (abmodel_slow, AB_MODEL_TEST_SLOW_WALKER).
#   test_gate.sh GATE_SH BUILD_DIR RUNNER RUNNER_SLOW
set -uo pipefail
gate=$1 build=$2 runner=$3 slow=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! command -v valgrind >/dev/null; then
	echo "SKIP: valgrind not installed"
	exit 77
fi
fails=0
"$gate" --build "$build" --runner "$runner" --check-determinism >"$tmp/pass.out" 2>&1
rc=$?
cat "$tmp/pass.out"
if ((rc != 0)); then
	echo "FAIL: gate on the real code: exit $rc, want 0"
	grep -q 'REGRESSION' "$tmp/pass.out" &&
		echo "(if the model changed on purpose: ci/gate.sh --update, commit ci/baseline/)"
	fails=$((fails + 1))
fi
awk 'length > 80 { bad = 1 } END { exit bad }' "$tmp/pass.out" || { echo "FAIL: gate output over 80 columns"; fails=$((fails + 1)); }

"$gate" --build "$build" --runner "$slow" >"$tmp/slow.out" 2>&1
rc=$?
cat "$tmp/slow.out"
if ((rc != 1)); then
	echo "FAIL: gate on abmodel_slow: exit $rc, want 1"
	fails=$((fails + 1))
fi
grep -Eq '^walk/locked/4K/pages:[0-9]+/k:[0-9]+ .* REGRESSION$' "$tmp/slow.out" ||
	{ echo "FAIL: the slow locked walker is not named as a regression"; fails=$((fails + 1)); }
grep -q 'gate: FAIL:' "$tmp/slow.out" || { echo "FAIL: no FAIL summary"; fails=$((fails + 1)); }

# On two small cases: --update writes a baseline that then passes; a case
# missing from the baseline is refused (exit 2); an improvement passes but
# asks for a refresh.
printf 'locked 4K 2048 2\nscan 2M 256 2\n' >"$tmp/cases.txt"
g=("$gate" --build "$build" --runner "$runner" --cases "$tmp/cases.txt")
"${g[@]}" --baseline "$tmp/base.txt" --update >/dev/null 2>&1 ||
	{ echo "FAIL: --update"; fails=$((fails + 1)); }
"${g[@]}" --baseline "$tmp/base.txt" >/dev/null 2>&1 ||
	{ echo "FAIL: fresh baseline does not pass"; fails=$((fails + 1)); }
grep -v '^walk/scan/2M' "$tmp/base.txt" >"$tmp/partial.txt"
"${g[@]}" --baseline "$tmp/partial.txt" >"$tmp/partial.out" 2>&1
rc=$?
((rc == 2)) && grep -q 'walk/scan/2M' "$tmp/partial.out" ||
	{ echo "FAIL: baseline lacking a case: exit $rc, want 2 naming it"; fails=$((fails + 1)); }
awk '!/^#/ && $1 ~ /^walk\/locked\/4K/ { $2 = int($2 * 1.5) } { print }' "$tmp/base.txt" >"$tmp/high.txt"
"${g[@]}" --baseline "$tmp/high.txt" >"$tmp/high.out" 2>&1
rc=$?
((rc == 0)) && grep -q 'please refresh the baseline' "$tmp/high.out" ||
	{ echo "FAIL: improvement: exit $rc, want 0 with a refresh request"; fails=$((fails + 1)); }

# counts of another compiler are not comparable: a skip (77) naming both, not a verdict
sed 's/^# compiler: .*/# compiler: clang version 99.0.0 (elsewhere)/' "$tmp/base.txt" >"$tmp/other.txt"
"${g[@]}" --baseline "$tmp/other.txt" >"$tmp/other.out" 2>&1
rc=$?
((rc == 77)) && grep -q 'SKIP' "$tmp/other.out" && grep -q 'clang version 99' "$tmp/other.out" &&
	! grep -q REGRESSION "$tmp/other.out" ||
	{ echo "FAIL: another compiler: exit $rc, want 77 naming both compilers"; cat "$tmp/other.out"; fails=$((fails + 1)); }

if ((fails)); then
	echo "test_gate: $fails failure(s)"
	exit 1
fi
echo "test_gate: pass (real code passes, repeatable; abmodel_slow caught)"

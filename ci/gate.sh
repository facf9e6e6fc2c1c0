#!/usr/bin/env bash
# ci/gate.sh - the CI performance gate: instruction counts (callgrind Ir) of
# fixed, deterministic model-backend walker runs against ci/baseline/.
#
#   ci/gate.sh [--build DIR] [--runner PATH] [--baseline FILE]
#              [--tolerance PCT] [--check-determinism] [--update]
#
# Each case of ci/gate/cases.txt runs `abgate_det WALKER PG NPAGES K` under
# valgrind --tool=callgrind twice: once collecting only inside ab_model_age()
# ("walk": the walkers) and once inside ab_model_det_run() ("run": setup,
# vCPU accesses and walks). The counts are exact and repeatable (single
# thread, fixed seed, fixed iteration counts), so the tolerance can be tight.
# abgate_det is abmodel_det.c built by ci/CMakeLists.txt with fixed flags
# (-O2 -g -DNDEBUG), whatever the build type: the counts belong to a compiler
# and its flags, which the baseline records (# compiler:, # flags:). A build
# whose compiler or flags differ from the baseline's skips (77) naming both:
# its counts are not comparable (refresh the baseline on that toolchain).
#
# Exit: 0 no regression (improvements beyond the tolerance are listed with a
# request to refresh the baseline), 1 regression beyond the tolerance (or a
# count that is not repeatable with --check-determinism), 2 bad usage or a
# baseline that lacks a case, 77 valgrind not installed or another toolchain.
#
# Refresh the baseline (after an intended change; commit the file):
#   ci/gate.sh --update
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${AGEBENCH_BUILD:-$repo/build}
runner=""
baseline=$here/baseline/instructions.txt
cases=$here/gate/cases.txt
tol=1
update=0
determinism=0

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

while (($#)); do
	case $1 in
	--build) build=$2; shift 2 ;;
	--runner) runner=$2; shift 2 ;;
	--baseline) baseline=$2; shift 2 ;;
	--cases) cases=$2; shift 2 ;;
	--tolerance) tol=$2; shift 2 ;;
	--update) update=1; shift ;;
	--check-determinism) determinism=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "gate: unknown argument '$1' (see ci/gate.sh --help)" >&2; exit 2 ;;
	esac
done
[[ -n $runner ]] || runner=$build/ci/abgate_det
if ! [[ $tol =~ ^[0-9]+([.][0-9]+)?$ ]]; then
	echo "gate: --tolerance wants a percentage, got '$tol'" >&2
	exit 2
fi
if ! command -v valgrind >/dev/null; then
	echo "gate: SKIP: valgrind is not installed (apt-get install valgrind)" >&2
	exit 77
fi
if [[ ! -x $runner ]]; then
	echo "gate: runner $runner not built (cmake --build $build --target abgate)" >&2
	exit 2
fi
[[ -r $cases ]] || { echo "gate: cannot read the case list $cases" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# measure FN ARGS... -> prints the Ir count collected inside FN
measure() {
	local fn=$1 out=$tmp/cg.out n
	shift
	if ! valgrind --tool=callgrind --toggle-collect="$fn" --callgrind-out-file="$out" \
		"$runner" "$@" >"$tmp/stdout" 2>"$tmp/stderr"; then
		echo "gate: '$runner $*' failed under valgrind:" >&2
		tail -5 "$tmp/stderr" >&2
		return 1
	fi
	n=$(awk '/^totals:/ {print $2}' "$out")
	if [[ -z $n || $n == 0 ]]; then
		echo "gate: callgrind counted no instructions inside $fn (symbol missing or inlined?)" >&2
		return 1
	fi
	echo "$n"
}

# compiler and flags of the runner (written by the build next to it), valgrind
tc_file=$(dirname "$runner")/gate-toolchain.txt
toolchain_field() { # compiler|flags
	sed -n "s/^$1: //p" "$tc_file" 2>/dev/null
}
if [[ ! -r $tc_file ]]; then
	echo "gate: $tc_file missing (the build writes it beside the runner: cmake --build $build --target abgate)" >&2
	exit 2
fi

# Measure every case: lines "NAME COUNT" in $tmp/now.
: >"$tmp/now"
while read -r walker pg npages k rest; do
	[[ -z ${walker:-} || $walker == \#* ]] && continue
	for kind in walk run; do
		fn=ab_model_age
		[[ $kind == run ]] && fn=ab_model_det_run
		name="$kind/$walker/$pg/pages:$npages/k:$k"
		n=$(measure "$fn" "$walker" "$pg" "$npages" "$k") || exit 2
		if ((determinism)); then
			n2=$(measure "$fn" "$walker" "$pg" "$npages" "$k") || exit 2
			if [[ $n != "$n2" ]]; then
				echo "gate: FAIL: $name is not deterministic ($n then $n2 instructions)" >&2
				exit 1
			fi
		fi
		echo "$name $n" >>"$tmp/now"
	done
done <"$cases"

if ((update)); then
	mkdir -p "$(dirname "$baseline")"
	{
		echo "# agebench CI gate baseline: callgrind instruction counts (Ir)."
		echo "# Refresh with: ci/gate.sh --update   (see docs/reporting.md)"
		echo "# compiler: $(toolchain_field compiler)"
		echo "# flags: $(toolchain_field flags)"
		echo "# valgrind: $(valgrind --version)"
		column -t "$tmp/now"
	} >"$baseline.tmp.$$"
	mv "$baseline.tmp.$$" "$baseline"
	echo "gate: baseline written: $baseline ($(wc -l <"$tmp/now") counts)"
	exit 0
fi

if [[ ! -r $baseline ]]; then
	echo "gate: no baseline $baseline: create it with ci/gate.sh --update" >&2
	exit 2
fi
# counts of another compiler or other flags are not comparable: say so, skip
for f in compiler flags; do
	b=$(sed -n "s/^# $f: //p" "$baseline")
	n=$(toolchain_field "$f")
	if [[ -z $b ]]; then
		echo "gate: the baseline $baseline records no $f: refresh it with ci/gate.sh --update" >&2
		exit 2
	fi
	if [[ $b != "$n" ]]; then
		echo "gate: SKIP: the baseline's instruction counts belong to another $f:"
		echo "  baseline: $b"
		echo "  this build: $n"
		echo "gate: not comparable, so no verdict; to gate on this toolchain, take a baseline"
		echo "gate: on it (ci/gate.sh --update) and commit it"
		exit 77
	fi
done
b=$(sed -n 's/^# valgrind: //p' "$baseline")
[[ -z $b || $b == "$(valgrind --version)" ]] ||
	echo "gate: note: baseline taken with $b, now $(valgrind --version)"

# Compare; awk prints the table and exits 0/1/2.
awk -v tol="$tol" '
	NR == FNR { if ($0 !~ /^#/ && NF >= 2) base[$1] = $2; next }
	{
		name = $1; now = $2
		if (!(name in base)) { missing = missing "  " name "\n"; next }
		b = base[name]; ch = (b > 0) ? 100.0 * (now - b) / b : 0
		verdict = "ok"
		if (ch > tol) { verdict = "REGRESSION"; nreg++ }
		else if (ch < -tol) { verdict = "improved"; nimp++ }
		rows[++n] = sprintf("%-36.36s %10d %10d %+8.1f%% %s", name, b, now, ch, verdict)
		if (verdict != "ok") flagged[++nf] = rows[n]
	}
	END {
		printf "agebench CI gate: callgrind instructions vs baseline, tolerance %s%%\n", tol
		printf "%-36s %10s %10s %9s %s\n", "case", "baseline", "now", "change", "verdict"
		for (i = 1; i <= n; i++) print rows[i]
		if (missing != "") {
			printf "\ngate: the baseline has no count for:\n%s", missing
			print "gate: refresh it with: ci/gate.sh --update"
			exit 2
		}
		if (nreg) {
			printf "\ngate: FAIL: %d case(s) need more instructions than the baseline allows:\n", nreg
			for (i = 1; i <= nf; i++) if (flagged[i] ~ /REGRESSION/) print flagged[i]
			exit 1
		}
		if (nimp) {
			printf "\ngate: %d case(s) improved beyond %s%%: please refresh the baseline\n", nimp, tol
			print "gate: with ci/gate.sh --update and commit ci/baseline/instructions.txt"
		}
		print "\ngate: PASS"
		exit 0
	}' "$baseline" "$tmp/now"

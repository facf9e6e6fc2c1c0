#!/usr/bin/env bash
# ci/walltime-advice.sh - ADVICE ONLY: wall-time comparison of the quick
# model run against the last baseline results (ci/baseline/walltime-quick.json).
# Wall time on a shared 2-core machine is noisy, so this never fails CI: it
# exits 0 whatever it measures (2 only for a usage error). The CI gate that can fail is ci/gate.sh (instruction counts).
#
#   ci/walltime-advice.sh [--build DIR] [--results NEW.json] [--update]
#
# Without --results it runs `agebench run --quick --backend model` into a
# temporary directory first. --update stores the new results as the baseline
# (commit ci/baseline/walltime-quick.json afterwards).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${AGEBENCH_BUILD:-$repo/build}
baseline=$here/baseline/walltime-quick.json
new=""
update=0
while (($#)); do
	case $1 in
	--build) build=$2; shift 2 ;;
	--results) new=$2; shift 2 ;;
	--baseline) baseline=$2; shift 2 ;;
	--update) update=1; shift ;;
	-h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "walltime-advice: unknown argument '$1'" >&2; exit 2 ;; # a usage error is not advice
	esac
done

echo "== wall-time advice (never fails CI; noisy shared machine) =="
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$build/src/agebench
if [[ ! -x $bin ]]; then
	echo "walltime-advice: $bin not built: no advice"
	exit 0
fi
if [[ -z $new ]]; then
	if ! "$bin" run --quick --backend model --no-report --quiet --out "$tmp/quick" \
		>"$tmp/run.log" 2>&1; then
		echo "walltime-advice: the quick run failed: no advice"
		tail -5 "$tmp/run.log"
		exit 0
	fi
	new=$tmp/quick/results.json
fi
if ((update)); then
	mkdir -p "$(dirname "$baseline")"
	cp "$new" "$baseline.tmp.$$" && mv "$baseline.tmp.$$" "$baseline"
	echo "walltime-advice: baseline updated: $baseline"
	exit 0
fi
if [[ ! -r $baseline ]]; then
	echo "walltime-advice: no baseline $baseline (create: ci/walltime-advice.sh --update)"
	exit 0
fi
# compare matches benchmark names through the schema's parser, without
# Google Benchmark's elements (iterations:, min_time:, repeats:, ...); a
# baseline from an older grid (other arguments) matches nothing.
"$bin" compare "$baseline" "$new" 2>"$tmp/compare.err"
rc=$?
grep -v ': only in ' "$tmp/compare.err" >&2
only=$(grep -c ': only in ' "$tmp/compare.err")
((only)) && echo "walltime-advice: $only benchmarks on one side only (not compared)"
case $rc in
0) echo "walltime-advice: no significant slowdown against the baseline" ;;
1) echo "walltime-advice: ADVICE: significant slowdowns above (wall time; check with ci/gate.sh)" ;;
*)
	echo "walltime-advice: could not compare (exit $rc)"
	grep -q 'no benchmark name is present in both files' "$tmp/compare.err" &&
		echo "walltime-advice: the baseline is from another grid: refresh it with" \
			"ci/walltime-advice.sh --update and commit $baseline"
	;;
esac
exit 0

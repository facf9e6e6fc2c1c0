#!/usr/bin/env bash
# Run the results.json fuzzer for a bounded time over the seed corpus.
#   run_fuzz.sh FUZZER|"" CORPUS_DIR SECONDS ARTIFACT_DIR [SKIP_REASON]
# Exit 0 no crash, 1 crash/leak/timeout found (input kept in ARTIFACT_DIR),
# 77 when the fuzzer could not be built (reason printed).
set -uo pipefail
fuzzer=$1 corpus=$2 secs=$3 art=$4 reason=${5:-}
if [[ -z $fuzzer || ! -x $fuzzer ]]; then
	echo "SKIP: results.json fuzzer not built: ${reason:-clang with libFuzzer (libclang-rt-14-dev) not found}"
	exit 77
fi
n=$(find "$corpus" -type f | wc -l)
if ((n == 0)); then
	echo "FAIL: empty seed corpus $corpus"
	exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$art"
here=$(dirname "$0")
# New inputs go to $work (the committed corpus stays as it is).
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	-dict="$here/json.dict" -artifact_prefix="$art/" -print_final_stats=1 \
	"$work" "$corpus" 2>"$work/log"
rc=$?
grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::new_units_added)' "$work/log"
if ((rc != 0)); then
	tail -40 "$work/log"
	echo "FAIL: the fuzzer found a problem (exit $rc); reproducer in $art/"
	exit 1
fi
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
if [[ -z $execs || $execs -lt 100 ]]; then
	tail -20 "$work/log"
	echo "FAIL: the fuzzer ran only '${execs:-0}' inputs"
	exit 1
fi
echo "PASS: $execs inputs in ${secs}s from $n seeds, no crash"

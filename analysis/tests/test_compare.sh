#!/usr/bin/env bash
# Behaviour of `agebench compare` on synthetic inputs with known answers.
#   test_compare.sh AB_TOOL AB_SYNTH
set -uo pipefail
tool=$1 synth=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 checks=0

ok() { checks=$((checks + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); checks=$((checks + 1)); }

# run NAME WANT_RC ARGS...: compare, keep stdout/stderr in $tmp/NAME.{out,err}
run() {
	local name=$1 want=$2 rc
	shift 2
	"$tool" compare "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
	if [[ $rc != "$want" ]]; then
		bad "$name: exit $rc, want $want"
		sed 's/^/    /' "$tmp/$name.err" | head -5
	else
		ok
	fi
}
has() { # has NAME FILE-SUFFIX REGEX
	if grep -Eq -- "$3" "$tmp/$1.$2"; then ok; else bad "$1: $2 lacks /$3/"; fi
}
hasnt() {
	if grep -Eq -- "$3" "$tmp/$1.$2"; then bad "$1: $2 has /$3/"; else ok; fi
}
# verdict NAME BENCH METRIC WANT: the JSON verdict of METRIC in benchmark BENCH
verdict() {
	local v
	v=$(awk -v b="\"name\": \"$2\"" -v m="\"metric\": \"$3\"" '
		index($0, b) { inb = 1 } inb && index($0, m) { inm = 1 }
		inm && /"verdict"/ { gsub(/[",]/, "", $2); print $2; exit }' "$tmp/$1.out")
	if [[ $v == "$4" ]]; then ok; else bad "$1: $2 $3 verdict '$v', want '$4'"; fi
}
width() { # every line of every output <= 80 columns
	local f
	for f in "$tmp"/*.out; do
		[[ $f == *json* ]] && continue
		if awk 'length > 80 { exit 1 }' "$f"; then ok; else bad "$(basename "$f"): line over 80 columns"; fi
	done
}

B=model/locked/4K/pages:16384/vcpus:2/inval:0
"$synth" "$tmp/base.json" --reps 9
cp "$tmp/base.json" "$tmp/same.json"
"$synth" "$tmp/reordered.json" --reps 9 --perm 3
"$synth" "$tmp/worse10.json" --reps 9 --shift 10 --perm 3
"$synth" "$tmp/better10.json" --reps 9 --shift -10 --perm 5
"$synth" "$tmp/worse1.json" --reps 9 --shift 1 --perm 3
"$synth" "$tmp/few_base.json" --reps 2
"$synth" "$tmp/few_new.json" --reps 2 --shift 10 --perm 1
"$synth" "$tmp/unit_us.json" --reps 9 --unit us
"$synth" "$tmp/ctr_unit.json" --reps 9 --ctr-unit ns_per_page=us
"$synth" "$tmp/dropped.json" --reps 9 --drop "$B"
"$synth" "$tmp/kvm.json" --reps 9 --backend kvm
"$synth" "$tmp/nodecl_base.json" --reps 9 --no-decl
"$synth" "$tmp/nodecl_new.json" --reps 9 --no-decl --shift 10 --perm 3

# identical samples: nothing significant
run same 0 "$tmp/base.json" "$tmp/same.json"
hasnt same out '[!+*]  +[0-9.e-]+  '
has same out 'summary: 20 benchmarks compared: 0 worse, 0 better, 0 changed'
run same_json 0 --format json "$tmp/base.json" "$tmp/same.json"
verdict same_json "$B" ns_per_page same
has same_json out '"worse": 0'
# same distribution, other order of the noise: not significant
run reordered 0 "$tmp/base.json" "$tmp/reordered.json"
has reordered out '0 worse, 0 better, 0 changed'
# a clean 10% shift with 9 reps: significant regression, exit 1
run worse10 1 "$tmp/base.json" "$tmp/worse10.json"
has worse10 out '\+10\.[0-9]+%!'
has worse10 out 'REGRESSION'
has worse10 out 'geometric mean'
run worse10_json 1 --format json "$tmp/base.json" "$tmp/worse10.json"
verdict worse10_json "$B" ns_per_page worse
verdict worse10_json "$B" pages_per_s worse
verdict worse10_json "$B" access_rel worse
verdict worse10_json "$B" young same
has worse10_json out '"regression": true'
# the same shift the other way: improvement, exit 0
run better10 0 --format json "$tmp/base.json" "$tmp/better10.json"
verdict better10 "$B" ns_per_page better
verdict better10 "$B" access_rel better
has better10 out '"worse": 0'
# a 1% shift: significant p, but below the 2% minimum effect
run worse1 0 --format json "$tmp/base.json" "$tmp/worse1.json"
verdict worse1 "$B" ns_per_page same
has worse1 out '"p": 4\.11[0-9]*e-0?5,'
run worse1_eff 1 --min-effect 0.5 --format json "$tmp/base.json" "$tmp/worse1.json"
verdict worse1_eff "$B" ns_per_page worse
# a stricter alpha than the best achievable p (2/48620) removes the verdict
run worse10_alpha 0 --alpha 0.00001 "$tmp/base.json" "$tmp/worse10.json"
# fewer than 3 repetitions: warning, no verdict
run few 0 --format json "$tmp/few_base.json" "$tmp/few_new.json"
has few err 'fewer than 3 repetitions'
verdict few "$B" ns_per_page too_few_reps
run few_text 0 "$tmp/few_base.json" "$tmp/few_new.json"
has few_text out 'WARNING: fewer than 3 repetitions'
# 3 vs 3 repetitions: the test cannot reach p < 0.05 (min p = 2/C(6,3) = 0.1)
"$synth" "$tmp/three_base.json" --reps 3
"$synth" "$tmp/three_new.json" --reps 3 --shift 10
run three 0 "$tmp/three_base.json" "$tmp/three_new.json"
has three out 'smallest possible p is 0\.1,'
has three err '3 vs 3 samples cannot reach p < 0.05'
"$synth" "$tmp/four_base.json" --reps 4
"$synth" "$tmp/four_new.json" --reps 4 --shift 10
run four 1 "$tmp/four_base.json" "$tmp/four_new.json"
hasnt four out 'smallest possible p'
# metrics without a declared direction: shown, significant, but no verdict
run nodecl 1 --format json "$tmp/nodecl_base.json" "$tmp/nodecl_new.json"
verdict nodecl "$B" ns_per_page changed
verdict nodecl "$B" real_time worse
# bad input: exit 2 with the file named (and line:column for JSON syntax)
printf '{\n  "benchmarks": [\n    {"name": "x",,}\n  ]\n}\n' >"$tmp/malformed.json"
run malformed 2 "$tmp/base.json" "$tmp/malformed.json"
has malformed err "malformed.json:3:[0-9]+: malformed JSON"
run missing 2 "$tmp/base.json" "$tmp/nonexistent.json"
has missing err 'nonexistent.json'
echo '{"context": {}}' >"$tmp/nobench.json"
run nobench 2 "$tmp/nobench.json" "$tmp/base.json"
has nobench err 'nobench.json: no "benchmarks" array'
run unit_mismatch 2 "$tmp/base.json" "$tmp/unit_us.json"
has unit_mismatch err 'time_unit differs \(ns in .*base.json, us in .*unit_us.json\)'
run ctr_mismatch 2 "$tmp/base.json" "$tmp/ctr_unit.json"
has ctr_mismatch err 'counter ns_per_page has unit "ns" in .* but "us" in'
run nothing_common 2 "$tmp/base.json" "$tmp/kvm.json"
has nothing_common err 'no benchmark name is present in both files'
# benchmarks on one side only are listed
run dropped 0 "$tmp/base.json" "$tmp/dropped.json"
has dropped err "only in .*base.json: $B"
has dropped out 'only in base \(1, not compared\)'
# usage errors
run usage1 2 "$tmp/base.json"
run usage_alpha 2 --alpha 2 "$tmp/base.json" "$tmp/same.json"
run usage_format 2 --format xml "$tmp/base.json" "$tmp/same.json"
run usage_opt 2 --frobnicate "$tmp/base.json" "$tmp/same.json"
# Google Benchmark's own quirks: bare NaN (cv of a constant-0 counter), names
# with /min_time:X/repeats:N that differ between runs
gb() { # gb FILE MIN_TIME REPS VALUE...
	local f=$1 mt=$2 reps=$3 i=0 v
	shift 3
	{
		echo '{"context": {"date": "x"}, "benchmarks": ['
		for v in "$@"; do
			echo "{\"name\": \"BM_x/8/min_time:$mt/repeats:$reps\", \"run_name\": \"BM_x/8/min_time:$mt/repeats:$reps\", \"run_type\": \"iteration\", \"repetitions\": $reps, \"repetition_index\": $i, \"iterations\": 10, \"real_time\": $v, \"cpu_time\": $v, \"time_unit\": \"ns\", \"zero\": 0, \"odd\": -nan},"
			i=$((i + 1))
		done
		echo "{\"name\": \"BM_x/8/min_time:$mt/repeats:$reps\"_cv, \"run_name\": \"BM_x/8/min_time:$mt/repeats:$reps\", \"run_type\": \"aggregate\", \"aggregate_name\": \"cv\", \"real_time\": 0.01, \"cpu_time\": 0.01, \"time_unit\": \"ns\", \"zero\": NaN, \"inf\": -Infinity}"
		echo ']}'
	} >"$f"
}
gb "$tmp/gb_base.json" 0.010 5 100 101 99 100.5 99.5
gb "$tmp/gb_new.json" 0.500 6 120 121 119 120.5 119.5 120.2
sed -i 's/"_cv/_cv"/' "$tmp/gb_base.json" "$tmp/gb_new.json"
run gbench 1 --format json "$tmp/gb_base.json" "$tmp/gb_new.json"
verdict gbench BM_x/8 real_time worse
verdict gbench BM_x/8 zero same
hasnt gbench out '"metric": "odd"'
hasnt gbench err 'only in'
# agebench names: Google Benchmark's elements (iterations:, min_time:,
# repeats:, manual_time) do not take part in matching (the schema's parser)
sed 's|BM_x/8/min_time:0.010|model/locked/4K/pages:1/iterations:1024|g' "$tmp/gb_base.json" >"$tmp/gbn_base.json"
sed 's|BM_x/8/min_time:0.500|model/locked/4K/pages:1/min_time:0.500|g; s|repeats:6"|repeats:6/manual_time"|g' \
	"$tmp/gb_new.json" >"$tmp/gbn_new.json"
run gbnames 1 --format json "$tmp/gbn_base.json" "$tmp/gbn_new.json"
verdict gbnames model/locked/4K/pages:1 real_time worse
hasnt gbnames err 'only in'
# the loader checks counters against common/ab_counters.def: unknown ones are
# named as undeclared, units that differ from the schema are named
"$synth" "$tmp/extra.json" --reps 9 --extra bogus_ctr
run schema 0 "$tmp/extra.json" "$tmp/extra.json"
has schema err 'extra.json: counter bogus_ctr is undeclared \(not in common/ab_counters.def\)'
has schema err 'counter young: unit "pages", better none in the file; "pages per aging call", none in the schema'
hasnt schema err 'counter ns_per_page'

# The size of a change is the Hodges-Lehmann shift, significant when its CI
# excludes the minimum effect: one outlier does not make a regression.
#   mk FILE LOCK_WAIT VALUE...: model/locked/4K/pages:1, ns_per_page = VALUE
mk() {
	local f=$1 lw=$2 i=0 v n=$(($# - 2))
	shift 2
	{
		echo '{"context": {}, "agebench": {"counters": {"ns_per_page": {"unit": "ns", "better": "lower"},'
		echo '  "lock_wait_ns": {"unit": "ns per aging call", "better": "lower"}}}, "benchmarks": ['
		for v in "$@"; do
			i=$((i + 1))
			echo "{\"name\": \"model/locked/4K/pages:1/repeats:$n\", \"run_type\": \"iteration\", \"real_time\": 1, \"cpu_time\": 1, \"time_unit\": \"ns\", \"ns_per_page\": $v, \"lock_wait_ns\": $lw}$([[ $i -lt $n ]] && echo ,)"
		done
		echo ']}'
	} >"$f"
}
O=model/locked/4K/pages:1
mk "$tmp/o_base.json" 100 10.00 10.01 10.02 10.03 10.04
mk "$tmp/o_new.json" 100 10.05 10.06 10.07 10.08 50
run outlier 0 --format json "$tmp/o_base.json" "$tmp/o_new.json"
verdict outlier "$O" ns_per_page same
has outlier out '"change_pct": 80\.1[0-9]+,'
has outlier out '"shift_pct": 0\.499[0-9]*,'
has outlier out '"p": 0\.00793650'
run outlier_text 0 "$tmp/o_base.json" "$tmp/o_new.json"
has outlier_text out '^ +10\.02 .* 18\.05 .* \+0\.50%  +0\.0079  ns_per_page'
# a non-negative quantity that drops to 0 cannot fall by more than 100%: its
# CI is truncated there (the untruncated lower bound is 2 - 40 = -38, -190%)
mk "$tmp/z_base.json" 0 2 5 20 30 40
mk "$tmp/z_new.json" 0 0 0 0 0 0
run to_zero 0 --format json "$tmp/z_base.json" "$tmp/z_new.json"
has to_zero out '"shift_ci_pct": \[$'
grep -A1 '"shift_ci_pct"' "$tmp/to_zero.out" | grep -qE '^ +-100\.0,$' && ok || bad "to_zero: the CI is not truncated at -100%"
# the same p, a shift of +2.4% to +2.8% (CI above 2%): a regression
mk "$tmp/o_worse.json" 0 10.26 10.27 10.28 10.29 10.30
run shift_worse 1 --format json "$tmp/o_base.json" "$tmp/o_worse.json"
verdict shift_worse "$O" ns_per_page worse
# the geometric mean shows the rows it cannot take (a mean of 0): 100 -> 0
run geo_zero 1 "$tmp/o_base.json" "$tmp/o_worse.json"
has geo_zero out '^ +n/a  lock_wait_ns +\(0 benchmarks; 1 to 0, 0 from 0\)'
has geo_zero out '^ +\+2\.59%  ns_per_page +\(1 benchmarks\)'
run geo_zero_json 1 --format json "$tmp/o_base.json" "$tmp/o_worse.json"
has geo_zero_json out '"lock_wait_ns": \{'
has geo_zero_json out '"to_zero": 1,'

# --modes: Benjamini-Hochberg within each metric over the rows tested. With
# 4 repetitions the smallest p is 2/C(8,4) = 0.0286 < alpha: a family whose
# rows all have that p keeps it after BH (m/m * p), so a clear shift stays
# significant; a family with a single such row among m > 1.75 rows would not.
"$synth" "$tmp/four.json" --reps 4
run bh4 1 --modes --format json "$tmp/four.json"
has bh4 out '"adjust": "benjamini-hochberg per metric",'
hasnt bh4 out '"worse": 0,'
# 9 repetitions, 1 vCPU count: every ns_per_page row is fully separated
# (p = 2/48620, the smallest): BH leaves it exactly p.
"$synth" "$tmp/nine1.json" --reps 9 --vcpus 1
run bh9 1 --modes --format json "$tmp/nine1.json"
want=$(awk 'BEGIN { printf "%.6e", 2 / 48620 }')
got=$(awk '/"metric": "ns_per_page"/ { f = 1 } f && /"p_adj"/ { gsub(/[",]/, "", $2); printf "%.6e", $2; exit }' "$tmp/bh9.out")
if [[ $got == "$want" ]]; then ok; else bad "bh9: p_adj $got, want $want"; fi
run bh4_text 1 --modes "$tmp/four.json"
has bh4_text out 'p BH'

# --modes: each mode against locked inside one run
run modes 1 --modes "$tmp/base.json"
has modes out 'model/fast_only/4K/pages:16384/vcpus:1/inval:0 +vs locked, reps 9/9'
has modes out '^ +[0-9.]+ \+-[0-9.]+% +[0-9.]+ \+-[0-9.]+% +-55\.[0-9]+%\+ .*ns_per_page'
run modes_json 1 --modes --format json "$tmp/base.json"
verdict modes_json model/bitmap/4K/pages:16384/vcpus:8/inval:0 ns_per_page better
verdict modes_json model/fast_only/4K/pages:16384/vcpus:8/inval:0 false_old worse
verdict modes_json model/scan/4K/pages:16384/vcpus:1/inval:0 young same
run modes_nolocked 2 --modes --baseline-mode nosuchmode "$tmp/base.json"
# the text output fits 80 columns
width

echo "test_compare: $checks checks, $fails failed"
((fails == 0))

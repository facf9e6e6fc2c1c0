#!/usr/bin/env bash
# CLI behaviour: help texts, exit codes on bad input, and that an
# interrupted run leaves no results.json behind.
# usage: tests/cli.sh <path to agebench binary>
set -u
ab=$1
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect() { # expect CODE PATTERN -- cmd...
	local code=$1 pat=$2
	shift 3
	"$@" >"$tmp/out" 2>&1
	local rc=$?
	if [[ $rc -ne $code ]]; then
		echo "FAIL: '$*' exited $rc, want $code"; cat "$tmp/out"; fail=1
	elif ! grep -qE -- "$pat" "$tmp/out"; then
		echo "FAIL: '$*' output lacks /$pat/"; cat "$tmp/out"; fail=1
	else
		echo "ok: $* -> $rc"
	fi
}

expect 0 'usage: agebench <command>' -- "$ab" --help
expect 2 'usage: agebench <command>' -- "$ab"
expect 2 "unknown command 'frobnicate'" -- "$ab" frobnicate
for flag in --backend --walker --filter --reps --quick --out --max-vcpus --no-pin --driver \
	--mode --iterations --list --no-report --quiet --seed; do
	expect 0 "$flag" -- "$ab" run --help
done
expect 2 "unknown option '--bogus'" -- "$ab" run --bogus
expect 2 "unknown backend 'xen'" -- "$ab" run --backend xen
expect 2 "unknown walker 'lockless'" -- "$ab" run --walker locked,lockless
expect 2 "unknown driver 'damon'" -- "$ab" run --backend kvm --driver damon
expect 2 "unknown mode 'rcu'" -- "$ab" run --backend kvm --mode rcu
expect 2 "expected a positive number, got 'x'" -- "$ab" run --reps x
expect 2 "apply to --backend kvm only" -- "$ab" run --driver hook
expect 2 "--batch: '0' is not a page count" -- "$ab" run --batch 0 --list
expect 2 "--pages: 'x' is not a page count" -- "$ab" run --pages x --list
expect 2 "--pages applies to --backend model only" -- "$ab" run --backend kvm --pages 10 --list
# nested guests (docs/nested.md): a percentage, the kvm backend, a KVM with nested SVM
expect 2 "--nested applies to --backend kvm only" -- "$ab" run --nested 10 --list
expect 2 "--nested: 101 is not a percentage" -- "$ab" run --backend kvm --nested 101 --list
# (native binaries only: under qemu-user, the cross tree's wrapper scripts,
# KVM's ioctls do not reach the host)
if [[ -e /dev/kvm ]] && ! grep -qw svm /proc/cpuinfo && [[ $(head -c 2 "$ab") != '#!' ]]; then
	expect 2 "--nested 10: KVM offers its guests no nested" -- "$ab" run --backend kvm --nested 10 --list
fi
# only the hook has a call size; a real caller decides its own
if "$ab" run --backend kvm --list >/dev/null 2>&1 && ! "$ab" run --backend kvm --driver hook --list >/dev/null 2>&1; then
	expect 2 "only --driver hook takes --batch" -- "$ab" run --backend kvm --batch 1 --list
fi
for bad in x -1 '' 0 18446744073709551616; do
	expect 2 "^agebench: --seed: expected an integer from 1 to 2\^64-1, got '$bad'" -- "$ab" run --seed "$bad"
done
expect 2 "unexpected argument 'extra'" -- "$ab" run extra
touch "$tmp/afile"
expect 2 "afile.*Not a directory" -- "$ab" macro --quick --out "$tmp/afile"
expect 2 "--out .*afile: Not a directory" -- "$ab" run --quick --filter '^model/scan/.*vcpus:0' --reps 1 --out "$tmp/afile"
# what a person sees: one progress line per repetition by default, Google
# Benchmark's table with -v, nothing with -q
expect 0 '^\[1/[0-9]+\] model/scan/' -- "$ab" run --quick --filter '^model/scan/.*vcpus:0' --reps 1 --no-report --out "$tmp/p1"
expect 0 'Iterations' -- "$ab" run -v --quick --filter '^model/scan/.*vcpus:0' --reps 1 --no-report --out "$tmp/p2"
if "$ab" run -q --quick --filter '^model/scan/.*vcpus:0' --reps 1 --no-report --out "$tmp/p3" 2>"$tmp/q.err" >/dev/null && [[ ! -s $tmp/q.err ]]; then
	echo "ok: -q prints nothing on stderr"
else
	echo "FAIL: -q printed on stderr:"; cat "$tmp/q.err"; fail=1
fi
# --seed N is the interleaving order's seed: recorded, in the reproduce line
expect 0 '^results: ' -- "$ab" run --quick --filter '^model/scan/.*vcpus:0' --reps 2 --seed 42 --out "$tmp/s1"
if grep -Eq '"seed": 42,?$' "$tmp/s1/results.json" && grep -q '"interleave_seed": "42"' "$tmp/s1/results.json" &&
	grep -q -- '--seed 42' "$tmp/s1/report.txt"; then
	echo "ok: --seed 42 recorded in results.json and the reproduce line"
else
	echo "FAIL: --seed 42 not in results.json (agebench.interleave.seed, context.interleave_seed) or report.txt:"
	grep -n 'seed' "$tmp/s1/results.json" "$tmp/s1/report.txt"; fail=1
fi
# without --seed: a fresh one, recorded; the reproduce line adds it
"$ab" report "$tmp/p1" >/dev/null 2>&1
seed=$(grep -Eo '"interleave_seed": "[0-9]+"' "$tmp/p1/results.json" | grep -Eo '[0-9]+')
# (the reproduce line wraps with " \" continuations: join them)
if [[ -n $seed && $seed != 0 ]] &&
	sed -e ':a' -e '/\\$/{N;s/ *\\\n */ /;ba' -e '}' "$tmp/p1/report.txt" | grep -q -- "--seed $seed\$"; then
	echo "ok: a run without --seed records a fresh one ($seed) and reproduces with it"
else
	echo "FAIL: no fresh seed recorded (${seed:-none}) or not in the reproduce line:"
	grep -n -A3 'To reproduce' "$tmp/p1/report.txt"; fail=1
fi
expect 0 'no effect with --no-interleave' -- "$ab" run --quick --filter '^model/scan/.*vcpus:0' --reps 1 --no-interleave --seed 7 --no-report --out "$tmp/s2"

# Ctrl-C in the middle of a run: no results.json, no partial file.
if "$ab" run --list >/dev/null 2>&1; then
	# Handshake: interrupt once the first repetition has finished (its
	# progress line is out), i.e. in the middle of the run.
	"$ab" run --quick --out "$tmp/int" --no-report >/dev/null 2>"$tmp/int.err" &
	pid=$!
	for _ in $(seq 600); do grep -q '^\[1/' "$tmp/int.err" 2>/dev/null && break; sleep 0.1; done
	if ! grep -q '^\[1/' "$tmp/int.err"; then
		echo "FAIL: no progress line within 60 s:"; cat "$tmp/int.err"; fail=1
	fi
	kill -INT $pid
	wait $pid
	rc=$?
	left=$(ls -A "$tmp/int" 2>/dev/null)
	if [[ $rc -ne 130 || -n $left ]]; then
		echo "FAIL: interrupted run exited $rc (want 130) and left: ${left:-nothing}"; fail=1
	else
		echo "ok: interrupted run exited 130 and left nothing"
	fi
else
	echo "FAIL: no backend to run (agebench run --list failed)"; fail=1
fi
exit $fail

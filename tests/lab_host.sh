#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The kernel lab's host side without a kernel or QEMU (label unit):
# - agebench-kernel: usage errors exit 2 before anything touches the machine
#   (the build directory is not even created);
# - lab-qemu stamp: lab.json and context.lab_* in every exported results.json;
# - the stress verdicts: one per run from a console log (pass, failed exit,
#   splat, guest death), and the exact 95% upper bound of the failure rate.
#   tests/lab_host.sh REPO
set -uo pipefail
repo=$1
k=$repo/kernel/scripts/agebench-kernel
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

usage2() { # usage2 PATTERN ARGS...
	local pat=$1 rc
	shift
	rm -rf "$tmp/kb"
	AGEBENCH_KERNEL_BUILD=$tmp/kb "$k" "$@" >"$tmp/out" 2>&1
	rc=$?
	if ((rc != 2)) || ! grep -q -- "$pat" "$tmp/out"; then
		fail "agebench-kernel $*: exit $rc, want 2 naming '$pat': $(head -3 "$tmp/out")"
	elif [[ -e $tmp/kb ]]; then
		fail "agebench-kernel $*: created the build directory before the usage error"
	else
		echo "ok: agebench-kernel $* -> 2"
	fi
}
usage2 "unknown command 'frob'" frob
usage2 "--mode must be one of" test --mode sloppy
usage2 "--accel must be" test --accel xen
usage2 "no lab for 'riscv'" test --arch riscv
usage2 "--runs, --seconds and --per-boot" stress --runs 0
usage2 "--stress-args" stress --stress-args 'x;reboot'
usage2 "--boots must be" aa --boots x
usage2 "--reruns must be" aa --reruns x
usage2 "only valid with 'test'" build --only foo
usage2 "--jobs must be" build -j x
usage2 "unknown option" answer --frobnicate
"$k" --help | grep -q '^  answer ' || fail "--help does not describe 'answer'"

# lab-qemu stamp
run=$tmp/run
mkdir -p "$run/out/common/agebench_modes" "$run/out/locked/other"
printf '{"context": {"host_name": "guest"}, "benchmarks": []}\n' >"$run/out/common/agebench_modes/results.json"
printf '{"context": {}, "benchmarks": []}\n' >"$run/out/locked/other/results.json"
printf '{"vcpus": [{"cpu_index": 0, "thread_id": 1, "pu": 0}], "pinned": true}\n' >"$run/vcpu-pinning.json"
n=$("$repo/kernel/scripts/lab-qemu" stamp "$run" "qemu=QEMU emulator version 10.0.2 (Debian)" accel=tcg-multi)
[[ $n == 2 ]] || fail "lab-qemu stamp: stamped '$n' results.json, want 2"
python3 - "$run" <<'PY' || fails=$((fails + 1))
import json, sys
run = sys.argv[1]
for p in ("out/common/agebench_modes/results.json", "out/locked/other/results.json"):
    c = json.load(open(f"{run}/{p}"))["context"]
    assert c["lab_qemu"].startswith("QEMU emulator version 10.0.2"), (p, c)
    assert c["lab_accel"] == "tcg-multi", (p, c)
lab = json.load(open(f"{run}/lab.json"))
assert lab["accel"] == "tcg-multi" and lab["vcpu_threads"]["pinned"] is True, lab
print("ok: lab-qemu stamp: lab.json and context.lab_* in both results.json")
PY
"$repo/kernel/scripts/lab-qemu" stamp "$run" novalue >/dev/null 2>&1 && fail "lab-qemu stamp accepted 'novalue'"

# stress verdicts from a console: run 1 passes, 2 fails (exit), 3 passes but
# a KASAN report came during it, 4 began and the guest died
con=$tmp/console.txt
cat >"$con" <<'CON'
AB-BEGIN 6.12 flavour=debug
AB-TEST BEGIN agevm_stress_1 mode=-
[   10.000000] kvm: something harmless
AB-TEST PASS agevm_stress_1 mode=- (61s)
AB-TEST BEGIN agevm_stress_2 mode=-
AB-TEST FAIL agevm_stress_2 mode=- (30s): exit 1: FAIL: exactness check
AB-TEST BEGIN agevm_stress_3 mode=-
[  200.000000] BUG: KASAN: slab-out-of-bounds in rb_erase+0x10/0x20
AB-TEST PASS agevm_stress_3 mode=- (61s)
AB-TEST BEGIN agevm_stress_4 mode=-
[  300.000000] general protection fault, probably for non-canonical address
CON
(
	log() { :; }
	# shellcheck source=../kernel/scripts/lab/boot.sh
	. "$repo/kernel/scripts/lab/boot.sh"
	# shellcheck source=../kernel/scripts/lab/stress.sh
	. "$repo/kernel/scripts/lab/stress.sh"
	stress_verdicts "$con" "$tmp/seg" >"$tmp/v"
	echo "bound 0/12 $(rate_upper95 0 12) 0/11 $(rate_upper95 0 11) 2/4 $(rate_upper95 2 4)" >>"$tmp/v"
)
cat >"$tmp/want" <<'WANT'
1 PASS
2 FAIL exit 1: FAIL: exactness check
3 FAIL splat: [  200.000000] BUG: KASAN: slab-out-of-bounds in rb_erase+0x10/0x20
4 FAIL the guest died or hung during the run; first splat: [  300.000000] general protection fault, probably for non-canonical address
bound 0/12 0.221 0/11 0.238 2/4 0.902
WANT
diff "$tmp/want" "$tmp/v" >"$tmp/diff" && echo "ok: stress verdicts and bounds" || { fail "stress verdicts:"; cat "$tmp/diff"; }

# lab-qemu hostwatch on a stand-in for QEMU: a process that spins for 1.5 s
# (always runnable: its CPU time plus its run delay is its wall time), its
# pid file written after a delay, as QEMU writes it after it starts
(trap - EXIT; sleep 0.3; exec python3 -c 'import os, sys, time
open(sys.argv[1], "w").write("%d\n" % os.getpid())
end = time.monotonic() + 1.5
while time.monotonic() < end:
    pass' "$tmp/hw.pid") &
"$repo/kernel/scripts/lab-qemu" hostwatch "$tmp/hw.pid" "$tmp/hw.json" 2>"$tmp/hw.err"
wait
if python3 -c 'import json, sys
h = json.load(open(sys.argv[1]))
assert h["wall_s"] > 0.5, h
busy = h["qemu_cpu_s"] + h["qemu_run_delay_s"]
assert h["qemu_cpu_s"] > 0 and 0.5 * h["wall_s"] < busy <= 1.1 * h["wall_s"] + 0.2, h
assert 0 <= h["qemu_wait_frac"] < 1 and 0 <= h["host_steal_frac"] < 1, h' "$tmp/hw.json"; then
	echo "ok: lab-qemu hostwatch: wall, CPU time and wait of the watched process"
else
	fail "lab-qemu hostwatch: $(cat "$tmp/hw.json" "$tmp/hw.err" 2>&1)"
fi
"$repo/kernel/scripts/lab-qemu" hostwatch "$tmp/hw.pid" >/dev/null 2>&1
[[ $? == 2 ]] && echo "ok: lab-qemu hostwatch without OUT -> 2" || fail "lab-qemu hostwatch usage: not 2"

# aa-compare's verdict on synthetic boots (known answers): identical counts
# in every boot; pass times drawn so that the paired ratio series/stock is
# what the case names. The verdict must follow the 5% slowdown bound, not
# "the CI contains x1".
# With DISTURB=<boot>-<kernel> that boot runs 30% slow and its host figures
# say QEMU waited for a CPU 25% of the time; DISTURB=all: every boot waited.
aa_case() { # aa_case NAME SERIES_FACTOR [COUNT_OF_BOOT3_SERIES]
	local d=$tmp/aa-$1 f=$2 c3=${3:-4096} b k n t w slow
	mkdir -p "$d"
	: >"$d/order.txt"
	for b in 1 2 3 4 5 6; do
		for k in stock series; do
			mkdir -p "$d/boot$b-$k"
			n=4096
			[[ $b == 3 && $k == series ]] && n=$c3
			printf 'kvm_age_gfn %s\nkvm_tdp_mmu_age_gfn_range %s\nkvm_tdp_mmu_age_gfn_range_shared %s\n' \
				"$n" "$n" "$([[ $k == series ]] && echo 0 || echo absent)" >"$d/boot$b-$k/aa_counts.txt"
			echo "boot$b-$k" >>"$d/order.txt"
			: >"$d/boot$b-$k/aa_times.txt"
			w=0.004 slow=1
			[[ ${DISTURB:-} == all ]] && w=0.3
			[[ ${DISTURB:-} == "$b-$k" ]] && w=0.25 slow=1.3
			printf '{"qemu_wait_frac": %s, "host_steal_frac": 0.0}\n' "$w" >"$d/boot$b-$k/host.json"
			for t in 1 2 3 4 5 6 7 8 9; do
				# a boot level that varies by pair (host load), a per-pass spread of +-8%
				awk -v b="$b" -v t="$t" -v k="$k" -v f="$f" -v slow="$slow" -v sf="${STATS_F:-}" -v sp_pair="${SPREAD:-0}" 'BEGIN {
					lvl = 40e6 * (1 + 0.1 * (b % 3)) * slow; sp = 1 + 0.08 * ((t * 7 + b) % 5 - 2) / 2
					if (k == "series") lvl *= f * (1 + sp_pair * ((b % 3) - 1))
					if (sf == "" || k == "stock") {
						printf "%d %d - - %d %d\n", t % 3, t / 3, lvl * sp * 0.4, lvl * sp * 0.6; exit }
					# the series with kvm.age_stats alternating: pairs of passes (off, on)
					for (st = 0; st <= 1; st++) {
						x = st ? lvl * sf : lvl
						printf "%d %d locked %d %d %d\n", t % 3, 2 * t + st, st, x * sp * 0.4, x * sp * 0.6
						if (t == 1) printf "9 %d fast_only %d %d %d\n", st + 1, st, x * 0.4, x * 0.6 * (st ? 1.5 : 1)
					} }' >>"$d/boot$b-$k/aa_times.txt"
			done
		done
	done
	python3 "$repo/kernel/scripts/aa-compare" "$d" >"$d/out" 2>&1
	echo $?
}
aa_want() { # aa_want NAME RC PATTERN
	if [[ $(cat "$tmp/aa-$1.rc") != "$2" ]] || ! grep -q -- "$3" "$tmp/aa-$1/out"; then
		fail "aa-compare $1: exit $(cat "$tmp/aa-$1.rc"), want $2 with '$3':"
		cat "$tmp/aa-$1/out"
	else
		echo "ok: aa-compare $1 -> $2"
	fi
}
for c in "same 1.00" "faster 0.86" "slower 1.10" "slight 1.03"; do
	read -r name factor <<<"$c"
	aa_case "$name" "$factor" >"$tmp/aa-$name.rc"
done
aa_case counts 1.00 4095 >"$tmp/aa-counts.rc"
DISTURB=2-series aa_case disturbed 1.00 >"$tmp/aa-disturbed.rc"
DISTURB=all aa_case busy 1.00 >"$tmp/aa-busy.rc"
# x1.04 with a boot-level spread: not shown equivalent within 5% (the
# equivalence verdict fails), not shown 5% slower (the regression one passes)
AA_VERDICT=equivalence aa_case slight-equiv-ok 1.03 >"$tmp/aa-slight-equiv-ok.rc"
AA_VERDICT=equivalence SPREAD=0.06 aa_case slight-equiv 1.04 >"$tmp/aa-slight-equiv.rc"
SPREAD=0.06 aa_case slight-noisy 1.04 >"$tmp/aa-slight-noisy.rc"
STATS_F=1.01 aa_case stats-cheap 1.00 >"$tmp/aa-stats-cheap.rc"
STATS_F=1.12 aa_case stats-dear 1.00 >"$tmp/aa-stats-dear.rc"
STATS_F=1.12 AA_STATS_SLOWDOWN=0.05 aa_case stats-dear-judged 1.00 >"$tmp/aa-stats-dear-judged.rc"
DISTURB=all aa_case busy-counts 1.00 4095 >"$tmp/aa-busy-counts.rc"
aa_want same 0 "A/A: PASS"
aa_want faster 0 "A/A: PASS"
aa_want slight 0 "A/A: PASS"
aa_want slower 1 "pass time is 5% or more above stock's (lower bound x1.100)"
aa_want counts 1 "hit counts differ between boots"
aa_want disturbed 0 "boot2 (.*DISTURBED: left out"
aa_want disturbed 0 "paired (5 undisturbed boot pairs)"
aa_want slight-noisy 0 "equivalence within 5% not shown"
aa_want busy 77 "no time verdict: 0 undisturbed boot pairs"
aa_want busy-counts 1 "A/A: FAIL"
aa_want stats-cheap 0 "(locked, kvm.age_stats on)/stock: x1.010"
aa_want stats-cheap 0 "locked x1.010 \[x1.010, x1.010\]; fast_only x1.313"
aa_want stats-dear 0 "(locked, kvm.age_stats on)/stock: x1.120, one-sided 95% upper bound x1.120 (t, df 5) -- information"
aa_want stats-dear-judged 1 "FAIL: with kvm.age_stats on the series' pass time is 5% or more above"
aa_want slight 0 "equivalence within 5% shown"
aa_want slight-equiv 1 "FAIL: with kvm.age_stats off the series' pass time may be 5% or more above"
aa_want slight-equiv-ok 0 "the verdict (equivalence): the upper bound must be below x1.05"
# the rerun decision in agebench-kernel aa
[[ $(python3 "$repo/kernel/scripts/aa-compare" --clean-pairs "$tmp/aa-disturbed") == 5 ]] &&
	echo "ok: aa-compare --clean-pairs counts 5 of 6" || fail "aa-compare --clean-pairs: not 5"

((fails)) && { echo "lab_host: $fails failure(s)"; exit 1; }
echo "lab_host: pass"

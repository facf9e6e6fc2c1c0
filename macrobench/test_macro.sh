#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# ctest (label macro) for `agebench macro`. Behaviour only, never timings.
# usage: test_macro.sh pipeline|badinput|oom|signal|cgroup <agebench> <scratch dir>
#   pipeline  a short real run: reclaim happened in the VMs' memcgs, refaults
#             counted, guest operations > 0 (--assert-pipeline), results.json
#             is a Google Benchmark document with declared counters, raw.json
#             holds the kernel counter deltas, no cgroup or VM left
#   badinput  bad flags exit 2 with a message naming the flag
#   oom       an anonymous guest without swap under a limit: the repetition
#             fails naming the OOM kill, exit 1, cleaned up
#   signal    SIGINT and SIGTERM during the access phase (handshake: the
#             "access phase started" line): 128+sig, no VM, cgroup or
#             results.json left
#   cgroup    --cgroup PATH on a cgroup the test made: runs, leaves it there
set -u
what=$1 bin=$2 dir=$3
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# the runs that start VMs need KVM; usage errors (badinput) and the cgroup
# workload do not, and must behave the same without it
have_kvm=0
[ -w /dev/kvm ] && have_kvm=1
case $what in
pipeline | oom | signal)
	if [ $have_kvm = 0 ]; then
		echo "skip: /dev/kvm missing or not writable"
		exit 77
	fi
	;;
esac
rm -rf "$dir"
mkdir -p "$dir"
files="$dir/files"
mkdir -p "$files"

# cgroups named agebench-macro-<pid>-* anywhere under /sys/fs/cgroup
leftover() {
	find /sys/fs/cgroup -maxdepth 8 -type d -name "agebench-macro-$1-*" 2>/dev/null
}

run_bg() { # run_bg LOG ARGS...: start agebench macro in the background, pid in $pid
	log=$1
	shift
	"$bin" macro --file-dir "$files" "$@" >"$log.out" 2>"$log" &
	pid=$!
}

case $what in
pipeline)
	command -v python3 >/dev/null || { echo "skip: python3 needed"; exit 77; }
	run_bg "$dir/log" --quick --seconds 1 --reps 2 --seed 7 --assert-pipeline --out "$dir/r"
	wait $pid
	rc=$?
	[ $rc -eq 0 ] && ok "run exit 0" || { bad "run exited $rc"; cat "$dir/log" "$dir/log.out"; }
	grep -q 'pipeline ok' "$dir/log" && ok "pipeline asserted" || bad "no 'pipeline ok'"
	grep -q '^mode .*ops/s' "$dir/log.out" && ok "per-mode table printed" ||
		bad "no per-mode table on stdout"
	[ -z "$(leftover $pid)" ] && ok "no cgroup left" || bad "cgroups left: $(leftover $pid)"
	python3 - "$dir/r" <<'PY' || fails=$((fails + 1))
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/results.json"))
raw = json.load(open(d + "/raw.json"))
bad = []
def need(c, what):
    if not c:
        bad.append(what)
ctx = r["context"]
for k in ("macro_seed", "macro_order", "macro_workload", "macro_pressure", "macro_kernel",
          "macro_lru", "macro_cgroup", "macro_backing", "kernel_release"):
    need(k in ctx, "context." + k)
need(ctx.get("macro_seed") == "7", "seed recorded (%r)" % ctx.get("macro_seed"))
its = [b for b in r["benchmarks"] if b.get("run_type") == "iteration"]
modes = ctx["macro_modes"].split(",")
need(len(its) == 2 * len(modes), "2 iterations per mode, got %d" % len(its))
decl = r["agebench"]["counters"]
for b in its:
    n = b["name"]
    need(n.startswith("macro/") and "/synthetic/vms:1/mib:64/limit:50" in n, "name " + n)
    need(b["iterations"] == 1, "one iteration per repetition: " + n)
    need(not b.get("error_occurred"), "repetition failed: %s" % b.get("error_message"))
    for c in ("ops", "ops_per_s", "refault_pages", "sys_pgscan", "op_p99_ns"):
        need(c in b, "%s has %s" % (n, c))
    need(b.get("ops", 0) > 0, "ops > 0")
    need(b.get("refault_pages", 0) > 0, "refaults > 0")
    need(b.get("memcg_pgsteal", b.get("memcg_pgpgout", 0)) > 0, "reclaim in the memcg")
    for c in b:
        if c in ("ops", "refault_pages", "reclaim_cpu_s", "sys_pgscan"):
            need(c in decl and decl[c]["unit"], "counter %s declared with a unit" % c)
need(len(raw) == len(its), "raw.json: one entry per repetition")
for e in raw:
    need(e["vmstat"] and e["memcg"] and "kvm" in e, "raw entry has vmstat, memcg, kvm")
need(sorted(e["order"] for e in raw) == list(range(len(raw))), "raw.json orders 0..n-1")
if bad:
    print("FAIL: " + "; ".join(bad))
    sys.exit(1)
print("ok: results.json and raw.json")
PY
	;;
badinput)
	expect2() { # expect2 FLAG ARGS...: exit 2, stderr names FLAG
		flag=$1
		shift
		"$bin" macro --out "$dir/bad" "$@" >/dev/null 2>"$dir/err"
		rc=$?
		if [ $rc -eq 2 ] && grep -q -- "$flag" "$dir/err"; then
			ok "$* -> 2 ($(head -1 "$dir/err"))"
		else
			bad "$* -> $rc, stderr: $(cat "$dir/err")"
		fi
	}
	expect2 --limit --limit 0
	expect2 --limit --limit 101
	expect2 --limit --limit half
	expect2 --mib --mib 63
	expect2 --mib --mib 0
	expect2 --vms --vms 0
	expect2 --seconds --seconds -1
	expect2 --mode --mode bogus
	expect2 --workload --workload memcached
	expect2 --backing --backing thp
	expect2 --cgroup --cgroup /nonexistent/cgroup
	expect2 --cgroup --cgroup "$dir"
	expect2 --file-dir --file-dir /nonexistent/dir
	expect2 --reps --reps 0
	expect2 argument stray
	expect2 --nested --nested 101
	expect2 --nested --nested 10 --workload mgmt
	if [ ! -e /sys/module/kvm/parameters/mmu_age_mode ]; then
		expect2 --mode --mode locked
	fi
	# found after the usage checks, against the machine: only where the run
	# gets that far (a VM workload without KVM stops at /dev/kvm, 77)
	if [ $have_kvm = 0 ]; then
		"$bin" macro --out "$dir/bad" --quick >/dev/null 2>"$dir/err"
		rc=$?
		[ $rc -eq 77 ] && grep -q '/dev/kvm' "$dir/err" && ok "no KVM -> 77 ($(head -1 "$dir/err"))" ||
			bad "no KVM -> $rc, want 77 naming /dev/kvm: $(cat "$dir/err")"
	fi
	# --nested where KVM cannot offer nested SVM (no svm on this CPU): 2, why
	if [ $have_kvm = 1 ] && ! grep -qw svm /proc/cpuinfo; then
		expect2 'nested virtualisation' --nested 10 --quick
	fi
	if [ $have_kvm = 1 ] && grep -q ' /sys/fs/cgroup/memory cgroup ' /proc/mounts; then
		expect2 --reclaim-loop --reclaim-loop 100
	fi
	if [ $have_kvm = 1 ] && [ ! -e /sys/class/zram-control ] && [ ! -e /sys/block/zram0 ]; then
		"$bin" macro --out "$dir/bad" --zram 64 >/dev/null 2>"$dir/err"
		rc=$?
		[ $rc -eq 77 ] && grep -q -- '--zram' "$dir/err" && grep -q 'zram' "$dir/err" &&
			ok "--zram without zram -> 77 ($(head -1 "$dir/err"))" ||
			bad "--zram without zram -> $rc: $(cat "$dir/err")"
	fi
	[ ! -e "$dir/bad/results.json" ] && ok "no results.json after bad input" ||
		bad "results.json written after bad input"
	;;
oom)
	if [ "$(awk '/^SwapTotal:/ {print $2}' /proc/meminfo)" != 0 ]; then
		echo "skip: swap is active here, an anonymous guest would not be OOM-killed"
		exit 77
	fi
	run_bg "$dir/log" --backing anon --mib 64 --limit 25 --reps 1 --seconds 1 -q --out "$dir/r"
	wait $pid
	rc=$?
	[ $rc -eq 1 ] && ok "exit 1" || bad "exit $rc (want 1)"
	grep -q 'OOM killer' "$dir/log" && grep -q 'limit' "$dir/log" &&
		ok "error names the OOM kill: $(grep -m1 'OOM' "$dir/log")" ||
		bad "no OOM message: $(cat "$dir/log")"
	grep -q '"error_occurred": true' "$dir/r/results.json" 2>/dev/null &&
		ok "repetition marked failed in results.json" || bad "no failed repetition in results.json"
	grep -q '"error_message": ".*OOM' "$dir/r/results.json" 2>/dev/null &&
		ok "error_message names the OOM kill" || bad "error_message without the cause"
	[ -z "$(leftover $pid)" ] && ok "no cgroup left" || bad "cgroups left: $(leftover $pid)"
	;;
signal)
	for sig in INT TERM; do
		d="$dir/$sig"
		run_bg "$dir/log-$sig" --mib 32 --reps 1 --seconds 120 -v --out "$d"
		# handshake: wait for the access phase, not for a fixed time
		n=0
		while ! grep -q 'access phase started' "$dir/log-$sig" 2>/dev/null; do
			if ! kill -0 $pid 2>/dev/null || [ $n -ge 600 ]; then
				break
			fi
			n=$((n + 1))
			sleep 0.1
		done
		vmpid=$(sed -n 's/.*macro: VM 0 pid \([0-9]*\) in .*/\1/p' "$dir/log-$sig")
		[ -n "$(leftover $pid)" ] && ok "$sig: cgroup exists while running" ||
			bad "$sig: no cgroup while running"
		kill -$sig $pid
		wait $pid
		rc=$?
		case $sig in INT) want=130 ;; TERM) want=143 ;; esac
		[ $rc -eq $want ] && ok "$sig: exit $rc" || { bad "$sig: exit $rc, want $want"; cat "$dir/log-$sig"; }
		[ -n "$vmpid" ] && ! kill -0 "$vmpid" 2>/dev/null && ok "$sig: VM process $vmpid gone" ||
			bad "$sig: VM process '$vmpid' still there (or never started)"
		[ -z "$(leftover $pid)" ] && ok "$sig: no cgroup left" ||
			bad "$sig: cgroups left: $(leftover $pid)"
		[ ! -e "$d/results.json" ] && ok "$sig: no results.json" || bad "$sig: results.json left"
	done
	;;
cgroup)
	# --cgroup PATH watches a cgroup it did not create and leaves it alone
	mem=$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)
	if [ -n "$mem" ] && [ -d "/sys/fs/cgroup/memory$mem" ]; then
		cg="/sys/fs/cgroup/memory${mem%/}/agebench-macrotest-$$"
	else
		cg="/sys/fs/cgroup$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)"
		cg="${cg%/}/agebench-macrotest-$$"
	fi
	mkdir "$cg" 2>/dev/null || { echo "skip: cannot create a memory cgroup $cg"; exit 77; }
	run_bg "$dir/log" --cgroup "$cg" --seconds 0.3 --reps 2 -q --out "$dir/r"
	wait $pid
	rc=$?
	[ $rc -eq 0 ] && ok "exit 0" || { bad "exit $rc"; cat "$dir/log"; }
	[ -d "$cg" ] && ok "the user's cgroup is left in place" || bad "$cg was removed"
	rmdir "$cg"
	n=$(grep -c '"run_type": "iteration"' "$dir/r/results.json" 2>/dev/null)
	modes=$(grep -o '"macro_modes": "[^"]*"' "$dir/r/results.json" | tr -cd , | wc -c)
	[ "$n" -eq $((2 * (modes + 1))) ] && ok "2 repetitions per mode" || bad "$n iterations"
	grep -q '"name": "macro/[a-z_]*/cgroup/vms:1' "$dir/r/results.json" && ok "names" ||
		bad "no macro/<mode>/cgroup/vms:1 benchmark"
	grep -q '"refault_pages"' "$dir/r/results.json" && ok "refault_pages counted" ||
		bad "no refault_pages"
	;;
*)
	echo "usage: test_macro.sh pipeline|badinput|oom|signal AGEBENCH DIR" >&2
	exit 2
	;;
esac
[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }

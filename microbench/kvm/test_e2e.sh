#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# End-to-end kvm run with the reclaim driver (the one this kind of host
# offers): real VMs, real memcg reclaim; checks the results JSON: the
# contended-phase counters, the steady-refault counters, the quiet first
# touch under its own name, oversubscription refused / marked.
# Then the same through `agebench run --backend kvm` (the CLI): results.json
# must carry the counter metadata and the fault CDF.
# usage: test_e2e.sh <agebench-kvm> <scratch dir> [<agebench>]
set -u
bin=$1
dir=$2
cli=${3:-}
if [ ! -w /dev/kvm ]; then
	echo "skip: /dev/kvm missing or not writable"
	exit 77
fi
if ! "$bin" --detect | grep -q '^reclaim: present'; then
	echo "skip: reclaim driver unavailable here: $("$bin" --detect | grep '^reclaim')"
	exit 77
fi
command -v python3 >/dev/null || { echo "skip: python3 needed to read the JSON"; exit 77; }
pus=$(nproc)
rm -rf "$dir"
mkdir -p "$dir/files"
export AGEBENCH_KVM_FILE_DIR="$dir/files" AGEBENCH_KVM_NO_DPT=1

# without --allow-oversubscribe no point has vCPUs + the ager above the PUs
AGEBENCH_KVM_MIB=64 "$bin" --quick --driver reclaim --max-vcpus "$pus" --list >"$dir/list" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	echo "FAIL: --list exited $rc"; cat "$dir/list"; exit 1
fi
if grep "vcpus:$pus/" "$dir/list"; then
	echo "FAIL: vcpus:$pus on $pus PUs registered without --allow-oversubscribe"; exit 1
fi

AGEBENCH_KVM_MIB=64 AGEBENCH_KVM_CALLS=2 AGEBENCH_KVM_MIN_AGE_MS=150 \
	"$bin" --quick --driver reclaim --allow-oversubscribe --json "$dir/r.json" \
	--check-teardown >"$dir/log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	echo "FAIL: run exited $rc"; cat "$dir/log"; exit 1
fi
python3 - "$dir/r.json" "$pus" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
pus = int(sys.argv[2])
ctx, bs = d["context"], d["benchmarks"]
bad = []
def need(c, what):
    if not c:
        bad.append(what)
need(ctx.get("driver") == "reclaim", "context.driver == reclaim (got %r)" % ctx.get("driver"))
need(ctx.get("kvm_modes"), "context.kvm_modes")
need(len(bs) >= 2, "at least 2 benchmarks (vcpus 1 and max), got %d" % len(bs))
for b in bs:
    n = b["name"]
    parts = n.split("/")
    need(parts[0] == "kvm" and parts[2] == "file" and parts[3] == "mib:64"
         and parts[4].startswith("vcpus:"), "name kvm/<mode>/file/mib:64/vcpus:N: " + n)
    need(not b.get("error_occurred"), n + ": error " + str(b.get("error_message")))
    v = int(parts[4].split(":")[1])
    # contended phase (populate under aging), its unaged twin, the quiet first touch
    for c in ("ns_per_page", "pages_per_s", "calls_per_s", "age_pass_ns", "populate_ns",
              "base_populate_ns", "populate_rel", "fault_p50_ns", "fault_p99_ns", "fault_max_ns",
              "base_fault_p99_ns", "first_touch_p50_ns", "first_touch_p99_ns",
              "first_touch_pages_per_s", "window_ns", "window_calls", "window_faults",
              "refault_vcpu_rel", "refault_faults",
              "refault_zapped", "refault_access_p99_ns", "base_refault_access_p99_ns"):
        need(b.get(c, 0) > 0, "%s: counter %s > 0 (got %r)" % (n, c, b.get(c)))
    # the refault window's aging calls: on an oversubscribed point (vCPUs + the
    # ager above the PUs, marked so) the ager may get no CPU in the window
    for c in ("refault_ns_per_page", "refault_calls"):
        if v + 1 <= pus or c in b:
            need(b.get(c, 0) > 0, "%s: counter %s > 0 (got %r)" % (n, c, b.get(c)))
    need(b.get("fault_p50_ns", 0) <= b.get("fault_p99_ns", 0) <= b.get("fault_max_ns", 0),
         n + ": fault p50 <= p99 <= max")
    # the window covers the vCPU phase and the minimum
    need(b.get("window_ns", 0) >= b.get("populate_ns", 1), n + ": window_ns >= populate_ns")
    need(b.get("window_ns", 0) >= 150e6, n + ": window_ns >= --min-age-ms 150")
    need("evicted" in b and "hot_evicted" in b, n + ": evicted, hot_evicted present")
    need("false_old" not in b, n + ": reclaim must not claim an exact false_old")
    for old in ("base_accesses_per_s", "vcpu_accesses_per_s", "fault_rel", "fault_calls",
                "base_refault_p99_ns", "aging_fault_p99_ns"):
        need(old not in b, n + ": counter of the old quiet/one-pass phases: " + old)
    need(b.get("oversubscribed") == (1 if v + 1 > pus else 0),
         "%s: oversubscribed %r with %d PUs" % (n, b.get("oversubscribed"), pus))
    need(b.get("iterations") == 2, n + ": 2 contended windows (iterations)")
    # the passes are split by whether they overlapped the vCPUs' faults: the
    # window of --min-age-ms 150 outlasts a 64 MiB populate, so some are quiet
    ov = b.get("overlap_frac", -1)
    need(0 < ov <= 1, "%s: overlap_frac %r in (0, 1]" % (n, ov))
    need(b.get("contended_calls", 0) >= 1, n + ": at least one contended pass per window")
    need(abs(b.get("contended_calls", 0) + b.get("quiet_calls", 0) - b.get("window_calls", -1)) < 1e-6,
         n + ": contended + quiet passes = window_calls")
    need(b.get("quiet_calls", 0) == 0 or b.get("quiet_ns_per_page", 0) > 0,
         n + ": quiet passes have their own cost")
for m in bad:
    print("FAIL:", m)
for b in bs:
    print("%s: overlap_frac %.2f (%.1f contended, %.1f quiet passes, quiet %.0f ns/page)"
          % (b["name"], b.get("overlap_frac", 0), b.get("contended_calls", 0),
             b.get("quiet_calls", 0), b.get("quiet_ns_per_page") or 0))
    print("%s: pass %.1f ms (%.0f ns/page), %.0f calls and %.0f faults in the %.0f ms window, "
          "populate %.0f / %.0f ms without / with aging (populate_rel %.3f), fault p99 %.0f / %.0f ns"
          % (b["name"], b.get("age_pass_ns", 0) / 1e6, b.get("ns_per_page", 0),
             b.get("window_calls", 0), b.get("window_faults", 0), b.get("window_ns", 0) / 1e6,
             b.get("base_populate_ns", 0) / 1e6, b.get("populate_ns", 0) / 1e6,
             b.get("populate_rel", 0), b.get("base_fault_p99_ns", 0), b.get("fault_p99_ns", 0)))
sys.exit(1 if bad else 0)
PY

if [ -n "$cli" ]; then
	AGEBENCH_KVM_MIB=32 AGEBENCH_KVM_CALLS=1 AGEBENCH_KVM_MIN_AGE_MS=100 \
		"$cli" run --backend kvm --driver reclaim --quick --reps 2 --filter 'vcpus:1/' \
		--no-report --out "$dir/cli" >"$dir/cli.log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "FAIL: agebench run --backend kvm exited $rc"; cat "$dir/cli.log"; exit 1
	fi
	"$cli" list counters --format json >"$dir/schema.json" || { echo "FAIL: agebench list counters"; exit 1; }
	python3 - "$dir/cli/results.json" "$dir/schema.json" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
schema = {c["name"]: c for c in json.load(open(sys.argv[2]))}
a = d.get("agebench", {})
ctr = a.get("counters", {})
bad = []
builtin = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
           "repetitions", "repetition_index", "threads", "iterations", "real_time",
           "cpu_time", "time_unit", "aggregate_name", "aggregate_unit", "error_occurred",
           "error_message", "label"}
seen = set()
for b in d["benchmarks"]:
    for k in b:
        if k in builtin:
            continue
        seen.add(k)
        if k not in ctr:
            bad.append("counter %s emitted but not declared in results.json" % k)
        elif k not in schema:
            bad.append("counter %s is not in the schema (agebench list counters)" % k)
        elif (ctr[k].get("unit"), ctr[k].get("better")) != (schema[k]["unit"], schema[k]["better"]):
            bad.append("counter %s declared as %r, the schema says %r" % (k, ctr[k], schema[k]))
if len(seen) < 10:
    bad.append("only %d counters seen: %s" % (len(seen), sorted(seen)))
# the headline counters name the phase they come from
for k in ("ns_per_page", "lock_wait_ns", "populate_rel", "fault_p99_ns"):
    m = schema.get(k, {}).get("meaning", "")
    if "contended" not in m and "while aging" not in m:
        bad.append("counter %s: meaning does not name its phase: %r" % (k, m))
cdf = a.get("cdf", {})
if not any("fault" in m for m in cdf.values()):
    bad.append("no fault CDF in agebench.cdf")
if not any("first_touch" in m for m in cdf.values()):
    bad.append("no first_touch CDF in agebench.cdf")
if d["context"].get("backend") != "kvm" or d["context"].get("driver") != "reclaim":
    bad.append("context backend/driver: %r/%r" % (d["context"].get("backend"), d["context"].get("driver")))
for m in bad:
    print("FAIL:", m)
print("CLI run: %d benchmark rows, %d declared counters, CDFs %s" % (len(d["benchmarks"]), len(ctr), sorted(set(k for m in cdf.values() for k in m))))
sys.exit(1 if bad else 0)
PY
fi
rm -rf "$dir"

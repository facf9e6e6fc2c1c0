#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# End-to-end kvm run with the reclaim driver (the one this kind of host
# offers): real VMs, real memcg reclaim; checks the results JSON.
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
rm -rf "$dir"
mkdir -p "$dir/files"
AGEBENCH_KVM_FILE_DIR="$dir/files" AGEBENCH_KVM_NO_DPT=1 AGEBENCH_KVM_MIB=64 \
AGEBENCH_KVM_CALLS=6 AGEBENCH_KVM_BASE_MS=200 \
	"$bin" --quick --driver reclaim --json "$dir/r.json" --check-teardown >"$dir/log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	echo "FAIL: run exited $rc"; cat "$dir/log"; exit 1
fi
python3 - "$dir/r.json" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
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
    for c in ("ns_per_page", "pages_per_s", "calls_per_s", "vcpu_accesses_per_s",
              "base_accesses_per_s", "fault_p50_ns", "fault_p99_ns", "fault_max_ns"):
        need(b.get(c, 0) > 0, "%s: counter %s > 0 (got %r)" % (n, c, b.get(c)))
    need(b.get("fault_p50_ns", 0) <= b.get("fault_p99_ns", 0) <= b.get("fault_max_ns", 0),
         n + ": fault p50 <= p99 <= max")
    need("evicted" in b and "hot_evicted" in b and "vcpu_rel" in b,
         n + ": evicted, hot_evicted, vcpu_rel present")
    need("false_old" not in b, n + ": reclaim must not claim an exact false_old")
    need(b.get("iterations") == 6, n + ": 6 aging calls")
for m in bad:
    print("FAIL:", m)
for b in bs:
    print("%s: %.0f ns/page, %.1f calls/s, young %.0f, evicted %.0f, hot_evicted %.0f, vcpu_rel %.3f"
          % (b["name"], b.get("ns_per_page", 0), b.get("calls_per_s", 0), b.get("young", -1),
             b.get("evicted", 0), b.get("hot_evicted", -1), b.get("vcpu_rel", 0)))
sys.exit(1 if bad else 0)
PY

if [ -n "$cli" ]; then
	AGEBENCH_KVM_FILE_DIR="$dir/files" AGEBENCH_KVM_NO_DPT=1 AGEBENCH_KVM_MIB=32 \
	AGEBENCH_KVM_CALLS=3 AGEBENCH_KVM_BASE_MS=100 \
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
cdf = a.get("cdf", {})
if not any("fault" in m for m in cdf.values()):
    bad.append("no fault CDF in agebench.cdf")
if d["context"].get("backend") != "kvm" or d["context"].get("driver") != "reclaim":
    bad.append("context backend/driver: %r/%r" % (d["context"].get("backend"), d["context"].get("driver")))
for m in bad:
    print("FAIL:", m)
print("CLI run: %d benchmark rows, %d declared counters, CDFs %s" % (len(d["benchmarks"]), len(ctr), sorted(set(k for m in cdf.values() for k in m))))
sys.exit(1 if bad else 0)
PY
fi
rm -rf "$dir"

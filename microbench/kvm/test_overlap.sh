#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The contended phase really overlaps vCPU faults with aging: with the
# shortest aging window (1 ms, so the window is the populate itself), KVM
# counted page faults (vCPU stat pf_taken) between the start barrier and the
# end of the window, and the ager completed calls in it; the same for the
# steady-refault window. Any present driver (reclaim on a stock host).
# usage: test_overlap.sh <agebench-kvm> <scratch dir>
set -u
bin=$1
dir=$2
if [ ! -w /dev/kvm ]; then
	echo "skip: /dev/kvm missing or not writable"
	exit 77
fi
command -v python3 >/dev/null || { echo "skip: python3 needed to read the JSON"; exit 77; }
"$bin" --detect >/dev/null 2>&1 || { echo "skip: no aging driver here"; exit 77; }
rm -rf "$dir"
mkdir -p "$dir/files"
AGEBENCH_KVM_FILE_DIR="$dir/files" AGEBENCH_KVM_NO_DPT=1 AGEBENCH_KVM_MIB=32 \
AGEBENCH_KVM_CALLS=1 AGEBENCH_KVM_MIN_AGE_MS=1 \
	"$bin" --quick --reps 2 --max-vcpus 1 --filter '/(4K|file)/' --json "$dir/r.json" \
	>"$dir/log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	echo "FAIL: run exited $rc"; cat "$dir/log"; exit 1
fi
python3 - "$dir/r.json" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
bad = []
rows = [b for b in d["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
if not rows:
    bad.append("no benchmark rows")
for b in rows:
    n = b["name"]
    if b.get("error_occurred"):
        bad.append(n + ": error " + str(b.get("error_message")))
        continue
    for c in ("window_faults", "window_calls", "refault_faults", "refault_calls"):
        if not b.get(c, 0) > 0:
            bad.append("%s: %s > 0 (got %r)" % (n, c, b.get(c)))
    print("%s: %d faults and %d aging calls in a %.1f ms window (populate %.1f ms); "
          "steady refaults: %d faults, %d calls" % (n, b.get("window_faults", 0),
          b.get("window_calls", 0), b.get("window_ns", 0) / 1e6, b.get("populate_ns", 0) / 1e6,
          b.get("refault_faults", 0), b.get("refault_calls", 0)))
for m in bad:
    print("FAIL:", m)
sys.exit(1 if bad else 0)
PY
rm -rf "$dir"

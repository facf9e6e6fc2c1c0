#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The populate bar: build the kernel's demand_paging_test from
# /usr/src/linux-source-6.12.tar.xz (first time only), let the kvm backend
# compare our populate with it in the same run, and check that
# demand_paging_ratio lands in the results context as a number. The ratio
# itself is printed, not asserted (timings on a shared machine are noisy).
# usage: test_dpt.sh <agebench-kvm> <dpt dir> <build-dpt.sh>
set -u
bin=$1
dpt=$2
build=$3
if [ ! -w /dev/kvm ]; then
	echo "skip: /dev/kvm missing or not writable"
	exit 77
fi
command -v python3 >/dev/null || { echo "skip: python3 needed to read the JSON"; exit 77; }
"$build" "$dpt"
rc=$?
[ $rc -eq 77 ] && { echo "skip: linux-source-6.12 tarball not installed"; exit 77; }
[ $rc -ne 0 ] && { echo "FAIL: build-dpt.sh exited $rc"; exit 1; }
tmp=$(mktemp -d /tmp/abk-dpt-XXXXXX)
mkdir -p "$tmp/files"
AGEBENCH_DPT="$dpt/demand_paging_test" AGEBENCH_KVM_FILE_DIR="$tmp/files" AGEBENCH_KVM_MIB=32 \
AGEBENCH_KVM_CALLS=2 AGEBENCH_KVM_BASE_MS=50 \
	"$bin" --quick --filter 'vcpus:1/' --json "$tmp/r.json" >"$tmp/log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	echo "FAIL: run exited $rc"; cat "$tmp/log"; rm -rf "$tmp"; exit 1
fi
python3 - "$tmp/r.json" <<'PY'
import json, sys
ctx = json.load(open(sys.argv[1]))["context"]
r = ctx.get("demand_paging_ratio")
try:
    v = float(r)
except (TypeError, ValueError):
    print("FAIL: demand_paging_ratio not measured: %r" % r)
    sys.exit(1)
if not v > 0:
    print("FAIL: demand_paging_ratio %r" % r)
    sys.exit(1)
print("demand_paging_ratio (ours/theirs pages/s) = %s: %s" % (r, ctx.get("demand_paging_detail")))
PY
rc=$?
rm -rf "$tmp"
exit $rc

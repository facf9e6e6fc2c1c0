#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# kvm backend teardown: after a normal run and after a SIGINT'd run, no
# memory cgroup, backing/ballast file, guest mapping or fd of ours is left.
# usage: test_teardown.sh <agebench-kvm> <scratch dir>
set -u
bin=$1
dir=$2
if [ ! -w /dev/kvm ]; then
	echo "skip: /dev/kvm missing or not writable"
	exit 77
fi
rm -rf "$dir"
mkdir -p "$dir/files"
export AGEBENCH_KVM_FILE_DIR="$dir/files" AGEBENCH_KVM_NO_DPT=1 AGEBENCH_KVM_MIB=32
fail=0

# memcgs we created: agebench-<pid>-<n> anywhere in the cgroup mounts
leftover() {
	find /sys/fs/cgroup -maxdepth 8 -type d -name "agebench-$1-*" 2>/dev/null
}

# "nothing left behind" only when nothing failed so far
verdict() {
	if [ $fail -eq 0 ]; then echo "$1, nothing left behind"; else echo "$1: FAILED (see above)"; fi
}

# which driver runs here (the test covers the memcg drivers best)
drv=$("$bin" --detect | sed -n 's/^chosen: //p')

# 1. normal run, in-process check (mappings, fds, memcgs) + after exit
AGEBENCH_KVM_CALLS=3 AGEBENCH_KVM_BASE_MS=50 "$bin" --quick --filter 'vcpus:1/' \
	--json "$dir/run.json" --check-teardown >"$dir/run.log" 2>&1 &
pid=$!
wait $pid
rc=$?
if [ $rc -ne 0 ]; then
	echo "FAIL: normal run exited $rc"; cat "$dir/run.log"; fail=1
fi
grep -q "teardown check ok" "$dir/run.log" || { echo "FAIL: no in-process teardown check"; fail=1; }
if [ -n "$(leftover $pid)" ]; then
	echo "FAIL: memcg left after a normal run: $(leftover $pid)"; fail=1
fi
if [ -n "$(ls -A "$dir/files")" ]; then
	echo "FAIL: files left after a normal run: $(ls -A "$dir/files")"; fail=1
fi
verdict "normal run: rc=$rc"

# 2. SIGINT while the benchmark runs (memcg entered, VM running). The
# handshake is a condition polled with a deadline, not a sleep: the run
# holds a vCPU mapping (its VM exists), and for the memcg drivers its memcg
# exists too.
AGEBENCH_KVM_CALLS=100000 AGEBENCH_KVM_BASE_MS=20000 "$bin" --quick --filter 'vcpus:1/' \
	--json "$dir/int.json" >"$dir/int.log" 2>&1 &
pid=$!
seen=""
i=0
while [ $i -lt 600 ]; do
	if grep -q kvm-vcpu "/proc/$pid/maps" 2>/dev/null; then
		if [ "$drv" = reclaim ] || [ "$drv" = lru_gen ]; then
			seen=$(leftover $pid)
		else
			seen=vm
		fi
	fi
	[ -n "$seen" ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.05
	i=$((i + 1))
done
if [ -z "$seen" ]; then
	echo "FAIL: the run never reached the benchmark within 30 s (driver $drv)"
	cat "$dir/int.log"; fail=1
fi
kill -INT $pid
wait $pid
rc=$?
if [ $rc -ne 130 ]; then
	echo "FAIL: SIGINT'd run exited $rc, want 130"; cat "$dir/int.log"; fail=1
fi
if [ -n "$(leftover $pid)" ]; then
	echo "FAIL: memcg left after SIGINT: $(leftover $pid)"; fail=1
fi
if [ -n "$(ls -A "$dir/files")" ]; then
	echo "FAIL: files left after SIGINT: $(ls -A "$dir/files")"; fail=1
fi
verdict "SIGINT'd run (driver $drv, running: ${seen:-no}): rc=$rc"
[ $fail -eq 0 ] && rm -rf "$dir"
exit $fail

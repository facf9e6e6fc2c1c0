#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build one of the kernel's KVM selftests from Debian's linux-source-6.12
# tarball, out of tree, into OUTDIR/TEST: extract what the selftests need,
# headers_install, build the one test. Used for demand_paging_test (the kvm
# backend's populate-speed bar: microbench/kvm/build-dpt.sh) and
# max_guest_memory_test (`agebench macro --workload mgmt`:
# macrobench/build-mgmt.sh).
# usage: build-kvm-selftest.sh TEST OUTDIR   (env: LINUX_SOURCE_TARBALL, JOBS,
#        AB_SELFTEST_SRC = an already extracted tree to reuse)
# Exit: 0 built (or up to date), 1 build failed, 2 usage, 77 tarball missing.
set -eu
if [ $# -ne 2 ] || [ -z "$1" ] || [ -z "$2" ] || [ "${1#-}" != "$1" ]; then
	echo "usage: build-kvm-selftest.sh TEST OUTDIR" >&2
	exit 2
fi
test=$1
out=$2
me="build-kvm-selftest ($test)"
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
jobs=${JOBS:-2}
mkdir -p "$out"
out=$(cd "$out" && pwd)
bin="$out/$test"
if [ -n "${AB_SELFTEST_SRC:-}" ] && [ -f "$AB_SELFTEST_SRC/Makefile" ]; then
	srctree=$AB_SELFTEST_SRC
	if [ -x "$bin" ]; then echo "$me: $bin is up to date"; exit 0; fi
else
	if [ ! -r "$tarball" ]; then
		echo "$me: $tarball not found (apt-get install linux-source-6.12)" >&2
		exit 77
	fi
	if [ -x "$bin" ] && [ "$bin" -nt "$tarball" ]; then
		echo "$me: $bin is up to date"
		exit 0
	fi
	src="$out/src"
	top=$(tar -tJf "$tarball" 2>/dev/null | head -1 | cut -d/ -f1)
	if [ ! -f "$src/$top/.agebench-extracted" ]; then
		rm -rf "$src"
		mkdir -p "$src"
		echo "$me: extracting the parts of $tarball the selftest needs"
		# headers_install needs the top Makefile, scripts, include and the arch
		tar -xJf "$tarball" -C "$src" "$top/Makefile" "$top/Kbuild" "$top/Kconfig" \
			"$top/scripts" "$top/include" "$top/arch/x86" "$top/tools" "$top/usr"
		touch "$src/$top/.agebench-extracted"
	fi
	srctree="$src/$top"
fi
cd "$srctree"
echo "$me: installing UAPI headers"
nice make -s ARCH=x86 O="$out/obj" INSTALL_HDR_PATH="$out/hdr" headers_install
echo "$me: building $test"
nice make -s -j"$jobs" -C tools/testing/selftests/kvm ARCH=x86 \
	OUTPUT="$out/kvm" KHDR_INCLUDES="-isystem $out/hdr/include" "$out/kvm/$test"
cp "$out/kvm/$test" "$bin.tmp.$$"
mv "$bin.tmp.$$" "$bin"
echo "$me: built $bin"

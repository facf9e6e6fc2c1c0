#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the kernel's KVM selftest max_guest_memory_test from Debian's
# linux-source-6.12 tarball, out of tree, into OUTDIR: the upstream workload
# of `agebench macro --workload mgmt` (the macro anchor of Yu Zhao's 2023
# series: max_guest_memory_test under reclaim). Same recipe as
# microbench/kvm/build-dpt.sh (extract what the selftest needs,
# headers_install, build the one test).
# usage: build-mgmt.sh OUTDIR     (env: LINUX_SOURCE_TARBALL, JOBS,
#        AB_SELFTEST_SRC = an already extracted tree to reuse, e.g. the
#        kvm backend's build/microbench/kvm/dpt/src/<top>)
# Exit: 0 built (or up to date), 1 build failed, 77 tarball missing.
set -eu
out=${1:?usage: build-mgmt.sh OUTDIR}
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
jobs=${JOBS:-2}
test=max_guest_memory_test
mkdir -p "$out"
out=$(cd "$out" && pwd)
bin="$out/$test"
if [ -n "${AB_SELFTEST_SRC:-}" ] && [ -f "$AB_SELFTEST_SRC/Makefile" ]; then
	srctree=$AB_SELFTEST_SRC
else
	if [ ! -r "$tarball" ]; then
		echo "build-mgmt: $tarball not found (apt-get install linux-source-6.12)" >&2
		exit 77
	fi
	if [ -x "$bin" ] && [ "$bin" -nt "$tarball" ]; then
		echo "build-mgmt: $bin is up to date"
		exit 0
	fi
	src="$out/src"
	top=$(tar -tJf "$tarball" 2>/dev/null | head -1 | cut -d/ -f1)
	if [ ! -f "$src/$top/.agebench-extracted" ]; then
		rm -rf "$src"
		mkdir -p "$src"
		echo "build-mgmt: extracting the parts of $tarball the selftest needs"
		tar -xJf "$tarball" -C "$src" "$top/Makefile" "$top/Kbuild" "$top/Kconfig" \
			"$top/scripts" "$top/include" "$top/arch/x86" "$top/tools" "$top/usr"
		touch "$src/$top/.agebench-extracted"
	fi
	srctree="$src/$top"
fi
if [ -x "$bin" ]; then
	echo "build-mgmt: $bin is up to date"
	exit 0
fi
cd "$srctree"
echo "build-mgmt: installing UAPI headers"
nice make -s ARCH=x86 O="$out/obj" INSTALL_HDR_PATH="$out/hdr" headers_install
echo "build-mgmt: building $test"
nice make -s -j"$jobs" -C tools/testing/selftests/kvm ARCH=x86 \
	OUTPUT="$out/kvm" KHDR_INCLUDES="-isystem $out/hdr/include" "$out/kvm/$test"
cp "$out/kvm/$test" "$bin.tmp.$$"
mv "$bin.tmp.$$" "$bin"
echo "build-mgmt: built $bin"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the kernel's KVM selftest demand_paging_test from Debian's
# linux-source-6.12 tarball, out of tree, into OUTDIR (the populate-speed
# bar of the kvm backend: agebench-kvm / `agebench run --backend kvm` record
# demand_paging_ratio when OUTDIR/demand_paging_test exists).
# usage: build-dpt.sh OUTDIR     (env: LINUX_SOURCE_TARBALL, JOBS)
# Exit: 0 built (or up to date), 1 build failed, 77 tarball missing.
set -eu
out=${1:?usage: build-dpt.sh OUTDIR}
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
jobs=${JOBS:-2}
if [ ! -r "$tarball" ]; then
	echo "build-dpt: $tarball not found (apt-get install linux-source-6.12)" >&2
	exit 77
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
bin="$out/demand_paging_test"
if [ -x "$bin" ] && [ "$bin" -nt "$tarball" ]; then
	echo "build-dpt: $bin is up to date"
	exit 0
fi
src="$out/src"
top=$(tar -tJf "$tarball" 2>/dev/null | head -1 | cut -d/ -f1)
if [ ! -f "$src/$top/.agebench-extracted" ]; then
	rm -rf "$src"
	mkdir -p "$src"
	echo "build-dpt: extracting the parts of $tarball the selftest needs"
	# headers_install needs the top Makefile, scripts, include and the arch
	tar -xJf "$tarball" -C "$src" "$top/Makefile" "$top/Kbuild" "$top/Kconfig" \
		"$top/scripts" "$top/include" "$top/arch/x86" "$top/tools" "$top/usr"
	touch "$src/$top/.agebench-extracted"
fi
cd "$src/$top"
echo "build-dpt: installing UAPI headers"
nice make -s ARCH=x86 O="$out/obj" INSTALL_HDR_PATH="$out/hdr" headers_install
echo "build-dpt: building demand_paging_test"
nice make -s -j"$jobs" -C tools/testing/selftests/kvm ARCH=x86 \
	OUTPUT="$out/kvm" KHDR_INCLUDES="-isystem $out/hdr/include" \
	"$out/kvm/demand_paging_test"
cp "$out/kvm/demand_paging_test" "$bin.tmp.$$"
mv "$bin.tmp.$$" "$bin"
echo "build-dpt: built $bin"

#!/usr/bin/env bash
# arm64-deps.sh - what the arm64 cross build (toolchain-arm64-*.cmake) and
# the arm64 kernel lab need beyond the multiarch packages install-deps.sh
# installs: libperf built from tools/lib/perf of linux-source-6.12 with the
# cross compiler, and libgsl-dev:arm64, which Debian does not mark
# Multi-Arch: same (it cannot be installed beside libgsl-dev:amd64), so it
# is unpacked with its two libraries under the prefix and its gsl.pc
# pointed there. Idempotent; as root (or with a writable prefix).
# Usage: cmake/arm64-deps.sh [PREFIX]   (default /opt/agebench/arm64)
set -euo pipefail

prefix=${1:-${AGEBENCH_ARM64_PREFIX:-/opt/agebench/arm64}}
die() { echo "arm64-deps: $*" >&2; exit 1; }
command -v aarch64-linux-gnu-gcc >/dev/null || die "aarch64-linux-gnu-gcc missing (apt-get install gcc-aarch64-linux-gnu)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gsl=$prefix/gsl/usr/lib/aarch64-linux-gnu
if [[ ! -f $gsl/pkgconfig/gsl.pc || ! -e $gsl/libgsl.so ]]; then
	echo "arm64-deps: unpacking libgsl-dev:arm64 into $prefix/gsl" >&2
	(cd "$tmp" && apt-get download -q libgsl-dev:arm64 libgsl27:arm64 libgslcblas0:arm64 >/dev/null 2>&1) ||
		die "apt-get download libgsl-dev:arm64 failed (dpkg --add-architecture arm64; apt-get update)"
	mkdir -p "$prefix/gsl.new"
	for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$prefix/gsl.new"; done
	pc=$prefix/gsl.new/usr/lib/aarch64-linux-gnu/pkgconfig/gsl.pc
	[[ -f $pc ]] || die "libgsl-dev:arm64 has no gsl.pc"
	# the package's gsl.pc names /usr; the unpacked tree is under $prefix/gsl
	sed -i -e "s|^prefix=.*|prefix=$prefix/gsl/usr|" -e 's|^exec_prefix=.*|exec_prefix=${prefix}|' \
		-e 's|^libdir=.*|libdir=${prefix}/lib/aarch64-linux-gnu|' \
		-e 's|^includedir=.*|includedir=${prefix}/include|' \
		-e 's|^Libs:.*|Libs: -L${libdir} -lgsl ${GSL_CBLAS_LIB} -lm|' \
		-e 's|^Cflags:.*|Cflags: -I${includedir}|' "$pc"
	rm -rf "$prefix/gsl"
	mv "$prefix/gsl.new" "$prefix/gsl"
fi

lp=$prefix/libperf
if [[ ! -f $lp/include/perf/evlist.h || ! -f $lp/lib/libperf.so ]]; then
	tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -1)
	[[ -n $tarball ]] || die "/usr/src/linux-source-6.12.tar.* not found"
	top=$(basename "$tarball"); top=${top%.tar.*}
	echo "arm64-deps: building libperf for arm64 from $tarball" >&2
	tar xf "$tarball" -C "$tmp" "$top/tools" "$top/include/uapi" "$top/arch/arm64/include/uapi" \
		"$top/scripts" "$top/Makefile"
	make -s -C "$tmp/$top/tools/lib/perf" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
		prefix="$lp" libdir_relative=lib install_lib install_headers install_pkgconfig >/dev/null
	echo "arm64-deps: libperf (arm64) installed in $lp" >&2
fi

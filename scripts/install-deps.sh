#!/usr/bin/env bash
# Install what agebench needs on Debian 12: the packages, and libperf built
# from tools/lib/perf of Debian's linux-source-6.12 (libperf is not
# packaged). Idempotent: does nothing when everything is already there.
# Usage: scripts/install-deps.sh [--kernel]   (--kernel: also QEMU and the
# kernel build dependencies for kernel/)
set -euo pipefail

LIBPERF_PREFIX=${AGEBENCH_LIBPERF_PREFIX:-/opt/agebench/libperf}
PKGS=(build-essential cmake pkg-config libbenchmark-dev libhwloc-dev liburcu-dev
      libjansson-dev libgsl-dev gnuplot-nox valgrind clang libclang-rt-14-dev
      linux-source-6.12 xz-utils python3 shellcheck)
KPKGS=(qemu-system-x86 busybox-static bc flex bison libelf-dev libssl-dev cpio
       kmod rsync gcc-aarch64-linux-gnu gcc-s390x-linux-gnu)
# arm64: the userspace cross build + its qemu-user ctest, the arm64 lab
# (multiarch; libgsl-dev:arm64, busybox-static:arm64 and libperf are not
# co-installable: cmake/arm64-deps.sh and the lab unpack or build them)
A64PKGS=(g++-aarch64-linux-gnu qemu-user qemu-system-arm libc6-dev:arm64 libbenchmark-dev:arm64
         libhwloc-dev:arm64 liburcu-dev:arm64 libjansson-dev:arm64 libgsl27:arm64 libgslcblas0:arm64)

want=("${PKGS[@]}")
[[ ${1:-} == --kernel ]] && want+=("${KPKGS[@]}" "${A64PKGS[@]}")
if [[ ${1:-} == --kernel && $(id -u) -eq 0 ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
fi

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "install-deps: missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -f $LIBPERF_PREFIX/include/perf/evlist.h || ! -f $LIBPERF_PREFIX/lib/libperf.so ]]; then
	tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -1)
	[[ -n $tarball ]] || { echo "install-deps: /usr/src/linux-source-6.12.tar.* not found" >&2; exit 1; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	top=$(basename "$tarball"); top=${top%.tar.*}
	echo "install-deps: building libperf from $tarball" >&2
	tar xf "$tarball" -C "$tmp" "$top/tools" "$top/include/uapi" "$top/arch/x86/include/uapi" \
		"$top/scripts" "$top/Makefile" 2>/dev/null || tar xf "$tarball" -C "$tmp" "$top/tools"
	make -s -C "$tmp/$top/tools/lib/perf" prefix="$LIBPERF_PREFIX" libdir_relative=lib \
		install_lib install_headers install_pkgconfig >/dev/null
	echo "install-deps: libperf installed in $LIBPERF_PREFIX" >&2
fi
if [[ ${1:-} == --kernel && $(uname -m) == x86_64 ]]; then
	"$(dirname "$0")/../cmake/arm64-deps.sh"
fi

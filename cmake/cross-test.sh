#!/usr/bin/env bash
# cross-test.sh gcc|clang SRC BUILD - cross-build agebench's whole userspace
# for arm64 into BUILD (cmake/toolchain-arm64-<compiler>.cmake) and run its
# unit and model tests under qemu-aarch64 user emulation (ctest in BUILD:
# test programs through CMAKE_CROSSCOMPILING_EMULATOR, test scripts through
# ab_test_exe's wrappers). Exit 0 pass, 1 fail, 2 usage, 77 skip (the cross
# toolchain, an arm64 package or qemu-user is missing; SKIP names it).
#
# Left out of the emulated run, with reasons: lint.shellcheck (reads the
# source, runs no program: the native tree runs it), model.stress_address
# and model.stress_thread (nested ASan/TSan builds; their shadow memory
# does not work under qemu-user), cli.wrapper (it runs the ./agebench shell
# wrapper, which executes the build's binaries directly, not through
# qemu-aarch64; the native tree runs it).
set -euo pipefail

usage() { echo "usage: cross-test.sh gcc|clang SRC BUILD" >&2; exit 2; }
[[ $# -eq 3 ]] || usage
cc=$1 src=$2 build=$3
[[ $cc == gcc || $cc == clang ]] || usage
[[ -f $src/cmake/toolchain-arm64-$cc.cmake ]] || { echo "cross-test: $src is not the agebench source" >&2; exit 2; }
skip() { echo "SKIP: $*"; exit 77; }

case $(uname -m) in
x86_64) ;;
aarch64) skip "the host is arm64: the native build is the arm64 build" ;;
*) skip "cross build tested from x86-64 hosts only (host is $(uname -m))" ;;
esac
prefix=${AGEBENCH_ARM64_PREFIX:-/opt/agebench/arm64}
ma=/usr/lib/aarch64-linux-gnu
need_prog() { command -v "$1" >/dev/null || skip "$1 not found ($2; scripts/install-deps.sh --kernel)"; }
need_file() { [[ -e $1 ]] || skip "$1 not found ($2; scripts/install-deps.sh --kernel)"; }
need_prog aarch64-linux-gnu-gcc "apt-get install gcc-aarch64-linux-gnu"
need_prog aarch64-linux-gnu-g++ "apt-get install g++-aarch64-linux-gnu"
[[ $cc == clang ]] && need_prog clang "apt-get install clang"
need_prog qemu-aarch64 "apt-get install qemu-user"
need_file /lib/ld-linux-aarch64.so.1 "libc6:arm64"
for pc in hwloc liburcu jansson; do
	need_file "$ma/pkgconfig/$pc.pc" "the $pc arm64 -dev package"
done
need_file "$ma/cmake/benchmark/benchmarkConfig.cmake" "libbenchmark-dev:arm64"
need_file "$prefix/gsl/usr/lib/aarch64-linux-gnu/pkgconfig/gsl.pc" "libgsl-dev:arm64, unpacked by cmake/arm64-deps.sh"
need_file "$prefix/libperf/lib/pkgconfig/libperf.pc" "libperf for arm64, built by cmake/arm64-deps.sh"

mkdir -p "$build"
t0=$(date +%s)
if ! nice cmake -S "$src" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchain-arm64-$cc.cmake" \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGEBENCH_KERNEL_TESTS=OFF >"$build.cmake.log" 2>&1; then
	tail -40 "$build.cmake.log"
	echo "FAIL: configuring the arm64 $cc build (log: $build.cmake.log)"
	exit 1
fi
if ! nice cmake --build "$build" -j2 >"$build.build.log" 2>&1; then
	grep -E 'error|Error' "$build.build.log" | head -40
	echo "FAIL: building the arm64 userspace with $cc (log: $build.build.log)"
	exit 1
fi
t1=$(date +%s)
# it is an arm64 build, every program of it
bad=0 n=0
while IFS= read -r -d '' f; do
	if readelf -h "$f" 2>/dev/null | grep -q 'Machine:'; then
		n=$((n + 1))
		readelf -h "$f" | grep -q 'Machine:.*AArch64' || { echo "FAIL: $f is not an arm64 ELF"; bad=1; }
	fi
done < <(find "$build" -path "$build/CMakeFiles" -prune -o -type f -perm -u+x -print0)
((bad == 0)) || exit 1
((n > 10)) || { echo "FAIL: only $n programs in $build"; exit 1; }
echo "cross-test: $cc: $n arm64 programs built in $((t1 - t0)) s"
rc=0
ctest --test-dir "$build" -L 'unit|model' -E '^(lint\.shellcheck|model\.stress_(address|thread)|cli\.wrapper)$' \
	--output-on-failure -j1 --timeout 600 || rc=$?
echo "cross-test: $cc: ctest under qemu-aarch64 took $(($(date +%s) - t1)) s (exit $rc)"
exit $rc

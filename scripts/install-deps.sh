#!/usr/bin/env bash
# Install what agebench needs on Debian 12: the packages, and libperf built
# from tools/lib/perf of Debian's linux-source-6.12 (libperf is not
# packaged). Idempotent: does nothing when everything is already there.
# Usage: scripts/install-deps.sh [--kernel]   (--kernel: also QEMU and the
# kernel build dependencies for kernel/)
#
# QEMU (--kernel): the lab wants QEMU 10 (multi-threaded TCG with nested SVM
# holds there, not in 7.2: docs/kernel-lab.md "Stress"). Debian 12 carries it
# in bookworm-backports; this script adds that suite (a deb822 file in
# /etc/apt/sources.list.d) and pins it so that only QEMU and its firmware
# (qemu-*, seabios) come from it: every other package stays bookworm's
# (backports' default priority 100 is never raised for them).
# AGEBENCH_QEMU_BACKPORTS=0 leaves apt's sources alone (QEMU 7.2 from
# bookworm; the lab then boots single-threaded TCG). Where the suite cannot
# be reached, bookworm's 7.2 is installed and the script says so.
set -euo pipefail

usage() {
	echo "usage: scripts/install-deps.sh [--kernel]" >&2
	exit 2
}
kernel=0
case $# in
0) ;;
1) [[ $1 == --kernel ]] || usage; kernel=1 ;;
*) usage ;;
esac

LIBPERF_PREFIX=${AGEBENCH_LIBPERF_PREFIX:-/opt/agebench/libperf}
PKGS=(build-essential cmake pkg-config libbenchmark-dev libhwloc-dev liburcu-dev
      libjansson-dev libgsl-dev gnuplot-nox valgrind clang libclang-rt-14-dev
      linux-source-6.12 xz-utils python3 shellcheck)
KPKGS=(qemu-system-x86 busybox-static bc flex bison libelf-dev libssl-dev cpio
       kmod rsync gcc-aarch64-linux-gnu gcc-s390x-linux-gnu ccache)
# arm64: the userspace cross build + its qemu-user ctest, the arm64 lab
# (multiarch; libgsl-dev:arm64, busybox-static:arm64 and libperf are not
# co-installable: cmake/arm64-deps.sh and the lab unpack or build them)
A64PKGS=(g++-aarch64-linux-gnu qemu-user qemu-system-arm libc6-dev:arm64 libbenchmark-dev:arm64
         libhwloc-dev:arm64 liburcu-dev:arm64 libjansson-dev:arm64 libgsl27:arm64 libgslcblas0:arm64)
BP_SOURCES=/etc/apt/sources.list.d/agebench-bookworm-backports.sources
BP_PIN=/etc/apt/preferences.d/agebench-qemu-backports

want=("${PKGS[@]}")
((kernel)) && want+=("${KPKGS[@]}" "${A64PKGS[@]}")

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# installed and candidate version of a package (from apt's local lists: no network)
pkg_versions() { apt-cache policy "$1" 2>/dev/null | awk '/Installed:/{i=$2} /Candidate:/{c=$2} END{print i, c}'; }

need_update=0
if ((kernel)) && [[ $(id -u) -eq 0 ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
	need_update=1
fi
backports=0
if ((kernel)) && [[ ${AGEBENCH_QEMU_BACKPORTS:-1} != 0 ]] &&
	grep -qs '^VERSION_CODENAME=bookworm' /etc/os-release; then
	backports=1
	if [[ ! -f $BP_SOURCES || ! -f $BP_PIN ]]; then
		if [[ $(id -u) -ne 0 ]]; then
			echo "install-deps: QEMU 10 needs the bookworm-backports suite (run as root to add it, or AGEBENCH_QEMU_BACKPORTS=0 for bookworm's QEMU 7.2)" >&2
			exit 1
		fi
		# the suite, the Debian way (deb822, the archive keyring bookworm ships)
		tmp=$(mktemp "$BP_SOURCES.XXXXXX")
		cat >"$tmp" <<-'SRC'
		# added by agebench scripts/install-deps.sh --kernel: QEMU 10 for the kernel lab
		Types: deb
		URIs: http://deb.debian.org/debian
		Suites: bookworm-backports
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		SRC
		chmod 644 "$tmp" && mv "$tmp" "$BP_SOURCES"
		tmp=$(mktemp "$BP_PIN.XXXXXX")
		cat >"$tmp" <<-'PIN'
		# added by agebench scripts/install-deps.sh --kernel: from bookworm-backports
		# take QEMU and the firmware it needs, nothing else
		Package: qemu-* seabios
		Pin: release n=bookworm-backports
		Pin-Priority: 990

		Package: *
		Pin: release n=bookworm-backports
		Pin-Priority: 100
		PIN
		chmod 644 "$tmp" && mv "$tmp" "$BP_PIN"
		need_update=1
	fi
fi

missing=()
for p in "${want[@]}"; do
	installed "$p" || missing+=("$p")
done
if ((${#missing[@]} || need_update)); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "install-deps: missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# a suite that cannot be reached is a warning of apt's, not an error here
	apt-get update -qq || echo "install-deps: apt-get update reported errors (continuing with the lists it has)" >&2
fi
if ((backports)); then
	read -r qi qc < <(pkg_versions qemu-system-x86)
	if [[ $qc == *bpo* && $qi != "$qc" ]]; then
		# upgrade (or install) QEMU from backports; never downgrade an installed QEMU
		if [[ $qi == "(none)" ]] || dpkg --compare-versions "$qc" gt "$qi"; then
			[[ " ${missing[*]} " == *" qemu-system-x86 "* ]] || missing+=(qemu-system-x86)
		fi
	elif [[ $qc != *bpo* && $qi != *bpo* ]]; then
		echo "install-deps: QEMU 10 from bookworm-backports is not available here; using QEMU ${qc#1:} from bookworm (the lab boots single-threaded TCG)" >&2
	fi
fi
if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "install-deps: missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
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
if ((kernel)) && [[ $(uname -m) == x86_64 ]]; then
	"$(dirname "$0")/../cmake/arm64-deps.sh"
fi

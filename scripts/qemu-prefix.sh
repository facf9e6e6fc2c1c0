#!/usr/bin/env bash
# Unpack Debian bookworm's own QEMU (7.2, the release Debian 12 ships) into a
# private prefix, without installing it: for testing the kernel lab's QEMU 7.2
# fallback on a machine whose system QEMU is bookworm-backports' 10.x.
#   scripts/qemu-prefix.sh [PREFIX]      (default /opt/agebench/qemu-bookworm)
#   AGEBENCH_QEMU=PREFIX/usr/bin/qemu-system-x86_64 ./agebench kernel test ...
# (the lab passes -L PREFIX/usr/share/qemu to such a binary). Uses apt-get
# download (the packages of the bookworm suite, whatever is pinned) and
# dpkg -x; the shared libraries are the system's (the same for 7.2 and 10).
set -euo pipefail
[[ $# -le 1 && ${1:-} != -* ]] || { echo "usage: scripts/qemu-prefix.sh [PREFIX]" >&2; exit 2; }
prefix=${1:-/opt/agebench/qemu-bookworm}
# bookworm's candidate, not the pinned backports one
ver() { apt-cache madison "$1" | awk -F' *[|] *' -v p="$1" '$1 ~ p && $3 ~ / bookworm\/main / { print $2; exit }'; }
pkgs=()
for p in qemu-system-x86 qemu-system-data qemu-system-common seabios; do
	v=$(ver "$p")
	[[ -n $v ]] || { echo "qemu-prefix: no bookworm version of $p in apt's lists (apt-get update?)" >&2; exit 1; }
	pkgs+=("$p=$v")
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp" # apt-get download drops to the _apt user
(cd "$tmp" && apt-get download -q "${pkgs[@]}" >/dev/null) ||
	{ echo "qemu-prefix: apt-get download ${pkgs[*]} failed" >&2; exit 1; }
mkdir -p "$tmp/root"
for d in "$tmp"/*.deb; do dpkg -x "$d" "$tmp/root"; done
# the data package's firmware names are symlinks to /usr/share/seabios etc.:
# point the absolute ones into the prefix
find "$tmp/root/usr/share/qemu" -type l | while read -r l; do
	t=$(readlink "$l")
	if [[ $t == /* && -e $tmp/root$t ]]; then ln -sfn "$prefix$t" "$l"; fi
done
rm -rf "$prefix.new"
mkdir -p "$(dirname "$prefix")"
mv "$tmp/root" "$prefix.new"
rm -rf "$prefix"
mv "$prefix.new" "$prefix"
"$prefix/usr/bin/qemu-system-x86_64" --version | head -n 1
echo "qemu-prefix: AGEBENCH_QEMU=$prefix/usr/bin/qemu-system-x86_64"

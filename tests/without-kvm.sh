#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs a command on this machine as if it had no /dev/kvm: in a private mount
# namespace whose /dev is an overlay of the real one with a whiteout for kvm
# (open() then fails with ENOENT, exactly as on a kernel without the device;
# every other device node, /dev/pts and /dev/shm are the real ones). Nothing
# outside the command sees a change. CI runs the non-kernel suite this way
# (.ci/run) so that a test that assumes /dev/kvm fails here, on a machine
# that has it.
#   tests/without-kvm.sh COMMAND [ARGS...]
# Exit: the command's; 2 usage; 77 when a mount namespace cannot be made
# (not root, no unshare, no overlayfs), with the reason.
set -euo pipefail
if [[ $# -eq 0 || $1 == -h || $1 == --help ]]; then
	echo "usage: tests/without-kvm.sh COMMAND [ARGS...]" >&2
	exit 2
fi
if [[ ${AB_WITHOUT_KVM_INNER:-} != 1 ]]; then
	[[ $(id -u) -eq 0 ]] || { echo "SKIP: hiding /dev/kvm needs root (a mount namespace)"; exit 77; }
	command -v unshare >/dev/null || { echo "SKIP: unshare not found (util-linux)"; exit 77; }
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
	grep -qw overlay /proc/filesystems || { echo "SKIP: no overlayfs in this kernel"; exit 77; }
	AB_WITHOUT_KVM_INNER=1 exec unshare --mount --propagation private -- "$0" "$@"
fi
unset AB_WITHOUT_KVM_INNER
# inside the namespace: mounts made here vanish with it
# (one fixed, empty directory outside; a tmpfs over it in here)
d=/run/agebench-nokvm
mkdir -p "$d"
mount -t tmpfs -o mode=700 tmpfs "$d"
mkdir -p "$d/old" "$d/ov/upper" "$d/ov/work"
mknod "$d/ov/upper/kvm" c 0 0 # an overlayfs whiteout: the name does not exist
mount --rbind /dev "$d/old"
mount -t overlay overlay -o "lowerdir=$d/old,upperdir=$d/ov/upper,workdir=$d/ov/work" /dev ||
	{ echo "SKIP: cannot mount an overlay on /dev"; exit 77; }
# the real /dev's submounts (pts, shm, mqueue, hugepages) back in place
findmnt -rn -o TARGET -R "$d/old" | sed 1d | while read -r m; do
	t=/dev${m#"$d/old"}
	[[ -e $t ]] && mount --bind "$m" "$t"
done
if [[ -e /dev/kvm ]]; then echo "without-kvm: /dev/kvm still visible" >&2; exit 1; fi
exec "$@"

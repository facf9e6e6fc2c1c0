# shellcheck shell=bash disable=SC2034,SC2154 # globals shared with agebench-kernel (checked together: shellcheck -x)
# agebench-kernel: the QEMU binary, its version, the accelerator, and the
# pinning of the guest's vCPU threads.

# Multi-threaded TCG with nested SVM: the first QEMU major version on which
# --accel auto boots it; below, single-threaded TCG. QEMU 7.2 corrupted L1
# with or without the series. QEMU 10.0.2 passed the stress matrix (0 of 24
# runs) but lost a normal answer boot on 2026-12-07 (an L2 triple fault in
# macro, agebench_modes hung 900 s; the same kernel passed the next boot):
# not yet, so no version qualifies (docs/kernel-lab.md "Stress"). Set it to
# 10 when a QEMU holds; --accel tcg boots multi-threaded TCG by hand.
MTTCG_MIN_QEMU_MAJOR=999

# QEMU, QEMU_VERSION (e.g. 10.0.2), QEMU_MAJOR, QEMU_VERSION_LINE (the
# whole --version line, Debian's package version included) and QEMU_DATA
# (-L <dir> when the binary lives in a private prefix, e.g. bookworm's 7.2
# unpacked with dpkg -x: its firmware is in <prefix>/usr/share/qemu).
qemu_probe() {
    QEMU=${AGEBENCH_QEMU:-$LAB_QEMU}
    local path
    path=$(command -v "$QEMU" 2>/dev/null) || skip "$QEMU not found (AGEBENCH_QEMU, or apt-get install $LAB_QEMU_PKG)"
    QEMU_VERSION_LINE=$("$path" --version 2>/dev/null | head -n 1) ||
        die "$path --version failed"
    QEMU_VERSION=$(sed -n 's/^QEMU emulator version \([0-9][0-9.]*\).*/\1/p' <<<"$QEMU_VERSION_LINE")
    [ -n "$QEMU_VERSION" ] || die "cannot read the version of $path (it said: $QEMU_VERSION_LINE)"
    QEMU_MAJOR=${QEMU_VERSION%%.*}
    QEMU_DATA=()
    local data
    data=$(readlink -f "$(dirname "$(readlink -f "$path")")/../share/qemu" 2>/dev/null || true)
    if [ -n "$data" ] && [ -d "$data" ] && [ "$data" != /usr/share/qemu ]; then QEMU_DATA=(-L "$data"); fi
    return 0
}

# QEMU_ACCEL (the -accel and -cpu arguments), ACCEL_KIND (kvm, tcg-multi,
# tcg-single) and ACCEL_DESC (what the logs and results.json say).
pick_accel() {
    local why=""
    case "$ACCEL" in
        tcg-single) why="--accel tcg-single" ;;
        tcg) ACCEL_KIND=tcg-multi; why="--accel tcg" ;;
        kvm)
            local n
            n=$(lab_host_nested_kvm) ||
                die "--accel kvm: /dev/kvm missing or nested virtualisation disabled on the host"
            ACCEL_KIND=kvm; why="nested=$n" ;;
        auto)
            local n
            if n=$(lab_host_nested_kvm); then ACCEL_KIND=kvm; why="host KVM with nested=$n"
            elif [ "$QEMU_MAJOR" -ge "$MTTCG_MIN_QEMU_MAJOR" ]; then
                ACCEL_KIND=tcg-multi; why="no nested KVM on the host; QEMU $QEMU_VERSION >= $MTTCG_MIN_QEMU_MAJOR"
            else
                ACCEL_KIND=tcg-single
                why="no nested KVM on the host; nested KVM under QEMU $QEMU_VERSION's multi-threaded TCG is not trusted (docs/kernel-lab.md \"Stress\")"
            fi ;;
    esac
    [ "$ACCEL" = tcg-single ] && ACCEL_KIND=tcg-single
    # shellcheck disable=SC2054 # "tcg,thread=..." is one -accel argument
    case "$ACCEL_KIND" in
        kvm) QEMU_ACCEL=(-accel kvm "${LAB_KVM_CPU[@]}") ;;
        tcg-multi) QEMU_ACCEL=(-accel tcg,thread=multi "${LAB_TCG_CPU[@]}") ;;
        tcg-single) QEMU_ACCEL=(-accel tcg,thread=single "${LAB_TCG_CPU[@]}") ;;
    esac
    ACCEL_DESC="$ACCEL_KIND (${QEMU_ACCEL[*]}; $why)"
    if [ "$ACCEL_KIND" = tcg-multi ] && [ "$QEMU_MAJOR" -lt "$MTTCG_MIN_QEMU_MAJOR" ]; then
        log "note: multi-threaded TCG on QEMU $QEMU_VERSION: nested-KVM guests were corrupted now and then (7.2 often, 10.0 once in a normal boot; docs/kernel-lab.md \"Stress\")"
    fi
    return 0
}

# The host PUs the guest's vCPU threads are pinned to (multi-threaded TCG or
# KVM: one host thread per vCPU): vCPU i on the i-th PU this process may
# run on. Prints "0,1", or nothing when there are fewer PUs than vCPUs
# (pinning would put two vCPUs on one PU: left to the scheduler).
pin_pus() {   # pin_pus <nvcpus>
    python3 -c 'import os, sys
pus = sorted(os.sched_getaffinity(0)); n = int(sys.argv[1])
print(",".join(map(str, pus[:n])) if len(pus) >= n else "")' "$1"
}

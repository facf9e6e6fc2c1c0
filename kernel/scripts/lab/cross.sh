# shellcheck shell=bash disable=SC2034,SC2154 # globals shared with agebench-kernel (checked together: shellcheck -x)
# agebench-kernel: cross builds of the series' KVM/mm objects.
# Sourced by kernel/scripts/agebench-kernel (which sets PROG, REPO, KERNEL_DIR, the
# options and the helpers in lab/common.sh); defines functions only.

# ----------------------------------------------------------------- cross --
# The series on other architectures: defconfig (+ KVM built in), then only
# the objects the series touches or that include what it changes:
# virt/kvm/ and arch/<arch>/kvm/ (one directory: the arch Makefile builds
# virt/kvm's objects), mm/mmu_notifier.o, mm/vmscan.o. Debian's cross
# compilers (gcc-aarch64-linux-gnu, gcc-s390x-linux-gnu).
cmd_cross() {
    local arch cc obj lf t0 rc=0
    with_lock "$KB/.source.lock" prepare_source
    for arch in $CROSS_ARCHS; do
        case "$arch" in
            arm64) cc=aarch64-linux-gnu- ;;
            s390) cc=s390x-linux-gnu- ;;
            *) usage_die "--arch: arm64 or s390, not '$arch'" ;;
        esac
        command -v "${cc}gcc" >/dev/null ||
            skip "${cc}gcc not found (scripts/install-deps.sh --kernel installs gcc-${cc%-})"
        obj=$KB/obj-cross-$arch; lf=$LOGS/build-cross-$arch.log; t0=$(now)
        : > "$lf"; mkdir -p "$obj"
        log "cross build $arch: defconfig + KVM, virt/kvm/ arch/$arch/kvm/ mm/mmu_notifier.o mm/vmscan.o (log: $lf)"
        if [ ! -f "$obj/.config" ]; then
            run_logged "$lf" make -C "$SRC" O="$obj" ARCH="$arch" CROSS_COMPILE="$cc" defconfig ||
                { rc=1; continue; }
            "$SRC/scripts/config" --file "$obj/.config" --enable VIRTUALIZATION --enable KVM \
                --enable LRU_GEN >>"$lf" 2>&1
        fi
        run_logged "$lf" make -C "$SRC" O="$obj" ARCH="$arch" CROSS_COMPILE="$cc" olddefconfig &&
        grep -q '^CONFIG_KVM=y' "$obj/.config" &&
        run_logged "$lf" nice make -C "$SRC" O="$obj" ARCH="$arch" CROSS_COMPILE="$cc" \
            -j"$JOBS" KCFLAGS=-Werror "arch/$arch/kvm/" mm/mmu_notifier.o mm/vmscan.o ||
            { log "cross build $arch FAILED ($(( $(now) - t0 ))s; log: $lf)"; rc=1; continue; }
        log "cross build $arch ok ($(( $(now) - t0 ))s)"
    done
    return $rc
}


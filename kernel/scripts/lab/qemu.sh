# shellcheck shell=bash disable=SC2034,SC2154 # globals shared with agebench-kernel (checked together: shellcheck -x)
# agebench-kernel: the accelerator and the QEMU binary.
# Sourced by kernel/scripts/agebench-kernel (which sets PROG, REPO, KERNEL_DIR, the
# options and the helpers in lab/common.sh); defines functions only.

pick_accel() {
    # shellcheck disable=SC2054 # "tcg,thread=single" is one -accel argument
    QEMU_ACCEL=(-accel tcg,thread=single -cpu max)
    ACCEL_DESC="tcg single-threaded (-accel tcg,thread=single -cpu max)"
    [ "$ACCEL" = tcg-single ] && return 0
    if [ "$ACCEL" = tcg ]; then
        QEMU_ACCEL=(-accel tcg -cpu max); ACCEL_DESC="tcg multi-threaded (-cpu max)"
        return 0
    fi
    local nested=""
    if [ -c /dev/kvm ] && [ -r /dev/kvm ]; then
        for f in /sys/module/kvm_amd/parameters/nested /sys/module/kvm_intel/parameters/nested; do
            [ -r "$f" ] && nested=$(cat "$f")
        done
    fi
    case "$nested" in
        1|Y|y)
            QEMU_ACCEL=(-accel kvm -cpu host); ACCEL_DESC="kvm (-cpu host, nested=$nested)" ;;
        *)
            [ "$ACCEL" = kvm ] && die "--accel kvm: /dev/kvm missing or nested virtualisation disabled on the host"
            ACCEL_DESC="tcg single-threaded (-accel tcg,thread=single -cpu max; host KVM has no nested virtualisation)" ;;
    esac
}


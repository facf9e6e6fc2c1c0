# shellcheck shell=bash disable=SC2034,SC2154 # globals shared with agebench-kernel (checked together: shellcheck -x)
# agebench-kernel: what the lab needs to know about its guest architecture
# (--arch x86_64, the default). Another architecture is one more file like
# this, lab/arch-<arch>.sh, defining the same variables and functions; the
# rest of the lab reads only these.

LAB_MAKE_ARCH=x86_64                 # make ARCH=
LAB_CROSS_COMPILE=""                 # make CROSS_COMPILE= (empty: the host's gcc)
LAB_IMAGE=arch/x86/boot/bzImage      # the image QEMU boots, relative to the O= dir
LAB_IMAGE_TARGET=bzImage             # its make target
LAB_OBJ_SUFFIX=""                    # obj<suffix>/, obj-debug<suffix>/ (other archs: -<arch>)
LAB_QEMU=qemu-system-x86_64          # the system emulator (AGEBENCH_QEMU overrides)
LAB_QEMU_PKG=qemu-system-x86         # its Debian package
LAB_SELFTEST_ARCH=x86_64             # ARCH= of tools/testing/selftests/kvm
LAB_CONSOLE=ttyS0                    # the guest's console (the second serial port exports files)
# -cpu max under TCG exposes svm + npt: the guest's KVM runs with tdp_mmu=Y
LAB_TCG_CPU=(-cpu max)
LAB_KVM_CPU=(-cpu host)
LAB_MACHINE=(-nic none)              # QEMU's default machine (pc), no network: the
                                     # lab needs none (and a 7.2 unpacked into a prefix
                                     # has no NIC option ROM)

# The host can run the guest under KVM with nested virtualisation: prints
# the nested parameter's value and succeeds, or fails.
lab_host_nested_kvm() {
    local f v=""
    [ -c /dev/kvm ] && [ -r /dev/kvm ] || return 1
    for f in /sys/module/kvm_amd/parameters/nested /sys/module/kvm_intel/parameters/nested; do
        [ -r "$f" ] && v=$(cat "$f")
    done
    case "$v" in 1|Y|y) echo "$v" ;; *) return 1 ;; esac
}

# Extra kernel command line under TCG: TCG's TSC is the host's, but the
# guest's calibration against the PIT fails now and then (then tsc_khz=0
# and nested KVM_RUN spins forever) and the clocksource watchdog may drop
# the TSC later (ns timings become jiffies): see docs/kernel-interface.md.
lab_tcg_cmdline() {
    local khz
    khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo 2>/dev/null)
    [[ "$khz" =~ ^[1-9][0-9]{5,}$ ]] || khz=2000000
    echo "tsc_early_khz=$khz tsc=reliable"
}

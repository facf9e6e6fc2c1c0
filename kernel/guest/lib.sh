# shellcheck shell=sh
# Helpers for the in-guest test scripts (busybox sh). Source with `. /ab/guest/lib.sh`.
P=/sys/module/kvm/parameters/mmu_age_mode
MODES=$(sed -e 's/#.*//' /ab/modes | tr -s ' \n' ' ')
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
info() { echo "  $*"; }

# The parameter is absent on a kernel built without the series: SKIP there,
# FAIL if patches were applied (they must provide it).
need_param() {
    [ -e "$P" ] && return 0
    if [ "${AB_PATCHES:-0}" -gt 0 ]; then
        fail "$P missing although ${AB_PATCHES} patches are applied"
    fi
    skip "kernel built without the agebench series: $P absent"
}

# The userspace (agevm-check, agebench) lists the modes it knows in its own
# code; until it knows fast_or_locked it rejects "--mode fast_or_locked" with
# "unknown mode 'fast_or_locked'". run_userspace <cmd...> runs the command;
# exactly that failure, in mode fast_or_locked, is a SKIP naming the reason;
# anything else passes through (output and exit status).
run_userspace() {
    out=$("$@" 2>&1); rc=$?
    echo "$out"
    if [ $rc != 0 ] && [ "$AB_MODE" = fast_or_locked ] &&
        echo "$out" | grep -q "unknown mode 'fast_or_locked'"; then
        skip "userspace does not know mode fast_or_locked yet: unknown mode 'fast_or_locked' from $(basename "$1")"
    fi
    return $rc
}

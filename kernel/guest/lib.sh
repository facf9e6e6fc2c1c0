# shellcheck shell=sh
# Helpers for the in-guest test scripts (busybox sh). Source with `. /ab/guest/lib.sh`.
# Every test runs with `set -eu`: an unexpected failing command or an unset
# variable ends it as a FAIL; commands whose failure a test handles say so
# (`cmd || rc=$?`, `grep -c ... || true`).
set -eu
P=/sys/module/kvm/parameters/mmu_age_mode
# shellcheck disable=SC2034 # used by the scripts that source this file
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

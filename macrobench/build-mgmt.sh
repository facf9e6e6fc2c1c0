#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# max_guest_memory_test into OUTDIR: the upstream workload of `agebench macro
# --workload mgmt` (the macro anchor of Yu Zhao's 2023 series:
# max_guest_memory_test under reclaim). The recipe:
# scripts/build-kvm-selftest.sh.
# usage: build-mgmt.sh OUTDIR     (env: LINUX_SOURCE_TARBALL, JOBS,
#        AB_SELFTEST_SRC = an already extracted tree to reuse, e.g. the
#        kvm backend's build/microbench/kvm/dpt/src/<top>)
set -eu
exec "$(dirname "$(readlink -f "$0")")/../scripts/build-kvm-selftest.sh" max_guest_memory_test "$@"

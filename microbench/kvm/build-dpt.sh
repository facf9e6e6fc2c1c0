#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# demand_paging_test into OUTDIR: the populate-speed bar of the kvm backend
# (agebench-kvm / `agebench run --backend kvm` record demand_paging_ratio
# when OUTDIR/demand_paging_test exists). The recipe:
# scripts/build-kvm-selftest.sh.
# usage: build-dpt.sh OUTDIR     (env: LINUX_SOURCE_TARBALL, JOBS)
set -eu
exec "$(dirname "$(readlink -f "$0")")/../../scripts/build-kvm-selftest.sh" demand_paging_test "$@"

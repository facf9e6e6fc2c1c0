#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The wall-time baseline (ci/baseline/walltime-quick.json) holds every
# benchmark of today's quick model grid, so that ci/walltime-advice.sh
# compares something: a grid change that leaves it stale fails here, with
# the command that refreshes it.
#   test_walltime_baseline.sh AGEBENCH BASELINE
set -uo pipefail
ab=$1 base=$2
[[ -s $base ]] || { echo "FAIL: $base missing"; exit 1; }
mapfile -t now < <("$ab" run --quick --backend model --list 2>/dev/null)
((${#now[@]} > 10)) || { echo "FAIL: agebench run --quick --list gave ${#now[@]} names"; exit 1; }
missing=$(printf '%s\n' "${now[@]}" | python3 -c '
import json, sys
have = {b["name"] for b in json.load(open(sys.argv[1]))["benchmarks"]}
print("\n".join(n for n in sys.stdin.read().split() if n not in have))' "$base")
if [[ -n $missing ]]; then
	echo "FAIL: $(wc -l <<<"$missing") of ${#now[@]} quick-grid benchmarks are not in $base, e.g.:"
	head -3 <<<"$missing"
	echo "refresh it on a quiet machine: ci/walltime-advice.sh --update, and commit it"
	exit 1
fi
echo "walltime baseline: all ${#now[@]} quick-grid benchmarks present"

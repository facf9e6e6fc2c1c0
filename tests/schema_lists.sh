#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The mode lists CMake and the shell scripts use equal the table in the
# binary (common/ab_modes.def): `agebench list modes` against the lists
# cmake/schema.cmake read at configure time, and the kernel lab's list.
# usage: schema_lists.sh AGEBENCH "KERNEL MODES (cmake)" "MODEL WALKERS (cmake)" [LAB-SCRIPT]
set -eu
ab=$1 cmake_kernel=$2 cmake_model=$3 lab=${4:-}
fail=0
check() { # what got want
	if [[ $2 == "$3" ]]; then
		echo "ok: $1: $2"
	else
		echo "FAIL: $1: '$2', the table says '$3'"; fail=1
	fi
}
kernel=$("$ab" list modes --kernel | tr '\n' ' ' | sed 's/ $//')
model=$("$ab" list modes --model | tr '\n' ' ' | sed 's/ $//')
[[ -n $kernel && -n $model ]] || { echo "FAIL: agebench list modes printed nothing"; exit 1; }
check "cmake kernel modes" "$cmake_kernel" "$kernel"
check "cmake model walkers" "$cmake_model" "$model"
if [[ -n $lab ]]; then
	check "kernel lab modes ($lab list-modes)" "$("$lab" list-modes | tr '\n' ' ' | sed 's/ $//')" "$kernel"
fi
# The JSON form carries the same names, in the same order.
json=$("$ab" list modes --kernel --format json | python3 -c \
	'import json,sys; print(" ".join(m["name"] for m in json.load(sys.stdin)))')
check "list --format json" "$json" "$kernel"
exit $fail

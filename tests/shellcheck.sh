#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs ShellCheck (warnings and errors) on every shell script the repository
# tracks: the files whose first line runs a shell, and the sourced helpers
# that declare `# shellcheck shell=...`.
# usage: tests/shellcheck.sh REPO
set -euo pipefail
cd "$1"
command -v shellcheck >/dev/null || { echo "SKIP: shellcheck not installed (apt-get install shellcheck)"; exit 77; }
mapfile -t scripts < <(git ls-files | while read -r f; do
	[[ -f $f ]] || continue
	if head -c 64 "$f" | grep -qE '^#!.*(/|env )(ba|da|busybox )?sh'; then echo "$f";
	elif head -3 "$f" | grep -q '^# shellcheck shell='; then echo "$f"; fi
done)
((${#scripts[@]} > 10)) || { echo "FAIL: only ${#scripts[@]} scripts found"; exit 1; }
shellcheck -S warning -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts, no warnings"

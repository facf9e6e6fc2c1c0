#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The ./agebench wrapper on a built tree: nothing to rebuild, so its own
# build step prints nothing (stderr empty) and the command's output is all
# there is; the wrapper passes the exit status through.
#   tests/wrapper.sh REPO BUILD_DIR
set -uo pipefail
repo=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
AGEBENCH_BUILD=$build "$repo/agebench" --help >"$tmp/out" 2>"$tmp/err"
rc=$?
if ((rc != 0)) || ! grep -q '^usage: agebench <command>' "$tmp/out"; then
	echo "FAIL: ./agebench --help: exit $rc, stdout:"; head -5 "$tmp/out"; fails=1
fi
if [[ -s $tmp/err ]]; then
	echo "FAIL: ./agebench --help printed on stderr with nothing to rebuild:"; head -20 "$tmp/err"; fails=1
fi
AGEBENCH_BUILD=$build "$repo/agebench" frobnicate >/dev/null 2>"$tmp/err"
rc=$?
((rc == 2)) && grep -q "unknown command 'frobnicate'" "$tmp/err" ||
	{ echo "FAIL: ./agebench frobnicate: exit $rc, want 2 with the message:"; cat "$tmp/err"; fails=1; }
((fails)) && exit 1
echo "ok: the wrapper is silent when nothing needs rebuilding and passes exit statuses through"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tests/without-kvm.sh: inside, /dev/kvm does not exist (open fails with
# ENOENT) while /dev/null and /dev/shm work; the command's exit status comes
# back; outside, nothing changed; no usage without a command (2).
#   without_kvm_test.sh PATH/TO/without-kvm.sh
set -uo pipefail
wk=$1
fails=0
had=0
[[ -e /dev/kvm ]] && had=1
out=$("$wk" sh -c 'if [ -e /dev/kvm ]; then echo visible; exit 1; fi
	( : </dev/kvm ) 2>/dev/null && { echo opened; exit 1; }
	echo x >/dev/null && touch /dev/shm/agebench-wk.$$ && rm /dev/shm/agebench-wk.$$ || exit 1
	exit 7' 2>&1)
rc=$?
if ((rc == 77)); then echo "$out"; exit 77; fi
((rc == 7)) || { echo "FAIL: inside: exit $rc, want 7 (kvm hidden, null and shm usable): $out"; fails=1; }
if ((had)) && [[ ! -c /dev/kvm ]]; then echo "FAIL: /dev/kvm gone outside"; fails=1; fi
"$wk" >/dev/null 2>&1
rc=$?
((rc == 2)) || { echo "FAIL: no command: exit $rc, want 2"; fails=1; }
((fails)) && exit 1
w=absent; ((had)) && w=present
echo "ok: /dev/kvm hidden inside ($w outside), exit status passed through"

#!/bin/sh
# test_model_det.sh DET [DET_SLOW] - the deterministic entry point: same
# answer on every run and for every walker (valgrind/callgrind relies on it),
# bad arguments exit 2, and the slow-walker build gives the same answers.
set -u
det=$1
slow=${2:-}
fail=0
ref=$("$det" locked 4K 4096 3) || { echo "FAIL: $det locked 4K 4096 3 failed"; exit 1; }
case $ref in young=*) ;; *) echo "FAIL: unexpected output '$ref'"; exit 1 ;; esac
walkers=$("$det" --list) || { echo "FAIL: $det --list"; exit 1; }
[ "$(echo "$walkers" | wc -l)" -ge 6 ] || { echo "FAIL: $det --list: $walkers"; exit 1; }
for w in $walkers; do
	for ps in 4K 2M; do
		a=$("$det" $w $ps 4096 3) || { echo "FAIL: $w $ps"; fail=1; continue; }
		b=$("$det" $w $ps 4096 3)
		[ "$a" = "$b" ] || { echo "FAIL: $w $ps not repeatable: $a vs $b"; fail=1; }
		[ "$a" = "$ref" ] || { echo "FAIL: $w $ps says $a, locked 4K says $ref"; fail=1; }
		if [ -n "$slow" ]; then
			c=$("$slow" $w $ps 4096 3)
			[ "$c" = "$ref (slow walker build)" ] || { echo "FAIL: slow build $w $ps: $c"; fail=1; }
		fi
	done
done
for bad in "nope 4K 10 1" "locked 3K 10 1" "locked 4K 0 1" "locked 4K 10 x" "locked 4K"; do
	"$det" $bad >/dev/null 2>&1
	rc=$?
	[ $rc -eq 2 ] || { echo "FAIL: '$bad' exited $rc, want 2"; fail=1; }
done
[ $fail -eq 0 ] && echo "det: $ref for every walker and page size; bad input exits 2"
exit $fail

# shellcheck shell=bash disable=SC2034,SC2154 # globals shared with agebench-kernel (checked together: shellcheck -x)
# agebench-kernel: the test boot: initramfs, QEMU, the guest's results, the verdict.
# Sourced by kernel/scripts/agebench-kernel (which sets PROG, REPO, KERNEL_DIR, the
# options and the helpers in lab/common.sh); defines functions only.

# ------------------------------------------------------------------- test --
# Copy an ELF program plus the shared libraries and the dynamic loader it needs.
pack_elf() {   # pack_elf <root> <src> <dest-in-root>
    local root=$1 src=$2 dst=$3 lib
    mkdir -p "$root$(dirname "$dst")"
    cp -L "$src" "$root$dst"; chmod 755 "$root$dst"
    # ldd lines: "libx.so => /path (0x..)", "/lib64/ld-linux-x86-64.so.2 (0x..)"
    while IFS= read -r lib; do
        [ -n "$lib" ] && [ -e "$lib" ] || continue
        [ -e "$root$lib" ] && continue
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done < <(ldd "$src" 2>/dev/null | awk '/=> \//{print $3} /^[[:space:]]*\//{print $1}')
}


# The kernel splats of a console log (printk lines only, both flavours):
# BUG, WARNING, Oops, panic, lockdep, RCU, KASAN, UBSAN, GPF, hung tasks,
# stalls. Not splats: lockdep's and KASAN's boot banners.
console_splats() {   # console_splats <console.txt>
    local splat_re='\[ *[0-9]+\.[0-9]+\].*(BUG:|WARNING:|Oops|Kernel panic|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|KASAN|UBSAN|general protection fault|INFO: task .* blocked|rcu: INFO|self-detected stall)'
    grep -E "$splat_re" "$1" |
        grep -vE 'Lock dependency validator|lockdep: (fixed|in-use)|\.\.\. MAX_LOCK|\.\.\. MAX_LOCKDEP|\.\.\. CHAINHASH|memory used by lock dependency|KernelAddressSanitizer initialized|kasan: ' ||
        true
}

cmd_test() {
    [ -n "${AGEBENCH_QEMU:-}" ] || ensure_pkg "/usr/bin/$LAB_QEMU" "$LAB_QEMU_PKG"
    qemu_probe
    local BUSYBOX=""
    for b in /bin/busybox /usr/bin/busybox; do
        if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then BUSYBOX=$b; break; fi
    done
    if [ -z "$BUSYBOX" ]; then
        ensure_pkg /bin/busybox busybox-static; BUSYBOX=/bin/busybox
        ldd "$BUSYBOX" >/dev/null 2>&1 && skip "$BUSYBOX is not static (install busybox-static)"
    fi
    [ -f "$TESTS_FILE" ] || usage_die "test list '$TESTS_FILE' not found"

    if [ "$NO_BUILD" = 0 ]; then cmd_build
    else
        ensure_pkg "$AGEBENCH_KERNEL_TARBALL" linux-source-6.12
        local bflag=""; [ "$DEBUG" = 1 ] && bflag=" --debug"
        [ -f "$OBJ/$LAB_IMAGE" ] || die "no $FLAVOUR kernel at $OBJ (run '$PROG build$bflag' first)"
        [ "$(cat "$STATE/stamp" 2>/dev/null)" = "$(source_hash)" ] ||
            log "WARNING: the patch series changed since the last build; run '$PROG build' (testing the old build)"
    fi
    local BZ=$OBJ/$LAB_IMAGE
    local npatches; npatches=$(cat "$STATE/npatches" 2>/dev/null || echo 0)
    [ "$STOCK" = 1 ] && npatches=0

    # userspace build to pack
    if [ -z "$USERSPACE" ] && { [ -d "$REPO/build/src" ] || [ -d "$REPO/build/microbench" ]; }; then USERSPACE=$REPO/build; fi
    if [ -n "$USERSPACE" ]; then
        [ -d "$USERSPACE" ] || usage_die "--userspace-build '$USERSPACE' is not a directory"
        USERSPACE=$(cd "$USERSPACE" && pwd)
    fi

    local lname; lname=$(basename "$TESTS_FILE" .list)
    [ "$lname" = tests ] && lname="" || lname="-$lname"
    local RUN=$KB/runs/$LABEL-$MODE$lname
    mkdir -p "$KB/runs"
    exec {runfd}>"$RUN.lock"; flock "$runfd"
    rm -rf "$RUN"; mkdir -p "$RUN"
    local ROOT=$RUN/root
    mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,ab/bin,ab/selftests,ab/guest,etc}
    cp "$BUSYBOX" "$ROOT/bin/busybox"
    cp "$KERNEL_DIR/guest/init" "$ROOT/init"; chmod 755 "$ROOT/init"
    cp -r "$KERNEL_DIR/guest/." "$ROOT/ab/guest/"
    cp "$TESTS_FILE" "$ROOT/ab/guest/tests.list"
    echo "$MODES_ALL" | tr ' ' '\n' > "$ROOT/ab/modes"
    chmod 755 "$ROOT"/ab/guest/t-* 2>/dev/null || true
    local t packed=""
    # the A/A test's workload (kernel/guest/aa-workload.c), static
    local aa_src=$KERNEL_DIR/guest/aa-workload.c aa_bin=$KB/aa-workload
    if [ ! -x "$aa_bin" ] || [ "$aa_src" -nt "$aa_bin" ]; then
        gcc -static -O2 -Wall -o "$aa_bin" "$aa_src" >"$LOGS/aa-workload.log" 2>&1 ||
            log "note: building aa-workload failed ($LOGS/aa-workload.log); the A/A test will SKIP"
    fi
    if [ -x "$aa_bin" ]; then cp "$aa_bin" "$ROOT/ab/bin/aa-workload"; packed+=" aa-workload"; fi
    for t in $SELFTESTS; do
        if [ -x "$SELDIR/$t" ]; then pack_elf "$ROOT" "$SELDIR/$t" "/ab/selftests/$t"; packed+=" $t"; fi
    done
    # userspace programs: first existing candidate path wins
    local prog cand found
    for prog in "agevm-check:microbench/kvm/agevm-check microbench/kvm/vm/agevm-check" \
                "agebench:src/agebench"; do
        found=""
        for cand in ${prog#*:}; do
            if [ -n "$USERSPACE" ] && [ -x "$USERSPACE/$cand" ]; then found=$USERSPACE/$cand; break; fi
        done
        if [ -n "$found" ]; then
            pack_elf "$ROOT" "$found" "/ab/bin/${prog%%:*}"; packed+=" ${prog%%:*}"
        else
            log "note: ${prog%%:*} not found in ${USERSPACE:-<no userspace build>} (looked for: ${prog#*:}); tests needing it will SKIP"
        fi
    done
    {
        echo "kernel=$(cat "$KB/kernelversion") release=$(cat "$OBJ/.agebench-kernelrelease" 2>/dev/null)"
        echo "patches=$npatches"
        [ "$STOCK" = 1 ] || sed 's/^/patch=/' "$STATE/applied" 2>/dev/null || true
        echo "userspace=${USERSPACE:-none}"
    } > "$ROOT/ab/build-info"
    (cd "$ROOT" && find . -print0 | cpio --null -o -H newc --quiet -R 0:0) | gzip -1 > "$RUN/initramfs.cpio.gz"

    pick_accel
    local modes=$MODES_ALL; [ "$MODE" != all ] && modes=$MODE
    local nmodes; nmodes=$(echo "$modes" | wc -w)
    if [ -z "$TIMEOUT" ]; then
        # measured: normal ~300 s/mode single-threaded TCG on a loaded 2-core host (2026-12-01), debug ~180 s/mode (reduced list)
        if [ "$DEBUG" = 1 ]; then TIMEOUT=$((300 + 360 * nmodes)); else TIMEOUT=$((300 + 420 * nmodes)); fi
    fi
    # mem=2000M: SeaBIOS reserves the last 128K below 2G, so RAM would end at pfn
    # 0x7ffe0, not a multiple of 64; page_idle then returns a short read for the
    # last bitmap word and access_tracking_perf_test fails when its memory lands
    # there. 2000M ends on a 64-page boundary.
    local cmdline="console=ttyS0,115200 mem=2000M panic=-1 printk.devkmsg=on ab.modes=${modes// /,} ab.flavour=$FLAVOUR ab.patches=$npatches ab.qemu=$QEMU_VERSION ab.accel=$ACCEL_KIND"
    [ -n "$ONLY" ] && cmdline+=" ab.only=$(echo "$ONLY" | base64 -w0)"
    [ "$MODE" != all ] && [ "$npatches" -gt 0 ] && cmdline+=" kvm.mmu_age_mode=$MODE"
    [ "$DEBUG" = 1 ] && cmdline+=" no_hash_pointers"
    # a WARN is a failure anyway (console_splats); KUnit must pass with it on
    [ "$npatches" -gt 0 ] && cmdline+=" panic_on_warn=1"
    [ "$ACCEL_KIND" = kvm ] || cmdline+=" $(lab_tcg_cmdline)"
    [ -n "$APPEND" ] && cmdline+=" $APPEND"

    local stamp; stamp=$(date +%Y%m%d-%H%M%S)
    local CONSOLE=$LOGS/$LABEL-$MODE$lname-$stamp.console.log
    ln -sfn "$(basename "$CONSOLE")" "$LOGS/$LABEL-$MODE$lname-latest.console.log"
    log "booting $LABEL kernel ($(cat "$OBJ/.agebench-kernelrelease" 2>/dev/null), $npatches patches), modes: $modes"
    log "QEMU: $QEMU_VERSION_LINE; accel: $ACCEL_DESC; timeout ${TIMEOUT}s"
    log "packed:${packed:- nothing}"
    log "kernel command line: $cmdline"
    log "console log: $CONSOLE"
    # QMP (a short path: unix socket names are limited to 108 bytes) for the
    # vCPU thread ids; with one host thread per vCPU each is pinned to a PU
    local qmpdir pus="" pinner=""
    qmpdir=$(mktemp -d /tmp/agebench-qmp.XXXXXX)
    rm -f "$RUN/vcpu-pinning.json" "$RUN/host.json"
    if [ "$ACCEL_KIND" != tcg-single ] && [ "$PIN_VCPUS" = 1 ]; then
        pus=$(pin_pus "$LAB_SMP")
        [ -n "$pus" ] || log "note: fewer host PUs than the guest's $LAB_SMP vCPUs: vCPU threads not pinned"
    fi
    local load0; load0=$(cut -d' ' -f1-3 /proc/loadavg)
    local t0 qrc=0; t0=$(now)
    set +o errexit +o pipefail
    # what the host did to this boot (QEMU's run delay, steal, CPU pressure)
    "$SCRIPT_DIR/lab-qemu" hostwatch "$qmpdir/qemu.pid" "$RUN/host.json" 2>"$RUN/host.err" &
    local watcher=$!
    if [ -n "$pus" ]; then
        "$SCRIPT_DIR/lab-qemu" pin "$qmpdir/qmp.sock" "$pus" "$RUN/vcpu-pinning.json" \
            2>"$RUN/vcpu-pinning.err" &
        pinner=$!
    fi
    timeout -k 10 "$TIMEOUT" "$QEMU" "${QEMU_DATA[@]}" "${QEMU_ACCEL[@]}" "${LAB_MACHINE[@]}" \
        -smp "$LAB_SMP" -m 2G -nographic -no-reboot \
        -kernel "$BZ" -initrd "$RUN/initramfs.cpio.gz" -append "$cmdline" \
        -qmp "unix:$qmpdir/qmp.sock,server=on,wait=off" -pidfile "$qmpdir/qemu.pid" \
        -serial mon:stdio -serial "file:$RUN/ttyS1.raw" < /dev/null 2>&1 |
        tee "$CONSOLE" | sed -u -n -e '/^AB-/p' -e '/\] \(BUG\|WARNING\|Kernel panic\|Oops\|KASAN\|INFO:\)/p' |
        progress_lines "$(expected_tests "$modes")"
    qrc=${PIPESTATUS[0]}
    local pinned="not pinned ($ACCEL_KIND)"
    if [ -n "$pinner" ]; then
        if wait "$pinner"; then pinned="vCPU threads pinned to host PUs $pus"
        else pinned="pinning failed: $(tail -n 1 "$RUN/vcpu-pinning.err")"; log "WARNING: $pinned"; fi
    fi
    wait "$watcher" || log "WARNING: no host figures for this boot: $(tail -n 1 "$RUN/host.err")"
    rm -rf "$qmpdir"
    set -o errexit -o pipefail
    local elapsed=$(( $(now) - t0 ))
    tr -d '\r' < "$CONSOLE" > "$RUN/console.txt"

    # files exported by the guest on ttyS1 (base64 between markers)
    mkdir -p "$RUN/out"
    if [ -s "$RUN/ttyS1.raw" ]; then
        tr -d '\r' < "$RUN/ttyS1.raw" | awk -v out="$RUN/out" '
            /^AB-FILE-BEGIN / { f=$2; gsub(/\.\.+/, "_", f); buf=out "/" f ".b64"
                                d=buf; sub(/\/[^\/]*$/, "", d); system("mkdir -p \"" d "\"")
                                printf "" > buf; active=1; next }
            /^AB-FILE-END / { if (active) { close(buf); print buf } active=0; next }
            active { print >> buf }
        ' | while IFS= read -r b; do
            mkdir -p "$(dirname "$b")"
            base64 -d < "$b" > "${b%.b64}" 2>/dev/null || log "WARNING: corrupt export ${b%.b64}"
            rm -f "$b"
        done || log "WARNING: decoding the files exported on ttyS1 failed"
    fi
    # what produced these results: lab.json, and lab_* in every results.json's context
    local nstamped
    nstamped=$("$SCRIPT_DIR/lab-qemu" stamp "$RUN" "arch=$LAB_ARCH" "qemu=$QEMU_VERSION_LINE" \
        "qemu_version=$QEMU_VERSION" "accel=$ACCEL_KIND" "accel_desc=$ACCEL_DESC" \
        "vcpus=$LAB_SMP" "vcpu_pinning=$pinned" "kernel=$(cat "$OBJ/.agebench-kernelrelease" 2>/dev/null)" \
        "flavour=$LABEL" "patches=$npatches" "host_load_start=$load0" \
        "host_load_end=$(cut -d' ' -f1-3 /proc/loadavg)" "boot_seconds=$elapsed") ||
        log "WARNING: could not write $RUN/lab.json"
    [ "${nstamped:-0}" -gt 0 ] && log "lab context (QEMU, accel, pinning) added to $nstamped results.json"

    # ------------------------------------------------------------ verdict --
    local fail=0 reasons=()
    if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
        fail=1; reasons+=("guest timed out after ${TIMEOUT}s (hung?)")
    elif [ "$qrc" != 0 ]; then
        fail=1; reasons+=("qemu exited with status $qrc")
    fi
    grep -q '^AB-DONE' "$RUN/console.txt" || { fail=1; reasons+=("guest did not reach AB-DONE (crash, panic or hang)"); }
    console_splats "$RUN/console.txt" > "$RUN/splats.txt"
    if [ -s "$RUN/splats.txt" ]; then
        fail=1; reasons+=("kernel splat(s) on the console (first: $(head -1 "$RUN/splats.txt" | cut -c1-160))")
    fi

    local npass nfail nskip
    npass=$(grep -c '^AB-TEST PASS' "$RUN/console.txt" || true)
    nfail=$(grep -c '^AB-TEST FAIL' "$RUN/console.txt" || true)
    nskip=$(grep -c '^AB-TEST SKIP' "$RUN/console.txt" || true)
    [ "$nfail" -gt 0 ] && { fail=1; reasons+=("$nfail guest test(s) failed"); }
    # With the series applied, a per-mode test that skips is a failure unless
    # its reason is one kernel/guest/skips.allowed allows (a missing program
    # only without --userspace-build).
    if [ "$npatches" -gt 0 ]; then
        local allowed bad
        allowed=$(grep -vE '^[[:space:]]*(#|$)' "$KERNEL_DIR/guest/skips.allowed" 2>/dev/null || true)
        [ -z "$USERSPACE" ] && allowed+=$'\n''\(s\): missing /ab/bin/'
        bad=$(grep -E "^AB-TEST SKIP .* mode=(${MODES_ALL// /|}) " "$RUN/console.txt" |
              { if [ -n "$allowed" ]; then grep -vE -f <(echo "$allowed" | grep .); else cat; fi; } || true)
        if [ -n "$bad" ]; then
            fail=1
            reasons+=("per-mode test(s) skipped on the patched kernel (kernel/guest/skips.allowed allows none of these): $(echo "$bad" | head -3 | sed 's/^AB-TEST SKIP //' | tr '\n' ';')")
        fi
    fi

    echo
    echo "==== agebench kernel lab: $LABEL, modes: $modes ===="
    echo "kernel: $(cat "$OBJ/.agebench-kernelrelease" 2>/dev/null) with $npatches patch(es)"
    echo "QEMU: $QEMU_VERSION_LINE; accel: $ACCEL_DESC; $pinned"
    echo "boot to result: ${elapsed}s"
    grep -E '^AB-TEST (PASS|FAIL|SKIP)' "$RUN/console.txt" | sed 's/^AB-TEST /  /' || true
    echo "summary: pass=$npass fail=$nfail skip=$nskip"
    if [ -n "$(ls -A "$RUN/out" 2>/dev/null)" ]; then
        echo "exported files:"; (cd "$RUN/out" && find . -type f | sed "s|^\./|  $RUN/out/|")
    fi
    echo "console log: $CONSOLE"
    lab_cover_letter
    if [ "$fail" = 1 ]; then
        for r in "${reasons[@]}"; do echo "FAIL: $r"; done
        if [ -s "$RUN/splats.txt" ]; then echo "---- splats ----"; head -n 20 "$RUN/splats.txt"; fi
        if ! grep -q '^AB-DONE' "$RUN/console.txt"; then echo "---- last 30 console lines ----"; tail -n 30 "$RUN/console.txt"; fi
        exit 1
    fi
    # nothing of the requested mode(s) actually ran: say so (ctest shows "Skipped").
    # A list without per-mode tests (e.g. guest/stress.list) needs one PASS of any kind.
    local npass_mode nmode_tests
    npass_mode=$(grep -cE "^AB-TEST PASS .* mode=(${MODES_ALL// /|}) " "$RUN/console.txt" || true)
    # (the per-mode tests this boot ran: of this flavour, matching --only)
    nmode_tests=$(awk -v fl="$FLAVOUR" -v only="$ONLY" '!/^[[:space:]]*#/ && NF >= 5 && $2 == "mode" &&
        ($3 == "all" || $3 == fl) && (only == "" || $1 ~ only)' "$TESTS_FILE" | wc -l)
    if [ "$nmode_tests" -gt 0 ] && [ "$npass_mode" = 0 ]; then
        echo "SKIP: no per-mode guest test passed for mode(s) $modes ($nskip skipped; reasons above)"
        exit 77
    fi
    if [ "$npass" = 0 ]; then
        echo "SKIP: no guest test passed ($nskip skipped; reasons above)"
        exit 77
    fi
    echo "PASS"
}

# test --debug (default test list, all modes, no --only): the main boot, then the
# stress (guest/stress.list) in a second boot. Fails if either fails; skipped only
# if both skip.
cmd_test_all() {
    if [ "$DEBUG" = 0 ] || [ "$TESTS_GIVEN" = 1 ] || [ "$NO_STRESS" = 1 ] ||
        [ "$MODE" != all ] || [ -n "$ONLY" ]; then
        cmd_test
        return
    fi
    local rc1=0 rc2=0
    ( cmd_test ) || rc1=$?
    log "debug stress: second boot, $STRESS_FILE"
    ( TESTS_FILE=$STRESS_FILE; NO_BUILD=1; cmd_test ) || rc2=$?
    if [ "$rc1" != 0 ] && [ "$rc1" != 77 ]; then exit "$rc1"; fi
    if [ "$rc2" != 0 ] && [ "$rc2" != 77 ]; then exit "$rc2"; fi
    if [ "$rc1" = 77 ] && [ "$rc2" = 77 ]; then exit 77; fi
    exit 0
}

# The lab's answers: the exported all-modes run and macro run merged into a
# cover-letter block (agebench report --cover-letter), $RUN/cover-letter.txt,
# when the host has the agebench binary and the boot exported both.
lab_cover_letter() {
    local ab="" dirs=() d
    for d in "$RUN/out/common/agebench_modes" "$RUN/out/common/macro"; do
        [ -s "$d/results.json" ] && dirs+=("$d")
    done
    [ -n "$USERSPACE" ] && [ -x "$USERSPACE/src/agebench" ] && ab=$USERSPACE/src/agebench
    [ -n "$ab" ] && [ "${#dirs[@]}" -gt 0 ] || return 0
    if "$ab" report --cover-letter "${dirs[@]}" >"$RUN/cover-letter.txt.tmp" 2>"$RUN/cover-letter.err"; then
        mv "$RUN/cover-letter.txt.tmp" "$RUN/cover-letter.txt"
        echo "answers (agebench report --cover-letter ${dirs[*]}): $RUN/cover-letter.txt"
    else
        rm -f "$RUN/cover-letter.txt.tmp"
        echo "note: agebench report --cover-letter failed: $(tail -n 1 "$RUN/cover-letter.err")"
    fi
}


# How many test results a boot of $TESTS_FILE in @modes will print (boot and
# end tests once, per-mode tests once per mode, of this flavour).
expected_tests() {
    local nm; nm=$(echo "$1" | wc -w)
    awk -v fl="$FLAVOUR" -v nm="$nm" -v only="$ONLY" '!/^[[:space:]]*#/ && NF >= 5 &&
        ($3 == "all" || $3 == fl) && (only == "" || $1 ~ only) {
        n += ($2 == "mode") ? nm : 1 } END { print n + 0 }' "$TESTS_FILE"
}

# The guest's result lines as progress: "[12/55] agevm_lru_gen mode=bitmap (3s)
# ..., 410 s in, about 300 s left"; other lines as they come.
progress_lines() {
    local total=$1 done=0 t0 el left line
    t0=$(now)
    while IFS= read -r line; do
        case $line in
            "AB-TEST PASS "*|"AB-TEST FAIL "*|"AB-TEST SKIP "*)
                done=$((done + 1)); el=$(( $(now) - t0 )); left=""
                [ "$done" -lt "$total" ] && left=", about $(( el * (total - done) / done )) s left"
                echo "[$done/$total] ${line#AB-TEST }, ${el} s in$left" ;;
            *) echo "$line" ;;
        esac
    done
}


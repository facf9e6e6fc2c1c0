# shellcheck shell=bash disable=SC2034,SC2154 # globals shared with agebench-kernel (checked together: shellcheck -x)
# agebench-kernel: `answer`, the lab's answers in one command: the kernel
# with only what the answer's tests need, one boot running the interleaved
# all-modes run (agebench_modes) and the macrobenchmark (macro), and the
# cover letter made from their results. A progress line with the time left
# every ANSWER_TICK seconds while it builds and boots.

ANSWER_TICK=${AGEBENCH_ANSWER_TICK:-20}
# the guest tests the answer needs (kernel/guest/tests.list names)
ANSWER_TESTS='^(agebench_modes|macro)$'
# what agebench.config has for the other tests and the answer does not
# need: KVM_INTEL (the lab's -cpu max is AMD: svm + npt), hugetlbfs,
# kprobes (the A/A test), userfaultfd and AIO (the selftests); and no
# KUnit (series.config) and no KVM selftests.
ANSWER_DROP='KVM_INTEL|HUGETLBFS|KPROBES|KPROBE_EVENTS|USERFAULTFD|AIO'

answer_fragment() {
    grep -vE "^CONFIG_($ANSWER_DROP)=" "$KERNEL_DIR/config/agebench.config"
}

# Estimates for the time left, from the last answer on this machine (kept
# outside the clone, beside ccache's cache) or first guesses.
ANSWER_STATE=${XDG_CACHE_HOME:-$HOME/.cache}/agebench
answer_estimate() {   # answer_estimate <key> <default>
    local v
    v=$(sed -n "s/^$1 //p" "$ANSWER_STATE/answer-estimates" 2>/dev/null | tail -n 1)
    [[ "$v" =~ ^[0-9]+$ ]] && echo "$v" || echo "$2"
}
answer_remember() {   # answer_remember <key> <value>
    mkdir -p "$ANSWER_STATE" 2>/dev/null || return 0
    { grep -v "^$1 " "$ANSWER_STATE/answer-estimates" 2>/dev/null; echo "$1 $2"; } \
        > "$ANSWER_STATE/answer-estimates.tmp" && mv "$ANSWER_STATE/answer-estimates.tmp" "$ANSWER_STATE/answer-estimates"
}
mmss() { printf '%dm%02d' $(($1 / 60)) $(($1 % 60)); }

# Progress of the kernel build: objects so far against the last build's count.
answer_build_ticker() {   # answer_build_ticker <t0> <boot estimate s>
    local t0=$1 boot=$2 want n el left
    want=$(answer_estimate objects 1400)
    while sleep "$ANSWER_TICK"; do
        n=$(find "$OBJ" -name '*.o' 2>/dev/null | wc -l)
        el=$(( $(now) - t0 ))
        if [ "$n" -gt 50 ] && [ "$n" -lt "$want" ]; then
            left=$(( el * (want - n) / n ))
            log "answer: building the kernel: $n/~$want objects, $(mmss "$el") in, about $(mmss "$left") left (+ about $(mmss "$boot") for the boot)"
        else
            log "answer: building the kernel: $n objects, $(mmss "$el") in (+ about $(mmss "$boot") for the boot)"
        fi
    done
}

# Progress of the boot: which test runs, for how long, the time left from
# the last answer's test durations.
answer_boot_ticker() {   # answer_boot_ticker <console.txt> <t0>
    local con=$1 t0=$2 cur last="" since=0 el in left e_modes e_macro
    e_modes=$(answer_estimate agebench_modes 200); e_macro=$(answer_estimate macro 200)
    while sleep "$ANSWER_TICK"; do
        [ -f "$con" ] || continue
        el=$(( $(now) - t0 ))
        cur=$(grep -aoE '^AB-TEST (BEGIN|PASS|FAIL|SKIP) (agebench_modes|macro)' "$con" | tail -n 1)
        [ "$cur" != "$last" ] && { last=$cur; since=$el; }
        in=$(( el - since ))
        case $cur in
            "AB-TEST BEGIN agebench_modes")
                left=$(( e_modes - in )); [ "$left" -lt 10 ] && left=10
                log "answer: boot $(mmss "$el") in: agebench_modes (every mode interleaved) $(mmss "$in") in, about $(mmss $((left + e_macro))) left" ;;
            "AB-TEST BEGIN macro")
                left=$(( e_macro - in )); [ "$left" -lt 10 ] && left=10
                log "answer: boot $(mmss "$el") in: macro $(mmss "$in") in, about $(mmss "$left") left" ;;
            "") log "answer: boot $(mmss "$el") in: booting, about $(mmss $((e_modes + e_macro))) left" ;;
            *) log "answer: boot $(mmss "$el") in: ${cur#AB-TEST }" ;;
        esac
    done
}

cmd_answer() {
    local t_all t0 t_src t_cfg t_build t_boot ticker rc=0
    t_all=$(now)
    [ -n "$USERSPACE" ] || USERSPACE=$REPO/build
    [ -x "$USERSPACE/src/agebench" ] ||
        die "no agebench in $USERSPACE/src (./agebench kernel answer builds it; or --userspace-build DIR)"
    log "answer: $LAB_ARCH kernel with only what agebench_modes and macro need ($OBJ), one boot, the cover letter"
    t0=$(now)
    with_lock "$KB/.source.lock" prepare_source
    t_src=$(( $(now) - t0 )); t0=$(now)
    : > "$LOGS/build-$LABEL.log"
    with_lock "$OBJ.lock" configure_kernel
    t_cfg=$(( $(now) - t0 )); t0=$(now)
    local e_boot; e_boot=$(( $(answer_estimate agebench_modes 200) + $(answer_estimate macro 200) + 30 ))
    answer_build_ticker "$t0" "$e_boot" &
    ticker=$!
    ( with_lock "$OBJ.lock" build_kernel ) || rc=$?
    kill "$ticker" 2>/dev/null || true; wait "$ticker" 2>/dev/null || true
    [ "$rc" = 0 ] || exit "$rc"
    t_build=$(( $(now) - t0 ))
    answer_remember objects "$(cat "$OBJ/.agebench-nobjects")"
    # one boot, the two tests (boot scope: every mode inside each)
    local RUNDIR=$KB/runs/$LABEL-all
    t0=$(now)
    rm -f "$RUNDIR/console.txt"
    answer_boot_ticker "$LOGS/$LABEL-all-latest.console.log" "$t0" &
    ticker=$!
    ( NO_BUILD=1; ONLY=$ANSWER_TESTS; TESTS_FILE=$KERNEL_DIR/guest/tests.list; cmd_test ) || rc=$?
    kill "$ticker" 2>/dev/null || true; wait "$ticker" 2>/dev/null || true
    t_boot=$(( $(now) - t0 ))
    local t secs
    for t in agebench_modes macro; do
        secs=$(sed -n "s/^AB-TEST PASS $t mode=- (\([0-9]*\)s).*/\1/p" "$RUNDIR/console.txt" 2>/dev/null | head -n 1)
        [ -n "$secs" ] && answer_remember "$t" "$secs"
    done
    local total=$(( $(now) - t_all ))
    {
        echo "answer: wall $(mmss "$total") ($total s): source ${t_src} s, config ${t_cfg} s, kernel build ${t_build} s${KCC:+ (ccache)}, boot ${t_boot} s"
        echo "answer: host load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) PUs"
    } | tee "$RUNDIR/answer-timing.txt"
    [ "$rc" = 0 ] || exit "$rc"
    [ -s "$RUNDIR/cover-letter.txt" ] || die "the boot passed but wrote no cover letter ($RUNDIR)"
    echo "cover letter: $RUNDIR/cover-letter.txt"
}

# shellcheck shell=bash disable=SC2034,SC2154 # globals shared with agebench-kernel (checked together: shellcheck -x)
# agebench-kernel: the A/A test (stock 6.12 vs the series in locked mode).
# Sourced by kernel/scripts/agebench-kernel (which sets PROG, REPO, KERNEL_DIR, the
# options and the helpers in lab/common.sh); defines functions only.

# ------------------------------------------------------------------- A/A --
# The same aging pass on plain 6.12 (--stock) and on the series in locked
# mode (kernel/guest/t-aa, aa-workload.c), in boot pairs whose order
# alternates: stock then series, series then stock, ... ($AA_BOOTS pairs,
# default 4; each boot runs one counting pass with kprobes, then the timed
# passes aa.list asks for). Passes only if (1) the hit counts of every aging
# entry point are identical in every boot of both kernels (functions only
# the series has: 0 hits), and (2) the paired pass-time ratio series/stock
# does not show a 5% slowdown (one-sided 95% bound; kernel/scripts/aa-compare
# says why pairs, medians and the alternating order). A pair in which the
# host took more than AA_HOST_MAX of either boot's time from QEMU (run
# delay or steal, lab-qemu hostwatch) is left out of (2) and one more pair
# is booted, at most $AA_RERUNS more; fewer than AA_MIN_PAIRS undisturbed
# pairs: no time verdict (exit 77, the counts verdict still holds).
# Figures are TCG: function, not speed.
cmd_aa() {
    [[ "$AA_BOOTS" =~ ^[1-9][0-9]*$ ]] || usage_die "--boots must be a positive integer"
    [[ "$AA_RERUNS" =~ ^[0-9]+$ ]] || usage_die "--reruns must be a non-negative integer"
    local self=$SCRIPT_DIR/$PROG bargs=(--build-dir "$KB" -j "$JOBS")
    [ "$DEBUG" = 1 ] && bargs+=(--debug)
    local common=("${bargs[@]}" --accel "$ACCEL")
    if [ "$NO_BUILD" = 0 ]; then
        "$self" build "${bargs[@]}" || exit $?
        "$self" build --stock "${bargs[@]}" || exit $?
    fi
    local out=$KB/aa; rm -rf "$out"; mkdir -p "$out"
    local b=0 k rc=0 t0 extra=0; t0=$(now)
    : > "$out/order.txt"
    while :; do
        if [ "$b" -ge "$AA_BOOTS" ]; then
            local clean; clean=$(python3 "$SCRIPT_DIR/aa-compare" --clean-pairs "$out")
            [ "$clean" -ge "$AA_BOOTS" ] && break
            [ "$extra" -ge "$AA_RERUNS" ] && break
            extra=$((extra + 1))
            log "A/A: $((b - clean)) of $b boot pairs disturbed by the host; one more pair ($extra of at most $AA_RERUNS)"
        fi
        b=$((b + 1))
        local order=(stock series)
        ((b % 2 == 0)) && order=(series stock)
        for k in "${order[@]}"; do
            echo "boot$b-$k" >> "$out/order.txt"
            local flag=(); [ "$k" = stock ] && flag=(--stock)
            local label=normal; [ "$DEBUG" = 1 ] && label=debug
            [ "$k" = stock ] && label+=-stock
            log "A/A boot $b/$AA_BOOTS: $k"
            rc=0
            "$self" test --no-build "${flag[@]}" "${common[@]}" --mode locked \
                --tests "$KERNEL_DIR/guest/aa.list" > "$out/boot$b-$k.log" 2>&1 || rc=$?
            if [ "$rc" != 0 ]; then
                tail -n 30 "$out/boot$b-$k.log"
                [ "$rc" = 77 ] && skip "A/A: the $k boot skipped (see $out/boot$b-$k.log)"
                die "A/A: the $k boot failed (rc $rc; $out/boot$b-$k.log)"
            fi
            mkdir -p "$out/boot$b-$k"
            cp "$KB/runs/$label-locked-aa/out/common/aa/"aa_* "$out/boot$b-$k/" ||
                die "A/A: the $k boot exported no results"
            cp "$KB/runs/$label-locked-aa/host.json" "$out/boot$b-$k/" 2>/dev/null ||
                log "note: no host figures for boot $b ($k): the pair counts as disturbed"
        done
    done
    log "A/A boots done in $(( $(now) - t0 ))s; comparing"
    python3 "$SCRIPT_DIR/aa-compare" "$out"
}


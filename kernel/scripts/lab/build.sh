# shellcheck shell=bash disable=SC2034,SC2154 # globals shared with agebench-kernel (checked together: shellcheck -x)
# agebench-kernel: configure and build the kernel and the KVM selftests; clean.
# Sourced by kernel/scripts/agebench-kernel (which sets PROG, REPO, KERNEL_DIR, the
# options and the helpers in lab/common.sh); defines functions only.

# The compiler through ccache (default when ccache is installed; --no-ccache
# or AGEBENCH_KERNEL_CCACHE=0 turns it off): KCC holds make's CC= argument.
# CCACHE_BASEDIR is the lab directory and the directory is not hashed, so the
# same tree built from another clone (another path) hits the same cache.
kernel_cc() {
    KCC=()
    if [ "$CCACHE" = 1 ] && command -v ccache >/dev/null; then
        KCC=(CC="ccache ${LAB_CROSS_COMPILE}gcc")
        export CCACHE_BASEDIR=$KB CCACHE_NOHASHDIR=1
    fi
    return 0
}

configure_kernel() {
    local frags=("$KERNEL_DIR/config/agebench.config")
    [ "$DEBUG" = 1 ] && frags+=("$KERNEL_DIR/config/debug.config")
    # options the series adds (KUnit suite): not in a stock or empty-series tree
    if [ "$STOCK" = 0 ] && [ "$ANSWER" = 0 ] && [ "$(cat "$STATE/npatches" 2>/dev/null || echo 0)" -gt 0 ]; then
        frags+=("$KERNEL_DIR/config/series.config")
    fi
    if [ "$ANSWER" = 1 ]; then
        mkdir -p "$OBJ"
        answer_fragment > "$OBJ.answer.config"
        frags=("$OBJ.answer.config")
    fi
    kernel_cc
    local want have=""
    want=$({ cat "$STATE/stamp"; cat "${frags[@]}"; echo "cfgv2"; } | sha256sum | cut -d' ' -f1)
    [ -f "$OBJ/.agebench-config-stamp" ] && have=$(cat "$OBJ/.agebench-config-stamp")
    if [ -f "$OBJ/.config" ] && [ "$want" = "$have" ]; then
        return 0
    fi
    log "configuring $FLAVOUR kernel: tinyconfig + ${frags[*]##*/}"
    mkdir -p "$OBJ"
    local lf=$LOGS/build-$LABEL.log
    run_logged "$lf" make -C "$KSRC" O="$OBJ" ARCH="$LAB_MAKE_ARCH" CROSS_COMPILE="$LAB_CROSS_COMPILE" "${KCC[@]}" tinyconfig
    run_logged "$lf" env KCONFIG_CONFIG="$OBJ/.config" "$KSRC/scripts/kconfig/merge_config.sh" \
        -m -O "$OBJ" "$OBJ/.config" "${frags[@]}"
    run_logged "$lf" make -C "$KSRC" O="$OBJ" ARCH="$LAB_MAKE_ARCH" CROSS_COMPILE="$LAB_CROSS_COMPILE" "${KCC[@]}" olddefconfig
    # every requested option must have survived olddefconfig
    local bad=0 line sym val got
    while IFS= read -r line; do
        if [[ "$line" =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
            sym=${BASH_REMATCH[1]}; val=${BASH_REMATCH[2]}
            got=$(grep -E "^$sym=|^# $sym is not set" "$OBJ/.config" || echo "(absent)")
            if [ "$got" != "$sym=$val" ]; then
                echo "$PROG: config: requested $sym=$val, got: $got (unmet dependency?)" >&2; bad=1
            fi
        elif [[ "$line" =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
            sym=${BASH_REMATCH[1]}
            if grep -qE "^$sym=[ym]" "$OBJ/.config"; then
                echo "$PROG: config: requested $sym off, but it is on" >&2; bad=1
            fi
        fi
    done < <(cat "${frags[@]}")
    [ "$bad" = 0 ] || die "config fragment not satisfied (fix kernel/config/*.config)"
    echo "$want" > "$OBJ/.agebench-config-stamp"
}

build_kernel() {
    local lf=$LOGS/build-$LABEL.log t0
    t0=$(now)
    kernel_cc
    log "building $LABEL $LAB_IMAGE_TARGET (make -j$JOBS${KCC:+, ccache}, log: $lf)"
    run_logged "$lf" nice make -C "$KSRC" O="$OBJ" ARCH="$LAB_MAKE_ARCH" CROSS_COMPILE="$LAB_CROSS_COMPILE" "${KCC[@]}" -j"$JOBS" "$LAB_IMAGE_TARGET" ||
        die "kernel build failed ($LABEL); full log: $lf"
    make -s -C "$KSRC" O="$OBJ" ARCH="$LAB_MAKE_ARCH" CROSS_COMPILE="$LAB_CROSS_COMPILE" "${KCC[@]}" kernelrelease > "$OBJ/.agebench-kernelrelease" 2>/dev/null || true
    find "$OBJ" -name '*.o' | wc -l > "$OBJ/.agebench-nobjects"
    log "$LAB_IMAGE_TARGET ready: $OBJ/$LAB_IMAGE ($(cat "$OBJ/.agebench-kernelrelease"), $(( $(now) - t0 ))s)"
}

build_selftests() {
    local want have="" lf=$LOGS/build-selftests.log
    want=$(cat "$STATE/stamp")
    [ -f "$SELDIR/.stamp" ] && have=$(cat "$SELDIR/.stamp")
    local missing=0 t
    for t in $SELFTESTS; do [ -x "$SELDIR/$t" ] || missing=1; done
    if [ "$missing" = 0 ] && [ "$want" = "$have" ]; then
        log "KVM selftests up to date"
        return 0
    fi
    log "building KVM selftests ($SELFTESTS; log: $lf)"
    : > "$lf"
    run_logged "$lf" make -C "$SRC" O="$HDR" ARCH="$LAB_MAKE_ARCH" INSTALL_HDR_PATH="$HDR/usr" headers_install ||
        die "headers_install failed; log: $lf"
    mkdir -p "$SELDIR"
    local targets=()
    for t in $SELFTESTS; do targets+=("$SELDIR/$t"); done
    run_logged "$lf" nice make -C "$SRC/tools/testing/selftests/kvm" ARCH="$LAB_SELFTEST_ARCH" -j"$JOBS" \
        OUTPUT="$SELDIR" KHDR_INCLUDES="-isystem $HDR/usr/include" "${targets[@]}" ||
        die "KVM selftests build failed; log: $lf"
    echo "$want" > "$SELDIR/.stamp"
}

cmd_build() {
    local t0; t0=$(now)
    command -v gcc >/dev/null || die "gcc not found"
    command -v flock >/dev/null || die "flock not found (util-linux)"
    with_lock "$KB/.source.lock" prepare_source
    with_lock "$KB/.source.lock" build_selftests
    [ "$STOCK" = 1 ] && with_lock "$KB/.source.lock" prepare_stock
    : > "$LOGS/build-$LABEL.log"
    with_lock "$OBJ.lock" configure_kernel
    with_lock "$OBJ.lock" build_kernel
    log "build ($LABEL) done in $(( $(now) - t0 ))s"
}

cmd_clean() {
    # never rm -rf "$KB" itself: it is also CMake's binary dir of kernel/
    if [ "$CLEAN_ALL" = 1 ]; then
        rm -rf "$KB/src" "$KB/obj" "$KB/obj-debug" "$SELDIR" "$HDR" "$KB/runs" "$LOGS" \
               "$KB"/.*.lock "$KB"/obj*.lock "$KB/kernelversion"
        log "removed the kernel lab trees and logs under $KB"
    else rm -rf "$KB/src" "$KB/obj" "$KB/obj-debug" "$SELDIR" "$HDR" "$KB/runs"; log "removed build trees under $KB (logs kept)"; fi
}


# shellcheck shell=bash disable=SC2034,SC2154 # globals shared with agebench-kernel (checked together: shellcheck -x)
# agebench-kernel: paths, packages, locks, logged commands (every command uses these).
# Sourced by kernel/scripts/agebench-kernel (which sets PROG, REPO, KERNEL_DIR, the
# options and the helpers in lab/common.sh); defines functions only.

# ------------------------------------------------------------------ paths --
setup_paths() {
    mkdir -p "$AGEBENCH_KERNEL_BUILD" || die "cannot create $AGEBENCH_KERNEL_BUILD"
    KB=$(cd "$AGEBENCH_KERNEL_BUILD" && pwd)
    SRC=$KB/src/linux               # unpacked + patched tree (shared by flavours)
    STATE=$KB/src/state             # originals of patched files, stamps
    LOGS=$KB/logs
    if [ "$DEBUG" = 1 ]; then FLAVOUR=debug; OBJ=$KB/obj-debug$LAB_OBJ_SUFFIX
    else FLAVOUR=normal; OBJ=$KB/obj$LAB_OBJ_SUFFIX; fi
    # --stock: the same tree without the series (src/linux-stock: hard links
    # into src/linux, the series' files restored), its own O= directory
    STOCK_SRC=$KB/src/linux-stock
    KSRC=$SRC; LABEL=$FLAVOUR
    if [ "$STOCK" = 1 ]; then KSRC=$STOCK_SRC; OBJ=$OBJ-stock; LABEL=$FLAVOUR-stock; fi
    # `answer`: the normal flavour's guest, a kernel with only what the
    # answer's tests need (lab/answer.sh), its own O= directory
    if [ "$ANSWER" = 1 ]; then OBJ=$KB/obj-answer$LAB_OBJ_SUFFIX; LABEL=answer; fi
    SELDIR=$KB/selftests
    HDR=$KB/headers
    SERIES=$AGEBENCH_KERNEL_PATCHES/series
    mkdir -p "$LOGS" "$KB/src"
}

# Tools needed: for build, the tarball (package linux-source-6.12) and a compiler;
# for test, qemu-system-x86_64 and a static busybox. If a package is missing we try
# apt-get once; if that fails the command is skipped (77) with the reason.
ensure_pkg() {   # ensure_pkg <path-that-must-exist> <debian-package>
    local path=$1 pkg=$2
    [ -e "$path" ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "$path missing: installing Debian package $pkg"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >"$LOGS/apt-$pkg.log" 2>&1 ||
            log "apt-get install $pkg failed (see $LOGS/apt-$pkg.log)"
    fi
    [ -e "$path" ] || skip "$path not found and package $pkg could not be installed"
}

# ------------------------------------------------------------------ locks --
# Both flavours share the source tree and the selftests; ctest may run the two
# build fixtures concurrently, so the shared part runs under a lock.
with_lock() {   # with_lock <lockfile> <cmd...>
    local lf=$1; shift
    exec {lockfd}>"$lf"
    if ! flock -n "$lockfd"; then
        log "waiting for lock $lf (another agebench-kernel is running)"
        flock "$lockfd"
    fi
    "$@"
    local rc=$?
    flock -u "$lockfd"; exec {lockfd}>&-
    return $rc
}


# ------------------------------------------------------------------ build --
run_logged() {   # run_logged <logfile> <cmd...>
    local lf=$1; shift
    if [ "$VERBOSE" = 1 ]; then
        "$@" 2>&1 | tee -a "$lf"
    else
        if ! "$@" >>"$lf" 2>&1; then
            echo "---- last 40 lines of $lf ----" >&2; tail -n 40 "$lf" >&2
            return 1
        fi
    fi
}


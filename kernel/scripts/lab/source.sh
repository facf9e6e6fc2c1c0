# shellcheck shell=bash disable=SC2034,SC2154 # globals shared with agebench-kernel (checked together: shellcheck -x)
# agebench-kernel: the source tree: unpack the tarball, apply/revert the series, the stock tree.
# Sourced by kernel/scripts/agebench-kernel (which sets PROG, REPO, KERNEL_DIR, the
# options and the helpers in lab/common.sh); defines functions only.

# ------------------------------------------------------------ patch series --
series_patches() {   # prints patch file names in order
    [ -f "$SERIES" ] || return 0
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e 's/^[[:space:]]*//' "$SERIES" | grep -v '^$' || true
}

# Hash of everything that defines the source tree.
source_hash() {
    {
        echo "tarball $(readlink -f "$AGEBENCH_KERNEL_TARBALL") $(stat -c '%s %Y' "$AGEBENCH_KERNEL_TARBALL")"
        local p
        while read -r p; do
            [ -f "$AGEBENCH_KERNEL_PATCHES/$p" ] ||
                die "patch '$p' listed in $SERIES does not exist"
            echo "patch $p $(sha256sum < "$AGEBENCH_KERNEL_PATCHES/$p" | cut -d' ' -f1)"
        done < <(series_patches)
    } | sha256sum | cut -d' ' -f1
}

tarball_id() { echo "$(readlink -f "$AGEBENCH_KERNEL_TARBALL") $(stat -c '%s %Y' "$AGEBENCH_KERNEL_TARBALL")"; }

patch_paths() {   # files a patch touches (relative to the tree root)
    awk '
        /^diff --git / { a=$3; b=$4; sub(/^a\//,"",a); sub(/^b\//,"",b); print a; print b; next }
        /^(---|\+\+\+) / { p=$2; sub(/\t.*/,"",p); if (p!="/dev/null") { sub(/^[ab]\//,"",p); print p } next }
        /^rename (from|to) / { print $3 }
    ' "$1" | sort -u
}

# Undo the previously applied series: restore saved originals (with a fresh
# mtime so make rebuilds them) and delete files the series created.
revert_series() {
    [ -d "$STATE/orig" ] || [ -f "$STATE/created" ] || return 0
    # remember content and mtime of every file the old series produced, so
    # that apply_series can give unchanged files their old mtime back (make
    # then rebuilds only what the new series really changed)
    : > "$STATE/mtimes"
    { (cd "$STATE/orig" 2>/dev/null && find . -type f | sed 's|^\./||'); cat "$STATE/created" 2>/dev/null; } |
        while IFS= read -r f; do
            [ -n "$f" ] && [ -f "$SRC/$f" ] &&
                echo "$(sha256sum < "$SRC/$f" | cut -d' ' -f1) $(stat -c %Y "$SRC/$f") $f" >> "$STATE/mtimes"
        done
    log "reverting previously applied patches"
    if [ -d "$STATE/orig" ]; then
        (cd "$STATE/orig" && find . -type f -print0) | while IFS= read -r -d '' f; do
            f=${f#./}
            mkdir -p "$(dirname "$SRC/$f")"
            cp "$STATE/orig/$f" "$SRC/$f"
            touch "$SRC/$f"
        done
    fi
    if [ -f "$STATE/created" ]; then
        while IFS= read -r f; do [ -n "$f" ] && rm -f "$SRC/$f"; done < "$STATE/created"
    fi
    rm -rf "$STATE/orig" "$STATE/created"
}

apply_series() {
    local n=0 p f
    mkdir -p "$STATE/orig"; : > "$STATE/created"
    while read -r p; do
        n=$((n + 1))
        local pf="$AGEBENCH_KERNEL_PATCHES/$p"
        # save originals before touching anything, so a failed apply can be undone
        while IFS= read -r f; do
            [ -n "$f" ] || continue
            if [ -e "$SRC/$f" ]; then
                if [ ! -e "$STATE/orig/$f" ] && ! grep -qxF "$f" "$STATE/created"; then
                    mkdir -p "$(dirname "$STATE/orig/$f")"; cp -p "$SRC/$f" "$STATE/orig/$f"
                fi
            else
                grep -qxF "$f" "$STATE/created" || echo "$f" >> "$STATE/created"
            fi
        done < <(patch_paths "$pf")
        # GIT_CEILING_DIRECTORIES: the build dir may live inside the repo's git
        # worktree; git apply must not treat the kernel tree as a subdirectory of it.
        local out
        if ! out=$(cd "$SRC" && GIT_CEILING_DIRECTORIES="$(dirname "$SRC")" \
                   git apply --check -v "$pf" 2>&1); then
            echo "$out" | grep -v '^Checking patch' >&2 || true
            die "patch $n of the series, '$p', does not apply to $(cat "$KB/kernelversion") (git's message above); the patches before it stay applied; fix kernel/patches/$p and rerun"
        fi
        (cd "$SRC" && GIT_CEILING_DIRECTORIES="$(dirname "$SRC")" git apply "$pf") ||
            die "git apply of '$p' failed after a successful --check"
        log "applied $p"
    done < <(series_patches)
    echo "$n" > "$STATE/npatches"
    # files the new series left as the old one had them: old mtime back
    if [ -f "$STATE/mtimes" ]; then
        local h t kept=0
        while read -r h t f; do
            if [ -f "$SRC/$f" ] && [ "$(sha256sum < "$SRC/$f" | cut -d' ' -f1)" = "$h" ]; then
                touch -d "@$t" "$SRC/$f"; kept=$((kept + 1))
            fi
        done < "$STATE/mtimes"
        rm -f "$STATE/mtimes"
        log "$kept patched file(s) unchanged since the last build: mtimes kept"
    fi
}

prepare_source() {
    ensure_pkg "$AGEBENCH_KERNEL_TARBALL" linux-source-6.12
    local want have=""
    want=$(source_hash)
    [ -f "$STATE/stamp" ] && have=$(cat "$STATE/stamp")
    if [ -d "$SRC" ] && [ "$want" = "$have" ]; then
        log "source tree up to date ($(cat "$KB/kernelversion"), $(cat "$STATE/npatches" 2>/dev/null || echo 0) patches)"
        return 0
    fi
    rm -f "$STATE/stamp"
    if [ ! -d "$SRC" ] || [ "$(cat "$STATE/tarball" 2>/dev/null)" != "$(tarball_id)" ]; then
        log "unpacking $AGEBENCH_KERNEL_TARBALL (about a minute)"
        rm -rf "$SRC" "$STATE" "$KB/src/unpack.tmp"
        # a new tarball makes every object suspect (tar keeps upstream mtimes)
        rm -rf "$KB/obj" "$KB/obj-debug" "$SELDIR" "$HDR"
        mkdir -p "$KB/src/unpack.tmp" "$STATE"
        nice tar -xf "$AGEBENCH_KERNEL_TARBALL" -C "$KB/src/unpack.tmp"
        local top
        top=$(find "$KB/src/unpack.tmp" -mindepth 1 -maxdepth 1 -type d | head -1)
        [ -f "$top/Makefile" ] || die "$AGEBENCH_KERNEL_TARBALL did not unpack to a kernel tree"
        mv "$top" "$SRC"; rm -rf "$KB/src/unpack.tmp"
        tarball_id > "$STATE/tarball"
    else
        revert_series
    fi
    make -s -C "$SRC" kernelversion > "$KB/kernelversion"
    log "kernel version $(cat "$KB/kernelversion")"
    apply_series
    local n; n=$(cat "$STATE/npatches")
    # remember which patches went in (shown by 'test', passed to the guest)
    series_patches > "$STATE/applied"
    echo "$want" > "$STATE/stamp"
    log "source tree ready: $(cat "$KB/kernelversion") + $n patches"
}

# The stock tree: hard links to the unpacked source (no second copy), with
# the files the series touched restored from the saved originals and those
# it created left out. git apply and revert_series replace (unlink + create)
# or only ever rewrite files of the series, so a write never reaches the
# stock tree through a shared inode. Rebuilt when the series changes (the
# content stays pristine 6.12, so make rebuilds nothing).
prepare_stock() {
    local want; want=$(cat "$STATE/stamp")
    if [ -d "$STOCK_SRC" ] && [ "$(cat "$KB/src/stock.stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    log "stock tree: $STOCK_SRC (hard links into $SRC, the series' files restored)"
    rm -rf "$STOCK_SRC" "$KB/src/stock.stamp"
    cp -al "$SRC" "$STOCK_SRC"
    if [ -d "$STATE/orig" ]; then
        (cd "$STATE/orig" && find . -type f -print0) | while IFS= read -r -d '' f; do
            f=${f#./}
            rm -f "$STOCK_SRC/$f"; cp -p "$STATE/orig/$f" "$STOCK_SRC/$f"
        done
    fi
    if [ -f "$STATE/created" ]; then
        while IFS= read -r f; do [ -n "$f" ] && rm -f "$STOCK_SRC/$f"; done < "$STATE/created"
    fi
    echo "$want" > "$KB/src/stock.stamp"
}


#!/usr/bin/env bash
# faults_import_disk.sh - every writing command on a really full disk.
#
# usage: faults_import_disk.sh DMATRACE TOOLS_DIR
#
# Runs in a private mount namespace (unshare -m) and mounts small tmpfs
# file systems there, so the kernel itself answers ENOSPC (SQLite: "database
# or disk is full"); nothing is visible outside the test.  Skipped (77)
# where mounting is not allowed.
#  - import onto 64 KiB, 256 KiB and half the database's size: exit 3, one
#    error line naming the output, nothing left on the file system;
#  - export (chrome) and recover -o onto a 16 KiB file system: exit 3, one
#    error line, nothing left;
#  - record onto a 64 KiB file system: exit 3, "No space left on device",
#    the trace on disk reads to a clean cut and `recover` makes it whole;
#  - capture -o onto a 64 KiB file system: exit 3 with the same message.
if [[ -z ${DMT_IN_MOUNT_NS:-} ]]; then
    if ! unshare --mount --propagation private true 2>/dev/null; then
        echo "cannot create a mount namespace here; skipped"
        exit 77
    fi
    DMT_IN_MOUNT_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
source "$(dirname "${BASH_SOURCE[0]}")/../system/lib.sh"
"$DMT" --help | grep -q "^  capture " || { echo "no capture in this build"; exit 77; }
MNT=$WORK/mnt
mkdir -p "$MNT"
trap 'st=$?; umount "$MNT" 2>/dev/null || true; rm -rf "$WORK"; exit $st' EXIT
mount_tmpfs() {
    mount -t tmpfs -o "size=$1" tmpfs "$MNT" 2>/dev/null
}
mount_tmpfs 16k || { echo "mounting tmpfs is not allowed; skipped"; exit 77; }
umount "$MNT"

T=$WORK/t.dmat
"$DMT" capture --scenario mixed --transfers 40 --deterministic-clock -o "$T" >/dev/null 2>&1 ||
    { echo "capture failed"; exit 1; }
"$DMT" import "$T" -o "$WORK/t.db" >/dev/null 2>&1 || { echo "import failed"; exit 1; }
dbk=$(( $(stat -c %s "$WORK/t.db") / 1024 ))
echo "reference database: ${dbk} KiB"

# expect_full STATUS CMD...: the command fails with STATUS and one error
# line; the file system is left empty.
nothing_left() {
    local left
    left=$(find "$MNT" -mindepth 1 | head -n 3 | tr '\n' ' ')
    [[ -z $left ]] || fail "$1: left $left on the full file system"
}

for size in 64k 256k $((dbk / 2))k; do
    mount_tmpfs "$size"
    if expect_status 3 "$DMT" import "$T" -o "$MNT/t.db"; then
        expect_one_line_error "$MNT/t.db"
        grep -qiE "full|space" "$WORK/err" || fail "import on $size: no 'full' in: $(cat "$WORK/err")"
    fi
    nothing_left "import on $size"
    umount "$MNT"
done

mount_tmpfs 16k
if expect_status 3 "$DMT" export "$T" --format chrome -o "$MNT/t.json"; then
    expect_one_line_error "$MNT/t.json"
fi
nothing_left "export"
size=$(stat -c %s "$T")
head -c $((size * 2 / 3)) "$T" >"$WORK/cut.dmat"
if expect_status 3 "$DMT" recover "$WORK/cut.dmat" -o "$MNT/r.dmat"; then
    expect_one_line_error "$MNT/r.dmat"
fi
nothing_left "recover"
umount "$MNT"

# The recorder on a full disk (a real ENOSPC, not the injected one).
mount_tmpfs 64k
ring=$WORK/r.ring
"$DMT" record --ring "$ring" -o "$MNT/rec.dmat" --size 4 --exit-idle 3000 2>"$WORK/rec.err" &
rpid=$!
wait_for_ring "$ring" || true
"$DMT" capture --scenario mixed --transfers 300 --ring "$ring" >/dev/null 2>"$WORK/cap.err" ||
    fail "capture --ring failed: $(cat "$WORK/cap.err")"
st=0
wait $rpid || st=$?
[[ $st -eq 3 ]] || fail "record on a full disk exited $st, want 3"
grep -q "No space left on device" "$WORK/rec.err" || fail "record: no clear message: $(cat "$WORK/rec.err")"
cp "$MNT/rec.dmat" "$WORK/rec.dmat"
umount "$MNT"
"$PY" "$TOOLS/check_trace.py" "$WORK/rec.dmat" --allow-cut >/dev/null || fail "record: the file is unreadable"
expect_status 0 "$DMT" info "$WORK/rec.dmat" && { grep -q "cut at byte" "$WORK/out" || fail "record: info does not report the cut"; }
expect_status 0 "$DMT" recover "$WORK/rec.dmat" &&
    { "$PY" "$TOOLS/check_trace.py" "$WORK/rec.dmat" >/dev/null || fail "record: recovered file invalid"; }

mount_tmpfs 64k
expect_status 3 "$DMT" capture --scenario mixed --transfers 300 -o "$MNT/c.dmat" &&
    { grep -q "No space left on device" "$WORK/err" || fail "capture: no clear message: $(cat "$WORK/err")"; }
umount "$MNT"
finish

#!/usr/bin/env bash
# memcheck_pipeline.sh - the whole tool chain under valgrind memcheck:
# capture -> info/dump -> record (from a ring) -> recover -> import ->
# replay -> audit -> diff -> export -> render (when the viewer is built).
#
# usage: memcheck_pipeline.sh DMATRACE TOOLS_DIR SANITIZED [DMATRACE_VIEWER]
#
# Every command runs under
#   valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite
# (invalid reads/writes, uses of uninitialised values, bad frees and
# definitely lost blocks are errors) and must exit 0: the session is a
# clean deterministic capture, so replay finds no divergence, audit no
# finding and diff no difference - status 1 can only be a memcheck error
# or a false result.  The viewer's render additionally gets suppressions
# for the process-lifetime caches of fontconfig/pango/GLib (memcheck.supp).
# Label "valgrind"; minutes, not seconds.  Skipped (77) without valgrind or
# in a sanitizer build.
source "$(dirname "${BASH_SOURCE[0]}")/../system/lib.sh"
VIEWER=${4:-}
command -v valgrind >/dev/null || { echo "no valgrind; skipped"; exit 77; }
if [[ ${3:-0} == 1 ]] || ldd "$DMT" 2>/dev/null | grep -qE "lib(a|t|ub)san"; then
    echo "sanitizer build (valgrind cannot run it); skipped"
    exit 77
fi
"$DMT" --help | grep -q "^  capture " || { echo "no capture in this build"; exit 77; }
SUPP=$(dirname "${BASH_SOURCE[0]}")/memcheck.supp
VG=(valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --num-callers=30 --suppressions="$SUPP" --log-file="$WORK/vg.%p")

vg() {
    local name=$1
    shift
    local st=0
    "${VG[@]}" "$@" >"$WORK/out" 2>"$WORK/err" || st=$?
    if [[ $st -ne 0 ]]; then
        fail "$name: exit $st under memcheck: $(head -c 300 "$WORK/err")"
        grep -h -A12 -E "Invalid|uninitialised|definitely lost|Mismatched|invalid free" \
            "$WORK"/vg.* | head -n 40 >&2 || true
    else
        echo "$name: clean ($(summary))"
    fi
    rm -f "$WORK"/vg.*
}

# The memcheck verdict of the last command, e.g. "0 errors, 0 bytes
# definitely lost, 2 suppressed" (all its processes).
summary() {
    local errs lost supp
    errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$WORK"/vg.* | awk '{s+=$1} END {print s+0}')
    lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$WORK"/vg.* | tr -d , |
        awk '{s+=$1} END {print s+0}')
    supp=$(sed -n 's/.*ERROR SUMMARY: .*(suppressed: \([0-9]*\) from.*/\1/p' "$WORK"/vg.* |
        awk '{s+=$1} END {print s+0}')
    echo "$errs errors, $lost bytes definitely lost, $supp suppressed"
}

T=$WORK/t.dmat
vg capture "$DMT" capture --scenario mixed --transfers 4 --deterministic-clock -o "$T"
vg info "$DMT" info "$T"
vg dump "$DMT" dump "$T"
size=$(stat -c %s "$T")
head -c $((size * 2 / 3)) "$T" >"$WORK/cut.dmat"
vg recover "$DMT" recover "$WORK/cut.dmat" -o "$WORK/rec.dmat"

# record, draining a ring that a (native) capture fills
ring=$WORK/r.ring
"${VG[@]}" "$DMT" record --ring "$ring" -o "$WORK/ring.dmat" --size 1 --exit-idle 3000 \
    >"$WORK/rout" 2>"$WORK/rerr" &
rpid=$!
for i in $(seq 1 500); do [[ -s $ring ]] && { sleep 0.2; break; }; sleep 0.02; done
"$DMT" capture --scenario mixed --transfers 4 --ring "$ring" >/dev/null 2>&1 ||
    fail "capture --ring failed"
st=0
wait $rpid || st=$?
if [[ $st -ne 0 ]]; then
    fail "record: exit $st under memcheck: $(head -c 300 "$WORK/rerr")"
    grep -h -A12 -E "Invalid|uninitialised|definitely lost" "$WORK"/vg.* | head -n 40 >&2 || true
else
    echo "record: clean ($(summary))"
fi
rm -f "$WORK"/vg.*
"$PY" "$TOOLS/check_trace.py" "$WORK/ring.dmat" >/dev/null || fail "record: trace invalid"

vg import "$DMT" import "$T" -o "$WORK/t.db"
vg info-db "$DMT" info "$WORK/t.db"
vg replay "$DMT" replay "$T" --all
vg replay-db "$DMT" replay "$WORK/t.db" --json
vg audit "$DMT" audit "$T"
vg audit-db "$DMT" audit "$WORK/t.db" --json
vg diff "$DMT" diff "$T" "$WORK/t.db"
vg export "$DMT" export "$WORK/t.db" --format chrome -o "$WORK/t.json"
vg export-csv "$DMT" export "$T" --format csv -o "$WORK/csv"
if [[ -n $VIEWER && -x $VIEWER ]]; then
    vg render "$VIEWER" --render "$WORK/t.png" --size 800x400 "$WORK/t.db"
    vg render-layout "$VIEWER" --render "$WORK/l.png" --view layout --select 1 "$WORK/t.db"
else
    echo "render: no viewer in this build"
fi
finish

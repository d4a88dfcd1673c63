#!/usr/bin/env bash
# faults_malloc.sh - allocation failure in every dmatrace command.
#
# usage: faults_malloc.sh DMATRACE TOOLS_DIR LIBFAILMALLOC.so SANITIZED
#
# For each command (capture, record, info, dump, recover, import, audit of
# a trace and of a database, export, replay, diff) the failmalloc shim
# (failmalloc.c, LD_PRELOAD) first counts the command's allocation calls,
# then makes the Nth call fail, for every N up to 120 and 40 more spread
# over the rest, and finally every call from the first, the middle and the
# last one on.  Each run must end with the command's normal status, or
# with status 2 or 3 and an error line on stderr that starts with
# "dmatrace" - never by a signal, a hang or a sanitizer/assert report.  A
# command that writes a whole file (import, recover -o, export) must leave
# nothing behind when it fails: no output, no temporary file.
# Skipped (77) in sanitizer builds, where the sanitizer owns malloc.
source "$(dirname "${BASH_SOURCE[0]}")/../system/lib.sh"
SHIM=$3
if [[ ${4:-0} == 1 || ${4:-} == ON ]]; then
    echo "sanitizer build: the sanitizer replaces malloc; skipped"
    exit 77
fi
[[ -f $SHIM ]] || { echo "no shim $SHIM"; exit 1; }
"$DMT" --help | grep -q "^  capture " || { echo "no capture in this build"; exit 77; }
FIRST=${DMT_FAILMALLOC_FIRST:-120}
SPREAD=${DMT_FAILMALLOC_SPREAD:-40}

T=$WORK/t.dmat
"$DMT" capture --scenario mixed --transfers 3 --deterministic-clock -o "$T" >/dev/null 2>&1 ||
    { echo "capture failed"; exit 1; }
"$DMT" import "$T" -o "$WORK/t.db" >/dev/null 2>&1 || { echo "import failed"; exit 1; }
# A cut copy for recover.
size=$(stat -c %s "$T")
head -c $((size - 7)) "$T" >"$WORK/cut.dmat"
# A closed ring holding a session, for record.
"$DMT" capture --scenario mixed --transfers 2 --ring "$WORK/r.ring" --ring-size 1 \
    >/dev/null 2>&1 || { echo "capture --ring failed"; exit 1; }
cp "$WORK/r.ring" "$WORK/r.ring.orig"

# The outputs a command may leave; removed before each run.
OUT=$WORK/out
reset_out() {
    rm -rf "$OUT"
    mkdir -p "$OUT"
    cp "$WORK/r.ring.orig" "$WORK/r.ring"
}

# run_one N CMD...: run under the shim failing call N (every call from N
# on when ALL=1); sets st, calls, failed.
run_one() {
    local n=$1
    shift
    rm -f "$WORK/log"
    st=0
    export DMT_FAILMALLOC_ALL=${ALL:-0}
    # Only the command runs under the shim (not timeout, not bash).
    timeout -s KILL 120 bash -c 'DMT_FAILMALLOC_N=$0 DMT_FAILMALLOC_LOG=$1 LD_PRELOAD=$2 exec "${@:3}"' \
        "$n" "$WORK/log" "$SHIM" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || st=$?
    # (no log when the command died by a signal: its destructor never ran)
    calls=$(awk '{print $2}' "$WORK/log" 2>/dev/null | tail -n 1 || true)
    failed=$(awk '{print $4}' "$WORK/log" 2>/dev/null | tail -n 1 || true)
    calls=${calls:-0}
    failed=${failed:-0}
}

# leftovers MODE: what a failed run left in $OUT that it must not have:
# whole-file commands nothing at all, the others no temporary file.
leftovers() {
    if [[ $1 == whole ]]; then
        find "$OUT" -mindepth 1 | head -n 3
    else
        find "$OUT" -name '*.tmp-*' | head -n 3
    fi
}

total_runs=0
check_cmd() {
    local name=$1 whole=$2
    shift 2
    reset_out
    ALL=0
    run_one 0 "$@"
    local base=$st base_calls=$calls
    if [[ $base -ne 0 && $base -ne 1 ]]; then
        fail "$name: exits $base without any fault: $(head -c 300 "$WORK/err.txt")"
        return
    fi
    if [[ $base_calls -eq 0 ]]; then
        fail "$name: the shim counted no allocation (not preloaded?)"
        return
    fi
    local ns n
    ns=$(seq 1 $((base_calls < FIRST ? base_calls : FIRST)))
    if ((base_calls > FIRST)); then
        ns="$ns $(awk -v a=$FIRST -v b="$base_calls" -v k="$SPREAD" \
            'BEGIN { for (i = 1; i <= k; i++) printf "%d ", a + int((b - a) * i / k) }')"
    fi
    # then every allocation failing from a point on (a: prefix), at three points
    ns="$ns a1 a$(((base_calls + 1) / 2)) a$base_calls"
    local bad=0 hit=0
    for n in $ns; do
        reset_out
        ALL=0
        [[ $n == a* ]] && { ALL=1; n=${n#a}; }
        run_one "$n" "$@"
        total_runs=$((total_runs + 1))
        local why=""
        if ((st >= 124)); then
            why="killed by a signal or hung (status $st)"
        elif [[ $st -ne $base && $st -ne 2 && $st -ne 3 ]]; then
            why="exit status $st (normal $base)"
        elif grep -qE "Sanitizer|Segmentation|Assertion|Aborted|core dumped" "$WORK/err.txt"; then
            why="crash report on stderr"
        elif [[ $st -ne $base ]] && ! grep -q "^dmatrace" "$WORK/err.txt"; then
            why="failed without an error line"
        elif [[ $st -ne 0 && -n $(leftovers "$whole") ]]; then
            why="failed but left $(leftovers "$whole" | tr '\n' ' ')"
        elif [[ $failed -eq 0 && $st -ne $base ]]; then
            why="status $st although no allocation failed"
        fi
        [[ $failed -ne 0 ]] && hit=$((hit + 1))
        if [[ -n $why ]]; then
            bad=$((bad + 1))
            if ((bad <= 3)); then
                fail "$name: allocation $n of $base_calls failed: $why; stderr: $(head -c 300 "$WORK/err.txt")"
            fi
        fi
    done
    ((bad > 3)) && fail "$name: $bad failing runs in all"
    echo "$name: $base_calls allocations, $hit runs with a failed allocation, $bad bad"
}

check_cmd capture stream "$DMT" capture --scenario mixed --transfers 2 --deterministic-clock \
    -o "$OUT/c.dmat"
check_cmd record stream "$DMT" record --ring "$WORK/r.ring" -o "$OUT/rec.dmat" --exit-idle 100
check_cmd info - "$DMT" info "$T"
check_cmd info-db - "$DMT" info "$WORK/t.db"
check_cmd dump - "$DMT" dump "$T"
check_cmd recover whole "$DMT" recover "$WORK/cut.dmat" -o "$OUT/rec.dmat"
check_cmd import whole "$DMT" import "$T" -o "$OUT/t.db"
check_cmd audit - "$DMT" audit "$T" --json
check_cmd audit-db - "$DMT" audit "$WORK/t.db"
check_cmd export whole "$DMT" export "$T" --format chrome -o "$OUT/t.json"
check_cmd export-csv dir "$DMT" export "$WORK/t.db" --format csv -o "$OUT/csv"
check_cmd replay - "$DMT" replay "$T" --all
check_cmd diff - "$DMT" diff "$T" "$T"
echo "$total_runs runs"
finish

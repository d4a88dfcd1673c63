#!/usr/bin/env bash
# test_windows_record.sh - the Windows recorder (dmatrace.exe, x64, built
# with mingw-w64) running under Wine drains a ring file that the Linux
# `capture --ring` writes at the same time, through a Win32 file mapping.
# Its trace must account for every sequence number, decode with the
# independent CBOR decoder, replay and audit clean, carry the Windows
# machine keys, and hold exactly the records the Linux recorder writes from
# the same deterministic session.  A slow Windows consumer on a small
# overwrite ring records the same losses the ring counted.  `carve` under
# Wine finds the ring in the file and extracts the same records as on Linux.
# $3: the x64 dmatrace.exe.  Skips (77) only when wine64 is not installed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
EXE=${3:-}
WINE=/usr/lib/wine/wine64
[[ -x $WINE ]] || { echo "wine64 is not installed (scripts/deps installs it)"; exit 77; }
[[ -n $EXE && -f $EXE ]] || { fail "no dmatrace.exe ($EXE)"; finish; }
"$DMT" --help | grep -q "^  capture " || { echo "no capture in this build"; exit 77; }

export WINEPREFIX=$WORK/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
# One wineserver for the whole test (-p: it does not exit 3 s after the last
# process, so no Wine process races a server on its way out - on a loaded CI
# machine such a start failed silently with status 1), and the prefix made
# up front, before any command whose status the test checks.  Stop the
# server before lib.sh's trap removes the prefix.
trap '/usr/lib/wine/wineserver -k 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$WINEPREFIX" && /usr/lib/wine/wineserver -p
"$WINE" wineboot --init >/dev/null 2>&1 || { fail "wineboot --init failed"; finish; }
win() { echo "Z:${1//\//\\}"; }   # the Linux path as Wine's Z: drive sees it
wexe() { "$WINE" "$EXE" "$@"; }
json_get() { "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval("d"+sys.argv[2]))' "$@"; }

# Only record and carve are built in.
cmds=$(wexe --help | awk '/^  [a-z]/{print $1}' | tr '\n' ' ')
[[ $cmds == "record carve " ]] || fail "dmatrace.exe commands: '$cmds', want 'record carve '"
expect_status 2 wexe carve --merge x.dmat y.img
grep -q "needs libcbor" "$WORK/err" || fail "carve --merge: no clear message: $(cat "$WORK/err")"

# --escape needs a display driver that forwards the dmatrace escape; Wine's
# does not: one clear line, exit 3, no output file.
expect_status 3 wexe record --escape -o "$(win "$WORK/esc.dmat")"
grep -q "^dmatrace record: --escape: " "$WORK/err" || fail "--escape: unclear error: $(cat "$WORK/err")"
[[ ! -e $WORK/esc.dmat ]] || fail "--escape: a trace was written without a ring"
expect_status 2 wexe record --escape --ring "$(win "$WORK/x.ring")" -o "$(win "$WORK/x.dmat")"

# The same deterministic session, recorded by the Windows and the Linux recorder.
record_session() { # $1 recorder (win|linux), $2 stem
    local ring=$WORK/$2.ring out=$WORK/$2.dmat pid
    if [[ $1 == win ]]; then
        wexe record --ring "$(win "$ring")" -o "$(win "$out")" --size 4 2>"$WORK/$2.err" &
    else
        "$DMT" record --ring "$ring" -o "$out" --size 4 2>"$WORK/$2.err" &
    fi
    pid=$!
    wait_for_ring "$ring" 30 || { fail "$2: the ring never appeared"; kill $pid; return 1; }
    "$DMT" capture --scenario mixed --seed 5 --deterministic-clock --ring "$ring" >/dev/null 2>&1 ||
        fail "$2: capture failed"
    wait $pid || fail "$2: record exited $?: $(cat "$WORK/$2.err")"
}
record_session win w
record_session linux l

json=$("$PY" "$TOOLS/check_trace.py" "$WORK/w.dmat" --header) || fail "Windows trace: the CBOR decoder refuses it"
if [[ -n $json ]]; then
    records=$(json_get "$json" '["records"]')
    lost=$(json_get "$json" '["lost"]')
    span=$(($(json_get "$json" '["next_seq"]') - $(json_get "$json" '["seq0"]')))
    ((records > 1000)) || fail "Windows trace: only $records records"
    ((records + lost == span)) || fail "Windows trace: $records records + $lost lost != $span numbers"
    [[ $(json_get "$json" '["closed"]') == True ]] || fail "Windows trace: no END"
    [[ $(json_get "$json" '["header"]["clock"]') == QPC ]] || fail "Windows trace: clock is not QPC"
    [[ $(json_get "$json" '["header"]["os"]') == Windows* ]] || fail "Windows trace: no Windows os key"
    for k in os_build cpus page_size clock_hz phys_mem; do
        (($(json_get "$json" "[\"header\"].get(\"$k\", 0)") > 0)) || fail "Windows trace: header key $k missing"
    done
fi
expect_status 0 "$DMT" info "$WORK/w.dmat"
grep -q "^machine: *Windows .*(build [1-9]" "$WORK/out" || fail "info shows no Windows machine: $(head -5 "$WORK/out")"
expect_status 0 "$DMT" replay "$WORK/w.dmat"
expect_status 0 "$DMT" audit "$WORK/w.dmat"
"$DMT" dump "$WORK/w.dmat" >"$WORK/w.txt" && "$DMT" dump "$WORK/l.dmat" >"$WORK/l.txt"
cmp -s "$WORK/w.txt" "$WORK/l.txt" || fail "Windows and Linux recorders differ: $(diff "$WORK/w.txt" "$WORK/l.txt" | head -5)"

# A slow Windows consumer on a 16 KiB overwrite ring: the losses in the file
# are exactly those the ring counted.
ring=$WORK/ow.ring
wexe record --ring "$(win "$ring")" -o "$(win "$WORK/ow.dmat")" --size 16K --policy overwrite \
    --throttle-us 2000 --exit-idle 500 2>"$WORK/ow.err" &
pid=$!
wait_for_ring "$ring" 30 || fail "overwrite: the ring never appeared"
"$DMT" capture --scenario mixed --transfers 100 --ring "$ring" >/dev/null 2>&1 || true
wait $pid || fail "overwrite: record failed: $(cat "$WORK/ow.err")"
json=$("$PY" "$TOOLS/check_trace.py" "$WORK/ow.dmat") || fail "overwrite: file invalid"
if [[ -n $json ]]; then
    lost=$(json_get "$json" '["lost"]')
    ring_lost=$(sed -n 's/.* \([0-9]*\) refused (full), \([0-9]*\) overwritten, \([0-9]*\) torn/\1 \2 \3/p' \
        "$WORK/ow.err" | awk '{print $1+$2+$3}')
    [[ -n $ring_lost && $lost -eq $ring_lost ]] || fail "overwrite: file lost $lost, ring counted '$ring_lost'"
    ((lost > 0)) || fail "overwrite: the slow consumer lost nothing (test too gentle)"
fi

# Ctrl-C (Wine turns SIGINT into the console event) while no producer
# closes the ring: a clean stop and a closed file; --status rewrites its
# file in place on every idle flush (MoveFileEx over the old one), --sync
# flushes every chunk.
# (A background job of a script starts with SIGINT ignored: undo that.)
ring=$WORK/int.ring
"$PY" -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
    "$WINE" "$EXE" record --ring "$(win "$ring")" -o "$(win "$WORK/int.dmat")" --size 64K --sync \
    --status "$(win "$WORK/int.status")" 2>"$WORK/int.err" &
pid=$!
wait_for_ring "$ring" 30 || fail "ctrl-c: the ring never appeared"
for _ in $(seq 1 100); do [[ -s $WORK/int.status ]] && break; sleep 0.05; done
sleep 0.3
kill -INT $pid || fail "ctrl-c: the recorder is gone before the signal"
st=0
wait $pid || st=$?
((st == 0)) || fail "ctrl-c: record exited $st: $(cat "$WORK/int.err")"
grep -q "stopped by signal" "$WORK/int.err" || fail "ctrl-c: not stopped by the signal: $(cat "$WORK/int.err")"
"$PY" "$TOOLS/check_trace.py" "$WORK/int.dmat" >/dev/null || fail "ctrl-c: trace invalid"
grep -q "^records 0" "$WORK/int.status" || fail "ctrl-c: status file: $(cat "$WORK/int.status" 2>&1)"
[[ -z $(ls "$WORK" | grep "\.tmp") ]] || fail "temporary files left: $(ls "$WORK" | grep "\.tmp")"

# carve: the drained ring file is a memory image holding one (closed) ring;
# the second carve replaces the first one's output.
expect_status 0 wexe carve "$(win "$WORK/w.ring")" -o "$(win "$WORK/wc.dmat")"
expect_status 0 wexe carve "$(win "$WORK/w.ring")" -o "$(win "$WORK/wc.dmat")"
expect_status 0 "$DMT" carve "$WORK/w.ring" -o "$WORK/lc.dmat"
"$PY" "$TOOLS/check_trace.py" "$WORK/wc.dmat" >/dev/null || fail "carve under Wine: invalid trace"
cmp -s <("$DMT" dump "$WORK/wc.dmat") <("$DMT" dump "$WORK/lc.dmat") ||
    fail "carve: the Windows and Linux extractions differ"
finish

#!/usr/bin/env bash
# test_follow.sh - `dump --follow` and `audit --follow` on a trace that is
# still being written.  A finished trace copied into place in steps (dd)
# dumps and audits exactly like the finished file; a copy cut inside a
# record that stops growing says so and prints what it has; a bad chunk
# gets the finished file's verdict; truncation and replacement stop the
# follower with one line; the live pair `record` + `capture --ring` with a
# planted fault: the follower sees every record on disk and the finding,
# also when the recorder is killed.  Latencies are reported, never asserted.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$DMT" --help | grep -q "^  capture " || { echo "no capture in this build"; exit 77; }

# grow SRC DST STEP [LIMIT]: copy SRC's first LIMIT bytes into DST in
# STEP-byte pieces, a little at a time, like a recorder writing.
grow() {
    local src=$1 dst=$2 step=$3 limit=${4:-$(stat -c %s "$1")} off=0
    while ((off < limit)); do
        local n=$step
        ((off + n > limit)) && n=$((limit - off))
        dd if="$src" of="$dst" iflag=skip_bytes,count_bytes oflag=seek_bytes skip=$off \
            seek=$off count=$n conv=notrunc status=none
        off=$((off + n))
        sleep 0.01
    done
}

"$DMT" capture --scenario mixed --transfers 300 --seed 5 --inject sg-skip \
    --deterministic-clock -o "$WORK/full.dmat" >/dev/null 2>&1
size=$(stat -c %s "$WORK/full.dmat")
"$DMT" dump "$WORK/full.dmat" >"$WORK/full.dump"
"$DMT" audit "$WORK/full.dmat" >"$WORK/full.audit" && fail "planted fault not found" || true

# 1. Grown in odd-sized steps (records and chunks split across steps).
: >"$WORK/g1.dmat"
grow "$WORK/full.dmat" "$WORK/g1.dmat" 50021 &
gpid=$!
"$DMT" dump --follow --stall-ms 60000 "$WORK/g1.dmat" >"$WORK/g1.dump" 2>"$WORK/g1.err" ||
    fail "dump --follow exited $?: $(cat "$WORK/g1.err")"
wait $gpid
cmp -s "$WORK/g1.dump" "$WORK/full.dump" || fail "dump --follow differs from dump of the finished file"
[[ -s $WORK/g1.err ]] && fail "dump --follow of a clean trace wrote to stderr: $(cat "$WORK/g1.err")"

: >"$WORK/g2.dmat"
grow "$WORK/full.dmat" "$WORK/g2.dmat" 65536 &
gpid=$!
st=0
"$DMT" audit --follow --stall-ms 60000 "$WORK/g2.dmat" >"$WORK/g2.audit" 2>"$WORK/g2.err" || st=$?
wait $gpid
[[ $st -eq 1 ]] || fail "audit --follow exited $st, want 1 (findings): $(cat "$WORK/g2.err")"
grep -q "^prog-skipped error: seq " "$WORK/g2.audit" || fail "audit --follow printed no live finding"
# After the live lines, the summary equals the finished file's audit.
sed -n '/^[^ ]*\.dmat: /,$p' "$WORK/g2.audit" | sed "s#$WORK/g2.dmat#F#" >"$WORK/g2.sum"
sed "s#$WORK/full.dmat#F#" "$WORK/full.audit" >"$WORK/full.sum"
cmp -s "$WORK/g2.sum" "$WORK/full.sum" || fail "audit --follow summary differs: $(diff "$WORK/g2.sum" "$WORK/full.sum" | head -5)"

# 2. The writer stops inside a record (no END): after the stall time the
# follower says so and prints exactly what dump prints for those bytes.
cut=$((size / 2 + 7))
head -c $cut "$WORK/full.dmat" >"$WORK/cut.dmat"
"$DMT" dump "$WORK/cut.dmat" >"$WORK/cut.dump" 2>"$WORK/cut.err"
: >"$WORK/g3.dmat"
grow "$WORK/full.dmat" "$WORK/g3.dmat" 400000 $cut &
gpid=$!
"$DMT" dump --follow --stall-ms 2000 "$WORK/g3.dmat" >"$WORK/g3.dump" 2>"$WORK/g3.err" ||
    fail "dump --follow of a stalled trace exited $?"
wait $gpid
grep -q "stopped growing" "$WORK/g3.err" || fail "no 'stopped growing' note: $(cat "$WORK/g3.err")"
cmp -s "$WORK/g3.dump" "$WORK/cut.dump" || fail "stalled follow differs from dump of the same bytes"
grep -q "file ends inside a record" "$WORK/g3.err" || fail "stalled follow: no cut note"
st=0
"$DMT" audit --follow --stall-ms 700 "$WORK/g3.dmat" >"$WORK/g3.audit" 2>/dev/null || st=$?
[[ $st -le 1 ]] || fail "audit --follow of a stalled trace exited $st"
grep -q "trace was cut" "$WORK/g3.audit" || fail "audit --follow: cut trace not reported"

# 3. A hostile growing file: a byte flipped inside a chunk gets the same
# verdict (status and error line) as the same bytes in a finished file.
cp "$WORK/full.dmat" "$WORK/bad.dmat"
printf '\xff' | dd of="$WORK/bad.dmat" bs=1 seek=$((size / 3)) conv=notrunc status=none
bst=0
"$DMT" dump "$WORK/bad.dmat" >/dev/null 2>"$WORK/bad.err" || bst=$?
: >"$WORK/g4.dmat"
grow "$WORK/bad.dmat" "$WORK/g4.dmat" 70000 &
gpid=$!
fst=0
"$DMT" dump --follow --stall-ms 60000 "$WORK/g4.dmat" >/dev/null 2>"$WORK/g4.err" || fst=$?
wait $gpid
[[ $bst -ne 0 && $fst -eq $bst ]] || fail "bad chunk: follow exited $fst, finished file $bst"
cmp -s <(sed "s#g4.dmat#bad.dmat#" "$WORK/g4.err") "$WORK/bad.err" ||
    fail "bad chunk: follow says '$(cat "$WORK/g4.err")', finished file '$(cat "$WORK/bad.err")'"

# 4. Truncated / replaced under the follower: one line, no crash.
# (the follower has read the file once it has printed something)
started() { wait_for_file "$1" 30; }
head -c $((size / 2)) "$WORK/full.dmat" >"$WORK/t.dmat"
"$DMT" dump --follow --stall-ms 0 "$WORK/t.dmat" >"$WORK/t.out" 2>"$WORK/t.err" &
fpid=$!
started "$WORK/t.out" || fail "truncated: the follower printed nothing"
: >"$WORK/t.dmat"
st=0
wait $fpid || st=$?
[[ $st -eq 3 ]] || fail "truncated: exited $st, want 3"
[[ $(wc -l <"$WORK/t.err") -eq 1 ]] && grep -q "truncated" "$WORK/t.err" ||
    fail "truncated: $(cat "$WORK/t.err")"
head -c $((size / 2)) "$WORK/full.dmat" >"$WORK/r.dmat"
"$DMT" dump --follow --stall-ms 0 "$WORK/r.dmat" >"$WORK/r.out" 2>"$WORK/r.err" &
fpid=$!
started "$WORK/r.out" || fail "replaced: the follower printed nothing"
cp "$WORK/full.dmat" "$WORK/r2.dmat" && mv "$WORK/r2.dmat" "$WORK/r.dmat"
st=0
wait $fpid || st=$?
[[ $st -eq 3 ]] || fail "replaced: exited $st, want 3"
[[ $(wc -l <"$WORK/r.err") -eq 1 ]] && grep -q "replaced" "$WORK/r.err" ||
    fail "replaced: $(cat "$WORK/r.err")"

# 5. Live: record + capture --ring with a planted fault; followers started
# with the recorder.  Then the same with the recorder killed mid-run.
wait_for() {
    local i
    for i in $(seq 1 500); do
        [[ -s $1 ]] && return 0
        sleep 0.01
    done
    return 1
}
for mode in clean kill; do
    ring=$WORK/$mode.ring out=$WORK/$mode.dmat
    # kill: a slow recorder (still draining when killed, whatever the machine)
    slow=()
    [[ $mode == kill ]] && slow=(--throttle-us 1000)
    "$DMT" record --ring "$ring" -o "$out" --size 16 --flush-ms 100 "${slow[@]}" 2>/dev/null &
    rpid=$!
    wait_for "$out" || fail "$mode: recorder never created $out"
    stall=60000
    [[ $mode == kill ]] && stall=4000
    "$DMT" dump --follow --stall-ms $stall --latency "$out" >"$WORK/$mode.fdump" 2>"$WORK/$mode.ferr" &
    dpid=$!
    "$DMT" audit --follow --stall-ms $stall "$out" >"$WORK/$mode.faudit" 2>/dev/null &
    apid=$!
    "$DMT" capture --scenario burst --transfers 3000 --seed 9 --inject sg-skip \
        --ring "$ring" >/dev/null 2>&1 &
    cpid=$!
    seen_live=no
    while kill -0 $cpid 2>/dev/null; do
        grep -q "^prog-skipped" "$WORK/$mode.faudit" && { seen_live=yes; break; }
        sleep 0.05
    done
    if [[ $mode == kill ]]; then
        while (($(wc -l <"$WORK/$mode.fdump") < 2000)) && kill -0 $rpid 2>/dev/null; do
            sleep 0.05
        done
        kill -9 $rpid 2>/dev/null || fail "kill: the recorder ended before it was killed"
    fi
    wait $cpid || true
    [[ $mode == clean ]] && { kill -INT $rpid 2>/dev/null || true; }
    { wait $rpid || true; } 2>/dev/null
    sleep 0.1
    st=0
    wait $dpid || st=$?
    [[ $st -eq 0 ]] || fail "$mode: dump --follow exited $st: $(cat "$WORK/$mode.ferr")"
    wait $apid || true
    "$DMT" dump "$out" >"$WORK/$mode.dump" 2>/dev/null
    cmp -s "$WORK/$mode.fdump" "$WORK/$mode.dump" || fail "$mode: followed dump differs from the file's"
    if [[ $mode == clean ]]; then
        grep -q "^prog-skipped" "$WORK/$mode.faudit" || fail "clean: audit --follow missed the planted fault"
    else
        # Killed (maybe before the fault reached the file): the follower's
        # summary is the audit of the cut file.
        "$DMT" audit "$out" 2>/dev/null | sed "s#$out#F#" >"$WORK/kill.sum" || true
        sed -n '/^[^ ]*\.dmat: /,$p' "$WORK/kill.faudit" | sed "s#$out#F#" >"$WORK/kill.fsum"
        cmp -s "$WORK/kill.sum" "$WORK/kill.fsum" || fail "kill: audit --follow summary differs from audit of the cut file"
    fi
    [[ $mode == kill ]] && { grep -q "stopped growing" "$WORK/$mode.ferr" || fail "kill: no stall note"; }
    echo "$mode: $(wc -l <"$WORK/$mode.fdump") records followed; finding seen before the capture ended: $seen_live"
    grep "latency" "$WORK/$mode.ferr" || fail "$mode: no latency report"
done

finish

#!/usr/bin/env bash
# test_record.sh - the two-process recorder: `capture --ring` produces,
# `record --ring` drains.  SIGKILL of the recorder at 20 random points: every
# file reads back to a clean cut (checked by an independent decoder),
# `recover` closes each one the kill cut (one marker added) and leaves a whole
# one alone, and nothing the recorder reported as written (its --status file)
# is missing; at least 15 of the kills must hit a running recorder.  A full disk: a clean stop, a clear message,
# a readable file.  The overwrite policy under a slow consumer: losses
# recorded with the exact counts the ring itself counted.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$DMT" --help | grep -q "^  capture " || { echo "no capture in this build"; exit 77; }

# What happened at a kill point is read from facts, not from timing: the
# recorder's exit status (killed or exited), whether its file has its END
# record before `recover` (check_trace.py "closed") and what `recover` said
# it did (one line: "... nothing to do" or "... cut at byte ..."; only the
# latter adds a marker record).  The producer runs far longer than the
# latest kill (4000 transfers) and is stopped once the recorder is dead, so
# nearly every kill interrupts a running recorder; the test requires 15.
RANDOM=7
interrupted=0 finished=0
for i in $(seq 1 20); do
    ring=$WORK/k$i.ring out=$WORK/k$i.dmat status=$WORK/k$i.status
    "$DMT" record --ring "$ring" -o "$out" --size 4 --status "$status" 2>/dev/null &
    rpid=$!
    wait_for_ring "$ring" || { fail "kill $i: ring never appeared"; kill -9 $rpid; continue; }
    "$DMT" capture --scenario mixed --transfers 4000 --seed "$i" --ring "$ring" >/dev/null 2>&1 &
    cpid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 400 + 10)))"
    kill -9 $rpid 2>/dev/null || true
    rst=0
    wait $rpid 2>/dev/null || rst=$?
    kill -9 $cpid 2>/dev/null || true
    wait $cpid 2>/dev/null || true
    [[ -f $out ]] || { fail "kill $i: no trace file"; continue; }
    pre=$("$PY" "$TOOLS/check_trace.py" "$out" --allow-cut) || { fail "kill $i: cut file invalid"; continue; }
    closed=$(json_field "$pre" closed)
    pre_records=$(json_field "$pre" records)
    if ((rst == 0)); then
        # the recorder drained everything and exited before the kill
        ((closed)) || fail "kill $i: the recorder exited 0 but its file has no END record"
    elif ((rst != 137)); then
        fail "kill $i: the recorder exited $rst (neither killed nor finished)"
    fi
    if ((closed)); then finished=$((finished + 1)); else interrupted=$((interrupted + 1)); fi
    expect_status 0 "$DMT" info "$out" || continue
    reported=0
    [[ -f $status ]] && reported=$(awk '/^records/{print $2}' "$status")
    cp "$out" "$WORK/before.dmat"
    expect_status 0 "$DMT" recover "$out" || continue
    json=$("$PY" "$TOOLS/check_trace.py" "$out") || { fail "kill $i: recovered file invalid"; continue; }
    have=$(json_field "$json" records)
    # recover adds one marker record to a cut file and leaves a whole one alone
    if ((closed)); then
        grep -q "is whole (.*); nothing to do" "$WORK/err" ||
            fail "kill $i: recover did not say the whole file was left alone: $(cat "$WORK/err")"
        cmp -s "$out" "$WORK/before.dmat" || fail "kill $i: recover changed a whole file"
        added=0
    else
        grep -q ": cut at byte .* records kept, framing closed" "$WORK/err" ||
            fail "kill $i: recover did not say it closed a cut file: $(cat "$WORK/err")"
        added=1
    fi
    ((have == pre_records + added)) ||
        fail "kill $i: $pre_records whole records before recover, $have after (want +$added)"
    if ((have - added < reported)); then
        fail "kill $i: recorder reported $reported records written, file has $((have - added))"
    fi
done
echo "recorder kills: $interrupted interrupted a running recorder, $finished found it finished"
((interrupted >= 15)) || fail "only $interrupted of 20 kills interrupted a running recorder"

# Full disk: writes fail after 30000 bytes.
ring=$WORK/full.ring out=$WORK/full.dmat
DMT_INJECT_ENOSPC_AFTER=30000 "$DMT" record --ring "$ring" -o "$out" --size 4 2>"$WORK/full.err" &
rpid=$!
wait_for_ring "$ring"
"$DMT" capture --scenario mixed --transfers 200 --ring "$ring" >/dev/null 2>&1 || true
st=0
wait $rpid || st=$?
[[ $st -eq 3 ]] || fail "full disk: record exited $st, want 3"
grep -q "No space left on device" "$WORK/full.err" || fail "full disk: no clear message"
"$PY" "$TOOLS/check_trace.py" "$out" --allow-cut >/dev/null || fail "full disk: file unreadable"
expect_status 0 "$DMT" info "$out"
grep -q "cut at byte" "$WORK/out" || fail "full disk: info does not report the cut"

# Overwrite policy, slow consumer: exact loss accounting.  The consumer
# takes at most 8 records per 5 ms (1600/s) while the producer writes about
# 13 000 records: even a slowed producer overruns the 16 KiB ring.  The
# recorder stops when the producer closes the ring; --exit-idle only guards
# against a producer that never comes (its idle time counts from the start,
# and a loaded machine can take seconds to start the capture).
ring=$WORK/ow.ring out=$WORK/ow.dmat
"$DMT" record --ring "$ring" -o "$out" --size 16K --policy overwrite --throttle-us 5000 \
    --exit-idle 20000 2>"$WORK/ow.err" &
rpid=$!
wait_for_ring "$ring"
"$DMT" capture --scenario mixed --transfers 300 --ring "$ring" >/dev/null 2>&1 || true
wait $rpid || fail "overwrite: record failed: $(cat "$WORK/ow.err")"
json=$("$PY" "$TOOLS/check_trace.py" "$out") || fail "overwrite: file invalid"
lost=$(json_field "$json" lost)
ring_lost=$(ring_losses "$WORK/ow.err")
[[ -n $ring_lost && $lost -eq $ring_lost ]] || fail "overwrite: file lost $lost, ring counted $ring_lost"
[[ $lost -gt 0 ]] || fail "overwrite: the slow consumer lost nothing (test too gentle)"
finish

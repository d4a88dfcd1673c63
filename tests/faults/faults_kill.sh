#!/usr/bin/env bash
# faults_kill.sh - SIGKILL at random points of the commands that replace
# or produce whole files, and of the ring's producer.  (SIGKILL of the
# recorder itself is tests/system/test_record.sh: 20 kills.)
#
# usage: faults_kill.sh DMATRACE TOOLS_DIR
#
#  - import killed at 15 random moments: the database path either does not
#    exist or holds the complete database (info equal to the trace's); a
#    new import to the same path then succeeds;
#  - recover killed at 15 random moments: the cut file is either untouched
#    (byte for byte) or replaced by the whole recovered file, never half;
#  - the producer (`capture --ring`) killed at 10 random moments while
#    `record` drains: the recorder notices nothing but the loss - it exits 0
#    after --exit-idle, its trace is valid and closed, and its LOST records
#    add up to what the ring counted (a torn slot of the dead producer
#    included).  Whether a kill hit a running producer is read from its exit
#    status, not assumed: the producer runs far longer than the latest kill
#    (4000 transfers) and at least 7 of the 10 kills must interrupt it.
# Kill times are random; what is checked holds at every one of them.
source "$(dirname "${BASH_SOURCE[0]}")/../system/lib.sh"
"$DMT" --help | grep -q "^  capture " || { echo "no capture in this build"; exit 77; }
RANDOM=11

T=$WORK/t.dmat
"$DMT" capture --scenario mixed --transfers 120 --deterministic-clock -o "$T" >/dev/null 2>&1 ||
    { echo "capture failed"; exit 1; }
"$DMT" info "$T" --json >"$WORK/ref.json"
records() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$1"; }
ref=$(records "$WORK/ref.json")

# import
complete=0 absent=0
for i in $(seq 1 15); do
    db=$WORK/k.db
    rm -f "$db" "$db".tmp-*
    "$DMT" import "$T" -o "$db" >/dev/null 2>&1 &
    pid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 300)))"
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    if [[ -e $db ]]; then
        complete=$((complete + 1))
        if "$DMT" info "$db" --json >"$WORK/k.json" 2>"$WORK/k.err"; then
            [[ $(records "$WORK/k.json") -eq $ref ]] || fail "import kill $i: the database is incomplete"
        else
            fail "import kill $i: a half database at the destination: $(cat "$WORK/k.err")"
        fi
    else
        absent=$((absent + 1))
    fi
    expect_status 0 "$DMT" import "$T" -o "$db" || fail "import kill $i: a new import fails"
done
echo "import: $complete complete, $absent absent"

# recover
size=$(stat -c %s "$T")
head -c $((size * 3 / 4)) "$T" >"$WORK/cut.orig"
untouched=0 replaced=0
for i in $(seq 1 15); do
    cp "$WORK/cut.orig" "$WORK/cut.dmat"
    "$DMT" recover "$WORK/cut.dmat" >/dev/null 2>&1 &
    pid=$!
    sleep "0.0$(printf '%02d' $((RANDOM % 60)))"
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    if cmp -s "$WORK/cut.orig" "$WORK/cut.dmat"; then
        untouched=$((untouched + 1))
    elif "$PY" "$TOOLS/check_trace.py" "$WORK/cut.dmat" >/dev/null 2>&1; then
        replaced=$((replaced + 1))
    else
        fail "recover kill $i: the file is neither the original nor whole"
    fi
done
echo "recover: $untouched untouched, $replaced replaced"

# the producer
interrupted=0
for i in $(seq 1 10); do
    ring=$WORK/p$i.ring out=$WORK/p$i.dmat
    # (the idle time counts from the start: long enough for a slow start)
    "$DMT" record --ring "$ring" -o "$out" --size 1 --exit-idle 3000 2>"$WORK/p.err" &
    rpid=$!
    wait_for_ring "$ring" || true
    "$DMT" capture --scenario mixed --transfers 4000 --seed "$i" --ring "$ring" >/dev/null 2>&1 &
    cpid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 300 + 20)))"
    kill -9 $cpid 2>/dev/null || true
    cst=0
    wait $cpid 2>/dev/null || cst=$?
    if ((cst == 137)); then
        interrupted=$((interrupted + 1))
    elif ((cst != 0)); then
        fail "producer kill $i: capture exited $cst (neither killed nor finished)"
    fi
    st=0
    wait $rpid || st=$?
    [[ $st -eq 0 ]] || { fail "producer kill $i: record exited $st: $(cat "$WORK/p.err")"; continue; }
    json=$("$PY" "$TOOLS/check_trace.py" "$out") || { fail "producer kill $i: trace invalid"; continue; }
    lost=$(json_field "$json" lost)
    ring_lost=$(ring_losses "$WORK/p.err")
    # A producer killed between counting a refused reservation and taking
    # its number leaves the counter one ahead of the gaps.
    if [[ -z $ring_lost ]] || ((lost > ring_lost || ring_lost > lost + 1)); then
        fail "producer kill $i: the file lost $lost, the ring counted ${ring_lost:-?}"
    fi
done
echo "producer: $interrupted of 10 kills interrupted a running producer"
((interrupted >= 7)) || fail "only $interrupted of 10 kills interrupted a running producer"
finish

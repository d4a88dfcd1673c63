#!/usr/bin/env bash
# test_capture.sh - every capture scenario end to end: the trace decodes with
# an independent CBOR decoder (framing, CRCs, counts), every StartDma has one
# ExecuteDma whose SG total equals the granted length, register and
# descriptor writes are present, digests equal the DMT64 of the bytes the
# workload wrote or read back (independent Python implementation), nothing
# was lost at the default ring size.  Then determinism: the same seed gives
# the same records apart from timestamps, --deterministic-clock gives the
# same bytes.  Then every fault: the trace differs from the clean one, and
# not before the transfer the fault was planted in.  Unknown names: exit 2.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$DMT" --help | grep -q "^  capture " || { echo "no capture in this build"; exit 77; }

for scen in mixed dma32-highmem no-sg burst; do
    out=$WORK/$scen.dmat
    n=60
    [[ $scen == burst ]] && n=400
    if ! expect_status 0 "$DMT" capture --scenario "$scen" --transfers $n --seed 3 -o "$out"; then
        continue
    fi
    "$PY" "$TOOLS/check_trace.py" "$out" >/dev/null || fail "$scen: trace does not decode"
    only=
    [[ $scen == burst ]] && only=--uploads-only
    "$PY" "$TOOLS/check_capture.py" "$out" $only >"$WORK/cc.json" || fail "$scen: capture check failed"
    grep -q '"digests_checked": 0,' "$WORK/cc.json" && fail "$scen: no digest could be checked"
    # The probe asks the host VideoPort where each buffer really is: every
    # list is checked for bounce pages; on the 32-bit device with all RAM
    # above 4 GiB every one is bounced, and the store and dump say so.
    grep -q '"bounce_unchecked": 0,' "$WORK/cc.json" || fail "$scen: lists not checked for bounce pages"
    if [[ $scen == dma32-highmem || $scen == mixed ]]; then
        expect_status 0 "$DMT" import "$out" -o "$WORK/$scen.db"
        q() { sqlite3 "$WORK/$scen.db" "SELECT count(*) FROM transfers WHERE exec_seq IS NOT NULL ${1:-}"; }
        [[ $(q "AND bounced IS NULL") == 0 && $(q) -gt 0 ]] ||
            fail "$scen: transfers.bounced unknown for a checked list"
    fi
    if [[ $scen == dma32-highmem ]]; then
        grep -q '"bounce_no": 0,' "$WORK/cc.json" || fail "$scen: a list not bounced"
        [[ $(q "AND bounced = 1") == $(q) ]] || fail "$scen: transfers.bounced is not 1 for all"
        "$DMT" dump "$out" >"$WORK/dump.txt"
        grep -q "execute_dma.* bounced=yes" "$WORK/dump.txt" || fail "$scen: dump does not say bounced"
    fi
    expect_status 0 "$DMT" info --json "$out"
    grep -q '"lost":{"records":0' "$WORK/out" || fail "$scen: records lost at the default ring size"
done

# Same seed, same trace apart from timestamps, the TSC calibrations (how
# many, and where, depends on time; they shift the sequence numbers) and
# host addresses, which the OS chooses; --deterministic-clock: byte-identical.
norm() {
    "$DMT" dump --full "$1" | awk '$5 != "marker" && $5 != "calibration" {$1=""; $3=""; $4=""; print}' |
        sed -E 's/(va|context)=0x[0-9a-f]+/\1=X/g'
}
for i in 1 2; do
    "$DMT" capture --scenario mixed --transfers 40 --seed 9 -o "$WORK/same$i.dmat" 2>/dev/null
    norm "$WORK/same$i.dmat" >"$WORK/same$i.txt"
    "$DMT" capture --scenario mixed --transfers 40 --seed 9 --deterministic-clock \
        -o "$WORK/det$i.dmat" 2>/dev/null
done
cmp -s "$WORK/same1.txt" "$WORK/same2.txt" || fail "same seed: records differ: $(diff "$WORK/same1.txt" "$WORK/same2.txt" | head -4)"
cmp -s "$WORK/det1.dmat" "$WORK/det2.dmat" || fail "--deterministic-clock: traces are not byte-identical"

# The header names the clock: the TSC (calibrated, with CALIBRATION records)
# where this machine has an invariant one, else the counter; never with
# --deterministic-clock.
ncal() { "$DMT" dump --full "$1" | awk '$5 == "calibration"' | wc -l; }
if "$DMT" info "$WORK/same1.dmat" | grep -q 'clock TSC/CLOCK_MONOTONIC$'; then
    (($(ncal "$WORK/same1.dmat") > 0)) || fail "TSC clock without CALIBRATION records"
else
    "$DMT" info "$WORK/same1.dmat" | grep -q 'clock CLOCK_MONOTONIC$' || fail "unknown clock"
    (($(ncal "$WORK/same1.dmat") == 0)) || fail "CALIBRATION records without the TSC clock"
fi
"$DMT" info "$WORK/det1.dmat" | grep -q 'clock deterministic$' || fail "--deterministic-clock: header clock"
(($(ncal "$WORK/det1.dmat") == 0)) || fail "--deterministic-clock: CALIBRATION records"

# Faults: deterministic captures, compared with the clean one of the same
# seed.  One-shot faults are planted in TRANSFER 4 (the third upload, the
# first transfer of the third pair): nothing may differ before it.  The
# 32-bit-device fault is a configuration bug: compared on dma32-highmem.
for scen in mixed dma32-highmem; do
    "$DMT" capture --scenario $scen --transfers 24 --seed 4 --deterministic-clock \
        -o "$WORK/clean-$scen.dmat" 2>/dev/null
    norm "$WORK/clean-$scen.dmat" >"$WORK/clean-$scen.txt"
done
first_fault_rec=$(grep -n ' buffer_lock ' "$WORK/clean-mixed.txt" | sed -n 5p | cut -d: -f1)
faults=$("$DMT" capture --help | awk '/^faults/{on=1;next} on && /^  [a-z]/{print $1} on && /^$/{on=0}')
[[ $(echo "$faults" | wc -w) -ge 7 ]] || fail "fewer than 7 faults: $faults"
for f in $faults; do
    scen=mixed
    [[ $f == addr64-to-dma32 ]] && scen=dma32-highmem
    "$DMT" capture --scenario $scen --transfers 24 --seed 4 --deterministic-clock --inject "$f" \
        -o "$WORK/$f.dmat" 2>/dev/null || true
    "$PY" "$TOOLS/check_trace.py" "$WORK/$f.dmat" >/dev/null || fail "$f: trace does not decode"
    norm "$WORK/$f.dmat" >"$WORK/$f.txt"
    line=$(cmp "$WORK/clean-$scen.txt" "$WORK/$f.txt" 2>/dev/null |
        sed -nE 's/.* line ([0-9]+).*/\1/p' || true)
    if [[ -z $line ]]; then
        fail "$f: trace identical to the clean one"
    elif [[ $scen == mixed ]] && ((line < first_fault_rec)); then
        fail "$f: differs at line $line, before the faulty transfer (line $first_fault_rec)"
    fi
done

# Several workload threads issue TRANSFERs in no fixed order and memory
# layouts follow it: the planted bug still lands once, in the first
# transfer from number 4 on that it can hit (a small burst transfer is
# often one SG element, so give it a few hundred to choose from).
for seed in 1 2 3 4; do
    "$DMT" capture --scenario burst --threads 4 --transfers 400 --seed $seed --inject sg-skip \
        -o "$WORK/thr.dmat" >/dev/null 2>&1 || fail "burst --threads 4 --inject sg-skip exited $?"
    "$DMT" audit "$WORK/thr.dmat" >"$WORK/thr.audit" || true
    grep -q "^prog-skipped: 1 " "$WORK/thr.audit" ||
        fail "seed $seed: sg-skip with 4 threads gave no prog-skipped finding"
done
# A fault the workload gives nothing to hit (no-sg: single-element lists)
# is not a clean run: capture says so and fails.
expect_status 3 "$DMT" capture --scenario no-sg --transfers 8 --inject sg-skip -o "$WORK/noskip.dmat"
grep -q "fault sg-skip was not planted" "$WORK/err" || fail "unplanted fault not reported: $(cat "$WORK/err")"

expect_status 2 "$DMT" capture --scenario nope -o "$WORK/x.dmat"
grep -q "mixed" "$WORK/err" || fail "unknown scenario: valid names not listed"
expect_status 2 "$DMT" capture --inject nope -o "$WORK/x.dmat"
grep -q "sg-skip" "$WORK/err" || fail "unknown fault: valid names not listed"
[[ -f $WORK/x.dmat ]] && fail "a usage error left an output file"
finish

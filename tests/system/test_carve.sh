#!/usr/bin/env bash
# test_carve.sh - `dmatrace carve` against memory images written by a real
# producer we did not write: QEMU's `dump-guest-memory`.  A ring written by
# a real capture (killed mid-run) is placed into a paused guest's physical
# memory with `-device loader`, across the boundaries of several PT_LOAD
# segments; QEMU writes the guest's memory as an ELF core; carve must give
# back exactly the records of the ring itself (carved from the ring file as
# a raw image), checked by an independent CBOR decoder (which also checks
# that every LOST range starts at the next sequence number).  Then the live
# ring next to a copy of its header (verdicts, the live one carved), a cut core
# (refused without --allow-cut, accounted with it), an image with no ring,
# and a hostile dump header: one line, exit 2.  Last, --merge: a recording
# `record` made of a per-CPU region (two rings, two workload threads) and of
# a single ring, each killed while the probe writes on, continued from the
# ring (the ring file, and the region inside a QEMU core): the recording
# first, unchanged, then each ring from where the recording left it - the
# numbers in neither one LOST range, then exactly what the ring still held -
# so every number the probe handed out is there once (check_merge.py).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$DMT" --help | grep -q "^  capture " || { echo "no capture in this build"; exit 77; }
QEMU=$(command -v qemu-system-x86_64) || { echo "qemu-system-x86_64 not installed"; exit 77; }

# A ring region from a real capture, killed while it runs (two producer
# threads; one ring per CPU, so a multi-CPU machine gives a per-CPU region
# that carve merges).
ring=$WORK/r.ring
"$DMT" capture --scenario burst --transfers 4000 --ring "$ring" --ring-size 1 >/dev/null 2>&1 &
cpid=$!
wait_for_ring "$ring" 60
sleep 0.3
kill -9 $cpid 2>/dev/null || true
wait $cpid 2>/dev/null || true
[[ -s $ring ]] || { fail "the capture left no ring"; finish; }

# The reference: the ring file itself, read as a raw image.
expect_status 0 "$DMT" carve "$ring" -o "$WORK/direct.dmat" || finish
ref=$("$PY" "$TOOLS/check_trace.py" "$WORK/direct.dmat") || fail "direct carve: invalid trace"
"$DMT" dump "$WORK/direct.dmat" >"$WORK/direct.txt"

# Into a QEMU guest at 0xBF000: the ring crosses the segment boundaries
# QEMU's pc machine writes at 0xC0000, 0xE0000 and 0x100000.
dump_guest() { # FILE ADDR OUT
    printf 'dump-guest-memory %s\nquit\n' "$3" |
        timeout 120 "$QEMU" -M pc -m 64 -S -display none -nodefaults -monitor stdio \
            -device "loader,file=$1,addr=$2" >"$WORK/qemu.log" 2>&1
}
dump_guest "$ring" 0xBF000 "$WORK/vm.elf" || { fail "qemu: $(tail -3 "$WORK/qemu.log")"; finish; }
nload=$(readelf -lW "$WORK/vm.elf" | grep -c ' LOAD ')
[[ $nload -ge 3 ]] || fail "expected several PT_LOAD segments, got $nload"
expect_status 0 "$DMT" carve --list "$WORK/vm.elf"
grep -q "elf64-core" "$WORK/out" || fail "--list does not name the ELF core: $(cat "$WORK/out")"
grep -q "ring 0: physical 0xbf000" "$WORK/out" || fail "--list: $(cat "$WORK/out")"
expect_status 0 "$DMT" carve "$WORK/vm.elf" -o "$WORK/qemu.dmat"
got=$("$PY" "$TOOLS/check_trace.py" "$WORK/qemu.dmat") || fail "qemu carve: invalid trace"
[[ $got == "$ref" ]] || fail "qemu carve differs from the ring: $got vs $ref"
"$DMT" dump "$WORK/qemu.dmat" >"$WORK/qemu.txt"
cmp -s "$WORK/qemu.txt" "$WORK/direct.txt" || fail "qemu carve: records differ from the ring's"

# The live ring and a lone copy of its header (a recorder's buffer that once
# held it) after it: --list gives each its verdict, carve without --ring
# writes the live one.
ringsz=$(stat -c %s "$ring")
{ cat "$ring"; head -c 256 "$ring"; head -c "$ringsz" /dev/urandom; } >"$WORK/copies.raw"
expect_status 0 "$DMT" carve --list "$WORK/copies.raw"
grep -q "ring 0: physical 0x0, .*: live (the newest of its copies)" "$WORK/out" ||
    fail "--list, live: $(cat "$WORK/out")"
grep -Eq "ring [0-9]+: physical $(printf '0x%x' "$ringsz"), .*: copy of ring 0 " "$WORK/out" ||
    fail "--list, copy: $(cat "$WORK/out")"
expect_status 0 "$DMT" carve "$WORK/copies.raw" -o "$WORK/copies.dmat"
"$DMT" dump "$WORK/copies.dmat" >"$WORK/copies.txt"
cmp -s "$WORK/copies.txt" "$WORK/direct.txt" || fail "carve did not write the live ring"

# A core cut inside the ring's records: refused, then accounted.
cp "$WORK/vm.elf" "$WORK/cut.elf"
chmod u+w "$WORK/cut.elf"
off=$(readelf -lW "$WORK/vm.elf" | awk '$1=="LOAD" && $4=="0x0000000000000000" {print $2}')
truncate -s $((off + 0xBF000 + 0x100 + 0x3000)) "$WORK/cut.elf"
expect_status 2 "$DMT" carve "$WORK/cut.elf" -o "$WORK/cut.dmat" && expect_one_line_error cut.elf
[[ -e $WORK/cut.dmat ]] && fail "a refused carve left an output"
expect_status 0 "$DMT" carve --allow-cut "$WORK/cut.elf" -o "$WORK/cut.dmat"
"$PY" "$TOOLS/check_trace.py" "$WORK/cut.dmat" >/dev/null || fail "cut carve: invalid trace"
grep -q "the image is cut" "$WORK/err" || fail "cut carve does not say the image is cut"

# No ring: one line naming the file, exit 2.
head -c 3000000 /dev/urandom >"$WORK/noise.raw"
printf 'DMATRING' >>"$WORK/noise.raw"
head -c 1000 /dev/zero >>"$WORK/noise.raw"
expect_status 2 "$DMT" carve "$WORK/noise.raw" -o "$WORK/x.dmat" && expect_one_line_error noise.raw
grep -q "no dmatrace ring found in .*noise.raw (.* candidates rejected" "$WORK/err" ||
    fail "no-ring message: $(cat "$WORK/err")"

# A hostile crash dump header (a run list claiming 2^32-1 runs): one line.
{ printf 'PAGEDU64'; head -c $((0x2000 - 8)) /dev/zero; } >"$WORK/bad.dmp"
printf '\x64\x86\x00\x00' | dd of="$WORK/bad.dmp" bs=1 seek=$((0x30)) conv=notrunc 2>/dev/null
printf '\x01\x00\x00\x00' | dd of="$WORK/bad.dmp" bs=1 seek=$((0xF98)) conv=notrunc 2>/dev/null
printf '\xff\xff\xff\xff' | dd of="$WORK/bad.dmp" bs=1 seek=$((0x88)) conv=notrunc 2>/dev/null
expect_status 2 "$DMT" carve "$WORK/bad.dmp" -o "$WORK/x.dmat" && expect_one_line_error bad.dmp
grep -q "byte 136" "$WORK/err" || fail "hostile dump: error does not name the offset: $(cat "$WORK/err")"
# --merge.  A recorder killed while the probe writes on: its file is cut
# (what the recorder had taken but not written is in neither the file nor
# the ring any more), the ring goes on filling until the capture ends and
# closes it.  The recorder attaches once the capture has formatted the
# region (ring 0's magic is written last) and is killed once 3000 records
# are on disk (its --status file); the capture, paced, runs for seconds
# more, and whether the kill cut a running recorder is checked, not assumed.
# merge_case NAME CAPTURE-ARGS...
wait_until() { # SECONDS CONDITION...: poll CONDITION every 10 ms
    local i
    for i in $(seq 1 $(($1 * 100))); do
        "${@:2}" && return 0
        sleep 0.01
    done
    return 1
}
is_formatted() { [[ $(head -c 8 "$1" 2>/dev/null) == DMATRING ]]; }
has_records() { [[ -f $1 ]] && (($(awk '/^records/{print $2}' "$1") >= $2)); }
merge_case() {
    local name=$1 ring=$WORK/$1.ring
    shift
    "$DMT" capture "$@" --ring "$ring" --ring-size 1 --pace-ms 2 >/dev/null 2>&1 &
    local cpid=$! rpid
    wait_until 60 is_formatted "$ring" || fail "$name: the capture formatted no ring"
    "$DMT" record --ring "$ring" -o "$WORK/$name.cut.dmat" --status "$WORK/$name.status" \
        2>/dev/null &
    rpid=$!
    wait_until 60 has_records "$WORK/$name.status" 3000 || fail "$name: the recorder wrote nothing"
    kill -9 $rpid 2>/dev/null || true
    wait $rpid 2>/dev/null || true
    wait $cpid || fail "$name: the capture failed"
    local pre
    pre=$("$PY" "$TOOLS/check_trace.py" "$WORK/$name.cut.dmat" --allow-cut) ||
        { fail "$name: the cut recording is invalid"; return; }
    (($(json_field "$pre" closed) == 0)) || fail "$name: the recorder was not killed while it ran"
    (($(json_field "$pre" records) > 0)) || fail "$name: the recording holds nothing"
    expect_status 0 "$DMT" recover "$WORK/$name.cut.dmat" -o "$WORK/$name.part.dmat" || return
    expect_status 0 "$DMT" carve "$ring" -o "$WORK/$name.direct.dmat" || return
    expect_status 0 "$DMT" carve "$ring" --merge "$WORK/$name.part.dmat" -o "$WORK/$name.m.dmat" ||
        return
    "$PY" "$TOOLS/check_trace.py" "$WORK/$name.m.dmat" >"$WORK/$name.json" ||
        fail "$name: the merge is not a valid trace"
    "$PY" "$TOOLS/check_merge.py" "$WORK/$name.part.dmat" "$WORK/$name.direct.dmat" \
        "$WORK/$name.m.dmat" "$ring" >"$WORK/$name.summary" ||
        fail "$name: the merge does not account for every record once"
    echo "$name: $(cat "$WORK/$name.summary")"
    # The cut file itself (no recover first) gives the same trace.
    expect_status 0 "$DMT" carve "$ring" --merge "$WORK/$name.cut.dmat" -o "$WORK/$name.m2.dmat"
    cmp -s "$WORK/$name.m.dmat" "$WORK/$name.m2.dmat" ||
        fail "$name: merging the cut and the recovered recording differ"
    # The tools read it: audit and replay may find what the gap hides (1),
    # never a bad input (2).
    local st=0
    "$DMT" audit "$WORK/$name.m.dmat" >/dev/null 2>&1 || st=$?
    ((st <= 1)) || fail "$name: audit of the merge exited $st"
    st=0
    "$DMT" replay "$WORK/$name.m.dmat" >"$WORK/$name.replay" 2>&1 || st=$?
    ((st <= 1)) || fail "$name: replay of the merge exited $st: $(tail -2 "$WORK/$name.replay")"
    grep -q "records replayed" "$WORK/$name.replay" || fail "$name: replay: $(tail -2 "$WORK/$name.replay")"
}

merge_case percpu --scenario burst --transfers 4000 --threads 2 --rings 2
if [[ -s $WORK/percpu.m.dmat ]]; then
    "$PY" -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 2' "$WORK/percpu.summary" ||
        fail "percpu: not a region of two rings"
    # The region inside a QEMU core: the same trace.
    if dump_guest "$WORK/percpu.ring" 0xBF000 "$WORK/vm2.elf"; then
        expect_status 0 "$DMT" carve "$WORK/vm2.elf" --merge "$WORK/percpu.part.dmat" \
            -o "$WORK/qm.dmat" && { cmp -s "$WORK/qm.dmat" "$WORK/percpu.m.dmat" ||
                fail "percpu: the merge from the QEMU core differs from the ring file's"; }
    else
        fail "qemu: $(tail -3 "$WORK/qemu.log")"
    fi
    # A region carved by one of its rings alone cannot continue it.
    expect_status 2 "$DMT" carve "$WORK/percpu.ring" --ring 1 --merge "$WORK/percpu.part.dmat" \
        -o "$WORK/x.dmat" && expect_one_line_error percpu.part.dmat
fi
merge_case single --scenario mixed --transfers 1000 --threads 1
# A single ring's recording cannot continue a per-CPU region's, nor the reverse.
if [[ -s $WORK/single.m.dmat && -s $WORK/percpu.m.dmat ]]; then
    expect_status 2 "$DMT" carve "$WORK/percpu.ring" --merge "$WORK/single.part.dmat" \
        -o "$WORK/x.dmat" && expect_one_line_error single.part.dmat
    expect_status 2 "$DMT" carve "$WORK/single.ring" --merge "$WORK/percpu.part.dmat" \
        -o "$WORK/x.dmat" && expect_one_line_error percpu.part.dmat
fi
finish

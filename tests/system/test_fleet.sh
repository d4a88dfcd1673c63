#!/bin/bash
# test_fleet.sh - push / fleet / pull against a throwaway PostgreSQL 15
# cluster: initdb into a temporary directory (as nobody when run as root),
# a private unix socket, no TCP, scram passwords; stopped on exit.
# Skips (77) when the PostgreSQL server binaries are not installed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_cluster.sh"
rc=0
pg_start "$WORK/pg" || rc=$?
[[ $rc -eq 77 ]] && { echo "no PostgreSQL server binaries: skipped"; exit 77; }
[[ $rc -eq 0 ]] || exit 1
trap 'pg_stop; rm -rf "$WORK"' EXIT

# A small corpus: three builds, two hosts (header host), a fault.
cd "$WORK"
for s in 1 2 3 4; do
    "$DMT" capture --deterministic-clock --seed $s --transfers 8 -o c$s.dmat >/dev/null
done
"$DMT" capture --deterministic-clock --seed 5 --transfers 8 --scenario dma32-highmem -o hm.dmat >/dev/null
"$DMT" capture --deterministic-clock --seed 6 --transfers 8 --inject sg-skip -o bug.dmat >/dev/null
for f in c1 c2 c3 c4 hm bug; do
    "$DMT" import "$f.dmat" -o "$f.db" >/dev/null 2>&1
    "$DMT" audit "$f.db" >/dev/null 2>&1 || true
done

# --- push, re-push -----------------------------------------------------------
expect_status 0 "$DMT" push --build b1 "$URL" c1.dmat c2.db
grep -q 's3cret' "$WORK/out" "$WORK/err" && fail "password printed"
[[ $(psqlq "SELECT count(*) FROM traces") == 2 ]] || fail "2 traces after push"
expect_status 0 "$DMT" push --build b1 "$URL" c1.dmat c2.dmat
grep -c 'already in the fleet' "$WORK/out" | grep -qx 2 || fail "re-push not a no-op: $(cat "$WORK/out")"
[[ $(psqlq "SELECT count(*) FROM traces") == 2 ]] || fail "re-push duplicated"
# a trace and its store are one trace
expect_status 0 "$DMT" push --build b1 "$URL" c1.db
grep -q 'already in the fleet' "$WORK/out" || fail ".db of a pushed .dmat pushed again"

# the identity: our SHA-256 of the canonical file equals the server's
[[ $(psqlq "SELECT count(*) FROM traces t WHERE t.hash = (SELECT encode(sha256(string_agg(f.data, ''::bytea ORDER BY f.part)), 'hex') FROM trace_files f WHERE f.trace_id = t.id)") == 2 ]] ||
    fail "hash is not the SHA-256 of the stored canonical file"

# exact counts against the local store
for f in c1 c2; do
    id=$(psqlq "SELECT id FROM traces ORDER BY id" | sed -n "$([[ $f == c1 ]] && echo 1 || echo 2)p")
    for q in "transfers|SELECT count(*) FROM transfers" \
             "sg_elements|SELECT count(*) FROM sg_elements s JOIN transfers t ON s.id BETWEEN t.sg_first AND t.sg_first + t.n_sg - 1" \
             "reg_writes|SELECT count(*) FROM reg_accesses WHERE is_write = 1" \
             "findings|SELECT count(*) FROM findings"; do
        tab=${q%%|*}
        want=$(sqlite3 -readonly "$f.db" "${q#*|}")
        got=$(psqlq "SELECT count(*) FROM $tab WHERE trace_id = $id")
        [[ $want == "$got" ]] || fail "$f $tab: fleet $got, local $want"
    done
done
[[ $(psqlq "SELECT count(*) FROM reg_writes WHERE name IS NULL") == 0 ]] || fail "unnamed model registers"

# --- kill during push, then re-push ------------------------------------------
"$DMT" push --build b2 --test-stall-ms 20000 "$URL" c3.dmat >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do
    [[ $(psqlq "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'") -ge 1 ]] && break
    sleep 0.2
done
tr '\0' ' ' </proc/$pid/cmdline | grep -q s3cret && fail "password in the process title"
kill -9 $pid; wait $pid 2>/dev/null || true
sleep 0.5
for t in traces transfers sg_elements reg_writes findings replays trace_files; do
    n=$(psqlq "SELECT count(*) FROM $t WHERE $( [[ $t == traces ]] && echo id || echo trace_id ) NOT IN (1, 2)")
    [[ $n == 0 ]] || fail "killed push left $n rows in $t"
done
expect_status 0 "$DMT" push --build b2 "$URL" c3.dmat
id3=$(psqlq "SELECT id FROM traces WHERE driver_build = 'b2'")
[[ $(psqlq "SELECT count(*) FROM transfers WHERE trace_id = $id3") == $(sqlite3 c3.db "SELECT count(*) FROM transfers") ]] ||
    fail "re-run after kill: transfer counts"

# --- server restart during push: the push fails, nothing is left, a re-run loads it
n0=$(psqlq "SELECT count(*) FROM traces")
"$DMT" push --build b3 --test-stall-ms 20000 "$URL" c4.dmat >"$WORK/rs.out" 2>"$WORK/rs.err" &
pid=$!
for _ in $(seq 100); do
    [[ $(psqlq "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'") -ge 1 ]] && break
    sleep 0.2
done
pg_restart
st=0; wait $pid || st=$?
[[ $st == 3 && $(wc -l <"$WORK/rs.err") == 1 ]] || fail "push across a server restart: exit $st, $(cat "$WORK/rs.err")"
[[ $(psqlq "SELECT count(*) FROM traces") == "$n0" ]] || fail "server restart left a trace"
[[ $(psqlq "SELECT count(*) FROM transfers WHERE trace_id NOT IN (SELECT id FROM traces)") == 0 ]] || fail "orphan rows"

# --- concurrent pushes -------------------------------------------------------
"$DMT" push --build b3 "$URL" c4.dmat hm.dmat >"$WORK/p1" 2>&1 & a=$!
"$DMT" push --build b3 "$URL" bug.dmat hm.dmat >"$WORK/p2" 2>&1 & b=$!
wait $a || fail "concurrent push 1: $(cat "$WORK/p1")"
wait $b || fail "concurrent push 2: $(cat "$WORK/p2")"
[[ $(psqlq "SELECT count(*) FROM traces") == 6 ]] || fail "6 traces after concurrent pushes"

# --- fleet queries against answers computed from the local stores ------------
expect_status 0 "$DMT" fleet --csv "$URL" sg-histogram b1
want=$( (echo "driver_build,n_sg,transfers"; for f in c1 c2; do sqlite3 "$f.db" "SELECT n_sg FROM transfers WHERE n_sg IS NOT NULL"; done |
    sort -n | uniq -c | awk '{print "b1," $2 "," $1}') )
[[ $(cat "$WORK/out") == "$want" ]] || fail "sg-histogram: $(cat "$WORK/out") want $want"
expect_status 0 "$DMT" fleet --csv "$URL" size-histogram b2
want=$(sqlite3 c3.db "SELECT count(*) FROM transfers WHERE granted IS NOT NULL")
got=$(tail -n +2 "$WORK/out" | awk -F, '{s += $3} END {print s}')
[[ $got == "$want" ]] || fail "size-histogram: $got transfers, want $want"
tail -n +2 "$WORK/out" | while IFS=, read -r b lo n bytes; do
    w=$(sqlite3 c3.db "SELECT count(*) FROM transfers WHERE granted >= $lo AND granted < 2 * max($lo, 1)")
    [[ $w == "$n" ]] || echo "bucket $lo: $n want $w"
done | grep . && fail "size-histogram buckets"
expect_status 0 "$DMT" fleet --csv "$URL" highmem
host=$(sqlite3 hm.db "SELECT value FROM meta WHERE key = 'host'")
want_b=0; want_h=0
for f in c1 c2 c3 c4 hm bug; do
    want_b=$((want_b + $(sqlite3 $f.db "SELECT count(*) FROM transfers WHERE bounced = 1")))
    want_h=$((want_h + $(sqlite3 $f.db "SELECT count(*) FROM transfers WHERE exec_seq IS NOT NULL AND (sg_hi > 4294967296 OR sg_hi < 0)")))
done
got=$(grep -F "$host," "$WORK/out" | awk -F, '{print $4 " " $6}')
[[ $got == "$want_b $want_h" ]] || fail "highmem: $got want $want_b $want_h ($(cat "$WORK/out"))"
expect_status 0 "$DMT" fleet --csv "$URL" first-build
want=$(for f in c1 c2 c3 c4 hm bug; do sqlite3 $f.db "SELECT DISTINCT rule FROM findings"; done | sort -u | wc -l)
[[ $(tail -n +2 "$WORK/out" | wc -l) == "$want" ]] || fail "first-build: rules $(cat "$WORK/out"), want $want"
bugrules=$(sqlite3 bug.db "SELECT DISTINCT rule FROM findings ORDER BY 1")
for r in $bugrules; do
    early=$(for f in c1 c2 c3; do sqlite3 $f.db "SELECT count(*) FROM findings WHERE rule = '$r'"; done | paste -sd+ | bc)
    [[ $early == 0 ]] && { grep -q "^$r,b3," "$WORK/out" || fail "first-build $r: $(cat "$WORK/out")"; }
done
expect_status 0 "$DMT" fleet --csv "$URL" findings-over-time
want=$(for f in c1 c2 c3 c4 hm bug; do sqlite3 $f.db "SELECT count(*) FROM findings"; done | paste -sd+ | bc)
got=$(tail -n +2 "$WORK/out" | awk -F, '{s += $5} END {print s + 0}')
[[ $got == "$want" ]] || fail "findings-over-time total $got want $want"
expect_status 0 "$DMT" fleet --csv "$URL" replay-divergences
[[ $(tail -n +2 "$WORK/out" | awk -F, '{s += $2} END {print s}') == 6 ]] || fail "replay-divergences: $(cat "$WORK/out")"
div=0
for f in c1 c2 c3 c4 hm bug; do "$DMT" replay $f.dmat >/dev/null 2>&1 || div=$((div + 1)); done
grep -q "^1,6,$div," "$WORK/out" || fail "replay-divergences: want $div diverging of 6: $(cat "$WORK/out")"
expect_status 0 "$DMT" fleet "$URL" traces
[[ $(wc -l <"$WORK/out") == 7 ]] || fail "fleet traces table: $(cat "$WORK/out")"

# --- pull round trip ----------------------------------------------------------
for f in c1 bug; do
    h=$(sha256sum "$f.dmat" >/dev/null; psqlq "SELECT hash FROM traces ORDER BY id" >/dev/null; true)
    id=$(psqlq "SELECT t.id FROM traces t WHERE t.records = $(sqlite3 $f.db "SELECT value FROM meta WHERE key='records'") AND t.seed = $(sqlite3 $f.db "SELECT value FROM meta WHERE key='seed'")")
    expect_status 0 "$DMT" pull "$URL" "$id" -o "p-$f.db"
    rm -rf e1 e2
    "$DMT" export "$f.db" --format csv -o e1 >/dev/null 2>&1
    "$DMT" export "p-$f.db" --format csv -o e2 >/dev/null 2>&1
    for c in e1/*.csv; do
        b=$(basename "$c")
        if [[ $b == meta.csv ]]; then
            diff <(grep -Ev '^(source_|import_time)' "$c") <(grep -Ev '^(source_|import_time)' "e2/$b") >/dev/null ||
                fail "pull $f: $b differs"
        else
            cmp -s "$c" "e2/$b" || fail "pull $f: $b differs"
        fi
    done
    [[ -n $(ls e1/*.csv 2>/dev/null) ]] || fail "export csv produced nothing"
done

# --- bad input ----------------------------------------------------------------
expect_status 3 "$DMT" push "$URL" "$WORK/nonexistent.dmat"
expect_status 2 "$DMT" push "postgresql://fleet:s3cret@/postgres?host=$PGDIR&bogus=1" c1.dmat && expect_one_line_error "***"
grep -q 's3cret' "$WORK/err" && fail "password in error line"
expect_status 3 "$DMT" push "postgresql://fleet:wrong@/postgres?host=$PGDIR" c1.dmat && expect_one_line_error "***"
grep -q 'wrong' "$WORK/err" && fail "password in error line"
expect_status 3 "$DMT" push "postgresql://fleet@/postgres?host=$WORK/nowhere" c1.dmat
[[ $(wc -l <"$WORK/err") == 1 ]] || fail "no-server error not one line: $(cat "$WORK/err")"
head -c 4000 c1.dmat >cut.dmat
printf '\x9f\xff\xff' >>hostile.dmat; cat c1.dmat >>hostile.dmat
n0=$(psqlq "SELECT count(*) FROM traces")
expect_status 2 "$DMT" push "$URL" hostile.dmat && expect_one_line_error hostile.dmat
[[ $(psqlq "SELECT count(*) FROM traces") == "$n0" ]] || fail "hostile trace half-loaded"
psqlq "UPDATE fleet_meta SET value = '0' WHERE key = 'schema_version'"
expect_status 2 "$DMT" push "$URL" c1.dmat && grep -q 'schema version 0' "$WORK/err" || fail "old schema not refused: $(cat "$WORK/err")"
psqlq "UPDATE fleet_meta SET value = '1' WHERE key = 'schema_version'"

[[ $fails -eq 0 ]] || { echo "$fails failure(s)"; exit 1; }
echo "fleet: all checks passed"

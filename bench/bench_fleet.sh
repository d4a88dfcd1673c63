#!/usr/bin/env bash
# bench_fleet.sh - the fleet store's throughput and query times against a
# throwaway PostgreSQL cluster (tests/system/pg_cluster.sh).
#   bench/bench_fleet.sh BIN_DIR OUT_DIR [TRACES [EVENTS [FLEET_TRACES]]]
# 1. gen_trace writes TRACES synthetic traces of EVENTS events (seeds 1..);
# 2. the same traces go through `dmatrace import` (SQLite, the baseline) and
#    `dmatrace push` (one process, all traces), both timed: events/s;
# 3. the pushed traces' transfers, findings and replays rows are copied
#    under new trace ids (hosts, builds, revisions and import times varied)
#    until the fleet holds FLEET_TRACES traces, with their per-trace
#    aggregates (fleet_derive); not sg_elements, reg_writes or the files;
#    then every named query is timed (best of 3).
# Prints RESULT lines (figure, measured, target, baseline, ratio).
set -euo pipefail
BIN=$(cd "$1" && pwd)
OUT=$(mkdir -p "$2" && cd "$2" && pwd)
N=${3:-10}
EVENTS=${4:-100000}
FLEET=${5:-1000}
source "$(dirname "${BASH_SOURCE[0]}")/../tests/system/pg_cluster.sh"
WORK=$(mktemp -d -t dmt-bench-fleet-XXXXXX)
trap 'pg_stop; rm -rf "$WORK"' EXIT
rc=0
pg_start "$WORK/pg" || rc=$?
[[ $rc -eq 0 ]] || { echo "bench_fleet: no PostgreSQL cluster (status $rc)" >&2; exit 1; }
now() { date +%s.%N; }

for i in $(seq "$N"); do
    [[ -s $OUT/fleet-$EVENTS-$i.dmat ]] ||
        "$BIN/gen_trace" -n "$EVENTS" --seed "$i" -o "$OUT/fleet-$EVENTS-$i.dmat" >/dev/null
done
total=$((N * EVENTS))
files=()
for i in $(seq "$N"); do files+=("$OUT/fleet-$EVENTS-$i.dmat"); done

t0=$(now)
for i in $(seq "$N"); do
    "$BIN/dmatrace" import "$OUT/fleet-$EVENTS-$i.dmat" -o "$WORK/s$i.db" >/dev/null 2>&1
done
t1=$(now)
"$BIN/dmatrace" push --build bench "$URL" "${files[@]}" >"$WORK/push.log"
t2=$(now)
imp=$(echo "$total / ($t1 - $t0)" | bc -l)
psh=$(echo "$total / ($t2 - $t1)" | bc -l)
printf 'RESULT\tfleet push, %d traces x %d events, events/s\t%.0f /s\t(report)\t%.0f /s SQLite import\t%.2f\n' \
    "$N" "$EVENTS" "$psh" "$imp" "$(echo "$psh / $imp" | bc -l)"

# A synthetic fleet of FLEET traces from the pushed ones.
psqlq "
CREATE TEMP TABLE src AS SELECT id FROM traces;
DO \$\$
DECLARE n int; k int := 0; s bigint; nid bigint;
BEGIN
  SELECT count(*) INTO n FROM traces;
  WHILE n < $FLEET LOOP
    FOR s IN SELECT id FROM src ORDER BY id LOOP
      EXIT WHEN n >= $FLEET;
      k := k + 1;
      INSERT INTO traces (hash, producer, clock, host, scenario, seed, ring_size, ring_policy,
                          page_shift, t0, driver_build, device_revision, t_first, t_last,
                          records, lost, transfers, dmat_bytes, imported_at)
        SELECT md5(hash || k) || md5(k || hash), producer, clock, 'host' || (k % 50), scenario,
               seed, ring_size, ring_policy, page_shift, t0, 'build-' || (k / 100),
               1 + k % 3, t_first, t_last, records, lost, transfers, dmat_bytes,
               imported_at + k * interval '1 hour'
          FROM traces WHERE id = s RETURNING id INTO nid;
      INSERT INTO transfers SELECT nid, xfer, adapter, mdl, requested, granted, write_to_device,
             n_sg, sg_bytes, sg_lo, sg_hi, truncated, bounced, outcome, t_begin, t_end,
             duration_ns FROM transfers WHERE trace_id = s;
      INSERT INTO findings SELECT nid, id, rule, severity, seq, ts, xfer, adapter, uncertain,
             message FROM findings WHERE trace_id = s;
      INSERT INTO replays SELECT nid, verdict, divergences, records, model_revision, first_kind,
             first_index, first_subject, first_expected, first_actual FROM replays WHERE trace_id = s;
      PERFORM fleet_derive(nid);
      n := n + 1;
    END LOOP;
  END LOOP;
END \$\$;
ANALYZE;"
rows=$(psqlq "SELECT count(*) FROM transfers")
ntr=$(psqlq "SELECT count(*) FROM traces")
best_of3() {
    best=
    for _ in 1 2 3; do
        a=$(now)
        "$BIN/dmatrace" fleet --csv "$URL" "$@" >/dev/null
        b=$(now)
        t=$(echo "($b - $a) * 1000" | bc -l)
        if [[ -z $best ]] || (($(echo "$t < $best" | bc -l))); then best=$t; fi
    done
}
# the floor: a process, a connection (scram) and a query of no rows
best_of3 traces no-such-build
floor=$best
for q in findings-over-time first-build sg-histogram size-histogram highmem replay-divergences; do
    best_of3 "$q"
    printf 'RESULT\tfleet query %s, %d traces (%d transfers)\t%.0f ms\t(report)\t%.0f ms connect + empty query\t%.1f\n' \
        "$q" "$ntr" "$rows" "$best" "$floor" "$(echo "$best / $floor" | bc -l)"
done

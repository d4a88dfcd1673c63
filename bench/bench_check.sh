#!/usr/bin/env bash
# bench_check.sh - does `dmatrace check` use every core?  A corpus of N
# traces of E records each (bench/gen_trace), checked once with one worker
# (the sum of the single-trace times) and once with one worker per CPU;
# target: wall time within 1.3x of that sum divided by the CPU count.
#   bench/bench_check.sh BINDIR [N=100] [E=20000]
# Prints RESULT lines: figure, measured, target, same-run baseline, ratio.
set -euo pipefail
bin=$1 n=${2:-100} e=${3:-20000}
work=$(mktemp -d -t dmt-bench-check-XXXXXX)
trap 'rm -rf "$work"' EXIT
cpus=$(nproc)
printf 'version: 1\ntraces:\n' >"$work/corpus.yaml"
for i in $(seq 1 "$n"); do
    "$bin/gen_trace" -n "$e" -o "$work/t$i.dmat" --seed "$i" >/dev/null
    printf '  - path: t%d.dmat\n' "$i" >>"$work/corpus.yaml"
done
# Expectations do not matter for the timing (no set: every trace FAILs the
# same way after running all its checks); the driver replay needs traces
# of our own captures, so it is left out.
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); awk -v a="$s" -v b="$e" 'BEGIN{print b - a}'; }
serial=$(t "$bin/dmatrace" check "$work/corpus.yaml" --no-driver -j 1)
par=$(t "$bin/dmatrace" check "$work/corpus.yaml" --no-driver -j "$cpus")
ideal=$(awk -v s="$serial" -v c="$cpus" 'BEGIN{print s / c}')
ratio=$(awk -v p="$par" -v i="$ideal" 'BEGIN{print p / i}')
printf 'RESULT\tcheck, %d traces x %d records, -j %d\t%.2f s\t<= 1.3x (sum / CPUs)\t%.2f s sum of single-trace times (-j 1)\t%.2f\n' \
    "$n" "$e" "$cpus" "$par" "$serial" "$ratio"

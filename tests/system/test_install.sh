#!/usr/bin/env bash
# test_install.sh - `cmake --install` into a fresh prefix, used the way
# someone who adopts dmatrace would: a program built against the installed
# library with pkg-config and with find_package(dmatrace) reads a trace and
# agrees with `dmatrace info`; every manual page renders without a warning
# (`man --warnings -l`); the bash completion completes commands, options and
# scenario names; the probe's files are where a driver build looks for them.
# $3: the build directory, $4: the source directory.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD=$3
SRC=$4
P=$WORK/prefix
cmake --install "$BUILD" --prefix "$P" >"$WORK/install.log" 2>&1 || {
    fail "cmake --install: $(tail -5 "$WORK/install.log")"
    finish
}
for f in bin/dmatrace include/dmatrace/dmt/source.h share/man/man1/dmatrace.1 \
    share/man/man1/dmatrace-record.1 share/bash-completion/completions/dmatrace \
    share/dmatrace/probe/dmt_probe.c share/dmatrace/probe/dmt/ring.h \
    share/dmatrace/probe/dmt/port.h share/dmatrace/probe/README.md; do
    [[ -e $P/$f ]] || fail "not installed: $f"
done
pc=$(find "$P" -name dmatrace.pc | head -1)
[[ -n $pc ]] || { fail "no dmatrace.pc"; finish; }
libdir=$(dirname "$(dirname "$pc")")
ls "$libdir"/libdmatrace.so.0* >/dev/null 2>&1 || fail "no libdmatrace.so.0 in $libdir"

# A trace to read.
"$DMT" capture --transfers 4 --seed 2 --deterministic-clock -o "$WORK/t.dmat" >/dev/null 2>&1 ||
    { fail "capture"; finish; }
want=$("$DMT" info --json "$WORK/t.dmat" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["records"])')

# pkg-config, from the installed .pc only (relocatable prefix).
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs dmatrace) ||
    fail "pkg-config --cflags --libs dmatrace"
cc -o "$WORK/count_pc" "$SRC/tests/install/count_records.c" $flags ||
    fail "cc with pkg-config flags: $flags"
got=$(LD_LIBRARY_PATH=$libdir "$WORK/count_pc" "$WORK/t.dmat") || fail "count_pc failed"
[[ $got == "$want records" ]] || fail "pkg-config program: '$got', dmatrace info says $want"

# find_package(dmatrace).
if cmake -S "$SRC/tests/install" -B "$WORK/cm" -DCMAKE_PREFIX_PATH="$P" >"$WORK/cm.log" 2>&1 &&
    cmake --build "$WORK/cm" >>"$WORK/cm.log" 2>&1; then
    got=$(LD_LIBRARY_PATH=$libdir "$WORK/cm/count_records" "$WORK/t.dmat") || fail "cmake program failed"
    [[ $got == "$want records" ]] || fail "find_package program: '$got', want $want"
else
    fail "find_package(dmatrace): $(tail -5 "$WORK/cm.log")"
fi

# Manual pages: one per command, rendered without warnings.
n=0
for page in "$P"/share/man/man1/*.1; do
    n=$((n + 1))
    warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
    [[ -z $warn ]] || fail "$(basename "$page"): $warn"
    text=$(MANWIDTH=80 man -l "$page" 2>/dev/null)
    grep -q '^NAME' <<<"$text" || fail "$(basename "$page"): no NAME"
done
cmds=$("$DMT" --help | awk '/^commands:/{f=1; next} f && /^  [a-z]/{print $1} f && /^$/{f=0}' | wc -l)
[[ $n -ge $((cmds + 1)) ]] || fail "$n manual pages for $cmds commands"
text=$(MANWIDTH=80 man -l "$P/share/man/man1/dmatrace-record.1")
grep -q -- '--ring PATH' <<<"$text" ||
    fail "dmatrace-record(1) does not show the --help text"

# Completion.
comp() { # WORDS... -> the completions of the last word
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _dmatrace; echo "${COMPREPLY[*]}"' \
        _ "$P/share/bash-completion/completions/dmatrace" "$@"
}
[[ $(comp dmatrace rec) == "record recover" ]] || fail "completion of 'rec': $(comp dmatrace rec)"
[[ $(comp dmatrace capture --scen) == "--scenario" ]] || fail "option completion: $(comp dmatrace capture --scen)"
[[ $(comp dmatrace capture --scenario dma) == "dma32-highmem" ]] || fail "scenario completion"
[[ $(comp dmatrace capture --inject sg-s) == "sg-skip" ]] || fail "fault completion"
finish

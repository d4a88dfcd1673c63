#!/usr/bin/env bash
# test_package.sh - the Debian packages as a user gets them: scripts/package
# builds dmatrace, libdmatrace0 and libdmatrace-dev with dpkg-buildpackage
# from a copy of the tree and runs lintian (any error fails it); the test
# then reads the packages' contents with dpkg-deb, unpacks them into an
# empty root and runs the unpacked dmatrace on a trace, and builds a program
# against the unpacked -dev package with its pkg-config file.
# $3: the source directory.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SRC=$3
for t in dpkg-buildpackage lintian dpkg-deb; do
    command -v "$t" >/dev/null || { echo "$t not installed"; exit 77; }
done
"$SRC/scripts/package" "$WORK/deb" >"$WORK/package.log" 2>&1 ||
    { fail "scripts/package: $(tail -20 "$WORK/package.log")"; finish; }
for p in dmatrace libdmatrace0 libdmatrace-dev; do
    ls "$WORK/deb/${p}_"*.deb >/dev/null 2>&1 || fail "no ${p} package"
done
grep -q "^E:" "$WORK/deb/lintian.txt" && fail "lintian errors: $(grep '^E:' "$WORK/deb/lintian.txt")"
contents=$(dpkg-deb -c "$WORK/deb/"dmatrace_*.deb)
for f in usr/bin/dmatrace usr/bin/dmatrace-viewer usr/share/man/man1/dmatrace-carve.1.gz \
    usr/share/bash-completion/completions/dmatrace usr/share/dmatrace/probe/dmt_probe.c \
    usr/share/applications/org.dmatrace.Viewer.desktop usr/share/doc/dmatrace/copyright; do
    grep -q " \./$f\$" <<<"$contents" || fail "dmatrace package lacks $f"
done
# (outputs are read whole first: `cmd | grep -q` fails under pipefail when
# grep stops reading early)
lib=$(dpkg-deb -c "$WORK/deb/"libdmatrace0_*.deb)
dev=$(dpkg-deb -c "$WORK/deb/"libdmatrace-dev_*.deb)
deps=$(dpkg-deb -f "$WORK/deb/"dmatrace_*.deb Depends)
grep -q 'libdmatrace\.so\.0' <<<"$lib" || fail "no soname in libdmatrace0"
grep -q 'pkgconfig/dmatrace\.pc' <<<"$dev" || fail "no .pc in -dev"
grep -q 'libdmatrace0\|libcbor' <<<"$deps" || fail "dmatrace: no library dependencies: $deps"

# Unpacked into an empty root: the tool runs and reads a trace.
R=$WORK/root
for d in "$WORK/deb/"*.deb; do
    [[ $d == *dbgsym* ]] || dpkg-deb -x "$d" "$R"
done
libdir=$(dirname "$(find "$R" -name 'libdmatrace.so.0' | head -1)")
"$DMT" capture --transfers 4 --seed 2 --deterministic-clock -o "$WORK/t.dmat" >/dev/null 2>&1
want=$("$DMT" info "$WORK/t.dmat" | grep '^records:')
got=$(LD_LIBRARY_PATH=$libdir "$R/usr/bin/dmatrace" info "$WORK/t.dmat" | grep '^records:') ||
    fail "the packaged dmatrace does not run"
[[ $got == "$want" ]] || fail "packaged info: '$got' vs '$want'"
pc=$(find "$R" -name dmatrace.pc | head -1)
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs dmatrace)
cc -o "$WORK/count" "$SRC/tests/install/count_records.c" $flags || fail "build against -dev"
out=$(LD_LIBRARY_PATH=$libdir "$WORK/count" "$WORK/t.dmat") || fail "program against -dev failed"
grep -q " records$" <<<"$out" || fail "program against -dev: $out"
finish

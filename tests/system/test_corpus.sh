#!/usr/bin/env bash
# test_corpus.sh - the regression corpus commands: `check` against a corpus
# with passing, failing, known-failing, newly-passing and broken entries
# (each status and the exit code pinned); the JUnit XML read back by an
# independent reader (Python's xml.etree) element by element; the TAP fed to
# `prove`; `bless` round trip (a failing trace blessed then passes, comments
# kept, --dry-run writes nothing); `corpus add`; bad manifests: one line
# naming the manifest and its line, exit 2, never rewritten.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$DMT" --help | grep -q "^  capture " || { echo "no capture in this build"; exit 77; }
C=$WORK/corpus
mkdir -p "$C/sub"
cap() { "$DMT" capture --transfers 8 --seed 3 --deterministic-clock "$@" >/dev/null 2>&1; }
cap --scenario mixed -o "$C/clean.dmat"
cap --scenario mixed --inject sg-skip -o "$C/sub/skip.dmat"
cp "$C/clean.dmat" "$C/fail.dmat"
cp "$C/clean.dmat" "$C/xpass.dmat"
cp "$C/clean.dmat" "$C/changed.dmat"
head -c 5000 /dev/urandom >"$C/corrupt.dmat"

# The known divergence of skip.dmat, as corpus add records it.
expect_status 0 "$DMT" corpus add "$C/probe.yaml" "$C/sub/skip.dmat" --label fault
skipset=$(grep -- '- {key' "$C/probe.yaml" | sed 's/^ *- //')
[[ $skipset == *"replay: {record: "*"kind: descriptor}"* ]] || fail "corpus add: $skipset"
[[ $skipset == *"prog-skipped: 1"* ]] || fail "corpus add audit: $skipset"

cat >"$C/manifest.yaml" <<EOF
# a hand-written corpus; this comment must survive bless
version: 1
traces:
  - path: clean.dmat      # the reference
    labels: [ok]
    expect:
      - {key: default, replay: clean, driver: clean, audit: none}
  - path: fail.dmat
    notes: expects a finding the trace does not have
    expect:
      - {key: default, replay: clean, driver: clean, audit: {prog-skipped: 1}}
  - path: sub/skip.dmat
    labels: [fault, ok]
    expect:
      - $skipset
  - path: xpass.dmat
    expect:
      # a divergence that is not there any more
      - {key: default, replay: {record: 5, kind: descriptor}, driver: clean, audit: none}
  - path: missing.dmat
    expect:
      - {key: default, replay: clean, driver: clean, audit: none}
  - path: corrupt.dmat
  - path: changed.dmat
    hash: xxh64:0000000000000000
    expect:
      - {key: default}
EOF
cp "$C/manifest.yaml" "$C/orig.yaml"

expect_status 1 "$DMT" check "$C/manifest.yaml" -j 2 --junit "$C/junit.xml"
want_line() { grep -q "^$1 *$2" "$WORK/out" || fail "check: expected '$1 $2' in: $(cat "$WORK/out")"; }
want_line PASS clean.dmat
want_line FAIL "fail.dmat: audit: prog-skipped: expected 1 finding(s), got 0"
want_line XFAIL "sub/skip.dmat: replay: known divergence"
want_line XPASS "xpass.dmat: replay: the known divergence at record 5"
want_line ERROR "missing.dmat"
want_line ERROR "corrupt.dmat"
want_line ERROR "changed.dmat: .*content hash"
grep -q "^7 traces: 1 passed, 1 failed, 1 xfail, 1 xpass, 3 errors" "$WORK/out" ||
    fail "summary: $(tail -2 "$WORK/out")"
# corrupt.dmat has no expectation set at all: that is an error of the trace
# (it cannot be read), reported before the missing set.
grep -q "^2 passed, 5 failed$" "$WORK/out" || fail "closing line: $(tail -1 "$WORK/out")"

# JUnit, read independently.
"$PY" - "$C/junit.xml" <<'EOF' || fail "junit"
import sys, xml.etree.ElementTree as ET
s = ET.parse(sys.argv[1]).getroot()
assert s.tag == "testsuite", s.tag
cases = {c.get("name"): c for c in s.findall("testcase")}
def kind(name):
    c = cases[name]
    kids = [k.tag for k in c]
    return kids[0] if kids else "pass"
assert kind("clean.dmat.replay") == "pass"
assert kind("clean.dmat.driver") == "pass"
assert kind("clean.dmat.audit") == "pass"
assert kind("fail.dmat.audit") == "failure", kind("fail.dmat.audit")
assert "prog-skipped" in cases["fail.dmat.audit"].find("failure").get("message")
assert kind("sub/skip.dmat.replay") == "skipped"
assert kind("xpass.dmat.replay") == "failure"
assert kind("missing.dmat.file") == "error"
assert kind("corrupt.dmat.file") == "error"
assert int(s.get("tests")) == len(cases), (s.get("tests"), len(cases))
assert int(s.get("failures")) == sum(1 for c in cases.values() if c.find("failure") is not None)
assert int(s.get("errors")) == 3
assert int(s.get("skipped")) == sum(1 for c in cases.values() if c.find("skipped") is not None) >= 1
for c in cases.values():
    assert c.get("classname") == "dmatrace.corpus"
EOF

# TAP for prove: the failing corpus fails, the passing subset passes.
"$DMT" check "$C/manifest.yaml" --tap >"$C/all.tap" 2>/dev/null || true
head -1 "$C/all.tap" | grep -q "^TAP version 13" || fail "TAP header"
if prove -e cat "$C/all.tap" >"$WORK/prove.out" 2>&1; then
    fail "prove passed a failing corpus"
fi
expect_status 0 "$DMT" check "$C/manifest.yaml" --label ok --tap
cp "$WORK/out" "$C/ok.tap"
prove -e cat "$C/ok.tap" >"$WORK/prove.out" 2>&1 || fail "prove: $(cat "$WORK/prove.out")"
grep -q "# TODO known" "$C/ok.tap" || fail "an XFAIL is a TODO test in TAP"
# Filters: a pattern and --exclude-label.
expect_status 0 "$DMT" check "$C/manifest.yaml" 'clean*'
grep -q "^1 traces" "$WORK/out" || fail "pattern: $(cat "$WORK/out")"
expect_status 0 "$DMT" check "$C/manifest.yaml" --label ok --exclude-label fault
grep -q "^1 traces" "$WORK/out" || fail "exclude-label: $(cat "$WORK/out")"

# bless: --dry-run changes nothing; then the failing and xpass entries are
# rewritten, everything else (comments) byte for byte.
expect_status 1 "$DMT" bless "$C/manifest.yaml" --dry-run
cmp -s "$C/manifest.yaml" "$C/orig.yaml" || fail "bless --dry-run changed the manifest"
grep -q "fail.dmat" "$WORK/out" || fail "bless --dry-run does not show the change"
"$DMT" bless "$C/manifest.yaml" >"$WORK/out" 2>"$WORK/err" || true
grep -q "2 expectation set(s) rewritten" "$WORK/out" || fail "bless: $(cat "$WORK/out" "$WORK/err")"
grep -q "this comment must survive bless" "$C/manifest.yaml" || fail "bless lost a comment"
grep -q "# a divergence that is not there any more" "$C/manifest.yaml" || fail "bless lost a comment"
grep -q "path: clean.dmat      # the reference" "$C/manifest.yaml" || fail "bless lost a comment"
expect_status 0 "$DMT" check "$C/manifest.yaml" fail.dmat xpass.dmat sub/skip.dmat clean.dmat
grep -q "^4 traces: 3 passed, 0 failed, 1 xfail" "$WORK/out" || fail "after bless: $(cat "$WORK/out")"
# A trace that cannot be read is never blessed.
expect_status 1 "$DMT" bless "$C/manifest.yaml" corrupt.dmat
grep -q "corrupt.dmat: .*(not blessed)" "$WORK/err" || fail "bless corrupt: $(cat "$WORK/err")"
# bless of a named trace without an expect key adds one.
cp "$C/clean.dmat" "$C/bare.dmat"
printf '  - path: bare.dmat\n    notes: no expectations yet\n' >>"$C/manifest.yaml"
expect_status 0 "$DMT" bless "$C/manifest.yaml" bare.dmat
expect_status 0 "$DMT" check "$C/manifest.yaml" bare.dmat

# corpus add into a new manifest, then check passes.
expect_status 0 "$DMT" corpus add "$C/new.yaml" "$C/clean.dmat" --label smoke
expect_status 0 "$DMT" corpus add "$C/new.yaml" "$C/sub/skip.dmat"
expect_status 2 "$DMT" corpus add "$C/new.yaml" "$C/clean.dmat"
expect_status 0 "$DMT" check "$C/new.yaml"
grep -q "^2 traces: 1 passed, 0 failed, 1 xfail" "$WORK/out" || fail "new corpus: $(cat "$WORK/out")"
(cd "$WORK" && expect_status 0 "$DMT" check corpus/new.yaml) || fail "check from another directory"

# Bad manifests: one line naming the manifest and its line, exit 2, and
# bless never rewrites them.
bad() { # NAME LINE TEXT
    printf '%b' "$3" >"$C/$1"
    cp "$C/$1" "$C/$1.orig"
    expect_status 2 "$DMT" check "$C/$1" && expect_one_line_error "$1:$2:"
    expect_status 2 "$DMT" bless "$C/$1"
    cmp -s "$C/$1" "$C/$1.orig" || fail "bless rewrote the bad manifest $1"
}
bad notyaml.yaml 4 'version: 1\ntraces:\n  - path: [unclosed\n'
bad rule.yaml 5 'version: 1\ntraces:\n  - path: clean.dmat\n    expect:\n      - {audit: {no-such-rule: 1}}\n'
bad dup.yaml 4 'version: 1\ntraces:\n  - path: clean.dmat\n  - path: ./clean.dmat\n'
bad dup2.yaml 4 'version: 1\ntraces:\n  - path: clean.dmat\n  - path: clean.dmat\n'
bad key.yaml 3 'version: 1\ntraces:\n  - pth: clean.dmat\n'
bad kind.yaml 4 'version: 1\ntraces:\n  - path: clean.dmat\n    expect: [{replay: {record: 1, kind: nonsense}}]\n'
bad alias.yaml 3 'version: 1\ntraces:\n  - &a {path: clean.dmat}\n'
# A record index past the end of the trace: that trace is an ERROR naming
# the manifest line.
printf 'version: 1\ntraces:\n  - path: clean.dmat\n    expect:\n      - {replay: {record: 999999, kind: descriptor}}\n' >"$C/past.yaml"
expect_status 1 "$DMT" check "$C/past.yaml"
grep -q "ERROR clean.dmat: replay: manifest line 5: record 999999 is past the end" "$WORK/out" ||
    fail "past the end: $(cat "$WORK/out")"
# A trace's register map is loaded for its checks: a map that does not
# parse makes that trace an ERROR naming the map and its line; the shipped
# map checks clean.
printf '<database>\n<domain name="X">\n' >"$C/broken.xml"
printf 'version: 1\ntraces:\n  - path: clean.dmat\n    regmap: broken.xml\n    expect: [{}]\n' >"$C/rm.yaml"
expect_status 1 "$DMT" check "$C/rm.yaml" --no-driver
grep -q "^ERROR clean.dmat: .*regmap .*broken.xml:" "$WORK/out" || fail "bad regmap: $(cat "$WORK/out")"
mapdir=$(dirname "$(dirname "$DMT")")/share/dmatrace
if [[ -f $mapdir/dmm.xml ]]; then
    cp "$mapdir/dmm.xml" "$C/dmm.xml"
    printf 'version: 1\ntraces:\n  - path: clean.dmat\n    regmap: dmm.xml\n    expect: [{}]\n' >"$C/rm.yaml"
    expect_status 0 "$DMT" check "$C/rm.yaml" --no-driver
fi
finish

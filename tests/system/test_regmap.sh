#!/usr/bin/env bash
# test_regmap.sh - register names come from one register map everywhere: a
# capture's dump, replay divergence, diff, Chrome export and store show the
# names of the map (the sample device's dmm.xml by default), and the same
# commands given a copy of the map with renamed fields and registers
# (--regmap) show the new names - so there is one source.  Also: --regmap
# none shows raw offsets only; a bad map is one FILE:LINE line, exit 2.
source "$(dirname "$0")/lib.sh"

DMT=$(realpath "$DMT")
MAP=$(dirname "$DMT")/../share/dmatrace/dmm.xml
[[ -r $MAP ]] || { echo "no dmm.xml next to $DMT" >&2; exit 77; }
cd "$WORK"
"$DMT" capture --scenario mixed --seed 1 --deterministic-clock -o clean.dmat >/dev/null 2>&1 ||
    { echo "capture unavailable" >&2; exit 77; }
"$DMT" capture --scenario mixed --seed 1 --deterministic-clock --inject sg-skip \
    -o buggy.dmat >/dev/null 2>&1

# A copy with a register, a field and a bitfield renamed.
sed -e 's/name="REVISION"/name="REVNUM"/' \
    -e 's/<reg32 offset="0x10" name="DESC_COUNT"/<reg32 offset="0x10" name="RINGLEN"/' \
    -e 's/<bitfield name="ERR" pos="2"\/>/<bitfield name="FAULT" pos="2"\/>/' "$MAP" >renamed.xml
cmp -s "$MAP" renamed.xml && fail "the renamed copy is unchanged"

# has TEXT FILE / hasnt TEXT FILE
has() { grep -qF -- "$1" "$2" || fail "$2 lacks '$1'"; }
hasnt() { ! grep -qF -- "$1" "$2" || fail "$2 has '$1'"; }
hasnt_line() { ! grep -qxF -- "$1" "$2" || fail "$2 has the line '$1'"; }

# run_all TAG [MAP OPTIONS]: every command that shows registers, outputs in TAG.*
run_all() {
    local tag=$1
    shift
    "$DMT" dump clean.dmat "$@" >"$tag.dump"
    expect_status 1 "$DMT" replay --model-revision 2 clean.dmat "$@" && cp "$WORK/out" "$tag.replay"
    expect_status 1 "$DMT" diff clean.dmat buggy.dmat "$@" && cp "$WORK/out" "$tag.diff"
    "$DMT" export clean.dmat --format chrome --no-findings -o "$tag.json" "$@" >/dev/null
    "$DMT" import clean.dmat -q -o "$tag.db" "$@"
    $PY - "$tag.db" >"$tag.store" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for (n,) in db.execute("SELECT name FROM reg_names ORDER BY off"):
    print("reg", n)
for (n,) in db.execute("SELECT DISTINCT name FROM reg_fields ORDER BY name"):
    print("field", n)
# the example query of store-queries.md: reads of CH[1].STATUS with ERR
q = """SELECT count(*) FROM reg_accesses a JOIN reg_names n USING (dev, off, width)
       WHERE n.name = 'CH[1].STATUS' AND a.is_write = 0"""
print("ch1_status_reads", db.execute(q).fetchone()[0])
PY
}

run_all default
has 'CH[0].STATUS=0x6 {DONE, ERR}' default.dump
has 'ID=0x444d4101 {REVISION=1, MAGIC=0x444d41}' default.dump
has 'CH[0].DESC_COUNT=0x1' default.dump
has 'reg_read dev=1 off=0x0 (ID)' default.replay
has 'REVISION 1->2' default.replay
has 'DESC_COUNT=0x2a' default.diff
has '"name":"dev1 CH[0].STATUS"' default.json
has '"ERR":1' default.json
has 'reg CH[1].STATUS' default.store
has 'reg CH[0].DESC_COUNT' default.store
has 'field ERR' default.store
grep -q '^ch1_status_reads [1-9]' default.store || fail "no CH[1].STATUS reads by name in the store"

run_all renamed --regmap renamed.xml
has 'CH[0].STATUS=0x6 {DONE, FAULT}' renamed.dump
hasnt ', ERR}' renamed.dump
has 'ID=0x444d4101 {REVNUM=1' renamed.dump
has 'CH[0].RINGLEN=0x1' renamed.dump
hasnt 'DESC_COUNT' renamed.dump
has 'REVNUM 1->2' renamed.replay
hasnt 'REVISION' renamed.replay
has 'RINGLEN=0x2a' renamed.diff
hasnt 'DESC_COUNT' renamed.diff
has '"FAULT":1' renamed.json
hasnt '"ERR":' renamed.json
hasnt 'DESC_COUNT' renamed.json
has 'field FAULT' renamed.store
hasnt_line 'field ERR' renamed.store
has 'reg CH[0].RINGLEN' renamed.store

# Without a map: raw offsets only.
"$DMT" dump clean.dmat --regmap none --count 20 >none.dump
has 'off=0x104 value=0x6' none.dump
hasnt 'STATUS' none.dump

# A bad map: one line naming the file and line, exit 2, for every command.
printf '<database>\n<domain name="D">\n<reg32 offset="0" name="R">\n<bitfield name="F" low="8" high="40"/>\n</reg32></domain></database>\n' >bad.xml
for cmd in "dump clean.dmat" "replay clean.dmat" "diff clean.dmat buggy.dmat" \
    "export clean.dmat --format chrome -o x.json" "import clean.dmat -o x.db"; do
    # shellcheck disable=SC2086
    if expect_status 2 "$DMT" $cmd --regmap bad.xml; then
        expect_one_line_error bad.xml
        grep -q 'bad.xml:[0-9]' "$WORK/err" || fail "$cmd: no FILE:LINE: $(cat "$WORK/err")"
    fi
done
expect_status 2 "$DMT" dump clean.dmat --domain NOPE && expect_one_line_error NOPE

# The trace names the map it was captured with (regmap_name, regmap_hash):
# info shows it; decoding with that map is quiet, with another one
# (renamed.xml) dump, replay and diff warn in one line and still work.
"$DMT" capture --scenario mixed --transfers 4 --seed 1 --deterministic-clock --regmap "$MAP" \
    -o named.dmat >/dev/null 2>&1 || fail "capture --regmap"
want_hash=$(python3 -c 'import sys, xxhash; print("0x%016x" % xxhash.xxh64(open(sys.argv[1], "rb").read()).intdigest())' "$MAP" 2>/dev/null || true)
"$DMT" info named.dmat >named.info
has "regmap:     dmm.xml (xxh64 " named.info
[[ -z $want_hash ]] || has "$want_hash" named.info
"$DMT" info named.dmat --json >named.json
has '"regmap":{"name":"dmm.xml"' named.json
"$DMT" info clean.dmat --json >clean.json
has '"regmap":null' clean.json
expect_status 0 "$DMT" dump named.dmat --regmap "$MAP" --count 5
[[ -s $WORK/err ]] && fail "dump with the trace's own map warned: $(cat "$WORK/err")"
for cmd in "dump named.dmat" "replay named.dmat" "diff named.dmat named.dmat"; do
    # shellcheck disable=SC2086
    if expect_status 0 "$DMT" $cmd --regmap renamed.xml; then
        expect_one_line_error named.dmat
        has "warning: named.dmat was captured with register map dmm.xml" "$WORK/err"
        has "decoding with renamed.xml" "$WORK/err"
    fi
done

# A trace-backed store (import --events-in-trace): no raw event rows, the
# same register names (from the accesses seen while streaming), and every
# command reads it as the full store; moved away, its trace is one error.
"$DMT" import clean.dmat -q -o full.db || fail "import"
"$DMT" import clean.dmat -q --events-in-trace -o tb.db || fail "import --events-in-trace"
$PY - full.db tb.db <<'PY' || fail "trace-backed store tables"
import sqlite3, sys
f, t = (sqlite3.connect(p) for p in sys.argv[1:3])
assert t.execute("SELECT value FROM meta WHERE key = 'events'").fetchone()[0] == "trace"
assert t.execute("SELECT count(*) FROM reg_accesses").fetchone()[0] == 0
assert f.execute("SELECT count(*) FROM reg_accesses").fetchone()[0] > 0
for q in ("SELECT dev, off, width, name FROM reg_names ORDER BY 1, 2, 3",
          "SELECT * FROM reg_fields ORDER BY 1, 2, 3, 4",
          "SELECT * FROM transfers ORDER BY xfer",
          "SELECT * FROM summary ORDER BY 1, 2, 3"):
    assert f.execute(q).fetchall() == t.execute(q).fetchall(), q
PY
for cmd in info "audit --json"; do
    "$DMT" $cmd full.db 2>/dev/null | sed 's/full\.db/X/g' >full.out
    "$DMT" $cmd tb.db 2>/dev/null | sed 's/tb\.db/X/g' >tb.out
    cmp -s full.out tb.out || fail "$cmd: the trace-backed store reads differently"
done
"$DMT" export full.db --format chrome --no-findings -o full.json >/dev/null
"$DMT" export tb.db --format chrome --no-findings -o tb.json >/dev/null
[[ -s full.json ]] && cmp -s <(sed 's/full\.db/X/g' full.json) <(sed 's/tb\.db/X/g' tb.json) ||
    fail "export: the trace-backed store reads differently"
mv clean.dmat moved.dmat
expect_status 3 "$DMT" info tb.db && expect_one_line_error clean.dmat
mv moved.dmat clean.dmat
"$DMT" info tb.db >/dev/null || fail "info after the trace came back"

finish

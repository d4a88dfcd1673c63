#!/usr/bin/python3
"""check_merge.py - check `carve --merge` against its inputs, with an
independent CBOR decoder (python3-cbor2).  Run check_trace.py on each file
first: this script trusts the framing and looks at the records.

usage: check_merge.py PARTIAL DIRECT MERGED RING
  PARTIAL  the recording the crash cut (cut, or made whole by `recover`)
  DIRECT   `carve RING` without --merge: what the ring still held
  MERGED   `carve RING --merge PARTIAL`
  RING     the ring file (one ring or a per-CPU region) the probe wrote

For each ring (each CPU of a per-CPU region; the one ring otherwise):

  - MERGED begins with every record of PARTIAL, in order, with its
    sequence number, its time and its fields (recover's final marker left
    out);
  - where the recording stops, ring r stood at ring sequence number pos(r):
    the recording's start for that ring (header ring_seq0, or the ring_seq
    of its first CPU record; seq0 for one ring) plus its items there;
  - after that, MERGED holds for ring r exactly one LOST range (reason 5,
    absent) of tail(r) - pos(r) numbers when the ring's consumer had taken
    more than the file kept, then exactly DIRECT's items of ring r, in
    order (records with their time and fields, LOST ranges with their count
    and reason);
  - so ring r's numbers in MERGED run from its start to head(r) of the ring
    header, each once: the probe handed out head(r) numbers, every one is a
    record or inside a LOST range, and no record comes twice.

Prints a JSON summary per ring; exits 1 with a message on any violation.
"""
import io
import json
import struct
import sys

import cbor2

NONE = 0xFFFFFFFF
RECOVER = "dmatrace recover: "


def fail(msg):
    print(f"check_merge: {msg}", file=sys.stderr)
    sys.exit(1)


def items(path):
    """(header, [item]); an item is a dict: ring (cpu or None), kind, ts,
    fields, seq, count, ring_seq (from its CPU record, or None)."""
    data = open(path, "rb").read()
    f = io.BytesIO(data)
    hdr = cbor2.CBORDecoder(f).decode()
    seq, ts, cpu, pending, out = hdr.get("seq0", 0), hdr.get("t0", 0), None, None, []
    while f.tell() < len(data):
        try:
            rec = cbor2.CBORDecoder(f).decode()
        except (cbor2.CBORDecodeEOF, EOFError):
            break  # a cut file: its last whole record was the end
        kind = rec[0]
        ts += rec[1]
        if kind in (24, 25):
            continue
        if kind == 26:
            cpu = None if rec[2] == NONE else rec[2]
            pending = rec[3] if len(rec) >= 4 else None
            continue
        n = rec[3] if kind == 22 else 1
        out.append({"ring": cpu, "kind": kind, "ts": ts, "fields": rec[2:], "seq": seq,
                    "count": n, "ring_seq": pending})
        pending = None
        seq += n
    return hdr, out


def ring_headers(path):
    b = open(path, "rb").read()
    count = struct.unpack_from("<I", b, 52)[0] or 1
    size = struct.unpack_from("<Q", b, 16)[0]
    rings = []
    for i in range(count):
        at = i * (256 + size)
        head, tail = struct.unpack_from("<Q", b, at + 64)[0], struct.unpack_from("<Q", b, at + 128)[0]
        rings.append({"head": head >> 32, "tail": tail >> 32})
    return rings


def body(it):
    """What must be equal between two files: kind, time, fields (LOST: its
    count and reason, not its first number, which is each file's own)."""
    if it["kind"] == 22:
        return (22, it["count"], it["fields"][2])
    return (it["kind"], it["ts"], repr(it["fields"]))


def main():
    if len(sys.argv) != 5:
        fail("usage: check_merge.py PARTIAL DIRECT MERGED RING")
    ph, partial = items(sys.argv[1])
    _, direct = items(sys.argv[2])
    mh, merged = items(sys.argv[3])
    rings = ring_headers(sys.argv[4])
    per_cpu = len(rings) > 1
    if partial and partial[-1]["kind"] == 23 and str(partial[-1]["fields"][0]).startswith(RECOVER):
        partial.pop()

    def ring_of(it):
        if not per_cpu:
            return 0
        return it["ring"]

    # The recording, whole, first.
    if len(merged) < len(partial):
        fail(f"the merge has {len(merged)} items, the recording {len(partial)}")
    for i, (a, b) in enumerate(zip(partial, merged)):
        if (a["seq"], a["ring"], body(a)) != (b["seq"], b["ring"], body(b)):
            fail(f"item {i}: the recording has seq {a['seq']} {body(a)}, the merge seq {b['seq']} {body(b)}")
    # Where the recording left each ring.
    if per_cpu:
        start = dict(enumerate(ph.get("ring_seq0", [])))
    else:
        start = {0: ph.get("seq0", 0)}
    pos = dict(start)
    for it in partial:
        r = ring_of(it)
        if r is None:
            continue  # written by a tool, of no ring
        if it["ring_seq"] is not None:
            if r in pos and pos[r] != it["ring_seq"]:
                fail(f"the recording: ring {r} at {pos[r]}, a CPU record says {it['ring_seq']}")
            pos[r] = it["ring_seq"]
            start.setdefault(r, it["ring_seq"])
        pos[r] += it["count"]
    rest = merged[len(partial):]
    summary = {}
    for r, h in enumerate(rings):
        p = pos.get(r, 0)  # a ring the recording never saw was never consumed
        mine = [it for it in rest if ring_of(it) == r]
        theirs = [it for it in direct if ring_of(it) == r]
        absent = h["tail"] - p
        if absent < 0:
            fail(f"ring {r}: the recording holds up to {p}, the ring's tail is {h['tail']}")
        if absent:
            if not mine or mine[0]["kind"] != 22 or mine[0]["fields"][2] != 5 or mine[0]["count"] != absent:
                fail(f"ring {r}: want LOST(absent) of {absent} first, got {mine[:1]}")
            if per_cpu and mine[0]["ring_seq"] != p:
                fail(f"ring {r}: the absent range says ring_seq {mine[0]['ring_seq']}, want {p}")
            mine = mine[1:]
        if [body(x) for x in mine] != [body(x) for x in theirs]:
            for i, (a, b) in enumerate(zip(mine, theirs)):
                if body(a) != body(b):
                    fail(f"ring {r}: item {i} after the recording: merge {body(a)}, ring {body(b)}")
            fail(f"ring {r}: {len(mine)} items after the recording and the gap, the ring has {len(theirs)}")
        after = sum(it["count"] for it in rest if ring_of(it) == r)
        if p + after != h["head"]:
            fail(f"ring {r}: numbers {start.get(r, 0)}..{p + after}, the ring handed out up to {h['head']}")
        summary[str(r)] = {"start": start.get(r, 0), "recording_until": p, "absent": absent,
                           "from_ring": len(theirs), "head": h["head"]}
    stray = [it for it in rest if ring_of(it) is None or ring_of(it) >= len(rings)]
    if stray:
        fail(f"{len(stray)} items after the recording belong to no ring: {stray[:1]}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

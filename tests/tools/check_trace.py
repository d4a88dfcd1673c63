#!/usr/bin/python3
"""check_trace.py - decode a dmatrace trace with an independent CBOR decoder
(Debian's python3-cbor2) and check it against schema/FORMAT.md:

  - the file is the tag 55799 + header map, then records, as a CBOR sequence;
  - every record is an array [kind, t, ...] of a known kind with the field
    count trace.cddl gives;
  - every CHUNK matches the records before it (count, byte length, CRC-32C,
    first sequence number); the file ends with END and nothing after it;
  - LOST ranges start at the next sequence number; CPU records (version 2)
    take none and set the CPU of what follows (cpu 2^32-1: no CPU, records
    a tool wrote);
  - per-ring positions (FORMAT.md 1.4): a CPU's ring sequence numbers start
    at the header's ring_seq0 entry or the first ring_seq its CPU records
    give, each item of the CPU takes the next ones, and every later
    ring_seq a CPU record gives equals the number so implied.

Prints a JSON summary (counts per kind, records, lost, sg elements, the
first and next sequence numbers, per_cpu: sequence numbers per CPU,
per_ring: each CPU's first and next ring sequence number where the trace
says them, with --header the header map) on stdout; exits 1 with a message
naming the byte offset on any violation.
usage: check_trace.py FILE [--allow-cut] [--header]
"""
import io
import json
import sys

import cbor2

# kind -> (name, minimum field count including kind and t)
KINDS = {
    1: ("reg_write", 4), 2: ("reg_read", 4), 3: ("reg_write_buf", 4), 4: ("reg_read_buf", 4),
    5: ("execute_dma", 6), 6: ("start_dma", 9), 7: ("start_dma_end", 6), 8: ("complete_dma", 6),
    9: ("adapter_create", 10), 10: ("adapter_release", 3), 11: ("buffer_lock", 6),
    12: ("buffer_unlock", 3), 13: ("common_alloc", 8), 14: ("common_release", 4),
    15: ("desc_write", 5), 16: ("interrupt", 5), 17: ("dpc", 4), 18: ("digest", 6),
    19: ("pattern", 7), 20: ("payload", 5), 21: ("device_map", 6), 22: ("lost", 5),
    23: ("marker", 3), 24: ("chunk", 6), 25: ("end", 4), 26: ("cpu", 3),
    27: ("calibration", 8),
}


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def fail(path, off, msg):
    print(f"{path}: byte {off}: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    path = sys.argv[1]
    allow_cut = "--allow-cut" in sys.argv
    data = open(path, "rb").read()
    f = io.BytesIO(data)
    if data[:3] != b"\xd9\xd9\xf7":
        fail(path, 0, "no self-described CBOR tag 55799")
    hdr = cbor2.CBORDecoder(f).decode()
    if not isinstance(hdr, dict) or hdr.get("magic") != "dmatrace" or hdr.get("version") not in (1, 2):
        fail(path, 3, f"bad header {hdr!r}")
    seq = hdr.get("seq0", 0)
    ts = hdr.get("t0", 0)
    counts = {}
    chunk_start = f.tell()
    chunk_records = 0
    chunk_seq = seq
    records = lost = sg = 0
    saw_end = False
    cpu = None
    per_cpu = {}  # cpu -> sequence numbers (records + lost) made on it
    ring_seq0 = hdr.get("ring_seq0", [])
    if not isinstance(ring_seq0, list) or not all(isinstance(x, int) and x >= 0 for x in ring_seq0):
        fail(path, 3, f"ring_seq0 is not an array of uint: {ring_seq0!r}")
    ring_first = {str(i): v for i, v in enumerate(ring_seq0)}  # cpu -> first ring seq
    ring_next = dict(ring_first)  # cpu -> next ring seq
    while f.tell() < len(data):
        off = f.tell()
        if saw_end:
            fail(path, off, "bytes after END")
        try:
            rec = cbor2.CBORDecoder(f).decode()
        except (cbor2.CBORDecodeEOF, EOFError):
            if allow_cut:
                break
            fail(path, off, "file ends inside a record")
        if not isinstance(rec, list) or len(rec) < 2 or not isinstance(rec[0], int):
            fail(path, off, f"record is not [kind, t, ...]: {rec!r}")
        kind, dt = rec[0], rec[1]
        if kind not in KINDS:
            fail(path, off, f"unknown kind {kind}")
        name, nmin = KINDS[kind]
        if len(rec) < nmin:
            fail(path, off, f"{name} has {len(rec)} items, needs {nmin}")
        ts += dt
        if kind == 24:
            body = data[chunk_start:off]
            if rec[2] != chunk_records or rec[3] != len(body) or rec[5] != chunk_seq:
                fail(path, off, f"chunk {rec[2:]} does not match {chunk_records} records, "
                                f"{len(body)} bytes, seq {chunk_seq}")
            if rec[4] != crc32c(body):
                fail(path, off, "chunk CRC-32C mismatch")
            chunk_start = f.tell()
            chunk_records = 0
            chunk_seq = seq
            continue
        if kind == 25:
            if chunk_records:
                fail(path, off, "END after unframed records")
            if rec[2] != records:
                fail(path, off, f"END says {rec[2]} records, found {records}")
            saw_end = True
            continue
        chunk_records += 1
        if kind == 26:
            cpu = None if rec[2] == 0xFFFFFFFF else rec[2]
            if len(rec) >= 4:
                if cpu is None:
                    fail(path, off, "ring_seq for no CPU")
                c = str(cpu)
                if c in ring_next and ring_next[c] != rec[3]:
                    fail(path, off, f"CPU {cpu}: ring_seq {rec[3]}, its items imply {ring_next[c]}")
                ring_first.setdefault(c, rec[3])
                ring_next[c] = rec[3]
            continue
        counts[name] = counts.get(name, 0) + 1
        if cpu is not None:
            n = rec[3] if kind == 22 else 1
            per_cpu[str(cpu)] = per_cpu.get(str(cpu), 0) + n
            if str(cpu) in ring_next:
                ring_next[str(cpu)] += n
        if kind == 22:
            if rec[2] != seq:
                fail(path, off, f"lost range starts at {rec[2]}, expected {seq}")
            seq += rec[3]
            lost += rec[3]
        else:
            seq += 1
            records += 1
        if kind == 5:
            if len(rec[5]) % 2:
                fail(path, off, "odd SG item count")
            sg += len(rec[5]) // 2
    if not saw_end and not allow_cut:
        fail(path, len(data), "no END record")
    summary = {"records": records, "lost": lost, "sg_elements": sg, "kinds": counts,
               "closed": saw_end, "seq0": hdr.get("seq0", 0), "next_seq": seq,
               "per_cpu": per_cpu,
               "per_ring": {c: {"first": ring_first[c], "next": ring_next[c]} for c in ring_first}}
    if "--header" in sys.argv:
        summary["header"] = hdr
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

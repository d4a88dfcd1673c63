#!/usr/bin/python3
"""make_trace_seeds.py - the hand-made edge cases of the trace corpora.

usage: /usr/bin/python3 make_trace_seeds.py BASE.dmat OUTDIR

BASE.dmat is a small capture (`dmatrace capture --scenario mixed
--transfers 2 --deterministic-clock -o BASE.dmat`); its header is reused.
Writes e*.dmat into OUTDIR: empty, tag only, header only, cut inside a
record, a bad CRC, bytes after END, every record kind once, unknown kinds
and trailing fields, a LOST range, version 2, an array header claiming
2^64-1 items, an indefinite-length item, limits exceeded.  Independent of
the C code: the encoding comes from python3-cbor2 and the CRC-32C below.
"""
import os
import sys

import cbor2

POLY = 0x82F63B78
TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ POLY if c & 1 else c >> 1
    TABLE.append(c)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def header_bytes(base, **changes):
    dec = cbor2.CBORDecoder(open(base, "rb"))
    tag = dec.decode()
    hdr = dict(tag.value if isinstance(tag, cbor2.CBORTag) else tag)
    hdr.update(changes)
    return cbor2.dumps(cbor2.CBORTag(55799, hdr)), hdr


def trace(hdr, records, end=True, seq0=0):
    """records: lists [kind, t, ...]; returns header + one chunk + END."""
    body = b"".join(cbor2.dumps(r) for r in records)
    nrec = len(records)
    out = hdr + body
    if nrec:
        out += cbor2.dumps([24, 0, nrec, len(body), crc32c(body), seq0])
    if end:
        lost = sum(r[3] for r in records if r[0] == 22)
        out += cbor2.dumps([25, 0, nrec - sum(1 for r in records if r[0] == 22), lost])
    return out


def main():
    base, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    real = open(base, "rb").read()
    hdr, hmap = header_bytes(base)
    files = {}
    files["e01-empty"] = b""
    files["e02-tag-only"] = b"\xd9\xd9\xf7"
    files["e03-header-only"] = hdr
    files["e04-cut-mid-record"] = real[: len(hdr) + 23]
    bad = bytearray(real)
    bad[len(hdr) + 12] ^= 0x01
    files["e05-bad-crc"] = bytes(bad)
    files["e06-after-end"] = real + b"\x00"
    every = [
        [9, 1000, 1, 0, True, False, True, 0x100000, 256, 0xFFFFFFFFFFFF],
        [21, 5, 0, 0xFE000000, 0x10000, 0xFFFF800000000000],
        [13, 5, 1, 1, 0x100000, 0x1000, False, 0xFFFF800000100000],
        [15, 5, 1, 0, b"\x01\x02\x03\x04\x05\x06\x07\x08" * 4],
        [11, 5, 3, 0x7FF000001000, 0x3000, 1],
        [19, 5, 3, 1, 42, 0, 0x3000],
        [20, 5, 3, 0, b"\xaa" * 16],
        [6, 5, 7, 1, 3, 0, 0x3000, True, 0xC0FFEE],
        [5, 5, 7, 1, 0x3000, [-0x12345679, -0x989, 0x7F000, 2]],
        [7, 5, 7, 1, 0, 0x3000],
        [1, 5, 0x108, 0x12345000],
        [1, 5, 0x10C, 0x1, 2, 0],
        [3, 5, 0x200, [1, 2, 3, 4]],
        [4, 5, 0x200, [5, 6], 4, 0],
        [2, 5, 0x104, 0x2],
        [16, 5, 0, True, 3],
        [17, 5, 0, 7],
        [18, 5, 7, 1, 0x3000, 0x0123456789ABCDEF],
        [8, 5, 7, 1, True, 0],
        [12, 5, 3],
        [14, 5, 1, 1],
        [10, 5, 1],
        [23, 5, "every kind"],
    ]
    files["e07-every-kind"] = trace(hdr, every)
    files["e08-lost-and-marker"] = trace(
        hdr, [[1, 10, 0x108, 1], [22, 0, 1, 5, 0], [23, 3, "after the loss"], [22, 0, 7, 2, 2]]
    )
    files["e09-unknown-kinds"] = trace(
        hdr,
        [[99, 1, 2, "x", [1, 2]], [1, 1, 0x100, 2, 4, 0, "future"], [2, -1, 0x104, 3, 1]],
    )
    v2, _ = header_bytes(base, version=2)
    files["e10-version-2"] = trace(v2, [[1, 1, 0x100, 2]])
    files["e11-huge-array"] = hdr + b"\x9b" + b"\xff" * 8
    files["e12-indefinite"] = hdr + b"\x9f\x01\x00\xff"
    files["e13-long-sg"] = trace(hdr, [[5, 1, 1, 1, 4097 * 4096, [i for i in range(2 * 4097)]]])
    files["e14-no-end"] = trace(hdr, [[1, 1, 0x100, 2], [23, 1, "cut"]], end=False)
    files["e15-huge-time"] = trace(
        hdr, [[1, 0x7FFFFFFFFFFFFFF0, 0x100, 2], [1, 0x7FFFFFFFFFFFFFF0, 0x100, 3]]
    )
    s5, _ = header_bytes(base, seq0=5)
    files["e16-seq0"] = trace(s5, [[1, 1, 0x100, 2], [22, 1, 6, 3, 1]], seq0=5)
    for name, data in files.items():
        with open(os.path.join(outdir, name + ".dmat"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()

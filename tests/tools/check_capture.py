#!/usr/bin/python3
"""check_capture.py - check a captured session with an independent decoder
(python3-cbor2) and an independent implementation of the DMT64 digest and
the XS64 pattern (schema/FORMAT.md 1.8):

  - every START_DMA has exactly one EXECUTE_DMA whose SG total equals the
    granted length (unless --fault says a bug was planted);
  - register writes and descriptor writes are present;
  - for every transfer of at most 256 KiB whose bytes are known (an upload
    with a PATTERN record, or a readback of the range the previous upload
    wrote), the DIGEST record equals the DMT64 of those bytes, or of the
    ranges it lists (digest policy bounded); policy off is counted apart;
  - no records were lost.

usage: check_capture.py FILE [--allow-lost] [--uploads-only]
(--uploads-only: readbacks do not follow their upload, e.g. the burst
scenario's concurrent threads, so only uploads' digests are checked)
Prints a JSON summary; exits 1 naming the record index on a violation.
"""
import io
import json
import sys

import cbor2

M64 = (1 << 64) - 1
MUL = 0x9E3779B97F4A7C15


def mix(h, w):
    h = ((h ^ w) * MUL) & M64
    return h ^ (h >> 29)


def dmt64(data):
    h = 0x6A09E667F3BCC909
    n = len(data)
    full = n - n % 8
    for i in range(0, full, 8):
        h = mix(h, int.from_bytes(data[i:i + 8], "little"))
    if n % 8:
        h = mix(h, int.from_bytes(data[full:] + bytes(8 - n % 8), "little"))
    h = mix(h, n)
    return h ^ (h >> 32)


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def pattern(seed, offset, length):
    out = bytearray()
    first, last = offset // 8, (offset + length + 7) // 8
    for k in range(first, last):
        out += splitmix64((seed + k) & M64).to_bytes(8, "little")
    start = offset - first * 8
    return bytes(out[start:start + length])


def sgq(v):
    return v << 12 if v >= 0 else -1 - v


def main():
    path = sys.argv[1]
    allow_lost = "--allow-lost" in sys.argv
    uploads_only = "--uploads-only" in sys.argv
    data = open(path, "rb").read()
    f = io.BytesIO(data)
    cbor2.CBORDecoder(f).decode()  # header
    recs = []
    while f.tell() < len(data):
        recs.append(cbor2.CBORDecoder(f).decode())
    errors = []
    starts = {}   # xfer -> (index, mdl, offset, requested, wtd)
    execs = {}    # xfer -> [(index, granted, total)]
    digests = {}  # xfer -> (length, value)
    patterns = {}  # mdl -> (seed, offset, length)
    locks = {}    # mdl -> length
    order = []    # xfer ids in START_DMA order
    counts = {}
    lost = 0
    bounce = {}  # execute_dma flags & 3 -> count
    idx = 0
    for r in recs:
        k = r[0]
        if k in (24, 25):
            continue
        counts[k] = counts.get(k, 0) + 1
        if k == 6:
            starts[r[2]] = (idx, r[4], r[5], r[6], r[7])
            order.append(r[2])
        elif k == 5:
            sg = r[5]
            total = sum(sgq(sg[i + 1]) for i in range(0, len(sg), 2))
            execs.setdefault(r[2], []).append((idx, r[4], total))
            # optional trailing flags: 1 bounce checked, 2 bounced
            flags = r[6] if len(r) > 6 else 0
            if not isinstance(flags, int) or flags < 0 or flags > 0xFFFFFFFF:
                errors.append(f"record {idx}: execute_dma flags {flags!r}")
            elif flags & 2 and not flags & 1:
                errors.append(f"record {idx}: execute_dma says bounced but not checked")
            else:
                bounce[flags & 3] = bounce.get(flags & 3, 0) + 1
        elif k == 18:
            policy = r[6] if len(r) > 6 else 0
            ranges = None
            if len(r) > 7:
                q = [v * 4096 if v >= 0 else -1 - v for v in r[7]]
                ranges = list(zip(q[0::2], q[1::2]))
            digests[r[2]] = (r[4], r[5], policy, ranges)
        elif k == 19:
            patterns[r[2]] = (r[4], r[5], r[6])
        elif k == 11:
            locks[r[2]] = r[4]
        elif k == 22:
            lost += r[3]
        idx += 1
    for x, (i, mdl, off, req, wtd) in starts.items():
        ex = execs.get(x, [])
        if len(ex) != 1:
            errors.append(f"record {i}: transfer {x} has {len(ex)} execute_dma records")
        elif ex[0][1] != ex[0][2]:
            errors.append(f"record {ex[0][0]}: transfer {x}: SG total {ex[0][2]} != granted {ex[0][1]}")
    if not counts.get(1):
        errors.append("no register writes")
    if not counts.get(15):
        errors.append("no descriptor writes")
    if lost and not allow_lost:
        errors.append(f"{lost} records lost")
    # Digests: an upload's bytes are its pattern; the following readback of
    # the same length reads them back.
    checked = 0
    not_digested = 0
    last_upload = None  # (seed, base offset in pattern, mdl length)
    for x in order:
        i, mdl, off, req, wtd = starts[x]
        ex = execs.get(x)
        if not ex or x not in digests:
            continue
        granted = ex[0][1]
        dlen, dval, policy, ranges = digests[x]
        if policy == 2:
            not_digested += 1
            continue
        if wtd:
            if mdl in patterns:
                seed, poff, plen = patterns[mdl]
                last_upload = (seed, poff, plen)
                want_bytes = pattern(seed, poff + off, granted) if granted <= 262144 else None
            else:
                want_bytes = None
        else:
            want_bytes = None
            if (not uploads_only and last_upload and last_upload[2] == locks.get(mdl)
                    and granted <= 262144):
                seed, poff, plen = last_upload
                want_bytes = pattern(seed, poff + off, granted)
        if want_bytes is None:
            continue
        if ranges:
            if any(a + n > granted for a, n in ranges):
                errors.append(f"record {i}: transfer {x} digest ranges outside {granted} bytes")
                continue
            want_bytes = b"".join(want_bytes[a:a + n] for a, n in ranges)
        if dlen != granted or dval != dmt64(want_bytes):
            errors.append(f"record {i}: transfer {x} digest {dval:#x} over {dlen} bytes, "
                          f"want {dmt64(want_bytes):#x} over {granted}")
        checked += 1
    summary = {"transfers": len(starts), "digests_checked": checked,
               "digests_off": not_digested, "lost": lost,
               "bounce_unchecked": bounce.get(0, 0), "bounce_no": bounce.get(1, 0),
               "bounce_yes": bounce.get(3, 0), "errors": len(errors)}
    print(json.dumps(summary))
    for e in errors[:20]:
        print(f"{path}: {e}", file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()

/*
 * gen_ring_seeds.c - writes the seed corpus of fuzz_ring (tests/fuzz/
 * corpus/fuzz_ring): ring regions (256-byte header + 4096 data bytes) left
 * in interesting states by the real producer and consumer code - records of
 * several kinds, a wrap, drops, a torn reservation, a short commit, an
 * unwritten header, overwrite-oldest laps, a closed ring, runs of committed
 * records across the wrap with a record that is not a valid record and a
 * slot whose header check is broken in the middle (the drain's run path),
 * records of one shape each followed by a copy with a bit flipped (the
 * drain's shape cache).  Byte 40 of each
 * region is fuzz_ring's control byte (see fuzz_ring.c).
 *
 * usage: gen_ring_seeds DIR          write the regions (run by hand when the
 *                                    ring format changes; commit the files)
 *        gen_ring_seeds --check DIR  exit 1 naming the first region the
 *                                    generator no longer writes byte for byte
 *                                    (the ctest fuzz_ring_seeds)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/enc.h"
#include "dmt/ring.h"

#define DATA   4096u
#define REGION (DMT_RING_HDR_SIZE + DATA)

static _Alignas(64) unsigned char region[REGION];
static const char *outdir;
static int check; /* --check: compare with the files instead of writing them */

static void save(const char *name, unsigned char ctrl)
{
    char path[512];
    region[40] = ctrl;
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    if (check) {
        static unsigned char old[REGION + 1];
        FILE *f = fopen(path, "rb");
        size_t n = f ? fread(old, 1, sizeof old, f) : 0;
        if (f)
            fclose(f);
        if (n != REGION || memcmp(old, region, REGION) != 0) {
            fprintf(stderr,
                    "%s: not what gen_ring_seeds writes now (regenerate the corpus: "
                    "FUZZING.md)\n",
                    path);
            exit(1);
        }
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(region, 1, REGION, f) != REGION || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static int64_t now_ts = 1000000;

/* Encode a record of kind k (ring form, absolute time) into buf. */
static size_t make(uint8_t *buf, size_t cap, unsigned k, unsigned i)
{
    static dmt_sg_elem sg[3] = {{0x12345678, 0x988}, {0x7f000000, 0x4000}, {0x100002000, 0x280}};
    static const uint8_t bytes[24] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    dmt_record r;
    memset(&r, 0, sizeof r);
    r.width = 4;
    switch (k % 5) {
    case 0:
        r.kind = DMT_K_REG_WRITE;
        r.off = 0x100 + 4 * i;
        r.value = 0x1000u * i;
        break;
    case 1:
        r.kind = DMT_K_EXECUTE_DMA;
        r.xfer = i;
        r.adapter = 1;
        r.length = 0x4c08;
        r.n_sg = 3;
        r.sg_list = sg;
        r.sg_stride = sizeof sg[0];
        break;
    case 2:
        r.kind = DMT_K_MARKER;
        r.n_bytes = 5;
        r.bytes = (const uint8_t *)"hello";
        break;
    case 3:
        r.kind = DMT_K_DESC_WRITE;
        r.cb = 1;
        r.offset = 32 * i;
        r.n_bytes = sizeof bytes;
        r.bytes = bytes;
        break;
    default:
        r.kind = DMT_K_INTERRUPT;
        r.claimed = true;
        r.value = 3;
        break;
    }
    now_ts += 85;
    return dmt_enc_record(buf, cap, &r, now_ts);
}

static void produce(dmt_ring *r, unsigned n, unsigned first)
{
    uint8_t buf[256];
    for (unsigned i = 0; i < n; i++) {
        size_t len = make(buf, sizeof buf, first + i, first + i);
        dmt_ring_write(r, buf, (uint32_t)len);
    }
}

static void consume(dmt_ring *r, unsigned n)
{
    static uint8_t scratch[DMT_RING_MAX_PAYLOAD];
    dmt_ring_consumer c;
    dmt_ring_item it;
    dmt_ring_consumer_init(&c, r, 0);
    for (unsigned i = 0; i < n; i++)
        if (dmt_ring_next(&c, scratch, 0, &it) >= DMT_RING_EMPTY)
            break;
}

static void fresh(dmt_ring *r, enum dmt_ring_policy p)
{
    if (dmt_ring_init(region, REGION, p) || dmt_ring_attach(r, region, REGION)) {
        fprintf(stderr, "ring init failed\n");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    dmt_ring r;
    dmt_ring_resv rv;
    uint8_t buf[256];
    check = argc == 3 && !strcmp(argv[1], "--check");
    if (argc != 2 + check) {
        fprintf(stderr, "usage: gen_ring_seeds [--check] DIR\n");
        return 2;
    }
    outdir = argv[1 + check];

    fresh(&r, DMT_RING_DROP_NEWEST);
    save("r01-empty", 0x01);

    fresh(&r, DMT_RING_DROP_NEWEST);
    produce(&r, 10, 0);
    save("r02-records", 0x05);

    fresh(&r, DMT_RING_DROP_NEWEST);
    produce(&r, 40, 0);
    consume(&r, 35);
    produce(&r, 40, 40);
    save("r03-wrap", 0x05);

    fresh(&r, DMT_RING_DROP_NEWEST);
    produce(&r, 200, 0); /* far more than fits: drops */
    consume(&r, 20);
    produce(&r, 10, 200);
    save("r04-full-drop", 0x09);

    fresh(&r, DMT_RING_DROP_NEWEST);
    produce(&r, 3, 0);
    dmt_ring_reserve(&r, 40, &rv); /* the producer dies here */
    produce(&r, 3, 3);
    save("r05-torn", 0x02);

    fresh(&r, DMT_RING_DROP_NEWEST);
    produce(&r, 2, 0);
    if (dmt_ring_reserve(&r, 200, &rv)) {
        size_t n = make(buf, sizeof buf, 0, 9);
        memcpy(rv.buf, buf, n);
        dmt_ring_commit(&r, &rv, (uint32_t)n);
    }
    produce(&r, 2, 2);
    save("r06-short-commit", 0x05);

    fresh(&r, DMT_RING_DROP_NEWEST);
    produce(&r, 2, 0);
    if (dmt_ring_reserve(&r, 48, &rv))
        memset(rv.buf - 8, 0, 8); /* reserved, header never written */
    produce(&r, 2, 2);
    save("r07-unwritten-header", 0x07);

    fresh(&r, DMT_RING_OVERWRITE_OLDEST);
    produce(&r, 300, 0); /* several laps: overwrites */
    save("r08-overwrite-laps", 0x05);

    fresh(&r, DMT_RING_OVERWRITE_OLDEST);
    produce(&r, 60, 0);
    consume(&r, 10);
    dmt_ring_reserve(&r, 24, &rv);
    produce(&r, 30, 60);
    save("r09-overwrite-torn", 0x0a);

    fresh(&r, DMT_RING_DROP_NEWEST);
    produce(&r, 5, 0);
    dmt_ring_close(&r);
    save("r10-closed", 0x05);

    fresh(&r, DMT_RING_DROP_NEWEST);
    produce(&r, 5, 0);
    dmt_ring_close(&r);
    save("r11-raw-header", 0x85);

    for (int ow = 0; ow < 2; ow++) {
        fresh(&r, ow ? DMT_RING_OVERWRITE_OLDEST : DMT_RING_DROP_NEWEST);
        produce(&r, 40, 0);
        consume(&r, 35);
        produce(&r, 10, 40);
        memset(buf, 0xFF, 24); /* committed, not a valid record */
        dmt_ring_write(&r, buf, 24);
        produce(&r, 10, 50);
        if (dmt_ring_reserve(&r, 32, &rv)) {
            size_t n = make(buf, sizeof buf, 1, 60);
            memcpy(rv.buf, buf, n < 32 ? n : 32);
            dmt_ring_commit(&r, &rv, n < 32 ? (uint32_t)n : 32);
            rv.buf[-6] ^= 0x40; /* the header's check no longer matches */
        }
        produce(&r, 20, 61);
        dmt_ring_close(&r);
        save(ow ? "r13-run-overwrite" : "r12-run-corrupt-wrap", 0x05);
    }

    /* Records of one shape (the drain's shape cache holds it), each
     * followed by a copy with one bit flipped, committed whole: every byte,
     * two bits of each. */
    fresh(&r, DMT_RING_DROP_NEWEST);
    for (unsigned i = 0;; i++) {
        size_t n = make(buf, sizeof buf, 0, 7);
        if (i >= 2 * n)
            break;
        dmt_ring_write(&r, buf, (uint32_t)n);
        buf[i / 2] ^= (uint8_t)(1u << (i % 2 ? 7 : i / 2 % 7));
        dmt_ring_write(&r, buf, (uint32_t)n);
    }
    dmt_ring_close(&r);
    save("r14-shape-flips", 0x05);
    return 0;
}

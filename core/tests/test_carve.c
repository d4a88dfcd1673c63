/*
 * test_carve.c - tests for carving rings out of memory images
 * (core/image/carve.c): a ring with committed records, reservations left in
 * flight and records after them is placed in a machine's "physical memory"
 * next to decoys (a header with a wrong version, bare magic words), wrapped
 * as a raw image and as Windows crash dumps with a hole inside the ring, and
 * carved; every sequence number must come back exactly once, as a record or
 * inside a LOST range, records in sequence order with their values intact.
 * --merge continues a recording the crash cut: of a single ring (numbers
 * past 2^32 too) and of a per-CPU region drained by the real drain (cut,
 * recovered, or from a recorder before the header's ring_seq0), each ring's
 * numbers once from its start to its head.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmt/testkit.h"
#include "dmt/tktrace.h"
#include "dmt/carve.h"
#include "dmt/drain.h"
#include "dmt/enc.h"
#include "dmt/locator.h"
#include "dmt/reader.h"
#include "dmt/ring.h"
#include "dmt/writer.h"

#define PG        4096u
#define MEM_SIZE  (1u << 20)
#define RING_PHYS 0x3F000u /* the header page, then 64 KiB of data */
#define RING_DATA (64u << 10)
#define N_BEFORE  900u /* committed before the in-flight reservations */
#define N_FLIGHT  2u
#define N_AFTER   5u

static char tmpdir[64];

/* Record i: a reg_write whose value identifies it (value = 1000 + i), at
 * 5000 + 10 i. */
static dmt_record nth_record(uint32_t i)
{
    dmt_record rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = DMT_K_REG_WRITE;
    rec.off = 0x104;
    rec.width = 4;
    rec.value = 1000 + i;
    rec.ts = 5000 + (int64_t)i * 10;
    return rec;
}

/* Commit record i. */
static void put_record(dmt_ring *r, uint32_t i)
{
    dmt_record rec = nth_record(i);
    uint8_t buf[64];
    size_t n = dmt_enc_record(buf, sizeof buf, &rec, rec.ts);
    CHECK(n > 0 && dmt_ring_write(r, buf, (uint32_t)n));
}

/* The machine: noise, decoys, and a ring at RING_PHYS with the records of
 * this test, in-flight reservations after N_BEFORE of them; a recorder had
 * consumed the first `consumed` records before the crash. */
static uint8_t *make_memory_consumed(enum dmt_ring_policy policy, uint32_t consumed)
{
    uint8_t *m = malloc(MEM_SIZE);
    unsigned long long s = 42;
    for (size_t i = 0; i < MEM_SIZE; i += 8) {
        uint64_t v = tk_rand(&s);
        memcpy(m + i, &v, 8);
    }
    /* Decoys: bare magic words, and a header-like block of a future version. */
    const uint64_t magic = DMT_RING_MAGIC;
    memcpy(m + 0x1008, &magic, 8);
    memcpy(m + 0x20000, &magic, 8);
    uint32_t v2 = 99;
    memcpy(m + 0x20008, &v2, 4);
    memset(m + RING_PHYS, 0, DMT_RING_HDR_SIZE + RING_DATA);
    CHECK(dmt_ring_init(m + RING_PHYS, DMT_RING_HDR_SIZE + RING_DATA, policy) == 0);
    dmt_ring r;
    CHECK(dmt_ring_attach(&r, m + RING_PHYS, DMT_RING_HDR_SIZE + RING_DATA) == 0);
    for (uint32_t i = 0; i < N_BEFORE; i++)
        put_record(&r, i);
    for (uint32_t i = 0; i < N_FLIGHT; i++) {
        dmt_ring_resv rv;
        CHECK(dmt_ring_reserve(&r, 16, &rv)); /* never committed: the crash */
    }
    for (uint32_t i = 0; i < N_AFTER; i++)
        put_record(&r, N_BEFORE + N_FLIGHT + i);
    dmt_ring_consumer c;
    dmt_ring_consumer_init(&c, &r, 0);
    static uint8_t scratch[DMT_RING_MAX_PAYLOAD];
    for (uint32_t i = 0; i < consumed; i++) {
        dmt_ring_item it;
        CHECK(dmt_ring_next(&c, scratch, 0, &it) == DMT_RING_RECORD && it.seq == i);
    }
    return m;
}

static uint8_t *make_memory(enum dmt_ring_policy policy)
{
    return make_memory_consumed(policy, 0);
}

static const char *write_file(const char *name, const void *p, size_t n)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(p, 1, n, f) == n);
    if (f)
        fclose(f);
    return path;
}

/* A complete dump (type 1, 32- or 64-bit) of m, leaving out pages
 * [hole, hole+n), followed by `extra` (secondary data) after the pages. */
static size_t make_windump_ex(const uint8_t *m, bool is64, uint64_t hole, uint64_t nhole,
                              const void *extra, size_t extra_len, uint8_t **out)
{
    const size_t hdr = is64 ? 0x2000 : 0x1000;
    uint8_t *d = calloc(1, hdr + MEM_SIZE + extra_len);
    memcpy(d, is64 ? "PAGEDU64" : "PAGEDUMP", 8);
    uint32_t machine = is64 ? 0x8664 : 0x14C, type = 1, nruns = nhole ? 2 : 1;
    memcpy(d + (is64 ? 0x30 : 0x20), &machine, 4);
    memcpy(d + (is64 ? 0xF98 : 0xF88), &type, 4);
    const size_t pmd = is64 ? 0x88 : 0x64;
    memcpy(d + pmd, &nruns, 4);
    uint64_t pages = MEM_SIZE / PG - nhole;
    uint64_t run[4] = {0, nhole ? hole : MEM_SIZE / PG, hole + nhole, MEM_SIZE / PG - hole - nhole};
    if (is64) {
        memcpy(d + pmd + 8, &pages, 8);
        memcpy(d + pmd + 0x10, run, nhole ? 32 : 16);
    } else {
        uint32_t p32 = (uint32_t)pages;
        memcpy(d + pmd + 4, &p32, 4);
        for (int i = 0; i < 4; i++) {
            uint32_t v = (uint32_t)run[i];
            memcpy(d + pmd + 8 + 4 * i, &v, 4);
        }
    }
    size_t at = hdr;
    for (uint64_t p = 0; p < MEM_SIZE / PG; p++) {
        if (nhole && p >= hole && p < hole + nhole)
            continue;
        memcpy(d + at, m + p * PG, PG);
        at += PG;
    }
    if (extra_len)
        memcpy(d + at, extra, extra_len);
    *out = d;
    return at + extra_len;
}

/* A 64-bit complete dump (type 1) of m, leaving out pages [hole, hole+n). */
static size_t make_windump(const uint8_t *m, uint64_t hole, uint64_t nhole, uint8_t **out)
{
    return make_windump_ex(m, true, hole, nhole, NULL, 0, out);
}

typedef struct verdict {
    uint64_t records, lost, lost_ranges, first, next;
    bool ordered, values_ok;
} verdict;

/* Read a carved trace: sequence numbers contiguous, records in order and
 * carrying value 1000 + their sequence number. */
static verdict read_back(const char *path)
{
    verdict v = {0, 0, 0, UINT64_MAX, 0, true, true};
    dmt_reader *rd;
    dmt_error err;
    if (dmt_reader_open(path, 0, &rd, &err) != 0) {
        CHECKF(0, "%s: %s", path, err.msg);
        return v;
    }
    dmt_record r;
    int rc;
    while ((rc = dmt_reader_next(rd, &r, &err)) == 1) {
        uint64_t first = r.kind == DMT_K_LOST ? r.value : r.seq;
        uint64_t count = r.kind == DMT_K_LOST ? r.count : 1;
        if (v.first == UINT64_MAX)
            v.first = v.next = first;
        if (first != v.next)
            v.ordered = false;
        v.next = first + count;
        if (r.kind == DMT_K_LOST) {
            v.lost += count;
            v.lost_ranges++;
        } else {
            v.records++;
            if (r.kind != DMT_K_REG_WRITE || r.value != 1000 + r.seq)
                v.values_ok = false;
        }
    }
    CHECKF(rc == 0, "%s: %s", path, err.msg);
    dmt_reader_close(rd);
    return v;
}

static void carve_one_merge(const char *image, unsigned flags, size_t expect_rings,
                            const char *partial, dmt_carve_ring *out)
{
    dmt_image *img;
    dmt_error err;
    int rc = dmt_image_open(image, flags, &img, &err);
    CHECKF(rc == 0, "%s: %s", image, err.msg);
    if (rc)
        return;
    dmt_carve_scan_result *res = malloc(sizeof *res);
    CHECK(dmt_carve_scan(img, res, NULL, NULL, &err) == 0);
    CHECKF(res->n == expect_rings, "%s: %zu rings", image, res->n);
    CHECK(res->rejected[DMT_CARVE_REJ_VERSION] >= 1); /* the future-version decoy */
    if (res->n) {
        *out = res->rings[0];
        CHECK(out->phys == RING_PHYS && out->data_size == RING_DATA);
        char o[128];
        snprintf(o, sizeof o, "%s/out.dmat", tmpdir);
        dmt_carve_stats st;
        rc = dmt_carve_extract(img, out, "test", partial, o, &st, &err);
        CHECKF(rc == 0, "extract: %s", err.msg);
    }
    free(res);
    dmt_image_close(img);
}

static void carve_one(const char *image, unsigned flags, size_t expect_rings, dmt_carve_ring *out)
{
    carve_one_merge(image, flags, expect_rings, NULL, out);
}

static void test_raw(enum dmt_ring_policy policy)
{
    uint8_t *m = make_memory(policy);
    dmt_carve_ring ring;
    carve_one(write_file("mem.raw", m, MEM_SIZE), 0, 1, &ring);
    char o[128];
    snprintf(o, sizeof o, "%s/out.dmat", tmpdir);
    verdict v = read_back(o);
    /* Every number 0 .. N_BEFORE+N_FLIGHT+N_AFTER-1 exactly once. */
    CHECK(v.ordered && v.values_ok);
    CHECK(v.first == 0 && v.next == N_BEFORE + N_FLIGHT + N_AFTER);
    CHECKF(v.records == N_BEFORE + N_AFTER, "records %" PRIu64, v.records);
    CHECKF(v.lost == N_FLIGHT, "lost %" PRIu64, v.lost);
    free(m);
}

/* A dump whose run list leaves out two pages inside the ring data: the
 * records there are lost, every other one comes back, nothing twice. */
static void test_dump_hole(void)
{
    uint8_t *m = make_memory(DMT_RING_DROP_NEWEST);
    uint8_t *d;
    const uint64_t hole = RING_PHYS / PG + 3; /* data pages 2 and 3 */
    size_t n = make_windump(m, hole, 2, &d);
    dmt_carve_ring ring;
    carve_one(write_file("mem.dmp", d, n), 0, 1, &ring);
    CHECK(ring.absent == 2 * PG);
    char o[128];
    snprintf(o, sizeof o, "%s/out.dmat", tmpdir);
    verdict v = read_back(o);
    CHECK(v.ordered && v.values_ok);
    CHECK(v.first == 0 && v.next == N_BEFORE + N_FLIGHT + N_AFTER);
    CHECK(v.records + v.lost == N_BEFORE + N_FLIGHT + N_AFTER);
    /* Two pages of 24-byte slots: at least 300 records are gone, and no
     * more than the pages could hold plus the slots cut at the edges. */
    CHECKF(v.lost >= N_FLIGHT + 300 && v.lost <= N_FLIGHT + 2 * PG / 24 + 2, "lost %" PRIu64,
           v.lost);
    free(d);
    free(m);
}

/* No ring at all: only decoys, and the scan says so. */
static void test_none(void)
{
    uint8_t *m = make_memory(DMT_RING_DROP_NEWEST);
    memset(m + RING_PHYS, 0, 8); /* destroy the live ring's magic */
    dmt_carve_ring ring;
    carve_one(write_file("none.raw", m, MEM_SIZE), 0, 0, &ring);
    free(m);
}

/* The recording a crash cut: records 0 .. n-1, no END. */
static const char *write_partial(uint32_t n)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/partial.dmat", tmpdir);
    dmt_header h;
    tk_header(&h, "test recorder");
    dmt_writer *w;
    dmt_error err;
    CHECK(dmt_writer_open(path, &h, DMT_WRITE_HEADER_NOW, &w, &err) == 0);
    for (uint32_t i = 0; i < n; i++) {
        dmt_record rec = nth_record(i);
        CHECK(dmt_writer_append(w, &rec, &err) == 0);
    }
    CHECK(dmt_writer_flush(w, &err) == 0);
    dmt_writer_abort(w); /* the crash: no END */
    return path;
}

/* --merge: the recorder had consumed 700 records; the file holds the first
 * `on_disk` of them (a gap: the rest died in its buffers) or more than the
 * ring still has (an overlap).  Either way every number once. */
static void test_merge(uint32_t on_disk)
{
    const uint32_t consumed = 700;
    uint8_t *m = make_memory_consumed(DMT_RING_DROP_NEWEST, consumed);
    const char *img = write_file("merge.raw", m, MEM_SIZE);
    dmt_carve_ring ring;
    carve_one_merge(img, 0, 1, write_partial(on_disk), &ring);
    char o[128];
    snprintf(o, sizeof o, "%s/out.dmat", tmpdir);
    verdict v = read_back(o);
    const uint32_t total = N_BEFORE + N_FLIGHT + N_AFTER;
    CHECK(v.ordered && v.values_ok);
    CHECKF(v.first == 0 && v.next == total, "merge %u: %" PRIu64 "..%" PRIu64, on_disk, v.first,
           v.next);
    const uint32_t gap = on_disk < consumed ? consumed - on_disk : 0;
    CHECKF(v.records == total - N_FLIGHT - gap, "merge %u: records %" PRIu64, on_disk, v.records);
    CHECKF(v.lost == N_FLIGHT + gap && v.lost_ranges == N_FLIGHT + (gap ? 1 : 0),
           "merge %u: lost %" PRIu64 " in %" PRIu64, on_disk, v.lost, v.lost_ranges);
    free(m);
}

/* --merge past 2^32: the recording's numbers are the ring's 32-bit ones
 * extended (a long recording); the ring's continue them. */
static void test_merge_wrap(void)
{
    const uint32_t consumed = 700, on_disk = 650;
    const uint64_t base = 1ull << 32;
    uint8_t *m = make_memory_consumed(DMT_RING_DROP_NEWEST, consumed);
    const char *img = write_file("wrap.raw", m, MEM_SIZE);
    char path[128];
    snprintf(path, sizeof path, "%s/wrap.dmat", tmpdir);
    dmt_header h;
    tk_header(&h, "test recorder");
    h.seq0 = base;
    dmt_writer *w;
    dmt_error err;
    CHECK(dmt_writer_open(path, &h, DMT_WRITE_HEADER_NOW, &w, &err) == 0);
    for (uint32_t i = 0; i < on_disk; i++) {
        dmt_record rec = nth_record(i);
        CHECK(dmt_writer_append(w, &rec, &err) == 0);
    }
    CHECK(dmt_writer_flush(w, &err) == 0);
    dmt_writer_abort(w);
    dmt_carve_ring ring;
    carve_one_merge(img, 0, 1, path, &ring);
    char o[128];
    snprintf(o, sizeof o, "%s/out.dmat", tmpdir);
    dmt_reader *rd;
    CHECK(dmt_reader_open(o, 0, &rd, &err) == 0);
    dmt_record r;
    uint64_t next = base, records = 0, absent = 0;
    bool ok = true;
    while (dmt_reader_next(rd, &r, &err) == 1) {
        ok &= r.seq == next;
        if (r.kind == DMT_K_LOST) {
            absent += r.reason == DMT_LOST_ABSENT ? r.count : 0;
            next += r.count;
        } else {
            ok &= r.value == 1000 + (r.seq - base);
            records++;
            next++;
        }
    }
    dmt_reader_close(rd);
    const uint32_t total = N_BEFORE + N_FLIGHT + N_AFTER;
    CHECKF(ok && next == base + total && absent == consumed - on_disk &&
               records == total - N_FLIGHT - absent,
           "wrap: next %" PRIu64 ", %" PRIu64 " records, %" PRIu64 " absent", next, records,
           absent);
    free(m);
}

/* ---- --merge of a per-CPU region ------------------------------------------- */

#define REG_PHYS  0x80000u
#define REG_RINGS 3u
#define REG_DATA  (16u << 10)
#define REG_INST  0xC3C3C3C3C3ull

static uint32_t reg_t; /* the probe's clock */

/* A record on ring `ring`: value (ring << 20) | its ring sequence number. */
static void put_on(dmt_ringset *s, uint32_t ring)
{
    dmt_ring *r = &s->rings[ring];
    dmt_record rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = DMT_K_REG_WRITE;
    rec.off = 0x104;
    rec.width = 4;
    rec.value = (uint64_t)ring << 20 | (uint32_t)(r->hdr->head >> 32);
    rec.ts = 5000 + 10 * (int64_t)reg_t++;
    uint8_t buf[64];
    size_t n = dmt_enc_record(buf, sizeof buf, &rec, rec.ts);
    CHECK(n > 0 && dmt_ring_write(r, buf, (uint32_t)n));
}

/* Poll until nothing is left to take, then write what the merge holds. */
static void drain_all(dmt_drain *d)
{
    dmt_error err;
    int p;
    while ((p = dmt_drain_poll(d, 1, 0, &err)) == DMT_DRAIN_BUSY)
        ;
    CHECK(p == DMT_DRAIN_IDLE);
    CHECK(dmt_drain_finish(d, &err) == 0);
}

enum partial_kind {
    PART_CUT,       /* as the recorder left it */
    PART_RECOVERED, /* made whole by recover: its marker at the end, on no CPU */
    PART_OLD,       /* a recorder before ring_seq0 (only CPU records' ring_seq) */
};

/* The machine: a region of three rings the recorder drained into a file.
 * It wrote phase A (rings 0 and 1); it had taken phase B (rings 0, 1 and
 * 2) but not written it when it was killed; the probe went on with phase C
 * (every ring; a reservation on ring 1 never committed).  *part: the
 * recording. */
static uint8_t *make_region(enum partial_kind kind, char *part, size_t cap)
{
    uint8_t *m = calloc(1, MEM_SIZE);
    const size_t len = (size_t)dmt_ringset_region_len(REG_RINGS, REG_DATA);
    CHECK(dmt_ringset_init(m + REG_PHYS, len, DMT_RING_DROP_NEWEST, REG_RINGS, REG_INST) == 0);
    dmt_ringset s;
    CHECK(dmt_ringset_attach(&s, m + REG_PHYS, len) == 0);
    reg_t = 0;
    dmt_error err;
    dmt_drain *d = dmt_drain_new_set(&s, NULL, 1000);
    dmt_header h;
    tk_header(&h, "test recorder");
    h.ring_size = REG_DATA;
    h.cpus = REG_RINGS;
    dmt_drain_header(d, &h);
    CHECK(h.n_ring_seq0 == REG_RINGS && h.seq0 == 0);
    if (kind == PART_OLD)
        h.n_ring_seq0 = 0;
    snprintf(part, cap, "%s/region-part.dmat", tmpdir);
    dmt_writer *w;
    CHECK(dmt_writer_open(part, &h, DMT_WRITE_HEADER_NOW, &w, &err) == 0);
    dmt_drain_set_writer(d, w);
    for (uint32_t i = 0; i < 60; i++) /* phase A: on disk */
        put_on(&s, i % 3 == 2 ? 1 : 0);
    drain_all(d);
    CHECK(dmt_writer_flush(w, &err) == 0);
    for (uint32_t i = 0; i < 30; i++) /* phase B: taken, never written */
        put_on(&s, i % 3);
    drain_all(d);
    dmt_writer_abort(w); /* the crash */
    dmt_drain_free(d);
    for (uint32_t i = 0; i < 45; i++) { /* phase C: still in the rings */
        put_on(&s, i % 3);
        if (i == 20) {
            dmt_ring_resv rv;
            CHECK(dmt_ring_reserve(&s.rings[1], 16, &rv));
        }
    }
    if (kind == PART_RECOVERED) {
        /* What recover does: every record again (CPU records and their
         * ring_seq kept), then its marker. */
        char whole[128];
        snprintf(whole, sizeof whole, "%s/region-whole.dmat", tmpdir);
        dmt_reader *rd;
        CHECK(dmt_reader_open(part, DMT_READ_ALLOW_CUT, &rd, &err) == 0);
        CHECK(dmt_writer_open(whole, dmt_reader_header(rd), DMT_WRITE_KEEP_CPU, &w, &err) == 0);
        dmt_record r;
        while (dmt_reader_next(rd, &r, &err) == 1)
            CHECK(dmt_writer_append(w, &r, &err) == 0);
        dmt_reader_close(rd);
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_MARKER;
        r.cpu = DMT_CPU_NONE;
        r.bytes = (const uint8_t *)DMT_RECOVER_MARKER "cut";
        r.n_bytes = (uint32_t)strlen((const char *)r.bytes);
        CHECK(dmt_writer_append(w, &r, &err) == 0);
        CHECK(dmt_writer_close(w, &err) == 0);
        snprintf(part, cap, "%s", whole);
    }
    return m;
}

/* Carve ring 0 of the region (all of it) with --merge partial into out. */
static int carve_region(const uint8_t *m, const char *partial, const char *out, dmt_carve_stats *st,
                        dmt_error *err)
{
    const char *img_path = write_file("region.raw", m, MEM_SIZE);
    dmt_image *img;
    CHECK(dmt_image_open(img_path, 0, &img, err) == 0);
    dmt_carve_scan_result *res = malloc(sizeof *res);
    CHECK(dmt_carve_scan(img, res, NULL, NULL, err) == 0 && res->n == REG_RINGS);
    int rc = -1;
    for (size_t k = 0; k < res->n; k++)
        if (res->rings[k].phys == REG_PHYS)
            rc = dmt_carve_extract(img, &res->rings[k], "test", partial, out, st, err);
    free(res);
    dmt_image_close(img);
    return rc;
}

/* Each ring's numbers in the merged trace: from 0 to the ring's head, each
 * once, records carrying their own number, the phase-B records of each
 * ring one LOST (absent) range, the torn reservation one LOST (torn). */
static void check_region(const char *path, uint64_t want_records)
{
    static const uint64_t head[REG_RINGS] = {40 + 10 + 15, 20 + 10 + 15 + 1, 10 + 15};
    static const uint64_t absent[REG_RINGS] = {10, 10, 10};
    uint64_t next[REG_RINGS] = {0}, gone[REG_RINGS] = {0}, torn = 0, records = 0;
    bool known[REG_RINGS] = {false}, ok = true;
    dmt_reader *rd;
    dmt_error err;
    CHECKF(dmt_reader_open(path, 0, &rd, &err) == 0, "%s", err.msg);
    const dmt_header *h = dmt_reader_header(rd);
    for (uint32_t i = 0; i < h->n_ring_seq0 && i < REG_RINGS; i++) {
        known[i] = true;
        next[i] = h->ring_seq0[i];
    }
    dmt_record r;
    while (dmt_reader_next(rd, &r, &err) == 1) {
        if (r.cpu >= REG_RINGS) {
            CHECKF(0, "%s: record %" PRIu64 " of CPU %u", path, r.seq, r.cpu);
            break;
        }
        const uint32_t c = r.cpu;
        if (r.has_ring_seq) {
            ok &= !known[c] || next[c] == r.ring_seq;
            known[c] = true;
            next[c] = r.ring_seq;
        }
        ok &= known[c];
        if (r.kind == DMT_K_LOST) {
            gone[c] += r.reason == DMT_LOST_ABSENT ? r.count : 0;
            torn += r.reason == DMT_LOST_TORN ? r.count : 0;
            ok &= r.reason == DMT_LOST_ABSENT || r.reason == DMT_LOST_TORN;
            next[c] += r.count;
        } else {
            ok &= r.value == ((uint64_t)c << 20 | next[c]);
            next[c]++;
            records++;
        }
    }
    dmt_reader_close(rd);
    CHECKF(ok, "%s: ring numbers out of order or values wrong", path);
    for (uint32_t c = 0; c < REG_RINGS; c++)
        CHECKF(next[c] == head[c] && gone[c] == absent[c],
               "%s: ring %u: up to %" PRIu64 ", %" PRIu64 " absent", path, c, next[c], gone[c]);
    CHECKF(torn == 1 && records == want_records, "%s: %" PRIu64 " records, %" PRIu64 " torn", path,
           records, torn);
}

static void test_merge_region(void)
{
    char part[128], o[128], o2[128];
    snprintf(o, sizeof o, "%s/region.dmat", tmpdir);
    snprintf(o2, sizeof o2, "%s/region2.dmat", tmpdir);
    dmt_carve_stats st;
    dmt_error err;
    const uint64_t want = 60 + 45; /* phases A and C */

    uint8_t *m = make_region(PART_CUT, part, sizeof part);
    CHECKF(carve_region(m, part, o, &st, &err) == 0, "cut: %s", err.msg);
    check_region(o, want);
    CHECK(st.absent == 30 && !st.recover_marker && st.records == want);
    free(m);

    /* Recovered first: the same trace, byte for byte (recover's marker is
     * left out, the CPU records' ring_seq went through recover). */
    m = make_region(PART_RECOVERED, part, sizeof part);
    CHECKF(carve_region(m, part, o2, &st, &err) == 0, "recovered: %s", err.msg);
    check_region(o2, want);
    CHECK(st.absent == 30 && st.recover_marker);
    FILE *a = fopen(o, "rb"), *b = fopen(o2, "rb");
    int ca, cb;
    bool same = a && b;
    while (same && (ca = fgetc(a)) == (cb = fgetc(b)) && ca != EOF)
        ;
    same = same && ca == cb;
    CHECK(same);
    if (a)
        fclose(a);
    if (b)
        fclose(b);
    free(m);

    /* Without ring_seq0: rings 0 and 1 by their first CPU record; ring 2,
     * which the recorder had drained (phase B) but never wrote, cannot be
     * placed: refused, nothing written. */
    m = make_region(PART_OLD, part, sizeof part);
    unlink(o2);
    CHECK(carve_region(m, part, o2, &st, &err) == DMT_E_FORMAT);
    CHECKF(strstr(err.msg, "where ring 2 started") != NULL, "%s", err.msg);
    CHECK(access(o2, F_OK) != 0);
    /* ... unless ring 2 was never drained at all (its tail still 0). */
    dmt_ring_hdr *h2 = (dmt_ring_hdr *)(void *)(m + REG_PHYS + 2 * (DMT_RING_HDR_SIZE + REG_DATA));
    const uint64_t taken = h2->tail;
    h2->tail = 0; /* phase B's slots of ring 2 were zeroed: they read as never written */
    CHECKF(carve_region(m, part, o2, &st, &err) == 0, "old: %s", err.msg);
    h2->tail = taken;
    free(m);

    /* The recording of a single ring cannot continue a region. */
    m = make_region(PART_CUT, part, sizeof part);
    CHECK(carve_region(m, write_partial(10), o2, &st, &err) < 0);
    free(m);
}

/* ---- live ring, copies, earlier loads, locators ---------------------------- */

#define INST_LIVE  0xA1A1A1A1A1ull
#define INST_OLD   0xB2B2B2B2B2ull
#define HDR_COPY   0x60000u /* a lone copy of the live header (a recorder's buffer) */
#define OLD_LOAD   0x80000u /* a ring of an earlier load, closed */
#define STALE_FULL 0xA0000u /* header + data copied one record earlier */
#define SAME_FULL  0xC0000u /* header + data copied as they are */

static void set_instance(uint8_t *hdr, uint64_t inst)
{
    memcpy(hdr + 40, &inst, 8);
}

/* make_memory's machine plus the copies and the earlier load above. */
static uint8_t *make_crowded_memory(void)
{
    uint8_t *m = make_memory(DMT_RING_DROP_NEWEST);
    const size_t len = DMT_RING_HDR_SIZE + RING_DATA;
    set_instance(m + RING_PHYS, INST_LIVE);
    memcpy(m + HDR_COPY, m + RING_PHYS, DMT_RING_HDR_SIZE);
    memcpy(m + SAME_FULL, m + RING_PHYS, len);
    memcpy(m + STALE_FULL, m + RING_PHYS, len);
    /* One reservation less: head's sequence and position one slot back. */
    uint64_t head;
    memcpy(&head, m + STALE_FULL + 64, 8);
    head -= (1ull << 32) + 24;
    memcpy(m + STALE_FULL + 64, &head, 8);
    memset(m + OLD_LOAD, 0, DMT_RING_HDR_SIZE + 4096);
    CHECK(dmt_ring_init(m + OLD_LOAD, DMT_RING_HDR_SIZE + 4096, DMT_RING_DROP_NEWEST) == 0);
    dmt_ring r;
    CHECK(dmt_ring_attach(&r, m + OLD_LOAD, DMT_RING_HDR_SIZE + 4096) == 0);
    for (uint32_t i = 0; i < 10; i++)
        put_record(&r, i);
    dmt_ring_close(&r);
    set_instance(m + OLD_LOAD, INST_OLD);
    return m;
}

static dmt_carve_scan_result *scan_file(const char *path, dmt_image **img_out)
{
    dmt_image *img;
    dmt_error err;
    int rc = dmt_image_open(path, 0, &img, &err);
    CHECKF(rc == 0, "%s: %s", path, err.msg);
    if (rc)
        return NULL;
    dmt_carve_scan_result *res = malloc(sizeof *res);
    CHECK(dmt_carve_scan(img, res, NULL, NULL, &err) == 0);
    *img_out = img;
    return res;
}

static size_t ring_at(const dmt_carve_scan_result *res, uint64_t phys)
{
    for (size_t i = 0; i < res->n; i++)
        if (res->rings[i].phys == phys)
            return i;
    CHECKF(0, "no ring at 0x%" PRIx64, phys);
    return 0;
}

static void expect_verdict(const dmt_carve_scan_result *res, uint64_t phys,
                           enum dmt_carve_verdict v, enum dmt_carve_why why)
{
    const dmt_carve_ring *r = &res->rings[ring_at(res, phys)];
    char text[256];
    dmt_carve_verdict_text(res, ring_at(res, phys), text, sizeof text);
    CHECKF(r->verdict == v && r->why == why, "ring at 0x%" PRIx64 ": %s (%d/%d)", phys, text,
           (int)r->verdict, (int)r->why);
}

/* Without a locator: the newest of the copies is live, a header whose data
 * does not match, an older state and an identical copy are copies of it,
 * and the closed ring of another instance is an earlier load. */
static void test_verdicts(void)
{
    uint8_t *m = make_crowded_memory();
    dmt_image *img;
    dmt_carve_scan_result *res = scan_file(write_file("crowd.raw", m, MEM_SIZE), &img);
    if (res) {
        CHECKF(res->n == 5, "%zu rings", res->n);
        const uint32_t live = (uint32_t)ring_at(res, RING_PHYS);
        expect_verdict(res, RING_PHYS, DMT_CARVE_LIVE, DMT_CARVE_WHY_NEWEST);
        expect_verdict(res, HDR_COPY, DMT_CARVE_COPY, DMT_CARVE_WHY_DATA);
        expect_verdict(res, STALE_FULL, DMT_CARVE_COPY, DMT_CARVE_WHY_OLDER_STATE);
        expect_verdict(res, SAME_FULL, DMT_CARVE_COPY, DMT_CARVE_WHY_IDENTICAL);
        expect_verdict(res, OLD_LOAD, DMT_CARVE_OLDER_LOAD, DMT_CARVE_WHY_CLOSED);
        CHECK(res->rings[ring_at(res, HDR_COPY)].ref == live);
        CHECK(res->rings[ring_at(res, SAME_FULL)].ref == live);
        CHECK(res->n_locators == 0 && res->trusted == -1);
        /* The live one carves exactly as the lone ring does. */
        char o[128];
        snprintf(o, sizeof o, "%s/out.dmat", tmpdir);
        dmt_error err;
        CHECK(dmt_carve_extract(img, &res->rings[live], "test", NULL, o, NULL, &err) == 0);
        verdict v = read_back(o);
        CHECK(v.ordered && v.values_ok && v.first == 0);
        CHECK(v.records == N_BEFORE + N_AFTER && v.lost == N_FLIGHT);
        dmt_image_close(img);
    }
    free(res);
    free(m);
}

/* Secondary data as the reference layout has it: "Dump" "Blob" header,
 * one unrelated block, then the locator's block (8-aligned). */
static size_t make_blobs(const uint8_t *loc, size_t loc_len, uint8_t *out)
{
    size_t at = 0;
    memcpy(out, "DumpBlob", 8);
    uint32_t v = 16, build = 7601;
    memcpy(out + 8, &v, 4);
    memcpy(out + 12, &build, 4);
    at = 16;
    for (int k = 0; k < 2; k++) {
        const size_t data = k == 0 ? 40 : loc_len, pre = k == 0 ? 0 : 8;
        const size_t post = (8 - (data & 7)) & 7;
        /* HeaderSize, Tag GUID (16 bytes), DataSize, PrePad, PostPad */
        const uint32_t f[8] = {
            0x20,          0x11111111u * (uint32_t)(k + 1), 2, 3, 4, (uint32_t)data, (uint32_t)pre,
            (uint32_t)post};
        memcpy(out + at, f, 0x20);
        at += 0x20;
        memset(out + at, 0, pre);
        at += pre;
        if (k == 0)
            memset(out + at, 0x5A, data);
        else
            memcpy(out + at, loc, data);
        at += data;
        memset(out + at, 0, post);
        at += post;
    }
    return at;
}

static size_t locator_bytes(uint8_t *buf, uint64_t phys, uint32_t count, uint64_t inst)
{
    dmt_locator loc;
    memset(&loc, 0, sizeof loc);
    loc.n = 1;
    loc.phys_source = DMT_LOC_PHYS_CALLER;
    loc.region_va = 0xFFFFFA8001230000ull;
    loc.region_bytes = DMT_RING_HDR_SIZE + RING_DATA;
    loc.instance = inst;
    loc.rings[0] = (dmt_locator_ring){loc.region_va, phys, RING_DATA, inst, 0, count};
    size_t n = dmt_locator_write(buf, DMT_LOC_MAX_SIZE, &loc);
    CHECK(n == DMT_LOC_HDR_SIZE + DMT_LOC_ENTRY_SIZE);
    return n;
}

#define LOC_IN_BLOBS (16 + 0x20 + 40 + 0x20 + 8) /* make_blobs puts the locator here */

enum loc_case { LOC_GOOD, LOC_BAD_CHECK, LOC_BAD_COUNT, LOC_OUTSIDE, LOC_NOT_THERE, LOC_CUT };

/* A 32- or 64-bit complete dump of the crowded machine with a locator in
 * its secondary data: a good one sends carve straight to the live ring
 * and makes the other instance an earlier load; a bad one is refused with
 * its reason and the scan finds the ring anyway. */
static void test_locator_dump(bool is64, enum loc_case c)
{
    uint8_t *m = make_crowded_memory();
    uint8_t loc[DMT_LOC_MAX_SIZE], blobs[DMT_LOC_MAX_SIZE + 256];
    size_t ln = locator_bytes(loc,
                              c == LOC_OUTSIDE     ? 0x7FFF0000ull
                              : c == LOC_NOT_THERE ? 0x90000ull
                                                   : RING_PHYS,
                              1, INST_LIVE);
    if (c == LOC_BAD_CHECK)
        loc[100] ^= 1;
    if (c == LOC_BAD_COUNT) {
        /* n says 2 but only one entry: re-checked, still refused. */
        dmt_locator two;
        CHECK(dmt_locator_parse(loc, ln, &two) == DMT_LOC_OK);
        two.rings[0].count = 2;
        CHECK(dmt_locator_write(loc, sizeof loc, &two) == ln);
    }
    size_t bn = make_blobs(loc, ln, blobs);
    uint8_t *d;
    size_t n = make_windump_ex(m, is64, 0, 0, blobs, bn, &d);
    if (c == LOC_CUT)
        n = n - bn + LOC_IN_BLOBS + 30; /* the file ends 30 bytes into the locator */
    const char *path = write_file(is64 ? "loc64.dmp" : "loc32.dmp", d, n);
    dmt_image *img;
    dmt_error err;
    CHECK(dmt_image_open(path, 0, &img, &err) == 0);
    dmt_carve_scan_result *res = malloc(sizeof *res);
    int q = dmt_carve_locate(img, res, &err);
    CHECKF(q == (c == LOC_GOOD ? 1 : 0), "case %d/%d: locate %d", (int)is64, (int)c, q);
    CHECKF(res->n_locators == 1, "case %d: %zu locators", (int)c, res->n_locators);
    char text[512] = "";
    if (res->n_locators)
        dmt_carve_locator_text(res, 0, text, sizeof text);
    CHECKF(!strchr(text, '\n'), "%s", text);
    static const char *const want[] = {"trusted",           "bad check word", "wrong counts",
                                       "outside the image", "0 found",        "cut short"};
    CHECKF(strstr(text, want[c]) != NULL, "case %d: %s", (int)c, text);
    CHECKF(strstr(text, "DumpBlob block 1") != NULL || c == LOC_CUT, "case %d: %s", (int)c, text);
    if (c == LOC_GOOD && q == 1) {
        CHECK(res->rings[0].phys == RING_PHYS && res->rings[0].why == DMT_CARVE_WHY_NAMED);
        CHECK(res->full == 0 && res->n_blobs == 2);
    }
    CHECK(dmt_carve_scan(img, res, NULL, NULL, &err) == 0);
    CHECKF(res->n == 5, "case %d: %zu rings", (int)c, res->n);
    if (c == LOC_GOOD) {
        expect_verdict(res, RING_PHYS, DMT_CARVE_LIVE, DMT_CARVE_WHY_NAMED);
        expect_verdict(res, OLD_LOAD, DMT_CARVE_OLDER_LOAD, DMT_CARVE_WHY_OTHER_INSTANCE);
        expect_verdict(res, SAME_FULL, DMT_CARVE_COPY, DMT_CARVE_WHY_IDENTICAL);
    } else if (c == LOC_NOT_THERE) {
        /* Valid but naming nothing: trusted for the instance, the scan
         * finds the live ring. */
        expect_verdict(res, RING_PHYS, DMT_CARVE_LIVE, DMT_CARVE_WHY_NEWEST);
        expect_verdict(res, OLD_LOAD, DMT_CARVE_OLDER_LOAD, DMT_CARVE_WHY_OTHER_INSTANCE);
    } else {
        CHECK(res->trusted == -1);
        expect_verdict(res, RING_PHYS, DMT_CARVE_LIVE, DMT_CARVE_WHY_NEWEST);
        expect_verdict(res, OLD_LOAD, DMT_CARVE_OLDER_LOAD, DMT_CARVE_WHY_CLOSED);
    }
    free(res);
    dmt_image_close(img);
    free(d);
    free(m);
}

/* A small (triage) dump: no memory, so no ring, but its secondary data
 * holds the locator.  Refused as an image unless the caller accepts a dump
 * without memory; then the locator is found, valid and trusted. */
static void test_small_dump(bool is64)
{
    const size_t hdr = is64 ? 0x2000 : 0x1000;
    uint8_t loc[DMT_LOC_MAX_SIZE], blobs[DMT_LOC_MAX_SIZE + 256];
    size_t bn = make_blobs(loc, locator_bytes(loc, RING_PHYS, 1, INST_LIVE), blobs);
    uint8_t *d = calloc(1, hdr + bn);
    memcpy(d, is64 ? "PAGEDU64" : "PAGEDUMP", 8);
    uint32_t machine = is64 ? 0x8664 : 0x14C, type = 4;
    memcpy(d + (is64 ? 0x30 : 0x20), &machine, 4);
    memcpy(d + (is64 ? 0xF98 : 0xF88), &type, 4);
    memcpy(d + hdr, blobs, bn);
    const char *path = write_file("small.dmp", d, hdr + bn);
    dmt_image *img;
    dmt_error err;
    CHECK(dmt_image_open(path, 0, &img, &err) == DMT_E_FORMAT && strstr(err.msg, "small"));
    CHECK(dmt_image_open(path, DMT_IMAGE_NO_MEMORY_OK, &img, &err) == 0);
    dmt_carve_scan_result *res = malloc(sizeof *res);
    CHECK(dmt_carve_locate(img, res, &err) == 0);
    CHECK(dmt_carve_scan(img, res, NULL, NULL, &err) == 0);
    CHECK(dmt_image_get_info(img)->present == 0 && res->n == 0);
    CHECK(res->n_locators == 1 && res->trusted == 0 && res->locators[0].blob == 1);
    CHECK(res->locators[0].loc.rings[0].phys == RING_PHYS);
    char text[512];
    dmt_carve_locator_text(res, 0, text, sizeof text);
    CHECKF(strstr(text, "trusted (the image holds no memory)") != NULL, "%s", text);
    free(res);
    dmt_image_close(img);
    free(d);
}

/* A per-CPU region: two consecutive rings of one instance, indexes 0 and
 * 1.  A locator naming both sends carve straight to both, each live; the
 * full scan agrees (each index is its own ring, neither a copy). */
static void test_per_cpu(void)
{
    uint8_t *m = make_memory(DMT_RING_DROP_NEWEST);
    const uint64_t base = 0x80000, len = DMT_RING_HDR_SIZE + 4096;
    for (uint32_t k = 0; k < 2; k++) {
        uint8_t *h = m + base + k * len;
        memset(h, 0, len);
        CHECK(dmt_ring_init(h, len, DMT_RING_DROP_NEWEST) == 0);
        dmt_ring r;
        CHECK(dmt_ring_attach(&r, h, len) == 0);
        for (uint32_t i = 0; i < 3 + k; i++)
            put_record(&r, i);
        set_instance(h, INST_LIVE);
        uint32_t idx_count[2] = {k, 2};
        memcpy(h + 48, idx_count, 8);
    }
    set_instance(m + RING_PHYS, INST_OLD); /* make_memory's ring: an earlier load */
    dmt_locator loc;
    memset(&loc, 0, sizeof loc);
    loc.n = 2;
    loc.phys_source = DMT_LOC_PHYS_MM;
    loc.region_va = 0x80000000u;
    loc.region_bytes = 2 * len;
    loc.instance = INST_LIVE;
    for (uint32_t k = 0; k < 2; k++)
        loc.rings[k] =
            (dmt_locator_ring){loc.region_va + k * len, base + k * len, 4096, INST_LIVE, k, 2};
    uint8_t lb[DMT_LOC_MAX_SIZE], blobs[DMT_LOC_MAX_SIZE + 256];
    size_t bn = make_blobs(lb, dmt_locator_write(lb, sizeof lb, &loc), blobs);
    uint8_t *d;
    size_t n = make_windump_ex(m, true, 0, 0, blobs, bn, &d);
    const char *path = write_file("percpu.dmp", d, n);
    dmt_image *img;
    dmt_error err;
    CHECK(dmt_image_open(path, 0, &img, &err) == 0);
    dmt_carve_scan_result *res = malloc(sizeof *res);
    CHECK(dmt_carve_locate(img, res, &err) == 2);
    CHECK(res->rings[0].phys == base && res->rings[1].phys == base + len);
    CHECK(res->rings[1].ring_index == 1 && res->rings[1].ring_count == 2);
    CHECK(dmt_carve_scan(img, res, NULL, NULL, &err) == 0 && res->n == 3);
    expect_verdict(res, base, DMT_CARVE_LIVE, DMT_CARVE_WHY_NAMED);
    expect_verdict(res, base + len, DMT_CARVE_LIVE, DMT_CARVE_WHY_NAMED);
    expect_verdict(res, RING_PHYS, DMT_CARVE_OLDER_LOAD, DMT_CARVE_WHY_OTHER_INSTANCE);
    CHECK(res->locators[0].named_ok == 3);
    free(res);
    dmt_image_close(img);
    free(d);
    free(m);
}

/* Hostile: secondary data made of 1000 locator magics.  The report keeps
 * the first DMT_CARVE_MAX_LOCATORS, counts the rest, trusts none, and the
 * scan still finds the live ring. */
static void test_locator_flood(void)
{
    uint8_t *m = make_memory(DMT_RING_DROP_NEWEST);
    enum { N = 1000 };
    uint8_t *extra = malloc(N * DMT_LOC_MAGIC_LEN);
    for (size_t i = 0; i < N; i++)
        memcpy(extra + i * DMT_LOC_MAGIC_LEN, DMT_LOC_MAGIC, DMT_LOC_MAGIC_LEN);
    uint8_t *d;
    size_t n = make_windump_ex(m, false, 0, 0, extra, N * DMT_LOC_MAGIC_LEN, &d);
    dmt_image *img;
    dmt_carve_scan_result *res = scan_file(write_file("flood.dmp", d, n), &img);
    if (res) {
        CHECK(res->n_locators == DMT_CARVE_MAX_LOCATORS);
        CHECK(res->locators_dropped == N - DMT_CARVE_MAX_LOCATORS);
        CHECK(res->trusted == -1 && res->locators[0].reject == DMT_LOC_BAD_VERSION);
        CHECK(res->n == 1 && res->rings[0].verdict == DMT_CARVE_LIVE);
        dmt_image_close(img);
    }
    free(res);
    free(d);
    free(extra);
    free(m);
}

/* The locator's own checks, on bytes the test shapes. */
static void test_locator_parse(void)
{
    uint8_t b[DMT_LOC_MAX_SIZE];
    dmt_locator l;
    size_t n = locator_bytes(b, RING_PHYS, 1, INST_LIVE);
    CHECK(memcmp(b, DMT_LOC_MAGIC, DMT_LOC_MAGIC_LEN) == 0);
    CHECK(dmt_locator_parse(b, n, &l) == DMT_LOC_OK && l.n == 1 && l.rings[0].phys == RING_PHYS);
    for (size_t cut = 0; cut < n; cut++)
        CHECKF(dmt_locator_parse(b, cut, &l) != DMT_LOC_OK, "cut at %zu", cut);
    CHECK(dmt_locator_write(b, n - 1, &l) == 0);
    l.n = DMT_LOC_MAX_RINGS + 1;
    CHECK(dmt_locator_write(b, sizeof b, &l) == 0);
    /* Each byte flipped is refused (check word, or a field check first). */
    n = locator_bytes(b, RING_PHYS, 1, INST_LIVE);
    for (size_t i = 0; i < n; i++) {
        b[i] ^= 0x40;
        CHECKF(dmt_locator_parse(b, n, &l) != DMT_LOC_OK, "byte %zu flipped", i);
        b[i] ^= 0x40;
    }
    /* Re-checksummed impossible entries: ring outside its region, wrong
     * instance, data size not a power of two. */
    dmt_locator bad;
    CHECK(dmt_locator_parse(b, n, &bad) == DMT_LOC_OK);
    bad.rings[0].va += 8;
    CHECK(dmt_locator_write(b, sizeof b, &bad) == n);
    CHECK(dmt_locator_parse(b, n, &l) == DMT_LOC_BAD_ENTRY);
    bad.rings[0].va -= 8;
    bad.rings[0].instance ^= 1;
    CHECK(dmt_locator_write(b, sizeof b, &bad) == n);
    CHECK(dmt_locator_parse(b, n, &l) == DMT_LOC_BAD_ENTRY);
    bad.rings[0].instance ^= 1;
    bad.rings[0].data_size = 5000;
    CHECK(dmt_locator_write(b, sizeof b, &bad) == n);
    CHECK(dmt_locator_parse(b, n, &l) == DMT_LOC_BAD_ENTRY);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dmt-test-carve-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    test_raw(DMT_RING_DROP_NEWEST);
    test_raw(DMT_RING_OVERWRITE_OLDEST);
    test_dump_hole();
    test_none();
    test_merge(600);
    test_merge(750);
    test_merge(700);
    test_merge_wrap();
    test_merge_region();
    test_verdicts();
    test_locator_parse();
    test_locator_flood();
    test_per_cpu();
    test_small_dump(false);
    test_small_dump(true);
    for (int is64 = 0; is64 < 2; is64++)
        for (int c = LOC_GOOD; c <= LOC_CUT; c++)
            test_locator_dump(is64 != 0, (enum loc_case)c);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        return 1;
    return tk_result("test_carve");
}

/*
 * test_carve.c - tests for carving rings out of memory images
 * (core/image/carve.c): a ring with committed records, reservations left in
 * flight and records after them is placed in a machine's "physical memory"
 * next to decoys (a header with a wrong version, bare magic words), wrapped
 * as a raw image and as Windows crash dumps with a hole inside the ring, and
 * carved; every sequence number must come back exactly once, as a record or
 * inside a LOST range, records in sequence order with their values intact.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmt/testkit.h"
#include "dmt/tktrace.h"
#include "dmt/carve.h"
#include "dmt/enc.h"
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

/* A 64-bit complete dump (type 1) of m, leaving out pages [hole, hole+n). */
static size_t make_windump(const uint8_t *m, uint64_t hole, uint64_t nhole, uint8_t **out)
{
    const size_t hdr = 0x2000;
    uint8_t *d = calloc(1, hdr + MEM_SIZE);
    memcpy(d, "PAGEDU64", 8);
    uint32_t machine = 0x8664, type = 1, nruns = nhole ? 2 : 1;
    memcpy(d + 0x30, &machine, 4);
    memcpy(d + 0xF98, &type, 4);
    memcpy(d + 0x88, &nruns, 4);
    uint64_t pages = MEM_SIZE / PG - nhole;
    memcpy(d + 0x90, &pages, 8);
    uint64_t run[4] = {0, nhole ? hole : MEM_SIZE / PG, hole + nhole, MEM_SIZE / PG - hole - nhole};
    memcpy(d + 0x98, run, nhole ? 32 : 16);
    size_t at = hdr;
    for (uint64_t p = 0; p < MEM_SIZE / PG; p++) {
        if (nhole && p >= hole && p < hole + nhole)
            continue;
        memcpy(d + at, m + p * PG, PG);
        at += PG;
    }
    *out = d;
    return at;
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
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        return 1;
    return tk_result("test_carve");
}

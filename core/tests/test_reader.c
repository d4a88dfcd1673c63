/*
 * test_reader.c - the record-kind table; the writer -> reader round trip of
 * every record kind (small and largest values), sequence numbering and loss
 * records, CPU records (and their copy by a KEEP_CPU writer), chunk
 * framing, cut files at every byte, and the pinned malformed inputs that the
 * reader must reject with the right code and byte offset, without crashing
 * and without allocating more than a small bound; resume points (a reader
 * opened at any chunk boundary reads what a full read reads from there, a
 * hostile one is an error); a run of ring-form records appended at once
 * writes what appending them one by one writes.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmt/testkit.h"
#include "dmt/tk_record.h"
#include "dmt/tktrace.h"
#include "dmt/crc32c.h"
#include "dmt/enc.h"
#include "dmt/kinds.h"
#include "dmt/reader.h"
#include "dmt/ring.h"
#include "dmt/ringcheck.h"
#include "dmt/writer.h"

static char tmpdir[256];

static void path_in_tmp(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

static void header_init(dmt_header *h)
{
    tk_header(h, "test_reader");
    snprintf(h->host, sizeof h->host, "testhost");
}

/* ---- round trip -------------------------------------------------------- */

static void test_round_trip(void)
{
    char path[512];
    path_in_tmp(path, sizeof path, "rt.dmat");
    dmt_header h;
    header_init(&h);
    snprintf(h.scenario, sizeof h.scenario, "unit");
    h.seed = 42;
    dmt_writer *w;
    dmt_error err;
    CHECK(dmt_writer_open(path, &h, 0, &w, &err) == 0);
    dmt_writer_set_chunk_size(w, 4096); /* many chunks */

    int64_t ts = 1000;
    int nwritten = 0;
    for (int big = 0; big < 2; big++) {
        for (uint32_t k = 1; k < DMT_K_MAX_; k++) {
            if (dmt_kind_info_get(k)->kclass != DMT_KC_EVENT)
                continue;
            dmt_record r;
            /* Time goes backwards sometimes: deltas are signed. */
            ts += (k % 3 == 0) ? -7 : 1000003;
            tk_sample_record(&r, k, big, big && k == DMT_K_MARKER ? INT64_MAX / 2 : ts);
            if (big && k == DMT_K_MARKER)
                ts = INT64_MAX / 2;
            CHECKF(dmt_writer_append(w, &r, &err) == 0, "append %s: %s", dmt_kind_name(k), err.msg);
            nwritten++;
        }
        CHECK(dmt_writer_lost(w, dmt_writer_next_seq(w), 5, DMT_LOST_RING_FULL, &err) == 0);
    }
    CHECK(dmt_writer_close(w, &err) == 0);

    dmt_reader *rd;
    CHECKF(dmt_reader_open(path, 0, &rd, &err) == 0, "%s", err.msg);
    if (!rd)
        return;
    CHECK(strcmp(dmt_reader_header(rd)->scenario, "unit") == 0);
    CHECK(dmt_reader_header(rd)->seed == 42);
    CHECK(strcmp(dmt_reader_header(rd)->producer, "test_reader") == 0);
    dmt_record got;
    ts = 1000;
    uint64_t seq = 0;
    for (int big = 0; big < 2; big++) {
        for (uint32_t k = 1; k < DMT_K_MAX_; k++) {
            if (dmt_kind_info_get(k)->kclass != DMT_KC_EVENT)
                continue;
            dmt_record want;
            ts += (k % 3 == 0) ? -7 : 1000003;
            tk_sample_record(&want, k, big, big && k == DMT_K_MARKER ? INT64_MAX / 2 : ts);
            if (big && k == DMT_K_MARKER)
                ts = INT64_MAX / 2;
            int rc = dmt_reader_next(rd, &got, &err);
            CHECKF(rc == 1, "read %s: rc %d %s", dmt_kind_name(k), rc, err.msg);
            if (rc != 1)
                goto done;
            CHECKF(tk_records_equal(&want, &got), "record %s (big=%d) differs", dmt_kind_name(k),
                   big);
            CHECK(got.seq == seq);
            seq++;
        }
        CHECK(dmt_reader_next(rd, &got, &err) == 1);
        CHECK(got.kind == DMT_K_LOST && got.value == seq && got.count == 5 && got.seq == seq);
        seq += 5;
    }
    CHECK(dmt_reader_next(rd, &got, &err) == 0);
    CHECK(!dmt_reader_cut(rd, NULL, NULL));
    CHECK(dmt_reader_count(rd) == (uint64_t)nwritten + 2);
done:
    dmt_reader_close(rd);

    /* The same bytes through the memory reader, with framing records. */
    size_t len;
    uint8_t *file = tk_slurp(path, &len);
    CHECK(file != NULL);
    CHECK(dmt_reader_open_mem(file, len, DMT_READ_FRAMING, &rd, &err) == 0);
    int chunks = 0, ends = 0, n = 0, rc;
    while ((rc = dmt_reader_next(rd, &got, &err)) == 1) {
        chunks += got.kind == DMT_K_CHUNK;
        ends += got.kind == DMT_K_END;
        n++;
    }
    CHECK(rc == 0);
    CHECKF(chunks >= 5 && ends == 1, "%d chunks, %d ends", chunks, ends);
    dmt_reader_close(rd);
    free(file);
}

/* ---- cut files --------------------------------------------------------- */

static void test_cuts(void)
{
    char path[512];
    path_in_tmp(path, sizeof path, "cut.dmat");
    dmt_header h;
    header_init(&h);
    dmt_writer *w;
    dmt_error err;
    CHECK(dmt_writer_open(path, &h, 0, &w, &err) == 0);
    dmt_writer_set_chunk_size(w, 4096);
    uint64_t ends[200];
    for (int i = 0; i < 200; i++) {
        dmt_record r;
        tk_sample_record(&r, i % 2 ? DMT_K_REG_WRITE : DMT_K_EXECUTE_DMA, 0, 100 * i);
        CHECK(dmt_writer_append(w, &r, &err) == 0);
    }
    CHECK(dmt_writer_close(w, &err) == 0);
    size_t len;
    uint8_t *file = tk_slurp(path, &len);
    /* Record end offsets from a full read. */
    dmt_reader *rd;
    CHECK(dmt_reader_open_mem(file, len, 0, &rd, &err) == 0);
    dmt_record got;
    int n = 0;
    while (dmt_reader_next(rd, &got, &err) == 1) {
        ends[n++] = dmt_reader_offset(rd);
    }
    CHECK(n == 200);
    uint64_t header_end = 0;
    dmt_reader_close(rd);
    {
        dmt_reader *r2;
        CHECK(dmt_reader_open_mem(file, len, 0, &r2, &err) == 0);
        header_end = dmt_reader_offset(r2);
        dmt_reader_close(r2);
    }

    /* Every cut point: strict mode refuses with the cut offset; cut mode
     * returns exactly the records that end before the cut. */
    for (size_t cut = header_end; cut < len; cut++) {
        int rc;
        CHECK(dmt_reader_open_mem(file, cut, 0, &rd, &err) == 0);
        while ((rc = dmt_reader_next(rd, &got, &err)) == 1)
            ;
        CHECKF(rc == DMT_E_TRUNCATED, "cut at %zu: strict rc %d", cut, rc);
        dmt_reader_close(rd);

        CHECK(dmt_reader_open_mem(file, cut, DMT_READ_ALLOW_CUT, &rd, &err) == 0);
        int m = 0;
        while ((rc = dmt_reader_next(rd, &got, &err)) == 1)
            m++;
        int expect = 0;
        while (expect < 200 && ends[expect] <= cut)
            expect++;
        CHECKF(rc == 0 && m == expect, "cut at %zu: %d records (want %d), rc %d %s", cut, m, expect,
               rc, err.msg);
        uint64_t at;
        const char *why;
        CHECK(dmt_reader_cut(rd, &at, &why));
        CHECK(at <= cut && why != NULL);
        dmt_reader_close(rd);
    }
    free(file);
}

/* ---- the writer's failure paths --------------------------------------- */

static void test_writer_failures(void)
{
    char path[512];
    dmt_error err;
    dmt_header h;
    header_init(&h);
    path_in_tmp(path, sizeof path, "full.dmat");
    dmt_writer *w;
    CHECK(dmt_writer_open(path, &h, 0, &w, &err) == 0);
    dmt_writer_set_chunk_size(w, 4096);
    dmt_writer_inject_failure(w, 10000, 28 /* ENOSPC */);
    int rc = 0, i;
    for (i = 0; i < 10000 && rc == 0; i++) {
        dmt_record r;
        tk_sample_record(&r, DMT_K_REG_WRITE, 0, i);
        rc = dmt_writer_append(w, &r, &err);
    }
    CHECK(rc == DMT_E_IO && err.sys_errno == 28);
    uint64_t flushed = dmt_writer_get_stats(w)->records_flushed;
    CHECK(dmt_writer_close(w, &err) == DMT_E_IO);
    /* The file reads back to its last whole record, and holds at least what
     * was reported flushed. */
    dmt_reader *rd;
    CHECK(dmt_reader_open(path, DMT_READ_ALLOW_CUT, &rd, &err) == 0);
    dmt_record got;
    uint64_t m = 0;
    while ((rc = dmt_reader_next(rd, &got, &err)) == 1)
        m++;
    CHECK(rc == 0 && m >= flushed && dmt_reader_cut(rd, NULL, NULL));
    dmt_reader_close(rd);

    /* Atomic mode: an aborted writer leaves no file, a closed one a whole. */
    path_in_tmp(path, sizeof path, "atomic.dmat");
    CHECK(dmt_writer_open(path, &h, DMT_WRITE_ATOMIC, &w, &err) == 0);
    dmt_record r;
    tk_sample_record(&r, DMT_K_MARKER, 0, 5);
    CHECK(dmt_writer_append(w, &r, &err) == 0);
    dmt_writer_abort(w);
    CHECK(access(path, F_OK) != 0);
    CHECK(dmt_writer_open(path, &h, DMT_WRITE_ATOMIC, &w, &err) == 0);
    CHECK(dmt_writer_append(w, &r, &err) == 0);
    CHECK(dmt_writer_close(w, &err) == 0);
    CHECK(access(path, F_OK) == 0);
    /* Refused kinds. */
    CHECK(dmt_writer_open(path, &h, DMT_WRITE_ATOMIC, &w, &err) == 0);
    r.kind = DMT_K_END;
    CHECK(dmt_writer_append(w, &r, &err) == DMT_E_USAGE);
    r.kind = DMT_K_MARKER;
    CHECK(dmt_writer_append(w, &r, &err) == 0);
    CHECK(dmt_writer_lost(w, 99, 1, 0, &err) == DMT_E_USAGE); /* not the next seq */
    dmt_writer_abort(w);
}

/* ---- ring-form records -------------------------------------------------- */

static void test_ring_form(void)
{
    char path[512];
    path_in_tmp(path, sizeof path, "ring.dmat");
    dmt_header h;
    header_init(&h);
    dmt_writer *w;
    dmt_error err;
    CHECK(dmt_writer_open(path, &h, 0, &w, &err) == 0);
    uint8_t buf[DMT_MAX_RECORD];
    int64_t base = 5000000000LL;
    uint64_t seq = 100; /* a ring that had delivered 100 records before */
    for (uint32_t k = 1; k < DMT_K_MAX_; k++) {
        if (dmt_kind_info_get(k)->kclass != DMT_KC_EVENT)
            continue;
        dmt_record r;
        tk_sample_record(&r, k, 0, 0);
        size_t n = dmt_enc_record(buf, sizeof buf, &r, base + k * 10);
        CHECK(dmt_writer_append_ring(w, buf, n, seq++, &err) == 0);
    }
    CHECK(dmt_writer_lost(w, seq, 3, DMT_LOST_TORN, &err) == 0);
    seq += 3;
    /* An invalid ring payload is refused and nothing is written. */
    uint8_t bad[] = {0x83, 0x01, 0x05, 0x61};
    CHECK(dmt_writer_append_ring(w, bad, sizeof bad, seq, &err) == DMT_E_FORMAT);
    uint8_t trailing[64];
    dmt_record r;
    tk_sample_record(&r, DMT_K_REG_WRITE, 0, 0);
    size_t n = dmt_enc_record(trailing, sizeof trailing, &r, base);
    trailing[n] = 0x00;
    CHECK(dmt_writer_append_ring(w, trailing, n + 1, seq, &err) == DMT_E_FORMAT);
    CHECK(dmt_writer_append_ring(w, trailing, n, seq + 1, &err) == DMT_E_USAGE);
    CHECK(dmt_writer_close(w, &err) == 0);

    dmt_reader *rd;
    CHECK(dmt_reader_open(path, 0, &rd, &err) == 0);
    CHECK(dmt_reader_header(rd)->seq0 == 100);
    dmt_record got;
    uint32_t k = 1;
    int rc;
    while ((rc = dmt_reader_next(rd, &got, &err)) == 1) {
        if (got.kind == DMT_K_LOST) {
            CHECK(got.count == 3 && got.reason == DMT_LOST_TORN);
            continue;
        }
        while (dmt_kind_info_get(k)->kclass != DMT_KC_EVENT)
            k++;
        dmt_record want;
        tk_sample_record(&want, k, 0, base + k * 10);
        CHECKF(tk_records_equal(&want, &got), "ring-form %s", dmt_kind_name(k));
        uint64_t events_before = 0; /* each event kind below k took one number */
        for (uint32_t j = 1; j < k; j++)
            events_before += dmt_kind_info_get(j)->kclass == DMT_KC_EVENT;
        CHECK(got.seq == 100 + events_before);
        k++;
    }
    CHECK(rc == 0);
    dmt_reader_close(rd);
}

/* ---- pinned malformed inputs ------------------------------------------ */

typedef struct bad_case {
    const char *name;
    int code;    /* expected error */
    long offset; /* expected error offset; -1: don't care, -2: header end + value */
} bad_case;

static uint8_t img[1 << 20];
static size_t hdr_len;

/* Build header + body (+ a correct CHUNK and END when framed). */
static size_t build(const uint8_t *body, size_t n, int framed)
{
    dmt_header h;
    header_init(&h);
    size_t len = dmt_header_encode(img, sizeof img, &h);
    hdr_len = len;
    memcpy(img + len, body, n);
    len += n;
    if (framed) {
        dmt_record c;
        memset(&c, 0, sizeof c);
        c.kind = DMT_K_CHUNK;
        c.count = 1;
        c.length = n;
        c.value = dmt_crc32c(0, body, n);
        len += dmt_enc_record(img + len, sizeof img - len, &c, 0);
        memset(&c, 0, sizeof c);
        c.kind = DMT_K_END;
        c.count = 1;
        len += dmt_enc_record(img + len, sizeof img - len, &c, 0);
    }
    return len;
}

static void expect_bad(const char *name, const uint8_t *file, size_t len, int code, long offset)
{
    dmt_reader *rd = NULL;
    dmt_error err;
    struct mallinfo2 before = mallinfo2();
    int rc = dmt_reader_open_mem(file, len, 0, &rd, &err);
    if (rc == 0) {
        dmt_record r;
        while ((rc = dmt_reader_next(rd, &r, &err)) == 1)
            ;
    }
    struct mallinfo2 after = mallinfo2();
    CHECKF(rc == code, "%s: rc %d, want %d (%s)", name, rc, code, err.msg);
    if (offset >= 0)
        CHECKF(err.offset == (uint64_t)offset, "%s: offset %llu, want %ld (%s)", name,
               (unsigned long long)err.offset, offset, err.msg);
    CHECKF(code == 0 || err.msg[0] != 0, "%s: no message", name);
    CHECKF(after.uordblks < before.uordblks + 256 * 1024, "%s: allocated %zu bytes", name,
           after.uordblks - before.uordblks);
    dmt_reader_close(rd);
}

/* A run of checked ring-form records (dmt_writer_append_ring_run, what
 * the drains write) gives the very file one dmt_writer_append_ring_checked
 * per record gives: every event kind, times that rise by every delta size,
 * fall, and jump, stretches of 1 to 400 records across many chunk
 * boundaries (4 KiB chunks), and LOST ranges between stretches. */
static void test_ring_runs(void)
{
    enum { NREC = 20000 };
    static uint8_t pool[NREC * 64 + DMT_MAX_RECORD];
    static dmt_ring_rec recs[NREC];
    static dmt_ring_record_info ri[NREC];
    unsigned long long rng = 77;
    size_t at = 0;
    int64_t t = 1000;
    uint32_t n = 0;
    while (n < NREC) {
        uint32_t k = 1 + (uint32_t)(tk_rand(&rng) % (DMT_K_MAX_ - 1));
        if (dmt_kind_info_get(k)->kclass != DMT_KC_EVENT || (k != DMT_K_REG_WRITE && n % 8))
            continue; /* mostly register writes, as a drain sees them */
        static const int64_t steps[] = {0, 1, 23, 24, 255, 256, 65535, 65536, 1LL << 33, -5};
        t += steps[tk_rand(&rng) % 10];
        dmt_record r;
        tk_sample_record(&r, k, 0, 0);
        size_t len = dmt_enc_record(pool + at, DMT_MAX_RECORD, &r, t);
        CHECK(len > 0 && dmt_ring_record_check(pool + at, len, &ri[n]) == 0);
        recs[n].off = (uint32_t)at;
        recs[n].len = (uint32_t)len;
        at += len;
        n++;
    }
    char pa[512], pb[512];
    path_in_tmp(pa, sizeof pa, "ring_one.dmat");
    path_in_tmp(pb, sizeof pb, "ring_run.dmat");
    dmt_header h;
    header_init(&h);
    dmt_writer *wa, *wb;
    dmt_error err;
    CHECK(dmt_writer_open(pa, &h, 0, &wa, &err) == 0);
    CHECK(dmt_writer_open(pb, &h, 0, &wb, &err) == 0);
    dmt_writer_set_chunk_size(wa, 4096);
    dmt_writer_set_chunk_size(wb, 4096);
    uint64_t seq = 7;
    for (uint32_t i = 0; i < NREC;) {
        uint32_t m = 1 + (uint32_t)(tk_rand(&rng) % 400);
        if (m > NREC - i)
            m = NREC - i;
        for (uint32_t j = 0; j < m; j++)
            CHECK(dmt_writer_append_ring_checked(wa, pool + recs[i + j].off, recs[i + j].len,
                                                 seq + j, &ri[i + j], &err) == 0);
        CHECK(dmt_writer_append_ring_run(wb, pool, recs + i, ri + i, m, seq, &err) == 0);
        i += m;
        seq += m;
        if (tk_rand(&rng) % 4 == 0) {
            CHECK(dmt_writer_lost(wa, seq, 2, DMT_LOST_CORRUPT, &err) == 0);
            CHECK(dmt_writer_lost(wb, seq, 2, DMT_LOST_CORRUPT, &err) == 0);
            seq += 2;
        }
    }
    CHECK(dmt_writer_close(wa, &err) == 0);
    CHECK(dmt_writer_close(wb, &err) == 0);
    size_t na, nb;
    uint8_t *ba = tk_slurp(pa, &na), *bb = tk_slurp(pb, &nb);
    CHECKF(ba && bb && na == nb && memcmp(ba, bb, na) == 0,
           "run append: %zu bytes, per record: %zu bytes, differ", nb, na);
    CHECK(na > 40 * 4096); /* many chunks */
    free(ba);
    free(bb);
    remove(pa);
    remove(pb);
}

static void test_bad_inputs(void)
{
    int cases = 0;
    long H;
#define BAD(name, code, off, framed, ...)                                                          \
    do {                                                                                           \
        const uint8_t body_[] = {__VA_ARGS__};                                                     \
        size_t len_ = build(body_, sizeof body_, framed);                                          \
        H = (long)hdr_len;                                                                         \
        expect_bad(name, img, len_, code, (off) == -1 ? -1 : H + (off));                           \
        cases++;                                                                                   \
    } while (0)

    /* Header-level cases use raw bytes. */
    expect_bad("empty file", img, 0, DMT_E_FOREIGN, 0), cases++;
    {
        const uint8_t f[] = {0xd9, 0xd9, 0xf8, 0xa0};
        expect_bad("wrong magic tag", f, sizeof f, DMT_E_FOREIGN, 0), cases++;
    }
    {
        const uint8_t f[] = {0xd9, 0xd9, 0xf7, 0x83, 0x01, 0x02, 0x03};
        expect_bad("header not a map", f, sizeof f, DMT_E_FORMAT, 3), cases++;
    }
    {
        const uint8_t f[] = {0xd9, 0xd9, 0xf7, 0xa2, 0x65, 'm', 'a', 'g', 'i', 'c',
                             0x68, 'd',  'm',  'a',  't',  'r', 'a', 'c', 'X', 0x67,
                             'v',  'e',  'r',  's',  'i',  'o', 'n', 0x01};
        expect_bad("foreign magic", f, sizeof f, DMT_E_FOREIGN, 10), cases++;
    }
    {
        const uint8_t f[] = {0xd9, 0xd9, 0xf7, 0xa2, 0x65, 'm', 'a', 'g', 'i', 'c',
                             0x68, 'd',  'm',  'a',  't',  'r', 'a', 'c', 'e', 0x67,
                             'v',  'e',  'r',  's',  'i',  'o', 'n', 0x03};
        expect_bad("future version", f, sizeof f, DMT_E_VERSION, 27), cases++;
    }
    {
        const uint8_t f[] = {0xd9, 0xd9, 0xf7, 0xa2, 0x65, 'm', 'a', 'g', 'i'};
        expect_bad("truncated header", f, sizeof f, DMT_E_TRUNCATED, 4), cases++;
    }
    {
        const uint8_t f[] = {0xd9, 0xd9, 0xf7, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0};
        expect_bad("header map of 2^32 entries", f, sizeof f, DMT_E_FORMAT, 3), cases++;
    }

    BAD("record not an array", DMT_E_FORMAT, 0, 0, 0x05);
    BAD("record array too short", DMT_E_FORMAT, 0, 0, 0x81, 0x01);
    BAD("kind is text", DMT_E_FORMAT, 1, 0, 0x84, 0x61, 'x', 0x00, 0x00, 0x00);
    BAD("time is bytes", DMT_E_FORMAT, 2, 0, 0x84, 0x01, 0x41, 0x00, 0x00, 0x00);
    BAD("SG list claiming 2^32 elements", DMT_E_FORMAT, 6, 0, 0x86, 0x05, 0x00, 0x01, 0x01, 0x00,
        0x9b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00);
    BAD("SG list with 5-byte header claiming 2^26", DMT_E_FORMAT, 6, 0, 0x86, 0x05, 0x00, 0x01,
        0x01, 0x00, 0x9a, 0x04, 0x00, 0x00, 0x00);
    BAD("SG list odd item count", DMT_E_FORMAT, 6, 0, 0x86, 0x05, 0x00, 0x01, 0x01, 0x00, 0x83,
        0x01, 0x01, 0x01);
    BAD("SG length beyond 32 bits", DMT_E_FORMAT, 8, 0, 0x86, 0x05, 0x00, 0x01, 0x01, 0x00, 0x82,
        0x01, 0x3b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00);
    BAD("truncated record", DMT_E_TRUNCATED, 0, 0, 0x84, 0x01, 0x00, 0x19, 0x01);
    BAD("record of unknown length cut", DMT_E_TRUNCATED, -1, 0, 0x84, 0x01, 0x00);
    BAD("stray break byte", DMT_E_FORMAT, 0, 0, 0xff);
    BAD("indefinite array record", DMT_E_FORMAT, 0, 0, 0x9f, 0x01, 0x00, 0x01, 0x02, 0xff);
    BAD("tag 6 inside a record", DMT_E_FORMAT, 2, 0, 0x84, 0x01, 0xc6, 0x00, 0x01, 0x02);
    BAD("reserved initial byte", DMT_E_FORMAT, 2, 0, 0x84, 0x01, 0x1c, 0x01, 0x02);
    BAD("register width 3", DMT_E_FORMAT, 5, 0, 0x85, 0x01, 0x00, 0x01, 0x02, 0x03);
    BAD("map inside record", DMT_E_FORMAT, 2, 0, 0x84, 0x01, 0xa0, 0x01, 0x02);
    BAD("float as offset", DMT_E_FORMAT, 3, 0, 0x84, 0x01, 0x00, 0xf9, 0x3c, 0x00, 0x02);
    BAD("xfer id beyond 32 bits", DMT_E_FORMAT, 3, 0, 0x86, 0x05, 0x00, 0x1b, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x80);
    BAD("register buffer of 2000 values", DMT_E_FORMAT, 4, 0, 0x84, 0x03, 0x00, 0x00, 0x99, 0x07,
        0xd0);
    BAD("marker text longer than the limit", DMT_E_FORMAT, 3, 0, 0x83, 0x17, 0x00, 0x79, 0x90,
        0x00);
    BAD("boolean where integer expected", DMT_E_FORMAT, 3, 0, 0x84, 0x01, 0x00, 0xf5, 0x00);
    BAD("lost range out of order", DMT_E_FORMAT, 0, 0, 0x85, 0x16, 0x00, 0x07, 0x01, 0x00);
    BAD("lost range of zero records", DMT_E_FORMAT, 0, 0, 0x85, 0x16, 0x00, 0x00, 0x00, 0x00);
    BAD("time delta overflow", DMT_E_FORMAT, 13, 0, 0x84, 0x01, 0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0x00, 0x00, 0x84, 0x01, 0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x00, 0x00);
    BAD("no END record (strict)", DMT_E_TRUNCATED, 5, 0, 0x84, 0x01, 0x00, 0x01, 0x02);

    /* Framing cases: a correct file, then corrupt one byte of the body. */
    {
        const uint8_t body[] = {0x84, 0x01, 0x00, 0x01, 0x02};
        size_t len = build(body, sizeof body, 1);
        expect_bad("valid framed file", img, len, 0, -1), cases++;
        img[hdr_len + 4] ^= 0x01; /* value 2 -> 3: the CRC no longer matches */
        expect_bad("chunk CRC mismatch", img, len, DMT_E_CHECKSUM, (long)hdr_len + 5), cases++;
        len = build(body, sizeof body, 1);
        img[len] = 0x00; /* one byte after END */
        expect_bad("trailing garbage after END", img, len + 1, DMT_E_FORMAT, (long)len), cases++;
        len = build(body, sizeof body, 1);
        img[hdr_len + 5 + 4] = 0x02; /* chunk count 1 -> 2 */
        expect_bad("chunk count mismatch", img, len, DMT_E_CHECKSUM, (long)hdr_len + 5), cases++;
    }
    CHECKF(cases >= 20, "only %d malformed inputs", cases);
#undef BAD
}

/* The kinds table (dmt/kinds.h) is dense, named, and lists optional fields
 * after the required ones; framing and loss are the classes they should be. */
static void test_kinds_table(void)
{
    CHECK(dmt_kind_info_get(0) == NULL && dmt_kind_info_get(DMT_K_MAX_) == NULL);
    for (uint32_t k = 1; k < DMT_K_MAX_; k++) {
        const dmt_kind_info *ki = dmt_kind_info_get(k);
        CHECKF(ki && ki->name && dmt_kind_name(k) == ki->name, "kind %u has no row", k);
        if (!ki)
            continue;
        CHECKF(ki->n_required >= 1 && ki->n_required <= ki->n_fields &&
                   ki->n_fields <= DMT_KIND_MAX_FIELDS,
               "%s: field counts", ki->name);
        for (unsigned i = 0; i < ki->n_fields; i++)
            CHECKF(ki->fields[i].optional == (i >= ki->n_required) && ki->fields[i].name,
                   "%s: field %u", ki->name, i);
        for (uint32_t j = 1; j < k; j++)
            CHECKF(strcmp(dmt_kind_name(j), ki->name) != 0, "%s named twice", ki->name);
    }
    CHECK(dmt_kind_info_get(DMT_K_LOST)->kclass == DMT_KC_LOST);
    CHECK(dmt_kind_info_get(DMT_K_CHUNK)->kclass == DMT_KC_FRAMING);
    CHECK(dmt_kind_info_get(DMT_K_END)->kclass == DMT_KC_FRAMING);
    CHECK(dmt_kind_info_get(DMT_K_MARKER)->kclass == DMT_KC_EVENT);
    CHECK(strcmp(dmt_kind_name(DMT_K_START_DMA_END), "start_dma_end") == 0);
}

/* ---- CPU records ------------------------------------------------------- */

/* What the reader says of CPU records (schema/FORMAT.md 1.4): each record's
 * CPU, the ring_seq of a CPU record on the item after it, a CPU record of
 * no CPU; and a KEEP_CPU writer (recover, carve) that copies the records
 * writes the same bytes again.  A LOST range a KEEP_CPU writer is given
 * stays on the current CPU. */
static void test_cpu_records(void)
{
    char a[300], b[300];
    path_in_tmp(a, sizeof a, "cpu-a.dmat");
    path_in_tmp(b, sizeof b, "cpu-b.dmat");
    dmt_header h;
    header_init(&h);
    h.n_ring_seq0 = 2;
    h.ring_seq0[0] = 3;
    h.ring_seq0[1] = 1ull << 40;
    dmt_writer *w;
    dmt_error err;
    CHECK(dmt_writer_open(a, &h, DMT_WRITE_KEEP_CPU, &w, &err) == 0);
    dmt_record r;
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_REG_WRITE;
    r.width = 4;
    CHECK(dmt_writer_set_cpu(w, 1, true, 1ull << 40, &err) == 0);
    r.ts = 10;
    r.cpu = 1;
    CHECK(dmt_writer_append(w, &r, &err) == 0);
    CHECK(dmt_writer_lost(w, 1, 2, DMT_LOST_RING_FULL, &err) == 0);
    CHECK(dmt_writer_set_cpu(w, 0, true, 3, &err) == 0);
    r.ts = 20;
    r.cpu = 0;
    CHECK(dmt_writer_append(w, &r, &err) == 0);
    CHECK(dmt_writer_append(w, &r, &err) == 0);
    CHECK(dmt_writer_set_cpu(w, 0, true, 5, &err) == 0); /* a later ring_seq, same CPU */
    CHECK(dmt_writer_append(w, &r, &err) == 0);
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_MARKER;
    r.cpu = DMT_CPU_NONE;
    r.ts = 30;
    r.bytes = (const uint8_t *)"tool";
    r.n_bytes = 4;
    CHECK(dmt_writer_append(w, &r, &err) == 0);
    CHECK(dmt_writer_close(w, &err) == 0);

    static const struct {
        uint32_t kind, cpu;
        bool has;
        uint64_t ring_seq;
    } want[] = {{DMT_K_REG_WRITE, 1, true, 1ull << 40}, {DMT_K_LOST, 1, false, 0},
                {DMT_K_REG_WRITE, 0, true, 3},          {DMT_K_REG_WRITE, 0, false, 0},
                {DMT_K_REG_WRITE, 0, true, 5},          {DMT_K_MARKER, DMT_CPU_NONE, false, 0}};
    dmt_reader *rd;
    CHECK(dmt_reader_open(a, 0, &rd, &err) == 0);
    const dmt_header *rh = dmt_reader_header(rd);
    CHECK(rh->n_ring_seq0 == 2 && rh->ring_seq0[0] == 3 && rh->ring_seq0[1] == 1ull << 40);
    CHECK(dmt_writer_open(b, rh, DMT_WRITE_KEEP_CPU, &w, &err) == 0);
    unsigned n = 0;
    while (dmt_reader_next(rd, &r, &err) == 1) {
        if (n < sizeof want / sizeof want[0])
            CHECKF(r.kind == want[n].kind && r.cpu == want[n].cpu &&
                       r.has_ring_seq == want[n].has && r.ring_seq == want[n].ring_seq,
                   "item %u: kind %u cpu %u ring_seq %d/%llu", n, r.kind, r.cpu,
                   (int)r.has_ring_seq, (unsigned long long)r.ring_seq);
        CHECK(dmt_writer_append(w, &r, &err) == 0);
        n++;
    }
    CHECK(n == sizeof want / sizeof want[0]);
    dmt_reader_close(rd);
    CHECK(dmt_writer_close(w, &err) == 0);
    size_t na, nb;
    uint8_t *ba = tk_slurp(a, &na), *bb = tk_slurp(b, &nb);
    CHECK(ba && bb && na == nb && memcmp(ba, bb, na) == 0);
    free(ba);
    free(bb);
}

/* ---- resume points ------------------------------------------------------ */

/* A trace of every event kind, CPU records (some with ring_seq), LOST
 * ranges and chunks of changing size; returns records written. */
static int resume_trace(const char *path)
{
    dmt_header h;
    header_init(&h);
    h.n_ring_seq0 = 3;
    dmt_writer *w;
    dmt_error err;
    CHECK(dmt_writer_open(path, &h, DMT_WRITE_KEEP_CPU, &w, &err) == 0);
    if (!w)
        return 0;
    static const size_t sizes[] = {4096, 20000, 4096, 9000, 6000, 5000};
    int64_t ts = 5000;
    int n = 0;
    unsigned long long rnd = 7;
    for (int i = 0; i < 4000; i++) {
        if (i % 37 == 0)
            dmt_writer_set_chunk_size(w, sizes[(i / 37) % 6]);
        if (i % 13 == 0) /* a CPU switch: its state crosses chunk boundaries */
            CHECK(dmt_writer_set_cpu(w, (uint32_t)(i / 13) % 3, i % 26 == 0, (uint64_t)i, &err) ==
                  0);
        if (i % 151 == 75) {
            CHECK(dmt_writer_lost(w, dmt_writer_next_seq(w), 1 + (uint64_t)i % 5,
                                  DMT_LOST_RING_FULL, &err) == 0);
            n++;
        }
        uint32_t k = 1 + (uint32_t)(tk_rand(&rnd) % (DMT_K_MAX_ - 1));
        if (dmt_kind_info_get(k)->kclass != DMT_KC_EVENT)
            k = i % 5 ? DMT_K_REG_WRITE : DMT_K_CALIBRATION;
        ts += (i % 7 == 0) ? -11 : 1009; /* deltas go back sometimes */
        dmt_record r;
        tk_sample_record(&r, k, i % 300 == 0, ts);
        r.cpu = (uint32_t)(i / 13) % 3;
        CHECKF(dmt_writer_append(w, &r, &err) == 0, "append: %s", err.msg);
        n++;
    }
    CHECK(dmt_writer_close(w, &err) == 0);
    return n;
}

/* Every boundary a full read passes, in file order. */
static size_t resume_points(const char *path, unsigned flags, dmt_reader_resume *out, size_t cap)
{
    dmt_reader *rd;
    dmt_error err;
    size_t n = 0;
    CHECKF(dmt_reader_open(path, flags, &rd, &err) == 0, "%s", err.msg);
    if (!rd)
        return 0;
    dmt_record r;
    dmt_reader_resume b;
    dmt_reader_boundary(rd, &b);
    out[n++] = b;
    while (dmt_reader_next(rd, &r, &err) == 1) {
        dmt_reader_boundary(rd, &b);
        CHECK(b.offset <= r.pos);
        if (b.offset != out[n - 1].offset && n < cap)
            out[n++] = b;
    }
    dmt_reader_close(rd);
    return n;
}

/* From every point, a reader opened there returns what a full read returns
 * from the same place: seq, ts, cpu, ring_seq, position and payload. */
static void resume_compare(const char *path, unsigned flags, const dmt_reader_resume *pts,
                           size_t npts, const uint8_t *mem, size_t memlen)
{
    for (size_t i = 0; i < npts; i++) {
        dmt_reader *full, *at;
        dmt_error err;
        CHECK(dmt_reader_open(path, flags, &full, &err) == 0);
        int rc = mem ? dmt_reader_open_mem_at(mem, memlen, flags, &pts[i], &at, &err)
                     : dmt_reader_open_at(path, flags, &pts[i], &at, &err);
        CHECKF(rc == 0, "point %zu (byte %llu): %s", i, (unsigned long long)pts[i].offset, err.msg);
        if (!full || !at) {
            dmt_reader_close(full);
            dmt_reader_close(at);
            continue;
        }
        dmt_record a, b;
        while (dmt_reader_count(full) < pts[i].count && dmt_reader_next(full, &a, &err) == 1)
            ;
        uint64_t same = 0;
        for (;;) {
            int ra = dmt_reader_next(full, &a, &err);
            int rb = dmt_reader_next(at, &b, &err);
            CHECKF(ra == rb, "point %zu: full %d, resumed %d after %llu", i, ra, rb,
                   (unsigned long long)same);
            if (ra != 1 || rb != 1)
                break;
            const char *why = "";
            CHECKF(tk_record_same(&a, &b, &why), "point %zu record %llu: %s", i,
                   (unsigned long long)same, why);
            if (!tk_record_same(&a, &b, &why))
                break;
            same++;
        }
        CHECK(dmt_reader_count(full) == dmt_reader_count(at));
        uint64_t ca = 0, cb = 0;
        CHECK(dmt_reader_cut(full, &ca, NULL) == dmt_reader_cut(at, &cb, NULL) && ca == cb);
        dmt_reader_close(full);
        dmt_reader_close(at);
    }
}

static void expect_resume_fails(const char *what, const char *path, const dmt_reader_resume *rp)
{
    dmt_reader *rd = (dmt_reader *)1;
    dmt_error err;
    int rc = dmt_reader_open_at(path, 0, rp, &rd, &err);
    CHECKF(rc < 0 && rd == NULL, "%s: rc %d", what, rc);
    CHECKF(rc >= 0 || err.msg[0], "%s: no message", what);
}

static void test_resume(void)
{
    char path[300], cut[300], other[300];
    path_in_tmp(path, sizeof path, "resume.dmat");
    path_in_tmp(cut, sizeof cut, "resume-cut.dmat");
    path_in_tmp(other, sizeof other, "resume-other.dmat");
    CHECK(resume_trace(path) > 1000);
    static dmt_reader_resume pts[4096];
    size_t n = resume_points(path, 0, pts, 4096);
    CHECKF(n > 8, "%zu chunk boundaries", n);
    resume_compare(path, 0, pts, n, NULL, 0);
    size_t len;
    uint8_t *file = tk_slurp(path, &len);
    CHECK(file != NULL);
    if (file)
        resume_compare(path, 0, pts, n, file, len);

    /* a cut copy (inside a chunk): the partial chunk reads as in a full read */
    if (file) {
        FILE *f = fopen(cut, "wb");
        CHECK(f && fwrite(file, 1, len * 2 / 3, f) == len * 2 / 3);
        if (f)
            fclose(f);
        static dmt_reader_resume cpts[4096];
        size_t cn = resume_points(cut, DMT_READ_ALLOW_CUT, cpts, 4096);
        CHECK(cn > 5 && cn < n);
        resume_compare(cut, DMT_READ_ALLOW_CUT, cpts, cn, NULL, 0);
    }

    /* hostile points: errors, never records */
    dmt_reader_resume p = pts[n / 2];
    p.offset++;
    expect_resume_fails("offset one byte into a chunk", path, &p);
    p = pts[n / 2];
    p.offset = pts[n / 2].offset + (pts[n / 2 + 1].offset - pts[n / 2].offset) / 2;
    expect_resume_fails("offset inside a chunk", path, &p);
    p = pts[n / 2];
    p.seq++;
    expect_resume_fails("a seq that does not open the chunk", path, &p);
    p = pts[n / 2];
    p.offset = 3;
    expect_resume_fails("offset inside the header", path, &p);
    p = pts[n / 2];
    p.offset = (uint64_t)len + 1;
    expect_resume_fails("offset past the end", path, &p);
    p.offset = UINT64_MAX;
    expect_resume_fails("offset UINT64_MAX", path, &p);
    p = pts[n - 1];
    expect_resume_fails("a point beyond a shorter file", cut, &p);
    /* the file replaced by another trace: the point is no boundary of it */
    dmt_header h;
    header_init(&h);
    dmt_writer *w;
    dmt_error err;
    CHECK(dmt_writer_open(other, &h, 0, &w, &err) == 0);
    for (int i = 0; i < 3000 && w; i++) {
        dmt_record r;
        tk_sample_record(&r, DMT_K_MARKER, 0, 100 + i);
        CHECK(dmt_writer_append(w, &r, &err) == 0);
    }
    CHECK(w && dmt_writer_close(w, &err) == 0);
    for (size_t i = 1; i < n; i += 7)
        expect_resume_fails("a point of another trace", other, &pts[i]);
    free(file);
}

/* The hardware CRC (three blocks side by side, joined) and the table one
 * agree, around the lengths where the blocks start and end. */
static void test_crc32c_paths(void)
{
    static uint8_t buf[3 * 4096 * 2 + 64 + 2]; /* the longest length at the last offset */
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    CHECK(dmt_crc32c(0, "123456789", 9) == 0xE3069283u);
    const size_t lens[] = {0, 1, 8, 4095, 3 * 4096 - 1, 3 * 4096, 3 * 4096 + 7, 6 * 4096 + 63};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
        for (size_t off = 0; off < 3; off++) {
            CHECK(dmt_crc32c(0, buf + off, lens[k]) == dmt_crc32c_sw(0, buf + off, lens[k]));
            CHECK(dmt_crc32c(0x12345678u, buf + off, lens[k]) ==
                  dmt_crc32c_sw(0x12345678u, buf + off, lens[k]));
        }
}

int main(void)
{
    if (!tk_mkdtemp(tmpdir, sizeof tmpdir, "dmt-test-reader"))
        return 1;
    test_kinds_table();
    test_crc32c_paths();
    test_round_trip();
    test_cpu_records();
    test_resume();
    test_cuts();
    test_writer_failures();
    test_ring_form();
    test_ring_runs();
    test_bad_inputs();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    return tk_result("test_reader");
}

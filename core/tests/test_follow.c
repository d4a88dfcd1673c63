/*
 * test_follow.c - dmt/follow.h: a trace copied into a file in small pieces
 * (as a recorder's writes land) is handed out only in whole, verified
 * chunks: after every piece, the records seen equal the records of the
 * chunks wholly on disk; the END record ends following; a corrupted chunk
 * gets the error a finished file gets; a truncated file is reported.
 *
 * The scout (a reader in DMT_READ_SCOUT mode, which walks records instead
 * of decoding them) is held to a reader that decodes every record, over a
 * trace of every record kind grown in uneven pieces (cut mid-record) and
 * mutated (flipped bytes anywhere and in CHUNK records, garbage appended,
 * chunks truncated, a time delta that overflows): the same chunk ends after every piece, the same
 * final error (code, offset, index, message).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmt/testkit.h"
#include "dmt/tktrace.h"
#include "dmt/follow.h"
#include "dmt/kinds.h"
#include "dmt/reader.h"
#include "dmt/writer.h"

#define NREC 20000

static char tmpdir[256];

/* The test traces' writer: a header of this test, chunks of chunk bytes. */
static dmt_writer *trace_open(const char *path, size_t chunk)
{
    dmt_header h;
    tk_header(&h, "test_follow");
    dmt_writer *w;
    dmt_error err;
    REQUIRE(dmt_writer_open(path, &h, 0, &w, &err) == 0);
    dmt_writer_set_chunk_size(w, chunk);
    return w;
}

/* Close w's trace at path and return its bytes (*len of them; free them). */
static uint8_t *trace_close(dmt_writer *w, const char *path, size_t *len)
{
    dmt_error err;
    CHECK(dmt_writer_close(w, &err) == 0);
    uint8_t *p = tk_slurp(path, len);
    REQUIRE(p != NULL);
    return p;
}

/* A finished trace of NREC register writes in 4 KiB chunks, in memory. */
static uint8_t *make_trace(const char *path, size_t *len)
{
    dmt_writer *w = trace_open(path, 4096);
    dmt_error err;
    for (uint32_t i = 0; i < NREC; i++) {
        dmt_record r;
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_REG_WRITE;
        r.ts = 1000 + i * 10;
        r.dev = 1;
        r.off = 0x100 + (i % 16) * 4;
        r.value = i * 2654435761u;
        r.width = 4;
        CHECK(dmt_writer_append(w, &r, &err) == 0);
    }
    return trace_close(w, path, len);
}

/* Records in the chunks that end at or before each offset: whole[i] for
 * the i-th CHUNK/END end offset ends[i]. */
static size_t chunk_ends(const char *path, uint64_t *ends, uint64_t *whole, size_t cap)
{
    dmt_reader *rd;
    dmt_error err;
    dmt_record r;
    size_t n = 0;
    CHECK(dmt_reader_open(path, DMT_READ_FRAMING, &rd, &err) == 0);
    while (dmt_reader_next(rd, &r, &err) == 1)
        if ((r.kind == DMT_K_CHUNK || r.kind == DMT_K_END) && n < cap) {
            ends[n] = dmt_reader_offset(rd);
            whole[n++] = dmt_reader_count(rd);
        }
    dmt_reader_close(rd);
    return n;
}

static void append(int fd, const uint8_t *p, size_t n)
{
    CHECK(write(fd, p, n) == (ssize_t)n);
}

/* An empty file `name` in the test's folder, open for appending. */
static int create(const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", tmpdir, name);
    return open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
}

static void test_pieces(const uint8_t *img, size_t len, const char *ref)
{
    static uint64_t ends[4096], whole[4096];
    size_t nends = chunk_ends(ref, ends, whole, 4096);
    CHECK(nends > 20);
    char path[300];
    int fd = create("grow.dmat", path, sizeof path);
    /* The first piece is the header (a recorder writes it at open). */
    dmt_reader *rd;
    dmt_error e0;
    CHECK(dmt_reader_open(ref, 0, &rd, &e0) == 0);
    size_t hdr = (size_t)dmt_reader_offset(rd);
    dmt_reader_close(rd);
    append(fd, img, hdr);
    dmt_follow *f;
    dmt_error err;
    CHECK(dmt_follow_open(path, 0, 0, &f, &err) == 0);
    dmt_record r;
    uint64_t seen = 0, expect_seq = 0;
    int rc = DMT_FOLLOW_AGAIN;
    for (size_t at = hdr; at < len;) {
        size_t n = 97 + (at % 1013);
        if (n > len - at)
            n = len - at;
        append(fd, img + at, n);
        at += n;
        while ((rc = dmt_follow_next(f, &r, &err)) == 1) {
            CHECKF(r.seq == expect_seq, "seq %llu, want %llu", (unsigned long long)r.seq,
                   (unsigned long long)expect_seq);
            expect_seq++;
            seen++;
        }
        uint64_t want = 0;
        for (size_t i = 0; i < nends && ends[i] <= at; i++)
            want = whole[i];
        CHECKF(seen == want, "at byte %zu: %llu records seen, %llu in whole chunks", at,
               (unsigned long long)seen, (unsigned long long)want);
        if (at < len)
            CHECK(rc == DMT_FOLLOW_AGAIN);
    }
    CHECK(rc == 0); /* END */
    CHECK(seen == NREC);
    dmt_follow_close(f);
    close(fd);
}

/* A follower opened on a file that already holds whole chunks and part of
 * the next hands out the whole chunks' records only, then the rest as it
 * lands. */
static void test_open_late(const uint8_t *img, size_t len, const char *ref)
{
    static uint64_t ends[4096], whole[4096];
    size_t nends = chunk_ends(ref, ends, whole, 4096);
    CHECK(nends > 8);
    char path[300];
    int fd = create("late.dmat", path, sizeof path);
    size_t part = (size_t)(ends[5] + (ends[6] - ends[5]) / 2);
    append(fd, img, part);
    dmt_follow *f;
    dmt_error err;
    dmt_record r;
    int rc;
    uint64_t seen = 0;
    CHECK(dmt_follow_open(path, 0, 0, &f, &err) == 0);
    while ((rc = dmt_follow_next(f, &r, &err)) == 1)
        seen++;
    CHECK(rc == DMT_FOLLOW_AGAIN);
    CHECKF(seen == whole[5], "%llu records handed out, %llu in whole chunks",
           (unsigned long long)seen, (unsigned long long)whole[5]);
    CHECK(dmt_follow_committed(f) == ends[5]);
    append(fd, img + part, len - part);
    while ((rc = dmt_follow_next(f, &r, &err)) == 1)
        seen++;
    CHECK(rc == 0);
    CHECK(seen == NREC);
    dmt_follow_close(f);
    close(fd);
}

static void test_bad_chunk(const uint8_t *img, size_t len)
{
    char path[300];
    snprintf(path, sizeof path, "%s/bad.dmat", tmpdir);
    uint8_t *bad = malloc(len);
    memcpy(bad, img, len);
    bad[len / 2] ^= 0x01;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    append(fd, bad, len);
    close(fd);
    /* The finished file's verdict. */
    dmt_reader *rd;
    dmt_error ferr, err;
    dmt_record r;
    int frc;
    CHECK(dmt_reader_open(path, DMT_READ_ALLOW_CUT, &rd, &ferr) == 0);
    while ((frc = dmt_reader_next(rd, &r, &ferr)) == 1)
        ;
    dmt_reader_close(rd);
    CHECK(frc < 0);
    dmt_follow *f;
    CHECK(dmt_follow_open(path, DMT_READ_ALLOW_CUT, 0, &f, &err) == 0);
    int rc;
    while ((rc = dmt_follow_next(f, &r, &err)) == 1)
        ;
    CHECK(rc == frc);
    CHECK(err.offset == ferr.offset);
    CHECKF(strcmp(err.msg, ferr.msg) == 0, "'%s' vs '%s'", err.msg, ferr.msg);
    dmt_follow_close(f);

    /* Truncated under the follower. */
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    append(fd, img, len / 2);
    CHECK(dmt_follow_open(path, 0, 0, &f, &err) == 0);
    while ((rc = dmt_follow_next(f, &r, &err)) == 1)
        ;
    CHECK(rc == DMT_FOLLOW_AGAIN);
    CHECK(ftruncate(fd, 100) == 0);
    CHECK(dmt_follow_next(f, &r, &err) == DMT_E_IO);
    CHECK(strstr(err.msg, "truncated") != NULL);
    dmt_follow_close(f);
    close(fd);
    free(bad);
}

/* ---- the scout against a reader that decodes everything ------------------ */

static unsigned long long rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* A finished trace of every event kind (small values, and once extreme ones), LOST
 * ranges and CPU records with and without ring_seq, in 1 KiB chunks. */
static uint8_t *make_every_kind(const char *path, size_t *len)
{
    dmt_writer *w = trace_open(path, 1024);
    dmt_error err;
    int64_t ts = 1000;
    uint64_t seq = 0;
    for (int rep = 0; rep < 80; rep++)
        for (uint32_t k = 1; k < DMT_K_MAX_; k++) {
            const dmt_kind_info *ki = dmt_kind_info_get(k);
            if (k % 5 == (uint32_t)rep % 5)
                CHECK(dmt_writer_set_cpu(w, (uint32_t)rep % 3, rep % 2 == 0, 100 + seq, &err) == 0);
            if (k == DMT_K_LOST) {
                CHECK(dmt_writer_lost(w, seq, 1 + (uint64_t)rep, 1, &err) == 0);
                seq += 1 + (uint64_t)rep;
                continue;
            }
            if (ki->kclass != DMT_KC_EVENT)
                continue;
            dmt_record r;
            tk_sample_record(&r, k, rep == 40, ts += 1 + rep * 7);
            CHECKF(dmt_writer_append(w, &r, &err) == 0, "append %s: %s", ki->name, err.msg);
            seq++;
        }
    return trace_close(w, path, len);
}

/* One reader of the file as the follower runs its scout: follow mode, no
 * limit; the offsets after its CHUNK/END records and how it stopped. */
typedef struct scout_run {
    dmt_reader *rd;
    uint64_t ends[512];
    size_t n_ends;
    int rc; /* DMT_READER_AGAIN while running */
    dmt_error err;
} scout_run;

static void scout_step(scout_run *s)
{
    dmt_record r;
    while (s->rc == DMT_READER_AGAIN || s->rc == 1) {
        s->rc = dmt_reader_next(s->rd, &r, &s->err);
        if (s->rc == 1 && (r.kind == DMT_K_CHUNK || r.kind == DMT_K_END) && s->n_ends < 512)
            s->ends[s->n_ends++] = dmt_reader_offset(s->rd);
        if (s->rc == DMT_READER_AGAIN)
            return;
    }
}

/* img[0..len) written in pieces of 1..max bytes (the first the header of
 * hdr bytes); after each, the scout and the full reader must have found
 * the same chunk ends; at the end (out of follow mode) the same verdict. */
static void scout_differs(const uint8_t *img, size_t len, size_t hdr, size_t max, const char *what)
{
    char path[300];
    int fd = create("scout.dmat", path, sizeof path);
    append(fd, img, hdr);
    static scout_run s[2];
    dmt_error err;
    for (int i = 0; i < 2; i++) {
        memset(&s[i], 0, sizeof s[i]);
        unsigned flags = DMT_READ_FRAMING | (i ? DMT_READ_SCOUT : 0u);
        CHECK(dmt_reader_open(path, flags, &s[i].rd, &err) == 0);
        dmt_reader_follow(s[i].rd, UINT64_MAX);
        s[i].rc = DMT_READER_AGAIN;
    }
    for (size_t at = hdr; at <= len;) {
        for (int i = 0; i < 2; i++)
            scout_step(&s[i]);
        CHECKF(s[0].rc == s[1].rc && s[0].n_ends == s[1].n_ends &&
                   !memcmp(s[0].ends, s[1].ends, s[0].n_ends * sizeof s[0].ends[0]),
               "%s, %zu bytes on disk: full read %d after %zu chunk ends, scout %d after %zu", what,
               at, s[0].rc, s[0].n_ends, s[1].rc, s[1].n_ends);
        if (at == len)
            break;
        size_t n = 1 + rnd() % max;
        if (n > len - at)
            n = len - at;
        append(fd, img + at, n);
        at += n;
    }
    for (int i = 0; i < 2; i++) {
        dmt_reader_unfollow(s[i].rd);
        if (s[i].rc == DMT_READER_AGAIN)
            scout_step(&s[i]);
    }
    CHECKF(s[0].rc == s[1].rc && s[0].n_ends == s[1].n_ends, "%s, at the end: %d / %d", what,
           s[0].rc, s[1].rc);
    if (s[0].rc < 0 && s[1].rc < 0)
        CHECKF(s[0].err.code == s[1].err.code && s[0].err.offset == s[1].err.offset &&
                   s[0].err.index == s[1].err.index && !strcmp(s[0].err.msg, s[1].err.msg),
               "%s: full read %d @%llu #%llu '%s', scout %d @%llu #%llu '%s'", what, s[0].err.code,
               (unsigned long long)s[0].err.offset, (unsigned long long)s[0].err.index,
               s[0].err.msg, s[1].err.code, (unsigned long long)s[1].err.offset,
               (unsigned long long)s[1].err.index, s[1].err.msg);
    for (int i = 0; i < 2; i++)
        dmt_reader_close(s[i].rd);
    close(fd);
}

/* img with the time delta of its first register write at or after `from`
 * made INT64_MAX (an 8-byte argument in place of the writer's) in m: the
 * time overflows there, in a record the scout walks.  Its new length. */
static size_t with_huge_delta(const uint8_t *img, size_t len, uint64_t from, uint8_t *m)
{
    static const uint8_t huge[9] = {0x1B, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    dmt_reader *fr;
    dmt_record r;
    dmt_error e;
    uint64_t at = 0;
    CHECK(dmt_reader_open_mem(img, len, DMT_READ_FRAMING, &fr, &e) == 0);
    while (dmt_reader_next(fr, &r, &e) == 1)
        if (r.kind == DMT_K_REG_WRITE && r.pos >= from) {
            at = r.pos;
            break;
        }
    dmt_reader_close(fr);
    /* [array head, kind, time ...]: one-byte array head and kind */
    REQUIRE(at && img[at] >= 0x82 && img[at] < 0x98 && img[at + 1] == DMT_K_REG_WRITE);
    size_t t = (size_t)at + 2, ai = img[t] & 0x1Fu;
    REQUIRE(img[t] >> 5 == 0 && ai <= 27);
    size_t tn = 1 + (ai < 24 ? 0 : (size_t)1 << (ai - 24));
    memcpy(m, img, t);
    memcpy(m + t, huge, sizeof huge);
    memcpy(m + t + sizeof huge, img + t + tn, len - t - tn);
    return len - tn + sizeof huge;
}

static void test_scout(void)
{
    char ref[300];
    snprintf(ref, sizeof ref, "%s/every.dmat", tmpdir);
    size_t len;
    uint8_t *img = make_every_kind(ref, &len);
    static uint64_t ends[512], whole[512];
    size_t nends = chunk_ends(ref, ends, whole, 512);
    CHECK(nends > 8);
    dmt_reader *rd;
    dmt_error e0;
    CHECK(dmt_reader_open(ref, 0, &rd, &e0) == 0);
    size_t hdr = (size_t)dmt_reader_offset(rd);
    dmt_reader_close(rd);
    uint8_t *m = malloc(2 * len);
    char what[128];

    scout_differs(img, (size_t)ends[2], hdr, 1, "three chunks byte by byte");
    for (int i = 0; i < 4; i++)
        scout_differs(img, len, hdr, 700 + 300 * (size_t)i, "the trace");
    /* one flipped byte anywhere after the header */
    for (int t = 0; t < 150; t++) {
        memcpy(m, img, len);
        size_t at = hdr + rnd() % (len - hdr);
        m[at] ^= (uint8_t)(1 + rnd() % 255);
        snprintf(what, sizeof what, "byte %zu flipped", at);
        scout_differs(m, len, hdr, 2000, what);
    }
    /* every byte of a chunk of small records, each flipped once (the file
     * cut after the next chunk: many short runs) */
    for (uint64_t at = ends[0]; at < ends[1]; at++) {
        memcpy(m, img, (size_t)ends[2]);
        m[at] ^= (uint8_t)(1u << (at * 5 % 8));
        snprintf(what, sizeof what, "byte %llu flipped", (unsigned long long)at);
        scout_differs(m, (size_t)ends[2], hdr, 1500, what);
    }
    /* every byte of some CHUNK records (and the END record), flipped */
    for (size_t c = 0; c < nends; c += 1 + nends / 6) {
        uint64_t from = c ? ends[c - 1] : hdr;
        dmt_reader *fr;
        dmt_record r;
        uint64_t chunk_at = 0;
        CHECK(dmt_reader_open_mem(img, len, DMT_READ_FRAMING, &fr, &e0) == 0);
        while (dmt_reader_next(fr, &r, &e0) == 1)
            if ((r.kind == DMT_K_CHUNK || r.kind == DMT_K_END) && r.pos >= from) {
                chunk_at = r.pos;
                break;
            }
        dmt_reader_close(fr);
        for (uint64_t at = chunk_at; at < ends[c]; at++) {
            unsigned bit = (unsigned)(at * 3 % 8);
            memcpy(m, img, len);
            m[at] ^= (uint8_t)(1u << bit);
            snprintf(what, sizeof what, "framing record at %llu, byte %llu bit %u",
                     (unsigned long long)chunk_at, (unsigned long long)at, bit);
            scout_differs(m, len, hdr, 2000, what);
        }
    }
    /* a walked record's time delta overflowing (in the first chunk and in
     * a later one): the full read's error, at the same record */
    for (size_t c = 0; c < 3; c += 2) {
        size_t n = with_huge_delta(img, len, c ? ends[c - 1] : hdr, m);
        dmt_reader *fr;
        dmt_record r;
        CHECK(dmt_reader_open_mem(m, n, 0, &fr, &e0) == 0);
        int rc;
        while ((rc = dmt_reader_next(fr, &r, &e0)) == 1)
            ;
        CHECKF(rc < 0 && strstr(e0.msg, "time delta overflows"), "huge delta: %d %s", rc, e0.msg);
        dmt_reader_close(fr);
        snprintf(what, sizeof what, "time delta overflowing in chunk %zu", c);
        scout_differs(m, n, hdr, 1 + 700 * c, what);
    }
    /* garbage after END; a valid chunk after END */
    memcpy(m, img, len);
    for (size_t i = 0; i < 64; i++)
        m[len + i] = (uint8_t)rnd();
    scout_differs(m, len + 64, hdr, 300, "garbage after END");
    memcpy(m + len, img + hdr, ends[0] - hdr);
    scout_differs(m, len + (ends[0] - hdr), hdr, 300, "a chunk after END");
    /* a chunk truncated: its tail cut out, the next chunk following */
    for (size_t c = 1; c + 1 < nends; c += 1 + nends / 5) {
        size_t cut = (size_t)(ends[c - 1] + (ends[c] - ends[c - 1]) * (1 + rnd() % 9) / 10);
        memcpy(m, img, cut);
        memcpy(m + cut, img + ends[c], len - ends[c]);
        snprintf(what, sizeof what, "chunk %zu cut at %zu", c, cut);
        scout_differs(m, cut + (len - ends[c]), hdr, 400, what);
        scout_differs(img, cut, hdr, 400, "the file cut");
    }
    free(m);
    free(img);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dmt-test-follow-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    char ref[300];
    snprintf(ref, sizeof ref, "%s/ref.dmat", tmpdir);
    size_t len;
    uint8_t *img = make_trace(ref, &len);
    test_pieces(img, len, ref);
    test_open_late(img, len, ref);
    test_bad_chunk(img, len);
    free(img);
    test_scout();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return tk_result("test_follow");
}

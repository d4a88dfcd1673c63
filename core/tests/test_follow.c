/*
 * test_follow.c - dmt/follow.h: a trace copied into a file in small pieces
 * (as a recorder's writes land) is handed out only in whole, verified
 * chunks: after every piece, the records seen equal the records of the
 * chunks wholly on disk; the END record ends following; a corrupted chunk
 * gets the error a finished file gets; a truncated file is reported.
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
#include "dmt/reader.h"
#include "dmt/writer.h"

#define NREC 20000

static char tmpdir[256];

/* A finished trace of NREC register writes in 4 KiB chunks, in memory. */
static uint8_t *make_trace(const char *path, size_t *len)
{
    dmt_header h;
    tk_header(&h, "test_follow");
    dmt_writer *w;
    dmt_error err;
    CHECK(dmt_writer_open(path, &h, 0, &w, &err) == 0);
    dmt_writer_set_chunk_size(w, 4096);
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
    CHECK(dmt_writer_close(w, &err) == 0);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(*len);
    CHECK(fread(p, 1, *len, f) == *len);
    fclose(f);
    return p;
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

static void test_pieces(const uint8_t *img, size_t len, const char *ref)
{
    static uint64_t ends[4096], whole[4096];
    size_t nends = chunk_ends(ref, ends, whole, 4096);
    CHECK(nends > 20);
    char path[300];
    snprintf(path, sizeof path, "%s/grow.dmat", tmpdir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
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
    test_bad_chunk(img, len);
    free(img);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return tk_result("test_follow");
}

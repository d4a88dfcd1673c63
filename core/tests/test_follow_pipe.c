/*
 * test_follow_pipe.c - dmt/follow_pipe.h: the reader thread's batches are
 * what one thread reading the growing trace would see.  A writer thread
 * copies a trace into a file in small pieces while this thread takes the
 * batches: every record once, in file order, equal to the file's, from
 * whole chunks only; the audit's findings equal dmt_audit_file's; the chunk
 * boundaries are the reader's; a corrupted chunk ends the pipe with the
 * error a finished file gets, after every record before it; a truncated
 * file is reported; a trace that stops growing ends stalled with the
 * end-of-trace findings; stopping works while the reader thread waits for
 * a free batch or for new bytes.  All of it with the reader thread and
 * without it (batches filled in take).  Runs under the tsan preset (label
 * threads): every hand-off between the two threads is exercised.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmt/audit.h"
#include "dmt/follow.h"
#include "dmt/follow_pipe.h"
#include "dmt/reader.h"
#include "dmt/store.h"
#include "dmt/testkit.h"
#include "dmt/tktrace.h"
#include "dmt/writer.h"

#define NREC 30000 /* register writes, plus the audit's session records */

static char tmpdir[256];
static bool threaded; /* the pipe's reader thread, or batches filled in take */

/* A finished trace in 4 KiB chunks: register writes, a few MDL unlocks
 * of MDLs never locked (findings on their records) and MDL 1 still locked
 * at the end (an end-of-trace finding). */
static void write_trace(const char *path)
{
    dmt_header h;
    tk_header(&h, "test_follow_pipe");
    dmt_writer *w;
    dmt_error err;
    CHECK(dmt_writer_open(path, &h, 0, &w, &err) == 0);
    dmt_writer_set_chunk_size(w, 4096);
    tk_begin(8192, DMT_LOCK_READ); /* device, adapters, MDL 1 locked */
    for (uint32_t i = 0; i < tk_nrec; i++)
        CHECK(dmt_writer_append(w, &tk_rec[i], &err) == 0);
    int64_t ts = 10000000;
    for (uint32_t i = 0; i < NREC; i++) {
        dmt_record r;
        memset(&r, 0, sizeof r);
        r.cpu = DMT_CPU_NONE;
        r.ts = ts += 10;
        if (i % 5000 == 2500) {
            r.kind = DMT_K_BUFFER_UNLOCK;
            r.mdl = 1000 + i;
        } else {
            r.kind = DMT_K_REG_WRITE;
            r.dev = 1;
            r.off = 0x100 + (i % 16) * 4;
            r.value = i * 2654435761u;
            r.width = 4;
        }
        CHECK(dmt_writer_append(w, &r, &err) == 0);
    }
    CHECK(dmt_writer_close(w, &err) == 0);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    uint8_t *p = tk_slurp(path, len);
    CHECK(p != NULL);
    return p;
}

/* The trace at path without its END record: cut at the end of its last
 * chunk (a recorder that died after its last flush). */
static void cut_end(const char *path, const char *out)
{
    dmt_reader *rd;
    dmt_error err;
    dmt_record r;
    uint64_t at = 0;
    CHECK(dmt_reader_open(path, DMT_READ_FRAMING, &rd, &err) == 0);
    while (dmt_reader_next(rd, &r, &err) == 1)
        if (r.kind == DMT_K_CHUNK)
            at = dmt_reader_offset(rd);
    dmt_reader_close(rd);
    size_t len;
    uint8_t *img = slurp(path, &len);
    CHECK(at > 0 && at < len);
    FILE *f = fopen(out, "wb");
    CHECK(fwrite(img, 1, at, f) == at);
    fclose(f);
    free(img);
}

typedef struct {
    dmt_finding f[64];
    size_t n;
} found_t;

static void sink(void *user, const dmt_finding *f)
{
    found_t *fs = user;
    if (fs->n < 64)
        fs->f[fs->n++] = *f;
}

/* ---- the writer thread: the image into path in pieces -------------------- */

typedef struct {
    int fd;
    const uint8_t *img;
    size_t from, len;
} piece_arg;

static void *writer_main(void *arg)
{
    piece_arg *a = arg;
    for (size_t at = a->from; at < a->len;) {
        size_t n = 97 + (at % 1013);
        if (n > a->len - at)
            n = a->len - at;
        CHECK(write(a->fd, a->img + at, n) == (ssize_t)n);
        at += n;
        if (at % 7 == 0)
            usleep(50); /* let the reader catch up now and then */
    }
    return NULL;
}

static size_t header_len(const char *path)
{
    dmt_reader *rd;
    dmt_error e;
    CHECK(dmt_reader_open(path, DMT_READ_ALLOW_CUT, &rd, &e) == 0);
    size_t n = (size_t)dmt_reader_offset(rd);
    dmt_reader_close(rd);
    return n;
}

/* Follow path (its first hdr bytes on disk, the rest written by a thread)
 * through a pipe; check against the finished reference ref; returns the
 * last batch's status. */
static int follow_all(const char *ref, const char *path, uint64_t stall_ms, bool cut_end,
                      const found_t *want, uint64_t *n_out, dmt_error *err_out)
{
    size_t len;
    uint8_t *img = slurp(ref, &len);
    size_t hdr = header_len(ref);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, img, hdr) == (ssize_t)hdr);
    dmt_follow *fl;
    dmt_error err;
    CHECK(dmt_follow_open(path, DMT_READ_ALLOW_CUT, stall_ms, &fl, &err) == 0);
    dmt_follow_pipe *p;
    dmt_audit_config cfg = {0};
    CHECK(dmt_follow_pipe_start(fl, &cfg, threaded, &p, &err) == 0);
    piece_arg pa = {fd, img, hdr, len};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, writer_main, &pa) == 0);

    /* the reference records, read alongside */
    dmt_reader *rd;
    CHECK(dmt_reader_open(ref, DMT_READ_ALLOW_CUT, &rd, &err) == 0);
    /* the reader's boundaries: the pipe's must be the same */
    uint64_t n = 0, n_found = 0, last_bound = 0;
    int status = 1;
    while (status > 0) {
        const dmt_follow_batch *b = dmt_follow_pipe_take(p, 1000);
        if (!b)
            continue;
        unsigned nb = 0;
        for (unsigned i = 0; i < b->n; i++) {
            dmt_record r;
            CHECK(dmt_reader_next(rd, &r, &err) == 1);
            dmt_reader_resume rp;
            dmt_reader_boundary(rd, &rp);
            if (rp.offset != last_bound) {
                CHECKF(nb < b->nbound && b->bound_at[nb] == i, "record %llu: no boundary",
                       (unsigned long long)n);
                CHECK(b->bound[nb].offset == rp.offset && b->bound[nb].seq == rp.seq);
                last_bound = rp.offset;
                nb++;
            }
            CHECKF(tk_records_equal(&b->rec[i], &r), "record %llu differs", (unsigned long long)n);
            CHECK(b->rec[i].ts >= b->ts_min && b->rec[i].ts <= b->ts_max);
            n++;
        }
        CHECK(nb == b->nbound);
        for (size_t i = 0; i < b->n_found; i++, n_found++) {
            CHECK(n_found < want->n);
            CHECK(b->found[i].rule == want->f[n_found].rule);
            CHECK(b->found[i].index == want->f[n_found].index);
            /* with the batch of its record (the end's: the last batch) */
            CHECK(b->found[i].index < n || b->status == 0);
        }
        status = b->status;
        if (status <= 0) {
            CHECK(b->stalled == cut_end);
            if (err_out)
                *err_out = b->err;
        }
        dmt_follow_pipe_release(p, b);
    }
    CHECK(dmt_follow_pipe_take(p, 0) == NULL); /* nothing after the last */
    if (status == 0)
        CHECK(n_found == want->n);
    pthread_join(th, NULL);
    dmt_follow_pipe_stop(p);
    dmt_reader_close(rd);
    close(fd);
    free(img);
    *n_out = n;
    return status;
}

static void test_grow(void)
{
    char ref[300], path[300];
    snprintf(ref, sizeof ref, "%s/ref.dmat", tmpdir);
    snprintf(path, sizeof path, "%s/grow.dmat", tmpdir);
    write_trace(ref);
    found_t want = {.n = 0};
    dmt_audit_config cfg = {.sink = sink, .user = &want};
    dmt_error err;
    CHECK(dmt_audit_file(ref, &cfg, NULL, &err) == 0);
    CHECK(want.n >= 6); /* the unlocks, and MDL 1 held at the end */
    uint64_t n;
    CHECK(follow_all(ref, path, 0, false, &want, &n, NULL) == 0);
    CHECK(n == NREC + tk_nrec);

    /* the batches into a store: the records appended */
    dmt_follow *fl;
    CHECK(dmt_follow_open(path, DMT_READ_ALLOW_CUT, 0, &fl, &err) == 0);
    char db[300];
    snprintf(db, sizeof db, "%s/grow.db", tmpdir);
    dmt_store_appender *ap;
    dmt_store_import_opts o = {.events_in_trace = true};
    CHECK(dmt_store_append_open(db, path, dmt_reader_header(dmt_follow_reader(fl)), &o, &ap,
                                &err) == 0);
    dmt_follow_pipe *p;
    CHECK(dmt_follow_pipe_start(fl, NULL, threaded, &p, &err) == 0);
    const dmt_follow_batch *b;
    int status = 1;
    while (status > 0) {
        if (!(b = dmt_follow_pipe_take(p, 1000)))
            continue;
        CHECK(b->n_found == 0); /* no audit */
        CHECK(dmt_store_append_batch(ap, b, &err) == 0);
        status = b->status;
        dmt_follow_pipe_release(p, b);
        CHECK(dmt_store_append_commit(ap, NULL, &err) == 0);
    }
    CHECK(status == 0);
    CHECK(dmt_store_append_records(ap) == n);
    dmt_follow_pipe_stop(p);
    dmt_store_append_close(ap);
}

/* A chunk's CRC broken in the middle of the file. */
static void test_bad_chunk(void)
{
    char ref[300], bad[300], path[300];
    snprintf(ref, sizeof ref, "%s/ref.dmat", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.dmat", tmpdir);
    snprintf(path, sizeof path, "%s/grow-bad.dmat", tmpdir);
    size_t len;
    uint8_t *img = slurp(ref, &len);
    img[len / 2] ^= 0x55;
    FILE *f = fopen(bad, "wb");
    CHECK(fwrite(img, 1, len, f) == len);
    fclose(f);
    free(img);
    /* what a finished file gets */
    dmt_reader *rd;
    dmt_error ferr, err;
    dmt_record r;
    uint64_t before = 0;
    CHECK(dmt_reader_open(bad, DMT_READ_ALLOW_CUT, &rd, &ferr) == 0);
    int frc;
    while ((frc = dmt_reader_next(rd, &r, &ferr)) == 1)
        before++;
    dmt_reader_close(rd);
    CHECK(frc < 0);
    found_t want = {.n = 0};
    dmt_audit_config cfg = {.sink = sink, .user = &want};
    dmt_audit_file(bad, &cfg, NULL, &err); /* fails at the bad chunk: its findings before */
    uint64_t n;
    CHECK(follow_all(bad, path, 0, false, &want, &n, &err) == frc);
    CHECK(err.offset == ferr.offset);
    CHECK(n <= before); /* whole verified chunks only */
}

/* No END: the trace stops growing; it is read to its end, stalled, with
 * the end-of-trace findings of a cut trace. */
static void test_stalled(void)
{
    char ref[300], path[300];
    char full[300];
    snprintf(full, sizeof full, "%s/ref.dmat", tmpdir);
    snprintf(ref, sizeof ref, "%s/cut.dmat", tmpdir);
    snprintf(path, sizeof path, "%s/grow-cut.dmat", tmpdir);
    cut_end(full, ref);
    found_t want = {.n = 0};
    dmt_audit_config cfg = {.sink = sink, .user = &want};
    dmt_error err;
    CHECK(dmt_audit_file(ref, &cfg, NULL, &err) == 0);
    uint64_t n;
    CHECK(follow_all(ref, path, 200, true, &want, &n, NULL) == 0);
    CHECK(n == NREC + tk_nrec); /* the END record followed the last chunk */
}

/* Truncated below what was read: DMT_E_IO. */
static void test_truncated(void)
{
    char ref[300], path[300];
    snprintf(ref, sizeof ref, "%s/ref.dmat", tmpdir);
    snprintf(path, sizeof path, "%s/trunc.dmat", tmpdir);
    size_t len;
    uint8_t *img = slurp(ref, &len);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(write(fd, img, len / 2) == (ssize_t)(len / 2));
    dmt_follow *fl;
    dmt_error err;
    CHECK(dmt_follow_open(path, DMT_READ_ALLOW_CUT, 0, &fl, &err) == 0);
    dmt_follow_pipe *p;
    CHECK(dmt_follow_pipe_start(fl, NULL, threaded, &p, &err) == 0);
    const dmt_follow_batch *b;
    while (!(b = dmt_follow_pipe_take(p, 1000)))
        ;
    CHECK(b->status == 1 && b->n > 0);
    dmt_follow_pipe_release(p, b);
    CHECK(ftruncate(fd, 100) == 0);
    int status = 1;
    while (status > 0) {
        if (!(b = dmt_follow_pipe_take(p, 1000)))
            continue;
        status = b->status;
        if (status < 0)
            CHECK(strstr(b->err.msg, "truncated") != NULL);
        dmt_follow_pipe_release(p, b);
    }
    CHECK(status == DMT_E_IO);
    dmt_follow_pipe_stop(p);
    close(fd);
    free(img);
}

/* Stop while the reader thread waits: for a free batch (none taken), and
 * for new bytes (a trace with nothing after its header). */
static void test_stop(void)
{
    char ref[300], path[300];
    snprintf(ref, sizeof ref, "%s/ref.dmat", tmpdir);
    snprintf(path, sizeof path, "%s/empty.dmat", tmpdir);
    dmt_follow *fl;
    dmt_error err;
    CHECK(dmt_follow_open(ref, DMT_READ_ALLOW_CUT, 0, &fl, &err) == 0);
    dmt_follow_pipe *p;
    CHECK(dmt_follow_pipe_start(fl, NULL, threaded, &p, &err) == 0);
    const dmt_follow_batch *b;
    while (!(b = dmt_follow_pipe_take(p, 1000)))
        ;
    CHECK(b->n > 0); /* not released: the reader fills the rest and waits */
    dmt_follow_pipe_stop(p);

    size_t len;
    uint8_t *img = slurp(ref, &len);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    size_t hdr = header_len(ref);
    CHECK(write(fd, img, hdr) == (ssize_t)hdr);
    CHECK(dmt_follow_open(path, DMT_READ_ALLOW_CUT, 0, &fl, &err) == 0);
    CHECK(dmt_follow_pipe_start(fl, NULL, threaded, &p, &err) == 0);
    CHECK(dmt_follow_pipe_take(p, 30) == NULL); /* nothing yet */
    dmt_follow_pipe_stop(p);
    close(fd);
    free(img);
}

int main(void)
{
    if (!tk_mkdtemp(tmpdir, sizeof tmpdir, "test_follow_pipe"))
        return 1;
    for (int t = 0; t < 2; t++) {
        threaded = t == 1;
        test_grow();
        test_bad_chunk();
        test_stalled();
        test_truncated();
        test_stop();
    }
    tk_sh("rm -rf '%s'", tmpdir);
    return tk_result("test_follow_pipe");
}

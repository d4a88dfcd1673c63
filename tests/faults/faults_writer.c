/*
 * faults_writer.c - the trace writer under a failing disk.
 *
 * A reference session (a few thousand records of several kinds in 4 KiB
 * chunks) is written again and again while the disk fails after N bytes,
 * for every N up to 2 KiB and then at a stride, plus every chunk boundary
 * +-1:
 *  - ENOSPC through dmt_writer_inject_failure (write() accepts exactly the
 *    bytes up to N - a short write - then fails): the append that hits it
 *    returns DMT_E_IO with errno ENOSPC and a message saying so; the
 *    failure is sticky (later appends, flush and close fail too); the file
 *    holds exactly the bytes reported flushed; reading it in allow-cut mode
 *    gives a prefix of the reference records, at least every record the
 *    writer reported flushed, and says it was cut;
 *  - a real short write and EFBIG from the kernel (RLIMIT_FSIZE in a child
 *    process, SIGXFSZ ignored): the same guarantees;
 *  - DMT_WRITE_ATOMIC (recover, export): a failed write leaves neither the
 *    output nor a temporary file.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmt/testkit.h"
#include "dmt/reader.h"
#include "dmt/writer.h"

#define NREC 3000

static dmt_record ref[NREC];
static dmt_sg_elem sg[6] = {{0x12345678, 0x988},   {0x7f000000, 0x4000}, {0x100002000, 0x280},
                            {0x200000000, 0x1000}, {0x1000, 0x10},       {0xfffff000, 0x2000}};
static uint8_t payload[200];
static char dir[256];

static void make_ref(void)
{
    uint64_t seq = 0;
    for (int i = 0; i < NREC; i++) {
        dmt_record *r = &ref[i];
        memset(r, 0, sizeof *r);
        r->ts = 1000000 + 85ll * i;
        r->width = 4;
        switch (i % 7) {
        case 0:
        case 1:
            r->kind = DMT_K_REG_WRITE;
            r->off = 0x100u + 4u * (unsigned)(i % 16);
            r->value = (uint64_t)i * 0x1001u;
            break;
        case 2:
            r->kind = DMT_K_EXECUTE_DMA;
            r->xfer = (uint32_t)i;
            r->adapter = 1;
            r->length = 0x7c08;
            r->n_sg = 1 + (uint32_t)(i % 6);
            r->sg_list = sg;
            r->sg_stride = sizeof sg[0];
            break;
        case 3:
            r->kind = DMT_K_PAYLOAD;
            r->mdl = 3;
            r->offset = (uint64_t)i;
            r->n_bytes = (uint32_t)(i % 200);
            r->bytes = payload;
            break;
        case 4:
            r->kind = DMT_K_MARKER;
            r->n_bytes = 11;
            r->bytes = (const uint8_t *)"fault tests";
            break;
        case 5:
            r->kind = DMT_K_LOST;
            r->value = seq;
            r->count = 1 + (uint64_t)(i % 3);
            r->reason = 0;
            break;
        default:
            r->kind = DMT_K_INTERRUPT;
            r->claimed = true;
            r->value = 3;
            break;
        }
        r->seq = seq;
        seq += r->kind == DMT_K_LOST ? r->count : 1;
    }
    for (unsigned i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7 + 1);
}

static bool same(const dmt_record *a, const dmt_record *b)
{
    if (a->kind != b->kind || a->ts != b->ts || a->seq != b->seq || a->off != b->off ||
        a->value != b->value || a->count != b->count || a->n_sg != b->n_sg ||
        a->n_bytes != b->n_bytes || a->offset != b->offset || a->xfer != b->xfer)
        return false;
    if (a->n_bytes && memcmp(a->bytes, b->bytes, a->n_bytes))
        return false;
    for (uint32_t i = 0; i < a->n_sg; i++) {
        const dmt_sg_elem *x = (const dmt_sg_elem *)a->sg_list + i;
        const dmt_sg_elem *y = (const dmt_sg_elem *)b->sg_list + i;
        if (x->addr != y->addr || x->len != y->len)
            return false;
    }
    return true;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
}

/* Entries of the test folder other than keep (NULL: all). */
static int count_files(const char *keep)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (!keep || strcmp(e->d_name, keep)))
            n++;
    if (d)
        closedir(d);
    return n;
}

static dmt_header hdr;
static uint64_t hdr_len; /* encoded header bytes */

/* Write the reference session into path; returns the index of the record
 * whose append failed (NREC: none), with *flushed the records the writer
 * reported on disk and *bytes the bytes it reported written. */
static int write_session(const char *path, unsigned flags, uint64_t fail_after, int *rc_out,
                         dmt_error *err_out, uint64_t *flushed, uint64_t *bytes)
{
    dmt_writer *w;
    dmt_error err;
    int rc = dmt_writer_open(path, &hdr, flags, &w, &err);
    CHECKF(rc == 0, "open: %s", err.msg);
    if (rc)
        exit(1);
    dmt_writer_set_chunk_size(w, 4096);
    if (fail_after != UINT64_MAX)
        dmt_writer_inject_failure(w, fail_after, ENOSPC);
    int i;
    rc = 0;
    for (i = 0; i < NREC; i++)
        if ((rc = dmt_writer_append(w, &ref[i], &err)) != 0)
            break;
    if (rc == 0)
        rc = dmt_writer_flush(w, &err);
    *flushed = dmt_writer_get_stats(w)->records_flushed;
    *bytes = dmt_writer_get_stats(w)->bytes_flushed;
    if (rc) {
        *rc_out = rc;
        *err_out = err;
        /* sticky */
        dmt_error e2;
        CHECKF(dmt_writer_append(w, &ref[0], &e2) == rc, "append after a failure");
        CHECKF(dmt_writer_flush(w, &e2) == rc, "flush after a failure");
        CHECKF(dmt_writer_close(w, &e2) == rc, "close after a failure");
        return i;
    }
    rc = dmt_writer_close(w, &err);
    *rc_out = rc;
    *err_out = err;
    if (rc == 0)
        *bytes = file_size(path);
    return rc ? i : NREC;
}

/* What is on disk: a prefix of the reference, at least `flushed` records,
 * cut unless complete. */
static void check_file(const char *path, uint64_t flushed, bool complete, const char *what)
{
    dmt_reader *rd;
    dmt_error err;
    int rc = dmt_reader_open(path, DMT_READ_ALLOW_CUT, &rd, &err);
    CHECKF(rc == 0, "%s: the file does not open: %s", what, err.msg);
    if (rc)
        return;
    uint64_t n = 0;
    dmt_record r;
    while ((rc = dmt_reader_next(rd, &r, &err)) == 1) {
        CHECKF(n < NREC && same(&r, &ref[n]), "%s: record %llu differs from what was written", what,
               (unsigned long long)n);
        n++;
    }
    CHECKF(rc == 0, "%s: reading: %s (byte %llu)", what, err.msg, (unsigned long long)err.offset);
    CHECKF(n >= flushed, "%s: the writer reported %llu records flushed, the file has %llu", what,
           (unsigned long long)flushed, (unsigned long long)n);
    uint64_t at;
    bool cut = dmt_reader_cut(rd, &at, NULL);
    CHECKF(cut == !complete, "%s: cut %d", what, cut);
    if (complete)
        CHECKF(n == NREC, "%s: %llu records in a complete file", what, (unsigned long long)n);
    dmt_reader_close(rd);
}

static void check_failure(int rc, const dmt_error *err, int e, const char *what)
{
    CHECKF(rc == DMT_E_IO, "%s: rc %d (%s)", what, rc, err->msg);
    CHECKF(err->sys_errno == e, "%s: errno %d, want %d", what, err->sys_errno, e);
    CHECKF(strstr(err->msg, strerror(e)) != NULL, "%s: message '%s' does not say '%s'", what,
           err->msg, strerror(e));
}

/* ENOSPC after n bytes, streaming (the recorder) and atomic (whole files). */
static void enospc_at(uint64_t n, uint64_t ref_size)
{
    char path[320], what[64];
    int rc;
    dmt_error err;
    uint64_t flushed, bytes;
    snprintf(path, sizeof path, "%s/t.dmat", dir);
    snprintf(what, sizeof what, "ENOSPC after %llu bytes", (unsigned long long)n);

    int i = write_session(path, DMT_WRITE_HEADER_NOW, n, &rc, &err, &flushed, &bytes);
    if (i == NREC && rc == 0) {
        /* The header went out at open, before the injection was armed. */
        CHECKF(n + hdr_len >= ref_size, "%s: no failure although the file needs %llu bytes", what,
               (unsigned long long)ref_size);
        check_file(path, NREC, true, what);
    } else {
        check_failure(rc, &err, ENOSPC, what);
        /* The header is written at open, before the injection. */
        CHECKF(file_size(path) == bytes, "%s: file has %llu bytes, writer reported %llu", what,
               (unsigned long long)file_size(path), (unsigned long long)bytes);
        check_file(path, flushed, false, what);
    }
    unlink(path);

    i = write_session(path, DMT_WRITE_ATOMIC, n, &rc, &err, &flushed, &bytes);
    if (rc == 0) {
        CHECKF(n >= ref_size, "%s (atomic): no failure", what);
        check_file(path, NREC, true, what);
        unlink(path);
    } else {
        check_failure(rc, &err, ENOSPC, what);
        CHECKF(count_files(NULL) == 0, "%s (atomic): the failed write left a file", what);
    }
}

/* A real short write then EFBIG, from RLIMIT_FSIZE in a child. */
static void efbig_at(uint64_t n)
{
    char path[320], what[64];
    snprintf(path, sizeof path, "%s/f.dmat", dir);
    snprintf(what, sizeof what, "EFBIG at %llu bytes", (unsigned long long)n);
    int pfd[2];
    if (pipe(pfd) != 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        tk_failures = 0;
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {(rlim_t)n, (rlim_t)n};
        setrlimit(RLIMIT_FSIZE, &rl);
        int rc;
        dmt_error err;
        uint64_t res[4];
        write_session(path, 0, UINT64_MAX, &rc, &err, &res[0], &res[1]);
        res[2] = (uint64_t)(int64_t)rc;
        res[3] = (uint64_t)err.sys_errno;
        if (write(pfd[1], res, sizeof res) != sizeof res)
            _exit(2);
        _exit(tk_failures ? 1 : 0);
    }
    close(pfd[1]);
    uint64_t res[4] = {0};
    ssize_t got = read(pfd[0], res, sizeof res);
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECKF(got == sizeof res && WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "%s: the child failed (status %d)", what, status);
    int rc = (int)(int64_t)res[2];
    dmt_error err;
    memset(&err, 0, sizeof err);
    err.sys_errno = (int)res[3];
    CHECKF(rc == DMT_E_IO && err.sys_errno == EFBIG, "%s: rc %d errno %d", what, rc, err.sys_errno);
    CHECKF(file_size(path) == res[1] && res[1] <= n, "%s: file %llu bytes, reported %llu", what,
           (unsigned long long)file_size(path), (unsigned long long)res[1]);
    if (res[1] >= 200) /* the header made it */
        check_file(path, res[0], false, what);
    unlink(path);
}

int main(void)
{
    tk_max_failures = 20;
    if (!tk_mkdtemp(dir, sizeof dir, "dmt-faults-writer"))
        return 1;
    make_ref();
    memset(&hdr, 0, sizeof hdr);
    snprintf(hdr.producer, sizeof hdr.producer, "faults_writer");
    snprintf(hdr.host, sizeof hdr.host, "test");
    {
        uint8_t hb[1024];
        hdr_len = dmt_header_encode(hb, sizeof hb, &hdr);
    }

    /* The reference, and where its chunks end. */
    char path[320];
    int rc;
    dmt_error err;
    uint64_t flushed, size;
    snprintf(path, sizeof path, "%s/ref.dmat", dir);
    write_session(path, DMT_WRITE_HEADER_NOW, UINT64_MAX, &rc, &err, &flushed, &size);
    CHECKF(rc == 0, "reference: %s", err.msg);
    check_file(path, NREC, true, "reference");
    uint64_t bounds[256];
    int nb = 0;
    {
        dmt_reader *rd;
        dmt_record r;
        if (dmt_reader_open(path, DMT_READ_FRAMING, &rd, &err) == 0) {
            while (dmt_reader_next(rd, &r, &err) == 1 && nb < 256)
                if (r.kind == DMT_K_CHUNK)
                    bounds[nb++] = dmt_reader_offset(rd);
            dmt_reader_close(rd);
        }
    }
    CHECKF(nb >= 4, "only %d chunks in the reference", nb);
    unlink(path);

    unsigned runs = 0;
    for (uint64_t n = 0; n <= 2048; n++, runs++)
        enospc_at(n, size);
    for (uint64_t n = 2049; n < size + 64; n += 397, runs++)
        enospc_at(n, size);
    for (int b = 0; b < nb; b++)
        for (int d = -1; d <= 1; d++, runs++)
            enospc_at(bounds[b] + (uint64_t)d, size);
    enospc_at(size, size);
    enospc_at(size - 1, size);

    static const uint64_t efbig[] = {0, 1, 150, 300, 4095, 4096, 4097, 10000, 33333};
    for (unsigned k = 0; k < sizeof efbig / sizeof efbig[0]; k++, runs++)
        efbig_at(efbig[k]);

    rmdir(dir);
    fprintf(stderr, "faults_writer: %u fault points over a %llu-byte trace in %d chunks: %s\n",
            runs, (unsigned long long)size, nb, tk_failures ? "FAILED" : "all checks passed");
    return tk_failures ? 1 : 0;
}

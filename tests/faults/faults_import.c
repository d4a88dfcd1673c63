/*
 * faults_import.c - SQLite tk_failures during import: all or nothing.
 *
 * A synthetic session (tens of thousands of records: transfers with SG
 * lists, register traffic, payloads) is imported while the database cannot
 * be written:
 *  - a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored, in a child process)
 *    at a range of sizes from 0 to just under the finished database: the
 *    kernel refuses writes mid-import exactly like a full disk;
 *  - an output folder that does not exist, and an output path that is a
 *    folder;
 *  - cancellation from the progress callback at each phase;
 *  - the store's fail_after hook at several record counts.
 * Every failure must return DMT_E_IO with a non-empty message and
 * output_error set (the database, not the trace, is at fault), leave no
 * database and no temporary file, and leave an existing database at the
 * destination untouched.  A run that fits must produce the same database
 * as the unconstrained import (dmt_store_info equal).
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
#include "dmt/stats.h"
#include "dmt/store.h"
#include "dmt/writer.h"

static char dir[200], trace[256], outdir[256], db[300];

static void make_trace(void)
{
    static dmt_sg_elem sg[16];
    static uint8_t bytes[64];
    for (int i = 0; i < 16; i++) {
        sg[i].addr = 0x10000000ull + 0x3000ull * (uint64_t)i;
        sg[i].len = 0x1000;
    }
    dmt_header h;
    memset(&h, 0, sizeof h);
    snprintf(h.producer, sizeof h.producer, "faults_import");
    dmt_writer *w;
    dmt_error err;
    if (dmt_writer_open(trace, &h, 0, &w, &err)) {
        fprintf(stderr, "writer: %s\n", err.msg);
        exit(1);
    }
    int64_t t = 1000000;
    dmt_record r;
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_ADAPTER_CREATE;
    r.adapter = 1;
    r.sg = r.dma64 = true;
    r.length = 1 << 20;
    r.map_registers = 256;
    r.addr_limit = UINT64_MAX;
    r.ts = t;
    dmt_writer_append(w, &r, &err);
    for (uint32_t x = 1; x <= 3000; x++) {
        dmt_record q;
        memset(&q, 0, sizeof q);
        q.ts = (t += 100);
        q.kind = DMT_K_BUFFER_LOCK;
        q.mdl = x;
        q.va = 0x7f0000000000ull + x * 0x10000ull;
        q.length = 0x10000;
        q.op = 1;
        dmt_writer_append(w, &q, &err);
        q.kind = DMT_K_START_DMA;
        q.ts = (t += 100);
        q.xfer = x;
        q.adapter = 1;
        q.length = 0x10000;
        q.write_to_device = true;
        dmt_writer_append(w, &q, &err);
        q.kind = DMT_K_EXECUTE_DMA;
        q.ts = (t += 100);
        q.n_sg = 16;
        q.sg_list = sg;
        q.sg_stride = sizeof sg[0];
        dmt_writer_append(w, &q, &err);
        q.n_sg = 0;
        for (uint32_t k = 0; k < 4; k++) {
            dmt_record g;
            memset(&g, 0, sizeof g);
            g.kind = DMT_K_REG_WRITE;
            g.ts = (t += 10);
            g.off = 0x100 + 4 * k;
            g.value = x * 16 + k;
            g.width = 4;
            dmt_writer_append(w, &g, &err);
        }
        q.kind = DMT_K_PAYLOAD;
        q.ts = (t += 10);
        q.n_bytes = sizeof bytes;
        q.bytes = bytes;
        dmt_writer_append(w, &q, &err);
        q.n_bytes = 0;
        q.kind = DMT_K_INTERRUPT;
        q.ts = (t += 1000);
        q.claimed = true;
        q.value = 1;
        dmt_writer_append(w, &q, &err);
        q.kind = DMT_K_COMPLETE_DMA;
        q.ts = (t += 100);
        dmt_writer_append(w, &q, &err);
        q.kind = DMT_K_BUFFER_UNLOCK;
        q.ts = (t += 100);
        dmt_writer_append(w, &q, &err);
    }
    if (dmt_writer_close(w, &err)) {
        fprintf(stderr, "writer: %s\n", err.msg);
        exit(1);
    }
}

static int count_files(const char *d)
{
    DIR *dd = opendir(d);
    struct dirent *e;
    int n = 0;
    while (dd && (e = readdir(dd)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    if (dd)
        closedir(dd);
    return n;
}

static void check_failed(int rc, const dmt_store_import_result *res, const dmt_error *err,
                         const char *what)
{
    CHECKF(rc == DMT_E_IO, "%s: rc %d (%s)", what, rc, err->msg);
    CHECKF(err->msg[0] != 0, "%s: no message", what);
    CHECKF(res->output_error, "%s: output_error not set (%s)", what, err->msg);
}

/* Import under RLIMIT_FSIZE = limit in a child; returns 0 when it fitted,
 * 1 when it failed properly; failures are counted. */
static int import_limited(uint64_t limit)
{
    char what[64];
    snprintf(what, sizeof what, "file size limit %llu", (unsigned long long)limit);
    int pfd[2];
    if (pipe(pfd))
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
        setrlimit(RLIMIT_FSIZE, &rl);
        dmt_store_import_result res;
        dmt_error err;
        memset(&res, 0, sizeof res);
        memset(&err, 0, sizeof err);
        int rc = dmt_store_import(trace, db, NULL, &res, &err);
        if (rc)
            check_failed(rc, &res, &err, what);
        char msg[300];
        snprintf(msg, sizeof msg, "%d %s", rc, err.msg);
        if (write(pfd[1], msg, strlen(msg) + 1) < 0)
            _exit(2);
        _exit(tk_failures ? 1 : 0);
    }
    close(pfd[1]);
    char msg[300] = "";
    ssize_t n = read(pfd[0], msg, sizeof msg - 1);
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECKF(n > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child status %d (%s)", what,
           status, msg);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
        tk_failures++;
    int rc = atoi(msg);
    if (rc == 0) {
        CHECKF(access(db, F_OK) == 0, "%s: success without a database", what);
        return 0;
    }
    CHECKF(count_files(outdir) == 0, "%s: the failed import left %d file(s) in %s", what,
           count_files(outdir), outdir);
    return 1;
}

typedef struct cancel_at {
    int phase;
    uint64_t calls;
} cancel_at;

static int on_progress(void *ctx, const dmt_store_progress *p)
{
    cancel_at *c = ctx;
    c->calls++;
    return p->phase >= c->phase;
}

int main(void)
{
    tk_max_failures = 20;
    if (!tk_mkdtemp(dir, sizeof dir, "dmt-faults-import"))
        return 1;
    snprintf(trace, sizeof trace, "%s/t.dmat", dir);
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    snprintf(db, sizeof db, "%s/t.db", outdir);
    mkdir(outdir, 0755);
    make_trace();

    /* The unconstrained import. */
    dmt_store_import_result res;
    dmt_error err;
    int rc = dmt_store_import(trace, db, NULL, &res, &err);
    CHECKF(rc == 0, "reference import: %s", err.msg);
    struct stat st;
    stat(db, &st);
    uint64_t dbsize = (uint64_t)st.st_size;
    dmt_stats ref, got;
    CHECKF(dmt_store_info(db, NULL, &ref, &err) == 0, "info: %s", err.msg);
    unlink(db);
    fprintf(stderr, "reference: %llu records, database %llu bytes\n",
            (unsigned long long)res.records, (unsigned long long)dbsize);

    /* A full file system at many points of the import. */
    unsigned fails = 0, fits = 0;
    uint64_t limits[40];
    int nl = 0;
    limits[nl++] = 0;
    limits[nl++] = 1;
    limits[nl++] = 4096;
    limits[nl++] = 65536;
    limits[nl++] = 65537;
    for (int k = 1; k <= 24; k++)
        limits[nl++] = dbsize * (uint64_t)k / 25;
    limits[nl++] = dbsize - 1;
    limits[nl++] = dbsize + (1u << 20);
    for (int i = 0; i < nl; i++) {
        if (import_limited(limits[i]))
            fails++;
        else
            fits++;
        unlink(db);
    }
    CHECKF(fails >= 25, "only %u of the limited imports failed", fails);
    CHECKF(fits >= 1, "even the generous limit failed");

    /* An existing database survives a failed import untouched. */
    rc = dmt_store_import(trace, db, NULL, &res, &err);
    CHECKF(rc == 0, "import: %s", err.msg);
    struct stat before, after;
    stat(db, &before);
    {
        cancel_at c = {DMT_STORE_PHASE_DERIVE, 0};
        dmt_store_import_opts o;
        memset(&o, 0, sizeof o);
        o.progress = on_progress;
        o.ctx = &c;
        rc = dmt_store_import(trace, db, &o, &res, &err);
        CHECKF(rc == DMT_E_IO && strstr(err.msg, "interrupt"), "cancel over an existing db: %d %s",
               rc, err.msg);
        stat(db, &after);
        CHECKF(before.st_ino == after.st_ino && before.st_size == after.st_size &&
                   before.st_mtime == after.st_mtime,
               "a failed import touched the existing database");
        CHECKF(count_files(outdir) == 1, "%d files after a failed import over a database",
               count_files(outdir));
        CHECKF(dmt_store_info(db, NULL, &got, &err) == 0 && got.records == ref.records,
               "the existing database no longer reads: %s", err.msg);
    }
    unlink(db);

    /* Cancellation in each phase, and the fail_after hook. */
    for (int ph = DMT_STORE_PHASE_LOAD; ph <= DMT_STORE_PHASE_COMMIT; ph++) {
        cancel_at c = {ph, 0};
        dmt_store_import_opts o;
        memset(&o, 0, sizeof o);
        o.progress = on_progress;
        o.ctx = &c;
        memset(&res, 0, sizeof res);
        rc = dmt_store_import(trace, db, &o, &res, &err);
        if (rc == 0) {
            /* The commit phase may be reported only when already done. */
            CHECKF(ph == DMT_STORE_PHASE_COMMIT, "cancel in phase %d: not cancelled", ph);
            unlink(db);
            continue;
        }
        check_failed(rc, &res, &err, "cancel");
        CHECKF(count_files(outdir) == 0, "cancel in phase %d left a file", ph);
    }
    static const uint64_t after_n[] = {1, 2, 1000, 20000};
    for (unsigned k = 0; k < sizeof after_n / sizeof after_n[0]; k++) {
        dmt_store_import_opts o;
        memset(&o, 0, sizeof o);
        o.fail_after = after_n[k];
        memset(&res, 0, sizeof res);
        rc = dmt_store_import(trace, db, &o, &res, &err);
        CHECKF(rc == DMT_E_IO, "fail_after %llu: rc %d", (unsigned long long)after_n[k], rc);
        CHECKF(count_files(outdir) == 0, "fail_after %llu left a file",
               (unsigned long long)after_n[k]);
    }

    /* Paths that cannot be created. */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/missing/t.db", dir);
    memset(&res, 0, sizeof res);
    rc = dmt_store_import(trace, bad, NULL, &res, &err);
    check_failed(rc, &res, &err, "missing folder");
    CHECKF(strstr(err.msg, "t.db") || strstr(err.msg, "missing") || strstr(err.msg, "No such"),
           "missing folder: message '%s' names neither the path nor the cause", err.msg);
    memset(&res, 0, sizeof res);
    rc = dmt_store_import(trace, outdir, NULL, &res, &err);
    check_failed(rc, &res, &err, "a folder as the database");
    CHECKF(count_files(dir) == 2, "files appeared next to the output folder");

    unlink(trace);
    rmdir(outdir);
    rmdir(dir);
    fprintf(stderr, "faults_import: %u limited imports failed cleanly, %u fitted: %s\n", fails,
            fits, tk_failures ? "FAILED" : "all checks passed");
    return tk_failures ? 1 : 0;
}

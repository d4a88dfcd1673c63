/*
 * bench_follow.c - probe-to-viewer latency of the follow mode: a producer
 * thread writes records stamped with CLOCK_MONOTONIC at a fixed rate into
 * a trace with the recorder's policy (whole chunks flushed at least every
 * 100 ms), while the viewer's follower (viewer/src/dmtv-follow.c: verified
 * chunks -> cache store in one transaction per batch, the audit, a model
 * opened per update, less often as the store grows) follows it.  For every update the latency of
 * its oldest new record (its commit time minus the record's time: the worst of the batch) is taken;
 * median and p99 over updates at 1 M and 5 M records/s. Baseline: the recorder's flush interval
 * (what a follower cannot beat). Also the follower's CPU per million records (process CPU minus the
 * producer thread's).
 *
 *   bench_follow [DIR]     (default /tmp)
 */
#include <glib/gstdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmt/store.h"
#include "dmt/writer.h"
#include "dmtv-follow.h"

#define FLUSH_NS 100000000ll

typedef struct {
    const char *path;
    double rate, seconds;
    uint64_t produced;
    int64_t cpu_ns;
    atomic_bool started, finished;
} producer_arg;

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int64_t cpu_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* A session-like mix: an adapter, then per transfer 15 register writes,
 * BUFFER_LOCK, StartDma, ExecuteDma (4 elements), CompleteDma and
 * BUFFER_UNLOCK (no audit findings). */
static void make_record(dmt_record *r, dmt_sg_elem *sg, uint64_t i, int64_t ts)
{
    memset(r, 0, sizeof *r);
    r->ts = ts;
    r->dev = 1;
    r->adapter = 1;
    uint32_t k = (uint32_t)(i % 20), x = (uint32_t)(i / 20) + 1;
    if (i == 0) {
        r->kind = DMT_K_ADAPTER_CREATE;
        r->sg = true;
        r->dma64 = true;
        r->length = 1u << 20;
        r->map_registers = 256;
        r->addr_limit = UINT64_MAX;
    } else if (k == 15) {
        r->kind = DMT_K_BUFFER_LOCK;
        r->mdl = x;
        r->va = 0x7f0000000000ull + (uint64_t)x * 0x10000;
        r->length = 16384;
        r->op = 0;
    } else if (k == 19) {
        r->kind = DMT_K_BUFFER_UNLOCK;
        r->mdl = x;
    } else if (k < 15) {
        r->kind = DMT_K_REG_WRITE;
        r->off = 0x100 + 4u * (k % 8);
        r->value = i;
        r->width = 4;
    } else if (k == 16) {
        r->kind = DMT_K_START_DMA;
        r->xfer = x;
        r->mdl = x;
        r->length = 16384;
        r->write_to_device = true;
    } else if (k == 17) {
        for (int e = 0; e < 4; e++) {
            sg[e].addr = 0x10000000ull + (uint64_t)x * 0x10000 + (uint64_t)e * 0x1000;
            sg[e].len = 4096;
        }
        r->kind = DMT_K_EXECUTE_DMA;
        r->xfer = x;
        r->length = 16384;
        r->n_sg = 4;
        r->sg_list = sg;
    } else if (k == 18) {
        r->kind = DMT_K_COMPLETE_DMA;
        r->xfer = x;
        r->write_to_device = true;
    }
}

static void *producer(void *arg)
{
    producer_arg *p = arg;
    dmt_header h;
    memset(&h, 0, sizeof h);
    snprintf(h.producer, sizeof h.producer, "bench_follow");
    snprintf(h.clock, sizeof h.clock, "CLOCK_MONOTONIC");
    h.page_shift = 12;
    dmt_writer *w;
    dmt_error err;
    if (dmt_writer_open(p->path, &h, DMT_WRITE_HEADER_NOW, &w, &err) != 0) {
        fprintf(stderr, "bench_follow: %s: %s\n", p->path, err.msg);
        atomic_store(&p->finished, true);
        return NULL;
    }
    atomic_store(&p->started, true);
    int64_t t0 = now_ns(), last_flush = t0, c0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t total = (uint64_t)(p->rate * p->seconds), i = 0;
    dmt_record r;
    dmt_sg_elem sg[4];
    while (i < total) {
        for (int k = 0; k < 1000 && i < total; k++, i++) {
            make_record(&r, sg, i, now_ns());
            dmt_writer_append(w, &r, &err);
        }
        int64_t now = now_ns();
        if (now - last_flush >= FLUSH_NS) {
            dmt_writer_flush(w, &err);
            last_flush = now;
        }
        int64_t due = t0 + (int64_t)((double)i / p->rate * 1e9);
        while (now_ns() < due)
            if (now_ns() - last_flush >= FLUSH_NS) {
                dmt_writer_flush(w, &err);
                last_flush = now_ns();
            }
    }
    dmt_writer_close(w, &err);
    p->produced = i;
    p->cpu_ns = cpu_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
    atomic_store(&p->finished, true);
    return NULL;
}

typedef struct {
    GArray *lat; /* gint64 ns, worst record of each update */
    guint64 records;
    gboolean done;
    char msg[320];
} collect;

static void on_update(DmtvFollowUpdate *u, gpointer user)
{
    collect *c = user;
    if (u->new_records) {
        gint64 lat = u->commit_ns - u->oldest_ts;
        g_array_append_val(c->lat, lat);
    }
    c->records = u->records;
    if (u->state != DMTV_FOLLOW_GROWING) {
        c->done = TRUE;
        g_strlcpy(c->msg, u->message, sizeof c->msg);
    }
}

static int cmp64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return x < y ? -1 : x > y;
}

static void run(const char *dir, double rate, double seconds)
{
    char *trace = g_strdup_printf("%s/bench_follow_%.0fM.dmat", dir, rate / 1e6);
    g_unlink(trace);
    producer_arg p = {.path = trace, .rate = rate, .seconds = seconds};
    collect c = {.lat = g_array_new(FALSE, FALSE, sizeof(gint64))};
    pthread_t th;
    int64_t pc0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID), t0 = now_ns();
    pthread_create(&th, NULL, producer, &p);
    while (!atomic_load(&p.started) && !atomic_load(&p.finished))
        g_usleep(1000);
    GError *e = NULL;
    DmtvFollower *f = dmtv_follow_start(trace, on_update, &c, &e);
    if (!f) {
        fprintf(stderr, "bench_follow: %s\n", e->message);
        exit(1);
    }
    while (!c.done)
        g_main_context_iteration(NULL, TRUE);
    int64_t t1 = now_ns();
    pthread_join(th, NULL);
    dmtv_follow_stop(f);
    int64_t follower_cpu = cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - pc0 - p.cpu_ns;
    g_array_sort(c.lat, cmp64);
    guint n = c.lat->len;
    double med = n ? (double)g_array_index(c.lat, gint64, n / 2) / 1e6 : 0;
    double p99 =
        n ? (double)g_array_index(c.lat, gint64, (n * 99) / 100 < n ? (n * 99) / 100 : n - 1) / 1e6
          : 0;
    double worst = n ? (double)g_array_index(c.lat, gint64, n - 1) / 1e6 : 0;
    printf("follow    %.0f M records/s for %.1f s: %" G_GUINT64_FORMAT
           " records written, %" G_GUINT64_FORMAT " in the store (%s), %u updates, "
           "latency median %.0f ms, p99 %.0f ms, worst %.0f ms; caught up %.1f s after the "
           "start; follower CPU %.2f s (%.2f s per M records)\n",
           rate / 1e6, seconds, p.produced, c.records, c.msg[0] ? c.msg : "END", n, med, p99, worst,
           (double)(t1 - t0) / 1e9, (double)follower_cpu / 1e9,
           (double)follower_cpu / 1e9 / ((double)p.produced / 1e6));
    printf("RESULT\tprobe-to-store latency at %.0f M records/s (median, p99)\t%.0f / %.0f ms\t"
           "<= 1000 ms\t%.0f ms flush interval\t%.1f\n",
           rate / 1e6, med, p99, (double)FLUSH_NS / 1e6, p99 / ((double)FLUSH_NS / 1e6));
    /* baseline: one whole import of the finished trace, same run */
    char *idb = g_strdup_printf("%s/bench_follow_import.db", dir);
    int64_t ic0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    dmt_error ie;
    if (dmt_store_import(trace, idb, NULL, NULL, &ie) != 0)
        fprintf(stderr, "bench_follow: import: %s\n", ie.msg);
    double import_s = (double)(cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - ic0) / 1e9;
    g_unlink(idb);
    g_free(idb);
    double per_m = (double)follower_cpu / 1e9 / ((double)p.produced / 1e6);
    double import_per_m = import_s / ((double)p.produced / 1e6);
    printf("import    the finished trace at once: %.2f s CPU (%.2f s per M records)\n", import_s,
           import_per_m);
    printf("RESULT\tfollower CPU at %.0f M records/s\t%.2f s/M records\t(report)\t%.2f s/M "
           "whole import\t%.2f\n",
           rate / 1e6, per_m, import_per_m, per_m / import_per_m);
    char *db = dmtv_follow_cache_path(trace);
    char *side = g_strdup_printf("%s-wal", db);
    g_unlink(side);
    g_free(side);
    side = g_strdup_printf("%s-shm", db);
    g_unlink(side);
    g_free(side);
    g_unlink(db);
    g_unlink(trace);
    g_free(db);
    g_free(trace);
    g_array_unref(c.lat);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char *cache = g_build_filename(dir, "bench_follow_cache", NULL);
    g_setenv("XDG_CACHE_HOME", cache, TRUE);
    run(dir, 1e6, 3.0);
    run(dir, 5e6, 1.0);
    g_free(cache);
    return 0;
}

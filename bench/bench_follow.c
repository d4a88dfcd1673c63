/*
 * bench_follow.c - the viewer's follow mode (viewer/src/dmtv-follow.c:
 * verified chunks -> cache store in one transaction per batch, the audit,
 * a model handed to the GUI after commits).
 *
 *  - catch-up: a finished trace of 2 M records (the mix below) followed
 *    from its start as fast as the follower goes: its throughput in
 *    records/s and CPU per million records.  Baselines: one whole import of
 *    the same file in the same run (dmt_store_import), and the floor:
 *    reading it as the follower does (dmt_follow, verification included)
 *    with nothing done with the records.
 *  - live: a producer thread writes records stamped with CLOCK_MONOTONIC
 *    at a fixed rate into a trace with the recorder's policy (whole chunks
 *    flushed at least every 100 ms; ahead of the rate it sleeps, as a
 *    recorder waits on its ring) while the follower follows it.  For
 *    every update the latency of its oldest new record (its commit time
 *    minus the record's time: the worst of the batch) is taken; median and
 *    p99 over updates at 1 M and 5 M records/s (and 0.2 M: a rate the
 *    follower sustains on the reference machine).  Baseline: the recorder's
 *    flush interval (what a follower cannot beat).  Also the follower's
 *    CPU per million records (process CPU minus the producer thread's and
 *    the frames') and the frame build while following: every 16 ms the
 *    main thread builds a frame (dmtv_model_frame_nowait + node tree, as
 *    the timeline widget does) of the newest 2 s of the newest model, p95.
 *
 *  - both store modes, alternating in the same run: the trace-backed
 *    cache store (the viewer's; raw events stay in the trace) and full
 *    rows (one SQLite row per record, the mode before it).
 *
 *  - sustained (only when asked for): 5 M records/s for 5 s instead of 1 s,
 *    whether the follower keeps the rate up or builds a backlog.
 *
 *   bench_follow [DIR [all|catchup|live|sustained [trace|rows|both]]]   (default /tmp all both)
 */
#include <glib/gstdio.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmt/follow.h"
#include "dmt/store.h"
#include "dmt/writer.h"
#include "dmtv-follow.h"
#include "dmtv-painter.h"
#include "dmtv-render.h"
#include "dmtv-timeline-draw.h"

#define FLUSH_NS     100000000ll
#define FRAME_MS     16
#define WINDOW_NS    2000000000ll /* the follow view: the newest 2 s */
#define CATCHUP_RECS 2000000u

typedef struct {
    const char *path;
    double rate; /* records/s; 0: as fast as possible */
    uint64_t total;
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

/* A session-like mix: an adapter, then per transfer 14 register writes,
 * BUFFER_LOCK, StartDma, ExecuteDma (4 elements), the device's interrupt
 * (claimed), CompleteDma and BUFFER_UNLOCK (no audit findings). */
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
    } else if (k < 14) {
        r->kind = DMT_K_REG_WRITE;
        r->off = 0x100 + 4u * (k % 8);
        r->value = i;
        r->width = 4;
    } else if (k == 14) {
        r->kind = DMT_K_BUFFER_LOCK;
        r->mdl = x;
        r->va = 0x7f0000000000ull + (uint64_t)x * 0x10000;
        r->length = 16384;
        r->op = 0;
    } else if (k == 15) {
        r->kind = DMT_K_START_DMA;
        r->xfer = x;
        r->mdl = x;
        r->length = 16384;
        r->write_to_device = true;
    } else if (k == 16) {
        for (int e = 0; e < 4; e++) {
            sg[e].addr = 0x10000000ull + (uint64_t)x * 0x10000 + (uint64_t)e * 0x1000;
            sg[e].len = 4096;
        }
        r->kind = DMT_K_EXECUTE_DMA;
        r->xfer = x;
        r->length = 16384;
        r->n_sg = 4;
        r->sg_list = sg;
    } else if (k == 17) {
        r->kind = DMT_K_INTERRUPT;
        r->claimed = true;
        r->value = 1;
    } else if (k == 18) {
        r->kind = DMT_K_COMPLETE_DMA;
        r->xfer = x;
        r->write_to_device = true;
    } else {
        r->kind = DMT_K_BUFFER_UNLOCK;
        r->mdl = x;
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
    uint64_t i = 0;
    dmt_record r;
    dmt_sg_elem sg[4];
    while (i < p->total) {
        for (int k = 0; k < 1000 && i < p->total; k++, i++) {
            make_record(&r, sg, i, now_ns());
            dmt_writer_append(w, &r, &err);
        }
        int64_t now = now_ns();
        if (now - last_flush >= FLUSH_NS) {
            dmt_writer_flush(w, &err);
            last_flush = now;
        }
        if (p->rate <= 0)
            continue;
        /* ahead of the rate: sleep (a recorder waits on its ring), waking
         * for the flush that is due meanwhile */
        int64_t due = t0 + (int64_t)((double)i / p->rate * 1e9);
        while ((now = now_ns()) < due) {
            int64_t flush_at = last_flush + FLUSH_NS;
            if (now >= flush_at) {
                dmt_writer_flush(w, &err);
                last_flush = now;
                continue;
            }
            int64_t until = due < flush_at ? due : flush_at;
            struct timespec ts = {.tv_sec = until / 1000000000, .tv_nsec = until % 1000000000};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
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
    guint64 records, findings;
    gboolean done;
    char msg[320];
    DmtvModel *model; /* the newest one handed over */
    guint models;
} collect;

static void on_update(DmtvFollowUpdate *u, gpointer user)
{
    collect *c = user;
    if (u->new_records) {
        gint64 lat = u->commit_ns - u->oldest_ts;
        g_array_append_val(c->lat, lat);
    }
    c->records = u->records;
    c->findings = u->findings;
    if (u->model) {
        if (c->model)
            g_object_unref(c->model);
        c->model = u->model;
        u->model = NULL;
        c->models++;
    }
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

/* p-quantile of sorted v (n > 0) */
static gint64 quantile(const GArray *v, double q)
{
    guint n = v->len;
    if (!n)
        return 0;
    guint i = (guint)ceil(q * n);
    i = i ? i - 1 : 0;
    return g_array_index(v, gint64, i < n ? i : n - 1);
}

/* What the timeline does every frame while following: the newest 2 s of
 * the newest model, nowait, and its node tree. */
typedef struct {
    collect *c;
    DmtvPainter *painter;
    GArray *build; /* gint64 ns per frame */
    int64_t cpu;   /* this thread's CPU in frames */
} framer;

static gboolean on_frame(gpointer user)
{
    framer *fr = user;
    if (!fr->c->model)
        return G_SOURCE_CONTINUE;
    int64_t c0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID), t0 = now_ns();
    const DmtvTrace *tr = dmtv_model_get_trace(fr->c->model);
    DmtvView v = {.width = 1600, .height = 1000, .sel_finding = -1};
    v.t1 = tr->t_last + WINDOW_NS / 50;
    v.t0 = v.t1 - WINDOW_NS;
    const DmtvFrame *f = dmtv_model_frame_nowait(fr->c->model, v.t0, v.t1, v.width - DMTV_LABEL_W);
    GtkSnapshot *s = gtk_snapshot_new();
    dmtv_timeline_draw(s, fr->painter, tr, f, &v);
    GskRenderNode *n = gtk_snapshot_free_to_node(s);
    if (n)
        gsk_render_node_unref(n);
    gint64 dt = now_ns() - t0;
    g_array_append_val(fr->build, dt);
    fr->cpu += cpu_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
    return G_SOURCE_CONTINUE;
}

/* The follower's cache stores (named after the trace's size when the
 * follow started): everything in the bench's own cache directory. */
static char *cache_dir;

static void clean_cache(void)
{
    char *dir = g_build_filename(cache_dir, "dmatrace", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        char *f = g_build_filename(dir, name, NULL);
        g_unlink(f);
        g_free(f);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
    g_free(dir);
}

/* A run's leftovers: its model, cache store and trace. */
static void run_done(collect *c, char *trace)
{
    if (c->model)
        g_object_unref(c->model);
    clean_cache();
    g_unlink(trace);
    g_free(trace);
    g_array_unref(c->lat);
}

/* CPU seconds of one whole import of trace (same run: the baseline) */
static double import_cpu(const char *dir, const char *trace)
{
    char *idb = g_strdup_printf("%s/bench_follow_import.db", dir);
    int64_t c0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    dmt_error ie;
    if (dmt_store_import(trace, idb, NULL, NULL, &ie) != 0)
        fprintf(stderr, "bench_follow: import: %s\n", ie.msg);
    double s = (double)(cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1e9;
    g_unlink(idb);
    g_free(idb);
    return s;
}

/* CPU seconds of reading trace as the follower does (dmt_follow: the
 * scout's verification and the main reader, nothing else): the floor. */
static double read_cpu(const char *trace)
{
    int64_t c0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    dmt_follow *fl;
    dmt_error e;
    if (dmt_follow_open(trace, DMT_READ_ALLOW_CUT, 1000, &fl, &e) != 0) {
        fprintf(stderr, "bench_follow: %s\n", e.msg);
        return 0;
    }
    dmt_record r;
    int rc;
    while ((rc = dmt_follow_next(fl, &r, &e)) == 1 || rc == DMT_FOLLOW_AGAIN)
        ;
    if (rc < 0)
        fprintf(stderr, "bench_follow: reading: %s\n", e.msg);
    dmt_follow_close(fl);
    return (double)(cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1e9;
}

/* Follow trace until the follower ends; frames every FRAME_MS when fr. */
static DmtvFollower *follow(const char *trace, collect *c, framer *fr)
{
    GError *e = NULL;
    DmtvFollower *f = dmtv_follow_start(trace, on_update, c, &e);
    if (!f) {
        fprintf(stderr, "bench_follow: %s\n", e->message);
        exit(1);
    }
    guint tick = fr ? g_timeout_add(FRAME_MS, on_frame, fr) : 0;
    while (!c->done)
        g_main_context_iteration(NULL, TRUE);
    if (tick)
        g_source_remove(tick);
    return f;
}

static const char *mode_name = "trace-backed";

static void catchup(const char *dir)
{
    char *trace = g_strdup_printf("%s/bench_follow_catchup.dmat", dir);
    g_unlink(trace);
    producer_arg p = {.path = trace, .rate = 0, .total = CATCHUP_RECS};
    producer(&p);
    collect c = {.lat = g_array_new(FALSE, FALSE, sizeof(gint64))};
    int64_t c0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID), t0 = now_ns();
    DmtvFollower *f = follow(trace, &c, NULL);
    double wall = (double)(now_ns() - t0) / 1e9;
    dmtv_follow_stop(f);
    double cpu = (double)(cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1e9;
    double m = (double)p.produced / 1e6;
    double import_s = import_cpu(dir, trace), read_s = read_cpu(trace);
    printf("catch-up  %.1f M records (finished file): %" G_GUINT64_FORMAT
           " in the store (%s), %" G_GUINT64_FORMAT " findings, %u models; %.2f s wall, "
           "%.2f s CPU; whole import %.2f s CPU; verified reading alone %.2f s CPU\n",
           m, c.records, c.msg[0] ? c.msg : "END", c.findings, c.models, wall, cpu, import_s,
           read_s);
    printf("RESULT\tfollower CPU per M records, catch-up, %s\t%.2f s\t0.20 s\t%.2f s verified "
           "reading alone (the floor)\t%.2f\n",
           mode_name, cpu / m, read_s / m, (cpu / m) / (read_s / m));
    printf("RESULT\tfollower catch-up throughput, %s\t%.2f M records/s (%.2f s CPU/M)\t>= 5 M "
           "records/s\t%.2f s CPU/M whole import\t%.2f\n",
           mode_name, m / wall, cpu / m, import_s / m, (cpu / m) / (import_s / m));
    run_done(&c, trace);
}

/* tag: "" or what follows the rate in the RESULT figures (" for 5 s") */
static void live(const char *dir, double rate, double seconds, const char *tag,
                 DmtvPainter *painter)
{
    char *trace = g_strdup_printf("%s/bench_follow_%gM.dmat", dir, rate / 1e6);
    g_unlink(trace);
    producer_arg p = {.path = trace, .rate = rate, .total = (uint64_t)(rate * seconds)};
    collect c = {.lat = g_array_new(FALSE, FALSE, sizeof(gint64))};
    framer fr = {.c = &c, .painter = painter, .build = g_array_new(FALSE, FALSE, sizeof(gint64))};
    pthread_t th;
    int64_t pc0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID), t0 = now_ns();
    pthread_create(&th, NULL, producer, &p);
    while (!atomic_load(&p.started) && !atomic_load(&p.finished))
        g_usleep(1000);
    DmtvFollower *f = follow(trace, &c, &fr);
    int64_t t1 = now_ns();
    pthread_join(th, NULL);
    dmtv_follow_stop(f);
    int64_t follower_cpu = cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - pc0 - p.cpu_ns - fr.cpu;
    g_array_sort(c.lat, cmp64);
    g_array_sort(fr.build, cmp64);
    guint n = c.lat->len;
    double med = (double)quantile(c.lat, 0.5) / 1e6, p99 = (double)quantile(c.lat, 0.99) / 1e6;
    double worst = (double)quantile(c.lat, 1.0) / 1e6;
    double m = (double)p.produced / 1e6, per_m = (double)follower_cpu / 1e9 / m;
    double f95 = (double)quantile(fr.build, 0.95) / 1e6;
    printf("follow    %g M records/s for %.1f s: %" G_GUINT64_FORMAT
           " records written, %" G_GUINT64_FORMAT " in the store (%s), %u updates, %u models, "
           "latency median %.0f ms, p99 %.0f ms, worst %.0f ms; caught up %.1f s after the "
           "start; follower CPU %.2f s (%.2f s per M records); %u frames, build p50 %.2f ms, "
           "p95 %.2f ms, max %.2f ms\n",
           rate / 1e6, seconds, p.produced, c.records, c.msg[0] ? c.msg : "END", n, c.models, med,
           p99, worst, (double)(t1 - t0) / 1e9, (double)follower_cpu / 1e9, per_m, fr.build->len,
           (double)quantile(fr.build, 0.5) / 1e6, f95, (double)quantile(fr.build, 1.0) / 1e6);
    printf("RESULT\tprobe-to-store latency at %g M records/s%s (median, p99), %s\t%.0f / %.0f "
           "ms\t<= 1000 ms\t%.0f ms flush interval\t%.1f\n",
           rate / 1e6, tag, mode_name, med, p99, (double)FLUSH_NS / 1e6,
           p99 / ((double)FLUSH_NS / 1e6));
    double import_per_m = import_cpu(dir, trace) / m;
    printf("RESULT\tfollower CPU at %g M records/s%s, %s\t%.2f s/M records\t(report)\t%.2f s/M "
           "whole import\t%.2f\n",
           rate / 1e6, tag, mode_name, per_m, import_per_m, per_m / import_per_m);
    printf("RESULT\tframe build p95 while following at %g M records/s%s, %s\t%.2f ms\t<= 8 ms\t"
           "-\t-\n",
           rate / 1e6, tag, mode_name, f95);
    run_done(&c, trace);
    g_array_unref(fr.build);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    const char *what = argc > 2 ? argv[2] : "all";
    const char *modes = argc > 3 ? argv[3] : "both";
    if ((strcmp(what, "all") && strcmp(what, "catchup") && strcmp(what, "live") &&
         strcmp(what, "sustained")) ||
        (strcmp(modes, "both") && strcmp(modes, "trace") && strcmp(modes, "rows"))) {
        fprintf(stderr, "usage: bench_follow [DIR [all|catchup|live [trace|rows|both]]]\n");
        return 2;
    }
    cache_dir = g_build_filename(dir, "bench_follow_cache", NULL);
    g_setenv("XDG_CACHE_HOME", cache_dir, TRUE);
    clean_cache();
    dmtv_render_init_types();
    PangoContext *pc = dmtv_render_pango_context();
    DmtvPainter *painter = dmtv_painter_new(pc, FALSE);
    g_object_unref(pc);
    /* each measurement in one mode, then the other (same run) */
    static const struct {
        const char *name, *arg;
        gboolean trace_backed;
    } mode[2] = {{"trace-backed", "trace", TRUE}, {"full rows", "rows", FALSE}};
    for (int step = 0; step < 4; step++)
        for (int m = 0; m < 2; m++) {
            if (strcmp(modes, "both") && strcmp(modes, mode[m].arg))
                continue;
            mode_name = mode[m].name;
            dmtv_follow_set_trace_backed(mode[m].trace_backed);
            if (step == 0 && (!strcmp(what, "all") || !strcmp(what, "catchup")))
                catchup(dir);
            bool lives = !strcmp(what, "all") || !strcmp(what, "live");
            if (step == 1 && lives)
                live(dir, 2e5, 3.0, "", painter); /* below what the follower sustains here */
            if (step == 2 && lives)
                live(dir, 1e6, 3.0, "", painter);
            if (step == 3 && lives)
                live(dir, 5e6, 1.0, "", painter);
            if (step == 3 && !strcmp(what, "sustained"))
                live(dir, 5e6, 5.0, " for 5 s", painter);
        }
    dmtv_painter_free(painter);
    g_rmdir(cache_dir);
    g_free(cache_dir);
    return 0;
}

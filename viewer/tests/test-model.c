/*
 * test-model.c - DmtvModel over a store imported from a tracegen trace:
 * lanes and their names, time range, level-of-detail choice, exact and
 * summary frames (span times, register values, marks), hit-testing, the
 * details text, SG lists and their flags, the layout's blocks / overlaps /
 * adjacency, find and filter, and refusal of foreign / damaged files;
 * resident summaries (same rows as SQL) and background fetches (preview
 * flagged approx, precise frame replacing it, "frame-ready", filter changes
 * while a fetch runs).  No display needed.
 */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "dmt/testkit.h"
#include "dmm/dmm.h"
#include "dmtv-import.h"
#include "dmtv-layout.h"
#include "dmtv-model.h"
#include "tracegen.h"

#define N 1200 /* adapter 1 transfers; adapter 2 has N / 2 */

static const DmtvSpan *find_span(const DmtvFrame *f, uint32_t xfer)
{
    for (size_t i = 0; i < f->n_lanes; i++)
        for (size_t k = 0; k < f->lanes[i].n_spans; k++)
            if (f->lanes[i].spans[k].xfer == xfer)
                return &f->lanes[i].spans[k];
    return NULL;
}

static gssize lane_named(const DmtvTrace *tr, const char *label)
{
    for (size_t i = 0; i < tr->n_lanes; i++)
        if (!strcmp(tr->lanes[i].label, label))
            return (gssize)i;
    return -1;
}

static void test_lanes(DmtvModel *m)
{
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    int kinds[7] = {0};
    for (size_t i = 0; i < tr->n_lanes; i++)
        kinds[tr->lanes[i].kind]++;
    CHECKF(kinds[DMT_LANE_TRANSFERS] == 2, "%d transfer lanes", kinds[DMT_LANE_TRANSFERS]);
    CHECK(kinds[DMT_LANE_REGISTER] >= 8);
    CHECK(kinds[DMT_LANE_INTERRUPTS] == 2);
    CHECK(kinds[DMT_LANE_LOST] == 1);
    CHECK(kinds[DMT_LANE_MARKERS] == 1);
    CHECK(kinds[DMT_LANE_FINDINGS] == 1);
    CHECK(tr->lanes[0].kind == DMT_LANE_TRANSFERS); /* transfers first */
    CHECK(lane_named(tr, "CH[1].DESC_LO") >= 0);    /* names from the register map */
    CHECK(lane_named(tr, "IRQ_STATUS") >= 0);
    CHECK(tr->n_findings == 3);
    CHECK(tr->n_lost == 1 && tr->lost[0].count == TG_LOST_COUNT);
    CHECK(tr->lost[0].t0 <= tr->lost[0].t1);
    CHECK(tr->lost[0].t0 >= tg_complete_ts(TG_LOST_AFTER));
    CHECK(tr->n_adapters == 2);
    CHECK(tr->t_first < TG_T0 && tr->t_last > tg_complete_ts(TG_A1_FIRST + 39));
}

static void test_frames(DmtvModel *m)
{
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    /* a narrow window: exact events */
    int64_t a = tg_start_ts(7) - 20000, b = tg_complete_ts(7) + 20000;
    CHECK(dmtv_model_pick_level(m, a, b, 1400) == -1);
    const DmtvFrame *f = dmtv_model_frame(m, a, b, 1400);
    CHECK(f->level == -1 && f->t0 <= a && f->t1 >= b);
    const DmtvSpan *s = find_span(f, 7);
    CHECK(s != NULL);
    if (s) {
        CHECK(s->start_ts == tg_start_ts(7) && s->complete_ts == tg_complete_ts(7));
        CHECK(s->to_device == 1 && s->n_sg == tg_n_sg(7) && !s->truncated);
        CHECK(s->exec_ts == tg_start_ts(7) + 1000);
        CHECK(s->irq_ts != INT64_MIN && s->dpc_ts != INT64_MIN);
        CHECK(s->exec_cpu == tg_exec_cpu(7));
    }
    /* the CPUs of transfer 7's ISR and DPC are the trace's */
    CHECK(tr->n_cpus == TG_CPUS);
    gssize irq = -1;
    for (size_t i = 0; i < tr->n_lanes && irq < 0; i++)
        if (tr->lanes[i].kind == DMT_LANE_INTERRUPTS && tr->lanes[i].dev == 0)
            irq = (gssize)i;
    CHECK(irq >= 0);
    int isr_seen = 0, dpc_seen = 0;
    for (size_t i = 0; irq >= 0 && i < f->lanes[irq].n_marks; i++) {
        const DmtvMark *k = &f->lanes[irq].marks[i];
        if (k->kind == DMTV_MARK_IRQ && k->ts == tg_complete_ts(7) - 6000)
            isr_seen += k->cpu == TG_ISR_CPU ? 1 : 100;
        if (k->kind == DMTV_MARK_DPC && k->ts == tg_complete_ts(7) - 3000)
            dpc_seen += k->cpu == tg_dpc_cpu(7) ? 1 : 100;
    }
    CHECKF(isr_seen == 1 && dpc_seen == 1, "ISR %d, DPC %d", isr_seen, dpc_seen);
    /* the truncated transfer */
    f = dmtv_model_frame(m, tg_start_ts(TG_XFER_TRUNC) - 1000, tg_complete_ts(TG_XFER_TRUNC), 800);
    s = find_span(f, TG_XFER_TRUNC);
    CHECK(s && s->truncated && s->granted * 2 == s->requested && !s->bounced);
    /* the bounce-buffered one (7 above is not) */
    f = dmtv_model_frame(m, tg_start_ts(TG_XFER_BOUNCE) - 1000, tg_complete_ts(TG_XFER_BOUNCE),
                         800);
    s = find_span(f, TG_XFER_BOUNCE);
    CHECK(s && s->bounced && !s->truncated);
    /* register values: CH1_DESC_COUNT of xfer 7 (channel 1) is its n_sg */
    gssize li = lane_named(tr, "CH[1].DESC_COUNT");
    f = dmtv_model_frame(m, tg_start_ts(7), tg_complete_ts(7), 1000);
    CHECK(li >= 0);
    if (li >= 0) {
        const DmtvLaneData *d = &f->lanes[li];
        gboolean seen = FALSE;
        for (size_t i = 0; i < d->n_edges; i++)
            if (d->edges[i].ts == tg_start_ts(7) + 2200 && d->edges[i].value == tg_n_sg(7) &&
                d->edges[i].is_write)
                seen = TRUE;
        CHECK(seen);
        CHECK(d->has_before); /* the value written by an earlier transfer */
    }
    /* the whole trace with a tiny width: summary buckets */
    int lvl = dmtv_model_pick_level(m, tr->t_first, tr->t_last, 50);
    CHECKF(lvl >= 0, "level %d", lvl);
    f = dmtv_model_frame(m, tr->t_first, tr->t_last, 50);
    CHECK(f->level == lvl);
    uint64_t xfers = 0;
    for (size_t i = 0; i < f->n_lanes; i++)
        if (tr->lanes[i].kind == DMT_LANE_TRANSFERS) {
            CHECK(f->lanes[i].summary);
            for (size_t k = 0; k < f->lanes[i].n_bins; k++)
                xfers += f->lanes[i].bins[k].count;
        }
    CHECKF(xfers == N + N / 2, "summary counts %llu transfers", (unsigned long long)xfers);
    /* a cached frame is reused for a pan inside it */
    f = dmtv_model_frame(m, tr->t_first, tr->t_last, 50);
    uint64_t rows = f->rows_read;
    const DmtvFrame *f2 = dmtv_model_frame(m, tr->t_first + 10, tr->t_last + 10, 50);
    CHECK(f2 == f && f2->rows_read == rows);
}

static void test_details(DmtvModel *m, const char *db)
{
    DmtvTransfer t;
    CHECK(dmtv_model_get_transfer(m, 7, &t));
    CHECK(t.adapter == 1 && t.n_sg == tg_n_sg(7) && t.duration_ns == 20000);
    CHECK(t.bounce_known && !t.bounced);
    CHECK(dmtv_model_get_transfer(m, TG_XFER_BOUNCE, &t) && t.bounce_known && t.bounced);
    CHECK(dmtv_model_get_transfer(m, TG_XFER_HIGH, &t) && !t.bounce_known);
    char *bd = dmtv_model_describe_transfer(m, TG_XFER_BOUNCE);
    CHECK(strstr(bd, "BOUNCE-BUFFERED"));
    g_free(bd);
    bd = dmtv_model_describe_transfer(m, TG_XFER_HIGH);
    CHECK(strstr(bd, "not recorded by this producer"));
    g_free(bd);
    CHECK(!dmtv_model_get_transfer(m, 999999, &t));
    char *d = dmtv_model_describe_transfer(m, TG_XFER_OVL);
    CHECK(strstr(d, "StartDma request") && strstr(d, "granted"));
    CHECK(strstr(d, "sg-overlap"));                     /* its finding */
    CHECK(strstr(d, "CH[0].DESC_LO="));                 /* register writes during it */
    CHECK(strstr(d, "dmatrace dump") && strstr(d, db)); /* how to find the records */
    CHECK(strstr(d, "Digest"));
    g_free(d);
    d = dmtv_model_describe_transfer(m, TG_XFER_TRUNC);
    CHECK(strstr(d, "TRUNCATED") != NULL);
    g_free(d);
    /* a finding names the CPU of its record (sg-overlap: the ExecuteDma's) */
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    for (size_t i = 0; i < tr->n_findings; i++)
        if (!strcmp(tr->findings[i].rule, "sg-overlap")) {
            char want[48];
            g_snprintf(want, sizeof want, ", made on CPU %u\n", tg_exec_cpu(TG_XFER_OVL));
            char *fd = dmtv_model_describe_finding(m, tr->findings[i].id);
            CHECKF(strstr(fd, want) != NULL, "%s", fd);
            g_free(fd);
        }
    /* each timeline line names its record's CPU */
    d = dmtv_model_describe_transfer(m, 7);
    char want[3][64];
    g_snprintf(want[0], sizeof want[0], "CPU %u\n", tg_exec_cpu(7));
    g_snprintf(want[1], sizeof want[1], "CPU %u\n", TG_ISR_CPU);
    g_snprintf(want[2], sizeof want[2], "CPU %u\n", tg_dpc_cpu(7));
    const char *ex = strstr(d, "ExecuteDma"), *irq_at = strstr(d, "interrupt"),
               *dp = strstr(d, "DPC");
    CHECKF(ex && irq_at && dp && strstr(ex, want[0]) && strstr(ex, want[0]) < irq_at &&
               strstr(irq_at, want[1]) < dp && strstr(dp, want[2]) &&
               strstr(dp, want[2]) < strstr(dp, "CompleteDma"),
           "%s", d);
    g_free(d);

    guint n = 0;
    DmtvSgElem *sg = dmtv_model_transfer_sg(m, TG_XFER_ADJ, &n);
    CHECK(n == 3 && sg[0].addr == 0x70000000 && sg[1].addr == 0x70001000);
    CHECK(dmtv_sg_flags(sg, n, 1, UINT64_MAX) & DMTV_SG_ADJACENT);
    CHECK(!(dmtv_sg_flags(sg, n, 2, UINT64_MAX) & DMTV_SG_ADJACENT));
    g_free(sg);
    sg = dmtv_model_transfer_sg(m, TG_XFER_HIGH, &n);
    CHECK(n == 2 && (dmtv_sg_flags(sg, n, 1, 0xFFFFFFFFull) & DMTV_SG_ABOVE_LIMIT));
    g_free(sg);

    /* layouts */
    uint32_t one = TG_XFER_ADJ;
    DmtvLayout *l = dmtv_layout_new(m, &one, 1);
    CHECK(dmtv_layout_n_blocks(l) == 3 && dmtv_layout_n_adjacent(l) == 1);
    CHECK(dmtv_layout_n_overlaps(l) == 0);
    CHECK(dmtv_layout_n_segments(l) == 2); /* 0x7000_0000 and 0x7800_0000 are far apart */
    dmtv_layout_free(l);
    one = TG_XFER_OVL;
    l = dmtv_layout_new(m, &one, 1);
    CHECK(dmtv_layout_n_blocks(l) == 2 && dmtv_layout_n_overlaps(l) == 1);
    dmtv_layout_free(l);
    GArray *in = dmtv_model_transfers_in(m, tg_start_ts(5), tg_complete_ts(9), 100);
    CHECKF(in->len >= 5, "%u transfers in window", in->len);
    g_array_unref(in);
}

static void test_find(DmtvModel *m)
{
    DmtvQuery q;
    GError *e = NULL;
    CHECK(dmtv_query_parse("addr:0x70000000-0x70000fff", &q, NULL));
    GArray *h = dmtv_model_find(m, &q, 100, NULL);
    CHECK(h->len == 1 && g_array_index(h, DmtvHit, 0).xfer == TG_XFER_ADJ);
    g_array_unref(h);
    CHECK(dmtv_query_parse("finding:overlap", &q, NULL));
    h = dmtv_model_find(m, &q, 100, NULL);
    CHECK(h->len == 1 && g_array_index(h, DmtvHit, 0).xfer == TG_XFER_OVL);
    g_array_unref(h);
    CHECK(dmtv_query_parse("dir:to len:8k-8k", &q, NULL)); /* odd transfers with 2 elements */
    h = dmtv_model_find(m, &q, 10000, NULL);
    CHECK(h->len > 0);
    for (guint i = 0; i < h->len; i++) {
        DmtvTransfer t;
        dmtv_model_get_transfer(m, g_array_index(h, DmtvHit, i).xfer, &t);
        CHECK(t.to_device && t.granted == 8192);
    }
    for (guint i = 1; i < h->len; i++) /* by time */
        CHECK(g_array_index(h, DmtvHit, i - 1).ts <= g_array_index(h, DmtvHit, i).ts);
    g_array_unref(h);
    CHECK(dmtv_query_parse("reg:CH[0].CTRL", &q, NULL) && q.reg_off == DMM_CH_BASE(0));
    h = dmtv_model_find(m, &q, 100000, NULL);
    CHECKF(h->len == 2 * (N / 2 + N / 4), "%u CH0_CTRL writes",
           h->len); /* run + stop per even xfer */
    g_array_unref(h);
    /* by field name, from the register map: half of them set RUN, half
     * clear it, and every one changes it */
    static const struct {
        const char *q;
        guint n;
    } fq[] = {{"reg:CH[0].CTRL.RUN!=0", N / 2 + N / 4},
              {"CH[0].CTRL.RUN = 0", N / 2 + N / 4},
              {"reg:ch[0].ctrl.run==1", N / 2 + N / 4},
              {"changes:CH[0].CTRL.RUN", 2 * (N / 2 + N / 4)},
              {"reg:CH[0].CTRL.RUN>1", 0}};
    for (size_t i = 0; i < G_N_ELEMENTS(fq); i++) {
        CHECKF(dmtv_query_parse(fq[i].q, &q, NULL) && q.has_field, "%s", fq[i].q);
        h = dmtv_model_find(m, &q, 100000, NULL);
        CHECKF(h->len == fq[i].n, "%s: %u hits, want %u", fq[i].q, h->len, fq[i].n);
        g_array_unref(h);
    }
    CHECK(dmtv_query_parse("reg:CH[1].STATUS.CODE=ADDR_LIMIT", &q, NULL) && q.f_val == 2 &&
          q.f_shift == 8 && q.f_mask == 0xff);
    CHECK(!dmtv_query_parse("reg:CH[0].CTRL.NOFIELD!=0", &q, NULL));
    CHECK(!dmtv_query_parse("reg:CH[1].STATUS.CODE=NO_SUCH_CODE", &q, NULL));
    CHECK(dmtv_query_parse("phase", &q, NULL));
    h = dmtv_model_find(m, &q, 100, NULL);
    CHECK(h->len == 1 && g_array_index(h, DmtvHit, 0).xfer == 0); /* the marker */
    g_array_unref(h);
    CHECK(!dmtv_query_parse("dir:sideways", &q, &e));
    CHECK(e != NULL);
    g_clear_error(&e);
    /* filter: matches flagged in frames */
    CHECK(dmtv_query_parse("finding:overlap", &q, NULL));
    dmtv_model_set_filter(m, &q);
    CHECK(dmtv_model_has_filter(m));
    const DmtvFrame *f = dmtv_model_frame(m, tg_start_ts(3), tg_complete_ts(5), 1000);
    const DmtvSpan *s4 = find_span(f, TG_XFER_OVL), *s5 = find_span(f, 5);
    CHECK(s4 && s4->match && s5 && !s5->match);
    dmtv_model_set_filter(m, NULL);
    CHECK(!dmtv_model_has_filter(m));
}

static void test_bad_files(const char *dir)
{
    GError *e = NULL;
    char *p = g_build_filename(dir, "garbage.db", NULL);
    g_file_set_contents(p, "this is not a database at all, not even close", -1, NULL);
    CHECK(dmtv_model_open(p, &e) == NULL);
    CHECK(g_error_matches(e, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_FOREIGN));
    g_clear_error(&e);
    CHECK(dmtv_file_kind(p, &e) == 0 && e);
    g_clear_error(&e);
    g_free(p);
    /* an SQLite file of another application */
    p = g_build_filename(dir, "other.db", NULL);
    sqlite3 *db;
    sqlite3_open(p, &db);
    sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK(dmtv_model_open(p, &e) == NULL);
    CHECK(g_error_matches(e, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_FOREIGN));
    g_clear_error(&e);
    g_free(p);
    CHECK(dmtv_model_open("/nonexistent/x.db", &e) == NULL);
    CHECK(g_error_matches(e, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_IO));
    g_clear_error(&e);
}

static void test_damaged(const char *dir, const char *good)
{
    /* a dmatrace store missing a table */
    char *p = g_build_filename(dir, "damaged.db", NULL);
    char *bytes;
    gsize n;
    g_file_get_contents(good, &bytes, &n, NULL);
    g_file_set_contents(p, bytes, (gssize)n, NULL);
    g_free(bytes);
    sqlite3 *db;
    sqlite3_open(p, &db);
    sqlite3_exec(db, "DROP TABLE summary;", NULL, NULL, NULL);
    sqlite3_close(db);
    GError *e = NULL;
    CHECK(dmtv_model_open(p, &e) == NULL);
    CHECK(g_error_matches(e, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_FORMAT));
    g_clear_error(&e);
    /* a newer schema version */
    g_file_get_contents(good, &bytes, &n, NULL);
    g_file_set_contents(p, bytes, (gssize)n, NULL);
    g_free(bytes);
    sqlite3_open(p, &db);
    sqlite3_exec(db, "PRAGMA user_version = 99;", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK(dmtv_model_open(p, &e) == NULL);
    CHECK(g_error_matches(e, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_VERSION));
    g_clear_error(&e);
    g_free(p);
}

static void on_ready(DmtvModel *m, gpointer user)
{
    (void)m;
    g_main_loop_quit(user);
}

static gboolean ready_timeout(gpointer user)
{
    *(gboolean *)user = TRUE; /* failure guard only: the signal never came */
    return G_SOURCE_REMOVE;
}

/* Resident summary rows equal what SQL reads for the same window. */
static void test_resident(DmtvModel *m, const char *db)
{
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    dmtv_model_wait_fetch(m);
    CHECKF(dmtv_model_resident_min_level(m) == 3, "resident from L%d",
           dmtv_model_resident_min_level(m));
    gssize li = lane_named(tr, "CH[1].DESC_COUNT");
    CHECK(li >= 0);
    if (li < 0)
        return;
    int64_t span = tr->t_last - tr->t_first;
    int64_t mid = tr->t_first + span / 2 + span / 4; /* three quarters of the trace */
    int lvl = -2, width = 40;
    /* a width that picks level 3 over the trace */
    for (width = 40; width < 100000 && lvl != 3; width *= 2)
        lvl = dmtv_model_pick_level(m, mid - span / 2, mid + span / 2, width);
    CHECKF(lvl == 3, "level %d", lvl);
    if (lvl != 3)
        return;
    width /= 2;
    const DmtvFrame *f = dmtv_model_frame_nowait(m, mid - span / 2, mid + span / 2, width);
    CHECK(!f->approx && f->level == 3 && f->rows_read == 0); /* from memory */
    const DmtvLaneData *d = &f->lanes[li];
    sqlite3 *c = NULL;
    CHECK(sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK(
        sqlite3_prepare_v2(c,
                           "SELECT count(*), coalesce(sum(count), 0) FROM summary WHERE level = 3 "
                           "AND lane = ?1 AND bucket BETWEEN ?2 AND ?3",
                           -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_int64(st, 1, tr->lanes[li].id);
    sqlite3_bind_int64(st, 2, f->t0 >> 19);
    sqlite3_bind_int64(st, 3, f->t1 >> 19);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    uint64_t cnt = 0;
    for (size_t i = 0; i < d->n_bins; i++)
        cnt += d->bins[i].count;
    CHECKF((int64_t)d->n_bins == sqlite3_column_int64(st, 0) && d->n_bins > 0, "%zu bins",
           d->n_bins);
    CHECK((int64_t)cnt == sqlite3_column_int64(st, 1));
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(c,
                             "SELECT vlast FROM summary WHERE level = 3 AND lane = ?1 AND bucket "
                             "< ?2 ORDER BY bucket DESC LIMIT 1",
                             -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_int64(st, 1, tr->lanes[li].id);
    sqlite3_bind_int64(st, 2, f->t0 >> 19);
    if (sqlite3_step(st) == SQLITE_ROW)
        CHECK(d->has_before && d->before == (uint64_t)sqlite3_column_int64(st, 0));
    else
        CHECK(!d->has_before);
    sqlite3_finalize(st);
    sqlite3_close(c);
}

/* Exact windows come from the worker: a flagged coarser preview first, then
 * the precise frame. */
static void test_async(const char *db)
{
    DmtvModel *m = dmtv_model_open(db, NULL);
    CHECK(m != NULL);
    if (!m)
        return;
    test_resident(m, db);
    int64_t a = tg_start_ts(7) - 20000, b = tg_complete_ts(7) + 20000;
    const DmtvFrame *f = dmtv_model_frame_nowait(m, a, b, 1400);
    CHECK(f->approx && f->want_level == -1 && f->level >= 3); /* coarser, from memory */
    CHECK(f->t0 <= a && f->t1 >= b && f->lanes[0].summary && f->rows_read == 0);
    CHECK(find_span(f, 7) == NULL);
    CHECK(dmtv_model_fetch_pending(m));
    dmtv_model_wait_fetch(m);
    f = dmtv_model_frame_nowait(m, a, b, 1400);
    CHECK(!f->approx && f->level == -1 && f->want_level == -1);
    const DmtvSpan *s = find_span(f, 7);
    CHECK(s && s->start_ts == tg_start_ts(7) && s->complete_ts == tg_complete_ts(7) && !s->match);
    CHECK(!dmtv_model_fetch_pending(m));
    guint64 fetches = dmtv_model_fetch_count(m);
    /* a pan inside the frame: no fetch */
    f = dmtv_model_frame_nowait(m, a + 100, b + 100, 1400);
    CHECK(!f->approx && dmtv_model_fetch_count(m) == fetches);

    /* "frame-ready" arrives on the main context */
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    gulong id = g_signal_connect(m, "frame-ready", G_CALLBACK(on_ready), loop);
    gboolean timed_out = FALSE;
    a = tg_start_ts(300) - 20000;
    b = tg_complete_ts(300) + 20000;
    f = dmtv_model_frame_nowait(m, a, b, 1400);
    CHECK(f->approx);
    guint to = g_timeout_add_seconds(60, ready_timeout, &timed_out);
    int signals = 0;
    do { /* an earlier fetch's signal may come first: ask again on each */
        g_main_loop_run(loop);
        signals++;
        f = dmtv_model_frame_nowait(m, a, b, 1400);
    } while (f->approx && !timed_out && signals < 10);
    if (!timed_out)
        g_source_remove(to);
    CHECK(!timed_out);
    CHECK(!f->approx && find_span(f, 300) != NULL);
    g_signal_handler_disconnect(m, id);
    g_main_loop_unref(loop);

    /* a filter set while a fetch is under way: its frame is not used */
    a = tg_start_ts(TG_XFER_OVL) - 20000;
    b = tg_complete_ts(TG_XFER_OVL) + 20000;
    f = dmtv_model_frame_nowait(m, a, b, 1400);
    CHECK(f->approx);
    DmtvQuery q;
    CHECK(dmtv_query_parse("finding:overlap", &q, NULL));
    dmtv_model_set_filter(m, &q);
    dmtv_model_wait_fetch(m);
    f = dmtv_model_frame_nowait(m, a, b, 1400);
    if (f->approx) { /* the old fetch was dropped: a new one was asked for */
        dmtv_model_wait_fetch(m);
        f = dmtv_model_frame_nowait(m, a, b, 1400);
    }
    s = find_span(f, TG_XFER_OVL);
    CHECK(!f->approx && s && s->match);
    /* the waiting call is always precise */
    f = dmtv_model_frame(m, tg_start_ts(900), tg_complete_ts(900), 1400);
    CHECK(!f->approx && f->level == -1 && find_span(f, 900) != NULL);
    /* going away with a fetch pending */
    f = dmtv_model_frame_nowait(m, tg_start_ts(100), tg_complete_ts(100), 1400);
    CHECK(f->approx);
    g_object_unref(m);
}

int main(void)
{
    char *dir = tg_tmpdir();
    char *dmat = g_build_filename(dir, "t.dmat", NULL);
    char *db = g_build_filename(dir, "t.db", NULL);
    if (tg_make_db(dmat, db, N) != 0)
        return 1;
    GError *e = NULL;
    DmtvModel *m = dmtv_model_open(db, &e);
    CHECKF(m != NULL, "%s", e ? e->message : "");
    if (m) {
        test_lanes(m);
        test_frames(m);
        test_details(m, db);
        test_find(m);
        g_object_unref(m);
    }
    test_async(db);
    test_bad_files(dir);
    test_damaged(dir, db);
    /* a .dmat resolves through the cache and lands in a store */
    g_setenv("XDG_CACHE_HOME", dir, TRUE);
    char *via = dmtv_resolve_input(dmat, NULL, NULL, NULL, &e);
    CHECKF(via != NULL, "%s", e ? e->message : "");
    if (via) {
        CHECK(g_str_has_prefix(via, dir));
        DmtvModel *m2 = dmtv_model_open(via, NULL);
        CHECK(m2 && dmtv_model_get_trace(m2)->n_lanes > 8);
        g_clear_object(&m2);
        char *again = dmtv_resolve_input(dmat, NULL, NULL, NULL, NULL); /* cached */
        CHECK(again && !strcmp(again, via));
        g_free(again);
    }
    g_free(via);
    g_clear_error(&e);
    CHECK(tg_fixtures_done(dir, db, dmat) == 0);
    return tk_result("viewer_model");
}

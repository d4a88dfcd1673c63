/*
 * test-model.c - DmtvModel over a store imported from a tracegen trace:
 * lanes and their names, time range, level-of-detail choice, exact and
 * summary frames (span times, register values, marks), hit-testing, the
 * details text, SG lists and their flags, the layout's blocks / overlaps /
 * adjacency, find and filter, and refusal of foreign / damaged files.
 * No display needed.
 */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "../../core/tests/check.h"
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
    CHECKF(kinds[DMTV_LANE_TRANSFERS] == 2, "%d transfer lanes", kinds[DMTV_LANE_TRANSFERS]);
    CHECK(kinds[DMTV_LANE_REGISTER] >= 8);
    CHECK(kinds[DMTV_LANE_INTERRUPTS] == 2);
    CHECK(kinds[DMTV_LANE_LOST] == 1);
    CHECK(kinds[DMTV_LANE_MARKERS] == 1);
    CHECK(kinds[DMTV_LANE_FINDINGS] == 1);
    CHECK(tr->lanes[0].kind == DMTV_LANE_TRANSFERS); /* transfers first */
    CHECK(lane_named(tr, "CH1_DESC_LO") >= 0);       /* names from the register map */
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
    }
    /* the truncated transfer */
    f = dmtv_model_frame(m, tg_start_ts(TG_XFER_TRUNC) - 1000, tg_complete_ts(TG_XFER_TRUNC), 800);
    s = find_span(f, TG_XFER_TRUNC);
    CHECK(s && s->truncated && s->granted * 2 == s->requested);
    /* register values: CH1_DESC_COUNT of xfer 7 (channel 1) is its n_sg */
    gssize li = lane_named(tr, "CH1_DESC_COUNT");
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
        if (tr->lanes[i].kind == DMTV_LANE_TRANSFERS) {
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
    CHECK(!dmtv_model_get_transfer(m, 999999, &t));
    char *d = dmtv_model_describe_transfer(m, TG_XFER_OVL);
    CHECK(strstr(d, "StartDma request") && strstr(d, "granted"));
    CHECK(strstr(d, "sg-overlap"));                     /* its finding */
    CHECK(strstr(d, "CH0_DESC_LO"));                    /* register writes during it */
    CHECK(strstr(d, "dmatrace dump") && strstr(d, db)); /* how to find the records */
    CHECK(strstr(d, "Digest"));
    g_free(d);
    d = dmtv_model_describe_transfer(m, TG_XFER_TRUNC);
    CHECK(strstr(d, "TRUNCATED") != NULL);
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
    CHECK(dmtv_query_parse("reg:CH0_CTRL", &q, NULL) && q.reg_off == DMM_CH_BASE(0));
    h = dmtv_model_find(m, &q, 100000, NULL);
    CHECKF(h->len == 2 * (N / 2 + N / 4), "%u CH0_CTRL writes",
           h->len); /* run + stop per even xfer */
    g_array_unref(h);
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
    if (g_getenv("DMTV_TEST_KEEP")) {
        fprintf(stderr, "fixtures kept in %s\n", dir);
    } else {
        char *cmd = g_strdup_printf("rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
        g_free(cmd);
    }
    g_free(dmat);
    g_free(db);
    g_free(dir);
    return check_result("viewer_model");
}

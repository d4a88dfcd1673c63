/*
 * store_import_lanes.c - the importer's lanes and summary buckets: which
 * lane an event belongs to (its own, its device's "other registers" lane,
 * or the shared lane of its kind beyond the lane bounds), the open buckets
 * per lane and stored level, late events merged into written rows, and
 * the transfers lanes recomputed from the finished table when a written
 * transfer was reopened.  See store_import_internal.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_import_internal.h"

/* ---- summaries ----------------------------------------------------------------- */

static int emit_bucket(imp *im, const dmt_store_bucket *b)
{
    tbuf *t = &im->tb[T_SUM];
    put_int(t, b->level);
    put_int(t, b->lane);
    put_int(t, b->bucket);
    put_int(t, (int64_t)b->count);
    put_int(t, (int64_t)b->bytes);
    put_opt(t, b->has_range, (int64_t)b->vmin);
    put_opt(t, b->has_range, (int64_t)b->vmax);
    put_opt(t, b->has_last, (int64_t)b->vlast);
    put_int(t, b->t_first);
    put_int(t, b->t_last);
    return row_end(im, t);
}

static void ev_add(dmt_store_bucket *b, const lane_ev *e)
{
    switch (e->kind) {
    case DMT_LANE_TRANSFERS:
        dmt_store_bucket_add_transfer(b, e->ts, e->t_end, e->bytes, e->has_dur, e->dur, e->bad);
        break;
    case DMT_LANE_MARKERS:
        dmt_store_bucket_add_marker(b, e->ts);
        break;
    default:
        dmt_store_bucket_add_value(b, e->ts, e->value, e->bytes);
        break;
    }
}

/* Contributions for a bucket that is no longer open (src: level L's
 * bucket id `bucket`): merge them into its row, or write the row. */
static int late_bucket(imp *im, size_t li, int L, int64_t bucket, const dmt_store_bucket *src)
{
    int rc = dmt_imp_tbuf_flush(im, &im->tb[T_SUM]);
    if (rc)
        return rc;
    const bool xl = im->lanes[li].kind == DMT_LANE_TRANSFERS;
    dmt_store_bucket ev, row;
    dmt_store_bucket_init(&ev, (int64_t)li + 1, L, bucket);
    dmt_store_bucket_merge(&ev, src, xl);
    sqlite3_stmt *q = im->sum_get;
    sqlite3_bind_int64(q, 1, L);
    sqlite3_bind_int64(q, 2, (int64_t)li + 1);
    sqlite3_bind_int64(q, 3, bucket);
    int s = sqlite3_step(q);
    if (s == SQLITE_ROW)
        dmt_store_bucket_read(q, 0, (int64_t)li + 1, L, &row);
    sqlite3_reset(q);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return dmt_store_sql_error(im->err, im->db, s, "summary");
    if (s == SQLITE_DONE) {
        if ((rc = emit_bucket(im, &ev)))
            return rc;
        return dmt_imp_tbuf_flush(im, &im->tb[T_SUM]);
    }
    dmt_store_bucket_merge(&row, &ev, xl);
    q = im->sum_upd;
    sqlite3_bind_int64(q, 1, L);
    sqlite3_bind_int64(q, 2, (int64_t)li + 1);
    sqlite3_bind_int64(q, 3, bucket);
    sqlite3_bind_int64(q, 4, (int64_t)row.count);
    sqlite3_bind_int64(q, 5, (int64_t)row.bytes);
    if (row.has_range) {
        sqlite3_bind_int64(q, 6, (int64_t)row.vmin);
        sqlite3_bind_int64(q, 7, (int64_t)row.vmax);
    } else {
        sqlite3_bind_null(q, 6);
        sqlite3_bind_null(q, 7);
    }
    if (row.has_last)
        sqlite3_bind_int64(q, 8, (int64_t)row.vlast);
    else
        sqlite3_bind_null(q, 8);
    sqlite3_bind_int64(q, 9, row.t_first);
    sqlite3_bind_int64(q, 10, row.t_last);
    return dmt_imp_step_done(im, q, "summary");
}

/* The accumulated events of lane li (one bucket of the lowest stored
 * level) to every stored level: into the level's open bucket of the same
 * id, or a new one (the window moves on, its oldest bucket is written), or
 * the row of a bucket no longer open. */
static int acc_flush(imp *im, size_t li)
{
    lane *l = &im->lanes[li];
    if (!l->has_acc)
        return 0;
    l->has_acc = false;
    const bool xl = l->kind == DMT_LANE_TRANSFERS;
    const dmt_store_bucket *src = &l->acc;
    for (int L = DMT_STORE_MIN_STORED_LEVEL; L < NLEVEL; L++) {
        /* the levels nest: the id at L is the lowest level's, shifted */
        int64_t b = src->bucket >>
                    (DMT_STORE_LEVEL_SHIFT(L) - DMT_STORE_LEVEL_SHIFT(DMT_STORE_MIN_STORED_LEVEL));
        int rc;
        if (l->has_cur[L] && l->cur[L].bucket == b) {
            dmt_store_bucket_merge(&l->cur[L], src, xl);
        } else if (!l->has_cur[L] || b > l->cur[L].bucket) {
            if (l->has_prev[L] && (rc = emit_bucket(im, &l->prev[L])))
                return rc;
            l->prev[L] = l->cur[L];
            l->has_prev[L] = l->has_cur[L];
            dmt_store_bucket_init(&l->cur[L], (int64_t)li + 1, L, b);
            l->has_cur[L] = true;
            dmt_store_bucket_merge(&l->cur[L], src, xl);
        } else if (l->has_prev[L] && l->prev[L].bucket == b) {
            dmt_store_bucket_merge(&l->prev[L], src, xl);
        } else if ((rc = late_bucket(im, li, L, b, src))) {
            return rc;
        }
    }
    return 0;
}

/* Add e to lane li: to its accumulator while e falls into the same bucket
 * of the lowest stored level, else the accumulator goes to the levels
 * first and starts over with e. */
static int lane_event(imp *im, size_t li, const lane_ev *e)
{
    lane *l = &im->lanes[li];
    int64_t b = dmt_store_bucket_of(e->ts, DMT_STORE_MIN_STORED_LEVEL);
    if (!l->has_acc || l->acc.bucket != b) {
        int rc = acc_flush(im, li);
        if (rc)
            return rc;
        l = &im->lanes[li];
        dmt_store_bucket_init(&l->acc, (int64_t)li + 1, DMT_STORE_MIN_STORED_LEVEL, b);
        l->has_acc = true;
    }
    ev_add(&l->acc, e);
    return 0;
}

/* kept out of line: the common path of dmt_imp_lane_value saves no
 * registers and builds no event on its stack */
__attribute__((noinline)) static int lane_value_event(imp *im, size_t li, int64_t ts,
                                                      uint64_t value, uint64_t bytes)
{
    lane_ev e = {.kind = im->lanes[li].kind, .ts = ts, .value = value, .bytes = bytes};
    return lane_event(im, li, &e);
}

int dmt_imp_lane_value(imp *im, size_t li, int64_t ts, uint64_t value, uint64_t bytes)
{
    /* lane_event's common case first: the accumulator's bucket (a value
     * lane: ev_add's dmt_store_bucket_add_value) */
    lane *l = &im->lanes[li];
    if (l->has_acc && l->acc.bucket == dmt_store_bucket_of(ts, DMT_STORE_MIN_STORED_LEVEL) &&
        l->kind != DMT_LANE_TRANSFERS && l->kind != DMT_LANE_MARKERS) {
        dmt_store_bucket_add_value(&l->acc, ts, value, bytes);
        return 0;
    }
    return lane_value_event(im, li, ts, value, bytes);
}

int dmt_imp_lane_marker(imp *im, size_t li, int64_t ts)
{
    lane_ev e = {.kind = DMT_LANE_MARKERS, .ts = ts};
    return lane_event(im, li, &e);
}

/* Write the open buckets of lane li (all lanes: li = SIZE_MAX). */
int dmt_imp_lanes_flush(imp *im, size_t only)
{
    for (size_t li = 0; li < im->nlanes; li++) {
        if (only != SIZE_MAX && li != only)
            continue;
        int rc = acc_flush(im, li);
        if (rc)
            return rc;
        lane *l = &im->lanes[li];
        for (int L = 0; L < NLEVEL; L++) {
            if (l->has_prev[L] && (rc = emit_bucket(im, &l->prev[L])))
                return rc;
            if (l->has_cur[L] && (rc = emit_bucket(im, &l->cur[L])))
                return rc;
            l->has_prev[L] = l->has_cur[L] = false;
        }
    }
    return 0;
}

static lane_ev xfer_ev(const dmt_store_transfer *t)
{
    lane_ev e = {.kind = DMT_LANE_TRANSFERS,
                 .ts = t->t_begin,
                 .t_end = t->t_end,
                 .bytes = t->exec_seq != DMT_STORE_NONE ? t->granted : 0,
                 .has_dur = t->has_duration,
                 .dur = t->duration_ns,
                 .bad = strcmp(t->outcome, "completed") != 0};
    return e;
}

/* A written transfer's contribution to its adapter's lane. */
int dmt_imp_transfer_event(imp *im, const dmt_store_transfer *t)
{
    if (!t->has_adapter)
        return 0;
    size_t li = dmt_imp_xfer_lane(im, t->adapter);
    if (li == SIZE_MAX)
        return dmt_imp_oom(im);
    lane_ev e = xfer_ev(t);
    return lane_event(im, li, &e);
}

#define OVERFLOW_BIT (1ull << 41)

/* Lane index for key (a, b), created with the given fields when new;
 * SIZE_MAX on allocation failure. */
size_t dmt_imp_lane_get(imp *im, int kind, uint64_t a, uint64_t b, int64_t dev, int64_t adapter,
                        int64_t off, const char *name)
{
    uint32_t v = dmt_store_map_get(&im->lane_map, a, b);
    if (v != UINT32_MAX)
        return v;
    if (im->nlanes >= im->lim.lanes && !(a & OVERFLOW_BIT)) {
        /* a hostile number of devices or adapters: one shared lane per kind */
        static const char *const names[] = {"",
                                            "other adapters",
                                            "other devices' registers",
                                            "other devices' interrupts",
                                            "lost",
                                            "markers",
                                            "findings"};
        return dmt_imp_lane_get(im, kind, LK(kind) | OVERFLOW_BIT, 0, -1, -1, -1,
                                names[kind >= 1 && kind <= 6 ? kind : 0]);
    }
    if (dmt_imp_grow((void **)&im->lanes, &im->caplanes, im->nlanes + 1, sizeof(lane)))
        return SIZE_MAX;
    lane *l = &im->lanes[im->nlanes];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->dev = dev;
    l->adapter = adapter;
    l->off = off;
    snprintf(l->name, sizeof l->name, "%s", name);
    if (dmt_store_map_put(&im->lane_map, a, b, (uint32_t)im->nlanes))
        return SIZE_MAX;
    return im->nlanes++;
}

static size_t reg_lane_find(imp *im, uint32_t dev, uint64_t off)
{
    uint32_t v = dmt_store_map_get(&im->lane_map, LK(DMT_LANE_REGISTER) | dev, off);
    if (v != UINT32_MAX)
        return v;
    char name[64];
    if (im->reg_lanes >= im->lim.reg_lanes || im->nlanes >= im->lim.lanes) {
        snprintf(name, sizeof name, "dev%u other", dev);
        return dmt_imp_lane_get(im, DMT_LANE_REGISTER, LK(DMT_LANE_REGISTER) | (1ull << 40) | dev,
                                0, dev, -1, -1, name);
    }
    im->reg_lanes++;
    snprintf(name, sizeof name, "dev%u 0x%llx", dev, (unsigned long long)off);
    return dmt_imp_lane_get(im, DMT_LANE_REGISTER, LK(DMT_LANE_REGISTER) | dev, off, dev, -1,
                            (int64_t)off, name);
}

size_t dmt_imp_reg_lane_miss(imp *im, uint32_t dev, uint64_t off)
{
    size_t li = reg_lane_find(im, dev, off);
    if (li < UINT32_MAX - 1) {
        size_t h = DMT_IMP_REG_CACHE_SLOT(dev, off);
        im->reg_cache[h].off = off;
        im->reg_cache[h].dev = dev;
        im->reg_cache[h].lane1 = (uint32_t)li + 1;
    }
    return li;
}

static size_t xfer_lane_find(imp *im, uint32_t adapter)
{
    uint32_t v = dmt_store_map_get(&im->lane_map, LK(DMT_LANE_TRANSFERS) | adapter, 0);
    if (v != UINT32_MAX)
        return v;
    char name[64];
    snprintf(name, sizeof name, "adapter %u", adapter);
    return dmt_imp_lane_get(im, DMT_LANE_TRANSFERS, LK(DMT_LANE_TRANSFERS) | adapter, 0, -1,
                            adapter, -1, name);
}

size_t dmt_imp_xfer_lane(imp *im, uint32_t adapter)
{
    /* the last adapter's lane (sound as reg_cache is) */
    if (im->xl_lane1 && im->xl_adapter == adapter)
        return im->xl_lane1 - 1;
    size_t li = xfer_lane_find(im, adapter);
    if (li < UINT32_MAX - 1) {
        im->xl_adapter = adapter;
        im->xl_lane1 = (uint32_t)li + 1;
    }
    return li;
}

int dmt_imp_write_lanes(imp *im, bool keep_open)
{
    /* the findings lane always exists, last */
    lane findings = {.kind = DMT_LANE_FINDINGS, .dev = -1, .adapter = -1, .off = -1};
    snprintf(findings.name, sizeof findings.name, "findings");
    if (!keep_open && dmt_imp_lane_get(im, DMT_LANE_FINDINGS, LK(DMT_LANE_FINDINGS), 0, -1, -1, -1,
                                       "findings") == SIZE_MAX)
        return dmt_imp_oom(im);
    sqlite3_stmt *st;
    int rc = dmt_store_prepare(im->db,
                               "INSERT INTO lanes(lane, kind, dev, adapter, off, name) "
                               "VALUES (?, ?, ?, ?, ?, ?)",
                               false, &st, im->err);
    if (rc)
        return rc;
    size_t total = im->nlanes + (keep_open ? 1 : 0);
    for (size_t i = 0; i < total && !rc; i++) {
        const lane *l = i < im->nlanes ? &im->lanes[i] : &findings;
        sqlite3_bind_int64(st, 1, (int64_t)i + 1);
        sqlite3_bind_text(st, 2, dmt_store_lane_kind_name(l->kind), -1, SQLITE_STATIC);
        if (l->dev >= 0)
            sqlite3_bind_int64(st, 3, l->dev);
        else
            sqlite3_bind_null(st, 3);
        if (l->adapter >= 0)
            sqlite3_bind_int64(st, 4, l->adapter);
        else
            sqlite3_bind_null(st, 4);
        if (l->kind == DMT_LANE_REGISTER && l->off >= 0)
            sqlite3_bind_int64(st, 5, l->off);
        else
            sqlite3_bind_null(st, 5);
        sqlite3_bind_text(st, 6, l->name, -1, SQLITE_STATIC);
        rc = dmt_imp_step_done(im, st, "lanes");
    }
    sqlite3_finalize(st);
    return rc;
}

/* Transfer lanes again, from the finished table in t_begin order: only
 * when a written transfer was reopened (its first contribution cannot be
 * taken back). */
int dmt_imp_transfer_summaries(imp *im)
{
    int rc = dmt_imp_tbuf_flush(im, &im->tb[T_SUM]);
    sqlite3_stmt *st = NULL, *del = NULL;
    if (!rc)
        rc = dmt_store_prepare(im->db, "DELETE FROM summary WHERE lane = ?", false, &del, im->err);
    for (size_t li = 0; li < im->nlanes && !rc; li++) {
        lane *l = &im->lanes[li];
        if (l->kind != DMT_LANE_TRANSFERS)
            continue;
        l->has_acc = false;
        memset(l->has_cur, 0, sizeof l->has_cur);
        memset(l->has_prev, 0, sizeof l->has_prev);
        sqlite3_bind_int64(del, 1, (int64_t)li + 1);
        rc = dmt_imp_step_done(im, del, "summary");
    }
    sqlite3_finalize(del);
    if (!rc)
        rc = dmt_store_prepare(im->db,
                               "SELECT adapter, t_begin, t_end, granted, duration_ns, outcome "
                               "FROM transfers WHERE adapter IS NOT NULL ORDER BY t_begin",
                               false, &st, im->err);
    if (rc)
        return rc;
    int s;
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        size_t li = dmt_imp_xfer_lane(im, (uint32_t)sqlite3_column_int64(st, 0));
        if (li == SIZE_MAX) {
            rc = dmt_imp_oom(im);
            break;
        }
        const unsigned char *o = sqlite3_column_text(st, 5);
        lane_ev e = {.kind = DMT_LANE_TRANSFERS,
                     .ts = sqlite3_column_int64(st, 1),
                     .t_end = sqlite3_column_int64(st, 2),
                     .bytes = (uint64_t)sqlite3_column_int64(st, 3),
                     .has_dur = sqlite3_column_type(st, 4) != SQLITE_NULL,
                     .dur = sqlite3_column_int64(st, 4),
                     .bad = !o || strcmp((const char *)o, "completed") != 0};
        rc = lane_event(im, li, &e);
    }
    if (!rc && s != SQLITE_DONE)
        rc = dmt_store_sql_error(im->err, im->db, s, "transfers");
    sqlite3_finalize(st);
    return rc;
}

/* ---- an append's commit (store_append.c) ------------------------------------------ */

/* The summary row of (L, lane, bucket) as it stands, or absent. */
static int sum_row(imp *im, int L, int64_t lane_id, int64_t bucket, dmt_store_bucket *row,
                   bool *has)
{
    sqlite3_stmt *q = im->sum_get;
    sqlite3_bind_int64(q, 1, L);
    sqlite3_bind_int64(q, 2, lane_id);
    sqlite3_bind_int64(q, 3, bucket);
    int s = sqlite3_step(q);
    *has = s == SQLITE_ROW;
    if (*has)
        dmt_store_bucket_read(q, 0, lane_id, L, row);
    sqlite3_reset(q);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return dmt_store_sql_error(im->err, im->db, s, "summary");
    return 0;
}

int dmt_imp_lanes_materialize(imp *im, const dmt_store_transfer *open, size_t n, sum_undo **undo,
                              size_t *n_undo, size_t *cap_undo)
{
    /* every open bucket, as it stands (the tbuf replaces in an append);
     * the accumulators go to the levels first (no change to what the
     * stream makes of later events: see lane in store_import_internal.h) */
    int rc = 0;
    for (size_t li = 0; li < im->nlanes && !rc; li++) {
        if ((rc = acc_flush(im, li)))
            break;
        const lane *l = &im->lanes[li];
        for (int L = DMT_STORE_MIN_STORED_LEVEL; L < NLEVEL && !rc; L++) {
            if (l->has_prev[L])
                rc = emit_bucket(im, &l->prev[L]);
            if (!rc && l->has_cur[L])
                rc = emit_bucket(im, &l->cur[L]);
        }
    }
    if (!rc)
        rc = dmt_imp_tbuf_flush(im, &im->tb[T_SUM]);
    if (rc || !n)
        return rc;
    /* open transfers on copies: scratch buckets keyed like the table */
    dmt_store_map keys;
    memset(&keys, 0, sizeof keys);
    dmt_store_bucket *sc = NULL;
    size_t nsc = 0, capsc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const dmt_store_transfer *t = &open[i];
        if (!t->has_adapter)
            continue;
        uint32_t lv = dmt_store_map_get(&im->lane_map, LK(DMT_LANE_TRANSFERS) | t->adapter, 0);
        if (lv == UINT32_MAX)
            continue; /* every record with an adapter made its lane */
        lane_ev e = xfer_ev(t);
        const lane *l = &im->lanes[lv];
        for (int L = DMT_STORE_MIN_STORED_LEVEL; L < NLEVEL && !rc; L++) {
            int64_t b = dmt_store_bucket_of(e.ts, L);
            uint64_t ka = ((uint64_t)L << 56) | lv;
            uint32_t k = dmt_store_map_get(&keys, ka, (uint64_t)b);
            if (k == UINT32_MAX) {
                if (dmt_imp_grow((void **)&sc, &capsc, nsc + 1, sizeof *sc) ||
                    dmt_imp_grow((void **)undo, cap_undo, *n_undo + 1, sizeof **undo) ||
                    dmt_store_map_put(&keys, ka, (uint64_t)b, (uint32_t)nsc)) {
                    rc = dmt_imp_oom(im);
                    break;
                }
                k = (uint32_t)nsc++;
                sum_undo *u = &(*undo)[(*n_undo)++];
                u->had_row = false;
                dmt_store_bucket_init(&u->old, (int64_t)lv + 1, L, b);
                if (l->has_cur[L] && l->cur[L].bucket == b)
                    sc[k] = l->cur[L]; /* open: the stream writes it again */
                else if (l->has_prev[L] && l->prev[L].bucket == b)
                    sc[k] = l->prev[L];
                else if (!(rc = sum_row(im, L, (int64_t)lv + 1, b, &sc[k], &u->had_row)) &&
                         !u->had_row)
                    dmt_store_bucket_init(&sc[k], (int64_t)lv + 1, L, b);
                if (u->had_row)
                    u->old = sc[k];
            }
            if (!rc)
                ev_add(&sc[k], &e);
        }
    }
    for (size_t k = 0; k < nsc && !rc; k++)
        rc = emit_bucket(im, &sc[k]);
    if (!rc)
        rc = dmt_imp_tbuf_flush(im, &im->tb[T_SUM]);
    free(sc);
    dmt_store_map_free(&keys);
    return rc;
}

int dmt_imp_summary_undo(imp *im, const sum_undo *undo, size_t n)
{
    int rc = 0;
    if (n && !im->sum_del)
        rc = dmt_store_prepare(im->db,
                               "DELETE FROM summary WHERE level = ? AND lane = ? AND bucket = ?",
                               true, &im->sum_del, im->err);
    for (size_t i = 0; i < n && !rc; i++) {
        if (undo[i].had_row) {
            rc = emit_bucket(im, &undo[i].old);
            continue;
        }
        sqlite3_bind_int64(im->sum_del, 1, undo[i].old.level);
        sqlite3_bind_int64(im->sum_del, 2, undo[i].old.lane);
        sqlite3_bind_int64(im->sum_del, 3, undo[i].old.bucket);
        rc = dmt_imp_step_done(im, im->sum_del, "summary");
    }
    if (!rc)
        rc = dmt_imp_tbuf_flush(im, &im->tb[T_SUM]);
    return rc;
}

/*
 * store_query.c - what a reader asks an open store (dmt/store_query.h):
 * meta values, the time index, lanes, adapters, lost ranges, findings,
 * transfers and SG lists, the event rows of a window (a k-way merge by
 * seq) and the searches behind the viewer's find/filter.  Summary buckets
 * are store_levels.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static void copy_text(char *dst, size_t cap, const unsigned char *s)
{
    snprintf(dst, cap, "%s", s ? (const char *)s : "");
}

static bool col_null(sqlite3_stmt *q, int c)
{
    return sqlite3_column_type(q, c) == SQLITE_NULL;
}

static int64_t col_or(sqlite3_stmt *q, int c, int64_t dflt)
{
    return col_null(q, c) ? dflt : sqlite3_column_int64(q, c);
}

int dmt_store_each_row(dmt_store *st, sqlite3_stmt *q, bool cached,
                       int (*row)(sqlite3_stmt *, void *), void *arg, const char *what,
                       dmt_error *err)
{
    int rc, n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        n++;
        if (row(q, arg))
            break;
    }
    if (cached)
        sqlite3_reset(q);
    else
        sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return dmt_store_sql_error(err, st->db, rc, what);
    return n;
}

/* ---- static facts ---------------------------------------------------------------- */

#define SQL_META "SELECT value FROM meta WHERE key = ?1"

int dmt_store_meta_int(dmt_store *st, const char *key, int64_t *v, dmt_error *err)
{
    return dmt_store_one_int(st, SQL_META, &DMT_STORE_TEXT(key), 1, v, "meta", err);
}

/* The text cell of a row into the text_cell (cut to fit). */
typedef struct text_cell {
    char *out;
    size_t cap;
} text_cell;

static int text_cell_row(sqlite3_stmt *q, void *arg)
{
    const text_cell *c = arg;
    copy_text(c->out, c->cap, sqlite3_column_text(q, 0));
    return 0;
}

int dmt_store_meta_text(dmt_store *st, const char *key, char *out, size_t cap, dmt_error *err)
{
    out[0] = 0;
    text_cell c = {out, cap};
    return dmt_store_one_row(st, SQL_META, &DMT_STORE_TEXT(key), 1, text_cell_row, &c, "meta", err);
}

int64_t dmt_store_max_transfer_ns(dmt_store *st)
{
    return st->max_span;
}

int dmt_store_summary_min_level(dmt_store *st)
{
    return st->min_level;
}

/* Columns 0 and 1 of a row, unless column 0 is NULL. */
typedef struct pair_cell {
    int64_t *x, *y;
    bool *any;
} pair_cell;

static int pair_cell_row(sqlite3_stmt *q, void *arg)
{
    const pair_cell *c = arg;
    *c->any = !col_null(q, 0);
    if (*c->any) {
        *c->x = sqlite3_column_int64(q, 0);
        *c->y = sqlite3_column_int64(q, 1);
    }
    return 0;
}

int dmt_store_int_pair(dmt_store *st, const char *sql, int nbind, int64_t a, int64_t b, int64_t *x,
                       int64_t *y, bool *any, dmt_error *err)
{
    *any = false;
    pair_cell c = {x, y, any};
    dmt_store_arg args[2] = {DMT_STORE_INT(a), DMT_STORE_INT(b)};
    int rc = dmt_store_one_row(st, sql, args, nbind, pair_cell_row, &c, "time_index", err);
    return rc < 0 ? rc : 0;
}

int dmt_store_time_range(dmt_store *st, int64_t *t0, int64_t *t1, dmt_error *err)
{
    bool any;
    *t0 = 0;
    *t1 = -1;
    return dmt_store_int_pair(st, "SELECT min(ts_min), max(ts_max) FROM time_index", 0, 0, 0, t0,
                              t1, &any, err);
}

/* A row callback of any of the types above and its context (cast back to
 * its own type by the row function that knows it). */
typedef void (*any_fn)(void);
typedef struct fn_ctx {
    any_fn fn;
    void *ctx;
} fn_ctx;

static int time_block_row(sqlite3_stmt *q, void *arg)
{
    const fn_ctx *c = arg;
    dmt_store_time_block b = {(uint64_t)sqlite3_column_int64(q, 0),
                              (uint64_t)sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2),
                              sqlite3_column_int64(q, 3), (uint64_t)sqlite3_column_int64(q, 4)};
    return ((dmt_store_time_block_fn)c->fn)(c->ctx, &b);
}

int dmt_store_time_index(dmt_store *st, dmt_store_time_block_fn fn, void *ctx, dmt_error *err)
{
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db,
                               "SELECT first_seq, last_seq, ts_min, ts_max, records FROM "
                               "time_index ORDER BY first_seq",
                               false, &q, err);
    fn_ctx c = {(any_fn)fn, ctx};
    return rc ? rc : dmt_store_each_row(st, q, false, time_block_row, &c, "time_index", err);
}

int dmt_store_ts_before(dmt_store *st, uint64_t seq, int64_t *ts, dmt_error *err)
{
    if (st->trace_backed)
        return dmt_store_trace_ts_before(st, seq, ts, err);
    static const char *const tables[] = {"reg_accesses", "reg_buffers", "dma_calls", "resources",
                                         "desc_writes",  "interrupts",  "dpcs",      "markers",
                                         "calibrations", "payloads",    "patterns"};
    int64_t best = -1;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT seq, ts FROM %s WHERE seq < ?1 ORDER BY seq DESC LIMIT 1",
                 tables[i]);
        int64_t s = -1, t = 0;
        bool any;
        int rc = dmt_store_one_row(st, sql, &DMT_STORE_INT(seq), 1, pair_cell_row,
                                   &(pair_cell){&s, &t, &any}, tables[i], err);
        if (rc < 0)
            return rc;
        if (rc == 1 && s > best) {
            best = s;
            *ts = t;
        }
    }
    return best >= 0;
}

int dmt_store_record_cpu(dmt_store *st, uint64_t seq, uint32_t *cpu, dmt_error *err)
{
    int64_t c;
    int rc = dmt_store_one_int(st,
                               "SELECT cpu FROM cpu_runs WHERE first_seq <= ?1 "
                               "ORDER BY first_seq DESC LIMIT 1",
                               &DMT_STORE_INT(seq > INT64_MAX ? INT64_MAX : seq), 1, &c, "cpu_runs",
                               err);
    if (rc == 1)
        *cpu = (uint32_t)c;
    return rc;
}

static int adapter_row(sqlite3_stmt *q, void *arg)
{
    const fn_ctx *c = arg;
    dmt_store_adapter a = {
        .adapter = (uint32_t)sqlite3_column_int64(q, 0),
        .dev = col_or(q, 1, -1),
        .scatter_gather = sqlite3_column_int(q, 2) != 0,
        .dma32 = sqlite3_column_int(q, 3) != 0,
        .dma64 = sqlite3_column_int(q, 4) != 0,
        .max_length = (uint64_t)col_or(q, 5, 0),
        .map_registers = (uint64_t)col_or(q, 6, 0),
        .addr_limit = (uint64_t)col_or(q, 7, -1),
    };
    return ((dmt_store_adapter_fn)c->fn)(c->ctx, &a);
}

int dmt_store_adapters(dmt_store *st, dmt_store_adapter_fn fn, void *ctx, dmt_error *err)
{
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db,
                               "SELECT adapter, dev, scatter_gather, dma32, dma64, max_length, "
                               "map_registers, addr_limit FROM adapters ORDER BY adapter",
                               false, &q, err);
    fn_ctx c = {(any_fn)fn, ctx};
    return rc ? rc : dmt_store_each_row(st, q, false, adapter_row, &c, "adapters", err);
}

static int lost_row(sqlite3_stmt *q, void *arg)
{
    const fn_ctx *c = arg;
    dmt_store_lost l = {(uint64_t)sqlite3_column_int64(q, 0), (uint64_t)sqlite3_column_int64(q, 2),
                        sqlite3_column_int64(q, 1), (uint32_t)sqlite3_column_int64(q, 3)};
    return ((dmt_store_lost_fn)c->fn)(c->ctx, &l);
}

int dmt_store_lost_ranges(dmt_store *st, dmt_store_lost_fn fn, void *ctx, dmt_error *err)
{
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db, "SELECT first_seq, ts, count, reason FROM lost ORDER BY ts",
                               false, &q, err);
    fn_ctx c = {(any_fn)fn, ctx};
    return rc ? rc : dmt_store_each_row(st, q, false, lost_row, &c, "lost", err);
}

static const char *col_text(sqlite3_stmt *q, int c, const char *dflt)
{
    const unsigned char *t = sqlite3_column_text(q, c);
    return t ? (const char *)t : dflt;
}

static int finding_row(sqlite3_stmt *q, void *arg)
{
    const fn_ctx *c = arg;
    dmt_store_finding f = {
        .id = sqlite3_column_int64(q, 0),
        .has_ts = !col_null(q, 1),
        .ts = sqlite3_column_int64(q, 1),
        .has_seq = !col_null(q, 2),
        .seq = (uint64_t)sqlite3_column_int64(q, 2),
        .xfer = (uint32_t)col_or(q, 3, 0),
        .adapter = col_or(q, 4, -1),
        .uncertain = sqlite3_column_int(q, 6) != 0,
    };
    f.severity = col_text(q, 5, "");
    f.rule = col_text(q, 7, "");
    f.message = col_text(q, 8, "");
    return ((dmt_store_finding_fn)c->fn)(c->ctx, &f);
}

int dmt_store_findings(dmt_store *st, dmt_store_finding_fn fn, void *ctx, dmt_error *err)
{
    /* a finding without ts takes its transfer's begin */
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db,
                               "SELECT f.id, coalesce(f.ts, t.t_begin), f.seq, f.xfer, f.adapter, "
                               "f.severity, f.uncertain, f.rule, f.message FROM findings f "
                               "LEFT JOIN transfers t ON t.xfer = f.xfer ORDER BY f.id",
                               false, &q, err);
    fn_ctx c = {(any_fn)fn, ctx};
    return rc ? rc : dmt_store_each_row(st, q, false, finding_row, &c, "findings", err);
}

/* ---- lanes ---------------------------------------------------------------------- */

static void read_lane(sqlite3_stmt *q, dmt_store_lane *l)
{
    memset(l, 0, sizeof *l);
    l->lane = sqlite3_column_int64(q, 0);
    l->kind = dmt_store_lane_kind_of((const char *)sqlite3_column_text(q, 1));
    l->dev = sqlite3_column_type(q, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 2);
    l->adapter = sqlite3_column_type(q, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 3);
    l->off = sqlite3_column_type(q, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 4);
    copy_text(l->name, sizeof l->name, sqlite3_column_text(q, 5));
}

int dmt_store_lanes(dmt_store *st, dmt_store_lane *lanes, size_t cap, dmt_error *err)
{
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(
        st->db, "SELECT lane, kind, dev, adapter, off, name FROM lanes ORDER BY lane", false, &q,
        err);
    if (rc)
        return rc;
    int n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if ((size_t)n < cap)
            read_lane(q, &lanes[n]);
        n++;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return dmt_store_sql_error(err, st->db, rc, "lanes");
    return n;
}

static int lane_row(sqlite3_stmt *q, void *l)
{
    read_lane(q, l);
    return 0;
}

int dmt_store_lane_get(dmt_store *st, int64_t lane, dmt_store_lane *l, dmt_error *err)
{
    int rc = dmt_store_one_row(
        st, "SELECT lane, kind, dev, adapter, off, name FROM lanes WHERE lane = ?",
        &DMT_STORE_INT(lane), 1, lane_row, l, "lanes", err);
    if (rc == 0)
        rc = dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX, "no lane %lld",
                           (long long)lane);
    return rc < 0 ? rc : 0;
}

/* ---- transfers --------------------------------------------------------------------- */

static int xfer_row(sqlite3_stmt *q, void *arg)
{
    const fn_ctx *c = arg;
    dmt_store_transfer t;
    dmt_store_xfer_read(q, 0, &t);
    return c->fn ? ((dmt_store_transfer_fn)c->fn)(c->ctx, &t) : 0;
}

int dmt_store_transfers(dmt_store *st, int64_t adapter, int64_t t0, int64_t t1,
                        dmt_store_transfer_fn fn, void *ctx, dmt_error *err)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM transfers WHERE t_begin BETWEEN ?1 AND ?2 AND t_end >= ?3 "
             "AND (?4 < 0 OR adapter = ?4) ORDER BY t_begin, xfer",
             dmt_store_xfer_columns);
    sqlite3_stmt *q;
    int rc = dmt_store_cached(st, DMT_Q_XFERS, sql, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, dmt_store_sat_sub(t0, st->max_span));
    sqlite3_bind_int64(q, 2, t1);
    sqlite3_bind_int64(q, 3, t0);
    sqlite3_bind_int64(q, 4, adapter);
    fn_ctx c = {(any_fn)fn, ctx};
    return dmt_store_each_row(st, q, true, xfer_row, &c, "transfers", err);
}

static int transfer_row(sqlite3_stmt *q, void *t)
{
    dmt_store_xfer_read(q, 0, t);
    return 0;
}

int dmt_store_transfer_get(dmt_store *st, uint32_t xfer, dmt_store_transfer *t, dmt_error *err)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT %s FROM transfers WHERE xfer = ?", dmt_store_xfer_columns);
    return dmt_store_one_row(st, sql, &DMT_STORE_INT(xfer), 1, transfer_row, t, "transfers", err);
}

int dmt_store_transfer_sg(dmt_store *st, uint32_t xfer, dmt_sg_elem *sg, size_t cap, dmt_error *err)
{
    dmt_store_transfer t;
    int rc = dmt_store_transfer_get(st, xfer, &t, err);
    if (rc <= 0)
        return rc;
    if (t.exec_seq == DMT_STORE_NONE || t.n_sg == 0)
        return 0;
    if (st->trace_backed)
        return dmt_store_trace_sg(st, t.exec_seq, t.n_sg, sg, cap, err);
    sqlite3_stmt *q;
    rc = dmt_store_prepare(st->db,
                           "SELECT addr, length FROM sg_elements WHERE id BETWEEN ? AND ? "
                           "ORDER BY id",
                           false, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, (int64_t)t.sg_first);
    sqlite3_bind_int64(q, 2, (int64_t)(t.sg_first + t.n_sg - 1));
    size_t n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (n < cap) {
            sg[n].addr = (uint64_t)sqlite3_column_int64(q, 0);
            sg[n].len = (uint32_t)sqlite3_column_int64(q, 1);
        }
        n++;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return dmt_store_sql_error(err, st->db, rc, "sg_elements");
    if (n != t.n_sg)
        return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, (uint64_t)t.exec_seq,
                             "transfer %u: %zu SG elements stored, %u expected", xfer, n, t.n_sg);
    return (int)n;
}

/* ---- event rows of a window --------------------------------------------------------- */

/* Every source: the same ten columns (seq, ts, dev, off, value, width,
 * is_write, count or claimed, blob or text, cpu). */
enum ev_src_id { EV_REG, EV_REGBUF, EV_IRQ, EV_DPC, EV_MARK, EV_DESC, EV_NSRC };

static const struct ev_src {
    unsigned set;
    const char *sql;
} ev_srcs[EV_NSRC] = {
    [EV_REG] =
        {DMT_STORE_EV_REGISTERS,
         "SELECT seq, ts, dev, off, value, width, is_write, 0, NULL, NULL FROM reg_accesses"},
    [EV_REGBUF] = {DMT_STORE_EV_REGISTERS, "SELECT seq, ts, dev, off, 0, width, is_write, count, "
                                           "vals, NULL FROM reg_buffers"},
    [EV_IRQ] = {DMT_STORE_EV_INTERRUPTS,
                "SELECT seq, ts, dev, 0, value, 0, 0, claimed, NULL, cpu FROM interrupts"},
    [EV_DPC] = {DMT_STORE_EV_DPCS, "SELECT seq, ts, dev, 0, 0, 0, 0, 0, NULL, cpu FROM dpcs"},
    [EV_MARK] = {DMT_STORE_EV_MARKERS, "SELECT seq, ts, 0, 0, 0, 0, 0, 0, text, NULL FROM markers"},
    [EV_DESC] = {DMT_STORE_EV_DESC_WRITES,
                 "SELECT seq, ts, cb, offset, 0, 0, 0, 0, data, NULL FROM desc_writes"},
};

/* The current row of source src. */
static void ev_read(sqlite3_stmt *q, int src, dmt_store_event *e)
{
    memset(e, 0, sizeof *e);
    e->seq = (uint64_t)sqlite3_column_int64(q, 0);
    e->ts = sqlite3_column_int64(q, 1);
    e->dev = (uint64_t)sqlite3_column_int64(q, 2);
    e->off = (uint64_t)sqlite3_column_int64(q, 3);
    e->value = (uint64_t)sqlite3_column_int64(q, 4);
    e->width = (uint64_t)sqlite3_column_int64(q, 5);
    e->is_write = sqlite3_column_int64(q, 6) != 0;
    int64_t c7 = sqlite3_column_int64(q, 7);
    if (src == EV_MARK) {
        e->data = sqlite3_column_text(q, 8);
        e->data = e->data ? e->data : (const uint8_t *)"";
    } else {
        e->data = sqlite3_column_blob(q, 8);
    }
    e->len = (size_t)sqlite3_column_bytes(q, 8);
    e->cpu = sqlite3_column_type(q, 9) == SQLITE_NULL ? DMT_CPU_NONE
                                                      : (uint32_t)sqlite3_column_int64(q, 9);
    switch (src) {
    case EV_REG:
        e->kind = e->is_write ? DMT_K_REG_WRITE : DMT_K_REG_READ;
        break;
    case EV_REGBUF:
        e->kind = e->is_write ? DMT_K_REG_WRITE_BUF : DMT_K_REG_READ_BUF;
        /* never more values than the blob holds (nor than a record may) */
        e->count = c7 < 0 ? 0 : (uint32_t)(c7 > DMT_MAX_VALUES ? DMT_MAX_VALUES : c7);
        if (e->count > e->len / 8)
            e->count = (uint32_t)(e->len / 8);
        break;
    case EV_IRQ:
        e->kind = DMT_K_INTERRUPT;
        e->claimed = c7 != 0;
        break;
    case EV_DPC:
        e->kind = DMT_K_DPC;
        break;
    case EV_MARK:
        e->kind = DMT_K_MARKER;
        break;
    default:
        e->kind = DMT_K_DESC_WRITE;
        break;
    }
}

int dmt_store_events(dmt_store *st, unsigned what, uint64_t s0, uint64_t s1, int64_t t0, int64_t t1,
                     dmt_store_event_fn fn, void *ctx, dmt_error *err)
{
    if (st->trace_backed)
        return dmt_store_trace_events(st, what, s0, s1, t0, t1, fn, ctx, err);
    sqlite3_stmt *q[EV_NSRC] = {NULL};
    int state[EV_NSRC];
    int rc = 0, n = 0;
    for (int i = 0; i < EV_NSRC; i++) {
        state[i] = SQLITE_DONE;
        if (!(what & ev_srcs[i].set) || rc)
            continue;
        char sql[256];
        snprintf(sql, sizeof sql,
                 "%s WHERE seq BETWEEN ?1 AND ?2 AND ts BETWEEN ?3 AND ?4 ORDER BY seq",
                 ev_srcs[i].sql);
        rc = dmt_store_prepare(st->db, sql, false, &q[i], err);
        if (rc)
            break;
        sqlite3_bind_int64(q[i], 1, (int64_t)(s0 > INT64_MAX ? INT64_MAX : s0));
        sqlite3_bind_int64(q[i], 2, (int64_t)(s1 > INT64_MAX ? INT64_MAX : s1));
        sqlite3_bind_int64(q[i], 3, t0);
        sqlite3_bind_int64(q[i], 4, t1);
        state[i] = sqlite3_step(q[i]);
    }
    /* k-way merge: the source whose current row has the smallest seq */
    while (!rc) {
        int w = -1;
        for (int i = 0; i < EV_NSRC; i++)
            if (state[i] == SQLITE_ROW &&
                (w < 0 || sqlite3_column_int64(q[i], 0) < sqlite3_column_int64(q[w], 0)))
                w = i;
        if (w < 0)
            break;
        dmt_store_event e;
        ev_read(q[w], w, &e);
        n++;
        int stop = fn ? fn(ctx, &e) : 0;
        if (stop < 0)
            rc = stop; /* the callback's own error (err untouched) */
        if (stop)
            break;
        state[w] = sqlite3_step(q[w]);
    }
    for (int i = 0; i < EV_NSRC; i++) {
        if (!rc && state[i] != SQLITE_ROW && state[i] != SQLITE_DONE)
            rc = dmt_store_sql_error(err, st->db, state[i], "events");
        sqlite3_finalize(q[i]);
    }
    return rc ? rc : n;
}

/* ---- find ------------------------------------------------------------------------------ */

static int hit_row(sqlite3_stmt *q, void *arg)
{
    const fn_ctx *c = arg;
    dmt_store_hit h = {sqlite3_column_int64(q, 1), (uint64_t)sqlite3_column_int64(q, 2),
                       (uint32_t)sqlite3_column_int64(q, 0)};
    return c->fn ? ((dmt_store_hit_fn)c->fn)(c->ctx, &h) : 0;
}

static int64_t clamp_i64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

int dmt_store_find_transfers(dmt_store *st, const dmt_store_xfer_query *f, uint64_t limit,
                             dmt_store_hit_fn fn, void *ctx, dmt_error *err)
{
    char sql[1024];
    snprintf(
        sql, sizeof sql,
        "SELECT xfer, t_begin, coalesce(start_seq, exec_seq, 0) FROM transfers t WHERE 1%s%s%s%s%s "
        "ORDER BY t_begin LIMIT ?9",
        f->dir >= 0 ? " AND write_to_device = ?1" : "",
        f->has_len ? " AND coalesce(granted, requested) BETWEEN ?2 AND ?3" : "",
        !f->has_addr       ? ""
        : st->trace_backed ? " AND sg_lo < ?5 AND sg_hi > ?4 AND dmt_sg_meets(t.sg_first >> 12)"
                           : " AND sg_lo < ?5 AND sg_hi > ?4 AND EXISTS (SELECT 1 FROM "
                             "sg_elements s WHERE s.id BETWEEN t.sg_first AND t.sg_first + "
                             "t.n_sg - 1 AND s.addr < ?5 AND s.addr + s.length > ?4)",
        f->rule ? " AND xfer IN (SELECT xfer FROM findings WHERE rule LIKE '%' || ?6 || '%')" : "",
        f->text ? " AND (outcome LIKE '%' || ?7 || '%' OR CAST(xfer AS TEXT) = ?7 OR xfer IN "
                  "(SELECT xfer FROM findings WHERE message LIKE '%' || ?7 || '%' OR "
                  "rule LIKE '%' || ?7 || '%'))"
                : "");
    dmt_store_map set = {0}; /* trace-backed: the EXECUTE_DMAs meeting the range */
    int rc = 0;
    if (f->has_addr && st->trace_backed)
        rc = dmt_store_trace_sg_filter(st, (int64_t)f->addr_lo, clamp_i64(f->addr_hi), &set, err);
    sqlite3_stmt *q;
    if (!rc)
        rc = dmt_store_prepare(st->db, sql, false, &q, err);
    if (rc) {
        dmt_store_map_free(&set);
        return rc;
    }
    sqlite3_bind_int(q, 1, f->dir);
    sqlite3_bind_int64(q, 2, clamp_i64(f->len_lo));
    sqlite3_bind_int64(q, 3, clamp_i64(f->len_hi));
    sqlite3_bind_int64(q, 4, (int64_t)f->addr_lo);
    sqlite3_bind_int64(q, 5, clamp_i64(f->addr_hi));
    sqlite3_bind_text(q, 6, f->rule ? f->rule : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, f->text ? f->text : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 9, clamp_i64(limit));
    fn_ctx c = {(any_fn)fn, ctx};
    rc = dmt_store_each_row(st, q, false, hit_row, &c, "transfers", err);
    if (f->has_addr && st->trace_backed) /* no function left pointing at the set */
        sqlite3_create_function(st->db, "dmt_sg_meets", 1, SQLITE_UTF8, NULL, NULL, NULL, NULL);
    dmt_store_map_free(&set);
    return rc;
}

/* Hits from sql: columns (0, ts, seq), ?1 bound by the caller, ?2 the limit. */
static int find_rows(dmt_store *st, sqlite3_stmt *q, uint64_t limit, dmt_store_hit_fn fn, void *ctx,
                     dmt_error *err)
{
    sqlite3_bind_int64(q, 2, clamp_i64(limit));
    fn_ctx c = {(any_fn)fn, ctx};
    return dmt_store_each_row(st, q, false, hit_row, &c, "find", err);
}

int dmt_store_find_markers(dmt_store *st, const char *text, uint64_t limit, dmt_store_hit_fn fn,
                           void *ctx, dmt_error *err)
{
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db,
                               "SELECT 0, ts, seq FROM markers WHERE text LIKE '%' || ?1 || '%' "
                               "ORDER BY seq LIMIT ?2",
                               false, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
    return find_rows(st, q, limit, fn, ctx, err);
}

int dmt_store_find_reg_field(dmt_store *st, uint64_t off, unsigned shift, uint64_t mask, char op,
                             uint64_t value, uint64_t limit, dmt_store_hit_fn fn, void *ctx,
                             dmt_error *err)
{
    if (st->trace_backed)
        return dmt_store_trace_find_reg(st, off, true, shift, mask, op, value, limit, fn, ctx, err);
    /* ?3 shift, ?4 mask, ?5 value; SQLite's >> is arithmetic on the signed
     * storage, so the mask also drops sign bits shifted in. */
    const char *cmp = op == '='   ? "f = ?5"
                      : op == '!' ? "f != ?5"
                      : op == '<' ? "f < ?5"
                      : op == '>' ? "f > ?5"
                                  : "(p IS NULL OR f != p)";
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT 0, ts, seq FROM (SELECT ts, seq, (value >> ?3) & ?4 AS f, "
             "lag((value >> ?3) & ?4) OVER (ORDER BY seq) AS p FROM reg_accesses "
             "WHERE off = ?1 AND is_write = 1) WHERE %s ORDER BY seq LIMIT ?2",
             cmp);
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db, sql, false, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, (int64_t)off);
    sqlite3_bind_int64(q, 3, shift);
    sqlite3_bind_int64(q, 4, (int64_t)mask);
    sqlite3_bind_int64(q, 5, (int64_t)value);
    return find_rows(st, q, limit, fn, ctx, err);
}

int dmt_store_find_reg_writes(dmt_store *st, uint64_t off, uint64_t limit, dmt_store_hit_fn fn,
                              void *ctx, dmt_error *err)
{
    if (st->trace_backed)
        return dmt_store_trace_find_reg(st, off, false, 0, 0, 0, 0, limit, fn, ctx, err);
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db,
                               "SELECT 0, ts, seq FROM reg_accesses WHERE off = ?1 AND "
                               "is_write = 1 ORDER BY seq LIMIT ?2",
                               false, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, (int64_t)off);
    return find_rows(st, q, limit, fn, ctx, err);
}

/*
 * store_levels.c - summary buckets of an open store: stored rows
 * (dmt_store_buckets, dmt_store_bucket_before) and dmt_store_summary, which
 * serves the finest levels - not stored - by computing them from the event
 * tables on demand.  See dmt/store_query.h.
 *
 * On-demand levels: one pass over a window's events fills the buckets of
 * every lane at once (a caller asks lane after lane for the same window),
 * and the result is kept until a request falls outside it:
 *
 *   time_index -> seq range [s0, s1] -> dmt_store_events (registers,
 *   interrupts, markers; by seq) and lost -> lane by (dev, off) -> bucket
 *   sets; transfers by t_begin (window widened by max_transfer_ns) ->
 *   adapter lane
 *
 * The lane an event lands in is the importer's (dmt_imp_lane_get in
 * store_import_lanes.c): its own, else its device's "other" lane, else the
 * shared lane of its kind.
 */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

typedef struct bset {
    dmt_store_bucket *b; /* sorted by bucket */
    size_t n, cap;
} bset;

typedef struct od_cache {
    bool valid;
    int level;
    int64_t T0, T1; /* value lanes: whole buckets computed */
    int64_t X0, X1; /* transfer lanes: t_begin range computed */
    bset *sets;     /* per lane (lane - 1) */
    size_t nsets;
} od_cache;

typedef struct lane_index {
    bool loaded;
    dmt_store_lane *lanes;
    size_t n;
    dmt_store_map reg;     /* (dev, off) -> lane - 1 */
    dmt_store_map other;   /* dev -> "other registers" lane - 1 */
    dmt_store_map irq;     /* dev -> lane - 1 */
    dmt_store_map xfer;    /* adapter -> lane - 1 */
    int64_t lost, markers; /* lane - 1, or -1 */
    /* the shared lanes of a trace with more than DMT_STORE_MAX_LANES lanes
     * (dev / adapter NULL): lane - 1, or UINT32_MAX */
    uint32_t over_reg, over_irq, over_xfer;
} lane_index;

struct dmt_store_levels {
    od_cache od;
    lane_index li;
};

#define OD_NOMEM(err) dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory")

/* ---- stored rows ------------------------------------------------------------------ */

typedef struct buckets_ctx {
    int level;
    dmt_store_bucket_fn fn;
    void *ctx;
} buckets_ctx;

static int bucket_row(sqlite3_stmt *q, void *arg)
{
    const buckets_ctx *c = arg;
    dmt_store_bucket b;
    dmt_store_bucket_read(q, 1, sqlite3_column_int64(q, 0), c->level, &b);
    return c->fn ? c->fn(c->ctx, &b) : 0;
}

int dmt_store_buckets(dmt_store *st, int level, int64_t lane, int64_t b0, int64_t b1,
                      dmt_store_bucket_fn fn, void *ctx, dmt_error *err)
{
    sqlite3_stmt *q;
    int rc = lane < 0 ? dmt_store_cached(st, DMT_Q_BUCKETS_ALL,
                                         "SELECT lane, " DMT_STORE_BUCKET_COLUMNS " FROM summary "
                                         "WHERE level = ?1 AND bucket BETWEEN ?3 AND ?4 "
                                         "ORDER BY lane, bucket",
                                         &q, err)
                      : dmt_store_cached(st, DMT_Q_BUCKETS,
                                         "SELECT lane, " DMT_STORE_BUCKET_COLUMNS " FROM summary "
                                         "WHERE level = ?1 AND lane = ?2 AND bucket BETWEEN ?3 "
                                         "AND ?4 ORDER BY bucket",
                                         &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, level);
    if (lane >= 0)
        sqlite3_bind_int64(q, 2, lane);
    sqlite3_bind_int64(q, 3, b0);
    sqlite3_bind_int64(q, 4, b1);
    buckets_ctx c = {level, fn, ctx};
    return dmt_store_each_row(st, q, true, bucket_row, &c, "summary", err);
}

static int copy_bucket(void *ctx, const dmt_store_bucket *b)
{
    *(dmt_store_bucket *)ctx = *b;
    return 0;
}

int dmt_store_bucket_before(dmt_store *st, int level, int64_t lane, int64_t bucket,
                            dmt_store_bucket *b, dmt_error *err)
{
    sqlite3_stmt *q;
    int rc = dmt_store_cached(st, DMT_Q_BEFORE,
                              "SELECT lane, " DMT_STORE_BUCKET_COLUMNS " FROM summary WHERE level "
                              "= ?1 AND lane = ?2 AND bucket < ?3 ORDER BY bucket DESC LIMIT 1",
                              &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, level);
    sqlite3_bind_int64(q, 2, lane);
    sqlite3_bind_int64(q, 3, bucket);
    buckets_ctx c = {level, copy_bucket, b};
    return dmt_store_step_one(st, q, true, bucket_row, &c, "summary", err);
}

/* ---- dmt_store_summary -------------------------------------------------------------- */

/* First time of bucket b at level L and the last, saturating. */
static int64_t bucket_start(int64_t b, int L)
{
    unsigned s = DMT_STORE_LEVEL_SHIFT(L);
    if (b > (INT64_MAX >> s))
        return INT64_MAX;
    if (b < (INT64_MIN >> s))
        return INT64_MIN;
    return (int64_t)((uint64_t)b << s);
}

static int64_t bucket_end(int64_t b, int L)
{
    int64_t s = bucket_start(b, L);
    int64_t w = (int64_t)1 << DMT_STORE_LEVEL_SHIFT(L);
    return s > INT64_MAX - (w - 1) ? INT64_MAX : s + (w - 1);
}

/* ---- levels computed on demand ------------------------------------------------- */

static void od_free(od_cache *c)
{
    for (size_t i = 0; i < c->nsets; i++)
        free(c->sets[i].b);
    free(c->sets);
    memset(c, 0, sizeof *c);
}

static void li_free(lane_index *x)
{
    free(x->lanes);
    dmt_store_map_free(&x->reg);
    dmt_store_map_free(&x->other);
    dmt_store_map_free(&x->irq);
    dmt_store_map_free(&x->xfer);
    memset(x, 0, sizeof *x);
}

void dmt_store_levels_free(dmt_store *st)
{
    if (st->lv) {
        od_free(&st->lv->od);
        li_free(&st->lv->li);
        free(st->lv);
        st->lv = NULL;
    }
}

static int li_load(dmt_store *st, dmt_error *err)
{
    lane_index *x = &st->lv->li;
    if (x->loaded)
        return 0;
    int n = dmt_store_lanes(st, NULL, 0, err);
    if (n < 0)
        return n;
    x->lanes = calloc((size_t)n + 1, sizeof *x->lanes);
    if (!x->lanes)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    int m = dmt_store_lanes(st, x->lanes, (size_t)n, err);
    if (m < 0)
        return m;
    x->n = (size_t)(m < n ? m : n);
    x->lost = x->markers = -1;
    x->over_reg = x->over_irq = x->over_xfer = UINT32_MAX;
    for (size_t i = 0; i < x->n; i++) {
        const dmt_store_lane *l = &x->lanes[i];
        if (l->lane != (int64_t)i + 1)
            return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "lanes are not numbered 1..%zu", x->n);
        int rc = 0;
        switch (l->kind) {
        case DMT_LANE_REGISTER:
            if (l->dev < 0)
                x->over_reg = (uint32_t)i;
            else if (l->off >= 0)
                rc = dmt_store_map_put(&x->reg, (uint64_t)l->dev, (uint64_t)l->off, (uint32_t)i);
            else
                rc = dmt_store_map_put(&x->other, (uint64_t)l->dev, 0, (uint32_t)i);
            break;
        case DMT_LANE_INTERRUPTS:
            if (l->dev < 0)
                x->over_irq = (uint32_t)i;
            else
                rc = dmt_store_map_put(&x->irq, (uint64_t)l->dev, 0, (uint32_t)i);
            break;
        case DMT_LANE_TRANSFERS:
            if (l->adapter < 0)
                x->over_xfer = (uint32_t)i;
            else
                rc = dmt_store_map_put(&x->xfer, (uint64_t)l->adapter, 0, (uint32_t)i);
            break;
        case DMT_LANE_LOST:
            x->lost = (int64_t)i;
            break;
        case DMT_LANE_MARKERS:
            x->markers = (int64_t)i;
            break;
        default:
            break;
        }
        if (rc)
            return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    x->loaded = true;
    return 0;
}

/* The bucket of set s (lane, level) that ts falls into, created empty. */
static dmt_store_bucket *bset_at(bset *s, int64_t lane, int level, int64_t ts)
{
    int64_t k = dmt_store_bucket_of(ts, level);
    size_t lo = 0, hi = s->n;
    if (s->n && s->b[s->n - 1].bucket == k)
        return &s->b[s->n - 1];
    if (s->n && s->b[s->n - 1].bucket < k) {
        lo = s->n;
    } else {
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (s->b[mid].bucket < k)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < s->n && s->b[lo].bucket == k)
            return &s->b[lo];
    }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        dmt_store_bucket *nb = realloc(s->b, nc * sizeof *nb);
        if (!nb)
            return NULL;
        s->b = nb;
        s->cap = nc;
    }
    memmove(&s->b[lo + 1], &s->b[lo], (s->n - lo) * sizeof *s->b);
    s->n++;
    dmt_store_bucket_init(&s->b[lo], lane, level, k);
    return &s->b[lo];
}

/* Seq hull of the time_index blocks that meet [a, b]; *any false if none. */
static int seq_hull(dmt_store *st, int64_t a, int64_t b, int64_t *s0, int64_t *s1, bool *any,
                    dmt_error *err)
{
    return dmt_store_int_pair(st,
                              "SELECT min(first_seq), max(last_seq) FROM time_index "
                              "WHERE ts_max >= ?1 AND ts_min <= ?2",
                              2, a, b, s0, s1, any, err);
}

/* The lane the importer gave an event (dmt_imp_lane_get, store_import_lanes.c):
 * its own, else its device's "other" lane, else the shared one. */
static uint32_t reg_lane_of(const lane_index *x, uint64_t dev, uint64_t off)
{
    uint32_t v = dmt_store_map_get(&x->reg, dev, off);
    if (v == UINT32_MAX)
        v = dmt_store_map_get(&x->other, dev, 0);
    return v != UINT32_MAX ? v : x->over_reg;
}

static uint32_t by_id(const dmt_store_map *m, uint32_t over, uint64_t id)
{
    uint32_t v = dmt_store_map_get(m, id, 0);
    return v != UINT32_MAX ? v : over;
}

/* One event into its lane's bucket. */
static int od_event(void *arg, const dmt_store_event *e)
{
    dmt_store *st = arg;
    const lane_index *x = &st->lv->li;
    od_cache *c = &st->lv->od;
    bool buf = e->kind == DMT_K_REG_WRITE_BUF || e->kind == DMT_K_REG_READ_BUF;
    uint32_t n = buf ? e->count : 1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t li = e->kind == DMT_K_INTERRUPT ? by_id(&x->irq, x->over_irq, e->dev)
                      : e->kind == DMT_K_MARKER  ? (uint32_t)x->markers
                                                 : reg_lane_of(x, e->dev, e->off + i * e->width);
        if (li == UINT32_MAX || li >= c->nsets)
            continue;
        dmt_store_bucket *b = bset_at(&c->sets[li], (int64_t)li + 1, c->level, e->ts);
        if (!b)
            return DMT_E_NOMEM;
        if (e->kind == DMT_K_MARKER)
            dmt_store_bucket_add_marker(b, e->ts);
        else if (e->kind == DMT_K_INTERRUPT)
            dmt_store_bucket_add_value(b, e->ts, e->value, e->claimed);
        else
            dmt_store_bucket_add_value(b, e->ts, buf ? dmt_store_event_value(e, i) : e->value,
                                       e->is_write);
    }
    return 0;
}

/* Registers, interrupts and markers of [T0, T1] (seq range [s0, s1]), by seq,
 * so every lane sees its events in stream order (vlast ties). */
static int od_events(dmt_store *st, int64_t s0, int64_t s1, dmt_error *err)
{
    const lane_index *x = &st->lv->li;
    od_cache *c = &st->lv->od;
    unsigned what = DMT_STORE_EV_REGISTERS | DMT_STORE_EV_INTERRUPTS;
    if (x->markers >= 0)
        what |= DMT_STORE_EV_MARKERS;
    int rc =
        dmt_store_events(st, what, (uint64_t)s0, (uint64_t)s1, c->T0, c->T1, od_event, st, err);
    if (rc == DMT_E_NOMEM)
        return OD_NOMEM(err);
    return rc < 0 ? rc : 0;
}

/* Lost ranges. */
static int od_lost(dmt_store *st, int64_t s0, int64_t s1, dmt_error *err)
{
    const lane_index *x = &st->lv->li;
    od_cache *c = &st->lv->od;
    if (x->lost < 0 || (size_t)x->lost >= c->nsets)
        return 0;
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db,
                               "SELECT ts, reason, count FROM lost WHERE first_seq BETWEEN ?1 AND "
                               "?2 AND ts BETWEEN ?3 AND ?4 ORDER BY first_seq",
                               false, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, s0);
    sqlite3_bind_int64(q, 2, s1);
    sqlite3_bind_int64(q, 3, c->T0);
    sqlite3_bind_int64(q, 4, c->T1);
    int s;
    while (!rc && (s = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t ts = sqlite3_column_int64(q, 0);
        dmt_store_bucket *b = bset_at(&c->sets[x->lost], x->lost + 1, c->level, ts);
        if (!b)
            rc = OD_NOMEM(err);
        else
            dmt_store_bucket_add_value(b, ts, (uint64_t)sqlite3_column_int64(q, 1),
                                       (uint64_t)sqlite3_column_int64(q, 2));
    }
    if (!rc && s != SQLITE_DONE)
        rc = dmt_store_sql_error(err, st->db, s, "lost");
    sqlite3_finalize(q);
    return rc;
}
static int od_transfers(dmt_store *st, od_cache *c, dmt_error *err)
{
    const lane_index *x = &st->lv->li;
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db,
                               "SELECT adapter, t_begin, t_end, granted, duration_ns, outcome "
                               "FROM transfers WHERE t_begin BETWEEN ? AND ? AND adapter IS NOT "
                               "NULL ORDER BY t_begin",
                               false, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(q, 1, c->X0);
    sqlite3_bind_int64(q, 2, c->X1);
    int s;
    while (!rc && (s = sqlite3_step(q)) == SQLITE_ROW) {
        uint32_t li = by_id(&x->xfer, x->over_xfer, (uint64_t)sqlite3_column_int64(q, 0));
        if (li == UINT32_MAX || li >= c->nsets)
            continue;
        int64_t tb = sqlite3_column_int64(q, 1);
        dmt_store_bucket *b = bset_at(&c->sets[li], (int64_t)li + 1, c->level, tb);
        if (!b) {
            rc = OD_NOMEM(err);
            break;
        }
        const unsigned char *o = sqlite3_column_text(q, 5);
        dmt_store_bucket_add_transfer(
            b, tb, sqlite3_column_int64(q, 2), (uint64_t)sqlite3_column_int64(q, 3),
            sqlite3_column_type(q, 4) != SQLITE_NULL, sqlite3_column_int64(q, 4),
            !o || strcmp((const char *)o, "completed") != 0);
    }
    if (!rc && s != SQLITE_DONE)
        rc = dmt_store_sql_error(err, st->db, s, "transfers");
    sqlite3_finalize(q);
    return rc;
}

/* Make the cache hold level L for value lanes over [T0, T1] and transfer
 * lanes over t_begin in [X0, X1] (whole buckets). */
static int od_compute(dmt_store *st, int L, int64_t T0, int64_t T1, int64_t X0, int64_t X1,
                      dmt_error *err)
{
    if (!st->lv && !(st->lv = calloc(1, sizeof *st->lv)))
        return OD_NOMEM(err);
    od_cache *c = &st->lv->od;
    if (c->valid && c->level == L && c->T0 <= T0 && c->T1 >= T1 && c->X0 <= X0 && c->X1 >= X1)
        return 0;
    int rc = li_load(st, err);
    if (rc)
        return rc;
    od_free(c);
    c->sets = calloc(st->lv->li.n + 1, sizeof *c->sets);
    if (!c->sets)
        return OD_NOMEM(err);
    c->nsets = st->lv->li.n;
    c->level = L;
    c->T0 = T0;
    c->T1 = T1;
    c->X0 = X0;
    c->X1 = X1;
    int64_t s0 = 0, s1 = -1;
    bool any = false;
    rc = seq_hull(st, T0, T1, &s0, &s1, &any, err);
    if (!rc && any)
        rc = od_events(st, s0, s1, err);
    if (!rc && any)
        rc = od_lost(st, s0, s1, err);
    if (!rc)
        rc = od_transfers(st, c, err);
    if (rc)
        od_free(c);
    else
        c->valid = true;
    return rc;
}

typedef struct summary_ctx {
    int64_t b0, t0;
    dmt_store_bucket_fn fn;
    void *ctx;
    int n;
} summary_ctx;

/* Stored buckets before the window's first count only when spans reach t0. */
static int summary_keep(void *arg, const dmt_store_bucket *b)
{
    summary_ctx *c = arg;
    if (b->bucket < c->b0 && b->t_last < c->t0)
        return 0;
    c->n++;
    return c->fn ? c->fn(c->ctx, b) : 0;
}

int dmt_store_summary(dmt_store *st, int level, int64_t lane, int64_t t0, int64_t t1,
                      dmt_store_bucket_fn fn, void *ctx, dmt_error *err)
{
    if (level < 0 || level >= DMT_STORE_LEVELS)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX, "no level %d", level);
    dmt_store_lane l;
    int rc = dmt_store_lane_get(st, lane, &l, err);
    if (rc)
        return rc;
    bool xl = l.kind == DMT_LANE_TRANSFERS;
    int64_t b0 = dmt_store_bucket_of(t0, level), b1 = dmt_store_bucket_of(t1, level);
    /* transfers lanes: earlier buckets whose spans reach t0 */
    int64_t lo = xl ? dmt_store_bucket_of(dmt_store_sat_sub(t0, st->max_span), level) : b0;
    int n = 0;

    if (level >= st->min_level) {
        summary_ctx sc = {b0, t0, fn, ctx, 0};
        rc = dmt_store_buckets(st, level, lane, lo, b1, summary_keep, &sc, err);
        return rc < 0 ? rc : sc.n;
    }

    /* computed on demand, whole buckets */
    int64_t X0 =
        bucket_start(dmt_store_bucket_of(dmt_store_sat_sub(t0, st->max_span), level), level);
    if ((rc = od_compute(st, level, bucket_start(b0, level), bucket_end(b1, level), X0,
                         bucket_end(b1, level), err)))
        return rc;
    const od_cache *c = &st->lv->od;
    if (lane < 1 || (size_t)lane > c->nsets)
        return 0;
    const bset *bs = &c->sets[lane - 1];
    for (size_t i = 0; i < bs->n; i++) {
        const dmt_store_bucket *b = &bs->b[i];
        if (b->bucket > b1 || b->bucket < lo)
            continue;
        if (b->bucket < b0 && (!xl || b->t_last < t0))
            continue;
        n++;
        if (fn && fn(ctx, b))
            break;
    }
    return n;
}

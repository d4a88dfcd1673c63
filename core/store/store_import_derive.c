/*
 * store_import_derive.c - the derived resource tables (adapters, buffers,
 * common_buffers) folded in C from the resource records as they stream by,
 * for the stores that do not run store.sql's `derive` over a `resources`
 * table: every append (store_append.c, at each commit) and a trace-backed
 * whole import (no `resources` rows: the records stay in the trace).
 *
 * store.sql's derive makes a row a fold of its id's records in sequence
 * order: descriptive columns from the last creating record (ADAPTER_CREATE,
 * BUFFER_LOCK, COMMON_ALLOC), created seq/ts from the first, released
 * seq/ts from the last releasing one (the next kind), and no row for an id
 * no record creates.  Here the records noted since the last fold
 * (dmt_imp_derive_note) are sorted by table and id and each id's run is
 * folded into its row by one upsert (K rows per statement).
 *
 * Invariants
 *  - Every record noted comes after those a row already holds (records are
 *    noted in stream order, and a fold takes all noted so far), so the
 *    upsert keeps the row's created columns, takes the new descriptive
 *    ones, and takes the run's last release when it has one (else keeps
 *    the row's: coalesce).
 *  - A release of an id with no row yet (released before it was ever
 *    created) is in no row: it is kept in `pending` (table, id -> the
 *    latest such release) until a fold creates the row, which then takes
 *    it when its own run has no release; the entry goes when the row is
 *    made.  So a row never depends on records outside the noted runs and
 *    its own columns, and the fold equals store.sql's derive over all
 *    records seen so far after every call.
 *  - The noted records are at most DERIVE_BATCH (the caller folds when
 *    dmt_imp_derive_note says so); `pending` holds one entry per id
 *    released and not (yet) created, at most PEND_MAX (a real trace has
 *    the ids live when recording began; past the cap the trace is refused
 *    as bad input, DMT_E_FORMAT, as the rows could no longer be exact).
 * Never prints.
 */
#include <stdlib.h>
#include <string.h>

#include "store_import_internal.h"

/* records noted before a fold is due (small_limits: a few, so the tests
 * cross it) */
#define DERIVE_BATCH       65536u
#define DERIVE_BATCH_SMALL 8u
/* ids released before any record created them, remembered at once (a
 * hostile trace's distinct ids are unbounded; 1 Mi entries is ~80 MiB) */
#define PEND_MAX       (1u << 20)
#define PEND_MAX_SMALL 8u

/* The derived tables: the columns (key, the nv descriptive ones, created
 * seq and ts, released seq and ts), the kind that creates a row (the next
 * one releases it) and the upsert's SET clause: a row there already keeps
 * its created columns, and its release unless the run has a later one. */
static const struct {
    const char *name, *cols, *set;
    int nv, kind;
} derived[3] = {
    {"adapters",
     "adapter, dev, scatter_gather, dma32, dma64, max_length, map_registers, addr_limit, "
     "created_seq, created_ts, released_seq, released_ts",
     "dev = excluded.dev, scatter_gather = excluded.scatter_gather, dma32 = excluded.dma32, "
     "dma64 = excluded.dma64, max_length = excluded.max_length, "
     "map_registers = excluded.map_registers, addr_limit = excluded.addr_limit, "
     "released_seq = coalesce(excluded.released_seq, released_seq), "
     "released_ts = coalesce(excluded.released_ts, released_ts)",
     7, DMT_K_ADAPTER_CREATE},
    {"buffers", "mdl, va, length, op, locked_seq, locked_ts, unlocked_seq, unlocked_ts",
     "va = excluded.va, length = excluded.length, op = excluded.op, "
     "unlocked_seq = coalesce(excluded.unlocked_seq, unlocked_seq), "
     "unlocked_ts = coalesce(excluded.unlocked_ts, unlocked_ts)",
     3, DMT_K_BUFFER_LOCK},
    {"common_buffers",
     "cb, adapter, addr, length, va, cached, alloc_seq, alloc_ts, released_seq, released_ts",
     "adapter = excluded.adapter, addr = excluded.addr, length = excluded.length, "
     "va = excluded.va, cached = excluded.cached, "
     "released_seq = coalesce(excluded.released_seq, released_seq), "
     "released_ts = coalesce(excluded.released_ts, released_ts)",
     5, DMT_K_COMMON_ALLOC},
};

_Static_assert(DMT_K_ADAPTER_RELEASE == DMT_K_ADAPTER_CREATE + 1 &&
                   DMT_K_BUFFER_LOCK == DMT_K_ADAPTER_CREATE + 2 &&
                   DMT_K_BUFFER_UNLOCK == DMT_K_ADAPTER_CREATE + 3 &&
                   DMT_K_COMMON_ALLOC == DMT_K_ADAPTER_CREATE + 4 &&
                   DMT_K_COMMON_RELEASE == DMT_K_ADAPTER_CREATE + 5,
               "the derived kinds: create, release per table, in that order");

bool dmt_imp_derive_note(imp *im, const dmt_record *r)
{
    imp_derive *d = &im->dv;
    if (dmt_imp_grow((void **)&d->rev, &d->cap_res, d->n_res + 1, sizeof *d->rev)) {
        d->oom = true;
        return true;
    }
    res_ev *e = &d->rev[d->n_res++];
    memset(e, 0, sizeof *e);
    e->seq = r->seq;
    e->ts = r->ts;
    e->create = (r->kind - DMT_K_ADAPTER_CREATE) % 2 == 0;
    e->tbl = (uint8_t)((r->kind - DMT_K_ADAPTER_CREATE) / 2);
    switch (r->kind) {
    case DMT_K_ADAPTER_CREATE:
        e->v[0] = r->dev;
        e->v[1] = r->sg;
        e->v[2] = r->dma32;
        e->v[3] = r->dma64;
        e->v[4] = (int64_t)r->length;
        e->v[5] = r->map_registers;
        e->v[6] = (int64_t)r->addr_limit;
        /* fall through */
    case DMT_K_ADAPTER_RELEASE:
        e->id = r->adapter;
        break;
    case DMT_K_BUFFER_LOCK:
        e->v[0] = (int64_t)r->va;
        e->v[1] = (int64_t)r->length;
        e->v[2] = r->op;
        /* fall through */
    case DMT_K_BUFFER_UNLOCK:
        e->id = r->mdl;
        break;
    case DMT_K_COMMON_ALLOC:
        e->v[0] = r->adapter;
        e->v[1] = (int64_t)r->addr;
        e->v[2] = (int64_t)r->length;
        e->v[3] = (int64_t)r->va;
        e->v[4] = r->cached;
        /* fall through */
    default:
        e->id = r->cb;
        break;
    }
    return d->n_res >= (im->o && im->o->small_limits ? DERIVE_BATCH_SMALL : DERIVE_BATCH);
}

static int cmp_res(const void *x, const void *y)
{
    const res_ev *a = x, *b = y;
    if (a->tbl != b->tbl)
        return a->tbl < b->tbl ? -1 : 1;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* Sort the n noted records by (table, id, seq).  They were noted in stream
 * order, where an id's records mostly follow each other (lock, unlock) and
 * ids grow: nearly sorted, so an insertion sort does it in about n
 * comparisons.  Beyond 8 moves per record on average (ids interleaved far
 * apart) it hands the rest to qsort; the key is unique (seq), so either
 * gives the same order. */
static void sort_noted(res_ev *v, size_t n)
{
    size_t moves = 0, budget = 8 * n;
    for (size_t i = 1; i < n; i++) {
        if (cmp_res(&v[i - 1], &v[i]) <= 0)
            continue;
        res_ev x = v[i];
        size_t j = i;
        for (; j > 0 && cmp_res(&v[j - 1], &x) > 0; j--) {
            if (++moves > budget) {
                v[j] = x; /* the hole: the array is whole again */
                qsort(v, n, sizeof *v, cmp_res);
                return;
            }
            v[j] = v[j - 1];
        }
        v[j] = x;
    }
}

/* Table t's upsert of `rows` rows (1 or K), or its release UPDATE (rows 0). */
static int derived_prepare(imp *im, int t, int rows, sqlite3_stmt **st)
{
    int ncols = derived[t].nv + 5;
    sqlite3_str *q = sqlite3_str_new(im->db);
    if (!rows) {
        /* the last two columns are released seq and ts; the first the key */
        const char *c = derived[t].cols;
        sqlite3_str_appendf(
            q, "UPDATE main.%s SET (%s) = (?2, ?3) WHERE %.*s = ?1", derived[t].name,
            strstr(c, derived[t].kind == DMT_K_BUFFER_LOCK ? "unlocked_seq" : "released_seq"),
            (int)strcspn(c, ","), c);
    } else {
        sqlite3_str_appendf(q, "INSERT INTO main.%s(%s) VALUES ", derived[t].name, derived[t].cols);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < ncols; c++)
                sqlite3_str_appendf(q, "%s?", c ? ", " : r ? "), (" : "(");
        sqlite3_str_appendf(q, ") ON CONFLICT(%.*s) DO UPDATE SET %s",
                            (int)strcspn(derived[t].cols, ","), derived[t].cols, derived[t].set);
    }
    char *sql = sqlite3_str_finish(q);
    if (!sql)
        return dmt_imp_oom(im);
    int rc = dmt_store_prepare(im->db, sql, true, st, im->err);
    sqlite3_free(sql);
    return rc;
}

/* Write the rows staged for table d->dtbl. */
static int derived_flush(imp *im)
{
    imp_derive *d = &im->dv;
    int t = d->dtbl, ncols = derived[t].nv + 5, rows = d->nd == K ? K : 1, rc = 0;
    sqlite3_stmt **st = rows == K ? &d->upsert_k[t] : &d->upsert[t];
    dmt_bind_cache *bc = rows == K ? &d->bc_upsert_k[t] : &d->bc_upsert[t];
    if (!*st)
        rc = derived_prepare(im, t, rows, st);
    if (!rc)
        dmt_bc_attach(bc, *st);
    for (int r = 0; r < d->nd && !rc; r += rows) {
        for (int i = 0; i < rows * ncols; i++) {
            const drow *w = &d->drows[r + i / ncols];
            if (w->null & (1u << (i % ncols)))
                dmt_bc_null(bc, i + 1);
            else
                dmt_bc_int(bc, i + 1, w->v[i % ncols]);
        }
        rc = dmt_imp_step_done(im, *st, derived[t].name);
    }
    d->nd = 0;
    return rc;
}

static void put_opt_ev(drow *d, int c, const res_ev *e)
{
    if (e) {
        d->v[c] = (int64_t)e->seq;
        d->v[c + 1] = e->ts;
    } else {
        d->null |= 3u << c;
    }
}

/* pending: (table, id) -> index in d->pend (a dense array; a removed entry
 * takes the last one's place) */
static const res_ev *pending_get(imp_derive *d, int t, uint32_t id)
{
    uint32_t i = dmt_store_map_get(&d->pend_map, (uint64_t)t, id);
    return i == UINT32_MAX ? NULL : &d->pend[i];
}

static int pending_put(imp *im, const res_ev *rel)
{
    imp_derive *d = &im->dv;
    uint32_t i = dmt_store_map_get(&d->pend_map, rel->tbl, rel->id);
    if (i == UINT32_MAX) {
        const unsigned cap = im->o && im->o->small_limits ? PEND_MAX_SMALL : PEND_MAX;
        if (d->n_pend >= cap) {
            im->input_error = true;
            return dmt_error_set(im->err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "record seq %llu: more than %u resource ids released before "
                                 "any record created them",
                                 (unsigned long long)rel->seq, cap);
        }
        if (dmt_imp_grow((void **)&d->pend, &d->cap_pend, d->n_pend + 1, sizeof *d->pend))
            return dmt_imp_oom(im);
        i = (uint32_t)d->n_pend;
        if (dmt_store_map_put(&d->pend_map, rel->tbl, rel->id, i))
            return dmt_imp_oom(im);
        d->n_pend++;
    }
    d->pend[i] = *rel;
    return 0;
}

static void pending_del(imp_derive *d, int t, uint32_t id)
{
    uint32_t i = dmt_store_map_get(&d->pend_map, (uint64_t)t, id);
    if (i == UINT32_MAX)
        return;
    dmt_store_map_del(&d->pend_map, (uint64_t)t, id);
    if (i != --d->n_pend) {
        d->pend[i] = d->pend[d->n_pend];
        /* replacing an existing key's value cannot fail */
        (void)dmt_store_map_put(&d->pend_map, d->pend[i].tbl, d->pend[i].id, i);
    }
}

/* One id's noted records (e[0..n), in seq order) into its derived row. */
static int derive_one(imp *im, const res_ev *e, size_t n)
{
    imp_derive *d = &im->dv;
    int t = e->tbl, rc = 0;
    const res_ev *first = NULL, *last = NULL, *rel = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!e[i].create)
            rel = &e[i];
        else if (!first)
            first = &e[i];
        if (e[i].create)
            last = &e[i];
    }
    if (!first) { /* only releases: the row's, or pending until one is made */
        if (!d->released[t] && (rc = derived_prepare(im, t, 0, &d->released[t])))
            return rc;
        sqlite3_stmt *st = d->released[t];
        sqlite3_bind_int64(st, 1, e->id);
        sqlite3_bind_int64(st, 2, (int64_t)rel->seq);
        sqlite3_bind_int64(st, 3, rel->ts);
        if ((rc = dmt_imp_step_done(im, st, derived[t].name)))
            return rc;
        return sqlite3_changes(im->db) ? 0 : pending_put(im, rel);
    }
    res_ev before;
    if (!rel) { /* no release in the run: one before the row was made, if any */
        const res_ev *p = pending_get(d, t, e->id);
        if (p) {
            before = *p;
            rel = &before;
        }
    }
    pending_del(d, t, e->id);
    if (d->nd && (d->dtbl != t || d->nd == K) && (rc = derived_flush(im)))
        return rc;
    d->dtbl = t;
    drow *w = &d->drows[d->nd++];
    int nv = derived[t].nv;
    w->null = 0;
    w->v[0] = e->id;
    memcpy(&w->v[1], last->v, (size_t)nv * sizeof w->v[0]);
    put_opt_ev(w, 1 + nv, first);
    put_opt_ev(w, 3 + nv, rel);
    return 0;
}

int dmt_imp_derive(imp *im)
{
    imp_derive *d = &im->dv;
    if (d->oom)
        return dmt_imp_oom(im);
    if (!d->n_res)
        return 0;
    sort_noted(d->rev, d->n_res);
    int rc = 0;
    for (size_t i = 0, j; i < d->n_res && !rc; i = j) {
        for (j = i + 1;
             j < d->n_res && d->rev[j].tbl == d->rev[i].tbl && d->rev[j].id == d->rev[i].id; j++)
            ;
        rc = derive_one(im, &d->rev[i], j - i);
    }
    if (!rc && d->nd)
        rc = derived_flush(im);
    if (!rc)
        d->n_res = 0;
    return rc;
}

void dmt_imp_derive_free(imp *im)
{
    imp_derive *d = &im->dv;
    for (int t = 0; t < 3; t++) {
        dmt_bc_free(&d->bc_upsert[t]);
        dmt_bc_free(&d->bc_upsert_k[t]);
        sqlite3_finalize(d->upsert[t]);
        sqlite3_finalize(d->upsert_k[t]);
        sqlite3_finalize(d->released[t]);
    }
    dmt_store_map_free(&d->pend_map);
    free(d->pend);
    free(d->rev);
    memset(d, 0, sizeof *d);
}

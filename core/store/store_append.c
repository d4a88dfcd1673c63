/*
 * store_append.c - dmt_store_append_*: a store that grows with a trace
 * being written (the viewer's follow mode).  The same streaming state and
 * row code as dmt_store_import (store_import*.c), kept across batches; one
 * SQLite transaction per batch, and after every COMMIT the database equals
 * what dmt_store_import makes of the records appended so far (except the
 * import facts in meta and the lanes' numbering when a written transfer
 * was reopened, see below).
 *
 *   batch k:  BEGIN
 *             undo commit k-1's provisional summary rows  (undo log)
 *             records -> rows, transfer state, lanes, open buckets
 *             flush the row buffers                        (final rows)
 *             materialise what a whole import would write at the end:
 *               open transfers changed since the last commit
 *                               -> DELETE + INSERT         (rewritten later)
 *               open buckets    -> INSERT OR REPLACE       (rewritten later)
 *               open transfers' share of closed buckets    (undo log)
 *               partial time-index block -> REPLACE        (rewritten later)
 *               adapters/buffers/common_buffers: the rows of the ids
 *                 the batch's resource records named, derived in C from
 *                 the batch and the row already there -> upsert
 *               lanes (+ findings last), reg names, meta
 *   (a trace-backed store, opts.events_in_trace: the raw event tables get
 *   no rows, as in an import; the caller's chunk boundaries,
 *   dmt_store_append_resume, become the time index's resume points)
 *             COMMIT
 *
 * Invariants
 *  - The streaming state (open transfers, open buckets, lanes, time-index
 *    block) is never changed by a commit: materialising works on copies, so
 *    records after a commit are handled exactly as in one import.
 *  - A provisional row is either one the stream rewrites by key before the
 *    next commit or at it (open transfers, open buckets, the time-index
 *    block: their INSERTs are INSERT OR REPLACE in an append, except open
 *    transfers, whose row a commit wrote - xstate.stored - is deleted
 *    before it is written again; an open transfer not looked up since the
 *    commit that wrote it - xstate.dirty clear - already has the row it
 *    would get, and is skipped), or one in
 *    the undo log, put back (old content, or deleted) at the start of the
 *    next batch, before any record; so the stream never reads a
 *    provisional row (late summary events only read buckets that are not
 *    open, and those are restored first).
 *  - Readers (other connections; the database is in WAL mode) see only
 *    committed batches: each a consistent prefix with transfers, summaries,
 *    time index and indexes of the same records.
 *  - A written transfer reopened by a late record makes the whole import
 *    recompute the transfer lanes from the table at its end; an append does
 *    so at every commit from then on (cost: the transfers table).
 *  - Derived rows (adapters, buffers, common_buffers) are final, not
 *    provisional: a row is a fold of its id's records in sequence order
 *    (store.sql derive), so the batch's records fold into the committed row
 *    (they all come after the records it holds).  An id's release before
 *    its first creating record is in no row: that one is read back from
 *    resources (by index) when the batch creates the row without a release.
 *  - Event rows are INSERT OR FAIL (store_import.c: dmt_imp_prepare): no
 *    statement journal; a failed call rolls the whole batch back and the
 *    appender is dead.
 * Never prints; memory is the import's bounds plus the undo log (open
 * transfers x stored levels) and the batch's resource records (at most one
 * per record of the batch).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_import_internal.h"

/* One resource record of the batch, as its derived row needs it (store.sql
 * section derive: the columns it takes from the resources row). */
typedef struct res_ev {
    uint64_t seq;
    int64_t ts;
    int64_t v[7]; /* the derived row's descriptive columns (creating kinds) */
    uint32_t id;
    uint8_t tbl; /* 0 adapters, 1 buffers, 2 common_buffers */
    bool create; /* ADAPTER_CREATE, BUFFER_LOCK, COMMON_ALLOC */
} res_ev;

/* A derived row staged for its upsert: key, descriptive columns, created
 * and released seq and ts (bit c of null: column c is NULL). */
typedef struct drow {
    int64_t v[12];
    unsigned null;
} drow;

struct dmt_store_appender {
    imp im;
    dmt_store_import_opts opts;
    dmt_store_import_result res;
    dmt_header hdr;
    char *trace;
    bool in_tx, indexed;
    int failed;  /* a failed call's code: the state no longer matches the file */
    res_ev *rev; /* the batch's resource records (derived rows: derive()) */
    size_t n_res, cap_res;
    sqlite3_stmt *upsert[3], *upsert_k[3], *released[3], *last_release;
    drow drows[K]; /* staged upserts of table dtbl */
    int nd, dtbl;
    sum_undo *undo;
    size_t n_undo, cap_undo;
    dmt_store_transfer *open; /* finished copies of the open transfers */
    size_t cap_open;
    dmt_store_transfer *rows; /* those of them changed since the last commit */
    size_t cap_rows;
    dmt_sg_elem *sg; /* a record's SG list, packed */
};

static int begin(dmt_store_appender *a)
{
    if (a->in_tx)
        return 0;
    int rc = dmt_store_exec(a->im.db, "BEGIN IMMEDIATE", a->im.err);
    if (rc)
        return rc;
    a->in_tx = true;
    rc = dmt_imp_summary_undo(&a->im, a->undo, a->n_undo);
    a->n_undo = 0;
    return rc;
}

static int rollback(dmt_store_appender *a, int rc)
{
    if (a->in_tx)
        sqlite3_exec(a->im.db, "ROLLBACK", NULL, NULL, NULL);
    a->in_tx = false;
    if (rc)
        a->failed = rc;
    return rc;
}

static int dead(dmt_store_appender *a, dmt_error *err)
{
    return dmt_error_set(err, a->failed, DMT_NO_INDEX, DMT_NO_INDEX,
                         "the store append failed before");
}

int dmt_store_append_open(const char *db_path, const char *trace, const dmt_header *hdr,
                          const dmt_store_import_opts *opts, dmt_store_appender **out,
                          dmt_error *err)
{
    *out = NULL;
    if (!db_path || !hdr)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX, "no file name");
    dmt_store_appender *a = calloc(1, sizeof *a);
    if (!a || !(a->sg = malloc((size_t)DMT_MAX_SG_ELEMENTS * sizeof(dmt_sg_elem)))) {
        free(a);
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    if (opts)
        a->opts = *opts;
    a->opts.progress = NULL; /* batches are short: nothing to report */
    a->hdr = *hdr;
    a->trace = strdup(trace ? trace : "");
    dmt_imp_init(&a->im, &a->opts, &a->res, err);
    /* a fresh file: an old one (and its WAL) is replaced */
    size_t n = strlen(db_path) + 8;
    char *side = malloc(n);
    if (side) {
        unlink(db_path);
        snprintf(side, n, "%s-wal", db_path);
        unlink(side);
        snprintf(side, n, "%s-shm", db_path);
        unlink(side);
        free(side);
    }
    int rc = sqlite3_open_v2(
        db_path, &a->im.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = dmt_store_sql_error(err, a->im.db, rc, "cannot create the database");
        a->res.output_error = true;
    } else {
        static const char pragmas[] = "PRAGMA page_size = 65536;"
                                      "PRAGMA journal_mode = WAL;"
                                      "PRAGMA synchronous = OFF;"
                                      "PRAGMA cache_size = -65536;"
                                      "PRAGMA temp_store = MEMORY;";
        rc = dmt_store_exec(a->im.db, pragmas, err);
        if (!rc)
            rc = begin(a);
        if (!rc)
            rc = dmt_imp_run_section(&a->im, "tables");
        if (!rc)
            rc = dmt_imp_prepare(&a->im, true);
        if (!rc && a->opts.events_in_trace)
            rc = dmt_imp_trace_backed(&a->im, a->trace);
        if (!rc) {
            dmt_store_append_facts f = {.cut = true, .cut_why = "still being written"};
            rc = dmt_store_append_commit(a, &f, err);
        }
        /* the file's own header (application_id, what dmt_sniff reads) on
         * disk, not only in the WAL */
        if (!rc)
            rc = dmt_store_exec(a->im.db, "PRAGMA wal_checkpoint(TRUNCATE)", err);
    }
    if (rc) {
        dmt_store_append_close(a);
        unlink(db_path);
        return rc;
    }
    *out = a;
    return 0;
}

void dmt_store_append_resume(dmt_store_appender *a, const struct dmt_reader_resume *rp)
{
    a->im.rp_cur = *rp;
    a->im.rp_have = true;
    if (rp->offset > a->im.trace_bytes)
        a->im.trace_bytes = rp->offset;
}

int dmt_store_append_begin(dmt_store_appender *a, dmt_error *err)
{
    if (a->failed)
        return dead(a, err);
    a->im.err = err;
    int rc = begin(a);
    return rc ? rollback(a, rc) : 0;
}

/* A resource record as its derived row takes it: the values the resources
 * row holds (store_import.c, T_RES), as store.sql's derive turns them into
 * the adapters, buffers and common_buffers columns. */
static void res_note(res_ev *e, const dmt_record *r)
{
    memset(e, 0, sizeof *e);
    e->seq = r->seq;
    e->ts = r->ts;
    e->create = r->kind % 2 == DMT_K_ADAPTER_CREATE % 2;
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
        e->tbl = 0;
        e->id = r->adapter;
        break;
    case DMT_K_BUFFER_LOCK:
        e->v[0] = (int64_t)r->va;
        e->v[1] = (int64_t)r->length;
        e->v[2] = r->op;
        /* fall through */
    case DMT_K_BUFFER_UNLOCK:
        e->tbl = 1;
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
        e->tbl = 2;
        e->id = r->cb;
        break;
    }
}

int dmt_store_append_add(dmt_store_appender *a, const dmt_record *r, dmt_error *err)
{
    if (a->failed)
        return dead(a, err);
    a->im.err = err;
    int rc = begin(a);
    if (rc)
        return rollback(a, rc);
    dmt_record c;
    if (r->n_sg && r->sg_stride && r->sg_stride != sizeof(dmt_sg_elem)) {
        if (r->n_sg > DMT_MAX_SG_ELEMENTS)
            return rollback(a, dmt_error_set(err, DMT_E_FORMAT, r->pos, DMT_NO_INDEX,
                                             "SG list of %u elements", r->n_sg));
        c = *r;
        dmt_imp_sg_pack(a->sg, r);
        c.sg_list = a->sg;
        c.sg_stride = 0;
        r = &c;
    }
    if (r->kind >= DMT_K_ADAPTER_CREATE && r->kind <= DMT_K_COMMON_RELEASE) {
        if (dmt_imp_grow((void **)&a->rev, &a->cap_res, a->n_res + 1, sizeof *a->rev))
            return rollback(a, dmt_imp_oom(&a->im));
        res_note(&a->rev[a->n_res++], r);
    }
    rc = dmt_imp_add(&a->im, r);
    return rc ? rollback(a, rc) : 0;
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

/* The derived tables: the columns (key, the nv descriptive ones, created
 * seq and ts, released seq and ts), the kind that creates a row (the next
 * one releases it) and the upsert's SET clause: a row there already keeps
 * its created columns. */
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
     "released_seq = excluded.released_seq, released_ts = excluded.released_ts",
     7, DMT_K_ADAPTER_CREATE},
    {"buffers", "mdl, va, length, op, locked_seq, locked_ts, unlocked_seq, unlocked_ts",
     "va = excluded.va, length = excluded.length, op = excluded.op, "
     "unlocked_seq = excluded.unlocked_seq, unlocked_ts = excluded.unlocked_ts",
     3, DMT_K_BUFFER_LOCK},
    {"common_buffers",
     "cb, adapter, addr, length, va, cached, alloc_seq, alloc_ts, released_seq, released_ts",
     "adapter = excluded.adapter, addr = excluded.addr, length = excluded.length, "
     "va = excluded.va, cached = excluded.cached, released_seq = excluded.released_seq, "
     "released_ts = excluded.released_ts",
     5, DMT_K_COMMON_ALLOC},
};

/* Table t's upsert of `rows` rows (1 or K), or its release UPDATE (rows 0). */
static int derived_prepare(dmt_store_appender *a, int t, int rows, sqlite3_stmt **st)
{
    int ncols = derived[t].nv + 5;
    sqlite3_str *q = sqlite3_str_new(a->im.db);
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
        return dmt_imp_oom(&a->im);
    int rc = dmt_store_prepare(a->im.db, sql, true, st, a->im.err);
    sqlite3_free(sql);
    return rc;
}

/* Write the rows staged for table a->dtbl. */
static int derived_flush(dmt_store_appender *a)
{
    int t = a->dtbl, ncols = derived[t].nv + 5, rows = a->nd == K ? K : 1, rc = 0;
    sqlite3_stmt **st = rows == K ? &a->upsert_k[t] : &a->upsert[t];
    if (!*st)
        rc = derived_prepare(a, t, rows, st);
    for (int r = 0; r < a->nd && !rc; r += rows) {
        for (int i = 0; i < rows * ncols; i++) {
            const drow *d = &a->drows[r + i / ncols];
            if (d->null & (1u << (i % ncols)))
                sqlite3_bind_null(*st, i + 1);
            else
                sqlite3_bind_int64(*st, i + 1, d->v[i % ncols]);
        }
        rc = dmt_imp_step_done(&a->im, *st, derived[t].name);
    }
    a->nd = 0;
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

/* One id's records of the batch (e[0..n), in seq order) into its derived
 * row, as store.sql's derive computes it from all its records: descriptive
 * columns from the last creating record, created from the first, released
 * from the last releasing one; no row until one creates it.  The rows
 * written before hold the records before the batch, which come first. */
static int derive_one(dmt_store_appender *a, const res_ev *e, size_t n)
{
    imp *im = &a->im;
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
    if (!first) { /* only releases: a row there is, if any, is released */
        if (!a->released[t] && (rc = derived_prepare(a, t, 0, &a->released[t])))
            return rc;
        sqlite3_stmt *st = a->released[t];
        sqlite3_bind_int64(st, 1, e->id);
        sqlite3_bind_int64(st, 2, (int64_t)rel->seq);
        sqlite3_bind_int64(st, 3, rel->ts);
        return dmt_imp_step_done(im, st, derived[t].name);
    }
    res_ev before; /* no release in the batch: the last one before it */
    if (!rel) {
        sqlite3_stmt *st = a->last_release;
        sqlite3_bind_int(st, 1, derived[t].kind + 1);
        sqlite3_bind_int64(st, 2, e->id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            before.seq = (uint64_t)sqlite3_column_int64(st, 0);
            before.ts = sqlite3_column_int64(st, 1);
            rel = &before;
        }
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return dmt_store_sql_error(im->err, im->db, rc, "resources");
    }
    if (a->nd && (a->dtbl != t || a->nd == K) && (rc = derived_flush(a)))
        return rc;
    a->dtbl = t;
    drow *d = &a->drows[a->nd++];
    int nv = derived[t].nv;
    d->null = 0;
    d->v[0] = e->id;
    memcpy(&d->v[1], last->v, (size_t)nv * sizeof d->v[0]);
    put_opt_ev(d, 1 + nv, first);
    put_opt_ev(d, 3 + nv, rel);
    return 0;
}

/* the releasing kinds, as the last-release query and store.sql's partial
 * index resources_by_id name them */
_Static_assert(DMT_K_ADAPTER_RELEASE == 10 && DMT_K_BUFFER_UNLOCK == 12 &&
                   DMT_K_COMMON_RELEASE == 14,
               "resources_by_id covers the releasing kinds");

/* The derived rows of the ids the batch's resource records named, in C
 * from the batch alone (no statement reads the resources table but for a
 * release before the batch of an id the batch creates). */
static int derive(dmt_store_appender *a)
{
    imp *im = &a->im;
    int rc = 0;
    if (!a->last_release)
        rc = dmt_store_prepare(im->db,
                               "SELECT seq, ts FROM main.resources WHERE kind IN (10, 12, 14) "
                               "AND kind = ?1 AND id = ?2 "
                               "ORDER BY seq DESC LIMIT 1",
                               true, &a->last_release, im->err);
    qsort(a->rev, a->n_res, sizeof *a->rev, cmp_res);
    for (size_t i = 0, j; i < a->n_res && !rc; i = j) {
        for (j = i + 1;
             j < a->n_res && a->rev[j].tbl == a->rev[i].tbl && a->rev[j].id == a->rev[i].id; j++)
            ;
        rc = derive_one(a, &a->rev[i], j - i);
    }
    if (!rc && a->nd)
        rc = derived_flush(a);
    if (!rc)
        a->n_res = 0;
    return rc;
}

/* What the whole import writes after its last record, on copies. */
static int materialise(dmt_store_appender *a, const dmt_store_append_facts *f)
{
    imp *im = &a->im;
    int rc = dmt_imp_xfer_flush(im);
    for (int i = 0; i < T_COUNT_ && !rc; i++)
        rc = dmt_imp_tbuf_flush(im, &im->tb[i]);
    /* open transfers, finished on copies, in the order the import writes them */
    size_t n = 0, n_rows = 0;
    int64_t span = im->max_span;
    for (size_t i = 0; i < im->nxs && !rc; i++) {
        if (dmt_store_map_get(&im->xmap, im->xs[i].t.xfer, 0) != i)
            continue;
        if (dmt_imp_grow((void **)&a->open, &a->cap_open, n + 1, sizeof *a->open)) {
            rc = dmt_imp_oom(im);
            break;
        }
        dmt_store_transfer *t = &a->open[n++];
        *t = im->xs[i].t;
        dmt_store_xfer_finish(t);
        if (t->t_end - t->t_begin > span)
            span = t->t_end - t->t_begin;
        /* one not looked up since the last commit has that commit's row */
        if (!im->xs[i].dirty)
            continue;
        if (dmt_imp_grow((void **)&a->rows, &a->cap_rows, n_rows + 1, sizeof *a->rows)) {
            rc = dmt_imp_oom(im);
            break;
        }
        /* its row, if any, goes first: the INSERTs never replace */
        if ((im->xs[i].stored || im->xs[i].reloaded) && (rc = dmt_imp_xfer_unstore(im, t->xfer)))
            break;
        a->rows[n_rows++] = *t;
        im->xs[i].dirty = false;
        im->xs[i].stored = true;
    }
    if (!rc)
        rc = dmt_imp_xfer_rows(im, a->rows, n_rows);
    if (!rc)
        rc = dmt_imp_tidx_put(im, true);
    if (!rc)
        rc = dmt_imp_tbuf_flush(im, &im->tb[T_TIDX]);
    if (!rc && im->xfer_reloaded) {
        /* as the import's end does: the transfer lanes from the table (which
         * holds the open ones now), then the open buckets */
        rc = dmt_imp_transfer_summaries(im);
        if (!rc)
            rc = dmt_imp_lanes_materialize(im, NULL, 0, &a->undo, &a->n_undo, &a->cap_undo);
    } else if (!rc) {
        rc = dmt_imp_lanes_materialize(im, a->open, n, &a->undo, &a->n_undo, &a->cap_undo);
    }
    if (!rc && a->n_res)
        rc = derive(a);
    if (!rc)
        rc = dmt_store_exec(im->db,
                            "DELETE FROM lanes; DELETE FROM reg_names; DELETE FROM reg_fields; "
                            "DELETE FROM meta;",
                            im->err);
    if (!rc && !a->indexed && !(rc = dmt_imp_run_section(im, "indexes")))
        a->indexed = true;
    if (!rc)
        rc = dmt_imp_write_lanes(im, true);
    if (!rc)
        rc = dmt_imp_reg_names(im);
    if (!rc) {
        a->res.records = im->records;
        a->res.skipped = f ? f->skipped : 0;
        a->res.cut = f ? f->cut : false;
        a->res.cut_offset = f ? f->cut_offset : 0;
        snprintf(a->res.cut_why, sizeof a->res.cut_why, "%s", f && f->cut_why ? f->cut_why : "cut");
        int64_t keep = im->max_span;
        im->max_span = span;
        rc = dmt_imp_write_meta(im, &a->hdr, a->trace, &a->res);
        im->max_span = keep;
    }
    return rc;
}

int dmt_store_append_commit(dmt_store_appender *a, const dmt_store_append_facts *f, dmt_error *err)
{
    if (a->failed)
        return dead(a, err);
    a->im.err = err;
    int rc = begin(a);
    if (!rc)
        rc = materialise(a, f);
    if (!rc)
        rc = dmt_store_exec(a->im.db, "COMMIT", err);
    if (rc)
        return rollback(a, rc);
    a->in_tx = false;
    return 0;
}

struct sqlite3 *dmt_store_append_sqlite(dmt_store_appender *a)
{
    return a->im.db;
}

uint64_t dmt_store_append_records(const dmt_store_appender *a)
{
    return a->im.records;
}

void dmt_store_append_close(dmt_store_appender *a)
{
    if (!a)
        return;
    rollback(a, 0);
    for (int t = 0; t < 3; t++) {
        sqlite3_finalize(a->upsert[t]);
        sqlite3_finalize(a->upsert_k[t]);
        sqlite3_finalize(a->released[t]);
    }
    sqlite3_finalize(a->last_release);
    dmt_imp_free(&a->im);
    if (a->im.db)
        sqlite3_close(a->im.db);
    free(a->undo);
    free(a->open);
    free(a->rows);
    free(a->rev);
    free(a->sg);
    free(a->trace);
    free(a);
}

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
 *                 the batch's resource records named, folded in C from
 *                 the batch and the row already there -> upsert
 *                 (store_import_derive.c)
 *               lanes (+ findings last), reg names, meta
 *   (a trace-backed store, opts.events_in_trace: the raw event tables get
 *   no rows, as in an import; the caller's chunk boundaries,
 *   dmt_store_append_resume, become the time index's resume points)
 *             COMMIT
 *
 * Invariants
 *  - The streaming state (open transfers, open buckets, lanes, time-index
 *    block) is never changed by a commit: materialising works on copies, so
 *    records after a commit are handled exactly as in one import.  (The
 *    one exception changes no result: each lane's accumulator goes to its
 *    levels first, see `lane` in store_import_internal.h.)
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
 *    its first creating record is in no row: the fold keeps it in memory
 *    until a record creates the row (store_import_derive.c); no statement
 *    reads the resources table, which a trace-backed store leaves empty.
 *  - Event rows are INSERT OR FAIL (store_import.c: dmt_imp_prepare): no
 *    statement journal; a failed call rolls the whole batch back and the
 *    appender is dead.
 * Never prints; memory is the import's bounds plus the undo log (open
 * transfers x stored levels) and the fold's (store_import_derive.c: at
 * most 65 536 resource records between folds, one entry per id released
 * and not yet created).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_import_internal.h"

struct dmt_store_appender {
    imp im;
    dmt_store_import_opts opts;
    dmt_store_import_result res;
    dmt_header hdr;
    char *trace;
    bool in_tx, indexed;
    int failed; /* a failed call's code: the state no longer matches the file */
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
    a->im.fold_derived = true; /* store.sql's derive runs on whole imports only */
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
        /* A small page cache: an append writes at the end of its tables
         * and reads little back, and every page a larger cache takes is
         * fresh memory the kernel faults in (64 MiB: 10% more CPU per
         * record in bench_follow's catch-up than 8 MiB or 2 MiB). */
        static const char pragmas[] = "PRAGMA page_size = 65536;"
                                      "PRAGMA journal_mode = WAL;"
                                      "PRAGMA synchronous = OFF;"
                                      "PRAGMA cache_size = -8192;"
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

/* dmt_store_append_add's uncommon cases, out of line so the common one
 * (a batch begun, a packed SG list) saves no registers: the appender dead,
 * the batch to begin, a strided SG list to pack first. */
__attribute__((noinline)) static int add_slow(dmt_store_appender *a, const dmt_record *r,
                                              dmt_error *err)
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
    rc = dmt_imp_add(&a->im, r);
    return rc ? rollback(a, rc) : 0;
}

__attribute__((noinline)) static int add_failed(dmt_store_appender *a, int rc)
{
    return rollback(a, rc);
}

int dmt_store_append_add(dmt_store_appender *a, const dmt_record *r, dmt_error *err)
{
    if (a->failed || !a->in_tx || (r->n_sg && r->sg_stride && r->sg_stride != sizeof(dmt_sg_elem)))
        return add_slow(a, r, err);
    a->im.err = err;
    int rc = dmt_imp_add(&a->im, r);
    return rc ? add_failed(a, rc) : 0;
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
    if (!rc) /* also reports a fold that ran out of memory with nothing queued */
        rc = dmt_imp_derive(im);
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
    dmt_imp_free(&a->im);
    if (a->im.db)
        sqlite3_close(a->im.db);
    free(a->undo);
    free(a->open);
    free(a->rows);
    free(a->sg);
    free(a->trace);
    free(a);
}

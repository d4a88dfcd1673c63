/*
 * store_import.c - dmt_store_import: a trace file into a new SQLite store,
 * all or nothing (see dmt/store.h and schema/store.sql).
 *
 *   reader thread                          main thread (the only SQLite user)
 *   dmt_reader_next                        per record:
 *     -> copy into a batch  ==[3 batches]=>  rows into per-table buffers,
 *        (records + arena)                   flushed K rows per INSERT;
 *                                            transfer state; lanes and
 *                                            summary buckets; time index
 *   then (main thread): remaining transfers and buckets, `derive` and
 *   `indexes` sections of store.sql, lanes, meta, COMMIT, fsync, rename of
 *   "<db>.tmp-XXXXXX" over <db>.  A trace-backed import has no resources
 *   rows for `derive`: it folds the derived rows in C as it streams
 *   (store_import_derive.c), as an append does.
 *
 * Invariants
 *  - Every event table receives its rows in increasing seq (rowid) order;
 *    sg_elements ids are exec_seq * 4096 + idx, so one EXECUTE_DMA's
 *    elements are contiguous ids, increasing with the records.
 *  - Nothing is written under the final name until the database is complete
 *    and synced; every failure path removes the temporary file.
 *  - Memory is bounded by the hard record limits: a batch holds at most
 *    BATCH_RECORDS records and BATCH_ARENA bytes of copied variable parts;
 *    table buffers hold K rows.  Per-trace state (open transfers, written
 *    transfer ids, lanes, devices) has fixed bounds (XOPEN_MAX ...), never
 *    grows with a length read from the input.
 *  - Transfers are kept in memory from their first record until LAG
 *    records after their first COMPLETE_DMA (IDLE records after their first
 *    record when none comes; or until XOPEN_MAX newer ones are open), then
 *    written, in the order they were opened, and summarised into their
 *    adapter's lane.  A
 *    record for an already written transfer reloads its row, which is
 *    written again (INSERT OR REPLACE), and the transfer lanes are then
 *    recomputed from the finished table, so both stay exact.
 *  - Summary rows: per lane and stored level the two newest buckets stay
 *    open in memory; an event for an older one (time going back more than
 *    a bucket) is merged into its row at once.  So plain INSERTs never
 *    conflict and every row is final when written.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dmt/reader.h"
#include "store_import_internal.h"

/* ---- the reader thread and its batches ------------------------------------ */

typedef struct batch {
    dmt_record rec[BATCH_RECORDS];
    uint8_t *arena;
    size_t used;
    unsigned n;
    bool last; /* the reader is done after this batch */
    int rc;    /* with last: 0 or the reader's error */
    dmt_error err;
    uint64_t offset; /* reader byte offset after this batch */
    /* chunk boundaries: bound[i] is the last one at or before record
     * bound_at[i] (pushed where it changes) */
    unsigned nbound;
    unsigned bound_at[BATCH_RECORDS];
    dmt_reader_resume bound[BATCH_RECORDS];
} batch;

typedef struct pipe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch *b[NBATCH];
    bool full[NBATCH];
    unsigned head, tail; /* producer fills b[head], consumer takes b[tail] */
    bool stop;           /* consumer gave up: producer exits */
    dmt_reader *rd;
    uint64_t bound_off; /* the last boundary pushed (reader thread) */
} pipe_t;

static void *copy_var(batch *b, const void *p, size_t n)
{
    b->used = (b->used + 7) & ~(size_t)7;
    void *dst = b->arena + b->used;
    if (n && p)
        memcpy(dst, p, n);
    b->used += n;
    return dst;
}

static void *reader_main(void *arg)
{
    pipe_t *pp = arg;
    bool done = false;
    while (!done) {
        pthread_mutex_lock(&pp->mu);
        while (pp->full[pp->head] && !pp->stop)
            pthread_cond_wait(&pp->cv, &pp->mu);
        bool stop = pp->stop;
        batch *b = pp->b[pp->head];
        pthread_mutex_unlock(&pp->mu);
        if (stop)
            break;
        b->n = 0;
        b->used = 0;
        b->last = false;
        b->rc = 0;
        b->nbound = 0;
        while (b->n < BATCH_RECORDS && b->used + VAR_MAX + 64 <= BATCH_ARENA) {
            dmt_record *r = &b->rec[b->n];
            int rc = dmt_reader_next(pp->rd, r, &b->err);
            if (rc != 1) {
                b->last = true;
                b->rc = rc;
                done = true;
                break;
            }
            dmt_reader_resume *rp = &b->bound[b->nbound];
            dmt_reader_boundary(pp->rd, rp);
            if (rp->offset != pp->bound_off) {
                pp->bound_off = rp->offset;
                b->bound_at[b->nbound++] = b->n;
            }
            if (r->n_sg) {
                dmt_sg_elem *sg = copy_var(b, NULL, (size_t)r->n_sg * sizeof(dmt_sg_elem));
                dmt_imp_sg_pack(sg, r);
                r->sg_list = sg;
                r->sg_stride = 0;
            }
            if (r->n_values)
                r->values = copy_var(b, r->values, (size_t)r->n_values * 8);
            if (r->n_bytes)
                r->bytes = copy_var(b, r->bytes, r->n_bytes);
            b->n++;
        }
        b->offset = dmt_reader_offset(pp->rd);
        pthread_mutex_lock(&pp->mu);
        pp->full[pp->head] = true;
        pp->head = (pp->head + 1) % NBATCH;
        pthread_cond_broadcast(&pp->cv);
        pthread_mutex_unlock(&pp->mu);
    }
    return NULL;
}

static batch *pipe_take(pipe_t *pp)
{
    pthread_mutex_lock(&pp->mu);
    while (!pp->full[pp->tail])
        pthread_cond_wait(&pp->cv, &pp->mu);
    batch *b = pp->b[pp->tail];
    pthread_mutex_unlock(&pp->mu);
    return b;
}

static void pipe_release(pipe_t *pp)
{
    pthread_mutex_lock(&pp->mu);
    pp->full[pp->tail] = false;
    pp->tail = (pp->tail + 1) % NBATCH;
    pthread_cond_broadcast(&pp->cv);
    pthread_mutex_unlock(&pp->mu);
}

static const tdesc tdescs[T_COUNT_] = {
    [T_REG] = {"reg_accesses", "seq, ts, dev, off, value, width, is_write", 7, NULL, false},
    [T_REGBUF] = {"reg_buffers", "seq, ts, dev, off, width, is_write, count, vals", 8, NULL, true},
    [T_DMA] = {"dma_calls",
               "seq, ts, kind, xfer, adapter, mdl, offset, length, write_to_device, context, "
               "status, algo, value, n_sg, flags, cpu",
               16, NULL, false},
    [T_SG] = {"sg_elements", "id, addr, length", 3, NULL, false},
    [T_DRANGE] = {"digest_ranges", "seq, idx, offset, length", 4, NULL, false},
    [T_RES] = {"resources",
               "seq, ts, kind, id, adapter, dev, addr, length, va, op, flags, map_registers, "
               "addr_limit, max_length",
               14, NULL, false},
    [T_DESC] = {"desc_writes", "seq, ts, cb, offset, data", 5, NULL, true},
    [T_PAY] = {"payloads", "seq, ts, mdl, offset, data", 5, NULL, true},
    [T_PAT] = {"patterns", "seq, ts, mdl, algo, seed, offset, length", 7, NULL, false},
    [T_IRQ] = {"interrupts", "seq, ts, dev, claimed, value, cpu", 6, NULL, false},
    [T_DPC] = {"dpcs", "seq, ts, dev, xfer, cpu", 5, NULL, false},
    [T_MARK] = {"markers", "seq, ts, text", 3, NULL, true},
    [T_CAL] = {"calibrations", "seq, ts, tsc, counter, counter_hz, mult, shift, err_ns", 8, NULL,
               false},
    [T_LOST] = {"lost", "first_seq, ts, count, reason", 4, NULL, false},
    [T_SUM] = {"summary", "level, lane, bucket, count, bytes, vmin, vmax, vlast, t_first, t_last",
               10, NULL, false},
    [T_TIDX] = {"time_index",
                "first_seq, last_seq, ts_min, ts_max, records, rp_offset, rp_seq, rp_ts, rp_cpu, "
                "rp_ring_seq, rp_index, rp_count",
                12, NULL, false},
    [T_CPUS] = {"cpu_runs", "first_seq, cpu", 2, NULL, false},
};

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Close the current phase's time and start phase (0: none). */
static void phase_switch(imp *im, int phase)
{
    uint64_t t = mono_ns();
    if (im->cur_phase > 0 && im->cur_phase < 5)
        im->res->phase_ns[im->cur_phase] += t - im->phase_t0;
    im->cur_phase = phase;
    im->phase_t0 = t;
}

int dmt_imp_oom(imp *im)
{
    return dmt_error_set(im->err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
}

int dmt_imp_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return DMT_E_NOMEM;
    *p = q;
    *cap = c;
    return 0;
}

static char *insert_sql(const tdesc *d, int rows, const char *verb)
{
    size_t cap = 256 + strlen(d->cols) + (d->tail ? strlen(d->tail) : 0) +
                 (size_t)rows * ((size_t)d->ncols * 2 + 4);
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t n = (size_t)snprintf(s, cap, "%s INTO %s(%s) VALUES ", verb, d->table, d->cols);
    for (int r = 0; r < rows; r++) {
        s[n++] = r ? ',' : ' ';
        s[n++] = '(';
        for (int c = 0; c < d->ncols; c++) {
            if (c)
                s[n++] = ',';
            s[n++] = '?';
        }
        s[n++] = ')';
    }
    s[n] = 0;
    if (d->tail)
        strcat(s, d->tail);
    return s;
}

static int tbuf_open(imp *im, tbuf *t, const tdesc *d, const char *verb)
{
    memset(t, 0, sizeof *t);
    t->d = d;
    if (d->ncols > MAXCOLS) /* the row buffers hold MAXCOLS values per row */
        return dmt_error_set(im->err, DMT_E_INTERNAL, DMT_NO_INDEX, DMT_NO_INDEX,
                             "%s has %d columns, the import buffers %d", d->table, d->ncols,
                             MAXCOLS);
    char *one = insert_sql(d, 1, verb), *many = insert_sql(d, K, verb);
    int rc = 0;
    if (!one || !many)
        rc = dmt_imp_oom(im);
    if (!rc)
        rc = dmt_store_prepare(im->db, one, true, &t->one, im->err);
    if (!rc)
        rc = dmt_store_prepare(im->db, many, true, &t->many, im->err);
    free(one);
    free(many);
    if (!rc && d->blobs && !(t->arena = malloc((size_t)K * (VAR_MAX + 8))))
        rc = dmt_imp_oom(im);
    return rc;
}

static void tbuf_close(tbuf *t)
{
    dmt_bc_free(&t->bc_one);
    dmt_bc_free(&t->bc_many);
    sqlite3_finalize(t->one);
    sqlite3_finalize(t->many);
    free(t->arena);
    t->one = t->many = NULL;
    t->arena = NULL;
}

int dmt_imp_step_done(imp *im, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return dmt_store_sql_error(im->err, im->db, rc, what);
    return 0;
}

static void bind_cells(tbuf *t, dmt_bind_cache *bc, sqlite3_stmt *st, int row0, int rows)
{
    dmt_bc_attach(bc, st);
    int nc = t->d->ncols;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < nc; c++) {
            int i = (row0 + r) * nc + c, p = r * nc + c + 1;
            switch (t->type[i]) {
            case C_INT:
                dmt_bc_int(bc, p, t->v[i]);
                break;
            case C_BLOB:
                dmt_bc_forget(bc, p);
                sqlite3_bind_blob(st, p, t->arena + t->v[i], (int)t->len[i], SQLITE_STATIC);
                break;
            case C_TEXT:
                dmt_bc_forget(bc, p);
                sqlite3_bind_text(st, p, (const char *)t->arena + t->v[i], (int)t->len[i],
                                  SQLITE_STATIC);
                break;
            default:
                dmt_bc_null(bc, p);
                break;
            }
        }
}

int dmt_imp_tbuf_flush(imp *im, tbuf *t)
{
    int rc = 0;
    uint64_t t0 = t == &im->tb[T_SG] ? mono_ns() : 0;
    if (t->n == K) {
        bind_cells(t, &t->bc_many, t->many, 0, K);
        rc = dmt_imp_step_done(im, t->many, t->d->table);
    } else {
        for (int r = 0; r < t->n && !rc; r++) {
            bind_cells(t, &t->bc_one, t->one, r, 1);
            rc = dmt_imp_step_done(im, t->one, t->d->table);
        }
    }
    t->rows += (uint64_t)t->n;
    t->n = 0;
    t->used = 0;
    if (t0)
        im->res->sg_insert_ns += mono_ns() - t0;
    return rc;
}

static void put_blob(tbuf *t, int type, const void *p, size_t n)
{
    int i = t->n * t->d->ncols + t->col++;
    t->type[i] = (uint8_t)type;
    t->v[i] = (int64_t)t->used;
    t->len[i] = (uint32_t)n;
    if (n)
        memcpy(t->arena + t->used, p, n);
    t->used += (n + 7) & ~(size_t)7;
}

/* ---- one record ---------------------------------------------------------------- */

/* The current time-index block as a row; keep: leave it open (an append's
 * commit writes the partial block, replaced when it grows). */
int dmt_imp_tidx_put(imp *im, bool keep)
{
    if (!im->ti_n)
        return 0;
    tbuf *t = &im->tb[T_TIDX];
    put_int(t, (int64_t)im->ti_first);
    put_int(t, (int64_t)im->ti_last);
    put_int(t, im->ti_min);
    put_int(t, im->ti_max);
    put_int(t, (int64_t)im->ti_n);
    const dmt_reader_resume *rp = &im->ti_rp;
    bool h = im->ti_rp_have;
    put_opt(t, h, (int64_t)rp->offset);
    put_opt(t, h, (int64_t)rp->seq);
    put_opt(t, h, rp->ts);
    put_opt(t, h && rp->cpu != DMT_CPU_NONE, rp->cpu);
    put_opt(t, h && rp->ring_seq_next, (int64_t)rp->ring_seq);
    put_opt(t, h, (int64_t)rp->index);
    put_opt(t, h, (int64_t)rp->count);
    if (!keep)
        im->ti_n = 0;
    return row_end(im, t);
}

/* The reg_buffers row of r (out of line: on_record's frame keeps no value
 * buffer). */
__attribute__((noinline)) static int regbuf_row(imp *im, tbuf *t, const dmt_record *r, bool w)
{
    uint8_t le[DMT_MAX_VALUES * 8];
    for (uint32_t i = 0; i < r->n_values; i++)
        for (unsigned b = 0; b < 8; b++)
            le[i * 8 + b] = (uint8_t)(r->values[i] >> (8 * b));
    put_int(t, (int64_t)r->seq);
    put_int(t, r->ts);
    put_int(t, r->dev);
    put_int(t, (int64_t)r->off);
    put_int(t, r->width);
    put_int(t, w);
    put_int(t, r->n_values);
    put_blob(t, C_BLOB, le, (size_t)r->n_values * 8);
    return row_end(im, t);
}

/* Device dev's new interrupts lane (out of line: on_record's frame keeps
 * no name buffer). */
__attribute__((noinline)) static size_t irq_lane_new(imp *im, uint32_t dev)
{
    char name[64];
    snprintf(name, sizeof name, "dev%u interrupts", dev);
    return dmt_imp_lane_get(im, DMT_LANE_INTERRUPTS, LK(DMT_LANE_INTERRUPTS) | dev, 0, dev, -1, -1,
                            name);
}

static int on_record(imp *im, const dmt_record *r)
{
    tbuf *t;
    int rc = 0;
    uint64_t last = r->kind == DMT_K_LOST ? r->value + r->count - 1 : r->seq;

    /* time index */
    if (im->ti_n == 0) {
        im->ti_rp = im->rp_cur;
        im->ti_rp_have = im->rp_have;
        im->ti_first = r->seq;
        im->ti_last = last;
        im->ti_min = im->ti_max = r->ts;
    }
    if (last > im->ti_last)
        im->ti_last = last;
    if (r->ts < im->ti_min)
        im->ti_min = r->ts;
    if (r->ts > im->ti_max)
        im->ti_max = r->ts;
    if (++im->ti_n == TIDX_BLOCK && (rc = dmt_imp_tidx_put(im, false)))
        return rc;
    if (r->ts < im->first_ts)
        im->first_ts = r->ts;
    if (r->ts > im->last_ts)
        im->last_ts = r->ts;
    if (r->cpu != DMT_CPU_NONE && (!im->has_cpu || r->cpu > im->cpu_max)) {
        im->has_cpu = true;
        im->cpu_max = r->cpu;
    }
    if (r->cpu != im->run_cpu) { /* a new CPU run from this record */
        t = &im->tb[T_CPUS];
        put_int(t, r->kind == DMT_K_LOST ? (int64_t)r->value : (int64_t)r->seq);
        put_cpu(t, r);
        im->run_cpu = r->cpu;
        if ((rc = row_end(im, t)))
            return rc;
    }
    im->records++;

    switch (r->kind) {
    case DMT_K_REG_WRITE:
    case DMT_K_REG_READ: {
        bool w = r->kind == DMT_K_REG_WRITE;
        t = &im->tb[T_REG];
        if (!row_skipped(t)) {
            put_int(t, (int64_t)r->seq);
            put_int(t, r->ts);
            put_int(t, r->dev);
            put_int(t, (int64_t)r->off);
            put_int(t, (int64_t)r->value);
            put_int(t, r->width);
            put_int(t, w);
            if ((rc = row_end(im, t)))
                return rc;
        }
        if (im->trace_backed && im->o && im->o->regmap &&
            (rc = dmt_imp_reg_seen(im, r->dev, r->off, r->width)))
            return rc;
        size_t li = dmt_imp_reg_lane(im, r->dev, r->off);
        if (li == SIZE_MAX)
            return dmt_imp_oom(im);
        return dmt_imp_lane_value(im, li, r->ts, r->value, w);
    }
    case DMT_K_REG_WRITE_BUF:
    case DMT_K_REG_READ_BUF: {
        bool w = r->kind == DMT_K_REG_WRITE_BUF;
        t = &im->tb[T_REGBUF];
        if (!row_skipped(t) && (rc = regbuf_row(im, t, r, w)))
            return rc;
        for (uint32_t i = 0; i < r->n_values && !rc; i++) {
            size_t li = dmt_imp_reg_lane(im, r->dev, r->off + (uint64_t)i * r->width);
            if (li == SIZE_MAX)
                return dmt_imp_oom(im);
            rc = dmt_imp_lane_value(im, li, r->ts, r->values[i], w);
        }
        return rc;
    }
    case DMT_K_EXECUTE_DMA:
    case DMT_K_START_DMA:
    case DMT_K_START_DMA_END:
    case DMT_K_COMPLETE_DMA:
    case DMT_K_DIGEST: {
        uint32_t k = r->kind;
        bool st = k == DMT_K_START_DMA, ex = k == DMT_K_EXECUTE_DMA;
        bool en = k == DMT_K_START_DMA_END, co = k == DMT_K_COMPLETE_DMA, di = k == DMT_K_DIGEST;
        t = &im->tb[T_DMA];
        if (!row_skipped(t)) {
            put_int(t, (int64_t)r->seq);
            put_int(t, r->ts);
            put_int(t, k);
            put_int(t, r->xfer);
            put_opt(t, !di, r->adapter);
            put_opt(t, st, r->mdl);
            put_opt(t, st, (int64_t)r->offset);
            put_opt(t, !co, (int64_t)r->length);
            put_opt(t, st || co, r->write_to_device);
            put_opt(t, st, (int64_t)r->context);
            put_opt(t, en || co, r->status);
            put_opt(t, di, r->algo);
            put_opt(t, di, (int64_t)r->value);
            put_opt(t, ex || (di && r->n_sg), r->n_sg);
            put_opt(t, (ex && r->xfer_flags) || (di && r->digest_policy),
                    ex ? r->xfer_flags : r->digest_policy);
            put_cpu(t, r);
            if ((rc = row_end(im, t)))
                return rc;
        }
        if (di) {
            t = &im->tb[T_DRANGE];
            if (t->skip)
                t->rows += r->n_sg;
            for (uint32_t i = 0; i < r->n_sg && !rc && !t->skip; i++) {
                dmt_sg_elem e = dmt_record_sg_at(r, i);
                put_int(t, (int64_t)r->seq);
                put_int(t, i);
                put_int(t, (int64_t)e.addr);
                put_int(t, e.len);
                rc = row_end(im, t);
            }
            if (rc)
                return rc;
        }
        uint64_t sg_first = r->seq << DMT_STORE_SG_SHIFT;
        if (ex) {
            if (r->seq > DMT_STORE_SG_MAX_SEQ) {
                im->input_error = true;
                return dmt_error_set(im->err, DMT_E_FORMAT, r->pos, im->records - 1,
                                     "EXECUTE_DMA sequence number %llu: the store keys SG "
                                     "elements by it and takes at most 2^51 - 1",
                                     (unsigned long long)r->seq);
            }
            /* ids exec_seq * 4096 + idx: increasing with the records, so
             * every row is appended at the end of the table */
            const dmt_sg_elem *sg = r->sg_list;
            t = &im->tb[T_SG];
            if (t->skip)
                t->rows += r->n_sg;
            for (uint32_t i = 0; i < r->n_sg && !t->skip; i++) {
                put_int(t, (int64_t)(sg_first + i));
                put_int(t, (int64_t)sg[i].addr);
                put_int(t, sg[i].len);
                if ((rc = row_end(im, t)))
                    return rc;
            }
        }
        if (!di && dmt_imp_xfer_lane(im, r->adapter) == SIZE_MAX)
            return dmt_imp_oom(im);
        return dmt_imp_on_transfer(im, r, sg_first);
    }
    case DMT_K_ADAPTER_CREATE:
    case DMT_K_ADAPTER_RELEASE:
    case DMT_K_BUFFER_LOCK:
    case DMT_K_BUFFER_UNLOCK:
    case DMT_K_COMMON_ALLOC:
    case DMT_K_COMMON_RELEASE:
    case DMT_K_DEVICE_MAP: {
        uint32_t k = r->kind;
        bool ac = k == DMT_K_ADAPTER_CREATE, ar = k == DMT_K_ADAPTER_RELEASE;
        bool bl = k == DMT_K_BUFFER_LOCK, bu = k == DMT_K_BUFFER_UNLOCK;
        bool ca = k == DMT_K_COMMON_ALLOC, cr = k == DMT_K_COMMON_RELEASE;
        bool dm = k == DMT_K_DEVICE_MAP;
        uint32_t id = ac || ar ? r->adapter : bl || bu ? r->mdl : ca || cr ? r->cb : r->dev;
        int64_t flags =
            ac ? (r->sg ? 1 : 0) | (r->dma32 ? 2 : 0) | (r->dma64 ? 4 : 0) : (r->cached ? 8 : 0);
        t = &im->tb[T_RES];
        if (!row_skipped(t)) {
            put_int(t, (int64_t)r->seq);
            put_int(t, r->ts);
            put_int(t, k);
            put_int(t, id);
            put_opt(t, ac || ar || ca || cr, r->adapter);
            put_opt(t, ac || dm, r->dev);
            put_opt(t, ca || dm, (int64_t)r->addr);
            put_opt(t, bl || ca || dm, (int64_t)r->length);
            put_opt(t, bl || ca || dm, (int64_t)r->va);
            put_opt(t, bl, r->op);
            put_opt(t, ac || ca, flags);
            put_opt(t, ac, r->map_registers);
            put_opt(t, ac, (int64_t)r->addr_limit);
            put_opt(t, ac, (int64_t)r->length);
            if ((rc = row_end(im, t)))
                return rc;
        }
        if (im->fold_derived && !dm && dmt_imp_derive_note(im, r) && (rc = dmt_imp_derive(im)))
            return rc;
        if (ac) {
            uint32_t d = dmt_store_map_get(&im->adev, r->adapter, 0);
            if (d == UINT32_MAX && im->adev.n < im->lim.map) {
                if (dmt_imp_grow((void **)&im->adevs, &im->capadevs, im->nadevs + 1,
                                 sizeof(uint32_t)) ||
                    dmt_store_map_put(&im->adev, r->adapter, 0, (uint32_t)im->nadevs))
                    return dmt_imp_oom(im);
                d = (uint32_t)im->nadevs++;
            }
            if (d != UINT32_MAX)
                im->adevs[d] = r->dev;
        }
        return 0;
    }
    case DMT_K_DESC_WRITE:
    case DMT_K_PAYLOAD:
        t = &im->tb[r->kind == DMT_K_DESC_WRITE ? T_DESC : T_PAY];
        put_int(t, (int64_t)r->seq);
        put_int(t, r->ts);
        put_int(t, r->kind == DMT_K_DESC_WRITE ? r->cb : r->mdl);
        put_int(t, (int64_t)r->offset);
        put_blob(t, C_BLOB, r->bytes, r->n_bytes);
        return row_end(im, t);
    case DMT_K_PATTERN:
        t = &im->tb[T_PAT];
        put_int(t, (int64_t)r->seq);
        put_int(t, r->ts);
        put_int(t, r->mdl);
        put_int(t, r->algo);
        put_int(t, (int64_t)r->value);
        put_int(t, (int64_t)r->offset);
        put_int(t, (int64_t)r->length);
        return row_end(im, t);
    case DMT_K_INTERRUPT: {
        t = &im->tb[T_IRQ];
        if (!row_skipped(t)) {
            put_int(t, (int64_t)r->seq);
            put_int(t, r->ts);
            put_int(t, r->dev);
            put_int(t, r->claimed);
            put_int(t, (int64_t)r->value);
            put_cpu(t, r);
            if ((rc = row_end(im, t)))
                return rc;
        }
        size_t li = dmt_store_map_get(&im->lane_map, LK(DMT_LANE_INTERRUPTS) | r->dev, 0);
        if (li == UINT32_MAX)
            li = irq_lane_new(im, r->dev);
        if (li == SIZE_MAX)
            return dmt_imp_oom(im);
        if ((rc = dmt_imp_lane_value(im, li, r->ts, r->value, r->claimed)))
            return rc;
        return dmt_imp_on_interrupt(im, r);
    }
    case DMT_K_DPC:
        t = &im->tb[T_DPC];
        put_int(t, (int64_t)r->seq);
        put_int(t, r->ts);
        put_int(t, r->dev);
        put_int(t, r->xfer);
        put_cpu(t, r);
        if ((rc = row_end(im, t)))
            return rc;
        return dmt_imp_on_dpc(im, r);
    case DMT_K_MARKER: {
        t = &im->tb[T_MARK];
        put_int(t, (int64_t)r->seq);
        put_int(t, r->ts);
        put_blob(t, C_TEXT, r->bytes, r->n_bytes);
        if ((rc = row_end(im, t)))
            return rc;
        size_t li =
            dmt_imp_lane_get(im, DMT_LANE_MARKERS, LK(DMT_LANE_MARKERS), 0, -1, -1, -1, "markers");
        if (li == SIZE_MAX)
            return dmt_imp_oom(im);
        return dmt_imp_lane_marker(im, li, r->ts);
    }
    case DMT_K_LOST: {
        t = &im->tb[T_LOST];
        put_int(t, (int64_t)r->value);
        put_int(t, r->ts);
        put_int(t, (int64_t)r->count);
        put_int(t, r->reason);
        if ((rc = row_end(im, t)))
            return rc;
        size_t li = dmt_imp_lane_get(im, DMT_LANE_LOST, LK(DMT_LANE_LOST), 0, -1, -1, -1, "lost");
        if (li == SIZE_MAX)
            return dmt_imp_oom(im);
        return dmt_imp_lane_value(im, li, r->ts, r->reason, r->count);
    }
    case DMT_K_CALIBRATION:
        t = &im->tb[T_CAL];
        put_int(t, (int64_t)r->seq);
        put_int(t, r->ts);
        put_int(t, (int64_t)r->tsc);
        put_int(t, (int64_t)r->counter);
        put_int(t, (int64_t)r->counter_hz);
        put_int(t, r->mult);
        put_int(t, r->shift);
        put_int(t, (int64_t)r->err_ns);
        return row_end(im, t);
    default:
        return dmt_error_set(im->err, DMT_E_INTERNAL, r->pos, DMT_NO_INDEX,
                             "record kind %u has no table", r->kind);
    }
}

/* One record of an append (store_append.c): what load() does per record. */
int dmt_imp_add(imp *im, const dmt_record *r)
{
    int rc = on_record(im, r);
    if (!rc && (im->records & (TIDX_BLOCK - 1)) == 0)
        rc = dmt_imp_drain_completed(im, r->seq);
    return rc;
}

/* ---- progress ---------------------------------------------------------------- */

static int report(imp *im, int phase)
{
    if (phase != im->cur_phase)
        phase_switch(im, phase);
    im->prog.phase = phase;
    im->prog.records = im->records;
    if (im->o && im->o->progress && im->o->progress(im->o->ctx, &im->prog))
        im->cancelled = 1;
    if (im->cancelled)
        return dmt_error_set(im->err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "interrupted");
    return 0;
}

static int sqlite_progress(void *arg)
{
    imp *im = arg;
    if (im->o && im->o->progress && im->o->progress(im->o->ctx, &im->prog))
        im->cancelled = 1;
    return im->cancelled;
}

/* Run a section of store.sql. */
int dmt_imp_run_section(imp *im, const char *name)
{
    char *sql = dmt_store_schema_section(name);
    if (!sql)
        return dmt_error_set(im->err, DMT_E_INTERNAL, DMT_NO_INDEX, DMT_NO_INDEX,
                             "store.sql has no section '%s'", name);
    int rc = dmt_store_exec(im->db, sql, im->err);
    free(sql);
    if (rc && im->cancelled)
        return dmt_error_set(im->err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "interrupted");
    return rc;
}

/* ---- meta --------------------------------------------------------------------- */

static int meta_put(imp *im, sqlite3_stmt *st, const char *key, bool text, const char *s, int64_t v)
{
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (text)
        sqlite3_bind_text(st, 2, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 2, v);
    return dmt_imp_step_done(im, st, "meta");
}

int dmt_imp_write_meta(imp *im, const dmt_header *h, const char *trace,
                       const dmt_store_import_result *res)
{
    sqlite3_stmt *st;
    int rc = dmt_store_prepare(im->db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                               false, &st, im->err);
    if (rc)
        return rc;
    struct stat sb;
    memset(&sb, 0, sizeof sb);
    stat(trace, &sb);
    char abs[4096];
    const char *src = realpath(trace, abs) ? abs : trace;
#define MI(k, v)                                                                                   \
    if (!rc)                                                                                       \
    rc = meta_put(im, st, k, false, NULL, (int64_t)(v))
#define MT(k, v)                                                                                   \
    if (!rc)                                                                                       \
    rc = meta_put(im, st, k, true, v, 0)
    MI("version", h->version);
    MI("t0", h->t0);
    MI("page_shift", h->page_shift);
    MI("seq0", h->seq0);
    MT("producer", h->producer);
    MT("clock", h->clock);
    MT("host", h->host);
    MT("scenario", h->scenario);
    MI("seed", h->seed);
    MI("ring_size", h->ring_size);
    MI("ring_policy", h->ring_policy);
    /* optional header keys (FORMAT.md 1.2), only those the trace has */
    if (h->os[0]) {
        MT("os", h->os);
    }
    if (h->os_build) {
        MI("os_build", h->os_build);
    }
    if (h->cpus) {
        MI("cpus", h->cpus);
    }
    if (h->page_size) {
        MI("page_size", h->page_size);
    }
    if (h->clock_hz) {
        MI("clock_hz", h->clock_hz);
    }
    if (h->phys_mem) {
        MI("phys_mem", h->phys_mem);
    }
    if (h->boot_options[0]) {
        MT("boot_options", h->boot_options);
    }
    if (h->has_layout) {
        MT("placement", h->placement);
        MI("contig_permille", h->contig_permille);
        MI("map_register_cap", h->map_register_cap);
        MI("ram_low_top", h->ram_low_top);
        MI("ram_high_top", h->ram_high_top);
    }
    if (h->regmap_name[0]) {
        MT("regmap_name", h->regmap_name);
        MI("regmap_hash", h->regmap_hash);
    }
    MT("source_path", src);
    MI("source_size", sb.st_size);
    MI("source_mtime", sb.st_mtime);
    MI("import_time", time(NULL));
    MT("importer", "libdmt dmt_store_import");
    MI("records", res->records);
    MI("skipped", res->skipped);
    MI("cut", res->cut);
    if (res->cut) {
        MI("cut_offset", res->cut_offset);
        MT("cut_reason", res->cut_why);
    }
    if (im->records) {
        MI("first_ts", im->first_ts);
        MI("last_ts", im->last_ts);
    }
    MI("max_transfer_ns", im->max_span);
    MI("summary_min_level", DMT_STORE_MIN_STORED_LEVEL);
    if (im->has_cpu) {
        MI("cpu_max", im->cpu_max);
    }
    if (im->o && im->o->regmap && im->o->regmap_name)
        MT("regmap", im->o->regmap_name);
    if (im->trace_backed) {
        MT("events", "trace");
        MI("trace_bytes", im->trace_bytes);
        MI("trace_header_len", im->hdr_len);
        MI("trace_header_crc", im->hdr_crc);
    }
#undef MI
#undef MT
    sqlite3_finalize(st);
    return rc;
}

/* ---- the whole import --------------------------------------------------------- */

int dmt_imp_trace_backed(imp *im, const char *trace)
{
    static const int raw[] = {T_REG,  T_REGBUF, T_DMA, T_SG,  T_DRANGE, T_RES,
                              T_DESC, T_PAY,    T_PAT, T_IRQ, T_DPC,    T_CAL};
    dmt_reader *rd;
    int rc = dmt_reader_open(trace, DMT_READ_ALLOW_CUT, &rd, im->err);
    if (rc) {
        im->input_error = true;
        return rc;
    }
    dmt_reader_identity(rd, &im->hdr_len, &im->hdr_crc);
    dmt_reader_close(rd);
    im->trace_backed = true;
    im->fold_derived = true; /* no resources rows for store.sql's derive */
    for (size_t i = 0; i < sizeof raw / sizeof *raw; i++)
        im->tb[raw[i]].skip = true;
    return 0;
}

void dmt_imp_free(imp *im)
{
    dmt_imp_derive_free(im);
    for (int i = 0; i < T_COUNT_; i++)
        tbuf_close(&im->tb[i]);
    dmt_bc_free(&im->bc_x_one);
    dmt_bc_free(&im->bc_x_many);
    dmt_bc_free(&im->bc_x_replace);
    sqlite3_finalize(im->x_one);
    sqlite3_finalize(im->x_many);
    sqlite3_finalize(im->x_get);
    sqlite3_finalize(im->x_replace);
    sqlite3_finalize(im->x_del);
    sqlite3_finalize(im->sum_get);
    sqlite3_finalize(im->sum_upd);
    sqlite3_finalize(im->sum_del);
    free(im->lanes);
    dmt_store_map_free(&im->lane_map);
    free(im->xs);
    free(im->xfree);
    dmt_store_map_free(&im->xmap);
    dmt_store_map_free(&im->xwritten);
    dmt_store_map_free(&im->adev);
    free(im->adevs);
    free(im->created);
    dmt_store_map_free(&im->irq_map);
    free(im->irqs);
    dmt_store_map_free(&im->reg_seen);
    free(im->regs);
}

static int fsync_path(const char *path, bool dir)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int load(imp *im, pipe_t *pp, dmt_store_import_result *res)
{
    int rc = 0;
    for (;;) {
        batch *b = pipe_take(pp);
        unsigned nb = 0;
        for (unsigned i = 0; i < b->n && !rc; i++) {
            for (; nb < b->nbound && b->bound_at[nb] == i; nb++) {
                im->rp_cur = b->bound[nb];
                im->rp_have = true;
            }
            rc = on_record(im, &b->rec[i]);
            if (!rc && im->o && im->o->fail_after && im->records >= im->o->fail_after)
                rc = dmt_error_set(im->err, DMT_E_IO, b->rec[i].pos, im->records - 1,
                                   "injected failure after %llu records",
                                   (unsigned long long)im->records);
            if (!rc && (im->records & (TIDX_BLOCK - 1)) == 0)
                rc = dmt_imp_drain_completed(im, b->rec[i].seq);
        }
        im->prog.bytes_done = b->offset;
        bool last = b->last;
        int brc = b->rc;
        if (last && brc && !rc) {
            if (im->err)
                *im->err = b->err;
            im->input_error = true;
            rc = brc;
        }
        pipe_release(pp);
        if (rc)
            return rc;
        if (im->records >= im->next_progress) {
            im->next_progress = im->records + PROGRESS_EVERY;
            if ((rc = report(im, DMT_STORE_PHASE_LOAD)))
                return rc;
        }
        if (last)
            break;
    }
    res->records = im->records;
    im->trace_bytes = dmt_reader_offset(pp->rd);
    res->skipped = dmt_reader_skipped(pp->rd);
    const char *why = NULL;
    res->cut = dmt_reader_cut(pp->rd, &res->cut_offset, &why);
    if (res->cut)
        snprintf(res->cut_why, sizeof res->cut_why, "%s", why ? why : "cut");
    return 0;
}

/* Open the row buffers and prepare the import's statements (follow: an
 * append, see store_append.c). */
int dmt_imp_prepare(imp *im, bool follow)
{
    int rc = 0;
    /* an append (follow) rewrites the rows it materialised at a commit:
     * summary buckets still open and the partial time-index block by
     * REPLACE, open transfers by a DELETE first (dmt_imp_xfer_unstore; a
     * multi-row REPLACE into transfers, with its index, keeps a statement
     * journal) (store_append.c).  Its other rows are INSERT OR FAIL: in
     * its WAL-mode file a plain multi-row INSERT (ABORT) makes SQLite copy
     * every page it touches into a statement journal first (the import's
     * journal is off); an append that fails is rolled back whole anyway. */
    for (int i = 0; i < T_COUNT_ && !rc; i++)
        rc = tbuf_open(im, &im->tb[i], &tdescs[i],
                       follow && (i == T_SUM || i == T_TIDX) ? "INSERT OR REPLACE"
                       : follow                              ? "INSERT OR FAIL"
                                                             : "INSERT");
    if (rc)
        return rc;
    {
        tdesc xd = {"transfer_rows", dmt_store_xfer_stored_columns, DMT_STORE_XFER_NSTORED, NULL,
                    false};
        const char *verb = follow ? "INSERT OR FAIL" : "INSERT";
        char *one = insert_sql(&xd, 1, verb);
        char *many = insert_sql(&xd, K, verb);
        char *repl = insert_sql(&xd, 1, "INSERT OR REPLACE");
        char sel[1024];
        snprintf(sel, sizeof sel, "SELECT %s FROM transfers WHERE xfer = ?",
                 dmt_store_xfer_columns);
        if (!one || !many || !repl)
            rc = dmt_imp_oom(im);
        if (!rc)
            rc = dmt_store_prepare(im->db, one, true, &im->x_one, im->err);
        if (!rc)
            rc = dmt_store_prepare(im->db, many, true, &im->x_many, im->err);
        if (!rc)
            rc = dmt_store_prepare(im->db, repl, true, &im->x_replace, im->err);
        if (!rc)
            rc = dmt_store_prepare(im->db, sel, true, &im->x_get, im->err);
        if (!rc && follow)
            rc = dmt_store_prepare(im->db, "DELETE FROM transfer_rows WHERE xfer = ?", true,
                                   &im->x_del, im->err);
        if (!rc)
            rc = dmt_store_prepare(im->db,
                                   "SELECT " DMT_STORE_BUCKET_COLUMNS " FROM summary WHERE "
                                   "level = ? AND lane = ? AND bucket = ?",
                                   true, &im->sum_get, im->err);
        if (!rc)
            rc = dmt_store_prepare(im->db,
                                   "UPDATE summary SET count = ?4, bytes = ?5, vmin = ?6, "
                                   "vmax = ?7, vlast = ?8, t_first = ?9, t_last = ?10 "
                                   "WHERE level = ?1 AND lane = ?2 AND bucket = ?3",
                                   true, &im->sum_upd, im->err);
        free(one);
        free(many);
        free(repl);
    }
    return rc;
}

static int build(imp *im, const char *trace, dmt_store_import_result *res)
{
    int rc;
    const dmt_header *h;
    dmt_reader *rd = NULL;
    pipe_t pp;
    memset(&pp, 0, sizeof pp);
    bool thread = false;
    pthread_t th;

    rc = dmt_reader_open(trace, im->o && im->o->allow_cut ? DMT_READ_ALLOW_CUT : 0, &rd, im->err);
    if (rc) {
        im->input_error = true;
        return rc;
    }
    h = dmt_reader_header(rd);
    struct stat sb;
    if (stat(trace, &sb) == 0)
        im->prog.bytes_total = (uint64_t)sb.st_size;

    static const char pragmas[] = "PRAGMA page_size = 65536;"
                                  "PRAGMA journal_mode = OFF;"
                                  "PRAGMA synchronous = OFF;"
                                  "PRAGMA locking_mode = EXCLUSIVE;"
                                  "PRAGMA cache_size = -262144;"
                                  "PRAGMA temp_store = MEMORY;"
                                  "BEGIN;";
    if ((rc = dmt_store_exec(im->db, pragmas, im->err)) || (rc = dmt_imp_run_section(im, "tables")))
        goto out;
    if ((rc = dmt_imp_prepare(im, false)))
        goto out;
    if (im->o && im->o->events_in_trace && (rc = dmt_imp_trace_backed(im, trace)))
        goto out;

    pp.rd = rd;
    pp.bound_off = UINT64_MAX;
    pthread_mutex_init(&pp.mu, NULL);
    pthread_cond_init(&pp.cv, NULL);
    for (int i = 0; i < NBATCH; i++) {
        pp.b[i] = calloc(1, sizeof(batch));
        if (!pp.b[i] || !(pp.b[i]->arena = malloc(BATCH_ARENA))) {
            rc = dmt_imp_oom(im);
            goto out;
        }
    }
    if (pthread_create(&th, NULL, reader_main, &pp) != 0) {
        rc = dmt_error_set(im->err, DMT_E_INTERNAL, DMT_NO_INDEX, DMT_NO_INDEX,
                           "cannot start the reader thread");
        goto out;
    }
    thread = true;
    im->next_progress = PROGRESS_EVERY;
    if ((rc = report(im, DMT_STORE_PHASE_LOAD)))
        goto out;
    if ((rc = load(im, &pp, res)))
        goto out;

    /* everything read: the rest of the transfers and buffered rows */
    if ((rc = report(im, DMT_STORE_PHASE_DERIVE)))
        goto out;
    rc = dmt_imp_drain_completed(im, UINT64_MAX); /* in creation order */
    for (size_t i = 0; i < im->nxs && !rc; i++)   /* the reloaded ones */
        if (dmt_store_map_get(&im->xmap, im->xs[i].t.xfer, 0) == i)
            rc = dmt_imp_xfer_write(im, (uint32_t)i);
    if (!rc)
        rc = dmt_imp_xfer_flush(im);
    if (!rc)
        rc = dmt_imp_tidx_put(im, false);
    if (!rc)
        rc = dmt_imp_lanes_flush(im, SIZE_MAX);
    if (!rc && im->xfer_reloaded)
        rc = dmt_imp_transfer_summaries(im);
    if (!rc)
        rc = dmt_imp_lanes_flush(im, SIZE_MAX);
    for (int i = 0; i < T_COUNT_ && !rc; i++)
        rc = dmt_imp_tbuf_flush(im, &im->tb[i]);
    if (rc)
        goto out;
    sqlite3_progress_handler(im->db, 1000000, sqlite_progress, im);
    if ((rc = im->fold_derived ? dmt_imp_derive(im) : dmt_imp_run_section(im, "derive")))
        goto out;
    if ((rc = report(im, DMT_STORE_PHASE_INDEX)) || (rc = dmt_imp_run_section(im, "indexes")))
        goto out;
    if ((rc = dmt_imp_write_lanes(im, false)) || (rc = dmt_imp_reg_names(im)))
        goto out;
    res->sg_elements = im->tb[T_SG].rows;
    res->transfers = im->xrows;
    if ((rc = dmt_imp_write_meta(im, h, trace, res)))
        goto out;
    if ((rc = report(im, DMT_STORE_PHASE_COMMIT)))
        goto out;
    rc = dmt_store_exec(im->db, "COMMIT", im->err);
out:
    if (thread) {
        pthread_mutex_lock(&pp.mu);
        pp.stop = true;
        pthread_cond_broadcast(&pp.cv);
        pthread_mutex_unlock(&pp.mu);
        /* drain so a reader blocked on a full ring sees stop */
        pthread_join(th, NULL);
    }
    if (pp.rd) {
        pthread_mutex_destroy(&pp.mu);
        pthread_cond_destroy(&pp.cv);
    }
    for (int i = 0; i < NBATCH; i++)
        if (pp.b[i]) {
            free(pp.b[i]->arena);
            free(pp.b[i]);
        }
    dmt_reader_close(rd);
    return rc;
}

void dmt_imp_init(imp *im, const dmt_store_import_opts *opts, dmt_store_import_result *res,
                  dmt_error *err)
{
    memset(im, 0, sizeof *im);
    im->o = opts;
    im->err = err;
    im->first_ts = INT64_MAX;
    im->last_ts = INT64_MIN;
    im->run_cpu = DMT_CPU_NONE;
    im->res = res;
    im->lim.lag = LAG;
    im->lim.idle = IDLE;
    im->lim.xopen = XOPEN_MAX;
    im->lim.xwritten = XWRITTEN_MAX;
    im->lim.map = MAP_MAX;
    im->lim.lanes = DMT_STORE_MAX_LANES;
    im->lim.reg_lanes = DMT_STORE_MAX_REG_LANES;
    if (opts && opts->small_limits) {
        im->lim.lag = 100;
        im->lim.idle = 400;
        im->lim.xopen = 16;
        im->lim.xwritten = 32;
        im->lim.map = 2;
        im->lim.lanes = 12;
        im->lim.reg_lanes = 4;
    }
}

int dmt_store_import(const char *trace, const char *db_path, const dmt_store_import_opts *opts,
                     dmt_store_import_result *res, dmt_error *err)
{
    dmt_store_import_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if (!trace || !db_path)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX, "no file name");

    /* the temporary file, next to the target */
    size_t n = strlen(db_path);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    snprintf(tmp, n + 16, "%s.tmp-XXXXXX", db_path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        char *dcopy = strdup(db_path);
        dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX,
                      "cannot create a temporary file in %s: %s", dcopy ? dirname(dcopy) : ".",
                      strerror(e));
        free(dcopy);
        if (err)
            err->sys_errno = e;
        free(tmp);
        res->output_error = true;
        return DMT_E_IO;
    }
    mode_t um = umask(0);
    umask(um);
    (void)fchmod(fd, 0666 & ~um);
    close(fd);

    imp im;
    dmt_imp_init(&im, opts, res, err);
    int rc = sqlite3_open_v2(tmp, &im.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        rc = dmt_store_sql_error(err, im.db, rc, "cannot create the database");
    else
        rc = build(&im, trace, res);
    dmt_imp_free(&im);
    if (im.db && sqlite3_close(im.db) != SQLITE_OK && !rc)
        rc = dmt_store_sql_error(err, im.db, SQLITE_IOERR, "close");
    if (!rc && fsync_path(tmp, false) != 0) {
        int e = errno;
        rc = dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "fsync: %s", strerror(e));
    }
    if (!rc) {
        struct stat sb;
        if (stat(tmp, &sb) == 0)
            res->db_bytes = (uint64_t)sb.st_size;
        if (rename(tmp, db_path) != 0) {
            int e = errno;
            rc = dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "cannot rename %s: %s",
                               tmp, strerror(e));
        } else {
            char *dcopy = strdup(db_path);
            if (dcopy)
                (void)fsync_path(dirname(dcopy), true);
            free(dcopy);
        }
    }
    phase_switch(&im, 0);
    if (rc) {
        unlink(tmp);
        res->output_error = !im.input_error;
    }
    free(tmp);
    return rc;
}

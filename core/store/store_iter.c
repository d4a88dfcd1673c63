/*
 * store_iter.c - the records of a store in sequence order: a k-way merge
 * over the event tables (see dmt_store_iter_* in dmt/store.h).
 *
 *   reg_accesses  --seq-->\
 *   reg_buffers   --seq--> \
 *   dma_calls     --seq-->  min(seq) --> dmt_record  (EXECUTE_DMA takes its
 *   ...            ...     /                          elements from the
 *   lost    --first_seq-->/                           sg_elements cursor)
 *
 * Each source is one "SELECT ... WHERE seq >= ? ORDER BY seq" over a rowid
 * table, so every step is a b-tree "next".  The sg_elements cursor walks ids
 * in order alongside; its ids are exec_seq * 4096 + idx, so its rows are in
 * EXECUTE_DMA order.
 * The record rebuilt has exactly the fields the reader fills for its kind
 * (every other field zero), so it compares equal to the trace's record;
 * its cpu comes from a cpu_runs cursor walked alongside (the run that
 * holds its sequence number).
 * A trace-backed store's iterator reads the trace instead (store_trace.c).
 */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

enum {
    S_REG,
    S_REGBUF,
    S_DMA,
    S_RES,
    S_DESC,
    S_PAY,
    S_PAT,
    S_IRQ,
    S_DPC,
    S_MARK,
    S_CAL,
    S_LOST,
    S_COUNT_
};

static const char *const src_sql[S_COUNT_] = {
    [S_REG] = "SELECT seq, ts, dev, off, value, width, is_write FROM reg_accesses "
              "WHERE seq >= ? ORDER BY seq",
    [S_REGBUF] = "SELECT seq, ts, dev, off, width, is_write, count, vals FROM reg_buffers "
                 "WHERE seq >= ? ORDER BY seq",
    [S_DMA] =
        "SELECT seq, ts, kind, xfer, adapter, mdl, offset, length, write_to_device, "
        "context, status, algo, value, n_sg, flags FROM dma_calls WHERE seq >= ? ORDER BY seq",
    [S_RES] = "SELECT seq, ts, kind, id, adapter, dev, addr, length, va, op, flags, "
              "map_registers, addr_limit, max_length FROM resources WHERE seq >= ? ORDER BY seq",
    [S_DESC] = "SELECT seq, ts, cb, offset, data FROM desc_writes WHERE seq >= ? ORDER BY seq",
    [S_PAY] = "SELECT seq, ts, mdl, offset, data FROM payloads WHERE seq >= ? ORDER BY seq",
    [S_PAT] = "SELECT seq, ts, mdl, algo, seed, offset, length FROM patterns "
              "WHERE seq >= ? ORDER BY seq",
    [S_IRQ] = "SELECT seq, ts, dev, claimed, value FROM interrupts WHERE seq >= ? ORDER BY seq",
    [S_DPC] = "SELECT seq, ts, dev, xfer FROM dpcs WHERE seq >= ? ORDER BY seq",
    [S_MARK] = "SELECT seq, ts, text FROM markers WHERE seq >= ? ORDER BY seq",
    [S_CAL] = "SELECT seq, ts, tsc, counter, counter_hz, mult, shift, err_ns FROM calibrations "
              "WHERE seq >= ? ORDER BY seq",
    [S_LOST] = "SELECT first_seq, ts, count, reason FROM lost WHERE first_seq >= ? "
               "ORDER BY first_seq",
};

struct dmt_store_iter {
    dmt_store *st;
    dmt_store_trace_iter *trace; /* a trace-backed store: the trace, not the tables */
    sqlite3 *db;
    sqlite3_stmt *q[S_COUNT_];
    bool row[S_COUNT_];
    uint64_t seq[S_COUNT_];
    sqlite3_stmt *sg; /* exec_seq, addr, length from an id on */
    bool sg_row;
    dmt_sg_elem sgbuf[DMT_MAX_SG_ELEMENTS];
    sqlite3_stmt *dr;  /* a DIGEST record's ranges (point query by seq) */
    sqlite3_stmt *cpu; /* cpu_runs from the run holding the first record on */
    bool cpu_row;
    uint32_t cur_cpu; /* the CPU of the run reached */
    uint64_t values[DMT_MAX_VALUES];
    uint8_t bytes[DMT_MAX_BYTES > DMT_MAX_TEXT ? DMT_MAX_BYTES : DMT_MAX_TEXT];
};

static int advance(dmt_store_iter *it, int s, dmt_error *err)
{
    int rc = sqlite3_step(it->q[s]);
    if (rc == SQLITE_ROW) {
        it->row[s] = true;
        it->seq[s] = (uint64_t)sqlite3_column_int64(it->q[s], 0);
        return 0;
    }
    it->row[s] = false;
    if (rc == SQLITE_DONE)
        return 0;
    return dmt_store_sql_error(err, it->db, rc, "reading records");
}

/* Step a side cursor (sg_elements, cpu_runs): *row says whether it has one. */
static int side_step(dmt_store_iter *it, sqlite3_stmt *q, bool *row, const char *what,
                     dmt_error *err)
{
    int rc = sqlite3_step(q);
    *row = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return 0;
    return dmt_store_sql_error(err, it->db, rc, what);
}

static int sg_advance(dmt_store_iter *it, dmt_error *err)
{
    return side_step(it, it->sg, &it->sg_row, "reading sg_elements", err);
}

static int cpu_advance(dmt_store_iter *it, dmt_error *err)
{
    return side_step(it, it->cpu, &it->cpu_row, "reading cpu_runs", err);
}

void dmt_store_iter_close(dmt_store_iter *it)
{
    if (!it)
        return;
    dmt_store_trace_iter_close(it->trace);
    for (int s = 0; s < S_COUNT_; s++)
        sqlite3_finalize(it->q[s]);
    sqlite3_finalize(it->sg);
    sqlite3_finalize(it->dr);
    sqlite3_finalize(it->cpu);
    free(it);
}

int dmt_store_iter_open(dmt_store *st, uint64_t from_seq, dmt_store_iter **out, dmt_error *err)
{
    *out = NULL;
    dmt_store_iter *it = calloc(1, sizeof *it);
    if (!it)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    it->st = st;
    if (st->trace_backed) {
        int rc = dmt_store_trace_iter_open(st, from_seq, &it->trace, err);
        if (rc) {
            dmt_store_iter_close(it);
            return rc;
        }
        *out = it;
        return 0;
    }
    sqlite3 *db = dmt_store_sqlite(st);
    int rc = 0;
    /* The statements stay active together, so SQLite holds one read
     * transaction (a consistent snapshot) until the walk ends. */
    it->db = db;
    for (int s = 0; s < S_COUNT_ && !rc; s++) {
        rc = dmt_store_prepare(db, src_sql[s], false, &it->q[s], err);
        if (!rc) {
            sqlite3_bind_int64(it->q[s], 1, (int64_t)from_seq);
            rc = advance(it, s, err);
        }
    }
    /* the first element of an EXECUTE_DMA at or after from_seq (ids are
     * exec_seq << DMT_STORE_SG_SHIFT | idx) */
    int64_t id =
        from_seq > DMT_STORE_SG_MAX_SEQ ? INT64_MAX : (int64_t)(from_seq << DMT_STORE_SG_SHIFT);
    if (!rc)
        rc = dmt_store_prepare(
            db, "SELECT offset, length FROM digest_ranges WHERE seq = ? ORDER BY idx", false,
            &it->dr, err);
    if (!rc)
        rc = dmt_store_prepare(db,
                               "SELECT exec_seq, addr, length FROM sg_elements WHERE id >= ? "
                               "ORDER BY id",
                               false, &it->sg, err);
    if (!rc) {
        sqlite3_bind_int64(it->sg, 1, id);
        rc = sg_advance(it, err);
    }
    it->cur_cpu = DMT_CPU_NONE;
    if (!rc)
        rc = dmt_store_prepare(db,
                               "SELECT first_seq, cpu FROM cpu_runs WHERE first_seq >= "
                               "coalesce((SELECT max(first_seq) FROM cpu_runs WHERE first_seq <= "
                               "?1), 0) ORDER BY first_seq",
                               false, &it->cpu, err);
    if (!rc) {
        sqlite3_bind_int64(it->cpu, 1, (int64_t)from_seq);
        rc = cpu_advance(it, err);
    }
    if (rc) {
        dmt_store_iter_close(it);
        return rc;
    }
    *out = it;
    return 0;
}

static uint64_t cu(sqlite3_stmt *q, int c)
{
    return (uint64_t)sqlite3_column_int64(q, c);
}

static uint32_t c32(sqlite3_stmt *q, int c)
{
    return (uint32_t)sqlite3_column_int64(q, c);
}

/* The n ranges of DIGEST record r into sgbuf (as its SG list). */
static int digest_ranges(dmt_store_iter *it, dmt_record *r, uint32_t n, dmt_error *err)
{
    uint32_t k = 0;
    int rc;
    sqlite3_bind_int64(it->dr, 1, (int64_t)r->seq);
    while ((rc = sqlite3_step(it->dr)) == SQLITE_ROW) {
        if (k < n) {
            it->sgbuf[k].addr = cu(it->dr, 0);
            it->sgbuf[k].len = c32(it->dr, 1);
        }
        k++;
    }
    sqlite3_reset(it->dr);
    if (rc != SQLITE_DONE)
        return dmt_store_sql_error(err, it->db, rc, "reading digest_ranges");
    if (k != n)
        return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, r->seq,
                             "digest %llu: %u ranges stored, %u expected",
                             (unsigned long long)r->seq, k, n);
    r->n_sg = n;
    r->sg_list = it->sgbuf;
    r->sg_stride = sizeof(dmt_sg_elem);
    return 0;
}

/* The n bytes at p (a blob or text column) into it->bytes for r; what and
 * unit name them in the error when n is out of 0..max. */
static int take_bytes(dmt_store_iter *it, dmt_record *r, const void *p, int n, unsigned max,
                      const char *what, const char *unit, dmt_error *err)
{
    if (n < 0 || (unsigned)n > max)
        return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, r->seq, "%s %llu: %d %s", what,
                             (unsigned long long)r->seq, n, unit);
    if (n)
        memcpy(it->bytes, p, (size_t)n);
    r->n_bytes = (uint32_t)n;
    r->bytes = n ? it->bytes : NULL;
    return 0;
}

static int build(dmt_store_iter *it, int s, dmt_record *r, dmt_error *err)
{
    sqlite3_stmt *q = it->q[s];
    memset(r, 0, sizeof *r);
    r->seq = cu(q, 0);
    r->ts = sqlite3_column_int64(q, 1);
    r->cpu = DMT_CPU_NONE;
    switch (s) {
    case S_REG:
        r->kind = cu(q, 6) ? DMT_K_REG_WRITE : DMT_K_REG_READ;
        r->dev = c32(q, 2);
        r->off = cu(q, 3);
        r->value = cu(q, 4);
        r->width = c32(q, 5);
        break;
    case S_REGBUF: {
        r->kind = cu(q, 5) ? DMT_K_REG_WRITE_BUF : DMT_K_REG_READ_BUF;
        r->dev = c32(q, 2);
        r->off = cu(q, 3);
        r->width = c32(q, 4);
        const uint8_t *v = sqlite3_column_blob(q, 7);
        int nb = sqlite3_column_bytes(q, 7);
        uint64_t n = cu(q, 6);
        if (n > DMT_MAX_VALUES || (uint64_t)nb != n * 8)
            return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, r->seq,
                                 "reg_buffers row %llu: %llu values in %d bytes",
                                 (unsigned long long)r->seq, (unsigned long long)n, nb);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t x = 0;
            for (int k = 0; k < 8; k++)
                x |= (uint64_t)v[i * 8 + (uint64_t)k] << (8 * k);
            it->values[i] = x;
        }
        r->n_values = (uint32_t)n;
        r->values = n ? it->values : NULL;
        break;
    }
    case S_DMA: {
        r->kind = c32(q, 2);
        r->xfer = c32(q, 3);
        switch (r->kind) {
        case DMT_K_START_DMA:
            r->adapter = c32(q, 4);
            r->mdl = c32(q, 5);
            r->offset = cu(q, 6);
            r->length = cu(q, 7);
            r->write_to_device = cu(q, 8) != 0;
            r->context = cu(q, 9);
            break;
        case DMT_K_EXECUTE_DMA: {
            r->adapter = c32(q, 4);
            r->length = cu(q, 7);
            r->xfer_flags = c32(q, 14);
            uint64_t n = cu(q, 13);
            if (n > DMT_MAX_SG_ELEMENTS)
                return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, r->seq,
                                     "execute_dma %llu: %llu elements", (unsigned long long)r->seq,
                                     (unsigned long long)n);
            /* skip elements of earlier records (none in a sound store) */
            while (it->sg_row && cu(it->sg, 0) < r->seq) {
                int rc = sg_advance(it, err);
                if (rc)
                    return rc;
            }
            uint32_t k = 0;
            while (it->sg_row && cu(it->sg, 0) == r->seq) {
                if (k < n) {
                    it->sgbuf[k].addr = cu(it->sg, 1);
                    it->sgbuf[k].len = c32(it->sg, 2);
                }
                k++;
                int rc = sg_advance(it, err);
                if (rc)
                    return rc;
            }
            if (k != n)
                return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, r->seq,
                                     "execute_dma %llu: %u SG elements stored, %llu expected",
                                     (unsigned long long)r->seq, k, (unsigned long long)n);
            r->n_sg = (uint32_t)n;
            r->sg_list = it->sgbuf;
            r->sg_stride = sizeof(dmt_sg_elem);
            break;
        }
        case DMT_K_START_DMA_END:
            r->adapter = c32(q, 4);
            r->status = c32(q, 10);
            r->length = cu(q, 7);
            break;
        case DMT_K_COMPLETE_DMA:
            r->adapter = c32(q, 4);
            r->write_to_device = cu(q, 8) != 0;
            r->status = c32(q, 10);
            break;
        case DMT_K_DIGEST: {
            r->algo = c32(q, 11);
            r->length = cu(q, 7);
            r->value = cu(q, 12);
            r->digest_policy = c32(q, 14);
            uint64_t n = cu(q, 13);
            if (n == 0)
                break;
            if (n > DMT_MAX_SG_ELEMENTS)
                return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, r->seq,
                                     "digest %llu: %llu ranges", (unsigned long long)r->seq,
                                     (unsigned long long)n);
            int rc = digest_ranges(it, r, (uint32_t)n, err);
            if (rc)
                return rc;
            break;
        }
        default:
            return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, r->seq,
                                 "dma_calls row %llu has kind %u", (unsigned long long)r->seq,
                                 r->kind);
        }
        break;
    }
    case S_RES: {
        r->kind = c32(q, 2);
        uint32_t id = c32(q, 3);
        uint64_t flags = cu(q, 10);
        switch (r->kind) {
        case DMT_K_ADAPTER_CREATE:
            r->adapter = id;
            r->dev = c32(q, 5);
            r->sg = (flags & 1) != 0;
            r->dma32 = (flags & 2) != 0;
            r->dma64 = (flags & 4) != 0;
            r->length = cu(q, 13);
            r->map_registers = c32(q, 11);
            r->addr_limit = cu(q, 12);
            break;
        case DMT_K_ADAPTER_RELEASE:
            r->adapter = id;
            break;
        case DMT_K_BUFFER_LOCK:
            r->mdl = id;
            r->va = cu(q, 8);
            r->length = cu(q, 7);
            r->op = c32(q, 9);
            break;
        case DMT_K_BUFFER_UNLOCK:
            r->mdl = id;
            break;
        case DMT_K_COMMON_ALLOC:
            r->cb = id;
            r->adapter = c32(q, 4);
            r->addr = cu(q, 6);
            r->length = cu(q, 7);
            r->cached = (flags & 8) != 0;
            r->va = cu(q, 8);
            break;
        case DMT_K_COMMON_RELEASE:
            r->cb = id;
            r->adapter = c32(q, 4);
            break;
        case DMT_K_DEVICE_MAP:
            r->dev = id;
            r->addr = cu(q, 6);
            r->length = cu(q, 7);
            r->va = cu(q, 8);
            break;
        default:
            return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, r->seq,
                                 "resources row %llu has kind %u", (unsigned long long)r->seq,
                                 r->kind);
        }
        break;
    }
    case S_DESC:
    case S_PAY: {
        r->kind = s == S_DESC ? DMT_K_DESC_WRITE : DMT_K_PAYLOAD;
        if (s == S_DESC)
            r->cb = c32(q, 2);
        else
            r->mdl = c32(q, 2);
        r->offset = cu(q, 3);
        const void *p = sqlite3_column_blob(q, 4);
        return take_bytes(it, r, p, sqlite3_column_bytes(q, 4), DMT_MAX_BYTES, "row", "data bytes",
                          err);
    }
    case S_PAT:
        r->kind = DMT_K_PATTERN;
        r->mdl = c32(q, 2);
        r->algo = c32(q, 3);
        r->value = cu(q, 4);
        r->offset = cu(q, 5);
        r->length = cu(q, 6);
        break;
    case S_IRQ:
        r->kind = DMT_K_INTERRUPT;
        r->dev = c32(q, 2);
        r->claimed = cu(q, 3) != 0;
        r->value = cu(q, 4);
        break;
    case S_DPC:
        r->kind = DMT_K_DPC;
        r->dev = c32(q, 2);
        r->xfer = c32(q, 3);
        break;
    case S_CAL:
        r->kind = DMT_K_CALIBRATION;
        r->tsc = cu(q, 2);
        r->counter = cu(q, 3);
        r->counter_hz = cu(q, 4);
        r->mult = c32(q, 5);
        r->shift = c32(q, 6);
        r->err_ns = cu(q, 7);
        break;
    case S_MARK: {
        r->kind = DMT_K_MARKER;
        const unsigned char *p = sqlite3_column_text(q, 2);
        return take_bytes(it, r, p, sqlite3_column_bytes(q, 2), DMT_MAX_TEXT, "marker", "bytes",
                          err);
    }
    case S_LOST:
        r->kind = DMT_K_LOST;
        r->value = r->seq;
        r->count = cu(q, 2);
        r->reason = c32(q, 3);
        break;
    default:
        return dmt_error_set(err, DMT_E_INTERNAL, DMT_NO_INDEX, DMT_NO_INDEX, "bad source");
    }
    return 0;
}

int dmt_store_iter_next(dmt_store_iter *it, dmt_record *rec, dmt_error *err)
{
    if (it->trace)
        return dmt_store_trace_iter_next(it->trace, rec, err);
    int best = -1;
    for (int s = 0; s < S_COUNT_; s++)
        if (it->row[s] && (best < 0 || it->seq[s] < it->seq[best]))
            best = s;
    if (best < 0)
        return 0;
    int rc = build(it, best, rec, err);
    while (!rc && it->cpu_row && (uint64_t)sqlite3_column_int64(it->cpu, 0) <= rec->seq) {
        it->cur_cpu = sqlite3_column_type(it->cpu, 1) == SQLITE_NULL
                          ? DMT_CPU_NONE
                          : (uint32_t)sqlite3_column_int64(it->cpu, 1);
        rc = cpu_advance(it, err);
    }
    rec->cpu = it->cur_cpu;
    if (!rc)
        rc = advance(it, best, err);
    return rc ? rc : 1;
}

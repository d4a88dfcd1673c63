/*
 * store_trace.c - a trace-backed store's raw events (dmt_store_import_opts
 * .events_in_trace): "the trace is the event table".  The queries of
 * dmt/store_query.h that read the raw event tables, and the record
 * iterator, read those records from the trace file instead, through the
 * time index's resume points (dmt/reader.h).
 *
 *   seq bounds [s0, s1]
 *     -> the time_index block holding s0 (first_seq <= s0, the last such)
 *     -> its resume point: a chunk boundary at or before the block's first
 *        record, with the reader state there
 *     -> dmt_reader_open_at (re-verifies that chunk) -> read, filter by seq,
 *        kind and time, stop past s1 or past the store's last record
 *
 * One walk (trace_walk) does the reading for the event window, the register
 * searches and the address search; each hands it a callback that filters
 * and says when to stop.
 *
 * Invariants
 *  - The store never trusts the file: before reading, the trace must exist,
 *    be at least meta trace_bytes long and have the header the store was
 *    made from (length and CRC-32C: trace_header_len, trace_header_crc);
 *    then the reader verifies every chunk it reads, starting with the one
 *    the resume point opens.  A failure is one error naming the trace
 *    (DMT_E_IO: gone; DMT_E_FORMAT: changed); the other queries go on
 *    answering from the tables.
 *  - Nothing past the store's last record is returned: the trace of a live
 *    store (an append) holds records the store has not committed yet.
 *  - SG elements are read from the trace too: a transfer's list from its
 *    first EXECUTE_DMA record (dmt_store_trace_sg), the address search from
 *    one pass over the EXECUTE_DMA records, its matches handed to the SQL
 *    that filters transfers as a function (dmt_sg_meets).
 *  - Each answer equals the full-rows store's (test_store checks every
 *    query on both): same records, same fields, same order (file order is
 *    sequence order, FORMAT.md 1.4).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dmt/reader.h"
#include "store_internal.h"

/* ---- the trace, at a resume point ----------------------------------------------- */

bool dmt_store_trace_backed(dmt_store *st)
{
    char v[16];
    return dmt_store_meta_text(st, "events", v, sizeof v, NULL) == 1 && !strcmp(v, "trace");
}

/* A time_index row's resume point (columns rp_*, then first_seq). */
typedef struct rp_cell {
    dmt_reader_resume *rp;
    uint64_t *first;
    dmt_error *err;
} rp_cell;

static int rp_row(sqlite3_stmt *q, void *arg)
{
    const rp_cell *c = arg;
    if (sqlite3_column_type(q, 0) == SQLITE_NULL)
        return dmt_error_set(c->err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                             "this trace-backed store has no resume point into its trace");
    dmt_reader_resume *rp = c->rp;
    memset(rp, 0, sizeof *rp);
    rp->offset = (uint64_t)sqlite3_column_int64(q, 0);
    rp->seq = (uint64_t)sqlite3_column_int64(q, 1);
    rp->ts = sqlite3_column_int64(q, 2);
    rp->cpu = sqlite3_column_type(q, 3) == SQLITE_NULL ? DMT_CPU_NONE
                                                       : (uint32_t)sqlite3_column_int64(q, 3);
    rp->ring_seq_next = sqlite3_column_type(q, 4) != SQLITE_NULL;
    rp->ring_seq = (uint64_t)sqlite3_column_int64(q, 4);
    rp->index = (uint64_t)sqlite3_column_int64(q, 5);
    rp->count = (uint64_t)sqlite3_column_int64(q, 6);
    *c->first = (uint64_t)sqlite3_column_int64(q, 7);
    return 0;
}

/* The resume point of the block chosen by sql (?1 = key; columns rp_*,
 * then first_seq): 1 and *rp filled, 0 when there is no such block. */
static int block_rp(dmt_store *st, const char *sql, uint64_t key, dmt_reader_resume *rp,
                    uint64_t *first, dmt_error *err)
{
    rp_cell c = {rp, first, err};
    return dmt_store_one_row(st, sql, &DMT_STORE_INT(key > INT64_MAX ? INT64_MAX : key), 1, rp_row,
                             &c, "time_index", err);
}

#define RP_COLS "rp_offset, rp_seq, rp_ts, rp_cpu, rp_ring_seq, rp_index, rp_count, first_seq"
#define SQL_AT                                                                                     \
    "SELECT " RP_COLS " FROM time_index WHERE first_seq <= ?1 ORDER BY first_seq DESC LIMIT 1"
#define SQL_FIRST "SELECT " RP_COLS " FROM time_index ORDER BY first_seq LIMIT 1"
#define SQL_BEFORE                                                                                 \
    "SELECT " RP_COLS " FROM time_index WHERE first_seq < ?1 ORDER BY first_seq DESC LIMIT 1"

/* The trace gone from where it was read: a file of the same name beside
 * the store (the two moved or copied together) takes its place in path.
 * True when there is one; the identity checks decide whether it is the
 * store's trace. */
static bool beside_store(dmt_store *st, char *path, size_t cap)
{
    const char *db = sqlite3_db_filename(st->db, "main");
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (!db || !*db || !*base)
        return false;
    const char *slash = strrchr(db, '/');
    int dir = slash ? (int)(slash - db) : 1;
    char cand[4096];
    int n = snprintf(cand, sizeof cand, "%.*s/%s", dir, slash ? db : ".", base);
    struct stat sb;
    if (n < 0 || (size_t)n >= sizeof cand || (size_t)n >= cap || stat(cand, &sb) != 0)
        return false;
    memcpy(path, cand, (size_t)n + 1);
    return true;
}

/* A reader of the store's trace at rp, after the identity checks; *last_seq
 * is the store's last sequence number (nothing past it is the store's). */
static int open_rp(dmt_store *st, const dmt_reader_resume *rp, dmt_reader **out, uint64_t *last_seq,
                   dmt_error *err)
{
    *out = NULL;
    char path[4096];
    int64_t want_bytes = 0, want_len = 0, want_crc = 0, last = 0;
    int rc = dmt_store_meta_text(st, "source_path", path, sizeof path, err);
    if (rc >= 0)
        rc = dmt_store_meta_int(st, "trace_bytes", &want_bytes, err);
    if (rc >= 0)
        rc = dmt_store_meta_int(st, "trace_header_len", &want_len, err);
    if (rc >= 0)
        rc = dmt_store_meta_int(st, "trace_header_crc", &want_crc, err);
    if (rc < 0)
        return rc;
    rc = dmt_store_one_int(st, "SELECT max(last_seq) FROM time_index", NULL, 0, &last, "time_index",
                           err);
    if (rc < 0)
        return rc;
    *last_seq = (uint64_t)last;
    struct stat sb;
    int gone = stat(path, &sb) != 0 ? errno : 0;
    if (gone == ENOENT && beside_store(st, path, sizeof path))
        gone = stat(path, &sb) != 0 ? errno : 0;
    if (gone) {
        int e = gone;
        dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX,
                      "the trace this store reads its events from, %s: %s", path, strerror(e));
        if (err)
            err->sys_errno = e;
        return DMT_E_IO;
    }
    if ((uint64_t)sb.st_size < (uint64_t)want_bytes)
        return dmt_error_set(err, DMT_E_FORMAT, (uint64_t)sb.st_size, DMT_NO_INDEX,
                             "the trace this store reads its events from, %s, has %llu bytes, "
                             "fewer than the %llu it was read from: not the store's trace",
                             path, (unsigned long long)sb.st_size, (unsigned long long)want_bytes);
    dmt_reader *rd;
    dmt_error e2;
    rc = dmt_reader_open_at(path, DMT_READ_ALLOW_CUT, rp, &rd, &e2);
    if (rc)
        return dmt_error_set(err, rc, e2.offset, e2.index,
                             "the trace this store reads its events from, %s, is not the store's "
                             "trace any more: %s",
                             path, e2.msg);
    uint64_t len;
    uint32_t crc;
    dmt_reader_identity(rd, &len, &crc);
    if (len != (uint64_t)want_len || crc != (uint32_t)want_crc) {
        dmt_reader_close(rd);
        return dmt_error_set(err, DMT_E_FORMAT, 0, DMT_NO_INDEX,
                             "the trace this store reads its events from, %s, has another "
                             "header: not the store's trace",
                             path);
    }
    *out = rd;
    return 0;
}

/* A reader at the block holding seq (the first block when seq precedes
 * them all): 0 and *rd (NULL: the store has no records), or an error. */
static int trace_at(dmt_store *st, uint64_t seq, dmt_reader **rd, uint64_t *last_seq,
                    dmt_error *err)
{
    dmt_reader_resume rp;
    uint64_t first;
    *rd = NULL;
    int rc = block_rp(st, SQL_AT, seq, &rp, &first, err);
    if (rc == 0)
        rc = block_rp(st, SQL_FIRST, 0, &rp, &first, err);
    if (rc <= 0)
        return rc;
    return open_rp(st, &rp, rd, last_seq, err);
}

/* The next record of the store from rd: 1, 0 past the store's last record
 * or at the end, or the reader's error (named for the trace). */
static int trace_next(dmt_reader *rd, uint64_t last_seq, dmt_record *r, dmt_error *err)
{
    dmt_error e2;
    int rc = dmt_reader_next(rd, r, &e2);
    if (rc < 0)
        return dmt_error_set(err, rc, e2.offset, e2.index,
                             "reading the trace this store reads its events from: %s", e2.msg);
    if (rc == 1 && r->seq > last_seq)
        return 0;
    return rc;
}

/* What a walk calls on each record: 0 to go on, 1 to stop, or a negative
 * error of its own (err set or not, as the callback decides). */
typedef int (*trace_fn)(void *ctx, const dmt_record *r, dmt_error *err);

/* The one walk over the store's records from the block holding from_seq
 * (records before from_seq included: the callback filters) to the store's
 * last record: fn on each until it stops the walk.  0, or the reader's
 * error or fn's. */
static int trace_walk(dmt_store *st, uint64_t from_seq, trace_fn fn, void *ctx, dmt_error *err)
{
    dmt_reader *rd;
    uint64_t last;
    int rc = trace_at(st, from_seq, &rd, &last, err);
    if (rc || !rd)
        return rc;
    dmt_record r;
    while ((rc = trace_next(rd, last, &r, err)) == 1 && (rc = fn(ctx, &r, err)) == 0)
        ;
    dmt_reader_close(rd);
    return rc < 0 ? rc : 0;
}

/* ---- events of a window -------------------------------------------------------------- */

/* The event row the tables would give for r (store_query.c: ev_read), or
 * false when r is in none of the sets in `what`.  le: 8 * DMT_MAX_VALUES
 * bytes for a register buffer's values. */
static bool as_event(const dmt_record *r, unsigned what, dmt_store_event *e, uint8_t *le)
{
    memset(e, 0, sizeof *e);
    e->kind = r->kind;
    e->seq = r->seq;
    e->ts = r->ts;
    e->cpu = DMT_CPU_NONE;
    switch (r->kind) {
    case DMT_K_REG_WRITE:
    case DMT_K_REG_READ:
        e->dev = r->dev;
        e->off = r->off;
        e->value = r->value;
        e->width = r->width;
        e->is_write = r->kind == DMT_K_REG_WRITE;
        return what & DMT_STORE_EV_REGISTERS;
    case DMT_K_REG_WRITE_BUF:
    case DMT_K_REG_READ_BUF:
        e->dev = r->dev;
        e->off = r->off;
        e->width = r->width;
        e->is_write = r->kind == DMT_K_REG_WRITE_BUF;
        e->count = r->n_values;
        for (uint32_t i = 0; i < r->n_values; i++)
            for (unsigned b = 0; b < 8; b++)
                le[i * 8 + b] = (uint8_t)(r->values[i] >> (8 * b));
        e->data = le;
        e->len = (size_t)r->n_values * 8;
        return what & DMT_STORE_EV_REGISTERS;
    case DMT_K_INTERRUPT:
        e->dev = r->dev;
        e->value = r->value;
        e->claimed = r->claimed;
        e->cpu = r->cpu;
        return what & DMT_STORE_EV_INTERRUPTS;
    case DMT_K_DPC:
        e->dev = r->dev;
        e->cpu = r->cpu;
        return what & DMT_STORE_EV_DPCS;
    case DMT_K_MARKER:
        e->data = r->n_bytes ? r->bytes : (const uint8_t *)"";
        e->len = r->n_bytes;
        return what & DMT_STORE_EV_MARKERS;
    case DMT_K_DESC_WRITE:
        e->dev = r->cb;
        e->off = r->offset;
        e->data = r->n_bytes ? r->bytes : NULL;
        e->len = r->n_bytes;
        return what & DMT_STORE_EV_DESC_WRITES;
    default:
        return false;
    }
}

struct events_walk {
    unsigned what;
    uint64_t s0, s1;
    int64_t t0, t1;
    dmt_store_event_fn fn;
    void *ctx;
    int n;
    uint8_t le[DMT_MAX_VALUES * 8];
};

static int events_rec(void *ctx, const dmt_record *r, dmt_error *err)
{
    (void)err;
    struct events_walk *w = ctx;
    if (r->seq > w->s1)
        return 1;
    dmt_store_event e;
    if (r->seq < w->s0 || r->ts < w->t0 || r->ts > w->t1 || !as_event(r, w->what, &e, w->le))
        return 0;
    w->n++;
    /* a negative return is the callback's own error (err untouched) */
    return w->fn ? w->fn(w->ctx, &e) : 0;
}

int dmt_store_trace_events(dmt_store *st, unsigned what, uint64_t s0, uint64_t s1, int64_t t0,
                           int64_t t1, dmt_store_event_fn fn, void *ctx, dmt_error *err)
{
    if (s0 > s1 || t0 > t1 || !what)
        return 0;
    struct events_walk w = {what, s0, s1, t0, t1, fn, ctx, 0, {0}};
    int rc = trace_walk(st, s0, events_rec, &w, err);
    return rc < 0 ? rc : w.n;
}

int dmt_store_trace_ts_before(dmt_store *st, uint64_t seq, int64_t *ts, dmt_error *err)
{
    if (seq == 0)
        return 0;
    /* from the block holding seq - 1 back, until one holds an event before seq */
    uint64_t key = seq - 1;
    const char *sql = SQL_AT;
    for (;;) {
        dmt_reader_resume rp;
        uint64_t first, last;
        int rc = block_rp(st, sql, key, &rp, &first, err);
        if (rc <= 0)
            return rc;
        dmt_reader *rd;
        if ((rc = open_rp(st, &rp, &rd, &last, err)))
            return rc;
        dmt_record r;
        bool found = false;
        while ((rc = trace_next(rd, last, &r, err)) == 1 && r.seq < seq)
            if (r.kind != DMT_K_LOST) {
                *ts = r.ts;
                found = true;
            }
        dmt_reader_close(rd);
        if (rc < 0)
            return rc;
        if (found)
            return 1;
        key = first;
        sql = SQL_BEFORE;
    }
}

/* ---- register searches ------------------------------------------------------------- */

/* SQLite's (v >> shift) & mask on the signed 64-bit value. */
static int64_t field_of(uint64_t v, unsigned shift, uint64_t mask)
{
    int64_t s = (int64_t)v;
    int64_t f = shift >= 64 ? (s < 0 ? -1 : 0) : s >> shift;
    return f & (int64_t)mask;
}

struct find_walk {
    uint64_t off, mask, limit;
    bool field, have_prev;
    unsigned shift;
    char op;
    int64_t want, prev;
    dmt_store_hit_fn fn;
    void *ctx;
    int n;
};

static int find_rec(void *ctx, const dmt_record *r, dmt_error *err)
{
    (void)err;
    struct find_walk *w = ctx;
    if ((uint64_t)w->n >= w->limit)
        return 1;
    if (r->kind != DMT_K_REG_WRITE || r->off != w->off)
        return 0;
    if (w->field) {
        int64_t f = field_of(r->value, w->shift, w->mask);
        bool hit = w->op == '='   ? f == w->want
                   : w->op == '!' ? f != w->want
                   : w->op == '<' ? f < w->want
                   : w->op == '>' ? f > w->want
                                  : !w->have_prev || f != w->prev;
        w->prev = f;
        w->have_prev = true;
        if (!hit)
            return 0;
    }
    w->n++;
    dmt_store_hit h = {r->ts, r->seq, 0};
    if (w->fn && w->fn(w->ctx, &h))
        return 1;
    return (uint64_t)w->n >= w->limit;
}

int dmt_store_trace_find_reg(dmt_store *st, uint64_t off, bool field, unsigned shift, uint64_t mask,
                             char op, uint64_t value, uint64_t limit, dmt_store_hit_fn fn,
                             void *ctx, dmt_error *err)
{
    struct find_walk w = {.off = off,
                          .mask = mask,
                          .limit = limit,
                          .field = field,
                          .shift = shift,
                          .op = op,
                          .want = (int64_t)value,
                          .fn = fn,
                          .ctx = ctx};
    int rc = trace_walk(st, 0, find_rec, &w, err);
    return rc < 0 ? rc : w.n;
}

/* ---- SG lists ---------------------------------------------------------------------- */

int dmt_store_trace_sg(dmt_store *st, uint64_t exec_seq, uint32_t n_sg, dmt_sg_elem *sg, size_t cap,
                       dmt_error *err)
{
    dmt_reader *rd;
    uint64_t last;
    int rc = trace_at(st, exec_seq, &rd, &last, err);
    if (rc || !rd)
        return rc ? rc : 0;
    dmt_record r;
    while ((rc = trace_next(rd, last, &r, err)) == 1 && r.seq < exec_seq)
        ;
    if (rc == 1 && (r.seq != exec_seq || r.kind != DMT_K_EXECUTE_DMA || r.n_sg != n_sg))
        rc = dmt_error_set(err, DMT_E_FORMAT, r.pos, DMT_NO_INDEX,
                           "the trace's record %llu is not the EXECUTE_DMA of %u SG elements "
                           "the store expects",
                           (unsigned long long)exec_seq, n_sg);
    else if (rc == 0)
        rc = dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                           "the trace has no record %llu", (unsigned long long)exec_seq);
    for (uint32_t i = 0; rc == 1 && i < r.n_sg && i < cap; i++)
        sg[i] = dmt_record_sg_at(&r, i);
    dmt_reader_close(rd);
    return rc == 1 ? (int)n_sg : rc;
}

struct sg_walk {
    int64_t lo, hi;
    dmt_store_map *set;
};

static int sg_rec(void *ctx, const dmt_record *r, dmt_error *err)
{
    struct sg_walk *w = ctx;
    if (r->kind != DMT_K_EXECUTE_DMA)
        return 0;
    for (uint32_t i = 0; i < r->n_sg; i++) {
        dmt_sg_elem e = dmt_record_sg_at(r, i);
        int64_t a = (int64_t)e.addr, end;
        /* SQLite's sum leaves the integers upwards on overflow */
        bool over = __builtin_add_overflow(a, (int64_t)e.len, &end);
        if (a < w->hi && (over || end > w->lo))
            return dmt_store_map_put(w->set, r->seq, 0, 1)
                       ? dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX,
                                       "out of memory")
                       : 0;
    }
    return 0;
}

/* The EXECUTE_DMA records (by seq) with an element meeting [lo, hi), as
 * the tables' "addr < hi AND addr + length > lo" over the signed columns. */
static int sg_meeting(dmt_store *st, int64_t lo, int64_t hi, dmt_store_map *set, dmt_error *err)
{
    struct sg_walk w = {lo, hi, set};
    return trace_walk(st, 0, sg_rec, &w, err);
}

/* SQL dmt_sg_meets(exec_seq): is it in the set sg_meeting built. */
static void sg_meets_fn(sqlite3_context *c, int n, sqlite3_value **v)
{
    (void)n;
    const dmt_store_map *set = sqlite3_user_data(c);
    sqlite3_result_int(c, dmt_store_map_get(set, (uint64_t)sqlite3_value_int64(v[0]), 0) !=
                              UINT32_MAX);
}

int dmt_store_trace_sg_filter(dmt_store *st, int64_t lo, int64_t hi, dmt_idmap *set, dmt_error *err)
{
    int rc = sg_meeting(st, lo, hi, set, err);
    if (!rc && sqlite3_create_function(st->db, "dmt_sg_meets", 1, SQLITE_UTF8, set, sg_meets_fn,
                                       NULL, NULL) != SQLITE_OK)
        rc = dmt_store_sql_error(err, st->db, SQLITE_ERROR, "dmt_sg_meets");
    return rc;
}

/* ---- the record iterator ------------------------------------------------------------ */

struct dmt_store_trace_iter {
    dmt_reader *rd;
    uint64_t from, last;
};

int dmt_store_trace_iter_open(dmt_store *st, uint64_t from_seq, dmt_store_trace_iter **out,
                              dmt_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    (*out)->from = from_seq;
    int rc = trace_at(st, from_seq, &(*out)->rd, &(*out)->last, err);
    if (rc) {
        dmt_store_trace_iter_close(*out);
        *out = NULL;
    }
    return rc;
}

int dmt_store_trace_iter_next(dmt_store_trace_iter *it, dmt_record *rec, dmt_error *err)
{
    if (!it->rd)
        return 0;
    int rc;
    while ((rc = trace_next(it->rd, it->last, rec, err)) == 1) {
        if (rec->seq < it->from) /* as the tables' "seq >= from" (LOST: first_seq) */
            continue;
        /* what the tables can give back: no file position, no ring_seq */
        rec->pos = 0;
        rec->has_ring_seq = false;
        rec->ring_seq = 0;
        return 1;
    }
    return rc;
}

void dmt_store_trace_iter_close(dmt_store_trace_iter *it)
{
    if (!it)
        return;
    dmt_reader_close(it->rd);
    free(it);
}

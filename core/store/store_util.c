/*
 * store_util.c - pieces the store's files share (see store_internal.h): the
 * embedded schema/store.sql and its sections, SQLite error mapping, the
 * store's view of dmt_idmap, summary bucket arithmetic and the one `summary`
 * row decoder, lane kind names and
 * the transfers row <-> dmt_store_transfer mapping, and the one-row
 * statement ("prepare, bind, step once, read the row, finalize"), and the
 * bind cache's memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* ---- the embedded schema ----------------------------------------------------
 * schema/store.sql is normative; the library carries it verbatim (the
 * assembler includes the file at build time) so the importer runs exactly
 * what the schema says.  test_store checks it against the file. */
#ifndef DMT_SCHEMA_DIR
#error "DMT_SCHEMA_DIR must name the schema folder"
#endif
__asm__(".section .rodata\n"
        ".balign 16\n"
        "dmt_store_schema_text_:\n"
        ".incbin \"" DMT_SCHEMA_DIR "/store.sql\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char dmt_store_schema_text_[];

const char *dmt_store_schema_sql(void)
{
    return dmt_store_schema_text_;
}

/* Sections start at a line "-- @section NAME" and run to the next one. */
char *dmt_store_schema_section(const char *name)
{
    const char *s = dmt_store_schema_text_;
    const char *tag = "-- @section ";
    size_t tl = strlen(tag), nl = strlen(name);
    const char *start = NULL;
    for (const char *p = s; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len >= tl && memcmp(p, tag, tl) == 0) {
            if (start) {
                size_t n = (size_t)(p - start);
                char *out = malloc(n + 1);
                if (out) {
                    memcpy(out, start, n);
                    out[n] = 0;
                }
                return out;
            }
            if (len - tl == nl && memcmp(p + tl, name, nl) == 0)
                start = eol ? eol + 1 : p + len;
        }
        p = eol ? eol + 1 : p + len;
    }
    return start ? strdup(start) : NULL;
}

/* ---- SQLite errors ---------------------------------------------------------- */

int dmt_store_sql_error(dmt_error *err, sqlite3 *db, int rc, const char *what)
{
    int prim = rc & 0xFF;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int code = DMT_E_IO;
    if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB || prim == SQLITE_FORMAT ||
        prim == SQLITE_SCHEMA || prim == SQLITE_MISMATCH)
        code = DMT_E_FORMAT;
    else if (prim == SQLITE_NOMEM)
        code = DMT_E_NOMEM;
    else if (prim == SQLITE_MISUSE || prim == SQLITE_RANGE)
        code = DMT_E_INTERNAL;
    else if (prim == SQLITE_ERROR)
        /* a statement the schema should have accepted: the database is not
         * what it claims (missing table or column) */
        code = DMT_E_FORMAT;
    dmt_error_set(err, code, DMT_NO_INDEX, DMT_NO_INDEX, "%s: %s", what, msg);
    if (err && code == DMT_E_IO)
        err->sys_errno = db ? sqlite3_system_errno(db) : 0;
    return code;
}

int dmt_store_exec(sqlite3 *db, const char *sql, dmt_error *err)
{
    char *emsg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &emsg);
    sqlite3_free(emsg);
    if (rc != SQLITE_OK)
        return dmt_store_sql_error(err, db, rc, "sqlite");
    return 0;
}

int dmt_store_prepare(sqlite3 *db, const char *sql, bool persistent, sqlite3_stmt **st,
                      dmt_error *err)
{
    int rc = sqlite3_prepare_v3(db, sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return dmt_store_sql_error(err, db, rc, "sqlite prepare");
    }
    return 0;
}

/* ---- one-row statements ------------------------------------------------------- */

int dmt_store_step_one(dmt_store *st, sqlite3_stmt *q, bool cached,
                       int (*row)(sqlite3_stmt *, void *), void *arg, const char *what,
                       dmt_error *err)
{
    int rc = sqlite3_step(q), got = 0;
    if (rc == SQLITE_ROW && row)
        got = row(q, arg);
    if (cached)
        sqlite3_reset(q);
    else
        sqlite3_finalize(q);
    if (rc == SQLITE_ROW)
        return got < 0 ? got : 1;
    if (rc == SQLITE_DONE)
        return 0;
    return dmt_store_sql_error(err, st->db, rc, what);
}

int dmt_store_one_row(dmt_store *st, const char *sql, const dmt_store_arg *args, int nargs,
                      int (*row)(sqlite3_stmt *, void *), void *arg, const char *what,
                      dmt_error *err)
{
    sqlite3_stmt *q;
    int rc = dmt_store_prepare(st->db, sql, false, &q, err);
    if (rc)
        return rc;
    for (int i = 0; i < nargs; i++)
        if (args[i].text)
            sqlite3_bind_text(q, i + 1, args[i].text, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(q, i + 1, args[i].i);
    return dmt_store_step_one(st, q, false, row, arg, what, err);
}

/* Column 0 of the row into *v, unless NULL. */
typedef struct int_cell {
    int64_t *v;
    bool got;
} int_cell;

static int int_cell_row(sqlite3_stmt *q, void *arg)
{
    int_cell *c = arg;
    c->got = sqlite3_column_type(q, 0) != SQLITE_NULL;
    if (c->got)
        *c->v = sqlite3_column_int64(q, 0);
    return 0;
}

int dmt_store_one_int(dmt_store *st, const char *sql, const dmt_store_arg *args, int nargs,
                      int64_t *v, const char *what, dmt_error *err)
{
    int_cell c = {v, false};
    int rc = dmt_store_one_row(st, sql, args, nargs, int_cell_row, &c, what, err);
    return rc < 0 ? rc : c.got;
}

/* ---- hash map ----------------------------------------------------------------
 * dmt_idmap with u32 values.  The store's maps hold at most one entry per
 * record imported or row read (lanes, adapters, devices, transfers), so
 * their cap is the map's own limit: DMT_IDMAP_MAX_LIVE entries (a 24 GiB
 * table), reported as out of memory.  The table starts small and doubles. */

void dmt_store_map_free(dmt_store_map *m)
{
    dmt_idmap_free(m);
}

uint32_t dmt_store_map_get(const dmt_store_map *m, uint64_t a, uint64_t b)
{
    uint64_t v = dmt_idmap_get(m, a, b);
    return v == DMT_IDMAP_NONE ? UINT32_MAX : (uint32_t)v;
}

int dmt_store_map_put(dmt_store_map *m, uint64_t a, uint64_t b, uint32_t v)
{
    if (v == UINT32_MAX) /* the "absent" answer of dmt_store_map_get */
        return DMT_E_INTERNAL;
    if (!m->max_live && !dmt_idmap_init(m, DMT_IDMAP_MAX_LIVE, 0))
        return DMT_E_INTERNAL;
    return dmt_idmap_put(m, a, b, v) ? DMT_E_NOMEM : 0;
}

void dmt_store_map_del(dmt_store_map *m, uint64_t a, uint64_t b)
{
    dmt_idmap_del(m, a, b);
}

/* ---- summary buckets ---------------------------------------------------------- */

void dmt_store_bucket_init(dmt_store_bucket *b, int64_t lane, int level, int64_t bucket)
{
    memset(b, 0, sizeof *b);
    b->lane = lane;
    b->level = level;
    b->bucket = bucket;
    b->t_first = INT64_MAX;
    b->t_last = INT64_MIN;
}

void dmt_store_bucket_read(sqlite3_stmt *q, int c, int64_t lane, int level, dmt_store_bucket *b)
{
    dmt_store_bucket_init(b, lane, level, sqlite3_column_int64(q, c));
    b->count = (uint64_t)sqlite3_column_int64(q, c + 1);
    b->bytes = (uint64_t)sqlite3_column_int64(q, c + 2);
    b->has_range = sqlite3_column_type(q, c + 3) != SQLITE_NULL;
    b->vmin = (uint64_t)sqlite3_column_int64(q, c + 3);
    b->vmax = (uint64_t)sqlite3_column_int64(q, c + 4);
    b->has_last = sqlite3_column_type(q, c + 5) != SQLITE_NULL;
    b->vlast = (uint64_t)sqlite3_column_int64(q, c + 5);
    b->t_first = sqlite3_column_int64(q, c + 6);
    b->t_last = sqlite3_column_int64(q, c + 7);
}

void dmt_store_bucket_add_value(dmt_store_bucket *b, int64_t ts, uint64_t value, uint64_t bytes)
{
    b->count++;
    b->bytes += bytes;
    if (!b->has_range) {
        b->vmin = b->vmax = value;
        b->has_range = true;
    } else {
        if (value < b->vmin)
            b->vmin = value;
        if (value > b->vmax)
            b->vmax = value;
    }
    if (ts < b->t_first)
        b->t_first = ts;
    if (!b->has_last || ts >= b->t_last) {
        b->vlast = value;
        b->has_last = true;
    }
    if (ts > b->t_last)
        b->t_last = ts;
}

void dmt_store_bucket_add_marker(dmt_store_bucket *b, int64_t ts)
{
    b->count++;
    if (ts < b->t_first)
        b->t_first = ts;
    if (ts > b->t_last)
        b->t_last = ts;
}

void dmt_store_bucket_add_transfer(dmt_store_bucket *b, int64_t t_begin, int64_t t_end,
                                   uint64_t granted, bool has_duration, int64_t duration, bool bad)
{
    b->count++;
    b->bytes += granted;
    if (has_duration) {
        if (!b->has_range) {
            b->vmin = b->vmax = (uint64_t)duration;
            b->has_range = true;
        } else {
            if (duration < (int64_t)b->vmin)
                b->vmin = (uint64_t)duration;
            if (duration > (int64_t)b->vmax)
                b->vmax = (uint64_t)duration;
        }
    }
    b->has_last = true;
    b->vlast += bad;
    if (t_begin < b->t_first)
        b->t_first = t_begin;
    if (t_end > b->t_last)
        b->t_last = t_end;
}

void dmt_store_bucket_merge(dmt_store_bucket *dst, const dmt_store_bucket *src, bool transfers_lane)
{
    dst->count += src->count;
    dst->bytes += src->bytes;
    if (src->has_range) {
        if (!dst->has_range) {
            dst->vmin = src->vmin;
            dst->vmax = src->vmax;
            dst->has_range = true;
        } else if (transfers_lane) {
            if ((int64_t)src->vmin < (int64_t)dst->vmin)
                dst->vmin = src->vmin;
            if ((int64_t)src->vmax > (int64_t)dst->vmax)
                dst->vmax = src->vmax;
        } else {
            if (src->vmin < dst->vmin)
                dst->vmin = src->vmin;
            if (src->vmax > dst->vmax)
                dst->vmax = src->vmax;
        }
    }
    if (transfers_lane) {
        dst->vlast += src->vlast;
        dst->has_last = dst->has_last || src->has_last;
    } else if (src->has_last && (!dst->has_last || src->t_last >= dst->t_last)) {
        dst->vlast = src->vlast;
        dst->has_last = true;
    }
    if (src->t_first < dst->t_first)
        dst->t_first = src->t_first;
    if (src->t_last > dst->t_last)
        dst->t_last = src->t_last;
}

/* ---- lanes ------------------------------------------------------------------------ */

static const char *const lane_kinds[] = {NULL,   "transfers", "register", "interrupts",
                                         "lost", "markers",   "findings"};

const char *dmt_store_lane_kind_name(int kind)
{
    return kind >= 1 && kind <= 6 ? lane_kinds[kind] : "?";
}

int dmt_store_lane_kind_of(const char *name)
{
    for (int k = 1; k <= 6; k++)
        if (name && strcmp(name, lane_kinds[k]) == 0)
            return k;
    return 0;
}

/* ---- transfers rows ---------------------------------------------------------------- */

const char dmt_store_xfer_columns[] =
    "xfer, adapter, mdl, offset, requested, granted, write_to_device, context, start_seq, "
    "start_ts, exec_seq, exec_ts, end_seq, end_ts, end_status, end_length, complete_seq, "
    "complete_ts, complete_status, complete_count, interrupt_seq, interrupt_ts, dpc_seq, dpc_ts, "
    "n_sg, sg_bytes, sg_lo, sg_hi, sg_first, digest, digest_algo, digest_len, truncated, bounced, "
    "outcome, t_begin, t_end, duration_ns, exec_cpu";

const char dmt_store_xfer_stored_columns[] =
    "xfer, adapter, mdl, offset, requested, granted, write_to_device, context, start_seq, "
    "start_ts, exec_seq, exec_ts, end_seq, end_ts, end_status, end_length, complete_seq, "
    "complete_ts, complete_status, complete_count, interrupt_seq, interrupt_ts, dpc_seq, dpc_ts, "
    "n_sg, sg_bytes, sg_lo, sg_hi, digest, digest_algo, digest_len, bounced, t_begin, t_end, "
    "duration_ns, exec_cpu";

void dmt_store_xfer_init(dmt_store_transfer *t, uint32_t xfer)
{
    memset(t, 0, sizeof *t);
    t->xfer = xfer;
    t->start_seq = t->exec_seq = t->end_seq = t->complete_seq = DMT_STORE_NONE;
    t->interrupt_seq = t->dpc_seq = DMT_STORE_NONE;
    t->exec_cpu = DMT_CPU_NONE;
    t->t_begin = INT64_MAX;
    t->t_end = INT64_MIN;
    strcpy(t->outcome, "not-completed");
}

void dmt_store_xfer_finish(dmt_store_transfer *t)
{
    t->truncated = t->start_seq != DMT_STORE_NONE && t->exec_seq != DMT_STORE_NONE &&
                   t->granted < t->requested;
    const char *o;
    if (t->complete_count > 1)
        o = "completed-twice";
    else if ((t->end_seq != DMT_STORE_NONE && t->end_status != 0) ||
             (t->complete_seq != DMT_STORE_NONE && t->complete_status != 0))
        o = "failed";
    else if (t->complete_seq == DMT_STORE_NONE)
        o = "not-completed";
    else
        o = "completed";
    strcpy(t->outcome, o);
    t->has_duration = t->start_seq != DMT_STORE_NONE && t->complete_seq != DMT_STORE_NONE;
    t->duration_ns = t->has_duration ? t->complete_ts - t->start_ts : 0;
}

static void bind_opt(dmt_bind_cache *st, int i, bool present, int64_t v)
{
    if (present)
        dmt_bc_int(st, i, v);
    else
        dmt_bc_null(st, i);
}

int dmt_store_xfer_bind(dmt_bind_cache *st, int base, const dmt_store_transfer *t)
{
    const bool s = t->start_seq != DMT_STORE_NONE, x = t->exec_seq != DMT_STORE_NONE;
    const bool e = t->end_seq != DMT_STORE_NONE, c = t->complete_seq != DMT_STORE_NONE;
    const bool i = t->interrupt_seq != DMT_STORE_NONE, d = t->dpc_seq != DMT_STORE_NONE;
    const bool sg = x && t->n_sg > 0;
    int k = base + 1;
    dmt_bc_int(st, k++, t->xfer);
    bind_opt(st, k++, t->has_adapter, t->adapter);
    bind_opt(st, k++, s, t->mdl);
    bind_opt(st, k++, s, (int64_t)t->offset);
    bind_opt(st, k++, s, (int64_t)t->requested);
    bind_opt(st, k++, x, (int64_t)t->granted);
    bind_opt(st, k++, s, t->write_to_device);
    bind_opt(st, k++, s, (int64_t)t->context);
    bind_opt(st, k++, s, (int64_t)t->start_seq);
    bind_opt(st, k++, s, t->start_ts);
    bind_opt(st, k++, x, (int64_t)t->exec_seq);
    bind_opt(st, k++, x, t->exec_ts);
    bind_opt(st, k++, e, (int64_t)t->end_seq);
    bind_opt(st, k++, e, t->end_ts);
    bind_opt(st, k++, e, t->end_status);
    bind_opt(st, k++, e, (int64_t)t->end_length);
    bind_opt(st, k++, c, (int64_t)t->complete_seq);
    bind_opt(st, k++, c, t->complete_ts);
    bind_opt(st, k++, c, t->complete_status);
    dmt_bc_int(st, k++, t->complete_count);
    bind_opt(st, k++, i, (int64_t)t->interrupt_seq);
    bind_opt(st, k++, i, t->interrupt_ts);
    bind_opt(st, k++, d, (int64_t)t->dpc_seq);
    bind_opt(st, k++, d, t->dpc_ts);
    bind_opt(st, k++, x, t->n_sg);
    bind_opt(st, k++, x, (int64_t)t->sg_bytes);
    bind_opt(st, k++, sg, (int64_t)t->sg_lo);
    bind_opt(st, k++, sg, (int64_t)t->sg_hi);
    bind_opt(st, k++, t->has_digest, (int64_t)t->digest);
    bind_opt(st, k++, t->has_digest, t->digest_algo);
    bind_opt(st, k++, t->has_digest, (int64_t)t->digest_len);
    /* sg_first, truncated and outcome: computed by the view `transfers` */
    bind_opt(st, k++, x && t->bounce_known, t->bounced);
    dmt_bc_int(st, k++, t->t_begin);
    dmt_bc_int(st, k++, t->t_end);
    bind_opt(st, k++, t->has_duration, t->duration_ns);
    bind_opt(st, k++, x && t->exec_cpu != DMT_CPU_NONE, t->exec_cpu);
    return k - 1 - base == DMT_STORE_XFER_NSTORED ? 0 : DMT_E_INTERNAL;
}

/* ---- the bind cache ---------------------------------------------------------- */

void dmt_bc_attach(dmt_bind_cache *c, sqlite3_stmt *st)
{
    if (c->st == st)
        return;
    dmt_bc_free(c);
    c->st = st;
    int n = sqlite3_bind_parameter_count(st);
    c->set = n > 0 ? calloc((size_t)n, 1) : NULL;
    c->v = n > 0 ? malloc((size_t)n * sizeof *c->v) : NULL;
    c->n = c->set && c->v ? n : 0;
}

void dmt_bc_free(dmt_bind_cache *c)
{
    free(c->set);
    free(c->v);
    memset(c, 0, sizeof *c);
}

static bool col_null(sqlite3_stmt *st, int c)
{
    return sqlite3_column_type(st, c) == SQLITE_NULL;
}

static uint64_t col_seq(sqlite3_stmt *st, int c)
{
    return col_null(st, c) ? DMT_STORE_NONE : (uint64_t)sqlite3_column_int64(st, c);
}

void dmt_store_xfer_read(sqlite3_stmt *st, int c, dmt_store_transfer *t)
{
    dmt_store_xfer_init(t, (uint32_t)sqlite3_column_int64(st, c + 0));
    t->has_adapter = !col_null(st, c + 1);
    t->adapter = (uint32_t)sqlite3_column_int64(st, c + 1);
    t->mdl = (uint32_t)sqlite3_column_int64(st, c + 2);
    t->offset = (uint64_t)sqlite3_column_int64(st, c + 3);
    t->requested = (uint64_t)sqlite3_column_int64(st, c + 4);
    t->granted = (uint64_t)sqlite3_column_int64(st, c + 5);
    t->write_to_device = sqlite3_column_int64(st, c + 6) != 0;
    t->context = (uint64_t)sqlite3_column_int64(st, c + 7);
    t->start_seq = col_seq(st, c + 8);
    t->start_ts = sqlite3_column_int64(st, c + 9);
    t->exec_seq = col_seq(st, c + 10);
    t->exec_ts = sqlite3_column_int64(st, c + 11);
    t->end_seq = col_seq(st, c + 12);
    t->end_ts = sqlite3_column_int64(st, c + 13);
    t->end_status = (uint32_t)sqlite3_column_int64(st, c + 14);
    t->end_length = (uint64_t)sqlite3_column_int64(st, c + 15);
    t->complete_seq = col_seq(st, c + 16);
    t->complete_ts = sqlite3_column_int64(st, c + 17);
    t->complete_status = (uint32_t)sqlite3_column_int64(st, c + 18);
    t->complete_count = (uint32_t)sqlite3_column_int64(st, c + 19);
    t->interrupt_seq = col_seq(st, c + 20);
    t->interrupt_ts = sqlite3_column_int64(st, c + 21);
    t->dpc_seq = col_seq(st, c + 22);
    t->dpc_ts = sqlite3_column_int64(st, c + 23);
    t->n_sg = (uint32_t)sqlite3_column_int64(st, c + 24);
    t->sg_bytes = (uint64_t)sqlite3_column_int64(st, c + 25);
    t->sg_lo = (uint64_t)sqlite3_column_int64(st, c + 26);
    t->sg_hi = (uint64_t)sqlite3_column_int64(st, c + 27);
    t->sg_first = (uint64_t)sqlite3_column_int64(st, c + 28);
    t->has_digest = !col_null(st, c + 29);
    t->digest = (uint64_t)sqlite3_column_int64(st, c + 29);
    t->digest_algo = (uint32_t)sqlite3_column_int64(st, c + 30);
    t->digest_len = (uint64_t)sqlite3_column_int64(st, c + 31);
    t->truncated = sqlite3_column_int64(st, c + 32) != 0;
    t->bounce_known = !col_null(st, c + 33);
    t->bounced = sqlite3_column_int64(st, c + 33) != 0;
    const unsigned char *o = sqlite3_column_text(st, c + 34);
    snprintf(t->outcome, sizeof t->outcome, "%s", o ? (const char *)o : "");
    t->t_begin = sqlite3_column_int64(st, c + 35);
    t->t_end = sqlite3_column_int64(st, c + 36);
    t->has_duration = !col_null(st, c + 37);
    t->duration_ns = sqlite3_column_int64(st, c + 37);
    t->exec_cpu = col_null(st, c + 38) ? DMT_CPU_NONE : (uint32_t)sqlite3_column_int64(st, c + 38);
}

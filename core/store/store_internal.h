/*
 * store_internal.h - what the store's source files share (not installed):
 * the open store's state, its cached statements, the embedded schema's
 * sections, SQLite error mapping, a small hash map, the summary bucket
 * arithmetic and row decoder (one definition each, used by the importer,
 * the queries and the on-demand levels), and the transfers row <-> struct
 * mapping, and the bind cache (a statement's parameters bound only when
 * they change).
 */
#ifndef DMT_STORE_INTERNAL_H
#define DMT_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmt/error.h"
#include "dmt/idmap.h"
#include "dmt/store.h"
#include "dmt/store_query.h"

/* ---- an open store ---------------------------------------------------------- */

/* Statements prepared once per store and reset after each use (hot paths:
 * a viewer frame asks them lane after lane). */
enum dmt_store_stmt_id {
    DMT_Q_BUCKETS,
    DMT_Q_BUCKETS_ALL,
    DMT_Q_BEFORE,
    DMT_Q_XFERS,
    DMT_Q_COUNT_
};

struct dmt_store_levels; /* store_levels.c: lane index, on-demand cache */

struct dmt_store {
    sqlite3 *db;
    bool trace_backed; /* meta events = 'trace': raw events from the trace */
    int min_level;     /* finest stored summary level */
    int64_t max_span;  /* longest transfer span (dmt_store_max_transfer_ns) */
    struct dmt_store_levels *lv;
    sqlite3_stmt *q[DMT_Q_COUNT_];
};

/* The cached statement id (prepared from sql on first use), reset and with
 * its bindings cleared.  The caller resets it when done with the rows. */
int dmt_store_cached(dmt_store *st, int id, const char *sql, sqlite3_stmt **q, dmt_error *err);
/* Two integers of the one row sql returns (parameters ?1 = a, ?2 = b, the
 * first nbind of them); *any false when the first is NULL.  For
 * time_index aggregates. */
int dmt_store_int_pair(dmt_store *st, const char *sql, int nbind, int64_t a, int64_t b, int64_t *x,
                       int64_t *y, bool *any, dmt_error *err);
/* Text meta value `key` into out (cap bytes, cut to fit): 1, 0 when absent
 * (out ""), or the error. */
int dmt_store_meta_text(dmt_store *st, const char *key, char *out, size_t cap, dmt_error *err);
/* Lane `lane` (DMT_E_USAGE when there is none). */
int dmt_store_lane_get(dmt_store *st, int64_t lane, dmt_store_lane *l, dmt_error *err);
/* Step q to the end, calling row(q, arg) for each row until it returns
 * non-zero; finalize q (reset it when cached).  Rows delivered, or the
 * SQLite error mapped (`what` names the table). */
int dmt_store_each_row(dmt_store *st, sqlite3_stmt *q, bool cached,
                       int (*row)(sqlite3_stmt *, void *), void *arg, const char *what,
                       dmt_error *err);
/* Free what store_levels.c keeps (dmt_store_close). */
void dmt_store_levels_free(dmt_store *st);

/* ---- a trace-backed store's raw events (store_trace.c) ----------------------- */

/* meta events = 'trace' (read at open into st->trace_backed). */
bool dmt_store_trace_backed(dmt_store *st);
/* dmt_store_events, dmt_store_ts_before, dmt_store_find_reg_field (field)
 * and dmt_store_find_reg_writes (!field) answered from the trace. */
int dmt_store_trace_events(dmt_store *st, unsigned what, uint64_t s0, uint64_t s1, int64_t t0,
                           int64_t t1, dmt_store_event_fn fn, void *ctx, dmt_error *err);
int dmt_store_trace_ts_before(dmt_store *st, uint64_t seq, int64_t *ts, dmt_error *err);
int dmt_store_trace_find_reg(dmt_store *st, uint64_t off, bool field, unsigned shift, uint64_t mask,
                             char op, uint64_t value, uint64_t limit, dmt_store_hit_fn fn,
                             void *ctx, dmt_error *err);
/* The SG list of the EXECUTE_DMA at exec_seq (n_sg elements expected) into
 * sg[0 .. cap): n_sg, or an error. */
int dmt_store_trace_sg(dmt_store *st, uint64_t exec_seq, uint32_t n_sg, dmt_sg_elem *sg, size_t cap,
                       dmt_error *err);
/* The address search: fill set (caller frees) with the EXECUTE_DMA records
 * that have an element meeting [lo, hi) and register the SQL function
 * dmt_sg_meets(exec_seq) over it on st's connection. */
int dmt_store_trace_sg_filter(dmt_store *st, int64_t lo, int64_t hi, dmt_idmap *set,
                              dmt_error *err);
/* The record iterator's trace side: the store's records with seq >= from
 * as the tables give them back (pos 0, no ring_seq). */
typedef struct dmt_store_trace_iter dmt_store_trace_iter;
int dmt_store_trace_iter_open(dmt_store *st, uint64_t from_seq, dmt_store_trace_iter **out,
                              dmt_error *err);
int dmt_store_trace_iter_next(dmt_store_trace_iter *it, dmt_record *rec, dmt_error *err);
void dmt_store_trace_iter_close(dmt_store_trace_iter *it);

/* ---- schema ---------------------------------------------------------------- */

/* Text of section `name` ("tables", "derive", "indexes") of store.sql as a
 * malloc'd NUL-terminated string (caller frees), or NULL. */
char *dmt_store_schema_section(const char *name);

/* ---- SQLite helpers -------------------------------------------------------- */

/* Fill err from the connection's last error: DMT_E_IO for I/O, full disk,
 * interrupt and the like, DMT_E_FORMAT for a damaged file (SQLITE_CORRUPT,
 * SQLITE_NOTADB); `what` says what was being done. */
int dmt_store_sql_error(dmt_error *err, sqlite3 *db, int rc, const char *what);
/* sqlite3_exec of sql with the error mapped as above. */
int dmt_store_exec(sqlite3 *db, const char *sql, dmt_error *err);
/* Prepare sql (persistent when persistent); error mapped as above. */
int dmt_store_prepare(sqlite3 *db, const char *sql, bool persistent, sqlite3_stmt **st,
                      dmt_error *err);

/* One-row statements: prepare, bind, step once, read the row, finalize.
 * A parameter is bound as text when text is set, else as the integer i. */
typedef struct dmt_store_arg {
    const char *text;
    int64_t i;
} dmt_store_arg;
#define DMT_STORE_INT(v)  ((dmt_store_arg){NULL, (int64_t)(v)})
#define DMT_STORE_TEXT(s) ((dmt_store_arg){(s), 0})
/* Step prepared q once; on a row call row(q, arg) (may be NULL); finalize q
 * (reset it when cached).  1 when there was a row, 0 when none, row's
 * negative return (its own error), or the SQLite error mapped (`what`
 * names the table). */
int dmt_store_step_one(dmt_store *st, sqlite3_stmt *q, bool cached,
                       int (*row)(sqlite3_stmt *, void *), void *arg, const char *what,
                       dmt_error *err);
/* The same for sql, prepared here with ?1..?nargs bound from args. */
int dmt_store_one_row(dmt_store *st, const char *sql, const dmt_store_arg *args, int nargs,
                      int (*row)(sqlite3_stmt *, void *), void *arg, const char *what,
                      dmt_error *err);
/* Column 0 of the first row of sql into *v: 1, 0 when there is no row or
 * it is NULL (*v untouched), or the error. */
int dmt_store_one_int(dmt_store *st, const char *sql, const dmt_store_arg *args, int nargs,
                      int64_t *v, const char *what, dmt_error *err);

/* u64 <-> the signed column value with the same bits. */
static inline int64_t dmt_store_i64(uint64_t v)
{
    return (int64_t)v;
}
static inline uint64_t dmt_store_u64(int64_t v)
{
    return (uint64_t)v;
}

/* a - b, saturating at INT64_MIN (window starts widened by a span). */
static inline int64_t dmt_store_sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_sub_overflow(a, b, &r) ? INT64_MIN : r;
}

/* ---- hash map: (u64, u64) key -> u32 value ----------------------------------
 * A dmt_idmap (dmt/idmap.h); a zero-filled one is an empty map. */

typedef dmt_idmap dmt_store_map;

void dmt_store_map_free(dmt_store_map *m);
/* Slot value for key, or UINT32_MAX. */
uint32_t dmt_store_map_get(const dmt_store_map *m, uint64_t a, uint64_t b);
/* Insert or replace (v < UINT32_MAX); 0, DMT_E_NOMEM or DMT_E_INTERNAL. */
int dmt_store_map_put(dmt_store_map *m, uint64_t a, uint64_t b, uint32_t v);
/* Remove key if present. */
void dmt_store_map_del(dmt_store_map *m, uint64_t a, uint64_t b);

/* ---- summary buckets ------------------------------------------------------- */

static inline int64_t dmt_store_bucket_of(int64_t ts, int level)
{
    return ts >> DMT_STORE_LEVEL_SHIFT(level); /* arithmetic shift: floor */
}

/* The one decoder of a `summary` row: columns col0.. are bucket, count,
 * bytes, vmin, vmax, vlast, t_first, t_last. */
#define DMT_STORE_BUCKET_COLUMNS "bucket, count, bytes, vmin, vmax, vlast, t_first, t_last"
void dmt_store_bucket_read(sqlite3_stmt *q, int col0, int64_t lane, int level, dmt_store_bucket *b);

/* Start an empty bucket. */
void dmt_store_bucket_init(dmt_store_bucket *b, int64_t lane, int level, int64_t bucket);
/* Contributions, by lane kind (schema/store.sql, table summary). */
void dmt_store_bucket_add_value(dmt_store_bucket *b, int64_t ts, uint64_t value, uint64_t bytes);
void dmt_store_bucket_add_marker(dmt_store_bucket *b, int64_t ts);
void dmt_store_bucket_add_transfer(dmt_store_bucket *b, int64_t t_begin, int64_t t_end,
                                   uint64_t granted, bool has_duration, int64_t duration, bool bad);
/* Merge src (same lane/level/bucket, later in the stream) into dst: counts
 * add, ranges widen (value lanes compare as unsigned, transfer lanes as
 * signed durations), vlast from the later t_last, src on a tie (transfer
 * lanes: vlast adds). */
void dmt_store_bucket_merge(dmt_store_bucket *dst, const dmt_store_bucket *src,
                            bool transfers_lane);

/* ---- sg_elements keys ------------------------------------------------------- */

/* An SG element's id is exec_seq << DMT_STORE_SG_SHIFT | idx (schema/store.sql,
 * sg_elements): room for the longest list, and the largest exec_seq whose
 * ids fit a signed 64-bit rowid. */
#define DMT_STORE_SG_SHIFT   12u
#define DMT_STORE_SG_MAX_SEQ ((UINT64_C(1) << (63 - DMT_STORE_SG_SHIFT)) - 1)
_Static_assert((1u << DMT_STORE_SG_SHIFT) == DMT_MAX_SG_ELEMENTS,
               "an SG list's elements fill the low bits of the id exactly");

/* ---- lanes ------------------------------------------------------------------ */

const char *dmt_store_lane_kind_name(int kind);
int dmt_store_lane_kind_of(const char *name); /* 0 when unknown */

/* ---- the bind cache ---------------------------------------------------------
 * A row-writing statement's parameters as last bound: bindings persist
 * across sqlite3_reset, and a sqlite3_bind_* call costs ~85 instructions, so
 * a parameter whose value (an integer or NULL) is the one it holds already
 * is not bound again - in a stream of rows most columns repeat at their
 * place (NULLs, adapters, lengths).  Invariant: a parameter marked known
 * holds exactly what `set`/`v` say; only dmt_bc_int / dmt_bc_null bind
 * parameters of an attached statement, or the caller calls
 * dmt_bc_forget(c, i) after binding parameter i otherwise (a blob, text).
 * The cache belongs to its statement: dmt_bc_free when the statement is
 * finalized.  Without memory (attach failed) every call binds. */
typedef struct dmt_bind_cache {
    sqlite3_stmt *st;
    int n;        /* parameters tracked (0: none, every call binds) */
    uint8_t *set; /* per parameter: 0 unknown, 1 NULL, 2 the integer v */
    int64_t *v;
} dmt_bind_cache;

/* Track st's parameters from now on (all unknown); a no-op when c
 * tracks st already. */
void dmt_bc_attach(dmt_bind_cache *c, sqlite3_stmt *st);
void dmt_bc_free(dmt_bind_cache *c);

static inline void dmt_bc_int(dmt_bind_cache *c, int i, int64_t v)
{
    if (i <= c->n) {
        if (c->set[i - 1] == 2 && c->v[i - 1] == v)
            return;
        c->set[i - 1] = 2;
        c->v[i - 1] = v;
    }
    sqlite3_bind_int64(c->st, i, v);
}

static inline void dmt_bc_null(dmt_bind_cache *c, int i)
{
    if (i <= c->n) {
        if (c->set[i - 1] == 1)
            return;
        c->set[i - 1] = 1;
    }
    sqlite3_bind_null(c->st, i);
}

static inline void dmt_bc_forget(dmt_bind_cache *c, int i)
{
    if (i <= c->n)
        c->set[i - 1] = 0;
}

/* ---- transfers rows -------------------------------------------------------- */

/* Column list of transfers in table order (DMT_STORE_XFER_NCOLS columns),
 * and the ones stored (without the virtual sg_first, truncated and
 * outcome). */
extern const char dmt_store_xfer_columns[];
#define DMT_STORE_XFER_NCOLS 39
extern const char dmt_store_xfer_stored_columns[];
#define DMT_STORE_XFER_NSTORED 36

/* Empty transfer state for xfer (every *_seq DMT_STORE_NONE). */
void dmt_store_xfer_init(dmt_store_transfer *t, uint32_t xfer);
/* Recompute truncated, outcome, duration_ns from the other fields (the
 * table computes truncated and outcome the same way, and sg_first). */
void dmt_store_xfer_finish(dmt_store_transfer *t);
/* Bind t to ?(base+1)..?(base+DMT_STORE_XFER_NSTORED) of c's statement
 * (dmt_store_xfer_stored_columns order). */
int dmt_store_xfer_bind(dmt_bind_cache *c, int base, const dmt_store_transfer *t);
/* Read columns col0 .. col0+DMT_STORE_XFER_NCOLS-1 of the current row into t. */
void dmt_store_xfer_read(sqlite3_stmt *st, int col0, dmt_store_transfer *t);

#endif

/*
 * store_import_internal.h - what the importer's three files share (not
 * installed): its bounds, the per-table row buffers, the lane and transfer
 * state, the import context `imp`, and the functions each file offers the
 * others.
 *
 *   store_import.c        the reader thread, table buffers, one record at a
 *                         time, meta, the whole import (dmt_store_import)
 *   store_import_lanes.c  lanes and their summary buckets while streaming
 *   store_import_xfer.c   transfers: open state, interrupt/DPC attribution,
 *                         writing rows (and reloading written ones)
 *   store_append.c        the same state kept across batches of a growing
 *                         trace, one transaction per batch (dmt_store_append_*)
 *   store_import_derive.c adapters, buffers, common_buffers folded in C from
 *                         the resource records (appends, trace-backed imports)
 *
 * See the invariants at the top of store_import.c.
 */
#ifndef DMT_STORE_IMPORT_INTERNAL_H
#define DMT_STORE_IMPORT_INTERNAL_H

#include "dmt/reader.h"
#include "store_internal.h"

#define K             32 /* rows per multi-row INSERT */
#define MAXCOLS       16
#define BATCH_RECORDS 4096
#define BATCH_ARENA   (1u << 21)
#define NBATCH        3
#define VAR_MAX       (DMT_MAX_SG_ELEMENTS * sizeof(dmt_sg_elem)) /* largest variable part */
#define LAG           65536     /* records between a first COMPLETE_DMA and writing the transfer */
#define IDLE          (4 * LAG) /* records before a transfer that never completes is written */
#define TIDX_BLOCK    4096
#define REG_CACHE     64 /* entries of imp.reg_cache, a power of 2 */
/* Memory bounds against hostile traces (ids are 32-bit and unbounded in
 * number): open transfers beyond XOPEN_MAX are written early (a later
 * record reloads them); written ids beyond XWRITTEN_MAX are looked up in
 * the table; devices and adapters beyond MAP_MAX get no interrupt
 * attribution. */
#define XOPEN_MAX      262144u
#define XWRITTEN_MAX   (1u << 20)
#define MAP_MAX        65536u
#define PROGRESS_EVERY 65536

_Static_assert(VAR_MAX >= DMT_MAX_BYTES && VAR_MAX >= DMT_MAX_VALUES * 8 && VAR_MAX >= DMT_MAX_TEXT,
               "VAR_MAX covers every variable part");

/* ---- table buffers ------------------------------------------------------------ */

enum { C_NULL = 0, C_INT, C_BLOB, C_TEXT };

typedef struct tdesc {
    const char *table;
    const char *cols;
    int ncols;
    const char *tail; /* appended to the INSERT (upsert clause) or NULL */
    bool blobs;
} tdesc;

enum {
    T_REG,
    T_REGBUF,
    T_DMA,
    T_SG,
    T_DRANGE,
    T_RES,
    T_DESC,
    T_PAY,
    T_PAT,
    T_IRQ,
    T_DPC,
    T_MARK,
    T_CAL,
    T_LOST,
    T_SUM,
    T_TIDX,
    T_CPUS,
    T_COUNT_
};

typedef struct tbuf {
    const tdesc *d;
    bool skip; /* a raw event table of a trace-backed store: rows dropped */
    sqlite3_stmt *one, *many;
    dmt_bind_cache bc_one, bc_many; /* theirs */
    int n;                          /* rows buffered */
    int col;                        /* next column of the row being built */
    uint8_t type[K * MAXCOLS];
    int64_t v[K * MAXCOLS]; /* int value, or arena offset */
    uint32_t len[K * MAXCOLS];
    uint8_t *arena; /* blob tables: K * VAR_MAX bytes */
    size_t used;
    uint64_t rows; /* rows written (skip: rows dropped) */
} tbuf;

/* ---- lanes ------------------------------------------------------------------------- */

#define NLEVEL DMT_STORE_LEVELS

/* Per lane and stored level, the two newest buckets stay open (cur and
 * the one before it), so events a little out of time order still land in
 * memory; an event for an older bucket is merged into its row at once
 * (rare: time going back by more than a bucket).  Emitted rows are thus
 * never revisited by the stream, and plain INSERTs never conflict.
 *
 * In front of the levels, one accumulator per lane: the lane's events of
 * one bucket of the lowest stored level, folded as they come (one add per
 * event, not one per level).  It goes to every level as one merge when an
 * event of another such bucket arrives, or when the open buckets are
 * read (a flush, an append's commit).  That is exact: a lane holds events
 * of one kind, for which dmt_store_bucket_merge of a run of events equals
 * adding them one by one, and all of them fall into the same bucket at
 * every level (the levels nest), so each level sees the same sequence of
 * bucket ids as with one add per event, only with repeats folded - and a
 * repeated bucket id never moves a level's window. */
typedef struct lane {
    int kind;
    int64_t dev, adapter, off; /* -1: NULL */
    char name[64];
    bool has_acc;
    dmt_store_bucket acc; /* level DMT_STORE_MIN_STORED_LEVEL */
    bool has_cur[NLEVEL], has_prev[NLEVEL];
    dmt_store_bucket cur[NLEVEL], prev[NLEVEL];
} lane;

/* One contribution to a lane (see dmt_store_bucket_add_*). */
typedef struct lane_ev {
    int kind;      /* lane kind */
    int64_t ts;    /* the time that picks the bucket (transfers: t_begin) */
    int64_t t_end; /* transfers */
    uint64_t value, bytes;
    bool has_dur, bad; /* transfers */
    int64_t dur;
} lane_ev;

/* ---- transfers state ------------------------------------------------------------ */

typedef struct xstate {
    dmt_store_transfer t;
    uint64_t born; /* seq of the record that opened it */
    uint64_t done; /* with queued: seq of its first COMPLETE_DMA */
    bool queued;   /* completed: written LAG records after done */
    bool reloaded; /* written once already: the row is replaced */
    bool dirty;    /* looked up since an append's commit last wrote its row
                      (always set in a whole import): clear, its row is written */
    bool stored;   /* an append's commit wrote its row: deleted (x_del) before
                      it is written again, so the INSERTs never replace */
} xstate;

typedef struct irqlast {
    uint64_t seq;
    int64_t ts;
    bool valid;
} irqlast;

/* ---- the import ------------------------------------------------------------------ */

/* ---- derived resource rows (store_import_derive.c) ------------------------------ */

/* One resource record as its derived row takes it (store.sql section
 * derive: the columns it reads from the resources row). */
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

typedef struct imp_derive {
    res_ev *rev; /* the records noted since the last fold */
    size_t n_res, cap_res;
    res_ev *pend; /* per id released before any row was made: the latest release */
    size_t n_pend, cap_pend;
    dmt_store_map pend_map; /* (table, id) -> pend index */
    sqlite3_stmt *upsert[3], *upsert_k[3], *released[3];
    dmt_bind_cache bc_upsert[3], bc_upsert_k[3]; /* theirs */
    drow drows[K];                               /* staged upserts of table dtbl */
    int nd, dtbl;
    bool oom; /* a note failed to allocate: the next fold fails */
} imp_derive;

typedef struct imp {
    const dmt_store_import_opts *o;
    dmt_error *err;
    sqlite3 *db;
    tbuf tb[T_COUNT_];
    sqlite3_stmt *x_one, *x_many, *x_get, *x_replace, *x_del; /* x_del: appends only */
    dmt_bind_cache bc_x_one, bc_x_many, bc_x_replace;         /* theirs */
    sqlite3_stmt *sum_get, *sum_upd;
    sqlite3_stmt *sum_del; /* appends: undoing a commit's summary rows */
    bool xfer_reloaded;    /* a written transfer was reopened */
    dmt_store_transfer xbuf[K];
    int xn;
    uint64_t xrows;

    /* progress */
    dmt_store_progress prog;
    uint64_t next_progress;
    int cancelled;

    /* records */
    uint64_t records;
    int64_t first_ts, last_ts;
    bool has_cpu;     /* a record named its CPU: meta cpu_max */
    uint32_t cpu_max; /* the highest one */
    uint32_t run_cpu; /* the CPU of the last cpu_runs row (DMT_CPU_NONE before any) */

    /* lanes */
    lane *lanes;
    size_t nlanes, caplanes;
    dmt_store_map lane_map;
    /* register (dev, off) -> lane, direct-mapped in front of lane_map (a
     * hit costs a fraction of a map lookup; a session cycles through a
     * few registers).  Sound because a lane, once made, keeps its index
     * and a register its lane: lanes are only appended, and a register
     * past the bounds keeps its "other" lane (the bounds only fill up).
     * lane 0 in an entry: empty (lanes are stored as index + 1). */
    struct {
        uint64_t off;
        uint32_t dev, lane1;
    } reg_cache[REG_CACHE];
    uint32_t xl_adapter, xl_lane1; /* the last adapter's lane + 1 (0: none), as reg_cache */
    uint32_t reg_lanes;

    /* transfers */
    xstate *xs;
    size_t nxs, capxs;
    uint32_t *xfree;
    size_t nxfree, capxfree;
    dmt_store_map xmap;     /* xfer -> xs index (open transfers) */
    dmt_store_map xwritten; /* xfer -> 1 (written, not open), but those of xw_lo..xw_hi */
    uint32_t xw_lo, xw_hi;  /* a run of written ids, none open (xw_have), none in xwritten:
                               ids written in order cost no map entry */
    bool xw_have;
    dmt_store_map adev; /* adapter -> index in adevs */
    uint32_t *adevs;    /* the adapter's device */
    size_t nadevs, capadevs;
    uint32_t *created; /* open transfers in creation order (ring; may hold
                          ids written since: skipped); written from its
                          head (dmt_imp_drain_completed) */
    size_t cr_cap, cr_head, cr_len;
    bool xwritten_full;    /* xwritten stopped growing: ask the table */
    dmt_store_map irq_map; /* dev -> irqs index */
    irqlast *irqs;
    size_t nirqs, capirqs;
    int64_t max_span;

    /* time index block, and its resume point: the last chunk boundary at or
     * before its first record (rp_cur: at or before the next record) */
    uint64_t ti_first, ti_last, ti_n;
    int64_t ti_min, ti_max;
    dmt_reader_resume rp_cur, ti_rp;
    bool rp_have, ti_rp_have;

    /* trace-backed (opts.events_in_trace): the raw event tables stay empty;
     * the registers accessed, for reg_names (at most lim.map of them) */
    bool trace_backed;
    uint64_t *regs; /* pairs: dev << 8 | width, off */
    size_t nregs, capregs;
    dmt_store_map reg_seen;
    uint64_t trace_bytes; /* the trace's bytes the store's records come from */
    uint64_t hdr_len;     /* the trace's identity (dmt_reader_identity) */
    uint32_t hdr_crc;

    bool input_error; /* the failure is the trace's */

    /* adapters, buffers, common_buffers folded in C (appends, trace-backed
     * imports) instead of store.sql's derive over the resources rows */
    bool fold_derived;
    imp_derive dv;

    struct {
        uint64_t lag, idle;
        size_t xopen, xwritten, map, lanes, reg_lanes;
    } lim;

    /* timing */
    dmt_store_import_result *res;
    int cur_phase;
    uint64_t phase_t0;
} imp;

/* lane_map keys: the lane kind in the top byte */
#define LK(kind) ((uint64_t)(kind) << 56)

/* store_import.c */
void dmt_imp_init(imp *im, const dmt_store_import_opts *opts, dmt_store_import_result *res,
                  dmt_error *err);
int dmt_imp_prepare(imp *im, bool follow);
void dmt_imp_free(imp *im);
int dmt_imp_add(imp *im, const dmt_record *r);
int dmt_imp_tidx_put(imp *im, bool keep);
int dmt_imp_run_section(imp *im, const char *name);
int dmt_imp_write_meta(imp *im, const dmt_header *h, const char *trace,
                       const dmt_store_import_result *res);
int dmt_imp_oom(imp *im);
int dmt_imp_grow(void **p, size_t *cap, size_t need, size_t elem);
int dmt_imp_step_done(imp *im, sqlite3_stmt *st, const char *what);
int dmt_imp_tbuf_flush(imp *im, tbuf *t);

/* store_import_lanes.c */
int dmt_imp_lane_value(imp *im, size_t li, int64_t ts, uint64_t value, uint64_t bytes);
int dmt_imp_lane_marker(imp *im, size_t li, int64_t ts);
int dmt_imp_lanes_flush(imp *im, size_t only);
int dmt_imp_transfer_event(imp *im, const dmt_store_transfer *t);
size_t dmt_imp_lane_get(imp *im, int kind, uint64_t a, uint64_t b, int64_t dev, int64_t adapter,
                        int64_t off, const char *name);
/* Register (dev, off)'s lane, made when new (SIZE_MAX: no memory); the
 * cache's answer, else dmt_imp_reg_lane_miss's (which fills the slot). */
#define DMT_IMP_REG_CACHE_SLOT(dev, off)                                                           \
    ((size_t)(((off) >> 2) ^ ((off) >> 9) ^ (dev)) & (REG_CACHE - 1))
size_t dmt_imp_reg_lane_miss(imp *im, uint32_t dev, uint64_t off);
static inline size_t dmt_imp_reg_lane(imp *im, uint32_t dev, uint64_t off)
{
    size_t h = DMT_IMP_REG_CACHE_SLOT(dev, off);
    if (im->reg_cache[h].lane1 && im->reg_cache[h].off == off && im->reg_cache[h].dev == dev)
        return im->reg_cache[h].lane1 - 1;
    return dmt_imp_reg_lane_miss(im, dev, off);
}
size_t dmt_imp_xfer_lane(imp *im, uint32_t adapter);
/* The lanes table: the findings lane is added to the lanes (last) unless
 * keep_open, which writes it as one more row without adding it (an append
 * goes on adding lanes after a commit). */
int dmt_imp_write_lanes(imp *im, bool keep_open);
int dmt_imp_transfer_summaries(imp *im);
/* An append's commit (store_append.c): write every open bucket and the
 * contributions of the open[0..n) transfers (finished copies) without
 * changing the streaming state.  Rows that the stream will not rewrite by
 * itself (contributions to a bucket that is not open) are logged in *undo
 * with their previous content; dmt_imp_summary_undo puts them back at the
 * start of the next batch. */
typedef struct sum_undo {
    dmt_store_bucket old;
    bool had_row;
} sum_undo;
int dmt_imp_lanes_materialize(imp *im, const dmt_store_transfer *open, size_t n, sum_undo **undo,
                              size_t *n_undo, size_t *cap_undo);
int dmt_imp_summary_undo(imp *im, const sum_undo *undo, size_t n);
/* reg_names and reg_fields from opts.regmap (store_import_regs.c). */
int dmt_imp_reg_names(imp *im);
/* A trace-backed import's note of a register access (reg_names' input). */
int dmt_imp_reg_seen(imp *im, uint32_t dev, uint64_t off, uint32_t width);
/* Start a trace-backed store (opts.events_in_trace): the raw event tables'
 * rows are dropped and the trace's identity is read (its header). */
int dmt_imp_trace_backed(imp *im, const char *trace);

/* store_import_derive.c */
/* Note resource record r (kinds ADAPTER_CREATE .. COMMON_RELEASE) for the
 * next fold; true when a fold is due (the notes are bounded). */
bool dmt_imp_derive_note(imp *im, const dmt_record *r);
/* Fold the records noted since the last call into their derived rows. */
int dmt_imp_derive(imp *im);
void dmt_imp_derive_free(imp *im);

/* store_import_xfer.c */
/* n transfer rows, K per INSERT (x_many, then x_one); none of them may be
 * in the table (an append's are INSERT OR FAIL: see dmt_imp_xfer_unstore) */
int dmt_imp_xfer_rows(imp *im, const dmt_store_transfer *t, size_t n);
/* An append: delete transfer xfer's row (written by a commit) before it is
 * written again.  A REPLACE would make SQLite keep a statement journal of
 * every page the statement touches; a failed append is rolled back whole. */
int dmt_imp_xfer_unstore(imp *im, uint32_t xfer);
int dmt_imp_xfer_flush(imp *im);
int dmt_imp_xfer_write(imp *im, uint32_t idx);
int dmt_imp_drain_completed(imp *im, uint64_t seq);
int dmt_imp_on_transfer(imp *im, const dmt_record *r, uint64_t sg_first);
int dmt_imp_on_dpc(imp *im, const dmt_record *r);
int dmt_imp_on_interrupt(imp *im, const dmt_record *r);

/* ---- building a row (store_import.c flushes) ---------------------------------- */

static inline void put_int(tbuf *t, int64_t v)
{
    int i = t->n * t->d->ncols + t->col++;
    t->type[i] = C_INT;
    t->v[i] = v;
}

static inline void put_null(tbuf *t)
{
    t->type[t->n * t->d->ncols + t->col++] = C_NULL;
}

static inline void put_opt(tbuf *t, bool present, int64_t v)
{
    if (present)
        put_int(t, v);
    else
        put_null(t);
}

/* The record's CPU, NULL when unknown (store.sql: the cpu columns). */
static inline void put_cpu(tbuf *t, const dmt_record *r)
{
    put_opt(t, r->cpu != DMT_CPU_NONE, r->cpu);
}

/* A raw event table of a trace-backed store (t->skip) takes no rows: the
 * row is counted (the import's result) and the caller builds none - true;
 * else the caller builds it and calls row_end. */
static inline bool row_skipped(tbuf *t)
{
    if (!t->skip)
        return false;
    t->rows++;
    return true;
}

static inline int row_end(imp *im, tbuf *t)
{
    t->col = 0;
    if (t->skip) { /* counted (the import's result), not written */
        t->used = 0;
        t->rows++;
        return 0;
    }
    if (++t->n == K)
        return dmt_imp_tbuf_flush(im, t);
    return 0;
}

/* A record's SG list as packed dmt_sg_elem (the table rows assume it):
 * sg_stride is the reader's element stride (0: already packed). */
static inline void dmt_imp_sg_pack(dmt_sg_elem *dst, const dmt_record *r)
{
    size_t stride = r->sg_stride ? r->sg_stride : sizeof(dmt_sg_elem);
    for (uint32_t i = 0; i < r->n_sg; i++) {
        const uint8_t *e = (const uint8_t *)r->sg_list + i * stride;
        memcpy(&dst[i].addr, e, 8);
        memcpy(&dst[i].len, e + 8, 4);
    }
}

#endif

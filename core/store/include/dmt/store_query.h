/*
 * dmt/store_query.h - what a reader of an open store asks it (the viewer
 * is the main client): the static facts (meta values, time index, lanes,
 * adapters, lost ranges, findings), summary buckets (stored, or computed
 * on demand for the finest levels), transfers and their SG lists, the
 * event rows of a window, and the searches behind find/filter.  All SQL
 * over a store lives in the store library; callers get plain structs.
 *
 * Conventions (as in dmt/store.h): 0, a count, or 1 for "a row" on
 * success, a negative DMT_E* with err filled on failure; nothing printed.
 * Row callbacks return non-zero to stop early (dmt_store_events passes a
 * negative value back as its result); the count returned is of rows
 * delivered.  A callback must not call into the same dmt_store (its
 * statements are reused).  Pointers inside a delivered row (texts, blobs) belong
 * to the store and are valid only during the callback.  Nothing is
 * allocated from a count read from the file: callers bound what they keep.
 * Threads: one dmt_store per thread; a second thread (a fetch worker)
 * opens its own dmt_store on the same path.
 */
#ifndef DMT_STORE_QUERY_H
#define DMT_STORE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmt/error.h"
#include "dmt/record.h"
#include "dmt/store.h"

/* ---- static facts ------------------------------------------------------------ */

/* Integer meta value `key`: 1 and *v set, 0 when absent or NULL. */
int dmt_store_meta_int(dmt_store *st, const char *key, int64_t *v, dmt_error *err);

/* Times of the first and last record (min/max ts), from time_index; 0 and
 * *t0 > *t1 when the store holds no records. */
int dmt_store_time_range(dmt_store *st, int64_t *t0, int64_t *t1, dmt_error *err);

/* Longest transfer span (t_end - t_begin, ns): meta max_transfer_ns, else
 * computed from the transfers table at open; 0 without transfers.  A
 * transfer meeting [t0, t1] has t_begin >= t0 - this. */
int64_t dmt_store_max_transfer_ns(dmt_store *st);

/* Finest summary level stored in `summary` (meta summary_min_level;
 * DMT_STORE_LEVELS when none is). */
int dmt_store_summary_min_level(dmt_store *st);

/* One time_index block: up to 4096 consecutive records. */
typedef struct dmt_store_time_block {
    uint64_t first_seq, last_seq;
    int64_t ts_min, ts_max;
    uint64_t records;
} dmt_store_time_block;

typedef int (*dmt_store_time_block_fn)(void *ctx, const dmt_store_time_block *b);

/* Every time_index block, by first_seq. */
int dmt_store_time_index(dmt_store *st, dmt_store_time_block_fn fn, void *ctx, dmt_error *err);

/* Time of the last record with a sequence number below seq (any event
 * table): 1 and *ts set, 0 when there is none. */
int dmt_store_ts_before(dmt_store *st, uint64_t seq, int64_t *ts, dmt_error *err);

/* The CPU of record seq (its run in cpu_runs): 1 and *cpu set, 0 when the
 * trace did not say. */
int dmt_store_record_cpu(dmt_store *st, uint64_t seq, uint32_t *cpu, dmt_error *err);

enum dmt_store_lane_kind {
    DMT_LANE_TRANSFERS = 1,
    DMT_LANE_REGISTER = 2,
    DMT_LANE_INTERRUPTS = 3,
    DMT_LANE_LOST = 4,
    DMT_LANE_MARKERS = 5,
    DMT_LANE_FINDINGS = 6
};

typedef struct dmt_store_lane {
    int64_t lane;
    int kind;        /* enum dmt_store_lane_kind; 0: a kind this build does not know */
    int64_t dev;     /* -1 when not applicable */
    int64_t adapter; /* -1 when not applicable */
    int64_t off;     /* -1 when not applicable ("other registers" lane) */
    char name[64];
} dmt_store_lane;

/* Fill lanes[0 .. cap) in lane order; returns the total number of lanes
 * (which may exceed cap: call again with a bigger array). */
int dmt_store_lanes(dmt_store *st, dmt_store_lane *lanes, size_t cap, dmt_error *err);

/* One adapters row (a NULL column reads as the value in brackets). */
typedef struct dmt_store_adapter {
    uint32_t adapter;
    int64_t dev; /* [-1] */
    bool scatter_gather, dma32, dma64;
    uint64_t max_length;    /* [0] */
    uint64_t map_registers; /* [0] */
    uint64_t addr_limit;    /* [UINT64_MAX] */
} dmt_store_adapter;

typedef int (*dmt_store_adapter_fn)(void *ctx, const dmt_store_adapter *a);

/* Every adapter, by id. */
int dmt_store_adapters(dmt_store *st, dmt_store_adapter_fn fn, void *ctx, dmt_error *err);

/* One lost row: count records from first_seq, recorded at ts. */
typedef struct dmt_store_lost {
    uint64_t first_seq, count;
    int64_t ts;
    uint32_t reason;
} dmt_store_lost;

typedef int (*dmt_store_lost_fn)(void *ctx, const dmt_store_lost *l);

/* Every lost range, by ts. */
int dmt_store_lost_ranges(dmt_store *st, dmt_store_lost_fn fn, void *ctx, dmt_error *err);

/* One findings row.  rule, severity and message are never NULL. */
typedef struct dmt_store_finding {
    int64_t id;
    bool has_ts; /* the finding's ts, else its transfer's t_begin */
    int64_t ts;
    bool has_seq;
    uint64_t seq;
    uint32_t xfer;   /* 0: none */
    int64_t adapter; /* -1: none */
    bool uncertain;
    const char *rule, *severity, *message;
} dmt_store_finding;

typedef int (*dmt_store_finding_fn)(void *ctx, const dmt_store_finding *f);

/* Every finding, by id. */
int dmt_store_findings(dmt_store *st, dmt_store_finding_fn fn, void *ctx, dmt_error *err);

/* ---- summary buckets ------------------------------------------------------------ */

typedef struct dmt_store_bucket {
    int64_t lane;
    int level;
    int64_t bucket; /* covers [bucket << shift, (bucket + 1) << shift) */
    uint64_t count, bytes;
    bool has_range; /* vmin/vmax valid (not NULL) */
    bool has_last;  /* vlast valid */
    uint64_t vmin, vmax, vlast;
    int64_t t_first, t_last;
} dmt_store_bucket;

typedef int (*dmt_store_bucket_fn)(void *ctx, const dmt_store_bucket *b);

/* Call fn for each summary bucket of lane at level whose bucket meets
 * [t0, t1] (transfers lanes: also earlier buckets whose spans reach t0), in
 * bucket order.  Returns buckets delivered.
 *
 * Levels below the store's summary_min_level (DMT_STORE_MIN_STORED_LEVEL
 * for new imports) are not stored in `summary`: at 1, 8 and 65 us a bucket
 * holds one to a few events per lane, so those rows would cost about as
 * much as the events themselves (2.6 summary rows per event for a dense
 * trace).  For them this function computes the same buckets from the event
 * tables: one pass over the window's records (found through time_index)
 * fills every lane at once and is cached, so asking lane after lane for the
 * same window costs one pass.  Stored and computed buckets are identical
 * (test_store checks it). */
int dmt_store_summary(dmt_store *st, int level, int64_t lane, int64_t t0, int64_t t1,
                      dmt_store_bucket_fn fn, void *ctx, dmt_error *err);

/* The stored rows of a level as they are: every lane (lane < 0) or one,
 * buckets [b0, b1] (INT64_MIN / INT64_MAX for all), by lane then bucket.
 * Only levels >= dmt_store_summary_min_level have rows.  For readers that
 * keep levels in memory or cut their own windows. */
int dmt_store_buckets(dmt_store *st, int level, int64_t lane, int64_t b0, int64_t b1,
                      dmt_store_bucket_fn fn, void *ctx, dmt_error *err);

/* The stored bucket of lane at level just before `bucket` (a register
 * lane's value before a window is its vlast): 1 and *b filled, 0 if none. */
int dmt_store_bucket_before(dmt_store *st, int level, int64_t lane, int64_t bucket,
                            dmt_store_bucket *b, dmt_error *err);

/* ---- transfers ----------------------------------------------------------------- */

/* One transfers row; a field whose record is missing has its *_seq set to
 * DMT_STORE_NONE (granted, the SG fields and bounced need exec_seq). */
#define DMT_STORE_NONE UINT64_MAX
typedef struct dmt_store_transfer {
    uint32_t xfer;
    bool has_adapter; /* adapter is NULL in the table otherwise */
    uint32_t adapter, mdl;
    uint64_t offset, requested, granted;
    bool write_to_device, truncated;
    bool bounce_known, bounced; /* EXECUTE_DMA flags: NULL in the table unless known */
    uint64_t context;
    uint64_t start_seq, exec_seq, end_seq, complete_seq, interrupt_seq, dpc_seq;
    int64_t start_ts, exec_ts, end_ts, complete_ts, interrupt_ts, dpc_ts;
    uint32_t end_status, complete_status;
    uint64_t end_length;
    uint32_t complete_count;
    uint32_t n_sg;
    uint64_t sg_bytes, sg_lo, sg_hi, sg_first;
    bool has_digest;
    uint64_t digest, digest_len;
    uint32_t digest_algo;
    char outcome[16]; /* "completed", "not-completed", "failed", "completed-twice" */
    int64_t t_begin, t_end;
    bool has_duration; /* start and completion both seen */
    int64_t duration_ns;
    uint32_t exec_cpu; /* CPU of the first EXECUTE_DMA; DMT_CPU_NONE: none or unknown */
} dmt_store_transfer;

typedef int (*dmt_store_transfer_fn)(void *ctx, const dmt_store_transfer *t);

/* Transfers whose span [t_begin, t_end] meets [t0, t1], by t_begin;
 * adapter < 0 for all adapters.  Returns rows delivered. */
int dmt_store_transfers(dmt_store *st, int64_t adapter, int64_t t0, int64_t t1,
                        dmt_store_transfer_fn fn, void *ctx, dmt_error *err);
/* One transfer by id: 1 found, 0 not found. */
int dmt_store_transfer_get(dmt_store *st, uint32_t xfer, dmt_store_transfer *t, dmt_error *err);

/* The SG list of the transfer's first EXECUTE_DMA into sg[0 .. cap);
 * returns the element count (which may exceed cap), 0 if none. */
int dmt_store_transfer_sg(dmt_store *st, uint32_t xfer, dmt_sg_elem *sg, size_t cap,
                          dmt_error *err);

/* ---- event rows of a window ------------------------------------------------------- */

enum dmt_store_event_set {
    DMT_STORE_EV_REGISTERS = 1u << 0,  /* REG_READ/WRITE and their _BUF forms */
    DMT_STORE_EV_INTERRUPTS = 1u << 1, /* INTERRUPT */
    DMT_STORE_EV_DPCS = 1u << 2,       /* DPC */
    DMT_STORE_EV_MARKERS = 1u << 3,    /* MARKER */
    DMT_STORE_EV_DESC_WRITES = 1u << 4 /* DESC_WRITE */
};

/* One event row.  Which fields mean something depends on kind. */
typedef struct dmt_store_event {
    uint32_t kind; /* DMT_K_* */
    uint64_t seq;
    int64_t ts;
    uint64_t dev;        /* registers, INTERRUPT, DPC; DESC_WRITE: the common buffer */
    uint64_t off;        /* registers: offset (buffers: of the first value); DESC_WRITE: offset */
    uint64_t value;      /* REG_READ/WRITE: the value; INTERRUPT: the status value */
    uint64_t width;      /* registers: access width (buffers: the stride) */
    bool is_write;       /* registers */
    bool claimed;        /* INTERRUPT */
    uint32_t count;      /* _BUF: values in data (8 bytes each, little-endian; see below) */
    const uint8_t *data; /* _BUF: the values; DESC_WRITE: the bytes; MARKER: the text */
    size_t len;          /* bytes at data */
    uint32_t cpu;        /* INTERRUPT, DPC: the CPU it ran on; DMT_CPU_NONE: unknown */
} dmt_store_event;

/* Value i (< count) of a register buffer event. */
static inline uint64_t dmt_store_event_value(const dmt_store_event *e, uint32_t i)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = v << 8 | e->data[(size_t)i * 8 + (size_t)k];
    return v;
}

typedef int (*dmt_store_event_fn)(void *ctx, const dmt_store_event *e);

/* The events of the sets in `what` with seq in [s0, s1] and ts in [t0, t1],
 * in sequence order (the seq bounds come from time_index blocks and make
 * the query a range scan). */
int dmt_store_events(dmt_store *st, unsigned what, uint64_t s0, uint64_t s1, int64_t t0, int64_t t1,
                     dmt_store_event_fn fn, void *ctx, dmt_error *err);

/* ---- find ---------------------------------------------------------------------------- */

/* What a transfer must have to match (every given term). */
typedef struct dmt_store_xfer_query {
    int dir;      /* -1 any, 0 device -> memory, 1 memory -> device */
    bool has_len; /* granted (else requested) in [len_lo, len_hi] */
    uint64_t len_lo, len_hi;
    bool has_addr; /* an SG element meets [addr_lo, addr_hi) */
    uint64_t addr_lo, addr_hi;
    const char *rule; /* a finding whose rule contains this ("": any finding), or NULL */
    const char *text; /* outcome, a finding's rule or message contains it, or the id
                         is it; NULL: no text term */
} dmt_store_xfer_query;

/* Something found: a record (and its transfer, 0 when none). */
typedef struct dmt_store_hit {
    int64_t ts;
    uint64_t seq;
    uint32_t xfer;
} dmt_store_hit;

typedef int (*dmt_store_hit_fn)(void *ctx, const dmt_store_hit *h);

/* Transfers matching q, by t_begin, at most limit (ts: t_begin, seq: its
 * first record). */
int dmt_store_find_transfers(dmt_store *st, const dmt_store_xfer_query *q, uint64_t limit,
                             dmt_store_hit_fn fn, void *ctx, dmt_error *err);
/* Markers whose text contains text, by seq, at most limit. */
int dmt_store_find_markers(dmt_store *st, const char *text, uint64_t limit, dmt_store_hit_fn fn,
                           void *ctx, dmt_error *err);
/* Single register writes at offset off (any device) whose bitfield
 * (value >> shift) & mask compares with value as op says, by seq, at most
 * limit: op '=' equal, '!' not equal, '<' less, '>' greater, 'c' changed
 * from the previous write to the register (the first write counts as a
 * change; value unused). */
int dmt_store_find_reg_field(dmt_store *st, uint64_t off, unsigned shift, uint64_t mask, char op,
                             uint64_t value, uint64_t limit, dmt_store_hit_fn fn, void *ctx,
                             dmt_error *err);
/* Single register writes at offset off (any device), by seq, at most limit. */
int dmt_store_find_reg_writes(dmt_store *st, uint64_t off, uint64_t limit, dmt_store_hit_fn fn,
                              void *ctx, dmt_error *err);

#endif

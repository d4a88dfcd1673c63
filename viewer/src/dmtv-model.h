/*
 * dmtv-model.h - DmtvModel, the viewer's document: one open dmatrace store
 * (NAME.db) read through the store library (dmt/store_query.h; the viewer
 * holds no SQL).  It loads the static facts
 * once (lanes, adapters, lost ranges, findings, the coarse time index) and
 * builds DmtvFrames for time windows: exact events when the window holds
 * few records, summary buckets (per-zoom tables) otherwise.  Also the
 * queries behind the details pane, the SG table, the layout view and
 * find/filter.
 *
 * Frames never block the GUI on the store: the stored summary levels are loaded
 * into memory at open (as many as fit a fixed budget, coarsest first), and
 * exact-event windows (and any level that did not fit) are fetched by a
 * worker thread on its own read-only store handle.  _frame_nowait returns a
 * coarser preview from memory (DmtvFrame.approx) while that runs and emits
 * "frame-ready" when the precise frame can be had; _frame waits for it.
 *
 * Threads: the API is main-thread only (the thread that opened the model;
 * "frame-ready" is emitted on its thread-default main context).  The worker
 * is internal.  Never call it from a snapshot() vfunc: widgets fetch frames
 * when their view changes.
 * Ownership: pointers returned by _get_trace and _frame* belong to the
 * model; a frame stays valid until the next _frame* / _set_filter call.
 */
#pragma once

#include <gio/gio.h>

#include "dmtv-types.h"

G_BEGIN_DECLS

#define DMTV_TYPE_MODEL (dmtv_model_get_type())
G_DECLARE_FINAL_TYPE(DmtvModel, dmtv_model, DMTV, MODEL, GObject)

#define DMTV_MODEL_ERROR (dmtv_model_error_quark())
typedef enum {
    DMTV_MODEL_ERROR_FOREIGN, /* not a dmatrace store (or not SQLite at all) */
    DMTV_MODEL_ERROR_VERSION, /* a schema version this build cannot read */
    DMTV_MODEL_ERROR_FORMAT,  /* damaged or incomplete store */
    DMTV_MODEL_ERROR_IO       /* cannot open / read */
} DmtvModelError;
GQuark dmtv_model_error_quark(void);

/* Records a window may hold before frames switch to summary buckets. */
#define DMTV_DETAIL_MAX_RECORDS 16384
/* Summary buckets are at least this many pixels wide. */
#define DMTV_BUCKET_MIN_PX 2.0

/* Open and check a store.  NULL and error set on failure. */
DmtvModel *dmtv_model_open(const char *db_path, GError **error);
/* The same from another thread for use on ctx's thread (which then owns
 * the model; "frame-ready" is emitted there): the follow mode opens each
 * new model off the GUI thread. */
DmtvModel *dmtv_model_open_in(const char *db_path, GMainContext *ctx, GError **error);

const char *dmtv_model_get_path(DmtvModel *self);
const DmtvTrace *dmtv_model_get_trace(DmtvModel *self);

/* The precise frame for a visible window [t0, t1] drawn `width` px wide:
 * served from the cached frame when that covers the window at the right
 * level, from the resident summaries, else fetched (covering a wider window)
 * - waiting for the worker.  For the headless renderer and tests.  Never
 * NULL, never approx. */
const DmtvFrame *dmtv_model_frame(DmtvModel *self, int64_t t0, int64_t t1, int width);
/* The same without waiting: when the precise frame needs SQL it is fetched
 * in the background and this returns a preview built from the finest
 * resident summary level coarser than the one wanted (approx set,
 * want_level the wanted level); "frame-ready" follows.  Never runs SQL on
 * the caller's thread.  Never NULL. */
const DmtvFrame *dmtv_model_frame_nowait(DmtvModel *self, int64_t t0, int64_t t1, int width);
/* TRUE while a fetch is queued, running or finished but not yet picked up,
 * or the worker still loads the finer summary levels into memory. */
gboolean dmtv_model_fetch_pending(DmtvModel *self);
/* Block until no fetch is queued or running and the resident levels are
 * loaded (tests, benchmarks). */
void dmtv_model_wait_fetch(DmtvModel *self);
/* Finest summary level held in memory (8: none). */
int dmtv_model_resident_min_level(DmtvModel *self);
/* Frames the worker has built so far. */
guint64 dmtv_model_fetch_count(DmtvModel *self);
/* Summary level (0..7) or -1 (exact events) the model picks for a window. */
int dmtv_model_pick_level(DmtvModel *self, int64_t t0, int64_t t1, int width);
/* Expand register lane `lane` into one waveform sub-lane per bitfield of
 * the register map (expand FALSE: fold it back).  FALSE when it is not a
 * register lane.  The lanes grow (dmtv_lanes_height); frames stay valid. */
gboolean dmtv_model_expand_lane(DmtvModel *self, size_t lane, gboolean expand);
/* The same for every register lane labelled name (case-insensitive; one
 * per device).  Returns the first one's index, or -1 when none. */
gssize dmtv_model_expand_register(DmtvModel *self, const char *name, gboolean expand);

/* After the register map changed (dmtv_regnames_*): lane labels again,
 * every lane folded; invalidates the frame. */
void dmtv_model_relabel(DmtvModel *self);

/* Drop the cached frame (next _frame queries). */
void dmtv_model_invalidate(DmtvModel *self);

/* ---- transfers ------------------------------------------------------------ */

typedef struct {
    uint32_t xfer, adapter, mdl;
    uint64_t offset, requested, granted, end_length;
    gboolean to_device, truncated, has_granted, has_end;
    gboolean bounce_known, bounced; /* ExecuteDma flags (unknown from older producers) */
    uint64_t context;
    int64_t start_seq, exec_seq, end_seq, complete_seq, irq_seq, dpc_seq; /* -1: none */
    int64_t start_ts, exec_ts, end_ts, complete_ts, irq_ts, dpc_ts;
    uint32_t end_status, complete_status, complete_count;
    uint32_t n_sg;
    uint64_t sg_bytes, sg_lo, sg_hi;
    int64_t sg_first; /* -1: none */
    gboolean has_digest;
    uint64_t digest, digest_len;
    uint32_t digest_algo;
    char outcome[20];
    int64_t t_begin, t_end, duration_ns; /* duration -1: unknown */
} DmtvTransfer;

typedef struct {
    uint64_t addr;
    uint64_t len;
} DmtvSgElem;

gboolean dmtv_model_get_transfer(DmtvModel *self, uint32_t xfer, DmtvTransfer *out);
/* The SG list of the transfer's first ExecuteDma; g_free the array. */
DmtvSgElem *dmtv_model_transfer_sg(DmtvModel *self, uint32_t xfer, guint *n);
/* The adapter row, or NULL. */
const DmtvAdapter *dmtv_model_adapter(DmtvModel *self, uint32_t adapter);
/* The transfer under time t (+- tol ns) on a transfers lane, 0 if none. */
uint32_t dmtv_model_transfer_at(DmtvModel *self, size_t lane, int64_t t, int64_t tol);
/* Transfers meeting [t0, t1] (any adapter), by t_begin, at most max. */
GArray *dmtv_model_transfers_in(DmtvModel *self, int64_t t0, int64_t t1, guint max);
/* The details pane text (plain, monospace-aligned); g_free it. */
char *dmtv_model_describe_transfer(DmtvModel *self, uint32_t xfer);
/* Details of a finding (by id); g_free it. */
char *dmtv_model_describe_finding(DmtvModel *self, int64_t id);

/* ---- find and filter -------------------------------------------------------- */

typedef struct {
    gboolean has_addr;
    uint64_t addr_lo, addr_hi; /* [lo, hi) */
    gboolean has_reg;
    int64_t reg_off;
    gboolean has_field; /* reg is NAME.FIELD with a test: (value >> f_shift) & f_mask ... */
    unsigned f_shift;
    uint64_t f_mask;
    char f_op; /* ... '=' / '!' (!=) / '<' / '>' f_val, or 'c': changes */
    uint64_t f_val;
    unsigned f_index; /* the field's number (dmtv_reg_fields) */
    int dir;          /* -1 any, 0 device -> memory, 1 memory -> device */
    gboolean has_len;
    uint64_t len_lo, len_hi; /* inclusive */
    char finding[48];        /* rule (glob-free substring) or "" */
    char text[128];          /* free text or "" */
} DmtvQuery;

typedef struct {
    int64_t ts;
    uint64_t seq;
    uint32_t xfer; /* 0: not a transfer */
} DmtvHit;

/* Parse "addr:0x1000-0x2000 reg:CH[0].CTRL dir:to len:4k-64k finding:sg-overlap
 * words".  Register terms take names from the register map and may test a
 * bitfield: "reg:CH[1].STATUS.ERR!=0", "CH[1].STATUS.CODE = ADDR_LIMIT"
 * (also <, >; values by number or enum name), or "changes:CH[0].STATUS.ERR"
 * (the writes that change the field).  FALSE and error
 * (G_IO_ERROR_INVALID_ARGUMENT) on a bad term. */
gboolean dmtv_query_parse(const char *s, DmtvQuery *q, GError **error);
gboolean dmtv_query_is_empty(const DmtvQuery *q);
/* Run a query: hits by time (at most max; *truncated when more). */
GArray *dmtv_model_find(DmtvModel *self, const DmtvQuery *q, guint max, gboolean *truncated);
/* Use a query as the timeline filter (matching spans highlighted, others
 * dimmed); NULL clears it.  Invalidates the frame. */
void dmtv_model_set_filter(DmtvModel *self, const DmtvQuery *q);
gboolean dmtv_model_has_filter(DmtvModel *self);

G_END_DECLS

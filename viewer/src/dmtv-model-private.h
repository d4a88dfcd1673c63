/*
 * dmtv-model-private.h - what the two halves of DmtvModel share: the
 * instance struct and the hand-over between dmtv-model.c (opening a store,
 * its static facts, transfer details, find) and dmtv-model-frames.c
 * (frames: resident summary levels, exact windows, the fetch worker and
 * its invariants W1-W3).  Not for other files.
 *
 * Ownership: the model owns two dmt_store handles on the same file: `st`
 * for the main thread (static facts at open, details, find) and `wst`,
 * used only by the fetch worker (frames, the finer resident levels).
 */
#pragma once

#include <pthread.h>

#include "dmt/store_query.h"
#include "dmtv-model.h"

/* One time_index block (the coarse time -> seq map, kept in memory). */
typedef struct {
    int64_t first_seq, last_seq, ts_min, ts_max, records;
} TimeBlock;

/* One lane of a resident summary level: its non-empty buckets by time. */
typedef struct {
    DmtvBin *bins;
    size_t n;
} ResLane;

/* A fetch for the worker: frame bounds (margins included), level, filter. */
typedef struct {
    int64_t t0, t1;
    int level;
    GHashTable *filter; /* a reference, or NULL */
    guint64 gen;
} FetchReq;

struct _DmtvModel {
    GObject parent_instance;
    char *path;
    dmt_store *st; /* main thread's store: static facts, details, find */
    DmtvTrace trace;
    int64_t max_transfer_ns;
    int min_level; /* finest level stored in `summary` */
    TimeBlock *blocks;
    size_t n_blocks;
    GHashTable *reg_lane;   /* (dev << 40 ^ off) -> lane index + 1 */
    GHashTable *other_lane; /* dev -> lane index + 1 ("devD other") */
    GHashTable *irq_lane;   /* dev -> lane index + 1 */
    GHashTable *xfer_lane;  /* adapter -> lane index + 1 */
    gssize markers_lane;
    DmtvFrame frame; /* the current frame (main thread) */
    gboolean frame_valid;
    DmtvFrame approx; /* the preview shown while a fetch runs (main thread) */
    gboolean approx_valid;
    GHashTable *filter; /* xfer -> 1, or NULL; never modified once set (W1) */
    /* resident summary levels: res[L][lane] for L >= res_min, else NULL */
    ResLane *res[8];
    int res_min;
    size_t res_rows;
    /* the fetch worker (dmtv-model-frames.c) */
    GThread *worker;
    dmt_store *wst; /* the worker's own store handle */
    /* pthread rather than GMutex/GCond: GLib's futex-based locks are
     * invisible to ThreadSanitizer */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    gboolean quit;
    FetchReq req, running;
    gboolean req_valid, running_valid;
    gboolean loading; /* the worker is loading the finer resident levels */
    gint stop;        /* atomic: the worker is being stopped (ends a level load early) */
    DmtvFrame *done;
    guint64 done_gen, completed_gen, gen_next, fetches;
    guint64 min_gen; /* main thread only */
    GSource *notify;
    GMainContext *ctx;
};

/* Key of a register lane in reg_lane. */
static inline int64_t dmtv_model_reg_key(int64_t dev, int64_t off)
{
    return (int64_t)(((uint64_t)dev << 40) ^ (uint64_t)off);
}

/* dmtv-model-frames.c: after the static facts are loaded, load the coarse
 * resident levels and start the worker on its own store handle; FALSE and
 * error set on failure. */
gboolean dmtv_model_frames_start(DmtvModel *self, GError **error);
/* Stop the worker, close its handle, free frames and resident levels. */
void dmtv_model_frames_free(DmtvModel *self);
/* Set from the model's main-thread init. */
void dmtv_model_frames_init(DmtvModel *self);

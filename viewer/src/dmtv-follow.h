/*
 * dmtv-follow.h - the viewer's follow mode: a thread that follows a trace
 * still being written (dmt/follow.h: whole, verified chunks only), appends
 * its records to a cache store (dmt_store_append_*, one transaction per
 * batch), runs the audit on them as they come (dmt_audit_add) with the
 * findings committed in the same batch, and after a commit opens a fresh
 * DmtvModel on the store - on its own thread, so the GUI thread only swaps
 * the new model in and a frame never waits for the follower's I/O.
 *
 *   follower thread                                  GUI main context
 *   dmt_follow_next -> append + audit (batch)
 *   COMMIT (<= 200 ms of records per batch)
 *   dmtv_model_open(store) (static facts, levels)
 *   --------------- DmtvFollowUpdate ------------->  callback: swap model,
 *   (next batch meanwhile; at most one update         scroll or count "new
 *    waits for the GUI, newer ones replace it)        records" while paused
 *
 * Threads: start/stop/cache_path on the GUI thread; the callback runs on
 * the main context that was the thread default at start.
 */
#pragma once

#include <gio/gio.h>

#include "dmtv-model.h"

G_BEGIN_DECLS

typedef enum {
    DMTV_FOLLOW_GROWING = 0, /* the recording goes on */
    DMTV_FOLLOW_ENDED,       /* END record: the trace is complete */
    DMTV_FOLLOW_STALLED,     /* no END and no new bytes for the stall time */
    DMTV_FOLLOW_FAILED       /* bad bytes, truncated or replaced: message says */
} DmtvFollowState;

typedef struct {
    DmtvModel *model; /* a model on the store after the commit (the callback takes it), or NULL */
    DmtvFollowState state;
    guint64 records;     /* records in the store */
    guint64 findings;    /* findings in the store */
    gint64 newest_ts;    /* time of the newest record in the store (trace clock, ns) */
    gint64 oldest_ts;    /* time of the oldest record new since the last update (or newest_ts) */
    guint64 new_records; /* records new since the last update */
    gint64 commit_ns;    /* CLOCK_MONOTONIC when the batch committed */
    gint64 lag_ns;       /* commit_ns - newest_ts when the trace clock is the monotonic clock */
    char message[320];
} DmtvFollowUpdate;

typedef void (*DmtvFollowFn)(DmtvFollowUpdate *u, gpointer user);

typedef struct DmtvFollower DmtvFollower;

/* Stall time without END before the trace counts as stopped (ms). */
#define DMTV_FOLLOW_STALL_MS 5000u

/* Does path look like a trace still being written: no END record at its
 * end and changed within the stall time? */
gboolean dmtv_follow_is_growing(const char *path);
/* The cache store a followed trace is appended to (g_free). */
char *dmtv_follow_cache_path(const char *trace);

/* Start following trace: the cache store is (re)created at once.  fn gets
 * an update after every commit that changed something (and a last one when
 * following ends).  NULL and error when the trace cannot be opened. */
DmtvFollower *dmtv_follow_start(const char *trace, DmtvFollowFn fn, gpointer user, GError **error);
/* Stop the thread (waits for it; no callback after this returns) and free. */
void dmtv_follow_stop(DmtvFollower *f);
/* The cache store of followers started from now on: trace-backed (TRUE,
 * the default: the raw events stay in the trace) or full rows (FALSE: the
 * mode before trace-backed stores, kept for bench_follow's same-run
 * comparison). */
void dmtv_follow_set_trace_backed(gboolean on);

G_END_DECLS

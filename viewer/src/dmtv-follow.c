/*
 * dmtv-follow.c - the follow mode's thread (see dmtv-follow.h).
 *
 * Invariants
 *  - Only this thread writes the cache store; readers (the models) open
 *    their own connections and see committed batches only (WAL).
 *  - A batch is at most BATCH_NS of reading (or everything verified so
 *    far), so a commit follows new records by at most that plus the
 *    commit; a new model follows a commit after at most MODEL_NS, or
 *    MODEL_SHARE times the last model's open time when that is longer -
 *    IDLE_NS and IDLE_SHARE when the last batch read everything verified
 *    (caught up: opening models takes no time from the records).
 *  - At most one update waits for the GUI; a new model is opened only when
 *    the GUI took the previous one, so models never pile up.
 *  - The live store is trace-backed (dmt_store_import_opts.events_in_trace):
 *    every record's chunk boundary goes to the appender first (handed
 *    over when it moves - at chunk ends - and kept there till then), so
 *    each time-index block has its resume point into the trace.
 *  - The audit sees every record once, in file order, with the record
 *    index the reader counts; its findings go into the batch that holds
 *    the record that produced them.
 */
#define G_LOG_DOMAIN "dmtv-follow"

#include "dmtv-follow.h"

#include <glib/gstdio.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "dmt/audit.h"
#include "dmt/follow.h"
#include "dmt/reader.h"
#include "dmt/sniff.h"
#include "dmt/store.h"
#include "dmtv-import.h"

#define BATCH_NS    200000000ll /* reading per batch at most */
#define MODEL_NS    250000000ll /* behind the file: a new model at most this often, */
#define MODEL_SHARE 4           /* and at most 1/MODEL_SHARE of the time opening models; */
#define IDLE_NS     100000000ll /* caught up (the CPU is free): this often, */
#define IDLE_SHARE  2           /* at most 1/IDLE_SHARE of the time */
#define POLL_US     10000       /* nothing new: wait this long */
#define CHECK_RECS  4096u       /* records between clock reads */

struct DmtvFollower {
    char *trace, *db;
    dmt_follow *fl;
    dmt_store_appender *ap;
    dmt_audit *au;
    GArray *found; /* dmt_finding, not yet in the store */
    guint64 n_findings, index;
    gint64 newest_ts;
    gint64 oldest_new_ts; /* oldest record since the last update; G_MAXINT64: none */
    guint64 posted_records;
    gboolean mono_clock;
    GThread *thread;
    gint stop; /* atomic */
    GMainContext *ctx;
    DmtvFollowFn fn;
    gpointer user;
    GMutex lock;
    DmtvFollowUpdate *waiting; /* for the GUI; guarded by lock */
    GSource *idle;             /* delivers `waiting`; guarded by lock */
};

static gint64 mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (gint64)t.tv_sec * 1000000000 + t.tv_nsec;
}

gboolean dmtv_follow_is_growing(const char *path)
{
    dmt_error e;
    if (dmt_sniff(path, &e) != DMT_FILE_TRACE || dmt_sniff_ended(path, &e) != 0)
        return FALSE;
    GStatBuf st;
    if (g_stat(path, &st) != 0)
        return FALSE;
    gint64 age_s = g_get_real_time() / G_USEC_PER_SEC - (gint64)st.st_mtime;
    return age_s <= (gint64)(DMTV_FOLLOW_STALL_MS / 1000);
}

char *dmtv_follow_cache_path(const char *trace)
{
    /* its own name: never taken for a complete import of the same file */
    char *db = dmtv_import_cache_path(trace);
    char *dot = g_strrstr(db, ".db");
    if (dot)
        *dot = 0;
    char *live = g_strdup_printf("%s.live.db", db);
    g_free(db);
    return live;
}

static void on_finding(void *user, const dmt_finding *f)
{
    DmtvFollower *self = user;
    g_array_append_vals(self->found, f, 1);
}

/* ---- hand-over to the GUI ------------------------------------------------------ */

static void update_free(DmtvFollowUpdate *u)
{
    if (u && u->model)
        g_object_unref(u->model);
    g_free(u);
}

static gboolean deliver(gpointer user)
{
    DmtvFollower *self = user;
    g_mutex_lock(&self->lock);
    DmtvFollowUpdate *u = self->waiting;
    self->waiting = NULL;
    if (self->idle)
        g_source_unref(self->idle);
    self->idle = NULL;
    g_mutex_unlock(&self->lock);
    if (u)
        self->fn(u, self->user);
    update_free(u);
    return G_SOURCE_REMOVE;
}

static gboolean gui_busy(DmtvFollower *self)
{
    g_mutex_lock(&self->lock);
    gboolean busy = self->waiting != NULL;
    g_mutex_unlock(&self->lock);
    return busy;
}

static void post(DmtvFollower *self, DmtvFollowState state, const char *msg, gboolean with_model)
{
    DmtvFollowUpdate *u = g_new0(DmtvFollowUpdate, 1);
    u->state = state;
    u->records = dmt_store_append_records(self->ap);
    u->findings = self->n_findings;
    u->newest_ts = self->newest_ts;
    u->oldest_ts = self->oldest_new_ts != G_MAXINT64 ? self->oldest_new_ts : self->newest_ts;
    u->new_records = u->records - self->posted_records;
    self->posted_records = u->records;
    self->oldest_new_ts = G_MAXINT64;
    u->commit_ns = mono_ns();
    u->lag_ns = self->mono_clock && u->records ? u->commit_ns - self->newest_ts : -1;
    if (msg)
        g_strlcpy(u->message, msg, sizeof u->message);
    if (with_model) {
        /* opened here, delivered there: its notifications go to the GUI's context */
        GError *e = NULL;
        u->model = dmtv_model_open_in(self->db, self->ctx, &e);
        if (!u->model) {
            g_snprintf(u->message, sizeof u->message, "%s", e->message);
            u->state = DMTV_FOLLOW_FAILED;
            g_error_free(e);
        }
    }
    g_mutex_lock(&self->lock);
    update_free(self->waiting);
    self->waiting = u;
    if (!self->idle) {
        self->idle = g_idle_source_new();
        g_source_set_callback(self->idle, deliver, self, NULL);
        g_source_attach(self->idle, self->ctx);
    }
    g_mutex_unlock(&self->lock);
}

/* ---- the thread ---------------------------------------------------------------- */

static int commit(DmtvFollower *self, DmtvFollowState state, const char *why, dmt_error *err)
{
    int rc = dmt_store_append_begin(self->ap, err);
    if (!rc && self->found->len)
        rc = dmt_audit_append_findings(self->ap, (const dmt_finding *)(void *)self->found->data,
                                       self->found->len, (int64_t)self->n_findings + 1, err);
    if (rc)
        return rc;
    self->n_findings += self->found->len;
    g_array_set_size(self->found, 0);
    dmt_store_append_facts f = {.skipped = dmt_reader_skipped(dmt_follow_reader(self->fl)),
                                .cut = state != DMTV_FOLLOW_ENDED,
                                .cut_offset = dmt_follow_committed(self->fl),
                                .cut_why = why};
    return dmt_store_append_commit(self->ap, &f, err);
}

static gpointer follow_main(gpointer user)
{
    DmtvFollower *self = user;
    DmtvFollowState state = DMTV_FOLLOW_GROWING;
    gboolean dirty = TRUE, stalled = FALSE;
    gint64 last_model = 0, open_ns = 0;
    guint64 bound_off = 0; /* the boundary the appender has (have_bound) */
    gboolean have_bound = FALSE;
    char msg[320] = "";
    while (!g_atomic_int_get(&self->stop)) {
        gint64 t0 = mono_ns();
        guint64 n = 0;
        gboolean finished = FALSE, again = FALSE;
        dmt_record r;
        dmt_error err = {0};
        while (!finished && !again) {
            int rc = dmt_follow_next(self->fl, &r, &err);
            if (rc == 1) {
                const dmt_reader *rd = dmt_follow_reader(self->fl);
                if (!have_bound || dmt_reader_boundary_offset(rd) != bound_off) {
                    dmt_reader_resume rp; /* the store reads its events from here */
                    dmt_reader_boundary(rd, &rp);
                    dmt_store_append_resume(self->ap, &rp);
                    bound_off = rp.offset;
                    have_bound = TRUE;
                }
                if (dmt_store_append_add(self->ap, &r, &err) != 0 ||
                    dmt_audit_add(self->au, &r, self->index++) != 0) {
                    g_snprintf(msg, sizeof msg, "%s: %s", self->db, err.msg);
                    state = DMTV_FOLLOW_FAILED;
                    finished = TRUE;
                    break;
                }
                if (r.ts > self->newest_ts)
                    self->newest_ts = r.ts;
                if (r.ts < self->oldest_new_ts)
                    self->oldest_new_ts = r.ts;
                if (++n % CHECK_RECS == 0 && mono_ns() - t0 > BATCH_NS)
                    break;
            } else if (rc == DMT_FOLLOW_AGAIN) {
                again = TRUE;
            } else if (rc == DMT_FOLLOW_STALLED) {
                stalled = TRUE;
                dmt_follow_stop(self->fl);
            } else if (rc == 0) {
                state = stalled ? DMTV_FOLLOW_STALLED : DMTV_FOLLOW_ENDED;
                if (stalled)
                    g_snprintf(msg, sizeof msg,
                               "the trace stopped growing (no END record, no new bytes for %u "
                               "s)",
                               DMTV_FOLLOW_STALL_MS / 1000);
                finished = TRUE;
            } else {
                state = DMTV_FOLLOW_FAILED;
                if (err.offset != DMT_NO_INDEX)
                    g_snprintf(msg, sizeof msg, "%s: byte %" G_GUINT64_FORMAT ": %s", self->trace,
                               err.offset, err.msg);
                else
                    g_snprintf(msg, sizeof msg, "%s: %s", self->trace, err.msg);
                finished = TRUE;
            }
        }
        if (finished && state != DMTV_FOLLOW_FAILED)
            dmt_audit_finish(self->au, state != DMTV_FOLLOW_ENDED);
        if (n || finished || self->found->len) {
            dmt_error ce = {0};
            if (commit(self, state,
                       state == DMTV_FOLLOW_GROWING ? "still being written"
                                                    : (msg[0] ? msg : "cut"),
                       &ce) != 0) {
                g_snprintf(msg, sizeof msg, "%s: %s", self->db, ce.msg);
                state = DMTV_FOLLOW_FAILED;
                finished = TRUE;
            }
            dirty = TRUE;
        }
        if (finished) {
            post(self, state, msg, state != DMTV_FOLLOW_FAILED || dirty);
            break;
        }
        /* a big store takes longer to open: open less often, so the
         * follower's time goes to the records while it is behind */
        gint64 model_gap =
            again ? MAX(IDLE_NS, IDLE_SHARE * open_ns) : MAX(MODEL_NS, MODEL_SHARE * open_ns);
        if (dirty && mono_ns() - last_model >= model_gap && !gui_busy(self)) {
            gint64 t = mono_ns();
            post(self, state, NULL, TRUE);
            last_model = mono_ns();
            open_ns = last_model - t;
            dirty = FALSE;
        }
        if (again && !n)
            g_usleep(POLL_US);
    }
    return NULL;
}

static atomic_bool trace_backed = true;

void dmtv_follow_set_trace_backed(gboolean on)
{
    atomic_store(&trace_backed, on != FALSE);
}

DmtvFollower *dmtv_follow_start(const char *trace, DmtvFollowFn fn, gpointer user, GError **error)
{
    DmtvFollower *self = g_new0(DmtvFollower, 1);
    self->trace = g_strdup(trace);
    self->db = dmtv_follow_cache_path(trace);
    self->fn = fn;
    self->user = user;
    self->ctx = g_main_context_ref_thread_default();
    self->found = g_array_new(FALSE, FALSE, sizeof(dmt_finding));
    self->newest_ts = G_MININT64;
    self->oldest_new_ts = G_MAXINT64;
    g_mutex_init(&self->lock);
    dmt_error e = {0};
    int rc = dmt_follow_open(trace, DMT_READ_ALLOW_CUT, DMTV_FOLLOW_STALL_MS, &self->fl, &e);
    char *dir = g_path_get_dirname(self->db);
    if (!rc && g_mkdir_with_parents(dir, 0700) != 0)
        rc = dmt_error_set(&e, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX,
                           "cannot create the cache directory %s", dir);
    g_free(dir);
    if (!rc) {
        const dmt_header *h = dmt_reader_header(dmt_follow_reader(self->fl));
        self->mono_clock = !strcmp(h->clock, "CLOCK_MONOTONIC");
        /* trace-backed: the raw events stay in the trace (DESIGN.md) */
        dmt_store_import_opts o = {.events_in_trace = atomic_load(&trace_backed)};
        rc = dmt_store_append_open(self->db, trace, h, &o, &self->ap, &e);
    }
    dmt_audit_config cfg = {.sink = on_finding, .user = self};
    if (!rc && !(self->au = dmt_audit_new(&cfg)))
        rc = dmt_error_set(&e, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    if (rc) {
        g_set_error(error, DMTV_MODEL_ERROR,
                    rc == DMT_E_IO || rc == DMT_E_NOMEM ? DMTV_MODEL_ERROR_IO
                                                        : DMTV_MODEL_ERROR_FORMAT,
                    "%s: %s", trace, e.msg);
        dmtv_follow_stop(self);
        return NULL;
    }
    self->thread = g_thread_new("dmtv-follow", follow_main, self);
    return self;
}

void dmtv_follow_stop(DmtvFollower *self)
{
    if (!self)
        return;
    g_atomic_int_set(&self->stop, 1);
    if (self->thread)
        g_thread_join(self->thread);
    g_mutex_lock(&self->lock);
    if (self->idle) {
        g_source_destroy(self->idle);
        g_source_unref(self->idle);
        self->idle = NULL;
    }
    update_free(self->waiting);
    self->waiting = NULL;
    g_mutex_unlock(&self->lock);
    dmt_audit_free(self->au);
    dmt_store_append_close(self->ap);
    dmt_follow_close(self->fl);
    g_array_unref(self->found);
    g_mutex_clear(&self->lock);
    g_main_context_unref(self->ctx);
    g_free(self->trace);
    g_free(self->db);
    g_free(self);
}

/*
 * dmtv-model.c - DmtvModel: a dmatrace store opened read-only, and the
 * frames, details and searches the viewer draws from (see dmtv-model.h).
 *
 * Level of detail.  A frame is chosen per window:
 *
 *   records in window (time_index, <= 4096-record blocks)
 *        |
 *        +-- <= DMTV_DETAIL_MAX_RECORDS -> level -1: exact rows
 *        |      transfers (index on t_begin), reg_accesses/reg_buffers,
 *        |      interrupts, dpcs, markers (primary-key seq ranges)
 *        |
 *        '-- more -> level L = smallest with 2^(10+3L) ns >= 2 px
 *               summary rows (PRIMARY KEY (level, lane, bucket)),
 *               so at most ~width rows per lane whatever the trace size.
 *
 * Invariants:
 *  1. A frame covers [t0, t1] wider than the visible window (a quarter window
 *     each side), so pans within it reuse it without SQL.
 *  2. A detail frame is reused for any window it covers (zooming in never
 *     re-queries); a summary frame only at the same level.
 *  3. Frame arrays are sorted by time; spans by t_begin.
 *  4. Nothing is allocated from a count read from the file: every load has a
 *     hard cap (MAX_* below).
 *  5. Where the rows come from: stored levels that fit RESIDENT_MAX_ROWS are
 *     copied into memory at open (res[L], coarsest first) and frames at
 *     those levels are cut from memory on the caller's thread; exact frames
 *     and non-resident levels are built by the fetch worker on its own
 *     connection.  Both give the same rows (same bucket ranges).
 */
#define G_LOG_DOMAIN "dmtv-model"

#include "dmtv-model.h"

#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

#include "dmt/store.h"
#include "dmtv-regnames.h"
#include "dmtv-units.h"

#define APPLICATION_ID 0x444D5442
#define SCHEMA_VERSION DMT_STORE_SCHEMA_VERSION

#define MAX_LANES    16384
#define MAX_LOST     100000
#define MAX_FINDINGS 200000
#define MAX_TIME_IDX (8u << 20)
#define MAX_ADAPTERS 4096
#define MAX_SG       4096
#define LOST_EXACT   512 /* lost rows whose start time is looked up exactly */
/* Summary rows kept in memory (DmtvBin, 72 bytes each: ~216 MB at most).  A
 * 10 M-event trace has ~0.7 M rows over levels 3..7. */
#define RESIDENT_MAX_ROWS (3u << 20)
/* Levels >= this are loaded by dmtv_model_open, finer ones by the worker. */
#define RESIDENT_OPEN_MIN_LEVEL 4

typedef struct {
    int64_t first_seq, last_seq, ts_min, ts_max, records;
} TimeBlock;

/* One SQLite connection and the statements frames are built with. */
typedef struct {
    sqlite3 *db;
    sqlite3_stmt *st_summary, *st_before, *st_xfers;
} Conn;

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
    sqlite3 *db;
    DmtvTrace trace;
    int64_t max_transfer_ns;
    int min_level; /* finest level stored in `summary` (meta summary_min_level) */
    TimeBlock *blocks;
    size_t n_blocks;
    GHashTable *reg_lane;   /* (dev << 32 | off) -> lane index + 1 */
    GHashTable *other_lane; /* dev -> lane index + 1 ("devD other") */
    GHashTable *irq_lane;   /* dev -> lane index + 1 */
    GHashTable *xfer_lane;  /* adapter -> lane index + 1 */
    gssize markers_lane;
    DmtvFrame frame; /* the current frame (main thread) */
    gboolean frame_valid;
    DmtvFrame approx; /* the preview shown while a fetch runs (main thread) */
    gboolean approx_valid;
    GHashTable *filter; /* xfer -> 1, or NULL; never modified once set (W1) */
    Conn conn;          /* main thread's connection: details, find, ... */
    /* resident summary levels: res[L][lane] for L >= res_min, else NULL */
    ResLane *res[8];
    int res_min;
    size_t res_rows;
    /* the fetch worker (see "the fetch worker" below) */
    GThread *worker;
    Conn wconn;
    /* pthread rather than GMutex/GCond: GLib's futex-based locks are
     * invisible to ThreadSanitizer */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    gboolean quit;
    FetchReq req, running;
    gboolean req_valid, running_valid;
    gboolean loading; /* the worker is loading the finer resident levels */
    gint stop;        /* atomic: stop_worker() was called (ends a level load early) */
    DmtvFrame *done;
    guint64 done_gen, completed_gen, gen_next, fetches;
    guint64 min_gen; /* main thread only */
    GSource *notify;
    GMainContext *ctx;
};

enum { SIG_FRAME_READY, N_MODEL_SIGNALS };
static guint model_signals[N_MODEL_SIGNALS];

G_DEFINE_FINAL_TYPE(DmtvModel, dmtv_model, G_TYPE_OBJECT)

G_DEFINE_QUARK(dmtv - model - error - quark, dmtv_model_error)

static void frame_clear(DmtvFrame *f)
{
    for (size_t i = 0; i < f->n_lanes; i++) {
        DmtvLaneData *d = &f->lanes[i];
        g_free(d->bins);
        g_free(d->spans);
        g_free(d->edges);
        g_free(d->marks);
    }
    g_free(f->lanes);
    g_free(f->text);
    memset(f, 0, sizeof *f);
}

static void conn_close(Conn *c)
{
    sqlite3_finalize(c->st_summary);
    sqlite3_finalize(c->st_before);
    sqlite3_finalize(c->st_xfers);
    if (c->db)
        sqlite3_close(c->db);
    memset(c, 0, sizeof *c);
}

static void stop_worker(DmtvModel *self);
static gboolean start_worker(DmtvModel *self, GError **error);
static void load_resident(DmtvModel *self, Conn *c, int from, int to);
static void resident_free(ResLane *rl, size_t n_lanes);

static void dmtv_model_finalize(GObject *object)
{
    DmtvModel *self = DMTV_MODEL(object);
    stop_worker(self);
    conn_close(&self->wconn);
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->cond);
    frame_clear(&self->frame);
    frame_clear(&self->approx);
    for (int L = 0; L < 8; L++)
        resident_free(self->res[L], self->trace.n_lanes);
    conn_close(&self->conn);
    self->db = NULL;
    for (size_t i = 0; i < self->trace.n_findings; i++)
        g_free(self->trace.findings[i].message);
    g_free(self->trace.findings);
    g_free(self->trace.lanes);
    g_free(self->trace.lost);
    g_free(self->trace.adapters);
    g_free(self->blocks);
    g_clear_pointer(&self->reg_lane, g_hash_table_unref);
    g_clear_pointer(&self->other_lane, g_hash_table_unref);
    g_clear_pointer(&self->irq_lane, g_hash_table_unref);
    g_clear_pointer(&self->xfer_lane, g_hash_table_unref);
    g_clear_pointer(&self->filter, g_hash_table_unref);
    g_free(self->path);
    G_OBJECT_CLASS(dmtv_model_parent_class)->finalize(object);
}

static void dmtv_model_class_init(DmtvModelClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = dmtv_model_finalize;
    /* A background fetch finished (emitted on the thread-default main
     * context of dmtv_model_open's caller): call _frame_nowait again. */
    model_signals[SIG_FRAME_READY] =
        g_signal_new("frame-ready", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                     NULL, G_TYPE_NONE, 0);
}

static void dmtv_model_init(DmtvModel *self)
{
    self->reg_lane = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    self->other_lane = g_hash_table_new(g_direct_hash, g_direct_equal);
    self->irq_lane = g_hash_table_new(g_direct_hash, g_direct_equal);
    self->xfer_lane = g_hash_table_new(g_direct_hash, g_direct_equal);
    self->markers_lane = -1;
    self->res_min = 8;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->cond, NULL);
}

/* ---- small SQL helpers ------------------------------------------------------ */

static sqlite3_stmt *prep(DmtvModel *self, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) != SQLITE_OK) {
        g_warning("SQL prepare failed: %s: %s", sqlite3_errmsg(self->db), sql);
        return NULL;
    }
    return st;
}

static sqlite3_stmt *conn_prep(Conn *c, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        g_warning("SQL prepare failed: %s: %s", sqlite3_errmsg(c->db), sql);
        return NULL;
    }
    return st;
}

/* The statements every frame uses; FALSE when the store lacks the columns. */
static gboolean conn_prepare_frames(Conn *c)
{
    c->st_summary =
        conn_prep(c, "SELECT bucket, count, bytes, vmin, vmax, vlast, t_first, t_last FROM summary "
                     "WHERE level = ?1 AND lane = ?2 AND bucket BETWEEN ?3 AND ?4 ORDER BY bucket");
    c->st_before = conn_prep(c, "SELECT vlast FROM summary WHERE level = ?1 AND lane = ?2 AND "
                                "bucket < ?3 ORDER BY bucket DESC LIMIT 1");
    c->st_xfers = conn_prep(c, "SELECT xfer, adapter, write_to_device, requested, granted, n_sg, "
                               "truncated, outcome, start_ts, exec_ts, complete_ts, "
                               "interrupt_ts, dpc_ts, t_begin, t_end, bounced FROM transfers "
                               "WHERE t_begin BETWEEN ?1 AND ?2 AND t_end >= ?3 "
                               "ORDER BY t_begin");
    return c->st_summary && c->st_before && c->st_xfers;
}

static gboolean query_i64(DmtvModel *self, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = prep(self, sql);
    gboolean ok = FALSE;
    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *out = sqlite3_column_int64(st, 0);
        ok = TRUE;
    }
    sqlite3_finalize(st);
    return ok;
}

static int64_t col_i64_or(sqlite3_stmt *st, int c, int64_t dflt)
{
    return sqlite3_column_type(st, c) == SQLITE_NULL ? dflt : sqlite3_column_int64(st, c);
}

static gboolean meta_i64(DmtvModel *self, const char *key, int64_t *out)
{
    sqlite3_stmt *st = prep(self, "SELECT value FROM meta WHERE key = ?1");
    gboolean ok = FALSE;
    if (!st)
        return FALSE;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *out = sqlite3_column_int64(st, 0);
        ok = TRUE;
    }
    sqlite3_finalize(st);
    return ok;
}

static int64_t pack_reg(int64_t dev, int64_t off)
{
    return (int64_t)(((uint64_t)dev << 40) ^ (uint64_t)off);
}

/* ---- open --------------------------------------------------------------------- */

static gboolean check_store(DmtvModel *self, GError **error)
{
    int64_t app = 0, ver = 0;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(self->db, "PRAGMA application_id", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        app = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ||
        (rc != SQLITE_ROW && sqlite3_errcode(self->db) == SQLITE_NOTADB)) {
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_FOREIGN,
                    "%s: not a dmatrace database (not an SQLite file)", self->path);
        return FALSE;
    }
    if (rc != SQLITE_ROW) {
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_IO, "%s: cannot read: %s", self->path,
                    sqlite3_errmsg(self->db));
        return FALSE;
    }
    if (app != APPLICATION_ID) {
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_FOREIGN,
                    "%s: not a dmatrace database (application_id 0x%" PRIx64
                    ", expected 0x444D5442)",
                    self->path, (uint64_t)app);
        return FALSE;
    }
    if (!query_i64(self, "PRAGMA user_version", &ver) || ver != SCHEMA_VERSION) {
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_VERSION,
                    "%s: store schema version %" PRId64 ", this viewer reads version %d",
                    self->path, ver, SCHEMA_VERSION);
        return FALSE;
    }
    static const char *need[] = {"meta",       "lanes",       "summary",      "transfers",
                                 "time_index", "sg_elements", "reg_accesses", "findings",
                                 "lost",       "adapters",    "interrupts",   "dpcs",
                                 "markers",    "dma_calls",   "reg_buffers",  "desc_writes"};
    for (size_t i = 0; i < G_N_ELEMENTS(need); i++) {
        int64_t n = 0;
        char *sql = sqlite3_mprintf(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = %Q", need[i]);
        gboolean ok = query_i64(self, sql, &n);
        sqlite3_free(sql);
        if (!ok || n != 1) {
            g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_FORMAT,
                        "%s: damaged dmatrace database: table %s missing", self->path, need[i]);
            return FALSE;
        }
    }
    return TRUE;
}

static void lane_labels(DmtvModel *self, DmtvLane *l)
{
    switch (l->kind) {
    case DMTV_LANE_TRANSFERS: {
        const DmtvAdapter *a =
            l->adapter >= 0 ? dmtv_model_adapter(self, (uint32_t)l->adapter) : NULL;
        g_snprintf(l->label, sizeof l->label, "adapter %" PRId64 " transfers", l->adapter);
        if (a)
            g_snprintf(l->sub, sizeof l->sub, "dev%" PRId64 " %s %s", a->dev,
                       a->scatter_gather ? "SG" : "non-SG",
                       a->dma64   ? "64-bit"
                       : a->dma32 ? "32-bit"
                                  : "24-bit");
        break;
    }
    case DMTV_LANE_REGISTER: {
        const char *n = l->off >= 0 ? dmtv_reg_name((uint64_t)l->off) : NULL;
        if (n)
            g_strlcpy(l->label, n, sizeof l->label);
        else if (l->off >= 0)
            g_snprintf(l->label, sizeof l->label, "reg +0x%03" PRIx64, l->off);
        else
            g_strlcpy(l->label, "other registers", sizeof l->label);
        if (l->off >= 0)
            g_snprintf(l->sub, sizeof l->sub, "dev%" PRId64 " +0x%03" PRIx64, l->dev, l->off);
        else
            g_snprintf(l->sub, sizeof l->sub, "dev%" PRId64, l->dev);
        break;
    }
    case DMTV_LANE_INTERRUPTS:
        g_snprintf(l->label, sizeof l->label, "dev%" PRId64 " IRQ / DPC", l->dev);
        break;
    case DMTV_LANE_LOST:
        g_strlcpy(l->label, "lost records", sizeof l->label);
        break;
    case DMTV_LANE_MARKERS:
        g_strlcpy(l->label, "markers", sizeof l->label);
        break;
    case DMTV_LANE_FINDINGS:
        g_strlcpy(l->label, "audit findings", sizeof l->label);
        break;
    default:
        g_strlcpy(l->label, l->name, sizeof l->label);
    }
}

static int lane_kind_from_text(const char *k)
{
    static const char *names[] = {NULL,   "transfers", "register", "interrupts",
                                  "lost", "markers",   "findings"};
    for (int i = 1; i < (int)G_N_ELEMENTS(names); i++)
        if (k && !strcmp(k, names[i]))
            return i;
    return 0;
}

static int lane_order(int kind)
{
    /* transfers first, then registers, interrupts, markers, lost, findings */
    static const int order[] = {9, 0, 2, 1, 4, 3, 5};
    return kind >= 0 && kind < 7 ? order[kind] : 9;
}

static int cmp_lane(const void *a, const void *b)
{
    const DmtvLane *x = a, *y = b;
    int ox = lane_order(x->kind), oy = lane_order(y->kind);
    if (ox != oy)
        return ox - oy;
    if (x->kind == DMTV_LANE_TRANSFERS && x->adapter != y->adapter)
        return x->adapter < y->adapter ? -1 : 1;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->kind == DMTV_LANE_REGISTER && x->off != y->off) {
        /* the "other" lane (off -1) last */
        uint64_t a1 = (uint64_t)x->off, b1 = (uint64_t)y->off;
        return a1 < b1 ? -1 : 1;
    }
    return x->id < y->id ? -1 : x->id > y->id;
}

static gboolean load_lanes(DmtvModel *self, GError **error)
{
    sqlite3_stmt *st = prep(self, "SELECT lane, kind, dev, adapter, off, name FROM lanes "
                                  "ORDER BY lane LIMIT " G_STRINGIFY(MAX_LANES));
    if (!st) {
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_FORMAT,
                    "%s: damaged dmatrace database (lanes)", self->path);
        return FALSE;
    }
    GArray *a = g_array_new(FALSE, TRUE, sizeof(DmtvLane));
    while (sqlite3_step(st) == SQLITE_ROW) {
        DmtvLane l = {0};
        l.id = sqlite3_column_int64(st, 0);
        l.kind = lane_kind_from_text((const char *)sqlite3_column_text(st, 1));
        if (!l.kind)
            continue; /* a lane kind of a newer schema: not drawn */
        l.dev = col_i64_or(st, 2, -1);
        l.adapter = col_i64_or(st, 3, -1);
        l.off = col_i64_or(st, 4, -1);
        const char *nm = (const char *)sqlite3_column_text(st, 5);
        g_strlcpy(l.name, nm ? nm : "", sizeof l.name);
        g_array_append_val(a, l);
    }
    sqlite3_finalize(st);
    /* a store always has a findings lane; make sure the viewer has one */
    gboolean has_findings = FALSE, has_lost = FALSE;
    for (guint i = 0; i < a->len; i++) {
        has_findings |= g_array_index(a, DmtvLane, i).kind == DMTV_LANE_FINDINGS;
        has_lost |= g_array_index(a, DmtvLane, i).kind == DMTV_LANE_LOST;
    }
    if (!has_findings) {
        DmtvLane l = {.id = -1, .kind = DMTV_LANE_FINDINGS, .dev = -1, .adapter = -1, .off = -1};
        g_strlcpy(l.name, "findings", sizeof l.name);
        g_array_append_val(a, l);
    }
    if (!has_lost && self->trace.n_lost) {
        DmtvLane l = {.id = -2, .kind = DMTV_LANE_LOST, .dev = -1, .adapter = -1, .off = -1};
        g_strlcpy(l.name, "lost", sizeof l.name);
        g_array_append_val(a, l);
    }
    if (a->len)
        qsort(a->data, a->len, sizeof(DmtvLane), cmp_lane);
    self->trace.n_lanes = a->len;
    self->trace.lanes = (DmtvLane *)g_array_free(a, FALSE);
    for (size_t i = 0; i < self->trace.n_lanes; i++) {
        DmtvLane *l = &self->trace.lanes[i];
        lane_labels(self, l);
        gpointer v = GSIZE_TO_POINTER(i + 1);
        switch (l->kind) {
        case DMTV_LANE_TRANSFERS:
            g_hash_table_insert(self->xfer_lane, GINT_TO_POINTER((int)l->adapter), v);
            break;
        case DMTV_LANE_REGISTER:
            if (l->off >= 0) {
                int64_t *k = g_new(int64_t, 1); /* freed by the table */
                *k = pack_reg(l->dev, l->off);
                g_hash_table_insert(self->reg_lane, k, v);
            } else {
                g_hash_table_insert(self->other_lane, GINT_TO_POINTER((int)l->dev), v);
            }
            break;
        case DMTV_LANE_INTERRUPTS:
            g_hash_table_insert(self->irq_lane, GINT_TO_POINTER((int)l->dev), v);
            break;
        case DMTV_LANE_MARKERS:
            self->markers_lane = (gssize)i;
            break;
        default:
            break;
        }
    }
    return TRUE;
}

static void load_adapters(DmtvModel *self)
{
    sqlite3_stmt *st = prep(self, "SELECT adapter, dev, scatter_gather, dma32, dma64, max_length, "
                                  "map_registers, addr_limit FROM adapters ORDER BY adapter "
                                  "LIMIT " G_STRINGIFY(MAX_ADAPTERS));
    GArray *a = g_array_new(FALSE, TRUE, sizeof(DmtvAdapter));
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        DmtvAdapter d = {0};
        d.adapter = (uint32_t)sqlite3_column_int64(st, 0);
        d.dev = col_i64_or(st, 1, -1);
        d.scatter_gather = sqlite3_column_int(st, 2) != 0;
        d.dma32 = sqlite3_column_int(st, 3) != 0;
        d.dma64 = sqlite3_column_int(st, 4) != 0;
        d.max_length = (uint64_t)col_i64_or(st, 5, 0);
        d.map_registers = (uint64_t)col_i64_or(st, 6, 0);
        d.addr_limit = (uint64_t)col_i64_or(st, 7, -1);
        g_array_append_val(a, d);
    }
    sqlite3_finalize(st);
    self->trace.n_adapters = a->len;
    self->trace.adapters = (DmtvAdapter *)g_array_free(a, FALSE);
}

/* Time of the last record before sequence number seq (any table). */
static int64_t ts_before_seq(DmtvModel *self, int64_t seq, int64_t dflt)
{
    static const char *tables[] = {"reg_accesses", "reg_buffers", "dma_calls", "resources",
                                   "desc_writes",  "interrupts",  "dpcs",      "markers",
                                   "payloads",     "patterns"};
    int64_t best_seq = -1, best_ts = dflt;
    for (size_t i = 0; i < G_N_ELEMENTS(tables); i++) {
        char *sql = g_strdup_printf("SELECT seq, ts FROM %s WHERE seq < ?1 ORDER BY seq DESC "
                                    "LIMIT 1",
                                    tables[i]);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, seq);
            if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > best_seq) {
                best_seq = sqlite3_column_int64(st, 0);
                best_ts = sqlite3_column_int64(st, 1);
            }
        }
        sqlite3_finalize(st);
        g_free(sql);
    }
    return best_ts;
}

static void load_lost(DmtvModel *self)
{
    sqlite3_stmt *st = prep(self, "SELECT first_seq, ts, count, reason FROM lost ORDER BY ts "
                                  "LIMIT " G_STRINGIFY(MAX_LOST));
    GArray *a = g_array_new(FALSE, TRUE, sizeof(DmtvLost));
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        DmtvLost l = {0};
        l.first_seq = (uint64_t)sqlite3_column_int64(st, 0);
        l.t1 = sqlite3_column_int64(st, 1);
        l.count = (uint64_t)sqlite3_column_int64(st, 2);
        l.reason = (uint32_t)sqlite3_column_int64(st, 3);
        l.t0 = l.t1;
        g_array_append_val(a, l);
    }
    sqlite3_finalize(st);
    for (guint i = 0; i < a->len && i < LOST_EXACT; i++) {
        DmtvLost *l = &g_array_index(a, DmtvLost, i);
        int64_t t = ts_before_seq(self, (int64_t)l->first_seq, l->t1);
        l->t0 = MIN(t, l->t1);
    }
    self->trace.n_lost = a->len;
    self->trace.lost = (DmtvLost *)g_array_free(a, FALSE);
}

static int severity_of(const char *s)
{
    if (!s)
        return DMTV_SEV_INFO;
    if (!g_ascii_strcasecmp(s, "error"))
        return DMTV_SEV_ERROR;
    if (!g_ascii_strcasecmp(s, "warning"))
        return DMTV_SEV_WARNING;
    return DMTV_SEV_INFO;
}

static int cmp_finding(const void *a, const void *b)
{
    const DmtvFinding *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void load_findings(DmtvModel *self)
{
    /* a finding without ts takes its transfer's begin, else the trace start */
    sqlite3_stmt *st =
        prep(self, "SELECT f.id, coalesce(f.ts, t.t_begin), f.seq, f.xfer, f.adapter, f.severity, "
                   "f.uncertain, f.rule, f.message FROM findings f "
                   "LEFT JOIN transfers t ON t.xfer = f.xfer ORDER BY f.id "
                   "LIMIT " G_STRINGIFY(MAX_FINDINGS));
    GArray *a = g_array_new(FALSE, TRUE, sizeof(DmtvFinding));
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        DmtvFinding f = {0};
        f.id = sqlite3_column_int64(st, 0);
        f.ts = col_i64_or(st, 1, self->trace.t_first);
        f.seq = (uint64_t)col_i64_or(st, 2, -1);
        f.xfer = (uint32_t)col_i64_or(st, 3, 0);
        f.adapter = col_i64_or(st, 4, -1);
        f.severity = severity_of((const char *)sqlite3_column_text(st, 5));
        f.uncertain = sqlite3_column_int(st, 6) != 0;
        const char *r = (const char *)sqlite3_column_text(st, 7);
        g_strlcpy(f.rule, r ? r : "?", sizeof f.rule);
        const char *m = (const char *)sqlite3_column_text(st, 8);
        f.message = g_strdup(m ? m : "");
        g_array_append_val(a, f);
    }
    sqlite3_finalize(st);
    if (a->len)
        qsort(a->data, a->len, sizeof(DmtvFinding), cmp_finding);
    self->trace.n_findings = a->len;
    self->trace.findings = (DmtvFinding *)g_array_free(a, FALSE);
}

static void load_time_index(DmtvModel *self)
{
    sqlite3_stmt *st = prep(self, "SELECT first_seq, last_seq, ts_min, ts_max, records FROM "
                                  "time_index ORDER BY first_seq");
    GArray *a = g_array_new(FALSE, FALSE, sizeof(TimeBlock));
    while (st && sqlite3_step(st) == SQLITE_ROW && a->len < MAX_TIME_IDX) {
        TimeBlock b = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                       sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
                       sqlite3_column_int64(st, 4)};
        g_array_append_val(a, b);
    }
    sqlite3_finalize(st);
    self->n_blocks = a->len;
    self->blocks = (TimeBlock *)g_array_free(a, FALSE);
    int64_t recs = 0;
    for (size_t i = 0; i < self->n_blocks; i++)
        recs += self->blocks[i].records;
    self->trace.records = (uint64_t)recs;
}

DmtvModel *dmtv_model_open(const char *db_path, GError **error)
{
    g_return_val_if_fail(db_path != NULL, NULL);
    if (!g_file_test(db_path, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_IO, "%s: no such file", db_path);
        return NULL;
    }
    DmtvModel *self = g_object_new(DMTV_TYPE_MODEL, NULL);
    self->path = g_strdup(db_path);
    int rc = sqlite3_open_v2(db_path, &self->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    self->conn.db = self->db; /* closed by finalize */
    if (rc != SQLITE_OK) {
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_IO, "%s: cannot open: %s", db_path,
                    self->db ? sqlite3_errmsg(self->db) : sqlite3_errstr(rc));
        g_object_unref(self);
        return NULL;
    }
    if (!check_store(self, error)) {
        g_object_unref(self);
        return NULL;
    }
    sqlite3_exec(self->db, "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;", NULL, NULL,
                 NULL);
    char *base = g_path_get_basename(db_path);
    g_strlcpy(self->trace.title, base, sizeof self->trace.title);
    g_free(base);

    int64_t v;
    load_time_index(self);
    self->trace.t_first = 0;
    self->trace.t_last = 0;
    if (meta_i64(self, "first_ts", &v))
        self->trace.t_first = v;
    else if (self->n_blocks)
        self->trace.t_first = self->blocks[0].ts_min;
    if (meta_i64(self, "last_ts", &v))
        self->trace.t_last = v;
    else if (self->n_blocks)
        self->trace.t_last = self->blocks[self->n_blocks - 1].ts_max;
    if (self->trace.t_last < self->trace.t_first)
        self->trace.t_last = self->trace.t_first;
    self->max_transfer_ns = 0;
    if (meta_i64(self, "max_transfer_ns", &v) && v > 0)
        self->max_transfer_ns = v;
    else
        query_i64(self, "SELECT max(t_end - t_begin) FROM transfers", &self->max_transfer_ns);
    if (self->max_transfer_ns < 0)
        self->max_transfer_ns = 0;

    self->min_level = 0;
    if (meta_i64(self, "summary_min_level", &v))
        self->min_level = (int)CLAMP(v, 0, 7);

    load_adapters(self);
    load_lost(self);
    if (!load_lanes(self, error)) {
        g_object_unref(self);
        return NULL;
    }
    load_findings(self);

    if (!conn_prepare_frames(&self->conn)) {
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_FORMAT,
                    "%s: damaged dmatrace database (summary/transfers columns)", db_path);
        g_object_unref(self);
        return NULL;
    }
    /* the coarse levels now (~0.1 M rows for 10 M events: tens of ms), the
     * finest (most of the rows) by the worker before its first fetch */
    load_resident(self, &self->conn, 7, RESIDENT_OPEN_MIN_LEVEL);
    if (!start_worker(self, error)) {
        g_object_unref(self);
        return NULL;
    }
    return self;
}

const char *dmtv_model_get_path(DmtvModel *self)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), NULL);
    return self->path;
}

const DmtvTrace *dmtv_model_get_trace(DmtvModel *self)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), NULL);
    return &self->trace;
}

const DmtvAdapter *dmtv_model_adapter(DmtvModel *self, uint32_t adapter)
{
    for (size_t i = 0; i < self->trace.n_adapters; i++)
        if (self->trace.adapters[i].adapter == adapter)
            return &self->trace.adapters[i];
    return NULL;
}

/* ---- frames ---------------------------------------------------------------------- */

static uint64_t records_in(DmtvModel *self, int64_t t0, int64_t t1, int64_t *seq_lo,
                           int64_t *seq_hi)
{
    uint64_t n = 0;
    int64_t lo = INT64_MAX, hi = -1;
    for (size_t i = 0; i < self->n_blocks; i++) {
        const TimeBlock *b = &self->blocks[i];
        if (b->ts_max >= t0 && b->ts_min <= t1) {
            n += (uint64_t)b->records;
            lo = MIN(lo, b->first_seq);
            hi = MAX(hi, b->last_seq);
        }
    }
    if (seq_lo)
        *seq_lo = lo;
    if (seq_hi)
        *seq_hi = hi;
    return n;
}

int dmtv_model_pick_level(DmtvModel *self, int64_t t0, int64_t t1, int width)
{
    if (width < 1)
        width = 1;
    if (t1 <= t0)
        t1 = t0 + 1;
    if (records_in(self, t0, t1, NULL, NULL) <= DMTV_DETAIL_MAX_RECORDS)
        return -1;
    double ns_px = (double)(t1 - t0) / width;
    /* buckets of at least DMTV_BUCKET_MIN_PX pixels: finer buckets would only
     * cost rows the drawing folds anyway */
    for (int L = self->min_level; L < 8; L++)
        if ((double)((int64_t)1 << (10 + 3 * L)) >= ns_px * DMTV_BUCKET_MIN_PX)
            return L;
    return 7;
}

void dmtv_model_invalidate(DmtvModel *self)
{
    self->frame_valid = FALSE;
    self->approx_valid = FALSE;
}

static DmtvLaneData *lane_data(DmtvFrame *f, gpointer idx1)
{
    size_t i = GPOINTER_TO_SIZE(idx1);
    return i ? &f->lanes[i - 1] : NULL;
}

/* First index in r->bins whose bucket (b0 >> shift) is >= k. */
static size_t bin_lower(const ResLane *r, unsigned shift, int64_t k)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if ((r->bins[m].b0 >> shift) < k)
            lo = m + 1;
        else
            hi = m;
    }
    return lo;
}

/* Summary frame of a resident level: the same rows load_summary() would read
 * (bucket BETWEEN lo >> s AND t1 >> s, transfers from t0 - max_transfer_ns
 * keeping t_last >= t0; the register value before t0's bucket), from memory.
 * No SQL: safe on the main thread at any size. */
static void summary_from_memory(DmtvModel *self, DmtvFrame *f, int level)
{
    unsigned shift = 10u + 3u * (unsigned)level;
    const ResLane *rl = g_atomic_pointer_get(&self->res[level]);
    for (size_t i = 0; i < self->trace.n_lanes; i++) {
        const DmtvLane *l = &self->trace.lanes[i];
        const ResLane *r = &rl[i];
        DmtvLaneData *d = &f->lanes[i];
        d->summary = TRUE;
        if (!r->n)
            continue;
        int64_t lo = f->t0;
        if (l->kind == DMTV_LANE_TRANSFERS)
            lo -= self->max_transfer_ns;
        size_t a = bin_lower(r, shift, lo >> shift);
        size_t b = bin_lower(r, shift, (f->t1 >> shift) + 1);
        if (b > a) {
            d->bins = g_new(DmtvBin, b - a);
            for (size_t k = a; k < b; k++) {
                if (l->kind == DMTV_LANE_TRANSFERS && r->bins[k].t_last < f->t0)
                    continue;
                d->bins[d->n_bins++] = r->bins[k];
            }
        }
        if (l->kind == DMTV_LANE_REGISTER && a > 0 && r->bins[a - 1].has_vlast) {
            d->has_before = TRUE;
            d->before = r->bins[a - 1].vlast;
        }
    }
}

static void resident_free(ResLane *rl, size_t n_lanes)
{
    for (size_t i = 0; rl && i < n_lanes; i++)
        g_free(rl[i].bins);
    g_free(rl);
}

/* Load stored summary levels `from` down to `to` into memory, coarsest
 * first, while they fit in RESIDENT_MAX_ROWS (a level that does not fit,
 * and the finer ones, stay in SQLite and are fetched by the worker).  Each
 * level is published with an atomic store once complete (open loads the
 * coarse levels, the worker the finest ones: the main thread may read a
 * level as soon as it appears). */
static void load_resident(DmtvModel *self, Conn *c, int from, int to)
{
    size_t nl = self->trace.n_lanes;
    GHashTable *by_id = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, NULL);
    for (size_t i = 0; i < nl; i++)
        g_hash_table_insert(by_id, &self->trace.lanes[i].id, GSIZE_TO_POINTER(i + 1));
    sqlite3_stmt *st = conn_prep(c, "SELECT lane, bucket, count, bytes, vmin, vmax, vlast, "
                                    "t_first, t_last FROM summary WHERE level = ?1 "
                                    "ORDER BY lane, bucket");
    gboolean full = FALSE;
    for (int L = from; st && L >= to && L >= self->min_level && !full; L--) {
        unsigned shift = 10u + 3u * (unsigned)L;
        GArray **arr = g_new0(GArray *, MAX(nl, 1));
        gboolean fits = TRUE;
        size_t rows = 0;
        sqlite3_reset(st);
        sqlite3_bind_int(st, 1, L);
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (self->res_rows + ++rows > RESIDENT_MAX_ROWS ||
                ((rows & 4095) == 0 && g_atomic_int_get(&self->stop))) {
                fits = FALSE; /* over budget, or the model is going away */
                break;
            }
            int64_t id = sqlite3_column_int64(st, 0);
            size_t li = GPOINTER_TO_SIZE(g_hash_table_lookup(by_id, &id));
            if (!li)
                continue;
            DmtvBin b;
            int64_t k = sqlite3_column_int64(st, 1);
            b.b0 = k << shift;
            b.b1 = (k + 1) << shift;
            b.count = (uint64_t)sqlite3_column_int64(st, 2);
            b.bytes = (uint64_t)sqlite3_column_int64(st, 3);
            b.has_v = sqlite3_column_type(st, 4) != SQLITE_NULL;
            b.vmin = (uint64_t)sqlite3_column_int64(st, 4);
            b.vmax = (uint64_t)sqlite3_column_int64(st, 5);
            b.vlast = (uint64_t)sqlite3_column_int64(st, 6);
            b.has_vlast = sqlite3_column_type(st, 6) != SQLITE_NULL;
            b.t_first = sqlite3_column_int64(st, 7);
            b.t_last = sqlite3_column_int64(st, 8);
            if (!arr[li - 1])
                arr[li - 1] = g_array_new(FALSE, FALSE, sizeof(DmtvBin));
            g_array_append_val(arr[li - 1], b);
        }
        ResLane *rl = g_new0(ResLane, MAX(nl, 1));
        for (size_t i = 0; i < nl; i++) {
            if (!arr[i])
                continue;
            rl[i].n = arr[i]->len;
            rl[i].bins = (DmtvBin *)g_array_free(arr[i], FALSE);
        }
        g_free(arr);
        if (!fits) {
            resident_free(rl, nl);
            full = TRUE;
            break;
        }
        self->res_rows += rows;
        g_atomic_pointer_set(&self->res[L], rl);
        g_atomic_int_set(&self->res_min, L);
    }
    sqlite3_finalize(st);
    g_hash_table_unref(by_id);
}
/* Summary rows of a level that is not resident, from SQL. */
static uint64_t load_summary(DmtvModel *self, Conn *c, DmtvFrame *f, int level)
{
    unsigned shift = 10u + 3u * (unsigned)level;
    uint64_t rows = 0;
    sqlite3_stmt *st = c->st_summary;
    for (size_t i = 0; i < self->trace.n_lanes; i++) {
        const DmtvLane *l = &self->trace.lanes[i];
        DmtvLaneData *d = &f->lanes[i];
        d->summary = TRUE;
        if (l->id < 0)
            continue;
        int64_t lo = f->t0;
        if (l->kind == DMTV_LANE_TRANSFERS)
            lo -= self->max_transfer_ns;
        GArray *a = g_array_new(FALSE, FALSE, sizeof(DmtvBin));
        sqlite3_reset(st);
        sqlite3_bind_int(st, 1, level);
        sqlite3_bind_int64(st, 2, l->id);
        sqlite3_bind_int64(st, 3, lo >> shift);
        sqlite3_bind_int64(st, 4, f->t1 >> shift);
        while (sqlite3_step(st) == SQLITE_ROW) {
            DmtvBin b;
            int64_t k = sqlite3_column_int64(st, 0);
            b.b0 = k << shift;
            b.b1 = (k + 1) << shift;
            b.count = (uint64_t)sqlite3_column_int64(st, 1);
            b.bytes = (uint64_t)sqlite3_column_int64(st, 2);
            b.has_v = sqlite3_column_type(st, 3) != SQLITE_NULL;
            b.vmin = (uint64_t)sqlite3_column_int64(st, 3);
            b.vmax = (uint64_t)sqlite3_column_int64(st, 4);
            b.vlast = (uint64_t)sqlite3_column_int64(st, 5);
            b.has_vlast = sqlite3_column_type(st, 5) != SQLITE_NULL;
            b.t_first = sqlite3_column_int64(st, 6);
            b.t_last = sqlite3_column_int64(st, 7);
            rows++;
            if (l->kind == DMTV_LANE_TRANSFERS && b.t_last < f->t0)
                continue;
            g_array_append_val(a, b);
        }
        d->n_bins = a->len;
        d->bins = (DmtvBin *)g_array_free(a, FALSE);
        if (l->kind == DMTV_LANE_REGISTER) {
            sqlite3_reset(c->st_before);
            sqlite3_bind_int(c->st_before, 1, level);
            sqlite3_bind_int64(c->st_before, 2, l->id);
            sqlite3_bind_int64(c->st_before, 3, f->t0 >> shift);
            if (sqlite3_step(c->st_before) == SQLITE_ROW &&
                sqlite3_column_type(c->st_before, 0) != SQLITE_NULL) {
                d->has_before = TRUE;
                d->before = (uint64_t)sqlite3_column_int64(c->st_before, 0);
            }
            rows++;
        }
    }
    return rows;
}

static int outcome_code(const char *s)
{
    if (!s || !strcmp(s, "completed"))
        return DMTV_OUT_COMPLETED;
    if (!strcmp(s, "not-completed"))
        return DMTV_OUT_NOT_COMPLETED;
    if (!strcmp(s, "completed-twice"))
        return DMTV_OUT_TWICE;
    return DMTV_OUT_FAILED;
}

static void assign_rows(DmtvLaneData *d)
{
    int64_t row_end[DMTV_MAX_ROWS];
    for (int r = 0; r < DMTV_MAX_ROWS; r++)
        row_end[r] = INT64_MIN;
    uint8_t used = 1;
    for (size_t i = 0; i < d->n_spans; i++) {
        DmtvSpan *s = &d->spans[i];
        int64_t b = s->start_ts != INT64_MIN ? s->start_ts : s->t_begin;
        int64_t e = s->complete_ts != INT64_MIN ? s->complete_ts : s->t_end;
        uint8_t r = 0;
        while (r < DMTV_MAX_ROWS - 1 && row_end[r] >= b)
            r++;
        s->row = r;
        row_end[r] = MAX(row_end[r], e);
        used = MAX(used, (uint8_t)(r + 1));
    }
    d->rows = used;
}

static int cmp_edge(const void *a, const void *b)
{
    const DmtvEdge *x = a, *y = b;
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static int cmp_mark(const void *a, const void *b)
{
    const DmtvMark *x = a, *y = b;
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static DmtvLaneData *reg_lane(DmtvModel *self, DmtvFrame *f, int64_t dev, int64_t off)
{
    int64_t k = pack_reg(dev, off);
    gpointer v = g_hash_table_lookup(self->reg_lane, &k);
    if (!v)
        v = g_hash_table_lookup(self->other_lane, GINT_TO_POINTER((int)dev));
    return lane_data(f, v);
}

/* Exact events of [f->t0, f->t1]; `filter` (xfer set or NULL) marks matching spans. */
static uint64_t load_detail(DmtvModel *self, Conn *c, DmtvFrame *f, GHashTable *filter)
{
    uint64_t rows = 0;
    size_t nl = self->trace.n_lanes;
    GArray **edges = g_new0(GArray *, nl);
    GArray **marks = g_new0(GArray *, nl);
    GArray **spans = g_new0(GArray *, nl);
    GString *text = g_string_new(NULL);
    /* register lanes also need the accesses since the start of t0's bucket
     * at the finest stored level (the "before" value is the summary row
     * before that bucket) */
    unsigned bshift = 10u + 3u * (unsigned)self->min_level;
    int64_t t0 = (f->t0 >> bshift) << bshift;
    int64_t seq_lo, seq_hi;
    records_in(self, t0, f->t1, &seq_lo, &seq_hi);

    /* transfers */
    sqlite3_stmt *st = c->st_xfers;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, f->t0 - self->max_transfer_ns);
    sqlite3_bind_int64(st, 2, f->t1);
    sqlite3_bind_int64(st, 3, f->t0);
    while (sqlite3_step(st) == SQLITE_ROW) {
        rows++;
        DmtvLaneData *d = lane_data(
            f, g_hash_table_lookup(self->xfer_lane, GINT_TO_POINTER((int)col_i64_or(st, 1, -1))));
        if (!d)
            continue;
        size_t li = (size_t)(d - f->lanes);
        if (!spans[li])
            spans[li] = g_array_new(FALSE, FALSE, sizeof(DmtvSpan));
        DmtvSpan s = {0};
        s.xfer = (uint32_t)sqlite3_column_int64(st, 0);
        s.to_device = sqlite3_column_int(st, 2) != 0;
        s.requested = (uint64_t)col_i64_or(st, 3, 0);
        s.granted = (uint64_t)col_i64_or(st, 4, 0);
        s.n_sg = (uint32_t)col_i64_or(st, 5, 0);
        s.truncated = sqlite3_column_int(st, 6) != 0;
        s.outcome = (uint8_t)outcome_code((const char *)sqlite3_column_text(st, 7));
        s.start_ts = col_i64_or(st, 8, INT64_MIN);
        s.exec_ts = col_i64_or(st, 9, INT64_MIN);
        s.complete_ts = col_i64_or(st, 10, INT64_MIN);
        s.irq_ts = col_i64_or(st, 11, INT64_MIN);
        s.dpc_ts = col_i64_or(st, 12, INT64_MIN);
        s.t_begin = sqlite3_column_int64(st, 13);
        s.t_end = sqlite3_column_int64(st, 14);
        s.bounced = col_i64_or(st, 15, 0) != 0;
        s.match = filter && g_hash_table_contains(filter, GUINT_TO_POINTER(s.xfer));
        g_array_append_val(spans[li], s);
    }

    if (seq_hi >= seq_lo) {
        /* register accesses */
        st = conn_prep(c, "SELECT ts, dev, off, value, is_write FROM reg_accesses "
                          "WHERE seq BETWEEN ?1 AND ?2 AND ts BETWEEN ?3 AND ?4");
        sqlite3_bind_int64(st, 1, seq_lo);
        sqlite3_bind_int64(st, 2, seq_hi);
        sqlite3_bind_int64(st, 3, t0);
        sqlite3_bind_int64(st, 4, f->t1);
        while (st && sqlite3_step(st) == SQLITE_ROW) {
            rows++;
            DmtvLaneData *d =
                reg_lane(self, f, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
            if (!d)
                continue;
            size_t li = (size_t)(d - f->lanes);
            if (!edges[li])
                edges[li] = g_array_new(FALSE, FALSE, sizeof(DmtvEdge));
            DmtvEdge e = {sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 3),
                          (uint8_t)sqlite3_column_int(st, 4)};
            g_array_append_val(edges[li], e);
        }
        sqlite3_finalize(st);
        /* register buffer accesses: one value per register */
        st = conn_prep(c, "SELECT ts, dev, off, width, is_write, count, vals FROM reg_buffers "
                          "WHERE seq BETWEEN ?1 AND ?2 AND ts BETWEEN ?3 AND ?4");
        sqlite3_bind_int64(st, 1, seq_lo);
        sqlite3_bind_int64(st, 2, seq_hi);
        sqlite3_bind_int64(st, 3, t0);
        sqlite3_bind_int64(st, 4, f->t1);
        while (st && sqlite3_step(st) == SQLITE_ROW) {
            rows++;
            int64_t dev = sqlite3_column_int64(st, 1), off = sqlite3_column_int64(st, 2);
            int64_t width = sqlite3_column_int64(st, 3);
            const uint8_t *vals = sqlite3_column_blob(st, 6);
            int nb = sqlite3_column_bytes(st, 6);
            int64_t cnt = MIN(sqlite3_column_int64(st, 5), nb / 8);
            if (cnt > 1024)
                cnt = 1024;
            for (int64_t i = 0; i < cnt; i++) {
                DmtvLaneData *d = reg_lane(self, f, dev, off + i * width);
                if (!d)
                    continue;
                size_t li = (size_t)(d - f->lanes);
                if (!edges[li])
                    edges[li] = g_array_new(FALSE, FALSE, sizeof(DmtvEdge));
                uint64_t v = 0;
                for (int b = 7; b >= 0; b--)
                    v = (v << 8) | vals[i * 8 + b];
                DmtvEdge e = {sqlite3_column_int64(st, 0), v, (uint8_t)sqlite3_column_int(st, 4)};
                g_array_append_val(edges[li], e);
            }
        }
        sqlite3_finalize(st);
        /* interrupts and DPCs */
        st = conn_prep(c, "SELECT ts, dev, claimed, 0 FROM interrupts WHERE seq BETWEEN ?1 AND ?2 "
                          "AND ts BETWEEN ?3 AND ?4 UNION ALL "
                          "SELECT ts, dev, 0, 1 FROM dpcs WHERE seq BETWEEN ?1 AND ?2 "
                          "AND ts BETWEEN ?3 AND ?4");
        sqlite3_bind_int64(st, 1, seq_lo);
        sqlite3_bind_int64(st, 2, seq_hi);
        sqlite3_bind_int64(st, 3, f->t0);
        sqlite3_bind_int64(st, 4, f->t1);
        while (st && sqlite3_step(st) == SQLITE_ROW) {
            rows++;
            DmtvLaneData *d = lane_data(
                f, g_hash_table_lookup(self->irq_lane,
                                       GINT_TO_POINTER((int)sqlite3_column_int64(st, 1))));
            if (!d)
                continue;
            size_t li = (size_t)(d - f->lanes);
            if (!marks[li])
                marks[li] = g_array_new(FALSE, FALSE, sizeof(DmtvMark));
            DmtvMark m = {sqlite3_column_int64(st, 0), 0, 0};
            m.kind = sqlite3_column_int(st, 3)   ? DMTV_MARK_DPC
                     : sqlite3_column_int(st, 2) ? DMTV_MARK_IRQ
                                                 : DMTV_MARK_IRQ_UNCLAIMED;
            g_array_append_val(marks[li], m);
        }
        sqlite3_finalize(st);
        /* markers */
        if (self->markers_lane >= 0) {
            st = conn_prep(c, "SELECT ts, substr(text, 1, 200) FROM markers WHERE seq BETWEEN ?1 "
                              "AND ?2 AND ts BETWEEN ?3 AND ?4");
            sqlite3_bind_int64(st, 1, seq_lo);
            sqlite3_bind_int64(st, 2, seq_hi);
            sqlite3_bind_int64(st, 3, f->t0);
            sqlite3_bind_int64(st, 4, f->t1);
            size_t li = (size_t)self->markers_lane;
            while (st && sqlite3_step(st) == SQLITE_ROW) {
                rows++;
                if (!marks[li])
                    marks[li] = g_array_new(FALSE, FALSE, sizeof(DmtvMark));
                const char *t = (const char *)sqlite3_column_text(st, 1);
                DmtvMark m = {sqlite3_column_int64(st, 0), DMTV_MARK_TEXT, (uint32_t)text->len};
                g_string_append(text, t ? t : "");
                g_string_append_c(text, 0);
                g_array_append_val(marks[li], m);
            }
            sqlite3_finalize(st);
        }
    }

    for (size_t i = 0; i < nl; i++) {
        DmtvLaneData *d = &f->lanes[i];
        const DmtvLane *l = &self->trace.lanes[i];
        d->summary = FALSE;
        d->rows = 1;
        if (spans[i]) {
            d->n_spans = spans[i]->len;
            d->spans = (DmtvSpan *)g_array_free(spans[i], FALSE);
            assign_rows(d);
        }
        if (edges[i]) {
            d->n_edges = edges[i]->len;
            d->edges = (DmtvEdge *)g_array_free(edges[i], FALSE);
            qsort(d->edges, d->n_edges, sizeof(DmtvEdge), cmp_edge);
        }
        if (marks[i]) {
            d->n_marks = marks[i]->len;
            d->marks = (DmtvMark *)g_array_free(marks[i], FALSE);
            qsort(d->marks, d->n_marks, sizeof(DmtvMark), cmp_mark);
        }
        if (l->kind == DMTV_LANE_REGISTER && l->id >= 0) {
            sqlite3_reset(c->st_before);
            sqlite3_bind_int(c->st_before, 1, self->min_level);
            sqlite3_bind_int64(c->st_before, 2, l->id);
            sqlite3_bind_int64(c->st_before, 3, t0 >> bshift);
            if (sqlite3_step(c->st_before) == SQLITE_ROW &&
                sqlite3_column_type(c->st_before, 0) != SQLITE_NULL) {
                d->has_before = TRUE;
                d->before = (uint64_t)sqlite3_column_int64(c->st_before, 0);
            }
            rows++;
            /* Accesses between the bucket start and the window are newer
             * than the summary's value: the last one is the value at t0. */
            size_t k = 0;
            while (k < d->n_edges && d->edges[k].ts < f->t0)
                k++;
            if (k > 0) {
                d->has_before = TRUE;
                d->before = d->edges[k - 1].value;
                memmove(d->edges, d->edges + k, (d->n_edges - k) * sizeof(DmtvEdge));
                d->n_edges -= k;
            }
        }
    }
    g_free(edges);
    g_free(marks);
    g_free(spans);
    f->text_len = text->len;
    f->text = g_string_free(text, FALSE);
    return rows;
}

/* The window a fetch for [t0, t1] loads: a quarter window more each side
 * (pans reuse it), unless an exact window would then hold too many records. */
static void frame_bounds(DmtvModel *self, int64_t t0, int64_t t1, int level, int64_t *f0,
                         int64_t *f1)
{
    int64_t margin = (t1 - t0) / 4;
    *f0 = t0 - margin;
    *f1 = t1 + margin;
    if (level == -1 && records_in(self, *f0, *f1, NULL, NULL) > 2 * DMTV_DETAIL_MAX_RECORDS) {
        *f0 = t0;
        *f1 = t1;
    }
}

static gboolean covers(int64_t f0, int64_t f1, int flevel, int64_t t0, int64_t t1, int level)
{
    return flevel == level && f0 <= t0 && f1 >= t1;
}

static void frame_init(DmtvModel *self, DmtvFrame *f, int64_t f0, int64_t f1, int level)
{
    f->t0 = f0;
    f->t1 = f1;
    f->level = level;
    f->want_level = level;
    f->n_lanes = self->trace.n_lanes;
    f->lanes = g_new0(DmtvLaneData, MAX(f->n_lanes, 1));
}

/* ---- the fetch worker -------------------------------------------------------------
 *
 *   main thread                          worker thread (own read-only connection)
 *   -----------                          -------------
 *   _frame_nowait: not cached, not  -->  req (latest only; a newer request
 *   resident: request_fetch(), draw      replaces one not yet taken)
 *   the approximation                       | build_frame(): SQL
 *                                           v
 *   adopt_done() at the next _frame  <-- done (one frame; a newer result
 *   call; "frame-ready" idle source      replaces one not yet adopted),
 *   on the open's main context           completed_gen, cond broadcast
 *
 * Invariants:
 *  W1. Everything the worker reads besides the request is immutable after
 *      open (trace, lanes, lane maps, time blocks, max_transfer_ns); the
 *      filter set is shared by reference and never modified once built.
 *  W2. req, req_valid, running*, loading, done, done_gen, completed_gen,
 *      fetches, notify and quit are guarded by `lock`; res[] and res_min are
 *      written once per level by the loader (open, then the worker) with
 *      atomic stores and read with atomic loads.  self->frame / self->approx belong to the
 *      main thread: a fetched frame only becomes self->frame in adopt_done(),
 *      inside a _frame call, so a frame stays valid until the next call.
 *  W3. Generations grow; results with gen < min_gen (requested before the
 *      last filter change) are dropped when adopted.
 */

static DmtvFrame *build_frame(DmtvModel *self, Conn *c, const FetchReq *r)
{
    DmtvFrame *f = g_new0(DmtvFrame, 1);
    frame_init(self, f, r->t0, r->t1, r->level);
    f->rows_read =
        r->level >= 0 ? load_summary(self, c, f, r->level) : load_detail(self, c, f, r->filter);
    return f;
}

static gboolean notify_cb(gpointer user)
{
    DmtvModel *self = user;
    pthread_mutex_lock(&self->lock);
    g_clear_pointer(&self->notify, g_source_unref);
    pthread_mutex_unlock(&self->lock);
    g_signal_emit(self, model_signals[SIG_FRAME_READY], 0);
    return G_SOURCE_REMOVE;
}

static gpointer worker_main(gpointer user)
{
    DmtvModel *self = user;
    /* the finer summary levels first (self->res_rows is the worker's now) */
    if (g_atomic_int_get(&self->res_min) == RESIDENT_OPEN_MIN_LEVEL)
        load_resident(self, &self->wconn, RESIDENT_OPEN_MIN_LEVEL - 1, 0);
    pthread_mutex_lock(&self->lock);
    self->loading = FALSE;
    pthread_cond_broadcast(&self->cond);
    while (!self->quit) {
        if (!self->req_valid) {
            pthread_cond_wait(&self->cond, &self->lock);
            continue;
        }
        FetchReq r = self->req;
        self->req_valid = FALSE;
        self->running = r;
        self->running_valid = TRUE;
        pthread_mutex_unlock(&self->lock);

        DmtvFrame *f = build_frame(self, &self->wconn, &r);
        if (r.filter)
            g_hash_table_unref(r.filter);

        pthread_mutex_lock(&self->lock);
        self->running_valid = FALSE;
        if (self->done) {
            frame_clear(self->done);
            g_free(self->done);
        }
        self->done = f;
        self->done_gen = r.gen;
        self->completed_gen = r.gen;
        self->fetches++;
        pthread_cond_broadcast(&self->cond);
        if (!self->notify && self->ctx) {
            self->notify = g_idle_source_new();
            g_source_set_priority(self->notify, G_PRIORITY_DEFAULT);
            g_source_set_callback(self->notify, notify_cb, self, NULL);
            g_source_attach(self->notify, self->ctx);
        }
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

/* Main thread: make a finished fetch the current frame. */
static void adopt_done(DmtvModel *self)
{
    pthread_mutex_lock(&self->lock);
    DmtvFrame *d = self->done;
    guint64 gen = self->done_gen;
    self->done = NULL;
    pthread_mutex_unlock(&self->lock);
    if (!d)
        return;
    if (gen >= self->min_gen) {
        frame_clear(&self->frame);
        self->frame = *d;
        self->frame_valid = TRUE;
    } else {
        frame_clear(d);
    }
    g_free(d);
}

/* Main thread: ask the worker for the frame of [t0, t1] at `level` unless a
 * fetch already under way or queued covers it.  Returns the generation whose
 * completion brings the frame. */
static guint64 request_fetch(DmtvModel *self, int64_t t0, int64_t t1, int level)
{
    guint64 gen;
    GHashTable *drop = NULL;
    pthread_mutex_lock(&self->lock);
    if (self->running_valid && self->running.gen >= self->min_gen &&
        covers(self->running.t0, self->running.t1, self->running.level, t0, t1, level)) {
        gen = self->running.gen;
    } else if (self->req_valid && self->req.gen >= self->min_gen &&
               covers(self->req.t0, self->req.t1, self->req.level, t0, t1, level)) {
        gen = self->req.gen;
    } else {
        if (self->req_valid)
            drop = self->req.filter;
        FetchReq r = {0};
        frame_bounds(self, t0, t1, level, &r.t0, &r.t1);
        r.level = level;
        r.filter = self->filter ? g_hash_table_ref(self->filter) : NULL;
        r.gen = ++self->gen_next;
        self->req = r;
        self->req_valid = TRUE;
        gen = r.gen;
        pthread_cond_broadcast(&self->cond);
    }
    pthread_mutex_unlock(&self->lock);
    if (drop)
        g_hash_table_unref(drop);
    return gen;
}

static void wait_fetch(DmtvModel *self, guint64 gen)
{
    pthread_mutex_lock(&self->lock);
    while (self->completed_gen < gen)
        pthread_cond_wait(&self->cond, &self->lock);
    pthread_mutex_unlock(&self->lock);
}

static gboolean start_worker(DmtvModel *self, GError **error)
{
    int rc = sqlite3_open_v2(self->path, &self->wconn.db,
                             SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK || !conn_prepare_frames(&self->wconn)) {
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_IO,
                    "%s: cannot open a second connection: %s", self->path,
                    self->wconn.db ? sqlite3_errmsg(self->wconn.db) : sqlite3_errstr(rc));
        return FALSE;
    }
    sqlite3_exec(self->wconn.db, "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;", NULL,
                 NULL, NULL);
    self->ctx = g_main_context_ref_thread_default();
    self->loading = TRUE; /* before the thread exists: no lock needed */
    self->worker = g_thread_try_new("dmtv-fetch", worker_main, self, error);
    return self->worker != NULL;
}

static void stop_worker(DmtvModel *self)
{
    if (self->worker) {
        g_atomic_int_set(&self->stop, 1);
        pthread_mutex_lock(&self->lock);
        self->quit = TRUE;
        pthread_cond_broadcast(&self->cond);
        pthread_mutex_unlock(&self->lock);
        g_thread_join(self->worker);
        self->worker = NULL;
    }
    /* the worker is gone: no lock needed from here */
    if (self->notify) {
        g_source_destroy(self->notify);
        g_clear_pointer(&self->notify, g_source_unref);
    }
    if (self->req_valid && self->req.filter)
        g_hash_table_unref(self->req.filter);
    self->req_valid = FALSE;
    if (self->done) {
        frame_clear(self->done);
        g_clear_pointer(&self->done, g_free);
    }
    g_clear_pointer(&self->ctx, g_main_context_unref);
}

/* ---- frames: the public side --------------------------------------------------- */

static gboolean resident(DmtvModel *self, int level)
{
    return level >= 0 && level < 8 && g_atomic_pointer_get(&self->res[level]) != NULL;
}

/* self->frame from memory for a resident level. */
static const DmtvFrame *frame_resident(DmtvModel *self, int64_t t0, int64_t t1, int level)
{
    int64_t f0, f1;
    frame_bounds(self, t0, t1, level, &f0, &f1);
    frame_clear(&self->frame);
    frame_init(self, &self->frame, f0, f1, level);
    summary_from_memory(self, &self->frame, level);
    self->frame_valid = TRUE;
    return &self->frame;
}

/* The frame for [t0, *t1) (widened to 1 ns if empty) at width when it needs no SQL: the current one
 * if it covers the window, else one cut from a resident summary level; NULL
 * when rows must be fetched (*level is then the level to fetch). */
static const DmtvFrame *frame_at_hand(DmtvModel *self, int64_t t0, int64_t *t1, int width,
                                      int *level)
{
    if (*t1 <= t0)
        *t1 = t0 + 1;
    adopt_done(self);
    *level = dmtv_model_pick_level(self, t0, *t1, width);
    if (self->frame_valid &&
        covers(self->frame.t0, self->frame.t1, self->frame.level, t0, *t1, *level))
        return &self->frame;
    if (resident(self, *level))
        return frame_resident(self, t0, *t1, *level);
    return NULL;
}

const DmtvFrame *dmtv_model_frame(DmtvModel *self, int64_t t0, int64_t t1, int width)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), NULL);
    int level;
    const DmtvFrame *f = frame_at_hand(self, t0, &t1, width, &level);
    if (f)
        return f;
    wait_fetch(self, request_fetch(self, t0, t1, level));
    adopt_done(self);
    return &self->frame;
}

const DmtvFrame *dmtv_model_frame_nowait(DmtvModel *self, int64_t t0, int64_t t1, int width)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), NULL);
    int level;
    const DmtvFrame *f = frame_at_hand(self, t0, &t1, width, &level);
    if (f)
        return f;
    request_fetch(self, t0, t1, level);
    /* meanwhile: the finest resident level coarser than the one asked for */
    DmtvFrame *a = &self->approx;
    if (self->approx_valid && a->want_level == level && a->t0 <= t0 && a->t1 >= t1)
        return a;
    frame_clear(a);
    int al = MAX(g_atomic_int_get(&self->res_min), level + 1);
    int64_t f0, f1;
    frame_bounds(self, t0, t1, al, &f0, &f1);
    frame_init(self, a, f0, f1, MIN(al, 7));
    if (al <= 7)
        summary_from_memory(self, a, al);
    else
        for (size_t i = 0; i < a->n_lanes; i++)
            a->lanes[i].summary = TRUE;
    a->approx = TRUE;
    a->want_level = level;
    self->approx_valid = TRUE;
    return a;
}

gboolean dmtv_model_fetch_pending(DmtvModel *self)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), FALSE);
    pthread_mutex_lock(&self->lock);
    gboolean busy = self->loading || self->req_valid || self->running_valid || self->done != NULL;
    pthread_mutex_unlock(&self->lock);
    return busy;
}

void dmtv_model_wait_fetch(DmtvModel *self)
{
    g_return_if_fail(DMTV_IS_MODEL(self));
    pthread_mutex_lock(&self->lock);
    while (self->loading || self->req_valid || self->running_valid)
        pthread_cond_wait(&self->cond, &self->lock);
    pthread_mutex_unlock(&self->lock);
}

int dmtv_model_resident_min_level(DmtvModel *self)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), 8);
    return g_atomic_int_get(&self->res_min);
}

guint64 dmtv_model_fetch_count(DmtvModel *self)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), 0);
    pthread_mutex_lock(&self->lock);
    guint64 n = self->fetches;
    pthread_mutex_unlock(&self->lock);
    return n;
}

/* ---- transfers ------------------------------------------------------------------- */

static const char xfer_cols[] =
    "xfer, adapter, mdl, offset, requested, granted, write_to_device, context, start_seq, "
    "start_ts, exec_seq, exec_ts, end_seq, end_ts, end_status, end_length, complete_seq, "
    "complete_ts, complete_status, complete_count, interrupt_seq, interrupt_ts, dpc_seq, dpc_ts, "
    "n_sg, sg_bytes, sg_lo, sg_hi, sg_first, digest, digest_algo, digest_len, truncated, "
    "bounced, outcome, t_begin, t_end, duration_ns";

static void read_transfer(sqlite3_stmt *st, DmtvTransfer *t)
{
    memset(t, 0, sizeof *t);
    t->xfer = (uint32_t)sqlite3_column_int64(st, 0);
    t->adapter = (uint32_t)col_i64_or(st, 1, 0);
    t->mdl = (uint32_t)col_i64_or(st, 2, 0);
    t->offset = (uint64_t)col_i64_or(st, 3, 0);
    t->requested = (uint64_t)col_i64_or(st, 4, 0);
    t->has_granted = sqlite3_column_type(st, 5) != SQLITE_NULL;
    t->granted = (uint64_t)col_i64_or(st, 5, 0);
    t->to_device = col_i64_or(st, 6, 0) != 0;
    t->context = (uint64_t)col_i64_or(st, 7, 0);
    t->start_seq = col_i64_or(st, 8, -1);
    t->start_ts = col_i64_or(st, 9, INT64_MIN);
    t->exec_seq = col_i64_or(st, 10, -1);
    t->exec_ts = col_i64_or(st, 11, INT64_MIN);
    t->end_seq = col_i64_or(st, 12, -1);
    t->end_ts = col_i64_or(st, 13, INT64_MIN);
    t->has_end = t->end_seq >= 0;
    t->end_status = (uint32_t)col_i64_or(st, 14, 0);
    t->end_length = (uint64_t)col_i64_or(st, 15, 0);
    t->complete_seq = col_i64_or(st, 16, -1);
    t->complete_ts = col_i64_or(st, 17, INT64_MIN);
    t->complete_status = (uint32_t)col_i64_or(st, 18, 0);
    t->complete_count = (uint32_t)col_i64_or(st, 19, 0);
    t->irq_seq = col_i64_or(st, 20, -1);
    t->irq_ts = col_i64_or(st, 21, INT64_MIN);
    t->dpc_seq = col_i64_or(st, 22, -1);
    t->dpc_ts = col_i64_or(st, 23, INT64_MIN);
    t->n_sg = (uint32_t)col_i64_or(st, 24, 0);
    t->sg_bytes = (uint64_t)col_i64_or(st, 25, 0);
    t->sg_lo = (uint64_t)col_i64_or(st, 26, 0);
    t->sg_hi = (uint64_t)col_i64_or(st, 27, 0);
    t->sg_first = col_i64_or(st, 28, -1);
    t->has_digest = sqlite3_column_type(st, 29) != SQLITE_NULL;
    t->digest = (uint64_t)col_i64_or(st, 29, 0);
    t->digest_algo = (uint32_t)col_i64_or(st, 30, 0);
    t->digest_len = (uint64_t)col_i64_or(st, 31, 0);
    t->truncated = col_i64_or(st, 32, 0) != 0;
    t->bounce_known = sqlite3_column_type(st, 33) != SQLITE_NULL;
    t->bounced = col_i64_or(st, 33, 0) != 0;
    const char *o = (const char *)sqlite3_column_text(st, 34);
    g_strlcpy(t->outcome, o ? o : "?", sizeof t->outcome);
    t->t_begin = col_i64_or(st, 35, 0);
    t->t_end = col_i64_or(st, 36, 0);
    t->duration_ns = col_i64_or(st, 37, -1);
}

gboolean dmtv_model_get_transfer(DmtvModel *self, uint32_t xfer, DmtvTransfer *out)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), FALSE);
    char *sql = g_strdup_printf("SELECT %s FROM transfers WHERE xfer = ?1", xfer_cols);
    sqlite3_stmt *st = prep(self, sql);
    g_free(sql);
    gboolean found = FALSE;
    if (st) {
        sqlite3_bind_int64(st, 1, xfer);
        if (sqlite3_step(st) == SQLITE_ROW) {
            read_transfer(st, out);
            found = TRUE;
        }
    }
    sqlite3_finalize(st);
    return found;
}

DmtvSgElem *dmtv_model_transfer_sg(DmtvModel *self, uint32_t xfer, guint *n)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), NULL);
    *n = 0;
    DmtvTransfer t;
    if (!dmtv_model_get_transfer(self, xfer, &t) || t.sg_first < 0 || t.n_sg == 0)
        return NULL;
    guint cap = MIN(t.n_sg, MAX_SG);
    DmtvSgElem *v = g_new0(DmtvSgElem, cap);
    sqlite3_stmt *st = prep(self, "SELECT idx, addr, length FROM sg_elements WHERE id BETWEEN ?1 "
                                  "AND ?2 AND xfer = ?3 ORDER BY id");
    if (st) {
        sqlite3_bind_int64(st, 1, t.sg_first);
        sqlite3_bind_int64(st, 2, t.sg_first + cap - 1);
        sqlite3_bind_int64(st, 3, xfer);
        while (sqlite3_step(st) == SQLITE_ROW && *n < cap) {
            v[*n].addr = (uint64_t)sqlite3_column_int64(st, 1);
            v[*n].len = (uint64_t)sqlite3_column_int64(st, 2);
            (*n)++;
        }
    }
    sqlite3_finalize(st);
    return v;
}

uint32_t dmtv_model_transfer_at(DmtvModel *self, size_t lane, int64_t t, int64_t tol)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), 0);
    if (lane >= self->trace.n_lanes || self->trace.lanes[lane].kind != DMTV_LANE_TRANSFERS)
        return 0;
    sqlite3_stmt *st =
        prep(self, "SELECT xfer, t_begin, t_end FROM transfers WHERE adapter = ?1 AND t_begin "
                   "BETWEEN ?2 AND ?3 AND t_end >= ?4 ORDER BY t_begin LIMIT 4096");
    uint32_t best = 0;
    int64_t best_d = INT64_MAX;
    if (st) {
        sqlite3_bind_int64(st, 1, self->trace.lanes[lane].adapter);
        sqlite3_bind_int64(st, 2, t - tol - self->max_transfer_ns);
        sqlite3_bind_int64(st, 3, t + tol);
        sqlite3_bind_int64(st, 4, t - tol);
        while (sqlite3_step(st) == SQLITE_ROW) {
            int64_t b = sqlite3_column_int64(st, 1), e = sqlite3_column_int64(st, 2);
            int64_t d = t < b ? b - t : t > e ? t - e : 0;
            /* prefer the span that contains t, then the nearest, then the later */
            if (d <= best_d) {
                best_d = d;
                best = (uint32_t)sqlite3_column_int64(st, 0);
            }
        }
    }
    sqlite3_finalize(st);
    return best;
}

GArray *dmtv_model_transfers_in(DmtvModel *self, int64_t t0, int64_t t1, guint max)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), NULL);
    GArray *a = g_array_new(FALSE, FALSE, sizeof(DmtvTransfer));
    char *sql = g_strdup_printf("SELECT %s FROM transfers WHERE t_begin BETWEEN ?1 AND ?2 AND "
                                "t_end >= ?3 ORDER BY t_begin LIMIT ?4",
                                xfer_cols);
    sqlite3_stmt *st = prep(self, sql);
    g_free(sql);
    if (st) {
        sqlite3_bind_int64(st, 1, t0 - self->max_transfer_ns);
        sqlite3_bind_int64(st, 2, t1);
        sqlite3_bind_int64(st, 3, t0);
        sqlite3_bind_int64(st, 4, max);
        while (sqlite3_step(st) == SQLITE_ROW) {
            DmtvTransfer t;
            read_transfer(st, &t);
            g_array_append_val(a, t);
        }
    }
    sqlite3_finalize(st);
    return a;
}

static void append_time(GString *s, DmtvModel *self, const char *what, int64_t seq, int64_t ts)
{
    if (seq < 0) {
        g_string_append_printf(s, "  %-14s -\n", what);
        return;
    }
    char t[64];
    dmtv_format_cursor(t, sizeof t, ts - self->trace.t_first);
    g_string_append_printf(s, "  %-14s %s   #%" PRId64 "\n", what, t, seq);
}

char *dmtv_model_describe_transfer(DmtvModel *self, uint32_t xfer)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), NULL);
    DmtvTransfer t;
    if (!dmtv_model_get_transfer(self, xfer, &t))
        return g_strdup_printf("transfer %u: not in this trace", xfer);
    GString *s = g_string_new(NULL);
    char a[64], b[64], c[64];
    dmtv_format_bytes(a, sizeof a, t.requested);
    g_string_append_printf(s, "Transfer %u   adapter %u   %s   %s\n", t.xfer, t.adapter,
                           t.to_device ? "memory -> device (WriteToDevice)" : "device -> memory",
                           t.outcome);
    g_string_append(s, "\nStartDma request\n");
    g_string_append_printf(s, "  MDL %u  offset %" PRIu64 "  requested %" PRIu64 " (%s)\n", t.mdl,
                           t.offset, t.requested, a);
    if (t.has_granted) {
        dmtv_format_bytes(b, sizeof b, t.granted);
        g_string_append_printf(s, "  granted *pLength %" PRIu64 " (%s)%s\n", t.granted, b,
                               t.truncated ? "   TRUNCATED" : "");
    } else {
        g_string_append(s, "  granted -   (no ExecuteDma)\n");
    }
    if (t.has_granted)
        g_string_append(s, !t.bounce_known ? "  bounce buffers: not recorded by this producer\n"
                           : t.bounced     ? "  BOUNCE-BUFFERED: the OS moved (part of) the buffer "
                                             "through its own pages; the SG addresses are those "
                                             "pages\n"
                                           : "  not bounce-buffered (the device sees the buffer's "
                                             "own pages)\n");
    if (t.has_end)
        g_string_append_printf(s, "  StartDma returned status 0x%x, *pLength %" PRIu64 "\n",
                               t.end_status, t.end_length);
    if (t.duration_ns >= 0) {
        dmtv_format_duration(c, sizeof c, t.duration_ns, 4);
        g_string_append_printf(s, "  duration %s (StartDma -> CompleteDma)\n", c);
    }
    g_string_append(s, "\nTimeline (time since trace start, record index)\n");
    append_time(s, self, "StartDma", t.start_seq, t.start_ts);
    append_time(s, self, "ExecuteDma", t.exec_seq, t.exec_ts);
    append_time(s, self, "StartDma end", t.end_seq, t.end_ts);
    append_time(s, self, "interrupt", t.irq_seq, t.irq_ts);
    append_time(s, self, "DPC", t.dpc_seq, t.dpc_ts);
    append_time(s, self, "CompleteDma", t.complete_seq, t.complete_ts);
    if (t.complete_count > 1)
        g_string_append_printf(s, "  CompleteDma called %u times\n", t.complete_count);

    dmtv_format_bytes(a, sizeof a, t.sg_bytes);
    g_string_append_printf(s, "\nSG list: %u element%s, %s", t.n_sg, t.n_sg == 1 ? "" : "s", a);
    if (t.n_sg) {
        dmtv_format_addr(b, sizeof b, t.sg_lo);
        dmtv_format_addr(c, sizeof c, t.sg_hi);
        g_string_append_printf(s, ", %s .. %s", b, c);
    }
    g_string_append_c(s, '\n');
    guint n = 0;
    DmtvSgElem *sg = dmtv_model_transfer_sg(self, xfer, &n);
    for (guint i = 0; i < n && i < 16; i++) {
        dmtv_format_addr(b, sizeof b, sg[i].addr);
        g_string_append_printf(s, "  [%2u] %-22s %8" PRIu64 "  +0x%03" PRIx64 "\n", i, b, sg[i].len,
                               sg[i].addr & 0xfff);
    }
    if (n > 16)
        g_string_append_printf(s, "  ... %u more (see the SG table)\n", n - 16);
    g_free(sg);

    /* register and descriptor writes while the transfer ran */
    int64_t e = t.complete_seq >= 0 ? t.complete_seq : (t.dpc_seq >= 0 ? t.dpc_seq : t.end_seq);
    int64_t b0 = t.start_seq >= 0 ? t.start_seq : t.exec_seq;
    const DmtvAdapter *ad = dmtv_model_adapter(self, t.adapter);
    if (b0 >= 0 && e >= b0) {
        g_string_append(s, "\nRegister writes during the transfer\n");
        sqlite3_stmt *st = prep(self, "SELECT seq, dev, off, value FROM reg_accesses WHERE seq "
                                      "BETWEEN ?1 AND ?2 AND is_write = 1 AND (?3 < 0 OR dev = ?3) "
                                      "ORDER BY seq LIMIT 41");
        int k = 0;
        if (st) {
            sqlite3_bind_int64(st, 1, b0);
            sqlite3_bind_int64(st, 2, e);
            sqlite3_bind_int64(st, 3, ad ? ad->dev : -1);
            while (sqlite3_step(st) == SQLITE_ROW) {
                if (++k > 40) {
                    g_string_append(s, "  ...\n");
                    break;
                }
                uint64_t off = (uint64_t)sqlite3_column_int64(st, 2);
                const char *nm = dmtv_reg_name(off);
                g_string_append_printf(
                    s, "  #%-10" PRId64 " dev%" PRId64 " %-14s = 0x%08" PRIx64 "\n",
                    (int64_t)sqlite3_column_int64(st, 0), (int64_t)sqlite3_column_int64(st, 1),
                    nm ? nm : "?", (uint64_t)sqlite3_column_int64(st, 3));
            }
        }
        sqlite3_finalize(st);
        if (!k)
            g_string_append(s, "  none\n");
        g_string_append(s, "\nDescriptor writes during the transfer\n");
        st = prep(self, "SELECT seq, cb, offset, length(data), hex(substr(data, 1, 16)) FROM "
                        "desc_writes WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq LIMIT 17");
        k = 0;
        if (st) {
            sqlite3_bind_int64(st, 1, b0);
            sqlite3_bind_int64(st, 2, e);
            while (sqlite3_step(st) == SQLITE_ROW) {
                if (++k > 16) {
                    g_string_append(s, "  ...\n");
                    break;
                }
                g_string_append_printf(
                    s, "  #%-10" PRId64 " cb %" PRId64 " +%" PRId64 "  %" PRId64 " bytes  %s%s\n",
                    (int64_t)sqlite3_column_int64(st, 0), (int64_t)sqlite3_column_int64(st, 1),
                    (int64_t)sqlite3_column_int64(st, 2), (int64_t)sqlite3_column_int64(st, 3),
                    (const char *)sqlite3_column_text(st, 4),
                    (int64_t)sqlite3_column_int64(st, 3) > 16 ? "..." : "");
            }
        }
        sqlite3_finalize(st);
        if (!k)
            g_string_append(s, "  none\n");
    }
    if (t.has_digest)
        g_string_append_printf(s, "\nDigest  algo %u  %" PRIu64 " bytes  0x%016" PRIx64 "\n",
                               t.digest_algo, t.digest_len, t.digest);
    g_string_append(s, "\nFindings\n");
    int nf = 0;
    for (size_t i = 0; i < self->trace.n_findings; i++) {
        const DmtvFinding *f = &self->trace.findings[i];
        if (f->xfer != xfer)
            continue;
        nf++;
        g_string_append_printf(s, "  %s %s%s: %s\n",
                               f->severity == DMTV_SEV_ERROR     ? "ERROR"
                               : f->severity == DMTV_SEV_WARNING ? "warning"
                                                                 : "info",
                               f->rule, f->uncertain ? " (uncertain)" : "", f->message);
    }
    if (!nf)
        g_string_append(s, "  none\n");
    if (b0 >= 0) {
        g_string_append_printf(s, "\nRecords #%" PRId64 " .. #%" PRId64 "\n", b0, MAX(e, b0));
        char *q = g_shell_quote(self->path);
        g_string_append_printf(s, "  dmatrace dump %s --from %" PRId64 " --count %" PRId64 "\n", q,
                               b0, MAX(e, b0) - b0 + 1);
        g_free(q);
    }
    return g_string_free(s, FALSE);
}

char *dmtv_model_describe_finding(DmtvModel *self, int64_t id)
{
    for (size_t i = 0; i < self->trace.n_findings; i++) {
        const DmtvFinding *f = &self->trace.findings[i];
        if (f->id != id)
            continue;
        char t[64];
        dmtv_format_cursor(t, sizeof t, f->ts - self->trace.t_first);
        GString *s = g_string_new(NULL);
        g_string_append_printf(s, "Finding %" PRId64 "  %s  %s%s\n\n%s\n\n  time %s\n", f->id,
                               f->rule,
                               f->severity == DMTV_SEV_ERROR     ? "error"
                               : f->severity == DMTV_SEV_WARNING ? "warning"
                                                                 : "info",
                               f->uncertain ? " (uncertain)" : "", f->message, t);
        if (f->xfer)
            g_string_append_printf(s, "  transfer %u\n", f->xfer);
        if (f->seq != UINT64_MAX) {
            char *q = g_shell_quote(self->path);
            g_string_append_printf(
                s, "  record #%" PRIu64 "\n  dmatrace dump %s --from %" PRIu64 " --count 1\n",
                f->seq, q, f->seq);
            g_free(q);
        }
        return g_string_free(s, FALSE);
    }
    return g_strdup("finding not found");
}

/* ---- find and filter ------------------------------------------------------------- */

static gboolean parse_range(const char *v, uint64_t *lo, uint64_t *hi, gboolean size)
{
    const char *dash = strchr(v + (v[0] == '-' ? 1 : 0), '-');
    char *a = dash ? g_strndup(v, (gsize)(dash - v)) : g_strdup(v);
    const char *b = dash ? dash + 1 : NULL;
    gboolean ok;
    if (size) {
        ok = dmtv_parse_size(a, lo) == 0;
        *hi = *lo;
        if (ok && b)
            ok = *b ? dmtv_parse_size(b, hi) == 0 : (*hi = UINT64_MAX, TRUE);
    } else {
        ok = dmtv_parse_size(a, lo) == 0;
        *hi = *lo + 1;
        if (ok && b)
            ok = *b ? dmtv_parse_size(b, hi) == 0 : (*hi = UINT64_MAX, TRUE);
    }
    g_free(a);
    return ok && *hi >= *lo;
}

static gboolean reg_by_name(const char *v, int64_t *off)
{
    for (uint64_t o = 0; o < 0x1000; o += 4) {
        const char *n = dmtv_reg_name(o);
        if (n && !g_ascii_strcasecmp(n, v)) {
            *off = (int64_t)o;
            return TRUE;
        }
    }
    uint64_t x;
    if (dmtv_parse_size(v, &x) == 0) {
        *off = (int64_t)x;
        return TRUE;
    }
    return FALSE;
}

gboolean dmtv_query_parse(const char *s, DmtvQuery *q, GError **error)
{
    memset(q, 0, sizeof *q);
    q->dir = -1;
    char **tok = g_strsplit_set(s ? s : "", " \t", -1);
    GString *text = g_string_new(NULL);
    gboolean ok = TRUE;
    for (char **p = tok; *p && ok; p++) {
        const char *t = *p;
        if (!*t)
            continue;
        const char *colon = strchr(t, ':');
        if (!colon) {
            if (text->len)
                g_string_append_c(text, ' ');
            g_string_append(text, t);
            continue;
        }
        char *key = g_ascii_strdown(t, colon - t);
        const char *v = colon + 1;
        if (!strcmp(key, "addr")) {
            ok = q->has_addr = parse_range(v, &q->addr_lo, &q->addr_hi, FALSE);
        } else if (!strcmp(key, "reg")) {
            ok = q->has_reg = reg_by_name(v, &q->reg_off);
        } else if (!strcmp(key, "dir")) {
            if (!g_ascii_strcasecmp(v, "to") || !g_ascii_strcasecmp(v, "h2c") ||
                !g_ascii_strcasecmp(v, "write"))
                q->dir = 1;
            else if (!g_ascii_strcasecmp(v, "from") || !g_ascii_strcasecmp(v, "c2h") ||
                     !g_ascii_strcasecmp(v, "read"))
                q->dir = 0;
            else
                ok = FALSE;
        } else if (!strcmp(key, "len") || !strcmp(key, "length")) {
            ok = q->has_len = parse_range(v, &q->len_lo, &q->len_hi, TRUE);
        } else if (!strcmp(key, "finding") || !strcmp(key, "rule")) {
            g_strlcpy(q->finding, *v ? v : "*", sizeof q->finding);
        } else {
            if (text->len)
                g_string_append_c(text, ' ');
            g_string_append(text, t);
        }
        if (!ok)
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "cannot read \"%s\" (addr:LO-HI, reg:NAME|OFF, dir:to|from, "
                        "len:LO-HI, finding:RULE, or words)",
                        t);
        g_free(key);
    }
    g_strlcpy(q->text, text->str, sizeof q->text);
    g_string_free(text, TRUE);
    g_strfreev(tok);
    return ok;
}

gboolean dmtv_query_is_empty(const DmtvQuery *q)
{
    return !q->has_addr && !q->has_reg && q->dir < 0 && !q->has_len && !q->finding[0] &&
           !q->text[0];
}

static gboolean has_xfer_terms(const DmtvQuery *q)
{
    return q->has_addr || q->dir >= 0 || q->has_len || q->finding[0] || q->text[0];
}

static int cmp_hit(const void *a, const void *b)
{
    const DmtvHit *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void like_pattern(char *buf, size_t cap, const char *s)
{
    g_snprintf(buf, cap, "%%%s%%", s);
}

GArray *dmtv_model_find(DmtvModel *self, const DmtvQuery *q, guint max, gboolean *truncated)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), NULL);
    GArray *hits = g_array_new(FALSE, FALSE, sizeof(DmtvHit));
    if (truncated)
        *truncated = FALSE;
    if (dmtv_query_is_empty(q))
        return hits;
    char like_text[160], like_rule[64];
    like_pattern(like_text, sizeof like_text, q->text);
    like_pattern(like_rule, sizeof like_rule, strcmp(q->finding, "*") ? q->finding : "");

    if (has_xfer_terms(q) || !q->has_reg) {
        GString *sql = g_string_new("SELECT xfer, t_begin, coalesce(start_seq, exec_seq, 0) FROM "
                                    "transfers t WHERE 1");
        if (q->dir >= 0)
            g_string_append(sql, " AND write_to_device = ?1");
        if (q->has_len)
            g_string_append(sql, " AND coalesce(granted, requested) BETWEEN ?2 AND ?3");
        if (q->has_addr)
            g_string_append(sql, " AND sg_lo < ?5 AND sg_hi > ?4 AND EXISTS (SELECT 1 FROM "
                                 "sg_elements s WHERE s.id BETWEEN t.sg_first AND t.sg_first + "
                                 "t.n_sg - 1 AND s.addr < ?5 AND s.addr + s.length > ?4)");
        if (q->finding[0])
            g_string_append(sql, " AND xfer IN (SELECT xfer FROM findings WHERE rule LIKE ?6)");
        if (q->text[0])
            g_string_append(sql,
                            " AND (outcome LIKE ?7 OR CAST(xfer AS TEXT) = ?8 OR xfer IN "
                            "(SELECT xfer FROM findings WHERE message LIKE ?7 OR rule LIKE ?7))");
        g_string_append(sql, " ORDER BY t_begin LIMIT ?9");
        sqlite3_stmt *st = prep(self, sql->str);
        g_string_free(sql, TRUE);
        if (st) {
            sqlite3_bind_int(st, 1, q->dir);
            sqlite3_bind_int64(st, 2, (int64_t)MIN(q->len_lo, (uint64_t)INT64_MAX));
            sqlite3_bind_int64(st, 3, (int64_t)MIN(q->len_hi, (uint64_t)INT64_MAX));
            sqlite3_bind_int64(st, 4, (int64_t)q->addr_lo);
            sqlite3_bind_int64(st, 5, (int64_t)MIN(q->addr_hi, (uint64_t)INT64_MAX));
            sqlite3_bind_text(st, 6, like_rule, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 7, like_text, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 8, q->text, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 9, (int64_t)max + 1);
            while (sqlite3_step(st) == SQLITE_ROW) {
                DmtvHit h = {sqlite3_column_int64(st, 1), (uint64_t)sqlite3_column_int64(st, 2),
                             (uint32_t)sqlite3_column_int64(st, 0)};
                g_array_append_val(hits, h);
            }
        }
        sqlite3_finalize(st);
    }
    /* findings without a transfer, and markers, for finding kinds and words */
    if ((q->finding[0] || q->text[0]) && q->dir < 0 && !q->has_len && !q->has_addr) {
        for (size_t i = 0; i < self->trace.n_findings; i++) {
            const DmtvFinding *f = &self->trace.findings[i];
            if (f->xfer)
                continue;
            gboolean m = TRUE;
            if (q->finding[0] && strcmp(q->finding, "*"))
                m = strstr(f->rule, q->finding) != NULL;
            if (m && q->text[0])
                m = strstr(f->message, q->text) || strstr(f->rule, q->text);
            if (m) {
                DmtvHit h = {f->ts, f->seq, 0};
                g_array_append_val(hits, h);
            }
        }
        if (q->text[0] && !q->finding[0]) {
            sqlite3_stmt *st = prep(self, "SELECT seq, ts FROM markers WHERE text LIKE ?1 "
                                          "ORDER BY seq LIMIT ?2");
            if (st) {
                sqlite3_bind_text(st, 1, like_text, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, (int64_t)max + 1);
                while (sqlite3_step(st) == SQLITE_ROW) {
                    DmtvHit h = {sqlite3_column_int64(st, 1), (uint64_t)sqlite3_column_int64(st, 0),
                                 0};
                    g_array_append_val(hits, h);
                }
            }
            sqlite3_finalize(st);
        }
    }
    /* register writes */
    if (q->has_reg && !has_xfer_terms(q)) {
        sqlite3_stmt *st = prep(self, "SELECT seq, ts FROM reg_accesses WHERE off = ?1 AND "
                                      "is_write = 1 ORDER BY seq LIMIT ?2");
        if (st) {
            sqlite3_bind_int64(st, 1, q->reg_off);
            sqlite3_bind_int64(st, 2, (int64_t)max + 1);
            while (sqlite3_step(st) == SQLITE_ROW) {
                DmtvHit h = {sqlite3_column_int64(st, 1), (uint64_t)sqlite3_column_int64(st, 0), 0};
                g_array_append_val(hits, h);
            }
        }
        sqlite3_finalize(st);
    }
    g_array_sort(hits, cmp_hit);
    if (hits->len > max) {
        g_array_set_size(hits, max);
        if (truncated)
            *truncated = TRUE;
    }
    return hits;
}

void dmtv_model_set_filter(DmtvModel *self, const DmtvQuery *q)
{
    g_return_if_fail(DMTV_IS_MODEL(self));
    g_clear_pointer(&self->filter, g_hash_table_unref);
    if (q && !dmtv_query_is_empty(q)) {
        self->filter = g_hash_table_new(g_direct_hash, g_direct_equal);
        GArray *h = dmtv_model_find(self, q, 1000000, NULL);
        for (guint i = 0; i < h->len; i++) {
            const DmtvHit *x = &g_array_index(h, DmtvHit, i);
            if (x->xfer)
                g_hash_table_add(self->filter, GUINT_TO_POINTER(x->xfer));
        }
        g_array_unref(h);
    }
    self->frame_valid = FALSE;
    /* fetches asked for before now carry the old filter: drop their frames */
    pthread_mutex_lock(&self->lock);
    self->min_gen = self->gen_next + 1;
    pthread_mutex_unlock(&self->lock);
}

gboolean dmtv_model_has_filter(DmtvModel *self)
{
    return self->filter != NULL;
}

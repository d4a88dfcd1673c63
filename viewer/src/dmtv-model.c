/*
 * dmtv-model.c - DmtvModel: a dmatrace store opened read-only through the
 * store library (dmt/store_query.h; the viewer holds no SQL), its static
 * facts (time index, lanes and their labels, adapters, lost ranges,
 * findings), transfer details and find (see dmtv-model.h).  Frames and the
 * fetch worker are dmtv-model-frames.c.
 */
#define G_LOG_DOMAIN "dmtv-model"

#include <inttypes.h>
#include <string.h>

#include "dmtv-model-private.h"
#include "dmtv-regnames.h"
#include "dmtv-units.h"

#define MAX_LANES    16384
#define MAX_LOST     100000
#define MAX_FINDINGS 200000
#define MAX_TIME_IDX (8u << 20)
#define MAX_ADAPTERS 4096
#define MAX_SG       4096
#define LOST_EXACT   512 /* lost rows whose start time is looked up exactly */

G_DEFINE_FINAL_TYPE(DmtvModel, dmtv_model, G_TYPE_OBJECT)

G_DEFINE_QUARK(dmtv - model - error - quark, dmtv_model_error)

static void dmtv_model_finalize(GObject *object)
{
    DmtvModel *self = DMTV_MODEL(object);
    dmtv_model_frames_free(self);
    dmt_store_close(self->st);
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
    g_signal_new("frame-ready", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                 G_TYPE_NONE, 0);
}

static void dmtv_model_init(DmtvModel *self)
{
    self->reg_lane = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    self->other_lane = g_hash_table_new(g_direct_hash, g_direct_equal);
    self->irq_lane = g_hash_table_new(g_direct_hash, g_direct_equal);
    self->xfer_lane = g_hash_table_new(g_direct_hash, g_direct_equal);
    self->markers_lane = -1;
    dmtv_model_frames_init(self);
}

/* A store error of a query after open: the viewer goes on with what it has. */
static void warn(DmtvModel *self, const dmt_error *err)
{
    g_warning("%s: %s", self->path, err->msg);
}

/* ---- open --------------------------------------------------------------------- */

static void lane_labels(DmtvModel *self, DmtvLane *l)
{
    switch (l->kind) {
    case DMT_LANE_TRANSFERS: {
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
    case DMT_LANE_REGISTER: {
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
    case DMT_LANE_INTERRUPTS:
        g_snprintf(l->label, sizeof l->label, "dev%" PRId64 " IRQ / DPC", l->dev);
        break;
    case DMT_LANE_LOST:
        g_strlcpy(l->label, "lost records", sizeof l->label);
        break;
    case DMT_LANE_MARKERS:
        g_strlcpy(l->label, "markers", sizeof l->label);
        break;
    case DMT_LANE_FINDINGS:
        g_strlcpy(l->label, "audit findings", sizeof l->label);
        break;
    default:
        g_strlcpy(l->label, l->name, sizeof l->label);
    }
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
    if (x->kind == DMT_LANE_TRANSFERS && x->adapter != y->adapter)
        return x->adapter < y->adapter ? -1 : 1;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->kind == DMT_LANE_REGISTER && x->off != y->off) {
        /* the "other" lane (off -1) last */
        uint64_t a1 = (uint64_t)x->off, b1 = (uint64_t)y->off;
        return a1 < b1 ? -1 : 1;
    }
    return x->id < y->id ? -1 : x->id > y->id;
}

static gboolean load_lanes(DmtvModel *self, GError **error)
{
    dmt_store_lane *sl = g_new0(dmt_store_lane, MAX_LANES);
    dmt_error err;
    int n = dmt_store_lanes(self->st, sl, MAX_LANES, &err);
    if (n < 0) {
        g_free(sl);
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_FORMAT,
                    "%s: damaged dmatrace database (lanes): %s", self->path, err.msg);
        return FALSE;
    }
    GArray *a = g_array_new(FALSE, TRUE, sizeof(DmtvLane));
    for (int i = 0; i < MIN(n, MAX_LANES); i++) {
        if (!sl[i].kind)
            continue; /* a lane kind of a newer schema: not drawn */
        DmtvLane l = {.id = sl[i].lane,
                      .kind = sl[i].kind,
                      .dev = sl[i].dev,
                      .adapter = sl[i].adapter,
                      .off = sl[i].off};
        g_strlcpy(l.name, sl[i].name, sizeof l.name);
        g_array_append_val(a, l);
    }
    g_free(sl);
    /* a store always has a findings lane; make sure the viewer has one */
    gboolean has_findings = FALSE, has_lost = FALSE;
    for (guint i = 0; i < a->len; i++) {
        has_findings |= g_array_index(a, DmtvLane, i).kind == DMT_LANE_FINDINGS;
        has_lost |= g_array_index(a, DmtvLane, i).kind == DMT_LANE_LOST;
    }
    if (!has_findings) {
        DmtvLane l = {.id = -1, .kind = DMT_LANE_FINDINGS, .dev = -1, .adapter = -1, .off = -1};
        g_strlcpy(l.name, "findings", sizeof l.name);
        g_array_append_val(a, l);
    }
    if (!has_lost && self->trace.n_lost) {
        DmtvLane l = {.id = -2, .kind = DMT_LANE_LOST, .dev = -1, .adapter = -1, .off = -1};
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
        case DMT_LANE_TRANSFERS:
            g_hash_table_insert(self->xfer_lane, GINT_TO_POINTER((int)l->adapter), v);
            break;
        case DMT_LANE_REGISTER:
            if (l->off >= 0) {
                int64_t *k = g_new(int64_t, 1); /* freed by the table */
                *k = dmtv_model_reg_key(l->dev, l->off);
                g_hash_table_insert(self->reg_lane, k, v);
            } else {
                g_hash_table_insert(self->other_lane, GINT_TO_POINTER((int)l->dev), v);
            }
            break;
        case DMT_LANE_INTERRUPTS:
            g_hash_table_insert(self->irq_lane, GINT_TO_POINTER((int)l->dev), v);
            break;
        case DMT_LANE_MARKERS:
            self->markers_lane = (gssize)i;
            break;
        default:
            break;
        }
    }
    return TRUE;
}

static int adapter_cb(void *arg, const dmt_store_adapter *s)
{
    GArray *a = arg;
    DmtvAdapter d = {s->adapter, s->dev,        s->scatter_gather, s->dma32,
                     s->dma64,   s->max_length, s->map_registers,  s->addr_limit};
    g_array_append_val(a, d);
    return a->len >= MAX_ADAPTERS;
}

static void load_adapters(DmtvModel *self)
{
    GArray *a = g_array_new(FALSE, TRUE, sizeof(DmtvAdapter));
    dmt_error err;
    if (dmt_store_adapters(self->st, adapter_cb, a, &err) < 0)
        warn(self, &err);
    self->trace.n_adapters = a->len;
    self->trace.adapters = (DmtvAdapter *)g_array_free(a, FALSE);
}

static int lost_cb(void *arg, const dmt_store_lost *s)
{
    GArray *a = arg;
    DmtvLost l = {s->ts, s->ts, s->first_seq, s->count, s->reason};
    g_array_append_val(a, l);
    return a->len >= MAX_LOST;
}

static void load_lost(DmtvModel *self)
{
    GArray *a = g_array_new(FALSE, TRUE, sizeof(DmtvLost));
    dmt_error err;
    if (dmt_store_lost_ranges(self->st, lost_cb, a, &err) < 0)
        warn(self, &err);
    /* the shaded range starts at the record before the loss */
    for (guint i = 0; i < a->len && i < LOST_EXACT; i++) {
        DmtvLost *l = &g_array_index(a, DmtvLost, i);
        int64_t t = l->t1;
        if (dmt_store_ts_before(self->st, l->first_seq, &t, &err) < 0)
            warn(self, &err);
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

typedef struct {
    DmtvModel *self;
    GArray *a;
} FindingLoad;

static int finding_cb(void *arg, const dmt_store_finding *s)
{
    DmtvModel *self = ((FindingLoad *)arg)->self;
    GArray *a = ((FindingLoad *)arg)->a;
    DmtvFinding f = {0};
    f.id = s->id;
    f.ts = s->has_ts ? s->ts : self->trace.t_first;
    f.seq = s->has_seq ? s->seq : UINT64_MAX;
    f.xfer = s->xfer;
    f.adapter = s->adapter;
    f.severity = severity_of(s->severity);
    f.uncertain = s->uncertain;
    g_strlcpy(f.rule, s->rule[0] ? s->rule : "?", sizeof f.rule);
    f.message = g_strdup(s->message);
    g_array_append_val(a, f);
    return a->len >= MAX_FINDINGS;
}

static void load_findings(DmtvModel *self)
{
    /* a finding without ts takes its transfer's begin, else the trace start */
    FindingLoad fl = {self, g_array_new(FALSE, TRUE, sizeof(DmtvFinding))};
    GArray *a = fl.a;
    dmt_error err;
    if (dmt_store_findings(self->st, finding_cb, &fl, &err) < 0)
        warn(self, &err);
    if (a->len)
        qsort(a->data, a->len, sizeof(DmtvFinding), cmp_finding);
    self->trace.n_findings = a->len;
    self->trace.findings = (DmtvFinding *)g_array_free(a, FALSE);
}

static int time_block_cb(void *arg, const dmt_store_time_block *s)
{
    GArray *a = arg;
    TimeBlock b = {(int64_t)s->first_seq, (int64_t)s->last_seq, s->ts_min, s->ts_max,
                   (int64_t)s->records};
    g_array_append_val(a, b);
    return a->len >= MAX_TIME_IDX;
}

static void load_time_index(DmtvModel *self)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(TimeBlock));
    dmt_error err;
    if (dmt_store_time_index(self->st, time_block_cb, a, &err) < 0)
        warn(self, &err);
    self->n_blocks = a->len;
    self->blocks = (TimeBlock *)g_array_free(a, FALSE);
    int64_t recs = 0;
    for (size_t i = 0; i < self->n_blocks; i++)
        recs += self->blocks[i].records;
    self->trace.records = (uint64_t)recs;
}

/* The model's error for a store that does not open. */
static int open_error_code(int rc)
{
    switch (rc) {
    case DMT_E_FOREIGN:
        return DMTV_MODEL_ERROR_FOREIGN;
    case DMT_E_VERSION:
        return DMTV_MODEL_ERROR_VERSION;
    case DMT_E_FORMAT:
    case DMT_E_TRUNCATED:
        return DMTV_MODEL_ERROR_FORMAT;
    default:
        return DMTV_MODEL_ERROR_IO;
    }
}

DmtvModel *dmtv_model_open(const char *db_path, GError **error)
{
    return dmtv_model_open_in(db_path, NULL, error);
}

DmtvModel *dmtv_model_open_in(const char *db_path, GMainContext *ctx, GError **error)
{
    g_return_val_if_fail(db_path != NULL, NULL);
    if (!g_file_test(db_path, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_IO, "%s: no such file", db_path);
        return NULL;
    }
    DmtvModel *self = g_object_new(DMTV_TYPE_MODEL, NULL);
    self->path = g_strdup(db_path);
    if (ctx)
        self->ctx = g_main_context_ref(ctx);
    dmt_error err;
    int rc = dmt_store_open(db_path, DMT_STORE_RDONLY | DMT_STORE_INTERACTIVE, &self->st, &err);
    if (rc) {
        g_set_error(error, DMTV_MODEL_ERROR, open_error_code(rc), "%s: %s", db_path, err.msg);
        g_object_unref(self);
        return NULL;
    }
    char *base = g_path_get_basename(db_path);
    g_strlcpy(self->trace.title, base, sizeof self->trace.title);
    g_free(base);

    int64_t v;
    load_time_index(self);
    self->trace.t_first = 0;
    self->trace.t_last = 0;
    if (dmt_store_meta_int(self->st, "first_ts", &v, &err) == 1)
        self->trace.t_first = v;
    else if (self->n_blocks)
        self->trace.t_first = self->blocks[0].ts_min;
    if (dmt_store_meta_int(self->st, "last_ts", &v, &err) == 1)
        self->trace.t_last = v;
    else if (self->n_blocks)
        self->trace.t_last = self->blocks[self->n_blocks - 1].ts_max;
    if (self->trace.t_last < self->trace.t_first)
        self->trace.t_last = self->trace.t_first;
    self->trace.n_cpus = 0;
    if (dmt_store_meta_int(self->st, "cpu_max", &v, &err) == 1 && v >= 0 && v < DMTV_CPU_NONE)
        self->trace.n_cpus = (uint32_t)v + 1;
    uint64_t cut_at = 0;
    if (dmt_store_cut(self->st, &self->trace.cut, &cut_at, NULL, 0, &err) != 0)
        self->trace.cut = false;
    self->max_transfer_ns = dmt_store_max_transfer_ns(self->st);
    self->min_level = MIN(dmt_store_summary_min_level(self->st), 7);

    load_adapters(self);
    load_lost(self);
    if (!load_lanes(self, error)) {
        g_object_unref(self);
        return NULL;
    }
    load_findings(self);
    if (!dmtv_model_frames_start(self, error)) {
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

/* ---- transfers ------------------------------------------------------------------- */

static void transfer_of(const dmt_store_transfer *s, DmtvTransfer *t)
{
#define SEQ(x)    ((x) == DMT_STORE_NONE ? -1 : (int64_t)(x))
#define TS(x, ts) ((x) == DMT_STORE_NONE ? INT64_MIN : (ts))
    memset(t, 0, sizeof *t);
    t->xfer = s->xfer;
    t->adapter = s->has_adapter ? s->adapter : 0;
    t->mdl = s->mdl;
    t->offset = s->offset;
    t->requested = s->requested;
    t->has_granted = s->exec_seq != DMT_STORE_NONE;
    t->granted = s->granted;
    t->to_device = s->write_to_device;
    t->context = s->context;
    t->start_seq = SEQ(s->start_seq);
    t->start_ts = TS(s->start_seq, s->start_ts);
    t->exec_seq = SEQ(s->exec_seq);
    t->exec_ts = TS(s->exec_seq, s->exec_ts);
    t->end_seq = SEQ(s->end_seq);
    t->end_ts = TS(s->end_seq, s->end_ts);
    t->has_end = s->end_seq != DMT_STORE_NONE;
    t->end_status = s->end_status;
    t->end_length = s->end_length;
    t->complete_seq = SEQ(s->complete_seq);
    t->complete_ts = TS(s->complete_seq, s->complete_ts);
    t->complete_status = s->complete_status;
    t->complete_count = s->complete_count;
    t->irq_seq = SEQ(s->interrupt_seq);
    t->irq_ts = TS(s->interrupt_seq, s->interrupt_ts);
    t->dpc_seq = SEQ(s->dpc_seq);
    t->dpc_ts = TS(s->dpc_seq, s->dpc_ts);
#undef SEQ
#undef TS
    t->n_sg = s->n_sg;
    t->sg_bytes = s->sg_bytes;
    t->sg_lo = s->sg_lo;
    t->sg_hi = s->sg_hi;
    t->sg_first = s->exec_seq != DMT_STORE_NONE && s->n_sg ? (int64_t)s->sg_first : -1;
    t->has_digest = s->has_digest;
    t->digest = s->digest;
    t->digest_algo = s->digest_algo;
    t->digest_len = s->digest_len;
    t->truncated = s->truncated;
    t->bounce_known = s->bounce_known;
    t->bounced = s->bounced;
    g_strlcpy(t->outcome, s->outcome[0] ? s->outcome : "?", sizeof t->outcome);
    t->t_begin = s->t_begin;
    t->t_end = s->t_end;
    t->duration_ns = s->has_duration ? s->duration_ns : -1;
}

gboolean dmtv_model_expand_lane(DmtvModel *self, size_t lane, gboolean expand)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), FALSE);
    if (lane >= self->trace.n_lanes)
        return FALSE;
    DmtvLane *l = &self->trace.lanes[lane];
    if (l->kind != DMT_LANE_REGISTER || l->off < 0)
        return FALSE;
    l->n_fields =
        expand ? (uint8_t)dmtv_reg_fields((uint64_t)l->off, l->fields, DMTV_MAX_FIELD_LANES) : 0;
    return TRUE;
}

void dmtv_model_relabel(DmtvModel *self)
{
    g_return_if_fail(DMTV_IS_MODEL(self));
    for (size_t i = 0; i < self->trace.n_lanes; i++) {
        DmtvLane *l = &self->trace.lanes[i];
        l->n_fields = 0; /* the fields were the old map's */
        l->label[0] = l->sub[0] = 0;
        lane_labels(self, l);
    }
    dmtv_model_invalidate(self);
}

gssize dmtv_model_expand_register(DmtvModel *self, const char *name, gboolean expand)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), -1);
    gssize first = -1;
    for (size_t i = 0; i < self->trace.n_lanes; i++)
        if (self->trace.lanes[i].kind == DMT_LANE_REGISTER &&
            !g_ascii_strcasecmp(self->trace.lanes[i].label, name) &&
            dmtv_model_expand_lane(self, i, expand) && first < 0)
            first = (gssize)i;
    return first;
}

gboolean dmtv_model_get_transfer(DmtvModel *self, uint32_t xfer, DmtvTransfer *out)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), FALSE);
    dmt_store_transfer t;
    dmt_error err;
    int rc = dmt_store_transfer_get(self->st, xfer, &t, &err);
    if (rc < 0)
        warn(self, &err);
    if (rc != 1)
        return FALSE;
    transfer_of(&t, out);
    return TRUE;
}

DmtvSgElem *dmtv_model_transfer_sg(DmtvModel *self, uint32_t xfer, guint *n)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), NULL);
    *n = 0;
    DmtvTransfer t;
    if (!dmtv_model_get_transfer(self, xfer, &t) || t.sg_first < 0 || t.n_sg == 0)
        return NULL;
    guint cap = MIN(t.n_sg, MAX_SG);
    dmt_sg_elem *sg = g_new(dmt_sg_elem, cap);
    dmt_error err;
    int got = dmt_store_transfer_sg(self->st, xfer, sg, cap, &err);
    if (got < 0)
        warn(self, &err);
    DmtvSgElem *v = g_new0(DmtvSgElem, cap);
    for (guint i = 0; got > 0 && i < cap && i < (guint)got; i++) {
        v[i].addr = sg[i].addr;
        v[i].len = sg[i].len;
        (*n)++;
    }
    g_free(sg);
    return v;
}

typedef struct {
    int64_t t;
    uint32_t best;
    int64_t best_d;
    int rows;
} NearestXfer;

static int nearest_cb(void *arg, const dmt_store_transfer *x)
{
    NearestXfer *c = arg;
    int64_t d = c->t < x->t_begin ? x->t_begin - c->t : c->t > x->t_end ? c->t - x->t_end : 0;
    /* prefer the span that contains t, then the nearest, then the later */
    if (d <= c->best_d) {
        c->best_d = d;
        c->best = x->xfer;
    }
    return ++c->rows >= 4096;
}

uint32_t dmtv_model_transfer_at(DmtvModel *self, size_t lane, int64_t t, int64_t tol)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), 0);
    if (lane >= self->trace.n_lanes || self->trace.lanes[lane].kind != DMT_LANE_TRANSFERS)
        return 0;
    if (self->trace.lanes[lane].adapter < 0) /* the shared lane: no adapter to ask for */
        return 0;
    NearestXfer c = {t, 0, INT64_MAX, 0};
    dmt_error err;
    if (dmt_store_transfers(self->st, self->trace.lanes[lane].adapter, t - tol, t + tol, nearest_cb,
                            &c, &err) < 0)
        warn(self, &err);
    return c.best;
}

typedef struct {
    GArray *a;
    guint max;
} XferList;

static int xfer_list_cb(void *arg, const dmt_store_transfer *x)
{
    XferList *c = arg;
    DmtvTransfer t;
    transfer_of(x, &t);
    g_array_append_val(c->a, t);
    return c->a->len >= c->max;
}

GArray *dmtv_model_transfers_in(DmtvModel *self, int64_t t0, int64_t t1, guint max)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), NULL);
    XferList c = {g_array_new(FALSE, FALSE, sizeof(DmtvTransfer)), max};
    dmt_error err;
    if (max && dmt_store_transfers(self->st, -1, t0, t1, xfer_list_cb, &c, &err) < 0)
        warn(self, &err);
    return c.a;
}

/* Lines of the details text for the records a transfer's time span holds. */
typedef struct {
    GString *s;
    int64_t dev; /* register writes of this device only (-1: any) */
    int k;       /* lines so far */
} DuringXfer;

static int reg_write_line(void *arg, const dmt_store_event *e)
{
    DuringXfer *w = arg;
    if (e->kind != DMT_K_REG_WRITE || (w->dev >= 0 && e->dev != (uint64_t)w->dev))
        return 0;
    if (++w->k > 40) {
        g_string_append(w->s, "  ...\n");
        return 1;
    }
    /* every write decoded by the register map: name, value, fields */
    const char *dec = dmtv_reg_decode(e->off, e->value);
    if (dec)
        g_string_append_printf(w->s, "  #%-10" PRId64 " dev%" PRId64 " %s\n", (int64_t)e->seq,
                               (int64_t)e->dev, dec);
    else
        g_string_append_printf(
            w->s, "  #%-10" PRId64 " dev%" PRId64 " +0x%03" PRIx64 " = 0x%08" PRIx64 "\n",
            (int64_t)e->seq, (int64_t)e->dev, e->off, e->value);
    return 0;
}

static int desc_write_line(void *arg, const dmt_store_event *e)
{
    DuringXfer *w = arg;
    if (++w->k > 16) {
        g_string_append(w->s, "  ...\n");
        return 1;
    }
    char hex[33];
    size_t n = MIN(e->len, 16);
    for (size_t i = 0; i < n; i++)
        g_snprintf(hex + 2 * i, 3, "%02X", e->data[i]);
    hex[2 * n] = 0;
    g_string_append_printf(
        w->s, "  #%-10" PRId64 " cb %" PRId64 " +%" PRId64 "  %" PRId64 " bytes  %s%s\n",
        (int64_t)e->seq, (int64_t)e->dev, (int64_t)e->off, (int64_t)e->len, hex,
        e->len > 16 ? "..." : "");
    return 0;
}

static void append_time(GString *s, DmtvModel *self, const char *what, int64_t seq, int64_t ts)
{
    if (seq < 0) {
        g_string_append_printf(s, "  %-14s -\n", what);
        return;
    }
    char t[64], on[24] = "";
    dmtv_format_cursor(t, sizeof t, ts - self->trace.t_first);
    uint32_t cpu;
    dmt_error err;
    if (self->trace.n_cpus && dmt_store_record_cpu(self->st, (uint64_t)seq, &cpu, &err) == 1)
        g_snprintf(on, sizeof on, "   CPU %u", cpu);
    g_string_append_printf(s, "  %-14s %s   #%" PRId64 "%s\n", what, t, seq, on);
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
    g_string_append(s, self->trace.n_cpus
                           ? "\nTimeline (time since trace start, record index, CPU)\n"
                           : "\nTimeline (time since trace start, record index)\n");
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
        DuringXfer w = {s, ad ? ad->dev : -1, 0};
        dmt_error err;
        if (dmt_store_events(self->st, DMT_STORE_EV_REGISTERS, (uint64_t)b0, (uint64_t)e, INT64_MIN,
                             INT64_MAX, reg_write_line, &w, &err) < 0)
            warn(self, &err);
        if (!w.k)
            g_string_append(s, "  none\n");
        g_string_append(s, "\nDescriptor writes during the transfer\n");
        w.k = 0;
        if (dmt_store_events(self->st, DMT_STORE_EV_DESC_WRITES, (uint64_t)b0, (uint64_t)e,
                             INT64_MIN, INT64_MAX, desc_write_line, &w, &err) < 0)
            warn(self, &err);
        if (!w.k)
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
            char *q = g_shell_quote(self->path), on[24] = "";
            uint32_t cpu;
            dmt_error err;
            if (self->trace.n_cpus && dmt_store_record_cpu(self->st, f->seq, &cpu, &err) == 1)
                g_snprintf(on, sizeof on, ", made on CPU %u", cpu);
            g_string_append_printf(
                s, "  record #%" PRIu64 "%s\n  dmatrace dump %s --from %" PRIu64 " --count 1\n",
                f->seq, on, q, f->seq);
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

/* "NAME.FIELD" (after reg_by_name failed on the whole): the register and
 * the field's bits. */
static gboolean field_by_name(const char *v, DmtvQuery *q)
{
    const char *dot = strrchr(v, '.');
    if (!dot || dot == v)
        return FALSE;
    char *reg = g_strndup(v, (gsize)(dot - v));
    gboolean ok = reg_by_name(reg, &q->reg_off);
    g_free(reg);
    DmtvFieldLane f[DMTV_MAX_FIELD_LANES];
    unsigned n = ok ? dmtv_reg_fields((uint64_t)q->reg_off, f, DMTV_MAX_FIELD_LANES) : 0;
    for (unsigned k = 0; k < n; k++) {
        if (g_ascii_strcasecmp(f[k].name, dot + 1))
            continue;
        unsigned bits = f[k].high - f[k].low + 1u;
        q->f_shift = f[k].low;
        q->f_mask = bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
        q->has_field = TRUE;
        q->f_op = 'c';
        q->f_index = k;
        return TRUE;
    }
    return FALSE;
}

/* A register term: NAME, OFFSET, NAME.FIELD, or NAME.FIELD OP VALUE. */
static gboolean reg_term(const char *v, gboolean changes, DmtvQuery *q)
{
    const char *op = strpbrk(v, "!=<>");
    char *name = op ? g_strndup(v, (gsize)(op - v)) : g_strdup(v);
    gboolean ok = !changes && !op && reg_by_name(name, &q->reg_off);
    if (!ok)
        ok = field_by_name(name, q) && (op != NULL) != changes;
    g_free(name);
    if (!ok || !op)
        return ok;
    const char *val = op + 1;
    if (op[0] == '!' && op[1] == '=')
        val++;
    else if (op[0] == '=' && op[1] == '=')
        val++;
    else if (op[0] == '!')
        return FALSE;
    q->f_op = op[0];
    uint64_t x;
    if (dmtv_parse_size(val, &x) == 0) {
        q->f_val = x;
        return TRUE;
    }
    /* an enum value by name: the field's values as the map shows them */
    char t[48];
    for (uint64_t i = 0; i <= q->f_mask && i < 4096; i++)
        if (dmtv_reg_field_text((uint64_t)q->reg_off, i << q->f_shift, q->f_index, t, sizeof t) &&
            !g_ascii_strcasecmp(t, val)) {
            q->f_val = i;
            return TRUE;
        }
    return FALSE;
}

gboolean dmtv_query_parse(const char *s, DmtvQuery *q, GError **error)
{
    memset(q, 0, sizeof *q);
    q->dir = -1;
    /* "A != 0" is one term: drop blanks around comparison operators */
    GString *norm = g_string_new(NULL);
    for (const char *c = s ? s : ""; *c; c++) {
        if (*c == ' ' || *c == '\t') {
            const char *n = c;
            while (*n == ' ' || *n == '\t')
                n++;
            gboolean before_op = *n && strchr("!=<>", *n);
            gboolean after_op = norm->len && strchr("!=<>", norm->str[norm->len - 1]);
            if (before_op || after_op) {
                c = n - 1;
                continue;
            }
        }
        g_string_append_c(norm, *c);
    }
    char **tok = g_strsplit_set(norm->str, " \t", -1);
    g_string_free(norm, TRUE);
    GString *text = g_string_new(NULL);
    gboolean ok = TRUE;
    for (char **p = tok; *p && ok; p++) {
        const char *t = *p;
        if (!*t)
            continue;
        const char *colon = strchr(t, ':');
        if (!colon && strpbrk(t, "!=<>")) { /* NAME.FIELD OP VALUE without reg: */
            DmtvQuery r = *q;
            if (reg_term(t, FALSE, &r)) {
                *q = r;
                q->has_reg = TRUE;
                continue;
            }
        }
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
        } else if (!strcmp(key, "reg") || !strcmp(key, "changes")) {
            ok = q->has_reg = reg_term(v, key[0] == 'c', q);
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
                        "cannot read \"%s\" (addr:LO-HI, reg:NAME|OFF|NAME.FIELD!=V, "
                        "changes:NAME.FIELD, dir:to|from, "
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

static int add_hit(void *arg, const dmt_store_hit *h)
{
    DmtvHit x = {h->ts, h->seq, h->xfer};
    g_array_append_val((GArray *)arg, x);
    return 0;
}

static int cmp_hit(const void *a, const void *b)
{
    const DmtvHit *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

GArray *dmtv_model_find(DmtvModel *self, const DmtvQuery *q, guint max, gboolean *truncated)
{
    g_return_val_if_fail(DMTV_IS_MODEL(self), NULL);
    GArray *hits = g_array_new(FALSE, FALSE, sizeof(DmtvHit));
    if (truncated)
        *truncated = FALSE;
    if (dmtv_query_is_empty(q))
        return hits;
    guint64 limit = (guint64)max + 1;
    dmt_error err;
    if (has_xfer_terms(q) || !q->has_reg) {
        dmt_store_xfer_query x = {.dir = q->dir,
                                  .has_len = q->has_len,
                                  .len_lo = q->len_lo,
                                  .len_hi = q->len_hi,
                                  .has_addr = q->has_addr,
                                  .addr_lo = q->addr_lo,
                                  .addr_hi = q->addr_hi,
                                  .rule = !q->finding[0]            ? NULL
                                          : strcmp(q->finding, "*") ? q->finding
                                                                    : "",
                                  .text = q->text[0] ? q->text : NULL};
        if (dmt_store_find_transfers(self->st, &x, limit, add_hit, hits, &err) < 0)
            warn(self, &err);
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
        if (q->text[0] && !q->finding[0] &&
            dmt_store_find_markers(self->st, q->text, limit, add_hit, hits, &err) < 0)
            warn(self, &err);
    }
    /* register writes */
    if (q->has_reg && !has_xfer_terms(q) &&
        (q->has_field
             ? dmt_store_find_reg_field(self->st, (uint64_t)q->reg_off, q->f_shift, q->f_mask,
                                        q->f_op, q->f_val, limit, add_hit, hits, &err)
             : dmt_store_find_reg_writes(self->st, (uint64_t)q->reg_off, limit, add_hit, hits,
                                         &err)) < 0)
        warn(self, &err);
    g_array_sort(hits, cmp_hit);
    if (hits->len > max) {
        g_array_set_size(hits, max);
        if (truncated)
            *truncated = TRUE;
    }
    return hits;
}

/*
 * dmtv-model-frames.c - DmtvModel's frames: what the timeline draws for a
 * window, from the resident summary levels or fetched from the store by a
 * worker thread on its own dmt_store handle (see dmtv-model.h; the static
 * facts, details and find are dmtv-model.c).
 *
 * Level of detail.  A frame is chosen per window:
 *
 *   records in window (time_index, <= 4096-record blocks)
 *        |
 *        +-- <= DMTV_DETAIL_MAX_RECORDS -> level -1: exact rows
 *        |      transfers (dmt_store_transfers), registers, interrupts,
 *        |      DPCs and markers (dmt_store_events over the seq range)
 *        |
 *        '-- more -> level L = smallest with 2^(10+3L) ns >= 2 px
 *               summary buckets (dmt_store_buckets), so at most ~width
 *               rows per lane whatever the trace size.
 *
 * Invariants:
 *  1. A frame covers [t0, t1] wider than the visible window (a quarter window
 *     each side), so pans within it reuse it without a fetch.
 *  2. A detail frame is reused for any window it covers (zooming in never
 *     re-queries); a summary frame only at the same level.
 *  3. Frame arrays are sorted by time; spans by t_begin.
 *  4. Nothing is allocated from a count read from the file: every load has a
 *     hard cap (RESIDENT_MAX_ROWS, the exact-window record limit).
 *  5. Where the rows come from: stored levels that fit RESIDENT_MAX_ROWS are
 *     copied into memory at open (res[L], coarsest first) and frames at
 *     those levels are cut from memory on the caller's thread; exact frames
 *     and non-resident levels are built by the fetch worker on its own
 *     store handle.  Both give the same rows (same bucket ranges).
 */
#define G_LOG_DOMAIN "dmtv-model"

#include <string.h>

#include "dmtv-model-private.h"

/* Summary rows kept in memory (DmtvBin, 72 bytes each: ~216 MB at most).  A
 * 10 M-event trace has ~0.7 M rows over levels 3..7. */
#define RESIDENT_MAX_ROWS (3u << 20)
/* Rows dmtv_model_open loads before its first frame, coarsest level first
 * (levels 7..4 are ~0.1 M rows for 10 M events, ~1.1 M for 100 M, where
 * they took 1.7 s of a loaded machine; 7..5 ~0.15 M took 0.7 s); the
 * worker loads the finer levels. */
#define RESIDENT_OPEN_ROWS (64u << 10)

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
    unsigned shift = DMT_STORE_LEVEL_SHIFT(level);
    const ResLane *rl = g_atomic_pointer_get(&self->res[level]);
    for (size_t i = 0; i < self->trace.n_lanes; i++) {
        const DmtvLane *l = &self->trace.lanes[i];
        const ResLane *r = &rl[i];
        DmtvLaneData *d = &f->lanes[i];
        d->summary = TRUE;
        if (!r->n)
            continue;
        int64_t lo = f->t0;
        if (l->kind == DMT_LANE_TRANSFERS)
            lo -= self->max_transfer_ns;
        size_t a = bin_lower(r, shift, lo >> shift);
        size_t b = bin_lower(r, shift, (f->t1 >> shift) + 1);
        if (b > a) {
            d->bins = g_new(DmtvBin, b - a);
            for (size_t k = a; k < b; k++) {
                if (l->kind == DMT_LANE_TRANSFERS && r->bins[k].t_last < f->t0)
                    continue;
                d->bins[d->n_bins++] = r->bins[k];
            }
        }
        if (l->kind == DMT_LANE_REGISTER && a > 0 && r->bins[a - 1].has_vlast) {
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

/* A stored bucket as the drawing code takes it. */
static DmtvBin bin_of(const dmt_store_bucket *s)
{
    unsigned shift = DMT_STORE_LEVEL_SHIFT(s->level);
    DmtvBin b = {.b0 = s->bucket << shift,
                 .b1 = (s->bucket + 1) << shift,
                 .t_first = s->t_first,
                 .t_last = s->t_last,
                 .count = s->count,
                 .bytes = s->bytes,
                 .vmin = s->vmin,
                 .vmax = s->vmax,
                 .vlast = s->vlast,
                 .has_v = s->has_range,
                 .has_vlast = s->has_last};
    return b;
}

typedef struct {
    DmtvModel *self;
    GHashTable *by_id; /* lane id -> index + 1 */
    GArray **arr;      /* per lane */
    size_t rows;
    size_t budget; /* resident rows at most, this level's included */
    gboolean fits;
} ResidentLoad;

static int resident_bucket(void *arg, const dmt_store_bucket *s)
{
    ResidentLoad *r = arg;
    if (r->self->res_rows + ++r->rows > r->budget ||
        ((r->rows & 4095) == 0 && g_atomic_int_get(&r->self->stop))) {
        r->fits = FALSE; /* over budget, or the model is going away */
        return 1;
    }
    size_t li = GPOINTER_TO_SIZE(g_hash_table_lookup(r->by_id, &s->lane));
    if (!li)
        return 0;
    DmtvBin b = bin_of(s);
    if (!r->arr[li - 1])
        r->arr[li - 1] = g_array_new(FALSE, FALSE, sizeof(DmtvBin));
    g_array_append_val(r->arr[li - 1], b);
    return 0;
}

/* Load stored summary levels `from` down to `to` into memory, coarsest
 * first, while they fit in `budget` rows in all (a level that does not fit,
 * and the finer ones, stay in the store: the worker loads them within
 * RESIDENT_MAX_ROWS, or fetches their rows per window).
 * Each level is published with an atomic store once complete (open loads
 * the coarse levels, the worker the finest ones: the main thread may read
 * a level as soon as it appears). */
static void load_resident(DmtvModel *self, dmt_store *st, int from, int to, size_t budget)
{
    size_t nl = self->trace.n_lanes;
    GHashTable *by_id = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, NULL);
    for (size_t i = 0; i < nl; i++)
        g_hash_table_insert(by_id, &self->trace.lanes[i].id, GSIZE_TO_POINTER(i + 1));
    for (int L = from; L >= to && L >= self->min_level; L--) {
        ResidentLoad r = {self, by_id, g_new0(GArray *, MAX(nl, 1)), 0, budget, TRUE};
        dmt_error err;
        if (dmt_store_buckets(st, L, -1, INT64_MIN, INT64_MAX, resident_bucket, &r, &err) < 0) {
            g_warning("%s: %s", self->path, err.msg);
            r.fits = FALSE;
        }
        ResLane *rl = g_new0(ResLane, MAX(nl, 1));
        for (size_t i = 0; i < nl; i++) {
            if (!r.arr[i])
                continue;
            rl[i].n = r.arr[i]->len;
            rl[i].bins = (DmtvBin *)g_array_free(r.arr[i], FALSE);
        }
        g_free(r.arr);
        if (!r.fits) {
            resident_free(rl, nl);
            break;
        }
        self->res_rows += r.rows;
        g_atomic_pointer_set(&self->res[L], rl);
        g_atomic_int_set(&self->res_min, L);
    }
    g_hash_table_unref(by_id);
}

typedef struct {
    GArray *bins;
    int64_t t0; /* transfers lanes: buckets whose spans end before are dropped */
    gboolean xfers;
    uint64_t rows;
} SummaryLoad;

static int summary_bucket(void *arg, const dmt_store_bucket *s)
{
    SummaryLoad *r = arg;
    r->rows++;
    if (r->xfers && s->t_last < r->t0)
        return 0;
    DmtvBin b = bin_of(s);
    g_array_append_val(r->bins, b);
    return 0;
}

/* The register value before bucket k of a lane (the vlast of the stored
 * bucket before it at level). */
static void value_before(DmtvModel *self, dmt_store *st, DmtvLaneData *d, int level, int64_t id,
                         int64_t k)
{
    dmt_store_bucket b;
    dmt_error err;
    int rc = dmt_store_bucket_before(st, level, id, k, &b, &err);
    if (rc < 0)
        g_warning("%s: %s", self->path, err.msg);
    if (rc == 1 && b.has_last) {
        d->has_before = TRUE;
        d->before = b.vlast;
    }
}

/* Summary rows of a level that is not resident, from the store. */
static uint64_t load_summary(DmtvModel *self, dmt_store *st, DmtvFrame *f, int level)
{
    unsigned shift = DMT_STORE_LEVEL_SHIFT(level);
    uint64_t rows = 0;
    for (size_t i = 0; i < self->trace.n_lanes; i++) {
        const DmtvLane *l = &self->trace.lanes[i];
        DmtvLaneData *d = &f->lanes[i];
        d->summary = TRUE;
        if (l->id < 0)
            continue;
        int64_t lo = f->t0;
        if (l->kind == DMT_LANE_TRANSFERS)
            lo -= self->max_transfer_ns;
        SummaryLoad r = {g_array_new(FALSE, FALSE, sizeof(DmtvBin)), f->t0,
                         l->kind == DMT_LANE_TRANSFERS, 0};
        dmt_error err;
        if (dmt_store_buckets(st, level, l->id, lo >> shift, f->t1 >> shift, summary_bucket, &r,
                              &err) < 0)
            g_warning("%s: %s", self->path, err.msg);
        rows += r.rows;
        d->n_bins = r.bins->len;
        d->bins = (DmtvBin *)g_array_free(r.bins, FALSE);
        if (l->kind == DMT_LANE_REGISTER) {
            value_before(self, st, d, level, l->id, f->t0 >> shift);
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
    int64_t k = dmtv_model_reg_key(dev, off);
    gpointer v = g_hash_table_lookup(self->reg_lane, &k);
    if (!v)
        v = g_hash_table_lookup(self->other_lane, GINT_TO_POINTER((int)dev));
    return lane_data(f, v);
}

/* What load_detail collects, per lane. */
typedef struct {
    DmtvModel *self;
    DmtvFrame *f;
    GHashTable *filter; /* xfer set or NULL: marks matching spans */
    GArray **edges, **marks, **spans;
    GString *text;
    uint64_t rows;
} DetailLoad;

static GArray *lane_array(GArray **per_lane, size_t li, size_t elem)
{
    if (!per_lane[li])
        per_lane[li] = g_array_new(FALSE, FALSE, (guint)elem);
    return per_lane[li];
}

static int detail_span(void *arg, const dmt_store_transfer *t)
{
    DetailLoad *x = arg;
    x->rows++;
    int64_t adapter = t->has_adapter ? (int64_t)t->adapter : -1;
    DmtvLaneData *d =
        lane_data(x->f, g_hash_table_lookup(x->self->xfer_lane, GINT_TO_POINTER((int)adapter)));
    if (!d)
        return 0;
    DmtvSpan s = {0};
    s.xfer = t->xfer;
    s.to_device = t->write_to_device;
    s.requested = t->requested;
    s.granted = t->granted;
    s.n_sg = t->n_sg;
    s.truncated = t->truncated;
    s.outcome = (uint8_t)outcome_code(t->outcome);
    s.start_ts = t->start_seq != DMT_STORE_NONE ? t->start_ts : INT64_MIN;
    s.exec_ts = t->exec_seq != DMT_STORE_NONE ? t->exec_ts : INT64_MIN;
    s.complete_ts = t->complete_seq != DMT_STORE_NONE ? t->complete_ts : INT64_MIN;
    s.irq_ts = t->interrupt_seq != DMT_STORE_NONE ? t->interrupt_ts : INT64_MIN;
    s.dpc_ts = t->dpc_seq != DMT_STORE_NONE ? t->dpc_ts : INT64_MIN;
    s.t_begin = t->t_begin;
    s.t_end = t->t_end;
    s.bounced = t->bounced;
    s.exec_cpu = dmtv_cpu_of(t->exec_seq != DMT_STORE_NONE ? t->exec_cpu : DMT_CPU_NONE);
    s.match = x->filter && g_hash_table_contains(x->filter, GUINT_TO_POINTER(s.xfer));
    g_array_append_val(lane_array(x->spans, (size_t)(d - x->f->lanes), sizeof(DmtvSpan)), s);
    return 0;
}

static void add_edge(DetailLoad *x, int64_t dev, int64_t off, int64_t ts, uint64_t v, bool wr)
{
    DmtvLaneData *d = reg_lane(x->self, x->f, dev, off);
    if (!d)
        return;
    DmtvEdge e = {ts, v, (uint8_t)wr};
    g_array_append_val(lane_array(x->edges, (size_t)(d - x->f->lanes), sizeof(DmtvEdge)), e);
}

/* A marker's text as the frame keeps it: its first 200 characters. */
static void append_marker_text(GString *s, const uint8_t *t, size_t len)
{
    size_t n = 0, chars = 0;
    while (n < len && t[n]) {
        if ((t[n] & 0xC0) != 0x80 && ++chars > 200)
            break;
        n++;
    }
    g_string_append_len(s, (const char *)t, (gssize)n);
    g_string_append_c(s, 0);
}

static int detail_event(void *arg, const dmt_store_event *e)
{
    DetailLoad *x = arg;
    x->rows++;
    switch (e->kind) {
    case DMT_K_REG_READ:
    case DMT_K_REG_WRITE:
        add_edge(x, (int64_t)e->dev, (int64_t)e->off, e->ts, e->value, e->is_write);
        break;
    case DMT_K_REG_READ_BUF:
    case DMT_K_REG_WRITE_BUF: /* one value per register */
        for (uint32_t i = 0; i < e->count; i++)
            add_edge(x, (int64_t)e->dev, (int64_t)(e->off + i * e->width), e->ts,
                     dmt_store_event_value(e, i), e->is_write);
        break;
    case DMT_K_INTERRUPT:
    case DMT_K_DPC: {
        DmtvLaneData *d =
            lane_data(x->f, g_hash_table_lookup(x->self->irq_lane, GINT_TO_POINTER((int)e->dev)));
        if (!d)
            break;
        DmtvMark m = {.ts = e->ts, .cpu = dmtv_cpu_of(e->cpu)};
        m.kind = e->kind == DMT_K_DPC ? DMTV_MARK_DPC
                 : e->claimed         ? DMTV_MARK_IRQ
                                      : DMTV_MARK_IRQ_UNCLAIMED;
        g_array_append_val(lane_array(x->marks, (size_t)(d - x->f->lanes), sizeof(DmtvMark)), m);
        break;
    }
    case DMT_K_MARKER: {
        DmtvMark m = {.ts = e->ts,
                      .text = (uint32_t)x->text->len,
                      .cpu = DMTV_CPU_NONE,
                      .kind = DMTV_MARK_TEXT};
        append_marker_text(x->text, e->data, e->len);
        g_array_append_val(lane_array(x->marks, (size_t)x->self->markers_lane, sizeof(DmtvMark)),
                           m);
        break;
    }
    default:
        break;
    }
    return 0;
}

/* Exact events of [f->t0, f->t1]; `filter` (xfer set or NULL) marks matching spans. */
static uint64_t load_detail(DmtvModel *self, dmt_store *st, DmtvFrame *f, GHashTable *filter)
{
    size_t nl = self->trace.n_lanes;
    DetailLoad x = {self,
                    f,
                    filter,
                    g_new0(GArray *, MAX(nl, 1)),
                    g_new0(GArray *, MAX(nl, 1)),
                    g_new0(GArray *, MAX(nl, 1)),
                    g_string_new(NULL),
                    0};
    /* register lanes also need the accesses since the start of t0's bucket
     * at the finest stored level (the "before" value is the summary row
     * before that bucket) */
    unsigned bshift = DMT_STORE_LEVEL_SHIFT(self->min_level);
    int64_t t0 = f->t0 & ~(((int64_t)1 << bshift) - 1); /* floor; t0 may be negative */
    int64_t seq_lo, seq_hi;
    records_in(self, t0, f->t1, &seq_lo, &seq_hi);
    dmt_error err;
    if (dmt_store_transfers(st, -1, f->t0, f->t1, detail_span, &x, &err) < 0)
        g_warning("%s: %s", self->path, err.msg);
    if (seq_hi >= seq_lo) {
        unsigned marks = DMT_STORE_EV_INTERRUPTS | DMT_STORE_EV_DPCS;
        if (self->markers_lane >= 0)
            marks |= DMT_STORE_EV_MARKERS;
        if (dmt_store_events(st, DMT_STORE_EV_REGISTERS, (uint64_t)seq_lo, (uint64_t)seq_hi, t0,
                             f->t1, detail_event, &x, &err) < 0 ||
            dmt_store_events(st, marks, (uint64_t)seq_lo, (uint64_t)seq_hi, f->t0, f->t1,
                             detail_event, &x, &err) < 0)
            g_warning("%s: %s", self->path, err.msg);
    }

    for (size_t i = 0; i < nl; i++) {
        DmtvLaneData *d = &f->lanes[i];
        const DmtvLane *l = &self->trace.lanes[i];
        d->summary = FALSE;
        d->rows = 1;
        if (x.spans[i]) {
            d->n_spans = x.spans[i]->len;
            d->spans = (DmtvSpan *)g_array_free(x.spans[i], FALSE);
            assign_rows(d);
        }
        if (x.edges[i]) {
            d->n_edges = x.edges[i]->len;
            d->edges = (DmtvEdge *)g_array_free(x.edges[i], FALSE);
            qsort(d->edges, d->n_edges, sizeof(DmtvEdge), cmp_edge);
        }
        if (x.marks[i]) {
            d->n_marks = x.marks[i]->len;
            d->marks = (DmtvMark *)g_array_free(x.marks[i], FALSE);
            qsort(d->marks, d->n_marks, sizeof(DmtvMark), cmp_mark);
        }
        if (l->kind == DMT_LANE_REGISTER && l->id >= 0) {
            value_before(self, st, d, self->min_level, l->id, t0 >> bshift);
            x.rows++;
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
    g_free(x.edges);
    g_free(x.marks);
    g_free(x.spans);
    f->text_len = x.text->len;
    f->text = g_string_free(x.text, FALSE);
    return x.rows;
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

static DmtvFrame *build_frame(DmtvModel *self, dmt_store *st, const FetchReq *r)
{
    DmtvFrame *f = g_new0(DmtvFrame, 1);
    frame_init(self, f, r->t0, r->t1, r->level);
    f->rows_read =
        r->level >= 0 ? load_summary(self, st, f, r->level) : load_detail(self, st, f, r->filter);
    return f;
}

static gboolean notify_cb(gpointer user)
{
    DmtvModel *self = user;
    pthread_mutex_lock(&self->lock);
    g_clear_pointer(&self->notify, g_source_unref);
    pthread_mutex_unlock(&self->lock);
    g_signal_emit_by_name(self, "frame-ready");
    return G_SOURCE_REMOVE;
}

static gpointer worker_main(gpointer user)
{
    DmtvModel *self = user;
    /* the finer summary levels first, from the one open stopped at (it stops
     * at its smaller budget first; self->res_rows is the worker's now) */
    load_resident(self, self->wst, g_atomic_int_get(&self->res_min) - 1, 0, RESIDENT_MAX_ROWS);
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

        DmtvFrame *f = build_frame(self, self->wst, &r);
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
    dmt_error err;
    if (dmt_store_open(self->path, DMT_STORE_RDONLY | DMT_STORE_INTERACTIVE, &self->wst, &err)) {
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_IO,
                    "%s: cannot open a second connection: %s", self->path, err.msg);
        return FALSE;
    }
    if (!self->ctx) /* dmtv_model_open_in sets it */
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

/* ---- start and end ------------------------------------------------------------- */

void dmtv_model_frames_init(DmtvModel *self)
{
    self->res_min = 8;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->cond, NULL);
}

gboolean dmtv_model_frames_start(DmtvModel *self, GError **error)
{
    /* the coarse levels now (at most RESIDENT_OPEN_ROWS: tens of ms), the
     * finer ones (most of the rows) by the worker before its first fetch */
    load_resident(self, self->st, 7, 4, RESIDENT_OPEN_ROWS);
    return start_worker(self, error);
}

void dmtv_model_frames_free(DmtvModel *self)
{
    stop_worker(self);
    dmt_store_close(self->wst);
    self->wst = NULL;
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->cond);
    frame_clear(&self->frame);
    frame_clear(&self->approx);
    for (int L = 0; L < 8; L++)
        resident_free(self->res[L], self->trace.n_lanes);
}

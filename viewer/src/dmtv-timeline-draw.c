/*
 * dmtv-timeline-draw.c - draws a DmtvFrame as a timeline (see
 * dmtv-timeline-draw.h).
 *
 *   +----------------+-------------------------------------------------+
 *   | window, LOD    | ruler: major ticks + labels, cursor readout     |  DMTV_RULER_H
 *   +----------------+-------------------------------------------------+
 *   | adapter 1      | [#12 to-dev 64 KiB][#13 ...]   spans, 1..3 rows |
 *   | CH[0].CTRL     | <0x00000001><0x0>|||||<0x1>     bus waveform    |
 *   | dev0 IRQ / DPC |  |    |    |                    marks           |
 *   | lost records   |      ////                       shaded ranges   |
 *   | audit findings |   v       v                     pins            |
 *   +----------------+-------------------------------------------------+
 *     DMTV_LABEL_W
 *
 * Order inside the plot: lane backgrounds, grid, lost shading, spans,
 * waveforms, marks, findings, selection, cursor; then the label column and
 * the ruler on top (so scrolled lanes slide under them).
 */
#define G_LOG_DOMAIN "dmtv-draw"

#include "dmtv-timeline-draw.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "dmtv-regnames.h"
#include "dmtv-units.h"

double dmtv_lane_height(int kind)
{
    switch (kind) {
    case DMT_LANE_TRANSFERS:
        return 3 * DMTV_TRANSFER_ROW_H + 4;
    case DMT_LANE_REGISTER:
        return DMTV_REG_LANE_H;
    case DMT_LANE_INTERRUPTS:
        return DMTV_IRQ_LANE_H;
    default:
        return DMTV_SMALL_LANE_H;
    }
}

double dmtv_lane_full_height(const DmtvLane *l)
{
    return dmtv_lane_height(l->kind) + l->n_fields * DMTV_FIELD_LANE_H;
}

double dmtv_lanes_height(const DmtvTrace *tr)
{
    double h = 0;
    for (size_t i = 0; tr && i < tr->n_lanes; i++)
        h += dmtv_lane_full_height(&tr->lanes[i]) + DMTV_LANE_GAP;
    return h;
}

double dmtv_lane_y(const DmtvTrace *tr, const DmtvView *v, size_t i)
{
    double y = DMTV_RULER_H - v->scroll_y;
    for (size_t k = 0; k < i && k < tr->n_lanes; k++)
        y += dmtv_lane_full_height(&tr->lanes[k]) + DMTV_LANE_GAP;
    return y;
}

gssize dmtv_lane_at(const DmtvTrace *tr, const DmtvView *v, double y)
{
    if (!tr || y < DMTV_RULER_H)
        return -1;
    double top = DMTV_RULER_H - v->scroll_y;
    for (size_t i = 0; i < tr->n_lanes; i++) {
        double h = dmtv_lane_full_height(&tr->lanes[i]);
        if (y >= top && y < top + h + DMTV_LANE_GAP)
            return (gssize)i;
        top += h + DMTV_LANE_GAP;
    }
    return -1;
}

static double plot_w(const DmtvView *v)
{
    double w = v->width - DMTV_LABEL_W;
    return w < 1 ? 1 : w;
}

double dmtv_x_of(const DmtvView *v, int64_t t)
{
    double span = (double)(v->t1 - v->t0);
    if (span <= 0)
        span = 1;
    return DMTV_LABEL_W + (double)(t - v->t0) / span * plot_w(v);
}

int64_t dmtv_t_of(const DmtvView *v, double x)
{
    double span = (double)(v->t1 - v->t0);
    return v->t0 + (int64_t)llround((x - DMTV_LABEL_W) / plot_w(v) * span);
}

static double span_row_h(const DmtvLaneData *d)
{
    int rows = d && d->rows > 1 ? d->rows : 1;
    return (3.0 * DMTV_TRANSFER_ROW_H) / rows;
}

uint32_t dmtv_span_at(const DmtvTrace *tr, const DmtvFrame *fr, const DmtvView *v, double x,
                      double y)
{
    gssize li = dmtv_lane_at(tr, v, y);
    if (li < 0 || !fr || (size_t)li >= fr->n_lanes || tr->lanes[li].kind != DMT_LANE_TRANSFERS)
        return 0;
    const DmtvLaneData *d = &fr->lanes[li];
    if (d->summary)
        return 0;
    double top = dmtv_lane_y(tr, v, (size_t)li) + 2;
    double rh = span_row_h(d);
    int row = (int)((y - top) / rh);
    uint32_t best = 0;
    double best_d = 4.0; /* px of slack around thin spans */
    for (size_t i = 0; i < d->n_spans; i++) {
        const DmtvSpan *s = &d->spans[i];
        if (s->row != row && d->rows > 1)
            continue;
        double x0 = dmtv_x_of(v, s->start_ts != INT64_MIN ? s->start_ts : s->t_begin);
        double x1 = dmtv_x_of(v, s->complete_ts != INT64_MIN ? s->complete_ts : s->t_end);
        double dd = x < x0 ? x0 - x : x > x1 ? x - x1 : 0;
        if (dd <= best_d) {
            best_d = dd;
            best = s->xfer;
        }
    }
    return best;
}

int64_t dmtv_finding_at(const DmtvTrace *tr, const DmtvView *v, double x, double y)
{
    gssize li = dmtv_lane_at(tr, v, y);
    if (li < 0 || tr->lanes[li].kind != DMT_LANE_FINDINGS)
        return -1;
    int64_t best = -1;
    double best_d = 5.0;
    for (size_t i = 0; i < tr->n_findings; i++) {
        double d = fabs(dmtv_x_of(v, tr->findings[i].ts) - x);
        if (d < best_d) {
            best_d = d;
            best = tr->findings[i].id;
        }
    }
    return best;
}

/* ---- drawing context ------------------------------------------------------------ */

typedef struct {
    GtkSnapshot *s;
    DmtvPainter *p;
    const DmtvTheme *th;
    const DmtvTrace *tr;
    const DmtvFrame *fr;
    const DmtvView *v;
    double xl, xr; /* plot bounds */
} Ctx;

static double X(const Ctx *c, int64_t t)
{
    return dmtv_x_of(c->v, t);
}

static double clampx(const Ctx *c, double x)
{
    return x < c->xl - 2 ? c->xl - 2 : x > c->xr + 2 ? c->xr + 2 : x;
}

/* ---- transfers ------------------------------------------------------------------- */

static const GdkRGBA *dir_color(const Ctx *c, const DmtvSpan *s)
{
    return s->to_device ? &c->th->to_dev : &c->th->from_dev;
}

static void draw_fold(const Ctx *c, double x0, double x1, double y, double h, unsigned n)
{
    if (n == 0)
        return;
    double w = MAX(x1 - x0, 1.0);
    dmtv_fill(c->s, &c->th->folded, x0, y, w, h);
    if (w > 40) {
        char t[32];
        g_snprintf(t, sizeof t, "%u", n);
        dmtv_painter_text_fit(c->p, c->s, DMTV_FONT_SMALL, t, x0 + 3, y + (h - 11) / 2, w - 6,
                              &c->th->text_on_fill);
    }
}

static void draw_span(const Ctx *c, const DmtvSpan *s, double x0, double x1, double y, double h)
{
    const DmtvTheme *th = c->th;
    double w = MAX(x1 - x0, 1.0);
    GdkRGBA col = *dir_color(c, s);
    if (c->v->filter_active && !s->match)
        col = dmtv_alpha(&col, 0.22f);
    double cx0 = clampx(c, x0), cx1 = clampx(c, x0 + w);
    double cw = cx1 - cx0;
    dmtv_fill(c->s, &col, cx0, y, cw, h);
    if (s->outcome == DMTV_OUT_NOT_COMPLETED && w > 6) /* never completed: open end */
        dmtv_hatch(c->s, &th->bg, cx0 + cw * 0.6, y, cw * 0.4, h);
    if (s->truncated) /* granted < requested: amber band on top */
        dmtv_fill(c->s, &th->trunc, cx0, y, cw, MAX(2.0, h * 0.22));
    if (s->bounced)
        dmtv_fill(c->s, &th->bounce, cx0, y + h - 3, cw, 3);
    if (s->outcome == DMTV_OUT_FAILED || s->outcome == DMTV_OUT_TWICE)
        dmtv_outline(c->s, &th->fail, cx0, y, cw, h, MIN(2.0, cw / 2));
    if (w >= 6) {
        /* ExecuteDma, interrupt and DPC inside the span */
        if (s->exec_ts != INT64_MIN) {
            double xe = X(c, s->exec_ts);
            const GdkRGBA *cc = dmtv_cpu_color(th, s->exec_cpu);
            if (xe > c->xl && xe < c->xr)
                dmtv_fill(c->s, &th->text_on_fill, xe, y + 1, 1, h - 2);
            if (cc && xe > c->xl && xe < c->xr) /* its CPU: a pin on the top edge */
                dmtv_pin(c->s, cc, xe + 0.5, y, 7, MIN(6.0, h / 2));
        }
        if (s->irq_ts != INT64_MIN) {
            double xi = X(c, s->irq_ts);
            if (xi > c->xl && xi < c->xr)
                dmtv_fill(c->s, &th->irq, xi - 1, y + h - 4, 3, 4);
        }
        if (s->dpc_ts != INT64_MIN) {
            double xd = X(c, s->dpc_ts);
            if (xd > c->xl && xd < c->xr)
                dmtv_fill(c->s, &th->dpc, xd - 1, y + h - 4, 3, 4);
        }
    }
    if (cw > 30 && h >= 11) {
        char t[96], b[32];
        dmtv_format_bytes(b, sizeof b, s->granted ? s->granted : s->requested);
        double lx = MAX(cx0, c->xl) + 3, maxw = cx1 - lx - 2;
        g_snprintf(t, sizeof t, "#%u %s %s%s%s%s", s->xfer, s->to_device ? "to-dev" : "from-dev", b,
                   s->truncated ? " (truncated)" : "", s->bounced ? " (bounced)" : "",
                   s->outcome == DMTV_OUT_NOT_COMPLETED ? " (not completed)"
                   : s->outcome == DMTV_OUT_FAILED      ? " (failed)"
                   : s->outcome == DMTV_OUT_TWICE       ? " (completed twice)"
                                                        : "");
        GdkRGBA tc = th->text_on_fill;
        if (c->v->filter_active && !s->match)
            tc = th->fg_dim;
        if (!dmtv_painter_text_fit(c->p, c->s, DMTV_FONT_SMALL, t, lx, y + (h - 11) / 2, maxw,
                                   &tc)) {
            g_snprintf(t, sizeof t, "#%u", s->xfer);
            dmtv_painter_text_fit(c->p, c->s, DMTV_FONT_SMALL, t, lx, y + (h - 11) / 2, maxw, &tc);
        }
    }
    if (c->v->sel_xfer && s->xfer == c->v->sel_xfer)
        dmtv_outline(c->s, &th->sel, cx0 - 2, y - 2, cw + 4, h + 4, 2);
}

static void draw_transfers_detail(const Ctx *c, const DmtvLaneData *d, double top)
{
    double rh = span_row_h(d);
    double fx0[DMTV_MAX_ROWS], fx1[DMTV_MAX_ROWS];
    unsigned fn[DMTV_MAX_ROWS] = {0};
    const DmtvSpan *sel = NULL;
    double sel_x0 = 0, sel_x1 = 0, sel_y = 0;
    for (size_t i = 0; i < d->n_spans; i++) {
        const DmtvSpan *s = &d->spans[i];
        double x0 = X(c, s->start_ts != INT64_MIN ? s->start_ts : s->t_begin);
        double x1 = X(c, s->complete_ts != INT64_MIN ? s->complete_ts : s->t_end);
        if (x1 < c->xl || x0 > c->xr)
            continue;
        int r = d->rows > 1 ? s->row : 0;
        double y = top + r * rh + 1, h = rh - 2;
        if (x1 - x0 < 1.0 && !(c->v->sel_xfer && s->xfer == c->v->sel_xfer)) {
            /* sub-pixel: fold into the row's current run */
            if (fn[r] && x0 <= fx1[r] + 1.0) {
                fx1[r] = MAX(fx1[r], x1);
                fn[r]++;
            } else {
                draw_fold(c, fx0[r], fx1[r], y, h, fn[r]);
                fx0[r] = x0;
                fx1[r] = x1;
                fn[r] = 1;
            }
            continue;
        }
        if (fn[r]) {
            draw_fold(c, fx0[r], fx1[r], y, h, fn[r]);
            fn[r] = 0;
        }
        if (c->v->sel_xfer && s->xfer == c->v->sel_xfer) {
            sel = s;
            sel_x0 = x0;
            sel_x1 = x1;
            sel_y = y;
            continue; /* drawn last, on top */
        }
        draw_span(c, s, x0, x1, y, h);
    }
    for (int r = 0; r < DMTV_MAX_ROWS; r++)
        if (fn[r])
            draw_fold(c, fx0[r], fx1[r], top + r * rh + 1, rh - 2, fn[r]);
    if (sel)
        draw_span(c, sel, sel_x0, sel_x1, sel_y, rh - 2);
}

static void draw_transfers_summary(const Ctx *c, const DmtvLaneData *d, double top, double lh)
{
    uint64_t maxc = 1;
    for (size_t i = 0; i < d->n_bins; i++)
        maxc = MAX(maxc, d->bins[i].count);
    double lmax = log2((double)maxc + 1);
    double y = top + 1, h = lh - 2;
    /* runs of bins that touch (within a pixel) become one band */
    double rx0 = 0, rx1 = -1e9;
    uint64_t rn = 0;
    for (size_t i = 0; i <= d->n_bins; i++) {
        const DmtvBin *b = i < d->n_bins ? &d->bins[i] : NULL;
        double x0 = 0, x1 = 0;
        if (b) {
            x0 = X(c, b->t_first);
            x1 = MAX(X(c, b->t_last), x0 + 1);
            if (x1 < c->xl || x0 > c->xr)
                continue;
        }
        if (!b || x0 > rx1 + 1.0) {
            if (rn) {
                double cx0 = clampx(c, rx0), cx1 = clampx(c, rx1);
                dmtv_fill(c->s, &c->th->folded, cx0, y, cx1 - cx0, h);
                if (cx1 - cx0 > 70) {
                    char t[48];
                    g_snprintf(t, sizeof t, "%" PRIu64 " transfers", rn);
                    dmtv_painter_text_fit(c->p, c->s, DMTV_FONT_SMALL, t, MAX(cx0, c->xl) + 3,
                                          y + 2, cx1 - MAX(cx0, c->xl) - 6, &c->th->text_on_fill);
                }
            }
            if (!b)
                break;
            rx0 = x0;
            rx1 = x1;
            rn = 0;
        }
        rx1 = MAX(rx1, x1);
        rn += b->count;
    }
    /* density: a darker bar per bucket, log-scaled, and failures in red */
    for (size_t i = 0; i < d->n_bins; i++) {
        const DmtvBin *b = &d->bins[i];
        double x0 = X(c, b->b0), x1 = X(c, b->b1);
        if (x1 < c->xl || x0 > c->xr)
            continue;
        x0 = clampx(c, x0);
        x1 = clampx(c, x1);
        double bh = h * 0.55 * log2((double)b->count + 1) / lmax;
        dmtv_fill(c->s, &c->th->folded_dark, x0, y + h - bh, MAX(x1 - x0, 1.0), bh);
        if (b->has_v && b->vlast > 0)
            dmtv_fill(c->s, &c->th->fail, x0, y, MAX(x1 - x0, 1.0), 3);
    }
}

/* ---- register waveforms -------------------------------------------------------- */

typedef struct {
    const Ctx *c;
    double y, h;
    gboolean has_val;
    uint64_t val;
    double seg_x;    /* where the current value began */
    gboolean dense;  /* a dense run is open */
    double dense_x0; /* ... since here */
    int field;       /* 0: the register's own value; k + 1: its bitfield k ... */
    uint64_t off;    /* ... of the register at off, */
    unsigned lsb;    /* ... whose lowest bit is lsb */
} Wave;

static void value_text(char *buf, size_t cap, uint64_t v, gboolean compact)
{
    if (compact)
        g_snprintf(buf, cap, "%" PRIx64, v);
    else if (v <= 0xffffffffu)
        g_snprintf(buf, cap, "0x%08" PRIx64, v);
    else
        g_snprintf(buf, cap, "0x%016" PRIx64, v);
}

/* The visible part [*a, *b] of a segment x0..x1 that holds a known value;
 * FALSE when none of it shows (no value, off screen, under half a pixel). */
static gboolean seg_visible(const Ctx *c, gboolean has_val, double x0, double x1, double *a,
                            double *b)
{
    if (!has_val || x1 < c->xl || x0 > c->xr)
        return FALSE;
    *a = clampx(c, x0);
    *b = clampx(c, x1);
    return *b - *a >= 0.5;
}

static void wave_stable(Wave *w, double x0, double x1)
{
    const Ctx *c = w->c;
    double a, b;
    if (!seg_visible(c, w->has_val, x0, x1, &a, &b))
        return;
    const DmtvTheme *th = c->th;
    /* a bus segment: light fill between two rails, with a gap at each end */
    double g = b - a > 4 ? 1.5 : 0;
    dmtv_fill(c->s, &th->reg_fill, a + g, w->y + 1, b - a - 2 * g, w->h - 2);
    dmtv_fill(c->s, &th->reg_line, a + g, w->y, b - a - 2 * g, 1);
    dmtv_fill(c->s, &th->reg_line, a + g, w->y + w->h - 1, b - a - 2 * g, 1);
    double lx = MAX(a, c->xl) + 4, room = b - lx - 3;
    if (room > 8 && w->field > 0) {
        /* a bitfield's value as the map shows it (one field per Wave) */
        char t[48];
        if (!dmtv_reg_field_text(w->off, w->val << w->lsb, (unsigned)w->field - 1, t, sizeof t))
            value_text(t, sizeof t, w->val, TRUE);
        dmtv_painter_text_fit(c->p, c->s, DMTV_FONT_MONO, t, lx, w->y + (w->h - 11) / 2, room,
                              &th->fg);
    } else if (room > 8) {
        char t[32];
        value_text(t, sizeof t, w->val, FALSE);
        if (!dmtv_painter_text_fit(c->p, c->s, DMTV_FONT_MONO, t, lx, w->y + (w->h - 11) / 2, room,
                                   &th->fg)) {
            value_text(t, sizeof t, w->val, TRUE);
            dmtv_painter_text_fit(c->p, c->s, DMTV_FONT_MONO, t, lx, w->y + (w->h - 11) / 2, room,
                                  &th->fg);
        }
    }
}

static void wave_dense(Wave *w, double x0, double x1)
{
    const Ctx *c = w->c;
    if (x1 < c->xl || x0 > c->xr)
        return;
    double a = clampx(c, x0), b = clampx(c, MAX(x1, x0 + 1));
    dmtv_fill(c->s, &c->th->reg_fill, a, w->y + 1, b - a, w->h - 2);
    dmtv_hatch(c->s, &c->th->reg_dense, a, w->y, b - a, w->h);
    dmtv_fill(c->s, &c->th->reg_line, a, w->y, b - a, 1);
    dmtv_fill(c->s, &c->th->reg_line, a, w->y + w->h - 1, b - a, 1);
}

/* The value changes to v at x. */
static void wave_change(Wave *w, double x, uint64_t v)
{
    if (w->has_val && v == w->val)
        return;
    if (w->has_val && x - w->seg_x < DMTV_FOLD_PX) {
        if (!w->dense) {
            w->dense = TRUE;
            w->dense_x0 = w->seg_x;
        }
    } else {
        if (w->dense) {
            wave_dense(w, w->dense_x0, w->seg_x);
            w->dense = FALSE;
        }
        wave_stable(w, w->seg_x, x);
    }
    w->seg_x = x;
    w->val = v;
    w->has_val = TRUE;
}

/* Many changes in [x0, x1], ending at value v. */
static void wave_busy(Wave *w, double x0, double x1, uint64_t v)
{
    if (!w->dense) {
        if (w->has_val && x0 - w->seg_x >= DMTV_FOLD_PX)
            wave_stable(w, w->seg_x, x0);
        w->dense = TRUE;
        w->dense_x0 = w->has_val && x0 - w->seg_x < DMTV_FOLD_PX ? w->seg_x : x0;
    }
    w->seg_x = MAX(x1, x0 + 1);
    w->val = v;
    w->has_val = TRUE;
}

static void wave_end(Wave *w, double xr)
{
    if (w->dense)
        wave_dense(w, w->dense_x0, w->seg_x);
    wave_stable(w, w->seg_x, xr);
}

static void draw_register(const Ctx *c, const DmtvLaneData *d, double top, double lh)
{
    Wave w = {.c = c, .y = top + 3, .h = lh - 8, .seg_x = c->xl - 2};
    if (d->has_before) {
        w.has_val = TRUE;
        w.val = d->before;
    }
    double tick_y = top + lh - 4;
    if (d->summary) {
        for (size_t i = 0; i < d->n_bins; i++) {
            const DmtvBin *b = &d->bins[i];
            double x0 = X(c, b->t_first), x1 = X(c, b->t_last);
            if (x1 < c->xl - 2)
                continue;
            if (x0 > c->xr + 2)
                break;
            if (b->has_v && b->vmin == b->vmax)
                wave_change(&w, x0, b->vmin);
            else if (b->has_v && b->count == 1)
                wave_change(&w, x0, b->vlast);
            else if (b->has_v)
                wave_busy(&w, x0, x1, b->vlast);
            /* accesses: a tick per bucket, darker when writes */
            double bx0 = clampx(c, x0);
            dmtv_fill(c->s, b->bytes ? &c->th->reg_write : &c->th->reg_read, bx0, tick_y,
                      MAX(clampx(c, x1) - bx0, 1.0), 3);
        }
    } else {
        /* access ticks: runs of ticks closer than a pixel become one rect */
        double run0 = 0, run1 = -1e9;
        gboolean run_w = FALSE;
        for (size_t i = 0; i < d->n_edges; i++) {
            const DmtvEdge *e = &d->edges[i];
            double x = X(c, e->ts);
            if (x > c->xr + 2)
                break;
            wave_change(&w, x, e->value);
            if (x < c->xl)
                continue;
            if (x <= run1 + 1.5) {
                run1 = x;
                run_w |= e->is_write;
                continue;
            }
            if (run1 > -1e8)
                dmtv_fill(c->s, run_w ? &c->th->reg_write : &c->th->reg_read, run0, tick_y,
                          run1 - run0 + 1.5, 3);
            run0 = run1 = x;
            run_w = e->is_write;
        }
        if (run1 > -1e8)
            dmtv_fill(c->s, run_w ? &c->th->reg_write : &c->th->reg_read, run0, tick_y,
                      run1 - run0 + 1.5, 3);
    }
    wave_end(&w, c->xr + 2);
}

/* ---- bitfield sub-lanes ------------------------------------------------------------ */

static uint64_t field_of(const DmtvFieldLane *f, uint64_t v)
{
    unsigned n = f->high - f->low + 1u;
    uint64_t x = f->low < 64 ? v >> f->low : 0;
    return n >= 64 ? x : x & ((UINT64_C(1) << n) - 1);
}

/* A one-bit field as a digital line: high rail when 1 (lightly filled),
 * low rail when 0, an edge at each change; changes closer than
 * DMTV_FOLD_PX fold into a hatched run. */
typedef struct {
    const Ctx *c;
    double y, h;
    gboolean has_val;
    uint64_t val;
    double seg_x;
} Bit;

static void bit_level(Bit *b, double x0, double x1)
{
    const Ctx *c = b->c;
    double a, e;
    if (!seg_visible(c, b->has_val, x0, x1, &a, &e))
        return;
    if (b->val) {
        dmtv_fill(c->s, &c->th->reg_fill, a, b->y + 2, e - a, b->h - 4);
        dmtv_fill(c->s, &c->th->reg_line, a, b->y + 2, e - a, 1.5);
    } else {
        dmtv_fill(c->s, &c->th->reg_line, a, b->y + b->h - 3.5, e - a, 1.5);
    }
}

static void bit_change(Bit *b, double x, uint64_t v, gboolean busy, double x1)
{
    const Ctx *c = b->c;
    if (!busy && b->has_val && v == b->val)
        return;
    bit_level(b, b->seg_x, x);
    if (busy && x1 - x >= 1) {
        double a = clampx(c, x), e = clampx(c, x1);
        dmtv_hatch(c->s, &c->th->reg_dense, a, b->y + 2, MAX(e - a, 1), b->h - 4);
    } else if (b->has_val && x >= c->xl && x <= c->xr) {
        dmtv_fill(c->s, &c->th->reg_line, x, b->y + 2, 1.5, b->h - 4);
    }
    b->seg_x = busy ? MAX(x1, x) : x;
    b->val = v;
    b->has_val = TRUE;
}

/* Field k of lane l: a digital line for one bit, else a bus whose
 * segments show the value as the map's type shows it (enum names). */
static void draw_field(const Ctx *c, const DmtvLane *l, unsigned k, const DmtvLaneData *d,
                       double top, double lh)
{
    const DmtvFieldLane *f = &l->fields[k];
    gboolean one_bit = f->low == f->high;
    Bit b = {.c = c, .y = top, .h = lh, .seg_x = c->xl - 2};
    Wave w = {.c = c,
              .y = top + 2,
              .h = lh - 4,
              .seg_x = c->xl - 2,
              .field = (int)k + 1,
              .off = (uint64_t)l->off,
              .lsb = f->low};
    if (d->has_before) {
        b.has_val = w.has_val = TRUE;
        b.val = w.val = field_of(f, d->before);
    }
    if (d->summary) {
        for (size_t i = 0; i < d->n_bins; i++) {
            const DmtvBin *bn = &d->bins[i];
            double x0 = X(c, bn->t_first), x1 = X(c, bn->t_last);
            if (x1 < c->xl - 2 || !bn->has_v)
                continue;
            if (x0 > c->xr + 2)
                break;
            /* a bucket only keeps min, max and last: the field is known
             * stable only when the whole value was */
            gboolean stable = bn->vmin == bn->vmax || bn->count == 1;
            uint64_t v = field_of(f, bn->vlast);
            if (one_bit)
                bit_change(&b, x0, v, !stable, x1);
            else if (stable)
                wave_change(&w, x0, v);
            else
                wave_busy(&w, x0, x1, v);
        }
    } else {
        for (size_t i = 0; i < d->n_edges; i++) {
            double x = X(c, d->edges[i].ts);
            if (x > c->xr + 2)
                break;
            uint64_t v = field_of(f, d->edges[i].value);
            if (one_bit)
                bit_change(&b, x, v, FALSE, x);
            else
                wave_change(&w, x, v);
        }
    }
    if (one_bit)
        bit_level(&b, b.seg_x, c->xr + 2);
    else
        wave_end(&w, c->xr + 2);
}

/* ---- marks ---------------------------------------------------------------------- */

static void draw_irq_lane(const Ctx *c, const DmtvLaneData *d, double top, double lh)
{
    const DmtvTheme *th = c->th;
    if (d->summary) {
        uint64_t maxc = 1;
        for (size_t i = 0; i < d->n_bins; i++)
            maxc = MAX(maxc, d->bins[i].count);
        double lmax = log2((double)maxc + 1);
        for (size_t i = 0; i < d->n_bins; i++) {
            const DmtvBin *b = &d->bins[i];
            double x0 = X(c, b->t_first), x1 = MAX(X(c, b->t_last), x0 + 1);
            if (x1 < c->xl || x0 > c->xr)
                continue;
            double h = 4 + (lh - 6) * log2((double)b->count + 1) / lmax;
            x0 = clampx(c, x0);
            dmtv_fill(c->s, &th->irq, x0, top + lh - 1 - h, MAX(clampx(c, x1) - x0, 1.5), h);
        }
        return;
    }
    /* per kind and CPU colour, marks closer than 1.5 px merge into one run;
     * a mark's CPU picks its colour (ISR top half, DPC bottom half), marks
     * without one keep the kind's colour (slot DMTV_CPU_COLORS) */
    enum { NK = 3, NC = DMTV_CPU_COLORS + 1 };
    double r0[NK][NC], r1[NK][NC];
    for (unsigned k = 0; k < NK; k++)
        for (unsigned j = 0; j < NC; j++)
            r1[k][j] = -1e9;
    for (size_t i = 0; i <= d->n_marks; i++) {
        const DmtvMark *m = i < d->n_marks ? &d->marks[i] : NULL;
        double x = m ? X(c, m->ts) : 1e18;
        if (m && (x < c->xl || x > c->xr || m->kind < 1 || m->kind > NK))
            continue;
        for (unsigned k = 0; k < NK; k++)
            for (unsigned j = 0; j < NC; j++) {
                if (m &&
                    (m->kind != k + 1 ||
                     (m->cpu == DMTV_CPU_NONE ? DMTV_CPU_COLORS : m->cpu % DMTV_CPU_COLORS) != j))
                    continue;
                if (m && x <= r1[k][j] + 1.5) {
                    r1[k][j] = x;
                    continue;
                }
                if (r1[k][j] > -1e8) {
                    /* whole pixels, at least 2: the colour reads as itself */
                    double x0 = floor(r0[k][j] - 0.5), w = MAX(ceil(r1[k][j] + 1.0) - x0, 2.0);
                    const GdkRGBA *col = j < DMTV_CPU_COLORS      ? &th->cpu[j]
                                         : k + 1 == DMTV_MARK_DPC ? &th->dpc
                                         : k + 1 == DMTV_MARK_IRQ ? &th->irq
                                                                  : &th->irq_weak;
                    GdkRGBA weak = dmtv_alpha(col, 0.4f);
                    if (j < DMTV_CPU_COLORS && k + 1 == DMTV_MARK_IRQ_UNCLAIMED)
                        col = &weak;
                    if (k + 1 == DMTV_MARK_DPC)
                        dmtv_fill(c->s, col, x0, top + lh / 2 + 1, w, lh / 2 - 2);
                    else
                        dmtv_fill(c->s, col, x0, top + 2, w, lh / 2 - 1);
                }
                r0[k][j] = r1[k][j] = m ? x : -1e9;
            }
    }
}

static void draw_markers(const Ctx *c, const DmtvLaneData *d, double top, double lh)
{
    const DmtvTheme *th = c->th;
    if (d->summary) {
        for (size_t i = 0; i < d->n_bins; i++) {
            double x = X(c, d->bins[i].t_first);
            if (x >= c->xl && x <= c->xr)
                dmtv_fill(c->s, &th->marker, x, top + 2, 1.5, lh - 4);
        }
        return;
    }
    for (size_t i = 0; i < d->n_marks; i++) {
        const DmtvMark *m = &d->marks[i];
        double x = X(c, m->ts);
        if (x < c->xl - 200 || x > c->xr)
            continue;
        double next = i + 1 < d->n_marks ? X(c, d->marks[i + 1].ts) : c->xr;
        if (x >= c->xl) {
            dmtv_fill(c->s, &th->marker, x, top + 2, 1.5, lh - 4);
            dmtv_fill(c->s, &th->marker, x, top + 2, 5, 4);
        }
        if (m->kind == DMTV_MARK_TEXT && c->fr && m->text < c->fr->text_len) {
            double lx = MAX(x + 7, c->xl + 2);
            dmtv_painter_text_fit(c->p, c->s, DMTV_FONT_SMALL, c->fr->text + m->text, lx, top + 2,
                                  MIN(next, c->xr) - lx - 4, &th->fg);
        }
    }
}

static const GdkRGBA *sev_color(const Ctx *c, int sev)
{
    return sev == DMTV_SEV_ERROR     ? &c->th->err
           : sev == DMTV_SEV_WARNING ? &c->th->warn
                                     : &c->th->info;
}

/* Findings: pins on the findings lane (folded per DMTV_FOLD_PX, the worst
 * severity wins, a count when folded) and a small diamond on the adapter's
 * transfers lane. */
static void draw_findings(const Ctx *c, double top, double lh)
{
    const DmtvTrace *tr = c->tr;
    size_t i = 0;
    while (i < tr->n_findings) {
        double x = X(c, tr->findings[i].ts);
        if (x < c->xl - 1) {
            i++;
            continue;
        }
        if (x > c->xr + 1)
            break;
        size_t j = i;
        int sev = 0;
        gboolean sel = FALSE;
        while (j < tr->n_findings && X(c, tr->findings[j].ts) - x < DMTV_FOLD_PX) {
            sev = MAX(sev, tr->findings[j].severity);
            sel |= tr->findings[j].id == c->v->sel_finding;
            j++;
        }
        size_t n = j - i;
        if (sel)
            dmtv_fill(c->s, &c->th->sel, x - 5, top + 1, 10, lh - 2);
        dmtv_pin(c->s, sev_color(c, sev), x, top + 3, 9, 7);
        dmtv_fill(c->s, sev_color(c, sev), x - 0.5, top + 9, 1, lh - 11);
        if (n > 1) {
            char t[24];
            g_snprintf(t, sizeof t, "%zu", n);
            double next = j < tr->n_findings ? X(c, tr->findings[j].ts) : c->xr;
            dmtv_painter_text_fit(c->p, c->s, DMTV_FONT_SMALL, t, x + 6, top + 3, next - x - 8,
                                  &c->th->fg_dim);
        }
        i = j;
    }
}

static void draw_findings_on_lanes(const Ctx *c)
{
    const DmtvTrace *tr = c->tr;
    double last_x = -1e9;
    for (size_t i = 0; i < tr->n_findings; i++) {
        const DmtvFinding *f = &tr->findings[i];
        double x = X(c, f->ts);
        if (x < c->xl || x > c->xr || f->adapter < 0 || x - last_x < DMTV_FOLD_PX)
            continue;
        last_x = x;
        for (size_t k = 0; k < tr->n_lanes; k++) {
            if (tr->lanes[k].kind == DMT_LANE_TRANSFERS && tr->lanes[k].adapter == f->adapter) {
                double y = dmtv_lane_y(tr, c->v, k);
                dmtv_diamond(c->s, sev_color(c, f->severity), x, y + 3, 3.5);
            }
        }
    }
}

/* The x range [*x0, *x1] of lost range l, at least 3 px wide and clamped
 * to the plot; false when it is off screen. */
static gboolean lost_span(const Ctx *c, const DmtvLost *l, double *x0, double *x1)
{
    double a = X(c, l->t0), b = X(c, l->t1);
    if (b < c->xl - 2 || a > c->xr + 2)
        return FALSE;
    if (b - a < 3) {
        double m = (a + b) / 2;
        a = m - 1.5;
        b = m + 1.5;
    }
    *x0 = clampx(c, a);
    *x1 = clampx(c, b);
    return TRUE;
}

/* The LOST spans: in_lane, as marks with their counts in the LOST lane at
 * top (height lh); else hatched over all lanes from top to top + lh. */
static void draw_lost(const Ctx *c, double top, double lh, gboolean in_lane)
{
    const DmtvTrace *tr = c->tr;
    for (size_t i = 0; i < tr->n_lost; i++) {
        const DmtvLost *l = &tr->lost[i];
        double x0, x1;
        if (!lost_span(c, l, &x0, &x1))
            continue;
        if (!in_lane) {
            dmtv_fill(c->s, &c->th->lost, x0, top, x1 - x0, lh);
            dmtv_hatch(c->s, &c->th->lost_hatch, x0, top, x1 - x0, lh);
            continue;
        }
        dmtv_fill(c->s, &c->th->err, x0, top + 3, x1 - x0, lh - 6);
        char t[64];
        g_snprintf(t, sizeof t, "%" PRIu64 " lost", l->count);
        dmtv_painter_text_fit(c->p, c->s, DMTV_FONT_SMALL, t, x1 + 3, top + 3, c->xr - x1 - 4,
                              &c->th->err);
    }
}

/* ---- ruler, grid, labels ------------------------------------------------------- */

static int64_t major_step(const DmtvView *v)
{
    double ns_px = (double)(v->t1 - v->t0) / plot_w(v);
    return dmtv_tick_step(ns_px * 110);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void draw_grid(const Ctx *c, double top, double bottom)
{
    int64_t step = major_step(c->v);
    int64_t origin = c->tr ? c->tr->t_first : 0;
    int64_t k0 = floor_div(c->v->t0 - origin, step);
    for (int64_t k = k0; k < k0 + 1000; k++) {
        int64_t t = origin + k * step;
        double x = X(c, t);
        if (x > c->xr)
            break;
        if (x >= c->xl)
            dmtv_fill(c->s, &c->th->grid, x, top, 1, bottom - top);
    }
}

static void draw_ruler(const Ctx *c)
{
    const DmtvTheme *th = c->th;
    const DmtvView *v = c->v;
    dmtv_fill(c->s, &th->ruler_bg, 0, 0, v->width, DMTV_RULER_H);
    dmtv_fill(c->s, &th->sep, 0, DMTV_RULER_H - 1, v->width, 1);
    int64_t step = major_step(v);
    int64_t origin = c->tr ? c->tr->t_first : 0;
    int64_t max_abs = MAX(llabs(v->t0 - origin), llabs(v->t1 - origin));
    int64_t minor = step / 5 >= 1 && step % 5 == 0 ? step / 5 : MAX(step / 2, 1);
    int64_t k0 = floor_div(v->t0 - origin, minor);
    for (int64_t k = k0; k < k0 + 5000; k++) {
        int64_t rel = k * minor;
        double x = X(c, origin + rel);
        if (x > c->xr)
            break;
        if (x < c->xl)
            continue;
        gboolean major = rel % step == 0;
        dmtv_fill(c->s, major ? &th->fg_dim : &th->grid_major, x, DMTV_RULER_H - (major ? 10 : 5),
                  1, major ? 9 : 4);
        if (major) {
            char t[48];
            dmtv_format_tick(t, sizeof t, rel, step, max_abs);
            dmtv_painter_text_fit(c->p, c->s, DMTV_FONT_SMALL, t, x + 3, DMTV_RULER_H - 24,
                                  c->xr - x - 3, &th->fg);
        }
    }
    /* the label-column corner: window length and level of detail */
    dmtv_fill(c->s, &th->label_bg, 0, 0, DMTV_LABEL_W, DMTV_RULER_H - 1);
    dmtv_fill(c->s, &th->sep, DMTV_LABEL_W - 1, 0, 1, DMTV_RULER_H);
    char span[48], lod[64];
    dmtv_format_duration(span, sizeof span, v->t1 - v->t0, 4);
    char t[96];
    g_snprintf(t, sizeof t, "window %s", span);
    dmtv_painter_text(c->p, c->s, DMTV_FONT_SMALL, t, 6, 3, &th->fg);
    if (c->fr && c->fr->approx) {
        /* a preview from memory while the precise frame is fetched */
        g_snprintf(lod, sizeof lod, "preview L%d, loading %s…", c->fr->level,
                   c->fr->want_level < 0 ? "events" : "detail");
    } else if (c->fr && c->fr->level >= 0) {
        char b[32];
        dmtv_format_duration(b, sizeof b, (int64_t)1 << (10 + 3 * c->fr->level), 3);
        g_snprintf(lod, sizeof lod, "summary L%d (%s buckets)", c->fr->level, b);
    } else if (c->fr) {
        g_strlcpy(lod, "exact events", sizeof lod);
    } else {
        g_strlcpy(lod, "no trace", sizeof lod);
    }
    dmtv_painter_text(c->p, c->s, DMTV_FONT_SMALL, lod, 6, 17, &th->fg_dim);
}

/* The register's value at time t in a frame's lane data: the last access
 * at or before t (a summary bucket only when its value was stable). */
static gboolean value_at(const DmtvLaneData *d, int64_t t, uint64_t *v)
{
    gboolean has = d->has_before;
    *v = d->before;
    if (d->summary) {
        for (size_t i = 0; i < d->n_bins && d->bins[i].t_first <= t; i++) {
            const DmtvBin *b = &d->bins[i];
            if (!b->has_v)
                continue;
            has = b->vmin == b->vmax || b->count == 1 || b->t_last <= t;
            *v = b->vlast;
        }
        return has;
    }
    size_t lo = 0, hi = d->n_edges; /* first edge after t */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->edges[mid].ts <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0) {
        *v = d->edges[lo - 1].value;
        has = TRUE;
    }
    return has;
}

static void hover_box(const Ctx *c, const char *t);

/* The ISR or DPC mark of an interrupts lane nearest the cursor (within 4
 * px; the half of the lane under the pointer picks ISR or DPC) as text:
 * "DPC on CPU 1", "ISR (not claimed) on CPU 0"; FALSE when none is near. */
static gboolean mark_text(const Ctx *c, const DmtvLaneData *d, char *t, size_t cap)
{
    if (d->summary || !d->n_marks)
        return FALSE;
    const DmtvView *v = c->v;
    gssize li = dmtv_lane_at(c->tr, v, v->cursor_y);
    double top = dmtv_lane_y(c->tr, v, (size_t)li);
    gboolean dpc = v->cursor_y - top > DMTV_IRQ_LANE_H / 2.0;
    size_t lo = 0, hi = d->n_marks; /* first mark at or after the cursor */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->marks[mid].ts < v->cursor_ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    const DmtvMark *best = NULL;
    double best_d = 4.0, x = X(c, v->cursor_ts);
    for (size_t i = lo; i < d->n_marks; i++) { /* after the cursor, then before it */
        double dd = X(c, d->marks[i].ts) - x;
        if (dd > best_d)
            break;
        if ((d->marks[i].kind == DMTV_MARK_DPC) == dpc) {
            best = &d->marks[i];
            best_d = dd;
            break;
        }
    }
    for (size_t i = lo; i-- > 0;) {
        double dd = x - X(c, d->marks[i].ts);
        if (dd > best_d)
            break;
        if ((d->marks[i].kind == DMTV_MARK_DPC) == dpc) {
            best = &d->marks[i];
            break;
        }
    }
    if (!best)
        return FALSE;
    const char *what = best->kind == DMTV_MARK_DPC   ? "DPC"
                       : best->kind == DMTV_MARK_IRQ ? "ISR"
                                                     : "ISR (not claimed)";
    if (best->cpu == DMTV_CPU_NONE)
        g_snprintf(t, cap, "%s", what);
    else
        g_snprintf(t, cap, "%s on CPU %u", what, best->cpu);
    return TRUE;
}

/* Hovering a register lane: its value at the cursor as the map decodes it
 * ("CH[0].STATUS=0x6 {DONE, ERR}"); over a bitfield sub-lane, that field
 * ("CODE=ADDR_LIMIT").  Over an interrupts lane: the ISR or DPC there. */
static void draw_hover_value(const Ctx *c)
{
    const DmtvView *v = c->v;
    gssize li = dmtv_lane_at(c->tr, v, v->cursor_y);
    if (li < 0 || !c->fr || (size_t)li >= c->fr->n_lanes)
        return;
    const DmtvLane *l = &c->tr->lanes[li];
    char t[256];
    if (l->kind == DMT_LANE_INTERRUPTS) {
        if (!mark_text(c, &c->fr->lanes[li], t, sizeof t))
            return;
        hover_box(c, t);
        return;
    }
    if (l->kind != DMT_LANE_REGISTER || l->off < 0)
        return;
    uint64_t val;
    if (!value_at(&c->fr->lanes[li], v->cursor_ts, &val))
        return;
    double top = dmtv_lane_y(c->tr, v, (size_t)li);
    double dy = v->cursor_y - top - dmtv_lane_height(l->kind);
    if (dy >= 0 && l->n_fields) {
        unsigned k = MIN((unsigned)(dy / DMTV_FIELD_LANE_H), l->n_fields - 1u);
        char ft[48];
        if (!dmtv_reg_field_text((uint64_t)l->off, val, k, ft, sizeof ft))
            return;
        g_snprintf(t, sizeof t, "%s=%s", l->fields[k].name, ft);
    } else {
        const char *dec = dmtv_reg_decode((uint64_t)l->off, val);
        if (dec)
            g_strlcpy(t, dec, sizeof t);
        else
            g_snprintf(t, sizeof t, "0x%" PRIx64, val);
    }
    hover_box(c, t);
}

/* The hover text t in a box next to the cursor. */
static void hover_box(const Ctx *c, const char *t)
{
    const DmtvView *v = c->v;
    int w, h;
    dmtv_painter_text_size(c->p, DMTV_FONT_MONO, t, &w, &h);
    double x = X(c, v->cursor_ts);
    double bx = x + 8 + w + 6 > c->xr ? x - w - 14 : x + 8;
    double by = v->cursor_y + 12 + h + 2 > v->height ? v->cursor_y - h - 14 : v->cursor_y + 12;
    dmtv_fill(c->s, &c->th->cursor, bx, by, w + 6, h + 2);
    dmtv_painter_text(c->p, c->s, DMTV_FONT_MONO, t, bx + 3, by + 1, &c->th->text_on_fill);
}

static void draw_cursor_readout(const Ctx *c)
{
    const DmtvView *v = c->v;
    int64_t origin = c->tr ? c->tr->t_first : 0;
    if (v->has_range) {
        double x0 = X(c, MIN(v->range_t0, v->range_t1)), x1 = X(c, MAX(v->range_t0, v->range_t1));
        char d[48], t[64];
        dmtv_format_duration(d, sizeof d, llabs(v->range_t1 - v->range_t0), 4);
        g_snprintf(t, sizeof t, "Δ %s", d);
        int w, h;
        dmtv_painter_text_size(c->p, DMTV_FONT_SMALL, t, &w, &h);
        double cx = CLAMP((x0 + x1) / 2 - w / 2.0, c->xl, c->xr - w - 4);
        dmtv_fill(c->s, &c->th->info, cx - 3, 1, w + 6, h + 1);
        dmtv_painter_text(c->p, c->s, DMTV_FONT_SMALL, t, cx, 1, &c->th->text_on_fill);
    }
    if (!v->has_cursor)
        return;
    double x = X(c, v->cursor_ts);
    if (x < c->xl || x > c->xr)
        return;
    char t[64];
    dmtv_format_cursor(t, sizeof t, v->cursor_ts - origin);
    int w, h;
    dmtv_painter_text_size(c->p, DMTV_FONT_MONO, t, &w, &h);
    double bx = x + 4 + w + 6 > c->xr ? x - w - 10 : x + 4;
    dmtv_fill(c->s, &c->th->cursor, bx, DMTV_RULER_H - h - 13, w + 6, h + 2);
    dmtv_painter_text(c->p, c->s, DMTV_FONT_MONO, t, bx + 3, DMTV_RULER_H - h - 12,
                      &c->th->text_on_fill);
    if (c->tr && v->cursor_y > DMTV_RULER_H)
        draw_hover_value(c);
}

/* The CPU colours after an interrupts lane's name: "CPU" and each CPU's
 * number in its colour, as many as fit (then "…", without "CPU"). */
static void draw_cpu_legend(const Ctx *c, double x, double y, double h)
{
    const double right = DMTV_LABEL_W - 6;
    int ew, eh, pw, ph, all = 0;
    dmtv_painter_text_size(c->p, DMTV_FONT_BOLD, "…", &ew, &eh);
    dmtv_painter_text_size(c->p, DMTV_FONT_SMALL, "CPU", &pw, &ph);
    for (uint32_t cpu = 0; cpu < c->tr->n_cpus && cpu < 100; cpu++)
        all += (cpu < 10 ? ew : 2 * ew) + 3; /* a digit is about as wide as "…" */
    if (x + pw + 3 + all <= right) {         /* "CPU" too when everything fits */
        dmtv_painter_text(c->p, c->s, DMTV_FONT_SMALL, "CPU", x, y + (h - ph) / 2, &c->th->fg_dim);
        x += pw + 3;
    }
    for (uint32_t cpu = 0; cpu < c->tr->n_cpus; cpu++) {
        char t[16];
        int tw, th;
        g_snprintf(t, sizeof t, "%u", cpu);
        dmtv_painter_text_size(c->p, DMTV_FONT_BOLD, t, &tw, &th);
        if (x + tw + (cpu + 1 == c->tr->n_cpus ? 0 : 3 + ew) > right) {
            dmtv_painter_text(c->p, c->s, DMTV_FONT_BOLD, "…", x, y + (h - eh) / 2, &c->th->fg_dim);
            return;
        }
        dmtv_painter_text(c->p, c->s, DMTV_FONT_BOLD, t, x, y + (h - th) / 2,
                          &c->th->cpu[cpu % DMTV_CPU_COLORS]);
        x += tw + 3;
    }
}

static void draw_labels(const Ctx *c, double bottom)
{
    const DmtvTheme *th = c->th;
    const DmtvTrace *tr = c->tr;
    dmtv_fill(c->s, &th->label_bg, 0, DMTV_RULER_H, DMTV_LABEL_W, bottom - DMTV_RULER_H);
    dmtv_fill(c->s, &th->sep, DMTV_LABEL_W - 1, DMTV_RULER_H, 1, bottom - DMTV_RULER_H);
    int prev_kind = 0;
    int64_t prev_dev = -1;
    for (size_t i = 0; tr && i < tr->n_lanes; i++) {
        const DmtvLane *l = &tr->lanes[i];
        double y = dmtv_lane_y(tr, c->v, i), h = dmtv_lane_height(l->kind);
        if (y + dmtv_lane_full_height(l) < DMTV_RULER_H || y > bottom)
            continue;
        for (unsigned k = 0; k < l->n_fields; k++) { /* bitfield sub-lanes, indented */
            double fy = y + h + k * DMTV_FIELD_LANE_H;
            dmtv_fill(c->s, &th->reg_line, 0, fy, 3, DMTV_FIELD_LANE_H);
            dmtv_painter_text_fit(c->p, c->s, DMTV_FONT_SMALL, l->fields[k].name, 21, fy + 3,
                                  DMTV_LABEL_W - 26, &th->fg_dim);
        }
        if ((l->kind != prev_kind || l->dev != prev_dev) && i > 0)
            dmtv_fill(c->s, &th->sep, 0, y - DMTV_LANE_GAP, c->v->width, 1);
        prev_kind = l->kind;
        prev_dev = l->dev;
        const GdkRGBA *accent = l->kind == DMT_LANE_TRANSFERS    ? &th->to_dev
                                : l->kind == DMT_LANE_REGISTER   ? &th->reg_line
                                : l->kind == DMT_LANE_INTERRUPTS ? &th->irq
                                : l->kind == DMT_LANE_LOST       ? &th->err
                                : l->kind == DMT_LANE_FINDINGS   ? &th->warn
                                                                 : &th->marker;
        dmtv_fill(c->s, accent, 0, y, 3, h);
        DmtvFont f = l->kind == DMT_LANE_REGISTER ? DMTV_FONT_MONO : DMTV_FONT_LABEL;
        int tw, th2;
        dmtv_painter_text_size(c->p, f, l->label, &tw, &th2);
        if (l->sub[0] && h >= 30) {
            dmtv_painter_text_fit(c->p, c->s, f, l->label, 9, y + 3, DMTV_LABEL_W - 14, &th->fg);
            dmtv_painter_text_fit(c->p, c->s, DMTV_FONT_SMALL, l->sub, 9, y + 18, DMTV_LABEL_W - 14,
                                  &th->fg_dim);
        } else {
            dmtv_painter_text_fit(c->p, c->s, f, l->label, 9, y + (h - th2) / 2, DMTV_LABEL_W - 14,
                                  &th->fg);
            if (l->sub[0]) { /* right-aligned on the same line */
                int sw, sh;
                dmtv_painter_text_size(c->p, DMTV_FONT_SMALL, l->sub, &sw, &sh);
                if (9 + tw + 8 + sw < DMTV_LABEL_W - 6)
                    dmtv_painter_text(c->p, c->s, DMTV_FONT_SMALL, l->sub, DMTV_LABEL_W - 6 - sw,
                                      y + (h - sh) / 2, &th->fg_dim);
            }
        }
        if (l->kind == DMT_LANE_INTERRUPTS && tr->n_cpus)
            draw_cpu_legend(c, 9 + tw + 8, y, h);
    }
}

void dmtv_timeline_draw(GtkSnapshot *s, DmtvPainter *p, const DmtvTrace *tr, const DmtvFrame *fr,
                        const DmtvView *v)
{
    const DmtvTheme *th = dmtv_painter_theme(p);
    Ctx c = {s, p, th, tr, fr, v, DMTV_LABEL_W, v->width};
    double H = v->height, W = v->width;
    dmtv_fill(s, &th->bg, 0, 0, W, H);
    double lanes_bottom = tr ? MIN(H, dmtv_lane_y(tr, v, tr->n_lanes)) : H;

    gtk_snapshot_push_clip(s, &GRAPHENE_RECT_INIT((float)DMTV_LABEL_W, (float)DMTV_RULER_H,
                                                  (float)(W - DMTV_LABEL_W),
                                                  (float)(H - DMTV_RULER_H)));
    /* lane backgrounds */
    for (size_t i = 0; tr && i < tr->n_lanes; i++) {
        double y = dmtv_lane_y(tr, v, i), h = dmtv_lane_full_height(&tr->lanes[i]);
        if (y + h < DMTV_RULER_H || y > H)
            continue;
        if (i % 2)
            dmtv_fill(s, &th->lane_alt, DMTV_LABEL_W, y, W - DMTV_LABEL_W, h + DMTV_LANE_GAP);
    }
    draw_grid(&c, DMTV_RULER_H, lanes_bottom);
    if (tr)
        draw_lost(&c, DMTV_RULER_H, lanes_bottom - DMTV_RULER_H, FALSE);
    if (v->has_range) {
        double x0 = X(&c, MIN(v->range_t0, v->range_t1)), x1 = X(&c, MAX(v->range_t0, v->range_t1));
        dmtv_fill(s, &th->range, clampx(&c, x0), DMTV_RULER_H, clampx(&c, x1) - clampx(&c, x0),
                  H - DMTV_RULER_H);
    }
    for (size_t i = 0; tr && i < tr->n_lanes; i++) {
        const DmtvLane *l = &tr->lanes[i];
        double y = dmtv_lane_y(tr, v, i), h = dmtv_lane_height(l->kind);
        if (y + dmtv_lane_full_height(l) < DMTV_RULER_H || y > H)
            continue;
        const DmtvLaneData *d = fr && i < fr->n_lanes ? &fr->lanes[i] : NULL;
        switch (l->kind) {
        case DMT_LANE_TRANSFERS:
            if (d && d->summary)
                draw_transfers_summary(&c, d, y + 2, h - 4);
            else if (d)
                draw_transfers_detail(&c, d, y + 2);
            break;
        case DMT_LANE_REGISTER:
            if (d)
                draw_register(&c, d, y, h);
            for (unsigned k = 0; d && k < l->n_fields; k++)
                draw_field(&c, l, k, d, y + h + k * DMTV_FIELD_LANE_H, DMTV_FIELD_LANE_H);
            break;
        case DMT_LANE_INTERRUPTS:
            if (d)
                draw_irq_lane(&c, d, y, h);
            break;
        case DMT_LANE_MARKERS:
            if (d)
                draw_markers(&c, d, y, h);
            break;
        case DMT_LANE_LOST:
            draw_lost(&c, y, h, TRUE);
            break;
        case DMT_LANE_FINDINGS:
            draw_findings(&c, y, h);
            break;
        default:
            break;
        }
    }
    if (tr)
        draw_findings_on_lanes(&c);
    if (v->has_cursor) {
        double x = X(&c, v->cursor_ts);
        if (x >= c.xl && x <= c.xr)
            dmtv_fill(s, &th->cursor, x, DMTV_RULER_H, 1, H - DMTV_RULER_H);
    }
    gtk_snapshot_pop(s);

    gtk_snapshot_push_clip(s, &GRAPHENE_RECT_INIT(0, (float)DMTV_RULER_H, (float)DMTV_LABEL_W,
                                                  (float)(H - DMTV_RULER_H)));
    draw_labels(&c, H);
    gtk_snapshot_pop(s);
    draw_ruler(&c);
    draw_cursor_readout(&c);
}

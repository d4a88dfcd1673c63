/*
 * test-render.c - the headless renderer, checked by looking at the pixels:
 * every lane drawn (its accent stripe), a known transfer's span at the
 * right x for a given window, findings and the lost range marked, the
 * layout view showing the right number of blocks, sub-pixel spans folded
 * (node count follows pixels, not events), dark theme, and the --render
 * command line: exit 0 with a PNG of the asked size, exit 2 for corrupt,
 * foreign or badly asked input.  No display needed.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "dmt/testkit.h"
#include "dmtv-layout.h"
#include "dmtv-painter.h"
#include "dmtv-render.h"
#include "dmtv-timeline-draw.h"
#include "tracegen.h"

#define N 1200
#define W 1600
#define H 900

typedef struct {
    guchar *px;
    int w, h;
    gsize stride;
} Img;

static Img download(GdkTexture *t)
{
    Img i;
    i.w = gdk_texture_get_width(t);
    i.h = gdk_texture_get_height(t);
    i.stride = (gsize)i.w * 4;
    i.px = g_malloc(i.stride * (gsize)i.h);
    gdk_texture_download(t, i.px, i.stride); /* cairo ARGB32: B G R A in memory */
    return i;
}

static gboolean is_color(const Img *im, double x, double y, const GdkRGBA *c)
{
    int xi = (int)x, yi = (int)y;
    if (xi < 0 || yi < 0 || xi >= im->w || yi >= im->h)
        return FALSE;
    const guchar *p = im->px + (gsize)yi * im->stride + (gsize)xi * 4;
    int r = (int)lround(c->red * 255), g = (int)lround(c->green * 255),
        b = (int)lround(c->blue * 255);
    return abs(p[2] - r) <= 10 && abs(p[1] - g) <= 10 && abs(p[0] - b) <= 10;
}

static void dump_px(const Img *im, double x, double y)
{
    const guchar *p = im->px + (gsize)(int)y * im->stride + (gsize)(int)x * 4;
    fprintf(stderr, "  pixel (%d,%d) = #%02x%02x%02x\n", (int)x, (int)y, p[2], p[1], p[0]);
}

static const DmtvTheme *theme(gboolean dark)
{
    static DmtvPainter *p[2];
    if (!p[dark]) {
        PangoContext *c = dmtv_render_pango_context();
        p[dark] = dmtv_painter_new(c, dark);
        g_object_unref(c);
    }
    return dmtv_painter_theme(p[dark]);
}

static GdkTexture *render(DmtvModel *m, DmtvRenderOpts *o, const char *save)
{
    GError *e = NULL;
    GdkTexture *t = dmtv_render_texture(m, o, &e);
    CHECKF(t != NULL, "%s", e ? e->message : "");
    const char *dir = g_getenv("DMTV_RENDER_OUT");
    if (t && dir && save) {
        char *p = g_build_filename(dir, save, NULL);
        gdk_texture_save_to_png(t, p);
        g_free(p);
    }
    return t;
}

static gssize lane_of(const DmtvTrace *tr, int kind, int64_t adapter)
{
    for (size_t i = 0; i < tr->n_lanes; i++)
        if (tr->lanes[i].kind == kind && (adapter < 0 || tr->lanes[i].adapter == adapter))
            return (gssize)i;
    return -1;
}

static DmtvView view_of(const DmtvTrace *tr, const DmtvRenderOpts *o)
{
    DmtvView v = {0};
    v.t0 = tr->t_first + o->from;
    v.t1 = tr->t_first + o->to;
    v.width = o->width;
    v.height = o->height;
    return v;
}

/* every lane shows its accent stripe in the label column */
static void check_lanes(DmtvModel *m)
{
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    const DmtvTheme *th = theme(FALSE);
    DmtvRenderOpts o = {.width = W, .height = 1400};
    GdkTexture *t = render(m, &o, "render-all.png");
    if (!t)
        return;
    Img im = download(t);
    DmtvView v = {.width = W, .height = 1400};
    int seen = 0;
    for (size_t i = 0; i < tr->n_lanes; i++) {
        int k = tr->lanes[i].kind;
        const GdkRGBA *accent = k == DMT_LANE_TRANSFERS    ? &th->to_dev
                                : k == DMT_LANE_REGISTER   ? &th->reg_line
                                : k == DMT_LANE_INTERRUPTS ? &th->irq
                                : k == DMT_LANE_LOST       ? &th->err
                                : k == DMT_LANE_FINDINGS   ? &th->warn
                                                           : &th->marker;
        double y = dmtv_lane_y(tr, &v, i) + dmtv_lane_height(k) / 2;
        if (is_color(&im, 1, y, accent))
            seen++;
        else
            CHECKF(0, "lane %zu (%s) has no accent at y %.0f", i, tr->lanes[i].label, y);
    }
    CHECK(seen == (int)tr->n_lanes && seen >= 20);
    g_free(im.px);
    g_object_unref(t);
}

/* W x H from 10 us before transfer 7 to 10 us after it */
static DmtvRenderOpts around_xfer7(const DmtvTrace *tr)
{
    DmtvRenderOpts o = {.width = W, .height = H, .has_from = TRUE, .has_to = TRUE};
    o.from = tg_start_ts(7) - 10000 - tr->t_first;
    o.to = tg_complete_ts(7) + 10000 - tr->t_first;
    return o;
}

/* transfer 7's span starts and ends where the window says */
static void check_span(DmtvModel *m)
{
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    const DmtvTheme *th = theme(FALSE);
    DmtvRenderOpts o = around_xfer7(tr);
    GdkTexture *t = render(m, &o, "render-span.png");
    if (!t)
        return;
    Img im = download(t);
    DmtvView v = view_of(tr, &o);
    gssize li = lane_of(tr, DMT_LANE_TRANSFERS, 1);
    double x0 = dmtv_x_of(&v, tg_start_ts(7)), x1 = dmtv_x_of(&v, tg_complete_ts(7));
    /* 40 µs window over 1432 px: the 20 µs span is 716 px wide, from 358 px in */
    CHECKF(fabs(x0 - (DMTV_LABEL_W + 358)) < 1.5, "x0 %.1f", x0);
    CHECKF(fabs(x1 - x0 - 716) < 1.5, "width %.1f", x1 - x0);
    double y = dmtv_lane_y(tr, &v, (size_t)li) + 2 + 38; /* below the label, above marks */
    const GdkRGBA *blue = &th->to_dev;                   /* odd transfers move memory -> device */
    CHECK(is_color(&im, x0 + 3, y, blue));
    CHECK(is_color(&im, x1 - 3, y, blue));
    CHECK(is_color(&im, (x0 + x1) / 2, y, blue));
    CHECK(!is_color(&im, x0 - 3, y, blue));
    CHECK(!is_color(&im, x1 + 3, y, blue));
    if (!is_color(&im, x0 + 3, y, blue))
        dump_px(&im, x0 + 3, y);
    g_free(im.px);
    g_object_unref(t);
}

/* a column of the transfers lane holds the colour somewhere */
static gboolean column_has(const Img *im, double x, double y0, double y1, const GdkRGBA *c)
{
    for (double y = y0; y < y1; y++)
        if (is_color(im, x, y, c))
            return TRUE;
    return FALSE;
}

static gboolean row_has(const Img *im, double y, const GdkRGBA *c)
{
    for (double x = DMTV_LABEL_W + 2; x < im->w - 2; x++)
        if (is_color(im, x, y, c))
            return TRUE;
    return FALSE;
}

/* a register lane expanded into bitfield lanes (--expand-register): one
 * sub-lane per field of the register map, in its order (IRQ_STATUS:
 * CH0_DONE, CH0_ERR, CH1_DONE, CH1_ERR), the lanes below moved down, each
 * sub-lane with the register accent in the label column and drawn as a
 * digital line: CH0_DONE toggles over transfers 6..9 (both rails drawn),
 * CH0_ERR stays low (low rail only) */
static void check_expand(DmtvModel *m)
{
    CHECK(dmtv_model_expand_register(m, "NO_SUCH_REGISTER", TRUE) < 0);
    gssize li = dmtv_model_expand_register(m, "IRQ_STATUS", TRUE);
    CHECK(li >= 0);
    if (li < 0)
        return;
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    const DmtvLane *l = &tr->lanes[li];
    CHECK(l->n_fields == 4 && !strcmp(l->fields[0].name, "CH0_DONE") &&
          !strcmp(l->fields[1].name, "CH0_ERR") && l->fields[1].low == 1);
    const DmtvTheme *th = theme(FALSE);
    DmtvRenderOpts o = {.width = W, .height = 1400, .has_from = TRUE, .has_to = TRUE};
    o.from = tg_start_ts(6) - tr->t_first;
    o.to = tg_complete_ts(9) + 10000 - tr->t_first;
    GdkTexture *t = render(m, &o, "render-expand.png");
    if (t) {
        Img im = download(t);
        DmtvView v = view_of(tr, &o);
        double top = dmtv_lane_y(tr, &v, (size_t)li);
        double step = dmtv_lane_y(tr, &v, (size_t)li + 1) - top;
        CHECKF(fabs(step - (DMTV_REG_LANE_H + 4 * DMTV_FIELD_LANE_H + DMTV_LANE_GAP)) < 0.5,
               "expanded lane %.1f px", step);
        for (unsigned k = 0; k < 4; k++) {
            double fy = top + DMTV_REG_LANE_H + k * DMTV_FIELD_LANE_H;
            CHECKF(is_color(&im, 1, fy + DMTV_FIELD_LANE_H / 2, &th->reg_line), "field %u accent",
                   k);
            gboolean high = row_has(&im, fy + 2, &th->reg_line);
            gboolean low = row_has(&im, fy + DMTV_FIELD_LANE_H - 3, &th->reg_line);
            if (k == 0)
                CHECKF(high && low, "CH0_DONE toggles: high %d low %d", high, low);
            if (k == 1)
                CHECKF(!high && low, "CH0_ERR stays 0: high %d low %d", high, low);
        }
        g_free(im.px);
        g_object_unref(t);
    }
    CHECK(dmtv_model_expand_register(m, "irq_status", FALSE) == li && l->n_fields == 0);
}

/* hovering IRQ_STATUS between transfers 7 and 8 shows its value decoded
 * by the map in a box below-right of the pointer; none without a cursor */
static void check_hover(DmtvModel *m)
{
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    gssize li = -1;
    for (size_t i = 0; i < tr->n_lanes; i++)
        if (!strcmp(tr->lanes[i].label, "IRQ_STATUS"))
            li = (gssize)i;
    CHECK(li >= 0);
    if (li < 0)
        return;
    const DmtvTheme *th = theme(FALSE);
    DmtvRenderOpts o = {.width = W, .height = 1400, .has_from = TRUE, .has_to = TRUE};
    o.from = tg_start_ts(6) - tr->t_first;
    o.to = tg_complete_ts(9) + 10000 - tr->t_first;
    DmtvView v = view_of(tr, &o);
    int64_t at = (tg_complete_ts(7) + tg_start_ts(8)) / 2;
    double x = dmtv_x_of(&v, at), y = dmtv_lane_y(tr, &v, (size_t)li) + 8;
    for (int with = 0; with < 2; with++) {
        o.has_cursor = with;
        o.cursor = at - tr->t_first;
        o.cursor_y = y;
        GdkTexture *t = render(m, &o, with ? "render-hover.png" : NULL);
        if (!t)
            return;
        Img im = download(t);
        /* the box starts 8 px right of the pointer, 12 px below it */
        gboolean box = is_color(&im, x + 9, y + 13, &th->cursor);
        CHECKF(box == with, "hover box %d with cursor %d", box, with);
        g_free(im.px);
        g_object_unref(t);
    }
}

/* some pixel of the rectangle [x0, x1] x [y0, y1] has the colour */
static gboolean area_has(const Img *im, double x0, double y0, double x1, double y1,
                         const GdkRGBA *c)
{
    for (double x = x0; x <= x1; x++)
        if (column_has(im, x, y0, y1 + 1, c))
            return TRUE;
    return FALSE;
}

/* transfer 7's ISR (CPU 0) and DPC (its own CPU) in their CPUs' colours,
 * its ExecuteDma's pin in its CPU's; hovering the DPC names it */
static void check_cpus(DmtvModel *m)
{
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    const DmtvTheme *th = theme(FALSE);
    DmtvRenderOpts o = around_xfer7(tr);
    DmtvView v = view_of(tr, &o);
    gssize li = lane_of(tr, DMT_LANE_INTERRUPTS, -1), lx = lane_of(tr, DMT_LANE_TRANSFERS, 1);
    CHECK(li >= 0 && lx >= 0 && tr->lanes[li].dev == 0);
    if (li < 0 || lx < 0)
        return;
    double top = dmtv_lane_y(tr, &v, (size_t)li), lh = dmtv_lane_height(DMT_LANE_INTERRUPTS);
    double xi = dmtv_x_of(&v, tg_complete_ts(7) - 6000),
           xd = dmtv_x_of(&v, tg_complete_ts(7) - 3000);
    double xe = dmtv_x_of(&v, tg_start_ts(7) + 1000), ys = dmtv_lane_y(tr, &v, (size_t)lx) + 2;
    const GdkRGBA *isr = &th->cpu[TG_ISR_CPU], *dpc = &th->cpu[tg_dpc_cpu(7)];
    const GdkRGBA *exec = &th->cpu[tg_exec_cpu(7)];
    CHECK(isr != dpc && dpc != exec);
    o.has_cursor = TRUE;
    o.cursor = tg_complete_ts(7) - 3000 + 100 - tr->t_first; /* 2.4 px right of the DPC */
    o.cursor_y = top + lh * 0.75;
    GdkTexture *t = render(m, &o, "render-cpus.png");
    if (!t)
        return;
    Img im = download(t);
    CHECK(area_has(&im, xi - 1, top + 3, xi + 1, top + lh / 2 - 1, isr));
    CHECK(!area_has(&im, xi - 1, top + 3, xi + 1, top + lh / 2 - 1, dpc));
    CHECK(area_has(&im, xd - 1, top + lh / 2 + 2, xd + 1, top + lh - 2, dpc));
    CHECK(!area_has(&im, xd - 1, top + lh / 2 + 2, xd + 1, top + lh - 2, isr));
    CHECK(area_has(&im, xe - 2, ys, xe + 3, ys + 3, exec));
    CHECK(!area_has(&im, xe - 40, ys, xe - 30, ys + 3, exec));
    CHECK(is_color(&im, dmtv_x_of(&v, tr->t_first + o.cursor) + 9, o.cursor_y + 13, &th->cursor));
    g_free(im.px);
    g_object_unref(t);
}

/* the bounce-buffered transfer carries the purple band, its neighbour not */
static void check_bounce(DmtvModel *m)
{
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    const DmtvTheme *th = theme(FALSE);
    DmtvRenderOpts o = {.width = W, .height = H, .has_from = TRUE, .has_to = TRUE};
    o.from = tg_start_ts(TG_XFER_BOUNCE) - tr->t_first - 5000;
    o.to = tg_complete_ts(TG_XFER_BOUNCE + 1) - tr->t_first + 5000;
    GdkTexture *t = render(m, &o, "render-bounce.png");
    if (!t)
        return;
    Img im = download(t);
    DmtvView v = view_of(tr, &o);
    gssize li = lane_of(tr, DMT_LANE_TRANSFERS, 1);
    double y0 = dmtv_lane_y(tr, &v, (size_t)li), y1 = y0 + dmtv_lane_height(DMT_LANE_TRANSFERS);
    int with = 0, without = 0;
    for (int k = -2; k <= 2; k++) {
        double xb = (dmtv_x_of(&v, tg_start_ts(TG_XFER_BOUNCE)) +
                     dmtv_x_of(&v, tg_complete_ts(TG_XFER_BOUNCE))) /
                        2 +
                    k * 20;
        double xn = (dmtv_x_of(&v, tg_start_ts(TG_XFER_BOUNCE + 1)) +
                     dmtv_x_of(&v, tg_complete_ts(TG_XFER_BOUNCE + 1))) /
                        2 +
                    k * 20;
        with += column_has(&im, xb, y0, y1, &th->bounce);
        without += column_has(&im, xn, y0, y1, &th->bounce);
    }
    CHECKF(with == 5 && without == 0, "bounce band in %d of 5 columns, on the neighbour in %d",
           with, without);
    g_free(im.px);
    g_object_unref(t);
}

/* the sg-overlap finding (transfer 4's ExecuteDma) and the lost range */
static void check_marks(DmtvModel *m)
{
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    const DmtvTheme *th = theme(FALSE);
    DmtvRenderOpts o = {.width = W, .height = H, .has_from = TRUE, .has_to = TRUE};
    o.from = tg_start_ts(TG_XFER_OVL) - tr->t_first - 50000;
    o.to = tg_complete_ts(TG_LOST_AFTER) - tr->t_first + 50000;
    GdkTexture *t = render(m, &o, "render-marks.png");
    if (!t)
        return;
    Img im = download(t);
    DmtvView v = view_of(tr, &o);
    gssize lf = lane_of(tr, DMT_LANE_FINDINGS, -1), ll = lane_of(tr, DMT_LANE_LOST, -1);
    double xf = dmtv_x_of(&v, tg_start_ts(TG_XFER_OVL) + 1000);
    double yf = dmtv_lane_y(tr, &v, (size_t)lf) + 4; /* the pin's wide top */
    CHECK(is_color(&im, xf, yf, &th->err));
    CHECK(!is_color(&im, xf - 20, yf, &th->err));
    const DmtvLost *l = &tr->lost[0];
    double xl = (dmtv_x_of(&v, l->t0) + dmtv_x_of(&v, l->t1)) / 2;
    double yl = dmtv_lane_y(tr, &v, (size_t)ll) + dmtv_lane_height(DMT_LANE_LOST) / 2;
    CHECK(is_color(&im, xl, yl, &th->err));
    CHECK(!is_color(&im, xl - 30, yl, &th->err));
    /* the shading crosses the other lanes too: no longer the plain lane background */
    double yo = dmtv_lane_y(tr, &v, 0) + 2;
    CHECK(!is_color(&im, xl, yo, &th->bg));
    g_free(im.px);
    g_object_unref(t);
}

static int count_runs(const Img *im, double y, const GdkRGBA *c)
{
    int runs = 0, len = 0;
    for (int x = 0; x < im->w; x++) {
        if (is_color(im, x, y, c)) {
            len++;
        } else {
            if (len >= 2)
                runs++;
            len = 0;
        }
    }
    return runs + (len >= 2);
}

static void check_layout(DmtvModel *m)
{
    const DmtvTheme *th = theme(FALSE);
    DmtvRenderOpts o = {
        .width = W, .height = 500, .view = DMTV_RENDER_LAYOUT, .select = TG_XFER_ADJ};
    GdkTexture *t = render(m, &o, "render-layout-one.png");
    if (!t)
        return;
    Img im = download(t);
    /* row 0 spans y 46..70, blocks y 49..66 */
    int runs = count_runs(&im, 64, &th->to_dev);
    CHECKF(runs == 3, "%d blocks drawn for transfer %u", runs, TG_XFER_ADJ);
    g_free(im.px);
    g_object_unref(t);

    /* every transfer in a window: one row each, blocks = all their elements */
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    o.select = 0;
    o.has_from = o.has_to = TRUE;
    o.from = tg_start_ts(20) - tr->t_first;
    o.to = tg_complete_ts(23) - tr->t_first;
    GArray *xs = dmtv_model_transfers_in(m, tr->t_first + o.from, tr->t_first + o.to, 256);
    guint want = 0;
    uint32_t ids[256];
    for (guint i = 0; i < xs->len; i++) {
        ids[i] = g_array_index(xs, DmtvTransfer, i).xfer;
        want += tg_n_sg(ids[i]);
    }
    DmtvLayout *l = dmtv_layout_new(m, ids, xs->len);
    CHECK(dmtv_layout_n_rows(l) == xs->len && xs->len >= 4);
    CHECK(dmtv_layout_n_blocks(l) == want);
    CHECK(dmtv_layout_n_bounced(l) == 0); /* 20..23: checked, not bounced */
    dmtv_layout_free(l);
    uint32_t bx[3] = {TG_XFER_BOUNCE - 1, TG_XFER_BOUNCE, TG_XFER_BOUNCE + 1};
    l = dmtv_layout_new(m, bx, 3);
    CHECK(dmtv_layout_n_rows(l) == 3 && dmtv_layout_n_bounced(l) == 1);
    dmtv_layout_free(l);
    t = render(m, &o, "render-layout-window.png");
    if (t) {
        im = download(t);
        guint drawn = 0;
        for (guint r = 0; r < xs->len; r++) {
            drawn += (guint)count_runs(&im, 46 + r * 24 + 18, &th->to_dev);
            drawn += (guint)count_runs(&im, 46 + r * 24 + 18, &th->from_dev);
        }
        CHECKF(drawn == want, "%u of %u blocks drawn", drawn, want);
        g_free(im.px);
        g_object_unref(t);
    }
    g_array_unref(xs);
}

static guint count_nodes(GskRenderNode *n)
{
    guint c = 1;
    switch (gsk_render_node_get_node_type(n)) {
    case GSK_CONTAINER_NODE:
        for (guint i = 0; i < gsk_container_node_get_n_children(n); i++)
            c += count_nodes(gsk_container_node_get_child(n, i));
        break;
    case GSK_CLIP_NODE:
        c += count_nodes(gsk_clip_node_get_child(n));
        break;
    case GSK_TRANSFORM_NODE:
        c += count_nodes(gsk_transform_node_get_child(n));
        break;
    default:
        break;
    }
    return c;
}

/* many sub-pixel spans in an exact-events frame: folded, never one node each */
static void check_folding(DmtvModel *m)
{
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    DmtvRenderOpts o = {.width = DMTV_LABEL_W + 400, .height = H, .has_from = TRUE, .has_to = TRUE};
    o.from = tg_start_ts(1) - tr->t_first;
    o.to = tg_start_ts(600) - tr->t_first;
    const DmtvFrame *f = dmtv_model_frame(m, tr->t_first + o.from, tr->t_first + o.to, 400);
    size_t spans = 0, edges = 0;
    for (size_t i = 0; i < f->n_lanes; i++) {
        spans += f->lanes[i].n_spans;
        edges += f->lanes[i].n_edges;
    }
    CHECKF(f->level == -1 && spans >= 800, "level %d, %zu spans", f->level, spans);
    GskRenderNode *n = dmtv_render_node(m, &o);
    guint nodes = count_nodes(n);
    CHECKF(nodes < (spans + edges) / 4, "%u nodes for %zu spans and %zu register accesses", nodes,
           spans, edges);
    gsk_render_node_unref(n);
}

static void check_dark(DmtvModel *m)
{
    DmtvRenderOpts o = {.width = 800, .height = 400, .dark = TRUE};
    GdkTexture *t = render(m, &o, "render-dark.png");
    if (!t)
        return;
    Img im = download(t);
    CHECK(is_color(&im, 700, 390, &theme(TRUE)->bg));
    g_free(im.px);
    g_object_unref(t);
}

static int run_cli(const char *args)
{
    char *cmd = g_strdup_printf("%s %s 2>/dev/null", DMTV_VIEWER_BIN, args);
    int st = system(cmd);
    g_free(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void check_cli(const char *dir, const char *db, const char *dmat)
{
    char *out = g_build_filename(dir, "cli.png", NULL);
    char *args =
        g_strdup_printf("--render '%s' --size 900x500 --from 0.2ms --to 1ms '%s'", out, db);
    CHECK(run_cli(args) == 0);
    g_free(args);
    GdkTexture *t = gdk_texture_new_from_filename(out, NULL);
    CHECK(t && gdk_texture_get_width(t) == 900 && gdk_texture_get_height(t) == 500);
    g_clear_object(&t);
    g_unlink(out);
    /* a .dmat goes through the cache import */
    args = g_strdup_printf("--render '%s' --view layout '%s'", out, dmat);
    CHECK(run_cli(args) == 0);
    CHECK(g_file_test(out, G_FILE_TEST_EXISTS));
    g_free(args);

    char *bad = g_build_filename(dir, "garbage.db", NULL);
    g_file_set_contents(bad, "definitely not a trace", -1, NULL);
    args = g_strdup_printf("--render '%s' '%s'", out, bad);
    CHECK(run_cli(args) == 2);
    g_free(args);
    /* a trace header followed by junk */
    char junk[4096];
    memcpy(junk, "\xd9\xd9\xf7\xa8\x65magic", 10);
    for (size_t i = 10; i < sizeof junk; i++)
        junk[i] = (char)(i * 37 + 11);
    g_file_set_contents(bad, junk, sizeof junk, NULL);
    char *bad2 = g_build_filename(dir, "junk.dmat", NULL);
    g_rename(bad, bad2);
    args = g_strdup_printf("--render '%s' '%s'", out, bad2);
    CHECK(run_cli(args) == 2);
    g_free(args);
    /* an SQLite database of another program */
    sqlite3 *s;
    sqlite3_open(bad, &s);
    sqlite3_exec(s, "CREATE TABLE t(x);", NULL, NULL, NULL);
    sqlite3_close(s);
    args = g_strdup_printf("--render '%s' '%s'", out, bad);
    CHECK(run_cli(args) == 2);
    g_free(args);
    args = g_strdup_printf("--render '%s' --size 10x10 '%s'", out, db);
    CHECK(run_cli(args) == 2);
    g_free(args);
    args = g_strdup_printf("--render '%s' --view sideways '%s'", out, db);
    CHECK(run_cli(args) == 2);
    g_free(args);
    CHECK(run_cli("--help >/dev/null") == 0);
    g_free(bad);
    g_free(bad2);
    g_free(out);
}

int main(void)
{
    dmtv_render_init_types();
    char *dir = tg_tmpdir();
    g_setenv("XDG_CACHE_HOME", dir, TRUE);
    char *dmat = g_build_filename(dir, "t.dmat", NULL);
    char *db = g_build_filename(dir, "t.db", NULL);
    if (tg_make_db(dmat, db, N) != 0)
        return 1;
    DmtvModel *m = dmtv_model_open(db, NULL);
    CHECK(m != NULL);
    if (m) {
        check_lanes(m);
        check_span(m);
        check_marks(m);
        check_cpus(m);
        check_bounce(m);
        check_layout(m);
        check_folding(m);
        check_dark(m);
        check_hover(m);
        check_expand(m);
        g_object_unref(m);
    }
    check_cli(dir, db, dmat);
    CHECK(tg_fixtures_done(dir, db, dmat) == 0);
    return tk_result("viewer_render");
}

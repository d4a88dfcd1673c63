/*
 * dmtv-render.c - --render: a store or trace to a PNG without a display
 * (see dmtv-render.h).  Builds the same DmtvView/DmtvFrame the timeline
 * widget would and calls the same drawing functions, then renders the node
 * tree with gsk_cairo_renderer.
 */
#define G_LOG_DOMAIN "dmtv-render"

#include "dmtv-render.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dmtv-import.h"
#include "dmtv-layout.h"
#include "dmtv-painter.h"
#include "dmtv-timeline-draw.h"
#include "dmtv-units.h"

void dmtv_render_init_types(void)
{
    /* registering one node type registers them all (gsk_render_node_init_types) */
    g_type_ensure(GSK_TYPE_COLOR_NODE);
    g_type_ensure(GSK_TYPE_CONTAINER_NODE);
    g_type_ensure(GSK_TYPE_TEXT_NODE);
    g_type_ensure(GSK_TYPE_TRANSFORM_NODE);
    g_type_ensure(GSK_TYPE_CLIP_NODE);
    g_type_ensure(GSK_TYPE_REPEATING_LINEAR_GRADIENT_NODE);
}

PangoContext *dmtv_render_pango_context(void)
{
    PangoFontMap *fm = pango_cairo_font_map_get_default();
    PangoContext *ctx = pango_font_map_create_context(fm);
    pango_cairo_context_set_resolution(ctx, 96);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_SLIGHT);
    pango_cairo_context_set_font_options(ctx, fo);
    cairo_font_options_destroy(fo);
    return ctx;
}

GskRenderNode *dmtv_render_node(DmtvModel *model, const DmtvRenderOpts *o)
{
    const DmtvTrace *tr = dmtv_model_get_trace(model);
    PangoContext *pc = dmtv_render_pango_context();
    DmtvPainter *p = dmtv_painter_new(pc, o->dark);
    g_object_unref(pc);
    GtkSnapshot *s = gtk_snapshot_new();
    int64_t t0 = o->has_from ? tr->t_first + o->from : tr->t_first;
    int64_t t1 = o->has_to ? tr->t_first + o->to : tr->t_last;
    if (!o->has_from && !o->has_to) {
        /* fit all, with a little air on both sides */
        int64_t pad = MAX((t1 - t0) / 50, 1);
        t0 -= pad;
        t1 += pad;
    }
    if (t1 <= t0)
        t1 = t0 + 1000;
    if (o->view == DMTV_RENDER_LAYOUT) {
        GArray *xs = NULL;
        guint n = 0;
        uint32_t *ids;
        if (o->select) {
            ids = g_new(uint32_t, 1);
            ids[0] = o->select;
            n = 1;
        } else {
            xs = dmtv_model_transfers_in(model, t0, t1, DMTV_LAYOUT_MAX_XFERS);
            n = xs->len;
            ids = g_new(uint32_t, MAX(n, 1));
            for (guint i = 0; i < n; i++)
                ids[i] = g_array_index(xs, DmtvTransfer, i).xfer;
            g_array_unref(xs);
        }
        DmtvLayout *l = dmtv_layout_new(model, ids, n);
        dmtv_layout_draw(s, p, l, o->width, o->height, o->select);
        dmtv_layout_free(l);
        g_free(ids);
    } else {
        DmtvView v = {0};
        v.t0 = t0;
        v.t1 = t1;
        v.width = o->width;
        v.height = o->height;
        v.sel_xfer = o->select;
        v.sel_finding = -1;
        v.dark = o->dark;
        v.has_cursor = o->has_cursor;
        v.cursor_ts = tr->t_first + o->cursor;
        v.cursor_y = o->cursor_y;
        const DmtvFrame *fr = dmtv_model_frame(model, t0, t1, o->width - DMTV_LABEL_W);
        dmtv_timeline_draw(s, p, tr, fr, &v);
    }
    dmtv_painter_free(p);
    return gtk_snapshot_free_to_node(s);
}

GdkTexture *dmtv_render_texture(DmtvModel *model, const DmtvRenderOpts *o, GError **error)
{
    dmtv_render_init_types();
    GskRenderNode *node = dmtv_render_node(model, o);
    GskRenderer *r = gsk_cairo_renderer_new();
    if (!gsk_renderer_realize(r, NULL, error)) {
        gsk_render_node_unref(node);
        g_object_unref(r);
        return NULL;
    }
    graphene_rect_t vp = GRAPHENE_RECT_INIT(0, 0, (float)o->width, (float)o->height);
    GdkTexture *tex = gsk_renderer_render_texture(r, node, &vp);
    gsk_renderer_unrealize(r);
    g_object_unref(r);
    gsk_render_node_unref(node);
    return tex;
}

static int usage(FILE *f)
{
    fprintf(f, "Usage: dmatrace-viewer [FILE]\n"
               "       dmatrace-viewer --follow FILE.dmat\n"
               "       dmatrace-viewer --render OUT.png [--size WxH] [--from T --to T]\n"
               "                       [--view timeline|layout] [--select XFER] [--dark]\n"
               "                       [--expand-register NAME]... FILE\n"
               "\n"
               "Opens a dmatrace database (.db) or trace (.dmat, imported into a cache\n"
               "database first).  --follow (and opening a trace that has no END record\n"
               "and changed in the last 5 s) shows a trace while it is being recorded: the\n"
               "view scrolls with the newest records and the audit's findings appear as\n"
               "they happen; scrolling back or selecting a transfer pauses, End resumes.\n"
               "--render draws the timeline (or the transfer layout) to a\n"
               "PNG without a display (a trace still being written: what is on disk\n"
               "now).  T is a time since the first record: 2.5ms, 120us,\n"
               "1s, or ns.  --expand-register shows a register lane (by its name in the\n"
               "register map, e.g. CH[0].STATUS) as one waveform per bitfield.\n"
               "--regmap FILE.xml [--variant NAME] [--domain NAME] names registers and\n"
               "fields (default: the sample device's dmm.xml; 'none': offsets only).\n"
               "Exit status: 0 written, 2 bad usage or input, 3 I/O failure.\n");
    return f == stdout ? 0 : 2;
}

static gboolean progress_tty(double f, const char *phase, gpointer user)
{
    (void)user;
    fprintf(stderr, "\rimporting: %-32s %3d%%", phase, (int)(f * 100));
    return TRUE;
}

int dmtv_render_main(int argc, char **argv)
{
    const char *out = NULL, *in = NULL;
    DmtvRenderOpts o = {.width = 1600, .height = 900};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--render") && val) {
            out = val;
            i++;
        } else if (!strcmp(a, "--size") && val) {
            if (sscanf(val, "%dx%d", &o.width, &o.height) != 2 || o.width < 200 || o.height < 100 ||
                o.width > 16384 || o.height > 16384) {
                fprintf(stderr,
                        "dmatrace-viewer: --size %s: expected WxH, 200x100 .. "
                        "16384x16384\n",
                        val);
                return 2;
            }
            i++;
        } else if ((!strcmp(a, "--from") || !strcmp(a, "--to")) && val) {
            int64_t t;
            if (dmtv_parse_time(val, &t) != 0) {
                fprintf(stderr, "dmatrace-viewer: %s %s: expected a time like 2.5ms\n", a, val);
                return 2;
            }
            if (a[2] == 'f') {
                o.has_from = TRUE;
                o.from = t;
            } else {
                o.has_to = TRUE;
                o.to = t;
            }
            i++;
        } else if (!strcmp(a, "--view") && val) {
            if (!strcmp(val, "timeline"))
                o.view = DMTV_RENDER_TIMELINE;
            else if (!strcmp(val, "layout"))
                o.view = DMTV_RENDER_LAYOUT;
            else {
                fprintf(stderr, "dmatrace-viewer: --view %s: expected timeline or layout\n", val);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--select") && val) {
            o.select = (uint32_t)g_ascii_strtoull(val, NULL, 0);
            i++;
        } else if (!strcmp(a, "--expand-register") && val) {
            size_t k = 0;
            while (k < G_N_ELEMENTS(o.expand) - 1 && o.expand[k])
                k++;
            if (k == G_N_ELEMENTS(o.expand) - 1) {
                fprintf(stderr, "dmatrace-viewer: at most %zu --expand-register\n", k);
                return 2;
            }
            o.expand[k] = val;
            i++;
        } else if (!strcmp(a, "--dark")) {
            o.dark = TRUE;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            return usage(stdout);
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "dmatrace-viewer: unknown option %s\n", a);
            return usage(stderr);
        } else if (!in) {
            in = a;
        } else {
            fprintf(stderr, "dmatrace-viewer: one input file only\n");
            return 2;
        }
    }
    if (!out || !in)
        return usage(stderr);
    if (o.has_from && o.has_to && o.to <= o.from) {
        fprintf(stderr, "dmatrace-viewer: --to must be after --from\n");
        return 2;
    }
    GError *err = NULL;
    gboolean tty = isatty(2);
    char *db = dmtv_resolve_input(in, tty ? progress_tty : NULL, NULL, NULL, &err);
    if (tty)
        fprintf(stderr, "\r%60s\r", "");
    DmtvModel *m = db ? dmtv_model_open(db, &err) : NULL;
    g_free(db);
    if (!m) {
        fprintf(stderr, "dmatrace-viewer: %s\n", err->message);
        int rc = err->domain == DMTV_MODEL_ERROR && err->code == DMTV_MODEL_ERROR_IO ? 3 : 2;
        g_error_free(err);
        return rc;
    }
    for (size_t k = 0; o.expand[k]; k++)
        if (dmtv_model_expand_register(m, o.expand[k], TRUE) < 0) {
            fprintf(stderr, "dmatrace-viewer: %s: no register lane %s\n", in, o.expand[k]);
            g_object_unref(m);
            return 2;
        }
    GdkTexture *tex = dmtv_render_texture(m, &o, &err);
    g_object_unref(m);
    if (!tex) {
        fprintf(stderr, "dmatrace-viewer: rendering failed: %s\n", err ? err->message : "?");
        g_clear_error(&err);
        return 3;
    }
    gboolean ok = gdk_texture_save_to_png(tex, out);
    g_object_unref(tex);
    if (!ok) {
        fprintf(stderr, "dmatrace-viewer: %s: cannot write the PNG\n", out);
        return 3;
    }
    return 0;
}

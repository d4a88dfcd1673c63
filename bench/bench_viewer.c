/*
 * bench_viewer.c - the viewer's performance on a big trace, offscreen (no
 * display): the same model + drawing code as the GTK widgets.
 *
 *   bench_viewer [--width W] [--height H] [--reps N] FILE.db|FILE.dmat
 *
 * Reports (BENCHMARKS.md):
 *  - open to first frame: open the store, fit-all frame, build the node tree
 *    and rasterise it with GSK's cairo renderer;
 *  - frame build (model frame + node tree) at ten zoom levels from the whole
 *    trace down to one transfer: per level N jumps to random places (cache
 *    misses) and N small pans (10% of the window; served from the cached
 *    frame), p50 / p95 / max.  The widgets use dmtv_model_frame_nowait, so a
 *    jump is measured twice:
 *      "first paint": the nowait call + node tree - what the GUI draws in
 *        that frame (resident summaries, or a coarser preview while the
 *        worker fetches: the share of previews is printed);
 *      "precise": from the jump until the precise frame is in hand and its
 *        node tree built (waits for the worker, then builds again);
 *    "build p95 all" is over first paints and pans.  The rasterisation by
 *    the cairo renderer is reported apart (the GUI renders with GL);
 *  - resident memory (VmRSS, VmHWM) at the end.
 * A .dmat is first imported into the cache database (timed apart).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmtv-import.h"
#include "dmtv-model.h"
#include "dmtv-painter.h"
#include "dmtv-render.h"
#include "dmtv-timeline-draw.h"

static double now_ms(void)
{
    return (double)g_get_monotonic_time() / 1000.0;
}

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n))
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int i = (int)ceil(p * n) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static uint64_t rnd = 0x9E3779B97F4A7C15ull;
static double frand(void)
{
    rnd ^= rnd << 13;
    rnd ^= rnd >> 7;
    rnd ^= rnd << 17;
    return (double)(rnd >> 11) / 9007199254740992.0;
}

static int last_approx; /* the last build() drew a preview */

/* model frame (as the widget gets it: nowait) + node tree for a window;
 * returns ms.  With `precise` and a preview, also waits for the worker and
 * builds the precise frame's tree: *precise gets the ms until then. */
static double build(DmtvModel *m, DmtvPainter *p, const DmtvView *v, GskRenderNode **keep,
                    double *precise)
{
    double t = now_ms();
    const DmtvFrame *f = dmtv_model_frame_nowait(m, v->t0, v->t1, v->width - DMTV_LABEL_W);
    last_approx = f->approx;
    GtkSnapshot *s = gtk_snapshot_new();
    dmtv_timeline_draw(s, p, dmtv_model_get_trace(m), f, v);
    GskRenderNode *n = gtk_snapshot_free_to_node(s);
    double dt = now_ms() - t;
    if (precise) {
        *precise = dt;
        if (f->approx) {
            gsk_render_node_unref(n);
            dmtv_model_wait_fetch(m);
            f = dmtv_model_frame_nowait(m, v->t0, v->t1, v->width - DMTV_LABEL_W);
            if (f->approx)
                fprintf(stderr, "bench_viewer: still a preview after the fetch\n");
            s = gtk_snapshot_new();
            dmtv_timeline_draw(s, p, dmtv_model_get_trace(m), f, v);
            n = gtk_snapshot_free_to_node(s);
            *precise = now_ms() - t;
        }
    }
    if (keep)
        *keep = n;
    else if (n)
        gsk_render_node_unref(n);
    return dt;
}

int main(int argc, char **argv)
{
    int W = 1600, H = 1000, reps = 20;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--width") && i + 1 < argc)
            W = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--height") && i + 1 < argc)
            H = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else
            path = argv[i];
    }
    if (!path || W < 400 || H < 200 || reps < 1) {
        fprintf(stderr, "usage: bench_viewer [--width W] [--height H] [--reps N] "
                        "FILE.db|FILE.dmat\n");
        return 2;
    }
    dmtv_render_init_types();
    GError *e = NULL;
    double t = now_ms();
    char *db = dmtv_resolve_input(path, NULL, NULL, NULL, &e);
    if (!db) {
        fprintf(stderr, "bench_viewer: %s\n", e->message);
        return 2;
    }
    double t_import = now_ms() - t;
    if (strcmp(db, path))
        printf("import (.dmat -> cache db, not part of open): %.0f ms\n", t_import);

    /* open to first frame */
    t = now_ms();
    DmtvModel *m = dmtv_model_open(db, &e);
    if (!m) {
        fprintf(stderr, "bench_viewer: %s\n", e->message);
        return 2;
    }
    double t_open = now_ms() - t;
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    PangoContext *pc = dmtv_render_pango_context();
    DmtvPainter *p = dmtv_painter_new(pc, FALSE);
    g_object_unref(pc);
    DmtvView v = {0};
    v.width = W;
    v.height = H;
    v.sel_finding = -1;
    int64_t pad = (tr->t_last - tr->t_first) / 50 + 1;
    v.t0 = tr->t_first - pad;
    v.t1 = tr->t_last + pad;
    GskRenderNode *node = NULL;
    double t_build = build(m, p, &v, &node, NULL);
    GskRenderer *r = gsk_cairo_renderer_new();
    gsk_renderer_realize(r, NULL, NULL);
    double tr0 = now_ms();
    GdkTexture *tex =
        gsk_renderer_render_texture(r, node, &GRAPHENE_RECT_INIT(0, 0, (float)W, (float)H));
    double t_raster = now_ms() - tr0;
    g_object_unref(tex);
    gsk_render_node_unref(node);
    double first = now_ms() - t;
    printf("trace: %s, %" PRIu64 " records, %zu lanes, %.3f s\n", tr->title, tr->records,
           tr->n_lanes, (double)(tr->t_last - tr->t_first) / 1e9);
    printf("open to first frame: %.1f ms (open %.1f, frame+nodes %.1f, cairo raster %.1f)\n", first,
           t_open, t_build, t_raster);
    printf("RESULT\tviewer, open to first frame (%" PRIu64 " events)\t%.0f ms\t<= 1 s\t-\t-\n",
           tr->records, first);

    /* the finest summary levels are loaded into memory by the model's worker
     * after open (frames meanwhile come from SQL in the background) */
    dmtv_model_wait_fetch(m);
    printf("finest summary levels resident %.0f ms after open (background)\n", now_ms() - t);

    /* ten zoom levels: whole trace .. one transfer (the middle one) */
    GArray *mid =
        dmtv_model_transfers_in(m, tr->t_first + (tr->t_last - tr->t_first) / 2, tr->t_last, 1);
    int64_t one = 20000;
    if (mid->len) {
        const DmtvTransfer *x = &g_array_index(mid, DmtvTransfer, 0);
        one = MAX(x->t_end - x->t_begin, 1000) * 3;
    }
    g_array_unref(mid);
    double whole = (double)(v.t1 - v.t0);
    double *all = g_new(double, 10 * 2 * reps), *all_precise = g_new(double, 10 * reps);
    int n_all = 0, n_all_precise = 0;
    double worst_p95 = 0, worst_jump_p95 = 0, worst_precise_p95 = 0;
    printf("resident summary levels: L%d..L7\n", dmtv_model_resident_min_level(m));
    printf("%-5s %-10s %-5s %9s %9s %8s %9s %9s %9s %9s %8s\n", "zoom", "window", "level",
           "paint p50", "paint p95", "preview", "precise95", "pan p95", "p95 all", "max", "raster");
    for (int z = 0; z < 10; z++) {
        double span = whole * pow((double)one / whole, z / 9.0);
        double *jump = g_new(double, reps), *pan = g_new(double, reps),
               *both = g_new(double, 2 * reps), *prec = g_new(double, reps);
        double rast = 0;
        int lvl = 0, previews = 0;
        for (int i = 0; i < reps; i++) {
            double c = (double)tr->t_first + frand() * (double)(tr->t_last - tr->t_first);
            v.t0 = (int64_t)(c - span / 2);
            v.t1 = v.t0 + (int64_t)span;
            /* a previous jump's fetch must not overlap this one */
            dmtv_model_wait_fetch(m);
            jump[i] = build(m, p, &v, NULL, &prec[i]);
            previews += last_approx;
            all_precise[n_all_precise++] = prec[i];
            lvl = dmtv_model_pick_level(m, v.t0, v.t1, W - DMTV_LABEL_W);
            int64_t d = (int64_t)(span * 0.1);
            v.t0 += d;
            v.t1 += d;
            GskRenderNode *n = NULL;
            pan[i] = build(m, p, &v, i == 0 ? &n : NULL, NULL);
            if (n) {
                double r0 = now_ms();
                GdkTexture *tx = gsk_renderer_render_texture(
                    r, n, &GRAPHENE_RECT_INIT(0, 0, (float)W, (float)H));
                rast = now_ms() - r0;
                g_object_unref(tx);
                gsk_render_node_unref(n);
            }
            both[2 * i] = jump[i];
            both[2 * i + 1] = pan[i];
            all[n_all++] = jump[i];
            all[n_all++] = pan[i];
        }
        char ws[32];
        if (span >= 1e9)
            g_snprintf(ws, sizeof ws, "%.2f s", span / 1e9);
        else if (span >= 1e6)
            g_snprintf(ws, sizeof ws, "%.2f ms", span / 1e6);
        else
            g_snprintf(ws, sizeof ws, "%.1f us", span / 1e3);
        double jp95 = pct(jump, reps, 0.95), pp95 = pct(pan, reps, 0.95);
        double bp95 = pct(both, 2 * reps, 0.95), cp95 = pct(prec, reps, 0.95);
        char pv[16];
        g_snprintf(pv, sizeof pv, "%d/%d", previews, reps);
        printf("%-5d %-10s %-5s %7.2fms %7.2fms %8s %7.2fms %7.2fms %7.2fms %7.2fms %6.1fms\n", z,
               ws, lvl < 0 ? "exact" : (char[]){'L', (char)('0' + lvl), 0}, pct(jump, reps, 0.5),
               jp95, pv, cp95, pp95, bp95, pct(both, 2 * reps, 1.0), rast);
        worst_p95 = MAX(worst_p95, bp95);
        worst_jump_p95 = MAX(worst_jump_p95, jp95);
        worst_precise_p95 = MAX(worst_precise_p95, cp95);
        g_free(prec);
        g_free(jump);
        g_free(pan);
        g_free(both);
    }
    printf("frame build p95 over all zoom levels (first paints + pans): %.2f ms (worst level "
           "%.2f ms, worst level for jump first paints %.2f ms)\n",
           pct(all, n_all, 0.95), worst_p95, worst_jump_p95);
    printf("jump to precise frame p95 over all zoom levels: %.2f ms (worst level %.2f ms; %" PRIu64
           " background fetches)\n",
           pct(all_precise, n_all_precise, 0.95), worst_precise_p95, dmtv_model_fetch_count(m));
    printf("resident memory: VmRSS %ld MiB, VmHWM %ld MiB\n", status_kb("VmRSS") / 1024,
           status_kb("VmHWM") / 1024);
    printf("RESULT\tviewer, frame build p95, all zoom levels\t%.2f ms (worst level %.2f)\t<= 8 "
           "ms\t-\t-\n",
           pct(all, n_all, 0.95), worst_p95);
    printf("RESULT\tviewer, resident memory\t%ld MiB\t<= 1 GB\t-\t-\n", status_kb("VmHWM") / 1024);
    g_free(all);
    g_free(all_precise);
    gsk_renderer_unrealize(r);
    g_object_unref(r);
    dmtv_painter_free(p);
    g_object_unref(m);
    g_free(db);
    return 0;
}

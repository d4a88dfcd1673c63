/*
 * dmtv-layout.c - the transfer layout view's data and drawing (see
 * dmtv-layout.h).
 *
 * Address axis with collapsed gaps:
 *
 *   used ranges (page-rounded)   [==]  [=====]            [=]   (far away)
 *   segments (gaps <= KEEP_GAP    [==========]  ≈ +3.2 GiB ≈ [=]
 *   merged, bigger gaps cut)     |<- width shared: half by size, half equally ->|
 *
 * Every address inside a segment maps linearly into the segment's pixels;
 * an address inside a collapsed gap maps onto the gap's break (that is
 * where the 4 GiB line or a device limit is drawn when it falls in a gap).
 */
#define G_LOG_DOMAIN "dmtv-layout"

#include "dmtv-layout.h"

#include <inttypes.h>
#include <string.h>

#include "dmtv-units.h"

#define PAGE     4096ull
#define KEEP_GAP (64ull * PAGE) /* gaps up to this stay to scale */
#define MAX_SEGS 48
#define GAP_PX   26.0
#define ROW_H    24.0
#define HEAD_H   46.0
#define LEFT_W   150.0
#define FOUR_G   0x100000000ull

typedef struct {
    uint32_t xfer, adapter;
    gboolean to_device, bounced; /* bounced: the elements are the OS's bounce pages */
    int64_t t0, t1;
    uint64_t limit; /* highest reachable address */
    guint first, n; /* into elems */
} Row;

typedef struct {
    uint64_t addr, len;
    guint row, idx, flags;
} Elem;

typedef struct {
    uint64_t a0, a1; /* [a0, a1) */
    double x0, x1;
} Seg;

struct DmtvLayout {
    Row *rows;
    guint n_rows;
    Elem *elems;
    guint n_elems;
    Seg segs[MAX_SEGS];
    guint n_segs;
    guint n_overlaps, n_adjacent, n_bounced;
    int width;        /* segments computed for this width */
    GArray *overlaps; /* uint64_t pairs [a0, a1) */
};

guint dmtv_sg_flags(const DmtvSgElem *sg, guint n, guint i, uint64_t addr_limit)
{
    guint f = 0;
    const DmtvSgElem *e = &sg[i];
    uint64_t end = e->addr + e->len;
    if (e->len == 0)
        f |= DMTV_SG_ZERO;
    if (e->len && (e->addr >> 32) != ((end - 1) >> 32))
        f |= DMTV_SG_CROSS_4G;
    if (e->len && addr_limit != UINT64_MAX && end - 1 > addr_limit)
        f |= DMTV_SG_ABOVE_LIMIT;
    if (i > 0 && sg[i - 1].addr + sg[i - 1].len == e->addr && e->len)
        f |= DMTV_SG_ADJACENT;
    if (i > 0 && (e->addr & (PAGE - 1)) != 0)
        f |= DMTV_SG_UNALIGNED;
    for (guint k = 0; k < n && k < 4096; k++)
        if (k != i && sg[k].len && e->len && sg[k].addr < end && e->addr < sg[k].addr + sg[k].len)
            f |= DMTV_SG_OVERLAP;
    return f;
}

void dmtv_sg_flags_text(guint f, char *buf, size_t cap)
{
    buf[0] = 0;
    static const struct {
        guint bit;
        const char *name;
    } names[] = {{DMTV_SG_OVERLAP, "overlap"},         {DMTV_SG_CROSS_4G, "crosses 4G"},
                 {DMTV_SG_ABOVE_LIMIT, "above limit"}, {DMTV_SG_ADJACENT, "adjacent"},
                 {DMTV_SG_ZERO, "zero length"},        {DMTV_SG_UNALIGNED, "mid-page"}};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        if (f & names[i].bit) {
            if (buf[0])
                g_strlcat(buf, ", ", cap);
            g_strlcat(buf, names[i].name, cap);
        }
}

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

static void find_overlaps(DmtvLayout *l)
{
    /* sweep elements by address; a pair overlaps when their ranges meet and
     * they belong to one list or to transfers alive at the same time */
    guint n = l->n_elems;
    uint64_t *ord = g_new(uint64_t, 2 * (gsize)n);
    for (guint i = 0; i < n; i++) {
        ord[2 * i] = l->elems[i].addr;
        ord[2 * i + 1] = i;
    }
    if (n)
        qsort(ord, n, 2 * sizeof(uint64_t), cmp_u64);
    l->overlaps = g_array_new(FALSE, FALSE, 2 * sizeof(uint64_t));
    for (guint a = 0; a < n; a++) {
        Elem *ea = &l->elems[ord[2 * a + 1]];
        uint64_t enda = ea->addr + ea->len;
        for (guint b = a + 1; b < n && b < a + 4096; b++) {
            Elem *eb = &l->elems[ord[2 * b + 1]];
            if (eb->addr >= enda)
                break;
            if (!ea->len || !eb->len)
                continue;
            const Row *ra = &l->rows[ea->row], *rb = &l->rows[eb->row];
            gboolean same = ea->row == eb->row;
            gboolean concurrent = ra->t0 <= rb->t1 && rb->t0 <= ra->t1;
            if (!same && !concurrent)
                continue;
            ea->flags |= DMTV_SG_OVERLAP;
            eb->flags |= DMTV_SG_OVERLAP;
            uint64_t r[2] = {eb->addr, MIN(enda, eb->addr + eb->len)};
            g_array_append_val(l->overlaps, r);
            l->n_overlaps++;
        }
    }
    g_free(ord);
}

static void build_segments(DmtvLayout *l)
{
    guint n = l->n_elems;
    if (!n)
        return;
    uint64_t *iv = g_new(uint64_t, 2 * (gsize)n);
    for (guint i = 0; i < n; i++) {
        uint64_t a = l->elems[i].addr & ~(PAGE - 1);
        uint64_t e = l->elems[i].addr + MAX(l->elems[i].len, 1);
        uint64_t b = e > UINT64_MAX - PAGE ? UINT64_MAX : (e + PAGE - 1) & ~(PAGE - 1);
        iv[2 * i] = a;
        iv[2 * i + 1] = b;
    }
    qsort(iv, n, 2 * sizeof(uint64_t), cmp_u64);
    /* merge ranges whose gap is small */
    GArray *segs = g_array_new(FALSE, FALSE, sizeof(Seg));
    Seg cur = {iv[0], iv[1], 0, 0};
    for (guint i = 1; i < n; i++) {
        if (iv[2 * i] <= cur.a1 || iv[2 * i] - cur.a1 <= KEEP_GAP) {
            cur.a1 = MAX(cur.a1, iv[2 * i + 1]);
        } else {
            g_array_append_val(segs, cur);
            cur = (Seg){iv[2 * i], iv[2 * i + 1], 0, 0};
        }
    }
    g_array_append_val(segs, cur);
    g_free(iv);
    /* too many segments: join across the smallest gaps */
    while (segs->len > MAX_SEGS) {
        guint best = 1;
        uint64_t best_gap = UINT64_MAX;
        for (guint i = 1; i < segs->len; i++) {
            uint64_t g = g_array_index(segs, Seg, i).a0 - g_array_index(segs, Seg, i - 1).a1;
            if (g < best_gap) {
                best_gap = g;
                best = i;
            }
        }
        g_array_index(segs, Seg, best - 1).a1 = g_array_index(segs, Seg, best).a1;
        g_array_remove_index(segs, best);
    }
    l->n_segs = segs->len;
    memcpy(l->segs, segs->data, segs->len * sizeof(Seg));
    g_array_free(segs, TRUE);
}

static void place_segments(DmtvLayout *l, int width)
{
    if (l->width == width || !l->n_segs)
        return;
    l->width = width;
    double x = LEFT_W + 8, avail = width - x - 12 - GAP_PX * (l->n_segs - 1);
    if (avail < l->n_segs * 8.0)
        avail = l->n_segs * 8.0;
    double total = 0;
    for (guint i = 0; i < l->n_segs; i++)
        total += (double)(l->segs[i].a1 - l->segs[i].a0);
    for (guint i = 0; i < l->n_segs; i++) {
        double share = 0.5 * (double)(l->segs[i].a1 - l->segs[i].a0) / total + 0.5 / l->n_segs;
        l->segs[i].x0 = x;
        l->segs[i].x1 = x + avail * share;
        x = l->segs[i].x1 + GAP_PX;
    }
}

DmtvLayout *dmtv_layout_new(DmtvModel *model, const uint32_t *xfers, guint n)
{
    DmtvLayout *l = g_new0(DmtvLayout, 1);
    n = MIN(n, DMTV_LAYOUT_MAX_XFERS);
    l->rows = g_new0(Row, MAX(n, 1));
    GArray *elems = g_array_new(FALSE, FALSE, sizeof(Elem));
    for (guint i = 0; i < n; i++) {
        DmtvTransfer t;
        if (!dmtv_model_get_transfer(model, xfers[i], &t))
            continue;
        Row *r = &l->rows[l->n_rows];
        r->xfer = t.xfer;
        r->adapter = t.adapter;
        r->to_device = t.to_device;
        r->bounced = t.bounce_known && t.bounced;
        l->n_bounced += r->bounced;
        r->t0 = t.exec_ts != INT64_MIN ? t.exec_ts : t.t_begin;
        r->t1 = t.complete_ts != INT64_MIN ? t.complete_ts : t.t_end;
        const DmtvAdapter *a = dmtv_model_adapter(model, t.adapter);
        r->limit = a ? a->addr_limit : UINT64_MAX;
        r->first = elems->len;
        guint ns = 0;
        DmtvSgElem *sg = dmtv_model_transfer_sg(model, t.xfer, &ns);
        for (guint k = 0; k < ns && elems->len < DMTV_LAYOUT_MAX_ELEMS; k++) {
            Elem e = {sg[k].addr, sg[k].len, l->n_rows, k, dmtv_sg_flags(sg, ns, k, r->limit)};
            e.flags &= ~DMTV_SG_OVERLAP; /* recomputed across rows below */
            if (e.flags & DMTV_SG_ADJACENT)
                l->n_adjacent++;
            g_array_append_val(elems, e);
            r->n++;
        }
        g_free(sg);
        l->n_rows++;
    }
    l->n_elems = elems->len;
    l->elems = (Elem *)g_array_free(elems, FALSE);
    find_overlaps(l);
    build_segments(l);
    l->width = -1;
    return l;
}

void dmtv_layout_free(DmtvLayout *l)
{
    if (!l)
        return;
    g_free(l->rows);
    g_free(l->elems);
    if (l->overlaps)
        g_array_free(l->overlaps, TRUE);
    g_free(l);
}

guint dmtv_layout_n_rows(const DmtvLayout *l)
{
    return l->n_rows;
}
guint dmtv_layout_n_blocks(const DmtvLayout *l)
{
    return l->n_elems;
}
guint dmtv_layout_n_segments(const DmtvLayout *l)
{
    return l->n_segs;
}
guint dmtv_layout_n_overlaps(const DmtvLayout *l)
{
    return l->n_overlaps;
}
guint dmtv_layout_n_bounced(const DmtvLayout *l)
{
    return l->n_bounced;
}

guint dmtv_layout_n_adjacent(const DmtvLayout *l)
{
    return l->n_adjacent;
}

double dmtv_layout_height(const DmtvLayout *l)
{
    return HEAD_H + ROW_H * MAX(l->n_rows, 1) + 40;
}

uint32_t dmtv_layout_xfer_at(const DmtvLayout *l, double y)
{
    if (y < HEAD_H)
        return 0;
    guint r = (guint)((y - HEAD_H) / ROW_H);
    return r < l->n_rows ? l->rows[r].xfer : 0;
}

/* x of an address: inside a segment linearly, in a gap on its break. */
static double addr_x(const DmtvLayout *l, uint64_t a, gboolean *in_gap)
{
    *in_gap = FALSE;
    for (guint i = 0; i < l->n_segs; i++) {
        const Seg *s = &l->segs[i];
        if (a < s->a0) {
            *in_gap = TRUE;
            return i == 0 ? s->x0 - GAP_PX / 2 : s->x0 - GAP_PX / 2;
        }
        if (a <= s->a1)
            return s->x0 + (double)(a - s->a0) / (double)(s->a1 - s->a0) * (s->x1 - s->x0);
    }
    *in_gap = TRUE;
    return l->n_segs ? l->segs[l->n_segs - 1].x1 + GAP_PX / 2 : LEFT_W;
}

static void vline(GtkSnapshot *s, DmtvPainter *p, const GdkRGBA *c, double x, double y0, double y1,
                  const char *label, gboolean dashed, double label_y)
{
    if (dashed) {
        for (double y = y0; y < y1; y += 6)
            dmtv_fill(s, c, x - 0.5, y, 1.5, MIN(3.0, y1 - y));
    } else {
        dmtv_fill(s, c, x - 0.5, y0, 1.5, y1 - y0);
    }
    int w, h;
    dmtv_painter_text_size(p, DMTV_FONT_SMALL, label, &w, &h);
    dmtv_fill(s, c, x - w / 2.0 - 3, label_y, w + 6, h + 1);
    dmtv_painter_text(p, s, DMTV_FONT_SMALL, label, x - w / 2.0, label_y,
                      &dmtv_painter_theme(p)->text_on_fill);
}

void dmtv_layout_draw(GtkSnapshot *s, DmtvPainter *p, DmtvLayout *l, int width, int height,
                      uint32_t selected)
{
    const DmtvTheme *th = dmtv_painter_theme(p);
    dmtv_fill(s, &th->bg, 0, 0, width, height);
    if (!l || !l->n_rows) {
        dmtv_painter_text(p, s, DMTV_FONT_LABEL,
                          "No transfer selected: click a transfer in the timeline, or zoom to "
                          "a window with transfers.",
                          16, 16, &th->fg_dim);
        return;
    }
    place_segments(l, width);
    double rows_bottom = HEAD_H + ROW_H * l->n_rows;
    double bottom = MIN((double)height, rows_bottom);

    /* header band and segment backgrounds */
    dmtv_fill(s, &th->ruler_bg, 0, 0, width, HEAD_H);
    dmtv_fill(s, &th->label_bg, 0, HEAD_H, LEFT_W, bottom - HEAD_H);
    dmtv_fill(s, &th->sep, LEFT_W, 0, 1, bottom);
    dmtv_painter_text(p, s, DMTV_FONT_BOLD, "Address space", 8, 5, &th->fg);
    char info[96];
    g_snprintf(info, sizeof info, "%u transfer%s, %u blocks", l->n_rows, l->n_rows == 1 ? "" : "s",
               l->n_elems);
    dmtv_painter_text_fit(p, s, DMTV_FONT_SMALL, info, 8, 20, LEFT_W - 10, &th->fg_dim);
    if (l->n_bounced) {
        g_snprintf(info, sizeof info, "%u bounce-buffered", l->n_bounced);
        dmtv_painter_text_fit(p, s, DMTV_FONT_SMALL, info, 8, 32, LEFT_W - 10, &th->fg_dim);
    }
    double gap_label_end = -1e9;
    for (guint i = 0; i < l->n_segs; i++) {
        const Seg *g = &l->segs[i];
        dmtv_fill(s, &th->lane_alt, g->x0, HEAD_H, g->x1 - g->x0, bottom - HEAD_H);
        char a[40], b[40];
        dmtv_format_addr(a, sizeof a, g->a0);
        dmtv_painter_text_fit(p, s, DMTV_FONT_MONO, a, g->x0 + 2, 5, g->x1 - g->x0 - 2, &th->fg);
        dmtv_format_bytes(b, sizeof b, g->a1 - g->a0);
        dmtv_painter_text_fit(p, s, DMTV_FONT_SMALL, b, g->x0 + 2, 22, g->x1 - g->x0 - 2,
                              &th->fg_dim);
        dmtv_fill(s, &th->sep, g->x0, HEAD_H - 4, g->x1 - g->x0, 1);
        /* page grid where pages are at least 5 px wide */
        double ppx = (g->x1 - g->x0) / ((double)(g->a1 - g->a0) / PAGE);
        if (ppx >= 5) {
            for (uint64_t a0 = g->a0; a0 <= g->a1; a0 += PAGE) {
                double x = g->x0 + (double)(a0 - g->a0) / PAGE * ppx;
                dmtv_fill(s, &th->page_grid, x, HEAD_H - 4, 1, bottom - HEAD_H + 4);
            }
        }
        if (i + 1 < l->n_segs) {
            /* the collapsed gap: a zig-zag break and its size */
            double gx = g->x1 + GAP_PX / 2;
            dmtv_fill(s, &th->gap, g->x1 + 3, HEAD_H, GAP_PX - 6, bottom - HEAD_H);
            for (double y = HEAD_H; y < bottom; y += 8) {
                dmtv_fill(s, &th->fg_dim, gx - 3, y, 2, 4);
                dmtv_fill(s, &th->fg_dim, gx + 1, y + 4, 2, 4);
            }
            char gb[40];
            dmtv_format_bytes(gb, sizeof gb, l->segs[i + 1].a0 - g->a1);
            char t[48];
            g_snprintf(t, sizeof t, "+%s", gb);
            int w, h;
            dmtv_painter_text_size(p, DMTV_FONT_SMALL, t, &w, &h);
            if (gx - w / 2.0 > gap_label_end + 4) { /* never over the previous one */
                dmtv_painter_text(p, s, DMTV_FONT_SMALL, t, gx - w / 2.0, HEAD_H - 16, &th->fg_dim);
                gap_label_end = gx + w / 2.0;
            }
        }
    }

    /* rows */
    for (guint r = 0; r < l->n_rows; r++) {
        const Row *row = &l->rows[r];
        double y = HEAD_H + r * ROW_H;
        if (y > height)
            break;
        if (row->xfer == selected)
            dmtv_fill(s, &th->sel_fill, 0, y, width, ROW_H);
        dmtv_fill(s, &th->sep, 0, y + ROW_H - 1, width, 1);
        /* the longest label that fits: with the element count, without it,
         * the id alone */
        char t[80];
        const char *dir = row->to_device ? "to-dev" : "from-dev";
        const char *bounce = row->bounced ? "  bounced" : "";
        g_snprintf(t, sizeof t, "#%u  %s  %u el.%s", row->xfer, dir, row->n, bounce);
        if (!dmtv_painter_text_fit(p, s, DMTV_FONT_SMALL, t, 8, y + 5, LEFT_W - 10, &th->fg)) {
            g_snprintf(t, sizeof t, "#%u %s%s", row->xfer, dir, row->bounced ? " bounced" : "");
            if (!dmtv_painter_text_fit(p, s, DMTV_FONT_SMALL, t, 8, y + 5, LEFT_W - 10, &th->fg)) {
                g_snprintf(t, sizeof t, "#%u", row->xfer);
                dmtv_painter_text_fit(p, s, DMTV_FONT_SMALL, t, 8, y + 5, LEFT_W - 10, &th->fg);
            }
        }
        const GdkRGBA *col = row->to_device ? &th->to_dev : &th->from_dev;
        for (guint k = 0; k < row->n; k++) {
            const Elem *e = &l->elems[row->first + k];
            gboolean g1, g2;
            double x0 = addr_x(l, e->addr, &g1), x1 = addr_x(l, e->addr + e->len, &g2);
            double w = MAX(x1 - x0, 2.0);
            dmtv_fill(s, col, x0, y + 3, w, ROW_H - 7);
            if (w > 4)
                dmtv_fill(s, &th->bg, x0 + w - 1, y + 3, 1, ROW_H - 7); /* block edge */
            if (e->flags & (DMTV_SG_ABOVE_LIMIT | DMTV_SG_CROSS_4G | DMTV_SG_ZERO))
                dmtv_outline(s, &th->err, x0 - 1, y + 2, w + 2, ROW_H - 5, 2);
            if (e->flags & DMTV_SG_ADJACENT) /* uncoalesced neighbour: amber junction */
                dmtv_fill(s, &th->adjacent, x0 - 1.5, y + 1, 3, ROW_H - 3);
            char idx[16];
            g_snprintf(idx, sizeof idx, "%u", e->idx);
            dmtv_painter_text_fit(p, s, DMTV_FONT_SMALL, idx, x0 + 2, y + 5, w - 4,
                                  &th->text_on_fill);
        }
    }
    /* overlaps: hatched red over every row, plus a band in the header */
    for (guint i = 0; l->overlaps && i < l->overlaps->len; i++) {
        const uint64_t *o = &g_array_index(l->overlaps, uint64_t, 2 * i);
        gboolean g;
        double x0 = addr_x(l, o[0], &g), x1 = addr_x(l, o[1], &g);
        double w = MAX(x1 - x0, 3.0);
        dmtv_hatch(s, &th->overlap, x0, HEAD_H, w, bottom - HEAD_H);
        dmtv_fill(s, &th->err, x0, HEAD_H - 8, w, 4);
    }
    /* the 4 GiB line and the device limits */
    double label_y = HEAD_H + 2;
    gboolean g;
    uint64_t lo = l->segs[0].a0, hi = l->segs[l->n_segs - 1].a1;
    if (lo < FOUR_G && hi > FOUR_G)
        vline(s, p, &th->line_4g, addr_x(l, FOUR_G, &g), HEAD_H - 8, bottom, "4 GiB", FALSE,
              label_y);
    uint64_t seen[8];
    guint n_seen = 0;
    for (guint r = 0; r < l->n_rows && n_seen < 8; r++) {
        uint64_t lim = l->rows[r].limit;
        if (lim == UINT64_MAX || lim == FOUR_G - 1)
            continue; /* no limit, or the 4 GiB line already */
        gboolean dup = FALSE;
        for (guint k = 0; k < n_seen; k++)
            dup |= seen[k] == lim;
        if (dup)
            continue;
        seen[n_seen++] = lim;
        if (lo < lim + 1 && hi > lim) {
            char t[64], a[40];
            dmtv_format_addr(a, sizeof a, lim + 1);
            g_snprintf(t, sizeof t, "adapter %u limit %s", l->rows[r].adapter, a);
            vline(s, p, &th->line_limit, addr_x(l, lim + 1, &g), HEAD_H - 8, bottom, t, TRUE,
                  label_y + 14);
        }
    }
    /* legend */
    double ly = bottom + 8;
    if (ly + 14 < height) {
        double x = 8;
        struct {
            const GdkRGBA *c;
            const char *t;
        } leg[] = {{&th->to_dev, "to device"},
                   {&th->from_dev, "from device"},
                   {&th->overlap, "overlap"},
                   {&th->adjacent, "adjacent, not coalesced"},
                   {&th->err, "crosses 4 GiB / above limit"},
                   {&th->line_limit, "device address limit"}};
        for (size_t i = 0; i < G_N_ELEMENTS(leg); i++) {
            dmtv_fill(s, leg[i].c, x, ly + 2, 10, 10);
            int w, h;
            dmtv_painter_text_size(p, DMTV_FONT_SMALL, leg[i].t, &w, &h);
            dmtv_painter_text(p, s, DMTV_FONT_SMALL, leg[i].t, x + 14, ly, &th->fg_dim);
            x += 14 + w + 16;
        }
    }
}

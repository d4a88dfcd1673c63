/*
 * dmtv-painter.c - theme colours, fonts, the shaped-text cache and small
 * GtkSnapshot helpers used by every drawing function (see dmtv-painter.h).
 */
#define G_LOG_DOMAIN "dmtv-painter"

#include "dmtv-painter.h"

#include <stddef.h>

#define TEXT_CACHE_MAX 4096

struct DmtvPainter {
    PangoContext *ctx;
    PangoFontDescription *fonts[DMTV_N_FONTS];
    GHashTable *cache[DMTV_N_FONTS]; /* text -> PangoLayout */
    DmtvTheme theme;
    gboolean dark;
};

static GdkRGBA hex(guint32 rgb)
{
    return (GdkRGBA){((rgb >> 16) & 0xff) / 255.f, ((rgb >> 8) & 0xff) / 255.f,
                     (rgb & 0xff) / 255.f, 1.f};
}

static GdkRGBA hexa(guint32 rgb, float a)
{
    GdkRGBA c = hex(rgb);
    c.alpha = a;
    return c;
}

GdkRGBA dmtv_alpha(const GdkRGBA *c, float a)
{
    GdkRGBA r = *c;
    r.alpha *= a;
    return r;
}

static void theme_init(DmtvTheme *t, gboolean dark)
{
    /* CPUs: eight hues apart from the transfer directions (blue, green) */
    static const guint32 cpu_light[DMTV_CPU_COLORS] = {0xe8590c, 0x7048e8, 0x0b7285, 0xd6336c,
                                                       0x66a80f, 0x1c7ed6, 0xf59f00, 0x495057};
    static const guint32 cpu_dark[DMTV_CPU_COLORS] = {0xff8a3d, 0x9775fa, 0x3bc9db, 0xf06595,
                                                      0x94d82d, 0x4dabf7, 0xffd43b, 0xadb5bd};
    for (int i = 0; i < DMTV_CPU_COLORS; i++)
        t->cpu[i] = hex(dark ? cpu_dark[i] : cpu_light[i]);
    /* every role once: its light colour and alpha, then its dark ones */
    static const struct {
        size_t off;
        guint32 light;
        float light_a;
        guint32 dark;
        float dark_a;
    } roles[] = {
        {offsetof(DmtvTheme, bg), 0xffffff, 1.f, 0x1b1c1f, 1.f},
        {offsetof(DmtvTheme, lane_alt), 0xf6f7f9, 1.f, 0x212226, 1.f},
        {offsetof(DmtvTheme, label_bg), 0xf0f2f5, 1.f, 0x26282c, 1.f},
        {offsetof(DmtvTheme, ruler_bg), 0xe9ecf1, 1.f, 0x2c2e33, 1.f},
        {offsetof(DmtvTheme, grid), 0x98a2b3, 0.18f, 0x98a2b3, 0.12f},
        {offsetof(DmtvTheme, grid_major), 0x667085, 0.30f, 0x98a2b3, 0.24f},
        {offsetof(DmtvTheme, fg), 0x1d2939, 1.f, 0xe4e7ec, 1.f},
        {offsetof(DmtvTheme, fg_dim), 0x667085, 1.f, 0x98a2b3, 1.f},
        {offsetof(DmtvTheme, sep), 0xd0d5dd, 1.f, 0x3a3d43, 1.f},
        {offsetof(DmtvTheme, to_dev), 0x2e6fd9, 1.f, 0x5b9bff, 1.f},
        {offsetof(DmtvTheme, from_dev), 0x12956b, 1.f, 0x32d5a0, 1.f},
        {offsetof(DmtvTheme, folded), 0x98a2b3, 1.f, 0x667085, 1.f},
        {offsetof(DmtvTheme, folded_dark), 0x475467, 1.f, 0xb0b8c4, 1.f},
        {offsetof(DmtvTheme, fail), 0xd92d20, 1.f, 0xff5a4f, 1.f},
        {offsetof(DmtvTheme, trunc), 0xf79009, 1.f, 0xfdb022, 1.f},
        {offsetof(DmtvTheme, bounce), 0x7a5af8, 1.f, 0xa48afb, 1.f},
        {offsetof(DmtvTheme, lost), 0xd92d20, 0.10f, 0xff5a4f, 0.12f},
        {offsetof(DmtvTheme, lost_hatch), 0xd92d20, 0.35f, 0xff5a4f, 0.35f},
        {offsetof(DmtvTheme, err), 0xd92d20, 1.f, 0xff5a4f, 1.f},
        {offsetof(DmtvTheme, warn), 0xdc6803, 1.f, 0xfdb022, 1.f},
        {offsetof(DmtvTheme, info), 0x1570ef, 1.f, 0x53b1fd, 1.f},
        {offsetof(DmtvTheme, sel), 0xf5a300, 1.f, 0xfdb022, 1.f},
        {offsetof(DmtvTheme, sel_fill), 0xfdb022, 0.16f, 0xfdb022, 0.14f},
        {offsetof(DmtvTheme, cursor), 0x9e165f, 1.f, 0xf670c7, 1.f},
        {offsetof(DmtvTheme, range), 0x2e90fa, 0.14f, 0x53b1fd, 0.16f},
        {offsetof(DmtvTheme, reg_line), 0x0e7490, 1.f, 0x67e3f9, 1.f},
        {offsetof(DmtvTheme, reg_fill), 0xe6f6fa, 1.f, 0x15343d, 1.f},
        {offsetof(DmtvTheme, reg_dense), 0x0e7490, 0.55f, 0x67e3f9, 0.50f},
        {offsetof(DmtvTheme, reg_write), 0x155e75, 1.f, 0x67e3f9, 1.f},
        {offsetof(DmtvTheme, reg_read), 0x67c5da, 1.f, 0x2b8a9e, 1.f},
        {offsetof(DmtvTheme, irq), 0xc11574, 1.f, 0xf670c7, 1.f},
        {offsetof(DmtvTheme, irq_weak), 0xc4a0b5, 1.f, 0x8a5a78, 1.f},
        {offsetof(DmtvTheme, dpc), 0x6941c6, 1.f, 0xb692f6, 1.f},
        {offsetof(DmtvTheme, marker), 0x344054, 1.f, 0xd0d5dd, 1.f},
        {offsetof(DmtvTheme, text_on_fill), 0xffffff, 1.f, 0x0b0c0e, 1.f},
        {offsetof(DmtvTheme, page_grid), 0x667085, 0.22f, 0x98a2b3, 0.20f},
        {offsetof(DmtvTheme, line_4g), 0xd92d20, 1.f, 0xff5a4f, 1.f},
        {offsetof(DmtvTheme, line_limit), 0x9e165f, 1.f, 0xf670c7, 1.f},
        {offsetof(DmtvTheme, overlap), 0xd92d20, 0.75f, 0xff5a4f, 0.75f},
        {offsetof(DmtvTheme, adjacent), 0xf79009, 1.f, 0xfdb022, 1.f},
        {offsetof(DmtvTheme, gap), 0xeaecf0, 1.f, 0x2c2e33, 1.f},
    };
    G_STATIC_ASSERT(sizeof *t == sizeof(GdkRGBA) * (DMTV_CPU_COLORS + G_N_ELEMENTS(roles)));
    for (size_t i = 0; i < G_N_ELEMENTS(roles); i++)
        *(GdkRGBA *)((char *)t + roles[i].off) =
            dark ? hexa(roles[i].dark, roles[i].dark_a) : hexa(roles[i].light, roles[i].light_a);
}

DmtvPainter *dmtv_painter_new(PangoContext *ctx, gboolean dark)
{
    DmtvPainter *p = g_new0(DmtvPainter, 1);
    p->ctx = g_object_ref(ctx);
    p->fonts[DMTV_FONT_LABEL] = pango_font_description_from_string("Sans 9");
    p->fonts[DMTV_FONT_SMALL] = pango_font_description_from_string("Sans 7.5");
    p->fonts[DMTV_FONT_MONO] = pango_font_description_from_string("Monospace 7.5");
    p->fonts[DMTV_FONT_BOLD] = pango_font_description_from_string("Sans Bold 9");
    for (int i = 0; i < DMTV_N_FONTS; i++)
        p->cache[i] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
    dmtv_painter_set_dark(p, dark);
    return p;
}

void dmtv_painter_free(DmtvPainter *p)
{
    if (!p)
        return;
    for (int i = 0; i < DMTV_N_FONTS; i++) {
        g_hash_table_unref(p->cache[i]);
        pango_font_description_free(p->fonts[i]);
    }
    g_object_unref(p->ctx);
    g_free(p);
}

void dmtv_painter_set_dark(DmtvPainter *p, gboolean dark)
{
    p->dark = dark;
    theme_init(&p->theme, dark);
}

gboolean dmtv_painter_is_dark(const DmtvPainter *p)
{
    return p->dark;
}

const DmtvTheme *dmtv_painter_theme(const DmtvPainter *p)
{
    return &p->theme;
}

static PangoLayout *layout_for(DmtvPainter *p, DmtvFont font, const char *text)
{
    GHashTable *c = p->cache[font];
    PangoLayout *l = g_hash_table_lookup(c, text);
    if (l)
        return l;
    if (g_hash_table_size(c) >= TEXT_CACHE_MAX)
        g_hash_table_remove_all(c);
    l = pango_layout_new(p->ctx);
    pango_layout_set_font_description(l, p->fonts[font]);
    pango_layout_set_text(l, text, -1);
    g_hash_table_insert(c, g_strdup(text), l);
    return l;
}

void dmtv_painter_text_size(DmtvPainter *p, DmtvFont font, const char *text, int *w, int *h)
{
    PangoLayout *l = layout_for(p, font, text);
    pango_layout_get_pixel_size(l, w, h);
}

void dmtv_painter_text(DmtvPainter *p, GtkSnapshot *s, DmtvFont font, const char *text, double x,
                       double y, const GdkRGBA *color)
{
    PangoLayout *l = layout_for(p, font, text);
    gtk_snapshot_save(s);
    gtk_snapshot_translate(s, &GRAPHENE_POINT_INIT((float)x, (float)y));
    gtk_snapshot_append_layout(s, l, color);
    gtk_snapshot_restore(s);
}

gboolean dmtv_painter_text_fit(DmtvPainter *p, GtkSnapshot *s, DmtvFont font, const char *text,
                               double x, double y, double max_w, const GdkRGBA *color)
{
    int w, h;
    dmtv_painter_text_size(p, font, text, &w, &h);
    if (w > max_w)
        return FALSE;
    dmtv_painter_text(p, s, font, text, x, y, color);
    return TRUE;
}

void dmtv_fill(GtkSnapshot *s, const GdkRGBA *c, double x, double y, double w, double h)
{
    if (w <= 0 || h <= 0)
        return;
    gtk_snapshot_append_color(s, c, &GRAPHENE_RECT_INIT((float)x, (float)y, (float)w, (float)h));
}

void dmtv_outline(GtkSnapshot *s, const GdkRGBA *c, double x, double y, double w, double h,
                  double t)
{
    dmtv_fill(s, c, x, y, w, t);
    dmtv_fill(s, c, x, y + h - t, w, t);
    dmtv_fill(s, c, x, y + t, t, h - 2 * t);
    dmtv_fill(s, c, x + w - t, y + t, t, h - 2 * t);
}

void dmtv_hatch(GtkSnapshot *s, const GdkRGBA *c, double x, double y, double w, double h)
{
    if (w <= 0 || h <= 0)
        return;
    GdkRGBA clear = *c;
    clear.alpha = 0;
    const GskColorStop stops[] = {{0.0f, *c}, {0.35f, *c}, {0.35f, clear}, {1.0f, clear}};
    graphene_rect_t r = GRAPHENE_RECT_INIT((float)x, (float)y, (float)w, (float)h);
    gtk_snapshot_append_repeating_linear_gradient(
        s, &r, &GRAPHENE_POINT_INIT((float)x, (float)y),
        &GRAPHENE_POINT_INIT((float)x + 3.5f, (float)y + 3.5f), stops, G_N_ELEMENTS(stops));
}

void dmtv_diamond(GtkSnapshot *s, const GdkRGBA *c, double x, double y, double r)
{
    gtk_snapshot_save(s);
    gtk_snapshot_translate(s, &GRAPHENE_POINT_INIT((float)x, (float)y));
    gtk_snapshot_rotate(s, 45.f);
    float a = (float)(r * 0.7071);
    gtk_snapshot_append_color(s, c, &GRAPHENE_RECT_INIT(-a, -a, 2 * a, 2 * a));
    gtk_snapshot_restore(s);
}

void dmtv_pin(GtkSnapshot *s, const GdkRGBA *c, double x, double y, double w, double h)
{
    /* a downward pointing wedge built from 1-px rows, cheap on every renderer */
    int rows = (int)h;
    for (int i = 0; i < rows; i++) {
        double ww = w * (1.0 - (double)i / rows);
        if (ww < 1)
            ww = 1;
        dmtv_fill(s, c, x - ww / 2, y + i, ww, 1);
    }
}

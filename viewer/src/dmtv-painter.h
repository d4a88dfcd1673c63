/*
 * dmtv-painter.h - what the drawing functions share: the colour theme
 * (light or dark), the fonts, and a cache of shaped text so that labels
 * repeated from frame to frame (hex values, lane names) are shaped once.
 * Plain struct, not a GObject: one per widget, or one per headless render.
 */
#pragma once

#include <gtk/gtk.h>

/* Colours of CPUs (ISR, DPC and ExecuteDma marks): CPU c has cpu[c % 8]. */
#define DMTV_CPU_COLORS 8

typedef struct {
    GdkRGBA cpu[DMTV_CPU_COLORS];
    GdkRGBA bg, lane_alt, label_bg, ruler_bg, grid, grid_major, fg, fg_dim, sep;
    GdkRGBA to_dev, from_dev, folded, folded_dark, fail, trunc, bounce;
    GdkRGBA lost, lost_hatch, err, warn, info, sel, sel_fill, cursor, range;
    GdkRGBA reg_line, reg_fill, reg_dense, reg_write, reg_read;
    GdkRGBA irq, irq_weak, dpc, marker, text_on_fill;
    GdkRGBA page_grid, line_4g, line_limit, overlap, adjacent, gap;
} DmtvTheme;

typedef enum {
    DMTV_FONT_LABEL = 0, /* lane names */
    DMTV_FONT_SMALL = 1, /* secondary text, ruler */
    DMTV_FONT_MONO = 2,  /* hex values */
    DMTV_FONT_BOLD = 3,
    DMTV_N_FONTS
} DmtvFont;

typedef struct DmtvPainter DmtvPainter;

/* ctx is referenced.  dark picks the theme. */
DmtvPainter *dmtv_painter_new(PangoContext *ctx, gboolean dark);
void dmtv_painter_free(DmtvPainter *p);
void dmtv_painter_set_dark(DmtvPainter *p, gboolean dark);
gboolean dmtv_painter_is_dark(const DmtvPainter *p);
const DmtvTheme *dmtv_painter_theme(const DmtvPainter *p);

/* Pixel size of text in a font (shapes it once, then cached). */
void dmtv_painter_text_size(DmtvPainter *p, DmtvFont font, const char *text, int *w, int *h);
/* Draw text with its top-left at (x, y). */
void dmtv_painter_text(DmtvPainter *p, GtkSnapshot *s, DmtvFont font, const char *text, double x,
                       double y, const GdkRGBA *color);
/* Draw text if it fits in max_w; returns TRUE if drawn. */
gboolean dmtv_painter_text_fit(DmtvPainter *p, GtkSnapshot *s, DmtvFont font, const char *text,
                               double x, double y, double max_w, const GdkRGBA *color);

/* The colour of CPU cpu (DMTV_CPU_NONE: NULL, draw the kind's own colour). */
static inline const GdkRGBA *dmtv_cpu_color(const DmtvTheme *t, unsigned cpu)
{
    return cpu >= 0xffffu ? NULL : &t->cpu[cpu % DMTV_CPU_COLORS];
}

/* Helpers on GtkSnapshot. */
void dmtv_fill(GtkSnapshot *s, const GdkRGBA *c, double x, double y, double w, double h);
void dmtv_outline(GtkSnapshot *s, const GdkRGBA *c, double x, double y, double w, double h,
                  double t);
/* Diagonal stripes of c over a rect (hatching). */
void dmtv_hatch(GtkSnapshot *s, const GdkRGBA *c, double x, double y, double w, double h);
/* A diamond centred at (x, y), radius r. */
void dmtv_diamond(GtkSnapshot *s, const GdkRGBA *c, double x, double y, double r);
/* A downward triangle-ish marker (a tapering stack of rects), tip at (x, y+h). */
void dmtv_pin(GtkSnapshot *s, const GdkRGBA *c, double x, double y, double w, double h);
GdkRGBA dmtv_alpha(const GdkRGBA *c, float a);

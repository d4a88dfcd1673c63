/*
 * dmtv-render.h - headless rendering: the same drawing code as the
 * widgets, into a PNG, with no display (GSK's cairo renderer).
 *
 *   dmatrace-viewer --render OUT.png [--size WxH] [--from T --to T]
 *                   [--view timeline|layout] [--select XFER] [--dark]
 *                   [--expand-register NAME]... FILE
 *
 * T is a time since the first record ("2.5ms", "120us", "1s"; a plain
 * number is ns).  Exit status: 0 written, 2 bad usage or bad input (a
 * corrupt or foreign file), 3 I/O or internal failure.
 */
#pragma once

#include <gtk/gtk.h>

#include "dmtv-model.h"

typedef enum { DMTV_RENDER_TIMELINE = 0, DMTV_RENDER_LAYOUT = 1 } DmtvRenderView;

typedef struct {
    int width, height;
    gboolean has_from, has_to;
    int64_t from, to; /* relative to the first record */
    DmtvRenderView view;
    uint32_t select; /* transfer to select (0: none) */
    gboolean dark;
    const char *expand[8]; /* register lanes to expand into bitfield lanes (NULL-ended) */
    gboolean has_cursor;   /* draw the pointer's readouts as if it were at */
    int64_t cursor;        /* ... this time (relative to the first record) */
    double cursor_y;       /* ... and this y (tests) */
} DmtvRenderOpts;

/* Make GSK's node types usable without gtk_init (no display). */
void dmtv_render_init_types(void);

/* A PangoContext that works without a display (96 dpi). */
PangoContext *dmtv_render_pango_context(void);

/* The node tree the renderer would draw (for tests: node counts). */
GskRenderNode *dmtv_render_node(DmtvModel *model, const DmtvRenderOpts *o);

/* Render a model to a texture.  NULL and error on renderer failure. */
GdkTexture *dmtv_render_texture(DmtvModel *model, const DmtvRenderOpts *o, GError **error);

/* The --render command line (argv as given to main).  Returns the exit
 * status. */
int dmtv_render_main(int argc, char **argv);

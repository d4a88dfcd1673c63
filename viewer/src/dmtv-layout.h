/*
 * dmtv-layout.h - the transfer layout: the physical address space with each
 * SG element as a block, one row per transfer.  Big gaps between the used
 * address ranges are collapsed so distant elements stay visible; the page
 * grid, the 4 GiB line and each device's address limit are drawn; overlaps
 * (inside a list, or between transfers whose lifetimes overlap) and
 * adjacent-but-uncoalesced elements are highlighted.
 *
 * DmtvLayout is plain data built from the model (outside any snapshot) and
 * drawn by dmtv_layout_draw into a GtkSnapshot; the widget and the headless
 * renderer share it.
 */
#pragma once

#include <gtk/gtk.h>

#include "dmtv-model.h"
#include "dmtv-painter.h"

typedef struct DmtvLayout DmtvLayout;

#define DMTV_LAYOUT_MAX_XFERS 256
#define DMTV_LAYOUT_MAX_ELEMS 65536

/* Flags of one element (also shown in the SG table). */
enum {
    DMTV_SG_CROSS_4G = 1u << 0,    /* crosses a 4 GiB boundary */
    DMTV_SG_ABOVE_LIMIT = 1u << 1, /* ends above the device's address limit */
    DMTV_SG_ADJACENT = 1u << 2,    /* starts where the previous element ends (uncoalesced) */
    DMTV_SG_OVERLAP = 1u << 3,     /* overlaps another element of this or a concurrent list */
    DMTV_SG_ZERO = 1u << 4,        /* length 0 */
    DMTV_SG_UNALIGNED = 1u << 5    /* not starting on a page and not the first element */
};

/* Element flags of one SG list on its own (no concurrent transfers). */
guint dmtv_sg_flags(const DmtvSgElem *sg, guint n, guint i, uint64_t addr_limit);
/* "4G, adjacent" etc.; buf of at least 64 bytes. */
void dmtv_sg_flags_text(guint flags, char *buf, size_t cap);

/* Build the layout of the given transfers (at most DMTV_LAYOUT_MAX_XFERS,
 * loading their SG lists from the model). */
DmtvLayout *dmtv_layout_new(DmtvModel *model, const uint32_t *xfers, guint n);
void dmtv_layout_free(DmtvLayout *l);

guint dmtv_layout_n_rows(const DmtvLayout *l);
guint dmtv_layout_n_blocks(const DmtvLayout *l);
guint dmtv_layout_n_segments(const DmtvLayout *l);
guint dmtv_layout_n_overlaps(const DmtvLayout *l);
guint dmtv_layout_n_adjacent(const DmtvLayout *l);
/* Transfers whose list the OS bounce-buffered (their blocks are bounce pages). */
guint dmtv_layout_n_bounced(const DmtvLayout *l);
/* Height the layout wants at a row count (px). */
double dmtv_layout_height(const DmtvLayout *l);

/* Draw into width x height; selected is a transfer id to emphasise (0: none). */
void dmtv_layout_draw(GtkSnapshot *s, DmtvPainter *p, DmtvLayout *l, int width, int height,
                      uint32_t selected);
/* The transfer row under y, 0 if none (for clicks). */
uint32_t dmtv_layout_xfer_at(const DmtvLayout *l, double y);

/*
 * dmtv-layout-view.h - DmtvLayoutView, the transfer layout widget: draws a
 * DmtvLayout (dmtv-layout.h) for the selected transfer or for every
 * transfer in the timeline's window; a click on a row selects that
 * transfer (::transfer-activated).  Its height follows the row count, so
 * it lives in a GtkScrolledWindow.
 */
#pragma once

#include <gtk/gtk.h>

#include "dmtv-model.h"

G_BEGIN_DECLS

#define DMTV_TYPE_LAYOUT_VIEW (dmtv_layout_view_get_type())
G_DECLARE_FINAL_TYPE(DmtvLayoutView, dmtv_layout_view, DMTV, LAYOUT_VIEW, GtkWidget)

GtkWidget *dmtv_layout_view_new(void);
/* Show these transfers (copied); selected is emphasised. */
void dmtv_layout_view_set_transfers(DmtvLayoutView *self, DmtvModel *model, const uint32_t *xfers,
                                    guint n, uint32_t selected);
guint dmtv_layout_view_get_n_blocks(DmtvLayoutView *self);
guint dmtv_layout_view_get_n_rows(DmtvLayoutView *self);

G_END_DECLS

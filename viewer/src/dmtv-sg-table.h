/*
 * dmtv-sg-table.h - DmtvSgTable, the SG list of the selected transfer as a
 * GtkColumnView (index, address, length, page offset, flags) over the lazy
 * DmtvSgList model, inside a scrolled window.
 */
#pragma once

#include <gtk/gtk.h>

#include "dmtv-model.h"

G_BEGIN_DECLS

#define DMTV_TYPE_SG_TABLE (dmtv_sg_table_get_type())
G_DECLARE_FINAL_TYPE(DmtvSgTable, dmtv_sg_table, DMTV, SG_TABLE, GtkWidget)

GtkWidget *dmtv_sg_table_new(void);
void dmtv_sg_table_set_transfer(DmtvSgTable *self, DmtvModel *model, uint32_t xfer);
/* The list model shown (owned by the table). */
GListModel *dmtv_sg_table_get_list(DmtvSgTable *self);
GtkColumnView *dmtv_sg_table_get_view(DmtvSgTable *self);

G_END_DECLS

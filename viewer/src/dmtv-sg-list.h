/*
 * dmtv-sg-list.h - DmtvSgList, a lazy GListModel over one SG list: it keeps
 * the elements as a plain array and creates a DmtvSgRow (computing the
 * element's flags) only when the list view asks for that row.
 */
#pragma once

#include <gio/gio.h>

#include "dmtv-model.h"

G_BEGIN_DECLS

#define DMTV_TYPE_SG_LIST (dmtv_sg_list_get_type())
G_DECLARE_FINAL_TYPE(DmtvSgList, dmtv_sg_list, DMTV, SG_LIST, GObject)

DmtvSgList *dmtv_sg_list_new(void);
/* Show the SG list of a transfer (0: empty).  Emits items-changed. */
void dmtv_sg_list_set_transfer(DmtvSgList *self, DmtvModel *model, uint32_t xfer);
uint32_t dmtv_sg_list_get_transfer(DmtvSgList *self);
/* Rows created so far by get_item (laziness test hook). */
guint dmtv_sg_list_get_created(DmtvSgList *self);

G_END_DECLS

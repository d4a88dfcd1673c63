/*
 * dmtv-sg-row.h - DmtvSgRow, one row of the SG table: an element's index,
 * address, length and flags.  Created on demand by DmtvSgList.
 */
#pragma once

#include <glib-object.h>
#include <stdint.h>

G_BEGIN_DECLS

#define DMTV_TYPE_SG_ROW (dmtv_sg_row_get_type())
G_DECLARE_FINAL_TYPE(DmtvSgRow, dmtv_sg_row, DMTV, SG_ROW, GObject)

DmtvSgRow *dmtv_sg_row_new(guint index, uint64_t addr, uint64_t len, guint flags);
guint dmtv_sg_row_get_index(DmtvSgRow *self);
uint64_t dmtv_sg_row_get_addr(DmtvSgRow *self);
uint64_t dmtv_sg_row_get_len(DmtvSgRow *self);
guint dmtv_sg_row_get_flags(DmtvSgRow *self); /* DMTV_SG_* (dmtv-layout.h) */

G_END_DECLS

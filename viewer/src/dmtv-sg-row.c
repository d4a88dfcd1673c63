/*
 * dmtv-sg-row.c - DmtvSgRow (see dmtv-sg-row.h): an immutable value object.
 */
#include "dmtv-sg-row.h"

struct _DmtvSgRow {
    GObject parent_instance;
    guint index, flags;
    uint64_t addr, len;
};

G_DEFINE_FINAL_TYPE(DmtvSgRow, dmtv_sg_row, G_TYPE_OBJECT)

static void dmtv_sg_row_class_init(DmtvSgRowClass *klass)
{
    (void)klass;
}

static void dmtv_sg_row_init(DmtvSgRow *self)
{
    (void)self;
}

DmtvSgRow *dmtv_sg_row_new(guint index, uint64_t addr, uint64_t len, guint flags)
{
    DmtvSgRow *r = g_object_new(DMTV_TYPE_SG_ROW, NULL);
    r->index = index;
    r->addr = addr;
    r->len = len;
    r->flags = flags;
    return r;
}

guint dmtv_sg_row_get_index(DmtvSgRow *self)
{
    g_return_val_if_fail(DMTV_IS_SG_ROW(self), 0);
    return self->index;
}

uint64_t dmtv_sg_row_get_addr(DmtvSgRow *self)
{
    g_return_val_if_fail(DMTV_IS_SG_ROW(self), 0);
    return self->addr;
}

uint64_t dmtv_sg_row_get_len(DmtvSgRow *self)
{
    g_return_val_if_fail(DMTV_IS_SG_ROW(self), 0);
    return self->len;
}

guint dmtv_sg_row_get_flags(DmtvSgRow *self)
{
    g_return_val_if_fail(DMTV_IS_SG_ROW(self), 0);
    return self->flags;
}

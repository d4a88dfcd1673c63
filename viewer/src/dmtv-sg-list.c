/*
 * dmtv-sg-list.c - DmtvSgList (see dmtv-sg-list.h).
 */
#include "dmtv-sg-list.h"

#include "dmtv-layout.h"
#include "dmtv-sg-row.h"

struct _DmtvSgList {
    GObject parent_instance;
    DmtvSgElem *sg;
    guint n;
    uint64_t limit;
    uint32_t xfer;
    guint created;
};

static void list_iface_init(GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(DmtvSgList, dmtv_sg_list, G_TYPE_OBJECT,
                              G_IMPLEMENT_INTERFACE(G_TYPE_LIST_MODEL, list_iface_init))

static GType get_item_type(GListModel *list)
{
    (void)list;
    return DMTV_TYPE_SG_ROW;
}

static guint get_n_items(GListModel *list)
{
    return DMTV_SG_LIST(list)->n;
}

static gpointer get_item(GListModel *list, guint i)
{
    DmtvSgList *self = DMTV_SG_LIST(list);
    if (i >= self->n)
        return NULL;
    self->created++;
    return dmtv_sg_row_new(i, self->sg[i].addr, self->sg[i].len,
                           dmtv_sg_flags(self->sg, self->n, i, self->limit));
}

static void list_iface_init(GListModelInterface *iface)
{
    iface->get_item_type = get_item_type;
    iface->get_n_items = get_n_items;
    iface->get_item = get_item;
}

static void dmtv_sg_list_finalize(GObject *o)
{
    g_free(DMTV_SG_LIST(o)->sg);
    G_OBJECT_CLASS(dmtv_sg_list_parent_class)->finalize(o);
}

static void dmtv_sg_list_class_init(DmtvSgListClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = dmtv_sg_list_finalize;
}

static void dmtv_sg_list_init(DmtvSgList *self)
{
    self->limit = UINT64_MAX;
}

DmtvSgList *dmtv_sg_list_new(void)
{
    return g_object_new(DMTV_TYPE_SG_LIST, NULL);
}

void dmtv_sg_list_set_transfer(DmtvSgList *self, DmtvModel *model, uint32_t xfer)
{
    g_return_if_fail(DMTV_IS_SG_LIST(self));
    guint old = self->n;
    g_clear_pointer(&self->sg, g_free);
    self->n = 0;
    self->xfer = xfer;
    self->limit = UINT64_MAX;
    if (model && xfer) {
        self->sg = dmtv_model_transfer_sg(model, xfer, &self->n);
        DmtvTransfer t;
        if (dmtv_model_get_transfer(model, xfer, &t)) {
            const DmtvAdapter *a = dmtv_model_adapter(model, t.adapter);
            if (a)
                self->limit = a->addr_limit;
        }
    }
    g_list_model_items_changed(G_LIST_MODEL(self), 0, old, self->n);
}

uint32_t dmtv_sg_list_get_transfer(DmtvSgList *self)
{
    return self->xfer;
}

guint dmtv_sg_list_get_created(DmtvSgList *self)
{
    return self->created;
}

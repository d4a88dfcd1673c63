/*
 * dmtv-sg-table.c - DmtvSgTable (see dmtv-sg-table.h).  Cells are
 * GtkInscriptions (the cheap 4.8 list-cell label) filled in ::bind.
 */
#define G_LOG_DOMAIN "dmtv-sg-table"

#include "dmtv-sg-table.h"

#include <inttypes.h>

#include "dmtv-layout.h"
#include "dmtv-sg-list.h"
#include "dmtv-sg-row.h"
#include "dmtv-units.h"

struct _DmtvSgTable {
    GtkWidget parent_instance;
    GtkWidget *scroller;
    GtkColumnView *view;
    DmtvSgList *list;
    GtkLabel *caption;
    GtkWidget *box;
};

G_DEFINE_FINAL_TYPE(DmtvSgTable, dmtv_sg_table, GTK_TYPE_WIDGET)

enum { COL_INDEX, COL_ADDR, COL_LEN, COL_OFFSET, COL_FLAGS };

static void setup_cell(GtkSignalListItemFactory *f, GtkListItem *item, gpointer col)
{
    (void)f;
    GtkWidget *w = gtk_inscription_new(NULL);
    static const guint chars[] = {
        [COL_INDEX] = 4, [COL_ADDR] = 20, [COL_LEN] = 9, [COL_OFFSET] = 6, [COL_FLAGS] = 24};
    gtk_inscription_set_min_chars(GTK_INSCRIPTION(w), chars[GPOINTER_TO_INT(col)]);
    gtk_inscription_set_nat_chars(GTK_INSCRIPTION(w), chars[GPOINTER_TO_INT(col)]);
    if (GPOINTER_TO_INT(col) != COL_FLAGS)
        gtk_widget_add_css_class(w, "monospace");
    if (GPOINTER_TO_INT(col) == COL_INDEX || GPOINTER_TO_INT(col) == COL_LEN ||
        GPOINTER_TO_INT(col) == COL_OFFSET)
        gtk_inscription_set_xalign(GTK_INSCRIPTION(w), 1.0f);
    gtk_list_item_set_child(item, w);
}

static void bind_cell(GtkSignalListItemFactory *f, GtkListItem *item, gpointer col)
{
    (void)f;
    DmtvSgRow *r = gtk_list_item_get_item(item);
    GtkInscription *w = GTK_INSCRIPTION(gtk_list_item_get_child(item));
    char buf[96];
    switch (GPOINTER_TO_INT(col)) {
    case COL_INDEX:
        g_snprintf(buf, sizeof buf, "%u", dmtv_sg_row_get_index(r));
        break;
    case COL_ADDR:
        dmtv_format_addr(buf, sizeof buf, dmtv_sg_row_get_addr(r));
        break;
    case COL_LEN:
        g_snprintf(buf, sizeof buf, "%" PRIu64, dmtv_sg_row_get_len(r));
        break;
    case COL_OFFSET:
        g_snprintf(buf, sizeof buf, "0x%03" PRIx64, dmtv_sg_row_get_addr(r) & 0xfff);
        break;
    default:
        dmtv_sg_flags_text(dmtv_sg_row_get_flags(r), buf, sizeof buf);
        break;
    }
    gtk_inscription_set_text(w, buf);
    if (GPOINTER_TO_INT(col) == COL_FLAGS) {
        guint fl = dmtv_sg_row_get_flags(r);
        if (fl & (DMTV_SG_OVERLAP | DMTV_SG_CROSS_4G | DMTV_SG_ABOVE_LIMIT | DMTV_SG_ZERO))
            gtk_widget_add_css_class(GTK_WIDGET(w), "error");
        else
            gtk_widget_remove_css_class(GTK_WIDGET(w), "error");
    }
}

static void add_column(DmtvSgTable *self, const char *title, int col, gboolean expand)
{
    GtkListItemFactory *f = gtk_signal_list_item_factory_new();
    g_signal_connect(f, "setup", G_CALLBACK(setup_cell), GINT_TO_POINTER(col));
    g_signal_connect(f, "bind", G_CALLBACK(bind_cell), GINT_TO_POINTER(col));
    GtkColumnViewColumn *c = gtk_column_view_column_new(title, f);
    gtk_column_view_column_set_expand(c, expand);
    gtk_column_view_column_set_resizable(c, TRUE);
    gtk_column_view_append_column(self->view, c);
    g_object_unref(c);
}

static void dmtv_sg_table_dispose(GObject *o)
{
    DmtvSgTable *self = DMTV_SG_TABLE(o);
    g_clear_pointer(&self->box, gtk_widget_unparent);
    g_clear_object(&self->list);
    G_OBJECT_CLASS(dmtv_sg_table_parent_class)->dispose(o);
}

static void dmtv_sg_table_class_init(DmtvSgTableClass *klass)
{
    G_OBJECT_CLASS(klass)->dispose = dmtv_sg_table_dispose;
    gtk_widget_class_set_layout_manager_type(GTK_WIDGET_CLASS(klass), GTK_TYPE_BIN_LAYOUT);
    gtk_widget_class_set_css_name(GTK_WIDGET_CLASS(klass), "dmtv-sg-table");
}

static void dmtv_sg_table_init(DmtvSgTable *self)
{
    self->box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
    gtk_widget_set_parent(self->box, GTK_WIDGET(self));
    self->caption = GTK_LABEL(gtk_label_new("SG list: no transfer selected"));
    gtk_label_set_xalign(self->caption, 0);
    gtk_widget_add_css_class(GTK_WIDGET(self->caption), "caption-heading");
    gtk_widget_set_margin_start(GTK_WIDGET(self->caption), 8);
    gtk_widget_set_margin_top(GTK_WIDGET(self->caption), 4);
    gtk_widget_set_margin_bottom(GTK_WIDGET(self->caption), 4);
    gtk_box_append(GTK_BOX(self->box), GTK_WIDGET(self->caption));
    self->list = dmtv_sg_list_new();
    GtkSingleSelection *sel = gtk_single_selection_new(G_LIST_MODEL(g_object_ref(self->list)));
    self->view = GTK_COLUMN_VIEW(gtk_column_view_new(GTK_SELECTION_MODEL(sel)));
    gtk_column_view_set_show_column_separators(self->view, TRUE);
    gtk_widget_add_css_class(GTK_WIDGET(self->view), "data-table");
    add_column(self, "#", COL_INDEX, FALSE);
    add_column(self, "Address", COL_ADDR, TRUE);
    add_column(self, "Length", COL_LEN, FALSE);
    add_column(self, "Page off.", COL_OFFSET, FALSE);
    add_column(self, "Flags", COL_FLAGS, TRUE);
    self->scroller = gtk_scrolled_window_new();
    gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(self->scroller), GTK_WIDGET(self->view));
    gtk_widget_set_vexpand(self->scroller, TRUE);
    gtk_box_append(GTK_BOX(self->box), self->scroller);
}

GtkWidget *dmtv_sg_table_new(void)
{
    return g_object_new(DMTV_TYPE_SG_TABLE, NULL);
}

void dmtv_sg_table_set_transfer(DmtvSgTable *self, DmtvModel *model, uint32_t xfer)
{
    g_return_if_fail(DMTV_IS_SG_TABLE(self));
    dmtv_sg_list_set_transfer(self->list, model, xfer);
    char t[96];
    guint n = g_list_model_get_n_items(G_LIST_MODEL(self->list));
    if (xfer)
        g_snprintf(t, sizeof t, "SG list of transfer %u: %u element%s", xfer, n, n == 1 ? "" : "s");
    else
        g_snprintf(t, sizeof t, "SG list: no transfer selected");
    gtk_label_set_text(self->caption, t);
}

GListModel *dmtv_sg_table_get_list(DmtvSgTable *self)
{
    return G_LIST_MODEL(self->list);
}

GtkColumnView *dmtv_sg_table_get_view(DmtvSgTable *self)
{
    return self->view;
}

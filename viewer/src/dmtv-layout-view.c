/*
 * dmtv-layout-view.c - DmtvLayoutView (see dmtv-layout-view.h).  The
 * layout (SG lists, overlaps, segments) is built in set_transfers, outside
 * snapshot; snapshot only draws it.
 */
#define G_LOG_DOMAIN "dmtv-layout-view"

#include "dmtv-layout-view.h"

#include "dmtv-layout.h"
#include "dmtv-painter.h"

struct _DmtvLayoutView {
    GtkWidget parent_instance;
    DmtvLayout *layout;
    DmtvPainter *painter;
    uint32_t selected;
};

G_DEFINE_FINAL_TYPE(DmtvLayoutView, dmtv_layout_view, GTK_TYPE_WIDGET)

enum { SIG_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void on_click(GtkGestureClick *g, int n, double x, double y, gpointer user)
{
    (void)g;
    (void)n;
    (void)x;
    DmtvLayoutView *self = user;
    if (!self->layout)
        return;
    uint32_t xfer = dmtv_layout_xfer_at(self->layout, y);
    if (xfer)
        g_signal_emit(self, signals[SIG_ACTIVATED], 0, xfer);
}

static gboolean style_is_dark(GtkWidget *w)
{
    GdkRGBA fg;
    gtk_style_context_get_color(gtk_widget_get_style_context(w), &fg);
    return 0.299 * fg.red + 0.587 * fg.green + 0.114 * fg.blue > 0.5;
}

static void dmtv_layout_view_snapshot(GtkWidget *w, GtkSnapshot *s)
{
    DmtvLayoutView *self = DMTV_LAYOUT_VIEW(w);
    gboolean dark = style_is_dark(w);
    if (!self->painter)
        self->painter = dmtv_painter_new(gtk_widget_get_pango_context(w), dark);
    else if (dmtv_painter_is_dark(self->painter) != dark)
        dmtv_painter_set_dark(self->painter, dark);
    dmtv_layout_draw(s, self->painter, self->layout, gtk_widget_get_width(w),
                     gtk_widget_get_height(w), self->selected);
}

static void dmtv_layout_view_measure(GtkWidget *w, GtkOrientation o, int for_size, int *min,
                                     int *nat, int *min_base, int *nat_base)
{
    (void)for_size;
    DmtvLayoutView *self = DMTV_LAYOUT_VIEW(w);
    if (o == GTK_ORIENTATION_HORIZONTAL) {
        *min = 400;
        *nat = 900;
    } else {
        *min = *nat = self->layout ? (int)dmtv_layout_height(self->layout) : 120;
    }
    *min_base = *nat_base = -1;
}

static void dmtv_layout_view_dispose(GObject *o)
{
    DmtvLayoutView *self = DMTV_LAYOUT_VIEW(o);
    g_clear_pointer(&self->layout, dmtv_layout_free);
    g_clear_pointer(&self->painter, dmtv_painter_free);
    G_OBJECT_CLASS(dmtv_layout_view_parent_class)->dispose(o);
}

static void dmtv_layout_view_class_init(DmtvLayoutViewClass *klass)
{
    GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
    G_OBJECT_CLASS(klass)->dispose = dmtv_layout_view_dispose;
    wc->snapshot = dmtv_layout_view_snapshot;
    wc->measure = dmtv_layout_view_measure;
    gtk_widget_class_set_css_name(wc, "dmtv-layout-view");
    signals[SIG_ACTIVATED] =
        g_signal_new("transfer-activated", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
                     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void dmtv_layout_view_init(DmtvLayoutView *self)
{
    gtk_widget_set_hexpand(GTK_WIDGET(self), TRUE);
    GtkGesture *click = gtk_gesture_click_new();
    g_signal_connect(click, "pressed", G_CALLBACK(on_click), self);
    gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(click));
}

GtkWidget *dmtv_layout_view_new(void)
{
    return g_object_new(DMTV_TYPE_LAYOUT_VIEW, NULL);
}

void dmtv_layout_view_set_transfers(DmtvLayoutView *self, DmtvModel *model, const uint32_t *xfers,
                                    guint n, uint32_t selected)
{
    g_return_if_fail(DMTV_IS_LAYOUT_VIEW(self));
    g_clear_pointer(&self->layout, dmtv_layout_free);
    if (model && n)
        self->layout = dmtv_layout_new(model, xfers, n);
    self->selected = selected;
    gtk_widget_queue_resize(GTK_WIDGET(self));
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

guint dmtv_layout_view_get_n_blocks(DmtvLayoutView *self)
{
    return self->layout ? dmtv_layout_n_blocks(self->layout) : 0;
}

guint dmtv_layout_view_get_n_rows(DmtvLayoutView *self)
{
    return self->layout ? dmtv_layout_n_rows(self->layout) : 0;
}

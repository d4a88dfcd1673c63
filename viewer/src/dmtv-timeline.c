/*
 * dmtv-timeline.c - DmtvTimeline (see dmtv-timeline.h).
 *
 * Invariants:
 *  1. self->frame is refreshed (dmtv_model_frame_nowait: never SQL on this
 *     thread) in view_changed(), called by every path that moves the window
 *     or resizes the widget, and in frame_ready() when the model's worker
 *     brings the precise frame for a preview; snapshot() only draws what is
 *     there.
 *  2. view.t1 > view.t0 and the span stays within [MIN_SPAN, 8 x trace].
 *  3. hadj mirrors the window (value = t0 - origin, page = span), vadj the
 *     lane scroll; `syncing` breaks the adjustment -> view -> adjustment loop.
 */
#define G_LOG_DOMAIN "dmtv-timeline"

#include "dmtv-timeline.h"

#include <math.h>

#include "dmtv-painter.h"
#include "dmtv-timeline-draw.h"

#define MIN_SPAN  20 /* ns */
#define DRAG_SLOP 4.0

struct _DmtvTimeline {
    GtkWidget parent_instance;
    DmtvModel *model;
    DmtvPainter *painter;
    DmtvView view;
    const DmtvFrame *frame;
    GtkAdjustment *hadj, *vadj;
    gboolean syncing;
    double pointer_x, pointer_y;
    gboolean pointer_in;
    /* drag state */
    int64_t drag_t0, drag_t1;
    double drag_scroll, drag_x, drag_y;
    gboolean drag_range, drag_moved;
    gint64 fetch_us;
    gulong ready_id; /* model "frame-ready" handler */
};

G_DEFINE_FINAL_TYPE(DmtvTimeline, dmtv_timeline, GTK_TYPE_WIDGET)

enum { SIG_TRANSFER_SELECTED, SIG_FINDING_SELECTED, SIG_VIEW_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static const DmtvTrace *trace_of(DmtvTimeline *self)
{
    return self->model ? dmtv_model_get_trace(self->model) : NULL;
}

static double plot_width(DmtvTimeline *self)
{
    return MAX(self->view.width - DMTV_LABEL_W, 1);
}

static void sync_adjustments(DmtvTimeline *self)
{
    const DmtvTrace *tr = trace_of(self);
    self->syncing = TRUE;
    if (tr) {
        double span = (double)(tr->t_last - tr->t_first);
        double page = (double)(self->view.t1 - self->view.t0);
        double v = (double)(self->view.t0 - tr->t_first);
        double lo = MIN(-span * 0.02, v), hi = MAX(span * 1.02, v + page);
        gtk_adjustment_configure(self->hadj, v, lo, hi, page * 0.1, page * 0.9, page);
    } else {
        gtk_adjustment_configure(self->hadj, 0, 0, 1, 0.1, 0.9, 1);
    }
    double content = tr ? dmtv_lanes_height(tr) : 0;
    double page = MAX(self->view.height - DMTV_RULER_H, 1);
    self->view.scroll_y = CLAMP(self->view.scroll_y, 0, MAX(content - page, 0));
    gtk_adjustment_configure(self->vadj, self->view.scroll_y, 0, MAX(content, page), 24, page * 0.9,
                             page);
    self->syncing = FALSE;
}

static void view_changed(DmtvTimeline *self)
{
    if (self->model) {
        gint64 t = g_get_monotonic_time();
        self->frame = dmtv_model_frame_nowait(self->model, self->view.t0, self->view.t1,
                                              (int)plot_width(self));
        self->fetch_us = g_get_monotonic_time() - t;
    } else {
        self->frame = NULL;
    }
    sync_adjustments(self);
    gtk_widget_queue_draw(GTK_WIDGET(self));
    g_signal_emit(self, signals[SIG_VIEW_CHANGED], 0);
}

/* The model's worker finished a fetch: swap the preview for the precise frame. */
static void frame_ready(DmtvModel *model, gpointer user)
{
    DmtvTimeline *self = user;
    (void)model;
    if (!self->model || !self->frame || !self->frame->approx)
        return;
    self->frame =
        dmtv_model_frame_nowait(self->model, self->view.t0, self->view.t1, (int)plot_width(self));
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void clamp_window(DmtvTimeline *self, int64_t *t0, int64_t *t1)
{
    const DmtvTrace *tr = trace_of(self);
    int64_t span = *t1 - *t0;
    int64_t max_span = tr ? MAX((tr->t_last - tr->t_first) * 8, 1000) : INT64_MAX / 4;
    if (span < MIN_SPAN) {
        int64_t mid = *t0 + span / 2;
        span = MIN_SPAN;
        *t0 = mid - span / 2;
    }
    if (span > max_span) {
        int64_t mid = *t0 + span / 2;
        span = max_span;
        *t0 = mid - span / 2;
    }
    if (tr) {
        /* keep some of the trace in view */
        int64_t lo = tr->t_first - span + span / 10, hi = tr->t_last - span / 10;
        if (*t0 < lo)
            *t0 = lo;
        if (*t0 > hi)
            *t0 = hi;
    }
    *t1 = *t0 + span;
}

void dmtv_timeline_set_window(DmtvTimeline *self, int64_t t0, int64_t t1)
{
    g_return_if_fail(DMTV_IS_TIMELINE(self));
    if (t1 <= t0)
        t1 = t0 + 1;
    clamp_window(self, &t0, &t1);
    self->view.t0 = t0;
    self->view.t1 = t1;
    view_changed(self);
}

const DmtvView *dmtv_timeline_get_view(DmtvTimeline *self)
{
    return &self->view;
}

void dmtv_timeline_fit_all(DmtvTimeline *self)
{
    const DmtvTrace *tr = trace_of(self);
    if (!tr) {
        dmtv_timeline_set_window(self, 0, 1000000000);
        return;
    }
    int64_t pad = MAX((tr->t_last - tr->t_first) / 50, 100);
    dmtv_timeline_set_window(self, tr->t_first - pad, tr->t_last + pad);
}

static void zoom_at(DmtvTimeline *self, double factor, double x)
{
    DmtvView *v = &self->view;
    double span = (double)(v->t1 - v->t0);
    double frac = CLAMP((x - DMTV_LABEL_W) / plot_width(self), 0, 1);
    double anchor = (double)v->t0 + frac * span;
    double ns = span / factor;
    int64_t t0 = (int64_t)llround(anchor - frac * ns);
    dmtv_timeline_set_window(self, t0, t0 + (int64_t)llround(MAX(ns, 1)));
}

void dmtv_timeline_zoom(DmtvTimeline *self, double factor)
{
    g_return_if_fail(DMTV_IS_TIMELINE(self));
    double x = self->pointer_in && self->pointer_x > DMTV_LABEL_W
                   ? self->pointer_x
                   : DMTV_LABEL_W + plot_width(self) / 2;
    zoom_at(self, factor, x);
}

void dmtv_timeline_pan(DmtvTimeline *self, double fraction)
{
    int64_t d = (int64_t)llround((double)(self->view.t1 - self->view.t0) * fraction);
    dmtv_timeline_set_window(self, self->view.t0 + d, self->view.t1 + d);
}

void dmtv_timeline_show_time(DmtvTimeline *self, int64_t t)
{
    int64_t span = self->view.t1 - self->view.t0;
    dmtv_timeline_set_window(self, t - span / 2, t - span / 2 + span);
}

gboolean dmtv_timeline_zoom_to_selection(DmtvTimeline *self)
{
    DmtvView *v = &self->view;
    if (v->has_range && v->range_t0 != v->range_t1) {
        int64_t a = MIN(v->range_t0, v->range_t1), b = MAX(v->range_t0, v->range_t1);
        v->has_range = FALSE;
        dmtv_timeline_set_window(self, a, b);
        return TRUE;
    }
    DmtvTransfer t;
    if (self->model && v->sel_xfer && dmtv_model_get_transfer(self->model, v->sel_xfer, &t)) {
        int64_t a = t.start_ts != INT64_MIN ? t.start_ts : t.t_begin;
        int64_t b = MAX(t.complete_ts != INT64_MIN ? t.complete_ts : t.t_end, t.t_end);
        int64_t pad = MAX((b - a) / 8, 50);
        dmtv_timeline_set_window(self, a - pad, b + pad);
        return TRUE;
    }
    return FALSE;
}

void dmtv_timeline_select_transfer(DmtvTimeline *self, uint32_t xfer)
{
    g_return_if_fail(DMTV_IS_TIMELINE(self));
    self->view.sel_xfer = xfer;
    gtk_widget_queue_draw(GTK_WIDGET(self));
    g_signal_emit(self, signals[SIG_TRANSFER_SELECTED], 0, xfer);
}

uint32_t dmtv_timeline_get_selected_transfer(DmtvTimeline *self)
{
    return self->view.sel_xfer;
}

void dmtv_timeline_select_finding(DmtvTimeline *self, int64_t id)
{
    self->view.sel_finding = id;
    gtk_widget_queue_draw(GTK_WIDGET(self));
    g_signal_emit(self, signals[SIG_FINDING_SELECTED], 0, (gint64)id);
}

void dmtv_timeline_refresh(DmtvTimeline *self)
{
    self->view.filter_active = self->model && dmtv_model_has_filter(self->model);
    view_changed(self);
}

GtkAdjustment *dmtv_timeline_get_hadjustment(DmtvTimeline *self)
{
    return self->hadj;
}

GtkAdjustment *dmtv_timeline_get_vadjustment(DmtvTimeline *self)
{
    return self->vadj;
}

gint64 dmtv_timeline_get_last_fetch_us(DmtvTimeline *self)
{
    return self->fetch_us;
}

void dmtv_timeline_set_model(DmtvTimeline *self, DmtvModel *model)
{
    g_return_if_fail(DMTV_IS_TIMELINE(self));
    if (model)
        g_object_ref(model);
    if (self->model && self->ready_id)
        g_signal_handler_disconnect(self->model, self->ready_id);
    self->ready_id = 0;
    g_clear_object(&self->model);
    self->model = model;
    if (model)
        self->ready_id = g_signal_connect(model, "frame-ready", G_CALLBACK(frame_ready), self);
    self->frame = NULL;
    self->view.sel_xfer = 0;
    self->view.sel_finding = -1;
    self->view.has_range = FALSE;
    self->view.scroll_y = 0;
    self->view.filter_active = FALSE;
    dmtv_timeline_fit_all(self);
}

void dmtv_timeline_replace_model(DmtvTimeline *self, DmtvModel *model)
{
    g_return_if_fail(DMTV_IS_TIMELINE(self) && DMTV_IS_MODEL(model));
    if (!self->model) {
        dmtv_timeline_set_model(self, model);
        return;
    }
    g_object_ref(model);
    if (self->ready_id)
        g_signal_handler_disconnect(self->model, self->ready_id);
    g_clear_object(&self->model);
    self->model = model;
    self->ready_id = g_signal_connect(model, "frame-ready", G_CALLBACK(frame_ready), self);
    self->frame = NULL;
    view_changed(self);
}

DmtvModel *dmtv_timeline_get_model(DmtvTimeline *self)
{
    return self->model;
}

/* ---- input ------------------------------------------------------------------------ */

static void click_at(DmtvTimeline *self, double x, double y)
{
    const DmtvTrace *tr = trace_of(self);
    if (tr && x < DMTV_LABEL_W) {
        /* a register's label: expand it into its bitfields, or fold it */
        gssize lane = dmtv_lane_at(tr, &self->view, y);
        if (lane >= 0 && tr->lanes[lane].kind == DMT_LANE_REGISTER) {
            dmtv_model_expand_lane(self->model, (size_t)lane, tr->lanes[lane].n_fields == 0);
            view_changed(self);
        }
        return;
    }
    if (!tr)
        return;
    gssize lane = dmtv_lane_at(tr, &self->view, y);
    if (lane < 0)
        return;
    if (tr->lanes[lane].kind == DMT_LANE_FINDINGS) {
        int64_t id = dmtv_finding_at(tr, &self->view, x, y);
        if (id >= 0)
            dmtv_timeline_select_finding(self, id);
        return;
    }
    if (tr->lanes[lane].kind != DMT_LANE_TRANSFERS)
        return;
    uint32_t xfer = dmtv_span_at(tr, self->frame, &self->view, x, y);
    if (!xfer) {
        int64_t t = dmtv_t_of(&self->view, x);
        int64_t tol = (int64_t)(3 * (double)(self->view.t1 - self->view.t0) / plot_width(self));
        xfer = dmtv_model_transfer_at(self->model, (size_t)lane, t, tol);
    }
    dmtv_timeline_select_transfer(self, xfer);
}

void dmtv_timeline_click(DmtvTimeline *self, double x, double y)
{
    click_at(self, x, y);
}

static gboolean on_scroll(GtkEventControllerScroll *c, double dx, double dy, gpointer user)
{
    DmtvTimeline *self = user;
    GdkModifierType mods = gtk_event_controller_get_current_event_state(GTK_EVENT_CONTROLLER(c));
    if (mods & GDK_CONTROL_MASK) {
        dmtv_timeline_zoom(self, pow(1.25, -dy));
        return TRUE;
    }
    if (mods & GDK_SHIFT_MASK) {
        dmtv_timeline_pan(self, (dy + dx) * 0.08);
        return TRUE;
    }
    if (dx != 0)
        dmtv_timeline_pan(self, dx * 0.08);
    if (dy != 0) {
        const DmtvTrace *tr = trace_of(self);
        double content = tr ? dmtv_lanes_height(tr) : 0;
        double page = self->view.height - DMTV_RULER_H;
        if (content > page + 1 && !(self->pointer_y < DMTV_RULER_H)) {
            gtk_adjustment_set_value(self->vadj, gtk_adjustment_get_value(self->vadj) + dy * 40);
        } else {
            dmtv_timeline_pan(self, dy * 0.08);
        }
    }
    return TRUE;
}

static void on_motion(GtkEventControllerMotion *c, double x, double y, gpointer user)
{
    (void)c;
    DmtvTimeline *self = user;
    self->pointer_x = x;
    self->pointer_y = y;
    self->pointer_in = TRUE;
    gboolean in_plot = x >= DMTV_LABEL_W && self->model;
    self->view.has_cursor = in_plot;
    if (in_plot)
        self->view.cursor_ts = dmtv_t_of(&self->view, x);
    self->view.cursor_y = y;
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void on_leave(GtkEventControllerMotion *c, gpointer user)
{
    (void)c;
    DmtvTimeline *self = user;
    self->pointer_in = FALSE;
    self->view.has_cursor = FALSE;
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void on_drag_begin(GtkGestureDrag *g, double x, double y, gpointer user)
{
    DmtvTimeline *self = user;
    GdkModifierType mods = gtk_event_controller_get_current_event_state(GTK_EVENT_CONTROLLER(g));
    guint button = gtk_gesture_single_get_current_button(GTK_GESTURE_SINGLE(g));
    gtk_widget_grab_focus(GTK_WIDGET(self));
    self->drag_t0 = self->view.t0;
    self->drag_t1 = self->view.t1;
    self->drag_scroll = self->view.scroll_y;
    self->drag_x = x;
    self->drag_y = y;
    self->drag_moved = FALSE;
    self->drag_range = (mods & GDK_SHIFT_MASK) || button == GDK_BUTTON_SECONDARY ||
                       (y < DMTV_RULER_H && x >= DMTV_LABEL_W);
}

static void on_drag_update(GtkGestureDrag *g, double ox, double oy, gpointer user)
{
    (void)g;
    DmtvTimeline *self = user;
    if (!self->drag_moved && fabs(ox) < DRAG_SLOP && fabs(oy) < DRAG_SLOP)
        return;
    self->drag_moved = TRUE;
    if (self->drag_range) {
        DmtvView tmp = self->view;
        self->view.has_range = TRUE;
        self->view.range_t0 = dmtv_t_of(&tmp, MAX(self->drag_x, DMTV_LABEL_W));
        self->view.range_t1 = dmtv_t_of(&tmp, MAX(self->drag_x + ox, DMTV_LABEL_W));
        gtk_widget_queue_draw(GTK_WIDGET(self));
        return;
    }
    double ns_px = (double)(self->drag_t1 - self->drag_t0) / plot_width(self);
    int64_t d = (int64_t)llround(-ox * ns_px);
    self->view.scroll_y = self->drag_scroll - oy;
    dmtv_timeline_set_window(self, self->drag_t0 + d, self->drag_t1 + d);
}

static void on_drag_end(GtkGestureDrag *g, double ox, double oy, gpointer user)
{
    (void)g;
    DmtvTimeline *self = user;
    if (!self->drag_moved) {
        self->view.has_range = FALSE;
        click_at(self, self->drag_x, self->drag_y);
        gtk_widget_queue_draw(GTK_WIDGET(self));
    }
    (void)ox;
    (void)oy;
}

static void on_hadj(GtkAdjustment *a, gpointer user)
{
    DmtvTimeline *self = user;
    const DmtvTrace *tr = trace_of(self);
    if (self->syncing || !tr)
        return;
    int64_t span = self->view.t1 - self->view.t0;
    int64_t t0 = tr->t_first + (int64_t)llround(gtk_adjustment_get_value(a));
    dmtv_timeline_set_window(self, t0, t0 + span);
}

static void on_vadj(GtkAdjustment *a, gpointer user)
{
    DmtvTimeline *self = user;
    if (self->syncing)
        return;
    self->view.scroll_y = gtk_adjustment_get_value(a);
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

/* actions bound to keys while the timeline has focus */
static void act_zoom_in(GtkWidget *w, const char *n, GVariant *p)
{
    (void)n;
    (void)p;
    dmtv_timeline_zoom(DMTV_TIMELINE(w), 1.5);
}

static void act_zoom_out(GtkWidget *w, const char *n, GVariant *p)
{
    (void)n;
    (void)p;
    dmtv_timeline_zoom(DMTV_TIMELINE(w), 1 / 1.5);
}

static void act_pan(GtkWidget *w, const char *n, GVariant *p)
{
    (void)n;
    dmtv_timeline_pan(DMTV_TIMELINE(w), g_variant_get_double(p));
}

static void act_scroll(GtkWidget *w, const char *n, GVariant *p)
{
    (void)n;
    DmtvTimeline *self = DMTV_TIMELINE(w);
    gtk_adjustment_set_value(self->vadj,
                             gtk_adjustment_get_value(self->vadj) + g_variant_get_double(p));
}

static void act_fit(GtkWidget *w, const char *n, GVariant *p)
{
    (void)n;
    (void)p;
    dmtv_timeline_fit_all(DMTV_TIMELINE(w));
}

static void act_zoom_sel(GtkWidget *w, const char *n, GVariant *p)
{
    (void)n;
    (void)p;
    dmtv_timeline_zoom_to_selection(DMTV_TIMELINE(w));
}

/* ---- GtkWidget ---------------------------------------------------------------------- */

static gboolean style_is_dark(GtkWidget *w)
{
    GdkRGBA fg;
    gtk_style_context_get_color(gtk_widget_get_style_context(w), &fg);
    return 0.299 * fg.red + 0.587 * fg.green + 0.114 * fg.blue > 0.5;
}

static void dmtv_timeline_snapshot(GtkWidget *w, GtkSnapshot *s)
{
    DmtvTimeline *self = DMTV_TIMELINE(w);
    gboolean dark = style_is_dark(w);
    if (!self->painter)
        self->painter = dmtv_painter_new(gtk_widget_get_pango_context(w), dark);
    else if (dmtv_painter_is_dark(self->painter) != dark)
        dmtv_painter_set_dark(self->painter, dark);
    self->view.dark = dark;
    self->view.width = gtk_widget_get_width(w);
    self->view.height = gtk_widget_get_height(w);
    dmtv_timeline_draw(s, self->painter, trace_of(self), self->frame, &self->view);
}

static void dmtv_timeline_size_allocate(GtkWidget *w, int width, int height, int baseline)
{
    (void)baseline;
    DmtvTimeline *self = DMTV_TIMELINE(w);
    if (self->view.width == width && self->view.height == height)
        return;
    self->view.width = width;
    self->view.height = height;
    view_changed(self);
}

static void dmtv_timeline_measure(GtkWidget *w, GtkOrientation o, int for_size, int *min, int *nat,
                                  int *min_base, int *nat_base)
{
    (void)w;
    (void)for_size;
    *min = o == GTK_ORIENTATION_HORIZONTAL ? DMTV_LABEL_W + 200 : DMTV_RULER_H + 60;
    *nat = o == GTK_ORIENTATION_HORIZONTAL ? 1200 : 480;
    *min_base = *nat_base = -1;
}

static void dmtv_timeline_dispose(GObject *o)
{
    DmtvTimeline *self = DMTV_TIMELINE(o);
    if (self->model && self->ready_id)
        g_signal_handler_disconnect(self->model, self->ready_id);
    self->ready_id = 0;
    g_clear_object(&self->model);
    g_clear_object(&self->hadj);
    g_clear_object(&self->vadj);
    g_clear_pointer(&self->painter, dmtv_painter_free);
    G_OBJECT_CLASS(dmtv_timeline_parent_class)->dispose(o);
}

static void dmtv_timeline_class_init(DmtvTimelineClass *klass)
{
    GObjectClass *oc = G_OBJECT_CLASS(klass);
    GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
    oc->dispose = dmtv_timeline_dispose;
    wc->snapshot = dmtv_timeline_snapshot;
    wc->size_allocate = dmtv_timeline_size_allocate;
    wc->measure = dmtv_timeline_measure;
    gtk_widget_class_set_css_name(wc, "dmtv-timeline");

    signals[SIG_TRANSFER_SELECTED] =
        g_signal_new("transfer-selected", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
                     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
    signals[SIG_FINDING_SELECTED] =
        g_signal_new("finding-selected", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                     NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
    signals[SIG_VIEW_CHANGED] =
        g_signal_new("view-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                     NULL, G_TYPE_NONE, 0);

    gtk_widget_class_install_action(wc, "timeline.zoom-in", NULL, act_zoom_in);
    gtk_widget_class_install_action(wc, "timeline.zoom-out", NULL, act_zoom_out);
    gtk_widget_class_install_action(wc, "timeline.pan", "d", act_pan);
    gtk_widget_class_install_action(wc, "timeline.scroll", "d", act_scroll);
    gtk_widget_class_install_action(wc, "timeline.fit", NULL, act_fit);
    gtk_widget_class_install_action(wc, "timeline.zoom-selection", NULL, act_zoom_sel);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_plus, 0, "timeline.zoom-in", NULL);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_equal, 0, "timeline.zoom-in", NULL);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_KP_Add, 0, "timeline.zoom-in", NULL);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_minus, 0, "timeline.zoom-out", NULL);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_KP_Subtract, 0, "timeline.zoom-out", NULL);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_Left, 0, "timeline.pan", "d", -0.1);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_Right, 0, "timeline.pan", "d", 0.1);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_Left, GDK_SHIFT_MASK, "timeline.pan", "d",
                                        -0.5);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_Right, GDK_SHIFT_MASK, "timeline.pan", "d",
                                        0.5);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_Up, 0, "timeline.scroll", "d", -40.0);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_Down, 0, "timeline.scroll", "d", 40.0);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_Page_Up, 0, "timeline.scroll", "d", -300.0);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_Page_Down, 0, "timeline.scroll", "d", 300.0);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_0, 0, "timeline.fit", NULL);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_Home, 0, "timeline.fit", NULL);
    gtk_widget_class_add_binding_action(wc, GDK_KEY_z, 0, "timeline.zoom-selection", NULL);
}

static void dmtv_timeline_init(DmtvTimeline *self)
{
    GtkWidget *w = GTK_WIDGET(self);
    gtk_widget_set_focusable(w, TRUE);
    gtk_widget_set_hexpand(w, TRUE);
    gtk_widget_set_vexpand(w, TRUE);
    gtk_widget_set_overflow(w, GTK_OVERFLOW_HIDDEN);
    self->view.t0 = 0;
    self->view.t1 = 1000000000;
    self->view.sel_finding = -1;
    self->hadj = g_object_ref_sink(gtk_adjustment_new(0, 0, 1, 0.1, 0.9, 1));
    self->vadj = g_object_ref_sink(gtk_adjustment_new(0, 0, 1, 24, 100, 1));
    g_signal_connect(self->hadj, "value-changed", G_CALLBACK(on_hadj), self);
    g_signal_connect(self->vadj, "value-changed", G_CALLBACK(on_vadj), self);

    GtkEventController *sc = gtk_event_controller_scroll_new(GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES |
                                                             GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
    g_signal_connect(sc, "scroll", G_CALLBACK(on_scroll), self);
    gtk_widget_add_controller(w, sc);
    GtkEventController *mc = gtk_event_controller_motion_new();
    g_signal_connect(mc, "motion", G_CALLBACK(on_motion), self);
    g_signal_connect(mc, "leave", G_CALLBACK(on_leave), self);
    gtk_widget_add_controller(w, mc);
    GtkGesture *drag = gtk_gesture_drag_new();
    gtk_gesture_single_set_button(GTK_GESTURE_SINGLE(drag), 0);
    g_signal_connect(drag, "drag-begin", G_CALLBACK(on_drag_begin), self);
    g_signal_connect(drag, "drag-update", G_CALLBACK(on_drag_update), self);
    g_signal_connect(drag, "drag-end", G_CALLBACK(on_drag_end), self);
    gtk_widget_add_controller(w, GTK_EVENT_CONTROLLER(drag));
}

GtkWidget *dmtv_timeline_new(void)
{
    return g_object_new(DMTV_TYPE_TIMELINE, NULL);
}

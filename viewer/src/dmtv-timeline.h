/*
 * dmtv-timeline.h - DmtvTimeline, the timeline widget: time ruler, one lane
 * per adapter / register / device / loss / markers / findings, zoom
 * (Ctrl+scroll, +/-), pan (drag, arrows, scroll), range selection
 * (Shift+drag or drag on the ruler), click to select a transfer or a
 * finding, click a register's label to expand it into one waveform per
 * bitfield (again to fold it).  It fetches a DmtvFrame from its DmtvModel whenever the view
 * changes (never in snapshot) and draws it with dmtv_timeline_draw.
 */
#pragma once

#include <gtk/gtk.h>

#include "dmtv-model.h"

G_BEGIN_DECLS

#define DMTV_TYPE_TIMELINE (dmtv_timeline_get_type())
G_DECLARE_FINAL_TYPE(DmtvTimeline, dmtv_timeline, DMTV, TIMELINE, GtkWidget)

GtkWidget *dmtv_timeline_new(void);
/* Show a model (NULL: none); fits the whole trace. */
void dmtv_timeline_set_model(DmtvTimeline *self, DmtvModel *model);
/* Show a newer model of the same trace (follow mode): the window, the
 * selection and the scroll position stay. */
void dmtv_timeline_replace_model(DmtvTimeline *self, DmtvModel *model);
DmtvModel *dmtv_timeline_get_model(DmtvTimeline *self);

/* The current view (window, size, selection); owned by the widget. */
const DmtvView *dmtv_timeline_get_view(DmtvTimeline *self);
void dmtv_timeline_set_window(DmtvTimeline *self, int64_t t0, int64_t t1);
/* Zoom by factor (> 1 in) around the pointer if it is over the plot, else
 * the centre. */
void dmtv_timeline_zoom(DmtvTimeline *self, double factor);
void dmtv_timeline_fit_all(DmtvTimeline *self);
/* Zoom to the selected range, else to the selected transfer.  FALSE when
 * there is neither. */
gboolean dmtv_timeline_zoom_to_selection(DmtvTimeline *self);
/* Pan by a fraction of the window (negative: left). */
void dmtv_timeline_pan(DmtvTimeline *self, double fraction);
/* Centre time t, keeping the zoom. */
void dmtv_timeline_show_time(DmtvTimeline *self, int64_t t);
/* Select a transfer (0: none); emits ::transfer-selected. */
void dmtv_timeline_select_transfer(DmtvTimeline *self, uint32_t xfer);
uint32_t dmtv_timeline_get_selected_transfer(DmtvTimeline *self);
void dmtv_timeline_select_finding(DmtvTimeline *self, int64_t id);
/* After the model's filter changed. */
void dmtv_timeline_refresh(DmtvTimeline *self);
GtkAdjustment *dmtv_timeline_get_hadjustment(DmtvTimeline *self);
GtkAdjustment *dmtv_timeline_get_vadjustment(DmtvTimeline *self);
/* Microseconds the last frame fetch took (SQL included), and its level. */
gint64 dmtv_timeline_get_last_fetch_us(DmtvTimeline *self);
/* Simulate a click at widget coordinates (tests). */
void dmtv_timeline_click(DmtvTimeline *self, double x, double y);

G_END_DECLS

/*
 * dmtv-window.h - DmtvWindow, the main window: opens a file (importing a
 * .dmat with progress), hosts the timeline, the layout view, the SG table
 * and the details pane, find/filter, drag-and-drop, and error dialogs.
 */
#pragma once

#include <gtk/gtk.h>

#include "dmtv-application.h"
#include "dmtv-layout-view.h"
#include "dmtv-model.h"
#include "dmtv-sg-table.h"
#include "dmtv-timeline.h"

G_BEGIN_DECLS

#define DMTV_TYPE_WINDOW (dmtv_window_get_type())
G_DECLARE_FINAL_TYPE(DmtvWindow, dmtv_window, DMTV, WINDOW, GtkApplicationWindow)

DmtvWindow *dmtv_window_new(DmtvApplication *app);
/* Open a file: a .db at once, a .dmat after an import in a worker thread
 * (progress bar, cancellable).  Failures show an error dialog. */
void dmtv_window_open(DmtvWindow *self, GFile *file);
/* Synchronous open for tests and the command line; FALSE and error on
 * failure (no dialog). */
gboolean dmtv_window_open_path_sync(DmtvWindow *self, const char *path, GError **error);
/* Show an error dialog (transient, modal). */
void dmtv_window_show_error(DmtvWindow *self, const char *primary, const char *secondary);
/* The dialog shown last by show_error, or NULL (tests). */
GtkWidget *dmtv_window_get_error_dialog(DmtvWindow *self);
/* TRUE while an import runs. */
gboolean dmtv_window_is_busy(DmtvWindow *self);

DmtvModel *dmtv_window_get_model(DmtvWindow *self);
DmtvTimeline *dmtv_window_get_timeline(DmtvWindow *self);
DmtvLayoutView *dmtv_window_get_layout_view(DmtvWindow *self);
DmtvSgTable *dmtv_window_get_sg_table(DmtvWindow *self);
/* The details pane text; g_free it. */
char *dmtv_window_get_details_text(DmtvWindow *self);
/* Run a find query (as typed in the find bar); returns the match count. */
guint dmtv_window_find(DmtvWindow *self, const char *query);
/* Go to the next (+1) / previous (-1) match; FALSE when there is none. */
gboolean dmtv_window_find_step(DmtvWindow *self, int dir);
/* Use the register map in file (File > Register Map, or --regmap in the
 * GUI): TRUE when it loaded; else an error dialog with its one line
 * ("FILE:LINE: why") and the window goes on with raw offsets. */
gboolean dmtv_window_load_regmap(DmtvWindow *self, const char *file, const char *variant,
                                 const char *domain);
/* The status bar's text (tests); g_free it. */
char *dmtv_window_get_status_text(DmtvWindow *self);

/* Follow a trace still being written (dmtv-follow.h): the window shows
 * the records as they are committed to a cache store and scrolls with the
 * newest ones.  FALSE and error when the trace cannot be opened. */
gboolean dmtv_window_follow(DmtvWindow *self, const char *trace, GError **error);
/* TRUE while following and not paused. */
gboolean dmtv_window_is_following(DmtvWindow *self);
/* Pause (as scrolling back or selecting a transfer does) / resume. */
void dmtv_window_follow_pause(DmtvWindow *self);
void dmtv_window_follow_resume(DmtvWindow *self);
/* Records committed since following was paused. */
guint64 dmtv_window_follow_new_records(DmtvWindow *self);
/* The last commit's lag behind its newest record (ns, monotonic trace
 * clocks only; -1 unknown). */
gint64 dmtv_window_follow_lag_ns(DmtvWindow *self);

G_END_DECLS

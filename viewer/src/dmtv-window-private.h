/*
 * dmtv-window-private.h - DmtvWindow's instance struct, shared by
 * dmtv-window.c and dmtv-window-actions.c (the window's action set).
 */
#pragma once

#include "dmtv-follow.h"
#include "dmtv-window.h"

struct _DmtvWindow {
    GtkApplicationWindow parent_instance;
    /* template children */
    GtkLabel *title_label, *subtitle_label, *status_label, *lod_label, *match_label;
    GtkLabel *progress_label, *layout_title;
    GtkRevealer *progress_revealer;
    GtkProgressBar *progress_bar;
    GtkButton *progress_cancel;
    GtkSearchBar *search_bar;
    GtkSearchEntry *search_entry;
    GtkToggleButton *find_button, *filter_toggle;
    GtkMenuButton *menu_button;
    GtkStack *main_stack;
    GtkScrollbar *vscroll, *hscroll;
    DmtvTimeline *timeline;
    DmtvLayoutView *layout_view;
    DmtvSgTable *sg_table;
    GtkTextView *details;
    /* state */
    DmtvModel *model;
    GCancellable *import_cancel;
    gboolean busy;
    GArray *hits; /* DmtvHit, current find results */
    int hit;      /* index of the current match, -1 none */
    gboolean filter_on;
    char *query;            /* the last query run */
    gboolean layout_window; /* layout of every transfer in the window */
    guint layout_idle;
    GtkWidget *error_dialog;
    GtkFileChooserNative *chooser;
    /* follow mode (dmtv-window-follow.c) */
    DmtvFollower *follower;
    GtkButton *follow_button;
    char *follow_trace;
    gboolean follow_paused, follow_setting, follow_done, follow_zoomed;
    int64_t follow_width; /* the window's width as following set it */
    guint64 follow_records, follow_seen;
    gint64 follow_lag_ns;
    DmtvFollowState follow_state;
    char follow_msg[320];
};

/* dmtv-window-actions.c */
void dmtv_window_actions_init(DmtvWindow *self);
/* Enable/disable the actions that need a trace. */
void dmtv_window_actions_update(DmtvWindow *self);
/* dmtv-window-follow.c */
void dmtv_window_follow_init(DmtvWindow *self, GtkWidget *after);
void dmtv_window_follow_stop(DmtvWindow *self);
void dmtv_window_follow_view_changed(DmtvWindow *self);
void dmtv_window_follow_status(DmtvWindow *self, char *buf, size_t cap);
/* dmtv-window.c, used by the actions and follow mode */
void dmtv_window_update_status(DmtvWindow *self);
/* Show a newer model of the same trace (keeps the view); takes m. */
void dmtv_window_swap_model(DmtvWindow *self, DmtvModel *m);
void dmtv_window_update_layout(DmtvWindow *self);
void dmtv_window_select_step(DmtvWindow *self, int dir);

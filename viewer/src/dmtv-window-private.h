/*
 * dmtv-window-private.h - DmtvWindow's instance struct, shared by
 * dmtv-window.c and dmtv-window-actions.c (the window's action set).
 */
#pragma once

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
};

/* dmtv-window-actions.c */
void dmtv_window_actions_init(DmtvWindow *self);
/* Enable/disable the actions that need a trace. */
void dmtv_window_actions_update(DmtvWindow *self);
/* dmtv-window.c, used by the actions */
void dmtv_window_update_layout(DmtvWindow *self);
void dmtv_window_select_step(DmtvWindow *self, int dir);

/*
 * dmtv-window-follow.c - the window's follow mode (dmtv-window.h): a
 * DmtvFollower (dmtv-follow.h) appends the growing trace to a cache store
 * and hands over a new model after each commit; here the model is swapped
 * in and, unless paused, the window scrolls to the newest record keeping
 * its width (like `tail -f`).  Scrolling back or selecting a transfer
 * pauses; the status bar then counts the records that came since, and the
 * Follow button or End resumes.
 */
#define G_LOG_DOMAIN "dmtv-window"

#include "dmtv-window-private.h"

#include <inttypes.h>

/* Slack at the right edge when following, as a fraction of the window. */
#define EDGE 0.02
/* Until the user zooms, the window shows the whole trace up to this span,
 * then this much of the newest records. */
#define FOLLOW_SPAN 2000000000LL

static void scroll_to_newest(DmtvWindow *self)
{
    if (!self->model)
        return;
    const DmtvTrace *tr = dmtv_model_get_trace(self->model);
    const DmtvView *v = dmtv_timeline_get_view(self->timeline);
    int64_t width = MAX(v->t1 - v->t0, 1000);
    if (!self->follow_zoomed)
        width = MAX(MIN((tr->t_last - tr->t_first) * 105 / 100, FOLLOW_SPAN), 1000);
    self->follow_width = width;
    int64_t t1 = tr->t_last + (int64_t)((double)width * EDGE);
    self->follow_setting = TRUE;
    dmtv_timeline_set_window(self->timeline, t1 - width, t1);
    self->follow_setting = FALSE;
}

static void update_button(DmtvWindow *self)
{
    gboolean show = self->follower != NULL && self->follow_paused;
    gtk_widget_set_visible(GTK_WIDGET(self->follow_button), show);
}

static void on_update(DmtvFollowUpdate *u, gpointer user)
{
    DmtvWindow *self = user;
    self->follow_state = u->state;
    self->follow_records = u->records;
    self->follow_lag_ns = u->lag_ns;
    g_strlcpy(self->follow_msg, u->message, sizeof self->follow_msg);
    if (u->model) {
        /* the new model's newest records are right of the view until it
         * scrolls: not the user scrolling back */
        self->follow_setting = TRUE;
        dmtv_window_swap_model(self, u->model);
        self->follow_setting = FALSE;
        u->model = NULL;
        /* the trace's name, not the cache store's */
        char *base = g_path_get_basename(self->follow_trace);
        gtk_label_set_text(self->title_label, base);
        g_free(base);
        if (!self->follow_paused)
            scroll_to_newest(self);
    }
    if (!self->follow_paused)
        self->follow_seen = u->records;
    if (u->state == DMTV_FOLLOW_FAILED && u->message[0])
        dmtv_window_show_error(self, "Following stopped", u->message);
    if (u->state != DMTV_FOLLOW_GROWING) {
        /* the thread has ended: nothing more will come */
        self->follow_done = TRUE;
    }
    update_button(self);
    dmtv_window_update_status(self);
}

gboolean dmtv_window_follow(DmtvWindow *self, const char *trace, GError **error)
{
    g_return_val_if_fail(DMTV_IS_WINDOW(self), FALSE);
    dmtv_window_follow_stop(self);
    DmtvFollower *f = dmtv_follow_start(trace, on_update, self, error);
    if (!f)
        return FALSE;
    self->follower = f;
    g_free(self->follow_trace);
    self->follow_trace = g_strdup(trace);
    self->follow_zoomed = FALSE;
    self->follow_paused = FALSE;
    self->follow_done = FALSE;
    self->follow_seen = self->follow_records = 0;
    self->follow_state = DMTV_FOLLOW_GROWING;
    self->follow_msg[0] = 0;
    GtkApplication *app = gtk_window_get_application(GTK_WINDOW(self));
    if (app && DMTV_IS_APPLICATION(app))
        dmtv_application_add_recent(DMTV_APPLICATION(app), trace);
    update_button(self);
    return TRUE;
}

void dmtv_window_follow_stop(DmtvWindow *self)
{
    dmtv_follow_stop(self->follower);
    self->follower = NULL;
    g_clear_pointer(&self->follow_trace, g_free);
    self->follow_paused = FALSE;
    if (self->follow_button)
        update_button(self);
}

gboolean dmtv_window_is_following(DmtvWindow *self)
{
    return self->follower != NULL && !self->follow_done && !self->follow_paused;
}

void dmtv_window_follow_pause(DmtvWindow *self)
{
    if (!self->follower || self->follow_paused || self->follow_setting)
        return;
    self->follow_paused = TRUE;
    self->follow_seen = self->follow_records;
    update_button(self);
    dmtv_window_update_status(self);
}

void dmtv_window_follow_resume(DmtvWindow *self)
{
    if (!self->follower || !self->follow_paused)
        return;
    self->follow_paused = FALSE;
    self->follow_seen = self->follow_records;
    /* back to the newest data: nothing selected */
    self->follow_setting = TRUE;
    dmtv_timeline_select_transfer(self->timeline, 0);
    self->follow_setting = FALSE;
    scroll_to_newest(self);
    update_button(self);
    dmtv_window_update_status(self);
}

void dmtv_window_follow_view_changed(DmtvWindow *self)
{
    if (!self->follower || self->follow_paused || self->follow_setting || !self->model)
        return;
    const DmtvTrace *tr = dmtv_model_get_trace(self->model);
    const DmtvView *v = dmtv_timeline_get_view(self->timeline);
    /* the user zoomed: follow with that width from now on */
    if (v->t1 - v->t0 != self->follow_width)
        self->follow_zoomed = TRUE;
    /* the newest record left the window: the user looks at something older */
    if (v->t1 < tr->t_last)
        dmtv_window_follow_pause(self);
}

guint64 dmtv_window_follow_new_records(DmtvWindow *self)
{
    return self->follow_records > self->follow_seen ? self->follow_records - self->follow_seen : 0;
}

gint64 dmtv_window_follow_lag_ns(DmtvWindow *self)
{
    return self->follow_lag_ns;
}

/* The status bar's follow part ("" when not following). */
void dmtv_window_follow_status(DmtvWindow *self, char *buf, size_t cap)
{
    buf[0] = 0;
    if (!self->follower)
        return;
    switch (self->follow_state) {
    case DMTV_FOLLOW_ENDED:
        g_snprintf(buf, cap, "recording ended · ");
        return;
    case DMTV_FOLLOW_STALLED:
    case DMTV_FOLLOW_FAILED:
        g_snprintf(buf, cap, "stopped following: %s · ", self->follow_msg);
        return;
    default:
        break;
    }
    if (self->follow_paused)
        g_snprintf(buf, cap, "paused, %" G_GUINT64_FORMAT " new records (End resumes) · ",
                   dmtv_window_follow_new_records(self));
    else
        g_snprintf(buf, cap, "following · ");
}

void dmtv_window_follow_init(DmtvWindow *self, GtkWidget *after)
{
    self->follow_button = GTK_BUTTON(gtk_button_new_with_mnemonic("_Follow"));
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->follow_button),
                                "Resume following the newest records (End)");
    gtk_actionable_set_action_name(GTK_ACTIONABLE(self->follow_button), "win.follow-resume");
    gtk_widget_set_valign(GTK_WIDGET(self->follow_button), GTK_ALIGN_CENTER);
    gtk_widget_insert_after(GTK_WIDGET(self->follow_button), gtk_widget_get_parent(after), after);
    gtk_widget_set_visible(GTK_WIDGET(self->follow_button), FALSE);
}

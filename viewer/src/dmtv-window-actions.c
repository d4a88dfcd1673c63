/*
 * dmtv-window-actions.c - the window's action set ("win.*"): zoom, pan,
 * find/filter, layout mode, transfer stepping, close.  Accelerators are set
 * by DmtvApplication; dmtv_window_actions_update() enables what needs an
 * open trace.
 */
#define G_LOG_DOMAIN "dmtv-window-actions"

#include "dmtv-window-private.h"

static void zoom_in(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    (void)p;
    dmtv_timeline_zoom(DMTV_WINDOW(user)->timeline, 1.5);
}

static void zoom_out(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    (void)p;
    dmtv_timeline_zoom(DMTV_WINDOW(user)->timeline, 1 / 1.5);
}

static void zoom_fit(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    (void)p;
    dmtv_timeline_fit_all(DMTV_WINDOW(user)->timeline);
}

static void zoom_selection(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    (void)p;
    dmtv_timeline_zoom_to_selection(DMTV_WINDOW(user)->timeline);
}

static void pan(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    dmtv_timeline_pan(DMTV_WINDOW(user)->timeline, g_variant_get_double(p));
}

static void find(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    (void)p;
    DmtvWindow *self = user;
    gtk_search_bar_set_search_mode(self->search_bar, TRUE);
    gtk_widget_grab_focus(GTK_WIDGET(self->search_entry));
}

static void find_next(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    (void)p;
    DmtvWindow *self = user;
    if (!self->hits || !self->hits->len)
        dmtv_window_find(self, gtk_editable_get_text(GTK_EDITABLE(self->search_entry)));
    else
        dmtv_window_find_step(self, +1);
}

static void find_prev(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    (void)p;
    dmtv_window_find_step(DMTV_WINDOW(user), -1);
}

static void filter_change(GSimpleAction *a, GVariant *state, gpointer user)
{
    DmtvWindow *self = user;
    g_simple_action_set_state(a, state);
    self->filter_on = g_variant_get_boolean(state);
    if (!self->model)
        return;
    if (self->filter_on) {
        DmtvQuery q;
        const char *text =
            self->query ? self->query : gtk_editable_get_text(GTK_EDITABLE(self->search_entry));
        if (dmtv_query_parse(text, &q, NULL))
            dmtv_model_set_filter(self->model, &q);
    } else {
        dmtv_model_set_filter(self->model, NULL);
    }
    dmtv_timeline_refresh(self->timeline);
}

static void layout_window_change(GSimpleAction *a, GVariant *state, gpointer user)
{
    DmtvWindow *self = user;
    g_simple_action_set_state(a, state);
    self->layout_window = g_variant_get_boolean(state);
    dmtv_window_update_layout(self);
}

static void select_step(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    dmtv_window_select_step(DMTV_WINDOW(user), g_variant_get_int32(p));
}

static void close_win(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    (void)p;
    gtk_window_close(GTK_WINDOW(user));
}

static void follow_resume(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    (void)p;
    dmtv_window_follow_resume(user);
}

static void on_regmap_chosen(GtkNativeDialog *d, int response, gpointer user)
{
    DmtvWindow *self = user;
    if (response == GTK_RESPONSE_ACCEPT) {
        GFile *f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(d));
        char *path = f ? g_file_get_path(f) : NULL;
        if (path)
            dmtv_window_load_regmap(self, path, NULL, NULL);
        g_free(path);
        g_clear_object(&f);
    }
    gtk_native_dialog_destroy(d);
    g_object_unref(d);
}

static void load_regmap(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    (void)p;
    GtkFileChooserNative *fc =
        gtk_file_chooser_native_new("Use a register map (rules-ng-ng XML)", GTK_WINDOW(user),
                                    GTK_FILE_CHOOSER_ACTION_OPEN, "_Use", "_Cancel");
    GtkFileFilter *f = gtk_file_filter_new();
    gtk_file_filter_set_name(f, "Register maps (*.xml)");
    gtk_file_filter_add_pattern(f, "*.xml");
    gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(fc), f);
    g_object_unref(f);
    gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(fc), TRUE);
    g_signal_connect(fc, "response", G_CALLBACK(on_regmap_chosen), user);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(fc)); /* our reference is dropped in response */
}

static const GActionEntry entries[] = {
    {"zoom-in", zoom_in, NULL, NULL, NULL, {0}},
    {"zoom-out", zoom_out, NULL, NULL, NULL, {0}},
    {"zoom-fit", zoom_fit, NULL, NULL, NULL, {0}},
    {"zoom-selection", zoom_selection, NULL, NULL, NULL, {0}},
    {"pan", pan, "d", NULL, NULL, {0}},
    {"find", find, NULL, NULL, NULL, {0}},
    {"find-next", find_next, NULL, NULL, NULL, {0}},
    {"find-previous", find_prev, NULL, NULL, NULL, {0}},
    {"filter", NULL, NULL, "false", filter_change, {0}},
    {"layout-window", NULL, NULL, "false", layout_window_change, {0}},
    {"select-step", select_step, "i", NULL, NULL, {0}},
    {"close", close_win, NULL, NULL, NULL, {0}},
    {"follow-resume", follow_resume, NULL, NULL, NULL, {0}},
    {"load-regmap", load_regmap, NULL, NULL, NULL, {0}},
};

void dmtv_window_actions_init(DmtvWindow *self)
{
    g_action_map_add_action_entries(G_ACTION_MAP(self), entries, G_N_ELEMENTS(entries), self);
}

void dmtv_window_actions_update(DmtvWindow *self)
{
    static const char *need_trace[] = {"zoom-in", "zoom-out",      "zoom-fit",   "zoom-selection",
                                       "pan",     "find",          "find-next",  "find-previous",
                                       "filter",  "layout-window", "select-step"};
    gboolean on = self->model != NULL && !self->busy;
    for (size_t i = 0; i < G_N_ELEMENTS(need_trace); i++) {
        GAction *a = g_action_map_lookup_action(G_ACTION_MAP(self), need_trace[i]);
        if (a)
            g_simple_action_set_enabled(G_SIMPLE_ACTION(a), on);
    }
}

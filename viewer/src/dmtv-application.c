/*
 * dmtv-application.c - DmtvApplication (see dmtv-application.h).
 *
 * Dark/light: GTK 4.8 without libadwaita does not follow the desktop by
 * itself.  We read the freedesktop portal's org.freedesktop.appearance
 * color-scheme (1 = prefer dark), falling back to GNOME's
 * org.gnome.desktop.interface color-scheme when that schema is installed,
 * set GtkSettings:gtk-application-prefer-dark-theme, and keep listening.
 */
#define G_LOG_DOMAIN "dmtv-application"

#include "dmtv-application.h"

#include "dmtv-window.h"

#ifndef DMTV_APP_ID
#define DMTV_APP_ID "org.dmatrace.Viewer"
#endif
#ifndef DMTV_VERSION
#define DMTV_VERSION "0"
#endif

#define MAX_RECENT 10

struct _DmtvApplication {
    GtkApplication parent_instance;
    GMenu *recent_menu;
    GtkRecentManager *recent;
    GSettings *iface_settings;
    GDBusProxy *portal;
    gboolean follow;    /* --follow */
    char *regmap_error; /* a --regmap that did not load, for the first window */
};

G_DEFINE_FINAL_TYPE(DmtvApplication, dmtv_application, GTK_TYPE_APPLICATION)

static void set_dark(gboolean dark)
{
    GtkSettings *s = gtk_settings_get_default();
    if (s)
        g_object_set(s, "gtk-application-prefer-dark-theme", dark, NULL);
}

static void on_iface_changed(GSettings *s, const char *key, gpointer user)
{
    (void)user;
    if (g_strcmp0(key, "color-scheme"))
        return;
    char *v = g_settings_get_string(s, "color-scheme");
    set_dark(g_strcmp0(v, "prefer-dark") == 0);
    g_free(v);
}

static void portal_value(GVariant *v)
{
    /* ReadOne returns v; Read returns v wrapped in another v */
    while (v && g_variant_is_of_type(v, G_VARIANT_TYPE_VARIANT)) {
        GVariant *in = g_variant_get_variant(v);
        g_variant_unref(v);
        v = in;
    }
    if (v && g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32))
        set_dark(g_variant_get_uint32(v) == 1);
    if (v)
        g_variant_unref(v);
}

static void on_portal_signal(GDBusProxy *p, const char *sender, const char *signal,
                             GVariant *params, gpointer user)
{
    (void)p;
    (void)sender;
    (void)user;
    if (g_strcmp0(signal, "SettingChanged"))
        return;
    const char *ns, *key;
    GVariant *v;
    g_variant_get(params, "(&s&sv)", &ns, &key, &v);
    if (!g_strcmp0(ns, "org.freedesktop.appearance") && !g_strcmp0(key, "color-scheme"))
        portal_value(v);
    else
        g_variant_unref(v);
}

static void on_portal_read(GObject *src, GAsyncResult *res, gpointer user)
{
    (void)user;
    GVariant *r = g_dbus_proxy_call_finish(G_DBUS_PROXY(src), res, NULL);
    if (!r)
        return;
    GVariant *v = NULL;
    g_variant_get(r, "(v)", &v);
    portal_value(v);
    g_variant_unref(r);
}

static void on_portal_proxy(GObject *src, GAsyncResult *res, gpointer user)
{
    (void)src;
    DmtvApplication *self = user;
    GDBusProxy *p = g_dbus_proxy_new_for_bus_finish(res, NULL);
    if (p) {
        self->portal = p;
        g_signal_connect(p, "g-signal", G_CALLBACK(on_portal_signal), self);
        g_dbus_proxy_call(p, "Read",
                          g_variant_new("(ss)", "org.freedesktop.appearance", "color-scheme"),
                          G_DBUS_CALL_FLAGS_NONE, 2000, NULL, on_portal_read, self);
    }
    g_object_unref(self);
}

static void follow_color_scheme(DmtvApplication *self)
{
    GSettingsSchemaSource *src = g_settings_schema_source_get_default();
    GSettingsSchema *schema =
        src ? g_settings_schema_source_lookup(src, "org.gnome.desktop.interface", TRUE) : NULL;
    if (schema && g_settings_schema_has_key(schema, "color-scheme")) {
        self->iface_settings = g_settings_new("org.gnome.desktop.interface");
        g_signal_connect(self->iface_settings, "changed", G_CALLBACK(on_iface_changed), self);
        on_iface_changed(self->iface_settings, "color-scheme", self);
    }
    if (schema)
        g_settings_schema_unref(schema);
    if (g_getenv("DBUS_SESSION_BUS_ADDRESS"))
        g_dbus_proxy_new_for_bus(
            G_BUS_TYPE_SESSION, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, NULL,
            "org.freedesktop.portal.Desktop", "/org/freedesktop/portal/desktop",
            "org.freedesktop.portal.Settings", NULL, on_portal_proxy, g_object_ref(self));
}

/* ---- recent files -------------------------------------------------------------------- */

static gboolean is_ours(const char *uri)
{
    return g_str_has_suffix(uri, ".db") || g_str_has_suffix(uri, ".dmat");
}

static void rebuild_recent(DmtvApplication *self)
{
    g_menu_remove_all(self->recent_menu);
    GList *items = gtk_recent_manager_get_items(self->recent);
    int n = 0;
    for (GList *l = items; l && n < MAX_RECENT; l = l->next) {
        GtkRecentInfo *ri = l->data;
        const char *uri = gtk_recent_info_get_uri(ri);
        if (!is_ours(uri) || !gtk_recent_info_has_application(ri, g_get_prgname()))
            continue;
        char *path = g_filename_from_uri(uri, NULL, NULL);
        if (!path)
            continue;
        if (g_file_test(path, G_FILE_TEST_EXISTS)) {
            char *base = g_path_get_basename(path);
            GMenuItem *it = g_menu_item_new(base, NULL);
            g_menu_item_set_action_and_target(it, "app.open-file", "s", path);
            g_menu_append_item(self->recent_menu, it);
            g_object_unref(it);
            g_free(base);
            n++;
        }
        g_free(path);
    }
    g_list_free_full(items, (GDestroyNotify)gtk_recent_info_unref);
    if (!n) {
        GMenuItem *it = g_menu_item_new("No recent files", "app.none");
        g_menu_append_item(self->recent_menu, it);
        g_object_unref(it);
    }
}

void dmtv_application_add_recent(DmtvApplication *self, const char *path)
{
    g_return_if_fail(DMTV_IS_APPLICATION(self));
    char *abs = g_canonicalize_filename(path, NULL);
    char *uri = g_filename_to_uri(abs, NULL, NULL);
    if (uri) {
        GtkRecentData d = {0};
        d.display_name = NULL;
        d.mime_type = g_str_has_suffix(path, ".dmat") ? (char *)"application/x-dmatrace"
                                                      : (char *)"application/vnd.sqlite3";
        d.app_name = (char *)g_get_prgname();
        d.app_exec = (char *)"dmatrace-viewer %f";
        gtk_recent_manager_add_full(self->recent, uri, &d);
    }
    g_free(uri);
    g_free(abs);
}

void dmtv_application_set_regmap_error(DmtvApplication *self, const char *msg)
{
    g_free(self->regmap_error);
    self->regmap_error = g_strdup(msg);
}

/* Show a pending --regmap error on w (once). */
static void regmap_error_dialog(DmtvApplication *self, DmtvWindow *w)
{
    if (!self->regmap_error)
        return;
    dmtv_window_show_error(w, "Cannot use this register map (registers show as offsets)",
                           self->regmap_error);
    g_clear_pointer(&self->regmap_error, g_free);
}

void dmtv_application_set_follow(DmtvApplication *self, gboolean follow)
{
    self->follow = follow;
}

GMenuModel *dmtv_application_get_recent_menu(DmtvApplication *self)
{
    return G_MENU_MODEL(self->recent_menu);
}

/* ---- actions -------------------------------------------------------------------------- */

static DmtvWindow *current_window(DmtvApplication *self)
{
    GtkWindow *w = gtk_application_get_active_window(GTK_APPLICATION(self));
    if (w && DMTV_IS_WINDOW(w))
        return DMTV_WINDOW(w);
    DmtvWindow *nw = dmtv_window_new(self);
    gtk_window_present(GTK_WINDOW(nw));
    return nw;
}

/* Open in the current window if it has no trace, else in a new one. */
static DmtvWindow *window_for_open(DmtvApplication *self)
{
    DmtvWindow *w = current_window(self);
    if (dmtv_window_get_model(w) || dmtv_window_is_busy(w)) {
        w = dmtv_window_new(self);
        gtk_window_present(GTK_WINDOW(w));
    }
    return w;
}

static void on_chooser_response(GtkNativeDialog *d, int response, gpointer user)
{
    DmtvApplication *self = user;
    if (response == GTK_RESPONSE_ACCEPT) {
        GFile *f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(d));
        if (f) {
            dmtv_window_open(window_for_open(self), f);
            g_object_unref(f);
        }
    }
    gtk_native_dialog_destroy(d);
    g_object_unref(d);
}

static void act_open(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    (void)p;
    DmtvApplication *self = user;
    /* GtkFileDialog is 4.10+; GtkFileChooserNative is the 4.8 API */
    GtkFileChooserNative *fc = gtk_file_chooser_native_new(
        "Open a DMA trace", gtk_application_get_active_window(GTK_APPLICATION(self)),
        GTK_FILE_CHOOSER_ACTION_OPEN, "_Open", "_Cancel");
    GtkFileFilter *f = gtk_file_filter_new();
    gtk_file_filter_set_name(f, "dmatrace traces and databases");
    gtk_file_filter_add_pattern(f, "*.dmat");
    gtk_file_filter_add_pattern(f, "*.db");
    gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(fc), f);
    g_object_unref(f);
    f = gtk_file_filter_new();
    gtk_file_filter_set_name(f, "All files");
    gtk_file_filter_add_pattern(f, "*");
    gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(fc), f);
    g_object_unref(f);
    gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(fc), TRUE);
    g_signal_connect(fc, "response", G_CALLBACK(on_chooser_response), self);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(fc)); /* our reference is dropped in response */
}

static void act_open_file(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    GFile *f = g_file_new_for_path(g_variant_get_string(p, NULL));
    dmtv_window_open(window_for_open(user), f);
    g_object_unref(f);
}

static void act_about(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    (void)p;
    static const char *authors[] = {"The dmatrace developers", NULL};
    gtk_show_about_dialog(gtk_application_get_active_window(GTK_APPLICATION(user)), "program-name",
                          "dmatrace Viewer", "version", DMTV_VERSION, "logo-icon-name", DMTV_APP_ID,
                          "comments",
                          "Timelines, register waveforms and transfer layouts of recorded "
                          "bus-master DMA sessions of Windows video miniports.",
                          "authors", authors, NULL);
}

static void act_quit(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    (void)p;
    GList *ws = gtk_application_get_windows(GTK_APPLICATION(user));
    while (ws) {
        GtkWindow *w = ws->data;
        ws = ws->next;
        gtk_window_destroy(w);
    }
}

static void act_none(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void)a;
    (void)p;
    (void)user;
}

static const GActionEntry app_entries[] = {
    {"open", act_open, NULL, NULL, NULL, {0}},   {"open-file", act_open_file, "s", NULL, NULL, {0}},
    {"about", act_about, NULL, NULL, NULL, {0}}, {"quit", act_quit, NULL, NULL, NULL, {0}},
    {"none", act_none, NULL, NULL, NULL, {0}},
};

static void set_accels(GtkApplication *app)
{
    static const struct {
        const char *action;
        const char *accels[4];
    } a[] = {
        {"app.open", {"<Ctrl>o", NULL}},
        {"app.quit", {"<Ctrl>q", NULL}},
        {"win.close", {"<Ctrl>w", NULL}},
        {"win.follow-resume", {"End", NULL}},
        {"win.zoom-in", {"<Ctrl>plus", "<Ctrl>equal", "<Ctrl>KP_Add", NULL}},
        {"win.zoom-out", {"<Ctrl>minus", "<Ctrl>KP_Subtract", NULL}},
        {"win.zoom-fit", {"<Ctrl>0", NULL}},
        {"win.zoom-selection", {"<Ctrl>e", NULL}},
        {"win.find", {"<Ctrl>f", NULL}},
        {"win.find-next", {"F3", "<Ctrl>g", NULL}},
        {"win.find-previous", {"<Shift>F3", "<Ctrl><Shift>g", NULL}},
        {"win.filter", {"<Ctrl>l", NULL}},
        {"win.select-step(1)", {"<Alt>Right", NULL}},
        {"win.select-step(-1)", {"<Alt>Left", NULL}},
        {"win.show-help-overlay", {"<Ctrl>question", "F1", NULL}},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(a); i++)
        gtk_application_set_accels_for_action(app, a[i].action, a[i].accels);
}

/* ---- GApplication ----------------------------------------------------------------------- */

static void dmtv_application_startup(GApplication *app)
{
    DmtvApplication *self = DMTV_APPLICATION(app);
    G_APPLICATION_CLASS(dmtv_application_parent_class)->startup(app);
    g_action_map_add_action_entries(G_ACTION_MAP(app), app_entries, G_N_ELEMENTS(app_entries), app);
    set_accels(GTK_APPLICATION(app));
    GtkCssProvider *css = gtk_css_provider_new();
    gtk_css_provider_load_from_resource(css, "/org/dmatrace/Viewer/style.css");
    gtk_style_context_add_provider_for_display(gdk_display_get_default(), GTK_STYLE_PROVIDER(css),
                                               GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
    g_object_unref(css);
    gtk_icon_theme_add_resource_path(gtk_icon_theme_get_for_display(gdk_display_get_default()),
                                     "/org/dmatrace/Viewer/icons");
    gtk_window_set_default_icon_name(DMTV_APP_ID);
    self->recent = gtk_recent_manager_get_default();
    g_signal_connect_swapped(self->recent, "changed", G_CALLBACK(rebuild_recent), self);
    rebuild_recent(self);
    follow_color_scheme(self);
}

static void dmtv_application_activate(GApplication *app)
{
    DmtvWindow *w = current_window(DMTV_APPLICATION(app));
    gtk_window_present(GTK_WINDOW(w));
    regmap_error_dialog(DMTV_APPLICATION(app), w);
}

static void dmtv_application_open(GApplication *app, GFile **files, int n, const char *hint)
{
    (void)hint;
    DmtvApplication *self = DMTV_APPLICATION(app);
    for (int i = 0; i < n; i++) {
        DmtvWindow *w = window_for_open(self);
        gtk_window_present(GTK_WINDOW(w));
        regmap_error_dialog(self, w);
        char *path = self->follow ? g_file_get_path(files[i]) : NULL;
        GError *e = NULL;
        if (!path)
            dmtv_window_open(w, files[i]);
        else if (!dmtv_window_follow(w, path, &e)) {
            dmtv_window_show_error(w, "Cannot follow this trace", e->message);
            g_error_free(e);
        }
        g_free(path);
    }
}

static void dmtv_application_dispose(GObject *o)
{
    DmtvApplication *self = DMTV_APPLICATION(o);
    if (self->recent)
        g_signal_handlers_disconnect_by_data(self->recent, self);
    self->recent = NULL;
    g_clear_object(&self->iface_settings);
    g_clear_object(&self->portal);
    g_clear_object(&self->recent_menu);
    g_clear_pointer(&self->regmap_error, g_free);
    G_OBJECT_CLASS(dmtv_application_parent_class)->dispose(o);
}

static void dmtv_application_class_init(DmtvApplicationClass *klass)
{
    GApplicationClass *ac = G_APPLICATION_CLASS(klass);
    G_OBJECT_CLASS(klass)->dispose = dmtv_application_dispose;
    ac->startup = dmtv_application_startup;
    ac->activate = dmtv_application_activate;
    ac->open = dmtv_application_open;
}

static void dmtv_application_init(DmtvApplication *self)
{
    self->recent_menu = g_menu_new();
}

/* generated by glib-compile-resources --manual-register (dmtv-resources.c) */
void dmtv_register_resource(void);

DmtvApplication *dmtv_application_new(void)
{
    static gsize once;
    if (g_once_init_enter(&once)) {
        dmtv_register_resource();
        g_once_init_leave(&once, 1);
    }
    g_set_prgname("dmatrace-viewer");
    g_set_application_name("dmatrace Viewer");
    return g_object_new(DMTV_TYPE_APPLICATION, "application-id", DMTV_APP_ID, "flags",
                        G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE, "resource-base-path",
                        "/org/dmatrace/Viewer", NULL);
}

/*
 * dmtv-window.c - DmtvWindow (see dmtv-window.h): file opening (with the
 * .dmat import in a GTask thread), selection -> details / SG table /
 * layout, find and filter, drag-and-drop, error dialogs, the status bar.
 */
#define G_LOG_DOMAIN "dmtv-window"

#include "dmtv-window-private.h"

#include <inttypes.h>

#include "dmtv-import.h"
#include "dmtv-regnames.h"
#include "dmtv-units.h"

G_DEFINE_FINAL_TYPE(DmtvWindow, dmtv_window, GTK_TYPE_APPLICATION_WINDOW)

static void set_details(DmtvWindow *self, const char *text)
{
    gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->details), text ? text : "", -1);
}

char *dmtv_window_get_details_text(DmtvWindow *self)
{
    GtkTextBuffer *b = gtk_text_view_get_buffer(self->details);
    GtkTextIter s, e;
    gtk_text_buffer_get_bounds(b, &s, &e);
    return gtk_text_buffer_get_text(b, &s, &e, FALSE);
}

static void on_transfer_selected(DmtvTimeline *tl, guint xfer, gpointer user);

gboolean dmtv_window_load_regmap(DmtvWindow *self, const char *file, const char *variant,
                                 const char *domain)
{
    GError *e = NULL;
    gboolean ok = dmtv_regnames_load(file, variant, domain, &e);
    if (!ok) {
        /* names from another map would mislead: offsets only */
        dmtv_regnames_none();
        dmtv_window_show_error(self, "Cannot use this register map (registers show as offsets)",
                               e->message);
        g_error_free(e);
    }
    if (self->model) {
        dmtv_model_relabel(self->model);
        dmtv_timeline_refresh(self->timeline);
        uint32_t sel = dmtv_timeline_get_selected_transfer(self->timeline);
        if (sel)
            on_transfer_selected(self->timeline, sel, self);
    }
    return ok;
}

char *dmtv_window_get_status_text(DmtvWindow *self)
{
    return g_strdup(gtk_label_get_text(self->status_label));
}

void dmtv_window_update_status(DmtvWindow *self)
{
    if (!self->model) {
        gtk_label_set_text(self->status_label, "No trace open");
        gtk_label_set_text(self->lod_label, "");
        return;
    }
    const DmtvTrace *tr = dmtv_model_get_trace(self->model);
    const DmtvView *v = dmtv_timeline_get_view(self->timeline);
    char span[48], total[48], t[512];
    dmtv_format_duration(span, sizeof span, v->t1 - v->t0, 4);
    dmtv_format_duration(total, sizeof total, tr->t_last - tr->t_first, 4);
    guint nlost = 0;
    for (size_t i = 0; i < tr->n_lost; i++)
        nlost += (guint)MIN(tr->lost[i].count, G_MAXUINT - nlost);
    char follow[400];
    dmtv_window_follow_status(self, follow, sizeof follow);
    g_snprintf(t, sizeof t,
               "%s%" PRIu64
               " records over %s · %zu lanes · %zu adapters · %zu findings · %u lost%s",
               follow, tr->records, total, tr->n_lanes, tr->n_adapters, tr->n_findings, nlost,
               tr->cut && !self->follower
                   ? " · no END record (cut, or still being written): the records on disk "
                     "when opened"
                   : "");
    gtk_label_set_text(self->status_label, t);
    int level = dmtv_model_pick_level(self->model, v->t0, v->t1, MAX(v->width - DMTV_LABEL_W, 1));
    char lod[64];
    if (level >= 0) {
        char b[32];
        dmtv_format_duration(b, sizeof b, (int64_t)1 << (10 + 3 * level), 3);
        g_snprintf(lod, sizeof lod, "summary L%d (%s)", level, b);
    } else {
        g_strlcpy(lod, "exact events", sizeof lod);
    }
    g_snprintf(t, sizeof t, "window %s · %s · frame %.1f ms", span, lod,
               dmtv_timeline_get_last_fetch_us(self->timeline) / 1000.0);
    gtk_label_set_text(self->lod_label, t);
}

static gboolean layout_idle_cb(gpointer user)
{
    DmtvWindow *self = user;
    self->layout_idle = 0;
    dmtv_window_update_layout(self);
    return G_SOURCE_REMOVE;
}

static void on_view_changed(DmtvTimeline *tl, gpointer user)
{
    (void)tl;
    DmtvWindow *self = user;
    dmtv_window_follow_view_changed(self);
    dmtv_window_update_status(self);
    if (self->layout_window && !self->layout_idle)
        self->layout_idle = g_timeout_add(150, layout_idle_cb, self);
}

void dmtv_window_update_layout(DmtvWindow *self)
{
    if (!self->model) {
        dmtv_layout_view_set_transfers(self->layout_view, NULL, NULL, 0, 0);
        return;
    }
    uint32_t sel = dmtv_timeline_get_selected_transfer(self->timeline);
    if (self->layout_window) {
        const DmtvView *v = dmtv_timeline_get_view(self->timeline);
        GArray *a = dmtv_model_transfers_in(self->model, v->t0, v->t1, 257);
        guint n = MIN(a->len, 256u);
        uint32_t *ids = g_new(uint32_t, MAX(n, 1));
        for (guint i = 0; i < n; i++)
            ids[i] = g_array_index(a, DmtvTransfer, i).xfer;
        dmtv_layout_view_set_transfers(self->layout_view, self->model, ids, n, sel);
        char t[128];
        g_snprintf(t, sizeof t, "Transfer layout: %s%u transfers in the window",
                   a->len > 256 ? "first " : "", n);
        gtk_label_set_text(self->layout_title, t);
        g_free(ids);
        g_array_unref(a);
    } else {
        dmtv_layout_view_set_transfers(self->layout_view, self->model, &sel, sel ? 1 : 0, sel);
        char t[96];
        if (sel)
            g_snprintf(t, sizeof t, "Transfer layout: transfer %u", sel);
        else
            g_snprintf(t, sizeof t, "Transfer layout");
        gtk_label_set_text(self->layout_title, t);
    }
}

static void on_transfer_selected(DmtvTimeline *tl, guint xfer, gpointer user)
{
    (void)tl;
    DmtvWindow *self = user;
    if (!self->model)
        return;
    if (xfer)
        dmtv_window_follow_pause(self);
    dmtv_sg_table_set_transfer(self->sg_table, self->model, xfer);
    dmtv_window_update_layout(self);
    if (xfer) {
        char *d = dmtv_model_describe_transfer(self->model, xfer);
        set_details(self, d);
        g_free(d);
    } else {
        set_details(self, "Click a transfer in the timeline to see its request, SG list, "
                          "register and descriptor writes, interrupt, completion, digest and "
                          "findings.");
    }
}

static void on_finding_selected(DmtvTimeline *tl, gint64 id, gpointer user)
{
    (void)tl;
    DmtvWindow *self = user;
    if (!self->model || id < 0)
        return;
    char *d = dmtv_model_describe_finding(self->model, id);
    set_details(self, d);
    g_free(d);
    const DmtvTrace *tr = dmtv_model_get_trace(self->model);
    for (size_t i = 0; i < tr->n_findings; i++)
        if (tr->findings[i].id == id && tr->findings[i].xfer) {
            uint32_t x = tr->findings[i].xfer;
            dmtv_sg_table_set_transfer(self->sg_table, self->model, x);
            dmtv_timeline_get_view(self->timeline);
            /* keep the finding text, but show the transfer's layout */
            dmtv_layout_view_set_transfers(self->layout_view, self->model, &x, 1, x);
        }
}

/* ---- opening ------------------------------------------------------------------------ */

static void set_model(DmtvWindow *self, DmtvModel *m)
{
    g_clear_object(&self->model);
    self->model = m;
    if (self->hits)
        g_array_set_size(self->hits, 0);
    self->hit = -1;
    self->filter_on = FALSE;
    gtk_label_set_text(self->match_label, "");
    dmtv_timeline_set_model(self->timeline, m);
    dmtv_sg_table_set_transfer(self->sg_table, m, 0);
    dmtv_window_update_layout(self);
    if (m) {
        const DmtvTrace *tr = dmtv_model_get_trace(m);
        gtk_label_set_text(self->title_label, tr->title);
        gtk_label_set_text(self->subtitle_label, dmtv_model_get_path(m));
        gtk_widget_set_visible(GTK_WIDGET(self->subtitle_label), TRUE);
        char *t = g_strdup_printf("%s — dmatrace Viewer", tr->title);
        gtk_window_set_title(GTK_WINDOW(self), t);
        g_free(t);
        gtk_stack_set_visible_child_name(self->main_stack, "trace");
        on_transfer_selected(self->timeline, 0, self);
        gtk_widget_grab_focus(GTK_WIDGET(self->timeline));
    } else {
        gtk_stack_set_visible_child_name(self->main_stack, "empty");
    }
    dmtv_window_update_status(self);
    dmtv_window_actions_update(self);
}

void dmtv_window_swap_model(DmtvWindow *self, DmtvModel *m)
{
    if (!self->model) {
        set_model(self, m);
        return;
    }
    g_clear_object(&self->model);
    self->model = m;
    dmtv_timeline_replace_model(self->timeline, m);
    uint32_t sel = dmtv_timeline_get_selected_transfer(self->timeline);
    dmtv_sg_table_set_transfer(self->sg_table, m, sel);
    dmtv_window_update_layout(self);
    dmtv_window_update_status(self);
}

gboolean dmtv_window_open_path_sync(DmtvWindow *self, const char *path, GError **error)
{
    char *db = dmtv_resolve_input(path, NULL, NULL, NULL, error);
    if (!db)
        return FALSE;
    DmtvModel *m = dmtv_model_open(db, error);
    g_free(db);
    if (!m)
        return FALSE;
    set_model(self, m);
    GtkApplication *app = gtk_window_get_application(GTK_WINDOW(self));
    if (app && DMTV_IS_APPLICATION(app))
        dmtv_application_add_recent(DMTV_APPLICATION(app), path);
    return TRUE;
}

static void on_error_response(GtkDialog *d, int response, gpointer user)
{
    (void)response;
    DmtvWindow *self = user;
    if (self->error_dialog == GTK_WIDGET(d))
        self->error_dialog = NULL;
    gtk_window_destroy(GTK_WINDOW(d));
}

void dmtv_window_show_error(DmtvWindow *self, const char *primary, const char *secondary)
{
    GtkWidget *d =
        gtk_message_dialog_new(GTK_WINDOW(self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                               GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE, "%s", primary);
    if (secondary)
        gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(d), "%s", secondary);
    g_signal_connect(d, "response", G_CALLBACK(on_error_response), self);
    self->error_dialog = d;
    gtk_window_present(GTK_WINDOW(d));
}

GtkWidget *dmtv_window_get_error_dialog(DmtvWindow *self)
{
    return self->error_dialog;
}

typedef struct {
    DmtvWindow *self; /* ref */
    char *path;
    double fraction;
    char phase[64];
    guint idle;
    GMutex lock;
} ImportJob;

static void job_free(ImportJob *j)
{
    if (j->idle)
        g_source_remove(j->idle);
    g_object_unref(j->self);
    g_free(j->path);
    g_mutex_clear(&j->lock);
    g_free(j);
}

static gboolean progress_idle(gpointer user)
{
    ImportJob *j = user;
    g_mutex_lock(&j->lock);
    j->idle = 0;
    double f = j->fraction;
    char phase[64];
    g_strlcpy(phase, j->phase, sizeof phase);
    g_mutex_unlock(&j->lock);
    gtk_progress_bar_set_fraction(j->self->progress_bar, f);
    gtk_progress_bar_set_text(j->self->progress_bar, phase);
    return G_SOURCE_REMOVE;
}

static gboolean import_progress(double f, const char *phase, gpointer user)
{
    ImportJob *j = user;
    g_mutex_lock(&j->lock);
    j->fraction = f;
    g_strlcpy(j->phase, phase, sizeof j->phase);
    if (!j->idle)
        j->idle = g_idle_add(progress_idle, j);
    g_mutex_unlock(&j->lock);
    return TRUE;
}

static void import_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
    (void)src;
    ImportJob *j = data;
    GError *err = NULL;
    char *db = dmtv_import_run(j->path, import_progress, j, cancel, &err);
    if (db)
        g_task_return_pointer(task, db, g_free);
    else
        g_task_return_error(task, err);
}

static void report_open_error(DmtvWindow *self, const char *path, const GError *err)
{
    char *base = g_path_get_basename(path);
    char *primary = g_strdup_printf("Cannot open “%s”", base);
    dmtv_window_show_error(self, primary, err->message);
    g_free(primary);
    g_free(base);
}

static void import_done(GObject *src, GAsyncResult *res, gpointer user)
{
    (void)src;
    ImportJob *j = user;
    DmtvWindow *self = j->self;
    GError *err = NULL;
    char *db = g_task_propagate_pointer(G_TASK(res), &err);
    self->busy = FALSE;
    g_clear_object(&self->import_cancel);
    gtk_revealer_set_reveal_child(self->progress_revealer, FALSE);
    DmtvModel *m = db ? dmtv_model_open(db, &err) : NULL;
    if (m) {
        set_model(self, m);
        GtkApplication *app = gtk_window_get_application(GTK_WINDOW(self));
        if (app && DMTV_IS_APPLICATION(app))
            dmtv_application_add_recent(DMTV_APPLICATION(app), j->path);
    } else if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        report_open_error(self, j->path, err);
    }
    g_clear_error(&err);
    g_free(db);
    dmtv_window_actions_update(self);
    job_free(j);
}

void dmtv_window_open(DmtvWindow *self, GFile *file)
{
    g_return_if_fail(DMTV_IS_WINDOW(self));
    char *path = g_file_get_path(file);
    if (!path) {
        dmtv_window_show_error(self, "Cannot open this location",
                               "Only local files can be opened.");
        return;
    }
    if (self->busy) {
        dmtv_window_show_error(self, "An import is running",
                               "Wait for it to finish or cancel it first.");
        g_free(path);
        return;
    }
    GError *err = NULL;
    int kind = dmtv_file_kind(path, &err);
    if (kind == DMTV_FILE_DB) {
        if (!dmtv_window_open_path_sync(self, path, &err))
            report_open_error(self, path, err);
    } else if (kind == DMTV_FILE_TRACE && dmtv_follow_is_growing(path)) {
        /* still being written: follow it rather than import what is there */
        if (!dmtv_window_follow(self, path, &err))
            report_open_error(self, path, err);
    } else if (kind == DMTV_FILE_TRACE) {
        ImportJob *j = g_new0(ImportJob, 1);
        g_mutex_init(&j->lock);
        j->self = g_object_ref(self);
        j->path = g_strdup(path);
        self->busy = TRUE;
        self->import_cancel = g_cancellable_new();
        char *base = g_path_get_basename(path);
        char *t = g_strdup_printf("Importing %s into the cache database…", base);
        gtk_label_set_text(self->progress_label, t);
        g_free(t);
        g_free(base);
        gtk_progress_bar_set_fraction(self->progress_bar, 0);
        gtk_progress_bar_set_text(self->progress_bar, "Reading records");
        gtk_revealer_set_reveal_child(self->progress_revealer, TRUE);
        GTask *task = g_task_new(NULL, self->import_cancel, import_done, j);
        g_task_set_task_data(task, j, NULL);
        g_task_run_in_thread(task, import_thread);
        g_object_unref(task);
        dmtv_window_actions_update(self);
    } else {
        report_open_error(self, path, err);
    }
    g_clear_error(&err);
    g_free(path);
}

gboolean dmtv_window_is_busy(DmtvWindow *self)
{
    return self->busy;
}

static void on_cancel_import(GtkButton *b, gpointer user)
{
    (void)b;
    DmtvWindow *self = user;
    if (self->import_cancel)
        g_cancellable_cancel(self->import_cancel);
}

static gboolean on_drop(GtkDropTarget *t, const GValue *value, double x, double y, gpointer user)
{
    (void)t;
    (void)x;
    (void)y;
    DmtvWindow *self = user;
    if (G_VALUE_HOLDS(value, GDK_TYPE_FILE_LIST)) {
        GSList *l = g_value_get_boxed(value);
        if (l && l->data) {
            dmtv_window_open(self, G_FILE(l->data));
            return TRUE;
        }
    } else if (G_VALUE_HOLDS(value, G_TYPE_FILE)) {
        dmtv_window_open(self, g_value_get_object(value));
        return TRUE;
    }
    return FALSE;
}

/* ---- find ------------------------------------------------------------------------------ */

static void show_hit(DmtvWindow *self)
{
    if (!self->hits || self->hit < 0 || (guint)self->hit >= self->hits->len)
        return;
    const DmtvHit *h = &g_array_index(self->hits, DmtvHit, self->hit);
    dmtv_timeline_show_time(self->timeline, h->ts);
    if (h->xfer) {
        dmtv_timeline_select_transfer(self->timeline, h->xfer);
    } else {
        char t[128], ts[64];
        dmtv_format_cursor(ts, sizeof ts, h->ts - dmtv_model_get_trace(self->model)->t_first);
        g_snprintf(t, sizeof t, "Match at %s, record #%" PRIu64, ts, h->seq);
        set_details(self, t);
    }
    char t[64];
    g_snprintf(t, sizeof t, "%d of %u", self->hit + 1, self->hits->len);
    gtk_label_set_text(self->match_label, t);
}

guint dmtv_window_find(DmtvWindow *self, const char *query)
{
    if (!self->hits)
        self->hits = g_array_new(FALSE, FALSE, sizeof(DmtvHit));
    g_array_set_size(self->hits, 0);
    self->hit = -1;
    g_free(self->query);
    self->query = g_strdup(query ? query : "");
    if (g_strcmp0(gtk_editable_get_text(GTK_EDITABLE(self->search_entry)), self->query))
        gtk_editable_set_text(GTK_EDITABLE(self->search_entry), self->query);
    if (!self->model)
        return 0;
    DmtvQuery q;
    GError *err = NULL;
    if (!dmtv_query_parse(query, &q, &err)) {
        gtk_label_set_text(self->match_label, err->message);
        gtk_widget_add_css_class(GTK_WIDGET(self->search_entry), "error");
        g_error_free(err);
        return 0;
    }
    gtk_widget_remove_css_class(GTK_WIDGET(self->search_entry), "error");
    if (dmtv_query_is_empty(&q)) {
        gtk_label_set_text(self->match_label, "");
        if (self->filter_on) {
            dmtv_model_set_filter(self->model, NULL);
            dmtv_timeline_refresh(self->timeline);
        }
        return 0;
    }
    gboolean trunc = FALSE;
    GArray *h = dmtv_model_find(self->model, &q, 100000, &trunc);
    g_array_append_vals(self->hits, h->data, h->len);
    g_array_unref(h);
    if (self->filter_on) {
        dmtv_model_set_filter(self->model, &q);
        dmtv_timeline_refresh(self->timeline);
    }
    char t[64];
    if (!self->hits->len) {
        g_snprintf(t, sizeof t, "no match");
    } else {
        /* start at the first match at or after the window's start */
        const DmtvView *v = dmtv_timeline_get_view(self->timeline);
        self->hit = 0;
        for (guint i = 0; i < self->hits->len; i++)
            if (g_array_index(self->hits, DmtvHit, i).ts >= v->t0) {
                self->hit = (int)i;
                break;
            }
        g_snprintf(t, sizeof t, "%u match%s%s", self->hits->len, self->hits->len == 1 ? "" : "es",
                   trunc ? " (first)" : "");
        show_hit(self);
    }
    if (!self->hits->len)
        gtk_label_set_text(self->match_label, t);
    return self->hits->len;
}

gboolean dmtv_window_find_step(DmtvWindow *self, int dir)
{
    if (!self->hits || !self->hits->len)
        return FALSE;
    int n = (int)self->hits->len;
    self->hit = ((self->hit < 0 ? (dir > 0 ? -1 : 0) : self->hit) + dir + n) % n;
    show_hit(self);
    return TRUE;
}

static void on_search_activate(GtkSearchEntry *e, gpointer user)
{
    DmtvWindow *self = user;
    dmtv_window_find(self, gtk_editable_get_text(GTK_EDITABLE(e)));
}

static void on_search_next(GtkSearchEntry *e, gpointer user)
{
    (void)e;
    dmtv_window_find_step(user, +1);
}

static void on_search_prev(GtkSearchEntry *e, gpointer user)
{
    (void)e;
    dmtv_window_find_step(user, -1);
}

void dmtv_window_select_step(DmtvWindow *self, int dir)
{
    if (!self->model)
        return;
    const DmtvView *v = dmtv_timeline_get_view(self->timeline);
    DmtvTransfer cur;
    int64_t from = v->t0 + (v->t1 - v->t0) / 2;
    uint32_t sel = dmtv_timeline_get_selected_transfer(self->timeline);
    if (sel && dmtv_model_get_transfer(self->model, sel, &cur))
        from = cur.t_begin;
    const DmtvTrace *tr = dmtv_model_get_trace(self->model);
    GArray *a = dir > 0 ? dmtv_model_transfers_in(self->model, from, tr->t_last, 64)
                        : dmtv_model_transfers_in(
                              self->model, MAX(tr->t_first, from - (v->t1 - v->t0)), from, 4096);
    uint32_t pick = 0;
    int64_t best = dir > 0 ? INT64_MAX : INT64_MIN;
    for (guint i = 0; i < a->len; i++) {
        const DmtvTransfer *t = &g_array_index(a, DmtvTransfer, i);
        if (t->xfer == sel)
            continue;
        if (dir > 0 && t->t_begin >= from && t->t_begin < best) {
            best = t->t_begin;
            pick = t->xfer;
        }
        if (dir < 0 && t->t_begin <= from && t->t_begin > best) {
            best = t->t_begin;
            pick = t->xfer;
        }
    }
    g_array_unref(a);
    if (pick) {
        dmtv_timeline_select_transfer(self->timeline, pick);
        if (best < v->t0 || best > v->t1)
            dmtv_timeline_show_time(self->timeline, best);
    }
}

/* ---- GObject ------------------------------------------------------------------------------ */

DmtvModel *dmtv_window_get_model(DmtvWindow *self)
{
    return self->model;
}

DmtvTimeline *dmtv_window_get_timeline(DmtvWindow *self)
{
    return self->timeline;
}

DmtvLayoutView *dmtv_window_get_layout_view(DmtvWindow *self)
{
    return self->layout_view;
}

DmtvSgTable *dmtv_window_get_sg_table(DmtvWindow *self)
{
    return self->sg_table;
}

static void dmtv_window_dispose(GObject *o)
{
    DmtvWindow *self = DMTV_WINDOW(o);
    if (self->import_cancel)
        g_cancellable_cancel(self->import_cancel);
    if (self->layout_idle) {
        g_source_remove(self->layout_idle);
        self->layout_idle = 0;
    }
    g_clear_object(&self->chooser);
    dmtv_window_follow_stop(self);
    g_clear_object(&self->model);
    g_clear_pointer(&self->query, g_free);
    if (self->hits) {
        g_array_unref(self->hits);
        self->hits = NULL;
    }
    gtk_widget_dispose_template(GTK_WIDGET(self), DMTV_TYPE_WINDOW);
    G_OBJECT_CLASS(dmtv_window_parent_class)->dispose(o);
}

static void dmtv_window_class_init(DmtvWindowClass *klass)
{
    GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
    G_OBJECT_CLASS(klass)->dispose = dmtv_window_dispose;
    g_type_ensure(DMTV_TYPE_TIMELINE);
    g_type_ensure(DMTV_TYPE_LAYOUT_VIEW);
    g_type_ensure(DMTV_TYPE_SG_TABLE);
    gtk_widget_class_set_template_from_resource(wc, "/org/dmatrace/Viewer/dmtv-window.ui");
#define CHILD(n) gtk_widget_class_bind_template_child(wc, DmtvWindow, n)
    CHILD(title_label);
    CHILD(subtitle_label);
    CHILD(status_label);
    CHILD(lod_label);
    CHILD(match_label);
    CHILD(progress_label);
    CHILD(layout_title);
    CHILD(progress_revealer);
    CHILD(progress_bar);
    CHILD(progress_cancel);
    CHILD(search_bar);
    CHILD(search_entry);
    CHILD(find_button);
    CHILD(filter_toggle);
    CHILD(menu_button);
    CHILD(main_stack);
    CHILD(vscroll);
    CHILD(hscroll);
    CHILD(timeline);
    CHILD(layout_view);
    CHILD(sg_table);
    CHILD(details);
#undef CHILD
}

static void on_layout_activated(DmtvLayoutView *lv, guint xfer, gpointer user)
{
    (void)lv;
    DmtvWindow *self = user;
    dmtv_timeline_select_transfer(self->timeline, xfer);
}

static void dmtv_window_init(DmtvWindow *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));
    self->hit = -1;
    gtk_scrollbar_set_adjustment(self->vscroll, dmtv_timeline_get_vadjustment(self->timeline));
    gtk_scrollbar_set_adjustment(self->hscroll, dmtv_timeline_get_hadjustment(self->timeline));
    g_signal_connect(self->timeline, "transfer-selected", G_CALLBACK(on_transfer_selected), self);
    g_signal_connect(self->timeline, "finding-selected", G_CALLBACK(on_finding_selected), self);
    g_signal_connect(self->timeline, "view-changed", G_CALLBACK(on_view_changed), self);
    g_signal_connect(self->layout_view, "transfer-activated", G_CALLBACK(on_layout_activated),
                     self);
    g_signal_connect(self->progress_cancel, "clicked", G_CALLBACK(on_cancel_import), self);
    g_signal_connect(self->search_entry, "activate", G_CALLBACK(on_search_activate), self);
    g_signal_connect(self->search_entry, "next-match", G_CALLBACK(on_search_next), self);
    g_signal_connect(self->search_entry, "previous-match", G_CALLBACK(on_search_prev), self);
    g_object_bind_property(self->find_button, "active", self->search_bar, "search-mode-enabled",
                           G_BINDING_BIDIRECTIONAL);
    gtk_search_bar_connect_entry(self->search_bar, GTK_EDITABLE(self->search_entry));

    GtkDropTarget *drop = gtk_drop_target_new(G_TYPE_INVALID, GDK_ACTION_COPY);
    GType types[] = {GDK_TYPE_FILE_LIST, G_TYPE_FILE};
    gtk_drop_target_set_gtypes(drop, types, G_N_ELEMENTS(types));
    g_signal_connect(drop, "drop", G_CALLBACK(on_drop), self);
    gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(drop));

    dmtv_window_actions_init(self);
    dmtv_window_follow_init(self, GTK_WIDGET(self->status_label));
    set_model(self, NULL);
    set_details(self, "");
}

DmtvWindow *dmtv_window_new(DmtvApplication *app)
{
    DmtvWindow *w = g_object_new(DMTV_TYPE_WINDOW, "application", app, NULL);
    GMenuModel *recent = app ? dmtv_application_get_recent_menu(app) : NULL;
    if (recent) {
        /* the template's "Open Recent" submenu is filled from the application */
        GMenuModel *menu = gtk_menu_button_get_menu_model(w->menu_button);
        GMenuModel *section = g_menu_model_get_item_link(menu, 0, G_MENU_LINK_SECTION);
        if (section && G_IS_MENU(section)) {
            GMenu *s = G_MENU(section);
            g_menu_remove(s, 1);
            g_menu_append_submenu(s, "Open _Recent", recent);
        }
        g_clear_object(&section);
    }
    return w;
}

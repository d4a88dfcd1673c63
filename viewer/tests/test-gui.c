/*
 * test-gui.c - widget tests of the viewer under Xvfb: open a store, zoom in
 * and out (API, window actions, the timeline's key-binding actions), click
 * a transfer and check the details pane, the SG table (lazy rows) and the
 * layout view, zoom to the selection, find / next match / filter, the
 * layout of every transfer in the window, the shortcuts window, recent
 * files, a .dmat imported in the background, and error dialogs (never a
 * crash) for foreign and corrupt files, and for a register map that does
 * not load (its one line; raw offsets from then on).  Screenshots of the window (light
 * and dark) are written next to the test binary.
 *
 * The program re-runs itself under `xvfb-run -a` (GDK_BACKEND=x11,
 * GSK_RENDERER=cairo) so plain `ctest` works; it exits 77 (skip) when
 * xvfb-run is missing or no X server can start.
 */
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmt/testkit.h"
#include "guikit.h"
#include "dmtv-application.h"
#include "dmtv-sg-list.h"
#include "dmtv-timeline-draw.h"
#include "dmtv-window.h"
#include "tracegen.h"

static gboolean not_busy(gpointer w)
{
    return !dmtv_window_is_busy(DMTV_WINDOW(w));
}

static int64_t span_of(DmtvTimeline *tl)
{
    const DmtvView *v = dmtv_timeline_get_view(tl);
    return v->t1 - v->t0;
}

static void run(void)
{
    char *dir = tg_tmpdir();
    g_setenv("XDG_CACHE_HOME", dir, TRUE);
    g_setenv("XDG_DATA_HOME", dir, TRUE);
    char *dmat = g_build_filename(dir, "t.dmat", NULL);
    char *db = g_build_filename(dir, "t.db", NULL);
    CHECK(tg_make_db(dmat, db, 400) == 0);

    DmtvApplication *app = dmtv_application_new();
    GError *e = NULL;
    CHECK(g_application_register(G_APPLICATION(app), NULL, &e));
    g_clear_error(&e);
    DmtvWindow *win = dmtv_window_new(app);
    gtk_window_set_default_size(GTK_WINDOW(win), 1500, 950);
    gtk_window_present(GTK_WINDOW(win));
    gk_pump(300);
    gk_screenshot(GTK_WIDGET(win), "viewer-gui-empty.png");

    /* open */
    CHECKF(dmtv_window_open_path_sync(win, db, &e), "%s", e ? e->message : "");
    g_clear_error(&e);
    gk_pump(300);
    DmtvModel *m = dmtv_window_get_model(win);
    DmtvTimeline *tl = dmtv_window_get_timeline(win);
    CHECK(m != NULL);
    if (!m)
        return;
    const DmtvTrace *tr = dmtv_model_get_trace(m);
    const DmtvView *v = dmtv_timeline_get_view(tl);
    CHECKF(v->width > 800 && v->height > 300, "timeline %dx%d", v->width, v->height);
    CHECK(v->t0 < tr->t_first && v->t1 > tr->t_last); /* fit all */

    /* zoom in and out */
    int64_t s0 = span_of(tl);
    dmtv_timeline_zoom(tl, 8);
    CHECK(llabs(span_of(tl) - s0 / 8) < s0 / 800 + 2);
    g_action_group_activate_action(G_ACTION_GROUP(win), "zoom-in", NULL);
    CHECK(llabs(span_of(tl) - (int64_t)((double)s0 / 12)) < s0 / 1000 + 2);
    gtk_widget_activate_action(GTK_WIDGET(tl), "timeline.zoom-out", NULL);
    CHECK(llabs(span_of(tl) - s0 / 8) < s0 / 500 + 2);
    g_action_group_activate_action(G_ACTION_GROUP(win), "zoom-out", NULL);
    g_action_group_activate_action(G_ACTION_GROUP(win), "zoom-fit", NULL);
    CHECK(span_of(tl) == s0);
    int64_t t0 = v->t0;
    gtk_widget_activate_action(GTK_WIDGET(tl), "timeline.zoom-in", NULL);
    gtk_widget_activate_action(GTK_WIDGET(tl), "timeline.pan", "d", 0.25);
    CHECK(v->t0 > t0);
    gk_pump(100);

    /* select transfer 7 by clicking its span */
    dmtv_timeline_set_window(tl, tg_start_ts(5), tg_complete_ts(9));
    gk_pump(200);
    double x = (dmtv_x_of(v, tg_start_ts(7)) + dmtv_x_of(v, tg_complete_ts(7))) / 2;
    double y = dmtv_lane_y(tr, v, 0) + 20;
    dmtv_timeline_click(tl, x, y);
    gk_pump(300);
    CHECKF(dmtv_timeline_get_selected_transfer(tl) == 7, "selected %u",
           dmtv_timeline_get_selected_transfer(tl));
    char *details = dmtv_window_get_details_text(win);
    CHECK(strstr(details, "Transfer 7 ") != NULL);
    CHECK(strstr(details, "StartDma request") && strstr(details, "dmatrace dump"));
    CHECK(strstr(details, "CH[1].DESC_COUNT=")); /* register writes during it */
    g_free(details);
    DmtvSgTable *sgt = dmtv_window_get_sg_table(win);
    GListModel *sgl = dmtv_sg_table_get_list(sgt);
    CHECK(g_list_model_get_n_items(sgl) == tg_n_sg(7));
    guint created = dmtv_sg_list_get_created(DMTV_SG_LIST(sgl));
    CHECKF(created >= tg_n_sg(7), "%u rows created", created); /* the view asked for them */
    CHECK(dmtv_layout_view_get_n_blocks(dmtv_window_get_layout_view(win)) == tg_n_sg(7));
    gk_screenshot(GTK_WIDGET(win), "viewer-gui-selected.png");

    /* a click on a register's label expands its lane into bitfield lanes
     * (the content grows), a second click folds it */
    for (size_t i = 0; i < tr->n_lanes; i++) {
        if (strcmp(tr->lanes[i].label, "IRQ_STATUS"))
            continue;
        double before = dmtv_lanes_height(tr);
        double ly = dmtv_lane_y(tr, v, i) + DMTV_REG_LANE_H / 2;
        dmtv_timeline_click(tl, 20, ly);
        gk_pump(100);
        CHECKF(tr->lanes[i].n_fields == 4, "IRQ_STATUS expanded into %u", tr->lanes[i].n_fields);
        CHECK(dmtv_lanes_height(tr) == before + 4 * DMTV_FIELD_LANE_H);
        dmtv_timeline_click(tl, 20, dmtv_lane_y(tr, v, i) + DMTV_REG_LANE_H / 2);
        gk_pump(100);
        CHECK(tr->lanes[i].n_fields == 0 && dmtv_lanes_height(tr) == before);
    }

    /* zoom to the selection */
    g_action_group_activate_action(G_ACTION_GROUP(win), "zoom-selection", NULL);
    CHECK(v->t0 <= tg_start_ts(7) && v->t1 >= tg_complete_ts(7));
    CHECK(span_of(tl) < 2 * (tg_complete_ts(7) - tg_start_ts(7)));
    g_action_group_activate_action(G_ACTION_GROUP(win), "zoom-fit", NULL);

    /* find and filter */
    CHECK(dmtv_window_find(win, "finding:overlap") == 1);
    gk_pump(100);
    CHECK(dmtv_timeline_get_selected_transfer(tl) == TG_XFER_OVL);
    details = dmtv_window_get_details_text(win);
    CHECK(strstr(details, "sg-overlap") != NULL);
    g_free(details);
    guint n = dmtv_window_find(win, "dir:to len:8k-8k");
    CHECK(n > 2);
    uint32_t first = dmtv_timeline_get_selected_transfer(tl);
    CHECK(dmtv_window_find_step(win, +1));
    uint32_t second = dmtv_timeline_get_selected_transfer(tl);
    CHECK(second != first);
    CHECK(dmtv_window_find_step(win, -1));
    CHECK(dmtv_timeline_get_selected_transfer(tl) == first);
    g_action_group_change_action_state(G_ACTION_GROUP(win), "filter", g_variant_new_boolean(TRUE));
    CHECK(v->filter_active);
    gk_pump(200);
    gk_screenshot(GTK_WIDGET(win), "viewer-gui-filter.png");
    g_action_group_change_action_state(G_ACTION_GROUP(win), "filter", g_variant_new_boolean(FALSE));
    CHECK(!v->filter_active);
    CHECK(dmtv_window_find(win, "dir:sideways") == 0);

    /* the layout of every transfer in the window */
    dmtv_timeline_set_window(tl, tg_start_ts(2), tg_complete_ts(6));
    g_action_group_change_action_state(G_ACTION_GROUP(win), "layout-window",
                                       g_variant_new_boolean(TRUE));
    gk_pump(300);
    CHECK(dmtv_layout_view_get_n_rows(dmtv_window_get_layout_view(win)) >= 5);
    gk_screenshot(GTK_WIDGET(win), "viewer-gui-layout-window.png");

    /* dark theme follows the settings */
    g_object_set(gtk_settings_get_default(), "gtk-application-prefer-dark-theme", TRUE, NULL);
    gk_pump(300);
    CHECK(v->dark);
    gk_screenshot(GTK_WIDGET(win), "viewer-gui-dark.png");
    g_object_set(gtk_settings_get_default(), "gtk-application-prefer-dark-theme", FALSE, NULL);
    gk_pump(100);

    /* shortcuts window, recent files */
    CHECK(gtk_application_window_get_help_overlay(GTK_APPLICATION_WINDOW(win)) != NULL);
    char *uri = g_filename_to_uri(db, NULL, NULL);
    CHECK(gtk_recent_manager_has_item(gtk_recent_manager_get_default(), uri));
    g_free(uri);

    /* errors: a foreign file, a corrupt trace (in the import thread) */
    char *bad = g_build_filename(dir, "foreign.db", NULL);
    g_file_set_contents(bad, "not a database", -1, NULL);
    GFile *f = g_file_new_for_path(bad);
    dmtv_window_open(win, f);
    g_object_unref(f);
    gk_pump(100);
    GtkWidget *dlg = dmtv_window_get_error_dialog(win);
    CHECK(dlg != NULL);
    if (dlg)
        gtk_dialog_response(GTK_DIALOG(dlg), GTK_RESPONSE_CLOSE);
    CHECK(dmtv_window_get_model(win) == m); /* the open trace stays */
    char junk[2048];
    memcpy(junk, "\xd9\xd9\xf7\xa8\x65magic", 10);
    for (size_t i = 10; i < sizeof junk; i++)
        junk[i] = (char)(i * 31 + 7);
    char *bad2 = g_build_filename(dir, "corrupt.dmat", NULL);
    g_file_set_contents(bad2, junk, sizeof junk, NULL);
    DmtvWindow *w2 = dmtv_window_new(app);
    gtk_window_present(GTK_WINDOW(w2));
    f = g_file_new_for_path(bad2);
    dmtv_window_open(w2, f);
    g_object_unref(f);
    CHECK(gk_wait_for(not_busy, w2, 20000));
    gk_pump(100);
    dlg = dmtv_window_get_error_dialog(w2);
    CHECK(dlg != NULL && dmtv_window_get_model(w2) == NULL);
    if (dlg)
        gtk_dialog_response(GTK_DIALOG(dlg), GTK_RESPONSE_CLOSE);

    /* a good .dmat: imported in the background, then shown */
    f = g_file_new_for_path(dmat);
    dmtv_window_open(w2, f);
    g_object_unref(f);
    CHECK(dmtv_window_is_busy(w2));
    CHECK(gk_wait_for(not_busy, w2, 30000));
    gk_pump(200);
    CHECK(dmtv_window_get_model(w2) != NULL && dmtv_window_get_error_dialog(w2) == NULL);

    /* a register map that does not load: a dialog with its one line
     * (file:line), and the trace stays open with raw offsets */
    DmtvModel *m2 = dmtv_window_get_model(w2);
    const DmtvTrace *t2 = m2 ? dmtv_model_get_trace(m2) : NULL;
    gssize rl = -1;
    for (size_t i = 0; t2 && i < t2->n_lanes && rl < 0; i++)
        if (t2->lanes[i].kind == DMT_LANE_REGISTER && t2->lanes[i].off >= 0)
            rl = (gssize)i;
    CHECK(rl >= 0 && !g_str_has_prefix(t2->lanes[rl].label, "reg +0x")); /* named */
    char *badmap = g_build_filename(dir, "bad-map.xml", NULL);
    g_file_set_contents(badmap,
                        "<?xml version=\"1.0\"?>\n<database>\n<domain name=\"X\">\n"
                        "<reg32 offset=\"0x0\" name=\"A\"\n</domain></database>\n",
                        -1, NULL);
    CHECK(!dmtv_window_load_regmap(w2, badmap, NULL, NULL));
    gk_pump(100);
    dlg = dmtv_window_get_error_dialog(w2);
    CHECK(dlg != NULL);
    if (dlg) {
        char *sec = NULL;
        g_object_get(dlg, "secondary-text", &sec, NULL);
        char *want = g_strdup_printf("%s:", badmap);
        CHECKF(sec && g_str_has_prefix(sec, want) && !strchr(sec, '\n'), "regmap dialog says '%s'",
               sec ? sec : "(nothing)");
        g_free(want);
        g_free(sec);
        gtk_dialog_response(GTK_DIALOG(dlg), GTK_RESPONSE_CLOSE);
    }
    CHECK(dmtv_window_get_model(w2) == m2);
    if (rl >= 0)
        CHECKF(g_str_has_prefix(t2->lanes[rl].label, "reg +0x"), "lane label '%s'",
               t2->lanes[rl].label);
    g_free(badmap);
    gtk_window_destroy(GTK_WINDOW(w2));
    gtk_window_destroy(GTK_WINDOW(win));
    gk_pump(100);
    g_object_unref(app);
    g_free(bad);
    g_free(bad2);
    CHECK(tg_fixtures_done(dir, db, dmat) == 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *mark = g_getenv("DMTV_IN_XVFB");
    if (!mark)
        return gk_reexec_under_xvfb(argv, "viewer_gui");
    g_file_set_contents(mark, "started", -1, NULL);
    if (!gtk_init_check()) {
        fprintf(stderr, "viewer_gui: cannot open the X display: skipped\n");
        return 77;
    }
    run();
    return tk_result("viewer_gui");
}

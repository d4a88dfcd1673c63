/*
 * main.c - dmatrace-viewer: the GTK application, or with --render the
 * headless PNG renderer (no display needed, so no gtk_init on that path).
 * --follow FILE.dmat opens the trace in follow mode.
 * Both take --regmap FILE.xml [--variant NAME] [--domain NAME] (or
 * --regmap none), taken out of argv here; a bad map is one line
 * "FILE:LINE: why" on stderr and, with --render, exit status 2; the GUI
 * shows the line in a dialog and goes on with raw offsets.
 */
#include <stdio.h>
#include <string.h>

#include "dmtv-application.h"
#include "dmtv-regnames.h"
#include "dmtv-render.h"

/* Take the register-map options out of argv; returns 0, or 2 on a bad map
 * or a missing argument.  gui: a bad map is no failure; *gui_error gets its
 * line (g_free) for a dialog, and registers show as offsets. */
static int regmap_options(int *argc, char **argv, gboolean gui, char **gui_error)
{
    const char *file = NULL, *variant = NULL, *domain = NULL;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char **dst = !strcmp(argv[i], "--regmap")    ? &file
                           : !strcmp(argv[i], "--variant") ? &variant
                           : !strcmp(argv[i], "--domain")  ? &domain
                                                           : NULL;
        if (!dst) {
            argv[out++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc) {
            fprintf(stderr, "dmatrace-viewer: %s needs an argument\n", argv[i]);
            return 2;
        }
        *dst = argv[++i];
    }
    argv[out] = NULL;
    *argc = out;
    if (file && !strcmp(file, "none")) {
        dmtv_regnames_none();
    } else if (file) {
        GError *e = NULL;
        if (!dmtv_regnames_load(file, variant, domain, &e)) {
            if (gui) {
                dmtv_regnames_none();
                *gui_error = g_strdup(e->message);
                g_error_free(e);
                return 0;
            }
            fprintf(stderr, "dmatrace-viewer: %s\n", e->message);
            g_error_free(e);
            return 2;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    gboolean gui = TRUE;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--render") || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            gui = FALSE;
    char *map_error = NULL;
    int bad = regmap_options(&argc, argv, gui, &map_error);
    if (bad)
        return bad;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--render"))
            return dmtv_render_main(argc, argv);
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            char *a[] = {argv[0], "--help", NULL};
            return dmtv_render_main(2, a);
        }
    gboolean follow = FALSE;
    int out = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--follow"))
            follow = TRUE;
        else
            argv[out++] = argv[i];
    }
    argv[out] = NULL;
    argc = out;
    if (follow && argc != 2) {
        fprintf(stderr, "dmatrace-viewer: --follow needs one trace file\n");
        return 2;
    }
    DmtvApplication *app = dmtv_application_new();
    dmtv_application_set_follow(app, follow);
    if (map_error) {
        fprintf(stderr, "dmatrace-viewer: %s (registers show as offsets)\n", map_error);
        dmtv_application_set_regmap_error(app, map_error);
        g_free(map_error);
    }
    int rc = g_application_run(G_APPLICATION(app), argc, argv);
    g_object_unref(app);
    return rc;
}

/*
 * guikit.c - helpers of the viewer's widget tests (see guikit.h).
 */
#include "guikit.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmt/testkit.h"

#ifndef DMTV_SHOT_DIR
#define DMTV_SHOT_DIR "."
#endif

void gk_pump(int ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;
    while (g_get_monotonic_time() < end) {
        while (g_main_context_iteration(NULL, FALSE))
            ;
        g_usleep(2000);
    }
}

gboolean gk_wait_for(gboolean (*cond)(gpointer), gpointer data, int ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;
    while (g_get_monotonic_time() < end) {
        if (cond(data))
            return TRUE;
        gk_pump(10);
    }
    return cond(data);
}

void gk_screenshot(GtkWidget *win, const char *name)
{
    GdkPaintable *p = gtk_widget_paintable_new(win);
    int w = 0, h = 0;
    GskRenderNode *node = NULL;
    /* a busy machine may not have drawn the window's last change yet:
     * wait for a frame (up to 20 s) */
    for (int tries = 0; !node && tries < 200; tries++) {
        if (tries)
            gk_pump(100);
        w = gtk_widget_get_width(win);
        h = gtk_widget_get_height(win);
        GtkSnapshot *s = gtk_snapshot_new();
        gdk_paintable_snapshot(p, s, w, h);
        node = gtk_snapshot_free_to_node(s);
    }
    CHECK(node != NULL);
    if (node) {
        GskRenderer *r = gtk_native_get_renderer(GTK_NATIVE(win));
        GdkTexture *t =
            gsk_renderer_render_texture(r, node, &GRAPHENE_RECT_INIT(0, 0, (float)w, (float)h));
        const char *dir = g_getenv("DMTV_SCREENSHOT_DIR");
        char *path = g_build_filename(dir ? dir : DMTV_SHOT_DIR, name, NULL);
        CHECK(gdk_texture_save_to_png(t, path));
        fprintf(stderr, "screenshot: %s\n", path);
        g_free(path);
        g_object_unref(t);
        gsk_render_node_unref(node);
    }
    g_object_unref(p);
}

int gk_reexec_under_xvfb(char **argv, const char *name)
{
    char *xvfb = g_find_program_in_path("xvfb-run");
    if (!xvfb) {
        fprintf(stderr, "%s: xvfb-run not found: skipped\n", name);
        return 77;
    }
    char *mark = g_build_filename(g_get_tmp_dir(), "dmtv-gui-XXXXXX", NULL);
    int fd = g_mkstemp(mark);
    if (fd >= 0)
        close(fd);
    g_unlink(mark);
    char *self = g_canonicalize_filename(argv[0], NULL);
    char *args[] = {xvfb, "-a", "-s", "-screen 0 1600x1000x24 -nolisten tcp", self, NULL};
    char **env = g_get_environ();
    env = g_environ_setenv(env, "DMTV_IN_XVFB", mark, TRUE);
    env = g_environ_setenv(env, "GDK_BACKEND", "x11", TRUE);
    env = g_environ_setenv(env, "GSK_RENDERER", "cairo", TRUE);
    env = g_environ_setenv(env, "NO_AT_BRIDGE", "1", TRUE);
    env = g_environ_setenv(env, "GTK_A11Y", "none", TRUE);
    int status = 0;
    GError *e = NULL;
    int rc;
    if (!g_spawn_sync(NULL, args, env, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL, NULL,
                      &status, &e)) {
        fprintf(stderr, "%s: cannot run xvfb-run: %s: skipped\n", name, e->message);
        g_error_free(e);
        rc = 77;
    } else if (!g_file_test(mark, G_FILE_TEST_EXISTS)) {
        fprintf(stderr, "%s: no X server could start: skipped\n", name);
        rc = 77;
    } else {
        rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    g_unlink(mark);
    g_strfreev(env);
    g_free(self);
    g_free(mark);
    g_free(xvfb);
    return rc;
}

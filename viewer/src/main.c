/*
 * main.c - dmatrace-viewer: the GTK application, or with --render the
 * headless PNG renderer (no display needed, so no gtk_init on that path).
 */
#include <string.h>

#include "dmtv-application.h"
#include "dmtv-render.h"

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--render"))
            return dmtv_render_main(argc, argv);
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            char *a[] = {argv[0], "--help", NULL};
            return dmtv_render_main(2, a);
        }
    DmtvApplication *app = dmtv_application_new();
    int rc = g_application_run(G_APPLICATION(app), argc, argv);
    g_object_unref(app);
    return rc;
}

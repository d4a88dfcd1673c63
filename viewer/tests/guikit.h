/*
 * guikit.h - helpers of the viewer's widget tests (test-gui.c,
 * test-follow.c): run the test again under `xvfb-run -a` (GDK_BACKEND=x11,
 * GSK_RENDERER=cairo), run the main loop for a while or until a condition
 * holds, and save a screenshot of a window.
 */
#pragma once

#include <gtk/gtk.h>

/* Run the main context for ms milliseconds. */
void gk_pump(int ms);
/* Pump until cond(data) or ms milliseconds passed; the last cond(). */
gboolean gk_wait_for(gboolean (*cond)(gpointer), gpointer data, int ms);
/* Save the window as PNG `name` in $DMTV_SCREENSHOT_DIR (else the build's
 * tests folder) and say where on stderr. */
void gk_screenshot(GtkWidget *win, const char *name);
/* Run this program (argv[0]) again under xvfb-run with the environment the
 * widget tests need (DMTV_IN_XVFB set to a marker file the child writes);
 * its exit status, or 77 when no X server can start.  name: for messages. */
int gk_reexec_under_xvfb(char **argv, const char *name);

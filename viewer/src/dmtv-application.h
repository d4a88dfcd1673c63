/*
 * dmtv-application.h - DmtvApplication: the GtkApplication (app.open,
 * app.open-file, app.about, app.quit, accelerators), recent files, the
 * style sheet, and following the desktop's dark/light preference.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DMTV_TYPE_APPLICATION (dmtv_application_get_type())
G_DECLARE_FINAL_TYPE(DmtvApplication, dmtv_application, DMTV, APPLICATION, GtkApplication)

DmtvApplication *dmtv_application_new(void);
/* Record a successfully opened file in the recent list. */
void dmtv_application_add_recent(DmtvApplication *self, const char *path);
/* Files given on the command line are followed (--follow) rather than
 * opened. */
void dmtv_application_set_follow(DmtvApplication *self, gboolean follow);
/* A --regmap that did not load: the first window shows msg in a dialog. */
void dmtv_application_set_regmap_error(DmtvApplication *self, const char *msg);
/* The "Open Recent" menu (kept up to date). */
GMenuModel *dmtv_application_get_recent_menu(DmtvApplication *self);

G_END_DECLS

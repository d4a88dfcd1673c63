/*
 * dmtv-import.h - what the viewer does with a file it is given: tell a
 * store (.db) from a trace (.dmat) by content, and import a trace into a
 * cache database (XDG cache dir, keyed by the trace's path, size and mtime)
 * with dmt_store_import, reporting progress and honouring cancellation.
 * Thread-safe: the window runs dmtv_import_run in a GTask thread.
 */
#pragma once

#include <gio/gio.h>

typedef enum { DMTV_FILE_DB = 1, DMTV_FILE_TRACE = 2 } DmtvFileKind;

/* DMTV_FILE_DB / DMTV_FILE_TRACE, or 0 and error (DMTV_MODEL_ERROR_FOREIGN
 * for files of another kind, _IO when unreadable). */
int dmtv_file_kind(const char *path, GError **error);

/* Where the cache database of a trace lives (newly allocated). */
char *dmtv_import_cache_path(const char *trace_path);

/* Progress: fraction 0..1 and a phase text; return FALSE to cancel. */
typedef gboolean (*DmtvImportProgress)(double fraction, const char *phase, gpointer user);

/* Import trace_path into its cache database unless a complete one exists;
 * returns the database path (g_free) or NULL and error. */
char *dmtv_import_run(const char *trace_path, DmtvImportProgress progress, gpointer user,
                      GCancellable *cancel, GError **error);

/* Resolve any input to a store path: a .db as is, a .dmat through the
 * cache (importing it).  NULL and error on failure. */
char *dmtv_resolve_input(const char *path, DmtvImportProgress progress, gpointer user,
                         GCancellable *cancel, GError **error);

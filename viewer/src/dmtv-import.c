/*
 * dmtv-import.c - file kinds and the .dmat -> cache database import (see
 * dmtv-import.h).
 */
#define G_LOG_DOMAIN "dmtv-import"

#include "dmtv-import.h"

#include <glib/gstdio.h>
#include <inttypes.h>

#include "dmt/sniff.h"
#include "dmt/store.h"
#include "dmtv-model.h"

int dmtv_file_kind(const char *path, GError **error)
{
    dmt_error e = {0};
    int k = dmt_sniff(path, &e);
    if (k == DMT_FILE_DB)
        return DMTV_FILE_DB;
    if (k == DMT_FILE_TRACE)
        return DMTV_FILE_TRACE;
    if (k == DMT_E_FOREIGN)
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_FOREIGN,
                    "%s: neither a dmatrace trace (.dmat) nor a dmatrace database (.db)%s%s", path,
                    e.msg[0] ? ": " : "", e.msg);
    else
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_IO, "%s: %s", path,
                    e.msg[0] ? e.msg : "cannot read");
    return 0;
}

char *dmtv_import_cache_path(const char *trace_path)
{
    char *abs = g_canonicalize_filename(trace_path, NULL);
    GStatBuf st = {0};
    g_stat(trace_path, &st);
    /* The schema version is part of the key: a newer viewer never reuses a
     * cache an older one built. */
    char *key = g_strdup_printf("%s\n%" PRIu64 "\n%" PRId64 "\n%d", abs, (uint64_t)st.st_size,
                                (int64_t)st.st_mtime, DMT_STORE_SCHEMA_VERSION);
    char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
    char *base = g_path_get_basename(trace_path);
    char *dot = strrchr(base, '.');
    if (dot && dot != base)
        *dot = 0;
    char *name = g_strdup_printf("%s-%.16s.db", base, sum);
    char *dir = g_build_filename(g_get_user_cache_dir(), "dmatrace", NULL);
    char *path = g_build_filename(dir, name, NULL);
    g_free(abs);
    g_free(key);
    g_free(sum);
    g_free(base);
    g_free(name);
    g_free(dir);
    return path;
}

typedef struct {
    DmtvImportProgress fn;
    gpointer user;
    GCancellable *cancel;
} ProgressCtx;

static int on_progress(void *ctx, const dmt_store_progress *p)
{
    ProgressCtx *c = ctx;
    if (c->cancel && g_cancellable_is_cancelled(c->cancel))
        return 1;
    if (!c->fn)
        return 0;
    static const char *phases[] = {"", "Reading records", "Deriving tables and summaries",
                                   "Building indexes", "Committing"};
    double f = 0;
    if (p->phase == DMT_STORE_PHASE_LOAD && p->bytes_total)
        f = 0.85 * (double)p->bytes_done / (double)p->bytes_total;
    else if (p->phase == DMT_STORE_PHASE_DERIVE)
        f = 0.88;
    else if (p->phase == DMT_STORE_PHASE_INDEX)
        f = 0.93;
    else if (p->phase == DMT_STORE_PHASE_COMMIT)
        f = 0.98;
    const char *ph = p->phase >= 1 && p->phase <= 4 ? phases[p->phase] : "Importing";
    return c->fn(f, ph, c->user) ? 0 : 1;
}

char *dmtv_import_run(const char *trace_path, DmtvImportProgress progress, gpointer user,
                      GCancellable *cancel, GError **error)
{
    char *db = dmtv_import_cache_path(trace_path);
    if (g_file_test(db, G_FILE_TEST_IS_REGULAR)) {
        DmtvModel *m = dmtv_model_open(db, NULL);
        if (m) { /* a complete cache database (imports are all or nothing) */
            g_object_unref(m);
            return db;
        }
        g_unlink(db);
    }
    char *dir = g_path_get_dirname(db);
    if (g_mkdir_with_parents(dir, 0700) != 0) {
        g_set_error(error, DMTV_MODEL_ERROR, DMTV_MODEL_ERROR_IO,
                    "%s: cannot create the cache directory", dir);
        g_free(dir);
        g_free(db);
        return NULL;
    }
    g_free(dir);
    ProgressCtx pc = {progress, user, cancel};
    /* trace-backed: the cache holds what is drawn, the raw events are read
     * from the trace on demand (DESIGN.md, "Trace-backed stores") */
    dmt_store_import_opts o = {
        .progress = on_progress, .ctx = &pc, .allow_cut = true, .events_in_trace = true};
    dmt_store_import_result r;
    dmt_error e = {0};
    int rc = dmt_store_import(trace_path, db, &o, &r, &e);
    if (rc < 0) {
        if (cancel && g_cancellable_is_cancelled(cancel))
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s: import cancelled",
                        trace_path);
        else
            g_set_error(error, DMTV_MODEL_ERROR,
                        rc == DMT_E_FOREIGN                   ? DMTV_MODEL_ERROR_FOREIGN
                        : rc == DMT_E_VERSION                 ? DMTV_MODEL_ERROR_VERSION
                        : rc == DMT_E_IO || rc == DMT_E_NOMEM ? DMTV_MODEL_ERROR_IO
                                                              : DMTV_MODEL_ERROR_FORMAT,
                        "%s: %s", trace_path, e.msg);
        if (error && *error && e.offset != DMT_NO_INDEX) {
            char *m =
                e.index != DMT_NO_INDEX
                    ? g_strdup_printf("%s: byte %" PRIu64 " (record %" PRIu64 "): %s", trace_path,
                                      e.offset, e.index, e.msg)
                    : g_strdup_printf("%s: byte %" PRIu64 ": %s", trace_path, e.offset, e.msg);
            g_free((*error)->message);
            (*error)->message = m;
        }
        g_free(db);
        return NULL;
    }
    return db;
}

char *dmtv_resolve_input(const char *path, DmtvImportProgress progress, gpointer user,
                         GCancellable *cancel, GError **error)
{
    int k = dmtv_file_kind(path, error);
    if (k == DMTV_FILE_DB)
        return g_strdup(path);
    if (k == DMTV_FILE_TRACE)
        return dmtv_import_run(path, progress, user, cancel, error);
    return NULL;
}

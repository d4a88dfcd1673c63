/*
 * audit_store.c - the audit's side of the SQLite store: reading a database's
 * records for the engine, and writing findings into its `findings` table
 * (schema/store.sql).  All findings SQL lives here.
 */
#include "audit_internal.h"
#include "dmt/store.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static int sql_fail(sqlite3 *db, dmt_error *err, const char *what)
{
    return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s: %s", what,
                         db ? sqlite3_errmsg(db) : "cannot open");
}

/* INSERT f[0..n) with ids first_id, first_id + 1, ... (no transaction). */
static int insert_findings(sqlite3 *db, const dmt_finding *f, size_t n, int64_t first_id,
                           dmt_error *err)
{
    sqlite3_stmt *ins = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO findings(id, rule, severity, seq, ts, xfer, adapter, "
                           "message, uncertain, records) VALUES (?,?,?,?,?,?,?,?,?,?)",
                           -1, &ins, NULL) != SQLITE_OK)
        return sql_fail(db, err, "cannot write the findings table");
    const dmt_audit_rule_info *ri = dmt_audit_rules();
    for (size_t i = 0; i < n; i++) {
        char refs[DMT_AUDIT_MAX_REFS * 21 + 1];
        char msg[sizeof f[i].message + sizeof f[i].uncertain_why + 16];
        size_t k = 0;
        refs[0] = 0;
        for (uint32_t j = 0; j < f[i].n_refs; j++)
            k += (size_t)snprintf(refs + k, sizeof refs - k, "%s%" PRIu64, j ? "," : "",
                                  f[i].refs[j]);
        if (f[i].uncertain)
            snprintf(msg, sizeof msg, "%s (uncertain: %s)", f[i].message, f[i].uncertain_why);
        else
            snprintf(msg, sizeof msg, "%s", f[i].message);
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, first_id + (sqlite3_int64)i);
        sqlite3_bind_text(ins, 2, ri[f[i].rule].id, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, dmt_audit_severity_name(f[i].severity), -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 4, (sqlite3_int64)f[i].seq);
        sqlite3_bind_int64(ins, 5, (sqlite3_int64)f[i].ts);
        if (f[i].xfer)
            sqlite3_bind_int64(ins, 6, f[i].xfer);
        else
            sqlite3_bind_null(ins, 6);
        if (f[i].adapter)
            sqlite3_bind_int64(ins, 7, f[i].adapter);
        else
            sqlite3_bind_null(ins, 7);
        sqlite3_bind_text(ins, 8, msg, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(ins, 9, f[i].uncertain ? 1 : 0);
        sqlite3_bind_text(ins, 10, refs, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            int e = sql_fail(db, err, "cannot insert a finding");
            sqlite3_finalize(ins);
            return e;
        }
    }
    sqlite3_finalize(ins);
    return 0;
}

int dmt_audit_store_findings(const char *path, const dmt_finding *f, size_t n, dmt_error *err)
{
    dmt_store *store;
    int rc = dmt_store_open(path, DMT_STORE_RDWR, &store, err);
    if (rc)
        return rc;
    sqlite3 *db = dmt_store_sqlite(store);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "DELETE FROM findings", NULL, NULL, NULL) != SQLITE_OK)
        rc = sql_fail(db, err, "cannot write the findings table");
    if (!rc)
        rc = insert_findings(db, f, n, 1, err);
    if (!rc && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = sql_fail(db, err, "cannot commit the findings");
    if (rc)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    dmt_store_close(store);
    return rc;
}

int dmt_audit_append_findings(dmt_store_appender *a, const dmt_finding *f, size_t n,
                              int64_t first_id, dmt_error *err)
{
    return insert_findings(dmt_store_append_sqlite(a), f, n, first_id, err);
}

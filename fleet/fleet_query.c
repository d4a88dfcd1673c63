/*
 * fleet_query.c - the named fleet queries (views of schema/fleet.sql,
 * documented in schema/fleet-queries.md) and flt_pull, which rebuilds a
 * local store from a trace's canonical .dmat: the store library's import
 * and the audit's findings, as `dmatrace import` + `dmatrace audit` would.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmt/audit.h"
#include "dmt/store.h"
#include "fleet_internal.h"

typedef struct named {
    const char *name, *sql, *doc;
    int nargs; /* optional parameters ($1..) */
} named;

/* Every query takes at most one optional argument, which filters. */
static const named QUERIES[] = {
    {"findings-over-time",
     "SELECT * FROM fleet_findings_over_time WHERE ($1::text IS NULL OR rule = $1) "
     "ORDER BY rule, day, driver_build",
     "[RULE] findings per rule per driver build per day", 1},
    {"first-build",
     "SELECT rule, driver_build, trace_id, host FROM fleet_first_build "
     "WHERE ($1::text IS NULL OR rule = $1) ORDER BY rule",
     "[RULE] the first build (in fleet order) where each rule fired", 1},
    {"sg-histogram",
     "SELECT * FROM fleet_sg_histogram WHERE ($1::text IS NULL OR driver_build = $1) "
     "ORDER BY driver_build, n_sg",
     "[BUILD] SG list lengths per driver build", 1},
    {"size-histogram",
     "SELECT * FROM fleet_size_histogram WHERE ($1::text IS NULL OR driver_build = $1) "
     "ORDER BY driver_build, size_lo",
     "[BUILD] transfer sizes per driver build (power-of-two buckets)", 1},
    {"highmem", "SELECT * FROM fleet_highmem WHERE ($1::text IS NULL OR host = $1) ORDER BY host",
     "[HOST] bounce-buffered and above-4-GiB transfers per machine", 1},
    {"replay-divergences",
     "SELECT * FROM fleet_replay_divergences ORDER BY device_revision NULLS LAST",
     "replay verdicts per device revision", 0},
    {"traces",
     "SELECT id, left(hash, 16) AS hash, host, scenario, seed, driver_build, device_revision, "
     "records, lost, transfers FROM traces WHERE ($1::text IS NULL OR driver_build = $1) "
     "ORDER BY id",
     "[BUILD] the traces in the fleet", 1},
};
#define N_QUERIES (sizeof QUERIES / sizeof QUERIES[0])

const char *const *flt_query_names(void)
{
    static const char *names[N_QUERIES + 1];
    for (size_t i = 0; i < N_QUERIES; i++)
        names[i] = QUERIES[i].name;
    return names;
}

const char *flt_query_doc(const char *name)
{
    for (size_t i = 0; i < N_QUERIES; i++)
        if (strcmp(QUERIES[i].name, name) == 0)
            return QUERIES[i].doc;
    return NULL;
}

int flt_query(flt_conn *c, const char *name, int argc, char *const *argv, flt_row_fn fn, void *ctx,
              dmt_error *err)
{
    const named *q = NULL;
    for (size_t i = 0; i < N_QUERIES; i++)
        if (strcmp(QUERIES[i].name, name) == 0)
            q = &QUERIES[i];
    if (!q)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "no fleet query named '%s'", name);
    if (argc > q->nargs)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "%s takes %d argument(s)", name, q->nargs);
    const char *v[1] = {argc ? argv[0] : NULL};
    PGresult *r = PQexecParams(c->pg, q->sql, q->nargs, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return flt_pg_error(err, DMT_E_IO, c->pg, "server");
    }
    int nc = PQnfields(r), nr = PQntuples(r);
    const char **vals = calloc((size_t)nc + 1, sizeof *vals);
    if (!vals) {
        PQclear(r);
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    for (int j = 0; j < nc; j++)
        vals[j] = PQfname(r, j);
    int stop = fn(ctx, true, nc, vals);
    int i = 0;
    for (; i < nr && !stop; i++) {
        for (int j = 0; j < nc; j++)
            vals[j] = PQgetisnull(r, i, j) ? NULL : PQgetvalue(r, i, j);
        stop = fn(ctx, false, nc, vals);
    }
    free(vals);
    PQclear(r);
    return i;
}

/* ---- pull ------------------------------------------------------------------ */

void flt_keep_finding(void *user, const dmt_finding *f)
{
    flt_findings *k = user;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 64;
        dmt_finding *q = cap <= (1u << 24) ? realloc(k->f, cap * sizeof *q) : NULL;
        if (!q) {
            k->overflow = true;
            return;
        }
        k->f = q;
        k->cap = cap;
    }
    k->f[k->n++] = *f;
}

/* Write the trace's parts to path; 0 or a negative DMT_E*. */
static int fetch(flt_conn *c, const char *id, const char *path, dmt_error *err)
{
    const char *v[1] = {id};
    PGresult *r = PQexecParams(
        c->pg,
        "SELECT f.data FROM trace_files f WHERE f.trace_id = (SELECT t.id FROM traces t WHERE "
        "t.id::text = $1 OR (length($1) >= 8 AND t.hash LIKE lower($1) || '%') ORDER BY t.id "
        "LIMIT 1) ORDER BY f.part",
        1, NULL, v, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return flt_pg_error(err, DMT_E_IO, c->pg, "server");
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "no trace '%s' in the fleet", id);
    }
    FILE *f = fopen(path, "wb");
    int bad = !f;
    for (int i = 0; !bad && i < PQntuples(r); i++) {
        size_t n = (size_t)PQgetlength(r, i, 0);
        bad = fwrite(PQgetvalue(r, i, 0), 1, n, f) != n;
    }
    if (f && fclose(f) != 0)
        bad = 1;
    PQclear(r);
    if (bad)
        return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s: %s", path,
                             strerror(errno));
    return 0;
}

int flt_pull(flt_conn *c, const char *id, const char *out_db,
             const struct dmt_store_import_opts *io, dmt_error *err)
{
    char dmat[4096], db[4096];
    snprintf(dmat, sizeof dmat, "%s.pull-%ld.dmat", out_db, (long)getpid());
    snprintf(db, sizeof db, "%s.pull-%ld.db", out_db, (long)getpid());
    int rc = fetch(c, id, dmat, err);
    if (rc == 0)
        rc = dmt_store_import(dmat, db, io, NULL, err);
    flt_findings k = {0};
    if (rc == 0) {
        dmt_audit_config cfg = {.rules = DMT_AUDIT_ALL_RULES, .sink = flt_keep_finding, .user = &k};
        rc = dmt_audit_file(db, &cfg, NULL, err);
        if (rc == 0 && k.overflow)
            rc = dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "too many findings");
    }
    if (rc == 0)
        rc = dmt_audit_store_findings(db, k.f, k.n, err);
    if (rc == 0 && rename(db, out_db) != 0)
        rc = dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "%s: %s", out_db,
                           strerror(errno));
    free(k.f);
    unlink(dmat);
    if (rc != 0)
        unlink(db);
    return rc;
}

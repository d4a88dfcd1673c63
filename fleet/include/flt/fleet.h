/*
 * flt/fleet.h - the fleet store: many traces in one PostgreSQL database
 * (schema/fleet.sql).  Push a trace or store (exactly once, one transaction
 * per trace), run a named fleet query, pull a trace back into a local store.
 *
 * Conventions: 0 (or a count) on success, a negative DMT_E* with err filled
 * on failure; nothing printed.  DMT_E_USAGE: a bad URL or query name;
 * DMT_E_VERSION: a server or fleet schema this build does not support;
 * DMT_E_IO: connection, server or file failures; the reader's and store's
 * codes for bad traces.  Error messages never contain a password.
 *
 * Ownership: a flt_conn owns its libpq connection; flt_close frees it.
 * Threads: one flt_conn per thread.
 */
#ifndef FLT_FLEET_H
#define FLT_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmt/error.h"

#define FLT_SCHEMA_VERSION   1
#define FLT_MIN_SERVER_MAJOR 15 /* PostgreSQL majors below this are refused */

typedef struct flt_conn flt_conn;

/* Connect to url (a libpq URI or key=value string; the password may come
 * from the URL, PGPASSWORD or PGPASSFILE as libpq does), check the server's
 * major version, and (create_schema) create schema/fleet.sql when the
 * database has none.  A database holding another fleet schema version is
 * refused with DMT_E_VERSION. */
int flt_connect(const char *url, bool create_schema, flt_conn **out, dmt_error *err);
void flt_close(flt_conn *c);

/* url with its password (URI user:password@ or password=...) replaced by
 * "***", into buf. */
const char *flt_redact_url(const char *url, char *buf, size_t cap);

typedef struct flt_push_opts {
    const char *driver_build; /* NULL: unknown */
    unsigned stall_ms;        /* test hook: sleep before COMMIT */
} flt_push_opts;

typedef struct flt_push_result {
    int64_t id;    /* the trace's id in the fleet */
    bool existed;  /* it was already there: nothing written */
    char hash[65]; /* SHA-256 of the canonical .dmat, hex */
    uint64_t records, transfers, sg_elements, reg_writes, findings, divergences;
} flt_push_result;

/* Push one trace (.dmat: imported into a temporary store first) or store
 * (.db, read through dmt/store_query.h) in one transaction.  tmpdir: where
 * temporary files go. */
int flt_push(flt_conn *c, const char *path, const char *tmpdir, const flt_push_opts *o,
             flt_push_result *res, dmt_error *err);

/* A named fleet query.  Rows come to fn as text (NULL for SQL NULL); the
 * first call carries the column names (is_header).  Returns rows delivered. */
typedef int (*flt_row_fn)(void *ctx, bool is_header, int ncols, const char *const *vals);
int flt_query(flt_conn *c, const char *name, int argc, char *const *argv, flt_row_fn fn, void *ctx,
              dmt_error *err);
/* The names of the queries, NULL-terminated, and a one-line description. */
const char *const *flt_query_names(void);
const char *flt_query_doc(const char *name);

/* Rebuild trace `id` (its numeric id or a hash prefix of 8+ hex digits) as
 * a local store at out_db, with the audit's findings: the same database
 * `dmatrace import` + `dmatrace audit` make from the trace.  All or nothing:
 * built under a temporary name next to out_db and renamed. */
/* io (may be NULL): the import's options, e.g. the register map that fills
 * reg_names / reg_fields, as `dmatrace import` passes it. */
struct dmt_store_import_opts;
int flt_pull(flt_conn *c, const char *id, const char *out_db,
             const struct dmt_store_import_opts *io, dmt_error *err);

/* The embedded schema/fleet.sql text. */
const char *flt_schema_sql(void);

/* SHA-256 of a file (hex, 64 chars + NUL). */
int flt_sha256_file(const char *path, char hex[65], dmt_error *err);

#endif

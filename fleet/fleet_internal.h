/*
 * fleet_internal.h - what the fleet library's files share: the connection
 * struct and the libpq helpers (error lines without passwords, COPY).
 */
#ifndef FLT_FLEET_INTERNAL_H
#define FLT_FLEET_INTERNAL_H

#include <libpq-fe.h>

#include "dmt/audit.h"
#include "dmt/error.h"
#include "flt/fleet.h"

struct flt_conn {
    PGconn *pg;
    int server_major;
};

/* err := code, "what: <server message on one line>". */
int flt_pg_error(dmt_error *err, int code, PGconn *pg, const char *what);
/* Run sql (no parameters); 0 or DMT_E_IO. */
int flt_exec(flt_conn *c, const char *sql, dmt_error *err);

/* A COPY ... FROM STDIN (text format) in progress: rows are built in buf
 * and sent in pieces of about 256 KiB. */
typedef struct flt_copy {
    flt_conn *c;
    char *buf;
    size_t len, cap;
    int failed;  /* 1: out of memory or a send failed */
    bool in_row; /* a column of the current row was added */
} flt_copy;

int flt_copy_begin(flt_copy *cp, flt_conn *c, const char *sql, dmt_error *err);
void flt_copy_null(flt_copy *cp);
void flt_copy_i64(flt_copy *cp, int64_t v);
void flt_copy_bool(flt_copy *cp, bool v);
void flt_copy_text(flt_copy *cp, const char *s); /* NULL: SQL NULL */
void flt_copy_bytea(flt_copy *cp, const uint8_t *p, size_t n);
void flt_copy_end_row(flt_copy *cp); /* after the row's last column */
int flt_copy_finish(flt_copy *cp, dmt_error *err);
void flt_copy_abort(flt_copy *cp);

/* Findings an audit delivers, kept in order (at most 16 M: overflow set
 * beyond); an audit sink (cfg.user = the struct).  The caller frees f. */
typedef struct flt_findings {
    dmt_finding *f;
    size_t n, cap;
    bool overflow;
} flt_findings;
void flt_keep_finding(void *user, const dmt_finding *f);

#endif

/*
 * fleet_pg.c - the fleet library's PostgreSQL side: connect (server version,
 * schema creation and version check), one-line errors without passwords,
 * COPY ... FROM STDIN in text format, and the embedded schema/fleet.sql.
 *
 * Invariant: the schema is created in one transaction under an advisory
 * lock, so concurrent first pushes neither fail nor create it twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_internal.h"

#ifndef FLT_SCHEMA_DIR
#error "FLT_SCHEMA_DIR must name the schema folder"
#endif
__asm__(".section .rodata\n"
        ".balign 16\n"
        "flt_schema_text_:\n"
        ".incbin \"" FLT_SCHEMA_DIR "/fleet.sql\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char flt_schema_text_[];

/* An arbitrary constant: the advisory lock key of schema creation. */
#define FLT_SCHEMA_LOCK 0x444d5446 /* "DMTF" */

const char *flt_schema_sql(void)
{
    return flt_schema_text_;
}

int flt_pg_error(dmt_error *err, int code, PGconn *pg, const char *what)
{
    char line[200];
    const char *m = pg ? PQerrorMessage(pg) : "";
    size_t j = 0;
    for (size_t i = 0; m[i] && j + 1 < sizeof line; i++) {
        char ch = m[i] == '\n' || m[i] == '\r' || m[i] == '\t' ? ' ' : m[i];
        if (ch == ' ' && (j == 0 || line[j - 1] == ' '))
            continue;
        line[j++] = ch;
    }
    while (j && line[j - 1] == ' ')
        j--;
    line[j] = 0;
    return dmt_error_set(err, code, DMT_NO_INDEX, DMT_NO_INDEX, "%s%s%s", what, j ? ": " : "",
                         line);
}

int flt_exec(flt_conn *c, const char *sql, dmt_error *err)
{
    PGresult *r = PQexec(c->pg, sql);
    int st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return flt_pg_error(err, DMT_E_IO, c->pg, "server");
    return 0;
}

const char *flt_redact_url(const char *url, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", url);
    /* URI form: scheme://user:password@host... */
    char *sch = strstr(buf, "://");
    if (sch) {
        char *at = strchr(sch + 3, '@');
        char *colon = strchr(sch + 3, ':');
        if (at && colon && colon < at) {
            size_t rest = strlen(at) + 1;
            if ((size_t)(colon + 1 - buf) + 3 + rest <= cap) {
                memmove(colon + 4, at, rest);
                memcpy(colon + 1, "***", 3);
            }
        }
    }
    /* password=... in key=value strings and URI query parameters */
    for (char *p = buf; (p = strstr(p, "password=")) != NULL;) {
        p += 9;
        char *e = p + strcspn(p, " &");
        size_t rest = strlen(e) + 1;
        if ((size_t)(p - buf) + 3 + rest <= cap) {
            memmove(p + 3, e, rest);
            memcpy(p, "***", 3);
        }
        p += 3;
    }
    return buf;
}

static int check_schema(flt_conn *c, bool create, dmt_error *err)
{
    PGresult *r = PQexec(c->pg, "SELECT to_regclass('fleet_meta') IS NOT NULL");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return flt_pg_error(err, DMT_E_IO, c->pg, "server");
    }
    bool have = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!have) {
        if (!create)
            return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "the database holds no fleet schema (push a trace first)");
        if (flt_exec(c, "BEGIN", err) != 0)
            return err->code;
        char lock[96];
        snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%d)", FLT_SCHEMA_LOCK);
        if (flt_exec(c, lock, err) != 0 ||
            (r = PQexec(c->pg, "SELECT to_regclass('fleet_meta') IS NOT NULL"),
             PQresultStatus(r) != PGRES_TUPLES_OK)) {
            flt_exec(c, "ROLLBACK", NULL);
            return err->code ? err->code : flt_pg_error(err, DMT_E_IO, c->pg, "server");
        }
        have = PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        if (!have && flt_exec(c, flt_schema_sql(), err) != 0) {
            flt_exec(c, "ROLLBACK", NULL);
            return err->code;
        }
        if (flt_exec(c, "COMMIT", err) != 0)
            return err->code;
    }
    r = PQexec(c->pg, "SELECT value FROM fleet_meta WHERE key = 'schema_version'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return flt_pg_error(err, DMT_E_IO, c->pg, "server");
    }
    long v = PQntuples(r) == 1 ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    if (v != FLT_SCHEMA_VERSION)
        return dmt_error_set(
            err, DMT_E_VERSION, DMT_NO_INDEX, DMT_NO_INDEX,
            "fleet schema version %ld, this dmatrace reads version %d%s", v, FLT_SCHEMA_VERSION,
            v < FLT_SCHEMA_VERSION ? " and has no migration from it" : ": use a newer dmatrace");
    return 0;
}

/* libpq prints notices and warnings to stderr by default; a library never
 * prints. */
static void no_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int flt_connect(const char *url, bool create_schema, flt_conn **out, dmt_error *err)
{
    *out = NULL;
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (!opts) {
        char m[160];
        snprintf(m, sizeof m, "%s", perr ? perr : "out of memory");
        m[strcspn(m, "\n")] = 0;
        PQfreemem(perr);
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX, "bad URL: %s", m);
    }
    PQconninfoFree(opts);
    flt_conn *c = calloc(1, sizeof *c);
    if (!c)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    c->pg = PQconnectdb(url);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        int rc = flt_pg_error(err, DMT_E_IO, c->pg, "cannot connect");
        flt_close(c);
        return rc;
    }
    PQsetNoticeProcessor(c->pg, no_notice, NULL);
    int v = PQserverVersion(c->pg);
    c->server_major = v / 10000;
    if (c->server_major < FLT_MIN_SERVER_MAJOR) {
        flt_close(c);
        return dmt_error_set(err, DMT_E_VERSION, DMT_NO_INDEX, DMT_NO_INDEX,
                             "server is PostgreSQL %d, the fleet store needs %d or later",
                             v / 10000, FLT_MIN_SERVER_MAJOR);
    }
    PGresult *r = PQexec(c->pg, "SET client_min_messages = warning");
    PQclear(r);
    int rc = check_schema(c, create_schema, err);
    if (rc != 0) {
        flt_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void flt_close(flt_conn *c)
{
    if (!c)
        return;
    if (c->pg)
        PQfinish(c->pg);
    free(c);
}

/* ---- COPY ------------------------------------------------------------------ */

#define COPY_FLUSH (256u << 10)

static void put(flt_copy *cp, const char *s, size_t n)
{
    if (cp->failed)
        return;
    if (cp->len + n > cp->cap) {
        size_t cap = cp->cap ? cp->cap : COPY_FLUSH * 2;
        while (cap < cp->len + n)
            cap *= 2;
        char *b = realloc(cp->buf, cap);
        if (!b) {
            cp->failed = 1;
            return;
        }
        cp->buf = b;
        cp->cap = cap;
    }
    memcpy(cp->buf + cp->len, s, n);
    cp->len += n;
}

/* Every column but a row's first is preceded by a tab. */
static void sep(flt_copy *cp)
{
    if (cp->in_row)
        put(cp, "\t", 1);
    cp->in_row = true;
}

int flt_copy_begin(flt_copy *cp, flt_conn *c, const char *sql, dmt_error *err)
{
    memset(cp, 0, sizeof *cp);
    cp->c = c;
    PGresult *r = PQexec(c->pg, sql);
    int st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_COPY_IN)
        return flt_pg_error(err, DMT_E_IO, c->pg, "server");
    return 0;
}

void flt_copy_null(flt_copy *cp)
{
    sep(cp);
    put(cp, "\\N", 2);
}

void flt_copy_i64(flt_copy *cp, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%lld", (long long)v);
    sep(cp);
    put(cp, b, (size_t)n);
}

void flt_copy_bool(flt_copy *cp, bool v)
{
    sep(cp);
    put(cp, v ? "t" : "f", 1);
}

void flt_copy_text(flt_copy *cp, const char *s)
{
    if (!s) {
        flt_copy_null(cp);
        return;
    }
    sep(cp);
    for (; *s; s++) {
        char e[2] = {'\\', 0};
        switch (*s) {
        case '\\':
            e[1] = '\\';
            break;
        case '\n':
            e[1] = 'n';
            break;
        case '\r':
            e[1] = 'r';
            break;
        case '\t':
            e[1] = 't';
            break;
        default:
            put(cp, s, 1);
            continue;
        }
        put(cp, e, 2);
    }
}

void flt_copy_bytea(flt_copy *cp, const uint8_t *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    sep(cp);
    put(cp, "\\\\x", 3);
    char b[512];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        b[k++] = hx[p[i] >> 4];
        b[k++] = hx[p[i] & 15];
        if (k == sizeof b) {
            put(cp, b, k);
            k = 0;
        }
    }
    put(cp, b, k);
}

void flt_copy_end_row(flt_copy *cp)
{
    put(cp, "\n", 1);
    cp->in_row = false;
    if (!cp->failed && cp->len >= COPY_FLUSH) {
        if (PQputCopyData(cp->c->pg, cp->buf, (int)cp->len) != 1)
            cp->failed = 1;
        cp->len = 0;
    }
}

int flt_copy_finish(flt_copy *cp, dmt_error *err)
{
    int bad = cp->failed;
    if (!bad && cp->len && PQputCopyData(cp->c->pg, cp->buf, (int)cp->len) != 1)
        bad = 1;
    free(cp->buf);
    cp->buf = NULL;
    if (PQputCopyEnd(cp->c->pg, bad ? "client failed" : NULL) != 1)
        bad = 1;
    PGresult *r;
    int st = PGRES_COMMAND_OK;
    while ((r = PQgetResult(cp->c->pg)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            st = PQresultStatus(r);
        PQclear(r);
    }
    if (bad || st != PGRES_COMMAND_OK)
        return flt_pg_error(err, DMT_E_IO, cp->c->pg, "copy");
    return 0;
}

void flt_copy_abort(flt_copy *cp)
{
    cp->failed = 1;
    flt_copy_finish(cp, NULL);
}

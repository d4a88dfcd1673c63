/*
 * cmd_fleet.c - `dmatrace push`, `dmatrace fleet` and `dmatrace pull`: the
 * fleet store in PostgreSQL (libdmt_fleet, schema/fleet.sql).  The URL's
 * password is blanked in the process's arguments as soon as they are read
 * and never printed (URLs are shown with it as "***").
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_regmap.h"
#include "dmt/store.h"
#include "flt/fleet.h"

/* Overwrite the password in argv[i] in place (what ps shows), keeping a
 * private copy for libpq.  Returns the copy (owned by the caller). */
static char *take_url(char *arg)
{
    char *url = strdup(arg);
    if (!url)
        return NULL;
    char shown[4096];
    flt_redact_url(arg, shown, sizeof shown);
    size_t n = strlen(arg), m = strlen(shown);
    memset(arg, 0, n);
    memcpy(arg, shown, m < n ? m : n);
    return url;
}

/* Take the URL out of argv (take_url) and connect: 0 and *c, or the exit
 * status after a one-line error. */
static int open_fleet(const char *cmd, char *arg, bool create, flt_conn **c)
{
    char *url = take_url(arg);
    if (!url)
        return cli_fail(cmd, CLI_FAIL, "out of memory");
    dmt_error err;
    dmt_error_clear(&err);
    int st = 0;
    if (flt_connect(url, create, c, &err) != 0) {
        char shown[512];
        st = cli_report(cmd, flt_redact_url(url, shown, sizeof shown), &err);
    }
    free(url);
    return st;
}

int cmd_push(int argc, char **argv)
{
    static const struct option longopts[] = {{"build", required_argument, NULL, 'b'},
                                             {"tmpdir", required_argument, NULL, 't'},
                                             {"test-stall-ms", required_argument, NULL, 's'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    flt_push_opts o = {0};
    const char *tmpdir = getenv("TMPDIR");
    uint64_t v;
    int ch;
    while ((ch = getopt_long(argc, argv, "b:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'b':
            o.driver_build = optarg;
            break;
        case 't':
            tmpdir = optarg;
            break;
        case 's':
            if (!cli_parse_u64(optarg, &v) || v > 600000)
                return cli_usage("push", "bad --test-stall-ms '%s'", optarg);
            o.stall_ms = (unsigned)v;
            break;
        case 'h':
            printf("usage: dmatrace push [--build NAME] [--tmpdir DIR] POSTGRES-URL "
                   "TRACE.dmat|STORE.db...\n\n"
                   "Load traces into a PostgreSQL fleet store (schema/fleet.sql, created when\n"
                   "missing): header facts, transfers, SG lists, register writes (named by the\n"
                   "device model's map), audit findings and the replay's verdict, one\n"
                   "transaction per trace.  A trace already there (same SHA-256 of its\n"
                   "canonical form) is skipped; an interrupted push leaves nothing and can\n"
                   "simply be run again.  --build names the driver build the traces ran.\n"
                   "The password may be in the URL, PGPASSWORD or PGPASSFILE.\n");
            return 0;
        default:
            return cli_usage("push", "unknown option");
        }
    }
    if (argc - optind < 2)
        return cli_usage("push", "need a POSTGRES-URL and at least one trace");
    flt_conn *c;
    int st = open_fleet("push", argv[optind], true, &c);
    if (st != 0)
        return st;
    for (int i = optind + 1; i < argc && st == 0; i++) {
        flt_push_result r;
        dmt_error err;
        dmt_error_clear(&err);
        if (flt_push(c, argv[i], tmpdir, &o, &r, &err) != 0) {
            st = cli_report("push", argv[i], &err);
            break;
        }
        if (r.existed)
            printf("%s: already in the fleet as trace %" PRId64 " (sha256 %.16s)\n", argv[i], r.id,
                   r.hash);
        else
            printf("%s: trace %" PRId64 " (sha256 %.16s): %" PRIu64 " records, %" PRIu64
                   " transfers, %" PRIu64 " register writes, %" PRIu64 " findings, %" PRIu64
                   " replay divergences\n",
                   argv[i], r.id, r.hash, r.records, r.transfers, r.reg_writes, r.findings,
                   r.divergences);
    }
    flt_close(c);
    return st;
}

typedef struct printer {
    bool csv;
    char ***rows; /* table mode: rows kept to size the columns */
    size_t n, cap;
    int ncols;
} printer;

static void csv_field(const char *s)
{
    if (!s)
        return;
    if (strpbrk(s, ",\"\n\r")) {
        putchar('"');
        for (; *s; s++) {
            if (*s == '"')
                putchar('"');
            putchar(*s);
        }
        putchar('"');
    } else {
        fputs(s, stdout);
    }
}

static int on_row(void *ctx, bool is_header, int ncols, const char *const *vals)
{
    (void)is_header;
    printer *p = ctx;
    if (p->csv) {
        for (int j = 0; j < ncols; j++) {
            if (j)
                putchar(',');
            csv_field(vals[j]);
        }
        putchar('\n');
        return 0;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        char ***r = realloc(p->rows, cap * sizeof *r);
        if (!r)
            return 1;
        p->rows = r;
        p->cap = cap;
    }
    char **row = calloc((size_t)ncols, sizeof *row);
    if (!row)
        return 1;
    for (int j = 0; j < ncols; j++)
        row[j] = strdup(vals[j] ? vals[j] : "");
    p->rows[p->n++] = row;
    p->ncols = ncols;
    return 0;
}

static void print_table(printer *p)
{
    size_t w[64] = {0};
    int nc = p->ncols < 64 ? p->ncols : 64;
    for (size_t i = 0; i < p->n; i++)
        for (int j = 0; j < nc; j++)
            if (p->rows[i][j] && strlen(p->rows[i][j]) > w[j])
                w[j] = strlen(p->rows[i][j]);
    for (size_t i = 0; i < p->n; i++) {
        for (int j = 0; j < nc; j++)
            printf("%s%-*s", j ? "  " : "", j + 1 < nc ? (int)w[j] : 0,
                   p->rows[i][j] ? p->rows[i][j] : "");
        putchar('\n');
    }
    for (size_t i = 0; i < p->n; i++) {
        for (int j = 0; j < p->ncols; j++)
            free(p->rows[i][j]);
        free(p->rows[i]);
    }
    free(p->rows);
}

int cmd_fleet(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"csv", no_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    printer p = {0};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            p.csv = true;
            break;
        case 'h':
            printf("usage: dmatrace fleet [--csv] POSTGRES-URL QUERY [ARG]\n\n"
                   "Run a named fleet query (schema/fleet-queries.md) and print a table:\n\n");
            for (const char *const *n = flt_query_names(); *n; n++)
                printf("  %-20s %s\n", *n, flt_query_doc(*n));
            return 0;
        default:
            return cli_usage("fleet", "unknown option");
        }
    }
    if (argc - optind < 2)
        return cli_usage("fleet", "need a POSTGRES-URL and a query name");
    if (!flt_query_doc(argv[optind + 1]))
        return cli_usage("fleet", "no fleet query named '%s'", argv[optind + 1]);
    flt_conn *c;
    int st = open_fleet("fleet", argv[optind], false, &c);
    if (st != 0)
        return st;
    dmt_error err;
    dmt_error_clear(&err);
    if (flt_query(c, argv[optind + 1], argc - optind - 2, argv + optind + 2, on_row, &p, &err) < 0)
        st = cli_report("fleet", argv[optind + 1], &err);
    if (!p.csv)
        print_table(&p);
    flt_close(c);
    return st;
}

int cmd_pull(int argc, char **argv)
{
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            out = optarg;
            break;
        case 'h':
            printf("usage: dmatrace pull POSTGRES-URL ID -o STORE.db\n\n"
                   "Rebuild a trace of the fleet (its id, or 8+ hex digits of its hash) as a\n"
                   "local store with its audit findings, for the viewer; all or nothing.\n");
            return 0;
        default:
            return cli_usage("pull", "unknown option");
        }
    }
    if (argc - optind != 2 || !out)
        return cli_usage("pull", "need a POSTGRES-URL, a trace ID and -o STORE.db");
    flt_conn *c;
    int st = open_fleet("pull", argv[optind], false, &c);
    if (st != 0)
        return st;
    /* the default register map, as `dmatrace import` uses it */
    cli_regmap rm = {0};
    if ((st = cli_regmap_load("pull", &rm)) != CLI_OK) {
        flt_close(c);
        return st;
    }
    dmt_store_import_opts io = {.regmap = rm.map, .regmap_domain = rm.dom, .regmap_name = rm.path};
    dmt_error err;
    dmt_error_clear(&err);
    if (flt_pull(c, argv[optind + 1], out, &io, &err) != 0)
        st = cli_report("pull", out, &err);
    cli_regmap_free(&rm);
    flt_close(c);
    return st;
}

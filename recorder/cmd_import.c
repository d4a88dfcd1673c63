/*
 * cmd_import.c - `dmatrace import FILE.dmat [-o FILE.db]`: load a trace into
 * a new SQLite store (schema/store.sql), all or nothing.  The database is
 * built under a temporary name and renamed when complete; a failure or an
 * interrupt (SIGINT, SIGTERM) leaves no output and never touches an existing
 * FILE.db.  A trace cut by a crash is imported up to its last whole record,
 * with a warning.  Progress on stderr when it is a terminal.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_regmap.h"
#include "dmt/store.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct bar {
    bool on;
    int last_pct;
    int last_phase;
} bar;

static int progress(void *ctx, const dmt_store_progress *p)
{
    bar *b = ctx;
    if (b->on) {
        if (p->phase == DMT_STORE_PHASE_LOAD) {
            int pct = p->bytes_total ? (int)(p->bytes_done * 100 / p->bytes_total) : 0;
            if (pct != b->last_pct || b->last_phase != p->phase) {
                fprintf(stderr, "\rimporting: %3d%%  %" PRIu64 " records", pct, p->records);
                b->last_pct = pct;
            }
        } else if (p->phase != b->last_phase) {
            static const char *const what[] = {"", "", "summaries and derived tables", "indexes",
                                               "writing"};
            fprintf(stderr, "\rimporting: %" PRIu64 " records; %s...%20s", p->records,
                    p->phase >= 0 && p->phase <= 4 ? what[p->phase] : "", "");
        }
        b->last_phase = p->phase;
    }
    return interrupted;
}

static void help(void)
{
    printf("usage: dmatrace import FILE.dmat [-o FILE.db] [--events-in-trace]\n\n"
           "Load a trace into a new SQLite database (schema: schema/store.sql) for the\n"
           "viewer, ad-hoc SQL and the audit.  All or nothing: the database is written\n"
           "under a temporary name and renamed when complete, so a failed or\n"
           "interrupted import leaves no output and an existing FILE.db untouched (a\n"
           "successful one replaces it).  A trace cut by a crash is imported up to its\n"
           "last whole record, with a warning.\n\n"
           "  -o, --output FILE.db   the database (default: FILE with .dmat replaced by .db)\n"
           "  -q, --quiet            no summary line\n"
           "      --events-in-trace  trace-backed: leave the raw event records (registers,\n"
           "                         DMA calls and their SG lists, descriptors,\n"
           "                         interrupts, DPCs, payloads) in FILE.dmat instead\n"
           "                         of writing a row for each; the store is smaller\n"
           "                         and faster to make, every dmatrace command and the\n"
           "                         viewer read it as before, but it needs FILE.dmat\n"
           "                         unchanged, where it was or beside the store, and\n"
           "                         SQL over those tables finds them empty\n" CLI_REGMAP_HELP
           "The map fills the tables reg_names and reg_fields (schema/store.sql).\n\n"
           "Exit status: 0 imported, 2 bad usage or bad trace, 3 I/O failure or\n"
           "interrupted.\n");
}

int cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"events-in-trace", no_argument, 0, 'E'},
                                         {"help", no_argument, 0, 'h'},
                                         CLI_REGMAP_OPTIONS,
                                         {0, 0, 0, 0}};
    cli_regmap rm = {0};
    const char *out = NULL;
    bool quiet = false, in_trace = false;
    int c, st;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'E':
            in_trace = true;
            break;
        default:
            if ((st = cli_regmap_opt_tail("import", &rm, c, optarg, help)) != CLI_OPT_TAKEN)
                return st;
        }
    }
    if (optind != argc - 1)
        return cli_usage("import", "expected one FILE.dmat");
    st = cli_regmap_load("import", &rm);
    if (st != CLI_OK)
        return st;
    const char *in = argv[optind];
    char *def = NULL;
    if (!out) {
        size_t n = strlen(in);
        def = malloc(n + 4);
        if (!def) {
            cli_regmap_free(&rm);
            return cli_fail("import", CLI_FAIL, "out of memory");
        }
        memcpy(def, in, n + 1);
        if (cli_has_suffix(def, ".dmat"))
            strcpy(def + n - 5, ".db");
        else
            strcat(def, ".db");
        out = def;
    }
    if (!strcmp(in, out)) {
        free(def);
        cli_regmap_free(&rm);
        return cli_usage("import", "the output would replace the trace itself");
    }

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    /* catch SIGINT/SIGTERM unless they are ignored (nohup, background jobs) */
    sigaction(SIGINT, NULL, &old_int);
    sigaction(SIGTERM, NULL, &old_term);
    if (old_int.sa_handler != SIG_IGN)
        sigaction(SIGINT, &sa, NULL);
    if (old_term.sa_handler != SIG_IGN)
        sigaction(SIGTERM, &sa, NULL);

    bar b = {cli_progress_enabled(), -1, 0};
    dmt_store_import_opts o = {.progress = progress,
                               .ctx = &b,
                               .allow_cut = true,
                               .regmap = rm.map,
                               .regmap_domain = rm.dom,
                               .regmap_name = rm.path,
                               .events_in_trace = in_trace};
    dmt_store_import_result res;
    dmt_error err;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = dmt_store_import(in, out, &o, &res, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (b.on)
        fprintf(stderr, "\r%70s\r", "");
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);

    int status = CLI_OK;
    if (rc && interrupted) {
        status = cli_fail("import", CLI_FAIL, "interrupted; %s was not written", out);
    } else if (rc) {
        status = cli_report("import", res.output_error ? out : in, &err);
    } else {
        if (res.cut)
            fprintf(stderr,
                    "dmatrace import: warning: %s: cut at byte %" PRIu64
                    " (%s); imported the %" PRIu64 " whole records before it\n",
                    in, res.cut_offset, res.cut_why, res.records);
        if (!quiet) {
            char tb[32];
            double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
            printf("%s: %" PRIu64 " records, %" PRIu64 " transfers, %" PRIu64
                   " SG elements, %.1f MB, %s\n",
                   out, res.records, res.transfers, res.sg_elements, (double)res.db_bytes / 1e6,
                   cli_ns(tb, sizeof tb, (int64_t)(s * 1e9)));
        }
    }
    free(def);
    cli_regmap_free(&rm);
    return status;
}

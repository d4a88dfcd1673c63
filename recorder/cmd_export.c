/*
 * cmd_export.c - `dmatrace export FILE --format chrome|csv -o OUT`: the
 * Chrome/Perfetto Trace Event Format JSON (opens in Perfetto UI), or one CSV
 * per store table (loads into the sqlite3 shell or PostgreSQL).  The work is
 * dmt_export_* (core/export/export.c); layouts in docs/audit-rules.md.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "cli_regmap.h"
#include "dmt/audit.h"
#include "dmt/export.h"

static void help(void)
{
    printf("usage: dmatrace export FILE --format chrome -o OUT.json [OPTIONS]\n"
           "       dmatrace export FILE --format csv -o DIR [OPTIONS]\n\n"
           "Export a trace (.dmat) or its database (.db) for other tools.\n\n"
           "  --format chrome   Trace Event Format JSON for Perfetto UI (ui.perfetto.dev)\n"
           "                    or chrome://tracing: one track per adapter with each\n"
           "                    transfer as a complete event (SG list in its args), a\n"
           "                    counter track per register written, interrupts, DPCs,\n"
           "                    markers, lost ranges and audit findings as instant events\n"
           "  --format csv      one CSV per database table in DIR (header row first), and\n"
           "                    DIR/load.sqlite (sqlite3 NEW.db < load.sqlite) and\n"
           "                    DIR/load.psql (psql -f load.psql) to load them\n"
           "  -o, --output OUT  the JSON file, or the CSV directory (created if missing)\n"
           "  --no-findings     do not run the audit (no findings events / rows)\n"
           "  --rules LIST      audit rules to run (as in dmatrace audit)\n"
           "  --end-is-unload   audit option (as in dmatrace audit)\n" CLI_REGMAP_HELP
           "With a map, register counters are named by register and carry every field\n"
           "by name; CSV of a trace adds reg_names.csv and reg_fields.csv.\n");
}

/* Errors about the output name it already; others are about the input. */
static int report(const char *in, const char *out, const dmt_error *err)
{
    if (strncmp(err->msg, out, strlen(out)) == 0)
        return cli_fail("export", dmt_error_exit_status(err->code), "%s", err->msg);
    return cli_report("export", in, err);
}

static int run(const char *in, const char *out, const char *format, const dmt_export_opts *eo);

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                         {"output", required_argument, 0, 'o'},
                                         {"no-findings", no_argument, 0, 'n'},
                                         {"rules", required_argument, 0, 'r'},
                                         {"end-is-unload", no_argument, 0, 'u'},
                                         {"help", no_argument, 0, 'h'},
                                         CLI_REGMAP_OPTIONS,
                                         {0, 0, 0, 0}};
    cli_regmap rm = {0};
    const char *format = NULL, *out = NULL;
    dmt_export_opts eo;
    dmt_error err;
    memset(&eo, 0, sizeof eo);
    int c, st;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:o:nr:uh", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            format = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'n':
            eo.no_findings = true;
            break;
        case 'r':
            if (dmt_audit_parse_rules(optarg, &eo.rules, &err) != 0)
                return cli_usage("export", "--rules: %s", err.msg);
            if (!eo.rules)
                return cli_usage("export", "--rules '%s' leaves no rule enabled", optarg);
            break;
        case 'u':
            eo.end_is_unload = true;
            break;
        default:
            if ((st = cli_regmap_opt_tail("export", &rm, c, optarg, help)) != CLI_OPT_TAKEN)
                return st;
        }
    }
    if (optind != argc - 1)
        return cli_usage("export", "expected one FILE");
    if (!format)
        return cli_usage("export", "--format chrome or --format csv is required");
    if (!out)
        return cli_usage("export", "-o OUT is required");
    const char *in = argv[optind];
    st = cli_regmap_load("export", &rm);
    if (st != CLI_OK)
        return st;
    eo.regmap = rm.map;
    eo.regmap_domain = rm.dom;
    eo.regmap_name = rm.path;
    st = run(in, out, format, &eo);
    cli_regmap_free(&rm);
    return st;
}

static int run(const char *in, const char *out, const char *format, const dmt_export_opts *eo)
{
    dmt_export_stats st;
    dmt_error err;
    int rc;
    if (!strcmp(format, "chrome") || !strcmp(format, "perfetto") || !strcmp(format, "json")) {
        rc = dmt_export_chrome(in, out, eo, &st, &err);
        if (rc)
            return report(in, out, &err);
        printf("%s: %" PRIu64 " events on %u tracks: %" PRIu64 " transfers, %" PRIu64
               " register writes, %" PRIu64 " interrupts, %" PRIu64 " DPCs, %" PRIu64
               " markers, %" PRIu64 " lost ranges, %" PRIu64 " findings\n",
               out, st.events, st.tracks, st.transfers, st.counters, st.interrupts, st.dpcs,
               st.markers, st.lost, st.findings);
    } else if (!strcmp(format, "csv")) {
        rc = dmt_export_csv(in, out, eo, &st, &err);
        if (rc)
            return report(in, out, &err);
        printf("%s: %u tables, %" PRIu64 " rows (load: cd %s && sqlite3 NEW.db < load.sqlite)\n",
               out, st.tables, st.events, out);
    } else {
        return cli_usage("export", "--format is chrome or csv, not '%s'", format);
    }
    return CLI_OK;
}

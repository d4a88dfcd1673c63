/*
 * cmd_audit.c - `dmatrace audit FILE [--json] [--rules LIST] [--end-is-unload]
 * [--all] [--cpu-order-us N] [--list-rules]`: DMA misuse and layout findings
 * of a trace (.dmat) or of the database imported from it (.db, where the
 * findings are also written to its `findings` table).  Exit 0 clean, 1 findings, 2 bad usage or
 * input, 3 I/O.  The rules are docs/audit-rules.md; the JSON output is
 * documented there too (format "dmatrace-audit", version 1).  With --follow
 * the trace may still be growing: findings print as they are found (the
 * engine is fed record by record from verified chunks), then the summary.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dmt/audit.h"
#include "dmt/json.h"
#include "dmt/sniff.h"
#include "follow_common.h"

#define KEEP_MAX      100000u /* findings kept for printing (counts stay exact) */
#define TEXT_PER_RULE 10u

typedef struct collected {
    dmt_finding *f;
    uint32_t n, cap;
    uint64_t dropped;
} collected;

static void collect(void *user, const dmt_finding *f)
{
    collected *c = user;
    if (c->n == c->cap) {
        if (c->cap >= KEEP_MAX) {
            c->dropped++;
            return;
        }
        uint32_t ncap = c->cap ? c->cap * 2 : 256;
        if (ncap > KEEP_MAX)
            ncap = KEEP_MAX;
        dmt_finding *nf = realloc(c->f, sizeof *nf * ncap);
        if (!nf) {
            c->dropped++;
            return;
        }
        c->f = nf;
        c->cap = ncap;
    }
    c->f[c->n++] = *f;
}

static void json_id(const char *key, uint32_t v)
{
    if (v)
        printf(",\"%s\":%u", key, v);
    else
        printf(",\"%s\":null", key);
}

/* Rule r's id, severity, dv and summary as an open JSON object (the caller
 * closes it), after a comma unless it is the first. */
static void print_rule_json(int r, const dmt_audit_rule_info *ri)
{
    printf("%s{\"id\":\"%s\",\"severity\":\"%s\",\"dv\":", r ? "," : "", ri->id,
           dmt_audit_severity_name(ri->severity));
    dmt_json_puts(stdout, ri->dv, 0);
    printf(",\"summary\":");
    dmt_json_puts(stdout, ri->summary, 0);
}

static void print_json(const char *file, bool is_db, const dmt_audit_config *cfg,
                       const dmt_audit_stats *st, const collected *c, bool cut)
{
    const dmt_audit_rule_info *ri = dmt_audit_rules();
    uint64_t sev[3] = {0, 0, 0};
    uint64_t unc[DMT_R_COUNT_];
    memset(unc, 0, sizeof unc);
    for (uint32_t i = 0; i < c->n; i++)
        if (c->f[i].uncertain)
            unc[c->f[i].rule]++;
    for (int r = 0; r < DMT_R_COUNT_; r++)
        sev[ri[r].severity] += st->by_rule[r];
    printf("{\"format\":\"dmatrace-audit\",\"version\":1,\"file\":");
    dmt_json_puts(stdout, file, 0);
    printf(",\"type\":\"%s\",\"records\":%" PRIu64 ",\"transfers\":%" PRIu64
           ",\"executed\":%" PRIu64 ",\"device_starts\":%" PRIu64 ",\"programs_checked\":%" PRIu64
           ",\"programs_unverified\":%" PRIu64,
           is_db ? "db" : "trace", st->records, st->transfers, st->executed, st->doorbells,
           st->programs_checked, st->programs_unverified);
    printf(",\"lost\":{\"records\":%" PRIu64 ",\"ranges\":%" PRIu64 "},\"cut\":%s",
           st->lost_records, st->lost_ranges, cut ? "true" : "false");
    printf(",\"end_is_unload\":%s,\"evicted\":%" PRIu64 ",\"checks_truncated\":%" PRIu64,
           cfg->end_is_unload ? "true" : "false", st->evicted, st->checks_truncated);
    printf(",\"clean\":%s,\"findings_total\":%" PRIu64 ",\"uncertain_total\":%" PRIu64,
           st->findings ? "false" : "true", st->findings, st->uncertain);
    printf(",\"by_severity\":{\"error\":%" PRIu64 ",\"warning\":%" PRIu64 ",\"info\":%" PRIu64 "}",
           sev[DMT_SEV_ERROR], sev[DMT_SEV_WARNING], sev[DMT_SEV_INFO]);
    printf(",\"held_at_end\":{\"adapters\":%u,\"common_buffers\":%u,\"mdls\":%u,\"sglists\":%u}",
           st->held_adapters, st->held_cbs, st->held_mdls, st->held_sglists);
    printf(",\"rules\":[");
    for (int r = 0; r < DMT_R_COUNT_; r++) {
        print_rule_json(r, &ri[r]);
        printf(",\"enabled\":%s,\"count\":%" PRIu64 ",\"uncertain\":%" PRIu64 "}",
               (cfg->rules >> r) & 1 ? "true" : "false", st->by_rule[r], unc[r]);
    }
    printf("],\"findings\":[");
    for (uint32_t i = 0; i < c->n; i++) {
        const dmt_finding *f = &c->f[i];
        printf("%s{\"rule\":\"%s\",\"severity\":\"%s\",\"dv\":", i ? "," : "", ri[f->rule].id,
               dmt_audit_severity_name(f->severity));
        dmt_json_puts(stdout, ri[f->rule].dv, 0);
        printf(",\"uncertain\":%s,\"uncertain_why\":", f->uncertain ? "true" : "false");
        if (f->uncertain)
            dmt_json_puts(stdout, f->uncertain_why, 0);
        else
            printf("null");
        printf(",\"index\":%" PRIu64 ",\"seq\":%" PRIu64 ",\"ts\":%" PRId64
               ",\"t_rel_ns\":%" PRId64,
               f->index, f->seq, f->ts, f->ts - st->first_ts);
        if (f->cpu != DMT_CPU_NONE)
            printf(",\"cpu\":%u", f->cpu);
        else
            printf(",\"cpu\":null");
        json_id("dev", f->dev);
        json_id("adapter", f->adapter);
        json_id("xfer", f->xfer);
        json_id("mdl", f->mdl);
        json_id("cb", f->cb);
        printf(",\"records\":[");
        for (uint32_t k = 0; k < f->n_refs; k++)
            printf("%s%" PRIu64, k ? "," : "", f->refs[k]);
        printf("],\"message\":");
        dmt_json_puts(stdout, f->message, 0);
        printf("}");
    }
    printf("],\"findings_truncated\":%s}\n", c->dropped ? "true" : "false");
}

/* One finding on one line (after the caller's indent or prefix). */
static void print_finding(const dmt_finding *f, int64_t first_ts)
{
    char tb[32], on[24] = "";
    if (f->cpu != DMT_CPU_NONE)
        snprintf(on, sizeof on, ", CPU %u", f->cpu);
    printf("seq %" PRIu64 " (record %" PRIu64 ", +%s%s)%s: %s", f->seq, f->index,
           cli_ns(tb, sizeof tb, f->ts - first_ts), on, f->uncertain ? " UNCERTAIN" : "",
           f->message);
    if (f->n_refs > 1) {
        printf(" [seq");
        for (uint32_t k = 0; k < f->n_refs; k++)
            printf("%s%" PRIu64, k ? ", " : " ", f->refs[k]);
        printf("]");
    }
    if (f->uncertain)
        printf(" (%s)", f->uncertain_why);
    putchar('\n');
}

static void print_text(const char *file, const dmt_audit_config *cfg, const dmt_audit_stats *st,
                       const collected *c, bool cut, bool all)
{
    const dmt_audit_rule_info *ri = dmt_audit_rules();
    uint64_t sev[3] = {0, 0, 0};
    unsigned nrules = 0;
    for (int r = 0; r < DMT_R_COUNT_; r++) {
        sev[ri[r].severity] += st->by_rule[r];
        nrules += st->by_rule[r] != 0;
    }
    if (!st->findings)
        printf("%s: no findings", file);
    else
        printf("%s: %" PRIu64 " finding%s in %u rule%s (%" PRIu64 " error%s, %" PRIu64
               " warning%s), %" PRIu64 " uncertain",
               file, st->findings, st->findings == 1 ? "" : "s", nrules, nrules == 1 ? "" : "s",
               sev[DMT_SEV_ERROR], sev[DMT_SEV_ERROR] == 1 ? "" : "s", sev[DMT_SEV_WARNING],
               sev[DMT_SEV_WARNING] == 1 ? "" : "s", st->uncertain);
    printf("; %" PRIu64 " records, %" PRIu64 " transfers, %" PRIu64 " of %" PRIu64
           " device starts compared with their SG list\n",
           st->records, st->transfers, st->programs_checked, st->doorbells);
    if (st->lost_records)
        printf("LOST: %" PRIu64 " records in %" PRIu64
               " ranges: findings they may affect are marked uncertain\n",
               st->lost_records, st->lost_ranges);
    if (cut)
        printf("WARNING: the trace was cut (no END record): end-of-trace findings are uncertain\n");
    if (st->evicted)
        printf("WARNING: %" PRIu64 " objects exceeded the audit's tracking caps\n", st->evicted);
    if (!cfg->end_is_unload && (st->held_adapters || st->held_cbs))
        printf("held at the end: %u adapter(s), %u common buffer(s) (leaks only if the trace "
               "covers the unload: --end-is-unload)\n",
               st->held_adapters, st->held_cbs);
    for (int r = 0; r < DMT_R_COUNT_; r++) {
        if (!st->by_rule[r])
            continue;
        printf("\n%s: %" PRIu64 " (%s; Driver Verifier: %s)\n  %s\n", ri[r].id, st->by_rule[r],
               dmt_audit_severity_name(ri[r].severity), ri[r].dv, ri[r].summary);
        uint32_t shown = 0;
        for (uint32_t i = 0; i < c->n; i++) {
            const dmt_finding *f = &c->f[i];
            if ((int)f->rule != r)
                continue;
            if (!all && shown == TEXT_PER_RULE) {
                printf("  ... %" PRIu64 " more (--all shows every finding)\n",
                       st->by_rule[r] - shown);
                break;
            }
            shown++;
            printf("  ");
            print_finding(f, st->first_ts);
        }
    }
    if (c->dropped)
        printf("\n(%" PRIu64 " findings beyond the first %u are counted but not listed)\n",
               c->dropped, KEEP_MAX);
}

/* --follow: the engine's sink prints each finding at once and keeps it. */
typedef struct live {
    collected col;
    dmt_audit *a;
    bool quiet; /* --json: only the final object goes to stdout */
} live;

static void live_sink(void *user, const dmt_finding *f)
{
    live *l = user;
    collect(&l->col, f);
    if (l->quiet)
        return;
    printf("%s %s: ", dmt_audit_rules()[f->rule].id, dmt_audit_severity_name(f->severity));
    print_finding(f, dmt_audit_get_stats(l->a)->first_ts);
    fflush(stdout);
}

/* Audit a growing trace as it is written: fr is open. */
static int audit_follow(follow_run *fr, dmt_audit_config *cfg, live *l, dmt_audit_stats *st,
                        dmt_error *err)
{
    cfg->sink = live_sink;
    cfg->user = l;
    l->a = dmt_audit_new(cfg);
    if (!l->a)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX,
                             "out of memory for the audit state");
    dmt_reader *rd = dmt_follow_reader(fr->f);
    dmt_record r;
    int rc;
    while ((rc = follow_run_next(fr, &r, err)) == 1)
        if ((rc = dmt_audit_add(l->a, &r, dmt_reader_count(rd) - 1)) < 0) {
            dmt_error_set(err, rc, r.pos, dmt_reader_count(rd) - 1, "audit: out of memory");
            break;
        }
    bool cut = fr->interrupted || dmt_reader_cut(rd, NULL, NULL);
    if (rc == 0)
        rc = dmt_audit_finish(l->a, cut);
    *st = *dmt_audit_get_stats(l->a);
    dmt_audit_free(l->a);
    return rc < 0 ? rc : 0;
}

static void list_rules(bool json)
{
    const dmt_audit_rule_info *ri = dmt_audit_rules();
    if (json) {
        printf("[");
        for (int r = 0; r < DMT_R_COUNT_; r++) {
            print_rule_json(r, &ri[r]);
            printf("}");
        }
        printf("]\n");
        return;
    }
    for (int r = 0; r < DMT_R_COUNT_; r++)
        printf("%-31s %-8s Driver Verifier: %s\n    %s\n", ri[r].id,
               dmt_audit_severity_name(ri[r].severity), ri[r].dv, ri[r].summary);
}

static void help(void)
{
    printf("usage: dmatrace audit FILE [--json] [--rules LIST] [--end-is-unload] [--all]\n"
           "                      [--cpu-order-us N] [--follow [--stall-ms N]]\n"
           "       dmatrace audit --list-rules [--json]\n\n"
           "Check a trace (.dmat) or its database (.db) for DMA misuse and layout problems:\n"
           "Driver Verifier's DMA checks that a trace can show, and the device-programming\n"
           "and memory-layout problems no verifier sees.  Findings are grouped by rule;\n"
           "each names the records involved by sequence number (dmatrace dump shows them).\n"
           "A finding that lost records or a tracking cap may have caused is marked\n"
           "UNCERTAIN, and so is one that rests on the order of two records made on\n"
           "different CPUs (a trace of per-CPU rings) closer in time than the CPUs'\n"
           "ordering uncertainty; a finding shows its record's CPU when the trace\n"
           "has it.  With a .db the findings also replace the audit rows of its\n"
           "`findings` table.\n\n"
           "  --json            one JSON object (format \"dmatrace-audit\", version 1;\n"
           "                    docs/audit-rules.md)\n"
           "  --rules LIST      comma-separated rule ids or patterns ('prog-*'); an item\n"
           "                    starting with '-' removes rules ('-leak-*': all but leaks)\n"
           "  --end-is-unload   the trace covers the driver's unload: adapters and common\n"
           "                    buffers still held at the end are leaks\n"
           "  --all             list every finding (default: %u per rule)\n"
           "  --cpu-order-us N  records of two CPUs closer than N us may have run in\n"
           "                    the other order (default %u; 0: trust the file's order)\n"
           "  --list-rules      the rules: id, severity, Driver Verifier check, summary\n"
           "  --follow          the trace (.dmat) is still being written: print each\n"
           "                    finding as it is found (RULE SEVERITY: seq ...), then the\n"
           "                    summary at the END record, Ctrl-C, or when the trace\n"
           "                    stopped growing for --stall-ms N ms (default %u)\n\n"
           "Exit status: 0 no findings, 1 findings, 2 bad usage or input, 3 I/O failure.\n",
           TEXT_PER_RULE, (unsigned)(DMT_AUDIT_DEF_CPU_ORDER_NS / 1000), FOLLOW_DEFAULT_STALL_MS);
}

int cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"rules", required_argument, 0, 'r'},
                                         {"end-is-unload", no_argument, 0, 'u'},
                                         {"all", no_argument, 0, 'a'},
                                         {"list-rules", no_argument, 0, 'L'},
                                         FOLLOW_LONG_OPTIONS,
                                         {"cpu-order-us", required_argument, 0, 'C'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    bool json = false, all = false, list = false;
    follow_run fr = {.cmd = "audit", .stall_ms = FOLLOW_DEFAULT_STALL_MS};
    dmt_audit_config cfg;
    dmt_error err;
    memset(&cfg, 0, sizeof cfg);
    cfg.rules = DMT_AUDIT_ALL_RULES;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jr:uaLws:C:h", opts, NULL)) != -1) {
        switch (c) {
        case 'C': {
            uint64_t us;
            if (!cli_parse_u64(optarg, &us) || us > 1000000)
                return cli_usage("audit", "--cpu-order-us: '%s' is not 0 .. 1000000", optarg);
            cfg.cpu_order_ns = us ? (int64_t)us * 1000 : -1;
            break;
        }
        case 'w': /* --follow */
        case 's': /* --stall-ms */
            if (!follow_option(&fr, c, optarg))
                return CLI_BAD;
            break;
        case 'j':
            json = true;
            break;
        case 'r':
            if (dmt_audit_parse_rules(optarg, &cfg.rules, &err) != 0)
                return cli_usage("audit", "--rules: %s", err.msg);
            if (!cfg.rules)
                return cli_usage("audit", "--rules '%s' leaves no rule enabled", optarg);
            break;
        case 'u':
            cfg.end_is_unload = true;
            break;
        case 'a':
            all = true;
            break;
        case 'L':
            list = true;
            break;
        case 'h':
            help();
            return CLI_OK;
        default:
            return cli_usage("audit", "bad option");
        }
    }
    if (list) {
        if (optind != argc)
            return cli_usage("audit", "--list-rules takes no FILE");
        list_rules(json);
        return CLI_OK;
    }
    if (optind != argc - 1)
        return cli_usage("audit", "expected one FILE");
    const char *file = argv[optind];
    int kind = dmt_sniff(file, &err);
    /* Following: the recorder may not have written the header yet. */
    if (kind < 0 && !fr.on)
        return cli_report("audit", file, &err);

    if (fr.on && kind == DMT_FILE_DB)
        return cli_usage("audit", "--follow reads a trace being written (.dmat), not a database");
    live l;
    memset(&l, 0, sizeof l);
    l.quiet = json;
    collected col;
    memset(&col, 0, sizeof col);
    cfg.sink = collect;
    cfg.user = &col;
    dmt_audit_stats st;
    int rc;
    if (fr.on) {
        fr.file = file;
        if ((rc = follow_run_open(&fr, DMT_READ_ALLOW_CUT, &err)) == 0) {
            rc = audit_follow(&fr, &cfg, &l, &st, &err);
            follow_run_close(&fr);
        }
        col = l.col;
    } else {
        rc = dmt_audit_file(file, &cfg, &st, &err);
    }
    if (rc != 0) {
        free(col.f);
        return cli_report("audit", file, &err);
    }
    if (kind == DMT_FILE_DB) {
        if (col.dropped)
            fprintf(stderr,
                    "dmatrace audit: %s: only the first %u of %" PRIu64
                    " findings go into the findings table\n",
                    file, col.n, st.findings);
        if (dmt_audit_store_findings(file, col.f, col.n, &err) != 0) {
            free(col.f);
            return cli_report("audit", file, &err);
        }
    }
    if (json)
        print_json(file, kind == DMT_FILE_DB, &cfg, &st, &col, st.cut);
    else
        print_text(file, &cfg, &st, &col, st.cut, all);
    free(col.f);
    if (fflush(stdout) != 0)
        return cli_fail("audit", CLI_FAIL, "cannot write the output");
    return st.findings ? CLI_FOUND : CLI_OK;
}

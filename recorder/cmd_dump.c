/*
 * cmd_dump.c - `dmatrace dump FILE [--from N] [--count N] [--raw]
 * [--regmap FILE.xml ...]`: print records one per line: index, sequence
 * number, time from the first record, and the record's fields; a register
 * access also as the map decodes it ("CH[0].STATUS=0x6 {DONE, ERR}").  With
 * --follow, a trace still being written is printed as its chunks land, like
 * tail -f (follow_common.h).
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "cli_regmap.h"
#include "dmt/describe.h"
#include "dmt/reader.h"
#include "dmt/sniff.h"
#include "follow_common.h"

static void help(void)
{
    printf("usage: dmatrace dump FILE [--from N] [--count N] [--raw] [--follow] [--regmap "
           "FILE.xml]\n\n"
           "Print the records of a trace one per line:\n"
           "  INDEX  seq SEQ  +TIME  KIND  FIELDS...\n"
           "INDEX counts records from 0 (the index other commands report); TIME is\n"
           "relative to the first record, in ns.\n\n"
           "  --from N    start at record index N\n"
           "  --count N   print at most N records\n"
           "  --raw       also print the framing records (chunk, end)\n"
           "  --full      do not abbreviate long scatter/gather lists and byte strings\n"
           "  --follow    the trace is still being written: print records as their chunks\n"
           "              are written, until the END record or Ctrl-C\n"
           "  --stall-ms N  with --follow: after N ms (default %u) without END or new\n"
           "              bytes, say the trace stopped growing, print the rest and exit\n"
           "  --latency   with --follow: at the end, how long after its time stamp each\n"
           "              record was printed (median, p99, worst; live recordings only)\n"
           "  --no-decode do not decode register accesses with the map\n" CLI_REGMAP_HELP,
           FOLLOW_DEFAULT_STALL_MS);
}

int cmd_dump(int argc, char **argv)
{
    static const struct option opts[] = {{"from", required_argument, 0, 'f'},
                                         {"count", required_argument, 0, 'n'},
                                         {"raw", no_argument, 0, 'r'},
                                         {"full", no_argument, 0, 'F'},
                                         FOLLOW_LONG_OPTIONS,
                                         {"latency", no_argument, 0, 'L'},
                                         {"no-decode", no_argument, 0, 'D'},
                                         {"help", no_argument, 0, 'h'},
                                         CLI_REGMAP_OPTIONS,
                                         {0, 0, 0, 0}};
    cli_regmap rm = {0};
    bool decode = true;
    uint64_t from = 0, count = UINT64_MAX;
    unsigned flags = DMT_READ_ALLOW_CUT;
    unsigned max_items = 8;
    follow_run fr = {.cmd = "dump", .stall_ms = FOLLOW_DEFAULT_STALL_MS};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:n:rFws:LDh", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (!cli_parse_u64(optarg, &from))
                return cli_usage("dump", "--from needs a record index, not '%s'", optarg);
            break;
        case 'n':
            if (!cli_parse_u64(optarg, &count))
                return cli_usage("dump", "--count needs a number, not '%s'", optarg);
            break;
        case 'r':
            flags |= DMT_READ_FRAMING;
            break;
        case 'F':
            max_items = DMT_MAX_SG_ELEMENTS;
            break;
        case 'w': /* --follow */
        case 's': /* --stall-ms */
            if (!follow_option(&fr, c == 'w' ? NULL : optarg))
                return CLI_BAD;
            break;
        case 'L':
            fr.latency = true;
            break;
        case 'D':
            decode = false;
            break;
        case 'h':
            help();
            return CLI_OK;
        default:
            if (!cli_regmap_opt(&rm, c, optarg))
                return cli_usage("dump", "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_usage("dump", "expected one FILE");
    const char *file = argv[optind];
    dmt_error err;
    int rc;
    int kind = dmt_sniff(file, &err);
    /* Following: the recorder may not have written the header yet. */
    if (kind < 0 && !fr.on)
        return cli_report("dump", file, &err);
    if (kind == DMT_FILE_DB)
        return cli_fail("dump", CLI_BAD, "%s: dump reads trace files (.dmat), not databases", file);
    if (decode && (rc = cli_regmap_load("dump", &rm)) != CLI_OK)
        return rc;
    dmt_reader *rd;
    fr.file = file;
    rc = fr.on ? follow_run_open(&fr, flags, &err) : dmt_reader_open(file, flags, &rd, &err);
    if (rc) {
        cli_regmap_free(&rm);
        return cli_report("dump", file, &err);
    }
    if (fr.on)
        rd = dmt_follow_reader(fr.f);
    static char line[1 << 18];
    dmt_record r;
    uint64_t idx = 0, printed = 0;
    int64_t t0 = 0;
    bool have_t0 = false;
    while (printed < count &&
           (rc = fr.on ? follow_run_next(&fr, &r, &err) : dmt_reader_next(rd, &r, &err)) == 1) {
        if (!have_t0) {
            t0 = r.ts;
            have_t0 = true;
        }
        bool framing = r.kind == DMT_K_CHUNK || r.kind == DMT_K_END;
        if (!framing && idx++ < from)
            continue;
        if (framing && idx <= from)
            continue;
        size_t len = dmt_record_describe(line, sizeof line, &r, max_items);
        if (r.kind == DMT_K_REG_WRITE || r.kind == DMT_K_REG_READ) {
            /* memcpy, not snprintf: this runs for half the records of a
             * typical trace (BENCHMARKS.md, dump) */
            const char *t = cli_regmap_text(&rm, r.width, r.off, r.value);
            size_t n = t ? strlen(t) : 0;
            if (n && len + 2 + n < sizeof line) {
                memcpy(line + len, "  ", 2);
                memcpy(line + len + 2, t, n + 1);
            }
        }
        if (framing)
            printf("%8s  %-14s +%-14" PRId64 " %s\n", "-", "", r.ts - t0, line);
        else if (r.cpu != DMT_CPU_NONE)
            printf("%8" PRIu64 "  seq %-10" PRIu64 " +%-14" PRId64 " cpu %-3u %s\n", idx - 1, r.seq,
                   r.ts - t0, r.cpu, line);
        else
            printf("%8" PRIu64 "  seq %-10" PRIu64 " +%-14" PRId64 " %s\n", idx - 1, r.seq,
                   r.ts - t0, line);
        printed++;
    }
    if (rc < 0) {
        fflush(stdout);
        int st = cli_report("dump", file, &err);
        if (fr.on)
            follow_run_close(&fr);
        else
            dmt_reader_close(rd);
        cli_regmap_free(&rm);
        return st;
    }
    uint64_t at;
    const char *why;
    if (dmt_reader_cut(rd, &at, &why))
        fprintf(stderr, "dmatrace dump: %s: byte %" PRIu64 ": %s; run 'dmatrace recover'\n", file,
                at, why);
    if (fr.on)
        follow_run_close(&fr);
    else
        dmt_reader_close(rd);
    cli_regmap_free(&rm);
    return CLI_OK;
}

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

/* u in decimal, after a '-' when neg, at p, padded with spaces to width
 * columns (left-aligned when left, else right-aligned); returns the end.
 * printf's %8llu and %-14lld, without printf. */
static char *put_dec(char *p, uint64_t u, bool neg, int width, bool left)
{
    char d[24];
    int n = 0;
    do {
        d[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg)
        d[n++] = '-';
    int pad = width > n ? width - n : 0;
    if (!left) {
        memset(p, ' ', (size_t)pad);
        p += pad;
    }
    while (n)
        *p++ = d[--n];
    if (left) {
        memset(p, ' ', (size_t)pad);
        p += pad;
    }
    return p;
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
    int c, st;
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
            if (!follow_option(&fr, c, optarg))
                return CLI_BAD;
            break;
        case 'L':
            fr.latency = true;
            break;
        case 'D':
            decode = false;
            break;
        default:
            if ((st = cli_regmap_opt_tail("dump", &rm, c, optarg, help)) != CLI_OPT_TAKEN)
                return st;
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
    cli_regmap_check("dump", &rm, file, dmt_reader_header(rd));
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
        /* The line is built in one buffer and written with one fwrite, its
         * numbers and the decode copied without printf: this runs for every
         * record, and the decode for half of them (BENCHMARKS.md, dump). */
        char *p = line;
        if (framing) {
            memcpy(p, "       -  ", 10);
            memset(p + 10, ' ', 14);
            p += 24;
        } else {
            p = put_dec(p, idx - 1, false, 8, false);
            memcpy(p, "  seq ", 6);
            p = put_dec(p + 6, r.seq, false, 10, true);
        }
        int64_t dt = r.ts - t0;
        memcpy(p, " +", 2);
        p = put_dec(p + 2, dt < 0 ? 0 - (uint64_t)dt : (uint64_t)dt, dt < 0, 14, true);
        *p++ = ' ';
        if (!framing && r.cpu != DMT_CPU_NONE) {
            memcpy(p, "cpu ", 4);
            p = put_dec(p + 4, r.cpu, false, 3, true);
            *p++ = ' ';
        }
        p += dmt_record_describe(p, sizeof line - (size_t)(p - line) - 1, &r, max_items);
        if (r.kind == DMT_K_REG_WRITE || r.kind == DMT_K_REG_READ) {
            size_t n = 0;
            const char *t = cli_regmap_text(&rm, r.width, r.off, r.value, &n);
            if (t && n && (size_t)(p - line) + 3 + n < sizeof line) {
                memcpy(p, "  ", 2);
                memcpy(p + 2, t, n);
                p += 2 + n;
            }
        }
        *p++ = '\n';
        fwrite(line, 1, (size_t)(p - line), stdout);
        printed++;
    }
    if (rc < 0) {
        fflush(stdout);
        st = cli_report("dump", file, &err);
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

/*
 * cmd_dump.c - `dmatrace dump FILE [--from N] [--count N] [--raw]`: print
 * records one per line: index, sequence number, time from the first record,
 * and the record's fields.
 */
#include <getopt.h>
#include <inttypes.h>

#include "cli.h"
#include "dmt/describe.h"
#include "dmt/source.h"

static void help(void)
{
    printf("usage: dmatrace dump FILE [--from N] [--count N] [--raw]\n\n"
           "Print the records of a trace one per line:\n"
           "  INDEX  seq SEQ  +TIME  KIND  FIELDS...\n"
           "INDEX counts records from 0 (the index other commands report); TIME is\n"
           "relative to the first record, in ns.\n\n"
           "  --from N    start at record index N\n"
           "  --count N   print at most N records\n"
           "  --raw       also print the framing records (chunk, end)\n"
           "  --full      do not abbreviate long scatter/gather lists and byte strings\n");
}

int cmd_dump(int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, 0, 'f'}, {"count", required_argument, 0, 'n'},
        {"raw", no_argument, 0, 'r'},        {"full", no_argument, 0, 'F'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    uint64_t from = 0, count = UINT64_MAX;
    unsigned flags = 0; /* dmt_source_flags */
    unsigned max_items = 8;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:n:rFh", opts, NULL)) != -1) {
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
            flags |= DMT_SOURCE_FRAMING;
            break;
        case 'F':
            max_items = DMT_MAX_SG_ELEMENTS;
            break;
        case 'h':
            help();
            return CLI_OK;
        default:
            return cli_usage("dump", "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_usage("dump", "expected one FILE");
    const char *file = argv[optind];
    dmt_error err;
    dmt_source *src;
    int rc = dmt_source_open(file, flags | DMT_SOURCE_TRACE_ONLY, &src, &err);
    if (rc == DMT_E_USAGE)
        return cli_fail("dump", CLI_BAD, "%s: dump reads trace files (.dmat), not databases", file);
    if (rc)
        return cli_report("dump", file, &err);
    static char line[1 << 18];
    dmt_record r;
    uint64_t idx, printed = 0, seen = 0;
    int64_t t0 = 0;
    bool have_t0 = false;
    while (printed < count && (rc = dmt_source_next(src, &r, &idx, &err)) == 1) {
        if (!have_t0) {
            t0 = r.ts;
            have_t0 = true;
        }
        bool framing = idx == DMT_NO_INDEX;
        if (!framing)
            seen = idx + 1;
        if (seen <= from)
            continue;
        dmt_record_describe(line, sizeof line, &r, max_items);
        if (framing)
            printf("%8s  %-14s +%-14" PRId64 " %s\n", "-", "", r.ts - t0, line);
        else
            printf("%8" PRIu64 "  seq %-10" PRIu64 " +%-14" PRId64 " %s\n", idx, r.seq, r.ts - t0,
                   line);
        printed++;
    }
    if (rc < 0) {
        fflush(stdout);
        int st = cli_report("dump", file, &err);
        dmt_source_close(src);
        return st;
    }
    uint64_t at;
    const char *why;
    if (dmt_source_cut(src, &at, &why))
        fprintf(stderr, "dmatrace dump: %s: byte %" PRIu64 ": %s; run 'dmatrace recover'\n", file,
                at, why);
    dmt_source_close(src);
    return CLI_OK;
}

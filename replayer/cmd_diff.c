/*
 * cmd_diff.c - `dmatrace diff A B [--json] [--addresses] [--window N]`:
 * structure-aware comparison of two traces, transfer by transfer.
 * Exit 0: equal; 1: they differ; 2: bad usage or input; 3: I/O.
 */
#include <getopt.h>

#include "cli.h"
#include "cli_regmap.h"
#include "rpl/diff.h"

static void help(void)
{
    printf("usage: dmatrace diff A B [--json] [--addresses] [--window N] [--max N]\n\n"
           "Compare two traces (.dmat or .db) transfer by transfer.  Transfers are\n"
           "aligned by order and content (direction, offset, length, data digest), never\n"
           "by time, and each aligned pair is compared for: lengths, SG layout, register\n"
           "programming (ring registers and descriptors, relative to the SG list), outcome\n"
           "(statuses, engine status after the doorbell, completion) and data (digest).\n"
           "Transfers found in only one trace are listed, then a summary.\n\n"
           "  --json        machine-readable output (replayer/README.md)\n"
           "  --addresses   also compare physical addresses (different runs place\n"
           "                buffers differently, so they are ignored by default)\n"
           "  --window N    transfers looked ahead when aligning (default 64)\n"
           "  --max N       differences listed in detail (default 1000)\n" CLI_REGMAP_HELP "\n"
           "Exit status: 0 equal, 1 different, 2 bad usage or input, 3 I/O.\n");
}

int cmd_diff(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"addresses", no_argument, 0, 'A'},
                                         {"window", required_argument, 0, 'w'},
                                         {"max", required_argument, 0, 'x'},
                                         {"help", no_argument, 0, 'h'},
                                         CLI_REGMAP_OPTIONS,
                                         {0, 0, 0, 0}};
    cli_regmap rm = {0};
    rpl_diff_opts o = {0};
    bool json = false;
    uint64_t v;
    int c, st;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        switch (c) {
        case 'A':
            o.addresses = true;
            break;
        case 'j':
            json = true;
            break;
        case 'w':
            if (!cli_parse_u64(optarg, &v) || v == 0 || v > 1024)
                return cli_usage("diff", "--window must be 1..1024, not '%s'", optarg);
            o.window = (unsigned)v;
            break;
        case 'x':
            if (!cli_parse_u64(optarg, &v) || v == 0 || v > 1000000)
                return cli_usage("diff", "--max must be 1..1000000, not '%s'", optarg);
            o.max_items = (unsigned)v;
            break;
        default:
            if ((st = cli_regmap_opt_tail("diff", &rm, c, optarg, help)) != CLI_OPT_TAKEN)
                return st;
        }
    }
    if (optind != argc - 2)
        return cli_usage("diff", "expected two files A B");
    const char *a = argv[optind], *b = argv[optind + 1];
    dmt_error err;
    dmt_error_clear(&err);
    rpl_diff_result *res;
    const char *failed = NULL;
    int rc = cli_regmap_load("diff", &rm);
    if (rc != CLI_OK)
        return rc;
    o.names.map = rm.map;
    o.names.domain = rm.dom;
    cli_regmap_check_file("diff", &rm, b, cli_regmap_check_file("diff", &rm, a, 0));
    rc = rpl_diff_files(a, b, &o, &res, &err, &failed);
    if (rc < 0) {
        cli_regmap_free(&rm);
        return cli_report("diff", failed, &err);
    }
    rpl_str s;
    rpl_str_init(&s);
    if (json)
        rpl_diff_json(&s, res, a, b);
    else
        rpl_diff_text(&s, res, a, b);
    if (s.n)
        fwrite(s.p, 1, s.n, stdout);
    rpl_str_free(&s);
    st = rpl_diff_any(res) ? CLI_FOUND : CLI_OK;
    rpl_diff_free(res);
    cli_regmap_free(&rm);
    return st;
}

/*
 * gen_trace_main.c - the gen_trace tool: write a synthetic N-event dmatrace
 * session (gen_trace.h) for benchmarks and tests.
 *
 *   gen_trace -n 10000000 -o big.dmat [--seed N]
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dmt/error.h"
#include "dmt/writer.h"
#include "gen_trace.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: gen_trace -n EVENTS -o FILE.dmat [--seed N]\n\n"
               "Write a synthetic DMA session of EVENTS records (benchmarks, tests).\n");
}

/* A whole number option value; false (usage printed) otherwise. */
static bool number(const char *text, uint64_t *v)
{
    char *end;
    *v = strtoull(text, &end, 0);
    if (!*text || *end) {
        usage(stderr);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"events", required_argument, 0, 'n'},
                                         {"output", required_argument, 0, 'o'},
                                         {"seed", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    gen_opts o = {.events = 100000, .seed = 1, .writer_flags = DMT_WRITE_ATOMIC};
    const char *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "n:o:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (!number(optarg, &o.events))
                return 2;
            break;
        case 'o':
            out = optarg;
            break;
        case 's':
            if (!number(optarg, &o.seed))
                return 2;
            break;
        default: /* -h: the usage on stdout, exit 0; anything else is bad usage */
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (!out || optind != argc) {
        usage(stderr);
        return 2;
    }
    dmt_error err;
    gen_result res;
    int rc = gen_trace_write(out, &o, &res, &err);
    if (rc) {
        fprintf(stderr, "gen_trace: %s: %s\n", out, err.msg);
        return dmt_error_exit_status(rc);
    }
    printf("%s: %llu records, %llu transfers, %llu SG elements, %llu bytes\n", out,
           (unsigned long long)res.records, (unsigned long long)res.transfers,
           (unsigned long long)res.sg_elements, (unsigned long long)res.bytes);
    return 0;
}

/*
 * cmd_replay.c - `dmatrace replay FILE [--driver] [--all] [--json] [model
 * options]`: replay a trace into a fresh device model (or re-run the
 * instrumented miniport on the recorded inputs) and report the divergences.
 * Exit 0: no divergence; 1: divergences; 2: bad usage or input; 3: I/O.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_regmap.h"
#include "rpl/replay.h"
#include "rpl/report.h"
#include "rpl/driver.h"

static void help(void)
{
    printf("usage: dmatrace replay FILE [--driver] [--all] [--json] [OPTIONS]\n\n"
           "Replay a recorded session (FILE: .dmat or .db) into a fresh device model and\n"
           "check every observable the trace holds: register read values, interrupts,\n"
           "engine status and error bits, data digests, and the descriptors and ring\n"
           "registers against each transfer's SG list.  Prints\n"
           "  N records replayed, 0 divergences\n"
           "or the first divergence (every one with --all) with its record index, time,\n"
           "what the trace says, what happened, and the records before it.  Lost records\n"
           "are reported as limits of the replay.\n\n"
           "  --driver             re-run the instrumented miniport on the host VideoPort,\n"
           "                       fed the recorded OS-side inputs, and compare the\n"
           "                       register writes and descriptors it produces\n"
           "  --inject-inputs      with --driver: feed the recorded SG lists, granted\n"
           "                       lengths, register values and interrupts (the default\n"
           "                       for traces not made by dmatrace capture)\n"
           "  --reproduce-inputs   with --driver: let the host VideoPort and the device\n"
           "                       model produce them again (the default for captures)\n"
           "  --all                report every divergence, not only the first\n"
           "  --json               machine-readable report (replayer/README.md)\n"
           "  --model-revision N   descriptor format revision of the model (1 or 2)\n"
           "  --erratum NAME       switch an erratum on: 4g-wrap, len-round, addr-trunc,\n"
           "                       all, or none (repeatable; replaces the trace's errata)\n"
           "  --addr-bits N        host address bits of the model (32..64)\n"
           "  --devmem-size BYTES  device memory of the model\n"
           "  --context N          records shown before a divergence (default 5, max 16)\n"
           "  --max N              divergences shown with --all (default 1000)\n"
           "  --mem-limit MIB      memory the replay may map (default 1024)\n"
           "  --order MODE         auto (default), strict, or cpus: whether a register read\n"
           "                       may have reached the device before a write another CPU\n"
           "                       logged just ahead of it (auto: strict for single-threaded\n"
           "                       captures, whose header clock is "
           "\"deterministic\")\n" CLI_REGMAP_HELP "\n"
           "By default the model is configured as the trace's ID, CAPS and DEVMEM_SIZE\n"
           "reads say; the options above override that, so an old trace replayed against\n"
           "a changed model shows the behavioural difference as divergences.\n"
           "Exit status: 0 no divergence, 1 divergences, 2 bad usage or input, 3 I/O.\n");
}

int cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {{"driver", no_argument, 0, 'd'},
                                         {"inject-inputs", no_argument, 0, 'I'},
                                         {"reproduce-inputs", no_argument, 0, 'P'},
                                         {"all", no_argument, 0, 'a'},
                                         {"json", no_argument, 0, 'j'},
                                         {"model-revision", required_argument, 0, 'R'},
                                         {"erratum", required_argument, 0, 'E'},
                                         {"addr-bits", required_argument, 0, 'B'},
                                         {"devmem-size", required_argument, 0, 'M'},
                                         {"context", required_argument, 0, 'c'},
                                         {"max", required_argument, 0, 'x'},
                                         {"mem-limit", required_argument, 0, 'L'},
                                         {"order", required_argument, 0, 'O'},
                                         {"help", no_argument, 0, 'h'},
                                         CLI_REGMAP_OPTIONS,
                                         {0, 0, 0, 0}};
    cli_regmap rm = {0};
    rpl_opts o;
    rpl_opts_default(&o);
    bool json = false, driver = false;
    int inputs = 0, used = 0;
    uint64_t v;
    int c, st;
    optind = 1;
    while ((c = getopt_long(argc, argv, "dajh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            driver = true;
            break;
        case 'I':
        case 'P':
            inputs = c == 'I' ? 2 : 1; /* RPL_DRIVER_INJECT / RPL_DRIVER_REPRODUCE */
            break;
        case 'a':
            o.all = true;
            break;
        case 'j':
            json = true;
            break;
        case 'R':
            if (!cli_parse_u64(optarg, &v) || dmm_desc_size((uint32_t)v) == 0 || v > 0xFF)
                return cli_usage("replay", "--model-revision must be 1 or 2, not '%s'", optarg);
            o.set_revision = true;
            o.revision = (uint32_t)v;
            break;
        case 'E': {
            uint32_t bits;
            if (!rpl_parse_erratum(optarg, &bits))
                return cli_usage("replay",
                                 "unknown erratum '%s' (4g-wrap, len-round, addr-trunc, all, none)",
                                 optarg);
            o.errata = o.set_errata && bits ? o.errata | bits : bits;
            o.set_errata = true;
            break;
        }
        case 'B':
            if (!cli_parse_u64(optarg, &v) || v < 32 || v > 64)
                return cli_usage("replay", "--addr-bits must be 32..64, not '%s'", optarg);
            o.set_addr_bits = true;
            o.addr_bits = (uint32_t)v;
            break;
        case 'M':
            if (!cli_parse_u64(optarg, &v) || v == 0 || v > DMM_DEVMEM_MAX)
                return cli_usage("replay", "--devmem-size must be 1..%llu bytes, not '%s'",
                                 (unsigned long long)DMM_DEVMEM_MAX, optarg);
            o.set_devmem = true;
            o.devmem_size = v;
            break;
        case 'c':
            if (!cli_parse_u64(optarg, &v) || v > RPL_MAX_CONTEXT)
                return cli_usage("replay", "--context must be 0..%u, not '%s'", RPL_MAX_CONTEXT,
                                 optarg);
            o.context = v ? (unsigned)v : RPL_MAX_CONTEXT + 1; /* 0: none, see below */
            break;
        case 'x':
            if (!cli_parse_u64(optarg, &v) || v == 0 || v > 1000000)
                return cli_usage("replay", "--max must be 1..1000000, not '%s'", optarg);
            o.keep = (unsigned)v;
            break;
        case 'L':
            if (!cli_parse_u64(optarg, &v) || v == 0 || v > (1u << 20))
                return cli_usage("replay", "--mem-limit must be 1..1048576 MiB, not '%s'", optarg);
            o.mem_limit = v << 20;
            break;
        case 'O':
            if (!strcmp(optarg, "auto"))
                o.order = RPL_ORDER_AUTO;
            else if (!strcmp(optarg, "strict"))
                o.order = RPL_ORDER_STRICT;
            else if (!strcmp(optarg, "cpus"))
                o.order = RPL_ORDER_CPUS;
            else
                return cli_usage("replay", "--order must be auto, strict or cpus, not '%s'",
                                 optarg);
            break;
        default:
            if ((st = cli_regmap_opt_tail("replay", &rm, c, optarg, help)) != CLI_OPT_TAKEN)
                return st;
        }
    }
    if (optind != argc - 1)
        return cli_usage("replay", "expected one FILE");
    const char *file = argv[optind];
    if (inputs && !driver)
        return cli_usage("replay", "--inject-inputs and --reproduce-inputs need --driver");
    bool no_context = o.context == RPL_MAX_CONTEXT + 1;
    if (no_context)
        o.context = 1; /* the engine needs >= 1; lines are dropped below */

    int rc = cli_regmap_load("replay", &rm);
    if (rc != CLI_OK)
        return rc;
    o.names.map = rm.map;
    o.names.domain = rm.dom;
    cli_regmap_check_file("replay", &rm, file, 0);
    dmt_error err;
    dmt_error_clear(&err);
    rpl_replay *r = NULL;
    if (driver) {
        rc = rpl_driver_replay_mode(file, &o, inputs, NULL, NULL, &used, &r, &err);
    } else {
        rc = rpl_replay_file(file, &o, &r, &err);
    }
    if (rc < 0 && !r) {
        cli_regmap_free(&rm);
        return cli_report("replay", file, &err);
    }
    if (no_context) {
        /* drop the context lines the engine kept */
        for (uint64_t i = 0; i < rpl_get_summary(r)->kept; i++)
            ((rpl_divergence *)rpl_divergence_at(r, i))->n_context = 0;
    }
    rpl_str s;
    rpl_str_init(&s);
    char emsg[sizeof err.msg + 64];
    if (rc < 0)
        snprintf(emsg, sizeof emsg, "record %" PRIu64 ": %s", err.index, err.msg);
    if (json)
        rpl_report_json(&s, r, file,
                        !driver     ? "model"
                        : used == 2 ? "driver-inject"
                                    : "driver",
                        rc < 0 ? emsg : NULL);
    else if (rc == 0 || rpl_get_summary(r)->kept)
        rpl_report_text(&s, r, file);
    if (s.n)
        fwrite(s.p, 1, s.n, stdout);
    fflush(stdout);
    rpl_str_free(&s);
    int status = rpl_get_summary(r)->divergences ? CLI_FOUND : CLI_OK;
    if (rc < 0)
        status = cli_report("replay", file, &err);
    rpl_free(r);
    cli_regmap_free(&rm);
    return status;
}

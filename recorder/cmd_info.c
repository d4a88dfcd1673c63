/*
 * cmd_info.c - `dmatrace info FILE [--json]`: counts per record kind, time
 * span, adapters and lost records of a trace (.dmat) or of the database
 * imported from it (.db).
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "dmt/describe.h"
#include "dmt/json.h"
#include "dmt/reader.h"
#include "dmt/stats.h"
#include "info_common.h"

static void print_text(const char *file, const info_result *ir)
{
    const dmt_stats *s = &ir->stats;
    char a[32], b[32];
    printf("file:       %s (%s)\n", file, ir->what);
    printf("producer:   %s\n", ir->hdr.producer[0] ? ir->hdr.producer : "?");
    printf("host:       %s, clock %s\n", ir->hdr.host[0] ? ir->hdr.host : "?", ir->hdr.clock);
    if (ir->hdr.scenario[0])
        printf("scenario:   %s (seed %" PRIu64 ")\n", ir->hdr.scenario, ir->hdr.seed);
    const dmt_header *h = &ir->hdr;
    if (h->os[0]) /* the optional machine and layout keys (FORMAT.md 1.2) */
        printf("machine:    %s%s%.0u%s, %u CPUs, %u-byte pages, clock %" PRIu64 " Hz%s%s\n", h->os,
               h->os_build ? " (build " : "", h->os_build, h->os_build ? ")" : "", h->cpus,
               h->page_size, h->clock_hz, h->boot_options[0] ? ", boot " : "", h->boot_options);
    if (h->has_layout)
        printf("layout:     buffers %s, %u/1000 contiguous, %u map registers, RAM below 0x%" PRIx64
               "%s%.0" PRIx64 "\n",
               h->placement, h->contig_permille, h->map_register_cap, h->ram_low_top,
               h->ram_high_top ? " and up to 0x" : "", h->ram_high_top);
    if (h->regmap_name[0])
        printf("regmap:     %s (xxh64 0x%016" PRIx64 ")\n", h->regmap_name, h->regmap_hash);
    if (ir->cut)
        printf("WARNING:    file was cut at byte %" PRIu64 ": %s; run 'dmatrace recover'\n",
               ir->cut_at, ir->cut_why);
    if (s->lost_records) {
        printf("LOST:       %" PRIu64 " records in %" PRIu64 " ranges (", s->lost_records,
               s->lost_ranges);
        int first = 1;
        for (uint32_t i = 0; i < DMT_LOST_N_; i++)
            if (s->lost_by_reason[i]) {
                printf("%s%" PRIu64 " %s", first ? "" : ", ", s->lost_by_reason[i],
                       dmt_lost_reason_name(i));
                first = 0;
            }
        printf(")\n");
    } else {
        printf("lost:       none\n");
    }
    printf("records:    %" PRIu64 "\n", s->records);
    if (s->records) {
        printf("sequence:   %" PRIu64 " .. %" PRIu64 "\n", s->first_seq, s->last_seq);
        printf("time span:  %s (%s .. %s)\n", cli_ns(a, sizeof a, s->last_ts - s->first_ts),
               cli_ns(b, sizeof b, s->first_ts), cli_ns(b + 16, 16, s->last_ts));
    }
    printf("transfers:  %" PRIu64 " StartDma, %" PRIu64 " ExecuteDma (%" PRIu64
           " SG elements, %" PRIu64 " bytes), %" PRIu64 " CompleteDma\n",
           s->by_kind[DMT_K_START_DMA], s->by_kind[DMT_K_EXECUTE_DMA], s->sg_elements, s->dma_bytes,
           s->by_kind[DMT_K_COMPLETE_DMA]);
    printf("adapters:   %u\n", s->n_adapters);
    for (uint32_t i = 0; i < s->n_adapters; i++) {
        const dmt_stats_adapter *ad = &s->adapters[i];
        printf("  adapter %u: dev %u, %s, %s, max length %" PRIu64 ", %u map registers, limit "
               "0x%" PRIx64 ", %" PRIu64 " transfers, %" PRIu64 " bytes\n",
               ad->id, ad->dev, ad->sg ? "scatter/gather" : "no scatter/gather",
               ad->dma64   ? "64-bit"
               : ad->dma32 ? "32-bit"
                           : "24-bit",
               ad->max_length, ad->map_registers, ad->addr_limit, ad->transfers, ad->bytes);
    }
    printf("kinds:\n");
    for (uint32_t k = 1; k < DMT_K_MAX_; k++)
        if (s->by_kind[k])
            printf("  %-16s %" PRIu64 "\n", dmt_kind_name(k), s->by_kind[k]);
}

static void print_json(const char *file, const info_result *ir)
{
    const dmt_stats *s = &ir->stats;
    printf("{\"file\":");
    dmt_json_puts(stdout, file, 0);
    printf(",\"type\":\"%s\",\"format_version\":%u,\"producer\":", ir->is_db ? "db" : "trace",
           ir->hdr.version);
    dmt_json_puts(stdout, ir->hdr.producer, 0);
    printf(",\"host\":");
    dmt_json_puts(stdout, ir->hdr.host, 0);
    printf(",\"clock\":");
    dmt_json_puts(stdout, ir->hdr.clock, 0);
    printf(",\"scenario\":");
    dmt_json_puts(stdout, ir->hdr.scenario, 0);
    printf(",\"regmap\":");
    if (ir->hdr.regmap_name[0]) {
        printf("{\"name\":");
        dmt_json_puts(stdout, ir->hdr.regmap_name, 0);
        printf(",\"xxh64\":\"0x%016" PRIx64 "\"}", ir->hdr.regmap_hash);
    } else {
        printf("null");
    }
    printf(",\"seed\":%" PRIu64 ",\"closed\":%s,\"cut\":", ir->hdr.seed,
           ir->cut ? "false" : "true");
    if (ir->cut) {
        printf("{\"offset\":%" PRIu64 ",\"reason\":", ir->cut_at);
        dmt_json_puts(stdout, ir->cut_why, 0);
        printf("}");
    } else {
        printf("null");
    }
    printf(",\"records\":%" PRIu64, s->records);
    printf(",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64, s->records ? s->first_seq : 0,
           s->last_seq);
    printf(",\"first_ts\":%" PRId64 ",\"last_ts\":%" PRId64 ",\"span_ns\":%" PRId64,
           s->records ? s->first_ts : 0, s->records ? s->last_ts : 0,
           s->records ? s->last_ts - s->first_ts : 0);
    printf(",\"lost\":{\"records\":%" PRIu64 ",\"ranges\":%" PRIu64 ",\"by_reason\":{",
           s->lost_records, s->lost_ranges);
    for (uint32_t i = 0; i < DMT_LOST_N_; i++)
        printf("%s\"%s\":%" PRIu64, i ? "," : "", dmt_lost_reason_name(i), s->lost_by_reason[i]);
    printf("}},\"sg_elements\":%" PRIu64 ",\"dma_bytes\":%" PRIu64 ",\"kinds\":{", s->sg_elements,
           s->dma_bytes);
    int first = 1;
    for (uint32_t k = 1; k < DMT_K_MAX_; k++) {
        if (k == DMT_K_CHUNK || k == DMT_K_END)
            continue;
        printf("%s\"%s\":%" PRIu64, first ? "" : ",", dmt_kind_name(k), s->by_kind[k]);
        first = 0;
    }
    printf("},\"adapters\":[");
    for (uint32_t i = 0; i < s->n_adapters; i++) {
        const dmt_stats_adapter *ad = &s->adapters[i];
        printf("%s{\"id\":%u,\"dev\":%u,\"scatter_gather\":%s,\"dma32\":%s,\"dma64\":%s,"
               "\"max_length\":%" PRIu64 ",\"map_registers\":%u,\"addr_limit\":%" PRIu64
               ",\"transfers\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
               i ? "," : "", ad->id, ad->dev, ad->sg ? "true" : "false",
               ad->dma32 ? "true" : "false", ad->dma64 ? "true" : "false", ad->max_length,
               ad->map_registers, ad->addr_limit, ad->transfers, ad->bytes);
    }
    printf("]}\n");
}

static void help(void)
{
    printf("usage: dmatrace info FILE [--json]\n\n"
           "Counts per record kind, time span, adapters and lost records of a trace\n"
           "(.dmat) or of the database imported from it (.db).  A trace cut by a crash is\n"
           "read to its last whole record and the cut is reported.\n\n"
           "  --json   one JSON object on stdout (stable keys, see schema/FORMAT.md)\n");
}

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 'h':
            help();
            return CLI_OK;
        default:
            return cli_usage("info", "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_usage("info", "expected one FILE");
    const char *file = argv[optind];
    info_result ir;
    dmt_error err;
    int rc = info_collect(file, &ir, &err);
    if (rc)
        return cli_report("info", file, &err);
    if (json)
        print_json(file, &ir);
    else
        print_text(file, &ir);
    return CLI_OK;
}

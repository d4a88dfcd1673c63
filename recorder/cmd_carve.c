/*
 * cmd_carve.c - `dmatrace carve IMAGE... -o OUT.dmat`: find every dmatrace
 * ring in memory images (raw, ELF cores, Windows crash dumps; dmt/image.h)
 * and turn the chosen one, or all of them, into traces (dmt/carve.h).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dmt/carve.h"
#include "dmt/image.h"
#include "dmt/locator.h"
#include "dmt/ring.h"

static void help(void)
{
    printf("usage: dmatrace carve IMAGE... -o OUT.dmat [--ring N | --all] [--allow-cut]\n"
           "                             [--merge PARTIAL.dmat]\n"
           "       dmatrace carve IMAGE... --list\n\n"
           "Find dmatrace rings in memory images and write each chosen ring as a trace.\n"
           "IMAGE is a raw physical memory image, an ELF core (QEMU dump-guest-memory,\n"
           "kdump) or a Windows kernel crash dump (32/64-bit; complete, kernel or bitmap);\n"
           "the format is recognised by content.  No symbols are needed.\n\n"
           "  --list        print every ring found (number, physical address, instance,\n"
           "                ring index/count, size, policy, sequence numbers, loss counters,\n"
           "                bytes missing from the image, verdict: live / copy of ring N /\n"
           "                older load), the locators found and the candidates rejected;\n"
           "                write nothing\n"
           "  -o FILE       the trace to write (with --all: FILE's stem + .N.dmat per ring)\n"
           "  --ring N      carve ring N of the list (any verdict; without it the one live\n"
           "                ring or per-CPU region is carved, and several need --ring or\n"
           "                --all; ring 0 of a per-CPU region carves its rings merged)\n"
           "  --all         carve every ring found\n"
           "  --allow-cut   accept an image whose end is missing (pages there are absent)\n"
           "  --merge FILE  FILE is the recording the crash cut (or `recover` made whole):\n"
           "                write it whole, continued by each ring's records after the last\n"
           "                one it holds (a per-CPU region: every ring, merged; no\n"
           "                duplicates; numbers in neither become a LOST record, reason\n"
           "                absent, per ring)\n\n"
           "Committed records are delivered once, in sequence order; reservations in flight\n"
           "and slots the image lacks become LOST records.  A locator the probe wrote into\n"
           "a crash dump's secondary data (bug check 0xEA) names the live ring: carve then\n"
           "goes straight to it; without one (or when it does not validate) the image is\n"
           "scanned, and copies of a ring and rings of earlier loads are told apart by\n"
           "instance id and state (schema/FORMAT.md).\n");
}

typedef struct found {
    size_t image; /* index into the image list */
    dmt_carve_ring ring;
} found;

static void progress(void *ctx, uint64_t done, uint64_t total)
{
    uint64_t *last = ctx;
    if (done - *last < (256u << 20) && done != total)
        return;
    *last = done;
    fprintf(stderr, "\rcarve: scanned %.1f of %.1f GB   ", (double)done / 1e9, (double)total / 1e9);
}

static const char *policy_name(uint32_t p)
{
    return p == DMT_RING_OVERWRITE_OLDEST ? "overwrite" : "drop";
}

/* "OUT.dmat" -> "OUT.N.dmat" (or "OUT.N" when there is no .dmat). */
static void nth_name(char *dst, size_t cap, const char *out, size_t n)
{
    size_t len = strlen(out);
    if (len > 5 && strcmp(out + len - 5, ".dmat") == 0)
        snprintf(dst, cap, "%.*s.%zu.dmat", (int)(len - 5), out, n);
    else
        snprintf(dst, cap, "%s.%zu", out, n);
}

int cmd_carve(int argc, char **argv)
{
    static const struct option lo[] = {
        {"output", required_argument, 0, 'o'}, {"list", no_argument, 0, 'l'},
        {"ring", required_argument, 0, 'r'},   {"all", no_argument, 0, 'a'},
        {"allow-cut", no_argument, 0, 'c'},    {"merge", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *out = NULL, *partial = NULL;
    bool list = false, all = false;
    unsigned flags = 0;
    uint64_t pick = 0;
    bool picked = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:lr:acm:h", lo, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'l':
            list = true;
            break;
        case 'r':
            if (!cli_parse_u64(optarg, &pick))
                return cli_usage("carve", "--ring needs a ring number, not '%s'", optarg);
            picked = true;
            break;
        case 'a':
            all = true;
            break;
        case 'c':
            flags |= DMT_IMAGE_ALLOW_CUT;
            break;
        case 'm':
#ifdef DMT_NO_CBOR_READER
            return cli_usage("carve", "--merge reads a trace, which needs libcbor: this Windows "
                                      "build cannot; carve here and merge with the Linux dmatrace");
#endif
            partial = optarg;
            break;
        case 'h':
            help();
            return CLI_OK;
        default:
            return cli_usage("carve", "bad option");
        }
    }
    if (optind == argc)
        return cli_usage("carve", "name at least one IMAGE");
    if (!list && !out)
        return cli_usage("carve", "-o OUT.dmat (or --list) is required");
    if (all && picked)
        return cli_usage("carve", "--ring and --all exclude each other");
    if (partial && all)
        return cli_usage("carve", "--merge continues one recording: choose one ring, not --all");

    const size_t n_images = (size_t)(argc - optind);
    dmt_carve_scan_result *res = malloc(sizeof *res);
    found *rings = calloc(DMT_CARVE_MAX_CANDIDATES, sizeof *rings);
    if (!res || !rings) {
        free(res);
        free(rings);
        return cli_fail("carve", CLI_FAIL, "out of memory");
    }
    size_t n = 0;
    int st = CLI_OK;
    const bool tty = cli_progress_enabled();
    for (size_t i = 0; i < n_images && st == CLI_OK; i++) {
        const char *path = argv[optind + (int)i];
        dmt_image *img;
        dmt_error err;
        /* A small dump opens too: its secondary data may hold a locator. */
        int rc = dmt_image_open(path, flags | DMT_IMAGE_NO_MEMORY_OK, &img, &err);
        if (rc) {
            st = cli_report("carve", path, &err);
            break;
        }
        uint64_t last = 0;
        /* Straight to the ring a locator names, unless the user asked for
         * the numbering of the full list (--ring, --all, --list). */
        rc = list || all || picked || n_images > 1 ? 0 : dmt_carve_locate(img, res, &err);
        if (rc != 1 && rc >= 0)
            rc = dmt_carve_scan(img, res, tty ? progress : NULL, &last, &err);
        else if (rc == 1)
            rc = 0;
        if (tty)
            fprintf(stderr, "\r\033[K");
        if (rc) {
            st = cli_report("carve", path, &err);
            dmt_image_close(img);
            break;
        }
        const dmt_image_info *in = dmt_image_get_info(img);
        if (in->cut_bytes)
            fprintf(stderr, "dmatrace carve: %s: the image is cut: %" PRIu64 " bytes are missing\n",
                    path, in->cut_bytes);
        char line[512];
        for (size_t k = 0; k < res->n_locators; k++) {
            dmt_carve_locator_text(res, k, line, sizeof line);
            if (list)
                printf("%s: %s\n", path, line);
            else if (res->locators[k].reject != DMT_LOC_OK)
                fprintf(stderr, "dmatrace carve: %s: %s; scanning instead\n", path, line);
        }
        if (list && res->locators_dropped)
            printf("%s: %" PRIu64 " more locator magic(s) not examined (at most %u)\n", path,
                   res->locators_dropped, DMT_CARVE_MAX_LOCATORS);
        if (in->present == 0) {
            /* Dump type 3 or 4: say where the ring was, if a locator knows. */
            char was[192] = "";
            if (res->trusted >= 0 &&
                res->locators[res->trusted].loc.phys_source != DMT_LOC_PHYS_NONE) {
                const dmt_locator *l = &res->locators[res->trusted].loc;
                snprintf(was, sizeof was,
                         "; its locator says the ring was at physical 0x%" PRIx64
                         " (instance 0x%" PRIx64 ")",
                         l->rings[0].phys, l->instance);
            }
            st = cli_fail("carve", CLI_BAD,
                          "%s: dump type %u (%s) holds no memory, so not the ring%s: set the test "
                          "machine to write a kernel or complete memory dump",
                          path, in->dump_type, in->dump_type == 3 ? "header only" : "small/triage",
                          was);
            dmt_image_close(img);
            break;
        }
        uint64_t rejected = 0;
        for (int r = 0; r < DMT_CARVE_REJ_N_; r++)
            rejected += res->rejected[r];
        if (res->n == 0 || list) {
            char why[512] = "";
            size_t w = 0;
            for (int r = 0; r < DMT_CARVE_REJ_N_ && w < sizeof why; r++)
                if (res->rejected[r])
                    w += (size_t)snprintf(why + w, sizeof why - w, "%s%" PRIu64 " %s",
                                          w ? ", " : ": ", res->rejected[r],
                                          dmt_carve_reject_name((enum dmt_carve_reject)r));
            if (res->n == 0)
                fprintf(stderr,
                        "dmatrace carve: no dmatrace ring found in %s (%" PRIu64
                        " candidates rejected%s)\n",
                        path, rejected, why);
            else
                printf("%s: %s, %" PRIu64 " bytes of memory, %zu ring(s), %" PRIu64
                       " candidate(s) rejected%s\n",
                       path, dmt_image_format_name(in->format), in->present, res->n, rejected, why);
            if (list && res->blob_off != UINT64_MAX)
                printf("%s: secondary data (DumpBlob) at byte %" PRIu64 ", %u block(s)\n", path,
                       res->blob_off, res->n_blobs);
        }
        for (size_t k = 0; k < res->n && n < DMT_CARVE_MAX_CANDIDATES; k++) {
            rings[n].image = i;
            rings[n].ring = res->rings[k];
            if (list) {
                const dmt_carve_ring *r = &res->rings[k];
                dmt_carve_verdict_text(res, k, line, sizeof line);
                printf("  ring %zu: physical 0x%" PRIx64 ", instance 0x%" PRIx64
                       ", ring %u of %u, %" PRIu64 " KiB, %s, seq %" PRIu64 "..%" PRIu64
                       "%s, committed %" PRIu64 ", lost %" PRIu64 " full / %" PRIu64
                       " overwritten / %" PRIu64 " torn, %" PRIu64 " bytes not in the image: %s\n",
                       n, r->phys, r->instance, r->ring_index, r->ring_count, r->data_size >> 10,
                       policy_name(r->policy), r->tail_seq, r->head_seq,
                       (r->flags & DMT_RING_F_CLOSED) ? ", closed" : "", r->committed, r->lost_full,
                       r->lost_overwritten, r->lost_torn, r->absent, line);
            }
            n++;
        }
        for (size_t k = 0; list && k < res->n_rejected_at; k++)
            printf("  rejected: physical 0x%" PRIx64 ": %s\n", res->rejected_at[k].phys,
                   dmt_carve_reject_name(res->rejected_at[k].why));
        dmt_image_close(img);
    }
    if (st == CLI_OK && n == 0)
        st = CLI_BAD;
    if (st == CLI_OK && !list) {
        /* Live rings count once per per-CPU region: ring 0 of a region
         * carves all of its rings, merged. */
        size_t live = 0, the_live = 0;
        for (size_t k = 0; k < n; k++) {
            const dmt_carve_ring *r = &rings[k].ring;
            if (r->verdict != DMT_CARVE_LIVE)
                continue;
            bool covered = false;
            for (size_t j = 0; r->ring_index > 0 && j < n && !covered; j++)
                covered = rings[j].ring.verdict == DMT_CARVE_LIVE &&
                          rings[j].ring.ring_index == 0 && rings[j].ring.instance == r->instance &&
                          rings[j].ring.ring_count == r->ring_count;
            if (!covered) {
                live++;
                the_live = k;
            }
        }
        if (!all && !picked && n > 1 && live == 1) {
            pick = the_live; /* copies and older loads are listed, not carved */
            picked = true;
        } else if (!all && !picked && n > 1) {
            fprintf(stderr,
                    "dmatrace carve: %zu rings found, %zu of them live: choose one with --ring N "
                    "or use --all (see --list)\n",
                    n, live);
            st = CLI_BAD;
        } else if (picked && pick >= n) {
            st = cli_usage("carve", "--ring %" PRIu64 ": there are %zu ring(s)", pick, n);
        }
    }
    for (size_t k = 0; st == CLI_OK && !list && k < n; k++) {
        if (picked && k != pick)
            continue;
        const char *path = argv[optind + (int)rings[k].image];
        char name[4096];
        if (all)
            nth_name(name, sizeof name, out, k);
        else
            snprintf(name, sizeof name, "%s", out);
        dmt_image *img;
        dmt_error err;
        dmt_carve_stats cs;
        int rc = dmt_image_open(path, flags, &img, &err);
        if (rc == 0) {
            rc = dmt_carve_extract(img, &rings[k].ring, path, partial, name, &cs, &err);
            dmt_image_close(img);
        }
        if (rc) {
            st = cli_report("carve", path, &err);
            break;
        }
        fprintf(stderr,
                "dmatrace carve: %s: ring at physical 0x%" PRIx64 " -> %s: %" PRIu64
                " records, %" PRIu64 " lost (sequence %" PRIu64 "..%" PRIu64 ")\n",
                path, rings[k].ring.phys, name, cs.records, cs.lost, cs.first_seq,
                cs.next_seq ? cs.next_seq - 1 : 0);
        if (partial)
            fprintf(stderr,
                    "dmatrace carve: %s continued: %" PRIu64
                    " sequence number(s) in neither it nor the ring (LOST, reason absent)%s\n",
                    partial, cs.absent, cs.recover_marker ? "; recover's marker left out" : "");
        if (rings[k].ring.ring_count > 1)
            fprintf(stderr,
                    "dmatrace carve: %s: a per-CPU region of %u rings, merged; %u of them "
                    "not in the image\n",
                    path, rings[k].ring.ring_count, cs.rings_missing);
    }
    free(res);
    free(rings);
    return st;
}

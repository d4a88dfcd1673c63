/*
 * cmd_record.c - `dmatrace record --ring PATH -o FILE.dmat`: create or
 * attach to a shared-memory ring that another process writes (the probe in
 * `dmatrace capture --ring PATH`, or a driver's ring mapped by a helper),
 * and drain it into a crash-safe trace file until SIGINT/SIGTERM or until
 * the producer marks the ring closed.  On Windows `--escape` gets the ring
 * of the display's miniport through the display driver (ring_escape.c).
 * Portable: OS calls go through dmt/platform.h; the same file builds the
 * Linux tool and dmatrace.exe.
 *
 * Crash safety comes from the writer's chunk framing: the file is flushed
 * in whole chunks at least every --flush-ms (default 100 ms) whenever
 * records are buffered, busy or idle, so a SIGKILL loses at most what was
 * still in the ring or the current chunk, `dmatrace recover` closes what is
 * left, and a follower (dump/audit --follow, the viewer) sees new records
 * within that time whatever the chunk size.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dmt/drain.h"
#include "dmt/platform.h"
#include "dmt/ring.h"
#include "dmt/writer.h"
#include "ring_escape.h"

#ifdef _WIN32
#define RECORD_CLOCK "QPC"
#else
#define RECORD_CLOCK "CLOCK_MONOTONIC"
#endif

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* Atomically replace path with "records N\nbytes M\n" (what is on disk). */
static void write_status(const char *path, const dmt_writer *w)
{
    char tmp[4096];
    if (!path || snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    const dmt_writer_stats *ws = dmt_writer_get_stats(w);
    fprintf(f, "records %" PRIu64 "\nbytes %" PRIu64 "\n", ws->records_flushed, ws->bytes_flushed);
    if (fclose(f) == 0)
        dmt_file_replace(tmp, path);
}

/* Give the ring back: the file mapping, or the escape's mapping. */
static void release_ring(void *map, size_t map_len, rec_escape *esc)
{
    if (esc)
        rec_escape_close(esc);
    else
        dmt_ring_shm_unmap(map, map_len);
}

static void help(void)
{
    printf("usage: dmatrace record --ring PATH -o FILE.dmat [--policy drop|overwrite]\n"
           "                       [--size MiB] [--sync] [--regmap FILE.xml]\n"
           "       dmatrace record --escape [--display NAME] -o FILE.dmat   (Windows)\n\n"
           "Drain a shared-memory ring written by another process into a trace file, until\n"
           "SIGINT/SIGTERM or until the producer closes the ring.  The ring file PATH is\n"
           "created (with --size and --policy) when it does not exist, else attached.\n"
           "Every lost record reaches the file as a LOST record.\n\n"
           "  --escape     Windows: the ring of the display's video miniport, mapped into\n"
           "               this process through the display driver's escape\n"
           "               (docs/windows-recorder.md); unmapped at exit\n"
           "  --display NAME  the display device for --escape (default: the primary)\n"
           "  --size MiB   ring data size when creating it (default 64; 256K for KiB)\n"
           "  --policy P   drop (drop newest, default) or overwrite (oldest) when creating\n"
           "  --sync       fdatasync every chunk (slower; survives power loss)\n"
           "  --regmap FILE.xml  name this register map in the trace header (regmap_name,\n"
           "               regmap_hash: its XXH64; FORMAT.md 1.2)\n"
           "  --status FILE   after every flush, atomically rewrite FILE with the records\n"
           "                  and bytes safely written so far (monitoring, crash tests)\n"
           "  --exit-idle MS  stop after the ring has been idle for MS ms\n"
           "  --flush-ms MS   write the current chunk at least every MS ms while records\n"
           "                  are buffered (default 100; followers see records that soon)\n"
           "  --throttle-us N sleep N us between polls (simulates a slow disk; tests)\n"
           "At exit the ring's own loss counters are printed for comparison.\n");
}

int cmd_record(int argc, char **argv)
{
    static const struct option lo[] = {
        {"ring", required_argument, 0, 'r'},     {"output", required_argument, 0, 'o'},
        {"policy", required_argument, 0, 'p'},   {"size", required_argument, 0, 's'},
        {"sync", no_argument, 0, 'y'},           {"exit-idle", required_argument, 0, 'e'},
        {"status", required_argument, 0, 'S'},   {"throttle-us", required_argument, 0, 'T'},
        {"flush-ms", required_argument, 0, 'F'}, {"escape", no_argument, 0, 'E'},
        {"display", required_argument, 0, 'D'},  {"regmap", required_argument, 0, 'M'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *ring_path = NULL, *out = NULL, *display = NULL, *regmap = NULL;
    bool escape = false;
    enum dmt_ring_policy policy = DMT_RING_DROP_NEWEST;
    uint64_t size_bytes = 64u << 20, exit_idle_ms = 0, throttle_us = 0, flush_ms = 100;
    const char *status_path = NULL;
    unsigned wflags = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:o:p:s:ye:S:T:F:ED:M:h", lo, NULL)) != -1) {
        switch (c) {
        case 'r':
            ring_path = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'p':
            if (!strcmp(optarg, "drop"))
                policy = DMT_RING_DROP_NEWEST;
            else if (!strcmp(optarg, "overwrite"))
                policy = DMT_RING_OVERWRITE_OLDEST;
            else
                return cli_usage("record", "--policy is drop or overwrite, not '%s'", optarg);
            break;
        case 's': {
            /* MiB, or KiB with a K suffix (small rings for tests). */
            char num[32];
            size_t n = strlen(optarg);
            bool kib = n > 1 && (optarg[n - 1] == 'K' || optarg[n - 1] == 'k');
            snprintf(num, sizeof num, "%.*s", (int)(kib ? n - 1 : n), optarg);
            if (!cli_parse_u64(num, &size_bytes) || size_bytes == 0 ||
                size_bytes > (kib ? 4194304u : 4096u))
                return cli_usage("record", "--size needs 1..4096 (MiB) or 4K..4194304K, not '%s'",
                                 optarg);
            size_bytes <<= kib ? 10 : 20;
            if (size_bytes < 4096)
                return cli_usage("record", "--size must be at least 4K");
            break;
        }
        case 'y':
            wflags |= DMT_WRITE_SYNC;
            break;
        case 'e':
            if (!cli_parse_u64(optarg, &exit_idle_ms))
                return cli_usage("record", "--exit-idle needs milliseconds, not '%s'", optarg);
            break;
        case 'S':
            status_path = optarg;
            break;
        case 'T':
            if (!cli_parse_u64(optarg, &throttle_us) || throttle_us > 1000000)
                return cli_usage("record", "--throttle-us needs 0..1000000, not '%s'", optarg);
            break;
        case 'E':
            escape = true;
            break;
        case 'D':
            display = optarg;
            break;
        case 'F':
            if (!cli_parse_u64(optarg, &flush_ms) || flush_ms == 0 || flush_ms > 60000)
                return cli_usage("record", "--flush-ms needs 1..60000, not '%s'", optarg);
            break;
        case 'M':
            regmap = optarg;
            break;
        case 'h':
            help();
            return CLI_OK;
        default:
            return cli_usage("record", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage("record", "unexpected argument '%s'", argv[optind]);
    if (!!ring_path == escape || !out)
        return cli_usage("record", "--ring PATH or --escape, and -o FILE.dmat, are required");
    dmt_header id; /* the map --regmap names (FORMAT.md 1.2) */
    memset(&id, 0, sizeof id);
    if (regmap && !cli_header_regmap(&id, regmap))
        return cli_fail("record", CLI_BAD, "--regmap %s: %s", regmap, strerror(errno));

    dmt_ringset set;
    void *map = NULL;
    size_t map_len = 0;
    rec_escape *esc = NULL;
    int rc;
    if (escape) {
        char why[256];
        if (rec_escape_open(display, &set, &esc, why, sizeof why) != 0)
            return cli_fail("record", CLI_FAIL, "--escape: %s", why);
    } else {
        rc = dmt_ringset_shm_open(ring_path, &set, &map, &map_len);
        if (rc == -ENOENT)
            rc = dmt_ringset_shm_create(ring_path, (size_t)size_bytes, policy, 1, 0, &set, &map,
                                        &map_len);
        if (rc < 0)
            return cli_fail("record", rc == -EPROTO ? CLI_BAD : CLI_FAIL, "%s: %s", ring_path,
                            rc == -EPROTO ? "not a dmatrace ring of this version" : strerror(-rc));
    }

    dmt_header h;
    memset(&h, 0, sizeof h);
    snprintf(h.producer, sizeof h.producer, "dmatrace record " DMT_VERSION);
    /* The probe says in the ring header when it stamps from the TSC (it
     * attached before; one that attaches later is told by its CALIBRATION
     * records only). */
    snprintf(h.clock, sizeof h.clock, "%s",
             set.rings[0].hdr->clock_hint == DMT_RING_CLOCK_TSC ? "TSC/" RECORD_CLOCK
                                                                : RECORD_CLOCK);
    cli_header_machine(&h);
    memcpy(h.regmap_name, id.regmap_name, sizeof h.regmap_name);
    h.regmap_hash = id.regmap_hash;
    h.ring_size = set.rings[0].size;
    h.ring_policy = set.rings[0].hdr->policy;
    h.cpus = set.count > 1 ? set.count : h.cpus;
    /* The drain first: where it starts each ring goes into the header
     * (seq0 of a single ring; ring_seq0 of a per-CPU region, whose merge
     * numbers from 0), which is written before any record arrives, so
     * even a recording cut before its first chunk says where it began. */
    dmt_drain *d = dmt_drain_new_set(&set, NULL, 200000000ull);
    if (!d) {
        release_ring(map, map_len, esc);
        return cli_fail("record", CLI_FAIL, "out of memory");
    }
    dmt_drain_header(d, &h);
    dmt_writer *w;
    dmt_error err;
    if ((rc = dmt_writer_open(out, &h, wflags | DMT_WRITE_HEADER_NOW, &w, &err)) != 0) {
        dmt_drain_free(d);
        release_ring(map, map_len, esc);
        return cli_report("record", out, &err);
    }
    dmt_drain_set_writer(d, w);
    /* Fault injection for tests: fail writes after N bytes, like a full disk. */
    const char *inj = getenv("DMT_INJECT_ENOSPC_AFTER");
    uint64_t inj_bytes;
    if (inj && cli_parse_u64(inj, &inj_bytes))
        dmt_writer_inject_failure(w, inj_bytes, ENOSPC);

    dmt_on_stop(on_signal);

    bool tty = cli_progress_enabled();
    uint64_t start = dmt_now_ns(), last_flush = start, last_progress = 0, idle_since = 0;
    uint64_t stop_at = 0, last_chunks = 0;
    int st = CLI_OK;
    for (;;) {
        uint64_t now = dmt_now_ns();
        rc = dmt_drain_poll(d, now, throttle_us ? 8 : 8192, &err);
        if (rc < 0) {
            st = cli_report("record", out, &err);
            break;
        }
        if (rc == DMT_DRAIN_DONE)
            break;
        if (stop_signal && !stop_at)
            stop_at = now;
        /* After a signal: drain what is committed, but not forever. */
        if (stop_at && (rc == DMT_DRAIN_IDLE || now - stop_at > 500000000ull))
            break;
        /* Bound a follower's latency: whole chunks at least every flush_ms
         * (idle: at most every 50 ms, as before, when that is sooner). */
        uint64_t flush_ns = flush_ms * 1000000ull;
        if (rc == DMT_DRAIN_IDLE && flush_ns > 50000000ull)
            flush_ns = 50000000ull;
        if (now - last_flush > flush_ns) {
            if (dmt_writer_flush(w, &err) < 0) {
                st = cli_report("record", out, &err);
                break;
            }
            if (rc == DMT_DRAIN_IDLE || dmt_writer_get_stats(w)->chunks != last_chunks) {
                last_chunks = dmt_writer_get_stats(w)->chunks;
                write_status(status_path, w);
            }
            last_flush = now;
        }
        if (rc == DMT_DRAIN_IDLE) {
            if (!idle_since)
                idle_since = now;
            if (exit_idle_ms && now - idle_since > exit_idle_ms * 1000000ull)
                break;
            dmt_sleep_us(200);
        } else {
            idle_since = 0;
            if (status_path && dmt_writer_get_stats(w)->chunks != last_chunks) {
                last_chunks = dmt_writer_get_stats(w)->chunks;
                write_status(status_path, w);
            }
        }
        if (throttle_us)
            dmt_sleep_us(throttle_us);
        if (tty && now - last_progress > 250000000ull) {
            const dmt_drain_stats *ds = dmt_drain_get_stats(d);
            double secs = (double)(now - start) / 1e9;
            fprintf(stderr,
                    "\rrecord: %" PRIu64 " records, %.1f MB, %" PRIu64 " lost, %.0f records/s   ",
                    ds->records, (double)dmt_writer_get_stats(w)->bytes_flushed / 1e6, ds->lost,
                    secs > 0 ? (double)ds->records / secs : 0.0);
            last_progress = now;
        }
    }
    if (tty)
        fprintf(stderr, "\r\033[K");
    if (st == CLI_OK && dmt_drain_finish(d, &err) < 0)
        st = cli_report("record", out, &err);
    const dmt_drain_stats ds = *dmt_drain_get_stats(d);
    uint64_t on_disk = 0;
    dmt_drain_free(d);
    if (st == CLI_OK) {
        if ((rc = dmt_writer_flush(w, &err)) == 0)
            write_status(status_path, w);
        on_disk = dmt_writer_get_stats(w)->records_flushed;
        if ((rc = dmt_writer_close(w, &err)) != 0)
            st = cli_report("record", out, &err);
    } else {
        /* What is on disk stays: readable to its last whole record. */
        dmt_writer_abort(w);
        fprintf(stderr,
                "dmatrace record: %s is readable up to the failure; run "
                "'dmatrace recover %s' to close it\n",
                out, out);
    }
    uint64_t committed = 0, full = 0, overwritten = 0, torn = 0;
    for (uint32_t i = 0; i < set.count; i++) {
        dmt_ring_hdr *rh = set.rings[i].hdr;
        committed += __atomic_load_n(&rh->committed, __ATOMIC_RELAXED);
        full += __atomic_load_n(&rh->lost_full, __ATOMIC_RELAXED);
        overwritten += __atomic_load_n(&rh->lost_overwritten, __ATOMIC_RELAXED);
        torn += __atomic_load_n(&rh->lost_torn, __ATOMIC_RELAXED);
    }
    fprintf(stderr,
            "dmatrace record: ring counters%s: %" PRIu64 " committed, %" PRIu64
            " refused (full), %" PRIu64 " overwritten, %" PRIu64 " torn\n",
            set.count > 1 ? " (all rings)" : "", committed, full, overwritten, torn);
    release_ring(map, map_len, esc);
    fprintf(stderr,
            "dmatrace record: %s: %" PRIu64 " records drained, %" PRIu64 " on disk, %" PRIu64
            " lost%s\n",
            out, ds.records, on_disk, ds.lost, stop_signal ? " (stopped by signal)" : "");
    if (ds.lost)
        fprintf(stderr,
                "dmatrace record: WARNING: %" PRIu64 " records lost (%" PRIu64
                " failed validation)\n",
                ds.lost, ds.corrupt);
    return st;
}

/*
 * follow_common.c - the `--follow` polling loop of dump and audit (see
 * follow_common.h).  Polls every 10 ms; the library decides what is
 * verified, this file only waits, flushes and says why following ended.
 */
#include "follow_common.h"

#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define POLL_NS 10000000L
#define LAT_MS  10000u /* histogram: 1 ms buckets up to 10 s, the last one open */

static uint64_t lat_hist[LAT_MS + 1];

static volatile sig_atomic_t follow_signal;

static void on_signal(int sig)
{
    follow_signal = sig;
}

static void nap(void)
{
    struct timespec ts = {0, POLL_NS};
    nanosleep(&ts, NULL);
}

bool follow_option(follow_run *fr, int c, const char *arg)
{
    if (c == 'w')
        return fr->on = true;
    if (cli_parse_u64(arg, &fr->stall_ms) && fr->stall_ms <= 86400000u)
        return true;
    cli_usage(fr->cmd, "--stall-ms needs 0..86400000 (ms), not '%s'", arg);
    return false;
}

int follow_run_open(follow_run *fr, unsigned reader_flags, dmt_error *err)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A recorder writes the header at open; give a just-started one time. */
    uint64_t waited = 0;
    for (;;) {
        int rc = dmt_follow_open(fr->file, reader_flags, fr->stall_ms, &fr->f, err);
        /* Not there yet, empty, or only part of the header: wait. */
        struct stat st;
        int there = stat(fr->file, &st);
        bool empty = rc == DMT_E_FOREIGN && there == 0 && st.st_size == 0;
        bool absent = rc == DMT_E_IO && there != 0 && errno == ENOENT;
        if ((rc != DMT_E_TRUNCATED && !empty && !absent) || follow_signal ||
            waited >= fr->stall_ms * 1000000ull)
            return rc;
        nap();
        waited += POLL_NS;
    }
}

int follow_run_next(follow_run *fr, dmt_record *rec, dmt_error *err)
{
    for (;;) {
        if (follow_signal && !fr->interrupted) {
            fr->interrupted = true;
            fprintf(stderr, "dmatrace %s: %s: stopped following (signal)\n", fr->cmd, fr->file);
            return 0;
        }
        if (fr->interrupted)
            return 0;
        int rc = dmt_follow_next(fr->f, rec, err);
        if (rc == DMT_FOLLOW_STALLED) {
            fflush(stdout);
            fprintf(stderr,
                    "dmatrace %s: %s: the trace stopped growing (no END record, no new bytes "
                    "for %" PRIu64 " ms); reading what it has\n",
                    fr->cmd, fr->file, fr->stall_ms);
            fr->stalled = true;
            dmt_follow_stop(fr->f);
            continue;
        }
        if (rc == 1 && fr->latency) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
            uint64_t d = now > rec->ts ? (uint64_t)(now - rec->ts) : 0;
            lat_hist[d / 1000000u < LAT_MS ? d / 1000000u : LAT_MS]++;
            fr->lat_n++;
            fr->lat_max_ns = d > fr->lat_max_ns ? d : fr->lat_max_ns;
        }
        if (rc != DMT_FOLLOW_AGAIN)
            return rc;
        fflush(stdout);
        nap();
    }
}

/* The ms bucket holding the q-th quantile of the latency histogram. */
static unsigned lat_quantile(const follow_run *fr, double q)
{
    uint64_t want = (uint64_t)(q * (double)(fr->lat_n - 1)) + 1, seen = 0;
    for (unsigned i = 0; i <= LAT_MS; i++)
        if ((seen += lat_hist[i]) >= want)
            return i;
    return LAT_MS;
}

void follow_run_close(follow_run *fr)
{
    if (fr->latency && fr->f && fr->lat_n)
        fprintf(stderr,
                "dmatrace %s: %s: latency from record time to the follower: %" PRIu64
                " records, median %u ms, p99 %u ms, worst %.1f ms\n",
                fr->cmd, fr->file, fr->lat_n, lat_quantile(fr, 0.5), lat_quantile(fr, 0.99),
                (double)fr->lat_max_ns / 1e6);
    dmt_follow_close(fr->f);
    fr->f = NULL;
}

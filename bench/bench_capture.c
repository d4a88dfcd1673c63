/*
 * bench_capture.c - capture rate with the probe on and compiled out.
 *
 * The sample miniport runs on the host VideoPort (deterministic scheduling,
 * real clock, as `dmatrace capture` runs it) and serves a workload of
 * upload+readback pairs through its IOCTL path.  Variant "probe": the
 * driver built with DMT_PROBE, logging into a 64 MiB ring that a drain
 * thread writes to a trace file, as capture does.  Variant "off": the same
 * driver source built without the probe (dmtmini_noprobe).  The probe runs
 * with the default digest policy (bounded) and with full.  All run the
 * same workload in the same process; the median of 5 runs is reported with
 * transfers/s, records/s, the overhead of tracing and the records lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmt/digest.h"
#undef DMT_PROBE
#include "dmtc_session.h"
#include "dmtmini_host.h"

#define RUNS 5

typedef struct workload {
    const char *name;
    uint32_t pairs;
    uint32_t min_len, max_len;
} workload;

static const workload workloads[] = {
    {"burst (64 B - 16 KiB)", 4000, 64, 16384},
    {"mixed (1 B - 1 MiB)", 300, 1, 1u << 20},
};

static uint64_t lenof(uint64_t *s, const workload *w)
{
    *s += 0x9E3779B97F4A7C15ull;
    uint64_t r = dmt_splitmix64(*s);
    /* Log-uniform between min and max. */
    double u = (double)(r >> 11) / (double)(1ull << 53);
    double lo = w->min_len, hi = w->max_len;
    uint64_t n = (uint64_t)(lo * __builtin_exp(u * __builtin_log(hi / lo)));
    return n < w->min_len ? w->min_len : n > w->max_len ? w->max_len : n;
}

/* One run; returns seconds, fills records/lost for the probe variants.
 * probe: 0 compiled out, else 1 + the digest policy. */
static double run(const workload *wl, int probe, uint64_t *records, uint64_t *lost)
{
    dmtc_config sc;
    dmtc_config_default(&sc);
    sc.host.deterministic = true;
    sc.host.real_clock = true;
    sc.host.contig_permille = 400;
    sc.ring = probe ? DMTC_RING_MEMORY : DMTC_RING_NONE;
    sc.ring_data = 64u << 20;
    sc.populate = true;
    sc.digest_policy = probe ? probe - 1 : -1;
    char path[] = "/tmp/bench_capture-XXXXXX";
    if (probe) {
        int fd = mkstemp(path);
        close(fd);
        sc.drain = DMTC_DRAIN_THREAD;
        sc.out = path;
        snprintf(sc.header.producer, sizeof sc.header.producer, "bench_capture");
    }
    dmtc_session *s;
    dmt_error err;
    if (dmtc_open(&sc, &s, NULL, &err) != 0 ||
        dmtc_load(s, probe ? DriverEntry : dmtmini_noprobe_DriverEntry, &err) != 0) {
        fprintf(stderr, "bench_capture: %s\n", err.msg);
        exit(1);
    }
    hvp_machine *m = dmtc_machine(s);
    DMTMINI_CONFIG cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.version = DMTMINI_IOCTL_VERSION;
    for (int ch = 0; ch < 2; ch++) {
        cfg.ch[ch].scatter_gather = 1;
        cfg.ch[ch].dma64 = 1;
        cfg.ch[ch].maximum_length = 1u << 20;
    }
    uint32_t ret;
    hvp_ioctl(m, IOCTL_DMTMINI_CONFIGURE, &cfg, sizeof cfg, NULL, 0, &ret);
    uint8_t *a = NULL, *b = NULL;
    if (posix_memalign((void **)&a, 4096, wl->max_len + 4096) ||
        posix_memalign((void **)&b, 4096, wl->max_len + 4096))
        abort();
    memset(a, 0x5A, wl->max_len + 4096);
    memset(b, 0, wl->max_len + 4096);
    uint64_t seed = 42;
    uint64_t t0 = dmt_now_ns();
    for (uint32_t i = 0; i < wl->pairs; i++) {
        DMTMINI_TRANSFER_IN in;
        DMTMINI_TRANSFER_OUT out;
        memset(&in, 0, sizeof in);
        in.length = (uint32_t)lenof(&seed, wl);
        in.dev_offset = (i * 4096u) % (8u << 20);
        in.channel = DMTMINI_CH_H2C;
        in.buffer = (uint64_t)(uintptr_t)(a + (i % 7) * 8);
        hvp_ioctl(m, IOCTL_DMTMINI_TRANSFER, &in, sizeof in, &out, sizeof out, &ret);
        in.channel = DMTMINI_CH_C2H;
        in.buffer = (uint64_t)(uintptr_t)(b + (i % 5) * 8);
        hvp_ioctl(m, IOCTL_DMTMINI_TRANSFER, &in, sizeof in, &out, sizeof out, &ret);
    }
    hvp_wait_idle(m, 10000);
    uint64_t t1 = dmt_now_ns();
    dmt_drain_stats ds;
    dmtc_finish(s, &ds, &err);
    *records = ds.records;
    *lost = ds.lost;
    dmtc_free(s);
    if (probe)
        unlink(path);
    free(a);
    free(b);
    return (double)(t1 - t0) / 1e9;
}

static int cmpd(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int main(void)
{
    printf("# bench_capture: median of %d runs; transfers = IOCTLs (an upload and a readback "
           "per pair)\n",
           RUNS);
    printf("%-24s %-8s %12s %12s %12s %9s %7s\n", "workload", "digest", "off xfer/s",
           "probe xfer/s", "records/s", "overhead", "lost");
    static const int variants[] = {1 + DMT_DIGEST_BOUNDED, 1 + DMT_DIGEST_FULL};
    static const char *const vname[] = {"bounded", "full"};
    for (size_t w = 0; w < sizeof workloads / sizeof workloads[0]; w++) {
        double on[2][RUNS], off[RUNS];
        uint64_t rec[2] = {0, 0}, lost[2] = {0, 0}, r, l;
        for (int i = 0; i < RUNS; i++) {
            off[i] = run(&workloads[w], 0, &r, &l);
            for (int k = 0; k < 2; k++) {
                int v = (k + i) % 2; /* alternate which variant runs first */
                on[v][i] = run(&workloads[w], variants[v], &r, &l);
                rec[v] = r;
                lost[v] += l;
            }
        }
        qsort(off, RUNS, sizeof off[0], cmpd);
        double x = 2.0 * workloads[w].pairs;
        for (int v = 0; v < 2; v++) {
            qsort(on[v], RUNS, sizeof on[v][0], cmpd);
            double t = on[v][RUNS / 2], t0 = off[RUNS / 2];
            printf("%-24s %-8s %12.0f %12.0f %12.0f %8.1f%% %7llu\n", workloads[w].name, vname[v],
                   x / t0, x / t, (double)rec[v] / t, 100.0 * (t - t0) / t0,
                   (unsigned long long)lost[v]);
            printf("RESULT\tcapture %s, digest %s, transfers/s\t%.0f /s\t%s\t%.0f /s probe "
                   "off\t%.2f\n",
                   workloads[w].name, vname[v], x / t, v == 0 ? "tracing <= 10%" : "(report)",
                   x / t0, t / t0);
            printf(
                "RESULT\tcapture %s, digest %s, records/s (lost)\t%.0f /s (%llu)\t0 lost\t-\t-\n",
                workloads[w].name, vname[v], (double)rec[v] / t, (unsigned long long)lost[v]);
        }
    }
    return 0;
}

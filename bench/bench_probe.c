/*
 * bench_probe.c - the probe's own work, measured inside the running probe.
 *
 * The probe (dmt_probe.c) runs on the host VideoPort with the sample
 * miniport loaded (as capture runs it); the bench then acts as a second
 * driver on the same machine, calling the probe's wrappers directly:
 *
 *   1. Per transfer, the CompleteDma path (what a DPC pays: finding the
 *      transfer, reserving DIGEST + COMPLETE_DMA, the digest, encoding,
 *      committing) for 4 KiB, 64 KiB and 4 MiB transfers under each digest
 *      policy: the wrapper's time minus the same call with the probe
 *      disabled, in the same run.  Buffers rotate through 64 MiB, more than
 *      the last-level cache, so the digest reads memory as it would after a
 *      device wrote it.  The full policy's digest rate is put next to a
 *      memcpy of the same bytes from the same buffers.  Also the ExecuteDma
 *      path (EXECUTE_DMA with the whole SG list), the other DISPATCH_LEVEL
 *      work of a transfer.
 *   2. Per record, a register write through the wrapper: attached minus
 *      disabled, with the probe stamping from the TSC (its default where
 *      the TSC is invariant) and from VideoPortQueryPerformanceCounter
 *      (reattached with each clock); next to it its parts measured alone
 *      in the same run: the counter read, an invariant TSC read and scaled
 *      to ns as the probe does, encoding a REG_WRITE as the probe does
 *      (dmt_enc_reg) and as it did before (a dmt_record, its bound and
 *      dmt_enc_record), and a ring reserve + commit of its bytes.
 *
 * Every figure is a median of many timed calls (a transfer) or batches (a
 * thousand records): on a machine shared by several jobs a call that was
 * preempted is an outlier the median ignores (a DPC is not preempted).
 * RESULT lines as the other bench programs.
 */
#include <ntdef.h>
#include <dderror.h>
#include <devioctl.h>
#include <miniport.h>
#include <ntddvdeo.h>
#include <video.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmm/map.h"
#include "dmt/digest.h"
#include "dmt/enc.h"
#include "dmt/platform.h"
#include "dmt/record.h"
#include "dmt/ring.h"
#undef DMT_PROBE
#include "dmtc_session.h"
#include "dmtmini_host.h"

#define DMTP_NO_WRAP 1
#include "dmt_probe.h"

#define RUNS     5
#define POOL     (64u << 20) /* buffers rotate through this much memory */
#define REG_N    200000u     /* register writes per run */
#define PAGE     4096u
#define MAX_XFER (4u << 20)
#define BATCH    1000u

typedef struct cb {
    PVP_SCATTER_GATHER_LIST sg;
} cb;

static VOID NTAPI exec_cb(PVOID ext, PVP_DMA_ADAPTER ad, PVP_SCATTER_GATHER_LIST sg, PVOID ctx)
{
    (void)ext;
    (void)ad;
    ((cb *)ctx)->sg = sg;
}

static int cmpd(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmpd);
    return v[n / 2];
}

typedef struct bench {
    dmtc_session *s;
    hvp_machine *m;
    void *ext;
    PVP_DMA_ADAPTER ad;
    uint8_t *pool;
    void *mdl[POOL / MAX_XFER];
    volatile ULONG *reg;
} bench;

static void setup(bench *b)
{
    dmtc_config sc;
    dmt_error err;
    dmtc_config_default(&sc);
    sc.host.deterministic = true;
    sc.host.real_clock = true;
    sc.host.map_register_cap = 2048;
    sc.ring = DMTC_RING_MEMORY;
    sc.ring_data = 256u << 20;
    sc.populate = true;
    if (dmtc_open(&sc, &b->s, NULL, &err) != 0 || dmtc_load(b->s, DriverEntry, &err) != 0) {
        fprintf(stderr, "bench_probe: %s\n", err.msg);
        exit(1);
    }
    b->m = dmtc_machine(b->s);
    b->ext = hvp_device_extension(b->m);
    VP_DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.ScatterGather = TRUE;
    dd.Dma64BitAddresses = TRUE;
    dd.MaximumLength = MAX_XFER;
    b->ad = dmtp_VideoPortGetDmaAdapter(b->ext, &dd);
    if (posix_memalign((void **)&b->pool, PAGE, POOL))
        abort();
    for (size_t i = 0; i < POOL; i += 8)
        *(uint64_t *)(b->pool + i) = dmt_splitmix64(i);
    for (unsigned k = 0; k < POOL / MAX_XFER; k++)
        b->mdl[k] = dmtp_VideoPortLockBuffer(b->ext, b->pool + (size_t)k * MAX_XFER, MAX_XFER,
                                             VpReadAccess);
    PHYSICAL_ADDRESS bar;
    bar.QuadPart = (LONGLONG)hvp_machine_config(b->m)->bar_phys;
    b->reg = (volatile ULONG *)((uint8_t *)dmtp_VideoPortGetDeviceBase(b->ext, bar, 0x1000, 0) +
                                DMM_CH_BASE(0) + DMM_CH_DESC_LO);
    if (!b->ad || !b->mdl[0] || !b->reg) {
        fprintf(stderr, "bench_probe: no adapter, buffer or registers\n");
        exit(1);
    }
}

/* Empty the ring between measurements (nothing drains it). */
static void ring_reset(bench *b)
{
    dmt_ring *r = dmtc_ring(b->s);
    dmt_ring_consumer c;
    static uint8_t scratch[DMT_RING_MAX_PAYLOAD];
    dmt_ring_item it;
    dmt_ring_consumer_init(&c, r, UINT64_MAX);
    while (dmt_ring_next(&c, scratch, 0, &it) != DMT_RING_EMPTY)
        ;
}

/* Median ns of the StartDma path (exec) and the CompleteDma path (comp) of
 * n transfers of len bytes, each on the next buffer of the pool. */
static void xfers(bench *b, uint32_t len, unsigned n, double *exec, double *comp)
{
    double *te = malloc(n * sizeof *te), *tc = malloc(n * sizeof *tc);
    if (!te || !tc)
        abort();
    for (unsigned i = 0; i < n; i++) {
        unsigned k = i % (POOL / MAX_XFER);
        ULONG l = len;
        cb c = {NULL};
        uint64_t t0 = dmt_now_ns();
        dmtp_VideoPortStartDma(b->ext, b->ad, b->mdl[k], 0, &l, exec_cb, &c, FALSE);
        uint64_t t1 = dmt_now_ns();
        dmtp_VideoPortCompleteDma(b->ext, b->ad, c.sg, FALSE);
        uint64_t t2 = dmt_now_ns();
        te[i] = (double)(t1 - t0);
        tc[i] = (double)(t2 - t1);
    }
    *exec = median(te, (int)n);
    *comp = median(tc, (int)n);
    free(te);
    free(tc);
}

/* Median ns of a memcpy of len bytes from the next buffer of the pool. */
static double copy_rate(bench *b, uint32_t len, unsigned n, uint8_t *dst)
{
    double *t = malloc(n * sizeof *t);
    if (!t)
        abort();
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *src = b->pool + (size_t)(i % (POOL / MAX_XFER)) * MAX_XFER;
        uint64_t t0 = dmt_now_ns();
        memcpy(dst, src, len);
        __asm__ volatile("" : : "r"(dst) : "memory");
        t[i] = (double)(dmt_now_ns() - t0);
    }
    double m = median(t, (int)n);
    free(t);
    return m;
}

/* Attach the probe again with clock (a clock is chosen at attach), logging
 * and the ring empty. */
static void reattach(bench *b, uint32_t clock)
{
    dmt_ringset *set = dmtc_ringset(b->s);
    dmtp_detach();
    dmtp_set_clock(clock);
    if (dmtp_attach(set->rings[0].hdr,
                    (size_t)dmt_ringset_region_len(set->count, set->rings[0].size)) != 0)
        abort();
    ring_reset(b);
}

/* Median ns per record of batches of BATCH register writes. */
static double reg_writes(bench *b)
{
    static double t[REG_N / BATCH];
    for (unsigned k = 0; k < REG_N / BATCH; k++) {
        uint64_t t0 = dmt_now_ns();
        for (unsigned i = 0; i < BATCH; i++)
            dmtp_VideoPortWriteRegisterUlong((PULONG)b->reg, i);
        t[k] = (double)(dmt_now_ns() - t0) / BATCH;
    }
    return median(t, REG_N / BATCH);
}

int main(void)
{
    static const uint32_t sizes[] = {4096, 64u << 10, 4u << 20};
    static const char *const pname[] = {"full", "bounded", "off"};
    bench b;
    memset(&b, 0, sizeof b);
    setup(&b);
    dmtp_set_digest(DMT_DIGEST_XXH64); /* the driver's digest on Windows */
    uint8_t *dst = NULL;
    if (posix_memalign((void **)&dst, PAGE, MAX_XFER))
        abort();
    memset(dst, 0, MAX_XFER);

    printf("# bench_probe: probe work per transfer (CompleteDma path, incl. the digest) and per "
           "record, median of %d runs, probe attached minus disabled\n",
           RUNS);
    printf("%-10s %-8s %12s %12s %12s %12s\n", "transfer", "policy", "complete ns", "exec ns",
           "bare ns", "memcpy ns");
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        uint32_t len = sizes[z];
        unsigned n = len >= (1u << 20) ? 64 : 2000;
        for (uint32_t p = 0; p < DMT_DIGEST_POLICY_MAX_; p++) {
            double comp[RUNS], exec[RUNS], bare[RUNS], barex[RUNS], cp[RUNS];
            dmtp_set_digest_policy(p);
            for (int r = 0; r < RUNS; r++) {
                double e, c;
                dmtp_enable(false);
                xfers(&b, len, n, &e, &c);
                bare[r] = c;
                barex[r] = e;
                dmtp_enable(true);
                ring_reset(&b);
                xfers(&b, len, n, &e, &c);
                comp[r] = c - bare[r];
                exec[r] = e - barex[r];
                cp[r] = copy_rate(&b, len, n, dst);
            }
            double mc = median(comp, RUNS), me = median(exec, RUNS), mb = median(bare, RUNS);
            double mcp = median(cp, RUNS);
            printf("%-10u %-8s %12.0f %12.0f %12.0f %12.0f\n", len, pname[p], mc, me, mb, mcp);
            char fig[96];
            snprintf(fig, sizeof fig, "probe CompleteDma path, %u KiB, digest %s", len >> 10,
                     pname[p]);
            if (p == DMT_DIGEST_FULL)
                printf(
                    "RESULT\t%s\t%.2f us (%.1f GB/s)\t(report)\t%.2f us memcpy (%.1f GB/s)\t%.2f\n",
                    fig, mc / 1e3, len / mc, mcp / 1e3, len / mcp, mc / mcp);
            else
                printf("RESULT\t%s\t%.2f us\t%s\t%.2f us bare CompleteDma\t%.2f\n", fig, mc / 1e3,
                       p == DMT_DIGEST_BOUNDED && len == (4u << 20) ? "<= 10 us" : "(report)",
                       mb / 1e3, mc / (mb > 0 ? mb : 1));
            if (p == DMT_DIGEST_BOUNDED)
                printf(
                    "RESULT\tprobe ExecuteDma path (SG list), %u KiB\t%.2f us\t(report)\t%.2f us "
                    "bare StartDma\t-\n",
                    len >> 10, me / 1e3, median(barex, RUNS) / 1e3);
        }
    }
    dmtp_set_digest_policy(DMT_DIGEST_BOUNDED);

    /* per record: a register write with each clock (the probe reattached
     * with it), and its parts alone */
    double on[RUNS], onc[RUNS], off[RUNS], ts[RUNS], tsc[RUNS], enc[RUNS], encr[RUNS], ring[RUNS];
    bool have_tsc = dmtp_clock_for(DMTP_CLOCK_TSC) == DMTP_CLOCK_TSC;
    static double bt[REG_N / BATCH];
    uint8_t buf[256]; /* the probe's small-record buffer (DMTP_SMALL_RECORD) */
    size_t rlen = 0;
    dmt_record rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = DMT_K_REG_WRITE;
    rec.off = 0x108;
    rec.width = 4;
    dmt_ring *rg = dmtc_ring(b.s);
    uint64_t acc = 0;
    for (int r = 0; r < RUNS; r++) {
        dmtp_enable(false);
        off[r] = reg_writes(&b);
        reattach(&b, DMTP_CLOCK_COUNTER);
        onc[r] = reg_writes(&b) - off[r];
        reattach(&b, DMTP_CLOCK_TSC);
        on[r] = reg_writes(&b) - off[r];
        /* the parts, each as a median of batches like reg_writes */
        for (int part = 0; part < 5; part++) {
            for (unsigned k = 0; k < REG_N / BATCH; k++) {
                uint64_t t0 = dmt_now_ns();
                for (unsigned i = 0; i < BATCH; i++) {
                    switch (part) {
                    case 0: /* what the probe stamps records with now */
                        acc += (uint64_t)VideoPortQueryPerformanceCounter(b.ext, NULL);
                        break;
                    case 1: /* an invariant TSC scaled to ns as the probe does */
                        acc += dmt_mul_shift(dmt_rdtsc() - t0, 1431655765u, 32);
                        break;
                    case 2: /* what the probe encodes with now */
                        rlen = dmt_enc_reg(buf, sizeof buf, DMT_K_REG_WRITE, (int64_t)t0 + i, 0x108,
                                           i, 4, 1);
                        __asm__ volatile("" : : "r"(buf) : "memory");
                        break;
                    case 3: /* the previous path: a whole dmt_record, its bound, the
                               general encoder */
                        memset(&rec, 0, sizeof rec);
                        rec.kind = DMT_K_REG_WRITE;
                        rec.off = 0x108;
                        rec.width = 4;
                        rec.dev = 1;
                        rec.value = i;
                        rlen = dmt_enc_record_bound(&rec);
                        rlen = dmt_enc_record(buf, rlen <= sizeof buf ? sizeof buf : 0, &rec,
                                              (int64_t)t0 + i);
                        __asm__ volatile("" : : "r"(buf), "r"(&rec) : "memory");
                        break;
                    default:
                        dmt_ring_write(rg, buf, (uint32_t)rlen);
                        break;
                    }
                }
                bt[k] = (double)(dmt_now_ns() - t0) / BATCH;
            }
            double m = median(bt, REG_N / BATCH);
            (part == 0 ? ts : part == 1 ? tsc : part == 2 ? enc : part == 3 ? encr : ring)[r] = m;
            ring_reset(&b);
        }
    }
    __asm__ volatile("" : : "r"(acc));
    double mon = median(on, RUNS), monc = median(onc, RUNS), mts = median(ts, RUNS),
           men = median(enc, RUNS), mri = median(ring, RUNS), moff = median(off, RUNS),
           mtsc = median(tsc, RUNS), menr = median(encr, RUNS);
    printf("register write: probe %.1f ns stamped from the %s, %.1f ns from the counter, on top "
           "of %.1f ns bare; parts alone: counter %.1f (TSC read and scaled: %.1f), encode %.1f "
           "(through a dmt_record as before: %.1f), reserve+commit %.1f ns\n",
           mon, have_tsc ? "TSC" : "counter (no invariant TSC)", monc, moff, mts, mtsc, men, menr,
           mri);
    printf("RESULT\tprobe register-write record, in the running probe (%s clock)\t%.1f ns\t<= 40 "
           "ns\t%.1f ns stamped from the counter\t%.2f\n",
           have_tsc ? "TSC" : "counter", mon, monc, mon / monc);
    printf("RESULT\tprobe record timestamp (VideoPortQueryPerformanceCounter)\t%.1f ns\t(report)\t"
           "%.1f ns rdtsc scaled to ns\t%.2f\n",
           mts, mtsc, mts / mtsc);
    printf("RESULT\tprobe register-write record without its timestamp\t%.1f ns\t(report)\t%.1f ns "
           "encode + ring alone\t%.2f\n",
           monc - mts, men + mri, (monc - mts) / (men + mri));
    printf(
        "RESULT\tprobe register-write record, encode alone (dmt_enc_reg)\t%.1f ns\t(report)\t"
        "%.1f ns through a dmt_record (memset, bound, dmt_enc_record: the previous path)\t%.2f\n",
        men, menr, men / menr);
    printf("RESULT\tprobe register-write record, timestamp + encode + ring alone (TSC)\t%.1f ns\t"
           "(report)\t%.1f ns ring write of the bytes alone\t%.2f\n",
           mtsc + men + mri, mri, (mtsc + men + mri) / mri);
    dmtp_VideoPortPutDmaAdapter(b.ext, b.ad);
    dmt_error err;
    dmtc_finish(b.s, NULL, &err);
    dmtc_free(b.s);
    free(dst);
    free(b.pool);
    return 0;
}

/*
 * test_miniport.c - the sample miniport (driver/dmtmini.c) with the probe
 * (probe/dmt_probe.c) on the host VideoPort (hvp) over the device model.
 *
 * Each scenario loads the driver into a fresh hvp machine whose probe ring
 * is an in-memory dmt_ring, runs transfers through the private IOCTLs,
 * checks the bytes in host and device memory, then drains and decodes the
 * ring (dmt_ring_next + dmt_parse_ring_record) and checks the trace:
 * one EXECUTE_DMA per START_DMA whose SG list adds up to the granted
 * length, START_DMA_END/DIGEST/COMPLETE_DMA for it, digests equal to the
 * DMT64 of the buffer bytes, descriptors (DESC_WRITE) that match the SG list,
 * a doorbell per chunk, interrupts and DPCs.  Every fault injection is
 * checked to change the trace where it should.  The probe's TSC clock is
 * checked against CLOCK_MONOTONIC across calibration updates (scenario_tsc).
 *
 * Built twice: miniport_test (dmtmini, probe compiled in) and, with
 * DMTMINI_TEST_NOPROBE, miniport_noprobe_test (dmtmini_noprobe: the data path
 * only; the attached ring must stay empty).  Deterministic hvp mode except
 * the concurrency scenario, whose checks do not depend on timing.
 */
#include <ntdef.h>
#include <dderror.h>
#include <devioctl.h>
#include <miniport.h>
#include <ntddvdeo.h>
#include <video.h>

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dmm/dmm.h"
#include "dmt/carve.h"
#include "dmt/digest.h"
#include "dmt/enc.h"
#include "dmt/locator.h"
#include "dmt/reader.h"
#include "dmt/record.h"
#include "dmt/ring.h"
#define TK_CONTEXT g_scenario /* printed with every failed check */
#include "dmt/testkit.h"
#include "dmt/tk_record.h"
#include "dmt_probe.h"
#include "dmtc_session.h"
#include "dmtmini_host.h"
#include "dmtmini_hw.h"
#include "dmtmini_ioctl.h"
#include "hvp.h"

/* The driver's view of the hardware must be the device model's. */
_Static_assert(DMTHW_REG_ID == DMM_REG_ID && DMTHW_REG_CAPS == DMM_REG_CAPS, "regs");
_Static_assert(DMTHW_REG_IRQ_STATUS == DMM_REG_IRQ_STATUS, "regs");
_Static_assert(DMTHW_REG_IRQ_ENABLE == DMM_REG_IRQ_ENABLE, "regs");
_Static_assert(DMTHW_REG_DEVMEM_SIZE == DMM_REG_DEVMEM_SIZE, "regs");
_Static_assert(DMTHW_CH_BASE(1) == DMM_CH_BASE(1), "regs");
_Static_assert(DMTHW_CH_CTRL == DMM_CH_CTRL && DMTHW_CH_STATUS == DMM_CH_STATUS, "regs");
_Static_assert(DMTHW_CH_DESC_LO == DMM_CH_DESC_LO && DMTHW_CH_DESC_HI == DMM_CH_DESC_HI, "regs");
_Static_assert(DMTHW_CH_DESC_COUNT == DMM_CH_DESC_COUNT, "regs");
_Static_assert(DMTHW_CTRL_RUN == DMM_CTRL_RUN && DMTHW_CTRL_RESET == DMM_CTRL_RESET, "bits");
_Static_assert(DMTHW_STATUS_DONE == DMM_STATUS_DONE && DMTHW_STATUS_ERR == DMM_STATUS_ERR, "bits");
_Static_assert(DMTHW_IRQ_DONE(1) == DMM_IRQ_DONE(1) && DMTHW_IRQ_ERR(1) == DMM_IRQ_ERR(1), "bits");
_Static_assert(DMTHW_ID_MAGIC == DMM_ID_MAGIC && DMTHW_MAX_DESC == DMM_MAX_DESC, "id");
_Static_assert(DMTHW_DESC1_SIZE == DMM_DESC1_SIZE && DMTHW_DESC1_MAGIC == DMM_DESC1_MAGIC, "d1");
_Static_assert(DMTHW_DESC2_SIZE == DMM_DESC2_SIZE && DMTHW_DESC2_MAGIC == DMM_DESC2_MAGIC, "d2");
_Static_assert(DMTHW_DESC2_MAX_LEN == DMM_DESC2_MAX_LEN, "d2");
_Static_assert(DMTMINI_CH_H2C == DMM_CH_H2C && DMTMINI_CH_C2H == DMM_CH_C2H, "channels");

static const char *g_scenario = "";

#define MAYBE_UNUSED __attribute__((unused))

#define RING_DATA (32u << 20)
#define MIB       (1u << 20)

/* ---- a decoded trace ------------------------------------------------------ */

typedef struct trec {
    dmt_record r;
    dmt_sg_elem *sg;
    uint8_t *bytes;
} trec;

typedef struct rig {
    dmtc_session *s;
    hvp_machine *m; /* the session's */
    dmt_ring ring;
    dmt_ring_consumer cons;
    uint8_t *scratch;
    dmt_sg_elem *sg_scratch;
    uint64_t *val_scratch;
    trec *v;
    size_t n, cap;
    uint64_t lost;
    bool attached;
    uint32_t rev;
    const struct xcheck *xc; /* per-transfer trace checks (NULL: all of them) */
    size_t checked;          /* transfers checked by h2c/c2h */
    uint64_t slot_bytes;     /* ring bytes of the records drained (header + payload) */
} rig;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    REQUIRE(p);
    return p;
}

/* hvp's findings.  Common buffers still allocated when the machine is freed
 * are expected: an XPDM miniport has no unload routine to release them. */
static void log_cb(void *ctx, const hvp_log_msg *msg)
{
    (void)ctx;
    if (msg->misuse == HVP_MISUSE_LEAK && strstr(msg->text, "common buffer"))
        return;
    if (msg->level == HVP_LOG_MISUSE || msg->level == HVP_LOG_ERROR)
        fprintf(stderr, "  [%s] hvp: %s%s\n", g_scenario,
                msg->level == HVP_LOG_MISUSE ? "misuse: " : "", msg->text);
}

static void rig_drain(rig *g)
{
    if (!g->attached)
        return;
    for (;;) {
        dmt_ring_item it;
        enum dmt_ring_status s = dmt_ring_next(&g->cons, g->scratch, 0, &it);
        if (s == DMT_RING_EMPTY || s == DMT_RING_DONE)
            return;
        if (s == DMT_RING_LOST) {
            g->lost += it.count;
            continue;
        }
        g->slot_bytes += 8u + ((it.len + 7u) & ~7u);
        dmt_record r;
        dmt_error err;
        int rc = dmt_parse_ring_record(it.buf, it.len, &r, g->sg_scratch, g->val_scratch, &err);
        CHECK(rc == 0);
        if (rc != 0) {
            fprintf(stderr, "  parse: %s\n", err.msg);
            continue;
        }
        if (g->n == g->cap) {
            g->cap = g->cap ? 2 * g->cap : 1024;
            g->v = realloc(g->v, g->cap * sizeof(*g->v));
            REQUIRE(g->v);
        }
        trec *t = &g->v[g->n++];
        memset(t, 0, sizeof(*t));
        t->r = r;
        t->r.seq = it.seq;
        if (r.n_sg) {
            t->sg = xmalloc(r.n_sg * sizeof(dmt_sg_elem));
            size_t stride = r.sg_stride ? r.sg_stride : sizeof(dmt_sg_elem);
            for (uint32_t i = 0; i < r.n_sg; i++)
                memcpy(&t->sg[i], (const uint8_t *)r.sg_list + i * stride, sizeof(dmt_sg_elem));
        }
        if (r.n_bytes) {
            t->bytes = xmalloc(r.n_bytes);
            memcpy(t->bytes, r.bytes, r.n_bytes);
        }
        t->r.sg_list = NULL;
        t->r.values = NULL;
        t->r.bytes = NULL;
    }
}

/* The digest policy rig_open gives the probe (-1: the probe's default),
 * its clock and calibration interval (the session's defaults). */
static int g_policy = -1;
static uint32_t g_clock = DMTP_CLOCK_AUTO;
static uint64_t g_cal_ns = 0;

static void rig_open(rig *g, const char *name, const hvp_config *hc, const dmm_config *dc,
                     bool attach)
{
    dmtc_config sc;
    dmt_error err;
    g_scenario = name;
    memset(g, 0, sizeof(*g));
    dmtc_config_default(&sc);
    if (hc)
        sc.host = *hc;
    else
        sc.host.deterministic = true;
    sc.host.log = log_cb;
    if (dc)
        sc.device = *dc;
    g->rev = sc.device.revision;
    sc.ring = attach ? DMTC_RING_MEMORY : DMTC_RING_NONE;
    sc.ring_data = RING_DATA;
    sc.digest_policy = g_policy;
    sc.clock = g_clock;
    sc.calibration_ns = g_cal_ns;
    REQUIRE(dmtc_open(&sc, &g->s, NULL, &err) == 0);
    g->m = dmtc_machine(g->s);
    g->scratch = xmalloc(DMT_RING_MAX_PAYLOAD);
    g->sg_scratch = xmalloc(DMT_MAX_SG_ELEMENTS * sizeof(dmt_sg_elem));
    g->val_scratch = xmalloc(DMT_MAX_VALUES * sizeof(uint64_t));
    if (attach) {
        g->ring = *dmtc_ring(g->s);
        dmt_ring_consumer_init(&g->cons, &g->ring, UINT64_MAX);
        g->attached = true;
    }
#ifdef DMTMINI_TEST_NOPROBE
    REQUIRE(dmtc_load(g->s, dmtmini_noprobe_DriverEntry, &err) == 0);
#else
    REQUIRE(dmtc_load(g->s, DriverEntry, &err) == 0);
#endif
    rig_drain(g);
}

/* Misuse counted so far, leaks aside (those are counted at machine free). */
static uint64_t rig_misuse(rig *g)
{
    hvp_stats st;
    hvp_stats_get(g->m, &st);
    return st.misuse_total - st.misuse[HVP_MISUSE_LEAK];
}

static void rig_close(rig *g)
{
    printf("[%s] %zu records, %zu transfers checked, %llu lost\n", g_scenario, g->n, g->checked,
           (unsigned long long)g->lost);
    dmtc_free(g->s); /* the machine, the probe, then the ring */
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i].sg);
        free(g->v[i].bytes);
    }
    free(g->v);
    free(g->scratch);
    free(g->sg_scratch);
    free(g->val_scratch);
    memset(g, 0, sizeof(*g));
}

/* The usual end of a scenario: no misuse, at least `checked` transfers
 * checked against the probe's records (not counted without the probe),
 * then close. */
static void rig_end(rig *g, size_t checked)
{
    CHECK(rig_misuse(g) == 0);
#ifndef DMTMINI_TEST_NOPROBE
    CHECK(g->checked >= checked);
#else
    (void)checked;
#endif
    rig_close(g);
}

/* ---- IOCTL helpers ---------------------------------------------------------- */

static int32_t do_configure(rig *g, const DMTMINI_CONFIG *cfg)
{
    uint32_t ret = 0;
    return hvp_ioctl(g->m, IOCTL_DMTMINI_CONFIGURE, cfg, sizeof(*cfg), NULL, 0, &ret);
}

static void config_default(DMTMINI_CONFIG *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->version = DMTMINI_IOCTL_VERSION;
    for (unsigned c = 0; c < DMTMINI_NUM_CH; c++)
        cfg->ch[c].flags = DMTMINI_CFG_FROM_CAPS;
}

static int32_t do_transfer(rig *g, uint32_t ch, void *buf, uint32_t len, uint64_t devoff,
                           uint32_t flags, uint64_t seed, DMTMINI_TRANSFER_OUT *out)
{
    DMTMINI_TRANSFER_IN in;
    uint32_t ret = 0;
    memset(&in, 0, sizeof(in));
    memset(out, 0xEE, sizeof(*out));
    in.channel = ch;
    in.flags = flags;
    in.buffer = (uint64_t)(uintptr_t)buf;
    in.length = len;
    in.dev_offset = devoff;
    in.pattern_seed = seed;
    int32_t rc = hvp_ioctl(g->m, IOCTL_DMTMINI_TRANSFER, &in, sizeof(in), out, sizeof(*out), &ret);
    if (rc == NO_ERROR && !(flags & DMTMINI_XFER_ASYNC))
        CHECK(ret == sizeof(*out));
    return rc;
}

static int32_t do_wait(rig *g, uint32_t ch, DMTMINI_TRANSFER_OUT *out)
{
    DMTMINI_WAIT_IN in = {ch, 0};
    uint32_t ret = 0;
    return hvp_ioctl(g->m, IOCTL_DMTMINI_WAIT, &in, sizeof(in), out, sizeof(*out), &ret);
}

static DMTMINI_INFO do_query(rig *g)
{
    DMTMINI_INFO q;
    uint32_t ret = 0;
    memset(&q, 0, sizeof(q));
    CHECK(hvp_ioctl(g->m, IOCTL_DMTMINI_QUERY, NULL, 0, &q, sizeof(q), &ret) == NO_ERROR);
    CHECK(ret == sizeof(q));
    return q;
}

typedef struct xcheck {
    bool allow_missing_complete; /* COMPLETE_MISSING */
    bool skip_digest_values;     /* data deliberately corrupted */
    bool skip_descs;             /* descriptors deliberately wrong */
} xcheck;

MAYBE_UNUSED static size_t check_xfers(const rig *g, size_t from, const xcheck *xc);

/* Drain, then check the trace of what happened since `before` while the
 * buffer (whose bytes the digests are checked against) still lives. */
static void drain_and_check(rig *g, size_t before)
{
    rig_drain(g);
#ifndef DMTMINI_TEST_NOPROBE
    g->checked += check_xfers(g, before, g->xc);
#else
    (void)before;
#endif
}

/* H2C: pattern buffer -> device; checks device memory.  Returns the OUT. */
static DMTMINI_TRANSFER_OUT h2c(rig *g, uint32_t len, uint32_t misalign, uint64_t devoff,
                                uint64_t seed, bool expect_ok)
{
    uint8_t *mem = xmalloc((size_t)len + 64);
    uint8_t *buf = mem + misalign;
    size_t before = g->n;
    dmt_pattern_fill(buf, seed, 0, len);
    DMTMINI_TRANSFER_OUT out;
    CHECK(do_transfer(g, DMTMINI_CH_H2C, buf, len, devoff, DMTMINI_XFER_PATTERN, seed, &out) ==
          NO_ERROR);
    if (expect_ok) {
        CHECK(out.status == NO_ERROR);
        CHECK(out.bytes == len);
        uint8_t *dev = xmalloc(len);
        CHECK(dmm_devmem_read(hvp_dev(g->m), devoff, dev, len) == DMM_OK);
        CHECK(memcmp(dev, buf, len) == 0);
        free(dev);
    }
    drain_and_check(g, before);
    free(mem);
    return out;
}

/* C2H: pattern in device memory -> zeroed buffer; checks the buffer. */
static DMTMINI_TRANSFER_OUT c2h(rig *g, uint32_t len, uint32_t misalign, uint64_t devoff,
                                uint64_t seed, bool expect_ok)
{
    uint8_t *mem = xmalloc((size_t)len + 64);
    uint8_t *buf = mem + misalign;
    uint8_t *want = xmalloc(len);
    size_t before = g->n;
    dmt_pattern_fill(want, seed, 0, len);
    CHECK(dmm_devmem_write(hvp_dev(g->m), devoff, want, len) == DMM_OK);
    memset(buf, 0, len);
    DMTMINI_TRANSFER_OUT out;
    CHECK(do_transfer(g, DMTMINI_CH_C2H, buf, len, devoff, 0, 0, &out) == NO_ERROR);
    if (expect_ok) {
        CHECK(out.status == NO_ERROR);
        CHECK(out.bytes == len);
        CHECK(memcmp(buf, want, len) == 0);
    }
    drain_and_check(g, before);
    free(want);
    free(mem);
    return out;
}

/* ---- trace analysis ----------------------------------------------------------- */

static size_t count_kind(const rig *g, size_t from, uint32_t kind)
{
    size_t n = 0;
    for (size_t i = from; i < g->n; i++)
        n += g->v[i].r.kind == kind;
    return n;
}

/* The probe's digest of a one-chunk transfer (the last DIGEST record at or
 * after from) is the engine's digest of channel ch. */
MAYBE_UNUSED static void check_digest(rig *g, size_t from, uint32_t chunks, unsigned ch)
{
    if (chunks != 1)
        return;
    size_t di = SIZE_MAX;
    for (size_t i = from; i < g->n; i++)
        if (g->v[i].r.kind == DMT_K_DIGEST)
            di = i;
    CHECK(di != SIZE_MAX);
    /* the engine digests every byte: comparable when the probe did too */
    if (di != SIZE_MAX && g->v[di].r.n_sg == 0 && g->v[di].r.digest_policy != DMT_DIGEST_OFF)
        CHECK(g->v[di].r.value == dmm_ch_last_digest(hvp_dev(g->m), ch));
}

/* Index of the n-th (0-based) record of kind with xfer x at or after from, or SIZE_MAX. */
static size_t find_xfer(const rig *g, size_t from, uint32_t kind, uint32_t x)
{
    for (size_t i = from; i < g->n; i++)
        if (g->v[i].r.kind == kind && g->v[i].r.xfer == x)
            return i;
    return SIZE_MAX;
}

static size_t count_xfer(const rig *g, size_t from, uint32_t kind, uint32_t x)
{
    size_t n = 0;
    for (size_t i = from; i < g->n; i++)
        n += g->v[i].r.kind == kind && g->v[i].r.xfer == x;
    return n;
}

static const trec *adapter_rec(const rig *g, uint32_t id)
{
    const trec *last = NULL;
    for (size_t i = 0; i < g->n; i++)
        if (g->v[i].r.kind == DMT_K_ADAPTER_CREATE && g->v[i].r.adapter == id)
            last = &g->v[i];
    return last;
}

static const trec *lock_rec(const rig *g, uint32_t mdl)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->v[i].r.kind == DMT_K_BUFFER_LOCK && g->v[i].r.mdl == mdl)
            return &g->v[i];
    return NULL;
}

static uint32_t cb_adapter(const rig *g, uint32_t cb)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->v[i].r.kind == DMT_K_COMMON_ALLOC && g->v[i].r.cb == cb)
            return g->v[i].r.adapter;
    return 0;
}

static uint64_t sg_total(const trec *e)
{
    uint64_t t = 0;
    for (uint32_t i = 0; i < e->r.n_sg; i++)
        t += e->sg[i].len;
    return t;
}

typedef struct hwdesc {
    uint64_t host, dev;
    uint32_t len;
    bool magic_ok;
} hwdesc;

/* The descriptors the driver wrote for EXECUTE_DMA e: the first DESC_WRITE
 * after it into a common buffer of the same adapter.  Returns the count
 * (<= cap) or -1 if none. */
static int descs_of(const rig *g, size_t ei, hwdesc *d, int cap)
{
    const trec *e = &g->v[ei];
    for (size_t i = ei + 1; i < g->n; i++) {
        const trec *w = &g->v[i];
        if (w->r.kind == DMT_K_EXECUTE_DMA && w->r.adapter == e->r.adapter)
            return -1;
        if (w->r.kind != DMT_K_DESC_WRITE || cb_adapter(g, w->r.cb) != e->r.adapter)
            continue;
        uint32_t dsz = g->rev == 1 ? DMM_DESC1_SIZE : DMM_DESC2_SIZE;
        int n = (int)(w->r.n_bytes / dsz);
        for (int k = 0; k < n && k < cap; k++) {
            dmm_desc x;
            dmm_desc_decode(g->rev, w->bytes + (size_t)k * dsz, &x);
            d[k].host = x.host_addr;
            d[k].dev = x.dev_off;
            d[k].len = x.len;
            d[k].magic_ok = x.magic_ok;
        }
        return n;
    }
    return -1;
}

/* The per-transfer invariants over records [from, n).  Returns the number
 * of transfers seen. */
MAYBE_UNUSED static size_t check_xfers(const rig *g, size_t from, const xcheck *xc)
{
    static hwdesc d[DMM_MAX_DESC];
    size_t nx = 0;
    for (size_t i = from; i < g->n; i++) {
        const trec *s = &g->v[i];
        if (s->r.kind != DMT_K_START_DMA)
            continue;
        nx++;
        const uint32_t x = s->r.xfer;
        CHECK(x != 0);
        CHECK(count_xfer(g, from, DMT_K_EXECUTE_DMA, x) == 1);
        CHECK(count_xfer(g, from, DMT_K_START_DMA_END, x) == 1);
        size_t ei = find_xfer(g, i, DMT_K_EXECUTE_DMA, x);
        size_t ni = find_xfer(g, i, DMT_K_START_DMA_END, x);
        size_t ci = find_xfer(g, i, DMT_K_COMPLETE_DMA, x);
        size_t di = find_xfer(g, i, DMT_K_DIGEST, x);
        if (ei == SIZE_MAX || ni == SIZE_MAX)
            continue;
        const trec *e = &g->v[ei];
        /* the SG list adds up to the granted *pLength */
        CHECK(e->r.length > 0 && e->r.length <= s->r.length);
        CHECK(sg_total(e) == e->r.length);
        CHECK(e->r.adapter == s->r.adapter);
        CHECK(g->v[ni].r.status == NO_ERROR);
        CHECK(g->v[ni].r.length == e->r.length);
        const trec *a = adapter_rec(g, s->r.adapter);
        CHECK(a != NULL);
        if (a && !a->r.sg)
            CHECK(e->r.n_sg == 1);
        if (a)
            for (uint32_t k = 0; k < e->r.n_sg; k++)
                CHECK(e->sg[k].addr + e->sg[k].len - 1 <= a->r.addr_limit);
        if (ci == SIZE_MAX) {
            CHECK(xc && xc->allow_missing_complete);
            CHECK(di == SIZE_MAX);
            continue;
        }
        CHECK(count_xfer(g, from, DMT_K_COMPLETE_DMA, x) == 1);
        CHECK(count_xfer(g, from, DMT_K_DIGEST, x) == 1);
        CHECK(ei > i && ci > ei);
        CHECK(di != SIZE_MAX && di < ci);
        CHECK(g->v[ci].r.status == NO_ERROR);
        CHECK(g->v[ci].r.write_to_device == s->r.write_to_device);
        if (di != SIZE_MAX) {
            const trec *dg = &g->v[di];
            CHECK(dg->r.algo == DMT_DIGEST_DMT64);
            CHECK(dg->r.length == e->r.length);
            const trec *lk = lock_rec(g, s->r.mdl);
            CHECK(lk != NULL);
            /* the policy the rig asked for, and the ranges it implies */
            CHECK(dg->r.digest_policy ==
                  (g_policy < 0 ? (uint32_t)DMT_DIGEST_BOUNDED : (uint32_t)g_policy));
            dmt_sg_elem want[DMT_DIGEST_BOUNDED_MAX_RANGES];
            uint32_t nwant = dg->r.digest_policy == DMT_DIGEST_BOUNDED
                                 ? dmt_digest_bounded_ranges(e->r.length, want)
                                 : 0;
            CHECK(dg->r.n_sg == nwant);
            for (uint32_t k = 0; k < nwant && k < dg->r.n_sg; k++)
                CHECK(dg->sg[k].addr == want[k].addr && dg->sg[k].len == want[k].len);
            const uint8_t *base = lk ? (const uint8_t *)(uintptr_t)lk->r.va + s->r.offset : NULL;
            if (dg->r.digest_policy == DMT_DIGEST_OFF)
                CHECK(dg->r.value == 0);
            else if (lk && (!xc || !xc->skip_digest_values) && dg->r.n_sg == nwant)
                CHECK(dg->r.value ==
                      dmt_digest_ranges(DMT_DIGEST_DMT64, base, e->r.length, dg->sg, dg->r.n_sg));
        }
        if (xc && xc->skip_descs)
            continue;
        /* descriptors = the SG list, device offsets consecutive; then the doorbell */
        int nd = descs_of(g, ei, d, (int)DMM_MAX_DESC);
        CHECK(nd == (int)e->r.n_sg);
        for (int k = 0; k < nd && k < (int)e->r.n_sg; k++) {
            CHECK(d[k].magic_ok);
            CHECK(d[k].host == e->sg[k].addr);
            CHECK(d[k].len == e->sg[k].len);
            if (k > 0)
                CHECK(d[k].dev == d[k - 1].dev + d[k - 1].len);
        }
        uint32_t ch = s->r.write_to_device ? DMM_CH_H2C : DMM_CH_C2H;
        bool doorbell = false;
        for (size_t k = ei + 1; k < ci && !doorbell; k++)
            doorbell = g->v[k].r.kind == DMT_K_REG_WRITE &&
                       g->v[k].r.off == DMM_CH_BASE(ch) + DMM_CH_CTRL &&
                       g->v[k].r.value == DMM_CTRL_RUN;
        CHECK(doorbell);
    }
    /* Chunks of one buffer follow each other: Offset += granted. */
    for (size_t i = from; i < g->n; i++) {
        const trec *s = &g->v[i];
        if (s->r.kind != DMT_K_START_DMA)
            continue;
        size_t ei = find_xfer(g, i, DMT_K_EXECUTE_DMA, s->r.xfer);
        for (size_t k = i + 1; k < g->n && ei != SIZE_MAX; k++) {
            const trec *t = &g->v[k];
            if (t->r.kind == DMT_K_BUFFER_UNLOCK && t->r.mdl == s->r.mdl)
                break;
            if (t->r.kind == DMT_K_START_DMA && t->r.mdl == s->r.mdl) {
                CHECK(t->r.offset == s->r.offset + g->v[ei].r.length);
                CHECK(t->r.length == s->r.length - g->v[ei].r.length);
                break;
            }
        }
    }
    return nx;
}

/* Interrupts claimed with the IRQ_STATUS bits as value, a DPC for each. */
MAYBE_UNUSED static void check_irqs(const rig *g, size_t from)
{
    size_t ni = 0, nd = 0;
    for (size_t i = from; i < g->n; i++) {
        const trec *t = &g->v[i];
        if (t->r.kind == DMT_K_INTERRUPT) {
            ni++;
            CHECK(t->r.dev == 1);
            if (t->r.claimed)
                CHECK(t->r.value != 0 && (t->r.value & ~(uint64_t)DMM_IRQ_ALL) == 0);
        }
        if (t->r.kind == DMT_K_DPC) {
            nd++;
            CHECK(t->r.dev == 1);
        }
    }
    CHECK(ni > 0);
    CHECK(nd > 0 && nd <= ni);
}

/* ---- scenarios ---------------------------------------------------------------------- */

MAYBE_UNUSED static void check_init_records(rig *g, uint64_t bar, uint32_t expect_adapters)
{
    CHECK(count_kind(g, 0, DMT_K_DEVICE_MAP) == 1);
    for (size_t i = 0; i < g->n; i++) {
        const dmt_record *r = &g->v[i].r;
        if (r->kind == DMT_K_DEVICE_MAP) {
            CHECK(r->dev == 1);
            CHECK(r->addr == bar);
            CHECK(r->length == DMM_BAR_SIZE);
        }
        if (r->kind == DMT_K_ADAPTER_CREATE) {
            hvp_adapter_info ai;
            CHECK(r->dev == 1);
            CHECK(hvp_adapter_info_at(g->m, r->adapter - 1, &ai));
            CHECK(r->map_registers == ai.map_registers);
            CHECK(r->addr_limit == ai.max_address);
            CHECK(r->sg == ai.scatter_gather && r->dma32 == ai.dma32 && r->dma64 == ai.dma64);
            CHECK(r->length == ai.maximum_length);
        }
    }
    CHECK(count_kind(g, 0, DMT_K_ADAPTER_CREATE) == expect_adapters);
    CHECK(count_kind(g, 0, DMT_K_COMMON_ALLOC) == 2);
    /* probe of ID, CAPS, DEVMEM_SIZE and the interrupt enable */
    bool id = false, caps = false, ien = false;
    for (size_t i = 0; i < g->n; i++) {
        const dmt_record *r = &g->v[i].r;
        id |= r->kind == DMT_K_REG_READ && r->off == DMM_REG_ID &&
              (r->value & 0xFFFFFF00u) == DMM_ID_MAGIC;
        caps |= r->kind == DMT_K_REG_READ && r->off == DMM_REG_CAPS;
        ien |=
            r->kind == DMT_K_REG_WRITE && r->off == DMM_REG_IRQ_ENABLE && r->value == DMM_IRQ_ALL;
    }
    CHECK(id && caps && ien);
}

#define CHECKF_RING(c, bytes, n)                                                                   \
    do {                                                                                           \
        CHECK(c);                                                                                  \
        if (!(c))                                                                                  \
            fprintf(stderr, "  ring bytes %u, records' slots %llu\n", (unsigned)(bytes),           \
                    (unsigned long long)(n));                                                      \
    } while (0)

static void scenario_basic(void)
{
    static const uint32_t sizes[] = {1, 3, 4095, 4096, 4097, 65543, MIB + 13, 8 * MIB};
    rig g;
    hvp_config hc;
    hvp_config_default(&hc);
    hc.deterministic = true;
    rig_open(&g, "basic", &hc, NULL, true);
#ifndef DMTMINI_TEST_NOPROBE
    check_init_records(&g, hc.bar_phys, 2);
#endif
    DMTMINI_INFO q = do_query(&g);
    CHECK(q.version == DMTMINI_IOCTL_VERSION);
    CHECK((q.id & 0xFFFFFF00u) == DMM_ID_MAGIC);
    CHECK(DMM_CAPS_ADDR_BITS(q.caps) == 64);
    CHECK(q.ch[0].has_adapter && q.ch[1].has_adapter && q.ch[0].dma64 && q.ch[0].scatter_gather);
    CHECK(q.ring_owned == 0);
#ifdef DMTMINI_TEST_NOPROBE
    CHECK(q.probe == 0);
#else
    CHECK(q.probe == 1);
#endif
    const char marker[] = "basic: begin";
    uint32_t ret = 0;
    CHECK(hvp_ioctl(g.m, IOCTL_DMTMINI_MARKER, marker, sizeof(marker) - 1, NULL, 0, &ret) ==
          NO_ERROR);
    size_t from = g.n;
    (void)from;
    rig_drain(&g);
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint32_t len = sizes[k];
        size_t before = g.n;
        (void)before;
        DMTMINI_TRANSFER_OUT o = h2c(&g, len, k % 7, 0, 100 + k, true);
        CHECK(o.chunks >= 1 && o.faults_applied == 0);
#ifndef DMTMINI_TEST_NOPROBE
        /* the probe's digest of a one-chunk transfer = the engine's digest */
        check_digest(&g, before, o.chunks, DMM_CH_H2C);
        CHECK(count_kind(&g, before, DMT_K_PATTERN) == 1);
#endif
        before = g.n;
        o = c2h(&g, len, (k * 3) % 11, 8 * MIB, 200 + k, true);
        CHECK(o.chunks >= 1);
#ifndef DMTMINI_TEST_NOPROBE
        check_digest(&g, before, o.chunks, DMM_CH_C2H);
#endif
    }
    CHECK(rig_misuse(&g) == 0);
#ifdef DMTMINI_TEST_NOPROBE
    CHECK(g.n == 0); /* compiled out: nothing reaches the ring */
#else
    CHECK(g.lost == 0 && dmtp_lost() == 0);
    /* records are reserved at their size, not their worst case: no padding
     * slot behind each small one (a register write takes 24 ring bytes, not
     * ~90); only SG lists and descriptor batches too big for the stack are
     * encoded in place, behind a worst-case reservation */
    uint32_t ring_bytes = (uint32_t)__atomic_load_n(&g.ring.hdr->tail, __ATOMIC_ACQUIRE);
    CHECKF_RING(g.n > 100 && ring_bytes - g.slot_bytes <= ring_bytes / 4, ring_bytes, g.slot_bytes);
    CHECK(count_kind(&g, 0, DMT_K_MARKER) == 1);
    CHECK(g.checked >= 2 * sizeof(sizes) / sizeof(sizes[0]));
    check_irqs(&g, from);
    CHECK(count_kind(&g, from, DMT_K_BUFFER_LOCK) == 2 * sizeof(sizes) / sizeof(sizes[0]));
    CHECK(count_kind(&g, from, DMT_K_BUFFER_UNLOCK) == 2 * sizeof(sizes) / sizeof(sizes[0]));
    /* sequence numbers without gaps, timestamps not going back */
    for (size_t i = 1; i < g.n; i++) {
        CHECK(g.v[i].r.seq == g.v[i - 1].r.seq + 1);
        CHECK(g.v[i].r.ts >= g.v[i - 1].r.ts);
    }
    /* run-time disable: one branch, no records */
    dmtp_enable(false);
    size_t n0 = g.n;
    h2c(&g, 5000, 0, 0, 7, true);
    CHECK(g.n == n0);
    dmtp_enable(true);
    h2c(&g, 5000, 0, 0, 8, true);
    CHECK(g.n > n0);
#endif
    rig_close(&g);
}

static void scenario_fragmented(void)
{
    rig g;
    hvp_config hc;
    hvp_config_default(&hc);
    hc.deterministic = true;
    hc.contig_permille = 0;
    hc.seed = 7;
    rig_open(&g, "fragmented", &hc, NULL, true);
    size_t from = g.n;
    (void)from;
    h2c(&g, MIB + 100, 5, 4096, 31, true);
    c2h(&g, MIB + 100, 9, 4096, 32, true);
    CHECK(rig_misuse(&g) == 0);
#ifndef DMTMINI_TEST_NOPROBE
    uint32_t maxsg = 0;
    for (size_t i = from; i < g.n; i++)
        if (g.v[i].r.kind == DMT_K_EXECUTE_DMA) {
            if (g.v[i].r.n_sg > maxsg)
                maxsg = g.v[i].r.n_sg;
            for (uint32_t k = 0; k < g.v[i].r.n_sg; k++)
                CHECK(g.v[i].sg[k].len <= 4096);
        }
    CHECK(maxsg > 8);
    CHECK(g.checked >= 2);
#endif
    rig_close(&g);
}

static void scenario_dma32_high(void)
{
    rig g;
    hvp_config hc;
    dmm_config dc;
    hvp_config_default(&hc);
    hc.deterministic = true;
    hc.placement = HVP_PLACE_ABOVE_4G;
    dmm_config_default(&dc);
    dc.addr_bits = 32;
    rig_open(&g, "dma32-high", &hc, &dc, true);
    DMTMINI_INFO q = do_query(&g);
    CHECK(q.ch[0].dma32 && !q.ch[0].dma64);
    size_t from = g.n;
    (void)from;
    h2c(&g, 4097, 1, 0, 41, true);
    h2c(&g, MIB + 5, 3, 4096, 42, true);
    c2h(&g, MIB + 5, 2, 2 * MIB, 43, true);
    hvp_stats st;
    hvp_stats_get(g.m, &st);
    CHECK(st.bounced_transfers > 0);
    CHECK(rig_misuse(&g) == 0);
#ifndef DMTMINI_TEST_NOPROBE
    for (size_t i = 0; i < g.n; i++)
        if (g.v[i].r.kind == DMT_K_ADAPTER_CREATE)
            CHECK(g.v[i].r.dma32 && !g.v[i].r.dma64 && g.v[i].r.addr_limit == 0xFFFFFFFFull);
    size_t execs = 0;
    for (size_t i = 0; i < g.n; i++) /* the locked buffers are above 4 GiB... */
        if (g.v[i].r.kind == DMT_K_EXECUTE_DMA) {
            for (uint32_t k = 0; k < g.v[i].r.n_sg; k++) /* ...the device sees bounce pages */
                CHECK(g.v[i].sg[k].addr + g.v[i].sg[k].len <= 0x100000000ull);
            /* ...and the probe, asking hvp where the buffer is, says so */
            CHECK(g.v[i].r.xfer_flags == (DMT_XF_BOUNCE_CHECKED | DMT_XF_BOUNCED));
            execs++;
        }
    CHECK(execs >= 3);
    CHECK(g.checked >= 3);
    (void)from;
#endif
    rig_close(&g);
}

static void scenario_nosg(void)
{
    rig g;
    rig_open(&g, "nosg", NULL, NULL, true);
    DMTMINI_CONFIG cfg;
    config_default(&cfg);
    for (unsigned c = 0; c < DMTMINI_NUM_CH; c++) {
        cfg.ch[c].flags = 0;
        cfg.ch[c].scatter_gather = 0;
        cfg.ch[c].dma64 = 1;
        cfg.ch[c].maximum_length = 64 * 1024;
    }
    CHECK(do_configure(&g, &cfg) == NO_ERROR);
    DMTMINI_INFO q = do_query(&g);
    CHECK(!q.ch[0].scatter_gather && q.ch[0].maximum_length == 64 * 1024);
    size_t from = g.n;
    (void)from;
    rig_drain(&g);
    from = g.n;
    DMTMINI_TRANSFER_OUT o = h2c(&g, MIB + 3, 1, 0, 51, true);
    CHECK(o.chunks >= 16);
    o = c2h(&g, MIB + 3, 2, 4 * MIB, 52, true);
    CHECK(o.chunks >= 16);
    CHECK(rig_misuse(&g) == 0);
#ifndef DMTMINI_TEST_NOPROBE
    /* CONFIGURE re-created the adapters: releases, then creates */
    CHECK(count_kind(&g, 0, DMT_K_ADAPTER_RELEASE) == 2);
    CHECK(count_kind(&g, 0, DMT_K_COMMON_RELEASE) == 2);
    CHECK(count_kind(&g, 0, DMT_K_ADAPTER_CREATE) == 4);
    size_t shorter = 0;
    for (size_t i = from; i < g.n; i++)
        if (g.v[i].r.kind == DMT_K_EXECUTE_DMA) {
            CHECK(g.v[i].r.n_sg == 1);
            size_t si = 0;
            for (size_t k = from; k < i; k++)
                if (g.v[k].r.kind == DMT_K_START_DMA && g.v[k].r.xfer == g.v[i].r.xfer)
                    si = k;
            shorter += g.v[i].r.length < g.v[si].r.length;
        }
    CHECK(shorter >= 30); /* *pLength came back smaller and the driver looped */
    CHECK(g.checked >= 32);
#endif
    rig_close(&g);
}

static void scenario_rev2(void)
{
    rig g;
    dmm_config dc;
    dmm_config_default(&dc);
    dc.revision = 2;
    rig_open(&g, "rev2", NULL, &dc, true);
    h2c(&g, 3 * MIB + 1, 4, 4096, 61, true);
    c2h(&g, 100001, 8, 8192, 62, true);
    /* dword device offsets: an unaligned buffer cannot be programmed */
    uint8_t *b = xmalloc(64);
    DMTMINI_TRANSFER_OUT o;
    CHECK(do_transfer(&g, DMTMINI_CH_H2C, b + 1, 16, 0, 0, 0, &o) == ERROR_INVALID_PARAMETER);
    CHECK(do_transfer(&g, DMTMINI_CH_H2C, b, 16, 2, 0, 0, &o) == ERROR_INVALID_PARAMETER);
    free(b);
    rig_end(&g, 2);
}

static void scenario_concurrent(void)
{
    rig g;
    hvp_config hc;
    hvp_config_default(&hc);
    hc.deterministic = false; /* interrupt and DPC threads */
    rig_open(&g, "concurrent", &hc, NULL, true);
    const uint32_t len = 4 * MIB + 77;
    uint8_t *a = xmalloc(len), *b = xmalloc(len), *want = xmalloc(len);
    dmt_pattern_fill(a, 71, 0, len);
    dmt_pattern_fill(want, 72, 0, len);
    memset(b, 0, len);
    CHECK(dmm_devmem_write(hvp_dev(g.m), 8 * MIB, want, len) == DMM_OK);
    size_t from = g.n;
    (void)from;
    for (int round = 0; round < 3; round++) {
        DMTMINI_TRANSFER_OUT oa, ob;
        memset(b, 0, len);
        CHECK(do_transfer(&g, DMTMINI_CH_H2C, a, len, 0, DMTMINI_XFER_ASYNC, 0, &oa) == NO_ERROR);
        CHECK(do_transfer(&g, DMTMINI_CH_C2H, b, len, 8 * MIB, DMTMINI_XFER_ASYNC, 0, &ob) ==
              NO_ERROR);
        /* a third on a busy channel is refused */
        CHECK(do_transfer(&g, DMTMINI_CH_H2C, a, 16, 0, 0, 0, &oa) == ERROR_BUSY);
        CHECK(do_wait(&g, DMTMINI_CH_H2C, &oa) == NO_ERROR);
        CHECK(do_wait(&g, DMTMINI_CH_C2H, &ob) == NO_ERROR);
        CHECK(oa.status == NO_ERROR && oa.bytes == len);
        CHECK(ob.status == NO_ERROR && ob.bytes == len);
        CHECK(memcmp(b, want, len) == 0);
        uint8_t *dev = xmalloc(len);
        CHECK(dmm_devmem_read(hvp_dev(g.m), 0, dev, len) == DMM_OK);
        CHECK(memcmp(dev, a, len) == 0);
        free(dev);
        /* nothing to wait for any more */
        CHECK(do_wait(&g, DMTMINI_CH_H2C, &oa) == ERROR_INVALID_PARAMETER);
    }
    CHECK(hvp_wait_idle(g.m, 0) == HVP_OK);
    rig_drain(&g);
    CHECK(rig_misuse(&g) == 0);
#ifndef DMTMINI_TEST_NOPROBE
    CHECK(g.lost == 0);
    size_t nx = check_xfers(&g, from, NULL);
    CHECK(nx >= 6);
    check_irqs(&g, from);
#endif
    free(a);
    free(b);
    free(want);
    rig_close(&g);
}

/* A deterministic rig under ReactOS's VideoPort, contig_permille of its
 * pages contiguous. */
static void rig_open_reactos(rig *g, const char *name, uint32_t contig_permille)
{
    hvp_config hc;
    hvp_config_default(&hc);
    hc.deterministic = true;
    hc.reactos = true;
    hc.contig_permille = contig_permille;
    rig_open(g, name, &hc, NULL, true);
}

static void scenario_reactos(void)
{
    rig g;
    rig_open_reactos(&g, "reactos", 1000);
    h2c(&g, 16 * 1024, 0, 0, 81, true);
    c2h(&g, 16 * 1024, 0, 65536, 82, true);
    rig_end(&g, 2);
}

/* ReactOS's HAL drops SG lists over 16 elements without calling the driver
 * (StartDma still returns NO_ERROR): the wait times out, the channel is reset
 * and the next transfer works. */
static void scenario_reactos_dropped(void)
{
    rig g;
    rig_open_reactos(&g, "reactos-dropped", 0);
    DMTMINI_CONFIG cfg;
    config_default(&cfg);
    cfg.timeout_ms = 50;
    CHECK(do_configure(&g, &cfg) == NO_ERROR);
    rig_drain(&g);
    size_t from = g.n;
    (void)from;
    uint8_t *buf = xmalloc(40 * 4096);
    memset(buf, 0x5A, 40 * 4096);
    DMTMINI_TRANSFER_OUT o;
    CHECK(do_transfer(&g, DMTMINI_CH_H2C, buf, 40 * 4096, 0, 0, 0, &o) == NO_ERROR);
    CHECK(o.status == DMTMINI_ERROR_TIMEOUT && o.chunks == 0 && o.bytes == 0);
    hvp_stats st;
    hvp_stats_get(g.m, &st);
    CHECK(st.reactos_dropped_lists == 1);
    rig_drain(&g);
#ifndef DMTMINI_TEST_NOPROBE
    CHECK(count_kind(&g, from, DMT_K_START_DMA) == 1);
    CHECK(count_kind(&g, from, DMT_K_START_DMA_END) == 1);
    CHECK(count_kind(&g, from, DMT_K_EXECUTE_DMA) == 0);
    CHECK(count_kind(&g, from, DMT_K_COMPLETE_DMA) == 0);
    CHECK(count_kind(&g, from, DMT_K_BUFFER_UNLOCK) == 1);
    /* the channel was reset */
    bool reset = false;
    for (size_t i = from; i < g.n; i++)
        reset |= g.v[i].r.kind == DMT_K_REG_WRITE && g.v[i].r.off == DMM_CH_BASE(0) + DMM_CH_CTRL &&
                 g.v[i].r.value == DMM_CTRL_RESET;
    CHECK(reset);
#endif
    free(buf);
    /* a list of 16 elements or fewer goes through */
    h2c(&g, 8 * 4096, 0, 0, 83, true);
    CHECK(rig_misuse(&g) == 0);
    rig_close(&g);
}

/* The engine completes runs later (dmm DEFERRED): the ISR/DPC path sees a
 * busy engine between the doorbell and the interrupt. */
static void scenario_deferred(void)
{
    rig g;
    dmm_config dc;
    dmm_config_default(&dc);
    dc.flags = DMM_CFG_DEFERRED;
    rig_open(&g, "deferred", NULL, &dc, true);
    h2c(&g, 3 * MIB + 9, 3, 0, 84, true);
    c2h(&g, 3 * MIB + 9, 5, 4 * MIB, 85, true);
    h2c(&g, 1, 0, 100, 86, true);
    CHECK(rig_misuse(&g) == 0);
#ifndef DMTMINI_TEST_NOPROBE
    CHECK(g.checked >= 3);
    check_irqs(&g, 0);
#endif
    rig_close(&g);
}

#ifndef DMTMINI_TEST_NOPROBE
/* ---- completion order under deferred StartDma, several CPUs ------------------
 * Threads act as a second driver on the rig's machine: each locks its own
 * 4-page buffer and runs transfers of all 4 pages on one shared adapter that
 * has 4 map registers, so at most one transfer holds them and every other
 * StartDma waits; its ExecuteDma runs inside the holder's CompleteDma, on
 * the holder's thread.  The probe reserves DIGEST and COMPLETE_DMA before
 * the real call, so in the ring a transfer's completion always comes before
 * the EXECUTE_DMA of the transfer that got its map registers: the map
 * registers of the transfers between EXECUTE_DMA and COMPLETE_DMA never
 * exceed the adapter's. */
#define DEF_THREADS 4
#define DEF_ROUNDS  150
#define DEF_PAGES   4u

typedef struct def_cb {
    int called; /* (atomic) */
    PVP_SCATTER_GATHER_LIST sg;
} def_cb;

typedef struct def_arg {
    void *ext;
    PVP_DMA_ADAPTER a;
    uint8_t *buf;
    int failures;
} def_arg;

static VOID NTAPI def_exec(PVOID ext, PVP_DMA_ADAPTER ad, PVP_SCATTER_GATHER_LIST sg, PVOID ctx)
{
    def_cb *c = ctx;
    (void)ext;
    (void)ad;
    c->sg = sg;
    __atomic_store_n(&c->called, 1, __ATOMIC_RELEASE);
}

static void *def_thread(void *p)
{
    def_arg *d = p;
    void *mdl = dmtp_VideoPortLockBuffer(d->ext, d->buf, DEF_PAGES * 4096u, VpReadAccess);
    if (!mdl) {
        d->failures++;
        return NULL;
    }
    for (int i = 0; i < DEF_ROUNDS; i++) {
        def_cb c = {0, NULL};
        ULONG l = DEF_PAGES * 4096u;
        if (dmtp_VideoPortStartDma(d->ext, d->a, mdl, 0, &l, def_exec, &c, TRUE) != NO_ERROR) {
            d->failures++;
            continue;
        }
        while (!__atomic_load_n(&c.called, __ATOMIC_ACQUIRE))
            sched_yield();
        usleep(20); /* hold the map registers: the others' StartDma waits */
        if (dmtp_VideoPortCompleteDma(d->ext, d->a, c.sg, TRUE) != NO_ERROR)
            d->failures++;
    }
    dmtp_VideoPortUnlockBuffer(d->ext, mdl);
    return NULL;
}

static void scenario_deferred_order(void)
{
    rig g;
    hvp_config hc;
    hvp_config_default(&hc);
    hc.deterministic = false; /* interrupt and DPC threads; callers on any thread */
    hc.map_register_cap = DEF_PAGES;
    rig_open(&g, "deferred_order", &hc, NULL, true);
    void *ext = hvp_device_extension(g.m);
    VP_DEVICE_DESCRIPTION dd;
    memset(&dd, 0, sizeof dd);
    dd.ScatterGather = TRUE;
    dd.Dma32BitAddresses = TRUE;
    dd.MaximumLength = 1u << 20;
    PVP_DMA_ADAPTER a = dmtp_VideoPortGetDmaAdapter(ext, &dd);
    REQUIRE(a != NULL);
    rig_drain(&g);
    size_t from = g.n;
    pthread_t th[DEF_THREADS];
    def_arg args[DEF_THREADS];
    for (int t = 0; t < DEF_THREADS; t++) {
        args[t] = (def_arg){ext, a, NULL, 0};
        REQUIRE(posix_memalign((void **)&args[t].buf, 4096, DEF_PAGES * 4096u) == 0);
        memset(args[t].buf, t + 1, DEF_PAGES * 4096u);
        REQUIRE(pthread_create(&th[t], NULL, def_thread, &args[t]) == 0);
    }
    for (int t = 0; t < DEF_THREADS; t++) {
        pthread_join(th[t], NULL);
        CHECK(args[t].failures == 0);
    }
    hvp_stats st;
    hvp_stats_get(g.m, &st);
    CHECK(st.start_dma_deferred > 0); /* the deferred path ran */
    dmtp_VideoPortPutDmaAdapter(ext, a);
    rig_drain(&g);
    CHECK(g.lost == 0);
    /* the adapter's id and map registers, from its ADAPTER_CREATE */
    uint32_t ad = 0, nmr = 0;
    for (size_t i = 0; i < g.n; i++)
        if (g.v[i].r.kind == DMT_K_ADAPTER_CREATE && g.v[i].r.map_registers == DEF_PAGES)
            ad = g.v[i].r.adapter, nmr = g.v[i].r.map_registers;
    CHECK(ad != 0);
    uint32_t held = 0, most = 0, executed = 0, completed = 0;
    for (size_t i = from; i < g.n; i++) {
        const dmt_record *r = &g.v[i].r;
        if (r->adapter != ad)
            continue;
        if (r->kind == DMT_K_EXECUTE_DMA) {
            held += (uint32_t)((r->length + 4095) / 4096);
            executed++;
        } else if (r->kind == DMT_K_COMPLETE_DMA && r->xfer) {
            /* its DIGEST comes before it (reserved first in the same ring,
             * at the same time; with per-CPU rings another CPU's record may
             * be merged between the two) */
            size_t k = i;
            while (k > from && !(g.v[k - 1].r.kind == DMT_K_DIGEST && g.v[k - 1].r.xfer == r->xfer))
                k--;
            CHECK(k > from);
            held -= DEF_PAGES;
            completed++;
        }
        most = held > most ? held : most;
    }
    CHECK(executed == DEF_THREADS * DEF_ROUNDS && completed == executed);
    CHECK(most <= nmr);
    for (int t = 0; t < DEF_THREADS; t++)
        free(args[t].buf);
    rig_close(&g);
}
#endif

static void scenario_errors(void)
{
    rig g;
    rig_open(&g, "errors", NULL, NULL, true);
    DMTMINI_TRANSFER_OUT o;
    uint8_t buf[64];
    DMTMINI_INFO q = do_query(&g);
    /* Only the probe registers a bug-check callback (after FindAdapter). */
    static uint8_t bc[4000];
    size_t bc_size = 0;
    const int bcr = hvp_bugcheck(g.m, 0xEA, bc, sizeof bc, &bc_size);
#ifdef DMTMINI_TEST_NOPROBE
    CHECK(bcr == HVP_ENODEV);
#else
    CHECK(bcr == HVP_OK && bc_size == DMT_LOC_MAX_SIZE);
#endif
    CHECK(do_transfer(&g, 2, buf, 16, 0, 0, 0, &o) == ERROR_INVALID_PARAMETER);
    CHECK(do_transfer(&g, 0, buf, 0, 0, 0, 0, &o) == ERROR_INVALID_PARAMETER);
    CHECK(do_transfer(&g, 0, NULL, 16, 0, 0, 0, &o) == ERROR_INVALID_PARAMETER);
    CHECK(do_transfer(&g, 0, buf, 16, q.devmem_size - 8, 0, 0, &o) == ERROR_INVALID_PARAMETER);
    CHECK(do_transfer(&g, 0, buf, 16, 0, 0x80, 0, &o) == ERROR_INVALID_PARAMETER);
    DMTMINI_CONFIG cfg;
    config_default(&cfg);
    cfg.version = 99;
    CHECK(do_configure(&g, &cfg) == ERROR_INVALID_PARAMETER);
    config_default(&cfg);
    cfg.faults = 0x100;
    CHECK(do_configure(&g, &cfg) == ERROR_INVALID_PARAMETER);
    uint32_t ret = 0;
    CHECK(hvp_ioctl(g.m, CTL_CODE(FILE_DEVICE_VIDEO, 0x9FF, METHOD_BUFFERED, FILE_ANY_ACCESS), NULL,
                    0, NULL, 0, &ret) == ERROR_INVALID_FUNCTION);
    CHECK(hvp_ioctl(g.m, IOCTL_DMTMINI_TRANSFER, buf, 8, NULL, 0, &ret) ==
          ERROR_INSUFFICIENT_BUFFER);
    /* CONFIGURE while a transfer is in flight */
    uint8_t *big = xmalloc(MIB);
    memset(big, 1, MIB);
    config_default(&cfg);
    CHECK(do_transfer(&g, 0, big, MIB, 0, DMTMINI_XFER_ASYNC, 0, &o) == NO_ERROR);
    CHECK(do_configure(&g, &cfg) == ERROR_BUSY);
    CHECK(do_wait(&g, 0, &o) == NO_ERROR && o.status == NO_ERROR && o.bytes == MIB);
    CHECK(do_configure(&g, &cfg) == NO_ERROR);
    free(big);
    /* the ring-mapping IOCTL needs a ring the driver owns */
    DMTMINI_MAP_RING_IN mi = {0};
    DMTMINI_MAP_RING_OUT mo;
    CHECK(hvp_ioctl(g.m, IOCTL_DMTMINI_MAP_RING, &mi, sizeof(mi), &mo, sizeof(mo), &ret) ==
          ERROR_DEV_NOT_EXIST);
    CHECK(rig_misuse(&g) == 0);
    rig_close(&g);
}

#ifndef DMTMINI_TEST_NOPROBE
/* The bug-check locator the probe writes for the ring the driver owns
 * (the same function its 0xEA callback calls on Windows): its bytes parse,
 * name the ring, and lead carve straight to it in a memory image holding
 * the ring and a copy of the locator. */
static void check_locator(const uint8_t *ring, size_t ring_bytes)
{
    static uint8_t buf[4000 - BUGCHECK_DATA_SIZE_RESERVED];
    dmt_locator l;
    CHECK(dmtp_locator(buf, 50) == 0); /* too small: nothing */
    size_t n = dmtp_locator(buf, sizeof buf);
    CHECK(n == DMT_LOC_HDR_SIZE + DMT_LOC_ENTRY_SIZE);
    CHECK(dmt_locator_parse(buf, n, &l) == DMT_LOC_OK);
    CHECK(l.n == 1 && l.rings[0].index == 0 && l.rings[0].count == 1);
    CHECK(l.rings[0].data_size == ring_bytes - DMT_RING_HDR_SIZE);
    CHECK(l.region_bytes == ring_bytes && l.rings[0].va == l.region_va);
    CHECK(l.phys_source == DMT_LOC_PHYS_NONE && l.rings[0].phys == 0); /* the host has none */
    /* Told where the region is, as a test machine's image would have it. */
    const uint64_t phys = 0x123000;
    dmtp_set_region_phys(phys);
    n = dmtp_locator(buf, sizeof buf);
    CHECK(dmt_locator_parse(buf, n, &l) == DMT_LOC_OK);
    CHECK(l.phys_source == DMT_LOC_PHYS_CALLER && l.rings[0].phys == phys);
    dmtp_set_region_phys(0);
    const size_t mem = phys + ring_bytes + 4096;
    uint8_t *m = calloc(1, mem);
    char dir[64];
    REQUIRE(m && tk_mkdtemp(dir, sizeof dir, "miniport-loc"));
    memcpy(m + phys, ring, ring_bytes);
    memcpy(m + 0x10000, buf, n); /* the callback's buffer, in memory */
    char path[96];
    snprintf(path, sizeof path, "%s/mem.raw", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(m, 1, mem, f) == mem);
    if (f)
        fclose(f);
    dmt_image *img;
    dmt_error err;
    dmt_carve_scan_result *res = malloc(sizeof *res);
    CHECK(dmt_image_open(path, 0, &img, &err) == 0);
    CHECK(dmt_carve_scan(img, res, NULL, NULL, &err) == 0);
    CHECK(res->n_locators == 1 && res->trusted == 0 && res->locators[0].phys == 0x10000);
    CHECK(res->n == 1 && res->rings[0].phys == phys);
    CHECK(res->rings[0].verdict == DMT_CARVE_LIVE && res->rings[0].why == DMT_CARVE_WHY_NAMED);
    dmt_image_close(img);
    free(res);
    free(m);
    tk_sh("rm -rf %s", dir);
}

/* The whole Windows path on the host VideoPort: the probe's FindAdapter
 * trampoline looked VideoPortRegisterBugcheckCallback up and registered
 * for 0xEA; the "bug check" hands the callback VideoPort's buffer, which
 * receives the locator and zeros, and nothing past it. */
static void check_bugcheck(rig *g, size_t ring_bytes)
{
    static uint8_t bc[4000];
    size_t size = 0;
    dmt_locator l;
    CHECK(hvp_bugcheck(g->m, 0x50, bc, sizeof bc, NULL) == HVP_ENODEV);
    CHECK(hvp_bugcheck(g->m, 0xEA, bc, 100, &size) == HVP_EINVAL);
    CHECK(size == DMT_LOC_MAX_SIZE && size + BUGCHECK_DATA_SIZE_RESERVED <= 4000);
    memset(bc, 0xEE, sizeof bc);
    CHECK(hvp_bugcheck(g->m, 0xEA, bc, sizeof bc, &size) == HVP_OK);
    CHECK(dmt_locator_parse(bc, size, &l) == DMT_LOC_OK);
    CHECK(l.n == 1 && l.region_bytes == ring_bytes);
    CHECK(bc[DMT_LOC_HDR_SIZE + DMT_LOC_ENTRY_SIZE] == 0 && bc[size - 1] == 0);
    CHECK(bc[size] == 0xEE);
}

/* Nobody attached a ring before FindAdapter: the driver allocates one in a
 * common buffer and maps it into the caller (the Windows path). */
/*
 * TSC conversion: a real-clock rig whose probe stamps from the invariant TSC
 * with a 2 ms calibration interval; markers logged between two
 * CLOCK_MONOTONIC readings (the host counter's clock) over ~30 ms, so the
 * conversion is updated several times.  Every marker's time lies between
 * its readings give or take the error bound the calibrations before and
 * after it state; times never go back across an update; each CALIBRATION
 * continues the previous conversion (its time is the old conversion of its
 * TSC) and lies within its bound of its own counter reading.  Where the
 * TSC is not invariant (or not x86), the probe falls back to the counter
 * and logs no calibration.  Forcing the counter does the same everywhere.
 */
#define TSC_MARKS 300

__extension__ typedef unsigned __int128 u128; /* the reference product (GCC, x86-64 host) */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void scenario_tsc(void)
{
    rig g;
    hvp_config hc;
    static int64_t before[TSC_MARKS], after[TSC_MARKS];
    bool tsc = dmtp_clock_for(DMTP_CLOCK_AUTO) == DMTP_CLOCK_TSC;
    /* the scaling the probe uses: exact against a 128-bit product (the
     * result modulo 2^64) */
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t a = i < 5000 ? x >> (i % 64) : x;
        uint32_t m = (uint32_t)(x >> 32) ^ (uint32_t)i;
        unsigned s = (unsigned)i % 33u;
        CHECK(dmt_mul_shift(a, m, s) == (uint64_t)(((u128)a * m) >> s));
    }
    hvp_config_default(&hc);
    hc.deterministic = true;
    hc.real_clock = true; /* QueryPerformanceCounter is CLOCK_MONOTONIC */

    /* forced counter: no calibration, times from the counter */
    g_clock = DMTP_CLOCK_COUNTER;
    rig_open(&g, "tsc-counter", &hc, NULL, true);
    CHECK(dmtp_clock() == DMTP_CLOCK_COUNTER);
    CHECK(g.ring.hdr->clock_hint != DMT_RING_CLOCK_TSC);
    CHECK(count_kind(&g, 0, DMT_K_CALIBRATION) == 0);
    rig_close(&g);
    g_clock = DMTP_CLOCK_AUTO;
    if (!tsc)
        printf("[tsc] no invariant TSC here: the counter fallback only\n");

    g_cal_ns = 2000000;
    rig_open(&g, "tsc", &hc, NULL, true);
    CHECK(dmtp_clock() == (tsc ? DMTP_CLOCK_TSC : DMTP_CLOCK_COUNTER));
    CHECK((g.ring.hdr->clock_hint == DMT_RING_CLOCK_TSC) == tsc);
    size_t from = g.n;
    for (int i = 0; i < TSC_MARKS; i++) {
        char text[16];
        snprintf(text, sizeof text, "m%d", i);
        before[i] = mono_ns();
        dmtp_marker(text);
        after[i] = mono_ns();
        usleep(100);
    }
    rig_drain(&g);
    CHECK(g.lost == 0);
    if (!tsc) {
        CHECK(count_kind(&g, 0, DMT_K_CALIBRATION) == 0);
        rig_close(&g);
        g_cal_ns = 0;
        return;
    }
    /* the calibrations: the first at attach, then updates */
    size_t ncal = count_kind(&g, 0, DMT_K_CALIBRATION);
    CHECK(ncal >= 3);
    CHECK(g.n > 0 && g.v[0].r.kind == DMT_K_CALIBRATION);
    const dmt_record *prev = NULL;
    int64_t last = INT64_MIN;
    int mark = 0, bad = 0;
    for (size_t i = 0; i < g.n; i++) {
        const dmt_record *r = &g.v[i].r;
        CHECK(r->ts >= last); /* one thread: never back, also across an update */
        last = r->ts;
        if (r->kind == DMT_K_CALIBRATION) {
            CHECK(r->counter_hz == 1000000000u && r->shift <= 32 && r->mult > 0);
            int64_t c = (int64_t)r->counter; /* ns: the host counter runs at 1 GHz */
            CHECK(r->ts - c <= (int64_t)r->err_ns && c - r->ts <= (int64_t)r->err_ns);
            /* both readers' decoders take it alike (as a file record) */
            uint8_t enc[64];
            size_t n = dmt_enc_record(enc, sizeof enc, r, r->ts);
            bool accepted = false;
            char why[256] = "";
            CHECKF(n > 0 && tk_decoders_agree(enc, n, &accepted, why, sizeof why) && accepted,
                   "calibration: %s", why);
            if (prev) /* continuous: the old conversion's value at the new base */
                CHECK(r->ts == prev->ts + (int64_t)dmt_mul_shift(r->tsc - prev->tsc, prev->mult,
                                                                 prev->shift));
            prev = r;
            continue;
        }
        if (i < from || r->kind != DMT_K_MARKER)
            continue;
        /* the bound: the larger of the calibrations around this marker */
        uint64_t err = prev->err_ns;
        for (size_t j = i + 1; j < g.n; j++)
            if (g.v[j].r.kind == DMT_K_CALIBRATION) {
                if (g.v[j].r.err_ns > err)
                    err = g.v[j].r.err_ns;
                break;
            }
        if (mark < TSC_MARKS &&
            (r->ts < before[mark] - (int64_t)err || r->ts > after[mark] + (int64_t)err)) {
            if (bad++ < 5)
                fprintf(stderr,
                        "  [tsc] marker %d at %lld, CLOCK_MONOTONIC %lld..%lld, bound %llu\n", mark,
                        (long long)r->ts, (long long)before[mark], (long long)after[mark],
                        (unsigned long long)err);
        }
        mark++;
    }
    CHECK(mark == TSC_MARKS);
    CHECK(bad == 0);
    printf("[tsc] %zu calibrations, last bound %llu ns\n", ncal,
           prev ? (unsigned long long)prev->err_ns : 0ull);
    rig_close(&g);
    g_cal_ns = 0;
}

static void scenario_own_ring(void)
{
    rig g;
    rig_open(&g, "own-ring", NULL, NULL, false);
    DMTMINI_INFO q = do_query(&g);
    CHECK(q.ring_owned == 1 && q.ring_bytes > DMT_RING_HDR_SIZE);
    CHECK(dmtp_attached());
    DMTMINI_MAP_RING_IN mi = {(uint64_t)-1};
    DMTMINI_MAP_RING_OUT mo;
    uint32_t ret = 0;
    int32_t rc = hvp_ioctl(g.m, IOCTL_DMTMINI_MAP_RING, &mi, sizeof(mi), &mo, sizeof(mo), &ret);
    CHECK(rc == NO_ERROR);
    if (rc == NO_ERROR) {
        CHECK(mo.user_va != 0 && mo.length >= mo.ring_bytes && mo.ring_bytes == q.ring_bytes);
        CHECK(dmt_ring_attach(&g.ring, (void *)(uintptr_t)mo.user_va, mo.ring_bytes) == 0);
        dmt_ring_consumer_init(&g.cons, &g.ring, UINT64_MAX);
        g.attached = true;
        rig_drain(&g);
        /* the snapshot at attach: the register range, the channels'
         * adapters and rings, the ring's own adapter but not its buffer */
        CHECK(count_kind(&g, 0, DMT_K_DEVICE_MAP) == 1);
        CHECK(count_kind(&g, 0, DMT_K_ADAPTER_CREATE) == 3);
        CHECK(count_kind(&g, 0, DMT_K_COMMON_ALLOC) == 2);
        size_t from = g.n;
        (void)from;
        h2c(&g, 70000, 3, 0, 91, true);
        c2h(&g, 70000, 5, 65536, 92, true);
        CHECK(g.checked >= 2);
        (void)from;
        check_locator((const uint8_t *)(uintptr_t)mo.user_va, mo.ring_bytes);
        check_bugcheck(&g, mo.ring_bytes);
        CHECK(hvp_ioctl(g.m, IOCTL_DMTMINI_UNMAP_RING, &mo, sizeof(mo), NULL, 0, &ret) == NO_ERROR);
        g.attached = false;
    }
    CHECK(rig_misuse(&g) == 0);
    rig_close(&g);
}

/* ---- fault injection ----------------------------------------------------------- */

typedef struct fault_rig {
    rig g;
    size_t from;
    DMTMINI_TRANSFER_OUT out;
} fault_rig;

/* Fresh machine, fragmented memory, the fault armed for the second
 * transfer (the first must be clean). */
static void fault_open(fault_rig *f, const char *name, uint32_t fault, bool nosg,
                       const hvp_config *hc0, const dmm_config *dc)
{
    hvp_config hc;
    if (hc0)
        hc = *hc0;
    else
        hvp_config_default(&hc);
    hc.deterministic = true;
    hc.contig_permille = 0;
    hc.seed = 3;
    rig_open(&f->g, name, &hc, dc, true);
    static const xcheck truncated = {.skip_descs = true};
    if (fault == DMTMINI_FAULT_ADDR64_TO_DMA32) /* every transfer: LowPart addresses */
        f->g.xc = &truncated;
    DMTMINI_CONFIG cfg;
    config_default(&cfg);
    cfg.faults = fault;
    cfg.fault_transfer = 1;
    if (nosg)
        for (unsigned c = 0; c < DMTMINI_NUM_CH; c++) {
            cfg.ch[c].flags = 0;
            cfg.ch[c].dma64 = 1;
            cfg.ch[c].maximum_length = 16 * 1024;
        }
    CHECK(do_configure(&f->g, &cfg) == NO_ERROR);
    rig_drain(&f->g);
    DMTMINI_TRANSFER_OUT clean =
        h2c(&f->g, 40000, 0, 0, 11, fault != DMTMINI_FAULT_ADDR64_TO_DMA32);
    if (fault != DMTMINI_FAULT_ADDR64_TO_DMA32)
        CHECK(clean.faults_applied == 0 && clean.transfer_no == 0);
    f->from = f->g.n;
}

/* The EXECUTE_DMA records after from, in order. */
static size_t nth_exec(const rig *g, size_t from, size_t n)
{
    for (size_t i = from; i < g->n; i++)
        if (g->v[i].r.kind == DMT_K_EXECUTE_DMA && n-- == 0)
            return i;
    return SIZE_MAX;
}

static void fault_sg(uint32_t fault, const char *name)
{
    static hwdesc d[DMM_MAX_DESC];
    fault_rig f;
    fault_open(&f, name, fault, false, NULL, NULL);
    rig *g = &f.g;
    /* the transfer is a normal trace apart from the descriptors */
    static const xcheck xc = {.skip_descs = true};
    g->xc = &xc;
    DMTMINI_TRANSFER_OUT o = h2c(g, 10 * 4096 + 100, 8, 0, 12, false);
    CHECK(o.transfer_no == 1);
    CHECK(o.faults_applied == fault);
    size_t ei = nth_exec(g, f.from, 0);
    REQUIRE(ei != SIZE_MAX);
    const trec *e = &g->v[ei];
    REQUIRE(e->r.n_sg > 1);
    int nd = descs_of(g, ei, d, (int)DMM_MAX_DESC);
    uint32_t n = e->r.n_sg;
    uint64_t total = 0;
    for (int k = 0; k < nd; k++)
        total += d[k].len;
    switch (fault) {
    case DMTMINI_FAULT_SG_LEN_OFF_BY_ONE:
        CHECK(nd == (int)n);
        CHECK(d[n - 1].host == e->sg[n - 1].addr && d[n - 1].len == e->sg[n - 1].len + 1);
        for (uint32_t k = 0; k + 1 < n; k++)
            CHECK(d[k].len == e->sg[k].len);
        CHECK(total == e->r.length + 1);
        break;
    case DMTMINI_FAULT_SG_SKIP:
        CHECK(nd == (int)n - 1);
        for (int k = 0; k < nd; k++)
            CHECK(d[k].host != e->sg[n - 1].addr);
        CHECK(total == e->r.length - e->sg[n - 1].len);
        /* the skipped bytes never reached the device */
        CHECK(o.status == NO_ERROR);
        break;
    case DMTMINI_FAULT_SG_DUP:
        CHECK(nd == (int)n + 1);
        CHECK(d[0].host == e->sg[0].addr && d[1].host == e->sg[0].addr && d[1].len == d[0].len);
        CHECK(d[1].dev == d[0].dev + d[0].len);
        CHECK(total == e->r.length + e->sg[0].len);
        break;
    default:
        CHECK(0);
    }
    /* a later transfer is clean again (and checked in full by h2c) */
    g->xc = NULL;
    size_t checked = g->checked;
    DMTMINI_TRANSFER_OUT o2 = h2c(g, 40000, 0, 0, 13, true);
    CHECK(o2.faults_applied == 0);
    CHECK(g->checked == checked + 1);
    rig_close(g);
}

static void fault_complete_missing(void)
{
    fault_rig f;
    fault_open(&f, "complete_missing", DMTMINI_FAULT_COMPLETE_MISSING, false, NULL, NULL);
    rig *g = &f.g;
    static const xcheck xc = {.allow_missing_complete = true};
    g->xc = &xc;
    /* the IOCTL still finishes, with the data moved */
    DMTMINI_TRANSFER_OUT o = c2h(g, 30000, 0, 4096, 14, true);
    CHECK(o.faults_applied == DMTMINI_FAULT_COMPLETE_MISSING);
    size_t nstart = count_kind(g, f.from, DMT_K_START_DMA);
    CHECK(nstart >= 1);
    CHECK(count_kind(g, f.from, DMT_K_COMPLETE_DMA) == nstart - 1);
    CHECK(count_kind(g, f.from, DMT_K_DIGEST) == nstart - 1);
    CHECK(count_kind(g, f.from, DMT_K_BUFFER_UNLOCK) == 1);
    hvp_stats st;
    hvp_stats_get(g->m, &st);
    CHECK(st.misuse[HVP_MISUSE_UNLOCK_BUSY] == 1); /* the port noticed too */
    rig_close(g);
}

static void fault_complete_early(void)
{
    fault_rig f;
    fault_open(&f, "complete_early", DMTMINI_FAULT_COMPLETE_EARLY, false, NULL, NULL);
    rig *g = &f.g;
    DMTMINI_TRANSFER_OUT o = h2c(g, 30000, 0, 0, 15, true);
    CHECK(o.faults_applied == DMTMINI_FAULT_COMPLETE_EARLY);
    size_t ei = nth_exec(g, f.from, 0);
    REQUIRE(ei != SIZE_MAX);
    uint32_t x = g->v[ei].r.xfer;
    size_t ci = find_xfer(g, ei, DMT_K_COMPLETE_DMA, x);
    REQUIRE(ci != SIZE_MAX);
    /* COMPLETE_DMA right behind the doorbell, before any interrupt */
    bool irq_between = false;
    for (size_t k = ei; k < ci; k++)
        irq_between |= g->v[k].r.kind == DMT_K_INTERRUPT;
    CHECK(!irq_between);
    CHECK(g->v[ci - 1].r.kind == DMT_K_DIGEST);
    CHECK(g->v[ci - 2].r.kind == DMT_K_REG_WRITE && g->v[ci - 2].r.value == DMM_CTRL_RUN);
    CHECK(find_xfer(g, f.from, DMT_K_INTERRUPT, 0) > ci);
    /* without the fault: the interrupt comes first */
    size_t later = g->n;
    h2c(g, 30000, 0, 0, 16, true);
    size_t e2 = nth_exec(g, later, 0);
    size_t c2 = find_xfer(g, e2, DMT_K_COMPLETE_DMA, g->v[e2].r.xfer);
    irq_between = false;
    for (size_t k = e2; k < c2 && c2 != SIZE_MAX; k++)
        irq_between |= g->v[k].r.kind == DMT_K_INTERRUPT;
    CHECK(irq_between);
    rig_close(g);
}

static void fault_overlong(void)
{
    static hwdesc d[DMM_MAX_DESC];
    fault_rig f;
    fault_open(&f, "overlong", DMTMINI_FAULT_OVERLONG, true, NULL, NULL);
    rig *g = &f.g;
    static const xcheck xc = {.skip_descs = true};
    g->xc = &xc;
    DMTMINI_TRANSFER_OUT o = h2c(g, 64 * 1024, 0, 0, 17, false);
    CHECK(o.faults_applied == DMTMINI_FAULT_OVERLONG);
    /* the first chunk was shortened; its descriptor asks for all 64 KiB */
    size_t si = SIZE_MAX;
    for (size_t i = f.from; i < g->n && si == SIZE_MAX; i++)
        if (g->v[i].r.kind == DMT_K_START_DMA)
            si = i;
    REQUIRE(si != SIZE_MAX);
    size_t ei = find_xfer(g, si, DMT_K_EXECUTE_DMA, g->v[si].r.xfer);
    REQUIRE(ei != SIZE_MAX);
    const trec *e = &g->v[ei];
    CHECK(e->r.length < g->v[si].r.length);
    int nd = descs_of(g, ei, d, (int)DMM_MAX_DESC);
    CHECK(nd == 1 && e->r.n_sg == 1);
    CHECK(d[0].host == e->sg[0].addr);
    CHECK(d[0].len == g->v[si].r.length); /* requested, not granted */
    CHECK(d[0].len > e->r.length);
    rig_close(g);
}

static void fault_addr64(void)
{
    static hwdesc d[DMM_MAX_DESC];
    fault_rig f;
    hvp_config hc;
    dmm_config dc;
    hvp_config_default(&hc);
    hc.placement = HVP_PLACE_ABOVE_4G;
    dmm_config_default(&dc);
    dc.addr_bits = 32;
    fault_open(&f, "addr64_to_dma32", DMTMINI_FAULT_ADDR64_TO_DMA32, false, &hc, &dc);
    rig *g = &f.g;
    DMTMINI_INFO q = do_query(g);
    CHECK(DMM_CAPS_ADDR_BITS(q.caps) == 32 && q.ch[0].dma64); /* the wrong description */
    /* the adapters claim 64-bit: no limit, no bounce */
    for (size_t i = 0; i < g->n; i++)
        if (g->v[i].r.kind == DMT_K_ADAPTER_CREATE && g->v[i].r.adapter > 2)
            CHECK(g->v[i].r.dma64 && g->v[i].r.addr_limit > 0xFFFFFFFFull);
    static const xcheck xc = {.skip_descs = true};
    g->xc = &xc;
    DMTMINI_TRANSFER_OUT o = h2c(g, 20000, 0, 0, 18, false);
    CHECK(o.faults_applied & DMTMINI_FAULT_ADDR64_TO_DMA32);
    size_t ei = nth_exec(g, f.from, 0);
    REQUIRE(ei != SIZE_MAX);
    const trec *e = &g->v[ei];
    int nd = descs_of(g, ei, d, (int)DMM_MAX_DESC);
    CHECK(nd == (int)e->r.n_sg);
    bool high = false;
    for (int k = 0; k < nd && k < (int)e->r.n_sg; k++) {
        high |= e->sg[k].addr > 0xFFFFFFFFull;
        CHECK(d[k].host == (e->sg[k].addr & 0xFFFFFFFFull)); /* LowPart only */
    }
    CHECK(high);
    /* the device got the buffer's own (high) pages: checked, not bounced */
    CHECK(e->r.xfer_flags == DMT_XF_BOUNCE_CHECKED);
    rig_close(g);
}
#endif /* !DMTMINI_TEST_NOPROBE */

static void check_fault_names(void)
{
    g_scenario = "fault-names";
    uint32_t all = 0;
    for (uint32_t bit = 1; bit & DMTMINI_FAULT_ALL; bit <<= 1) {
        const char *n = dmtmini_fault_name(bit);
        CHECK(n != NULL);
        if (n)
            CHECK(dmtmini_fault_by_name(n) == bit);
        all |= bit;
    }
    CHECK(all == DMTMINI_FAULT_ALL);
    CHECK(dmtmini_fault_by_name("sg") == 0 && dmtmini_fault_by_name("sg_skipx") == 0);
    CHECK(dmtmini_fault_by_name("") == 0 && dmtmini_fault_name(0x80) == NULL);
}

int main(void)
{
    check_fault_names();
    scenario_basic();
    g_policy = DMT_DIGEST_FULL;
    scenario_basic();
    scenario_fragmented();
    g_policy = DMT_DIGEST_OFF;
    scenario_nosg();
    g_policy = -1;
    scenario_dma32_high();
    scenario_nosg();
    scenario_rev2();
    scenario_concurrent();
    scenario_reactos();
    scenario_reactos_dropped();
    scenario_deferred();
    scenario_errors();
#ifndef DMTMINI_TEST_NOPROBE
    scenario_own_ring();
    scenario_tsc();
    scenario_deferred_order();
    fault_sg(DMTMINI_FAULT_SG_LEN_OFF_BY_ONE, "sg_len_off_by_one");
    fault_sg(DMTMINI_FAULT_SG_SKIP, "sg_skip");
    fault_sg(DMTMINI_FAULT_SG_DUP, "sg_dup");
    fault_complete_missing();
    fault_complete_early();
    fault_overlong();
    fault_addr64();
#endif
    return tk_result("miniport test");
}

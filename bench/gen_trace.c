/*
 * gen_trace.c - write a synthetic, realistic N-event dmatrace session with
 * dmt_writer (see gen_trace.h for what a session holds).
 *
 * The library dmt_gentrace; the gen_trace tool (gen_trace_main.c),
 * bench_import and the store tests link it.
 *
 * Time model: register accesses ~100-400 ns apart, a transfer's data phase
 * takes bytes / 4 GB/s, 2..20 us between transfers.  Device registers and
 * descriptors (revision 2) are the device model's, from its published map
 * (dmm/map.h, device-model/README.md); adapter a drives channel c = a % 2
 * (dev 0 and dev 1 alike): DESC_LO/HI, DESC_COUNT, CTRL.RUN (doorbell),
 * STATUS (read, then DONE written back: W1C), IRQ_STATUS (read and
 * acknowledged), and a vendor block just past the channels written with a
 * register buffer write (outside the model's map).
 */
#include "gen_trace.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dmt/record.h"
#include "dmt/writer.h"
#include "dmm/map.h"

#define G_MDLS    16
#define G_MAX_SG  64
#define G_RING    65536u /* descriptor ring bytes per adapter */
#define G_DESC_SZ DMM_DESC2_SIZE

typedef struct gen {
    dmt_writer *w;
    dmt_error *err;
    uint64_t rnd;
    int64_t now;
    uint64_t left; /* records still to write */
    gen_result *res;
    uint32_t next_xfer;
    uint64_t ring_pos[3];
    uint64_t mdl_len[G_MDLS + 1];
} gen;

static uint64_t g_rand(gen *g)
{
    uint64_t x = g->rnd;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    g->rnd = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static uint64_t g_range(gen *g, uint64_t lo, uint64_t hi) /* [lo, hi] */
{
    return lo + g_rand(g) % (hi - lo + 1);
}

static int emit(gen *g, dmt_record *r)
{
    r->ts = g->now;
    int rc = dmt_writer_append(g->w, r, g->err);
    if (rc)
        return rc;
    g->res->records++;
    if (g->left)
        g->left--;
    if (r->kind == DMT_K_START_DMA)
        g->res->transfers++;
    if (r->kind == DMT_K_EXECUTE_DMA)
        g->res->sg_elements += r->n_sg;
    return 0;
}

static void tick(gen *g, int64_t lo, int64_t hi)
{
    g->now += (int64_t)g_range(g, (uint64_t)lo, (uint64_t)hi);
}

static int reg(gen *g, uint32_t kind, uint32_t dev, uint64_t off, uint64_t value)
{
    dmt_record r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.dev = dev;
    r.off = off;
    r.value = value;
    r.width = 4;
    tick(g, 100, 400);
    return emit(g, &r);
}

static int marker(gen *g, const char *text)
{
    dmt_record r;
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_MARKER;
    r.bytes = (const uint8_t *)text;
    r.n_bytes = (uint32_t)strlen(text);
    tick(g, 50, 100);
    return emit(g, &r);
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

static int setup(gen *g)
{
    dmt_record r;
    TRY(marker(g, "gen_trace: session start"));
    for (uint32_t dev = 0; dev < 2; dev++) {
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_DEVICE_MAP;
        r.dev = dev;
        r.addr = 0xF0000000ull + dev * 0x100000ull;
        r.length = 0x10000;
        r.va = 0xFFFFF80000000000ull + dev * 0x100000ull;
        tick(g, 1000, 2000);
        TRY(emit(g, &r));
    }
    for (uint32_t ad = 1; ad <= 2; ad++) {
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_ADAPTER_CREATE;
        r.adapter = ad;
        r.dev = ad - 1;
        r.sg = true;
        r.dma64 = ad == 1;
        r.dma32 = ad == 2;
        r.length = 1u << 20;
        r.map_registers = 257;
        r.addr_limit = ad == 1 ? UINT64_MAX : 0xFFFFFFFFull;
        tick(g, 1000, 2000);
        TRY(emit(g, &r));
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_COMMON_ALLOC;
        r.cb = ad;
        r.adapter = ad;
        r.addr = 0x7F000000ull + ad * 0x100000ull;
        r.length = G_RING;
        r.cached = false;
        r.va = 0xFFFFF90000000000ull + ad * 0x100000ull;
        tick(g, 1000, 2000);
        TRY(emit(g, &r));
    }
    for (uint32_t m = 1; m <= G_MDLS; m++) {
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_BUFFER_LOCK;
        r.mdl = m;
        r.va = 0x10000000ull * m + (m & 1 ? 0x10 : 0);
        r.length = (uint64_t)G_MAX_SG * DMT_PAGE_SIZE * (m % 4 + 1);
        r.op = m % 3;
        g->mdl_len[m] = r.length;
        tick(g, 500, 1500);
        TRY(emit(g, &r));
        if (m % 2 == 0) {
            memset(&r, 0, sizeof r);
            r.kind = DMT_K_PATTERN;
            r.mdl = m;
            r.algo = DMT_PATTERN_XS64;
            r.value = g_rand(g);
            r.offset = 0;
            r.length = g->mdl_len[m];
            tick(g, 100, 200);
            TRY(emit(g, &r));
        }
    }
    return 0;
}

static int teardown(gen *g)
{
    dmt_record r;
    for (uint32_t m = 1; m <= G_MDLS; m++) {
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_BUFFER_UNLOCK;
        r.mdl = m;
        tick(g, 200, 500);
        TRY(emit(g, &r));
    }
    for (uint32_t ad = 1; ad <= 2; ad++) {
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_COMMON_RELEASE;
        r.cb = ad;
        r.adapter = ad;
        tick(g, 200, 500);
        TRY(emit(g, &r));
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_ADAPTER_RELEASE;
        r.adapter = ad;
        tick(g, 200, 500);
        TRY(emit(g, &r));
    }
    return marker(g, "gen_trace: session end");
}

/* SG list length: mostly short lists, a tail up to 64 (mean ~8.7). */
static uint32_t sg_count(gen *g)
{
    uint64_t p = g_rand(g) % 100;
    if (p < 60)
        return (uint32_t)g_range(g, 1, 4);
    if (p < 90)
        return (uint32_t)g_range(g, 5, 16);
    return (uint32_t)g_range(g, 17, G_MAX_SG);
}

static int transfer(gen *g)
{
    static dmt_sg_elem sg[G_MAX_SG];
    static uint8_t desc[G_MAX_SG * G_DESC_SZ];
    dmt_record r;
    uint32_t xfer = g->next_xfer++;
    uint64_t roll = g_rand(g) % 1000;
    uint32_t ad = roll % 5 == 0 ? 2 : 1; /* one in five on the 32-bit adapter */
    uint32_t dev = ad - 1;
    uint32_t mdl = (uint32_t)g_range(g, 1, G_MDLS);
    uint32_t n = sg_count(g);
    bool to_dev = (g_rand(g) & 1) != 0;
    uint64_t first_off = (g_rand(g) & 1) ? g_range(g, 1, 255) * 16 : 0;
    uint64_t requested = (uint64_t)n * DMT_PAGE_SIZE - first_off;
    bool fail = roll == 7;          /* StartDma fails: no ExecuteDma */
    bool truncate = roll % 97 == 3; /* fewer map registers than needed */
    bool never = roll == 11;        /* the driver never completes it */
    bool twice = roll == 13;        /* CompleteDma called twice */

    /* START_DMA */
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_START_DMA;
    r.xfer = xfer;
    r.adapter = ad;
    r.mdl = mdl;
    r.offset = first_off;
    r.length = requested;
    r.write_to_device = to_dev;
    r.context = 0xFFFFFA8000000000ull + xfer * 64ull;
    tick(g, 2000, 20000);
    TRY(emit(g, &r));

    if (fail) {
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_START_DMA_END;
        r.xfer = xfer;
        r.adapter = ad;
        r.status = 0xC000009A; /* insufficient resources */
        r.length = 0;
        tick(g, 300, 800);
        return emit(g, &r);
    }

    /* EXECUTE_DMA: pages of RAM; adapter 1 sometimes above 4 GiB, and now
     * and then an element that straddles the 4 GiB line. */
    uint32_t ne = truncate && n > 1 ? n - 1 : n;
    uint64_t granted = 0;
    for (uint32_t i = 0; i < ne; i++) {
        uint64_t page = ad == 1 && g_range(g, 0, 3) == 0 ? g_range(g, 0x100000, 0x7FFFFF)
                                                         : g_range(g, 0x100, 0xFFFEF);
        if (ad == 1 && roll == 500 && i == 0)
            page = 0xFFFFF; /* with a second page contiguous: crosses 4 GiB */
        uint64_t len = DMT_PAGE_SIZE;
        if (i == 0) {
            len -= first_off;
            if (ad == 1 && roll == 500)
                len += DMT_PAGE_SIZE;
        }
        sg[i].addr = (page << DMT_PAGE_SHIFT) + (i == 0 ? first_off : 0);
        sg[i].len = (uint32_t)len;
        granted += len;
    }
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_EXECUTE_DMA;
    r.xfer = xfer;
    r.adapter = ad;
    r.length = granted;
    r.n_sg = ne;
    r.sg_list = sg;
    tick(g, 300, 1500);
    TRY(emit(g, &r));

    /* Descriptors into the ring, then program the engine. */
    uint64_t dev_off = 0;
    for (uint32_t i = 0; i < ne; i++) {
        dmm_map_desc_encode(2, desc + i * G_DESC_SZ, sg[i].addr, sg[i].len, dev_off);
        dev_off += (sg[i].len + 3u) & ~3u;
    }
    uint64_t pos = g->ring_pos[ad];
    if (pos + ne * G_DESC_SZ > G_RING)
        pos = 0;
    g->ring_pos[ad] = pos + ne * G_DESC_SZ;
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_DESC_WRITE;
    r.cb = ad;
    r.offset = pos;
    r.n_bytes = ne * G_DESC_SZ;
    r.bytes = desc;
    tick(g, 200, 600);
    TRY(emit(g, &r));
    uint64_t dl = 0x7F000000ull + ad * 0x100000ull + pos;
    const uint64_t base = DMM_CH_BASE(ad % 2u);
    TRY(reg(g, DMT_K_REG_WRITE, dev, base + DMM_CH_DESC_LO, dl & 0xFFFFFFFFu));
    TRY(reg(g, DMT_K_REG_WRITE, dev, base + DMM_CH_DESC_HI, dl >> 32));
    TRY(reg(g, DMT_K_REG_WRITE, dev, base + DMM_CH_DESC_COUNT, ne));
    if (xfer % 64 == 0) {
        uint64_t vals[4] = {0x1, granted, to_dev ? 0x10 : 0x20, xfer};
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_REG_WRITE_BUF;
        r.dev = dev;
        r.off = DMM_CH_BASE(DMM_NUM_CHANNELS); /* vendor block */
        r.width = 4;
        r.n_values = 4;
        r.values = vals;
        tick(g, 100, 400);
        TRY(emit(g, &r));
    }
    TRY(reg(g, DMT_K_REG_WRITE, dev, base + DMM_CH_CTRL, DMM_CTRL_RUN));

    memset(&r, 0, sizeof r);
    r.kind = DMT_K_START_DMA_END;
    r.xfer = xfer;
    r.adapter = ad;
    r.status = 0;
    r.length = granted;
    tick(g, 200, 600);
    TRY(emit(g, &r));

    if (roll % 53 == 0) { /* a spurious interrupt: not ours */
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_INTERRUPT;
        r.dev = dev;
        r.claimed = false;
        r.value = 0;
        tick(g, 500, 2000);
        TRY(emit(g, &r));
    }
    if (never)
        return 0;

    /* Data phase, interrupt, status, DPC, completion. */
    g->now += (int64_t)(granted / 4) + (int64_t)g_range(g, 500, 3000);
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_INTERRUPT;
    r.dev = dev;
    r.claimed = true;
    r.value = 0x80000000u | (xfer & 0xFFFF);
    TRY(emit(g, &r));
    TRY(reg(g, DMT_K_REG_READ, dev, DMM_REG_IRQ_STATUS, DMM_IRQ_DONE(ad % 2u)));
    TRY(reg(g, DMT_K_REG_WRITE, dev, DMM_REG_IRQ_STATUS, DMM_IRQ_DONE(ad % 2u)));
    TRY(reg(g, DMT_K_REG_READ, dev, base + DMM_CH_STATUS,
            DMM_STATUS_DONE | ((xfer & 0xFFFFu) << 16)));
    TRY(reg(g, DMT_K_REG_WRITE, dev, base + DMM_CH_STATUS, DMM_STATUS_DONE));
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_DPC;
    r.dev = dev;
    r.xfer = xfer;
    tick(g, 1000, 5000);
    TRY(emit(g, &r));
    for (int k = 0; k < (twice ? 2 : 1); k++) {
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_COMPLETE_DMA;
        r.xfer = xfer;
        r.adapter = ad;
        r.write_to_device = to_dev;
        r.status = 0;
        tick(g, 300, 1000);
        TRY(emit(g, &r));
    }
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_DIGEST;
    r.xfer = xfer;
    r.algo = DMT_DIGEST_DMT64;
    r.length = granted;
    r.value = g_rand(g);
    tick(g, 100, 300);
    TRY(emit(g, &r));

    if (xfer % 997 == 0) { /* now and then the bytes themselves */
        static uint8_t pay[256];
        for (unsigned i = 0; i < sizeof pay; i++)
            pay[i] = (uint8_t)(g_rand(g) >> 56);
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_PAYLOAD;
        r.mdl = mdl;
        r.offset = first_off;
        r.n_bytes = sizeof pay;
        r.bytes = pay;
        tick(g, 100, 300);
        TRY(emit(g, &r));
    }
    return 0;
}

int gen_trace_write(const char *path, const gen_opts *o, gen_result *res, dmt_error *err)
{
    gen_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if (o->events < 64)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "gen_trace: at least 64 events");
    dmt_header h;
    memset(&h, 0, sizeof h);
    h.version = DMT_FORMAT_VERSION;
    h.page_shift = DMT_PAGE_SHIFT;
    strcpy(h.producer, "gen_trace 0.1.0");
    strcpy(h.clock, "deterministic");
    strcpy(h.host, "synthetic");
    strcpy(h.scenario, "gen_trace");
    h.seed = o->seed;
    h.ring_size = 1u << 24;

    gen g;
    memset(&g, 0, sizeof g);
    g.err = err;
    g.rnd = o->seed * 0x9E3779B97F4A7C15ull + 0x1234567;
    if (!g.rnd)
        g.rnd = 1;
    g.now = 1000000000; /* 1 s */
    g.left = o->events;
    g.res = res;
    g.next_xfer = 1;
    int rc = dmt_writer_open(path, &h, o->writer_flags, &g.w, err);
    if (rc)
        return rc;
    dmt_writer_set_chunk_size(g.w, 256 * 1024);
    /* Room for the teardown: unlocks, 2 x 2 releases, the marker. */
    const uint64_t tail = G_MDLS + 5;
    uint64_t lost_at = o->events / 2, n_marks = 0;
    bool lost_done = false;
    if ((rc = setup(&g)))
        goto fail;
    while (g.left > tail + 32) {
        if (!lost_done && g.res->records >= lost_at) {
            uint64_t first = dmt_writer_next_seq(g.w);
            tick(&g, 100, 200);
            if ((rc = dmt_writer_lost(g.w, first, 17, DMT_LOST_RING_FULL, err)))
                goto fail;
            res->records++;
            g.left--;
            lost_done = true;
        }
        if (g.next_xfer % 10000 == 0 && n_marks < g.next_xfer / 10000) {
            char text[64];
            n_marks++;
            snprintf(text, sizeof text, "checkpoint %llu", (unsigned long long)n_marks);
            if ((rc = marker(&g, text)))
                goto fail;
        }
        if ((rc = transfer(&g)))
            goto fail;
    }
    while (g.left > tail) /* pad with status polls to the exact count */
        if ((rc = reg(&g, DMT_K_REG_READ, 0, DMM_CH_BASE(0) + DMM_CH_STATUS, 0)))
            goto fail;
    if ((rc = teardown(&g)))
        goto fail;
    if ((rc = dmt_writer_close(g.w, err)))
        return rc;
    struct stat sb;
    if (stat(path, &sb) == 0)
        res->bytes = (uint64_t)sb.st_size;
    return 0;
fail:
    dmt_writer_abort(g.w);
    return rc;
}

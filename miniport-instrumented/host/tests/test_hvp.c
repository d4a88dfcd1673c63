/*
 * test_hvp.c - tests of the host VideoPort (hvp).
 *
 *  (a) SG lists: thousands of random locked buffers, offsets, lengths,
 *      adapters, fragmentation and RAM layouts; every list HwVidExecuteDma
 *      receives is checked against an independent model of the rules written
 *      here (page fragments from the MDL's frames, bounce prediction per
 *      address limit, maximal coalescing, 4 GiB cuts, one element without
 *      ScatterGather, *pLength shortening by map registers and Offset), and
 *      bounce data is checked to move at the right moment in the right
 *      direction.  Plus frame placement, page sharing, determinism, deferred
 *      requests and ReactOS mode.
 *  (b) the whole lifecycle with a tiny descriptor-ring driver written here
 *      (DriverEntry .. FindAdapter .. IOCTL: LockBuffer, StartDma loop,
 *      ExecuteDma -> ring + doorbell, ISR ack -> DPC -> CompleteDma -> next
 *      chunk -> event -> UnlockBuffer) moving data both ways, in threaded,
 *      deterministic, deferred-device and ReactOS modes, with concurrent
 *      IOCTL threads.
 *  (c) every misuse kind reported and counted, never a crash.
 *
 * Nothing depends on timing: threaded tests only wait for completions.
 */
#include <ntdef.h>
#include <dderror.h>
#include <devioctl.h>
#include <miniport.h>
#include <ntddvdeo.h>
#include <video.h>

#include "dmt/testkit.h"
#include "hvp.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE     4096u
#define FOUR_G   0x100000000ull
#define POISON64 0xDEADDEADDEADDEADull
#define POISON32 0xDEADDEADu

int hvp_layout_check_linked(void); /* layout_check.c */

/* ---- random numbers --------------------------------------------------------- */

static uint64_t rnd_state = 0x1234567;
static uint64_t rnd(void)
{
    uint64_t z = (rnd_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint64_t rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

/* ---- logging ---------------------------------------------------------------- */

static int g_verbose;
static unsigned g_log_misuse[HVP_MISUSE_COUNT];
static char g_last_driver_text[128];
static int g_last_driver_level = -1;
static unsigned g_log_errors;

static void test_log(void *ctx, const hvp_log_msg *msg)
{
    (void)ctx;
    if (msg->level == HVP_LOG_MISUSE && (unsigned)msg->misuse < HVP_MISUSE_COUNT)
        __atomic_add_fetch(&g_log_misuse[msg->misuse], 1, __ATOMIC_RELAXED);
    if (msg->level == HVP_LOG_ERROR)
        __atomic_add_fetch(&g_log_errors, 1, __ATOMIC_RELAXED);
    if (msg->level == HVP_LOG_DRIVER) {
        snprintf(g_last_driver_text, sizeof(g_last_driver_text), "%s", msg->text);
        g_last_driver_level = msg->driver_level;
    }
    if (g_verbose)
        fprintf(stderr, "[hvp %d%s%s] %s\n", msg->level, msg->level == HVP_LOG_MISUSE ? " " : "",
                msg->level == HVP_LOG_MISUSE ? hvp_misuse_name(msg->misuse) : "", msg->text);
}

static void base_config(hvp_config *c, bool deterministic)
{
    hvp_config_default(c);
    c->deterministic = deterministic;
    c->log = test_log;
    c->wait_cap_ms = 60000;
}

static dmm_config small_dev(void)
{
    dmm_config d;
    dmm_config_default(&d);
    d.devmem_size = 64 * 1024;
    return d;
}

/* ---- a null driver: FindAdapter/Initialize/StartIO that do nothing --------- */

static BOOLEAN NTAPI null_isr(PVOID ext)
{
    (void)ext;
    return FALSE;
}

static VP_STATUS NTAPI null_find(PVOID ext, PVOID ctx, PWSTR arg, PVIDEO_PORT_CONFIG_INFO ci,
                                 PUCHAR again)
{
    (void)ext;
    (void)ctx;
    (void)arg;
    (void)ci;
    (void)again;
    return NO_ERROR;
}

static BOOLEAN NTAPI null_init(PVOID ext)
{
    (void)ext;
    return TRUE;
}

static BOOLEAN NTAPI null_startio(PVOID ext, PVIDEO_REQUEST_PACKET vrp)
{
    (void)ext;
    vrp->StatusBlock->Status = NO_ERROR;
    vrp->StatusBlock->Information = 0;
    return TRUE;
}

static BOOLEAN g_null_with_isr;

/* A test miniport's DriverEntry: a PCI device with these callbacks. */
static ULONG init_miniport(PVOID a1, PVOID a2, PVIDEO_HW_FIND_ADAPTER find,
                           PVIDEO_HW_INITIALIZE init, PVIDEO_HW_INTERRUPT isr,
                           PVIDEO_HW_START_IO startio, ULONG ext_size)
{
    VIDEO_HW_INITIALIZATION_DATA hw;
    VideoPortZeroMemory(&hw, sizeof(hw));
    hw.HwInitDataSize = sizeof(hw);
    hw.AdapterInterfaceType = PCIBus;
    hw.HwFindAdapter = find;
    hw.HwInitialize = init;
    hw.HwInterrupt = isr;
    hw.HwStartIO = startio;
    hw.HwDeviceExtensionSize = ext_size;
    return VideoPortInitialize(a1, a2, &hw, NULL);
}

static ULONG NTAPI null_entry(PVOID a1, PVOID a2)
{
    return init_miniport(a1, a2, null_find, null_init, g_null_with_isr ? null_isr : NULL,
                         null_startio, 64);
}

static hvp_machine *null_machine(const hvp_config *c, bool with_isr)
{
    dmm_config d = small_dev();
    hvp_machine *m = hvp_machine_new(c, &d);
    CHECK(m != NULL);
    if (!m)
        return NULL;
    g_null_with_isr = with_isr;
    int rc = hvp_load_driver(m, null_entry);
    CHECK(rc == HVP_OK);
    return m;
}

/* ===========================================================================
 * (a) SG lists against an independent model
 * ======================================================================== */

typedef struct mfrag {
    uint64_t phys; /* frame address + page offset */
    uintptr_t host;
    uint32_t len;
    bool bounce;
} mfrag;

#define MAX_EL 8192

/* What HwVidExecuteDma saw. */
typedef struct cb_ctx {
    dmm_phys *pm;
    PULONG plen;
    const uint8_t *host; /* chunk start in the host buffer */
    bool write;
    uint8_t *pattern; /* reads: bytes the "device" wrote, in chunk order */
    bool called;
    uint32_t calls;
    UCHAR irql;
    ULONG plen_at_cb;
    PVP_SCATTER_GATHER_LIST sg;
    uint32_t n;
    uint64_t addr[MAX_EL];
    uint32_t len[MAX_EL];
    bool data_ok;
    bool sync_nested_probe; /* call SynchronizeExecution from inside */
    PVOID devext;
} cb_ctx;

static VOID NTAPI sg_cb(PVOID devext, PVP_DMA_ADAPTER ad, PVP_SCATTER_GATHER_LIST sg, PVOID ctx)
{
    (void)ad;
    cb_ctx *c = ctx;
    c->called = true;
    c->calls++;
    c->irql = VideoPortGetCurrentIrql();
    c->plen_at_cb = c->plen ? *c->plen : 0;
    c->sg = sg;
    c->devext = devext;
    c->n = sg->NumberOfElements;
    c->data_ok = true;
    uint64_t pos = 0;
    for (uint32_t i = 0; i < c->n && i < MAX_EL; i++) {
        c->addr[i] = (uint64_t)sg->Elements[i].Address.QuadPart;
        c->len[i] = sg->Elements[i].Length;
        if (!c->pm || !c->host)
            continue;
        uint32_t l = c->len[i];
        if (c->write) {
            uint8_t *tmp = malloc(l);
            if (!tmp || dmm_phys_read(c->pm, c->addr[i], tmp, l) != DMM_OK ||
                memcmp(tmp, c->host + pos, l) != 0)
                c->data_ok = false;
            free(tmp);
        } else if (c->pattern) {
            for (uint32_t b = 0; b < l; b++)
                c->pattern[pos + b] = (uint8_t)rnd();
            if (dmm_phys_write(c->pm, c->addr[i], c->pattern + pos, l) != DMM_OK)
                c->data_ok = false;
        }
        pos += l;
    }
}

typedef struct layout_model {
    uint64_t low_top, pool32, high;
    enum hvp_placement place;
} layout_model;

static bool in_pools(const layout_model *L, uint64_t a, uint64_t len)
{
    uint64_t e = a + len;
    return (a >= (1ull << 20) && e <= (8ull << 20)) ||
           (a >= L->low_top - L->pool32 && e <= L->low_top);
}

static bool frame_allowed(const layout_model *L, uint64_t a)
{
    bool low = a >= (8ull << 20) && a < (16ull << 20);
    bool mid = a >= (16ull << 20) && a < L->low_top - L->pool32;
    bool high = a >= FOUR_G && a < FOUR_G + L->high;
    switch (L->place) {
    case HVP_PLACE_ANY:
        return low || mid || high;
    case HVP_PLACE_BELOW_4G:
        return low || mid;
    case HVP_PLACE_ABOVE_4G:
        return high;
    case HVP_PLACE_BELOW_16M:
        return low;
    }
    return false;
}

/* Fragments of [va+off, +len) from the MDL's frames. */
static uint32_t model_frags(hvp_machine *m, void *mdl, uintptr_t va, uint32_t off, uint32_t len,
                            mfrag *out)
{
    uintptr_t start = va + off;
    uint32_t first = (uint32_t)((start / PAGE) - (va / PAGE));
    uint32_t n = 0;
    uintptr_t pos = start;
    uint32_t rem = len;
    while (rem) {
        uint32_t po = (uint32_t)(pos % PAGE);
        uint32_t l = PAGE - po < rem ? PAGE - po : rem;
        uint64_t pfn = hvp_mdl_page_frame(m, mdl, first + n);
        out[n] = (mfrag){pfn * PAGE + po, pos, l, false};
        n++;
        pos += l;
        rem -= l;
    }
    return n;
}

/* Independent statement of the Windows rules for one adapter. */
static void model_bounce(mfrag *f, uint32_t n, uint32_t len, bool sg, uint64_t limit)
{
    if (sg) {
        for (uint32_t k = 0; k < n; k++)
            f[k].bounce = f[k].phys + f[k].len - 1 > limit;
        return;
    }
    bool direct = (f[0].phys / FOUR_G) == ((f[0].phys + len - 1) / FOUR_G);
    for (uint32_t k = 0; k < n; k++) {
        if (f[k].phys + f[k].len - 1 > limit)
            direct = false;
        if (k && f[k].phys != f[k - 1].phys + f[k - 1].len)
            direct = false;
    }
    for (uint32_t k = 0; k < n; k++)
        f[k].bounce = !direct;
}

/* The list c saw must be exactly the model's fragments, maximally coalesced,
 * cut at 4 GiB, bounced ones below the limit in the pools. */
static void check_list(const cb_ctx *c, const mfrag *f, uint32_t nf, uint32_t len, bool sg,
                       uint64_t limit, const layout_model *L)
{
    CHECK(c->n >= 1);
    if (!sg)
        CHECK(c->n == 1);
    uint64_t total = 0;
    for (uint32_t i = 0; i < c->n && i < MAX_EL; i++) {
        total += c->len[i];
        CHECK(c->len[i] > 0);
        CHECK(c->addr[i] / FOUR_G == (c->addr[i] + c->len[i] - 1) / FOUR_G);
        CHECK(c->addr[i] + c->len[i] - 1 <= limit);
    }
    CHECK(total == len);
    uint32_t e = 0;
    uint64_t epos = 0, prev_a = 0, prev_l = 0;
    for (uint32_t k = 0; k < nf; k++) {
        if (e >= c->n) {
            CHECK(e < c->n);
            return;
        }
        uint64_t a = c->addr[e] + epos;
        if (!f[k].bounce) {
            CHECK(a == f[k].phys);
        } else {
            CHECK(a % PAGE == f[k].host % PAGE);
            CHECK(in_pools(L, a, f[k].len));
        }
        if (epos == 0 && k > 0) /* boundary: must not have been coalescable */
            CHECK(!(a == prev_a + prev_l && a % FOUR_G != 0));
        if (epos > 0)
            CHECK(a % FOUR_G != 0);
        epos += f[k].len;
        CHECK(epos <= c->len[e]);
        if (epos >= c->len[e]) {
            e++;
            epos = 0;
        }
        prev_a = a;
        prev_l = f[k].len;
    }
    CHECK(e == c->n && epos == 0);
}

/* A frame_fn that sometimes puts a buffer across the 4 GiB boundary. */
static uint64_t straddle_fn(void *ctx, uint32_t seq, uint32_t page, uint64_t proposed)
{
    (void)ctx;
    if (seq % 4 != 1)
        return proposed;
    uint64_t first = FOUR_G / PAGE - 1 - (seq % 3);
    return first + page;
}

typedef struct sg_totals {
    uint64_t lists, bounced_lists, multi_el, cut4g, shortened, frames;
} sg_totals;

static void sg_random_machine(uint64_t seed, sg_totals *t)
{
    hvp_config c;
    base_config(&c, true);
    c.seed = seed;
    uint64_t pick = rnd_below(4);
    c.placement = (enum hvp_placement)pick;
    static const uint32_t perm[] = {0, 250, 500, 900, 1000};
    c.contig_permille = perm[rnd_below(5)];
    c.ram_high_size = (rnd_below(3) + 1) << 30;
    c.ram_low_top = rnd_below(2) ? 0xC0000000ull : 0x80000000ull;
    c.map_register_cap = (uint32_t)(1 + rnd_below(64));
    bool straddle = rnd_below(2) == 0;
    if (straddle)
        c.frame_fn = straddle_fn;
    layout_model L = {c.ram_low_top, c.pool32_size, c.ram_high_size, c.placement};
    hvp_machine *m = null_machine(&c, false);
    if (!m)
        return;
    void *ext = hvp_device_extension(m);
    dmm_phys *pm = hvp_phys(m);

    /* adapters of every kind */
    PVP_DMA_ADAPTER ads[6];
    hvp_adapter_info ai[6];
    for (int i = 0; i < 6; i++) {
        VP_DEVICE_DESCRIPTION d = {.ScatterGather = (BOOLEAN)(i & 1),
                                   .Dma32BitAddresses = (BOOLEAN)((i >> 1) == 1),
                                   .Dma64BitAddresses = (BOOLEAN)((i >> 1) == 2),
                                   .MaximumLength = (ULONG)(1 + rnd_below(1u << 20))};
        ads[i] = VideoPortGetDmaAdapter(ext, &d);
        CHECK(ads[i] != NULL);
        CHECK(hvp_adapter_info_of(m, ads[i], &ai[i]));
        uint64_t nmr = (d.MaximumLength + PAGE - 1) / PAGE + 1;
        if (nmr > c.map_register_cap)
            nmr = c.map_register_cap;
        CHECK(ai[i].map_registers == nmr);
        uint64_t lim = d.Dma64BitAddresses                        ? UINT64_MAX
                       : (d.ScatterGather || d.Dma32BitAddresses) ? 0xFFFFFFFFull
                                                                  : 0xFFFFFFull;
        CHECK(ai[i].max_address == lim);
    }

    mfrag *f = malloc(sizeof(mfrag) * 2048);
    cb_ctx *cc = calloc(1, sizeof(*cc));
    uint32_t maxbuf = c.placement == HVP_PLACE_BELOW_16M ? 1u << 20 : 3u << 20 >> 1;
    for (int b = 0; b < 40; b++) {
        uint32_t len = (uint32_t)(1 + (rnd_below(4) == 0 ? rnd_below(64) : rnd_below(maxbuf)));
        uint32_t po = (uint32_t)rnd_below(PAGE);
        uint8_t *block = NULL;
        if (posix_memalign((void **)&block, PAGE, po + len + PAGE) != 0)
            break;
        uint8_t *buf = block + po;
        for (uint32_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rnd();
        uint8_t *orig = malloc(len);
        memcpy(orig, buf, len);
        VP_LOCK_OPERATION op = (VP_LOCK_OPERATION)rnd_below(3);
        void *mdl = VideoPortLockBuffer(ext, buf, len, op);
        CHECK(mdl != NULL);
        if (!mdl) {
            free(orig);
            free(block);
            continue;
        }
        hvp_mdl_info mi;
        CHECK(hvp_mdl_info_of(m, mdl, &mi));
        CHECK(mi.length == len && mi.va == buf && mi.operation == (int)op && mi.locked);
        uint32_t pages = (uint32_t)((po + (uint64_t)len + PAGE - 1) / PAGE);
        CHECK(mi.pages == pages);
        /* frames: allowed zones (unless forced across 4 GiB), distinct, and
         * exactly the locked bytes visible */
        for (uint32_t p = 0; p < pages; p++) {
            uint64_t pfn = hvp_mdl_page_frame(m, mdl, p);
            CHECK(pfn != UINT64_MAX);
            if (!straddle || mi.lock_seq % 4 != 1)
                CHECK(frame_allowed(&L, pfn * PAGE));
            t->frames++;
        }
        uint64_t p0 = hvp_mdl_page_frame(m, mdl, 0) * PAGE;
        uint64_t pl = hvp_mdl_page_frame(m, mdl, pages - 1) * PAGE;
        CHECK(dmm_phys_is_mapped(pm, p0 + po, 1));
        if (po)
            CHECK(!dmm_phys_is_mapped(pm, p0 + po - 1, 1));
        uint32_t end_off = (uint32_t)((po + (uint64_t)len - 1) % PAGE);
        CHECK(dmm_phys_is_mapped(pm, pl + end_off, 1));
        if (end_off != PAGE - 1)
            CHECK(!dmm_phys_is_mapped(pm, pl + end_off + 1, 1));

        /* StartDma loops and random single calls on random adapters */
        for (int round = 0; round < 3; round++) {
            int ai_i = (int)rnd_below(6);
            bool write = rnd_below(2) == 0;
            uint32_t off = round == 0 ? 0 : (uint32_t)rnd_below(len);
            while (off < len) {
                ULONG req;
                uint64_t r = rnd_below(5);
                req = r == 0   ? 0xFFFFFFFFu
                      : r == 1 ? (ULONG)(len - off)
                               : (ULONG)(1 + rnd_below(len - off + PAGE));
                uint64_t start = (uint64_t)(uintptr_t)buf + off;
                uint64_t exp = req;
                if (exp > len - off)
                    exp = len - off;
                uint64_t cover = (uint64_t)ai[ai_i].map_registers * PAGE - start % PAGE;
                if (exp > cover)
                    exp = cover;
                uint32_t nf = model_frags(m, mdl, (uintptr_t)buf, off, (uint32_t)exp, f);
                model_bounce(f, nf, (uint32_t)exp, ai[ai_i].scatter_gather, ai[ai_i].max_address);
                memset(cc, 0, offsetof(cb_ctx, addr));
                cc->pm = pm;
                cc->plen = &req;
                cc->host = buf + off;
                cc->write = write;
                uint8_t *pattern = write ? NULL : malloc(exp);
                cc->pattern = pattern;
                ULONG asked = req;
                VP_STATUS st =
                    VideoPortStartDma(ext, ads[ai_i], mdl, off, &req, sg_cb, cc, (BOOLEAN)write);
                CHECK(st == NO_ERROR);
                CHECK(cc->called && cc->calls == 1);
                CHECK(req == exp);
                CHECK(cc->plen_at_cb == exp); /* written before the callback */
                CHECK(cc->irql == HVP_IRQL_DISPATCH);
                CHECK(VideoPortGetCurrentIrql() == HVP_IRQL_PASSIVE);
                CHECK(cc->data_ok);
                check_list(cc, f, nf, (uint32_t)exp, ai[ai_i].scatter_gather, ai[ai_i].max_address,
                           &L);
                bool any_bounce = false;
                for (uint32_t k = 0; k < nf; k++)
                    any_bounce |= f[k].bounce;
                t->lists++;
                t->bounced_lists += any_bounce;
                t->multi_el += cc->n > 1;
                t->shortened += exp < asked;
                for (uint32_t i = 1; i < cc->n; i++)
                    t->cut4g += cc->addr[i] % FOUR_G == 0 &&
                                cc->addr[i - 1] + cc->len[i - 1] == cc->addr[i];
                if (!write) {
                    /* before CompleteDma: direct bytes landed, bounced ones not yet */
                    uint64_t pos = 0;
                    bool ok = true;
                    for (uint32_t k = 0; k < nf; k++) {
                        const uint8_t *want = f[k].bounce ? orig + off + pos : pattern + pos;
                        ok &= memcmp(buf + off + pos, want, f[k].len) == 0;
                        pos += f[k].len;
                    }
                    CHECK(ok);
                }
                PVP_SCATTER_GATHER_LIST sgl = cc->sg;
                uint64_t first_addr = cc->addr[0];
                st = VideoPortCompleteDma(ext, ads[ai_i], sgl, (BOOLEAN)write);
                CHECK(st == NO_ERROR);
                if (!write) {
                    CHECK(memcmp(buf + off, pattern, exp) == 0);
                    memcpy(orig + off, pattern, exp);
                } else {
                    CHECK(memcmp(buf, orig, len) == 0); /* a write never changes memory */
                }
                /* the list is poisoned, not freed */
                CHECK(sgl->NumberOfElements == cc->n);
                CHECK((uint64_t)sgl->Elements[0].Address.QuadPart == POISON64);
                CHECK(sgl->Elements[0].Length == POISON32);
                if (f[0].bounce)
                    CHECK(!dmm_phys_is_mapped(pm, first_addr, 1));
                free(pattern);
                off += (uint32_t)exp;
                if (round == 2)
                    break; /* a single random call */
            }
        }
        VideoPortUnlockBuffer(ext, mdl);
        CHECK(!dmm_phys_is_mapped(pm, p0 + po, 1));
        free(orig);
        free(block);
    }
    for (int i = 0; i < 6; i++)
        VideoPortPutDmaAdapter(ext, ads[i]);
    hvp_stats st;
    hvp_stats_get(m, &st);
    CHECK(st.misuse_total == 0);
    CHECK(st.start_dma == st.complete_dma);
    free(cc);
    free(f);
    hvp_machine_free(m);
}

static void test_sg_model(void)
{
    sg_totals t = {0};
    for (uint64_t i = 0; i < 24; i++)
        sg_random_machine(1000 + i * 7919, &t);
    if (g_verbose)
        fprintf(stderr,
                "sg model: %llu lists, %llu bounced, %llu multi-element, %llu 4G cuts, "
                "%llu shortened, %llu frames\n",
                (unsigned long long)t.lists, (unsigned long long)t.bounced_lists,
                (unsigned long long)t.multi_el, (unsigned long long)t.cut4g,
                (unsigned long long)t.shortened, (unsigned long long)t.frames);
    /* the random mix must really exercise every rule */
    CHECK(t.lists > 2000);
    CHECK(t.bounced_lists > 100);
    CHECK(t.multi_el > 100);
    CHECK(t.cut4g > 0);
    CHECK(t.shortened > 100);
}

/* ---- explicit cases -------------------------------------------------------- */

static uint64_t across_4g_fn(void *ctx, uint32_t seq, uint32_t page, uint64_t proposed)
{
    (void)ctx;
    (void)seq;
    (void)proposed;
    return FOUR_G / PAGE - 2 + page; /* pages 0,1 below 4 GiB, 2.. above, contiguous */
}

static PVP_DMA_ADAPTER get_adapter(void *ext, bool sg, bool d32, bool d64, ULONG maxlen)
{
    VP_DEVICE_DESCRIPTION d = {.ScatterGather = sg,
                               .Dma32BitAddresses = d32,
                               .Dma64BitAddresses = d64,
                               .MaximumLength = maxlen};
    return VideoPortGetDmaAdapter(ext, &d);
}

/* Start a transfer of the first len bytes of mdl on adapter a, its
 * callback recording into cc (cleared; the length *l seen by the callback
 * too).  Did StartDma succeed? */
static bool start_dma(void *ext, PVP_DMA_ADAPTER a, void *mdl, cb_ctx *cc, ULONG *l, ULONG len)
{
    memset(cc, 0, offsetof(cb_ctx, addr));
    *l = len;
    cc->plen = l;
    return VideoPortStartDma(ext, a, mdl, 0, l, sg_cb, cc, TRUE) == NO_ERROR;
}

static void test_4g_split(void)
{
    hvp_config c;
    base_config(&c, true);
    c.frame_fn = across_4g_fn;
    hvp_machine *m = null_machine(&c, false);
    if (!m)
        return;
    void *ext = hvp_device_extension(m);
    uint8_t *block = NULL;
    CHECK(posix_memalign((void **)&block, PAGE, 8 * PAGE) == 0);
    uint8_t *buf = block + 100;
    uint32_t len = 4 * PAGE;
    void *mdl = VideoPortLockBuffer(ext, buf, len, VpReadAccess);
    CHECK(mdl && hvp_mdl_page_frame(m, mdl, 2) == FOUR_G / PAGE);
    cb_ctx *cc = calloc(1, sizeof(*cc));
    ULONG l;

    /* SG, 64-bit: two elements cut exactly at 4 GiB */
    PVP_DMA_ADAPTER a64 = get_adapter(ext, true, false, true, 1 << 20);
    CHECK(start_dma(ext, a64, mdl, cc, &l, len));
    CHECK(l == len && cc->n == 2);
    CHECK(cc->addr[0] == FOUR_G - 2 * PAGE + 100 && cc->len[0] == 2 * PAGE - 100);
    CHECK(cc->addr[1] == FOUR_G && cc->len[1] == 2 * PAGE + 100);
    VideoPortCompleteDma(ext, a64, cc->sg, TRUE);

    /* SG, 32-bit: the part above 4 GiB is bounced below it */
    PVP_DMA_ADAPTER a32 = get_adapter(ext, true, true, false, 1 << 20);
    CHECK(start_dma(ext, a32, mdl, cc, &l, len));
    CHECK(cc->n == 2 && cc->addr[0] == FOUR_G - 2 * PAGE + 100);
    CHECK(cc->addr[1] < FOUR_G && cc->addr[1] % PAGE == 0 && cc->len[1] == 2 * PAGE + 100);
    VideoPortCompleteDma(ext, a32, cc->sg, TRUE);

    /* no SG, 64-bit: contiguous but crossing 4 GiB -> one bounced element */
    PVP_DMA_ADAPTER an = get_adapter(ext, false, false, true, 1 << 20);
    CHECK(start_dma(ext, an, mdl, cc, &l, len));
    CHECK(cc->n == 1 && cc->len[0] == len && cc->addr[0] + len <= FOUR_G);
    CHECK(cc->addr[0] % PAGE == 100);
    VideoPortCompleteDma(ext, an, cc->sg, TRUE);

    /* no SG, 64-bit, the two pages below 4 GiB only: direct */
    CHECK(start_dma(ext, an, mdl, cc, &l, 2 * PAGE - 100));
    CHECK(cc->n == 1 && cc->addr[0] == FOUR_G - 2 * PAGE + 100);
    VideoPortCompleteDma(ext, an, cc->sg, TRUE);

    /* 16 MiB adapter (neither flag, no SG): everything bounced into pool24 */
    PVP_DMA_ADAPTER a24 = get_adapter(ext, false, false, false, 1 << 20);
    CHECK(start_dma(ext, a24, mdl, cc, &l, len));
    CHECK(cc->n == 1 && cc->addr[0] + len - 1 <= 0xFFFFFFull && cc->addr[0] >= (1u << 20));
    VideoPortCompleteDma(ext, a24, cc->sg, TRUE);

    VideoPortUnlockBuffer(ext, mdl);
    hvp_stats st;
    hvp_stats_get(m, &st);
    CHECK(st.misuse_total == 0 && st.bounced_transfers == 3);
    free(cc);
    free(block);
    hvp_machine_free(m);
}

/* Same seed + same sequence of locks = same frames; another seed differs. */
static void frames_of_session(uint64_t seed, uint64_t *out, uint32_t n)
{
    hvp_config c;
    base_config(&c, true);
    c.seed = seed;
    hvp_machine *m = null_machine(&c, false);
    if (!m)
        return;
    void *ext = hvp_device_extension(m);
    uint32_t k = 0;
    for (int b = 0; b < 8 && k < n; b++) {
        uint8_t *block = NULL;
        if (posix_memalign((void **)&block, PAGE, 40 * PAGE) != 0)
            break;
        void *mdl =
            VideoPortLockBuffer(ext, block + 17 * b, (ULONG)(9 * PAGE + 33 * b), VpWriteAccess);
        hvp_mdl_info mi;
        if (mdl && hvp_mdl_info_of(m, mdl, &mi))
            for (uint32_t p = 0; p < mi.pages && k < n; p++)
                out[k++] = hvp_mdl_page_frame(m, mdl, p);
        if (b % 2)
            VideoPortUnlockBuffer(ext, mdl);
        else
            VideoPortUnLockBuffer(ext, mdl); /* mingw spelling, same function */
        free(block);
    }
    hvp_stats st;
    hvp_stats_get(m, &st);
    CHECK(st.misuse_total == 0 && st.locks == 8 && st.unlocks == 8);
    hvp_machine_free(m);
}

static void test_frames_deterministic(void)
{
    uint64_t a[128] = {0}, b[128] = {0}, c[128] = {0};
    frames_of_session(42, a, 128);
    frames_of_session(42, b, 128);
    frames_of_session(43, c, 128);
    CHECK(memcmp(a, b, sizeof(a)) == 0);
    CHECK(memcmp(a, c, sizeof(a)) != 0);
    CHECK(a[0] != 0);
}

static void test_contiguity_extremes(void)
{
    for (int contiguous = 0; contiguous < 2; contiguous++) {
        hvp_config c;
        base_config(&c, true);
        c.contig_permille = contiguous ? 1000 : 0;
        c.placement = HVP_PLACE_BELOW_4G;
        hvp_machine *m = null_machine(&c, false);
        if (!m)
            return;
        void *ext = hvp_device_extension(m);
        uint8_t *block = NULL;
        CHECK(posix_memalign((void **)&block, PAGE, 64 * PAGE) == 0);
        void *mdl = VideoPortLockBuffer(ext, block, 64 * PAGE, VpReadAccess);
        uint32_t runs = 1;
        for (uint32_t p = 1; p < 64; p++)
            runs += hvp_mdl_page_frame(m, mdl, p) != hvp_mdl_page_frame(m, mdl, p - 1) + 1;
        if (contiguous)
            CHECK(runs == 1);
        else
            CHECK(runs > 56); /* random frames: adjacency only by chance */
        VideoPortUnlockBuffer(ext, mdl);
        free(block);
        hvp_machine_free(m);
    }
}

/* Two MDLs over one host page share its frame; the device sees the hull of
 * the locked windows. */
static void test_page_sharing(void)
{
    hvp_config c;
    base_config(&c, true);
    hvp_machine *m = null_machine(&c, false);
    if (!m)
        return;
    void *ext = hvp_device_extension(m);
    dmm_phys *pm = hvp_phys(m);
    uint8_t *block = NULL;
    CHECK(posix_memalign((void **)&block, PAGE, 4 * PAGE) == 0);
    void *m1 = VideoPortLockBuffer(ext, block + 10, 100, VpReadAccess);
    void *m2 = VideoPortLockBuffer(ext, block + 2000, 3 * PAGE, VpWriteAccess);
    CHECK(m1 && m2);
    uint64_t f1 = hvp_mdl_page_frame(m, m1, 0);
    CHECK(f1 == hvp_mdl_page_frame(m, m2, 0));
    CHECK(dmm_phys_is_mapped(pm, f1 * PAGE + 10, PAGE - 10));
    CHECK(!dmm_phys_is_mapped(pm, f1 * PAGE + 9, 1));
    uint8_t v = 0;
    block[50] = 0x5A;
    CHECK(dmm_phys_read(pm, f1 * PAGE + 50, &v, 1) == DMM_OK && v == 0x5A);
    VideoPortUnlockBuffer(ext, m1);
    CHECK(!dmm_phys_is_mapped(pm, f1 * PAGE + 1999, 1));
    CHECK(dmm_phys_is_mapped(pm, f1 * PAGE + 2000, PAGE - 2000));
    CHECK(hvp_mdl_page_frame(m, m2, 0) == f1);
    VideoPortUnlockBuffer(ext, m2);
    CHECK(!dmm_phys_is_mapped(pm, f1 * PAGE + 2000, 1));
    free(block);
    hvp_machine_free(m);
}

/* A second StartDma that finds the adapter's map registers taken waits; its
 * HwVidExecuteDma runs from the CompleteDma that frees them. */
static void test_deferred_start(void)
{
    hvp_config c;
    base_config(&c, true);
    c.map_register_cap = 4;
    hvp_machine *m = null_machine(&c, false);
    if (!m)
        return;
    void *ext = hvp_device_extension(m);
    uint8_t *block = NULL;
    CHECK(posix_memalign((void **)&block, PAGE, 16 * PAGE) == 0);
    void *mdl = VideoPortLockBuffer(ext, block, 16 * PAGE, VpReadAccess);
    PVP_DMA_ADAPTER a = get_adapter(ext, true, false, true, 1 << 20);
    hvp_adapter_info ai;
    CHECK(hvp_adapter_info_of(m, a, &ai) && ai.map_registers == 4);
    cb_ctx *c1 = calloc(1, sizeof(*c1)), *c2 = calloc(1, sizeof(*c2));
    ULONG l1 = 16 * PAGE, l2 = 16 * PAGE;
    c1->plen = &l1;
    c2->plen = &l2;
    CHECK(VideoPortStartDma(ext, a, mdl, 0, &l1, sg_cb, c1, TRUE) == NO_ERROR);
    CHECK(c1->called && l1 == 4 * PAGE);
    CHECK(VideoPortStartDma(ext, a, mdl, 4 * PAGE, &l2, sg_cb, c2, TRUE) == NO_ERROR);
    CHECK(!c2->called);    /* waiting for map registers */
    CHECK(l2 == 4 * PAGE); /* but *pLength is already final */
    hvp_stats st;
    hvp_stats_get(m, &st);
    CHECK(st.start_dma_deferred == 1);
    CHECK(hvp_adapter_info_of(m, a, &ai) && ai.transfers_live == 2);
    CHECK(VideoPortCompleteDma(ext, a, c1->sg, TRUE) == NO_ERROR);
    CHECK(c2->called && c2->irql == HVP_IRQL_DISPATCH && c2->plen_at_cb == 4 * PAGE);
    uint64_t total = 0;
    for (uint32_t i = 0; i < c2->n; i++)
        total += c2->len[i];
    CHECK(total == 4 * PAGE);
    CHECK(VideoPortCompleteDma(ext, a, c2->sg, TRUE) == NO_ERROR);
    CHECK(hvp_adapter_info_of(m, a, &ai) && ai.transfers_live == 0);
    VideoPortUnlockBuffer(ext, mdl);
    VideoPortPutDmaAdapter(ext, a);
    hvp_stats_get(m, &st);
    CHECK(st.misuse_total == 0);
    free(c1);
    free(c2);
    free(block);
    hvp_machine_free(m);
}

static BOOLEAN NTAPI sync_true(PVOID ctx)
{
    (void)ctx;
    return TRUE;
}

static VOID NTAPI sg_cb_sync(PVOID devext, PVP_DMA_ADAPTER ad, PVP_SCATTER_GATHER_LIST sg,
                             PVOID ctx)
{
    sg_cb(devext, ad, sg, ctx);
    /* under ReactOS the callback already holds the interrupt lock */
    VideoPortSynchronizeExecution(devext, VpMediumPriority, sync_true, NULL);
}

static void test_reactos_mode(void)
{
    hvp_config c;
    base_config(&c, true);
    c.reactos = true;
    c.contig_permille = 0;
    c.placement = HVP_PLACE_ABOVE_4G;
    hvp_machine *m = null_machine(&c, true);
    if (!m)
        return;
    void *ext = hvp_device_extension(m);
    uint8_t *block = NULL;
    CHECK(posix_memalign((void **)&block, PAGE, 40 * PAGE) == 0);
    cb_ctx *cc = calloc(1, sizeof(*cc));
    hvp_stats st0, st;

    /* Offset and *pLength ignored; *pLength untouched; whole MDL; callback at
     * DIRQL under the interrupt lock; 32-bit SG adapter gets >4 GiB addresses
     * (ReactOS has no limit check on the SG path) */
    void *mdl = VideoPortLockBuffer(ext, block + 7, 10 * PAGE, VpReadAccess);
    PVP_DMA_ADAPTER a32 = get_adapter(ext, true, true, false, 4 * PAGE);
    ULONG l = 123;
    cc->plen = &l;
    hvp_stats_get(m, &st0);
    CHECK(VideoPortStartDma(ext, a32, mdl, 999, &l, sg_cb_sync, cc, TRUE) == NO_ERROR);
    hvp_stats_get(m, &st);
    CHECK(cc->called && l == 123);
    CHECK(cc->irql == HVP_IRQL_DEVICE);
    CHECK(st.misuse[HVP_MISUSE_SYNC_NESTED] == st0.misuse[HVP_MISUSE_SYNC_NESTED] + 1);
    uint64_t total = 0;
    bool high = false;
    for (uint32_t i = 0; i < cc->n; i++) {
        total += cc->len[i];
        high |= cc->addr[i] >= FOUR_G;
    }
    CHECK(total == 10 * PAGE && cc->n == 11 && high);
    CHECK(cc->addr[0] % PAGE == 7);
    CHECK(VideoPortCompleteDma(ext, a32, cc->sg, TRUE) == NO_ERROR);
    VideoPortUnlockBuffer(ext, mdl);

    /* more than 16 elements: dropped, callback never runs, NO_ERROR */
    mdl = VideoPortLockBuffer(ext, block, 20 * PAGE, VpReadAccess);
    memset(cc, 0, offsetof(cb_ctx, addr));
    l = 5;
    CHECK(VideoPortStartDma(ext, a32, mdl, 0, &l, sg_cb, cc, TRUE) == NO_ERROR);
    CHECK(!cc->called && l == 5);
    hvp_stats_get(m, &st);
    CHECK(st.reactos_dropped_lists == 1);

    /* non-SG over 16 pages fails with *pLength = 0; 16 pages work (bounced) */
    PVP_DMA_ADAPTER an = get_adapter(ext, false, true, false, 1 << 20);
    hvp_adapter_info ai;
    CHECK(hvp_adapter_info_of(m, an, &ai) && ai.map_registers == 16);
    l = 77;
    CHECK(VideoPortStartDma(ext, an, mdl, 0, &l, sg_cb, cc, TRUE) == ERROR_NOT_ENOUGH_MEMORY);
    CHECK(l == 0 && !cc->called);
    VideoPortUnlockBuffer(ext, mdl);
    mdl = VideoPortLockBuffer(ext, block, 16 * PAGE, VpReadAccess);
    memset(cc, 0, offsetof(cb_ctx, addr));
    l = 77;
    cc->plen = &l;
    CHECK(VideoPortStartDma(ext, an, mdl, 0, &l, sg_cb, cc, FALSE) == NO_ERROR);
    CHECK(cc->called && cc->n == 1 && cc->len[0] == 16 * PAGE && cc->addr[0] < FOUR_G);
    CHECK(VideoPortCompleteDma(ext, an, cc->sg, FALSE) == NO_ERROR);
    VideoPortUnlockBuffer(ext, mdl);
    hvp_stats_get(m, &st);
    CHECK(st.misuse_total == st0.misuse_total + 1); /* only the probe's SYNC_NESTED */
    free(cc);
    free(block);
    hvp_machine_free(m);
}

/* ===========================================================================
 * (b) the whole lifecycle with a tiny descriptor-ring driver
 * ======================================================================== */

#define T_IOCTL_XFER     CTL_CODE(FILE_DEVICE_VIDEO, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define T_IOCTL_UNLOAD   CTL_CODE(FILE_DEVICE_VIDEO, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define T_IOCTL_OVERFLOW CTL_CODE(FILE_DEVICE_VIDEO, 0x802, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define T_IOCTL_DEVLOCK  CTL_CODE(FILE_DEVICE_VIDEO, 0x803, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define T_RING_DESCS     512u
#define T_ERROR_IO       1117 /* ERROR_IO_DEVICE */

typedef struct t_xfer_in {
    uint64_t user;
    uint32_t len;
    uint32_t write;
    uint64_t dev_off;
} t_xfer_in;

typedef struct t_xfer_out {
    int32_t status;
    uint32_t chunks;
    uint32_t elements;
    uint32_t errors;
} t_xfer_out;

/* What the test asks of the driver at load. */
static VP_DEVICE_DESCRIPTION g_tdesc;
static bool g_tno_ack;

typedef struct TEXT {
    PULONG regs;
    ULONG reg_len;
    PVP_DMA_ADAPTER ad[2];
    PUCHAR ring[2];
    PHYSICAL_ADDRESS ring_pa[2];
    PEVENT done;
    /* the transfer in flight (StartIO is serialized and waits for it) */
    PVOID mdl;
    ULONG total, done_bytes, chunk;
    BOOLEAN write;
    int ch;
    ULONGLONG dev_off;
    PVP_SCATTER_GATHER_LIST sg;
    ULONG irq_bits;
    VP_STATUS result;
    ULONG chunks, elements, errors;
    /* checks */
    LONG in_startio, max_in_startio;
    UCHAR exec_irql_seen;
    bool exec_irql_bad, dpc_irql_bad, isr_irql_bad;
    bool no_ack;
    uint64_t fp; /* fingerprint of what the driver saw (deterministic runs) */
} TEXT;

static void fp_mix(TEXT *x, uint64_t v)
{
    x->fp = (x->fp ^ v) * 0x100000001B3ull;
}

static ULONG treg(TEXT *x, ULONG off)
{
    return VideoPortReadRegisterUlong(x->regs + off / 4);
}

static void twreg(TEXT *x, ULONG off, ULONG v)
{
    VideoPortWriteRegisterUlong(x->regs + off / 4, v);
}

static void put_le32(PUCHAR p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (UCHAR)(v >> (8 * i));
}

static void put_le64(PUCHAR p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

static VOID NTAPI t_exec(PVOID ext, PVP_DMA_ADAPTER ad, PVP_SCATTER_GATHER_LIST sg, PVOID ctx)
{
    (void)ad;
    TEXT *x = ctx;
    UCHAR irql = VideoPortGetCurrentIrql();
    x->exec_irql_seen = irql;
    if (irql < HVP_IRQL_DISPATCH)
        x->exec_irql_bad = true;
    x->sg = sg;
    x->elements += sg->NumberOfElements;
    fp_mix(x, (uint64_t)VideoPortQueryPerformanceCounter(ext, NULL));
    PUCHAR ring = x->ring[x->ch];
    ULONGLONG dev = x->dev_off + x->done_bytes;
    for (ULONG i = 0; i < sg->NumberOfElements && i < T_RING_DESCS; i++) {
        PUCHAR d = ring + i * DMM_DESC1_SIZE;
        put_le32(d, (uint32_t)DMM_DESC1_MAGIC << 16);
        put_le32(d + 4, sg->Elements[i].Length);
        put_le64(d + 8, (uint64_t)sg->Elements[i].Address.QuadPart);
        put_le64(d + 16, dev);
        put_le64(d + 24, 0);
        dev += sg->Elements[i].Length;
        fp_mix(x, (uint64_t)sg->Elements[i].Address.QuadPart);
        fp_mix(x, sg->Elements[i].Length);
    }
    ULONG base = DMM_CH_BASE(x->ch);
    twreg(x, base + DMM_CH_DESC_LO, x->ring_pa[x->ch].LowPart);
    twreg(x, base + DMM_CH_DESC_HI, (ULONG)x->ring_pa[x->ch].HighPart);
    twreg(x, base + DMM_CH_DESC_COUNT, sg->NumberOfElements);
    twreg(x, base + DMM_CH_CTRL, DMM_CTRL_RUN); /* doorbell, last */
}

static void t_start_chunk(TEXT *x)
{
    x->chunk = x->total - x->done_bytes;
    x->chunks++;
    VP_STATUS st =
        VideoPortStartDma(x, x->ad[x->ch], x->mdl, x->done_bytes, &x->chunk, t_exec, x, x->write);
    if (st != NO_ERROR) {
        x->result = st;
        VideoPortSetEvent(x, x->done);
    }
}

static VOID NTAPI t_dpc(PVOID ext, PVOID ctx);

static BOOLEAN NTAPI t_isr(PVOID ext)
{
    TEXT *x = ext;
    if (VideoPortGetCurrentIrql() != HVP_IRQL_DEVICE)
        x->isr_irql_bad = true;
    ULONG st = treg(x, DMM_REG_IRQ_STATUS);
    if (!(st & DMM_IRQ_ALL))
        return FALSE;
    if (!x->no_ack) {
        twreg(x, DMM_REG_IRQ_STATUS, st); /* W1C ack */
        for (int c = 0; c < 2; c++)
            twreg(x, DMM_CH_BASE(c) + DMM_CH_STATUS, DMM_STATUS_DONE | DMM_STATUS_ERR);
    }
    x->irq_bits |= st;
    fp_mix(x, (uint64_t)VideoPortQueryPerformanceCounter(ext, NULL));
    VideoPortQueueDpc(ext, t_dpc, x);
    return TRUE;
}

typedef struct fetch_ctx {
    TEXT *x;
    ULONG bits;
} fetch_ctx;

static BOOLEAN NTAPI t_fetch(PVOID ctx)
{
    fetch_ctx *f = ctx;
    f->bits = f->x->irq_bits;
    f->x->irq_bits = 0;
    return TRUE;
}

static VOID NTAPI t_dpc(PVOID ext, PVOID ctx)
{
    TEXT *x = ctx;
    (void)ext;
    if (VideoPortGetCurrentIrql() != HVP_IRQL_DISPATCH)
        x->dpc_irql_bad = true;
    fetch_ctx f = {x, 0};
    VideoPortSynchronizeExecution(x, VpMediumPriority, t_fetch, &f);
    if (!x->sg)
        return;
    PVP_SCATTER_GATHER_LIST sg = x->sg;
    x->sg = NULL;
    VideoPortCompleteDma(x, x->ad[x->ch], sg, x->write);
    if (f.bits & DMM_IRQ_ERR(x->ch)) {
        x->errors++;
        x->result = T_ERROR_IO;
        VideoPortSetEvent(x, x->done);
        return;
    }
    x->done_bytes += x->chunk;
    if (x->done_bytes < x->total)
        t_start_chunk(x);
    else
        VideoPortSetEvent(x, x->done);
}

static VP_STATUS NTAPI t_find(PVOID ext, PVOID ctx, PWSTR arg, PVIDEO_PORT_CONFIG_INFO ci,
                              PUCHAR again)
{
    (void)ctx;
    (void)arg;
    (void)again;
    TEXT *x = ext;
    if (ci->Length != sizeof(*ci) || ci->AdapterInterfaceType != PCIBus || !ci->BusInterruptLevel)
        return ERROR_DEV_NOT_EXIST;
    VIDEO_ACCESS_RANGE r;
    ULONG slot = 99;
    if (VideoPortGetAccessRanges(x, 0, NULL, 1, &r, NULL, NULL, &slot) != NO_ERROR || slot != 0)
        return ERROR_DEV_NOT_EXIST;
    if (VideoPortVerifyAccessRanges(x, 1, &r) != NO_ERROR || r.RangeInIoSpace)
        return ERROR_DEV_NOT_EXIST;
    USHORT ids[2];
    if (VideoPortGetBusData(x, PCIConfiguration, 0, ids, 0, 4) != 4 || ids[0] != 0x1234)
        return ERROR_DEV_NOT_EXIST;
    if ((uintptr_t)ci->VideoPortGetProcAddress(x, (PUCHAR) "VideoPortStartDma") !=
            (uintptr_t)VideoPortStartDma ||
        ci->VideoPortGetProcAddress(x, (PUCHAR) "NoSuchFunction") != NULL)
        return ERROR_DEV_NOT_EXIST;
    x->regs = VideoPortGetDeviceBase(x, r.RangeStart, r.RangeLength, FALSE);
    x->reg_len = r.RangeLength;
    if (!x->regs || (treg(x, DMM_REG_ID) & ~0xFFu) != DMM_ID_MAGIC)
        return ERROR_DEV_NOT_EXIST;
    for (int c = 0; c < 2; c++) {
        VP_DEVICE_DESCRIPTION d = g_tdesc;
        x->ad[c] = VideoPortGetDmaAdapter(x, &d);
        if (!x->ad[c])
            return ERROR_DEV_NOT_EXIST;
        x->ring[c] = VideoPortAllocateCommonBuffer(x, x->ad[c], T_RING_DESCS * DMM_DESC1_SIZE,
                                                   &x->ring_pa[c], FALSE, NULL);
        if (!x->ring[c])
            return ERROR_NOT_ENOUGH_MEMORY;
    }
    if (VideoPortCreateEvent(x, SYNCHRONIZATION_EVENT, NULL, &x->done) != NO_ERROR)
        return ERROR_NOT_ENOUGH_MEMORY;
    x->no_ack = g_tno_ack;
    twreg(x, DMM_REG_IRQ_ENABLE, DMM_IRQ_ALL);
    return NO_ERROR;
}

static BOOLEAN NTAPI t_init(PVOID ext)
{
    TEXT *x = ext;
    return treg(x, DMM_REG_IRQ_ENABLE) == DMM_IRQ_ALL;
}

static void t_unload(TEXT *x)
{
    twreg(x, DMM_REG_IRQ_ENABLE, 0);
    for (int c = 0; c < 2; c++) {
        VideoPortReleaseCommonBuffer(x, x->ad[c], T_RING_DESCS * DMM_DESC1_SIZE, x->ring_pa[c],
                                     x->ring[c], FALSE);
        VideoPortPutDmaAdapter(x, x->ad[c]);
    }
    VideoPortDeleteEvent(x, x->done);
    VideoPortFreeDeviceBase(x, x->regs);
}

static BOOLEAN NTAPI t_startio(PVOID ext, PVIDEO_REQUEST_PACKET vrp)
{
    TEXT *x = ext;
    LONG n = VideoPortInterlockedIncrement(&x->in_startio);
    if (n > x->max_in_startio)
        x->max_in_startio = n;
    vrp->StatusBlock->Information = 0;
    switch (vrp->IoControlCode) {
    case T_IOCTL_XFER: {
        t_xfer_in in;
        if (vrp->InputBufferLength < sizeof(in) || vrp->OutputBufferLength < sizeof(t_xfer_out)) {
            vrp->StatusBlock->Status = ERROR_INSUFFICIENT_BUFFER;
            break;
        }
        VideoPortMoveMemory(&in, vrp->InputBuffer, sizeof(in));
        x->write = in.write != 0;
        x->ch = x->write ? DMM_CH_H2C : DMM_CH_C2H;
        x->total = in.len;
        x->done_bytes = 0;
        x->dev_off = in.dev_off;
        x->result = NO_ERROR;
        x->chunks = x->elements = x->errors = 0;
        x->mdl = VideoPortLockBuffer(x, (PVOID)(uintptr_t)in.user, in.len,
                                     x->write ? VpReadAccess : VpWriteAccess);
        if (!x->mdl) {
            vrp->StatusBlock->Status = ERROR_NOT_ENOUGH_MEMORY;
            break;
        }
        VideoPortClearEvent(x, x->done);
        t_start_chunk(x);
        VP_STATUS w = VideoPortWaitForSingleObject(x, x->done, NULL);
        if (w != NO_ERROR)
            x->result = w;
        VideoPortUnlockBuffer(x, x->mdl);
        x->mdl = NULL;
        t_xfer_out out = {x->result, x->chunks, x->elements, x->errors};
        VideoPortMoveMemory(vrp->OutputBuffer, &out, sizeof(out));
        vrp->StatusBlock->Status = NO_ERROR;
        vrp->StatusBlock->Information = sizeof(out);
        break;
    }
    case T_IOCTL_UNLOAD:
        t_unload(x);
        vrp->StatusBlock->Status = NO_ERROR;
        break;
    case T_IOCTL_OVERFLOW:
        vrp->StatusBlock->Status = NO_ERROR;
        vrp->StatusBlock->Information = vrp->OutputBufferLength + 100;
        break;
    case T_IOCTL_DEVLOCK:
        VideoPortAcquireDeviceLock(x); /* already held by the port around StartIO */
        VideoPortReleaseDeviceLock(x);
        vrp->StatusBlock->Status = NO_ERROR;
        break;
    default:
        vrp->StatusBlock->Status = ERROR_INVALID_FUNCTION;
        break;
    }
    VideoPortInterlockedDecrement(&x->in_startio);
    return TRUE;
}

static ULONG NTAPI t_entry(PVOID a1, PVOID a2)
{
    return init_miniport(a1, a2, t_find, t_init, t_isr, t_startio, sizeof(TEXT));
}

/* The sample device completing its work later (from its own clock), not
 * during the register write that starts it. */
static void deferred_device(dmm_config *d)
{
    dmm_config_default(d);
    d->flags = DMM_CFG_DEFERRED;
}

static hvp_machine *t_machine(const hvp_config *c, const dmm_config *d, VP_DEVICE_DESCRIPTION desc)
{
    g_tdesc = desc;
    hvp_machine *m = hvp_machine_new(c, d);
    CHECK(m != NULL);
    if (!m)
        return NULL;
    int rc = hvp_load_driver(m, t_entry);
    CHECK(rc == HVP_OK);
    if (rc != HVP_OK) {
        hvp_machine_free(m);
        return NULL;
    }
    return m;
}

static int32_t t_xfer(hvp_machine *m, void *buf, uint32_t len, bool write, uint64_t dev_off,
                      t_xfer_out *out)
{
    t_xfer_in in = {(uint64_t)(uintptr_t)buf, len, write, dev_off};
    uint32_t got = 0;
    memset(out, 0, sizeof(*out));
    int32_t st = hvp_ioctl(m, T_IOCTL_XFER, &in, sizeof(in), out, sizeof(*out), &got);
    CHECK(st == NO_ERROR && got == sizeof(*out));
    return out->status;
}

/* Writes buf to device memory, checks it there, reads it back into another
 * buffer and compares.  Returns chunks used. */
static uint32_t t_roundtrip(hvp_machine *m, uint32_t len, uint32_t po, uint64_t dev_off)
{
    uint8_t *a = NULL, *b = NULL, *dev = malloc(len);
    CHECK(posix_memalign((void **)&a, PAGE, len + po + PAGE) == 0);
    CHECK(posix_memalign((void **)&b, PAGE, len + po + PAGE) == 0);
    for (uint32_t i = 0; i < len; i++)
        a[po + i] = (uint8_t)rnd();
    memset(b, 0xEE, len + po + PAGE);
    t_xfer_out o;
    CHECK(t_xfer(m, a + po, len, true, dev_off, &o) == NO_ERROR);
    CHECK(o.errors == 0);
    uint32_t chunks = o.chunks;
    CHECK(dmm_devmem_read(hvp_dev(m), dev_off, dev, len) == DMM_OK);
    CHECK(memcmp(dev, a + po, len) == 0);
    CHECK(t_xfer(m, b + po, len, false, dev_off, &o) == NO_ERROR);
    CHECK(o.errors == 0);
    CHECK(memcmp(b + po, a + po, len) == 0);
    /* nothing outside the locked bytes was written */
    CHECK(b[po - (po ? 1 : 0)] == (po ? 0xEE : b[0]));
    CHECK(b[po + len] == 0xEE);
    free(a);
    free(b);
    free(dev);
    return chunks;
}

/* Unloads cleanly and frees; `misuse_before` = misuses expected so far. */
static void t_finish_after(hvp_machine *m, uint64_t misuse_before)
{
    uint32_t got;
    CHECK(hvp_ioctl(m, T_IOCTL_UNLOAD, NULL, 0, NULL, 0, &got) == NO_ERROR);
    CHECK(hvp_wait_idle(m, 60000) == HVP_OK);
    TEXT *x = hvp_device_extension(m);
    CHECK(!x->exec_irql_bad && !x->dpc_irql_bad && !x->isr_irql_bad);
    CHECK(x->max_in_startio == 1);
    unsigned leaks = g_log_misuse[HVP_MISUSE_LEAK];
    hvp_stats st;
    hvp_stats_get(m, &st);
    CHECK(st.misuse_total == misuse_before);
    CHECK(st.start_dma == st.complete_dma);
    CHECK(st.locks == st.unlocks);
    hvp_machine_free(m);
    CHECK(g_log_misuse[HVP_MISUSE_LEAK] == leaks);
}

static void t_finish(hvp_machine *m)
{
    t_finish_after(m, 0);
}

static const VP_DEVICE_DESCRIPTION SG64 = {TRUE, FALSE, TRUE, 1u << 20};

static void test_lifecycle_threaded(void)
{
    hvp_config c;
    base_config(&c, false);
    c.map_register_cap = 16; /* 64 KiB chunks */
    hvp_machine *m = t_machine(&c, NULL, SG64);
    if (!m)
        return;
    uint32_t chunks = t_roundtrip(m, 1u << 20, 123, 4096);
    CHECK(chunks >= 16);
    t_roundtrip(m, 1, 4095, 0);
    t_roundtrip(m, 3 * PAGE + 1, 0, 100);
    CHECK(hvp_wait_idle(m, 60000) == HVP_OK); /* the last DPC may still be returning */
    hvp_stats st;
    hvp_stats_get(m, &st);
    CHECK(st.isr_claimed >= 32 && st.dpcs_run >= 32 && st.ioctls == 6);
    t_finish(m);
}

typedef struct mt_arg {
    hvp_machine *m;
    int id;
    int fails;
} mt_arg;

static void *mt_main(void *p)
{
    mt_arg *a = p;
    uint32_t len = 96 * 1024 + (uint32_t)a->id * 777;
    uint8_t *src = malloc(len), *dst = malloc(len);
    for (int iter = 0; iter < 6; iter++) {
        for (uint32_t i = 0; i < len; i++)
            src[i] = (uint8_t)(i * 31 + (uint32_t)a->id * 7 + (uint32_t)iter);
        uint64_t off = (uint64_t)a->id * (1u << 20);
        t_xfer_in in = {(uint64_t)(uintptr_t)src, len, 1, off};
        t_xfer_out o;
        uint32_t got;
        if (hvp_ioctl(a->m, T_IOCTL_XFER, &in, sizeof(in), &o, sizeof(o), &got) != NO_ERROR ||
            o.status != NO_ERROR)
            a->fails++;
        memset(dst, 0, len);
        in.user = (uint64_t)(uintptr_t)dst;
        in.write = 0;
        if (hvp_ioctl(a->m, T_IOCTL_XFER, &in, sizeof(in), &o, sizeof(o), &got) != NO_ERROR ||
            o.status != NO_ERROR || memcmp(src, dst, len) != 0)
            a->fails++;
    }
    free(src);
    free(dst);
    return NULL;
}

static void test_lifecycle_concurrent(void)
{
    hvp_config c;
    base_config(&c, false);
    c.map_register_cap = 8;
    hvp_machine *m = t_machine(&c, NULL, SG64);
    if (!m)
        return;
    pthread_t th[4];
    mt_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (mt_arg){m, i, 0};
        pthread_create(&th[i], NULL, mt_main, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].fails == 0);
    }
    t_finish(m);
}

/* Two identical deterministic sessions see identical lists, clocks and stats. */
static uint64_t det_session(uint64_t seed, const dmm_config *d, hvp_stats *st_out)
{
    hvp_config c;
    base_config(&c, true);
    c.seed = seed;
    c.map_register_cap = 12;
    c.contig_permille = 300;
    hvp_machine *m = t_machine(&c, d, SG64);
    if (!m)
        return 0;
    uint64_t saved = rnd_state;
    rnd_state = 99;
    t_roundtrip(m, 300000, 77, 8192);
    t_roundtrip(m, 5000, 0, 0);
    rnd_state = saved;
    TEXT *x = hvp_device_extension(m);
    uint64_t fp = x->fp;
    hvp_stats_get(m, st_out);
    t_finish(m);
    return fp;
}

static void test_lifecycle_deterministic(void)
{
    hvp_stats s1, s2;
    uint64_t a = det_session(5, NULL, &s1);
    uint64_t b = det_session(5, NULL, &s2);
    CHECK(a != 0 && a == b);
    CHECK(memcmp(&s1, &s2, sizeof(s1)) == 0);
    CHECK(s1.isr_claimed > 10 && s1.dpcs_run == s1.isr_claimed);
    /* the device completing runs later (deferred) works too, and reproducibly */
    dmm_config d;
    deferred_device(&d);
    uint64_t c1 = det_session(5, &d, &s1);
    uint64_t c2 = det_session(5, &d, &s2);
    CHECK(c1 != 0 && c1 == c2);
    CHECK(c1 != a); /* completions later: the clock readings differ */
}

static void test_lifecycle_deferred_threaded(void)
{
    hvp_config c;
    base_config(&c, false);
    c.map_register_cap = 16;
    dmm_config d;
    deferred_device(&d);
    hvp_machine *m = t_machine(&c, &d, SG64);
    if (!m)
        return;
    t_roundtrip(m, 200000, 5, 0);
    t_finish(m);
}

/* Deterministic + deferred device: a driver that polls a register (no wait,
 * no interrupt wait) still sees the run complete, because register accesses
 * move simulated time. */
static void test_polling_deferred(void)
{
    hvp_config c;
    base_config(&c, true);
    dmm_config d;
    deferred_device(&d);
    hvp_machine *m = t_machine(&c, &d, SG64);
    if (!m)
        return;
    TEXT *x = hvp_device_extension(m);
    PUCHAR desc = x->ring[0];
    put_le32(desc, (uint32_t)DMM_DESC1_MAGIC << 16);
    put_le32(desc + 4, 256);
    put_le64(desc + 8, (uint64_t)x->ring_pa[1].QuadPart);
    put_le64(desc + 16, 512);
    put_le64(desc + 24, 0);
    memset(x->ring[1], 0x3C, 256);
    ULONG base = DMM_CH_BASE(0);
    twreg(x, base + DMM_CH_DESC_LO, x->ring_pa[0].LowPart);
    twreg(x, base + DMM_CH_DESC_HI, (ULONG)x->ring_pa[0].HighPart);
    twreg(x, base + DMM_CH_DESC_COUNT, 1);
    twreg(x, base + DMM_CH_CTRL, DMM_CTRL_RUN);
    unsigned polls = 0;
    while (treg(x, base + DMM_CH_COMPLETED) != 1 && polls < 1000000)
        polls++;
    CHECK(polls > 0 && polls < 1000000);
    uint8_t dev[256];
    CHECK(dmm_devmem_read(hvp_dev(m), 512, dev, 256) == DMM_OK);
    CHECK(dev[0] == 0x3C && dev[255] == 0x3C);
    hvp_stats st;
    hvp_stats_get(m, &st);
    CHECK(st.isr_claimed == 1); /* delivered after the access that completed it */
    t_finish(m);
}

/* One session with each clock, threaded then deterministic: the base config
 * changed by tweak, a machine describing its device as desc, body's checks. */
static void each_clock(void (*tweak)(hvp_config *), VP_DEVICE_DESCRIPTION desc,
                       void (*body)(hvp_machine *))
{
    for (int det = 0; det < 2; det++) {
        hvp_config c;
        base_config(&c, det != 0);
        tweak(&c);
        hvp_machine *m = t_machine(&c, NULL, desc);
        if (!m)
            return;
        body(m);
        t_finish(m);
    }
}

/* dma32-highmem: every page above 4 GiB, 32-bit adapter: all bounced. */
static void highmem_config(hvp_config *c)
{
    c->placement = HVP_PLACE_ABOVE_4G;
}

static void highmem_body(hvp_machine *m)
{
    t_roundtrip(m, 700000, 1000, 0);
    hvp_stats st;
    hvp_stats_get(m, &st);
    CHECK(st.bounced_transfers == st.start_dma && st.bounce_bytes_out == 700000 &&
          st.bounce_bytes_in == 700000);
}

static void test_lifecycle_highmem(void)
{
    VP_DEVICE_DESCRIPTION d32 = {TRUE, TRUE, FALSE, 256 * 1024};
    each_clock(highmem_config, d32, highmem_body);
}

static void test_lifecycle_nonsg(void)
{
    hvp_config c;
    base_config(&c, true);
    c.contig_permille = 600;
    VP_DEVICE_DESCRIPTION d = {FALSE, TRUE, FALSE, 64 * 1024};
    hvp_machine *m = t_machine(&c, NULL, d);
    if (!m)
        return;
    t_roundtrip(m, 500000, 300, 0);
    TEXT *x = hvp_device_extension(m);
    CHECK(x->elements == x->chunks); /* one element per chunk */
    t_finish(m);
}

static void reactos_config(hvp_config *c)
{
    c->reactos = true;
    c->contig_permille = 900;
}

static void reactos_body(hvp_machine *m)
{
    uint32_t chunks = t_roundtrip(m, 40000, 9, 0); /* whole MDL in one go */
    CHECK(chunks == 1);
    TEXT *x = hvp_device_extension(m);
    CHECK(x->exec_irql_seen == HVP_IRQL_DEVICE); /* under the interrupt lock */
}

static void test_lifecycle_reactos(void)
{
    each_clock(reactos_config, SG64, reactos_body);
}

/* ===========================================================================
 * (c) misuse: reported, counted, never a crash
 * ======================================================================== */

static hvp_stats g_before;
static hvp_machine *g_mm;

static void mark(void)
{
    hvp_stats_get(g_mm, &g_before);
}

/* Exactly `n` new misuses, all of `kind`. */
static void expect(enum hvp_misuse kind, uint64_t n, int line)
{
    hvp_stats a;
    hvp_stats_get(g_mm, &a);
    bool ok =
        a.misuse[kind] == g_before.misuse[kind] + n && a.misuse_total == g_before.misuse_total + n;
    tk_checks++;
    if (!ok) {
        tk_failures++;
        fprintf(stderr, "%s:%d: expected %llu x %s, got %llu (total +%llu)\n", __FILE__, line,
                (unsigned long long)n, hvp_misuse_name(kind),
                (unsigned long long)(a.misuse[kind] - g_before.misuse[kind]),
                (unsigned long long)(a.misuse_total - g_before.misuse_total));
    }
}
#define EXPECT(kind, n, stmt)                                                                      \
    do {                                                                                           \
        mark();                                                                                    \
        stmt;                                                                                      \
        expect(kind, n, __LINE__);                                                                 \
    } while (0)

static BOOLEAN NTAPI sync_nested(PVOID ctx)
{
    VideoPortSynchronizeExecution(ctx, VpHighPriority, sync_true, NULL);
    return TRUE;
}

static VOID NTAPI noop_dpc(PVOID ext, PVOID ctx)
{
    (void)ext;
    *(int *)ctx += 1;
}

static void test_misuse_dma(void)
{
    hvp_config c;
    base_config(&c, true);
    c.quarantine = 8;
    hvp_machine *m = null_machine(&c, false);
    if (!m)
        return;
    g_mm = m;
    void *ext = hvp_device_extension(m);
    uint8_t *block = NULL;
    CHECK(posix_memalign((void **)&block, PAGE, 8 * PAGE) == 0);
    PVP_DMA_ADAPTER a = get_adapter(ext, true, true, false, 64 * 1024);
    PVP_DMA_ADAPTER b = get_adapter(ext, true, true, true, 64 * 1024);
    cb_ctx *cc = calloc(1, sizeof(*cc));
    ULONG l;
    void *mdl = VideoPortLockBuffer(ext, block, 4 * PAGE, VpReadAccess);
    CHECK(mdl != NULL);

    /* CompleteDma: twice, unknown, mismatched */
    l = PAGE;
    CHECK(VideoPortStartDma(ext, a, mdl, 0, &l, sg_cb, cc, TRUE) == NO_ERROR);
    PVP_SCATTER_GATHER_LIST sg = cc->sg;
    CHECK(VideoPortCompleteDma(ext, a, sg, TRUE) == NO_ERROR);
    EXPECT(HVP_MISUSE_COMPLETE_TWICE, 1, CHECK(VideoPortCompleteDma(ext, a, sg, TRUE) != NO_ERROR));
    CHECK((uint64_t)sg->Elements[0].Address.QuadPart == POISON64); /* quarantined, readable */
    VP_SCATTER_GATHER_LIST fake = {0};
    EXPECT(HVP_MISUSE_COMPLETE_UNKNOWN, 1, VideoPortCompleteDma(ext, a, &fake, TRUE));
    EXPECT(HVP_MISUSE_COMPLETE_UNKNOWN, 1, VideoPortCompleteDma(ext, a, NULL, TRUE));
    l = PAGE;
    CHECK(VideoPortStartDma(ext, a, mdl, 0, &l, sg_cb, cc, TRUE) == NO_ERROR);
    EXPECT(HVP_MISUSE_COMPLETE_MISMATCH, 2,
           CHECK(VideoPortCompleteDma(ext, b, cc->sg, FALSE) == NO_ERROR));

    /* StartDma: bad range, NULL pLength, unknown MDL / adapter */
    l = PAGE;
    EXPECT(HVP_MISUSE_START_BAD_RANGE, 1,
           CHECK(VideoPortStartDma(ext, a, mdl, 4 * PAGE, &l, sg_cb, cc, TRUE) != NO_ERROR));
    CHECK(l == 0);
    l = 0;
    EXPECT(HVP_MISUSE_START_BAD_RANGE, 1, VideoPortStartDma(ext, a, mdl, 0, &l, sg_cb, cc, TRUE));
    EXPECT(HVP_MISUSE_START_BAD_RANGE, 1, VideoPortStartDma(ext, a, mdl, 0, NULL, sg_cb, cc, TRUE));
    l = PAGE;
    EXPECT(HVP_MISUSE_MDL_UNKNOWN, 1,
           CHECK(VideoPortStartDma(ext, a, block, 0, &l, sg_cb, cc, TRUE) != NO_ERROR));
    EXPECT(HVP_MISUSE_ADAPTER_UNKNOWN, 1,
           VideoPortStartDma(ext, (PVP_DMA_ADAPTER)block, mdl, 0, &l, sg_cb, cc, TRUE));

    /* UnlockBuffer while a transfer is live; the late CompleteDma still works */
    l = PAGE;
    memset(cc, 0, offsetof(cb_ctx, addr));
    CHECK(VideoPortStartDma(ext, a, mdl, 0, &l, sg_cb, cc, FALSE) == NO_ERROR);
    EXPECT(HVP_MISUSE_UNLOCK_BUSY, 1, VideoPortUnlockBuffer(ext, mdl));
    EXPECT(HVP_MISUSE_NONE, 0, CHECK(VideoPortCompleteDma(ext, a, cc->sg, FALSE) == NO_ERROR));
    /* unlock twice, unknown; StartDma on an unlocked MDL */
    EXPECT(HVP_MISUSE_UNLOCK_TWICE, 1, VideoPortUnlockBuffer(ext, mdl));
    EXPECT(HVP_MISUSE_MDL_UNKNOWN, 1, VideoPortUnLockBuffer(ext, block));
    l = PAGE;
    EXPECT(HVP_MISUSE_MDL_UNLOCKED, 1, VideoPortStartDma(ext, a, mdl, 0, &l, sg_cb, cc, TRUE));

    /* LockBuffer arguments */
    EXPECT(HVP_MISUSE_LOCK_BAD_ARGS, 1, CHECK(VideoPortLockBuffer(ext, NULL, 10, 0) == NULL));
    EXPECT(HVP_MISUSE_LOCK_BAD_ARGS, 1, CHECK(VideoPortLockBuffer(ext, block, 0, 0) == NULL));
    void *mdl2;
    EXPECT(HVP_MISUSE_LOCK_BAD_ARGS, 1, mdl2 = VideoPortLockBuffer(ext, block, 10, 7));
    CHECK(mdl2 != NULL);
    VideoPortUnlockBuffer(ext, mdl2);
    EXPECT(HVP_MISUSE_NONE, 0,
           CHECK(VideoPortLockBuffer(ext, (PVOID)(uintptr_t)0x1000, 10, 0) ==
                 NULL)); /* unmapped: plain failure */

    /* common buffers */
    PHYSICAL_ADDRESS pa;
    PVOID cb = VideoPortAllocateCommonBuffer(ext, a, 10000, &pa, TRUE, NULL);
    CHECK(cb != NULL && pa.QuadPart != 0 && pa.QuadPart % PAGE == 0);
    CHECK((uint64_t)pa.QuadPart + 10000 <= FOUR_G);
    memset(cb, 0x11, 10000);
    uint8_t v = 0;
    CHECK(dmm_phys_read(hvp_phys(m), (uint64_t)pa.QuadPart + 9999, &v, 1) == DMM_OK && v == 0x11);
    EXPECT(HVP_MISUSE_CB_MISMATCH, 1, VideoPortReleaseCommonBuffer(ext, a, 9999, pa, cb, TRUE));
    EXPECT(HVP_MISUSE_CB_MISMATCH, 1, VideoPortReleaseCommonBuffer(ext, b, 10000, pa, cb, TRUE));
    EXPECT(HVP_MISUSE_CB_MISMATCH, 1, VideoPortReleaseCommonBuffer(ext, a, 10000, pa, cb, FALSE));
    memset(cb, 0x22, 10000); /* still allocated */
    EXPECT(HVP_MISUSE_CB_UNKNOWN, 1, VideoPortReleaseCommonBuffer(ext, a, 10000, pa, block, TRUE));
    EXPECT(HVP_MISUSE_ADAPTER_BUSY, 1, VideoPortPutDmaAdapter(ext, a));
    EXPECT(HVP_MISUSE_ADAPTER_UNKNOWN, 1,
           VideoPortReleaseCommonBuffer(ext, a, 10000, pa, cb, TRUE));
    CHECK(!dmm_phys_is_mapped(hvp_phys(m), (uint64_t)pa.QuadPart, 1));
    EXPECT(HVP_MISUSE_ADAPTER_PUT_TWICE, 1, VideoPortPutDmaAdapter(ext, a));
    EXPECT(HVP_MISUSE_ADAPTER_UNKNOWN, 1, VideoPortPutDmaAdapter(ext, (PVP_DMA_ADAPTER)block));
    EXPECT(HVP_MISUSE_ADAPTER_UNKNOWN, 1,
           CHECK(VideoPortAllocateCommonBuffer(ext, a, 100, &pa, TRUE, NULL) == NULL));
    EXPECT(HVP_MISUSE_BAD_ARG, 1, CHECK(VideoPortGetDmaAdapter(ext, NULL) == NULL));

    /* wrong device extension */
    int dummy = 0;
    EXPECT(HVP_MISUSE_BAD_DEVEXT, 1, VideoPortQueryPerformanceCounter(&dummy, NULL));

    /* leaks at teardown: a locked buffer, a live list, a common buffer */
    mdl = VideoPortLockBuffer(ext, block, PAGE, VpReadAccess);
    l = PAGE;
    memset(cc, 0, offsetof(cb_ctx, addr));
    CHECK(VideoPortStartDma(ext, b, mdl, 0, &l, sg_cb, cc, TRUE) == NO_ERROR);
    CHECK(VideoPortAllocateCommonBuffer(ext, b, 100, &pa, TRUE, NULL) != NULL);
    unsigned leaks = g_log_misuse[HVP_MISUSE_LEAK];
    hvp_machine_free(m);
    CHECK(g_log_misuse[HVP_MISUSE_LEAK] == leaks + 3);
    free(cc);
    free(block);
}

static void test_misuse_regs_sync(void)
{
    hvp_config c;
    base_config(&c, true);
    hvp_machine *m = t_machine(&c, NULL, SG64);
    if (!m)
        return;
    g_mm = m;
    TEXT *x = hvp_device_extension(m);
    ULONG local = 0;

    /* registers */
    EXPECT(HVP_MISUSE_REG_OUT_OF_RANGE, 1,
           CHECK(VideoPortReadRegisterUlong(&local) == 0xFFFFFFFFu));
    EXPECT(HVP_MISUSE_REG_OUT_OF_RANGE, 1, VideoPortWriteRegisterUlong(&local, 5));
    CHECK(local == 0);
    EXPECT(HVP_MISUSE_REG_OUT_OF_RANGE, 1, VideoPortReadRegisterUlong(x->regs + DMM_BAR_SIZE / 4));
    ULONG vals[4] = {1, 2, 3, 4};
    EXPECT(HVP_MISUSE_REG_OUT_OF_RANGE, 1,
           VideoPortWriteRegisterBufferUlong(x->regs + DMM_BAR_SIZE / 4 - 2, vals, 4));
    /* buffer writes go to consecutive registers */
    EXPECT(HVP_MISUSE_NONE, 0,
           VideoPortWriteRegisterBufferUlong(x->regs + DMM_CH_BASE(1) / 4 + DMM_CH_DESC_LO / 4,
                                             vals, 3));
    CHECK(treg(x, DMM_CH_BASE(1) + DMM_CH_DESC_LO) == 1);
    CHECK(treg(x, DMM_CH_BASE(1) + DMM_CH_DESC_HI) == 2);
    CHECK(treg(x, DMM_CH_BASE(1) + DMM_CH_DESC_COUNT) == 3);
    ULONG rd[3] = {0};
    VideoPortReadRegisterBufferUlong(x->regs + DMM_CH_BASE(1) / 4 + DMM_CH_DESC_LO / 4, rd, 3);
    CHECK(rd[0] == 1 && rd[1] == 2 && rd[2] == 3);
    /* narrow accesses: reads fine, writes reported (read-modify-write) */
    twreg(x, DMM_REG_SCRATCH, 0x11223344);
    EXPECT(HVP_MISUSE_NONE, 0,
           CHECK(VideoPortReadRegisterUchar((PUCHAR)x->regs + DMM_REG_SCRATCH + 1) == 0x33));
    CHECK(VideoPortReadRegisterUshort((PUSHORT)((PUCHAR)x->regs + DMM_REG_SCRATCH + 2)) == 0x1122);
    EXPECT(HVP_MISUSE_REG_WIDTH, 1,
           VideoPortWriteRegisterUchar((PUCHAR)x->regs + DMM_REG_SCRATCH + 2, 0xAB));
    CHECK(treg(x, DMM_REG_SCRATCH) == 0x11AB3344);
    EXPECT(HVP_MISUSE_PORT_IO, 1, VideoPortWritePortUlong(x->regs, 1));
    EXPECT(HVP_MISUSE_PORT_IO, 1, CHECK(VideoPortReadPortUchar((PUCHAR)x->regs) == 0xFF));

    /* mappings */
    PHYSICAL_ADDRESS far = {.QuadPart = 0x12345000};
    EXPECT(HVP_MISUSE_MAP_RANGE, 1, CHECK(VideoPortGetDeviceBase(x, far, 16, FALSE) == NULL));
    EXPECT(HVP_MISUSE_UNMAP_UNKNOWN, 1, VideoPortFreeDeviceBase(x, &local));
    ULONG len = 4096, io = 0;
    PVOID va = NULL;
    EXPECT(HVP_MISUSE_MAP_RANGE, 1,
           CHECK(VideoPortMapMemory(x, far, &len, &io, &va) == ERROR_INVALID_PARAMETER));
    /* MapMemory of a common buffer aliases its host memory; of the BAR, a register range */
    len = 64;
    CHECK(VideoPortMapMemory(x, x->ring_pa[0], &len, &io, &va) == NO_ERROR && va == x->ring[0]);
    CHECK(VideoPortUnmapMemory(x, va, NULL) == NO_ERROR);
    EXPECT(HVP_MISUSE_UNMAP_UNKNOWN, 1, VideoPortUnmapMemory(x, va, NULL));
    PHYSICAL_ADDRESS bar = {.QuadPart = (LONGLONG)c.bar_phys};
    len = 0x20;
    va = NULL;
    CHECK(VideoPortMapMemory(x, bar, &len, &io, &va) == NO_ERROR && va != NULL);
    CHECK(VideoPortReadRegisterUlong((PULONG)va) == (DMM_ID_MAGIC | 1));
    CHECK(VideoPortUnmapMemory(x, va, NULL) == NO_ERROR);

    /* IRQL rules */
    int ran = 0;
    EXPECT(HVP_MISUSE_DPC_IRQL, 1, CHECK(VideoPortQueueDpc(x, noop_dpc, &ran) == TRUE));
    CHECK(ran == 1); /* still runs (deterministic: delivered at once) */
    PSPIN_LOCK sl = NULL;
    CHECK(VideoPortCreateSpinLock(x, &sl) == NO_ERROR);
    UCHAR old = 0xFF;
    VideoPortAcquireSpinLock(x, sl, &old);
    CHECK(old == HVP_IRQL_PASSIVE && VideoPortGetCurrentIrql() == HVP_IRQL_DISPATCH);
    EXPECT(HVP_MISUSE_NONE, 0, CHECK(VideoPortQueueDpc(x, noop_dpc, &ran) == TRUE));
    EXPECT(HVP_MISUSE_NONE, 0,
           CHECK(VideoPortQueueDpc(x, noop_dpc, &ran) == FALSE)); /* coalesced */
    CHECK(ran == 1);                                              /* not below DISPATCH yet */
    uint8_t *blk = malloc(PAGE);
    EXPECT(HVP_MISUSE_IRQL, 1, VideoPortUnlockBuffer(x, VideoPortLockBuffer(x, blk, 10, 0)));
    EXPECT(HVP_MISUSE_SPINLOCK, 1, VideoPortAcquireSpinLock(x, sl, &old)); /* recursion */
    CHECK(old == HVP_IRQL_DISPATCH);
    VideoPortReleaseSpinLock(x, sl, HVP_IRQL_DISPATCH);
    VideoPortReleaseSpinLock(x, sl, HVP_IRQL_PASSIVE);
    CHECK(VideoPortGetCurrentIrql() == HVP_IRQL_PASSIVE);
    CHECK(ran == 2); /* the coalesced DPC ran once, when IRQL dropped */
    EXPECT(HVP_MISUSE_SPINLOCK, 1, VideoPortReleaseSpinLock(x, sl, HVP_IRQL_PASSIVE));
    EXPECT(HVP_MISUSE_SPINLOCK, 1, VideoPortAcquireSpinLock(x, (PSPIN_LOCK)blk, &old));
    EXPECT(HVP_MISUSE_IRQL, 1, VideoPortAcquireSpinLockAtDpcLevel(x, sl)); /* at PASSIVE */
    EXPECT(HVP_MISUSE_IRQL, 1, VideoPortReleaseSpinLockFromDpcLevel(x, sl));
    VideoPortAcquireSpinLock(x, sl, &old);
    EXPECT(HVP_MISUSE_SPINLOCK, 1, VideoPortDeleteSpinLock(x, sl));       /* held */
    EXPECT(HVP_MISUSE_SPINLOCK, 1, VideoPortReleaseSpinLock(x, sl, old)); /* deleted: released */
    CHECK(VideoPortGetCurrentIrql() == HVP_IRQL_PASSIVE);
    EXPECT(HVP_MISUSE_SPINLOCK, 1, VideoPortAcquireSpinLock(x, sl, &old)); /* deleted */
    CHECK(VideoPortGetCurrentIrql() == HVP_IRQL_PASSIVE);
    free(blk);

    /* synchronization, events, device lock */
    EXPECT(HVP_MISUSE_SYNC_NESTED, 1,
           VideoPortSynchronizeExecution(x, VpMediumPriority, sync_nested, x));
    EXPECT(HVP_MISUSE_EVENT, 1, VideoPortSetEvent(x, (PEVENT)&local));
    PEVENT ev = NULL;
    CHECK(VideoPortCreateEvent(x, NOTIFICATION_EVENT | INITIAL_EVENT_SIGNALED, NULL, &ev) ==
          NO_ERROR);
    CHECK(VideoPortReadStateEvent(x, ev) == 1);
    CHECK(VideoPortWaitForSingleObject(x, ev, NULL) == NO_ERROR);
    CHECK(VideoPortReadStateEvent(x, ev) == 1); /* notification: stays set */
    VideoPortClearEvent(x, ev);
    LARGE_INTEGER to = {.QuadPart = -10000}; /* 1 ms */
    uint64_t t0 = hvp_clock_ns(m);
    CHECK(VideoPortWaitForSingleObject(x, ev, &to) == WAIT_TIMEOUT);
    CHECK(hvp_clock_ns(m) - t0 >= 1000000); /* synthetic clock moved by the timeout */
    hvp_stats s0, s1;
    hvp_stats_get(m, &s0);
    CHECK(VideoPortWaitForSingleObject(x, ev, NULL) == WAIT_TIMEOUT); /* can never be set */
    hvp_stats_get(m, &s1);
    CHECK(s1.waits_abandoned == s0.waits_abandoned + 1);
    CHECK(VideoPortDeleteEvent(x, ev) == NO_ERROR);
    EXPECT(HVP_MISUSE_EVENT, 1, VideoPortSetEvent(x, ev));
    uint32_t got = 0;
    uint8_t small[8];
    EXPECT(HVP_MISUSE_IOCTL_OVERFLOW, 1,
           CHECK(hvp_ioctl(m, T_IOCTL_OVERFLOW, NULL, 0, small, sizeof(small), &got) == NO_ERROR));
    CHECK(got == sizeof(small));
    EXPECT(HVP_MISUSE_DEVICE_LOCK, 1, hvp_ioctl(m, T_IOCTL_DEVLOCK, NULL, 0, NULL, 0, &got));
    EXPECT(HVP_MISUSE_DEVICE_LOCK, 1, VideoPortReleaseDeviceLock(x)); /* not held */
    EXPECT(HVP_MISUSE_NONE, 0, VideoPortAcquireDeviceLock(x));
    VideoPortReleaseDeviceLock(x);
    CHECK(hvp_ioctl(m, 0x12345, NULL, 0, NULL, 0, &got) == ERROR_INVALID_FUNCTION);

    /* VideoPortInitialize misuse */
    VIDEO_HW_INITIALIZATION_DATA hw;
    memset(&hw, 0, sizeof(hw));
    hw.HwInitDataSize = sizeof(hw);
    EXPECT(HVP_MISUSE_INIT, 1, CHECK(VideoPortInitialize(&local, NULL, &hw, NULL) != 0));
    EXPECT(HVP_MISUSE_INIT, 1, CHECK(VideoPortInitialize(m, NULL, &hw, NULL) != 0));
    hw.HwInitDataSize = 1000;
    EXPECT(HVP_MISUSE_INIT, 1, CHECK(VideoPortInitialize(m, NULL, &hw, NULL) != 0));

    /* clean unload: no leaks, no new misuse */
    mark();
    t_finish_after(m, g_before.misuse_total);
}

/* An ISR that claims the interrupt but never acknowledges it. */
static void test_misuse_no_ack(void)
{
    for (int det = 0; det < 2; det++) {
        hvp_config c;
        base_config(&c, det != 0);
        c.wait_cap_ms = 2000; /* the transfer never completes: bounded wait */
        g_tno_ack = true;
        hvp_machine *m = t_machine(&c, NULL, SG64);
        g_tno_ack = false;
        if (!m)
            return;
        g_mm = m;
        uint8_t *buf = malloc(1000);
        memset(buf, 1, 1000);
        mark();
        t_xfer_in in = {(uint64_t)(uintptr_t)buf, 1000, 1, 0};
        t_xfer_out o;
        uint32_t got;
        hvp_ioctl(m, T_IOCTL_XFER, &in, sizeof(in), &o, sizeof(o), &got);
        CHECK(hvp_wait_idle(m, 60000) == HVP_OK);
        hvp_stats st;
        hvp_stats_get(m, &st);
        CHECK(st.misuse[HVP_MISUSE_INTR_NOT_ACKED] ==
              g_before.misuse[HVP_MISUSE_INTR_NOT_ACKED] + 1);
        CHECK(st.isr_calls >= 64);
        free(buf);
        hvp_machine_free(m);
    }
}

/* ---- config validation ------------------------------------------------------ */

static ULONG NTAPI bad_entry(PVOID a1, PVOID a2)
{
    (void)a1;
    (void)a2;
    return 0;
}

static void test_config(void)
{
    hvp_config c;
    base_config(&c, true);
    c.ram_low_top = 12345;
    CHECK(hvp_machine_new(&c, NULL) == NULL);
    base_config(&c, true);
    c.placement = HVP_PLACE_ABOVE_4G;
    c.ram_high_size = 0;
    CHECK(hvp_machine_new(&c, NULL) == NULL);
    base_config(&c, true);
    c.bar_phys = 0x1000000;
    CHECK(hvp_machine_new(&c, NULL) == NULL);
    base_config(&c, true);
    hvp_machine *m = hvp_machine_new(&c, NULL);
    CHECK(m != NULL);
    CHECK(hvp_ioctl(m, 1, NULL, 0, NULL, 0, NULL) == HVP_ESTATE);
    CHECK(hvp_load_driver(m, NULL) == HVP_EINVAL);
    VideoPortDebugPrint(Warn, "dbg %d %s\n", 42, "x");
    CHECK(strcmp(g_last_driver_text, "dbg 42 x") == 0 && g_last_driver_level == Warn);
    LONGLONG freq = 0;
    LONGLONG t1 = VideoPortQueryPerformanceCounter(NULL, &freq);
    LONGLONG t2 = VideoPortQueryPerformanceCounter(NULL, NULL);
    CHECK(freq == 1000000000LL && t2 - t1 == (LONGLONG)c.clock_step_ns);
    hvp_machine_free(m);
    /* a driver that never calls VideoPortInitialize */
    m = hvp_machine_new(&c, NULL);
    CHECK(hvp_load_driver(m, bad_entry) == HVP_EDRIVER);
    hvp_machine_free(m);
    CHECK(strcmp(hvp_misuse_name(HVP_MISUSE_COMPLETE_TWICE), "complete_twice") == 0);
    CHECK(strcmp(hvp_misuse_name((enum hvp_misuse)999), "?") == 0);
    for (int k = 1; k < HVP_MISUSE_COUNT; k++)
        CHECK(strcmp(hvp_misuse_name((enum hvp_misuse)k), "?") != 0);
}

int main(void)
{
    tk_max_reports = 59;
    g_verbose = getenv("HVP_TEST_VERBOSE") != NULL;
    CHECK(hvp_layout_check_linked() == 24);
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"config", test_config},
        {"sg_model", test_sg_model},
        {"4g_split", test_4g_split},
        {"frames_deterministic", test_frames_deterministic},
        {"contiguity_extremes", test_contiguity_extremes},
        {"page_sharing", test_page_sharing},
        {"deferred_start", test_deferred_start},
        {"reactos_mode", test_reactos_mode},
        {"lifecycle_threaded", test_lifecycle_threaded},
        {"lifecycle_concurrent", test_lifecycle_concurrent},
        {"lifecycle_deterministic", test_lifecycle_deterministic},
        {"lifecycle_deferred_threaded", test_lifecycle_deferred_threaded},
        {"lifecycle_highmem", test_lifecycle_highmem},
        {"polling_deferred", test_polling_deferred},
        {"lifecycle_nonsg", test_lifecycle_nonsg},
        {"lifecycle_reactos", test_lifecycle_reactos},
        {"misuse_dma", test_misuse_dma},
        {"misuse_regs_sync", test_misuse_regs_sync},
        {"misuse_no_ack", test_misuse_no_ack},
    };
    const char *only = getenv("HVP_TEST_ONLY");
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (only && strcmp(only, tests[i].name) != 0)
            continue;
        int before = tk_failures;
        tests[i].fn();
        fprintf(stderr, "%-28s %s\n", tests[i].name, tk_failures == before ? "ok" : "FAILED");
    }
    if (!only) /* every misuse kind was provoked somewhere above */
        for (int k = 1; k < HVP_MISUSE_COUNT; k++)
            if (g_log_misuse[k] == 0) {
                tk_failures++;
                fprintf(stderr, "misuse kind %s never exercised\n",
                        hvp_misuse_name((enum hvp_misuse)k));
            }
    fprintf(stderr, "%d checks, %d failed\n", tk_checks, tk_failures);
    return tk_failures ? 1 : 0;
}

/*
 * driver.c - driver-mode replay (rpl/driver.h): the recorded session's
 * OS-side inputs are turned back into the IOCTLs that produced it, the
 * instrumented miniport runs them on the host VideoPort (deterministic
 * mode, the device model configured as the trace says, buffer pages placed
 * on the recorded frames), its probe's records are drained into a second
 * trace, and the two are compared record by record, stream by stream.
 *
 *   recorded --pass 1--> script (TRANSFER/WAIT IOCTLs), frames, configuration
 *      |                        |
 *      |               hvp + miniport + probe --> ring --> re-run trace
 *      |                                                      |
 *      '--pass 2 (window, context)--> compare per stream <----'
 *
 * Streams: setup (every record before the first locked buffer), channel 0
 * and channel 1 (a transfer's lock, pattern, StartDma, ExecuteDma,
 * descriptors, ring and status registers, digest, CompleteDma, unlock), and
 * global (IRQ_STATUS, interrupts, DPCs), which is compared only when the
 * recorded order is reproducible (single-threaded capture: strict order).
 * Within a stream the k-th recorded record meets the k-th re-run record;
 * fields that depend on the run (time, ids, virtual addresses, contexts) are
 * left out.  The first difference of a stream is a divergence (kind
 * "driver") at the recorded record; that stream is not compared further.
 *
 * Two ways to give the driver its OS-side inputs (rpl_driver_mode):
 *  - INJECT: hvp's replay backend (hvp_replay.h) stands for the device; the
 *    hooks below answer StartDma from the recorded EXECUTE_DMA (per
 *    direction, in order), register reads from the recorded values (one
 *    queue per register) and raise one interrupt per INTERRUPT record right
 *    after the driver's W-th register write, W = writes recorded before
 *    that ISR's first read.  From-device DIGESTs are left out (device data).
 *  - REPRODUCE: hvp's public API only - SG lists and granted lengths come
 *    out of hvp again from the same frames (hvp_config.frame_fn) and
 *    configuration, register values and interrupts from the device model.
 * Either way an EXECUTE_DMA or START_DMA_END that differs means an input
 * did not reach the driver as recorded: its stream stops being compared,
 * since the driver is not at fault there.  AUTO picks REPRODUCE for traces
 * of `dmatrace capture` and INJECT for the rest (replayer/README.md s. 7).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmt/describe.h"
#include "dmt/drain.h"
#include "dmt/reader.h"
#include "dmt/ring.h"
#include "dmt/writer.h"
#include "dmtmini_host.h"
#include "dmtmini_ioctl.h"
#include "hvp.h"
#include "hvp_replay.h"
#include "internal.h"
#include "rpl/driver.h"

#define MAX_DXFERS    (1u << 20)
#define MAX_OPEN      64u
#define MAX_ADAPTERS  64u
#define RING_DATA     (32u << 20)
#define MAX_RERUN_REC (16u << 20)
#define VA_BASE       0x7e0000000000ull /* dmatrace capture's hvp va_base */

enum {
    ST_SETUP = 0,
    ST_CH0 = 1,
    ST_CH1 = 2,
    ST_END0 = 3, /* START_DMA_END of channel 0 */
    ST_END1 = 4,
    ST_GLOBAL = 5,
    NSTREAM = 6,
    ST_NONE = 99
};

static const char *const stream_names[NSTREAM] = {"setup",     "channel 0", "channel 1",
                                                  "channel 0", "channel 1", "global"};

/* One TRANSFER IOCTL of the recorded workload. */
typedef struct dxfer {
    uint32_t mdl;
    uint64_t va, length;
    uint32_t op;
    bool pattern;
    uint64_t seed;
    int ch; /* -1 until its StartDma */
    bool have_dev_off;
    uint64_t dev_off;
    bool async, saw_other;
    uint64_t *frames; /* recorded PFN per page, 0 = unknown */
    uint32_t npages;
} dxfer;

typedef struct op {
    bool wait;
    uint32_t x;
} op;

typedef struct xinfo {
    uint32_t dx; /* index + 1 into plan.x, 0 = none */
    uint64_t offset;
} xinfo;

/* What puts a trace's records into streams. */
typedef struct links {
    rpl_idmap mdl_ch, xfer_ch, adapter_ch, cb_adapter; /* values: value + 1 */
    uint64_t first_lock;
} links;

typedef struct adesc {
    bool sg, dma32, dma64;
    uint64_t max_length;
    uint32_t map_registers;
} adesc;

/* ---- injection mode: the recorded OS-side inputs ------------------------------------ */

#define INJ_REGS 1024u /* 32-bit registers of the BAR */

/* The answer to one StartDma of a direction, from START_DMA / EXECUTE_DMA /
 * START_DMA_END of one recorded xfer. */
typedef struct idma {
    int action; /* enum hvp_replay_action */
    uint32_t status, granted;
    uint64_t sg_first; /* into inject.sg */
    uint32_t nsg;
} idma;

typedef struct inject {
    idma *dma[2]; /* per direction: 0 to the device, 1 from it; in START_DMA order */
    uint32_t ndma[2], capdma[2], cur[2];
    hvp_replay_sg *sg;
    uint64_t nsg, capsg;
    rpl_idmap xfer_dma; /* recorded xfer -> (dir << 31 | index) + 1 */
    /* register reads: one queue per register, in record order */
    uint32_t *rd_val, *rd_next;
    uint32_t nrd, caprd;
    uint32_t rd_head[INJ_REGS], rd_tail[INJ_REGS]; /* index + 1, 0 = none */
    uint32_t rd_cur[INJ_REGS];                     /* run: the next value per register */
    /* interrupts: raised after the driver's w-th register write */
    uint64_t *irq_w;
    uint32_t nirq, capirq, irq_cur;
    uint64_t writes;                  /* pass 1: recorded writes so far; run: driver's writes */
    bool run, run_read;               /* pass 1: inside a run of register records */
    uint64_t run_start_w, run_read_w; /* writes before the run / before its first read */
    uint64_t map_addr[16];            /* device map address per dev id (0..15), 0 = unknown */
    uint64_t bar_addr;                /* the first mapping's address */
    uint64_t skipped_digests;         /* from-device DIGESTs left out of the comparison */
} inject;

typedef struct plan {
    const rpl_opts *o;
    bool inject_mode;
    inject inj;
    dmt_header hdr;
    dmm_config dev;
    bool wrote, cfg_rev, cfg_caps, cfg_devmem;
    adesc adapters[MAX_ADAPTERS];
    uint32_t nadapters, released;
    bool configure; /* channel adapters re-created before the first transfer */
    adesc ch_desc[2];
    uint32_t max_nmr;
    dxfer *x;
    uint32_t nx, capx;
    op *ops;
    uint32_t nops, capops;
    rpl_idmap mdl_x, xfer_info, adapter_xfer;
    uint32_t open[MAX_OPEN];
    unsigned nopen;
    links L;
    uint64_t mem;
    bool lost;
} plan;

/* ---- small helpers ----------------------------------------------------------- */

static void *idv(uint64_t v)
{
    return (void *)(uintptr_t)(v + 1);
}

static bool idget(const rpl_idmap *m, uint32_t key, uint64_t *v)
{
    void *p = rpl_idmap_get(m, key);
    if (!p)
        return false;
    *v = (uint64_t)(uintptr_t)p - 1;
    return true;
}

static bool links_init(links *L)
{
    L->first_lock = UINT64_MAX;
    return rpl_idmap_init(&L->mdl_ch, 1u << 20) && rpl_idmap_init(&L->xfer_ch, 1u << 20) &&
           rpl_idmap_init(&L->adapter_ch, 4096) && rpl_idmap_init(&L->cb_adapter, 4096);
}

static void links_free(links *L)
{
    rpl_idmap_free(&L->mdl_ch);
    rpl_idmap_free(&L->xfer_ch);
    rpl_idmap_free(&L->adapter_ch);
    rpl_idmap_free(&L->cb_adapter);
}

/* Learn what links records to channels from one record. */
static void links_add(links *L, const dmt_record *r, uint64_t index)
{
    switch (r->kind) {
    case DMT_K_BUFFER_LOCK:
        if (L->first_lock == UINT64_MAX)
            L->first_lock = index;
        break;
    case DMT_K_START_DMA: {
        uint64_t ch = r->write_to_device ? 0 : 1;
        rpl_idmap_put(&L->xfer_ch, r->xfer, idv(ch));
        rpl_idmap_put(&L->mdl_ch, r->mdl, idv(ch));
        rpl_idmap_put(&L->adapter_ch, r->adapter, idv(ch));
        break;
    }
    case DMT_K_COMMON_ALLOC:
        rpl_idmap_put(&L->cb_adapter, r->cb, idv(r->adapter));
        break;
    default:
        break;
    }
}

static int stream_of(const links *L, const dmt_record *r, uint64_t index)
{
    uint64_t v;
    switch (r->kind) {
    case DMT_K_MARKER:
    case DMT_K_LOST:
    case DMT_K_CHUNK:
    case DMT_K_END:
        return ST_NONE;
    default:
        break;
    }
    if (index < L->first_lock)
        return ST_SETUP;
    switch (r->kind) {
    case DMT_K_REG_WRITE:
    case DMT_K_REG_READ:
    case DMT_K_REG_WRITE_BUF:
    case DMT_K_REG_READ_BUF:
        if (r->off >= DMM_CH_BASE(0) && r->off < DMM_CH_BASE(DMM_NUM_CHANNELS))
            return ST_CH0 + (int)((r->off - DMM_CH_BASE(0)) / 0x40u);
        return ST_GLOBAL;
    case DMT_K_BUFFER_LOCK:
    case DMT_K_PATTERN:
    case DMT_K_PAYLOAD:
    case DMT_K_BUFFER_UNLOCK:
        return idget(&L->mdl_ch, r->mdl, &v) ? ST_CH0 + (int)v : ST_GLOBAL;
    case DMT_K_START_DMA_END:
        /* logged when StartDma returns, which on several CPUs may come
         * after the ISR of the chunk it started: a stream of its own */
        return idget(&L->xfer_ch, r->xfer, &v) ? ST_END0 + (int)v : ST_GLOBAL;
    case DMT_K_START_DMA:
    case DMT_K_EXECUTE_DMA:
    case DMT_K_DIGEST:
    case DMT_K_COMPLETE_DMA:
        return idget(&L->xfer_ch, r->xfer, &v) ? ST_CH0 + (int)v : ST_GLOBAL;
    case DMT_K_DESC_WRITE: {
        uint64_t a;
        if (idget(&L->cb_adapter, r->cb, &a) && idget(&L->adapter_ch, (uint32_t)a, &v))
            return ST_CH0 + (int)v;
        return ST_GLOBAL;
    }
    default:
        return ST_GLOBAL;
    }
}

/* ---- pass 1: the workload ------------------------------------------------------ */

static int plan_fail(dmt_error *err, uint64_t index, const char *msg)
{
    return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, index, "%s", msg);
}

static void learn(plan *p, const dmt_record *r)
{
    if (p->wrote || r->kind != DMT_K_REG_READ || (r->width && r->width != 4))
        return;
    uint64_t v = r->value;
    if (r->off == DMM_REG_ID && !p->cfg_rev && (v & 0xFFFFFF00u) == DMM_ID_MAGIC &&
        dmm_desc_size((uint32_t)(v & 0xFF))) {
        p->dev.revision = (uint32_t)(v & 0xFF);
        p->cfg_rev = true;
    } else if (r->off == DMM_REG_CAPS && !p->cfg_caps) {
        uint32_t bits = DMM_CAPS_ADDR_BITS((uint32_t)v), e = DMM_CAPS_ERRATA((uint32_t)v);
        if (bits >= 32 && bits <= 64 && !(e & ~DMM_ERRATA_ALL)) {
            p->dev.addr_bits = bits;
            p->dev.errata = e;
            p->cfg_caps = true;
        }
    } else if (r->off == DMM_REG_DEVMEM_SIZE && !p->cfg_devmem && v >= 1 && v <= DMM_DEVMEM_MAX) {
        p->dev.devmem_size = v;
        p->cfg_devmem = true;
    }
}

static bool push_op(plan *p, bool wait, uint32_t x)
{
    if (p->nops == p->capops) {
        uint32_t nc = p->capops ? p->capops * 2 : 256;
        op *q = realloc(p->ops, nc * sizeof *q);
        if (!q)
            return false;
        p->ops = q;
        p->capops = nc;
    }
    p->ops[p->nops].wait = wait;
    p->ops[p->nops].x = x;
    p->nops++;
    return true;
}

/* Another transfer's lock or unlock while x was open: x was asynchronous. */
static void mark_open(plan *p, uint32_t except)
{
    for (unsigned i = 0; i < p->nopen; i++)
        if (p->open[i] != except)
            p->x[p->open[i]].saw_other = true;
}

static int inj_record(plan *p, const dmt_record *r, uint64_t index, dmt_error *err);

static int plan_record(plan *p, const dmt_record *r, uint64_t index, dmt_error *err)
{
    links_add(&p->L, r, index);
    if (p->inject_mode) {
        int rc = inj_record(p, r, index, err);
        if (rc < 0)
            return rc;
    }
    if (r->kind == DMT_K_REG_WRITE || r->kind == DMT_K_REG_WRITE_BUF)
        p->wrote = true;
    learn(p, r);
    switch (r->kind) {
    case DMT_K_LOST:
        p->lost = true;
        break;
    case DMT_K_ADAPTER_CREATE:
        if (p->L.first_lock == UINT64_MAX && p->nadapters < MAX_ADAPTERS) {
            adesc *a = &p->adapters[p->nadapters++];
            a->sg = r->sg;
            a->dma32 = r->dma32;
            a->dma64 = r->dma64;
            a->max_length = r->length;
            a->map_registers = r->map_registers;
        }
        if (r->map_registers > p->max_nmr)
            p->max_nmr = r->map_registers;
        break;
    case DMT_K_ADAPTER_RELEASE:
        if (p->L.first_lock == UINT64_MAX)
            p->released++;
        break;
    case DMT_K_BUFFER_LOCK: {
        if (p->nx == MAX_DXFERS)
            return plan_fail(err, index, "more locked buffers than driver mode replays");
        if (p->nx == p->capx) {
            uint32_t nc = p->capx ? p->capx * 2 : 256;
            dxfer *q = realloc(p->x, nc * sizeof *q);
            if (!q)
                return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, index, "out of memory");
            p->x = q;
            p->capx = nc;
        }
        dxfer *x = &p->x[p->nx];
        memset(x, 0, sizeof *x);
        x->mdl = r->mdl;
        x->va = r->va;
        x->length = r->length;
        x->op = r->op;
        x->ch = -1;
        if (r->length == 0 || r->length > UINT32_MAX)
            return plan_fail(err, index, "a locked buffer driver mode cannot re-create");
        uint64_t pages = ((r->va & 0xFFF) + r->length + 4095) >> 12;
        p->mem += pages * 8;
        if (p->mem > p->o->mem_limit)
            return plan_fail(err, index, "the recorded buffers exceed the replay memory limit");
        x->frames = calloc(pages, sizeof *x->frames);
        if (!x->frames)
            return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, index, "out of memory");
        x->npages = (uint32_t)pages;
        rpl_idmap_put(&p->mdl_x, r->mdl, idv(p->nx));
        mark_open(p, UINT32_MAX);
        if (p->nopen < MAX_OPEN)
            p->open[p->nopen++] = p->nx;
        if (!push_op(p, false, p->nx))
            return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, index, "out of memory");
        p->nx++;
        break;
    }
    case DMT_K_PATTERN: {
        uint64_t k;
        if (idget(&p->mdl_x, r->mdl, &k) && r->offset == 0 && r->length == p->x[k].length &&
            r->algo == DMT_PATTERN_XS64) {
            p->x[k].pattern = true;
            p->x[k].seed = r->value;
        }
        break;
    }
    case DMT_K_START_DMA: {
        uint64_t k;
        if (!idget(&p->mdl_x, r->mdl, &k))
            break;
        if (p->x[k].ch < 0)
            p->x[k].ch = r->write_to_device ? 0 : 1;
        xinfo *xi = calloc(1, sizeof *xi);
        if (!xi)
            return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, index, "out of memory");
        xi->dx = (uint32_t)k + 1;
        xi->offset = r->offset;
        free(rpl_idmap_get(&p->xfer_info, r->xfer));
        rpl_idmap_del(&p->xfer_info, r->xfer);
        if (!rpl_idmap_put(&p->xfer_info, r->xfer, xi))
            free(xi);
        break;
    }
    case DMT_K_EXECUTE_DMA: {
        xinfo *xi = rpl_idmap_get(&p->xfer_info, r->xfer);
        rpl_idmap_put(&p->adapter_xfer, r->adapter, idv(r->xfer));
        if (!xi || !xi->dx)
            break;
        dxfer *x = &p->x[xi->dx - 1];
        size_t stride = r->sg_stride ? r->sg_stride : sizeof(dmt_sg_elem);
        uint64_t b = xi->offset, vo = x->va & 0xFFF;
        for (uint32_t i = 0; i < r->n_sg; i++) {
            dmt_sg_elem e;
            memcpy(&e.addr, (const uint8_t *)r->sg_list + i * stride, 8);
            memcpy(&e.len, (const uint8_t *)r->sg_list + i * stride + 8, 4);
            /* every page the element touches, where physical and virtual
             * page offsets agree (not a bounce page) */
            for (uint64_t q = 0; q < e.len;) {
                uint64_t pos = vo + b + q, phys = e.addr + q;
                if ((pos & 0xFFF) == (phys & 0xFFF) && (pos >> 12) < x->npages)
                    x->frames[pos >> 12] = phys >> 12;
                q += 4096 - (pos & 0xFFF);
            }
            b += e.len;
        }
        break;
    }
    case DMT_K_DESC_WRITE: {
        uint64_t a, xid;
        if (!idget(&p->L.cb_adapter, r->cb, &a) || !idget(&p->adapter_xfer, (uint32_t)a, &xid))
            break;
        xinfo *xi = rpl_idmap_get(&p->xfer_info, (uint32_t)xid);
        size_t dsz = dmm_desc_size(p->dev.revision);
        if (!xi || !xi->dx || !dsz || r->n_bytes < dsz)
            break;
        dxfer *x = &p->x[xi->dx - 1];
        if (!x->have_dev_off && xi->offset == 0) {
            dmm_desc d;
            dmm_desc_decode(p->dev.revision, r->bytes, &d);
            x->dev_off = d.dev_off;
            x->have_dev_off = true;
        }
        break;
    }
    case DMT_K_COMPLETE_DMA:
        free(rpl_idmap_del(&p->xfer_info, r->xfer));
        break;
    case DMT_K_BUFFER_UNLOCK: {
        uint64_t k;
        if (!idget(&p->mdl_x, r->mdl, &k))
            break;
        mark_open(p, (uint32_t)k);
        for (unsigned i = 0; i < p->nopen; i++)
            if (p->open[i] == k) {
                p->open[i] = p->open[--p->nopen];
                break;
            }
        if (p->x[k].saw_other) {
            p->x[k].async = true;
            if (!push_op(p, true, (uint32_t)k))
                return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, index, "out of memory");
        }
        rpl_idmap_del(&p->mdl_x, r->mdl);
        break;
    }
    default:
        break;
    }
    return 0;
}

/* Grow *arr (elements of size sz) to hold n + 1; charges the replay memory. */
static bool grow(plan *p, void **arr, uint32_t *cap, uint64_t n, size_t sz)
{
    if (n < *cap)
        return true;
    uint64_t nc = *cap ? (uint64_t)*cap * 2 : 256;
    if (nc > UINT32_MAX / 2)
        return false;
    p->mem += (nc - *cap) * sz;
    if (p->mem > p->o->mem_limit)
        return false;
    void *q = realloc(*arr, (size_t)nc * sz);
    if (!q)
        return false;
    *arr = q;
    *cap = (uint32_t)nc;
    return true;
}

static int inj_fail(dmt_error *err, uint64_t index)
{
    return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, index,
                         "driver mode: the recorded inputs exceed the replay memory limit "
                         "(--mem-limit)");
}

static void inj_read(plan *p, uint32_t bar_off, uint64_t value)
{
    inject *j = &p->inj;
    uint32_t reg = bar_off >> 2;
    if (reg >= INJ_REGS)
        return;
    if (j->nrd == j->caprd) {
        uint32_t cap = j->caprd;
        if (!grow(p, (void **)&j->rd_val, &cap, j->nrd, sizeof *j->rd_val))
            return;
        uint32_t *q = realloc(j->rd_next, (size_t)cap * sizeof *q);
        if (!q)
            return;
        p->mem += (uint64_t)(cap - j->caprd) * sizeof *q;
        j->rd_next = q;
        j->caprd = cap;
    }
    j->rd_val[j->nrd] = (uint32_t)value;
    j->rd_next[j->nrd] = 0;
    if (j->rd_tail[reg])
        j->rd_next[j->rd_tail[reg] - 1] = j->nrd + 1;
    else
        j->rd_head[reg] = j->nrd + 1;
    j->rd_tail[reg] = j->nrd + 1;
    j->nrd++;
}

/* BAR offset of a register record (mappings relative to the first one). */
static bool inj_bar_off(const inject *j, const dmt_record *r, uint32_t *out)
{
    if (r->dev >= 16 || !j->map_addr[r->dev] || j->map_addr[r->dev] < j->bar_addr)
        return false;
    uint64_t o = j->map_addr[r->dev] - j->bar_addr + r->off;
    if (o >= (uint64_t)INJ_REGS * 4)
        return false;
    *out = (uint32_t)o;
    return true;
}

/* Pass 1 in injection mode: collect the inputs the driver will be fed. */
static int inj_record(plan *p, const dmt_record *r, uint64_t index, dmt_error *err)
{
    inject *j = &p->inj;
    bool reg = r->kind == DMT_K_REG_READ || r->kind == DMT_K_REG_WRITE ||
               r->kind == DMT_K_REG_READ_BUF || r->kind == DMT_K_REG_WRITE_BUF;
    if (reg && !j->run) {
        j->run = true;
        j->run_read = false;
        j->run_start_w = j->writes;
    }
    uint32_t bo;
    switch (r->kind) {
    case DMT_K_DEVICE_MAP:
        if (r->dev < 16 && !j->map_addr[r->dev]) {
            j->map_addr[r->dev] = r->addr;
            if (!j->bar_addr || r->addr < j->bar_addr)
                j->bar_addr = r->addr;
        }
        break;
    case DMT_K_REG_READ:
    case DMT_K_REG_READ_BUF:
        if (!j->run_read) {
            j->run_read = true;
            j->run_read_w = j->writes;
        }
        if (inj_bar_off(j, r, &bo)) {
            if (r->kind == DMT_K_REG_READ)
                inj_read(p, bo, r->value);
            else
                for (uint32_t i = 0; i < r->n_values; i++)
                    inj_read(p, bo + 4 * i, r->values[i]);
            if (p->mem > p->o->mem_limit)
                return inj_fail(err, index);
        }
        break;
    case DMT_K_REG_WRITE:
        j->writes++;
        break;
    case DMT_K_REG_WRITE_BUF:
        j->writes += r->n_values;
        break;
    case DMT_K_INTERRUPT:
        /* the ISR's register accesses precede its record: it started at the
         * first read of the run of register records before it */
        if (!grow(p, (void **)&j->irq_w, &j->capirq, j->nirq, sizeof *j->irq_w))
            return inj_fail(err, index);
        j->irq_w[j->nirq++] = !j->run ? j->writes : j->run_read ? j->run_read_w : j->run_start_w;
        break;
    case DMT_K_START_DMA: {
        unsigned d = r->write_to_device ? 0 : 1;
        if (!grow(p, (void **)&j->dma[d], &j->capdma[d], j->ndma[d], sizeof(idma)))
            return inj_fail(err, index);
        idma *q = &j->dma[d][j->ndma[d]];
        memset(q, 0, sizeof *q);
        q->action = HVP_REPLAY_DROP; /* until its EXECUTE_DMA or START_DMA_END */
        rpl_idmap_del(&j->xfer_dma, r->xfer);
        rpl_idmap_put(&j->xfer_dma, r->xfer, idv(((uint64_t)d << 31) | j->ndma[d]));
        j->ndma[d]++;
        break;
    }
    case DMT_K_EXECUTE_DMA:
    case DMT_K_START_DMA_END: {
        uint64_t v;
        if (!idget(&j->xfer_dma, r->xfer, &v))
            break;
        idma *q = &j->dma[v >> 31][v & 0x7FFFFFFFu];
        if (r->kind == DMT_K_START_DMA_END) {
            if (q->action != HVP_REPLAY_EXECUTE) {
                q->action = r->status ? HVP_REPLAY_FAIL : HVP_REPLAY_DROP;
                q->status = (uint32_t)r->status;
                q->granted = (uint32_t)r->length;
            }
            break;
        }
        if (q->action == HVP_REPLAY_EXECUTE || r->n_sg > HVP_REPLAY_MAX_SG)
            break;
        uint32_t capsg32 = (uint32_t)(j->capsg > UINT32_MAX ? UINT32_MAX : j->capsg);
        while (j->nsg + r->n_sg > capsg32) {
            if (!grow(p, (void **)&j->sg, &capsg32, capsg32, sizeof *j->sg))
                return inj_fail(err, index);
        }
        j->capsg = capsg32;
        size_t stride = r->sg_stride ? r->sg_stride : sizeof(dmt_sg_elem);
        for (uint32_t i = 0; i < r->n_sg; i++) {
            memcpy(&j->sg[j->nsg + i].addr, (const uint8_t *)r->sg_list + i * stride, 8);
            memcpy(&j->sg[j->nsg + i].len, (const uint8_t *)r->sg_list + i * stride + 8, 4);
        }
        q->action = HVP_REPLAY_EXECUTE;
        q->granted = (uint32_t)r->length;
        q->sg_first = j->nsg;
        q->nsg = r->n_sg;
        j->nsg += r->n_sg;
        break;
    }
    default:
        break;
    }
    if (!reg)
        j->run = false;
    return 0;
}

static void plan_free(plan *p)
{
    free(p->inj.dma[0]);
    free(p->inj.dma[1]);
    free(p->inj.sg);
    free(p->inj.rd_val);
    free(p->inj.rd_next);
    free(p->inj.irq_w);
    rpl_idmap_free(&p->inj.xfer_dma);
    for (uint32_t i = 0; i < p->nx; i++)
        free(p->x[i].frames);
    free(p->x);
    free(p->ops);
    uint32_t pos = 0;
    void *v;
    if (p->xfer_info.vals)
        while ((v = rpl_idmap_next(&p->xfer_info, &pos, NULL)) != NULL)
            free(v);
    rpl_idmap_free(&p->mdl_x);
    rpl_idmap_free(&p->xfer_info);
    rpl_idmap_free(&p->adapter_xfer);
    links_free(&p->L);
}

static int plan_read(plan *p, const char *path, dmt_error *err)
{
    rpl_source *src;
    int rc = rpl_source_open(path, &src, err);
    if (rc < 0)
        return rc;
    p->hdr = *rpl_source_header(src);
    dmt_record r;
    uint64_t index = 0;
    while ((rc = rpl_source_next(src, &r, err)) == 1) {
        if (r.kind == DMT_K_CHUNK || r.kind == DMT_K_END)
            continue;
        if ((rc = plan_record(p, &r, index, err)) < 0)
            break;
        index++;
    }
    rpl_source_close(src);
    if (rc < 0)
        return rc;
    /* transfers still open at the end: asynchronous, waited for at the end */
    for (unsigned i = 0; i < p->nopen; i++)
        if (p->x[p->open[i]].saw_other) {
            p->x[p->open[i]].async = true;
            push_op(p, true, p->open[i]);
        }
    /* CONFIGURE: the channel adapters were re-created before the first
     * transfer; the last two created are channel 0 and channel 1 */
    if (p->released && p->nadapters >= 2) {
        p->configure = true;
        p->ch_desc[0] = p->adapters[p->nadapters - 2];
        p->ch_desc[1] = p->adapters[p->nadapters - 1];
    }
    return 0;
}

/* ---- the re-run -------------------------------------------------------------------- */

typedef struct rerun {
    plan *p;
    hvp_machine *m;
    void *region;
    size_t region_len;
    dmt_ring ring;
    dmt_writer *w;
    dmt_drain *drain;
    uint8_t *area[2];
    size_t area_len[2];
    uint32_t locks; /* TRANSFER IOCTLs issued: hvp's lock_seq of the next one */
} rerun;

static uint64_t frame_cb(void *ctx, uint32_t lock_seq, uint32_t page_index, uint64_t proposed)
{
    rerun *u = ctx;
    if (lock_seq >= u->p->nx)
        return proposed;
    const dxfer *x = &u->p->x[lock_seq];
    if (page_index < x->npages && x->frames[page_index])
        return x->frames[page_index];
    return proposed;
}

/* ---- injection hooks (hvp_replay.h), called on the driver's thread ----------------- */

static void hook_dma(void *ctx, hvp_replay_dma *req)
{
    rerun *u = ctx;
    inject *j = &u->p->inj;
    unsigned d = req->write_to_device ? 0 : 1;
    if (j->cur[d] >= j->ndma[d])
        return; /* more StartDma calls than recorded: hvp answers (HVP_REPLAY_NATIVE) */
    const idma *q = &j->dma[d][j->cur[d]++];
    req->action = q->action;
    req->status = q->status;
    req->granted = q->granted;
    if (q->action == HVP_REPLAY_EXECUTE) {
        req->nsg = q->nsg;
        memcpy(req->sg, j->sg + q->sg_first, (size_t)q->nsg * sizeof *req->sg);
    }
}

static uint32_t hook_read(void *ctx, uint32_t bar_off, uint32_t width)
{
    rerun *u = ctx;
    inject *j = &u->p->inj;
    (void)width;
    uint32_t reg = bar_off >> 2;
    if (reg >= INJ_REGS || !j->rd_cur[reg])
        return 0xFFFFFFFFu; /* no recorded value left: what an absent device reads */
    uint32_t k = j->rd_cur[reg] - 1;
    j->rd_cur[reg] = j->rd_next[k];
    return j->rd_val[k];
}

static void hook_write(void *ctx, uint32_t bar_off, uint32_t width, uint32_t value)
{
    rerun *u = ctx;
    inject *j = &u->p->inj;
    (void)bar_off;
    (void)width;
    (void)value;
    j->writes++;
    while (j->irq_cur < j->nirq && j->irq_w[j->irq_cur] <= j->writes) {
        j->irq_cur++;
        hvp_replay_raise_interrupt(u->m); /* pending; delivered at the next delivery point */
    }
}

static int drain_all(rerun *u, dmt_error *err)
{
    for (;;) {
        int rc = dmt_drain_poll(u->drain, dmt_now_ns(), 0, err);
        if (rc < 0)
            return rc;
        if (rc != DMT_DRAIN_BUSY)
            return 0;
    }
}

static int rerun_fail(dmt_error *err, const char *msg)
{
    return dmt_error_set(err, DMT_E_INTERNAL, DMT_NO_INDEX, DMT_NO_INDEX, "driver mode: %s", msg);
}

static int run_workload(rerun *u, rpl_driver_entry entry, const char *out, dmt_error *err)
{
    plan *p = u->p;
    hvp_config hc;
    hvp_config_default(&hc);
    hc.deterministic = true;
    hc.real_clock = false;
    hc.va_base = VA_BASE;
    hc.seed = p->hdr.seed ? p->hdr.seed : 1;
    if (!p->inject_mode) { /* injection: the SG lists come from the trace */
        hc.frame_fn = frame_cb;
        hc.frame_ctx = u;
    }
    /* the placement and contiguity the session ran with (pages the trace
     * does not show come from hvp's allocator): from the header's layout
     * keys, or, for traces older than them, what dmatrace capture used for
     * the scenario */
    enum hvp_placement place;
    if (p->hdr.has_layout && hvp_placement_parse(p->hdr.placement, &place)) {
        hc.placement = place;
        hc.contig_permille = p->hdr.contig_permille <= 1000 ? p->hdr.contig_permille : 1000;
        /* header values are input: only plausible ones replace the defaults */
        if (p->hdr.map_register_cap && p->hdr.map_register_cap <= 65536)
            hc.map_register_cap = p->hdr.map_register_cap;
        if (p->hdr.ram_low_top >= (16u << 20) && p->hdr.ram_low_top <= (1ull << 32))
            hc.ram_low_top = p->hdr.ram_low_top & ~0xFFFull;
        if (p->hdr.ram_high_top > (1ull << 32) && p->hdr.ram_high_top <= (1ull << 40))
            hc.ram_high_size = (p->hdr.ram_high_top - (1ull << 32)) & ~0xFFFull;
    } else if (!strncmp(p->hdr.scenario, "dma32-highmem", 13)) {
        hc.placement = HVP_PLACE_ABOVE_4G;
        hc.contig_permille = 400;
    } else if (!strncmp(p->hdr.scenario, "no-sg", 5)) {
        hc.placement = HVP_PLACE_BELOW_4G;
        hc.contig_permille = 200;
    } else if (!strncmp(p->hdr.scenario, "burst", 5)) {
        hc.contig_permille = 500;
    } else {
        hc.contig_permille = 300;
    }
    if (p->max_nmr > hc.map_register_cap)
        hc.map_register_cap = p->max_nmr;
    u->m = hvp_machine_new(&hc, &p->dev);
    if (!u->m)
        return rerun_fail(err, "the host VideoPort refused the recorded configuration");
    if (p->inject_mode) {
        inject *j = &p->inj;
        memcpy(j->rd_cur, j->rd_head, sizeof j->rd_cur);
        j->writes = 0;
        j->irq_cur = 0;
        j->cur[0] = j->cur[1] = 0;
        hvp_replay_hooks hk = {.start_dma = hook_dma,
                               .reg_read = hook_read,
                               .reg_write = hook_write,
                               .replace_device = true,
                               .ctx = u};
        if (hvp_replay_install(u->m, &hk) != HVP_OK)
            return rerun_fail(err, "cannot install the replay backend in the host VideoPort");
    }

    u->region_len = DMT_RING_HDR_SIZE + RING_DATA;
    u->region =
        mmap(NULL, u->region_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (u->region == MAP_FAILED) {
        u->region = NULL;
        return rerun_fail(err, "no memory for the probe ring");
    }
    if (dmt_ring_init(u->region, u->region_len, DMT_RING_DROP_NEWEST) != 0 ||
        dmt_ring_attach(&u->ring, u->region, u->region_len) != 0)
        return rerun_fail(err, "cannot format the probe ring");
    dmt_header h;
    memset(&h, 0, sizeof h);
    snprintf(h.producer, sizeof h.producer, "dmatrace replay --driver");
    snprintf(h.clock, sizeof h.clock, "deterministic");
    snprintf(h.host, sizeof h.host, "replay");
    memcpy(h.scenario, p->hdr.scenario, sizeof h.scenario); /* same size, NUL-terminated */
    h.scenario[sizeof h.scenario - 1] = 0;
    h.seed = p->hdr.seed;
    int rc = dmt_writer_open(out, &h, 0, &u->w, err);
    if (rc < 0)
        return rc;
    u->drain = dmt_drain_new(&u->ring, u->w, 1000000000ull);
    if (!u->drain)
        return rerun_fail(err, "cannot start the drain");

    dmtp_reset();
    if (dmtp_attach(u->region, u->region_len) != 0)
        return rerun_fail(err, "the probe cannot attach to its ring");
    if (dmtp_hvp_load(u->m, (hvp_driver_entry_fn)entry) != HVP_OK)
        return rerun_fail(err, "the miniport failed to load on the host VideoPort");
    if ((rc = drain_all(u, err)) < 0)
        return rc;
    if (p->configure) {
        DMTMINI_CONFIG cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.version = DMTMINI_IOCTL_VERSION;
        for (unsigned c = 0; c < 2; c++) {
            cfg.ch[c].scatter_gather = p->ch_desc[c].sg;
            cfg.ch[c].dma32 = p->ch_desc[c].dma32;
            cfg.ch[c].dma64 = p->ch_desc[c].dma64;
            cfg.ch[c].maximum_length = (uint32_t)p->ch_desc[c].max_length;
        }
        uint32_t ret = 0;
        hvp_ioctl(u->m, IOCTL_DMTMINI_CONFIGURE, &cfg, sizeof cfg, NULL, 0, &ret);
        if ((rc = drain_all(u, err)) < 0)
            return rc;
    }
    /* host buffers: one area per channel (a channel runs one transfer at a
     * time), as large as its largest transfer */
    for (uint32_t i = 0; i < p->nx; i++) {
        const dxfer *x = &p->x[i];
        if (x->ch < 0)
            continue;
        size_t need = (size_t)(x->va & 0xFFF) + (size_t)x->length;
        if (need > u->area_len[x->ch])
            u->area_len[x->ch] = need;
    }
    for (unsigned c = 0; c < 2; c++) {
        if (!u->area_len[c])
            continue;
        if (u->area_len[c] > p->o->mem_limit)
            return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "driver mode: a recorded buffer of %zu bytes exceeds the replay "
                                 "memory limit (--mem-limit)",
                                 u->area_len[c]);
        u->area_len[c] = (u->area_len[c] + 4095) & ~(size_t)4095;
        u->area[c] =
            mmap(NULL, u->area_len[c], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (u->area[c] == MAP_FAILED) {
            u->area[c] = NULL;
            return rerun_fail(err, "no memory for the transfer buffers");
        }
    }
    for (uint32_t k = 0; k < p->nops; k++) {
        const op *o = &p->ops[k];
        const dxfer *x = &p->x[o->x];
        if (x->ch < 0)
            continue; /* never started: its channel is unknown */
        uint32_t ret = 0;
        DMTMINI_TRANSFER_OUT out_;
        if (o->wait) {
            DMTMINI_WAIT_IN in;
            memset(&in, 0, sizeof in);
            in.channel = (uint32_t)x->ch;
            hvp_ioctl(u->m, IOCTL_DMTMINI_WAIT, &in, sizeof in, &out_, sizeof out_, &ret);
        } else {
            uint8_t *buf = u->area[x->ch] + (x->va & 0xFFF);
            if (x->pattern)
                dmt_pattern_fill(buf, x->seed, 0, (size_t)x->length);
            else
                memset(buf, 0, (size_t)x->length);
            DMTMINI_TRANSFER_IN in;
            memset(&in, 0, sizeof in);
            in.channel = (uint32_t)x->ch;
            in.flags =
                (x->async ? DMTMINI_XFER_ASYNC : 0) | (x->pattern ? DMTMINI_XFER_PATTERN : 0);
            in.buffer = (uint64_t)(uintptr_t)buf;
            in.length = (uint32_t)x->length;
            in.dev_offset = x->dev_off;
            in.pattern_seed = x->seed;
            hvp_ioctl(u->m, IOCTL_DMTMINI_TRANSFER, &in, sizeof in, &out_,
                      x->async ? 0 : sizeof out_, &ret);
            u->locks++;
        }
        hvp_wait_idle(u->m, 0);
        if ((rc = drain_all(u, err)) < 0)
            return rc;
    }
    hvp_wait_idle(u->m, 0);
    dmtp_detach();
    dmt_ring_close(&u->ring);
    for (;;) {
        rc = dmt_drain_poll(u->drain, dmt_now_ns(), 0, err);
        if (rc < 0)
            return rc;
        if (rc == DMT_DRAIN_DONE || rc == DMT_DRAIN_IDLE)
            break;
    }
    rc = dmt_writer_close(u->w, err);
    u->w = NULL;
    return rc;
}

static void rerun_free(rerun *u)
{
    if (dmtp_attached())
        dmtp_detach();
    if (u->m)
        hvp_machine_free(u->m);
    dmtp_reset();
    if (u->drain)
        dmt_drain_free(u->drain);
    if (u->w)
        dmt_writer_abort(u->w);
    if (u->region)
        munmap(u->region, u->region_len);
    for (unsigned c = 0; c < 2; c++)
        if (u->area[c])
            munmap(u->area[c], u->area_len[c]);
}

/* ---- the re-run trace in memory ----------------------------------------------------- */

typedef struct rerun_trace {
    dmt_record *r;
    size_t n, cap;
    links L;
    uint32_t *idx[NSTREAM]; /* record indices per stream */
    size_t nidx[NSTREAM];
} rerun_trace;

static void rt_free(rerun_trace *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free((void *)t->r[i].sg_list);
        free((void *)t->r[i].values);
        free((void *)t->r[i].bytes);
    }
    free(t->r);
    for (unsigned s = 0; s < NSTREAM; s++)
        free(t->idx[s]);
    links_free(&t->L);
}

/* Injection mode: the data of a from-device transfer is the device's, which
 * the backend does not stand for, so its DIGEST is not the driver's doing. */
static bool left_out(bool inject_mode, const dmt_record *r, int stream)
{
    return inject_mode && r->kind == DMT_K_DIGEST && stream == ST_CH1;
}

static int rt_load(rerun_trace *t, const char *path, bool inject_mode, dmt_error *err)
{
    memset(t, 0, sizeof *t);
    if (!links_init(&t->L))
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    dmt_reader *rd;
    int rc = dmt_reader_open(path, DMT_READ_ALLOW_CUT, &rd, err);
    if (rc < 0)
        return rc;
    dmt_record r;
    while ((rc = dmt_reader_next(rd, &r, err)) == 1) {
        if (t->n == MAX_RERUN_REC) {
            rc = dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                               "driver mode: the re-run produced too many records");
            break;
        }
        if (t->n == t->cap) {
            size_t nc = t->cap ? t->cap * 2 : 4096;
            dmt_record *q = realloc(t->r, nc * sizeof *q);
            if (!q) {
                rc = DMT_E_NOMEM;
                break;
            }
            t->r = q;
            t->cap = nc;
        }
        /* own copies of the variable parts */
        dmt_sg_elem *sg = NULL;
        if (r.n_sg) {
            size_t stride = r.sg_stride ? r.sg_stride : sizeof(dmt_sg_elem);
            sg = malloc(r.n_sg * sizeof *sg);
            for (uint32_t i = 0; sg && i < r.n_sg; i++) {
                memcpy(&sg[i].addr, (const uint8_t *)r.sg_list + i * stride, 8);
                memcpy(&sg[i].len, (const uint8_t *)r.sg_list + i * stride + 8, 4);
            }
        }
        uint64_t *vals = r.n_values ? malloc(r.n_values * sizeof *vals) : NULL;
        if (vals)
            memcpy(vals, r.values, r.n_values * sizeof *vals);
        uint8_t *bytes = r.n_bytes ? malloc(r.n_bytes) : NULL;
        if (bytes)
            memcpy(bytes, r.bytes, r.n_bytes);
        r.sg_list = sg;
        r.sg_stride = sizeof(dmt_sg_elem);
        r.values = vals;
        r.bytes = bytes;
        if ((r.n_sg && !sg) || (r.n_values && !vals) || (r.n_bytes && !bytes)) {
            free(sg);
            free(vals);
            free(bytes);
            rc = DMT_E_NOMEM;
            break;
        }
        links_add(&t->L, &r, t->n);
        t->r[t->n++] = r;
    }
    dmt_reader_close(rd);
    if (rc < 0)
        return rc == DMT_E_NOMEM
                   ? dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory")
                   : rc;
    for (unsigned s = 0; s < NSTREAM; s++) {
        t->idx[s] = malloc((t->n ? t->n : 1) * sizeof *t->idx[s]);
        if (!t->idx[s])
            return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    for (size_t i = 0; i < t->n; i++) {
        int s = stream_of(&t->L, &t->r[i], i);
        if (s < NSTREAM && !left_out(inject_mode, &t->r[i], s))
            t->idx[s][t->nidx[s]++] = (uint32_t)i;
    }
    return 0;
}

/* ---- comparing two records ---------------------------------------------------------- */

static bool sg_equal(const dmt_record *a, const dmt_record *b)
{
    if (a->n_sg != b->n_sg)
        return false;
    size_t sa = a->sg_stride ? a->sg_stride : sizeof(dmt_sg_elem);
    size_t sb = b->sg_stride ? b->sg_stride : sizeof(dmt_sg_elem);
    for (uint32_t i = 0; i < a->n_sg; i++) {
        uint64_t x, y;
        uint32_t l, m;
        memcpy(&x, (const uint8_t *)a->sg_list + i * sa, 8);
        memcpy(&l, (const uint8_t *)a->sg_list + i * sa + 8, 4);
        memcpy(&y, (const uint8_t *)b->sg_list + i * sb, 8);
        memcpy(&m, (const uint8_t *)b->sg_list + i * sb + 8, 4);
        if (x != y || l != m)
            return false;
    }
    return true;
}

/* The first field in which a (recorded) and b (re-run) differ, or NULL. */
static const char *record_diff(const dmt_record *a, const dmt_record *b)
{
    if (a->kind != b->kind)
        return "the record kind";
    switch (a->kind) {
    case DMT_K_REG_WRITE:
    case DMT_K_REG_READ:
        if (a->off != b->off)
            return "the register";
        if ((a->width ? a->width : 4) != (b->width ? b->width : 4))
            return "the width";
        return a->value != b->value ? "the value" : NULL;
    case DMT_K_REG_WRITE_BUF:
    case DMT_K_REG_READ_BUF:
        if (a->off != b->off)
            return "the register";
        if (a->n_values != b->n_values)
            return "the count";
        return memcmp(a->values, b->values, a->n_values * sizeof *a->values) ? "the values" : NULL;
    case DMT_K_EXECUTE_DMA:
        if (a->length != b->length)
            return "the granted length";
        return sg_equal(a, b) ? NULL : "the SG list";
    case DMT_K_START_DMA:
        if (a->write_to_device != b->write_to_device)
            return "the direction";
        if (a->offset != b->offset)
            return "the offset";
        return a->length != b->length ? "the requested length" : NULL;
    case DMT_K_START_DMA_END:
        if (a->status != b->status)
            return "the status";
        return a->length != b->length ? "the final length" : NULL;
    case DMT_K_COMPLETE_DMA:
        if (a->write_to_device != b->write_to_device)
            return "the direction";
        return a->status != b->status ? "the status" : NULL;
    case DMT_K_ADAPTER_CREATE:
        if (a->sg != b->sg || a->dma32 != b->dma32 || a->dma64 != b->dma64 ||
            a->length != b->length)
            return "the device description";
        return a->map_registers != b->map_registers || a->addr_limit != b->addr_limit
                   ? "the granted map registers or address limit"
                   : NULL;
    case DMT_K_BUFFER_LOCK:
        if (a->length != b->length)
            return "the length";
        if (a->op != b->op)
            return "the operation";
        return (a->va & 0xFFF) != (b->va & 0xFFF) ? "the page offset" : NULL;
    case DMT_K_COMMON_ALLOC:
        if (a->length != b->length)
            return "the length";
        if (a->cached != b->cached)
            return "the caching";
        return a->addr != b->addr ? "the logical address" : NULL;
    case DMT_K_DESC_WRITE:
        if (a->offset != b->offset)
            return "the offset";
        if (a->n_bytes != b->n_bytes)
            return "the number of bytes";
        return memcmp(a->bytes, b->bytes, a->n_bytes) ? "the descriptor bytes" : NULL;
    case DMT_K_INTERRUPT:
        if (a->claimed != b->claimed)
            return "claimed";
        return a->value != b->value ? "the status the ISR saw" : NULL;
    case DMT_K_DIGEST:
        if (a->length != b->length)
            return "the length";
        return a->value != b->value ? "the digest" : NULL;
    case DMT_K_PATTERN:
        if (a->value != b->value)
            return "the seed";
        return a->offset != b->offset || a->length != b->length ? "the range" : NULL;
    case DMT_K_PAYLOAD:
        if (a->offset != b->offset || a->n_bytes != b->n_bytes)
            return "the range";
        return memcmp(a->bytes, b->bytes, a->n_bytes) ? "the bytes" : NULL;
    case DMT_K_DEVICE_MAP:
        return a->addr != b->addr || a->length != b->length ? "the range" : NULL;
    default:
        return NULL; /* DPC, releases, unlock: no fields that must agree */
    }
}

/* Where the descriptor bytes first differ, for the report. */
static void desc_detail(char *buf, size_t cap, const dmt_record *a, const dmt_record *b,
                        uint32_t revision)
{
    size_t dsz = dmm_desc_size(revision);
    uint32_t n = a->n_bytes < b->n_bytes ? a->n_bytes : b->n_bytes;
    uint32_t i = 0;
    while (i < n && a->bytes[i] == b->bytes[i])
        i++;
    if (!dsz || i >= n) {
        snprintf(buf, cap, "the descriptor bytes differ at byte %u", i);
        return;
    }
    uint32_t di = i / (uint32_t)dsz;
    dmm_desc da, db;
    dmm_desc_decode(revision, a->bytes + (size_t)di * dsz, &da);
    dmm_desc_decode(revision, b->bytes + (size_t)di * dsz, &db);
    snprintf(buf, cap,
             "descriptor %u, byte %u: recorded host 0x%" PRIx64 "+0x%x dev 0x%" PRIx64
             " magic %s; re-run host 0x%" PRIx64 "+0x%x dev 0x%" PRIx64 " magic %s",
             di, i % (uint32_t)dsz, da.host_addr, da.len, da.dev_off, da.magic_ok ? "ok" : "bad",
             db.host_addr, db.len, db.dev_off, db.magic_ok ? "ok" : "bad");
}

/* ---- pass 2: compare ------------------------------------------------------------------ */

static int compare(const char *path, plan *p, rerun_trace *t, rpl_replay *e, dmt_error *err)
{
    bool strict = p->o->order == RPL_ORDER_STRICT ||
                  (p->o->order == RPL_ORDER_AUTO && !strcmp(p->hdr.clock, "deterministic"));
    bool on[NSTREAM] = {true, true, true, true, true, strict};
    size_t cur[NSTREAM] = {0};
    if (!strict)
        rpl__limit(e, RPL_LIMIT_REORDER, 0,
                   "the recorded trace is from several CPUs (its clock is not deterministic): "
                   "interrupt-level records (IRQ_STATUS, interrupts, DPCs) are not compared, "
                   "only each channel's and the setup's records");
    rpl_source *src;
    int rc = rpl_source_open(path, &src, err);
    if (rc < 0)
        return rc;
    /* the recorded links were learnt in pass 1 */
    links *L = &p->L;
    dmt_record r;
    uint64_t index = 0;
    char exp[RPL_TEXT], act[RPL_TEXT], subj[RPL_TEXT], det[RPL_TEXT];
    while ((rc = rpl_source_next(src, &r, err)) == 1 && !rpl__stopped(e)) {
        if (r.kind == DMT_K_CHUNK || r.kind == DMT_K_END)
            continue;
        rpl__observe(e, &r);
        uint64_t i = index++;
        if (r.kind == DMT_K_LOST) {
            for (unsigned s = 0; s < NSTREAM; s++)
                on[s] = false;
            rpl__limit(e, RPL_LIMIT_LOST, i,
                       "records were lost here: the rest of the trace is not compared");
            continue;
        }
        int s = stream_of(L, &r, i);
        if (s >= NSTREAM || !on[s])
            continue;
        if (left_out(p->inject_mode, &r, s)) {
            p->inj.skipped_digests++;
            continue;
        }
        if (cur[s] >= t->nidx[s]) {
            dmt_record_describe(exp, sizeof exp, &r, 8);
            snprintf(subj, sizeof subj, "%s: %s", stream_names[s], dmt_kind_name(r.kind));
            rpl__diverge(e, RPL_DIV_DRIVER, false, subj, exp, "nothing more",
                         "the re-run driver's records of this stream ended here");
            on[s] = false;
            continue;
        }
        const dmt_record *q = &t->r[t->idx[s][cur[s]++]];
        const char *why = record_diff(&r, q);
        if (!why)
            continue;
        on[s] = false;
        dmt_record_describe(exp, sizeof exp, &r, 8);
        dmt_record_describe(act, sizeof act, q, 8);
        snprintf(subj, sizeof subj, "%s: %s", stream_names[s], dmt_kind_name(r.kind));
        if ((r.kind == DMT_K_EXECUTE_DMA || r.kind == DMT_K_START_DMA_END) && q->kind == r.kind) {
            /* an OS-side input the host VideoPort did not give again: the
             * trace is not what these pages and this configuration make */
            snprintf(det, sizeof det,
                     p->inject_mode
                         ? "%s differs: the recorded input did not reach the driver as recorded "
                           "(it asked for other transfers), so %s is not compared further"
                         : "%s differs: the recorded input could not be reproduced for the "
                           "driver, so %s is not compared further",
                     why, stream_names[s]);
            rpl__diverge(e, RPL_DIV_SG, false, subj, exp, act, det);
            continue;
        }
        if (r.kind == DMT_K_DESC_WRITE && q->kind == r.kind && r.n_bytes == q->n_bytes)
            desc_detail(det, sizeof det, &r, q, p->dev.revision);
        else
            snprintf(det, sizeof det, "%s differs (re-run record %" PRIu64 ")", why,
                     (uint64_t)t->idx[s][cur[s] - 1]);
        rpl__diverge(e, RPL_DIV_DRIVER, false, subj, exp, act, det);
    }
    rpl_source_close(src);
    if (rc < 0)
        return rc;
    if (p->inj.skipped_digests) {
        snprintf(det, sizeof det,
                 "%" PRIu64 " digests of from-device transfers not compared: injection mode "
                 "feeds the driver the recorded inputs, not the device's data",
                 p->inj.skipped_digests);
        rpl__limit(e, RPL_LIMIT_NO_CONTENT, 0, det);
    }
    for (unsigned s = 0; s < NSTREAM && !rpl__stopped(e); s++) {
        if (!on[s] || cur[s] >= t->nidx[s])
            continue;
        const dmt_record *q = &t->r[t->idx[s][cur[s]]];
        dmt_record_describe(act, sizeof act, q, 8);
        snprintf(subj, sizeof subj, "%s: the end of the trace", stream_names[s]);
        snprintf(det, sizeof det, "the re-run driver produced %zu more records in this stream",
                 t->nidx[s] - cur[s]);
        rpl__diverge(e, RPL_DIV_DRIVER, true, subj, "no more records", act, det);
    }
    return 0;
}

/* ---- entry points ---------------------------------------------------------------------- */

/* Was the trace made by our own host capture (dmatrace capture on hvp)?  Its
 * inputs are then reproducible from the seed and the scenario. */
static bool from_our_capture(const char *path)
{
    dmt_error e;
    dmt_error_clear(&e);
    rpl_source *src;
    if (rpl_source_open(path, &src, &e) < 0)
        return false;
    bool ours = !strncmp(rpl_source_header(src)->producer, "dmatrace capture", 16);
    rpl_source_close(src);
    return ours;
}

int rpl_driver_replay_with(const char *path, const rpl_opts *o, rpl_driver_entry entry,
                           const char *rerun_path, rpl_replay **out, dmt_error *err)
{
    return rpl_driver_replay_mode(path, o, RPL_DRIVER_AUTO, entry, rerun_path, NULL, out, err);
}

int rpl_driver_replay_mode(const char *path, const rpl_opts *o, int mode, rpl_driver_entry entry,
                           const char *rerun_path, int *mode_used, rpl_replay **out, dmt_error *err)
{
    if (!entry)
        entry = DriverEntry;
    if (mode == RPL_DRIVER_AUTO)
        mode = from_our_capture(path) ? RPL_DRIVER_REPRODUCE : RPL_DRIVER_INJECT;
    if (mode_used)
        *mode_used = mode;
    rpl_opts opts;
    if (o)
        opts = *o;
    else
        rpl_opts_default(&opts);
    if (!opts.mem_limit)
        opts.mem_limit = RPL_DEFAULT_MEM_LIMIT;
    *out = NULL;
    plan p;
    memset(&p, 0, sizeof p);
    p.o = &opts;
    p.inject_mode = mode == RPL_DRIVER_INJECT;
    dmm_config_default(&p.dev);
    int rc;
    if (!rpl_idmap_init(&p.mdl_x, 1u << 16) || !rpl_idmap_init(&p.xfer_info, 1u << 16) ||
        !rpl_idmap_init(&p.adapter_xfer, 4096) || !links_init(&p.L) ||
        !rpl_idmap_init(&p.inj.xfer_dma, 1u << 16)) {
        plan_free(&p);
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    rc = plan_read(&p, path, err);
    if (rc < 0) {
        plan_free(&p);
        return rc;
    }
    if (opts.set_revision)
        p.dev.revision = opts.revision;
    if (opts.set_errata)
        p.dev.errata = opts.errata;
    if (opts.set_addr_bits)
        p.dev.addr_bits = opts.addr_bits;
    if (opts.set_devmem)
        p.dev.devmem_size = opts.devmem_size;

    char tmp[512];
    const char *rp = rerun_path;
    if (!rp) {
        const char *dir = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/dmatrace-rerun-XXXXXX", dir && *dir ? dir : "/tmp");
        int fd = mkstemp(tmp);
        if (fd < 0) {
            plan_free(&p);
            return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "driver mode: cannot create a temporary file in %s",
                                 dir && *dir ? dir : "/tmp");
        }
        close(fd);
        rp = tmp;
    }
    rerun u;
    memset(&u, 0, sizeof u);
    u.p = &p;
    rc = run_workload(&u, entry, rp, err);
    rerun_free(&u);
    rerun_trace t;
    memset(&t, 0, sizeof t);
    if (rc == 0)
        rc = rt_load(&t, rp, p.inject_mode, err);
    if (!rerun_path)
        unlink(rp);
    if (rc == 0) {
        rpl_replay *e = rpl__new_passive(&opts, err);
        if (!e) {
            rc = DMT_E_NOMEM;
        } else {
            rpl_set_header(e, &p.hdr);
            *out = e;
            if (p.lost)
                rpl__limit(e, RPL_LIMIT_LOST, 0, "the recorded trace lost records");
            rc = compare(path, &p, &t, e, err);
        }
    }
    rt_free(&t);
    plan_free(&p);
    return rc < 0 ? rc : 0;
}

int rpl_driver_replay_file(const char *path, const rpl_opts *o, rpl_replay **out, dmt_error *err)
{
    return rpl_driver_replay_with(path, o, DriverEntry, NULL, out, err);
}

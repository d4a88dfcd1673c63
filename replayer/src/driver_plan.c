/*
 * driver_plan.c - pass 1 of driver-mode replay (driver.c): the recorded
 * session read into a plan - its transfers and the TRANSFER/WAIT IOCTLs
 * that produced them, the frames of their buffers, the configuration -
 * and, for injection, the recorded OS-side inputs (StartDma answers,
 * register read values, interrupt points); the records' streams.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/source.h"
#include "dmt/reader.h"
#include "driver_plan.h"

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

bool rpl__drv_links_init(links *L)
{
    L->first_lock = UINT64_MAX;
    return rpl_idmap_init(&L->mdl_ch, 1u << 20) && rpl_idmap_init(&L->xfer_ch, 1u << 20) &&
           rpl_idmap_init(&L->adapter_ch, 4096) && rpl_idmap_init(&L->cb_adapter, 4096);
}

void rpl__drv_links_free(links *L)
{
    rpl_idmap_free(&L->mdl_ch);
    rpl_idmap_free(&L->xfer_ch);
    rpl_idmap_free(&L->adapter_ch);
    rpl_idmap_free(&L->cb_adapter);
}

/* Learn what links records to channels from one record. */
void rpl__drv_links_add(links *L, const dmt_record *r, uint64_t index)
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

int rpl__drv_stream_of(const links *L, const dmt_record *r, uint64_t index)
{
    uint64_t v;
    switch (r->kind) {
    case DMT_K_MARKER:
    case DMT_K_CALIBRATION: /* the clock, not the driver (a re-run has none) */
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
        if (r->off >= DMM_CH_BASE(0) && r->off < DMM_CH_BASE(DMM_NUM_CHANNELS)) {
            const int c = (int)((r->off - DMM_CH_BASE(0)) / 0x40u);
            /* The ISR reads and clears a channel's STATUS: on several CPUs
             * those accesses fall anywhere among the DPC's records of the
             * channel (its CompleteDma, digest), so there they are a stream
             * of their own, in causal order (clear, start, ISR read).  In
             * a strict-order trace their place among the channel's records
             * is reproducible and checked (a CompleteDma before the
             * interrupt shows there). */
            if (L->split_status && r->off == DMM_CH_BASE(c) + DMM_CH_STATUS)
                return ST_STAT0 + c;
            return ST_CH0 + c;
        }
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
    bool *known = r->off == DMM_REG_ID            ? &p->cfg_rev
                  : r->off == DMM_REG_CAPS        ? &p->cfg_caps
                  : r->off == DMM_REG_DEVMEM_SIZE ? &p->cfg_devmem
                                                  : NULL;
    if (known && !*known && rpl__config_from_read((uint32_t)r->off, r->value, &p->dev))
        *known = true;
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
    rpl__drv_links_add(&p->L, r, index);
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
    case DMT_K_DIGEST:
        /* the re-run digests as the recording did (a DIGEST without a
         * policy is a full one) */
        if (p->digest_policy < 0 && r->digest_policy < DMT_DIGEST_POLICY_MAX_)
            p->digest_policy = (int)r->digest_policy;
        break;
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

void rpl__drv_plan_free(plan *p)
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
    if (p->xfer_info.slots)
        while ((v = rpl_idmap_next(&p->xfer_info, &pos, NULL)) != NULL)
            free(v);
    rpl_idmap_free(&p->mdl_x);
    rpl_idmap_free(&p->xfer_info);
    rpl_idmap_free(&p->adapter_xfer);
    rpl__drv_links_free(&p->L);
}

int rpl__drv_plan_read(plan *p, const char *path, dmt_error *err)
{
    dmt_source *src;
    int rc = dmt_source_open(path, 0, &src, err);
    if (rc < 0)
        return rc;
    p->hdr = *dmt_source_header(src);
    dmt_record r;
    uint64_t index = 0;
    while ((rc = dmt_source_next(src, &r, NULL, err)) == 1) {
        if (r.kind == DMT_K_CHUNK || r.kind == DMT_K_END)
            continue;
        if ((rc = plan_record(p, &r, index, err)) < 0)
            break;
        index++;
    }
    dmt_source_close(src);
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

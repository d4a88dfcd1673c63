/*
 * tktrace.c - the test kit's trace builder (see dmt/tktrace.h): sample
 * records of every kind, small sample-device sessions built record by
 * record, and writing them as a trace file.
 */
#include "dmt/tktrace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmm/map.h"
#include "dmt/writer.h"

void tk_header(dmt_header *h, const char *producer)
{
    memset(h, 0, sizeof *h);
    h->version = DMT_FORMAT_VERSION;
    h->page_shift = DMT_PAGE_SHIFT;
    snprintf(h->producer, sizeof h->producer, "%s", producer);
    snprintf(h->clock, sizeof h->clock, "deterministic");
}

/* ---- one record of each kind -------------------------------------------------- */

static dmt_sg_elem sample_sg[DMT_MAX_SG_ELEMENTS];
static uint64_t sample_values[DMT_MAX_VALUES];
static uint8_t sample_bytes[DMT_MAX_BYTES];
static char sample_text[DMT_MAX_TEXT];

void tk_sample_record(dmt_record *r, uint32_t k, int big, int64_t ts)
{
    const uint64_t U = big ? UINT64_MAX : 0x1234;
    const uint32_t U32 = big ? UINT32_MAX : 77;
    memset(r, 0, sizeof *r);
    r->kind = k;
    r->ts = ts;
    r->width = 4;
    switch (k) {
    case DMT_K_REG_WRITE:
    case DMT_K_REG_READ:
        r->off = U;
        r->value = big ? UINT64_MAX : 0xCAFE;
        r->width = big ? 8 : 4;
        r->dev = big ? U32 : 0;
        break;
    case DMT_K_REG_WRITE_BUF:
    case DMT_K_REG_READ_BUF:
        r->off = 0x100;
        r->n_values = big ? DMT_MAX_VALUES : 3;
        for (uint32_t i = 0; i < r->n_values; i++)
            sample_values[i] = big ? UINT64_MAX - i : i * 1000;
        r->values = sample_values;
        r->width = big ? 2 : 4;
        r->dev = big ? 9 : 0;
        break;
    case DMT_K_EXECUTE_DMA:
        r->xfer = U32;
        r->adapter = U32;
        r->length = U;
        r->n_sg = big ? DMT_MAX_SG_ELEMENTS : 3;
        for (uint32_t i = 0; i < r->n_sg; i++) {
            sample_sg[i].addr = big ? UINT64_MAX - i : 0x1000ull * (i + 1) + (i == 0 ? 0x10 : 0);
            sample_sg[i].len = big ? UINT32_MAX - i : (i == 0 ? 0xFF0 : 0x1000);
        }
        r->sg_list = sample_sg;
        /* the optional flags: absent (0) in the plain sample, every bit in
         * the big one (unknown bits travel unchanged) */
        r->xfer_flags = big ? UINT32_MAX : 0;
        break;
    case DMT_K_START_DMA:
        r->xfer = U32;
        r->adapter = U32;
        r->mdl = U32;
        r->offset = U;
        r->length = U;
        r->write_to_device = true;
        r->context = U;
        break;
    case DMT_K_START_DMA_END:
        r->xfer = U32;
        r->adapter = 2;
        r->status = U32;
        r->length = U;
        break;
    case DMT_K_COMPLETE_DMA:
        r->xfer = U32;
        r->adapter = U32;
        r->write_to_device = big;
        r->status = U32;
        break;
    case DMT_K_ADAPTER_CREATE:
        r->adapter = U32;
        r->dev = U32;
        r->sg = true;
        r->dma32 = big;
        r->dma64 = !big;
        r->length = U;
        r->map_registers = U32;
        r->addr_limit = U;
        break;
    case DMT_K_ADAPTER_RELEASE:
        r->adapter = U32;
        break;
    case DMT_K_BUFFER_LOCK:
        r->mdl = U32;
        r->va = U;
        r->length = U;
        r->op = DMT_LOCK_MODIFY;
        break;
    case DMT_K_BUFFER_UNLOCK:
        r->mdl = U32;
        break;
    case DMT_K_COMMON_ALLOC:
        r->cb = U32;
        r->adapter = U32;
        r->addr = U;
        r->length = U;
        r->cached = big;
        r->va = U;
        break;
    case DMT_K_COMMON_RELEASE:
        r->cb = U32;
        r->adapter = U32;
        break;
    case DMT_K_DESC_WRITE:
    case DMT_K_PAYLOAD:
        if (k == DMT_K_DESC_WRITE)
            r->cb = U32;
        else
            r->mdl = U32;
        r->offset = U;
        r->n_bytes = big ? DMT_MAX_BYTES : 32;
        for (uint32_t i = 0; i < r->n_bytes; i++)
            sample_bytes[i] = (uint8_t)(i * 7 + 1);
        r->bytes = sample_bytes;
        break;
    case DMT_K_INTERRUPT:
        r->dev = U32;
        r->claimed = true;
        r->value = U;
        break;
    case DMT_K_DPC:
        r->dev = U32;
        r->xfer = U32;
        break;
    case DMT_K_DIGEST:
        r->xfer = U32;
        r->algo = DMT_DIGEST_DMT64;
        r->length = U;
        r->value = U;
        break;
    case DMT_K_PATTERN:
        r->mdl = U32;
        r->algo = DMT_PATTERN_XS64;
        r->value = U;
        r->offset = U;
        r->length = U;
        break;
    case DMT_K_DEVICE_MAP:
        r->dev = U32;
        r->addr = U;
        r->length = U;
        r->va = U;
        break;
    case DMT_K_CALIBRATION:
        r->tsc = U;
        r->counter = U;
        r->counter_hz = big ? UINT64_MAX : 1000000000u;
        r->mult = U32;
        r->shift = big ? 32 : 31;
        r->err_ns = U;
        break;
    case DMT_K_MARKER:
        r->n_bytes = big ? DMT_MAX_TEXT : 5;
        for (uint32_t i = 0; i < r->n_bytes; i++)
            sample_text[i] = (char)('a' + i % 26);
        r->bytes = (const uint8_t *)sample_text;
        break;
    default:
        break;
    }
}

static const uint8_t *sg_elem_at(const dmt_record *r, uint32_t i)
{
    size_t stride = r->sg_stride ? r->sg_stride : sizeof(dmt_sg_elem);
    return (const uint8_t *)r->sg_list + i * stride;
}

bool tk_records_equal(const dmt_record *a, const dmt_record *b)
{
    if (a->kind != b->kind || a->ts != b->ts)
        return false;
    if (a->dev != b->dev || a->adapter != b->adapter || a->xfer != b->xfer || a->mdl != b->mdl ||
        a->cb != b->cb || a->op != b->op || a->algo != b->algo || a->reason != b->reason ||
        a->status != b->status || a->map_registers != b->map_registers ||
        a->xfer_flags != b->xfer_flags)
        return false;
    if (a->write_to_device != b->write_to_device || a->sg != b->sg || a->dma32 != b->dma32 ||
        a->dma64 != b->dma64 || a->claimed != b->claimed || a->cached != b->cached)
        return false;
    if (a->off != b->off || a->value != b->value || a->offset != b->offset ||
        a->length != b->length || a->count != b->count || a->addr != b->addr ||
        a->addr_limit != b->addr_limit || a->va != b->va || a->context != b->context)
        return false;
    if (a->tsc != b->tsc || a->counter != b->counter || a->counter_hz != b->counter_hz ||
        a->err_ns != b->err_ns || a->mult != b->mult || a->shift != b->shift)
        return false;
    if ((a->kind <= DMT_K_REG_READ_BUF) && a->width != b->width)
        return false;
    if (a->n_sg != b->n_sg || a->n_values != b->n_values || a->n_bytes != b->n_bytes)
        return false;
    for (uint32_t i = 0; i < a->n_sg; i++) {
        const uint8_t *ea = sg_elem_at(a, i), *eb = sg_elem_at(b, i);
        if (memcmp(ea, eb, 8) != 0 || memcmp(ea + 8, eb + 8, 4) != 0)
            return false;
    }
    for (uint32_t i = 0; i < a->n_values; i++)
        if (a->values[i] != b->values[i])
            return false;
    return !a->n_bytes || memcmp(a->bytes, b->bytes, a->n_bytes) == 0;
}

/* ---- the session builder ------------------------------------------------------ */

#define SG_POOL   8192
#define BYTE_POOL 65536

dmt_record tk_rec[TK_MAX_RECORDS];
uint32_t tk_nrec;
static dmt_sg_elem sg_pool[SG_POOL];
static uint32_t sg_used;
static uint8_t byte_pool[BYTE_POOL];
static uint32_t byte_used;
static uint64_t next_seq;

static void full(const char *what)
{
    fprintf(stderr, "tktrace: the builder's %s is full\n", what);
    exit(2);
}

void tk_reset(void)
{
    tk_nrec = 0;
    sg_used = 0;
    byte_used = 0;
    next_seq = 0;
}

void tk_next_seq(uint64_t seq)
{
    next_seq = seq;
}

dmt_record *tk_add(uint32_t kind)
{
    if (tk_nrec >= TK_MAX_RECORDS)
        full("record array");
    dmt_record *r = &tk_rec[tk_nrec++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->ts = 1000000 + (int64_t)tk_nrec * 1000;
    r->seq = next_seq++;
    r->width = 4;
    r->cpu = DMT_CPU_NONE;
    return r;
}

void tk_lost(uint64_t count)
{
    dmt_record *r = tk_add(DMT_K_LOST);
    next_seq--; /* LOST takes no number of its own: it covers count */
    r->value = next_seq;
    r->count = count;
    next_seq += count;
}

static void reg(uint32_t kind, uint32_t dev, uint64_t off, uint64_t v)
{
    dmt_record *r = tk_add(kind);
    r->dev = dev;
    r->off = off;
    r->value = v;
}

void tk_rd(uint32_t dev, uint64_t off, uint64_t v)
{
    reg(DMT_K_REG_READ, dev, off, v);
}

void tk_wr(uint32_t dev, uint64_t off, uint64_t v)
{
    reg(DMT_K_REG_WRITE, dev, off, v);
}

void tk_dev(uint32_t dev, uint32_t bits)
{
    dmt_record *r = tk_add(DMT_K_DEVICE_MAP);
    r->dev = dev;
    r->addr = 0xFE000000;
    r->length = DMM_BAR_SIZE;
    tk_rd(dev, DMM_REG_ID, DMM_ID_MAGIC | 1u);
    tk_rd(dev, DMM_REG_CAPS, DMM_NUM_CHANNELS | bits << 8 | DMM_DESC1_SIZE << 16);
}

void tk_adapter(uint32_t id, uint32_t dev, bool sg, uint64_t maxlen, uint32_t nmr, uint64_t limit)
{
    dmt_record *r = tk_add(DMT_K_ADAPTER_CREATE);
    r->adapter = id;
    r->dev = dev;
    r->sg = sg;
    r->dma64 = limit == UINT64_MAX;
    r->dma32 = !r->dma64;
    r->length = maxlen;
    r->map_registers = nmr;
    r->addr_limit = limit;
}

void tk_put(uint32_t id)
{
    tk_add(DMT_K_ADAPTER_RELEASE)->adapter = id;
}

void tk_cb(uint32_t id, uint32_t adapter, uint64_t addr, uint64_t len)
{
    dmt_record *r = tk_add(DMT_K_COMMON_ALLOC);
    r->cb = id;
    r->adapter = adapter;
    r->addr = addr;
    r->length = len;
    r->va = 0xFFFF800000000000ull + addr;
}

void tk_cb_release(uint32_t id, uint32_t adapter)
{
    dmt_record *r = tk_add(DMT_K_COMMON_RELEASE);
    r->cb = id;
    r->adapter = adapter;
}

void tk_lock(uint32_t mdl, uint64_t va, uint64_t len, uint32_t op)
{
    dmt_record *r = tk_add(DMT_K_BUFFER_LOCK);
    r->mdl = mdl;
    r->va = va;
    r->length = len;
    r->op = op;
}

void tk_unlock(uint32_t mdl)
{
    tk_add(DMT_K_BUFFER_UNLOCK)->mdl = mdl;
}

void tk_start(uint32_t xfer, uint32_t adapter, uint32_t mdl, uint64_t off, uint64_t len, bool wtd)
{
    dmt_record *r = tk_add(DMT_K_START_DMA);
    r->xfer = xfer;
    r->adapter = adapter;
    r->mdl = mdl;
    r->offset = off;
    r->length = len;
    r->write_to_device = wtd;
}

void tk_exec(uint32_t xfer, uint32_t adapter, uint64_t granted, uint32_t n, const dmt_sg_elem *sg)
{
    if (n > SG_POOL - sg_used)
        full("SG pool");
    dmt_sg_elem *copy = &sg_pool[sg_used];
    memcpy(copy, sg, n * sizeof *sg);
    sg_used += n;
    dmt_record *r = tk_add(DMT_K_EXECUTE_DMA);
    r->xfer = xfer;
    r->adapter = adapter;
    r->length = granted;
    r->n_sg = n;
    r->sg_list = copy;
}

void tk_start_end(uint32_t xfer, uint32_t adapter, uint32_t status, uint64_t len)
{
    dmt_record *r = tk_add(DMT_K_START_DMA_END);
    r->xfer = xfer;
    r->adapter = adapter;
    r->status = status;
    r->length = len;
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void tk_desc(uint32_t cb, uint64_t off, uint32_t n, const dmt_sg_elem *d, int bad)
{
    if (n > (BYTE_POOL - byte_used) / DMM_DESC1_SIZE)
        full("byte pool");
    uint8_t *p = &byte_pool[byte_used];
    uint64_t dev = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *q = p + i * DMM_DESC1_SIZE;
        uint32_t magic = (int)i == bad ? 0xBAD0u : DMM_DESC1_MAGIC;
        put_le(q + DMM_DESC1_CTL, (uint64_t)magic << DMM_DESC1_MAGIC_SHIFT, 4);
        put_le(q + DMM_DESC1_LEN, d[i].len, 4);
        put_le(q + DMM_DESC1_HOST, d[i].addr, 8);
        put_le(q + DMM_DESC1_DEV, dev, 8);
        put_le(q + DMM_DESC1_RESERVED, 0, 8);
        dev += d[i].len;
    }
    byte_used += n * DMM_DESC1_SIZE;
    dmt_record *r = tk_add(DMT_K_DESC_WRITE);
    r->cb = cb;
    r->offset = off;
    r->n_bytes = n * DMM_DESC1_SIZE;
    r->bytes = p;
}

void tk_ring(uint32_t dev, uint32_t ch, uint64_t ring, uint32_t count)
{
    uint32_t base = DMM_CH_BASE(ch);
    tk_wr(dev, base + DMM_CH_DESC_LO, (uint32_t)ring);
    tk_wr(dev, base + DMM_CH_DESC_HI, (uint32_t)(ring >> 32));
    tk_wr(dev, base + DMM_CH_DESC_COUNT, count);
    tk_wr(dev, base + DMM_CH_CTRL, DMM_CTRL_RUN);
}

void tk_irq(uint32_t dev, uint32_t ch, uint32_t xfer)
{
    tk_rd(dev, DMM_REG_IRQ_STATUS, DMM_IRQ_DONE(ch));
    tk_wr(dev, DMM_REG_IRQ_STATUS, DMM_IRQ_DONE(ch));
    dmt_record *r = tk_add(DMT_K_INTERRUPT);
    r->dev = dev;
    r->claimed = true;
    r->value = DMM_IRQ_DONE(ch);
    r = tk_add(DMT_K_DPC);
    r->dev = dev;
    r->xfer = xfer;
}

void tk_complete(uint32_t xfer, uint32_t adapter, bool wtd)
{
    dmt_record *r = tk_add(DMT_K_COMPLETE_DMA);
    r->xfer = xfer;
    r->adapter = adapter;
    r->write_to_device = wtd;
}

void tk_chunk(uint32_t xfer, uint32_t adapter, uint32_t mdl, uint32_t cb, uint64_t cb_addr,
              uint32_t dev, uint32_t ch, uint64_t off, uint32_t n, const dmt_sg_elem *sg, bool wtd)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += sg[i].len;
    tk_start(xfer, adapter, mdl, off, total, wtd);
    tk_exec(xfer, adapter, total, n, sg);
    tk_desc(cb, 0, n, sg, -1);
    tk_ring(dev, ch, cb_addr, n);
    tk_start_end(xfer, adapter, 0, total);
    tk_irq(dev, ch, xfer);
    tk_complete(xfer, adapter, wtd);
}

void tk_setup(uint32_t bits, bool sg, uint64_t maxlen, uint32_t nmr, uint64_t limit)
{
    tk_dev(1, bits);
    tk_adapter(1, 1, sg, maxlen, nmr, limit);
    tk_cb(1, 1, TK_RING0, 0x1000);
    tk_adapter(2, 1, sg, maxlen, nmr, limit);
    tk_cb(2, 2, TK_RING1, 0x1000);
}

void tk_teardown(void)
{
    tk_cb_release(1, 1);
    tk_put(1);
    tk_cb_release(2, 2);
    tk_put(2);
}

void tk_begin(uint64_t length, uint32_t op)
{
    tk_reset();
    tk_setup(64, true, 1 << 20, 257, UINT64_MAX);
    tk_lock(1, 0x7f0000000000, length, op);
}

void tk_end_trace(void)
{
    tk_unlock(1);
    tk_teardown();
}

int tk_write_trace(const char *path, const char *producer)
{
    dmt_header h;
    tk_header(&h, producer);
    dmt_writer *w;
    dmt_error err;
    if (dmt_writer_open(path, &h, DMT_WRITE_KEEP_CPU, &w, &err) != 0)
        return -1;
    for (uint32_t i = 0; i < tk_nrec; i++) {
        const dmt_record *r = &tk_rec[i];
        int rc = r->kind == DMT_K_LOST ? dmt_writer_lost(w, r->value, r->count, 0, &err)
                                       : dmt_writer_append(w, r, &err);
        if (rc != 0) {
            dmt_writer_abort(w);
            return -1;
        }
    }
    return dmt_writer_close(w, &err);
}

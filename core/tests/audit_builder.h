/*
 * audit_builder.h - test helpers: build small traces record by record (a
 * dmm device, adapters, common buffers, locked buffers, whole transfers with
 * their descriptors, doorbell and interrupt) in a static array, and write
 * them to a trace file.  Shared by test_audit.c and test_export.c.
 */
#ifndef DMT_TEST_AUDIT_BUILDER_H
#define DMT_TEST_AUDIT_BUILDER_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/record.h"
#include "dmt/writer.h"

/* ---- a tiny trace builder ------------------------------------------------------ */

#define T_MAX      512
#define T_SGPOOL   8192
#define T_BYTEPOOL 65536

static dmt_record T[T_MAX];
static uint32_t TN;
static dmt_sg_elem sgpool[T_SGPOOL];
static uint32_t sgused;
static uint8_t bytepool[T_BYTEPOOL];
static uint32_t byteused;
static uint64_t tseq;

static inline void t_reset(void)
{
    TN = 0;
    sgused = 0;
    byteused = 0;
    tseq = 0;
}

static inline dmt_record *t_add(uint32_t kind)
{
    if (TN >= T_MAX) {
        fprintf(stderr, "trace builder full\n");
        exit(2);
    }
    dmt_record *r = &T[TN++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->ts = 1000000 + (int64_t)TN * 1000;
    r->seq = tseq++;
    r->width = 4;
    return r;
}

static inline void t_lost(uint64_t count)
{
    dmt_record *r = t_add(DMT_K_LOST);
    tseq--; /* LOST takes no number of its own: it covers count */
    r->value = tseq;
    r->count = count;
    tseq += count;
}

static inline void t_rd(uint32_t dev, uint64_t off, uint64_t v)
{
    dmt_record *r = t_add(DMT_K_REG_READ);
    r->dev = dev;
    r->off = off;
    r->value = v;
}

static inline void t_wr(uint32_t dev, uint64_t off, uint64_t v)
{
    dmt_record *r = t_add(DMT_K_REG_WRITE);
    r->dev = dev;
    r->off = off;
    r->value = v;
}

/* A dmm device: ID (revision 1) and CAPS (address bits) read by the driver. */
static inline void t_dev(uint32_t dev, uint32_t bits)
{
    dmt_record *r = t_add(DMT_K_DEVICE_MAP);
    r->dev = dev;
    r->addr = 0xFE000000;
    r->length = 0x1000;
    t_rd(dev, 0x000, 0x444D4101);
    t_rd(dev, 0x004, 2u | bits << 8 | 32u << 16);
}

static inline void t_adapter(uint32_t id, uint32_t dev, bool sg, uint64_t maxlen, uint32_t nmr,
                             uint64_t limit)
{
    dmt_record *r = t_add(DMT_K_ADAPTER_CREATE);
    r->adapter = id;
    r->dev = dev;
    r->sg = sg;
    r->dma64 = limit == UINT64_MAX;
    r->dma32 = !r->dma64;
    r->length = maxlen;
    r->map_registers = nmr;
    r->addr_limit = limit;
}

static inline void t_put(uint32_t id)
{
    t_add(DMT_K_ADAPTER_RELEASE)->adapter = id;
}

static inline void t_cb(uint32_t id, uint32_t adapter, uint64_t addr, uint64_t len)
{
    dmt_record *r = t_add(DMT_K_COMMON_ALLOC);
    r->cb = id;
    r->adapter = adapter;
    r->addr = addr;
    r->length = len;
    r->va = 0xFFFF800000000000ull + addr;
}

static inline void t_cb_release(uint32_t id, uint32_t adapter)
{
    dmt_record *r = t_add(DMT_K_COMMON_RELEASE);
    r->cb = id;
    r->adapter = adapter;
}

static inline void t_lock(uint32_t mdl, uint64_t va, uint64_t len, uint32_t op)
{
    dmt_record *r = t_add(DMT_K_BUFFER_LOCK);
    r->mdl = mdl;
    r->va = va;
    r->length = len;
    r->op = op;
}

static inline void t_unlock(uint32_t mdl)
{
    t_add(DMT_K_BUFFER_UNLOCK)->mdl = mdl;
}

static inline void t_start(uint32_t xfer, uint32_t adapter, uint32_t mdl, uint64_t off,
                           uint64_t len, bool wtd)
{
    dmt_record *r = t_add(DMT_K_START_DMA);
    r->xfer = xfer;
    r->adapter = adapter;
    r->mdl = mdl;
    r->offset = off;
    r->length = len;
    r->write_to_device = wtd;
}

static inline const dmt_sg_elem *sgcopy(uint32_t n, const dmt_sg_elem *sg)
{
    if (sgused + n > T_SGPOOL)
        exit(2);
    dmt_sg_elem *p = &sgpool[sgused];
    memcpy(p, sg, n * sizeof *sg);
    sgused += n;
    return p;
}

static inline void t_exec(uint32_t xfer, uint32_t adapter, uint64_t granted, uint32_t n,
                          const dmt_sg_elem *sg)
{
    dmt_record *r = t_add(DMT_K_EXECUTE_DMA);
    r->xfer = xfer;
    r->adapter = adapter;
    r->length = granted;
    r->n_sg = n;
    r->sg_list = sgcopy(n, sg);
}

static inline void t_end(uint32_t xfer, uint32_t adapter, uint32_t status, uint64_t len)
{
    dmt_record *r = t_add(DMT_K_START_DMA_END);
    r->xfer = xfer;
    r->adapter = adapter;
    r->status = status;
    r->length = len;
}

static inline void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

/* Revision-1 descriptors at offset off of common buffer cb; bad = index of a
 * descriptor with a wrong magic, or -1. */
static inline void t_desc(uint32_t cb, uint64_t off, uint32_t n, const dmt_sg_elem *d, int bad)
{
    if (byteused + n * 32 > T_BYTEPOOL)
        exit(2);
    uint8_t *p = &bytepool[byteused];
    uint64_t dev = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *q = p + i * 32;
        put32(q, (int)i == bad ? 0xBAD00000u : 0xD5C10000u);
        put32(q + 4, d[i].len);
        put64(q + 8, d[i].addr);
        put64(q + 16, dev);
        put64(q + 24, 0);
        dev += d[i].len;
    }
    byteused += n * 32;
    dmt_record *r = t_add(DMT_K_DESC_WRITE);
    r->cb = cb;
    r->offset = off;
    r->n_bytes = n * 32;
    r->bytes = p;
}

/* Program channel ch: ring at ring, count descriptors, doorbell last. */
static inline void t_ring(uint32_t dev, uint32_t ch, uint64_t ring, uint32_t count)
{
    uint32_t base = 0x100 + ch * 0x40;
    t_wr(dev, base + 0x08, (uint32_t)ring);
    t_wr(dev, base + 0x0C, (uint32_t)(ring >> 32));
    t_wr(dev, base + 0x10, count);
    t_wr(dev, base + 0x00, 1);
}

/* The ISR: IRQ_STATUS read showing channel ch done, ack, the INTERRUPT
 * record, then the DPC. */
static inline void t_irq(uint32_t dev, uint32_t ch, uint32_t xfer)
{
    t_rd(dev, 0x008, 1u << (2 * ch));
    t_wr(dev, 0x008, 1u << (2 * ch));
    dmt_record *r = t_add(DMT_K_INTERRUPT);
    r->dev = dev;
    r->claimed = true;
    r->value = 1u << (2 * ch);
    r = t_add(DMT_K_DPC);
    r->dev = dev;
    r->xfer = xfer;
}

static inline void t_complete(uint32_t xfer, uint32_t adapter, bool wtd)
{
    dmt_record *r = t_add(DMT_K_COMPLETE_DMA);
    r->xfer = xfer;
    r->adapter = adapter;
    r->write_to_device = wtd;
}

/* One whole chunk, done right: StartDma .. CompleteDma with descriptors equal
 * to the SG list (the list programmed as given). */
static inline void t_chunk(uint32_t xfer, uint32_t adapter, uint32_t mdl, uint32_t cb,
                           uint64_t cb_addr, uint32_t dev, uint32_t ch, uint64_t off, uint32_t n,
                           const dmt_sg_elem *sg, bool wtd)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += sg[i].len;
    t_start(xfer, adapter, mdl, off, total, wtd);
    t_exec(xfer, adapter, total, n, sg);
    t_desc(cb, 0, n, sg, -1);
    t_ring(dev, ch, cb_addr, n);
    t_end(xfer, adapter, 0, total);
    t_irq(dev, ch, xfer);
    t_complete(xfer, adapter, wtd);
}

/* The usual setup: dmm device 1 (64-bit), adapters 1 (channel 0) and 2
 * (channel 1), rings in common buffers 1 and 2. */
#define RING0 0x10000ull
#define RING1 0x20000ull
static inline void t_setup(uint32_t bits, bool sg, uint64_t maxlen, uint32_t nmr, uint64_t limit)
{
    t_dev(1, bits);
    t_adapter(1, 1, sg, maxlen, nmr, limit);
    t_cb(1, 1, RING0, 0x1000);
    t_adapter(2, 1, sg, maxlen, nmr, limit);
    t_cb(2, 2, RING1, 0x1000);
}

static inline void t_teardown(void)
{
    t_cb_release(1, 1);
    t_put(1);
    t_cb_release(2, 2);
    t_put(2);
}

/* A fresh trace with the usual setup (64-bit device, scatter/gather
 * adapters, MaximumLength 1 MiB, 257 map registers, no address limit) and
 * MDL 1 locked: `length` bytes at VA 0x7f0000000000 for `op`. */
static inline void t_begin(uint64_t length, uint32_t op)
{
    t_reset();
    t_setup(64, true, 1 << 20, 257, UINT64_MAX);
    t_lock(1, 0x7f0000000000, length, op);
}

/* MDL 1 unlocked, then the usual teardown. */
static inline void t_end_trace(void)
{
    t_unlock(1);
    t_teardown();
}

static inline int write_trace(const char *path)
{
    dmt_header h;
    memset(&h, 0, sizeof h);
    h.version = DMT_FORMAT_VERSION;
    h.page_shift = DMT_PAGE_SHIFT;
    snprintf(h.producer, sizeof h.producer, "test_audit");
    snprintf(h.clock, sizeof h.clock, "deterministic");
    dmt_writer *w;
    dmt_error err;
    if (dmt_writer_open(path, &h, 0, &w, &err) != 0)
        return -1;
    for (uint32_t i = 0; i < TN; i++) {
        int rc = T[i].kind == DMT_K_LOST ? dmt_writer_lost(w, T[i].value, T[i].count, 0, &err)
                                         : dmt_writer_append(w, &T[i], &err);
        if (rc != 0) {
            dmt_writer_abort(w);
            return -1;
        }
    }
    return dmt_writer_close(w, &err);
}

#endif

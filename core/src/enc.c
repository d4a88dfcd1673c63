/*
 * enc.c - the freestanding CBOR encoder and the record encoder.
 *
 * Compiled into the Windows driver as well as the host tools: no libc
 * beyond memcpy, no allocation, no global state.  Wire layouts of every
 * record kind are in schema/trace.cddl; the comments in enc_body() name the
 * array each kind becomes.
 */
#include "dmt/enc.h"

#include <string.h>

/* Major types (RFC 8949 3.1). */
#define MT_UINT   0u
#define MT_NINT   1u
#define MT_BYTES  2u
#define MT_TEXT   3u
#define MT_ARRAY  4u
#define MT_MAP    5u
#define MT_TAG    6u
#define MT_SIMPLE 7u

static size_t enc_head(uint8_t *buf, size_t cap, unsigned mt, uint64_t v)
{
    uint8_t ib = (uint8_t)(mt << 5);
    if (v < 24) {
        if (cap < 1)
            return 0;
        buf[0] = (uint8_t)(ib | v);
        return 1;
    }
    if (v <= 0xFFu) {
        if (cap < 2)
            return 0;
        buf[0] = (uint8_t)(ib | 24u);
        buf[1] = (uint8_t)v;
        return 2;
    }
    if (v <= 0xFFFFu) {
        if (cap < 3)
            return 0;
        buf[0] = (uint8_t)(ib | 25u);
        buf[1] = (uint8_t)(v >> 8);
        buf[2] = (uint8_t)v;
        return 3;
    }
    if (v <= 0xFFFFFFFFu) {
        if (cap < 5)
            return 0;
        buf[0] = (uint8_t)(ib | 26u);
        buf[1] = (uint8_t)(v >> 24);
        buf[2] = (uint8_t)(v >> 16);
        buf[3] = (uint8_t)(v >> 8);
        buf[4] = (uint8_t)v;
        return 5;
    }
    if (cap < 9)
        return 0;
    buf[0] = (uint8_t)(ib | 27u);
    for (int i = 0; i < 8; i++)
        buf[1 + i] = (uint8_t)(v >> (56 - 8 * i));
    return 9;
}

static size_t head_len(uint64_t v)
{
    return v < 24 ? 1 : v <= 0xFFu ? 2 : v <= 0xFFFFu ? 3 : v <= 0xFFFFFFFFu ? 5 : 9;
}

size_t dmt_enc_uint(uint8_t *buf, size_t cap, uint64_t v)
{
    return enc_head(buf, cap, MT_UINT, v);
}

size_t dmt_enc_nint(uint8_t *buf, size_t cap, uint64_t n)
{
    return enc_head(buf, cap, MT_NINT, n);
}

size_t dmt_enc_int(uint8_t *buf, size_t cap, int64_t v)
{
    if (v >= 0)
        return enc_head(buf, cap, MT_UINT, (uint64_t)v);
    /* -1 - v without overflow: ~v for two's complement. */
    return enc_head(buf, cap, MT_NINT, ~(uint64_t)v);
}

size_t dmt_enc_bool(uint8_t *buf, size_t cap, bool v)
{
    if (cap < 1)
        return 0;
    buf[0] = v ? 0xF5 : 0xF4;
    return 1;
}

size_t dmt_enc_null(uint8_t *buf, size_t cap)
{
    if (cap < 1)
        return 0;
    buf[0] = 0xF6;
    return 1;
}

size_t dmt_enc_array_start(uint8_t *buf, size_t cap, uint64_t n)
{
    return enc_head(buf, cap, MT_ARRAY, n);
}

size_t dmt_enc_map_start(uint8_t *buf, size_t cap, uint64_t n)
{
    return enc_head(buf, cap, MT_MAP, n);
}

size_t dmt_enc_bytes_start(uint8_t *buf, size_t cap, uint64_t n)
{
    return enc_head(buf, cap, MT_BYTES, n);
}

size_t dmt_enc_text_start(uint8_t *buf, size_t cap, uint64_t n)
{
    return enc_head(buf, cap, MT_TEXT, n);
}

size_t dmt_enc_tag(uint8_t *buf, size_t cap, uint64_t tag)
{
    return enc_head(buf, cap, MT_TAG, tag);
}

static size_t enc_blob(uint8_t *buf, size_t cap, unsigned mt, const void *p, size_t n)
{
    size_t h = enc_head(buf, cap, mt, n);
    if (h == 0 || cap - h < n)
        return 0;
    if (n)
        memcpy(buf + h, p, n);
    return h + n;
}

size_t dmt_enc_bytes(uint8_t *buf, size_t cap, const void *p, size_t n)
{
    return enc_blob(buf, cap, MT_BYTES, p, n);
}

size_t dmt_enc_text(uint8_t *buf, size_t cap, const char *s, size_t n)
{
    return enc_blob(buf, cap, MT_TEXT, s, n);
}

/* ---- records ------------------------------------------------------------ */

/* A tiny cursor: once any write fails, every later one is a no-op and the
 * whole record reports 0. */
typedef struct cur {
    uint8_t *p;
    size_t left;
    size_t n;
    bool bad;
} cur;

static void put(cur *c, size_t w)
{
    if (w == 0) {
        c->bad = true;
        return;
    }
    c->p += w;
    c->left -= w;
    c->n += w;
}

static void u(cur *c, uint64_t v)
{
    if (!c->bad)
        put(c, enc_head(c->p, c->left, MT_UINT, v));
}

static void b(cur *c, bool v)
{
    if (!c->bad)
        put(c, dmt_enc_bool(c->p, c->left, v));
}

static void arr(cur *c, uint64_t n)
{
    if (!c->bad)
        put(c, enc_head(c->p, c->left, MT_ARRAY, n));
}

static void blob(cur *c, const uint8_t *p, uint32_t n, unsigned mt)
{
    if (!c->bad)
        put(c, enc_blob(c->p, c->left, mt, p, n));
}

/* An SG address or length: page units as uint when page-aligned, bytes as a
 * negative integer (-1-n) otherwise.  Schema: sg-quantity. */
static void sgq(cur *c, uint64_t v)
{
    if (c->bad)
        return;
    if ((v & (DMT_PAGE_SIZE - 1)) == 0)
        put(c, enc_head(c->p, c->left, MT_UINT, v >> DMT_PAGE_SHIFT));
    else
        put(c, enc_head(c->p, c->left, MT_NINT, v));
}

static uint64_t rd_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t rd_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Optional trailing register fields: [.., ?width, ?dev]. */
static unsigned reg_extra(const dmt_record *r)
{
    if (r->dev != 0)
        return 2;
    if (r->width != 4 && r->width != 0)
        return 1;
    return 0;
}

static void reg_tail(cur *c, const dmt_record *r, unsigned extra)
{
    if (extra >= 1)
        u(c, r->width ? r->width : 4);
    if (extra >= 2)
        u(c, r->dev);
}

static bool enc_body(cur *c, const dmt_record *r, int64_t t)
{
    unsigned extra;

#define HEAD(nfields)                                                                              \
    do {                                                                                           \
        arr(c, (nfields));                                                                         \
        u(c, r->kind);                                                                             \
        if (!c->bad)                                                                               \
            put(c, dmt_enc_int(c->p, c->left, t));                                                 \
    } while (0)

    switch (r->kind) {
    case DMT_K_REG_WRITE: /* [1, t, off, value, ?width, ?dev] */
    case DMT_K_REG_READ:
        extra = reg_extra(r);
        HEAD(4 + extra);
        u(c, r->off);
        u(c, r->value);
        reg_tail(c, r, extra);
        break;
    case DMT_K_REG_WRITE_BUF: /* [3, t, off, [* value], ?width, ?dev] */
    case DMT_K_REG_READ_BUF:
        if (r->n_values > DMT_MAX_VALUES || (r->n_values && !r->values))
            return false;
        extra = reg_extra(r);
        HEAD(4 + extra);
        u(c, r->off);
        arr(c, r->n_values);
        for (uint32_t i = 0; i < r->n_values; i++)
            u(c, r->values[i]);
        reg_tail(c, r, extra);
        break;
    case DMT_K_EXECUTE_DMA: { /* [5, t, xfer, adapter, length, [* sgq, sgq]] */
        size_t stride = r->sg_stride ? r->sg_stride : sizeof(dmt_sg_elem);
        const uint8_t *e = (const uint8_t *)r->sg_list;
        if (r->n_sg > DMT_MAX_SG_ELEMENTS || (r->n_sg && !e))
            return false;
        HEAD(6);
        u(c, r->xfer);
        u(c, r->adapter);
        u(c, r->length);
        arr(c, 2ull * r->n_sg);
        for (uint32_t i = 0; i < r->n_sg && !c->bad; i++, e += stride) {
            sgq(c, rd_u64(e));
            sgq(c, rd_u32(e + 8));
        }
        break;
    }
    case DMT_K_START_DMA: /* [6, t, xfer, adapter, mdl, offset, length, wtd, context] */
        HEAD(9);
        u(c, r->xfer);
        u(c, r->adapter);
        u(c, r->mdl);
        u(c, r->offset);
        u(c, r->length);
        b(c, r->write_to_device);
        u(c, r->context);
        break;
    case DMT_K_START_DMA_END: /* [7, t, xfer, adapter, status, length] */
        HEAD(6);
        u(c, r->xfer);
        u(c, r->adapter);
        u(c, r->status);
        u(c, r->length);
        break;
    case DMT_K_COMPLETE_DMA: /* [8, t, xfer, adapter, wtd, status] */
        HEAD(6);
        u(c, r->xfer);
        u(c, r->adapter);
        b(c, r->write_to_device);
        u(c, r->status);
        break;
    case DMT_K_ADAPTER_CREATE:
        /* [9, t, adapter, dev, sg, dma32, dma64, max_length, map_registers, addr_limit] */
        HEAD(10);
        u(c, r->adapter);
        u(c, r->dev);
        b(c, r->sg);
        b(c, r->dma32);
        b(c, r->dma64);
        u(c, r->length);
        u(c, r->map_registers);
        u(c, r->addr_limit);
        break;
    case DMT_K_ADAPTER_RELEASE: /* [10, t, adapter] */
        HEAD(3);
        u(c, r->adapter);
        break;
    case DMT_K_BUFFER_LOCK: /* [11, t, mdl, va, length, op] */
        HEAD(6);
        u(c, r->mdl);
        u(c, r->va);
        u(c, r->length);
        u(c, r->op);
        break;
    case DMT_K_BUFFER_UNLOCK: /* [12, t, mdl] */
        HEAD(3);
        u(c, r->mdl);
        break;
    case DMT_K_COMMON_ALLOC: /* [13, t, cb, adapter, addr, length, cached, va] */
        HEAD(8);
        u(c, r->cb);
        u(c, r->adapter);
        u(c, r->addr);
        u(c, r->length);
        b(c, r->cached);
        u(c, r->va);
        break;
    case DMT_K_COMMON_RELEASE: /* [14, t, cb, adapter] */
        HEAD(4);
        u(c, r->cb);
        u(c, r->adapter);
        break;
    case DMT_K_DESC_WRITE: /* [15, t, cb, offset, bytes] */
        if (r->n_bytes > DMT_MAX_BYTES || (r->n_bytes && !r->bytes))
            return false;
        HEAD(5);
        u(c, r->cb);
        u(c, r->offset);
        blob(c, r->bytes, r->n_bytes, MT_BYTES);
        break;
    case DMT_K_INTERRUPT: /* [16, t, dev, claimed, value] */
        HEAD(5);
        u(c, r->dev);
        b(c, r->claimed);
        u(c, r->value);
        break;
    case DMT_K_DPC: /* [17, t, dev, xfer] */
        HEAD(4);
        u(c, r->dev);
        u(c, r->xfer);
        break;
    case DMT_K_DIGEST: /* [18, t, xfer, algo, length, value] */
        HEAD(6);
        u(c, r->xfer);
        u(c, r->algo);
        u(c, r->length);
        u(c, r->value);
        break;
    case DMT_K_PATTERN: /* [19, t, mdl, algo, seed, offset, length] */
        HEAD(7);
        u(c, r->mdl);
        u(c, r->algo);
        u(c, r->value);
        u(c, r->offset);
        u(c, r->length);
        break;
    case DMT_K_PAYLOAD: /* [20, t, mdl, offset, bytes] */
        if (r->n_bytes > DMT_MAX_BYTES || (r->n_bytes && !r->bytes))
            return false;
        HEAD(5);
        u(c, r->mdl);
        u(c, r->offset);
        blob(c, r->bytes, r->n_bytes, MT_BYTES);
        break;
    case DMT_K_DEVICE_MAP: /* [21, t, dev, addr, length, va] */
        HEAD(6);
        u(c, r->dev);
        u(c, r->addr);
        u(c, r->length);
        u(c, r->va);
        break;
    case DMT_K_LOST: /* [22, t, first_seq, count, reason] */
        HEAD(5);
        u(c, r->value);
        u(c, r->count);
        u(c, r->reason);
        break;
    case DMT_K_MARKER: /* [23, t, text] */
        if (r->n_bytes > DMT_MAX_TEXT || (r->n_bytes && !r->bytes))
            return false;
        HEAD(3);
        blob(c, r->bytes, r->n_bytes, MT_TEXT);
        break;
    case DMT_K_CHUNK: /* [24, t, count, length, crc32c, first_seq] */
        HEAD(6);
        u(c, r->count);
        u(c, r->length);
        u(c, r->value);
        u(c, r->seq);
        break;
    case DMT_K_END: /* [25, t, count, lost] */
        HEAD(4);
        u(c, r->count);
        u(c, r->value);
        break;
    default:
        return false;
    }
#undef HEAD
    return !c->bad;
}

size_t dmt_enc_record(uint8_t *buf, size_t cap, const dmt_record *r, int64_t t)
{
    cur c = {buf, cap, 0, false};
    if (!enc_body(&c, r, t))
        return 0;
    if (c.n > DMT_MAX_RECORD)
        return 0;
    return c.n;
}

size_t dmt_enc_record_bound(const dmt_record *r)
{
    /* Array head + kind + time + up to 8 scalar fields of 9 bytes. */
    size_t fixed = 1 + 1 + 9 + 8 * 9;
    switch (r->kind) {
    case DMT_K_EXECUTE_DMA:
        return fixed + 5 + (size_t)r->n_sg * 14u;
    case DMT_K_REG_WRITE_BUF:
    case DMT_K_REG_READ_BUF:
        return fixed + 5 + (size_t)r->n_values * 9u;
    case DMT_K_DESC_WRITE:
    case DMT_K_PAYLOAD:
    case DMT_K_MARKER:
        return fixed + head_len(r->n_bytes) + r->n_bytes;
    default:
        return fixed;
    }
}

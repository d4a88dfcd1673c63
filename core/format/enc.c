/*
 * enc.c - the freestanding CBOR encoder and the record encoder.
 *
 * Compiled into the Windows driver as well as the host tools: C89 (see
 * dmt/port.h), no libc beyond memcpy, no allocation, no global state.  Wire layouts of every
 * record kind are in schema/trace.cddl; the comments in enc_body() name the
 * array each kind becomes.
 */
#include "dmt/enc.h"

#include <string.h>

/* Fixed-size loads and stores: DMT_MOVE_FIXED stays a single move even
 * under -ffreestanding (where plain memcpy becomes a call; the driver and
 * libdmt_fs are built that way). */
#define move_fixed DMT_MOVE_FIXED

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
    int i;
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
    for (i = 0; i < 8; i++)
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

/* ---- records ------------------------------------------------------------
 * The record encoder writes through a raw pointer; every item first checks
 * that 9 bytes (the longest head) remain, so a too-small buffer fails cleanly
 * and the common path costs one predictable compare per item. */

/* Unchecked head writer: the caller guaranteed 9 bytes of room. */
static DMT_INLINE uint8_t *put_head(uint8_t *p, unsigned mt, uint64_t v)
{
    uint8_t ib = (uint8_t)(mt << 5);
    uint64_t x8;
    if (v < 24) {
        *p = (uint8_t)(ib | v);
        return p + 1;
    }
    if (v <= 0xFFu) {
        p[0] = (uint8_t)(ib | 24u);
        p[1] = (uint8_t)v;
        return p + 2;
    }
    if (v <= 0xFFFFu) {
        uint16_t x = DMT_BSWAP16((uint16_t)v);
        p[0] = (uint8_t)(ib | 25u);
        move_fixed(p + 1, &x, 2);
        return p + 3;
    }
    if (v <= 0xFFFFFFFFu) {
        uint32_t x = DMT_BSWAP32((uint32_t)v);
        p[0] = (uint8_t)(ib | 26u);
        move_fixed(p + 1, &x, 4);
        return p + 5;
    }
    x8 = DMT_BSWAP64(v);
    p[0] = (uint8_t)(ib | 27u);
    move_fixed(p + 1, &x8, 8);
    return p + 9;
}

#define ROOM(n)                                                                                    \
    do {                                                                                           \
        if ((size_t)(end - p) < (size_t)(n))                                                       \
            return NULL;                                                                           \
    } while (0)
#define U(v)                                                                                       \
    do {                                                                                           \
        ROOM(9);                                                                                   \
        p = put_head(p, MT_UINT, (v));                                                             \
    } while (0)
#define B(v)                                                                                       \
    do {                                                                                           \
        ROOM(1);                                                                                   \
        *p++ = (v) ? 0xF5 : 0xF4;                                                                  \
    } while (0)
#define ARR(n)                                                                                     \
    do {                                                                                           \
        ROOM(9);                                                                                   \
        p = put_head(p, MT_ARRAY, (n));                                                            \
    } while (0)
#define BLOB(ptr, n, mt)                                                                           \
    do {                                                                                           \
        ROOM(9);                                                                                   \
        p = put_head(p, (mt), (n));                                                                \
        ROOM(n);                                                                                   \
        if (n)                                                                                     \
            memcpy(p, (ptr), (n));                                                                 \
        p += (n);                                                                                  \
    } while (0)

/* The common SG element (schema: sg-quantity): a page-aligned address
 * whose page number needs a 5-byte head (2^16 .. 2^32-1 pages: 256 MiB ..
 * 16 TiB) and a page-aligned length of fewer than 256 pages (a 1- or
 * 2-byte head).  A scattered 4 KiB page or a short run is always this.
 *
 *   byte   0     1 .. 4            5            6
 *          0x1A  page, big-endian  pages < 24   (pages >= 24: 0x18, pages)
 *
 * Built in a register and written as one 8-byte store (the caller checked
 * room for 18 bytes); returns the end of the 6 or 7 bytes that count.
 * The bytes are exactly put_head's for these values (core/tests/test_enc.c
 * compares the two on every head-size boundary). */
#define SG_FAST(a, l)                                                                              \
    ((((uint32_t)(a)&0xFFFu) | ((l)&0xFFF00FFFu)) == 0 && ((a) >> 28) - 1u < 0xFFFFu)

static DMT_INLINE uint8_t *put_sg_fast(uint8_t *p, uint64_t a, uint32_t l)
{
    uint32_t pg = DMT_BSWAP32((uint32_t)(a >> DMT_PAGE_SHIFT));
    uint32_t lp = l >> DMT_PAGE_SHIFT;
    uint64_t lw = lp < 24u ? (uint64_t)lp : (uint64_t)(0x18u | lp << 8);
    uint64_t w = (uint64_t)(MT_UINT << 5 | 26u) | (uint64_t)pg << 8 | lw << 40;
    move_fixed(p, &w, 8);
    return p + (lp < 24u ? 6 : 7);
}

/* Any element: two heads (room for 18 bytes checked by the caller). */
static uint8_t *put_sg_any(uint8_t *p, uint64_t a, uint32_t l)
{
    p = (a & (DMT_PAGE_SIZE - 1)) == 0 ? put_head(p, MT_UINT, a >> DMT_PAGE_SHIFT)
                                       : put_head(p, MT_NINT, a);
    return (l & (DMT_PAGE_SIZE - 1)) == 0 ? put_head(p, MT_UINT, l >> DMT_PAGE_SHIFT)
                                          : put_head(p, MT_NINT, l);
}

/* An SG list (EXECUTE_DMA's elements, DIGEST's ranges) as the array of
 * sg-quantity pairs: page units as uint when page-aligned, bytes as a
 * negative integer (-1-n) otherwise (schema: sg-quantity).  At most 18 bytes
 * an element: room for all of them is checked once when the buffer has it
 * (the loop then checks nothing else), else per element.  Common elements
 * (SG_FAST) take one test and one store, the rest two heads each.  Returns
 * the new end or NULL. */
static uint8_t *put_sg(uint8_t *p, uint8_t *end, const dmt_record *r)
{
    size_t stride = r->sg_stride ? r->sg_stride : sizeof(dmt_sg_elem);
    const uint8_t *e = (const uint8_t *)r->sg_list;
    uint32_t i, n = r->n_sg;
    uint64_t a;
    uint32_t l;
    ARR(2ull * n);
    if ((size_t)(end - p) >= (size_t)n * 18u) {
        for (i = 0; i < n; i++, e += stride) {
            move_fixed(&a, e, 8);
            move_fixed(&l, e + 8, 4);
            if (DMT_LIKELY(SG_FAST(a, l)))
                p = put_sg_fast(p, a, l);
            else
                p = put_sg_any(p, a, l);
        }
        return p;
    }
    for (i = 0; i < n; i++, e += stride) {
        move_fixed(&a, e, 8);
        move_fixed(&l, e + 8, 4);
        ROOM(18);
        p = put_sg_any(p, a, l);
    }
    return p;
}

/* A register access record [kind, t, off, value, ?width, ?dev] (the
 * optional fields only when they differ from the defaults: width 4, device
 * 0), unchecked: the caller guaranteed DMT_ENC_REG_MAX bytes of room.  The
 * one writer of this layout, for dmt_enc_record and dmt_enc_reg alike. */
static DMT_INLINE uint8_t *put_reg(uint8_t *p, uint32_t kind, int64_t t, uint64_t off,
                                   uint64_t value, uint32_t width, uint32_t dev)
{
    unsigned extra = dev != 0 ? 2u : width != 4 && width != 0 ? 1u : 0u;
    p[0] = (uint8_t)(MT_ARRAY << 5 | (4u + extra));
    p[1] = (uint8_t)kind; /* 1 or 2: a one-byte head */
    p += 2;
    p = t >= 0 ? put_head(p, MT_UINT, (uint64_t)t) : put_head(p, MT_NINT, ~(uint64_t)t);
    p = put_head(p, MT_UINT, off);
    p = put_head(p, MT_UINT, value);
    if (extra >= 1)
        p = put_head(p, MT_UINT, width ? width : 4u);
    if (extra >= 2)
        p = put_head(p, MT_UINT, dev);
    return p;
}

/* A CPU record [26, t, cpu] or [26, t, cpu, ring_seq] (with_seq),
 * unchecked: the caller guaranteed DMT_ENC_CPU_MAX bytes of room.  The one
 * writer of this layout, for dmt_enc_record and dmt_enc_cpu alike. */
static DMT_INLINE uint8_t *put_cpu(uint8_t *p, int64_t t, uint32_t cpu, int with_seq,
                                   uint64_t ring_seq)
{
    p[0] = (uint8_t)(MT_ARRAY << 5 | (with_seq ? 4u : 3u));
    p = put_head(p + 1, MT_UINT, DMT_K_CPU);
    p = t >= 0 ? put_head(p, MT_UINT, (uint64_t)t) : put_head(p, MT_NINT, ~(uint64_t)t);
    p = put_head(p, MT_UINT, cpu);
    if (with_seq)
        p = put_head(p, MT_UINT, ring_seq);
    return p;
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

/* Encode r's array into [p, end); returns the new end or NULL. */
static uint8_t *enc_body(uint8_t *p, uint8_t *end, const dmt_record *r, int64_t t)
{
    unsigned extra;
    uint32_t i;

#define HEAD(nfields)                                                                              \
    do {                                                                                           \
        ARR(nfields);                                                                              \
        U(r->kind);                                                                                \
        ROOM(9);                                                                                   \
        p = t >= 0 ? put_head(p, MT_UINT, (uint64_t)t) : put_head(p, MT_NINT, ~(uint64_t)t);       \
    } while (0)
#define REG_TAIL()                                                                                 \
    do {                                                                                           \
        if (extra >= 1)                                                                            \
            U(r->width ? r->width : 4);                                                            \
        if (extra >= 2)                                                                            \
            U(r->dev);                                                                             \
    } while (0)

    switch (r->kind) {
    case DMT_K_REG_WRITE: /* [1, t, off, value, ?width, ?dev] */
    case DMT_K_REG_READ:
        if ((size_t)(end - p) >= DMT_ENC_REG_MAX) {
            p = put_reg(p, r->kind, t, r->off, r->value, r->width, r->dev);
            break;
        }
        extra = reg_extra(r);
        HEAD(4 + extra);
        U(r->off);
        U(r->value);
        REG_TAIL();
        break;
    case DMT_K_REG_WRITE_BUF: /* [3, t, off, [* value], ?width, ?dev] */
    case DMT_K_REG_READ_BUF:
        if (r->n_values > DMT_MAX_VALUES || (r->n_values && !r->values))
            return NULL;
        extra = reg_extra(r);
        HEAD(4 + extra);
        U(r->off);
        ARR(r->n_values);
        for (i = 0; i < r->n_values; i++)
            U(r->values[i]);
        REG_TAIL();
        break;
    case DMT_K_EXECUTE_DMA: /* [5, t, xfer, adapter, length, [* sgq, sgq], ? flags] */
        if (r->n_sg > DMT_MAX_SG_ELEMENTS || (r->n_sg && !r->sg_list))
            return NULL;
        HEAD(r->xfer_flags ? 7 : 6);
        U(r->xfer);
        U(r->adapter);
        U(r->length);
        p = put_sg(p, end, r);
        if (!p)
            return NULL;
        if (r->xfer_flags)
            U(r->xfer_flags);
        break;
    case DMT_K_START_DMA: /* [6, t, xfer, adapter, mdl, offset, length, wtd, context] */
        HEAD(9);
        U(r->xfer);
        U(r->adapter);
        U(r->mdl);
        U(r->offset);
        U(r->length);
        B(r->write_to_device);
        U(r->context);
        break;
    case DMT_K_START_DMA_END: /* [7, t, xfer, adapter, status, length] */
        HEAD(6);
        U(r->xfer);
        U(r->adapter);
        U(r->status);
        U(r->length);
        break;
    case DMT_K_COMPLETE_DMA: /* [8, t, xfer, adapter, wtd, status] */
        HEAD(6);
        U(r->xfer);
        U(r->adapter);
        B(r->write_to_device);
        U(r->status);
        break;
    case DMT_K_ADAPTER_CREATE:
        /* [9, t, adapter, dev, sg, dma32, dma64, max_length, map_registers, addr_limit] */
        HEAD(10);
        U(r->adapter);
        U(r->dev);
        B(r->sg);
        B(r->dma32);
        B(r->dma64);
        U(r->length);
        U(r->map_registers);
        U(r->addr_limit);
        break;
    case DMT_K_ADAPTER_RELEASE: /* [10, t, adapter] */
        HEAD(3);
        U(r->adapter);
        break;
    case DMT_K_BUFFER_LOCK: /* [11, t, mdl, va, length, op] */
        HEAD(6);
        U(r->mdl);
        U(r->va);
        U(r->length);
        U(r->op);
        break;
    case DMT_K_BUFFER_UNLOCK: /* [12, t, mdl] */
        HEAD(3);
        U(r->mdl);
        break;
    case DMT_K_COMMON_ALLOC: /* [13, t, cb, adapter, addr, length, cached, va] */
        HEAD(8);
        U(r->cb);
        U(r->adapter);
        U(r->addr);
        U(r->length);
        B(r->cached);
        U(r->va);
        break;
    case DMT_K_COMMON_RELEASE: /* [14, t, cb, adapter] */
        HEAD(4);
        U(r->cb);
        U(r->adapter);
        break;
    case DMT_K_DESC_WRITE: /* [15, t, cb, offset, bytes] */
        if (r->n_bytes > DMT_MAX_BYTES || (r->n_bytes && !r->bytes))
            return NULL;
        HEAD(5);
        U(r->cb);
        U(r->offset);
        BLOB(r->bytes, r->n_bytes, MT_BYTES);
        break;
    case DMT_K_INTERRUPT: /* [16, t, dev, claimed, value] */
        HEAD(5);
        U(r->dev);
        B(r->claimed);
        U(r->value);
        break;
    case DMT_K_DPC: /* [17, t, dev, xfer] */
        HEAD(4);
        U(r->dev);
        U(r->xfer);
        break;
    case DMT_K_DIGEST: /* [18, t, xfer, algo, length, value, ?policy, ?[* sgq, sgq]] */
        if (r->n_sg > DMT_MAX_SG_ELEMENTS || (r->n_sg && !r->sg_list))
            return NULL;
        HEAD(r->n_sg ? 8 : r->digest_policy ? 7 : 6);
        U(r->xfer);
        U(r->algo);
        U(r->length);
        U(r->value);
        if (r->n_sg || r->digest_policy)
            U(r->digest_policy);
        if (r->n_sg) {
            p = put_sg(p, end, r);
            if (!p)
                return NULL;
        }
        break;
    case DMT_K_PATTERN: /* [19, t, mdl, algo, seed, offset, length] */
        HEAD(7);
        U(r->mdl);
        U(r->algo);
        U(r->value);
        U(r->offset);
        U(r->length);
        break;
    case DMT_K_PAYLOAD: /* [20, t, mdl, offset, bytes] */
        if (r->n_bytes > DMT_MAX_BYTES || (r->n_bytes && !r->bytes))
            return NULL;
        HEAD(5);
        U(r->mdl);
        U(r->offset);
        BLOB(r->bytes, r->n_bytes, MT_BYTES);
        break;
    case DMT_K_DEVICE_MAP: /* [21, t, dev, addr, length, va] */
        HEAD(6);
        U(r->dev);
        U(r->addr);
        U(r->length);
        U(r->va);
        break;
    case DMT_K_LOST: /* [22, t, first_seq, count, reason] */
        HEAD(5);
        U(r->value);
        U(r->count);
        U(r->reason);
        break;
    case DMT_K_MARKER: /* [23, t, text] */
        if (r->n_bytes > DMT_MAX_TEXT || (r->n_bytes && !r->bytes))
            return NULL;
        HEAD(3);
        BLOB(r->bytes, r->n_bytes, MT_TEXT);
        break;
    case DMT_K_CHUNK: /* [24, t, count, length, crc32c, first_seq] */
        HEAD(6);
        U(r->count);
        U(r->length);
        U(r->value);
        U(r->seq);
        break;
    case DMT_K_END: /* [25, t, count, lost] */
        HEAD(4);
        U(r->count);
        U(r->value);
        break;
    case DMT_K_CPU: /* [26, t, cpu] or [26, t, cpu, ring_seq] when count is 1 */
        if ((size_t)(end - p) >= DMT_ENC_CPU_MAX) {
            p = put_cpu(p, t, r->cpu, r->count != 0, r->value);
            break;
        }
        HEAD(r->count ? 4u : 3u);
        U(r->cpu);
        if (r->count)
            U(r->value);
        break;
    case DMT_K_CALIBRATION: /* [27, t, tsc, counter, counter_hz, mult, shift, err_ns] */
        HEAD(8);
        U(r->tsc);
        U(r->counter);
        U(r->counter_hz);
        U(r->mult);
        U(r->shift);
        U(r->err_ns);
        break;
    default:
        return NULL;
    }
#undef HEAD
#undef REG_TAIL
    return p;
}

size_t dmt_enc_record(uint8_t *buf, size_t cap, const dmt_record *r, int64_t t)
{
    uint8_t *end = enc_body(buf, buf + cap, r, t);
    if (!end || (size_t)(end - buf) > DMT_MAX_RECORD)
        return 0;
    return (size_t)(end - buf);
}

size_t dmt_enc_reg(uint8_t *buf, size_t cap, uint32_t kind, int64_t t, uint64_t off, uint64_t value,
                   uint32_t width, uint32_t dev)
{
    dmt_record r;
    if (cap >= DMT_ENC_REG_MAX && (kind == DMT_K_REG_WRITE || kind == DMT_K_REG_READ))
        return (size_t)(put_reg(buf, kind, t, off, value, width, dev) - buf);
    /* a short buffer (or another kind): the checked encoder says what fits */
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.off = off;
    r.value = value;
    r.width = width;
    r.dev = dev;
    return dmt_enc_record(buf, cap, &r, t);
}

size_t dmt_enc_cpu(uint8_t *buf, size_t cap, int64_t t, uint32_t cpu, bool with_seq,
                   uint64_t ring_seq)
{
    dmt_record r;
    if (cap >= DMT_ENC_CPU_MAX)
        return (size_t)(put_cpu(buf, t, cpu, with_seq, ring_seq) - buf);
    /* a short buffer: the checked encoder says what fits */
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_CPU;
    r.cpu = cpu;
    r.count = with_seq;
    r.value = ring_seq;
    return dmt_enc_record(buf, cap, &r, t);
}

size_t dmt_enc_record_bound(const dmt_record *r)
{
    /* Array head + kind + time + up to 8 scalar fields of 9 bytes. */
    size_t fixed = 1 + 1 + 9 + 8 * 9;
    switch (r->kind) {
    case DMT_K_EXECUTE_DMA:
    case DMT_K_DIGEST:
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

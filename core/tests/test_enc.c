/*
 * test_enc.c - the freestanding CBOR encoder against libcbor's encoders:
 * identical bytes for many random values of every type the format uses, the
 * same "0 when the buffer is too small" behaviour, record encodings that
 * decode with libcbor's cbor_stream_decode to the expected items, and the
 * record encoder's fast paths (common SG elements, register records,
 * dmt_enc_reg, CPU records, dmt_enc_cpu) byte for byte against a reference built item by item with
 * libcbor, on every head-size boundary and every buffer size.
 */
#include <cbor.h>
#include <stdint.h>
#include <string.h>

#include "dmt/testkit.h"
#include "dmt/digest.h"
#include "dmt/enc.h"

static unsigned long long seed = 0x1234567887654321ULL;

/* A value with a random bit length, so every head size is exercised. */
static uint64_t rand_val(void)
{
    unsigned bits = (unsigned)(tk_rand(&seed) % 65);
    uint64_t v = tk_rand(&seed);
    return bits == 64 ? v : bits == 0 ? 0 : v & ((1ULL << bits) - 1);
}

typedef size_t (*ours_fn)(uint8_t *, size_t, uint64_t);
typedef size_t (*theirs_fn)(size_t, unsigned char *, size_t);

static void compare_u(const char *what, ours_fn ours,
                      size_t (*theirs)(uint64_t, unsigned char *, size_t), uint64_t v)
{
    uint8_t a[16], b[16];
    memset(a, 0xAA, sizeof a);
    memset(b, 0xAA, sizeof b);
    size_t na = ours(a, sizeof a, v);
    size_t nb = theirs(v, b, sizeof b);
    CHECKF(na == nb && memcmp(a, b, na) == 0, "%s(%llu): %zu vs %zu bytes", what,
           (unsigned long long)v, na, nb);
    /* Too small by one byte: both refuse. */
    if (nb > 0) {
        CHECKF(ours(a, nb - 1, v) == 0, "%s(%llu) with cap %zu", what, (unsigned long long)v,
               nb - 1);
        CHECK(theirs(v, b, nb - 1) == 0);
    }
}

static size_t ours_arr(uint8_t *b, size_t c, uint64_t v)
{
    return dmt_enc_array_start(b, c, v);
}
static size_t theirs_arr(uint64_t v, unsigned char *b, size_t c)
{
    return cbor_encode_array_start((size_t)v, b, c);
}
static size_t ours_map(uint8_t *b, size_t c, uint64_t v)
{
    return dmt_enc_map_start(b, c, v);
}
static size_t theirs_map(uint64_t v, unsigned char *b, size_t c)
{
    return cbor_encode_map_start((size_t)v, b, c);
}
static size_t ours_bs(uint8_t *b, size_t c, uint64_t v)
{
    return dmt_enc_bytes_start(b, c, v);
}
static size_t theirs_bs(uint64_t v, unsigned char *b, size_t c)
{
    return cbor_encode_bytestring_start((size_t)v, b, c);
}
static size_t ours_ts(uint8_t *b, size_t c, uint64_t v)
{
    return dmt_enc_text_start(b, c, v);
}
static size_t theirs_ts(uint64_t v, unsigned char *b, size_t c)
{
    return cbor_encode_string_start((size_t)v, b, c);
}

static void test_scalars(void)
{
    for (int i = 0; i < 200000; i++) {
        uint64_t v = rand_val();
        compare_u("uint", dmt_enc_uint, cbor_encode_uint, v);
        compare_u("nint", dmt_enc_nint, cbor_encode_negint, v);
        compare_u("tag", dmt_enc_tag, cbor_encode_tag, v);
        compare_u("array", ours_arr, theirs_arr, v);
        compare_u("map", ours_map, theirs_map, v);
        compare_u("bytes", ours_bs, theirs_bs, v);
        compare_u("text", ours_ts, theirs_ts, v);

        /* Signed: uint for >= 0, negint(-1-v) otherwise. */
        int64_t s = (int64_t)rand_val();
        uint8_t a[16], b[16];
        size_t na = dmt_enc_int(a, sizeof a, s);
        size_t nb = s >= 0 ? cbor_encode_uint((uint64_t)s, b, sizeof b)
                           : cbor_encode_negint((uint64_t)(-(s + 1)), b, sizeof b);
        CHECKF(na == nb && memcmp(a, b, na) == 0, "int(%lld)", (long long)s);
    }
    /* Edges of every head size. */
    const uint64_t edges[] = {
        0, 23, 24, 255, 256, 65535, 65536, 0xFFFFFFFFull, 0x100000000ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        compare_u("uint", dmt_enc_uint, cbor_encode_uint, edges[i]);
        compare_u("nint", dmt_enc_nint, cbor_encode_negint, edges[i]);
    }
    uint8_t a[4], b[4];
    CHECK(dmt_enc_int(a, sizeof a, INT64_MIN) == 0); /* needs 9 bytes */
    uint8_t big[16], bigb[16];
    CHECK(dmt_enc_int(big, sizeof big, INT64_MIN) == 9);
    CHECK(cbor_encode_negint((uint64_t)INT64_MAX, bigb, sizeof bigb) == 9);
    CHECK(memcmp(big, bigb, 9) == 0);
    for (int v = 0; v < 2; v++) {
        CHECK(dmt_enc_bool(a, 1, v) == cbor_encode_bool(v, b, 1) && a[0] == b[0]);
    }
    CHECK(dmt_enc_bool(a, 0, true) == 0);
    CHECK(dmt_enc_null(a, 1) == cbor_encode_null(b, 1) && a[0] == b[0]);
    /* Strings: header + payload, refused when the payload does not fit. */
    uint8_t s[64];
    CHECK(dmt_enc_text(s, sizeof s, "hello", 5) == 6 && s[0] == 0x65 &&
          memcmp(s + 1, "hello", 5) == 0);
    CHECK(dmt_enc_bytes(s, 5, "hello", 5) == 0);
    CHECK(dmt_enc_bytes(s, 6, "hello", 5) == 6 && s[0] == 0x45);
}

/* ---- records decode with libcbor to the expected item sequence --------- */

typedef struct ctx {
    int items;
    uint64_t uints[64];
    int nu;
    int arrays;
    int negs;
    int bools;
    int bytes;
} ctx;

static void c_u8(void *c, uint8_t v)
{
    ((ctx *)c)->uints[((ctx *)c)->nu++ & 63] = v;
}
static void c_u16(void *c, uint16_t v)
{
    ((ctx *)c)->uints[((ctx *)c)->nu++ & 63] = v;
}
static void c_u32(void *c, uint32_t v)
{
    ((ctx *)c)->uints[((ctx *)c)->nu++ & 63] = v;
}
static void c_u64(void *c, uint64_t v)
{
    ((ctx *)c)->uints[((ctx *)c)->nu++ & 63] = v;
}
static void c_arr(void *c, size_t n)
{
    (void)n;
    ((ctx *)c)->arrays++;
}
static void c_n8(void *c, uint8_t v)
{
    (void)v;
    ((ctx *)c)->negs++;
}
static void c_n16(void *c, uint16_t v)
{
    (void)v;
    ((ctx *)c)->negs++;
}
static void c_n32(void *c, uint32_t v)
{
    (void)v;
    ((ctx *)c)->negs++;
}
static void c_n64(void *c, uint64_t v)
{
    (void)v;
    ((ctx *)c)->negs++;
}
static void c_bool(void *c, bool v)
{
    (void)v;
    ((ctx *)c)->bools++;
}
static void c_bytes(void *c, cbor_data d, size_t n)
{
    (void)d;
    (void)n;
    ((ctx *)c)->bytes++;
}

static int decode_all(const uint8_t *p, size_t n, ctx *c)
{
    struct cbor_callbacks cb = cbor_empty_callbacks;
    cb.uint8 = c_u8;
    cb.uint16 = c_u16;
    cb.uint32 = c_u32;
    cb.uint64 = c_u64;
    cb.negint8 = c_n8;
    cb.negint16 = c_n16;
    cb.negint32 = c_n32;
    cb.negint64 = c_n64;
    cb.array_start = c_arr;
    cb.boolean = c_bool;
    cb.byte_string = c_bytes;
    memset(c, 0, sizeof *c);
    size_t off = 0;
    while (off < n) {
        struct cbor_decoder_result r = cbor_stream_decode(p + off, n - off, &cb, c);
        if (r.status != CBOR_DECODER_FINISHED)
            return -1;
        off += r.read;
        c->items++;
    }
    return 0;
}

static void test_records(void)
{
    uint8_t buf[DMT_MAX_RECORD];
    dmt_record r;
    ctx c;

    /* Register write, default width: [1, t, off, value] */
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_REG_WRITE;
    r.off = 0x104;
    r.value = 0xDEADBEEF;
    r.width = 4;
    size_t n = dmt_enc_record(buf, sizeof buf, &r, 1234);
    const uint8_t want[] = {0x84, 0x01, 0x19, 0x04, 0xD2, 0x19, 0x01,
                            0x04, 0x1A, 0xDE, 0xAD, 0xBE, 0xEF};
    CHECK(n == sizeof want && memcmp(buf, want, n) == 0);
    CHECK(dmt_enc_record_bound(&r) >= n);
    for (size_t cap = 0; cap < n; cap++)
        CHECK(dmt_enc_record(buf, cap, &r, 1234) == 0);

    /* Width 2 on device 3: both optional fields present. */
    r.width = 2;
    r.dev = 3;
    n = dmt_enc_record(buf, sizeof buf, &r, -5);
    CHECK(n > 0 && buf[0] == 0x86 && buf[2] == 0x24 /* -5 */);

    /* SG list of 16 elements via the 24-byte VP layout. */
    struct vp_el {
        uint64_t addr;
        uint32_t len;
        uint32_t pad;
        uint64_t reserved;
    } els[16];
    for (int i = 0; i < 16; i++) {
        els[i].addr = 0x100000000ull + (uint64_t)i * 0x3000;
        els[i].len = i == 0 ? 0xF00 : 0x1000;
        els[i].pad = 0;
        els[i].reserved = 0;
    }
    els[0].addr += 0x100;
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_EXECUTE_DMA;
    r.xfer = 7;
    r.adapter = 1;
    r.length = 0xF00 + 15 * 0x1000;
    r.n_sg = 16;
    r.sg_list = els;
    r.sg_stride = sizeof els[0];
    n = dmt_enc_record(buf, sizeof buf, &r, 100);
    CHECK(n > 0 && n <= dmt_enc_record_bound(&r));
    CHECK(decode_all(buf, n, &c) == 0);
    CHECK(c.arrays == 2);
    /* element 0 addr and len are unaligned: two negative ints */
    CHECK(c.negs == 2);
    CHECKF(n <= 6 + 16 * 10, "16-element SG record takes %zu bytes", n);
    /* Flags are a trailing field only when set: one more item, one byte. */
    uint8_t buf2[512];
    r.xfer_flags = DMT_XF_BOUNCE_CHECKED | DMT_XF_BOUNCED;
    size_t n2 = dmt_enc_record(buf2, sizeof buf2, &r, 100);
    CHECK(n2 == n + 1 && buf2[0] == 0x87 && buf[0] == 0x86 && buf2[n2 - 1] == 0x03);
    CHECK(memcmp(buf2 + 1, buf + 1, n - 1) == 0);
    r.xfer_flags = 0;

    /* Limits are enforced. */
    r.n_sg = DMT_MAX_SG_ELEMENTS + 1;
    CHECK(dmt_enc_record(buf, sizeof buf, &r, 0) == 0);
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_DESC_WRITE;
    r.n_bytes = DMT_MAX_BYTES + 1;
    static uint8_t big[DMT_MAX_BYTES + 1];
    r.bytes = big;
    CHECK(dmt_enc_record(buf, sizeof buf, &r, 0) == 0);
    r.n_bytes = DMT_MAX_BYTES;
    n = dmt_enc_record(buf, sizeof buf, &r, 0);
    CHECK(n > DMT_MAX_BYTES && decode_all(buf, n, &c) == 0 && c.bytes == 1);
    r.kind = 999;
    CHECK(dmt_enc_record(buf, sizeof buf, &r, 0) == 0);
}

/* ---- the fast paths against a reference encoding -------------------------
 * The record encoder writes common SG elements as one store and register
 * records through a fixed-layout writer; the reference below builds the
 * same records item by item with libcbor's encoders, following
 * schema/trace.cddl, and the bytes must be identical. */

typedef struct refbuf {
    unsigned char b[70000];
    size_t n;
} refbuf;

static void ref_u(refbuf *o, uint64_t v)
{
    o->n += cbor_encode_uint(v, o->b + o->n, sizeof o->b - o->n);
}
static void ref_t(refbuf *o, int64_t t)
{
    o->n += t >= 0 ? cbor_encode_uint((uint64_t)t, o->b + o->n, sizeof o->b - o->n)
                   : cbor_encode_negint(~(uint64_t)t, o->b + o->n, sizeof o->b - o->n);
}
static void ref_arr(refbuf *o, size_t n)
{
    o->n += cbor_encode_array_start(n, o->b + o->n, sizeof o->b - o->n);
}
/* sg-quantity: page units when page-aligned, else -1-bytes */
static void ref_q(refbuf *o, uint64_t v)
{
    if ((v & (DMT_PAGE_SIZE - 1)) == 0)
        ref_u(o, v >> DMT_PAGE_SHIFT);
    else
        o->n += cbor_encode_negint(v, o->b + o->n, sizeof o->b - o->n);
}

static void ref_record(refbuf *o, const dmt_record *r, int64_t t)
{
    o->n = 0;
    if (r->kind == DMT_K_REG_WRITE || r->kind == DMT_K_REG_READ) {
        unsigned extra = r->dev ? 2 : (r->width != 4 && r->width != 0) ? 1 : 0;
        ref_arr(o, 4 + extra);
        ref_u(o, r->kind);
        ref_t(o, t);
        ref_u(o, r->off);
        ref_u(o, r->value);
        if (extra >= 1)
            ref_u(o, r->width ? r->width : 4);
        if (extra >= 2)
            ref_u(o, r->dev);
        return;
    }
    if (r->kind == DMT_K_CPU) {
        ref_arr(o, r->count ? 4 : 3);
        ref_u(o, r->kind);
        ref_t(o, t);
        ref_u(o, r->cpu);
        if (r->count)
            ref_u(o, r->value);
        return;
    }
    if (r->kind == DMT_K_EXECUTE_DMA) {
        ref_arr(o, r->xfer_flags ? 7 : 6);
        ref_u(o, r->kind);
        ref_t(o, t);
        ref_u(o, r->xfer);
        ref_u(o, r->adapter);
        ref_u(o, r->length);
    } else { /* DIGEST with its ranges */
        ref_arr(o, 8);
        ref_u(o, r->kind);
        ref_t(o, t);
        ref_u(o, r->xfer);
        ref_u(o, r->algo);
        ref_u(o, r->length);
        ref_u(o, r->value);
        ref_u(o, r->digest_policy);
    }
    ref_arr(o, 2u * r->n_sg);
    for (uint32_t i = 0; i < r->n_sg; i++) {
        dmt_sg_elem e = dmt_record_sg_at(r, i);
        ref_q(o, e.addr);
        ref_q(o, e.len);
    }
    if (r->kind == DMT_K_EXECUTE_DMA && r->xfer_flags)
        ref_u(o, r->xfer_flags);
}

/* Page numbers and byte counts on every head-size boundary. */
static const uint64_t edge_vals[] = {
    0, 1, 23, 24, 255, 256, 65535, 65536, 0xFFFFFFFFull, 0x100000000ull, 0xFFFFFFFFFFFFFull};

/* An SG address: page-aligned (fast range, below it, above it, on a head
 * boundary) or not, from small to huge. */
static uint64_t rand_addr(void)
{
    uint64_t pg;
    switch (tk_rand(&seed) % 8) {
    case 0:
    case 1: /* the common case: 256 MiB .. 16 TiB */
        return ((uint64_t)0x10000 + tk_rand(&seed) % 0xFFFF0000ull) << DMT_PAGE_SHIFT;
    case 2: /* a page number on a head-size boundary, +-1 */
        pg = edge_vals[tk_rand(&seed) % (sizeof edge_vals / sizeof edge_vals[0])];
        pg += (uint64_t)(tk_rand(&seed) % 3) - 1u;
        return (pg & 0xFFFFFFFFFFFFFull) << DMT_PAGE_SHIFT;
    case 3: /* aligned, any size (huge included) */
        return rand_val() & ~(uint64_t)(DMT_PAGE_SIZE - 1);
    case 4: /* bytes on a head-size boundary (mostly unaligned) */
        return edge_vals[tk_rand(&seed) % (sizeof edge_vals / sizeof edge_vals[0])] +
               (tk_rand(&seed) % 3) - 1u;
    default: /* unaligned, any size */
        return rand_val() | 1u;
    }
}

static uint32_t rand_len(void)
{
    static const uint32_t lens[] = {0,          4096,        23u << 12, 24u << 12,  255u << 12,
                                    256u << 12, 0xFFFFF000u, 23,        24,         255,
                                    256,        65535,       65536,     0xFFFFFFFFu};
    switch (tk_rand(&seed) % 4) {
    case 0: /* pages, mostly few */
        return (uint32_t)(tk_rand(&seed) % 300) << DMT_PAGE_SHIFT;
    case 1:
        return lens[tk_rand(&seed) % (sizeof lens / sizeof lens[0])];
    case 2:
        return (uint32_t)tk_rand(&seed);
    default:
        return 4096;
    }
}

/* enc must equal the reference; every cap gives either those bytes or 0,
 * and a cap with a worst element's room to spare always encodes. */
static void check_same(const dmt_record *r, int64_t t, const char *what, unsigned caps)
{
    static uint8_t buf[70000];
    static refbuf ref;
    ref_record(&ref, r, t);
    size_t n = dmt_enc_record(buf, sizeof buf, r, t);
    CHECKF(n == ref.n && memcmp(buf, ref.b, n) == 0, "%s (kind %u, %u elements): %zu vs %zu bytes",
           what, r->kind, r->n_sg, n, ref.n);
    CHECKF(n <= dmt_enc_record_bound(r), "%s: %zu bytes over the bound %zu", what, n,
           dmt_enc_record_bound(r));
    for (unsigned k = 0; k < caps; k++) {
        size_t cap = k < 20 ? n - (n > k ? k : n) : tk_rand(&seed) % (n + 40);
        size_t m = dmt_enc_record(buf, cap, r, t);
        CHECKF(m == 0 || (m == n && memcmp(buf, ref.b, n) == 0), "%s with cap %zu: %zu bytes", what,
               cap, m);
        if (cap >= n + 18)
            CHECKF(m == n, "%s with cap %zu (needs %zu) refused", what, cap, n);
    }
}

/* A fixed-layout encoder (dmt_enc_reg, dmt_enc_cpu) for r's fields. */
typedef size_t (*fast_fn)(uint8_t *b, size_t cap, const dmt_record *r, int64_t t);

static size_t fast_reg(uint8_t *b, size_t cap, const dmt_record *r, int64_t t)
{
    return dmt_enc_reg(b, cap, r->kind, t, r->off, r->value, r->width, r->dev);
}

static size_t fast_cpu(uint8_t *b, size_t cap, const dmt_record *r, int64_t t)
{
    return dmt_enc_cpu(b, cap, t, r->cpu, r->count != 0, r->value);
}

/* fast writes dmt_enc_record's bytes for r, or 0 where it does, at caps
 * 0..64 (every step-th), and at most max bytes. */
static void check_fast(fast_fn fast, const char *name, const dmt_record *r, int64_t t, size_t step,
                       size_t max)
{
    uint8_t a[64], b[64];
    size_t na = dmt_enc_record(a, sizeof a, r, t);
    for (size_t cap = 0; cap <= sizeof b; cap += step) {
        memset(b, 0xAA, sizeof b);
        size_t nb = fast(b, cap, r, t);
        CHECKF(nb == dmt_enc_record(a, cap, r, t), "%s with cap %zu", name, cap);
        CHECKF(nb == 0 || (nb == na && memcmp(a, b, na) == 0), "%s bytes, cap %zu", name, cap);
    }
    CHECK(fast(b, sizeof b, r, t) == na);
    CHECK(na <= max);
}

static void test_fast_paths(void)
{
    /* register records: every head size of time, offset and value, every
     * optional-field case, through dmt_enc_record and dmt_enc_reg */
    static const uint32_t widths[] = {0, 1, 2, 4, 8};
    for (int i = 0; i < 100000; i++) {
        dmt_record r;
        memset(&r, 0, sizeof r);
        r.kind = i & 1 ? DMT_K_REG_READ : DMT_K_REG_WRITE;
        int edge = i % 4 == 0;
        size_t ne = sizeof edge_vals / sizeof edge_vals[0];
        r.off = edge ? edge_vals[tk_rand(&seed) % ne] : rand_val();
        r.value = edge ? edge_vals[tk_rand(&seed) % ne] : rand_val();
        r.width = widths[tk_rand(&seed) % 5];
        r.dev = tk_rand(&seed) % 3 ? 0 : (uint32_t)rand_val();
        int64_t t = (int64_t)(edge ? edge_vals[tk_rand(&seed) % ne] : rand_val());
        if (tk_rand(&seed) % 4 == 0)
            t = -1 - t;
        check_same(&r, t, "register record", i < 2000 ? 60 : 2);
        check_fast(fast_reg, "dmt_enc_reg", &r, t, i < 2000 ? 1 : 16, DMT_ENC_REG_MAX);
    }

    /* CPU records (the merge's lane changes): every head size of time,
     * CPU and ring sequence, with and without the sequence, through
     * dmt_enc_record and dmt_enc_cpu, at every cap around their length */
    for (int i = 0; i < 100000; i++) {
        dmt_record r;
        memset(&r, 0, sizeof r);
        r.kind = DMT_K_CPU;
        int edge = i % 4 == 0;
        size_t ne = sizeof edge_vals / sizeof edge_vals[0];
        r.cpu = (uint32_t)(edge ? edge_vals[tk_rand(&seed) % ne] : rand_val());
        r.count = tk_rand(&seed) % 2;
        r.value = r.count ? (edge ? edge_vals[tk_rand(&seed) % ne] : rand_val()) : 0;
        int64_t t = (int64_t)(edge ? edge_vals[tk_rand(&seed) % ne] : rand_val());
        if (tk_rand(&seed) % 4 == 0)
            t = -1 - t;
        check_same(&r, t, "cpu record", i < 2000 ? 40 : 2);
        check_fast(fast_cpu, "dmt_enc_cpu", &r, t, i < 2000 ? 1 : 8, DMT_ENC_CPU_MAX);
    }

    /* SG lists of 0..DMT_MAX_SG_ELEMENTS elements in both strides, the
     * common element, its neighbours on every side, and anything else */
    static struct vp_el {
        uint64_t addr;
        uint32_t len;
        uint32_t pad;
        uint64_t reserved;
    } els[DMT_MAX_SG_ELEMENTS];
    static dmt_sg_elem pl[DMT_MAX_SG_ELEMENTS];
    static const uint32_t sizes[] = {0, 1, 2, 15, 16, 17, 255, 1000, DMT_MAX_SG_ELEMENTS};
    for (int i = 0; i < 3000; i++) {
        uint32_t n = i < 9 * 4 ? sizes[i % 9] : (uint32_t)(tk_rand(&seed) % 200);
        int mode = (i / 9) % 4; /* 0 all common, 1 mostly common, 2 any, 3 all pages */
        for (uint32_t k = 0; k < n; k++) {
            uint64_t a = rand_addr();
            uint32_t l = rand_len();
            if (mode == 0 || (mode == 1 && tk_rand(&seed) % 8)) {
                a = ((uint64_t)0x10000 + tk_rand(&seed) % 0xFFFF0000ull) << DMT_PAGE_SHIFT;
                l = (uint32_t)(tk_rand(&seed) % 256) << DMT_PAGE_SHIFT;
            } else if (mode == 3) {
                a &= ~(uint64_t)(DMT_PAGE_SIZE - 1);
                l &= ~(uint32_t)(DMT_PAGE_SIZE - 1);
            }
            els[k].addr = pl[k].addr = a;
            els[k].len = pl[k].len = l;
            els[k].pad = 0xDEADBEEF; /* never read */
        }
        dmt_record r;
        memset(&r, 0, sizeof r);
        r.kind = i % 3 == 2 ? DMT_K_DIGEST : DMT_K_EXECUTE_DMA;
        r.xfer = (uint32_t)rand_val();
        r.adapter = (uint32_t)rand_val();
        r.length = rand_val();
        r.algo = 2;
        r.value = rand_val();
        r.digest_policy = 1;
        r.xfer_flags = i % 5 == 0 ? DMT_XF_BOUNCE_CHECKED : 0;
        r.n_sg = n;
        if (r.kind == DMT_K_DIGEST && n == 0)
            r.n_sg = n = 1; /* a DIGEST with ranges has at least one */
        r.sg_list = i & 1 ? (const void *)els : (const void *)pl;
        r.sg_stride = i & 1 ? sizeof els[0] : 0;
        check_same(&r, (int64_t)rand_val(), "SG record", n <= 20 ? 40 : 4);
    }
}

/* dmt/digest.h against the normative definitions (FORMAT.md 1.8): the
 * word-at-a-time pattern fill equals byte i = byte (i mod 8) of
 * splitmix64(seed + i / 8) at every offset and length, and known answers
 * computed by the independent Python code in tests/tools/check_capture.py. */
static void test_digest(void)
{
    static uint8_t got[9000];
    for (uint64_t off = 0; off < 20; off++)
        for (size_t len = 0; len < 80; len++) {
            memset(got, 0xEE, len + 1);
            dmt_pattern_fill(got, 42, off, len);
            int bad = got[len] != 0xEE; /* nothing written past the end */
            for (size_t i = 0; i < len && !bad; i++) {
                uint64_t pos = off + i;
                bad = got[i] != (uint8_t)(dmt_splitmix64(42 + (pos >> 3)) >> (8u * (pos & 7u)));
            }
            CHECKF(!bad, "pattern at offset %llu, length %zu", (unsigned long long)off, len);
        }
    dmt_pattern_fill(got, 7, 3, 5);
    CHECK(memcmp(got, "\x59\xe4\xe1\xcb\x63", 5) == 0);
    dmt_pattern_fill(got, 7, 3, 1000);
    CHECK(dmt64(got, 1000) == 0x95bcea862cafef40ull);
    dmt_pattern_fill(got, 0xDEADBEEF, 4093, 8191);
    CHECK(dmt64(got, 8191) == 0x3f81579c65bc43bbull);
    CHECK(dmt64("", 0) == 0xc7c2e563faa317f6ull);
    /* any split of the stream gives the same digest */
    dmt64_state st;
    dmt64_init(&st);
    dmt64_update(&st, got, 3);
    dmt64_update(&st, got + 3, 4000);
    dmt64_update(&st, got + 4003, 8191 - 4003);
    CHECK(dmt64_final(&st) == 0x3f81579c65bc43bbull);
}

int main(void)
{
    test_digest();
    test_scalars();
    test_records();
    test_fast_paths();
    return tk_result("test_enc");
}

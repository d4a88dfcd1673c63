/*
 * test_enc.c - the freestanding CBOR encoder against libcbor's encoders:
 * identical bytes for many random values of every type the format uses, the
 * same "0 when the buffer is too small" behaviour, and record encodings that
 * decode with libcbor's cbor_stream_decode to the expected items.
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
    return tk_result("test_enc");
}

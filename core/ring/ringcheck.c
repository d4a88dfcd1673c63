/*
 * ringcheck.c - the drain's fast validator of ring-form records.
 *
 * The drain must not copy a malformed record from the (untrusted) ring into
 * a trace file, and it must keep up with millions of records per second.
 * Decoding each record through libcbor callbacks costs ~250 ns; this
 * checker walks the bytes directly against a per-kind field table and
 * accepts exactly the records dmt_parse_ring_record accepts (a differential
 * test in core/tests/test_ringcheck.c holds it to that), at a fraction of
 * the cost.  It allocates nothing and reads nothing outside [p, p+len).
 *
 * Field codes of the table (one per dmt/kinds.h field type):
 *   u uint   w uint32   b bool   S SG pair array   V uint array (<= DMT_MAX_VALUES)
 *   B bytes (<= DMT_MAX_BYTES)   T text (<= DMT_MAX_TEXT)   W register width (1, 2, 4 or 8)
 * Fields after the table's are allowed if the reader would skip them (a
 * newer minor version): scalars, strings, shallow arrays.
 *
 * The shape cache (dmt_ring_record_check_cached) runs the same walk with a
 * mask beside the record: each head the walk accepts pins (pin) its
 * initial byte and the argument bits its limit read.  Invariant: a record
 * of the cached length whose pinned bits equal the cached record's would
 * take the walk through the same items at the same offsets with the same
 * verdicts, so it is accepted without the walk.
 *
 *   reg_write  85 01 1a 3b 9a ca 00 19 01 00 1b 00 00 00 01 2a 05 f2 00 04
 *   mask       ff ff ff 80 00 00 00 ff 00 00 ff 00 00 00 00 00 00 00 00 ff
 *              [5] kind time, sign  off       value (any value)        width
 */
#include "dmt/ringcheck.h"

#include <string.h>

/* The tables, derived from dmt/kinds.h: per kind that may travel through
 * the ring (class EVENT) its required fields' codes, and the optional
 * trailing fields the reader decodes (and so checks) - register records'
 * width then dev, EXECUTE_DMA's flags. */
#define CODE_U64                          "u"
#define CODE_U32                          "w"
#define CODE_BOOL                         "b"
#define CODE_WIDTH                        "W"
#define CODE_SG                           "S"
#define CODE_VALUES                       "V"
#define CODE_BYTES                        "B"
#define CODE_TEXT                         "T"
#define CODE_(type, member, name)         CODE_##type
#define NONE_(type, member, name)         ""
#define RING_EVENT(codes)                 codes
#define RING_LOST(codes)                  NULL
#define RING_FRAMING(codes)               NULL
#define ENTRY_(id, num, name, cls, codes) [num] = RING_##cls("" codes),
static const char *const fields[DMT_K_MAX_] = {DMT_KINDS(ENTRY_, CODE_, NONE_)};
static const char *const tails[DMT_K_MAX_] = {DMT_KINDS(ENTRY_, NONE_, CODE_)};

typedef struct cur {
    const uint8_t *p, *end;
    const uint8_t *base; /* the record's first byte */
    uint8_t *m;          /* building a shape: the mask of p (NULL: checking only) */
} cur;

/* Building a shape (c->m set): pin the head that starts at h - its initial
 * byte, and of its argument every bit at or above bit `free` (the bits a
 * limit depends on: a record with the same bits there passes the same
 * limit).  free 64: any value; 0: this exact value. */
static inline void pin(cur *c, const uint8_t *h, unsigned free)
{
    if (!c->m)
        return;
    uint8_t *m = c->m + (h - c->base);
    const unsigned ai = h[0] & 0x1Fu;
    const unsigned n = ai < 24 ? 0 : 1u << (ai - 24);
    m[0] = 0xFF;
    for (unsigned j = 0; j < n; j++) {
        const unsigned lo = 8 * (n - 1 - j); /* bit number of byte j's lowest bit */
        m[1 + j] = lo + 8 <= free ? 0 : lo >= free ? 0xFF : (uint8_t)(0xFFu << (free - lo));
    }
}

/* Read one head: major type and argument.  Only definite lengths; the
 * argument width must be 1, 2, 4 or 8 bytes (ai 24..27) or immediate. */
static inline int head(cur *c, unsigned *mt, uint64_t *v)
{
    if (c->p >= c->end)
        return -1;
    uint8_t ib = *c->p++;
    unsigned ai = ib & 0x1Fu;
    *mt = ib >> 5;
    if (ai < 24) {
        *v = ai;
        return 0;
    }
    if (ai > 27)
        return -1; /* reserved, or indefinite length / break */
    size_t n = (size_t)1 << (ai - 24);
    if ((size_t)(c->end - c->p) < n)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = x << 8 | c->p[i];
    c->p += n;
    *v = x;
    return 0;
}

/* An unsigned integer (major type 0), at most UINT32_MAX when u32.  The
 * value itself is not needed: the initial byte says how many argument
 * bytes follow (0x00-0x17 none, 0x18-0x1B 1, 2, 4, 8; anything else is
 * another type, reserved or indefinite), and only an 8-byte argument can
 * exceed UINT32_MAX - when one of its high 4 bytes is not zero. */
static inline int want_uint(cur *c, bool u32)
{
    if (c->p >= c->end)
        return -1;
    const uint8_t ib = *c->p;
    if (ib < 0x18) {
        pin(c, c->p, 64);
        c->p++;
        return 0;
    }
    if (ib > 0x1B)
        return -1;
    const size_t n = (size_t)1 << (ib - 0x18);
    if ((size_t)(c->end - c->p) - 1 < n)
        return -1;
    if (u32 && n == 8 && (c->p[1] | c->p[2] | c->p[3] | c->p[4]))
        return -1;
    pin(c, c->p, u32 ? 32 : 64);
    c->p += 1 + n;
    return 0;
}

static int want_bool(cur *c)
{
    if (c->p >= c->end || (*c->p != 0xF4 && *c->p != 0xF5))
        return -1;
    pin(c, c->p, 64);
    c->p++;
    return 0;
}

static int want_string(cur *c, unsigned want_mt, uint64_t max)
{
    unsigned mt;
    uint64_t n;
    const uint8_t *h = c->p;
    if (head(c, &mt, &n) || mt != want_mt || n > max || n > (uint64_t)(c->end - c->p))
        return -1;
    pin(c, h, 0);
    c->p += n;
    return 0;
}

/* A trailing field of a newer minor version: what the reader skips - a
 * scalar, a string, or an array (two levels at most) of those. */
static int skip_item(cur *c, int depth)
{
    unsigned mt;
    uint64_t v;
    if (c->p >= c->end)
        return -1;
    const uint8_t *h = c->p;
    uint8_t ib = *c->p;
    if ((ib >> 5) == 7) {
        unsigned ai = ib & 0x1Fu;
        if (ai < 20 || ai == 24 || ai > 27)
            return -1; /* unassigned simple values, break */
        if (head(c, &mt, &v))
            return -1;
        pin(c, h, 64);
        return 0;
    }
    if (head(c, &mt, &v))
        return -1;
    pin(c, h, mt < 2 ? 64 : 0);
    switch (mt) {
    case 0:
    case 1:
        return 0;
    case 2:
    case 3:
        if (v > (uint64_t)(c->end - c->p))
            return -1;
        c->p += v;
        return 0;
    case 4:
        if (depth >= 2 || v > 2ull * DMT_MAX_SG_ELEMENTS)
            return -1;
        for (uint64_t i = 0; i < v; i++)
            if (skip_item(c, depth + 1))
                return -1;
        return 0;
    default:
        return -1;
    }
}

static inline int field(cur *c, char code)
{
    const uint8_t *const h0 = c->p;
    unsigned mt;
    uint64_t n, v;
    switch (code) {
    case 'u':
        return want_uint(c, false);
    case 'w':
        return want_uint(c, true);
    case 'W': {
        if (head(c, &mt, &v) || mt != 0 || (v != 1 && v != 2 && v != 4 && v != 8))
            return -1;
        pin(c, h0, 0);
        return 0;
    }
    case 'b':
        return want_bool(c);
    case 'B':
        return want_string(c, 2, DMT_MAX_BYTES);
    case 'T':
        return want_string(c, 3, DMT_MAX_TEXT);
    case 'V':
        if (head(c, &mt, &n) || mt != 4 || n > DMT_MAX_VALUES)
            return -1;
        pin(c, h0, 0);
        for (uint64_t i = 0; i < n; i++)
            if (want_uint(c, false))
                return -1;
        return 0;
    case 'S':
        if (head(c, &mt, &n) || mt != 4 || n > 2ull * DMT_MAX_SG_ELEMENTS || (n & 1))
            return -1;
        pin(c, h0, 0);
        for (uint64_t i = 0; i < n; i++) {
            const uint8_t *h = c->p;
            if (head(c, &mt, &v))
                return -1;
            if (mt == 0) {
                if (v > (UINT64_MAX >> DMT_PAGE_SHIFT))
                    return -1;
                if ((i & 1) && (v << DMT_PAGE_SHIFT) > UINT32_MAX)
                    return -1;
                pin(c, h, (i & 1) ? 32 - DMT_PAGE_SHIFT : 64 - DMT_PAGE_SHIFT);
            } else if (mt == 1) {
                if ((i & 1) && v > UINT32_MAX)
                    return -1;
                pin(c, h, (i & 1) ? 32 : 64);
            } else {
                return -1;
            }
        }
        return 0;
    default:
        return -1;
    }
}

/* The full walk; with m (len zeroed bytes) it also builds the record's
 * shape mask (pin). */
static int walk(const uint8_t *p, size_t len, dmt_ring_record_info *info, uint8_t *m)
{
    cur c = {p, p + len, p, m};
    unsigned mt;
    uint64_t nfields, kind, t;
    if (head(&c, &mt, &nfields) || mt != 4 || nfields < 2 || nfields > 64)
        return -1;
    const uint8_t *const kh = c.p;
    if (head(&c, &mt, &kind) || mt != 0 || kind == 0 || kind >= DMT_K_MAX_ || !fields[kind])
        return -1;
    info->time_off = (uint16_t)(c.p - p);
    if (head(&c, &mt, &t) || (mt != 0 && mt != 1) || t > (uint64_t)INT64_MAX)
        return -1;
    pin(&c, p, 0);
    pin(&c, kh, 0);
    pin(&c, p + info->time_off, 63);
    info->time_len = (uint16_t)((size_t)(c.p - p) - info->time_off);
    info->time = mt == 0 ? (int64_t)t : -1 - (int64_t)t;
    info->kind = (uint32_t)kind;

    /* the required fields: all of them, within the count */
    uint64_t left = nfields - 2;
    for (const char *f = fields[kind]; *f; f++, left--) {
        if (!left)
            return -1;
        if (*f == 'u' || *f == 'w') {
            /* the most common fields: no dispatch */
            if (want_uint(&c, *f == 'w'))
                return -1;
            continue;
        }
        if (field(&c, *f))
            return -1;
    }
    for (const char *g = tails[kind]; g && *g && left; g++, left--)
        if (field(&c, *g))
            return -1;
    for (; left; left--)
        if (skip_item(&c, 0))
            return -1;
    return c.p == c.end ? 0 : -1;
}

int dmt_ring_record_check(const uint8_t *p, size_t len, dmt_ring_record_info *info)
{
    return walk(p, len, info, NULL);
}

void dmt_ring_check_cache_init(dmt_ring_check_cache *cc)
{
    memset(cc, 0, sizeof *cc);
}

int dmt_ring_record_check_learn(dmt_ring_check_cache *cc, const uint8_t *p, size_t len,
                                dmt_ring_record_info *info)
{
    cc->misses++;
    if (len > DMT_RING_SHAPE_MAX)
        return walk(p, len, info, NULL);
    uint8_t m[DMT_RING_SHAPE_MAX];
    memset(m, 0, len);
    if (walk(p, len, info, m) != 0)
        return -1;
    /* Accepted: the last accepted record of its kind (kinds of which every
     * immediate-kind record is looked up under p[1]). */
    dmt_ring_shape *s = &cc->shape[info->kind];
    s->len = (uint16_t)len;
    s->time_off = (uint8_t)info->time_off;
    s->time_len = (uint8_t)info->time_len;
    memcpy(s->ref, p, len);
    memcpy(s->mask, m, len);
    return 0;
}

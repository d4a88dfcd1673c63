/*
 * decode.c - the record decoder (dmt/decode.h): the reader's hot path,
 * held to the libcbor reference (reader.c) by a differential test.
 *
 *   bytes:  [array n] [kind] [time] [field 1] ... [field n-2]
 *              |        |      |        \________ the kind's fields, in the
 *              |        |      |                  order and types of DMT_KINDS
 *              |        |      '-> rec->ts (uint or nint, int64 range)
 *              |        '-> switch (kind); unknown: skip n-2 items, kind 0
 *              '-> 2 <= n <= 64; n - 2 >= the kind's required fields
 *   fields past the kind's last one (a newer minor version): skipped like
 *   the reference skips them (scalars, strings, arrays two levels deep).
 *
 * The per-kind code is expanded from dmt/kinds.h (one case per kind, each
 * field's type and dmt_record member a constant), so a kind or field added
 * there is decoded here with no code; a field type this file does not
 * know makes it decline (the reference then decides) rather than guess.
 *
 * Acceptance is exactly the reference's (libcbor 0.8's streaming decoder
 * with reader.c's checks on top): definite lengths only (any argument
 * width, minimal or not), no tags, no maps, simple values false / true /
 * null / undefined and floats only where an unknown field is skipped.
 * Anything else - including a record that does not end inside len - is
 * "declined" (0), never an error of its own: the reference explains it.
 *
 * dmt_decode_walk is the same walk with the stores left out (one body,
 * decode() below, instantiated twice): the same checks, verdict and
 * length, only the kind and time handed back - for a reader that needs a
 * record's extent but not its fields (the follower's scout, follow.c).
 *
 * Invariants: reads only inside [buf, buf + len) (every argument and
 * string length is compared with the bytes left before it is used);
 * writes only *rec and sg[0 .. DMT_MAX_SG_ELEMENTS), values[0 ..
 * DMT_MAX_VALUES) (counts are checked against the limits before the
 * elements are decoded); allocates nothing.
 */
#include "dmt/decode.h"

#include <stdbool.h>
#include <string.h>

/* The item readers are inlined into every field of every kind (their
 * cursor then stays in registers); GCC would otherwise call them. */
#define HOT static inline __attribute__((always_inline))

/* ---- per kind: its required field count ------------------------------- */

#define N_REQ_(id, num, name, cls, fields) DEC_NREQ_##id = sizeof("" fields) - 1,
enum { DMT_KINDS(N_REQ_, DMT_KINDS_ONE_, DMT_KINDS_NO_FIELD_) };

/* ---- the cursor ----------------------------------------------------------- */

typedef struct cur {
    const uint8_t *p, *end;
} cur;

static inline uint64_t be64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return __builtin_bswap64(x);
}

static inline uint64_t be16(const uint8_t *p)
{
    uint16_t x;
    memcpy(&x, p, sizeof x);
    return __builtin_bswap16(x);
}

static inline uint64_t be32(const uint8_t *p)
{
    uint32_t x;
    memcpy(&x, p, sizeof x);
    return __builtin_bswap32(x);
}

/* The argument of the head whose initial byte was ib (c->p is past it):
 * immediate, or 1, 2, 4 or 8 bytes big-endian.  false for the reserved
 * widths (28-30), indefinite lengths (31) and a head cut by the end.
 * One case per width, each with its own constants: a shared bounds check
 * and a switch on the width cost 20 - 30 more instructions a record. */
HOT bool arg(cur *c, unsigned ib, uint64_t *v)
{
    if ((ib & 0x1Fu) < 24) { /* the common case first: an immediate */
        *v = ib & 0x1Fu;
        return true;
    }
    const size_t left = (size_t)(c->end - c->p);
    switch (ib & 0x1Fu) {
    case 24:
        if (left < 1)
            return false;
        *v = c->p[0];
        c->p += 1;
        return true;
    case 25:
        if (left < 2)
            return false;
        *v = be16(c->p);
        c->p += 2;
        return true;
    case 26:
        if (left < 4)
            return false;
        *v = be32(c->p);
        c->p += 4;
        return true;
    case 27:
        if (left < 8)
            return false;
        *v = be64(c->p);
        c->p += 8;
        return true;
    default: /* 28 - 30 reserved, 31 indefinite */
        return false;
    }
}

/* One head of major type mt; false for any other. */
HOT bool head(cur *c, unsigned mt, uint64_t *v)
{
    if (c->p >= c->end || (*c->p >> 5) != mt)
        return false;
    return arg(c, *c->p++, v);
}

HOT bool get_uint(cur *c, uint64_t max, uint64_t *v)
{
    /* The common case first: an immediate. */
    if (c->p < c->end && *c->p < 24) {
        *v = *c->p++;
        return true;
    }
    return head(c, 0, v) && *v <= max;
}

/* A uint, checked exactly as get_uint(c, u32 ? UINT32_MAX : UINT64_MAX)
 * checks it but not read where it cannot be out of range (the walk):
 * only an 8-byte argument can exceed UINT32_MAX. */
HOT bool skip_uint(cur *c, bool u32)
{
    if (c->p >= c->end)
        return false;
    unsigned ib = *c->p;
    if (ib < 24) {
        c->p++;
        return true;
    }
    if (ib > 27) /* another major type, or a reserved width / indefinite */
        return false;
    size_t n = (size_t)1 << (ib - 24);
    if ((size_t)(c->end - c->p) <= n)
        return false;
    if (u32 && n == 8 && be64(c->p + 1) > UINT32_MAX)
        return false;
    c->p += 1 + n;
    return true;
}

/* An SG quantity: uint = pages, nint n = n bytes (not -1-n). */
HOT bool get_sgq(cur *c, uint64_t *v)
{
    if (c->p >= c->end)
        return false;
    unsigned ib = *c->p, mt = ib >> 5;
    if (mt > 1)
        return false;
    c->p++;
    if (!arg(c, ib, v))
        return false;
    if (mt == 0) {
        if (*v > (UINT64_MAX >> DMT_PAGE_SHIFT))
            return false;
        *v <<= DMT_PAGE_SHIFT;
    }
    return true;
}

/* A string of major type mt and at most max bytes, whole inside the input. */
HOT bool get_string(cur *c, unsigned mt, uint64_t max, const uint8_t **s, uint32_t *n)
{
    uint64_t len;
    if (!head(c, mt, &len) || len > max || len > (uint64_t)(c->end - c->p))
        return false;
    *s = c->p;
    *n = (uint32_t)len;
    c->p += len;
    return true;
}

/* An item a newer minor version appended, or a field of an unknown kind:
 * what the reference skips - a scalar, a definite string, or a definite
 * array (two levels at most, 2 x DMT_MAX_SG_ELEMENTS items) of those. */
static bool skip_item(cur *c, int depth)
{
    uint64_t v;
    if (c->p >= c->end)
        return false;
    unsigned ib = *c->p++;
    switch (ib >> 5) {
    case 0:
    case 1:
        return arg(c, ib, &v);
    case 2:
    case 3:
        if (!arg(c, ib, &v) || v > (uint64_t)(c->end - c->p))
            return false;
        c->p += v;
        return true;
    case 4:
        if (!arg(c, ib, &v) || depth >= 2 || v > 2ull * DMT_MAX_SG_ELEMENTS)
            return false;
        for (uint64_t i = 0; i < v; i++)
            if (!skip_item(c, depth + 1))
                return false;
        return true;
    case 7: {
        unsigned ai = ib & 0x1Fu;
        /* false, true, null, undefined; half, single, double floats */
        if (ai >= 20 && ai <= 23)
            return true;
        return ai >= 25 && ai <= 27 && arg(c, ib, &v);
    }
    default: /* maps, tags */
        return false;
    }
}

/* Skip n items (skip_item): the cursor past them, or NULL.  Out of line
 * and by value, so decode()'s own cursor never has its address taken. */
static __attribute__((noinline)) const uint8_t *skip_items(const uint8_t *p, const uint8_t *end,
                                                           uint64_t n)
{
    cur k = {p, end};
    for (; n; n--)
        if (!skip_item(&k, 0))
            return NULL;
    return k.p;
}

/* ---- one field ------------------------------------------------------------ */

static inline void put32(dmt_record *r, size_t off, uint32_t v)
{
    memcpy((uint8_t *)r + off, &v, sizeof v);
}

/* One field of type `type` (enum dmt_field_type) whose dmt_record member
 * is at `off`; both are constants at every call (the per-kind code below),
 * so each call compiles to the code of its one type.  With store false it
 * is checked exactly as with true, and nothing is written. */
static inline __attribute__((always_inline)) bool get_field(cur *c, unsigned type, size_t off,
                                                            dmt_record *r, dmt_sg_elem *sg,
                                                            uint64_t *values, bool store)
{
    uint64_t v, n;
    switch (type) {
    case DMT_FT_U64:
        if (!store)
            return skip_uint(c, false);
        if (!get_uint(c, UINT64_MAX, &v))
            return false;
        memcpy((uint8_t *)r + off, &v, sizeof v);
        return true;
    case DMT_FT_U32:
        if (!store)
            return skip_uint(c, true);
        if (!get_uint(c, UINT32_MAX, &v))
            return false;
        put32(r, off, (uint32_t)v);
        return true;
    case DMT_FT_WIDTH:
        if (!get_uint(c, UINT32_MAX, &v) || (v != 1 && v != 2 && v != 4 && v != 8))
            return false;
        if (store)
            put32(r, off, (uint32_t)v);
        return true;
    case DMT_FT_BOOL: {
        if (c->p >= c->end || (*c->p != 0xF4 && *c->p != 0xF5))
            return false;
        bool b = *c->p++ == 0xF5;
        if (store)
            memcpy((uint8_t *)r + off, &b, sizeof b);
        return true;
    }
    case DMT_FT_SG:
        if (!head(c, 4, &n) || n > 2ull * DMT_MAX_SG_ELEMENTS || (n & 1))
            return false;
        for (uint64_t i = 0; i < n / 2; i++) {
            uint64_t a, l;
            if (!get_sgq(c, &a) || !get_sgq(c, &l) || l > UINT32_MAX)
                return false;
            if (store) {
                sg[i].addr = a;
                sg[i].len = (uint32_t)l;
            }
        }
        if (store) {
            put32(r, off, (uint32_t)(n / 2));
            r->sg_list = sg;
            r->sg_stride = sizeof(dmt_sg_elem);
        }
        return true;
    case DMT_FT_VALUES:
        if (!head(c, 4, &n) || n > DMT_MAX_VALUES)
            return false;
        for (uint64_t i = 0; i < n; i++)
            if (store ? !get_uint(c, UINT64_MAX, &values[i]) : !skip_uint(c, false))
                return false;
        if (store) {
            put32(r, off, (uint32_t)n);
            r->values = values;
        }
        return true;
    case DMT_FT_BYTES:
    case DMT_FT_TEXT: {
        uint32_t len;
        const uint8_t *s;
        bool text = type == DMT_FT_TEXT;
        if (!get_string(c, text ? 3 : 2, text ? DMT_MAX_TEXT : DMT_MAX_BYTES,
                        store ? &r->bytes : &s, &len))
            return false;
        if (store)
            put32(r, off, len);
        return true;
    }
    default: /* a type added to dmt/kinds.h after this decoder: the reference decides */
        return false;
    }
}

/* Clear *rec with plain 16-byte stores: a memset of the ~200-byte record
 * compiles to `rep stos`, whose start-up cost was half of decoding a
 * register write. */
static inline void clear(dmt_record *rec)
{
    typedef uint64_t v2 __attribute__((vector_size(16), may_alias, aligned(8)));
    v2 *q = (v2 *)rec;
#pragma GCC unroll 32
    for (size_t i = 0; i < sizeof *rec / 16; i++)
        q[i] = (v2){0, 0};
    if (sizeof *rec % 16)
        memset((uint8_t *)rec + sizeof *rec / 16 * 16, 0, sizeof *rec % 16);
}

/* ---- the record ----------------------------------------------------------- */

/* The fields of each kind, expanded from DMT_KINDS into one case per kind
 * (inside the switch of decode() below; `left` is the items after kind
 * and time):
 *   - fewer items than the kind's required fields: declined;
 *   - each required field (F) in wire order; each optional one (O) only
 *     while items are left - `break` leaves the switch with left 0;
 *   - what is left after the last field is skipped after the switch.
 * Every type and member is a constant, so get_field's switch folds away:
 * no table is read per field.  The `break` and `return 0` are the case's
 * own (get_field is a function: no loop encloses them). */
#define FIELD_AT_(type, member)                                                                    \
    if (!get_field(&c, DMT_FT_##type, offsetof(dmt_record, member), rec, sg, values, store))       \
        return 0;
#define REQ_(type, member, name) FIELD_AT_(type, member)
#define OPT_(type, member, name)                                                                   \
    if (left == 0)                                                                                 \
        break;                                                                                     \
    left--;                                                                                        \
    FIELD_AT_(type, member)
#define CASE_(id, num, name, cls, fields)                                                          \
    case num:                                                                                      \
        if (left < DEC_NREQ_##id)                                                                  \
            return 0;                                                                              \
        left -= DEC_NREQ_##id;                                                                     \
        if (store) {                                                                               \
            rec->kind = num;                                                                       \
            rec->width = 4;                                                                        \
            rec->cpu = DMT_CPU_NONE; /* as the reference: the reader sets a record's CPU */        \
        } else {                                                                                   \
            *kind_out = num;                                                                       \
        }                                                                                          \
        fields break;

/* Both entry points: decode into *rec (store), or only check and measure
 * the record, giving its kind and time (!store: rec, sg and values are
 * not touched).  One body, so the two accept exactly the same bytes. */
static inline __attribute__((always_inline)) size_t decode(const uint8_t *buf, size_t len,
                                                           dmt_record *rec, dmt_sg_elem *sg,
                                                           uint64_t *values, bool store,
                                                           uint32_t *kind_out, int64_t *ts_out)
{
    cur c = {buf, buf + len};
    uint64_t nfields, kind, t;

    if (store)
        clear(rec);
    if (!head(&c, 4, &nfields) || nfields < 2 || nfields > 64)
        return 0;
    if (!get_uint(&c, UINT32_MAX, &kind))
        return 0;
    if (c.p >= c.end)
        return 0;
    int64_t ts;
    if ((*c.p >> 5) == 0) {
        if (!head(&c, 0, &t) || t > (uint64_t)INT64_MAX)
            return 0;
        ts = (int64_t)t;
    } else {
        if (!head(&c, 1, &t) || t > (uint64_t)INT64_MAX)
            return 0;
        ts = -1 - (int64_t)t;
    }
    if (store)
        rec->ts = ts;
    else
        *ts_out = ts;
    uint64_t left = nfields - 2;
    switch (kind) {
        DMT_KINDS(CASE_, REQ_, OPT_)
    default:
        /* 0 or a kind from a newer minor version: its fields are skipped. */
        if (!store)
            *kind_out = 0;
        break;
    }
    /* Items past the kind's fields (a newer minor version): skipped. */
    if (left && !(c.p = skip_items(c.p, c.end, left)))
        return 0;
    return (size_t)(c.p - buf);
}

size_t dmt_decode_fast(const uint8_t *buf, size_t len, dmt_record *rec, dmt_sg_elem *sg,
                       uint64_t *values)
{
    return decode(buf, len, rec, sg, values, true, NULL, NULL);
}

size_t dmt_decode_walk(const uint8_t *buf, size_t len, uint32_t *kind, int64_t *ts)
{
    return decode(buf, len, NULL, NULL, NULL, false, kind, ts);
}

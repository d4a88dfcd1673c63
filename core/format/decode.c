/*
 * decode.c - the table-driven record decoder (dmt/decode.h): the reader's
 * hot path, held to the libcbor reference (reader.c) by a differential test.
 *
 *   bytes:  [array n] [kind] [time] [field 1] ... [field n-2]
 *              |        |      |        \________ rows[kind].f[i]: type, offset
 *              |        |      |                  in dmt_record (from DMT_KINDS)
 *              |        |      '-> rec->ts (uint or nint, int64 range)
 *              |        '-> rows[kind]; unknown: skip n-2 items, kind 0
 *              '-> 2 <= n <= 64; n - 2 >= rows[kind].nreq
 *   fields past rows[kind].nall (a newer minor version): skipped like the
 *   reference skips them (scalars, strings, arrays two levels deep).
 *
 * The table is expanded from dmt/kinds.h, so a kind or field added there
 * is decoded here with no code; a field type this file does not know makes
 * it decline (the reference then decides) rather than guess.
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

/* ---- the table: per kind its fields' types and dmt_record offsets ----- */

typedef struct field {
    uint8_t type; /* enum dmt_field_type */
    uint16_t off; /* offsetof(dmt_record, member) */
} field;

typedef struct row {
    uint8_t nreq; /* fields every record of the kind has */
    uint8_t nall; /* required + optional */
    field f[DMT_KIND_MAX_FIELDS];
} row;

#define N_ALL_(id, num, name, cls, fields) DEC_NALL_##id = sizeof("" fields) - 1,
enum { DMT_KINDS(N_ALL_, DMT_KINDS_ONE_, DMT_KINDS_ONE_) };
#define N_REQ_(id, num, name, cls, fields) DEC_NREQ_##id = sizeof("" fields) - 1,
enum { DMT_KINDS(N_REQ_, DMT_KINDS_ONE_, DMT_KINDS_NO_FIELD_) };
#define FIELD_(type, member, name)       {DMT_FT_##type, (uint16_t)offsetof(dmt_record, member)},
#define ROW_(id, num, name, cls, fields) [num] = {DEC_NREQ_##id, DEC_NALL_##id, {fields}},
static const row rows[DMT_K_MAX_] = {DMT_KINDS(ROW_, FIELD_, FIELD_)};

/* ---- the cursor ----------------------------------------------------------- */

typedef struct cur {
    const uint8_t *p, *end;
} cur;

static inline uint64_t be(const uint8_t *p, unsigned n)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < n; i++)
        x = x << 8 | p[i];
    return x;
}

/* The argument of the head whose initial byte was ib (c->p is past it):
 * immediate, or 1, 2, 4 or 8 bytes big-endian.  false for the reserved
 * widths (28-30), indefinite lengths (31) and a head cut by the end. */
static inline bool arg(cur *c, unsigned ib, uint64_t *v)
{
    unsigned ai = ib & 0x1Fu;
    if (ai < 24) {
        *v = ai;
        return true;
    }
    if (ai > 27)
        return false;
    unsigned n = 1u << (ai - 24);
    if ((size_t)(c->end - c->p) < n)
        return false;
    switch (n) {
    case 1:
        *v = c->p[0];
        break;
    case 2:
        *v = be(c->p, 2);
        break;
    case 4:
        *v = be(c->p, 4);
        break;
    default:
        *v = be(c->p, 8);
        break;
    }
    c->p += n;
    return true;
}

/* One head of major type mt; false for any other. */
static inline bool head(cur *c, unsigned mt, uint64_t *v)
{
    if (c->p >= c->end || (*c->p >> 5) != mt)
        return false;
    return arg(c, *c->p++, v);
}

static inline bool get_uint(cur *c, uint64_t max, uint64_t *v)
{
    /* The common case first: an immediate. */
    if (c->p < c->end && *c->p < 24) {
        *v = *c->p++;
        return true;
    }
    return head(c, 0, v) && *v <= max;
}

/* An SG quantity: uint = pages, nint n = n bytes (not -1-n). */
static inline bool get_sgq(cur *c, uint64_t *v)
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
static inline bool get_string(cur *c, unsigned mt, uint64_t max, const uint8_t **s, uint32_t *n)
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

/* ---- one field per table entry ------------------------------------------ */

static inline void put32(dmt_record *r, uint16_t off, uint32_t v)
{
    memcpy((uint8_t *)r + off, &v, sizeof v);
}

/* One field; with store false it is checked exactly as with true, and
 * nothing is written (the walk of dmt_decode_walk). */
static inline __attribute__((always_inline)) bool
get_field(cur *c, field f, dmt_record *r, dmt_sg_elem *sg, uint64_t *values, bool store)
{
    uint64_t v, n;
    switch (f.type) {
    case DMT_FT_U64:
        if (!get_uint(c, UINT64_MAX, &v))
            return false;
        if (store)
            memcpy((uint8_t *)r + f.off, &v, sizeof v);
        return true;
    case DMT_FT_U32:
        if (!get_uint(c, UINT32_MAX, &v))
            return false;
        if (store)
            put32(r, f.off, (uint32_t)v);
        return true;
    case DMT_FT_WIDTH:
        if (!get_uint(c, UINT32_MAX, &v) || (v != 1 && v != 2 && v != 4 && v != 8))
            return false;
        if (store)
            put32(r, f.off, (uint32_t)v);
        return true;
    case DMT_FT_BOOL: {
        if (c->p >= c->end || (*c->p != 0xF4 && *c->p != 0xF5))
            return false;
        bool b = *c->p++ == 0xF5;
        if (store)
            memcpy((uint8_t *)r + f.off, &b, sizeof b);
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
            put32(r, f.off, (uint32_t)(n / 2));
            r->sg_list = sg;
            r->sg_stride = sizeof(dmt_sg_elem);
        }
        return true;
    case DMT_FT_VALUES:
        if (!head(c, 4, &n) || n > DMT_MAX_VALUES)
            return false;
        for (uint64_t i = 0; i < n; i++)
            if (!get_uint(c, UINT64_MAX, store ? &values[i] : &v))
                return false;
        if (store) {
            put32(r, f.off, (uint32_t)n);
            r->values = values;
        }
        return true;
    case DMT_FT_BYTES:
    case DMT_FT_TEXT: {
        uint32_t len;
        const uint8_t *s;
        bool text = f.type == DMT_FT_TEXT;
        if (!get_string(c, text ? 3 : 2, text ? DMT_MAX_TEXT : DMT_MAX_BYTES,
                        store ? &r->bytes : &s, &len))
            return false;
        if (store)
            put32(r, f.off, len);
        return true;
    }
    default: /* a type added to dmt/kinds.h after this decoder: the reference decides */
        return false;
    }
}

/* The decoder's field: get_field with its stores, left to the compiler to
 * inline as it sees fit (one call site; forcing it cost 7% more
 * instructions per record). */
static bool store_field(cur *c, field f, dmt_record *r, dmt_sg_elem *sg, uint64_t *values)
{
    return get_field(c, f, r, sg, values, true);
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
    if ((*c.p >> 5) == 0) {
        if (!head(&c, 0, &t) || t > (uint64_t)INT64_MAX)
            return 0;
        if (store)
            rec->ts = (int64_t)t;
        else
            *ts_out = (int64_t)t;
    } else {
        if (!head(&c, 1, &t) || t > (uint64_t)INT64_MAX)
            return 0;
        if (store)
            rec->ts = -1 - (int64_t)t;
        else
            *ts_out = -1 - (int64_t)t;
    }
    uint64_t left = nfields - 2;
    if (kind == 0 || kind >= DMT_K_MAX_) {
        /* A kind from a newer minor version: its fields are skipped. */
        for (; left; left--)
            if (!skip_item(&c, 0))
                return 0;
        if (!store)
            *kind_out = 0;
        return (size_t)(c.p - buf);
    }
    const row *k = &rows[kind];
    if (left < k->nreq)
        return 0;
    if (store) {
        rec->kind = (uint32_t)kind;
        rec->width = 4;
        rec->cpu = DMT_CPU_NONE; /* as the reference: the reader sets the CPU of a record */
    } else {
        *kind_out = (uint32_t)kind;
    }
    unsigned nf = left < k->nall ? (unsigned)left : k->nall;
    for (unsigned i = 0; i < nf; i++)
        if (store ? !store_field(&c, k->f[i], rec, sg, values)
                  : !get_field(&c, k->f[i], NULL, NULL, NULL, false))
            return 0;
    for (left -= nf; left; left--)
        if (!skip_item(&c, 0))
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

/*
 * reader.c - the streaming trace reader (see dmt/reader.h).
 *
 * Each record is decoded by the table-driven decoder (decode.c, the hot
 * path); where it declines, by the reference decoder here, a pull parser on
 * top of libcbor's cbor_stream_decode: next_item() decodes exactly one
 * data-item header (one callback) and returns it as a small struct; the
 * record parsers below ask for the items a kind must have.  The reference
 * gives every error its message and byte offset (dmt/decode.h).
 *
 *   file --read()--> window [buf .. buf+cap)   (fixed, allocated at open)
 *                      ^pos: next unparsed byte
 *   A record is parsed only when the window holds DMT_MAX_RECORD bytes past
 *   pos or the rest of the file; so an item that "needs more data" is either
 *   truncated (at EOF) or too long (a format error) - never a refill loop.
 *
 * Invariants: nothing is allocated after open; every length read from the
 * input is checked against a DMT_MAX_* limit before use; offsets in errors
 * are absolute file offsets of the item that failed.
 */
#include "dmt/reader.h"

#include <cbor.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmt/crc32c.h"
#include "dmt/decode.h"
#include "dmt/kinds.h"

#define WINDOW (4u * DMT_MAX_RECORD)

enum it_type {
    IT_NONE,
    IT_UINT,
    IT_NINT,
    IT_BYTES,
    IT_TEXT,
    IT_ARRAY,
    IT_MAP,
    IT_TAG,
    IT_BOOL,
    IT_NULL,
    IT_FLOAT,
    IT_UNDEF,
    IT_INDEF, /* any indefinite-length start */
    IT_BREAK
};

typedef struct item {
    enum it_type t;
    uint64_t v;
    const uint8_t *p;
    size_t n;
} item;

struct dmt_reader {
    int fd; /* -1 for memory input */
    unsigned flags;
    const uint8_t *mem; /* memory input, or the window */
    uint8_t *win;       /* owned window for file input */
    size_t len;         /* valid bytes in mem/win */
    size_t pos;         /* next unparsed byte in mem/win */
    uint64_t base;      /* file offset of mem[0] */
    bool eof;           /* no more bytes to read after len */
    bool follow;        /* growing file: the end of the bytes is "not yet" */
    uint64_t limit;     /* follow: read no byte at or past this offset */
    const char *path;

    dmt_header hdr;
    int64_t last_ts;
    uint64_t next_seq;
    uint64_t count;     /* records returned */
    uint64_t skipped;   /* unknown kinds skipped */
    uint32_t cpu;       /* CPU of the records that follow (the last CPU record) */
    bool ring_seq_next; /* the last CPU record gave ring_seq for the next record */
    uint64_t ring_seq;
    uint64_t index; /* index of the record being parsed (framing included) */
    bool ended;     /* END seen or stream over */
    bool cut;
    const char *cut_why;
    uint64_t cut_at;

    /* chunk verification; the CRC-32C is taken lazily over whole runs of
     * records: [crc_from, pos) of the window holds the records of the
     * current chunk not in chunk_crc yet (taken before the window slides
     * and at the CHUNK record) */
    size_t crc_from;
    uint32_t chunk_crc;
    uint64_t chunk_bytes;
    uint64_t chunk_records;
    uint64_t chunk_seq;
    bool saw_end;

    dmt_reader_resume bound; /* the last chunk boundary passed */
    uint64_t hdr_len;        /* header bytes, and their CRC-32C (identity) */
    uint32_t hdr_crc;

    item cur; /* the item the callbacks fill */
    dmt_sg_elem sg[DMT_MAX_SG_ELEMENTS];
    uint64_t values[DMT_MAX_VALUES];
};

/* ---- libcbor callbacks: record the single item decoded ----------------- */

#define CTX ((item *)ctx)
static void cb_u8(void *ctx, uint8_t v)
{
    CTX->t = IT_UINT;
    CTX->v = v;
}
static void cb_u16(void *ctx, uint16_t v)
{
    CTX->t = IT_UINT;
    CTX->v = v;
}
static void cb_u32(void *ctx, uint32_t v)
{
    CTX->t = IT_UINT;
    CTX->v = v;
}
static void cb_u64(void *ctx, uint64_t v)
{
    CTX->t = IT_UINT;
    CTX->v = v;
}
static void cb_n8(void *ctx, uint8_t v)
{
    CTX->t = IT_NINT;
    CTX->v = v;
}
static void cb_n16(void *ctx, uint16_t v)
{
    CTX->t = IT_NINT;
    CTX->v = v;
}
static void cb_n32(void *ctx, uint32_t v)
{
    CTX->t = IT_NINT;
    CTX->v = v;
}
static void cb_n64(void *ctx, uint64_t v)
{
    CTX->t = IT_NINT;
    CTX->v = v;
}
static void cb_bytes(void *ctx, cbor_data p, size_t n)
{
    CTX->t = IT_BYTES;
    CTX->p = p;
    CTX->n = n;
}
static void cb_text(void *ctx, cbor_data p, size_t n)
{
    CTX->t = IT_TEXT;
    CTX->p = p;
    CTX->n = n;
}
static void cb_indef(void *ctx)
{
    CTX->t = IT_INDEF;
}
static void cb_array(void *ctx, size_t n)
{
    CTX->t = IT_ARRAY;
    CTX->v = n;
}
static void cb_map(void *ctx, size_t n)
{
    CTX->t = IT_MAP;
    CTX->v = n;
}
static void cb_tag(void *ctx, uint64_t v)
{
    CTX->t = IT_TAG;
    CTX->v = v;
}
static void cb_float2(void *ctx, float v)
{
    (void)v;
    CTX->t = IT_FLOAT;
}
static void cb_float8(void *ctx, double v)
{
    (void)v;
    CTX->t = IT_FLOAT;
}
static void cb_null(void *ctx)
{
    CTX->t = IT_NULL;
}
static void cb_undef(void *ctx)
{
    CTX->t = IT_UNDEF;
}
static void cb_bool(void *ctx, bool v)
{
    CTX->t = IT_BOOL;
    CTX->v = v;
}
static void cb_break(void *ctx)
{
    CTX->t = IT_BREAK;
}
#undef CTX

static const struct cbor_callbacks callbacks = {
    .uint8 = cb_u8,
    .uint16 = cb_u16,
    .uint32 = cb_u32,
    .uint64 = cb_u64,
    .negint8 = cb_n8,
    .negint16 = cb_n16,
    .negint32 = cb_n32,
    .negint64 = cb_n64,
    .byte_string = cb_bytes,
    .byte_string_start = cb_indef,
    .string = cb_text,
    .string_start = cb_indef,
    .array_start = cb_array,
    .indef_array_start = cb_indef,
    .map_start = cb_map,
    .indef_map_start = cb_indef,
    .tag = cb_tag,
    .float2 = cb_float2,
    .float4 = cb_float2,
    .float8 = cb_float8,
    .undefined = cb_undef,
    .null = cb_null,
    .boolean = cb_bool,
    .indef_break = cb_break,
};

static const char *type_name(enum it_type t)
{
    static const char *const names[] = {"nothing",
                                        "unsigned integer",
                                        "negative integer",
                                        "byte string",
                                        "text string",
                                        "array",
                                        "map",
                                        "tag",
                                        "boolean",
                                        "null",
                                        "float",
                                        "undefined",
                                        "indefinite-length item",
                                        "break"};
    return names[t];
}

/* ---- the parse cursor ----------------------------------------------------
 * A parse runs over [p, end) where end is the window end; offsets reported
 * are base + (p - start). */
typedef struct pc {
    const uint8_t *start; /* window start (offset base) */
    const uint8_t *p;
    const uint8_t *end;
    uint64_t base;
    bool at_eof; /* end is the end of the input */
    dmt_error *err;
    uint64_t index;
} pc;

static uint64_t pc_off(const pc *c)
{
    return c->base + (uint64_t)(c->p - c->start);
}

static int next_item(pc *c, item *it)
{
    memset(it, 0, sizeof *it);
    if (c->p >= c->end) {
        return dmt_error_set(
            c->err, c->at_eof ? DMT_E_TRUNCATED : DMT_E_FORMAT, pc_off(c), c->index,
            c->at_eof ? "input ends inside a record" : "record longer than %u bytes",
            DMT_MAX_RECORD);
    }
    struct cbor_decoder_result r =
        cbor_stream_decode(c->p, (size_t)(c->end - c->p), &callbacks, it);
    if (r.status == CBOR_DECODER_NEDATA) {
        /* A definite string whose declared length alone breaks the limits
         * is a format error wherever the input ends. */
        unsigned mt = c->p[0] >> 5, ai = c->p[0] & 0x1Fu;
        if ((mt == 2 || mt == 3) && ai >= 24 && ai <= 27) {
            size_t hn = (size_t)1 << (ai - 24);
            uint64_t v = 0;
            if ((size_t)(c->end - c->p) > hn) {
                for (size_t i = 0; i < hn; i++)
                    v = v << 8 | c->p[1 + i];
                if (v > DMT_MAX_BYTES)
                    return dmt_error_set(c->err, DMT_E_FORMAT, pc_off(c), c->index,
                                         "string of %llu bytes exceeds the limit of %u",
                                         (unsigned long long)v, DMT_MAX_BYTES);
            }
        }
        if (c->at_eof)
            return dmt_error_set(c->err, DMT_E_TRUNCATED, pc_off(c), c->index,
                                 "input ends inside an item (%zu more bytes needed)",
                                 r.required - (size_t)(c->end - c->p));
        return dmt_error_set(c->err, DMT_E_FORMAT, pc_off(c), c->index,
                             "item longer than the record limit of %u bytes", DMT_MAX_RECORD);
    }
    if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
        return dmt_error_set(c->err, DMT_E_FORMAT, pc_off(c), c->index,
                             "malformed CBOR (initial byte 0x%02x)", c->p[0]);
    if (it->t == IT_NONE)
        return dmt_error_set(c->err, DMT_E_FORMAT, pc_off(c), c->index,
                             "unsupported CBOR item (initial byte 0x%02x)", c->p[0]);
    c->p += r.read;
    return 0;
}

static int expect_fail(pc *c, const item *it, const char *what, const uint8_t *at)
{
    return dmt_error_set(c->err, DMT_E_FORMAT, c->base + (uint64_t)(at - c->start), c->index,
                         "expected %s, found %s", what, type_name(it->t));
}

static int get_u(pc *c, uint64_t *v)
{
    item it;
    const uint8_t *at = c->p;
    int rc = next_item(c, &it);
    if (rc)
        return rc;
    if (it.t != IT_UINT)
        return expect_fail(c, &it, "an unsigned integer", at);
    *v = it.v;
    return 0;
}

static int get_u32(pc *c, uint32_t *v)
{
    uint64_t x = 0;
    const uint8_t *at = c->p;
    int rc = get_u(c, &x);
    if (rc)
        return rc;
    if (x > UINT32_MAX)
        return dmt_error_set(c->err, DMT_E_FORMAT, c->base + (uint64_t)(at - c->start), c->index,
                             "value %llu does not fit 32 bits", (unsigned long long)x);
    *v = (uint32_t)x;
    return 0;
}

static int get_int(pc *c, int64_t *v)
{
    item it;
    const uint8_t *at = c->p;
    int rc = next_item(c, &it);
    if (rc)
        return rc;
    if (it.t == IT_UINT && it.v <= (uint64_t)INT64_MAX) {
        *v = (int64_t)it.v;
        return 0;
    }
    if (it.t == IT_NINT && it.v <= (uint64_t)INT64_MAX) {
        *v = -1 - (int64_t)it.v;
        return 0;
    }
    if (it.t == IT_UINT || it.t == IT_NINT)
        return dmt_error_set(c->err, DMT_E_FORMAT, c->base + (uint64_t)(at - c->start), c->index,
                             "time value out of the 64-bit signed range");
    return expect_fail(c, &it, "an integer", at);
}

static int get_b(pc *c, bool *v)
{
    item it;
    const uint8_t *at = c->p;
    int rc = next_item(c, &it);
    if (rc)
        return rc;
    if (it.t != IT_BOOL)
        return expect_fail(c, &it, "a boolean", at);
    *v = it.v != 0;
    return 0;
}

static int get_blob(pc *c, enum it_type t, uint32_t max, const uint8_t **p, uint32_t *n)
{
    item it;
    const uint8_t *at = c->p;
    int rc = next_item(c, &it);
    if (rc)
        return rc;
    if (it.t != t)
        return expect_fail(c, &it, t == IT_BYTES ? "a byte string" : "a text string", at);
    if (it.n > max)
        return dmt_error_set(c->err, DMT_E_FORMAT, c->base + (uint64_t)(at - c->start), c->index,
                             "string of %zu bytes exceeds the limit of %u", it.n, max);
    *p = it.p;
    *n = (uint32_t)it.n;
    return 0;
}

static int get_array(pc *c, uint64_t max, uint64_t *n)
{
    item it;
    const uint8_t *at = c->p;
    int rc = next_item(c, &it);
    if (rc)
        return rc;
    if (it.t != IT_ARRAY)
        return expect_fail(c, &it, "a definite-length array", at);
    if (it.v > max)
        return dmt_error_set(c->err, DMT_E_FORMAT, c->base + (uint64_t)(at - c->start), c->index,
                             "array of %llu elements exceeds the limit of %llu",
                             (unsigned long long)it.v, (unsigned long long)max);
    *n = it.v;
    return 0;
}

/* Skip one scalar or string item (used for unknown trailing fields and
 * unknown kinds); arrays one level deep of scalars are allowed. */
static int skip_item(pc *c, int depth)
{
    item it;
    const uint8_t *at = c->p;
    int rc = next_item(c, &it);
    if (rc)
        return rc;
    switch (it.t) {
    case IT_UINT:
    case IT_NINT:
    case IT_BYTES:
    case IT_TEXT:
    case IT_BOOL:
    case IT_NULL:
    case IT_FLOAT:
    case IT_UNDEF:
        return 0;
    case IT_ARRAY:
        if (depth >= 2 || it.v > 2u * DMT_MAX_SG_ELEMENTS)
            break;
        for (uint64_t i = 0; i < it.v; i++)
            if ((rc = skip_item(c, depth + 1)))
                return rc;
        return 0;
    default:
        break;
    }
    return dmt_error_set(c->err, DMT_E_FORMAT, c->base + (uint64_t)(at - c->start), c->index,
                         "unexpected %s", type_name(it.t));
}

/* SG quantity: uint = pages, nint n = n bytes. */
static int get_sgq(pc *c, uint64_t *v)
{
    item it;
    const uint8_t *at = c->p;
    int rc = next_item(c, &it);
    if (rc)
        return rc;
    if (it.t == IT_UINT) {
        if (it.v > (UINT64_MAX >> DMT_PAGE_SHIFT))
            return dmt_error_set(c->err, DMT_E_FORMAT, c->base + (uint64_t)(at - c->start),
                                 c->index, "page number out of range");
        *v = it.v << DMT_PAGE_SHIFT;
        return 0;
    }
    if (it.t == IT_NINT) {
        *v = it.v;
        return 0;
    }
    return expect_fail(c, &it, "an address or length (integer)", at);
}

/* The field types of dmt/kinds.h beyond get_u / get_u32 / get_b. */
static int get_width(pc *c, uint32_t *w)
{
    const uint8_t *at = c->p;
    int rc = get_u32(c, w);
    if (rc)
        return rc;
    if (*w != 1 && *w != 2 && *w != 4 && *w != 8)
        return dmt_error_set(c->err, DMT_E_FORMAT, c->base + (uint64_t)(at - c->start), c->index,
                             "register width %u is not 1, 2, 4 or 8", *w);
    return 0;
}

static int get_values(pc *c, dmt_record *r, uint64_t *values)
{
    uint64_t n = 0;
    int rc = get_array(c, DMT_MAX_VALUES, &n);
    if (rc)
        return rc;
    for (uint64_t i = 0; i < n; i++)
        if ((rc = get_u(c, &values[i])))
            return rc;
    r->n_values = (uint32_t)n;
    r->values = values;
    return 0;
}

static int get_sg(pc *c, dmt_record *r, dmt_sg_elem *sg)
{
    const uint8_t *at = c->p;
    uint64_t n = 0;
    int rc = get_array(c, 2ull * DMT_MAX_SG_ELEMENTS, &n);
    if (rc)
        return rc;
    if (n % 2)
        return dmt_error_set(c->err, DMT_E_FORMAT, c->base + (uint64_t)(at - c->start), c->index,
                             "scatter/gather array has an odd number of items");
    for (uint64_t i = 0; i < n / 2; i++) {
        uint64_t a = 0, l = 0;
        const uint8_t *lat;
        if ((rc = get_sgq(c, &a)))
            return rc;
        lat = c->p;
        if ((rc = get_sgq(c, &l)))
            return rc;
        if (l > UINT32_MAX)
            return dmt_error_set(c->err, DMT_E_FORMAT, c->base + (uint64_t)(lat - c->start),
                                 c->index, "element length does not fit 32 bits");
        sg[i].addr = a;
        sg[i].len = (uint32_t)l;
    }
    r->n_sg = (uint32_t)(n / 2);
    r->sg_list = sg;
    r->sg_stride = sizeof(dmt_sg_elem);
    return 0;
}

/* One field of type T into member m of r (the cases of parse_fields). */
#define GET_U64(m)    get_u(c, &r->m)
#define GET_U32(m)    get_u32(c, &r->m)
#define GET_BOOL(m)   get_b(c, &r->m)
#define GET_WIDTH(m)  get_width(c, &r->m)
#define GET_VALUES(m) get_values(c, r, values)
#define GET_SG(m)     get_sg(c, r, sg)
#define GET_BYTES(m)  get_blob(c, IT_BYTES, DMT_MAX_BYTES, &r->bytes, &r->m)
#define GET_TEXT(m)   get_blob(c, IT_TEXT, DMT_MAX_TEXT, &r->bytes, &r->m)
#define REQUIRED_(type, member, name)                                                              \
    if ((rc = GET_##type(member)))                                                                 \
        return rc;                                                                                 \
    used++;
#define OPTIONAL_(type, member, name)                                                              \
    if (nfields > used) {                                                                          \
        if ((rc = GET_##type(member)))                                                             \
            return rc;                                                                             \
        used++;                                                                                    \
    }
#define CASE_(id, num, name, cls, fields)                                                          \
    case num:                                                                                      \
        fields break;

#define N_REQUIRED_(id, num, name, cls, fields) [num] = sizeof("" fields) - 1,
static const uint8_t required[DMT_K_MAX_] = {
    DMT_KINDS(N_REQUIRED_, DMT_KINDS_ONE_, DMT_KINDS_NO_FIELD_)};

/* Parse one record body; the array head gave nfields.  The fields are the
 * kind's row in dmt/kinds.h, expanded at compile time into one case per
 * kind: the required ones, then the optional ones as far as nfields goes,
 * then whatever a newer minor version appended. */
static int parse_fields(pc *c, dmt_record *r, uint64_t nfields, dmt_sg_elem *sg, uint64_t *values)
{
    int rc = 0;
    const uint8_t *kind_at = c->p;

    if ((rc = get_u32(c, &r->kind)))
        return rc;
    if ((rc = get_int(c, &r->ts)))
        return rc;
    if (r->kind == 0 || r->kind >= DMT_K_MAX_) {
        /* A kind from a newer minor version: skip its fields. */
        for (uint64_t i = 2; i < nfields; i++)
            if ((rc = skip_item(c, 0)))
                return rc;
        r->kind = 0;
        return 0;
    }
    if (nfields < required[r->kind] + 2u)
        return dmt_error_set(c->err, DMT_E_FORMAT, c->base + (uint64_t)(kind_at - c->start),
                             c->index, "%s record has %llu fields, needs at least %llu",
                             dmt_kind_name(r->kind), (unsigned long long)nfields,
                             (unsigned long long)required[r->kind] + 2);
    r->width = 4;
    r->cpu = DMT_CPU_NONE;
    uint64_t used = 2;
    switch (r->kind) {
        DMT_KINDS(CASE_, REQUIRED_, OPTIONAL_)
    default:
        return dmt_error_set(c->err, DMT_E_INTERNAL, pc_off(c), c->index, "unhandled kind");
    }
    /* Fields a newer minor version appended: skip them. */
    for (uint64_t i = used; i < nfields; i++)
        if ((rc = skip_item(c, 0)))
            return rc;
    return 0;
}

static int parse_record(pc *c, dmt_record *r, dmt_sg_elem *sg, uint64_t *values)
{
    uint64_t n = 0;
    int rc;
    memset(r, 0, sizeof *r);
    r->pos = pc_off(c);
    if ((rc = get_array(c, 64, &n)))
        return rc;
    if (n < 2)
        return dmt_error_set(c->err, DMT_E_FORMAT, r->pos, c->index,
                             "record array has %llu items, needs kind and time",
                             (unsigned long long)n);
    return parse_fields(c, r, n, sg, values);
}

int dmt_parse_ring_record(const uint8_t *buf, size_t len, dmt_record *rec, dmt_sg_elem *sg_scratch,
                          uint64_t *values_scratch, dmt_error *err)
{
    pc c = {buf, buf, buf + len, 0, true, err, DMT_NO_INDEX};
    int rc = parse_record(&c, rec, sg_scratch, values_scratch);
    if (rc)
        return rc;
    if (rec->kind == 0)
        return dmt_error_set(err, DMT_E_FORMAT, 0, DMT_NO_INDEX, "unknown record kind");
    if (c.p != c.end)
        return dmt_error_set(err, DMT_E_FORMAT, (uint64_t)(c.p - buf), DMT_NO_INDEX,
                             "%zu bytes after the record", (size_t)(c.end - c.p));
    rec->pos = 0;
    return 0;
}

int dmt_decode_reference(const uint8_t *buf, size_t len, dmt_record *rec, dmt_sg_elem *sg,
                         uint64_t *values, size_t *used, dmt_error *err)
{
    pc c = {buf, buf, buf + len, 0, true, err, DMT_NO_INDEX};
    int rc = parse_record(&c, rec, sg, values);
    if (rc)
        return rc;
    rec->pos = 0;
    *used = (size_t)(c.p - buf);
    return 0;
}

/* ---- window management ----------------------------------------------- */

/* Whether fill() would read: a file not at its end with less than a
 * record's worth (DMT_MAX_RECORD + 16 bytes) past pos.  Inline, so the
 * reader pays a call per window rather than per record. */
static inline bool fill_due(const dmt_reader *rd)
{
    return rd->fd >= 0 && !rd->eof && rd->len - rd->pos < DMT_MAX_RECORD + 16;
}

static int fill(dmt_reader *rd, dmt_error *err)
{
    if (!fill_due(rd))
        return 0;
    /* Take the CRC of the chunk's records before their bytes move, then
     * slide the unparsed tail to the front and read more. */
    if (rd->pos > rd->crc_from)
        rd->chunk_crc = dmt_crc32c(rd->chunk_crc, rd->win + rd->crc_from, rd->pos - rd->crc_from);
    rd->crc_from = 0;
    size_t keep = rd->len - rd->pos;
    memmove(rd->win, rd->win + rd->pos, keep);
    rd->base += rd->pos;
    rd->pos = 0;
    rd->len = keep;
    while (rd->len < WINDOW) {
        size_t want = WINDOW - rd->len;
        uint64_t at = rd->base + rd->len;
        if (rd->follow && (at >= rd->limit || rd->limit - at < want))
            want = rd->limit > at ? (size_t)(rd->limit - at) : 0;
        if (want == 0) {
            rd->eof = true;
            break;
        }
        ssize_t n = read(rd->fd, rd->win + rd->len, want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            dmt_error_set(err, DMT_E_IO, rd->base + rd->len, DMT_NO_INDEX, "read failed: %s",
                          strerror(e));
            if (err)
                err->sys_errno = e;
            return DMT_E_IO;
        }
        if (n == 0) {
            rd->eof = true;
            break;
        }
        rd->len += (size_t)n;
    }
    rd->mem = rd->win;
    return 0;
}

static pc make_pc(dmt_reader *rd, dmt_error *err)
{
    pc c;
    c.start = rd->mem;
    c.p = rd->mem + rd->pos;
    c.at_eof = rd->fd < 0 || rd->eof;
    /* Never let one record run past DMT_MAX_RECORD bytes. */
    size_t avail = rd->len - rd->pos;
    if (avail > DMT_MAX_RECORD + 16) {
        avail = DMT_MAX_RECORD + 16;
        c.at_eof = false;
    }
    c.end = c.p + avail;
    c.base = rd->base;
    c.err = err;
    c.index = rd->index;
    return c;
}

/* The bytes a record may take at pos: what the window holds, at most
 * DMT_MAX_RECORD + 16 (make_pc's end, for the fast decoder). */
static inline size_t avail_at(const dmt_reader *rd)
{
    size_t avail = rd->len - rd->pos;
    return avail > DMT_MAX_RECORD + 16 ? DMT_MAX_RECORD + 16 : avail;
}

/* ---- resume points ------------------------------------------------------ */

/* Remember the boundary the reader stands at (after the header or a CHUNK
 * record): every chunk counter is zero here. */
static void snap_boundary(dmt_reader *rd)
{
    dmt_reader_resume *b = &rd->bound;
    b->offset = rd->base + rd->pos;
    b->seq = rd->next_seq;
    b->ts = rd->last_ts;
    b->cpu = rd->cpu;
    b->ring_seq_next = rd->ring_seq_next;
    b->ring_seq = rd->ring_seq;
    b->index = rd->index;
    b->count = rd->count;
}

/* ---- header ------------------------------------------------------------ */

static void copy_text(char *dst, size_t cap, const uint8_t *p, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, p, n);
    dst[n] = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)dst[i] < 0x20)
            dst[i] = '?';
}

static int parse_header(dmt_reader *rd, dmt_error *err)
{
    int rc;
    item it;
    uint64_t n;
    bool have_magic = false, have_version = false;
    pc c;

    if ((rc = fill(rd, err)))
        return rc;
    c = make_pc(rd, err);
    c.index = DMT_NO_INDEX;
    if (rd->len == 0)
        return dmt_error_set(err, DMT_E_FOREIGN, 0, DMT_NO_INDEX, "empty file, not a trace");
    if (rd->len < 3 || memcmp(rd->mem, "\xd9\xd9\xf7", 3) != 0)
        return dmt_error_set(err, DMT_E_FOREIGN, 0, DMT_NO_INDEX,
                             "not a dmatrace trace (expected the CBOR tag 55799, d9 d9 f7)");
    c.p += 3;
    {
        const uint8_t *at = c.p;
        if ((rc = next_item(&c, &it)))
            return rc;
        if (it.t != IT_MAP)
            return expect_fail(&c, &it, "the header map", at);
        if (it.v > 64)
            return dmt_error_set(err, DMT_E_FORMAT, c.base + (uint64_t)(at - c.start), DMT_NO_INDEX,
                                 "header map has %llu entries (limit 64)",
                                 (unsigned long long)it.v);
        n = it.v;
    }
    memset(&rd->hdr, 0, sizeof rd->hdr);
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *key;
        uint32_t klen;
        const uint8_t *at;
        if ((rc = get_blob(&c, IT_TEXT, 64, &key, &klen)))
            return rc;
        at = c.p;
#define KEY(s) (klen == sizeof(s) - 1 && memcmp(key, s, klen) == 0)
        if (KEY("magic") || KEY("producer") || KEY("clock") || KEY("host") || KEY("scenario") ||
            KEY("os") || KEY("boot_options") || KEY("placement") || KEY("regmap_name")) {
            const uint8_t *p;
            uint32_t len;
            if ((rc = get_blob(&c, IT_TEXT, DMT_MAX_TEXT, &p, &len)))
                return rc;
            if (KEY("magic")) {
                if (len != 8 || memcmp(p, "dmatrace", 8) != 0)
                    return dmt_error_set(err, DMT_E_FOREIGN, c.base + (uint64_t)(at - c.start),
                                         DMT_NO_INDEX, "header magic is not \"dmatrace\"");
                have_magic = true;
            } else if (KEY("producer"))
                copy_text(rd->hdr.producer, sizeof rd->hdr.producer, p, len);
            else if (KEY("clock"))
                copy_text(rd->hdr.clock, sizeof rd->hdr.clock, p, len);
            else if (KEY("host"))
                copy_text(rd->hdr.host, sizeof rd->hdr.host, p, len);
            else if (KEY("os"))
                copy_text(rd->hdr.os, sizeof rd->hdr.os, p, len);
            else if (KEY("boot_options"))
                copy_text(rd->hdr.boot_options, sizeof rd->hdr.boot_options, p, len);
            else if (KEY("regmap_name"))
                copy_text(rd->hdr.regmap_name, sizeof rd->hdr.regmap_name, p, len);
            else if (KEY("placement")) {
                copy_text(rd->hdr.placement, sizeof rd->hdr.placement, p, len);
                rd->hdr.has_layout = true;
            } else
                copy_text(rd->hdr.scenario, sizeof rd->hdr.scenario, p, len);
        } else if (KEY("version")) {
            uint32_t v;
            if ((rc = get_u32(&c, &v)))
                return rc;
            if (v < DMT_FORMAT_VERSION_MIN || v > DMT_FORMAT_VERSION)
                return dmt_error_set(err, DMT_E_VERSION, c.base + (uint64_t)(at - c.start),
                                     DMT_NO_INDEX,
                                     "format version %u, this build reads versions %u to %u", v,
                                     DMT_FORMAT_VERSION_MIN, DMT_FORMAT_VERSION);
            rd->hdr.version = v;
            have_version = true;
        } else if (KEY("t0")) {
            if ((rc = get_int(&c, &rd->hdr.t0)))
                return rc;
        } else if (KEY("page_shift")) {
            if ((rc = get_u32(&c, &rd->hdr.page_shift)))
                return rc;
            if (rd->hdr.page_shift != DMT_PAGE_SHIFT)
                return dmt_error_set(err, DMT_E_FORMAT, c.base + (uint64_t)(at - c.start),
                                     DMT_NO_INDEX, "page_shift %u is not %u", rd->hdr.page_shift,
                                     DMT_PAGE_SHIFT);
        } else if (KEY("seed")) {
            if ((rc = get_u(&c, &rd->hdr.seed)))
                return rc;
        } else if (KEY("seq0")) {
            if ((rc = get_u(&c, &rd->hdr.seq0)))
                return rc;
        } else if (KEY("ring_size")) {
            if ((rc = get_u(&c, &rd->hdr.ring_size)))
                return rc;
        } else if (KEY("ring_policy")) {
            if ((rc = get_u32(&c, &rd->hdr.ring_policy)))
                return rc;
        } else if (KEY("os_build") || KEY("cpus") || KEY("page_size") || KEY("contig_permille") ||
                   KEY("map_register_cap")) {
            uint32_t *f = KEY("os_build")          ? &rd->hdr.os_build
                          : KEY("cpus")            ? &rd->hdr.cpus
                          : KEY("page_size")       ? &rd->hdr.page_size
                          : KEY("contig_permille") ? &rd->hdr.contig_permille
                                                   : &rd->hdr.map_register_cap;
            if ((rc = get_u32(&c, f)))
                return rc;
        } else if (KEY("clock_hz") || KEY("phys_mem") || KEY("ram_low_top") ||
                   KEY("ram_high_top") || KEY("regmap_hash")) {
            uint64_t *f = KEY("clock_hz")      ? &rd->hdr.clock_hz
                          : KEY("phys_mem")    ? &rd->hdr.phys_mem
                          : KEY("ram_low_top") ? &rd->hdr.ram_low_top
                          : KEY("regmap_hash") ? &rd->hdr.regmap_hash
                                               : &rd->hdr.ram_high_top;
            if ((rc = get_u(&c, f)))
                return rc;
        } else if (KEY("ring_seq0")) {
            uint64_t nr;
            if ((rc = get_array(&c, DMT_MAX_RINGS, &nr)))
                return rc;
            for (uint64_t k = 0; k < nr; k++)
                if ((rc = get_u(&c, &rd->hdr.ring_seq0[k])))
                    return rc;
            rd->hdr.n_ring_seq0 = (uint32_t)nr;
        } else {
            if ((rc = skip_item(&c, 0)))
                return rc;
        }
#undef KEY
    }
    if (!have_magic)
        return dmt_error_set(err, DMT_E_FOREIGN, 3, DMT_NO_INDEX, "header has no \"magic\" key");
    if (!have_version)
        return dmt_error_set(err, DMT_E_FORMAT, 3, DMT_NO_INDEX, "header has no \"version\" key");
    if (rd->hdr.page_shift == 0)
        rd->hdr.page_shift = DMT_PAGE_SHIFT;
    rd->pos = (size_t)(c.p - rd->mem);
    rd->crc_from = rd->pos;
    rd->last_ts = rd->hdr.t0;
    rd->next_seq = rd->hdr.seq0;
    rd->cpu = DMT_CPU_NONE;
    rd->ring_seq_next = false;
    rd->chunk_seq = rd->hdr.seq0;
    rd->hdr_len = rd->base + rd->pos;
    rd->hdr_crc = rd->base == 0 ? dmt_crc32c(0, rd->mem, rd->pos) : 0;
    snap_boundary(rd);
    return 0;
}

static int finish_open(dmt_reader *rd, dmt_reader **out, dmt_error *err)
{
    int rc = parse_header(rd, err);
    if (rc) {
        dmt_reader_close(rd);
        *out = NULL;
        return rc;
    }
    *out = rd;
    return 0;
}

static dmt_reader *alloc_reader(unsigned flags)
{
    dmt_reader *rd = calloc(1, sizeof *rd);
    if (!rd)
        return NULL;
    rd->fd = -1;
    rd->flags = flags;
    return rd;
}

int dmt_reader_open(const char *path, unsigned flags, dmt_reader **out, dmt_error *err)
{
    dmt_error_clear(err);
    *out = NULL;
    dmt_reader *rd = alloc_reader(flags);
    if (!rd)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    rd->win = malloc(WINDOW);
    if (!rd->win) {
        free(rd);
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    rd->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (rd->fd < 0) {
        int e = errno;
        free(rd->win);
        free(rd);
        dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "cannot open: %s", strerror(e));
        if (err)
            err->sys_errno = e;
        return DMT_E_IO;
    }
    rd->path = path;
    rd->mem = rd->win;
    return finish_open(rd, out, err);
}

int dmt_reader_open_mem(const void *buf, size_t len, unsigned flags, dmt_reader **out,
                        dmt_error *err)
{
    dmt_error_clear(err);
    *out = NULL;
    dmt_reader *rd = alloc_reader(flags);
    if (!rd)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    rd->mem = buf;
    rd->len = len;
    rd->eof = true;
    return finish_open(rd, out, err);
}

void dmt_reader_close(dmt_reader *rd)
{
    if (!rd)
        return;
    if (rd->fd >= 0)
        close(rd->fd);
    free(rd->win);
    free(rd);
}

const dmt_header *dmt_reader_header(const dmt_reader *rd)
{
    return &rd->hdr;
}

uint64_t dmt_reader_count(const dmt_reader *rd)
{
    return rd->count;
}

uint64_t dmt_reader_skipped(const dmt_reader *rd)
{
    return rd->skipped;
}

uint64_t dmt_reader_offset(const dmt_reader *rd)
{
    return rd->base + rd->pos;
}

bool dmt_reader_cut(const dmt_reader *rd, uint64_t *offset, const char **why)
{
    if (offset)
        *offset = rd->cut_at;
    if (why)
        *why = rd->cut_why;
    return rd->cut;
}

void dmt_reader_follow(dmt_reader *rd, uint64_t limit)
{
    rd->follow = rd->fd >= 0;
    rd->limit = limit;
    rd->eof = false;
    /* Bytes at or past the limit already in the window (read at open,
     * before there was a limit) are given back: read again once the limit
     * passes them. */
    if (rd->follow && rd->base + rd->len > limit && limit >= rd->base + rd->pos &&
        lseek(rd->fd, (off_t)limit, SEEK_SET) == (off_t)limit)
        rd->len = (size_t)(limit - rd->base);
}

void dmt_reader_unfollow(dmt_reader *rd)
{
    rd->follow = false;
    rd->eof = false;
}

static int end_of_input(dmt_reader *rd, const char *why, int code, dmt_error *err)
{
    uint64_t at = rd->base + rd->pos;
    if (rd->follow) {
        /* Not the end: the writer has not written the rest yet. */
        rd->eof = false;
        return DMT_READER_AGAIN;
    }
    if (rd->flags & DMT_READ_ALLOW_CUT) {
        rd->cut = true;
        rd->cut_at = at;
        rd->cut_why = why;
        rd->ended = true;
        return 0;
    }
    return dmt_error_set(err, code, at, rd->index, "%s", why);
}

/* The element count of the (already parsed, hence whole) array whose head
 * is at p: a CPU record's 4th element is its ring_seq. */
static uint64_t array_len(const uint8_t *p)
{
    const unsigned ai = p[0] & 0x1Fu;
    if (ai < 24)
        return ai;
    const unsigned n = ai == 24 ? 1 : ai == 25 ? 2 : ai == 26 ? 4 : 8;
    uint64_t v = 0;
    for (unsigned i = 1; i <= n; i++)
        v = v << 8 | p[i];
    return v;
}

int dmt_reader_next(dmt_reader *rd, dmt_record *rec, dmt_error *err)
{
    int rc;
    for (;;) {
        if (rd->ended)
            return 0;
        if (fill_due(rd) && (rc = fill(rd, err)))
            return rc;
        if (rd->pos >= rd->len) {
            if (rd->saw_end) {
                rd->ended = true;
                return 0;
            }
            return end_of_input(rd, "file ends without its END record (not closed cleanly)",
                                DMT_E_TRUNCATED, err);
        }
        if (rd->saw_end)
            return dmt_error_set(err, DMT_E_FORMAT, rd->base + rd->pos, rd->index,
                                 "trailing bytes after the END record");

        /* The table-driven decoder first; the reference where it declines
         * (to explain the error, or to decide should they ever disagree). */
        size_t used = 0;
        if (!(rd->flags & (DMT_READ_REFERENCE | DMT_READ_SCOUT))) {
            used = dmt_decode_fast(rd->mem + rd->pos, avail_at(rd), rec, rd->sg, rd->values);
        } else if (!(rd->flags & DMT_READ_REFERENCE)) {
            /* The scout: a record that takes the next sequence number and
             * sets no state is walked (the fast decoder's checks without
             * its stores) and accounted as below; any other - CPU, LOST,
             * CHUNK, END, unknown, or one the walk declines - is decoded.
             * Walked records follow one another here while the window
             * holds a whole record's worth (fill would do nothing).  The
             * run is counted in locals (the walk is a call: rd's members
             * would be reloaded and stored per record) and accounted to rd
             * once, to the same state record-by-record accounting gives. */
            size_t avail = avail_at(rd), pos = rd->pos;
            int64_t last_ts = rd->last_ts, ts, dt;
            uint64_t walked = 0;
            uint32_t kind;
            bool plain, overflow = false;
            for (;;) {
                used = dmt_decode_walk(rd->mem + pos, avail, &kind, &dt);
                plain = used && kind != 0 && kind != DMT_K_CHUNK && kind != DMT_K_END &&
                        kind != DMT_K_CPU && kind != DMT_K_LOST;
                if (!plain || (overflow = __builtin_add_overflow(last_ts, dt, &ts)))
                    break;
                last_ts = ts;
                pos += used;
                walked++;
                if (rd->len - pos < DMT_MAX_RECORD + 16)
                    break;
                avail = DMT_MAX_RECORD + 16;
            }
            rd->last_ts = last_ts;
            rd->chunk_bytes += pos - rd->pos;
            rd->pos = pos;
            rd->index += walked;
            rd->chunk_records += walked;
            rd->next_seq += walked;
            rd->count += walked;
            if (walked)
                rd->ring_seq_next = false;
            if (overflow)
                return dmt_error_set(err, DMT_E_FORMAT, rd->base + rd->pos, rd->index,
                                     "time delta overflows 64 bits");
            if (plain)
                continue;
            used = dmt_decode_fast(rd->mem + rd->pos, avail_at(rd), rec, rd->sg, rd->values);
        }
        if (used) {
            rec->pos = rd->base + rd->pos;
        } else {
            /* The reference: declined by the fast decoder, or every record
             * with DMT_READ_REFERENCE. */
            dmt_error local;
            pc c = make_pc(rd, err ? err : &local);
            rc = parse_record(&c, rec, rd->sg, rd->values);
            if (rc == DMT_E_TRUNCATED)
                return end_of_input(rd, "file ends inside a record", DMT_E_TRUNCATED, err);
            if (rc)
                return rc;
            used = (size_t)(c.p - (rd->mem + rd->pos));
        }

        size_t rec_at = rd->pos;
        uint64_t rec_index = rd->index;
        rd->pos += used;
        rd->index++;

        /* Time: delta from the previous record. */
        int64_t ts;
        if (__builtin_add_overflow(rd->last_ts, rec->ts, &ts))
            return dmt_error_set(err, DMT_E_FORMAT, rec->pos, rec_index,
                                 "time delta overflows 64 bits");
        rec->ts = ts;
        rd->last_ts = ts;

        if (rec->kind == DMT_K_CHUNK || rec->kind == DMT_K_END) {
            /* framing: the chunk's records end here, the next run starts after */
            if (rec_at > rd->crc_from)
                rd->chunk_crc =
                    dmt_crc32c(rd->chunk_crc, rd->mem + rd->crc_from, rec_at - rd->crc_from);
            rd->crc_from = rd->pos;
        }
        if (rec->kind == DMT_K_CHUNK) {
            if (rec->count != rd->chunk_records || rec->length != rd->chunk_bytes)
                return dmt_error_set(
                    err, DMT_E_CHECKSUM, rec->pos, rec_index,
                    "chunk claims %llu records in %llu bytes, found %llu in %llu",
                    (unsigned long long)rec->count, (unsigned long long)rec->length,
                    (unsigned long long)rd->chunk_records, (unsigned long long)rd->chunk_bytes);
            if (rec->value != rd->chunk_crc)
                return dmt_error_set(err, DMT_E_CHECKSUM, rec->pos, rec_index,
                                     "chunk CRC-32C 0x%08llx does not match the data (0x%08x)",
                                     (unsigned long long)rec->value, rd->chunk_crc);
            if (rec->seq != rd->chunk_seq)
                return dmt_error_set(err, DMT_E_FORMAT, rec->pos, rec_index,
                                     "chunk starts at sequence %llu, expected %llu",
                                     (unsigned long long)rec->seq,
                                     (unsigned long long)rd->chunk_seq);
            rd->chunk_crc = 0;
            rd->chunk_bytes = 0;
            rd->chunk_records = 0;
            rd->chunk_seq = rd->next_seq;
            snap_boundary(rd);
            if (rd->flags & DMT_READ_FRAMING)
                return 1;
            continue;
        }
        if (rec->kind == DMT_K_END) {
            if (rd->chunk_records != 0)
                return dmt_error_set(err, DMT_E_FORMAT, rec->pos, rec_index,
                                     "END record follows %llu records outside any chunk",
                                     (unsigned long long)rd->chunk_records);
            rd->saw_end = true;
            if (rd->flags & DMT_READ_FRAMING)
                return 1;
            continue;
        }

        rd->chunk_bytes += used;
        rd->chunk_records++;

        if (rec->kind == DMT_K_CPU) {
            /* The CPU of what follows; takes no sequence number and is
             * never returned (schema/FORMAT.md 1.4).  Its ring_seq, when
             * it has one, goes to the next record. */
            rd->cpu = rec->cpu;
            rd->ring_seq_next = array_len(rd->mem + rec_at) >= 4;
            rd->ring_seq = rec->value;
            continue;
        }
        rec->cpu = rd->cpu;
        rec->has_ring_seq = rd->ring_seq_next;
        rec->ring_seq = rd->ring_seq_next ? rd->ring_seq : 0;
        if (rec->kind == 0) {
            /* Unknown kind: it took a number, of the same CPU. */
            rd->ring_seq++;
            rd->skipped++;
            rd->next_seq++;
            continue;
        }
        rd->ring_seq_next = false;
        if (rec->kind == DMT_K_LOST) {
            if (rec->value != rd->next_seq)
                return dmt_error_set(err, DMT_E_FORMAT, rec->pos, rec_index,
                                     "lost range starts at sequence %llu, expected %llu",
                                     (unsigned long long)rec->value,
                                     (unsigned long long)rd->next_seq);
            if (rec->count == 0 || rec->count > UINT64_MAX - rd->next_seq)
                return dmt_error_set(err, DMT_E_FORMAT, rec->pos, rec_index,
                                     "lost range of %llu records is invalid",
                                     (unsigned long long)rec->count);
            rec->seq = rec->value;
            rd->next_seq += rec->count;
        } else {
            rec->seq = rd->next_seq++;
        }
        rd->count++;
        return 1;
    }
}

/* ---- resume points ------------------------------------------------------ */

void dmt_reader_boundary(const dmt_reader *rd, dmt_reader_resume *rp)
{
    *rp = rd->bound;
}

uint64_t dmt_reader_boundary_offset(const dmt_reader *rd)
{
    return rd->bound.offset;
}

void dmt_reader_identity(const dmt_reader *rd, uint64_t *header_len, uint32_t *header_crc)
{
    if (header_len)
        *header_len = rd->hdr_len;
    if (header_crc)
        *header_crc = rd->hdr_crc;
}

/* Put the reader at rp with the state a full read has there.  The window
 * is emptied (file) or repositioned (memory); nothing is verified yet. */
static int go_to(dmt_reader *rd, const dmt_reader_resume *rp, dmt_error *err)
{
    if (rd->fd >= 0) {
        if (lseek(rd->fd, (off_t)rp->offset, SEEK_SET) < 0) {
            int e = errno;
            dmt_error_set(err, DMT_E_IO, rp->offset, DMT_NO_INDEX, "seek failed: %s", strerror(e));
            if (err)
                err->sys_errno = e;
            return DMT_E_IO;
        }
        rd->base = rp->offset;
        rd->pos = rd->len = 0;
        rd->eof = false;
    } else {
        rd->pos = (size_t)rp->offset;
    }
    rd->crc_from = rd->pos;
    rd->chunk_crc = 0;
    rd->chunk_bytes = 0;
    rd->chunk_records = 0;
    rd->chunk_seq = rp->seq;
    rd->next_seq = rp->seq;
    rd->last_ts = rp->ts;
    rd->cpu = rp->cpu;
    rd->ring_seq_next = rp->ring_seq_next;
    rd->ring_seq = rp->ring_seq;
    rd->index = rp->index;
    rd->count = rp->count;
    rd->skipped = 0;
    rd->ended = rd->cut = rd->saw_end = false;
    rd->cut_why = NULL;
    rd->cut_at = 0;
    snap_boundary(rd);
    return 0;
}

/* Check rp against the file and read the chunk it opens (framing on),
 * then go back to rp: a record is handed out only once the chunk it starts
 * in is known to begin at rp.  Closes rd on failure. */
static int resume(dmt_reader *rd, uint64_t size, const dmt_reader_resume *rp, dmt_reader **out,
                  dmt_error *err)
{
    int rc = 0;
    if (rp->offset < rd->hdr_len)
        rc = dmt_error_set(err, DMT_E_FORMAT, rp->offset, DMT_NO_INDEX,
                           "resume point at byte %llu is inside the header (%llu bytes)",
                           (unsigned long long)rp->offset, (unsigned long long)rd->hdr_len);
    else if (rp->offset > size)
        rc = dmt_error_set(err, DMT_E_FORMAT, rp->offset, DMT_NO_INDEX,
                           "resume point at byte %llu is past the end of the file (%llu bytes)",
                           (unsigned long long)rp->offset, (unsigned long long)size);
    if (!rc)
        rc = go_to(rd, rp, err);
    unsigned flags = rd->flags;
    rd->flags |= DMT_READ_FRAMING;
    for (dmt_record rec; !rc;) {
        rc = dmt_reader_next(rd, &rec, err);
        if (rc != 1 || rec.kind == DMT_K_CHUNK || rec.kind == DMT_K_END)
            break; /* verified, the end (cut), or an error */
        rc = 0;
    }
    if (rc == 1)
        rc = 0;
    rd->flags = flags;
    if (!rc)
        rc = go_to(rd, rp, err);
    if (rc) {
        dmt_reader_close(rd);
        *out = NULL;
        return rc;
    }
    *out = rd;
    return 0;
}

int dmt_reader_open_at(const char *path, unsigned flags, const dmt_reader_resume *rp,
                       dmt_reader **out, dmt_error *err)
{
    int rc = dmt_reader_open(path, flags & ~(unsigned)DMT_READ_FRAMING, out, err);
    if (rc)
        return rc;
    dmt_reader *rd = *out;
    rd->flags = flags;
    struct stat sb;
    if (fstat(rd->fd, &sb) != 0) {
        int e = errno;
        dmt_reader_close(rd);
        *out = NULL;
        dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "cannot stat: %s", strerror(e));
        if (err)
            err->sys_errno = e;
        return DMT_E_IO;
    }
    return resume(rd, (uint64_t)sb.st_size, rp, out, err);
}

int dmt_reader_open_mem_at(const void *buf, size_t len, unsigned flags, const dmt_reader_resume *rp,
                           dmt_reader **out, dmt_error *err)
{
    int rc = dmt_reader_open_mem(buf, len, flags, out, err);
    return rc ? rc : resume(*out, len, rp, out, err);
}

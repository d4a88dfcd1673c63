/*
 * test_decode.c - the table-driven record decoder against the libcbor
 * reference (dmt/decode.h): they must accept exactly the same records with
 * the same fields.  Records are built from the kind table as data
 * (dmt_kind_info), so kinds and fields added to dmt/kinds.h are covered
 * without a change here:
 *
 *  - every kind with every number of its optional fields present, with
 *    trailing fields of a newer minor version, values at the edges of each
 *    type, and arguments encoded wider than needed;
 *  - the limits (SG elements, values, bytes, text, fields per record, time
 *    range, 32-bit fields, register widths, skip depth), one past each;
 *  - every prefix of each record (cut), and single-byte substitutions at
 *    every position (malformed);
 *  - unknown kinds, skipped items of every CBOR major type;
 *  - the reader with and without DMT_READ_REFERENCE over a trace of every
 *    kind, whole, cut and corrupted: same records, same errors.
 * The fuzz corpora are the fuzz target fuzz_decode's (fuzz_decode_regress).
 */
#include <stdlib.h>
#include <string.h>

#include "dmt/testkit.h"
#include "dmt/decode.h"
#include "dmt/kinds.h"
#include "dmt/reader.h"
#include "dmt/tk_record.h"
#include "dmt/writer.h"

/* ---- a small CBOR writer ------------------------------------------------ */

typedef struct out {
    uint8_t b[1u << 18];
    size_t n;
} out;

static out o;
static unsigned long long rng = 0x9E3779B97F4A7C15ull;

/* A head; wide > 0 forces the argument into that many bytes (1, 2, 4, 8)
 * when it fits, as a non-minimal encoding. */
static void head_w(out *w, unsigned mt, uint64_t v, unsigned wide)
{
    unsigned n;
    if (wide && (wide == 8 || v >> (8 * wide) == 0))
        n = wide;
    else
        n = v < 24 ? 0 : v <= 0xFF ? 1 : v <= 0xFFFF ? 2 : v <= 0xFFFFFFFFull ? 4 : 8;
    if (n == 0) {
        w->b[w->n++] = (uint8_t)(mt << 5 | v);
        return;
    }
    w->b[w->n++] = (uint8_t)(mt << 5 | (n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
    for (unsigned i = n; i-- > 0;)
        w->b[w->n++] = (uint8_t)(v >> (8 * i));
}

static unsigned pick_wide(void)
{
    static const unsigned w[] = {0, 0, 0, 0, 0, 1, 2, 4, 8};
    return w[tk_rand(&rng) % 9];
}

static void head(out *w, unsigned mt, uint64_t v)
{
    head_w(w, mt, v, pick_wide());
}

static uint64_t edge_u64(void)
{
    static const uint64_t e[] = {0,          1,          23,         24,          255,
                                 256,        65535,      65536,      0xFFFFFFFFu, 0x100000000ull,
                                 1ull << 63, UINT64_MAX, 0x12345678, 4096,        0xFFFFF};
    return tk_rand(&rng) % 4 ? e[tk_rand(&rng) % (sizeof e / sizeof e[0])] : tk_rand(&rng);
}

static void put_bytes(out *w, unsigned mt, uint32_t n)
{
    head(w, mt, n);
    for (uint32_t i = 0; i < n; i++)
        w->b[w->n++] = (uint8_t)(0x20 + tk_rand(&rng) % 90);
}

/* One field of type t with a value at the edges of (or, with bad, just
 * outside) what the type allows. */
static void put_field(out *w, uint8_t t, bool bad)
{
    switch (t) {
    case DMT_FT_U64:
        head(w, 0, edge_u64());
        break;
    case DMT_FT_U32: {
        uint64_t v = edge_u64();
        if (!bad)
            v &= 0xFFFFFFFFu;
        head(w, 0, v);
        break;
    }
    case DMT_FT_BOOL:
        w->b[w->n++] = tk_rand(&rng) & 1 ? 0xF5 : 0xF4;
        break;
    case DMT_FT_WIDTH: {
        static const uint64_t ok[] = {1, 2, 4, 8}, no[] = {0, 3, 16, 0x100000004ull};
        head(w, 0, bad ? no[tk_rand(&rng) % 4] : ok[tk_rand(&rng) % 4]);
        break;
    }
    case DMT_FT_SG: {
        uint32_t n = (uint32_t)(tk_rand(&rng) % 9);
        head(w, 4, 2ull * n);
        for (uint32_t i = 0; i < n; i++) {
            uint64_t a = tk_rand(&rng), l = tk_rand(&rng) % 70000;
            if (tk_rand(&rng) & 1)
                head(w, 0, a >> 20); /* page number */
            else
                head(w, 1, a); /* bytes */
            if (tk_rand(&rng) & 1)
                head(w, 0, bad ? 0x100000 : l >> 12);
            else
                head(w, 1, bad ? 0x100000000ull : l);
        }
        break;
    }
    case DMT_FT_VALUES: {
        uint32_t n = (uint32_t)(tk_rand(&rng) % 9);
        head(w, 4, n);
        for (uint32_t i = 0; i < n; i++)
            head(w, 0, edge_u64());
        break;
    }
    case DMT_FT_BYTES:
        put_bytes(w, 2, (uint32_t)(tk_rand(&rng) % 40));
        break;
    case DMT_FT_TEXT:
        put_bytes(w, 3, (uint32_t)(tk_rand(&rng) % 40));
        break;
    default:
        head(w, 0, 0);
        break;
    }
}

/* An item a newer minor version might append (what both must skip). */
static void put_extra(out *w)
{
    switch (tk_rand(&rng) % 8) {
    case 0:
        head(w, 0, edge_u64());
        break;
    case 1:
        head(w, 1, edge_u64());
        break;
    case 2:
        put_bytes(w, 2, 5);
        break;
    case 3:
        put_bytes(w, 3, 3);
        break;
    case 4:
        w->b[w->n++] = (uint8_t)(0xF4 + tk_rand(&rng) % 4); /* false true null undefined */
        break;
    case 5: /* floats: half, single, double */
        w->b[w->n++] = 0xF9;
        w->b[w->n++] = 0x3C;
        w->b[w->n++] = 0x00;
        break;
    case 6: /* an array of an array (depth 2) */
        head(w, 4, 2);
        head(w, 0, 1);
        head(w, 4, 1);
        head(w, 1, 5);
        break;
    default:
        w->b[w->n++] = 0xFB;
        for (int i = 0; i < 8; i++)
            w->b[w->n++] = (uint8_t)i;
        break;
    }
}

/* A record of kind k with nopt optional fields and extra appended items;
 * bad_field >= 0 puts an out-of-range value into that field. */
static void build(out *w, uint32_t k, unsigned nopt, unsigned extra, int bad_field)
{
    const dmt_kind_info *ki = dmt_kind_info_get(k);
    unsigned nf = ki ? ki->n_required + nopt : nopt;
    w->n = 0;
    head(w, 4, 2 + nf + extra);
    head(w, 0, k);
    if (tk_rand(&rng) & 1)
        head(w, 0, edge_u64() & INT64_MAX);
    else
        head(w, 1, edge_u64() & INT64_MAX);
    for (unsigned i = 0; i < nf; i++) {
        if (ki)
            put_field(w, ki->fields[i].type, (int)i == bad_field);
        else
            put_extra(w);
    }
    for (unsigned i = 0; i < extra; i++)
        put_extra(w);
}

/* ---- the checks --------------------------------------------------------- */

static unsigned long long n_agree, n_accepted;

static void agree(const uint8_t *p, size_t n, const char *what, bool want_accept)
{
    char why[256];
    bool acc = false;
    bool ok = tk_decoders_agree(p, n, &acc, why, sizeof why);
    CHECKF(ok, "%s: %s", what, why);
    if (want_accept)
        CHECKF(acc, "%s: a valid record was refused", what);
    n_agree++;
    n_accepted += acc;
}

/* Every prefix is refused by both; single-byte substitutions agree. */
static void mutate(const uint8_t *p, size_t n, const char *what)
{
    static uint8_t m[1u << 18];
    for (size_t cut = 0; cut < n; cut++) {
        char why[256];
        bool acc = true;
        CHECKF(tk_decoders_agree(p, cut, &acc, why, sizeof why) && !acc, "%s cut to %zu: %s", what,
               cut, acc ? "accepted" : why);
    }
    memcpy(m, p, n);
    for (size_t i = 0; i < n; i++) {
        unsigned tries = n <= 48 ? 256 : 12;
        for (unsigned t = 0; t < tries; t++) {
            m[i] = (uint8_t)(n <= 48 ? t : tk_rand(&rng));
            agree(m, n, what, false);
        }
        m[i] = p[i];
    }
}

static void test_every_kind(void)
{
    char what[96];
    for (uint32_t k = 1; k < DMT_K_MAX_; k++) {
        const dmt_kind_info *ki = dmt_kind_info_get(k);
        REQUIRE(ki != NULL);
        for (unsigned nopt = 0; nopt <= (unsigned)(ki->n_fields - ki->n_required); nopt++) {
            for (unsigned extra = 0; extra <= 3; extra += 3) {
                for (int rep = 0; rep < 40; rep++) {
                    snprintf(what, sizeof what, "%s, %u optional, %u extra", ki->name, nopt, extra);
                    /* appended items are fields of the newer version only
                     * after every optional one */
                    bool valid = extra == 0 || nopt == (unsigned)(ki->n_fields - ki->n_required);
                    build(&o, k, nopt, extra, -1);
                    agree(o.b, o.n, what, valid);
                    if (rep < 2)
                        mutate(o.b, o.n, what);
                    /* one field out of its range: both refuse or both accept */
                    build(&o, k, nopt, extra, (int)(tk_rand(&rng) % (ki->n_required + nopt)));
                    agree(o.b, o.n, what, false);
                }
            }
            /* a required field missing */
            if (nopt == 0 && ki->n_required > 0) {
                static out short_rec;
                short_rec.n = 0;
                head_w(&short_rec, 4, 1 + ki->n_required, 0);
                head_w(&short_rec, 0, k, 0);
                head_w(&short_rec, 0, 5, 0);
                for (unsigned i = 0; i + 1 < ki->n_required; i++)
                    put_field(&short_rec, ki->fields[i].type, false);
                snprintf(what, sizeof what, "%s without its last required field", ki->name);
                bool acc = true;
                char why[256];
                CHECKF(tk_decoders_agree(short_rec.b, short_rec.n, &acc, why, sizeof why) && !acc,
                       "%s: %s", what, acc ? "accepted" : why);
            }
        }
    }
}

static void test_unknown_kinds(void)
{
    static const uint64_t kinds[] = {0,    DMT_K_MAX_,  DMT_K_MAX_ + 1,
                                     1000, 0xFFFFFFFFu, 0x100000000ull};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        for (unsigned n = 0; n < 6; n++)
            for (int rep = 0; rep < 20; rep++) {
                o.n = 0;
                head(&o, 4, 2 + n);
                head(&o, 0, kinds[i]);
                head(&o, 0, 77);
                for (unsigned j = 0; j < n; j++)
                    put_extra(&o);
                agree(o.b, o.n, "unknown kind", kinds[i] <= 0xFFFFFFFFu);
                if (rep == 0)
                    mutate(o.b, o.n, "unknown kind");
            }
}

/* A register write with both optional fields and one appended item,
 * `extra` (raw bytes). */
static void with_extra(const uint8_t *extra, size_t n, const char *what, bool want)
{
    o.n = 0;
    head_w(&o, 4, 7, 0);
    head_w(&o, 0, DMT_K_REG_WRITE, 0);
    head_w(&o, 0, 1, 0);
    head_w(&o, 0, 0x40, 0);
    head_w(&o, 0, 0x1234, 0);
    head_w(&o, 0, 2, 0); /* width */
    head_w(&o, 0, 1, 0); /* dev */
    memcpy(o.b + o.n, extra, n);
    o.n += n;
    char why[256];
    bool acc = false;
    CHECKF(tk_decoders_agree(o.b, o.n, &acc, why, sizeof why), "%s: %s", what, why);
    CHECKF(acc == want, "%s: %s", what, acc ? "accepted" : "refused");
}

static void test_limits(void)
{
    /* SG: 4096 elements, then 4097 */
    for (uint32_t n = DMT_MAX_SG_ELEMENTS; n <= DMT_MAX_SG_ELEMENTS + 1; n++) {
        o.n = 0;
        head_w(&o, 4, 6, 0);
        head_w(&o, 0, DMT_K_EXECUTE_DMA, 0);
        head_w(&o, 0, 9, 0);
        head_w(&o, 0, 1, 0);
        head_w(&o, 0, 2, 0);
        head_w(&o, 0, 4096ull * n, 0);
        head_w(&o, 4, 2ull * n, 0);
        for (uint32_t i = 0; i < n; i++) {
            head_w(&o, 0, 0x100000 + i, 0);
            head_w(&o, 0, 1, 0);
        }
        char why[256];
        bool acc = false;
        CHECKF(tk_decoders_agree(o.b, o.n, &acc, why, sizeof why), "SG %u: %s", n, why);
        CHECKF(acc == (n <= DMT_MAX_SG_ELEMENTS), "SG list of %u elements", n);
    }
    /* SG quantities at their bounds: page number 2^52-1 / 2^52, length
     * 2^32-1 bytes / 2^32, 0xFFFFF pages / 0x100000 */
    static const struct {
        unsigned amt;
        uint64_t a;
        unsigned lmt;
        uint64_t l;
        bool ok;
    } q[] = {{0, (1ull << 52) - 1, 1, 1, true},
             {0, 1ull << 52, 1, 1, false},
             {1, UINT64_MAX, 1, 0xFFFFFFFFu, true},
             {1, 0, 1, 0x100000000ull, false},
             {0, 0, 0, 0xFFFFF, true},
             {0, 0, 0, 0x100000, false}};
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        o.n = 0;
        head_w(&o, 4, 6, 0);
        head_w(&o, 0, DMT_K_EXECUTE_DMA, 0);
        head_w(&o, 0, 9, 0);
        head_w(&o, 0, 1, 0);
        head_w(&o, 0, 2, 0);
        head_w(&o, 0, 4096, 0);
        head_w(&o, 4, 2, 0);
        head_w(&o, q[i].amt, q[i].a, 0);
        head_w(&o, q[i].lmt, q[i].l, 0);
        char why[256];
        bool acc = false;
        CHECKF(tk_decoders_agree(o.b, o.n, &acc, why, sizeof why), "SG quantity %zu: %s", i, why);
        CHECKF(acc == q[i].ok, "SG quantity %zu: %s", i, acc ? "accepted" : "refused");
    }
    /* values: 1024, then 1025 */
    for (uint32_t n = DMT_MAX_VALUES; n <= DMT_MAX_VALUES + 1; n++) {
        o.n = 0;
        head_w(&o, 4, 4, 0);
        head_w(&o, 0, DMT_K_REG_WRITE_BUF, 0);
        head_w(&o, 0, 9, 0);
        head_w(&o, 0, 0x100, 0);
        head_w(&o, 4, n, 0);
        for (uint32_t i = 0; i < n; i++)
            head_w(&o, 0, i * 977u, 0);
        char why[256];
        bool acc = false;
        CHECKF(tk_decoders_agree(o.b, o.n, &acc, why, sizeof why), "values %u: %s", n, why);
        CHECKF(acc == (n <= DMT_MAX_VALUES), "%u values", n);
    }
    /* bytes: 32768, then 32769; text: 4096, then 4097 */
    for (int text = 0; text < 2; text++) {
        uint32_t max = text ? DMT_MAX_TEXT : DMT_MAX_BYTES;
        for (uint32_t n = max; n <= max + 1; n++) {
            o.n = 0;
            if (text) {
                head_w(&o, 4, 3, 0);
                head_w(&o, 0, DMT_K_MARKER, 0);
                head_w(&o, 0, 9, 0);
            } else {
                head_w(&o, 4, 5, 0);
                head_w(&o, 0, DMT_K_PAYLOAD, 0);
                head_w(&o, 0, 9, 0);
                head_w(&o, 0, 3, 0);
                head_w(&o, 0, 0, 0);
            }
            head_w(&o, text ? 3 : 2, n, 0);
            memset(o.b + o.n, 'x', n);
            o.n += n;
            char why[256];
            bool acc = false;
            CHECKF(tk_decoders_agree(o.b, o.n, &acc, why, sizeof why), "%u bytes: %s", n, why);
            CHECKF(acc == (n <= max), "%s of %u bytes", text ? "text" : "bytes", n);
        }
    }
    /* fields per record: 64, then 65 */
    for (unsigned n = 64; n <= 65; n++) {
        o.n = 0;
        head_w(&o, 4, n, 0);
        head_w(&o, 0, DMT_K_DPC, 0);
        head_w(&o, 0, 9, 0);
        for (unsigned i = 2; i < n; i++)
            head_w(&o, 0, i, 0);
        char why[256];
        bool acc = false;
        CHECKF(tk_decoders_agree(o.b, o.n, &acc, why, sizeof why), "%u fields: %s", n, why);
        CHECKF(acc == (n <= 64), "a record of %u items", n);
    }
    /* time: the int64 range either way */
    static const struct {
        unsigned mt;
        uint64_t v;
        bool ok;
    } t[] = {{0, INT64_MAX, true},
             {0, (uint64_t)INT64_MAX + 1, false},
             {1, INT64_MAX, true},
             {1, (uint64_t)INT64_MAX + 1, false}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        o.n = 0;
        head_w(&o, 4, 4, 0);
        head_w(&o, 0, DMT_K_DPC, 0);
        head_w(&o, t[i].mt, t[i].v, 0);
        head_w(&o, 0, 1, 0);
        head_w(&o, 0, 2, 0);
        char why[256];
        bool acc = false;
        CHECKF(tk_decoders_agree(o.b, o.n, &acc, why, sizeof why), "time %zu: %s", i, why);
        CHECKF(acc == t[i].ok, "time %zu: %s", i, acc ? "accepted" : "refused");
    }
    /* appended items the reader skips, and what it does not */
    with_extra((const uint8_t *)"\x82\x01\x81\x02", 4, "array depth 2", true);
    with_extra((const uint8_t *)"\x81\x81\x81\x02", 4, "array depth 3", false);
    with_extra((const uint8_t *)"\xa0", 1, "a map", false);
    with_extra((const uint8_t *)"\xc1\x01", 2, "a tag", false);
    with_extra((const uint8_t *)"\x9f\xff", 2, "an indefinite array", false);
    with_extra((const uint8_t *)"\x5f\xff", 2, "an indefinite byte string", false);
    with_extra((const uint8_t *)"\xf0", 1, "simple value 16", false);
    with_extra((const uint8_t *)"\xf8\x20", 2, "simple value 32", false);
    with_extra((const uint8_t *)"\xfa\x00\x00\x00\x00", 5, "a single float", true);
    with_extra((const uint8_t *)"\xf6", 1, "null", true);
    with_extra((const uint8_t *)"\xff", 1, "a break", false);
    with_extra((const uint8_t *)"\x1c", 1, "a reserved width", false);
}

/* ---- the reader over a whole trace ----------------------------------------- */

static void test_readers(void)
{
    char dir[256], path[300];
    REQUIRE(tk_mkdtemp(dir, sizeof dir, "dmt-test-decode"));
    snprintf(path, sizeof path, "%s/every.dmat", dir);
    dmt_header h;
    memset(&h, 0, sizeof h);
    snprintf(h.producer, sizeof h.producer, "test_decode");
    dmt_writer *w;
    dmt_error err;
    REQUIRE(dmt_writer_open(path, &h, 0, &w, &err) == 0);
    dmt_writer_set_chunk_size(w, 512);
    /* every event kind, decoded from built bytes and written back */
    static dmt_sg_elem sg[DMT_MAX_SG_ELEMENTS];
    static uint64_t vals[DMT_MAX_VALUES];
    int64_t ts = 0;
    for (int rep = 0; rep < 30; rep++)
        for (uint32_t k = 1; k < DMT_K_MAX_; k++) {
            const dmt_kind_info *ki = dmt_kind_info_get(k);
            if (ki->kclass != DMT_KC_EVENT)
                continue;
            dmt_record r;
            build(&o, k, (unsigned)(tk_rand(&rng) % (ki->n_fields - ki->n_required + 1u)), 0, -1);
            if (dmt_decode_fast(o.b, o.n, &r, sg, vals) == 0)
                continue;
            ts += 1000 + (int64_t)(tk_rand(&rng) % 1000);
            r.ts = ts;
            CHECKF(dmt_writer_append(w, &r, &err) == 0, "append %s: %s", ki->name, err.msg);
        }
    CHECK(dmt_writer_close(w, &err) == 0);
    size_t n = 0;
    uint8_t *file = tk_slurp(path, &n);
    REQUIRE(file != NULL);
    static const unsigned modes[] = {0, DMT_READ_ALLOW_CUT, DMT_READ_ALLOW_CUT | DMT_READ_FRAMING};
    char why[256];
    for (size_t m = 0; m < 3; m++)
        CHECKF(tk_readers_agree(file, n, modes[m], why, sizeof why), "whole, mode %u: %s", modes[m],
               why);
    /* cut at every 7th byte; a corrupted byte every 13th */
    for (size_t cut = 0; cut < n; cut += 7)
        for (size_t m = 0; m < 3; m++)
            CHECKF(tk_readers_agree(file, cut, modes[m], why, sizeof why),
                   "cut at %zu, mode %u: %s", cut, modes[m], why);
    for (size_t i = 20; i < n; i += 13) {
        uint8_t keep = file[i];
        file[i] = (uint8_t)tk_rand(&rng);
        for (size_t m = 0; m < 3; m++)
            CHECKF(tk_readers_agree(file, n, modes[m], why, sizeof why),
                   "byte %zu corrupted, mode %u: %s", i, modes[m], why);
        file[i] = keep;
    }
    /* the decoders at every offset of the file */
    for (size_t i = 0; i < n; i++)
        agree(file + i, n - i, "trace bytes", false);
    free(file);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    test_every_kind();
    test_unknown_kinds();
    test_limits();
    test_readers();
    fprintf(stderr, "test_decode: %llu byte strings decoded both ways, %llu records accepted\n",
            n_agree, n_accepted);
    CHECK(n_accepted > 1000);
    return tk_result("test_decode");
}

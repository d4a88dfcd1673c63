/*
 * test_ringcheck.c - the drain's fast record checker against the reader:
 * for every record kind (ordinary and extreme values) and for hundreds of
 * thousands of mutations of them (byte flips, truncations, insertions,
 * special bytes) and random buffers, dmt_ring_record_check accepts exactly
 * what dmt_parse_ring_record accepts (framing kinds excluded), and reports
 * the same time field.  The shape cache (dmt_ring_record_check_cached) is
 * held to the full check over the same inputs, plus random valid records
 * of every kind and a flip of every bit of the cached records.
 */
#include <stdlib.h>
#include <string.h>

#include "dmt/testkit.h"
#include "dmt/tktrace.h"
#include "dmt/enc.h"
#include "dmt/reader.h"
#include "dmt/ringcheck.h"

static dmt_sg_elem sg_scratch[DMT_MAX_SG_ELEMENTS];
static uint64_t val_scratch[DMT_MAX_VALUES];
static unsigned long long seed = 0xfeedfacecafebeefULL;
static long agreed, accepted;
/* The shape cache two ways: `rolling` sees every input in order (each
 * accepted one becomes its kind's shape), `primed` holds the shape of the
 * record being mutated (mutate_all), so every mutation of it is tried
 * against that shape first. */
static dmt_ring_check_cache rolling, primed;

/* The cached check agrees with the full one (fast: its verdict), and
 * reports the same record info. */
static void compare_cached(dmt_ring_check_cache *cc, const uint8_t *p, size_t n, int fast,
                           const dmt_ring_record_info *ri, const char *what, const char *cache)
{
    dmt_ring_record_info ci;
    memset(&ci, 0, sizeof ci);
    int cached = dmt_ring_record_check_cached(cc, p, n, &ci) == 0;
    CHECKF(cached == fast, "%s: full check %s, %s shape cache %s (%zu bytes)", what,
           fast ? "accepts" : "refuses", cache, cached ? "accepts" : "refuses", n);
    if (cached && fast)
        CHECKF(ci.kind == ri->kind && ci.time == ri->time && ci.time_off == ri->time_off &&
                   ci.time_len == ri->time_len,
               "%s: %s shape cache reports kind/time %u/%lld, full check %u/%lld", what, cache,
               ci.kind, (long long)ci.time, ri->kind, (long long)ri->time);
}

static void compare(const uint8_t *p, size_t n, const char *what)
{
    dmt_record r;
    dmt_error err;
    dmt_ring_record_info ri;
    int slow = dmt_parse_ring_record(p, n, &r, sg_scratch, val_scratch, &err) == 0 &&
               dmt_kind_info_get(r.kind) && dmt_kind_info_get(r.kind)->kclass == DMT_KC_EVENT;
    int fast = dmt_ring_record_check(p, n, &ri) == 0;
    compare_cached(&rolling, p, n, fast, &ri, what, "rolling");
    if (n >= 2 && p[1] < DMT_K_MAX_) {
        /* tried against the primed shape, which stays as it was */
        const dmt_ring_shape keep = primed.shape[p[1]];
        compare_cached(&primed, p, n, fast, &ri, what, "primed");
        primed.shape[p[1]] = keep;
    }
    CHECKF(slow == fast, "%s: reader %s, checker %s (%zu bytes, first 0x%02x)", what,
           slow ? "accepts" : "refuses", fast ? "accepts" : "refuses", n, n ? p[0] : 0);
    if (slow && fast) {
        CHECKF(ri.kind == r.kind && ri.time == r.ts, "%s: kind/time differ", what);
        accepted++;
    }
    agreed += slow == fast;
}

static void mutate_all(const uint8_t *rec, size_t n, const char *name)
{
    static uint8_t m[DMT_MAX_RECORD + 16];
    static const uint8_t special[] = {0x00, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x20, 0x38,
                                      0x3b, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0x9b, 0x9f, 0xa0, 0xc6,
                                      0xd9, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xff};
    dmt_ring_record_info ri;
    dmt_ring_check_cache_init(&primed);
    (void)dmt_ring_record_check_cached(&primed, rec, n, &ri);
    compare(rec, n, name);
    /* Every bit of every byte of a record the shape cache holds: each head,
     * argument bit and length pushed off the cached shape or past a limit. */
    if (n <= DMT_RING_SHAPE_MAX)
        for (size_t i = 0; i < n; i++)
            for (unsigned b = 0; b < 8; b++) {
                memcpy(m, rec, n);
                m[i] ^= (uint8_t)(1u << b);
                compare(m, n, name);
            }
    /* Truncations and one extra byte. */
    for (size_t k = 0; k < n && k < 64; k++)
        compare(rec, k, name);
    memcpy(m, rec, n);
    m[n] = 0x00;
    compare(m, n + 1, name);
    /* Every position of short records (a sample of long ones) x special bytes. */
    size_t step = n > 256 ? n / 64 : 1;
    for (size_t i = 0; i < n; i += step) {
        for (size_t s = 0; s < sizeof special; s++) {
            memcpy(m, rec, n);
            m[i] = special[s];
            compare(m, n, name);
        }
        memcpy(m, rec, n);
        m[i] ^= (uint8_t)(1u << (tk_rand(&seed) % 8));
        compare(m, n, name);
        /* Insert a byte. */
        memcpy(m, rec, i);
        m[i] = (uint8_t)tk_rand(&seed);
        memcpy(m + i + 1, rec + i, n - i);
        compare(m, n + 1, name);
    }
}

/* A value of random magnitude (every head size). */
static uint64_t rnd_mag(void)
{
    return tk_rand(&seed) >> (tk_rand(&seed) % 64);
}

/* Random valid records of every kind, several per shape, in one stream:
 * the rolling cache meets the same kind with heads of every size, mostly
 * of the same length as the shape it holds. */
static void random_records(void)
{
    static uint8_t buf[DMT_MAX_RECORD];
    static dmt_sg_elem sg[4];
    static uint64_t vals[4];
    for (int i = 0; i < 300000; i++) {
        const uint32_t k = 1 + (uint32_t)(tk_rand(&seed) % (DMT_K_MAX_ - 1));
        dmt_record r;
        tk_sample_record(&r, k, 0, 0);
        /* small magnitudes most of the time: runs of one shape */
        const bool small = tk_rand(&seed) % 4 != 0;
        uint64_t *u64s[] = {&r.off, &r.value,   &r.offset,     &r.length, &r.addr,
                            &r.va,  &r.context, &r.addr_limit, &r.tsc,    &r.counter};
        for (size_t j = 0; j < sizeof u64s / sizeof *u64s; j++)
            if (*u64s[j])
                *u64s[j] = small ? tk_rand(&seed) % 24 : rnd_mag();
        uint32_t *u32s[] = {&r.dev, &r.adapter, &r.xfer, &r.mdl, &r.cb, &r.status};
        for (size_t j = 0; j < sizeof u32s / sizeof *u32s; j++)
            if (*u32s[j])
                *u32s[j] = (uint32_t)(small ? tk_rand(&seed) % 24 : rnd_mag());
        r.width = 1u << (tk_rand(&seed) % 4);
        if (r.n_sg) {
            r.n_sg = (uint32_t)(tk_rand(&seed) % 4);
            for (uint32_t j = 0; j < r.n_sg; j++) {
                sg[j].addr = small ? 0x1000u * j : rnd_mag();
                sg[j].len = (uint32_t)(small ? 0x1000 : rnd_mag() & 0xFFFFFFFFu);
            }
            r.sg_list = sg;
        }
        if (r.n_values) {
            r.n_values = (uint32_t)(tk_rand(&seed) % 4);
            for (uint32_t j = 0; j < r.n_values; j++)
                vals[j] = small ? j : rnd_mag();
            r.values = vals;
        }
        int64_t t = (int64_t)(small ? tk_rand(&seed) % 24 : rnd_mag() >> 1);
        if (tk_rand(&seed) % 16 == 0)
            t = -1 - t;
        size_t n = dmt_enc_record(buf, sizeof buf, &r, t);
        if (n)
            compare(buf, n, "random valid record");
    }
}

int main(void)
{
    static uint8_t buf[DMT_MAX_RECORD];
    for (int big = 0; big < 2; big++)
        for (uint32_t k = 1; k < DMT_K_MAX_; k++) {
            dmt_record r;
            tk_sample_record(&r, k, big, 0);
            if (k == DMT_K_LOST) {
                r.value = 1;
                r.count = 2;
            }
            int64_t t = big ? INT64_MAX : (int64_t)(tk_rand(&seed) >> 2);
            size_t n = dmt_enc_record(buf, sizeof buf, &r, t);
            if (n == 0)
                continue;
            mutate_all(buf, n, dmt_kind_name(k));
            n = dmt_enc_record(buf, sizeof buf, &r, -5);
            compare(buf, n, "negative time");
        }
    /* Trailing fields of a newer minor version. */
    {
        const uint8_t rec[] = {0x86, 0x01, 0x00, 0x01, 0x02, 0x04, 0x00};
        mutate_all(rec, sizeof rec, "reg_write with dev");
        const uint8_t rec2[] = {0x86, 0x0a, 0x00, 0x01, 0x63, 'a', 'b', 'c', 0x82, 0x01, 0x02};
        mutate_all(rec2, sizeof rec2, "adapter_release + text + array");
        const uint8_t rec3[] = {0x84, 0x0a, 0x00, 0x01, 0xf9, 0x3c, 0x00};
        mutate_all(rec3, sizeof rec3, "adapter_release + half float");
    }
    /* A uint32 field (adapter_release's adapter) with an 8-byte argument:
     * accepted up to UINT32_MAX only, whichever high byte is set. */
    for (int hi = -1; hi < 8; hi++) {
        uint8_t rec[] = {0x83, 0x0a, 0x00, 0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
        if (hi >= 0)
            rec[4 + hi] |= 0x01;
        if (hi < 0) /* cached, then every bit flipped */
            mutate_all(rec, sizeof rec, "uint32 field, 8-byte argument");
        compare(rec, sizeof rec, "uint32 field, 8-byte argument");
        rec[3] = 0x1a; /* 4 bytes: always in range */
        compare(rec, 8, "uint32 field, 4-byte argument");
    }
    /* SG elements at their limits (8- and 4-byte arguments, both major
     * types), each flipped bit by bit against its cached shape. */
    {
        static const uint64_t addrs[] = {UINT64_MAX >> DMT_PAGE_SHIFT, 0xFFFFFFFFFull, 1ull << 40,
                                         0xFFFFFFFFFFFFF000ull, 1ull << 44};
        static const uint32_t lens[] = {0xFFFFF000u, UINT32_MAX, 0x12345u, 0xFFFFFu};
        for (size_t a = 0; a < sizeof addrs / sizeof *addrs; a++)
            for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
                dmt_record r;
                dmt_sg_elem e = {.addr = addrs[a], .len = lens[l]};
                tk_sample_record(&r, DMT_K_EXECUTE_DMA, 0, 0);
                r.n_sg = 1;
                r.sg_list = &e;
                size_t n = dmt_enc_record(buf, sizeof buf, &r, INT64_MAX - 1);
                if (n)
                    mutate_all(buf, n, "SG element at a limit");
            }
    }
    /* An SG element's bytes as an 8-byte negative argument (the encoder
     * writes 4): [5, 5, t, xfer, adapter, length, [addr, -1-len]]. */
    {
        uint8_t rec[] = {0x86, 0x05, 0x01, 0x02, 0x03, 0x04, 0x82, 0x19, 0x10, 0x00,
                         0x3b, 0,    0,    0,    0,    0xff, 0xff, 0xff, 0xfe};
        mutate_all(rec, sizeof rec, "SG element, 8-byte negative length");
    }
    /* A text of 30 bytes (a one-byte length argument) after the fields. */
    {
        uint8_t rec[36] = {0x84, 0x0a, 0x00, 0x01, 0x78, 30};
        memset(rec + 6, 'x', 30);
        mutate_all(rec, sizeof rec, "adapter_release + 30-byte text");
    }
    /* Heads with an argument byte where the encoder writes immediates: a
     * register width, and a count of 24 fields (20 trailing ones). */
    {
        const uint8_t rec[] = {0x86, 0x01, 0x00, 0x01, 0x02, 0x18, 0x04, 0x00};
        mutate_all(rec, sizeof rec, "reg_write, width in a one-byte argument");
        uint8_t rec2[26] = {0x98, 24, 0x0a, 0x00, 0x01};
        mutate_all(rec2, sizeof rec2, "adapter_release + 21 trailing fields");
    }
    random_records();
    /* Random buffers, mostly garbage. */
    for (int i = 0; i < 200000; i++) {
        size_t n = (size_t)(tk_rand(&seed) % 40);
        for (size_t j = 0; j < n; j++)
            buf[j] = (uint8_t)tk_rand(&seed);
        if (n)
            buf[0] = (uint8_t)(0x82 + tk_rand(&seed) % 8); /* an array head */
        if (n > 1)
            buf[1] = (uint8_t)(1 + tk_rand(&seed) % 25);
        compare(buf, n, "random");
    }
    fprintf(stderr,
            "test_ringcheck: %ld cases agreed, %ld accepted by both; shape cache %llu hits, "
            "%llu misses (rolling)\n",
            agreed, accepted, (unsigned long long)rolling.hits, (unsigned long long)rolling.misses);
    CHECK(accepted > 1000);
    /* the cache was exercised both ways: hits (and so accepts without the
     * walk) and misses */
    CHECK(rolling.hits > 10000 && rolling.misses > 10000);
    return tk_result("test_ringcheck");
}

/*
 * test_xxh64.c - the XXH64 digest (DMT_DIGEST_XXH64, core/format/xxh64.c)
 * and the by-algorithm digest API of dmt/digest.h.
 *
 * The expected values were printed by `xxhsum -H1` (xxHash 0.8.1) for the
 * same bytes: "hello", the empty input and XS64 pattern buffers.  Every
 * split of a buffer - into two parts at each position, into three for a
 * short one, and into SG-list-like runs of elements - must give the value
 * of the whole, as FORMAT.md promises for every digest algorithm.  DMT64
 * (kept in products for speed) equals its definition, and DMT64 of pattern
 * bytes computed without storing them equals DMT64 of the bytes;
 * so do the host's fast pattern (dmt/pattern.h, every implementation this
 * CPU runs) and both digests fed from it in one pass, over odd offsets,
 * lengths and SG element boundaries.
 */
#include <stdlib.h>
#include <string.h>

#include "dmt/testkit.h"
#include "dmt/digest.h"
#include "dmt/pattern.h"

/* xxhsum -H1 over files holding these bytes */
static const struct {
    uint64_t seed, offset;
    size_t len;
    uint64_t xxh64;
} patterns[] = {
    {9, 0, 31, 0x2e2de790a49b695bull},
    {7, 3, 1000, 0xe93be1d123ff356eull},
    {0xDEADBEEF, 4093, 8191, 0x6f83483fdc305a0eull},
    {1, 0, 1u << 20, 0x24c9b64e0f4779aaull},
};

static uint64_t xxh64_split(const uint8_t *p, const size_t *cuts, size_t ncuts, size_t len)
{
    dmt_xxh64_state st;
    size_t at = 0, i;
    dmt_xxh64_init(&st);
    for (i = 0; i < ncuts; i++) {
        dmt_xxh64_update(&st, p + at, cuts[i] - at);
        at = cuts[i];
    }
    dmt_xxh64_update(&st, p + at, len - at);
    return dmt_xxh64_final(&st);
}

static void test_known_values(void)
{
    CHECK(dmt_digest(DMT_DIGEST_XXH64, "hello", 5) == 0x26c7827d889f6da3ull);
    CHECK(dmt_digest(DMT_DIGEST_XXH64, "", 0) == 0xef46db3751d8e999ull);
    CHECK(dmt_digest(DMT_DIGEST_XXH64, NULL, 0) == 0xef46db3751d8e999ull);
    for (size_t k = 0; k < sizeof patterns / sizeof patterns[0]; k++) {
        uint8_t *b = malloc(patterns[k].len);
        dmt_pattern_fill(b, patterns[k].seed, patterns[k].offset, patterns[k].len);
        CHECKF(dmt_digest(DMT_DIGEST_XXH64, b, patterns[k].len) == patterns[k].xxh64, "pattern %zu",
               k);
        free(b);
    }
    /* the by-algorithm API gives DMT64 unchanged */
    static uint8_t got[1000];
    dmt_pattern_fill(got, 7, 3, 1000);
    CHECK(dmt_digest(DMT_DIGEST_DMT64, got, 1000) == 0x95bcea862cafef40ull);
    CHECK(dmt_digest(DMT_DIGEST_DMT64, got, 1000) == dmt64(got, 1000));
    CHECK(dmt_digest_known(DMT_DIGEST_DMT64) && dmt_digest_known(DMT_DIGEST_XXH64));
    CHECK(!dmt_digest_known(0) && !dmt_digest_known(3));
    dmt_digest_state st;
    CHECK(!dmt_digest_init(&st, 3));
    CHECK(dmt_digest(3, got, 1000) == 0);
}

static void test_splits(void)
{
    const size_t len = 8191;
    uint8_t *b = malloc(len);
    dmt_pattern_fill(b, 0xDEADBEEF, 4093, len);
    const uint64_t want = 0x6f83483fdc305a0eull;
    int bad = 0;
    /* every two-part split (the cut inside a 32-byte stripe or on it) */
    for (size_t c = 0; c <= len && !bad; c++)
        bad = xxh64_split(b, &c, 1, len) != want;
    CHECK(!bad);
    /* every three-part split of a short buffer */
    const uint64_t want31 = 0x2e2de790a49b695bull;
    uint8_t s[31];
    dmt_pattern_fill(s, 9, 0, 31);
    bad = 0;
    for (size_t i = 0; i <= 31 && !bad; i++)
        for (size_t j = i; j <= 31 && !bad; j++) {
            size_t cuts[2] = {i, j};
            bad = xxh64_split(s, cuts, 2, 31) != want31;
        }
    CHECK(!bad);
    /* SG-list-like runs: elements of 1..5000 bytes, through the generic API
     * for both algorithms */
    uint64_t rng = 12345;
    for (int round = 0; round < 200; round++) {
        dmt_digest_state x, d;
        size_t at = 0;
        CHECK(dmt_digest_init(&x, DMT_DIGEST_XXH64) && dmt_digest_init(&d, DMT_DIGEST_DMT64));
        while (at < len) {
            rng = dmt_splitmix64(rng);
            size_t n = 1 + (size_t)(rng % 5000);
            if (n > len - at)
                n = len - at;
            dmt_digest_update(&x, b + at, n);
            dmt_digest_update(&d, b + at, n);
            at += n;
        }
        CHECKF(dmt_digest_final(&x) == want, "round %d", round);
        CHECKF(dmt_digest_final(&d) == 0x3f81579c65bc43bbull, "round %d", round);
    }
    free(b);
}

/* dmt64_update_pattern: the DMT64 of pattern bytes without storing them
 * equals filling a buffer and digesting it, whatever the digest already
 * holds (0..9 bytes before) and wherever the pattern starts and ends. */
static void test_pattern_dmt64(void)
{
    static uint8_t b[5000];
    const uint8_t pre[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    for (size_t k = 0; k <= sizeof pre; k++)
        for (uint64_t off = 0; off < 20; off += 3)
            for (size_t len = 0; len < sizeof b; len = len * 2 + 1 + off % 5) {
                dmt64_state a, c;
                dmt64_init(&a);
                dmt64_init(&c);
                dmt64_update(&a, pre, k);
                dmt64_update(&c, pre, k);
                dmt_pattern_fill(b, 0xC0FFEE + k, 4096 + off, len);
                dmt64_update(&a, b, len);
                dmt64_update_pattern(&c, 0xC0FFEE + k, 4096 + off, len);
                CHECKF(dmt64_final(&a) == dmt64_final(&c), "prefix %zu, offset %llu, len %zu", k,
                       (unsigned long long)off, len);
            }
}

/* dmt64_update (its chain kept in products, dmt/digest.h) equals DMT64 as
 * FORMAT.md defines it - dmt64_mix word by word, the pending bytes, the
 * length - for every length up to 300, from any split point. */
static void test_dmt64_definition(void)
{
    static uint8_t b[300];
    dmt_pattern_fill(b, 0x5EED, 3, sizeof b);
    for (size_t len = 0; len <= sizeof b; len++) {
        uint64_t h = DMT64_INIT, w = 0;
        size_t i = 0;
        for (; i + 8 <= len; i += 8) {
            w = 0;
            for (unsigned k = 0; k < 8; k++)
                w |= (uint64_t)b[i + k] << (8 * k);
            h = dmt64_mix(h, w);
        }
        if (i < len) {
            w = 0;
            for (unsigned k = 0; i + k < len; k++)
                w |= (uint64_t)b[i + k] << (8 * k);
            h = dmt64_mix(h, w);
        }
        h = dmt64_mix(h, len);
        h ^= h >> 32;
        size_t cut = len * 7 % (len + 1);
        dmt64_state s;
        dmt64_init(&s);
        dmt64_update(&s, b, cut);
        dmt64_update(&s, b + cut, len - cut);
        CHECKF(dmt64(b, len) == h && dmt64_final(&s) == h, "len %zu, cut at %zu", len, cut);
    }
}

/* dmt_pattern_fill_impl: each implementation this CPU runs writes
 * dmt_pattern_fill's bytes, and nothing outside them. */
static void test_pattern_fast(void)
{
    enum { N = 9000, PAD = 16 };
    static uint8_t want[N], got[N + 2 * PAD];
    unsigned ran = 0;
    for (unsigned impl = 0; impl < DMT_PATTERN_IMPLS; impl++) {
        for (uint64_t off = 0; off < 24; off += (off < 9 ? 1 : 5))
            for (size_t len = 0; len < N; len = len < 140 ? len + 1 : len * 3 + off) {
                memset(got, 0xA5, sizeof got);
                dmt_pattern_fill(want, 0xFEED0000 + off, 8184 + off, len);
                if (!dmt_pattern_fill_impl(impl, got + PAD, 0xFEED0000 + off, 8184 + off, len))
                    goto next;
                bool bad = memcmp(got + PAD, want, len) != 0;
                for (size_t i = 0; i < PAD; i++)
                    bad |= got[i] != 0xA5 || got[PAD + len + i] != 0xA5;
                CHECKF(!bad, "impl %u, offset %llu, len %zu", impl, (unsigned long long)off, len);
            }
        ran++;
    next:;
    }
    CHECK(ran >= 1); /* the portable one at least; on x86 those the CPU has */
    memset(got, 0, sizeof got);
    dmt_pattern_fill_fast(got, 3, 5, N);
    dmt_pattern_fill(want, 3, 5, N);
    CHECK(memcmp(got, want, N) == 0);
}

/* dmt_digest_update_pattern equals filling a buffer and digesting it, for
 * both algorithms, after 0..9 bytes already digested and over SG-list-like
 * elements of odd lengths (one pattern stream cut at the element edges). */
static void test_pattern_digest(void)
{
    static uint8_t b[3 * 4096 + 77];
    static const size_t elems[] = {4096, 1, 4095, 7, 513, 8, 4096, 3000};
    const uint8_t pre[9] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
    const uint32_t algos[] = {DMT_DIGEST_XXH64, DMT_DIGEST_DMT64};
    for (unsigned a = 0; a < 2; a++)
        for (size_t k = 0; k <= sizeof pre; k += 3)
            for (uint64_t off = 0; off < 17; off += 1 + off / 4)
                for (size_t len = 0; len <= sizeof b; len = len * 3 + 1 + off) {
                    dmt_digest_state x, y, z;
                    memset(&x, 0, sizeof x); /* no maybe-uninitialized from gcc -O3 */
                    dmt_digest_init(&x, algos[a]);
                    dmt_digest_init(&y, algos[a]);
                    dmt_digest_init(&z, algos[a]);
                    dmt_digest_update(&x, pre, k);
                    dmt_digest_update(&y, pre, k);
                    dmt_digest_update(&z, pre, k);
                    dmt_pattern_fill(b, 0xABC + len, 4096 * 3 + off, len);
                    dmt_digest_update(&x, b, len);
                    dmt_digest_update_pattern(&y, 0xABC + len, 4096 * 3 + off, len);
                    for (size_t at = 0, e = 0; at < len; e = (e + 1) % 8) {
                        size_t n = elems[e] < len - at ? elems[e] : len - at;
                        dmt_digest_update_pattern(&z, 0xABC + len, 4096 * 3 + off + at, n);
                        at += n;
                    }
                    uint64_t want = dmt_digest_final(&x);
                    CHECKF(dmt_digest_final(&y) == want && dmt_digest_final(&z) == want,
                           "algo %u, prefix %zu, offset %llu, len %zu", algos[a], k,
                           (unsigned long long)off, len);
                }
}

int main(void)
{
    test_known_values();
    test_splits();
    test_pattern_dmt64();
    test_dmt64_definition();
    test_pattern_fast();
    test_pattern_digest();
    return tk_result("test_xxh64");
}

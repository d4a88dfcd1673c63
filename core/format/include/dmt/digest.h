/*
 * dmt/digest.h - the data digests and the reproducible buffer pattern.
 *
 * Digests (DMT_K_DIGEST algo, enum dmt_digest_algo): streaming 64-bit hashes
 * of a byte stream, fed in any split (an SG list's elements one after
 * another give the same value as the whole buffer at once).
 *   DMT64  dmatrace's own word-at-a-time mix (defined below and in FORMAT.md)
 *   XXH64  xxHash's XXH64 with seed 0 (core/format/xxh64.c, over the
 *          system's <xxhash.h>, Debian package libxxhash-dev); about four
 *          times as fast as DMT64 - the digest a DPC can afford.  Equal to
 *          `xxhsum -H1`.  Header-only except for these three functions.
 * dmt_digest_init/update/final/dmt_digest choose by algorithm id.
 * PATTERN XS64: byte i of a buffer filled from seed s,
 * computable at any offset, so a replayer can regenerate what a workload
 * wrote.  All are normative (schema/FORMAT.md) and freestanding: no libc,
 * C89 (dmt/port.h), usable in the Windows driver.
 */
#ifndef DMT_DIGEST_H
#define DMT_DIGEST_H

#include "dmt/port.h"
#include "dmt/record.h"

/* XXH64 streaming state (core/format/xxh64.c keeps xxHash's own state in
 * it; its layout is private to that file). */
typedef struct dmt_xxh64_state {
    uint64_t opaque[12];
} dmt_xxh64_state;

/* XXH64 with seed 0 (core/format/xxh64.c, part of dmt_fs and of the driver). */
void dmt_xxh64_init(dmt_xxh64_state *s);
void dmt_xxh64_update(dmt_xxh64_state *s, const void *data, size_t len);
uint64_t dmt_xxh64_final(const dmt_xxh64_state *s);

#define DMT64_INIT 0x6A09E667F3BCC909ull
#define DMT64_MUL  0x9E3779B97F4A7C15ull

typedef struct dmt64_state {
    uint64_t h;
    uint64_t total;
    uint64_t carry; /* pending bytes, little-endian */
    unsigned ncarry;
} dmt64_state;

static DMT_INLINE void dmt64_init(dmt64_state *s)
{
    s->h = DMT64_INIT;
    s->total = 0;
    s->carry = 0;
    s->ncarry = 0;
}

static DMT_INLINE uint64_t dmt64_mix(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= DMT64_MUL;
    h ^= h >> 29;
    return h;
}

/* DMT64's chain in products: with h = x(p), x(p) = p ^ p >> 29, a word w
 * makes p' = (p ^ w ^ p >> 29) * MUL - dmt64_mix's value.  p ^ w is
 * computed beside p >> 29, so only shift, xor and multiply are on the serial
 * chain (5 cycles a word on x86-64 rather than 6); DMT64_OPAQUE keeps gcc
 * and clang from folding the xors back into one longer chain.  A run of
 * words starts from dmt64_unx(h) and ends with x(p), both exact (x is a
 * bijection).  dmt64_mix stays the definition (FORMAT.md). */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__aarch64__))
#define DMT64_OPAQUE(v) __asm__("" : "+r"(v))
#else
#define DMT64_OPAQUE(v) ((void)0)
#endif

static DMT_INLINE uint64_t dmt64_unx(uint64_t h) /* the p with x(p) = h */
{
    return h ^ (h >> 29) ^ (h >> 58);
}

static DMT_INLINE uint64_t dmt64_step(uint64_t p, uint64_t w)
{
    uint64_t t;
    DMT64_OPAQUE(w); /* whole, not its last xor moved next to p */
    t = p ^ w;
    DMT64_OPAQUE(t);
    return (t ^ (p >> 29)) * DMT64_MUL;
}

static DMT_INLINE void dmt64_update(dmt64_state *s, const void *data, size_t len)
{
    const uint8_t *p = (const uint8_t *)data;
    uint64_t w, prod;
    s->total += len;
    while (len > 0 && s->ncarry != 0) {
        s->carry |= (uint64_t)*p++ << (8u * s->ncarry);
        len--;
        if (++s->ncarry == 8) {
            s->h = dmt64_mix(s->h, s->carry);
            s->carry = 0;
            s->ncarry = 0;
        }
    }
    if (len >= 8) {
        prod = dmt64_unx(s->h);
        while (len >= 8) {
            w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
                (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
                (uint64_t)p[7] << 56;
            prod = dmt64_step(prod, w);
            p += 8;
            len -= 8;
        }
        s->h = prod ^ (prod >> 29);
    }
    while (len > 0) {
        s->carry |= (uint64_t)*p++ << (8u * s->ncarry);
        s->ncarry++;
        len--;
    }
}

static DMT_INLINE uint64_t dmt64_final(const dmt64_state *s)
{
    uint64_t h = s->h;
    if (s->ncarry != 0)
        h = dmt64_mix(h, s->carry);
    h = dmt64_mix(h, s->total);
    h ^= h >> 32;
    return h;
}

static DMT_INLINE uint64_t dmt64(const void *data, size_t len)
{
    dmt64_state s;
    dmt64_init(&s);
    dmt64_update(&s, data, len);
    return dmt64_final(&s);
}

/* ---- by algorithm id ------------------------------------------------------ */

/* A digest in progress, of either algorithm.  Plain data on the caller's
 * stack (about 100 bytes); nothing to free. */
typedef struct dmt_digest_state {
    uint32_t algo; /* enum dmt_digest_algo */
    union {
        dmt64_state dmt64;
        dmt_xxh64_state xxh64;
    } u;
} dmt_digest_state;

/* Is algo a digest this code computes? */
static DMT_INLINE bool dmt_digest_known(uint32_t algo)
{
    return algo == DMT_DIGEST_DMT64 || algo == DMT_DIGEST_XXH64;
}

/* Start a digest; false (and s unusable) for an unknown algorithm. */
static DMT_INLINE bool dmt_digest_init(dmt_digest_state *s, uint32_t algo)
{
    s->algo = algo;
    if (algo == DMT_DIGEST_DMT64) {
        dmt64_init(&s->u.dmt64);
        return true;
    }
    if (algo == DMT_DIGEST_XXH64) {
        dmt_xxh64_init(&s->u.xxh64);
        return true;
    }
    return false;
}

/* Feed the next len bytes (any split gives the same final value). */
static DMT_INLINE void dmt_digest_update(dmt_digest_state *s, const void *data, size_t len)
{
    if (s->algo == DMT_DIGEST_XXH64)
        dmt_xxh64_update(&s->u.xxh64, data, len);
    else
        dmt64_update(&s->u.dmt64, data, len);
}

static DMT_INLINE uint64_t dmt_digest_final(const dmt_digest_state *s)
{
    if (s->algo == DMT_DIGEST_XXH64)
        return dmt_xxh64_final(&s->u.xxh64);
    return dmt64_final(&s->u.dmt64);
}

/* The digest of one buffer; 0 for an unknown algorithm. */
static DMT_INLINE uint64_t dmt_digest(uint32_t algo, const void *data, size_t len)
{
    dmt_digest_state s;
    if (!dmt_digest_init(&s, algo))
        return 0;
    dmt_digest_update(&s, data, len);
    return dmt_digest_final(&s);
}

/* ---- digest policies (enum dmt_digest_policy in dmt/record.h) ----------------
 *
 * BOUNDED digests a fixed budget of bytes per transfer, whatever its length
 * or its number of SG elements, so the probe's work in the DPC stops growing
 * with the transfer:
 *
 *   0      4 KiB                                              len-4 KiB    len
 *   |=head=|  [s0]    [s1]    [s2]  ...  [s15]   (16 x 256 B)  |===tail===|
 *           \______ the middle, cut into 16 equal strides; ______/
 *                    sample k sits in the middle of stride k
 *
 * A transfer of at most DMT_DIGEST_BOUNDED_BUDGET bytes is digested whole
 * (no ranges).  The value is the digest of the ranges' bytes one after
 * another (split-invariance makes that one stream).  Ranges are ascending,
 * disjoint and inside [0, len); the producer records them, so a reader never
 * recomputes this layout (a later producer may choose another). */
#define DMT_DIGEST_BOUNDED_HEAD    4096u
#define DMT_DIGEST_BOUNDED_TAIL    4096u
#define DMT_DIGEST_BOUNDED_SAMPLES 16u
#define DMT_DIGEST_BOUNDED_SAMPLE  256u
#define DMT_DIGEST_BOUNDED_BUDGET                                                                  \
    (DMT_DIGEST_BOUNDED_HEAD + DMT_DIGEST_BOUNDED_TAIL +                                           \
     DMT_DIGEST_BOUNDED_SAMPLES * DMT_DIGEST_BOUNDED_SAMPLE)
#define DMT_DIGEST_BOUNDED_MAX_RANGES (DMT_DIGEST_BOUNDED_SAMPLES + 2u)

/* The ranges BOUNDED digests of a transfer of len bytes, into out (room for
 * DMT_DIGEST_BOUNDED_MAX_RANGES); addr is the offset from the transfer's
 * first byte.  Returns how many, or 0 when the whole transfer is within the
 * budget (digest it whole). */
static DMT_INLINE uint32_t dmt_digest_bounded_ranges(uint64_t len, dmt_sg_elem *out)
{
    uint64_t mid, stride;
    uint32_t n = 0, k;
    if (len <= DMT_DIGEST_BOUNDED_BUDGET)
        return 0;
    out[n].addr = 0;
    out[n++].len = DMT_DIGEST_BOUNDED_HEAD;
    mid = len - DMT_DIGEST_BOUNDED_HEAD - DMT_DIGEST_BOUNDED_TAIL;
    stride = mid / DMT_DIGEST_BOUNDED_SAMPLES; /* >= SAMPLE: len > BUDGET */
    for (k = 0; k < DMT_DIGEST_BOUNDED_SAMPLES; k++) {
        out[n].addr =
            DMT_DIGEST_BOUNDED_HEAD + k * stride + (stride - DMT_DIGEST_BOUNDED_SAMPLE) / 2;
        out[n++].len = DMT_DIGEST_BOUNDED_SAMPLE;
    }
    out[n].addr = len - DMT_DIGEST_BOUNDED_TAIL;
    out[n++].len = DMT_DIGEST_BOUNDED_TAIL;
    return n;
}

/* The digest of ranges[0..n) of the buffer base (offsets relative to base),
 * one stream; n 0 means the whole buffer of len bytes.  0 for an unknown
 * algorithm.  The caller checked the ranges lie inside the buffer. */
static DMT_INLINE uint64_t dmt_digest_ranges(uint32_t algo, const void *base, uint64_t len,
                                             const dmt_sg_elem *ranges, uint32_t n)
{
    dmt_digest_state s;
    uint32_t i;
    if (!dmt_digest_init(&s, algo))
        return 0;
    if (n == 0)
        dmt_digest_update(&s, base, (size_t)len);
    for (i = 0; i < n; i++)
        dmt_digest_update(&s, (const uint8_t *)base + (size_t)ranges[i].addr, ranges[i].len);
    return dmt_digest_final(&s);
}

/* splitmix64 step: the word generator of the XS64 pattern. */
static DMT_INLINE uint64_t dmt_splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Fill dst with bytes [offset, offset+len) of the XS64 pattern of seed: one
 * splitmix64 per 8-byte word of the pattern (byte k of a word is bits
 * 8k..8k+7 of its value). */
static DMT_INLINE void dmt_pattern_fill(void *dst, uint64_t seed, uint64_t offset, size_t len)
{
    uint8_t *d = (uint8_t *)dst;
    size_t i = 0;
    uint64_t word = offset >> 3, w;
    unsigned k = (unsigned)(offset & 7u), b;
    if (k != 0 && len > 0) { /* the partial first word */
        w = dmt_splitmix64(seed + word++);
        for (; k < 8 && i < len; k++, i++)
            d[i] = (uint8_t)(w >> (8u * k));
    }
    for (; i + 8 <= len; i += 8, word++) {
        w = dmt_splitmix64(seed + word);
        for (b = 0; b < 8; b++) /* merged into one store by the compiler */
            d[i + b] = (uint8_t)(w >> (8u * b));
    }
    if (i < len) {
        w = dmt_splitmix64(seed + word);
        for (b = 0; i < len; b++, i++)
            d[i] = (uint8_t)(w >> (8u * b));
    }
}

/* dmt64_update of bytes [offset, offset+len) of the XS64 pattern of seed,
 * without storing them: once the digest's pending bytes and the pattern's
 * words line up (after at most 7 bytes, when they can), each pattern word
 * goes straight into the mix, so the generator runs beside DMT64's serial
 * chain.  The same value as filling a buffer and digesting it. */
static DMT_INLINE void dmt64_update_pattern(dmt64_state *s, uint64_t seed, uint64_t offset,
                                            size_t len)
{
    uint8_t tmp[64];
    size_t n;
    uint64_t word, prod;
    if (((offset - s->total) & 7u) != 0) { /* never line up: through a buffer */
        while (len > 0) {
            n = len < sizeof tmp ? len : sizeof tmp;
            dmt_pattern_fill(tmp, seed, offset, n);
            dmt64_update(s, tmp, n);
            offset += n;
            len -= n;
        }
        return;
    }
    n = (size_t)((8u - (offset & 7u)) & 7u); /* to the next word of both */
    n = n < len ? n : len;
    if (n > 0) {
        dmt_pattern_fill(tmp, seed, offset, n);
        dmt64_update(s, tmp, n);
        offset += n;
        len -= n;
    }
    if (len >= 8) { /* s->ncarry is 0 here: total and offset are word-aligned */
        word = offset >> 3;
        prod = dmt64_unx(s->h);
        for (n = len >> 3; n > 0; n--)
            prod = dmt64_step(prod, dmt_splitmix64(seed + word++));
        s->h = prod ^ (prod >> 29);
        s->total += len & ~(size_t)7;
        offset += len & ~(size_t)7;
        len &= 7u;
    }
    if (len > 0) {
        dmt_pattern_fill(tmp, seed, offset, len);
        dmt64_update(s, tmp, len);
    }
}

#endif

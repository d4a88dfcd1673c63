/*
 * pattern.c - the XS64 pattern (dmt/digest.h) generated fast on the host,
 * and fed to a digest without storing it (dmt/pattern.h).
 *
 * The pattern is one splitmix64 per 8-byte word, each word independent of
 * the others, so eight words go through the generator side by side in a
 * vector register.  Three implementations of the word generator, the best
 * the CPU has chosen per call: 0 the portable dmt_pattern_fill, 1 AVX2
 * (four lanes; each 64-bit multiply built from three 32-bit ones), 2
 * AVX-512 (eight lanes, vpmullq).  Compiled with GCC/clang target
 * attributes, so the build needs no -m flags and runs on any x86-64.
 *
 * Invariants: every implementation stores word k of the pattern
 * little-endian at byte 8k (so the vector ones exist only on x86); partial
 * words at either end always come from dmt_pattern_fill, so only whole,
 * aligned words differ in how they are computed, never in value.
 */
#include "dmt/pattern.h"

#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__)
#define PAT_VECTOR 1
#else
#define PAT_VECTOR 0
#endif

/* bytes of pattern generated per block for a digest: stays in L1 */
#define PAT_BLOCK 4096u

typedef void words_fn(uint8_t *d, uint64_t x, size_t n8);

#if PAT_VECTOR
#include <immintrin.h>

#define GOLDEN 0x9E3779B97F4A7C15ull
#define MUL1   0xBF58476D1CE4E5B9ull
#define MUL2   0x94D049BB133111EBull

typedef uint64_t v8u64 __attribute__((vector_size(64)));

/* Pattern words x - seed .. + 8 * n8 (x = seed + first word index) into d,
 * 64 bytes per step: dmt_splitmix64 on eight lanes (vpmullq). */
__attribute__((target("avx512f,avx512dq"))) static void words_avx512(uint8_t *d, uint64_t x,
                                                                     size_t n8)
{
    v8u64 v = {x, x + 1, x + 2, x + 3, x + 4, x + 5, x + 6, x + 7};
    v += GOLDEN;
    for (; n8 > 0; n8--, d += sizeof v) {
        v8u64 z = v;
        z = (z ^ (z >> 30)) * MUL1;
        z = (z ^ (z >> 27)) * MUL2;
        z ^= z >> 31;
        memcpy(d, &z, sizeof z);
        v += 8;
    }
}

/* The low 64 bits of a * c in each lane, from 32 x 32 -> 64-bit multiplies
 * (AVX2 has no 64-bit one): lo(a)lo(c) + (hi(a)lo(c) + lo(a)hi(c)) << 32. */
__attribute__((target("avx2"))) static inline __m256i mul64_avx2(__m256i a, __m256i c_lo,
                                                                 __m256i c_hi)
{
    __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), c_lo),
                                     _mm256_mul_epu32(a, c_hi));
    return _mm256_add_epi64(_mm256_mul_epu32(a, c_lo), _mm256_slli_epi64(cross, 32));
}

__attribute__((target("avx2"))) static inline __m256i splitmix_avx2(__m256i z)
{
    const __m256i m1lo = _mm256_set1_epi64x((long long)(MUL1 & 0xFFFFFFFFu));
    const __m256i m1hi = _mm256_set1_epi64x((long long)(MUL1 >> 32));
    const __m256i m2lo = _mm256_set1_epi64x((long long)(MUL2 & 0xFFFFFFFFu));
    const __m256i m2hi = _mm256_set1_epi64x((long long)(MUL2 >> 32));
    z = mul64_avx2(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), m1lo, m1hi);
    z = mul64_avx2(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), m2lo, m2hi);
    return _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
}

/* words_avx512 in two halves of four lanes. */
__attribute__((target("avx2"))) static void words_avx2(uint8_t *d, uint64_t x, size_t n8)
{
    const __m256i step = _mm256_set1_epi64x(8);
    __m256i a = _mm256_add_epi64(_mm256_setr_epi64x(0, 1, 2, 3),
                                 _mm256_set1_epi64x((long long)(x + GOLDEN)));
    __m256i b = _mm256_add_epi64(a, _mm256_set1_epi64x(4));
    for (; n8 > 0; n8--, d += 64) {
        _mm256_storeu_si256((__m256i *)(void *)d, splitmix_avx2(a));
        _mm256_storeu_si256((__m256i *)(void *)(d + 32), splitmix_avx2(b));
        a = _mm256_add_epi64(a, step);
        b = _mm256_add_epi64(b, step);
    }
}
#endif

/* The word generator of implementation impl, or NULL when this CPU cannot
 * run it (0, the portable fill, has none). */
static words_fn *words_of(unsigned impl)
{
#if PAT_VECTOR
    if (impl == 1 && __builtin_cpu_supports("avx2"))
        return words_avx2;
    if (impl == 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
        return words_avx512;
#endif
    (void)impl;
    return NULL;
}

static words_fn *words_best(void)
{
    words_fn *f = NULL;
    for (unsigned i = DMT_PATTERN_IMPLS; !f && i-- > 1;)
        f = words_of(i);
    return f;
}

static void fill_with(words_fn *words, uint8_t *d, uint64_t seed, uint64_t offset, size_t len)
{
    size_t head = (size_t)((8u - (offset & 7u)) & 7u), n8;
    if (!words || len < head + 64) {
        dmt_pattern_fill(d, seed, offset, len);
        return;
    }
    dmt_pattern_fill(d, seed, offset, head); /* up to the first whole word */
    d += head;
    offset += head;
    len -= head;
    n8 = len / 64;
    words(d, seed + (offset >> 3), n8);
    d += n8 * 64;
    offset += n8 * 64;
    dmt_pattern_fill(d, seed, offset, len - n8 * 64);
}

void dmt_pattern_fill_fast(void *dst, uint64_t seed, uint64_t offset, size_t len)
{
    fill_with(words_best(), dst, seed, offset, len);
}

bool dmt_pattern_fill_impl(unsigned impl, void *dst, uint64_t seed, uint64_t offset, size_t len)
{
    words_fn *f = words_of(impl);
    if (impl != 0 && !f)
        return false;
    fill_with(f, dst, seed, offset, len);
    return true;
}

void dmt_digest_update_pattern(dmt_digest_state *s, uint64_t seed, uint64_t offset, size_t len)
{
    uint64_t blk[PAT_BLOCK / 8];
    words_fn *words;
    if (s->algo != DMT_DIGEST_XXH64) { /* as dmt_digest_update: DMT64 */
        dmt64_update_pattern(&s->u.dmt64, seed, offset, len);
        return;
    }
    words = words_best();
    while (len > 0) {
        size_t n = len < sizeof blk ? len : sizeof blk;
        fill_with(words, (uint8_t *)blk, seed, offset, n);
        dmt_xxh64_update(&s->u.xxh64, blk, n);
        offset += n;
        len -= n;
    }
}

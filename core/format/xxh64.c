/*
 * xxh64.c - the XXH64 digest (DMT_DIGEST_XXH64) for dmt/digest.h: a thin
 * wrapper over the system's <xxhash.h> (Debian libxxhash-dev), compiled in
 * here with XXH_INLINE_ALL so there is no library to link - the driver
 * takes this file as it is.  Seed 0, so values equal `xxhsum -H1`; XXH64's
 * streaming state makes any split of the input give the same value.
 *
 * Freestanding C89 like the rest of the driver-side code: XXH_NO_XXH3
 * keeps out XXH3 and its SIMD code and <intrin.h> (no vector registers in
 * an x86 driver); the malloc-based state functions are never called, so
 * nothing references malloc.
 */
#include "dmt/digest.h"

#include <string.h>

/* xxHash reads every input word through memcpy (its portable unaligned
 * load).  Under -ffreestanding (dmt_fs, the driver) memcpy is not a builtin,
 * so each 8-byte read became a call and XXH64 ran at DMT64's speed (4.4
 * GB/s instead of about 20 on this machine).  DMT_MOVE_FIXED keeps a
 * constant-size copy one move (cl's /Oi does the same for memcpy). */
#undef memcpy
#define memcpy(d, s, n) DMT_MOVE_FIXED((d), (s), (n))

#define XXH_INLINE_ALL
#define XXH_NO_XXH3
/* Under -ffreestanding gcc does not expand xxHash's memcpy of a word into
 * a load: every 8 bytes cost a call to memcpy (~4x slower).  GCC and clang
 * read through xxHash's packed-union loads instead; cl keeps memcpy, which
 * it expands. */
#if defined(__GNUC__) && !defined(XXH_FORCE_MEMORY_ACCESS)
#define XXH_FORCE_MEMORY_ACCESS 1
#endif
#include <xxhash.h>

/* xxHash 0.8.1 with XXH_NO_XXH3 still declares the XXH3 functions static
 * and never defines them; GCC warns about that at the end of this file. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

DMT_STATIC_ASSERT(sizeof(XXH64_state_t) <= sizeof(dmt_xxh64_state), xxh64_state_fits);

void dmt_xxh64_init(dmt_xxh64_state *s)
{
    (void)XXH64_reset((XXH64_state_t *)(void *)s, 0);
}

void dmt_xxh64_update(dmt_xxh64_state *s, const void *data, size_t len)
{
    (void)XXH64_update((XXH64_state_t *)(void *)s, data, len);
}

uint64_t dmt_xxh64_final(const dmt_xxh64_state *s)
{
    return (uint64_t)XXH64_digest((const XXH64_state_t *)(const void *)s);
}

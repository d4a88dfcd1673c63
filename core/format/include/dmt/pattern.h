/*
 * dmt/pattern.h - the XS64 pattern of dmt/digest.h at the host's speed, for
 * the tools (libdmt; the driver keeps dmt_pattern_fill): the same bytes,
 * eight pattern words at a time in vector registers where the CPU has them,
 * and pattern bytes fed to a digest in one pass without storing them.
 *
 * Both equal their plain definitions bit for bit at any offset, length and
 * split (core/tests/test_xxh64.c checks every implementation this CPU runs).
 */
#ifndef DMT_PATTERN_H
#define DMT_PATTERN_H

#include "dmt/digest.h"

/* dmt_pattern_fill(dst, seed, offset, len), faster. */
void dmt_pattern_fill_fast(void *dst, uint64_t seed, uint64_t offset, size_t len);

/* dmt_digest_update(s, bytes, len) of pattern(seed) bytes [offset, offset +
 * len): generated a block at a time into a buffer that stays in the L1
 * cache (XXH64), or straight into the chain (DMT64, dmt64_update_pattern);
 * never more than a few KiB exist at once. */
void dmt_digest_update_pattern(dmt_digest_state *s, uint64_t seed, uint64_t offset, size_t len);

/* For tests: the implementations of the word generator, 0 the portable
 * one; dmt_pattern_fill_impl is dmt_pattern_fill_fast with implementation
 * impl, false (nothing written) when this CPU cannot run it. */
#define DMT_PATTERN_IMPLS 3
bool dmt_pattern_fill_impl(unsigned impl, void *dst, uint64_t seed, uint64_t offset, size_t len);

#endif

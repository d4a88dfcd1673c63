/*
 * locator.c - write and check the ring locator (dmt/locator.h, layout in
 * schema/FORMAT.md 2.2).  Freestanding C89: the probe's bug-check callback
 * calls dmt_locator_write at raised IRQL (no allocation, no locks, nothing
 * but byte stores and XXH64), and the carver calls dmt_locator_parse on
 * bytes from a crash dump (every field hostile).
 *
 * The check word is XXH64 (seed 0, dmt/digest.h, already in the driver) of
 * the whole block with the check field zero; a block that passes the check
 * still has every count and address relation verified, so a block that was
 * corrupted and re-checksummed by accident, or crafted, cannot send the
 * reader anywhere impossible.
 */
#include "dmt/locator.h"

#include <string.h>

#include "dmt/digest.h"

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* XXH64 of size bytes at p, the check field counted as zero. */
static uint64_t check_word(const uint8_t *p, size_t size)
{
    static const uint8_t zero[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    dmt_xxh64_state s;
    dmt_xxh64_init(&s);
    dmt_xxh64_update(&s, p, DMT_LOC_CHECK_OFF);
    dmt_xxh64_update(&s, zero, 8);
    dmt_xxh64_update(&s, p + DMT_LOC_CHECK_OFF + 8, size - DMT_LOC_CHECK_OFF - 8);
    return dmt_xxh64_final(&s);
}

size_t dmt_locator_write(void *buf, size_t cap, const dmt_locator *loc)
{
    uint8_t *p = (uint8_t *)buf;
    size_t size;
    uint32_t i;
    if (loc->n == 0 || loc->n > DMT_LOC_MAX_RINGS)
        return 0;
    size = DMT_LOC_HDR_SIZE + (size_t)loc->n * DMT_LOC_ENTRY_SIZE;
    if (cap < size)
        return 0;
    memset(p, 0, size);
    /* The magic as immediates (dmt/locator.h), not a string constant. */
    put32(p + 0, DMT_LOC_MAGIC_W0);
    put32(p + 4, DMT_LOC_MAGIC_W1);
    put32(p + 8, DMT_LOC_MAGIC_W2);
    put32(p + 12, DMT_LOC_MAGIC_W3);
    put32(p + 16, DMT_LOC_VERSION);
    put32(p + 20, (uint32_t)size);
    put32(p + 24, loc->n);
    put32(p + 28, loc->phys_source);
    put64(p + 32, loc->region_va);
    put64(p + 40, loc->region_bytes);
    put64(p + 48, loc->instance);
    for (i = 0; i < loc->n; i++) {
        uint8_t *e = p + DMT_LOC_HDR_SIZE + (size_t)i * DMT_LOC_ENTRY_SIZE;
        const dmt_locator_ring *r = &loc->rings[i];
        put64(e + 0, r->va);
        put64(e + 8, r->phys);
        put64(e + 16, r->data_size);
        put64(e + 24, r->instance);
        put32(e + 32, r->index);
        put32(e + 36, r->count);
    }
    put64(p + DMT_LOC_CHECK_OFF, check_word(p, size));
    return size;
}

int dmt_locator_parse(const void *buf, size_t len, dmt_locator *out)
{
    const uint8_t *p = (const uint8_t *)buf;
    uint32_t size, n, i;
    uint64_t end;
    if (len < DMT_LOC_HDR_SIZE || get32(p) != DMT_LOC_MAGIC_W0 ||
        get32(p + 4) != DMT_LOC_MAGIC_W1 || get32(p + 8) != DMT_LOC_MAGIC_W2 ||
        get32(p + 12) != DMT_LOC_MAGIC_W3)
        return len < DMT_LOC_HDR_SIZE && len >= DMT_LOC_MAGIC_LEN ? DMT_LOC_TRUNCATED
                                                                  : DMT_LOC_BAD_MAGIC;
    if (get32(p + 16) != DMT_LOC_VERSION)
        return DMT_LOC_BAD_VERSION;
    size = get32(p + 20);
    n = get32(p + 24);
    if (n == 0 || n > DMT_LOC_MAX_RINGS || size != DMT_LOC_HDR_SIZE + n * DMT_LOC_ENTRY_SIZE)
        return DMT_LOC_BAD_COUNTS;
    if (len < size)
        return DMT_LOC_TRUNCATED;
    if (get64(p + DMT_LOC_CHECK_OFF) != check_word(p, size))
        return DMT_LOC_BAD_CHECK;
    memset(out, 0, sizeof(*out));
    out->n = n;
    out->phys_source = get32(p + 28);
    out->region_va = get64(p + 32);
    out->region_bytes = get64(p + 40);
    out->instance = get64(p + 48);
    if (out->phys_source >= DMT_LOC_PHYS_N_ || out->region_va + out->region_bytes < out->region_va)
        return DMT_LOC_BAD_ENTRY;
    end = out->region_va;
    for (i = 0; i < n; i++) {
        const uint8_t *e = p + DMT_LOC_HDR_SIZE + (size_t)i * DMT_LOC_ENTRY_SIZE;
        dmt_locator_ring *r = &out->rings[i];
        uint64_t bytes;
        r->va = get64(e + 0);
        r->phys = get64(e + 8);
        r->data_size = get64(e + 16);
        r->instance = get64(e + 24);
        r->index = get32(e + 32);
        r->count = get32(e + 36);
        if (r->index != i || r->count != n)
            return DMT_LOC_BAD_COUNTS;
        if (r->instance != out->instance || r->data_size < 4096u ||
            r->data_size > ((uint64_t)1 << 30) || (r->data_size & (r->data_size - 1)) ||
            get64(e + 40) != 0)
            return DMT_LOC_BAD_ENTRY;
        bytes = 256u + r->data_size;
        /* Rings lie inside the region, in order, without overlapping;
         * physical ranges do not wrap, and are unknown only when said so. */
        if (r->va < end || r->va - out->region_va > out->region_bytes ||
            bytes > out->region_bytes - (r->va - out->region_va) || r->phys + bytes < r->phys ||
            (r->phys == 0) != (out->phys_source == DMT_LOC_PHYS_NONE))
            return DMT_LOC_BAD_ENTRY;
        end = r->va + bytes;
    }
    return DMT_LOC_OK;
}

const char *dmt_locator_reject_name(int reason)
{
    switch (reason) {
    case DMT_LOC_OK:
        return "valid";
    case DMT_LOC_BAD_MAGIC:
        return "not a locator";
    case DMT_LOC_TRUNCATED:
        return "cut short";
    case DMT_LOC_BAD_VERSION:
        return "unknown version";
    case DMT_LOC_BAD_COUNTS:
        return "wrong counts";
    case DMT_LOC_BAD_CHECK:
        return "bad check word";
    case DMT_LOC_BAD_ENTRY:
        return "impossible ring entry";
    default:
        return "?";
    }
}

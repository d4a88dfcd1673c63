/*
 * records.h - test helpers: one sample record of every kind, with the
 * largest values the format allows, and a field-by-field comparison.
 */
#ifndef DMT_TEST_RECORDS_H
#define DMT_TEST_RECORDS_H

#include <string.h>

#include "dmt/record.h"

static dmt_sg_elem sample_sg[DMT_MAX_SG_ELEMENTS];
static uint64_t sample_values[DMT_MAX_VALUES];
static uint8_t sample_bytes[DMT_MAX_BYTES];
static char sample_text[DMT_MAX_TEXT];

/* Fill r with a record of kind k.  big selects extreme values. */
static void sample_record(dmt_record *r, uint32_t k, int big, int64_t ts)
{
    const uint64_t U = big ? UINT64_MAX : 0x1234;
    const uint32_t U32 = big ? UINT32_MAX : 77;
    memset(r, 0, sizeof *r);
    r->kind = k;
    r->ts = ts;
    r->width = 4;
    switch (k) {
    case DMT_K_REG_WRITE:
    case DMT_K_REG_READ:
        r->off = U;
        r->value = big ? UINT64_MAX : 0xCAFE;
        r->width = big ? 8 : 4;
        r->dev = big ? U32 : 0;
        break;
    case DMT_K_REG_WRITE_BUF:
    case DMT_K_REG_READ_BUF:
        r->off = 0x100;
        r->n_values = big ? DMT_MAX_VALUES : 3;
        for (uint32_t i = 0; i < r->n_values; i++)
            sample_values[i] = big ? UINT64_MAX - i : i * 1000;
        r->values = sample_values;
        r->width = big ? 2 : 4;
        r->dev = big ? 9 : 0;
        break;
    case DMT_K_EXECUTE_DMA:
        r->xfer = U32;
        r->adapter = U32;
        r->length = U;
        r->n_sg = big ? DMT_MAX_SG_ELEMENTS : 3;
        for (uint32_t i = 0; i < r->n_sg; i++) {
            sample_sg[i].addr = big ? UINT64_MAX - i : 0x1000ull * (i + 1) + (i == 0 ? 0x10 : 0);
            sample_sg[i].len = big ? UINT32_MAX - i : (i == 0 ? 0xFF0 : 0x1000);
        }
        r->sg_list = sample_sg;
        /* the optional flags: absent (0) in the plain sample, every bit in
         * the big one (unknown bits travel unchanged) */
        r->xfer_flags = big ? UINT32_MAX : 0;
        break;
    case DMT_K_START_DMA:
        r->xfer = U32;
        r->adapter = U32;
        r->mdl = U32;
        r->offset = U;
        r->length = U;
        r->write_to_device = true;
        r->context = U;
        break;
    case DMT_K_START_DMA_END:
        r->xfer = U32;
        r->adapter = 2;
        r->status = U32;
        r->length = U;
        break;
    case DMT_K_COMPLETE_DMA:
        r->xfer = U32;
        r->adapter = U32;
        r->write_to_device = big;
        r->status = U32;
        break;
    case DMT_K_ADAPTER_CREATE:
        r->adapter = U32;
        r->dev = U32;
        r->sg = true;
        r->dma32 = big;
        r->dma64 = !big;
        r->length = U;
        r->map_registers = U32;
        r->addr_limit = U;
        break;
    case DMT_K_ADAPTER_RELEASE:
        r->adapter = U32;
        break;
    case DMT_K_BUFFER_LOCK:
        r->mdl = U32;
        r->va = U;
        r->length = U;
        r->op = DMT_LOCK_MODIFY;
        break;
    case DMT_K_BUFFER_UNLOCK:
        r->mdl = U32;
        break;
    case DMT_K_COMMON_ALLOC:
        r->cb = U32;
        r->adapter = U32;
        r->addr = U;
        r->length = U;
        r->cached = big;
        r->va = U;
        break;
    case DMT_K_COMMON_RELEASE:
        r->cb = U32;
        r->adapter = U32;
        break;
    case DMT_K_DESC_WRITE:
    case DMT_K_PAYLOAD:
        if (k == DMT_K_DESC_WRITE)
            r->cb = U32;
        else
            r->mdl = U32;
        r->offset = U;
        r->n_bytes = big ? DMT_MAX_BYTES : 32;
        for (uint32_t i = 0; i < r->n_bytes; i++)
            sample_bytes[i] = (uint8_t)(i * 7 + 1);
        r->bytes = sample_bytes;
        break;
    case DMT_K_INTERRUPT:
        r->dev = U32;
        r->claimed = true;
        r->value = U;
        break;
    case DMT_K_DPC:
        r->dev = U32;
        r->xfer = U32;
        break;
    case DMT_K_DIGEST:
        r->xfer = U32;
        r->algo = DMT_DIGEST_DMT64;
        r->length = U;
        r->value = U;
        break;
    case DMT_K_PATTERN:
        r->mdl = U32;
        r->algo = DMT_PATTERN_XS64;
        r->value = U;
        r->offset = U;
        r->length = U;
        break;
    case DMT_K_DEVICE_MAP:
        r->dev = U32;
        r->addr = U;
        r->length = U;
        r->va = U;
        break;
    case DMT_K_MARKER:
        r->n_bytes = big ? DMT_MAX_TEXT : 5;
        for (uint32_t i = 0; i < r->n_bytes; i++)
            sample_text[i] = (char)('a' + i % 26);
        r->bytes = (const uint8_t *)sample_text;
        break;
    default:
        break;
    }
}

__attribute__((unused)) static size_t sg_stride_of(const dmt_record *r)
{
    return r->sg_stride ? r->sg_stride : sizeof(dmt_sg_elem);
}

/* Compare the payload fields of two records (not seq/pos). */
__attribute__((unused)) static int records_equal(const dmt_record *a, const dmt_record *b)
{
    if (a->kind != b->kind || a->ts != b->ts)
        return 0;
    if (a->dev != b->dev || a->adapter != b->adapter || a->xfer != b->xfer || a->mdl != b->mdl ||
        a->cb != b->cb || a->op != b->op || a->algo != b->algo || a->reason != b->reason ||
        a->status != b->status || a->map_registers != b->map_registers ||
        a->xfer_flags != b->xfer_flags)
        return 0;
    if (a->write_to_device != b->write_to_device || a->sg != b->sg || a->dma32 != b->dma32 ||
        a->dma64 != b->dma64 || a->claimed != b->claimed || a->cached != b->cached)
        return 0;
    if (a->off != b->off || a->value != b->value || a->offset != b->offset ||
        a->length != b->length || a->count != b->count || a->addr != b->addr ||
        a->addr_limit != b->addr_limit || a->va != b->va || a->context != b->context)
        return 0;
    if ((a->kind <= DMT_K_REG_READ_BUF) && a->width != b->width)
        return 0;
    if (a->n_sg != b->n_sg || a->n_values != b->n_values || a->n_bytes != b->n_bytes)
        return 0;
    for (uint32_t i = 0; i < a->n_sg; i++) {
        const uint8_t *ea = (const uint8_t *)a->sg_list + i * sg_stride_of(a);
        const uint8_t *eb = (const uint8_t *)b->sg_list + i * sg_stride_of(b);
        if (memcmp(ea, eb, 8) != 0 || memcmp(ea + 8, eb + 8, 4) != 0)
            return 0;
    }
    for (uint32_t i = 0; i < a->n_values; i++)
        if (a->values[i] != b->values[i])
            return 0;
    if (a->n_bytes && memcmp(a->bytes, b->bytes, a->n_bytes) != 0)
        return 0;
    return 1;
}

#endif

/*
 * dmt/stats.h - per-trace summary counts: what `dmatrace info` prints for a
 * .dmat (accumulated record by record) and for a .db (read from tables), so
 * the two can be compared field by field.
 */
#ifndef DMT_STATS_H
#define DMT_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "dmt/record.h"

#define DMT_STATS_MAX_ADAPTERS 64

typedef struct dmt_stats_adapter {
    uint32_t id;
    uint32_t dev;
    bool sg, dma32, dma64;
    uint64_t max_length;
    uint32_t map_registers;
    uint64_t addr_limit;
    uint64_t transfers; /* EXECUTE_DMA records on this adapter */
    uint64_t bytes;     /* granted bytes */
} dmt_stats_adapter;

typedef struct dmt_stats {
    uint64_t records; /* all records but framing */
    uint64_t by_kind[DMT_K_MAX_];
    int64_t first_ts, last_ts; /* min and max time seen */
    uint64_t first_seq, last_seq;
    uint64_t lost_records; /* sum of LOST counts */
    uint64_t lost_ranges;  /* LOST records */
    uint64_t lost_by_reason[DMT_LOST_N_];
    uint64_t sg_elements; /* over all EXECUTE_DMA */
    uint64_t dma_bytes;   /* sum of granted lengths of EXECUTE_DMA */
    uint32_t n_adapters;
    dmt_stats_adapter adapters[DMT_STATS_MAX_ADAPTERS];
} dmt_stats;

void dmt_stats_init(dmt_stats *s);
void dmt_stats_add(dmt_stats *s, const dmt_record *r);

#endif

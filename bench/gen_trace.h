/*
 * gen_trace.h - a synthetic but realistic dmatrace session generator (the
 * static library dmt_gentrace), shared by the gen_trace tool, bench_import
 * and the store tests.
 *
 * The session: two devices and adapters (one 64-bit scatter/gather, one
 * 32-bit), descriptor common buffers, locked buffers with patterns, then
 * transfers until the requested number of events is reached, each
 *
 *   START_DMA, EXECUTE_DMA (1..64 elements), DESC_WRITE, register writes
 *   (descriptor address lo/hi, count, doorbell), START_DMA_END, INTERRUPT,
 *   status read (+ ack write), DPC, COMPLETE_DMA, DIGEST
 *
 * with occasional register buffer writes, spurious interrupts, failed,
 * truncated, never-completed and twice-completed transfers, payloads,
 * markers and one lost range.  Deterministic for a given seed.
 */
#ifndef GEN_TRACE_H
#define GEN_TRACE_H

#include <stdint.h>

#include "dmt/error.h"

typedef struct gen_opts {
    uint64_t events; /* records to write (LOST counts as one), >= 64 */
    uint64_t seed;
    unsigned writer_flags; /* dmt_writer flags (e.g. DMT_WRITE_ATOMIC) */
} gen_opts;

typedef struct gen_result {
    uint64_t records;     /* records written (LOST included) */
    uint64_t transfers;   /* START_DMA records */
    uint64_t sg_elements; /* SG elements over all EXECUTE_DMA */
    uint64_t bytes;       /* file size */
} gen_result;

/* Write the session to path.  Returns 0 or a negative DMT_E*. */
int gen_trace_write(const char *path, const gen_opts *o, gen_result *res, dmt_error *err);

#endif

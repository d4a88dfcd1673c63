/*
 * rpl/diff.h - structure-aware comparison of two traces (`dmatrace diff`).
 *
 * Each trace is cut into transfers (START_DMA .. COMPLETE_DMA of one xfer,
 * with its SG list, the ring registers and descriptors the driver wrote for
 * it, the engine status the ISR read after its doorbell and its digest).
 * Transfers are aligned by order and content - never by time: in start
 * order, matched on (direction, offset, requested length, data digest), with
 * a lookahead window that recognises transfers present in only one trace.
 * Aligned pairs are compared aspect by aspect.  Physical addresses differ
 * between runs, so SG elements are compared by layout (count, lengths, page
 * offsets) and descriptors relative to the SG list, unless opts.addresses.
 *
 * Streaming: both traces are read once, side by side; memory is bounded by
 * the window and the transfers in flight, not by the trace size.
 * Ownership: the result (rpl_diff_result) is the caller's; free with
 * rpl_diff_free.  Never prints.
 */
#ifndef RPL_DIFF_H
#define RPL_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmt/error.h"
#include "dmt/record.h"
#include "rpl/replay.h"
#include "rpl/report.h"

/* Aspects a transfer pair can differ in (bit set; JSON names in README). */
enum rpl_aspect {
    RPL_ASP_LENGTHS = 1u << 0, /* offset, requested, granted, final length */
    RPL_ASP_SG = 1u << 1,      /* SG layout (and addresses with opts.addresses) */
    RPL_ASP_PROGRAM = 1u << 2, /* ring register writes and descriptors */
    RPL_ASP_OUTCOME = 1u << 3, /* statuses, engine status after the doorbell, completion */
    RPL_ASP_DATA = 1u << 4,    /* data digest */
    RPL_ASP_COUNT_ = 5
};
const char *rpl_aspect_name(unsigned bit_index); /* "lengths", "sg_layout", ... */

#define RPL_DIFF_SHOW 8u /* SG elements / register writes kept per transfer for reports */

/* One transfer, summarised. */
typedef struct rpl_xfer_sum {
    uint32_t xfer, adapter;
    uint64_t index; /* record index of its START_DMA (or first record) */
    bool wtd, have_start, executed, completed, has_digest, has_status;
    uint64_t offset, requested, granted, end_length;
    uint32_t end_status, complete_status;
    uint64_t digest, digest_len;
    uint32_t n_sg;
    uint64_t sg_bytes, sg_layout_hash, sg_addr_hash;
    dmt_sg_elem sg[RPL_DIFF_SHOW];
    uint32_t n_prog; /* ring register writes (channel window) */
    uint64_t prog_hash;
    uint32_t prog_off[RPL_DIFF_SHOW];
    uint64_t prog_val[RPL_DIFF_SHOW]; /* normalised */
    uint32_t n_desc;
    uint64_t desc_hash;
    uint32_t ch_status; /* channel STATUS the ISR read after the doorbell */
    uint32_t irq_bits;  /* this channel's IRQ_STATUS bits the ISR read */
} rpl_xfer_sum;

enum rpl_diff_kind { RPL_DIFF_DIFFER = 1, RPL_DIFF_ONLY_A = 2, RPL_DIFF_ONLY_B = 3 };

typedef struct rpl_diff_item {
    int kind;          /* enum rpl_diff_kind */
    unsigned aspects;  /* RPL_ASP_* for DIFFER */
    rpl_xfer_sum a, b; /* a for ONLY_A, b for ONLY_B, both for DIFFER */
} rpl_diff_item;

typedef struct rpl_diff_side {
    uint64_t records, transfers, to_device, from_device;
    uint64_t setup_writes; /* register writes before the first transfer */
    uint32_t adapters;
} rpl_diff_side;

typedef struct rpl_diff_result {
    rpl_diff_side a, b;
    uint64_t equal, differ, only_a, only_b;
    uint64_t aspect_count[RPL_ASP_COUNT_];
    bool setup_differs;   /* register writes before the first transfer */
    uint64_t setup_first; /* index (in that sequence) of the first difference */
    char setup_text[256];
    bool adapters_differ;
    char adapters_text[256];
    uint64_t n_items, items_dropped; /* kept in detail / beyond opts.max_items */
    rpl_diff_item *items;
    rpl_regmap names; /* opts.names: rpl_diff_text names registers with it */
} rpl_diff_result;

typedef struct rpl_diff_opts {
    bool addresses;     /* compare physical addresses too */
    unsigned window;    /* alignment lookahead (0 = 64) */
    unsigned max_items; /* items kept in detail (0 = 1000) */
    rpl_regmap names;   /* register and field names (rpl/replay.h) */
} rpl_diff_opts;

/* Compare the traces at paths a and b (.dmat, or .db with the store).
 * Returns 0 and *out (caller frees), or a negative DMT_E* with err filled
 * and *failed (may be NULL) set to the path that could not be read. */
int rpl_diff_files(const char *a, const char *b, const rpl_diff_opts *o, rpl_diff_result **out,
                   dmt_error *err, const char **failed);
void rpl_diff_free(rpl_diff_result *res);
/* Do the traces differ anywhere? */
bool rpl_diff_any(const rpl_diff_result *res);

/* Renderings (README.md documents the JSON). */
void rpl_diff_text(rpl_str *s, const rpl_diff_result *res, const char *a, const char *b);
void rpl_diff_json(rpl_str *s, const rpl_diff_result *res, const char *a, const char *b);

#endif

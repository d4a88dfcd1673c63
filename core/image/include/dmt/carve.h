/*
 * dmt/carve.h - find dmatrace rings in a physical memory image and turn
 * each into a trace (`dmatrace carve`).
 *
 *   image (dmt/image.h) --scan--> candidates (magic at an 8-byte aligned
 *        |                        address, header validated completely)
 *        '--extract one--> snapshot of header + data (absent pages zeroed)
 *                          --> the recorder's drain, the ring marked closed,
 *                          in-flight slots timed out at once --> FILE.dmat
 *
 * A candidate is reported only when every header field is consistent (magic,
 * version, header size, a power-of-two data size within the limits, a known
 * policy, 8-byte aligned head and tail positions within one ring of each
 * other) and its whole header is in the image; everything else is counted as rejected by reason.
 * Nothing is read through a candidate's fields before they pass.
 *
 * Exact accounting, as for a live ring: every committed record in the
 * snapshot is delivered once in sequence order; reservations in flight at
 * the crash, half-written slots and slots whose pages the image lacks become
 * LOST records (reason torn); losses the ring counted become LOST records
 * with their reasons.
 */
#ifndef DMT_CARVE_H
#define DMT_CARVE_H

#include <stddef.h>
#include <stdint.h>

#include "dmt/error.h"
#include "dmt/image.h"

#define DMT_CARVE_MAX_CANDIDATES 256u /* rings reported at most */

enum dmt_carve_reject {
    DMT_CARVE_REJ_VERSION = 0, /* magic found, unknown version or header size */
    DMT_CARVE_REJ_SIZE,        /* data size not a power of two in range */
    DMT_CARVE_REJ_POLICY,      /* unknown policy */
    DMT_CARVE_REJ_POSITIONS,   /* head/tail inconsistent */
    DMT_CARVE_REJ_ABSENT,      /* the header itself is not (wholly) in the image */
    DMT_CARVE_REJ_TOO_MANY,    /* valid, past DMT_CARVE_MAX_CANDIDATES */
    DMT_CARVE_REJ_N_
};

typedef struct dmt_carve_ring {
    uint64_t phys;               /* physical address of the ring header */
    uint64_t data_size;          /* ring data bytes */
    uint32_t policy;             /* enum dmt_ring_policy */
    uint32_t flags;              /* enum dmt_ring_flags as found */
    uint64_t head_seq, tail_seq; /* 32-bit sequence halves as found */
    uint64_t committed, lost_full, lost_overwritten, lost_torn;
    uint64_t absent; /* ring bytes (header + data) the image lacks */
    /* Ring version 2: its place in a per-CPU region (index 0, count 1 for a
     * single ring) and the region's instance id (0: none). */
    uint32_t ring_index, ring_count;
    uint64_t instance;
} dmt_carve_ring;

typedef struct dmt_carve_scan_result {
    dmt_carve_ring rings[DMT_CARVE_MAX_CANDIDATES];
    size_t n;                            /* rings found (<= the cap) */
    uint64_t rejected[DMT_CARVE_REJ_N_]; /* candidates rejected, by reason */
    uint64_t bytes_scanned;
} dmt_carve_scan_result;

/* Progress callback for long scans: bytes done of total; may be NULL. */
typedef void (*dmt_carve_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* One linear pass over every run of img.  *res is the caller's (large:
 * allocate it).  Returns 0 or a negative DMT_E_* (I/O). */
int dmt_carve_scan(dmt_image *img, dmt_carve_scan_result *res, dmt_carve_progress_fn progress,
                   void *ctx, dmt_error *err);

/* Name of a rejection reason, for "N candidates rejected: ..." lines. */
const char *dmt_carve_reject_name(enum dmt_carve_reject r);

typedef struct dmt_carve_stats {
    uint64_t records; /* records delivered */
    uint64_t lost;    /* sequence numbers in LOST records */
    uint64_t first_seq, next_seq;
    uint32_t rings_missing; /* rings of a per-CPU region not in the image (nothing
                               of theirs is in the trace) */
} dmt_carve_stats;

/* Write the ring at ring->phys of img as a trace to out_path (written under
 * a temporary name and renamed: nothing half-written is left).  source names
 * the image in the trace header's host field.
 *
 * partial (may be NULL): a recording of the same ring that the crash cut
 * (read in allow-cut mode; `recover` is not needed first).  The output is
 * then that recording - its header and every record - continued by the
 * ring's records from the recording's next sequence number on: records the
 * ring still holds that the file already has are dropped, and sequence
 * numbers in neither become one LOST record of reason absent.  No duplicate,
 * no unmarked gap.
 *
 * Returns 0 or a negative DMT_E_*; *st (may be NULL) receives the counts. */
int dmt_carve_extract(dmt_image *img, const dmt_carve_ring *ring, const char *source,
                      const char *partial, const char *out_path, dmt_carve_stats *st,
                      dmt_error *err);

#endif

/*
 * dmt/drain.h - move records from a ring into a trace file.
 *
 * The consumer half of the recorder, shared by `dmatrace record` (another
 * process fills the ring) and `dmatrace capture` (a thread of the same
 * process does).  Each delivered ring record is validated and appended in
 * file form; each loss the ring reports - and each record that fails
 * validation - becomes a LOST record, so the file accounts for every
 * sequence number.
 *
 * Ownership: the drain borrows the ring and the writer; the caller closes
 * the writer after the last dmt_drain_poll.
 */
#ifndef DMT_DRAIN_H
#define DMT_DRAIN_H

#include <stdint.h>

#include "dmt/error.h"
#include "dmt/platform.h" /* dmt_now_ns, the drain's clock for torn-slot timeouts */
#include "dmt/ring.h"
#include "dmt/writer.h"

typedef struct dmt_drain dmt_drain;

typedef struct dmt_drain_stats {
    uint64_t records;       /* records appended */
    uint64_t lost;          /* records declared lost (all reasons) */
    uint64_t corrupt;       /* of which: failed validation */
    uint64_t payload_bytes; /* ring payload bytes consumed */
} dmt_drain_stats;

enum dmt_drain_status {
    DMT_DRAIN_BUSY = 0, /* consumed items; call again */
    DMT_DRAIN_IDLE = 1, /* nothing to consume right now */
    DMT_DRAIN_DONE = 2  /* the ring is closed and empty */
};

/* torn_timeout_ns: how long a reserved-but-uncommitted slot may block the
 * ring before it is declared torn. */
dmt_drain *dmt_drain_new(dmt_ring *ring, dmt_writer *w, uint64_t torn_timeout_ns);
void dmt_drain_free(dmt_drain *d);

/* Consume up to max_items (0 = until empty).  Returns a dmt_drain_status, or
 * a negative DMT_E* when the writer failed (err filled). */
int dmt_drain_poll(dmt_drain *d, uint64_t now_ns, uint32_t max_items, dmt_error *err);

/* Continue a trace whose writer is at sequence number seq (`carve --merge`):
 * ring items wholly below seq are dropped, a LOST range across it is
 * clipped, and a gap between seq and the first item the ring still holds
 * becomes a LOST record of reason absent.  Call before the first poll. */
void dmt_drain_resume_at(dmt_drain *d, uint64_t seq);

const dmt_drain_stats *dmt_drain_get_stats(const dmt_drain *d);

#endif

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
    uint64_t late;          /* per-CPU region: records written after one with a
                               later time (they came after the merge window) */
} dmt_drain_stats;

/* The merge's reordering window (schema/FORMAT.md 1.4): a record is held
 * until every ring has shown a later one, or until a record newer by this
 * much has been taken from any ring. */
#define DMT_DRAIN_WINDOW_NS 2000000ull

enum dmt_drain_status {
    DMT_DRAIN_BUSY = 0, /* consumed items; call again */
    DMT_DRAIN_IDLE = 1, /* nothing to consume right now */
    DMT_DRAIN_DONE = 2  /* the ring is closed and empty */
};

/* torn_timeout_ns: how long a reserved-but-uncommitted slot may block the
 * ring before it is declared torn. */
dmt_drain *dmt_drain_new(dmt_ring *ring, dmt_writer *w, uint64_t torn_timeout_ns);
/* Drain every ring of a region (dmt_ringset_attach).  One ring: as
 * dmt_drain_new (the file keeps the ring's sequence numbers).  Several
 * (a per-CPU region): merged by time into one trace with sequence numbers
 * of its own and a CPU record (the ring index) wherever the ring changes;
 * see schema/FORMAT.md 1.4 and the top of drain.c.  The set is copied. */
dmt_drain *dmt_drain_new_set(const dmt_ringset *set, dmt_writer *w, uint64_t torn_timeout_ns);
void dmt_drain_free(dmt_drain *d);
/* Write what the merge still holds (a recorder that stops before the rings
 * are closed, on a signal or when idle).  0 or the writer's error.  The
 * drain may be polled again after it. */
int dmt_drain_finish(dmt_drain *d, dmt_error *err);
/* Change the merge window (default DMT_DRAIN_WINDOW_NS); before polling. */
void dmt_drain_set_window(dmt_drain *d, uint64_t window_ns);
/* Take runs of committed records at once (dmt_ring_take_run; the
 * default) or every item through dmt_ring_next.  Both write the same file;
 * the switch is for comparing them (tests, bench_drain). */
void dmt_drain_set_runs(dmt_drain *d, bool on);
/* Check records with the shape cache (dmt_ring_record_check_cached; the
 * default) or the full walk alone.  Both write the same file. */
void dmt_drain_set_shape_cache(dmt_drain *d, bool on);
/* Rings drained, and what was written for ring i (records, lost, corrupt,
 * payload bytes; late is 0): its record and LOST counts add up to every
 * sequence number the ring handed out since the drain started. */
uint32_t dmt_drain_rings(const dmt_drain *d);
const dmt_drain_stats *dmt_drain_ring_stats(const dmt_drain *d, uint32_t ring);

/* Consume up to max_items (0 = until empty).  Returns a dmt_drain_status, or
 * a negative DMT_E* when the writer failed (err filled). */
int dmt_drain_poll(dmt_drain *d, uint64_t now_ns, uint32_t max_items, dmt_error *err);

/* One ring.  Continue a trace whose writer is at sequence number seq (`carve --merge`):
 * ring items wholly below seq are dropped, a LOST range across it is
 * clipped, and a gap between seq and the first item the ring still holds
 * becomes a LOST record of reason absent.  Call before the first poll.
 * The ring's 32-bit sequence numbers are extended to 64 bits nearest seq.
 * Returns the count of that gap.  (A per-CPU region: as
 * dmt_drain_resume_ring for ring 0.) */
uint64_t dmt_drain_resume_at(dmt_drain *d, uint64_t seq);
/* A per-CPU region.  Continue a merged trace that holds ring `ring` up to
 * (not including) its ring sequence number seq (`carve --merge`, which
 * finds seq in the trace: schema/FORMAT.md 1.4): that ring's items below
 * seq are dropped, a LOST range across it clipped, and a gap between seq
 * and the first item the ring still holds becomes a LOST range of reason
 * absent on that CPU, written before the ring's other items (with the
 * CPU record that says ring_seq).  The merged numbering simply continues
 * from the writer's next sequence number.  Rings not named start where
 * their consumer does.  Call before the first poll, once per ring.
 * Returns the count of the gap (0 when none). */
uint64_t dmt_drain_resume_ring(dmt_drain *d, uint32_t ring, uint64_t seq);

/* What the drain decides of the trace's header (schema/FORMAT.md 1.2):
 * one ring: seq0, its first sequence number; a per-CPU region: seq0 0 and
 * ring_seq0, each ring's sequence number where the drain starts it, so a
 * reader of any prefix of the trace - one a crash cut - knows where every
 * ring stood. */
void dmt_drain_header(const dmt_drain *d, dmt_header *h);
/* The drain may be created with no writer (w NULL) so that its header can
 * be filled first; give it the writer here, before the first poll. */
void dmt_drain_set_writer(dmt_drain *d, dmt_writer *w);

const dmt_drain_stats *dmt_drain_get_stats(const dmt_drain *d);

#endif

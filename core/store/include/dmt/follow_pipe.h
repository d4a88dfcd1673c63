/*
 * dmt/follow_pipe.h - following a growing trace on a thread of its own:
 * the reading side of the viewer's follow mode, split from the store side
 * so the two run on two CPUs.
 *
 * A reader thread takes records from whole, verified chunks (dmt_follow),
 * feeds the audit (optional) and copies the records, their chunk
 * boundaries and the audit's findings into batches; the caller's thread
 * takes the batches in file order and writes them into a store
 * (dmt_store_append_batch), with no reading, verifying or auditing of its
 * own.
 *
 *   reader thread                               caller's thread
 *   dmt_follow_next, dmt_audit_add,
 *   copy -> batch  ==[DMT_FOLLOW_PIPE_BATCHES]==>  dmt_follow_pipe_take
 *                      (full: the reader waits)    -> dmt_store_append_batch
 *                                                  dmt_follow_pipe_release
 *
 * What the caller sees is what one thread doing both would see: every
 * record once, in file order, from verified chunks only; a finding in the
 * batch of the record that produced it (the end-of-trace findings in the
 * last batch); the follower's end (END, a stalled trace read to its end,
 * or the reader's error) in the last batch, after all records before it.
 * Never prints; memory is fixed (the batches) plus the findings of a batch.
 */
#ifndef DMT_FOLLOW_PIPE_H
#define DMT_FOLLOW_PIPE_H

#include <stdbool.h>
#include <stdint.h>

#include "dmt/audit.h"
#include "dmt/error.h"
#include "dmt/follow.h"
#include "dmt/reader.h"
#include "dmt/record.h"

#define DMT_FOLLOW_PIPE_BATCHES 8

typedef struct dmt_follow_pipe dmt_follow_pipe;

/* One batch: read-only for the caller between take and release. */
typedef struct dmt_follow_batch {
    const dmt_record *rec; /* n records (copies: arrays in the batch) */
    unsigned n;
    /* chunk boundaries: bound[i] is the last one at or before record
     * bound_at[i] (given where it changes) */
    const dmt_reader_resume *bound;
    const unsigned *bound_at;
    unsigned nbound;
    const dmt_finding *found; /* the audit's findings on these records */
    size_t n_found;
    int64_t ts_min, ts_max; /* of the records (n > 0) */
    /* how the batch ended: 1 more may follow; 0 the end (END, or a stalled
     * trace read to its end: stalled); a negative DMT_E*: the reader's or
     * the audit's error (err) */
    int status;
    bool stalled;   /* the trace stopped growing (DMT_FOLLOW_STALLED) */
    bool caught_up; /* nothing more was verified when the batch ended */
    dmt_error err;
    uint64_t skipped;   /* dmt_reader_skipped after the batch */
    uint64_t committed; /* dmt_follow_committed after the batch */
} dmt_follow_batch;

/* Start the reader thread on fl (owned from now on, also on failure; the
 * caller reads its header before).  audit: the audit's configuration (its
 * sink and user are the pipe's), NULL for none; the end-of-trace rules run
 * at the end (cut: a stalled trace).  threaded false: no thread, each take
 * reads its batch on the caller's thread (the same batches: for one CPU,
 * where a second thread only adds the hand-offs).  Caller frees with
 * dmt_follow_pipe_stop. */
int dmt_follow_pipe_start(dmt_follow *fl, const dmt_audit_config *audit, bool threaded,
                          dmt_follow_pipe **out, dmt_error *err);
/* The next batch, waiting at most wait_ms for one: NULL when none is ready
 * (or after the last one).  Give it back with dmt_follow_pipe_release
 * before the next take. */
const dmt_follow_batch *dmt_follow_pipe_take(dmt_follow_pipe *p, unsigned wait_ms);
void dmt_follow_pipe_release(dmt_follow_pipe *p, const dmt_follow_batch *b);
/* Stop the reader thread (at once: also in the middle of a trace) and free
 * everything.  NULL is fine. */
void dmt_follow_pipe_stop(dmt_follow_pipe *p);

#endif

/*
 * dmt/follow.h - follow a trace file that a recorder is still writing
 * (`dump --follow`, `audit --follow`, the viewer's follow mode).
 *
 * Records are handed out only from whole, verified chunks: a scout reader
 * runs ahead over the growing file and moves the main reader's limit to the
 * end of each CHUNK record whose count, length and CRC it has checked.  A
 * growing file is untrusted exactly like a finished one: a bad chunk ends
 * following with the error a finished file with the same bytes gets.
 *
 *   file on disk:  | hdr | chunk 1 |CHUNK| chunk 2 |CHUNK| chunk 3 (partial)
 *   scout reader:  ----------------------------------------------^ (AGAIN)
 *   limit:                                               ^ end of last CHUNK
 *   main reader:   --------------> records handed out, never past limit
 *
 * Ownership: the follower owns both readers; a returned record's arrays are
 * valid until the next dmt_follow_next call.  Never prints.
 */
#ifndef DMT_FOLLOW_H
#define DMT_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "dmt/error.h"
#include "dmt/reader.h"
#include "dmt/record.h"

typedef struct dmt_follow dmt_follow;

/* dmt_follow_next results besides 1 (a record), 0 (the end) and errors. */
#define DMT_FOLLOW_AGAIN   2 /* nothing new yet: poll again later */
#define DMT_FOLLOW_STALLED 3 /* no END and no new bytes for the stall time */

/* Open path for following.  flags are reader flags (DMT_READ_ALLOW_CUT,
 * DMT_READ_FRAMING) that apply once following stops.  The header must be
 * on disk (a recorder writes it at open); else the reader's error.  stall_ms
 * is how long the file may stay unchanged without END before
 * DMT_FOLLOW_STALLED (0 = never).  Caller frees with dmt_follow_close. */
int dmt_follow_open(const char *path, unsigned flags, uint64_t stall_ms, dmt_follow **out,
                    dmt_error *err);
void dmt_follow_close(dmt_follow *f);

/* Next record: 1 and *rec filled; 0 after the END record (or, after
 * dmt_follow_stop, at the end of the file as read); DMT_FOLLOW_AGAIN or
 * DMT_FOLLOW_STALLED when nothing new is verified yet; or a negative DMT_E*:
 * the chunk error a finished file would get, or DMT_E_IO when the file was
 * truncated below what was read or replaced by another file. */
int dmt_follow_next(dmt_follow *f, dmt_record *rec, dmt_error *err);

/* Stop following (the writer is gone): what is on disk is the whole file,
 * read on as a finished one, including a cut last chunk. */
void dmt_follow_stop(dmt_follow *f);

/* The main reader (header, counts, cut position).  Owned by f. */
dmt_reader *dmt_follow_reader(dmt_follow *f);
/* Bytes of the file in verified chunks so far. */
uint64_t dmt_follow_committed(const dmt_follow *f);

#endif

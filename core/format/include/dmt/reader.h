/*
 * dmt/reader.h - the streaming trace reader.
 *
 * Reads a trace file (or a memory buffer) record by record - each record
 * with the table-driven decoder, or libcbor's allocation-free
 * cbor_stream_decode where that declines (dmt/decode.h) - under hard limits: no record longer
 * than DMT_MAX_RECORD bytes, no list longer than DMT_MAX_SG_ELEMENTS, no
 * nesting, no indefinite lengths, no tags but the leading 55799.  Memory is
 * fixed at open time; nothing is ever allocated from a length read from the
 * input.  Chunk framing is checked (record count, byte length, CRC-32C,
 * sequence numbers) and consumed: callers see header + records.
 *
 * Ownership: the reader owns the memory behind a returned record's sg_list,
 * values and bytes; it is valid until the next dmt_reader_next call.
 */
#ifndef DMT_READER_H
#define DMT_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmt/error.h"
#include "dmt/record.h"

typedef struct dmt_reader dmt_reader;

enum dmt_reader_flags {
    /* Accept a file that ends without its END record, or inside its last
     * record (a recorder killed or out of disk): reading stops at the last
     * whole record and dmt_reader_cut() says where. Without this flag such a
     * file is an error (DMT_E_TRUNCATED). */
    DMT_READ_ALLOW_CUT = 1u,
    /* Also return CHUNK and END records (dump --raw). */
    DMT_READ_FRAMING = 2u,
    /* Decode every record with the reference decoder (libcbor) instead of
     * the table-driven one (dmt/decode.h): differential tests, benchmarks. */
    DMT_READ_REFERENCE = 4u,
    /* The follower's scout (dmt/follow.h), which wants verified chunk ends
     * only: records that take a sequence number and set no state (all but
     * CPU, LOST, CHUNK, END and unknown kinds) are checked exactly as
     * without the flag (same errors, offsets, chunk verification) but not
     * decoded (dmt_decode_walk) nor returned.  With DMT_READ_FRAMING the
     * reader returns CHUNK, END and LOST records. */
    DMT_READ_SCOUT = 8u
};

/* Open path and read its header.  Returns 0 and *out (caller frees with
 * dmt_reader_close), or a negative DMT_E* with err filled. */
int dmt_reader_open(const char *path, unsigned flags, dmt_reader **out, dmt_error *err);
/* The same over a caller-owned buffer that must outlive the reader. */
int dmt_reader_open_mem(const void *buf, size_t len, unsigned flags, dmt_reader **out,
                        dmt_error *err);
void dmt_reader_close(dmt_reader *rd);

const dmt_header *dmt_reader_header(const dmt_reader *rd);

/* Next record: 1 and *rec filled, 0 at the end, or a negative DMT_E* with
 * err naming the byte offset and record index. rec->pos is the record's
 * byte offset, rec->seq its sequence number, rec->ts its absolute time. */
int dmt_reader_next(dmt_reader *rd, dmt_record *rec, dmt_error *err);

/* dmt_reader_next's "nothing more yet" (follow mode only). */
#define DMT_READER_AGAIN 2

/* Follow mode, for a file another process is still writing: read no byte
 * at or past offset `limit` (UINT64_MAX: none), and where the bytes end -
 * at the limit, at the end of the file, or inside a record - return
 * DMT_READER_AGAIN instead of treating the file as cut; a later call reads
 * on from the same place.  A partial record is never consumed.  Callable
 * again to move the limit (it only ever grows).  Memory input ignores it. */
void dmt_reader_follow(dmt_reader *rd, uint64_t limit);
/* Leave follow mode: the bytes on disk now are the whole file (the writer
 * stopped); the next calls read on as for a finished file. */
void dmt_reader_unfollow(dmt_reader *rd);

/* Records returned so far (framing excluded). */
uint64_t dmt_reader_count(const dmt_reader *rd);
/* After the end: true when the file was cut (no END record, or a partial
 * last record); *offset is where the last whole record ends and *why a short
 * reason. */
bool dmt_reader_cut(const dmt_reader *rd, uint64_t *offset, const char **why);
/* Byte offset just after the last whole item read. */
uint64_t dmt_reader_offset(const dmt_reader *rd);
/* Records of unknown kinds skipped (newer minor format). */
uint64_t dmt_reader_skipped(const dmt_reader *rd);

/* ---- resume points ----------------------------------------------------------
 *
 * A resume point is a verified chunk boundary - the byte just after the
 * header or after a CHUNK record - plus the reader state that crosses
 * records there (schema/FORMAT.md 1.3 - 1.5): times are deltas, sequence
 * numbers are implicit, a CPU record names the CPU of what follows.  A
 * reader opened at one (dmt_reader_open_at) returns exactly the records a
 * full read returns from that boundary on (seq, ts, cpu, ring_seq,
 * payload), and checks the framing as a full read does from that chunk on.
 *
 *   header | rec rec .. CHUNK | rec rec .. CHUNK | rec ..
 *          ^ boundary          ^ boundary          ^ boundary
 *
 * Nothing in a resume point is trusted: a point that is not a boundary of
 * this file (an offset inside a record or chunk, past the end, a seq that
 * does not open the chunk, a file replaced since) fails the first chunk's
 * checks, which dmt_reader_open_at makes before returning any record. */
typedef struct dmt_reader_resume {
    uint64_t offset;    /* byte offset of the boundary */
    uint64_t seq;       /* the next sequence number (the chunk's first-seq) */
    int64_t ts;         /* time of the item before it (the next delta's base) */
    uint32_t cpu;       /* CPU of the records that follow (DMT_CPU_NONE: none) */
    bool ring_seq_next; /* the last CPU record's ring_seq is for the next item */
    uint64_t ring_seq;
    uint64_t index; /* items before it, framing included (error messages) */
    uint64_t count; /* records returned before it (dmt_reader_count) */
} dmt_reader_resume;

/* The last chunk boundary the reader has passed: at or before the next
 * record dmt_reader_next returns (after open: the end of the header). */
void dmt_reader_boundary(const dmt_reader *rd, dmt_reader_resume *rp);
/* Its offset: the boundary changes exactly when this does (a file's state
 * at a boundary is its offset's), so a caller that wants every boundary
 * (dmt_store_append_resume) compares this per record and copies the
 * boundary only when it moved. */
uint64_t dmt_reader_boundary_offset(const dmt_reader *rd);

/* Open path as dmt_reader_open does (header read and checked), then go to
 * the resume point rp and verify the chunk that starts there (framing,
 * record count, bytes, CRC-32C, first-seq = rp->seq) before returning; the
 * first dmt_reader_next returns the first record after rp.  Errors are
 * dmt_reader_open's and dmt_reader_next's, with file offsets: a point
 * before the end of the header or past the end of the file is
 * DMT_E_FORMAT.  A cut file (DMT_READ_ALLOW_CUT) whose last chunk is
 * partial reads that chunk as a full read would. */
int dmt_reader_open_at(const char *path, unsigned flags, const dmt_reader_resume *rp,
                       dmt_reader **out, dmt_error *err);
/* The same over a caller-owned buffer (as dmt_reader_open_mem). */
int dmt_reader_open_mem_at(const void *buf, size_t len, unsigned flags, const dmt_reader_resume *rp,
                           dmt_reader **out, dmt_error *err);

/* What identifies the file a reader opened: the header's length in bytes
 * and the CRC-32C of those bytes.  A store that reads its records back from
 * the trace keeps both and compares them (dmt/store.h). */
void dmt_reader_identity(const dmt_reader *rd, uint64_t *header_len, uint32_t *header_crc);

/* Parse one ring-form record (time field = absolute ns) from buf[0..len),
 * which must hold exactly one record.  sg/values/bytes point into buf or
 * into scratch arrays owned by the caller (sg_scratch must hold
 * DMT_MAX_SG_ELEMENTS elements, values_scratch DMT_MAX_VALUES).  Returns 0
 * or a negative DMT_E* (err->offset relative to buf). */
int dmt_parse_ring_record(const uint8_t *buf, size_t len, dmt_record *rec, dmt_sg_elem *sg_scratch,
                          uint64_t *values_scratch, dmt_error *err);

#endif

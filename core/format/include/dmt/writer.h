/*
 * dmt/writer.h - the trace file writer, with crash-safe chunk framing.
 *
 * Records are buffered and written in chunks; each chunk ends with a CHUNK
 * record (record count, byte length, CRC-32C, first sequence number) and is
 * handed to write() whole.  A reader of a file cut at any byte (SIGKILL,
 * full disk) therefore finds every record before the cut intact, and every
 * record the writer reported as flushed is on disk.  dmt_writer_close adds
 * the END record.
 *
 * Ownership: the writer owns its buffer and file descriptor.  Records passed
 * in are copied (encoded) before the call returns.
 */
#ifndef DMT_WRITER_H
#define DMT_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmt/error.h"
#include "dmt/record.h"

typedef struct dmt_writer dmt_writer;

enum dmt_writer_flags {
    /* Write to PATH.tmp-XXXX and rename over PATH on close; on abort or
     * failure PATH is untouched (tools that produce whole files). */
    DMT_WRITE_ATOMIC = 1u,
    /* fdatasync after each chunk (the recorder, when asked to). */
    DMT_WRITE_SYNC = 2u,
    /* Refuse to replace an existing PATH. */
    DMT_WRITE_EXCL = 4u,
    /* Write the header at open, with the header's seq0 as the first
     * sequence number: even a recorder killed before its first record
     * leaves a readable (cut) trace. */
    DMT_WRITE_HEADER_NOW = 8u,
    /* dmt_writer_append keeps each record's cpu: a CPU record goes before
     * a record whose cpu differs from the current one (cpu DMT_CPU_NONE
     * leaves it).  For tools that rewrite a trace (recover, carve). */
    DMT_WRITE_KEEP_CPU = 16u
};

/* The text `dmatrace recover` begins its marker with (the last record of
 * a file it made whole, written on no CPU): `carve --merge` leaves that
 * marker out of the recording it continues (schema/FORMAT.md 1.5). */
#define DMT_RECOVER_MARKER "dmatrace recover: "

typedef struct dmt_writer_stats {
    uint64_t records;         /* records appended (framing excluded) */
    uint64_t lost;            /* records declared lost */
    uint64_t bytes_flushed;   /* file bytes handed to write() successfully */
    uint64_t records_flushed; /* records inside flushed chunks */
    uint64_t chunks;
} dmt_writer_stats;

/* Create path and buffer the header (written with the first chunk).  The
 * header's seq0 may be left 0 and is then taken from the first record's
 * sequence number given to dmt_writer_append_ring / dmt_writer_lost. */
int dmt_writer_open(const char *path, const dmt_header *hdr, unsigned flags, dmt_writer **out,
                    dmt_error *err);

/* Append a decoded record; r->ts is absolute.  LOST records use r->value
 * (first sequence) and r->count.  CHUNK and END are refused (the writer
 * makes its own). */
int dmt_writer_append(dmt_writer *w, const dmt_record *r, dmt_error *err);

/* Append one ring-form record (time field = absolute ns) with sequence
 * number seq.  The payload is validated; an invalid one returns DMT_E_FORMAT
 * and nothing is written (the caller counts it lost).  seq must be the next
 * expected sequence number. */
int dmt_writer_append_ring(dmt_writer *w, const uint8_t *payload, size_t len, uint64_t seq,
                           dmt_error *err);

/* Append one ring-form record already checked by dmt_ring_record_check
 * (ri: its time and where the time field lies), with the next sequence
 * number.  For the drain's merge, which checks records as it takes them. */
struct dmt_ring_record_info;
/* As dmt_writer_append_ring for a record the caller checked (ri, as
 * dmt_writer_append_checked): the one-ring drain, with its shape cache. */
int dmt_writer_append_ring_checked(dmt_writer *w, const uint8_t *payload, size_t len, uint64_t seq,
                                   const struct dmt_ring_record_info *ri, dmt_error *err);
int dmt_writer_append_checked(dmt_writer *w, const uint8_t *payload, size_t len,
                              const struct dmt_ring_record_info *ri, dmt_error *err);

struct dmt_ring_rec;
/* A run of n checked records (the one-ring drain's dmt_ring_take_run):
 * record i is recs[i].len bytes at base + recs[i].off, ri[i] its check,
 * with ring sequence numbers seq, seq + 1, ...  The same as n calls of
 * dmt_writer_append_ring_checked, without their per-record entry. */
int dmt_writer_append_ring_run(dmt_writer *w, const uint8_t *base, const struct dmt_ring_rec *recs,
                               const struct dmt_ring_record_info *ri, size_t n, uint64_t seq,
                               dmt_error *err);

/* Record that count records starting at sequence first were lost. */
int dmt_writer_lost(dmt_writer *w, uint64_t first, uint64_t count, uint32_t reason, dmt_error *err);

/* The records and LOST ranges appended next were made on CPU cpu: writes a
 * CPU record (schema/FORMAT.md 1.4) when cpu differs from the current one,
 * or always when with_seq, which adds ring_seq (that CPU's ring sequence
 * number of the next record or LOST range). */
int dmt_writer_set_cpu(dmt_writer *w, uint32_t cpu, bool with_seq, uint64_t ring_seq,
                       dmt_error *err);

/* Set the chunk size in bytes (default 64 KiB, 4 KiB .. 1 MiB). */
void dmt_writer_set_chunk_size(dmt_writer *w, size_t bytes);

/* Close the current chunk and write it.  A no-op with nothing buffered. */
int dmt_writer_flush(dmt_writer *w, dmt_error *err);

/* Flush, append END, (rename when ATOMIC), close and free w.  On failure the
 * writer is freed too (ATOMIC: the temporary file is removed). */
int dmt_writer_close(dmt_writer *w, dmt_error *err);

/* Free w without END (ATOMIC: remove the temporary file). */
void dmt_writer_abort(dmt_writer *w);

const dmt_writer_stats *dmt_writer_get_stats(const dmt_writer *w);
uint64_t dmt_writer_next_seq(const dmt_writer *w);

/* Test hook: make write() fail with errno e after limit more bytes
 * (fault-injection tests of full disks).  limit = UINT64_MAX disables. */
void dmt_writer_inject_failure(dmt_writer *w, uint64_t limit, int e);

/* Encode a header item (tag 55799 + map) into buf; returns bytes or 0. */
size_t dmt_header_encode(uint8_t *buf, size_t cap, const dmt_header *hdr);

#endif

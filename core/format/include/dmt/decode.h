/*
 * dmt/decode.h - the record decoders: one record's CBOR bytes -> dmt_record.
 *
 * Two decoders read the same record shapes (the rows of dmt/kinds.h):
 *
 *  - the fast one (core/format/decode.c) walks the bytes against a table
 *    of field types and dmt_record offsets expanded from DMT_KINDS; it
 *    decides only "accepted" - anything else it leaves to
 *  - the reference (core/format/reader.c), libcbor's streaming decoder,
 *    which accepts or explains (a one-line error with the byte offset).
 *
 * They accept exactly the same records with the same fields (the
 * differential test core_test_decode and the fuzz target fuzz_decode hold
 * them to that), so the reader decodes with the fast one and asks the
 * reference only where the fast one declines: for the error message, or -
 * should they ever disagree - for the reference's verdict.  The reader's
 * DMT_READ_REFERENCE flag decodes everything with the reference.
 *
 * Both are for untrusted input: they read nothing outside buf[0..len),
 * allocate nothing, and check every length against its DMT_MAX_* limit
 * before use.  Pointers in the decoded record (sg_list, values, bytes)
 * point into buf or into the caller's scratch arrays: sg must hold
 * DMT_MAX_SG_ELEMENTS elements, values DMT_MAX_VALUES.
 */
#ifndef DMT_DECODE_H
#define DMT_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "dmt/error.h"
#include "dmt/record.h"

/* Decode the record at the start of buf[0..len): a definite array of kind,
 * time (as written: a delta in files, absolute in rings) and the kind's
 * fields.  Returns the bytes the record takes (> 0) with *rec filled (pos
 * and seq 0, time as written; an unknown kind as kind 0 with its fields
 * skipped), or 0 when it does not accept the bytes - malformed, over a
 * limit, or not whole inside len. */
size_t dmt_decode_fast(const uint8_t *buf, size_t len, dmt_record *rec, dmt_sg_elem *sg,
                       uint64_t *values);

/* The fast decoder's walk without its stores: the same verdict on the
 * same bytes and the same length (> 0, or 0 where dmt_decode_fast
 * declines), with only the record's kind (0: unknown) and time as written
 * in *kind and *ts.  Cheaper where the fields are not wanted: a record's
 * extent, kind and time are all a chunk's framing checks need. */
size_t dmt_decode_walk(const uint8_t *buf, size_t len, uint32_t *kind, int64_t *ts);

/* The reference decoder on the same terms: 0 with *rec and *used filled,
 * or a negative DMT_E* with err (offset relative to buf, index
 * DMT_NO_INDEX): DMT_E_TRUNCATED when the record does not end inside len,
 * DMT_E_FORMAT for anything malformed or over a limit. */
int dmt_decode_reference(const uint8_t *buf, size_t len, dmt_record *rec, dmt_sg_elem *sg,
                         uint64_t *values, size_t *used, dmt_error *err);

#endif

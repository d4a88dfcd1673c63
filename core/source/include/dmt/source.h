/*
 * dmt/source.h - read "a trace or a store, record by record": the one way
 * commands and libraries walk the records of either kind of input.
 *
 * A source is a pull iterator over a trace (.dmat, through the streaming
 * reader) or a database (.db, through the store's record iterator), told
 * apart by their first bytes.  Both give the same records in the same order
 * with the same indexes (the position among the records, framing excluded,
 * as `dmatrace dump` counts them), and both say at the end whether the
 * trace was cut (a .db: whether the trace it was imported from was).
 *
 * Ownership: dmt_source_open allocates the source, dmt_source_close frees
 * it.  A record returned by dmt_source_next (its sg_list, values and bytes)
 * is owned by the source and valid until the next dmt_source_next or
 * dmt_source_close; the header and the cut reason live as long as the
 * source.  Input is untrusted: the reader's and the store's limits apply.
 */
#ifndef DMT_SOURCE_H
#define DMT_SOURCE_H
#include <stdbool.h>
#include <stdint.h>

#include "dmt/error.h"
#include "dmt/record.h"
#include "dmt/sniff.h"
#include "dmt/store.h"

typedef struct dmt_source dmt_source;

enum dmt_source_flags {
    /* A trace that ends without END or inside a record is an error
     * (DMT_E_TRUNCATED) instead of read to its last whole record. */
    DMT_SOURCE_STRICT = 1u,
    /* Also return a trace's CHUNK and END records (a store has none); they
     * take no index. */
    DMT_SOURCE_FRAMING = 2u,
    /* Refuse a database: DMT_E_USAGE, before opening it. */
    DMT_SOURCE_TRACE_ONLY = 4u
};

/* Open path, sniff its kind (DMT_E_FOREIGN for neither) and read its
 * header.  Returns 0 and *out, or a negative DMT_E* with err filled. */
int dmt_source_open(const char *path, unsigned flags, dmt_source **out, dmt_error *err);
void dmt_source_close(dmt_source *s);

/* DMT_FILE_TRACE or DMT_FILE_DB (dmt/sniff.h). */
int dmt_source_kind(const dmt_source *s);
/* The trace's header (a store: the header it was imported from). */
const dmt_header *dmt_source_header(const dmt_source *s);
/* The open store of a .db source (owned by s), NULL for a trace. */
dmt_store *dmt_source_store(dmt_source *s);

/* Next record: 1 with *rec and *index (may be NULL; DMT_NO_INDEX for a
 * framing record), 0 at the end, or a negative DMT_E* with err naming the
 * byte offset (traces) and record index. */
int dmt_source_next(dmt_source *s, dmt_record *rec, uint64_t *index, dmt_error *err);
/* After the end: true when the trace was cut (a .db: the trace it came
 * from); *offset (may be NULL) is where its last whole record ends and
 * *why (may be NULL) a short reason. */
bool dmt_source_cut(const dmt_source *s, uint64_t *offset, const char **why);

/* ---- the callback walker on top ---------------------------------------- */

/* Called per record with its index; a negative DMT_E* stops the walk. */
typedef int (*dmt_record_fn)(void *ctx, const dmt_record *r, uint64_t index);

/* Pass the source's remaining records to fn.  Returns 0 at the end, or the
 * negative DMT_E* of the reading or of fn (err names the record). */
int dmt_source_walk(dmt_source *s, dmt_record_fn fn, void *ctx, dmt_error *err);

/* Open, walk every record (cut traces allowed), close.  *cut: the trace
 * ended without END; *kind (may be NULL): DMT_FILE_*.  The record passed to
 * fn is valid only during the call. */
int dmt_source_each(const char *path, dmt_record_fn fn, void *ctx, bool *cut, int *kind,
                    dmt_error *err);

#endif

/*
 * dmt/store.h - the SQLite store: import a trace into NAME.db (all or
 * nothing), open and check a store, summarise it for `info`, iterate its
 * records in sequence order.  What a reader asks an open store (lanes,
 * summaries, transfers, events, find) is dmt/store_query.h.
 *
 * The schema is schema/store.sql (normative; embedded in the library).
 * Every function returns 0 (or a count / 1 for "a row") on success and a
 * negative DMT_E* code on failure with err filled; nothing is printed.
 *
 * Ownership: a dmt_store owns its SQLite connection; dmt_store_close frees
 * it.  Records and rows handed to callers point into memory owned by the
 * store or iterator and stay valid until the next call on that object.
 * Threads: one dmt_store (and its iterators) per thread.
 */
#ifndef DMT_STORE_H
#define DMT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmt/error.h"
#include "dmt/record.h"
#include "dmt/stats.h"

#define DMT_STORE_APPLICATION_ID   0x444D5442 /* "DMTB" */
#define DMT_STORE_SCHEMA_VERSION   7
#define DMT_STORE_LEVELS           8                          /* summary levels 0..7 */
#define DMT_STORE_LEVEL_SHIFT(L)   (10u + 3u * (unsigned)(L)) /* bucket = ts >> shift */
#define DMT_STORE_MAX_REG_LANES    4096u  /* register lanes before "devD other" */
#define DMT_STORE_MAX_LANES        16384u /* lanes before one shared lane per kind */
#define DMT_STORE_MIN_STORED_LEVEL 3      /* levels 0..2 are computed on demand */

struct sqlite3;
struct rmap;
struct dmt_reader_resume;

/* ---- import --------------------------------------------------------------- */

/* Import phases reported to the progress callback. */
enum dmt_store_phase {
    DMT_STORE_PHASE_LOAD = 1,   /* reading records and inserting rows */
    DMT_STORE_PHASE_DERIVE = 2, /* derived tables, summaries */
    DMT_STORE_PHASE_INDEX = 3,  /* secondary indexes */
    DMT_STORE_PHASE_COMMIT = 4  /* commit, fsync, rename */
};

typedef struct dmt_store_progress {
    int phase;            /* enum dmt_store_phase */
    uint64_t records;     /* records loaded so far */
    uint64_t bytes_done;  /* trace bytes consumed so far */
    uint64_t bytes_total; /* size of the trace file */
} dmt_store_progress;

/* Called every ~64 k records and at every phase change (also while SQLite
 * works on a long statement).  Return 0 to go on, non-zero to cancel: the
 * import then fails with DMT_E_IO "interrupted" and leaves no output (the
 * CLI's SIGINT handler sets a flag this callback returns). */
typedef int (*dmt_store_progress_fn)(void *ctx, const dmt_store_progress *p);

typedef struct dmt_store_import_opts {
    dmt_store_progress_fn progress; /* may be NULL */
    void *ctx;
    bool allow_cut; /* import a cut trace up to its last whole record */
    /* Test hooks: fail with DMT_E_IO after this many records (0: never);
     * tiny memory bounds (open transfers, lanes, ...) so that tests reach
     * the paths hostile traces take.  The database is the same either way,
     * except for lanes beyond the bound (shared) and interrupt attribution
     * on devices beyond it. */
    uint64_t fail_after;
    bool small_limits;
    /* The register map that fills reg_names and reg_fields (rmap/regmap.h,
     * domain index regmap_domain), or NULL: the tables stay empty.
     * regmap_name (may be NULL) is stored as meta key `regmap`.  Both are
     * the caller's. */
    const struct rmap *regmap;
    size_t regmap_domain;
    const char *regmap_name;
    /* Trace-backed: the raw event tables (registers, DMA calls, SG
     * elements, digest ranges, resource records, descriptor writes,
     * payloads, patterns, interrupts, DPCs, calibrations) get no rows; the
     * queries of dmt/store_query.h and the
     * record iterator read those records from the trace file through the
     * time index's resume points (dmt/reader.h).  The store then needs its
     * trace: moved, shortened or replaced, those queries fail with one
     * error (DMT_E_IO missing, DMT_E_FORMAT changed) and the rest of the
     * store still answers.  Summaries, lanes, transfers, the adapters,
     * buffers and common buffers derived from the resource records,
     * markers, lost ranges and CPU runs are stored as always. */
    bool events_in_trace;
} dmt_store_import_opts;

typedef struct dmt_store_import_result {
    uint64_t records;     /* records imported */
    uint64_t sg_elements; /* sg_elements rows */
    uint64_t transfers;   /* transfers rows */
    uint64_t skipped;     /* records of unknown kinds (not stored) */
    bool cut;             /* the trace was cut (allow_cut) */
    uint64_t cut_offset;  /* where its last whole record ends */
    char cut_why[96];
    uint64_t db_bytes; /* size of the finished database */
    /* Where the time went (wall clock, ns): phase_ns[phase] for the enum
     * dmt_store_phase phases; sg_insert_ns: inside the sg_elements INSERTs
     * (the load's hottest table, for benchmarks). */
    uint64_t phase_ns[5];
    uint64_t sg_insert_ns;
    bool output_error; /* on failure: about the database (or its folder),
                          not the trace */
} dmt_store_import_result;

/* Import trace file `trace` into a new database `db_path`, all or nothing:
 * the database is built in a temporary file "<db_path>.tmp-XXXXXX" in the
 * same directory and renamed over db_path only when complete (an existing
 * db_path is replaced then, and never touched on failure).  On any failure
 * or cancellation the temporary file is removed.  opts and res may be NULL.
 * Errors: the reader's (DMT_E_FORMAT/VERSION/TRUNCATED/CHECKSUM with byte
 * offset and record index), DMT_E_IO (SQLite or file system), DMT_E_NOMEM. */
int dmt_store_import(const char *trace, const char *db_path, const dmt_store_import_opts *opts,
                     dmt_store_import_result *res, dmt_error *err);

/* ---- append (a trace still being written) ---------------------------------- */

/* A store that grows with a trace being written (the viewer's follow
 * mode): records go in batches, one transaction each, and after every
 * commit the database equals what dmt_store_import makes of the records
 * appended so far (meta's import facts aside): transfers, summaries, time
 * index, lanes and indexes of one consistent prefix.  The file is in WAL
 * mode, so other connections (dmt_store_open) read committed batches while
 * the next one is written.  The records are the reader's (follow mode:
 * dmt/follow.h), in file order.  Not all-or-nothing: the database is
 * created at once (an existing one is replaced) and is a valid store after
 * open; a failed call rolls back its batch and leaves the appender unusable
 * (every later call fails; close it).  One thread. */
typedef struct dmt_store_appender dmt_store_appender;

/* What the caller knows about the trace at a commit (meta keys skipped,
 * cut, cut_offset, cut_reason; cut_why is copied). */
typedef struct dmt_store_append_facts {
    uint64_t skipped;
    bool cut;
    uint64_t cut_offset;
    const char *cut_why;
} dmt_store_append_facts;

/* Create db_path for the trace `trace` (its path, for meta) whose header is
 * hdr, with opts as for an import (progress is not called); commits the
 * empty store.  Caller frees with dmt_store_append_close. */
int dmt_store_append_open(const char *db_path, const char *trace, const dmt_header *hdr,
                          const dmt_store_import_opts *opts, dmt_store_appender **out,
                          dmt_error *err);
/* The last chunk boundary at or before the next record added (the
 * reader's dmt_reader_boundary): the time index keeps one per block, a
 * trace-backed store reads its events from there.  Call it before
 * dmt_store_append_add whenever it may have moved (it is copied); a store
 * never given one has none (rp_* NULL) and cannot be trace-backed. */
void dmt_store_append_resume(dmt_store_appender *a, const struct dmt_reader_resume *rp);
/* Begin the next batch now (else the first record or the commit does). */
int dmt_store_append_begin(dmt_store_appender *a, dmt_error *err);
/* Add one record to the current batch (begun by the first record). */
int dmt_store_append_add(dmt_store_appender *a, const dmt_record *r, dmt_error *err);
/* Commit the batch (facts may be NULL: not cut). */
int dmt_store_append_commit(dmt_store_appender *a, const dmt_store_append_facts *facts,
                            dmt_error *err);
/* The connection, for the core's layers that add rows of their own in the
 * batch, after dmt_store_append_begin (the audit's findings:
 * dmt_audit_append_findings). */
struct sqlite3 *dmt_store_append_sqlite(dmt_store_appender *a);
/* Records appended so far. */
uint64_t dmt_store_append_records(const dmt_store_appender *a);
void dmt_store_append_close(dmt_store_appender *a);

/* ---- open ----------------------------------------------------------------- */

enum dmt_store_open_flags {
    DMT_STORE_RDONLY = 0,
    DMT_STORE_RDWR = 1,       /* e.g. audit writing findings */
    DMT_STORE_INTERACTIVE = 2 /* a long-lived reader (the viewer): a 64 MiB page cache */
};

typedef struct dmt_store dmt_store;

/* Open an existing store and check it: not a SQLite file or application_id
 * not DMTB -> DMT_E_FOREIGN; user_version not DMT_STORE_SCHEMA_VERSION -> DMT_E_VERSION; a damaged
 * file or missing tables -> DMT_E_FORMAT; cannot open -> DMT_E_IO. */
int dmt_store_open(const char *path, unsigned flags, dmt_store **out, dmt_error *err);
void dmt_store_close(dmt_store *st);

/* The SQLite connection (owned by st), for the core's own layers that
 * write or dump tables (audit findings, export) and for tests; programs
 * outside core/ use dmt/store_query.h instead. */
struct sqlite3 *dmt_store_sqlite(dmt_store *st);

/* The trace header the store was imported from. */
int dmt_store_header(dmt_store *st, dmt_header *hdr, dmt_error *err);

/* Import facts from meta: was the trace cut, where, why (why: caller
 * buffer, may be NULL). */
int dmt_store_cut(dmt_store *st, bool *cut, uint64_t *offset, char *why, size_t why_cap,
                  dmt_error *err);

/* ---- info ----------------------------------------------------------------- */

/* Header and statistics of the database at path, computed from its tables;
 * field by field equal to dmt_stats_add over the trace it was imported
 * from.  hdr may be NULL. */
int dmt_store_info(const char *path, dmt_header *hdr, dmt_stats *stats, dmt_error *err);
/* The same on an open store. */
int dmt_store_stats(dmt_store *st, dmt_stats *stats, dmt_error *err);

/* ---- records in sequence order -------------------------------------------- */

typedef struct dmt_store_iter dmt_store_iter;

/* Iterate the records with seq >= from_seq (0: all) in sequence order, a
 * k-way merge over the event tables.  The iterator belongs to st and must
 * be freed before it. */
int dmt_store_iter_open(dmt_store *st, uint64_t from_seq, dmt_store_iter **out, dmt_error *err);
/* 1 and *rec filled (sg_list, values, bytes owned by the iterator, valid
 * until the next call; rec->pos = 0), 0 at the end, or a negative DMT_E*.
 * The record equals the one the reader returned at import. */
int dmt_store_iter_next(dmt_store_iter *it, dmt_record *rec, dmt_error *err);
void dmt_store_iter_close(dmt_store_iter *it);

/* ---- misc ----------------------------------------------------------------- */

/* The embedded schema/store.sql text (NUL-terminated). */
const char *dmt_store_schema_sql(void);

#endif

/*
 * cor/corpus.h - the regression corpus: a YAML manifest of traces with the
 * results each must keep giving (replay verdict, driver-replay verdict, audit
 * findings), the runner that checks them in parallel, and the reports CI
 * systems read (JUnit XML, TAP 13).  `dmatrace check`, `bless` and
 * `corpus add` are thin commands over this library (prefix cor_).
 *
 * The manifest (paths relative to the manifest's folder):
 *
 *   version: 1
 *   traces:
 *     - path: captures/mixed.dmat
 *       hash: xxh64:5d1c0a7d2c8b9e01     # optional: a moved or changed file is caught
 *       labels: [dma32, slow]
 *       notes: free text
 *       regmap: maps/dmm.xml             # optional: the register map to use
 *       expect:                          # one set per key (device revision / driver build)
 *         - {key: default, replay: clean, driver: clean, audit: none}
 *         - {key: rev2, model-revision: 2, replay: {record: 1, kind: reg_read},
 *            driver: clean, audit: {sg-skip: 1}}
 *
 * replay: `clean`, or the known first divergence {record: INDEX, kind: NAME}
 * (kind as `dmatrace replay --json` names it); driver: `clean`, `diverges`
 * or `skip`; audit: `none` or {RULE-ID: COUNT, ...}.
 *
 * Ownership: cor_manifest_load returns a manifest the caller frees with
 * cor_manifest_free; strings inside it belong to it.  The library never
 * prints; errors come back as dmt_error with the manifest line in `index`
 * (1-based; DMT_NO_INDEX when none) and the byte offset in `offset`.
 */
#ifndef COR_CORPUS_H
#define COR_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dmt/error.h"

#define COR_MAX_TRACES   100000u
#define COR_MAX_SETS     16u /* expectation sets per trace */
#define COR_MAX_LABELS   16u
#define COR_MAX_RULES    64u         /* audit rules named per set */
#define COR_MAX_MANIFEST (16u << 20) /* bytes */

enum cor_replay_expect { COR_CLEAN = 0, COR_DIVERGES = 1, COR_SKIP = 2 };

typedef struct cor_rule_count {
    int rule; /* dmt_audit rule index */
    uint64_t count;
} cor_rule_count;

typedef struct cor_set {
    char *key;           /* "default", a revision or build name */
    uint32_t revision;   /* model revision; 0 = as the trace says */
    int replay;          /* enum cor_replay_expect (CLEAN or DIVERGES) */
    uint64_t div_record; /* DIVERGES: record index of the first divergence */
    int div_kind;        /* DIVERGES: enum rpl_div_kind */
    int driver;          /* enum cor_replay_expect */
    size_t n_rules;      /* audit: 0 = none */
    cor_rule_count rules[COR_MAX_RULES];
    uint64_t line;     /* 1-based manifest line of the set */
    size_t start, end; /* byte range of the set's node in the manifest */
} cor_set;

typedef struct cor_trace {
    char *path;     /* as written */
    char *resolved; /* relative to the manifest's folder */
    char *hash;     /* "xxh64:..." or NULL */
    char *labels[COR_MAX_LABELS];
    size_t n_labels;
    char *notes;
    char *regmap;          /* as written, or NULL */
    char *regmap_resolved; /* relative to the manifest's folder */
    size_t n_sets;
    cor_set sets[COR_MAX_SETS];
    uint64_t line;   /* line of the entry */
    size_t end;      /* byte offset where the entry's mapping ends */
    unsigned indent; /* column of the entry's keys */
    bool has_expect;
    size_t expect_end; /* end of the expect sequence (block) */
    unsigned expect_indent;
    bool expect_flow; /* expect: [ ... ] */
} cor_trace;

typedef struct cor_manifest {
    char *path; /* the manifest file */
    char *dir;  /* its folder */
    char *text; /* its bytes (NUL-terminated), for splicing */
    size_t len;
    cor_trace *traces;
    size_t n;
    bool traces_last; /* the traces sequence ends the document (append is safe) */
} cor_manifest;

int cor_manifest_load(const char *path, cor_manifest **out, dmt_error *err);
void cor_manifest_free(cor_manifest *m);
/* The set of trace t for key (falling back to "default"), or NULL. */
const cor_set *cor_trace_set(const cor_trace *t, const char *key);

/* ---- running -------------------------------------------------------------- */

enum cor_status { COR_PASS = 0, COR_XFAIL, COR_XPASS, COR_FAIL, COR_ERROR, COR_STATUS_N_ };
const char *cor_status_name(int status); /* "PASS", ... */

/* What one trace actually gave. */
typedef struct cor_actual {
    bool error; /* the trace could not be checked at all */
    char error_text[1400];
    uint64_t records; /* records replayed */
    bool replay_diverged;
    uint64_t div_record;
    int div_kind;
    char div_text[1400]; /* "reg_read dev=0 off=0x104: expected 0x2, got 0x6" */
    bool driver_run;     /* driver replay attempted */
    bool driver_diverged;
    char driver_text[1400];
    uint64_t by_rule[64]; /* audit findings per rule (enum dmt_audit_rule < 64) */
} cor_actual;

/* Options of one run. */
typedef struct cor_run_opts {
    const char *key; /* expectation set key; NULL = "default" */
    bool no_driver;  /* skip driver replays */
} cor_run_opts;

/* Check one trace (in the calling process): replay into the model with the
 * set's revision, driver replay unless the set says skip, audit.  Never
 * fails: problems become actual->error. */
void cor_run_trace(const cor_trace *t, const cor_set *set, const cor_run_opts *o,
                   cor_actual *actual);

/* One check of one trace compared with its expectation. */
enum cor_check {
    COR_CHECK_FILE = 0,
    COR_CHECK_REPLAY,
    COR_CHECK_DRIVER,
    COR_CHECK_AUDIT,
    COR_CHECK_N_
};
const char *cor_check_name(int check); /* "file", "replay", "driver", "audit" */

typedef struct cor_verdict {
    int status[COR_CHECK_N_]; /* per check; COR_PASS for checks not run */
    bool ran[COR_CHECK_N_];
    char text[COR_CHECK_N_][1600]; /* the first difference, "" when none */
    int overall;                   /* the worst: ERROR > FAIL > XPASS > XFAIL > PASS */
} cor_verdict;

/* Compare (set may be NULL: no expectations -> every check a FAIL naming
 * what to add). */
void cor_compare(const cor_trace *t, const cor_set *set, const cor_actual *a, cor_verdict *v);

/* The content hash of a file, "xxh64:<16 hex>" into buf (>= 24 bytes). */
int cor_hash_file(const char *path, char *buf, size_t cap, dmt_error *err);

/* ---- editing the manifest -------------------------------------------------- */

/* The expectation set text (flow mapping) for the actual results. */
void cor_set_text(char *buf, size_t cap, const char *key, uint32_t revision, const cor_actual *a);

typedef struct cor_edit {
    size_t start, end; /* replace [start, end) of the manifest text */
    char *text;        /* owned */
} cor_edit;

/* The edit that makes trace t's set for key say what a gave (replace the
 * set, add one to its expect sequence, or add an expect key). */
int cor_bless_edit(const cor_manifest *m, const cor_trace *t, const char *key, uint32_t revision,
                   const cor_actual *a, cor_edit *out, dmt_error *err);
/* Apply edits (sorted, non-overlapping) and write the manifest atomically
 * (temporary file + rename). */
int cor_write_edits(const cor_manifest *m, cor_edit *edits, size_t n, dmt_error *err);

/* ---- reports ---------------------------------------------------------------- */

typedef struct cor_result {
    const cor_trace *trace;
    cor_verdict v;
    double seconds;
} cor_result;

void cor_write_junit(FILE *f, const char *manifest, const cor_result *r, size_t n);
void cor_write_tap(FILE *f, const cor_result *r, size_t n);

#endif

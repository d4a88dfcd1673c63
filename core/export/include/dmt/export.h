/*
 * dmt/export.h - export a trace for other tools.
 *
 *  - Chrome/Perfetto Trace Event Format (JSON object form), so a trace opens
 *    in Perfetto UI or chrome://tracing: transfers as complete events ("X")
 *    on one track per adapter, register writes as counters ("C") per
 *    register, interrupts, DPCs, markers, lost ranges and audit findings as
 *    instant events ("i"), SG lists in the transfers' args.
 *  - CSV: one file per table of the store (schema/store.sql), header row
 *    first, plus load scripts for the sqlite3 shell and PostgreSQL.
 *
 * docs/audit-rules.md ("Export") documents both layouts.  Outputs are
 * written under temporary names and renamed into place when complete.
 * The library never prints.
 */
#ifndef DMT_EXPORT_H
#define DMT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmt/error.h"

struct rmap;

typedef struct dmt_export_opts {
    bool no_findings;   /* skip the audit pass (no findings events / rows) */
    uint64_t rules;     /* audit rule mask (dmt/audit.h); 0 = all */
    bool end_is_unload; /* audit option, see dmt_audit_config */
    /* Register map (rmap/regmap.h, domain index regmap_domain), or NULL:
     * JSON counters are named by register ("dev1 CH[0].STATUS") and carry
     * every field by name in their args; a trace exported as CSV is
     * imported with it (tables reg_names, reg_fields).  The caller's. */
    const struct rmap *regmap;
    size_t regmap_domain;
    const char *regmap_name; /* the map's file, for the CSV's meta (may be NULL) */
} dmt_export_opts;

typedef struct dmt_export_stats {
    uint64_t records; /* records read */
    uint64_t events;  /* JSON: trace events written, metadata included; CSV: rows */
    /* JSON, by what they stand for */
    uint64_t metadata, transfers, counters, interrupts, dpcs, markers, lost, findings;
    uint32_t tracks;
    /* CSV */
    uint32_t tables;
} dmt_export_stats;

/* Write the Trace Event Format JSON of trace or database `in` to `out`.
 * opts and stats may be NULL.  Returns 0 or a negative DMT_E* with err. */
int dmt_export_chrome(const char *in, const char *out, const dmt_export_opts *opts,
                      dmt_export_stats *stats, dmt_error *err);

/* Write one CSV per store table of `in` into directory `dir` (created if
 * missing; files of the same names are replaced).  A trace file is first
 * imported into a temporary database (with its audit findings). */
int dmt_export_csv(const char *in, const char *dir, const dmt_export_opts *opts,
                   dmt_export_stats *stats, dmt_error *err);

#endif

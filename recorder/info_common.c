/*
 * info_common.c - summarise a trace file by reading it once, or a database
 * by asking its tables (see info_common.h).
 */
#include "info_common.h"

#include <string.h>

#include "dmt/reader.h"
#include "dmt/sniff.h"
#include "dmt/store.h"

static int collect_trace(const char *path, info_result *ir, dmt_error *err)
{
    dmt_reader *rd;
    int rc = dmt_reader_open(path, DMT_READ_ALLOW_CUT, &rd, err);
    if (rc)
        return rc;
    ir->hdr = *dmt_reader_header(rd);
    dmt_record r;
    while ((rc = dmt_reader_next(rd, &r, err)) == 1)
        dmt_stats_add(&ir->stats, &r);
    if (rc == 0) {
        ir->cut = dmt_reader_cut(rd, &ir->cut_at, &ir->cut_why);
        ir->what = ir->cut ? "trace, NOT closed cleanly" : "trace, closed cleanly";
    }
    dmt_reader_close(rd);
    return rc;
}

/* A store: header and counts from its tables (dmt_store_info), and whether
 * the trace it came from was cut (meta). */
static int collect_db(const char *path, info_result *ir, dmt_error *err)
{
    static char why[96];
    int rc = dmt_store_info(path, &ir->hdr, &ir->stats, err);
    if (rc)
        return rc;
    dmt_store *st;
    if ((rc = dmt_store_open(path, DMT_STORE_RDONLY, &st, err)))
        return rc;
    rc = dmt_store_cut(st, &ir->cut, &ir->cut_at, why, sizeof why, err);
    dmt_store_close(st);
    if (ir->cut) {
        ir->cut_why = why;
        ir->what = "database, imported from a cut trace";
    }
    return rc;
}

int info_collect(const char *path, info_result *ir, dmt_error *err)
{
    memset(ir, 0, sizeof *ir);
    dmt_stats_init(&ir->stats);
    int kind = dmt_sniff(path, err);
    if (kind < 0)
        return kind;
    if (kind == DMT_FILE_DB) {
        ir->is_db = true;
        ir->what = "database";
        return collect_db(path, ir, err);
    }
    return collect_trace(path, ir, err);
}

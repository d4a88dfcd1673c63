/*
 * info_common.c - summarise a trace file by reading it once, or a database
 * by asking its tables (see info_common.h); both opened as a dmt_source.
 */
#include "info_common.h"

#include <stdio.h>
#include <string.h>

#include "dmt/sniff.h"
#include "dmt/source.h"
#include "dmt/store.h"

int info_collect(const char *path, info_result *ir, dmt_error *err)
{
    memset(ir, 0, sizeof *ir);
    dmt_stats_init(&ir->stats);
    dmt_source *src;
    int rc = dmt_source_open(path, 0, &src, err);
    if (rc)
        return rc;
    ir->hdr = *dmt_source_header(src);
    ir->is_db = dmt_source_kind(src) == DMT_FILE_DB;
    if (ir->is_db) {
        /* counts from its tables, not from a walk over every record */
        rc = dmt_store_stats(dmt_source_store(src), &ir->stats, err);
    } else {
        dmt_record r;
        while ((rc = dmt_source_next(src, &r, NULL, err)) == 1)
            dmt_stats_add(&ir->stats, &r);
    }
    const char *why = NULL;
    if (rc == 0)
        ir->cut = dmt_source_cut(src, &ir->cut_at, &why);
    if (ir->cut) {
        snprintf(ir->why_buf, sizeof ir->why_buf, "%s", why ? why : "");
        ir->cut_why = ir->why_buf;
    }
    if (ir->is_db)
        ir->what = ir->cut ? "database, imported from a cut trace" : "database";
    else if (rc == 0)
        ir->what = ir->cut ? "trace, NOT closed cleanly" : "trace, closed cleanly";
    dmt_source_close(src);
    return rc;
}

/*
 * info_common.c - summarise a trace file by reading it once, or a database
 * by asking its tables (see info_common.h).
 */
#include "info_common.h"

#include <string.h>

#include "dmt/reader.h"
#include "dmt/sniff.h"

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
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "databases are not supported by this build yet");
    }
    return collect_trace(path, ir, err);
}

/*
 * info_common.h - collect the summary of a .dmat or .db for `info` (and for
 * tests that compare the two).
 */
#ifndef DMT_INFO_COMMON_H
#define DMT_INFO_COMMON_H

#include <stdbool.h>

#include "dmt/error.h"
#include "dmt/record.h"
#include "dmt/stats.h"

typedef struct info_result {
    bool is_db;
    dmt_header hdr;
    dmt_stats stats;
    bool cut;
    uint64_t cut_at;
    const char *cut_why; /* NULL, or why_buf */
    char why_buf[96];
    const char *what; /* "trace, closed cleanly" ... */
} info_result;

int info_collect(const char *path, info_result *ir, dmt_error *err);

#endif

/*
 * audit_file.c - run the audit engine over a whole trace or database
 * (records from dmt/source.h).
 */
#include "audit_internal.h"
#include "dmt/source.h"

#include <string.h>

static int add_one(void *ctx, const dmt_record *r, uint64_t index)
{
    return dmt_audit_add(ctx, r, index);
}

int dmt_audit_file(const char *path, const dmt_audit_config *cfg, dmt_audit_stats *stats,
                   dmt_error *err)
{
    dmt_audit *a = dmt_audit_new(cfg);
    if (!a)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX,
                             "out of memory for the audit state");
    bool cut = false;
    int rc = dmt_source_each(path, add_one, a, &cut, NULL, err);
    if (rc == 0)
        rc = dmt_audit_finish(a, cut);
    if (stats)
        *stats = *dmt_audit_get_stats(a);
    dmt_audit_free(a);
    return rc < 0 ? rc : 0;
}

/*
 * audit_file.c - run the audit engine over a whole trace: a trace file
 * (.dmat: the reader in allow-cut mode, record indexes as `dmatrace dump`
 * counts them) or a database (.db: the store's record iterator, audit_store.c).
 */
#include "audit_internal.h"
#include "dmt/reader.h"
#include "dmt/sniff.h"

#include <string.h>

static int trace_records(const char *path, dmt_record_fn fn, void *ctx, bool *cut, dmt_error *err)
{
    dmt_reader *rd;
    int rc = dmt_reader_open(path, DMT_READ_ALLOW_CUT, &rd, err);
    if (rc)
        return rc;
    dmt_record r;
    uint64_t index = 0;
    while ((rc = dmt_reader_next(rd, &r, err)) == 1) {
        if ((rc = fn(ctx, &r, index++)) < 0) {
            dmt_error_set(err, rc, r.pos, index - 1, "%s",
                          rc == DMT_E_NOMEM ? "out of memory" : "cannot process the record");
            break;
        }
    }
    uint64_t at;
    const char *why;
    *cut = dmt_reader_cut(rd, &at, &why);
    dmt_reader_close(rd);
    return rc;
}

int dmt__records(const char *path, dmt_record_fn fn, void *ctx, bool *cut, int *kind,
                 dmt_error *err)
{
    int k = dmt_sniff(path, err);
    if (k < 0)
        return k;
    if (kind)
        *kind = k;
    *cut = false;
    return k == DMT_FILE_DB ? dmt__db_records(path, fn, ctx, cut, err)
                            : trace_records(path, fn, ctx, cut, err);
}

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
    int rc = dmt__records(path, add_one, a, &cut, NULL, err);
    if (rc == 0)
        rc = dmt_audit_finish(a, cut);
    if (stats)
        *stats = *dmt_audit_get_stats(a);
    dmt_audit_free(a);
    return rc < 0 ? rc : 0;
}

/*
 * source.c - every record of a trace (.dmat, read in allow-cut mode, record
 * indexes as `dmatrace dump` counts them) or of a database (.db, through the
 * store's record iterator), in sequence order.
 */
#include "dmt/source.h"

#include "dmt/reader.h"
#include "dmt/sniff.h"
#include "dmt/store.h"

static int db_records(const char *path, dmt_record_fn fn, void *ctx, bool *cut, dmt_error *err)
{
    dmt_store *store;
    dmt_store_iter *it = NULL;
    int rc = dmt_store_open(path, DMT_STORE_RDONLY, &store, err);
    if (rc)
        return rc;
    uint64_t cut_at;
    rc = dmt_store_cut(store, cut, &cut_at, NULL, 0, err);
    if (rc == 0)
        rc = dmt_store_iter_open(store, 0, &it, err);
    if (rc == 0) {
        dmt_record r;
        uint64_t index = 0;
        while ((rc = dmt_store_iter_next(it, &r, err)) == 1) {
            if ((rc = fn(ctx, &r, index++)) < 0) {
                dmt_error_set(err, rc, DMT_NO_INDEX, index - 1, "%s",
                              rc == DMT_E_NOMEM ? "out of memory" : "cannot process the record");
                break;
            }
        }
    }
    dmt_store_iter_close(it);
    dmt_store_close(store);
    return rc < 0 ? rc : 0;
}

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

int dmt_source_each(const char *path, dmt_record_fn fn, void *ctx, bool *cut, int *kind,
                 dmt_error *err)
{
    int k = dmt_sniff(path, err);
    if (k < 0)
        return k;
    if (kind)
        *kind = k;
    *cut = false;
    return k == DMT_FILE_DB ? db_records(path, fn, ctx, cut, err)
                            : trace_records(path, fn, ctx, cut, err);
}


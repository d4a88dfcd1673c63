/*
 * reader_absent.c - the trace reader in the Windows recorder build, which
 * has no libcbor: every open fails with a clear reason.  Only `carve
 * --merge` would read a trace, and cmd_carve.c refuses that option first;
 * this keeps core/image/carve.c one source for both builds.
 */
#include "dmt/reader.h"

int dmt_reader_open(const char *path, unsigned flags, dmt_reader **out, dmt_error *err)
{
    (void)path;
    (void)flags;
    *out = NULL;
    return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                         "this build cannot read traces (no libcbor): use the Linux dmatrace");
}

int dmt_reader_next(dmt_reader *rd, dmt_record *rec, dmt_error *err)
{
    (void)rd;
    (void)rec;
    return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX, "no trace reader");
}

const dmt_header *dmt_reader_header(const dmt_reader *rd)
{
    (void)rd;
    return NULL;
}

void dmt_reader_close(dmt_reader *rd)
{
    (void)rd;
}

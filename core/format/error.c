/*
 * error.c - dmt_error helpers (see dmt/error.h).
 */
#include "dmt/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int dmt_error_set(dmt_error *err, int code, uint64_t offset, uint64_t index, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->sys_errno = 0;
        err->offset = offset;
        err->index = index;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void dmt_error_clear(dmt_error *err)
{
    if (err) {
        memset(err, 0, sizeof *err);
        err->offset = DMT_NO_INDEX;
        err->index = DMT_NO_INDEX;
    }
}

int dmt_error_exit_status(int code)
{
    switch (code) {
    case DMT_OK:
        return 0;
    case DMT_E_FORMAT:
    case DMT_E_VERSION:
    case DMT_E_TRUNCATED:
    case DMT_E_USAGE:
    case DMT_E_CHECKSUM:
    case DMT_E_FOREIGN:
        return 2;
    default:
        return 3;
    }
}

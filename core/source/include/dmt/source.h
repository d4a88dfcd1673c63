/*
 * dmt/source.h - read "a trace or a store, record by record": the one way
 * commands and libraries walk the records of either kind of input.
 */
#ifndef DMT_SOURCE_H
#define DMT_SOURCE_H
#include <stdbool.h>
#include <stdint.h>

#include "dmt/error.h"
#include "dmt/record.h"

/* Called per record with its index; a negative DMT_E* stops the walk. */
typedef int (*dmt_record_fn)(void *ctx, const dmt_record *r, uint64_t index);

/* Every record of a trace (.dmat, allow-cut) or database (.db) in order.
 * *cut: the trace ended without END; *kind (may be NULL): DMT_FILE_*.
 * The record passed to fn is valid only during the call. */
int dmt_source_each(const char *path, dmt_record_fn fn, void *ctx, bool *cut, int *kind,
                    dmt_error *err);

#endif

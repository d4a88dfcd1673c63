/*
 * dmt/sniff.h - tell a trace file from a database from anything else by its
 * first bytes, so every command accepts .dmat and .db alike.
 */
#ifndef DMT_SNIFF_H
#define DMT_SNIFF_H

#include <stddef.h>

#include "dmt/error.h"

enum dmt_file_kind { DMT_FILE_TRACE = 1, DMT_FILE_DB = 2 };

/* Read up to cap bytes from the start of path into buf.  Returns the bytes
 * read (short for a short file), or DMT_E_IO with err filled. */
long dmt_read_head(const char *path, void *buf, size_t cap, dmt_error *err);

/* Returns DMT_FILE_TRACE, DMT_FILE_DB, or a negative DMT_E* (DMT_E_FOREIGN
 * for anything else, DMT_E_IO when unreadable). */
int dmt_sniff(const char *path, dmt_error *err);

/* Does trace file `path` end with an END record (FORMAT.md 1.5: the file
 * was closed)?  Looks at the last bytes only: 1 yes, 0 no (cut, or still
 * being written), DMT_E_IO when unreadable.  A quick test for "is this
 * trace still growing" (with the file's age); the reader is the judge of
 * the whole file. */
int dmt_sniff_ended(const char *path, dmt_error *err);

#endif

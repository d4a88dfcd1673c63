/*
 * corpus_internal.h - what the corpus library's files share (private).
 */
#ifndef COR_CORPUS_INTERNAL_H
#define COR_CORPUS_INTERNAL_H

#include <stddef.h>

#include "dmt/error.h"

/* Read a whole file of at most max bytes into a new NUL-terminated buffer
 * (*buf is the caller's). */
int cor_read_file(const char *path, size_t max, char **buf, size_t *len, dmt_error *err);

#endif

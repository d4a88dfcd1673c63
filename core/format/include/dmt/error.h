/*
 * dmt/error.h - error reporting of the core library.
 *
 * Functions return 0 (or a count) on success and a negative DMT_E* code on
 * failure, filling a caller-owned dmt_error with one line of text, the file
 * byte offset and the record index where they apply.  The library never
 * prints; tools format dmt_error as "FILE: byte N (record M): message".
 */
#ifndef DMT_ERROR_H
#define DMT_ERROR_H

#include <stdint.h>
#include <stdio.h> /* __MINGW_PRINTF_FORMAT */

/* The printf dialect format checks assume: mingw-w64's C99 one in the
 * Windows build (__USE_MINGW_ANSI_STDIO), glibc's on Linux. */
#ifdef __MINGW_PRINTF_FORMAT
#define DMT_PRINTF __MINGW_PRINTF_FORMAT
#else
#define DMT_PRINTF printf
#endif

enum dmt_errcode {
    DMT_OK = 0,
    DMT_E_FORMAT = -1,    /* bad input: malformed, wrong type, limit exceeded */
    DMT_E_VERSION = -2,   /* a format version this build cannot read */
    DMT_E_TRUNCATED = -3, /* the input ends inside an item */
    DMT_E_IO = -4,        /* read/write/fsync failed (errno in sys_errno) */
    DMT_E_NOMEM = -5,     /* allocation failed */
    DMT_E_USAGE = -6,     /* bad argument from the caller */
    DMT_E_CHECKSUM = -7,  /* a chunk's CRC or count does not match */
    DMT_E_INTERNAL = -8,
    DMT_E_FOREIGN = -9 /* not a dmatrace file / database at all */
};

#define DMT_NO_INDEX UINT64_MAX

typedef struct dmt_error {
    int code;        /* enum dmt_errcode */
    int sys_errno;   /* errno for DMT_E_IO, else 0 */
    uint64_t offset; /* byte offset in the input, or DMT_NO_INDEX */
    uint64_t index;  /* record index, or DMT_NO_INDEX */
    char msg[256];   /* one line, no trailing newline */
} dmt_error;

/* Fill err (may be NULL) and return code.  printf-style message. */
int dmt_error_set(dmt_error *err, int code, uint64_t offset, uint64_t index, const char *fmt, ...)
    __attribute__((format(DMT_PRINTF, 5, 6)));
void dmt_error_clear(dmt_error *err);
/* Map a dmt error code to the CLI exit status (2 bad input/usage, 3 I/O). */
int dmt_error_exit_status(int code);

#endif

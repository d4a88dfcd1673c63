/*
 * dmt/json.h - the one JSON string escaper of the tools: the commands' JSON
 * output (info, audit), the Chrome / findings export and the replay report
 * all quote text through it.  It never prints on its own: it writes to the
 * FILE* or the buffer the caller passes.
 *
 * Always escaped: '"' and '\\' (as \" and \\) and the control bytes below
 * 0x20 (as \u00XX, lowercase hex).  The flags escape more, for text that is
 * not known to be UTF-8 or that a reader should see as plain ASCII.
 */
#ifndef DMT_JSON_H
#define DMT_JSON_H

#include <stddef.h>
#include <stdio.h>

enum dmt_json_flags {
    DMT_JSON_DEL = 1u,   /* 0x7f too, as \u007f */
    DMT_JSON_ASCII = 2u, /* every byte >= 0x7f too: the output is printable ASCII */
    DMT_JSON_SHORT = 4u  /* \n \r \t as such instead of \u000a \u000d \u0009 */
};

/* Write s[0..n) to f as a quoted JSON string.  0, or EOF when a write
 * failed (the stream's error flag tells the caller too). */
int dmt_json_write(FILE *f, const char *s, size_t n, unsigned flags);
/* dmt_json_write of the NUL-terminated s. */
int dmt_json_puts(FILE *f, const char *s, unsigned flags);
/* The same into buf: at most cap bytes, NUL-terminated when cap > 0 (cut
 * when too small).  Returns the quoted string's full length without the
 * NUL, like snprintf, so dmt_json_quote(NULL, 0, ...) measures it. */
size_t dmt_json_quote(char *buf, size_t cap, const char *s, size_t n, unsigned flags);

#endif

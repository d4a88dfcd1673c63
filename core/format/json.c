/*
 * json.c - the JSON string escaper (dmt/json.h).  Each byte maps to itself
 * or to a short escape sequence (at most 6 bytes); the FILE* writer copies
 * runs of bytes that need no escape in one fwrite.
 */
#include "dmt/json.h"

#include <stdbool.h>
#include <string.h>

/* The escape of c into out (no NUL); 0 when c stands for itself. */
static size_t escape(unsigned char c, unsigned flags, char out[6])
{
    static const char hex[] = "0123456789abcdef";
    if (c == '"' || c == '\\') {
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    }
    if ((flags & DMT_JSON_SHORT) && (c == '\n' || c == '\r' || c == '\t')) {
        out[0] = '\\';
        out[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        return 2;
    }
    bool esc = c < 0x20 || (c == 0x7f && (flags & (DMT_JSON_DEL | DMT_JSON_ASCII))) ||
               (c > 0x7f && (flags & DMT_JSON_ASCII));
    if (!esc)
        return 0;
    memcpy(out, "\\u00", 4);
    out[4] = hex[c >> 4];
    out[5] = hex[c & 15];
    return 6;
}

int dmt_json_write(FILE *f, const char *s, size_t n, unsigned flags)
{
    int rc = fputc('"', f) == EOF ? EOF : 0;
    size_t run = 0; /* start of the bytes not written yet */
    for (size_t i = 0; i < n; i++) {
        char e[6];
        size_t k = escape((unsigned char)s[i], flags, e);
        if (!k)
            continue;
        if (fwrite(s + run, 1, i - run, f) != i - run || fwrite(e, 1, k, f) != k)
            rc = EOF;
        run = i + 1;
    }
    if (fwrite(s + run, 1, n - run, f) != n - run || fputc('"', f) == EOF)
        rc = EOF;
    return rc;
}

int dmt_json_puts(FILE *f, const char *s, unsigned flags)
{
    return dmt_json_write(f, s, strlen(s), flags);
}

size_t dmt_json_quote(char *buf, size_t cap, const char *s, size_t n, unsigned flags)
{
    size_t len = 0;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (len + 1 < cap)                                                                         \
            buf[len] = (c);                                                                        \
        len++;                                                                                     \
    } while (0)
    PUT('"');
    for (size_t i = 0; i < n; i++) {
        char e[6];
        size_t k = escape((unsigned char)s[i], flags, e);
        if (!k)
            PUT(s[i]);
        for (size_t j = 0; j < k; j++)
            PUT(e[j]);
    }
    PUT('"');
#undef PUT
    if (cap)
        buf[len < cap ? len : cap - 1] = 0;
    return len;
}

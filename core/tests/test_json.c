/*
 * test_json.c - the JSON string escaper (dmt/json.h): the exact bytes for
 * each set of flags the tools use, the FILE* writer and the buffer writer
 * agreeing, measuring with a NULL buffer, and cutting at a small buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "dmt/testkit.h"
#include "dmt/json.h"

/* in (n bytes) quoted with flags must give want, through both writers. */
static void expect(const char *in, size_t n, unsigned flags, const char *want)
{
    char buf[256], *mem = NULL;
    size_t memlen = 0;
    size_t k = dmt_json_quote(buf, sizeof buf, in, n, flags);
    CHECKF(k == strlen(want) && strcmp(buf, want) == 0, "flags %u: got %s want %s", flags, buf,
           want);
    CHECK(dmt_json_quote(NULL, 0, in, n, flags) == k);
    FILE *f = open_memstream(&mem, &memlen);
    CHECK(f && dmt_json_write(f, in, n, flags) == 0);
    fclose(f);
    CHECKF(memlen == k && memcmp(mem, want, k) == 0, "flags %u: FILE* gave %s", flags, mem);
    free(mem);
}

int main(void)
{
    static const char in[] = "a\"b\\c\n\t\r\x01\x1f \x7f\xc3\xa9~";
    size_t n = sizeof in - 1;
    expect(in, n, 0, "\"a\\\"b\\\\c\\u000a\\u0009\\u000d\\u0001\\u001f \x7f\xc3\xa9~\"");
    expect(in, n, DMT_JSON_DEL,
           "\"a\\\"b\\\\c\\u000a\\u0009\\u000d\\u0001\\u001f \\u007f\xc3\xa9~\"");
    expect(in, n, DMT_JSON_ASCII,
           "\"a\\\"b\\\\c\\u000a\\u0009\\u000d\\u0001\\u001f \\u007f\\u00c3\\u00a9~\"");
    expect(in, n, DMT_JSON_ASCII | DMT_JSON_SHORT,
           "\"a\\\"b\\\\c\\n\\t\\r\\u0001\\u001f \\u007f\\u00c3\\u00a9~\"");
    expect("", 0, 0, "\"\"");
    expect("x\0y", 3, 0, "\"x\\u0000y\""); /* a length, not a C string */

    /* a buffer too small: cut, NUL-terminated, full length returned */
    char small[5];
    CHECK(dmt_json_quote(small, sizeof small, "abcdef", 6, 0) == 8);
    CHECK(strcmp(small, "\"abc") == 0);
    CHECK(dmt_json_quote(small, 1, "\n", 1, 0) == 8 && small[0] == 0);
    return tk_result("test_json");
}

/*
 * fuzz_regmap.c - fuzz target: the rules-ng-ng loader (rmap_load) on any
 * bytes, written to a file in the target's private directory (imports are
 * resolved from there, so an input may import itself: an import cycle).
 *
 * Properties checked:
 *  - a load either succeeds or fails with a file name, a message and a line
 *    no further than the input's last line;
 *  - a map that loads (with no variant, and with the variant named by the
 *    input's first value name, if any) decodes the first 4096 offsets of
 *    every domain and a few far ones with terminated names no longer than
 *    their buffer, fields inside the register's width and unknown bits
 *    outside every field, and formats and lists without touching memory it
 *    does not own (ASan).
 */
#include "fuzz_common.h"
#include "rmap/regmap.h"

static void on_line(void *ctx, const char *text)
{
    size_t *n = ctx;
    FZ_CHECK(strlen(text) < 4096, "list line of %zu characters", strlen(text));
    (*n)++;
}

static void exercise(const rmap *m)
{
    static rmap_decoded d;
    char line[8192];
    static const uint64_t far[] = {UINT64_MAX, UINT64_MAX - 3, 1ull << 32, 1ull << 63};
    for (size_t dom = 0; dom < rmap_domain_count(m); dom++) {
        FZ_CHECK(rmap_domain_name(m, dom) != NULL, "domain %zu without a name", dom);
        for (uint64_t off = 0; off < 4096 + sizeof far / sizeof far[0]; off++) {
            uint64_t o = off < 4096 ? off : far[off - 4096];
            if (!rmap_decode(m, dom, o, off % 2 ? 32 : 0, 0xA5A5A5A5A5A5A5A5ull, &d))
                continue;
            FZ_CHECK(memchr(d.name, 0, sizeof d.name) != NULL, "name not terminated");
            FZ_CHECK(d.width == 8 || d.width == 16 || d.width == 32 || d.width == 64, "width %u",
                     d.width);
            FZ_CHECK(d.n_fields <= RMAP_MAX_SHOWN, "%u fields", d.n_fields);
            for (unsigned i = 0; i < d.n_fields; i++) {
                FZ_CHECK(d.fields[i].low <= d.fields[i].high && d.fields[i].high < 64,
                         "field %u:%u", d.fields[i].high, d.fields[i].low);
                FZ_CHECK(memchr(d.fields[i].text, 0, sizeof d.fields[i].text) != NULL,
                         "field text not terminated");
            }
            size_t n = rmap_format(&d, line, sizeof line);
            FZ_CHECK(n < sizeof line && strlen(line) == n, "format length %zu", n);
        }
        size_t lines = 0;
        rmap_list(m, dom, on_line, &lines);
        FZ_CHECK(lines >= 1, "no domain line");
    }
}

/* The name of the first <value name="..."> in the input, as a variant. */
static bool first_value_name(const uint8_t *data, size_t size, char *out, size_t cap)
{
    static const char key[] = "<value name=\"";
    for (size_t i = 0; i + sizeof key - 1 < size; i++) {
        if (memcmp(data + i, key, sizeof key - 1))
            continue;
        size_t k = 0;
        for (size_t j = i + sizeof key - 1; j < size && data[j] != '"' && k + 1 < cap; j++)
            out[k++] = (char)data[j];
        out[k] = 0;
        return k > 0;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512], variant[64];
    fz_path(path, sizeof path, "in.dmat"); /* a name fuzz_common cleans up */
    fz_write_file(path, data, size);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    const char *variants[2] = {NULL, first_value_name(data, size, variant, sizeof variant) ? variant
                                                                                           : NULL};
    for (int v = 0; v < 2; v++) {
        if (v == 1 && !variants[1])
            break;
        rmap *m = NULL;
        rmap_error err;
        if (rmap_load(path, variants[v], &m, &err) != 0) {
            FZ_CHECK(m == NULL, "failed load returned a map");
            FZ_CHECK(err.file[0] && err.msg[0], "error without a file or message");
            FZ_CHECK(strcmp(err.file, path) != 0 || err.line <= lines, "line %u of %zu", err.line,
                     lines);
            continue;
        }
        exercise(m);
        rmap_free(m);
    }
    return 0;
}

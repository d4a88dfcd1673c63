/*
 * edit.c - change a corpus manifest in place without losing what a person
 * wrote in it: `bless` replaces one expectation set's text (or adds one),
 * `corpus add` appends an entry; everything else, comments included, is
 * copied byte for byte.  The byte ranges come from manifest.c.  The new file
 * is written next to the old one and renamed over it, so a failure leaves
 * the manifest as it was.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cor/corpus.h"

/* The offset just after the line holding pos (the end of the text when the
 * last line has no newline). */
static size_t line_after(const cor_manifest *m, size_t pos)
{
    if (pos > m->len)
        pos = m->len;
    const char *nl = memchr(m->text + pos, '\n', m->len - pos);
    return nl ? (size_t)(nl - m->text) + 1 : m->len;
}

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

int cor_bless_edit(const cor_manifest *m, const cor_trace *t, const char *key, uint32_t revision,
                   const cor_actual *a, cor_edit *out, dmt_error *err)
{
    char set[1024];
    const char *k = key ? key : "default";
    const cor_set *cur = NULL;
    for (size_t i = 0; i < t->n_sets; i++)
        if (!strcmp(t->sets[i].key, k))
            cur = &t->sets[i];
    cor_set_text(set, sizeof set, k, cur && !revision ? cur->revision : revision, a);
    const bool nl_missing = m->len && m->text[m->len - 1] != '\n';
    if (cur) {
        out->start = cur->start;
        out->end = cur->end;
        out->text = strdup(set);
    } else if (t->has_expect && t->expect_flow) {
        /* expect: [a, b] -> insert before the closing bracket */
        out->start = out->end = t->expect_end - 1;
        out->text = dupf("%s%s", t->n_sets ? ", " : "", set);
    } else if (t->has_expect) {
        size_t at = line_after(m, t->expect_end);
        out->start = out->end = at;
        unsigned dash = t->expect_indent >= 2 ? t->expect_indent - 2 : 0;
        out->text = dupf("%s%*s- %s\n", at == m->len && nl_missing ? "\n" : "", (int)dash, "", set);
    } else {
        size_t at = line_after(m, t->end);
        out->start = out->end = at;
        out->text = dupf("%s%*sexpect:\n%*s- %s\n", at == m->len && nl_missing ? "\n" : "",
                         (int)t->indent, "", (int)t->indent + 2, "", set);
    }
    if (!out->text)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    return 0;
}

static int edit_cmp(const void *a, const void *b)
{
    const cor_edit *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

int cor_write_edits(const cor_manifest *m, cor_edit *edits, size_t n, dmt_error *err)
{
    qsort(edits, n, sizeof *edits, edit_cmp);
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp-XXXXXX", m->path) < 0)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        free(tmp);
        return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX,
                             "cannot write next to the manifest: %s", strerror(e));
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (edits[i].start < at || edits[i].end < edits[i].start || edits[i].end > m->len)
            continue; /* overlapping: cannot happen for edits of distinct sets */
        fwrite(m->text + at, 1, edits[i].start - at, f);
        fputs(edits[i].text, f);
        at = edits[i].end;
    }
    fwrite(m->text + at, 1, m->len - at, f);
    int bad = ferror(f) | (fflush(f) != 0) | (fsync(fileno(f)) != 0);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, m->path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX,
                             "cannot replace the manifest: %s", strerror(e));
    }
    free(tmp);
    return 0;
}

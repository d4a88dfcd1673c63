/*
 * report.c - corpus results in the formats CI systems read: JUnit XML (one
 * testsuite, one testcase per trace and check; FAIL and XPASS as <failure>,
 * ERROR as <error>, XFAIL as <skipped> with the known divergence) as
 * Jenkins and GitLab parse it, and TAP 13 for `prove` (XFAIL as a TODO test,
 * XPASS as "not ok", so prove fails exactly when `dmatrace check` does).
 */
#include <stdio.h>
#include <string.h>

#include "cor/corpus.h"

/* XML text or attribute content: the five predefined entities; control
 * characters other than tab and newline (not allowed in XML 1.0) as '?'. */
static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        default:
            fputc(c < 0x20 && c != '\t' && c != '\n' ? '?' : c, f);
        }
    }
}

void cor_write_junit(FILE *f, const char *manifest, const cor_result *r, size_t n)
{
    size_t tests = 0, failures = 0, errors = 0, skipped = 0;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        total += r[i].seconds;
        for (int c = 0; c < COR_CHECK_N_; c++) {
            if (!r[i].v.ran[c] || (c == COR_CHECK_FILE && r[i].v.status[c] == COR_PASS))
                continue;
            tests++;
            int s = r[i].v.status[c];
            failures += s == COR_FAIL || s == COR_XPASS;
            errors += s == COR_ERROR;
            skipped += s == COR_XFAIL;
        }
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"");
    xml_escape(f, manifest);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
            tests, failures, errors, skipped, total);
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < COR_CHECK_N_; c++) {
            if (!r[i].v.ran[c] || (c == COR_CHECK_FILE && r[i].v.status[c] == COR_PASS))
                continue;
            int s = r[i].v.status[c];
            fputs("  <testcase classname=\"dmatrace.corpus\" name=\"", f);
            xml_escape(f, r[i].trace->path);
            fprintf(f, ".%s\" time=\"%.3f\"", cor_check_name(c), r[i].seconds);
            if (s == COR_PASS) {
                fputs("/>\n", f);
                continue;
            }
            const char *tag = s == COR_ERROR ? "error" : s == COR_XFAIL ? "skipped" : "failure";
            fprintf(f, ">\n    <%s type=\"%s\" message=\"", tag, cor_status_name(s));
            xml_escape(f, r[i].v.text[c]);
            fputs("\">", f);
            xml_escape(f, r[i].v.text[c]);
            fprintf(f, "</%s>\n  </testcase>\n", tag);
        }
    }
    fputs("</testsuite>\n", f);
}

/* TAP descriptions end at '#' and lines at newlines: keep both out. */
static void tap_text(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(*s == '#' ? '_' : *s == '\n' ? ' ' : *s, f);
}

void cor_write_tap(FILE *f, const cor_result *r, size_t n)
{
    size_t tests = 0;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < COR_CHECK_N_; c++)
            tests += r[i].v.ran[c] && !(c == COR_CHECK_FILE && r[i].v.status[c] == COR_PASS);
    fprintf(f, "TAP version 13\n1..%zu\n", tests);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < COR_CHECK_N_; c++) {
            if (!r[i].v.ran[c] || (c == COR_CHECK_FILE && r[i].v.status[c] == COR_PASS))
                continue;
            int s = r[i].v.status[c];
            fprintf(f, "%s %zu - ", s == COR_PASS || s == COR_XFAIL ? "ok" : "not ok", ++k);
            tap_text(f, r[i].trace->path);
            fprintf(f, " %s", cor_check_name(c));
            if (s == COR_XFAIL) {
                fputs(" # TODO known: ", f);
                tap_text(f, r[i].v.text[c]);
            }
            fputc('\n', f);
            if (s == COR_FAIL || s == COR_XPASS || s == COR_ERROR) {
                fprintf(f, "  ---\n  status: %s\n  message: \"", cor_status_name(s));
                for (const char *p = r[i].v.text[c]; *p; p++) {
                    if (*p == '"' || *p == '\\')
                        fputc('\\', f);
                    fputc(*p, f);
                }
                fputs("\"\n  ...\n", f);
            }
        }
    }
}

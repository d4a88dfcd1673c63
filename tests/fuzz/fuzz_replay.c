/*
 * fuzz_replay.c - fuzz target: the replayer fed a decoded trace from
 * arbitrary bytes.
 *
 * Per input:
 *  1. The reader (allow-cut) decodes the input; every record goes to
 *     rpl_feed of a fresh engine with a small memory limit (64 MiB), then
 *     rpl_note_cut / rpl_finish, as rpl_replay_file does.  The engine may
 *     refuse input only with a format error naming a record; the summary is
 *     consistent (kept <= divergences, kept <= keep, limits readable,
 *     strings terminated, memory used within the limit); the text and JSON
 *     reports render, and the JSON is syntactically valid.
 *  2. `dmatrace diff` of the input against itself (rpl_diff_files): either
 *     both sides fail to read, or the traces are equal; its JSON is valid.
 * Options (order rule, --all, errata) are derived from the input length so
 * every input is replayed the same way each time.
 */
#include "dmt/reader.h"
#include "fuzz_common.h"
#include "rpl/diff.h"
#include "rpl/replay.h"
#include "rpl/report.h"

#define MEM_LIMIT (64ull << 20)

/* ---- a JSON syntax checker (RFC 8259, no semantics) -------------------- */

typedef struct js {
    const char *p, *end;
    int depth;
} js;

static void ws(js *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static bool lit(js *j, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n))
        return false;
    j->p += n;
    return true;
}

static bool jstring(js *j)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    for (j->p++; j->p < j->end; j->p++) {
        unsigned char ch = (unsigned char)*j->p;
        if (ch == '"') {
            j->p++;
            return true;
        }
        if (ch < 0x20)
            return false;
        if (ch == '\\') {
            j->p++;
            if (j->p >= j->end)
                return false;
            if (*j->p == 'u') {
                for (int i = 0; i < 4; i++) {
                    j->p++;
                    if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p) || !*j->p)
                        return false;
                }
            } else if (!strchr("\"\\/bfnrt", *j->p) || !*j->p) {
                return false;
            }
        }
    }
    return false;
}

static bool digits(js *j)
{
    const char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

static bool jnumber(js *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!digits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!digits(j))
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!digits(j))
            return false;
    }
    return true;
}

static bool jvalue(js *j)
{
    ws(j);
    if (j->p >= j->end || ++j->depth > 64)
        return false;
    bool ok;
    char c = *j->p;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->p++;
        ws(j);
        ok = true;
        if (j->p < j->end && *j->p == close) {
            j->p++;
        } else {
            for (;;) {
                if (c == '{') {
                    ws(j);
                    if (!jstring(j))
                        return false;
                    ws(j);
                    if (j->p >= j->end || *j->p++ != ':')
                        return false;
                }
                if (!jvalue(j))
                    return false;
                ws(j);
                if (j->p >= j->end)
                    return false;
                if (*j->p == ',') {
                    j->p++;
                    continue;
                }
                if (*j->p++ != close)
                    return false;
                break;
            }
        }
    } else if (c == '"') {
        ok = jstring(j);
    } else if (c == 't') {
        ok = lit(j, "true");
    } else if (c == 'f') {
        ok = lit(j, "false");
    } else if (c == 'n') {
        ok = lit(j, "null");
    } else {
        ok = jnumber(j);
    }
    j->depth--;
    return ok;
}

static void check_json(const rpl_str *s, const char *what)
{
    FZ_CHECK(!s->oom, "%s: out of memory", what);
    FZ_CHECK(s->p && s->n == strlen(s->p), "%s: length %zu", what, s->n);
    js j = {s->p, s->p + s->n, 0};
    bool ok = jvalue(&j);
    ws(&j);
    FZ_CHECK(ok && j.p == j.end, "%s: invalid JSON at byte %zu: %.80s", what, (size_t)(j.p - s->p),
             j.p);
}

/* ---- replay ------------------------------------------------------------------ */

static void check_text(const char *s, size_t cap, const char *what)
{
    FZ_CHECK(memchr(s, 0, cap) != NULL, "unterminated %s", what);
}

static void replay(const uint8_t *data, size_t size)
{
    dmt_reader *rd;
    dmt_error err;
    if (dmt_reader_open_mem(data, size, DMT_READ_ALLOW_CUT, &rd, &err) != 0)
        return;
    rpl_opts o;
    rpl_opts_default(&o);
    o.order = (int)(size % 3);
    o.all = (size >> 2) & 1;
    if ((size >> 3) & 1) {
        o.set_errata = true;
        o.errata = (uint32_t)(size >> 4) & 7u;
    }
    o.keep = 16;
    o.mem_limit = MEM_LIMIT;
    rpl_replay *r = rpl_new(&o, &err);
    FZ_CHECK(r != NULL, "rpl_new: %s", err.msg);
    rpl_set_header(r, dmt_reader_header(rd));
    dmt_record rec;
    int rc;
    bool refused = false;
    while ((rc = dmt_reader_next(rd, &rec, &err)) == 1) {
        int f = rpl_feed(r, &rec, &err);
        FZ_CHECK(f == 0 || f == 1 || f == DMT_E_FORMAT, "rpl_feed returned %d: %s", f, err.msg);
        FZ_CHECK(rpl_mem_used(r) <= MEM_LIMIT, "replay holds %llu bytes",
                 (unsigned long long)rpl_mem_used(r));
        if (f < 0) {
            FZ_CHECK(err.code == f, "error code %d, returned %d", err.code, f);
            refused = true;
            break;
        }
        if (f == 1) {
            FZ_CHECK(!o.all, "stopped although --all");
            break;
        }
    }
    uint64_t at;
    const char *why;
    if (rc == 0 && !refused && dmt_reader_cut(rd, &at, &why))
        rpl_note_cut(r, at, why);
    if (!refused) {
        /* rpl_finish can still refuse the input (creating the model at the
         * end: a configuration beyond the memory limit); the message then
         * goes to the err of the last rpl_feed (rpl/replay.h says 0 or 1
         * only - reported). */
        int f = rpl_finish(r);
        FZ_CHECK(f == 0 || f == 1 || f == DMT_E_FORMAT, "rpl_finish returned %d", f);
        refused = f < 0;
    }
    const rpl_summary *s = rpl_get_summary(r);
    FZ_CHECK(s->kept <= s->divergences && s->kept <= o.keep, "kept %llu of %llu",
             (unsigned long long)s->kept, (unsigned long long)s->divergences);
    FZ_CHECK(o.all || s->divergences <= 1 || refused, "%llu divergences without --all",
             (unsigned long long)s->divergences);
    char msg[1024];
    for (uint64_t i = 0; i < s->kept; i++) {
        const rpl_divergence *d = rpl_divergence_at(r, i);
        FZ_CHECK(d != NULL, "divergence %llu missing", (unsigned long long)i);
        check_text(d->subject, sizeof d->subject, "subject");
        check_text(d->expected, sizeof d->expected, "expected");
        check_text(d->actual, sizeof d->actual, "actual");
        check_text(d->detail, sizeof d->detail, "detail");
        FZ_CHECK(d->n_context <= RPL_MAX_CONTEXT, "n_context %u", d->n_context);
        for (unsigned k = 0; k < d->n_context; k++)
            check_text(d->context[k].text, sizeof d->context[k].text, "context");
        size_t n = rpl_div_message(msg, sizeof msg, d);
        FZ_CHECK(n < sizeof msg && strlen(msg) == n, "div message length %zu", n);
        FZ_CHECK(rpl_div_kind_name(d->kind) != NULL, "kind name");
    }
    for (uint64_t i = 0; i < s->n_limits && i < RPL_MAX_LIMITS; i++) {
        const rpl_limit *l = rpl_limit_at(r, i);
        FZ_CHECK(l != NULL, "limit %llu missing", (unsigned long long)i);
        check_text(l->text, sizeof l->text, "limit text");
        FZ_CHECK(rpl_limit_kind_name(l->kind) != NULL, "limit kind name");
    }
    rpl_str t;
    rpl_str_init(&t);
    rpl_report_text(&t, r, "fuzz.dmat");
    FZ_CHECK(!t.oom && t.p && strlen(t.p) == t.n, "text report");
    rpl_str_free(&t);
    rpl_str_init(&t);
    rpl_report_json(&t, r, "fu\"zz\\.dmat", "model", refused ? err.msg : NULL);
    check_json(&t, "replay JSON");
    rpl_str_free(&t);
    rpl_free(r);
    dmt_reader_close(rd);
}

/* A trace compared with itself is equal. */
static void self_diff(const uint8_t *data, size_t size)
{
    char path[320];
    fz_path(path, sizeof path, "diff.dmat");
    fz_write_file(path, data, size);
    rpl_diff_opts o;
    memset(&o, 0, sizeof o);
    o.addresses = size & 1;
    rpl_diff_result *res = NULL;
    dmt_error err;
    const char *failed = NULL;
    int rc = rpl_diff_files(path, path, &o, &res, &err, &failed);
    if (rc != 0) {
        FZ_CHECK(rc < 0 && err.code == rc, "diff returned %d", rc);
        FZ_CHECK(res == NULL, "diff failed but returned a result");
        return;
    }
    FZ_CHECK(res != NULL, "no result");
    FZ_CHECK(!rpl_diff_any(res),
             "a trace differs from itself: %llu differ, %llu only-a, %llu only-b, setup %d, "
             "adapters %d",
             (unsigned long long)res->differ, (unsigned long long)res->only_a,
             (unsigned long long)res->only_b, res->setup_differs, res->adapters_differ);
    rpl_str s;
    rpl_str_init(&s);
    rpl_diff_json(&s, res, path, path);
    check_json(&s, "diff JSON");
    rpl_str_free(&s);
    rpl_str_init(&s);
    rpl_diff_text(&s, res, path, path);
    FZ_CHECK(!s.oom && s.p, "diff text");
    rpl_str_free(&s);
    rpl_diff_free(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    replay(data, size);
    self_diff(data, size);
    return 0;
}

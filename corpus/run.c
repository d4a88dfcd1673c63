/*
 * run.c - check one corpus trace against its expectations (cor/corpus.h):
 * run the model replay, the driver replay and the audit through their
 * libraries, then compare what they gave with the manifest's expectation set.
 * Also the content hash (XXH64 from Debian's libxxhash) and the text of an
 * expectation set, which `bless` and `corpus add` write.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "cor/corpus.h"
#include "corpus_internal.h"
#include "dmt/audit.h"
#include "rpl/driver.h"
#include "rmap/regmap.h"
#include "rpl/replay.h"

_Static_assert(DMT_R_COUNT_ <= 64, "cor_actual.by_rule holds 64 rules");

const char *cor_status_name(int status)
{
    static const char *const names[COR_STATUS_N_] = {"PASS", "XFAIL", "XPASS", "FAIL", "ERROR"};
    return status >= 0 && status < COR_STATUS_N_ ? names[status] : "?";
}

const char *cor_check_name(int check)
{
    static const char *const names[COR_CHECK_N_] = {"file", "replay", "driver", "audit"};
    return check >= 0 && check < COR_CHECK_N_ ? names[check] : "?";
}

int cor_read_file(const char *path, size_t max, char **buf, size_t *len, dmt_error *err)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "cannot open: %s",
                             strerror(errno));
    char *b = malloc(max + 1);
    size_t n = b ? fread(b, 1, max + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!b)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    if (bad) {
        free(b);
        return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "read failed");
    }
    if (n > max) {
        free(b);
        return dmt_error_set(err, DMT_E_FORMAT, max, DMT_NO_INDEX, "larger than %zu bytes", max);
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return 0;
}

int cor_hash_file(const char *path, char *buf, size_t cap, dmt_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "cannot open: %s",
                             strerror(errno));
    XXH64_state_t *st = XXH64_createState();
    static __thread unsigned char chunk[1 << 16];
    int rc = st ? 0 : DMT_E_NOMEM;
    if (st)
        XXH64_reset(st, 0);
    ssize_t n;
    while (rc == 0 && (n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX, "read failed: %s",
                               strerror(errno));
            break;
        }
        XXH64_update(st, chunk, (size_t)n);
    }
    close(fd);
    if (rc == 0)
        snprintf(buf, cap, "xxh64:%016llx", (unsigned long long)XXH64_digest(st));
    XXH64_freeState(st);
    return rc;
}

/* "reg_read dev=0 off=0x104: the trace says 0x2, the model gave 0x6" */
static void div_text(char *buf, size_t cap, const rpl_divergence *d)
{
    /* A long divergence is cut to the buffer: the first words are what a
     * report line needs. */
    int n = snprintf(buf, cap, "record %" PRIu64 " (%s): %s: the trace says %s, got %s%s%s",
                     d->index, rpl_div_kind_name(d->kind), d->subject, d->expected, d->actual,
                     d->detail[0] ? "; " : "", d->detail);
    (void)n;
}

void cor_run_trace(const cor_trace *t, const cor_set *set, const cor_run_opts *o, cor_actual *a)
{
    memset(a, 0, sizeof *a);
    dmt_error err;
    dmt_error_clear(&err);
    struct stat sb;
    if (stat(t->resolved, &sb) != 0) {
        snprintf(a->error_text, sizeof a->error_text, "%s: %s", t->path, strerror(errno));
        a->error = true;
        return;
    }
    if (t->hash) {
        char h[32];
        if (cor_hash_file(t->resolved, h, sizeof h, &err) != 0) {
            snprintf(a->error_text, sizeof a->error_text, "%s: %s", t->path, err.msg);
            a->error = true;
            return;
        }
        if (strcmp(h, t->hash) != 0) {
            snprintf(a->error_text, sizeof a->error_text,
                     "%s: content hash %s, the manifest says %s (moved or changed?)", t->path, h,
                     t->hash);
            a->error = true;
            return;
        }
    }
    rpl_opts ro;
    rpl_opts_default(&ro);
    if (set && set->revision) {
        ro.set_revision = true;
        ro.revision = set->revision;
    }
    /* The trace's register map names registers and fields in the texts. */
    rmap *names = NULL;
    if (t->regmap_resolved) {
        rmap_error me;
        if (rmap_load(t->regmap_resolved, NULL, &names, &me) != 0) {
            snprintf(a->error_text, sizeof a->error_text, "%s: regmap %s:%u: %s", t->path, me.file,
                     me.line, me.msg);
            a->error = true;
            return;
        }
        ro.names.map = names;
    }
    rpl_replay *r = NULL;
    int rc = rpl_replay_file(t->resolved, &ro, &r, &err);
    if (rc < 0) {
        if (err.index != DMT_NO_INDEX)
            snprintf(a->error_text, sizeof a->error_text, "%s: record %" PRIu64 ": %s", t->path,
                     err.index, err.msg);
        else
            snprintf(a->error_text, sizeof a->error_text, "%s: %s", t->path, err.msg);
        a->error = true;
        rpl_free(r);
        rmap_free(names);
        return;
    }
    const rpl_summary *s = rpl_get_summary(r);
    a->records = s->records;
    if (s->divergences && s->kept) {
        const rpl_divergence *d = rpl_divergence_at(r, 0);
        a->replay_diverged = true;
        a->div_record = d->index;
        a->div_kind = d->kind;
        div_text(a->div_text, sizeof a->div_text, d);
    }
    rpl_free(r);

    if (!(set && set->driver == COR_SKIP) && !o->no_driver) {
        a->driver_run = true;
        r = NULL;
        rc = rpl_driver_replay_file(t->resolved, &ro, &r, &err);
        if (rc < 0) {
            a->driver_diverged = true;
            snprintf(a->driver_text, sizeof a->driver_text, "driver replay failed: %s", err.msg);
        } else if (rpl_get_summary(r)->divergences && rpl_get_summary(r)->kept) {
            a->driver_diverged = true;
            div_text(a->driver_text, sizeof a->driver_text, rpl_divergence_at(r, 0));
        }
        rpl_free(r);
    }
    rmap_free(names);

    dmt_audit_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.rules = DMT_AUDIT_ALL_RULES;
    dmt_audit_stats st;
    if (dmt_audit_file(t->resolved, &cfg, &st, &err) != 0) {
        snprintf(a->error_text, sizeof a->error_text, "%s: audit: %s", t->path, err.msg);
        a->error = true;
        return;
    }
    for (int i = 0; i < DMT_R_COUNT_; i++)
        a->by_rule[i] = st.by_rule[i];
}

static void set_check(cor_verdict *v, int check, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_check(cor_verdict *v, int check, int status, const char *fmt, ...)
{
    v->ran[check] = true;
    v->status[check] = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->text[check], sizeof v->text[check], fmt, ap);
    va_end(ap);
    if (status > v->overall)
        v->overall = status;
}

void cor_compare(const cor_trace *t, const cor_set *set, const cor_actual *a, cor_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (a->error) {
        set_check(v, COR_CHECK_FILE, COR_ERROR, "%s", a->error_text);
        return;
    }
    set_check(v, COR_CHECK_FILE, COR_PASS, "%s", "");
    if (!set) {
        set_check(v, COR_CHECK_REPLAY, COR_FAIL,
                  "no expectation set for this key: run 'dmatrace bless' to record one");
        return;
    }
    /* replay */
    if (set->replay == COR_DIVERGES && set->div_record >= a->records)
        set_check(v, COR_CHECK_REPLAY, COR_ERROR,
                  "manifest line %" PRIu64 ": record %" PRIu64
                  " is past the end of the trace (%" PRIu64 " records)",
                  set->line, set->div_record, a->records);
    else if (set->replay == COR_CLEAN)
        set_check(v, COR_CHECK_REPLAY, a->replay_diverged ? COR_FAIL : COR_PASS, "%s",
                  a->replay_diverged ? a->div_text : "");
    else if (!a->replay_diverged)
        set_check(v, COR_CHECK_REPLAY, COR_XPASS,
                  "the known divergence at record %" PRIu64 " (%s) is gone: bless the manifest",
                  set->div_record, rpl_div_kind_name(set->div_kind));
    else if (a->div_record == set->div_record && a->div_kind == set->div_kind)
        set_check(v, COR_CHECK_REPLAY, COR_XFAIL, "known divergence: %s", a->div_text);
    else
        set_check(v, COR_CHECK_REPLAY, COR_FAIL,
                  "expected the known divergence at record %" PRIu64 " (%s), got %s",
                  set->div_record, rpl_div_kind_name(set->div_kind), a->div_text);
    /* driver */
    if (a->driver_run) {
        if (set->driver == COR_CLEAN)
            set_check(v, COR_CHECK_DRIVER, a->driver_diverged ? COR_FAIL : COR_PASS, "%s",
                      a->driver_diverged ? a->driver_text : "");
        else
            set_check(v, COR_CHECK_DRIVER, a->driver_diverged ? COR_XFAIL : COR_XPASS, "%s",
                      a->driver_diverged ? a->driver_text
                                         : "the driver replay no longer diverges: bless the "
                                           "manifest");
    }
    /* audit: every rule, listed or not */
    const dmt_audit_rule_info *info = dmt_audit_rules();
    for (int rule = 0; rule < DMT_R_COUNT_; rule++) {
        uint64_t want = 0;
        for (size_t i = 0; i < set->n_rules; i++)
            if (set->rules[i].rule == rule)
                want = set->rules[i].count;
        if (a->by_rule[rule] != want) {
            set_check(v, COR_CHECK_AUDIT, COR_FAIL,
                      "%s: expected %" PRIu64 " finding(s), got %" PRIu64, info[rule].id, want,
                      a->by_rule[rule]);
            return;
        }
    }
    set_check(v, COR_CHECK_AUDIT, COR_PASS, "%s", "");
    (void)t;
}

void cor_set_text(char *buf, size_t cap, const char *key, uint32_t revision, const cor_actual *a)
{
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        if (n < cap)                                                                               \
            n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__);                                  \
    } while (0)
    PUT("{key: %s", key && key[0] ? key : "default");
    if (revision)
        PUT(", model-revision: %u", revision);
    if (a->replay_diverged)
        PUT(", replay: {record: %" PRIu64 ", kind: %s}", a->div_record,
            rpl_div_kind_name(a->div_kind));
    else
        PUT(", replay: clean");
    PUT(", driver: %s", !a->driver_run ? "skip" : a->driver_diverged ? "diverges" : "clean");
    const dmt_audit_rule_info *info = dmt_audit_rules();
    bool any = false;
    for (int rule = 0; rule < DMT_R_COUNT_; rule++)
        if (a->by_rule[rule]) {
            PUT("%s%s: %" PRIu64, any ? ", " : ", audit: {", info[rule].id, a->by_rule[rule]);
            any = true;
        }
    PUT("%s}", any ? "}" : ", audit: none");
#undef PUT
}

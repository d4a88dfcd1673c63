/*
 * report.c - text and JSON renderings of a replay (rpl/report.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/json.h"
#include "internal.h"
#include "rpl/report.h"

void rpl_str_init(rpl_str *s)
{
    memset(s, 0, sizeof *s);
}

void rpl_str_free(rpl_str *s)
{
    free(s->p);
    memset(s, 0, sizeof *s);
}

static bool grow(rpl_str *s, size_t need)
{
    if (s->n + need + 1 <= s->cap)
        return true;
    size_t nc = s->cap ? s->cap : 1024;
    while (nc < s->n + need + 1)
        nc *= 2;
    char *p = realloc(s->p, nc);
    if (!p) {
        s->oom = true;
        return false;
    }
    s->p = p;
    s->cap = nc;
    return true;
}

void rpl_str_add(rpl_str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0 || !grow(s, (size_t)k))
        return;
    va_start(ap, fmt);
    vsnprintf(s->p + s->n, s->cap - s->n, fmt, ap);
    va_end(ap);
    s->n += (size_t)k;
}

void rpl_str_json(rpl_str *s, const char *text)
{
    /* texts are ASCII; anything else escaped */
    const unsigned flags = DMT_JSON_ASCII | DMT_JSON_SHORT;
    size_t n = strlen(text), k = dmt_json_quote(NULL, 0, text, n, flags);
    if (!grow(s, k))
        return;
    dmt_json_quote(s->p + s->n, s->cap - s->n, text, n, flags);
    s->n += k;
}

static void labels(int kind, const char **e, const char **a)
{
    switch (kind) {
    case RPL_DIV_REG_READ:
        *e = "trace says";
        *a = "model returned";
        break;
    case RPL_DIV_IRQ_MISSING:
        *e = "expected";
        *a = "trace has";
        break;
    case RPL_DIV_IRQ_UNEXPECTED:
        *e = "trace says";
        *a = "model raised";
        break;
    case RPL_DIV_DIGEST:
        *e = "trace says";
        *a = "model gives";
        break;
    case RPL_DIV_SG:
        *e = "expected";
        *a = "SG list has";
        break;
    case RPL_DIV_DESCRIPTOR:
        *e = "expected";
        *a = "written";
        break;
    case RPL_DIV_PROGRAM:
        *e = "descriptors say";
        *a = "driver wrote";
        break;
    case RPL_DIV_DRIVER:
        *e = "trace says";
        *a = "driver did";
        break;
    default:
        *e = "expected";
        *a = "got";
        break;
    }
}

size_t rpl_div_message(char *buf, size_t cap, const rpl_divergence *d)
{
    rpl_sb b;
    rpl_sb_init(&b, buf, cap);
    const char *le, *la;
    labels(d->kind, &le, &la);
    rpl_sb_put(&b, "%s: %s %s, %s %s", d->subject, le, d->expected, la, d->actual);
    if (d->detail[0])
        rpl_sb_put(&b, " (%s)", d->detail);
    return b.n;
}

static void add_ms(rpl_str *s, int64_t ns)
{
    const char *sign = ns < 0 ? "-" : "+";
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    rpl_str_add(s, "%s%" PRIu64 ".%06" PRIu64 " ms", sign, a / 1000000u, a % 1000000u);
}

void rpl_report_divergence(rpl_str *s, const rpl_divergence *d)
{
    char msg[4 * RPL_TEXT];
    rpl_div_message(msg, sizeof msg, d);
    if (d->at_end)
        rpl_str_add(s, "divergence at the end of the trace (after record %" PRIu64 "): %s\n",
                    d->index ? d->index - 1 : 0, msg);
    else {
        rpl_str_add(s, "divergence at record %" PRIu64 " (seq %" PRIu64 ", t=", d->index, d->seq);
        add_ms(s, d->t_rel);
        rpl_str_add(s, "): %s\n", msg);
    }
    if (d->after_loss)
        rpl_str_add(s, "  note: records were lost earlier in the trace\n");
    if (d->n_context) {
        rpl_str_add(s, "  before it:\n");
        for (unsigned i = 0; i < d->n_context; i++) {
            const rpl_ctx_line *c = &d->context[i];
            rpl_str_add(s, "    %8" PRIu64 "  seq %-8" PRIu64 " ", c->index, c->seq);
            add_ms(s, c->t_rel);
            rpl_str_add(s, "  %s\n", c->text);
        }
    }
}

void rpl_report_text(rpl_str *s, const rpl_replay *r, const char *file)
{
    const rpl_summary *sm = rpl_get_summary(r);
    for (uint64_t i = 0; i < sm->kept; i++) {
        if (i)
            rpl_str_add(s, "\n");
        rpl_report_divergence(s, rpl_divergence_at(r, i));
    }
    if (sm->divergences > sm->kept && sm->kept > 0 && !sm->stopped)
        rpl_str_add(s, "(%" PRIu64 " more divergences not shown)\n", sm->divergences - sm->kept);
    uint64_t nl = sm->n_limits < RPL_MAX_LIMITS ? sm->n_limits : RPL_MAX_LIMITS;
    if (nl) {
        rpl_str_add(s, "%slimits of this replay:\n", sm->kept ? "\n" : "");
        for (uint64_t i = 0; i < nl; i++) {
            const rpl_limit *l = rpl_limit_at(r, i);
            rpl_str_add(s, "  record %" PRIu64 ": %s", l->index, l->text);
            if (l->kind != RPL_LIMIT_LOST && l->count > 1)
                rpl_str_add(s, " (%" PRIu64 " times)", l->count);
            rpl_str_add(s, "\n");
        }
        if (sm->n_limits > nl)
            rpl_str_add(s, "  (%" PRIu64 " more)\n", sm->n_limits - nl);
    }
    (void)file;
    if (sm->stopped)
        rpl_str_add(s,
                    "%" PRIu64 " records replayed, stopped at the first divergence (--all "
                    "continues)\n",
                    sm->records);
    else
        rpl_str_add(s, "%" PRIu64 " records replayed, %" PRIu64 " divergence%s", sm->records,
                    sm->divergences, sm->divergences == 1 ? "" : "s");
    if (!sm->stopped) {
        if (sm->unverified)
            rpl_str_add(s, ", %" PRIu64 " checks unverified after lost records", sm->unverified);
        if (sm->digest_unverified)
            rpl_str_add(s,
                        ", %" PRIu64 " bytes of transfers digested and verified, %" PRIu64
                        " not verified (digest policy)",
                        sm->digest_bytes, sm->digest_unverified);
        if (sm->lost_records)
            rpl_str_add(s, " (%" PRIu64 " records lost in the trace)", sm->lost_records);
        rpl_str_add(s, "\n");
    }
}

void rpl_report_json(rpl_str *s, const rpl_replay *r, const char *file, const char *mode,
                     const char *error)
{
    const rpl_summary *sm = rpl_get_summary(r);
    char e[96];
    rpl_str_add(s, "{\"format\":\"dmatrace-replay-1\",\"file\":");
    rpl_str_json(s, file ? file : "");
    rpl_str_add(s, ",\"mode\":");
    rpl_str_json(s, mode ? mode : "model");
    rpl_str_add(s,
                ",\"records\":%" PRIu64 ",\"divergences\":%" PRIu64 ",\"stopped\":%s"
                ",\"unverified\":%" PRIu64 ",\"reordered\":%" PRIu64
                ",\"strict_order\":%s,\"lost_records\":%" PRIu64,
                sm->records, sm->divergences, sm->stopped ? "true" : "false", sm->unverified,
                sm->reordered, sm->strict_order ? "true" : "false", sm->lost_records);
    rpl_str_add(s, ",\"error\":");
    if (error)
        rpl_str_json(s, error);
    else
        rpl_str_add(s, "null");
    rpl_str_add(s, ",\"model\":{\"revision\":%u,\"errata\":", sm->model.revision);
    rpl_str_json(s, rpl_errata_names(sm->model.errata, e, sizeof e));
    rpl_str_add(
        s, ",\"errata_bits\":%u,\"addr_bits\":%u,\"devmem_size\":%" PRIu64 ",\"from_trace\":%s}",
        sm->model.errata, sm->model.addr_bits, sm->model.devmem_size,
        sm->model_from_trace ? "true" : "false");
    rpl_str_add(
        s,
        ",\"checks\":{\"reg_reads\":%" PRIu64 ",\"reg_writes\":%" PRIu64 ",\"interrupts\":%" PRIu64
        ",\"digests\":%" PRIu64 ",\"sg_lists\":%" PRIu64 ",\"sg_elements\":%" PRIu64
        ",\"descriptors\":%" PRIu64 ",\"program\":%" PRIu64 ",\"runs\":%" PRIu64
        ",\"digest_bytes\":%" PRIu64 ",\"digest_unverified_bytes\":%" PRIu64 "}",
        sm->reg_reads, sm->reg_writes, sm->interrupts, sm->digests, sm->sg_lists, sm->sg_elements,
        sm->descriptors, sm->program_checks, sm->runs, sm->digest_bytes, sm->digest_unverified);
    rpl_str_add(s, ",\"limits_total\":%" PRIu64 ",\"limits\":[", sm->n_limits);
    uint64_t nl = sm->n_limits < RPL_MAX_LIMITS ? sm->n_limits : RPL_MAX_LIMITS;
    for (uint64_t i = 0; i < nl; i++) {
        const rpl_limit *l = rpl_limit_at(r, i);
        rpl_str_add(s, "%s{\"kind\":\"%s\",\"record\":%" PRIu64 ",\"count\":%" PRIu64, i ? "," : "",
                    rpl_limit_kind_name(l->kind), l->index, l->count);
        if (l->kind == RPL_LIMIT_LOST)
            rpl_str_add(s, ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64, l->first_seq,
                        l->last_seq);
        rpl_str_add(s, ",\"text\":");
        rpl_str_json(s, l->text);
        rpl_str_add(s, "}");
    }
    rpl_str_add(s, "],\"divergence_list\":[");
    for (uint64_t i = 0; i < sm->kept; i++) {
        const rpl_divergence *d = rpl_divergence_at(r, i);
        char msg[4 * RPL_TEXT];
        rpl_div_message(msg, sizeof msg, d);
        rpl_str_add(s,
                    "%s{\"record\":%" PRIu64 ",\"seq\":%" PRIu64 ",\"t_ns\":%" PRId64
                    ",\"kind\":\"%s\",\"record_kind\":",
                    i ? "," : "", d->index, d->seq, d->t_rel, rpl_div_kind_name(d->kind));
        const char *rk = dmt_kind_name(d->record_kind);
        rpl_str_json(s, rk ? rk : "");
        rpl_str_add(s, ",\"subject\":");
        rpl_str_json(s, d->subject);
        rpl_str_add(s, ",\"expected\":");
        rpl_str_json(s, d->expected);
        rpl_str_add(s, ",\"actual\":");
        rpl_str_json(s, d->actual);
        rpl_str_add(s, ",\"detail\":");
        rpl_str_json(s, d->detail);
        rpl_str_add(s, ",\"message\":");
        rpl_str_json(s, msg);
        rpl_str_add(s, ",\"after_loss\":%s,\"at_end\":%s,\"context\":[",
                    d->after_loss ? "true" : "false", d->at_end ? "true" : "false");
        for (unsigned k = 0; k < d->n_context; k++) {
            const rpl_ctx_line *c = &d->context[k];
            rpl_str_add(
                s, "%s{\"record\":%" PRIu64 ",\"seq\":%" PRIu64 ",\"t_ns\":%" PRId64 ",\"text\":",
                k ? "," : "", c->index, c->seq, c->t_rel);
            rpl_str_json(s, c->text);
            rpl_str_add(s, "}");
        }
        rpl_str_add(s, "]}");
    }
    rpl_str_add(s, "]}\n");
}

/*
 * audit_findings.c - how the audit engine builds and emits a finding
 * (audit_internal.h): start it at the current record when its rule is on,
 * name the records that are its evidence (sorted, without repeats), say
 * what it is, mark it uncertain with the first reason that applies, then
 * count it and hand it to the caller's sink.
 *
 * Uncertainty: a LOST record may hide any record, so a finding whose
 * evidence spans records is uncertain when a LOST record lies inside that
 * span (aud_flost_since); a finding about an object the engine never saw
 * created is uncertain when records were lost before, a pool evicted
 * objects, or the trace started after sequence 0 (aud_funknown).
 */
#include "audit_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool aud_fstart(dmt_audit *a, dmt_finding *f, unsigned rule)
{
    if (!((a->cfg.rules >> rule) & 1u))
        return false;
    memset(f, 0, sizeof *f);
    f->rule = rule;
    f->severity = dmt_audit_rules()[rule].severity;
    f->index = a->cur_index;
    f->seq = a->cur_seq;
    f->ts = a->cur_ts;
    f->cpu = a->cur_cpu;
    f->refs[0] = a->cur_seq;
    f->n_refs = a->have_record ? 1 : 0;
    return true;
}

void aud_fref(dmt_finding *f, uint64_t seq)
{
    if (seq == AUD_NONE)
        return;
    for (uint32_t i = 0; i < f->n_refs; i++)
        if (f->refs[i] == seq)
            return;
    if (f->n_refs == DMT_AUDIT_MAX_REFS)
        return;
    uint32_t i = f->n_refs++;
    while (i > 0 && f->refs[i - 1] > seq) {
        f->refs[i] = f->refs[i - 1];
        i--;
    }
    f->refs[i] = seq;
}

void aud_fmsg(dmt_finding *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
}

void aud_funsure(dmt_finding *f, const char *fmt, ...)
{
    if (f->uncertain)
        return;
    va_list ap;
    f->uncertain = true;
    va_start(ap, fmt);
    vsnprintf(f->uncertain_why, sizeof f->uncertain_why, fmt, ap);
    va_end(ap);
}

void aud_flost_since(const dmt_audit *a, dmt_finding *f, uint64_t since)
{
    if (a->last_lost_seq != AUD_NONE && (since == AUD_NONE || a->last_lost_seq >= since))
        aud_funsure(f, "records lost at seq %" PRIu64, a->last_lost_seq);
}

void aud_funknown(const dmt_audit *a, dmt_finding *f, uint64_t evictions)
{
    if (a->last_lost_seq != AUD_NONE)
        aud_funsure(f, "records lost at seq %" PRIu64, a->last_lost_seq);
    else if (evictions)
        aud_funsure(f, "a tracking cap was reached (%" PRIu64 " objects dropped)", evictions);
    else if (a->late_start)
        aud_funsure(f, "the trace starts at sequence %" PRIu64 ", not 0", a->first_seq);
}

void aud_fcut(const dmt_audit *a, dmt_finding *f)
{
    if (a->cut)
        aud_funsure(f, "the trace was cut (no END record)");
}

void aud_fxfer(dmt_finding *f, const xfer *x, uint32_t dev)
{
    f->adapter = x->adapter;
    f->dev = dev;
    f->xfer = x->id;
    f->mdl = x->mdl;
}

void aud_fsend(dmt_audit *a, dmt_finding *f)
{
    a->st.findings++;
    a->st.by_rule[f->rule]++;
    if (f->uncertain)
        a->st.uncertain++;
    if (a->cfg.sink)
        a->cfg.sink(a->cfg.user, f);
}

static int64_t order_ns(const dmt_audit *a)
{
    return a->cfg.cpu_order_ns ? a->cfg.cpu_order_ns : DMT_AUDIT_DEF_CPU_ORDER_NS;
}

/* Uncertain when the records (s1, c1, t1) and (s2, c2, t2) were made on
 * different CPUs within the ordering uncertainty w. */
static void order_unsure(dmt_finding *f, int64_t w, uint64_t s1, uint32_t c1, int64_t t1,
                         uint64_t s2, uint32_t c2, int64_t t2)
{
    uint64_t d = t1 > t2 ? (uint64_t)t1 - (uint64_t)t2 : (uint64_t)t2 - (uint64_t)t1;
    if (w < 0 || c1 == DMT_CPU_NONE || c2 == DMT_CPU_NONE || c1 == c2 || d > (uint64_t)w)
        return;
    aud_funsure(f,
                "seq %" PRIu64 " on CPU %u and seq %" PRIu64 " on CPU %u are %" PRIu64
                " ns apart: may have run in the other order",
                s1 < s2 ? s1 : s2, s1 < s2 ? c1 : c2, s1 < s2 ? s2 : s1, s1 < s2 ? c2 : c1, d);
}

void aud_forder(const dmt_audit *a, dmt_finding *f, uint64_t seq, uint32_t cpu, int64_t ts)
{
    if (seq != AUD_NONE)
        order_unsure(f, order_ns(a), seq, cpu, ts, a->cur_seq, a->cur_cpu, a->cur_ts);
}

void aud_fhold(dmt_audit *a, dmt_finding *f, uint32_t key)
{
    if (f->cpu == DMT_CPU_NONE || order_ns(a) < 0) {
        aud_fsend(a, f);
        return;
    }
    if (a->n_held == AUD_HELD_MAX) { /* the oldest goes as it is */
        aud_fsend(a, &a->held[0].f);
        memmove(&a->held[0], &a->held[1], sizeof a->held[0] * (AUD_HELD_MAX - 1));
        a->n_held--;
    }
    a->held[a->n_held].f = *f;
    a->held[a->n_held].key = key;
    a->n_held++;
}

void aud_held_resolve(dmt_audit *a, unsigned rule, uint32_t key)
{
    for (uint32_t i = 0; i < a->n_held; i++) {
        held *h = &a->held[i];
        if (h->f.rule == rule && h->key == key)
            order_unsure(&h->f, order_ns(a), h->f.seq, h->f.cpu, h->f.ts, a->cur_seq, a->cur_cpu,
                         a->cur_ts);
    }
}

void aud_held_release(dmt_audit *a, bool all)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < a->n_held; i++) {
        held *h = &a->held[i];
        /* (no overflow: times are any int64) */
        if (all || (a->cur_ts > h->f.ts &&
                    (uint64_t)a->cur_ts - (uint64_t)h->f.ts > (uint64_t)order_ns(a)))
            aud_fsend(a, &h->f);
        else
            a->held[k++] = *h;
    }
    a->n_held = k;
}

const char *aud_dir_name(bool known, bool wtd)
{
    return !known ? "direction unknown" : wtd ? "to device" : "from device";
}

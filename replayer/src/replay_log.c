/*
 * replay_log.c - the replay engine's divergence log: the window of recent
 * records kept for context, divergences (started at the current record,
 * kept up to opts.keep, emitted in record order) and suspects, checks
 * decided only after their record (see replay.c).
 *
 *   check fails --> div_init (context) --> emit --+--> keep (list, summary)
 *                                                 '--> held, while an earlier
 *                                                      suspect is open
 *   suspect_close(confirm) --> its divergence --> flush_held
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/describe.h"
#include "replay_engine.h"

/* ---- the context window ------------------------------------------------------- */

void win_push(rpl_replay *r, const dmt_record *rec)
{
    winrec *w = &r->win[r->cur & (WIN - 1)];
    w->index = r->cur;
    if (rec->kind == DMT_K_REG_WRITE || rec->kind == DMT_K_REG_READ) {
        w->compact = true;
        w->c.kind = rec->kind;
        w->c.dev = rec->dev;
        w->c.width = rec->width;
        w->c.ts = rec->ts;
        w->c.seq = rec->seq;
        w->c.off = rec->off;
        w->c.value = rec->value;
        return;
    }
    w->compact = false;
    w->r = *rec;
    if (rec->n_sg && rec->sg_list) {
        size_t stride = rec->sg_stride ? rec->sg_stride : sizeof(dmt_sg_elem);
        uint32_t n = rec->n_sg < WIN_ITEMS ? rec->n_sg : WIN_ITEMS;
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *e = (const uint8_t *)rec->sg_list + i * stride;
            memcpy(&w->sg[i].addr, e, 8);
            memcpy(&w->sg[i].len, e + 8, 4);
        }
        w->r.sg_list = w->sg;
        w->r.sg_stride = sizeof(dmt_sg_elem);
    } else {
        w->r.sg_list = NULL;
    }
    if (rec->n_values && rec->values) {
        uint32_t n = rec->n_values < WIN_ITEMS ? rec->n_values : WIN_ITEMS;
        memcpy(w->values, rec->values, n * sizeof(uint64_t));
        w->r.values = w->values;
    } else {
        w->r.values = NULL;
    }
    if (rec->n_bytes && rec->bytes) {
        uint32_t n = rec->n_bytes < sizeof w->bytes ? rec->n_bytes : (uint32_t)sizeof w->bytes;
        memcpy(w->bytes, rec->bytes, n);
        w->r.bytes = w->bytes;
        /* describe prints a marker's whole text but only the first 4 *
         * WIN_ITEMS bytes of other byte strings (with their full count) */
        if (rec->kind != DMT_K_DESC_WRITE && rec->kind != DMT_K_PAYLOAD)
            w->r.n_bytes = n;
    } else {
        w->r.bytes = NULL;
    }
}

/* Describe the records [cur - n, cur) still in the window (oldest first). */
unsigned ctx_capture(rpl_replay *r, rpl_ctx_line *out, uint64_t cur)
{
    unsigned want = r->o.context;
    if (want > RPL_MAX_CONTEXT)
        want = RPL_MAX_CONTEXT;
    uint64_t first = cur > want ? cur - want : 0;
    unsigned n = 0;
    for (uint64_t i = first; i < cur; i++) {
        const winrec *w = &r->win[i & (WIN - 1)];
        if (w->index != i)
            continue;
        dmt_record tmp;
        const dmt_record *rec = &w->r;
        if (w->compact) {
            memset(&tmp, 0, sizeof tmp);
            tmp.kind = w->c.kind;
            tmp.dev = w->c.dev;
            tmp.width = w->c.width;
            tmp.ts = w->c.ts;
            tmp.seq = w->c.seq;
            tmp.off = w->c.off;
            tmp.value = w->c.value;
            rec = &tmp;
        }
        rpl_ctx_line *c = &out[n++];
        c->index = i;
        c->seq = rec->seq;
        c->t_rel = rec->ts - r->t0;
        dmt_record_describe(c->text, sizeof c->text, rec, WIN_ITEMS);
    }
    return n;
}

/* ---- divergences -------------------------------------------------------------- */

/* Start a divergence at the current record (context filled). */
void div_init(rpl_replay *r, rpl_divergence *d, int kind)
{
    memset(d, 0, sizeof *d);
    d->index = r->cur;
    d->seq = r->rec ? r->rec->seq : 0;
    d->t_rel = r->rec ? r->rec->ts - r->t0 : 0;
    d->kind = kind;
    d->record_kind = r->rec ? r->rec->kind : 0;
    d->after_loss = r->after_loss;
    d->n_context = ctx_capture(r, d->context, r->cur);
}

void rpl__div_set(char field[RPL_TEXT], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(field, RPL_TEXT, fmt, ap);
    va_end(ap);
}

void keep(rpl_replay *r, const rpl_divergence *d)
{
    r->sum.divergences++;
    if (r->sum.kept < r->o.keep) {
        if (r->sum.kept == r->kept_cap) {
            uint64_t nc = r->kept_cap ? r->kept_cap * 2 : 8;
            if (nc > r->o.keep)
                nc = r->o.keep;
            rpl_divergence *p = realloc(r->kept, nc * sizeof *p);
            if (p) {
                r->kept = p;
                r->kept_cap = nc;
            }
        }
        if (r->sum.kept < r->kept_cap)
            r->kept[r->sum.kept++] = *d;
    }
    if (!r->o.all)
        r->sum.stopped = true;
}

static uint64_t min_open_suspect(const rpl_replay *r)
{
    uint64_t m = UINT64_MAX;
    for (unsigned i = 0; i < MAX_SUSPECTS; i++)
        if (r->sus[i].open && r->sus[i].index < m)
            m = r->sus[i].index;
    return m;
}

static int cmp_div(const void *a, const void *b)
{
    const rpl_divergence *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Emit held divergences no open suspect precedes. */
void flush_held(rpl_replay *r, bool all)
{
    if (!r->nheld)
        return;
    qsort(r->held, r->nheld, sizeof *r->held, cmp_div);
    uint64_t lim = all ? UINT64_MAX : min_open_suspect(r);
    unsigned k = 0;
    while (k < r->nheld && r->held[k].index < lim && !r->sum.stopped)
        keep(r, &r->held[k++]);
    if (r->sum.stopped)
        k = r->nheld;
    memmove(r->held, r->held + k, (r->nheld - k) * sizeof *r->held);
    r->nheld -= k;
}

void emit(rpl_replay *r, const rpl_divergence *d)
{
    if (r->sum.stopped)
        return;
    if (d->index < min_open_suspect(r) && r->nheld == 0) {
        keep(r, d);
        return;
    }
    if (r->nheld == MAX_HELD)
        flush_held(r, true); /* bounded: give up ordering against very old suspects */
    if (r->sum.stopped)
        return;
    r->held[r->nheld++] = *d;
    flush_held(r, false);
}

/* A failed check: a divergence, or an unverified check in a loss window. */
void check_failed(rpl_replay *r, const rpl_divergence *d, bool tainted)
{
    if (tainted) {
        r->sum.unverified++;
        note(r, NK_UNVERIFIED, RPL_LIMIT_UNVERIFIED,
             "checks after lost records disagree with the model and cannot be verified "
             "(first: %s)",
             d->subject);
        return;
    }
    emit(r, d);
}

int suspect_open(rpl_replay *r, bool irq, uint32_t xfer, uint64_t deadline)
{
    for (unsigned i = 0; i < MAX_SUSPECTS; i++) {
        if (!r->sus[i].open) {
            suspect_t *s = &r->sus[i];
            r->nsus_open++;
            s->open = true;
            s->irq = irq;
            s->xfer = xfer;
            s->index = r->cur;
            s->deadline = deadline;
            return (int)i;
        }
    }
    return -1;
}

void suspect_close(rpl_replay *r, int i, bool confirm)
{
    if (i < 0 || !r->sus[i].open)
        return;
    r->sus[i].open = false;
    r->nsus_open--;
    if (confirm && !r->sum.stopped) {
        /* it precedes everything held; held ones that precede other suspects wait */
        rpl_divergence d = r->sus[i].d;
        if (d.index < min_open_suspect(r)) {
            keep(r, &d);
        } else {
            if (r->nheld == MAX_HELD)
                flush_held(r, true);
            if (!r->sum.stopped)
                r->held[r->nheld++] = d;
        }
    }
    flush_held(r, false);
}

/*
 * audit_prog.c - the audit rules on how the device was programmed
 * (audit_internal.h).  A device model plug-in (audit_dmm.c) reports, from
 * the register writes it observes, when a channel was started on a
 * descriptor ring (doorbell) and when it signalled the end or was reset.
 * At a doorbell the descriptors are read from the shadow of the common
 * buffer holding the ring and compared with the SG list of the adapter's
 * current transfer:
 *
 *   doorbell  prog-ring-outside-cb, use-after-complete, prog-mismatch,
 *             prog-duplicate, transfer-exceeds-* (programmed bytes)
 *   DONE/STOP the channel's transfer was signalled (or abandoned)
 *
 * The evidence of a comparison starts at the oldest write of the bytes
 * compared (the shadow's per-slot sequence numbers): a record lost after
 * it may have been a newer write.
 */
#include "audit_internal.h"

#include <inttypes.h>
#include <string.h>

/* The allocated common buffer holding all `bytes` from ring_addr, or NULL. */
static cbuf *ring_buffer(dmt_audit *a, uint64_t ring_addr, uint64_t bytes)
{
    cbuf *k;
    for (uint32_t s = 0; (k = aud_pool_next(&a->cb_p, &s)) != NULL;)
        if (ring_addr >= k->addr && ring_addr - k->addr < k->length &&
            bytes <= k->length - (ring_addr - k->addr))
            return k;
    return NULL;
}

/* prog-mismatch / prog-duplicate: `count` of `what` at the doorbell. */
static void prog_finding(dmt_audit *a, unsigned rule, const dmt_audit_dev_event *ev, const xfer *x,
                         const cbuf *c, const char *what, uint32_t count, const char *suffix)
{
    dmt_finding f;
    if (!aud_fstart(a, &f, rule))
        return;
    aud_fxfer(&f, x, ev->dev);
    f.cb = c->id;
    aud_fref(&f, x->exec_seq);
    aud_fref(&f, c->last_desc_seq);
    if (rule == DMT_R_PROG_MISMATCH)
        aud_fmsg(&f, "xfer %u: %s (%u of %u %s)", x->id, what, count, ev->count, suffix);
    else
        aud_fmsg(&f, "xfer %u: %s (%u %s)", x->id, what, count, suffix);
    aud_flost_since(a, &f, x->prog_since);
    aud_fsend(a, &f);
}

/* The adapter's current transfer, unless the doorbell came after its
 * CompleteDma (use-after-complete) or there is none to compare with. */
static xfer *doorbell_xfer(dmt_audit *a, const dmt_audit_dev_event *ev, const cbuf *c)
{
    adapter *d = aud_ad_get(a, c->adapter);
    if (!d || !d->current)
        return NULL; /* no transfer to compare with */
    dmt_finding f;
    if (d->current_done) {
        if (aud_fstart(a, &f, DMT_R_USE_AFTER_COMPLETE)) {
            f.dev = ev->dev;
            f.adapter = d->id;
            f.xfer = d->current;
            f.cb = c->id;
            aud_fref(&f, d->current_done_seq);
            aud_fref(&f, c->last_desc_seq);
            aud_fmsg(&f,
                     "device %u channel %u started from xfer %u's descriptors after its "
                     "CompleteDma (seq %" PRIu64 ")",
                     ev->dev, ev->channel, d->current, d->current_done_seq);
            aud_flost_since(a, &f, d->current_done_seq);
            aud_forder(a, &f, d->current_done_seq, d->current_done_cpu, d->current_done_ts);
            aud_fsend(a, &f);
        }
        return NULL;
    }
    xfer *x = aud_xf_get(a, d->current);
    return x && !x->abandoned && x->executed ? x : NULL;
}

static void on_doorbell(dmt_audit *a, const dmt_audit_dev_event *ev, int model)
{
    dmt_finding f;
    a->st.doorbells++;
    if (ev->count == 0 || ev->desc_size == 0 || ev->count > DMT_MAX_SG_ELEMENTS)
        return; /* the device refuses it: nothing moves */
    uint64_t bytes = (uint64_t)ev->count * ev->desc_size;
    cbuf *c = ring_buffer(a, ev->ring_addr, bytes);
    if (!c) {
        if (aud_fstart(a, &f, DMT_R_PROG_RING_OUTSIDE_CB)) {
            f.dev = ev->dev;
            aud_fmsg(&f,
                     "device %u channel %u started on %u descriptors at 0x%" PRIx64
                     ", outside every allocated common buffer",
                     ev->dev, ev->channel, ev->count, ev->ring_addr);
            aud_funknown(a, &f, a->cb_p.evictions);
            aud_fsend(a, &f);
        }
        return;
    }
    xfer *x = doorbell_xfer(a, ev, c);
    if (!x)
        return;
    chanst *ch = aud_chan_get(a, ev->dev, ev->channel, true);
    if (ch)
        ch->xfer = x->id;
    x->programmed = true;
    x->signalled = x->stopped = false;
    x->doorbell_seq = a->cur_seq;
    x->desc_seq = c->last_desc_seq;
    x->dev = ev->dev;
    x->chan = ev->channel;
    x->has_chan = true;
    uint64_t off = ev->ring_addr - c->addr;
    if (c->shadow < 0 || off >= DMT_AUDIT_SHADOW_BYTES || bytes > DMT_AUDIT_SHADOW_BYTES - off ||
        !aud_shadow_covers(&a->sh[c->shadow], off, bytes) || !x->sg) {
        x->prog_unverified = true;
        a->st.programs_unverified++;
        return;
    }
    const uint64_t *ss = a->sh[c->shadow].slot_seq;
    uint64_t oldest = x->exec_seq;
    for (uint64_t k = off / AUD_SHADOW_SLOT; k <= (off + bytes - 1) / AUD_SHADOW_SLOT; k++)
        if (ss[k] < oldest)
            oldest = ss[k];
    if (oldest < x->prog_since)
        x->prog_since = oldest;
    const uint8_t *p = a->sh[c->shadow].bytes + off;
    for (uint32_t i = 0; i < ev->count; i++)
        a->desc_ok[i] = a->devices[model]->decode(a->dev_state[model], ev->dev,
                                                  p + (size_t)i * ev->desc_size, &a->desc[i]);
    aud_prog_result res;
    memset(&res, 0, sizeof res);
    if (!aud_prog_compare(x->sg, a->desc, a->desc_ok, ev->count, &res)) {
        x->prog_unverified = true;
        a->st.programs_unverified++;
        return;
    }
    a->st.programs_checked++;
    x->prog_bytes += res.bytes;
    if (res.mismatches)
        prog_finding(a, DMT_R_PROG_MISMATCH, ev, x, c, res.first_mismatch, res.mismatches,
                     "descriptors differ from the SG list");
    if (res.duplicates)
        prog_finding(a, DMT_R_PROG_DUPLICATE, ev, x, c, res.first_duplicate, res.duplicates,
                     "descriptor(s) programmed twice");
    if (x->prog_bytes > x->granted)
        aud_check_size(a, x, aud_ad_get(a, c->adapter), x->prog_bytes, "programmed",
                       c->last_desc_seq, x->prog_since);
}

void aud_on_dev_event(void *engine, const dmt_audit_dev_event *ev)
{
    dmt_audit *a = engine;
    if (ev->type == DMT_AEV_DOORBELL) {
        int model = aud_model_of(a, ev->dev);
        if (model >= 0)
            on_doorbell(a, ev, model);
        return;
    }
    if (ev->type == DMT_AEV_DONE)
        aud_held_resolve(a, DMT_R_COMPLETE_BEFORE_INTERRUPT, ev->dev);
    chanst *ch = aud_chan_get(a, ev->dev, ev->channel, false);
    xfer *x = ch ? aud_xf_get(a, ch->xfer) : NULL;
    if (!x)
        return;
    if (ev->type == DMT_AEV_DONE)
        x->signalled = true;
    else if (ev->type == DMT_AEV_STOP)
        x->stopped = true;
}

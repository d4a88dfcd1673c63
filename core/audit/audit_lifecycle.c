/*
 * audit_lifecycle.c - the audit rules about the objects around transfers
 * (audit_internal.h): adapters (GetDmaAdapter .. PutDmaAdapter), locked
 * buffers (MDLs), common buffers and the shadow of the descriptor bytes the
 * driver writes into them.
 *
 *   ADAPTER_CREATE   an id used again after its put starts a new adapter
 *   any use          adapter-after-put (once per adapter)
 *   PUT adapter      adapter-after-put (a second put), leak-sglist,
 *                    leak-common-buffer
 *   UNLOCK           complete-missing, prog-skipped (suffix), unlock-unknown-mdl
 *   COMMON_RELEASE   cb-release-unknown
 *   DESC_WRITE       the shadow of the first DMT_AUDIT_SHADOW_BYTES bytes,
 *                    with, per AUD_SHADOW_SLOT bytes, the sequence number of
 *                    the write that last touched them (audit_prog.c reads it)
 */
#include "audit_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared with the other rules ------------------------------------------------ */

adapter *aud_adapter_use(dmt_audit *a, uint32_t id, const char *what)
{
    if (!id)
        return NULL;
    adapter *d = aud_ad_get(a, id);
    if (!d)
        return aud_pool_new(a, &a->ad_p, id);
    if (d->released && !d->after_put_reported) {
        dmt_finding f;
        d->after_put_reported = true;
        if (aud_fstart(a, &f, DMT_R_ADAPTER_AFTER_PUT)) {
            f.adapter = id;
            f.dev = d->dev;
            aud_fref(&f, d->release_seq);
            aud_fmsg(&f, "%s on adapter %u after its PutDmaAdapter", what, id);
            aud_fsend(a, &f);
        }
    }
    return d;
}

bool aud_mdl_seen(const dmt_audit *a, uint32_t id)
{
    return id && id >= a->min_mdl && id <= a->max_mdl;
}

/* The unprogrammed suffix left by the last transfer on m: judged when the
 * next StartDma on m shows where the driver went on (next_offset), or at
 * UnlockBuffer (next_offset = AUD_NONE: the driver is done with the buffer). */
void aud_judge_suffix(dmt_audit *a, mdl *m, uint64_t next_offset)
{
    if (!m->pend)
        return;
    m->pend = false;
    uint64_t expect = m->pend_expect, end = m->pend_end;
    if (expect >= end)
        return;
    if (next_offset != AUD_NONE && next_offset <= expect)
        return; /* the driver went on from where programming stopped: a short chunk */
    uint64_t stop = next_offset != AUD_NONE && next_offset < end ? next_offset : end;
    dmt_finding f;
    if (!aud_fstart(a, &f, DMT_R_PROG_SKIPPED))
        return;
    f.xfer = m->pend_xfer;
    f.mdl = m->id;
    aud_fref(&f, m->pend_seq);
    aud_fmsg(&f,
             "xfer %u: MDL %u bytes +0x%" PRIx64 "..+0x%" PRIx64
             " were granted but never programmed into the device, and the driver %s",
             m->pend_xfer, m->id, expect, stop,
             next_offset == AUD_NONE ? "unlocked the buffer" : "went on after them");
    aud_flost_since(a, &f, m->pend_since);
    aud_fsend(a, &f);
}

void aud_leak_sglist(dmt_audit *a, const xfer *x, const adapter *d)
{
    dmt_finding f;
    if (!aud_fstart(a, &f, DMT_R_LEAK_SGLIST))
        return;
    aud_fxfer(&f, x, d ? d->dev : x->dev);
    aud_fref(&f, x->exec_seq);
    if (d)
        aud_fmsg(&f,
                 "xfer %u: PutDmaAdapter of adapter %u while its SG list (%u elements) was "
                 "never completed",
                 x->id, d->id, x->sg ? x->sg->n : 0);
    else
        aud_fmsg(&f, "xfer %u (adapter %u): SG list still held at the end of the trace", x->id,
                 x->adapter);
    aud_flost_since(a, &f, x->exec_seq);
    if (!d)
        aud_fcut(a, &f);
    aud_fsend(a, &f);
}

void aud_leak_cb(dmt_audit *a, const cbuf *c, const adapter *d)
{
    dmt_finding f;
    if (!aud_fstart(a, &f, DMT_R_LEAK_COMMON_BUFFER))
        return;
    f.adapter = c->adapter;
    f.dev = d ? d->dev : 0;
    f.cb = c->id;
    aud_fref(&f, c->alloc_seq);
    if (d)
        aud_fmsg(&f,
                 "common buffer %u (0x%" PRIx64 "+0x%" PRIx64
                 ") never released before PutDmaAdapter of adapter %u",
                 c->id, c->addr, c->length, d->id);
    else
        aud_fmsg(&f,
                 "common buffer %u (0x%" PRIx64 "+0x%" PRIx64
                 ", adapter %u) still allocated at the end of the trace",
                 c->id, c->addr, c->length, c->adapter);
    aud_flost_since(a, &f, c->alloc_seq);
    if (!d)
        aud_fcut(a, &f);
    aud_fsend(a, &f);
}

/* A transfer whose buffer or adapter went away: out of flight, and its
 * CompleteDma, if it comes, says nothing new. */
static void abandon(dmt_audit *a, xfer *x)
{
    x->abandoned = true;
    aud_xf_leave(a, x);
}

/* ---- adapters ---------------------------------------------------------------------- */

void aud_on_adapter_create(dmt_audit *a, const dmt_record *r)
{
    adapter *d = aud_pool_get_or_new(a, &a->ad_p, r->adapter);
    if (!d)
        return;
    if (d->released) /* an id used again: a new adapter */
        aud_pool_reset(&a->ad_p, d);
    d->known = true;
    d->dev = r->dev;
    d->sg = r->sg;
    d->dma32 = r->dma32;
    d->dma64 = r->dma64;
    d->max_length = r->length;
    d->map_registers = r->map_registers;
    d->addr_limit = r->addr_limit;
    d->create_seq = a->cur_seq;
}

void aud_on_adapter_release(dmt_audit *a, const dmt_record *r)
{
    adapter *d = aud_ad_get(a, r->adapter);
    dmt_finding f;
    if (!d)
        return;
    if (d->released) {
        if (aud_fstart(a, &f, DMT_R_ADAPTER_AFTER_PUT)) {
            f.adapter = d->id;
            f.dev = d->dev;
            aud_fref(&f, d->release_seq);
            aud_fmsg(&f, "PutDmaAdapter of adapter %u a second time", d->id);
            aud_fsend(a, &f);
        }
        return;
    }
    /* SG lists still held: leaked with the adapter */
    xfer *x;
    for (uint32_t s = a->inflight_head; (x = aud_inflight_next(a, &s)) != NULL;) {
        if (x->adapter != d->id)
            continue;
        aud_leak_sglist(a, x, d);
        abandon(a, x);
    }
    /* common buffers still allocated */
    cbuf *c;
    for (uint32_t s = 0; (c = aud_pool_next(&a->cb_p, &s)) != NULL;) {
        if (c->adapter != d->id)
            continue;
        aud_leak_cb(a, c, d);
        aud_pool_remove(a, &a->cb_p, c);
    }
    d->released = true;
    d->release_seq = a->cur_seq;
}

/* ---- locked buffers ----------------------------------------------------------------- */

void aud_on_lock(dmt_audit *a, const dmt_record *r)
{
    if (!r->mdl)
        return;
    mdl *m = aud_pool_get_or_new(a, &a->md_p, r->mdl);
    if (!m)
        return;
    m->va = r->va;
    m->length = r->length;
    m->op = r->op;
    m->lock_seq = a->cur_seq;
    m->pend = false;
    if (r->mdl < a->min_mdl)
        a->min_mdl = r->mdl;
    if (r->mdl > a->max_mdl)
        a->max_mdl = r->mdl;
}

void aud_on_unlock(dmt_audit *a, const dmt_record *r)
{
    dmt_finding f;
    mdl *m = aud_md_get(a, r->mdl);
    if (!m) {
        if (aud_fstart(a, &f, DMT_R_UNLOCK_UNKNOWN_MDL)) {
            f.mdl = r->mdl;
            aud_fmsg(&f, "UnlockBuffer of MDL %u, %s", r->mdl,
                     aud_mdl_seen(a, r->mdl) ? "unlocked already" : "never locked in this trace");
            aud_funknown(a, &f, a->md_p.evictions);
            aud_fsend(a, &f);
        }
        return;
    }
    aud_judge_suffix(a, m, AUD_NONE);
    /* transfers on it still in flight: CompleteDma never came */
    xfer *x;
    for (uint32_t s = a->inflight_head; (x = aud_inflight_next(a, &s)) != NULL;) {
        if (x->mdl != m->id)
            continue;
        if (aud_fstart(a, &f, DMT_R_COMPLETE_MISSING)) {
            adapter *d = aud_ad_get(a, x->adapter);
            aud_fxfer(&f, x, d ? d->dev : 0);
            aud_fref(&f, x->exec_seq);
            aud_fref(&f, x->doorbell_seq);
            aud_fmsg(&f,
                     "xfer %u (adapter %u, %s): MDL %u unlocked without CompleteDma of its SG list",
                     x->id, x->adapter, aud_dir_name(x->dir_known, x->wtd), m->id);
            aud_flost_since(a, &f, x->exec_seq);
            aud_fsend(a, &f);
        }
        abandon(a, x);
    }
    aud_pool_remove(a, &a->md_p, m);
}

/* ---- common buffers and descriptor shadows ------------------------------------------- */

void aud_on_common_alloc(dmt_audit *a, const dmt_record *r)
{
    aud_adapter_use(a, r->adapter, "AllocateCommonBuffer");
    if (!r->cb)
        return;
    cbuf *c = aud_cb_get(a, r->cb);
    if (c)
        aud_pool_remove(a, &a->cb_p, c);
    c = aud_pool_new(a, &a->cb_p, r->cb);
    if (!c)
        return;
    c->adapter = r->adapter;
    c->addr = r->addr;
    c->length = r->length;
    c->alloc_seq = a->cur_seq;
}

void aud_on_common_release(dmt_audit *a, const dmt_record *r)
{
    adapter *d = aud_adapter_use(a, r->adapter, "ReleaseCommonBuffer");
    cbuf *c = aud_cb_get(a, r->cb);
    if (c) {
        aud_pool_remove(a, &a->cb_p, c);
        return;
    }
    dmt_finding f;
    if (aud_fstart(a, &f, DMT_R_CB_RELEASE_UNKNOWN)) {
        f.adapter = r->adapter;
        f.dev = d ? d->dev : 0;
        f.cb = r->cb;
        aud_fmsg(&f, "ReleaseCommonBuffer of common buffer %u, which is not allocated", r->cb);
        aud_funknown(a, &f, a->cb_p.evictions);
        aud_fsend(a, &f);
    }
}

/* A free shadow for c (its bytes allocated at first use, all or none);
 * false when none is free (counted) or on OOM (a->oom). */
static bool shadow_take(dmt_audit *a, cbuf *c)
{
    for (uint32_t i = 0; i < a->cfg.max_shadow_cbs; i++) {
        shadow *s = &a->sh[i];
        if (s->used)
            continue;
        if (!s->bytes) {
            s->bytes = malloc(DMT_AUDIT_SHADOW_BYTES);
            s->written = malloc(DMT_AUDIT_SHADOW_BYTES / 8);
            s->slot_seq = malloc(sizeof(uint64_t) * (DMT_AUDIT_SHADOW_BYTES / AUD_SHADOW_SLOT));
            if (!s->bytes || !s->written || !s->slot_seq) {
                /* All or none: a later record must not find bytes set
                 * and written NULL.  dmt_audit_add reports it. */
                free(s->bytes);
                free(s->written);
                free(s->slot_seq);
                s->bytes = NULL;
                s->written = NULL;
                s->slot_seq = NULL;
                a->oom = true;
                return false;
            }
        }
        memset(s->written, 0, DMT_AUDIT_SHADOW_BYTES / 8);
        s->used = true;
        c->shadow = (int32_t)i;
        return true;
    }
    a->st.evicted++;
    return false;
}

void aud_on_desc_write(dmt_audit *a, const dmt_record *r)
{
    cbuf *c = aud_cb_get(a, r->cb);
    if (!c || r->offset >= DMT_AUDIT_SHADOW_BYTES || r->n_bytes == 0)
        return;
    if (c->shadow < 0 && !shadow_take(a, c))
        return;
    shadow *s = &a->sh[c->shadow];
    uint64_t n = r->n_bytes;
    if (n > DMT_AUDIT_SHADOW_BYTES - r->offset)
        n = DMT_AUDIT_SHADOW_BYTES - r->offset;
    memcpy(s->bytes + r->offset, r->bytes, (size_t)n);
    for (uint64_t i = r->offset; i < r->offset + n; i++)
        s->written[i >> 3] |= (uint8_t)(1u << (i & 7));
    for (uint64_t k = r->offset / AUD_SHADOW_SLOT; k <= (r->offset + n - 1) / AUD_SHADOW_SLOT; k++)
        s->slot_seq[k] = a->cur_seq;
    c->last_desc_seq = a->cur_seq;
}

bool aud_shadow_covers(const shadow *s, uint64_t off, uint64_t n)
{
    for (uint64_t i = off; i < off + n; i++)
        if (!(s->written[i >> 3] & (1u << (i & 7))))
            return false;
    return true;
}

/*
 * audit_transfer.c - the audit rules along one transfer's life
 * (audit_internal.h):
 *
 *   START_DMA     startdma-unlocked-mdl, lock-op-direction, startdma-beyond-mdl,
 *                 prog-skipped (the previous chunk's unprogrammed suffix)
 *   START_DMA_END a failed StartDma forgets the transfer
 *   EXECUTE_DMA   sg-* layout, addr-beyond-limit, transfer-exceeds-*,
 *                 inflight-overlap, concurrent-on-adapter   -> in flight
 *   COMPLETE_DMA  complete-twice, complete-before-interrupt, prog-skipped
 *                 (holes now; an unprogrammed suffix is left pending on the
 *                 MDL for the next StartDma or UnlockBuffer to judge)
 *
 * Layout findings are about one record's own contents and never uncertain;
 * the others are uncertain when records were lost inside their evidence.
 */
#include "audit_internal.h"

#include <inttypes.h>
#include <string.h>

#define OVERLAP_BUDGET (1u << 18) /* element lookups per ExecuteDma for inflight-overlap */

/* ---- StartDma ------------------------------------------------------------------------ */

/* Start a finding about the transfer a StartDma record names. */
static bool start_finding(dmt_audit *a, dmt_finding *f, unsigned rule, const dmt_record *r,
                          const adapter *d)
{
    if (!aud_fstart(a, f, rule))
        return false;
    f->adapter = r->adapter;
    f->dev = d ? d->dev : 0;
    f->xfer = r->xfer;
    f->mdl = r->mdl;
    return true;
}

/* The StartDma rules on the MDL it names. */
static void check_start_mdl(dmt_audit *a, const dmt_record *r, const adapter *d, mdl *m)
{
    dmt_finding f;
    if (!m) {
        if (start_finding(a, &f, DMT_R_STARTDMA_UNLOCKED_MDL, r, d)) {
            if (!r->mdl)
                aud_fmsg(&f, "xfer %u: StartDma on an MDL never returned by LockBuffer", r->xfer);
            else
                aud_fmsg(&f, "xfer %u: StartDma on MDL %u, %s", r->xfer, r->mdl,
                         aud_mdl_seen(a, r->mdl) ? "already unlocked"
                                                 : "never locked in this trace");
            aud_funknown(a, &f, a->md_p.evictions);
            aud_fsend(a, &f);
        }
        return;
    }
    aud_judge_suffix(a, m, r->offset);
    bool ok = r->write_to_device ? m->op != DMT_LOCK_WRITE : m->op != DMT_LOCK_READ;
    if (!ok && start_finding(a, &f, DMT_R_LOCK_OP_DIRECTION, r, d)) {
        aud_fref(&f, m->lock_seq);
        aud_fmsg(&f, "xfer %u: DMA %s (the device %s memory) on MDL %u locked with %s", r->xfer,
                 aud_dir_name(true, r->write_to_device), r->write_to_device ? "reads" : "writes",
                 m->id, m->op == DMT_LOCK_READ ? "VpReadAccess" : "VpWriteAccess");
        aud_fsend(a, &f);
    }
    if ((r->offset > m->length || r->length > m->length - r->offset) &&
        start_finding(a, &f, DMT_R_STARTDMA_BEYOND_MDL, r, d)) {
        aud_fref(&f, m->lock_seq);
        aud_fmsg(&f,
                 "xfer %u: StartDma Offset %" PRIu64 " + length %" PRIu64
                 " runs past MDL %u's %" PRIu64 " bytes",
                 r->xfer, r->offset, r->length, m->id, m->length);
        aud_fsend(a, &f);
    }
}

void aud_on_start(dmt_audit *a, const dmt_record *r)
{
    adapter *d = aud_adapter_use(a, r->adapter, "StartDma");
    mdl *m = aud_md_get(a, r->mdl);
    check_start_mdl(a, r, d, m);
    if (!r->xfer)
        return;
    xfer *x = aud_xf_get(a, r->xfer);
    if (x) /* an id used again */
        aud_xf_free(a, x);
    x = aud_xf_new(a, r->xfer);
    if (!x)
        return;
    a->st.transfers++;
    x->started = true;
    x->adapter = r->adapter;
    x->mdl = r->mdl;
    x->dir_known = true;
    x->wtd = r->write_to_device;
    x->offset = r->offset;
    x->requested = r->length;
    x->start_seq = a->cur_seq;
    if (m)
        x->first_page_off = (m->va + r->offset) & (DMT_PAGE_SIZE - 1);
}

void aud_on_start_end(dmt_audit *a, const dmt_record *r)
{
    xfer *x = aud_xf_get(a, r->xfer);
    if (x && !x->executed && r->status != 0)
        aud_xf_free(a, x); /* StartDma failed: no list, no CompleteDma */
}

/* ---- sizes ----------------------------------------------------------------------------- */

/* Pages a transfer of `bytes` starting at page offset `page_off` spans. */
static uint64_t span_pages(uint64_t page_off, uint64_t bytes)
{
    uint64_t b = aud_end(page_off, bytes);
    return b / DMT_PAGE_SIZE + (b % DMT_PAGE_SIZE != 0);
}

/* Start a transfer-exceeds-* finding about x on adapter d. */
static bool size_finding(dmt_audit *a, dmt_finding *f, unsigned rule, const xfer *x,
                         const adapter *d, uint64_t ref)
{
    if (!aud_fstart(a, f, rule))
        return false;
    f->adapter = d->id;
    f->dev = d->dev;
    f->xfer = x->id;
    f->mdl = x->mdl;
    aud_fref(f, ref);
    aud_fref(f, d->create_seq);
    return true;
}

static void size_send(dmt_audit *a, dmt_finding *f, uint64_t since)
{
    if (since != AUD_NONE)
        aud_flost_since(a, f, since);
    aud_fsend(a, f);
}

void aud_check_size(dmt_audit *a, xfer *x, const adapter *d, uint64_t bytes, const char *what,
                    uint64_t ref, uint64_t since)
{
    dmt_finding f;
    if (!d || !d->known)
        return;
    /* MaximumLength sizes the map registers: BYTES_TO_PAGES(MaximumLength) + 1
     * pages, so a transfer from page offset `off` may carry up to that many
     * pages minus off (the OS grants that much; ReactOS, the host VideoPort) */
    uint64_t off = x->first_page_off;
    if (!x->max_reported && d->max_length && off != AUD_NONE) {
        uint64_t pages = d->max_length / DMT_PAGE_SIZE + (d->max_length % DMT_PAGE_SIZE != 0) + 1;
        uint64_t allowed = pages * DMT_PAGE_SIZE - off;
        if (bytes > allowed && size_finding(a, &f, DMT_R_TRANSFER_EXCEEDS_MAX, x, d, ref)) {
            x->max_reported = true;
            aud_fmsg(&f,
                     "xfer %u: %s %" PRIu64 " bytes from page offset 0x%" PRIx64
                     ", more than adapter %u's MaximumLength %" PRIu64 " allows (%" PRIu64 ")",
                     x->id, what, bytes, off, d->id, d->max_length, allowed);
            size_send(a, &f, since);
        }
    }
    if (!x->nmr_reported && d->map_registers && off != AUD_NONE) {
        uint64_t pages = span_pages(off, bytes);
        if (pages > d->map_registers &&
            size_finding(a, &f, DMT_R_TRANSFER_EXCEEDS_MAP_REGISTERS, x, d, ref)) {
            x->nmr_reported = true;
            aud_fmsg(&f,
                     "xfer %u: %s %" PRIu64 " bytes from page offset 0x%" PRIx64 " span %" PRIu64
                     " pages, adapter %u has %u map registers",
                     x->id, what, bytes, off, pages, d->id, d->map_registers);
            size_send(a, &f, since);
        }
    }
}

/* ---- ExecuteDma ------------------------------------------------------------------------ */

static void check_layout(dmt_audit *a, xfer *x, adapter *d)
{
    dmt_finding f;
    uint64_t lim_ad = d && d->known && d->addr_limit ? d->addr_limit : UINT64_MAX;
    uint64_t lim_dev = d ? aud_device_limit(a, d->dev) : UINT64_MAX;
    uint64_t limit = lim_ad < lim_dev ? lim_ad : lim_dev;
    aud_layout L;
    aud_sg_layout(x->sg, limit, &L);
    const dmt_sg_elem *e = x->sg->e;
    uint32_t dev = d ? d->dev : 0;
    if (L.total != x->granted && aud_fstart(a, &f, DMT_R_SG_TOTAL_MISMATCH)) {
        aud_fxfer(&f, x, dev);
        aud_fref(&f, x->start_seq);
        aud_fmsg(&f, "xfer %u: %u elements total %" PRIu64 " bytes, granted *pLength is %" PRIu64,
                 x->id, x->sg->n, L.total, x->granted);
        aud_fsend(a, &f);
    }
    if (L.zero && aud_fstart(a, &f, DMT_R_SG_ZERO_LENGTH)) {
        aud_fxfer(&f, x, dev);
        aud_fmsg(&f, "xfer %u: %u zero-length element(s), first element %u at 0x%" PRIx64, x->id,
                 L.zero, L.zero_first, e[L.zero_first].addr);
        aud_fsend(a, &f);
    }
    if (L.cross && aud_fstart(a, &f, DMT_R_SG_CROSS_4G)) {
        aud_fxfer(&f, x, dev);
        aud_fmsg(&f,
                 "xfer %u: %u element(s) cross a 4 GiB boundary, first element %u 0x%" PRIx64
                 "+0x%x",
                 x->id, L.cross, L.cross_first, e[L.cross_first].addr, e[L.cross_first].len);
        aud_fsend(a, &f);
    }
    if (L.beyond && aud_fstart(a, &f, DMT_R_ADDR_BEYOND_LIMIT)) {
        aud_fxfer(&f, x, dev);
        aud_fref(&f, d ? d->create_seq : AUD_NONE);
        aud_fmsg(&f,
                 "xfer %u: %u element(s) end above the %s address limit 0x%" PRIx64
                 ", first element %u 0x%" PRIx64 "+0x%x",
                 x->id, L.beyond, lim_dev < lim_ad ? "device's" : "adapter's", limit,
                 L.beyond_first, e[L.beyond_first].addr, e[L.beyond_first].len);
        aud_fsend(a, &f);
    }
    if (L.overlap && aud_fstart(a, &f, DMT_R_SG_OVERLAP)) {
        aud_fxfer(&f, x, dev);
        aud_fmsg(&f,
                 "xfer %u: elements %u (0x%" PRIx64 "+0x%x) and %u (0x%" PRIx64
                 "+0x%x) cover the same bytes",
                 x->id, L.overlap_a, e[L.overlap_a].addr, e[L.overlap_a].len, L.overlap_b,
                 e[L.overlap_b].addr, e[L.overlap_b].len);
        aud_fsend(a, &f);
    }
}

static void check_inflight_overlap(dmt_audit *a, xfer *x)
{
    uint64_t budget = OVERLAP_BUDGET;
    bool exhausted = false;
    xfer *t;
    for (uint32_t s = a->inflight_head; !exhausted && (t = aud_inflight_next(a, &s)) != NULL;) {
        if (t == x || !t->sg)
            continue;
        bool writes = !x->dir_known || !t->dir_known || !x->wtd || !t->wtd;
        if (!writes)
            continue;
        uint32_t ea, eb;
        if (!aud_sg_overlap(t->sg, x->sg, &budget, &exhausted, &ea, &eb)) {
            if (exhausted)
                a->st.checks_truncated++;
            continue;
        }
        dmt_finding f;
        if (!aud_fstart(a, &f, DMT_R_INFLIGHT_OVERLAP))
            continue;
        aud_fxfer(&f, x, 0);
        aud_fref(&f, t->exec_seq);
        aud_fmsg(&f,
                 "xfer %u (%s) element %u 0x%" PRIx64
                 "+0x%x overlaps xfer %u (%s) element %u 0x%" PRIx64 "+0x%x, still in flight",
                 x->id, aud_dir_name(x->dir_known, x->wtd), eb, x->sg->e[eb].addr, x->sg->e[eb].len,
                 t->id, aud_dir_name(t->dir_known, t->wtd), ea, t->sg->e[ea].addr,
                 t->sg->e[ea].len);
        if (!x->dir_known || !t->dir_known)
            aud_funsure(&f, "a transfer's direction is unknown (StartDma not in the trace)");
        aud_flost_since(a, &f, t->exec_seq);
        aud_fhold(a, &f, t->id); /* t's CompleteDma on another CPU may come just after */
    }
}

/* concurrent-on-adapter: x executes on d (no scatter/gather) while another
 * transfer on d is in flight. */
static void check_concurrent(dmt_audit *a, const xfer *x, const adapter *d)
{
    dmt_finding f;
    if (!d || !d->known || d->sg || d->inflight == 0 ||
        !aud_fstart(a, &f, DMT_R_CONCURRENT_ON_ADAPTER))
        return;
    uint32_t other = 0;
    uint64_t other_seq = AUD_NONE;
    xfer *t;
    for (uint32_t s = a->inflight_head; (t = aud_inflight_next(a, &s)) != NULL;)
        if (t->adapter == d->id) {
            other = t->id;
            other_seq = t->exec_seq;
            break;
        }
    aud_fxfer(&f, x, d->dev);
    aud_fref(&f, other_seq);
    aud_fmsg(&f,
             "xfer %u executes on adapter %u (no scatter/gather: one transfer at a time) while "
             "xfer %u is still in flight",
             x->id, d->id, other);
    aud_flost_since(a, &f, other_seq);
    aud_fhold(a, &f, other);
}

void aud_on_execute(dmt_audit *a, const dmt_record *r)
{
    adapter *d = aud_adapter_use(a, r->adapter, "ExecuteDma");
    if (!r->xfer)
        return;
    xfer *x = aud_xf_get(a, r->xfer);
    if (x && x->executed) { /* a second list for the same transfer: start over */
        aud_xf_leave(a, x);
        aud_xf_drop_sg(a, x);
        x->executed = x->programmed = x->signalled = x->stopped = false;
        x->prog_bytes = 0;
    }
    if (!x) {
        x = aud_xf_new(a, r->xfer);
        if (!x)
            return;
        a->st.transfers++;
        x->adapter = r->adapter;
    }
    a->st.executed++;
    x->executed = true;
    x->granted = r->length;
    x->exec_seq = a->cur_seq;
    x->adapter = r->adapter;
    if (x->first_page_off == AUD_NONE && r->n_sg)
        x->first_page_off = dmt_record_sg_at(r, 0).addr & (DMT_PAGE_SIZE - 1);
    if (a->kept_elems + r->n_sg <= a->cfg.max_sg_elems) {
        x->sg = aud_sg_new(r);
        if (x->sg)
            a->kept_elems += x->sg->n;
    } else {
        a->st.evicted++;
    }
    if (x->sg)
        check_layout(a, x, d);
    aud_check_size(a, x, d, x->granted, "granted", AUD_NONE, AUD_NONE);
    if (x->sg)
        check_inflight_overlap(a, x);
    check_concurrent(a, x, d);
    if (d) {
        d->inflight++;
        d->current = x->id;
        d->current_done = false;
        devst *ds = aud_dev_get(a, d->dev);
        x->irq_at_exec = ds ? ds->irqs : 0;
        x->dev = d->dev;
    }
    aud_inflight_link(a, x);
}

/* ---- CompleteDma ----------------------------------------------------------------------- */

/* complete-twice: CompleteDma of a list that is not in flight (x: the
 * transfer when known but never executed). */
static void complete_not_inflight(dmt_audit *a, const dmt_record *r, const adapter *d,
                                  const xfer *x)
{
    dmt_finding f;
    if (!aud_fstart(a, &f, DMT_R_COMPLETE_TWICE))
        return;
    f.adapter = r->adapter;
    f.dev = d ? d->dev : 0;
    f.xfer = r->xfer;
    uint64_t prev = aud_recent_done(a, r->xfer);
    if (!r->xfer) {
        if (d && d->last_completed) {
            aud_fref(&f, d->last_completed_seq);
            aud_fmsg(&f,
                     "CompleteDma on adapter %u of an SG list that is not in flight (the probe "
                     "matched no transfer); the adapter's last completed list was xfer %u",
                     r->adapter, d->last_completed);
        } else {
            aud_fmsg(&f,
                     "CompleteDma on adapter %u of an SG list that is not in flight (the probe "
                     "matched no transfer: completed already, or never given)",
                     r->adapter);
        }
    } else if (prev != AUD_NONE) {
        aud_fref(&f, prev);
        aud_fmsg(&f, "xfer %u: CompleteDma a second time", r->xfer);
    } else if (x) {
        aud_fref(&f, x->start_seq);
        aud_fmsg(&f, "xfer %u: CompleteDma although ExecuteDma never ran for it", r->xfer);
        aud_flost_since(a, &f, x->start_seq);
    } else {
        aud_fmsg(&f, "xfer %u: CompleteDma of a transfer %s", r->xfer,
                 r->xfer <= a->max_xfer ? "no longer in flight" : "never started");
        aud_funknown(a, &f, a->xf_p.evictions);
    }
    aud_fsend(a, &f);
}

/* complete-before-interrupt: the device must have signalled the end of what
 * it was started on (a device model's DONE/STOP, else a claimed interrupt
 * since ExecuteDma). */
static void check_signalled(dmt_audit *a, const xfer *x, const adapter *d)
{
    dmt_finding f;
    int model = aud_model_of(a, x->dev);
    bool early = false;
    uint64_t since = x->exec_seq;
    if (model >= 0) {
        early = x->programmed && !x->signalled && !x->stopped;
        since = x->doorbell_seq;
    } else if (d && d->known) {
        devst *ds = aud_dev_get(a, d->dev);
        early = ds && ds->irqs == x->irq_at_exec;
    }
    if (!early || !aud_fstart(a, &f, DMT_R_COMPLETE_BEFORE_INTERRUPT))
        return;
    aud_fxfer(&f, x, x->dev);
    aud_fref(&f, x->exec_seq);
    aud_fref(&f, x->doorbell_seq);
    if (model >= 0)
        aud_fmsg(&f,
                 "xfer %u: CompleteDma while channel %u of device %u had not signalled the end "
                 "of the run started at seq %" PRIu64,
                 x->id, x->chan, x->dev, x->doorbell_seq);
    else
        aud_fmsg(&f, "xfer %u: CompleteDma with no interrupt from device %u since ExecuteDma",
                 x->id, x->dev);
    aud_flost_since(a, &f, since);
    aud_fhold(a, &f, x->dev); /* the signal on another CPU may come just after */
}

/* prog-skipped: holes in what was programmed now; an unprogrammed suffix is
 * left pending on the MDL (aud_judge_suffix). */
static void check_programmed(dmt_audit *a, const xfer *x)
{
    if (!x->programmed || !x->sg || !x->sg->done || x->prog_unverified)
        return;
    dmt_finding f;
    uint32_t hole;
    uint64_t prefix = aud_prog_prefix(x->sg, &hole);
    if (hole != UINT32_MAX && aud_fstart(a, &f, DMT_R_PROG_SKIPPED)) {
        aud_fxfer(&f, x, x->dev);
        aud_fref(&f, x->exec_seq);
        aud_fref(&f, x->doorbell_seq);
        aud_fmsg(&f,
                 "xfer %u: element %u (0x%" PRIx64 "+0x%x) was %s programmed into the device, "
                 "later elements were",
                 x->id, hole, x->sg->e[hole].addr, x->sg->e[hole].len,
                 x->sg->done[hole] ? "only partly" : "never");
        aud_flost_since(a, &f, x->prog_since);
        aud_fsend(a, &f);
    } else if (hole == UINT32_MAX && prefix < x->granted) {
        mdl *m = aud_md_get(a, x->mdl);
        if (m) {
            m->pend = true;
            m->pend_xfer = x->id;
            m->pend_expect = x->offset + prefix;
            m->pend_end = x->offset + x->granted;
            m->pend_seq = x->doorbell_seq;
            m->pend_since = x->prog_since;
        }
    }
}

void aud_on_complete(dmt_audit *a, const dmt_record *r)
{
    adapter *d = aud_adapter_use(a, r->adapter, "CompleteDma");
    xfer *x = aud_xf_get(a, r->xfer);
    if (!x || !x->executed) {
        if (!x || !x->abandoned)
            complete_not_inflight(a, r, d, x);
        return;
    }
    if (x->abandoned) {
        aud_xf_free(a, x);
        return;
    }
    check_signalled(a, x, d);
    check_programmed(a, x);
    if (d) {
        d->last_completed = x->id;
        d->last_completed_seq = a->cur_seq;
        if (d->current == x->id) {
            d->current_done = true;
            d->current_done_seq = a->cur_seq;
            d->current_done_ts = a->cur_ts;
            d->current_done_cpu = a->cur_cpu;
        }
    }
    aud_held_resolve(a, DMT_R_INFLIGHT_OVERLAP, x->id);
    aud_held_resolve(a, DMT_R_CONCURRENT_ON_ADAPTER, x->id);
    aud_remember_done(a, x->id);
    aud_xf_free(a, x);
}

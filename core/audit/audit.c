/*
 * audit.c - the audit engine (see dmt/audit.h): creating and freeing it, the
 * record dispatch, and the end-of-trace rules (leak-sglist, leak-mdl,
 * leak-common-buffer, leak-adapter).  The rules themselves live in
 * audit_lifecycle.c, audit_transfer.c and audit_prog.c, the tracked objects
 * in audit_pool.c (audit_internal.h lists the files).
 *
 * State, all bounded (caps in dmt_audit_config), one pool per kind:
 *
 *   adapters   id -> properties, released?, transfers in flight, current
 *              transfer (the latest executed: a doorbell is attributed to it)
 *   mdls       id -> VA, length, lock operation, pending "programmed prefix"
 *              check of its last transfer
 *   cbs        id -> logical range, adapter, shadow of the descriptor bytes
 *              the driver wrote (DESC_WRITE), first DMT_AUDIT_SHADOW_BYTES
 *   transfers  id -> StartDma request, ExecuteDma grant and SG list (kept
 *              while in flight), programming and completion state
 *   channels   (dev, channel) -> transfer last started on it (device models)
 *
 * Life of a transfer and where each rule looks:
 *
 *   START_DMA    startdma-unlocked-mdl, lock-op-direction, startdma-beyond-mdl,
 *                prog-skipped (the previous chunk's unprogrammed suffix)
 *   EXECUTE_DMA  sg-* layout, addr-beyond-limit, transfer-exceeds-*,
 *                inflight-overlap, concurrent-on-adapter   -> in flight
 *   doorbell     prog-mismatch, prog-duplicate, prog-ring-outside-cb,
 *                use-after-complete, transfer-exceeds-* (programmed bytes)
 *   DONE/STOP    the device signalled the end (or was reset)
 *   COMPLETE_DMA complete-twice, complete-before-interrupt, prog-skipped (holes)
 *   UNLOCK       complete-missing, prog-skipped (suffix), unlock-unknown-mdl
 *   PUT adapter  leak-sglist, leak-common-buffer, adapter-after-put
 *   end          leak-* (adapters and common buffers only with end_is_unload)
 *
 * Uncertainty (audit_findings.c): a finding whose evidence spans records is
 * uncertain when a LOST record lies inside that span; findings about objects
 * the engine never saw created are uncertain when records were lost before,
 * a pool evicted objects, or the trace started after sequence 0; a finding
 * resting on the order of two records made on different CPUs closer in time
 * than the ordering uncertainty is uncertain (complete-before-interrupt,
 * use-after-complete, inflight-overlap and concurrent-on-adapter; the
 * first, third and fourth are held back that long for a later record of
 * another CPU).  Findings about one record's own contents (layout rules)
 * are never uncertain.
 * Records involved are named by sequence number, the store's key.
 */
#include "audit_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const dmt_audit_device *const default_devices[] = {&dmt_audit_dev_dmm, NULL};

/* ---- lifecycle ----------------------------------------------------------------------- */

dmt_audit *dmt_audit_new(const dmt_audit_config *cfg)
{
    dmt_audit *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    if (cfg)
        a->cfg = *cfg;
    if (!a->cfg.rules)
        a->cfg.rules = DMT_AUDIT_ALL_RULES;
#define DEF(f, v)                                                                                  \
    if (!a->cfg.f)                                                                                 \
        a->cfg.f = (v);
    DEF(max_transfers, DMT_AUDIT_DEF_TRANSFERS)
    DEF(max_mdls, DMT_AUDIT_DEF_MDLS)
    DEF(max_adapters, DMT_AUDIT_DEF_ADAPTERS)
    DEF(max_cbs, DMT_AUDIT_DEF_CBS)
    DEF(max_sg_elems, DMT_AUDIT_DEF_SG_ELEMS)
    DEF(max_shadow_cbs, DMT_AUDIT_DEF_SHADOW_CBS)
#undef DEF
    a->devices = a->cfg.devices ? a->cfg.devices : default_devices;
    a->last_lost_seq = AUD_NONE;
    a->min_mdl = UINT32_MAX;
    a->ad = calloc(a->cfg.max_adapters, sizeof(adapter));
    a->md = calloc(a->cfg.max_mdls, sizeof(mdl));
    a->cb = calloc(a->cfg.max_cbs, sizeof(cbuf));
    a->xf = calloc(a->cfg.max_transfers, sizeof(xfer));
    a->sh = calloc(a->cfg.max_shadow_cbs, sizeof(shadow));
    a->desc = malloc(sizeof(dmt_sg_elem) * DMT_MAX_SG_ELEMENTS);
    a->desc_ok = malloc(sizeof(bool) * DMT_MAX_SG_ELEMENTS);
    bool ok = a->ad && a->md && a->cb && a->xf && a->sh && a->desc && a->desc_ok &&
              aud_pool_init(&a->ad_p, &aud_adapter_kind, a->ad, a->cfg.max_adapters) &&
              aud_pool_init(&a->md_p, &aud_mdl_kind, a->md, a->cfg.max_mdls) &&
              aud_pool_init(&a->cb_p, &aud_cbuf_kind, a->cb, a->cfg.max_cbs) &&
              aud_pool_init(&a->xf_p, &aud_xfer_kind, a->xf, a->cfg.max_transfers);
    for (uint32_t i = 0; ok && a->devices[i]; i++) {
        if (i == sizeof a->dev_state / sizeof a->dev_state[0]) {
            ok = false;
            break;
        }
        a->dev_state[i] = a->devices[i]->create();
        ok = a->dev_state[i] != NULL;
        a->n_devices = i + 1;
    }
    if (!ok) {
        dmt_audit_free(a);
        return NULL;
    }
    return a;
}

void dmt_audit_free(dmt_audit *a)
{
    if (!a)
        return;
    xfer *x;
    for (uint32_t s = 0; (x = aud_pool_next(&a->xf_p, &s)) != NULL;)
        aud_xf_drop_sg(a, x);
    for (uint32_t i = 0; a->sh && i < a->cfg.max_shadow_cbs; i++) {
        free(a->sh[i].bytes);
        free(a->sh[i].written);
        free(a->sh[i].slot_seq);
    }
    for (uint32_t i = 0; i < a->n_devices; i++)
        if (a->dev_state[i])
            a->devices[i]->destroy(a->dev_state[i]);
    aud_pool_free(&a->ad_p);
    aud_pool_free(&a->md_p);
    aud_pool_free(&a->cb_p);
    aud_pool_free(&a->xf_p);
    free(a->ad);
    free(a->md);
    free(a->cb);
    free(a->xf);
    free(a->sh);
    free(a->desc);
    free(a->desc_ok);
    free(a);
}

const dmt_audit_stats *dmt_audit_get_stats(const dmt_audit *a)
{
    return &a->st;
}

/* ---- the record stream ---------------------------------------------------------------- */

int dmt_audit_add(dmt_audit *a, const dmt_record *r, uint64_t index)
{
    if (r->kind == DMT_K_CHUNK || r->kind == DMT_K_END)
        return 0;
    if (!a->have_record) {
        a->first_seq = r->kind == DMT_K_LOST ? r->value : r->seq;
        a->late_start = a->first_seq != 0;
        a->st.first_ts = r->ts;
    }
    a->have_record = true;
    a->cur_index = index;
    a->cur_seq = r->kind == DMT_K_LOST ? r->value : r->seq;
    a->cur_ts = r->ts;
    a->cur_cpu = r->cpu;
    a->st.records++;
    if (a->n_held)
        aud_held_release(a, false);
    switch (r->kind) {
    case DMT_K_ADAPTER_CREATE:
        aud_on_adapter_create(a, r);
        break;
    case DMT_K_ADAPTER_RELEASE:
        aud_on_adapter_release(a, r);
        break;
    case DMT_K_BUFFER_LOCK:
        aud_on_lock(a, r);
        break;
    case DMT_K_BUFFER_UNLOCK:
        aud_on_unlock(a, r);
        break;
    case DMT_K_START_DMA:
        aud_on_start(a, r);
        break;
    case DMT_K_START_DMA_END:
        aud_on_start_end(a, r);
        break;
    case DMT_K_EXECUTE_DMA:
        aud_on_execute(a, r);
        break;
    case DMT_K_COMPLETE_DMA:
        aud_on_complete(a, r);
        break;
    case DMT_K_COMMON_ALLOC:
        aud_on_common_alloc(a, r);
        break;
    case DMT_K_COMMON_RELEASE:
        aud_on_common_release(a, r);
        break;
    case DMT_K_DESC_WRITE:
        aud_on_desc_write(a, r);
        break;
    case DMT_K_INTERRUPT:
        if (r->claimed) {
            devst *ds = aud_dev_get(a, r->dev);
            if (ds)
                ds->irqs++;
            aud_held_resolve(a, DMT_R_COMPLETE_BEFORE_INTERRUPT, r->dev);
        }
        break;
    case DMT_K_LOST:
        a->last_lost_seq = r->value;
        a->st.lost_records += r->count;
        a->st.lost_ranges++;
        break;
    default:
        break;
    }
    for (uint32_t i = 0; i < a->n_devices; i++)
        a->devices[i]->observe(a->dev_state[i], r, aud_on_dev_event, a);
    return a->oom ? DMT_E_NOMEM : 0;
}

/* ---- the end of the trace -------------------------------------------------------------- */

int dmt_audit_finish(dmt_audit *a, bool cut)
{
    dmt_finding f;
    a->cut = cut;
    a->st.cut = cut;
    aud_held_release(a, true);
    /* SG lists never completed */
    xfer *x;
    for (uint32_t s = a->inflight_head; (x = aud_inflight_next(a, &s)) != NULL;) {
        a->st.held_sglists++;
        aud_leak_sglist(a, x, NULL);
    }
    mdl *m;
    for (uint32_t s = 0; (m = aud_pool_next(&a->md_p, &s)) != NULL;) {
        a->st.held_mdls++;
        if (aud_fstart(a, &f, DMT_R_LEAK_MDL)) {
            f.mdl = m->id;
            aud_fref(&f, m->lock_seq);
            aud_fmsg(&f,
                     "MDL %u (VA 0x%" PRIx64 ", %" PRIu64 " bytes) still locked at the end of "
                     "the trace",
                     m->id, m->va, m->length);
            aud_flost_since(a, &f, m->lock_seq);
            aud_fcut(a, &f);
            aud_fsend(a, &f);
        }
    }
    cbuf *c;
    for (uint32_t s = 0; (c = aud_pool_next(&a->cb_p, &s)) != NULL;) {
        a->st.held_cbs++;
        if (a->cfg.end_is_unload)
            aud_leak_cb(a, c, NULL);
    }
    adapter *d;
    for (uint32_t s = 0; (d = aud_pool_next(&a->ad_p, &s)) != NULL;) {
        if (d->released)
            continue;
        a->st.held_adapters++;
        if (a->cfg.end_is_unload && aud_fstart(a, &f, DMT_R_LEAK_ADAPTER)) {
            f.adapter = d->id;
            f.dev = d->dev;
            aud_fref(&f, d->create_seq);
            aud_fmsg(&f, "adapter %u never put (PutDmaAdapter) by the end of the trace", d->id);
            if (!d->known)
                aud_funknown(a, &f, a->ad_p.evictions);
            aud_flost_since(a, &f, d->create_seq);
            aud_fcut(a, &f);
            aud_fsend(a, &f);
        }
    }
    return 0;
}

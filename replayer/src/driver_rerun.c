/*
 * driver_rerun.c - the re-run of driver-mode replay (driver.c): the plan's
 * IOCTLs issued to the instrumented miniport on the host VideoPort (a
 * dmtc_session: memory ring drained into the re-run trace after each
 * step), buffer pages placed on the recorded frames, or, for injection,
 * the recorded inputs answered through hvp's replay hooks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dmtmini_host.h"
#include "dmtmini_ioctl.h"
#include "driver_plan.h"
#include "hvp_replay.h"

/* ---- the re-run -------------------------------------------------------------------- */

static uint64_t frame_cb(void *ctx, uint32_t lock_seq, uint32_t page_index, uint64_t proposed)
{
    rerun *u = ctx;
    if (lock_seq >= u->p->nx)
        return proposed;
    const dxfer *x = &u->p->x[lock_seq];
    if (page_index < x->npages && x->frames[page_index])
        return x->frames[page_index];
    return proposed;
}

/* ---- injection hooks (hvp_replay.h), called on the driver's thread ----------------- */

static void hook_dma(void *ctx, hvp_replay_dma *req)
{
    rerun *u = ctx;
    inject *j = &u->p->inj;
    unsigned d = req->write_to_device ? 0 : 1;
    if (j->cur[d] >= j->ndma[d])
        return; /* more StartDma calls than recorded: hvp answers (HVP_REPLAY_NATIVE) */
    const idma *q = &j->dma[d][j->cur[d]++];
    req->action = q->action;
    req->status = q->status;
    req->granted = q->granted;
    if (q->action == HVP_REPLAY_EXECUTE) {
        req->nsg = q->nsg;
        memcpy(req->sg, j->sg + q->sg_first, (size_t)q->nsg * sizeof *req->sg);
    }
}

static uint32_t hook_read(void *ctx, uint32_t bar_off, uint32_t width)
{
    rerun *u = ctx;
    inject *j = &u->p->inj;
    (void)width;
    uint32_t reg = bar_off >> 2;
    if (reg >= INJ_REGS || !j->rd_cur[reg])
        return 0xFFFFFFFFu; /* no recorded value left: what an absent device reads */
    uint32_t k = j->rd_cur[reg] - 1;
    j->rd_cur[reg] = j->rd_next[k];
    return j->rd_val[k];
}

static void hook_write(void *ctx, uint32_t bar_off, uint32_t width, uint32_t value)
{
    rerun *u = ctx;
    inject *j = &u->p->inj;
    (void)bar_off;
    (void)width;
    (void)value;
    j->writes++;
    while (j->irq_cur < j->nirq && j->irq_w[j->irq_cur] <= j->writes) {
        j->irq_cur++;
        hvp_replay_raise_interrupt(u->m); /* pending; delivered at the next delivery point */
    }
}

static int rerun_fail(dmt_error *err, const char *msg)
{
    return dmt_error_set(err, DMT_E_INTERNAL, DMT_NO_INDEX, DMT_NO_INDEX, "driver mode: %s", msg);
}

/* The session: a memory ring drained into out between the IOCTLs. */
static int open_session(rerun *u, const char *out, dmt_error *err)
{
    static const char *const failed[] = {
        [DMTC_PART_NONE] = "out of memory",
        [DMTC_PART_RING] = "no memory for the probe ring",
        [DMTC_PART_DRAIN] = "cannot start the drain",
        [DMTC_PART_MACHINE] = "the host VideoPort refused the recorded configuration"};
    plan *p = u->p;
    dmtc_config sc;
    dmtc_config_default(&sc);
    hvp_config *hc = &sc.host;
    hc->deterministic = true;
    hc->real_clock = false;
    hc->va_base = VA_BASE;
    hc->seed = p->hdr.seed ? p->hdr.seed : 1;
    if (!p->inject_mode) { /* injection: the SG lists come from the trace */
        hc->frame_fn = frame_cb;
        hc->frame_ctx = u;
    }
    /* the placement and contiguity the session ran with (pages the trace
     * does not show come from hvp's allocator): from the header's layout
     * keys, or, for traces older than them, what dmatrace capture used for
     * the scenario */
    enum hvp_placement place;
    if (p->hdr.has_layout && hvp_placement_parse(p->hdr.placement, &place)) {
        hc->placement = place;
        hc->contig_permille = p->hdr.contig_permille <= 1000 ? p->hdr.contig_permille : 1000;
        /* header values are input: only plausible ones replace the defaults */
        if (p->hdr.map_register_cap && p->hdr.map_register_cap <= 65536)
            hc->map_register_cap = p->hdr.map_register_cap;
        if (p->hdr.ram_low_top >= (16u << 20) && p->hdr.ram_low_top <= (1ull << 32))
            hc->ram_low_top = p->hdr.ram_low_top & ~0xFFFull;
        if (p->hdr.ram_high_top > (1ull << 32) && p->hdr.ram_high_top <= (1ull << 40))
            hc->ram_high_size = (p->hdr.ram_high_top - (1ull << 32)) & ~0xFFFull;
    } else if (!strncmp(p->hdr.scenario, "dma32-highmem", 13)) {
        hc->placement = HVP_PLACE_ABOVE_4G;
        hc->contig_permille = 400;
    } else if (!strncmp(p->hdr.scenario, "no-sg", 5)) {
        hc->placement = HVP_PLACE_BELOW_4G;
        hc->contig_permille = 200;
    } else if (!strncmp(p->hdr.scenario, "burst", 5)) {
        hc->contig_permille = 500;
    } else {
        hc->contig_permille = 300;
    }
    if (p->max_nmr > hc->map_register_cap)
        hc->map_register_cap = p->max_nmr;
    sc.device = p->dev;
    sc.ring_data = RING_DATA;
    sc.digest_policy = p->digest_policy;
    sc.drain = DMTC_DRAIN_CALLER;
    sc.out = out;
    sc.torn_timeout_ns = 1000000000ull;
    dmt_header *h = &sc.header;
    snprintf(h->producer, sizeof h->producer, "dmatrace replay --driver");
    snprintf(h->clock, sizeof h->clock, "deterministic");
    snprintf(h->host, sizeof h->host, "replay");
    memcpy(h->scenario, p->hdr.scenario, sizeof h->scenario); /* same size, NUL-terminated */
    h->scenario[sizeof h->scenario - 1] = 0;
    h->seed = p->hdr.seed;
    enum dmtc_part part;
    int rc = dmtc_open(&sc, &u->s, &part, err);
    if (rc < 0)
        return part == DMTC_PART_TRACE ? rc : rerun_fail(err, failed[part]);
    u->m = dmtc_machine(u->s);
    return 0;
}

int rpl__drv_run_workload(rerun *u, rpl_driver_entry entry, const char *out, dmt_error *err)
{
    plan *p = u->p;
    int rc = open_session(u, out, err);
    if (rc < 0)
        return rc;
    if (p->inject_mode) {
        inject *j = &p->inj;
        memcpy(j->rd_cur, j->rd_head, sizeof j->rd_cur);
        j->writes = 0;
        j->irq_cur = 0;
        j->cur[0] = j->cur[1] = 0;
        hvp_replay_hooks hk = {.start_dma = hook_dma,
                               .reg_read = hook_read,
                               .reg_write = hook_write,
                               .replace_device = true,
                               .ctx = u};
        if (hvp_replay_install(u->m, &hk) != HVP_OK)
            return rerun_fail(err, "cannot install the replay backend in the host VideoPort");
    }

    if ((rc = dmtc_load(u->s, (hvp_driver_entry_fn)entry, err)) < 0) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err ? err->msg : "the miniport failed to load");
        return rerun_fail(err, why);
    }
    if ((rc = dmtc_drain(u->s, err)) < 0)
        return rc;
    if (p->configure) {
        DMTMINI_CONFIG cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.version = DMTMINI_IOCTL_VERSION;
        for (unsigned c = 0; c < 2; c++) {
            cfg.ch[c].scatter_gather = p->ch_desc[c].sg;
            cfg.ch[c].dma32 = p->ch_desc[c].dma32;
            cfg.ch[c].dma64 = p->ch_desc[c].dma64;
            cfg.ch[c].maximum_length = (uint32_t)p->ch_desc[c].max_length;
        }
        uint32_t ret = 0;
        hvp_ioctl(u->m, IOCTL_DMTMINI_CONFIGURE, &cfg, sizeof cfg, NULL, 0, &ret);
        if ((rc = dmtc_drain(u->s, err)) < 0)
            return rc;
    }
    /* host buffers: one area per channel (a channel runs one transfer at a
     * time), as large as its largest transfer */
    for (uint32_t i = 0; i < p->nx; i++) {
        const dxfer *x = &p->x[i];
        if (x->ch < 0)
            continue;
        size_t need = (size_t)(x->va & 0xFFF) + (size_t)x->length;
        if (need > u->area_len[x->ch])
            u->area_len[x->ch] = need;
    }
    for (unsigned c = 0; c < 2; c++) {
        if (!u->area_len[c])
            continue;
        if (u->area_len[c] > p->o->mem_limit)
            return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "driver mode: a recorded buffer of %zu bytes exceeds the replay "
                                 "memory limit (--mem-limit)",
                                 u->area_len[c]);
        u->area_len[c] = (u->area_len[c] + 4095) & ~(size_t)4095;
        u->area[c] =
            mmap(NULL, u->area_len[c], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (u->area[c] == MAP_FAILED) {
            u->area[c] = NULL;
            return rerun_fail(err, "no memory for the transfer buffers");
        }
    }
    for (uint32_t k = 0; k < p->nops; k++) {
        const op *o = &p->ops[k];
        const dxfer *x = &p->x[o->x];
        if (x->ch < 0)
            continue; /* never started: its channel is unknown */
        uint32_t ret = 0;
        DMTMINI_TRANSFER_OUT out_;
        if (o->wait) {
            DMTMINI_WAIT_IN in;
            memset(&in, 0, sizeof in);
            in.channel = (uint32_t)x->ch;
            hvp_ioctl(u->m, IOCTL_DMTMINI_WAIT, &in, sizeof in, &out_, sizeof out_, &ret);
        } else {
            uint8_t *buf = u->area[x->ch] + (x->va & 0xFFF);
            if (x->pattern)
                dmt_pattern_fill(buf, x->seed, 0, (size_t)x->length);
            else
                memset(buf, 0, (size_t)x->length);
            DMTMINI_TRANSFER_IN in;
            memset(&in, 0, sizeof in);
            in.channel = (uint32_t)x->ch;
            in.flags =
                (x->async ? DMTMINI_XFER_ASYNC : 0) | (x->pattern ? DMTMINI_XFER_PATTERN : 0);
            in.buffer = (uint64_t)(uintptr_t)buf;
            in.length = (uint32_t)x->length;
            in.dev_offset = x->dev_off;
            in.pattern_seed = x->seed;
            hvp_ioctl(u->m, IOCTL_DMTMINI_TRANSFER, &in, sizeof in, &out_,
                      x->async ? 0 : sizeof out_, &ret);
            u->locks++;
        }
        hvp_wait_idle(u->m, 0);
        if ((rc = dmtc_drain(u->s, err)) < 0)
            return rc;
    }
    hvp_wait_idle(u->m, 0);
    return dmtc_finish(u->s, NULL, err);
}

void rpl__drv_rerun_free(rerun *u)
{
    dmtc_free(u->s); /* the machine before the buffers it may still touch */
    for (unsigned c = 0; c < 2; c++)
        if (u->area[c])
            munmap(u->area[c], u->area_len[c]);
}

/*
 * replay.c - the replay engine (rpl/replay.h): one recorded session into a
 * fresh dmm model, every observable checked as its record arrives.
 *
 * Data flow per record:
 *
 *   record --> window (last 17 records, copied, for report context)
 *          --> suspects whose deadline passed are confirmed / dropped
 *          --> handler by kind:
 *                memory:    COMMON_ALLOC/RELEASE, DESC_WRITE -> dmm_phys
 *                           BUFFER_LOCK/PATTERN/PAYLOAD -> MDL content sources
 *                           EXECUTE_DMA -> arena filled from the sources,
 *                                          SG elements mapped onto it (borrowed)
 *                registers: REG_WRITE* -> dmm_reg_write, program checks
 *                           REG_READ*  -> dmm_reg_read == trace value?
 *                interrupt: INTERRUPT   -> matched with the model's line
 *                data:      DIGEST      -> run digest / arena digest
 *          --> divergences: emitted in record order (held while an earlier
 *              suspect is open), kept up to opts.keep
 *
 * Suspects: two checks can only be decided after their record: a missing
 * INTERRUPT (the model's line was acknowledged by the ISR, then a record
 * that is not a register access came instead of the claimed INTERRUPT -
 * confirmed when no claimed INTERRUPT follows within IRQ_WINDOW records, so
 * the small reorderings of a multi-CPU capture pass) and descriptors that
 * cover only part of their transfer's SG list (confirmed at the doorbell).
 * A suspect carries its divergence already formatted at its own record,
 * context included; divergences found while a suspect with a lower index is
 * open wait in `held`, so reports always come out in record order.
 *
 * Loss: a LOST record taints both channels and the interrupt bookkeeping; a
 * channel is clean again at an accepted doorbell after DESC_LO, DESC_HI and
 * DESC_COUNT were all written since the loss.  Device memory becomes
 * unknown and is relearned from to-device runs (an interval set); a
 * from-device run reading unknown device memory cannot have its digest
 * verified.  Failed checks in a tainted state count as "unverified".
 *
 * Memory invariants: everything allocated from trace values is charged to
 * mem_used (common buffers, arenas, SG copies, payload copies, device
 * memory) and mem_used <= mem_limit; tables have fixed capacities; the
 * model only ever sees regions the engine registered.
 *
 * Files: this one holds the model, the register checks, interrupts, loss,
 * dispatch and the engine's lifecycle; replay_log.c the context window,
 * divergences and suspects; replay_desc.c common buffers and descriptor
 * checks; replay_mdl.c MDL contents, SG lists and digests.  The state they
 * share is in replay_engine.h.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/describe.h"
#include "replay_engine.h"

/* ---- small helpers ------------------------------------------------------- */

void rpl_opts_default(rpl_opts *o)
{
    memset(o, 0, sizeof *o);
}

int fail(rpl_replay *r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!r->fatal) {
        r->fatal = DMT_E_FORMAT;
        dmt_error_set(r->err, DMT_E_FORMAT, r->rec ? r->rec->pos : DMT_NO_INDEX, r->cur, "%s", msg);
    }
    return DMT_E_FORMAT;
}

/* Charge n bytes to the memory budget; false (and a fatal error) when over. */
bool charge(rpl_replay *r, uint64_t n, const char *what)
{
    if (n > r->o.mem_limit || r->mem_used > r->o.mem_limit - n) {
        fail(r,
             "%s needs %" PRIu64 " bytes; the replay may hold at most %" PRIu64 " bytes (%" PRIu64
             " in use; --mem-limit)",
             what, n, r->o.mem_limit, r->mem_used);
        return false;
    }
    r->mem_used += n;
    return true;
}

void uncharge(rpl_replay *r, uint64_t n)
{
    r->mem_used = n > r->mem_used ? 0 : r->mem_used - n;
}

static rpl_limit *add_limit(rpl_replay *r, int kind, uint64_t index, uint64_t count,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static rpl_limit *add_limit(rpl_replay *r, int kind, uint64_t index, uint64_t count,
                            const char *fmt, ...)
{
    rpl_limit *l = NULL;
    if (r->sum.n_limits < RPL_MAX_LIMITS) {
        l = &r->limits[r->sum.n_limits];
        memset(l, 0, sizeof *l);
        l->kind = kind;
        l->index = index;
        l->count = count;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->text, sizeof l->text, fmt, ap);
        va_end(ap);
    }
    r->sum.n_limits++;
    return l;
}

/* An aggregated note: the first occurrence makes the limit entry (text),
 * later ones only count. */
void note(rpl_replay *r, int key, int kind, const char *fmt, ...)
{
    if (r->noted[key]) {
        if (r->note_slot[key] >= 0)
            r->limits[r->note_slot[key]].count++;
        return;
    }
    r->noted[key] = true;
    char text[RPL_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    uint64_t before = r->sum.n_limits;
    add_limit(r, kind, r->cur, 1, "%s", text);
    r->note_slot[key] = before < RPL_MAX_LIMITS ? (int)before : -1;
}

size_t desc_size(const rpl_replay *r)
{
    return r->dsz;
}

/* ---- the model -------------------------------------------------------------------- */

static void svc_remove(rpl_replay *r, unsigned i, bool confirm);

/* The model's interrupt line rose. */
static void irq_cb(void *ctx)
{
    rpl_replay *r = ctx;
    r->line = true;
    r->owed = true;
    r->edge_index = r->cur;
}

static void process_early(rpl_replay *r);

static int ensure_dev(rpl_replay *r)
{
    if (r->dev)
        return 0;
    dmm_config c;
    dmm_config_default(&c);
    if (r->cfg_rev)
        c.revision = r->inf_rev;
    if (r->cfg_caps) {
        c.addr_bits = r->inf_bits;
        c.errata = r->inf_errata;
    }
    if (r->cfg_devmem)
        c.devmem_size = r->inf_devmem;
    r->sum.model_from_trace = r->cfg_rev || r->cfg_caps || r->cfg_devmem;
    if (r->o.set_revision)
        c.revision = r->o.revision;
    if (r->o.set_errata)
        c.errata = r->o.errata;
    if (r->o.set_addr_bits)
        c.addr_bits = r->o.addr_bits;
    if (r->o.set_devmem)
        c.devmem_size = r->o.devmem_size;
    if (!charge(r, c.devmem_size, "the model's device memory"))
        return DMT_E_FORMAT;
    r->dev = dmm_dev_new(&c, r->pm);
    if (!r->dev) {
        uncharge(r, c.devmem_size);
        return fail(r,
                    "the device model refused its configuration (revision %u, %u address "
                    "bits, errata 0x%x, %" PRIu64 " bytes of device memory)",
                    c.revision, c.addr_bits, c.errata, c.devmem_size);
    }
    r->cfg = c;
    r->sum.model = c;
    r->dsz = dmm_desc_size(c.revision);
    dmm_dev_set_irq(r->dev, irq_cb, r);
    for (unsigned i = 0; i < DMM_NUM_CHANNELS; i++)
        r->ch[i].run_seq = 0;
    process_early(r);
    return 0;
}

/* ---- devices and register accesses ----------------------------------------------- */

static devmap_t *devmap_find(rpl_replay *r, uint32_t id)
{
    for (unsigned i = 0; i < r->ndevmaps; i++)
        if (r->devmaps[i].id == id)
            return &r->devmaps[i];
    return NULL;
}

/* BAR offset of (dev, off, width): 1 modelled, 0 outside the mapping (the
 * host VideoPort does not reach the device), -1 not the modelled device. */
static int resolve(rpl_replay *r, uint32_t dev, uint64_t off, uint32_t width, uint32_t *bar)
{
    uint64_t delta = 0, len = DMM_BAR_SIZE;
    if (r->ndevmaps) {
        devmap_t *m = devmap_find(r, dev);
        if (!m) {
            note(r, NK_UNKNOWN_DEV, RPL_LIMIT_UNKNOWN_ID,
                 "register accesses to device %u, which no device_map introduced, were skipped",
                 dev);
            return -1;
        }
        if (!m->model) {
            note(r, NK_OTHER_DEVICE, RPL_LIMIT_DEVICE,
                 "device %u is not the modelled engine; its register accesses were skipped", dev);
            return -1;
        }
        delta = m->delta;
        len = m->len;
    }
    if (off > len || width > len - off || off >= DMM_BAR_SIZE || delta + off + width > DMM_BAR_SIZE)
        return 0;
    *bar = (uint32_t)(delta + off);
    return 1;
}

static uint64_t width_mask(uint32_t width)
{
    return width >= 8 ? UINT64_MAX : (1ull << (8u * width)) - 1;
}

/* The value a read of `width` bytes at BAR offset `bar` gives. */
static uint64_t model_read(rpl_replay *r, uint32_t bar, uint32_t width)
{
    switch (width) {
    case 1:
    case 2:
        if ((bar & 3u) + width > 4)
            return width_mask(width);
        return (dmm_reg_read(r->dev, bar & ~3u) >> ((bar & 3u) * 8u)) & width_mask(width);
    case 8:
        return dmm_reg_read(r->dev, bar) | (uint64_t)dmm_reg_read(r->dev, bar + 4) << 32;
    default:
        return dmm_reg_read(r->dev, bar);
    }
}

/* After a write that may lower the interrupt line.  An acknowledge
 * (IRQ_STATUS) that lowers it means the ISR serviced the interrupt, so its
 * claimed INTERRUPT record is due; masking (IRQ_ENABLE) or a channel RESET
 * withdraws the interrupt instead. */
static void after_lowering_write(rpl_replay *r, bool ack, uint32_t value)
{
    bool l = dmm_irq_line(r->dev);
    if (r->line && !l && r->owed) {
        r->owed = false;
        if (ack && !r->irq_taint) {
            /* ISRs of one device are serialised and the probe logs the
             * INTERRUPT record before the ISR returns, so a new
             * acknowledge means every earlier serviced interrupt whose
             * record was already overdue never got one; one that was not
             * overdue yet was the same ISR invocation acknowledging twice */
            for (unsigned i = 0; i < r->nsvc;)
                svc_remove(r, i, r->svc[i].suspect >= 0);
            svc_t *v = &r->svc[r->nsvc++];
            v->edge_index = r->edge_index;
            v->ack_index = r->cur;
            v->value = value & DMM_IRQ_ALL;
            v->suspect = -1;
        }
    }
    r->line = l;
}

xfer_t *xfer_get(rpl_replay *r, uint32_t id)
{
    return id ? rpl_idmap_get(&r->xfers, id) : NULL;
}

/* ---- device memory knowledge after a loss ------------------------------------------ */

static void known_add(rpl_replay *r, uint64_t lo, uint64_t hi)
{
    if (r->devmem_all_known || r->devmem_overflow || lo >= hi)
        return;
    unsigned i = 0;
    while (i < r->nknown && r->known[i].hi < lo)
        i++;
    unsigned j = i;
    while (j < r->nknown && r->known[j].lo <= hi) {
        if (r->known[j].lo < lo)
            lo = r->known[j].lo;
        if (r->known[j].hi > hi)
            hi = r->known[j].hi;
        j++;
    }
    if (i == j && r->nknown == DEVMEM_INTERVALS) {
        r->devmem_overflow = true;
        return;
    }
    memmove(&r->known[i + 1], &r->known[j], (r->nknown - j) * sizeof(ival));
    r->known[i].lo = lo;
    r->known[i].hi = hi;
    r->nknown = r->nknown - (j - i) + 1;
}

static bool known_covers(const rpl_replay *r, uint64_t lo, uint64_t hi)
{
    if (r->devmem_all_known)
        return true;
    if (r->devmem_overflow)
        return false;
    for (unsigned i = 0; i < r->nknown; i++)
        if (r->known[i].lo <= lo && hi <= r->known[i].hi)
            return true;
    return lo >= hi;
}

/* After a run of channel c: learn (to-device) or check (from-device) the
 * device memory its descriptors touched. */
static void devmem_after_run(rpl_replay *r, unsigned c, const dmm_run_info *ri, xfer_t *x)
{
    if (r->devmem_all_known || !r->dsz)
        return;
    uint8_t *buf = r->fetch_buf;
    const size_t cap = (size_t)DMM_MAX_DESC * DMM_DESC1_SIZE;
    size_t n = dmm_ch_fetched(r->dev, c, buf, cap);
    if (n > cap)
        n = cap;
    uint32_t nd = (uint32_t)(n / r->dsz);
    if (nd > ri->completed)
        nd = ri->completed;
    for (uint32_t i = 0; i < nd; i++) {
        dmm_desc d;
        if (dmm_desc_decode(r->cfg.revision, buf + (size_t)i * r->dsz, &d) != DMM_OK)
            break;
        uint64_t len = d.len;
        if (r->cfg.errata & DMM_ERRATUM_LEN_ROUND)
            len &= ~(uint64_t)3;
        uint64_t hi = d.dev_off + len < d.dev_off ? UINT64_MAX : d.dev_off + len;
        if (c == DMM_CH_H2C)
            known_add(r, d.dev_off, hi);
        else if (!known_covers(r, d.dev_off, hi) && x)
            x->devmem_unknown = true;
    }
}

/* ---- register writes ------------------------------------------------------------- */

static void program_check(rpl_replay *r, unsigned c, uint32_t reg, uint64_t value, uint32_t bar)
{
    xfer_t *x = xfer_get(r, r->ch[c].pending);
    if (!x || !x->desc_seen || x->desc_bad || x->desc_unparsed)
        return;
    uint64_t want;
    switch (reg) {
    case DMM_CH_DESC_LO:
        want = (uint32_t)x->ring_base;
        break;
    case DMM_CH_DESC_HI:
        want = (uint32_t)(x->ring_base >> 32);
        break;
    case DMM_CH_DESC_COUNT:
        want = x->ring_count;
        break;
    default:
        return;
    }
    r->sum.program_checks++;
    if ((uint32_t)value == want) {
        if (reg == DMM_CH_DESC_LO)
            x->lo_ok = true;
        else if (reg == DMM_CH_DESC_HI)
            x->hi_ok = true;
        else
            x->count_ok = true;
        return;
    }
    if (reg == DMM_CH_DESC_LO)
        x->lo_ok = false;
    else if (reg == DMM_CH_DESC_HI)
        x->hi_ok = false;
    else
        x->count_ok = false;
    rpl_divergence d;
    div_init(r, &d, RPL_DIV_PROGRAM);
    char name[160];
    rpl_map_name(&r->o.names, name, sizeof name, bar);
    set_subject(&d, "reg_write dev=%u off=0x%" PRIx64 " (%s) for xfer %u", r->rec->dev, r->rec->off,
                name, x->id);
    set_expected(&d, "0x%" PRIx64, want);
    set_actual(&d, "0x%" PRIx64, value);
    if (reg == DMM_CH_DESC_COUNT)
        set_detail(&d, "the descriptors written at record %" PRIu64 " are %u", x->desc_index,
                   x->ring_count);
    else
        set_detail(&d, "the descriptors written at record %" PRIu64 " start at 0x%" PRIx64,
                   x->desc_index, x->ring_base);
    emit(r, &d);
}

/* Fill a from-device buffer whose fill was put off (bytes [from, len)). */
void fill_now(rpl_replay *r, xfer_t *x, uint64_t from)
{
    if (from >= x->arena_len)
        return;
    arena_materialise(r, x, from);
    fill_content(mdl_get(r, x->mdl), x->arena + from, x->offset + from, x->arena_len - from, true);
}

/* Before the doorbell of channel c: a from-device buffer needs its
 * initial contents only where the device will not write.  When the ring
 * registers and the descriptors in memory are exactly the verified ones
 * (they cover the SG list in order), no errata bend lengths or addresses
 * and every element is mapped, the device writes the buffer front to back:
 * the fill is skipped and, after a clean run, the run's digest is the
 * buffer's (see on_digest). */
static void before_doorbell(rpl_replay *r, unsigned c)
{
    xfer_t *x = xfer_get(r, r->ch[c].pending);
    if (!x || !x->fill_pending)
        return;
    x->fill_pending = false;
    size_t n = (size_t)x->ring_count * r->dsz;
    bool ok = x->desc_complete && !x->desc_bad && !x->desc_unparsed && x->lo_ok && x->hi_ok &&
              x->count_ok && r->cfg.errata == 0 && x->nregions == x->nregions_want && n &&
              n <= (size_t)DMM_MAX_DESC * DMM_DESC1_SIZE &&
              dmm_phys_read(r->pm, x->ring_base, r->fetch_buf, n) == DMM_OK &&
              dmt64(r->fetch_buf, n) == dmt64_final(&x->desc_st);
    if (ok)
        x->fill_skipped = true;
    else
        fill_now(r, x, 0);
}

/* The model's DMT64 digest of x's run, computed now if it was not. */
uint64_t run_digest(rpl_replay *r, xfer_t *x)
{
    uint64_t v;
    if (x->run_digest_later && dmm_ch_run_digest(r->dev, x->run_ch, x->run.seq, &v) == DMM_OK) {
        x->run.digest = v;
        x->run_digest_later = false;
    }
    return x->run.digest;
}

/* Channel c's newest run is about to be replaced (a doorbell, RESET): the
 * model forgets a digest it has not computed, so get it now for a transfer
 * that may still check it.  A transfer already completed or dropped never
 * asks, and its run is never digested. */
static void keep_run_digest(rpl_replay *r, unsigned c)
{
    xfer_t *x = r->ch[c].run_xfer ? xfer_get(r, r->ch[c].run_xfer) : NULL;
    if (x && x->run_digest_later && x->run_ch == c)
        run_digest(r, x);
}

void doorbell(rpl_replay *r, unsigned c)
{
    dmm_run_info ri;
    bool later = false;
    dmm_ch_last_run_lazy(r->dev, c, &ri, &later);
    if (ri.seq == r->ch[c].run_seq)
        return; /* rejected (busy) */
    r->ch[c].run_seq = ri.seq;
    r->ch[c].run_xfer = 0;
    r->sum.runs++;
    xfer_t *x = xfer_get(r, r->ch[c].pending);
    r->ch[c].pending = 0;
    /* a loss window on this channel ends with a run programmed entirely
     * from records seen after the loss */
    chan_t *ch = &r->ch[c];
    if (ch->taint && ch->w_lo && ch->w_hi && ch->w_count && x && x->desc_seen) {
        ch->taint = false;
        bool any = false;
        for (unsigned i = 0; i < DMM_NUM_CHANNELS; i++)
            any = any || r->ch[i].taint;
        if (!any)
            r->irq_taint = false;
    }
    if (x) {
        x->run_bound = true;
        x->run = ri;
        x->run_digest_later = later;
        x->run_ch = c;
        r->ch[c].run_xfer = x->id;
        x->run_index = r->cur;
        x->run_tainted = ch->taint;
        if (x->desc_suspect >= 0) {
            int s = x->desc_suspect;
            x->desc_suspect = -1;
            suspect_close(r, s, true);
        }
    }
    devmem_after_run(r, c, &ri, x);
}

static void reg_write32(rpl_replay *r, uint32_t bar, uint32_t value, bool check)
{
    bool is_ch = bar >= DMM_CH_BASE(0) && bar < DMM_CH_BASE(DMM_NUM_CHANNELS) && (bar & 3u) == 0;
    unsigned c = is_ch ? (bar - DMM_CH_BASE(0)) / 0x40u : 0;
    uint32_t reg = is_ch ? (bar - DMM_CH_BASE(0)) % 0x40u : 0;
    if (is_ch && check)
        program_check(r, c, reg, value, bar);
    r->sum.reg_writes++;
    if (is_ch && reg == DMM_CH_CTRL && (value & (DMM_CTRL_RUN | DMM_CTRL_RESET)))
        keep_run_digest(r, c);
    if (is_ch && reg == DMM_CH_CTRL && (value & DMM_CTRL_RUN) && !(value & DMM_CTRL_RESET))
        before_doorbell(r, c);
    if (r->tolerant && ((is_ch && (reg == DMM_CH_CTRL || reg == DMM_CH_STATUS)) ||
                        bar == DMM_REG_IRQ_STATUS || bar == DMM_REG_IRQ_ENABLE)) {
        snap_t *sn = &r->snaps[r->nsnaps++ % MAX_SNAP];
        sn->index = r->cur;
        sn->irq_status = dmm_reg_read(r->dev, DMM_REG_IRQ_STATUS);
        for (unsigned k = 0; k < DMM_NUM_CHANNELS; k++)
            sn->ch_status[k] = dmm_reg_read(r->dev, DMM_CH_BASE(k) + DMM_CH_STATUS);
    }
    dmm_reg_write(r->dev, bar, value);
    if (is_ch) {
        switch (reg) {
        case DMM_CH_CTRL:
            if (value & DMM_CTRL_RESET)
                after_lowering_write(r, false, 0);
            else if (value & DMM_CTRL_RUN)
                doorbell(r, c);
            break;
        case DMM_CH_DESC_LO:
            r->ch[c].w_lo = true;
            break;
        case DMM_CH_DESC_HI:
            r->ch[c].w_hi = true;
            break;
        case DMM_CH_DESC_COUNT:
            r->ch[c].w_count = true;
            break;
        default:
            break;
        }
    } else if (bar == DMM_REG_IRQ_STATUS || bar == DMM_REG_IRQ_ENABLE) {
        after_lowering_write(r, bar == DMM_REG_IRQ_STATUS, value);
    }
}

static void reg_write(rpl_replay *r, uint32_t bar, uint32_t width, uint64_t value, bool check)
{
    switch (width) {
    case 1:
    case 2: {
        if ((bar & 3u) + width > 4)
            return; /* straddles two registers: dropped, as the host VideoPort does */
        uint32_t shift = (bar & 3u) * 8u;
        uint32_t mask = (uint32_t)width_mask(width) << shift;
        uint32_t old = dmm_reg_read(r->dev, bar & ~3u);
        reg_write32(r, bar & ~3u, (old & ~mask) | (((uint32_t)value << shift) & mask), check);
        return;
    }
    case 8:
        reg_write32(r, bar, (uint32_t)value, check);
        reg_write32(r, bar + 4, (uint32_t)(value >> 32), check);
        return;
    default:
        reg_write32(r, bar, (uint32_t)value, check);
        return;
    }
}

/* Is a failed check of this register possibly caused by a loss? */
static bool reg_tainted(const rpl_replay *r, uint32_t bar)
{
    if (bar >= DMM_CH_BASE(0) && bar < DMM_CH_BASE(DMM_NUM_CHANNELS))
        return r->ch[(bar - DMM_CH_BASE(0)) / 0x40u].taint;
    if (bar == DMM_REG_IRQ_STATUS || bar == DMM_REG_IRQ_ENABLE)
        return r->ch[0].taint || r->ch[1].taint;
    return false;
}

static void read_diverged(rpl_replay *r, uint32_t bar, uint64_t off, uint32_t width, int vindex,
                          uint64_t want, uint64_t got, bool tainted)
{
    rpl_divergence d;
    div_init(r, &d, RPL_DIV_REG_READ);
    char name[160], ex_got[256], ex_want[256], delta[512];
    rpl_map_name(&r->o.names, name, sizeof name, bar);
    char idx[32] = "";
    if (vindex >= 0)
        snprintf(idx, sizeof idx, " value[%d]", vindex);
    char wtxt[24] = "";
    if (width != 4)
        snprintf(wtxt, sizeof wtxt, " width=%u", width);
    set_subject(&d, "%s dev=%u off=0x%" PRIx64 "%s%s%s%s%s", dmt_kind_name(r->rec->kind),
                r->rec->dev, off, idx, wtxt, name[0] ? " (" : "", name, name[0] ? ")" : "");
    set_expected(&d, "0x%" PRIx64, want);
    set_actual(&d, "0x%" PRIx64, got);
    if (r->o.names.map && rpl_map_delta(&r->o.names, delta, sizeof delta, bar, want, got)) {
        rpl_map_explain(&r->o.names, ex_got, sizeof ex_got, bar, got);
        rpl_map_explain(&r->o.names, ex_want, sizeof ex_want, bar, want);
        set_detail(&d, "fields differ (trace->model): %s; model %s; trace %s", delta, ex_got,
                   ex_want);
    } else if (width == 4 && rpl_explain_reg(ex_got, sizeof ex_got, bar, got)) {
        rpl_explain_reg(ex_want, sizeof ex_want, bar, want);
        const char *w = strchr(ex_want, ':');
        set_detail(&d, "%s; trace:%s", ex_got, w ? w + 1 : ex_want);
    }
    check_failed(r, &d, tainted);
}

/* In a trace of several CPUs: was `want` the register's value just before
 * one of the recent writes (the read reached the device before it)? */
static bool reordered_read(rpl_replay *r, uint32_t bar, uint64_t want)
{
    bool irq = bar == DMM_REG_IRQ_STATUS;
    bool st = bar >= DMM_CH_BASE(0) && bar < DMM_CH_BASE(DMM_NUM_CHANNELS) &&
              (bar - DMM_CH_BASE(0)) % 0x40u == DMM_CH_STATUS;
    if (!r->tolerant || (!irq && !st))
        return false;
    unsigned n = r->nsnaps < MAX_SNAP ? r->nsnaps : MAX_SNAP;
    for (unsigned i = 0; i < n; i++) {
        const snap_t *sn = &r->snaps[(r->nsnaps - 1 - i) % MAX_SNAP];
        if (sn->index + REORDER_WINDOW < r->cur)
            break;
        uint32_t v = irq ? sn->irq_status : sn->ch_status[(bar - DMM_CH_BASE(0)) / 0x40u];
        if (v == want) {
            r->sum.reordered++;
            note(r, NK_REORDER, RPL_LIMIT_REORDER,
                 "register reads returned the value from before a write logged just ahead of "
                 "them (records of several CPUs); accepted");
            return true;
        }
    }
    return false;
}

static void reg_read(rpl_replay *r, uint32_t bar, uint64_t off, uint32_t width, uint64_t want,
                     int vindex)
{
    r->sum.reg_reads++;
    uint64_t got = model_read(r, bar, width);
    uint64_t m = width_mask(width);
    if ((got & m) == (want & m))
        return;
    if (width == 4 && reordered_read(r, bar, want))
        return;
    read_diverged(r, bar, off, width, vindex, want & m, got & m, reg_tainted(r, bar));
}

/* Reads outside the mapping never reach the device: all ones. */
static void reg_read_unmapped(rpl_replay *r, uint64_t off, uint32_t width, uint64_t want,
                              int vindex)
{
    r->sum.reg_reads++;
    uint64_t m = width_mask(width);
    if ((want & m) == m)
        return;
    read_diverged(r, UINT32_MAX, off, width, vindex, want & m, m, false);
}

static bool is_config_read(uint32_t bar)
{
    return bar == DMM_REG_ID || bar == DMM_REG_CAPS || bar == DMM_REG_DEVMEM_SIZE;
}

bool rpl__config_from_read(uint32_t bar, uint64_t v, dmm_config *c)
{
    uint32_t bits = DMM_CAPS_ADDR_BITS((uint32_t)v), e = DMM_CAPS_ERRATA((uint32_t)v);
    switch (bar) {
    case DMM_REG_ID:
        if ((v & 0xFFFFFF00u) != DMM_ID_MAGIC || dmm_desc_size((uint32_t)(v & 0xFF)) == 0)
            return false;
        c->revision = (uint32_t)(v & 0xFF);
        return true;
    case DMM_REG_CAPS:
        if (bits < 32 || bits > 64 || (e & ~DMM_ERRATA_ALL) != 0)
            return false;
        c->addr_bits = bits;
        c->errata = e;
        return true;
    case DMM_REG_DEVMEM_SIZE:
        if (v < 1 || v > DMM_DEVMEM_MAX)
            return false;
        c->devmem_size = v;
        return true;
    default:
        return false;
    }
}

static void learn_config(rpl_replay *r, uint32_t bar, uint64_t v)
{
    dmm_config got;
    memset(&got, 0, sizeof got);
    bool ok = rpl__config_from_read(bar, v, &got);
    switch (bar) {
    case DMM_REG_ID:
        if (r->cfg_rev)
            return;
        if (ok) {
            r->inf_rev = got.revision;
            r->cfg_rev = true;
        } else {
            note(r, NK_CONFIG, RPL_LIMIT_CONFIG,
                 "the trace's ID read 0x%" PRIx64 " is not a dmm engine revision the model has; "
                 "the default configuration is used",
                 v);
        }
        return;
    case DMM_REG_CAPS: {
        if (r->cfg_caps)
            return;
        if (ok) {
            r->inf_bits = got.addr_bits;
            r->inf_errata = got.errata;
            r->cfg_caps = true;
        } else {
            note(r, NK_CONFIG, RPL_LIMIT_CONFIG,
                 "the trace's CAPS read 0x%" PRIx64 " holds address bits or errata the model "
                 "does not have; defaults are used",
                 v);
        }
        return;
    }
    case DMM_REG_DEVMEM_SIZE:
        if (r->cfg_devmem)
            return;
        if (ok) {
            r->inf_devmem = got.devmem_size;
            r->cfg_devmem = true;
        } else {
            note(r, NK_CONFIG, RPL_LIMIT_CONFIG,
                 "the trace's DEVMEM_SIZE read %" PRIu64 " is outside the model's range; the "
                 "default is used",
                 v);
        }
        return;
    default:
        return;
    }
}

/* Compare the configuration reads seen before the model existed. */
static void process_early(rpl_replay *r)
{
    for (unsigned i = 0; i < r->nearly; i++) {
        early_t *e = &r->early[i];
        r->sum.reg_reads++;
        uint64_t got = dmm_reg_read(r->dev, e->bar_off);
        if ((uint32_t)got == (uint32_t)e->value)
            continue;
        rpl_divergence d;
        memset(&d, 0, sizeof d);
        d.index = e->index;
        d.seq = e->seq;
        d.t_rel = e->ts - r->t0;
        d.kind = RPL_DIV_REG_READ;
        d.record_kind = DMT_K_REG_READ;
        d.n_context = e->nctx;
        memcpy(d.context, e->ctx, sizeof d.context);
        char name[160], ex_got[256], ex_want[256], delta[512];
        rpl_map_name(&r->o.names, name, sizeof name, e->bar_off);
        set_subject(&d, "reg_read dev=%u off=0x%" PRIx64 " (%s)", e->dev, e->off, name);
        set_expected(&d, "0x%" PRIx64, e->value);
        set_actual(&d, "0x%" PRIx64, got);
        rpl_map_explain(&r->o.names, ex_got, sizeof ex_got, e->bar_off, got);
        rpl_map_explain(&r->o.names, ex_want, sizeof ex_want, e->bar_off, e->value);
        if (rpl_map_delta(&r->o.names, delta, sizeof delta, e->bar_off, e->value, got)) {
            set_detail(&d, "fields differ (trace->model): %s; model %s; trace %s", delta, ex_got,
                       ex_want);
        } else {
            const char *w = strchr(ex_want, ':');
            set_detail(&d, "%s; trace:%s", ex_got, w ? w + 1 : ex_want);
        }
        emit(r, &d);
    }
    r->nearly = 0;
}

static int on_reg(rpl_replay *r, const dmt_record *rec)
{
    uint32_t width = rec->width ? rec->width : 4;
    bool buf = rec->kind == DMT_K_REG_WRITE_BUF || rec->kind == DMT_K_REG_READ_BUF;
    bool read = rec->kind == DMT_K_REG_READ || rec->kind == DMT_K_REG_READ_BUF;
    uint32_t n = buf ? rec->n_values : 1;
    if (buf)
        width = 4;
    uint32_t bar = 0;
    int where = resolve(r, rec->dev, rec->off, width, &bar);
    if (where < 0)
        return 0;
    if (!r->dev && read && !buf && where == 1 && width == 4 && is_config_read(bar) &&
        r->nearly < MAX_EARLY) {
        early_t *e = &r->early[r->nearly++];
        e->index = r->cur;
        e->seq = rec->seq;
        e->ts = rec->ts;
        e->bar_off = bar;
        e->off = rec->off;
        e->dev = rec->dev;
        e->width = width;
        e->value = rec->value;
        e->nctx = ctx_capture(r, e->ctx, r->cur);
        learn_config(r, bar, rec->value);
        return 0;
    }
    if (!r->dev && ensure_dev(r))
        return r->fatal;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t off = rec->off + (uint64_t)i * 4u;
        uint64_t v = buf ? rec->values[i] : rec->value;
        int vi = buf ? (int)i : -1;
        int w = i == 0 ? where : resolve(r, rec->dev, off, width, &bar);
        if (w < 0)
            return 0;
        if (read) {
            if (w == 1)
                reg_read(r, bar, off, width, v, vi);
            else
                reg_read_unmapped(r, off, width, v, vi);
        } else if (w == 1) {
            reg_write(r, bar, width, v, true);
        }
    }
    return 0;
}

/* ---- interrupts ------------------------------------------------------------------- */

static void irq_missing_text(rpl_replay *r, rpl_divergence *d, const svc_t *v, const char *why)
{
    set_subject(d, "interrupt of dev %u", r->rec ? r->rec->dev : r->irq_dev);
    set_expected(d, "a claimed interrupt record after the ISR's acknowledge at record %" PRIu64,
                 v->ack_index);
    set_actual(d, "%s", why);
    set_detail(d,
               "the model raised its interrupt line at record %" PRIu64 " (IRQ_STATUS bits 0x%x)",
               v->edge_index, v->value);
}

/* Drop serviced interrupt i; confirm its suspect (a divergence) or not. */
static void svc_remove(rpl_replay *r, unsigned i, bool confirm)
{
    int s = r->svc[i].suspect;
    memmove(&r->svc[i], &r->svc[i + 1], (r->nsvc - i - 1) * sizeof *r->svc);
    r->nsvc--;
    if (s >= 0)
        suspect_close(r, s, confirm);
}

static void on_interrupt(rpl_replay *r, const dmt_record *rec)
{
    if (!r->dev)
        return;
    r->sum.interrupts++;
    r->irq_dev = rec->dev;
    bool tainted = r->irq_taint;
    if (rec->claimed) {
        if (r->nsvc) {
            /* at most one entry (see after_lowering_write): the serviced
             * interrupt this record reports */
            svc_remove(r, 0, false);
        } else if (!r->owed && !r->line) {
            rpl_divergence d;
            div_init(r, &d, RPL_DIV_IRQ_UNEXPECTED);
            set_subject(&d, "interrupt dev=%u", rec->dev);
            set_expected(&d, "an interrupt the ISR claimed");
            if (r->have_last_intr)
                set_actual(&d, "none since the interrupt at record %" PRIu64, r->last_intr_index);
            else
                set_actual(&d, "none since the start of the trace");
            uint32_t st = dmm_reg_read(r->dev, DMM_REG_IRQ_STATUS);
            uint32_t en = dmm_reg_read(r->dev, DMM_REG_IRQ_ENABLE);
            set_detail(&d, "model IRQ_STATUS=0x%x IRQ_ENABLE=0x%x", st, en);
            check_failed(r, &d, tainted);
        }
        r->owed = r->line;
        r->last_intr_index = r->cur;
        r->have_last_intr = true;
    } else if (r->nsvc) {
        /* the ISR says it found nothing, yet it acknowledged an interrupt */
        rpl_divergence d;
        div_init(r, &d, RPL_DIV_IRQ_MISSING);
        irq_missing_text(r, &d, &r->svc[0], "the ISR returned unclaimed");
        svc_remove(r, 0, false);
        check_failed(r, &d, tainted);
    }
}

/* A record that is neither a register access nor an interrupt: a serviced
 * interrupt's claimed INTERRUPT record is overdue.  It is confirmed missing
 * when IRQ_WINDOW more records pass without it or the model raises the
 * next interrupt first. */
static void irq_watch(rpl_replay *r)
{
    for (unsigned i = 0; i < r->nsvc; i++) {
        svc_t *v = &r->svc[i];
        if (v->suspect >= 0)
            continue;
        int s = suspect_open(r, true, 0, r->cur + IRQ_WINDOW);
        if (s < 0)
            return;
        v->suspect = s;
        rpl_divergence *d = &r->sus[s].d;
        div_init(r, d, RPL_DIV_IRQ_MISSING);
        irq_missing_text(r, d, v, dmt_kind_name(r->rec->kind));
    }
}

/* ---- loss ------------------------------------------------------------------------ */

static void on_lost(rpl_replay *r, const dmt_record *rec)
{
    r->sum.lost_records += rec->count;
    rpl_limit *l = add_limit(r, RPL_LIMIT_LOST, r->cur, rec->count,
                             "%" PRIu64 " records lost (%s): checks after them may be unverifiable "
                             "until the engine is reprogrammed",
                             rec->count, dmt_lost_reason_name(rec->reason));
    if (l) {
        l->first_seq = rec->value;
        l->last_seq = rec->value + (rec->count ? rec->count - 1 : 0);
    }
    r->after_loss = true;
    for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++) {
        r->ch[c].taint = true;
        r->ch[c].w_lo = r->ch[c].w_hi = r->ch[c].w_count = false;
    }
    r->irq_taint = true;
    while (r->nsvc)
        svc_remove(r, 0, false);
    r->devmem_all_known = false;
    r->devmem_overflow = false;
    r->nknown = 0;
}

/* ---- dispatch -------------------------------------------------------------------- */

static void resolve_deadlines(rpl_replay *r)
{
    if (!r->nsus_open)
        return;
    for (unsigned i = 0; i < MAX_SUSPECTS; i++) {
        suspect_t *s = &r->sus[i];
        if (!s->open || r->cur <= s->deadline)
            continue;
        if (s->irq) {
            for (unsigned k = 0; k < r->nsvc; k++)
                if (r->svc[k].suspect == (int)i) {
                    svc_remove(r, k, true);
                    break;
                }
        } else {
            xfer_t *x = xfer_get(r, s->xfer);
            if (x && x->desc_suspect == (int)i)
                x->desc_suspect = -1;
            suspect_close(r, (int)i, false); /* no doorbell came: nothing ran */
        }
    }
}

static int dispatch(rpl_replay *r, const dmt_record *rec)
{
    switch (rec->kind) {
    case DMT_K_REG_WRITE:
    case DMT_K_REG_READ:
    case DMT_K_REG_WRITE_BUF:
    case DMT_K_REG_READ_BUF:
        return on_reg(r, rec);
    case DMT_K_INTERRUPT:
        if (!r->dev && ensure_dev(r))
            return r->fatal;
        on_interrupt(r, rec);
        return 0;
    default:
        break;
    }
    switch (rec->kind) {
    case DMT_K_EXECUTE_DMA:
    case DMT_K_DESC_WRITE:
    case DMT_K_DIGEST:
        if (!r->dev && ensure_dev(r))
            return r->fatal;
        break;
    default:
        break;
    }
    irq_watch(r);
    switch (rec->kind) {
    case DMT_K_EXECUTE_DMA:
        return on_execute_dma(r, rec);
    case DMT_K_START_DMA:
        return on_start_dma(r, rec);
    case DMT_K_COMPLETE_DMA:
        xfer_drop(r, rec->xfer);
        return 0;
    case DMT_K_ADAPTER_CREATE: {
        adapter_t *a = rpl_idmap_get(&r->adapters, rec->adapter);
        if (!a) {
            a = calloc(1, sizeof *a);
            if (!a)
                return fail(r, "out of memory");
            if (!rpl_idmap_put(&r->adapters, rec->adapter, a)) {
                free(a);
                return fail(r, "more than %u DMA adapters at once", MAX_ADAPTERS);
            }
        }
        a->id = rec->adapter;
        a->addr_limit = rec->addr_limit ? rec->addr_limit : UINT64_MAX;
        return 0;
    }
    case DMT_K_ADAPTER_RELEASE:
        free(rpl_idmap_del(&r->adapters, rec->adapter));
        return 0;
    case DMT_K_BUFFER_LOCK:
        return on_buffer_lock(r, rec);
    case DMT_K_BUFFER_UNLOCK:
        on_buffer_unlock(r, rec);
        return 0;
    case DMT_K_COMMON_ALLOC:
        return on_common_alloc(r, rec);
    case DMT_K_COMMON_RELEASE:
        on_common_release(r, rec);
        return 0;
    case DMT_K_DESC_WRITE:
        on_desc_write(r, rec);
        return r->fatal;
    case DMT_K_DIGEST:
        on_digest(r, rec);
        return 0;
    case DMT_K_PATTERN:
        return add_source(r, rec, false);
    case DMT_K_PAYLOAD:
        return add_source(r, rec, true);
    case DMT_K_DEVICE_MAP: {
        devmap_t *m = devmap_find(r, rec->dev);
        if (!m) {
            if (r->ndevmaps == MAX_DEVMAPS) {
                note(r, NK_OTHER_DEVICE, RPL_LIMIT_DEVICE,
                     "more than %u register mappings; device %u is not modelled", MAX_DEVMAPS,
                     rec->dev);
                return 0;
            }
            m = &r->devmaps[r->ndevmaps++];
        }
        m->id = rec->dev;
        m->len = rec->length;
        if (!r->have_bar) {
            r->have_bar = true;
            r->bar_addr = rec->addr;
        }
        m->model = rec->addr >= r->bar_addr && rec->addr - r->bar_addr < DMM_BAR_SIZE;
        m->delta = m->model ? rec->addr - r->bar_addr : 0;
        return 0;
    }
    case DMT_K_LOST:
        on_lost(r, rec);
        return 0;
    default:
        return 0; /* START_DMA_END, DPC, MARKER: nothing to replay */
    }
}

int rpl_feed(rpl_replay *r, const dmt_record *rec, dmt_error *err)
{
    if (r->fatal) {
        if (err && r->err != err)
            dmt_error_set(err, r->fatal, DMT_NO_INDEX, r->cur, "replay already failed");
        return r->fatal;
    }
    if (r->sum.stopped)
        return 1;
    if (rec->kind == DMT_K_CHUNK || rec->kind == DMT_K_END)
        return 0;
    r->err = err;
    r->cur = r->nrec;
    r->rec = rec;
    if (r->nrec == 0)
        r->t0 = rec->ts;
    win_push(r, rec);
    resolve_deadlines(r);
    int rc = dispatch(r, rec);
    r->nrec++;
    r->sum.records = r->nrec;
    r->rec = NULL;
    if (rc < 0 || r->fatal)
        return r->fatal ? r->fatal : rc;
    return r->sum.stopped ? 1 : 0;
}

void rpl_set_header(rpl_replay *r, const dmt_header *hdr)
{
    if (r->o.order == RPL_ORDER_AUTO && hdr) {
        r->tolerant = strcmp(hdr->clock, "deterministic") != 0;
        r->sum.strict_order = !r->tolerant;
    }
}

void rpl_note_cut(rpl_replay *r, uint64_t offset, const char *why)
{
    add_limit(r, RPL_LIMIT_CUT, r->nrec, 0,
              "the trace file is cut at byte %" PRIu64 " (%s): the session's end is missing",
              offset, why ? why : "no END record");
}

int rpl_finish(rpl_replay *r)
{
    if (r->fatal)
        return r->fatal;
    if (!r->dev && r->nearly)
        ensure_dev(r);
    if (r->fatal)
        return r->fatal;
    r->cur = r->nrec;
    /* serviced interrupts still without their record: missing */
    bool at_end = false;
    svc_t last = {0};
    while (r->nsvc) {
        if (r->svc[0].suspect < 0) {
            at_end = true;
            last = r->svc[0];
        }
        svc_remove(r, 0, true);
    }
    for (unsigned i = 0; i < MAX_SUSPECTS; i++) {
        if (!r->sus[i].open)
            continue;
        suspect_close(r, (int)i, false); /* descriptors never rung: nothing ran */
    }
    if (r->sum.stopped) {
        flush_held(r, true);
        return 1; /* stopped early: the end of the trace was not replayed */
    }
    if (at_end) {
        rpl_divergence d;
        memset(&d, 0, sizeof d);
        d.index = r->nrec;
        d.seq = 0;
        const winrec *lw = &r->win[(r->nrec - 1) & (WIN - 1)];
        d.t_rel = r->nrec ? (lw->compact ? lw->c.ts : lw->r.ts) - r->t0 : 0;
        d.kind = RPL_DIV_IRQ_MISSING;
        d.at_end = true;
        d.after_loss = r->after_loss;
        d.n_context = ctx_capture(r, d.context, r->nrec);
        irq_missing_text(r, &d, &last, "the trace ends");
        emit(r, &d);
    } else if (r->owed && r->line) {
        note(r, NK_IRQ_END, RPL_LIMIT_UNVERIFIED,
             "the model's interrupt line raised at record %" PRIu64
             " was still raised when the trace ended",
             r->edge_index);
    }
    flush_held(r, true);
    return r->sum.stopped ? 1 : 0;
}

/* ---- passive engines (internal.h) ---------------------------------------------------- */

rpl_replay *rpl__new_passive(const rpl_opts *o, dmt_error *err)
{
    return rpl_new(o, err); /* the model is only created by rpl_feed's handlers */
}

void rpl__observe(rpl_replay *r, const dmt_record *rec)
{
    if (rec->kind == DMT_K_CHUNK || rec->kind == DMT_K_END)
        return;
    r->cur = r->nrec;
    r->rec = rec;
    if (r->nrec == 0)
        r->t0 = rec->ts;
    win_push(r, rec);
    r->nrec++;
    r->sum.records = r->nrec;
}

void rpl__diverge(rpl_replay *r, int kind, bool at_end, const char *subject, const char *expected,
                  const char *actual, const char *detail)
{
    if (r->sum.stopped)
        return;
    rpl_divergence d;
    if (at_end) {
        memset(&d, 0, sizeof d);
        d.index = r->nrec;
        d.kind = kind;
        d.at_end = true;
        d.n_context = ctx_capture(r, d.context, r->nrec);
    } else {
        r->cur = r->nrec ? r->nrec - 1 : 0;
        div_init(r, &d, kind);
    }
    set_subject(&d, "%s", subject);
    set_expected(&d, "%s", expected);
    set_actual(&d, "%s", actual);
    set_detail(&d, "%s", detail ? detail : "");
    keep(r, &d);
}

void rpl__limit(rpl_replay *r, int kind, uint64_t index, const char *text)
{
    add_limit(r, kind, index, 1, "%s", text);
}

bool rpl__stopped(const rpl_replay *r)
{
    return r->sum.stopped;
}

/* ---- lifecycle -------------------------------------------------------------------- */

rpl_replay *rpl_new(const rpl_opts *o, dmt_error *err)
{
    rpl_replay *r = calloc(1, sizeof *r);
    if (!r) {
        dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
        return NULL;
    }
    if (o)
        r->o = *o;
    if (!r->o.keep)
        r->o.keep = RPL_DEFAULT_KEEP;
    if (!r->o.all)
        r->o.keep = 1;
    if (!r->o.context)
        r->o.context = RPL_CONTEXT_RECORDS;
    if (r->o.context > RPL_MAX_CONTEXT)
        r->o.context = RPL_MAX_CONTEXT;
    if (!r->o.mem_limit)
        r->o.mem_limit = RPL_DEFAULT_MEM_LIMIT;
    r->devmem_all_known = true;
    r->tolerant = r->o.order != RPL_ORDER_STRICT;
    r->sum.strict_order = !r->tolerant;
    for (unsigned i = 0; i < NK_MAX_; i++)
        r->note_slot[i] = -1;
    for (unsigned i = 0; i < WIN; i++)
        r->win[i].index = UINT64_MAX;
    r->pm = dmm_phys_new();
    r->early = calloc(MAX_EARLY, sizeof *r->early);
    r->held = calloc(MAX_HELD, sizeof *r->held);
    r->known = calloc(DEVMEM_INTERVALS, sizeof *r->known);
    r->fetch_buf = malloc((size_t)DMM_MAX_DESC * DMM_DESC1_SIZE);
    bool ok = r->pm && r->early && r->held && r->known && r->fetch_buf &&
              rpl_idmap_init(&r->cbs, MAX_LIVE_CB) && rpl_idmap_init(&r->mdls, MAX_LIVE_MDL) &&
              rpl_idmap_init(&r->xfers, MAX_LIVE_XFER) &&
              rpl_idmap_init(&r->adapters, MAX_ADAPTERS);
    if (ok)
        ok = dmm_phys_set_limits(r->pm, DMM_PHYS_MAX_REGIONS, r->o.mem_limit) == DMM_OK;
    if (!ok) {
        rpl_free(r);
        dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
        return NULL;
    }
    dmm_config_default(&r->sum.model);
    return r;
}

void rpl_free(rpl_replay *r)
{
    if (!r)
        return;
    uint32_t pos = 0;
    void *v;
    if (r->xfers.slots)
        while ((v = rpl_idmap_next(&r->xfers, &pos, NULL)) != NULL)
            xfer_free(r, v);
    pos = 0;
    if (r->mdls.slots)
        while ((v = rpl_idmap_next(&r->mdls, &pos, NULL)) != NULL)
            mdl_free(r, v);
    pos = 0;
    if (r->cbs.slots)
        while ((v = rpl_idmap_next(&r->cbs, &pos, NULL)) != NULL)
            free(v);
    pos = 0;
    if (r->adapters.slots)
        while ((v = rpl_idmap_next(&r->adapters, &pos, NULL)) != NULL)
            free(v);
    arena_drop_cache(r);
    rpl_idmap_free(&r->cbs);
    rpl_idmap_free(&r->mdls);
    rpl_idmap_free(&r->xfers);
    rpl_idmap_free(&r->adapters);
    dmm_dev_free(r->dev);
    dmm_phys_free(r->pm);
    free(r->early);
    free(r->held);
    free(r->known);
    free(r->fetch_buf);
    free(r->kept);
    free(r);
}

const rpl_summary *rpl_get_summary(const rpl_replay *r)
{
    return &r->sum;
}

const rpl_divergence *rpl_divergence_at(const rpl_replay *r, uint64_t i)
{
    return i < r->sum.kept ? &r->kept[i] : NULL;
}

const rpl_limit *rpl_limit_at(const rpl_replay *r, uint64_t i)
{
    return i < r->sum.n_limits && i < RPL_MAX_LIMITS ? &r->limits[i] : NULL;
}

dmm_dev *rpl_model(rpl_replay *r)
{
    return r->dev;
}

dmm_phys *rpl_phys(rpl_replay *r)
{
    return r->pm;
}

uint64_t rpl_mem_used(const rpl_replay *r)
{
    return r->mem_used;
}

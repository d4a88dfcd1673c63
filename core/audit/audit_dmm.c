/*
 * audit_dmm.c - the audit engine's model of the dmm DMA engine
 * (device-model/README.md, dmm.h): which register records start a channel,
 * which tell the driver a run ended, how descriptors are laid out, and the
 * device's real address width.  Everything dmm-specific in the audit lives
 * here, behind dmt_audit_device (dmt/audit.h).
 *
 * A device id is claimed once the driver read the ID register and it showed
 * the dmm magic (the revision is its low byte); CAPS gives the address bits.
 * Per channel the model shadows DESC_LO/HI/COUNT and reports:
 *
 *   REG_WRITE CH_CTRL with RUN (not RESET)       -> DOORBELL(ring = HI:LO, COUNT)
 *   REG_WRITE CH_CTRL with RESET                 -> STOP
 *   REG_READ IRQ_STATUS / INTERRUPT value bits   -> DONE for each channel named
 *   REG_READ CH_STATUS with DONE or ERR          -> DONE
 *   REG_READ CH_CTRL with RUN clear after a run  -> DONE (a polling driver)
 *
 * The register map and descriptor layouts come from the device model's
 * published header dmm/map.h (header-only: libdmt includes it but never
 * links the model).
 */
#include "dmt/audit.h"

#include <stdlib.h>
#include <string.h>

#include "dmm/map.h"

#define DMMA_MAX_DEVS 16u

typedef struct dmma_chan {
    uint32_t lo, hi, count;
    bool running; /* a doorbell was rung and no end seen yet */
} dmma_chan;

typedef struct dmma_dev {
    uint32_t dev;
    bool claimed;
    uint32_t revision;
    uint32_t addr_bits; /* 0 = unknown */
    dmma_chan ch[DMM_NUM_CHANNELS];
} dmma_dev;

/* devs[0 .. n_used) are in use (a device is never dropped, so they stay
 * packed): a trace without a dmm device costs one compare per record. */
typedef struct dmma {
    unsigned n_used;
    dmma_dev devs[DMMA_MAX_DEVS];
} dmma;

static void *dmma_create(void)
{
    return calloc(1, sizeof(dmma));
}

static void dmma_destroy(void *st)
{
    free(st);
}

static dmma_dev *find(dmma *m, uint32_t dev, bool create)
{
    for (unsigned i = 0; i < m->n_used; i++)
        if (m->devs[i].dev == dev)
            return &m->devs[i];
    if (!create || m->n_used == DMMA_MAX_DEVS)
        return NULL;
    dmma_dev *d = &m->devs[m->n_used++];
    memset(d, 0, sizeof *d);
    d->dev = dev;
    return d;
}

static uint32_t desc_size(uint32_t revision)
{
    return (uint32_t)dmm_map_desc_size(revision);
}

static void chan_event(dmma_dev *d, unsigned c, uint32_t type, dmt_audit_dev_emit emit, void *eng)
{
    dmt_audit_dev_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.dev = d->dev;
    ev.channel = c;
    d->ch[c].running = false;
    emit(eng, &ev);
}

static void irq_bits(dmma_dev *d, uint64_t v, dmt_audit_dev_emit emit, void *eng)
{
    for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++)
        if (v & (DMM_IRQ_DONE(c) | DMM_IRQ_ERR(c)))
            chan_event(d, c, DMT_AEV_DONE, emit, eng);
}

static void reg_write(dmma_dev *d, uint64_t off, uint64_t val, dmt_audit_dev_emit emit, void *eng)
{
    if (off < DMM_CH_BASE(0) || off >= DMM_CH_BASE(DMM_NUM_CHANNELS))
        return;
    unsigned c = (unsigned)((off - DMM_CH_BASE(0)) / DMM_CH_WINDOW);
    dmma_chan *ch = &d->ch[c];
    switch ((off - DMM_CH_BASE(0)) % DMM_CH_WINDOW) {
    case DMM_CH_DESC_LO:
        ch->lo = (uint32_t)val;
        break;
    case DMM_CH_DESC_HI:
        ch->hi = (uint32_t)val;
        break;
    case DMM_CH_DESC_COUNT:
        ch->count = (uint32_t)val;
        break;
    case DMM_CH_CTRL:
        if (val & DMM_CTRL_RESET) {
            chan_event(d, c, DMT_AEV_STOP, emit, eng);
        } else if (val & DMM_CTRL_RUN) {
            dmt_audit_dev_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = DMT_AEV_DOORBELL;
            ev.dev = d->dev;
            ev.channel = c;
            ev.ring_addr = (uint64_t)ch->hi << 32 | ch->lo;
            ev.count = ch->count;
            ev.desc_size = desc_size(d->revision);
            ch->running = true;
            emit(eng, &ev);
        }
        break;
    default:
        break;
    }
}

static void reg_read(dmma_dev *d, uint64_t off, uint64_t val, dmt_audit_dev_emit emit, void *eng)
{
    if (off == DMM_REG_IRQ_STATUS) {
        irq_bits(d, val, emit, eng);
        return;
    }
    if (off < DMM_CH_BASE(0) || off >= DMM_CH_BASE(DMM_NUM_CHANNELS))
        return;
    unsigned c = (unsigned)((off - DMM_CH_BASE(0)) / DMM_CH_WINDOW);
    switch ((off - DMM_CH_BASE(0)) % DMM_CH_WINDOW) {
    case DMM_CH_STATUS:
        if (val & (DMM_STATUS_DONE | DMM_STATUS_ERR))
            chan_event(d, c, DMT_AEV_DONE, emit, eng);
        break;
    case DMM_CH_CTRL:
        if (d->ch[c].running && !(val & DMM_CTRL_RUN))
            chan_event(d, c, DMT_AEV_DONE, emit, eng);
        break;
    default:
        break;
    }
}

static void dmma_observe(void *st, const dmt_record *r, dmt_audit_dev_emit emit, void *eng)
{
    dmma *m = st;
    switch (r->kind) {
    case DMT_K_REG_READ: {
        if (r->width != 4)
            return;
        if (r->off == DMM_REG_ID) {
            dmma_dev *d = find(m, r->dev, (r->value & DMM_ID_MASK) == DMM_ID_MAGIC);
            if (d) {
                d->claimed = (r->value & DMM_ID_MASK) == DMM_ID_MAGIC &&
                             desc_size((uint32_t)DMM_ID_REVISION(r->value)) != 0;
                d->revision = (uint32_t)DMM_ID_REVISION(r->value);
            }
            return;
        }
        dmma_dev *d = find(m, r->dev, false);
        if (!d || !d->claimed)
            return;
        if (r->off == DMM_REG_CAPS) {
            uint32_t bits = (uint32_t)DMM_CAPS_ADDR_BITS(r->value);
            d->addr_bits = bits >= 32 && bits <= 64 ? bits : 0;
            return;
        }
        reg_read(d, r->off, r->value, emit, eng);
        return;
    }
    case DMT_K_REG_READ_BUF: {
        dmma_dev *d = find(m, r->dev, false);
        if (!d || !d->claimed || r->width != 4)
            return;
        for (uint32_t i = 0; i < r->n_values; i++)
            reg_read(d, r->off + 4ull * i, r->values[i], emit, eng);
        return;
    }
    case DMT_K_REG_WRITE: {
        dmma_dev *d = find(m, r->dev, false);
        if (d && d->claimed && r->width == 4)
            reg_write(d, r->off, r->value, emit, eng);
        return;
    }
    case DMT_K_REG_WRITE_BUF: {
        dmma_dev *d = find(m, r->dev, false);
        if (!d || !d->claimed || r->width != 4)
            return;
        for (uint32_t i = 0; i < r->n_values; i++)
            reg_write(d, r->off + 4ull * i, r->values[i], emit, eng);
        return;
    }
    case DMT_K_INTERRUPT: {
        dmma_dev *d = find(m, r->dev, false);
        if (d && d->claimed && r->claimed)
            irq_bits(d, r->value, emit, eng);
        return;
    }
    default:
        return;
    }
}

static bool dmma_claims(void *st, uint32_t dev)
{
    dmma_dev *d = find(st, dev, false);
    return d && d->claimed;
}

static bool dmma_decode(void *st, uint32_t dev, const uint8_t *b, dmt_sg_elem *out)
{
    dmma_dev *d = find(st, dev, false);
    dmm_desc ds;
    if (!d || !d->claimed || !dmm_map_desc_decode(d->revision, b, &ds))
        return false;
    out->addr = ds.host_addr;
    out->len = ds.len;
    return ds.magic_ok;
}

static uint64_t dmma_addr_limit(void *st, uint32_t dev)
{
    dmma_dev *d = find(st, dev, false);
    if (!d || !d->claimed || d->addr_bits == 0 || d->addr_bits >= 64)
        return UINT64_MAX;
    return (UINT64_C(1) << d->addr_bits) - 1;
}

const dmt_audit_device dmt_audit_dev_dmm = {
    .name = "dmm",
    .create = dmma_create,
    .destroy = dmma_destroy,
    .observe = dmma_observe,
    .claims = dmma_claims,
    .decode = dmma_decode,
    .addr_limit = dmma_addr_limit,
};

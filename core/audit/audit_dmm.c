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
 * The constants are a copy of the hardware interface (core does not link the
 * device model); they equal device-model/include/dmm/dmm.h.
 */
#include "dmt/audit.h"

#include <stdlib.h>
#include <string.h>

#define DMMA_MAX_DEVS    16u
#define DMMA_CHANNELS    2u
#define DMMA_REG_ID      0x000u
#define DMMA_REG_CAPS    0x004u
#define DMMA_REG_IRQ_ST  0x008u
#define DMMA_CH_BASE     0x100u
#define DMMA_CH_WINDOW   0x40u
#define DMMA_CH_CTRL     0x00u
#define DMMA_CH_STATUS   0x04u
#define DMMA_CH_DESC_LO  0x08u
#define DMMA_CH_DESC_HI  0x0Cu
#define DMMA_CH_DESC_CNT 0x10u
#define DMMA_ID_MASK     0xFFFFFF00u
#define DMMA_ID_MAGIC    0x444D4100u
#define DMMA_CTRL_RUN    0x1u
#define DMMA_CTRL_RESET  0x4u
#define DMMA_ST_DONE     0x2u
#define DMMA_ST_ERR      0x4u
#define DMMA_DESC1_SIZE  32u
#define DMMA_DESC1_MAGIC 0xD5C1u
#define DMMA_DESC2_SIZE  16u
#define DMMA_DESC2_MAGIC 0xD2u

typedef struct dmma_chan {
    uint32_t lo, hi, count;
    bool running; /* a doorbell was rung and no end seen yet */
} dmma_chan;

typedef struct dmma_dev {
    uint32_t dev;
    bool used, claimed;
    uint32_t revision;
    uint32_t addr_bits; /* 0 = unknown */
    dmma_chan ch[DMMA_CHANNELS];
} dmma_dev;

typedef struct dmma {
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
    for (unsigned i = 0; i < DMMA_MAX_DEVS; i++)
        if (m->devs[i].used && m->devs[i].dev == dev)
            return &m->devs[i];
    if (!create)
        return NULL;
    for (unsigned i = 0; i < DMMA_MAX_DEVS; i++)
        if (!m->devs[i].used) {
            memset(&m->devs[i], 0, sizeof m->devs[i]);
            m->devs[i].used = true;
            m->devs[i].dev = dev;
            return &m->devs[i];
        }
    return NULL;
}

static uint32_t desc_size(uint32_t revision)
{
    return revision == 1 ? DMMA_DESC1_SIZE : revision == 2 ? DMMA_DESC2_SIZE : 0;
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
    for (unsigned c = 0; c < DMMA_CHANNELS; c++)
        if (v & (3u << (2u * c)))
            chan_event(d, c, DMT_AEV_DONE, emit, eng);
}

static void reg_write(dmma_dev *d, uint64_t off, uint64_t val, dmt_audit_dev_emit emit, void *eng)
{
    if (off < DMMA_CH_BASE || off >= DMMA_CH_BASE + DMMA_CHANNELS * DMMA_CH_WINDOW)
        return;
    unsigned c = (unsigned)((off - DMMA_CH_BASE) / DMMA_CH_WINDOW);
    dmma_chan *ch = &d->ch[c];
    switch ((off - DMMA_CH_BASE) % DMMA_CH_WINDOW) {
    case DMMA_CH_DESC_LO:
        ch->lo = (uint32_t)val;
        break;
    case DMMA_CH_DESC_HI:
        ch->hi = (uint32_t)val;
        break;
    case DMMA_CH_DESC_CNT:
        ch->count = (uint32_t)val;
        break;
    case DMMA_CH_CTRL:
        if (val & DMMA_CTRL_RESET) {
            chan_event(d, c, DMT_AEV_STOP, emit, eng);
        } else if (val & DMMA_CTRL_RUN) {
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
    if (off == DMMA_REG_IRQ_ST) {
        irq_bits(d, val, emit, eng);
        return;
    }
    if (off < DMMA_CH_BASE || off >= DMMA_CH_BASE + DMMA_CHANNELS * DMMA_CH_WINDOW)
        return;
    unsigned c = (unsigned)((off - DMMA_CH_BASE) / DMMA_CH_WINDOW);
    switch ((off - DMMA_CH_BASE) % DMMA_CH_WINDOW) {
    case DMMA_CH_STATUS:
        if (val & (DMMA_ST_DONE | DMMA_ST_ERR))
            chan_event(d, c, DMT_AEV_DONE, emit, eng);
        break;
    case DMMA_CH_CTRL:
        if (d->ch[c].running && !(val & DMMA_CTRL_RUN))
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
        if (r->off == DMMA_REG_ID) {
            dmma_dev *d = find(m, r->dev, (r->value & DMMA_ID_MASK) == DMMA_ID_MAGIC);
            if (d) {
                d->claimed = (r->value & DMMA_ID_MASK) == DMMA_ID_MAGIC &&
                             desc_size((uint32_t)(r->value & 0xFFu)) != 0;
                d->revision = (uint32_t)(r->value & 0xFFu);
            }
            return;
        }
        dmma_dev *d = find(m, r->dev, false);
        if (!d || !d->claimed)
            return;
        if (r->off == DMMA_REG_CAPS) {
            uint32_t bits = (uint32_t)(r->value >> 8) & 0xFFu;
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

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool dmma_decode(void *st, uint32_t dev, const uint8_t *b, dmt_sg_elem *out)
{
    dmma_dev *d = find(st, dev, false);
    if (!d || !d->claimed)
        return false;
    if (d->revision == 1) {
        out->len = le32(b + 4);
        out->addr = le64(b + 8);
        return (le32(b) >> 16) == DMMA_DESC1_MAGIC;
    }
    uint32_t lm = le32(b + 8);
    out->addr = le64(b);
    out->len = lm & 0xFFFFFFu;
    return (lm >> 24) == DMMA_DESC2_MAGIC;
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

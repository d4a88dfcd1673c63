/*
 * diff.c - structure-aware comparison of two traces (rpl/diff.h).
 *
 *   trace A --collector--> transfers in start order --.
 *                                                     +--> aligner --> items, counts
 *   trace B --collector--> transfers in start order --'
 *
 * A collector follows one trace: per transfer (xfer id) it sums up the
 * START_DMA request, the EXECUTE_DMA list, the channel-window register
 * writes between its EXECUTE_DMA and its doorbell (the channel is the
 * direction: dmm channel 0 moves to the device), the descriptors of the
 * DESC_WRITE into its adapter's common buffer, the channel STATUS and
 * IRQ_STATUS bits read after the doorbell, START_DMA_END, DIGEST and
 * COMPLETE_DMA.  A transfer is final at its COMPLETE_DMA, when its buffer is
 * unlocked, or at the end of the trace; final transfers are released in
 * start order once no earlier transfer is still in flight.
 *
 * The aligner keeps up to `window` released transfers of each trace and
 * matches heads on a key (direction, offset, requested, digest): equal keys
 * pair; otherwise the head found soonest in the other window marks the
 * transfers before it as present in one trace only; with no match both
 * heads pair and their differences are listed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmm/dmm.h"
#include "dmt/source.h"
#include "internal.h"
#include "rpl/diff.h"

#define MAX_INFLIGHT   4096u
#define MAX_CBS        4096u
#define MAX_SETUP      4096u
#define MAX_ADAPTERS   64u
#define RELEASE_ANYWAY 1024u /* final transfers held back before order gives way */
#define DONE_CAP       (RELEASE_ANYWAY + MAX_INFLIGHT + 64u)

const char *rpl_aspect_name(unsigned i)
{
    static const char *const n[RPL_ASP_COUNT_] = {"lengths", "sg_layout", "program", "outcome",
                                                  "data"};
    return i < RPL_ASP_COUNT_ ? n[i] : "?";
}

static uint64_t hmix(uint64_t h, uint64_t v)
{
    return dmt_splitmix64(h ^ (v + 0x9E3779B97F4A7C15ull));
}

typedef struct inflight {
    rpl_xfer_sum s;
    dmt_sg_elem *sg; /* full list, for descriptor normalisation */
    uint32_t mdl;
    int ch;
    bool doorbelled, got_status, got_irq;
    bool ring_known;
    uint64_t ring_base;
} inflight;

typedef struct cbinfo {
    uint64_t addr;
    uint32_t adapter;
} cbinfo;

typedef struct adesc {
    bool sg, dma32, dma64;
    uint64_t max_length, addr_limit;
    uint32_t map_registers;
} adesc;

typedef struct coll {
    const char *path;
    dmt_source *src;
    bool eof;
    bool addresses;
    uint64_t nrec;
    uint32_t revision;
    rpl_idmap xf, cbs;
    uint32_t pending[DMM_NUM_CHANNELS];  /* executed, not yet doorbelled */
    uint32_t awaiting[DMM_NUM_CHANNELS]; /* doorbelled, status not yet read */
    bool started;
    uint64_t setup_n, setup_hash;
    uint32_t *setup_off;
    uint64_t *setup_val;
    adesc adapters[MAX_ADAPTERS];
    uint32_t nadapters;
    rpl_xfer_sum *done; /* final, sorted by index */
    uint32_t ndone;
    rpl_diff_side side;
    bool oom; /* an allocation failed: the summaries would be wrong */
} coll;

/* ---- collector --------------------------------------------------------------- */

static int coll_open(coll *c, const char *path, bool addresses, dmt_error *err)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    c->addresses = addresses;
    c->revision = 1;
    c->setup_hash = 0;
    int rc = dmt_source_open(path, 0, &c->src, err);
    if (rc < 0)
        return rc;
    c->setup_off = malloc(MAX_SETUP * sizeof *c->setup_off);
    c->setup_val = malloc(MAX_SETUP * sizeof *c->setup_val);
    c->done = malloc(DONE_CAP * sizeof *c->done);
    if (!c->setup_off || !c->setup_val || !c->done || !rpl_idmap_init(&c->xf, MAX_INFLIGHT) ||
        !rpl_idmap_init(&c->cbs, MAX_CBS))
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    return 0;
}

static void inflight_free(inflight *f)
{
    free(f->sg);
    free(f);
}

static void coll_close(coll *c)
{
    uint32_t pos = 0;
    void *v;
    if (c->xf.slots)
        while ((v = rpl_idmap_next(&c->xf, &pos, NULL)) != NULL)
            inflight_free(v);
    pos = 0;
    if (c->cbs.slots)
        while ((v = rpl_idmap_next(&c->cbs, &pos, NULL)) != NULL)
            free(v);
    rpl_idmap_free(&c->xf);
    rpl_idmap_free(&c->cbs);
    dmt_source_close(c->src);
    free(c->setup_off);
    free(c->setup_val);
    free(c->done);
}

/* Move a transfer to the final list (kept sorted by index). */
static void finalize(coll *c, uint32_t id)
{
    inflight *f = rpl_idmap_del(&c->xf, id);
    if (!f)
        return;
    for (unsigned k = 0; k < DMM_NUM_CHANNELS; k++) {
        if (c->pending[k] == id)
            c->pending[k] = 0;
        if (c->awaiting[k] == id)
            c->awaiting[k] = 0;
    }
    if (c->ndone < DONE_CAP) {
        uint32_t i = c->ndone;
        while (i > 0 && c->done[i - 1].index > f->s.index) {
            c->done[i] = c->done[i - 1];
            i--;
        }
        c->done[i] = f->s;
        c->ndone++;
    }
    c->side.transfers++;
    if (f->s.wtd)
        c->side.to_device++;
    else
        c->side.from_device++;
    inflight_free(f);
}

static inflight *get_or_new(coll *c, uint32_t id)
{
    inflight *f = rpl_idmap_get(&c->xf, id);
    if (f)
        return f;
    if (c->xf.n >= MAX_INFLIGHT) {
        /* the oldest never completed: finalize it to stay bounded */
        uint32_t pos = 0, key, oldest = 0;
        uint64_t oi = UINT64_MAX;
        inflight *g;
        while ((g = rpl_idmap_next(&c->xf, &pos, &key)) != NULL)
            if (g->s.index < oi) {
                oi = g->s.index;
                oldest = key;
            }
        finalize(c, oldest);
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        c->oom = true;
        return NULL;
    }
    f->s.xfer = id;
    f->s.index = c->nrec;
    f->ch = -1;
    f->s.prog_hash = 0x5052;
    f->s.desc_hash = 0x4445;
    f->s.sg_layout_hash = 0x5347;
    f->s.sg_addr_hash = 0x4144;
    if (!rpl_idmap_put(&c->xf, id, f)) {
        free(f);
        return NULL;
    }
    return f;
}

static void on_exec(coll *c, const dmt_record *r)
{
    inflight *f = get_or_new(c, r->xfer);
    if (!f)
        return;
    f->s.executed = true;
    f->s.adapter = r->adapter;
    f->s.granted = r->length;
    f->s.n_sg = r->n_sg;
    free(f->sg);
    f->sg = r->n_sg ? malloc(r->n_sg * sizeof *f->sg) : NULL;
    if (r->n_sg && !f->sg)
        c->oom = true;
    size_t stride = r->sg_stride ? r->sg_stride : sizeof(dmt_sg_elem);
    uint64_t hl = 0x5347, ha = 0x4144, bytes = 0;
    for (uint32_t i = 0; i < r->n_sg; i++) {
        dmt_sg_elem e;
        const uint8_t *p = (const uint8_t *)r->sg_list + i * stride;
        memcpy(&e.addr, p, 8);
        memcpy(&e.len, p + 8, 4);
        if (f->sg)
            f->sg[i] = e;
        if (i < RPL_DIFF_SHOW)
            f->s.sg[i] = e;
        hl = hmix(hmix(hl, e.len), e.addr & (DMT_PAGE_SIZE - 1));
        ha = hmix(ha, e.addr);
        bytes += e.len;
    }
    f->s.sg_layout_hash = hmix(hl, r->n_sg);
    f->s.sg_addr_hash = ha;
    f->s.sg_bytes = bytes;
    if (f->ch >= 0)
        c->pending[f->ch] = r->xfer;
}

static void on_desc(coll *c, const dmt_record *r)
{
    cbinfo *cb = rpl_idmap_get(&c->cbs, r->cb);
    if (!cb)
        return;
    inflight *f = NULL;
    for (unsigned k = 0; k < DMM_NUM_CHANNELS; k++) {
        inflight *g = c->pending[k] ? rpl_idmap_get(&c->xf, c->pending[k]) : NULL;
        if (g && g->s.adapter == cb->adapter && (!f || g->s.xfer > f->s.xfer))
            f = g;
    }
    if (!f)
        return;
    if (!f->ring_known) {
        f->ring_known = true;
        f->ring_base = cb->addr + r->offset;
    }
    size_t dsz = dmm_desc_size(c->revision);
    if (!dsz)
        return;
    uint32_t nd = (uint32_t)(r->n_bytes / dsz);
    uint32_t k = 0;
    uint64_t o = 0;
    for (uint32_t i = 0; i < nd; i++) {
        dmm_desc d;
        dmm_desc_decode(c->revision, r->bytes + (size_t)i * dsz, &d);
        /* position of the host address in the SG list */
        int64_t ek = -1;
        uint64_t eo = d.host_addr;
        if (!c->addresses && f->sg) {
            if (k < f->s.n_sg && d.host_addr == f->sg[k].addr + o) {
                ek = k;
                eo = o;
            } else {
                for (uint32_t j = 0; j < f->s.n_sg; j++)
                    if (d.host_addr >= f->sg[j].addr &&
                        d.host_addr - f->sg[j].addr < f->sg[j].len) {
                        ek = j;
                        eo = d.host_addr - f->sg[j].addr;
                        break;
                    }
                if (ek < 0)
                    eo = d.host_addr & (DMT_PAGE_SIZE - 1);
            }
            if (ek >= 0) {
                k = (uint32_t)ek;
                o = eo + d.len;
                while (k < f->s.n_sg && o >= f->sg[k].len) {
                    o -= f->sg[k].len;
                    k++;
                }
            }
        }
        f->s.desc_hash = hmix(
            hmix(hmix(hmix(hmix(f->s.desc_hash, (uint64_t)ek), eo), d.len), d.dev_off), d.magic_ok);
        f->s.n_desc++;
    }
}

static void prog_write(inflight *f, uint32_t reg, uint64_t v, bool addresses)
{
    uint64_t nv = v;
    if (!addresses && f->ring_known) {
        if (reg == DMM_CH_DESC_LO)
            nv = (uint32_t)(v - (uint32_t)f->ring_base);
        else if (reg == DMM_CH_DESC_HI)
            nv = (uint32_t)(v - (uint32_t)(f->ring_base >> 32));
    }
    if (f->s.n_prog < RPL_DIFF_SHOW) {
        f->s.prog_off[f->s.n_prog] = reg;
        f->s.prog_val[f->s.n_prog] = nv;
    }
    f->s.n_prog++;
    f->s.prog_hash = hmix(hmix(f->s.prog_hash, reg), nv);
}

static void on_reg(coll *c, const dmt_record *r)
{
    bool buf = r->kind == DMT_K_REG_WRITE_BUF || r->kind == DMT_K_REG_READ_BUF;
    bool read = r->kind == DMT_K_REG_READ || r->kind == DMT_K_REG_READ_BUF;
    uint32_t n = buf ? r->n_values : 1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t off = r->off + (uint64_t)i * 4u;
        uint64_t v = buf ? r->values[i] : r->value;
        if (read) {
            if (off == DMM_REG_ID && (v & 0xFFFFFF00u) == DMM_ID_MAGIC &&
                dmm_desc_size((uint32_t)(v & 0xFF)))
                c->revision = (uint32_t)(v & 0xFF);
            if (off >= DMM_CH_BASE(0) && off < DMM_CH_BASE(DMM_NUM_CHANNELS) &&
                (off - DMM_CH_BASE(0)) % 0x40u == DMM_CH_STATUS) {
                unsigned k = (unsigned)((off - DMM_CH_BASE(0)) / 0x40u);
                inflight *f = c->awaiting[k] ? rpl_idmap_get(&c->xf, c->awaiting[k]) : NULL;
                if (f && !f->got_status) {
                    f->got_status = true;
                    f->s.has_status = true;
                    f->s.ch_status = (uint32_t)v;
                }
            } else if (off == DMM_REG_IRQ_STATUS) {
                for (unsigned k = 0; k < DMM_NUM_CHANNELS; k++) {
                    inflight *f = c->awaiting[k] ? rpl_idmap_get(&c->xf, c->awaiting[k]) : NULL;
                    uint32_t bits = (uint32_t)(v >> (2u * k)) & 3u;
                    if (f && !f->got_irq && bits) {
                        f->got_irq = true;
                        f->s.irq_bits = bits;
                    }
                }
            }
            continue;
        }
        if (!c->started) {
            if (c->setup_n < MAX_SETUP) {
                c->setup_off[c->setup_n] = (uint32_t)off;
                c->setup_val[c->setup_n] = v;
            }
            c->setup_n++;
            c->setup_hash = hmix(hmix(c->setup_hash, off), v);
            continue;
        }
        if (off >= DMM_CH_BASE(0) && off < DMM_CH_BASE(DMM_NUM_CHANNELS)) {
            unsigned k = (unsigned)((off - DMM_CH_BASE(0)) / 0x40u);
            uint32_t reg = (uint32_t)((off - DMM_CH_BASE(0)) % 0x40u);
            inflight *f = c->pending[k] ? rpl_idmap_get(&c->xf, c->pending[k]) : NULL;
            if (f && reg != DMM_CH_STATUS)
                prog_write(f, reg, v, c->addresses);
            if (reg == DMM_CH_CTRL && (v & DMM_CTRL_RUN) && !(v & DMM_CTRL_RESET) && f) {
                f->doorbelled = true;
                c->awaiting[k] = f->s.xfer;
                c->pending[k] = 0;
            }
        }
    }
}

static void on_record(coll *c, const dmt_record *r)
{
    switch (r->kind) {
    case DMT_K_REG_WRITE:
    case DMT_K_REG_READ:
    case DMT_K_REG_WRITE_BUF:
    case DMT_K_REG_READ_BUF:
        on_reg(c, r);
        break;
    case DMT_K_START_DMA: {
        c->started = true;
        if (rpl_idmap_get(&c->xf, r->xfer))
            finalize(c, r->xfer);
        inflight *f = get_or_new(c, r->xfer);
        if (!f)
            break;
        f->s.have_start = true;
        f->s.adapter = r->adapter;
        f->s.offset = r->offset;
        f->s.requested = r->length;
        f->s.wtd = r->write_to_device;
        f->mdl = r->mdl;
        f->ch = r->write_to_device ? DMM_CH_H2C : DMM_CH_C2H;
        break;
    }
    case DMT_K_EXECUTE_DMA:
        on_exec(c, r);
        break;
    case DMT_K_START_DMA_END: {
        inflight *f = rpl_idmap_get(&c->xf, r->xfer);
        if (f) {
            f->s.end_status = r->status;
            f->s.end_length = r->length;
        }
        break;
    }
    case DMT_K_DIGEST: {
        inflight *f = rpl_idmap_get(&c->xf, r->xfer);
        /* policy off: the value is no digest (bounded ones of the same
         * length cover the same ranges: comparable) */
        if (f && r->digest_policy != DMT_DIGEST_OFF) {
            f->s.has_digest = true;
            f->s.digest = r->value;
            f->s.digest_len = r->length;
        }
        break;
    }
    case DMT_K_COMPLETE_DMA: {
        inflight *f = rpl_idmap_get(&c->xf, r->xfer);
        if (f) {
            f->s.completed = true;
            f->s.complete_status = r->status;
            /* the ISR's status read may come after CompleteDma only with a
             * driver that completes early; keep waiting for it then */
            if (!f->doorbelled || f->got_status)
                finalize(c, r->xfer);
        }
        break;
    }
    case DMT_K_BUFFER_UNLOCK: {
        uint32_t ids[64], n;
        do {
            n = 0;
            uint32_t pos = 0, key;
            inflight *f;
            while (n < 64 && (f = rpl_idmap_next(&c->xf, &pos, &key)) != NULL)
                if (f->mdl == r->mdl && f->s.have_start)
                    ids[n++] = key;
            for (uint32_t i = 0; i < n; i++)
                finalize(c, ids[i]);
        } while (n == 64);
        break;
    }
    case DMT_K_COMMON_ALLOC: {
        cbinfo *cb = rpl_idmap_get(&c->cbs, r->cb);
        if (!cb) {
            cb = calloc(1, sizeof *cb);
            if (!cb)
                c->oom = true;
            if (!cb || !rpl_idmap_put(&c->cbs, r->cb, cb)) {
                free(cb);
                break;
            }
        }
        cb->addr = r->addr;
        cb->adapter = r->adapter;
        break;
    }
    case DMT_K_COMMON_RELEASE:
        free(rpl_idmap_del(&c->cbs, r->cb));
        break;
    case DMT_K_DESC_WRITE:
        on_desc(c, r);
        break;
    case DMT_K_ADAPTER_CREATE:
        if (c->nadapters < MAX_ADAPTERS) {
            adesc *a = &c->adapters[c->nadapters];
            a->sg = r->sg;
            a->dma32 = r->dma32;
            a->dma64 = r->dma64;
            a->max_length = r->length;
            a->addr_limit = r->addr_limit;
            a->map_registers = r->map_registers;
        }
        c->nadapters++;
        break;
    default:
        break;
    }
    /* a channel STATUS read that finalises an early-completed transfer */
    for (unsigned k = 0; k < DMM_NUM_CHANNELS; k++) {
        inflight *f = c->awaiting[k] ? rpl_idmap_get(&c->xf, c->awaiting[k]) : NULL;
        if (f && f->s.completed && f->got_status)
            finalize(c, f->s.xfer);
    }
}

/* Read until at least one final transfer can be released or the end. */
static int coll_pump(coll *c, dmt_error *err)
{
    dmt_record r;
    int rc = dmt_source_next(c->src, &r, NULL, err);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        c->eof = true;
        /* everything still in flight is final now */
        uint32_t ids[64], n;
        do {
            n = 0;
            uint32_t pos = 0, key;
            while (n < 64 && rpl_idmap_next(&c->xf, &pos, &key) != NULL)
                ids[n++] = key;
            for (uint32_t i = 0; i < n; i++)
                finalize(c, ids[i]);
        } while (n == 64);
        return 0;
    }
    if (r.kind == DMT_K_CHUNK || r.kind == DMT_K_END)
        return 1;
    on_record(c, &r);
    c->nrec++;
    if (c->oom)
        return dmt_error_set(err, DMT_E_NOMEM, r.pos, c->nrec - 1, "out of memory");
    return 1;
}

/* How many of the final transfers may be released (all earlier ones final). */
static uint32_t coll_releasable(coll *c)
{
    if (c->eof || c->ndone >= RELEASE_ANYWAY)
        return c->ndone; /* a transfer in flight for very long no longer holds the rest */
    uint64_t lim = UINT64_MAX;
    uint32_t pos = 0;
    inflight *f;
    while ((f = rpl_idmap_next(&c->xf, &pos, NULL)) != NULL)
        if (f->s.index < lim)
            lim = f->s.index;
    uint32_t k = 0;
    while (k < c->ndone && c->done[k].index < lim)
        k++;
    return k;
}

/* ---- aligner ------------------------------------------------------------------ */

typedef struct queue {
    rpl_xfer_sum *q;
    uint32_t n, cap;
} queue;

/* Fill q from c up to want items (or the end). */
static int fill(coll *c, queue *q, uint32_t want, dmt_error *err)
{
    while (q->n < want) {
        uint32_t k = coll_releasable(c);
        if (k) {
            uint32_t take = want - q->n < k ? want - q->n : k;
            memcpy(q->q + q->n, c->done, take * sizeof *q->q);
            memmove(c->done, c->done + take, (c->ndone - take) * sizeof *c->done);
            c->ndone -= take;
            q->n += take;
            continue;
        }
        if (c->eof)
            break;
        /* read a batch of records before checking again */
        for (int i = 0; i < 256 && !c->eof; i++) {
            int rc = coll_pump(c, err);
            if (rc < 0)
                return rc;
            if (c->ndone && i >= 16)
                break;
        }
    }
    return 0;
}

static void pop(queue *q, uint32_t k)
{
    memmove(q->q, q->q + k, (q->n - k) * sizeof *q->q);
    q->n -= k;
}

static bool same_key(const rpl_xfer_sum *a, const rpl_xfer_sum *b)
{
    if (a->wtd != b->wtd || a->offset != b->offset || a->requested != b->requested)
        return false;
    if (a->has_digest && b->has_digest && a->digest != b->digest)
        return false;
    return true;
}

static unsigned compare(const rpl_xfer_sum *a, const rpl_xfer_sum *b, bool addresses)
{
    unsigned m = 0;
    if (a->offset != b->offset || a->requested != b->requested || a->granted != b->granted ||
        a->end_length != b->end_length || a->wtd != b->wtd)
        m |= RPL_ASP_LENGTHS;
    if (a->n_sg != b->n_sg || a->sg_layout_hash != b->sg_layout_hash ||
        (addresses && a->sg_addr_hash != b->sg_addr_hash))
        m |= RPL_ASP_SG;
    if (a->n_prog != b->n_prog || a->prog_hash != b->prog_hash || a->n_desc != b->n_desc ||
        a->desc_hash != b->desc_hash)
        m |= RPL_ASP_PROGRAM;
    if (a->end_status != b->end_status || a->completed != b->completed ||
        a->complete_status != b->complete_status || a->has_status != b->has_status ||
        a->ch_status != b->ch_status || a->irq_bits != b->irq_bits || a->executed != b->executed)
        m |= RPL_ASP_OUTCOME;
    if (a->has_digest != b->has_digest || a->digest != b->digest || a->digest_len != b->digest_len)
        m |= RPL_ASP_DATA;
    return m;
}

static void add_item(rpl_diff_result *res, unsigned max_items, int kind, unsigned aspects,
                     const rpl_xfer_sum *a, const rpl_xfer_sum *b)
{
    if (res->n_items >= max_items) {
        res->items_dropped++;
        return;
    }
    rpl_diff_item *it = &res->items[res->n_items++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->aspects = aspects;
    if (a)
        it->a = *a;
    if (b)
        it->b = *b;
}

static void compare_setup(rpl_diff_result *res, const coll *a, const coll *b)
{
    if (a->setup_n == b->setup_n && a->setup_hash == b->setup_hash)
        return;
    res->setup_differs = true;
    uint64_t n = a->setup_n < b->setup_n ? a->setup_n : b->setup_n;
    uint64_t lim = n < MAX_SETUP ? n : MAX_SETUP;
    uint64_t i = 0;
    while (i < lim && a->setup_off[i] == b->setup_off[i] && a->setup_val[i] == b->setup_val[i])
        i++;
    res->setup_first = i;
    char na[160] = "", nb[160] = "";
    if (i < lim) {
        rpl_map_name(&res->names, na, sizeof na, a->setup_off[i]);
        rpl_map_name(&res->names, nb, sizeof nb, b->setup_off[i]);
        rpl_sb t;
        rpl_sb_init(&t, res->setup_text, sizeof res->setup_text);
        rpl_sb_put(&t,
                   "register write %" PRIu64 " before the first transfer: A %s(0x%x)=0x%" PRIx64
                   ", B %s(0x%x)=0x%" PRIx64,
                   i, na, a->setup_off[i], a->setup_val[i], nb, b->setup_off[i], b->setup_val[i]);
        char delta[160];
        if (a->setup_off[i] == b->setup_off[i] &&
            rpl_map_delta(&res->names, delta, sizeof delta, a->setup_off[i], a->setup_val[i],
                          b->setup_val[i]))
            rpl_sb_put(&t, " (%s)", delta);
    } else {
        snprintf(res->setup_text, sizeof res->setup_text,
                 "register writes before the first transfer: A %" PRIu64 ", B %" PRIu64, a->setup_n,
                 b->setup_n);
    }
}

static void compare_adapters(rpl_diff_result *res, const coll *a, const coll *b)
{
    uint32_t n = a->nadapters < b->nadapters ? a->nadapters : b->nadapters;
    if (n > MAX_ADAPTERS)
        n = MAX_ADAPTERS;
    for (uint32_t i = 0; i < n; i++) {
        const adesc *x = &a->adapters[i], *y = &b->adapters[i];
        if (x->sg != y->sg || x->dma32 != y->dma32 || x->dma64 != y->dma64 ||
            x->max_length != y->max_length || x->map_registers != y->map_registers ||
            x->addr_limit != y->addr_limit) {
            res->adapters_differ = true;
            snprintf(res->adapters_text, sizeof res->adapters_text,
                     "adapter %u: A sg=%d dma32=%d dma64=%d max_length=%" PRIu64
                     " map_registers=%u limit=0x%" PRIx64 "; B sg=%d dma32=%d dma64=%d "
                     "max_length=%" PRIu64 " map_registers=%u limit=0x%" PRIx64,
                     i, x->sg, x->dma32, x->dma64, x->max_length, x->map_registers, x->addr_limit,
                     y->sg, y->dma32, y->dma64, y->max_length, y->map_registers, y->addr_limit);
            return;
        }
    }
    if (a->nadapters != b->nadapters) {
        res->adapters_differ = true;
        snprintf(res->adapters_text, sizeof res->adapters_text, "DMA adapters: A %u, B %u",
                 a->nadapters, b->nadapters);
    }
}

int rpl_diff_files(const char *pa, const char *pb, const rpl_diff_opts *o, rpl_diff_result **out,
                   dmt_error *err, const char **failed)
{
    const char *dummy;
    if (!failed)
        failed = &dummy;
    *failed = NULL;
    rpl_diff_opts opts = {0};
    if (o)
        opts = *o;
    if (!opts.window)
        opts.window = 64;
    if (opts.window > 1024)
        opts.window = 1024;
    if (!opts.max_items)
        opts.max_items = 1000;
    *out = NULL;
    coll *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    rpl_diff_result *res = calloc(1, sizeof *res);
    queue qa = {0}, qb = {0};
    int rc = DMT_E_NOMEM;
    if (!a || !b || !res)
        goto oom;
    res->names = opts.names;
    res->items = calloc(opts.max_items, sizeof *res->items);
    qa.q = malloc(opts.window * sizeof *qa.q);
    qb.q = malloc(opts.window * sizeof *qb.q);
    if (!res->items || !qa.q || !qb.q)
        goto oom;
    rc = coll_open(a, pa, opts.addresses, err);
    if (rc < 0) {
        *failed = pa;
        goto out;
    }
    rc = coll_open(b, pb, opts.addresses, err);
    if (rc < 0) {
        *failed = pb;
        goto out;
    }
    const uint32_t W = opts.window;
    for (;;) {
        if ((rc = fill(a, &qa, W, err)) < 0) {
            *failed = pa;
            goto out;
        }
        if ((rc = fill(b, &qb, W, err)) < 0) {
            *failed = pb;
            goto out;
        }
        if (qa.n == 0 && qb.n == 0)
            break;
        if (qa.n == 0 || qb.n == 0) {
            queue *q = qa.n ? &qa : &qb;
            for (uint32_t i = 0; i < q->n; i++) {
                if (q == &qa) {
                    res->only_a++;
                    add_item(res, opts.max_items, RPL_DIFF_ONLY_A, 0, &q->q[i], NULL);
                } else {
                    res->only_b++;
                    add_item(res, opts.max_items, RPL_DIFF_ONLY_B, 0, NULL, &q->q[i]);
                }
            }
            q->n = 0;
            continue;
        }
        const rpl_xfer_sum *x = &qa.q[0], *y = &qb.q[0];
        if (!same_key(x, y)) {
            uint32_t ja = 0, ib = 0;
            for (uint32_t j = 1; j < qb.n && !ja; j++)
                if (same_key(x, &qb.q[j]))
                    ja = j;
            for (uint32_t i = 1; i < qa.n && !ib; i++)
                if (same_key(&qa.q[i], y))
                    ib = i;
            if (ja && (!ib || ja <= ib)) {
                for (uint32_t j = 0; j < ja; j++) {
                    res->only_b++;
                    add_item(res, opts.max_items, RPL_DIFF_ONLY_B, 0, NULL, &qb.q[j]);
                }
                pop(&qb, ja);
                continue;
            }
            if (ib) {
                for (uint32_t i = 0; i < ib; i++) {
                    res->only_a++;
                    add_item(res, opts.max_items, RPL_DIFF_ONLY_A, 0, &qa.q[i], NULL);
                }
                pop(&qa, ib);
                continue;
            }
        }
        unsigned m = compare(x, y, opts.addresses);
        if (m) {
            res->differ++;
            for (unsigned i = 0; i < RPL_ASP_COUNT_; i++)
                if (m & (1u << i))
                    res->aspect_count[i]++;
            add_item(res, opts.max_items, RPL_DIFF_DIFFER, m, x, y);
        } else {
            res->equal++;
        }
        pop(&qa, 1);
        pop(&qb, 1);
    }
    compare_setup(res, a, b);
    compare_adapters(res, a, b);
    a->side.records = a->nrec;
    b->side.records = b->nrec;
    a->side.setup_writes = a->setup_n;
    b->side.setup_writes = b->setup_n;
    a->side.adapters = a->nadapters;
    b->side.adapters = b->nadapters;
    res->a = a->side;
    res->b = b->side;
    rc = 0;
    goto out;
oom:
    dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    rc = DMT_E_NOMEM;
out:
    if (a)
        coll_close(a);
    if (b)
        coll_close(b);
    free(a);
    free(b);
    free(qa.q);
    free(qb.q);
    if (rc < 0) {
        rpl_diff_free(res);
        return rc;
    }
    *out = res;
    return 0;
}

void rpl_diff_free(rpl_diff_result *res)
{
    if (!res)
        return;
    free(res->items);
    free(res);
}

bool rpl_diff_any(const rpl_diff_result *res)
{
    return res->differ || res->only_a || res->only_b || res->setup_differs || res->adapters_differ;
}

/* ---- renderings ------------------------------------------------------------------ */

static const char *dir(const rpl_xfer_sum *s)
{
    return s->wtd ? "to-device" : "from-device";
}

static void show_sg(rpl_str *s, const rpl_xfer_sum *x)
{
    rpl_str_add(s, "%u elements [", x->n_sg);
    for (uint32_t i = 0; i < x->n_sg && i < RPL_DIFF_SHOW; i++)
        rpl_str_add(s, "%s0x%x@+0x%03" PRIx64, i ? " " : "", x->sg[i].len,
                    x->sg[i].addr & (DMT_PAGE_SIZE - 1));
    rpl_str_add(s, "%s]", x->n_sg > RPL_DIFF_SHOW ? " ..." : "");
}

/* prog_off is an offset in the channel window: named as channel 0's
 * register, without the channel ("CH[0].DESC_LO" -> "DESC_LO"). */
static void show_prog(rpl_str *s, const rpl_regmap *names, const rpl_xfer_sum *x)
{
    rpl_str_add(s, "%u writes [", x->n_prog);
    for (uint32_t i = 0; i < x->n_prog && i < RPL_DIFF_SHOW; i++) {
        char name[160] = "";
        if (x->prog_off[i] < DMM_CH_WINDOW)
            rpl_map_name(names, name, sizeof name, DMM_CH_BASE(0) + x->prog_off[i]);
        const char *dot = strrchr(name, '.');
        if (name[0])
            rpl_str_add(s, "%s%s=0x%" PRIx64, i ? " " : "", dot ? dot + 1 : name, x->prog_val[i]);
        else
            rpl_str_add(s, "%s+0x%x=0x%" PRIx64, i ? " " : "", x->prog_off[i], x->prog_val[i]);
    }
    rpl_str_add(s, "%s], %u descriptors", x->n_prog > RPL_DIFF_SHOW ? " ..." : "", x->n_desc);
}

static void show_outcome(rpl_str *s, const rpl_regmap *names, const rpl_xfer_sum *x)
{
    char ex[256] = "";
    if (x->has_status)
        rpl_map_explain(names, ex, sizeof ex, DMM_CH_BASE(x->wtd ? 0 : 1) + DMM_CH_STATUS,
                        x->ch_status);
    rpl_str_add(s, "start status 0x%x, %s", x->end_status, x->has_status ? ex : "no status read");
    if (x->irq_bits)
        rpl_str_add(s, ", irq %s%s", x->irq_bits & 1 ? "done" : "",
                    x->irq_bits & 2 ? (x->irq_bits & 1 ? "+error" : "error") : "");
    rpl_str_add(s, ", %s", x->completed ? "completed" : "never completed");
    if (x->completed && x->complete_status)
        rpl_str_add(s, " (status 0x%x)", x->complete_status);
}

static void item_text(rpl_str *s, const rpl_regmap *names, const rpl_diff_item *it)
{
    const rpl_xfer_sum *a = &it->a, *b = &it->b;
    if (it->kind == RPL_DIFF_ONLY_A || it->kind == RPL_DIFF_ONLY_B) {
        const rpl_xfer_sum *x = it->kind == RPL_DIFF_ONLY_A ? a : b;
        rpl_str_add(s,
                    "only in %c: xfer %u (record %" PRIu64 "), %s, offset %" PRIu64
                    ", requested %" PRIu64 ", granted %" PRIu64 "\n",
                    it->kind == RPL_DIFF_ONLY_A ? 'A' : 'B', x->xfer, x->index, dir(x), x->offset,
                    x->requested, x->granted);
        return;
    }
    rpl_str_add(s, "xfer %u (A record %" PRIu64 ") ~ xfer %u (B record %" PRIu64 "), %s:", a->xfer,
                a->index, b->xfer, b->index, dir(a));
    bool first = true;
    for (unsigned i = 0; i < RPL_ASP_COUNT_; i++)
        if (it->aspects & (1u << i)) {
            rpl_str_add(s, "%s %s", first ? "" : ",", rpl_aspect_name(i));
            first = false;
        }
    rpl_str_add(s, "\n");
    if (it->aspects & RPL_ASP_LENGTHS) {
        rpl_str_add(s,
                    "  lengths:   A offset %" PRIu64 " requested %" PRIu64 " granted %" PRIu64
                    " final %" PRIu64 "\n",
                    a->offset, a->requested, a->granted, a->end_length);
        rpl_str_add(s,
                    "             B offset %" PRIu64 " requested %" PRIu64 " granted %" PRIu64
                    " final %" PRIu64 "\n",
                    b->offset, b->requested, b->granted, b->end_length);
    }
    if (it->aspects & RPL_ASP_SG) {
        rpl_str_add(s, "  sg_layout: A ");
        show_sg(s, a);
        rpl_str_add(s, "\n             B ");
        show_sg(s, b);
        rpl_str_add(s, "\n");
    }
    if (it->aspects & RPL_ASP_PROGRAM) {
        rpl_str_add(s, "  program:   A ");
        show_prog(s, names, a);
        rpl_str_add(s, "\n             B ");
        show_prog(s, names, b);
        rpl_str_add(s, "\n");
    }
    if (it->aspects & RPL_ASP_OUTCOME) {
        rpl_str_add(s, "  outcome:   A ");
        show_outcome(s, names, a);
        rpl_str_add(s, "\n             B ");
        show_outcome(s, names, b);
        rpl_str_add(s, "\n");
    }
    if (it->aspects & RPL_ASP_DATA) {
        rpl_str_add(s, "  data:      A ");
        if (a->has_digest)
            rpl_str_add(s, "digest 0x%016" PRIx64 " over %" PRIu64 " bytes", a->digest,
                        a->digest_len);
        else
            rpl_str_add(s, "no digest");
        rpl_str_add(s, "\n             B ");
        if (b->has_digest)
            rpl_str_add(s, "digest 0x%016" PRIx64 " over %" PRIu64 " bytes", b->digest,
                        b->digest_len);
        else
            rpl_str_add(s, "no digest");
        rpl_str_add(s, "\n");
    }
}

void rpl_diff_text(rpl_str *s, const rpl_diff_result *res, const char *pa, const char *pb)
{
    rpl_str_add(s,
                "A: %s: %" PRIu64 " records, %" PRIu64 " transfers (%" PRIu64 " to-device, %" PRIu64
                " from-device)\n",
                pa, res->a.records, res->a.transfers, res->a.to_device, res->a.from_device);
    rpl_str_add(s,
                "B: %s: %" PRIu64 " records, %" PRIu64 " transfers (%" PRIu64 " to-device, %" PRIu64
                " from-device)\n",
                pb, res->b.records, res->b.transfers, res->b.to_device, res->b.from_device);
    if (res->adapters_differ)
        rpl_str_add(s, "%s\n", res->adapters_text);
    if (res->setup_differs)
        rpl_str_add(s, "%s\n", res->setup_text);
    for (uint64_t i = 0; i < res->n_items; i++)
        item_text(s, &res->names, &res->items[i]);
    if (res->items_dropped)
        rpl_str_add(s, "(%" PRIu64 " more differences not shown)\n", res->items_dropped);
    rpl_str_add(s, "summary: %" PRIu64 " equal, %" PRIu64 " differ", res->equal, res->differ);
    if (res->differ) {
        rpl_str_add(s, " (");
        bool first = true;
        for (unsigned i = 0; i < RPL_ASP_COUNT_; i++)
            if (res->aspect_count[i]) {
                rpl_str_add(s, "%s%s %" PRIu64, first ? "" : ", ", rpl_aspect_name(i),
                            res->aspect_count[i]);
                first = false;
            }
        rpl_str_add(s, ")");
    }
    rpl_str_add(s, ", %" PRIu64 " only in A, %" PRIu64 " only in B; the traces %s\n", res->only_a,
                res->only_b, rpl_diff_any(res) ? "differ" : "are equal");
}

static void json_sum(rpl_str *s, const rpl_xfer_sum *x)
{
    rpl_str_add(s,
                "{\"xfer\":%u,\"record\":%" PRIu64 ",\"direction\":\"%s\",\"offset\":%" PRIu64
                ",\"requested\":%" PRIu64 ",\"granted\":%" PRIu64 ",\"final_length\":%" PRIu64
                ",\"sg_elements\":%u,\"sg_bytes\":%" PRIu64 ",\"sg\":[",
                x->xfer, x->index, dir(x), x->offset, x->requested, x->granted, x->end_length,
                x->n_sg, x->sg_bytes);
    for (uint32_t i = 0; i < x->n_sg && i < RPL_DIFF_SHOW; i++)
        rpl_str_add(s, "%s{\"addr\":%" PRIu64 ",\"len\":%u}", i ? "," : "", x->sg[i].addr,
                    x->sg[i].len);
    rpl_str_add(s, "],\"register_writes\":%u,\"writes\":[", x->n_prog);
    for (uint32_t i = 0; i < x->n_prog && i < RPL_DIFF_SHOW; i++)
        rpl_str_add(s, "%s{\"reg\":%u,\"value\":%" PRIu64 "}", i ? "," : "", x->prog_off[i],
                    x->prog_val[i]);
    rpl_str_add(s,
                "],\"descriptors\":%u,\"start_status\":%u,\"status_read\":%s,\"status\":%u"
                ",\"irq_bits\":%u,\"completed\":%s,\"complete_status\":%u",
                x->n_desc, x->end_status, x->has_status ? "true" : "false", x->ch_status,
                x->irq_bits, x->completed ? "true" : "false", x->complete_status);
    if (x->has_digest)
        rpl_str_add(s, ",\"digest\":\"0x%016" PRIx64 "\",\"digest_length\":%" PRIu64, x->digest,
                    x->digest_len);
    rpl_str_add(s, "}");
}

void rpl_diff_json(rpl_str *s, const rpl_diff_result *res, const char *pa, const char *pb)
{
    rpl_str_add(s, "{\"format\":\"dmatrace-diff-1\",\"a\":{\"file\":");
    rpl_str_json(s, pa);
    rpl_str_add(s,
                ",\"records\":%" PRIu64 ",\"transfers\":%" PRIu64 ",\"to_device\":%" PRIu64
                ",\"from_device\":%" PRIu64 "},\"b\":{\"file\":",
                res->a.records, res->a.transfers, res->a.to_device, res->a.from_device);
    rpl_str_json(s, pb);
    rpl_str_add(s,
                ",\"records\":%" PRIu64 ",\"transfers\":%" PRIu64 ",\"to_device\":%" PRIu64
                ",\"from_device\":%" PRIu64 "}",
                res->b.records, res->b.transfers, res->b.to_device, res->b.from_device);
    rpl_str_add(s,
                ",\"equal\":%s,\"same\":%" PRIu64 ",\"differ\":%" PRIu64 ",\"only_a\":%" PRIu64
                ",\"only_b\":%" PRIu64 ",\"aspects\":{",
                rpl_diff_any(res) ? "false" : "true", res->equal, res->differ, res->only_a,
                res->only_b);
    for (unsigned i = 0; i < RPL_ASP_COUNT_; i++)
        rpl_str_add(s, "%s\"%s\":%" PRIu64, i ? "," : "", rpl_aspect_name(i), res->aspect_count[i]);
    rpl_str_add(s, "},\"setup_differs\":%s", res->setup_differs ? "true" : "false");
    if (res->setup_differs) {
        rpl_str_add(s, ",\"setup\":");
        rpl_str_json(s, res->setup_text);
    }
    rpl_str_add(s, ",\"adapters_differ\":%s", res->adapters_differ ? "true" : "false");
    if (res->adapters_differ) {
        rpl_str_add(s, ",\"adapters\":");
        rpl_str_json(s, res->adapters_text);
    }
    rpl_str_add(s, ",\"items_dropped\":%" PRIu64 ",\"items\":[", res->items_dropped);
    for (uint64_t i = 0; i < res->n_items; i++) {
        const rpl_diff_item *it = &res->items[i];
        static const char *const kinds[] = {"", "differ", "only_a", "only_b"};
        rpl_str_add(s, "%s{\"kind\":\"%s\",\"aspects\":[", i ? "," : "", kinds[it->kind]);
        bool first = true;
        for (unsigned k = 0; k < RPL_ASP_COUNT_; k++)
            if (it->aspects & (1u << k)) {
                rpl_str_add(s, "%s\"%s\"", first ? "" : ",", rpl_aspect_name(k));
                first = false;
            }
        rpl_str_add(s, "]");
        if (it->kind != RPL_DIFF_ONLY_B) {
            rpl_str_add(s, ",\"a\":");
            json_sum(s, &it->a);
        }
        if (it->kind != RPL_DIFF_ONLY_A) {
            rpl_str_add(s, ",\"b\":");
            json_sum(s, &it->b);
        }
        rpl_str_add(s, "}");
    }
    rpl_str_add(s, "]}\n");
}

/*
 * audit.c - the audit rules engine (see dmt/audit.h): object tables, the
 * record handlers and the findings they raise.
 *
 * State, all bounded (caps in dmt_audit_config):
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
 * Uncertainty: a LOST record may hide any record, so a finding whose
 * evidence spans records (a missing CompleteDma, an unknown MDL) is marked
 * uncertain when a LOST record lies inside that span; findings about objects
 * the engine never saw created are uncertain when records were lost before,
 * a table cap evicted objects, or the trace started after sequence 0.
 * Findings about one record's own contents (layout rules) are never
 * uncertain.  Descriptor comparisons start their evidence at the oldest write
 * of the bytes compared (each shadow keeps, per SHADOW_SLOT bytes, the
 * sequence number of the write that last touched them).  Records involved
 * are named by sequence number, the store's key.
 *
 * Tables are open-addressing hash maps (linear probing, backward-shift
 * deletion) from id to a slot of a fixed pool with a stack of free slots; a
 * full pool evicts (counted, and from then on "unknown object" findings are
 * uncertain).
 */
#include "audit_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEVS       64u
#define MAX_CHANNELS   64u
#define RECENT_DONE    1024u      /* completed transfer ids remembered for complete-twice */
#define SHADOW_SLOT    16u        /* granularity of the shadow's write times */
#define OVERLAP_BUDGET (1u << 18) /* element lookups per ExecuteDma for inflight-overlap */

/* ---- id maps ------------------------------------------------------------------ */

typedef struct idmap {
    uint32_t *keys; /* 0 = empty */
    uint32_t *vals;
    uint32_t mask;
} idmap;

static bool idmap_init(idmap *m, uint32_t cap)
{
    uint32_t n = 16;
    while (n < cap * 2)
        n <<= 1;
    m->keys = calloc(n, sizeof(uint32_t));
    m->vals = calloc(n, sizeof(uint32_t));
    m->mask = n - 1;
    return m->keys && m->vals;
}

static void idmap_free(idmap *m)
{
    free(m->keys);
    free(m->vals);
}

static uint32_t hash32(uint32_t k)
{
    k ^= k >> 16;
    k *= 0x7feb352dU;
    k ^= k >> 15;
    k *= 0x846ca68bU;
    k ^= k >> 16;
    return k;
}

static bool idmap_get(const idmap *m, uint32_t key, uint32_t *val)
{
    for (uint32_t i = hash32(key) & m->mask;; i = (i + 1) & m->mask) {
        if (m->keys[i] == 0)
            return false;
        if (m->keys[i] == key) {
            *val = m->vals[i];
            return true;
        }
    }
}

static void idmap_put(idmap *m, uint32_t key, uint32_t val)
{
    for (uint32_t i = hash32(key) & m->mask;; i = (i + 1) & m->mask) {
        if (m->keys[i] == 0 || m->keys[i] == key) {
            m->keys[i] = key;
            m->vals[i] = val;
            return;
        }
    }
}

static void idmap_del(idmap *m, uint32_t key)
{
    uint32_t i = hash32(key) & m->mask;
    for (;; i = (i + 1) & m->mask) {
        if (m->keys[i] == 0)
            return;
        if (m->keys[i] == key)
            break;
    }
    /* backward-shift deletion */
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        if (m->keys[j] == 0)
            break;
        uint32_t home = hash32(m->keys[j]) & m->mask;
        /* can the entry at j move to i? (home not cyclically in (i, j]) */
        bool move = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (move) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = 0;
}

/* ---- objects ------------------------------------------------------------------- */

typedef struct adapter {
    uint32_t id, dev;
    bool used, known, released, after_put_reported;
    bool sg, dma32, dma64;
    uint64_t max_length, addr_limit;
    uint32_t map_registers;
    uint64_t create_seq, release_seq;
    uint32_t inflight;
    uint32_t current; /* latest executed transfer (0 none) */
    bool current_done;
    uint64_t current_done_seq;
    uint32_t last_completed;
    uint64_t last_completed_seq;
    uint64_t age; /* for eviction */
} adapter;

typedef struct mdl {
    uint32_t id;
    bool used;
    uint64_t va, length;
    uint32_t op;
    uint64_t lock_seq;
    /* programmed-prefix check of the last completed transfer on it */
    bool pend;
    uint32_t pend_xfer;
    uint64_t pend_expect, pend_end, pend_seq;
    uint64_t pend_since; /* evidence starts here (lost records after it: uncertain) */
    uint64_t age;
} mdl;

typedef struct cbuf {
    uint32_t id, adapter;
    bool used;
    uint64_t addr, length, alloc_seq;
    int32_t shadow; /* slot in the shadow pool or -1 */
    uint64_t last_desc_seq;
    uint64_t age;
} cbuf;

typedef struct shadow {
    bool used;
    uint8_t *bytes;     /* DMT_AUDIT_SHADOW_BYTES */
    uint8_t *written;   /* bitmap, one bit per byte */
    uint64_t *slot_seq; /* per SHADOW_SLOT bytes: seq of the write that last touched it */
} shadow;

typedef struct xfer {
    uint32_t id, adapter, mdl, dev, chan;
    bool used, started, executed, abandoned, dir_known, wtd, programmed, signalled, stopped;
    bool has_chan, prog_unverified, max_reported, nmr_reported, in_list;
    uint64_t offset, requested, granted;
    uint64_t start_seq, exec_seq, doorbell_seq, desc_seq;
    uint64_t prog_since; /* oldest record the descriptors compared came from */
    uint64_t irq_at_exec;
    uint64_t first_page_off; /* BYTE_OFFSET of the transfer's first byte, or AUD_NONE */
    aud_sg *sg;
    uint64_t prog_bytes;
    uint32_t prev, next; /* in-flight list (slot + 1, 0 = none) */
    uint64_t age;
} xfer;

/* Free slots of a pool: a stack of indexes, so taking and returning a slot
 * is O(1) whatever the pool's size. */
typedef struct freestk {
    uint32_t *idx;
    uint32_t n;
} freestk;

static bool freestk_init(freestk *f, uint32_t cap)
{
    f->idx = malloc(sizeof(uint32_t) * (cap ? cap : 1));
    if (!f->idx)
        return false;
    for (uint32_t i = 0; i < cap; i++)
        f->idx[i] = cap - 1 - i; /* slot 0 on top */
    f->n = cap;
    return true;
}

static uint32_t freestk_pop(freestk *f)
{
    return f->n ? f->idx[--f->n] : UINT32_MAX;
}

static void freestk_push(freestk *f, uint32_t i)
{
    f->idx[f->n++] = i;
}

/* A table of tracked objects (adapters, MDLs, common buffers, transfers):
 * the objects live in an array of cap slots the caller owns; the pool maps
 * ids to slots, keeps the free slots and counts the evictions that made
 * room (findings that needed an evicted object are marked uncertain). */
typedef struct pool {
    idmap map;
    freestk free;
    uint32_t n, cap;
    uint64_t evictions;
} pool;

static bool pool_init(pool *p, uint32_t cap)
{
    p->cap = cap;
    return idmap_init(&p->map, cap) && freestk_init(&p->free, cap);
}

static void pool_free(pool *p)
{
    idmap_free(&p->map);
    free(p->free.idx);
}

/* A free slot, mapped from id; UINT32_MAX when none is left. */
static uint32_t pool_take(pool *p, uint32_t id)
{
    uint32_t s = freestk_pop(&p->free);
    if (s != UINT32_MAX) {
        idmap_put(&p->map, id, s);
        p->n++;
    }
    return s;
}

/* Return the slot of id. */
static void pool_give(pool *p, uint32_t id, uint32_t slot)
{
    idmap_del(&p->map, id);
    p->n--;
    freestk_push(&p->free, slot);
}

typedef struct devst {
    uint32_t dev;
    uint64_t irqs; /* claimed interrupts */
} devst;

typedef struct chanst {
    uint32_t dev, channel, xfer;
} chanst;

typedef struct recent {
    uint32_t xfer;
    uint64_t seq;
} recent;

struct dmt_audit {
    dmt_audit_config cfg;
    dmt_audit_stats st;

    adapter *ad;
    mdl *md;
    cbuf *cb;
    xfer *xf;
    shadow *sh;
    pool ad_p, md_p, cb_p, xf_p; /* slots of ad, md, cb, xf */
    uint64_t age;
    uint32_t inflight_head; /* slot + 1 */
    uint64_t kept_elems;    /* SG elements kept for transfers */

    devst devs[MAX_DEVS];
    uint32_t n_devs;
    chanst chans[MAX_CHANNELS];
    uint32_t n_chans;
    recent done[RECENT_DONE];

    const dmt_audit_device *const *devices;
    void *dev_state[8];
    uint32_t n_devices;

    /* the record being processed */
    uint64_t cur_index, cur_seq;
    int64_t cur_ts;
    bool have_record;
    uint64_t first_seq;
    bool late_start;

    uint64_t last_lost_seq;    /* AUD_NONE: none yet */
    uint32_t min_mdl, max_mdl; /* ids ever locked */
    uint32_t max_xfer;
    bool cut;
    bool oom; /* a descriptor shadow could not be allocated */

    /* scratch for decoded descriptors */
    dmt_sg_elem *desc;
    bool *desc_ok;
};

static const dmt_audit_device *const default_devices[] = {&dmt_audit_dev_dmm, NULL};

/* ---- findings ------------------------------------------------------------------------- */

static bool enabled(const dmt_audit *a, unsigned rule)
{
    return (a->cfg.rules >> rule) & 1u;
}

/* Start a finding at the current record; NULL when the rule is off. */
static bool fstart(dmt_audit *a, dmt_finding *f, unsigned rule)
{
    if (!enabled(a, rule))
        return false;
    memset(f, 0, sizeof *f);
    f->rule = rule;
    f->severity = dmt_audit_rules()[rule].severity;
    f->index = a->cur_index;
    f->seq = a->cur_seq;
    f->ts = a->cur_ts;
    f->refs[0] = a->cur_seq;
    f->n_refs = a->have_record ? 1 : 0;
    return true;
}

static void fref(dmt_finding *f, uint64_t index)
{
    if (index == AUD_NONE)
        return;
    for (uint32_t i = 0; i < f->n_refs; i++)
        if (f->refs[i] == index)
            return;
    if (f->n_refs == DMT_AUDIT_MAX_REFS)
        return;
    uint32_t i = f->n_refs++;
    while (i > 0 && f->refs[i - 1] > index) {
        f->refs[i] = f->refs[i - 1];
        i--;
    }
    f->refs[i] = index;
}

__attribute__((format(printf, 2, 3))) static void fmsg(dmt_finding *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void funsure(dmt_finding *f, const char *fmt, ...)
{
    if (f->uncertain)
        return;
    va_list ap;
    f->uncertain = true;
    va_start(ap, fmt);
    vsnprintf(f->uncertain_why, sizeof f->uncertain_why, fmt, ap);
    va_end(ap);
}

/* Uncertain when records were lost at or after index `since`. */
static void flost_since(const dmt_audit *a, dmt_finding *f, uint64_t since)
{
    if (a->last_lost_seq != AUD_NONE && (since == AUD_NONE || a->last_lost_seq >= since))
        funsure(f, "records lost at seq %" PRIu64, a->last_lost_seq);
}

/* Uncertain for a finding about an object never seen created. */
static void funknown(const dmt_audit *a, dmt_finding *f, uint64_t evictions)
{
    if (a->last_lost_seq != AUD_NONE)
        funsure(f, "records lost at seq %" PRIu64, a->last_lost_seq);
    else if (evictions)
        funsure(f, "a tracking cap was reached (%" PRIu64 " objects dropped)", evictions);
    else if (a->late_start)
        funsure(f, "the trace starts at sequence %" PRIu64 ", not 0", a->first_seq);
}

static void fsend(dmt_audit *a, dmt_finding *f)
{
    a->st.findings++;
    a->st.by_rule[f->rule]++;
    if (f->uncertain)
        a->st.uncertain++;
    if (a->cfg.sink)
        a->cfg.sink(a->cfg.user, f);
}

static const char *dir_name(bool wtd)
{
    return wtd ? "to device" : "from device";
}

/* ---- tables --------------------------------------------------------------------------- */

static adapter *ad_get(dmt_audit *a, uint32_t id)
{
    uint32_t s;
    return id && idmap_get(&a->ad_p.map, id, &s) ? &a->ad[s] : NULL;
}

static mdl *md_get(dmt_audit *a, uint32_t id)
{
    uint32_t s;
    return id && idmap_get(&a->md_p.map, id, &s) ? &a->md[s] : NULL;
}

static cbuf *cb_get(dmt_audit *a, uint32_t id)
{
    uint32_t s;
    return id && idmap_get(&a->cb_p.map, id, &s) ? &a->cb[s] : NULL;
}

static xfer *xf_get(dmt_audit *a, uint32_t id)
{
    uint32_t s;
    return id && idmap_get(&a->xf_p.map, id, &s) ? &a->xf[s] : NULL;
}

static void shadow_drop(dmt_audit *a, cbuf *c)
{
    if (c->shadow >= 0) {
        a->sh[c->shadow].used = false;
        c->shadow = -1;
    }
}

static void inflight_unlink(dmt_audit *a, xfer *x)
{
    if (!x->in_list)
        return;
    uint32_t slot = (uint32_t)(x - a->xf) + 1;
    if (x->prev)
        a->xf[x->prev - 1].next = x->next;
    else if (a->inflight_head == slot)
        a->inflight_head = x->next;
    if (x->next)
        a->xf[x->next - 1].prev = x->prev;
    x->prev = x->next = 0;
    x->in_list = false;
}

static void inflight_link(dmt_audit *a, xfer *x)
{
    if (x->in_list)
        return;
    uint32_t slot = (uint32_t)(x - a->xf) + 1;
    x->prev = 0;
    x->next = a->inflight_head;
    if (a->inflight_head)
        a->xf[a->inflight_head - 1].prev = slot;
    a->inflight_head = slot;
    x->in_list = true;
}

static void xf_drop_sg(dmt_audit *a, xfer *x)
{
    if (x->sg) {
        a->kept_elems -= x->sg->n;
        aud_sg_free(x->sg);
        x->sg = NULL;
    }
}

/* Leave the in-flight state: adapter count, list. */
static void xf_leave(dmt_audit *a, xfer *x)
{
    if (x->in_list) {
        adapter *ad = ad_get(a, x->adapter);
        if (ad && ad->inflight)
            ad->inflight--;
        inflight_unlink(a, x);
    }
}

static void xf_free(dmt_audit *a, xfer *x)
{
    xf_leave(a, x);
    xf_drop_sg(a, x);
    x->used = false;
    pool_give(&a->xf_p, x->id, (uint32_t)(x - a->xf));
}

static xfer *xf_new(dmt_audit *a, uint32_t id)
{
    uint32_t s;
    if (a->xf_p.n >= a->xf_p.cap) {
        /* evict: a completed-state-free slot - prefer not executed, then the oldest */
        uint32_t best = UINT32_MAX;
        for (uint32_t i = 0; i < a->cfg.max_transfers; i++) {
            if (!a->xf[i].used)
                continue;
            if (best == UINT32_MAX ||
                (a->xf[i].executed && !a->xf[i].abandoned) <
                    (a->xf[best].executed && !a->xf[best].abandoned) ||
                ((a->xf[i].executed && !a->xf[i].abandoned) ==
                     (a->xf[best].executed && !a->xf[best].abandoned) &&
                 a->xf[i].age < a->xf[best].age))
                best = i;
        }
        if (best == UINT32_MAX)
            return NULL;
        xf_free(a, &a->xf[best]);
        a->xf_p.evictions++;
        a->st.evicted++;
    }
    s = pool_take(&a->xf_p, id);
    if (s == UINT32_MAX)
        return NULL;
    xfer *x = &a->xf[s];
    memset(x, 0, sizeof *x);
    x->used = true;
    x->id = id;
    x->age = ++a->age;
    x->start_seq = x->exec_seq = x->doorbell_seq = x->desc_seq = x->prog_since = AUD_NONE;
    x->first_page_off = AUD_NONE;
    if (id > a->max_xfer)
        a->max_xfer = id;
    return x;
}

static adapter *ad_new(dmt_audit *a, uint32_t id)
{
    uint32_t s;
    if (!id)
        return NULL;
    if (a->ad_p.n >= a->ad_p.cap) {
        uint32_t best = UINT32_MAX;
        for (uint32_t i = 0; i < a->cfg.max_adapters; i++)
            if (a->ad[i].used &&
                (best == UINT32_MAX || a->ad[i].released > a->ad[best].released ||
                 (a->ad[i].released == a->ad[best].released && a->ad[i].age < a->ad[best].age)))
                best = i;
        if (best == UINT32_MAX)
            return NULL;
        a->ad[best].used = false;
        pool_give(&a->ad_p, a->ad[best].id, best);
        a->ad_p.evictions++;
        a->st.evicted++;
    }
    s = pool_take(&a->ad_p, id);
    if (s == UINT32_MAX)
        return NULL;
    adapter *d = &a->ad[s];
    memset(d, 0, sizeof *d);
    d->used = true;
    d->id = id;
    d->age = ++a->age;
    d->create_seq = d->release_seq = d->current_done_seq = AUD_NONE;
    d->last_completed_seq = AUD_NONE;
    return d;
}

static mdl *md_new(dmt_audit *a, uint32_t id)
{
    uint32_t s;
    if (a->md_p.n >= a->md_p.cap) {
        uint32_t best = UINT32_MAX;
        for (uint32_t i = 0; i < a->cfg.max_mdls; i++)
            if (a->md[i].used && (best == UINT32_MAX || a->md[i].age < a->md[best].age))
                best = i;
        if (best == UINT32_MAX)
            return NULL;
        a->md[best].used = false;
        pool_give(&a->md_p, a->md[best].id, best);
        a->md_p.evictions++;
        a->st.evicted++;
    }
    s = pool_take(&a->md_p, id);
    if (s == UINT32_MAX)
        return NULL;
    mdl *m = &a->md[s];
    memset(m, 0, sizeof *m);
    m->used = true;
    m->id = id;
    m->age = ++a->age;
    return m;
}

static void cb_remove(dmt_audit *a, cbuf *c)
{
    shadow_drop(a, c);
    c->used = false;
    pool_give(&a->cb_p, c->id, (uint32_t)(c - a->cb));
}

static cbuf *cb_new(dmt_audit *a, uint32_t id)
{
    uint32_t s;
    if (a->cb_p.n >= a->cb_p.cap) {
        uint32_t best = UINT32_MAX;
        for (uint32_t i = 0; i < a->cfg.max_cbs; i++)
            if (a->cb[i].used && (best == UINT32_MAX || a->cb[i].age < a->cb[best].age))
                best = i;
        if (best == UINT32_MAX)
            return NULL;
        cb_remove(a, &a->cb[best]);
        a->cb_p.evictions++;
        a->st.evicted++;
    }
    s = pool_take(&a->cb_p, id);
    if (s == UINT32_MAX)
        return NULL;
    cbuf *c = &a->cb[s];
    memset(c, 0, sizeof *c);
    c->used = true;
    c->id = id;
    c->age = ++a->age;
    c->shadow = -1;
    c->alloc_seq = c->last_desc_seq = AUD_NONE;
    return c;
}

static devst *dev_get(dmt_audit *a, uint32_t dev)
{
    for (uint32_t i = 0; i < a->n_devs; i++)
        if (a->devs[i].dev == dev)
            return &a->devs[i];
    if (a->n_devs == MAX_DEVS)
        return NULL;
    devst *d = &a->devs[a->n_devs++];
    d->dev = dev;
    d->irqs = 0;
    return d;
}

static chanst *chan_get(dmt_audit *a, uint32_t dev, uint32_t channel, bool create)
{
    for (uint32_t i = 0; i < a->n_chans; i++)
        if (a->chans[i].dev == dev && a->chans[i].channel == channel)
            return &a->chans[i];
    if (!create || a->n_chans == MAX_CHANNELS)
        return NULL;
    chanst *c = &a->chans[a->n_chans++];
    c->dev = dev;
    c->channel = channel;
    c->xfer = 0;
    return c;
}

/* The device model that claims dev, or -1. */
static int model_of(const dmt_audit *a, uint32_t dev)
{
    for (uint32_t i = 0; i < a->n_devices; i++)
        if (a->devices[i]->claims(a->dev_state[i], dev))
            return (int)i;
    return -1;
}

static uint64_t device_limit(const dmt_audit *a, uint32_t dev)
{
    int m = model_of(a, dev);
    return m < 0 ? UINT64_MAX : a->devices[m]->addr_limit(a->dev_state[m], dev);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

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
              pool_init(&a->ad_p, a->cfg.max_adapters) && pool_init(&a->md_p, a->cfg.max_mdls) &&
              pool_init(&a->cb_p, a->cfg.max_cbs) && pool_init(&a->xf_p, a->cfg.max_transfers);
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
    for (uint32_t i = 0; a->xf && i < a->cfg.max_transfers; i++)
        if (a->xf[i].used)
            xf_drop_sg(a, &a->xf[i]);
    for (uint32_t i = 0; a->sh && i < a->cfg.max_shadow_cbs; i++) {
        free(a->sh[i].bytes);
        free(a->sh[i].written);
        free(a->sh[i].slot_seq);
    }
    for (uint32_t i = 0; i < a->n_devices; i++)
        if (a->dev_state[i])
            a->devices[i]->destroy(a->dev_state[i]);
    pool_free(&a->ad_p);
    pool_free(&a->md_p);
    pool_free(&a->cb_p);
    pool_free(&a->xf_p);
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

/* ---- helpers shared by the handlers ------------------------------------------------------- */

/* The adapter a record names, created as unknown when never seen; raises
 * adapter-after-put (once per adapter) when it was put already. */
static adapter *adapter_use(dmt_audit *a, uint32_t id, const char *what)
{
    if (!id)
        return NULL;
    adapter *d = ad_get(a, id);
    if (!d) {
        d = ad_new(a, id);
        return d;
    }
    if (d->released && !d->after_put_reported) {
        dmt_finding f;
        d->after_put_reported = true;
        if (fstart(a, &f, DMT_R_ADAPTER_AFTER_PUT)) {
            f.adapter = id;
            f.dev = d->dev;
            fref(&f, d->release_seq);
            fmsg(&f, "%s on adapter %u after its PutDmaAdapter", what, id);
            fsend(a, &f);
        }
    }
    return d;
}

/* Pages a transfer of `bytes` starting at page offset `page_off` spans. */
static uint64_t span_pages(uint64_t page_off, uint64_t bytes)
{
    uint64_t b = aud_end(page_off, bytes);
    return b / DMT_PAGE_SIZE + (b % DMT_PAGE_SIZE != 0);
}

/* transfer-exceeds-max / -map-registers for `bytes` of transfer x. */
static void check_size(dmt_audit *a, xfer *x, const adapter *d, uint64_t bytes, const char *what,
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
        if (bytes > allowed && fstart(a, &f, DMT_R_TRANSFER_EXCEEDS_MAX)) {
            x->max_reported = true;
            f.adapter = d->id;
            f.dev = d->dev;
            f.xfer = x->id;
            f.mdl = x->mdl;
            fref(&f, ref);
            fref(&f, d->create_seq);
            fmsg(&f,
                 "xfer %u: %s %" PRIu64 " bytes from page offset 0x%" PRIx64
                 ", more than adapter %u's MaximumLength %" PRIu64 " allows (%" PRIu64 ")",
                 x->id, what, bytes, off, d->id, d->max_length, allowed);
            if (since != AUD_NONE)
                flost_since(a, &f, since);
            fsend(a, &f);
        }
    }
    if (!x->nmr_reported && d->map_registers && off != AUD_NONE) {
        uint64_t pages = span_pages(off, bytes);
        if (pages > d->map_registers && fstart(a, &f, DMT_R_TRANSFER_EXCEEDS_MAP_REGISTERS)) {
            x->nmr_reported = true;
            f.adapter = d->id;
            f.dev = d->dev;
            f.xfer = x->id;
            f.mdl = x->mdl;
            fref(&f, ref);
            fref(&f, d->create_seq);
            fmsg(&f,
                 "xfer %u: %s %" PRIu64 " bytes from page offset 0x%" PRIx64 " span %" PRIu64
                 " pages, adapter %u has %u map registers",
                 x->id, what, bytes, off, pages, d->id, d->map_registers);
            if (since != AUD_NONE)
                flost_since(a, &f, since);
            fsend(a, &f);
        }
    }
}

/* The unprogrammed suffix left by the last transfer on m: judged when the
 * next StartDma on m shows where the driver went on (next_offset), or at
 * UnlockBuffer (next_offset = AUD_NONE: the driver is done with the buffer). */
static void judge_suffix(dmt_audit *a, mdl *m, uint64_t next_offset)
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
    if (!fstart(a, &f, DMT_R_PROG_SKIPPED))
        return;
    f.xfer = m->pend_xfer;
    f.mdl = m->id;
    fref(&f, m->pend_seq);
    fmsg(&f,
         "xfer %u: MDL %u bytes +0x%" PRIx64 "..+0x%" PRIx64
         " were granted but never programmed into the device, and the driver %s",
         m->pend_xfer, m->id, expect, stop,
         next_offset == AUD_NONE ? "unlocked the buffer" : "went on after them");
    flost_since(a, &f, m->pend_since);
    fsend(a, &f);
}

/* ---- record handlers ------------------------------------------------------------------------ */

static void on_adapter_create(dmt_audit *a, const dmt_record *r)
{
    adapter *d = ad_get(a, r->adapter);
    if (!d)
        d = ad_new(a, r->adapter);
    if (!d)
        return;
    if (d->released) { /* an id used again: a new adapter */
        uint32_t id = d->id;
        uint64_t age = ++a->age;
        memset(d, 0, sizeof *d);
        d->used = true;
        d->id = id;
        d->age = age;
        d->release_seq = d->current_done_seq = d->last_completed_seq = AUD_NONE;
    }
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

static void on_adapter_release(dmt_audit *a, const dmt_record *r)
{
    adapter *d = ad_get(a, r->adapter);
    dmt_finding f;
    if (!d)
        return;
    if (d->released) {
        if (fstart(a, &f, DMT_R_ADAPTER_AFTER_PUT)) {
            f.adapter = d->id;
            f.dev = d->dev;
            fref(&f, d->release_seq);
            fmsg(&f, "PutDmaAdapter of adapter %u a second time", d->id);
            fsend(a, &f);
        }
        return;
    }
    /* SG lists still held: leaked with the adapter */
    for (uint32_t s = a->inflight_head; s;) {
        xfer *x = &a->xf[s - 1];
        s = x->next;
        if (x->adapter != d->id)
            continue;
        if (fstart(a, &f, DMT_R_LEAK_SGLIST)) {
            f.adapter = d->id;
            f.dev = d->dev;
            f.xfer = x->id;
            f.mdl = x->mdl;
            fref(&f, x->exec_seq);
            fmsg(&f,
                 "xfer %u: PutDmaAdapter of adapter %u while its SG list (%u elements) was "
                 "never completed",
                 x->id, d->id, x->sg ? x->sg->n : 0);
            flost_since(a, &f, x->exec_seq);
            fsend(a, &f);
        }
        x->abandoned = true;
        xf_leave(a, x);
    }
    /* common buffers still allocated */
    for (uint32_t i = 0; i < a->cfg.max_cbs; i++) {
        cbuf *c = &a->cb[i];
        if (!c->used || c->adapter != d->id)
            continue;
        if (fstart(a, &f, DMT_R_LEAK_COMMON_BUFFER)) {
            f.adapter = d->id;
            f.dev = d->dev;
            f.cb = c->id;
            fref(&f, c->alloc_seq);
            fmsg(&f,
                 "common buffer %u (0x%" PRIx64 "+0x%" PRIx64
                 ") never released before PutDmaAdapter of adapter %u",
                 c->id, c->addr, c->length, d->id);
            flost_since(a, &f, c->alloc_seq);
            fsend(a, &f);
        }
        cb_remove(a, c);
    }
    d->released = true;
    d->release_seq = a->cur_seq;
}

static void on_lock(dmt_audit *a, const dmt_record *r)
{
    if (!r->mdl)
        return;
    mdl *m = md_get(a, r->mdl);
    if (!m)
        m = md_new(a, r->mdl);
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

static void on_unlock(dmt_audit *a, const dmt_record *r)
{
    dmt_finding f;
    mdl *m = md_get(a, r->mdl);
    if (!m) {
        if (fstart(a, &f, DMT_R_UNLOCK_UNKNOWN_MDL)) {
            f.mdl = r->mdl;
            bool seen = r->mdl && r->mdl >= a->min_mdl && r->mdl <= a->max_mdl;
            fmsg(&f, "UnlockBuffer of MDL %u, %s", r->mdl,
                 seen ? "unlocked already" : "never locked in this trace");
            funknown(a, &f, a->md_p.evictions);
            fsend(a, &f);
        }
        return;
    }
    judge_suffix(a, m, AUD_NONE);
    /* transfers on it still in flight: CompleteDma never came */
    for (uint32_t s = a->inflight_head; s;) {
        xfer *x = &a->xf[s - 1];
        s = x->next;
        if (x->mdl != m->id)
            continue;
        if (fstart(a, &f, DMT_R_COMPLETE_MISSING)) {
            adapter *d = ad_get(a, x->adapter);
            f.adapter = x->adapter;
            f.dev = d ? d->dev : 0;
            f.xfer = x->id;
            f.mdl = m->id;
            fref(&f, x->exec_seq);
            fref(&f, x->doorbell_seq);
            fmsg(&f, "xfer %u (adapter %u, %s): MDL %u unlocked without CompleteDma of its SG list",
                 x->id, x->adapter, x->dir_known ? dir_name(x->wtd) : "direction unknown", m->id);
            flost_since(a, &f, x->exec_seq);
            fsend(a, &f);
        }
        x->abandoned = true;
        xf_leave(a, x);
    }
    m->used = false;
    pool_give(&a->md_p, m->id, (uint32_t)(m - a->md));
}

static void on_start(dmt_audit *a, const dmt_record *r)
{
    dmt_finding f;
    adapter *d = adapter_use(a, r->adapter, "StartDma");
    mdl *m = md_get(a, r->mdl);
    if (!m) {
        if (fstart(a, &f, DMT_R_STARTDMA_UNLOCKED_MDL)) {
            f.adapter = r->adapter;
            f.dev = d ? d->dev : 0;
            f.xfer = r->xfer;
            f.mdl = r->mdl;
            bool seen = r->mdl && r->mdl >= a->min_mdl && r->mdl <= a->max_mdl;
            if (!r->mdl)
                fmsg(&f, "xfer %u: StartDma on an MDL never returned by LockBuffer", r->xfer);
            else
                fmsg(&f, "xfer %u: StartDma on MDL %u, %s", r->xfer, r->mdl,
                     seen ? "already unlocked" : "never locked in this trace");
            funknown(a, &f, a->md_p.evictions);
            fsend(a, &f);
        }
    } else {
        judge_suffix(a, m, r->offset);
        bool ok = r->write_to_device ? m->op != DMT_LOCK_WRITE : m->op != DMT_LOCK_READ;
        if (!ok && fstart(a, &f, DMT_R_LOCK_OP_DIRECTION)) {
            f.adapter = r->adapter;
            f.dev = d ? d->dev : 0;
            f.xfer = r->xfer;
            f.mdl = m->id;
            fref(&f, m->lock_seq);
            fmsg(&f, "xfer %u: DMA %s (the device %s memory) on MDL %u locked with %s", r->xfer,
                 dir_name(r->write_to_device), r->write_to_device ? "reads" : "writes", m->id,
                 m->op == DMT_LOCK_READ ? "VpReadAccess" : "VpWriteAccess");
            fsend(a, &f);
        }
        if ((r->offset > m->length || r->length > m->length - r->offset) &&
            fstart(a, &f, DMT_R_STARTDMA_BEYOND_MDL)) {
            f.adapter = r->adapter;
            f.dev = d ? d->dev : 0;
            f.xfer = r->xfer;
            f.mdl = m->id;
            fref(&f, m->lock_seq);
            fmsg(&f,
                 "xfer %u: StartDma Offset %" PRIu64 " + length %" PRIu64
                 " runs past MDL %u's %" PRIu64 " bytes",
                 r->xfer, r->offset, r->length, m->id, m->length);
            fsend(a, &f);
        }
    }
    if (!r->xfer)
        return;
    xfer *x = xf_get(a, r->xfer);
    if (x) /* an id used again */
        xf_free(a, x);
    x = xf_new(a, r->xfer);
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

static void on_start_end(dmt_audit *a, const dmt_record *r)
{
    xfer *x = xf_get(a, r->xfer);
    if (x && !x->executed && r->status != 0)
        xf_free(a, x); /* StartDma failed: no list, no CompleteDma */
}

static void check_layout(dmt_audit *a, xfer *x, adapter *d)
{
    dmt_finding f;
    uint64_t lim_ad = d && d->known && d->addr_limit ? d->addr_limit : UINT64_MAX;
    uint64_t lim_dev = d ? device_limit(a, d->dev) : UINT64_MAX;
    uint64_t limit = lim_ad < lim_dev ? lim_ad : lim_dev;
    aud_layout L;
    aud_sg_layout(x->sg, limit, &L);
    const dmt_sg_elem *e = x->sg->e;
    uint32_t dev = d ? d->dev : 0;
#define FOBJ()                                                                                     \
    do {                                                                                           \
        f.adapter = x->adapter;                                                                    \
        f.dev = dev;                                                                               \
        f.xfer = x->id;                                                                            \
        f.mdl = x->mdl;                                                                            \
    } while (0)
    if (L.total != x->granted && fstart(a, &f, DMT_R_SG_TOTAL_MISMATCH)) {
        FOBJ();
        fref(&f, x->start_seq);
        fmsg(&f, "xfer %u: %u elements total %" PRIu64 " bytes, granted *pLength is %" PRIu64,
             x->id, x->sg->n, L.total, x->granted);
        fsend(a, &f);
    }
    if (L.zero && fstart(a, &f, DMT_R_SG_ZERO_LENGTH)) {
        FOBJ();
        fmsg(&f, "xfer %u: %u zero-length element(s), first element %u at 0x%" PRIx64, x->id,
             L.zero, L.zero_first, e[L.zero_first].addr);
        fsend(a, &f);
    }
    if (L.cross && fstart(a, &f, DMT_R_SG_CROSS_4G)) {
        FOBJ();
        fmsg(&f,
             "xfer %u: %u element(s) cross a 4 GiB boundary, first element %u 0x%" PRIx64 "+0x%x",
             x->id, L.cross, L.cross_first, e[L.cross_first].addr, e[L.cross_first].len);
        fsend(a, &f);
    }
    if (L.beyond && fstart(a, &f, DMT_R_ADDR_BEYOND_LIMIT)) {
        FOBJ();
        fref(&f, d ? d->create_seq : AUD_NONE);
        fmsg(&f,
             "xfer %u: %u element(s) end above the %s address limit 0x%" PRIx64
             ", first element %u 0x%" PRIx64 "+0x%x",
             x->id, L.beyond, lim_dev < lim_ad ? "device's" : "adapter's", limit, L.beyond_first,
             e[L.beyond_first].addr, e[L.beyond_first].len);
        fsend(a, &f);
    }
    if (L.overlap && fstart(a, &f, DMT_R_SG_OVERLAP)) {
        FOBJ();
        fmsg(&f,
             "xfer %u: elements %u (0x%" PRIx64 "+0x%x) and %u (0x%" PRIx64
             "+0x%x) cover the same bytes",
             x->id, L.overlap_a, e[L.overlap_a].addr, e[L.overlap_a].len, L.overlap_b,
             e[L.overlap_b].addr, e[L.overlap_b].len);
        fsend(a, &f);
    }
#undef FOBJ
}

static void check_inflight_overlap(dmt_audit *a, xfer *x)
{
    uint64_t budget = OVERLAP_BUDGET;
    bool exhausted = false;
    for (uint32_t s = a->inflight_head; s && !exhausted; s = a->xf[s - 1].next) {
        xfer *t = &a->xf[s - 1];
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
        if (!fstart(a, &f, DMT_R_INFLIGHT_OVERLAP))
            continue;
        f.adapter = x->adapter;
        f.xfer = x->id;
        f.mdl = x->mdl;
        fref(&f, t->exec_seq);
        fmsg(&f,
             "xfer %u (%s) element %u 0x%" PRIx64
             "+0x%x overlaps xfer %u (%s) element %u 0x%" PRIx64 "+0x%x, still in flight",
             x->id, x->dir_known ? dir_name(x->wtd) : "direction unknown", eb, x->sg->e[eb].addr,
             x->sg->e[eb].len, t->id, t->dir_known ? dir_name(t->wtd) : "direction unknown", ea,
             t->sg->e[ea].addr, t->sg->e[ea].len);
        if (!x->dir_known || !t->dir_known)
            funsure(&f, "a transfer's direction is unknown (StartDma not in the trace)");
        flost_since(a, &f, t->exec_seq);
        fsend(a, &f);
    }
}

static void on_execute(dmt_audit *a, const dmt_record *r)
{
    dmt_finding f;
    adapter *d = adapter_use(a, r->adapter, "ExecuteDma");
    if (!r->xfer)
        return;
    xfer *x = xf_get(a, r->xfer);
    if (x && x->executed) { /* a second list for the same transfer: start over */
        xf_leave(a, x);
        xf_drop_sg(a, x);
        x->executed = x->programmed = x->signalled = x->stopped = false;
        x->prog_bytes = 0;
    }
    if (!x) {
        x = xf_new(a, r->xfer);
        if (!x)
            return;
        a->st.transfers++;
        x->adapter = r->adapter;
    }
    a->st.executed++;
    x->executed = true;
    x->granted = r->length;
    x->exec_seq = a->cur_seq;
    if (x->adapter != r->adapter)
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
    check_size(a, x, d, x->granted, "granted", AUD_NONE, AUD_NONE);
    if (x->sg)
        check_inflight_overlap(a, x);
    if (d && d->known && !d->sg && d->inflight > 0 && fstart(a, &f, DMT_R_CONCURRENT_ON_ADAPTER)) {
        uint32_t other = 0;
        uint64_t other_seq = AUD_NONE;
        for (uint32_t s = a->inflight_head; s; s = a->xf[s - 1].next)
            if (a->xf[s - 1].adapter == d->id) {
                other = a->xf[s - 1].id;
                other_seq = a->xf[s - 1].exec_seq;
                break;
            }
        f.adapter = d->id;
        f.dev = d->dev;
        f.xfer = x->id;
        f.mdl = x->mdl;
        fref(&f, other_seq);
        fmsg(&f,
             "xfer %u executes on adapter %u (no scatter/gather: one transfer at a time) while "
             "xfer %u is still in flight",
             x->id, d->id, other);
        flost_since(a, &f, other_seq);
        fsend(a, &f);
    }
    if (d) {
        d->inflight++;
        d->current = x->id;
        d->current_done = false;
        devst *ds = dev_get(a, d->dev);
        x->irq_at_exec = ds ? ds->irqs : 0;
        x->dev = d->dev;
    }
    inflight_link(a, x);
}

/* Completed transfer ids, direct-mapped by id (a newer id may take an older
 * one's place: it is then only "no longer in flight"). */
static void remember_done(dmt_audit *a, uint32_t id)
{
    recent *r = &a->done[id % RECENT_DONE];
    r->xfer = id;
    r->seq = a->cur_seq;
}

static uint64_t recent_done(const dmt_audit *a, uint32_t id)
{
    const recent *r = &a->done[id % RECENT_DONE];
    return id && r->xfer == id ? r->seq : AUD_NONE;
}

static void on_complete(dmt_audit *a, const dmt_record *r)
{
    dmt_finding f;
    adapter *d = adapter_use(a, r->adapter, "CompleteDma");
    xfer *x = xf_get(a, r->xfer);
    if (!x || !x->executed) {
        if (x && x->abandoned)
            return;
        if (!fstart(a, &f, DMT_R_COMPLETE_TWICE))
            return;
        f.adapter = r->adapter;
        f.dev = d ? d->dev : 0;
        f.xfer = r->xfer;
        uint64_t prev = recent_done(a, r->xfer);
        if (!r->xfer) {
            if (d && d->last_completed) {
                fref(&f, d->last_completed_seq);
                fmsg(&f,
                     "CompleteDma on adapter %u of an SG list that is not in flight (the probe "
                     "matched no transfer); the adapter's last completed list was xfer %u",
                     r->adapter, d->last_completed);
            } else {
                fmsg(&f,
                     "CompleteDma on adapter %u of an SG list that is not in flight (the probe "
                     "matched no transfer: completed already, or never given)",
                     r->adapter);
            }
        } else if (prev != AUD_NONE) {
            fref(&f, prev);
            fmsg(&f, "xfer %u: CompleteDma a second time", r->xfer);
        } else if (x) {
            fref(&f, x->start_seq);
            fmsg(&f, "xfer %u: CompleteDma although ExecuteDma never ran for it", r->xfer);
            flost_since(a, &f, x->start_seq);
        } else {
            fmsg(&f, "xfer %u: CompleteDma of a transfer %s", r->xfer,
                 r->xfer <= a->max_xfer ? "no longer in flight" : "never started");
            funknown(a, &f, a->xf_p.evictions);
        }
        fsend(a, &f);
        return;
    }
    if (x->abandoned) {
        xf_free(a, x);
        return;
    }
    /* the device must have signalled the end of what it was started on */
    int model = model_of(a, x->dev);
    bool early = false;
    uint64_t since = x->exec_seq;
    if (model >= 0) {
        early = x->programmed && !x->signalled && !x->stopped;
        since = x->doorbell_seq;
    } else if (d && d->known) {
        devst *ds = dev_get(a, d->dev);
        early = ds && ds->irqs == x->irq_at_exec;
    }
    if (early && fstart(a, &f, DMT_R_COMPLETE_BEFORE_INTERRUPT)) {
        f.adapter = x->adapter;
        f.dev = x->dev;
        f.xfer = x->id;
        f.mdl = x->mdl;
        fref(&f, x->exec_seq);
        fref(&f, x->doorbell_seq);
        if (model >= 0)
            fmsg(&f,
                 "xfer %u: CompleteDma while channel %u of device %u had not signalled the end "
                 "of the run started at seq %" PRIu64,
                 x->id, x->chan, x->dev, x->doorbell_seq);
        else
            fmsg(&f, "xfer %u: CompleteDma with no interrupt from device %u since ExecuteDma",
                 x->id, x->dev);
        flost_since(a, &f, since);
        fsend(a, &f);
    }
    /* programming: holes now, an unprogrammed suffix when the driver goes on */
    if (x->programmed && x->sg && x->sg->done && !x->prog_unverified) {
        uint32_t hole;
        uint64_t prefix = aud_prog_prefix(x->sg, &hole);
        if (hole != UINT32_MAX && fstart(a, &f, DMT_R_PROG_SKIPPED)) {
            f.adapter = x->adapter;
            f.dev = x->dev;
            f.xfer = x->id;
            f.mdl = x->mdl;
            fref(&f, x->exec_seq);
            fref(&f, x->doorbell_seq);
            fmsg(&f,
                 "xfer %u: element %u (0x%" PRIx64 "+0x%x) was %s programmed into the device, "
                 "later elements were",
                 x->id, hole, x->sg->e[hole].addr, x->sg->e[hole].len,
                 x->sg->done[hole] ? "only partly" : "never");
            flost_since(a, &f, x->prog_since);
            fsend(a, &f);
        } else if (hole == UINT32_MAX && prefix < x->granted) {
            mdl *m = md_get(a, x->mdl);
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
    if (d) {
        d->last_completed = x->id;
        d->last_completed_seq = a->cur_seq;
        if (d->current == x->id) {
            d->current_done = true;
            d->current_done_seq = a->cur_seq;
        }
    }
    remember_done(a, x->id);
    xf_free(a, x);
}

static void on_common_alloc(dmt_audit *a, const dmt_record *r)
{
    adapter_use(a, r->adapter, "AllocateCommonBuffer");
    if (!r->cb)
        return;
    cbuf *c = cb_get(a, r->cb);
    if (c)
        cb_remove(a, c);
    c = cb_new(a, r->cb);
    if (!c)
        return;
    c->adapter = r->adapter;
    c->addr = r->addr;
    c->length = r->length;
    c->alloc_seq = a->cur_seq;
}

static void on_common_release(dmt_audit *a, const dmt_record *r)
{
    adapter *d = adapter_use(a, r->adapter, "ReleaseCommonBuffer");
    cbuf *c = cb_get(a, r->cb);
    if (c) {
        cb_remove(a, c);
        return;
    }
    dmt_finding f;
    if (fstart(a, &f, DMT_R_CB_RELEASE_UNKNOWN)) {
        f.adapter = r->adapter;
        f.dev = d ? d->dev : 0;
        f.cb = r->cb;
        fmsg(&f, "ReleaseCommonBuffer of common buffer %u, which is not allocated", r->cb);
        funknown(a, &f, a->cb_p.evictions);
        fsend(a, &f);
    }
}

static void on_desc_write(dmt_audit *a, const dmt_record *r)
{
    cbuf *c = cb_get(a, r->cb);
    if (!c || r->offset >= DMT_AUDIT_SHADOW_BYTES || r->n_bytes == 0)
        return;
    if (c->shadow < 0) {
        for (uint32_t i = 0; i < a->cfg.max_shadow_cbs; i++) {
            shadow *s = &a->sh[i];
            if (s->used)
                continue;
            if (!s->bytes) {
                s->bytes = malloc(DMT_AUDIT_SHADOW_BYTES);
                s->written = malloc(DMT_AUDIT_SHADOW_BYTES / 8);
                s->slot_seq = malloc(sizeof(uint64_t) * (DMT_AUDIT_SHADOW_BYTES / SHADOW_SLOT));
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
                    return;
                }
            }
            memset(s->written, 0, DMT_AUDIT_SHADOW_BYTES / 8);
            s->used = true;
            c->shadow = (int32_t)i;
            break;
        }
        if (c->shadow < 0) {
            a->st.evicted++;
            return;
        }
    }
    shadow *s = &a->sh[c->shadow];
    uint64_t n = r->n_bytes;
    if (n > DMT_AUDIT_SHADOW_BYTES - r->offset)
        n = DMT_AUDIT_SHADOW_BYTES - r->offset;
    memcpy(s->bytes + r->offset, r->bytes, (size_t)n);
    for (uint64_t i = r->offset; i < r->offset + n; i++)
        s->written[i >> 3] |= (uint8_t)(1u << (i & 7));
    for (uint64_t k = r->offset / SHADOW_SLOT; k <= (r->offset + n - 1) / SHADOW_SLOT; k++)
        s->slot_seq[k] = a->cur_seq;
    c->last_desc_seq = a->cur_seq;
}

static bool shadow_covers(const shadow *s, uint64_t off, uint64_t n)
{
    for (uint64_t i = off; i < off + n; i++)
        if (!(s->written[i >> 3] & (1u << (i & 7))))
            return false;
    return true;
}

/* ---- device model events ------------------------------------------------------------------------
 */

static void on_doorbell(dmt_audit *a, const dmt_audit_dev_event *ev, int model)
{
    dmt_finding f;
    a->st.doorbells++;
    if (ev->count == 0 || ev->desc_size == 0 || ev->count > DMT_MAX_SG_ELEMENTS)
        return; /* the device refuses it: nothing moves */
    uint64_t bytes = (uint64_t)ev->count * ev->desc_size;
    cbuf *c = NULL;
    for (uint32_t i = 0; i < a->cfg.max_cbs && !c; i++) {
        cbuf *k = &a->cb[i];
        if (k->used && ev->ring_addr >= k->addr && ev->ring_addr - k->addr < k->length &&
            bytes <= k->length - (ev->ring_addr - k->addr))
            c = k;
    }
    if (!c) {
        if (fstart(a, &f, DMT_R_PROG_RING_OUTSIDE_CB)) {
            f.dev = ev->dev;
            fmsg(&f,
                 "device %u channel %u started on %u descriptors at 0x%" PRIx64
                 ", outside every allocated common buffer",
                 ev->dev, ev->channel, ev->count, ev->ring_addr);
            funknown(a, &f, a->cb_p.evictions);
            fsend(a, &f);
        }
        return;
    }
    adapter *d = ad_get(a, c->adapter);
    if (!d || !d->current)
        return; /* no transfer to compare with */
    if (d->current_done) {
        if (fstart(a, &f, DMT_R_USE_AFTER_COMPLETE)) {
            f.dev = ev->dev;
            f.adapter = d->id;
            f.xfer = d->current;
            f.cb = c->id;
            fref(&f, d->current_done_seq);
            fref(&f, c->last_desc_seq);
            fmsg(&f,
                 "device %u channel %u started from xfer %u's descriptors after its CompleteDma "
                 "(seq %" PRIu64 ")",
                 ev->dev, ev->channel, d->current, d->current_done_seq);
            flost_since(a, &f, d->current_done_seq);
            fsend(a, &f);
        }
        return;
    }
    xfer *x = xf_get(a, d->current);
    if (!x || x->abandoned || !x->executed)
        return;
    chanst *ch = chan_get(a, ev->dev, ev->channel, true);
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
        !shadow_covers(&a->sh[c->shadow], off, bytes) || !x->sg) {
        x->prog_unverified = true;
        a->st.programs_unverified++;
        return;
    }
    /* the evidence starts at the oldest write of these descriptor bytes: a
     * record lost after it may have been a newer write */
    const uint64_t *ss = a->sh[c->shadow].slot_seq;
    uint64_t oldest = x->exec_seq;
    for (uint64_t k = off / SHADOW_SLOT; k <= (off + bytes - 1) / SHADOW_SLOT; k++)
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
    if (res.mismatches && fstart(a, &f, DMT_R_PROG_MISMATCH)) {
        f.dev = ev->dev;
        f.adapter = x->adapter;
        f.xfer = x->id;
        f.mdl = x->mdl;
        f.cb = c->id;
        fref(&f, x->exec_seq);
        fref(&f, c->last_desc_seq);
        fmsg(&f, "xfer %u: %s (%u of %u descriptors differ from the SG list)", x->id,
             res.first_mismatch, res.mismatches, ev->count);
        flost_since(a, &f, x->prog_since);
        fsend(a, &f);
    }
    if (res.duplicates && fstart(a, &f, DMT_R_PROG_DUPLICATE)) {
        f.dev = ev->dev;
        f.adapter = x->adapter;
        f.xfer = x->id;
        f.mdl = x->mdl;
        f.cb = c->id;
        fref(&f, x->exec_seq);
        fref(&f, c->last_desc_seq);
        fmsg(&f, "xfer %u: %s (%u descriptor(s) programmed twice)", x->id, res.first_duplicate,
             res.duplicates);
        flost_since(a, &f, x->prog_since);
        fsend(a, &f);
    }
    if (x->prog_bytes > x->granted)
        check_size(a, x, d, x->prog_bytes, "programmed", c->last_desc_seq, x->prog_since);
}

static void on_dev_event(void *engine, const dmt_audit_dev_event *ev)
{
    dmt_audit *a = engine;
    if (ev->type == DMT_AEV_DOORBELL) {
        int model = model_of(a, ev->dev);
        if (model >= 0)
            on_doorbell(a, ev, model);
        return;
    }
    chanst *ch = chan_get(a, ev->dev, ev->channel, false);
    xfer *x = ch ? xf_get(a, ch->xfer) : NULL;
    if (!x)
        return;
    if (ev->type == DMT_AEV_DONE)
        x->signalled = true;
    else if (ev->type == DMT_AEV_STOP)
        x->stopped = true;
}

/* ---- the record stream
 * ------------------------------------------------------------------------------ */

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
    a->st.records++;
    switch (r->kind) {
    case DMT_K_ADAPTER_CREATE:
        on_adapter_create(a, r);
        break;
    case DMT_K_ADAPTER_RELEASE:
        on_adapter_release(a, r);
        break;
    case DMT_K_BUFFER_LOCK:
        on_lock(a, r);
        break;
    case DMT_K_BUFFER_UNLOCK:
        on_unlock(a, r);
        break;
    case DMT_K_START_DMA:
        on_start(a, r);
        break;
    case DMT_K_START_DMA_END:
        on_start_end(a, r);
        break;
    case DMT_K_EXECUTE_DMA:
        on_execute(a, r);
        break;
    case DMT_K_COMPLETE_DMA:
        on_complete(a, r);
        break;
    case DMT_K_COMMON_ALLOC:
        on_common_alloc(a, r);
        break;
    case DMT_K_COMMON_RELEASE:
        on_common_release(a, r);
        break;
    case DMT_K_DESC_WRITE:
        on_desc_write(a, r);
        break;
    case DMT_K_INTERRUPT:
        if (r->claimed) {
            devst *ds = dev_get(a, r->dev);
            if (ds)
                ds->irqs++;
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
        a->devices[i]->observe(a->dev_state[i], r, on_dev_event, a);
    return a->oom ? DMT_E_NOMEM : 0;
}

int dmt_audit_finish(dmt_audit *a, bool cut)
{
    dmt_finding f;
    a->cut = cut;
    a->st.cut = cut;
    /* SG lists never completed */
    for (uint32_t s = a->inflight_head; s; s = a->xf[s - 1].next) {
        xfer *x = &a->xf[s - 1];
        a->st.held_sglists++;
        if (fstart(a, &f, DMT_R_LEAK_SGLIST)) {
            f.adapter = x->adapter;
            f.dev = x->dev;
            f.xfer = x->id;
            f.mdl = x->mdl;
            fref(&f, x->exec_seq);
            fmsg(&f, "xfer %u (adapter %u): SG list still held at the end of the trace", x->id,
                 x->adapter);
            flost_since(a, &f, x->exec_seq);
            if (cut)
                funsure(&f, "the trace was cut (no END record)");
            fsend(a, &f);
        }
    }
    for (uint32_t i = 0; i < a->cfg.max_mdls; i++) {
        mdl *m = &a->md[i];
        if (!m->used)
            continue;
        a->st.held_mdls++;
        if (fstart(a, &f, DMT_R_LEAK_MDL)) {
            f.mdl = m->id;
            fref(&f, m->lock_seq);
            fmsg(&f,
                 "MDL %u (VA 0x%" PRIx64 ", %" PRIu64 " bytes) still locked at the end of the "
                 "trace",
                 m->id, m->va, m->length);
            flost_since(a, &f, m->lock_seq);
            if (cut)
                funsure(&f, "the trace was cut (no END record)");
            fsend(a, &f);
        }
    }
    for (uint32_t i = 0; i < a->cfg.max_cbs; i++) {
        cbuf *c = &a->cb[i];
        if (!c->used)
            continue;
        a->st.held_cbs++;
        if (a->cfg.end_is_unload && fstart(a, &f, DMT_R_LEAK_COMMON_BUFFER)) {
            f.cb = c->id;
            f.adapter = c->adapter;
            fref(&f, c->alloc_seq);
            fmsg(&f,
                 "common buffer %u (0x%" PRIx64 "+0x%" PRIx64
                 ", adapter %u) still allocated at the end of the trace",
                 c->id, c->addr, c->length, c->adapter);
            flost_since(a, &f, c->alloc_seq);
            if (cut)
                funsure(&f, "the trace was cut (no END record)");
            fsend(a, &f);
        }
    }
    for (uint32_t i = 0; i < a->cfg.max_adapters; i++) {
        adapter *d = &a->ad[i];
        if (!d->used || d->released)
            continue;
        a->st.held_adapters++;
        if (a->cfg.end_is_unload && fstart(a, &f, DMT_R_LEAK_ADAPTER)) {
            f.adapter = d->id;
            f.dev = d->dev;
            fref(&f, d->create_seq);
            fmsg(&f, "adapter %u never put (PutDmaAdapter) by the end of the trace", d->id);
            if (!d->known)
                funknown(a, &f, a->ad_p.evictions);
            flost_since(a, &f, d->create_seq);
            if (cut)
                funsure(&f, "the trace was cut (no END record)");
            fsend(a, &f);
        }
    }
    return 0;
}

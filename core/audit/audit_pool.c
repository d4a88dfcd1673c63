/*
 * audit_pool.c - the audit engine's tracked objects (audit_internal.h): the
 * pool that hands out the slots of adapters, MDLs, common buffers and
 * transfers (eviction, id map, ages, free slots), the four kinds' eviction
 * order and defaults, the list of transfers in flight, and the small tables
 * of devices, channels and recently completed transfers.
 *
 * Pool invariants: a slot is live iff age[slot] != 0 iff it is mapped from
 * its object's id iff it is not on the free stack; n live slots + n_free
 * free slots = cap.  Ages grow with every take, so the oldest live object
 * has the smallest age.
 */
#include "audit_internal.h"

#include <stdlib.h>
#include <string.h>

/* Live ids an id table has room for before it first grows. */
#define AUD_POOL_RESERVE 64u

/* ---- the pool ----------------------------------------------------------------- */

static void *slot_obj(const aud_pool *p, uint32_t s)
{
    return p->objs + (size_t)s * p->kind->size;
}

static uint32_t obj_slot(const aud_pool *p, const void *obj)
{
    return (uint32_t)(((const char *)obj - p->objs) / p->kind->size);
}

void aud_pool_free(aud_pool *p)
{
    dmt_idmap_free(&p->map);
    free(p->age);
    free(p->free_slots);
    memset(p, 0, sizeof *p);
}

bool aud_pool_init(aud_pool *p, const aud_kind *kind, void *objs, uint32_t cap)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->objs = objs;
    p->cap = cap;
    p->age = calloc(cap ? cap : 1, sizeof *p->age);
    p->free_slots = malloc(sizeof(uint32_t) * (cap ? cap : 1));
    /* The id table starts small and doubles with the live ids (up to cap):
     * a session holds a few objects at a time, and a table sized for cap
     * (8192 slots by default) put every new id on a cold cache line. */
    if (!objs || !p->age || !p->free_slots ||
        !dmt_idmap_init(&p->map, cap, cap < AUD_POOL_RESERVE ? cap : AUD_POOL_RESERVE)) {
        aud_pool_free(p); /* an empty pool that aud_pool_next and aud_pool_free accept */
        return false;
    }
    for (uint32_t i = 0; i < cap; i++)
        p->free_slots[i] = cap - 1 - i; /* slot 0 on top */
    p->n_free = cap;
    return true;
}

void *aud_pool_get(const aud_pool *p, uint32_t id)
{
    uint64_t s = id ? dmt_idmap_get(&p->map, id, 0) : DMT_IDMAP_NONE;
    return s == DMT_IDMAP_NONE ? NULL : slot_obj(p, (uint32_t)s);
}

void aud_pool_reset(aud_pool *p, void *obj)
{
    uint32_t id;
    memcpy(&id, obj, sizeof id);
    memset(obj, 0, p->kind->size);
    memcpy(obj, &id, sizeof id);
    p->age[obj_slot(p, obj)] = ++p->clock;
    if (p->kind->init)
        p->kind->init(obj);
}

void aud_pool_remove(dmt_audit *a, aud_pool *p, void *obj)
{
    uint32_t id, s = obj_slot(p, obj);
    if (p->kind->release)
        p->kind->release(a, obj);
    memcpy(&id, obj, sizeof id);
    dmt_idmap_del(&p->map, id, 0);
    p->age[s] = 0;
    p->n--;
    p->free_slots[p->n_free++] = s;
}

/* The live slot to evict: the kind's "keep" ones last, then the oldest. */
static uint32_t victim(const aud_pool *p)
{
    uint32_t best = UINT32_MAX;
    bool best_keep = false;
    for (uint32_t i = 0; i < p->cap; i++) {
        if (!p->age[i])
            continue;
        bool keep = p->kind->keep && p->kind->keep(slot_obj(p, i));
        if (best == UINT32_MAX || keep < best_keep ||
            (keep == best_keep && p->age[i] < p->age[best])) {
            best = i;
            best_keep = keep;
        }
    }
    return best;
}

void *aud_pool_new(dmt_audit *a, aud_pool *p, uint32_t id)
{
    if (!id)
        return NULL;
    if (p->n >= p->cap) {
        uint32_t v = victim(p);
        if (v == UINT32_MAX)
            return NULL;
        aud_pool_remove(a, p, slot_obj(p, v));
        p->evictions++;
        a->st.evicted++;
    }
    if (!p->n_free)
        return NULL;
    uint32_t s = p->free_slots[p->n_free - 1];
    if (dmt_idmap_put(&p->map, id, 0, s)) { /* n < cap = max_live: only growing can fail */
        a->oom = true;
        return NULL;
    }
    p->n_free--;
    p->n++;
    void *obj = slot_obj(p, s);
    memcpy(obj, &id, sizeof id);
    aud_pool_reset(p, obj);
    return obj;
}

void *aud_pool_get_or_new(dmt_audit *a, aud_pool *p, uint32_t id)
{
    void *obj = aud_pool_get(p, id);
    return obj ? obj : aud_pool_new(a, p, id);
}

void *aud_pool_next(const aud_pool *p, uint32_t *slot)
{
    for (; *slot < p->cap; (*slot)++)
        if (p->age[*slot])
            return slot_obj(p, (*slot)++);
    return NULL;
}

/* ---- the four kinds ------------------------------------------------------------- */

static bool adapter_keep(const void *obj)
{
    return !((const adapter *)obj)->released; /* put adapters go first */
}

static void adapter_init(void *obj)
{
    adapter *d = obj;
    d->create_seq = d->release_seq = d->current_done_seq = d->last_completed_seq = AUD_NONE;
    d->current_done_cpu = DMT_CPU_NONE;
}

static void cbuf_release(dmt_audit *a, void *obj)
{
    cbuf *c = obj;
    if (c->shadow >= 0) {
        a->sh[c->shadow].used = false;
        c->shadow = -1;
    }
}

static void cbuf_init(void *obj)
{
    cbuf *c = obj;
    c->shadow = -1;
    c->alloc_seq = c->last_desc_seq = AUD_NONE;
}

static bool xfer_keep(const void *obj)
{
    const xfer *x = obj; /* transfers in flight go last */
    return x->executed && !x->abandoned;
}

static void xfer_release(dmt_audit *a, void *obj)
{
    aud_xf_leave(a, obj);
    aud_xf_drop_sg(a, obj);
}

static void xfer_init(void *obj)
{
    xfer *x = obj;
    x->start_seq = x->exec_seq = x->doorbell_seq = x->desc_seq = x->prog_since = AUD_NONE;
    x->first_page_off = AUD_NONE;
}

const aud_kind aud_adapter_kind = {sizeof(adapter), adapter_keep, NULL, adapter_init};
const aud_kind aud_mdl_kind = {sizeof(mdl), NULL, NULL, NULL};
const aud_kind aud_cbuf_kind = {sizeof(cbuf), NULL, cbuf_release, cbuf_init};
const aud_kind aud_xfer_kind = {sizeof(xfer), xfer_keep, xfer_release, xfer_init};

/* ---- transfers and the in-flight list --------------------------------------------
 * A doubly linked list through xfer.prev/next holding slot + 1 (0 = none),
 * newest first; a transfer is in it iff in_list. */

xfer *aud_xf_new(dmt_audit *a, uint32_t id)
{
    xfer *x = aud_pool_new(a, &a->xf_p, id);
    if (x && id > a->max_xfer)
        a->max_xfer = id;
    return x;
}

void aud_xf_free(dmt_audit *a, xfer *x)
{
    aud_pool_remove(a, &a->xf_p, x);
}

void aud_xf_drop_sg(dmt_audit *a, xfer *x)
{
    if (x->sg) {
        a->kept_elems -= x->sg->n;
        aud_sg_free(x->sg);
        x->sg = NULL;
    }
}

void aud_inflight_link(dmt_audit *a, xfer *x)
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

void aud_xf_leave(dmt_audit *a, xfer *x)
{
    if (!x->in_list)
        return;
    adapter *ad = aud_ad_get(a, x->adapter);
    if (ad && ad->inflight)
        ad->inflight--;
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

xfer *aud_inflight_next(dmt_audit *a, uint32_t *slot)
{
    if (!*slot)
        return NULL;
    xfer *x = &a->xf[*slot - 1];
    *slot = x->next;
    return x;
}

/* ---- devices, channels, completed transfers --------------------------------------- */

devst *aud_dev_get(dmt_audit *a, uint32_t dev)
{
    for (uint32_t i = 0; i < a->n_devs; i++)
        if (a->devs[i].dev == dev)
            return &a->devs[i];
    if (a->n_devs == AUD_MAX_DEVS)
        return NULL;
    devst *d = &a->devs[a->n_devs++];
    d->dev = dev;
    d->irqs = 0;
    return d;
}

chanst *aud_chan_get(dmt_audit *a, uint32_t dev, uint32_t channel, bool create)
{
    for (uint32_t i = 0; i < a->n_chans; i++)
        if (a->chans[i].dev == dev && a->chans[i].channel == channel)
            return &a->chans[i];
    if (!create || a->n_chans == AUD_MAX_CHANNELS)
        return NULL;
    chanst *c = &a->chans[a->n_chans++];
    c->dev = dev;
    c->channel = channel;
    c->xfer = 0;
    return c;
}

int aud_model_of(const dmt_audit *a, uint32_t dev)
{
    for (uint32_t i = 0; i < a->n_devices; i++)
        if (a->devices[i]->claims(a->dev_state[i], dev))
            return (int)i;
    return -1;
}

uint64_t aud_device_limit(const dmt_audit *a, uint32_t dev)
{
    int m = aud_model_of(a, dev);
    return m < 0 ? UINT64_MAX : a->devices[m]->addr_limit(a->dev_state[m], dev);
}

/* Completed transfer ids, direct-mapped by id (a newer id may take an older
 * one's place: it is then only "no longer in flight"). */
void aud_remember_done(dmt_audit *a, uint32_t id)
{
    recent *r = &a->done[id % AUD_RECENT_DONE];
    r->xfer = id;
    r->seq = a->cur_seq;
}

uint64_t aud_recent_done(const dmt_audit *a, uint32_t id)
{
    const recent *r = &a->done[id % AUD_RECENT_DONE];
    return id && r->xfer == id ? r->seq : AUD_NONE;
}

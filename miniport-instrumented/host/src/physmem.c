/*
 * physmem.c - simulated physical memory behind locked buffers, bounce pages
 * and common buffers.
 *
 * Frames for locked buffers come from a seeded, deterministic allocator over
 * the RAM zones the placement allows (see the map in hvp.h).  For each page
 * of a buffer that has no frame yet: with probability contig_permille/1000
 * it takes the frame right after the previous page's (if free and eligible),
 * otherwise a uniformly random free eligible frame.  The random draws depend
 * only on the seed and the sequence of LockBuffer calls, never on host
 * addresses, so a single-threaded session always gets the same frames.
 *
 * A host page keeps its frame while any MDL covers it (two locks of the same
 * page, or of two buffers sharing a page, see the same physical address, as
 * on Windows).  Each frame is registered in dmm_phys as one borrowed region
 * covering the hull of the byte windows currently locked in that page:
 *
 *     host page  |....AAAAAAAA....BBBBBB......|
 *     windows         [A)             [B)
 *     region          [------ hull ------)      (pfn*4096 + lo .. + hi)
 *
 * so the device sees exactly the locked bytes of a buffer whose first or last
 * page is partial.  Changing a hull (unmap + map) happens under the layout
 * write lock so no engine run, which only happens inside a register access
 * under the read lock, sees the gap.
 *
 * Pools: contiguous page runs for bounce buffers and common buffers, handed
 * out first-fit from pool32 (below ram_low_top) and pool24 (1-8 MiB, for
 * adapters limited to 16 MiB).  All functions here run under m->lock.
 */
#include "hvp_internal.h"

#include <stdlib.h>
#include <string.h>

#define ZONE_LOW_FIRST (8ull << 20)
#define ZONE_LOW_END   (16ull << 20)
#define POOL24_BASE    (1ull << 20)
#define POOL24_END     (8ull << 20)

/* ---- random numbers (splitmix64) --------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---- uint64 -> pointer hash (key 0 empty, UINT64_MAX tombstone) -------- */

#define HKEY_EMPTY 0ull
#define HKEY_TOMB  UINT64_MAX

static size_t hslot(uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDull;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static void *hash_get(const hvp_hash *h, uint64_t k)
{
    if (!h->cap)
        return NULL;
    for (size_t i = hslot(k, h->cap), n = 0; n < h->cap; i = (i + 1) & (h->cap - 1), n++) {
        if (h->keys[i] == HKEY_EMPTY)
            return NULL;
        if (h->keys[i] == k)
            return h->vals[i];
    }
    return NULL;
}

static int hash_put(hvp_hash *h, uint64_t k, void *v);

static int hash_grow(hvp_hash *h)
{
    size_t ncap = h->cap ? h->cap * 2 : 64;
    if (h->cap && h->n * 4 < h->cap)
        ncap = h->cap; /* mostly tombstones: rehash in place size */
    hvp_hash nh = {
        .keys = calloc(ncap, sizeof(uint64_t)), .vals = calloc(ncap, sizeof(void *)), .cap = ncap};
    if (!nh.keys || !nh.vals) {
        free(nh.keys);
        free(nh.vals);
        return -1;
    }
    for (size_t i = 0; i < h->cap; i++)
        if (h->keys[i] != HKEY_EMPTY && h->keys[i] != HKEY_TOMB)
            hash_put(&nh, h->keys[i], h->vals[i]);
    free(h->keys);
    free(h->vals);
    *h = nh;
    return 0;
}

static int hash_put(hvp_hash *h, uint64_t k, void *v)
{
    if ((h->n + h->tomb + 1) * 2 > h->cap && hash_grow(h) != 0)
        return -1;
    size_t i = hslot(k, h->cap);
    while (h->keys[i] != HKEY_EMPTY && h->keys[i] != HKEY_TOMB && h->keys[i] != k)
        i = (i + 1) & (h->cap - 1);
    if (h->keys[i] == k) {
        h->vals[i] = v;
        return 0;
    }
    if (h->keys[i] == HKEY_TOMB)
        h->tomb--;
    h->keys[i] = k;
    h->vals[i] = v;
    h->n++;
    return 0;
}

static void hash_del(hvp_hash *h, uint64_t k)
{
    if (!h->cap)
        return;
    for (size_t i = hslot(k, h->cap), n = 0; n < h->cap; i = (i + 1) & (h->cap - 1), n++) {
        if (h->keys[i] == HKEY_EMPTY)
            return;
        if (h->keys[i] == k) {
            h->keys[i] = HKEY_TOMB;
            h->vals[i] = NULL;
            h->n--;
            h->tomb++;
            return;
        }
    }
}

static void hash_free(hvp_hash *h)
{
    free(h->keys);
    free(h->vals);
    memset(h, 0, sizeof(*h));
}

/* ---- pools -------------------------------------------------------------- */

static int pool_init(hvp_pool *p, uint64_t base, uint64_t end)
{
    p->base = base;
    p->end = end;
    p->free = malloc(sizeof(hvp_extent) * 8);
    if (!p->free)
        return -1;
    p->capfree = 8;
    p->nfree = 1;
    p->free[0] = (hvp_extent){base, end - base};
    return 0;
}

static uint64_t pool_take(hvp_pool *p, uint64_t bytes, uint64_t limit)
{
    for (size_t i = 0; i < p->nfree; i++) {
        hvp_extent *e = &p->free[i];
        if (e->len < bytes || e->addr + bytes - 1 > limit)
            continue;
        uint64_t a = e->addr;
        e->addr += bytes;
        e->len -= bytes;
        if (e->len == 0) {
            memmove(e, e + 1, (p->nfree - i - 1) * sizeof(*e));
            p->nfree--;
        }
        return a;
    }
    return 0;
}

static void pool_give(hvp_pool *p, uint64_t addr, uint64_t bytes)
{
    size_t i = 0;
    while (i < p->nfree && p->free[i].addr < addr)
        i++;
    bool merge_prev = i > 0 && p->free[i - 1].addr + p->free[i - 1].len == addr;
    bool merge_next = i < p->nfree && addr + bytes == p->free[i].addr;
    if (merge_prev && merge_next) {
        p->free[i - 1].len += bytes + p->free[i].len;
        memmove(&p->free[i], &p->free[i + 1], (p->nfree - i - 1) * sizeof(hvp_extent));
        p->nfree--;
    } else if (merge_prev) {
        p->free[i - 1].len += bytes;
    } else if (merge_next) {
        p->free[i].addr = addr;
        p->free[i].len += bytes;
    } else {
        if (p->nfree == p->capfree) {
            hvp_extent *n = realloc(p->free, p->capfree * 2 * sizeof(hvp_extent));
            if (!n)
                return; /* leaks the range in the pool; never happens in practice */
            p->free = n;
            p->capfree *= 2;
        }
        memmove(&p->free[i + 1], &p->free[i], (p->nfree - i) * sizeof(hvp_extent));
        p->free[i] = (hvp_extent){addr, bytes};
        p->nfree++;
    }
}

uint64_t hvp__pool_alloc(hvp_machine *m, uint64_t pages, uint64_t limit)
{
    if (pages == 0 || pages > (1ull << 40) / HVP_PAGE)
        return 0;
    uint64_t bytes = pages * HVP_PAGE;
    uint64_t a = pool_take(&m->phys.pool32, bytes, limit);
    if (!a)
        a = pool_take(&m->phys.pool24, bytes, limit);
    return a;
}

void hvp__pool_free(hvp_machine *m, uint64_t addr, uint64_t pages)
{
    hvp_pool *p = addr >= m->phys.pool32.base ? &m->phys.pool32 : &m->phys.pool24;
    pool_give(p, addr, pages * HVP_PAGE);
}

uint64_t hvp__ram_bytes(const hvp_config *cfg)
{
    return cfg->ram_low_top + cfg->ram_high_size;
}

/* ---- zones -------------------------------------------------------------- */

int hvp__phys_init(hvp_machine *m)
{
    hvp_physmem *ph = &m->phys;
    const hvp_config *c = &m->cfg;
    memset(ph, 0, sizeof(*ph));
    ph->rng = c->seed;
    uint64_t pool32_base = c->ram_low_top - c->pool32_size;
    hvp_zone low = {ZONE_LOW_FIRST / HVP_PAGE, (ZONE_LOW_END - ZONE_LOW_FIRST) / HVP_PAGE};
    hvp_zone mid = {ZONE_LOW_END / HVP_PAGE, (pool32_base - ZONE_LOW_END) / HVP_PAGE};
    hvp_zone high = {HVP_4G / HVP_PAGE, c->ram_high_size / HVP_PAGE};
    switch (c->placement) {
    case HVP_PLACE_ANY:
        ph->zones[ph->nzones++] = low;
        ph->zones[ph->nzones++] = mid;
        if (high.npfn)
            ph->zones[ph->nzones++] = high;
        break;
    case HVP_PLACE_BELOW_4G:
        ph->zones[ph->nzones++] = low;
        ph->zones[ph->nzones++] = mid;
        break;
    case HVP_PLACE_ABOVE_4G:
        ph->zones[ph->nzones++] = high;
        break;
    case HVP_PLACE_BELOW_16M:
        ph->zones[ph->nzones++] = low;
        break;
    }
    for (uint32_t i = 0; i < ph->nzones; i++)
        ph->eligible += ph->zones[i].npfn;
    if (pool_init(&ph->pool24, POOL24_BASE, POOL24_END) != 0 ||
        pool_init(&ph->pool32, pool32_base, c->ram_low_top) != 0)
        return -1;
    return 0;
}

static void frame_free(hvp_frame *f)
{
    free(f->win);
    free(f);
}

void hvp__phys_fini(hvp_machine *m)
{
    hvp_physmem *ph = &m->phys;
    for (size_t i = 0; i < ph->by_page.cap; i++) {
        uint64_t k = ph->by_page.keys ? ph->by_page.keys[i] : 0;
        if (k != HKEY_EMPTY && k != HKEY_TOMB)
            frame_free(ph->by_page.vals[i]);
    }
    hash_free(&ph->by_page);
    hash_free(&ph->by_pfn);
    free(ph->pool24.free);
    free(ph->pool32.free);
    memset(ph, 0, sizeof(*ph));
}

static bool pfn_eligible(const hvp_physmem *ph, uint64_t pfn)
{
    for (uint32_t i = 0; i < ph->nzones; i++)
        if (pfn >= ph->zones[i].first_pfn && pfn - ph->zones[i].first_pfn < ph->zones[i].npfn)
            return true;
    return false;
}

static uint64_t index_to_pfn(const hvp_physmem *ph, uint64_t idx)
{
    for (uint32_t i = 0; i < ph->nzones; i++) {
        if (idx < ph->zones[i].npfn)
            return ph->zones[i].first_pfn + idx;
        idx -= ph->zones[i].npfn;
    }
    return UINT64_MAX;
}

static uint64_t pick_random(hvp_physmem *ph)
{
    if (ph->eligible == 0 || ph->by_pfn.n >= ph->eligible)
        return UINT64_MAX;
    uint64_t idx = rng_next(&ph->rng) % ph->eligible;
    for (uint64_t n = 0; n < ph->eligible; n++) {
        uint64_t pfn = index_to_pfn(ph, idx);
        if (!hash_get(&ph->by_pfn, pfn))
            return pfn;
        idx = idx + 1 == ph->eligible ? 0 : idx + 1;
    }
    return UINT64_MAX;
}

/* A PFN a frame_fn may choose: free, not a pool, BAR or the first MiB. */
static bool pfn_acceptable(hvp_machine *m, uint64_t pfn)
{
    if (pfn >= (1ull << 40) || pfn < (1ull << 20) / HVP_PAGE)
        return false;
    uint64_t a = pfn * HVP_PAGE;
    const hvp_physmem *ph = &m->phys;
    if ((a >= ph->pool24.base && a < ph->pool24.end) ||
        (a >= ph->pool32.base && a < ph->pool32.end))
        return false;
    if (a + HVP_PAGE > m->cfg.bar_phys && a < m->cfg.bar_phys + DMM_BAR_SIZE)
        return false;
    return hash_get(&ph->by_pfn, pfn) == NULL;
}

/* ---- frames and windows ------------------------------------------------- */

/* Re-register f's hull in dmm_phys if it changed.  DMM_OK or DMM_E*. */
static int frame_sync(hvp_machine *m, hvp_frame *f)
{
    uint16_t lo = HVP_PAGE, hi = 0;
    for (uint32_t i = 0; i < f->nwin; i++) {
        if (f->win[i].lo < lo)
            lo = f->win[i].lo;
        if (f->win[i].hi > hi)
            hi = f->win[i].hi;
    }
    if (f->nwin == 0)
        lo = hi = 0;
    if (lo == f->reg_lo && hi == f->reg_hi)
        return DMM_OK;
    uint64_t base = f->pfn * HVP_PAGE;
    if (f->reg_hi > f->reg_lo)
        dmm_phys_unmap(m->pm, base + f->reg_lo);
    f->reg_lo = f->reg_hi = 0;
    if (hi > lo) {
        int rc = dmm_phys_map(m->pm, base + lo, (uint64_t)(hi - lo), (void *)(f->page + lo));
        if (rc != DMM_OK)
            return rc;
        f->reg_lo = lo;
        f->reg_hi = hi;
    }
    return DMM_OK;
}

static void frame_drop_window(hvp_machine *m, hvp_frame *f, const hvp_mdl *mdl)
{
    for (uint32_t i = 0; i < f->nwin; i++)
        if (f->win[i].mdl == mdl) {
            f->win[i] = f->win[--f->nwin];
            break;
        }
    frame_sync(m, f);
    if (f->nwin == 0) {
        hash_del(&m->phys.by_page, f->page);
        hash_del(&m->phys.by_pfn, f->pfn);
        frame_free(f);
    }
}

void hvp__phys_unlock_pages(hvp_machine *m, hvp_mdl *mdl)
{
    if (!mdl->frames)
        return;
    for (uint32_t i = 0; i < mdl->npages; i++)
        if (mdl->frames[i])
            frame_drop_window(m, mdl->frames[i], mdl);
    free(mdl->frames);
    mdl->frames = NULL;
}

static hvp_frame *frame_new(hvp_machine *m, uintptr_t page, uint32_t seq, uint32_t i,
                            uint64_t prev_pfn)
{
    hvp_physmem *ph = &m->phys;
    uint64_t pfn = UINT64_MAX;
    if (i > 0 && prev_pfn != UINT64_MAX) {
        uint64_t roll = rng_next(&ph->rng) % 1000;
        uint64_t next = prev_pfn + 1;
        if (roll < m->cfg.contig_permille && pfn_eligible(ph, next) && !hash_get(&ph->by_pfn, next))
            pfn = next;
    }
    if (pfn == UINT64_MAX)
        pfn = pick_random(ph);
    if (pfn == UINT64_MAX)
        return NULL; /* RAM full */
    if (m->cfg.frame_fn) {
        uint64_t want = m->cfg.frame_fn(m->cfg.frame_ctx, seq, i, pfn);
        if (want != pfn) {
            if (pfn_acceptable(m, want))
                pfn = want;
            else
                hvp__log(m, HVP_LOG_WARN, "frame_fn chose unusable PFN 0x%llx; using 0x%llx",
                         (unsigned long long)want, (unsigned long long)pfn);
        }
    }
    hvp_frame *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->page = page;
    f->pfn = pfn;
    if (hash_put(&ph->by_page, page, f) != 0) {
        free(f);
        return NULL;
    }
    if (hash_put(&ph->by_pfn, pfn, f) != 0) {
        hash_del(&ph->by_page, page);
        free(f);
        return NULL;
    }
    return f;
}

int hvp__phys_lock_pages(hvp_machine *m, hvp_mdl *mdl)
{
    mdl->frames = calloc(mdl->npages, sizeof(*mdl->frames));
    if (!mdl->frames)
        return DMM_ENOMEM;
    uintptr_t first = mdl->va & ~(uintptr_t)(HVP_PAGE - 1);
    uint64_t last_byte = (uint64_t)mdl->va + mdl->len - 1;
    uint64_t prev = UINT64_MAX;
    for (uint32_t i = 0; i < mdl->npages; i++) {
        uintptr_t page = first + (uintptr_t)i * HVP_PAGE;
        uint16_t lo = i == 0 ? (uint16_t)(mdl->va & (HVP_PAGE - 1)) : 0;
        uint16_t hi = i + 1 == mdl->npages ? (uint16_t)((last_byte & (HVP_PAGE - 1)) + 1)
                                           : (uint16_t)HVP_PAGE;
        hvp_frame *f = hash_get(&m->phys.by_page, page);
        if (!f)
            f = frame_new(m, page, mdl->seq, i, prev);
        int rc = DMM_ENOMEM;
        if (f && f->nwin < 65535) {
            if (f->nwin == f->capwin) {
                uint32_t nc = f->capwin ? f->capwin * 2 : 2;
                hvp_window *nw = realloc(f->win, nc * sizeof(*nw));
                if (nw) {
                    f->win = nw;
                    f->capwin = nc;
                }
            }
            if (f->nwin < f->capwin) {
                f->win[f->nwin++] = (hvp_window){mdl, lo, hi};
                rc = frame_sync(m, f);
                if (rc != DMM_OK) {
                    f->nwin--;
                    frame_sync(m, f);
                }
            }
        }
        if (rc != DMM_OK) {
            if (f && f->nwin == 0) {
                hash_del(&m->phys.by_page, f->page);
                hash_del(&m->phys.by_pfn, f->pfn);
                frame_free(f);
            }
            hvp__phys_unlock_pages(m, mdl); /* frames[i..] are NULL */
            return rc;
        }
        mdl->frames[i] = f;
        prev = f->pfn;
    }
    return DMM_OK;
}

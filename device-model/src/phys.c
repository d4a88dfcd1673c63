/*
 * phys.c - dmm_phys: the simulated sparse 64-bit physical address space.
 *
 * Regions are byte-granular, non-overlapping [addr, last] ranges (last is
 * inclusive so a region may end at 2^64 - 1).  They are kept sorted by addr
 * in a two-level sorted array, so every lookup is two binary searches and an
 * insert or removal moves at most one chunk (CHUNK_CAP entries) plus, on a
 * split or when a chunk empties, the chunk index.  A flat sorted array would
 * make a hostile trace that maps 1M regions in descending order cost ~10^13
 * bytes of memmove; this bounds it to ~10^10.
 *
 *   firsts: [ 0x0000 | 0x9000 | 0xF000_0000 ]     (firsts[i] == chunks[i]->r[0].addr)
 *   chunks:    |        |         |
 *              v        v         v
 *          [r r r .] [r r . .] [r r r r]   each chunk: 1..CHUNK_CAP regions, sorted
 *
 * Invariants (under pm->lock):
 *  - every chunk holds 1..CHUNK_CAP regions; chunks are ordered, and regions
 *    inside them, by addr; for consecutive regions a, b: a.last < b.addr;
 *  - nregions == sum of chunk sizes <= max_regions;
 *  - owned_bytes == sum of owned region lengths <= max_owned;
 *  - a lazy region's contents are bytes [base, base + length) of the XS64
 *    pattern of seed and its host bytes are stale: every read through the
 *    model generates the bytes, every write through it materialises the
 *    whole region first (fills host, clears lazy).  Only
 *    dmm_phys_set_pattern and the device's card-to-host runs (a whole
 *    region from device memory that holds a pattern, dev.c) make a region
 *    lazy, so a user that never calls dmm_phys_set_pattern never sees one.
 */
#include "dmm_internal.h"

#include "dmt/digest.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_CAP 256u

typedef struct region {
    uint64_t addr;
    uint64_t last; /* inclusive */
    uint8_t *host; /* byte for addr */
    bool owned;
    bool lazy;           /* holds pattern(seed) from offset base; host stale */
    uint64_t seed, base; /* lazy: the byte at addr is pattern byte base */
} region;

typedef struct chunk {
    uint32_t n;
    region r[CHUNK_CAP];
} chunk;

struct dmm_phys {
    pthread_mutex_t lock;
    chunk **chunks;
    uint64_t *firsts;
    size_t nchunks, capchunks;
    uint64_t nregions, owned_bytes;
    uint64_t max_regions, max_owned;
};

typedef struct pos {
    size_t c;
    uint32_t i;
} pos;

dmm_phys *dmm_phys_new(void)
{
    dmm_phys *pm = calloc(1, sizeof(*pm));
    if (!pm)
        return NULL;
    if (pthread_mutex_init(&pm->lock, NULL) != 0) {
        free(pm);
        return NULL;
    }
    pm->max_regions = DMM_PHYS_MAX_REGIONS;
    pm->max_owned = DMM_PHYS_MAX_OWNED;
    return pm;
}

void dmm_phys_free(dmm_phys *pm)
{
    if (!pm)
        return;
    for (size_t c = 0; c < pm->nchunks; c++) {
        chunk *ch = pm->chunks[c];
        for (uint32_t i = 0; i < ch->n; i++)
            if (ch->r[i].owned)
                free(ch->r[i].host);
        free(ch);
    }
    free(pm->chunks);
    free(pm->firsts);
    pthread_mutex_destroy(&pm->lock);
    free(pm);
}

void dmm__phys_lock(dmm_phys *pm)
{
    pthread_mutex_lock(&pm->lock);
}

void dmm__phys_unlock(dmm_phys *pm)
{
    pthread_mutex_unlock(&pm->lock);
}

/* The region with the largest addr <= x; false if none. */
static bool find_pred(const dmm_phys *pm, uint64_t x, pos *out)
{
    size_t lo = 0, hi = pm->nchunks; /* count of firsts <= x lies in [lo, hi] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pm->firsts[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return false;
    const chunk *ch = pm->chunks[lo - 1];
    uint32_t a = 0, b = ch->n;
    while (a < b) {
        uint32_t mid = a + (b - a) / 2;
        if (ch->r[mid].addr <= x)
            a = mid + 1;
        else
            b = mid;
    }
    /* a >= 1 because firsts[lo-1] <= x */
    out->c = lo - 1;
    out->i = a - 1;
    return true;
}

static region *at(const dmm_phys *pm, pos p)
{
    return &pm->chunks[p.c]->r[p.i];
}

/* The region containing x, or NULL. */
static region *lookup(const dmm_phys *pm, uint64_t x)
{
    pos p;
    if (!find_pred(pm, x, &p))
        return NULL;
    region *r = at(pm, p);
    return r->last >= x ? r : NULL;
}

static int grow_index(dmm_phys *pm)
{
    if (pm->nchunks < pm->capchunks)
        return DMM_OK;
    size_t cap = pm->capchunks ? pm->capchunks * 2 : 16;
    chunk **nc = realloc(pm->chunks, cap * sizeof(*nc));
    if (!nc)
        return DMM_ENOMEM;
    pm->chunks = nc;
    uint64_t *nf = realloc(pm->firsts, cap * sizeof(*nf));
    if (!nf)
        return DMM_ENOMEM;
    pm->firsts = nf;
    pm->capchunks = cap;
    return DMM_OK;
}

/* Insert a chunk pointer at index position c. Capacity must be available. */
static void index_insert(dmm_phys *pm, size_t c, chunk *ch)
{
    memmove(&pm->chunks[c + 1], &pm->chunks[c], (pm->nchunks - c) * sizeof(pm->chunks[0]));
    memmove(&pm->firsts[c + 1], &pm->firsts[c], (pm->nchunks - c) * sizeof(pm->firsts[0]));
    pm->chunks[c] = ch;
    pm->firsts[c] = ch->r[0].addr;
    pm->nchunks++;
}

/* Insert r so that it becomes the region at position (c, i), 0 <= i <= n. */
static int insert_at(dmm_phys *pm, size_t c, uint32_t i, const region *r)
{
    if (pm->nchunks == 0) {
        if (grow_index(pm) != DMM_OK)
            return DMM_ENOMEM;
        chunk *ch = malloc(sizeof(*ch));
        if (!ch)
            return DMM_ENOMEM;
        ch->n = 1;
        ch->r[0] = *r;
        index_insert(pm, 0, ch);
        return DMM_OK;
    }
    chunk *ch = pm->chunks[c];
    if (ch->n == CHUNK_CAP) {
        /* split: upper half moves to a new chunk at c+1 */
        if (grow_index(pm) != DMM_OK)
            return DMM_ENOMEM;
        chunk *hi = malloc(sizeof(*hi));
        if (!hi)
            return DMM_ENOMEM;
        const uint32_t half = CHUNK_CAP / 2;
        hi->n = CHUNK_CAP - half;
        memcpy(hi->r, &ch->r[half], hi->n * sizeof(region));
        ch->n = half;
        index_insert(pm, c + 1, hi);
        if (i > half) {
            c = c + 1;
            i -= half;
            ch = hi;
        }
    }
    memmove(&ch->r[i + 1], &ch->r[i], (ch->n - i) * sizeof(region));
    ch->r[i] = *r;
    ch->n++;
    pm->firsts[c] = ch->r[0].addr;
    return DMM_OK;
}

static void remove_at(dmm_phys *pm, pos p)
{
    chunk *ch = pm->chunks[p.c];
    memmove(&ch->r[p.i], &ch->r[p.i + 1], (ch->n - p.i - 1) * sizeof(region));
    ch->n--;
    if (ch->n == 0) {
        free(ch);
        memmove(&pm->chunks[p.c], &pm->chunks[p.c + 1],
                (pm->nchunks - p.c - 1) * sizeof(pm->chunks[0]));
        memmove(&pm->firsts[p.c], &pm->firsts[p.c + 1],
                (pm->nchunks - p.c - 1) * sizeof(pm->firsts[0]));
        pm->nchunks--;
    } else {
        pm->firsts[p.c] = ch->r[0].addr;
    }
}

/* Validate and insert; host already allocated by the caller for owned. */
static int add_region(dmm_phys *pm, uint64_t addr, uint64_t len, uint8_t *host, bool owned)
{
    uint64_t last = addr + (len - 1); /* caller checked no wrap */
    if (pm->nregions >= pm->max_regions)
        return DMM_ENOMEM;
    pos p;
    bool has_pred = find_pred(pm, last, &p);
    if (has_pred && at(pm, p)->last >= addr)
        return DMM_EINVAL; /* overlap (see README: any overlap is the pred of last) */
    region r = {.addr = addr, .last = last, .host = host, .owned = owned};
    int rc = has_pred ? insert_at(pm, p.c, p.i + 1, &r) : insert_at(pm, 0, 0, &r);
    if (rc != DMM_OK)
        return rc;
    pm->nregions++;
    if (owned)
        pm->owned_bytes += len;
    return DMM_OK;
}

static bool range_ok(uint64_t addr, uint64_t len)
{
    return len != 0 && len - 1 <= UINT64_MAX - addr;
}

int dmm_phys_map(dmm_phys *pm, uint64_t addr, uint64_t len, void *host)
{
    if (!pm || !host || !range_ok(addr, len))
        return DMM_EINVAL;
    if (len - 1 > (uint64_t)(UINTPTR_MAX - (uintptr_t)host))
        return DMM_EINVAL; /* host buffer would wrap the process address space */
    pthread_mutex_lock(&pm->lock);
    int rc = add_region(pm, addr, len, host, false);
    pthread_mutex_unlock(&pm->lock);
    return rc;
}

int dmm_phys_alloc(dmm_phys *pm, uint64_t addr, uint64_t len)
{
    if (!pm || !range_ok(addr, len))
        return DMM_EINVAL;
    if (len > SIZE_MAX)
        return DMM_ENOMEM;
    pthread_mutex_lock(&pm->lock);
    int rc;
    uint8_t *mem = NULL;
    if (len > pm->max_owned - pm->owned_bytes || pm->nregions >= pm->max_regions) {
        rc = DMM_ENOMEM;
    } else {
        /* Check the overlap before allocating so a rejected call costs nothing. */
        pos p;
        uint64_t last = addr + (len - 1);
        if (find_pred(pm, last, &p) && at(pm, p)->last >= addr) {
            rc = DMM_EINVAL;
        } else {
            mem = calloc(1, (size_t)len);
            rc = mem ? add_region(pm, addr, len, mem, true) : DMM_ENOMEM;
        }
    }
    pthread_mutex_unlock(&pm->lock);
    if (rc != DMM_OK)
        free(mem);
    return rc;
}

int dmm_phys_unmap(dmm_phys *pm, uint64_t addr)
{
    if (!pm)
        return DMM_EINVAL;
    pthread_mutex_lock(&pm->lock);
    pos p;
    int rc = DMM_EINVAL;
    uint8_t *to_free = NULL;
    if (find_pred(pm, addr, &p) && at(pm, p)->addr == addr) {
        region *r = at(pm, p);
        if (r->owned) {
            to_free = r->host;
            pm->owned_bytes -= r->last - r->addr + 1;
        }
        remove_at(pm, p);
        pm->nregions--;
        rc = DMM_OK;
    }
    pthread_mutex_unlock(&pm->lock);
    free(to_free);
    return rc;
}

/* Fill a lazy region's host bytes from its pattern; it is plain memory again. */
static void materialise(region *r)
{
    if (!r->lazy)
        return;
    dmt_pattern_fill(r->host, r->seed, r->base, (size_t)(r->last - r->addr + 1));
    r->lazy = false;
}

bool dmm__phys_piece_locked(dmm_phys *pm, uint64_t addr, uint64_t len, dmm__piece *out)
{
    region *r = lookup(pm, addr);
    if (!r)
        return false;
    uint64_t avail_m1 = r->last - addr;
    out->n = (len - 1 <= avail_m1) ? len : avail_m1 + 1;
    out->host = r->host + (size_t)(addr - r->addr);
    out->whole = addr == r->addr && out->n - 1 == r->last - r->addr;
    out->lazy = r->lazy;
    out->seed = r->seed;
    out->base = r->base + (addr - r->addr);
    out->reg = r;
    return true;
}

void dmm__phys_piece_materialise(dmm__piece *p)
{
    materialise(p->reg);
    p->lazy = false;
}

void dmm__phys_piece_set_pattern(dmm__piece *p, uint64_t seed, uint64_t base)
{
    region *r = p->reg;
    r->lazy = true;
    r->seed = seed;
    r->base = base;
}

/* The region starting exactly at addr, or NULL. */
static region *region_at(const dmm_phys *pm, uint64_t addr)
{
    pos p;
    return find_pred(pm, addr, &p) && at(pm, p)->addr == addr ? at(pm, p) : NULL;
}

int dmm_phys_set_pattern(dmm_phys *pm, uint64_t addr, uint64_t seed, uint64_t base)
{
    if (!pm)
        return DMM_EINVAL;
    pthread_mutex_lock(&pm->lock);
    region *r = region_at(pm, addr);
    if (r) {
        r->lazy = true;
        r->seed = seed;
        r->base = base;
    }
    pthread_mutex_unlock(&pm->lock);
    return r ? DMM_OK : DMM_EINVAL;
}

bool dmm_phys_pattern_of(dmm_phys *pm, uint64_t addr, uint64_t *seed, uint64_t *base)
{
    if (!pm)
        return false;
    pthread_mutex_lock(&pm->lock);
    const region *r = region_at(pm, addr);
    bool lazy = r && r->lazy;
    if (lazy) {
        *seed = r->seed;
        *base = r->base;
    }
    pthread_mutex_unlock(&pm->lock);
    return lazy;
}

int dmm_phys_materialise(dmm_phys *pm, uint64_t addr)
{
    if (!pm)
        return DMM_EINVAL;
    pthread_mutex_lock(&pm->lock);
    region *r = region_at(pm, addr);
    if (r)
        materialise(r);
    pthread_mutex_unlock(&pm->lock);
    return r ? DMM_OK : DMM_EINVAL;
}

bool dmm__phys_check_locked(dmm_phys *pm, uint64_t addr, uint64_t last, uint64_t *bad)
{
    uint64_t cur = addr;
    for (;;) {
        const region *r = lookup(pm, cur);
        if (!r) {
            *bad = cur;
            return false;
        }
        if (r->last >= last)
            return true;
        cur = r->last + 1; /* r->last < last <= UINT64_MAX: no wrap */
    }
}

void dmm__phys_copy_locked(dmm_phys *pm, uint64_t addr, uint64_t len, void *buf, bool to_phys)
{
    uint8_t *b = buf;
    uint64_t cur = addr;
    while (len > 0) {
        const region *r = lookup(pm, cur);
        if (!r)
            return;                        /* unreachable after a successful check */
        uint64_t avail_m1 = r->last - cur; /* bytes available - 1 (may be 2^64 - 1) */
        uint64_t n = (len - 1 <= avail_m1) ? len : avail_m1 + 1;
        region *w = (region *)r; /* the map's own entry: lookup's const is for reads */
        uint8_t *h = r->host + (size_t)(cur - r->addr);
        if (to_phys) {
            materialise(w);
            memcpy(h, b, (size_t)n);
        } else if (r->lazy) {
            dmt_pattern_fill(b, r->seed, r->base + (cur - r->addr), (size_t)n);
        } else {
            memcpy(b, h, (size_t)n);
        }
        b += n;
        len -= n;
        cur += n; /* wraps to 0 only when len became 0 */
    }
}

static int xfer(dmm_phys *pm, uint64_t addr, void *buf, uint64_t len, bool to_phys)
{
    if (!pm)
        return DMM_EINVAL;
    if (len == 0)
        return DMM_OK;
    if (!buf)
        return DMM_EINVAL;
    if (len - 1 > UINT64_MAX - addr)
        return DMM_EFAULT; /* wraps past 2^64: those bytes cannot be mapped */
    if (len > SIZE_MAX)
        return DMM_EINVAL;
    pthread_mutex_lock(&pm->lock);
    uint64_t bad;
    int rc = DMM_EFAULT;
    if (dmm__phys_check_locked(pm, addr, addr + (len - 1), &bad)) {
        dmm__phys_copy_locked(pm, addr, len, buf, to_phys);
        rc = DMM_OK;
    }
    pthread_mutex_unlock(&pm->lock);
    return rc;
}

int dmm_phys_read(dmm_phys *pm, uint64_t addr, void *dst, uint64_t len)
{
    return xfer(pm, addr, dst, len, false);
}

int dmm_phys_write(dmm_phys *pm, uint64_t addr, const void *src, uint64_t len)
{
    /* to_phys never writes through buf */
    return xfer(pm, addr, (void *)(uintptr_t)src, len, true);
}

bool dmm_phys_is_mapped(dmm_phys *pm, uint64_t addr, uint64_t len)
{
    if (!pm)
        return false;
    if (len == 0)
        return true;
    if (len - 1 > UINT64_MAX - addr)
        return false;
    pthread_mutex_lock(&pm->lock);
    uint64_t bad;
    bool ok = dmm__phys_check_locked(pm, addr, addr + (len - 1), &bad);
    pthread_mutex_unlock(&pm->lock);
    return ok;
}

int dmm_phys_set_limits(dmm_phys *pm, uint64_t max_regions, uint64_t max_owned_bytes)
{
    if (!pm)
        return DMM_EINVAL;
    pthread_mutex_lock(&pm->lock);
    int rc = DMM_EINVAL;
    if (max_regions >= pm->nregions && max_owned_bytes >= pm->owned_bytes) {
        pm->max_regions = max_regions;
        pm->max_owned = max_owned_bytes;
        rc = DMM_OK;
    }
    pthread_mutex_unlock(&pm->lock);
    return rc;
}

uint64_t dmm_phys_region_count(dmm_phys *pm)
{
    pthread_mutex_lock(&pm->lock);
    uint64_t n = pm->nregions;
    pthread_mutex_unlock(&pm->lock);
    return n;
}

uint64_t dmm_phys_owned_bytes(dmm_phys *pm)
{
    pthread_mutex_lock(&pm->lock);
    uint64_t n = pm->owned_bytes;
    pthread_mutex_unlock(&pm->lock);
    return n;
}

/*
 * dev.c - dmm_dev: the two-channel descriptor-ring DMA engine, its register
 * file, interrupt line and cycle-count timing model.
 *
 * A run (doorbell = CTRL.RUN written while idle) goes through three steps,
 * all inside the call that rang the doorbell, under the device lock and with
 * the phys lock held for the whole run:
 *
 *   1. prefetch: DESC_COUNT descriptors are copied from DESC_HI:DESC_LO into
 *      the channel's descriptor cache (a snapshot; stops at the first one
 *      that cannot be fetched);
 *   2. execute: descriptors are decoded from the snapshot and validated one
 *      by one; each valid one moves its bytes between dmm_phys and device
 *      memory and feeds the channel digest; the first invalid one stops the
 *      run (earlier descriptors' bytes stay moved);
 *   3. complete: registers, IRQ_STATUS and the published run info are
 *      updated - at once, or with DMM_CFG_DEFERRED when dmm_advance() reaches
 *      the run's end cycle (the bytes move at the doorbell either way).
 *
 * Invariants:
 *  - the engine reads and writes only dmm_phys regions (through
 *    dmm__phys_check_locked + dmm__phys_copy_locked on ranges that never wrap)
 *    and devmem[0, devmem_size) (range-checked without overflow);
 *  - since descriptors come from the snapshot, a run that writes over its own
 *    ring changes only what the next doorbell fetches;
 *  - every allocation is sized by the config, never by anything a run reads;
 *  - the interrupt callback is called after the device lock is dropped, once
 *    per rising edge of (IRQ_STATUS & IRQ_ENABLE) != 0 within one call.
 *
 * The digest register is computed when it is first needed, not during the
 * run: a run records the device-memory ranges it moved, in descriptor order
 * (the digest is over the bytes device memory holds after each descriptor,
 * which are the bytes moved).  The digest is computed (made "ready") from
 * those ranges when DIGEST_LO/HI are read, when dmm_ch_last_run /
 * dmm_ch_run_digest ask for it, or just before anything writes device
 * memory over a range of a pending run (a later descriptor of a to-device
 * run, another channel's run, dmm_devmem_write) - so it is always the value
 * an eager digest would have given.  A run whose digest nobody asked for by
 * the time its channel's next run (or RESET) replaces it is never digested:
 * replay of traces with XXH64 or bounded digests does not pay for DMT64.
 * Consecutive ranges are recorded as one (the stream is the same).
 *
 * The last digest computed is kept with its ranges (dc_*): a run whose
 * ranges are the same, with no write to device memory over them since, has
 * the same bytes and so the same digest - a card-to-host run that reads back
 * what a host-to-card run just wrote (the round trip of an upload) is not
 * digested twice.  Every write of device memory goes through
 * devmem_will_change, which digests pending runs over it first and then
 * forgets the kept digest if the write touches its span.
 *
 * Device memory holds patterns lazily, by 4 KiB page: a page is plain
 * bytes, or zero, or "bytes [base, base + 4096) of the XS64 pattern of
 * seed" (pg_*), its memory stale unless plain.  Every page starts zero
 * (device memory is malloc'd, not cleared: a fresh device costs nothing per
 * byte no run touches).  Only a host-to-card run from a lazy phys
 * region (phys.c, dmm_phys_set_pattern) makes a page lazy, and only one it
 * covers whole (a page it covers in part gets the bytes).  Every access goes
 * through dev_put_bytes / dev_put_pattern / dev_get_bytes / dev_hash, which
 * generate what they read and materialise a page a write covers in part, so
 * every observer sees the bytes an eager copy would have left.  A
 * card-to-host run that moves one pattern stream over a whole phys region
 * makes that region lazy instead of writing it.  Once every page is plain
 * (npg_lazy 0) every path is the plain memcpy.
 *
 *   phys region (lazy: seed, base) --H2C--> devmem pages (seed, base + k*4096)
 *        ^                                        |
 *        '------------------C2H (whole region)---'   any other access: bytes
 */
#include "dmm_internal.h"

#include "dmt/digest.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_CODE_MASK  0x0000FF00u
#define STATUS_INDEX_MASK 0xFFFF0000u
#define CH_WINDOW         0x40u
#define CH_END            (DMM_CH_BASE(DMM_NUM_CHANNELS))

typedef struct chan {
    uint32_t status; /* BUSY/DONE/ERR, code, index */
    uint32_t desc_lo, desc_hi, desc_count;
    uint64_t err_addr;
    dmm_run_info pub;  /* published: what the registers show */
    dmm_run_info pend; /* deferred: result waiting for its end cycle */
    bool pending;
    uint64_t seq;
    uint8_t *cache; /* DMM_MAX_DESC * DMM_DESC1_SIZE bytes */
    size_t cache_len;
    /* the newest run's digest while not computed (see the top) */
    bool lz;               /* pending: pub and/or pend hold a placeholder */
    bool pub_lz, pend_lz;  /* which of them holds the run's placeholder */
    uint32_t lz_n;         /* ranges in lz_seg */
    uint64_t lz_lo, lz_hi; /* device memory the ranges span, [lo, hi) */
    struct seg *lz_seg;    /* DMM_MAX_DESC ranges (device offset, length) */
} chan;

struct dmm_dev {
    pthread_mutex_t lock;
    dmm_config cfg;
    dmm_phys *pm;
    uint8_t *devmem;
    size_t dsz;         /* descriptor size of the revision */
    uint64_t addr_mask; /* 2^addr_bits - 1 */
    uint32_t irq_status, irq_enable, scratch;
    uint64_t cycles;
    dmm_irq_fn irq_fn;
    void *irq_ctx;
    dmm_stats stats;
    chan ch[DMM_NUM_CHANNELS];
    /* the last digest computed and its ranges (see the top) */
    bool dc_ok;
    uint32_t dc_n;
    uint64_t dc_lo, dc_hi, dc_val;
    struct seg *dc_seg; /* DMM_MAX_DESC ranges */
    /* lazy device memory (see the top) */
    uint8_t *pg_lazy; /* per page: PG_PLAIN, PG_PATTERN (pg_pat) or PG_ZERO */
    struct pgpat *pg_pat;
    uint64_t npg_lazy; /* pages not PG_PLAIN */
};

typedef struct seg {
    uint64_t a, n;
} seg;

#define PG         4096u
#define PG_PLAIN   0u
#define PG_PATTERN 1u
#define PG_ZERO    2u

typedef struct pgpat {
    uint64_t seed, base; /* byte (page start + j) is pattern byte base + j */
} pgpat;

/* ---- helpers ------------------------------------------------------------ */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

static uint64_t empty_digest(void)
{
    dmt64_state s;
    dmt64_init(&s);
    return dmt64_final(&s);
}

static void empty_info(dmm_run_info *ri)
{
    memset(ri, 0, sizeof(*ri));
    ri->digest = empty_digest();
}

/* ---- descriptor formats -------------------------------------------------- */

size_t dmm_desc_size(uint32_t revision)
{
    return dmm_map_desc_size(revision);
}

size_t dmm_desc_encode(uint32_t revision, void *out, uint64_t host_addr, uint32_t len,
                       uint64_t dev_off)
{
    return dmm_map_desc_encode(revision, out, host_addr, len, dev_off);
}

int dmm_desc_decode(uint32_t revision, const void *in, dmm_desc *out)
{
    return dmm_map_desc_decode(revision, in, out) ? DMM_OK : DMM_EINVAL;
}

/* ---- lifecycle ------------------------------------------------------------ */

void dmm_config_default(dmm_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->revision = 1;
    cfg->errata = 0;
    cfg->addr_bits = 64;
    cfg->devmem_size = 16u << 20;
    cfg->flags = 0;
}

/* The device's buffers (any of them may be NULL); not the lock. */
static void free_buffers(dmm_dev *d)
{
    for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++) {
        free(d->ch[c].cache);
        free(d->ch[c].lz_seg);
    }
    free(d->devmem);
    free(d->dc_seg);
    free(d->pg_lazy);
    free(d->pg_pat);
}

dmm_dev *dmm_dev_new(const dmm_config *cfg, dmm_phys *pm)
{
    dmm_config def;
    if (!cfg) {
        dmm_config_default(&def);
        cfg = &def;
    }
    if (!pm || (cfg->revision != 1 && cfg->revision != 2) || cfg->addr_bits < 32 ||
        cfg->addr_bits > 64 || cfg->devmem_size == 0 || cfg->devmem_size > DMM_DEVMEM_MAX ||
        (cfg->errata & ~DMM_ERRATA_ALL) != 0 || (cfg->flags & ~DMM_CFG_DEFERRED) != 0)
        return NULL;
    dmm_dev *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->cfg = *cfg;
    d->pm = pm;
    d->dsz = dmm_desc_size(cfg->revision);
    d->addr_mask = cfg->addr_bits == 64 ? UINT64_MAX : (1ull << cfg->addr_bits) - 1;
    d->devmem = malloc((size_t)cfg->devmem_size); /* every page PG_ZERO */
    d->dc_seg = malloc((size_t)DMM_MAX_DESC * sizeof(seg));
    size_t npg = (size_t)((cfg->devmem_size + PG - 1) / PG);
    d->pg_lazy = malloc(npg);
    d->pg_pat = malloc(npg * sizeof(pgpat));
    bool ok = d->devmem != NULL && d->dc_seg != NULL && d->pg_lazy && d->pg_pat;
    if (ok) {
        memset(d->pg_lazy, PG_ZERO, npg);
        d->npg_lazy = npg;
    }
    for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++) {
        d->ch[c].cache = ok ? malloc((size_t)DMM_MAX_DESC * DMM_DESC1_SIZE) : NULL;
        d->ch[c].lz_seg = ok ? malloc((size_t)DMM_MAX_DESC * sizeof(seg)) : NULL;
        ok = ok && d->ch[c].cache != NULL && d->ch[c].lz_seg != NULL;
        empty_info(&d->ch[c].pub);
    }
    if (!ok || pthread_mutex_init(&d->lock, NULL) != 0) {
        free_buffers(d);
        free(d);
        return NULL;
    }
    return d;
}

void dmm_dev_free(dmm_dev *d)
{
    if (!d)
        return;
    free_buffers(d);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

void dmm_dev_get_config(dmm_dev *d, dmm_config *cfg)
{
    pthread_mutex_lock(&d->lock);
    *cfg = d->cfg;
    pthread_mutex_unlock(&d->lock);
}

void dmm_dev_set_irq(dmm_dev *d, dmm_irq_fn fn, void *ctx)
{
    pthread_mutex_lock(&d->lock);
    d->irq_fn = fn;
    d->irq_ctx = ctx;
    pthread_mutex_unlock(&d->lock);
}

/* ---- lazy device memory ------------------------------------------------------------ */

/* The end of page p (its bytes are [p * PG, pg_end)). */
static uint64_t pg_end(const dmm_dev *d, uint64_t p)
{
    uint64_t e = (p + 1) * PG;
    return e < d->cfg.devmem_size ? e : d->cfg.devmem_size;
}

/* The piece of page p inside [off, off + n): [*lo, *hi); returns the page's start. */
static uint64_t pg_piece(const dmm_dev *d, uint64_t p, uint64_t off, uint64_t n, uint64_t *lo,
                         uint64_t *hi)
{
    uint64_t ps = p * PG, pe = pg_end(d, p);
    *lo = off > ps ? off : ps;
    *hi = off + n < pe ? off + n : pe;
    return ps;
}

/* Bytes [from, from + n) of lazy page p (from relative to its start) into dst. */
static void pg_gen(const dmm_dev *d, uint64_t p, uint64_t from, uint64_t n, uint8_t *dst)
{
    if (d->pg_lazy[p] == PG_ZERO)
        memset(dst, 0, (size_t)n);
    else
        dmt_pattern_fill(dst, d->pg_pat[p].seed, d->pg_pat[p].base + from, (size_t)n);
}

/* Page p gets its bytes and is plain memory again. */
static void pg_fill(dmm_dev *d, uint64_t p)
{
    if (d->pg_lazy[p] == PG_PLAIN)
        return;
    pg_gen(d, p, 0, pg_end(d, p) - p * PG, d->devmem + (size_t)(p * PG));
    d->pg_lazy[p] = PG_PLAIN;
    d->npg_lazy--;
}

/* Device memory [off, off + n) is about to be overwritten with bytes (n >=
 * 1, inside device memory): pages it covers whole forget their pattern,
 * pages it covers in part get their pattern's bytes first. */
static void dev_plain(dmm_dev *d, uint64_t off, uint64_t n)
{
    for (uint64_t p = off / PG; d->npg_lazy && p <= (off + n - 1) / PG; p++) {
        if (d->pg_lazy[p] == PG_PLAIN)
            continue;
        if (p * PG >= off && pg_end(d, p) <= off + n) {
            d->pg_lazy[p] = PG_PLAIN;
            d->npg_lazy--;
        } else {
            pg_fill(d, p);
        }
    }
}

static void dev_put_bytes(dmm_dev *d, uint64_t off, const uint8_t *src, uint64_t n)
{
    dev_plain(d, off, n);
    memcpy(d->devmem + (size_t)off, src, (size_t)n);
}

/* Device memory [off, off + n) := pattern(seed) bytes [base, base + n). */
static void dev_put_pattern(dmm_dev *d, uint64_t off, uint64_t n, uint64_t seed, uint64_t base)
{
    for (uint64_t p = off / PG; p <= (off + n - 1) / PG; p++) {
        uint64_t lo, hi, ps = pg_piece(d, p, off, n, &lo, &hi);
        if (lo == ps && hi == pg_end(d, p)) {
            d->npg_lazy += d->pg_lazy[p] == PG_PLAIN;
            d->pg_lazy[p] = PG_PATTERN;
            d->pg_pat[p] = (pgpat){seed, base + (ps - off)};
        } else {
            pg_fill(d, p);
            dmt_pattern_fill(d->devmem + (size_t)lo, seed, base + (lo - off), (size_t)(hi - lo));
        }
    }
}

/* Device memory [off, off + n) into dst. */
static void dev_get_bytes(const dmm_dev *d, uint64_t off, uint64_t n, uint8_t *dst)
{
    if (!d->npg_lazy) {
        memcpy(dst, d->devmem + (size_t)off, (size_t)n);
        return;
    }
    for (uint64_t p = off / PG; p <= (off + n - 1) / PG; p++) {
        uint64_t lo, hi, ps = pg_piece(d, p, off, n, &lo, &hi);
        if (d->pg_lazy[p] != PG_PLAIN)
            pg_gen(d, p, lo - ps, hi - lo, dst + (lo - off));
        else
            memcpy(dst + (lo - off), d->devmem + (size_t)lo, (size_t)(hi - lo));
    }
}

/* Feed device memory [off, off + n) to a DMT64 digest. */
static void dev_hash(const dmm_dev *d, dmt64_state *s, uint64_t off, uint64_t n)
{
    if (!d->npg_lazy) {
        dmt64_update(s, d->devmem + (size_t)off, (size_t)n);
        return;
    }
    uint8_t tmp[PG];
    for (uint64_t p = off / PG; p <= (off + n - 1) / PG; p++) {
        uint64_t lo, hi, ps = pg_piece(d, p, off, n, &lo, &hi);
        if (d->pg_lazy[p] == PG_PATTERN) {
            dmt64_update_pattern(s, d->pg_pat[p].seed, d->pg_pat[p].base + (lo - ps),
                                 (size_t)(hi - lo));
        } else if (d->pg_lazy[p] != PG_PLAIN) {
            pg_gen(d, p, lo - ps, hi - lo, tmp);
            dmt64_update(s, tmp, (size_t)(hi - lo));
        } else {
            dmt64_update(s, d->devmem + (size_t)lo, (size_t)(hi - lo));
        }
    }
}

/* Is device memory [off, off + n) one pattern stream?  Then *seed and
 * *base (the pattern offset of the byte at off). */
static bool dev_stream(const dmm_dev *d, uint64_t off, uint64_t n, uint64_t *seed, uint64_t *base)
{
    uint64_t p0 = off / PG;
    if (!d->npg_lazy || d->pg_lazy[p0] != PG_PATTERN)
        return false;
    for (uint64_t p = p0 + 1; p <= (off + n - 1) / PG; p++)
        if (d->pg_lazy[p] != PG_PATTERN || d->pg_pat[p].seed != d->pg_pat[p0].seed ||
            d->pg_pat[p].base != d->pg_pat[p0].base + (p - p0) * PG)
            return false;
    *seed = d->pg_pat[p0].seed;
    *base = d->pg_pat[p0].base + (off - p0 * PG);
    return true;
}

/* A run's move of n bytes (n >= 1, every byte mapped, phys lock held):
 * phys [a, a + n) to device memory at off (to_host false), or back. */
static void dev_move(dmm_dev *d, uint64_t a, uint64_t n, uint64_t off, bool to_host)
{
    while (n > 0) {
        dmm__piece pc;
        if (!dmm__phys_piece_locked(d->pm, a, n, &pc))
            return; /* unreachable after a successful check */
        uint64_t seed, base;
        if (!to_host && pc.lazy) {
            dev_put_pattern(d, off, pc.n, pc.seed, pc.base);
        } else if (!to_host) {
            dev_put_bytes(d, off, pc.host, pc.n);
        } else if (pc.whole && dev_stream(d, off, pc.n, &seed, &base)) {
            dmm__phys_piece_set_pattern(&pc, seed, base);
        } else {
            dmm__phys_piece_materialise(&pc);
            dev_get_bytes(d, off, pc.n, pc.host);
        }
        a += pc.n; /* wraps to 0 only when n becomes 0 */
        off += pc.n;
        n -= pc.n;
    }
}

/* ---- the lazy digest ------------------------------------------------------------ */

static uint64_t lz_compute(dmm_dev *d, const chan *ch)
{
    if (d->dc_ok && d->dc_n == ch->lz_n &&
        memcmp(d->dc_seg, ch->lz_seg, (size_t)ch->lz_n * sizeof(seg)) == 0)
        return d->dc_val; /* the same bytes, unchanged since */
    dmt64_state s;
    dmt64_init(&s);
    for (uint32_t i = 0; i < ch->lz_n; i++)
        dev_hash(d, &s, ch->lz_seg[i].a, ch->lz_seg[i].n);
    d->dc_val = dmt64_final(&s);
    d->dc_n = ch->lz_n;
    d->dc_lo = ch->lz_lo;
    d->dc_hi = ch->lz_hi;
    memcpy(d->dc_seg, ch->lz_seg, (size_t)ch->lz_n * sizeof(seg));
    d->dc_ok = true;
    return d->dc_val;
}

/* Compute channel c's pending digest into the run info that holds it. */
static void lz_ready(dmm_dev *d, unsigned c)
{
    chan *ch = &d->ch[c];
    if (!ch->lz)
        return;
    uint64_t v = lz_compute(d, ch);
    if (ch->pub_lz)
        ch->pub.digest = v;
    if (ch->pend_lz)
        ch->pend.digest = v;
    ch->lz = ch->pub_lz = ch->pend_lz = false;
}

/* The newest run of channel c is replaced (a new run, RESET): its pending
 * digest can no longer be read and is dropped. */
static void lz_drop(chan *ch)
{
    ch->lz = ch->pub_lz = ch->pend_lz = false;
}

/* Device memory [off, off + len) is about to change: compute the pending
 * digests over it first, then forget the kept digest if it covers any of
 * it.  Every write of device memory calls this first.  len >= 1. */
static void devmem_will_change(dmm_dev *d, uint64_t off, uint64_t len)
{
    for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++) {
        const chan *ch = &d->ch[c];
        if (ch->lz && off < ch->lz_hi && off + len > ch->lz_lo)
            lz_ready(d, c);
    }
    if (d->dc_ok && off < d->dc_hi && off + len > d->dc_lo)
        d->dc_ok = false;
}

/* ---- the run ------------------------------------------------------------------ */

/* Bus segments of a descriptor's host range after the errata; returns
 * DMM_ERR_NONE or DMM_ERR_ADDR_LIMIT.  len >= 1 and < 2^32. */
static uint32_t plan_host(const dmm_dev *d, uint64_t host, uint64_t len, seg s[2], unsigned *ns)
{
    const uint64_t mask = d->addr_mask;
    const bool trunc = (d->cfg.errata & DMM_ERRATUM_ADDR_TRUNC) != 0;
    uint64_t a = trunc ? host & mask : host;
    *ns = 1;
    s[0].a = a;
    s[0].n = len;
    if (d->cfg.errata & DMM_ERRATUM_4G_WRAP) {
        /* counter carries only in bits 31:0; bits 63:32 latched */
        uint64_t room = 0x100000000ull - (a & 0xFFFFFFFFull); /* 1 .. 2^32 */
        if (len > room) {
            s[0].n = room;
            s[1].a = a & ~0xFFFFFFFFull;
            s[1].n = len - room;
            *ns = 2;
        }
    } else if (trunc) {
        /* the bus has addr_bits lines: past 2^addr_bits it continues at 0 */
        uint64_t room_m1 = mask - a;
        if (len - 1 > room_m1) {
            s[0].n = room_m1 + 1;
            s[1].a = 0;
            s[1].n = len - s[0].n;
            *ns = 2;
        }
    }
    if (!trunc)
        for (unsigned i = 0; i < *ns; i++)
            if (s[i].a > mask || s[i].n - 1 > mask - s[i].a)
                return DMM_ERR_ADDR_LIMIT;
    return DMM_ERR_NONE;
}

static void fail(dmm_run_info *ri, uint32_t err, uint32_t index, uint64_t addr)
{
    ri->err = err;
    ri->err_index = index;
    ri->err_addr = addr;
}

/* Bus address of descriptor i (mod 2^64); *over = beyond the address bits. */
static uint64_t desc_bus_addr(const dmm_dev *d, uint64_t base, uint32_t i, bool *over)
{
    uint64_t off = (uint64_t)i * d->dsz;
    uint64_t raw = base + off; /* unsigned: wraps mod 2^64 */
    if (d->cfg.errata & DMM_ERRATUM_ADDR_TRUNC) {
        *over = false;
        return raw & d->addr_mask;
    }
    /* base is aligned to dsz, so a descriptor that starts inside the space
     * ends inside it too */
    *over = off > UINT64_MAX - base || raw > d->addr_mask;
    return raw;
}

/* Executes one run of channel c into ri (which the caller initialised);
 * returns its cost in cycles.  Device lock held. */
static uint64_t run_channel(dmm_dev *d, unsigned c, dmm_run_info *ri)
{
    chan *ch = &d->ch[c];
    const uint64_t base = (uint64_t)ch->desc_hi << 32 | ch->desc_lo;
    const uint32_t count = ch->desc_count;
    const bool to_host = c == DMM_CH_C2H;
    uint64_t cost = DMM_CYC_RUN;
    /* the digest: ranges recorded (lazy), or computed as the run goes once a
     * descriptor writes device memory over an earlier one of the run */
    dmt64_state dg;
    dmt64_init(&dg);
    bool eager = false;
    ch->lz_n = 0;
    ch->lz_lo = UINT64_MAX;
    ch->lz_hi = 0;

    ch->cache_len = 0;
    if (count == 0 || count > DMM_MAX_DESC) {
        fail(ri, DMM_ERR_DESC_COUNT, 0, base);
        return cost;
    }
    if (base % d->dsz != 0) {
        fail(ri, DMM_ERR_ALIGN, 0, base);
        return cost;
    }

    dmm__phys_lock(d->pm);

    /* 1. prefetch into the descriptor cache */
    uint32_t nf;
    uint32_t ferr = DMM_ERR_NONE;
    uint64_t ferr_addr = 0;
    for (nf = 0; nf < count; nf++) {
        bool over;
        uint64_t a = desc_bus_addr(d, base, nf, &over);
        uint64_t bad;
        if (over) {
            ferr = DMM_ERR_ADDR_LIMIT;
            ferr_addr = a;
            break;
        }
        if (!dmm__phys_check_locked(d->pm, a, a + (d->dsz - 1), &bad)) {
            ferr = DMM_ERR_DESC_FETCH;
            ferr_addr = bad;
            break;
        }
        dmm__phys_copy_locked(d->pm, a, d->dsz, ch->cache + (size_t)nf * d->dsz, false);
    }
    ch->cache_len = (size_t)nf * d->dsz;

    /* 2. execute from the snapshot */
    for (uint32_t i = 0; i < count; i++) {
        cost += DMM_CYC_DESC;
        if (i == nf) {
            fail(ri, ferr, i, ferr_addr);
            break;
        }
        bool over;
        uint64_t daddr = desc_bus_addr(d, base, i, &over);
        dmm_desc ds;
        dmm_desc_decode(d->cfg.revision, ch->cache + (size_t)i * d->dsz, &ds);
        if (!ds.magic_ok) {
            fail(ri, DMM_ERR_MAGIC, i, daddr);
            break;
        }
        if (ds.len == 0) {
            fail(ri, DMM_ERR_ZERO_LEN, i, daddr);
            break;
        }
        uint64_t len = ds.len;
        if (d->cfg.errata & DMM_ERRATUM_LEN_ROUND)
            len &= ~(uint64_t)3;
        if (len == 0) { /* erratum: a 1..3 byte descriptor silently moves nothing */
            ri->completed++;
            continue;
        }
        if (ds.dev_off > d->cfg.devmem_size || len > d->cfg.devmem_size - ds.dev_off) {
            fail(ri, DMM_ERR_DEVMEM, i, ds.dev_off);
            break;
        }
        seg s[2];
        unsigned ns;
        if (plan_host(d, ds.host_addr, len, s, &ns) != DMM_ERR_NONE) {
            fail(ri, DMM_ERR_ADDR_LIMIT, i, ds.host_addr);
            break;
        }
        uint64_t bad = 0;
        bool mapped = true;
        for (unsigned k = 0; k < ns && mapped; k++)
            mapped = dmm__phys_check_locked(d->pm, s[k].a, s[k].a + (s[k].n - 1), &bad);
        if (!mapped) {
            fail(ri, DMM_ERR_UNMAPPED, i, bad);
            break;
        }
        if (!to_host) {
            if (!eager && ds.dev_off < ch->lz_hi && ds.dev_off + len > ch->lz_lo) {
                for (uint32_t k = 0; k < ch->lz_n; k++)
                    dev_hash(d, &dg, ch->lz_seg[k].a, ch->lz_seg[k].n);
                eager = true;
            }
            devmem_will_change(d, ds.dev_off, len);
        }
        uint64_t dev = ds.dev_off;
        for (unsigned k = 0; k < ns; k++) {
            dev_move(d, s[k].a, s[k].n, dev, to_host);
            dev += s[k].n;
        }
        /* the bytes moved, in descriptor order (device memory holds them
         * either way, and no phys region aliases device memory) */
        if (eager) {
            dev_hash(d, &dg, ds.dev_off, len);
        } else if (ch->lz_n &&
                   ch->lz_seg[ch->lz_n - 1].a + ch->lz_seg[ch->lz_n - 1].n == ds.dev_off) {
            ch->lz_seg[ch->lz_n - 1].n += len; /* continues the previous range */
            ch->lz_hi = ds.dev_off + len > ch->lz_hi ? ds.dev_off + len : ch->lz_hi;
        } else {
            ch->lz_seg[ch->lz_n++] = (seg){ds.dev_off, len};
            ch->lz_lo = ds.dev_off < ch->lz_lo ? ds.dev_off : ch->lz_lo;
            ch->lz_hi = ds.dev_off + len > ch->lz_hi ? ds.dev_off + len : ch->lz_hi;
        }
        ri->completed++;
        ri->bytes += len;
        cost += (len + DMM_BYTES_PER_CYC - 1) / DMM_BYTES_PER_CYC;
    }

    dmm__phys_unlock(d->pm);
    if (eager) {
        ri->digest = dmt64_final(&dg);
    } else {
        ri->digest = 0; /* placeholder until lz_ready */
        ch->lz = true;
    }
    return cost;
}

/* 3. publish a finished run: registers, IRQ_STATUS, stats. */
static void complete(dmm_dev *d, unsigned c, const dmm_run_info *ri)
{
    chan *ch = &d->ch[c];
    ch->pub = *ri;
    ch->pending = false;
    if (ri->err == DMM_ERR_NONE) {
        /* an ERR left by a busy doorbell stays, with its code */
        ch->status = (ch->status & ~DMM_STATUS_BUSY) | DMM_STATUS_DONE;
        d->irq_status |= DMM_IRQ_DONE(c);
    } else {
        ch->status = DMM_STATUS_ERR | (ri->err & 0xFFu) << 8 | (ri->err_index & 0xFFFFu) << 16;
        ch->err_addr = ri->err_addr;
        d->irq_status |= DMM_IRQ_ERR(c);
        d->stats.run_errors[c]++;
    }
    d->stats.descs[c] += ri->completed;
    d->stats.bytes[c] += ri->bytes;
}

static void doorbell(dmm_dev *d, unsigned c)
{
    chan *ch = &d->ch[c];
    if (ch->status & DMM_STATUS_BUSY) {
        /* rejected: the running run is not affected */
        ch->status = (ch->status & ~(STATUS_CODE_MASK | STATUS_INDEX_MASK)) | DMM_STATUS_ERR |
                     (uint32_t)DMM_ERR_BUSY << 8;
        ch->err_addr = (uint64_t)ch->desc_hi << 32 | ch->desc_lo;
        d->irq_status |= DMM_IRQ_ERR(c);
        d->stats.busy_rejects[c]++;
        return;
    }
    ch->seq++;
    d->stats.runs[c]++;
    lz_drop(ch); /* the previous run's registers are about to go */
    ch->status = DMM_STATUS_BUSY;
    ch->err_addr = 0;
    dmm_run_info ri;
    empty_info(&ri);
    ri.seq = ch->seq;
    ri.desc_addr = (uint64_t)ch->desc_hi << 32 | ch->desc_lo;
    ri.desc_count = ch->desc_count;
    ri.start_cycle = d->cycles;
    ch->pub = ri; /* in progress: COMPLETED/BYTES read 0 until completion */
    uint64_t cost = run_channel(d, c, &ri);
    ri.end_cycle = sat_add(d->cycles, cost);
    if (d->cfg.flags & DMM_CFG_DEFERRED) {
        ch->pend = ri;
        ch->pend_lz = ch->lz;
        ch->pending = true;
    } else {
        d->cycles = ri.end_cycle;
        complete(d, c, &ri);
        ch->pub_lz = ch->lz;
    }
}

static void reset_channel(dmm_dev *d, unsigned c)
{
    chan *ch = &d->ch[c];
    ch->status = 0;
    ch->desc_lo = ch->desc_hi = ch->desc_count = 0;
    ch->err_addr = 0;
    ch->pending = false; /* a deferred run is abandoned; moved bytes stay */
    ch->cache_len = 0;
    lz_drop(ch);
    empty_info(&ch->pub);
    empty_info(&ch->pend);
    d->irq_status &= ~(DMM_IRQ_DONE(c) | DMM_IRQ_ERR(c));
}

/* ---- MMIO ---------------------------------------------------------------------- */

static bool line(const dmm_dev *d)
{
    return (d->irq_status & d->irq_enable & DMM_IRQ_ALL) != 0;
}

/* Drop the lock; call the callback if the line rose since `before`. */
static void unlock_and_signal(dmm_dev *d, bool before)
{
    dmm_irq_fn fn = NULL;
    void *ctx = NULL;
    if (!before && line(d)) {
        d->stats.irq_edges++;
        fn = d->irq_fn;
        ctx = d->irq_ctx;
    }
    pthread_mutex_unlock(&d->lock);
    if (fn)
        fn(ctx);
}

static uint32_t caps(const dmm_dev *d)
{
    return (uint32_t)DMM_NUM_CHANNELS | d->cfg.addr_bits << 8 | (uint32_t)d->dsz << 16 |
           (d->cfg.errata & 0xFFu) << 24;
}

uint32_t dmm_reg_read(dmm_dev *d, uint32_t off)
{
    pthread_mutex_lock(&d->lock);
    d->stats.reg_reads++;
    uint32_t v = 0xFFFFFFFFu;
    bool ok = true;
    if ((off & 3u) != 0 || off >= DMM_BAR_SIZE) {
        ok = false;
    } else if (off >= DMM_CH_BASE(0) && off < CH_END) {
        unsigned c = (off - DMM_CH_BASE(0)) / CH_WINDOW;
        chan *ch = &d->ch[c];
        switch (off % CH_WINDOW) {
        case DMM_CH_CTRL:
            v = (ch->status & DMM_STATUS_BUSY) ? DMM_CTRL_RUN : 0;
            break;
        case DMM_CH_STATUS:
            v = ch->status;
            break;
        case DMM_CH_DESC_LO:
            v = ch->desc_lo;
            break;
        case DMM_CH_DESC_HI:
            v = ch->desc_hi;
            break;
        case DMM_CH_DESC_COUNT:
            v = ch->desc_count;
            break;
        case DMM_CH_COMPLETED:
            v = ch->pub.completed;
            break;
        case DMM_CH_BYTES:
            v = (uint32_t)ch->pub.bytes;
            break;
        case DMM_CH_BYTES_HI:
            v = (uint32_t)(ch->pub.bytes >> 32);
            break;
        case DMM_CH_ERR_ADDR_LO:
            v = (uint32_t)ch->err_addr;
            break;
        case DMM_CH_ERR_ADDR_HI:
            v = (uint32_t)(ch->err_addr >> 32);
            break;
        case DMM_CH_DIGEST_LO:
        case DMM_CH_DIGEST_HI:
            if (ch->pub_lz)
                lz_ready(d, c);
            v = (uint32_t)(ch->pub.digest >> (off % CH_WINDOW == DMM_CH_DIGEST_HI ? 32 : 0));
            break;
        default:
            ok = false;
            break;
        }
    } else {
        switch (off) {
        case DMM_REG_ID:
            v = DMM_ID_MAGIC | (d->cfg.revision & 0xFFu);
            break;
        case DMM_REG_CAPS:
            v = caps(d);
            break;
        case DMM_REG_IRQ_STATUS:
            v = d->irq_status;
            break;
        case DMM_REG_IRQ_ENABLE:
            v = d->irq_enable;
            break;
        case DMM_REG_DEVMEM_SIZE:
            v = (uint32_t)d->cfg.devmem_size;
            break;
        case DMM_REG_SCRATCH:
            v = d->scratch;
            break;
        default:
            ok = false;
            break;
        }
    }
    if (!ok) {
        v = 0xFFFFFFFFu;
        d->stats.bad_accesses++;
    }
    pthread_mutex_unlock(&d->lock);
    return v;
}

/* Channel register write; returns false for an undecoded offset. */
static bool ch_write(dmm_dev *d, unsigned c, uint32_t r, uint32_t val)
{
    chan *ch = &d->ch[c];
    switch (r) {
    case DMM_CH_CTRL:
        if (val & DMM_CTRL_RESET)
            reset_channel(d, c); /* RESET wins over RUN */
        else if (val & DMM_CTRL_RUN)
            doorbell(d, c);
        return true;
    case DMM_CH_STATUS:
        if (val & DMM_STATUS_DONE)
            ch->status &= ~DMM_STATUS_DONE;
        if (val & DMM_STATUS_ERR)
            ch->status &= ~(DMM_STATUS_ERR | STATUS_CODE_MASK | STATUS_INDEX_MASK);
        return true;
    case DMM_CH_DESC_LO:
        ch->desc_lo = val;
        return true;
    case DMM_CH_DESC_HI:
        ch->desc_hi = val;
        return true;
    case DMM_CH_DESC_COUNT:
        ch->desc_count = val;
        return true;
    case DMM_CH_COMPLETED:
    case DMM_CH_BYTES:
    case DMM_CH_BYTES_HI:
    case DMM_CH_ERR_ADDR_LO:
    case DMM_CH_ERR_ADDR_HI:
    case DMM_CH_DIGEST_LO:
    case DMM_CH_DIGEST_HI:
        d->stats.ro_writes++;
        return true;
    default:
        return false;
    }
}

void dmm_reg_write(dmm_dev *d, uint32_t off, uint32_t val)
{
    pthread_mutex_lock(&d->lock);
    d->stats.reg_writes++;
    bool before = line(d);
    bool ok = true;
    if ((off & 3u) != 0 || off >= DMM_BAR_SIZE) {
        ok = false;
    } else if (off >= DMM_CH_BASE(0) && off < CH_END) {
        ok = ch_write(d, (off - DMM_CH_BASE(0)) / CH_WINDOW, off % CH_WINDOW, val);
    } else {
        switch (off) {
        case DMM_REG_ID:
        case DMM_REG_CAPS:
        case DMM_REG_DEVMEM_SIZE:
            d->stats.ro_writes++;
            break;
        case DMM_REG_IRQ_STATUS:
            d->irq_status &= ~(val & DMM_IRQ_ALL);
            break;
        case DMM_REG_IRQ_ENABLE:
            d->irq_enable = val & DMM_IRQ_ALL;
            break;
        case DMM_REG_SCRATCH:
            d->scratch = val;
            break;
        default:
            ok = false;
            break;
        }
    }
    if (!ok)
        d->stats.bad_accesses++;
    unlock_and_signal(d, before);
}

bool dmm_irq_line(dmm_dev *d)
{
    pthread_mutex_lock(&d->lock);
    bool l = line(d);
    pthread_mutex_unlock(&d->lock);
    return l;
}

uint64_t dmm_cycles(dmm_dev *d)
{
    pthread_mutex_lock(&d->lock);
    uint64_t c = d->cycles;
    pthread_mutex_unlock(&d->lock);
    return c;
}

void dmm_advance(dmm_dev *d, uint64_t cycles)
{
    pthread_mutex_lock(&d->lock);
    bool before = line(d);
    d->cycles = sat_add(d->cycles, cycles);
    for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++) {
        chan *ch = &d->ch[c];
        if (ch->pending && ch->pend.end_cycle <= d->cycles) {
            dmm_run_info ri = ch->pend;
            complete(d, c, &ri);
            ch->pub_lz = ch->pend_lz;
        }
    }
    unlock_and_signal(d, before);
}

uint64_t dmm_next_completion(dmm_dev *d)
{
    pthread_mutex_lock(&d->lock);
    uint64_t t = UINT64_MAX;
    for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++)
        if (d->ch[c].pending && d->ch[c].pend.end_cycle < t)
            t = d->ch[c].pend.end_cycle;
    pthread_mutex_unlock(&d->lock);
    return t;
}

/* ---- device memory, results, stats -------------------------------------------- */

static int devmem_xfer(dmm_dev *d, uint64_t off, void *buf, uint64_t len, bool to_dev)
{
    if (len == 0)
        return DMM_OK;
    if (!buf)
        return DMM_EINVAL;
    pthread_mutex_lock(&d->lock);
    int rc = DMM_EFAULT;
    if (off <= d->cfg.devmem_size && len <= d->cfg.devmem_size - off) {
        if (to_dev) {
            devmem_will_change(d, off, len);
            dev_put_bytes(d, off, buf, len);
        } else {
            dev_get_bytes(d, off, len, buf);
        }
        rc = DMM_OK;
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

int dmm_devmem_read(dmm_dev *d, uint64_t off, void *dst, uint64_t len)
{
    return devmem_xfer(d, off, dst, len, false);
}

int dmm_devmem_write(dmm_dev *d, uint64_t off, const void *src, uint64_t len)
{
    /* to_dev only reads buf */
    return devmem_xfer(d, off, (void *)(uintptr_t)src, len, true);
}

int dmm_ch_last_run(dmm_dev *d, unsigned ch, dmm_run_info *out)
{
    if (ch >= DMM_NUM_CHANNELS || !out)
        return DMM_EINVAL;
    pthread_mutex_lock(&d->lock);
    if (d->ch[ch].pub_lz)
        lz_ready(d, ch);
    *out = d->ch[ch].pub;
    pthread_mutex_unlock(&d->lock);
    return DMM_OK;
}

int dmm_ch_last_run_lazy(dmm_dev *d, unsigned ch, dmm_run_info *out, bool *digest_later)
{
    if (ch >= DMM_NUM_CHANNELS || !out || !digest_later)
        return DMM_EINVAL;
    pthread_mutex_lock(&d->lock);
    *out = d->ch[ch].pub;
    *digest_later = d->ch[ch].pub_lz;
    pthread_mutex_unlock(&d->lock);
    return DMM_OK;
}

int dmm_ch_run_digest(dmm_dev *d, unsigned ch, uint64_t seq, uint64_t *digest)
{
    if (ch >= DMM_NUM_CHANNELS || !digest)
        return DMM_EINVAL;
    pthread_mutex_lock(&d->lock);
    chan *c = &d->ch[ch];
    int rc = DMM_EINVAL;
    if (c->pub.seq == seq && c->seq == seq && !c->pending) {
        if (c->pub_lz)
            lz_ready(d, ch);
        *digest = c->pub.digest;
        rc = DMM_OK;
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

uint64_t dmm_ch_last_digest(dmm_dev *d, unsigned ch)
{
    dmm_run_info ri;
    if (dmm_ch_last_run(d, ch, &ri) != DMM_OK)
        return 0;
    return ri.digest;
}

uint64_t dmm_ch_last_bytes(dmm_dev *d, unsigned ch)
{
    dmm_run_info ri;
    if (dmm_ch_last_run(d, ch, &ri) != DMM_OK)
        return 0;
    return ri.bytes;
}

size_t dmm_ch_fetched(dmm_dev *d, unsigned ch, void *dst, size_t cap)
{
    if (ch >= DMM_NUM_CHANNELS)
        return 0;
    pthread_mutex_lock(&d->lock);
    size_t n = d->ch[ch].cache_len;
    if (dst && cap)
        memcpy(dst, d->ch[ch].cache, n < cap ? n : cap);
    pthread_mutex_unlock(&d->lock);
    return n;
}

void dmm_get_stats(dmm_dev *d, dmm_stats *out)
{
    pthread_mutex_lock(&d->lock);
    *out = d->stats;
    pthread_mutex_unlock(&d->lock);
}

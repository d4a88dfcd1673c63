/*
 * replay_mdl.c - the replay engine's MDL contents and transfers: locked
 * buffers, their content sources (PATTERN seeds, PAYLOAD copies) in record
 * order, StartDma / ExecuteDma (an arena filled from the sources, the SG
 * list mapped onto it, checked against the adapter's limits) and DIGEST
 * checks of the bytes moved.
 *
 * Lazy buffers: a to-device buffer whose bytes are one PATTERN source is
 * not filled; its model regions are given the pattern instead
 * (dmm_phys_set_pattern), and the model carries it into device memory and
 * back into card-to-host buffers without writing the bytes (device-model
 * README, "Lazy patterns").  Invariant: once lazy_used is set, an arena's
 * bytes under a mapped run are the model's only after dmm_phys_materialise,
 * so the engine reads a transfer's bytes through the model (xfer_digest)
 * and materialises a run before writing its arena (arena_materialise);
 * arena bytes outside mapped runs are always filled.  Only the bytes a
 * digest covers are ever generated: a bounded digest makes 12 KiB of a
 * 4 MiB transfer exist.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/describe.h"
#include "dmt/pattern.h"
#include "replay_engine.h"

/* ---- memory: buffers and transfers ---------------------------------------------------- */

mdl_t *mdl_get(rpl_replay *r, uint32_t id)
{
    return rpl_idmap_get(&r->mdls, id);
}

void mdl_free(rpl_replay *r, mdl_t *m)
{
    for (uint32_t i = 0; i < m->nsrc; i++) {
        if (m->srcs[i].bytes) {
            uncharge(r, m->srcs[i].len);
            free(m->srcs[i].bytes);
        }
    }
    free(m->srcs);
    free(m);
}

static void xfer_unmap(rpl_replay *r, xfer_t *x)
{
    for (uint32_t i = 0; i < x->nruns; i++)
        if (x->runs[i].mapped)
            dmm_phys_unmap(r->pm, x->runs[i].addr);
    x->nruns = x->nregions = 0;
}

static void arena_release(rpl_replay *r, uint8_t *p, uint64_t cap)
{
    if (!p)
        return;
    /* keep the biggest ARENA_CACHE arenas for reuse (they stay charged) */
    unsigned small = 0;
    for (unsigned i = 0; i < ARENA_CACHE; i++) {
        if (!r->arena_cache[i].p) {
            r->arena_cache[i].p = p;
            r->arena_cache[i].cap = cap;
            return;
        }
        if (r->arena_cache[i].cap < r->arena_cache[small].cap)
            small = i;
    }
    if (r->arena_cache[small].cap < cap) {
        uint8_t *q = r->arena_cache[small].p;
        uint64_t qc = r->arena_cache[small].cap;
        r->arena_cache[small].p = p;
        r->arena_cache[small].cap = cap;
        p = q;
        cap = qc;
    }
    uncharge(r, cap);
    free(p);
}

void arena_drop_cache(rpl_replay *r)
{
    for (unsigned i = 0; i < ARENA_CACHE; i++) {
        if (r->arena_cache[i].p) {
            uncharge(r, r->arena_cache[i].cap);
            free(r->arena_cache[i].p);
            r->arena_cache[i].p = NULL;
        }
    }
}

/* An arena of at least n bytes (charged); *cap its size; NULL on failure. */
static uint8_t *arena_get(rpl_replay *r, uint64_t n, uint64_t *cap)
{
    if (n == 0)
        n = 1;
    int best = -1;
    for (unsigned i = 0; i < ARENA_CACHE; i++)
        if (r->arena_cache[i].p && r->arena_cache[i].cap >= n &&
            (best < 0 || r->arena_cache[i].cap < r->arena_cache[best].cap))
            best = (int)i;
    if (best >= 0) {
        uint8_t *p = r->arena_cache[best].p;
        *cap = r->arena_cache[best].cap;
        r->arena_cache[best].p = NULL;
        return p;
    }
    /* round up a little so similar sizes share arenas */
    uint64_t want = n < 4096 ? 4096 : (n + 65535) & ~(uint64_t)65535;
    if (want < n)
        want = n;
    if (r->mem_used + want > r->o.mem_limit || want > r->o.mem_limit)
        arena_drop_cache(r);
    if (want > n && (want > r->o.mem_limit || r->mem_used > r->o.mem_limit - want))
        want = n;
    if (!charge(r, want, "a transfer's buffer"))
        return NULL;
    uint8_t *p = malloc((size_t)want);
    if (!p) {
        uncharge(r, want);
        fail(r, "out of memory for a transfer's buffer of %" PRIu64 " bytes", want);
        return NULL;
    }
    *cap = want;
    return p;
}

void xfer_free(rpl_replay *r, xfer_t *x)
{
    mdl_t *m = x->counted ? rpl_idmap_get(&r->mdls, x->mdl) : NULL;
    if (m && m->live)
        m->live--;
    xfer_unmap(r, x);
    for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++)
        if (r->ch[c].pending == x->id)
            r->ch[c].pending = 0;
    if (x->desc_suspect >= 0)
        suspect_close(r, x->desc_suspect, false);
    arena_release(r, x->arena, x->arena_cap);
    if (x->sg)
        uncharge(r, (uint64_t)x->n_sg * sizeof(dmt_sg_elem));
    free(x->sg);
    free(x->runs);
    free(x);
}

void xfer_drop(rpl_replay *r, uint32_t id)
{
    xfer_t *x = rpl_idmap_del(&r->xfers, id);
    if (x)
        xfer_free(r, x);
}

static xfer_t *xfer_new(rpl_replay *r, uint32_t id)
{
    xfer_drop(r, id);
    xfer_t *x = calloc(1, sizeof *x);
    if (!x) {
        fail(r, "out of memory");
        return NULL;
    }
    x->id = id;
    x->ch = -1;
    x->desc_suspect = -1;
    if (!rpl_idmap_put(&r->xfers, id, x)) {
        free(x);
        fail(r, "more than %u transfers live at once", MAX_LIVE_XFER);
        return NULL;
    }
    return x;
}

int on_buffer_lock(rpl_replay *r, const dmt_record *rec)
{
    mdl_t *old = rpl_idmap_del(&r->mdls, rec->mdl);
    if (old)
        mdl_free(r, old);
    mdl_t *m = calloc(1, sizeof *m);
    if (!m)
        return fail(r, "out of memory");
    m->id = rec->mdl;
    m->len = rec->length;
    if (!rpl_idmap_put(&r->mdls, rec->mdl, m)) {
        free(m);
        return fail(r, "more than %u locked buffers at once", MAX_LIVE_MDL);
    }
    return 0;
}

void on_buffer_unlock(rpl_replay *r, const dmt_record *rec)
{
    /* transfers on the buffer that were never completed lose their memory */
    uint32_t ids[64];
    mdl_t *mm = mdl_get(r, rec->mdl);
    for (; mm && mm->live;) {
        unsigned n = 0;
        uint32_t pos = 0, key;
        xfer_t *x;
        while (n < 64 && (x = rpl_idmap_next(&r->xfers, &pos, &key)) != NULL)
            if (x->mdl == rec->mdl && x->have_start)
                ids[n++] = key;
        for (unsigned i = 0; i < n; i++)
            xfer_drop(r, ids[i]);
        if (n < 64)
            break;
    }
    mdl_t *m = rpl_idmap_del(&r->mdls, rec->mdl);
    if (m)
        mdl_free(r, m);
    else
        note(r, NK_UNKNOWN_MDL, RPL_LIMIT_UNKNOWN_ID,
             "records refer to MDL %u, which no buffer_lock introduced", rec->mdl);
}

int add_source(rpl_replay *r, const dmt_record *rec, bool payload)
{
    mdl_t *m = mdl_get(r, rec->mdl);
    if (!m) {
        note(r, NK_UNKNOWN_MDL, RPL_LIMIT_UNKNOWN_ID,
             "records refer to MDL %u, which no buffer_lock introduced", rec->mdl);
        return 0;
    }
    uint64_t len = payload ? rec->n_bytes : rec->length;
    if (len == 0)
        return 0;
    if (rec->offset + len < rec->offset) {
        m->overflow = true;
        return 0;
    }
    if (!payload && rec->algo != DMT_PATTERN_XS64) {
        m->overflow = true; /* unknown algorithm: contents unknown */
        return 0;
    }
    if (m->nsrc == MAX_SRC_PER_MDL) {
        m->overflow = true;
        return 0;
    }
    if (m->nsrc == m->capsrc) {
        uint32_t nc = m->capsrc ? m->capsrc * 2 : 4;
        src *p = realloc(m->srcs, nc * sizeof *p);
        if (!p)
            return fail(r, "out of memory");
        m->srcs = p;
        m->capsrc = nc;
    }
    src *s = &m->srcs[m->nsrc];
    memset(s, 0, sizeof *s);
    s->payload = payload;
    s->off = rec->offset;
    s->len = len;
    s->seed = rec->value;
    if (payload) {
        if (!charge(r, len, "a payload copy"))
            return r->fatal;
        s->bytes = malloc((size_t)len);
        if (!s->bytes) {
            uncharge(r, len);
            return fail(r, "out of memory");
        }
        memcpy(s->bytes, rec->bytes, (size_t)len);
    }
    m->nsrc++;
    return 0;
}

typedef struct span {
    uint64_t lo, hi;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The PATTERN source that alone gives buffer bytes [bo, bo + n) (the last
 * one, covering them all), or NULL. */
static const src *one_pattern(const mdl_t *m, uint64_t bo, uint64_t n)
{
    uint64_t end = bo + n < bo ? UINT64_MAX : bo + n;
    const src *last = m && m->nsrc ? &m->srcs[m->nsrc - 1] : NULL;
    return last && !last->payload && last->off <= bo && last->off + last->len >= end ? last : NULL;
}

/* Fill arena = buffer bytes [bo, bo + n) from the MDL's sources in record
 * order; returns true when every byte is known. */
bool fill_content(const mdl_t *m, uint8_t *arena, uint64_t bo, uint64_t n, bool fill)
{
    uint64_t end = bo + n < bo ? UINT64_MAX : bo + n;
    if (!m || m->nsrc == 0) {
        if (fill)
            memset(arena, 0, (size_t)n);
        return false;
    }
    /* fast path: the last source alone covers everything */
    const src *last = one_pattern(m, bo, n);
    if (last) {
        if (fill)
            dmt_pattern_fill_fast(arena, last->seed, bo, (size_t)n);
        return !m->overflow;
    }
    if (fill)
        memset(arena, 0, (size_t)n);
    span sp[MAX_SRC_PER_MDL];
    unsigned ns = 0;
    for (uint32_t i = 0; i < m->nsrc; i++) {
        const src *s = &m->srcs[i];
        uint64_t lo = s->off > bo ? s->off : bo;
        uint64_t hi = s->off + s->len < end ? s->off + s->len : end;
        if (lo >= hi)
            continue;
        if (fill && s->payload)
            memcpy(arena + (lo - bo), s->bytes + (lo - s->off), (size_t)(hi - lo));
        else if (fill)
            dmt_pattern_fill_fast(arena + (lo - bo), s->seed, lo, (size_t)(hi - lo));
        sp[ns].lo = lo;
        sp[ns].hi = hi;
        ns++;
    }
    qsort(sp, ns, sizeof *sp, cmp_span);
    uint64_t at = bo;
    for (unsigned i = 0; i < ns && at < end; i++) {
        if (sp[i].lo > at)
            return false;
        if (sp[i].hi > at)
            at = sp[i].hi;
    }
    return at >= end && !m->overflow;
}

int on_start_dma(rpl_replay *r, const dmt_record *rec)
{
    xfer_t *x = xfer_new(r, rec->xfer);
    if (!x)
        return r->fatal;
    x->have_start = true;
    x->adapter = rec->adapter;
    x->mdl = rec->mdl;
    x->offset = rec->offset;
    x->requested = rec->length;
    x->wtd = rec->write_to_device;
    x->ch = rec->write_to_device ? DMM_CH_H2C : DMM_CH_C2H;
    mdl_t *m = mdl_get(r, rec->mdl);
    if (m) {
        m->live++;
        x->counted = true;
    }
    return 0;
}

static void sg_diverged(rpl_replay *r, const dmt_record *rec, const char *expected,
                        const char *actual, const char *detail)
{
    rpl_divergence d;
    div_init(r, &d, RPL_DIV_SG);
    set_subject(&d, "execute_dma xfer=%u adapter=%u", rec->xfer, rec->adapter);
    set_expected(&d, "%s", expected);
    set_actual(&d, "%s", actual);
    set_detail(&d, "%s", detail);
    emit(r, &d);
}

int on_execute_dma(rpl_replay *r, const dmt_record *rec)
{
    xfer_t *x = xfer_get(r, rec->xfer);
    if (!x) {
        note(r, NK_UNKNOWN_XFER, RPL_LIMIT_UNKNOWN_ID,
             "execute_dma of xfer %u without its start_dma: buffer offset and direction unknown",
             rec->xfer);
        x = xfer_new(r, rec->xfer);
        if (!x)
            return r->fatal;
        x->adapter = rec->adapter;
    } else if (x->executed) {
        /* executed again: the previous list is gone */
        xfer_unmap(r, x);
        arena_release(r, x->arena, x->arena_cap);
        x->arena = NULL;
        if (x->sg)
            uncharge(r, (uint64_t)x->n_sg * sizeof(dmt_sg_elem));
        free(x->sg);
        x->sg = NULL;
        free(x->runs);
        x->runs = NULL;
        x->desc_seen = x->desc_bad = x->desc_unparsed = false;
        x->desc_complete = x->fill_pending = x->fill_skipped = false;
        x->nregions_want = 0;
        x->run_bound = false;
    }
    r->sum.sg_lists++;
    const uint32_t n = rec->n_sg;
    const size_t stride = rec->sg_stride ? rec->sg_stride : sizeof(dmt_sg_elem);
    /* copy the list and check it */
    if (n && !charge(r, (uint64_t)n * sizeof(dmt_sg_elem), "an SG list copy"))
        return r->fatal;
    x->sg = n ? malloc(n * sizeof(dmt_sg_elem)) : NULL;
    x->runs = n ? malloc(n * sizeof(xrun)) : NULL;
    if (n && (!x->sg || !x->runs)) {
        uncharge(r, (uint64_t)n * sizeof(dmt_sg_elem));
        free(x->sg);
        free(x->runs);
        x->sg = NULL;
        x->runs = NULL;
        return fail(r, "out of memory");
    }
    x->n_sg = n;
    adapter_t *ad = rpl_idmap_get(&r->adapters, rec->adapter);
    uint64_t total = 0;
    bool bad = false;
    char e[RPL_TEXT], a[RPL_TEXT], det[RPL_TEXT];
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = (const uint8_t *)rec->sg_list + i * stride;
        memcpy(&x->sg[i].addr, p, 8);
        memcpy(&x->sg[i].len, p + 8, 4);
        const dmt_sg_elem *s = &x->sg[i];
        total += s->len;
        if (bad)
            continue;
        if (s->len == 0) {
            snprintf(e, sizeof e, "elements of 1 byte or more");
            snprintf(a, sizeof a, "element %u: 0x%" PRIx64 "+0x0", i, s->addr);
            snprintf(det, sizeof det, "an empty SG element");
            sg_diverged(r, rec, e, a, det);
            bad = true;
        } else if (s->addr + (s->len - 1) < s->addr) {
            snprintf(e, sizeof e, "elements inside the 64-bit address space");
            snprintf(a, sizeof a, "element %u: 0x%" PRIx64 "+0x%x", i, s->addr, s->len);
            snprintf(det, sizeof det, "the element wraps past 2^64");
            sg_diverged(r, rec, e, a, det);
            bad = true;
        } else if (ad && s->addr + (s->len - 1) > ad->addr_limit) {
            snprintf(e, sizeof e, "addresses <= 0x%" PRIx64 " (adapter %u's limit)", ad->addr_limit,
                     ad->id);
            snprintf(a, sizeof a, "element %u: 0x%" PRIx64 "+0x%x", i, s->addr, s->len);
            snprintf(det, sizeof det, "the device cannot reach this element");
            sg_diverged(r, rec, e, a, det);
            bad = true;
        }
    }
    x->granted = rec->length;
    if (!bad && total != rec->length) {
        snprintf(e, sizeof e, "%" PRIu64 " bytes (the granted length)", rec->length);
        snprintf(a, sizeof a, "%" PRIu64 " bytes in %u elements", total, n);
        snprintf(det, sizeof det, "the SG list does not add up to the length StartDma granted");
        sg_diverged(r, rec, e, a, det);
    }
    x->executed = true;
    if (x->ch >= 0) {
        r->ch[x->ch].pending = x->id;
    }
    r->sum.sg_elements += n;

    /* the buffer bytes [offset, offset + total) the elements stand for */
    uint64_t cap = 0;
    x->arena = arena_get(r, total, &cap);
    if (!x->arena)
        return r->fatal;
    x->arena_cap = cap;
    x->arena_len = total;
    mdl_t *m = x->have_start ? mdl_get(r, x->mdl) : NULL;
    /* to the device, one pattern: the model gets it, not the bytes */
    const src *pat = x->have_start && x->wtd ? one_pattern(m, x->offset, total) : NULL;
    if (x->have_start && !x->wtd) {
        /* from the device: filled at the doorbell, if at all */
        x->content_known = fill_content(m, x->arena, x->offset, total, false);
        x->fill_pending = true;
    } else if (pat) {
        x->content_known = !m->overflow;
    } else {
        x->content_known = x->have_start && fill_content(m, x->arena, x->offset, total, true);
    }

    /* map the elements onto the arena, merging address-contiguous ones */
    uint64_t pos = 0;
    for (uint32_t i = 0; i < n;) {
        uint64_t a0 = x->sg[i].addr, len = x->sg[i].len;
        uint32_t j = i + 1;
        while (j < n && x->sg[j].len && len + x->sg[j].len > len && a0 + len == x->sg[j].addr &&
               a0 + len > a0)
            len += x->sg[j++].len;
        bool mapped = false;
        if (len && a0 + (len - 1) >= a0) {
            x->nregions_want++;
            int rc = dmm_phys_map(r->pm, a0, len, x->arena + pos);
            mapped = rc == DMM_OK;
            if (mapped) {
                x->runs[x->nruns++] = (xrun){a0, pos, len, true};
                x->nregions++;
                if (pat) {
                    dmm_phys_set_pattern(r->pm, a0, pat->seed, x->offset + pos);
                    r->lazy_used = true;
                }
            } else if (rc == DMM_ENOMEM)
                return fail(r, "the model's memory map is full (xfer %u)", x->id);
            else
                note(r, NK_UNMAPPED, RPL_LIMIT_UNMAPPED,
                     "SG element %u of xfer %u [0x%" PRIx64 ", +0x%" PRIx64 ") overlaps memory "
                     "already mapped; the model sees that memory there",
                     i, x->id, a0, len);
        }
        if (!mapped && len)
            x->runs[x->nruns++] = (xrun){a0, pos, len, false};
        if (pat && !mapped && len) /* the arena alone holds these bytes */
            dmt_pattern_fill_fast(x->arena + pos, pat->seed, x->offset + pos, (size_t)len);
        pos += len;
        i = j;
    }
    return 0;
}

/* Before the engine writes x's arena from byte `from` on: the model's
 * regions over it get their bytes (see the top). */
void arena_materialise(rpl_replay *r, xfer_t *x, uint64_t from)
{
    for (uint32_t i = 0; r->lazy_used && i < x->nruns; i++)
        if (x->runs[i].mapped && x->runs[i].pos + x->runs[i].len > from)
            dmm_phys_materialise(r->pm, x->runs[i].addr);
}

/* Feed x's bytes [at, at + len) (inside the arena) to s as the model holds
 * them: a mapped run's through the model, which generates a lazy region's
 * pattern, the rest from the arena. */
static void xfer_feed(rpl_replay *r, const xfer_t *x, dmt_digest_state *s, uint64_t at,
                      uint64_t len)
{
    uint8_t tmp[4096];
    uint64_t end = at + len;
    uint32_t lo = 0, hi = x->nruns; /* the first run ending after at */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (x->runs[mid].pos + x->runs[mid].len <= at)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uint32_t k = lo; at < end;) {
        const xrun *u = k < x->nruns ? &x->runs[k] : NULL;
        if (!u || u->pos > at || !u->mapped) {
            /* the arena's own bytes: up to the next mapped run */
            uint64_t stop = u && u->pos > at ? u->pos : u ? u->pos + u->len : end;
            stop = stop < end ? stop : end;
            dmt_digest_update(s, x->arena + at, (size_t)(stop - at));
            at = stop;
            if (u && at >= u->pos + u->len)
                k++;
            continue;
        }
        uint64_t stop = u->pos + u->len < end ? u->pos + u->len : end;
        while (at < stop) {
            uint64_t c = stop - at < sizeof tmp ? stop - at : sizeof tmp;
            if (dmm_phys_read(r->pm, u->addr + (at - u->pos), tmp, c) != DMM_OK)
                memcpy(tmp, x->arena + at, (size_t)c); /* unreachable: the run is mapped */
            dmt_digest_update(s, tmp, (size_t)c);
            at += c;
        }
        k++;
    }
}

static void digest_diverged(rpl_replay *r, xfer_t *x, const dmt_record *rec, uint64_t got,
                            uint64_t got_len, const char *how, bool tainted)
{
    rpl_divergence d;
    div_init(r, &d, RPL_DIV_DIGEST);
    set_subject(&d, "digest xfer=%u (%s)", rec->xfer, x->wtd ? "to-device" : "from-device");
    set_expected(&d, "0x%016" PRIx64 " over %" PRIu64 " bytes", rec->value, rec->length);
    set_actual(&d, "0x%016" PRIx64 " over %" PRIu64 " bytes", got, got_len);
    if (x->run_bound)
        set_detail(&d,
                   "%s; the run started at record %" PRIu64 " moved %" PRIu64
                   " bytes in %u descriptors, status %s",
                   how, x->run_index, x->run.bytes, x->run.completed, rpl_dmm_err_name(x->run.err));
    else
        set_detail(&d, "%s; no run of the engine belongs to this transfer", how);
    check_failed(r, &d, tainted);
}

/* The digest a DIGEST record's producer would have computed over the
 * n bytes at buf: all of them, or its ranges (ascending, checked to lie
 * inside the transfer by digest_ranges_ok; a range past n, in a buffer
 * shorter than the record says, is cut there, and the comparison of lengths
 * reports it). */
static uint64_t digest_like(const dmt_record *rec, const uint8_t *buf, uint64_t n)
{
    if (rec->n_sg == 0)
        return dmt_digest(rec->algo, buf, (size_t)n);
    dmt_digest_state s;
    dmt_digest_init(&s, rec->algo);
    for (uint32_t i = 0; i < rec->n_sg; i++) {
        dmt_sg_elem e = dmt_record_sg_at(rec, i);
        if (e.addr < n)
            dmt_digest_update(&s, buf + e.addr, (size_t)(e.len < n - e.addr ? e.len : n - e.addr));
    }
    return dmt_digest_final(&s);
}

/* Do x's first n bytes lie in mapped runs whose regions hold one pattern
 * stream?  Then *seed, and *origin: the pattern offset of arena byte 0. */
static bool xfer_pattern(rpl_replay *r, const xfer_t *x, uint64_t n, uint64_t *seed,
                         uint64_t *origin)
{
    uint64_t at = 0;
    for (uint32_t k = 0; k < x->nruns && at < n; k++) {
        const xrun *u = &x->runs[k];
        uint64_t sd, b;
        if (u->pos != at || !u->mapped || !dmm_phys_pattern_of(r->pm, u->addr, &sd, &b))
            return false;
        if (k == 0) {
            *seed = sd;
            *origin = b - u->pos;
        } else if (sd != *seed || b - u->pos != *origin) {
            return false;
        }
        at += u->len;
    }
    return at >= n && n > 0;
}

/* The digest of pattern(seed) bytes [origin + a, ...) for the record's
 * ranges of n bytes (all n when it has none), generated and digested in
 * one pass, never stored (dmt_digest_update_pattern).  The last
 * PAT_DIGESTS are kept: the same pattern bytes read back by a card-to-host
 * transfer are not digested again. */
static uint64_t pattern_digest(rpl_replay *r, const dmt_record *rec, uint64_t seed, uint64_t origin,
                               uint64_t n)
{
    uint32_t nr = rec->n_sg;
    bool keep = nr <= DMT_DIGEST_BOUNDED_MAX_RANGES;
    dmt_sg_elem rg[DMT_DIGEST_BOUNDED_MAX_RANGES];
    for (uint32_t i = 0; keep && i < nr; i++)
        rg[i] = dmt_record_sg_at(rec, i);
    for (unsigned i = 0; keep && i < PAT_DIGESTS; i++) {
        const struct pat_digest *p = &r->pat_dg[i];
        bool same = p->ok && p->algo == rec->algo && p->seed == seed && p->origin == origin &&
                    p->n == n && p->nranges == nr;
        for (uint32_t k = 0; same && k < nr; k++)
            same = p->ranges[k].addr == rg[k].addr && p->ranges[k].len == rg[k].len;
        if (same)
            return p->value;
    }
    dmt_digest_state s;
    dmt_digest_init(&s, rec->algo);
    for (uint32_t i = 0; i < (nr ? nr : 1); i++) {
        dmt_sg_elem e = nr ? dmt_record_sg_at(rec, i) : (dmt_sg_elem){0, 0};
        uint64_t a = nr ? e.addr : 0, len = nr ? e.len : n;
        if (a >= n)
            continue;
        len = len < n - a ? len : n - a;
        dmt_digest_update_pattern(&s, seed, origin + a, (size_t)len);
    }
    uint64_t v = dmt_digest_final(&s);
    if (keep) {
        struct pat_digest *p = &r->pat_dg[r->pat_next++ % PAT_DIGESTS];
        *p = (struct pat_digest){true, rec->algo, nr, seed, origin, n, v, {{0, 0}}};
        memcpy(p->ranges, rg, nr * sizeof *rg);
    }
    return v;
}

/* digest_like over x's first n bytes as the model holds them (n <= its
 * arena's length). */
static uint64_t xfer_digest(rpl_replay *r, const xfer_t *x, const dmt_record *rec, uint64_t n)
{
    if (!r->lazy_used)
        return digest_like(rec, x->arena, n);
    uint64_t seed, origin;
    if (xfer_pattern(r, x, n, &seed, &origin))
        return pattern_digest(r, rec, seed, origin, n);
    dmt_digest_state s;
    dmt_digest_init(&s, rec->algo);
    if (rec->n_sg == 0)
        xfer_feed(r, x, &s, 0, n);
    for (uint32_t i = 0; i < rec->n_sg; i++) {
        dmt_sg_elem e = dmt_record_sg_at(rec, i);
        if (e.addr < n)
            xfer_feed(r, x, &s, e.addr, e.len < n - e.addr ? e.len : n - e.addr);
    }
    return dmt_digest_final(&s);
}

/* Bytes a DIGEST record's ranges cover, or UINT64_MAX when they are not
 * ascending, disjoint, non-empty ranges inside [0, length). */
static uint64_t digest_ranges_bytes(const dmt_record *rec)
{
    uint64_t covered = 0, next = 0;
    for (uint32_t i = 0; i < rec->n_sg; i++) {
        dmt_sg_elem e = dmt_record_sg_at(rec, i);
        if (e.len == 0 || e.addr < next || e.addr > rec->length || e.len > rec->length - e.addr)
            return UINT64_MAX;
        next = e.addr + e.len;
        covered += e.len;
    }
    return rec->n_sg ? covered : rec->length;
}

/* What a DIGEST record lets the replay verify: its bytes, the rest counted
 * and noted as not verified (policy off, or bounded ranges).  false when
 * there is nothing to check. */
static bool digest_scope(rpl_replay *r, const xfer_t *x, const dmt_record *rec)
{
    uint64_t covered = rec->digest_policy == DMT_DIGEST_OFF ? 0 : digest_ranges_bytes(rec);
    if (covered == UINT64_MAX) {
        r->sum.digest_unverified += rec->length;
        note(r, NK_NOT_VERIFIED, RPL_LIMIT_NOT_VERIFIED,
             "xfer %u: not verified: its digest ranges do not fit its %" PRIu64 " bytes", x->id,
             rec->length);
        return false;
    }
    r->sum.digest_bytes += covered;
    if (covered == rec->length)
        return true;
    r->sum.digest_unverified += rec->length - covered;
    if (covered == 0)
        note(r, NK_NOT_VERIFIED, RPL_LIMIT_NOT_VERIFIED,
             "xfer %u: not verified: nothing digested (digest policy %s), %" PRIu64 " bytes", x->id,
             dmt_digest_policy_name(rec->digest_policy), rec->length);
    else
        note(r, NK_NOT_VERIFIED, RPL_LIMIT_NOT_VERIFIED,
             "xfer %u: %" PRIu64 " of %" PRIu64 " bytes digested (digest policy %s, %u ranges): "
             "the other %" PRIu64 " bytes not verified",
             x->id, covered, rec->length, dmt_digest_policy_name(rec->digest_policy), rec->n_sg,
             rec->length - covered);
    return covered != 0;
}

void on_digest(rpl_replay *r, const dmt_record *rec)
{
    xfer_t *x = xfer_get(r, rec->xfer);
    if (!x || !x->executed || !x->have_start) {
        if (!x)
            note(r, NK_UNKNOWN_XFER, RPL_LIMIT_UNKNOWN_ID,
                 "records refer to xfer %u, which no start_dma introduced", rec->xfer);
        return;
    }
    if (!dmt_digest_known(rec->algo))
        return;
    if (!digest_scope(r, x, rec))
        return;
    /* the model's own digest register is DMT64, over every byte of a run */
    const bool model_algo = rec->algo == DMT_DIGEST_DMT64 && rec->n_sg == 0;
    mdl_t *m = mdl_get(r, x->mdl);
    r->sum.digests++;
    bool tainted = x->run_tainted || x->devmem_unknown;
    if (x->wtd) {
        if (!x->content_known) {
            if (m && !m->noted) {
                m->noted = true;
                note(r, NK_NO_CONTENT, RPL_LIMIT_NO_CONTENT,
                     "buffer contents of MDL %u (xfer %u) are not in the trace (no pattern or "
                     "payload): its data digests cannot be checked",
                     x->mdl, x->id);
            } else if (!m) {
                note(r, NK_NO_CONTENT, RPL_LIMIT_NO_CONTENT,
                     "buffer contents of xfer %u are not in the trace: its data digest cannot "
                     "be checked",
                     x->id);
            }
            return;
        }
        if (model_algo && x->run_bound && x->run.err == DMM_ERR_NONE) {
            uint64_t h = run_digest(r, x);
            if (h != rec->value || x->run.bytes != rec->length)
                digest_diverged(r, x, rec, h, x->run.bytes, "the model moved other data", tainted);
            return;
        }
        uint64_t n = rec->length < x->arena_len ? rec->length : x->arena_len;
        uint64_t h = xfer_digest(r, x, rec, n);
        if (h != rec->value || n != rec->length)
            digest_diverged(r, x, rec, h, n, "the replayed buffer holds other data", tainted);
        return;
    }
    uint64_t n = rec->length < x->arena_len ? rec->length : x->arena_len;
    uint64_t h;
    if (x->fill_pending) {
        /* never rung: the buffer as it was */
        x->fill_pending = false;
        fill_now(r, x, 0);
    }
    if (model_algo && x->fill_skipped && x->run_bound && x->run.err == DMM_ERR_NONE &&
        x->run.bytes == x->arena_len && n == x->arena_len) {
        h = run_digest(r, x); /* the device wrote the whole buffer, in order */
    } else {
        if (x->fill_skipped) {
            /* the device wrote a prefix; the rest is the buffer as it was */
            fill_now(r, x, x->run_bound ? x->run.bytes : 0);
            x->fill_skipped = false;
        }
        h = xfer_digest(r, x, rec, n);
    }
    if (h == rec->value && n == rec->length)
        return;
    bool wrote_all = x->run_bound && x->run.err == DMM_ERR_NONE && x->run.bytes >= rec->length;
    if (!x->content_known && !wrote_all) {
        if (m && !m->noted) {
            m->noted = true;
            note(r, NK_NO_CONTENT, RPL_LIMIT_NO_CONTENT,
                 "bytes of MDL %u the device did not write are not in the trace (xfer %u): its "
                 "data digest cannot be checked",
                 x->mdl, x->id);
        }
        return;
    }
    digest_diverged(r, x, rec, h, n, "the buffer holds other data after the model wrote it",
                    tainted);
}

/*
 * replay_mdl.c - the replay engine's MDL contents and transfers: locked
 * buffers, their content sources (PATTERN seeds, PAYLOAD copies) in record
 * order, StartDma / ExecuteDma (an arena filled from the sources, the SG
 * list mapped onto it, checked against the adapter's limits) and DIGEST
 * checks of the bytes moved.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/describe.h"
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
    for (uint32_t i = 0; i < x->nregions; i++)
        dmm_phys_unmap(r->pm, x->regions[i]);
    x->nregions = 0;
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
    free(x->regions);
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
    const src *last = &m->srcs[m->nsrc - 1];
    if (!last->payload && last->off <= bo && last->off + last->len >= end) {
        if (fill)
            dmt_pattern_fill(arena, last->seed, bo, (size_t)n);
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
            dmt_pattern_fill(arena + (lo - bo), s->seed, lo, (size_t)(hi - lo));
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
        free(x->regions);
        x->regions = NULL;
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
    x->regions = n ? malloc(n * sizeof(uint64_t)) : NULL;
    if (n && (!x->sg || !x->regions)) {
        uncharge(r, (uint64_t)n * sizeof(dmt_sg_elem));
        free(x->sg);
        free(x->regions);
        x->sg = NULL;
        x->regions = NULL;
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
    if (x->have_start && !x->wtd) {
        /* from the device: filled at the doorbell, if at all */
        x->content_known = fill_content(m, x->arena, x->offset, total, false);
        x->fill_pending = true;
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
        if (len && a0 + (len - 1) >= a0) {
            x->nregions_want++;
            int rc = dmm_phys_map(r->pm, a0, len, x->arena + pos);
            if (rc == DMM_OK)
                x->regions[x->nregions++] = a0;
            else if (rc == DMM_ENOMEM)
                return fail(r, "the model's memory map is full (xfer %u)", x->id);
            else
                note(r, NK_UNMAPPED, RPL_LIMIT_UNMAPPED,
                     "SG element %u of xfer %u [0x%" PRIx64 ", +0x%" PRIx64 ") overlaps memory "
                     "already mapped; the model sees that memory there",
                     i, x->id, a0, len);
        }
        pos += len;
        i = j;
    }
    return 0;
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
        uint64_t h = digest_like(rec, x->arena, n);
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
        h = digest_like(rec, x->arena, n);
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

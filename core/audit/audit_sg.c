/*
 * audit_sg.c - scatter/gather list helpers of the audit engine: keeping a
 * list, its layout checks (zero length, 4 GiB crossings, address limit,
 * overlaps within the list), overlap between two lists, and the comparison
 * of the descriptors a device was programmed with against the list.
 *
 * Programming comparison (aud_prog_compare).  Each element e[k] carries
 * done[k], the bytes of e[k] programmed so far, from its start, in order:
 *
 *   element k:  |====== done[k] ======|------ not yet programmed ------|
 *               e[k].addr                                  e[k].addr+len
 *
 * A descriptor [a, a+l) is located by binary search over the address-sorted
 * permutation.  Starting inside the programmed part re-programs bytes
 * (duplicate); starting after it leaves a gap (mismatch); running past the
 * element's end continues into the next element only when that element is
 * physically contiguous (a driver may merge adjacent elements), else it is a
 * length mismatch.  A descriptor outside every element is a mismatch; when
 * its length equals the first unprogrammed element's length it is taken as
 * that element programmed with a wrong address, so one bad address does not
 * also read as a skipped element.  Cost O((n + m) log n) per doorbell.
 */
#include "audit_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Move o[root] down the max-heap o[0..n) (keyed by e[].addr) to its place. */
static void sift_down(const dmt_sg_elem *e, uint16_t *o, uint32_t root, uint32_t n)
{
    for (;;) {
        uint32_t c = 2 * root + 1;
        if (c >= n)
            break;
        if (c + 1 < n && e[o[c + 1]].addr > e[o[c]].addr)
            c++;
        if (e[o[c]].addr <= e[o[root]].addr)
            break;
        uint16_t t = o[c];
        o[c] = o[root];
        o[root] = t;
        root = c;
    }
}

/* Sort order[] by e[].addr (heap sort: no recursion, no allocation). */
static void sort_order(const dmt_sg_elem *e, uint16_t *o, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        o[i] = (uint16_t)i;
    if (n < 2)
        return;
    for (uint32_t start = n / 2; start-- > 0;)
        sift_down(e, o, start, n);
    for (uint32_t end = n - 1; end > 0; end--) {
        uint16_t t = o[0];
        o[0] = o[end];
        o[end] = t;
        sift_down(e, o, 0, end);
    }
}

aud_sg *aud_sg_new(const dmt_record *r)
{
    uint32_t n = r->n_sg > DMT_MAX_SG_ELEMENTS ? DMT_MAX_SG_ELEMENTS : r->n_sg;
    /* One block: the header, then e[n], maxend[n] (both 8-byte aligned, as
     * the header's size is a multiple of 8), then order[n]. */
    size_t cap = n ? n : 1;
    aud_sg *s = malloc(sizeof *s + cap * (sizeof *s->e + sizeof *s->maxend + sizeof *s->order));
    if (!s)
        return NULL;
    memset(s, 0, sizeof *s);
    s->n = n;
    s->e = (dmt_sg_elem *)(s + 1);
    s->maxend = (uint64_t *)(s->e + cap);
    s->order = (uint16_t *)(s->maxend + cap);
    s->lo = UINT64_MAX;
    s->hi = 0;
    for (uint32_t i = 0; i < n; i++) {
        s->e[i] = dmt_record_sg_at(r, i);
        s->total += s->e[i].len;
        if (s->e[i].len == 0)
            continue;
        if (s->e[i].addr < s->lo)
            s->lo = s->e[i].addr;
        uint64_t end = aud_end(s->e[i].addr, s->e[i].len);
        if (end > s->hi)
            s->hi = end;
    }
    sort_order(s->e, s->order, n);
    uint64_t m = 0;
    for (uint32_t k = 0; k < n; k++) {
        const dmt_sg_elem *e = &s->e[s->order[k]];
        uint64_t end = e->len ? aud_end(e->addr, e->len) : 0;
        if (end > m)
            m = end;
        s->maxend[k] = m;
    }
    return s;
}

void aud_sg_free(aud_sg *s)
{
    if (!s)
        return;
    free(s->done);
    free(s);
}

void aud_sg_layout(const aud_sg *s, uint64_t limit, aud_layout *out)
{
    memset(out, 0, sizeof *out);
    uint64_t max_end = 0;
    uint32_t max_end_i = 0;
    bool have = false;
    for (uint32_t i = 0; i < s->n; i++) {
        const dmt_sg_elem *e = &s->e[i];
        out->total += e->len;
        if (e->len == 0) {
            if (!out->zero++)
                out->zero_first = i;
            continue;
        }
        uint64_t last = e->addr + (e->len - 1); /* may wrap: then it crosses */
        if (last < e->addr || (e->addr >> 32) != (last >> 32)) {
            if (!out->cross++)
                out->cross_first = i;
        }
        if (last < e->addr || last > limit) {
            if (!out->beyond++)
                out->beyond_first = i;
        }
    }
    for (uint32_t k = 0; k < s->n && !out->overlap; k++) {
        uint32_t i = s->order[k];
        const dmt_sg_elem *e = &s->e[i];
        if (e->len == 0)
            continue;
        if (have && e->addr < max_end) {
            out->overlap = true;
            out->overlap_a = max_end_i < i ? max_end_i : i;
            out->overlap_b = max_end_i < i ? i : max_end_i;
            break;
        }
        uint64_t end = aud_end(e->addr, e->len);
        if (!have || end > max_end) {
            max_end = end;
            max_end_i = i;
        }
        have = true;
    }
}

/* An element of s overlapping [x, xe), or UINT32_MAX. */
static uint32_t overlapping(const aud_sg *s, uint64_t x, uint64_t xe)
{
    uint32_t lo = 0, hi = s->n; /* k = elements starting before xe */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->e[s->order[mid]].addr < xe)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || s->maxend[lo - 1] <= x)
        return UINT32_MAX;
    /* some element among order[0..lo) ends after x: the nearest one */
    for (uint32_t k = lo; k-- > 0;) {
        const dmt_sg_elem *e = &s->e[s->order[k]];
        if (e->len && aud_end(e->addr, e->len) > x)
            return s->order[k];
    }
    return UINT32_MAX;
}

bool aud_sg_overlap(const aud_sg *a, const aud_sg *b, uint64_t *budget, bool *exhausted,
                    uint32_t *ea, uint32_t *eb)
{
    if (!a->n || !b->n || a->hi <= b->lo || b->hi <= a->lo)
        return false;
    const bool swap = a->n > b->n; /* walk the shorter list */
    const aud_sg *small = swap ? b : a, *big = swap ? a : b;
    for (uint32_t i = 0; i < small->n; i++) {
        const dmt_sg_elem *x = &small->e[i];
        if (x->len == 0)
            continue;
        if (*budget == 0) {
            *exhausted = true;
            return false;
        }
        (*budget)--;
        uint32_t j = overlapping(big, x->addr, aud_end(x->addr, x->len));
        if (j != UINT32_MAX) {
            *ea = swap ? j : i;
            *eb = swap ? i : j;
            return true;
        }
    }
    return false;
}

/* The element containing addr (largest start <= addr whose range holds it),
 * or UINT32_MAX. */
static uint32_t find_elem(const aud_sg *s, uint64_t addr)
{
    uint32_t lo = 0, hi = s->n; /* first k with e[order[k]].addr > addr */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->e[s->order[mid]].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* walk back over zero-length elements at the same address */
    while (lo > 0) {
        const dmt_sg_elem *e = &s->e[s->order[lo - 1]];
        if (e->len != 0)
            return addr - e->addr < e->len ? s->order[lo - 1] : UINT32_MAX;
        lo--;
    }
    return UINT32_MAX;
}

bool aud_prog_compare(aud_sg *s, const dmt_sg_elem *desc, const bool *valid, uint32_t n,
                      aud_prog_result *res)
{
    if (!s->done) {
        s->done = calloc(s->n ? s->n : 1, sizeof(uint32_t));
        if (!s->done)
            return false;
        s->next_unprog = 0;
    }
    for (uint32_t j = 0; j < n; j++) {
        const uint64_t a = desc[j].addr;
        const uint32_t l = desc[j].len;
        res->bytes += l;
        while (s->next_unprog < s->n &&
               (s->done[s->next_unprog] != 0 || s->e[s->next_unprog].len == 0))
            s->next_unprog++;
        /* an invalid descriptor is one mismatch; its address and length
         * still say which element it was meant for */
        const bool quiet = !valid[j];
        if (quiet && !res->mismatches++)
            snprintf(res->first_mismatch, sizeof res->first_mismatch,
                     "descriptor %u is not a valid descriptor (bad magic)", j);
        if (l == 0) {
            if (quiet)
                continue;
            if (!res->mismatches++)
                snprintf(res->first_mismatch, sizeof res->first_mismatch,
                         "descriptor %u has length 0 (address 0x%" PRIx64 ")", j, a);
            continue;
        }
        uint32_t k = find_elem(s, a);
        if (k == UINT32_MAX) {
            uint32_t u = s->next_unprog;
            if (!quiet && !res->mismatches++) {
                if (u < s->n && s->e[u].len == l)
                    snprintf(res->first_mismatch, sizeof res->first_mismatch,
                             "descriptor %u programs 0x%" PRIx64 "+0x%x but element %u is at "
                             "0x%" PRIx64 "+0x%x",
                             j, a, l, u, s->e[u].addr, s->e[u].len);
                else
                    snprintf(res->first_mismatch, sizeof res->first_mismatch,
                             "descriptor %u programs 0x%" PRIx64 "+0x%x, outside the SG list", j, a,
                             l);
            }
            if (u < s->n && s->e[u].len == l)
                s->done[u] = l;
            continue;
        }
        uint64_t o = a - s->e[k].addr;
        if (o < s->done[k]) {
            if (!quiet && !res->duplicates++)
                snprintf(res->first_duplicate, sizeof res->first_duplicate,
                         "descriptor %u re-programs element %u (0x%" PRIx64
                         "+0x%x) from +0x%" PRIx64 ", already programmed up to +0x%x",
                         j, k, s->e[k].addr, s->e[k].len, o, s->done[k]);
            uint64_t end = o + l;
            if (end > s->done[k])
                s->done[k] = end > s->e[k].len ? s->e[k].len : (uint32_t)end;
            continue;
        }
        if (o > s->done[k] && !quiet) {
            if (!res->mismatches++)
                snprintf(res->first_mismatch, sizeof res->first_mismatch,
                         "descriptor %u starts at +0x%" PRIx64 " into element %u (0x%" PRIx64
                         "+0x%x), expected +0x%x",
                         j, o, k, s->e[k].addr, s->e[k].len, s->done[k]);
        }
        /* consume l bytes from element k on, into physically contiguous
         * following elements */
        uint64_t left = l;
        uint64_t room = s->e[k].len - o;
        uint32_t cur = k;
        uint64_t cur_o = o;
        for (;;) {
            if (left <= room) {
                s->done[cur] = (uint32_t)(cur_o + left);
                left = 0;
                break;
            }
            s->done[cur] = s->e[cur].len;
            left -= room;
            uint32_t nx = cur + 1;
            if (nx >= s->n || s->done[nx] != 0 ||
                s->e[nx].addr != aud_end(s->e[cur].addr, s->e[cur].len))
                break;
            cur = nx;
            cur_o = 0;
            room = s->e[cur].len;
        }
        if (left && !quiet && !res->mismatches++)
            snprintf(res->first_mismatch, sizeof res->first_mismatch,
                     "descriptor %u programs 0x%" PRIx64 "+0x%x, 0x%" PRIx64
                     " bytes past the end of element %u (0x%" PRIx64 "+0x%x)",
                     j, a, l, left, cur, s->e[cur].addr, s->e[cur].len);
    }
    return true;
}

uint64_t aud_prog_prefix(const aud_sg *s, uint32_t *hole)
{
    uint64_t p = 0;
    uint32_t i = 0;
    *hole = UINT32_MAX;
    if (!s->done)
        return 0;
    while (i < s->n && s->done[i] >= s->e[i].len) {
        p += s->e[i].len;
        i++;
    }
    if (i < s->n)
        p += s->done[i];
    for (uint32_t k = i + 1; k < s->n; k++)
        if (s->done[k] != 0) {
            *hole = i;
            break;
        }
    return p;
}

/*
 * carve.c - rings out of memory images (dmt/carve.h).
 *
 * Scan: one pass over the image's runs in large reads; at every 8-byte
 * aligned physical address the first word is compared with the ring magic.
 * A hit is only a candidate: its 256-byte header is read again through the
 * image (it may straddle two runs) and every field is checked before the
 * candidate is reported.  The pass keeps no per-candidate state beyond the
 * fixed result table, so memory does not grow with the image.  The same
 * compare also stops on the locator magic (both begin with "DMAT"), and the
 * file bytes no run covers (dump header, secondary data) are searched byte
 * by byte for locators; at most DMT_CARVE_MAX_LOCATORS are kept, each
 * checked whole by dmt_locator_parse before its fields are used.
 *
 * Classify (after the pass, on the table alone; schema/FORMAT.md 2.3):
 *
 *   candidates --group by (instance, ring index)--> representative = best of
 *        named by the trusted locator > tail slot matches > newest state >
 *        fewer absent bytes > lower address;  the rest: COPY of it
 *   representatives --trusted locator's instance?--> LIVE, else OLDER_LOAD
 *        (no locator: closed while another instance is open -> OLDER_LOAD)
 *
 * Invariant: `better` is a total preorder and each group's representative
 * is its first maximal member, so every member agrees on it.
 *
 * Extract: the ring region is copied into an anonymous mapping (pages the
 * image lacks stay zero, which the consumer sees as never-written slots),
 * marked closed, and drained by the recorder's own drain with a clock that
 * jumps past the torn-slot timeout whenever the ring looks idle, so every
 * in-flight or missing slot is skipped at once and counted as lost.
 *
 * Merge (--merge PARTIAL):
 *
 *   PARTIAL --pass 1--> header, each ring's position (start + its CPU's items),
 *      |                recover's final marker found
 *      '---pass 2--> writer (KEEP_CPU) ---> drain, each ring resumed at its
 *                                           position: below dropped, gap LOST
 *                                           (absent), numbering continues
 */
#include "dmt/carve.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/drain.h"
#include "dmt/locator.h"
#include "dmt/platform.h"
#include "dmt/reader.h"
#include "dmt/ring.h"
#include "dmt/writer.h"

#define SCAN_CHUNK (4u << 20)

const char *dmt_carve_reject_name(enum dmt_carve_reject r)
{
    static const char *const names[DMT_CARVE_REJ_N_] = {
        "unknown version",        "bad data size",           "unknown policy",
        "inconsistent positions", "header not in the image", "beyond the report cap"};
    return r < DMT_CARVE_REJ_N_ ? names[r] : "?";
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The slot header at the ring's tail: does it belong there?  1 yes (or the
 * ring is empty, or the header was never written: a reservation in flight),
 * 0 it fails its check (the data is not this header's), -1 absent. */
static int tail_slot_ok(dmt_image *img, const dmt_carve_ring *c)
{
    if (c->head_pos == c->tail_pos)
        return 1;
    uint8_t b[8];
    const uint64_t at = c->phys + DMT_RING_HDR_SIZE + (c->tail_pos & (c->data_size - 1));
    if (dmt_image_read(img, at, b, 8, NULL, NULL) != 8)
        return -1;
    const uint64_t v = rd64(b);
    if (v == 0)
        return 1;
    const uint32_t len = (uint32_t)v & 0xFFFFu, state = (uint32_t)(v >> 16) & 3u;
    const uint32_t check = (uint32_t)(v >> 18) & 0x3FFFu;
    return dmt_ring_slot_check(c->tail_pos, len, state, (uint32_t)(v >> 32)) == check;
}

/* Validate the header at phys; fill *out.  Returns -1 (ok) or a reason. */
static int check_candidate(dmt_image *img, uint64_t phys, dmt_carve_ring *out)
{
    uint8_t h[DMT_RING_HDR_SIZE];
    long n = dmt_image_read(img, phys, h, sizeof h, NULL, NULL);
    if (n != (long)sizeof h)
        return DMT_CARVE_REJ_ABSENT;
    const uint32_t version = rd32(h + 8);
    if (rd64(h) != DMT_RING_MAGIC || version < DMT_RING_VERSION_MIN || version > DMT_RING_VERSION ||
        rd32(h + 12) != DMT_RING_HDR_SIZE)
        return DMT_CARVE_REJ_VERSION;
    const uint64_t size = rd64(h + 16);
    if (size < DMT_RING_MIN_SIZE || size > DMT_RING_MAX_SIZE || (size & (size - 1)))
        return DMT_CARVE_REJ_SIZE;
    const uint32_t policy = rd32(h + 24);
    if (policy != DMT_RING_DROP_NEWEST && policy != DMT_RING_OVERWRITE_OLDEST)
        return DMT_CARVE_REJ_POLICY;
    const uint64_t head = rd64(h + 64), tail = rd64(h + 128);
    const uint32_t used = (uint32_t)head - (uint32_t)tail;
    if (used > size || (((uint32_t)head | (uint32_t)tail) & 7u))
        return DMT_CARVE_REJ_POSITIONS;
    const uint32_t count = rd32(h + 52) ? rd32(h + 52) : 1, index = rd32(h + 48);
    if (count > DMT_RING_MAX_RINGS || index >= count)
        return DMT_CARVE_REJ_POSITIONS;
    memset(out, 0, sizeof *out);
    out->phys = phys;
    out->data_size = size;
    out->policy = policy;
    out->flags = rd32(h + 28);
    out->head_seq = head >> 32;
    out->tail_seq = tail >> 32;
    out->head_pos = (uint32_t)head;
    out->tail_pos = (uint32_t)tail;
    out->lost_full = rd64(h + 192);
    out->lost_overwritten = rd64(h + 200);
    out->lost_torn = rd64(h + 208);
    out->committed = rd64(h + 216);
    out->instance = rd64(h + 40);
    out->ring_index = index;
    out->ring_count = count;
    out->absent = dmt_image_absent(img, phys, DMT_RING_HDR_SIZE + size);
    out->data_ok = tail_slot_ok(img, out);
    return -1;
}

static void add_candidate(dmt_image *img, uint64_t phys, dmt_carve_scan_result *res)
{
    dmt_carve_ring cand;
    int why = check_candidate(img, phys, &cand);
    if (why < 0 && res->n == DMT_CARVE_MAX_CANDIDATES)
        why = DMT_CARVE_REJ_TOO_MANY;
    if (why < 0) {
        res->rings[res->n++] = cand;
        return;
    }
    res->rejected[why]++;
    if (res->n_rejected_at < DMT_CARVE_MAX_REJ_LISTED) {
        res->rejected_at[res->n_rejected_at].phys = phys;
        res->rejected_at[res->n_rejected_at++].why = (enum dmt_carve_reject)why;
    }
}

/* ---- locators ------------------------------------------------------------- */

static const uint64_t loc_word0 =
    (uint64_t)DMT_LOC_MAGIC_W1 << 32 | DMT_LOC_MAGIC_W0; /* "DMATRACE" */
DMT_STATIC_ASSERT((uint32_t)DMT_RING_MAGIC == DMT_LOC_MAGIC_W0, magics_share_first_word);

/* The highest physical address the image holds, plus one. */
static uint64_t phys_end(const dmt_image *img)
{
    size_t nr;
    const dmt_image_run *runs = dmt_image_runs(img, &nr);
    return nr ? runs[nr - 1].phys + runs[nr - 1].len : 0;
}

/* A locator's magic at file offset off (phys: its physical address, or
 * UINT64_MAX outside memory): read, check, record. */
static int found_locator(dmt_image *img, uint64_t off, uint64_t phys, dmt_carve_scan_result *res,
                         dmt_error *err)
{
    for (size_t i = 0; i < res->n_locators; i++)
        if (res->locators[i].file_off == off)
            return 0;
    if (res->n_locators == DMT_CARVE_MAX_LOCATORS) {
        res->locators_dropped++;
        return 0;
    }
    uint8_t b[DMT_LOC_MAX_SIZE];
    const uint64_t fsize = dmt_image_get_info(img)->file_size;
    size_t len = fsize - off < sizeof b ? (size_t)(fsize - off) : sizeof b;
    long got;
    if (phys != UINT64_MAX) {
        got = dmt_image_read(img, phys, b, len, NULL, err);
    } else {
        got = dmt_file_pread(dmt_image_fd(img), b, len, off);
        if (got < 0)
            return dmt_error_set(err, DMT_E_IO, off, DMT_NO_INDEX, "read failed: %s",
                                 strerror((int)-got));
    }
    if (got < 0)
        return (int)got;
    dmt_carve_locator *l = &res->locators[res->n_locators++];
    memset(l, 0, sizeof *l);
    l->file_off = off;
    l->phys = phys;
    l->blob = -1;
    l->reject = dmt_locator_parse(b, (size_t)got, &l->loc);
    if (l->reject != DMT_LOC_OK || l->loc.phys_source == DMT_LOC_PHYS_NONE)
        return 0;
    const uint64_t end = phys_end(img);
    if (end == 0)
        return 0; /* a small dump: no memory to hold the rings against */
    for (uint32_t k = 0; k < l->loc.n; k++) {
        const dmt_locator_ring *e = &l->loc.rings[k];
        if (e->phys >= end || DMT_RING_HDR_SIZE + e->data_size > end - e->phys) {
            l->reject = DMT_CARVE_LOC_OUTSIDE;
            l->bad_ring = k;
            return 0;
        }
    }
    return 0;
}

/* File bytes [lo, hi) outside memory: byte by byte for the locator magic
 * and for "DumpBlob" (secondary data).  Reads overlap by 15 bytes so a
 * magic across two reads is seen. */
static int scan_gap(dmt_image *img, uint8_t *buf, uint64_t lo, uint64_t hi,
                    dmt_carve_scan_result *res, dmt_error *err)
{
    const int fd = dmt_image_fd(img);
    while (lo < hi) {
        size_t want = hi - lo < SCAN_CHUNK ? (size_t)(hi - lo) : SCAN_CHUNK;
        long got = dmt_file_pread(fd, buf, want, lo);
        if (got <= 0)
            return dmt_error_set(err, DMT_E_IO, lo, DMT_NO_INDEX, "read failed: %s",
                                 strerror(got < 0 ? (int)-got : EIO));
        const bool last = lo + (uint64_t)got >= hi;
        size_t k = 0;
        for (;;) {
            const uint8_t *p = memchr(buf + k, 'D', (size_t)got - k);
            if (!p)
                break;
            k = (size_t)(p - buf);
            if ((size_t)got - k < DMT_LOC_MAGIC_LEN && !last)
                break; /* seen again at the start of the next read */
            if ((size_t)got - k >= DMT_LOC_MAGIC_LEN &&
                memcmp(p, DMT_LOC_MAGIC, DMT_LOC_MAGIC_LEN) == 0) {
                int rc = found_locator(img, lo + k, UINT64_MAX, res, err);
                if (rc)
                    return rc;
            } else if ((size_t)got - k >= 8 && memcmp(p, "DumpBlob", 8) == 0 &&
                       res->blob_off == UINT64_MAX) {
                res->blob_off = lo + k;
            }
            k++;
        }
        if (last)
            break;
        lo += (uint64_t)got > DMT_LOC_MAGIC_LEN ? (uint64_t)got - (DMT_LOC_MAGIC_LEN - 1)
                                                : (uint64_t)got;
    }
    return 0;
}

/* Every file range no run covers (runs taken in physical order: where a
 * run starts before the end of the previous one in the file, the gap is
 * skipped, never read twice). */
static int scan_gaps(dmt_image *img, dmt_carve_scan_result *res, dmt_error *err)
{
    uint8_t *buf = malloc(SCAN_CHUNK);
    if (!buf)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    size_t nr;
    const dmt_image_run *runs = dmt_image_runs(img, &nr);
    uint64_t cursor = 0;
    int rc = 0;
    for (size_t i = 0; i < nr && rc == 0; i++) {
        if (runs[i].file_off > cursor)
            rc = scan_gap(img, buf, cursor, runs[i].file_off, res, err);
        if (runs[i].file_off + runs[i].len > cursor)
            cursor = runs[i].file_off + runs[i].len;
    }
    const uint64_t fsize = dmt_image_get_info(img)->file_size;
    if (rc == 0 && cursor < fsize)
        rc = scan_gap(img, buf, cursor, fsize, res, err);
    free(buf);
    return rc;
}

/* Secondary data (UNCONFIRMED layout, docs/memory-images.md): "Dump" "Blob"
 * HeaderSize BuildNumber, then blocks of {HeaderSize 0x20, Tag GUID,
 * DataSize, PrePad, PostPad} + PrePad + data + PostPad, 8-aligned, no
 * count.  Walked only to say which block holds each locator; locators are
 * found by their own magic whether this parses or not. */
#define BLOB_MAX 4096u
static void walk_blobs(dmt_image *img, dmt_carve_scan_result *res)
{
    const uint64_t fsize = dmt_image_get_info(img)->file_size;
    uint8_t h[32];
    if (res->blob_off == UINT64_MAX ||
        dmt_file_pread(dmt_image_fd(img), h, 16, res->blob_off) != 16)
        return;
    uint64_t at = res->blob_off + rd32(h + 8);
    if (rd32(h + 8) < 16 || rd32(h + 8) > 4096)
        return;
    for (uint32_t k = 0; k < BLOB_MAX; k++) {
        at = (at + 7) & ~7ull;
        if (at > fsize || fsize - at < 32 || dmt_file_pread(dmt_image_fd(img), h, 32, at) != 32)
            return;
        const uint64_t hsize = rd32(h), data = rd32(h + 0x14), pre = rd32(h + 0x18),
                       post = rd32(h + 0x1C);
        if (hsize != 0x20 || hsize + pre + data + post > fsize - at)
            return;
        const uint64_t d0 = at + hsize + pre;
        for (size_t i = 0; i < res->n_locators; i++)
            if (res->locators[i].file_off >= d0 && res->locators[i].file_off < d0 + data)
                res->locators[i].blob = (int32_t)k;
        res->n_blobs = k + 1;
        at = d0 + data + post;
    }
}

/* The locator to trust: the first valid one outside memory (the dump's
 * secondary data), else the first valid one in memory. */
static int pick_trusted(const dmt_carve_scan_result *res)
{
    int in_mem = -1;
    for (size_t i = 0; i < res->n_locators; i++) {
        const dmt_carve_locator *l = &res->locators[i];
        if (l->reject != DMT_LOC_OK)
            continue;
        if (l->phys == UINT64_MAX)
            return (int)i;
        if (in_mem < 0)
            in_mem = (int)i;
    }
    return in_mem;
}

/* ---- classification (schema/FORMAT.md 2.3) ------------------------------- */

/* > 0 when a's header shows a later state than b's, 0 when the same. */
static int state_cmp(const dmt_carve_ring *a, const dmt_carve_ring *b)
{
    const int32_t dh = (int32_t)((uint32_t)a->head_seq - (uint32_t)b->head_seq);
    if (dh)
        return dh > 0 ? 1 : -1;
    const int32_t dt = (int32_t)((uint32_t)a->tail_seq - (uint32_t)b->tail_seq);
    if (dt)
        return dt > 0 ? 1 : -1;
    const uint64_t la = a->committed + a->lost_full + a->lost_overwritten + a->lost_torn;
    const uint64_t lb = b->committed + b->lost_full + b->lost_overwritten + b->lost_torn;
    if (la != lb)
        return la > lb ? 1 : -1;
    /* Same counts: any other difference is ordered arbitrarily but
     * consistently (a total order keeps the choice independent of where
     * the comparison starts). */
    if (a->head_pos != b->head_pos)
        return a->head_pos > b->head_pos ? 1 : -1;
    if (a->tail_pos != b->tail_pos)
        return a->tail_pos > b->tail_pos ? 1 : -1;
    if (a->flags != b->flags)
        return a->flags > b->flags ? 1 : -1;
    return 0;
}

/* Does locator entry e name ring r (address, instance, index, size)? */
static bool entry_names(const dmt_locator *loc, const dmt_locator_ring *e, const dmt_carve_ring *r)
{
    return loc->phys_source != DMT_LOC_PHYS_NONE && e->phys == r->phys &&
           e->instance == r->instance && e->index == r->ring_index && e->data_size == r->data_size;
}

/* Is ring r one the trusted locator names? */
static bool named(const dmt_carve_locator *l, const dmt_carve_ring *r)
{
    for (uint32_t k = 0; l && k < l->loc.n; k++)
        if (entry_names(&l->loc, &l->loc.rings[k], r))
            return true;
    return false;
}

/* Better representative of its (instance, index) group: named first, then
 * data that matches the header, then the newer state, then fewer absent
 * bytes; the scan order (lower address) breaks a tie. */
static bool better(const dmt_carve_locator *l, const dmt_carve_ring *a, const dmt_carve_ring *b)
{
    if (named(l, a) != named(l, b))
        return named(l, a);
    if ((a->data_ok != 0) != (b->data_ok != 0))
        return a->data_ok != 0;
    int c = state_cmp(a, b);
    if (c)
        return c > 0;
    return a->absent < b->absent;
}

static void classify(dmt_carve_scan_result *res)
{
    const dmt_carve_locator *l = res->trusted >= 0 ? &res->locators[res->trusted] : NULL;
    bool is_rep[DMT_CARVE_MAX_CANDIDATES];
    /* 1. One representative per (instance, ring index); the rest copies. */
    for (size_t i = 0; i < res->n; i++) {
        dmt_carve_ring *r = &res->rings[i];
        size_t best = SIZE_MAX; /* the first maximal member of the group */
        for (size_t j = 0; j < res->n; j++)
            if (res->rings[j].instance == r->instance &&
                res->rings[j].ring_index == r->ring_index &&
                (best == SIZE_MAX || better(l, &res->rings[j], &res->rings[best])))
                best = j;
        is_rep[i] = best == i;
        if (best == i)
            continue;
        const dmt_carve_ring *b = &res->rings[best];
        r->verdict = DMT_CARVE_COPY;
        r->ref = (uint32_t)best;
        r->why = r->data_ok == 0 && b->data_ok != 0 ? DMT_CARVE_WHY_DATA
                 : state_cmp(r, b) == 0             ? DMT_CARVE_WHY_IDENTICAL
                                                    : DMT_CARVE_WHY_OLDER_STATE;
    }
    /* 2. Which instance is current: the trusted locator's; without one, any
     * instance with an open representative makes the closed ones older. */
    bool have_open = false;
    for (size_t i = 0; i < res->n; i++)
        if (is_rep[i] && !(res->rings[i].flags & DMT_RING_F_CLOSED))
            have_open = true;
    for (size_t i = 0; i < res->n; i++) {
        dmt_carve_ring *r = &res->rings[i];
        if (!is_rep[i])
            continue;
        bool copies = false;
        for (size_t j = 0; j < res->n; j++)
            copies |= !is_rep[j] && res->rings[j].ref == i;
        if (l && r->instance != l->loc.instance) {
            r->verdict = DMT_CARVE_OLDER_LOAD;
            r->why = DMT_CARVE_WHY_OTHER_INSTANCE;
            r->other = l->loc.instance;
        } else if (!l && have_open && (r->flags & DMT_RING_F_CLOSED)) {
            r->verdict = DMT_CARVE_OLDER_LOAD;
            r->why = DMT_CARVE_WHY_CLOSED;
        } else {
            r->verdict = DMT_CARVE_LIVE;
            r->why = named(l, r) ? DMT_CARVE_WHY_NAMED
                     : copies    ? DMT_CARVE_WHY_NEWEST
                                 : DMT_CARVE_WHY_ONLY;
            r->ref = named(l, r) ? (uint32_t)res->trusted : 0;
        }
    }
}

static void result_init(dmt_carve_scan_result *res)
{
    memset(res, 0, offsetof(dmt_carve_scan_result, locators));
    res->n_locators = 0;
    res->locators_dropped = 0;
    res->trusted = -1;
    res->blob_off = UINT64_MAX;
    res->n_blobs = 0;
    res->full = 0;
}

/* Note which entries of the trusted locator name a ring that validated. */
static void mark_named(dmt_carve_scan_result *res)
{
    if (res->trusted < 0)
        return;
    dmt_carve_locator *l = &res->locators[res->trusted];
    l->named_ok = 0;
    for (size_t i = 0; i < res->n; i++)
        for (uint32_t k = 0; k < l->loc.n; k++)
            if (entry_names(&l->loc, &l->loc.rings[k], &res->rings[i]))
                l->named_ok |= 1ull << k;
}

int dmt_carve_locate(dmt_image *img, dmt_carve_scan_result *res, dmt_error *err)
{
    result_init(res);
    res->no_memory = phys_end(img) == 0;
    int rc = scan_gaps(img, res, err);
    if (rc)
        return rc;
    walk_blobs(img, res);
    res->trusted = pick_trusted(res);
    if (res->trusted < 0)
        return 0;
    const dmt_carve_locator *l = &res->locators[res->trusted];
    if (l->loc.phys_source == DMT_LOC_PHYS_NONE)
        return 0;
    for (uint32_t k = 0; k < l->loc.n; k++) {
        const dmt_locator_ring *e = &l->loc.rings[k];
        dmt_carve_ring c;
        if (check_candidate(img, e->phys, &c) >= 0 || !entry_names(&l->loc, e, &c)) {
            res->n = 0; /* go and scan */
            mark_named(res);
            return 0;
        }
        c.verdict = DMT_CARVE_LIVE;
        c.why = DMT_CARVE_WHY_NAMED;
        c.ref = (uint32_t)res->trusted;
        res->rings[res->n++] = c;
    }
    mark_named(res);
    return (int)res->n;
}

int dmt_carve_scan(dmt_image *img, dmt_carve_scan_result *res, dmt_carve_progress_fn progress,
                   void *ctx, dmt_error *err)
{
    result_init(res);
    res->no_memory = phys_end(img) == 0;
    int rc = scan_gaps(img, res, err);
    if (rc)
        return rc;
    size_t nr;
    const dmt_image_run *runs = dmt_image_runs(img, &nr);
    const uint64_t total = dmt_image_get_info(img)->present;
    uint8_t *buf = malloc(SCAN_CHUNK);
    if (!buf)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    const int fd = dmt_image_fd(img);
    const uint64_t magic = DMT_RING_MAGIC;
    for (size_t i = 0; i < nr && rc == 0; i++) {
        const dmt_image_run *r = &runs[i];
        for (uint64_t done = 0; done < r->len && rc == 0;) {
            size_t want = r->len - done < SCAN_CHUNK ? (size_t)(r->len - done) : SCAN_CHUNK;
            long got = dmt_file_pread(fd, buf, want, r->file_off + done);
            if (got <= 0) {
                int e = got < 0 ? (int)-got : EIO;
                rc = dmt_error_set(err, DMT_E_IO, r->file_off + done, DMT_NO_INDEX,
                                   "read failed: %s", strerror(e));
                break;
            }
            const uint64_t phys = r->phys + done;
            size_t k = (size_t)((8 - (phys & 7)) & 7);
            for (; k + 8 <= (size_t)got; k += 8) {
                uint64_t word;
                memcpy(&word, buf + k, 8); /* one load; the loop stays tight */
                /* Both magics begin with "DMAT": one compare per word. */
                if ((uint32_t)word != (uint32_t)magic || (word != magic && word != loc_word0))
                    continue;
                if (word == magic)
                    add_candidate(img, phys + k, res);
                else if ((rc = found_locator(img, r->file_off + done + k, phys + k, res, err)))
                    break;
            }
            /* A chunk that is not a multiple of 8 leaves at most 7 bytes
             * unexamined; the next read starts 8-aligned again. */
            const uint64_t step = (uint64_t)got & ~7ull ? (uint64_t)got & ~7ull : (uint64_t)got;
            done += step;
            res->bytes_scanned += step;
            if (progress)
                progress(ctx, res->bytes_scanned, total);
        }
    }
    free(buf);
    if (rc)
        return rc;
    walk_blobs(img, res);
    res->trusted = pick_trusted(res);
    mark_named(res);
    classify(res);
    res->full = 1;
    return 0;
}

void dmt_carve_verdict_text(const dmt_carve_scan_result *res, size_t i, char *buf, size_t cap)
{
    const dmt_carve_ring *r = &res->rings[i];
    switch (r->why) {
    case DMT_CARVE_WHY_NAMED:
        snprintf(buf, cap, "live (named by the locator at byte %" PRIu64 ")",
                 res->locators[r->ref].file_off);
        break;
    case DMT_CARVE_WHY_ONLY:
        snprintf(buf, cap, "live");
        break;
    case DMT_CARVE_WHY_NEWEST:
        snprintf(buf, cap, "live (the newest of its copies)");
        break;
    case DMT_CARVE_WHY_IDENTICAL:
        snprintf(buf, cap, "copy of ring %u (identical state)", r->ref);
        break;
    case DMT_CARVE_WHY_OLDER_STATE:
        snprintf(buf, cap, "copy of ring %u (older state)", r->ref);
        break;
    case DMT_CARVE_WHY_DATA:
        snprintf(buf, cap, "copy of ring %u (its data does not match its header)", r->ref);
        break;
    case DMT_CARVE_WHY_OTHER_INSTANCE:
        snprintf(buf, cap, "older load (the locator names instance 0x%" PRIx64 ")", r->other);
        break;
    case DMT_CARVE_WHY_CLOSED:
        snprintf(buf, cap, "older load (closed, another instance is open)");
        break;
    }
}

void dmt_carve_locator_text(const dmt_carve_scan_result *res, size_t i, char *buf, size_t cap)
{
    const dmt_carve_locator *l = &res->locators[i];
    char where[96];
    if (l->phys != UINT64_MAX)
        snprintf(where, sizeof where, "byte %" PRIu64 " (physical 0x%" PRIx64 ")", l->file_off,
                 l->phys);
    else if (l->blob >= 0)
        snprintf(where, sizeof where, "byte %" PRIu64 " (secondary data, DumpBlob block %d)",
                 l->file_off, (int)l->blob);
    else
        snprintf(where, sizeof where, "byte %" PRIu64 " (outside memory)", l->file_off);
    if (l->reject == DMT_CARVE_LOC_OUTSIDE) {
        const dmt_locator_ring *e = &l->loc.rings[l->bad_ring];
        snprintf(buf, cap,
                 "locator at %s rejected: ring %u at physical 0x%" PRIx64 " lies outside the image",
                 where, l->bad_ring, e->phys);
    } else if (l->reject != DMT_LOC_OK) {
        snprintf(buf, cap, "locator at %s rejected: %s", where, dmt_locator_reject_name(l->reject));
    } else {
        static const char *const src[] = {"unknown", "MmGetPhysicalAddress", "given by the driver"};
        uint32_t ok = 0;
        for (uint32_t k = 0; k < l->loc.n; k++)
            ok += (uint32_t)(l->named_ok >> k) & 1u;
        const bool trusted = (int)i == res->trusted;
        snprintf(buf, cap,
                 "locator at %s: instance 0x%" PRIx64 ", %u ring(s) from virtual 0x%" PRIx64
                 " (physical addresses: %s), %u found at their address%s%s",
                 where, l->loc.instance, l->loc.n, l->loc.rings[0].va, src[l->loc.phys_source], ok,
                 trusted ? "; trusted" : "",
                 !trusted || ok == l->loc.n ? ""
                 : res->no_memory           ? " (the image holds no memory)"
                                            : "; the others are looked for by the scan");
    }
}

/* Copy [phys, phys+len) of the image into dst; absent bytes stay as they are
 * (zero).  Returns 0 or DMT_E_IO. */
static int copy_region(dmt_image *img, uint64_t phys, uint8_t *dst, uint64_t len, dmt_error *err)
{
    uint64_t at = 0;
    while (at < len) {
        uint64_t next;
        size_t want = len - at < (64u << 20) ? (size_t)(len - at) : (64u << 20);
        long got = dmt_image_read(img, phys + at, dst + at, want, &next, err);
        if (got < 0)
            return (int)got;
        if (got > 0) {
            at += (uint64_t)got;
            continue;
        }
        if (next == UINT64_MAX || next - phys >= len)
            break;
        at = next - phys;
    }
    return 0;
}

/* ---- --merge: the recording a crash cut ----------------------------------- */

/* What the recording holds, from one pass over it (schema/FORMAT.md 1.4):
 * for each ring of the region, the ring sequence number that follows its
 * last item in the recording.  A per-CPU trace says where each ring
 * started (header ring_seq0, or the first CPU record of each CPU with its
 * ring_seq), and every item of a CPU - record or LOST range - takes that
 * CPU's next ring numbers in order, so counting gives each ring's
 * position after any prefix of the trace, a cut one included. */
typedef struct partial_info {
    dmt_header h;
    uint64_t n_items; /* records and LOST records in the file */
    uint64_t skip;    /* index of recover's marker, left out; UINT64_MAX none */
    bool known[DMT_RING_MAX_RINGS];
    uint64_t pos[DMT_RING_MAX_RINGS];
} partial_info;

/* One item of the recording, held back one step: the last one may be
 * recover's marker, which counts for no ring. */
typedef struct held {
    bool valid, recover_marker, lost, has_ring_seq;
    uint32_t cpu;
    uint64_t count, ring_seq, index;
} held;

static bool is_recover_marker(const dmt_record *r)
{
    const size_t n = sizeof DMT_RECOVER_MARKER - 1;
    return r->kind == DMT_K_MARKER && r->n_bytes >= n &&
           memcmp(r->bytes, DMT_RECOVER_MARKER, n) == 0;
}

/* Account item it of the recording to its ring (count: rings of the
 * image's region, 1 for a single ring). */
static int account(partial_info *pi, const held *it, uint32_t count, const char *path,
                   dmt_error *err)
{
    if (count == 1) {
        if (it->cpu != DMT_CPU_NONE)
            return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "%s was merged from a per-CPU ring region (its records carry a "
                                 "CPU): carve the region's ring 0 to continue it",
                                 path);
        return 0;
    }
    if (it->cpu == DMT_CPU_NONE) {
        if (it->lost)
            return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "%s: LOST range %" PRIu64 " of no CPU: its ring is unknown", path,
                                 it->index);
        return 0; /* written by a tool, not taken from a ring */
    }
    const uint32_t c = it->cpu;
    if (c >= count)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "%s has records of CPU %u, the ring region in the image has %u rings",
                             path, c, count);
    if (it->has_ring_seq) {
        if (pi->known[c] && pi->pos[c] != it->ring_seq)
            return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "%s: CPU %u's ring sequence number is %" PRIu64
                                 " by its records, %" PRIu64 " by a CPU record",
                                 path, c, pi->pos[c], it->ring_seq);
        pi->known[c] = true;
        pi->pos[c] = it->ring_seq;
    }
    if (!pi->known[c])
        return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                             "%s does not say where ring %u started (no ring_seq0 in its "
                             "header, no ring_seq in its first CPU record): it cannot be continued",
                             path, c);
    pi->pos[c] += it->count;
    return 0;
}

/* Pass 1 over the recording: its header, each ring's position after it,
 * and recover's marker.  set: the image's rings (their tails). */
static int scan_partial(const char *path, const dmt_carve_ring *ring, const dmt_ringset *set,
                        partial_info *pi, dmt_error *err)
{
    memset(pi, 0, sizeof *pi);
    pi->skip = UINT64_MAX;
    dmt_reader *rd;
    int rc = dmt_reader_open(path, DMT_READ_ALLOW_CUT, &rd, err);
    if (rc)
        return rc;
    pi->h = *dmt_reader_header(rd);
    const uint32_t count = set->count;
    if (pi->h.ring_size && pi->h.ring_size != ring->data_size)
        rc = dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                           "%s was recorded from a ring of %" PRIu64
                           " bytes, the ring in the image has %" PRIu64 ": not the same ring",
                           path, pi->h.ring_size, ring->data_size);
    else if (pi->h.n_ring_seq0 && count == 1)
        rc = dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                           "%s was merged from a per-CPU ring region of %u rings: carve the "
                           "region's ring 0 to continue it",
                           path, pi->h.n_ring_seq0);
    else if (pi->h.n_ring_seq0 && pi->h.n_ring_seq0 != count)
        rc = dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                           "%s was recorded from a region of %u rings, the image's has %u", path,
                           pi->h.n_ring_seq0, count);
    if (pi->h.n_ring_seq0 == count && count > 1)
        for (uint32_t i = 0; i < count; i++) {
            pi->known[i] = true;
            pi->pos[i] = pi->h.ring_seq0[i];
        }
    held prev = {0};
    dmt_record r;
    while (rc == 0 && (rc = dmt_reader_next(rd, &r, err)) == 1) {
        rc = prev.valid ? account(pi, &prev, count, path, err) : 0;
        prev.valid = true;
        prev.recover_marker = is_recover_marker(&r);
        prev.lost = r.kind == DMT_K_LOST;
        prev.cpu = r.cpu;
        prev.count = prev.lost ? r.count : 1;
        prev.has_ring_seq = r.has_ring_seq;
        prev.ring_seq = r.ring_seq;
        prev.index = pi->n_items++;
    }
    dmt_reader_close(rd);
    if (rc < 0)
        return rc;
    if (prev.valid && prev.recover_marker)
        pi->skip = prev.index;
    else if (prev.valid && (rc = account(pi, &prev, count, path, err)) != 0)
        return rc;
    for (uint32_t i = 0; count > 1 && i < count; i++) {
        /* A ring the recording says nothing of: still at sequence 0 in
         * the image, nothing of it was ever consumed, so nothing can be
         * missing; otherwise where the recorder began is unknown. */
        if (pi->known[i])
            continue;
        if ((uint32_t)(set->rings[i].hdr->tail >> 32) != 0)
            return dmt_error_set(err, DMT_E_FORMAT, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "%s does not say where ring %u started (a recording made "
                                 "before the header's ring_seq0), and the ring in the image "
                                 "was drained: it cannot be continued exactly",
                                 path, i);
        pi->known[i] = true;
        pi->pos[i] = 0;
    }
    return 0;
}

/* Pass 2: every record of the recording but recover's marker into w (set
 * up with its header, DMT_WRITE_KEEP_CPU: CPU records and their ring_seq
 * stay). */
static int copy_partial(const char *path, const partial_info *pi, dmt_writer *w,
                        dmt_carve_stats *st, dmt_error *err)
{
    dmt_reader *rd;
    int rc = dmt_reader_open(path, DMT_READ_ALLOW_CUT, &rd, err);
    if (rc)
        return rc;
    dmt_record r;
    for (uint64_t i = 0; (rc = dmt_reader_next(rd, &r, err)) == 1; i++) {
        if (i == pi->skip)
            continue;
        if ((rc = dmt_writer_append(w, &r, err)) != 0)
            break;
        if (r.kind == DMT_K_LOST)
            st->lost += r.count;
        else
            st->records++;
    }
    dmt_reader_close(rd);
    return rc;
}

int dmt_carve_extract(dmt_image *img, const dmt_carve_ring *ring, const char *source,
                      const char *partial, const char *out_path, dmt_carve_stats *st,
                      dmt_error *err)
{
    if (ring->data_size > DMT_RING_MAX_SIZE)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX, "ring too large");
    dmt_carve_stats cs;
    memset(&cs, 0, sizeof cs);
    /* Ring 0 of a per-CPU region: the whole region, its rings merged.  Any
     * other ring of one is carved alone (its CPU's records). */
    const uint32_t count = ring->ring_index == 0 ? ring->ring_count : 1;
    const size_t len = (size_t)dmt_ringset_region_len(count, ring->data_size);
    /* Anonymous and lazily backed: absent pages cost nothing and read 0. */
    uint8_t *region = dmt_map_anon(len);
    if (!region)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX,
                             "cannot map %zu bytes for the ring", len);
    int rc = copy_region(img, ring->phys, region, len, err);
    dmt_ringset set;
    dmt_ring r;
    if (rc == 0) {
        /* The producer is gone: closed, so the drain ends when it is empty.
         * A further ring of a region whose header the image lacks (or that
         * does not belong) holds nothing we can count: an empty ring stands
         * in for it, and cs.rings_missing says how many. */
        const size_t stride = DMT_RING_HDR_SIZE + (size_t)ring->data_size;
        for (uint32_t i = 0; i < count; i++) {
            dmt_ring_hdr *hdr = (dmt_ring_hdr *)(region + (size_t)i * stride);
            dmt_ring one;
            if (i > 0 && (dmt_ring_attach(&one, hdr, stride) != 0 || one.size != ring->data_size ||
                          hdr->instance != ring->instance || hdr->ring_index != i ||
                          hdr->ring_count != count || hdr->policy != ring->policy)) {
                dmt_ring_init(hdr, stride, (enum dmt_ring_policy)ring->policy);
                hdr->version = DMT_RING_VERSION;
                hdr->instance = ring->instance;
                hdr->ring_index = i;
                hdr->ring_count = count;
                cs.rings_missing++;
            }
            hdr->flags |= DMT_RING_F_CLOSED;
        }
        if (count > 1 ? dmt_ringset_attach(&set, region, len) != 0
                      : dmt_ring_attach(&r, region, len) != 0)
            rc = dmt_error_set(err, DMT_E_FORMAT, ring->phys, DMT_NO_INDEX,
                               "the ring at physical 0x%" PRIx64 " changed since the scan",
                               ring->phys);
        if (rc == 0 && count > 1) {
            r = set.rings[0];
        } else if (rc == 0) {
            set.count = 1;
            set.instance = 0;
            set.rings[0] = r;
        }
    }
    partial_info *pi = NULL;
    if (rc == 0 && partial) {
        if (!(pi = malloc(sizeof *pi)))
            rc = dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
        else
            rc = scan_partial(partial, ring, &set, pi, err);
    }
    dmt_writer *w = NULL;
    dmt_drain *d = NULL;
    if (rc == 0 && !(d = dmt_drain_new_set(&set, NULL, 1)))
        rc = dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    if (rc == 0) {
        dmt_header h;
        if (pi) {
            /* The recording's header and records first; the ring continues it. */
            h = pi->h;
        } else {
            memset(&h, 0, sizeof h);
            snprintf(h.producer, sizeof h.producer, "dmatrace carve");
            snprintf(h.clock, sizeof h.clock, "probe clock (carved)");
            snprintf(h.host, sizeof h.host, "carved from %s at physical 0x%" PRIx64, source,
                     ring->phys);
            h.ring_size = r.size;
            h.ring_policy = r.hdr->policy;
            h.cpus = count > 1 ? count : 0;
            dmt_drain_header(d, &h); /* seq0; ring_seq0 of a region */
        }
        cs.first_seq = h.seq0;
        rc = dmt_writer_open(out_path, &h,
                             DMT_WRITE_ATOMIC | DMT_WRITE_HEADER_NOW | DMT_WRITE_KEEP_CPU, &w, err);
    }
    if (rc == 0)
        dmt_drain_set_writer(d, w);
    if (rc == 0 && pi)
        rc = copy_partial(partial, pi, w, &cs, err);
    if (rc == 0 && pi) {
        /* Each ring from where the recording left it; numbers in neither
         * become LOST (absent), nothing the recording has comes twice. */
        if (count > 1)
            for (uint32_t i = 0; i < count; i++)
                cs.absent += dmt_drain_resume_ring(d, i, pi->pos[i]);
        else
            cs.absent = dmt_drain_resume_at(d, dmt_writer_next_seq(w));
    }
    /* Each idle poll moves the clock past both torn-slot timeouts, so one
     * stuck slot is skipped per poll; a ring has at most size/8 slots. */
    uint64_t now = 1, idle = 0;
    const uint64_t max_idle = count * (ring->data_size / 8) + 16;
    while (rc == 0) {
        int p = dmt_drain_poll(d, now, 65536, err);
        if (p < 0) {
            rc = p;
            break;
        }
        if (p == DMT_DRAIN_DONE)
            break;
        if (p == DMT_DRAIN_IDLE) {
            now += 4000000000ull;
            if (++idle > max_idle) {
                rc = dmt_error_set(err, DMT_E_FORMAT, ring->phys, DMT_NO_INDEX,
                                   "the ring at physical 0x%" PRIx64 " never drains", ring->phys);
                break;
            }
        }
    }
    if (rc == 0) {
        const dmt_drain_stats *ds = dmt_drain_get_stats(d);
        cs.records += ds->records;
        cs.lost += ds->lost;
        cs.next_seq = dmt_writer_next_seq(w);
        cs.recover_marker = pi && pi->skip != UINT64_MAX;
        if (st)
            *st = cs;
    }
    dmt_drain_free(d);
    free(pi);
    if (w) {
        if (rc == 0)
            rc = dmt_writer_close(w, err);
        else
            dmt_writer_abort(w);
    }
    dmt_unmap_anon(region, len);
    return rc;
}

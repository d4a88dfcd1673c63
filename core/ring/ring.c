/*
 * ring.c - the lock-free trace ring: many producers, one consumer.
 *
 * Freestanding C89 (atomics from dmt/port.h, memcpy/memset only): this file
 * is compiled into the Windows driver as well as into libdmt.  API and region layout in
 * dmt/ring.h; normative layout in schema/FORMAT.md section 2 (2.1: per-CPU
 * regions, a ring per CPU back to back).
 *
 *  region   +0 dmt_ring_hdr (256 bytes)        +256 data[size]
 *           head, tail = seq32 << 32 | pos32
 *
 *  data[0]                                                        data[size]
 *  | C 8 | R 64 |   free   | C 37 | P 16 | C 100 | R 64 | P (wrap) |
 *                ^head      ^tail
 *
 *           slot: +0 header (u64), +8 payload zero-padded to 8 bytes
 *           C committed, R reserved (in progress), P padding; the wrap
 *           padding fills the end of data so the next slot starts at 0.
 *           "C 37 | P 16": 37 bytes committed into a 64-byte reservation =
 *           a 48-byte record slot and a 24-byte padding slot for the rest.
 *
 *   slot header (u64): len:16 | state:2 | check:14 | seq:32
 *     state 0 empty, 1 reserved (len = reserved bytes), 2 committed
 *     (len = published bytes), 3 padding (len = bytes after the header).
 *     check = 14 bits of mix64(pos32, len, state, seq32) (slot_check below):
 *     it ties a header to the position it was written for, so a header left
 *     over from an earlier lap, or payload bytes that happen to sit where a
 *     header is expected, do not pass for a slot.
 *
 * head packs the next byte position (low 32 bits, modulo 2^32) and the next
 * sequence number (high 32 bits), so one CAS both reserves space and takes
 * a sequence number.  A reservation that finds no room CASes only the
 * sequence half (after counting itself in lost_full), so every attempt has a
 * number and a loss is an exact gap.  tail packs the oldest unconsumed
 * position and the lowest sequence number a slot at or after tail can carry.
 * Positions are 32-bit (the data area is at most 2^30 bytes, so a difference
 * of positions above size means "stale snapshot"); sequence numbers are
 * 32-bit on the ring and extended to 64 bits by the consumer.
 *
 * Invariants:
 *  I1 0 <= head.pos - tail.pos <= size (mod 2^32).  Positions only grow.
 *  I2 Reservations are laid out in sequence order: a reservation with a
 *     larger sequence number lies at a larger position.  Failed attempts
 *     have a sequence number and no position.
 *  I3 A slot never wraps.  A reservation that would cross the end of data
 *     reserves the rest of data as a padding slot (same sequence number) and
 *     its record starts at data[0].  A slot is at most size/2 bytes, so any
 *     slot fits into an empty ring.
 *  I4 A producer owns its bytes from its head CAS until its commit CAS moves
 *     the header reserved -> committed (release).  Headers it writes are
 *     release stores.  A consumer reads a payload only after an acquire load
 *     of a committed header that validates (check, bounds, and a sequence in
 *     [expected, head.seq)).  Sequence windows are less than 2^31 wide: a
 *     wider one (a tail word ahead of the head word, which only corruption
 *     makes, or 2^31 drops while one slot waits) counts as empty, and its
 *     slots are skipped as unreadable.
 *  I5 commit(used < reserved) writes a padding header for the unused rest
 *     of the reservation before the commit CAS, so the committed len is the
 *     delivered length and every header says how far to skip.
 *  I6 Drop-newest: only the consumer moves tail.  It zeroes every slot it
 *     consumes or skips (header and payload) before the release store of
 *     tail, so in that policy a zero header at tail means "not yet written".
 *     Overwrite-oldest: producers move tail too (CAS, over committed and
 *     padding slots only; never over a reserved or unreadable slot); nobody
 *     zeroes, and stale bytes are rejected by the check and the sequence
 *     window [tail.seq, head.seq) (padding: [tail.seq - 1, head.seq)).
 *  I7 Whoever moves tail over a slot sets tail.seq past it: record s ->
 *     s + 1, padding s -> max(tail.seq, s) (a wrap padding precedes its
 *     record, a commit padding follows it), skipped region -> the sequence
 *     number of the first valid slot after it (or head.seq).
 *  I9 Per-CPU region (dmt_ringset_*): ring_count independent rings, each
 *     with its own head, tail, counters and sequence numbers; nothing is
 *     shared between them, so I1..I8 hold per ring.  A producer picks its
 *     ring from its CPU number alone (dmt_ringset_pick: cpu % count), so on
 *     the hot path it writes only its own ring's lines while CPUs <= rings;
 *     CPUs beyond that share a ring, which I1..I8 already allow.  Formatting
 *     writes ring 0's magic last, so whoever attaches through ring 0 sees
 *     every ring formatted.
 *  I8 Overwrite-oldest, seqlock-style: a header or payload read at a
 *     position taken from tail may race with a producer that has already
 *     reused the space (tail moved meanwhile).  Such reads are done by the
 *     racy_* helpers and are trusted only after tail is seen unchanged (for
 *     a header) or the tail CAS that consumes the slot succeeds (for a
 *     payload copy).
 *  I10 Runs (dmt_ring_take_run, at the end of this file): the consumer may
 *     take many slots with one tail/head load and one move of tail, only
 *     where single moves would have taken the same slots in the same order
 *     (committed records with the next sequence numbers, and padding);
 *     anything else ends the run and is left to dmt_ring_next.
 *  I11 Counters: lost_full, lost_overwritten and lost_torn are locked adds
 *     and exact (the consumer attributes gaps with them).  committed is a
 *     statistic that nothing checks against: a producer adds to it with a
 *     relaxed load and store after its commit CAS (dmt_stat_inc64), which
 *     saves a locked instruction per record and is exact while one
 *     producer at a time commits into the ring (a per-CPU ring with as
 *     many rings as CPUs, outside interrupts); commits that race may go
 *     uncounted.  A record's hot path holds two locked instructions, the
 *     head CAS and the commit CAS, and one slot-check hash each for the
 *     reserved header (kept in the reservation) and the committed one.
 *
 * Sequence extension and loss reasons (consumer).  A gap g = slot.seq -
 * next_seq (mod 2^32) becomes LOST items.  Drop-newest: every ordinary gap
 * is "ring full" (exact; lost_full is counted before the drop's CAS on head,
 * so it is visible to whoever sees a later slot).  Overwrite-oldest: the
 * part covered by unreported lost_overwritten (counted after the overwriter's
 * tail CAS, read while tail is seen stable) is "overwritten", the rest "ring
 * full".  The same counter is the lower bound that lifts a gap above 2^32
 * (overwrite-oldest only; in drop-newest a gap of 2^32 or more consecutive
 * drops is read modulo 2^32).
 *
 * Torn slots.  The consumer starts a stall timer when the slot at tail is
 * reserved, or unreadable while head is beyond tail.  Reserved for
 * torn_timeout_ns: it CASes the header to 0 (so a late commit fails), skips
 * exactly the reserved length and reports that one sequence number as torn.
 * Unreadable for torn_timeout_ns: it scans forward 8 bytes at a time for the
 * first header that validates (check for that position, sequence in the
 * window, bounds) up to head, and if the same scan result still holds after
 * another torn_timeout_ns (so every reservation in between has had a full
 * timeout to write its header) it skips to there - or to head if nothing
 * validated - and reports the sequence gap, at least one of it torn (the
 * rest, up to the unreported counters, as full/overwritten; that split is
 * exact unless drops after the skipped region are already counted, while
 * the total always is).  A producer that is only slow, not dead, must never
 * exceed the timeout: after a skip its space is reused.
 */
#include "dmt/ring.h"

#include <string.h>

#include "dmt/port.h"
#include "dmt/record.h"

/* ---- sanitizer annotations --------------------------------------------- */

#if defined(__SANITIZE_THREAD__)
#define DMT_RING_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DMT_RING_TSAN 1
#endif
#endif

#ifdef DMT_RING_TSAN
/* The seqlock-style reads (I8) are deliberately racy: ThreadSanitizer must
 * not instrument them, and must be told about the acquire they stand for. */
#define DMT_RACY __attribute__((no_sanitize("thread"), noinline))
void __tsan_acquire(void *addr);
#define TSAN_ACQUIRE(p) __tsan_acquire((void *)(p))
#else
#define DMT_RACY
#define TSAN_ACQUIRE(p) ((void)(p))
#endif

/* ---- words ------------------------------------------------------------- */

/* Words shared with other threads (and with the other process), accessed
 * only through the dmt_ld/st/cas/add operations of dmt/port.h.  Every one is
 * 8-byte aligned (the region is, and so are the offsets below and every
 * slot), which the 64-bit atomics of a 32-bit x86 build need. */
typedef uint64_t a64;

/* The header layout is part of the format (schema/FORMAT.md section 2). */
DMT_STATIC_ASSERT(sizeof(dmt_ring_hdr) == DMT_RING_HDR_SIZE, ring_hdr_size);
DMT_STATIC_ASSERT(offsetof(dmt_ring_hdr, policy) == 24, ring_hdr_policy);
DMT_STATIC_ASSERT(offsetof(dmt_ring_hdr, clock_hint) == 32, ring_hdr_clock_hint);
DMT_STATIC_ASSERT(offsetof(dmt_ring_hdr, instance) == 40, ring_hdr_instance);
DMT_STATIC_ASSERT(offsetof(dmt_ring_hdr, ring_count) == 52, ring_hdr_ring_count);
DMT_STATIC_ASSERT(offsetof(dmt_ring_hdr, head) == 64, ring_hdr_head);
DMT_STATIC_ASSERT(offsetof(dmt_ring_hdr, tail) == 128, ring_hdr_tail);
DMT_STATIC_ASSERT(offsetof(dmt_ring_hdr, lost_full) == 192, ring_hdr_lost_full);
DMT_STATIC_ASSERT(offsetof(dmt_ring_hdr, committed) == 216, ring_hdr_committed);

#define RLX    DMT_RLX
#define ACQ    DMT_ACQ
#define REL    DMT_REL
#define ACQREL DMT_ACQREL

enum { ST_EMPTY = 0, ST_RESERVED = 1, ST_COMMITTED = 2, ST_PADDING = 3 };

#define SLOT_HDR   8u
#define CHECK_MASK 0x3FFFu

static a64 *head_w(const dmt_ring *r)
{
    return (a64 *)(void *)&r->hdr->head;
}

static a64 *tail_w(const dmt_ring *r)
{
    return (a64 *)(void *)&r->hdr->tail;
}

static a64 *ctr_w(uint64_t *field)
{
    return (a64 *)(void *)field;
}

static a64 *slot_w(const dmt_ring *r, uint32_t pos)
{
    return (a64 *)(void *)(r->data + (pos & (uint32_t)r->mask));
}

static uint32_t r8(uint32_t n)
{
    return (n + 7u) & ~7u;
}

static uint64_t pw(uint32_t pos, uint32_t seq)
{
    return (uint64_t)seq << 32 | pos;
}

static uint32_t w_pos(uint64_t w)
{
    return (uint32_t)w;
}

static uint32_t w_seq(uint64_t w)
{
    return (uint32_t)(w >> 32);
}

/* a is later than b in modular sequence order */
static uint32_t seq_later(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0 ? a : b;
}

static uint32_t slot_check(uint32_t pos, uint32_t len, uint32_t state, uint32_t seq)
{
    uint64_t x = (uint64_t)pos ^ (uint64_t)len << 32 ^ (uint64_t)state << 48 ^
                 (uint64_t)seq * 0x9E3779B97F4A7C15ull;
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return (uint32_t)x & CHECK_MASK;
}

uint32_t dmt_ring_slot_check(uint32_t pos, uint32_t len, uint32_t state, uint32_t seq)
{
    return slot_check(pos, len, state, seq);
}

static uint64_t mk_hdr(uint32_t pos, uint32_t len, uint32_t state, uint32_t seq)
{
    return (uint64_t)len | (uint64_t)state << 16 |
           (uint64_t)slot_check(pos, len, state, seq) << 18 | (uint64_t)seq << 32;
}

static uint32_t h_len(uint64_t w)
{
    return (uint32_t)(w & 0xFFFFu);
}

static uint32_t h_state(uint64_t w)
{
    return (uint32_t)(w >> 16) & 3u;
}

static uint32_t h_seq(uint64_t w)
{
    return (uint32_t)(w >> 32);
}

/* Bytes the slot with header w spans, header included. */
static uint32_t h_extent(uint64_t w)
{
    return h_state(w) == ST_PADDING ? SLOT_HDR + h_len(w) : SLOT_HDR + r8(h_len(w));
}

static bool is_overwrite(const dmt_ring *r)
{
    return r->hdr->policy == DMT_RING_OVERWRITE_OLDEST;
}

/*
 * Does w validate as the header of a slot at position pos, with head word h?
 * Records (reserved, committed) need a sequence number in [lo, head.seq),
 * padding in [lo_pad, head.seq).  The slot must lie inside data and before
 * head.
 */
static bool hdr_valid(const dmt_ring *r, uint64_t w, uint32_t pos, uint64_t h, uint32_t lo,
                      uint32_t lo_pad)
{
    uint32_t state = h_state(w), len = h_len(w), seq = h_seq(w);
    uint32_t ext, off, base, span;
    if (state == ST_EMPTY)
        return false;
    if (((uint32_t)(w >> 18) & CHECK_MASK) != slot_check(pos, len, state, seq))
        return false;
    if (state == ST_PADDING && (len & 7u))
        return false;
    ext = h_extent(w);
    off = pos & (uint32_t)r->mask;
    if ((uint64_t)off + ext > r->size)
        return false;
    if (ext > w_pos(h) - pos)
        return false;
    /* [base, head.seq) in modular order.  A base after head.seq (a tail
     * word ahead of the head word: corrupt) is an empty range, not a wrap
     * to nearly all 2^32 numbers - else the scan for the next valid header
     * would accept slots the consumer then refuses, and stall on each. */
    base = state == ST_PADDING ? lo_pad : lo;
    span = w_seq(h) - base;
    return (int32_t)span > 0 && (uint32_t)(seq - base) < span;
}

/* ---- racy reads (I8) ---------------------------------------------------- */

DMT_RACY static uint64_t racy_load(a64 *p)
{
    return dmt_ld64(p, ACQ);
}

DMT_RACY static void racy_copy(uint8_t *dst, const uint8_t *src, uint32_t len)
{
    a64 *s = (a64 *)(void *)(uintptr_t)src;
    uint32_t n = len / 8u, i;
    for (i = 0; i < n; i++) {
        uint64_t v = dmt_ld64(&s[i], RLX);
        DMT_MOVE_FIXED(dst + 8u * i, &v, 8);
    }
    if (len & 7u) {
        uint64_t v = dmt_ld64(&s[n], RLX);
        memcpy(dst + 8u * n, &v, len & 7u);
    }
    dmt_fence_acq();
}

/* ---- setup --------------------------------------------------------------- */

/* Largest power-of-two data size, DMT_RING_MIN_SIZE..MAX_SIZE, of which
 * count rings (header + data each) fit in region_len; 0 when none does. */
static uint64_t fit_size(size_t region_len, uint32_t count)
{
    uint64_t per = (uint64_t)region_len / count, size;
    if (per < (uint64_t)DMT_RING_HDR_SIZE + DMT_RING_MIN_SIZE)
        return 0;
    size = DMT_RING_MIN_SIZE;
    while (size * 2 <= per - DMT_RING_HDR_SIZE && size * 2 <= DMT_RING_MAX_SIZE)
        size *= 2;
    return size;
}

static void format_one(uint8_t *at, uint64_t size, enum dmt_ring_policy policy, uint32_t index,
                       uint32_t count, uint64_t instance)
{
    dmt_ring_hdr *h = (dmt_ring_hdr *)(void *)at;
    memset(at, 0, (size_t)(DMT_RING_HDR_SIZE + size));
    h->version = DMT_RING_VERSION;
    h->hdr_size = DMT_RING_HDR_SIZE;
    h->size = size;
    h->policy = (uint32_t)policy;
    h->instance = instance;
    h->ring_index = index;
    h->ring_count = count;
    /* The magic last: whoever sees it sees a formatted ring. */
    dmt_st64(ctr_w(&h->magic), DMT_RING_MAGIC, REL);
}

uint64_t dmt_ringset_region_len(uint32_t count, uint64_t data_size)
{
    return (uint64_t)count * (DMT_RING_HDR_SIZE + data_size);
}

int dmt_ringset_init(void *region, size_t region_len, enum dmt_ring_policy policy, uint32_t count,
                     uint64_t instance)
{
    uint64_t size;
    uint32_t i;
    if (!region || ((uintptr_t)region & 7u) || count == 0 || count > DMT_RING_MAX_RINGS)
        return -1;
    if (policy != DMT_RING_DROP_NEWEST && policy != DMT_RING_OVERWRITE_OLDEST)
        return -1;
    size = fit_size(region_len, count);
    if (size == 0)
        return -1;
    /* Ring 0 last: a region whose first magic is visible is whole. */
    for (i = count; i-- > 0;)
        format_one((uint8_t *)region + (size_t)i * (size_t)(DMT_RING_HDR_SIZE + size), size, policy,
                   i, count, instance);
    return 0;
}

int dmt_ring_init(void *region, size_t region_len, enum dmt_ring_policy policy)
{
    return dmt_ringset_init(region, region_len, policy, 1, 0);
}

int dmt_ring_attach(dmt_ring *r, void *region, size_t region_len)
{
    dmt_ring_hdr *h = (dmt_ring_hdr *)region;
    uint64_t size;
    if (!r || !region || ((uintptr_t)region & 7u) || region_len < DMT_RING_HDR_SIZE)
        return -1;
    if (dmt_ld64(ctr_w(&h->magic), ACQ) != DMT_RING_MAGIC)
        return -1;
    size = h->size;
    if (h->version < DMT_RING_VERSION_MIN || h->version > DMT_RING_VERSION ||
        h->hdr_size != DMT_RING_HDR_SIZE)
        return -1;
    if (size < DMT_RING_MIN_SIZE || size > DMT_RING_MAX_SIZE || (size & (size - 1)))
        return -1;
    if (size > (uint64_t)region_len - DMT_RING_HDR_SIZE)
        return -1;
    if (h->policy != DMT_RING_DROP_NEWEST && h->policy != DMT_RING_OVERWRITE_OLDEST)
        return -1;
    r->hdr = h;
    r->data = (uint8_t *)region + DMT_RING_HDR_SIZE;
    r->size = size;
    r->mask = size - 1;
    return 0;
}

/* A header's ring count: version-1 rings and 0 read as 1. */
static uint32_t hdr_count(const dmt_ring_hdr *h)
{
    return h->version < 2u || h->ring_count == 0 ? 1u : h->ring_count;
}

int dmt_ringset_attach(dmt_ringset *s, void *region, size_t region_len)
{
    dmt_ring first;
    uint64_t stride;
    uint32_t count, i;
    if (!s || dmt_ring_attach(&first, region, region_len) != 0)
        return -1;
    count = hdr_count(first.hdr);
    if (count > DMT_RING_MAX_RINGS || (count > 1 && first.hdr->ring_index != 0))
        return -1;
    stride = DMT_RING_HDR_SIZE + first.size;
    if (count > 1 && dmt_ringset_region_len(count, first.size) > (uint64_t)region_len)
        return -1;
    for (i = 1; i < count; i++) {
        dmt_ring *r = &s->rings[i];
        const dmt_ring_hdr *h;
        if (dmt_ring_attach(r, (uint8_t *)region + (size_t)(i * stride),
                            (size_t)((uint64_t)region_len - i * stride)) != 0)
            return -1;
        h = r->hdr;
        if (h->version != first.hdr->version || r->size != first.size ||
            h->policy != first.hdr->policy || h->instance != first.hdr->instance ||
            h->ring_index != i || h->ring_count != count)
            return -1;
    }
    s->rings[0] = first;
    s->count = count;
    s->instance = first.hdr->version < 2u ? 0 : first.hdr->instance;
    return 0;
}

void dmt_ringset_close(dmt_ringset *s)
{
    uint32_t i;
    for (i = 0; i < s->count; i++)
        dmt_ring_close(&s->rings[i]);
}

/* ---- producer ------------------------------------------------------------ */

enum { ROOM_RETRY, ROOM_BLOCKED };

/* Consecutive head/tail snapshots further apart than the ring before a
 * reservation takes the header for corrupt (a real stale snapshot is
 * resolved by the next load of head). */
#define RESERVE_STALE_MAX 64u

/*
 * Overwrite-oldest: push tail to at least position target, one slot per CAS,
 * over committed and padding slots.  h is the caller's head snapshot (the
 * slots to pass all lie before it).  ROOM_BLOCKED when the oldest slot is
 * reserved or unreadable (in progress): the caller drops its record.
 */
static int make_room(dmt_ring *r, uint64_t h, uint32_t target)
{
    for (;;) {
        uint64_t t = dmt_ld64(tail_w(r), ACQ), w;
        uint32_t tpos = w_pos(t), tseq = w_seq(t), state, s, nseq;
        a64 *sp;
        if ((int32_t)(tpos - target) >= 0)
            return ROOM_RETRY;
        if (w_pos(h) - tpos > r->size)
            return ROOM_RETRY; /* our head snapshot is stale */
        if (tpos & 7u)
            return ROOM_BLOCKED; /* a corrupt tail (see dmt_ring_reserve) */
        sp = slot_w(r, tpos);
        w = racy_load(sp);
        if (dmt_ld64(tail_w(r), ACQ) != t)
            continue;
        if (!hdr_valid(r, w, tpos, h, tseq, tseq - 1u))
            return ROOM_BLOCKED;
        state = h_state(w);
        s = h_seq(w);
        if (state == ST_RESERVED)
            return ROOM_BLOCKED;
        nseq = state == ST_COMMITTED ? s + 1u : seq_later(s, tseq);
        TSAN_ACQUIRE(sp);
        if (dmt_cas64(tail_w(r), &t, pw(tpos + h_extent(w), nseq), ACQREL, RLX)) {
            if (state == ST_COMMITTED)
                dmt_add64(ctr_w(&r->hdr->lost_overwritten), 1, REL);
        }
    }
}

bool dmt_ring_reserve(dmt_ring *r, uint32_t len, dmt_ring_resv *rv)
{
    uint32_t size, mask, need;
    bool placeable, ow, dropping = false;
    uint64_t h;
    unsigned stale = 0;
    if (len == 0 || len > DMT_RING_MAX_PAYLOAD)
        return false;
    size = (uint32_t)r->size;
    mask = (uint32_t)r->mask;
    need = SLOT_HDR + r8(len);
    placeable = need <= size / 2;
    ow = is_overwrite(r);
    h = dmt_ld64(head_w(r), RLX);

    for (;;) {
        uint32_t pos = w_pos(h), seq = w_seq(h);
        if (!dropping) {
            uint64_t t = dmt_ld64(tail_w(r), ACQ);
            uint32_t used = pos - w_pos(t), off, pad, total;
            bool corrupt;
            /* The header is shared with the recorder, which can corrupt
             * it: positions that are not 8-aligned, or head and tail
             * further apart than the ring for longer than a stale snapshot
             * lasts, make the record lost (it still takes its number)
             * instead of a write outside data or an endless loop. */
            corrupt = ((pos | w_pos(t)) & 7u) != 0;
            if (used > size && !corrupt && ++stale < RESERVE_STALE_MAX) {
                h = dmt_ld64(head_w(r), RLX); /* head moved on since we read it */
                continue;
            }
            if (used > size)
                corrupt = true;
            off = pos & mask;
            pad = off + need > size ? size - off : 0;
            total = pad + need;
            if (!corrupt && placeable && used + total <= size) {
                if (dmt_cas64w(head_w(r), &h, pw(pos + total, seq + 1u), ACQREL, RLX)) {
                    uint32_t p = pos;
                    if (pad) {
                        dmt_st64(slot_w(r, p), mk_hdr(p, pad - SLOT_HDR, ST_PADDING, seq), REL);
                        p += pad;
                    }
                    rv->hdr = mk_hdr(p, len, ST_RESERVED, seq);
                    dmt_st64(slot_w(r, p), rv->hdr, REL);
                    rv->buf = r->data + (p & mask) + SLOT_HDR;
                    rv->len = len;
                    rv->pos = p;
                    rv->seq = seq;
                    return true;
                }
                continue;
            }
            if (!corrupt && placeable && ow && make_room(r, h, pos + total - size) == ROOM_RETRY) {
                h = dmt_ld64(head_w(r), RLX);
                continue;
            }
            /* Lost.  Count first: the release CAS below publishes the count
             * to whoever later sees a slot with a larger sequence number.
             * From here on this attempt only takes its number. */
            dmt_add64(ctr_w(&r->hdr->lost_full), 1, RLX);
            dropping = true;
        }
        if (dmt_cas64w(head_w(r), &h, pw(pos, seq + 1u), REL, RLX))
            return false;
    }
}

/* Publish rv with used bytes (<= rv->len); the bytes [used, r8(used)) of
 * the payload are already zero. */
static void commit_zeroed(dmt_ring *r, dmt_ring_resv *rv, uint32_t used)
{
    const uint32_t pos = (uint32_t)rv->pos;
    uint32_t ru = r8(used), rr = r8(rv->len);
    a64 *pad = NULL;
    uint64_t padw = 0, expect = rv->hdr;
    if (ru < rr) {
        uint32_t ppos = pos + SLOT_HDR + ru;
        padw = mk_hdr(ppos, rr - ru - SLOT_HDR, ST_PADDING, rv->seq);
        pad = slot_w(r, ppos);
        dmt_st64(pad, padw, RLX);
    }
    if (dmt_cas64(slot_w(r, pos), &expect, mk_hdr(pos, used, ST_COMMITTED, rv->seq), REL, RLX)) {
        /* A statistic, not a locked add (a third locked instruction per
         * record): exact with one producer at a time, see I11. */
        dmt_stat_inc64(ctr_w(&r->hdr->committed));
    } else if (pad) {
        /* The consumer skipped this slot as torn: take our padding back. */
        dmt_cas64(pad, &padw, 0, RLX, RLX);
    }
}

void dmt_ring_commit(dmt_ring *r, dmt_ring_resv *rv, uint32_t used)
{
    uint32_t ru;
    if (used > rv->len)
        used = rv->len;
    ru = r8(used);
    if (ru > used)
        memset(rv->buf + used, 0, ru - used);
    commit_zeroed(r, rv, used);
}

/* Copy len (>= 8) bytes to the 8-aligned dst as whole 8-byte words, the
 * last one zero-padded: the slot's payload and its padding in one pass
 * (no memcpy/memset calls, which -ffreestanding keeps as calls).  The
 * last word is the source's last 8 bytes shifted down, so nothing past
 * src + len is read. */
static void copy_words(uint8_t *dst, const uint8_t *src, uint32_t len)
{
    uint32_t full = len & ~7u, tail = len & 7u, i;
    uint64_t w;
    for (i = 0; i < full; i += 8u) {
        DMT_MOVE_FIXED(&w, src + i, 8);
        DMT_MOVE_FIXED(dst + i, &w, 8);
    }
    if (tail) {
        DMT_MOVE_FIXED(&w, src + len - 8u, 8);
        w >>= 8u * (8u - tail); /* little-endian, like the encoder's heads */
        DMT_MOVE_FIXED(dst + full, &w, 8);
    }
}

bool dmt_ring_write(dmt_ring *r, const void *payload, uint32_t len)
{
    dmt_ring_resv rv;
    if (!dmt_ring_reserve(r, len, &rv))
        return false;
    if (len >= 8u && len <= 256u) {
        copy_words(rv.buf, (const uint8_t *)payload, len);
        commit_zeroed(r, &rv, len);
        return true;
    }
    memcpy(rv.buf, payload, len);
    dmt_ring_commit(r, &rv, len);
    return true;
}

void dmt_ring_close(dmt_ring *r)
{
    dmt_or32(&r->hdr->flags, DMT_RING_F_CLOSED, REL);
}

/* ---- consumer ------------------------------------------------------------ */

void dmt_ring_consumer_init(dmt_ring_consumer *c, dmt_ring *r, uint64_t torn_timeout_ns)
{
    memset(c, 0, sizeof *c);
    c->r = r;
    c->torn_timeout_ns = torn_timeout_ns;
    c->next_seq = w_seq(dmt_ld64(tail_w(r), ACQ));
    c->rep_full = dmt_ld64(ctr_w(&r->hdr->lost_full), ACQ);
    c->rep_ow = dmt_ld64(ctr_w(&r->hdr->lost_overwritten), ACQ);
}

static void clear_stall(dmt_ring_consumer *c)
{
    c->stalled = false;
    c->scan_armed = false;
}

/* Has the tail word t been stuck for a torn timeout?  Starts the timer. */
static bool stalled_for(dmt_ring_consumer *c, uint64_t t, uint64_t now)
{
    if (!c->stalled || c->stall_tail != t) {
        c->stalled = true;
        c->scan_armed = false;
        c->stall_tail = t;
        c->stall_since_ns = now;
        return false;
    }
    return c->torn_timeout_ns && now >= c->stall_since_ns &&
           now - c->stall_since_ns >= c->torn_timeout_ns;
}

/* Zero n bytes of data from position pos (may wrap; drop-newest only). */
static void zero_span(dmt_ring *r, uint32_t pos, uint32_t n)
{
    uint32_t off = pos & (uint32_t)r->mask;
    uint32_t first = (uint64_t)off + n > r->size ? (uint32_t)r->size - off : n;
    dmt_st64((a64 *)(void *)(r->data + off), 0, RLX);
    memset(r->data + off + SLOT_HDR, 0, first - SLOT_HDR);
    if (first < n)
        memset(r->data, 0, n - first);
}

/*
 * Move tail from t (header at sp, already checked) to npos/nseq.
 * Drop-newest: zero what we pass, release store.  Overwrite-oldest: CAS;
 * false when a producer moved tail first.
 */
static bool consume_to(dmt_ring_consumer *c, uint64_t t, a64 *sp, uint32_t npos, uint32_t nseq)
{
    dmt_ring *r = c->r;
    if (!is_overwrite(r)) {
        zero_span(r, w_pos(t), npos - w_pos(t));
        dmt_st64(tail_w(r), pw(npos, nseq), REL);
        return true;
    }
    TSAN_ACQUIRE(sp);
    return dmt_cas64(tail_w(r), &t, pw(npos, nseq), ACQREL, RLX);
}

/* The 64-bit gap whose low 32 bits are g and that is at least lower-2^31. */
static uint64_t extend_gap(uint32_t g, uint64_t lower)
{
    const uint64_t slack = 0x80000000ull;
    uint64_t k;
    if (lower <= (uint64_t)g + slack)
        return g;
    k = (lower - g - slack + 0xFFFFFFFFull) >> 32;
    return (uint64_t)g + (k << 32);
}

static void push_lost(dmt_ring_consumer *c, uint64_t count, uint32_t reason)
{
    if (!count)
        return;
    c->pend[c->pend_n].seq = c->next_seq;
    c->pend[c->pend_n].count = count;
    c->pend[c->pend_n].reason = reason;
    c->pend_n++;
    c->next_seq += count;
}

/* a + b, stuck at UINT64_MAX: the counters live in the shared header, so a
 * hostile recorder can start them near 2^64, and a wrapped sum would turn
 * "everything reported" into "2^64 unreported". */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Counter values not yet attributed to a reported gap. */
static uint64_t unreported(uint64_t counter, uint64_t reported)
{
    return counter > reported ? counter - reported : 0;
}

/*
 * Plan LOST items for the gap of g (mod 2^32) sequence numbers before the
 * next slot; torn: the gap was skipped by a scan and holds at least one torn
 * reservation.  F and O are lost_full and lost_overwritten as read now.
 */
static void plan_gap(dmt_ring_consumer *c, uint32_t g, bool torn, uint64_t F, uint64_t O)
{
    bool ow = is_overwrite(c->r);
    uint64_t uf = unreported(F, c->rep_full), uo = unreported(O, c->rep_ow);
    uint64_t G = extend_gap(g, ow ? uo : 0);
    uint64_t n_ow, n_full, n_torn = 0;
    if (G == 0)
        return;
    if (torn) {
        uint64_t known = sat_add(uf, uo);
        uint64_t others = G - 1 < known ? G - 1 : known;
        n_torn = G - others;
        n_ow = others < uo ? others : uo;
        n_full = others - n_ow;
    } else {
        n_ow = ow ? (G < uo ? G : uo) : 0;
        n_full = G - n_ow;
    }
    c->pend_n = c->pend_i = 0;
    push_lost(c, n_ow, DMT_LOST_OVERWRITTEN);
    push_lost(c, n_full, DMT_LOST_RING_FULL);
    push_lost(c, n_torn, DMT_LOST_TORN);
    c->rep_ow = sat_add(c->rep_ow, n_ow);
    c->rep_full = sat_add(c->rep_full, n_full);
    if (n_torn)
        dmt_add64(ctr_w(&c->r->hdr->lost_torn), n_torn, RLX);
}

static enum dmt_ring_status emit_pending(dmt_ring_consumer *c, dmt_ring_item *out)
{
    out->seq = c->pend[c->pend_i].seq;
    out->count = c->pend[c->pend_i].count;
    out->reason = c->pend[c->pend_i].reason;
    if (++c->pend_i == c->pend_n)
        c->pend_i = c->pend_n = 0;
    return DMT_RING_LOST;
}

/*
 * Read the loss counters for attributing a gap.  Overwrite-oldest: only
 * meaningful while tail stays t (every overwrite counted so far then lies
 * before the slot at tail); false when tail moved.
 */
static bool read_counters(dmt_ring_consumer *c, uint64_t t, uint64_t *F, uint64_t *O)
{
    dmt_ring *r = c->r;
    *F = dmt_ld64(ctr_w(&r->hdr->lost_full), ACQ);
    *O = dmt_ld64(ctr_w(&r->hdr->lost_overwritten), ACQ);
    return dmt_ld64(tail_w(r), ACQ) == t;
}

/*
 * The slot at tail t is unreadable and has been for a torn timeout: find
 * where to skip to, and skip once that answer has held for another timeout.
 * Returns true when items were planned or tail moved.
 */
static bool skip_unreadable(dmt_ring_consumer *c, uint64_t t, uint64_t h, uint32_t lo, uint64_t now)
{
    dmt_ring *r = c->r;
    const uint32_t tpos = w_pos(t), limit = w_pos(h) - tpos;
    uint32_t end = w_pos(h), eseq = w_seq(h), d;
    uint64_t F, O;
    for (d = SLOT_HDR; d < limit; d += SLOT_HDR) {
        uint64_t w = racy_load(slot_w(r, tpos + d));
        if (hdr_valid(r, w, tpos + d, h, lo, lo)) {
            end = tpos + d;
            eseq = h_seq(w);
            break;
        }
    }
    if (!c->scan_armed || c->scan_end != end) {
        c->scan_armed = true;
        c->scan_end = end;
        c->scan_since_ns = now;
        return false;
    }
    if (now < c->scan_since_ns || now - c->scan_since_ns < c->torn_timeout_ns)
        return false;

    if (!read_counters(c, t, &F, &O))
        return false;
    if (is_overwrite(r)) {
        if (!dmt_cas64(tail_w(r), &t, pw(end, eseq), ACQREL, RLX))
            return false;
    } else {
        zero_span(r, tpos, end - tpos);
        dmt_st64(tail_w(r), pw(end, eseq), REL);
    }
    clear_stall(c);
    plan_gap(c, eseq - (uint32_t)c->next_seq, true, F, O);
    return true;
}

enum dmt_ring_status dmt_ring_next(dmt_ring_consumer *c, uint8_t *scratch, uint64_t now_ns,
                                   dmt_ring_item *out)
{
    dmt_ring *r = c->r;
    const bool ow = is_overwrite(r);
    int tries;
    memset(out, 0, sizeof *out);
    if (c->pend_i < c->pend_n)
        return emit_pending(c, out);

    for (tries = 0; tries < 64; tries++) {
        uint32_t flags = dmt_ld32(&r->hdr->flags, ACQ);
        uint64_t t = dmt_ld64(tail_w(r), ACQ);
        uint64_t h = dmt_ld64(head_w(r), ACQ);
        uint32_t tpos = w_pos(t), tseq = w_seq(t);
        uint32_t used = w_pos(h) - tpos;
        uint32_t next32 = (uint32_t)c->next_seq;
        uint32_t g, lo, state, s, len, ext;
        uint64_t F, O, w;
        a64 *sp;
        if (used > r->size || ((tpos | w_pos(h)) & 7u))
            continue; /* tail moved between the two loads, or a corrupt
                         header: correct code only ever stores 8-aligned
                         positions, and slot reads and zeroing rely on it */

        if (used == 0) {
            /* Empty: every number below head.seq is consumed or lost. */
            clear_stall(c);
            g = w_seq(h) - next32;
            if (g) {
                if (!read_counters(c, t, &F, &O))
                    continue;
                plan_gap(c, g, false, F, O);
                return emit_pending(c, out);
            }
            return (flags & DMT_RING_F_CLOSED) ? DMT_RING_DONE : DMT_RING_EMPTY;
        }

        sp = slot_w(r, tpos);
        w = ow ? racy_load(sp) : dmt_ld64(sp, ACQ);
        if (ow && dmt_ld64(tail_w(r), ACQ) != t)
            continue;
        lo = seq_later(next32, tseq);
        if (!hdr_valid(r, w, tpos, h, lo, lo - 1u)) {
            if (!stalled_for(c, t, now_ns))
                return DMT_RING_EMPTY;
            if (skip_unreadable(c, t, h, lo, now_ns)) {
                if (c->pend_i < c->pend_n)
                    return emit_pending(c, out);
                continue;
            }
            return DMT_RING_EMPTY;
        }

        state = h_state(w);
        s = h_seq(w);
        len = h_len(w);
        ext = h_extent(w);
        if (state == ST_PADDING) {
            if (consume_to(c, t, sp, tpos + ext, seq_later(s, tseq)))
                clear_stall(c);
            continue;
        }
        if (s != next32) {
            /* Losses before this slot: report them first. */
            if (!read_counters(c, t, &F, &O))
                continue;
            plan_gap(c, s - next32, false, F, O);
            return emit_pending(c, out);
        }
        if (state == ST_COMMITTED) {
            if (ow)
                racy_copy(scratch, (const uint8_t *)sp + SLOT_HDR, len);
            else
                memcpy(scratch, (const uint8_t *)sp + SLOT_HDR, len);
            if (!consume_to(c, t, sp, tpos + ext, s + 1u))
                continue; /* overwritten while we copied: discard */
            clear_stall(c);
            out->buf = scratch;
            out->len = len;
            out->seq = c->next_seq++;
            out->count = 1;
            return DMT_RING_RECORD;
        }

        /* Reserved: wait, then skip it as torn. */
        if (!stalled_for(c, t, now_ns))
            return DMT_RING_EMPTY;
        if (!dmt_cas64(sp, &w, 0, ACQREL, RLX))
            continue; /* committed just now */
        if (ow) {
            /* Nobody else can move tail past an empty header. */
            while (!dmt_cas64w(tail_w(r), &t, pw(tpos + ext, s + 1u), ACQREL, RLX)) {
                if (w_pos(t) != tpos)
                    break;
            }
        } else {
            zero_span(r, tpos, ext);
            dmt_st64(tail_w(r), pw(tpos + ext, s + 1u), REL);
        }
        clear_stall(c);
        dmt_add64(ctr_w(&r->hdr->lost_torn), 1, RLX);
        c->pend_n = c->pend_i = 0;
        push_lost(c, 1, DMT_LOST_TORN);
        return emit_pending(c, out);
    }
    return DMT_RING_EMPTY;
}

/*
 * Runs (I10).  The common case - committed records with the next sequence
 * numbers, one after another - taken with one load of tail and head, one
 * pass over the slot headers, one copy, and one move of tail:
 *
 *   tail                                                    head
 *   | C s | C s+1 | P | C s+2 | C s+2+1 | R | ...
 *   '------------- run: 4 records ------'  ^ stops: reserved, unreadable,
 *                                            a gap, cap or max reached
 *
 * Each header passes the same test dmt_ring_next applies at tail (hdr_valid
 * with the window a tail moved one slot at a time would have), and tail
 * moves to where those single moves would have taken it (I7), so a run
 * delivers exactly what as many dmt_ring_next calls would.  Drop-newest:
 * headers are acquire loads, the run is copied, zeroed and released by one
 * store of tail (I6).  Overwrite-oldest: headers and payloads are racy reads
 * (I8), trusted only when the one CAS of tail from the value loaded first
 * succeeds - positions only grow, so tail stayed there throughout and no
 * producer reused any slot of the run.
 */
/* The header pass reads the ring ahead of the copy: fetch 512 bytes ahead
 * (a hint; nothing on compilers without it, such as the driver's). */
#if defined(__GNUC__)
#define RUN_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define RUN_PREFETCH(p) ((void)(p))
#endif

uint32_t dmt_ring_take_run(dmt_ring_consumer *c, uint8_t *buf, uint32_t cap, dmt_ring_rec *recs,
                           uint32_t max)
{
    /* The ring's description (data, size, mask: fixed since attach) in a
     * local copy: every header is an acquire load, after which the compiler
     * would load the fields of *c->r again, per slot; a local whose address
     * does not escape stays in registers. */
    dmt_ring rl = *c->r;
    dmt_ring *r = &rl;
    const bool ow = is_overwrite(r);
    uint64_t t, h;
    uint32_t tpos, tseq, hpos, next32, lo, pos, n = 0, span, off, first;
    if (c->pend_i < c->pend_n || max == 0)
        return 0;
    t = dmt_ld64(tail_w(r), ACQ);
    h = dmt_ld64(head_w(r), ACQ);
    tpos = w_pos(t);
    tseq = w_seq(t);
    hpos = w_pos(h);
    if (hpos - tpos > r->size || ((tpos | hpos) & 7u))
        return 0; /* as dmt_ring_next: a stale pair, or corrupt */
    next32 = (uint32_t)c->next_seq;
    /* The window's low end a tail moved one slot at a time would have:
     * seq_later(next32, tseq), kept as the two move on. */
    lo = seq_later(next32, tseq);
    pos = tpos;
    while (n < max && pos != hpos) {
        a64 *sp = slot_w(r, pos);
        uint64_t w;
        uint32_t state, ext;
        RUN_PREFETCH(r->data + ((pos + 512u) & (uint32_t)r->mask));
        w = ow ? racy_load(sp) : dmt_ld64(sp, ACQ);
        if (!hdr_valid(r, w, pos, h, lo, lo - 1u))
            break;
        state = h_state(w);
        ext = h_extent(w);
        if (pos - tpos + ext > cap)
            break;
        if (state == ST_PADDING) {
            tseq = seq_later(h_seq(w), tseq);
            lo = seq_later(next32, tseq);
        } else if (state == ST_COMMITTED && h_seq(w) == next32) {
            recs[n].off = pos - tpos + SLOT_HDR;
            recs[n].len = h_len(w);
            n++;
            tseq = ++next32;
            lo = next32; /* seq_later(next32, next32) */
        } else {
            break;
        }
        TSAN_ACQUIRE(sp);
        pos += ext;
    }
    if (n == 0)
        return 0;
    span = pos - tpos;
    off = tpos & (uint32_t)r->mask;
    first = (uint64_t)off + span > r->size ? (uint32_t)r->size - off : span;
    if (ow) {
        racy_copy(buf, r->data + off, first);
        if (first < span)
            racy_copy(buf + first, r->data, span - first);
        if (!dmt_cas64(tail_w(r), &t, pw(pos, tseq), ACQREL, RLX))
            return 0; /* overwritten while we copied: discard */
    } else {
        memcpy(buf, r->data + off, first);
        memset(r->data + off, 0, first);
        if (first < span) {
            memcpy(buf + first, r->data, span - first);
            memset(r->data, 0, span - first);
        }
        dmt_st64(tail_w(r), pw(pos, tseq), REL);
    }
    clear_stall(c);
    c->next_seq += n;
    return n;
}

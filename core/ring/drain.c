/*
 * drain.c - ring region -> trace file (see dmt/drain.h).
 *
 * One ring (a version-1 ring, or a region of ring_count 1): items go
 * straight to the writer and keep the ring's sequence numbers.
 *
 *   dmt_ring_take_run --records--.
 *        | (0: anything else)     +--> dmt_writer_append_ring --ok--> file
 *   dmt_ring_next ---RECORD------'          '--invalid--> LOST(corrupt, 1)
 *        '------LOST(first,count)-----> dmt_writer_lost
 *
 * Runs first: dmt_ring_take_run takes the committed records at tail in one
 * go (one tail/head load, one header pass, one copy, one move of tail) and
 * delivers exactly what as many dmt_ring_next calls would (ring.c, I10);
 * each record of a run is checked on its own, so one that fails is LOST
 * (corrupt, 1) and the rest of the run goes on; the accepted records
 * between failures go to the writer as one stretch
 * (dmt_writer_append_ring_run).  A run takes at most ONE_RUN_BYTES of
 * slots, so that its copy is still in the L1 cache when it is checked and
 * copied again into the chunk.  Every check, one ring or
 * lanes, goes through the drain's shape cache (dmt_ring_record_check_cached:
 * a record shaped as the last accepted one of its kind skips the walk),
 * which accepts exactly what the full walk accepts (dmt/ringcheck.h), so
 * the file is the same with it or without (dmt_drain_set_shape_cache).  Whatever ends a run (a
 * loss, a torn or unreadable slot, an empty ring) is dmt_ring_next's.  A
 * resumed drain takes items one by one until it reaches its resume point.
 *
 * A per-CPU region (ring_count n > 1): one lane per ring, a k-way merge by
 * time.  Each lane takes items from its ring into a bounded queue, checking
 * each record as it is taken (dmt_ring_record_check, which is also what
 * gives the record's time); a record that fails becomes a LOST(corrupt, 1)
 * item there.  The merge then writes, in order of the key
 * (time, ring index, ring sequence), the head of the lane with the smallest
 * key (two heads are never of one lane, so time and ring index decide),
 * when that is safe:
 *
 *   ring 0 --next--> [q0: r r L r]--.
 *   ring 1 --next--> [q1: r r]------+--min key--> CPU record when the lane
 *   ring n --next--> [qn: ]---------'             changes, then the item
 *
 *   safe  = every lane still open has a queued item (nothing earlier can
 *           come from an empty lane's ring, up to the lane's own order), or
 *           the head is older than the newest time taken by window_ns
 *           (hw - ts >= window: a producer commits within the window), or
 *           a queue is full (the window is also bounded in bytes), or every
 *           ring stayed empty for the hold time (a quiet session is not
 *           held back), or every ring is closed and drained.
 *
 * A LOST item has no time of its own: its key is the time of the lane's
 * previous record, so it stays just after it.  A lane's items keep their
 * ring order.  Lanes take runs too, into the lane's own bytes, and
 * the queued items point at the records where dmt_ring_take_run put them
 * (each record is copied once, from the ring; the writer's copy is the
 * other):
 *
 *   lane bytes  [....|run slots: h r h r h r|h r ...........|     free    ]
 *                    ^bstart (end of the     ^ records taken  ^bend
 *                    last record written)      one by one
 *   lane items  [written|L r r r r r r ...|     free    ]  recs[k].off -> its record,
 *                                                          ri[k] its check (and key time),
 *                                                          lost[k] a LOST item's range
 *
 * An item is its slot in those arrays and nothing else: queueing a record
 * writes its place and its check (the check's time is the key), a LOST item
 * has length 0 and its range beside.  The ring number the lane's CPU record
 * announces is its first item's, kept when it is queued.  Runs keep the
 * lane's counters (last and newest time, counted bytes, payload, corrupt)
 * in locals and add them once per run.
 *
 * An item counts QHDR + its padded length against the queue's bound
 * (QBYTES, what the safety rule's "full" reads).  The bytes and the item
 * slots start over at 0 when the queue empties (the merge drains it
 * between fills, so this is the usual case), or move to the front when
 * there is no room at the end while items are queued (their recs[].off
 * moved with them), or when what is still queued is few next to what went
 * out before it (past KEEP_ITEMS items or KEEP_BYTES bytes, the live part
 * at most a quarter of it): lanes whose times interleave always hold a
 * burst back, and without that move such a lane's writes would walk its
 * whole bound (megabytes of items and bytes) instead of staying in the
 * cache.  Each move copies at most a quarter of what went out since the
 * last one, so moving costs a fraction of a copy per record.
 * The merge writes the smallest lane's items one after another while they
 * stay before the next lane's head and safe, each stretch of records among
 * them in one writer call (dmt_writer_append_ring_run).
 * Invariants: every item taken from a ring is written exactly
 * once (so each ring's sequence numbers stay accounted for, per CPU); the
 * trace's sequence numbers are dense in file order (records and LOST
 * ranges take the next ones); a record written after one with a later time
 * (it came late: its producer took longer than the window to commit) is
 * counted in stats.late.
 *
 * Resume (`carve --merge`): a lane resumed at ring number p holds, before
 * anything it takes, LOST(absent) for [p, where its consumer starts), or
 * drops what it takes below p; it then writes as any lane, with a CPU
 * record carrying ring_seq at its first item.
 */
#include "dmt/drain.h"

#include <stdlib.h>
#include <string.h>

#include "dmt/ringcheck.h"

/* A queued item is its slot k in the lane's arrays: recs[k], its record
 * (len bytes at off in the lane's bytes, where dmt_ring_take_run or
 * dmt_ring_next put them; len 0: a LOST item, as no record is empty) and
 * ri[k], its check, whose time is the item's key (a LOST item's: the time
 * of the lane's record before it).  So a stretch of records goes to the
 * writer as it lies (dmt_writer_append_ring_run), and queueing a record
 * writes nothing but its place and its check.  A LOST item's range lies in
 * lost[k]. */
typedef struct qlost {
    uint64_t seq;   /* ring sequence number of the first */
    uint64_t count; /* how many */
    uint32_t reason;
} qlost;

#define QBYTES        (1u << 20)   /* counted queue bytes per lane (q_span per item) */
#define QHDR          40u          /* what an item counts besides its payload (the bound's unit) */
#define HOLD_NS       10000000ull  /* quiet time after which held items go out */
#define RUN_BYTES     (256u << 10) /* slot bytes one run takes (dmt_ring_take_run) */
#define RUN_RECS      4096u        /* records one run takes */
#define ONE_RUN_BYTES (16u << 10)  /* one ring: a run's slots stay in L1 for the check and copy */
#define FILL_RECS     1024u        /* records a lane takes per merge round (256: <= 1.07x slower) */
#define KEEP_ITEMS    512u         /* a lane's items move to the front past this ... */
#define KEEP_BYTES    (32u << 10)  /* ... and its bytes past this, when few are live */
#define ONE_ROOM      (DMT_RING_MAX_PAYLOAD + 16u)        /* lane bytes one item needs */
#define LBYTES        (QBYTES + RUN_BYTES + 2 * ONE_ROOM) /* a lane's payload bytes */
#define QITEMS        (QBYTES / QHDR + RUN_RECS + 2u)     /* a lane's item slots */

typedef struct lane {
    dmt_ring_consumer c;
    uint64_t seq0;      /* ring sequence number the lane started at */
    dmt_ring_rec *recs; /* QITEMS slots, [istart, iend) queued: an item's record (len 0: LOST) */
    dmt_ring_record_info *ri; /* QITEMS: its check; its time is the item's key */
    qlost *lost;              /* QITEMS: a LOST item's range */
    uint32_t istart, iend;
    bool queued;        /* an item was queued: first_seq is the first's ring number */
    uint64_t first_seq; /* (the CPU record announcing the lane carries it) */
    uint8_t *bytes;     /* LBYTES: runs' slots, records; [bstart, bend) live */
    size_t bstart, bend;
    size_t qb;          /* counted bytes of the queued items (q_span) */
    bool done;          /* the ring is closed and drained */
    bool announced;     /* a CPU record with ring_seq was written */
    bool resume;        /* items below resume_at are dropped (dmt_drain_resume_ring) */
    uint64_t resume_at; /* ... */
    int64_t last_ts;    /* time of the last record taken */
    dmt_drain_stats st;
} lane;

struct dmt_drain {
    dmt_ringset set;
    dmt_writer *w;
    dmt_ring_consumer c; /* one ring */
    dmt_drain_stats st;
    bool resume;        /* items below resume_at are dropped (dmt_drain_resume_at) */
    uint64_t resume_at; /* ... and a gap up to the first kept one is LOST (absent) */
    /* per-CPU region */
    lane *lanes;
    uint32_t n;
    int64_t hw;     /* newest time taken from any ring */
    int64_t out_hw; /* newest time written */
    bool any_out;   /* out_hw is valid */
    uint64_t window_ns;
    bool quiet;           /* every ring was empty in the last rounds ... */
    uint64_t quiet_since; /* ... since then */
    uint8_t scratch[DMT_RING_MAX_PAYLOAD + 64];
    bool no_runs;                /* every item through dmt_ring_next */
    bool no_shapes;              /* every record through the full check */
    dmt_ring_check_cache shapes; /* the last accepted shape of each kind */
    uint8_t *run;                /* RUN_BYTES: the slots of a run */
    dmt_ring_rec *recs;          /* RUN_RECS: where its records lie */
    dmt_ring_record_info *infos; /* RUN_RECS: one ring, their checks */
};

dmt_drain *dmt_drain_new_set(const dmt_ringset *set, dmt_writer *w, uint64_t torn_timeout_ns)
{
    if (!set || set->count == 0 || set->count > DMT_RING_MAX_RINGS)
        return NULL;
    dmt_drain *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->set = *set;
    d->w = w;
    d->window_ns = DMT_DRAIN_WINDOW_NS;
    dmt_ring_check_cache_init(&d->shapes);
    d->run = malloc(RUN_BYTES);
    d->recs = malloc(RUN_RECS * sizeof *d->recs);
    d->infos = malloc(RUN_RECS * sizeof *d->infos);
    if (!d->run || !d->recs || !d->infos) {
        dmt_drain_free(d);
        return NULL;
    }
    if (set->count == 1) {
        dmt_ring_consumer_init(&d->c, &d->set.rings[0], torn_timeout_ns);
        return d;
    }
    d->n = set->count;
    d->lanes = calloc(d->n, sizeof *d->lanes);
    if (!d->lanes) {
        dmt_drain_free(d);
        return NULL;
    }
    for (uint32_t i = 0; i < d->n; i++) {
        lane *l = &d->lanes[i];
        dmt_ring_consumer_init(&l->c, &d->set.rings[i], torn_timeout_ns);
        l->seq0 = l->c.next_seq;
        l->last_ts = INT64_MIN;
        l->lost = malloc(QITEMS * sizeof *l->lost);
        l->recs = malloc(QITEMS * sizeof *l->recs);
        l->ri = malloc(QITEMS * sizeof *l->ri);
        l->bytes = malloc(LBYTES);
        if (!l->lost || !l->recs || !l->ri || !l->bytes) {
            dmt_drain_free(d);
            return NULL;
        }
    }
    d->hw = INT64_MIN;
    return d;
}

dmt_drain *dmt_drain_new(dmt_ring *ring, dmt_writer *w, uint64_t torn_timeout_ns)
{
    dmt_ringset s;
    s.count = 1;
    s.instance = 0;
    s.rings[0] = *ring;
    return dmt_drain_new_set(&s, w, torn_timeout_ns);
}

void dmt_drain_free(dmt_drain *d)
{
    if (!d)
        return;
    if (d->lanes)
        for (uint32_t i = 0; i < d->n; i++) {
            free(d->lanes[i].lost);
            free(d->lanes[i].recs);
            free(d->lanes[i].ri);
            free(d->lanes[i].bytes);
        }
    free(d->lanes);
    free(d->run);
    free(d->recs);
    free(d->infos);
    free(d);
}

void dmt_drain_set_window(dmt_drain *d, uint64_t window_ns)
{
    d->window_ns = window_ns;
}

void dmt_drain_set_runs(dmt_drain *d, bool on)
{
    d->no_runs = !on;
}

void dmt_drain_set_shape_cache(dmt_drain *d, bool on)
{
    d->no_shapes = !on;
}

/* Check one record: by the shape cache (the default) or the full walk;
 * both accept the same records (dmt/ringcheck.h). */
static inline int check_by(dmt_drain *d, bool full, const uint8_t *p, size_t len,
                           dmt_ring_record_info *ri)
{
    return full ? dmt_ring_record_check(p, len, ri)
                : dmt_ring_record_check_cached(&d->shapes, p, len, ri);
}

static inline int check(dmt_drain *d, const uint8_t *p, size_t len, dmt_ring_record_info *ri)
{
    return check_by(d, d->no_shapes, p, len, ri);
}

void dmt_drain_set_writer(dmt_drain *d, dmt_writer *w)
{
    d->w = w;
}

DMT_STATIC_ASSERT(DMT_RING_MAX_RINGS <= DMT_MAX_RINGS, header_holds_every_ring);

void dmt_drain_header(const dmt_drain *d, dmt_header *h)
{
    if (!d->n) {
        h->seq0 = d->c.next_seq;
        h->n_ring_seq0 = 0;
        return;
    }
    h->seq0 = 0;
    h->n_ring_seq0 = d->n;
    for (uint32_t i = 0; i < d->n; i++)
        h->ring_seq0[i] = d->lanes[i].seq0;
}

/* The consumer's next sequence number, extended to 64 bits nearest seq
 * (the ring keeps 32; a trace may have counted past 2^32). */
static void rebase(dmt_ring_consumer *c, uint64_t seq)
{
    const int64_t delta = (int32_t)((uint32_t)c->next_seq - (uint32_t)seq);
    if (delta >= 0 || seq >= (uint64_t)-delta)
        c->next_seq = seq + (uint64_t)delta;
}

uint64_t dmt_drain_resume_at(dmt_drain *d, uint64_t seq)
{
    if (d->n)
        return dmt_drain_resume_ring(d, 0, seq);
    rebase(&d->c, seq);
    d->resume = true;
    d->resume_at = seq;
    /* The ring delivers from its consumer's next number on. */
    return d->c.next_seq > seq ? d->c.next_seq - seq : 0;
}

/* The gap before what a resumed lane's ring still holds: LOST (absent),
 * queued first (it has the lane's first key). */
static void q_put_lost(lane *l, uint64_t seq, uint64_t count, uint32_t reason);

uint64_t dmt_drain_resume_ring(dmt_drain *d, uint32_t ring, uint64_t seq)
{
    if (!d->n)
        return ring == 0 ? dmt_drain_resume_at(d, seq) : 0;
    if (ring >= d->n)
        return 0;
    lane *l = &d->lanes[ring];
    rebase(&l->c, seq);
    if (seq < l->c.next_seq) {
        /* The ring delivers from its consumer's next number on. */
        const uint64_t gap = l->c.next_seq - seq;
        q_put_lost(l, seq, gap, DMT_LOST_ABSENT);
        return gap;
    }
    l->resume = seq > l->c.next_seq;
    l->resume_at = seq;
    return 0;
}

uint32_t dmt_drain_rings(const dmt_drain *d)
{
    return d->n ? d->n : 1;
}

const dmt_drain_stats *dmt_drain_ring_stats(const dmt_drain *d, uint32_t ring)
{
    if (!d->n)
        return ring == 0 ? &d->st : NULL;
    return ring < d->n ? &d->lanes[ring].st : NULL;
}

/* Resume mode: drop what lies below resume_at, clip a LOST range that
 * straddles it, and declare the gap before the first kept item.  Returns 1
 * when the item is dropped, 0 to go on with *first / *count, or an error. */
static int resume_filter(dmt_drain *d, uint64_t *first, uint64_t *count, dmt_error *err)
{
    if (*first + *count <= d->resume_at)
        return 1;
    if (*first < d->resume_at) {
        *count -= d->resume_at - *first;
        *first = d->resume_at;
    } else if (*first > d->resume_at) {
        int rc = dmt_writer_lost(d->w, d->resume_at, *first - d->resume_at, DMT_LOST_ABSENT, err);
        if (rc)
            return rc;
        d->st.lost += *first - d->resume_at;
    }
    d->resume = false;
    return 0;
}

const dmt_drain_stats *dmt_drain_get_stats(const dmt_drain *d)
{
    return &d->st;
}

/* One ring: a record straight to the writer; one that is not a valid
 * record becomes LOST (corrupt). */
static int put_one(dmt_drain *d, const uint8_t *buf, uint32_t len, uint64_t seq, dmt_error *err)
{
    dmt_ring_record_info ri;
    d->st.payload_bytes += len;
    int rc = check(d, buf, len, &ri) != 0
                 ? DMT_E_FORMAT
                 : dmt_writer_append_ring_checked(d->w, buf, len, seq, &ri, err);
    if (rc == DMT_E_FORMAT) {
        /* A committed record that is not a valid record: count it. */
        rc = dmt_writer_lost(d->w, seq, 1, DMT_LOST_CORRUPT, err);
        d->st.corrupt++;
        d->st.lost++;
    } else if (rc == 0) {
        d->st.records++;
    }
    return rc;
}

/* One ring: the n records of a run (d->run, d->recs) from ring number seq
 * on, each checked, then written a stretch at a time (what put_one does
 * per record: one that fails is LOST (corrupt, 1), the rest go on). */
static inline int put_run_by(dmt_drain *d, bool full, uint32_t n, uint64_t seq, dmt_error *err)
{
    uint32_t from = 0; /* the stretch of accepted records [from, i) */
    for (uint32_t i = 0; i <= n; i++) {
        if (i < n) {
            const dmt_ring_rec *r = &d->recs[i];
            d->st.payload_bytes += r->len;
            if (check_by(d, full, d->run + r->off, r->len, &d->infos[i]) == 0)
                continue;
        }
        int rc = dmt_writer_append_ring_run(d->w, d->run, d->recs + from, d->infos + from, i - from,
                                            seq + from, err);
        if (rc)
            return rc;
        d->st.records += i - from;
        if (i < n) {
            /* A committed record that is not a valid record: count it. */
            if ((rc = dmt_writer_lost(d->w, seq + i, 1, DMT_LOST_CORRUPT, err)))
                return rc;
            d->st.corrupt++;
            d->st.lost++;
        }
        from = i + 1;
    }
    return 0;
}

/* One loop per check (the test of which one taken once per run). */
static int put_run(dmt_drain *d, uint32_t n, uint64_t seq, dmt_error *err)
{
    return d->no_shapes ? put_run_by(d, true, n, seq, err) : put_run_by(d, false, n, seq, err);
}

/* The run size for a budget of max_items (0: none) of which done are used. */
static uint32_t run_max(uint32_t max_items, uint32_t done)
{
    if (!max_items || max_items - done > RUN_RECS)
        return RUN_RECS;
    return max_items - done;
}

/* One ring: the items go straight to the writer. */
static int poll_one(dmt_drain *d, uint64_t now_ns, uint32_t max_items, dmt_error *err)
{
    uint32_t done = 0;
    if (d->resume && d->resume_at < d->c.next_seq) {
        /* The gap before what the ring still holds, even when it holds
         * nothing more. */
        int rc =
            dmt_writer_lost(d->w, d->resume_at, d->c.next_seq - d->resume_at, DMT_LOST_ABSENT, err);
        if (rc)
            return rc;
        d->st.lost += d->c.next_seq - d->resume_at;
        d->resume = false;
    }
    for (;;) {
        if (max_items && done >= max_items)
            return DMT_DRAIN_BUSY;
        if (!d->resume && !d->no_runs) {
            /* Runs of committed records first; anything else below. */
            const uint64_t seq = d->c.next_seq;
            uint32_t n =
                dmt_ring_take_run(&d->c, d->run, ONE_RUN_BYTES, d->recs, run_max(max_items, done));
            int rc = put_run(d, n, seq, err);
            if (rc)
                return rc;
            if (n) {
                done += n;
                continue;
            }
        }
        dmt_ring_item it;
        enum dmt_ring_status s = dmt_ring_next(&d->c, d->scratch, now_ns, &it);
        int rc;
        if (d->resume && (s == DMT_RING_RECORD || s == DMT_RING_LOST)) {
            uint64_t count = s == DMT_RING_LOST ? it.count : 1;
            rc = resume_filter(d, &it.seq, &count, err);
            if (rc < 0)
                return rc;
            if (rc == 1) {
                done++;
                continue;
            }
            it.count = count;
        }
        switch (s) {
        case DMT_RING_RECORD:
            if ((rc = put_one(d, it.buf, it.len, it.seq, err)))
                return rc;
            break;
        case DMT_RING_LOST:
            rc = dmt_writer_lost(d->w, it.seq, it.count, it.reason, err);
            if (rc)
                return rc;
            d->st.lost += it.count;
            break;
        case DMT_RING_EMPTY:
            return done ? DMT_DRAIN_BUSY : DMT_DRAIN_IDLE;
        case DMT_RING_DONE:
            return DMT_DRAIN_DONE;
        }
        done++;
    }
}

/* ---- per-CPU region: lanes and the merge -------------------------------- */

/* Item k's key time (see qlost). */
static inline int64_t q_ts(const lane *l, uint32_t k)
{
    return l->ri[k].time;
}

static inline bool q_empty(const lane *l)
{
    return l->istart == l->iend;
}

/* What an item counts against QBYTES (the queue's bound in bytes). */
static size_t q_span(uint32_t len)
{
    return QHDR + ((len + 7u) & ~(size_t)7u);
}

/* Room for one more item of any size: the counted bytes under QBYTES, an
 * item slot and ONE_ROOM bytes at bend.  Moves the live items and bytes to
 * the front when they have moved on (the queue is usually empty by then:
 * the merge drains it between fills, and an empty queue starts over at 0),
 * and when the live ones are few next to what went out before them (see
 * the top: a lane held back by another keeps its working set small).  Only
 * where things lie changes, never what is queued or its order. */
static bool q_room(lane *l)
{
    if (l->qb > QBYTES)
        return false;
    if (l->iend >= QITEMS || (l->istart >= KEEP_ITEMS && l->iend - l->istart <= l->istart / 4)) {
        const uint32_t k = l->iend - l->istart;
        memmove(l->recs, l->recs + l->istart, k * sizeof *l->recs);
        memmove(l->ri, l->ri + l->istart, k * sizeof *l->ri);
        memmove(l->lost, l->lost + l->istart, k * sizeof *l->lost);
        l->iend -= l->istart;
        l->istart = 0;
    }
    if ((LBYTES - l->bend < ONE_ROOM && l->bstart) ||
        (l->bstart >= KEEP_BYTES && l->bend - l->bstart <= l->bstart / 4)) {
        const size_t from = l->bstart;
        memmove(l->bytes, l->bytes + from, l->bend - from);
        for (uint32_t i = l->istart; i < l->iend; i++)
            if (l->recs[i].len)
                l->recs[i].off -= (uint32_t)from;
        l->bend -= from;
        l->bstart = 0;
    }
    return l->iend < QITEMS && LBYTES - l->bend >= ONE_ROOM;
}

/* The first item a lane queues gives the ring number its CPU record
 * announces (nothing goes out of a lane before that record). */
static inline void q_first_seq(lane *l, uint64_t seq)
{
    if (!l->queued) {
        l->queued = true;
        l->first_seq = seq;
    }
}

/* Item slot k as a LOST item of count from ring number seq, its key the
 * time t (of the lane's record before it). */
static inline void q_lost(lane *l, uint32_t k, uint64_t seq, uint64_t count, uint32_t reason,
                          int64_t t)
{
    l->recs[k].off = l->recs[k].len = 0;
    memset(&l->ri[k], 0, sizeof l->ri[k]);
    l->ri[k].time = t;
    memset(&l->lost[k], 0, sizeof l->lost[k]);
    l->lost[k].seq = seq;
    l->lost[k].count = count;
    l->lost[k].reason = reason;
}

static void q_put_lost(lane *l, uint64_t seq, uint64_t count, uint32_t reason)
{
    q_first_seq(l, seq);
    q_lost(l, l->iend++, seq, count, reason, l->last_ts);
    l->qb += q_span(0);
}

/* Pop the head item (a LOST one), or the k records at the head. */
static void q_pop(lane *l, uint32_t k, size_t span)
{
    const dmt_ring_rec *r = &l->recs[l->istart + k - 1];
    l->qb -= span;
    if (r->len)
        l->bstart = r->off + (size_t)r->len;
    l->istart += k;
    if (l->istart == l->iend) {
        l->istart = l->iend = 0;
        l->bstart = l->bend = 0;
        l->qb = 0;
    }
}

/* What queueing records adds to a lane's and the drain's counters, kept
 * in locals over a run (stores through the item arrays may alias any field
 * of the lane or the drain) and added once (q_acc_end). */
typedef struct q_acc {
    int64_t last_ts, hw; /* the lane's last time taken, the drain's newest */
    uint64_t payload, corrupt;
    size_t qb; /* counted bytes queued */
} q_acc;

static inline q_acc q_acc_begin(const dmt_drain *d, const lane *l)
{
    q_acc a = {l->last_ts, d->hw, 0, 0, 0};
    return a;
}

static inline void q_acc_end(dmt_drain *d, lane *l, const q_acc *a)
{
    l->last_ts = a->last_ts;
    d->hw = a->hw;
    l->st.payload_bytes += a->payload;
    l->st.corrupt += a->corrupt;
    l->qb += a->qb;
}

/* Queue the record of len bytes at offset `at` in the lane's bytes, as ring
 * number seq, into item slot k (r and ri: its place and check there):
 * checked here (its check's time is its key), LOST (corrupt) when it
 * fails. */
static inline void q_record(dmt_drain *d, bool full, lane *l, uint32_t k, dmt_ring_rec *r,
                            dmt_ring_record_info *ri, const uint8_t *bytes, size_t at, uint32_t len,
                            uint64_t seq, q_acc *a)
{
    a->payload += len;
    if (check_by(d, full, bytes + at, len, ri) != 0) {
        q_lost(l, k, seq, 1, DMT_LOST_CORRUPT, a->last_ts);
        a->corrupt++;
        a->qb += q_span(0);
        return;
    }
    const int64_t ts = ri->time;
    r->len = len;
    r->off = (uint32_t)at;
    a->last_ts = ts;
    a->hw = ts > a->hw ? ts : a->hw;
    a->qb += q_span(len);
}

/* Take a run of records (dmt_ring_take_run) into lane l, at most max: its
 * slots land at bend in the lane's bytes and stay there, the queued items
 * pointing into them, until the merge has written them (each record is
 * copied once, from the ring, before the writer's copy). */
static uint32_t fill_run(dmt_drain *d, lane *l, uint32_t max)
{
    const size_t avail = LBYTES - l->bend;
    const uint32_t cap = avail < RUN_BYTES ? (uint32_t)avail : RUN_BYTES;
    const uint32_t slots = QITEMS - l->iend;
    const uint64_t seq = l->c.next_seq;
    const size_t base = l->bend;
    if (max > RUN_RECS)
        max = RUN_RECS;
    /* The places land in the lane's own slots for them (q_record makes
     * each one's offset the lane's, or zeroes it for a record that fails). */
    const uint32_t k = l->iend;
    dmt_ring_rec *const rr = l->recs + k;
    uint32_t n = dmt_ring_take_run(&l->c, l->bytes + base, cap, rr, max < slots ? max : slots);
    if (!n)
        return 0;
    const size_t end = base + rr[n - 1].off + ((rr[n - 1].len + 7u) & ~(size_t)7u);
    const uint8_t *const bytes = l->bytes;
    dmt_ring_record_info *const ri = l->ri + k;
    q_first_seq(l, seq);
    q_acc a = q_acc_begin(d, l);
    /* one loop per check (the test of which one taken once per run) */
    if (d->no_shapes)
        for (uint32_t i = 0; i < n; i++)
            q_record(d, true, l, k + i, &rr[i], &ri[i], bytes, base + rr[i].off, rr[i].len, seq + i,
                     &a);
    else
        for (uint32_t i = 0; i < n; i++)
            q_record(d, false, l, k + i, &rr[i], &ri[i], bytes, base + rr[i].off, rr[i].len,
                     seq + i, &a);
    q_acc_end(d, l, &a);
    l->iend = k + n;
    l->bend = end;
    return n;
}

/* Take up to budget items from lane i's ring into its queue.  Returns the
 * items taken; *empty when the ring had nothing more. */
static uint32_t fill(dmt_drain *d, lane *l, uint64_t now_ns, uint32_t budget, bool *empty)
{
    uint32_t taken = 0;
    *empty = false;
    while (taken < budget && !l->done && q_room(l)) {
        if (!l->resume && !d->no_runs) {
            /* Runs of committed records first; anything else below. */
            uint32_t n = fill_run(d, l, budget - taken);
            if (n) {
                taken += n;
                continue;
            }
        }
        const size_t at = l->bend;
        dmt_ring_item it;
        enum dmt_ring_status s = dmt_ring_next(&l->c, l->bytes + at, now_ns, &it);
        if (s == DMT_RING_EMPTY) {
            *empty = true;
            break;
        }
        if (s == DMT_RING_DONE) {
            l->done = true;
            break;
        }
        taken++;
        if (l->resume) {
            /* Already in the trace this continues: drop, or clip a LOST
             * range across the resume point. */
            const uint64_t n = s == DMT_RING_LOST ? it.count : 1;
            if (it.seq + n <= l->resume_at)
                continue;
            if (s == DMT_RING_LOST) {
                it.count -= l->resume_at - it.seq;
                it.seq = l->resume_at;
            }
            l->resume = false;
        }
        if (s == DMT_RING_LOST) {
            q_put_lost(l, it.seq, it.count, it.reason);
        } else {
            const uint32_t k = l->iend++;
            q_acc a = q_acc_begin(d, l);
            q_first_seq(l, it.seq);
            q_record(d, d->no_shapes, l, k, &l->recs[k], &l->ri[k], l->bytes, at, it.len, it.seq,
                     &a);
            q_acc_end(d, l, &a);
            l->bend = at + ((it.len + 7u) & ~(size_t)7u);
        }
    }
    return taken;
}

/* Is the key of lane ia's head (time ta) before lane ib's (tb)?  The key
 * is (time, ring index, ring sequence); two heads are never of one lane,
 * so the time and the ring index decide. */
static inline bool key_before(int64_t ta, uint32_t ia, int64_t tb, uint32_t ib)
{
    return ta < tb || (ta == tb && ia < ib);
}

/* Is a head of time ts older than the newest time taken by the window
 * (see the top)? */
static bool aged(const dmt_drain *d, int64_t ts)
{
    return d->hw != INT64_MIN && ts <= d->hw && (uint64_t)d->hw - (uint64_t)ts >= d->window_ns;
}

/* Write lane i's items from its head on while they stay before the next
 * lane's head (lane ni, its time nts; ni UINT32_MAX: none) and safe:
 * always (the other lanes' part of the test, which writing this lane does
 * not change), or this lane's queue over half full, or the item aged.  The
 * head itself is known to be safe.  The CPU record goes before the first
 * (the lane does not change in between, so the writer needs no other). */
static int put_lane(dmt_drain *d, uint32_t i, int64_t nts, uint32_t ni, bool always,
                    uint32_t *written, dmt_error *err)
{
    lane *l = &d->lanes[i];
    int rc = dmt_writer_set_cpu(d->w, i, !l->announced, l->first_seq, err);
    if (rc)
        return rc;
    l->announced = true;
    uint64_t records = 0, payload = 0, late = 0;
    uint32_t items = 0;
    /* The key test against the next head is key_before(ts, i, nts, ni)
     * with i != ni: ts < nts, or equal and i < ni; no next, every time
     * passes. */
    const bool tie_passes = ni == UINT32_MAX || i < ni;
    if (ni == UINT32_MAX)
        nts = INT64_MAX;
    do {
        const uint32_t s = l->istart;
        if (!l->recs[s].len) {
            const qlost *lo = &l->lost[s];
            const uint64_t seq = dmt_writer_next_seq(d->w);
            if ((rc = dmt_writer_lost(d->w, seq, lo->count, lo->reason, err)))
                break;
            l->st.lost += lo->count;
            d->st.lost += lo->count;
            if (lo->reason == DMT_LOST_CORRUPT)
                d->st.corrupt++;
            q_pop(l, 1, q_span(0));
            items++;
        } else {
            /* The stretch of records [s, e) that goes out: each record
             * after the first tested as the loop below tests an item, with
             * the counted bytes as they are once those before it are out. */
            const uint32_t iend = l->iend;
            const dmt_ring_record_info *const ri = l->ri;
            const dmt_ring_rec *const rs = l->recs;
            int64_t out_hw = d->any_out ? d->out_hw : ri[s].time;
            uint64_t n_late = 0, n_payload = 0;
            size_t span = 0;
            uint32_t e = s;
            for (;;) {
                const uint32_t len = rs[e].len;
                const int64_t ts = ri[e].time;
                span += q_span(len);
                n_payload += len;
                n_late += ts < out_hw;
                out_hw = ts > out_hw ? ts : out_hw;
                if (++e >= iend)
                    break;
                const int64_t nt = ri[e].time;
                if (!rs[e].len || nt > nts || (nt == nts && !tie_passes))
                    break;
                if (!always && l->qb - span <= QBYTES / 2 && !aged(d, nt))
                    break;
            }
            if ((rc = dmt_writer_append_ring_run(d->w, l->bytes, rs + s, ri + s, e - s,
                                                 dmt_writer_next_seq(d->w), err)))
                break;
            d->out_hw = out_hw;
            d->any_out = true;
            records += e - s;
            payload += n_payload;
            late += n_late;
            q_pop(l, e - s, span);
            items += e - s;
        }
    } while (!q_empty(l) && key_before(q_ts(l, l->istart), i, nts, ni) &&
             (always || l->qb > QBYTES / 2 || aged(d, q_ts(l, l->istart))));
    *written += items;
    l->st.records += records;
    d->st.records += records;
    d->st.payload_bytes += payload;
    d->st.late += late;
    return rc;
}

/* Write every head that is safe to write (see the top of the file);
 * flush: write everything queued.  Once the lane with the smallest key is
 * found, its items go out one after another while they stay before the
 * next lane's head and safe (only that lane changes meanwhile), so the
 * order and the decisions are the ones a fresh scan per item would make. */
static int merge(dmt_drain *d, bool flush, uint32_t *written, dmt_error *err)
{
    for (;;) {
        uint32_t best = UINT32_MAX, second = UINT32_MAX;
        int64_t bts = 0, sts = 0;
        for (uint32_t i = 0; i < d->n; i++) {
            const lane *l = &d->lanes[i];
            if (q_empty(l))
                continue;
            const int64_t ts = q_ts(l, l->istart);
            if (best == UINT32_MAX || key_before(ts, i, bts, best)) {
                second = best;
                sts = bts;
                best = i;
                bts = ts;
            } else if (second == UINT32_MAX || key_before(ts, i, sts, second)) {
                second = i;
                sts = ts;
            }
        }
        if (best == UINT32_MAX)
            return 0;
        /* The other lanes' part of the safety test. */
        bool all = true, full = false;
        for (uint32_t i = 0; i < d->n; i++) {
            const lane *o = &d->lanes[i];
            if (i == best)
                continue;
            if (q_empty(o) && !o->done)
                all = false;
            if (o->qb > QBYTES / 2)
                full = true;
        }
        const lane *l = &d->lanes[best];
        const bool always = flush || all || full;
        if (!always && l->qb <= QBYTES / 2 && !aged(d, bts))
            return 0;
        int rc = put_lane(d, best, sts, second, always, written, err);
        if (rc)
            return rc;
    }
}

static int poll_set(dmt_drain *d, uint64_t now_ns, uint32_t max_items, dmt_error *err)
{
    uint32_t written = 0;
    bool any_taken = false;
    for (;;) {
        uint32_t taken = 0, open = 0, empties = 0;
        for (uint32_t i = 0; i < d->n; i++) {
            bool empty;
            taken += fill(d, &d->lanes[i], now_ns, FILL_RECS, &empty);
            open += !d->lanes[i].done;
            empties += empty;
        }
        if (taken) {
            any_taken = true;
            d->quiet = false;
        }
        bool idle = taken == 0 && empties == open;
        if (idle && !d->quiet) {
            d->quiet = true;
            d->quiet_since = now_ns;
        }
        bool flush = open == 0 || (idle && d->quiet && now_ns >= d->quiet_since &&
                                   now_ns - d->quiet_since >= HOLD_NS);
        int rc = merge(d, flush, &written, err);
        if (rc)
            return rc;
        if (open == 0)
            return DMT_DRAIN_DONE;
        if (taken == 0)
            return any_taken || written ? DMT_DRAIN_BUSY : DMT_DRAIN_IDLE;
        if (max_items && written >= max_items)
            return DMT_DRAIN_BUSY;
    }
}

int dmt_drain_finish(dmt_drain *d, dmt_error *err)
{
    uint32_t written = 0;
    return d->n ? merge(d, true, &written, err) : 0;
}

int dmt_drain_poll(dmt_drain *d, uint64_t now_ns, uint32_t max_items, dmt_error *err)
{
    return d->n ? poll_set(d, now_ns, max_items, err) : poll_one(d, now_ns, max_items, err);
}

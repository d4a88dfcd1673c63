/*
 * drain.c - ring -> trace file (see dmt/drain.h).
 *
 *   dmt_ring_next ---RECORD---> dmt_writer_append_ring --ok--> file
 *        |                              '--invalid--> LOST(corrupt, 1)
 *        '------LOST(first,count)-----> dmt_writer_lost
 *
 * The sequence numbers the ring delivers are passed through unchanged, so a
 * record's sequence number in the file is the one the probe's reservation
 * took, and the file's LOST ranges are the ring's gaps.
 */
#include "dmt/drain.h"

#include <stdlib.h>

struct dmt_drain {
    dmt_ring *ring;
    dmt_writer *w;
    dmt_ring_consumer c;
    dmt_drain_stats st;
    bool resume;        /* items below resume_at are dropped (dmt_drain_resume_at) */
    uint64_t resume_at; /* ... and a gap up to the first kept one is LOST (absent) */
    uint8_t scratch[DMT_RING_MAX_PAYLOAD + 64];
};

dmt_drain *dmt_drain_new(dmt_ring *ring, dmt_writer *w, uint64_t torn_timeout_ns)
{
    dmt_drain *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->ring = ring;
    d->w = w;
    dmt_ring_consumer_init(&d->c, ring, torn_timeout_ns);
    return d;
}

void dmt_drain_free(dmt_drain *d)
{
    free(d);
}

void dmt_drain_resume_at(dmt_drain *d, uint64_t seq)
{
    d->resume = true;
    d->resume_at = seq;
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

int dmt_drain_poll(dmt_drain *d, uint64_t now_ns, uint32_t max_items, dmt_error *err)
{
    uint32_t done = 0;
    for (;;) {
        if (max_items && done >= max_items)
            return DMT_DRAIN_BUSY;
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
            d->st.payload_bytes += it.len;
            rc = dmt_writer_append_ring(d->w, it.buf, it.len, it.seq, err);
            if (rc == DMT_E_FORMAT) {
                /* A committed record that is not a valid record: count it. */
                rc = dmt_writer_lost(d->w, it.seq, 1, DMT_LOST_CORRUPT, err);
                d->st.corrupt++;
                d->st.lost++;
            } else if (rc == 0) {
                d->st.records++;
            }
            if (rc)
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

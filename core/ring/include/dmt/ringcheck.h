/*
 * dmt/ringcheck.h - fast validation of one ring-form record (the drain's
 * guard against malformed ring contents).  Accepts exactly what
 * dmt_parse_ring_record accepts for the kinds a ring may carry (every
 * event kind; never LOST, CHUNK or END).
 */
#ifndef DMT_RINGCHECK_H
#define DMT_RINGCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmt/record.h"

typedef struct dmt_ring_record_info {
    uint32_t kind;
    int64_t time;    /* the record's time field (absolute ns in the ring) */
    size_t time_off; /* where the time field starts */
    size_t time_len; /* and its encoded length */
} dmt_ring_record_info;

/* 0 when p[0..len) is exactly one valid ring-form record, -1 otherwise.
 * Reads nothing outside [p, p+len); allocates nothing. */
int dmt_ring_record_check(const uint8_t *p, size_t len, dmt_ring_record_info *info);

/* The shape cache: the check of a record whose shape equals the last
 * accepted record of its kind, without the walk.  A shape is the bits of
 * the last accepted record a full check depends on: the initial byte of
 * every item (major type and argument size, hence where every item lies),
 * the argument of every array and string head (counts and lengths), a
 * register width's value, and of the other arguments the bits a limit
 * reads (a uint32 field's high 32, the time's sign bit, an SG element's
 * bits past its page-shifted range).  A record of the same length with the
 * same bits there passes every test the full check made of the cached one,
 * so it is accepted; anything else takes the full walk (and, accepted,
 * becomes its kind's shape).  Hence the invariant: dmt_ring_record_check_cached
 * accepts exactly what dmt_ring_record_check accepts, with the same info
 * (core/tests/test_ringcheck.c runs both over the same inputs).
 * Records longer than DMT_RING_SHAPE_MAX, and those whose second byte is
 * not their kind (a field count past 23), always take the walk. */
#define DMT_RING_SHAPE_MAX 256u
typedef struct dmt_ring_shape {
    uint16_t len; /* 0: none yet */
    uint8_t time_off, time_len;
    uint8_t ref[DMT_RING_SHAPE_MAX];  /* the record */
    uint8_t mask[DMT_RING_SHAPE_MAX]; /* its pinned bits */
} dmt_ring_shape;
typedef struct dmt_ring_check_cache {
    dmt_ring_shape shape[DMT_K_MAX_]; /* by kind */
    uint64_t hits, misses;
} dmt_ring_check_cache;

/* Owned by the caller (no allocation); one per thread that checks. */
void dmt_ring_check_cache_init(dmt_ring_check_cache *cc);
/* As dmt_ring_record_check; remembers an accepted record's shape in cc. */
int dmt_ring_record_check_cached(dmt_ring_check_cache *cc, const uint8_t *p, size_t len,
                                 dmt_ring_record_info *info);

#endif

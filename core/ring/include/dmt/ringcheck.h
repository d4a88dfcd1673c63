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
#include <string.h>

#include "dmt/record.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* 16 bytes: the drains keep one per queued record (a record's head and
 * kind take at most 18 bytes, its time at most 9, so the offsets fit). */
typedef struct dmt_ring_record_info {
    int64_t time;      /* the record's time field (absolute ns in the ring) */
    uint32_t kind;     /* its kind */
    uint16_t time_off; /* where the time field starts */
    uint16_t time_len; /* and its encoded length */
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
    _Alignas(16) uint8_t ref[DMT_RING_SHAPE_MAX];  /* the record */
    _Alignas(16) uint8_t mask[DMT_RING_SHAPE_MAX]; /* its pinned bits */
} dmt_ring_shape;
typedef struct dmt_ring_check_cache {
    dmt_ring_shape shape[DMT_K_MAX_]; /* by kind */
    uint64_t hits, misses;
} dmt_ring_check_cache;

/* Owned by the caller (no allocation); one per thread that checks. */
void dmt_ring_check_cache_init(dmt_ring_check_cache *cc);
/* The walk behind dmt_ring_record_check_cached, for a record that missed
 * the cache: as dmt_ring_record_check, and an accepted record's shape
 * becomes its kind's. */
int dmt_ring_record_check_learn(dmt_ring_check_cache *cc, const uint8_t *p, size_t len,
                                dmt_ring_record_info *info);

static inline uint64_t dmt_ring_ld64_(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Do the pinned bits of p[0..len) equal the shape's?  Whole words of the
 * record, masked, the last one overlapping the ones before it: 16 bytes at
 * a time where SSE2 is there (every x86-64), else 8. */
static inline bool dmt_ring_same_shape_(const uint8_t *p, size_t len, const dmt_ring_shape *s)
{
    if (len < 8) {
        for (size_t i = 0; i < len; i++)
            if ((p[i] ^ s->ref[i]) & s->mask[i])
                return false;
        return true;
    }
#if defined(__SSE2__)
    if (len >= 16) {
        /* the last 16 bytes first, overlapping the blocks before */
        const size_t l = len - 16;
        __m128i diff = _mm_and_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(p + l)),
                                                   _mm_loadu_si128((const __m128i *)(s->ref + l))),
                                     _mm_loadu_si128((const __m128i *)(s->mask + l)));
        for (size_t i = 0; i < l; i += 16)
            diff = _mm_or_si128(
                diff, _mm_and_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(p + i)),
                                                  _mm_load_si128((const __m128i *)(s->ref + i))),
                                    _mm_load_si128((const __m128i *)(s->mask + i))));
        return _mm_movemask_epi8(_mm_cmpeq_epi8(diff, _mm_setzero_si128())) == 0xFFFF;
    }
#endif
    /* the last 8 bytes first, overlapping the words before */
    uint64_t diff = (dmt_ring_ld64_(p + len - 8) ^ dmt_ring_ld64_(s->ref + len - 8)) &
                    dmt_ring_ld64_(s->mask + len - 8);
    for (size_t i = 0; i + 8 < len; i += 8)
        diff |= (dmt_ring_ld64_(p + i) ^ dmt_ring_ld64_(s->ref + i)) & dmt_ring_ld64_(s->mask + i);
    return diff == 0;
}

/* As dmt_ring_record_check; remembers an accepted record's shape in cc.
 * Inline: a hit (the usual case in a drain) costs one masked compare. */
static inline int dmt_ring_record_check_cached(dmt_ring_check_cache *cc, const uint8_t *p,
                                               size_t len, dmt_ring_record_info *info)
{
    /* The entry of the record's kind, if its kind byte is an immediate one;
     * the comparison covers the kind bytes whatever they are. */
    if (len >= 3 && len <= DMT_RING_SHAPE_MAX && p[1] < DMT_K_MAX_) {
        const dmt_ring_shape *s = &cc->shape[p[1]];
        if (s->len == len && dmt_ring_same_shape_(p, len, s)) {
            /* the time's argument: immediate, or 1, 2, 4 or 8 bytes
             * big-endian (the shape pins its initial byte) */
            const uint8_t *t = p + s->time_off;
            uint64_t v;
            switch (s->time_len) {
            case 2:
                v = t[1];
                break;
            case 3:
                v = (uint64_t)t[1] << 8 | t[2];
                break;
            case 5: /* (compilers make these one load and a byte swap) */
                v = (uint64_t)((uint32_t)t[1] << 24 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 8 |
                               t[4]);
                break;
            case 9:
                v = (uint64_t)t[1] << 56 | (uint64_t)t[2] << 48 | (uint64_t)t[3] << 40 |
                    (uint64_t)t[4] << 32 | (uint64_t)t[5] << 24 | (uint64_t)t[6] << 16 |
                    (uint64_t)t[7] << 8 | t[8];
                break;
            default:
                v = t[0] & 0x1Fu;
                break;
            }
            info->kind = p[1];
            info->time = (t[0] >> 5) == 0 ? (int64_t)v : -1 - (int64_t)v;
            info->time_off = s->time_off;
            info->time_len = s->time_len;
            cc->hits++;
            return 0;
        }
    }
    return dmt_ring_record_check_learn(cc, p, len, info);
}

#endif

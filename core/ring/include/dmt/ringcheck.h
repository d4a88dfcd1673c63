/*
 * dmt/ringcheck.h - fast validation of one ring-form record (the drain's
 * guard against malformed ring contents).  Accepts exactly what
 * dmt_parse_ring_record accepts for the kinds a ring may carry (every
 * event kind; never LOST, CHUNK or END).
 */
#ifndef DMT_RINGCHECK_H
#define DMT_RINGCHECK_H

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

#endif

/*
 * dmt/describe.h - one-line human-readable text for a record, shared by
 * `dmatrace dump`, replay divergence reports and the viewer's details pane.
 */
#ifndef DMT_DESCRIBE_H
#define DMT_DESCRIBE_H

#include <stddef.h>

#include "dmt/record.h"

/* Name of a LOST record's reason (enum dmt_lost_reason): "ring-full",
 * "overwritten", "torn", "corrupt", "probe", "absent"; "?" when unknown. */
const char *dmt_lost_reason_name(uint32_t reason);

/* Name of a digest policy (enum dmt_digest_policy): "full", "bounded",
 * "off"; "?" when unknown.  dmt_digest_policy_parse is its inverse: the
 * policy, or -1 for another name. */
const char *dmt_digest_policy_name(uint32_t policy);
int dmt_digest_policy_parse(const char *name);

/* Write "reg_write dev=0 off=0x104 value=0xdeadbeef" (no time, no index)
 * into buf (always NUL-terminated); long SG lists and byte strings are
 * abbreviated after max_items items (0 = a default of 8).  Returns the
 * length that was written. */
size_t dmt_record_describe(char *buf, size_t cap, const dmt_record *r, unsigned max_items);

#endif

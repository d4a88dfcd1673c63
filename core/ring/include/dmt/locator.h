/*
 * dmt/locator.h - the ring locator: a small self-identifying block the
 * probe's bug-check callback writes into a Windows crash dump's secondary
 * data, saying where the probe's ring region was (virtual and physical
 * addresses, sizes, instance id, ring index and count), so `dmatrace carve`
 * can go straight to the live ring instead of guessing among copies.
 * Normative layout: schema/FORMAT.md section 2.2.
 *
 *   +0   16  magic "DMATRACE-LOCATOR" (Microsoft advises an identifying string)
 *   +16   4  version (1)
 *   +20   4  size: 64 + n * 48, the bytes the check covers
 *   +24   4  n: rings described (1 .. DMT_LOC_MAX_RINGS)
 *   +28   4  phys_source (enum dmt_loc_phys)
 *   +32   8  region_va     +40 8 region_bytes     +48 8 instance
 *   +56   8  check: XXH64 (seed 0) of the size bytes with this field zero
 *   +64  n entries of 48 bytes:
 *        +0 va  +8 phys  +16 data_size  +24 instance  +32 index  +36 count
 *        +40 reserved (0)
 *
 * Written by freestanding C89 code (the driver, at raised IRQL: no
 * allocation, no locks) and read by the carver, which treats every byte as
 * hostile: dmt_locator_parse checks every field and every relation between
 * fields before anything in *out may be used.
 */
#ifndef DMT_LOCATOR_H
#define DMT_LOCATOR_H

#include "dmt/port.h"

#define DMT_LOC_MAGIC      "DMATRACE-LOCATOR" /* 16 bytes, no NUL in the block */
#define DMT_LOC_MAGIC_LEN  16u
#define DMT_LOC_VERSION    1u
#define DMT_LOC_HDR_SIZE   64u
#define DMT_LOC_ENTRY_SIZE 48u
#define DMT_LOC_MAX_RINGS  64u
#define DMT_LOC_MAX_SIZE   (DMT_LOC_HDR_SIZE + DMT_LOC_MAX_RINGS * DMT_LOC_ENTRY_SIZE) /* 3136 */
#define DMT_LOC_CHECK_OFF  56u
/* The magic as four little-endian words: the writer stores them as
 * immediates, so the driver image holds no contiguous copy of the string
 * for a scanner to trip over. */
#define DMT_LOC_MAGIC_W0 0x54414D44u /* "DMAT" */
#define DMT_LOC_MAGIC_W1 0x45434152u /* "RACE" */
#define DMT_LOC_MAGIC_W2 0x434F4C2Du /* "-LOC" */
#define DMT_LOC_MAGIC_W3 0x524F5441u /* "ATOR" */

/* Where the physical addresses came from. */
enum dmt_loc_phys {
    DMT_LOC_PHYS_NONE = 0,   /* unknown: entries' phys are 0 */
    DMT_LOC_PHYS_MM = 1,     /* MmGetPhysicalAddress of each ring header (Windows) */
    DMT_LOC_PHYS_CALLER = 2, /* given by the driver or host (dmtp_set_region_phys) */
    DMT_LOC_PHYS_N_
};

typedef struct dmt_locator_ring {
    uint64_t va;        /* ring header's virtual address in the producer */
    uint64_t phys;      /* ring header's physical address (0 if unknown) */
    uint64_t data_size; /* the header's size field: ring bytes = 256 + data_size */
    uint64_t instance;  /* the header's instance field */
    uint32_t index;     /* ring_index */
    uint32_t count;     /* ring_count */
} dmt_locator_ring;

typedef struct dmt_locator {
    uint32_t n;           /* entries in rings[] */
    uint32_t phys_source; /* enum dmt_loc_phys */
    uint64_t region_va, region_bytes, instance;
    dmt_locator_ring rings[DMT_LOC_MAX_RINGS];
} dmt_locator;

/* Why dmt_locator_parse refused a block. */
enum dmt_loc_reject {
    DMT_LOC_OK = 0,
    DMT_LOC_BAD_MAGIC,   /* not a locator */
    DMT_LOC_TRUNCATED,   /* the block is shorter than its size field */
    DMT_LOC_BAD_VERSION, /* unknown version */
    DMT_LOC_BAD_COUNTS,  /* n, size, an entry's index/count disagree */
    DMT_LOC_BAD_CHECK,   /* the check word does not match */
    DMT_LOC_BAD_ENTRY,   /* an entry's instance, size or addresses are impossible */
    DMT_LOC_REJECT_N_
};

/* Serialize loc into buf (cap bytes).  Returns the bytes written
 * (64 + 48 n), or 0 when loc->n is 0 or above the maximum or cap is too
 * small (nothing is written then).  Freestanding, any IRQL. */
size_t dmt_locator_write(void *buf, size_t cap, const dmt_locator *loc);

/* Check the len bytes at buf as a locator and fill *out.  Returns DMT_LOC_OK
 * or the first reason it is refused; *out is meaningful only on DMT_LOC_OK.
 * Does not read past buf + len. */
int dmt_locator_parse(const void *buf, size_t len, dmt_locator *out);

/* A short English name of a reject reason ("bad check word"). */
const char *dmt_locator_reject_name(int reason);

#endif

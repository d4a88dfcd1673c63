/*
 * audit_internal.h - state shared by the audit engine's files (audit.c: the
 * record handlers and object tables; audit_sg.c: SG-list and programming
 * comparison helpers).  Not installed.
 */
#ifndef DMT_AUDIT_INTERNAL_H
#define DMT_AUDIT_INTERNAL_H

#include "dmt/audit.h"

#define AUD_NONE UINT64_MAX

/* One SG list kept for a transfer in flight: elements in list order, the
 * permutation sorting them by address, and (once the device was programmed
 * from it) how many bytes of each element were programmed, in order. */
typedef struct aud_sg {
    uint32_t n;
    dmt_sg_elem *e;       /* n elements */
    uint16_t *order;      /* n indexes sorted by e[].addr (n <= DMT_MAX_SG_ELEMENTS) */
    uint64_t *maxend;     /* maxend[k]: highest end among order[0..k] (saturated) */
    uint32_t *done;       /* n programmed-byte counts, NULL until programmed */
    uint64_t lo, hi;      /* lowest address, highest end (exclusive, saturated) */
    uint64_t total;       /* sum of lengths */
    uint32_t next_unprog; /* hint: no element before it has done == 0 && len > 0 */
} aud_sg;

/* End of [addr, addr+len), saturated at UINT64_MAX. */
static inline uint64_t aud_end(uint64_t addr, uint64_t len)
{
    return len > UINT64_MAX - addr ? UINT64_MAX : addr + len;
}

/* Copy n elements (stride as in dmt_record) into a new aud_sg; NULL on OOM. */
aud_sg *aud_sg_new(const dmt_record *r);
void aud_sg_free(aud_sg *s);

/* Layout checks of one list (sorted via scratch). */
typedef struct aud_layout {
    uint64_t total;
    uint32_t zero, zero_first;     /* zero-length elements, first index */
    uint32_t cross, cross_first;   /* elements crossing 4 GiB */
    uint32_t beyond, beyond_first; /* elements ending above limit */
    uint32_t overlap_a, overlap_b; /* first overlapping pair (overlap = true) */
    bool overlap;
} aud_layout;

void aud_sg_layout(const aud_sg *s, uint64_t limit, aud_layout *out);
/* Do two lists touch the same byte?  Each element of the shorter list is
 * looked up in the longer one (binary search over its sorted starts and the
 * running maximum of ends): O(min(n, m) log max(n, m)).  *budget is
 * decremented per lookup; false when it runs out (then *exhausted is set).
 * On overlap the two elements. */
bool aud_sg_overlap(const aud_sg *a, const aud_sg *b, uint64_t *budget, bool *exhausted,
                    uint32_t *ea, uint32_t *eb);

/* Result of comparing one doorbell's descriptors with the list. */
typedef struct aud_prog_result {
    uint64_t bytes;      /* sum of descriptor lengths */
    uint32_t mismatches; /* descriptors whose address/length differ */
    uint32_t duplicates; /* descriptors re-programming bytes already programmed */
    char first_mismatch[160];
    char first_duplicate[160];
} aud_prog_result;

/* Compare n descriptors with s (updating s->done); false on OOM. */
bool aud_prog_compare(aud_sg *s, const dmt_sg_elem *desc, const bool *valid, uint32_t n,
                      aud_prog_result *res);

/* After the transfer: bytes of the longest programmed prefix (in list
 * order); *hole = first element not (fully) programmed although a later one
 * was (UINT32_MAX when none). */
uint64_t aud_prog_prefix(const aud_sg *s, uint32_t *hole);

#endif

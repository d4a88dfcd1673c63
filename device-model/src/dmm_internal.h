/*
 * dmm_internal.h - private interface between phys.c and dev.c.
 *
 * The device holds the phys lock for the whole of a run so a run sees one
 * consistent memory map.  Lock order: device lock, then phys lock.
 */
#ifndef DMM_INTERNAL_H
#define DMM_INTERNAL_H

#include "dmm/dmm.h"

void dmm__phys_lock(dmm_phys *pm);
void dmm__phys_unlock(dmm_phys *pm);
/* With the phys lock held.  Range [addr, last] inclusive, addr <= last.
 * Returns true if every byte is mapped; otherwise false and *bad = the first
 * unmapped address. */
bool dmm__phys_check_locked(dmm_phys *pm, uint64_t addr, uint64_t last, uint64_t *bad);
/* With the phys lock held, after dmm__phys_check_locked said yes.  Copies
 * len bytes (len >= 1, addr + len - 1 does not wrap) between phys and buf. */
void dmm__phys_copy_locked(dmm_phys *pm, uint64_t addr, uint64_t len, void *buf, bool to_phys);

/* The part of the region holding addr that a run of len bytes from addr
 * covers (phys.c "lazy region"), with the phys lock held.  false when addr
 * is unmapped.  reg stays valid while the lock is held and nothing is
 * mapped or unmapped. */
typedef struct dmm__piece {
    uint8_t *host;       /* the region's memory for addr (stale when lazy) */
    uint64_t n;          /* 1 .. len bytes, inside the region */
    bool whole;          /* the piece is the whole region */
    bool lazy;           /* the bytes are pattern(seed) from offset base */
    uint64_t seed, base; /* lazy: the byte at addr is pattern byte base */
    void *reg;
} dmm__piece;
bool dmm__phys_piece_locked(dmm_phys *pm, uint64_t addr, uint64_t len, dmm__piece *out);
/* Fill the piece's region from its pattern (no-op when not lazy). */
void dmm__phys_piece_materialise(dmm__piece *p);
/* The piece's region (p->whole) holds pattern(seed) from base from now on. */
void dmm__phys_piece_set_pattern(dmm__piece *p, uint64_t seed, uint64_t base);

#endif

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

#endif

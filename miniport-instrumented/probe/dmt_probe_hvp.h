/*
 * dmt_probe_hvp.h - host-only glue between the probe and the host VideoPort
 * (hvp): the adapter query hook that gives ADAPTER_CREATE the map-register
 * count and address limit hvp really granted, the physical-address hook
 * behind EXECUTE_DMA's bounce flags, and a loader that installs both.
 * Not part of the freestanding probe (never compiled into a .sys).
 */
#ifndef DMT_PROBE_HVP_H
#define DMT_PROBE_HVP_H

#include <stdbool.h>
#include <stdint.h>

#include "hvp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A dmtp_adapter_query_fn; user is the hvp_machine *. */
bool dmtp_hvp_adapter_query(void *user, void *hw_device_extension, void *adapter,
                            uint32_t *map_registers, uint64_t *addr_limit);
/* A dmtp_phys_query_fn over hvp_mdl_phys; user is the hvp_machine *. */
bool dmtp_hvp_phys_query(void *user, const void *mdl, uint64_t offset, uint64_t *phys);
/* dmtp_set_adapter_query(dmtp_hvp_adapter_query, m) and
 * dmtp_set_phys_query(dmtp_hvp_phys_query, m), then
 * hvp_load_driver(m, entry).  Attach the ring (dmtp_attach) before, so the
 * trace starts with the driver's initialisation. */
int dmtp_hvp_load(hvp_machine *m, hvp_driver_entry_fn entry);

#ifdef __cplusplus
}
#endif

#endif

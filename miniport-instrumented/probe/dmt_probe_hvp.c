/*
 * dmt_probe_hvp.c - host-only glue between the probe and hvp (see
 * dmt_probe_hvp.h).
 */
#define DMTP_NO_WRAP 1 /* control API only: no VideoPort calls here */

#include "dmt_probe_hvp.h"

#include "dmt_probe.h"

bool dmtp_hvp_adapter_query(void *user, void *hw_device_extension, void *adapter,
                            uint32_t *map_registers, uint64_t *addr_limit)
{
    hvp_adapter_info ai;
    (void)hw_device_extension;
    if (!user || !hvp_adapter_info_of((hvp_machine *)user, adapter, &ai))
        return false;
    *map_registers = ai.map_registers;
    *addr_limit = ai.max_address;
    return true;
}

bool dmtp_hvp_phys_query(void *user, const void *mdl, uint64_t offset, uint64_t *phys)
{
    return user && hvp_mdl_phys((hvp_machine *)user, mdl, offset, phys);
}

int dmtp_hvp_load(hvp_machine *m, hvp_driver_entry_fn entry)
{
    if (!m || !entry)
        return HVP_EINVAL;
    dmtp_set_adapter_query(dmtp_hvp_adapter_query, m);
    dmtp_set_phys_query(dmtp_hvp_phys_query, m);
    return hvp_load_driver(m, entry);
}

/*
 * names.c - register and error-code names of the device model, for the
 * viewer's waveform lanes, the replayer's divergence reports and dumps.
 * Thin wrappers over the one register map in dmm/map.h; no state.
 */
#include "dmm/dmm.h"

const char *dmm_reg_name(uint32_t off)
{
    dmm_map_hit h;
    return dmm_map_lookup(off, &h) ? h.name : NULL;
}

const char *dmm_reg_doc(uint32_t off)
{
    dmm_map_hit h;
    return dmm_map_lookup(off, &h) ? h.reg->doc : NULL;
}

const char *dmm_err_name(uint32_t code)
{
    return dmm_map_err_name(code);
}

/*
 * dmtv-regnames.c - register names for waveform lanes (see
 * dmtv-regnames.h): the device model's own names, widened to the 64-bit
 * offsets the viewer carries.
 */
#include "dmtv-regnames.h"

#include "dmm/dmm.h"

const char *dmtv_reg_name(uint64_t off)
{
    return off <= UINT32_MAX ? dmm_reg_name((uint32_t)off) : NULL;
}

const char *dmtv_reg_doc(uint64_t off)
{
    return off <= UINT32_MAX ? dmm_reg_doc((uint32_t)off) : NULL;
}

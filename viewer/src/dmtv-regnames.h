/*
 * dmtv-regnames.h - register names for waveform lanes, from the device
 * model's register map (device-model/include/dmm/dmm.h).  The device model
 * has no name lookup function yet, so this table is built from its
 * DMM_REG_* / DMM_CH_* offsets; when dmm grows dmm_reg_name() this file
 * becomes a one-line wrapper.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The register's name ("CH0_DESC_LO", "IRQ_STATUS") or NULL when the offset
 * is not in the map. */
const char *dmtv_reg_name(uint64_t off);

/* A one-line description of the register ("channel 0 descriptor ring
 * address, bits 31:0"), or NULL. */
const char *dmtv_reg_doc(uint64_t off);

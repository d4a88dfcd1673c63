/*
 * dmtv-regnames.h - register names for waveform lanes, from the device
 * model's register map (dmm_reg_name / dmm_reg_doc over dmm/map.h; the
 * viewer keeps no table of its own).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The register's name ("CH0_DESC_LO", "IRQ_STATUS") or NULL when the offset
 * is not in the map. */
const char *dmtv_reg_name(uint64_t off);

/* A one-line description of the register ("descriptor ring address, bits
 * 31:0"), or NULL. */
const char *dmtv_reg_doc(uint64_t off);

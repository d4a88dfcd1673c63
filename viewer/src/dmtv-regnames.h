/*
 * dmtv-regnames.h - register names and decodes for waveform lanes, the
 * details pane and search, from one rules-ng-ng register map (rmap/regmap.h):
 * the one given with --regmap, else the sample device's dmm.xml installed
 * with the viewer (rmap_find_shared), else none (lanes show offsets).
 * Process-wide; main thread only.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "dmtv-types.h"

/* Use the map in file (variant, domain: NULL for all / the first).  FALSE
 * and error ("FILE:LINE: why", G_IO_ERROR_INVALID_DATA) on a bad map; the
 * previous map stays. */
gboolean dmtv_regnames_load(const char *file, const char *variant, const char *domain,
                            GError **error);
/* Show raw offsets only (--regmap none). */
void dmtv_regnames_none(void);

/* The register's name ("CH[0].DESC_LO", "IRQ_STATUS") or NULL when the
 * offset is not in the map.  Owned here, valid until the next call. */
const char *dmtv_reg_name(uint64_t off);

/* A one-line description of the register ("descriptor ring address, bits
 * 31:0"), or NULL.  Owned by the map. */
const char *dmtv_reg_doc(uint64_t off);

/* A value decoded: "CH[0].STATUS=0x6 {DONE, ERR}", or NULL.  Owned here,
 * valid until the next call. */
const char *dmtv_reg_decode(uint64_t off, uint64_t value);

/* The bitfields of the register at off, in the map's order (bitset parts
 * included), at most max; returns how many. */
unsigned dmtv_reg_fields(uint64_t off, DmtvFieldLane *out, unsigned max);

/* Field k (as dmtv_reg_fields numbers them) of value as its type shows it
 * ("ADDR_LIMIT", "3", "0x1f") into buf; FALSE when unknown. */
gboolean dmtv_reg_field_text(uint64_t off, uint64_t value, unsigned k, char *buf, size_t cap);

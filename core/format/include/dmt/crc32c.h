/*
 * dmt/crc32c.h - CRC-32C (Castagnoli), the chunk checksum of trace files.
 * Uses the SSE4.2 instruction when the CPU has it, a table otherwise; both
 * give the same value (check: crc32c("123456789") == 0xE3069283).
 */
#ifndef DMT_CRC32C_H
#define DMT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0. */
uint32_t dmt_crc32c(uint32_t crc, const void *data, size_t len);
/* The portable table implementation (for tests). */
uint32_t dmt_crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif

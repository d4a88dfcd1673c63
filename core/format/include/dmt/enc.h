/*
 * dmt/enc.h - the freestanding CBOR encoder (RFC 8949) used on the probe
 * side and by the trace writer.
 *
 * No allocation, no libc beyond memcpy, C89 (dmt/port.h): it compiles into
 * a Windows kernel driver.  Every function writes into buf[0..cap) and returns the number of
 * bytes written, or 0 when cap is too small (nothing useful is written
 * then).  Integers always take the shortest form, so the bytes are identical
 * to libcbor's cbor_encode_uint / cbor_encode_negint / *_start encoders
 * (checked by core/tests/test_enc.c).
 */
#ifndef DMT_ENC_H
#define DMT_ENC_H

#include "dmt/port.h"
#include "dmt/record.h"

size_t dmt_enc_uint(uint8_t *buf, size_t cap, uint64_t v);
size_t dmt_enc_nint(uint8_t *buf, size_t cap, uint64_t n); /* encodes -1-n */
size_t dmt_enc_int(uint8_t *buf, size_t cap, int64_t v);
size_t dmt_enc_bool(uint8_t *buf, size_t cap, bool v);
size_t dmt_enc_null(uint8_t *buf, size_t cap);
size_t dmt_enc_array_start(uint8_t *buf, size_t cap, uint64_t n);
size_t dmt_enc_map_start(uint8_t *buf, size_t cap, uint64_t n);
size_t dmt_enc_bytes(uint8_t *buf, size_t cap, const void *p, size_t n); /* header + bytes */
size_t dmt_enc_text(uint8_t *buf, size_t cap, const char *s, size_t n);  /* header + text */
size_t dmt_enc_bytes_start(uint8_t *buf, size_t cap, uint64_t n);        /* header only */
size_t dmt_enc_text_start(uint8_t *buf, size_t cap, uint64_t n);         /* header only */
size_t dmt_enc_tag(uint8_t *buf, size_t cap, uint64_t tag);

/* Encode one record as its CBOR array (schema/trace.cddl).  The time field
 * is written as the CBOR integer t: the ring form carries the absolute time,
 * the file form the signed delta from the previous record.  r->ts, r->seq
 * and r->pos are not read.  Returns bytes written or 0 if cap is too small
 * or the record breaks a format limit (DMT_MAX_*). */
size_t dmt_enc_record(uint8_t *buf, size_t cap, const dmt_record *r, int64_t t);

/* A register access record (kind DMT_K_REG_WRITE or DMT_K_REG_READ) from
 * its fields, without a dmt_record: exactly dmt_enc_record's bytes for a
 * record with these kind, off, value, width and dev (the probe's hot path,
 * which then neither fills a dmt_record nor asks for a bound).  At most
 * DMT_ENC_REG_MAX bytes; returns the bytes written or 0 if cap is too
 * small. */
#define DMT_ENC_REG_MAX 47u /* array head, kind, five 9-byte heads */
size_t dmt_enc_reg(uint8_t *buf, size_t cap, uint32_t kind, int64_t t, uint64_t off, uint64_t value,
                   uint32_t width, uint32_t dev);

/* A CPU record (DMT_K_CPU: cpu, and ring_seq when with_seq) without a
 * dmt_record: exactly dmt_enc_record's bytes for a record with kind
 * DMT_K_CPU, these cpu and t, count with_seq and value ring_seq (the merge
 * writes one at each lane change).  At most DMT_ENC_CPU_MAX bytes; returns
 * the bytes written or 0 if cap is too small. */
#define DMT_ENC_CPU_MAX 29u /* array head, kind, three 9-byte heads */
size_t dmt_enc_cpu(uint8_t *buf, size_t cap, int64_t t, uint32_t cpu, bool with_seq,
                   uint64_t ring_seq);

/* An upper bound of dmt_enc_record's output for r (for ring reservations). */
size_t dmt_enc_record_bound(const dmt_record *r);

#endif

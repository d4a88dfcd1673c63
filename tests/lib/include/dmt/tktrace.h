/*
 * tktrace.h - the test kit's trace builder (static library dmt_tktrace,
 * beside dmt_testkit; link both): the one place tests make records and
 * trace files by hand.
 *
 *   - tk_header: the header every hand-made test trace carries;
 *   - tk_sample_record: one record of any kind, plain or with the largest
 *     values the format allows, and tk_records_equal to compare two;
 *   - a builder of small sessions of the sample device (device map, ID and
 *     CAPS reads, adapters, common buffers, locked buffers, whole transfers
 *     with their descriptors, doorbell and interrupt), record by record into
 *     tk_rec[0 .. tk_nrec), and tk_write_trace to write them to a file.
 *
 * Register offsets, ID, CAPS, descriptor layout and interrupt bits come
 * from the device model's map (dmm/map.h).  The builder's records and the
 * SG lists and bytes they point to live in static storage of the kit until
 * the next tk_reset (one builder per program; not thread-safe).  Running
 * out of room ends the program with status 2 (a test bug, not a failure).
 */
#ifndef DMT_TKTRACE_H
#define DMT_TKTRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "dmt/record.h"

/* A header for a hand-made trace: format version, page size, producer
 * (truncated to fit), clock "deterministic"; every other key empty. */
void tk_header(dmt_header *h, const char *producer);

/* ---- one record of each kind -------------------------------------------------- */

/* Fill r with a record of kind k at time ts; big selects the extreme values
 * (the largest lists, UINT64_MAX...).  Lists and bytes point into static
 * storage shared by every call. */
void tk_sample_record(dmt_record *r, uint32_t k, int big, int64_t ts);
/* Do a and b carry the same payload (kind, time, every field, lists and
 * bytes; not seq or file position)? */
bool tk_records_equal(const dmt_record *a, const dmt_record *b);

/* ---- the session builder ------------------------------------------------------ */

#define TK_MAX_RECORDS 512
extern dmt_record tk_rec[TK_MAX_RECORDS];
extern uint32_t tk_nrec;

/* Empty the builder (records, SG and byte pools, sequence numbers). */
void tk_reset(void);
/* The sequence number the next record takes (after tk_reset: 0). */
void tk_next_seq(uint64_t seq);
/* A zeroed record of kind at the end, with the next time (1 ms + 1 us per
 * record) and sequence number, width 4, cpu DMT_CPU_NONE. */
dmt_record *tk_add(uint32_t kind);
/* A LOST record covering the next count sequence numbers. */
void tk_lost(uint64_t count);
void tk_rd(uint32_t dev, uint64_t off, uint64_t v);
void tk_wr(uint32_t dev, uint64_t off, uint64_t v);
/* A sample device: its DEVICE_MAP, then the driver reading ID (revision 1)
 * and CAPS (bits address bits, two channels, 32-byte descriptors). */
void tk_dev(uint32_t dev, uint32_t bits);
void tk_adapter(uint32_t id, uint32_t dev, bool sg, uint64_t maxlen, uint32_t nmr, uint64_t limit);
void tk_put(uint32_t id); /* ADAPTER_RELEASE */
/* Common buffer id of adapter at bus address addr (VA derived from it). */
void tk_cb(uint32_t id, uint32_t adapter, uint64_t addr, uint64_t len);
void tk_cb_release(uint32_t id, uint32_t adapter);
void tk_lock(uint32_t mdl, uint64_t va, uint64_t len, uint32_t op);
void tk_unlock(uint32_t mdl);
void tk_start(uint32_t xfer, uint32_t adapter, uint32_t mdl, uint64_t off, uint64_t len, bool wtd);
/* EXECUTE_DMA with a copy of the n elements of sg. */
void tk_exec(uint32_t xfer, uint32_t adapter, uint64_t granted, uint32_t n, const dmt_sg_elem *sg);
void tk_start_end(uint32_t xfer, uint32_t adapter, uint32_t status, uint64_t len);
/* DESC_WRITE of n revision-1 descriptors, one per element of d, at offset
 * off of common buffer cb; descriptor number bad (or -1: none) carries a
 * wrong magic. */
void tk_desc(uint32_t cb, uint64_t off, uint32_t n, const dmt_sg_elem *d, int bad);
/* Program channel ch: ring address, descriptor count, doorbell last. */
void tk_ring(uint32_t dev, uint32_t ch, uint64_t ring, uint32_t count);
/* The ISR: IRQ_STATUS read showing channel ch done, its ack, the INTERRUPT
 * record, then the DPC for xfer. */
void tk_irq(uint32_t dev, uint32_t ch, uint32_t xfer);
void tk_complete(uint32_t xfer, uint32_t adapter, bool wtd);
/* One whole chunk done right: StartDma .. CompleteDma, descriptors equal to
 * the SG list, written at the start of common buffer cb (bus cb_addr). */
void tk_chunk(uint32_t xfer, uint32_t adapter, uint32_t mdl, uint32_t cb, uint64_t cb_addr,
              uint32_t dev, uint32_t ch, uint64_t off, uint32_t n, const dmt_sg_elem *sg, bool wtd);

/* The usual setup: device 1 (bits address bits), adapters 1 (channel 0)
 * and 2 (channel 1) alike, their rings in common buffers 1 (TK_RING0) and 2
 * (TK_RING1) of 4 KiB; tk_teardown releases them. */
#define TK_RING0 0x10000ull
#define TK_RING1 0x20000ull
void tk_setup(uint32_t bits, bool sg, uint64_t maxlen, uint32_t nmr, uint64_t limit);
void tk_teardown(void);
/* tk_reset, the usual setup (64-bit device, scatter/gather adapters,
 * MaximumLength 1 MiB, 257 map registers, no address limit), and MDL 1
 * locked: length bytes at VA 0x7f0000000000 for op. */
void tk_begin(uint64_t length, uint32_t op);
/* MDL 1 unlocked, then tk_teardown. */
void tk_end_trace(void);

/* Write tk_rec[0 .. tk_nrec) to path (tk_header(producer), writer flag
 * DMT_WRITE_KEEP_CPU: a record's cpu other than DMT_CPU_NONE is kept).  0,
 * or -1 when the writer refused (nothing left at path then). */
int tk_write_trace(const char *path, const char *producer);

#endif

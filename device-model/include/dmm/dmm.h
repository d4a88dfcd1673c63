/*
 * dmm/dmm.h - the device model: simulated physical memory and a two-channel
 * bus-master DMA engine with a descriptor ring and a doorbell.
 *
 * Used by the host VideoPort (capture) and by the replayer.  Deterministic:
 * the same sequence of calls gives the same memory, registers and cycle
 * counts.  Whatever it is fed, it only ever touches memory registered in its
 * dmm_phys map and its own device memory.  The register map is documented in
 * device-model/README.md.
 *
 * Thread safety: dmm_phys and dmm_dev each carry their own lock; every
 * function may be called from any thread.  Lock order is device -> phys; the
 * interrupt callback runs with no lock held.
 */
#ifndef DMM_DMM_H
#define DMM_DMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmm/map.h"

/* ---- errors ------------------------------------------------------------ */
#define DMM_OK     0
#define DMM_EFAULT (-1) /* some byte of the range is not mapped */
#define DMM_EINVAL (-2) /* bad argument (overlap, zero length, wrap) */
#define DMM_ENOMEM (-3) /* out of memory, or a dmm_phys limit reached */

/* ---- simulated physical memory ---------------------------------------- */
/*
 * A sparse 64-bit physical address space made of non-overlapping regions.
 * A region is either borrowed (backed by caller memory that must outlive the
 * mapping: a locked buffer's pages) or owned (zero-filled memory the model
 * allocates: common buffers, bounce pages, replayed buffers).  Regions have
 * byte granularity, so a locked buffer that starts mid-page exposes only its
 * own bytes.  A region may end exactly at 2^64 (its last byte 2^64-1) but
 * never wraps past it.
 */
typedef struct dmm_phys dmm_phys;

/* Default hard limits (hostile traces must not exhaust memory). */
#define DMM_PHYS_MAX_REGIONS (1u << 20)
#define DMM_PHYS_MAX_OWNED   (4ull << 30) /* bytes of owned regions, total */

dmm_phys *dmm_phys_new(void);     /* caller owns; NULL on OOM */
void dmm_phys_free(dmm_phys *pm); /* frees owned regions; NULL ok */
/* Map [addr, addr+len) onto caller memory (borrowed).  DMM_EINVAL on len 0,
 * host NULL, wrap past 2^64 or overlap with an existing region; DMM_ENOMEM at
 * the region limit. */
int dmm_phys_map(dmm_phys *pm, uint64_t addr, uint64_t len, void *host); /* borrowed */
/* Same, backed by zeroed model memory; DMM_ENOMEM past the owned-bytes limit. */
int dmm_phys_alloc(dmm_phys *pm, uint64_t addr, uint64_t len); /* owned, zeroed */
/* Remove the region starting exactly at addr (DMM_EINVAL if none starts there);
 * owned memory is freed, borrowed memory is the caller's again. */
int dmm_phys_unmap(dmm_phys *pm, uint64_t addr); /* the region starting at addr */
/* Copy between physical memory and a caller buffer; DMM_EFAULT (and nothing
 * copied) unless every byte of [addr, addr+len) is mapped.  len 0 is OK. */
int dmm_phys_read(dmm_phys *pm, uint64_t addr, void *dst, uint64_t len);
int dmm_phys_write(dmm_phys *pm, uint64_t addr, const void *src, uint64_t len);
bool dmm_phys_is_mapped(dmm_phys *pm, uint64_t addr, uint64_t len); /* len 0: true */
/* Lazy contents (the replayer's buffers).  From now on the region starting
 * exactly at addr holds bytes [base, base + its length) of the XS64 pattern
 * of seed (dmt_pattern_fill); its memory is not written (stale) until
 * something writes part of the region through the model or
 * dmm_phys_materialise asks.  Reads through the model (dmm_phys_read, runs)
 * generate the bytes; a card-to-host run copying device memory that holds a
 * pattern over a whole region makes that region lazy too.  An owner of
 * borrowed memory that reads or writes it directly after calling this calls
 * dmm_phys_materialise first.  DMM_EINVAL if no region starts at addr. */
int dmm_phys_set_pattern(dmm_phys *pm, uint64_t addr, uint64_t seed, uint64_t base);
/* Write a lazy region's bytes into its memory (nothing when it is not
 * lazy): the region starting exactly at addr, DMM_EINVAL if none. */
int dmm_phys_materialise(dmm_phys *pm, uint64_t addr);
/* Does the region starting exactly at addr hold a pattern lazily?  Then
 * *seed and *base (the pattern offset of its first byte). */
bool dmm_phys_pattern_of(dmm_phys *pm, uint64_t addr, uint64_t *seed, uint64_t *base);
/* Lower (or raise) the hard limits; DMM_EINVAL if below what is in use. */
int dmm_phys_set_limits(dmm_phys *pm, uint64_t max_regions, uint64_t max_owned_bytes);
uint64_t dmm_phys_region_count(dmm_phys *pm);
uint64_t dmm_phys_owned_bytes(dmm_phys *pm);

/* ---- the DMA engine --------------------------------------------------- */
/* The register map, error codes and descriptor formats are in dmm/map.h
 * (included above): DMM_REG_*, DMM_CH_*, enum dmm_err, DMM_DESC*_*. */

/* dmm_config.flags */
#define DMM_CFG_DEFERRED 0x1u /* runs complete when dmm_advance() reaches their end */

#define DMM_DEVMEM_MAX (1ull << 30)

/* Timing model, in model cycles (README.md "Timing"). */
#define DMM_CYC_RUN       64u /* per accepted doorbell */
#define DMM_CYC_DESC      16u /* per descriptor processed (fetch + decode) */
#define DMM_BYTES_PER_CYC 8u  /* data: ceil(bytes / 8) per descriptor */

typedef struct dmm_config {
    uint32_t revision;    /* descriptor format revision (1 or 2; README.md) */
    uint32_t errata;      /* bit set of DMM_ERRATUM_* */
    uint32_t addr_bits;   /* host address bits the engine drives: 32..64 */
    uint64_t devmem_size; /* device-local memory bytes (1 .. DMM_DEVMEM_MAX) */
    uint32_t flags;       /* DMM_CFG_*; 0 = runs complete inside the doorbell write */
} dmm_config;

void dmm_config_default(dmm_config *cfg); /* rev 1, no errata, 64 bits, 16 MiB, flags 0 */

typedef struct dmm_dev dmm_dev;
/* Interrupt line callback: called (without the device lock held) whenever the
 * line (IRQ_STATUS & IRQ_ENABLE != 0) goes from low to high.  It runs on the
 * thread whose call raised the line (a register write or dmm_advance) and may
 * call back into the device. */
typedef void (*dmm_irq_fn)(void *ctx);

/* NULL on OOM or an invalid config (revision, addr_bits, devmem_size, unknown
 * errata or flag bits).  pm is borrowed and must outlive the device. */
dmm_dev *dmm_dev_new(const dmm_config *cfg, dmm_phys *pm); /* pm borrowed */
void dmm_dev_free(dmm_dev *d);                             /* NULL ok */
void dmm_dev_get_config(dmm_dev *d, dmm_config *cfg);
void dmm_dev_set_irq(dmm_dev *d, dmm_irq_fn fn, void *ctx);
/* 32-bit MMIO at a BAR offset.  Unaligned or out-of-BAR offsets read as
 * 0xFFFFFFFF and ignore writes (counted in dmm_stats). */
uint32_t dmm_reg_read(dmm_dev *d, uint32_t off);
void dmm_reg_write(dmm_dev *d, uint32_t off, uint32_t val);
bool dmm_irq_line(dmm_dev *d);
uint64_t dmm_cycles(dmm_dev *d); /* model time, deterministic */
/* Device memory access by the host side (no DMA, no cycles).  DMM_EFAULT if
 * [off, off+len) is not inside device memory; len 0 is OK. */
int dmm_devmem_read(dmm_dev *d, uint64_t off, void *dst, uint64_t len);
int dmm_devmem_write(dmm_dev *d, uint64_t off, const void *src, uint64_t len);

/* Model time.  dmm_advance adds idle cycles (saturating); with
 * DMM_CFG_DEFERRED it completes every run whose end cycle is reached (channel
 * 0 first) and may raise the interrupt line.  dmm_next_completion is the end
 * cycle of the earliest pending run, UINT64_MAX if none. */
void dmm_advance(dmm_dev *d, uint64_t cycles);
uint64_t dmm_next_completion(dmm_dev *d);

/* ---- results of the last run, per channel ------------------------------ */
/* "Last run" = the most recent completed (published) run of the channel, the
 * same values the channel registers show.  RESET clears it. */
typedef struct dmm_run_info {
    uint64_t seq;         /* runs accepted on this channel so far (1 = first) */
    uint64_t desc_addr;   /* DESC_HI:DESC_LO at the doorbell */
    uint32_t desc_count;  /* DESC_COUNT at the doorbell */
    uint32_t completed;   /* descriptors completed */
    uint64_t bytes;       /* bytes moved */
    uint64_t digest;      /* DMT64 of the bytes moved, in descriptor order */
    uint32_t err;         /* enum dmm_err, DMM_ERR_NONE on success */
    uint32_t err_index;   /* faulting descriptor index */
    uint64_t err_addr;    /* ERR_ADDR (README.md, per error code) */
    uint64_t start_cycle; /* model time at the doorbell */
    uint64_t end_cycle;   /* model time at completion */
} dmm_run_info;

int dmm_ch_last_run(dmm_dev *d, unsigned ch, dmm_run_info *out); /* DMM_EINVAL: bad ch */
/* The same without computing the digest: when *digest_later, out->digest is
 * not the run's (the model has not digested the run's bytes yet, README.md
 * "Digest") and dmm_ch_run_digest gives it, as long as the run is the
 * channel's newest completed one.  A caller that may need the digest after
 * the channel's next doorbell or RESET asks for it before. */
int dmm_ch_last_run_lazy(dmm_dev *d, unsigned ch, dmm_run_info *out, bool *digest_later);
/* The digest of run `seq` (dmm_run_info.seq) of channel ch, computed now if
 * it was not; DMM_EINVAL when that run is no longer the channel's newest
 * completed run (or ch is bad). */
int dmm_ch_run_digest(dmm_dev *d, unsigned ch, uint64_t seq, uint64_t *digest);
uint64_t dmm_ch_last_digest(dmm_dev *d, unsigned ch); /* dmt64 of "" before any run */
uint64_t dmm_ch_last_bytes(dmm_dev *d, unsigned ch);
/* The descriptor bytes the most recent accepted doorbell fetched (the engine's
 * snapshot, README.md "Descriptor prefetch").  Copies min(cap, n) bytes to dst
 * and returns n. */
size_t dmm_ch_fetched(dmm_dev *d, unsigned ch, void *dst, size_t cap);

/* ---- statistics --------------------------------------------------------- */
typedef struct dmm_stats {
    uint64_t reg_reads, reg_writes;  /* all MMIO accesses, good or bad */
    uint64_t bad_accesses;           /* unaligned, out-of-BAR or undecoded offsets */
    uint64_t ro_writes;              /* writes to read-only registers (ignored) */
    uint64_t irq_edges;              /* rising edges of the interrupt line */
    uint64_t runs[DMM_NUM_CHANNELS]; /* doorbells accepted */
    uint64_t run_errors[DMM_NUM_CHANNELS];
    uint64_t busy_rejects[DMM_NUM_CHANNELS];
    uint64_t descs[DMM_NUM_CHANNELS]; /* descriptors completed */
    uint64_t bytes[DMM_NUM_CHANNELS]; /* bytes moved */
} dmm_stats;

void dmm_get_stats(dmm_dev *d, dmm_stats *out);

/* ---- descriptor helpers (tests, replayer, host side) ------------------- */
/* Bytes of one descriptor of a revision (0 if unknown revision). */
size_t dmm_desc_size(uint32_t revision);
/* Encode into out (dmm_desc_size(revision) bytes); returns that size, or 0 if
 * the revision is unknown or the fields do not fit the format (rev 2: len >
 * DMM_DESC2_MAX_LEN, dev_off not a multiple of 4 or >= 2^34). */
size_t dmm_desc_encode(uint32_t revision, void *out, uint64_t host_addr, uint32_t len,
                       uint64_t dev_off);
/* Decode; DMM_EINVAL for an unknown revision. */
int dmm_desc_decode(uint32_t revision, const void *in, dmm_desc *out);

/* ---- names (viewer, replayer, dumps) ------------------------------------ */
/* "IRQ_STATUS", "CH0_DESC_LO", ... or NULL for an offset that decodes to no
 * register (unaligned, out of the BAR, undecoded).  Static strings. */
const char *dmm_reg_name(uint32_t off);
/* One-line description ("descriptor ring address, bits 31:0") or NULL. */
const char *dmm_reg_doc(uint32_t off);
/* "NONE", "UNMAPPED", ... "BUSY" for enum dmm_err values, NULL otherwise. */
const char *dmm_err_name(uint32_t code);

#endif

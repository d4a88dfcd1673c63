/*
 * dmt/record.h - the trace record model shared by every component.
 *
 * One struct, dmt_record, describes any record of a trace in decoded form.
 * The on-wire CBOR form is specified in schema/trace.cddl and
 * schema/FORMAT.md; this header is its C mirror.  The header is freestanding
 * C89 (dmt/port.h for the types, memcpy only) because the probe includes it
 * in a Windows kernel driver.
 *
 * Ownership: variable-length parts (sg, values, bytes, text) point into
 * storage owned by whoever produced the record (the reader's window, the
 * probe's stack).  They stay valid only until that producer's next call.
 */
#ifndef DMT_RECORD_H
#define DMT_RECORD_H

#include <string.h>

#include "dmt/port.h"
#include "dmt/kinds.h"

#define DMT_FORMAT_VERSION     2u /* 2: CPU records (per-CPU rings, schema/FORMAT.md 1.4) */
#define DMT_FORMAT_VERSION_MIN 1u /* oldest version the reader reads */
#define DMT_CPU_NONE           0xffffffffu /* dmt_record.cpu when unknown or none */
#define DMT_MAX_RINGS          64u         /* rings of a per-CPU region a header describes */
#define DMT_PAGE_SHIFT         12u
#define DMT_PAGE_SIZE          4096u

/* Hard limits every reader enforces (and every writer respects). */
#define DMT_MAX_SG_ELEMENTS 4096u  /* elements in one ExecuteDma list */
#define DMT_MAX_VALUES      1024u  /* ULONGs in one register buffer access */
#define DMT_MAX_BYTES       32768u /* bytes in one descriptor / payload record */
#define DMT_MAX_TEXT        4096u  /* bytes in a marker or header string */
#define DMT_MAX_RECORD      65535u /* encoded bytes of one record (ring slot limit) */

/* Record kinds: the first element of every record array, DMT_K_REG_WRITE
 * (1) .. DMT_K_CPU (26), from the table in dmt/kinds.h.  Values are part of
 * the format; never renumber, only append. */
#define DMT_KIND_ENUM_(id, num, name, cls, fields) DMT_K_##id = num,
enum dmt_kind { DMT_KINDS(DMT_KIND_ENUM_, DMT_KINDS_NO_FIELD_, DMT_KINDS_NO_FIELD_) DMT_K_MAX_ };
#undef DMT_KIND_ENUM_

/* VideoPortLockBuffer Operation (VP_LOCK_OPERATION). */
enum dmt_lock_op { DMT_LOCK_READ = 0, DMT_LOCK_WRITE = 1, DMT_LOCK_MODIFY = 2 };

/* Why records were lost (DMT_K_LOST reason). */
enum dmt_lost_reason {
    DMT_LOST_RING_FULL = 0,   /* drop-newest policy: producer found no room */
    DMT_LOST_OVERWRITTEN = 1, /* overwrite-oldest policy: consumer was overtaken */
    DMT_LOST_TORN = 2,        /* a producer reserved space and never committed */
    DMT_LOST_CORRUPT = 3,     /* a committed record failed validation */
    DMT_LOST_PROBE = 4,       /* the probe could not encode (record too large) */
    DMT_LOST_ABSENT = 5       /* in neither the recording nor the memory image it was
                                 carved from (carve --merge: cut off by the crash) */
};
#define DMT_LOST_N_ 6 /* reasons this build knows */

/* Digest algorithms (DMT_K_DIGEST algo); see dmt/digest.h. */
enum dmt_digest_algo {
    DMT_DIGEST_DMT64 = 1, /* dmatrace's DMT64 */
    DMT_DIGEST_XXH64 = 2  /* xxHash XXH64, seed 0 */
};

/* DIGEST policy (the record's optional `policy` field; absent = FULL).
 * FULL: every byte of the transfer.  BOUNDED: a fixed budget of bytes per
 * transfer (dmt_digest_bounded_ranges in dmt/digest.h); the record lists the
 * ranges when they are not the whole transfer.  OFF: nothing digested, the
 * record's value is 0 and says only that. */
enum dmt_digest_policy {
    DMT_DIGEST_FULL = 0,
    DMT_DIGEST_BOUNDED = 1,
    DMT_DIGEST_OFF = 2,
    DMT_DIGEST_POLICY_MAX_ = 3
};

/* EXECUTE_DMA flags.  A producer that cannot tell whether the OS bounced a
 * list leaves them 0: "bounced" is then unknown, not false. */
enum dmt_xfer_flags {
    DMT_XF_BOUNCE_CHECKED = 1u, /* the probe compared the list with the buffer's frames */
    DMT_XF_BOUNCED = 2u         /* ...and some element is not the buffer's own memory
                                   (the OS substituted bounce / map-register pages) */
};

/* Pattern algorithms (DMT_K_PATTERN algo); see dmt/digest.h. */
enum dmt_pattern_algo { DMT_PATTERN_XS64 = 1 };

typedef struct dmt_sg_elem {
    uint64_t addr; /* physical (bus logical) address */
    uint32_t len;  /* bytes */
} dmt_sg_elem;

/* The decoded form of one record.  Which members a kind uses: the fields of
 * its row in dmt/kinds.h (register records default to width 4, dev 0;
 * INTERRUPT's value is the engine status the ISR read, or 0).  CHUNK's seq
 * is the sequence number of the chunk's first record. */
typedef struct dmt_record {
    uint32_t kind; /* enum dmt_kind */
    int64_t ts;    /* absolute time, ns since the trace clock's epoch */
    uint64_t seq;  /* sequence number (set by the ring consumer / reader) */
    uint64_t pos;  /* byte offset in the file (reader) or 0 */

    uint32_t dev;     /* device (register range) id */
    uint32_t adapter; /* DMA adapter id */
    uint32_t xfer;    /* transfer id: one StartDma..CompleteDma */
    uint32_t mdl;     /* MDL id from LockBuffer */
    uint32_t cb;      /* common buffer id */
    uint32_t width;   /* register access width in bytes: 1, 2, 4 or 8 */
    uint32_t op;      /* enum dmt_lock_op */
    uint32_t algo;    /* digest / pattern algorithm */
    uint32_t reason;  /* enum dmt_lost_reason */
    uint32_t status;  /* VP_STATUS / NTSTATUS-like return code */
    uint32_t map_registers;
    uint32_t xfer_flags;    /* EXECUTE_DMA: enum dmt_xfer_flags */
    uint32_t cpu;           /* CPU the record was made on; DMT_CPU_NONE (0xffffffffu) when unknown,
                               or none (a tool wrote it: schema/FORMAT.md 1.4) */
    uint32_t digest_policy; /* DIGEST: enum dmt_digest_policy; its ranges
                               (offset, length from the transfer's first
                               byte) are the SG list (n_sg, sg_list) */
    bool write_to_device, sg, dma32, dma64, claimed, cached;

    uint64_t off;        /* register offset from the device base */
    uint64_t value;      /* register value, digest, seed, crc, first lost seq */
    uint64_t offset;     /* byte offset into an MDL / common buffer */
    uint64_t length;     /* bytes */
    uint64_t count;      /* records */
    uint64_t addr;       /* physical / logical address */
    uint64_t addr_limit; /* highest address the adapter can reach */
    uint64_t va;         /* virtual address as the driver saw it */
    uint64_t context;    /* StartDma Context as an integer */
    /* CALIBRATION (the probe's TSC-to-ns conversion, schema/FORMAT.md 1.3) */
    uint64_t tsc;         /* time-stamp counter at the calibration point */
    uint64_t counter;     /* performance counter read beside it (ticks) */
    uint64_t counter_hz;  /* its frequency */
    uint64_t err_ns;      /* bound on |conversion - counter| until the next one */
    uint32_t mult, shift; /* ns = ts + ((tsc' - tsc) * mult >> shift) */

    uint32_t n_sg;
    const void *sg_list; /* n_sg elements: u64 address at +0, u32 length at +8 */
    uint32_t sg_stride;  /* bytes between elements; 0 = sizeof(dmt_sg_elem). The
                            probe passes a VP_SCATTER_GATHER_LIST's Elements
                            with the platform's element size as the stride
                            (24 on x64, 16 on x86), so nothing is copied. */
    uint32_t n_values;
    const uint64_t *values;
    uint32_t n_bytes;
    const uint8_t *bytes; /* DESC_WRITE / PAYLOAD bytes, MARKER text (not NUL-terminated) */

    /* Reader: the CPU record just before this record (or LOST range) gave
     * ring_seq, its CPU's ring sequence number (of the range's first);
     * a writer with DMT_WRITE_KEEP_CPU writes it again.  Else false. */
    bool has_ring_seq;
    uint64_t ring_seq;
} dmt_record;

/* Element i (< r->n_sg) of a record's SG list, whatever its stride: the one
 * place that knows an element is a u64 address at +0 and a u32 length at +8. */
static DMT_INLINE dmt_sg_elem dmt_record_sg_at(const dmt_record *r, uint32_t i)
{
    dmt_sg_elem e;
    const size_t stride = r->sg_stride ? r->sg_stride : sizeof(dmt_sg_elem);
    const uint8_t *p = (const uint8_t *)r->sg_list + (size_t)i * stride;
    memcpy(&e.addr, p, 8);
    memcpy(&e.len, p + 8, 4);
    return e;
}

/* The trace file's header item (the first item, tagged 55799). */
typedef struct dmt_header {
    uint32_t version;     /* DMT_FORMAT_VERSION */
    int64_t t0;           /* absolute time of the first record's delta base */
    uint32_t page_shift;  /* DMT_PAGE_SHIFT */
    char producer[128];   /* e.g. "dmatrace-capture 0.1.0" */
    char clock[64];       /* "CLOCK_MONOTONIC", "QPC", "deterministic" */
    char host[128];       /* machine name */
    char scenario[64];    /* capture scenario, or "" */
    uint64_t seed;        /* capture seed, or 0 */
    uint64_t ring_size;   /* ring data bytes, or 0 */
    uint32_t ring_policy; /* enum dmt_ring_policy */
    uint64_t seq0;        /* sequence number of the first record */
    /* The machine the records come from (optional keys; 0 / "" = not
     * recorded; schema/FORMAT.md section 1.2). */
    char os[96];           /* "os": OS name, version, architecture */
    uint32_t os_build;     /* "os_build": Windows build number */
    uint32_t cpus;         /* "cpus": processors */
    uint32_t page_size;    /* "page_size": the OS page size in bytes */
    uint64_t clock_hz;     /* "clock_hz": ticks per second of the producer's clock source */
    uint64_t phys_mem;     /* "phys_mem": RAM the OS manages, bytes */
    char boot_options[96]; /* "boot_options": memory-limit switches in force (Windows) */
    /* How buffers were placed, which a replay on the host VideoPort needs to
     * rebuild the same machine; all present when has_layout. */
    bool has_layout;
    char placement[16];        /* "placement": any, below-4g, above-4g, below-16m */
    uint32_t contig_permille;  /* "contig_permille": P(a page follows the previous one) x1000 */
    uint32_t map_register_cap; /* "map_register_cap": map registers an adapter may get */
    uint64_t ram_low_top;      /* "ram_low_top": RAM below 4 GiB ends here */
    uint64_t ram_high_top;     /* "ram_high_top": end of RAM above 4 GiB (0: none) */
    /* The register map named at capture (optional keys, both or neither):
     * "regmap_name", the map file's name without its folder, and
     * "regmap_hash", XXH64 (seed 0) of the file's bytes. */
    char regmap_name[128];
    uint64_t regmap_hash;
    /* "ring_seq0" (a trace drained from a per-CPU region): ring i's
     * sequence number where the trace's accounting of it starts, for the
     * n_ring_seq0 rings of the region (0: the key is absent). */
    uint32_t n_ring_seq0;
    uint64_t ring_seq0[DMT_MAX_RINGS];
} dmt_header;

/* Name of a record kind ("reg_write", ...), or NULL when unknown. */
const char *dmt_kind_name(uint32_t kind);

#endif

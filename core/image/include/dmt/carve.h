/*
 * dmt/carve.h - find dmatrace rings in a physical memory image and turn
 * each into a trace (`dmatrace carve`).
 *
 *   file bytes outside memory --byte by byte--> locators (dmt/locator.h)
 *        |   (dump header, secondary data)        checked whole, trusted one
 *        |                                        picked (FORMAT.md 2.3)
 *   dmt_carve_locate: the rings the trusted locator names, checked at their
 *        |             physical addresses -> live, no memory scan
 *   dmt_carve_scan:   every run; groups by (instance, ring index) ->
 *                     live / copy of N / older load
 *
 *   image (dmt/image.h) --scan--> candidates (magic at an 8-byte aligned
 *        |                        address, header validated completely)
 *        '--extract one--> snapshot of header + data (absent pages zeroed)
 *                          --> the recorder's drain, the ring marked closed,
 *                          in-flight slots timed out at once --> FILE.dmat
 *
 * A candidate is reported only when every header field is consistent (magic,
 * version, header size, a power-of-two data size within the limits, a known
 * policy, 8-byte aligned head and tail positions within one ring of each
 * other) and its whole header is in the image; everything else is counted as rejected by reason.
 * Nothing is read through a candidate's fields before they pass.
 *
 * Exact accounting, as for a live ring: every committed record in the
 * snapshot is delivered once in sequence order; reservations in flight at
 * the crash, half-written slots and slots whose pages the image lacks become
 * LOST records (reason torn); losses the ring counted become LOST records
 * with their reasons.
 */
#ifndef DMT_CARVE_H
#define DMT_CARVE_H

#include <stddef.h>
#include <stdint.h>

#include "dmt/error.h"
#include "dmt/image.h"
#include "dmt/locator.h"

#define DMT_CARVE_MAX_CANDIDATES 256u /* rings reported at most */
#define DMT_CARVE_MAX_REJ_LISTED 16u  /* rejected candidates listed one by one */
#define DMT_CARVE_MAX_LOCATORS   16u  /* locator blocks reported at most */

enum dmt_carve_reject {
    DMT_CARVE_REJ_VERSION = 0, /* magic found, unknown version or header size */
    DMT_CARVE_REJ_SIZE,        /* data size not a power of two in range */
    DMT_CARVE_REJ_POLICY,      /* unknown policy */
    DMT_CARVE_REJ_POSITIONS,   /* head/tail inconsistent */
    DMT_CARVE_REJ_ABSENT,      /* the header itself is not (wholly) in the image */
    DMT_CARVE_REJ_TOO_MANY,    /* valid, past DMT_CARVE_MAX_CANDIDATES */
    DMT_CARVE_REJ_N_
};

/* What a valid ring candidate is (schema/FORMAT.md 2.3 has the rule). */
enum dmt_carve_verdict {
    DMT_CARVE_LIVE = 0,   /* the ring the producer was writing */
    DMT_CARVE_COPY,       /* a copy of ring `ref` (same instance and index) */
    DMT_CARVE_OLDER_LOAD, /* a ring of another instance: an earlier boot or load */
};

/* Why (refines the verdict; dmt_carve_verdict_text says it in words). */
enum dmt_carve_why {
    DMT_CARVE_WHY_NAMED = 0,      /* live: a valid locator names it */
    DMT_CARVE_WHY_ONLY,           /* live: the only candidate of its instance and index */
    DMT_CARVE_WHY_NEWEST,         /* live: the newest state among its copies */
    DMT_CARVE_WHY_IDENTICAL,      /* copy: same header state as `ref` */
    DMT_CARVE_WHY_OLDER_STATE,    /* copy: head/tail behind those of `ref` */
    DMT_CARVE_WHY_DATA,           /* copy: the slot at its tail does not match its header */
    DMT_CARVE_WHY_OTHER_INSTANCE, /* older load: the locator names another instance */
    DMT_CARVE_WHY_CLOSED,         /* older load: closed while another instance is open */
};

typedef struct dmt_carve_ring {
    uint64_t phys;               /* physical address of the ring header */
    uint64_t data_size;          /* ring data bytes */
    uint32_t policy;             /* enum dmt_ring_policy */
    uint32_t flags;              /* enum dmt_ring_flags as found */
    uint64_t head_seq, tail_seq; /* 32-bit sequence halves as found */
    uint32_t head_pos, tail_pos; /* 32-bit position halves as found */
    uint64_t committed, lost_full, lost_overwritten, lost_torn;
    uint64_t absent;                /* ring bytes (header + data) the image lacks */
    uint64_t instance;              /* header +40 (0: written before the field existed) */
    uint32_t ring_index;            /* header +48 */
    uint32_t ring_count;            /* header +52 (0 in old rings reads as 1) */
    int data_ok;                    /* 1 the slot at tail matches the header, 0 not, -1 absent */
    enum dmt_carve_verdict verdict; /* set by the scan's classification */
    enum dmt_carve_why why;
    uint32_t ref;   /* COPY: the index of the live ring it copies; NAMED: the locator */
    uint64_t other; /* OLDER_LOAD: the instance judged current (0 if none) */
} dmt_carve_ring;

/* A locator block found in the file (dmt/locator.h). */
typedef struct dmt_carve_locator {
    uint64_t file_off; /* its first byte in the file */
    uint64_t phys;     /* its physical address, or UINT64_MAX: outside memory */
    int32_t blob;      /* the DumpBlob block holding it, or -1 */
    int reject;        /* DMT_LOC_OK, a dmt_loc_reject, or DMT_CARVE_LOC_OUTSIDE */
    uint32_t bad_ring; /* DMT_CARVE_LOC_OUTSIDE: the entry */
    uint64_t named_ok; /* bit i: entry i's ring validated at its physical address */
    dmt_locator loc;   /* when reject == DMT_LOC_OK */
} dmt_carve_locator;

#define DMT_CARVE_LOC_OUTSIDE 100 /* an entry's ring lies outside the image */

typedef struct dmt_carve_scan_result {
    dmt_carve_ring rings[DMT_CARVE_MAX_CANDIDATES];
    size_t n;                            /* rings found (<= the cap) */
    uint64_t rejected[DMT_CARVE_REJ_N_]; /* candidates rejected, by reason */
    struct {
        uint64_t phys;
        enum dmt_carve_reject why;
    } rejected_at[DMT_CARVE_MAX_REJ_LISTED]; /* the first rejected candidates */
    size_t n_rejected_at;
    uint64_t bytes_scanned;
    /* Locators: every block whose magic was found (valid or not, up to the
     * cap), the one the classification trusts, and the secondary data. */
    dmt_carve_locator locators[DMT_CARVE_MAX_LOCATORS];
    size_t n_locators;
    uint64_t locators_dropped; /* past the cap */
    int trusted;               /* index into locators[] or -1 */
    uint64_t blob_off;         /* file offset of "DumpBlob", or UINT64_MAX */
    uint32_t n_blobs;          /* DumpBlob blocks that parsed */
    int full;                  /* 1 after dmt_carve_scan, 0 after a locator-only dmt_carve_locate */
    int no_memory;             /* the image has no runs (a small dump, DMT_IMAGE_NO_MEMORY_OK) */
} dmt_carve_scan_result;

/* Progress callback for long scans: bytes done of total; may be NULL. */
typedef void (*dmt_carve_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* One linear pass over every run of img for rings (and locators at 8-byte
 * aligned physical addresses), plus a byte-by-byte pass over the file
 * bytes outside every run for locators (header, secondary data); then each
 * ring is classified live / copy / older load (schema/FORMAT.md 2.3).
 * *res is the caller's (large: allocate it).  Returns 0 or a negative
 * DMT_E_* (I/O). */
int dmt_carve_scan(dmt_image *img, dmt_carve_scan_result *res, dmt_carve_progress_fn progress,
                   void *ctx, dmt_error *err);

/* Name of a rejection reason, for "N candidates rejected: ..." lines. */
const char *dmt_carve_reject_name(enum dmt_carve_reject r);

/* The quick path: look for locators only outside the image's memory (a
 * crash dump's header and secondary data: small next to the memory) and,
 * if one is valid, check the rings it names at their physical addresses.
 * Returns the number of rings found that way (each verdict live, why
 * named; res->full = 0), or 0 when the caller must run dmt_carve_scan (no
 * valid locator, or a ring it names does not validate), or a negative
 * DMT_E_* (I/O). */
int dmt_carve_locate(dmt_image *img, dmt_carve_scan_result *res, dmt_error *err);

/* One line saying ring i's verdict and why ("live (named by the locator at
 * byte 8192)", "copy of ring 0 (older state)", ...) into buf. */
void dmt_carve_verdict_text(const dmt_carve_scan_result *res, size_t i, char *buf, size_t cap);
/* One line saying what locator i is and, if rejected, why. */
void dmt_carve_locator_text(const dmt_carve_scan_result *res, size_t i, char *buf, size_t cap);

typedef struct dmt_carve_stats {
    uint64_t records; /* records delivered */
    uint64_t lost;    /* sequence numbers in LOST records */
    uint64_t first_seq, next_seq;
    uint32_t rings_missing; /* rings of a per-CPU region not in the image (nothing
                               of theirs is in the trace) */
    /* --merge: */
    uint64_t absent;     /* sequence numbers in neither the recording nor the
                            ring (LOST, reason absent; included in lost) */
    bool recover_marker; /* the recording ended with recover's marker, left out */
} dmt_carve_stats;

/* Write the ring at ring->phys of img as a trace to out_path (written under
 * a temporary name and renamed: nothing half-written is left).  source names
 * the image in the trace header's host field.
 *
 * partial (may be NULL): a recording of the same ring or per-CPU region
 * that the crash cut (read in allow-cut mode; `recover` is not needed
 * first, and the marker recover ends a file with is left out).  The output
 * is then that recording - its header and every record - continued by the
 * ring's records from where the recording left each ring: one ring, from
 * the recording's next sequence number; a per-CPU region, each ring from
 * its position the recording gives (schema/FORMAT.md 1.4), merged, the
 * merged numbering continuing the recording's.  Records a ring still holds
 * that the file already has are dropped, and a ring's sequence numbers in
 * neither become one LOST record of reason absent (on that ring's CPU).
 * No duplicate, no unmarked gap.  A recording that does not say where a
 * ring stood, or of another ring or region, is refused.
 *
 * Returns 0 or a negative DMT_E_*; *st (may be NULL) receives the counts. */
int dmt_carve_extract(dmt_image *img, const dmt_carve_ring *ring, const char *source,
                      const char *partial, const char *out_path, dmt_carve_stats *st,
                      dmt_error *err);

#endif

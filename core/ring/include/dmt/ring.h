/*
 * dmt/ring.h - the lock-free trace ring: many producers, one consumer.
 *
 * The probe (in a driver, on any CPU, in an ISR or a DPC) reserves space,
 * encodes one CBOR record into it and commits it.  The recorder, possibly in
 * another process, consumes committed records in order.  The region is one
 * block of fixed memory: a shared file mapping on Linux, nonpaged memory
 * mapped into the recorder on Windows.  Nothing here allocates or blocks on
 * the producer side.  ring.c is freestanding C89 (its atomics come from
 * dmt/port.h) and compiles into the Windows driver; this header is shared
 * by the driver (C89) and the consumer tools (C11) and compiles in both.
 *
 * Region layout (all little-endian; normative copy in schema/FORMAT.md):
 *
 *   +0    dmt_ring_hdr   (256 bytes, see below)
 *   +256  data[size]     size is a power of two, 4096 .. 2^30
 *
 * head and tail each pack a 32-bit byte position (low half, compared modulo
 * 2^32) and a 32-bit sequence number (high half):
 *   head: next position to reserve | next sequence number to hand out
 *   tail: oldest unconsumed position | lowest sequence a slot at or after
 *         tail can carry (older slot headers left in data are stale)
 *
 * Slot layout inside data, 8-byte aligned:
 *
 *   +0 u64 slot header (atomic)   bits  0..15 len
 *                                 bits 16..17 state: 0 empty, 1 reserved,
 *                                             2 committed, 3 padding
 *                                 bits 18..31 check (14 bits of a hash of
 *                                             position, len, state and
 *                                             sequence; see ring.c)
 *                                 bits 32..63 sequence number (low 32 bits)
 *   +8 payload (one CBOR record item), padded with zeros to 8 bytes
 *
 * len: reserved -> the reserved payload length; committed -> the bytes
 * published (the consumer delivers exactly len bytes); padding -> the bytes
 * after the 8-byte header (a multiple of 8).  A slot spans 8 + roundup8(len)
 * bytes (padding: 8 + len).  A commit that publishes fewer bytes than were
 * reserved turns the rest of the reservation into a padding slot, so every
 * header tells the reader how far to skip.
 *
 * Invariants (see ring.c and DESIGN.md, "The ring"):
 *  1. head and tail positions are monotonic modulo 2^32; head - tail <= size.
 *     A position p lives at data[p & (size-1)].
 *  2. A slot never wraps: if it does not fit before the end of data, the
 *     producer reserves the rest of data as one padding slot too.
 *  3. A producer owns [h, h+n) from its successful CAS on head until it
 *     moves its header from reserved to committed (a release CAS).  The
 *     consumer reads a payload only after an acquire load sees state
 *     committed and a valid check and sequence, so a torn or half-written
 *     record is never delivered.
 *  4. Every reservation attempt takes one sequence number, including the ones
 *     that fail for lack of room (drop-newest).  So the consumer sees every
 *     loss as a gap in sequence numbers; the counters in the header agree.
 *  5. Drop-newest: the consumer zeroes each slot it has consumed (header and
 *     payload) before it moves tail, so an empty header always means "not yet
 *     written this lap".  Overwrite-oldest cannot zero (a slot is free the
 *     moment tail passes it); there, stale headers are rejected by their
 *     check (position) and by the sequence window [tail seq, head seq).
 *  6. Overwrite-oldest: a producer that needs room advances tail itself over
 *     committed or padding slots only (CAS on tail), counting what it
 *     overwrote; the consumer copies a record out and then CASes tail from
 *     the value it started with, discarding the copy if it lost the race.
 *
 * Per-CPU region (ring version 2): ring_count whole rings back to back, each
 * a 256-byte header plus data of one common power-of-two size, all with the
 * same instance id and policy, ring i at byte i * (256 + size):
 *
 *   +0            hdr(index 0, count n) data[size]
 *   +256+size     hdr(index 1, count n) data[size]
 *   ...           hdr(index n-1)        data[size]
 *
 * A producer on CPU c writes into ring c % n (dmt_ringset_pick): no word is
 * written by two CPUs while CPUs <= rings.  With more CPUs than rings, CPUs
 * c and c + n share ring c % n, which stays correct because every ring is
 * multi-producer and lock-free (their CAS on head then contends).  The
 * recorder drains every ring and merges them by time (dmt/drain.h).
 */
#ifndef DMT_RING_H
#define DMT_RING_H

#include "dmt/port.h"

#define DMT_RING_MAGIC       0x474E495254414D44ull /* "DMATRING" */
#define DMT_RING_VERSION     2u  /* 2: instance, ring_index, ring_count (per-CPU regions) */
#define DMT_RING_VERSION_MIN 1u  /* version-1 rings (a single ring) still attach */
#define DMT_RING_MAX_RINGS   64u /* rings in one per-CPU region */
#define DMT_RING_HDR_SIZE    256u
#define DMT_RING_MAX_PAYLOAD 65535u
#define DMT_RING_MIN_SIZE    4096u        /* smallest data area */
#define DMT_RING_MAX_SIZE    (1ull << 30) /* largest data area (positions are 32-bit) */

enum dmt_ring_policy { DMT_RING_DROP_NEWEST = 0, DMT_RING_OVERWRITE_OLDEST = 1 };

/* clock_hint of a ring whose records the probe stamps from the invariant
 * TSC (calibrated against the performance counter: schema/FORMAT.md 1.3);
 * 0 or anything else: the performance counter.  "TSC" in ASCII. */
#define DMT_RING_CLOCK_TSC 0x435354u

enum dmt_ring_flags {
    DMT_RING_F_CLOSED = 1u /* the producer side will write no more */
};

/* The region header.  Fields the producers change are atomics, each on its
 * own cache line. */
typedef struct dmt_ring_hdr {
    uint64_t magic;      /* DMT_RING_MAGIC */
    uint32_t version;    /* DMT_RING_VERSION */
    uint32_t hdr_size;   /* DMT_RING_HDR_SIZE */
    uint64_t size;       /* data bytes, a power of two */
    uint32_t policy;     /* enum dmt_ring_policy */
    uint32_t flags;      /* enum dmt_ring_flags (atomic) */
    uint64_t clock_hint; /* producer's clock id (free for the producer) */
    uint64_t instance;   /* +40: per-instance id, the same in every ring of
                            one region; 0 = not set (schema/FORMAT.md 2) */
    uint32_t ring_index; /* +48: this ring's index in its region (0..) */
    uint32_t ring_count; /* +52: rings in the region (1 = a single ring) */
    uint8_t pad0[64 - 56];
    uint64_t head; /* +64: reserve position | sequence (see ring.c) */
    uint8_t pad1[56];
    uint64_t tail; /* +128: consume position | sequence (see ring.c) */
    uint8_t pad2[56];
    uint64_t lost_full;        /* +192: reservations refused (no room) */
    uint64_t lost_overwritten; /* +200: committed records overwritten */
    uint64_t lost_torn;        /* +208: slots skipped as never committed */
    uint64_t committed;        /* +216: records committed (a statistic: exact with
                                  one producer at a time, see ring.c I11) */
    uint8_t pad3[256 - 224];
} dmt_ring_hdr;

typedef struct dmt_ring {
    dmt_ring_hdr *hdr;
    uint8_t *data;
    uint64_t size;
    uint64_t mask;
} dmt_ring;

/* ---- producer side (freestanding) -------------------------------------- */

/* Format a region of region_len bytes (8-byte aligned) as an empty ring;
 * data size is the largest power of two that fits, at most
 * DMT_RING_MAX_SIZE.  Returns 0, or -1 if too small, misaligned or the policy
 * is unknown. */
int dmt_ring_init(void *region, size_t region_len, enum dmt_ring_policy policy);
/* Attach to a formatted region (checks magic, version, header size, size,
 * policy and that the data fits in region_len).  0 or -1.  The ring does not
 * own the region. */
int dmt_ring_attach(dmt_ring *r, void *region, size_t region_len);

/* A reservation: where to encode the payload.  Valid until commit. */
typedef struct dmt_ring_resv {
    uint8_t *buf; /* payload space, len bytes */
    uint32_t len;
    uint64_t pos; /* slot position (private) */
    uint32_t seq; /* sequence number taken (private) */
    uint64_t hdr; /* the reserved header word commit expects (private) */
} dmt_ring_resv;

/* Reserve len (1..DMT_RING_MAX_PAYLOAD) payload bytes.  Returns true with *rv
 * filled, or false when the record is lost (counted in lost_full and as a
 * sequence gap).  A slot larger than half the data area can never be placed
 * and is always lost that way.  len 0 or above the maximum is a caller bug:
 * false without taking a sequence number.  Never blocks, never allocates;
 * lock-free (a CAS loop on head). */
bool dmt_ring_reserve(dmt_ring *r, uint32_t len, dmt_ring_resv *rv);
/* Publish a reservation.  used <= rv->len: the bytes actually written (the
 * encoder may use fewer than reserved; larger values are clamped); the rest
 * becomes padding.  used 0 publishes an empty record.  If the consumer has
 * already skipped the slot as torn (the producer held it longer than the
 * consumer's torn timeout) the commit does nothing: the record was counted
 * as lost_torn. */
void dmt_ring_commit(dmt_ring *r, dmt_ring_resv *rv, uint32_t used);
/* Convenience: reserve, copy len bytes, commit.  false when lost. */
bool dmt_ring_write(dmt_ring *r, const void *payload, uint32_t len);
/* Mark the ring closed: the consumer stops once it has drained it. */
void dmt_ring_close(dmt_ring *r);

/* ---- per-CPU regions (freestanding) ------------------------------------ */

/* The rings of one region, attached.  Holds no memory of its own (the
 * region belongs to whoever mapped it); copyable. */
typedef struct dmt_ringset {
    uint32_t count;    /* rings, 1..DMT_RING_MAX_RINGS */
    uint64_t instance; /* the region's instance id (0: none set) */
    dmt_ring rings[DMT_RING_MAX_RINGS];
} dmt_ringset;

/* Bytes of a region of count rings of data_size data bytes each. */
uint64_t dmt_ringset_region_len(uint32_t count, uint64_t data_size);
/* Format region (region_len bytes, 8-byte aligned) as count rings
 * (1..DMT_RING_MAX_RINGS) of the largest common power-of-two data size
 * that fits (at most DMT_RING_MAX_SIZE), all with this policy and instance
 * id (0 = none; a producer that can should pass a nonzero id unique to
 * this region, so a copy of the region in a memory image is told apart).
 * Returns 0, or -1 if the region is too small, misaligned, or an argument
 * is out of range.  count 1 gives exactly dmt_ring_init's ring (plus the
 * instance id). */
int dmt_ringset_init(void *region, size_t region_len, enum dmt_ring_policy policy, uint32_t count,
                     uint64_t instance);
/* Attach to every ring of a formatted region: ring 0 at the start gives
 * the count (a version-1 ring, or ring_count 0 or 1: a single ring); each
 * further ring must be at its place with the same version, size, policy
 * and instance and its own index.  0 or -1 (nothing is attached then). */
int dmt_ringset_attach(dmt_ringset *s, void *region, size_t region_len);
/* The ring for CPU cpu: ring cpu % count.  No shared write: the caller's
 * CPU number (KeGetCurrentProcessorNumber, sched_getcpu, a per-thread
 * slot) chooses the ring, so producers on different CPUs reserve in
 * different rings. */
static DMT_INLINE dmt_ring *dmt_ringset_pick(dmt_ringset *s, uint32_t cpu)
{
    return &s->rings[cpu < s->count ? cpu : cpu % s->count];
}
/* Close every ring of the region. */
void dmt_ringset_close(dmt_ringset *s);

/* The 14-bit check of a slot header over its position, length, state and
 * sequence (schema/FORMAT.md): what the producer writes and the consumer
 * verifies, for oracles that check the ring from outside. */
uint32_t dmt_ring_slot_check(uint32_t pos, uint32_t len, uint32_t state, uint32_t seq);

/* ---- consumer side (one thread) --------------------------------------- */

typedef struct dmt_ring_consumer {
    dmt_ring *r;
    uint64_t next_seq;        /* 64-bit extension of the expected sequence */
    uint64_t stall_since_ns;  /* when the slot at tail was first seen unwritten */
    uint64_t torn_timeout_ns; /* how long a reserved slot may stay uncommitted;
                                 0 never skips a torn slot */
    /* private to ring.c */
    bool stalled;        /* stall_since_ns / stall_tail are valid */
    bool scan_armed;     /* a scan found scan_end; confirm after a timeout */
    uint64_t stall_tail; /* the tail word the stall refers to */
    uint32_t scan_end;   /* position the scan would skip to */
    uint64_t scan_since_ns;
    uint64_t rep_full;       /* losses reported per reason (lost_full, */
    uint64_t rep_ow;         /* lost_overwritten), to attribute gaps */
    uint32_t pend_n, pend_i; /* LOST items planned but not yet delivered */
    struct {
        uint64_t seq, count;
        uint32_t reason;
    } pend[3];
} dmt_ring_consumer;

/* What dmt_ring_next delivered. */
enum dmt_ring_status {
    DMT_RING_RECORD = 0, /* a record: out->buf/len/seq valid */
    DMT_RING_LOST = 1,   /* a loss: out->seq first lost, out->count, out->reason */
    DMT_RING_EMPTY = 2,  /* nothing committed yet: try again later */
    DMT_RING_DONE = 3    /* closed and drained */
};

typedef struct dmt_ring_item {
    const uint8_t *buf; /* the payload copy (consumer-owned scratch) */
    uint32_t len;
    uint64_t seq;
    uint64_t count;
    uint32_t reason; /* enum dmt_lost_reason */
} dmt_ring_item;

/* Start consuming at the ring's current tail (next_seq = tail's sequence).
 * torn_timeout_ns must exceed the longest time a live producer can hold a
 * reservation: a slot skipped as torn is free again, so a producer that was
 * merely slow would write into reused space. */
void dmt_ring_consumer_init(dmt_ring_consumer *c, dmt_ring *r, uint64_t torn_timeout_ns);
/* Deliver the next item.  scratch (>= DMT_RING_MAX_PAYLOAD bytes) receives
 * the record copy.  now_ns is the caller's clock (for the torn-slot
 * timeout; any monotonic ns clock).  Losses are delivered in sequence order,
 * before the record that follows them; losses after the last record are
 * delivered as soon as the ring is empty.  A slot left reserved is skipped
 * after torn_timeout_ns; a slot whose header was never written after twice
 * that (one timeout to notice it, one to confirm the scan).  One thread
 * only; never blocks. */
enum dmt_ring_status dmt_ring_next(dmt_ring_consumer *c, uint8_t *scratch, uint64_t now_ns,
                                   dmt_ring_item *out);

/* One record of a run (dmt_ring_take_run): its payload is buf[off, off+len). */
typedef struct dmt_ring_rec {
    uint32_t off;
    uint32_t len;
} dmt_ring_rec;

/* Take a run of committed records at once: from tail, the slots that are
 * committed records carrying the next sequence numbers (and the padding
 * between them), at most max records and cap bytes of slots.  Loads tail
 * and head once, validates the slot headers in one pass (check, bounds,
 * sequence), copies the run's slots (headers included) into buf with one
 * copy (two across the end of data), fills recs[i] with where record i's
 * payload lies in buf, and moves tail past the run once: drop-newest
 * zeroes the run and release-stores tail; overwrite-oldest CASes tail and
 * takes nothing when a producer moved it first.  Record i has sequence
 * number c->next_seq (as it was before the call) + i.  Returns the records
 * taken; 0 when the slot at tail is anything else (a loss to report, a
 * reserved or unreadable slot, an empty ring, LOST items pending, a record
 * larger than cap): dmt_ring_next delivers that.  What a run delivers is
 * exactly what as many dmt_ring_next calls would, in the same order.  buf
 * and recs belong to the caller; one thread only; never blocks. */
uint32_t dmt_ring_take_run(dmt_ring_consumer *c, uint8_t *buf, uint32_t cap, dmt_ring_rec *recs,
                           uint32_t max);

/* ---- Linux shared-memory regions (not freestanding; ring_shm.c) --------- */

/* Create (O_CREAT | O_EXCL, mode 0600) and format a ring file at path with
 * data_size data bytes (a power of two, DMT_RING_MIN_SIZE..MAX_SIZE), mapped
 * shared.  Returns 0, -EINVAL for a bad size or policy, -EEXIST when the
 * file exists, or another -errno.  The caller owns *map (dmt_ring_shm_unmap). */
int dmt_ring_shm_create(const char *path, size_t data_size, enum dmt_ring_policy policy,
                        dmt_ring *out, void **map, size_t *map_len);
/* Map an existing ring file read-write, shared, and attach.  Returns 0,
 * -errno, or -EPROTO when the file is not a ring of this version. */
int dmt_ring_shm_open(const char *path, dmt_ring *out, void **map, size_t *map_len);
void dmt_ring_shm_unmap(void *map, size_t map_len);
/* The same for a per-CPU region: count rings of data_size bytes each (the
 * file is dmt_ringset_region_len bytes), all with instance id instance. */
int dmt_ringset_shm_create(const char *path, size_t data_size, enum dmt_ring_policy policy,
                           uint32_t count, uint64_t instance, dmt_ringset *out, void **map,
                           size_t *map_len);
/* Map an existing ring file - one ring or a per-CPU region - and attach
 * every ring.  Returns 0, -errno, or -EPROTO when it is not a ring region. */
int dmt_ringset_shm_open(const char *path, dmt_ringset *out, void **map, size_t *map_len);

#endif

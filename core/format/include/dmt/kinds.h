/*
 * dmt/kinds.h - the one table of record kinds and their fields.
 *
 * DMT_KINDS is an X-macro: one line per record kind giving its number (part
 * of the format: never renumber, only append), its name, its class and its
 * fields after [kind, t] in wire order, as schema/trace.cddl lists them.
 * The kind enum (dmt/record.h), the reader's field parser, the ring
 * checker's field and tail tables and every kind name (describe, info,
 * replay reports) are derived from it, so a new kind or a new trailing field
 * is added here (plus its encoding in enc.c and its text in describe.c).
 *
 *   X(ID, number, "name", class, fields)      class: EVENT / LOST / FRAMING
 *   F(TYPE, member, "name")   a field every record of the kind has
 *   O(TYPE, member, "name")   an optional trailing field (after all F)
 *
 * member is the dmt_record member the reader fills; for SG, VALUES, BYTES
 * and TEXT it is the count (n_sg, n_values, n_bytes) and the reader also
 * sets the pointer beside it.  Field names are trace.cddl's with '_' for
 * '-'.  Classes: EVENT records take one sequence number and may travel
 * through the ring; LOST covers a range of sequence numbers; FRAMING
 * (CHUNK, END, CPU) exists only in files and takes none.  The reader
 * consumes CPU records itself (they set dmt_record.cpu of what follows)
 * and never returns them.
 *
 * Field types (the reader's get_* and the ring checker's codes check them):
 *   U64 unsigned integer            U32 unsigned integer <= 2^32-1
 *   BOOL CBOR true / false          WIDTH register width 1, 2, 4 or 8 (a U32)
 *   SG array of (address, length) sg-quantity pairs, <= DMT_MAX_SG_ELEMENTS
 *   VALUES array of uint, <= DMT_MAX_VALUES
 *   BYTES byte string, <= DMT_MAX_BYTES     TEXT text string, <= DMT_MAX_TEXT
 *
 * Freestanding (macros and declarations only): dmt/record.h, which the
 * probe includes, takes its enum from here.
 */
#ifndef DMT_KINDS_H
#define DMT_KINDS_H

#include "dmt/port.h"

/* clang-format off */
#define DMT_KINDS(X, F, O)                                                                     \
    /* register write (ULONG unless width says so) */                                          \
    X(REG_WRITE, 1, "reg_write", EVENT,                                                        \
      F(U64, off, "off") F(U64, value, "value") O(WIDTH, width, "width") O(U32, dev, "dev"))   \
    /* register read and the value the device returned */                                      \
    X(REG_READ, 2, "reg_read", EVENT,                                                          \
      F(U64, off, "off") F(U64, value, "value") O(WIDTH, width, "width") O(U32, dev, "dev"))   \
    /* VideoPortWriteRegisterBufferUlong: base + values */                                     \
    X(REG_WRITE_BUF, 3, "reg_write_buf", EVENT,                                                \
      F(U64, off, "off") F(VALUES, n_values, "values") O(WIDTH, width, "width")                \
      O(U32, dev, "dev"))                                                                      \
    /* VideoPortReadRegisterBufferUlong: base + values */                                      \
    X(REG_READ_BUF, 4, "reg_read_buf", EVENT,                                                  \
      F(U64, off, "off") F(VALUES, n_values, "values") O(WIDTH, width, "width")                \
      O(U32, dev, "dev"))                                                                      \
    /* HwVidExecuteDma entered: granted *pLength and the whole SG list */                      \
    X(EXECUTE_DMA, 5, "execute_dma", EVENT,                                                    \
      F(U32, xfer, "xfer") F(U32, adapter, "adapter") F(U64, length, "granted")                \
      F(SG, n_sg, "sg") O(U32, xfer_flags, "flags"))                                           \
    /* VideoPortStartDma called: the request */                                                \
    X(START_DMA, 6, "start_dma", EVENT,                                                        \
      F(U32, xfer, "xfer") F(U32, adapter, "adapter") F(U32, mdl, "mdl")                       \
      F(U64, offset, "offset") F(U64, length, "requested")                                     \
      F(BOOL, write_to_device, "write_to_device") F(U64, context, "context"))                  \
    /* VideoPortStartDma returned: status, final *pLength */                                   \
    X(START_DMA_END, 7, "start_dma_end", EVENT,                                                \
      F(U32, xfer, "xfer") F(U32, adapter, "adapter") F(U32, status, "status")                 \
      F(U64, length, "length"))                                                                \
    /* VideoPortCompleteDma called */                                                          \
    X(COMPLETE_DMA, 8, "complete_dma", EVENT,                                                  \
      F(U32, xfer, "xfer") F(U32, adapter, "adapter")                                          \
      F(BOOL, write_to_device, "write_to_device") F(U32, status, "status"))                    \
    /* VideoPortGetDmaAdapter returned an adapter */                                           \
    X(ADAPTER_CREATE, 9, "adapter_create", EVENT,                                              \
      F(U32, adapter, "adapter") F(U32, dev, "dev") F(BOOL, sg, "scatter_gather")              \
      F(BOOL, dma32, "dma32") F(BOOL, dma64, "dma64") F(U64, length, "max_length")             \
      F(U32, map_registers, "map_registers") F(U64, addr_limit, "addr_limit"))                 \
    /* VideoPortPutDmaAdapter */                                                               \
    X(ADAPTER_RELEASE, 10, "adapter_release", EVENT, F(U32, adapter, "adapter"))               \
    /* VideoPortLockBuffer returned an MDL */                                                  \
    X(BUFFER_LOCK, 11, "buffer_lock", EVENT,                                                   \
      F(U32, mdl, "mdl") F(U64, va, "va") F(U64, length, "length") F(U32, op, "operation"))    \
    /* VideoPortUnlockBuffer */                                                                \
    X(BUFFER_UNLOCK, 12, "buffer_unlock", EVENT, F(U32, mdl, "mdl"))                           \
    /* VideoPortAllocateCommonBuffer */                                                        \
    X(COMMON_ALLOC, 13, "common_alloc", EVENT,                                                 \
      F(U32, cb, "cb") F(U32, adapter, "adapter") F(U64, addr, "logical")                      \
      F(U64, length, "length") F(BOOL, cached, "cached") F(U64, va, "va"))                     \
    /* VideoPortReleaseCommonBuffer */                                                         \
    X(COMMON_RELEASE, 14, "common_release", EVENT,                                             \
      F(U32, cb, "cb") F(U32, adapter, "adapter"))                                             \
    /* the driver wrote bytes into a common buffer the device reads */                         \
    X(DESC_WRITE, 15, "desc_write", EVENT,                                                     \
      F(U32, cb, "cb") F(U64, offset, "offset") F(BYTES, n_bytes, "data"))                     \
    /* HwVidInterrupt returned (claimed or not) */                                             \
    X(INTERRUPT, 16, "interrupt", EVENT,                                                       \
      F(U32, dev, "dev") F(BOOL, claimed, "claimed") F(U64, value, "value"))                   \
    /* the miniport's DPC routine ran (xfer 0: not tied to a transfer) */                      \
    X(DPC, 17, "dpc", EVENT, F(U32, dev, "dev") F(U32, xfer, "xfer"))                          \
    /* digest of the bytes a transfer moved (policy: full, bounded, off; */                    \
    /* ranges: the (offset, length) pairs digested when not the whole) */                     \
    X(DIGEST, 18, "digest", EVENT,                                                             \
      F(U32, xfer, "xfer") F(U32, algo, "algo") F(U64, length, "length")                       \
      F(U64, value, "value") O(U32, digest_policy, "policy") O(SG, n_sg, "ranges"))            \
    /* a locked buffer holds the reproducible pattern */                                       \
    X(PATTERN, 19, "pattern", EVENT,                                                           \
      F(U32, mdl, "mdl") F(U32, algo, "algo") F(U64, value, "seed")                            \
      F(U64, offset, "offset") F(U64, length, "length"))                                       \
    /* recorded bytes of a locked buffer */                                                    \
    X(PAYLOAD, 20, "payload", EVENT,                                                           \
      F(U32, mdl, "mdl") F(U64, offset, "offset") F(BYTES, n_bytes, "data"))                   \
    /* VideoPortGetDeviceBase: a register range */                                             \
    X(DEVICE_MAP, 21, "device_map", EVENT,                                                     \
      F(U32, dev, "dev") F(U64, addr, "bus_address") F(U64, length, "length")                  \
      F(U64, va, "va"))                                                                        \
    /* records lost: first sequence number, count, reason */                                   \
    X(LOST, 22, "lost", LOST,                                                                  \
      F(U64, value, "first_seq") F(U64, count, "count") F(U32, reason, "reason"))              \
    /* free text */                                                                            \
    X(MARKER, 23, "marker", EVENT, F(TEXT, n_bytes, "text"))                                   \
    /* framing: closes a chunk of the file (file only) */                                      \
    X(CHUNK, 24, "chunk", FRAMING,                                                             \
      F(U64, count, "records") F(U64, length, "bytes") F(U64, value, "crc32c")                 \
      F(U64, seq, "first_seq"))                                                                \
    /* framing: the file was closed cleanly (file only) */                                     \
    X(END, 25, "end", FRAMING, F(U64, count, "records") F(U64, value, "lost"))               \
    /* the records that follow (up to the next CPU record) were made on this CPU  */          \
    /* (file only, written by the merge of a per-CPU ring region; takes no         */          \
    /* sequence number; cpu 2^32-1: on no CPU); ring_seq: that CPU's ring         */          \
    /* sequence number of the next record or LOST range, in the first CPU record  */          \
    /* of each CPU and wherever a writer adds it                                  */          \
    X(CPU, 26, "cpu", FRAMING, F(U32, cpu, "cpu") O(U64, value, "ring_seq"))               \
    /* the probe's TSC calibration: t (ns) is what the conversion maps tsc to */              \
    /* from here on: ns = t + ((tsc' - tsc) * mult >> shift); counter: the    */              \
    /* performance counter read beside it, counter_hz its frequency; err_ns:  */              \
    /* the bound on |conversion - counter| until the next calibration         */              \
    X(CALIBRATION, 27, "calibration", EVENT,                                                   \
      F(U64, tsc, "tsc") F(U64, counter, "counter") F(U64, counter_hz, "counter_hz")           \
      F(U32, mult, "mult") F(U32, shift, "shift") F(U64, err_ns, "err_ns"))
/* clang-format on */

/* For DMT_KINDS arguments that ignore the fields, and that count them:
 * sizeof("" fields) - 1 with DMT_KINDS_ONE_ for the fields to count. */
#define DMT_KINDS_NO_FIELD_(type, member, name)
#define DMT_KINDS_ONE_(type, member, name) "x"

enum dmt_kind_class { DMT_KC_EVENT = 1, DMT_KC_LOST = 2, DMT_KC_FRAMING = 3 };

enum dmt_field_type {
    DMT_FT_U64 = 1,
    DMT_FT_U32,
    DMT_FT_BOOL,
    DMT_FT_WIDTH,
    DMT_FT_SG,
    DMT_FT_VALUES,
    DMT_FT_BYTES,
    DMT_FT_TEXT
};

/* Most fields a kind has (required and optional); checked in kinds.c. */
#define DMT_KIND_MAX_FIELDS 8

typedef struct dmt_field_info {
    uint8_t type;    /* enum dmt_field_type */
    bool optional;   /* a trailing field that may be absent */
    uint16_t member; /* offsetof(dmt_record, member) */
    const char *name;
} dmt_field_info;

typedef struct dmt_kind_info {
    const char *name;
    uint8_t kclass;     /* enum dmt_kind_class */
    uint8_t n_required; /* fields every record of the kind has (after kind, t) */
    uint8_t n_fields;   /* required + optional */
    dmt_field_info fields[DMT_KIND_MAX_FIELDS];
} dmt_kind_info;

/* The kind's row of DMT_KINDS (static storage), or NULL for 0 and unknown
 * kinds. */
const dmt_kind_info *dmt_kind_info_get(uint32_t kind);

#endif

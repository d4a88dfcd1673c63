/*
 * dmt_probe.h - the dmatrace drop-in probe for XPDM video miniports.
 *
 * A miniport includes this header AFTER <video.h> and is compiled with
 * -DDMT_PROBE; the macros below then route its VideoPort calls through
 * dmtp_* wrappers that log one trace record per event into a dmt_ring
 * (core/ring/include/dmt/ring.h) with the freestanding CBOR encoder
 * (dmt/enc.h).  Without DMT_PROBE every macro is a no-op or the plain
 * VideoPort call, and dmt_probe.c need not be linked.  See probe/README.md.
 *
 * What is logged (schema/trace.cddl has the record layouts):
 *
 *   VideoPortInitialize        HwInterrupt replaced by a trampoline -> INTERRUPT
 *   VideoPortGetDeviceBase     DEVICE_MAP (register range = device id)
 *   VideoPort{Read,Write}Register{Uchar,Ushort,Ulong}[Buffer*]
 *                              REG_READ / REG_WRITE / REG_*_BUF (offset from base)
 *   VideoPortGetDmaAdapter     ADAPTER_CREATE (+ map registers, address limit)
 *   VideoPortPutDmaAdapter     ADAPTER_RELEASE
 *   VideoPortLockBuffer/Unlock BUFFER_LOCK / BUFFER_UNLOCK (MDL id)
 *   VideoPort{Allocate,Release}CommonBuffer  COMMON_ALLOC / COMMON_RELEASE
 *   VideoPortStartDma          START_DMA, then (ExecuteDma replaced by a
 *                              trampoline) EXECUTE_DMA with the whole SG list
 *                              and the granted *pLength, then START_DMA_END
 *   VideoPortCompleteDma       DIGEST (of the bytes moved; dmtp_set_digest, policy:
 *                              dmtp_set_digest_policy) + COMPLETE_DMA, their ring
 *                              slots reserved before the real call
 *   VideoPortQueueDpc          DPC routine replaced by a trampoline -> DPC
 *   dmtp_desc_write            DESC_WRITE (descriptor bytes put in a common buffer)
 *   dmtp_pattern               PATTERN (a buffer holds the XS64 pattern)
 *   dmtp_marker                MARKER
 *
 * Rules the implementation keeps (it runs in ISRs and DPCs of a kernel
 * driver): no allocation, no blocking, no libc beyond memcpy/memset, no
 * locks - every table is a fixed array of slots claimed with an atomic
 * compare-and-swap.  A record that finds no room in the ring is lost and
 * counted by the ring; a record the probe cannot encode or an event that
 * finds no free slot becomes a LOST record (reason DMT_LOST_PROBE).  With
 * no ring attached (or dmtp_enable(false)) each wrapper costs one
 * predictable branch.
 *
 * A file compiled with DMT_PROBE that only needs the control API (glue
 * code, tools) defines DMTP_NO_WRAP before including this header.
 *
 * Ownership: the ring region belongs to whoever passed it to dmtp_attach;
 * it must stay mapped until dmtp_detach and until the driver is quiescent
 * (the probe cannot wait for writers in flight).
 */
#ifndef DMT_PROBE_H
#define DMT_PROBE_H

#include "dmt/port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- control (called by the capture tool or the driver) ---------------- */

/* Attach to a ring region already formatted by dmt_ring_init (e.g. by the
 * recorder).  Logs a snapshot of the devices, adapters and common buffers
 * the probe already knows, so a trace that starts late is self-contained.
 * Returns 0, or -1 if the region is not a ring. */
int dmtp_attach(void *region, size_t region_len);
/* Format region as an empty drop-newest ring, then attach (the Windows
 * driver's own ring).  0 or -1. */
int dmtp_attach_new(void *region, size_t region_len);
/* Stop logging and forget the ring.  The region may be unmapped once no
 * driver routine is running. */
void dmtp_detach(void);
bool dmtp_attached(void);
/* Pause/resume logging without detaching (attach enables). */
void dmtp_enable(bool on);
/* Mark the ring closed (dmt_ring_close): the recorder stops after draining. */
void dmtp_close(void);
/* Detach and forget every table (devices, adapters, MDLs, buffers,
 * transfers), the ids and the query hooks; for a process that loads the driver several times
 * (tests, capture runs): call it before loading the driver into a new
 * machine and after freeing the old one, while no driver routine runs. */
void dmtp_reset(void);
/* The ring locator (dmt/locator.h, schema/FORMAT.md 2.2): where the
 * attached region's rings are - virtual and physical addresses, sizes,
 * instance id, ring index and count - serialized into buf (cap bytes; the
 * rest of buf is zeroed).  Returns the bytes written, or 0 when nothing is
 * attached, the region's headers do not add up (more than
 * DMT_LOC_MAX_RINGS rings, a ring past the end) or cap is too small.  On
 * Windows the probe's bug-check callback (0xEA, registered after each
 * successful HwFindAdapter when VideoPort offers
 * VideoPortRegisterBugcheckCallback) calls it to put the locator into the
 * dump's secondary data; physical addresses come from
 * MmGetPhysicalAddress at attach.  No allocation, no lock: any IRQL. */
size_t dmtp_locator(void *buf, size_t cap);
/* The physical address of the attached (or next attached) region's first
 * byte, for platforms where the probe cannot ask the OS (the host, tests);
 * the rings are taken as physically contiguous from there.  0 forgets it. */
void dmtp_set_region_phys(uint64_t phys);
/* The clock records are stamped with (DESIGN.md, "Timestamps").  Record
 * times are ns of the performance counter's time base either way:
 *   DMTP_CLOCK_COUNTER  VideoPortQueryPerformanceCounter at every record
 *   DMTP_CLOCK_TSC      the time-stamp counter, where CPUID says it is
 *                       invariant, scaled to ns by integer multiply and
 *                       shift; calibrated against the counter at attach
 *                       (a 1 ms measurement) and then after spans of TSC
 *                       time doubling up to the calibration interval, each
 *                       calibration logged as a
 *                       CALIBRATION record; the ring headers' clock_hint
 *                       says DMT_RING_CLOCK_TSC
 *   DMTP_CLOCK_AUTO     the TSC where it is usable, else the counter (the
 *                       default; dmtp_reset restores it)
 * dmtp_set_clock takes effect at the next attach: 0, or -1 for an unknown
 * mode.  A synthetic counter (the host's deterministic clock) must be
 * stamped with DMTP_CLOCK_COUNTER, which dmtc_load sets.  dmtp_clock_for:
 * the clock a mode gives on this machine; dmtp_clock: the one in use
 * (COUNTER when not attached).  dmtp_set_calibration_interval: the most
 * ns of TSC time between calibrations (0: 1 s, the default), from the next
 * attach; for tests. */
enum dmtp_clock { DMTP_CLOCK_AUTO = 0, DMTP_CLOCK_COUNTER = 1, DMTP_CLOCK_TSC = 2 };
int dmtp_set_clock(uint32_t mode);
uint32_t dmtp_clock_for(uint32_t mode);
uint32_t dmtp_clock(void);
void dmtp_set_calibration_interval(uint64_t ns);
/* Records the probe itself dropped (encode failures, slot exhaustion). */
uint64_t dmtp_lost(void);
/* The DIGEST algorithm (enum dmt_digest_algo in dmt/record.h): XXH64 by
 * default on Windows (cheap enough for a DPC), DMT64 on the host (so
 * captures keep their bytes).  Returns 0, or -1 for an algorithm the probe
 * does not compute.  dmtp_reset restores the default. */
int dmtp_set_digest(uint32_t algo);
/* The digest policy (enum dmt_digest_policy in dmt/record.h): FULL digests
 * every byte a transfer moved, BOUNDED a fixed budget per transfer (the
 * first and last 4 KiB and 16 samples of 256 bytes between: at most 12 KiB,
 * dmt/digest.h), OFF nothing (the DIGEST record says so).  The DIGEST record
 * carries the policy and the ranges digested.  dmtp_set_digest_policy sets
 * the probe's default (BOUNDED until set; dmtp_reset restores it), for every
 * adapter without its own; call it before dmtp_attach to have it from the
 * first transfer.  dmtp_set_adapter_digest_policy sets one adapter's (the
 * PVP_DMA_ADAPTER VideoPortGetDmaAdapter returned; -1 = back to the
 * default).  Both return 0, or -1 for an unknown policy or adapter, and may
 * be called at any time (a transfer takes the policy in force at its
 * CompleteDma).  dmtp_digest_policy: the policy in force for adapter (NULL:
 * the default). */
int dmtp_set_digest_policy(uint32_t policy);
int dmtp_set_adapter_digest_policy(const void *adapter, int policy);
uint32_t dmtp_digest_policy(const void *adapter);

/* Where ADAPTER_CREATE takes map_registers and addr_limit from.  The host
 * VideoPort knows the real values and installs a hook; without one the
 * probe computes the documented values (see dmt_probe.c).  The hook runs
 * inside VideoPortGetDmaAdapter at PASSIVE level; return false to fall
 * back to the computed values. */
typedef bool (*dmtp_adapter_query_fn)(void *user, void *hw_device_extension, void *adapter,
                                      uint32_t *map_registers, uint64_t *addr_limit);
void dmtp_set_adapter_query(dmtp_adapter_query_fn fn, void *user);

/* Where EXECUTE_DMA's bounce flags come from: the physical address of byte
 * offset of the buffer locked as mdl (the MDL VideoPortLockBuffer returned),
 * false when unknown.  The probe compares the first and last byte of every
 * SG element with it; a difference means the OS substituted bounce (map
 * register) pages, and the record says DMT_XF_BOUNCED.  Without a hook the
 * flags stay 0 ("not checked") - except on Windows, where the default reads
 * the MDL's frame array (MmGetMdlPfnArray) until the first call; fn NULL
 * turns the check off.  Runs inside HwVidExecuteDma (DISPATCH_LEVEL on
 * Windows): it must not block or allocate. */
typedef bool (*dmtp_phys_query_fn)(void *user, const void *mdl, uint64_t offset, uint64_t *phys);
void dmtp_set_phys_query(dmtp_phys_query_fn fn, void *user);

/* ---- explicit events (called by the instrumented driver) ---------------- */

/* The driver wrote len bytes at cb_va + offset of a common buffer the device
 * reads (descriptors).  bytes may point into the common buffer itself.
 * cb_va is the VA VideoPortAllocateCommonBuffer returned (or any VA inside
 * that buffer; offset is then relative to cb_va).  Split into records of at
 * most DMT_MAX_BYTES.  Any IRQL. */
void dmtp_desc_write(const void *cb_va, uint64_t offset, const void *bytes, size_t len);
/* Declare that bytes [offset, offset+len) of a locked buffer hold the XS64
 * pattern of seed (dmt/digest.h).  mdl_or_va: the MDL from LockBuffer, or a
 * VA inside a locked buffer (offset is then relative to that VA). */
void dmtp_pattern(const void *mdl_or_va, uint64_t seed, uint64_t offset, uint64_t len);
/* A MARKER record: NUL-terminated text (at most DMT_MAX_TEXT bytes kept). */
void dmtp_marker(const char *text);
void dmtp_marker_n(const char *text, size_t len);
/* Inside HwVidInterrupt: the engine status the ISR read (the INTERRUPT
 * record's value; 0 when never called). */
void dmtp_isr_value(void *hw_device_extension, uint32_t value);

/* ---- the wrapped VideoPort calls (need <video.h>) ----------------------- */
#ifdef __VIDEO_H__ /* both mingw's ddk/video.h and the host one define it */
#define DMTP_HAVE_VIDEO_TYPES 1
#endif

#ifdef DMTP_HAVE_VIDEO_TYPES
ULONG dmtp_VideoPortInitialize(PVOID Argument1, PVOID Argument2,
                               PVIDEO_HW_INITIALIZATION_DATA HwInitializationData, PVOID HwContext);
PVOID dmtp_VideoPortGetDeviceBase(PVOID HwDeviceExtension, PHYSICAL_ADDRESS IoAddress,
                                  ULONG NumberOfUchars, UCHAR InIoSpace);
VOID dmtp_VideoPortFreeDeviceBase(PVOID HwDeviceExtension, PVOID MappedAddress);

UCHAR dmtp_VideoPortReadRegisterUchar(PUCHAR Register);
USHORT dmtp_VideoPortReadRegisterUshort(PUSHORT Register);
ULONG dmtp_VideoPortReadRegisterUlong(PULONG Register);
VOID dmtp_VideoPortWriteRegisterUchar(PUCHAR Register, UCHAR Value);
VOID dmtp_VideoPortWriteRegisterUshort(PUSHORT Register, USHORT Value);
VOID dmtp_VideoPortWriteRegisterUlong(PULONG Register, ULONG Value);
VOID dmtp_VideoPortReadRegisterBufferUchar(PUCHAR Register, PUCHAR Buffer, ULONG Count);
VOID dmtp_VideoPortReadRegisterBufferUshort(PUSHORT Register, PUSHORT Buffer, ULONG Count);
VOID dmtp_VideoPortReadRegisterBufferUlong(PULONG Register, PULONG Buffer, ULONG Count);
VOID dmtp_VideoPortWriteRegisterBufferUchar(PUCHAR Register, PUCHAR Buffer, ULONG Count);
VOID dmtp_VideoPortWriteRegisterBufferUshort(PUSHORT Register, PUSHORT Buffer, ULONG Count);
VOID dmtp_VideoPortWriteRegisterBufferUlong(PULONG Register, PULONG Buffer, ULONG Count);

PVP_DMA_ADAPTER dmtp_VideoPortGetDmaAdapter(PVOID HwDeviceExtension,
                                            PVP_DEVICE_DESCRIPTION VpDeviceDescription);
VOID dmtp_VideoPortPutDmaAdapter(PVOID HwDeviceExtension, PVP_DMA_ADAPTER VpDmaAdapter);
PVOID dmtp_VideoPortLockBuffer(PVOID HwDeviceExtension, PVOID BaseAddress, ULONG Length,
                               VP_LOCK_OPERATION Operation);
VOID dmtp_VideoPortUnlockBuffer(PVOID HwDeviceExtension, PVOID Mdl);
PVOID dmtp_VideoPortAllocateCommonBuffer(PVOID HwDeviceExtension, PVP_DMA_ADAPTER VpDmaAdapter,
                                         ULONG DesiredLength, PPHYSICAL_ADDRESS LogicalAddress,
                                         BOOLEAN CacheEnabled, PVOID Reserved);
VOID dmtp_VideoPortReleaseCommonBuffer(PVOID HwDeviceExtension, PVP_DMA_ADAPTER VpDmaAdapter,
                                       ULONG Length, PHYSICAL_ADDRESS LogicalAddress,
                                       PVOID VirtualAddress, BOOLEAN CacheEnabled);
VP_STATUS dmtp_VideoPortStartDma(PVOID HwDeviceExtension, PVP_DMA_ADAPTER VpDmaAdapter, PVOID Mdl,
                                 ULONG Offset, PULONG pLength, PEXECUTE_DMA ExecuteDmaRoutine,
                                 PVOID Context, BOOLEAN WriteToDevice);
VP_STATUS dmtp_VideoPortCompleteDma(PVOID HwDeviceExtension, PVP_DMA_ADAPTER VpDmaAdapter,
                                    PVP_SCATTER_GATHER_LIST VpScatterGather, BOOLEAN WriteToDevice);
BOOLEAN dmtp_VideoPortQueueDpc(PVOID HwDeviceExtension, PMINIPORT_DPC_ROUTINE CallbackRoutine,
                               PVOID Context);
#endif /* DMTP_HAVE_VIDEO_TYPES */

/* ---- the drop-in macros -------------------------------------------------- */
#if defined(DMT_PROBE) && !defined(DMTP_IMPLEMENTATION) && !defined(DMTP_NO_WRAP)

#ifndef DMTP_HAVE_VIDEO_TYPES
#error "include dmt_probe.h after <video.h>"
#endif

#define VideoPortInitialize(a1, a2, hw, ctx) dmtp_VideoPortInitialize((a1), (a2), (hw), (ctx))
#define VideoPortGetDeviceBase(e, io, n, sp) dmtp_VideoPortGetDeviceBase((e), (io), (n), (sp))
#define VideoPortFreeDeviceBase(e, va)       dmtp_VideoPortFreeDeviceBase((e), (va))
#define VideoPortReadRegisterUchar(r)        dmtp_VideoPortReadRegisterUchar(r)
#define VideoPortReadRegisterUshort(r)       dmtp_VideoPortReadRegisterUshort(r)
#define VideoPortReadRegisterUlong(r)        dmtp_VideoPortReadRegisterUlong(r)
#define VideoPortWriteRegisterUchar(r, v)    dmtp_VideoPortWriteRegisterUchar((r), (v))
#define VideoPortWriteRegisterUshort(r, v)   dmtp_VideoPortWriteRegisterUshort((r), (v))
#define VideoPortWriteRegisterUlong(r, v)    dmtp_VideoPortWriteRegisterUlong((r), (v))
#define VideoPortReadRegisterBufferUchar(r, b, n)                                                  \
    dmtp_VideoPortReadRegisterBufferUchar((r), (b), (n))
#define VideoPortReadRegisterBufferUshort(r, b, n)                                                 \
    dmtp_VideoPortReadRegisterBufferUshort((r), (b), (n))
#define VideoPortReadRegisterBufferUlong(r, b, n)                                                  \
    dmtp_VideoPortReadRegisterBufferUlong((r), (b), (n))
#define VideoPortWriteRegisterBufferUchar(r, b, n)                                                 \
    dmtp_VideoPortWriteRegisterBufferUchar((r), (b), (n))
#define VideoPortWriteRegisterBufferUshort(r, b, n)                                                \
    dmtp_VideoPortWriteRegisterBufferUshort((r), (b), (n))
#define VideoPortWriteRegisterBufferUlong(r, b, n)                                                 \
    dmtp_VideoPortWriteRegisterBufferUlong((r), (b), (n))
#define VideoPortGetDmaAdapter(e, dd)     dmtp_VideoPortGetDmaAdapter((e), (dd))
#define VideoPortPutDmaAdapter(e, a)      dmtp_VideoPortPutDmaAdapter((e), (a))
#define VideoPortLockBuffer(e, va, n, op) dmtp_VideoPortLockBuffer((e), (va), (n), (op))
#define VideoPortUnLockBuffer(e, m)       dmtp_VideoPortUnlockBuffer((e), (m))
#define VideoPortUnlockBuffer(e, m)       dmtp_VideoPortUnlockBuffer((e), (m))
#define VideoPortAllocateCommonBuffer(e, a, n, la, c, r)                                           \
    dmtp_VideoPortAllocateCommonBuffer((e), (a), (n), (la), (c), (r))
#define VideoPortReleaseCommonBuffer(e, a, n, la, va, c)                                           \
    dmtp_VideoPortReleaseCommonBuffer((e), (a), (n), (la), (va), (c))
#define VideoPortStartDma(e, a, m, off, pl, ex, ctx, w)                                            \
    dmtp_VideoPortStartDma((e), (a), (m), (off), (pl), (ex), (ctx), (w))
#define VideoPortCompleteDma(e, a, sg, w) dmtp_VideoPortCompleteDma((e), (a), (sg), (w))
#define VideoPortQueueDpc(e, fn, ctx)     dmtp_VideoPortQueueDpc((e), (fn), (ctx))

/* Explicit calls, compiled out without DMT_PROBE. */
#define DMTP_COMPILED                      1
#define DMTP_ATTACHED()                    dmtp_attached()
#define DMTP_ATTACH_NEW(region, len)       dmtp_attach_new((region), (len))
#define DMTP_DESC_WRITE(cb, off, bytes, n) dmtp_desc_write((cb), (off), (bytes), (n))
#define DMTP_PATTERN(mdl, seed, off, n)    dmtp_pattern((mdl), (seed), (off), (n))
#define DMTP_MARKER_N(text, n)             dmtp_marker_n((text), (n))
#define DMTP_MARKER(text)                  dmtp_marker(text)
#define DMTP_ISR_VALUE(ext, v)             dmtp_isr_value((ext), (v))

#elif !defined(DMTP_IMPLEMENTATION) && !defined(DMTP_NO_WRAP)

#define DMTP_COMPILED                0
#define DMTP_ATTACHED()              0
#define DMTP_ATTACH_NEW(region, len) ((void)sizeof(region), (void)sizeof(len), -1)
#define DMTP_DESC_WRITE(cb, off, bytes, n)                                                         \
    ((void)sizeof(cb), (void)sizeof(off), (void)sizeof(bytes), (void)sizeof(n))
#define DMTP_PATTERN(mdl, seed, off, n)                                                            \
    ((void)sizeof(mdl), (void)sizeof(seed), (void)sizeof(off), (void)sizeof(n))
#define DMTP_MARKER_N(text, n) ((void)sizeof(text), (void)sizeof(n))
#define DMTP_MARKER(text)      ((void)sizeof(text))
#define DMTP_ISR_VALUE(ext, v) ((void)sizeof(ext), (void)sizeof(v))

#endif

#ifdef __cplusplus
}
#endif

#endif

/*
 * dmt_probe.c - the dmatrace probe: VideoPort wrappers that log trace
 * records into a lock-free dmt_ring.  Compiled into the host build of the
 * sample miniport and into dmtmini.sys; freestanding C89 (no libc beyond
 * memcpy/memset, no allocation, no blocking).
 *
 * State: one static instance (a driver carries one probe).  Tables are
 * fixed arrays of slots; a slot is claimed by CAS on its key from FREE to
 * BUSY, filled, then published by a release store of the real key (a
 * pointer, never 0 or 1).  Readers match keys with acquire loads, so they
 * never see a half-filled slot.  Ids come from atomic counters (from 1).
 *
 *   key:  FREE(0) --CAS--> BUSY(1) --fill, store-release--> K --store--> FREE
 *
 * A transfer (one StartDma .. CompleteDma) lives in an xfer slot that holds
 * two references:
 *
 *   StartDma wrapper         claim slot, refs = 2, log START_DMA
 *     real StartDma
 *       exec trampoline      sg, granted, executed set; log EXECUTE_DMA;
 *                            call the driver's HwVidExecuteDma
 *     log START_DMA_END      (reads granted from the slot), drop ref 1;
 *                            also drop ref 2 if StartDma failed unexecuted
 *   CompleteDma wrapper      take the slot whose sg matches (CAS sg -> 0, so
 *                            a second CompleteDma of the same list does not
 *                            match), reserve DIGEST + COMPLETE_DMA, real
 *                            CompleteDma, fill and commit them, drop ref 2
 *   refs == 0                slot FREE
 *
 * so START_DMA_END and CompleteDma may run in either order on any CPU.
 * A transfer whose CompleteDma never comes keeps its slot until
 * PutDmaAdapter of its adapter or dmtp_reset.
 *
 * Record order: writes are logged before the access (a doorbell's
 * consequences - interrupt, DPC - come after it in the ring), reads after
 * it (they carry the value).  Timestamps are ns: from the invariant TSC,
 * calibrated against VideoPortQueryPerformanceCounter (CALIBRATION
 * records), or from that counter itself where the TSC is not to be used
 * (dmtp_set_clock).
 *
 * The file is C89 (WDK 7.1's cl 15.00 builds it): declarations at the top of
 * blocks, atomics and compile-time checks from dmt/port.h.
 */
#define DMTP_IMPLEMENTATION 1

#include <ntdef.h>
#include <dderror.h>
#include <devioctl.h>
#include <miniport.h>
#include <ntddvdeo.h>
#include <video.h>

#include <string.h>

#include "dmt/digest.h"
#include "dmt/enc.h"
#include "dmt/locator.h"
#include "dmt/port.h"
#include "dmt/record.h"
#include "dmt/ring.h"
#include "dmt_probe.h"

#define DMTP_MAX_DEVS     8
#define DMTP_MAX_ADAPTERS 16
#define DMTP_MAX_MDLS     64
#define DMTP_MAX_CBS      32
#define DMTP_MAX_XFERS    64
#define DMTP_MAX_DPCS     32
#define DMTP_BUF_VALUES   64 /* register-buffer values per record (stack: 512 bytes) */

#define KEY_FREE ((uintptr_t)0)
#define KEY_BUSY ((uintptr_t)1)

#define LIKELY(x)   DMT_LIKELY(x)
#define UNLIKELY(x) DMT_UNLIKELY(x)

/* The layouts the probe reads, pinned per architecture.  An SG element is
 * PHYSICAL_ADDRESS Address (+0), ULONG Length (+8), ULONG_PTR Reserved:
 * 24 bytes on x64 (4 bytes of padding before Reserved), 16 on x86.  The
 * EXECUTE_DMA record takes its stride from sizeof(VP_SCATTER_GATHER_ELEMENT)
 * and reads the address at +0 and the length at +8 (dmt_record_sg_at).  The
 * head of an MDL (os_mdl below, Windows only) is 48 bytes on x64 and 28 on
 * x86, and its frame array follows it.  The calling conventions of the
 * trampolines (NTAPI: __stdcall on x86) are checked where they are handed
 * to VideoPort as PVIDEO_HW_INTERRUPT, PEXECUTE_DMA and
 * PMINIPORT_DPC_ROUTINE. */
#if defined(_M_X64) || defined(_M_AMD64) || defined(__x86_64__) || defined(__LP64__)
#define DMTP_SG_ELEM_SIZE     24
#define DMTP_SG_LIST_ELEMENTS 16
#define DMTP_MDL_HEAD_SIZE    48
#define DMTP_MDL_MAPPED_VA    24
#define DMTP_MDL_BYTE_COUNT   40
#elif defined(_M_IX86) || defined(__i386__)
#define DMTP_SG_ELEM_SIZE     16
#define DMTP_SG_LIST_ELEMENTS 8
#define DMTP_MDL_HEAD_SIZE    28
#define DMTP_MDL_MAPPED_VA    12
#define DMTP_MDL_BYTE_COUNT   20
#else
#error "dmt_probe.c: pin the VideoPort and MDL layouts of this architecture"
#endif
DMT_STATIC_ASSERT(sizeof(PHYSICAL_ADDRESS) == 8, physical_address_size);
DMT_STATIC_ASSERT(sizeof(VP_SCATTER_GATHER_ELEMENT) == DMTP_SG_ELEM_SIZE, sg_elem_size);
DMT_STATIC_ASSERT(offsetof(VP_SCATTER_GATHER_ELEMENT, Address) == 0, sg_elem_address);
DMT_STATIC_ASSERT(offsetof(VP_SCATTER_GATHER_ELEMENT, Length) == 8, sg_elem_length);
DMT_STATIC_ASSERT(offsetof(VP_SCATTER_GATHER_LIST, Elements) == DMTP_SG_LIST_ELEMENTS,
                  sg_list_elements);

/* ---- OS layer -------------------------------------------------------------- */
#if defined(_WIN32)
/* Kernel routines outside the VideoPort API, declared here because
 * <wdm.h> cannot be mixed with <video.h>.  MmMapLockedPagesSpecifyCache
 * (ntoskrnl) gives a system VA for a locked user buffer so CompleteDma can
 * digest it from any process context; KeQueryPerformanceCounter (hal.dll on
 * x64 Windows 7 and earlier) reads the clock before any HwDeviceExtension
 * exists to pass to VideoPortQueryPerformanceCounter. */
DECLSPEC_IMPORT PVOID NTAPI MmMapLockedPagesSpecifyCache(PVOID Mdl, CHAR AccessMode, int CacheType,
                                                         PVOID RequestedAddress,
                                                         ULONG BugCheckOnFailure, ULONG Priority);
DECLSPEC_IMPORT LARGE_INTEGER NTAPI KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency);
/* MmGetPhysicalAddress (ntoskrnl, any IRQL for a mapped nonpaged VA): the
 * ring headers' physical addresses for the bug-check locator.  VideoPort
 * has no routine for a VA it did not map itself. */
DECLSPEC_IMPORT PHYSICAL_ADDRESS NTAPI MmGetPhysicalAddress(PVOID BaseAddress);

/* The head of an MDL (wdm.h _MDL; x64 and x86 layouts pinned below). */
typedef struct os_mdl {
    struct os_mdl *Next;
    SHORT Size;
    SHORT MdlFlags;
    PVOID Process;
    PVOID MappedSystemVa;
    PVOID StartVa;
    ULONG ByteCount;
    ULONG ByteOffset;
} os_mdl;
DMT_STATIC_ASSERT(sizeof(os_mdl) == DMTP_MDL_HEAD_SIZE, mdl_head_size);
DMT_STATIC_ASSERT(offsetof(os_mdl, MappedSystemVa) == DMTP_MDL_MAPPED_VA, mdl_mapped_va);
DMT_STATIC_ASSERT(offsetof(os_mdl, ByteCount) == DMTP_MDL_BYTE_COUNT, mdl_byte_count);
#define OS_MDL_MAPPED_TO_SYSTEM_VA     0x0001
#define OS_MDL_SOURCE_IS_NONPAGED_POOL 0x0004
#define OS_KERNEL_MODE                 0
#define OS_MM_CACHED                   1
#define OS_NORMAL_PAGE_PRIORITY        16

static LONGLONG os_qpc(void *ext, LONGLONG *freq)
{
    LARGE_INTEGER f, t;
    if (ext)
        return VideoPortQueryPerformanceCounter(ext, freq);
    t = KeQueryPerformanceCounter(freq ? &f : NULL);
    if (freq)
        *freq = f.QuadPart;
    return t.QuadPart;
}

/* System VA of the first byte of a locked buffer (PASSIVE..DISPATCH).  The
 * mapping is torn down by MmUnlockPages inside VideoPortUnlockBuffer. */
static uintptr_t os_mdl_sysva(void *mdl, void *user_va)
{
    os_mdl *m = mdl;
    (void)user_va;
    if (m->MdlFlags & (OS_MDL_MAPPED_TO_SYSTEM_VA | OS_MDL_SOURCE_IS_NONPAGED_POOL))
        return (uintptr_t)m->MappedSystemVa;
    return (uintptr_t)MmMapLockedPagesSpecifyCache(m, OS_KERNEL_MODE, OS_MM_CACHED, NULL, FALSE,
                                                   OS_NORMAL_PAGE_PRIORITY);
}

/* The default phys query: the frame array that follows the MDL head
 * (MmGetMdlPfnArray).  Under DMA remapping (an IOMMU) logical addresses are
 * not physical ones and every list would read as bounced; a driver for such
 * a machine installs its own hook or none (dmtp_set_phys_query). */
static bool os_phys_query(void *user, const void *mdl, uint64_t offset, uint64_t *phys)
{
    const os_mdl *m = (const os_mdl *)mdl;
    const ULONG_PTR *pfn = (const ULONG_PTR *)(const void *)(m + 1);
    uint64_t at = (uint64_t)m->ByteOffset + offset;
    (void)user;
    if (offset >= m->ByteCount)
        return false;
    *phys = (uint64_t)pfn[at >> 12] << 12 | (at & 0xFFFu);
    return true;
}
#define OS_PHYS_QUERY os_phys_query

/* Physical address of a nonpaged VA (attach time, PASSIVE_LEVEL). */
static uint64_t os_va_phys(const void *va)
{
    PHYSICAL_ADDRESS pa = MmGetPhysicalAddress((PVOID)va);
    return (uint64_t)pa.QuadPart;
}
#define OS_VA_PHYS_SOURCE DMT_LOC_PHYS_MM
/* The current processor's number (KeGetCurrentProcessorNumber, which the
 * WDK inlines as a read of the processor control region: KPCR.Number at
 * fs:0x51 on x86, KPRCB.Number at gs:0x184 on x64) and the number of
 * processors (KeNumberProcessors, exported by ntoskrnl). */
#if defined(_MSC_VER)
#if defined(_M_X64) || defined(_M_AMD64)
unsigned char __readgsbyte(unsigned long offset);
#pragma intrinsic(__readgsbyte)
#define OS_CPU() ((uint32_t)__readgsbyte(0x184))
#else
unsigned char __readfsbyte(unsigned long offset);
#pragma intrinsic(__readfsbyte)
#define OS_CPU() ((uint32_t)__readfsbyte(0x51))
#endif
#else
static uint32_t os_cpu_asm(void)
{
    unsigned char n;
#if defined(__x86_64__)
    __asm__ __volatile__("movb %%gs:0x184, %0" : "=q"(n));
#else
    __asm__ __volatile__("movb %%fs:0x51, %0" : "=q"(n));
#endif
    return n;
}
#define OS_CPU() os_cpu_asm()
#endif
DECLSPEC_IMPORT extern CCHAR KeNumberProcessors;
static uint32_t os_cpus(void)
{
    return KeNumberProcessors > 0 ? (uint32_t)KeNumberProcessors : 1u;
}
/* A real driver digests in its DPC: XXH64 costs a quarter of DMT64. */
#define DMTP_DEFAULT_DIGEST DMT_DIGEST_XXH64
#else
/* Host: the driver, the VideoPort and the buffers share one address space. */
static LONGLONG os_qpc(void *ext, LONGLONG *freq)
{
    return VideoPortQueryPerformanceCounter(ext, freq);
}

static uintptr_t os_mdl_sysva(void *mdl, void *user_va)
{
    (void)mdl;
    return (uintptr_t)user_va;
}

/* No default: the host VideoPort installs dmtp_hvp_phys_query. */
#define OS_PHYS_QUERY       NULL
/* A host region has no physical address unless the caller gives one
 * (dmtp_set_region_phys). */
static uint64_t os_va_phys(const void *va)
{
    (void)va;
    return 0;
}
#define OS_VA_PHYS_SOURCE   DMT_LOC_PHYS_NONE

/* glibc's, read from the kernel's rseq area (a few ns, no system call). */
extern int sched_getcpu(void);
#define OS_CPU()            ((uint32_t)sched_getcpu())
static uint32_t os_cpus(void)
{
    return 1u; /* dmtp_attach_new is the Windows driver's; the host formats its own regions */
}
/* DMT64, as every capture so far (a capture's bytes do not change). */
#define DMTP_DEFAULT_DIGEST DMT_DIGEST_DMT64
#endif
/* A fixed budget per transfer: a 4 MiB transfer costs the DPC a few
 * microseconds instead of a millisecond (DESIGN.md, "Digest policy"). */
#define DMTP_DEFAULT_POLICY DMT_DIGEST_BOUNDED

/* ---- tables ----------------------------------------------------------------- */

typedef struct dev_ent {
    uintptr_t key; /* mapped base VA */
    uintptr_t len;
    uint64_t bus;
    void *ext;
    uint32_t id;
    uint32_t isr_value; /* (atomic) */
} dev_ent;

typedef struct ad_ent {
    uintptr_t key; /* PVP_DMA_ADAPTER */
    void *ext;
    uint32_t id, dev, map_registers, max_length;
    uint32_t policy; /* (atomic) enum dmt_digest_policy + 1; 0 = the probe's default */
    uint64_t addr_limit;
    bool sg, dma32, dma64;
} ad_ent;

typedef struct mdl_ent {
    uintptr_t key; /* the MDL */
    uint32_t id, op, len;
    uintptr_t va, sysva;
} mdl_ent;

typedef struct cb_ent {
    uintptr_t key; /* the VA AllocateCommonBuffer returned */
    uint32_t id, adapter, len;
    uint64_t logical;
    bool cached;
} cb_ent;

typedef struct xf_ent {
    uint32_t state;    /* (atomic) 0 free, 1 in use */
    uint32_t refs;     /* (atomic) */
    uintptr_t sg;      /* (atomic) list given to ExecuteDma; 0 once completed */
    uint32_t executed; /* (atomic) */
    uint32_t granted;  /* (atomic) */
    uint32_t xfer, adapter, mdl, dev;
    uintptr_t adapter_ptr, mdl_ptr;
    uint64_t offset;
    PULONG plen;
    PEXECUTE_DMA exec;
    PVOID ctx;
    bool wtd;
} xf_ent;

typedef struct dpc_ent {
    uint32_t state; /* (atomic) */
    PMINIPORT_DPC_ROUTINE fn;
    PVOID ctx;
    void *ext;
} dpc_ent;

/* The TSC clock: a published conversion, and the calibration state the
 * CPU holding busy (or attach) owns. */
struct dmtp_tslot {
    DMT_ALIGN8(uint64_t tsc);  /* (atomic) base_tsc */
    DMT_ALIGN8(uint64_t ns);   /* (atomic) base_ns */
    DMT_ALIGN8(uint64_t span); /* (atomic) TSC ticks after base_tsc to the next calibration */
    uint32_t mult;             /* (atomic) */
};
struct dmtp_tc {
    struct dmtp_tslot slot[4];
    uint32_t gen;  /* (atomic) the slot in force: slot[gen & 3] */
    uint32_t busy; /* (atomic) try-lock of the recalibration */
    uint32_t shift;
    uint64_t interval; /* TSC ticks between calibrations */
    uint64_t t0, c0;   /* the first pair (TSC, counter ns): the rate's baseline */
    uint64_t w0_ns;    /* its read window */
    uint64_t counter;  /* the last pair's counter ticks (for the record) */
    uint64_t err0;     /* attach's error bound, logged once logging starts */
};

/* Fields marked (atomic) are touched only through dmt/port.h's operations;
 * pointers are kept as uintptr_t for them. */
static struct dmtp_state {
    uintptr_t active;  /* (atomic) the dmt_ringset while logging, else 0 */
    uint32_t attached; /* (atomic) */
    uint32_t enabled;  /* (atomic) */
    dmt_ringset set;   /* the region's rings; CPU n logs into ring n % count */
    uintptr_t region;
    size_t region_len;
    uint64_t region_phys; /* dmtp_set_region_phys, 0 = ask the OS */
    dmt_locator loc;      /* the bug-check locator, filled at attach */
    PVIDEO_HW_FIND_ADAPTER find;
    uintptr_t ext;             /* (atomic) some HwDeviceExtension, for the clock */
    DMT_ALIGN8(uint64_t freq); /* (atomic) */
    uint32_t clock_mode;       /* (atomic) dmtp_set_clock: enum dmtp_clock, 0 = AUTO */
    uint32_t clock;            /* (atomic) DMTP_CLOCK_TSC while the TSC stamps, else COUNTER */
    uint64_t cal_interval;     /* dmtp_set_calibration_interval, 0 = DMTP_CAL_INTERVAL_NS */
    struct dmtp_tc tc;         /* the TSC clock (see "clock and emission") */
    uint32_t next_dev, next_adapter, next_mdl, next_cb, next_xfer; /* (atomic) */
    uint32_t xfers_live, mdls_live;                                /* (atomic) */
    DMT_ALIGN8(uint64_t lost);                                     /* (atomic) */
    uintptr_t query;      /* (atomic) dmtp_adapter_query_fn */
    uintptr_t query_user; /* (atomic) */
    uintptr_t phys_query; /* (atomic) dmtp_phys_query_fn */
    uintptr_t phys_user;  /* (atomic) */
    uint32_t phys_set;    /* (atomic) dmtp_set_phys_query was called: no OS default */
    uint32_t digest;      /* (atomic) enum dmt_digest_algo, 0 = DMTP_DEFAULT_DIGEST */
    uint32_t policy;      /* (atomic) enum dmt_digest_policy + 1, 0 = DMTP_DEFAULT_POLICY */
    PVIDEO_HW_INTERRUPT isr;
    VIDEO_HW_INITIALIZATION_DATA init;
    dev_ent devs[DMTP_MAX_DEVS];
    ad_ent ads[DMTP_MAX_ADAPTERS];
    mdl_ent mdls[DMTP_MAX_MDLS];
    cb_ent cbs[DMTP_MAX_CBS];
    xf_ent xfers[DMTP_MAX_XFERS];
    dpc_ent dpcs[DMTP_MAX_DPCS];
} g;

static bool key_claim(uintptr_t *key)
{
    uintptr_t exp = KEY_FREE;
    return dmt_casp(key, &exp, KEY_BUSY, DMT_ACQ, DMT_RLX);
}

static void key_publish(uintptr_t *key, uintptr_t k)
{
    dmt_stp(key, k, DMT_REL);
}

static bool key_is(uintptr_t *key, uintptr_t k)
{
    return dmt_ldp(key, DMT_ACQ) == k;
}

static uintptr_t key_live(uintptr_t *key)
{
    uintptr_t k = dmt_ldp(key, DMT_ACQ);
    return k > KEY_BUSY ? k : 0;
}

static uint32_t next_id(uint32_t *ctr)
{
    return dmt_add32(ctr, 1u, DMT_RLX) + 1u;
}

static bool logging(void)
{
    return dmt_ldp(&g.active, DMT_RLX) != 0;
}

static void note_ext(void *ext)
{
    if (ext && !dmt_ldp(&g.ext, DMT_RLX))
        dmt_stp(&g.ext, (uintptr_t)ext, DMT_RLX);
}

/* ---- clock and emission ------------------------------------------------------ */

static int64_t ticks_to_ns(LONGLONG t, uint64_t f)
{
    uint64_t u;
    if (f == 0 || t < 0)
        return 0;
    u = (uint64_t)t;
    return (int64_t)((u / f) * 1000000000ull + (u % f) * 1000000000ull / f);
}

/* The performance counter in ns (its frequency read once); *ticks (may be
 * NULL): the count itself. */
static int64_t counter_ns(LONGLONG *ticks)
{
    void *ext = (void *)dmt_ldp(&g.ext, DMT_RLX);
    uint64_t f = dmt_ld64(&g.freq, DMT_RLX);
    LONGLONG t;
    if (f == 0) {
        LONGLONG ff = 0;
        t = os_qpc(ext, &ff);
        if (ff > 0)
            dmt_st64(&g.freq, (uint64_t)ff, DMT_RLX);
        f = ff > 0 ? (uint64_t)ff : 0;
    } else {
        t = os_qpc(ext, NULL);
    }
    if (ticks)
        *ticks = t;
    return ticks_to_ns(t, f);
}

/*
 * The TSC clock (DESIGN.md, "Timestamps").  A record's time is
 *
 *   ns = base_ns + ((tsc - base_tsc) * mult >> shift)
 *
 * with (base_tsc, base_ns, mult) one of four slots, the one generation
 * g.tc.gen names.  A reader takes the generation, the slot and the TSC,
 * and retries only if three generations were published meanwhile (the
 * writer then may have reused its slot): it never waits for a writer.
 * The first reader that finds the TSC past base_tsc + span (as long as
 * the baseline since attach, doubling up to the interval) takes the
 * try-lock (busy: CAS 0 -> 1; the others go on with the old slot), reads
 * the counter between two TSC reads, and publishes a slot whose base_ns is
 * the old conversion's value at that TSC (continuous, monotonic) and whose
 * mult aims at the counter's time one span later, as the rate measured
 * since attach predicts (so the offset found now is slewed away, never
 * stepped).  Each calibration is logged as a CALIBRATION record.
 */
#define DMTP_CAL_INTERVAL_NS 1000000000ull /* recalibrate after 1 s of TSC time */
#define DMTP_CAL_SPIN_NS     1000000ull    /* attach: the first rate over 1 ms */
#define DMTP_CAL_SPIN_MAX    100000000ul   /* ... or this many pairs */
#define DMTP_CAL_TRIES       8u            /* reads per (TSC, counter) pair */

/* floor(a * b / c) for c > 0 and a result below 2^64: a 128-bit product
 * and a shift-subtract division (calibration only, never on the hot
 * path; no __int128 on MSVC targets). */
static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    uint64_t lo = (mid << 32) | (uint32_t)ll;
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    uint64_t q = 0, r = 0;
    int i;
    if (c == 0)
        return 0;
    if (hi == 0)
        return lo / c;
    for (i = 127; i >= 0; i--) {
        uint64_t top = r >> 63;
        r = r << 1 | ((i >= 64 ? hi >> (i - 64) : lo >> i) & 1u);
        if (top || r >= c) {
            r -= c;
            if (i < 64)
                q |= (uint64_t)1 << i;
        }
    }
    return q;
}

static void emit_at(const dmt_record *r, int64_t t);
static void rec_init(dmt_record *r, uint32_t kind);

/* Read the counter between two TSC reads: the TSC at the middle, the
 * counter in ns, the window in TSC ticks; the narrowest window of
 * DMTP_CAL_TRIES (an interrupt or a preemption inside one widens it). */
static void tc_pair(uint64_t *tsc, uint64_t *cns, uint64_t *window)
{
    unsigned i;
    *window = UINT64_MAX;
    for (i = 0; i < DMTP_CAL_TRIES; i++) {
        uint64_t a = dmt_rdtsc(), b, c;
        LONGLONG ticks = 0;
        c = (uint64_t)counter_ns(&ticks);
        b = dmt_rdtsc();
        if (b >= a && b - a < *window) {
            g.tc.counter = (uint64_t)ticks;
            *cns = c;
            *tsc = a + (b - a) / 2u;
            *window = b - a;
        }
    }
    if (*window == UINT64_MAX) { /* the TSC went back: no pair */
        *tsc = dmt_rdtsc();
        *cns = (uint64_t)counter_ns(NULL);
        *window = 0;
    }
}

/* Log the calibration just published (slot s), at its base time. */
static void tc_log(const struct dmtp_tslot *s, uint64_t err_ns)
{
    dmt_record r;
    rec_init(&r, DMT_K_CALIBRATION);
    r.tsc = dmt_ld64(&s->tsc, DMT_RLX);
    r.counter = g.tc.counter;
    r.counter_hz = dmt_ld64(&g.freq, DMT_RLX);
    r.mult = dmt_ld32(&s->mult, DMT_RLX);
    r.shift = g.tc.shift;
    r.err_ns = err_ns;
    emit_at(&r, (int64_t)dmt_ld64(&s->ns, DMT_RLX));
}

static void tc_publish(uint64_t tsc, uint64_t ns, uint32_t mult, uint64_t span)
{
    uint32_t gen = dmt_ld32(&g.tc.gen, DMT_RLX) + 1u;
    struct dmtp_tslot *s = &g.tc.slot[gen & 3u];
    dmt_fence_rel(); /* the previous generation before this slot's stores */
    dmt_st64(&s->tsc, tsc, DMT_RLX);
    dmt_st64(&s->ns, ns, DMT_RLX);
    dmt_st64(&s->span, span, DMT_RLX);
    dmt_st32(&s->mult, mult, DMT_RLX);
    dmt_st32(&g.tc.gen, gen, DMT_REL);
}

/* The TSC ticks until the calibration after one at TSC tsc: as long as
 * the baseline so far (the rate's error then at most doubles the error
 * bound), up to the interval. */
static uint64_t tc_span(uint64_t tsc)
{
    uint64_t b = tsc - g.tc.t0;
    return b < g.tc.interval ? (b ? b : 1u) : g.tc.interval;
}

/* The error bound of a calibration whose offset from the counter is
 * off_ns, read in a window of w TSC ticks, with the rate measured as dns
 * counter ns over dtsc ticks, valid for span ticks. */
static uint64_t tc_err(uint64_t off_ns, uint64_t w, uint64_t dtsc, uint64_t dns, uint64_t span)
{
    uint64_t w_ns = muldiv(w, dns, dtsc) + 1u;
    uint64_t tick = 1000000000ull / (dmt_ld64(&g.freq, DMT_RLX) | 1u) + 1u;
    uint64_t interval = muldiv(span, dns, dtsc);
    /* the rate's uncertainty: both ends' windows and counter ticks over the
     * baseline, carried over the next interval */
    uint64_t rate = muldiv(g.tc.w0_ns + w_ns + 2u * tick, interval, dns);
    return off_ns + w_ns + tick + rate;
}

/* Recalibrate at TSC now (the caller found the interval over). */
static void tc_recalibrate(uint64_t now)
{
    uint32_t exp = 0, gen, mult;
    struct dmtp_tslot *s;
    uint64_t bt, bn, tsc, cns, w, dtsc, dns, nk, proj, target, off, span;
    if (!dmt_cas32(&g.tc.busy, &exp, 1u, DMT_ACQ, DMT_RLX))
        return; /* another CPU is at it */
    gen = dmt_ld32(&g.tc.gen, DMT_ACQ);
    s = &g.tc.slot[gen & 3u];
    bt = dmt_ld64(&s->tsc, DMT_RLX);
    bn = dmt_ld64(&s->ns, DMT_RLX);
    mult = dmt_ld32(&s->mult, DMT_RLX);
    if (now < bt || now - bt < dmt_ld64(&s->span, DMT_RLX)) { /* done meanwhile */
        dmt_st32(&g.tc.busy, 0u, DMT_REL);
        return;
    }
    tc_pair(&tsc, &cns, &w);
    if (tsc < bt)
        tsc = bt;
    nk = bn + dmt_mul_shift(tsc - bt, mult, g.tc.shift);
    dtsc = tsc - g.tc.t0;
    dns = cns > g.tc.c0 ? cns - g.tc.c0 : 1u;
    span = tc_span(tsc);
    proj = muldiv(dns, span, dtsc);
    /* aim at cns + proj one span on; keep the slope within a factor
     * of two of the measured rate (a counter that jumped is not chased) */
    target = cns + proj > nk ? cns + proj - nk : 0;
    if (target < proj / 2u)
        target = proj / 2u;
    if (target > proj * 2u)
        target = proj * 2u;
    mult = (uint32_t)muldiv(target, (uint64_t)1 << g.tc.shift, span);
    if (mult == 0)
        mult = 1;
    off = cns > nk ? cns - nk : nk - cns;
    tc_publish(tsc, nk, mult, span);
    tc_log(&g.tc.slot[(gen + 1u) & 3u], tc_err(off, w, dtsc, dns, span));
    dmt_st32(&g.tc.busy, 0u, DMT_REL);
}

/* The calibration at attach: the rate over DMTP_CAL_SPIN_NS of counter
 * time, or the counter clock when the TSC is not to be used or the two
 * do not look like clocks (a synthetic counter).  Before logging starts. */
static void tc_start(void)
{
    uint64_t ta, ca, wa, tb, cb, wb, dtsc, dns, m, ns;
    unsigned long spin = 0;
    unsigned shift = 32;
    dmt_st32(&g.clock, DMTP_CLOCK_COUNTER, DMT_REL);
    if (dmtp_clock_for(dmt_ld32(&g.clock_mode, DMT_RLX)) != DMTP_CLOCK_TSC)
        return;
    tc_pair(&ta, &ca, &wa);
    do
        tc_pair(&tb, &cb, &wb);
    while (cb - ca < DMTP_CAL_SPIN_NS && cb >= ca && ++spin < DMTP_CAL_SPIN_MAX);
    dtsc = tb - ta;
    dns = cb - ca;
    if (tb <= ta || cb <= ca || dtsc < dns / 16u)
        return; /* not a TSC of 62.5 MHz or more beside a running counter */
    m = muldiv(dns, (uint64_t)1 << 32, dtsc);
    while (m >> 32) {
        shift--;
        m >>= 1;
    }
    ns = g.cal_interval ? g.cal_interval : DMTP_CAL_INTERVAL_NS;
    memset(&g.tc, 0, sizeof(g.tc));
    tc_pair(&tb, &cb, &wb); /* the base: a fresh pair, the counter beside it */
    g.tc.shift = shift;
    g.tc.interval = muldiv(ns, dtsc, dns) + 1u;
    g.tc.t0 = ta;
    g.tc.c0 = ca;
    g.tc.w0_ns = muldiv(wa, dns, dtsc) + 1u;
    dtsc = tb - ta;
    dns = cb - ca;
    g.tc.err0 = tc_err(0, wb, dtsc, dns, tc_span(tb));
    tc_publish(tb, cb, (uint32_t)m, tc_span(tb));
    dmt_st32(&g.clock, DMTP_CLOCK_TSC, DMT_REL);
}

/* The TSC clock's time now (see above). */
static int64_t tc_now(void)
{
    uint32_t gen, mult;
    uint64_t bt, bn, span, t;
    const struct dmtp_tslot *s;
    bool again = true;
    for (;;) {
        gen = dmt_ld32(&g.tc.gen, DMT_ACQ);
        s = &g.tc.slot[gen & 3u];
        bt = dmt_ld64(&s->tsc, DMT_RLX);
        bn = dmt_ld64(&s->ns, DMT_RLX);
        span = dmt_ld64(&s->span, DMT_RLX);
        mult = dmt_ld32(&s->mult, DMT_RLX);
        t = dmt_rdtsc();
        dmt_fence_acq();
        if (dmt_ld32(&g.tc.gen, DMT_RLX) - gen >= 3u)
            continue; /* the slot may have been reused under us */
        if (t < bt)
            t = bt; /* another CPU's TSC a few ticks behind: not before the base */
        if (UNLIKELY(t - bt >= span) && again) {
            tc_recalibrate(t); /* one CPU does it, the others go on */
            again = false;
            continue; /* stamp with the new slot: not before its CALIBRATION */
        }
        return (int64_t)(bn + dmt_mul_shift(t - bt, mult, g.tc.shift));
    }
}

static int64_t now_ns(void)
{
    if (dmt_ld32(&g.clock, DMT_ACQ) == DMTP_CLOCK_TSC)
        return tc_now();
    return counter_ns(NULL);
}

static void rec_init(dmt_record *r, uint32_t kind)
{
    memset(r, 0, sizeof(*r));
    r->kind = kind;
}

/* Records whose worst case fits here are encoded on the stack and reserved
 * exactly: a reservation of the worst case would leave a padding slot
 * behind almost every record (a register write is ~10 bytes, its bound 83)
 * and spend three times the ring.  256 bytes of stack is fine at any IRQL. */
#define DMTP_SMALL_RECORD 256u

/* Encode r into buf; a record that does not encode (a format limit) is
 * replaced by a LOST record counting it.  Returns the bytes used. */
static size_t encode_or_lost(uint8_t *buf, size_t cap, const dmt_record *r, int64_t t)
{
    size_t n = dmt_enc_record(buf, cap, r, t);
    if (n == 0) {
        dmt_record l;
        rec_init(&l, DMT_K_LOST);
        l.count = 1;
        l.reason = DMT_LOST_PROBE;
        dmt_add64(&g.lost, 1, DMT_RLX);
        n = dmt_enc_record(buf, cap, &l, t);
    }
    return n;
}

/* The ring of the current CPU, or NULL when not logging.  No shared write:
 * the CPU number chooses among the region's rings (dmt_ringset_pick). */
static dmt_ring *pick_ring(void)
{
    dmt_ringset *set = (dmt_ringset *)dmt_ldp(&g.active, DMT_ACQ);
    if (!set)
        return NULL;
    return set->count == 1 ? &set->rings[0] : dmt_ringset_pick(set, OS_CPU());
}

/* Encode r into the ring: small records on the stack, then one exact
 * reservation; larger ones (long SG lists, descriptor batches) straight
 * into a worst-case reservation. */
static void emit_ring(dmt_ring *ring, const dmt_record *r, int64_t t)
{
    size_t bound;
    dmt_ring_resv rv;
    bound = dmt_enc_record_bound(r);
    if (bound <= DMTP_SMALL_RECORD) {
        uint8_t small[DMTP_SMALL_RECORD];
        size_t n = encode_or_lost(small, sizeof small, r, t);
        dmt_ring_write(ring, small, (uint32_t)n); /* a loss is counted by the ring */
        return;
    }
    if (bound > DMT_RING_MAX_PAYLOAD)
        bound = DMT_RING_MAX_PAYLOAD;
    if (!dmt_ring_reserve(ring, (uint32_t)bound, &rv))
        return; /* counted by the ring */
    dmt_ring_commit(ring, &rv, (uint32_t)encode_or_lost(rv.buf, rv.len, r, t));
}

static void emit(const dmt_record *r)
{
    dmt_ring *ring = pick_ring();
    if (ring)
        emit_ring(ring, r, now_ns());
}

/* r at time t (a CALIBRATION at the time it maps its TSC to). */
static void emit_at(const dmt_record *r, int64_t t)
{
    dmt_ring *ring = pick_ring();
    if (ring)
        emit_ring(ring, r, t);
}

/* An event the probe could not track (no free slot). */
static void probe_lost(void)
{
    dmt_record l;
    dmt_add64(&g.lost, 1, DMT_RLX);
    rec_init(&l, DMT_K_LOST);
    l.count = 1;
    l.reason = DMT_LOST_PROBE;
    emit(&l);
}

/* ---- lookups ----------------------------------------------------------------- */

static dev_ent *dev_by_addr(uintptr_t a)
{
    unsigned i;
    for (i = 0; i < DMTP_MAX_DEVS; i++) {
        uintptr_t base = key_live(&g.devs[i].key);
        if (base && a >= base && a - base < g.devs[i].len)
            return &g.devs[i];
    }
    return NULL;
}

/* The device of a HwDeviceExtension: its register range with the lowest id. */
static dev_ent *dev_by_ext(void *ext)
{
    unsigned i;
    dev_ent *best = NULL;
    for (i = 0; i < DMTP_MAX_DEVS; i++)
        if (key_live(&g.devs[i].key) && g.devs[i].ext == ext && (!best || g.devs[i].id < best->id))
            best = &g.devs[i];
    return best;
}

static uint32_t dev_id_of_ext(void *ext)
{
    dev_ent *d = dev_by_ext(ext);
    return d ? d->id : 0;
}

static ad_ent *ad_find(const void *ad)
{
    unsigned i;
    for (i = 0; i < DMTP_MAX_ADAPTERS; i++)
        if (key_is(&g.ads[i].key, (uintptr_t)ad))
            return &g.ads[i];
    return NULL;
}

static uint32_t ad_id(const void *ad)
{
    ad_ent *e = ad ? ad_find(ad) : NULL;
    return e ? e->id : 0;
}

static mdl_ent *mdl_find(const void *mdl)
{
    unsigned i;
    for (i = 0; i < DMTP_MAX_MDLS; i++)
        if (key_is(&g.mdls[i].key, (uintptr_t)mdl))
            return &g.mdls[i];
    return NULL;
}

static mdl_ent *mdl_by_va(uintptr_t va)
{
    unsigned i;
    for (i = 0; i < DMTP_MAX_MDLS; i++)
        if (key_live(&g.mdls[i].key) && va >= g.mdls[i].va && va - g.mdls[i].va < g.mdls[i].len)
            return &g.mdls[i];
    return NULL;
}

static cb_ent *cb_find(uintptr_t va)
{
    unsigned i;
    for (i = 0; i < DMTP_MAX_CBS; i++)
        if (key_is(&g.cbs[i].key, va))
            return &g.cbs[i];
    return NULL;
}

static cb_ent *cb_by_va(uintptr_t va)
{
    unsigned i;
    for (i = 0; i < DMTP_MAX_CBS; i++) {
        uintptr_t base = key_live(&g.cbs[i].key);
        if (base && va >= base && va - base < g.cbs[i].len)
            return &g.cbs[i];
    }
    return NULL;
}

/* ---- record builders ------------------------------------------------------------ */

static void emit_device_map(const dev_ent *d, uintptr_t base)
{
    dmt_record r;
    rec_init(&r, DMT_K_DEVICE_MAP);
    r.dev = d->id;
    r.addr = d->bus;
    r.length = d->len;
    r.va = base;
    emit(&r);
}

static void emit_adapter_create(const ad_ent *a)
{
    dmt_record r;
    rec_init(&r, DMT_K_ADAPTER_CREATE);
    r.adapter = a->id;
    r.dev = a->dev;
    r.sg = a->sg;
    r.dma32 = a->dma32;
    r.dma64 = a->dma64;
    r.length = a->max_length;
    r.map_registers = a->map_registers;
    r.addr_limit = a->addr_limit;
    emit(&r);
}

static void emit_common_alloc(const cb_ent *c, uintptr_t va)
{
    dmt_record r;
    rec_init(&r, DMT_K_COMMON_ALLOC);
    r.cb = c->id;
    r.adapter = c->adapter;
    r.addr = c->logical;
    r.length = c->len;
    r.cached = c->cached;
    r.va = va;
    emit(&r);
}

/* ---- control API ------------------------------------------------------------------ */

static void snapshot(void)
{
    unsigned i;
    for (i = 0; i < DMTP_MAX_DEVS; i++) {
        uintptr_t k = key_live(&g.devs[i].key);
        if (k)
            emit_device_map(&g.devs[i], k);
    }
    for (i = 0; i < DMTP_MAX_ADAPTERS; i++)
        if (key_live(&g.ads[i].key))
            emit_adapter_create(&g.ads[i]);
    for (i = 0; i < DMTP_MAX_CBS; i++) {
        uintptr_t k = key_live(&g.cbs[i].key);
        if (k && k != g.region) /* not the probe's own ring */
            emit_common_alloc(&g.cbs[i], k);
    }
}

/* ---- the bug-check locator (dmt/locator.h) ---------------------------------

   At attach (PASSIVE_LEVEL) the region's rings are walked - ring_count
   consecutive rings of 256 + size bytes each - and their addresses noted;
   the bug-check callback (raised IRQL) only refreshes the instance ids and
   serializes.  A region whose headers do not add up gets no locator (n 0):
   a carver then scans, as it would without the probe's help. */
static void locator_fill(void)
{
    size_t off = 0;
    uint32_t k, count;
    const dmt_ring_hdr *h0 = (const dmt_ring_hdr *)g.region;
    memset(&g.loc, 0, sizeof(g.loc));
    count = h0->ring_count ? h0->ring_count : 1u;
    if (count > DMT_LOC_MAX_RINGS)
        return;
    for (k = 0; k < count; k++) {
        const dmt_ring_hdr *h = (const dmt_ring_hdr *)(g.region + off);
        dmt_locator_ring *e = &g.loc.rings[k];
        if (g.region_len - off < DMT_RING_HDR_SIZE || h->magic != DMT_RING_MAGIC ||
            h->size > g.region_len - off - DMT_RING_HDR_SIZE ||
            (h->ring_count ? h->ring_count : 1u) != count || h->ring_index != k)
            return;
        e->va = (uint64_t)(uintptr_t)h;
        e->data_size = h->size;
        e->index = k;
        e->count = count;
        e->phys = g.region_phys ? g.region_phys + off : os_va_phys(h);
        off += DMT_RING_HDR_SIZE + (size_t)h->size;
    }
    g.loc.phys_source = g.region_phys ? DMT_LOC_PHYS_CALLER : OS_VA_PHYS_SOURCE;
    if (g.loc.phys_source == DMT_LOC_PHYS_NONE)
        for (k = 0; k < count; k++)
            g.loc.rings[k].phys = 0;
    g.loc.region_va = (uint64_t)g.region;
    g.loc.region_bytes = g.region_len;
    g.loc.n = count;
}

void dmtp_set_region_phys(uint64_t phys)
{
    g.region_phys = phys;
    if (dmt_ld32(&g.attached, DMT_ACQ))
        locator_fill();
}

size_t dmtp_locator(void *buf, size_t cap)
{
    uint32_t k;
    size_t n;
    if (!dmt_ld32(&g.attached, DMT_ACQ) || g.loc.n == 0)
        return 0;
    /* The producer may set an instance id after attach: take it now. */
    for (k = 0; k < g.loc.n; k++)
        g.loc.rings[k].instance = ((const dmt_ring_hdr *)(uintptr_t)g.loc.rings[k].va)->instance;
    g.loc.instance = g.loc.rings[0].instance;
    n = dmt_locator_write(buf, cap, &g.loc);
    if (n)
        memset((uint8_t *)buf + n, 0, cap - n);
    return n;
}

int dmtp_attach(void *region, size_t region_len)
{
    uint32_t k;
    if (!region || dmt_ld32(&g.attached, DMT_ACQ))
        return -1;
    if (dmt_ringset_attach(&g.set, region, region_len) != 0)
        return -1;
    g.region = (uintptr_t)region;
    g.region_len = region_len;
    locator_fill();
    tc_start();
    for (k = 0; k < g.set.count; k++) /* the recorder's header says which clock */
        g.set.rings[k].hdr->clock_hint =
            dmt_ld32(&g.clock, DMT_RLX) == DMTP_CLOCK_TSC ? DMT_RING_CLOCK_TSC : 0u;
    dmt_st32(&g.attached, 1u, DMT_REL);
    dmt_st32(&g.enabled, 1u, DMT_REL);
    dmt_stp(&g.active, (uintptr_t)&g.set, DMT_REL);
    if (dmt_ld32(&g.clock, DMT_RLX) == DMTP_CLOCK_TSC)
        tc_log(&g.tc.slot[dmt_ld32(&g.tc.gen, DMT_RLX) & 3u], g.tc.err0);
    snapshot();
    return 0;
}

uint32_t dmtp_clock_for(uint32_t mode)
{
    if (mode == DMTP_CLOCK_COUNTER || mode > DMTP_CLOCK_TSC || !dmt_tsc_invariant())
        return DMTP_CLOCK_COUNTER;
    return DMTP_CLOCK_TSC;
}

int dmtp_set_clock(uint32_t mode)
{
    if (mode > DMTP_CLOCK_TSC)
        return -1;
    dmt_st32(&g.clock_mode, mode, DMT_RLX);
    return 0;
}

uint32_t dmtp_clock(void)
{
    return dmt_ld32(&g.clock, DMT_ACQ) == DMTP_CLOCK_TSC ? DMTP_CLOCK_TSC : DMTP_CLOCK_COUNTER;
}

void dmtp_set_calibration_interval(uint64_t ns)
{
    g.cal_interval = ns;
}

/* A nonzero id for a region formatted now: the clock's count at attach
 * time mixed with the region's address (splitmix64's finaliser), so two
 * attaches, or two regions, get different ids. */
static uint64_t instance_id(void *region)
{
    uint64_t x = (uint64_t)os_qpc((void *)dmt_ldp(&g.ext, DMT_RLX), NULL);
    x ^= (uint64_t)(uintptr_t)region * 0x9E3779B97F4A7C15ull;
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x ? x : 1u;
}

int dmtp_attach_new(void *region, size_t region_len)
{
    uint32_t count;
    if (!region || dmt_ld32(&g.attached, DMT_ACQ))
        return -1;
    /* A ring per processor, as many as fit with the smallest ring size. */
    count = os_cpus();
    if (count > DMT_RING_MAX_RINGS)
        count = DMT_RING_MAX_RINGS;
    while (count > 1 && dmt_ringset_region_len(count, DMT_RING_MIN_SIZE) > (uint64_t)region_len)
        count--;
    if (dmt_ringset_init(region, region_len, DMT_RING_DROP_NEWEST, count, instance_id(region)) != 0)
        return -1;
    return dmtp_attach(region, region_len);
}

void dmtp_detach(void)
{
    dmt_stp(&g.active, (uintptr_t)0, DMT_REL);
    dmt_st32(&g.attached, 0u, DMT_REL);
    g.region = 0;
}

bool dmtp_attached(void)
{
    return dmt_ld32(&g.attached, DMT_ACQ) != 0;
}

void dmtp_enable(bool on)
{
    dmt_st32(&g.enabled, on ? 1u : 0u, DMT_REL);
    dmt_stp(&g.active, on && dmt_ld32(&g.attached, DMT_ACQ) ? (uintptr_t)&g.set : (uintptr_t)0,
            DMT_REL);
}

void dmtp_close(void)
{
    if (dmt_ld32(&g.attached, DMT_ACQ))
        dmt_ringset_close(&g.set);
}

void dmtp_reset(void)
{
    /* The ISR trampoline's target belongs to the driver image, not to a
     * session: keep it, so an interrupt after a reset still reaches it. */
    PVIDEO_HW_INTERRUPT isr = g.isr;
    PVIDEO_HW_FIND_ADAPTER find = g.find;
    VIDEO_HW_INITIALIZATION_DATA init = g.init;
    memset(&g, 0, sizeof(g));
    g.isr = isr;
    g.find = find;
    g.init = init;
}

uint64_t dmtp_lost(void)
{
    return dmt_ld64(&g.lost, DMT_ACQ);
}

void dmtp_set_adapter_query(dmtp_adapter_query_fn fn, void *user)
{
    dmt_stp(&g.query_user, (uintptr_t)user, DMT_REL);
    dmt_stp(&g.query, (uintptr_t)fn, DMT_REL);
}

int dmtp_set_digest(uint32_t algo)
{
    if (!dmt_digest_known(algo))
        return -1;
    dmt_st32(&g.digest, algo, DMT_RLX);
    return 0;
}

int dmtp_set_digest_policy(uint32_t policy)
{
    if (policy >= DMT_DIGEST_POLICY_MAX_)
        return -1;
    dmt_st32(&g.policy, policy + 1u, DMT_RLX);
    return 0;
}

int dmtp_set_adapter_digest_policy(const void *adapter, int policy)
{
    ad_ent *a = adapter ? ad_find(adapter) : NULL;
    if (!a || policy < -1 || policy >= DMT_DIGEST_POLICY_MAX_)
        return -1;
    dmt_st32(&a->policy, (uint32_t)(policy + 1), DMT_RLX);
    return 0;
}

uint32_t dmtp_digest_policy(const void *adapter)
{
    ad_ent *a = adapter ? ad_find(adapter) : NULL;
    uint32_t p = a ? dmt_ld32(&a->policy, DMT_RLX) : 0u;
    if (!p)
        p = dmt_ld32(&g.policy, DMT_RLX);
    return p ? p - 1u : (uint32_t)DMTP_DEFAULT_POLICY;
}

void dmtp_set_phys_query(dmtp_phys_query_fn fn, void *user)
{
    dmt_stp(&g.phys_user, (uintptr_t)user, DMT_REL);
    dmt_stp(&g.phys_query, (uintptr_t)fn, DMT_REL);
    dmt_st32(&g.phys_set, 1u, DMT_REL);
}

/* ---- explicit events ----------------------------------------------------------------- */

void dmtp_desc_write(const void *cb_va, uint64_t offset, const void *bytes, size_t len)
{
    uintptr_t va = (uintptr_t)cb_va;
    const uint8_t *p = (const uint8_t *)bytes;
    uint64_t off = offset;
    cb_ent *c;
    if (LIKELY(!logging()) || !bytes || len == 0)
        return;
    c = cb_find(va);
    if (!c)
        c = cb_by_va(va);
    if (c)
        off += va - key_live(&c->key);
    do {
        size_t n = len > DMT_MAX_BYTES ? DMT_MAX_BYTES : len;
        dmt_record r;
        rec_init(&r, DMT_K_DESC_WRITE);
        r.cb = c ? c->id : 0;
        r.offset = c ? off : (uint64_t)va + off; /* unknown buffer: absolute VA */
        r.n_bytes = (uint32_t)n;
        r.bytes = p;
        emit(&r);
        p += n;
        off += n;
        len -= n;
    } while (len > 0);
}

void dmtp_pattern(const void *mdl_or_va, uint64_t seed, uint64_t offset, uint64_t len)
{
    mdl_ent *m;
    uint64_t off = offset;
    dmt_record r;
    if (LIKELY(!logging()))
        return;
    m = mdl_find(mdl_or_va);
    if (!m) {
        m = mdl_by_va((uintptr_t)mdl_or_va);
        if (m)
            off += (uintptr_t)mdl_or_va - m->va;
    }
    rec_init(&r, DMT_K_PATTERN);
    r.mdl = m ? m->id : 0;
    r.algo = DMT_PATTERN_XS64;
    r.value = seed;
    r.offset = off;
    r.length = len;
    emit(&r);
}

void dmtp_marker_n(const char *text, size_t len)
{
    dmt_record r;
    if (LIKELY(!logging()))
        return;
    rec_init(&r, DMT_K_MARKER);
    r.n_bytes = (uint32_t)(len > DMT_MAX_TEXT ? DMT_MAX_TEXT : len);
    r.bytes = (const uint8_t *)text;
    emit(&r);
}

void dmtp_marker(const char *text)
{
    size_t n = 0;
    if (!text)
        return;
    while (n < DMT_MAX_TEXT && text[n])
        n++;
    dmtp_marker_n(text, n);
}

void dmtp_isr_value(void *hw_device_extension, uint32_t value)
{
    dev_ent *d;
    if (LIKELY(!logging()))
        return;
    d = dev_by_ext(hw_device_extension);
    if (d)
        dmt_st32(&d->isr_value, value, DMT_RLX);
}

/* ---- interrupt and DPC trampolines ------------------------------------------------------ */

static BOOLEAN NTAPI isr_tramp(PVOID ext)
{
    PVIDEO_HW_INTERRUPT isr = g.isr;
    dev_ent *d;
    BOOLEAN claimed;
    dmt_record r;
    if (LIKELY(!logging()))
        return isr(ext);
    d = dev_by_ext(ext);
    if (d)
        dmt_st32(&d->isr_value, 0u, DMT_RLX);
    claimed = isr(ext);
    rec_init(&r, DMT_K_INTERRUPT);
    r.dev = d ? d->id : 0;
    r.claimed = claimed != 0;
    r.value = d ? dmt_ld32(&d->isr_value, DMT_RLX) : 0;
    emit(&r);
    return claimed;
}

/* Bug check 0xEA: the locator into the dump's secondary data.  Runs at
 * raised IRQL on the crashing processor: nothing but reads of the ring
 * headers and byte stores into Buffer. */
static VOID NTAPI bugcheck_cb(PVOID HwDeviceExtension, ULONG BugcheckCode, PUCHAR Buffer,
                              ULONG BufferSize)
{
    (void)HwDeviceExtension;
    (void)BugcheckCode;
    if (Buffer)
        (void)dmtp_locator(Buffer, BufferSize);
}

typedef VP_STATUS(NTAPI *dmtp_register_bugcheck_fn)(PVOID, ULONG, PVIDEO_BUGCHECK_CALLBACK, ULONG);
DMT_STATIC_ASSERT(DMT_LOC_MAX_SIZE + BUGCHECK_DATA_SIZE_RESERVED <= 4000, bugcheck_data_size);
DMT_STATIC_ASSERT(sizeof(PVOID) == sizeof(dmtp_register_bugcheck_fn), fn_ptr_size);

/* VideoPortRegisterBugcheckCallback exists from XP SP1 on: looked up, so
 * the driver still loads on XP RTM (where the probe simply does without). */
static void bugcheck_register(PVOID ext, PVIDEO_PORT_CONFIG_INFO ci)
{
    dmtp_register_bugcheck_fn reg;
    PVOID p;
    if (!ci || ci->Length < sizeof(VIDEO_PORT_CONFIG_INFO) || !ci->VideoPortGetProcAddress)
        return;
    p = ci->VideoPortGetProcAddress(ext, (PUCHAR) "VideoPortRegisterBugcheckCallback");
    if (!p)
        return;
    /* An object pointer to a function pointer, without the cast ISO C
     * forbids (sizes checked above). */
    memcpy(&reg, &p, sizeof(reg));
    (void)reg(ext, 0xEA, bugcheck_cb, DMT_LOC_MAX_SIZE + BUGCHECK_DATA_SIZE_RESERVED);
}

static VP_STATUS NTAPI find_tramp(PVOID HwDeviceExtension, PVOID HwContext, PWSTR ArgumentString,
                                  PVIDEO_PORT_CONFIG_INFO ConfigInfo, PUCHAR Again)
{
    VP_STATUS st = g.find(HwDeviceExtension, HwContext, ArgumentString, ConfigInfo, Again);
    if (st == NO_ERROR)
        bugcheck_register(HwDeviceExtension, ConfigInfo);
    return st;
}

ULONG dmtp_VideoPortInitialize(PVOID Argument1, PVOID Argument2,
                               PVIDEO_HW_INITIALIZATION_DATA HwInitializationData, PVOID HwContext)
{
    PVIDEO_HW_INITIALIZATION_DATA hw = HwInitializationData;
    if (hw && hw->HwFindAdapter && hw->HwFindAdapter != find_tramp) {
        /* VideoPort keeps its own copy of the data; ours lives as long as the
         * driver, so a port that keeps the pointer is fine too. */
        size_t n = hw->HwInitDataSize;
        if (n == 0 || n > sizeof(g.init))
            n = sizeof(g.init);
        memset(&g.init, 0, sizeof(g.init));
        memcpy(&g.init, hw, n);
        if (hw->HwInterrupt) {
            g.isr = hw->HwInterrupt;
            g.init.HwInterrupt = isr_tramp;
        }
        g.find = hw->HwFindAdapter;
        g.init.HwFindAdapter = find_tramp;
        hw = &g.init;
    }
    return VideoPortInitialize(Argument1, Argument2, hw, HwContext);
}

/* The single in-flight transfer of a device, or 0 (none or ambiguous). */
static uint32_t xfer_in_flight(uint32_t dev)
{
    unsigned i;
    uint32_t found = 0;
    for (i = 0; i < DMTP_MAX_XFERS; i++) {
        xf_ent *x = &g.xfers[i];
        if (!dmt_ld32(&x->executed, DMT_ACQ) || !dmt_ldp(&x->sg, DMT_ACQ) || x->dev != dev)
            continue;
        if (found)
            return 0;
        found = x->xfer;
    }
    return found;
}

static VOID NTAPI dpc_tramp(PVOID ext, PVOID context)
{
    dpc_ent *s = context;
    PMINIPORT_DPC_ROUTINE fn = s->fn;
    PVOID ctx = s->ctx;
    dmt_st32(&s->state, 0u, DMT_REL);
    if (logging()) {
        dmt_record r;
        rec_init(&r, DMT_K_DPC);
        r.dev = dev_id_of_ext(ext);
        r.xfer = xfer_in_flight(r.dev);
        emit(&r);
    }
    fn(ext, ctx);
}

BOOLEAN dmtp_VideoPortQueueDpc(PVOID HwDeviceExtension, PMINIPORT_DPC_ROUTINE CallbackRoutine,
                               PVOID Context)
{
    unsigned i;
    if (LIKELY(!logging()))
        return VideoPortQueueDpc(HwDeviceExtension, CallbackRoutine, Context);
    for (i = 0; i < DMTP_MAX_DPCS; i++) {
        dpc_ent *s = &g.dpcs[i];
        uint32_t exp = 0;
        BOOLEAN queued;
        if (!dmt_cas32(&s->state, &exp, 1u, DMT_ACQ, DMT_RLX))
            continue;
        s->fn = CallbackRoutine;
        s->ctx = Context;
        s->ext = HwDeviceExtension;
        queued = VideoPortQueueDpc(HwDeviceExtension, dpc_tramp, s);
        if (!queued) /* coalesced with a DPC already queued: it keeps its own slot */
            dmt_st32(&s->state, 0u, DMT_REL);
        return queued;
    }
    probe_lost();
    return VideoPortQueueDpc(HwDeviceExtension, CallbackRoutine, Context);
}

/* ---- register ranges and accesses ---------------------------------------------------------- */

PVOID dmtp_VideoPortGetDeviceBase(PVOID HwDeviceExtension, PHYSICAL_ADDRESS IoAddress,
                                  ULONG NumberOfUchars, UCHAR InIoSpace)
{
    unsigned i;
    PVOID va = VideoPortGetDeviceBase(HwDeviceExtension, IoAddress, NumberOfUchars, InIoSpace);
    note_ext(HwDeviceExtension);
    if (!va)
        return va;
    for (i = 0; i < DMTP_MAX_DEVS; i++) {
        dev_ent *d = &g.devs[i];
        if (!key_claim(&d->key))
            continue;
        d->len = NumberOfUchars;
        d->bus = (uint64_t)IoAddress.QuadPart;
        d->ext = HwDeviceExtension;
        d->id = next_id(&g.next_dev);
        dmt_st32(&d->isr_value, 0u, DMT_RLX);
        key_publish(&d->key, (uintptr_t)va);
        if (logging())
            emit_device_map(d, (uintptr_t)va);
        return va;
    }
    probe_lost();
    return va;
}

VOID dmtp_VideoPortFreeDeviceBase(PVOID HwDeviceExtension, PVOID MappedAddress)
{
    unsigned i;
    for (i = 0; i < DMTP_MAX_DEVS; i++)
        if (key_is(&g.devs[i].key, (uintptr_t)MappedAddress))
            dmt_stp(&g.devs[i].key, KEY_FREE, DMT_REL);
    VideoPortFreeDeviceBase(HwDeviceExtension, MappedAddress);
}

/* A register access: the hottest record, so no dmt_record, no bound and
 * no LOST fallback (it always encodes): its fields straight into the
 * register record's encoder, then one exact ring write. */
static void reg_event(uint32_t kind, const void *reg, uint32_t width, uint64_t value)
{
    uint8_t buf[DMT_ENC_REG_MAX];
    dmt_ring *ring = pick_ring();
    dev_ent *d;
    size_t n;
    if (!ring)
        return;
    d = dev_by_addr((uintptr_t)reg);
    n = dmt_enc_reg(buf, sizeof buf, kind, now_ns(),
                    d ? (uintptr_t)reg - key_live(&d->key) : (uintptr_t)reg, value, width,
                    d ? d->id : 0);
    dmt_ring_write(ring, buf, (uint32_t)n); /* a loss is counted by the ring */
}

/* Buffer accesses: consecutive registers from reg (rep movs semantics),
 * DMTP_BUF_VALUES values per record. */
static void regbuf_event(uint32_t kind, const void *reg, uint32_t width, const void *buf,
                         ULONG count)
{
    uint32_t j;
    uint64_t vals[DMTP_BUF_VALUES];
    dev_ent *d = dev_by_addr((uintptr_t)reg);
    uint64_t off = d ? (uintptr_t)reg - key_live(&d->key) : (uintptr_t)reg;
    ULONG i = 0;
    do {
        uint32_t n = count - i > DMTP_BUF_VALUES ? DMTP_BUF_VALUES : (uint32_t)(count - i);
        dmt_record r;
        for (j = 0; j < n; j++) {
            if (width == 1)
                vals[j] = ((const UCHAR *)buf)[i + j];
            else if (width == 2)
                vals[j] = ((const USHORT *)buf)[i + j];
            else
                vals[j] = ((const ULONG *)buf)[i + j];
        }
        rec_init(&r, kind);
        r.dev = d ? d->id : 0;
        r.off = off + (uint64_t)i * width;
        r.width = width;
        r.n_values = n;
        r.values = vals;
        emit(&r);
        i += n;
    } while (i < count);
}

UCHAR dmtp_VideoPortReadRegisterUchar(PUCHAR Register)
{
    UCHAR v = VideoPortReadRegisterUchar(Register);
    if (UNLIKELY(logging()))
        reg_event(DMT_K_REG_READ, Register, 1, v);
    return v;
}

USHORT dmtp_VideoPortReadRegisterUshort(PUSHORT Register)
{
    USHORT v = VideoPortReadRegisterUshort(Register);
    if (UNLIKELY(logging()))
        reg_event(DMT_K_REG_READ, Register, 2, v);
    return v;
}

ULONG dmtp_VideoPortReadRegisterUlong(PULONG Register)
{
    ULONG v = VideoPortReadRegisterUlong(Register);
    if (UNLIKELY(logging()))
        reg_event(DMT_K_REG_READ, Register, 4, v);
    return v;
}

VOID dmtp_VideoPortWriteRegisterUchar(PUCHAR Register, UCHAR Value)
{
    if (UNLIKELY(logging()))
        reg_event(DMT_K_REG_WRITE, Register, 1, Value);
    VideoPortWriteRegisterUchar(Register, Value);
}

VOID dmtp_VideoPortWriteRegisterUshort(PUSHORT Register, USHORT Value)
{
    if (UNLIKELY(logging()))
        reg_event(DMT_K_REG_WRITE, Register, 2, Value);
    VideoPortWriteRegisterUshort(Register, Value);
}

VOID dmtp_VideoPortWriteRegisterUlong(PULONG Register, ULONG Value)
{
    if (UNLIKELY(logging()))
        reg_event(DMT_K_REG_WRITE, Register, 4, Value);
    VideoPortWriteRegisterUlong(Register, Value);
}

VOID dmtp_VideoPortReadRegisterBufferUchar(PUCHAR Register, PUCHAR Buffer, ULONG Count)
{
    VideoPortReadRegisterBufferUchar(Register, Buffer, Count);
    if (UNLIKELY(logging()) && Count)
        regbuf_event(DMT_K_REG_READ_BUF, Register, 1, Buffer, Count);
}

VOID dmtp_VideoPortReadRegisterBufferUshort(PUSHORT Register, PUSHORT Buffer, ULONG Count)
{
    VideoPortReadRegisterBufferUshort(Register, Buffer, Count);
    if (UNLIKELY(logging()) && Count)
        regbuf_event(DMT_K_REG_READ_BUF, Register, 2, Buffer, Count);
}

VOID dmtp_VideoPortReadRegisterBufferUlong(PULONG Register, PULONG Buffer, ULONG Count)
{
    VideoPortReadRegisterBufferUlong(Register, Buffer, Count);
    if (UNLIKELY(logging()) && Count)
        regbuf_event(DMT_K_REG_READ_BUF, Register, 4, Buffer, Count);
}

VOID dmtp_VideoPortWriteRegisterBufferUchar(PUCHAR Register, PUCHAR Buffer, ULONG Count)
{
    if (UNLIKELY(logging()) && Count)
        regbuf_event(DMT_K_REG_WRITE_BUF, Register, 1, Buffer, Count);
    VideoPortWriteRegisterBufferUchar(Register, Buffer, Count);
}

VOID dmtp_VideoPortWriteRegisterBufferUshort(PUSHORT Register, PUSHORT Buffer, ULONG Count)
{
    if (UNLIKELY(logging()) && Count)
        regbuf_event(DMT_K_REG_WRITE_BUF, Register, 2, Buffer, Count);
    VideoPortWriteRegisterBufferUshort(Register, Buffer, Count);
}

VOID dmtp_VideoPortWriteRegisterBufferUlong(PULONG Register, PULONG Buffer, ULONG Count)
{
    if (UNLIKELY(logging()) && Count)
        regbuf_event(DMT_K_REG_WRITE_BUF, Register, 4, Buffer, Count);
    VideoPortWriteRegisterBufferUlong(Register, Buffer, Count);
}

/* ---- adapters and common buffers --------------------------------------------------------- */

/* The values Windows documents when nobody can tell us the real ones:
 * IoGetDmaAdapter asks for BYTES_TO_PAGES(MaximumLength) + 1 map registers
 * (the +1 covers an unaligned start); the address limit is 2^64 with
 * Dma64BitAddresses, 4 GiB with Dma32BitAddresses or ScatterGather (a PCI
 * scatter/gather master is assumed 32-bit capable), else 16 MiB (ISA). */
static void default_limits(const VP_DEVICE_DESCRIPTION *dd, uint32_t *nmr, uint64_t *limit)
{
    uint64_t pages = ((uint64_t)dd->MaximumLength + DMT_PAGE_SIZE - 1) >> DMT_PAGE_SHIFT;
    *nmr = (uint32_t)(pages + 1);
    if (dd->Dma64BitAddresses)
        *limit = UINT64_MAX;
    else if (dd->Dma32BitAddresses || dd->ScatterGather)
        *limit = 0xFFFFFFFFull;
    else
        *limit = 0xFFFFFFull;
}

PVP_DMA_ADAPTER dmtp_VideoPortGetDmaAdapter(PVOID HwDeviceExtension,
                                            PVP_DEVICE_DESCRIPTION VpDeviceDescription)
{
    unsigned i;
    PVP_DMA_ADAPTER ad = VideoPortGetDmaAdapter(HwDeviceExtension, VpDeviceDescription);
    note_ext(HwDeviceExtension);
    if (!ad || !VpDeviceDescription)
        return ad;
    for (i = 0; i < DMTP_MAX_ADAPTERS; i++) {
        ad_ent *a = &g.ads[i];
        const VP_DEVICE_DESCRIPTION *dd = VpDeviceDescription;
        dmtp_adapter_query_fn q;
        if (!key_claim(&a->key))
            continue;
        a->ext = HwDeviceExtension;
        a->id = next_id(&g.next_adapter);
        a->dev = dev_id_of_ext(HwDeviceExtension);
        a->sg = dd->ScatterGather != 0;
        a->dma32 = dd->Dma32BitAddresses != 0;
        a->dma64 = dd->Dma64BitAddresses != 0;
        a->max_length = dd->MaximumLength;
        dmt_st32(&a->policy, 0u, DMT_RLX);
        default_limits(dd, &a->map_registers, &a->addr_limit);
        q = (dmtp_adapter_query_fn)dmt_ldp(&g.query, DMT_ACQ);
        if (q) {
            uint32_t nmr = a->map_registers;
            uint64_t lim = a->addr_limit;
            if (q((void *)dmt_ldp(&g.query_user, DMT_ACQ), HwDeviceExtension, ad, &nmr, &lim)) {
                a->map_registers = nmr;
                a->addr_limit = lim;
            }
        }
        key_publish(&a->key, (uintptr_t)ad);
        if (logging())
            emit_adapter_create(a);
        return ad;
    }
    probe_lost();
    return ad;
}

/* Drop a reference; the last one frees the slot.  A free slot has sg == 0
 * and executed == 0, so a reader that sees either set (acquire) on a slot
 * in use also sees the fields its StartDma wrote. */
static void xfer_put(xf_ent *x)
{
    if (dmt_sub32(&x->refs, 1u, DMT_ACQREL) == 1u) {
        dmt_stp(&x->sg, (uintptr_t)0, DMT_RLX);
        dmt_st32(&x->executed, 0u, DMT_RLX);
        dmt_sub32(&g.xfers_live, 1u, DMT_RLX);
        dmt_st32(&x->state, 0u, DMT_REL);
    }
}

VOID dmtp_VideoPortPutDmaAdapter(PVOID HwDeviceExtension, PVP_DMA_ADAPTER VpDmaAdapter)
{
    unsigned i;
    ad_ent *a = ad_find(VpDmaAdapter);
    if (a) {
        if (logging()) {
            dmt_record r;
            rec_init(&r, DMT_K_ADAPTER_RELEASE);
            r.adapter = a->id;
            emit(&r);
        }
        /* transfers on this adapter that were never completed */
        for (i = 0; i < DMTP_MAX_XFERS; i++) {
            xf_ent *x = &g.xfers[i];
            uintptr_t sg = dmt_ldp(&x->sg, DMT_ACQ);
            if (sg && x->adapter_ptr == (uintptr_t)VpDmaAdapter &&
                dmt_casp(&x->sg, &sg, (uintptr_t)0, DMT_ACQREL, DMT_RLX))
                xfer_put(x);
        }
        dmt_stp(&a->key, KEY_FREE, DMT_REL);
    }
    VideoPortPutDmaAdapter(HwDeviceExtension, VpDmaAdapter);
}

PVOID dmtp_VideoPortAllocateCommonBuffer(PVOID HwDeviceExtension, PVP_DMA_ADAPTER VpDmaAdapter,
                                         ULONG DesiredLength, PPHYSICAL_ADDRESS LogicalAddress,
                                         BOOLEAN CacheEnabled, PVOID Reserved)
{
    unsigned i;
    PVOID va = VideoPortAllocateCommonBuffer(HwDeviceExtension, VpDmaAdapter, DesiredLength,
                                             LogicalAddress, CacheEnabled, Reserved);
    if (!va)
        return va;
    for (i = 0; i < DMTP_MAX_CBS; i++) {
        cb_ent *c = &g.cbs[i];
        if (!key_claim(&c->key))
            continue;
        c->id = next_id(&g.next_cb);
        c->adapter = ad_id(VpDmaAdapter);
        c->len = DesiredLength;
        c->logical = LogicalAddress ? (uint64_t)LogicalAddress->QuadPart : 0;
        c->cached = CacheEnabled != 0;
        key_publish(&c->key, (uintptr_t)va);
        if (logging())
            emit_common_alloc(c, (uintptr_t)va);
        return va;
    }
    probe_lost();
    return va;
}

VOID dmtp_VideoPortReleaseCommonBuffer(PVOID HwDeviceExtension, PVP_DMA_ADAPTER VpDmaAdapter,
                                       ULONG Length, PHYSICAL_ADDRESS LogicalAddress,
                                       PVOID VirtualAddress, BOOLEAN CacheEnabled)
{
    cb_ent *c = cb_find((uintptr_t)VirtualAddress);
    if (c) {
        if (logging()) {
            dmt_record r;
            rec_init(&r, DMT_K_COMMON_RELEASE);
            r.cb = c->id;
            r.adapter = c->adapter;
            emit(&r);
        }
        dmt_stp(&c->key, KEY_FREE, DMT_REL);
    }
    VideoPortReleaseCommonBuffer(HwDeviceExtension, VpDmaAdapter, Length, LogicalAddress,
                                 VirtualAddress, CacheEnabled);
}

/* ---- locked buffers ----------------------------------------------------------------------------
 */

PVOID dmtp_VideoPortLockBuffer(PVOID HwDeviceExtension, PVOID BaseAddress, ULONG Length,
                               VP_LOCK_OPERATION Operation)
{
    unsigned i;
    PVOID mdl = VideoPortLockBuffer(HwDeviceExtension, BaseAddress, Length, Operation);
    if (LIKELY(!logging()) || !mdl)
        return mdl;
    for (i = 0; i < DMTP_MAX_MDLS; i++) {
        mdl_ent *m = &g.mdls[i];
        dmt_record r;
        if (!key_claim(&m->key))
            continue;
        m->id = next_id(&g.next_mdl);
        m->op = (uint32_t)Operation;
        m->len = Length;
        m->va = (uintptr_t)BaseAddress;
        m->sysva = os_mdl_sysva(mdl, BaseAddress);
        dmt_add32(&g.mdls_live, 1u, DMT_RLX);
        key_publish(&m->key, (uintptr_t)mdl);
        rec_init(&r, DMT_K_BUFFER_LOCK);
        r.mdl = m->id;
        r.va = m->va;
        r.length = Length;
        r.op = m->op;
        emit(&r);
        return mdl;
    }
    probe_lost();
    return mdl;
}

VOID dmtp_VideoPortUnlockBuffer(PVOID HwDeviceExtension, PVOID Mdl)
{
    if (UNLIKELY(dmt_ld32(&g.mdls_live, DMT_RLX) != 0)) {
        mdl_ent *m = mdl_find(Mdl);
        if (m) {
            if (logging()) {
                dmt_record r;
                rec_init(&r, DMT_K_BUFFER_UNLOCK);
                r.mdl = m->id;
                emit(&r);
            }
            dmt_sub32(&g.mdls_live, 1u, DMT_RLX);
            dmt_stp(&m->key, KEY_FREE, DMT_REL);
        }
    }
    VideoPortUnLockBuffer(HwDeviceExtension, Mdl);
}

/* ---- the DMA sequence
 * ------------------------------------------------------------------------------ */

/* EXECUTE_DMA flags: is every element the buffer's own memory?  Compares
 * the first and last byte of each element with where the buffer really is
 * (elements are physically contiguous, so a substituted page shows at one
 * end or the other unless it sits between two of the buffer's own). */
static uint32_t bounce_flags(const xf_ent *x, const VP_SCATTER_GATHER_LIST *sg)
{
    ULONG i;
    dmtp_phys_query_fn q = (dmtp_phys_query_fn)dmt_ldp(&g.phys_query, DMT_ACQ);
    void *user;
    const void *mdl;
    const mdl_ent *me;
    uintptr_t va;
    uint64_t off;
    if (!q && !dmt_ld32(&g.phys_set, DMT_RLX))
        q = OS_PHYS_QUERY;
    if (!q || !x->mdl_ptr)
        return 0;
    user = (void *)dmt_ldp(&g.phys_user, DMT_RLX);
    mdl = (const void *)x->mdl_ptr;
    me = mdl_find(mdl);
    va = me ? me->va : 0; /* only its page offset matters */
    off = x->offset;
    for (i = 0; i < sg->NumberOfElements; i++) {
        const uint64_t a = (uint64_t)sg->Elements[i].Address.QuadPart;
        const uint32_t len = sg->Elements[i].Length;
        uint64_t first, last, po;
        if (!len)
            continue;
        if (!q(user, mdl, off, &first))
            return 0; /* the list does not fit the buffer: unknown */
        if (first != a)
            return DMT_XF_BOUNCE_CHECKED | DMT_XF_BOUNCED;
        /* bytes within one page of the buffer sit in one frame: the first
         * byte settles them all */
        po = ((uint64_t)va + off) & 0xFFFu;
        if (!me || po + len > 0x1000u) {
            if (!q(user, mdl, off + len - 1, &last))
                return 0;
            if (last != a + len - 1)
                return DMT_XF_BOUNCE_CHECKED | DMT_XF_BOUNCED;
        }
        off += len;
    }
    return DMT_XF_BOUNCE_CHECKED;
}

static VOID NTAPI exec_tramp(PVOID ext, PVP_DMA_ADAPTER ad, PVP_SCATTER_GATHER_LIST sg, PVOID ctx)
{
    unsigned i;
    xf_ent *x = ctx;
    uint32_t granted = x->plen ? *x->plen : 0;
    /* A list address may be reused after a CompleteDma that never came:
     * only the newest transfer owns it. */
    for (i = 0; i < DMTP_MAX_XFERS && sg; i++) {
        xf_ent *o = &g.xfers[i];
        uintptr_t exp = (uintptr_t)sg;
        /* a plain load first: a locked CAS per table entry would cost more
         * than the rest of the trampoline */
        if (o != x && dmt_ldp(&o->sg, DMT_RLX) == exp &&
            dmt_casp(&o->sg, &exp, (uintptr_t)0, DMT_ACQREL, DMT_RLX))
            xfer_put(o);
    }
    dmt_st32(&x->granted, granted, DMT_RLX);
    dmt_stp(&x->sg, (uintptr_t)sg, DMT_REL);
    dmt_st32(&x->executed, 1u, DMT_REL);
    if (logging() && sg) {
        dmt_record r;
        rec_init(&r, DMT_K_EXECUTE_DMA);
        r.xfer = x->xfer;
        r.adapter = x->adapter;
        r.length = granted;
        r.n_sg = sg->NumberOfElements;
        r.sg_list = sg->Elements;
        r.sg_stride = (uint32_t)sizeof(VP_SCATTER_GATHER_ELEMENT);
        r.xfer_flags = bounce_flags(x, sg);
        emit(&r);
    }
    x->exec(ext, ad, sg, x->ctx);
}

VP_STATUS dmtp_VideoPortStartDma(PVOID HwDeviceExtension, PVP_DMA_ADAPTER VpDmaAdapter, PVOID Mdl,
                                 ULONG Offset, PULONG pLength, PEXECUTE_DMA ExecuteDmaRoutine,
                                 PVOID Context, BOOLEAN WriteToDevice)
{
    unsigned i;
    xf_ent *x = NULL;
    mdl_ent *m;
    uint32_t xfer, adapter;
    dmt_record r;
    VP_STATUS st;
    bool executed;
    if (LIKELY(!logging()))
        return VideoPortStartDma(HwDeviceExtension, VpDmaAdapter, Mdl, Offset, pLength,
                                 ExecuteDmaRoutine, Context, WriteToDevice);
    for (i = 0; i < DMTP_MAX_XFERS && !x; i++) {
        uint32_t exp = 0;
        if (dmt_cas32(&g.xfers[i].state, &exp, 1u, DMT_ACQ, DMT_RLX))
            x = &g.xfers[i];
    }
    if (!x) {
        probe_lost();
        return VideoPortStartDma(HwDeviceExtension, VpDmaAdapter, Mdl, Offset, pLength,
                                 ExecuteDmaRoutine, Context, WriteToDevice);
    }
    m = mdl_find(Mdl);
    dmt_add32(&g.xfers_live, 1u, DMT_RLX);
    dmt_st32(&x->refs, 2u, DMT_RLX);
    dmt_st32(&x->granted, 0u, DMT_RLX);
    x->xfer = next_id(&g.next_xfer);
    x->adapter = ad_id(VpDmaAdapter);
    x->adapter_ptr = (uintptr_t)VpDmaAdapter;
    x->mdl = m ? m->id : 0;
    x->mdl_ptr = (uintptr_t)Mdl;
    x->dev = dev_id_of_ext(HwDeviceExtension);
    x->offset = Offset;
    x->plen = pLength;
    x->exec = ExecuteDmaRoutine;
    x->ctx = Context;
    x->wtd = WriteToDevice != 0;
    dmt_fence_rel();

    xfer = x->xfer;
    adapter = x->adapter;
    rec_init(&r, DMT_K_START_DMA);
    r.xfer = xfer;
    r.adapter = adapter;
    r.mdl = x->mdl;
    r.offset = Offset;
    r.length = pLength ? *pLength : 0;
    r.write_to_device = x->wtd;
    r.context = (uint64_t)(uintptr_t)Context;
    emit(&r);

    st = VideoPortStartDma(HwDeviceExtension, VpDmaAdapter, Mdl, Offset, pLength, exec_tramp, x,
                           WriteToDevice);

    executed = dmt_ld32(&x->executed, DMT_ACQ) != 0;
    rec_init(&r, DMT_K_START_DMA_END);
    r.xfer = xfer;
    r.adapter = adapter;
    r.status = (uint32_t)st;
    r.length = executed ? dmt_ld32(&x->granted, DMT_RLX) : (pLength ? *pLength : 0);
    emit(&r);
    if (st != NO_ERROR && !executed)
        xfer_put(x); /* no ExecuteDma, so no CompleteDma will come */
    xfer_put(x);
    return st;
}

/* The bytes a transfer moved: [offset, offset + granted) of the locked
 * buffer, through a VA valid in any context.  false when unknown. */
static bool xfer_span(const xf_ent *x, const uint8_t **base, uint64_t *len)
{
    mdl_ent *m = mdl_find((const void *)x->mdl_ptr);
    uint64_t n;
    if (!m || !m->sysva || x->offset > m->len)
        return false;
    n = dmt_ld32(&((xf_ent *)x)->granted, DMT_RLX);
    if (n > m->len - x->offset)
        n = m->len - x->offset;
    *base = (const uint8_t *)(m->sysva + (uintptr_t)x->offset);
    *len = n;
    return true;
}

/* Reserve a ring slot for r, to be encoded at time t after the real call;
 * false when the ring has no room (the loss is counted by the ring).  The
 * caller set the fields it learns later to their largest values (a 64-bit
 * digest, a 32-bit status), so a small record is sized by encoding it once
 * here: its reservation is exact but for a few bytes, not the worst case of
 * the kind (which would leave a padding slot behind every completion). */
static bool reserve_for(dmt_ring *ring, const dmt_record *r, int64_t t, dmt_ring_resv *rv)
{
    size_t n = dmt_enc_record_bound(r);
    if (n <= DMTP_SMALL_RECORD) {
        uint8_t small[DMTP_SMALL_RECORD];
        n = encode_or_lost(small, sizeof small, r, t);
    }
    if (n > DMT_RING_MAX_PAYLOAD)
        n = DMT_RING_MAX_PAYLOAD;
    return dmt_ring_reserve(ring, (uint32_t)n, rv);
}

/* Encode r at time t into a reservation of reserve_for and commit it.  The
 * encoder wants room for a whole head per item, so a record reserved at its
 * size is encoded on the stack and copied.  (Its fields are no larger than
 * they were at reserve_for, so it fits; if not, an empty record is
 * published, which the recorder counts as corrupt.) */
static void commit_as(dmt_ring *ring, dmt_ring_resv *rv, const dmt_record *r, int64_t t)
{
    size_t n;
    if (dmt_enc_record_bound(r) <= DMTP_SMALL_RECORD) {
        uint8_t small[DMTP_SMALL_RECORD];
        n = encode_or_lost(small, sizeof small, r, t);
        if (n > rv->len)
            n = 0;
        memcpy(rv->buf, small, n);
    } else {
        n = encode_or_lost(rv->buf, rv->len, r, t);
    }
    dmt_ring_commit(ring, rv, (uint32_t)n);
}

/*
 * CompleteDma: DIGEST and COMPLETE_DMA take their ring slots BEFORE the
 * real call and are filled and committed after it.  Inside the real call
 * VideoPort may run a deferred StartDma's ExecuteDma (map registers just
 * freed), and once it returns another CPU may start a transfer on the same
 * pages; their records reserve after ours, so in the ring (and the trace)
 * this transfer's completion always comes first:
 *
 *   wrapper:  t = now; reserve DIGEST; reserve COMPLETE_DMA
 *   real:       ... deferred EXECUTE_DMA (reserves after) ...
 *   wrapper:  digest the bytes (bounce buffers are copied back by now);
 *             encode both at t; commit both
 *
 * The consumer delivers in ring order, so it waits for these two commits;
 * the real CompleteDma is short next to the recorder's torn timeout.
 */
VP_STATUS dmtp_VideoPortCompleteDma(PVOID HwDeviceExtension, PVP_DMA_ADAPTER VpDmaAdapter,
                                    PVP_SCATTER_GATHER_LIST VpScatterGather, BOOLEAN WriteToDevice)
{
    unsigned i;
    xf_ent *x = NULL;
    VP_STATUS st;
    dmt_ring *ring;
    dmt_record d, c;
    dmt_ring_resv rvd, rvc;
    dmt_sg_elem ranges[DMT_DIGEST_BOUNDED_MAX_RANGES];
    const uint8_t *base = NULL;
    uint64_t len = 0;
    bool have_d = false, have_c = false;
    int64_t t = 0;
    if (LIKELY(!logging()) && dmt_ld32(&g.xfers_live, DMT_RLX) == 0)
        return VideoPortCompleteDma(HwDeviceExtension, VpDmaAdapter, VpScatterGather,
                                    WriteToDevice);
    for (i = 0; i < DMTP_MAX_XFERS && !x; i++) {
        xf_ent *e = &g.xfers[i];
        uintptr_t exp = (uintptr_t)VpScatterGather;
        if (VpScatterGather && dmt_ldp(&e->sg, DMT_ACQ) == exp &&
            e->adapter_ptr == (uintptr_t)VpDmaAdapter &&
            dmt_casp(&e->sg, &exp, (uintptr_t)0, DMT_ACQREL, DMT_RLX))
            x = e;
    }
    ring = pick_ring();
    if (ring) {
        t = now_ns();
        rec_init(&d, DMT_K_DIGEST);
        if (x && xfer_span(x, &base, &len)) {
            uint32_t algo = dmt_ld32(&g.digest, DMT_RLX);
            d.xfer = x->xfer;
            d.algo = algo ? algo : DMTP_DEFAULT_DIGEST;
            d.length = len;
            d.digest_policy = dmtp_digest_policy(VpDmaAdapter);
            if (d.digest_policy == DMT_DIGEST_BOUNDED) {
                d.n_sg = dmt_digest_bounded_ranges(len, ranges);
                d.sg_list = ranges;
                d.sg_stride = (uint32_t)sizeof(dmt_sg_elem);
            }
            d.value = UINT64_MAX; /* sized at its largest; set after the call */
            have_d = reserve_for(ring, &d, t, &rvd);
        }
        rec_init(&c, DMT_K_COMPLETE_DMA);
        c.xfer = x ? x->xfer : 0;
        c.adapter = x ? x->adapter : ad_id(VpDmaAdapter);
        c.write_to_device = WriteToDevice != 0;
        c.status = 0xFFFFFFFFu; /* sized at its largest; set after the call */
        have_c = reserve_for(ring, &c, t, &rvc);
    }
    /* digest after the real call: a bounce buffer is copied back inside it */
    st = VideoPortCompleteDma(HwDeviceExtension, VpDmaAdapter, VpScatterGather, WriteToDevice);
    if (have_d) {
        d.value = d.digest_policy == DMT_DIGEST_OFF
                      ? 0
                      : dmt_digest_ranges(d.algo, base, len, ranges, d.n_sg);
        commit_as(ring, &rvd, &d, t);
    }
    if (have_c) {
        c.status = (uint32_t)st;
        commit_as(ring, &rvc, &c, t);
    }
    if (x)
        xfer_put(x);
    return st;
}

/*
 * hvp.h - the host VideoPort: runs an unchanged XPDM video miniport on Linux
 * over the device model (dmm).  This is the machine API for tools (capture,
 * replay --driver) and tests; the miniport itself only sees the VideoPort*
 * functions declared in the host <video.h>.
 *
 * A machine = one simulated PC with one PCI display adapter: a dmm_phys
 * physical address space (RAM layout below), a dmm_dev behind a 4 KiB
 * memory BAR, one interrupt line, and the VideoPort state of one loaded
 * miniport (device extension, DMA adapters, locked buffers, SG lists, spin
 * locks, events, register mappings).
 *
 * Physical address map (defaults in brackets):
 *
 *   0 ........ 1M   unused
 *   1M ....... 8M   host pool "24": bounce pages and common buffers for
 *                   adapters limited to 16 MiB
 *   8M ....... 16M  RAM frames for locked buffers (placement BELOW_16M/ANY)
 *   16M ...... low_top - pool32_size   RAM frames (BELOW_4G/ANY)
 *   .......... low_top                 host pool "32": bounce/common buffers
 *   low_top .. 4G   PCI hole; the device BAR lives here [bar_phys 0xFE000000]
 *   4G ....... 4G + high_size          RAM frames (ABOVE_4G/ANY) [4 GiB]
 *
 * Modes:
 *  - threaded (default): the device's interrupt is serviced on an interrupt
 *    thread (HwVidInterrupt under the interrupt lock at simulated DIRQL), the
 *    queued DPC on a DPC thread at simulated DISPATCH_LEVEL; any number of
 *    threads may call hvp_ioctl (HwVidStartIO itself is serialized);
 *    VideoPortQueryPerformanceCounter is CLOCK_MONOTONIC in ns.
 *  - deterministic: no threads.  Interrupts and DPCs run on the calling thread
 *    whenever its simulated IRQL is (back) at PASSIVE_LEVEL inside a VideoPort
 *    call or after a driver entry point returns (list in src/machine.c), and
 *    time is synthetic: the performance counter advances by clock_step_ns per
 *    call, register accesses by mmio_ns, stalls and timed-out waits by their
 *    length, and a wait with nothing left to run lets a DMM_CFG_DEFERRED
 *    device reach its next completion.  A single-threaded session is
 *    reproducible byte for byte.
 *  - reactos (orthogonal flag): StartDma behaves like ReactOS videoprt + HAL
 *    (docs/videoport-contract.md section 10): Offset and input *pLength
 *    ignored, *pLength untouched on success, non-SG transfers over 16 pages
 *    fail, SG lists over 16 elements are dropped without calling the driver,
 *    HwVidExecuteDma runs under the interrupt lock.
 *
 * Driver misuse (CompleteDma twice, unknown handles, wrong IRQL, register
 * access outside a mapping, ...) never crashes the host: it is counted in
 * hvp_stats.misuse[kind] and reported through hvp_config.log.
 *
 * Device time (dmm cycles, 1 cycle = 1 ns) only matters for a DMM_CFG_DEFERRED
 * device: threaded mode lets its runs complete in real time (the interrupt
 * thread calls dmm_advance), deterministic mode as described above.
 *
 * Thread safety: every function may be called from any thread.  The log
 * callback may be called from any thread, including interrupt/DPC threads,
 * and possibly with hvp-internal locks held: it must not call back into hvp
 * (hvp_stats_get and hvp_misuse_name excepted).
 */
#ifndef HVP_HVP_H
#define HVP_HVP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmm/dmm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- return codes of the machine API ---------------------------------- */
#define HVP_OK       0
#define HVP_EINVAL   (-1) /* bad argument */
#define HVP_ENOMEM   (-2)
#define HVP_EDRIVER  (-3) /* DriverEntry failed or never called VideoPortInitialize */
#define HVP_ENODEV   (-4) /* HwVidFindAdapter failed */
#define HVP_EINIT    (-5) /* HwVidInitialize returned FALSE */
#define HVP_ESTATE   (-6) /* wrong machine state (no driver loaded, loaded twice) */
#define HVP_ETIMEOUT (-7)

/* Simulated IRQLs (what VideoPortGetCurrentIrql returns). */
#define HVP_IRQL_PASSIVE  0
#define HVP_IRQL_APC      1
#define HVP_IRQL_DISPATCH 2
#define HVP_IRQL_DEVICE   5 /* the adapter's DIRQL: ISR, SynchronizeExecution */

/* ---- misuse kinds: one counter each ----------------------------------- */
enum hvp_misuse {
    HVP_MISUSE_NONE = 0,
    HVP_MISUSE_BAD_DEVEXT,      /* HwDeviceExtension is not the device's */
    HVP_MISUSE_BAD_ARG,         /* NULL or impossible argument */
    HVP_MISUSE_IRQL,            /* routine called above its documented IRQL */
    HVP_MISUSE_DPC_IRQL,        /* VideoPortQueueDpc below DISPATCH_LEVEL */
    HVP_MISUSE_INIT,            /* VideoPortInitialize misuse */
    HVP_MISUSE_ADAPTER_UNKNOWN, /* adapter handle not from GetDmaAdapter, or already put */
    HVP_MISUSE_ADAPTER_PUT_TWICE,
    HVP_MISUSE_ADAPTER_BUSY,  /* PutDmaAdapter with transfers or common buffers live */
    HVP_MISUSE_CB_UNKNOWN,    /* ReleaseCommonBuffer of an unknown buffer */
    HVP_MISUSE_CB_MISMATCH,   /* ReleaseCommonBuffer arguments differ from the allocation */
    HVP_MISUSE_LOCK_BAD_ARGS, /* LockBuffer NULL/zero/wrapping buffer or bad Operation */
    HVP_MISUSE_MDL_UNKNOWN,   /* StartDma/UnlockBuffer with an MDL hvp never returned */
    HVP_MISUSE_MDL_UNLOCKED,  /* StartDma on an MDL already unlocked */
    HVP_MISUSE_UNLOCK_TWICE,
    HVP_MISUSE_UNLOCK_BUSY,       /* UnlockBuffer while transfers on it are not completed */
    HVP_MISUSE_START_BAD_RANGE,   /* StartDma: Offset beyond the MDL, *pLength 0, NULL args */
    HVP_MISUSE_COMPLETE_TWICE,    /* CompleteDma of a list already completed */
    HVP_MISUSE_COMPLETE_UNKNOWN,  /* CompleteDma of a list hvp never built */
    HVP_MISUSE_COMPLETE_MISMATCH, /* CompleteDma adapter/WriteToDevice differ from StartDma's */
    HVP_MISUSE_REG_OUT_OF_RANGE,  /* register access outside every VideoPortGetDeviceBase range */
    HVP_MISUSE_REG_WIDTH,         /* 8/16-bit write to the 32-bit-only device (done as RMW) */
    HVP_MISUSE_PORT_IO,           /* VideoPort*Port* on a memory-space mapping */
    HVP_MISUSE_MAP_RANGE,         /* GetDeviceBase/MapMemory outside the device's ranges */
    HVP_MISUSE_UNMAP_UNKNOWN,     /* FreeDeviceBase/UnmapMemory of an unknown address */
    HVP_MISUSE_SPINLOCK,          /* unknown lock, recursion, release by non-owner, delete held */
    HVP_MISUSE_EVENT,             /* unknown or deleted event */
    HVP_MISUSE_SYNC_NESTED,       /* SynchronizeExecution under the interrupt lock (deadlock) */
    HVP_MISUSE_INTR_NOT_ACKED,    /* line still asserted after 64 consecutive ISR calls */
    HVP_MISUSE_IOCTL_OVERFLOW,    /* StatusBlock->Information > OutputBufferLength */
    HVP_MISUSE_DEVICE_LOCK,       /* VideoPortAcquireDeviceLock recursion / bad release */
    HVP_MISUSE_LEAK,              /* at machine free: locked MDLs, live lists, common buffers */
    HVP_MISUSE_COUNT
};
const char *hvp_misuse_name(enum hvp_misuse kind); /* static string, "?" if out of range */

/* ---- logging ------------------------------------------------------------ */
enum hvp_log_level {
    HVP_LOG_DEBUG = 0,
    HVP_LOG_INFO,
    HVP_LOG_WARN,
    HVP_LOG_ERROR,
    HVP_LOG_MISUSE, /* a driver bug; msg->misuse says which */
    HVP_LOG_DRIVER  /* VideoPortDebugPrint; msg->driver_level is its VIDEO_DEBUG_LEVEL */
};
typedef struct hvp_log_msg {
    enum hvp_log_level level;
    enum hvp_misuse misuse; /* HVP_MISUSE_NONE unless level == HVP_LOG_MISUSE */
    int driver_level;
    const char *text; /* valid during the call only */
} hvp_log_msg;
typedef void (*hvp_log_fn)(void *ctx, const hvp_log_msg *msg);

/* ---- configuration ------------------------------------------------------ */
enum hvp_placement {
    HVP_PLACE_ANY = 0,  /* locked-buffer frames anywhere in RAM */
    HVP_PLACE_BELOW_4G, /* only below 4 GiB */
    HVP_PLACE_ABOVE_4G, /* only above 4 GiB ("highmem-only", needs ram_high_size) */
    HVP_PLACE_BELOW_16M /* only in the 8-16 MiB frame zone (8 MiB in all) */
};

/* A placement's name as trace headers spell it (schema/FORMAT.md 1.2:
 * "any", "below-4g", "above-4g", "below-16m"), or NULL; and back: false
 * when the name is unknown. */
const char *hvp_placement_name(enum hvp_placement p);
bool hvp_placement_parse(const char *name, enum hvp_placement *out);

/* Optional override of frame placement (replay): called for every page that
 * gets a new frame; return the PFN to use (return `proposed` to keep it).  A
 * PFN outside the eligible RAM or already in use is refused with a warning. */
typedef uint64_t (*hvp_frame_fn)(void *ctx, uint32_t lock_seq, uint32_t page_index,
                                 uint64_t proposed);

typedef struct hvp_config {
    bool deterministic;              /* no threads; see the header comment */
    bool reactos;                    /* ReactOS StartDma semantics */
    uint64_t seed;                   /* frame allocator seed [1] */
    uint32_t contig_permille;        /* P(next page physically follows the previous) x1000 [500] */
    enum hvp_placement placement;    /* [ANY] */
    uint64_t ram_low_top;            /* RAM below 4 GiB ends here; hole above [3 GiB] */
    uint64_t ram_high_size;          /* RAM above 4 GiB, 0 = none [4 GiB] */
    uint64_t pool32_size;            /* host pool below ram_low_top [64 MiB] */
    uint32_t map_register_cap;       /* cap on map registers per adapter [64] */
    uint64_t bar_phys;               /* BAR0 physical address, in the hole [0xFE000000] */
    uint32_t irq_level;              /* BusInterruptLevel/Vector reported to FindAdapter [11] */
    uint16_t pci_vendor, pci_device; /* PCI IDs in config space [0x1234, 0xD3A0] */
    uint64_t clock_step_ns;          /* deterministic: QPC advances this much per call [1000] */
    uint32_t mmio_ns;                /* deterministic: simulated time per register access, so a
                                        driver polling a deferred-completion device progresses [100] */
    uint32_t quarantine;             /* completed lists / unlocked MDLs kept poisoned [256] */
    bool real_clock;                 /* deterministic: QPC is CLOCK_MONOTONIC anyway, so only
                                        the scheduling is deterministic [false] */
    uint64_t va_base;                /* nonzero: the device extension, common buffers and
                                        register mappings come from a bump arena mapped at this
                                        address, so the same session shows the same virtual
                                        addresses on every run (capture --seed) [0] */
    uint64_t va_size;                /* that arena's size [256 MiB] */
    uint32_t wait_cap_ms;            /* threaded: cap on infinite waits, 0 = none [30000] */
    hvp_frame_fn frame_fn;           /* NULL = allocator decides */
    void *frame_ctx;
    hvp_log_fn log; /* NULL = silent */
    void *log_ctx;
} hvp_config;

void hvp_config_default(hvp_config *cfg);

/* ---- statistics --------------------------------------------------------- */
typedef struct hvp_stats {
    uint64_t misuse[HVP_MISUSE_COUNT]; /* [0] unused */
    uint64_t misuse_total;
    uint64_t ioctls;
    uint64_t reg_reads, reg_writes;
    uint64_t adapters, common_buffers;
    uint64_t locks, unlocks;
    uint64_t start_dma, start_dma_failed, start_dma_deferred, complete_dma;
    uint64_t sg_elements;
    uint64_t bounced_transfers, bounce_bytes_out, bounce_bytes_in; /* out: to device */
    uint64_t irq_edges, isr_calls, isr_claimed;
    uint64_t dpcs_queued, dpcs_coalesced, dpcs_run;
    uint64_t reactos_dropped_lists;
    uint64_t
        waits_abandoned; /* waits that could never be satisfied (deterministic) or hit the cap */
    uint64_t unsupported_calls;
} hvp_stats;

/* ---- the machine -------------------------------------------------------- */
typedef struct hvp_machine hvp_machine;

/* Creates the machine, its dmm_phys and dmm_dev (dev_cfg NULL = defaults) and,
 * in threaded mode, its interrupt and DPC threads.  Caller owns; NULL on a bad
 * config or OOM (reason logged). */
hvp_machine *hvp_machine_new(const hvp_config *cfg, const dmm_config *dev_cfg);
/* Waits for idle, reports leaks (HVP_MISUSE_LEAK), stops threads, frees all. */
void hvp_machine_free(hvp_machine *m);

/* The miniport's DriverEntry, called as DriverEntry(machine, NULL). */
typedef unsigned int (*hvp_driver_entry_fn)(void *Argument1, void *Argument2);
/* Calls DriverEntry (which must call VideoPortInitialize), then as PnP would:
 * allocates the device extension, calls HwVidFindAdapter (the device's BAR
 * comes from VideoPortGetAccessRanges), connects the interrupt if
 * HwVidInterrupt exists and BusInterruptLevel is left nonzero, then calls
 * HwVidInitialize.  HVP_OK or HVP_E*. */
int hvp_load_driver(hvp_machine *m, hvp_driver_entry_fn entry);

/* One IOCTL: METHOD_BUFFERED style (input and output share one system buffer
 * of max(in_len, out_len) bytes, as VideoPort does), HwVidStartIO called at
 * PASSIVE_LEVEL, serialized per device.  Returns the driver's VP_STATUS (>= 0)
 * or HVP_E* (< 0); *bytes_returned (may be NULL) = Information, clamped. */
int32_t hvp_ioctl(hvp_machine *m, uint32_t code, const void *in, uint32_t in_len, void *out,
                  uint32_t out_len, uint32_t *bytes_returned);

/* Waits until no interrupt is pending or running and no DPC is queued or
 * running.  Deterministic mode: runs that work on the calling thread.
 * timeout_ms 0 = no limit.  HVP_OK or HVP_ETIMEOUT. */
int hvp_wait_idle(hvp_machine *m, uint32_t timeout_ms);

/* A bug check as far as the driver sees it: calls the callback the driver
 * registered with VideoPortRegisterBugcheckCallback for code (only 0xEA
 * exists) with buf, the size it registered minus
 * BUGCHECK_DATA_SIZE_RESERVED (*data_size, may be NULL).  The machine goes
 * on running.  HVP_OK, HVP_ENODEV (nothing registered for code) or
 * HVP_EINVAL (cap is below the size). */
int hvp_bugcheck(hvp_machine *m, uint32_t code, void *buf, size_t cap, size_t *data_size);

void hvp_stats_get(hvp_machine *m, hvp_stats *out);
const hvp_config *hvp_machine_config(hvp_machine *m);
dmm_dev *hvp_dev(hvp_machine *m);           /* owned by the machine */
dmm_phys *hvp_phys(hvp_machine *m);         /* owned by the machine */
void *hvp_device_extension(hvp_machine *m); /* NULL before FindAdapter */
/* The clock VideoPortQueryPerformanceCounter returns (ns; deterministic mode:
 * the synthetic clock, advanced by one step per call). */
uint64_t hvp_clock_ns(hvp_machine *m);

/* What GetDmaAdapter granted (on Windows the miniport never sees this). */
typedef struct hvp_adapter_info {
    uint32_t index;         /* order of creation, from 0 */
    uint32_t map_registers; /* NMR */
    uint64_t max_address;   /* highest device-reachable address (UINT64_MAX = none) */
    bool scatter_gather, dma32, dma64;
    uint32_t maximum_length; /* as requested */
    bool put;                /* PutDmaAdapter was called */
    uint32_t transfers_live; /* lists not yet completed + deferred requests */
} hvp_adapter_info;
bool hvp_adapter_info_of(hvp_machine *m, const void *adapter, hvp_adapter_info *out);
uint32_t hvp_adapter_count(hvp_machine *m);
bool hvp_adapter_info_at(hvp_machine *m, uint32_t index, hvp_adapter_info *out);

/* A locked buffer (the MDL VideoPortLockBuffer returned). */
typedef struct hvp_mdl_info {
    const void *va;
    uint32_t length;
    int operation; /* VP_LOCK_OPERATION as passed */
    uint32_t pages;
    uint32_t lock_seq;
    bool locked;
} hvp_mdl_info;
bool hvp_mdl_info_of(hvp_machine *m, const void *mdl, hvp_mdl_info *out);
/* The frame of page i of a locked MDL (physical address = pfn * 4096), or
 * UINT64_MAX. */
uint64_t hvp_mdl_page_frame(hvp_machine *m, const void *mdl, uint32_t page_index);
/* The physical address of byte offset of a locked MDL's buffer (what the
 * device would see without bounce buffers).  false when mdl is not a live
 * MDL or offset is outside its buffer.  Takes the machine lock: never call
 * it with the lock held (HwVidExecuteDma runs without it). */
bool hvp_mdl_phys(hvp_machine *m, const void *mdl, uint64_t offset, uint64_t *phys);

#ifdef __cplusplus
}
#endif

#endif

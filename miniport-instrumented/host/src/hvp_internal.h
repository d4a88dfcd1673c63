/*
 * hvp_internal.h - private state of the host VideoPort (hvp) shared by its
 * source files.
 *
 * Objects handed to the driver (adapters, MDLs, SG lists, spin locks, events,
 * register mappings) are validated by looking the pointer up in the machine's
 * tables before anything is dereferenced; an unknown pointer is a misuse,
 * never a crash.
 *
 * Lock order (outermost first); no hvp lock is held while driver code runs
 * except the device lock (HwVidStartIO), the interrupt lock (ISR, sync
 * routines, ReactOS-mode ExecuteDma) and the driver's own spin locks:
 *
 *   device lock -> interrupt lock -> driver spin locks
 *     -> layout (rwlock: write = changing locked-buffer regions in dmm_phys,
 *                read  = register access, i.e. anything that can run the engine)
 *       -> m->lock (tables, stats) -> dmm locks -> m->ev_lock (irq/DPC state)
 *
 * m->ev_lock is a leaf except that dmm_next_completion/dmm_cycles (device lock
 * only, never a callback) may be called under it; the dmm irq callback takes
 * ev_lock after dmm has dropped its own lock.
 *
 * Device time (dmm cycles, 1 cycle = 1 ns of simulated time) matters only with
 * DMM_CFG_DEFERRED, where a run completes when dmm_advance reaches its end:
 * threaded mode advances it from the interrupt thread in real time;
 * deterministic mode jumps it to the next completion whenever the simulated
 * CPU would otherwise wait (and moves the synthetic clock by the same amount).
 */
#ifndef HVP_INTERNAL_H
#define HVP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hvp.h"
#include "video.h"

#define HVP_PAGE       4096u
#define HVP_PAGE_SHIFT 12
#define HVP_4G         0x100000000ull

#define HVP_POISON64 0xDEADDEADDEADDEADull
#define HVP_POISON32 0xDEADDEADu

typedef struct hvp_frame hvp_frame;
typedef struct hvp_mdl hvp_mdl;
typedef struct hvp_list hvp_list;

/* ---- physical memory (physmem.c) -------------------------------------- */
typedef struct hvp_extent {
    uint64_t addr, len; /* page multiples */
} hvp_extent;

typedef struct hvp_pool {
    uint64_t base, end; /* [base, end) */
    hvp_extent *free;   /* sorted, coalesced */
    size_t nfree, capfree;
} hvp_pool;

typedef struct hvp_zone {
    uint64_t first_pfn, npfn;
} hvp_zone;

typedef struct hvp_hash {
    uint64_t *keys;
    void **vals;
    size_t cap, n, tomb;
} hvp_hash;

typedef struct hvp_physmem {
    hvp_zone zones[3]; /* eligible frame zones in placement order */
    uint32_t nzones;
    uint64_t eligible; /* total frames in zones */
    hvp_pool pool24, pool32;
    hvp_hash by_page; /* host page address -> hvp_frame */
    hvp_hash by_pfn;  /* pfn -> hvp_frame */
    uint64_t rng;
} hvp_physmem;

/* A frame backing one locked host page, shared by every MDL over the page. */
typedef struct hvp_window {
    const hvp_mdl *mdl;
    uint16_t lo, hi; /* [lo, hi) bytes of the page this MDL locks */
} hvp_window;

struct hvp_frame {
    uintptr_t page; /* host page address */
    uint64_t pfn;
    uint16_t reg_lo, reg_hi; /* region currently registered in dmm_phys; lo == hi: none */
    uint32_t nwin, capwin;
    hvp_window *win;
};

/* ---- driver-visible objects ------------------------------------------- */
struct hvp_dma_adapter {
    struct hvp_dma_adapter *next;
    hvp_machine *m;
    uint32_t index;
    VP_DEVICE_DESCRIPTION desc;
    uint32_t nmr;     /* map registers granted */
    uint32_t mr_used; /* map registers held by live lists */
    uint64_t limit;   /* highest reachable address */
    bool put;
    uint32_t live;                          /* live lists + deferred requests */
    uint32_t cbs;                           /* live common buffers */
    struct hvp_deferred *dq_head, *dq_tail; /* StartDma requests waiting for map registers */
};

struct hvp_mdl {
    hvp_mdl *next;
    uintptr_t va;
    uint32_t len;
    int op;
    uint32_t npages;
    uint32_t seq;
    bool locked;
    uint32_t outstanding; /* lists + deferred requests referencing it */
    hvp_frame **frames;
};

typedef struct hvp_bounce_seg {
    uintptr_t host; /* host bytes */
    uint64_t phys;  /* bounce address */
    uint32_t len;
} hvp_bounce_seg;

struct hvp_list {
    hvp_list *next;
    struct hvp_dma_adapter *ad;
    hvp_mdl *mdl; /* NULL once the MDL was unlocked under it */
    bool write;
    uint32_t mr;                        /* map registers held */
    uint64_t bounce_base, bounce_pages; /* one pool region, 0 pages = none */
    uint32_t nseg;
    hvp_bounce_seg *seg;
    VP_SCATTER_GATHER_LIST *sg; /* handed to the driver */
};

typedef struct hvp_deferred {
    struct hvp_deferred *next;
    hvp_mdl *mdl;
    uint32_t offset, len, mr;
    PEXECUTE_DMA exec;
    void *ctx;
    bool write;
} hvp_deferred;

typedef struct hvp_cb {
    struct hvp_cb *next;
    struct hvp_dma_adapter *ad;
    void *va;
    uint64_t phys;
    uint32_t len; /* as requested */
    uint64_t pages;
    BOOLEAN cache;
    bool legacy; /* VideoPortGetCommonBuffer */
} hvp_cb;

struct hvp_spin_lock {
    struct hvp_spin_lock *next;
    pthread_mutex_t mu;
    _Atomic bool held;
    pthread_t owner;
    uint32_t recursion; /* misuse recursion absorbed without locking */
    bool dead;
};

typedef struct hvp_event {
    ENG_EVENT eng; /* first: PEVENT points here */
    struct hvp_event *next;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool signaled, notification, dead;
} hvp_event;

/* A VideoPortGetDeviceBase/MapMemory range (global registry: register
 * accessors only get the address). */
typedef struct hvp_mapping {
    struct hvp_mapping *next;
    hvp_machine *m;
    uintptr_t va;     /* what the driver got */
    uint32_t len;     /* bytes usable from va */
    uint32_t bar_off; /* BAR offset of va */
    void *mm_base;    /* PROT_NONE reservation */
    size_t mm_len;
    bool alias; /* MapMemory of a common buffer: va is real memory, no mm */
} hvp_mapping;

/* ---- the machine -------------------------------------------------------- */
struct hvp_machine {
    hvp_machine *next_machine; /* global registry */
    uint8_t *va_arena;         /* cfg.va_base arena, or NULL */
    size_t va_used;            /* bump pointer (under lock) */
    pthread_mutex_t va_lock;
    hvp_config cfg;
    dmm_config dev_cfg;
    dmm_phys *pm;
    dmm_dev *dev;

    pthread_mutex_t lock; /* tables below, stats */
    pthread_rwlock_t layout;
    hvp_physmem phys;
    hvp_stats st;

    /* driver */
    bool registered, loaded, found;
    VIDEO_HW_INITIALIZATION_DATA hw;
    void *hw_context;
    void *devext;
    VIDEO_PORT_CONFIG_INFO config_info;
    PVIDEO_BUGCHECK_CALLBACK bugcheck_cb; /* VideoPortRegisterBugcheckCallback (lock) */
    size_t bugcheck_size;                 /* its BugcheckDataSize */

    /* locks the driver sees */
    pthread_mutex_t device_lock; /* HwVidStartIO serialization = VideoPortAcquireDeviceLock */
    _Atomic bool device_lock_held;
    pthread_t device_lock_owner;
    bool device_lock_by_driver;    /* taken by VideoPortAcquireDeviceLock, not the port */
    uint32_t device_lock_absorbed; /* misused recursive acquires to pair with releases */
    pthread_mutex_t intr_lock;
    _Atomic bool intr_held;
    _Atomic uintptr_t intr_owner; /* (uintptr_t)pthread_self() of the holder; read unlocked */

    /* interrupt / DPC state (ev_lock) */
    pthread_mutex_t ev_lock;
    pthread_cond_t ev_cond;
    bool intr_connected, intr_enabled;
    bool irq_pending, isr_running;
    bool dpc_queued, dpc_running;
    PMINIPORT_DPC_ROUTINE dpc_fn;
    void *dpc_ctx;
    bool stop;
    bool dev_kick; /* a register write may have started a deferred run */
    bool threads_started;
    pthread_t intr_thread, dpc_thread;
    pthread_mutex_t deliver_lock; /* deterministic delivery: one thread at a time */

    /* tables (m->lock) */
    struct hvp_dma_adapter *adapters;
    uint32_t nadapters;
    hvp_mdl *mdls;       /* locked */
    hvp_mdl **dead_mdls; /* ring of unlocked MDL records (quarantine) */
    uint32_t ndead_mdls, dead_mdl_pos;
    uint32_t lock_seq;
    hvp_list *lists; /* live */
    hvp_list **quar; /* ring of completed, poisoned lists */
    uint32_t nquar, quar_pos;
    hvp_cb *cbs;
    struct hvp_spin_lock *spinlocks;
    hvp_event *events;

    /* clocks */
    _Atomic uint64_t det_clock;

    /* replay backend (replay.c, hvp_replay.h); NULL = none, and then every
     * hook point is skipped */
    struct hvp_replay *rp;
};

/* ---- per-thread simulated CPU state ------------------------------------ */
typedef struct hvp_cpu {
    hvp_machine *m; /* machine whose driver code this thread is running */
    uint8_t irql;
    bool delivering;
    bool in_isr;
} hvp_cpu;
extern _Thread_local hvp_cpu hvp__cpu;

/* machine.c */
hvp_machine *hvp__machine_of(const void *devext, const char *fn); /* reports BAD_DEVEXT */
hvp_machine *hvp__current(void); /* TLS machine, else the only/last machine, else NULL */
void hvp__misuse(hvp_machine *m, enum hvp_misuse kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hvp__log(hvp_machine *m, enum hvp_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hvp__log_driver(hvp_machine *m, int driver_level, const char *text);
bool hvp__check_irql(hvp_machine *m, uint8_t max, const char *fn); /* false + misuse if above */
uint8_t hvp__raise(uint8_t irql);                                  /* returns the old IRQL */
void hvp__lower(hvp_machine *m, uint8_t irql); /* delivery point when reaching PASSIVE */
void hvp__deliver(hvp_machine *m);
void hvp__stat_add(hvp_machine *m, uint64_t *field, uint64_t n);
void hvp__unsupported(const char *fn);
void hvp__intr_acquire(hvp_machine *m);
void hvp__intr_release(hvp_machine *m);
bool hvp__intr_owned_by_me(hvp_machine *m);
uint64_t hvp__clock(hvp_machine *m);
bool hvp__deferred(const hvp_machine *m);
/* Deterministic mode: advance the device to its next run completion (and the
 * synthetic clock with it); false if no run is pending. */
bool hvp__idle_skip(hvp_machine *m);
void hvp__advance(hvp_machine *m, uint64_t ns); /* device + synthetic clock */
void hvp__kick(hvp_machine *m);                 /* after a register write, threaded + deferred */
void *hvp__proc_address(const char *name);

/* physmem.c */
int hvp__phys_init(hvp_machine *m);
void hvp__phys_fini(hvp_machine *m);
/* Under m->lock + layout write lock.  Assigns frames to the MDL's pages and
 * registers the bytes in dmm_phys.  DMM_OK or DMM_E*. */
int hvp__phys_lock_pages(hvp_machine *m, hvp_mdl *mdl);
void hvp__phys_unlock_pages(hvp_machine *m, hvp_mdl *mdl);
/* Contiguous pool allocation whose last byte is <= limit; 0 on failure. */
uint64_t hvp__pool_alloc(hvp_machine *m, uint64_t pages, uint64_t limit);
void hvp__pool_free(hvp_machine *m, uint64_t addr, uint64_t pages);
uint64_t hvp__ram_bytes(const hvp_config *cfg);

/* dma.c */
void hvp__dma_teardown(hvp_machine *m); /* leak report + free, at machine free */

/* regs.c */
void hvp__regs_teardown(hvp_machine *m);

/* sync.c */
void hvp__sync_teardown(hvp_machine *m);

/* replay.c: the hook points (only called when m->rp != NULL) */
void hvp__replay_free(hvp_machine *m);
bool hvp__replay_replaces(const hvp_machine *m); /* the backend stands for the device */
/* The value a read of width bytes at BAR offset off returns (model_value:
 * what the model gave, unused when the backend replaces the device). */
uint32_t hvp__replay_read(hvp_machine *m, uint32_t off, uint32_t width, uint32_t model_value);
void hvp__replay_write(hvp_machine *m, uint32_t off, uint32_t width, uint32_t value);
/* Under m->lock.  true: the backend answered the StartDma; *status is its
 * result, *len the *pLength to report and *out (may be NULL) the live list
 * to hand to HwVidExecuteDma.  false: hvp goes on as without a backend. */
bool hvp__replay_start_dma(hvp_machine *m, struct hvp_dma_adapter *a, hvp_mdl *d, uint32_t offset,
                           uint32_t *len, bool write, hvp_list **out, uint32_t *status);
/* service_interrupt with replace_device: one raise consumed by an
 * HwVidInterrupt call (returns whether more are owed), or all dropped
 * because the interrupt is not connected/enabled. */
bool hvp__replay_isr_done(hvp_machine *m);
void hvp__replay_isr_skipped(hvp_machine *m);

/* Deterministic VA arena (cfg.va_base): page-aligned, zeroed, never reused.
 * Without an arena these are posix_memalign/free.  hvp__va_owned tells
 * whether p came from the arena (then it must not be freed). */
void *hvp__va_alloc(hvp_machine *m, size_t len);
void hvp__va_free(hvp_machine *m, void *p);
bool hvp__va_owned(const hvp_machine *m, const void *p);

#endif

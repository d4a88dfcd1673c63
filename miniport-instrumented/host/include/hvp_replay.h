/*
 * hvp_replay.h - the replay backend of the host VideoPort: lets a tool
 * (`dmatrace replay --driver --inject-inputs`) feed a loaded miniport the
 * OS-side inputs of a recorded session instead of what hvp and the device
 * model would produce:
 *
 *   VideoPortStartDma  --start_dma hook--> SG list + granted *pLength
 *                                          (or a failure status, or no
 *                                          HwVidExecuteDma at all)
 *   register read      --reg_read hook---> the value the driver gets
 *   register write     --reg_write hook--> seen by the tool (and, unless
 *                                          replace_device, the model too)
 *   hvp_replay_raise_interrupt ----------> one HwVidInterrupt call (+ the DPC
 *                                          it queues), delivered as hvp
 *                                          delivers the model's interrupts
 *
 * Without hooks installed hvp behaves exactly as before (the hook points are
 * one NULL test each).  Install the hooks once, after hvp_machine_new and
 * before hvp_load_driver; they are called on the thread that runs the
 * driver code (any thread in threaded mode), possibly at DISPATCH_LEVEL or
 * DEVICE level with hvp-internal locks held: they must not call back into
 * hvp (hvp_replay_raise_interrupt excepted, which only marks the interrupt
 * pending when called from a hook).
 *
 * Ownership: the hooks structure is copied; ctx stays the caller's.  SG
 * elements a start_dma hook writes into req->sg are copied into a list hvp
 * owns (and poisons after VideoPortCompleteDma, as its own lists).
 */
#ifndef HVP_HVP_REPLAY_H
#define HVP_HVP_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "hvp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HVP_REPLAY_MAX_SG 4096u /* elements a start_dma hook may return */

/* What VideoPortStartDma does with a request (hvp_replay_dma.action). */
enum hvp_replay_action {
    HVP_REPLAY_NATIVE = 0, /* hvp builds the list itself, as without a hook */
    HVP_REPLAY_EXECUTE,    /* HwVidExecuteDma with req->sg[0..nsg), *pLength = granted */
    HVP_REPLAY_FAIL,       /* StartDma returns req->status, *pLength = 0, no callback */
    HVP_REPLAY_DROP        /* StartDma returns NO_ERROR, *pLength = granted, no callback
                              (ReactOS's dropped lists) */
};

typedef struct hvp_replay_sg {
    uint64_t addr;
    uint32_t len;
} hvp_replay_sg;

/* One VideoPortStartDma call, as the hook sees it. */
typedef struct hvp_replay_dma {
    /* in */
    uint32_t adapter;   /* hvp adapter index (order of creation, from 0) */
    const void *mdl;    /* the MDL handle the driver passed */
    uint32_t lock_seq;  /* hvp's lock sequence number of that MDL (from 0) */
    uint32_t offset;    /* Offset as passed */
    uint32_t requested; /* *pLength as passed */
    bool write_to_device;
    /* out (zeroed before the call) */
    int action;        /* enum hvp_replay_action */
    uint32_t status;   /* VP_STATUS for HVP_REPLAY_FAIL */
    uint32_t granted;  /* *pLength handed to HwVidExecuteDma */
    uint32_t nsg;      /* elements written to sg */
    hvp_replay_sg *sg; /* room for HVP_REPLAY_MAX_SG elements, owned by hvp */
} hvp_replay_dma;

typedef void (*hvp_replay_dma_fn)(void *ctx, hvp_replay_dma *req);
/* bar_off: offset in the device's BAR; width 1, 2 or 4 bytes (a narrow
 * access names its own byte offset, not the containing register). */
typedef uint32_t (*hvp_replay_read_fn)(void *ctx, uint32_t bar_off, uint32_t width);
typedef void (*hvp_replay_write_fn)(void *ctx, uint32_t bar_off, uint32_t width, uint32_t value);

typedef struct hvp_replay_hooks {
    hvp_replay_dma_fn start_dma;   /* NULL: hvp builds SG lists */
    hvp_replay_read_fn reg_read;   /* NULL: reads come from the device model */
    hvp_replay_write_fn reg_write; /* NULL: writes are not reported */
    /* true: the backend stands for the device.  Register accesses never
     * reach the device model (reads return reg_read's value, or all ones
     * without one), and the interrupt line is what hvp_replay_raise_interrupt
     * raises: one HwVidInterrupt call per raise.  false: the model still
     * sees every access (reads return the hook's value when reg_read is set)
     * and still raises its own interrupts. */
    bool replace_device;
    void *ctx;
} hvp_replay_hooks;

/* Install (hooks non-NULL) or remove (NULL) the replay backend.  HVP_OK,
 * HVP_EINVAL (NULL machine) or HVP_ESTATE (a driver is already loaded). */
int hvp_replay_install(hvp_machine *m, const hvp_replay_hooks *hooks);

/* Raise the device's interrupt once.  It is serviced as hvp services the
 * model's interrupts: HwVidInterrupt under the interrupt lock at DEVICE
 * level, then the DPC it queued.  Deterministic mode: called at PASSIVE_LEVEL
 * outside driver code (or from a hook whose driver code is at PASSIVE), it
 * runs both on the calling thread before returning; called from a hook at a
 * raised IRQL it marks the interrupt pending and the next delivery point
 * runs it.  Threaded mode: the interrupt thread runs it.  Each raise is one
 * HwVidInterrupt call, also when several are pending at once (with
 * replace_device; otherwise pending raises coalesce like edges). */
void hvp_replay_raise_interrupt(hvp_machine *m);

/* Counters of the backend (for tests): StartDma calls answered by the hook,
 * register reads answered, writes seen, interrupts raised, lists refused by
 * hvp's checks (HVP_REPLAY_EXECUTE with 0 or too many elements, an empty or
 * wrapping element, granted 0: StartDma then fails with
 * ERROR_INVALID_PARAMETER and a warning is logged). */
typedef struct hvp_replay_stats {
    uint64_t start_dma, reg_reads, reg_writes, interrupts, refused_lists;
} hvp_replay_stats;
void hvp_replay_stats_get(hvp_machine *m, hvp_replay_stats *out);

#ifdef __cplusplus
}
#endif

#endif

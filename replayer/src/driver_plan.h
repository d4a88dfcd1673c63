/*
 * driver_plan.h - the state driver-mode replay's files share (driver.c,
 * driver_plan.c, driver_rerun.c, driver_compare.c): the plan of pass 1,
 * the re-run and the re-run trace.  Internal to the replayer, like
 * internal.h.  Ownership: a plan owns its tables (rpl__drv_plan_free), a
 * rerun its session and buffers (rpl__drv_rerun_free), a rerun_trace its
 * records (rpl__drv_rt_free); all three live on rpl_driver_replay_mode's
 * stack.
 */
#ifndef RPL_DRIVER_PLAN_H
#define RPL_DRIVER_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "dmt/record.h"
#include "dmtc_session.h"
#include "hvp.h"
#include "hvp_replay.h"
#include "internal.h"
#include "rpl/driver.h"

#define MAX_DXFERS    (1u << 20)
#define MAX_OPEN      64u
#define MAX_ADAPTERS  64u
#define RING_DATA     (32u << 20)
#define MAX_RERUN_REC (16u << 20)
#define VA_BASE       0x7e0000000000ull /* dmatrace capture's hvp va_base */

enum {
    ST_SETUP = 0,
    ST_CH0 = 1,
    ST_CH1 = 2,
    ST_END0 = 3, /* START_DMA_END of channel 0 */
    ST_END1 = 4,
    ST_STAT0 = 5, /* channel 0's STATUS register (read and cleared by the ISR) */
    ST_STAT1 = 6,
    ST_GLOBAL = 7,
    NSTREAM = 8,
    ST_NONE = 99
};

/* One TRANSFER IOCTL of the recorded workload. */
typedef struct dxfer {
    uint32_t mdl;
    uint64_t va, length;
    uint32_t op;
    bool pattern;
    uint64_t seed;
    int ch; /* -1 until its StartDma */
    bool have_dev_off;
    uint64_t dev_off;
    bool async, saw_other;
    uint64_t *frames; /* recorded PFN per page, 0 = unknown */
    uint32_t npages;
} dxfer;

typedef struct op {
    bool wait;
    uint32_t x;
} op;

typedef struct xinfo {
    uint32_t dx; /* index + 1 into plan.x, 0 = none */
    uint64_t offset;
} xinfo;

/* What puts a trace's records into streams. */
typedef struct links {
    rpl_idmap mdl_ch, xfer_ch, adapter_ch, cb_adapter; /* values: value + 1 */
    uint64_t first_lock;
    bool split_status; /* channel STATUS accesses in streams of their own
                          (a trace from several CPUs: rpl__drv_strict) */
} links;

typedef struct adesc {
    bool sg, dma32, dma64;
    uint64_t max_length;
    uint32_t map_registers;
} adesc;

/* ---- injection mode: the recorded OS-side inputs ------------------------------------ */

#define INJ_REGS 1024u /* 32-bit registers of the BAR */

/* The answer to one StartDma of a direction, from START_DMA / EXECUTE_DMA /
 * START_DMA_END of one recorded xfer. */
typedef struct idma {
    int action; /* enum hvp_replay_action */
    uint32_t status, granted;
    uint64_t sg_first; /* into inject.sg */
    uint32_t nsg;
} idma;

typedef struct inject {
    idma *dma[2]; /* per direction: 0 to the device, 1 from it; in START_DMA order */
    uint32_t ndma[2], capdma[2], cur[2];
    hvp_replay_sg *sg;
    uint64_t nsg, capsg;
    rpl_idmap xfer_dma; /* recorded xfer -> (dir << 31 | index) + 1 */
    /* register reads: one queue per register, in record order */
    uint32_t *rd_val, *rd_next;
    uint32_t nrd, caprd;
    uint32_t rd_head[INJ_REGS], rd_tail[INJ_REGS]; /* index + 1, 0 = none */
    uint32_t rd_cur[INJ_REGS];                     /* run: the next value per register */
    /* interrupts: raised after the driver's w-th register write */
    uint64_t *irq_w;
    uint32_t nirq, capirq, irq_cur;
    uint64_t writes;                  /* pass 1: recorded writes so far; run: driver's writes */
    bool run, run_read;               /* pass 1: inside a run of register records */
    uint64_t run_start_w, run_read_w; /* writes before the run / before its first read */
    uint64_t map_addr[16];            /* device map address per dev id (0..15), 0 = unknown */
    uint64_t bar_addr;                /* the first mapping's address */
    uint64_t skipped_digests;         /* from-device DIGESTs left out of the comparison */
} inject;

typedef struct plan {
    const rpl_opts *o;
    bool inject_mode;
    inject inj;
    dmt_header hdr;
    dmm_config dev;
    bool wrote, cfg_rev, cfg_caps, cfg_devmem;
    adesc adapters[MAX_ADAPTERS];
    uint32_t nadapters, released;
    bool configure; /* channel adapters re-created before the first transfer */
    adesc ch_desc[2];
    uint32_t max_nmr;
    dxfer *x;
    uint32_t nx, capx;
    op *ops;
    uint32_t nops, capops;
    rpl_idmap mdl_x, xfer_info, adapter_xfer;
    uint32_t open[MAX_OPEN];
    unsigned nopen;
    links L;
    uint64_t mem;
    bool lost;
    int digest_policy; /* the first DIGEST's policy (the re-run's probe uses it), -1 none */
} plan;

typedef struct rerun {
    plan *p;
    dmtc_session *s; /* ring, re-run trace (drained here), machine */
    hvp_machine *m;  /* the session's */
    uint8_t *area[2];
    size_t area_len[2];
    uint32_t locks; /* TRANSFER IOCTLs issued: hvp's lock_seq of the next one */
} rerun;

typedef struct rerun_trace {
    dmt_record *r;
    size_t n, cap;
    links L;
    uint32_t *idx[NSTREAM]; /* record indices per stream */
    size_t nidx[NSTREAM];
} rerun_trace;

/* ---- functions used across the files ------------------------------------------ */

int rpl__drv_plan_read(plan *p, const char *path, dmt_error *err);
void rpl__drv_plan_free(plan *p);
bool rpl__drv_links_init(links *L);
void rpl__drv_links_add(links *L, const dmt_record *r, uint64_t index);
void rpl__drv_links_free(links *L);
int rpl__drv_stream_of(const links *L, const dmt_record *r, uint64_t index);
int rpl__drv_run_workload(rerun *u, rpl_driver_entry entry, const char *out, dmt_error *err);
void rpl__drv_rerun_free(rerun *u);
int rpl__drv_rt_load(rerun_trace *t, const char *path, bool inject_mode, bool split_status,
                     dmt_error *err);
/* Whether the recorded order is reproducible (--order, or auto: a
 * deterministic clock): then the global stream is compared and a channel's
 * STATUS accesses stay in the channel's stream. */
bool rpl__drv_strict(const plan *p);
void rpl__drv_rt_free(rerun_trace *t);
int rpl__drv_compare(const char *path, plan *p, rerun_trace *t, rpl_replay *e, dmt_error *err);

#endif

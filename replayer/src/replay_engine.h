/*
 * replay_engine.h - the replay engine's state shared by its files (replay.c,
 * replay_log.c, replay_desc.c, replay_mdl.c); not for the rest of the
 * module, which sees the engine through rpl/replay.h and internal.h.
 *
 * The engine's functions keep their short names in the code; the macros at
 * the end map them to rpl__ symbols, so the library exports one prefix.
 * Ownership: every table, arena and copy hangs off struct rpl_replay and is
 * charged to mem_used (see replay.c).
 */
#ifndef RPL_REPLAY_ENGINE_H
#define RPL_REPLAY_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "dmm/dmm.h"
#include "dmt/record.h"
#include "internal.h"

#define MAX_LIVE_CB      4096u
#define MAX_LIVE_MDL     4096u
#define MAX_LIVE_XFER    4096u
#define MAX_ADAPTERS     256u
#define MAX_DEVMAPS      16u
#define MAX_SRC_PER_MDL  256u
#define MAX_EARLY        32u
#define MAX_SUSPECTS     8u
#define MAX_HELD         64u
#define IRQ_WINDOW       32u    /* records a claimed INTERRUPT may trail the ISR's ack */
#define DESC_WINDOW      65536u /* records a partial descriptor fill may wait for its doorbell */
#define WIN              32u    /* >= RPL_MAX_CONTEXT + 1, a power of two */
#define WIN_ITEMS        8u
#define WIN_BYTES        160u /* >= 4 * WIN_ITEMS (what describe shows of a byte string) */
#define DEVMEM_INTERVALS 1024u
#define ARENA_CACHE      8u
#define MAX_SVC          8u
#define MAX_SNAP         8u
#define REORDER_WINDOW   32u /* records a read may trail a write it did not see */
#define PAT_DIGESTS      4u  /* digests of pattern bytes kept (replay_mdl.c) */

/* ---- records kept for context ------------------------------------------ */
/* Register accesses (most of a trace) are kept in the compact form; any
 * other record as a full copy with the first few items of its lists. */
typedef struct winreg {
    uint32_t kind, dev, width;
    int64_t ts;
    uint64_t seq, off, value;
} winreg;

typedef struct winrec {
    uint64_t index;
    bool compact;
    winreg c;
    dmt_record r;
    dmt_sg_elem sg[WIN_ITEMS];
    uint64_t values[WIN_ITEMS];
    uint8_t bytes[WIN_BYTES];
} winrec;

/* ---- trace objects -------------------------------------------------------- */
typedef struct src {
    bool payload;
    uint64_t off, len, seed;
    uint8_t *bytes; /* payload copy */
} src;

typedef struct mdl_t {
    uint32_t id;
    uint64_t len;
    src *srcs;
    uint32_t nsrc, capsrc;
    bool overflow; /* sources dropped: contents unknown */
    bool noted;    /* NO_CONTENT noted */
    uint32_t live; /* transfers started on it and not freed */
} mdl_t;

typedef struct cbuf_t {
    uint32_t id, adapter;
    uint64_t addr, len;
    bool mapped;
} cbuf_t;

typedef struct adapter_t {
    uint32_t id;
    uint64_t addr_limit;
} adapter_t;

/* An address-contiguous run of a transfer's SG elements and where its bytes
 * sit in the transfer's arena. */
typedef struct xrun {
    uint64_t addr, pos, len;
    bool mapped; /* a model region over the arena (else the arena alone) */
} xrun;

typedef struct xfer_t {
    uint32_t id, adapter, mdl;
    uint64_t offset, requested, granted;
    bool wtd, have_start, executed, content_known;
    int ch; /* -1 unknown */
    dmt_sg_elem *sg;
    uint32_t n_sg;
    uint8_t *arena;
    uint64_t arena_len, arena_cap;
    xrun *runs; /* ascending pos; nregions of them mapped */
    uint32_t nruns, nregions;
    /* the run its doorbell started */
    bool run_bound, run_tainted, devmem_unknown;
    dmm_run_info run; /* run.digest: see run_digest_later */
    /* the model had not digested the run's bytes (it digests when asked):
     * run.digest is not the run's digest until run_digest() asks for it,
     * which keep_run_digest() does before the channel's next run or RESET
     * while the transfer lives */
    bool run_digest_later;
    unsigned run_ch;
    uint64_t run_index;
    /* descriptor check */
    bool desc_seen, desc_bad, desc_unparsed;
    uint32_t dk;   /* SG cursor: element */
    uint64_t doff; /* SG cursor: offset in element */
    uint64_t desc_next_off, desc_bytes;
    uint64_t ring_base;
    uint32_t ring_count;
    uint64_t desc_index; /* record of the last DESC_WRITE */
    int desc_suspect;    /* suspect slot or -1 */
    bool desc_complete;  /* the descriptors cover the SG list exactly, in order */
    uint64_t desc_hash;  /* DMT64 of the descriptor bytes written (in ring order) */
    dmt64_state desc_st;
    bool lo_ok, hi_ok, count_ok; /* ring registers written as the descriptors say */
    bool counted;                /* counted in its MDL's live transfers */
    /* from-device buffers are filled at the doorbell, and not at all when
     * the device will provably overwrite every byte (see doorbell) */
    bool fill_pending, fill_skipped;
    uint32_t nregions_want; /* regions the SG list needs (all mapped?) */
} xfer_t;

typedef struct chan_t {
    uint32_t pending; /* xfer executed but not yet doorbelled, 0 = none */
    uint64_t run_seq;
    uint32_t run_xfer; /* the xfer the channel's newest run is bound to, 0 = none */
    bool taint, w_lo, w_hi, w_count;
} chan_t;

typedef struct devmap_t {
    uint32_t id;
    bool model;     /* the modelled device */
    uint64_t delta; /* BAR offset of the mapping's first byte */
    uint64_t len;
} devmap_t;

typedef struct early_t {
    uint64_t index, seq;
    int64_t ts;
    uint32_t bar_off, dev, width;
    uint64_t value, off;
    unsigned nctx;
    rpl_ctx_line ctx[RPL_MAX_CONTEXT];
} early_t;

typedef struct suspect_t {
    bool open;
    bool irq; /* irq suspect (else descriptor) */
    uint32_t xfer;
    uint64_t index, deadline;
    rpl_divergence d;
} suspect_t;

/* An interrupt the ISR acknowledged (its write to IRQ_STATUS lowered the
 * model's line) whose claimed INTERRUPT record has not come yet. */
typedef struct svc_t {
    uint64_t edge_index, ack_index;
    uint32_t value; /* bits acknowledged */
    int suspect;    /* open once a non-register record came, else -1 */
} svc_t;

/* Registers a concurrent read may return, as they were before a write. */
typedef struct snap_t {
    uint64_t index; /* the write's record */
    uint32_t irq_status, ch_status[DMM_NUM_CHANNELS];
} snap_t;

typedef struct ival {
    uint64_t lo, hi; /* [lo, hi) */
} ival;

/* note keys: repeated notes aggregate into one limit entry */
enum {
    NK_UNKNOWN_CB,
    NK_UNKNOWN_XFER,
    NK_UNKNOWN_MDL,
    NK_UNKNOWN_DEV,
    NK_OTHER_DEVICE,
    NK_UNMAPPED,
    NK_NO_CONTENT,
    NK_UNVERIFIED,
    NK_CONFIG,
    NK_IRQ_END,
    NK_CB_OVERLAP,
    NK_DEVMEM,
    NK_REORDER,
    NK_NOT_VERIFIED,
    NK_MAX_
};

struct rpl_replay {
    rpl_opts o;
    rpl_summary sum;
    dmt_error *err; /* of the current rpl_feed call */
    int fatal;

    /* model */
    dmm_phys *pm;
    dmm_dev *dev;
    dmm_config cfg;
    bool cfg_rev, cfg_caps, cfg_devmem; /* learned from the trace */
    uint32_t inf_rev, inf_bits, inf_errata;
    uint64_t inf_devmem;
    early_t *early;
    unsigned nearly;
    size_t dsz;
    uint64_t mem_used;
    /* a buffer was given to the model as a pattern (dmm_phys_set_pattern):
     * model regions may be lazy, the arenas under them stale (see
     * replay_mdl.c) */
    bool lazy_used;
    /* digests of pattern bytes, newest at pat_next - 1 (replay_mdl.c) */
    struct pat_digest {
        bool ok;
        uint32_t algo, nranges;
        uint64_t seed, origin, n, value;
        dmt_sg_elem ranges[DMT_DIGEST_BOUNDED_MAX_RANGES];
    } pat_dg[PAT_DIGESTS];
    unsigned pat_next;

    /* tables */
    rpl_idmap cbs, mdls, xfers, adapters;
    devmap_t devmaps[MAX_DEVMAPS];
    unsigned ndevmaps;
    bool have_bar;
    uint64_t bar_addr;
    chan_t ch[DMM_NUM_CHANNELS];
    struct {
        uint8_t *p;
        uint64_t cap;
    } arena_cache[ARENA_CACHE];

    /* interrupts */
    bool line, owed, irq_taint;
    uint64_t edge_index, last_intr_index;
    uint32_t irq_dev; /* dev id of the last INTERRUPT record */
    bool have_last_intr;
    svc_t svc[MAX_SVC]; /* serviced interrupts awaiting their INTERRUPT record, oldest first */
    unsigned nsvc;

    /* reordering of several CPUs' records */
    bool tolerant;
    snap_t snaps[MAX_SNAP];
    unsigned nsnaps; /* total taken; ring index = n % MAX_SNAP */

    /* loss */
    bool after_loss, devmem_all_known, devmem_overflow;
    ival *known;
    unsigned nknown;
    uint8_t *fetch_buf; /* descriptors a run fetched */

    /* records */
    uint64_t cur;  /* index of the record being fed */
    uint64_t nrec; /* records fed */
    int64_t t0;
    winrec win[WIN];
    const dmt_record *rec;

    /* divergences */
    suspect_t sus[MAX_SUSPECTS];
    unsigned nsus_open;
    rpl_divergence *held;
    unsigned nheld;
    rpl_divergence *kept;
    uint64_t kept_cap;
    rpl_limit limits[RPL_MAX_LIMITS];
    int note_slot[NK_MAX_]; /* limit slot of an aggregated note, -1 none */
    bool noted[NK_MAX_];
};

/* ---- functions used across the engine's files ---------------------------- */

/* replay.c */
int rpl__fail(rpl_replay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool rpl__charge(rpl_replay *r, uint64_t n, const char *what);
void rpl__uncharge(rpl_replay *r, uint64_t n);
void rpl__note(rpl_replay *r, int key, int kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
size_t rpl__desc_size(const rpl_replay *r);
xfer_t *rpl__xfer_get(rpl_replay *r, uint32_t id);
void rpl__fill_now(rpl_replay *r, xfer_t *x, uint64_t from);
void rpl__doorbell(rpl_replay *r, unsigned c);
uint64_t rpl__run_digest(rpl_replay *r, xfer_t *x);

/* replay_log.c */
void rpl__win_push(rpl_replay *r, const dmt_record *rec);
unsigned rpl__ctx_capture(rpl_replay *r, rpl_ctx_line *out, uint64_t cur);
void rpl__div_init(rpl_replay *r, rpl_divergence *d, int kind);
/* Format into one RPL_TEXT field of a divergence (set_subject & co.). */
void rpl__div_set(char field[RPL_TEXT], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rpl__keep(rpl_replay *r, const rpl_divergence *d);
void rpl__flush_held(rpl_replay *r, bool all);
void rpl__emit(rpl_replay *r, const rpl_divergence *d);
void rpl__check_failed(rpl_replay *r, const rpl_divergence *d, bool tainted);
int rpl__suspect_open(rpl_replay *r, bool irq, uint32_t xfer, uint64_t deadline);
void rpl__suspect_close(rpl_replay *r, int i, bool confirm);

/* replay_desc.c */
int rpl__on_common_alloc(rpl_replay *r, const dmt_record *rec);
void rpl__on_common_release(rpl_replay *r, const dmt_record *rec);
void rpl__on_desc_write(rpl_replay *r, const dmt_record *rec);

/* replay_mdl.c */
mdl_t *rpl__mdl_get(rpl_replay *r, uint32_t id);
void rpl__mdl_free(rpl_replay *r, mdl_t *m);
void rpl__arena_drop_cache(rpl_replay *r);
void rpl__xfer_free(rpl_replay *r, xfer_t *x);
void rpl__xfer_drop(rpl_replay *r, uint32_t id);
int rpl__on_buffer_lock(rpl_replay *r, const dmt_record *rec);
void rpl__on_buffer_unlock(rpl_replay *r, const dmt_record *rec);
int rpl__add_source(rpl_replay *r, const dmt_record *rec, bool payload);
bool rpl__fill_content(const mdl_t *m, uint8_t *arena, uint64_t bo, uint64_t n, bool fill);
int rpl__on_start_dma(rpl_replay *r, const dmt_record *rec);
int rpl__on_execute_dma(rpl_replay *r, const dmt_record *rec);
void rpl__on_digest(rpl_replay *r, const dmt_record *rec);
void rpl__arena_materialise(rpl_replay *r, xfer_t *x, uint64_t from);

#define fail(...)              rpl__fail(__VA_ARGS__)
#define charge(...)            rpl__charge(__VA_ARGS__)
#define uncharge(...)          rpl__uncharge(__VA_ARGS__)
#define note(...)              rpl__note(__VA_ARGS__)
#define desc_size(...)         rpl__desc_size(__VA_ARGS__)
#define xfer_get(...)          rpl__xfer_get(__VA_ARGS__)
#define fill_now(...)          rpl__fill_now(__VA_ARGS__)
#define doorbell(...)          rpl__doorbell(__VA_ARGS__)
#define run_digest(...)        rpl__run_digest(__VA_ARGS__)
#define win_push(...)          rpl__win_push(__VA_ARGS__)
#define ctx_capture(...)       rpl__ctx_capture(__VA_ARGS__)
#define div_init(...)          rpl__div_init(__VA_ARGS__)
#define set_subject(d, ...)    rpl__div_set((d)->subject, __VA_ARGS__)
#define set_expected(d, ...)   rpl__div_set((d)->expected, __VA_ARGS__)
#define set_actual(d, ...)     rpl__div_set((d)->actual, __VA_ARGS__)
#define set_detail(d, ...)     rpl__div_set((d)->detail, __VA_ARGS__)
#define keep(...)              rpl__keep(__VA_ARGS__)
#define flush_held(...)        rpl__flush_held(__VA_ARGS__)
#define emit(...)              rpl__emit(__VA_ARGS__)
#define check_failed(...)      rpl__check_failed(__VA_ARGS__)
#define suspect_open(...)      rpl__suspect_open(__VA_ARGS__)
#define suspect_close(...)     rpl__suspect_close(__VA_ARGS__)
#define on_common_alloc(...)   rpl__on_common_alloc(__VA_ARGS__)
#define on_common_release(...) rpl__on_common_release(__VA_ARGS__)
#define on_desc_write(...)     rpl__on_desc_write(__VA_ARGS__)
#define mdl_get(...)           rpl__mdl_get(__VA_ARGS__)
#define mdl_free(...)          rpl__mdl_free(__VA_ARGS__)
#define arena_drop_cache(...)  rpl__arena_drop_cache(__VA_ARGS__)
#define xfer_free(...)         rpl__xfer_free(__VA_ARGS__)
#define xfer_drop(...)         rpl__xfer_drop(__VA_ARGS__)
#define on_buffer_lock(...)    rpl__on_buffer_lock(__VA_ARGS__)
#define on_buffer_unlock(...)  rpl__on_buffer_unlock(__VA_ARGS__)
#define add_source(...)        rpl__add_source(__VA_ARGS__)
#define fill_content(...)      rpl__fill_content(__VA_ARGS__)
#define on_start_dma(...)      rpl__on_start_dma(__VA_ARGS__)
#define on_execute_dma(...)    rpl__on_execute_dma(__VA_ARGS__)
#define on_digest(...)         rpl__on_digest(__VA_ARGS__)
#define arena_materialise(...) rpl__arena_materialise(__VA_ARGS__)

#endif

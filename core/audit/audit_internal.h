/*
 * audit_internal.h - state shared by the audit engine's files.  Not
 * installed.
 *
 *   audit.c            the engine: create/free, the record dispatch, the
 *                      end-of-trace leak rules
 *   audit_pool.c       tracked objects: the pools of adapters, MDLs, common
 *                      buffers and transfers, the in-flight list, devices,
 *                      channels, recently completed transfers
 *   audit_findings.c   building and emitting findings, uncertainty
 *   audit_lifecycle.c  adapter, MDL and common-buffer rules, descriptor
 *                      shadows
 *   audit_transfer.c   StartDma / ExecuteDma / CompleteDma rules
 *   audit_prog.c       device programming (doorbells) against SG lists
 *   audit_sg.c         SG-list layout and programming comparison helpers
 *   audit_dmm.c        the device model's descriptor and doorbell decoder
 *   audit_rules.c      the rule table
 */
#ifndef DMT_AUDIT_INTERNAL_H
#define DMT_AUDIT_INTERNAL_H

#include "dmt/audit.h"
#include "dmt/idmap.h"

#define AUD_NONE UINT64_MAX

/* One SG list kept for a transfer in flight: elements in list order, the
 * permutation sorting them by address, and (once the device was programmed
 * from it) how many bytes of each element were programmed, in order. */
typedef struct aud_sg {
    uint32_t n;
    dmt_sg_elem *e;       /* n elements */
    uint16_t *order;      /* n indexes sorted by e[].addr (n <= DMT_MAX_SG_ELEMENTS) */
    uint64_t *maxend;     /* maxend[k]: highest end among order[0..k] (saturated) */
    uint32_t *done;       /* n programmed-byte counts, NULL until programmed */
    uint64_t lo, hi;      /* lowest address, highest end (exclusive, saturated) */
    uint64_t total;       /* sum of lengths */
    uint32_t next_unprog; /* hint: no element before it has done == 0 && len > 0 */
} aud_sg;

/* End of [addr, addr+len), saturated at UINT64_MAX. */
static inline uint64_t aud_end(uint64_t addr, uint64_t len)
{
    return len > UINT64_MAX - addr ? UINT64_MAX : addr + len;
}

/* Copy n elements (stride as in dmt_record) into a new aud_sg; NULL on OOM. */
aud_sg *aud_sg_new(const dmt_record *r);
void aud_sg_free(aud_sg *s);

/* Layout checks of one list (sorted via scratch). */
typedef struct aud_layout {
    uint64_t total;
    uint32_t zero, zero_first;     /* zero-length elements, first index */
    uint32_t cross, cross_first;   /* elements crossing 4 GiB */
    uint32_t beyond, beyond_first; /* elements ending above limit */
    uint32_t overlap_a, overlap_b; /* first overlapping pair (overlap = true) */
    bool overlap;
} aud_layout;

void aud_sg_layout(const aud_sg *s, uint64_t limit, aud_layout *out);
/* Do two lists touch the same byte?  Each element of the shorter list is
 * looked up in the longer one (binary search over its sorted starts and the
 * running maximum of ends): O(min(n, m) log max(n, m)).  *budget is
 * decremented per lookup; false when it runs out (then *exhausted is set).
 * On overlap the two elements. */
bool aud_sg_overlap(const aud_sg *a, const aud_sg *b, uint64_t *budget, bool *exhausted,
                    uint32_t *ea, uint32_t *eb);

/* Result of comparing one doorbell's descriptors with the list. */
typedef struct aud_prog_result {
    uint64_t bytes;      /* sum of descriptor lengths */
    uint32_t mismatches; /* descriptors whose address/length differ */
    uint32_t duplicates; /* descriptors re-programming bytes already programmed */
    char first_mismatch[160];
    char first_duplicate[160];
} aud_prog_result;

/* Compare n descriptors with s (updating s->done); false on OOM. */
bool aud_prog_compare(aud_sg *s, const dmt_sg_elem *desc, const bool *valid, uint32_t n,
                      aud_prog_result *res);

/* After the transfer: bytes of the longest programmed prefix (in list
 * order); *hole = first element not (fully) programmed although a later one
 * was (UINT32_MAX when none). */
uint64_t aud_prog_prefix(const aud_sg *s, uint32_t *hole);

/* ---- tracked objects (audit_pool.c) ------------------------------------------
 * Each kind of object lives in an array of cap slots the engine owns; a pool
 * hands out its slots.  The pool owns which slots are live, their age, the
 * id -> slot map and the free slots; an object owns its contents and starts
 * with its id (the pool sets it).  A full pool evicts: objects the kind
 * wants kept go last, then the oldest; evictions are counted (from then on
 * "unknown object" findings are uncertain).
 *
 *   map: id -> slot     objs: [ obj | obj | ... ]   age: [ 7 | 0 | ... ]
 *   free: stack of slots                                   (0 = free slot)
 */

#define AUD_MAX_DEVS     64u
#define AUD_MAX_CHANNELS 64u
#define AUD_RECENT_DONE  1024u /* completed transfer ids remembered for complete-twice */
#define AUD_SHADOW_SLOT  16u   /* granularity of the shadow's write times */

typedef struct adapter {
    uint32_t id, dev;
    bool known, released, after_put_reported;
    bool sg, dma32, dma64;
    uint64_t max_length, addr_limit;
    uint32_t map_registers;
    uint64_t create_seq, release_seq;
    uint32_t inflight;
    uint32_t current; /* latest executed transfer (0 none) */
    bool current_done;
    uint64_t current_done_seq;
    uint32_t last_completed;
    uint64_t last_completed_seq;
    int64_t current_done_ts; /* the current transfer's CompleteDma: time and CPU */
    uint32_t current_done_cpu;
} adapter;

typedef struct mdl {
    uint32_t id;
    uint64_t va, length;
    uint32_t op;
    uint64_t lock_seq;
    /* programmed-prefix check of the last completed transfer on it */
    bool pend;
    uint32_t pend_xfer;
    uint64_t pend_expect, pend_end, pend_seq;
    uint64_t pend_since; /* evidence starts here (lost records after it: uncertain) */
} mdl;

typedef struct cbuf {
    uint32_t id, adapter;
    uint64_t addr, length, alloc_seq;
    int32_t shadow; /* slot in the shadow pool or -1 */
    uint64_t last_desc_seq;
} cbuf;

typedef struct shadow {
    bool used;
    uint8_t *bytes;     /* DMT_AUDIT_SHADOW_BYTES */
    uint8_t *written;   /* bitmap, one bit per byte */
    uint64_t *slot_seq; /* per AUD_SHADOW_SLOT bytes: seq of the write that last touched it */
} shadow;

typedef struct xfer {
    uint32_t id, adapter, mdl, dev, chan;
    bool started, executed, abandoned, dir_known, wtd, programmed, signalled, stopped;
    bool has_chan, prog_unverified, max_reported, nmr_reported, in_list;
    uint64_t offset, requested, granted;
    uint64_t start_seq, exec_seq, doorbell_seq, desc_seq;
    uint64_t prog_since; /* oldest record the descriptors compared came from */
    uint64_t irq_at_exec;
    uint64_t first_page_off; /* BYTE_OFFSET of the transfer's first byte, or AUD_NONE */
    aud_sg *sg;
    uint64_t prog_bytes;
    uint32_t prev, next; /* in-flight list (slot + 1, 0 = none) */
} xfer;

/* What differs between the kinds of objects. */
typedef struct aud_kind {
    size_t size;                   /* bytes per object; the object starts with uint32_t id */
    bool (*keep)(const void *obj); /* evict objects for which it is false first; NULL: age only */
    void (*release)(dmt_audit *a, void *obj); /* give back what obj holds; NULL: nothing */
    void (*init)(void *obj);                  /* after zeroing: fields that start non-zero */
} aud_kind;

extern const aud_kind aud_adapter_kind, aud_mdl_kind, aud_cbuf_kind, aud_xfer_kind;

typedef struct aud_pool {
    const aud_kind *kind;
    char *objs;    /* cap objects, the engine's array */
    uint64_t *age; /* per slot: when taken, 0 = free */
    uint32_t *free_slots, n_free;
    dmt_idmap map; /* id -> slot */
    uint32_t n, cap;
    uint64_t clock, evictions;
} aud_pool;

bool aud_pool_init(aud_pool *p, const aud_kind *kind, void *objs, uint32_t cap);
void aud_pool_free(aud_pool *p);
/* The live object with id, or NULL (id 0 is never tracked). */
void *aud_pool_get(const aud_pool *p, uint32_t id);
/* A new object for id (not live): zeroed, the kind's defaults, the newest;
 * a full pool evicts first.  NULL for id 0 or when nothing can be evicted. */
void *aud_pool_new(dmt_audit *a, aud_pool *p, uint32_t id);
/* The live object with id, else a new one (aud_pool_new). */
void *aud_pool_get_or_new(dmt_audit *a, aud_pool *p, uint32_t id);
/* Start obj afresh in its slot (an id used again), as aud_pool_new would. */
void aud_pool_reset(aud_pool *p, void *obj);
/* Release what obj holds and free its slot. */
void aud_pool_remove(dmt_audit *a, aud_pool *p, void *obj);
/* Iterate in slot order: *slot starts at 0; NULL at the end. */
void *aud_pool_next(const aud_pool *p, uint32_t *slot);

typedef struct devst {
    uint32_t dev;
    uint64_t irqs; /* claimed interrupts */
} devst;

typedef struct chanst {
    uint32_t dev, channel, xfer;
} chanst;

typedef struct recent {
    uint32_t xfer;
    uint64_t seq;
} recent;

/* A finding held back because a record of another CPU that comes a little
 * later in the file may have happened before the one it found (see
 * audit_findings.c): released once the records' time is past its own by
 * the ordering uncertainty, uncertain when such a record came. */
#define AUD_HELD_MAX 32u
typedef struct held {
    dmt_finding f;
    uint32_t key; /* complete-before-interrupt: the device whose signal; others: the
                     transfer whose CompleteDma would undo the finding */
} held;

struct dmt_audit {
    dmt_audit_config cfg;
    dmt_audit_stats st;

    adapter *ad;
    mdl *md;
    cbuf *cb;
    xfer *xf;
    shadow *sh;
    aud_pool ad_p, md_p, cb_p, xf_p; /* slots of ad, md, cb, xf */
    uint32_t inflight_head;          /* slot + 1 */
    uint64_t kept_elems;             /* SG elements kept for transfers */

    devst devs[AUD_MAX_DEVS];
    uint32_t n_devs;
    chanst chans[AUD_MAX_CHANNELS];
    uint32_t n_chans;
    recent done[AUD_RECENT_DONE];

    const dmt_audit_device *const *devices;
    void *dev_state[8];
    uint32_t n_devices;

    /* the record being processed */
    uint64_t cur_index, cur_seq;
    int64_t cur_ts;
    uint32_t cur_cpu;

    held held[AUD_HELD_MAX]; /* oldest first */
    uint32_t n_held;
    bool have_record;
    uint64_t first_seq;
    bool late_start;

    uint64_t last_lost_seq;    /* AUD_NONE: none yet */
    uint32_t min_mdl, max_mdl; /* ids ever locked */
    uint32_t max_xfer;
    bool cut;
    bool oom; /* a descriptor shadow could not be allocated */

    /* scratch for decoded descriptors */
    dmt_sg_elem *desc;
    bool *desc_ok;
};

static inline adapter *aud_ad_get(dmt_audit *a, uint32_t id)
{
    return aud_pool_get(&a->ad_p, id);
}
static inline mdl *aud_md_get(dmt_audit *a, uint32_t id)
{
    return aud_pool_get(&a->md_p, id);
}
static inline cbuf *aud_cb_get(dmt_audit *a, uint32_t id)
{
    return aud_pool_get(&a->cb_p, id);
}
static inline xfer *aud_xf_get(dmt_audit *a, uint32_t id)
{
    return aud_pool_get(&a->xf_p, id);
}

/* A new transfer (see aud_pool_new); remembers the highest id. */
xfer *aud_xf_new(dmt_audit *a, uint32_t id);
/* Forget transfer x: out of flight, its list dropped, its slot freed. */
void aud_xf_free(dmt_audit *a, xfer *x);
/* Leave the in-flight state (adapter count, list); the transfer stays known. */
void aud_xf_leave(dmt_audit *a, xfer *x);
void aud_xf_drop_sg(dmt_audit *a, xfer *x);
void aud_inflight_link(dmt_audit *a, xfer *x);
/* Iterate the transfers in flight, newest first: *slot starts at
 * a->inflight_head; NULL at the end.  x may leave flight meanwhile. */
xfer *aud_inflight_next(dmt_audit *a, uint32_t *slot);
/* A device's state, created at first use; NULL when the table is full. */
devst *aud_dev_get(dmt_audit *a, uint32_t dev);
chanst *aud_chan_get(dmt_audit *a, uint32_t dev, uint32_t channel, bool create);
/* The device model that claims dev, or -1. */
int aud_model_of(const dmt_audit *a, uint32_t dev);
uint64_t aud_device_limit(const dmt_audit *a, uint32_t dev);
void aud_remember_done(dmt_audit *a, uint32_t id);
uint64_t aud_recent_done(const dmt_audit *a, uint32_t id);

/* ---- findings (audit_findings.c) ---------------------------------------------- */

/* Start a finding at the current record; false when the rule is off. */
bool aud_fstart(dmt_audit *a, dmt_finding *f, unsigned rule);
/* Name another record (by sequence number; AUD_NONE: none) as evidence. */
void aud_fref(dmt_finding *f, uint64_t seq);
void aud_fmsg(dmt_finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Mark uncertain (the first reason given is kept). */
void aud_funsure(dmt_finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Uncertain when records were lost at or after sequence `since`. */
void aud_flost_since(const dmt_audit *a, dmt_finding *f, uint64_t since);
/* Uncertain for a finding about an object never seen created. */
void aud_funknown(const dmt_audit *a, dmt_finding *f, uint64_t evictions);
/* Uncertain when the trace was cut (an end-of-trace finding). */
void aud_fcut(const dmt_audit *a, dmt_finding *f);
/* The objects of a finding about transfer x on device dev. */
void aud_fxfer(dmt_finding *f, const xfer *x, uint32_t dev);
/* Count the finding and hand it to the sink. */
void aud_fsend(dmt_audit *a, dmt_finding *f);
/* Records of several CPUs.  aud_forder: uncertain when record seq (made on
 * cpu at ts) and the current record were made on different CPUs closer in
 * time than the ordering uncertainty.  aud_fhold: send f later (a record
 * of another CPU may yet show it wrong; at once when the current record
 * has no CPU); aud_held_resolve: the current record is such a record for
 * the held findings of rule with this key; aud_held_release: send those
 * past the uncertainty (all: every one). */
void aud_forder(const dmt_audit *a, dmt_finding *f, uint64_t seq, uint32_t cpu, int64_t ts);
void aud_fhold(dmt_audit *a, dmt_finding *f, uint32_t key);
void aud_held_resolve(dmt_audit *a, unsigned rule, uint32_t key);
void aud_held_release(dmt_audit *a, bool all);
/* "to device", "from device", or "direction unknown" when !known. */
const char *aud_dir_name(bool known, bool wtd);

/* ---- the rules --------------------------------------------------------------------- */

/* audit_lifecycle.c */
/* The adapter a record names, created as unknown when never seen; raises
 * adapter-after-put (once per adapter) when it was put already. */
adapter *aud_adapter_use(dmt_audit *a, uint32_t id, const char *what);
/* Was MDL id within the range of ids ever locked? */
bool aud_mdl_seen(const dmt_audit *a, uint32_t id);
void aud_judge_suffix(dmt_audit *a, mdl *m, uint64_t next_offset);
void aud_on_adapter_create(dmt_audit *a, const dmt_record *r);
void aud_on_adapter_release(dmt_audit *a, const dmt_record *r);
void aud_on_lock(dmt_audit *a, const dmt_record *r);
void aud_on_unlock(dmt_audit *a, const dmt_record *r);
void aud_on_common_alloc(dmt_audit *a, const dmt_record *r);
void aud_on_common_release(dmt_audit *a, const dmt_record *r);
void aud_on_desc_write(dmt_audit *a, const dmt_record *r);
bool aud_shadow_covers(const shadow *s, uint64_t off, uint64_t n);
/* leak-common-buffer for c: "never released before PutDmaAdapter of adapter
 * d" (d non-NULL) or "still allocated at the end of the trace". */
void aud_leak_cb(dmt_audit *a, const cbuf *c, const adapter *d);
/* leak-sglist for x: at PutDmaAdapter of d, or at the end of the trace. */
void aud_leak_sglist(dmt_audit *a, const xfer *x, const adapter *d);

/* audit_transfer.c */
void aud_on_start(dmt_audit *a, const dmt_record *r);
void aud_on_start_end(dmt_audit *a, const dmt_record *r);
void aud_on_execute(dmt_audit *a, const dmt_record *r);
void aud_on_complete(dmt_audit *a, const dmt_record *r);
/* transfer-exceeds-max / -map-registers for `bytes` of transfer x. */
void aud_check_size(dmt_audit *a, xfer *x, const adapter *d, uint64_t bytes, const char *what,
                    uint64_t ref, uint64_t since);

/* audit_prog.c: the device models' events */
void aud_on_dev_event(void *engine, const dmt_audit_dev_event *ev);

#endif

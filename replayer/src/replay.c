/*
 * replay.c - the replay engine (rpl/replay.h): one recorded session into a
 * fresh dmm model, every observable checked as its record arrives.
 *
 * Data flow per record:
 *
 *   record --> window (last 17 records, copied, for report context)
 *          --> suspects whose deadline passed are confirmed / dropped
 *          --> handler by kind:
 *                memory:    COMMON_ALLOC/RELEASE, DESC_WRITE -> dmm_phys
 *                           BUFFER_LOCK/PATTERN/PAYLOAD -> MDL content sources
 *                           EXECUTE_DMA -> arena filled from the sources,
 *                                          SG elements mapped onto it (borrowed)
 *                registers: REG_WRITE* -> dmm_reg_write, program checks
 *                           REG_READ*  -> dmm_reg_read == trace value?
 *                interrupt: INTERRUPT   -> matched with the model's line
 *                data:      DIGEST      -> run digest / arena digest
 *          --> divergences: emitted in record order (held while an earlier
 *              suspect is open), kept up to opts.keep
 *
 * Suspects: two checks can only be decided after their record: a missing
 * INTERRUPT (the model's line was acknowledged by the ISR, then a record
 * that is not a register access came instead of the claimed INTERRUPT -
 * confirmed when no claimed INTERRUPT follows within IRQ_WINDOW records, so
 * the small reorderings of a multi-CPU capture pass) and descriptors that
 * cover only part of their transfer's SG list (confirmed at the doorbell).
 * A suspect carries its divergence already formatted at its own record,
 * context included; divergences found while a suspect with a lower index is
 * open wait in `held`, so reports always come out in record order.
 *
 * Loss: a LOST record taints both channels and the interrupt bookkeeping; a
 * channel is clean again at an accepted doorbell after DESC_LO, DESC_HI and
 * DESC_COUNT were all written since the loss.  Device memory becomes
 * unknown and is relearned from to-device runs (an interval set); a
 * from-device run reading unknown device memory cannot have its digest
 * verified.  Failed checks in a tainted state count as "unverified".
 *
 * Memory invariants: everything allocated from trace values is charged to
 * mem_used (common buffers, arenas, SG copies, payload copies, device
 * memory) and mem_used <= mem_limit; tables have fixed capacities; the
 * model only ever sees regions the engine registered.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/describe.h"
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

typedef struct xfer_t {
    uint32_t id, adapter, mdl;
    uint64_t offset, requested, granted;
    bool wtd, have_start, executed, content_known;
    int ch; /* -1 unknown */
    dmt_sg_elem *sg;
    uint32_t n_sg;
    uint8_t *arena;
    uint64_t arena_len, arena_cap;
    uint64_t *regions; /* start addresses of the mapped regions */
    uint32_t nregions;
    /* the run its doorbell started */
    bool run_bound, run_tainted, devmem_unknown;
    dmm_run_info run;
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

/* ---- small helpers ------------------------------------------------------- */

void rpl_opts_default(rpl_opts *o)
{
    memset(o, 0, sizeof *o);
}

static int fail(rpl_replay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(rpl_replay *r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!r->fatal) {
        r->fatal = DMT_E_FORMAT;
        dmt_error_set(r->err, DMT_E_FORMAT, r->rec ? r->rec->pos : DMT_NO_INDEX, r->cur, "%s", msg);
    }
    return DMT_E_FORMAT;
}

/* Charge n bytes to the memory budget; false (and a fatal error) when over. */
static bool charge(rpl_replay *r, uint64_t n, const char *what)
{
    if (n > r->o.mem_limit || r->mem_used > r->o.mem_limit - n) {
        fail(r,
             "%s needs %" PRIu64 " bytes; the replay may hold at most %" PRIu64 " bytes (%" PRIu64
             " in use; --mem-limit)",
             what, n, r->o.mem_limit, r->mem_used);
        return false;
    }
    r->mem_used += n;
    return true;
}

static void uncharge(rpl_replay *r, uint64_t n)
{
    r->mem_used = n > r->mem_used ? 0 : r->mem_used - n;
}

static rpl_limit *add_limit(rpl_replay *r, int kind, uint64_t index, uint64_t count,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static rpl_limit *add_limit(rpl_replay *r, int kind, uint64_t index, uint64_t count,
                            const char *fmt, ...)
{
    rpl_limit *l = NULL;
    if (r->sum.n_limits < RPL_MAX_LIMITS) {
        l = &r->limits[r->sum.n_limits];
        memset(l, 0, sizeof *l);
        l->kind = kind;
        l->index = index;
        l->count = count;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->text, sizeof l->text, fmt, ap);
        va_end(ap);
    }
    r->sum.n_limits++;
    return l;
}

/* An aggregated note: the first occurrence makes the limit entry (text),
 * later ones only count. */
static void note(rpl_replay *r, int key, int kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void note(rpl_replay *r, int key, int kind, const char *fmt, ...)
{
    if (r->noted[key]) {
        if (r->note_slot[key] >= 0)
            r->limits[r->note_slot[key]].count++;
        return;
    }
    r->noted[key] = true;
    char text[RPL_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    uint64_t before = r->sum.n_limits;
    add_limit(r, kind, r->cur, 1, "%s", text);
    r->note_slot[key] = before < RPL_MAX_LIMITS ? (int)before : -1;
}

static size_t desc_size(const rpl_replay *r)
{
    return r->dsz;
}

/* ---- the context window ------------------------------------------------------- */

static void win_push(rpl_replay *r, const dmt_record *rec)
{
    winrec *w = &r->win[r->cur & (WIN - 1)];
    w->index = r->cur;
    if (rec->kind == DMT_K_REG_WRITE || rec->kind == DMT_K_REG_READ) {
        w->compact = true;
        w->c.kind = rec->kind;
        w->c.dev = rec->dev;
        w->c.width = rec->width;
        w->c.ts = rec->ts;
        w->c.seq = rec->seq;
        w->c.off = rec->off;
        w->c.value = rec->value;
        return;
    }
    w->compact = false;
    w->r = *rec;
    if (rec->n_sg && rec->sg_list) {
        size_t stride = rec->sg_stride ? rec->sg_stride : sizeof(dmt_sg_elem);
        uint32_t n = rec->n_sg < WIN_ITEMS ? rec->n_sg : WIN_ITEMS;
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *e = (const uint8_t *)rec->sg_list + i * stride;
            memcpy(&w->sg[i].addr, e, 8);
            memcpy(&w->sg[i].len, e + 8, 4);
        }
        w->r.sg_list = w->sg;
        w->r.sg_stride = sizeof(dmt_sg_elem);
    } else {
        w->r.sg_list = NULL;
    }
    if (rec->n_values && rec->values) {
        uint32_t n = rec->n_values < WIN_ITEMS ? rec->n_values : WIN_ITEMS;
        memcpy(w->values, rec->values, n * sizeof(uint64_t));
        w->r.values = w->values;
    } else {
        w->r.values = NULL;
    }
    if (rec->n_bytes && rec->bytes) {
        uint32_t n = rec->n_bytes < sizeof w->bytes ? rec->n_bytes : (uint32_t)sizeof w->bytes;
        memcpy(w->bytes, rec->bytes, n);
        w->r.bytes = w->bytes;
        /* describe prints a marker's whole text but only the first 4 *
         * WIN_ITEMS bytes of other byte strings (with their full count) */
        if (rec->kind != DMT_K_DESC_WRITE && rec->kind != DMT_K_PAYLOAD)
            w->r.n_bytes = n;
    } else {
        w->r.bytes = NULL;
    }
}

/* Describe the records [cur - n, cur) still in the window (oldest first). */
static unsigned ctx_capture(rpl_replay *r, rpl_ctx_line *out, uint64_t cur)
{
    unsigned want = r->o.context;
    if (want > RPL_MAX_CONTEXT)
        want = RPL_MAX_CONTEXT;
    uint64_t first = cur > want ? cur - want : 0;
    unsigned n = 0;
    for (uint64_t i = first; i < cur; i++) {
        const winrec *w = &r->win[i & (WIN - 1)];
        if (w->index != i)
            continue;
        dmt_record tmp;
        const dmt_record *rec = &w->r;
        if (w->compact) {
            memset(&tmp, 0, sizeof tmp);
            tmp.kind = w->c.kind;
            tmp.dev = w->c.dev;
            tmp.width = w->c.width;
            tmp.ts = w->c.ts;
            tmp.seq = w->c.seq;
            tmp.off = w->c.off;
            tmp.value = w->c.value;
            rec = &tmp;
        }
        rpl_ctx_line *c = &out[n++];
        c->index = i;
        c->seq = rec->seq;
        c->t_rel = rec->ts - r->t0;
        dmt_record_describe(c->text, sizeof c->text, rec, WIN_ITEMS);
    }
    return n;
}

/* ---- divergences -------------------------------------------------------------- */

/* Start a divergence at the current record (context filled). */
static void div_init(rpl_replay *r, rpl_divergence *d, int kind)
{
    memset(d, 0, sizeof *d);
    d->index = r->cur;
    d->seq = r->rec ? r->rec->seq : 0;
    d->t_rel = r->rec ? r->rec->ts - r->t0 : 0;
    d->kind = kind;
    d->record_kind = r->rec ? r->rec->kind : 0;
    d->after_loss = r->after_loss;
    d->n_context = ctx_capture(r, d->context, r->cur);
}

static void div_text(char *dst, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void div_text(char *dst, const char *fmt, va_list ap)
{
    vsnprintf(dst, RPL_TEXT, fmt, ap);
}

static void set_subject(rpl_divergence *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_subject(rpl_divergence *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    div_text(d->subject, fmt, ap);
    va_end(ap);
}
static void set_expected(rpl_divergence *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_expected(rpl_divergence *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    div_text(d->expected, fmt, ap);
    va_end(ap);
}
static void set_actual(rpl_divergence *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_actual(rpl_divergence *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    div_text(d->actual, fmt, ap);
    va_end(ap);
}
static void set_detail(rpl_divergence *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_detail(rpl_divergence *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    div_text(d->detail, fmt, ap);
    va_end(ap);
}

static void keep(rpl_replay *r, const rpl_divergence *d)
{
    r->sum.divergences++;
    if (r->sum.kept < r->o.keep) {
        if (r->sum.kept == r->kept_cap) {
            uint64_t nc = r->kept_cap ? r->kept_cap * 2 : 8;
            if (nc > r->o.keep)
                nc = r->o.keep;
            rpl_divergence *p = realloc(r->kept, nc * sizeof *p);
            if (p) {
                r->kept = p;
                r->kept_cap = nc;
            }
        }
        if (r->sum.kept < r->kept_cap)
            r->kept[r->sum.kept++] = *d;
    }
    if (!r->o.all)
        r->sum.stopped = true;
}

static uint64_t min_open_suspect(const rpl_replay *r)
{
    uint64_t m = UINT64_MAX;
    for (unsigned i = 0; i < MAX_SUSPECTS; i++)
        if (r->sus[i].open && r->sus[i].index < m)
            m = r->sus[i].index;
    return m;
}

static int cmp_div(const void *a, const void *b)
{
    const rpl_divergence *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Emit held divergences no open suspect precedes. */
static void flush_held(rpl_replay *r, bool all)
{
    if (!r->nheld)
        return;
    qsort(r->held, r->nheld, sizeof *r->held, cmp_div);
    uint64_t lim = all ? UINT64_MAX : min_open_suspect(r);
    unsigned k = 0;
    while (k < r->nheld && r->held[k].index < lim && !r->sum.stopped)
        keep(r, &r->held[k++]);
    if (r->sum.stopped)
        k = r->nheld;
    memmove(r->held, r->held + k, (r->nheld - k) * sizeof *r->held);
    r->nheld -= k;
}

static void emit(rpl_replay *r, const rpl_divergence *d)
{
    if (r->sum.stopped)
        return;
    if (d->index < min_open_suspect(r) && r->nheld == 0) {
        keep(r, d);
        return;
    }
    if (r->nheld == MAX_HELD)
        flush_held(r, true); /* bounded: give up ordering against very old suspects */
    if (r->sum.stopped)
        return;
    r->held[r->nheld++] = *d;
    flush_held(r, false);
}

/* A failed check: a divergence, or an unverified check in a loss window. */
static void check_failed(rpl_replay *r, const rpl_divergence *d, bool tainted)
{
    if (tainted) {
        r->sum.unverified++;
        note(r, NK_UNVERIFIED, RPL_LIMIT_UNVERIFIED,
             "checks after lost records disagree with the model and cannot be verified "
             "(first: %s)",
             d->subject);
        return;
    }
    emit(r, d);
}

static int suspect_open(rpl_replay *r, bool irq, uint32_t xfer, uint64_t deadline)
{
    for (unsigned i = 0; i < MAX_SUSPECTS; i++) {
        if (!r->sus[i].open) {
            suspect_t *s = &r->sus[i];
            r->nsus_open++;
            s->open = true;
            s->irq = irq;
            s->xfer = xfer;
            s->index = r->cur;
            s->deadline = deadline;
            return (int)i;
        }
    }
    return -1;
}

static void suspect_close(rpl_replay *r, int i, bool confirm)
{
    if (i < 0 || !r->sus[i].open)
        return;
    r->sus[i].open = false;
    r->nsus_open--;
    if (confirm && !r->sum.stopped) {
        /* it precedes everything held; held ones that precede other suspects wait */
        rpl_divergence d = r->sus[i].d;
        if (d.index < min_open_suspect(r)) {
            keep(r, &d);
        } else {
            if (r->nheld == MAX_HELD)
                flush_held(r, true);
            if (!r->sum.stopped)
                r->held[r->nheld++] = d;
        }
    }
    flush_held(r, false);
}

/* ---- the model -------------------------------------------------------------------- */

static void svc_remove(rpl_replay *r, unsigned i, bool confirm);

/* The model's interrupt line rose. */
static void irq_cb(void *ctx)
{
    rpl_replay *r = ctx;
    r->line = true;
    r->owed = true;
    r->edge_index = r->cur;
}

static void process_early(rpl_replay *r);

static int ensure_dev(rpl_replay *r)
{
    if (r->dev)
        return 0;
    dmm_config c;
    dmm_config_default(&c);
    if (r->cfg_rev)
        c.revision = r->inf_rev;
    if (r->cfg_caps) {
        c.addr_bits = r->inf_bits;
        c.errata = r->inf_errata;
    }
    if (r->cfg_devmem)
        c.devmem_size = r->inf_devmem;
    r->sum.model_from_trace = r->cfg_rev || r->cfg_caps || r->cfg_devmem;
    if (r->o.set_revision)
        c.revision = r->o.revision;
    if (r->o.set_errata)
        c.errata = r->o.errata;
    if (r->o.set_addr_bits)
        c.addr_bits = r->o.addr_bits;
    if (r->o.set_devmem)
        c.devmem_size = r->o.devmem_size;
    if (!charge(r, c.devmem_size, "the model's device memory"))
        return DMT_E_FORMAT;
    r->dev = dmm_dev_new(&c, r->pm);
    if (!r->dev) {
        uncharge(r, c.devmem_size);
        return fail(r,
                    "the device model refused its configuration (revision %u, %u address "
                    "bits, errata 0x%x, %" PRIu64 " bytes of device memory)",
                    c.revision, c.addr_bits, c.errata, c.devmem_size);
    }
    r->cfg = c;
    r->sum.model = c;
    r->dsz = dmm_desc_size(c.revision);
    dmm_dev_set_irq(r->dev, irq_cb, r);
    for (unsigned i = 0; i < DMM_NUM_CHANNELS; i++)
        r->ch[i].run_seq = 0;
    process_early(r);
    return 0;
}

/* ---- devices and register accesses ----------------------------------------------- */

static devmap_t *devmap_find(rpl_replay *r, uint32_t id)
{
    for (unsigned i = 0; i < r->ndevmaps; i++)
        if (r->devmaps[i].id == id)
            return &r->devmaps[i];
    return NULL;
}

/* BAR offset of (dev, off, width): 1 modelled, 0 outside the mapping (the
 * host VideoPort does not reach the device), -1 not the modelled device. */
static int resolve(rpl_replay *r, uint32_t dev, uint64_t off, uint32_t width, uint32_t *bar)
{
    uint64_t delta = 0, len = DMM_BAR_SIZE;
    if (r->ndevmaps) {
        devmap_t *m = devmap_find(r, dev);
        if (!m) {
            note(r, NK_UNKNOWN_DEV, RPL_LIMIT_UNKNOWN_ID,
                 "register accesses to device %u, which no device_map introduced, were skipped",
                 dev);
            return -1;
        }
        if (!m->model) {
            note(r, NK_OTHER_DEVICE, RPL_LIMIT_DEVICE,
                 "device %u is not the modelled engine; its register accesses were skipped", dev);
            return -1;
        }
        delta = m->delta;
        len = m->len;
    }
    if (off > len || width > len - off || off >= DMM_BAR_SIZE || delta + off + width > DMM_BAR_SIZE)
        return 0;
    *bar = (uint32_t)(delta + off);
    return 1;
}

static uint64_t width_mask(uint32_t width)
{
    return width >= 8 ? UINT64_MAX : (1ull << (8u * width)) - 1;
}

/* The value a read of `width` bytes at BAR offset `bar` gives. */
static uint64_t model_read(rpl_replay *r, uint32_t bar, uint32_t width)
{
    switch (width) {
    case 1:
    case 2:
        if ((bar & 3u) + width > 4)
            return width_mask(width);
        return (dmm_reg_read(r->dev, bar & ~3u) >> ((bar & 3u) * 8u)) & width_mask(width);
    case 8:
        return dmm_reg_read(r->dev, bar) | (uint64_t)dmm_reg_read(r->dev, bar + 4) << 32;
    default:
        return dmm_reg_read(r->dev, bar);
    }
}

/* After a write that may lower the interrupt line.  An acknowledge
 * (IRQ_STATUS) that lowers it means the ISR serviced the interrupt, so its
 * claimed INTERRUPT record is due; masking (IRQ_ENABLE) or a channel RESET
 * withdraws the interrupt instead. */
static void after_lowering_write(rpl_replay *r, bool ack, uint32_t value)
{
    bool l = dmm_irq_line(r->dev);
    if (r->line && !l && r->owed) {
        r->owed = false;
        if (ack && !r->irq_taint) {
            /* ISRs of one device are serialised and the probe logs the
             * INTERRUPT record before the ISR returns, so a new
             * acknowledge means every earlier serviced interrupt whose
             * record was already overdue never got one; one that was not
             * overdue yet was the same ISR invocation acknowledging twice */
            for (unsigned i = 0; i < r->nsvc;)
                svc_remove(r, i, r->svc[i].suspect >= 0);
            svc_t *v = &r->svc[r->nsvc++];
            v->edge_index = r->edge_index;
            v->ack_index = r->cur;
            v->value = value & DMM_IRQ_ALL;
            v->suspect = -1;
        }
    }
    r->line = l;
}

static xfer_t *xfer_get(rpl_replay *r, uint32_t id)
{
    return id ? rpl_idmap_get(&r->xfers, id) : NULL;
}

/* ---- device memory knowledge after a loss ------------------------------------------ */

static void known_add(rpl_replay *r, uint64_t lo, uint64_t hi)
{
    if (r->devmem_all_known || r->devmem_overflow || lo >= hi)
        return;
    unsigned i = 0;
    while (i < r->nknown && r->known[i].hi < lo)
        i++;
    unsigned j = i;
    while (j < r->nknown && r->known[j].lo <= hi) {
        if (r->known[j].lo < lo)
            lo = r->known[j].lo;
        if (r->known[j].hi > hi)
            hi = r->known[j].hi;
        j++;
    }
    if (i == j && r->nknown == DEVMEM_INTERVALS) {
        r->devmem_overflow = true;
        return;
    }
    memmove(&r->known[i + 1], &r->known[j], (r->nknown - j) * sizeof(ival));
    r->known[i].lo = lo;
    r->known[i].hi = hi;
    r->nknown = r->nknown - (j - i) + 1;
}

static bool known_covers(const rpl_replay *r, uint64_t lo, uint64_t hi)
{
    if (r->devmem_all_known)
        return true;
    if (r->devmem_overflow)
        return false;
    for (unsigned i = 0; i < r->nknown; i++)
        if (r->known[i].lo <= lo && hi <= r->known[i].hi)
            return true;
    return lo >= hi;
}

/* After a run of channel c: learn (to-device) or check (from-device) the
 * device memory its descriptors touched. */
static void devmem_after_run(rpl_replay *r, unsigned c, const dmm_run_info *ri, xfer_t *x)
{
    if (r->devmem_all_known || !r->dsz)
        return;
    uint8_t *buf = r->fetch_buf;
    const size_t cap = (size_t)DMM_MAX_DESC * DMM_DESC1_SIZE;
    size_t n = dmm_ch_fetched(r->dev, c, buf, cap);
    if (n > cap)
        n = cap;
    uint32_t nd = (uint32_t)(n / r->dsz);
    if (nd > ri->completed)
        nd = ri->completed;
    for (uint32_t i = 0; i < nd; i++) {
        dmm_desc d;
        if (dmm_desc_decode(r->cfg.revision, buf + (size_t)i * r->dsz, &d) != DMM_OK)
            break;
        uint64_t len = d.len;
        if (r->cfg.errata & DMM_ERRATUM_LEN_ROUND)
            len &= ~(uint64_t)3;
        uint64_t hi = d.dev_off + len < d.dev_off ? UINT64_MAX : d.dev_off + len;
        if (c == DMM_CH_H2C)
            known_add(r, d.dev_off, hi);
        else if (!known_covers(r, d.dev_off, hi) && x)
            x->devmem_unknown = true;
    }
}

/* ---- register writes ------------------------------------------------------------- */

static void program_check(rpl_replay *r, unsigned c, uint32_t reg, uint64_t value, uint32_t bar)
{
    xfer_t *x = xfer_get(r, r->ch[c].pending);
    if (!x || !x->desc_seen || x->desc_bad || x->desc_unparsed)
        return;
    uint64_t want;
    switch (reg) {
    case DMM_CH_DESC_LO:
        want = (uint32_t)x->ring_base;
        break;
    case DMM_CH_DESC_HI:
        want = (uint32_t)(x->ring_base >> 32);
        break;
    case DMM_CH_DESC_COUNT:
        want = x->ring_count;
        break;
    default:
        return;
    }
    r->sum.program_checks++;
    if ((uint32_t)value == want) {
        if (reg == DMM_CH_DESC_LO)
            x->lo_ok = true;
        else if (reg == DMM_CH_DESC_HI)
            x->hi_ok = true;
        else
            x->count_ok = true;
        return;
    }
    if (reg == DMM_CH_DESC_LO)
        x->lo_ok = false;
    else if (reg == DMM_CH_DESC_HI)
        x->hi_ok = false;
    else
        x->count_ok = false;
    rpl_divergence d;
    div_init(r, &d, RPL_DIV_PROGRAM);
    char name[32];
    rpl_reg_name(name, sizeof name, bar);
    set_subject(&d, "reg_write dev=%u off=0x%" PRIx64 " (%s) for xfer %u", r->rec->dev, r->rec->off,
                name, x->id);
    set_expected(&d, "0x%" PRIx64, want);
    set_actual(&d, "0x%" PRIx64, value);
    if (reg == DMM_CH_DESC_COUNT)
        set_detail(&d, "the descriptors written at record %" PRIu64 " are %u", x->desc_index,
                   x->ring_count);
    else
        set_detail(&d, "the descriptors written at record %" PRIu64 " start at 0x%" PRIx64,
                   x->desc_index, x->ring_base);
    emit(r, &d);
}

static bool fill_content(const mdl_t *m, uint8_t *arena, uint64_t bo, uint64_t n, bool fill);
static mdl_t *mdl_get(rpl_replay *r, uint32_t id);

/* Fill a from-device buffer whose fill was put off (bytes [from, len)). */
static void fill_now(rpl_replay *r, xfer_t *x, uint64_t from)
{
    if (from >= x->arena_len)
        return;
    fill_content(mdl_get(r, x->mdl), x->arena + from, x->offset + from, x->arena_len - from, true);
}

/* Before the doorbell of channel c: a from-device buffer needs its
 * initial contents only where the device will not write.  When the ring
 * registers and the descriptors in memory are exactly the verified ones
 * (they cover the SG list in order), no errata bend lengths or addresses
 * and every element is mapped, the device writes the buffer front to back:
 * the fill is skipped and, after a clean run, the run's digest is the
 * buffer's (see on_digest). */
static void before_doorbell(rpl_replay *r, unsigned c)
{
    xfer_t *x = xfer_get(r, r->ch[c].pending);
    if (!x || !x->fill_pending)
        return;
    x->fill_pending = false;
    size_t n = (size_t)x->ring_count * r->dsz;
    bool ok = x->desc_complete && !x->desc_bad && !x->desc_unparsed && x->lo_ok && x->hi_ok &&
              x->count_ok && r->cfg.errata == 0 && x->nregions == x->nregions_want && n &&
              n <= (size_t)DMM_MAX_DESC * DMM_DESC1_SIZE &&
              dmm_phys_read(r->pm, x->ring_base, r->fetch_buf, n) == DMM_OK &&
              dmt64(r->fetch_buf, n) == dmt64_final(&x->desc_st);
    if (ok)
        x->fill_skipped = true;
    else
        fill_now(r, x, 0);
}

static void doorbell(rpl_replay *r, unsigned c)
{
    dmm_run_info ri;
    dmm_ch_last_run(r->dev, c, &ri);
    if (ri.seq == r->ch[c].run_seq)
        return; /* rejected (busy) */
    r->ch[c].run_seq = ri.seq;
    r->sum.runs++;
    xfer_t *x = xfer_get(r, r->ch[c].pending);
    r->ch[c].pending = 0;
    /* a loss window on this channel ends with a run programmed entirely
     * from records seen after the loss */
    chan_t *ch = &r->ch[c];
    if (ch->taint && ch->w_lo && ch->w_hi && ch->w_count && x && x->desc_seen) {
        ch->taint = false;
        bool any = false;
        for (unsigned i = 0; i < DMM_NUM_CHANNELS; i++)
            any = any || r->ch[i].taint;
        if (!any)
            r->irq_taint = false;
    }
    if (x) {
        x->run_bound = true;
        x->run = ri;
        x->run_index = r->cur;
        x->run_tainted = ch->taint;
        if (x->desc_suspect >= 0) {
            int s = x->desc_suspect;
            x->desc_suspect = -1;
            suspect_close(r, s, true);
        }
    }
    devmem_after_run(r, c, &ri, x);
}

static void reg_write32(rpl_replay *r, uint32_t bar, uint32_t value, bool check)
{
    bool is_ch = bar >= DMM_CH_BASE(0) && bar < DMM_CH_BASE(DMM_NUM_CHANNELS) && (bar & 3u) == 0;
    unsigned c = is_ch ? (bar - DMM_CH_BASE(0)) / 0x40u : 0;
    uint32_t reg = is_ch ? (bar - DMM_CH_BASE(0)) % 0x40u : 0;
    if (is_ch && check)
        program_check(r, c, reg, value, bar);
    r->sum.reg_writes++;
    if (is_ch && reg == DMM_CH_CTRL && (value & DMM_CTRL_RUN) && !(value & DMM_CTRL_RESET))
        before_doorbell(r, c);
    if (r->tolerant && ((is_ch && (reg == DMM_CH_CTRL || reg == DMM_CH_STATUS)) ||
                        bar == DMM_REG_IRQ_STATUS || bar == DMM_REG_IRQ_ENABLE)) {
        snap_t *sn = &r->snaps[r->nsnaps++ % MAX_SNAP];
        sn->index = r->cur;
        sn->irq_status = dmm_reg_read(r->dev, DMM_REG_IRQ_STATUS);
        for (unsigned k = 0; k < DMM_NUM_CHANNELS; k++)
            sn->ch_status[k] = dmm_reg_read(r->dev, DMM_CH_BASE(k) + DMM_CH_STATUS);
    }
    dmm_reg_write(r->dev, bar, value);
    if (is_ch) {
        switch (reg) {
        case DMM_CH_CTRL:
            if (value & DMM_CTRL_RESET)
                after_lowering_write(r, false, 0);
            else if (value & DMM_CTRL_RUN)
                doorbell(r, c);
            break;
        case DMM_CH_DESC_LO:
            r->ch[c].w_lo = true;
            break;
        case DMM_CH_DESC_HI:
            r->ch[c].w_hi = true;
            break;
        case DMM_CH_DESC_COUNT:
            r->ch[c].w_count = true;
            break;
        default:
            break;
        }
    } else if (bar == DMM_REG_IRQ_STATUS || bar == DMM_REG_IRQ_ENABLE) {
        after_lowering_write(r, bar == DMM_REG_IRQ_STATUS, value);
    }
}

static void reg_write(rpl_replay *r, uint32_t bar, uint32_t width, uint64_t value, bool check)
{
    switch (width) {
    case 1:
    case 2: {
        if ((bar & 3u) + width > 4)
            return; /* straddles two registers: dropped, as the host VideoPort does */
        uint32_t shift = (bar & 3u) * 8u;
        uint32_t mask = (uint32_t)width_mask(width) << shift;
        uint32_t old = dmm_reg_read(r->dev, bar & ~3u);
        reg_write32(r, bar & ~3u, (old & ~mask) | (((uint32_t)value << shift) & mask), check);
        return;
    }
    case 8:
        reg_write32(r, bar, (uint32_t)value, check);
        reg_write32(r, bar + 4, (uint32_t)(value >> 32), check);
        return;
    default:
        reg_write32(r, bar, (uint32_t)value, check);
        return;
    }
}

/* Is a failed check of this register possibly caused by a loss? */
static bool reg_tainted(const rpl_replay *r, uint32_t bar)
{
    if (bar >= DMM_CH_BASE(0) && bar < DMM_CH_BASE(DMM_NUM_CHANNELS))
        return r->ch[(bar - DMM_CH_BASE(0)) / 0x40u].taint;
    if (bar == DMM_REG_IRQ_STATUS || bar == DMM_REG_IRQ_ENABLE)
        return r->ch[0].taint || r->ch[1].taint;
    return false;
}

static void read_diverged(rpl_replay *r, uint32_t bar, uint64_t off, uint32_t width, int vindex,
                          uint64_t want, uint64_t got, bool tainted)
{
    rpl_divergence d;
    div_init(r, &d, RPL_DIV_REG_READ);
    char name[32], ex_got[160], ex_want[160];
    rpl_reg_name(name, sizeof name, bar);
    char idx[32] = "";
    if (vindex >= 0)
        snprintf(idx, sizeof idx, " value[%d]", vindex);
    char wtxt[24] = "";
    if (width != 4)
        snprintf(wtxt, sizeof wtxt, " width=%u", width);
    set_subject(&d, "%s dev=%u off=0x%" PRIx64 "%s%s%s%s%s", dmt_kind_name(r->rec->kind),
                r->rec->dev, off, idx, wtxt, name[0] ? " (" : "", name, name[0] ? ")" : "");
    set_expected(&d, "0x%" PRIx64, want);
    set_actual(&d, "0x%" PRIx64, got);
    if (width == 4 && rpl_explain_reg(ex_got, sizeof ex_got, bar, got)) {
        rpl_explain_reg(ex_want, sizeof ex_want, bar, want);
        const char *w = strchr(ex_want, ':');
        set_detail(&d, "%s; trace:%s", ex_got, w ? w + 1 : ex_want);
    }
    check_failed(r, &d, tainted);
}

/* In a trace of several CPUs: was `want` the register's value just before
 * one of the recent writes (the read reached the device before it)? */
static bool reordered_read(rpl_replay *r, uint32_t bar, uint64_t want)
{
    bool irq = bar == DMM_REG_IRQ_STATUS;
    bool st = bar >= DMM_CH_BASE(0) && bar < DMM_CH_BASE(DMM_NUM_CHANNELS) &&
              (bar - DMM_CH_BASE(0)) % 0x40u == DMM_CH_STATUS;
    if (!r->tolerant || (!irq && !st))
        return false;
    unsigned n = r->nsnaps < MAX_SNAP ? r->nsnaps : MAX_SNAP;
    for (unsigned i = 0; i < n; i++) {
        const snap_t *sn = &r->snaps[(r->nsnaps - 1 - i) % MAX_SNAP];
        if (sn->index + REORDER_WINDOW < r->cur)
            break;
        uint32_t v = irq ? sn->irq_status : sn->ch_status[(bar - DMM_CH_BASE(0)) / 0x40u];
        if (v == want) {
            r->sum.reordered++;
            note(r, NK_REORDER, RPL_LIMIT_REORDER,
                 "register reads returned the value from before a write logged just ahead of "
                 "them (records of several CPUs); accepted");
            return true;
        }
    }
    return false;
}

static void reg_read(rpl_replay *r, uint32_t bar, uint64_t off, uint32_t width, uint64_t want,
                     int vindex)
{
    r->sum.reg_reads++;
    uint64_t got = model_read(r, bar, width);
    uint64_t m = width_mask(width);
    if ((got & m) == (want & m))
        return;
    if (width == 4 && reordered_read(r, bar, want))
        return;
    read_diverged(r, bar, off, width, vindex, want & m, got & m, reg_tainted(r, bar));
}

/* Reads outside the mapping never reach the device: all ones. */
static void reg_read_unmapped(rpl_replay *r, uint64_t off, uint32_t width, uint64_t want,
                              int vindex)
{
    r->sum.reg_reads++;
    uint64_t m = width_mask(width);
    if ((want & m) == m)
        return;
    read_diverged(r, UINT32_MAX, off, width, vindex, want & m, m, false);
}

static bool is_config_read(uint32_t bar)
{
    return bar == DMM_REG_ID || bar == DMM_REG_CAPS || bar == DMM_REG_DEVMEM_SIZE;
}

static void learn_config(rpl_replay *r, uint32_t bar, uint64_t v)
{
    switch (bar) {
    case DMM_REG_ID:
        if (r->cfg_rev)
            return;
        if ((v & 0xFFFFFF00u) == DMM_ID_MAGIC && dmm_desc_size((uint32_t)(v & 0xFF)) != 0) {
            r->inf_rev = (uint32_t)(v & 0xFF);
            r->cfg_rev = true;
        } else {
            note(r, NK_CONFIG, RPL_LIMIT_CONFIG,
                 "the trace's ID read 0x%" PRIx64 " is not a dmm engine revision the model has; "
                 "the default configuration is used",
                 v);
        }
        return;
    case DMM_REG_CAPS: {
        if (r->cfg_caps)
            return;
        uint32_t bits = DMM_CAPS_ADDR_BITS((uint32_t)v), e = DMM_CAPS_ERRATA((uint32_t)v);
        if (bits >= 32 && bits <= 64 && (e & ~DMM_ERRATA_ALL) == 0) {
            r->inf_bits = bits;
            r->inf_errata = e;
            r->cfg_caps = true;
        } else {
            note(r, NK_CONFIG, RPL_LIMIT_CONFIG,
                 "the trace's CAPS read 0x%" PRIx64 " holds address bits or errata the model "
                 "does not have; defaults are used",
                 v);
        }
        return;
    }
    case DMM_REG_DEVMEM_SIZE:
        if (r->cfg_devmem)
            return;
        if (v >= 1 && v <= DMM_DEVMEM_MAX) {
            r->inf_devmem = v;
            r->cfg_devmem = true;
        } else {
            note(r, NK_CONFIG, RPL_LIMIT_CONFIG,
                 "the trace's DEVMEM_SIZE read %" PRIu64 " is outside the model's range; the "
                 "default is used",
                 v);
        }
        return;
    default:
        return;
    }
}

/* Compare the configuration reads seen before the model existed. */
static void process_early(rpl_replay *r)
{
    for (unsigned i = 0; i < r->nearly; i++) {
        early_t *e = &r->early[i];
        r->sum.reg_reads++;
        uint64_t got = dmm_reg_read(r->dev, e->bar_off);
        if ((uint32_t)got == (uint32_t)e->value)
            continue;
        rpl_divergence d;
        memset(&d, 0, sizeof d);
        d.index = e->index;
        d.seq = e->seq;
        d.t_rel = e->ts - r->t0;
        d.kind = RPL_DIV_REG_READ;
        d.record_kind = DMT_K_REG_READ;
        d.n_context = e->nctx;
        memcpy(d.context, e->ctx, sizeof d.context);
        char name[32], ex_got[160], ex_want[160];
        rpl_reg_name(name, sizeof name, e->bar_off);
        set_subject(&d, "reg_read dev=%u off=0x%" PRIx64 " (%s)", e->dev, e->off, name);
        set_expected(&d, "0x%" PRIx64, e->value);
        set_actual(&d, "0x%" PRIx64, got);
        rpl_explain_reg(ex_got, sizeof ex_got, e->bar_off, got);
        rpl_explain_reg(ex_want, sizeof ex_want, e->bar_off, e->value);
        const char *w = strchr(ex_want, ':');
        set_detail(&d, "%s; trace:%s", ex_got, w ? w + 1 : ex_want);
        emit(r, &d);
    }
    r->nearly = 0;
}

static int on_reg(rpl_replay *r, const dmt_record *rec)
{
    uint32_t width = rec->width ? rec->width : 4;
    bool buf = rec->kind == DMT_K_REG_WRITE_BUF || rec->kind == DMT_K_REG_READ_BUF;
    bool read = rec->kind == DMT_K_REG_READ || rec->kind == DMT_K_REG_READ_BUF;
    uint32_t n = buf ? rec->n_values : 1;
    if (buf)
        width = 4;
    uint32_t bar = 0;
    int where = resolve(r, rec->dev, rec->off, width, &bar);
    if (where < 0)
        return 0;
    if (!r->dev && read && !buf && where == 1 && width == 4 && is_config_read(bar) &&
        r->nearly < MAX_EARLY) {
        early_t *e = &r->early[r->nearly++];
        e->index = r->cur;
        e->seq = rec->seq;
        e->ts = rec->ts;
        e->bar_off = bar;
        e->off = rec->off;
        e->dev = rec->dev;
        e->width = width;
        e->value = rec->value;
        e->nctx = ctx_capture(r, e->ctx, r->cur);
        learn_config(r, bar, rec->value);
        return 0;
    }
    if (!r->dev && ensure_dev(r))
        return r->fatal;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t off = rec->off + (uint64_t)i * 4u;
        uint64_t v = buf ? rec->values[i] : rec->value;
        int vi = buf ? (int)i : -1;
        int w = i == 0 ? where : resolve(r, rec->dev, off, width, &bar);
        if (w < 0)
            return 0;
        if (read) {
            if (w == 1)
                reg_read(r, bar, off, width, v, vi);
            else
                reg_read_unmapped(r, off, width, v, vi);
        } else if (w == 1) {
            reg_write(r, bar, width, v, true);
        }
    }
    return 0;
}

/* ---- memory: common buffers -------------------------------------------------------- */

static int on_common_alloc(rpl_replay *r, const dmt_record *rec)
{
    cbuf_t *old = rpl_idmap_get(&r->cbs, rec->cb);
    if (old) {
        if (old->mapped) {
            dmm_phys_unmap(r->pm, old->addr);
            uncharge(r, old->len);
        }
        rpl_idmap_del(&r->cbs, rec->cb);
        free(old);
    }
    if (rec->length == 0 || rec->addr + (rec->length - 1) < rec->addr) {
        note(r, NK_UNMAPPED, RPL_LIMIT_UNMAPPED,
             "common buffer %u [0x%" PRIx64 ", +0x%" PRIx64 ") is empty or wraps past 2^64; "
             "not mapped",
             rec->cb, rec->addr, rec->length);
        return 0;
    }
    if (!charge(r, rec->length, "common buffer"))
        return r->fatal;
    cbuf_t *cb = calloc(1, sizeof *cb);
    if (!cb) {
        uncharge(r, rec->length);
        return fail(r, "out of memory");
    }
    cb->id = rec->cb;
    cb->adapter = rec->adapter;
    cb->addr = rec->addr;
    cb->len = rec->length;
    if (!rpl_idmap_put(&r->cbs, rec->cb, cb)) {
        uncharge(r, rec->length);
        free(cb);
        return fail(r, "more than %u common buffers live at once", MAX_LIVE_CB);
    }
    int rc = dmm_phys_alloc(r->pm, rec->addr, rec->length);
    if (rc == DMM_OK) {
        cb->mapped = true;
    } else {
        uncharge(r, rec->length);
        if (rc == DMM_ENOMEM)
            return fail(r, "the model's memory map is full (common buffer %u)", rec->cb);
        note(r, NK_CB_OVERLAP, RPL_LIMIT_UNMAPPED,
             "common buffer %u [0x%" PRIx64 ", +0x%" PRIx64 ") overlaps memory already mapped; "
             "not mapped",
             rec->cb, rec->addr, rec->length);
    }
    return 0;
}

static void on_common_release(rpl_replay *r, const dmt_record *rec)
{
    cbuf_t *cb = rpl_idmap_del(&r->cbs, rec->cb);
    if (!cb) {
        note(r, NK_UNKNOWN_CB, RPL_LIMIT_UNKNOWN_ID,
             "records refer to common buffer %u, which no common_alloc introduced", rec->cb);
        return;
    }
    if (cb->mapped) {
        dmm_phys_unmap(r->pm, cb->addr);
        uncharge(r, cb->len);
    }
    free(cb);
}

/* ---- descriptors against the SG list ------------------------------------------------- */

/* The transfer whose descriptors a DESC_WRITE into cb carries: the executed,
 * not yet doorbelled transfer on cb's adapter. */
static xfer_t *desc_owner(rpl_replay *r, const cbuf_t *cb)
{
    xfer_t *best = NULL;
    for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++) {
        xfer_t *x = xfer_get(r, r->ch[c].pending);
        if (x && x->adapter == cb->adapter && (!best || x->id > best->id))
            best = x;
    }
    return best;
}

static void desc_diverged(rpl_replay *r, xfer_t *x, uint32_t di, const char *expected,
                          const char *actual, const char *detail)
{
    rpl_divergence d;
    div_init(r, &d, RPL_DIV_DESCRIPTOR);
    set_subject(&d, "desc_write cb=%u offset=0x%" PRIx64 ": descriptor %u of xfer %u", r->rec->cb,
                r->rec->offset, di, x->id);
    set_expected(&d, "%s", expected);
    set_actual(&d, "%s", actual);
    set_detail(&d, "%s", detail);
    x->desc_bad = true;
    emit(r, &d);
}

static void check_descriptors(rpl_replay *r, xfer_t *x, const cbuf_t *cb, const dmt_record *rec)
{
    size_t dsz = desc_size(r);
    if (!dsz || rec->offset % dsz || rec->n_bytes % dsz) {
        x->desc_unparsed = true;
        return;
    }
    if (x->desc_bad || x->desc_unparsed)
        return;
    if (!x->desc_seen || rec->offset != x->desc_next_off) {
        x->desc_seen = true;
        x->dk = 0;
        x->doff = 0;
        x->desc_bytes = 0;
        x->ring_base = cb->addr + rec->offset;
        x->ring_count = 0;
        x->desc_complete = false;
        x->lo_ok = x->hi_ok = x->count_ok = false;
        dmt64_init(&x->desc_st);
    }
    dmt64_update(&x->desc_st, rec->bytes, rec->n_bytes);
    x->desc_index = r->cur;
    uint32_t nd = (uint32_t)(rec->n_bytes / dsz);
    char e[RPL_TEXT], a[RPL_TEXT], det[RPL_TEXT];
    for (uint32_t i = 0; i < nd; i++) {
        uint32_t di = x->ring_count + i;
        dmm_desc d;
        dmm_desc_decode(r->cfg.revision, rec->bytes + (size_t)i * dsz, &d);
        r->sum.descriptors++;
        if (!d.magic_ok) {
            snprintf(e, sizeof e, "a revision %u descriptor", r->cfg.revision);
            snprintf(a, sizeof a, "bad magic");
            snprintf(det, sizeof det, "the engine stops with MAGIC at this descriptor");
            desc_diverged(r, x, di, e, a, det);
            return;
        }
        if (d.len == 0) {
            snprintf(e, sizeof e, "a length >= 1");
            snprintf(a, sizeof a, "length 0");
            snprintf(det, sizeof det, "host 0x%" PRIx64, d.host_addr);
            desc_diverged(r, x, di, e, a, det);
            return;
        }
        uint64_t ha = d.host_addr, left = d.len;
        while (left > 0) {
            while (x->dk < x->n_sg && x->sg[x->dk].len == 0)
                x->dk++;
            if (x->dk >= x->n_sg) {
                snprintf(e, sizeof e,
                         "no bytes past the end of the SG list (%u elements, %" PRIu64 " bytes)",
                         x->n_sg, x->granted);
                snprintf(a, sizeof a, "host 0x%" PRIx64 "+0x%x", d.host_addr, d.len);
                snprintf(det, sizeof det, "reaches %" PRIu64 " bytes past the SG list", left);
                desc_diverged(r, x, di, e, a, det);
                return;
            }
            const dmt_sg_elem *s = &x->sg[x->dk];
            uint64_t want = s->addr + x->doff;
            if (ha != want) {
                snprintf(e, sizeof e, "host 0x%" PRIx64 " (SG element %u +0x%" PRIx64 ")", want,
                         x->dk, x->doff);
                snprintf(a, sizeof a, "host 0x%" PRIx64 "+0x%x", d.host_addr, d.len);
                if (ha == d.host_addr && x->doff && ha == s->addr && di > 0)
                    snprintf(det, sizeof det,
                             "descriptor %u ran 0x%" PRIx64 " bytes into SG element %u, which is "
                             "contiguous with the element before it",
                             di - 1, x->doff, x->dk);
                else if (ha == d.host_addr)
                    snprintf(det, sizeof det,
                             "the descriptor does not start where the SG list continues");
                else
                    snprintf(det, sizeof det,
                             "the descriptor runs on past SG element %u, which ends at 0x%" PRIx64,
                             x->dk ? x->dk - 1 : 0, ha);
                desc_diverged(r, x, di, e, a, det);
                return;
            }
            uint64_t t = s->len - x->doff;
            if (t > left)
                t = left;
            ha += t;
            left -= t;
            x->doff += t;
            x->desc_bytes += t;
            if (x->doff == s->len) {
                x->dk++;
                x->doff = 0;
            }
        }
    }
    x->ring_count += nd;
    x->desc_next_off = rec->offset + rec->n_bytes;
    while (x->dk < x->n_sg && x->sg[x->dk].len == 0)
        x->dk++;
    if (x->dk >= x->n_sg) {
        x->desc_complete = true;
        if (x->desc_suspect >= 0) {
            suspect_close(r, x->desc_suspect, false);
            x->desc_suspect = -1;
        }
        return;
    }
    /* a prefix: more descriptors may follow before the doorbell */
    if (x->desc_suspect >= 0) {
        suspect_close(r, x->desc_suspect, false);
        x->desc_suspect = -1;
    }
    int s = suspect_open(r, false, x->id, r->cur + DESC_WINDOW);
    if (s < 0)
        return;
    x->desc_suspect = s;
    rpl_divergence *d = &r->sus[s].d;
    div_init(r, d, RPL_DIV_DESCRIPTOR);
    set_subject(d, "desc_write cb=%u offset=0x%" PRIx64 ": descriptors of xfer %u", rec->cb,
                rec->offset, x->id);
    set_expected(d, "%" PRIu64 " bytes (%u SG elements)", x->granted, x->n_sg);
    set_actual(d, "%" PRIu64 " bytes in %u descriptors", x->desc_bytes, x->ring_count);
    set_detail(d, "SG elements %u..%u are not programmed when the doorbell rings", x->dk,
               x->n_sg - 1);
}

static void on_desc_write(rpl_replay *r, const dmt_record *rec)
{
    cbuf_t *cb = rpl_idmap_get(&r->cbs, rec->cb);
    if (!cb) {
        note(r, NK_UNKNOWN_CB, RPL_LIMIT_UNKNOWN_ID,
             "records refer to common buffer %u, which no common_alloc introduced", rec->cb);
        return;
    }
    uint64_t n = rec->n_bytes;
    if (rec->offset > cb->len || n > cb->len - rec->offset) {
        rpl_divergence d;
        div_init(r, &d, RPL_DIV_DESCRIPTOR);
        set_subject(&d, "desc_write cb=%u offset=0x%" PRIx64, rec->cb, rec->offset);
        set_expected(&d, "bytes inside the common buffer (%" PRIu64 " bytes)", cb->len);
        set_actual(&d, "%u bytes at offset 0x%" PRIx64, rec->n_bytes, rec->offset);
        set_detail(&d, "the write runs past the end of the buffer; the part inside it is applied");
        emit(r, &d);
        n = rec->offset > cb->len ? 0 : cb->len - rec->offset;
    }
    if (cb->mapped && n)
        dmm_phys_write(r->pm, cb->addr + rec->offset, rec->bytes, n);
    xfer_t *x = desc_owner(r, cb);
    if (x && x->sg && n == rec->n_bytes)
        check_descriptors(r, x, cb, rec);
}

/* ---- memory: buffers and transfers ---------------------------------------------------- */

static mdl_t *mdl_get(rpl_replay *r, uint32_t id)
{
    return rpl_idmap_get(&r->mdls, id);
}

static void mdl_free(rpl_replay *r, mdl_t *m)
{
    for (uint32_t i = 0; i < m->nsrc; i++) {
        if (m->srcs[i].bytes) {
            uncharge(r, m->srcs[i].len);
            free(m->srcs[i].bytes);
        }
    }
    free(m->srcs);
    free(m);
}

static void xfer_unmap(rpl_replay *r, xfer_t *x)
{
    for (uint32_t i = 0; i < x->nregions; i++)
        dmm_phys_unmap(r->pm, x->regions[i]);
    x->nregions = 0;
}

static void arena_release(rpl_replay *r, uint8_t *p, uint64_t cap)
{
    if (!p)
        return;
    /* keep the biggest ARENA_CACHE arenas for reuse (they stay charged) */
    unsigned small = 0;
    for (unsigned i = 0; i < ARENA_CACHE; i++) {
        if (!r->arena_cache[i].p) {
            r->arena_cache[i].p = p;
            r->arena_cache[i].cap = cap;
            return;
        }
        if (r->arena_cache[i].cap < r->arena_cache[small].cap)
            small = i;
    }
    if (r->arena_cache[small].cap < cap) {
        uint8_t *q = r->arena_cache[small].p;
        uint64_t qc = r->arena_cache[small].cap;
        r->arena_cache[small].p = p;
        r->arena_cache[small].cap = cap;
        p = q;
        cap = qc;
    }
    uncharge(r, cap);
    free(p);
}

static void arena_drop_cache(rpl_replay *r)
{
    for (unsigned i = 0; i < ARENA_CACHE; i++) {
        if (r->arena_cache[i].p) {
            uncharge(r, r->arena_cache[i].cap);
            free(r->arena_cache[i].p);
            r->arena_cache[i].p = NULL;
        }
    }
}

/* An arena of at least n bytes (charged); *cap its size; NULL on failure. */
static uint8_t *arena_get(rpl_replay *r, uint64_t n, uint64_t *cap)
{
    if (n == 0)
        n = 1;
    int best = -1;
    for (unsigned i = 0; i < ARENA_CACHE; i++)
        if (r->arena_cache[i].p && r->arena_cache[i].cap >= n &&
            (best < 0 || r->arena_cache[i].cap < r->arena_cache[best].cap))
            best = (int)i;
    if (best >= 0) {
        uint8_t *p = r->arena_cache[best].p;
        *cap = r->arena_cache[best].cap;
        r->arena_cache[best].p = NULL;
        return p;
    }
    /* round up a little so similar sizes share arenas */
    uint64_t want = n < 4096 ? 4096 : (n + 65535) & ~(uint64_t)65535;
    if (want < n)
        want = n;
    if (r->mem_used + want > r->o.mem_limit || want > r->o.mem_limit)
        arena_drop_cache(r);
    if (want > n && (want > r->o.mem_limit || r->mem_used > r->o.mem_limit - want))
        want = n;
    if (!charge(r, want, "a transfer's buffer"))
        return NULL;
    uint8_t *p = malloc((size_t)want);
    if (!p) {
        uncharge(r, want);
        fail(r, "out of memory for a transfer's buffer of %" PRIu64 " bytes", want);
        return NULL;
    }
    *cap = want;
    return p;
}

static void xfer_free(rpl_replay *r, xfer_t *x)
{
    mdl_t *m = x->counted ? rpl_idmap_get(&r->mdls, x->mdl) : NULL;
    if (m && m->live)
        m->live--;
    xfer_unmap(r, x);
    for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++)
        if (r->ch[c].pending == x->id)
            r->ch[c].pending = 0;
    if (x->desc_suspect >= 0)
        suspect_close(r, x->desc_suspect, false);
    arena_release(r, x->arena, x->arena_cap);
    if (x->sg)
        uncharge(r, (uint64_t)x->n_sg * sizeof(dmt_sg_elem));
    free(x->sg);
    free(x->regions);
    free(x);
}

static void xfer_drop(rpl_replay *r, uint32_t id)
{
    xfer_t *x = rpl_idmap_del(&r->xfers, id);
    if (x)
        xfer_free(r, x);
}

static xfer_t *xfer_new(rpl_replay *r, uint32_t id)
{
    xfer_drop(r, id);
    xfer_t *x = calloc(1, sizeof *x);
    if (!x) {
        fail(r, "out of memory");
        return NULL;
    }
    x->id = id;
    x->ch = -1;
    x->desc_suspect = -1;
    if (!rpl_idmap_put(&r->xfers, id, x)) {
        free(x);
        fail(r, "more than %u transfers live at once", MAX_LIVE_XFER);
        return NULL;
    }
    return x;
}

static int on_buffer_lock(rpl_replay *r, const dmt_record *rec)
{
    mdl_t *old = rpl_idmap_del(&r->mdls, rec->mdl);
    if (old)
        mdl_free(r, old);
    mdl_t *m = calloc(1, sizeof *m);
    if (!m)
        return fail(r, "out of memory");
    m->id = rec->mdl;
    m->len = rec->length;
    if (!rpl_idmap_put(&r->mdls, rec->mdl, m)) {
        free(m);
        return fail(r, "more than %u locked buffers at once", MAX_LIVE_MDL);
    }
    return 0;
}

static void on_buffer_unlock(rpl_replay *r, const dmt_record *rec)
{
    /* transfers on the buffer that were never completed lose their memory */
    uint32_t ids[64];
    mdl_t *mm = mdl_get(r, rec->mdl);
    for (; mm && mm->live;) {
        unsigned n = 0;
        uint32_t pos = 0, key;
        xfer_t *x;
        while (n < 64 && (x = rpl_idmap_next(&r->xfers, &pos, &key)) != NULL)
            if (x->mdl == rec->mdl && x->have_start)
                ids[n++] = key;
        for (unsigned i = 0; i < n; i++)
            xfer_drop(r, ids[i]);
        if (n < 64)
            break;
    }
    mdl_t *m = rpl_idmap_del(&r->mdls, rec->mdl);
    if (m)
        mdl_free(r, m);
    else
        note(r, NK_UNKNOWN_MDL, RPL_LIMIT_UNKNOWN_ID,
             "records refer to MDL %u, which no buffer_lock introduced", rec->mdl);
}

static int add_source(rpl_replay *r, const dmt_record *rec, bool payload)
{
    mdl_t *m = mdl_get(r, rec->mdl);
    if (!m) {
        note(r, NK_UNKNOWN_MDL, RPL_LIMIT_UNKNOWN_ID,
             "records refer to MDL %u, which no buffer_lock introduced", rec->mdl);
        return 0;
    }
    uint64_t len = payload ? rec->n_bytes : rec->length;
    if (len == 0)
        return 0;
    if (rec->offset + len < rec->offset) {
        m->overflow = true;
        return 0;
    }
    if (!payload && rec->algo != DMT_PATTERN_XS64) {
        m->overflow = true; /* unknown algorithm: contents unknown */
        return 0;
    }
    if (m->nsrc == MAX_SRC_PER_MDL) {
        m->overflow = true;
        return 0;
    }
    if (m->nsrc == m->capsrc) {
        uint32_t nc = m->capsrc ? m->capsrc * 2 : 4;
        src *p = realloc(m->srcs, nc * sizeof *p);
        if (!p)
            return fail(r, "out of memory");
        m->srcs = p;
        m->capsrc = nc;
    }
    src *s = &m->srcs[m->nsrc];
    memset(s, 0, sizeof *s);
    s->payload = payload;
    s->off = rec->offset;
    s->len = len;
    s->seed = rec->value;
    if (payload) {
        if (!charge(r, len, "a payload copy"))
            return r->fatal;
        s->bytes = malloc((size_t)len);
        if (!s->bytes) {
            uncharge(r, len);
            return fail(r, "out of memory");
        }
        memcpy(s->bytes, rec->bytes, (size_t)len);
    }
    m->nsrc++;
    return 0;
}

typedef struct span {
    uint64_t lo, hi;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Fill arena = buffer bytes [bo, bo + n) from the MDL's sources in record
 * order; returns true when every byte is known. */
static bool fill_content(const mdl_t *m, uint8_t *arena, uint64_t bo, uint64_t n, bool fill)
{
    uint64_t end = bo + n < bo ? UINT64_MAX : bo + n;
    if (!m || m->nsrc == 0) {
        if (fill)
            memset(arena, 0, (size_t)n);
        return false;
    }
    /* fast path: the last source alone covers everything */
    const src *last = &m->srcs[m->nsrc - 1];
    if (!last->payload && last->off <= bo && last->off + last->len >= end) {
        if (fill)
            dmt_pattern_fill(arena, last->seed, bo, (size_t)n);
        return !m->overflow;
    }
    if (fill)
        memset(arena, 0, (size_t)n);
    span sp[MAX_SRC_PER_MDL];
    unsigned ns = 0;
    for (uint32_t i = 0; i < m->nsrc; i++) {
        const src *s = &m->srcs[i];
        uint64_t lo = s->off > bo ? s->off : bo;
        uint64_t hi = s->off + s->len < end ? s->off + s->len : end;
        if (lo >= hi)
            continue;
        if (fill && s->payload)
            memcpy(arena + (lo - bo), s->bytes + (lo - s->off), (size_t)(hi - lo));
        else if (fill)
            dmt_pattern_fill(arena + (lo - bo), s->seed, lo, (size_t)(hi - lo));
        sp[ns].lo = lo;
        sp[ns].hi = hi;
        ns++;
    }
    qsort(sp, ns, sizeof *sp, cmp_span);
    uint64_t at = bo;
    for (unsigned i = 0; i < ns && at < end; i++) {
        if (sp[i].lo > at)
            return false;
        if (sp[i].hi > at)
            at = sp[i].hi;
    }
    return at >= end && !m->overflow;
}

static int on_start_dma(rpl_replay *r, const dmt_record *rec)
{
    xfer_t *x = xfer_new(r, rec->xfer);
    if (!x)
        return r->fatal;
    x->have_start = true;
    x->adapter = rec->adapter;
    x->mdl = rec->mdl;
    x->offset = rec->offset;
    x->requested = rec->length;
    x->wtd = rec->write_to_device;
    x->ch = rec->write_to_device ? DMM_CH_H2C : DMM_CH_C2H;
    mdl_t *m = mdl_get(r, rec->mdl);
    if (m) {
        m->live++;
        x->counted = true;
    }
    return 0;
}

static void sg_diverged(rpl_replay *r, const dmt_record *rec, const char *expected,
                        const char *actual, const char *detail)
{
    rpl_divergence d;
    div_init(r, &d, RPL_DIV_SG);
    set_subject(&d, "execute_dma xfer=%u adapter=%u", rec->xfer, rec->adapter);
    set_expected(&d, "%s", expected);
    set_actual(&d, "%s", actual);
    set_detail(&d, "%s", detail);
    emit(r, &d);
}

static int on_execute_dma(rpl_replay *r, const dmt_record *rec)
{
    xfer_t *x = xfer_get(r, rec->xfer);
    if (!x) {
        note(r, NK_UNKNOWN_XFER, RPL_LIMIT_UNKNOWN_ID,
             "execute_dma of xfer %u without its start_dma: buffer offset and direction unknown",
             rec->xfer);
        x = xfer_new(r, rec->xfer);
        if (!x)
            return r->fatal;
        x->adapter = rec->adapter;
    } else if (x->executed) {
        /* executed again: the previous list is gone */
        xfer_unmap(r, x);
        arena_release(r, x->arena, x->arena_cap);
        x->arena = NULL;
        if (x->sg)
            uncharge(r, (uint64_t)x->n_sg * sizeof(dmt_sg_elem));
        free(x->sg);
        x->sg = NULL;
        free(x->regions);
        x->regions = NULL;
        x->desc_seen = x->desc_bad = x->desc_unparsed = false;
        x->desc_complete = x->fill_pending = x->fill_skipped = false;
        x->nregions_want = 0;
        x->run_bound = false;
    }
    r->sum.sg_lists++;
    const uint32_t n = rec->n_sg;
    const size_t stride = rec->sg_stride ? rec->sg_stride : sizeof(dmt_sg_elem);
    /* copy the list and check it */
    if (n && !charge(r, (uint64_t)n * sizeof(dmt_sg_elem), "an SG list copy"))
        return r->fatal;
    x->sg = n ? malloc(n * sizeof(dmt_sg_elem)) : NULL;
    x->regions = n ? malloc(n * sizeof(uint64_t)) : NULL;
    if (n && (!x->sg || !x->regions)) {
        uncharge(r, (uint64_t)n * sizeof(dmt_sg_elem));
        free(x->sg);
        free(x->regions);
        x->sg = NULL;
        x->regions = NULL;
        return fail(r, "out of memory");
    }
    x->n_sg = n;
    adapter_t *ad = rpl_idmap_get(&r->adapters, rec->adapter);
    uint64_t total = 0;
    bool bad = false;
    char e[RPL_TEXT], a[RPL_TEXT], det[RPL_TEXT];
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = (const uint8_t *)rec->sg_list + i * stride;
        memcpy(&x->sg[i].addr, p, 8);
        memcpy(&x->sg[i].len, p + 8, 4);
        const dmt_sg_elem *s = &x->sg[i];
        total += s->len;
        if (bad)
            continue;
        if (s->len == 0) {
            snprintf(e, sizeof e, "elements of 1 byte or more");
            snprintf(a, sizeof a, "element %u: 0x%" PRIx64 "+0x0", i, s->addr);
            snprintf(det, sizeof det, "an empty SG element");
            sg_diverged(r, rec, e, a, det);
            bad = true;
        } else if (s->addr + (s->len - 1) < s->addr) {
            snprintf(e, sizeof e, "elements inside the 64-bit address space");
            snprintf(a, sizeof a, "element %u: 0x%" PRIx64 "+0x%x", i, s->addr, s->len);
            snprintf(det, sizeof det, "the element wraps past 2^64");
            sg_diverged(r, rec, e, a, det);
            bad = true;
        } else if (ad && s->addr + (s->len - 1) > ad->addr_limit) {
            snprintf(e, sizeof e, "addresses <= 0x%" PRIx64 " (adapter %u's limit)", ad->addr_limit,
                     ad->id);
            snprintf(a, sizeof a, "element %u: 0x%" PRIx64 "+0x%x", i, s->addr, s->len);
            snprintf(det, sizeof det, "the device cannot reach this element");
            sg_diverged(r, rec, e, a, det);
            bad = true;
        }
    }
    x->granted = rec->length;
    if (!bad && total != rec->length) {
        snprintf(e, sizeof e, "%" PRIu64 " bytes (the granted length)", rec->length);
        snprintf(a, sizeof a, "%" PRIu64 " bytes in %u elements", total, n);
        snprintf(det, sizeof det, "the SG list does not add up to the length StartDma granted");
        sg_diverged(r, rec, e, a, det);
    }
    x->executed = true;
    if (x->ch >= 0) {
        r->ch[x->ch].pending = x->id;
    }
    r->sum.sg_elements += n;

    /* the buffer bytes [offset, offset + total) the elements stand for */
    uint64_t cap = 0;
    x->arena = arena_get(r, total, &cap);
    if (!x->arena)
        return r->fatal;
    x->arena_cap = cap;
    x->arena_len = total;
    mdl_t *m = x->have_start ? mdl_get(r, x->mdl) : NULL;
    if (x->have_start && !x->wtd) {
        /* from the device: filled at the doorbell, if at all */
        x->content_known = fill_content(m, x->arena, x->offset, total, false);
        x->fill_pending = true;
    } else {
        x->content_known = x->have_start && fill_content(m, x->arena, x->offset, total, true);
    }

    /* map the elements onto the arena, merging address-contiguous ones */
    uint64_t pos = 0;
    for (uint32_t i = 0; i < n;) {
        uint64_t a0 = x->sg[i].addr, len = x->sg[i].len;
        uint32_t j = i + 1;
        while (j < n && x->sg[j].len && len + x->sg[j].len > len && a0 + len == x->sg[j].addr &&
               a0 + len > a0)
            len += x->sg[j++].len;
        if (len && a0 + (len - 1) >= a0) {
            x->nregions_want++;
            int rc = dmm_phys_map(r->pm, a0, len, x->arena + pos);
            if (rc == DMM_OK)
                x->regions[x->nregions++] = a0;
            else if (rc == DMM_ENOMEM)
                return fail(r, "the model's memory map is full (xfer %u)", x->id);
            else
                note(r, NK_UNMAPPED, RPL_LIMIT_UNMAPPED,
                     "SG element %u of xfer %u [0x%" PRIx64 ", +0x%" PRIx64 ") overlaps memory "
                     "already mapped; the model sees that memory there",
                     i, x->id, a0, len);
        }
        pos += len;
        i = j;
    }
    return 0;
}

static void digest_diverged(rpl_replay *r, xfer_t *x, const dmt_record *rec, uint64_t got,
                            uint64_t got_len, const char *how, bool tainted)
{
    rpl_divergence d;
    div_init(r, &d, RPL_DIV_DIGEST);
    set_subject(&d, "digest xfer=%u (%s)", rec->xfer, x->wtd ? "to-device" : "from-device");
    set_expected(&d, "0x%016" PRIx64 " over %" PRIu64 " bytes", rec->value, rec->length);
    set_actual(&d, "0x%016" PRIx64 " over %" PRIu64 " bytes", got, got_len);
    if (x->run_bound)
        set_detail(&d,
                   "%s; the run started at record %" PRIu64 " moved %" PRIu64
                   " bytes in %u descriptors, status %s",
                   how, x->run_index, x->run.bytes, x->run.completed, rpl_dmm_err_name(x->run.err));
    else
        set_detail(&d, "%s; no run of the engine belongs to this transfer", how);
    check_failed(r, &d, tainted);
}

static void on_digest(rpl_replay *r, const dmt_record *rec)
{
    xfer_t *x = xfer_get(r, rec->xfer);
    if (!x || !x->executed || !x->have_start) {
        if (!x)
            note(r, NK_UNKNOWN_XFER, RPL_LIMIT_UNKNOWN_ID,
                 "records refer to xfer %u, which no start_dma introduced", rec->xfer);
        return;
    }
    if (!dmt_digest_known(rec->algo))
        return;
    /* the model's own digest register is DMT64 */
    const bool model_algo = rec->algo == DMT_DIGEST_DMT64;
    mdl_t *m = mdl_get(r, x->mdl);
    r->sum.digests++;
    bool tainted = x->run_tainted || x->devmem_unknown;
    if (x->wtd) {
        if (!x->content_known) {
            if (m && !m->noted) {
                m->noted = true;
                note(r, NK_NO_CONTENT, RPL_LIMIT_NO_CONTENT,
                     "buffer contents of MDL %u (xfer %u) are not in the trace (no pattern or "
                     "payload): its data digests cannot be checked",
                     x->mdl, x->id);
            } else if (!m) {
                note(r, NK_NO_CONTENT, RPL_LIMIT_NO_CONTENT,
                     "buffer contents of xfer %u are not in the trace: its data digest cannot "
                     "be checked",
                     x->id);
            }
            return;
        }
        if (model_algo && x->run_bound && x->run.err == DMM_ERR_NONE) {
            if (x->run.digest != rec->value || x->run.bytes != rec->length)
                digest_diverged(r, x, rec, x->run.digest, x->run.bytes,
                                "the model moved other data", tainted);
            return;
        }
        uint64_t n = rec->length < x->arena_len ? rec->length : x->arena_len;
        uint64_t h = dmt_digest(rec->algo, x->arena, (size_t)n);
        if (h != rec->value || n != rec->length)
            digest_diverged(r, x, rec, h, n, "the replayed buffer holds other data", tainted);
        return;
    }
    uint64_t n = rec->length < x->arena_len ? rec->length : x->arena_len;
    uint64_t h;
    if (x->fill_pending) {
        /* never rung: the buffer as it was */
        x->fill_pending = false;
        fill_now(r, x, 0);
    }
    if (model_algo && x->fill_skipped && x->run_bound && x->run.err == DMM_ERR_NONE &&
        x->run.bytes == x->arena_len && n == x->arena_len) {
        h = x->run.digest; /* the device wrote the whole buffer, in order */
    } else {
        if (x->fill_skipped) {
            /* the device wrote a prefix; the rest is the buffer as it was */
            fill_now(r, x, x->run_bound ? x->run.bytes : 0);
            x->fill_skipped = false;
        }
        h = dmt_digest(rec->algo, x->arena, (size_t)n);
    }
    if (h == rec->value && n == rec->length)
        return;
    bool wrote_all = x->run_bound && x->run.err == DMM_ERR_NONE && x->run.bytes >= rec->length;
    if (!x->content_known && !wrote_all) {
        if (m && !m->noted) {
            m->noted = true;
            note(r, NK_NO_CONTENT, RPL_LIMIT_NO_CONTENT,
                 "bytes of MDL %u the device did not write are not in the trace (xfer %u): its "
                 "data digest cannot be checked",
                 x->mdl, x->id);
        }
        return;
    }
    digest_diverged(r, x, rec, h, n, "the buffer holds other data after the model wrote it",
                    tainted);
}

/* ---- interrupts ------------------------------------------------------------------- */

static void irq_missing_text(rpl_replay *r, rpl_divergence *d, const svc_t *v, const char *why)
{
    set_subject(d, "interrupt of dev %u", r->rec ? r->rec->dev : r->irq_dev);
    set_expected(d, "a claimed interrupt record after the ISR's acknowledge at record %" PRIu64,
                 v->ack_index);
    set_actual(d, "%s", why);
    set_detail(d,
               "the model raised its interrupt line at record %" PRIu64 " (IRQ_STATUS bits 0x%x)",
               v->edge_index, v->value);
}

/* Drop serviced interrupt i; confirm its suspect (a divergence) or not. */
static void svc_remove(rpl_replay *r, unsigned i, bool confirm)
{
    int s = r->svc[i].suspect;
    memmove(&r->svc[i], &r->svc[i + 1], (r->nsvc - i - 1) * sizeof *r->svc);
    r->nsvc--;
    if (s >= 0)
        suspect_close(r, s, confirm);
}

static void on_interrupt(rpl_replay *r, const dmt_record *rec)
{
    if (!r->dev)
        return;
    r->sum.interrupts++;
    r->irq_dev = rec->dev;
    bool tainted = r->irq_taint;
    if (rec->claimed) {
        if (r->nsvc) {
            /* at most one entry (see after_lowering_write): the serviced
             * interrupt this record reports */
            svc_remove(r, 0, false);
        } else if (!r->owed && !r->line) {
            rpl_divergence d;
            div_init(r, &d, RPL_DIV_IRQ_UNEXPECTED);
            set_subject(&d, "interrupt dev=%u", rec->dev);
            set_expected(&d, "an interrupt the ISR claimed");
            if (r->have_last_intr)
                set_actual(&d, "none since the interrupt at record %" PRIu64, r->last_intr_index);
            else
                set_actual(&d, "none since the start of the trace");
            uint32_t st = dmm_reg_read(r->dev, DMM_REG_IRQ_STATUS);
            uint32_t en = dmm_reg_read(r->dev, DMM_REG_IRQ_ENABLE);
            set_detail(&d, "model IRQ_STATUS=0x%x IRQ_ENABLE=0x%x", st, en);
            check_failed(r, &d, tainted);
        }
        r->owed = r->line;
        r->last_intr_index = r->cur;
        r->have_last_intr = true;
    } else if (r->nsvc) {
        /* the ISR says it found nothing, yet it acknowledged an interrupt */
        rpl_divergence d;
        div_init(r, &d, RPL_DIV_IRQ_MISSING);
        irq_missing_text(r, &d, &r->svc[0], "the ISR returned unclaimed");
        svc_remove(r, 0, false);
        check_failed(r, &d, tainted);
    }
}

/* A record that is neither a register access nor an interrupt: a serviced
 * interrupt's claimed INTERRUPT record is overdue.  It is confirmed missing
 * when IRQ_WINDOW more records pass without it or the model raises the
 * next interrupt first. */
static void irq_watch(rpl_replay *r)
{
    for (unsigned i = 0; i < r->nsvc; i++) {
        svc_t *v = &r->svc[i];
        if (v->suspect >= 0)
            continue;
        int s = suspect_open(r, true, 0, r->cur + IRQ_WINDOW);
        if (s < 0)
            return;
        v->suspect = s;
        rpl_divergence *d = &r->sus[s].d;
        div_init(r, d, RPL_DIV_IRQ_MISSING);
        irq_missing_text(r, d, v, dmt_kind_name(r->rec->kind));
    }
}

/* ---- loss ------------------------------------------------------------------------ */

static void on_lost(rpl_replay *r, const dmt_record *rec)
{
    static const char *const reasons[] = {"ring full", "overwritten", "torn", "corrupt", "probe"};
    r->sum.lost_records += rec->count;
    rpl_limit *l = add_limit(r, RPL_LIMIT_LOST, r->cur, rec->count,
                             "%" PRIu64 " records lost (%s): checks after them may be unverifiable "
                             "until the engine is reprogrammed",
                             rec->count, rec->reason < 5 ? reasons[rec->reason] : "?");
    if (l) {
        l->first_seq = rec->value;
        l->last_seq = rec->value + (rec->count ? rec->count - 1 : 0);
    }
    r->after_loss = true;
    for (unsigned c = 0; c < DMM_NUM_CHANNELS; c++) {
        r->ch[c].taint = true;
        r->ch[c].w_lo = r->ch[c].w_hi = r->ch[c].w_count = false;
    }
    r->irq_taint = true;
    while (r->nsvc)
        svc_remove(r, 0, false);
    r->devmem_all_known = false;
    r->devmem_overflow = false;
    r->nknown = 0;
}

/* ---- dispatch -------------------------------------------------------------------- */

static void resolve_deadlines(rpl_replay *r)
{
    if (!r->nsus_open)
        return;
    for (unsigned i = 0; i < MAX_SUSPECTS; i++) {
        suspect_t *s = &r->sus[i];
        if (!s->open || r->cur <= s->deadline)
            continue;
        if (s->irq) {
            for (unsigned k = 0; k < r->nsvc; k++)
                if (r->svc[k].suspect == (int)i) {
                    svc_remove(r, k, true);
                    break;
                }
        } else {
            xfer_t *x = xfer_get(r, s->xfer);
            if (x && x->desc_suspect == (int)i)
                x->desc_suspect = -1;
            suspect_close(r, (int)i, false); /* no doorbell came: nothing ran */
        }
    }
}

static int dispatch(rpl_replay *r, const dmt_record *rec)
{
    switch (rec->kind) {
    case DMT_K_REG_WRITE:
    case DMT_K_REG_READ:
    case DMT_K_REG_WRITE_BUF:
    case DMT_K_REG_READ_BUF:
        return on_reg(r, rec);
    case DMT_K_INTERRUPT:
        if (!r->dev && ensure_dev(r))
            return r->fatal;
        on_interrupt(r, rec);
        return 0;
    default:
        break;
    }
    switch (rec->kind) {
    case DMT_K_EXECUTE_DMA:
    case DMT_K_DESC_WRITE:
    case DMT_K_DIGEST:
        if (!r->dev && ensure_dev(r))
            return r->fatal;
        break;
    default:
        break;
    }
    irq_watch(r);
    switch (rec->kind) {
    case DMT_K_EXECUTE_DMA:
        return on_execute_dma(r, rec);
    case DMT_K_START_DMA:
        return on_start_dma(r, rec);
    case DMT_K_COMPLETE_DMA:
        xfer_drop(r, rec->xfer);
        return 0;
    case DMT_K_ADAPTER_CREATE: {
        adapter_t *a = rpl_idmap_get(&r->adapters, rec->adapter);
        if (!a) {
            a = calloc(1, sizeof *a);
            if (!a)
                return fail(r, "out of memory");
            if (!rpl_idmap_put(&r->adapters, rec->adapter, a)) {
                free(a);
                return fail(r, "more than %u DMA adapters at once", MAX_ADAPTERS);
            }
        }
        a->id = rec->adapter;
        a->addr_limit = rec->addr_limit ? rec->addr_limit : UINT64_MAX;
        return 0;
    }
    case DMT_K_ADAPTER_RELEASE:
        free(rpl_idmap_del(&r->adapters, rec->adapter));
        return 0;
    case DMT_K_BUFFER_LOCK:
        return on_buffer_lock(r, rec);
    case DMT_K_BUFFER_UNLOCK:
        on_buffer_unlock(r, rec);
        return 0;
    case DMT_K_COMMON_ALLOC:
        return on_common_alloc(r, rec);
    case DMT_K_COMMON_RELEASE:
        on_common_release(r, rec);
        return 0;
    case DMT_K_DESC_WRITE:
        on_desc_write(r, rec);
        return r->fatal;
    case DMT_K_DIGEST:
        on_digest(r, rec);
        return 0;
    case DMT_K_PATTERN:
        return add_source(r, rec, false);
    case DMT_K_PAYLOAD:
        return add_source(r, rec, true);
    case DMT_K_DEVICE_MAP: {
        devmap_t *m = devmap_find(r, rec->dev);
        if (!m) {
            if (r->ndevmaps == MAX_DEVMAPS) {
                note(r, NK_OTHER_DEVICE, RPL_LIMIT_DEVICE,
                     "more than %u register mappings; device %u is not modelled", MAX_DEVMAPS,
                     rec->dev);
                return 0;
            }
            m = &r->devmaps[r->ndevmaps++];
        }
        m->id = rec->dev;
        m->len = rec->length;
        if (!r->have_bar) {
            r->have_bar = true;
            r->bar_addr = rec->addr;
        }
        m->model = rec->addr >= r->bar_addr && rec->addr - r->bar_addr < DMM_BAR_SIZE;
        m->delta = m->model ? rec->addr - r->bar_addr : 0;
        return 0;
    }
    case DMT_K_LOST:
        on_lost(r, rec);
        return 0;
    default:
        return 0; /* START_DMA_END, DPC, MARKER: nothing to replay */
    }
}

int rpl_feed(rpl_replay *r, const dmt_record *rec, dmt_error *err)
{
    if (r->fatal) {
        if (err && r->err != err)
            dmt_error_set(err, r->fatal, DMT_NO_INDEX, r->cur, "replay already failed");
        return r->fatal;
    }
    if (r->sum.stopped)
        return 1;
    if (rec->kind == DMT_K_CHUNK || rec->kind == DMT_K_END)
        return 0;
    r->err = err;
    r->cur = r->nrec;
    r->rec = rec;
    if (r->nrec == 0)
        r->t0 = rec->ts;
    win_push(r, rec);
    resolve_deadlines(r);
    int rc = dispatch(r, rec);
    r->nrec++;
    r->sum.records = r->nrec;
    r->rec = NULL;
    if (rc < 0 || r->fatal)
        return r->fatal ? r->fatal : rc;
    return r->sum.stopped ? 1 : 0;
}

void rpl_set_header(rpl_replay *r, const dmt_header *hdr)
{
    if (r->o.order == RPL_ORDER_AUTO && hdr) {
        r->tolerant = strcmp(hdr->clock, "deterministic") != 0;
        r->sum.strict_order = !r->tolerant;
    }
}

void rpl_note_cut(rpl_replay *r, uint64_t offset, const char *why)
{
    add_limit(r, RPL_LIMIT_CUT, r->nrec, 0,
              "the trace file is cut at byte %" PRIu64 " (%s): the session's end is missing",
              offset, why ? why : "no END record");
}

int rpl_finish(rpl_replay *r)
{
    if (r->fatal)
        return r->fatal;
    if (!r->dev && r->nearly)
        ensure_dev(r);
    if (r->fatal)
        return r->fatal;
    r->cur = r->nrec;
    /* serviced interrupts still without their record: missing */
    bool at_end = false;
    svc_t last = {0};
    while (r->nsvc) {
        if (r->svc[0].suspect < 0) {
            at_end = true;
            last = r->svc[0];
        }
        svc_remove(r, 0, true);
    }
    for (unsigned i = 0; i < MAX_SUSPECTS; i++) {
        if (!r->sus[i].open)
            continue;
        suspect_close(r, (int)i, false); /* descriptors never rung: nothing ran */
    }
    if (r->sum.stopped) {
        flush_held(r, true);
        return 1; /* stopped early: the end of the trace was not replayed */
    }
    if (at_end) {
        rpl_divergence d;
        memset(&d, 0, sizeof d);
        d.index = r->nrec;
        d.seq = 0;
        const winrec *lw = &r->win[(r->nrec - 1) & (WIN - 1)];
        d.t_rel = r->nrec ? (lw->compact ? lw->c.ts : lw->r.ts) - r->t0 : 0;
        d.kind = RPL_DIV_IRQ_MISSING;
        d.at_end = true;
        d.after_loss = r->after_loss;
        d.n_context = ctx_capture(r, d.context, r->nrec);
        irq_missing_text(r, &d, &last, "the trace ends");
        emit(r, &d);
    } else if (r->owed && r->line) {
        note(r, NK_IRQ_END, RPL_LIMIT_UNVERIFIED,
             "the model's interrupt line raised at record %" PRIu64
             " was still raised when the trace ended",
             r->edge_index);
    }
    flush_held(r, true);
    return r->sum.stopped ? 1 : 0;
}

/* ---- passive engines (internal.h) ---------------------------------------------------- */

rpl_replay *rpl__new_passive(const rpl_opts *o, dmt_error *err)
{
    return rpl_new(o, err); /* the model is only created by rpl_feed's handlers */
}

void rpl__observe(rpl_replay *r, const dmt_record *rec)
{
    if (rec->kind == DMT_K_CHUNK || rec->kind == DMT_K_END)
        return;
    r->cur = r->nrec;
    r->rec = rec;
    if (r->nrec == 0)
        r->t0 = rec->ts;
    win_push(r, rec);
    r->nrec++;
    r->sum.records = r->nrec;
}

void rpl__diverge(rpl_replay *r, int kind, bool at_end, const char *subject, const char *expected,
                  const char *actual, const char *detail)
{
    if (r->sum.stopped)
        return;
    rpl_divergence d;
    if (at_end) {
        memset(&d, 0, sizeof d);
        d.index = r->nrec;
        d.kind = kind;
        d.at_end = true;
        d.n_context = ctx_capture(r, d.context, r->nrec);
    } else {
        r->cur = r->nrec ? r->nrec - 1 : 0;
        div_init(r, &d, kind);
    }
    set_subject(&d, "%s", subject);
    set_expected(&d, "%s", expected);
    set_actual(&d, "%s", actual);
    set_detail(&d, "%s", detail ? detail : "");
    keep(r, &d);
}

void rpl__limit(rpl_replay *r, int kind, uint64_t index, const char *text)
{
    add_limit(r, kind, index, 1, "%s", text);
}

bool rpl__stopped(const rpl_replay *r)
{
    return r->sum.stopped;
}

/* ---- lifecycle -------------------------------------------------------------------- */

rpl_replay *rpl_new(const rpl_opts *o, dmt_error *err)
{
    rpl_replay *r = calloc(1, sizeof *r);
    if (!r) {
        dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
        return NULL;
    }
    if (o)
        r->o = *o;
    if (!r->o.keep)
        r->o.keep = RPL_DEFAULT_KEEP;
    if (!r->o.all)
        r->o.keep = 1;
    if (!r->o.context)
        r->o.context = RPL_CONTEXT_RECORDS;
    if (r->o.context > RPL_MAX_CONTEXT)
        r->o.context = RPL_MAX_CONTEXT;
    if (!r->o.mem_limit)
        r->o.mem_limit = RPL_DEFAULT_MEM_LIMIT;
    r->devmem_all_known = true;
    r->tolerant = r->o.order != RPL_ORDER_STRICT;
    r->sum.strict_order = !r->tolerant;
    for (unsigned i = 0; i < NK_MAX_; i++)
        r->note_slot[i] = -1;
    for (unsigned i = 0; i < WIN; i++)
        r->win[i].index = UINT64_MAX;
    r->pm = dmm_phys_new();
    r->early = calloc(MAX_EARLY, sizeof *r->early);
    r->held = calloc(MAX_HELD, sizeof *r->held);
    r->known = calloc(DEVMEM_INTERVALS, sizeof *r->known);
    r->fetch_buf = malloc((size_t)DMM_MAX_DESC * DMM_DESC1_SIZE);
    bool ok = r->pm && r->early && r->held && r->known && r->fetch_buf &&
              rpl_idmap_init(&r->cbs, MAX_LIVE_CB) && rpl_idmap_init(&r->mdls, MAX_LIVE_MDL) &&
              rpl_idmap_init(&r->xfers, MAX_LIVE_XFER) &&
              rpl_idmap_init(&r->adapters, MAX_ADAPTERS);
    if (ok)
        ok = dmm_phys_set_limits(r->pm, DMM_PHYS_MAX_REGIONS, r->o.mem_limit) == DMM_OK;
    if (!ok) {
        rpl_free(r);
        dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
        return NULL;
    }
    dmm_config_default(&r->sum.model);
    return r;
}

void rpl_free(rpl_replay *r)
{
    if (!r)
        return;
    uint32_t pos = 0;
    void *v;
    if (r->xfers.vals)
        while ((v = rpl_idmap_next(&r->xfers, &pos, NULL)) != NULL)
            xfer_free(r, v);
    pos = 0;
    if (r->mdls.vals)
        while ((v = rpl_idmap_next(&r->mdls, &pos, NULL)) != NULL)
            mdl_free(r, v);
    pos = 0;
    if (r->cbs.vals)
        while ((v = rpl_idmap_next(&r->cbs, &pos, NULL)) != NULL)
            free(v);
    pos = 0;
    if (r->adapters.vals)
        while ((v = rpl_idmap_next(&r->adapters, &pos, NULL)) != NULL)
            free(v);
    arena_drop_cache(r);
    rpl_idmap_free(&r->cbs);
    rpl_idmap_free(&r->mdls);
    rpl_idmap_free(&r->xfers);
    rpl_idmap_free(&r->adapters);
    dmm_dev_free(r->dev);
    dmm_phys_free(r->pm);
    free(r->early);
    free(r->held);
    free(r->known);
    free(r->fetch_buf);
    free(r->kept);
    free(r);
}

const rpl_summary *rpl_get_summary(const rpl_replay *r)
{
    return &r->sum;
}

const rpl_divergence *rpl_divergence_at(const rpl_replay *r, uint64_t i)
{
    return i < r->sum.kept ? &r->kept[i] : NULL;
}

const rpl_limit *rpl_limit_at(const rpl_replay *r, uint64_t i)
{
    return i < r->sum.n_limits && i < RPL_MAX_LIMITS ? &r->limits[i] : NULL;
}

dmm_dev *rpl_model(rpl_replay *r)
{
    return r->dev;
}

dmm_phys *rpl_phys(rpl_replay *r)
{
    return r->pm;
}

uint64_t rpl_mem_used(const rpl_replay *r)
{
    return r->mem_used;
}

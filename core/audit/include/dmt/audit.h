/*
 * dmt/audit.h - the audit rules engine: DMA misuse and layout findings.
 *
 * A streaming pass over the records of a trace, in file order, with bounded
 * state (per adapter, MDL, transfer and common buffer, each table capped).
 * Each finding names a rule (a short kebab-case id with a severity and a
 * Driver Verifier mapping, see docs/audit-rules.md), the record where it was
 * detected and the other records involved.  A finding that lost records or a
 * tracking cap could have made wrong is marked uncertain, never dropped.
 *
 *   records --> dmt_audit_add --> object state (adapters, MDLs, transfers,
 *                    |              common buffers + their descriptor shadows)
 *                    |--> device model plug-in (dmt_audit_device): turns
 *                    |    register/interrupt records into doorbells and
 *                    |    completion signals, decodes descriptors
 *                    '--> rules --> sink(finding)
 *   dmt_audit_finish --> end-of-trace rules (leaks) --> sink
 *
 * Ownership: the engine owns its state; a finding passed to the sink is valid
 * only during the call.  The library never prints.
 */
#ifndef DMT_AUDIT_H
#define DMT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmt/error.h"
#include "dmt/record.h"

/* ---- rules ----------------------------------------------------------------- */

enum dmt_audit_severity { DMT_SEV_INFO = 0, DMT_SEV_WARNING = 1, DMT_SEV_ERROR = 2 };

/* Rule numbers: indexes into dmt_audit_rules().  Append only (ids are part of
 * the JSON output and of the store). */
enum dmt_audit_rule {
    DMT_R_SG_TOTAL_MISMATCH = 0,
    DMT_R_TRANSFER_EXCEEDS_MAX,
    DMT_R_TRANSFER_EXCEEDS_MAP_REGISTERS,
    DMT_R_STARTDMA_BEYOND_MDL,
    DMT_R_ADDR_BEYOND_LIMIT,
    DMT_R_SG_CROSS_4G,
    DMT_R_SG_ZERO_LENGTH,
    DMT_R_SG_OVERLAP,
    DMT_R_INFLIGHT_OVERLAP,
    DMT_R_PROG_MISMATCH,
    DMT_R_PROG_SKIPPED,
    DMT_R_PROG_DUPLICATE,
    DMT_R_PROG_RING_OUTSIDE_CB,
    DMT_R_STARTDMA_UNLOCKED_MDL,
    DMT_R_LOCK_OP_DIRECTION,
    DMT_R_COMPLETE_MISSING,
    DMT_R_COMPLETE_TWICE,
    DMT_R_COMPLETE_BEFORE_INTERRUPT,
    DMT_R_USE_AFTER_COMPLETE,
    DMT_R_LEAK_ADAPTER,
    DMT_R_LEAK_COMMON_BUFFER,
    DMT_R_LEAK_MDL,
    DMT_R_LEAK_SGLIST,
    DMT_R_ADAPTER_AFTER_PUT,
    DMT_R_CONCURRENT_ON_ADAPTER,
    DMT_R_CB_RELEASE_UNKNOWN,
    DMT_R_UNLOCK_UNKNOWN_MDL,
    DMT_R_COUNT_
};

typedef struct dmt_audit_rule_info {
    const char *id;      /* "sg-total-mismatch" */
    uint32_t severity;   /* enum dmt_audit_severity */
    const char *dv;      /* Driver Verifier DMA check ("3", "none - layout", ...) */
    const char *summary; /* one line: what the rule finds */
} dmt_audit_rule_info;

/* The rule table, DMT_R_COUNT_ entries in enum order. */
const dmt_audit_rule_info *dmt_audit_rules(void);
/* Rule number of an id, or -1. */
int dmt_audit_rule_by_id(const char *id);
/* "error", "warning", "info". */
const char *dmt_audit_severity_name(uint32_t severity);

/* Parse a --rules LIST into a rule mask (bit n = rule n enabled):
 * comma-separated ids or shell patterns ("prog-*", "all"); an item prefixed
 * with '-' removes rules.  A list whose first item removes starts from all
 * rules, otherwise from none.  Returns 0, or DMT_E_USAGE with err naming the
 * item that matches no rule. */
int dmt_audit_parse_rules(const char *list, uint64_t *mask, dmt_error *err);
#define DMT_AUDIT_ALL_RULES ((UINT64_C(1) << DMT_R_COUNT_) - 1)

/* ---- findings ---------------------------------------------------------------- */

#define DMT_AUDIT_MAX_REFS 4
#define DMT_AUDIT_NO_REF   UINT64_MAX

typedef struct dmt_finding {
    uint32_t rule;     /* enum dmt_audit_rule */
    uint32_t severity; /* the rule's severity */
    bool uncertain;    /* lost records or a tracking cap may have caused it */
    uint64_t index;    /* record index (as `dmatrace dump` counts) where it was found */
    uint64_t seq;      /* that record's sequence number */
    int64_t ts;        /* that record's time (ns) */
    uint32_t cpu;      /* that record's CPU (dmt_record.cpu; DMT_CPU_NONE: unknown) */
    /* objects involved (0 = none or unknown) */
    uint32_t dev, adapter, xfer, mdl, cb;
    /* sequence numbers of the records involved (the store's key; a LOST
     * range is named by its first sequence number), the detecting record's
     * included, ascending */
    uint32_t n_refs;
    uint64_t refs[DMT_AUDIT_MAX_REFS];
    char message[240];      /* one line, specific: addresses, lengths, element numbers */
    char uncertain_why[96]; /* when uncertain: "records lost at seq 812", ... */
} dmt_finding;

typedef void (*dmt_audit_sink)(void *user, const dmt_finding *f);

/* ---- device models ------------------------------------------------------------ */
/*
 * Device-specific knowledge lives behind this interface: how a device is
 * started (a doorbell naming a descriptor list in memory), how the driver
 * learns a run ended, how descriptors are laid out, and the device's real
 * address width.  The engine keeps the descriptor bytes the driver wrote into
 * common buffers (DESC_WRITE records) and hands them to decode().
 */
enum dmt_audit_dev_event_type {
    DMT_AEV_DOORBELL = 1, /* the device was started on a descriptor list */
    DMT_AEV_DONE = 2,     /* the driver saw channel `channel` finish (done or error) */
    DMT_AEV_STOP = 3      /* the channel was reset: whatever ran is abandoned */
};

typedef struct dmt_audit_dev_event {
    uint32_t type; /* enum dmt_audit_dev_event_type */
    uint32_t dev, channel;
    uint64_t ring_addr; /* DOORBELL: bus address of the first descriptor */
    uint32_t count;     /* DOORBELL: descriptors */
    uint32_t desc_size; /* DOORBELL: bytes per descriptor */
} dmt_audit_dev_event;

typedef void (*dmt_audit_dev_emit)(void *engine, const dmt_audit_dev_event *ev);

typedef struct dmt_audit_device {
    const char *name;
    void *(*create)(void); /* state, NULL on OOM */
    void (*destroy)(void *st);
    /* Observe one record (called for every record); report doorbells and
     * completion signals through emit(engine, ...). */
    void (*observe)(void *st, const dmt_record *r, dmt_audit_dev_emit emit, void *engine);
    /* True once the record stream identified dev as this device. */
    bool (*claims)(void *st, uint32_t dev);
    /* Decode one descriptor of dev (desc_size bytes); false when the bytes
     * are not a valid descriptor (out is then the best reading). */
    bool (*decode)(void *st, uint32_t dev, const uint8_t *bytes, dmt_sg_elem *out);
    /* Highest bus address dev can drive, UINT64_MAX when unknown. */
    uint64_t (*addr_limit)(void *st, uint32_t dev);
} dmt_audit_device;

/* The dmm engine of device-model/ (README there): descriptor revisions 1
 * and 2, DESC_LO/HI/COUNT + CTRL.RUN per channel. */
extern const dmt_audit_device dmt_audit_dev_dmm;

/* ---- the engine ------------------------------------------------------------------ */

/* Default caps (each table; 0 in the config means the default). */
#define DMT_AUDIT_DEF_TRANSFERS  4096u /* transfers tracked at once */
#define DMT_AUDIT_DEF_MDLS       4096u
#define DMT_AUDIT_DEF_ADAPTERS   256u
#define DMT_AUDIT_DEF_CBS        256u
#define DMT_AUDIT_DEF_SG_ELEMS   (1u << 20)   /* SG elements kept for in-flight transfers */
#define DMT_AUDIT_DEF_SHADOW_CBS 32u          /* common buffers whose descriptor bytes are kept */
#define DMT_AUDIT_SHADOW_BYTES   (128u << 10) /* bytes kept per common buffer (from offset 0) */
/* Two records made on different CPUs closer in time than this may have
 * happened in the other order (docs/audit-rules.md, "Records of several
 * CPUs"): a record is stamped after what it logs (ExecuteDma after its
 * list: 12 us for 1024 elements), CompleteDma before, and the CPUs'
 * counters may disagree by a few microseconds. */
#define DMT_AUDIT_DEF_CPU_ORDER_NS 20000

typedef struct dmt_audit_config {
    uint64_t rules; /* mask of enabled rules; 0 = all */
    /* The trace ends after the driver released its DMA resources (unload,
     * teardown test): adapters and common buffers still held at the end are
     * leaks.  Without it only transient objects (MDLs, SG lists) held at the
     * end are findings: PutDmaAdapter is optional while a driver is loaded. */
    bool end_is_unload;
    uint32_t max_transfers, max_mdls, max_adapters, max_cbs, max_sg_elems, max_shadow_cbs;
    /* The cross-CPU ordering uncertainty in ns: 0 = DMT_AUDIT_DEF_CPU_ORDER_NS,
     * negative = none (the order of the file is trusted). */
    int64_t cpu_order_ns;
    /* Device models, NULL-terminated; NULL = { &dmt_audit_dev_dmm }. */
    const dmt_audit_device *const *devices;
    dmt_audit_sink sink;
    void *user;
} dmt_audit_config;

typedef struct dmt_audit_stats {
    uint64_t records;          /* records seen */
    int64_t first_ts;          /* time of the first record (findings' times are relative to it) */
    uint64_t transfers;        /* StartDma or ExecuteDma seen */
    uint64_t executed;         /* ExecuteDma seen */
    uint64_t doorbells;        /* device starts seen (device models) */
    uint64_t programs_checked; /* doorbells compared with an SG list */
    uint64_t programs_unverified; /* doorbells whose descriptors were not in the trace */
    uint64_t lost_records, lost_ranges;
    uint64_t findings, uncertain;
    uint64_t by_rule[DMT_R_COUNT_];
    uint64_t evicted;          /* objects dropped because a cap was reached */
    uint64_t checks_truncated; /* in-flight overlap checks cut short by their work limit */
    /* held at the end (after dmt_audit_finish) */
    uint32_t held_adapters, held_cbs, held_mdls, held_sglists;
    bool cut; /* the trace ended without its END record */
} dmt_audit_stats;

typedef struct dmt_audit dmt_audit;

/* A new engine, or NULL on OOM.  cfg is copied. */
dmt_audit *dmt_audit_new(const dmt_audit_config *cfg);
void dmt_audit_free(dmt_audit *a);
/* Feed the next record; index is its record index (framing excluded, LOST
 * included, as the reader counts).  Records must come in file order.
 * CHUNK/END records are ignored.  Returns 0 or DMT_E_NOMEM. */
int dmt_audit_add(dmt_audit *a, const dmt_record *r, uint64_t index);
/* The trace ended (cut = it ended without its END record, which makes the
 * end-of-trace findings uncertain).  Runs the end-of-trace rules. */
int dmt_audit_finish(dmt_audit *a, bool cut);
const dmt_audit_stats *dmt_audit_get_stats(const dmt_audit *a);

/* Audit a trace file (.dmat) or a database imported from one (.db, through
 * the store's record iterator) from start to end; a trace cut by a crash is
 * read to its last whole record (stats->cut).  Findings go to cfg->sink;
 * *stats (may be NULL) gets the totals.  Returns 0 or a negative DMT_E* with
 * err set. */
int dmt_audit_file(const char *path, const dmt_audit_config *cfg, dmt_audit_stats *stats,
                   dmt_error *err);

/* Replace the rows of the findings table of database `path` (schema/
 * store.sql) with f[0..n), in one transaction: all or nothing.  The only
 * place that writes findings SQL. */
int dmt_audit_store_findings(const char *path, const dmt_finding *f, size_t n, dmt_error *err);

/* Add f[0..n) to the findings of a store being appended (dmt/store.h), ids
 * first_id, first_id + 1, ..., in its current batch: they are committed
 * with the batch's records (the viewer's follow mode).  Call it after
 * dmt_store_append_begin and before dmt_store_append_commit. */
struct dmt_store_appender;
int dmt_audit_append_findings(struct dmt_store_appender *a, const dmt_finding *f, size_t n,
                              int64_t first_id, dmt_error *err);

#endif

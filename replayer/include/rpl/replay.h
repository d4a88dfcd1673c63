/*
 * rpl/replay.h - the replay engine: feed a recorded session, record by
 * record, into a fresh device model (dmm) and check every observable the
 * trace holds against what the model does.
 *
 * What the engine does with each record (replayer/README.md has the table):
 *   memory      COMMON_ALLOC maps an owned range, DESC_WRITE writes into it;
 *               EXECUTE_DMA maps the transfer's SG elements onto a buffer the
 *               engine fills from the MDL's PATTERN / PAYLOAD records;
 *               COMPLETE_DMA / BUFFER_UNLOCK unmap them
 *   registers   REG_WRITE* go to dmm_reg_write in order; REG_READ* are
 *               compared with dmm_reg_read
 *   interrupts  the model's interrupt line is followed and matched with the
 *               trace's claimed INTERRUPT records
 *   data        DIGEST records are compared with the digest of the bytes the
 *               model moved (to-device) or wrote (from-device)
 *   programming the descriptors of a DESC_WRITE and the ring registers
 *               (DESC_LO/HI/COUNT) are checked against the transfer's SG list
 *               and granted length as they arrive
 *   loss        LOST records become limits; checks that a loss may have
 *               falsified are counted as unverified, not as divergences
 *
 * Usage: rpl_new, rpl_feed for every record in order, rpl_finish, then
 * rpl_summary / rpl_divergence_at / the report helpers (rpl/report.h);
 * rpl_free.  rpl_replay_file does all of it for a .dmat or .db path.
 *
 * Ownership: the engine owns the model, its memory and copies of what it
 * needs from records (records themselves are borrowed for the duration of
 * rpl_feed).  Divergences are kept by the engine (up to opts.keep) and
 * handed out as const pointers valid until rpl_free.  The engine never
 * prints.  Not thread-safe: one engine per thread.
 *
 * Hostile input: every allocation is bounded by opts.mem_limit (model
 * memory, buffers, payload copies together) and fixed table sizes; a trace
 * that needs more stops the replay with DMT_E_FORMAT naming the record.
 * The model itself only touches memory registered in its dmm_phys.
 */
#ifndef RPL_REPLAY_H
#define RPL_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmm/dmm.h"
#include "dmt/error.h"
#include "dmt/record.h"

#define RPL_DEFAULT_MEM_LIMIT (1ull << 30) /* bytes the replay may map */
#define RPL_CONTEXT_RECORDS   5u           /* records shown before a divergence */
#define RPL_MAX_CONTEXT       16u
#define RPL_DEFAULT_KEEP      1000u /* divergences kept in detail with --all */
#define RPL_TEXT              320u  /* bytes of one text field */

/* What kind of check failed.  Values are part of the JSON output. */
enum rpl_div_kind {
    RPL_DIV_REG_READ = 1,    /* a register read returned another value */
    RPL_DIV_IRQ_MISSING = 2, /* the model raised an interrupt the trace does not show */
    RPL_DIV_IRQ_UNEXPECTED,  /* the trace shows a claimed interrupt the model never raised */
    RPL_DIV_DIGEST,          /* the data moved differs from the trace's digest */
    RPL_DIV_SG,              /* an SG list inconsistent with its transfer (lengths, limits) */
    RPL_DIV_DESCRIPTOR,      /* descriptors that do not describe the transfer's SG list */
    RPL_DIV_PROGRAM,         /* a ring register written with a value the descriptors contradict */
    RPL_DIV_DRIVER,          /* driver mode: the re-run driver did something else */
    RPL_DIV_KIND_MAX_
};
const char *rpl_div_kind_name(int kind); /* "reg_read", ... ; "?" when unknown */

/* One record of the context window, as text. */
typedef struct rpl_ctx_line {
    uint64_t index, seq;
    int64_t t_rel; /* ns since the first record */
    char text[RPL_TEXT];
} rpl_ctx_line;

typedef struct rpl_divergence {
    uint64_t index; /* record index (0 = first record, framing excluded) */
    uint64_t seq;
    int64_t t_rel; /* ns since the first record */
    int kind;      /* enum rpl_div_kind */
    uint32_t record_kind;
    bool after_loss;         /* records were lost earlier in the trace */
    bool at_end;             /* found at the end of the trace (index = records) */
    char subject[RPL_TEXT];  /* "reg_read dev=0 off=0x104" */
    char expected[RPL_TEXT]; /* "0x2" (what the trace says) */
    char actual[RPL_TEXT];   /* "0x6" (what the model / driver did) */
    char detail[RPL_TEXT];   /* "STATUS: DONE|ERR code 2 ADDR_LIMIT", may be "" */
    unsigned n_context;
    rpl_ctx_line context[RPL_MAX_CONTEXT]; /* oldest first */
} rpl_divergence;

/* A limit on what the replay could check. Values are part of the JSON output. */
enum rpl_limit_kind {
    RPL_LIMIT_LOST = 1,     /* records lost in the trace */
    RPL_LIMIT_UNVERIFIED,   /* checks that disagreed where a loss makes them unprovable */
    RPL_LIMIT_NO_CONTENT,   /* buffer contents not in the trace: digests not checkable */
    RPL_LIMIT_UNMAPPED,     /* a range the trace asked for could not be mapped */
    RPL_LIMIT_UNKNOWN_ID,   /* a record refers to an id the trace never introduced */
    RPL_LIMIT_DEVICE,       /* accesses to a device the model does not stand for */
    RPL_LIMIT_CUT,          /* the trace file was cut (no END record) */
    RPL_LIMIT_CONFIG,       /* the model configuration could not be taken from the trace */
    RPL_LIMIT_REORDER,      /* reads that reached the device before writes logged ahead of them */
    RPL_LIMIT_NOT_VERIFIED, /* bytes a transfer moved that its digest does not cover
                               (digest policy bounded or off) */
    RPL_LIMIT_KIND_MAX_
};
const char *rpl_limit_kind_name(int kind);

#define RPL_MAX_LIMITS 64u /* limit entries kept; further ones are only counted */

typedef struct rpl_limit {
    int kind;                     /* enum rpl_limit_kind */
    uint64_t index;               /* first record concerned */
    uint64_t count;               /* records / checks / ranges concerned */
    uint64_t first_seq, last_seq; /* LOST: the lost sequence range */
    char text[RPL_TEXT];
} rpl_limit;

/* The register map that names registers and fields in reports (rmap/regmap.h,
 * domain index `domain`); map NULL: the device model's compiled-in names
 * (dmm/map.h, which a test keeps equal to device-model/dmm.xml).  The map
 * is the caller's and must outlive the replay (or the diff result). */
struct rmap;
typedef struct rpl_regmap {
    const struct rmap *map;
    size_t domain;
} rpl_regmap;

typedef struct rpl_opts {
    /* Model configuration.  By default it is taken from the trace (the first
     * reads of ID, CAPS and DEVMEM_SIZE before the first register write) and
     * falls back to dmm_config_default; each set_* overrides one field. */
    bool set_revision, set_errata, set_addr_bits, set_devmem;
    uint32_t revision, errata, addr_bits;
    uint64_t devmem_size;

    /* Record order.  A probe logs a write before the access and a read after
     * it, so in a trace of several CPUs a read may have reached the device
     * before a write another CPU logged just ahead of it.  RPL_ORDER_CPUS
     * accepts such a read when its value is the register's value before one
     * of the last writes (within 32 records); RPL_ORDER_STRICT never does;
     * RPL_ORDER_AUTO is strict for traces whose header clock is
     * "deterministic" (single-threaded captures) and CPUS otherwise. */
    int order;

    bool all;           /* keep going after the first divergence */
    unsigned keep;      /* divergences kept in detail (0 = RPL_DEFAULT_KEEP) */
    unsigned context;   /* context records per divergence (0 = RPL_CONTEXT_RECORDS) */
    uint64_t mem_limit; /* 0 = RPL_DEFAULT_MEM_LIMIT */
    rpl_regmap names;   /* register and field names in reports */
} rpl_opts;

void rpl_opts_default(rpl_opts *o);

typedef struct rpl_summary {
    uint64_t records;     /* records fed (framing excluded) */
    uint64_t divergences; /* all of them, kept or not */
    uint64_t kept;        /* in detail (rpl_divergence_at) */
    /* checks made, by observable */
    uint64_t reg_reads, reg_writes, interrupts, digests, sg_lists, descriptors, program_checks;
    uint64_t runs;              /* doorbells the model accepted */
    uint64_t digest_bytes;      /* bytes of transfers their DIGEST records cover */
    uint64_t digest_unverified; /* bytes of transfers their DIGEST records leave out
                                   (bounded or off policy): not verified */
    uint64_t sg_elements;       /* SG elements mapped */
    uint64_t unverified;        /* checks that disagreed inside a loss window */
    uint64_t reordered;         /* reads accepted as served before a write logged ahead of them */
    bool strict_order;          /* the order rule in force (see rpl_opts.order) */
    uint64_t lost_records;
    uint64_t n_limits;     /* limit entries (kept up to RPL_MAX_LIMITS) */
    bool stopped;          /* stopped at the first divergence (not --all) */
    dmm_config model;      /* the configuration the model ran with */
    bool model_from_trace; /* some of it came from the trace's ID/CAPS reads */
} rpl_summary;

enum rpl_order { RPL_ORDER_AUTO = 0, RPL_ORDER_STRICT = 1, RPL_ORDER_CPUS = 2 };

typedef struct rpl_replay rpl_replay;

/* Create an engine (the model is created at the first record that needs
 * it).  NULL on OOM with err filled. */
rpl_replay *rpl_new(const rpl_opts *o, dmt_error *err);
void rpl_free(rpl_replay *r);

/* The trace's header (optional; before the first record): the order rule
 * of RPL_ORDER_AUTO follows its clock. */
void rpl_set_header(rpl_replay *r, const dmt_header *hdr);

/* Feed the next record (rec->kind must not be CHUNK/END).  Returns 0 to go
 * on, 1 when the engine stopped (first divergence and not opts.all), or a
 * negative DMT_E* for input the engine refuses (limits), with err naming the
 * record index. */
int rpl_feed(rpl_replay *r, const dmt_record *rec, dmt_error *err);
/* Tell the engine the trace file was cut at byte offset (a limit). */
void rpl_note_cut(rpl_replay *r, uint64_t offset, const char *why);
/* End of input: resolves pending interrupt checks.  Returns 0, 1 (stopped),
 * or a negative DMT_E* when the model the trace configures cannot be built
 * (e.g. DMT_E_FORMAT: its memory exceeds the limit); the message is in the
 * err of the last rpl_feed. */
int rpl_finish(rpl_replay *r);

const rpl_summary *rpl_get_summary(const rpl_replay *r);
const rpl_divergence *rpl_divergence_at(const rpl_replay *r, uint64_t i); /* i < kept */
const rpl_limit *rpl_limit_at(const rpl_replay *r, uint64_t i); /* i < min(n_limits, 64) */

/* The model (NULL before the first record that needs it); for tests. */
dmm_dev *rpl_model(rpl_replay *r);
dmm_phys *rpl_phys(rpl_replay *r);
/* Bytes of memory the replay currently holds for the trace. */
uint64_t rpl_mem_used(const rpl_replay *r);

/* Decode a register value of the model for a report: "STATUS: DONE|ERR code
 * 2 ADDR_LIMIT index 0".  bar_off is the offset in the BAR.  Returns the
 * length written (0 and "" for registers without fields). */
size_t rpl_explain_reg(char *buf, size_t cap, uint32_t bar_off, uint64_t value);
/* Name of a model error code ("ADDR_LIMIT"), "?" when unknown. */
const char *rpl_dmm_err_name(uint32_t code);

/* Parse an erratum name ("4g-wrap", "len-round", "addr-trunc", "all") or a
 * number into DMM_ERRATUM_* bits; false when unknown. */
bool rpl_parse_erratum(const char *s, uint32_t *bits);
/* "4g-wrap,len-round" or "none". */
const char *rpl_errata_names(uint32_t bits, char *buf, size_t cap);

/* ---- whole files ------------------------------------------------------ */

/* Replay the trace at path (.dmat, or .db; records from dmt/source.h) into
 * *out (created here; caller frees with rpl_free, also on failure when
 * *out != NULL).  Returns 0 (replayed; see the summary for divergences) or a
 * negative DMT_E* from reading or from the engine. */
int rpl_replay_file(const char *path, const rpl_opts *o, rpl_replay **out, dmt_error *err);

#endif

/*
 * session.h - hand-built but realistic sessions for the replayer's tests.
 *
 * A builder drives its own dmm model exactly as the dmtmini driver does
 * (descriptors written into a common buffer ring, DESC_LO/HI, DESC_COUNT,
 * the CTRL doorbell last, an ISR that reads IRQ_STATUS, acknowledges it,
 * reads and acknowledges the channel STATUS, a DPC that completes the
 * transfer) and writes the records a probe would log, with the values its
 * model returned - so a correct replayer finds 0 divergences.  Faults can be
 * planted in the "driver" part.  Also: loading a trace into memory (deep
 * copies) and writing a mutated copy back.
 */
#ifndef RPL_TEST_SESSION_H
#define RPL_TEST_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmm/dmm.h"
#include "dmt/record.h"
#include "rpl/replay.h"

#define SESS_DEV      1u           /* device id of the register range */
#define SESS_BAR      0xFE000000u  /* bus address of the BAR */
#define SESS_RING0    0x3000000ull /* ring of channel 0 (common buffer 1) */
#define SESS_RING1    0x3040000ull /* ring of channel 1 (common buffer 2) */
#define SESS_RING_LEN 0x20000ull

/* Driver faults the builder can plant in one transfer's programming. */
enum {
    SF_SKIP_LAST = 1,   /* last element of a multi-element list not programmed */
    SF_DUP_FIRST = 2,   /* first element programmed twice */
    SF_LEN_PLUS1 = 4,   /* last descriptor one byte too long */
    SF_ADDR_TRUNC = 8,  /* descriptor host addresses truncated to 32 bits */
    SF_COUNT_PLUS1 = 16 /* DESC_COUNT one more than written */
};

typedef struct sess sess;

/* Start a session at path with the device configuration cfg (NULL:
 * defaults).  The header's producer is "test-session". */
sess *sess_open(const char *path, const dmm_config *cfg);
/* One transfer on channel ch (0 to device, 1 from device) of the buffer
 * described by sg (its elements are mapped as the buffer's pages, filled
 * with the XS64 pattern of seed), device offset dev_off, planting faults.
 * Returns the xfer id. */
uint32_t sess_xfer(sess *s, unsigned ch, const dmt_sg_elem *sg, uint32_t n, uint64_t dev_off,
                   uint64_t seed, unsigned faults);
/* The DIGEST algorithm the builder's "probe" logs (enum dmt_digest_algo;
 * DMT_DIGEST_DMT64 unless a test changes it). */
extern uint32_t sess_digest_algo;
/* The digest policy it logs (enum dmt_digest_policy; FULL unless a test
 * changes it): BOUNDED digests and records dmt_digest_bounded_ranges. */
extern uint32_t sess_digest_policy;
/* A planted corruption: the byte at this offset of every buffer is flipped
 * in what the "probe" digests (the real buffer differed from its PATTERN);
 * UINT64_MAX (the default) for none. */
extern uint64_t sess_corrupt_at;
/* A MARKER record. */
void sess_marker(sess *s, const char *text);
/* Finish (releases, END).  Returns 0 or a negative DMT_E*. */
int sess_close(sess *s);
/* Records written so far. */
uint64_t sess_records(const sess *s);

/* A whole trace in memory. */
typedef struct recs {
    dmt_header hdr;
    dmt_record *r;
    size_t n, cap;
} recs;

int recs_load(const char *path, recs *out);       /* 0 or negative */
int recs_write(const char *path, const recs *in); /* 0 or negative */
void recs_free(recs *rs);
/* Remove record i / insert a copy of *r before i (deep copies). */
void recs_remove(recs *rs, size_t i);
void recs_insert(recs *rs, size_t i, const dmt_record *r);
/* Index of the k-th (0-based) record matching kind (and, if off != UINT64_MAX,
 * register offset), or SIZE_MAX. */
size_t recs_find(const recs *rs, uint32_t kind, uint64_t off, unsigned k);
/* Make the variable parts of r (sg_list, values, bytes) writable copies. */
void recs_own(dmt_record *r);

/* Write to the test path name (out holds 512 bytes) a copy of base in which
 * edit has changed one record: edit is offered the records from the middle
 * of base on, until it returns an index other than SIZE_MAX.  Returns that
 * index (SIZE_MAX if edit changed nothing). */
size_t recs_mutate(const char *base, const char *name, char *out,
                   size_t (*edit)(recs *rs, size_t i, void *user), void *user);

/* The start of a test's replay: options (all as asked), no result yet, a
 * cleared error. */
typedef struct sess_replay {
    rpl_opts o;
    rpl_replay *r;
    dmt_error err;
} sess_replay;
void sess_replay_init(sess_replay *x, bool all);

/* r (if not NULL) replayed a capture with a driver of another descriptor
 * layout: its first divergence is the driver's first DESC_WRITE, at first_desc,
 * the descriptor magic told apart. */
void expect_layout_divergence(const rpl_replay *r, size_t first_desc);

/* The scenarios a replay test captures each of. */
#define SESS_N_SCENARIOS 4
extern const char *const sess_scenarios[SESS_N_SCENARIOS];

/* A standard two-channel session with n_xfers transfers of varied SG
 * layouts (aligned, unaligned, multi-page, single element), alternating
 * channels.  Returns 0 or negative. */
int sess_standard(const char *path, const dmm_config *cfg, unsigned n_xfers, uint64_t seed);

/* The text report of r on stderr (a failed test shows what it got). */
void sess_show_report(const rpl_replay *r);

/* Is s one well-formed JSON value (and nothing else)? */
bool json_valid(const char *s);

/* A temporary directory for a test (created once). */
const char *test_tmpdir(void);
void test_path(char *out, size_t cap, const char *name);

#endif

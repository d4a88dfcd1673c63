/*
 * internal.h - helpers shared by the replayer's sources (not installed):
 * a bounded string builder, a fixed-capacity u32 -> pointer map, the fast
 * XS64 pattern fill and register names.
 */
#ifndef RPL_INTERNAL_H
#define RPL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dmt/digest.h"
#include "dmt/idmap.h"
#include "rpl/replay.h"

/* ---- bounded string builder: never overflows, always NUL-terminated ---- */
typedef struct rpl_sb {
    char *p;
    size_t cap, n;
} rpl_sb;
void rpl_sb_init(rpl_sb *b, char *buf, size_t cap);
void rpl_sb_put(rpl_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "CH0.STATUS", "IRQ_STATUS", or "" (returns 0) for an undecoded offset. */
size_t rpl_reg_name(char *buf, size_t cap, uint32_t off);

/* The same with the map of n when it has one ("CH[0].STATUS"), else the
 * compiled-in names above. */
size_t rpl_map_name(const rpl_regmap *n, char *buf, size_t cap, uint32_t off);
/* A value of the register at off as the map decodes it ("CH[0].STATUS=0x6
 * {DONE, ERR}"), else rpl_explain_reg.  Returns 0 when nothing is known. */
size_t rpl_map_explain(const rpl_regmap *n, char *buf, size_t cap, uint32_t off, uint64_t v);
/* With a map: the fields in which want and got differ, by name ("ERR
 * 1->0, CODE ADDR_LIMIT->NONE"); 0 without a map or a register there. */
size_t rpl_map_delta(const rpl_regmap *n, char *buf, size_t cap, uint32_t off, uint64_t want,
                     uint64_t got);

/* ---- u32 id -> pointer map ---------------------------------------------
 * dmt_idmap (dmt/idmap.h) holding pointers: the whole table is allocated at
 * creation, so a hostile trace cannot make it grow: rpl_idmap_put fails
 * when n reaches max_live.  The map never owns what its values point to. */
typedef dmt_idmap rpl_idmap;

bool rpl_idmap_init(rpl_idmap *m, uint32_t max_live); /* capacity = 2 * max_live rounded up */
void rpl_idmap_free(rpl_idmap *m);
void *rpl_idmap_get(const rpl_idmap *m, uint32_t key);
/* Insert or replace; false when full (n == max_live) or val == NULL. */
bool rpl_idmap_put(rpl_idmap *m, uint32_t key, void *val);
/* Remove and return the value, or NULL. */
void *rpl_idmap_del(rpl_idmap *m, uint32_t key);
/* Iterate: *pos starts at 0; returns the next value or NULL at the end. */
void *rpl_idmap_next(const rpl_idmap *m, uint32_t *pos, uint32_t *key);

/* ---- the device configuration a trace shows -----------------------------
 * A 32-bit read of ID (descriptor revision), CAPS (address bits, errata) or
 * DEVMEM_SIZE sets those fields of c; false, c untouched, for another
 * register or a value the model cannot have (replay.c). */
bool rpl__config_from_read(uint32_t bar, uint64_t v, dmm_config *c);

/* ---- passive engines (driver mode) ---------------------------------------
 * An engine that keeps only the record window and the divergence list, so
 * another checker can report divergences with the same context and
 * formats.  rpl__observe takes the next record (borrowed for the call);
 * rpl__diverge adds a divergence at the record observed last (or at the
 * end with at_end); both respect opts.all/keep like the model checks. */
rpl_replay *rpl__new_passive(const rpl_opts *o, dmt_error *err);
void rpl__observe(rpl_replay *r, const dmt_record *rec);
void rpl__diverge(rpl_replay *r, int kind, bool at_end, const char *subject, const char *expected,
                  const char *actual, const char *detail);
void rpl__limit(rpl_replay *r, int kind, uint64_t index, const char *text);
bool rpl__stopped(const rpl_replay *r);

#endif

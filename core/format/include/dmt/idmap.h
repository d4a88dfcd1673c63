/*
 * dmt/idmap.h - the one id -> value hash map of the tools: the audit's object
 * tables, the store's lane and transfer indexes and the replayer's live
 * objects all keep their ids in it.
 *
 * A key is a pair of 64-bit words (a, b); most callers key by one id and
 * pass b = 0.  A value is any 64-bit number but DMT_IDMAP_NONE (an index
 * into the caller's array, or a pointer as uintptr_t).
 *
 * Capacity is the caller's: dmt_idmap_init fixes the most live entries the
 * map will ever hold (max_live); a put beyond that fails, so a hostile trace
 * with ever new ids cannot make the map grow past what the caller allowed.
 * The table may start smaller (reserve) and doubles on demand up to the size
 * max_live needs.
 *
 * The map owns its arrays; the values are the caller's (freeing the map
 * frees nothing they point to).  Not thread-safe.
 */
#ifndef DMT_IDMAP_H
#define DMT_IDMAP_H

#include <stdbool.h>
#include <stdint.h>

#define DMT_IDMAP_NONE     UINT64_MAX /* "no value": get/del/next of nothing */
#define DMT_IDMAP_MAX_LIVE (1u << 29) /* largest max_live (a 2^30-slot table) */

typedef struct dmt_idmap_slot {
    uint64_t a, b; /* the key */
    uint64_t v;    /* value + 1; 0 = empty (a zeroed table is empty) */
} dmt_idmap_slot;

typedef struct dmt_idmap {
    dmt_idmap_slot *slots; /* NULL while there is no table */
    uint32_t mask;         /* slots - 1; 0 while there is no table */
    uint32_t n;            /* live entries */
    uint32_t max_live;     /* the caller's cap on n */
} dmt_idmap;

/* Prepare m for at most max_live entries (1 .. DMT_IDMAP_MAX_LIVE), with a
 * table for `reserve` of them allocated now (0: at the first put; reserve
 * = max_live: the whole table, so puts never allocate).  A zero-filled
 * dmt_idmap is an empty map that get, del, next and free accept.  False on
 * a bad argument or when the allocation fails (m is then empty). */
bool dmt_idmap_init(dmt_idmap *m, uint32_t max_live, uint32_t reserve);
/* Free the table; m is zero-filled afterwards. */
void dmt_idmap_free(dmt_idmap *m);

/* The value of key (a, b), or DMT_IDMAP_NONE. */
uint64_t dmt_idmap_get(const dmt_idmap *m, uint64_t a, uint64_t b);
/* Insert or replace.  0, DMT_E_USAGE (v is DMT_IDMAP_NONE), DMT_E_FORMAT
 * (a new key while max_live entries are live) or DMT_E_NOMEM (growing the
 * table failed; the map is unchanged). */
int dmt_idmap_put(dmt_idmap *m, uint64_t a, uint64_t b, uint64_t v);
/* Remove key (a, b); its value, or DMT_IDMAP_NONE when absent. */
uint64_t dmt_idmap_del(dmt_idmap *m, uint64_t a, uint64_t b);
/* Iterate in slot order: *pos starts at 0; the next value (its key in *a,
 * *b when not NULL), or DMT_IDMAP_NONE at the end.  The order is fixed by
 * the keys, max_live and the history of puts and deletions; deleting
 * during an iteration may skip or repeat entries. */
uint64_t dmt_idmap_next(const dmt_idmap *m, uint32_t *pos, uint64_t *a, uint64_t *b);

#endif

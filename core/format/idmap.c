/*
 * idmap.c - dmt_idmap (dmt/idmap.h): open addressing with linear probing
 * and backward-shift deletion over power-of-two arrays.
 *
 * Invariants:
 *  1. slots (mask + 1) is a power of two >= 16 and >= 2 * n: the table is at
 *     most half full, so every probe run ends at an empty slot.  The table
 *     never exceeds slots_for(max_live), the smallest such size for the
 *     caller's cap; puts of new keys fail once n == max_live.
 *  2. No tombstones: an entry sits in its home slot or further along an
 *     unbroken run of full slots that starts at or before its home
 *     (cyclically).  A lookup may therefore stop at the first empty slot.
 *  3. Deletion keeps 2 by shifting back: after emptying slot `hole`, each
 *     later entry j of the run whose home is not in (hole, j] (it could have
 *     sat in the hole) moves there, and its old slot becomes the hole.
 *
 *        home(B) = home(C) = 3, home(D) = 5; delete B:
 *
 *        slot   3   4   5   6   7          3   4   5   6   7
 *             [ B | C | D |   |   ]  ->  [ C |   | D |   |   ]
 *                                          C moves to 3 (its home);
 *                                          D stays: 5 is in (4, 5]
 *
 * A slot holds its key pair and value together (24 bytes), so a probe
 * touches one cache line per slot, not one in each of three arrays.
 *
 * The home slot of (a, b) is the 32-bit multiplicative hash of a ^ fold(b,
 * a's high word); for a small id and b = 0 that is the id itself hashed, the
 * function the replayer's map always used, so its iteration order (slot
 * order) is unchanged.
 */
#include "dmt/idmap.h"

#include <stdlib.h>
#include <string.h>

#include "dmt/error.h"

#define MIN_SLOTS 16u

static uint32_t slots_for(uint32_t live)
{
    uint32_t s = MIN_SLOTS;
    while (s < 2u * live)
        s <<= 1;
    return s;
}

static uint32_t home(uint32_t mask, uint64_t a, uint64_t b)
{
    uint64_t fold = (a >> 32) * 0x9E3779B97F4A7C15ull + b * 0xC2B2AE3D27D4EB4Full;
    uint32_t h = ((uint32_t)a ^ (uint32_t)(fold >> 32)) * 0x9E3779B1u;
    h ^= h >> 15;
    return h & mask;
}

/* The slot holding (a, b), or the empty slot ending its probe run. */
static uint32_t find(const dmt_idmap *m, uint64_t a, uint64_t b)
{
    uint32_t i = home(m->mask, a, b);
    while (m->slots[i].v && (m->slots[i].a != a || m->slots[i].b != b))
        i = (i + 1) & m->mask;
    return i;
}

/* A table of `slots` slots holding m's entries (m's table is freed). */
static bool rehash(dmt_idmap *m, uint32_t slots)
{
    dmt_idmap t = {calloc(slots, sizeof(dmt_idmap_slot)), slots - 1, m->n, m->max_live};
    if (!t.slots)
        return false;
    for (uint32_t i = 0; m->slots && i <= m->mask; i++) {
        if (!m->slots[i].v)
            continue;
        t.slots[find(&t, m->slots[i].a, m->slots[i].b)] = m->slots[i];
    }
    free(m->slots);
    *m = t;
    return true;
}

bool dmt_idmap_init(dmt_idmap *m, uint32_t max_live, uint32_t reserve)
{
    memset(m, 0, sizeof *m);
    if (max_live == 0 || max_live > DMT_IDMAP_MAX_LIVE || reserve > max_live)
        return false;
    m->max_live = max_live;
    if (reserve && !rehash(m, slots_for(reserve))) {
        memset(m, 0, sizeof *m);
        return false;
    }
    return true;
}

void dmt_idmap_free(dmt_idmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

uint64_t dmt_idmap_get(const dmt_idmap *m, uint64_t a, uint64_t b)
{
    if (!m->slots)
        return DMT_IDMAP_NONE;
    const dmt_idmap_slot *e = &m->slots[find(m, a, b)];
    return e->v ? e->v - 1 : DMT_IDMAP_NONE;
}

int dmt_idmap_put(dmt_idmap *m, uint64_t a, uint64_t b, uint64_t v)
{
    if (v == DMT_IDMAP_NONE)
        return DMT_E_USAGE;
    uint32_t i = m->slots ? find(m, a, b) : 0;
    if (m->slots && m->slots[i].v) {
        m->slots[i].v = v + 1;
        return 0;
    }
    if (m->n >= m->max_live)
        return DMT_E_FORMAT;
    uint32_t slots = m->slots ? m->mask + 1 : 0;
    if (2u * (m->n + 1) > slots) {
        uint32_t want =
            slots ? slots * 2 : MIN_SLOTS; /* within slots_for(max_live): n < max_live */
        if (!rehash(m, want))
            return DMT_E_NOMEM;
        i = find(m, a, b);
    }
    m->slots[i] = (dmt_idmap_slot){a, b, v + 1};
    m->n++;
    return 0;
}

uint64_t dmt_idmap_del(dmt_idmap *m, uint64_t a, uint64_t b)
{
    if (!m->slots)
        return DMT_IDMAP_NONE;
    uint32_t hole = find(m, a, b);
    if (!m->slots[hole].v)
        return DMT_IDMAP_NONE;
    uint64_t v = m->slots[hole].v - 1;
    m->slots[hole].v = 0;
    m->n--;
    for (uint32_t j = (hole + 1) & m->mask; m->slots[j].v; j = (j + 1) & m->mask) {
        uint32_t h = home(m->mask, m->slots[j].a, m->slots[j].b);
        bool stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j);
        if (stays)
            continue;
        m->slots[hole] = m->slots[j];
        m->slots[j].v = 0;
        hole = j;
    }
    return v;
}

uint64_t dmt_idmap_next(const dmt_idmap *m, uint32_t *pos, uint64_t *a, uint64_t *b)
{
    for (uint32_t i = *pos; m->slots && i <= m->mask; i++) {
        if (m->slots[i].v) {
            *pos = i + 1;
            if (a)
                *a = m->slots[i].a;
            if (b)
                *b = m->slots[i].b;
            return m->slots[i].v - 1;
        }
    }
    *pos = m->slots ? m->mask + 1 : 0;
    return DMT_IDMAP_NONE;
}

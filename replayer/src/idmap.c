/*
 * idmap.c - rpl_idmap, the fixed-capacity u32 -> pointer map the replayer
 * keeps its common buffers, MDLs, transfers and adapters in (internal.h).
 *
 * Invariants: capacity = mask + 1 is a power of two >= 2 * max_live, so the
 * table is at most half full and every probe sequence ends at an empty
 * slot; an entry is never further from its home slot than the run of full
 * slots before it (backward-shift deletion keeps that, no tombstones).
 */
#include <stdlib.h>

#include "internal.h"

static uint32_t home(const rpl_idmap *m, uint32_t k)
{
    uint32_t h = k * 0x9E3779B1u;
    h ^= h >> 15;
    return h & m->mask;
}

bool rpl_idmap_init(rpl_idmap *m, uint32_t max_live)
{
    uint32_t cap = 16;
    while (cap < 2u * max_live && cap < (1u << 30))
        cap <<= 1;
    m->mask = cap - 1;
    m->n = 0;
    m->max_live = max_live;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = calloc(cap, sizeof *m->vals);
    if (!m->keys || !m->vals) {
        rpl_idmap_free(m);
        return false;
    }
    return true;
}

void rpl_idmap_free(rpl_idmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->n = 0;
}

void *rpl_idmap_get(const rpl_idmap *m, uint32_t key)
{
    for (uint32_t i = home(m, key);; i = (i + 1) & m->mask) {
        if (!m->vals[i])
            return NULL;
        if (m->keys[i] == key)
            return m->vals[i];
    }
}

bool rpl_idmap_put(rpl_idmap *m, uint32_t key, void *val)
{
    if (!val)
        return false;
    uint32_t i = home(m, key);
    for (;; i = (i + 1) & m->mask) {
        if (!m->vals[i])
            break;
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return true;
        }
    }
    if (m->n >= m->max_live)
        return false;
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return true;
}

void *rpl_idmap_del(rpl_idmap *m, uint32_t key)
{
    uint32_t i = home(m, key);
    for (;; i = (i + 1) & m->mask) {
        if (!m->vals[i])
            return NULL;
        if (m->keys[i] == key)
            break;
    }
    void *v = m->vals[i];
    m->vals[i] = NULL;
    m->n--;
    /* backward shift: move later entries of the run into the hole when
     * their home slot is not inside (hole, j] (cyclically) */
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & m->mask; m->vals[j]; j = (j + 1) & m->mask) {
        uint32_t h = home(m, m->keys[j]);
        bool between = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j);
        if (between)
            continue;
        m->keys[hole] = m->keys[j];
        m->vals[hole] = m->vals[j];
        m->vals[j] = NULL;
        hole = j;
    }
    return v;
}

void *rpl_idmap_next(const rpl_idmap *m, uint32_t *pos, uint32_t *key)
{
    for (uint32_t i = *pos; i <= m->mask; i++) {
        if (m->vals[i]) {
            *pos = i + 1;
            if (key)
                *key = m->keys[i];
            return m->vals[i];
        }
    }
    *pos = m->mask + 1;
    return NULL;
}

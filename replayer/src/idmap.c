/*
 * idmap.c - rpl_idmap (internal.h): the replayer's view of dmt_idmap, u32
 * ids to pointers, for its common buffers, MDLs, transfers and adapters.
 * The probing, deletion and iteration order are dmt_idmap's.
 */
#include <stdint.h>

#include "internal.h"

static void *ptr(uint64_t v)
{
    return v == DMT_IDMAP_NONE ? NULL : (void *)(uintptr_t)v;
}

bool rpl_idmap_init(rpl_idmap *m, uint32_t max_live)
{
    return dmt_idmap_init(m, max_live, max_live);
}

void rpl_idmap_free(rpl_idmap *m)
{
    dmt_idmap_free(m);
}

void *rpl_idmap_get(const rpl_idmap *m, uint32_t key)
{
    return ptr(dmt_idmap_get(m, key, 0));
}

bool rpl_idmap_put(rpl_idmap *m, uint32_t key, void *val)
{
    return val && dmt_idmap_put(m, key, 0, (uintptr_t)val) == 0;
}

void *rpl_idmap_del(rpl_idmap *m, uint32_t key)
{
    return ptr(dmt_idmap_del(m, key, 0));
}

void *rpl_idmap_next(const rpl_idmap *m, uint32_t *pos, uint32_t *key)
{
    uint64_t a;
    void *v = ptr(dmt_idmap_next(m, pos, &a, NULL));
    if (v && key)
        *key = (uint32_t)a;
    return v;
}

/*
 * stats.c - accumulate dmt_stats record by record (see dmt/stats.h).
 */
#include "dmt/stats.h"

#include <string.h>

void dmt_stats_init(dmt_stats *s)
{
    memset(s, 0, sizeof *s);
    s->first_ts = INT64_MAX;
    s->last_ts = INT64_MIN;
    s->first_seq = UINT64_MAX;
}

static dmt_stats_adapter *adapter(dmt_stats *s, uint32_t id, bool create)
{
    for (uint32_t i = 0; i < s->n_adapters; i++)
        if (s->adapters[i].id == id)
            return &s->adapters[i];
    if (!create || s->n_adapters == DMT_STATS_MAX_ADAPTERS)
        return NULL;
    dmt_stats_adapter *a = &s->adapters[s->n_adapters++];
    memset(a, 0, sizeof *a);
    a->id = id;
    return a;
}

void dmt_stats_add(dmt_stats *s, const dmt_record *r)
{
    if (r->kind == 0 || r->kind >= DMT_K_MAX_ || r->kind == DMT_K_CHUNK || r->kind == DMT_K_END)
        return;
    s->records++;
    s->by_kind[r->kind]++;
    if (r->ts < s->first_ts)
        s->first_ts = r->ts;
    if (r->ts > s->last_ts)
        s->last_ts = r->ts;
    if (r->seq < s->first_seq)
        s->first_seq = r->seq;
    uint64_t last = r->kind == DMT_K_LOST ? r->value + r->count - 1 : r->seq;
    if (last > s->last_seq || s->records == 1)
        s->last_seq = last;
    switch (r->kind) {
    case DMT_K_LOST:
        s->lost_records += r->count;
        s->lost_ranges++;
        if (r->reason < DMT_LOST_N_)
            s->lost_by_reason[r->reason] += r->count;
        break;
    case DMT_K_EXECUTE_DMA: {
        s->sg_elements += r->n_sg;
        s->dma_bytes += r->length;
        dmt_stats_adapter *a = adapter(s, r->adapter, true);
        if (a) {
            a->transfers++;
            a->bytes += r->length;
        }
        break;
    }
    case DMT_K_ADAPTER_CREATE: {
        dmt_stats_adapter *a = adapter(s, r->adapter, true);
        if (a) {
            a->dev = r->dev;
            a->sg = r->sg;
            a->dma32 = r->dma32;
            a->dma64 = r->dma64;
            a->max_length = r->length;
            a->map_registers = r->map_registers;
            a->addr_limit = r->addr_limit;
        }
        break;
    }
    default:
        break;
    }
}

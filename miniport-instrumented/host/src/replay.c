/*
 * replay.c - the replay backend of the host VideoPort (hvp_replay.h): the
 * OS-side inputs of a recorded session - SG lists and granted lengths,
 * register read values, interrupts - handed to the miniport instead of
 * what hvp and the device model would produce.
 *
 * Hook points in the other hvp files (each one `if (m->rp)` test, so a
 * machine without a backend runs exactly the code it always ran):
 *
 *   dma.c      VideoPortStartDma, after the adapter and MDL were validated:
 *              hvp__replay_start_dma answers the request (under m->lock)
 *   regs.c     reg_read32 / reg_write32 and the narrow (8/16-bit) paths:
 *              hvp__replay_read / hvp__replay_write; with replace_device the
 *              model never sees the access
 *   machine.c  service_interrupt: with replace_device the "line" after an
 *              HwVidInterrupt call is "more raises pending"
 *              (hvp__replay_isr_done), not the model's line
 *   machine.c  hvp_machine_free: hvp__replay_free
 *
 * Invariants:
 *  - A list built from a hook's answer is an ordinary hvp_list on m->lists
 *    (no map registers, no bounce pages), so VideoPortCompleteDma finds,
 *    validates, poisons and quarantines it like any other.
 *  - raised counts HwVidInterrupt calls still owed (ev_lock); each raise sets
 *    irq_pending as the model's interrupt callback does, so delivery (the
 *    interrupt thread, or hvp__deliver in deterministic mode) is unchanged.
 *  - Hooks run with t_in_hook set: a raise from inside a hook only marks the
 *    interrupt pending (the driver may be at DISPATCH under a spin lock).
 */
#include "hvp_internal.h"
#include "hvp_replay.h"

#include <stdlib.h>
#include <string.h>

struct hvp_replay {
    hvp_replay_hooks h;
    hvp_replay_sg *sg; /* HVP_REPLAY_MAX_SG elements, the start_dma hook's scratch */
    uint64_t raised;   /* HwVidInterrupt calls owed (ev_lock) */
    hvp_replay_stats st;
};

static _Thread_local bool t_in_hook;

static void rp_stat(uint64_t *field)
{
    __atomic_fetch_add(field, 1, __ATOMIC_RELAXED);
}

int hvp_replay_install(hvp_machine *m, const hvp_replay_hooks *hooks)
{
    if (!m)
        return HVP_EINVAL;
    if (m->loaded || m->registered)
        return HVP_ESTATE;
    hvp__replay_free(m);
    if (!hooks)
        return HVP_OK;
    struct hvp_replay *rp = calloc(1, sizeof(*rp));
    if (!rp)
        return HVP_ENOMEM;
    rp->sg = calloc(HVP_REPLAY_MAX_SG, sizeof(*rp->sg));
    if (!rp->sg) {
        free(rp);
        return HVP_ENOMEM;
    }
    rp->h = *hooks;
    m->rp = rp;
    return HVP_OK;
}

void hvp__replay_free(hvp_machine *m)
{
    if (!m->rp)
        return;
    free(m->rp->sg);
    free(m->rp);
    m->rp = NULL;
}

void hvp_replay_stats_get(hvp_machine *m, hvp_replay_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!m || !m->rp)
        return;
    hvp_replay_stats *s = &m->rp->st;
    out->start_dma = __atomic_load_n(&s->start_dma, __ATOMIC_RELAXED);
    out->reg_reads = __atomic_load_n(&s->reg_reads, __ATOMIC_RELAXED);
    out->reg_writes = __atomic_load_n(&s->reg_writes, __ATOMIC_RELAXED);
    out->interrupts = __atomic_load_n(&s->interrupts, __ATOMIC_RELAXED);
    out->refused_lists = __atomic_load_n(&s->refused_lists, __ATOMIC_RELAXED);
}

bool hvp__replay_replaces(const hvp_machine *m)
{
    return m->rp && m->rp->h.replace_device;
}

/* ---- registers ---------------------------------------------------------------- */

uint32_t hvp__replay_read(hvp_machine *m, uint32_t off, uint32_t width, uint32_t model_value)
{
    struct hvp_replay *rp = m->rp;
    uint32_t ones = width >= 4 ? 0xFFFFFFFFu : (1u << (8 * width)) - 1u;
    if (rp->h.replace_device)
        hvp__stat_add(m, &m->st.reg_reads, 1); /* the model did not count it */
    if (!rp->h.reg_read)
        return rp->h.replace_device ? ones : model_value;
    t_in_hook = true;
    uint32_t v = rp->h.reg_read(rp->h.ctx, off, width) & ones;
    t_in_hook = false;
    rp_stat(&rp->st.reg_reads);
    return v;
}

void hvp__replay_write(hvp_machine *m, uint32_t off, uint32_t width, uint32_t value)
{
    struct hvp_replay *rp = m->rp;
    if (rp->h.replace_device)
        hvp__stat_add(m, &m->st.reg_writes, 1);
    rp_stat(&rp->st.reg_writes);
    if (!rp->h.reg_write)
        return;
    t_in_hook = true;
    rp->h.reg_write(rp->h.ctx, off, width, value);
    t_in_hook = false;
}

/* ---- StartDma -------------------------------------------------------------------- */

static bool refuse(hvp_machine *m, const hvp_replay_dma *q, const char *why)
{
    rp_stat(&m->rp->st.refused_lists);
    hvp__log(m, HVP_LOG_WARN,
             "StartDma (replay): the backend's answer for adapter %u, offset %u, length %u is "
             "refused (%s): StartDma fails with ERROR_INVALID_PARAMETER",
             q->adapter, q->offset, q->requested, why);
    return false;
}

static bool answer_ok(hvp_machine *m, const hvp_replay_dma *q)
{
    if (q->nsg == 0 || q->nsg > HVP_REPLAY_MAX_SG)
        return refuse(m, q, "no elements or too many");
    if (q->granted == 0)
        return refuse(m, q, "granted length 0");
    for (uint32_t i = 0; i < q->nsg; i++)
        if (q->sg[i].len == 0 || q->sg[i].addr + q->sg[i].len - 1 < q->sg[i].addr)
            return refuse(m, q, "an empty or wrapping element");
    return true;
}

bool hvp__replay_start_dma(hvp_machine *m, struct hvp_dma_adapter *a, hvp_mdl *d, uint32_t offset,
                           uint32_t *len, bool write, hvp_list **out, uint32_t *status)
{
    struct hvp_replay *rp = m->rp;
    *out = NULL;
    if (!rp->h.start_dma)
        return false;
    hvp_replay_dma q;
    memset(&q, 0, sizeof(q));
    q.adapter = a->index;
    q.mdl = d;
    q.lock_seq = d->seq;
    q.offset = offset;
    q.requested = *len;
    q.write_to_device = write;
    q.sg = rp->sg;
    t_in_hook = true;
    rp->h.start_dma(rp->h.ctx, &q);
    t_in_hook = false;
    if (q.action == HVP_REPLAY_NATIVE)
        return false;
    rp_stat(&rp->st.start_dma);
    hvp__stat_add(m, &m->st.start_dma, 1);
    if (q.action == HVP_REPLAY_FAIL) {
        hvp__stat_add(m, &m->st.start_dma_failed, 1);
        *len = 0;
        *status = q.status;
        return true;
    }
    if (q.action == HVP_REPLAY_DROP) {
        hvp__stat_add(m, &m->st.reactos_dropped_lists, 1);
        *len = q.granted;
        *status = NO_ERROR;
        return true;
    }
    if (q.action != HVP_REPLAY_EXECUTE || !answer_ok(m, &q)) {
        if (q.action != HVP_REPLAY_EXECUTE)
            refuse(m, &q, "unknown action");
        hvp__stat_add(m, &m->st.start_dma_failed, 1);
        *len = 0;
        *status = ERROR_INVALID_PARAMETER;
        return true;
    }
    hvp_list *l = calloc(1, sizeof(*l));
    VP_SCATTER_GATHER_LIST *sg =
        calloc(1, sizeof(VP_SCATTER_GATHER_LIST) + q.nsg * sizeof(VP_SCATTER_GATHER_ELEMENT));
    if (!l || !sg) {
        free(l);
        free(sg);
        hvp__stat_add(m, &m->st.start_dma_failed, 1);
        *len = 0;
        *status = ERROR_NOT_ENOUGH_MEMORY;
        return true;
    }
    sg->NumberOfElements = q.nsg;
    for (uint32_t i = 0; i < q.nsg; i++) {
        sg->Elements[i].Address.QuadPart = (LONGLONG)q.sg[i].addr;
        sg->Elements[i].Length = q.sg[i].len;
    }
    l->ad = a;
    l->mdl = d;
    l->write = write;
    l->sg = sg;
    l->next = m->lists;
    m->lists = l;
    a->live++;
    d->outstanding++;
    hvp__stat_add(m, &m->st.sg_elements, q.nsg);
    *len = q.granted;
    *status = NO_ERROR;
    *out = l;
    return true;
}

/* ---- interrupts ---------------------------------------------------------------------- */

void hvp_replay_raise_interrupt(hvp_machine *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->ev_lock);
    if (m->rp) {
        m->rp->raised++;
        rp_stat(&m->rp->st.interrupts);
    }
    m->irq_pending = true;
    pthread_cond_broadcast(&m->ev_cond);
    pthread_mutex_unlock(&m->ev_lock);
    hvp__stat_add(m, &m->st.irq_edges, 1);
    if (!t_in_hook && hvp__cpu.irql == HVP_IRQL_PASSIVE)
        hvp__deliver(m);
}

bool hvp__replay_isr_done(hvp_machine *m)
{
    pthread_mutex_lock(&m->ev_lock);
    if (m->rp->raised)
        m->rp->raised--;
    bool more = m->rp->raised != 0;
    pthread_mutex_unlock(&m->ev_lock);
    return more;
}

void hvp__replay_isr_skipped(hvp_machine *m)
{
    pthread_mutex_lock(&m->ev_lock);
    if (m->rp->raised) {
        m->rp->raised = 0;
        pthread_mutex_unlock(&m->ev_lock);
        hvp__log(m, HVP_LOG_WARN,
                 "replay: an interrupt was raised while the miniport's interrupt is not "
                 "connected or disabled: dropped");
        return;
    }
    pthread_mutex_unlock(&m->ev_lock);
}

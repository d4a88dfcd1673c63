/*
 * dma.c - VideoPort bus-master DMA: adapters, common buffers, locked buffers
 * (MDLs), VideoPortStartDma / VideoPortCompleteDma and the SG list builder.
 *
 * Contract implemented (docs/videoport-contract.md sections 2-7 and 10):
 *
 *   GetDmaAdapter: NMR = min(BYTES_TO_PAGES(MaximumLength) + 1, cap)
 *                  limit: Dma64 -> none; ScatterGather (PCI) or Dma32 -> 4 GiB;
 *                  neither -> 16 MiB.  (ReactOS mode: from the two Dma flags only,
 *                  and non-SG NMR capped at 16.)
 *   StartDma:      start = MDL va + Offset
 *                  len   = min(*pLength, MDL end - start, NMR*4096 - BYTE_OFFSET(start))
 *                  *pLength = len, written before HwVidExecuteDma runs.
 *                  The span pages of [start, start+len) are "map registers";
 *                  a request that finds too few free on its adapter is queued
 *                  and its HwVidExecuteDma runs from the CompleteDma that frees
 *                  them (StartDma has returned NO_ERROR by then).
 *
 *   List building, per page fragment (first cut at BYTE_OFFSET(start)):
 *
 *     ScatterGather = TRUE          ScatterGather = FALSE
 *     --------------------          ---------------------
 *     fragment above limit ->       all fragments contiguous, <= limit, not
 *       bounce page below limit     crossing 4 GiB -> one element as is;
 *       (page offset kept)          otherwise the whole chunk is bounced into
 *     elements = maximal runs of    one contiguous low region (page offset
 *       contiguous device address,  kept) -> one element.
 *       cut at 4 GiB boundaries
 *
 *   Bounce copies: WriteToDevice -> host to bounce before the callback;
 *   device to host -> bounce to host in CompleteDma.
 *
 *   CompleteDma:   copies bounces back, frees bounce pages and map registers,
 *                  then poisons the list (addresses 0xDEADDEADDEADDEAD,
 *                  lengths 0xDEADDEAD, NumberOfElements kept so loops stay in
 *                  bounds) and keeps it in a quarantine ring; only the oldest
 *                  entry of a full ring is freed.
 *
 *   ReactOS mode (cfg.reactos): whole MDL, Offset and *pLength ignored and
 *   *pLength not written on success; SG path has no limit check, no bounce and
 *   no map registers, and a list needing more than 16 elements is dropped
 *   (callback never runs, StartDma returns NO_ERROR); non-SG needs
 *   BYTES_TO_PAGES(length) <= NMR (NMR capped at 16) or fails with
 *   ERROR_NOT_ENOUGH_MEMORY / *pLength = 0; the callback runs under the
 *   interrupt lock at DIRQL when the miniport has an interrupt.
 */
#include "hvp_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define REACTOS_MAX_SG    16u
#define REACTOS_MAX_NONSG 16u
#define LEGACY_CB_MAX     262144u

static uint64_t span_pages(uint64_t start, uint64_t len)
{
    return ((start & (HVP_PAGE - 1)) + len + HVP_PAGE - 1) >> HVP_PAGE_SHIFT;
}

/* ---- adapters ------------------------------------------------------------ */

static struct hvp_dma_adapter *adapter_find(hvp_machine *m, const void *p)
{
    for (struct hvp_dma_adapter *a = m->adapters; a; a = a->next)
        if (a == p)
            return a;
    return NULL;
}

/* Under m->lock: a usable adapter, or NULL after reporting why. */
static struct hvp_dma_adapter *adapter_live(hvp_machine *m, const void *p, const char *fn)
{
    struct hvp_dma_adapter *a = adapter_find(m, p);
    if (!a)
        hvp__misuse(m, HVP_MISUSE_ADAPTER_UNKNOWN,
                    "%s: adapter %p was never returned by "
                    "VideoPortGetDmaAdapter",
                    fn, p);
    else if (a->put)
        hvp__misuse(m, HVP_MISUSE_ADAPTER_UNKNOWN,
                    "%s: adapter %u used after "
                    "VideoPortPutDmaAdapter",
                    fn, a->index);
    else
        return a;
    return NULL;
}

PVP_DMA_ADAPTER NTAPI VideoPortGetDmaAdapter(IN PVOID HwDeviceExtension,
                                             IN PVP_DEVICE_DESCRIPTION VpDeviceDescription)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortGetDmaAdapter");
    if (!m)
        return NULL;
    hvp__check_irql(m, HVP_IRQL_PASSIVE, "VideoPortGetDmaAdapter");
    if (!VpDeviceDescription) {
        hvp__misuse(m, HVP_MISUSE_BAD_ARG, "VideoPortGetDmaAdapter: NULL description");
        return NULL;
    }
    struct hvp_dma_adapter *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    const VP_DEVICE_DESCRIPTION *d = VpDeviceDescription;
    a->m = m;
    a->desc = *d;
    uint64_t pages = ((uint64_t)(d->MaximumLength & 0x7FFFFFFFu) + HVP_PAGE - 1) >> HVP_PAGE_SHIFT;
    uint64_t nmr = pages + 1;
    if (nmr > m->cfg.map_register_cap)
        nmr = m->cfg.map_register_cap;
    if (m->cfg.reactos && !d->ScatterGather && nmr > REACTOS_MAX_NONSG)
        nmr = REACTOS_MAX_NONSG;
    a->nmr = (uint32_t)nmr;
    if (d->Dma64BitAddresses)
        a->limit = UINT64_MAX;
    else if (d->Dma32BitAddresses || (d->ScatterGather && !m->cfg.reactos))
        a->limit = 0xFFFFFFFFull;
    else
        a->limit = 0xFFFFFFull;
    if (d->MaximumLength == 0)
        hvp__log(m, HVP_LOG_WARN, "VideoPortGetDmaAdapter: MaximumLength 0 (one map register)");
    pthread_mutex_lock(&m->lock);
    a->index = m->nadapters++;
    struct hvp_dma_adapter **pp = &m->adapters; /* keep creation order */
    while (*pp)
        pp = &(*pp)->next;
    *pp = a;
    pthread_mutex_unlock(&m->lock);
    hvp__stat_add(m, &m->st.adapters, 1);
    hvp__log(m, HVP_LOG_INFO,
             "adapter %u: ScatterGather=%u Dma32=%u Dma64=%u MaximumLength=%u -> %u map "
             "registers, limit 0x%llx",
             a->index, d->ScatterGather, d->Dma32BitAddresses, d->Dma64BitAddresses,
             d->MaximumLength, a->nmr, (unsigned long long)a->limit);
    return a;
}

VOID NTAPI VideoPortPutDmaAdapter(IN PVOID HwDeviceExtension, IN PVP_DMA_ADAPTER VpDmaAdapter)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortPutDmaAdapter");
    if (!m)
        return;
    hvp__check_irql(m, HVP_IRQL_PASSIVE, "VideoPortPutDmaAdapter");
    pthread_mutex_lock(&m->lock);
    struct hvp_dma_adapter *a = adapter_find(m, VpDmaAdapter);
    if (!a) {
        hvp__misuse(m, HVP_MISUSE_ADAPTER_UNKNOWN, "VideoPortPutDmaAdapter: unknown adapter %p",
                    (void *)VpDmaAdapter);
    } else if (a->put) {
        hvp__misuse(m, HVP_MISUSE_ADAPTER_PUT_TWICE,
                    "VideoPortPutDmaAdapter: adapter %u put "
                    "twice",
                    a->index);
    } else {
        if (a->live || a->cbs)
            hvp__misuse(m, HVP_MISUSE_ADAPTER_BUSY,
                        "VideoPortPutDmaAdapter: adapter %u still has %u transfer(s) and %u "
                        "common buffer(s)",
                        a->index, a->live, a->cbs);
        a->put = true; /* the object itself lives until the machine is freed */
    }
    pthread_mutex_unlock(&m->lock);
}

/* ---- common buffers -------------------------------------------------------- */

/* Under m->lock. */
static hvp_cb *cb_alloc(hvp_machine *m, struct hvp_dma_adapter *a, uint32_t len, uint64_t limit,
                        BOOLEAN cache, bool legacy)
{
    uint64_t pages = ((uint64_t)len + HVP_PAGE - 1) >> HVP_PAGE_SHIFT;
    hvp_cb *cb = calloc(1, sizeof(*cb));
    void *va = NULL;
    if (!cb || !(va = hvp__va_alloc(m, pages * HVP_PAGE))) {
        free(cb);
        return NULL;
    }
    memset(va, 0, pages * HVP_PAGE);
    uint64_t phys = hvp__pool_alloc(m, pages, limit);
    if (!phys || dmm_phys_map(m->pm, phys, pages * HVP_PAGE, va) != DMM_OK) {
        if (phys)
            hvp__pool_free(m, phys, pages);
        hvp__va_free(m, va);
        free(cb);
        return NULL;
    }
    *cb = (hvp_cb){.ad = a,
                   .va = va,
                   .phys = phys,
                   .len = len,
                   .pages = pages,
                   .cache = cache,
                   .legacy = legacy};
    cb->next = m->cbs;
    m->cbs = cb;
    if (a)
        a->cbs++;
    return cb;
}

/* Under m->lock. */
static void cb_free(hvp_machine *m, hvp_cb *cb)
{
    for (hvp_cb **pp = &m->cbs; *pp; pp = &(*pp)->next)
        if (*pp == cb) {
            *pp = cb->next;
            break;
        }
    dmm_phys_unmap(m->pm, cb->phys);
    hvp__pool_free(m, cb->phys, cb->pages);
    if (cb->ad)
        cb->ad->cbs--;
    hvp__va_free(m, cb->va);
    free(cb);
}

static hvp_cb *cb_find(hvp_machine *m, const void *va)
{
    for (hvp_cb *cb = m->cbs; cb; cb = cb->next)
        if (cb->va == va)
            return cb;
    return NULL;
}

PVOID NTAPI VideoPortAllocateCommonBuffer(IN PVOID HwDeviceExtension,
                                          IN PVP_DMA_ADAPTER VpDmaAdapter, IN ULONG DesiredLength,
                                          OUT PPHYSICAL_ADDRESS LogicalAddress,
                                          IN BOOLEAN CacheEnabled, PVOID Reserved)
{
    (void)Reserved;
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortAllocateCommonBuffer");
    if (!m)
        return NULL;
    hvp__check_irql(m, HVP_IRQL_PASSIVE, "VideoPortAllocateCommonBuffer");
    if (!LogicalAddress || DesiredLength == 0) {
        hvp__misuse(m, HVP_MISUSE_BAD_ARG, "VideoPortAllocateCommonBuffer: %s",
                    !LogicalAddress ? "NULL LogicalAddress" : "zero length");
        return NULL;
    }
    pthread_mutex_lock(&m->lock);
    struct hvp_dma_adapter *a = adapter_live(m, VpDmaAdapter, "VideoPortAllocateCommonBuffer");
    hvp_cb *cb = a ? cb_alloc(m, a, DesiredLength, a->limit, CacheEnabled, false) : NULL;
    pthread_mutex_unlock(&m->lock);
    if (!cb) {
        if (a)
            hvp__log(m, HVP_LOG_WARN,
                     "VideoPortAllocateCommonBuffer: no contiguous memory for "
                     "%u bytes below 0x%llx",
                     DesiredLength, (unsigned long long)a->limit);
        return NULL;
    }
    hvp__stat_add(m, &m->st.common_buffers, 1);
    LogicalAddress->QuadPart = (LONGLONG)cb->phys;
    return cb->va;
}

VOID NTAPI VideoPortReleaseCommonBuffer(IN PVOID HwDeviceExtension, IN PVP_DMA_ADAPTER VpDmaAdapter,
                                        IN ULONG Length, IN PHYSICAL_ADDRESS LogicalAddress,
                                        IN PVOID VirtualAddress, IN BOOLEAN CacheEnabled)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortReleaseCommonBuffer");
    if (!m)
        return;
    hvp__check_irql(m, HVP_IRQL_PASSIVE, "VideoPortReleaseCommonBuffer");
    pthread_mutex_lock(&m->lock);
    hvp_cb *cb = cb_find(m, VirtualAddress);
    if (!cb || cb->legacy) {
        hvp__misuse(m, HVP_MISUSE_CB_UNKNOWN,
                    "VideoPortReleaseCommonBuffer: %p is not a buffer from "
                    "VideoPortAllocateCommonBuffer",
                    VirtualAddress);
    } else if (cb->ad != (struct hvp_dma_adapter *)VpDmaAdapter || cb->len != Length ||
               cb->phys != (uint64_t)LogicalAddress.QuadPart || (!!cb->cache) != (!!CacheEnabled)) {
        hvp__misuse(m, HVP_MISUSE_CB_MISMATCH,
                    "VideoPortReleaseCommonBuffer: arguments differ from the allocation "
                    "(adapter %s, length %u vs %u, logical 0x%llx vs 0x%llx, cache %u vs %u); "
                    "not released",
                    cb->ad == (struct hvp_dma_adapter *)VpDmaAdapter ? "same" : "DIFFERENT", Length,
                    cb->len, (unsigned long long)LogicalAddress.QuadPart,
                    (unsigned long long)cb->phys, CacheEnabled, cb->cache);
    } else {
        if (cb->ad->put)
            hvp__misuse(m, HVP_MISUSE_ADAPTER_UNKNOWN,
                        "VideoPortReleaseCommonBuffer: adapter "
                        "%u used after VideoPortPutDmaAdapter",
                        cb->ad->index);
        cb_free(m, cb);
    }
    pthread_mutex_unlock(&m->lock);
}

PVOID NTAPI VideoPortGetCommonBuffer(IN PVOID HwDeviceExtension, IN ULONG DesiredLength,
                                     IN ULONG Alignment, OUT PPHYSICAL_ADDRESS LogicalAddress,
                                     OUT PULONG pActualLength, IN BOOLEAN CacheEnabled)
{
    (void)Alignment; /* ignored, as documented */
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortGetCommonBuffer");
    if (!m)
        return NULL;
    hvp__check_irql(m, HVP_IRQL_PASSIVE, "VideoPortGetCommonBuffer");
    if (!LogicalAddress || DesiredLength == 0 || DesiredLength > LEGACY_CB_MAX)
        return NULL;
    pthread_mutex_lock(&m->lock);
    struct hvp_dma_adapter *a = m->adapters;
    while (a && a->put)
        a = a->next;
    hvp_cb *cb = a ? cb_alloc(m, a, DesiredLength, a->limit, CacheEnabled, true) : NULL;
    pthread_mutex_unlock(&m->lock);
    if (!cb)
        return NULL;
    hvp__stat_add(m, &m->st.common_buffers, 1);
    LogicalAddress->QuadPart = (LONGLONG)cb->phys;
    if (pActualLength)
        *pActualLength = DesiredLength;
    return cb->va;
}

VOID NTAPI VideoPortFreeCommonBuffer(IN PVOID HwDeviceExtension, IN ULONG Length,
                                     IN PVOID VirtualAddress, IN PHYSICAL_ADDRESS LogicalAddress,
                                     IN BOOLEAN CacheEnabled)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortFreeCommonBuffer");
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    hvp_cb *cb = cb_find(m, VirtualAddress);
    if (!cb || !cb->legacy || !cb->ad)
        hvp__misuse(m, HVP_MISUSE_CB_UNKNOWN, "VideoPortFreeCommonBuffer: unknown buffer %p",
                    VirtualAddress);
    else if (cb->len != Length || cb->phys != (uint64_t)LogicalAddress.QuadPart ||
             (!!cb->cache) != (!!CacheEnabled))
        hvp__misuse(m, HVP_MISUSE_CB_MISMATCH,
                    "VideoPortFreeCommonBuffer: arguments differ "
                    "from the allocation; not freed");
    else
        cb_free(m, cb);
    pthread_mutex_unlock(&m->lock);
}

PVOID NTAPI VideoPortAllocateContiguousMemory(IN PVOID HwDeviceExtension, IN ULONG NumberOfBytes,
                                              IN PHYSICAL_ADDRESS HighestAcceptableAddress)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortAllocateContiguousMemory");
    if (!m || NumberOfBytes == 0)
        return NULL;
    pthread_mutex_lock(&m->lock);
    hvp_cb *cb =
        cb_alloc(m, NULL, NumberOfBytes, (uint64_t)HighestAcceptableAddress.QuadPart, TRUE, true);
    pthread_mutex_unlock(&m->lock);
    return cb ? cb->va : NULL;
}

/* ---- locked buffers ---------------------------------------------------------- */

static hvp_mdl *mdl_find(hvp_machine *m, const void *p)
{
    for (hvp_mdl *d = m->mdls; d; d = d->next)
        if (d == p)
            return d;
    return NULL;
}

static bool mdl_is_dead(hvp_machine *m, const void *p)
{
    for (uint32_t i = 0; i < m->cfg.quarantine; i++)
        if (m->dead_mdls[i] && m->dead_mdls[i] == p)
            return true;
    return false;
}

/* Every page of [va, va+len) is mapped in this process. */
static bool host_mapped(uintptr_t va, uint64_t len)
{
    uintptr_t first = va & ~(uintptr_t)(HVP_PAGE - 1);
    uint64_t pages = span_pages(va, len);
    unsigned char vec[256];
    for (uint64_t done = 0; done < pages;) {
        uint64_t n = pages - done > sizeof(vec) ? sizeof(vec) : pages - done;
        if (mincore((void *)(first + done * HVP_PAGE), n * HVP_PAGE, vec) != 0 && errno == ENOMEM)
            return false;
        done += n;
    }
    return true;
}

PVOID NTAPI VideoPortLockBuffer(IN PVOID HwDeviceExtension, IN PVOID BaseAddress, IN ULONG Length,
                                IN VP_LOCK_OPERATION Operation)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortLockBuffer");
    if (!m)
        return NULL;
    hvp__check_irql(m, HVP_IRQL_PASSIVE, "VideoPortLockBuffer");
    uintptr_t va = (uintptr_t)BaseAddress;
    if (!BaseAddress || Length == 0 || va + (uint64_t)Length - 1 < va) {
        hvp__misuse(m, HVP_MISUSE_LOCK_BAD_ARGS, "VideoPortLockBuffer(%p, %u): %s", BaseAddress,
                    Length,
                    !BaseAddress  ? "NULL buffer"
                    : Length == 0 ? "zero length"
                                  : "wraps");
        return NULL;
    }
    if ((unsigned)Operation > VpModifyAccess)
        hvp__misuse(m, HVP_MISUSE_LOCK_BAD_ARGS,
                    "VideoPortLockBuffer: Operation %d is not a "
                    "VP_LOCK_OPERATION",
                    (int)Operation);
    if (!host_mapped(va, Length)) {
        hvp__log(m, HVP_LOG_WARN, "VideoPortLockBuffer(%p, %u): buffer not mapped (probe fails)",
                 BaseAddress, Length);
        return NULL;
    }
    hvp_mdl *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->va = va;
    d->len = Length;
    d->op = (int)Operation;
    d->npages = (uint32_t)span_pages(va, Length);
    d->locked = true;
    pthread_rwlock_wrlock(&m->layout);
    pthread_mutex_lock(&m->lock);
    d->seq = m->lock_seq++;
    int rc = hvp__phys_lock_pages(m, d);
    if (rc == DMM_OK) {
        d->next = m->mdls;
        m->mdls = d;
    }
    pthread_mutex_unlock(&m->lock);
    pthread_rwlock_unlock(&m->layout);
    if (rc != DMM_OK) {
        hvp__log(m, HVP_LOG_WARN, "VideoPortLockBuffer(%p, %u): no physical memory (%d)",
                 BaseAddress, Length, rc);
        free(d);
        return NULL;
    }
    hvp__stat_add(m, &m->st.locks, 1);
    return d;
}

static void unlock_buffer(PVOID HwDeviceExtension, PVOID Mdl, const char *fn)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, fn);
    if (!m)
        return;
    hvp__check_irql(m, HVP_IRQL_DISPATCH, fn);
    pthread_rwlock_wrlock(&m->layout);
    pthread_mutex_lock(&m->lock);
    hvp_mdl *d = mdl_find(m, Mdl);
    if (!d) {
        if (mdl_is_dead(m, Mdl))
            hvp__misuse(m, HVP_MISUSE_UNLOCK_TWICE, "%s: MDL %p already unlocked", fn, Mdl);
        else
            hvp__misuse(m, HVP_MISUSE_MDL_UNKNOWN,
                        "%s: %p is not an MDL from "
                        "VideoPortLockBuffer",
                        fn, Mdl);
        pthread_mutex_unlock(&m->lock);
        pthread_rwlock_unlock(&m->layout);
        return;
    }
    if (d->outstanding) {
        hvp__misuse(m, HVP_MISUSE_UNLOCK_BUSY,
                    "%s: MDL %p unlocked with %u transfer(s) not completed; their pages are gone",
                    fn, Mdl, d->outstanding);
        for (hvp_list *l = m->lists; l; l = l->next)
            if (l->mdl == d)
                l->mdl = NULL;
        for (struct hvp_dma_adapter *a = m->adapters; a; a = a->next)
            for (hvp_deferred *q = a->dq_head; q; q = q->next)
                if (q->mdl == d)
                    q->mdl = NULL;
        d->outstanding = 0;
    }
    hvp__phys_unlock_pages(m, d);
    for (hvp_mdl **pp = &m->mdls; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    d->locked = false;
    d->next = NULL;
    hvp_mdl *old = m->dead_mdls[m->dead_mdl_pos];
    m->dead_mdls[m->dead_mdl_pos] = d;
    m->dead_mdl_pos = (m->dead_mdl_pos + 1) % m->cfg.quarantine;
    free(old);
    pthread_mutex_unlock(&m->lock);
    pthread_rwlock_unlock(&m->layout);
    hvp__stat_add(m, &m->st.unlocks, 1);
}

VOID NTAPI VideoPortUnLockBuffer(IN PVOID HwDeviceExtension, IN PVOID Mdl)
{
    unlock_buffer(HwDeviceExtension, Mdl, "VideoPortUnLockBuffer");
}

VOID NTAPI VideoPortUnlockBuffer(IN PVOID HwDeviceExtension, IN PVOID Mdl)
{
    unlock_buffer(HwDeviceExtension, Mdl, "VideoPortUnlockBuffer");
}

/* ---- SG lists ------------------------------------------------------------ */

typedef struct frag {
    uint64_t phys; /* device address */
    uintptr_t host;
    uint32_t len;
    bool bounce;
} frag;

static void list_free(hvp_list *l)
{
    if (!l)
        return;
    free(l->seg);
    free(l->sg);
    free(l);
}

/* Under m->lock.  Builds the list for [mdl->va + off, +len); copies bounces
 * for writes.  NULL on resource shortage. */
static hvp_list *build_list(hvp_machine *m, struct hvp_dma_adapter *a, hvp_mdl *mdl, uint32_t off,
                            uint32_t len, bool write, uint32_t mr)
{
    uintptr_t start = mdl->va + off;
    uint32_t first_page = (uint32_t)((start >> HVP_PAGE_SHIFT) - (mdl->va >> HVP_PAGE_SHIFT));
    uint32_t nfrag = (uint32_t)span_pages(start, len);
    frag *fr = calloc(nfrag, sizeof(*fr));
    hvp_list *l = calloc(1, sizeof(*l));
    if (!fr || !l) {
        free(fr);
        free(l);
        return NULL;
    }
    uintptr_t pos = start;
    uint32_t rem = len;
    for (uint32_t k = 0; k < nfrag; k++) {
        uint32_t po = (uint32_t)(pos & (HVP_PAGE - 1));
        uint32_t n = HVP_PAGE - po < rem ? HVP_PAGE - po : rem;
        fr[k] = (frag){mdl->frames[first_page + k]->pfn * HVP_PAGE + po, pos, n, false};
        pos += n;
        rem -= n;
    }
    bool sg = a->desc.ScatterGather;
    uint32_t nb = 0;
    if (sg) {
        if (!m->cfg.reactos)
            for (uint32_t k = 0; k < nfrag; k++)
                if (fr[k].phys + fr[k].len - 1 > a->limit) {
                    fr[k].bounce = true;
                    nb++;
                }
    } else {
        bool direct = (fr[0].phys >> 32) == ((fr[0].phys + len - 1) >> 32);
        for (uint32_t k = 0; k < nfrag && direct; k++)
            if (fr[k].phys + fr[k].len - 1 > a->limit ||
                (k > 0 && fr[k].phys != fr[k - 1].phys + fr[k - 1].len))
                direct = false;
        if (!direct) {
            nb = nfrag;
            for (uint32_t k = 0; k < nfrag; k++)
                fr[k].bounce = true;
        }
    }
    l->ad = a;
    l->mdl = mdl;
    l->write = write;
    l->mr = mr;
    if (nb) {
        uint64_t base = hvp__pool_alloc(m, nb, a->limit);
        if (!base) {
            hvp__log(m, HVP_LOG_WARN, "StartDma: no bounce memory (%u pages below 0x%llx)", nb,
                     (unsigned long long)a->limit);
            goto fail;
        }
        if (dmm_phys_alloc(m->pm, base, (uint64_t)nb * HVP_PAGE) != DMM_OK) {
            hvp__pool_free(m, base, nb);
            goto fail;
        }
        l->bounce_base = base;
        l->bounce_pages = nb;
        l->seg = calloc(nb, sizeof(*l->seg));
        if (!l->seg)
            goto fail;
        uint32_t j = 0;
        for (uint32_t k = 0; k < nfrag; k++) {
            if (!fr[k].bounce)
                continue;
            fr[k].phys = base + (uint64_t)j * HVP_PAGE + (fr[k].host & (HVP_PAGE - 1));
            j++;
            hvp_bounce_seg *prev = l->nseg ? &l->seg[l->nseg - 1] : NULL;
            if (prev && prev->host + prev->len == fr[k].host &&
                prev->phys + prev->len == fr[k].phys)
                prev->len += fr[k].len;
            else
                l->seg[l->nseg++] = (hvp_bounce_seg){fr[k].host, fr[k].phys, fr[k].len};
        }
        if (write)
            for (uint32_t s = 0; s < l->nseg; s++)
                dmm_phys_write(m->pm, l->seg[s].phys, (const void *)l->seg[s].host, l->seg[s].len);
    }
    /* elements: maximal runs of contiguous device addresses, never across 4 GiB */
    uint32_t nel = 0;
    for (uint32_t k = 0; k < nfrag; k++)
        if (k == 0 || fr[k].phys != fr[k - 1].phys + fr[k - 1].len ||
            (fr[k].phys & 0xFFFFFFFFull) == 0)
            nel++;
    l->sg = calloc(1, sizeof(VP_SCATTER_GATHER_LIST) + nel * sizeof(VP_SCATTER_GATHER_ELEMENT));
    if (!l->sg)
        goto fail;
    l->sg->NumberOfElements = nel;
    uint32_t e = 0;
    for (uint32_t k = 0; k < nfrag; k++) {
        if (k == 0 || fr[k].phys != fr[k - 1].phys + fr[k - 1].len ||
            (fr[k].phys & 0xFFFFFFFFull) == 0) {
            l->sg->Elements[e].Address.QuadPart = (LONGLONG)fr[k].phys;
            l->sg->Elements[e].Length = fr[k].len;
            e++;
        } else {
            l->sg->Elements[e - 1].Length += fr[k].len;
        }
    }
    hvp__stat_add(m, &m->st.sg_elements, nel);
    if (nb) {
        hvp__stat_add(m, &m->st.bounced_transfers, 1);
        if (write)
            for (uint32_t s = 0; s < l->nseg; s++)
                hvp__stat_add(m, &m->st.bounce_bytes_out, l->seg[s].len);
    }
    free(fr);
    return l;
fail:
    if (l->bounce_pages) {
        dmm_phys_unmap(m->pm, l->bounce_base);
        hvp__pool_free(m, l->bounce_base, l->bounce_pages);
    }
    free(fr);
    list_free(l);
    return NULL;
}

/* Under m->lock: undo what a list holds (bounce, map registers, counts). */
static void list_release(hvp_machine *m, hvp_list *l)
{
    if (l->bounce_pages) {
        dmm_phys_unmap(m->pm, l->bounce_base);
        hvp__pool_free(m, l->bounce_base, l->bounce_pages);
        l->bounce_pages = 0;
    }
    l->ad->mr_used -= l->mr;
    l->ad->live--;
    if (l->mdl && l->mdl->outstanding)
        l->mdl->outstanding--;
}

static void run_exec(hvp_machine *m, struct hvp_dma_adapter *a, VP_SCATTER_GATHER_LIST *sg,
                     PEXECUTE_DMA exec, void *ctx)
{
    hvp_machine *saved = hvp__cpu.m;
    hvp__cpu.m = m;
    uint8_t old = hvp__cpu.irql;
    pthread_mutex_lock(&m->ev_lock);
    bool under_intr = m->cfg.reactos && m->intr_connected;
    pthread_mutex_unlock(&m->ev_lock);
    if (under_intr && !hvp__intr_owned_by_me(m)) {
        hvp__intr_acquire(m);
        hvp__raise(HVP_IRQL_DEVICE);
        exec(m->devext, a, sg, ctx);
        hvp__cpu.irql = old > HVP_IRQL_DISPATCH ? old : HVP_IRQL_DISPATCH;
        hvp__intr_release(m);
    } else {
        hvp__raise(HVP_IRQL_DISPATCH);
        exec(m->devext, a, sg, ctx);
    }
    hvp__cpu.m = saved;
    hvp__lower(m, old);
}

VP_STATUS NTAPI VideoPortStartDma(IN PVOID HwDeviceExtension, IN PVP_DMA_ADAPTER VpDmaAdapter,
                                  IN PVOID Mdl, IN ULONG Offset, IN OUT PULONG pLength,
                                  IN PEXECUTE_DMA ExecuteDmaRoutine, IN PVOID Context,
                                  IN BOOLEAN WriteToDevice)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortStartDma");
    if (!m) {
        if (pLength)
            *pLength = 0;
        return ERROR_INVALID_PARAMETER;
    }
    hvp__check_irql(m, HVP_IRQL_DISPATCH, "VideoPortStartDma");
    if (!pLength || !ExecuteDmaRoutine) {
        hvp__misuse(m, HVP_MISUSE_START_BAD_RANGE, "VideoPortStartDma: NULL %s",
                    !pLength ? "pLength" : "ExecuteDmaRoutine");
        if (pLength)
            *pLength = 0;
        return ERROR_INVALID_PARAMETER;
    }
    bool write = WriteToDevice != FALSE;
    pthread_mutex_lock(&m->lock);
    struct hvp_dma_adapter *a = adapter_live(m, VpDmaAdapter, "VideoPortStartDma");
    hvp_mdl *d = a ? mdl_find(m, Mdl) : NULL;
    if (a && !d) {
        if (mdl_is_dead(m, Mdl))
            hvp__misuse(m, HVP_MISUSE_MDL_UNLOCKED, "VideoPortStartDma: MDL %p was unlocked", Mdl);
        else
            hvp__misuse(m, HVP_MISUSE_MDL_UNKNOWN,
                        "VideoPortStartDma: %p is not an MDL from "
                        "VideoPortLockBuffer",
                        Mdl);
    }
    if (!a || !d) {
        pthread_mutex_unlock(&m->lock);
        *pLength = 0;
        return ERROR_INVALID_PARAMETER;
    }
    /* Replay hook point (hvp_replay.h): a backend may answer the request
     * with the recorded SG list and granted length instead of build_list. */
    if (m->rp) {
        hvp_list *rl;
        uint32_t rlen = *pLength, rst;
        if (hvp__replay_start_dma(m, a, d, Offset, &rlen, write, &rl, &rst)) {
            VP_SCATTER_GATHER_LIST *rsg = rl ? rl->sg : NULL;
            pthread_mutex_unlock(&m->lock);
            *pLength = rlen;
            if (rsg)
                run_exec(m, a, rsg, ExecuteDmaRoutine, Context);
            return (VP_STATUS)rst;
        }
    }
    uint32_t off, len, mr;
    if (m->cfg.reactos) {
        off = 0;
        len = d->len;
        mr = 0;
        if (!a->desc.ScatterGather) {
            mr = (uint32_t)(((uint64_t)len + HVP_PAGE - 1) >> HVP_PAGE_SHIFT);
            if (mr > a->nmr) {
                pthread_mutex_unlock(&m->lock);
                hvp__log(m, HVP_LOG_WARN,
                         "StartDma (ReactOS): non-SG transfer of %u pages exceeds the %u map "
                         "registers: fails",
                         mr, a->nmr);
                hvp__stat_add(m, &m->st.start_dma_failed, 1);
                *pLength = 0;
                return ERROR_NOT_ENOUGH_MEMORY;
            }
        }
    } else {
        if (Offset >= d->len || *pLength == 0) {
            hvp__misuse(m, HVP_MISUSE_START_BAD_RANGE,
                        "VideoPortStartDma: Offset %u / *pLength %u outside the %u-byte buffer",
                        Offset, *pLength, d->len);
            pthread_mutex_unlock(&m->lock);
            *pLength = 0;
            return ERROR_INVALID_PARAMETER;
        }
        off = Offset;
        len = *pLength < d->len - off ? *pLength : d->len - off;
        uint64_t start = d->va + off;
        uint64_t cover = (uint64_t)a->nmr * HVP_PAGE - (start & (HVP_PAGE - 1));
        if (len > cover)
            len = (uint32_t)cover;
        mr = (uint32_t)span_pages(start, len);
        *pLength = len;
    }
    hvp__stat_add(m, &m->st.start_dma, 1);
    if (mr && (a->dq_head || a->mr_used + mr > a->nmr)) {
        hvp_deferred *q = calloc(1, sizeof(*q));
        if (!q) {
            pthread_mutex_unlock(&m->lock);
            *pLength = 0;
            hvp__stat_add(m, &m->st.start_dma_failed, 1);
            return ERROR_NOT_ENOUGH_MEMORY;
        }
        *q = (hvp_deferred){.mdl = d,
                            .offset = off,
                            .len = len,
                            .mr = mr,
                            .exec = ExecuteDmaRoutine,
                            .ctx = Context,
                            .write = write};
        if (a->dq_tail)
            a->dq_tail->next = q;
        else
            a->dq_head = q;
        a->dq_tail = q;
        d->outstanding++;
        a->live++;
        pthread_mutex_unlock(&m->lock);
        hvp__stat_add(m, &m->st.start_dma_deferred, 1);
        return NO_ERROR;
    }
    a->mr_used += mr;
    a->live++;
    d->outstanding++;
    hvp_list *l = build_list(m, a, d, off, len, write, mr);
    if (!l) {
        a->mr_used -= mr;
        a->live--;
        d->outstanding--;
        pthread_mutex_unlock(&m->lock);
        hvp__stat_add(m, &m->st.start_dma_failed, 1);
        *pLength = 0;
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    if (m->cfg.reactos && a->desc.ScatterGather && l->sg->NumberOfElements > REACTOS_MAX_SG) {
        uint32_t nel = l->sg->NumberOfElements;
        list_release(m, l);
        list_free(l);
        pthread_mutex_unlock(&m->lock);
        hvp__stat_add(m, &m->st.reactos_dropped_lists, 1);
        hvp__log(m, HVP_LOG_WARN,
                 "StartDma (ReactOS): %u SG elements needed, HAL maps at most %u: the transfer "
                 "is dropped and HwVidExecuteDma never runs (StartDma returns NO_ERROR)",
                 nel, REACTOS_MAX_SG);
        return NO_ERROR;
    }
    l->next = m->lists;
    m->lists = l;
    VP_SCATTER_GATHER_LIST *sg = l->sg;
    pthread_mutex_unlock(&m->lock);
    run_exec(m, a, sg, ExecuteDmaRoutine, Context);
    return NO_ERROR;
}

static bool in_quarantine(hvp_machine *m, const void *sg)
{
    for (uint32_t i = 0; i < m->cfg.quarantine; i++)
        if (m->quar[i] && m->quar[i]->sg == sg)
            return true;
    return false;
}

static void poison_and_quarantine(hvp_machine *m, hvp_list *l)
{
    VP_SCATTER_GATHER_LIST *sg = l->sg;
    sg->Reserved = (ULONG_PTR)HVP_POISON64;
    for (uint32_t i = 0; i < sg->NumberOfElements; i++) {
        sg->Elements[i].Address.QuadPart = (LONGLONG)HVP_POISON64;
        sg->Elements[i].Length = HVP_POISON32;
        sg->Elements[i].Reserved = (ULONG_PTR)HVP_POISON64;
    }
    free(l->seg);
    l->seg = NULL;
    l->nseg = 0;
    l->mdl = NULL;
    hvp_list *old = m->quar[m->quar_pos];
    m->quar[m->quar_pos] = l;
    m->quar_pos = (m->quar_pos + 1) % m->cfg.quarantine;
    list_free(old);
}

typedef struct ready {
    struct ready *next;
    VP_SCATTER_GATHER_LIST *sg;
    PEXECUTE_DMA exec;
    void *ctx;
} ready;

VP_STATUS NTAPI VideoPortCompleteDma(IN PVOID HwDeviceExtension, IN PVP_DMA_ADAPTER VpDmaAdapter,
                                     IN PVP_SCATTER_GATHER_LIST VpScatterGather,
                                     IN BOOLEAN WriteToDevice)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortCompleteDma");
    if (!m)
        return ERROR_INVALID_PARAMETER;
    hvp__check_irql(m, HVP_IRQL_DISPATCH, "VideoPortCompleteDma");
    bool write = WriteToDevice != FALSE;
    pthread_mutex_lock(&m->lock);
    hvp_list *l = NULL, **pp;
    for (pp = &m->lists; *pp; pp = &(*pp)->next)
        if ((*pp)->sg == VpScatterGather) {
            l = *pp;
            break;
        }
    if (!l) {
        if (VpScatterGather && in_quarantine(m, VpScatterGather))
            hvp__misuse(m, HVP_MISUSE_COMPLETE_TWICE,
                        "VideoPortCompleteDma: list %p already "
                        "completed",
                        (void *)VpScatterGather);
        else
            hvp__misuse(m, HVP_MISUSE_COMPLETE_UNKNOWN,
                        "VideoPortCompleteDma: %p is not a live "
                        "list from VideoPortStartDma",
                        (void *)VpScatterGather);
        pthread_mutex_unlock(&m->lock);
        return ERROR_INVALID_PARAMETER;
    }
    *pp = l->next;
    struct hvp_dma_adapter *a = l->ad;
    if ((struct hvp_dma_adapter *)VpDmaAdapter != a)
        hvp__misuse(m, HVP_MISUSE_COMPLETE_MISMATCH,
                    "VideoPortCompleteDma: adapter %p is not the one the list was started on "
                    "(adapter %u)",
                    (void *)VpDmaAdapter, a->index);
    if (write != l->write)
        hvp__misuse(m, HVP_MISUSE_COMPLETE_MISMATCH,
                    "VideoPortCompleteDma: WriteToDevice=%u but StartDma had %u; bounce buffers "
                    "are flushed in the direction given here",
                    write, l->write);
    /* IoFlushAdapterBuffers: device-to-memory bounces are copied back now. */
    if (!write && l->mdl) {
        for (uint32_t s = 0; s < l->nseg; s++) {
            dmm_phys_read(m->pm, l->seg[s].phys, (void *)l->seg[s].host, l->seg[s].len);
            hvp__stat_add(m, &m->st.bounce_bytes_in, l->seg[s].len);
        }
    }
    list_release(m, l);
    poison_and_quarantine(m, l);
    hvp__stat_add(m, &m->st.complete_dma, 1);
    /* Requests waiting for map registers, in order. */
    ready *run = NULL, **tail = &run;
    while (a->dq_head && a->mr_used + a->dq_head->mr <= a->nmr) {
        hvp_deferred *q = a->dq_head;
        a->dq_head = q->next;
        if (!a->dq_head)
            a->dq_tail = NULL;
        hvp_list *nl = NULL;
        if (!q->mdl) {
            hvp__log(m, HVP_LOG_WARN, "deferred StartDma dropped: its MDL was unlocked");
            a->live--;
        } else {
            a->mr_used += q->mr;
            nl = build_list(m, a, q->mdl, q->offset, q->len, q->write, q->mr);
            if (!nl) {
                a->mr_used -= q->mr;
                a->live--;
                q->mdl->outstanding--;
                hvp__log(m, HVP_LOG_ERROR,
                         "deferred StartDma dropped: no bounce memory; the "
                         "driver will wait forever");
            }
        }
        if (nl) {
            nl->next = m->lists;
            m->lists = nl;
            ready *r = malloc(sizeof(*r));
            if (r) {
                *r = (ready){NULL, nl->sg, q->exec, q->ctx};
                *tail = r;
                tail = &r->next;
            }
        }
        free(q);
    }
    pthread_mutex_unlock(&m->lock);
    while (run) {
        ready *r = run;
        run = r->next;
        run_exec(m, a, r->sg, r->exec, r->ctx);
        free(r);
    }
    if (hvp__cpu.irql == HVP_IRQL_PASSIVE)
        hvp__deliver(m);
    return NO_ERROR;
}

/* ---- tool accessors ------------------------------------------------------ */

static void adapter_info(const struct hvp_dma_adapter *a, hvp_adapter_info *out)
{
    *out = (hvp_adapter_info){.index = a->index,
                              .map_registers = a->nmr,
                              .max_address = a->limit,
                              .scatter_gather = a->desc.ScatterGather != 0,
                              .dma32 = a->desc.Dma32BitAddresses != 0,
                              .dma64 = a->desc.Dma64BitAddresses != 0,
                              .maximum_length = a->desc.MaximumLength,
                              .put = a->put,
                              .transfers_live = a->live};
}

bool hvp_adapter_info_of(hvp_machine *m, const void *adapter, hvp_adapter_info *out)
{
    if (!m || !out)
        return false;
    pthread_mutex_lock(&m->lock);
    struct hvp_dma_adapter *a = adapter_find(m, adapter);
    if (a)
        adapter_info(a, out);
    pthread_mutex_unlock(&m->lock);
    return a != NULL;
}

uint32_t hvp_adapter_count(hvp_machine *m)
{
    if (!m)
        return 0;
    pthread_mutex_lock(&m->lock);
    uint32_t n = m->nadapters;
    pthread_mutex_unlock(&m->lock);
    return n;
}

bool hvp_adapter_info_at(hvp_machine *m, uint32_t index, hvp_adapter_info *out)
{
    if (!m || !out)
        return false;
    pthread_mutex_lock(&m->lock);
    struct hvp_dma_adapter *a = m->adapters;
    while (a && a->index != index)
        a = a->next;
    if (a)
        adapter_info(a, out);
    pthread_mutex_unlock(&m->lock);
    return a != NULL;
}

bool hvp_mdl_info_of(hvp_machine *m, const void *mdl, hvp_mdl_info *out)
{
    if (!m || !out)
        return false;
    pthread_mutex_lock(&m->lock);
    hvp_mdl *d = mdl_find(m, mdl);
    if (!d && mdl_is_dead(m, mdl))
        d = (hvp_mdl *)mdl;
    if (d)
        *out = (hvp_mdl_info){.va = (const void *)d->va,
                              .length = d->len,
                              .operation = d->op,
                              .pages = d->npages,
                              .lock_seq = d->seq,
                              .locked = d->locked};
    pthread_mutex_unlock(&m->lock);
    return d != NULL;
}

uint64_t hvp_mdl_page_frame(hvp_machine *m, const void *mdl, uint32_t page_index)
{
    if (!m)
        return UINT64_MAX;
    uint64_t pfn = UINT64_MAX;
    pthread_mutex_lock(&m->lock);
    hvp_mdl *d = mdl_find(m, mdl);
    if (d && page_index < d->npages && d->frames && d->frames[page_index])
        pfn = d->frames[page_index]->pfn;
    pthread_mutex_unlock(&m->lock);
    return pfn;
}

bool hvp_mdl_phys(hvp_machine *m, const void *mdl, uint64_t offset, uint64_t *phys)
{
    if (!m || !phys)
        return false;
    bool ok = false;
    pthread_mutex_lock(&m->lock);
    hvp_mdl *d = mdl_find(m, mdl);
    if (d && d->frames && offset < d->len) {
        uintptr_t at = d->va + (uintptr_t)offset;
        uint64_t page = (at >> HVP_PAGE_SHIFT) - (d->va >> HVP_PAGE_SHIFT);
        if (page < d->npages && d->frames[page]) {
            *phys = d->frames[page]->pfn * HVP_PAGE + (at & (HVP_PAGE - 1));
            ok = true;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return ok;
}

/* ---- teardown ------------------------------------------------------------ */

void hvp__dma_teardown(hvp_machine *m)
{
    pthread_mutex_lock(&m->lock);
    while (m->lists) {
        hvp_list *l = m->lists;
        m->lists = l->next;
        hvp__misuse(m, HVP_MISUSE_LEAK, "SG list %p on adapter %u never completed", (void *)l->sg,
                    l->ad->index);
        list_release(m, l);
        list_free(l);
    }
    for (struct hvp_dma_adapter *a = m->adapters; a; a = a->next)
        while (a->dq_head) {
            hvp_deferred *q = a->dq_head;
            a->dq_head = q->next;
            hvp__misuse(m, HVP_MISUSE_LEAK, "deferred StartDma on adapter %u never ran", a->index);
            free(q);
        }
    while (m->mdls) {
        hvp_mdl *d = m->mdls;
        m->mdls = d->next;
        hvp__misuse(m, HVP_MISUSE_LEAK, "buffer %p (%u bytes) still locked", (void *)d->va, d->len);
        hvp__phys_unlock_pages(m, d);
        free(d);
    }
    for (uint32_t i = 0; i < m->cfg.quarantine; i++) {
        free(m->dead_mdls[i]);
        m->dead_mdls[i] = NULL;
        list_free(m->quar[i]);
        m->quar[i] = NULL;
    }
    while (m->cbs) {
        hvp_cb *cb = m->cbs;
        if (cb->ad)
            hvp__misuse(m, HVP_MISUSE_LEAK,
                        "common buffer %p (%u bytes, adapter %u) never "
                        "released",
                        cb->va, cb->len, cb->ad->index);
        cb_free(m, cb);
    }
    while (m->adapters) {
        struct hvp_dma_adapter *a = m->adapters;
        m->adapters = a->next;
        free(a);
    }
    pthread_mutex_unlock(&m->lock);
}

/*
 * dmtmini.c - the dmatrace sample XPDM video miniport: a bus-master DMA
 * driver for the dmm engine (two channels, descriptor rings in common
 * buffers, a doorbell, one interrupt), written against the VideoPort API
 * only.  The same source builds as dmtmini.sys with mingw-w64 and as a host
 * library over hvp; with -DDMT_PROBE every VideoPort call it makes is
 * traced by probe/dmt_probe.h.  README.md describes the IOCTLs and the
 * fault injections.
 *
 * Life of a TRANSFER (one channel = one DMA adapter):
 *
 *   HwVidStartIO (PASSIVE)        LockBuffer -> StartChunk -> wait on DoneEvent
 *     StartChunk                  ChunkLen = Total - Done;
 *                                 VideoPortStartDma(Mdl, Done, &ChunkLen, ExecuteDma)
 *   DmtExecuteDma (DISPATCH)      SG list -> descriptors in the ring, DESC_LO/HI,
 *                                 DESC_COUNT, CTRL.RUN (doorbell, always last)
 *   DmtInterrupt (DIRQL)          IRQ_STATUS read + W1C ack, channel STATUS
 *                                 latched + acked, VideoPortQueueDpc
 *   DmtDpc (DISPATCH)             fetch latched bits (SynchronizeExecution),
 *                                 VideoPortCompleteDma, Done += accounted bytes,
 *                                 StartChunk again or Finish (SetEvent)
 *   HwVidStartIO again            VideoPortUnlockBuffer, results to the caller
 *
 * Synchronization, per channel:
 *  - Lock (a VideoPort spin lock) covers Active, Finished and the chunk
 *    bookkeeping between the IOCTL path and the DPC: the IOCTL path starts
 *    the first chunk and, after the wait, settles the transfer under it;
 *    the DPC completes a chunk and starts the next under it.  So ExecuteDma
 *    runs under it too (StartDma calls it synchronously, or later from the
 *    CompleteDma of the same adapter).  Lock order: Lock, then the
 *    interrupt lock (VideoPortSynchronizeExecution).
 *  - SgOwned (VideoPortInterlockedExchange): 1 while the current SG list
 *    still needs VideoPortCompleteDma; whoever exchanges it to 0 calls it.
 *  - SoftError (interlocked): ExecuteDma could not program a list.
 *  - IrqPending/IrqChStatus belong to the ISR; the DPC takes them under
 *    VideoPortSynchronizeExecution.
 * Fields only the IOCTL path writes (Mdl, Total, Async, ...) are set before
 * the first chunk starts and read by the DPC only while Active.  ExecuteDma,
 * the ISR and the DPC allocate nothing and never wait (the spin lock is
 * held for one chunk's bookkeeping).
 */
#include <ntdef.h>
#include <dderror.h>
#include <devioctl.h>
#include <miniport.h>
#include <ntddvdeo.h>
#include <video.h>

#include "dmt_probe.h"
#include "dmtmini_hw.h"
#include "dmtmini_ioctl.h"

#define DMTMINI_DEFAULT_MAXLEN  (4u << 20)
#define DMTMINI_DEFAULT_TIMEOUT 10000u /* ms */
#define DMTMINI_PAGE            4096u
#define DMTMINI_DESC2_PIECE     0xFFF000u   /* rev 2 split size: < 2^24, keeps dev_off aligned */
#define DMTMINI_POOL_TAG        0x6E6D7464u /* 'dtmn' */
#define DMTMINI_FAULT_ONE_SHOT  (DMTMINI_FAULT_ALL & ~DMTMINI_FAULT_ADDR64_TO_DMA32)

/* Probe ring the driver allocates when nobody attached one (Windows). */
#define DMTMINI_PROBE_RING_DATA  (1u << 20)
#define DMTMINI_PROBE_RING_BYTES (256u + DMTMINI_PROBE_RING_DATA)

typedef struct _DMTMINI_EXT DMTMINI_EXT, *PDMTMINI_EXT;

typedef struct _DMTMINI_CHANNEL {
    ULONG Index;
    PDMTMINI_EXT Ext;
    PVP_DMA_ADAPTER Adapter;
    VP_DEVICE_DESCRIPTION Desc;
    PUCHAR RingVa;
    PHYSICAL_ADDRESS RingLogical;
    ULONG RingBytes;
    ULONG RingDescs;
    PEVENT DoneEvent;
    PSPIN_LOCK Lock;

    BOOLEAN Active;   /* a TRANSFER owns the channel (Lock; written by the IOCTL path) */
    BOOLEAN Finished; /* the result has been reported (Lock) */
    LONG SgOwned;     /* Sg still needs VideoPortCompleteDma (interlocked) */
    LONG SoftError;   /* ExecuteDma could not program the list; the DPC fails the transfer */
    BOOLEAN Async;
    BOOLEAN WriteToDevice;
    PVOID Mdl;
    ULONG Total;
    ULONG Done;           /* bytes accounted as moved by completed chunks */
    ULONG ChunkLen;       /* the *pLength of the current StartDma */
    ULONG ChunkRequested; /* what we asked for */
    ULONG ChunkAccounted; /* bytes the programmed descriptors stand for */
    ULONG ChunkSeq;
    ULONGLONG DevOffset;
    PVP_SCATTER_GATHER_LIST Sg;
    ULONG Chunks;
    ULONG Faults; /* armed for this transfer */
    ULONG FaultsApplied;
    ULONG TransferNo;
    VP_STATUS Result;
    ULONG DevStatus;
} DMTMINI_CHANNEL, *PDMTMINI_CHANNEL;

struct _DMTMINI_EXT {
    PUCHAR Regs;
    ULONG Id, Caps, DevmemSize;
    ULONG Revision, DescSize, AddrBits;
    DMTMINI_CHANNEL Ch[DMTMINI_NUM_CH];
    /* ISR -> DPC, under the interrupt lock */
    ULONG IrqPending;
    ULONG IrqChStatus[DMTMINI_NUM_CH];
    /* configuration (IOCTL path) */
    DMTMINI_CONFIG Config;
    ULONG Transfers;
    /* the probe ring the driver owns (Windows) */
    PVP_DMA_ADAPTER ProbeAdapter;
    PVOID ProbeRingVa;
    PHYSICAL_ADDRESS ProbeRingLogical;
    ULONG ProbeRingBytes;
};

static VOID NTAPI DmtExecuteDma(PVOID HwDeviceExtension, PVP_DMA_ADAPTER VpDmaAdapter,
                                PVP_SCATTER_GATHER_LIST SGList, PVOID Context);
static VOID NTAPI DmtDpc(PVOID HwDeviceExtension, PVOID Context);

/* ---- registers and descriptors ------------------------------------------ */

static ULONG RegRead(PDMTMINI_EXT ext, ULONG off)
{
    return VideoPortReadRegisterUlong((PULONG)(ext->Regs + off));
}

static VOID RegWrite(PDMTMINI_EXT ext, ULONG off, ULONG value)
{
    VideoPortWriteRegisterUlong((PULONG)(ext->Regs + off), value);
}

static VOID Put32(PUCHAR p, ULONG v)
{
    p[0] = (UCHAR)v;
    p[1] = (UCHAR)(v >> 8);
    p[2] = (UCHAR)(v >> 16);
    p[3] = (UCHAR)(v >> 24);
}

static VOID Put64(PUCHAR p, ULONGLONG v)
{
    Put32(p, (ULONG)v);
    Put32(p + 4, (ULONG)(v >> 32));
}

enum { DESC_OK = 0, DESC_FULL = 1, DESC_INVALID = 2 };

/* One hardware descriptor at ring slot *idx. */
static int DescPut(PDMTMINI_EXT ext, PDMTMINI_CHANNEL ch, ULONG *idx, ULONGLONG host, ULONG len,
                   ULONGLONG dev)
{
    if (*idx >= ch->RingDescs)
        return DESC_FULL;
    PUCHAR p = ch->RingVa + (ULONG_PTR)*idx * ext->DescSize;
    if (ext->Revision == 1) {
        Put32(p, (ULONG)DMTHW_DESC1_MAGIC << 16);
        Put32(p + 4, len);
        Put64(p + 8, host);
        Put64(p + 16, dev);
        Put64(p + 24, 0);
    } else {
        if (len == 0 || len > DMTHW_DESC2_MAX_LEN || (dev & 3u) != 0 || (dev >> 2) > 0xFFFFFFFFull)
            return DESC_INVALID;
        Put64(p, host);
        Put32(p + 8, (ULONG)DMTHW_DESC2_MAGIC << 24 | len);
        Put32(p + 12, (ULONG)(dev >> 2));
    }
    (*idx)++;
    return DESC_OK;
}

/* Descriptors for one host range (rev 2 splits ranges over 16 MiB). */
static int DescRange(PDMTMINI_EXT ext, PDMTMINI_CHANNEL ch, ULONG *idx, ULONGLONG host, ULONG len,
                     ULONGLONG dev)
{
    ULONG start = *idx;
    while (len > 0) {
        ULONG n = len;
        if (ext->Revision != 1 && n > DMTHW_DESC2_MAX_LEN)
            n = DMTMINI_DESC2_PIECE;
        int rc = DescPut(ext, ch, idx, host, n, dev);
        if (rc != DESC_OK) {
            *idx = start; /* all or nothing per range */
            return rc;
        }
        host += n;
        dev += n;
        len -= n;
    }
    return DESC_OK;
}

/* ---- channels: adapters and rings ---------------------------------------- */

static VOID ChannelTeardown(PDMTMINI_EXT ext, PDMTMINI_CHANNEL ch)
{
    if (ch->RingVa)
        VideoPortReleaseCommonBuffer(ext, ch->Adapter, ch->RingBytes, ch->RingLogical, ch->RingVa,
                                     FALSE);
    ch->RingVa = NULL;
    ch->RingBytes = 0;
    ch->RingDescs = 0;
    if (ch->Adapter)
        VideoPortPutDmaAdapter(ext, ch->Adapter);
    ch->Adapter = NULL;
}

static VP_STATUS ChannelSetup(PDMTMINI_EXT ext, PDMTMINI_CHANNEL ch)
{
    const DMTMINI_CHAN_CONFIG *cfg = &ext->Config.ch[ch->Index];
    VP_DEVICE_DESCRIPTION dd;
    VideoPortZeroMemory(&dd, sizeof(dd));
    if (cfg->flags & DMTMINI_CFG_FROM_CAPS) {
        dd.ScatterGather = TRUE;
        dd.Dma64BitAddresses = ext->AddrBits >= 64;
        dd.Dma32BitAddresses = ext->AddrBits < 64;
    } else {
        dd.ScatterGather = cfg->scatter_gather != 0;
        dd.Dma32BitAddresses = cfg->dma32 != 0;
        dd.Dma64BitAddresses = cfg->dma64 != 0;
    }
    /* Fault ADDR64_TO_DMA32: the description is the 64-bit board's,
     * whatever CAPS says, so the OS neither limits nor bounces. */
    if (ext->Config.faults & DMTMINI_FAULT_ADDR64_TO_DMA32)
        dd.Dma64BitAddresses = TRUE;
    dd.MaximumLength = cfg->maximum_length ? cfg->maximum_length : DMTMINI_DEFAULT_MAXLEN;
    ch->Desc = dd;

    ch->Adapter = VideoPortGetDmaAdapter(ext, &dd);
    if (!ch->Adapter)
        return ERROR_DEV_NOT_EXIST;

    /* Ring: one descriptor per page of MaximumLength, +1 for an unaligned
     * start, +1 for a duplicated element, +1 spare; rev 2 may split. */
    ULONG pages = (ULONG)(((ULONGLONG)dd.MaximumLength + DMTMINI_PAGE - 1) / DMTMINI_PAGE);
    ULONGLONG descs = (ULONGLONG)pages + 3u;
    if (ext->Revision != 1)
        descs += dd.MaximumLength / DMTMINI_DESC2_PIECE + 1u;
    if (descs < 16)
        descs = 16;
    if (descs > DMTHW_MAX_DESC)
        descs = DMTHW_MAX_DESC;
    ch->RingDescs = (ULONG)descs;
    ch->RingBytes =
        (ULONG)((descs * ext->DescSize + DMTMINI_PAGE - 1) & ~(ULONGLONG)(DMTMINI_PAGE - 1));
    ch->RingVa = VideoPortAllocateCommonBuffer(ext, ch->Adapter, ch->RingBytes, &ch->RingLogical,
                                               FALSE, NULL);
    if (!ch->RingVa) {
        ChannelTeardown(ext, ch);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    VideoPortZeroMemory(ch->RingVa, ch->RingBytes);
    return NO_ERROR;
}

static VOID DefaultConfig(DMTMINI_CONFIG *cfg)
{
    VideoPortZeroMemory(cfg, sizeof(*cfg));
    cfg->version = DMTMINI_IOCTL_VERSION;
    for (ULONG c = 0; c < DMTMINI_NUM_CH; c++) {
        cfg->ch[c].flags = DMTMINI_CFG_FROM_CAPS;
        cfg->ch[c].maximum_length = DMTMINI_DEFAULT_MAXLEN;
    }
}

static VOID ChannelReset(PDMTMINI_EXT ext, ULONG c)
{
    RegWrite(ext, DMTHW_CH_BASE(c) + DMTHW_CH_CTRL, DMTHW_CTRL_RESET);
    RegWrite(ext, DMTHW_CH_BASE(c) + DMTHW_CH_STATUS, DMTHW_STATUS_DONE | DMTHW_STATUS_ERR);
}

/* ---- the DMA path ------------------------------------------------------------ */

/* Report the transfer's result once.  Channel lock held. */
static VOID Finish(PDMTMINI_EXT ext, PDMTMINI_CHANNEL ch, VP_STATUS st, ULONG dev_status)
{
    if (ch->Finished)
        return;
    ch->Finished = TRUE;
    ch->Result = st;
    ch->DevStatus = dev_status;
    VideoPortSetEvent(ext, ch->DoneEvent);
}

/* Start the next chunk at Offset = Done.  Channel lock held (DISPATCH). */
static VP_STATUS StartChunk(PDMTMINI_EXT ext, PDMTMINI_CHANNEL ch)
{
    ch->ChunkLen = ch->Total - ch->Done;
    ch->ChunkRequested = ch->ChunkLen;
    ch->ChunkAccounted = 0;
    return VideoPortStartDma(ext, ch->Adapter, ch->Mdl, ch->Done, &ch->ChunkLen, DmtExecuteDma, ch,
                             ch->WriteToDevice);
}

/* HwVidExecuteDma: program the engine from the SG list.  Runs at DISPATCH
 * (DIRQL under ReactOS), possibly before StartDma returned; *pLength
 * (ChunkLen) already holds the granted length. */
static VOID NTAPI DmtExecuteDma(PVOID HwDeviceExtension, PVP_DMA_ADAPTER VpDmaAdapter,
                                PVP_SCATTER_GATHER_LIST SGList, PVOID Context)
{
    PDMTMINI_EXT ext = HwDeviceExtension;
    PDMTMINI_CHANNEL ch = Context;
    const ULONG n = SGList->NumberOfElements;
    const ULONG granted = ch->ChunkLen;
    const ULONG pending = ch->Faults & DMTMINI_FAULT_ONE_SHOT & ~ch->FaultsApplied;
    const ULONG base = DMTHW_CH_BASE(ch->Index);
    ULONGLONG dev = ch->DevOffset + ch->Done;
    ULONG idx = 0, accounted = 0, applied = 0;
    int rc = DESC_OK;

    ch->Sg = SGList;
    ch->Chunks++;
    const ULONG seq = ++ch->ChunkSeq;

    for (ULONG i = 0; i < n; i++) {
        ULONGLONG addr = (ULONGLONG)SGList->Elements[i].Address.QuadPart;
        ULONG len = SGList->Elements[i].Length;
        ULONG plen = len;
        const BOOLEAN last = i + 1 == n;

        /* SG_SKIP: "for (i = 0; i + 1 < n; ...)": the last element of a
         * multi-element list is accounted but never programmed. */
        if (last && n > 1 && (pending & DMTMINI_FAULT_SG_SKIP)) {
            applied |= DMTMINI_FAULT_SG_SKIP;
            dev += len;
            accounted += len;
            continue;
        }
        /* SG_LEN_OFF_BY_ONE: inclusive end, len = last - first + 1 + 1. */
        if (last && (pending & DMTMINI_FAULT_SG_LEN_OFF_BY_ONE)) {
            plen += 1;
            applied |= DMTMINI_FAULT_SG_LEN_OFF_BY_ONE;
        }
        /* OVERLONG: the descriptors are sized from what was requested,
         * not from the granted *pLength. */
        if (last && (pending & DMTMINI_FAULT_OVERLONG) && ch->ChunkRequested > granted) {
            plen += ch->ChunkRequested - granted;
            applied |= DMTMINI_FAULT_OVERLONG;
        }
        /* A 32-bit board's descriptor holds 32 address bits: the driver
         * writes LowPart.  Harmless while the adapter is Dma32 (the OS keeps
         * addresses below 4 GiB); wrong with the ADDR64 fault. */
        if (ext->AddrBits <= 32 && (addr >> 32) != 0) {
            addr &= 0xFFFFFFFFull;
            applied |= ch->Faults & DMTMINI_FAULT_ADDR64_TO_DMA32;
        }
        rc = DescRange(ext, ch, &idx, addr, plen, dev);
        if (rc != DESC_OK)
            break;
        dev += len;
        /* SG_DUP: the first element is posted again and the device cursor
         * advanced again (a retry that forgets the element was posted). */
        if (i == 0 && (pending & DMTMINI_FAULT_SG_DUP)) {
            rc = DescRange(ext, ch, &idx, addr, len, dev);
            if (rc != DESC_OK)
                break;
            dev += len;
            applied |= DMTMINI_FAULT_SG_DUP;
        }
        accounted += len;
    }
    ch->ChunkAccounted = accounted;

    if (idx == 0 || rc == DESC_INVALID) {
        /* Nothing the engine can run: fail the transfer through the DPC,
         * which owns completion. */
        ch->FaultsApplied |= applied;
        VideoPortInterlockedExchange(&ch->SgOwned, 1);
        VideoPortInterlockedExchange(&ch->SoftError, 1);
        VideoPortQueueDpc(ext, DmtDpc, NULL);
        return;
    }
    /* rc == DESC_FULL: a shorter chunk; the next StartDma goes on from
     * Done + accounted. */

    DMTP_DESC_WRITE(ch->RingVa, 0, ch->RingVa, (size_t)idx * ext->DescSize);
    const BOOLEAN early = (pending & DMTMINI_FAULT_COMPLETE_EARLY) != 0;
    if (early)
        applied |= DMTMINI_FAULT_COMPLETE_EARLY;
    ch->FaultsApplied |= applied;
    VideoPortInterlockedExchange(&ch->SgOwned, 1);

    RegWrite(ext, base + DMTHW_CH_DESC_LO, ch->RingLogical.LowPart);
    RegWrite(ext, base + DMTHW_CH_DESC_HI,
             ext->AddrBits <= 32 ? 0u : (ULONG)ch->RingLogical.HighPart);
    RegWrite(ext, base + DMTHW_CH_DESC_COUNT, idx);
    RegWrite(ext, base + DMTHW_CH_CTRL, DMTHW_CTRL_RUN); /* doorbell: last */

    /* COMPLETE_EARLY: "the engine is fast, the data is there": map
     * registers and SG list released while the device may still be moving
     * the bytes. */
    if (early && ch->ChunkSeq == seq && VideoPortInterlockedExchange(&ch->SgOwned, 0) != 0)
        VideoPortCompleteDma(ext, VpDmaAdapter, SGList, ch->WriteToDevice);
}

typedef struct _DMTMINI_PENDING {
    PDMTMINI_EXT Ext;
    ULONG Irq;
    ULONG ChStatus[DMTMINI_NUM_CH];
} DMTMINI_PENDING;

/* Under the interrupt lock: take what the ISR latched. */
static BOOLEAN NTAPI DmtSyncFetch(PVOID Context)
{
    DMTMINI_PENDING *p = Context;
    p->Irq = p->Ext->IrqPending;
    p->Ext->IrqPending = 0;
    for (ULONG c = 0; c < DMTMINI_NUM_CH; c++) {
        p->ChStatus[c] = p->Ext->IrqChStatus[c];
        p->Ext->IrqChStatus[c] = 0;
    }
    return TRUE;
}

static BOOLEAN NTAPI DmtInterrupt(PVOID HwDeviceExtension)
{
    PDMTMINI_EXT ext = HwDeviceExtension;
    ULONG st = RegRead(ext, DMTHW_REG_IRQ_STATUS) & DMTHW_IRQ_ALL;
    if (st == 0)
        return FALSE;
    RegWrite(ext, DMTHW_REG_IRQ_STATUS, st); /* W1C: exactly what we saw */
    for (ULONG c = 0; c < DMTMINI_NUM_CH; c++) {
        if (!(st & (DMTHW_IRQ_DONE(c) | DMTHW_IRQ_ERR(c))))
            continue;
        ULONG cs = RegRead(ext, DMTHW_CH_BASE(c) + DMTHW_CH_STATUS);
        RegWrite(ext, DMTHW_CH_BASE(c) + DMTHW_CH_STATUS, DMTHW_STATUS_DONE | DMTHW_STATUS_ERR);
        if ((cs & DMTHW_STATUS_ERR) || ext->IrqChStatus[c] == 0)
            ext->IrqChStatus[c] = cs;
    }
    ext->IrqPending |= st;
    DMTP_ISR_VALUE(ext, st);
    VideoPortQueueDpc(ext, DmtDpc, NULL);
    return TRUE;
}

/* A chunk of ch ended (engine done/error, or ExecuteDma gave up).  Channel
 * lock held. */
static VOID ChunkDone(PDMTMINI_EXT ext, PDMTMINI_CHANNEL ch, BOOLEAN error, ULONG dev_status,
                      BOOLEAN soft)
{
    if (!ch->Active || ch->Finished)
        return; /* spurious, or the waiter gave up on the transfer */
    if (error || soft) {
        if (VideoPortInterlockedExchange(&ch->SgOwned, 0) != 0)
            VideoPortCompleteDma(ext, ch->Adapter, ch->Sg, ch->WriteToDevice);
        Finish(ext, ch, soft ? ERROR_INVALID_PARAMETER : (VP_STATUS)DMTMINI_ERROR_IO_DEVICE,
               dev_status);
        return;
    }
    const BOOLEAN last = ch->Done + ch->ChunkAccounted >= ch->Total;
    /* COMPLETE_MISSING: the final chunk takes the "all done" early return
     * that sits before the CompleteDma call. */
    if (last && (ch->Faults & ~ch->FaultsApplied & DMTMINI_FAULT_COMPLETE_MISSING)) {
        ch->FaultsApplied |= DMTMINI_FAULT_COMPLETE_MISSING;
        VideoPortInterlockedExchange(&ch->SgOwned, 0);
        ch->Done += ch->ChunkAccounted;
        Finish(ext, ch, NO_ERROR, 0);
        return;
    }
    if (VideoPortInterlockedExchange(&ch->SgOwned, 0) != 0)
        VideoPortCompleteDma(ext, ch->Adapter, ch->Sg, ch->WriteToDevice);
    ch->Done += ch->ChunkAccounted;
    if (ch->Done >= ch->Total) {
        Finish(ext, ch, NO_ERROR, 0);
        return;
    }
    VP_STATUS st = StartChunk(ext, ch);
    if (st != NO_ERROR)
        Finish(ext, ch, st, 0);
}

static VOID NTAPI DmtDpc(PVOID HwDeviceExtension, PVOID Context)
{
    PDMTMINI_EXT ext = HwDeviceExtension;
    DMTMINI_PENDING p;
    (void)Context;
    VideoPortZeroMemory(&p, sizeof(p));
    p.Ext = ext;
    VideoPortSynchronizeExecution(ext, VpMediumPriority, DmtSyncFetch, &p);
    for (ULONG c = 0; c < DMTMINI_NUM_CH; c++) {
        PDMTMINI_CHANNEL ch = &ext->Ch[c];
        BOOLEAN soft = VideoPortInterlockedExchange(&ch->SoftError, 0) != 0;
        BOOLEAN err = (p.Irq & DMTHW_IRQ_ERR(c)) != 0;
        if (!soft && !err && !(p.Irq & DMTHW_IRQ_DONE(c)))
            continue;
        VideoPortAcquireSpinLockAtDpcLevel(ext, ch->Lock);
        ChunkDone(ext, ch, err, err ? p.ChStatus[c] : 0, soft);
        VideoPortReleaseSpinLockFromDpcLevel(ext, ch->Lock);
    }
}

/* ---- IOCTLs (PASSIVE, serialized by the port) ----------------------------------- */

static BOOLEAN NTAPI DmtSyncReset(PVOID Context)
{
    PDMTMINI_CHANNEL ch = Context;
    ChannelReset(ch->Ext, ch->Index);
    ch->Ext->IrqPending &= ~(DMTHW_IRQ_DONE(ch->Index) | DMTHW_IRQ_ERR(ch->Index));
    return TRUE;
}

/* Wait for the transfer on ch, unlock its buffer and fill out. */
static VOID WaitFinish(PDMTMINI_EXT ext, PDMTMINI_CHANNEL ch, DMTMINI_TRANSFER_OUT *out)
{
    LARGE_INTEGER timeout;
    ULONG ms = ext->Config.timeout_ms ? ext->Config.timeout_ms : DMTMINI_DEFAULT_TIMEOUT;
    timeout.QuadPart = -(LONGLONG)ms * 10000; /* relative, 100 ns units */
    UCHAR irql;
    VideoPortWaitForSingleObject(ext, ch->DoneEvent, &timeout);
    VideoPortAcquireSpinLock(ext, ch->Lock, &irql);
    if (!ch->Finished) {
        /* Timed out with nothing reported (the DPC cannot run now): stop
         * the engine, give the list back, report the timeout. */
        VideoPortSynchronizeExecution(ext, VpMediumPriority, DmtSyncReset, ch);
        if (VideoPortInterlockedExchange(&ch->SgOwned, 0) != 0)
            VideoPortCompleteDma(ext, ch->Adapter, ch->Sg, ch->WriteToDevice);
        Finish(ext, ch, (VP_STATUS)DMTMINI_ERROR_TIMEOUT, 0);
    }
    ch->Active = FALSE;
    VideoPortReleaseSpinLock(ext, ch->Lock, irql);
    VideoPortUnLockBuffer(ext, ch->Mdl);
    ch->Mdl = NULL;
    VideoPortZeroMemory(out, sizeof(*out));
    out->status = (uint32_t)ch->Result;
    out->bytes = ch->Done;
    out->chunks = ch->Chunks;
    out->faults_applied = ch->FaultsApplied;
    out->dev_status = ch->DevStatus;
    out->transfer_no = ch->TransferNo;
}

static VP_STATUS IoctlTransfer(PDMTMINI_EXT ext, PVIDEO_REQUEST_PACKET rp, ULONG_PTR *info)
{
    DMTMINI_TRANSFER_IN in;
    if (rp->InputBufferLength < sizeof(in))
        return ERROR_INSUFFICIENT_BUFFER;
    VideoPortMoveMemory(&in, rp->InputBuffer, sizeof(in));
    const BOOLEAN async = (in.flags & DMTMINI_XFER_ASYNC) != 0;
    if (!async && rp->OutputBufferLength < sizeof(DMTMINI_TRANSFER_OUT))
        return ERROR_INSUFFICIENT_BUFFER;
    if (in.channel >= DMTMINI_NUM_CH || in.length == 0 || in.buffer == 0 ||
        (in.flags & ~(ULONG)(DMTMINI_XFER_ASYNC | DMTMINI_XFER_PATTERN | DMTMINI_XFER_FAULT)) !=
            0 ||
        in.dev_offset > ext->DevmemSize || in.length > ext->DevmemSize - in.dev_offset)
        return ERROR_INVALID_PARAMETER;
    /* Revision 2 descriptors carry dword device offsets: with a dword
     * aligned buffer and offset every element boundary stays aligned. */
    if (ext->Revision != 1 && ((in.buffer & 3u) != 0 || (in.dev_offset & 3u) != 0))
        return ERROR_INVALID_PARAMETER;
    PDMTMINI_CHANNEL ch = &ext->Ch[in.channel];
    if (!ch->Adapter || !ch->RingVa)
        return ERROR_DEV_NOT_EXIST;
    if (ch->Active) /* only this path sets it; IOCTLs are serialized */
        return ERROR_BUSY;

    const BOOLEAN h2c = in.channel == DMTMINI_CH_H2C;
    PVOID mdl = VideoPortLockBuffer(ext, (PVOID)(ULONG_PTR)in.buffer, in.length,
                                    h2c ? VpReadAccess : VpWriteAccess);
    if (!mdl)
        return ERROR_NOT_ENOUGH_MEMORY;
    if (in.flags & DMTMINI_XFER_PATTERN)
        DMTP_PATTERN(mdl, in.pattern_seed, 0, in.length);

    ch->Mdl = mdl;
    ch->Total = in.length;
    ch->Done = 0;
    ch->DevOffset = in.dev_offset;
    ch->WriteToDevice = h2c;
    ch->Async = async;
    ch->Chunks = 0;
    ch->Sg = NULL;
    ch->FaultsApplied = 0;
    ch->Result = NO_ERROR;
    ch->DevStatus = 0;
    ch->TransferNo = ext->Transfers++;
    ch->Faults = ext->Config.faults & DMTMINI_FAULT_ADDR64_TO_DMA32;
    if (ch->TransferNo == ext->Config.fault_transfer || (in.flags & DMTMINI_XFER_FAULT))
        ch->Faults |= ext->Config.faults & DMTMINI_FAULT_ONE_SHOT;
    VideoPortInterlockedExchange(&ch->SgOwned, 0);
    VideoPortInterlockedExchange(&ch->SoftError, 0);
    VideoPortClearEvent(ext, ch->DoneEvent);

    UCHAR irql;
    VideoPortAcquireSpinLock(ext, ch->Lock, &irql);
    ch->Finished = FALSE;
    ch->Active = TRUE;
    VP_STATUS st = StartChunk(ext, ch);
    if (st != NO_ERROR)
        ch->Active = FALSE;
    VideoPortReleaseSpinLock(ext, ch->Lock, irql);
    if (st != NO_ERROR) {
        VideoPortUnLockBuffer(ext, mdl);
        ch->Mdl = NULL;
        return st;
    }
    if (async)
        return NO_ERROR;
    DMTMINI_TRANSFER_OUT out;
    WaitFinish(ext, ch, &out);
    VideoPortMoveMemory(rp->OutputBuffer, &out, sizeof(out));
    *info = sizeof(out);
    return NO_ERROR;
}

static VP_STATUS IoctlWait(PDMTMINI_EXT ext, PVIDEO_REQUEST_PACKET rp, ULONG_PTR *info)
{
    DMTMINI_WAIT_IN in;
    if (rp->InputBufferLength < sizeof(in) || rp->OutputBufferLength < sizeof(DMTMINI_TRANSFER_OUT))
        return ERROR_INSUFFICIENT_BUFFER;
    VideoPortMoveMemory(&in, rp->InputBuffer, sizeof(in));
    if (in.channel >= DMTMINI_NUM_CH)
        return ERROR_INVALID_PARAMETER;
    PDMTMINI_CHANNEL ch = &ext->Ch[in.channel];
    if (!ch->Active || !ch->Async || !ch->Mdl)
        return ERROR_INVALID_PARAMETER;
    DMTMINI_TRANSFER_OUT out;
    WaitFinish(ext, ch, &out);
    VideoPortMoveMemory(rp->OutputBuffer, &out, sizeof(out));
    *info = sizeof(out);
    return NO_ERROR;
}

static VP_STATUS IoctlConfigure(PDMTMINI_EXT ext, PVIDEO_REQUEST_PACKET rp)
{
    DMTMINI_CONFIG cfg;
    if (rp->InputBufferLength < sizeof(cfg))
        return ERROR_INSUFFICIENT_BUFFER;
    VideoPortMoveMemory(&cfg, rp->InputBuffer, sizeof(cfg));
    if (cfg.version != DMTMINI_IOCTL_VERSION || (cfg.faults & ~(ULONG)DMTMINI_FAULT_ALL) != 0)
        return ERROR_INVALID_PARAMETER;
    for (ULONG c = 0; c < DMTMINI_NUM_CH; c++)
        if (ext->Ch[c].Active)
            return ERROR_BUSY;
    for (ULONG c = 0; c < DMTMINI_NUM_CH; c++)
        ChannelTeardown(ext, &ext->Ch[c]);
    ext->Config = cfg;
    ext->Transfers = 0;
    VP_STATUS st = NO_ERROR;
    for (ULONG c = 0; c < DMTMINI_NUM_CH && st == NO_ERROR; c++)
        st = ChannelSetup(ext, &ext->Ch[c]);
    return st;
}

static VP_STATUS IoctlQuery(PDMTMINI_EXT ext, PVIDEO_REQUEST_PACKET rp, ULONG_PTR *info)
{
    DMTMINI_INFO q;
    if (rp->OutputBufferLength < sizeof(q))
        return ERROR_INSUFFICIENT_BUFFER;
    VideoPortZeroMemory(&q, sizeof(q));
    q.version = DMTMINI_IOCTL_VERSION;
    q.id = ext->Id;
    q.caps = ext->Caps;
    q.devmem_size = ext->DevmemSize;
    q.faults = ext->Config.faults;
    q.transfers = ext->Transfers;
    q.probe = DMTP_COMPILED;
    q.ring_owned = ext->ProbeRingVa != NULL;
    q.ring_bytes = ext->ProbeRingVa ? ext->ProbeRingBytes : 0;
    for (ULONG c = 0; c < DMTMINI_NUM_CH; c++) {
        const DMTMINI_CHANNEL *ch = &ext->Ch[c];
        q.ch[c].scatter_gather = ch->Desc.ScatterGather;
        q.ch[c].dma32 = ch->Desc.Dma32BitAddresses;
        q.ch[c].dma64 = ch->Desc.Dma64BitAddresses;
        q.ch[c].has_adapter = ch->Adapter != NULL;
        q.ch[c].maximum_length = ch->Desc.MaximumLength;
        q.ch[c].ring_descs = ch->RingDescs;
        q.ch[c].ring_logical = (uint64_t)ch->RingLogical.QuadPart;
    }
    VideoPortMoveMemory(rp->OutputBuffer, &q, sizeof(q));
    *info = sizeof(q);
    return NO_ERROR;
}

/* Map the probe ring (a non-cached common buffer, so its logical address is
 * its physical address) into the requesting process, non-cached as in the
 * kernel mapping. */
static VP_STATUS IoctlMapRing(PDMTMINI_EXT ext, PVIDEO_REQUEST_PACKET rp, ULONG_PTR *info)
{
    DMTMINI_MAP_RING_IN in;
    DMTMINI_MAP_RING_OUT out;
    if (rp->InputBufferLength < sizeof(in) || rp->OutputBufferLength < sizeof(out))
        return ERROR_INSUFFICIENT_BUFFER;
    if (!ext->ProbeRingVa)
        return ERROR_DEV_NOT_EXIST;
    VideoPortMoveMemory(&in, rp->InputBuffer, sizeof(in));
    ULONG len = ext->ProbeRingBytes;
    ULONG space = VIDEO_MEMORY_SPACE_MEMORY | VIDEO_MEMORY_SPACE_USER_MODE;
    PVOID va = (PVOID)(ULONG_PTR)in.process_handle;
    VP_STATUS st = VideoPortMapMemory(ext, ext->ProbeRingLogical, &len, &space, &va);
    if (st != NO_ERROR)
        return st;
    VideoPortZeroMemory(&out, sizeof(out));
    out.process_handle = in.process_handle;
    out.user_va = (uint64_t)(ULONG_PTR)va;
    out.length = len;
    out.ring_bytes = ext->ProbeRingBytes;
    VideoPortMoveMemory(rp->OutputBuffer, &out, sizeof(out));
    *info = sizeof(out);
    return NO_ERROR;
}

static VP_STATUS IoctlUnmapRing(PDMTMINI_EXT ext, PVIDEO_REQUEST_PACKET rp)
{
    DMTMINI_MAP_RING_OUT in;
    if (rp->InputBufferLength < sizeof(in))
        return ERROR_INSUFFICIENT_BUFFER;
    VideoPortMoveMemory(&in, rp->InputBuffer, sizeof(in));
    if (!ext->ProbeRingVa || in.user_va == 0)
        return ERROR_INVALID_PARAMETER;
    return VideoPortUnmapMemory(ext, (PVOID)(ULONG_PTR)in.user_va,
                                (HANDLE)(ULONG_PTR)in.process_handle);
}

static BOOLEAN NTAPI DmtStartIO(PVOID HwDeviceExtension, PVIDEO_REQUEST_PACKET RequestPacket)
{
    PDMTMINI_EXT ext = HwDeviceExtension;
    PVIDEO_REQUEST_PACKET rp = RequestPacket;
    ULONG_PTR info = 0;
    VP_STATUS st;
    switch (rp->IoControlCode) {
    case IOCTL_DMTMINI_CONFIGURE:
        st = IoctlConfigure(ext, rp);
        break;
    case IOCTL_DMTMINI_QUERY:
        st = IoctlQuery(ext, rp, &info);
        break;
    case IOCTL_DMTMINI_TRANSFER:
        st = IoctlTransfer(ext, rp, &info);
        break;
    case IOCTL_DMTMINI_WAIT:
        st = IoctlWait(ext, rp, &info);
        break;
    case IOCTL_DMTMINI_MAP_RING:
        st = IoctlMapRing(ext, rp, &info);
        break;
    case IOCTL_DMTMINI_UNMAP_RING:
        st = IoctlUnmapRing(ext, rp);
        break;
    case IOCTL_DMTMINI_MARKER:
        DMTP_MARKER_N((const char *)rp->InputBuffer, rp->InputBufferLength);
        st = NO_ERROR;
        break;
    default:
        st = ERROR_INVALID_FUNCTION;
        break;
    }
    rp->StatusBlock->Status = st;
    rp->StatusBlock->Information = info;
    return TRUE;
}

/* ---- initialization ------------------------------------------------------------------------ */

/* The probe ring when no recorder attached one before FindAdapter (the
 * Windows case): a non-cached common buffer of its own adapter, so CONFIGURE
 * can re-create the channel adapters while the ring stays. */
static VOID ProbeRingSetup(PDMTMINI_EXT ext)
{
    if (!DMTP_COMPILED || DMTP_ATTACHED())
        return;
    VP_DEVICE_DESCRIPTION dd;
    VideoPortZeroMemory(&dd, sizeof(dd));
    dd.Dma32BitAddresses = TRUE;
    dd.MaximumLength = DMTMINI_PAGE;
    ext->ProbeAdapter = VideoPortGetDmaAdapter(ext, &dd);
    if (!ext->ProbeAdapter)
        return;
    ext->ProbeRingBytes = DMTMINI_PROBE_RING_BYTES;
    ext->ProbeRingVa = VideoPortAllocateCommonBuffer(ext, ext->ProbeAdapter, ext->ProbeRingBytes,
                                                     &ext->ProbeRingLogical, FALSE, NULL);
    if (ext->ProbeRingVa && DMTP_ATTACH_NEW(ext->ProbeRingVa, ext->ProbeRingBytes) == 0)
        return;
    if (ext->ProbeRingVa)
        VideoPortReleaseCommonBuffer(ext, ext->ProbeAdapter, ext->ProbeRingBytes,
                                     ext->ProbeRingLogical, ext->ProbeRingVa, FALSE);
    ext->ProbeRingVa = NULL;
    ext->ProbeRingBytes = 0;
    VideoPortPutDmaAdapter(ext, ext->ProbeAdapter);
    ext->ProbeAdapter = NULL;
}

static VP_STATUS NTAPI DmtFindAdapter(PVOID HwDeviceExtension, PVOID HwContext,
                                      PWSTR ArgumentString, PVIDEO_PORT_CONFIG_INFO ConfigInfo,
                                      PUCHAR Again)
{
    PDMTMINI_EXT ext = HwDeviceExtension;
    VIDEO_ACCESS_RANGE range;
    ULONG slot = 0;
    (void)HwContext;
    (void)ArgumentString;
    *Again = FALSE;
    if (ConfigInfo->Length < sizeof(VIDEO_PORT_CONFIG_INFO))
        return ERROR_INVALID_PARAMETER;

    /* PnP: the BAR VideoPort assigned (vendor/device are not needed). */
    VideoPortZeroMemory(&range, sizeof(range));
    if (VideoPortGetAccessRanges(ext, 0, NULL, 1, &range, NULL, NULL, &slot) != NO_ERROR ||
        range.RangeLength < DMTHW_BAR_SIZE || range.RangeInIoSpace)
        return ERROR_DEV_NOT_EXIST;
    ext->Regs = VideoPortGetDeviceBase(ext, range.RangeStart, DMTHW_BAR_SIZE, range.RangeInIoSpace);
    if (!ext->Regs)
        return ERROR_DEV_NOT_EXIST;

    ext->Id = RegRead(ext, DMTHW_REG_ID);
    ext->Caps = RegRead(ext, DMTHW_REG_CAPS);
    ext->DevmemSize = RegRead(ext, DMTHW_REG_DEVMEM_SIZE);
    ext->Revision = ext->Id & 0xFFu;
    ext->DescSize = DMTHW_CAPS_DESC_SIZE(ext->Caps);
    ext->AddrBits = DMTHW_CAPS_ADDR_BITS(ext->Caps);
    if ((ext->Id & DMTHW_ID_MASK) != DMTHW_ID_MAGIC || DMTHW_CAPS_CHANNELS(ext->Caps) < 2 ||
        !((ext->Revision == 1 && ext->DescSize == DMTHW_DESC1_SIZE) ||
          (ext->Revision == 2 && ext->DescSize == DMTHW_DESC2_SIZE)) ||
        ext->AddrBits < 32 || ext->AddrBits > 64) {
        VideoPortFreeDeviceBase(ext, ext->Regs);
        ext->Regs = NULL;
        return ERROR_DEV_NOT_EXIST;
    }

    RegWrite(ext, DMTHW_REG_IRQ_ENABLE, 0);
    for (ULONG c = 0; c < DMTMINI_NUM_CH; c++)
        ChannelReset(ext, c);
    RegWrite(ext, DMTHW_REG_IRQ_STATUS, DMTHW_IRQ_ALL);

    VP_STATUS st = NO_ERROR;
    for (ULONG c = 0; c < DMTMINI_NUM_CH && st == NO_ERROR; c++) {
        ext->Ch[c].Index = c;
        ext->Ch[c].Ext = ext;
        st = VideoPortCreateEvent(ext, SYNCHRONIZATION_EVENT | INITIAL_EVENT_NOT_SIGNALED, NULL,
                                  &ext->Ch[c].DoneEvent);
        if (st == NO_ERROR)
            st = VideoPortCreateSpinLock(ext, &ext->Ch[c].Lock);
    }
    if (st == NO_ERROR) {
        DefaultConfig(&ext->Config);
        for (ULONG c = 0; c < DMTMINI_NUM_CH && st == NO_ERROR; c++)
            st = ChannelSetup(ext, &ext->Ch[c]);
    }
    if (st != NO_ERROR) {
        for (ULONG c = 0; c < DMTMINI_NUM_CH; c++) {
            ChannelTeardown(ext, &ext->Ch[c]);
            if (ext->Ch[c].DoneEvent)
                VideoPortDeleteEvent(ext, ext->Ch[c].DoneEvent);
            ext->Ch[c].DoneEvent = NULL;
            if (ext->Ch[c].Lock)
                VideoPortDeleteSpinLock(ext, ext->Ch[c].Lock);
            ext->Ch[c].Lock = NULL;
        }
        VideoPortFreeDeviceBase(ext, ext->Regs);
        ext->Regs = NULL;
        return st;
    }
    /* Last: the probe's snapshot at attach then covers the channels. */
    ProbeRingSetup(ext);
    return NO_ERROR;
}

static BOOLEAN NTAPI DmtInitialize(PVOID HwDeviceExtension)
{
    PDMTMINI_EXT ext = HwDeviceExtension;
    RegWrite(ext, DMTHW_REG_IRQ_ENABLE, DMTHW_IRQ_ALL);
    return TRUE;
}

ULONG NTAPI DriverEntry(PVOID Context1, PVOID Context2)
{
    VIDEO_HW_INITIALIZATION_DATA init;
    VideoPortZeroMemory(&init, sizeof(init));
    init.HwInitDataSize = sizeof(init);
    init.AdapterInterfaceType = PCIBus;
    init.HwFindAdapter = DmtFindAdapter;
    init.HwInitialize = DmtInitialize;
    init.HwInterrupt = DmtInterrupt;
    init.HwStartIO = DmtStartIO;
    init.HwDeviceExtensionSize = sizeof(DMTMINI_EXT);
    return VideoPortInitialize(Context1, Context2, &init, NULL);
}

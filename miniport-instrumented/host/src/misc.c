/*
 * misc.c - the remaining VideoPort services: memory helpers, pool, debug
 * output, registry and version queries, interlocked operations,
 * VideoPortGetProcAddress's table, and stubs for the parts of the DDI the
 * host does not model (NT4 DMA, Int10, ROM, child enumeration, timer...).
 *
 * Pool memory is filled with 0xA5 rather than zeroed: Windows does not zero
 * pool, and a fixed pattern keeps a driver that reads uninitialized pool
 * reproducible.  Stubs count hvp_stats.unsupported_calls, log a warning and
 * return the failure value a real videoprt returns for "not available".
 */
#include "hvp_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_FILL 0xA5

/* ---- memory -------------------------------------------------------------- */

VOID NTAPI VideoPortZeroMemory(IN PVOID Destination, IN ULONG Length)
{
    if (Destination && Length)
        memset(Destination, 0, Length);
}

VOID NTAPI VideoPortZeroDeviceMemory(IN PVOID Destination, IN ULONG Length)
{
    if (Destination && Length)
        memset(Destination, 0, Length);
}

VOID NTAPI VideoPortMoveMemory(IN PVOID Destination, IN PVOID Source, IN ULONG Length)
{
    if (Destination && Source && Length)
        memmove(Destination, Source, Length);
}

ULONG NTAPI VideoPortCompareMemory(IN PVOID Source1, IN PVOID Source2, IN SIZE_T Length)
{
    const unsigned char *a = Source1, *b = Source2;
    SIZE_T i = 0;
    while (i < Length && a[i] == b[i])
        i++;
    return (ULONG)i; /* RtlCompareMemory: number of equal leading bytes */
}

PVOID NTAPI VideoPortAllocatePool(IN PVOID HwDeviceExtension, IN VP_POOL_TYPE PoolType,
                                  IN SIZE_T NumberOfBytes, IN ULONG Tag)
{
    (void)PoolType;
    (void)Tag;
    hvp__machine_of(HwDeviceExtension, "VideoPortAllocatePool");
    if (NumberOfBytes == 0)
        return NULL;
    void *p = malloc(NumberOfBytes);
    if (p)
        memset(p, POOL_FILL, NumberOfBytes);
    return p;
}

VOID NTAPI VideoPortFreePool(IN PVOID HwDeviceExtension, IN PVOID Ptr)
{
    (void)HwDeviceExtension;
    free(Ptr);
}

VP_STATUS NTAPI VideoPortAllocateBuffer(IN PVOID HwDeviceExtension, IN ULONG Size,
                                        OUT PVOID *Buffer)
{
    if (!Buffer)
        return ERROR_INVALID_PARAMETER;
    *Buffer = VideoPortAllocatePool(HwDeviceExtension, VpPagedPool, Size, 0);
    return *Buffer ? NO_ERROR : ERROR_NOT_ENOUGH_MEMORY;
}

VOID NTAPI VideoPortReleaseBuffer(IN PVOID HwDeviceExtension, IN PVOID Buffer)
{
    (void)HwDeviceExtension;
    free(Buffer);
}

LONG FASTCALL VideoPortInterlockedIncrement(IN PLONG Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}

LONG FASTCALL VideoPortInterlockedDecrement(IN PLONG Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}

LONG FASTCALL VideoPortInterlockedExchange(IN OUT PLONG Target, IN LONG Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}

/* ---- diagnostics ----------------------------------------------------------- */

VOID __cdecl VideoPortDebugPrint(IN VIDEO_DEBUG_LEVEL DebugPrintLevel, IN PSTR DebugMessage, ...)
{
    hvp_machine *m = hvp__current();
    if (!m || !m->cfg.log || !DebugMessage)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, DebugMessage);
    /* The format is the driver's, as with the real VideoPortDebugPrint. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    vsnprintf(buf, sizeof(buf), DebugMessage, ap);
#pragma GCC diagnostic pop
    va_end(ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    hvp__log_driver(m, (int)DebugPrintLevel, buf);
}

VOID NTAPI VideoPortLogError(IN PVOID HwDeviceExtension, IN PVIDEO_REQUEST_PACKET Vrp OPTIONAL,
                             IN VP_STATUS ErrorCode, IN ULONG UniqueId)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortLogError");
    hvp__log(m, HVP_LOG_WARN, "VideoPortLogError: error %d, unique id 0x%08X%s", (int)ErrorCode,
             UniqueId, Vrp ? " (with request)" : "");
}

/* ---- registry, version ----------------------------------------------------- */

VP_STATUS NTAPI VideoPortGetRegistryParameters(IN PVOID HwDeviceExtension, IN PWSTR ParameterName,
                                               IN UCHAR IsParameterFileName,
                                               IN PMINIPORT_GET_REGISTRY_ROUTINE CallbackRoutine,
                                               IN PVOID Context)
{
    (void)ParameterName;
    (void)IsParameterFileName;
    (void)CallbackRoutine;
    (void)Context;
    hvp__machine_of(HwDeviceExtension, "VideoPortGetRegistryParameters");
    return ERROR_INVALID_PARAMETER; /* the host has no registry: value not found */
}

VP_STATUS NTAPI VideoPortSetRegistryParameters(IN PVOID HwDeviceExtension, IN PWSTR ValueName,
                                               IN PVOID ValueData, IN ULONG ValueLength)
{
    (void)ValueName;
    (void)ValueData;
    (void)ValueLength;
    hvp__machine_of(HwDeviceExtension, "VideoPortSetRegistryParameters");
    return NO_ERROR;
}

VP_STATUS NTAPI VideoPortFlushRegistry(PVOID HwDeviceExtension)
{
    (void)HwDeviceExtension;
    return NO_ERROR;
}

VP_STATUS NTAPI VideoPortGetVersion(IN PVOID HwDeviceExtension,
                                    IN OUT PVPOSVERSIONINFO pVpOsVersionInfo)
{
    (void)HwDeviceExtension;
    if (!pVpOsVersionInfo || pVpOsVersionInfo->Size < sizeof(VPOSVERSIONINFO))
        return ERROR_INVALID_PARAMETER;
    pVpOsVersionInfo->MajorVersion = 5; /* Windows XP SP3 */
    pVpOsVersionInfo->MinorVersion = 1;
    pVpOsVersionInfo->BuildNumber = 2600;
    pVpOsVersionInfo->ServicePackMajor = 3;
    pVpOsVersionInfo->ServicePackMinor = 0;
    return NO_ERROR;
}

VP_STATUS NTAPI VideoPortGetVgaStatus(IN PVOID HwDeviceExtension, OUT PULONG VgaStatus)
{
    (void)HwDeviceExtension;
    if (VgaStatus)
        *VgaStatus = 0;
    return NO_ERROR;
}

BOOLEAN NTAPI VideoPortIsNoVesa(VOID)
{
    return FALSE;
}

/* ---- not modelled -------------------------------------------------------- */

#define UNSUPPORTED() hvp__unsupported(__func__)

VOID NTAPI VideoPortStartTimer(IN PVOID HwDeviceExtension)
{
    (void)HwDeviceExtension;
    UNSUPPORTED();
}

VOID NTAPI VideoPortStopTimer(IN PVOID HwDeviceExtension)
{
    (void)HwDeviceExtension;
    UNSUPPORTED();
}

VP_STATUS NTAPI VideoPortMapBankedMemory(IN PVOID HwDeviceExtension,
                                         IN PHYSICAL_ADDRESS PhysicalAddress, IN OUT PULONG Length,
                                         PULONG InIoSpace, PVOID *VirtualAddress, ULONG BankLength,
                                         UCHAR ReadWriteBank, PBANKED_SECTION_ROUTINE BankRoutine,
                                         PVOID Context)
{
    (void)BankLength;
    (void)ReadWriteBank;
    (void)BankRoutine;
    (void)Context;
    return VideoPortMapMemory(HwDeviceExtension, PhysicalAddress, Length, InIoSpace,
                              VirtualAddress);
}

VP_STATUS NTAPI VideoPortGetDeviceData(IN PVOID HwDeviceExtension,
                                       IN VIDEO_DEVICE_DATA_TYPE DeviceDataType,
                                       IN PMINIPORT_QUERY_DEVICE_ROUTINE CallbackRoutine,
                                       IN PVOID Context)
{
    (void)HwDeviceExtension;
    (void)DeviceDataType;
    (void)CallbackRoutine;
    (void)Context;
    UNSUPPORTED();
    return ERROR_INVALID_PARAMETER;
}

VP_STATUS NTAPI VideoPortQueryServices(IN PVOID HwDeviceExtension,
                                       IN VIDEO_PORT_SERVICES ServicesType,
                                       IN OUT PINTERFACE Interface)
{
    (void)HwDeviceExtension;
    (void)ServicesType;
    (void)Interface;
    UNSUPPORTED();
    return ERROR_INVALID_PARAMETER;
}

VP_STATUS NTAPI VideoPortEnumerateChildren(IN PVOID HwDeviceExtension, IN PVOID Reserved)
{
    (void)HwDeviceExtension;
    (void)Reserved;
    return NO_ERROR; /* no children */
}

VP_STATUS NTAPI VideoPortInt10(IN PVOID HwDeviceExtension,
                               IN PVIDEO_X86_BIOS_ARGUMENTS BiosArguments)
{
    (void)HwDeviceExtension;
    (void)BiosArguments;
    UNSUPPORTED();
    return ERROR_INVALID_FUNCTION;
}

PVOID NTAPI VideoPortGetRomImage(IN PVOID HwDeviceExtension, IN PVOID Unused1, IN ULONG Unused2,
                                 IN ULONG Length)
{
    (void)HwDeviceExtension;
    (void)Unused1;
    (void)Unused2;
    (void)Length;
    UNSUPPORTED();
    return NULL;
}

BOOLEAN NTAPI VideoPortScanRom(PVOID HwDeviceExtension, PUCHAR RomBase, ULONG RomLength,
                               PUCHAR String)
{
    (void)HwDeviceExtension;
    (void)RomBase;
    (void)RomLength;
    (void)String;
    UNSUPPORTED();
    return FALSE;
}

VP_STATUS NTAPI VideoPortSetTrappedEmulatorPorts(IN PVOID HwDeviceExtension,
                                                 IN ULONG NumAccessRanges,
                                                 IN PVIDEO_ACCESS_RANGE AccessRange)
{
    (void)HwDeviceExtension;
    (void)NumAccessRanges;
    (void)AccessRange;
    return NO_ERROR;
}

BOOLEAN NTAPI VideoPortDDCMonitorHelper(IN PVOID HwDeviceExtension, IN PVOID DDCControl,
                                        IN OUT PUCHAR EdidBuffer, IN ULONG EdidBufferSize)
{
    (void)HwDeviceExtension;
    (void)DDCControl;
    (void)EdidBuffer;
    (void)EdidBufferSize;
    UNSUPPORTED();
    return FALSE;
}

VP_STATUS NTAPI VideoPortCreateSecondaryDisplay(IN PVOID HwDeviceExtension,
                                                IN OUT PVOID *SecondaryDeviceExtension,
                                                IN ULONG ulFlag)
{
    (void)HwDeviceExtension;
    (void)SecondaryDeviceExtension;
    (void)ulFlag;
    UNSUPPORTED();
    return ERROR_DEV_NOT_EXIST;
}

PVOID NTAPI VideoPortGetAssociatedDeviceExtension(IN PVOID DeviceObject)
{
    (void)DeviceObject;
    UNSUPPORTED();
    return NULL;
}

ULONG NTAPI VideoPortGetAssociatedDeviceID(IN PVOID DeviceObject)
{
    (void)DeviceObject;
    UNSUPPORTED();
    return 0;
}

VP_STATUS NTAPI VideoPortRegisterBugcheckCallback(IN PVOID HwDeviceExtension, IN ULONG BugcheckCode,
                                                  IN PVIDEO_BUGCHECK_CALLBACK Callback,
                                                  IN ULONG BugcheckDataSize)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortRegisterBugcheckCallback");
    /* VideoPort's rules: bug check 0xEA only, at most 4000 bytes including
     * the BUGCHECK_DATA_SIZE_RESERVED it keeps; the host calls the
     * callback only when a test asks (hvp_bugcheck). */
    if (!m || BugcheckCode != 0xEA || !Callback ||
        BugcheckDataSize <= BUGCHECK_DATA_SIZE_RESERVED || BugcheckDataSize > 4000)
        return ERROR_INVALID_PARAMETER;
    pthread_mutex_lock(&m->lock);
    m->bugcheck_cb = Callback;
    m->bugcheck_size = BugcheckDataSize;
    pthread_mutex_unlock(&m->lock);
    return NO_ERROR;
}

int hvp_bugcheck(hvp_machine *m, uint32_t code, void *buf, size_t cap, size_t *data_size)
{
    pthread_mutex_lock(&m->lock);
    PVIDEO_BUGCHECK_CALLBACK cb = m->bugcheck_cb;
    size_t size = m->bugcheck_size;
    pthread_mutex_unlock(&m->lock);
    if (!cb || code != 0xEA)
        return HVP_ENODEV;
    size -= BUGCHECK_DATA_SIZE_RESERVED;
    if (data_size)
        *data_size = size;
    if (cap < size)
        return HVP_EINVAL;
    cb(m->devext, code, (PUCHAR)buf, (ULONG)size);
    return HVP_OK;
}

PVIDEO_DEBUG_REPORT NTAPI VideoPortDbgReportCreate(IN PVOID HwDeviceExtension, IN ULONG ulCode,
                                                   IN ULONG_PTR ulpArg1, IN ULONG_PTR ulpArg2,
                                                   IN ULONG_PTR ulpArg3, IN ULONG_PTR ulpArg4)
{
    (void)HwDeviceExtension;
    (void)ulCode;
    (void)ulpArg1;
    (void)ulpArg2;
    (void)ulpArg3;
    (void)ulpArg4;
    UNSUPPORTED();
    return NULL;
}

BOOLEAN NTAPI VideoPortDbgReportSecondaryData(IN OUT PVIDEO_DEBUG_REPORT pReport, IN PVOID pvData,
                                              IN ULONG ulDataSize)
{
    (void)pReport;
    (void)pvData;
    (void)ulDataSize;
    return FALSE;
}

VOID NTAPI VideoPortDbgReportComplete(IN OUT PVIDEO_DEBUG_REPORT pReport)
{
    (void)pReport;
}

/* NT4 DMA model: stubs, as in ReactOS. */
PDMA NTAPI VideoPortDoDma(IN PVOID HwDeviceExtension, IN PDMA pDma, IN DMA_FLAGS DmaFlags)
{
    (void)HwDeviceExtension;
    (void)pDma;
    (void)DmaFlags;
    UNSUPPORTED();
    return NULL;
}

BOOLEAN NTAPI VideoPortLockPages(IN PVOID HwDeviceExtension, IN OUT PVIDEO_REQUEST_PACKET pVrp,
                                 IN OUT PEVENT pUEvent, IN PEVENT pDisplayEvent,
                                 IN DMA_FLAGS DmaFlags)
{
    (void)HwDeviceExtension;
    (void)pVrp;
    (void)pUEvent;
    (void)pDisplayEvent;
    (void)DmaFlags;
    UNSUPPORTED();
    return FALSE;
}

BOOLEAN NTAPI VideoPortUnlockPages(IN PVOID hwDeviceExtension, IN OUT PDMA pDma)
{
    (void)hwDeviceExtension;
    (void)pDma;
    UNSUPPORTED();
    return FALSE;
}

BOOLEAN NTAPI VideoPortSignalDmaComplete(IN PVOID HwDeviceExtension, IN PDMA pDmaHandle)
{
    (void)HwDeviceExtension;
    (void)pDmaHandle;
    UNSUPPORTED();
    return FALSE;
}

PVOID NTAPI VideoPortGetMdl(IN PVOID HwDeviceExtension, IN PDMA pDma)
{
    (void)HwDeviceExtension;
    (void)pDma;
    UNSUPPORTED();
    return NULL;
}

PVOID NTAPI VideoPortGetDmaContext(IN PVOID HwDeviceExtension, IN PDMA pDma)
{
    (void)HwDeviceExtension;
    (void)pDma;
    UNSUPPORTED();
    return NULL;
}

VOID NTAPI VideoPortSetDmaContext(IN PVOID HwDeviceExtension, OUT PDMA pDma,
                                  IN PVOID InstanceContext)
{
    (void)HwDeviceExtension;
    (void)pDma;
    (void)InstanceContext;
    UNSUPPORTED();
}

ULONG NTAPI VideoPortGetBytesUsed(IN PVOID HwDeviceExtension, IN PDMA pDma)
{
    (void)HwDeviceExtension;
    (void)pDma;
    UNSUPPORTED();
    return 0;
}

VOID NTAPI VideoPortSetBytesUsed(IN PVOID HwDeviceExtension, IN OUT PDMA pDma, IN ULONG BytesUsed)
{
    (void)HwDeviceExtension;
    (void)pDma;
    (void)BytesUsed;
    UNSUPPORTED();
}

PDMA NTAPI VideoPortAssociateEventsWithDmaHandle(IN PVOID HwDeviceExtension,
                                                 IN OUT PVIDEO_REQUEST_PACKET pVrp,
                                                 IN PVOID MappedUserEvent,
                                                 IN PVOID DisplayDriverEvent)
{
    (void)HwDeviceExtension;
    (void)pVrp;
    (void)MappedUserEvent;
    (void)DisplayDriverEvent;
    UNSUPPORTED();
    return NULL;
}

PDMA NTAPI VideoPortMapDmaMemory(IN PVOID HwDeviceExtension, IN PVIDEO_REQUEST_PACKET pVrp,
                                 IN PHYSICAL_ADDRESS BoardAddress, IN PULONG Length,
                                 IN PULONG InIoSpace, IN PVOID MappedUserEvent,
                                 IN PVOID DisplayDriverEvent, IN OUT PVOID *VirtualAddress)
{
    (void)HwDeviceExtension;
    (void)pVrp;
    (void)BoardAddress;
    (void)Length;
    (void)InIoSpace;
    (void)MappedUserEvent;
    (void)DisplayDriverEvent;
    (void)VirtualAddress;
    UNSUPPORTED();
    return NULL;
}

BOOLEAN NTAPI VideoPortUnmapDmaMemory(IN PVOID HwDeviceExtension, IN PVOID VirtualAddress,
                                      IN HANDLE ProcessHandle, IN PDMA BoardMemoryHandle)
{
    (void)HwDeviceExtension;
    (void)VirtualAddress;
    (void)ProcessHandle;
    (void)BoardMemoryHandle;
    UNSUPPORTED();
    return FALSE;
}

/* ---- VideoPortGetProcAddress ------------------------------------------------ */

#define PROC(name)                                                                                 \
    {                                                                                              \
#name, (void *)(uintptr_t)name                                                             \
    }
static const struct {
    const char *name;
    void *fn;
} g_procs[] = {
    PROC(VideoPortGetDmaAdapter),
    PROC(VideoPortPutDmaAdapter),
    PROC(VideoPortAllocateCommonBuffer),
    PROC(VideoPortReleaseCommonBuffer),
    PROC(VideoPortLockBuffer),
    PROC(VideoPortUnlockBuffer),
    PROC(VideoPortStartDma),
    PROC(VideoPortCompleteDma),
    PROC(VideoPortCreateEvent),
    PROC(VideoPortDeleteEvent),
    PROC(VideoPortSetEvent),
    PROC(VideoPortClearEvent),
    PROC(VideoPortReadStateEvent),
    PROC(VideoPortWaitForSingleObject),
    PROC(VideoPortAllocatePool),
    PROC(VideoPortFreePool),
    PROC(VideoPortCreateSpinLock),
    PROC(VideoPortDeleteSpinLock),
    PROC(VideoPortAcquireSpinLock),
    PROC(VideoPortAcquireSpinLockAtDpcLevel),
    PROC(VideoPortReleaseSpinLock),
    PROC(VideoPortReleaseSpinLockFromDpcLevel),
    PROC(VideoPortQueueDpc),
    PROC(VideoPortQueryPerformanceCounter),
    PROC(VideoPortQueryServices),
    PROC(VideoPortGetVersion),
    PROC(VideoPortCheckForDeviceExistence),
    PROC(VideoPortGetAssociatedDeviceID),
    PROC(VideoPortFlushRegistry),
    PROC(VideoPortIsNoVesa),
    PROC(VideoPortCreateSecondaryDisplay),
    PROC(VideoPortGetCommonBuffer),
    PROC(VideoPortFreeCommonBuffer),
    PROC(VideoPortGetCurrentIrql),
    PROC(VideoPortRegisterBugcheckCallback), /* XP SP1 and later */
};

void *hvp__proc_address(const char *name)
{
    for (size_t i = 0; i < sizeof(g_procs) / sizeof(g_procs[0]); i++)
        if (strcmp(g_procs[i].name, name) == 0)
            return g_procs[i].fn;
    return NULL;
}

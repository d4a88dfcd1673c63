/*
 * regs.c - the device's resources as the miniport sees them: PCI config
 * space, access ranges, VideoPortGetDeviceBase / MapMemory, and the register
 * and port accessors.
 *
 * The BAR is never mapped to real memory.  VideoPortGetDeviceBase reserves a
 * PROT_NONE range of the same page offset and length and records it in a
 * process-wide registry; register accessors look the address up there (they
 * receive nothing else), translate it to a BAR offset and forward to
 * dmm_reg_read/dmm_reg_write under the machine's layout read lock (an engine
 * run only ever happens inside such a call).  A driver that dereferences the
 * pointer directly faults, as it would be wrong on Windows too.
 *
 *   driver VA  [ va .............. va+len )   PROT_NONE
 *                |  off = bar_off + (p - va)
 *   BAR        [ 0 ... DMM_BAR_SIZE )          dmm_reg_read/write(off)
 *
 * In deterministic mode every accessor call moves simulated time (device and
 * clock) by hvp_config.mmio_ns, once per call (a Buffer call counts once).
 *
 * The device decodes 32-bit accesses only: 8/16-bit reads take the bytes of
 * the containing register; 8/16-bit writes are done as read-modify-write and
 * reported (HVP_MISUSE_REG_WIDTH).  The device has no I/O space, so the Port
 * accessors only report HVP_MISUSE_PORT_IO.
 */
#include "hvp_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static pthread_mutex_t g_map_lock = PTHREAD_MUTEX_INITIALIZER;
static hvp_mapping *g_maps;

/* ---- mappings -------------------------------------------------------------- */

static void *map_bar(hvp_machine *m, uint64_t phys, uint32_t len)
{
    uint32_t po = (uint32_t)(phys & (HVP_PAGE - 1));
    size_t mm_len = ((size_t)po + len + HVP_PAGE - 1) & ~(size_t)(HVP_PAGE - 1);
    void *base;
    if (m->va_arena) {
        /* Deterministic address; the pages stay inaccessible (registers are
         * reached through the accessors, never dereferenced). */
        base = hvp__va_alloc(m, mm_len);
        if (!base || mprotect(base, mm_len, PROT_NONE) != 0)
            return NULL;
    } else {
        base = mmap(NULL, mm_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED)
            return NULL;
    }
    hvp_mapping *mp = calloc(1, sizeof(*mp));
    if (!mp) {
        if (!hvp__va_owned(m, base))
            munmap(base, mm_len);
        return NULL;
    }
    *mp = (hvp_mapping){.m = m,
                        .va = (uintptr_t)base + po,
                        .len = len,
                        .bar_off = (uint32_t)(phys - m->cfg.bar_phys),
                        .mm_base = base,
                        .mm_len = mm_len};
    pthread_mutex_lock(&g_map_lock);
    mp->next = g_maps;
    g_maps = mp;
    pthread_mutex_unlock(&g_map_lock);
    return (void *)mp->va;
}

static bool add_alias(hvp_machine *m, void *va, uint32_t len)
{
    hvp_mapping *mp = calloc(1, sizeof(*mp));
    if (!mp)
        return false;
    *mp = (hvp_mapping){.m = m, .va = (uintptr_t)va, .len = len, .alias = true};
    pthread_mutex_lock(&g_map_lock);
    mp->next = g_maps;
    g_maps = mp;
    pthread_mutex_unlock(&g_map_lock);
    return true;
}

/* Removes the mapping of machine m starting exactly at va. */
static bool unmap_at(hvp_machine *m, const void *va, bool allow_alias)
{
    hvp_mapping *found = NULL;
    pthread_mutex_lock(&g_map_lock);
    for (hvp_mapping **pp = &g_maps; *pp; pp = &(*pp)->next)
        if ((*pp)->m == m && (*pp)->va == (uintptr_t)va && (allow_alias || !(*pp)->alias)) {
            found = *pp;
            *pp = found->next;
            break;
        }
    pthread_mutex_unlock(&g_map_lock);
    if (!found)
        return false;
    if (!found->alias && !hvp__va_owned(found->m, found->mm_base))
        munmap(found->mm_base, found->mm_len);
    free(found);
    return true;
}

void hvp__regs_teardown(hvp_machine *m)
{
    hvp_mapping *mine = NULL;
    pthread_mutex_lock(&g_map_lock);
    for (hvp_mapping **pp = &g_maps; *pp;) {
        hvp_mapping *mp = *pp;
        if (mp->m == m) {
            *pp = mp->next;
            mp->next = mine;
            mine = mp;
        } else {
            pp = &mp->next;
        }
    }
    pthread_mutex_unlock(&g_map_lock);
    while (mine) {
        hvp_mapping *mp = mine;
        mine = mp->next;
        if (!mp->alias && !hvp__va_owned(mp->m, mp->mm_base))
            munmap(mp->mm_base, mp->mm_len);
        free(mp);
    }
}

static bool in_bar(const hvp_machine *m, uint64_t a, uint64_t len)
{
    return len && a >= m->cfg.bar_phys && a - m->cfg.bar_phys <= DMM_BAR_SIZE &&
           len <= DMM_BAR_SIZE - (a - m->cfg.bar_phys);
}

PVOID NTAPI VideoPortGetDeviceBase(IN PVOID HwDeviceExtension, IN PHYSICAL_ADDRESS IoAddress,
                                   IN ULONG NumberOfUchars, IN UCHAR InIoSpace)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortGetDeviceBase");
    if (!m)
        return NULL;
    hvp__check_irql(m, HVP_IRQL_PASSIVE, "VideoPortGetDeviceBase");
    uint64_t a = (uint64_t)IoAddress.QuadPart;
    if ((InIoSpace & VIDEO_MEMORY_SPACE_IO) || !in_bar(m, a, NumberOfUchars)) {
        hvp__misuse(m, HVP_MISUSE_MAP_RANGE,
                    "VideoPortGetDeviceBase(0x%llx, %u, InIoSpace %u): not inside the device's "
                    "memory BAR [0x%llx, +0x%x)",
                    (unsigned long long)a, NumberOfUchars, InIoSpace,
                    (unsigned long long)m->cfg.bar_phys, DMM_BAR_SIZE);
        return NULL;
    }
    return map_bar(m, a, NumberOfUchars);
}

VOID NTAPI VideoPortFreeDeviceBase(IN PVOID HwDeviceExtension, IN PVOID MappedAddress)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortFreeDeviceBase");
    if (!m)
        return;
    if (!unmap_at(m, MappedAddress, false))
        hvp__misuse(m, HVP_MISUSE_UNMAP_UNKNOWN,
                    "VideoPortFreeDeviceBase: %p is not from VideoPortGetDeviceBase",
                    MappedAddress);
}

VP_STATUS NTAPI VideoPortMapMemory(IN PVOID HwDeviceExtension, IN PHYSICAL_ADDRESS PhysicalAddress,
                                   IN OUT PULONG Length, IN PULONG InIoSpace,
                                   IN OUT PVOID *VirtualAddress)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortMapMemory");
    if (!m)
        return ERROR_INVALID_PARAMETER;
    hvp__check_irql(m, HVP_IRQL_PASSIVE, "VideoPortMapMemory");
    if (!Length || !InIoSpace || !VirtualAddress) {
        hvp__misuse(m, HVP_MISUSE_BAD_ARG, "VideoPortMapMemory: NULL argument");
        return ERROR_INVALID_PARAMETER;
    }
    uint64_t a = (uint64_t)PhysicalAddress.QuadPart;
    uint32_t len = *Length;
    if (!(*InIoSpace & VIDEO_MEMORY_SPACE_IO)) {
        if (in_bar(m, a, len)) {
            void *va = map_bar(m, a, len);
            if (!va)
                return ERROR_NOT_ENOUGH_MEMORY;
            *VirtualAddress = va;
            return NO_ERROR;
        }
        /* A common buffer (RAM) can be mapped: the alias is its host memory. */
        void *va = NULL;
        pthread_mutex_lock(&m->lock);
        for (hvp_cb *cb = m->cbs; cb; cb = cb->next)
            if (len && a >= cb->phys && a - cb->phys < cb->pages * HVP_PAGE &&
                len <= cb->pages * HVP_PAGE - (a - cb->phys)) {
                va = (char *)cb->va + (a - cb->phys);
                break;
            }
        pthread_mutex_unlock(&m->lock);
        if (va && add_alias(m, va, len)) {
            *VirtualAddress = va;
            return NO_ERROR;
        }
    }
    hvp__misuse(m, HVP_MISUSE_MAP_RANGE,
                "VideoPortMapMemory(0x%llx, %u, InIoSpace 0x%x): neither the device BAR nor a "
                "common buffer",
                (unsigned long long)a, len, *InIoSpace);
    return ERROR_INVALID_PARAMETER;
}

VP_STATUS NTAPI VideoPortUnmapMemory(IN PVOID HwDeviceExtension, IN OUT PVOID VirtualAddress,
                                     IN HANDLE ProcessHandle)
{
    (void)ProcessHandle;
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortUnmapMemory");
    if (!m)
        return ERROR_INVALID_PARAMETER;
    if (!unmap_at(m, VirtualAddress, true)) {
        hvp__misuse(m, HVP_MISUSE_UNMAP_UNKNOWN,
                    "VideoPortUnmapMemory: %p is not from VideoPortMapMemory", VirtualAddress);
        return ERROR_INVALID_PARAMETER;
    }
    return NO_ERROR;
}

/* ---- register access ------------------------------------------------------- */

/* Resolves [p, p+bytes) to (machine, BAR offset); reports and fails if it is not
 * entirely inside one register mapping. */
static bool resolve(const volatile void *p, uint64_t bytes, hvp_machine **pm, uint32_t *off,
                    const char *fn)
{
    uintptr_t a = (uintptr_t)p;
    hvp_machine *m = NULL;
    bool partial = false;
    pthread_mutex_lock(&g_map_lock);
    for (hvp_mapping *mp = g_maps; mp; mp = mp->next) {
        if (mp->alias || a < mp->va || a - mp->va >= mp->len)
            continue;
        if (bytes > mp->len - (a - mp->va)) {
            partial = true;
            m = mp->m;
            break;
        }
        m = mp->m;
        *off = mp->bar_off + (uint32_t)(a - mp->va);
        break;
    }
    pthread_mutex_unlock(&g_map_lock);
    if (m && !partial) {
        *pm = m;
        return true;
    }
    hvp__misuse(m, HVP_MISUSE_REG_OUT_OF_RANGE, "%s(%p, %llu bytes): %s", fn, (const void *)p,
                (unsigned long long)bytes,
                partial ? "runs past the end of its VideoPortGetDeviceBase range"
                        : "not inside any VideoPortGetDeviceBase range");
    return false;
}

static uint32_t model_read32(hvp_machine *m, uint32_t off)
{
    pthread_rwlock_rdlock(&m->layout);
    uint32_t v = dmm_reg_read(m->dev, off);
    pthread_rwlock_unlock(&m->layout);
    hvp__stat_add(m, &m->st.reg_reads, 1);
    return v;
}

static void model_write32(hvp_machine *m, uint32_t off, uint32_t v)
{
    pthread_rwlock_rdlock(&m->layout);
    dmm_reg_write(m->dev, off, v);
    pthread_rwlock_unlock(&m->layout);
    hvp__stat_add(m, &m->st.reg_writes, 1);
    hvp__kick(m);
}

/* Replay hook points (hvp_replay.h): with a backend, reads return its value
 * and writes are reported to it; when it replaces the device the model
 * never sees the access. */
static uint32_t reg_read32(hvp_machine *m, uint32_t off)
{
    if (!m->rp)
        return model_read32(m, off);
    return hvp__replay_read(m, off, 4,
                            hvp__replay_replaces(m) ? 0xFFFFFFFFu : model_read32(m, off));
}

static void reg_write32(hvp_machine *m, uint32_t off, uint32_t v)
{
    if (m->rp) {
        hvp__replay_write(m, off, 4, v);
        if (hvp__replay_replaces(m))
            return;
    }
    model_write32(m, off, v);
}

static void after_access(hvp_machine *m)
{
    if (m->cfg.deterministic && m->cfg.mmio_ns)
        hvp__advance(m, m->cfg.mmio_ns);
    if (hvp__cpu.irql == HVP_IRQL_PASSIVE)
        hvp__deliver(m);
}

/* 8/16-bit read out of the containing 32-bit register. */
static uint32_t narrow_read(const volatile void *p, uint32_t width, const char *fn)
{
    hvp_machine *m;
    uint32_t off;
    uint32_t ones = width == 1 ? 0xFFu : 0xFFFFu;
    if (!resolve(p, width, &m, &off, fn))
        return ones;
    if ((off & 3) + width > 4) {
        hvp__misuse(m, HVP_MISUSE_REG_WIDTH,
                    "%s: access at BAR offset 0x%x straddles two "
                    "32-bit registers",
                    fn, off);
        return ones;
    }
    uint32_t v;
    if (m->rp) /* replay hook point: the backend sees the narrow access as made */
        v = hvp__replay_read(m, off, width,
                             hvp__replay_replaces(m)
                                 ? ones
                                 : (model_read32(m, off & ~3u) >> ((off & 3) * 8)) & ones);
    else
        v = (reg_read32(m, off & ~3u) >> ((off & 3) * 8)) & ones;
    after_access(m);
    return v;
}

static void narrow_write(volatile void *p, uint32_t width, uint32_t value, const char *fn)
{
    hvp_machine *m;
    uint32_t off;
    if (!resolve(p, width, &m, &off, fn))
        return;
    if ((off & 3) + width > 4) {
        hvp__misuse(m, HVP_MISUSE_REG_WIDTH,
                    "%s: access at BAR offset 0x%x straddles two "
                    "32-bit registers; dropped",
                    fn, off);
        return;
    }
    hvp__misuse(m, HVP_MISUSE_REG_WIDTH,
                "%s at BAR offset 0x%x: the device decodes 32-bit accesses only (done as "
                "read-modify-write of 0x%x)",
                fn, off, off & ~3u);
    if (m->rp) { /* replay hook point: the backend sees the narrow access as made */
        hvp__replay_write(m, off, width, value);
        if (hvp__replay_replaces(m)) {
            after_access(m);
            return;
        }
    }
    uint32_t shift = (off & 3) * 8;
    uint32_t mask = (width == 1 ? 0xFFu : 0xFFFFu) << shift;
    uint32_t old = model_read32(m, off & ~3u);
    model_write32(m, off & ~3u, (old & ~mask) | ((value << shift) & mask));
    after_access(m);
}

ULONG NTAPI VideoPortReadRegisterUlong(IN PULONG Register)
{
    hvp_machine *m;
    uint32_t off;
    if (!resolve(Register, 4, &m, &off, "VideoPortReadRegisterUlong"))
        return 0xFFFFFFFFu;
    uint32_t v = reg_read32(m, off);
    after_access(m);
    return v;
}

VOID NTAPI VideoPortWriteRegisterUlong(IN PULONG Register, IN ULONG Value)
{
    hvp_machine *m;
    uint32_t off;
    if (!resolve(Register, 4, &m, &off, "VideoPortWriteRegisterUlong"))
        return;
    reg_write32(m, off, Value);
    after_access(m);
}

USHORT NTAPI VideoPortReadRegisterUshort(IN PUSHORT Register)
{
    return (USHORT)narrow_read(Register, 2, "VideoPortReadRegisterUshort");
}

UCHAR NTAPI VideoPortReadRegisterUchar(IN PUCHAR Register)
{
    return (UCHAR)narrow_read(Register, 1, "VideoPortReadRegisterUchar");
}

VOID NTAPI VideoPortWriteRegisterUshort(IN PUSHORT Register, IN USHORT Value)
{
    narrow_write(Register, 2, Value, "VideoPortWriteRegisterUshort");
}

VOID NTAPI VideoPortWriteRegisterUchar(IN PUCHAR Register, IN UCHAR Value)
{
    narrow_write(Register, 1, Value, "VideoPortWriteRegisterUchar");
}

/* Buffer variants: consecutive registers (rep movs semantics), both ways. */
VOID NTAPI VideoPortReadRegisterBufferUlong(IN PULONG Register, OUT PULONG Buffer, IN ULONG Count)
{
    hvp_machine *m;
    uint32_t off;
    if (Count == 0)
        return;
    if (!Buffer) {
        hvp__misuse(NULL, HVP_MISUSE_BAD_ARG, "VideoPortReadRegisterBufferUlong: NULL buffer");
        return;
    }
    if (!resolve(Register, (uint64_t)Count * 4, &m, &off, "VideoPortReadRegisterBufferUlong")) {
        for (ULONG i = 0; i < Count; i++)
            Buffer[i] = 0xFFFFFFFFu;
        return;
    }
    for (ULONG i = 0; i < Count; i++)
        Buffer[i] = reg_read32(m, off + 4 * i);
    after_access(m);
}

VOID NTAPI VideoPortWriteRegisterBufferUlong(IN PULONG Register, IN PULONG Buffer, IN ULONG Count)
{
    hvp_machine *m;
    uint32_t off;
    if (Count == 0)
        return;
    if (!Buffer) {
        hvp__misuse(NULL, HVP_MISUSE_BAD_ARG, "VideoPortWriteRegisterBufferUlong: NULL buffer");
        return;
    }
    if (!resolve(Register, (uint64_t)Count * 4, &m, &off, "VideoPortWriteRegisterBufferUlong"))
        return;
    for (ULONG i = 0; i < Count; i++)
        reg_write32(m, off + 4 * i, Buffer[i]);
    after_access(m);
}

VOID NTAPI VideoPortReadRegisterBufferUshort(IN PUSHORT Register, OUT PUSHORT Buffer,
                                             IN ULONG Count)
{
    for (ULONG i = 0; Buffer && i < Count; i++)
        Buffer[i] = (USHORT)narrow_read(Register + i, 2, "VideoPortReadRegisterBufferUshort");
}

VOID NTAPI VideoPortReadRegisterBufferUchar(IN PUCHAR Register, OUT PUCHAR Buffer, IN ULONG Count)
{
    for (ULONG i = 0; Buffer && i < Count; i++)
        Buffer[i] = (UCHAR)narrow_read(Register + i, 1, "VideoPortReadRegisterBufferUchar");
}

VOID NTAPI VideoPortWriteRegisterBufferUshort(IN PUSHORT Register, IN PUSHORT Buffer,
                                              IN ULONG Count)
{
    for (ULONG i = 0; Buffer && i < Count; i++)
        narrow_write(Register + i, 2, Buffer[i], "VideoPortWriteRegisterBufferUshort");
}

VOID NTAPI VideoPortWriteRegisterBufferUchar(IN PUCHAR Register, IN PUCHAR Buffer, IN ULONG Count)
{
    for (ULONG i = 0; Buffer && i < Count; i++)
        narrow_write(Register + i, 1, Buffer[i], "VideoPortWriteRegisterBufferUchar");
}

/* ---- port I/O: the device has none ------------------------------------------ */

static void port_misuse(const volatile void *p, const char *fn)
{
    hvp__misuse(NULL, HVP_MISUSE_PORT_IO,
                "%s(%p): the device has no I/O ports (its BAR is "
                "memory space)",
                fn, (const void *)p);
}

UCHAR NTAPI VideoPortReadPortUchar(IN PUCHAR Port)
{
    port_misuse(Port, "VideoPortReadPortUchar");
    return 0xFF;
}

USHORT NTAPI VideoPortReadPortUshort(IN PUSHORT Port)
{
    port_misuse(Port, "VideoPortReadPortUshort");
    return 0xFFFF;
}

ULONG NTAPI VideoPortReadPortUlong(IN PULONG Port)
{
    port_misuse(Port, "VideoPortReadPortUlong");
    return 0xFFFFFFFFu;
}

VOID NTAPI VideoPortReadPortBufferUchar(IN PUCHAR Port, OUT PUCHAR Buffer, IN ULONG Count)
{
    port_misuse(Port, "VideoPortReadPortBufferUchar");
    if (Buffer)
        memset(Buffer, 0xFF, Count);
}

VOID NTAPI VideoPortReadPortBufferUshort(IN PUSHORT Port, OUT PUSHORT Buffer, IN ULONG Count)
{
    port_misuse(Port, "VideoPortReadPortBufferUshort");
    if (Buffer)
        memset(Buffer, 0xFF, (size_t)Count * 2);
}

VOID NTAPI VideoPortReadPortBufferUlong(IN PULONG Port, OUT PULONG Buffer, IN ULONG Count)
{
    port_misuse(Port, "VideoPortReadPortBufferUlong");
    if (Buffer)
        memset(Buffer, 0xFF, (size_t)Count * 4);
}

VOID NTAPI VideoPortWritePortUchar(IN PUCHAR Port, IN UCHAR Value)
{
    (void)Value;
    port_misuse(Port, "VideoPortWritePortUchar");
}

VOID NTAPI VideoPortWritePortUshort(IN PUSHORT Port, IN USHORT Value)
{
    (void)Value;
    port_misuse(Port, "VideoPortWritePortUshort");
}

VOID NTAPI VideoPortWritePortUlong(IN PULONG Port, IN ULONG Value)
{
    (void)Value;
    port_misuse(Port, "VideoPortWritePortUlong");
}

VOID NTAPI VideoPortWritePortBufferUchar(IN PUCHAR Port, IN PUCHAR Buffer, IN ULONG Count)
{
    (void)Buffer;
    (void)Count;
    port_misuse(Port, "VideoPortWritePortBufferUchar");
}

VOID NTAPI VideoPortWritePortBufferUshort(IN PUSHORT Port, IN PUSHORT Buffer, IN ULONG Count)
{
    (void)Buffer;
    (void)Count;
    port_misuse(Port, "VideoPortWritePortBufferUshort");
}

VOID NTAPI VideoPortWritePortBufferUlong(IN PULONG Port, IN PULONG Buffer, IN ULONG Count)
{
    (void)Buffer;
    (void)Count;
    port_misuse(Port, "VideoPortWritePortBufferUlong");
}

/* ---- resources and PCI config space ------------------------------------------ */

VP_STATUS NTAPI VideoPortGetAccessRanges(IN PVOID HwDeviceExtension, IN ULONG NumRequestedResources,
                                         IN PIO_RESOURCE_DESCRIPTOR RequestedResources OPTIONAL,
                                         IN ULONG NumAccessRanges,
                                         OUT PVIDEO_ACCESS_RANGE AccessRanges, IN PVOID VendorId,
                                         IN PVOID DeviceId, OUT PULONG Slot)
{
    (void)NumRequestedResources;
    (void)RequestedResources;
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortGetAccessRanges");
    if (!m)
        return ERROR_DEV_NOT_EXIST;
    hvp__check_irql(m, HVP_IRQL_PASSIVE, "VideoPortGetAccessRanges");
    if (VendorId && *(const USHORT *)VendorId != m->cfg.pci_vendor)
        return ERROR_DEV_NOT_EXIST;
    if (DeviceId && *(const USHORT *)DeviceId != m->cfg.pci_device)
        return ERROR_DEV_NOT_EXIST;
    if (NumAccessRanges < 1 || !AccessRanges)
        return ERROR_MORE_DATA;
    memset(AccessRanges, 0, sizeof(*AccessRanges) * NumAccessRanges);
    AccessRanges[0].RangeStart.QuadPart = (LONGLONG)m->cfg.bar_phys;
    AccessRanges[0].RangeLength = DMM_BAR_SIZE;
    AccessRanges[0].RangeInIoSpace = 0;
    AccessRanges[0].RangeVisible = 0;
    AccessRanges[0].RangeShareable = 0;
    AccessRanges[0].RangePassive = 0;
    if (Slot)
        *Slot = 0;
    return NO_ERROR;
}

VP_STATUS NTAPI VideoPortVerifyAccessRanges(IN PVOID HwDeviceExtension, IN ULONG NumAccessRanges,
                                            IN PVIDEO_ACCESS_RANGE AccessRanges)
{
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortVerifyAccessRanges");
    if (!m)
        return ERROR_INVALID_PARAMETER;
    if (NumAccessRanges && !AccessRanges)
        return ERROR_INVALID_PARAMETER;
    for (ULONG i = 0; i < NumAccessRanges; i++) {
        const VIDEO_ACCESS_RANGE *r = &AccessRanges[i];
        if (r->RangeInIoSpace || !in_bar(m, (uint64_t)r->RangeStart.QuadPart, r->RangeLength)) {
            hvp__misuse(m, HVP_MISUSE_MAP_RANGE,
                        "VideoPortVerifyAccessRanges: range %u (0x%llx, %u) is not the device's", i,
                        (unsigned long long)r->RangeStart.QuadPart, r->RangeLength);
            return ERROR_INVALID_PARAMETER;
        }
    }
    return NO_ERROR;
}

static void pci_config(const hvp_machine *m, uint8_t cs[256])
{
    memset(cs, 0, 256);
    cs[0x00] = (uint8_t)m->cfg.pci_vendor;
    cs[0x01] = (uint8_t)(m->cfg.pci_vendor >> 8);
    cs[0x02] = (uint8_t)m->cfg.pci_device;
    cs[0x03] = (uint8_t)(m->cfg.pci_device >> 8);
    cs[0x04] = 0x06; /* memory space + bus master */
    cs[0x08] = 0x01; /* revision */
    cs[0x0A] = 0x80; /* display controller, other */
    cs[0x0B] = 0x03;
    uint32_t bar = (uint32_t)m->cfg.bar_phys; /* 32-bit non-prefetchable memory BAR */
    memcpy(&cs[0x10], &bar, 4);
    cs[0x2C] = cs[0x00];
    cs[0x2D] = cs[0x01];
    cs[0x2E] = cs[0x02];
    cs[0x2F] = cs[0x03];
    cs[0x3C] = (uint8_t)m->cfg.irq_level;
    cs[0x3D] = 1; /* INTA# */
}

ULONG NTAPI VideoPortGetBusData(IN PVOID HwDeviceExtension, IN BUS_DATA_TYPE BusDataType,
                                IN ULONG SlotNumber, IN OUT PVOID Buffer, IN ULONG Offset,
                                IN ULONG Length)
{
    (void)SlotNumber;
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortGetBusData");
    if (!m || BusDataType != PCIConfiguration || !Buffer || Offset >= 256)
        return 0;
    uint8_t cs[256];
    pci_config(m, cs);
    ULONG n = Length < 256 - Offset ? Length : 256 - Offset;
    memcpy(Buffer, cs + Offset, n);
    return n;
}

ULONG NTAPI VideoPortSetBusData(IN PVOID HwDeviceExtension, IN BUS_DATA_TYPE BusDataType,
                                IN ULONG SlotNumber, IN PVOID Buffer, IN ULONG Offset,
                                IN ULONG Length)
{
    (void)SlotNumber;
    (void)Buffer;
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortSetBusData");
    if (!m || BusDataType != PCIConfiguration || Offset >= 256)
        return 0;
    /* Writes are accepted and ignored (the model has no config-space state). */
    return Length < 256 - Offset ? Length : 256 - Offset;
}

BOOLEAN NTAPI VideoPortCheckForDeviceExistence(IN PVOID HwDeviceExtension, IN USHORT VendorId,
                                               IN USHORT DeviceId, IN UCHAR RevisionId,
                                               IN USHORT SubVendorId, IN USHORT SubSystemId,
                                               IN ULONG Flags)
{
    (void)RevisionId;
    (void)SubVendorId;
    (void)SubSystemId;
    (void)Flags;
    hvp_machine *m = hvp__machine_of(HwDeviceExtension, "VideoPortCheckForDeviceExistence");
    return m && VendorId == m->cfg.pci_vendor && DeviceId == m->cfg.pci_device;
}

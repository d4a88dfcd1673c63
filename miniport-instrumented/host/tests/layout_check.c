/*
 * layout_check.c - structure layout pins of the VideoPort DDI on x86-64,
 * compiled twice: by the host compiler against hvp's stand-in headers (as
 * part of hvp_test) and by x86_64-w64-mingw32-gcc against mingw-w64's own
 * DDK headers (ctest hvp_layout_mingw, -DHVP_LAYOUT_MINGW).  Every number
 * was computed from mingw-w64 10.0.0's headers, so both compiling proves the
 * host headers lay structures out exactly like mingw's.
 */
#ifdef HVP_LAYOUT_MINGW
#include <ntdef.h>
#include <ddk/dderror.h>
#include <devioctl.h>
#include <ddk/miniport.h>
#include <ntddvdeo.h>
#include <ddk/video.h>
#else
#include <ntdef.h>
#include <dderror.h>
#include <devioctl.h>
#include <miniport.h>
#include <ntddvdeo.h>
#include <video.h>
#endif
#include <stddef.h>

#define PIN(e) _Static_assert(e, #e)

PIN(sizeof(PHYSICAL_ADDRESS) == 8);
PIN(sizeof(ULONG) == 4);
PIN(sizeof(LONG) == 4);
PIN(sizeof(ULONG_PTR) == 8);
PIN(sizeof(BOOLEAN) == 1);
PIN(sizeof(KAFFINITY) == 8);
PIN(sizeof(SIZE_T) == 8);
PIN(sizeof(VP_SCATTER_GATHER_ELEMENT) == 24);
PIN(offsetof(VP_SCATTER_GATHER_ELEMENT, Length) == 8);
PIN(offsetof(VP_SCATTER_GATHER_ELEMENT, Reserved) == 16);
PIN(sizeof(VP_SCATTER_GATHER_LIST) == 16);
PIN(offsetof(VP_SCATTER_GATHER_LIST, Reserved) == 8);
PIN(offsetof(VP_SCATTER_GATHER_LIST, Elements) == 16);
PIN(sizeof(VP_DEVICE_DESCRIPTION) == 8);
PIN(offsetof(VP_DEVICE_DESCRIPTION, Dma32BitAddresses) == 1);
PIN(offsetof(VP_DEVICE_DESCRIPTION, Dma64BitAddresses) == 2);
PIN(offsetof(VP_DEVICE_DESCRIPTION, MaximumLength) == 4);
PIN(sizeof(VIDEO_HW_INITIALIZATION_DATA) == 144);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, AdapterInterfaceType) == 4);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, HwFindAdapter) == 8);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, HwInitialize) == 16);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, HwInterrupt) == 24);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, HwStartIO) == 32);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, HwDeviceExtensionSize) == 40);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, StartingDeviceNumber) == 44);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, HwResetHw) == 48);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, HwStartDma) == 64);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, HwSetPowerState) == 72);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, HwQueryInterface) == 96);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, HwChildDeviceExtensionSize) == 104);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, HwLegacyResourceList) == 112);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, HwLegacyResourceCount) == 120);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, HwGetLegacyResources) == 128);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, AllowEarlyEnumeration) == 136);
PIN(offsetof(VIDEO_HW_INITIALIZATION_DATA, Reserved) == 140);
PIN(sizeof(VIDEO_PORT_CONFIG_INFO) == 128);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, AdapterInterfaceType) == 8);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, BusInterruptLevel) == 12);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, InterruptMode) == 20);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, EmulatorAccessEntries) == 32);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, EmulatorAccessEntriesContext) == 40);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, VdmPhysicalVideoMemoryAddress) == 48);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, VdmPhysicalVideoMemoryLength) == 56);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, DmaChannel) == 64);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, DmaShareable) == 72);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, Master) == 74);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, DmaWidth) == 76);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, DmaSpeed) == 80);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, bMapBuffers) == 84);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, DemandMode) == 86);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, MaximumTransferLength) == 88);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, ScatterGather) == 96);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, MaximumScatterGatherChunkSize) == 100);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, VideoPortGetProcAddress) == 104);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, DriverRegistryPath) == 112);
PIN(offsetof(VIDEO_PORT_CONFIG_INFO, SystemMemorySize) == 120);
PIN(sizeof(VIDEO_ACCESS_RANGE) == 16);
PIN(offsetof(VIDEO_ACCESS_RANGE, RangeLength) == 8);
PIN(offsetof(VIDEO_ACCESS_RANGE, RangeInIoSpace) == 12);
PIN(offsetof(VIDEO_ACCESS_RANGE, RangePassive) == 15);
PIN(sizeof(VIDEO_REQUEST_PACKET) == 48);
PIN(offsetof(VIDEO_REQUEST_PACKET, StatusBlock) == 8);
PIN(offsetof(VIDEO_REQUEST_PACKET, InputBuffer) == 16);
PIN(offsetof(VIDEO_REQUEST_PACKET, InputBufferLength) == 24);
PIN(offsetof(VIDEO_REQUEST_PACKET, OutputBuffer) == 32);
PIN(offsetof(VIDEO_REQUEST_PACKET, OutputBufferLength) == 40);
PIN(sizeof(STATUS_BLOCK) == 16);
PIN(offsetof(STATUS_BLOCK, Information) == 8);
PIN(sizeof(VIDEO_MEMORY) == 8);
PIN(sizeof(VIDEO_MEMORY_INFORMATION) == 32);
PIN(offsetof(VIDEO_MEMORY_INFORMATION, VideoRamLength) == 8);
PIN(offsetof(VIDEO_MEMORY_INFORMATION, FrameBufferBase) == 16);
PIN(offsetof(VIDEO_MEMORY_INFORMATION, FrameBufferLength) == 24);
PIN(sizeof(VIDEO_SHARE_MEMORY) == 24);
PIN(offsetof(VIDEO_SHARE_MEMORY, ViewOffset) == 8);
PIN(offsetof(VIDEO_SHARE_MEMORY, ViewSize) == 12);
PIN(offsetof(VIDEO_SHARE_MEMORY, RequestedVirtualAddress) == 16);
PIN(sizeof(VIDEO_SHARE_MEMORY_INFORMATION) == 16);
PIN(offsetof(VIDEO_SHARE_MEMORY_INFORMATION, VirtualAddress) == 8);
PIN(sizeof(VIDEO_PUBLIC_ACCESS_RANGES) == 16);
PIN(offsetof(VIDEO_PUBLIC_ACCESS_RANGES, VirtualAddress) == 8);
PIN(sizeof(VIDEO_MODE_INFORMATION) == 80);
PIN(sizeof(VIDEO_NUM_MODES) == 8);
PIN(sizeof(VIDEO_MODE) == 4);
PIN(sizeof(VIDEO_POWER_MANAGEMENT) == 12);
PIN(sizeof(ENG_EVENT) == 16);
PIN(offsetof(ENG_EVENT, fFlags) == 8);
PIN(sizeof(INTERFACE) == 32);
PIN(offsetof(INTERFACE, Context) == 8);
PIN(offsetof(INTERFACE, InterfaceReference) == 16);
PIN(sizeof(IO_RESOURCE_DESCRIPTOR) == 32);
PIN(offsetof(IO_RESOURCE_DESCRIPTOR, u) == 8);
PIN(sizeof(EMULATOR_ACCESS_ENTRY) == 24);
PIN(offsetof(EMULATOR_ACCESS_ENTRY, AccessType) == 8);
PIN(offsetof(EMULATOR_ACCESS_ENTRY, AccessMode) == 12);
PIN(offsetof(EMULATOR_ACCESS_ENTRY, Routine) == 16);
PIN(sizeof(VIDEO_CHILD_ENUM_INFO) == 24);
PIN(offsetof(VIDEO_CHILD_ENUM_INFO, ChildHwDeviceExtension) == 16);
PIN(sizeof(QUERY_INTERFACE) == 32);
PIN(offsetof(QUERY_INTERFACE, Size) == 8);
PIN(offsetof(QUERY_INTERFACE, Interface) == 16);
PIN(offsetof(QUERY_INTERFACE, InterfaceSpecificData) == 24);
PIN(sizeof(VRB_SG) == 16);
PIN(sizeof(VPOSVERSIONINFO) == 20);
PIN(offsetof(VPOSVERSIONINFO, ServicePackMajor) == 16);
PIN(sizeof(VIDEO_HARDWARE_CONFIGURATION_DATA) == 40);
PIN(sizeof(VIDEO_X86_BIOS_ARGUMENTS) == 28);
PIN(sizeof(VIDEO_CHILD_STATE) == 8);
PIN(sizeof(VIDEO_COLOR_CAPABILITIES) == 72);
PIN(sizeof(VIDEO_POINTER_ATTRIBUTES) == 28);
PIN(sizeof(VIDEO_CLUT) == 8);
PIN(sizeof(VIDEO_PALETTE_DATA) == 6);
PIN(sizeof(VIDEO_CURSOR_ATTRIBUTES) == 10);
PIN(sizeof(VIDEO_POINTER_CAPABILITIES) == 20);
PIN(sizeof(VIDEO_BANK_SELECT) == 52);
PIN(sizeof(VIDEO_LOAD_FONT_INFORMATION) == 12);
PIN(sizeof(VIDEO_HARDWARE_STATE_HEADER) == 168);
PIN(sizeof(VIDEO_HARDWARE_STATE) == 16);
PIN(sizeof(DISPLAY_BRIGHTNESS) == 3);
PIN(sizeof(LARGE_INTEGER) == 8);
PIN(offsetof(LARGE_INTEGER, HighPart) == 4);
PIN(IOCTL_VIDEO_MAP_VIDEO_MEMORY == 2294872);
PIN(PCIBus == 5);
PIN(VpHighPriority == 2);
PIN(VpModifyAccess == 2);
PIN(MaximumInterfaceType == 17);
#ifdef HVP_LAYOUT_MINGW
PIN(sizeof(WCHAR) == 2); /* the host uses wchar_t (4 bytes); no pinned struct holds one */
#endif
PIN(NO_ERROR == 0 && ERROR_INVALID_FUNCTION == 1 && ERROR_NOT_ENOUGH_MEMORY == 8);
PIN(ERROR_INVALID_PARAMETER == 87 && ERROR_MORE_DATA == 234 && WAIT_TIMEOUT == 258);
PIN(ERROR_DEV_NOT_EXIST == 55 && ERROR_IO_PENDING == 997);
PIN(VpReadAccess == 0 && VpWriteAccess == 1 && VpModifyAccess == 2);
PIN(VpLowPriority == 0 && VpMediumPriority == 1);
PIN(NOTIFICATION_EVENT == 1 && INITIAL_EVENT_SIGNALED == 2);
PIN(VIDEO_MEMORY_SPACE_P6CACHE == 8 && VIDEO_MEMORY_SPACE_USER_MODE == 2);
PIN(SIZE_OF_NT4_VIDEO_HW_INITIALIZATION_DATA == 64);
PIN(SIZE_OF_W2K_VIDEO_HW_INITIALIZATION_DATA == 140);
PIN(SIZE_OF_WXP_VIDEO_HW_INITIALIZATION_DATA == 144);
PIN(CTL_CODE(FILE_DEVICE_VIDEO, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS) == 0x232000);

int hvp_layout_check_linked(void);
int hvp_layout_check_linked(void)
{
    return (int)sizeof(VP_SCATTER_GATHER_ELEMENT);
}

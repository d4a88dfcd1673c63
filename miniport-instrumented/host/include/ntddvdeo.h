/*
 * ntddvdeo.h - host stand-in: the video IOCTL codes and the buffers they
 * carry, plus the display-driver event handle type (values and x86-64
 * layouts as in mingw-w64's ntddvdeo.h; own text).
 */
#ifndef _NTDDVDEO_
#define _NTDDVDEO_

#include "ntdef.h"
#include "devioctl.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VIDEO_DEVICE_NAME               "DISPLAY%d"
#define WVIDEO_DEVICE_NAME              L"DISPLAY%d"
#define DD_FULLSCREEN_VIDEO_DEVICE_NAME L"\\Device\\FSVideo"

DEFINE_GUID(GUID_DEVINTERFACE_DISPLAY_ADAPTER, 0x5b45201d, 0xf2f2, 0x4f3b, 0x85, 0xbb, 0x30, 0xff,
            0x1f, 0x95, 0x35, 0x99);

/* Every standard video IOCTL is CTL_CODE(FILE_DEVICE_VIDEO, fn, METHOD_BUFFERED, FILE_ANY_ACCESS).
 */
#define HVP_VIDEO_CTL(fn)                              CTL_CODE(FILE_DEVICE_VIDEO, fn, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_VIDEO_ENABLE_VDM                         HVP_VIDEO_CTL(0x00)
#define IOCTL_VIDEO_DISABLE_VDM                        HVP_VIDEO_CTL(0x01)
#define IOCTL_VIDEO_REGISTER_VDM                       HVP_VIDEO_CTL(0x02)
#define IOCTL_VIDEO_SET_OUTPUT_DEVICE_POWER_STATE      HVP_VIDEO_CTL(0x03)
#define IOCTL_VIDEO_GET_OUTPUT_DEVICE_POWER_STATE      HVP_VIDEO_CTL(0x04)
#define IOCTL_VIDEO_MONITOR_DEVICE                     HVP_VIDEO_CTL(0x05)
#define IOCTL_VIDEO_ENUM_MONITOR_PDO                   HVP_VIDEO_CTL(0x06)
#define IOCTL_VIDEO_INIT_WIN32K_CALLBACKS              HVP_VIDEO_CTL(0x07)
#define IOCTL_VIDEO_HANDLE_VIDEOPARAMETERS             HVP_VIDEO_CTL(0x08)
#define IOCTL_VIDEO_IS_VGA_DEVICE                      HVP_VIDEO_CTL(0x09)
#define IOCTL_VIDEO_USE_DEVICE_IN_SESSION              HVP_VIDEO_CTL(0x0a)
#define IOCTL_VIDEO_PREPARE_FOR_EARECOVERY             HVP_VIDEO_CTL(0x0b)
#define IOCTL_VIDEO_QUERY_AVAIL_MODES                  HVP_VIDEO_CTL(0x100)
#define IOCTL_VIDEO_QUERY_NUM_AVAIL_MODES              HVP_VIDEO_CTL(0x101)
#define IOCTL_VIDEO_QUERY_CURRENT_MODE                 HVP_VIDEO_CTL(0x102)
#define IOCTL_VIDEO_SET_CURRENT_MODE                   HVP_VIDEO_CTL(0x103)
#define IOCTL_VIDEO_RESET_DEVICE                       HVP_VIDEO_CTL(0x104)
#define IOCTL_VIDEO_LOAD_AND_SET_FONT                  HVP_VIDEO_CTL(0x105)
#define IOCTL_VIDEO_SET_PALETTE_REGISTERS              HVP_VIDEO_CTL(0x106)
#define IOCTL_VIDEO_SET_COLOR_REGISTERS                HVP_VIDEO_CTL(0x107)
#define IOCTL_VIDEO_ENABLE_CURSOR                      HVP_VIDEO_CTL(0x108)
#define IOCTL_VIDEO_DISABLE_CURSOR                     HVP_VIDEO_CTL(0x109)
#define IOCTL_VIDEO_SET_CURSOR_ATTR                    HVP_VIDEO_CTL(0x10a)
#define IOCTL_VIDEO_QUERY_CURSOR_ATTR                  HVP_VIDEO_CTL(0x10b)
#define IOCTL_VIDEO_SET_CURSOR_POSITION                HVP_VIDEO_CTL(0x10c)
#define IOCTL_VIDEO_QUERY_CURSOR_POSITION              HVP_VIDEO_CTL(0x10d)
#define IOCTL_VIDEO_ENABLE_POINTER                     HVP_VIDEO_CTL(0x10e)
#define IOCTL_VIDEO_DISABLE_POINTER                    HVP_VIDEO_CTL(0x10f)
#define IOCTL_VIDEO_SET_POINTER_ATTR                   HVP_VIDEO_CTL(0x110)
#define IOCTL_VIDEO_QUERY_POINTER_ATTR                 HVP_VIDEO_CTL(0x111)
#define IOCTL_VIDEO_SET_POINTER_POSITION               HVP_VIDEO_CTL(0x112)
#define IOCTL_VIDEO_QUERY_POINTER_POSITION             HVP_VIDEO_CTL(0x113)
#define IOCTL_VIDEO_QUERY_POINTER_CAPABILITIES         HVP_VIDEO_CTL(0x114)
#define IOCTL_VIDEO_GET_BANK_SELECT_CODE               HVP_VIDEO_CTL(0x115)
#define IOCTL_VIDEO_MAP_VIDEO_MEMORY                   HVP_VIDEO_CTL(0x116)
#define IOCTL_VIDEO_UNMAP_VIDEO_MEMORY                 HVP_VIDEO_CTL(0x117)
#define IOCTL_VIDEO_QUERY_PUBLIC_ACCESS_RANGES         HVP_VIDEO_CTL(0x118)
#define IOCTL_VIDEO_FREE_PUBLIC_ACCESS_RANGES          HVP_VIDEO_CTL(0x119)
#define IOCTL_VIDEO_QUERY_COLOR_CAPABILITIES           HVP_VIDEO_CTL(0x11a)
#define IOCTL_VIDEO_SET_POWER_MANAGEMENT               HVP_VIDEO_CTL(0x11b)
#define IOCTL_VIDEO_GET_POWER_MANAGEMENT               HVP_VIDEO_CTL(0x11c)
#define IOCTL_VIDEO_SHARE_VIDEO_MEMORY                 HVP_VIDEO_CTL(0x11d)
#define IOCTL_VIDEO_UNSHARE_VIDEO_MEMORY               HVP_VIDEO_CTL(0x11e)
#define IOCTL_VIDEO_GET_CHILD_STATE                    HVP_VIDEO_CTL(0x120)
#define IOCTL_VIDEO_VALIDATE_CHILD_STATE_CONFIGURATION HVP_VIDEO_CTL(0x121)
#define IOCTL_VIDEO_SET_CHILD_STATE_CONFIGURATION      HVP_VIDEO_CTL(0x122)
#define IOCTL_VIDEO_SWITCH_DUALVIEW                    HVP_VIDEO_CTL(0x123)
#define IOCTL_VIDEO_QUERY_SUPPORTED_BRIGHTNESS         HVP_VIDEO_CTL(0x125)
#define IOCTL_VIDEO_QUERY_DISPLAY_BRIGHTNESS           HVP_VIDEO_CTL(0x126)
#define IOCTL_VIDEO_SET_DISPLAY_BRIGHTNESS             HVP_VIDEO_CTL(0x127)
#define IOCTL_VIDEO_SAVE_HARDWARE_STATE                HVP_VIDEO_CTL(0x80)
#define IOCTL_VIDEO_RESTORE_HARDWARE_STATE             HVP_VIDEO_CTL(0x81)

typedef struct _VIDEO_MEMORY {
    PVOID RequestedVirtualAddress;
} VIDEO_MEMORY, *PVIDEO_MEMORY;

typedef struct _VIDEO_MEMORY_INFORMATION {
    PVOID VideoRamBase;
    ULONG VideoRamLength;
    PVOID FrameBufferBase;
    ULONG FrameBufferLength;
} VIDEO_MEMORY_INFORMATION, *PVIDEO_MEMORY_INFORMATION;

#define VIDEO_MODE_MAP_MEM_LINEAR 0x40000000
#define VIDEO_MODE_NO_ZERO_MEMORY 0x80000000

typedef struct _VIDEO_MODE {
    ULONG RequestedMode;
} VIDEO_MODE, *PVIDEO_MODE;

#define VIDEO_MODE_COLOR            0x0001
#define VIDEO_MODE_GRAPHICS         0x0002
#define VIDEO_MODE_PALETTE_DRIVEN   0x0004
#define VIDEO_MODE_MANAGED_PALETTE  0x0008
#define VIDEO_MODE_INTERLACED       0x0010
#define VIDEO_MODE_NO_OFF_SCREEN    0x0020
#define VIDEO_MODE_NO_64_BIT_ACCESS 0x0040
#define VIDEO_MODE_BANKED           0x0080
#define VIDEO_MODE_LINEAR           0x0100

typedef struct _VIDEO_MODE_INFORMATION {
    ULONG Length;
    ULONG ModeIndex;
    ULONG VisScreenWidth;
    ULONG VisScreenHeight;
    ULONG ScreenStride;
    ULONG NumberOfPlanes;
    ULONG BitsPerPlane;
    ULONG Frequency;
    ULONG XMillimeter;
    ULONG YMillimeter;
    ULONG NumberRedBits;
    ULONG NumberGreenBits;
    ULONG NumberBlueBits;
    ULONG RedMask;
    ULONG GreenMask;
    ULONG BlueMask;
    ULONG AttributeFlags;
    ULONG VideoMemoryBitmapWidth;
    ULONG VideoMemoryBitmapHeight;
    ULONG DriverSpecificAttributeFlags;
} VIDEO_MODE_INFORMATION, *PVIDEO_MODE_INFORMATION;

typedef struct _VIDEO_NUM_MODES {
    ULONG NumModes;
    ULONG ModeInformationLength;
} VIDEO_NUM_MODES, *PVIDEO_NUM_MODES;

typedef enum _VIDEO_POWER_STATE {
    VideoPowerUnspecified = 0,
    VideoPowerOn = 1,
    VideoPowerStandBy,
    VideoPowerSuspend,
    VideoPowerOff,
    VideoPowerHibernate,
    VideoPowerShutdown,
    VideoPowerMaximum
} VIDEO_POWER_STATE,
    *PVIDEO_POWER_STATE;

typedef struct _VIDEO_POWER_MANAGEMENT {
    ULONG Length;
    ULONG DPMSVersion;
    ULONG PowerState;
} VIDEO_POWER_MANAGEMENT, *PVIDEO_POWER_MANAGEMENT;

typedef struct _VIDEO_PUBLIC_ACCESS_RANGES {
    ULONG InIoSpace;
    ULONG MappedInIoSpace;
    PVOID VirtualAddress;
} VIDEO_PUBLIC_ACCESS_RANGES, *PVIDEO_PUBLIC_ACCESS_RANGES;

typedef struct _VIDEO_SHARE_MEMORY {
    HANDLE ProcessHandle;
    ULONG ViewOffset;
    ULONG ViewSize;
    PVOID RequestedVirtualAddress;
} VIDEO_SHARE_MEMORY, *PVIDEO_SHARE_MEMORY;

typedef struct _VIDEO_SHARE_MEMORY_INFORMATION {
    ULONG SharedViewOffset;
    ULONG SharedViewSize;
    PVOID VirtualAddress;
} VIDEO_SHARE_MEMORY_INFORMATION, *PVIDEO_SHARE_MEMORY_INFORMATION;

#define PLANAR_HC 0x00000001

typedef enum _VIDEO_BANK_TYPE {
    VideoNotBanked = 0,
    VideoBanked1RW,
    VideoBanked1R1W,
    VideoBanked2RW,
    NumVideoBankTypes
} VIDEO_BANK_TYPE,
    *PVIDEO_BANK_TYPE;

typedef struct _VIDEO_BANK_SELECT {
    ULONG Length;
    ULONG Size;
    ULONG BankingFlags;
    ULONG BankingType;
    ULONG PlanarHCBankingType;
    ULONG BitmapWidthInBytes;
    ULONG BitmapSize;
    ULONG Granularity;
    ULONG PlanarHCGranularity;
    ULONG CodeOffset;
    ULONG PlanarHCBankCodeOffset;
    ULONG PlanarHCEnableCodeOffset;
    ULONG PlanarHCDisableCodeOffset;
} VIDEO_BANK_SELECT, *PVIDEO_BANK_SELECT;

typedef struct _VIDEO_LOAD_FONT_INFORMATION {
    USHORT WidthInPixels;
    USHORT HeightInPixels;
    ULONG FontSize;
    UCHAR Font[1];
} VIDEO_LOAD_FONT_INFORMATION, *PVIDEO_LOAD_FONT_INFORMATION;

#define VIDEO_DEVICE_COLOR          0x00000001
#define VIDEO_OPTIONAL_GAMMET_TABLE 0x00000002

typedef struct _VIDEO_COLOR_CAPABILITIES {
    ULONG Length;
    ULONG AttributeFlags;
    LONG RedPhosphoreDecay;
    LONG GreenPhosphoreDecay;
    LONG BluePhosphoreDecay;
    LONG WhiteChromaticity_x;
    LONG WhiteChromaticity_y;
    LONG WhiteChromaticity_Y;
    LONG RedChromaticity_x;
    LONG RedChromaticity_y;
    LONG GreenChromaticity_x;
    LONG GreenChromaticity_y;
    LONG BlueChromaticity_x;
    LONG BlueChromaticity_y;
    LONG WhiteGamma;
    LONG RedGamma;
    LONG GreenGamma;
    LONG BlueGamma;
} VIDEO_COLOR_CAPABILITIES, *PVIDEO_COLOR_CAPABILITIES;

typedef struct _VIDEO_CURSOR_ATTRIBUTES {
    USHORT Width;
    USHORT Height;
    SHORT Column;
    SHORT Row;
    UCHAR Rate;
    UCHAR Enable;
} VIDEO_CURSOR_ATTRIBUTES, *PVIDEO_CURSOR_ATTRIBUTES;

typedef struct _VIDEO_CURSOR_POSITION {
    SHORT Column;
    SHORT Row;
} VIDEO_CURSOR_POSITION, *PVIDEO_CURSOR_POSITION;

typedef struct _VIDEO_POINTER_ATTRIBUTES {
    ULONG Flags;
    ULONG Width;
    ULONG Height;
    ULONG WidthInBytes;
    ULONG Enable;
    SHORT Column;
    SHORT Row;
    UCHAR Pixels[1];
} VIDEO_POINTER_ATTRIBUTES, *PVIDEO_POINTER_ATTRIBUTES;

#define VIDEO_MODE_ASYNC_POINTER  0x01
#define VIDEO_MODE_MONO_POINTER   0x02
#define VIDEO_MODE_COLOR_POINTER  0x04
#define VIDEO_MODE_ANIMATE_START  0x08
#define VIDEO_MODE_ANIMATE_UPDATE 0x10

typedef struct _VIDEO_POINTER_CAPABILITIES {
    ULONG Flags;
    ULONG MaxWidth;
    ULONG MaxHeight;
    ULONG HWPtrBitmapStart;
    ULONG HWPtrBitmapEnd;
} VIDEO_POINTER_CAPABILITIES, *PVIDEO_POINTER_CAPABILITIES;

typedef struct _VIDEO_POINTER_POSITION {
    SHORT Column;
    SHORT Row;
} VIDEO_POINTER_POSITION, *PVIDEO_POINTER_POSITION;

#define VIDEO_STATE_NON_STANDARD_VGA     0x00000001
#define VIDEO_STATE_UNEMULATED_VGA_STATE 0x00000002
#define VIDEO_STATE_PACKED_CHAIN4_MODE   0x00000004

typedef struct _VIDEO_HARDWARE_STATE_HEADER {
    ULONG Length;
    UCHAR PortValue[0x30];
    ULONG AttribIndexDataState;
    ULONG BasicSequencerOffset;
    ULONG BasicCrtContOffset;
    ULONG BasicGraphContOffset;
    ULONG BasicAttribContOffset;
    ULONG BasicDacOffset;
    ULONG BasicLatchesOffset;
    ULONG ExtendedSequencerOffset;
    ULONG ExtendedCrtContOffset;
    ULONG ExtendedGraphContOffset;
    ULONG ExtendedAttribContOffset;
    ULONG ExtendedDacOffset;
    ULONG ExtendedValidatorStateOffset;
    ULONG ExtendedMiscDataOffset;
    ULONG PlaneLength;
    ULONG Plane1Offset;
    ULONG Plane2Offset;
    ULONG Plane3Offset;
    ULONG Plane4Offset;
    ULONG VGAStateFlags;
    ULONG DIBOffset;
    ULONG DIBBitsPerPixel;
    ULONG DIBXResolution;
    ULONG DIBYResolution;
    ULONG DIBXlatOffset;
    ULONG DIBXlatLength;
    ULONG VesaInfoOffset;
    PVOID FrameBufferData;
} VIDEO_HARDWARE_STATE_HEADER, *PVIDEO_HARDWARE_STATE_HEADER;

typedef struct _VIDEO_CLUTDATA {
    UCHAR Red;
    UCHAR Green;
    UCHAR Blue;
    UCHAR Unused;
} VIDEO_CLUTDATA, *PVIDEO_CLUTDATA;

typedef struct {
    USHORT NumEntries;
    USHORT FirstEntry;
    union {
        VIDEO_CLUTDATA RgbArray;
        ULONG RgbLong;
    } LookupTable[1];
} VIDEO_CLUT, *PVIDEO_CLUT;

typedef struct _VIDEO_PALETTE_DATA {
    USHORT NumEntries;
    USHORT FirstEntry;
    USHORT Colors[1];
} VIDEO_PALETTE_DATA, *PVIDEO_PALETTE_DATA;

typedef struct _VIDEO_HARDWARE_STATE {
    PVIDEO_HARDWARE_STATE_HEADER StateHeader;
    ULONG StateLength;
} VIDEO_HARDWARE_STATE, *PVIDEO_HARDWARE_STATE;

#define VIDEO_CHILD_ACTIVE             0x00000001
#define VIDEO_CHILD_DETACHED           0x00000002
#define VIDEO_CHILD_NOPRUNE_FREQ       0x80000000
#define VIDEO_CHILD_NOPRUNE_RESOLUTION 0x40000000

#define VIDEO_DUALVIEW_REMOVABLE 0x00000001
#define VIDEO_DUALVIEW_PRIMARY   0x80000000
#define VIDEO_DUALVIEW_SECONDARY 0x40000000

/* Event handle of VideoPortCreateEvent & co.  On the host the object behind
 * it is owned by hvp; ENG_EVENT is its first member. */
#ifndef _WINDDI_
typedef struct _ENG_EVENT *PEVENT;
#endif
typedef struct _ENG_EVENT {
    PVOID pKEvent;
    ULONG fFlags;
} ENG_EVENT, *PENG_EVENT;

typedef struct _DISPLAY_BRIGHTNESS {
    UCHAR ucDisplayPolicy;
    UCHAR ucACBrightness;
    UCHAR ucDCBrightness;
} DISPLAY_BRIGHTNESS, *PDISPLAY_BRIGHTNESS;

#define DISPLAYPOLICY_AC   0x00000001
#define DISPLAYPOLICY_DC   0x00000002
#define DISPLAYPOLICY_BOTH 0x00000003

/* Layout pins (values computed from mingw-w64's headers for x86-64). */
_Static_assert(sizeof(VIDEO_MEMORY) == 8, "VIDEO_MEMORY layout");
_Static_assert(sizeof(VIDEO_MEMORY_INFORMATION) == 32, "VIDEO_MEMORY_INFORMATION layout");
_Static_assert(offsetof(VIDEO_MEMORY_INFORMATION, FrameBufferBase) == 16,
               "VIDEO_MEMORY_INFORMATION");
_Static_assert(offsetof(VIDEO_MEMORY_INFORMATION, FrameBufferLength) == 24,
               "VIDEO_MEMORY_INFORMATION");
_Static_assert(sizeof(VIDEO_SHARE_MEMORY) == 24, "VIDEO_SHARE_MEMORY layout");
_Static_assert(offsetof(VIDEO_SHARE_MEMORY, ViewOffset) == 8, "VIDEO_SHARE_MEMORY layout");
_Static_assert(offsetof(VIDEO_SHARE_MEMORY, RequestedVirtualAddress) == 16, "VIDEO_SHARE_MEMORY");
_Static_assert(sizeof(VIDEO_SHARE_MEMORY_INFORMATION) == 16, "VIDEO_SHARE_MEMORY_INFORMATION");
_Static_assert(sizeof(VIDEO_PUBLIC_ACCESS_RANGES) == 16, "VIDEO_PUBLIC_ACCESS_RANGES layout");
_Static_assert(sizeof(VIDEO_MODE_INFORMATION) == 80, "VIDEO_MODE_INFORMATION layout");
_Static_assert(sizeof(VIDEO_NUM_MODES) == 8 && sizeof(VIDEO_MODE) == 4, "VIDEO_MODE layouts");
_Static_assert(sizeof(VIDEO_POWER_MANAGEMENT) == 12, "VIDEO_POWER_MANAGEMENT layout");
_Static_assert(sizeof(VIDEO_COLOR_CAPABILITIES) == 72, "VIDEO_COLOR_CAPABILITIES layout");
_Static_assert(sizeof(VIDEO_POINTER_ATTRIBUTES) == 28, "VIDEO_POINTER_ATTRIBUTES layout");
_Static_assert(sizeof(VIDEO_CLUT) == 8 && sizeof(VIDEO_PALETTE_DATA) == 6, "palette layouts");
_Static_assert(sizeof(VIDEO_CURSOR_ATTRIBUTES) == 10, "VIDEO_CURSOR_ATTRIBUTES layout");
_Static_assert(sizeof(VIDEO_POINTER_CAPABILITIES) == 20, "VIDEO_POINTER_CAPABILITIES layout");
_Static_assert(sizeof(VIDEO_BANK_SELECT) == 52, "VIDEO_BANK_SELECT layout");
_Static_assert(sizeof(VIDEO_LOAD_FONT_INFORMATION) == 12, "VIDEO_LOAD_FONT_INFORMATION layout");
_Static_assert(sizeof(VIDEO_HARDWARE_STATE_HEADER) == 168, "VIDEO_HARDWARE_STATE_HEADER layout");
_Static_assert(sizeof(VIDEO_HARDWARE_STATE) == 16, "VIDEO_HARDWARE_STATE layout");
_Static_assert(sizeof(ENG_EVENT) == 16 && offsetof(ENG_EVENT, fFlags) == 8, "ENG_EVENT layout");
_Static_assert(sizeof(DISPLAY_BRIGHTNESS) == 3, "DISPLAY_BRIGHTNESS layout");
_Static_assert(IOCTL_VIDEO_MAP_VIDEO_MEMORY == 0x230458, "IOCTL encoding");

#ifdef __cplusplus
}
#endif

#endif /* _NTDDVDEO_ */

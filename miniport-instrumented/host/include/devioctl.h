/*
 * devioctl.h - host stand-in: device types and the CTL_CODE encoding of
 * I/O control codes (values as in mingw-w64's devioctl.h).
 *
 *   31            16 15  14 13          2 1    0
 *  +----------------+------+-------------+------+
 *  |  DeviceType    |Access|  Function   |Method|
 *  +----------------+------+-------------+------+
 */
#ifndef _DEVIOCTL_
#define _DEVIOCTL_

#define FILE_DEVICE_CONTROLLER       0x00000004
#define FILE_DEVICE_DISK             0x00000007
#define FILE_DEVICE_KEYBOARD         0x0000000b
#define FILE_DEVICE_MOUSE            0x0000000f
#define FILE_DEVICE_NULL             0x00000015
#define FILE_DEVICE_SCREEN           0x0000001c
#define FILE_DEVICE_UNKNOWN          0x00000022
#define FILE_DEVICE_VIDEO            0x00000023
#define FILE_DEVICE_ACPI             0x00000032
#define FILE_DEVICE_FULLSCREEN_VIDEO 0x00000034

#define DEVICE_TYPE ULONG

#define CTL_CODE(DeviceType, Function, Method, Access)                                             \
    (((DeviceType) << 16) | ((Access) << 14) | ((Function) << 2) | (Method))
#define DEVICE_TYPE_FROM_CTL_CODE(ctl) (((ULONG)((ctl)&0xffff0000)) >> 16)
#define METHOD_FROM_CTL_CODE(ctl)      ((ULONG)((ctl)&3))

#define METHOD_BUFFERED             0
#define METHOD_IN_DIRECT            1
#define METHOD_OUT_DIRECT           2
#define METHOD_NEITHER              3
#define METHOD_DIRECT_TO_HARDWARE   METHOD_IN_DIRECT
#define METHOD_DIRECT_FROM_HARDWARE METHOD_OUT_DIRECT

#define FILE_ANY_ACCESS     0x00000000
#define FILE_SPECIAL_ACCESS FILE_ANY_ACCESS
#define FILE_READ_ACCESS    0x00000001
#define FILE_WRITE_ACCESS   0x00000002

#endif /* _DEVIOCTL_ */

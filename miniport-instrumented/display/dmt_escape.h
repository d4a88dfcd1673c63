/*
 * dmt_escape.h - the dmatrace display-driver escape: how `dmatrace record
 * --escape` (user mode) asks an XPDM display driver to have its video
 * miniport map the probe ring into the recorder's process.  Normative
 * description: docs/windows-recorder.md.
 *
 * An application reaches a video miniport only through the display driver:
 *   ExtEscape(hdc, DMT_ESCAPE_CODE, DMT_ESCAPE_REQUEST, DMT_ESCAPE_REPLY)
 *     -> DrvEscape -> DmtEscapeHandle (dmt_escape.c)
 *     -> EngDeviceIoControl(IOCTL_DMTMINI_MAP_RING / UNMAP_RING)
 *     -> the miniport's HwVidStartIO -> VideoPortMapMemory (USER_MODE)
 *
 * Shared by the recorder and the display driver, so it uses only the
 * Windows base types (ULONG, ULONGLONG, HANDLE) and C89: include it after
 * <windows.h> or <winddi.h>.  Layouts are fixed-width, identical for 32-
 * and 64-bit callers, little-endian.
 */
#ifndef DMT_ESCAPE_H
#define DMT_ESCAPE_H

/* ExtEscape's nEscape.  Private escapes are numbers no system escape uses;
 * this one spells "DMTE". */
#define DMT_ESCAPE_CODE    0x444D5445
#define DMT_ESCAPE_MAGIC   0x45544D44u /* "DMTE" in memory */
#define DMT_ESCAPE_VERSION 1u

/* DMT_ESCAPE_REQUEST.op */
#define DMT_ESCAPE_OP_MAP   1u /* map the probe ring into the calling process */
#define DMT_ESCAPE_OP_UNMAP 2u /* undo a MAP of this process (user_va from its reply) */

/* DMT_ESCAPE_REPLY.status: 0, or a Win32 error code:
 *   87   ERROR_INVALID_PARAMETER  UNMAP of an address this process did not map
 *   170  ERROR_BUSY               this process already maps it, or the table is full
 *   55   ERROR_DEV_NOT_EXIST      the miniport has no probe ring
 *   1117 ERROR_IO_DEVICE          the miniport's reply is malformed */
#define DMT_ESCAPE_OK              0u
#define DMT_ESCAPE_E_INVALID_PARAM 87u
#define DMT_ESCAPE_E_BUSY          170u
#define DMT_ESCAPE_E_NO_RING       55u
#define DMT_ESCAPE_E_BAD_REPLY     1117u

/* In: exactly sizeof(DMT_ESCAPE_REQUEST) bytes (24). */
typedef struct DMT_ESCAPE_REQUEST {
    ULONG magic;       /* DMT_ESCAPE_MAGIC */
    ULONG version;     /* DMT_ESCAPE_VERSION */
    ULONG size;        /* sizeof(DMT_ESCAPE_REQUEST) */
    ULONG op;          /* DMT_ESCAPE_OP_* */
    ULONGLONG user_va; /* UNMAP: the reply's user_va; MAP: 0 */
} DMT_ESCAPE_REQUEST;

/* Out: at least sizeof(DMT_ESCAPE_REPLY) bytes (40). */
typedef struct DMT_ESCAPE_REPLY {
    ULONG magic;          /* DMT_ESCAPE_MAGIC */
    ULONG version;        /* DMT_ESCAPE_VERSION */
    ULONG size;           /* sizeof(DMT_ESCAPE_REPLY) */
    ULONG status;         /* DMT_ESCAPE_OK or a Win32 error code */
    ULONGLONG user_va;    /* MAP: where the ring region starts in the caller */
    ULONGLONG length;     /* MAP: bytes mapped (page-rounded) */
    ULONGLONG ring_bytes; /* MAP: the ring region (header + data), <= length */
} DMT_ESCAPE_REPLY;

/* Compile-time layout checks that a C89 compiler accepts. */
typedef char dmt_escape_request_is_24[sizeof(DMT_ESCAPE_REQUEST) == 24 ? 1 : -1];
typedef char dmt_escape_reply_is_40[sizeof(DMT_ESCAPE_REPLY) == 40 ? 1 : -1];

/* ---- the display driver's side (dmt_escape.c; include after <winddi.h>) ---- */
#ifdef _WINDDI_

#define DMT_ESCAPE_MAX_MAPS 4 /* recorders that may map the ring at once */

/* Per-PDEV state: which process mapped the ring where.  Zero it, then
 * DmtEscapeInit in DrvEnablePDEV; DmtEscapeCleanup in DrvDisablePDEV. */
typedef struct DMT_ESCAPE_STATE {
    HSEMAPHORE lock;
    struct {
        HANDLE pid;        /* EngGetCurrentProcessId() of the mapper, NULL = free */
        ULONGLONG user_va; /* the miniport's reply, kept for UNMAP_RING */
        ULONGLONG length;
        ULONGLONG ring_bytes;
    } map[DMT_ESCAPE_MAX_MAPS];
} DMT_ESCAPE_STATE;

BOOL DmtEscapeInit(DMT_ESCAPE_STATE *st);
VOID DmtEscapeCleanup(DMT_ESCAPE_STATE *st);

/* Call first thing in DrvEscape with DrvEscape's arguments and the
 * miniport's handle (DrvEnablePDEV's hDriver).  Returns TRUE when the
 * escape was dmatrace's (or QUERYESCSUPPORT asking about it): DrvEscape
 * then returns *result.  FALSE: not ours, handle it as before. */
BOOL DmtEscapeHandle(DMT_ESCAPE_STATE *st, HANDLE hDriver, ULONG iEsc, ULONG cjIn, PVOID pvIn,
                     ULONG cjOut, PVOID pvOut, ULONG *result);

#endif /* _WINDDI_ */

#endif

/*
 * dmt_escape.c - the lines an XPDM display driver adds to its DrvEscape so
 * that `dmatrace record --escape` can reach the probe ring of its video
 * miniport (protocol: dmt_escape.h, docs/windows-recorder.md).  Link this
 * file into the display driver and call DmtEscapeHandle first in DrvEscape:
 *
 *     ULONG APIENTRY DrvEscape(SURFOBJ *pso, ULONG iEsc, ULONG cjIn, PVOID pvIn,
 *                              ULONG cjOut, PVOID pvOut)
 *     {
 *         PPDEV ppdev = (PPDEV)pso->dhpdev;
 *         ULONG r;
 *         if (DmtEscapeHandle(&ppdev->dmt, ppdev->hDriver, iEsc, cjIn, pvIn,
 *                             cjOut, pvOut, &r))
 *             return r;
 *         ...the driver's own escapes...
 *     }
 *
 * The request comes from any user-mode program, so everything in it is
 * validated and copied before use (sizes exact, magic, version, op, the
 * reserved field), the process handle the miniport maps into is never taken
 * from the request (it is the calling process: DrvEscape runs in the
 * caller's context and so does the miniport's StartIO for the synchronous
 * EngDeviceIoControl), and UNMAP only undoes a mapping this same process
 * made through this file.  The miniport's reply is checked too.
 *
 * Display-driver code: C89 (declarations first), winddi.h only (Eng*
 * calls), no C runtime, nothing allocated.  Built here as a compile check
 * against mingw-w64's <winddi.h> (recorder/windows/).
 */
#include <stddef.h>
#include <stdarg.h>
#include <windef.h>
#include <wingdi.h>
#include <winddi.h>
#include <devioctl.h>

#include "dmt_escape.h"
#include "dmtmini_ioctl.h"

/* NtCurrentProcess(): VideoPortMapMemory maps into the process whose
 * handle it is given; the pseudo handle means "the caller's". */
#define DMT_CURRENT_PROCESS ((ULONGLONG)(LONGLONG)-1)

BOOL DmtEscapeInit(DMT_ESCAPE_STATE *st)
{
    ULONG i;
    for (i = 0; i < DMT_ESCAPE_MAX_MAPS; i++)
        st->map[i].pid = NULL;
    st->lock = EngCreateSemaphore();
    return st->lock != NULL;
}

VOID DmtEscapeCleanup(DMT_ESCAPE_STATE *st)
{
    /* Mappings left by recorders that never unmapped belong to their
     * processes and go away with them; only the table is dropped here. */
    if (st->lock)
        EngDeleteSemaphore(st->lock);
    st->lock = NULL;
}

/* memcpy without a C runtime (the buffers are a few bytes). */
static VOID copy_bytes(PVOID dst, const VOID *src, ULONG n)
{
    volatile BYTE *d = (volatile BYTE *)dst;
    const BYTE *s = (const BYTE *)src;
    ULONG i;
    for (i = 0; i < n; i++)
        d[i] = s[i];
}

static VOID reply_init(DMT_ESCAPE_REPLY *rep, ULONG status)
{
    rep->magic = DMT_ESCAPE_MAGIC;
    rep->version = DMT_ESCAPE_VERSION;
    rep->size = sizeof(*rep);
    rep->status = status;
    rep->user_va = 0;
    rep->length = 0;
    rep->ring_bytes = 0;
}

static ULONG do_map(DMT_ESCAPE_STATE *st, HANDLE hDriver, HANDLE pid, DMT_ESCAPE_REPLY *rep)
{
    DMTMINI_MAP_RING_IN in;
    DMTMINI_MAP_RING_OUT out;
    DWORD got = 0;
    DWORD rc;
    ULONG i, slot = DMT_ESCAPE_MAX_MAPS;
    for (i = 0; i < DMT_ESCAPE_MAX_MAPS; i++) {
        if (st->map[i].pid == pid)
            return DMT_ESCAPE_E_BUSY; /* one mapping per process */
        if (st->map[i].pid == NULL && slot == DMT_ESCAPE_MAX_MAPS)
            slot = i;
    }
    if (slot == DMT_ESCAPE_MAX_MAPS)
        return DMT_ESCAPE_E_BUSY;
    in.process_handle = DMT_CURRENT_PROCESS;
    rc = EngDeviceIoControl(hDriver, IOCTL_DMTMINI_MAP_RING, &in, sizeof(in), &out, sizeof(out),
                            &got);
    if (rc != 0)
        return rc; /* the miniport's status (ERROR_DEV_NOT_EXIST: no ring) */
    if (got != sizeof(out) || out.user_va == 0 || out.ring_bytes == 0 ||
        out.ring_bytes > out.length) {
        /* Not what MAP_RING promises: give back whatever was mapped. */
        if (got == sizeof(out) && out.user_va != 0)
            EngDeviceIoControl(hDriver, IOCTL_DMTMINI_UNMAP_RING, &out, sizeof(out), NULL, 0, &got);
        return DMT_ESCAPE_E_BAD_REPLY;
    }
    st->map[slot].pid = pid;
    st->map[slot].user_va = out.user_va;
    st->map[slot].length = out.length;
    st->map[slot].ring_bytes = out.ring_bytes;
    rep->user_va = out.user_va;
    rep->length = out.length;
    rep->ring_bytes = out.ring_bytes;
    return DMT_ESCAPE_OK;
}

static ULONG do_unmap(DMT_ESCAPE_STATE *st, HANDLE hDriver, HANDLE pid, ULONGLONG user_va)
{
    DMTMINI_MAP_RING_OUT out;
    DWORD got = 0;
    DWORD rc;
    ULONG i;
    for (i = 0; i < DMT_ESCAPE_MAX_MAPS; i++)
        if (st->map[i].pid == pid && st->map[i].user_va == user_va)
            break;
    if (i == DMT_ESCAPE_MAX_MAPS || user_va == 0)
        return DMT_ESCAPE_E_INVALID_PARAM;
    out.process_handle = DMT_CURRENT_PROCESS;
    out.user_va = st->map[i].user_va;
    out.length = st->map[i].length;
    out.ring_bytes = st->map[i].ring_bytes;
    rc = EngDeviceIoControl(hDriver, IOCTL_DMTMINI_UNMAP_RING, &out, sizeof(out), NULL, 0, &got);
    if (rc == 0)
        st->map[i].pid = NULL;
    return rc;
}

BOOL DmtEscapeHandle(DMT_ESCAPE_STATE *st, HANDLE hDriver, ULONG iEsc, ULONG cjIn, PVOID pvIn,
                     ULONG cjOut, PVOID pvOut, ULONG *result)
{
    DMT_ESCAPE_REQUEST req;
    DMT_ESCAPE_REPLY rep;
    HANDLE pid;
    ULONG status;
    if (iEsc == QUERYESCSUPPORT) {
        ULONG asked;
        if (cjIn != sizeof(ULONG) || pvIn == NULL)
            return FALSE;
        copy_bytes(&asked, pvIn, sizeof(asked));
        if (asked != DMT_ESCAPE_CODE)
            return FALSE; /* someone else's escape: the driver answers */
        *result = 1;
        return TRUE;
    }
    if (iEsc != DMT_ESCAPE_CODE)
        return FALSE;
    /* Validate the shape, then work on a private copy only. */
    *result = (ULONG)-1;
    if (cjIn != sizeof(req) || pvIn == NULL || cjOut < sizeof(rep) || pvOut == NULL ||
        st->lock == NULL)
        return TRUE;
    copy_bytes(&req, pvIn, sizeof(req));
    if (req.magic != DMT_ESCAPE_MAGIC || req.version != DMT_ESCAPE_VERSION ||
        req.size != sizeof(req))
        return TRUE;
    if (req.op == DMT_ESCAPE_OP_MAP) {
        if (req.user_va != 0)
            return TRUE;
    } else if (req.op != DMT_ESCAPE_OP_UNMAP) {
        return TRUE;
    }
    reply_init(&rep, DMT_ESCAPE_OK);
    pid = EngGetCurrentProcessId();
    EngAcquireSemaphore(st->lock);
    if (req.op == DMT_ESCAPE_OP_MAP)
        status = do_map(st, hDriver, pid, &rep);
    else
        status = do_unmap(st, hDriver, pid, req.user_va);
    EngReleaseSemaphore(st->lock);
    rep.status = status;
    copy_bytes(pvOut, &rep, sizeof(rep));
    *result = 1;
    return TRUE;
}

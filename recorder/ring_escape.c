/*
 * ring_escape.c - the recorder's side of the display-driver escape (see
 * ring_escape.h).  An XPDM video miniport is reachable from user mode only
 * through its display driver, so the recorder opens a DC on the display
 * and sends ExtEscape(DMT_ESCAPE_CODE); the display driver forwards it as
 * IOCTL_DMTMINI_MAP_RING and the miniport maps the ring into this process.
 * The reply is checked before the mapping is used, and the ring header is
 * validated by dmt_ring_attach like any other ring (it is untrusted).
 */
#include "ring_escape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32

#include <windows.h>

#include <stdint.h>

#include "dmt_escape.h"

struct rec_escape {
    HDC dc;
    ULONGLONG user_va;
};

/* ExtEscape with one request; 1 when the driver processed it. */
static int send(HDC dc, ULONG op, ULONGLONG va, DMT_ESCAPE_REPLY *rep)
{
    DMT_ESCAPE_REQUEST req;
    memset(&req, 0, sizeof req);
    memset(rep, 0, sizeof *rep);
    req.magic = DMT_ESCAPE_MAGIC;
    req.version = DMT_ESCAPE_VERSION;
    req.size = sizeof req;
    req.op = op;
    req.user_va = va;
    int r =
        ExtEscape(dc, DMT_ESCAPE_CODE, (int)sizeof req, (LPCSTR)&req, (int)sizeof *rep, (LPSTR)rep);
    return r > 0 && rep->magic == DMT_ESCAPE_MAGIC && rep->version == DMT_ESCAPE_VERSION &&
           rep->size == sizeof *rep;
}

int rec_escape_open(const char *display, dmt_ringset *set, rec_escape **out, char *why, size_t cap)
{
    *out = NULL;
    rec_escape *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    e->dc = CreateDCA(display ? display : "DISPLAY", display, NULL, NULL);
    if (!e->dc) {
        snprintf(why, cap, "cannot open a DC on %s (error %lu)", display ? display : "the display",
                 (unsigned long)GetLastError());
        free(e);
        return -1;
    }
    ULONG code = DMT_ESCAPE_CODE;
    if (ExtEscape(e->dc, QUERYESCSUPPORT, (int)sizeof code, (LPCSTR)&code, 0, NULL) <= 0) {
        snprintf(why, cap,
                 "the display driver does not forward the dmatrace escape 0x%X (see "
                 "docs/windows-recorder.md)",
                 (unsigned)DMT_ESCAPE_CODE);
        rec_escape_close(e);
        return -1;
    }
    DMT_ESCAPE_REPLY rep;
    if (!send(e->dc, DMT_ESCAPE_OP_MAP, 0, &rep)) {
        snprintf(why, cap, "the display driver refused the MAP escape");
        rec_escape_close(e);
        return -1;
    }
    if (rep.status != DMT_ESCAPE_OK) {
        snprintf(why, cap, "the miniport did not map its ring (error %lu%s)",
                 (unsigned long)rep.status,
                 rep.status == DMT_ESCAPE_E_NO_RING ? ": built without the probe ring" : "");
        rec_escape_close(e);
        return -1;
    }
    e->user_va = rep.user_va;
    /* The reply must describe a ring region inside the mapping, at an
     * address this process can hold. */
    if (rep.user_va == 0 || rep.user_va > UINTPTR_MAX || rep.ring_bytes > rep.length ||
        rep.length > (ULONGLONG)SIZE_MAX ||
        rep.ring_bytes < DMT_RING_HDR_SIZE + DMT_RING_MIN_SIZE ||
        rep.ring_bytes > dmt_ringset_region_len(DMT_RING_MAX_RINGS, DMT_RING_MAX_SIZE)) {
        snprintf(why, cap, "the MAP reply is malformed (va 0x%llx, %llu of %llu bytes)",
                 (unsigned long long)rep.user_va, (unsigned long long)rep.ring_bytes,
                 (unsigned long long)rep.length);
        rec_escape_close(e);
        return -1;
    }
    if (dmt_ringset_attach(set, (void *)(uintptr_t)rep.user_va, (size_t)rep.ring_bytes) != 0) {
        snprintf(why, cap, "the mapped memory is not a dmatrace ring of this version");
        rec_escape_close(e);
        return -1;
    }
    *out = e;
    return 0;
}

void rec_escape_close(rec_escape *e)
{
    if (!e)
        return;
    if (e->user_va) {
        DMT_ESCAPE_REPLY rep;
        send(e->dc, DMT_ESCAPE_OP_UNMAP, e->user_va, &rep);
    }
    DeleteDC(e->dc);
    free(e);
}

#else

int rec_escape_open(const char *display, dmt_ringset *set, rec_escape **out, char *why, size_t cap)
{
    (void)display;
    (void)set;
    *out = NULL;
    snprintf(why, cap, "--escape reaches a Windows display driver; this is not Windows");
    return -1;
}

void rec_escape_close(rec_escape *e)
{
    (void)e;
}

#endif

/*
 * ring_escape.h - `dmatrace record --escape`: obtain the probe ring of the
 * display's video miniport through the display driver's escape (Windows;
 * protocol in miniport-instrumented/display/dmt_escape.h and
 * docs/windows-recorder.md).  Elsewhere it fails with a clear reason.
 */
#ifndef DMT_RING_ESCAPE_H
#define DMT_RING_ESCAPE_H

#include <stddef.h>

#include "dmt/ring.h"

typedef struct rec_escape rec_escape;

/* Open the display (display: a device name such as "\\.\DISPLAY1", or NULL
 * for the primary one), ask for the ring region, check the reply and attach *set (every ring)
 * to the mapping.  Returns 0 with *out owned by the caller
 * (rec_escape_close), or -1 with a one-line reason in why. */
int rec_escape_open(const char *display, dmt_ringset *set, rec_escape **out, char *why, size_t cap);
/* Unmap the ring (the UNMAP escape) and release the display.  NULL ok. */
void rec_escape_close(rec_escape *e);

#endif

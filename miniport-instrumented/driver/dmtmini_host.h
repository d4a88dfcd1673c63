/*
 * dmtmini_host.h - the sample miniport as a host library (targets dmtmini
 * and dmtmini_noprobe) for tools and tests that run it on the host
 * VideoPort.  The IOCTL interface is in dmtmini_ioctl.h.
 *
 *   hvp_machine *m = hvp_machine_new(&cfg, &dev_cfg);
 *   dmtp_reset();                        // fresh probe state per machine
 *   dmtp_attach(ring_region, ring_len);  // optional: a formatted dmt_ring
 *   dmtmini_host_load(m);                // DriverEntry -> FindAdapter -> Initialize
 *   hvp_ioctl(m, IOCTL_DMTMINI_TRANSFER, ...);
 *   hvp_machine_free(m); dmtp_reset();   // before the ring region goes away
 */
#ifndef DMTMINI_HOST_H
#define DMTMINI_HOST_H

#include "dmt_probe.h"
#include "dmt_probe_hvp.h"
#include "dmtmini_ioctl.h"
#include "hvp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The miniport's entry point (ULONG NTAPI DriverEntry(PVOID, PVOID) in
 * <video.h>; the same type on the host). */
unsigned int DriverEntry(void *Context1, void *Context2);

/* dmtp_hvp_load(m, DriverEntry): HVP_OK or HVP_E*. */
int dmtmini_host_load(hvp_machine *m);

/* The same from dmtmini_noprobe (the driver built without DMT_PROBE). */
unsigned int dmtmini_noprobe_DriverEntry(void *Context1, void *Context2);
int dmtmini_noprobe_host_load(hvp_machine *m);

#ifdef __cplusplus
}
#endif

#endif

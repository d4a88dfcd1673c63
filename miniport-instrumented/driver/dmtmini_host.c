/*
 * dmtmini_host.c - loading the sample miniport on the host VideoPort (see
 * dmtmini_host.h).  Host-only; not part of dmtmini.sys.
 */
#define DMTP_NO_WRAP 1 /* control API only: no VideoPort calls here */

#include "dmtmini_host.h"

int dmtmini_host_load(hvp_machine *m)
{
    return dmtp_hvp_load(m, DriverEntry);
}

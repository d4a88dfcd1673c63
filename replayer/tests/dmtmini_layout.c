/*
 * dmtmini_layout.c - a test build of the dmtmini miniport with a
 * deliberately changed descriptor layout, for the driver-mode replay test:
 * the control word of its revision-1 descriptors carries 0xD5C2 in bits
 * 31:16 (revision 2: 0xD3 in bits 31:24) where the engine defines 0xD5C1
 * (0xD2).  Everything else is the real driver, compiled from its own source
 * with DriverEntry renamed (CMake: rpl_layout_DriverEntry).
 *
 * The changed values are planted by including the hardware header first
 * and redefining them; dmtmini.c's own #include of it is then a no-op (its
 * include guard).
 */
#include "dmtmini_hw.h"

#undef DMTHW_DESC1_MAGIC
#define DMTHW_DESC1_MAGIC 0xD5C2u
#undef DMTHW_DESC2_MAGIC
#define DMTHW_DESC2_MAGIC 0xD3u

#include "dmtmini.c"

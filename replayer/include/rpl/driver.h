/*
 * rpl/driver.h - driver-mode replay (`dmatrace replay --driver`): re-run the
 * instrumented miniport on the host VideoPort with the recorded OS-side
 * inputs and compare what it produces with the recorded trace, record by
 * record, on the host VideoPort (hvp) and the instrumented miniport
 * (dmtmini).
 *
 * Ownership: *out is the caller's (rpl_free), also after a failure when
 * non-NULL; it carries the divergences (kind RPL_DIV_DRIVER) and limits
 * with the recorded trace's indices and context, so rpl/report.h renders
 * it like a model replay.
 */
#ifndef RPL_DRIVER_H
#define RPL_DRIVER_H

#include "rpl/replay.h"

/* A miniport's DriverEntry (the host <video.h> type). */
typedef unsigned int (*rpl_driver_entry)(void *Argument1, void *Argument2);

/* Driver-mode replay of path with the built-in dmtmini miniport. */
int rpl_driver_replay_file(const char *path, const rpl_opts *o, rpl_replay **out, dmt_error *err);

/* The same with another build of the miniport (entry), keeping the re-run's
 * own trace at rerun_path when non-NULL. */
int rpl_driver_replay_with(const char *path, const rpl_opts *o, rpl_driver_entry entry,
                           const char *rerun_path, rpl_replay **out, dmt_error *err);

/* Where the OS-side inputs come from (replayer/README.md section 7):
 *  - REPRODUCE: hvp and the device model produce them again from the
 *    recorded frames and configuration (only traces of `dmatrace capture`);
 *  - INJECT: the hvp replay backend (hvp_replay.h) feeds the recorded ones -
 *    StartDma answered from EXECUTE_DMA, register reads from REG_READ values
 *    (per register, in order), interrupts raised where the INTERRUPT records
 *    are relative to the register writes - and stands for the device;
 *  - AUTO: REPRODUCE for traces whose header producer is "dmatrace capture",
 *    INJECT for any other. */
enum rpl_driver_mode { RPL_DRIVER_AUTO = 0, RPL_DRIVER_REPRODUCE = 1, RPL_DRIVER_INJECT = 2 };

/* rpl_driver_replay_with in a chosen mode (entry NULL = the built-in
 * dmtmini); *mode_used (may be NULL) says which one ran.  rpl_driver_replay_with and _file use
 * RPL_DRIVER_AUTO. */
int rpl_driver_replay_mode(const char *path, const rpl_opts *o, int mode, rpl_driver_entry entry,
                           const char *rerun_path, int *mode_used, rpl_replay **out,
                           dmt_error *err);

#endif

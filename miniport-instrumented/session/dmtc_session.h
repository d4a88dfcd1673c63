/*
 * dmtc_session.h - a capture session on the host: the probe ring, the trace
 * writer and its drain, the host VideoPort machine with its device model,
 * the probe attachment and the driver load, assembled and torn down in one
 * place (library dmtc_session, prefix dmtc_).  Used by `dmatrace capture`,
 * `replay --driver`, bench_capture and the miniport tests; each keeps its
 * own workload.
 *
 *   dmtc_open:  ring region --> writer + drain (thread or caller-driven)
 *               --> hvp machine (+ device model)
 *   [caller: hooks on dmtc_machine(), e.g. hvp_replay_install]
 *   dmtc_load:  dmtp_reset, dmtp_attach(ring), dmtp_hvp_load(entry)
 *   [caller: workload through hvp_ioctl; dmtc_drain between steps]
 *   dmtc_finish: dmtp_detach, dmt_ring_close, drain to the end, writer END
 *   dmtc_free:  the rest, in the order below
 *
 * Ownership: the session owns the ring region (an anonymous mapping, or
 * the shared file's mapping), the writer, the drain and its thread, and
 * the machine; dmtc_machine() and dmtc_ring() lend them until dmtc_free.
 * The probe is process-global: one session at a time may be loaded, and
 * the session detaches and resets it before the region goes.
 *
 * Teardown order (dmtc_free), which keeps the ring mapped while anything
 * can still write or read it:
 *   1. the drain thread, if still running: ring closed, thread joined;
 *   2. a trace still open: closed (what was recorded is kept) - or
 *      abandoned without END when the drain had failed;
 *   3. the probe detached; the machine freed (its threads stopped);
 *      the probe reset;
 *   4. the drain freed; the ring region unmapped.
 *
 * Errors are returned as negative DMT_E* codes with a dmt_error; nothing
 * is printed (the machine logs through hvp_config.log, the caller's).
 */
#ifndef DMTC_SESSION_H
#define DMTC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmm/dmm.h"
#include "dmt/drain.h"
#include "dmt/error.h"
#include "dmt/record.h"
#include "dmt/ring.h"
#include "hvp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dmtc_session dmtc_session;

enum dmtc_ring_kind {
    DMTC_RING_NONE = 0, /* no ring: nothing is attached before the driver loads */
    DMTC_RING_MEMORY,   /* an anonymous mapping of DMT_RING_HDR_SIZE + ring_data bytes */
    DMTC_RING_FILE      /* the shared file ring_path: opened, or created when absent */
};

enum dmtc_drain_kind {
    DMTC_DRAIN_NONE = 0, /* no trace file: the caller (or another process) consumes the ring */
    DMTC_DRAIN_THREAD,   /* a drain thread writes `out` while the workload runs */
    DMTC_DRAIN_CALLER    /* the caller drains (dmtc_drain) between its steps */
};

/* What dmtc_open was doing when it failed. */
enum dmtc_part {
    DMTC_PART_NONE = 0, /* out of memory for the session itself */
    DMTC_PART_RING,     /* mapping, creating or formatting the ring */
    DMTC_PART_TRACE,    /* opening the trace file (the writer's error) */
    DMTC_PART_DRAIN,    /* creating the drain or its thread */
    DMTC_PART_MACHINE   /* hvp_machine_new refused the configuration */
};

typedef struct dmtc_config {
    hvp_config host;   /* the machine, log callback included [hvp_config_default] */
    dmm_config device; /* the device model [dmm_config_default] */

    enum dmtc_ring_kind ring;    /* [MEMORY] */
    const char *ring_path;       /* DMTC_RING_FILE */
    size_t ring_data;            /* data bytes of a ring made here (each ring) [64 MiB] */
    uint32_t rings;              /* rings of a region made here: 1, or one per CPU
                                    (the probe logs into ring cpu % rings) [1] */
    enum dmt_ring_policy policy; /* of a ring made here [drop newest] */
    bool populate;               /* MAP_POPULATE the memory ring [false] */

    enum dmtc_drain_kind drain; /* [NONE]; anything else needs a ring */
    const char *out;            /* the trace file (drain THREAD or CALLER) */
    dmt_header header;          /* its header; ring_size and ring_policy are filled in */
    uint64_t torn_timeout_ns;   /* the drain's torn-slot timeout [200 ms] */
    bool timed_flush;           /* drain thread: flush when idle every 50 ms (chunk
                                   boundaries then depend on timing) [false] */
    int digest_policy;          /* the probe's digest policy, enum dmt_digest_policy,
                                   set at dmtc_load; -1 = the probe's default [-1] */
    uint32_t clock;             /* the probe's clock, enum dmtp_clock, set at dmtc_load;
                                   a synthetic host clock (deterministic, not real_clock)
                                   always gets the counter [DMTP_CLOCK_AUTO] */
    uint64_t calibration_ns;    /* TSC clock: ns between calibrations, 0 = the probe's
                                   default [0] */
} dmtc_config;

void dmtc_config_default(dmtc_config *cfg);

/* Map (or open) the ring, open the trace and start its drain, create the
 * machine.  On failure nothing is left behind but a trace file already
 * created, *part (may be NULL) says which step failed and err says why. */
int dmtc_open(const dmtc_config *cfg, dmtc_session **out, enum dmtc_part *part, dmt_error *err);

/* Borrowed until dmtc_free. */
hvp_machine *dmtc_machine(dmtc_session *s);
/* The session's ring (ring 0 of its region; a handle of its own: consumers
 * may copy it), or NULL without one. */
dmt_ring *dmtc_ring(dmtc_session *s);
/* Every ring of the session's region, or NULL without one. */
dmt_ringset *dmtc_ringset(dmtc_session *s);

/* The clock the probe stamps with under cfg (enum dmtp_clock: COUNTER or
 * TSC), for the trace header: the counter for a synthetic host clock, else
 * what cfg->clock gives on this machine. */
uint32_t dmtc_clock(const dmtc_config *cfg);
/* Reset the probe, set its clock and digest policy, attach it to the ring (if any)
 * and load the driver
 * through dmtp_hvp_load (the probe's adapter and physical-address hooks
 * answered by the machine).  DMT_E_INTERNAL when either fails. */
int dmtc_load(dmtc_session *s, hvp_driver_entry_fn entry, dmt_error *err);

/* DMTC_DRAIN_CALLER: move everything committed so far into the trace.
 * 0, or the writer's error. */
int dmtc_drain(dmtc_session *s, dmt_error *err);

/* End the recording: detach the probe, close the ring (a `record` process
 * on a shared ring stops there), let the drain reach the end and close the
 * trace with END.  stats (may be NULL) gets the drain's counters (zeros
 * without a drain).  0 or the drain's / writer's error; either way the
 * trace is finished and dmtc_free is what remains. */
int dmtc_finish(dmtc_session *s, dmt_drain_stats *stats, dmt_error *err);

/* Tear everything down in the order given above.  NULL is a no-op. */
void dmtc_free(dmtc_session *s);

#ifdef __cplusplus
}
#endif

#endif

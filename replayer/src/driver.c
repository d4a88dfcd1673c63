/*
 * driver.c - driver-mode replay (rpl/driver.h): the recorded session's
 * OS-side inputs are turned back into the IOCTLs that produced it, the
 * instrumented miniport runs them on the host VideoPort (deterministic
 * mode, the device model configured as the trace says, buffer pages placed
 * on the recorded frames), its probe's records are drained into a second
 * trace, and the two are compared record by record, stream by stream.
 *
 *   recorded --pass 1--> script (TRANSFER/WAIT IOCTLs), frames, configuration
 *      |                        |
 *      |               hvp + miniport + probe --> ring --> re-run trace
 *      |                                                      |
 *      '--pass 2 (window, context)--> compare per stream <----'
 *
 * Streams: setup (every record before the first locked buffer), channel 0
 * and channel 1 (a transfer's lock, pattern, StartDma, ExecuteDma,
 * descriptors, ring and status registers, digest, CompleteDma, unlock), and
 * global (IRQ_STATUS, interrupts, DPCs), which is compared only when the
 * recorded order is reproducible (single-threaded capture: strict order).
 * Without strict order a channel's STATUS register (the ISR reads and
 * clears it) is a stream of its own too: its accesses fall anywhere among
 * the DPC's records of the channel.
 * Within a stream the k-th recorded record meets the k-th re-run record;
 * fields that depend on the run (time, ids, virtual addresses, contexts) are
 * left out.  The first difference of a stream is a divergence (kind
 * "driver") at the recorded record; that stream is not compared further.
 *
 * Two ways to give the driver its OS-side inputs (rpl_driver_mode):
 *  - INJECT: hvp's replay backend (hvp_replay.h) stands for the device; the
 *    hooks below answer StartDma from the recorded EXECUTE_DMA (per
 *    direction, in order), register reads from the recorded values (one
 *    queue per register) and raise one interrupt per INTERRUPT record right
 *    after the driver's W-th register write, W = writes recorded before
 *    that ISR's first read.  From-device DIGESTs are left out (device data).
 *  - REPRODUCE: hvp's public API only - SG lists and granted lengths come
 *    out of hvp again from the same frames (hvp_config.frame_fn) and
 *    configuration, register values and interrupts from the device model.
 * Either way an EXECUTE_DMA or START_DMA_END that differs means an input
 * did not reach the driver as recorded: its stream stops being compared,
 * since the driver is not at fault there.  AUTO picks REPRODUCE for traces
 * of `dmatrace capture` and INJECT for the rest (replayer/README.md s. 7).
 *
 * Files: this one holds the entry points; driver_plan.c pass 1 (the plan
 * and the injection queues), driver_rerun.c the re-run on the host
 * VideoPort, driver_compare.c pass 2; driver_plan.h their shared types.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmt/source.h"
#include "dmt/describe.h"
#include "dmt/reader.h"
#include "dmtc_session.h"
#include "dmtmini_host.h"
#include "dmtmini_ioctl.h"
#include "hvp.h"
#include "hvp_replay.h"
#include "driver_plan.h"
#include "internal.h"
#include "rpl/driver.h"

/* ---- entry points ---------------------------------------------------------------------- */

/* Was the trace made by our own host capture (dmatrace capture on hvp)?  Its
 * inputs are then reproducible from the seed and the scenario. */
static bool from_our_capture(const char *path)
{
    dmt_error e;
    dmt_error_clear(&e);
    dmt_source *src;
    if (dmt_source_open(path, 0, &src, &e) < 0)
        return false;
    bool ours = !strncmp(dmt_source_header(src)->producer, "dmatrace capture", 16);
    dmt_source_close(src);
    return ours;
}

int rpl_driver_replay_with(const char *path, const rpl_opts *o, rpl_driver_entry entry,
                           const char *rerun_path, rpl_replay **out, dmt_error *err)
{
    return rpl_driver_replay_mode(path, o, RPL_DRIVER_AUTO, entry, rerun_path, NULL, out, err);
}

int rpl_driver_replay_mode(const char *path, const rpl_opts *o, int mode, rpl_driver_entry entry,
                           const char *rerun_path, int *mode_used, rpl_replay **out, dmt_error *err)
{
    if (!entry)
        entry = DriverEntry;
    if (mode == RPL_DRIVER_AUTO)
        mode = from_our_capture(path) ? RPL_DRIVER_REPRODUCE : RPL_DRIVER_INJECT;
    if (mode_used)
        *mode_used = mode;
    rpl_opts opts;
    if (o)
        opts = *o;
    else
        rpl_opts_default(&opts);
    if (!opts.mem_limit)
        opts.mem_limit = RPL_DEFAULT_MEM_LIMIT;
    *out = NULL;
    plan p;
    memset(&p, 0, sizeof p);
    p.o = &opts;
    p.inject_mode = mode == RPL_DRIVER_INJECT;
    p.digest_policy = -1;
    dmm_config_default(&p.dev);
    int rc;
    if (!rpl_idmap_init(&p.mdl_x, 1u << 16) || !rpl_idmap_init(&p.xfer_info, 1u << 16) ||
        !rpl_idmap_init(&p.adapter_xfer, 4096) || !rpl__drv_links_init(&p.L) ||
        !rpl_idmap_init(&p.inj.xfer_dma, 1u << 16)) {
        rpl__drv_plan_free(&p);
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
    }
    rc = rpl__drv_plan_read(&p, path, err);
    if (rc < 0) {
        rpl__drv_plan_free(&p);
        return rc;
    }
    if (opts.set_revision)
        p.dev.revision = opts.revision;
    if (opts.set_errata)
        p.dev.errata = opts.errata;
    if (opts.set_addr_bits)
        p.dev.addr_bits = opts.addr_bits;
    if (opts.set_devmem)
        p.dev.devmem_size = opts.devmem_size;

    char tmp[512];
    const char *rp = rerun_path;
    if (!rp) {
        const char *dir = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/dmatrace-rerun-XXXXXX", dir && *dir ? dir : "/tmp");
        int fd = mkstemp(tmp);
        if (fd < 0) {
            rpl__drv_plan_free(&p);
            return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "driver mode: cannot create a temporary file in %s",
                                 dir && *dir ? dir : "/tmp");
        }
        close(fd);
        rp = tmp;
    }
    rerun u;
    memset(&u, 0, sizeof u);
    u.p = &p;
    rc = rpl__drv_run_workload(&u, entry, rp, err);
    rpl__drv_rerun_free(&u);
    rerun_trace t;
    memset(&t, 0, sizeof t);
    p.L.split_status = !rpl__drv_strict(&p);
    if (rc == 0)
        rc = rpl__drv_rt_load(&t, rp, p.inject_mode, p.L.split_status, err);
    if (!rerun_path)
        unlink(rp);
    if (rc == 0) {
        rpl_replay *e = rpl__new_passive(&opts, err);
        if (!e) {
            rc = DMT_E_NOMEM;
        } else {
            rpl_set_header(e, &p.hdr);
            *out = e;
            if (p.lost)
                rpl__limit(e, RPL_LIMIT_LOST, 0, "the recorded trace lost records");
            rc = rpl__drv_compare(path, &p, &t, e, err);
        }
    }
    rpl__drv_rt_free(&t);
    rpl__drv_plan_free(&p);
    return rc < 0 ? rc : 0;
}

int rpl_driver_replay_file(const char *path, const rpl_opts *o, rpl_replay **out, dmt_error *err)
{
    return rpl_driver_replay_with(path, o, DriverEntry, NULL, out, err);
}

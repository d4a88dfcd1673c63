/*
 * dmtc_session.c - a capture session on the host (dmtc_session.h): ring,
 * writer, drain thread or caller-driven drain, host VideoPort machine,
 * probe attachment and driver load, and their teardown.
 *
 * Invariants:
 *  - the ring region outlives every user: the probe is detached and the
 *    machine (whose ISR/DPC threads run probe code) freed before the
 *    region is unmapped; the drain thread is joined before the drain or
 *    the writer goes;
 *  - the drain thread is the only user of the drain and the writer while
 *    it runs; it stops only when the ring is closed and empty (or the
 *    writer failed), so closing the ring is how it is told to finish;
 *  - drain_rc/drain_err are written by the drain (thread or dmtc_drain)
 *    and read after the join.
 */
#include "dmtc_session.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define DMTP_NO_WRAP 1 /* control API only: no VideoPort calls here */
#include "dmt_probe.h"
#include "dmt_probe_hvp.h"

#define FLUSH_EVERY_NS 50000000ull /* timed flush of an idle drain thread */
#define POLL_BATCH     4096u       /* ring items per poll of the drain thread */

struct dmtc_session {
    dmtc_config cfg;
    void *region; /* the ring region (NULL: no ring) */
    size_t region_len;
    bool region_is_shm;
    dmt_ringset set;
    dmt_writer *w;
    dmt_drain *drain;
    pthread_t thread;
    bool thread_started;
    int drain_rc;
    dmt_error drain_err;
    hvp_machine *m;
};

void dmtc_config_default(dmtc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    hvp_config_default(&cfg->host);
    dmm_config_default(&cfg->device);
    cfg->ring = DMTC_RING_MEMORY;
    cfg->ring_data = (size_t)64 << 20;
    cfg->policy = DMT_RING_DROP_NEWEST;
    cfg->rings = 1;
    cfg->torn_timeout_ns = 200000000ull;
    cfg->digest_policy = -1;
}

static void *drain_main(void *arg)
{
    dmtc_session *s = arg;
    uint64_t last_flush = dmt_now_ns();
    for (;;) {
        uint64_t now = dmt_now_ns();
        int rc = dmt_drain_poll(s->drain, now, POLL_BATCH, &s->drain_err);
        if (rc < 0) {
            s->drain_rc = rc;
            return NULL;
        }
        if (rc == DMT_DRAIN_DONE)
            return NULL;
        if (rc == DMT_DRAIN_IDLE) {
            if (s->cfg.timed_flush && now - last_flush > FLUSH_EVERY_NS) {
                if ((rc = dmt_writer_flush(s->w, &s->drain_err)) < 0) {
                    s->drain_rc = rc;
                    return NULL;
                }
                last_flush = now;
            }
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
}

static uint32_t ring_count(const dmtc_config *c)
{
    return c->rings == 0 ? 1u : c->rings > DMT_RING_MAX_RINGS ? DMT_RING_MAX_RINGS : c->rings;
}

/* A nonzero id for a region made now: the clock mixed with an address. */
static uint64_t instance_id(const void *p)
{
    uint64_t x = dmt_now_ns() ^ (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    return x ? x : 1;
}

static int open_ring(dmtc_session *s, dmt_error *err)
{
    const dmtc_config *c = &s->cfg;
    if (c->ring == DMTC_RING_FILE) {
        int rc = dmt_ringset_shm_open(c->ring_path, &s->set, &s->region, &s->region_len);
        if (rc == -ENOENT)
            rc = dmt_ringset_shm_create(c->ring_path, c->ring_data, c->policy, ring_count(c),
                                        instance_id(c->ring_path), &s->set, &s->region,
                                        &s->region_len);
        if (rc < 0) {
            s->region = NULL;
            return dmt_error_set(err, DMT_E_IO, DMT_NO_INDEX, DMT_NO_INDEX,
                                 "cannot map the ring: %s",
                                 rc == -EPROTO ? "not a dmatrace ring" : strerror(-rc));
        }
        s->region_is_shm = true;
        return 0;
    }
    s->region_len = (size_t)dmt_ringset_region_len(ring_count(c), c->ring_data);
    s->region = mmap(NULL, s->region_len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | (c->populate ? MAP_POPULATE : 0), -1, 0);
    if (s->region == MAP_FAILED) {
        s->region = NULL;
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX,
                             "cannot allocate a %zu-byte ring", s->region_len);
    }
    if (dmt_ringset_init(s->region, s->region_len, c->policy, ring_count(c),
                         instance_id(s->region)) != 0 ||
        dmt_ringset_attach(&s->set, s->region, s->region_len) != 0)
        return dmt_error_set(err, DMT_E_INTERNAL, DMT_NO_INDEX, DMT_NO_INDEX,
                             "cannot format the ring");
    return 0;
}

static int open_trace(dmtc_session *s, enum dmtc_part *part, dmt_error *err)
{
    const dmtc_config *c = &s->cfg;
    if (!s->region)
        return dmt_error_set(err, DMT_E_USAGE, DMT_NO_INDEX, DMT_NO_INDEX,
                             "a trace needs a ring to drain");
    dmt_header h = c->header;
    h.ring_size = s->set.rings[0].size;
    h.ring_policy = c->policy;
    /* The drain before the writer: its start in each ring goes into the
     * header (dmt_drain_header). */
    s->drain = dmt_drain_new_set(&s->set, NULL, c->torn_timeout_ns);
    if (!s->drain) {
        *part = DMTC_PART_DRAIN;
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX,
                             "cannot start the drain");
    }
    dmt_drain_header(s->drain, &h);
    int rc = dmt_writer_open(c->out, &h, 0, &s->w, err);
    if (rc < 0)
        return rc;
    dmt_drain_set_writer(s->drain, s->w);
    *part = DMTC_PART_DRAIN;
    if (c->drain == DMTC_DRAIN_THREAD && pthread_create(&s->thread, NULL, drain_main, s) != 0)
        return dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX,
                             "cannot start the drain");
    s->thread_started = c->drain == DMTC_DRAIN_THREAD;
    return 0;
}

int dmtc_open(const dmtc_config *cfg, dmtc_session **out, enum dmtc_part *part, dmt_error *err)
{
    enum dmtc_part at = DMTC_PART_NONE;
    int rc = 0;
    *out = NULL;
    dmtc_session *s = calloc(1, sizeof *s);
    if (!s) {
        rc = dmt_error_set(err, DMT_E_NOMEM, DMT_NO_INDEX, DMT_NO_INDEX, "out of memory");
        goto done;
    }
    s->cfg = *cfg;
    at = DMTC_PART_RING;
    if (cfg->ring != DMTC_RING_NONE && (rc = open_ring(s, err)) < 0)
        goto done;
    at = DMTC_PART_TRACE;
    if (cfg->drain != DMTC_DRAIN_NONE && (rc = open_trace(s, &at, err)) < 0)
        goto done;
    at = DMTC_PART_MACHINE;
    s->m = hvp_machine_new(&cfg->host, &cfg->device);
    if (!s->m) {
        rc = dmt_error_set(err, DMT_E_INTERNAL, DMT_NO_INDEX, DMT_NO_INDEX,
                           "cannot create the host machine");
        goto done;
    }
    at = DMTC_PART_NONE;
    *out = s;
done:
    if (rc < 0)
        dmtc_free(s);
    if (part)
        *part = at;
    return rc;
}

hvp_machine *dmtc_machine(dmtc_session *s)
{
    return s->m;
}

dmt_ring *dmtc_ring(dmtc_session *s)
{
    return s->region ? &s->set.rings[0] : NULL;
}

dmt_ringset *dmtc_ringset(dmtc_session *s)
{
    return s->region ? &s->set : NULL;
}

uint32_t dmtc_clock(const dmtc_config *cfg)
{
    if (cfg->host.deterministic && !cfg->host.real_clock)
        return DMTP_CLOCK_COUNTER; /* synthetic time: the TSC would break the bytes */
    return dmtp_clock_for(cfg->clock);
}

int dmtc_load(dmtc_session *s, hvp_driver_entry_fn entry, dmt_error *err)
{
    dmtp_reset();
    dmtp_set_clock(dmtc_clock(&s->cfg));
    dmtp_set_calibration_interval(s->cfg.calibration_ns);
    if (s->cfg.digest_policy >= 0 && dmtp_set_digest_policy((uint32_t)s->cfg.digest_policy) != 0)
        return dmt_error_set(err, DMT_E_INTERNAL, DMT_NO_INDEX, DMT_NO_INDEX,
                             "the probe has no digest policy %d", s->cfg.digest_policy);
    if (s->region && dmtp_attach(s->region, s->region_len) != 0)
        return dmt_error_set(err, DMT_E_INTERNAL, DMT_NO_INDEX, DMT_NO_INDEX,
                             "the probe cannot attach to the ring");
    if (dmtp_hvp_load(s->m, entry) != HVP_OK)
        return dmt_error_set(err, DMT_E_INTERNAL, DMT_NO_INDEX, DMT_NO_INDEX,
                             "the miniport failed to load");
    return 0;
}

/* Poll the caller-driven drain until nothing is left (BUSY no more). */
static int drain_now(dmtc_session *s, dmt_error *err)
{
    for (;;) {
        int rc = dmt_drain_poll(s->drain, dmt_now_ns(), 0, err);
        if (rc < 0) {
            s->drain_rc = rc;
            return rc;
        }
        if (rc != DMT_DRAIN_BUSY)
            return 0;
    }
}

int dmtc_drain(dmtc_session *s, dmt_error *err)
{
    if (s->cfg.drain != DMTC_DRAIN_CALLER || !s->drain)
        return 0;
    return drain_now(s, err);
}

int dmtc_finish(dmtc_session *s, dmt_drain_stats *stats, dmt_error *err)
{
    int rc = 0;
    if (dmtp_attached())
        dmtp_detach();
    if (s->region)
        dmt_ringset_close(&s->set);
    if (s->thread_started) {
        pthread_join(s->thread, NULL);
        s->thread_started = false;
        if ((rc = s->drain_rc) < 0 && err)
            *err = s->drain_err;
    } else if (s->drain && s->drain_rc == 0) {
        rc = drain_now(s, err);
    } else if (s->drain_rc < 0) {
        rc = s->drain_rc;
        if (err)
            *err = s->drain_err;
    }
    if (stats) {
        if (s->drain)
            *stats = *dmt_drain_get_stats(s->drain);
        else
            memset(stats, 0, sizeof *stats);
    }
    if (s->w && rc == 0) {
        rc = dmt_writer_close(s->w, err);
        s->w = NULL;
    }
    return rc;
}

void dmtc_free(dmtc_session *s)
{
    if (!s)
        return;
    if (s->thread_started) {
        /* an early end: stop the drain; what was recorded is kept */
        dmt_ringset_close(&s->set);
        pthread_join(s->thread, NULL);
    }
    if (s->w) {
        if (s->drain_rc < 0) {
            dmt_writer_abort(s->w);
        } else {
            dmt_error e;
            dmt_writer_close(s->w, &e);
        }
    }
    if (dmtp_attached())
        dmtp_detach();
    if (s->m)
        hvp_machine_free(s->m);
    dmtp_reset();
    dmt_drain_free(s->drain);
    if (s->region) {
        if (s->region_is_shm)
            dmt_ring_shm_unmap(s->region, s->region_len);
        else
            munmap(s->region, s->region_len);
    }
    free(s);
}

/*
 * test_driver.c - driver-mode replay (`dmatrace replay --driver`): the
 * instrumented miniport re-run on the host VideoPort with a capture's
 * inputs reproduces it record for record; mutations of the capture diverge
 * at exactly the mutated record; a test build of the miniport with a
 * changed descriptor layout (tests/dmtmini_layout.c) fails at the first
 * descriptor write; a capture with a planted driver fault, replayed against
 * the fixed driver, fails at the faulty transfer's descriptors; a
 * channel's STATUS accesses logged after its DPC's CompleteDma pass in a
 * trace from several CPUs and diverge in a strict-order one.
 * Skips (77) without a capture command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "dmt/testkit.h"
#include "rpl/driver.h"
#include "rpl/replay.h"
#include "rpl/report.h"
#include "session.h"

unsigned int rpl_layout_DriverEntry(void *Argument1, void *Argument2);

static rpl_replay *drive(const char *path, rpl_driver_entry entry, bool all)
{
    sess_replay x;
    sess_replay_init(&x, all);
    int rc = entry ? rpl_driver_replay_with(path, &x.o, entry, NULL, &x.r, &x.err)
                   : rpl_driver_replay_file(path, &x.o, &x.r, &x.err);
    CHECKF(rc == 0, "driver replay %s: %s", path, x.err.msg);
    return x.r;
}

static void expect_clean(const char *path, const char *what)
{
    rpl_replay *r = drive(path, NULL, true);
    if (!r)
        return;
    CHECKF(rpl_get_summary(r)->divergences == 0, "%s: %llu divergences", what,
           (unsigned long long)rpl_get_summary(r)->divergences);
    if (rpl_get_summary(r)->divergences)
        sess_show_report(r);
    CHECK(rpl_get_summary(r)->records > 100);
    rpl_free(r);
}

static void expect_first(const char *path, size_t at, int kind, const char *what)
{
    rpl_replay *r = drive(path, NULL, false);
    if (!r)
        return;
    const rpl_divergence *d = rpl_divergence_at(r, 0);
    CHECKF(d && d->index == at && d->kind == kind, "%s: %s at %llu, expected %s at %zu", what,
           d ? rpl_div_kind_name(d->kind) : "nothing", d ? (unsigned long long)d->index : 0ull,
           rpl_div_kind_name(kind), at);
    if (!d || d->index != at)
        sess_show_report(r);
    rpl_free(r);
}

/* Mutation which of record i, if it is one that mutation changes: i, else SIZE_MAX. */
static size_t edit(recs *rs, size_t i, void *user)
{
    int which = *(const int *)user;
    dmt_record *r = &rs->r[i];
    if (which == 0 && r->kind == DMT_K_REG_READ && r->off == DMM_CH_BASE(1) + DMM_CH_STATUS) {
        r->value ^= DMM_STATUS_ERR;
    } else if (which == 1 && r->kind == DMT_K_DESC_WRITE) {
        ((uint8_t *)r->bytes)[8] ^= 0x40; /* descriptor 0's host address */
    } else if (which == 2 && r->kind == DMT_K_DIGEST) {
        r->value ^= 0x10;
    } else if (which == 3 && r->kind == DMT_K_INTERRUPT && r->claimed) {
        recs_remove(rs, i);
    } else if (which == 4 && r->kind == DMT_K_EXECUTE_DMA && r->n_sg >= 2) {
        ((dmt_sg_elem *)r->sg_list)[1].len -= 4;
    } else if (which == 5 && r->kind == DMT_K_REG_WRITE &&
               r->off == DMM_CH_BASE(0) + DMM_CH_DESC_COUNT) {
        r->value += 1;
    } else {
        return SIZE_MAX;
    }
    return i;
}

/* Mutate the first matching record after the middle of base; returns its index. */
static size_t mutate(const char *base, const char *name, int which, char *out)
{
    return recs_mutate(base, name, out, edit, &which);
}

/* The trace of base with the ISR's accesses to channel 0's STATUS (its read
 * and clear, the first after the middle) moved past the CompleteDma of the
 * transfer they completed - where a DPC on another CPU can log its records
 * first - and the header clock set to clock.  Written to the test path
 * name; *digest is the index the transfer's DIGEST moved to (the first
 * channel 0 record out of place), SIZE_MAX when base has no such ISR. */
static void status_moved(const char *base, const char *name, const char *clock, char *out,
                         size_t *digest)
{
    const uint64_t status = DMM_CH_BASE(0) + DMM_CH_STATUS;
    recs rs;
    CHECK(recs_load(base, &rs) == 0);
    *digest = SIZE_MAX;
    size_t rd = rs.n / 2;
    while (rd + 1 < rs.n && !(rs.r[rd].kind == DMT_K_REG_READ && rs.r[rd].off == status))
        rd++;
    /* the DPC after the ISR names the transfer; its CompleteDma follows */
    size_t dpc = rd + 2, done = rs.n;
    while (dpc < rs.n && rs.r[dpc].kind != DMT_K_DPC)
        dpc++;
    uint32_t xfer = dpc < rs.n ? rs.r[dpc].xfer : 0;
    for (size_t i = dpc; i < rs.n && done == rs.n; i++)
        if (rs.r[i].kind == DMT_K_COMPLETE_DMA && rs.r[i].xfer == xfer)
            done = i;
    bool found = done < rs.n && rs.r[rd + 1].kind == DMT_K_REG_WRITE && rs.r[rd + 1].off == status;
    CHECK(found);
    if (found) {
        dmt_record read = rs.r[rd], clear = rs.r[rd + 1];
        recs_insert(&rs, done + 1, &read);
        recs_insert(&rs, done + 2, &clear);
        recs_remove(&rs, rd + 1);
        recs_remove(&rs, rd);
        for (size_t i = rd; i < done && *digest == SIZE_MAX; i++)
            if (rs.r[i].kind == DMT_K_DIGEST && rs.r[i].xfer == xfer)
                *digest = i;
    }
    snprintf(rs.hdr.clock, sizeof rs.hdr.clock, "%s", clock);
    test_path(out, 512, name);
    CHECK(recs_write(out, &rs) == 0);
    recs_free(&rs);
}

int main(void)
{
    if (!tk_have_capture("replay_driver_test"))
        return 77;
    char base[512], p[512];
    test_path(base, sizeof base, "drv_mixed.dmat");
    if (!tk_capture("--scenario mixed --deterministic-clock --seed 3", base))
        return tk_result("replay_driver_test");
    expect_clean(base, "mixed, deterministic");
    test_path(p, sizeof p, "drv_burst.dmat");
    if (tk_capture("--scenario burst --deterministic-clock --transfers 400", p))
        expect_clean(p, "burst (asynchronous pairs), deterministic");
    test_path(p, sizeof p, "drv_dma32_thr.dmat");
    if (tk_capture("--scenario dma32-highmem --threads 2", p))
        expect_clean(p, "dma32-highmem, threads");

    /* mutations: exactly the mutated record */
    static const struct {
        const char *name;
        int kind;
    } muts[] = {{"drv_m_read.dmat", RPL_DIV_DRIVER},   {"drv_m_desc.dmat", RPL_DIV_DRIVER},
                {"drv_m_digest.dmat", RPL_DIV_DRIVER}, {"drv_m_irq.dmat", RPL_DIV_DRIVER},
                {"drv_m_sg.dmat", RPL_DIV_SG},         {"drv_m_count.dmat", RPL_DIV_DRIVER}};
    for (int m = 0; m < 6; m++) {
        size_t at = mutate(base, muts[m].name, m, p);
        CHECK(at != SIZE_MAX);
        if (at != SIZE_MAX)
            expect_first(p, at, muts[m].kind, muts[m].name);
    }

    /* the ISR's STATUS read and clear logged after its DPC's digest and
     * CompleteDma: in a trace from several CPUs channel 0's STATUS accesses
     * are a stream of their own and the replay is clean; in a strict-order
     * trace they keep their place, and the digest in it diverges */
    size_t moved;
    status_moved(base, "drv_status_cpus.dmat", "QPC", p, &moved);
    expect_clean(p, "STATUS after CompleteDma, several CPUs");
    status_moved(base, "drv_status_strict.dmat", "deterministic", p, &moved);
    CHECK(moved != SIZE_MAX);
    if (moved != SIZE_MAX)
        expect_first(p, moved, RPL_DIV_DRIVER, "STATUS after CompleteDma, strict order");

    /* a miniport build with another descriptor layout: the first DESC_WRITE */
    recs rs;
    CHECK(recs_load(base, &rs) == 0);
    size_t first_desc = recs_find(&rs, DMT_K_DESC_WRITE, UINT64_MAX, 0);
    recs_free(&rs);
    rpl_replay *r = drive(base, rpl_layout_DriverEntry, false);
    expect_layout_divergence(r, first_desc);
    if (r)
        sess_show_report(r);
    rpl_free(r);

    /* a capture with a planted fault against the fixed driver */
    test_path(p, sizeof p, "drv_fault.dmat");
    if (tk_capture("--scenario mixed --deterministic-clock --inject sg-dup", p)) {
        rpl_replay *f = drive(p, NULL, false);
        rpl_replay *m = NULL;
        rpl_opts o;
        rpl_opts_default(&o);
        dmt_error err;
        rpl_replay_file(p, &o, &m, &err); /* model mode: where the fault is */
        if (f && m && rpl_divergence_at(m, 0)) {
            const rpl_divergence *d = rpl_divergence_at(f, 0);
            CHECK(d && d->record_kind == DMT_K_DESC_WRITE &&
                  d->index == rpl_divergence_at(m, 0)->index);
        }
        rpl_free(f);
        rpl_free(m);
    }
    return tk_result("replay_driver_test");
}

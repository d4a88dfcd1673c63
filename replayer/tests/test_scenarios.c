/*
 * test_scenarios.c - replay of real captures (`dmatrace capture`, the
 * instrumented miniport on the host VideoPort): every scenario replays with
 * 0 divergences, single-threaded and with real interrupt/DPC threads;
 * mutations of a captured trace (a register read value, an SG element
 * length, a dropped interrupt, a descriptor byte) diverge at exactly the
 * record the README names (the mutated one; for a dropped interrupt the
 * first other record after the ISR's acknowledge), with two CPUs too; every --inject fault is
 * caught by replay at a DESC_WRITE or is one the README lists as the audit's (then replay stays
 * clean); `dmatrace diff` of two captures with the same seed finds them equal. Skips (77) when the
 * build has no capture command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "dmt/testkit.h"
#include "rpl/diff.h"
#include "rpl/driver.h"
#include "rpl/replay.h"
#include "rpl/report.h"
#include "session.h"

static bool capture(const char *scenario, const char *extra, const char *out)
{
    char args[1024];
    snprintf(args, sizeof args, "--scenario %s %s", scenario, extra);
    return tk_capture(args, out);
}

static rpl_replay *replay(const char *path, bool all)
{
    sess_replay x;
    sess_replay_init(&x, all);
    int rc = rpl_replay_file(path, &x.o, &x.r, &x.err);
    CHECKF(rc == 0, "replay %s: %s", path, x.err.msg);
    return x.r;
}

static void show_first(const rpl_replay *r)
{
    if (!r || !rpl_get_summary(r)->kept)
        return;
    rpl_str s;
    rpl_str_init(&s);
    rpl_report_divergence(&s, rpl_divergence_at(r, 0));
    fprintf(stderr, "%s", s.p);
    rpl_str_free(&s);
}

static void expect_clean(const char *path, const char *what)
{
    rpl_replay *r = replay(path, true);
    if (!r)
        return;
    const rpl_summary *s = rpl_get_summary(r);
    CHECKF(s->divergences == 0, "%s: %llu divergences", what, (unsigned long long)s->divergences);
    if (s->divergences)
        show_first(r);
    CHECKF(s->runs > 0 && s->digests > 0 && s->interrupts > 0 && s->descriptors > 0, "%s", what);
    CHECK(s->lost_records == 0 && s->unverified == 0);
    fprintf(stderr, "%s: %llu records, %llu runs, %llu digests, %llu reads, %llu reordered\n", what,
            (unsigned long long)s->records, (unsigned long long)s->runs,
            (unsigned long long)s->digests, (unsigned long long)s->reg_reads,
            (unsigned long long)s->reordered);
    rpl_free(r);
    /* and in driver mode */
    sess_replay x;
    sess_replay_init(&x, true);
    int rc = rpl_driver_replay_file(path, &x.o, &x.r, &x.err);
    CHECKF(rc == 0, "%s (driver): %s", what, x.err.msg);
    r = x.r;
    if (r) {
        CHECKF(rpl_get_summary(r)->divergences == 0, "%s (driver): %llu divergences", what,
               (unsigned long long)rpl_get_summary(r)->divergences);
        show_first(r);
    }
    rpl_free(r);
}

/* ---- mutations of a captured trace -------------------------------------------- */

/* The first divergence is at the record at, of kind. */
static void expect_first(const char *path, size_t at, int kind, const char *what)
{
    rpl_replay *r = replay(path, false);
    if (!r)
        return;
    const rpl_divergence *d = rpl_divergence_at(r, 0);
    CHECKF(d != NULL, "%s: no divergence", what);
    if (d) {
        bool ok = d->index == at && d->kind == kind;
        CHECKF(ok, "%s: %s at %llu, expected %s at %zu", what, rpl_div_kind_name(d->kind),
               (unsigned long long)d->index, rpl_div_kind_name(kind), at);
        if (!ok)
            show_first(r);
    }
    rpl_free(r);
}

static bool is_reg(const dmt_record *r)
{
    return r->kind == DMT_K_REG_READ || r->kind == DMT_K_REG_WRITE ||
           r->kind == DMT_K_REG_READ_BUF || r->kind == DMT_K_REG_WRITE_BUF;
}

/* Where the replay reports the claimed INTERRUPT at i missing once it is
 * removed (README, irq_missing): at the first record other than a register
 * access after the ISR's acknowledge (the last IRQ_STATUS write before i),
 * as indexed without i.  SIZE_MAX where two CPUs leave that open: the record
 * is the other channel's INTERRUPT (it stands in for the dropped one), or
 * the other channel's ISR acknowledges first (the replay takes that for the
 * same ISR acknowledging twice). */
static size_t irq_missing_at(const recs *rs, size_t i)
{
    size_t j = i;
    while (j > 0 &&
           !(rs->r[j - 1].kind == DMT_K_REG_WRITE && rs->r[j - 1].off == DMM_REG_IRQ_STATUS))
        j--;
    for (; j > 0 && j < rs->n; j++) {
        const dmt_record *r = &rs->r[j];
        if (j == i)
            continue;
        if ((r->kind == DMT_K_REG_WRITE && r->off == DMM_REG_IRQ_STATUS) ||
            r->kind == DMT_K_INTERRUPT)
            return SIZE_MAX;
        if (!is_reg(r))
            return j < i ? j : j - 1;
    }
    return SIZE_MAX;
}

/* Mutate the first record after the middle of base that mutation `which`
 * applies to; the replay's first divergence must be of kind at the record
 * the README names for it: the mutated one, and for a dropped interrupt
 * the first record other than a register access that took its place. */
static void mutate(const char *base, const char *name, int which, int kind)
{
    recs rs;
    CHECK(recs_load(base, &rs) == 0);
    size_t at = SIZE_MAX;
    size_t mid = rs.n / 2;
    for (size_t i = mid; i < rs.n && at == SIZE_MAX; i++) {
        dmt_record *r = &rs.r[i];
        switch (which) {
        case 0: /* a channel STATUS read */
            if (r->kind == DMT_K_REG_READ && r->off >= DMM_CH_BASE(0) &&
                (r->off - DMM_CH_BASE(0)) % 0x40 == DMM_CH_STATUS) {
                r->value ^= DMM_STATUS_ERR;
                at = i;
            }
            break;
        case 1: /* an SG element length */
            if (r->kind == DMT_K_EXECUTE_DMA && r->n_sg >= 2) {
                ((dmt_sg_elem *)r->sg_list)[r->n_sg / 2].len += 8;
                at = i;
            }
            break;
        case 2: { /* a claimed interrupt dropped (where the rule pins it) */
            size_t there =
                r->kind == DMT_K_INTERRUPT && r->claimed ? irq_missing_at(&rs, i) : SIZE_MAX;
            if (there != SIZE_MAX) {
                recs_remove(&rs, i);
                at = there;
            }
            break;
        }
        case 3: /* a descriptor's length */
            if (r->kind == DMT_K_DESC_WRITE && r->n_bytes >= 64) {
                ((uint8_t *)r->bytes)[32 + 4] ^= 0x10; /* descriptor 1, rev 1 length */
                at = i;
            }
            break;
        case 4: /* a digest */
            if (r->kind == DMT_K_DIGEST) {
                r->value += 1;
                at = i;
            }
            break;
        default:
            break;
        }
    }
    CHECKF(at != SIZE_MAX, "%s: nothing to mutate", name);
    char p[512];
    test_path(p, sizeof p, name);
    CHECK(recs_write(p, &rs) == 0);
    recs_free(&rs);
    if (at != SIZE_MAX)
        expect_first(p, at, kind, name);
}

/* ---- faults ---------------------------------------------------------------------- */

/* Capture with the fault until it applies somewhere (scenario, seeds);
 * replay must stop at a DESC_WRITE with a descriptor divergence. */
static void fault_caught(const char *fault, const char *const *scenarios, unsigned nsc)
{
    char p[512], extra[128];
    bool seen = false;
    test_path(p, sizeof p, "fault.dmat");
    for (unsigned k = 0; k < nsc && !seen; k++)
        for (unsigned seed = 1; seed <= 20 && !seen; seed++) {
            snprintf(extra, sizeof extra, "--deterministic-clock --seed %u --inject %s", seed,
                     fault);
            if (!capture(scenarios[k], extra, p))
                return;
            rpl_replay *r = replay(p, false);
            if (!r)
                return;
            const rpl_divergence *d = rpl_divergence_at(r, 0);
            if (d) {
                seen = true;
                CHECKF(d->kind == RPL_DIV_DESCRIPTOR && d->record_kind == DMT_K_DESC_WRITE,
                       "%s: caught as %s at a %s", fault, rpl_div_kind_name(d->kind),
                       dmt_kind_name(d->record_kind));
                fprintf(stderr, "fault %s (%s, seed %u): ", fault, scenarios[k], seed);
                show_first(r);
            }
            rpl_free(r);
        }
    CHECKF(seen, "fault %s: never caught (did it apply?)", fault);
}

static void fault_audit(const char *fault)
{
    char p[512], extra[128];
    test_path(p, sizeof p, "fault_audit.dmat");
    snprintf(extra, sizeof extra, "--deterministic-clock --inject %s", fault);
    if (!capture("mixed", extra, p))
        return;
    rpl_replay *r = replay(p, true);
    if (r) {
        CHECKF(rpl_get_summary(r)->divergences == 0, "%s: replay diverges (%llu)", fault,
               (unsigned long long)rpl_get_summary(r)->divergences);
        show_first(r);
    }
    rpl_free(r);
}

int main(void)
{
    if (!tk_have_capture("replay_scenarios_test"))
        return 77;
    const char *const *scen = sess_scenarios;
    char p[512], q[512], name[128];
    for (unsigned i = 0; i < SESS_N_SCENARIOS; i++) {
        snprintf(name, sizeof name, "%s_det.dmat", scen[i]);
        test_path(p, sizeof p, name);
        if (capture(scen[i], "--deterministic-clock", p))
            expect_clean(p, name);
        snprintf(name, sizeof name, "%s_threads.dmat", scen[i]);
        test_path(p, sizeof p, name);
        if (capture(scen[i], "--threads 2 --seed 5", p))
            expect_clean(p, name);
    }

    /* mutations of a captured trace */
    char base[512];
    test_path(base, sizeof base, "mixed_det.dmat");
    mutate(base, "cm_read.dmat", 0, RPL_DIV_REG_READ);
    mutate(base, "cm_sg.dmat", 1, RPL_DIV_SG);
    mutate(base, "cm_irq.dmat", 2, RPL_DIV_IRQ_MISSING);
    mutate(base, "cm_desc.dmat", 3, RPL_DIV_DESCRIPTOR);
    mutate(base, "cm_digest.dmat", 4, RPL_DIV_DIGEST);
    test_path(base, sizeof base, "burst_threads.dmat");
    mutate(base, "cmt_read.dmat", 0, RPL_DIV_REG_READ);
    mutate(base, "cmt_irq.dmat", 2, RPL_DIV_IRQ_MISSING);

    /* faults */
    static const char *const sc_any[] = {"mixed", "no-sg", "dma32-highmem"};
    static const char *const sc_chunked[] = {"no-sg", "mixed", "dma32-highmem"};
    static const char *const sc_dma32[] = {"dma32-highmem"};
    fault_caught("sg-len-off-by-one", sc_any, 3);
    fault_caught("sg-skip", sc_any, 3);
    fault_caught("sg-dup", sc_any, 3);
    fault_caught("overlong", sc_chunked, 3);
    fault_caught("addr64-to-dma32", sc_dma32, 1);
    fault_audit("complete-early");
    fault_audit("complete-missing");

    /* two captures of one seed are equal to diff */
    test_path(p, sizeof p, "diff1.dmat");
    test_path(q, sizeof q, "diff2.dmat");
    if (capture("mixed", "--deterministic-clock --seed 9", p) && capture("mixed", "--seed 9", q)) {
        rpl_diff_result *res = NULL;
        rpl_diff_opts o = {0};
        dmt_error err;
        CHECK(rpl_diff_files(p, q, &o, &res, &err, NULL) == 0);
        if (res) {
            CHECKF(!rpl_diff_any(res), "same seed: %llu differ", (unsigned long long)res->differ);
            CHECK(res->equal == res->a.transfers && res->a.transfers > 0);
        }
        rpl_diff_free(res);
    }
    return tk_result("replay_scenarios_test");
}

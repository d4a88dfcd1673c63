/*
 * test_inject.c - driver-mode replay with injected inputs (`dmatrace replay
 * --driver --inject-inputs`, RPL_DRIVER_INJECT): the miniport re-run on the
 * host VideoPort's replay backend (hvp_replay.h), fed the recorded SG lists,
 * granted lengths, register read values and interrupts, reproduces every
 * single-threaded capture scenario record for record; a mutated register
 * read value or SG element makes the driver program something else and the
 * divergence is reported at the first record the driver produced
 * differently; the changed-descriptor-layout miniport build fails at the
 * first DESC_WRITE; a trace not made by `dmatrace capture` is injected by
 * default.  Skips (77) without a capture command.
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

static rpl_replay *inject(const char *path, int mode, rpl_driver_entry entry, bool all, int *used)
{
    sess_replay x;
    sess_replay_init(&x, all);
    int u = -1;
    int rc = rpl_driver_replay_mode(path, &x.o, mode, entry, NULL, &u, &x.r, &x.err);
    CHECKF(rc == 0, "inject %s: %s", path, x.err.msg);
    if (used)
        *used = u;
    else
        CHECKF(u == mode, "%s: mode %d ran, %d asked", path, u, mode);
    return x.r;
}

/* 0 divergences, and the from-device digests left out are a limit. */
static void expect_clean(const char *path, const char *what)
{
    rpl_replay *r = inject(path, RPL_DRIVER_INJECT, NULL, true, NULL);
    if (!r)
        return;
    const rpl_summary *s = rpl_get_summary(r);
    CHECKF(s->divergences == 0, "%s: %llu divergences", what, (unsigned long long)s->divergences);
    if (s->divergences)
        sess_show_report(r);
    CHECKF(s->records > 100, "%s: %llu records", what, (unsigned long long)s->records);
    bool noted = false;
    for (uint64_t i = 0; i < s->n_limits && i < 64; i++)
        if (rpl_limit_at(r, i)->kind == RPL_LIMIT_NO_CONTENT &&
            strstr(rpl_limit_at(r, i)->text, "from-device"))
            noted = true;
    CHECKF(noted, "%s: no limit for the from-device digests", what);
    fprintf(stderr, "%s: %llu records, 0 divergences (inputs injected)\n", what,
            (unsigned long long)s->records);
    rpl_free(r);
}

static void expect_first(const char *path, size_t at, uint32_t record_kind, const char *what)
{
    rpl_replay *r = inject(path, RPL_DRIVER_INJECT, NULL, false, NULL);
    if (!r)
        return;
    const rpl_divergence *d = rpl_divergence_at(r, 0);
    CHECKF(d && d->index == at && d->kind == RPL_DIV_DRIVER && d->record_kind == record_kind,
           "%s: %s %s at %llu, expected driver %s at %zu", what,
           d ? rpl_div_kind_name(d->kind) : "nothing", d ? dmt_kind_name(d->record_kind) : "",
           d ? (unsigned long long)d->index : 0ull, dmt_kind_name(record_kind), at);
    if (!d || d->index != at)
        sess_show_report(r);
    rpl_free(r);
}

enum { M_IRQ_READ, M_SG_ADDR, M_SG_LEN };

typedef struct mutation {
    int which;
    uint32_t kind;
} mutation;

/* Mutation m->which of input record i, if it is one that mutation changes:
 * the index of the first record the driver should then produce differently
 * (m->kind its kind), else SIZE_MAX. */
static size_t edit(recs *rs, size_t i, void *user)
{
    mutation *m = user;
    dmt_record *r = &rs->r[i];
    size_t at = SIZE_MAX;
    if (m->which == M_IRQ_READ && r->kind == DMT_K_REG_READ && r->off == DMM_REG_IRQ_STATUS &&
        r->value == 0x1 && i + 1 < rs->n && rs->r[i + 1].kind == DMT_K_REG_WRITE) {
        /* the ISR sees channel 0's error bit too: it acknowledges it (the
         * W1C write right after the read) */
        r->value |= 0x2;
        at = i + 1;
        m->kind = DMT_K_REG_WRITE;
    } else if ((m->which == M_SG_ADDR || m->which == M_SG_LEN) && r->kind == DMT_K_EXECUTE_DMA &&
               r->n_sg >= 2) {
        dmt_sg_elem *e = (dmt_sg_elem *)r->sg_list;
        if (m->which == M_SG_ADDR)
            e[0].addr += 0x10000;
        else
            e[1].len -= 4;
        /* the descriptors written from the list */
        at = recs_find(rs, DMT_K_DESC_WRITE, UINT64_MAX, 0);
        for (unsigned k = 0; at != SIZE_MAX && at <= i; k++)
            at = recs_find(rs, DMT_K_DESC_WRITE, UINT64_MAX, k + 1);
        m->kind = DMT_K_DESC_WRITE;
    }
    return at;
}

/* Mutate an input (the first matching record after the middle of base);
 * returns the index of the first record the driver should then produce
 * differently, *kind its kind. */
static size_t mutate(const char *base, const char *name, int which, char *out, uint32_t *kind)
{
    mutation m = {which, *kind};
    size_t at = recs_mutate(base, name, out, edit, &m);
    *kind = m.kind;
    return at;
}

int main(void)
{
    if (!tk_have_capture("replay_inject_test"))
        return 77;
    const char *const *scen = sess_scenarios;
    char base[512], p[512], q[512];
    for (unsigned i = 0; i < SESS_N_SCENARIOS; i++) {
        char args[256], name[64];
        snprintf(name, sizeof name, "inj_%s.dmat", scen[i]);
        snprintf(args, sizeof args, "--scenario %s --deterministic-clock --seed 3%s", scen[i],
                 i == 3 ? " --transfers 400" : "");
        test_path(p, sizeof p, name);
        if (tk_capture(args, p))
            expect_clean(p, scen[i]);
    }

    test_path(base, sizeof base, "inj_mixed.dmat");
    /* mutated inputs: the driver programs something else, found where */
    static const struct {
        const char *name;
        int which;
    } muts[] = {{"inj_m_irq.dmat", M_IRQ_READ},
                {"inj_m_sgaddr.dmat", M_SG_ADDR},
                {"inj_m_sglen.dmat", M_SG_LEN}};
    for (unsigned m = 0; m < 3; m++) {
        uint32_t kind = 0;
        size_t at = mutate(base, muts[m].name, muts[m].which, p, &kind);
        CHECKF(at != SIZE_MAX, "%s: nothing to mutate", muts[m].name);
        if (at != SIZE_MAX)
            expect_first(p, at, kind, muts[m].name);
    }

    /* the changed-descriptor-layout build: the first DESC_WRITE */
    recs rs;
    CHECK(recs_load(base, &rs) == 0);
    size_t first_desc = recs_find(&rs, DMT_K_DESC_WRITE, UINT64_MAX, 0);
    /* a trace from elsewhere (not `dmatrace capture`): injected by default */
    snprintf(rs.hdr.producer, sizeof rs.hdr.producer, "a windows recorder 1.0");
    test_path(q, sizeof q, "inj_foreign.dmat");
    CHECK(recs_write(q, &rs) == 0);
    recs_free(&rs);
    rpl_replay *r = inject(base, RPL_DRIVER_INJECT, rpl_layout_DriverEntry, false, NULL);
    expect_layout_divergence(r, first_desc);
    rpl_free(r);

    int used = -1;
    r = inject(q, RPL_DRIVER_AUTO, NULL, true, &used);
    CHECKF(used == RPL_DRIVER_INJECT, "foreign trace: mode %d", used);
    CHECK(r && rpl_get_summary(r)->divergences == 0);
    rpl_free(r);
    used = -1;
    r = inject(base, RPL_DRIVER_AUTO, NULL, true, &used);
    CHECKF(used == RPL_DRIVER_REPRODUCE, "capture: mode %d", used);
    CHECK(r && rpl_get_summary(r)->divergences == 0);
    rpl_free(r);

    /* the command line: --inject-inputs, the JSON mode */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s/dmatrace replay --driver --inject-inputs --json %s | grep -q "
             "'\"mode\":\"driver-inject\"'",
             DMT_BIN_DIR, base);
    int st = system(cmd);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "%s/dmatrace replay --inject-inputs %s > /dev/null 2>&1", DMT_BIN_DIR,
             base);
    st = system(cmd);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 2, "--inject-inputs without --driver: usage error");
    return tk_result("replay_inject_test");
}

/*
 * test_replay.c - the dmm-mode replay engine on hand-built sessions:
 * clean sessions (both descriptor revisions, both channels) replay with 0
 * divergences; each mutation of a trace (a register read value, an SG
 * element length, a dropped interrupt, a descriptor byte, a ring register
 * write, a digest, a claimed/unclaimed flip, an extra interrupt) diverges at
 * exactly the mutated record; planted driver faults are caught at the
 * descriptor write; model revisions and errata show as divergences; lost
 * records become limits, not divergences; the text and JSON reports;
 * digest policies and the lazy buffers that verify only what a digest
 * covers; rpl_replay_file gives what feeding the records from memory
 * gives, stops where the engine stops and reports no reader error past it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/digest.h"
#include "dmt/store.h"
#include "dmt/testkit.h"
#include "rpl/replay.h"
#include "rpl/report.h"
#include "session.h"

static rpl_replay *replay(const char *path, const rpl_opts *o)
{
    rpl_replay *r = NULL;
    dmt_error err;
    dmt_error_clear(&err);
    int rc = rpl_replay_file(path, o, &r, &err);
    CHECKF(rc == 0, "replay %s: rc %d: %s (record %llu)", path, rc, err.msg,
           (unsigned long long)err.index);
    return r;
}

static void print_first(const rpl_replay *r)
{
    if (rpl_get_summary(r)->kept) {
        rpl_str s;
        rpl_str_init(&s);
        rpl_report_divergence(&s, rpl_divergence_at(r, 0));
        fprintf(stderr, "%s", s.p);
        rpl_str_free(&s);
    }
}

/* Replay path; expect the first divergence at index `at` of kind `kind`. */
static void expect_first(const char *path, uint64_t at, int kind, const char *what)
{
    rpl_opts o;
    rpl_opts_default(&o);
    rpl_replay *r = replay(path, &o);
    if (!r)
        return;
    const rpl_summary *s = rpl_get_summary(r);
    CHECKF(s->divergences >= 1, "%s: no divergence", what);
    const rpl_divergence *d = rpl_divergence_at(r, 0);
    if (d) {
        CHECKF(d->index == at, "%s: first divergence at record %llu, mutated record %llu", what,
               (unsigned long long)d->index, (unsigned long long)at);
        CHECKF(d->kind == kind, "%s: kind %s, expected %s", what, rpl_div_kind_name(d->kind),
               rpl_div_kind_name(kind));
        if (d->index != at || d->kind != kind)
            print_first(r);
        CHECKF(d->n_context == (at < 5 ? at : 5), "%s: %u context lines", what, d->n_context);
        if (d->n_context)
            CHECK(d->context[d->n_context - 1].index == at - 1);
    }
    CHECK(s->stopped);
    rpl_free(r);
    /* and with --all the first one is the same */
    o.all = true;
    r = replay(path, &o);
    if (r && rpl_get_summary(r)->kept) {
        CHECKF(rpl_divergence_at(r, 0)->index == at, "%s (--all): first at %llu", what,
               (unsigned long long)rpl_divergence_at(r, 0)->index);
        CHECK(!rpl_get_summary(r)->stopped);
    }
    rpl_free(r);
}

static void expect_clean(const char *path, const char *what)
{
    rpl_opts o;
    rpl_opts_default(&o);
    o.all = true;
    rpl_replay *r = replay(path, &o);
    if (!r)
        return;
    const rpl_summary *s = rpl_get_summary(r);
    CHECKF(s->divergences == 0, "%s: %llu divergences", what, (unsigned long long)s->divergences);
    if (s->divergences)
        print_first(r);
    CHECK(s->reg_reads > 0 && s->reg_writes > 0 && s->interrupts > 0 && s->digests > 0);
    CHECK(s->runs > 0 && s->sg_lists > 0 && s->descriptors > 0 && s->program_checks > 0);
    CHECK(s->unverified == 0);
    rpl_free(r);
}

/* ---- clean sessions ----------------------------------------------------- */

static void test_clean(void)
{
    char p[512];
    dmm_config c;
    test_path(p, sizeof p, "clean1.dmat");
    CHECK(sess_standard(p, NULL, 40, 1) == 0);
    expect_clean(p, "rev 1");

    dmm_config_default(&c);
    c.revision = 2;
    c.devmem_size = 8u << 20;
    test_path(p, sizeof p, "clean2.dmat");
    CHECK(sess_standard(p, &c, 40, 2) == 0);
    expect_clean(p, "rev 2");
    /* the model took its configuration from the trace */
    rpl_opts o;
    rpl_opts_default(&o);
    rpl_replay *r = replay(p, &o);
    if (r) {
        const rpl_summary *s = rpl_get_summary(r);
        CHECK(s->model.revision == 2 && s->model.devmem_size == (8u << 20));
        CHECK(s->model_from_trace);
    }
    rpl_free(r);

    dmm_config_default(&c);
    c.addr_bits = 40;
    test_path(p, sizeof p, "clean40.dmat");
    CHECK(sess_standard(p, &c, 30, 3) == 0);
    expect_clean(p, "40 address bits");

    /* XXH64 digests (streamed over the SG elements) are checked as well:
     * clean when right, a divergence at the first wrong one */
    sess_digest_algo = DMT_DIGEST_XXH64;
    test_path(p, sizeof p, "cleanxxh.dmat");
    CHECK(sess_standard(p, NULL, 40, 4) == 0);
    sess_digest_algo = DMT_DIGEST_DMT64;
    expect_clean(p, "xxh64 digests");
    recs rs;
    CHECK(recs_load(p, &rs) == 0);
    size_t at = SIZE_MAX;
    for (size_t i = 0; i < rs.n && at == SIZE_MAX; i++)
        if (rs.r[i].kind == DMT_K_DIGEST) {
            CHECK(rs.r[i].algo == DMT_DIGEST_XXH64);
            rs.r[i].value ^= 1;
            at = i;
        }
    test_path(p, sizeof p, "badxxh.dmat");
    CHECK(at != SIZE_MAX && recs_write(p, &rs) == 0);
    recs_free(&rs);
    rpl_opts o2;
    rpl_opts_default(&o2);
    r = replay(p, &o2);
    if (r) {
        CHECK(rpl_get_summary(r)->divergences == 1);
        CHECK(rpl_get_summary(r)->kept && rpl_divergence_at(r, 0)->index == at);
    }
    rpl_free(r);
}

/* ---- mutations: each diverges at exactly the mutated record ---------------- */

static void mutate_and_expect(const char *base, const char *name, void (*mut)(recs *, size_t *),
                              int kind)
{
    recs rs;
    CHECK(recs_load(base, &rs) == 0);
    size_t at = SIZE_MAX;
    mut(&rs, &at);
    CHECKF(at != SIZE_MAX, "%s: nothing to mutate", name);
    char p[512];
    test_path(p, sizeof p, name);
    CHECK(recs_write(p, &rs) == 0);
    recs_free(&rs);
    if (at != SIZE_MAX)
        expect_first(p, at, kind, name);
}

static void m_reg_read(recs *rs, size_t *at)
{
    /* the 7th channel STATUS read by the ISR (channel 0) */
    size_t i = recs_find(rs, DMT_K_REG_READ, DMM_CH_BASE(0) + DMM_CH_STATUS, 6);
    if (i == SIZE_MAX)
        return;
    rs->r[i].value ^= 0x4; /* ERR bit */
    *at = i;
}

static void m_irq_status_read(recs *rs, size_t *at)
{
    size_t i = recs_find(rs, DMT_K_REG_READ, DMM_REG_IRQ_STATUS, 9);
    if (i == SIZE_MAX)
        return;
    rs->r[i].value ^= 0x8;
    *at = i;
}

static void m_sg_len(recs *rs, size_t *at)
{
    /* a multi-element list: change its second element's length */
    for (size_t i = 0, k = 0; i < rs->n; i++) {
        dmt_record *r = &rs->r[i];
        if (r->kind != DMT_K_EXECUTE_DMA || r->n_sg < 2 || k++ < 3)
            continue;
        ((dmt_sg_elem *)r->sg_list)[1].len -= 0x10;
        *at = i;
        return;
    }
}

static void m_drop_irq(recs *rs, size_t *at)
{
    size_t i = recs_find(rs, DMT_K_INTERRUPT, UINT64_MAX, 11);
    if (i == SIZE_MAX)
        return;
    recs_remove(rs, i);
    *at = i; /* the record that took its place is where the trace diverges */
}

static void m_desc_len(recs *rs, size_t *at)
{
    size_t i = recs_find(rs, DMT_K_DESC_WRITE, UINT64_MAX, 8);
    if (i == SIZE_MAX)
        return;
    uint8_t *b = (uint8_t *)rs->r[i].bytes;
    b[4] ^= 0x20; /* rev 1: length, byte 0 */
    *at = i;
}

static void m_desc_addr(recs *rs, size_t *at)
{
    size_t i = recs_find(rs, DMT_K_DESC_WRITE, UINT64_MAX, 5);
    if (i == SIZE_MAX)
        return;
    uint8_t *b = (uint8_t *)rs->r[i].bytes;
    b[8 + 2] ^= 0x01; /* rev 1: host address, bit 16 */
    *at = i;
}

static void m_desc_magic(recs *rs, size_t *at)
{
    size_t i = recs_find(rs, DMT_K_DESC_WRITE, UINT64_MAX, 3);
    if (i == SIZE_MAX)
        return;
    uint8_t *b = (uint8_t *)rs->r[i].bytes;
    b[3] ^= 0xFF; /* rev 1: magic in ctl bits 31:16 */
    *at = i;
}

static void m_desc_count(recs *rs, size_t *at)
{
    size_t i = recs_find(rs, DMT_K_REG_WRITE, DMM_CH_BASE(1) + DMM_CH_DESC_COUNT, 4);
    if (i == SIZE_MAX)
        return;
    rs->r[i].value += 1;
    *at = i;
}

static void m_desc_lo(recs *rs, size_t *at)
{
    size_t i = recs_find(rs, DMT_K_REG_WRITE, DMM_CH_BASE(0) + DMM_CH_DESC_LO, 2);
    if (i == SIZE_MAX)
        return;
    rs->r[i].value += 0x20;
    *at = i;
}

static void m_digest(recs *rs, size_t *at)
{
    size_t i = recs_find(rs, DMT_K_DIGEST, UINT64_MAX, 6);
    if (i == SIZE_MAX)
        return;
    rs->r[i].value ^= 1;
    *at = i;
}

static void m_digest_c2h(recs *rs, size_t *at)
{
    size_t i = recs_find(rs, DMT_K_DIGEST, UINT64_MAX, 7);
    if (i == SIZE_MAX)
        return;
    rs->r[i].value ^= 0x100;
    *at = i;
}

static void m_unclaim(recs *rs, size_t *at)
{
    size_t i = recs_find(rs, DMT_K_INTERRUPT, UINT64_MAX, 4);
    if (i == SIZE_MAX)
        return;
    rs->r[i].claimed = false;
    *at = i;
}

static void m_extra_irq(recs *rs, size_t *at)
{
    size_t i = recs_find(rs, DMT_K_START_DMA, UINT64_MAX, 9);
    if (i == SIZE_MAX)
        return;
    dmt_record r = rs->r[recs_find(rs, DMT_K_INTERRUPT, UINT64_MAX, 0)];
    r.ts = rs->r[i].ts;
    recs_insert(rs, i, &r);
    *at = i;
}

static void m_drop_ack(recs *rs, size_t *at)
{
    /* the ISR's acknowledge gone: the model's next interrupt cannot rise,
     * and the next claimed interrupt has no edge */
    size_t i = recs_find(rs, DMT_K_REG_WRITE, DMM_REG_IRQ_STATUS, 5);
    if (i == SIZE_MAX)
        return;
    recs_remove(rs, i);
    /* the first observable: the channel STATUS read? no - it still shows
     * DONE; the IRQ_STATUS read of the next ISR shows the stale bit */
    size_t k = i;
    while (k < rs->n && !(rs->r[k].kind == DMT_K_REG_READ && rs->r[k].off == DMM_REG_IRQ_STATUS))
        k++;
    *at = k;
}

static void test_mutations(void)
{
    char base[512];
    test_path(base, sizeof base, "base.dmat");
    CHECK(sess_standard(base, NULL, 40, 7) == 0);
    mutate_and_expect(base, "m_reg_read.dmat", m_reg_read, RPL_DIV_REG_READ);
    mutate_and_expect(base, "m_irq_status.dmat", m_irq_status_read, RPL_DIV_REG_READ);
    mutate_and_expect(base, "m_sg_len.dmat", m_sg_len, RPL_DIV_SG);
    mutate_and_expect(base, "m_drop_irq.dmat", m_drop_irq, RPL_DIV_IRQ_MISSING);
    mutate_and_expect(base, "m_desc_len.dmat", m_desc_len, RPL_DIV_DESCRIPTOR);
    mutate_and_expect(base, "m_desc_addr.dmat", m_desc_addr, RPL_DIV_DESCRIPTOR);
    mutate_and_expect(base, "m_desc_magic.dmat", m_desc_magic, RPL_DIV_DESCRIPTOR);
    mutate_and_expect(base, "m_desc_count.dmat", m_desc_count, RPL_DIV_PROGRAM);
    mutate_and_expect(base, "m_desc_lo.dmat", m_desc_lo, RPL_DIV_PROGRAM);
    mutate_and_expect(base, "m_digest.dmat", m_digest, RPL_DIV_DIGEST);
    mutate_and_expect(base, "m_digest_c2h.dmat", m_digest_c2h, RPL_DIV_DIGEST);
    mutate_and_expect(base, "m_unclaim.dmat", m_unclaim, RPL_DIV_IRQ_MISSING);
    mutate_and_expect(base, "m_extra_irq.dmat", m_extra_irq, RPL_DIV_IRQ_UNEXPECTED);
    mutate_and_expect(base, "m_drop_ack.dmat", m_drop_ack, RPL_DIV_REG_READ);
}

/* ---- reordering a multi-CPU capture may show is not a divergence ---------- */

static void test_reorder_tolerated(void)
{
    char base[512], p[512];
    test_path(base, sizeof base, "reorder_base.dmat");
    CHECK(sess_standard(base, NULL, 20, 9) == 0);
    recs rs;
    CHECK(recs_load(base, &rs) == 0);
    /* the DPC before its INTERRUPT (the DPC thread won the race), and a
     * START_DMA_END between the ISR's acknowledge and its INTERRUPT */
    size_t i = recs_find(&rs, DMT_K_INTERRUPT, UINT64_MAX, 3);
    CHECK(i != SIZE_MAX && rs.r[i + 1].kind == DMT_K_DPC);
    dmt_record t = rs.r[i];
    rs.r[i] = rs.r[i + 1];
    rs.r[i + 1] = t;
    size_t j = recs_find(&rs, DMT_K_INTERRUPT, UINT64_MAX, 6);
    size_t e = recs_find(&rs, DMT_K_START_DMA_END, UINT64_MAX, 6);
    CHECK(j != SIZE_MAX && e != SIZE_MAX && e < j);
    dmt_record end = rs.r[e];
    recs_own(&end);
    recs_remove(&rs, e);
    recs_insert(&rs, j - 2, &end); /* between the ack and the interrupt */
    free((void *)end.bytes);
    test_path(p, sizeof p, "reorder.dmat");
    CHECK(recs_write(p, &rs) == 0);
    recs_free(&rs);
    expect_clean(p, "reordered");
}

/* ---- driver faults are caught where the descriptors are written ------------ */

static void fault_case(unsigned fault, const char *name, int kind, bool at_desc)
{
    char p[512];
    test_path(p, sizeof p, name);
    sess *s = sess_open(p, NULL);
    dmt_sg_elem sg[3] = {{0x11000000, 4096}, {0x11230000, 4096}, {0x11450000, 2048}};
    sess_xfer(s, 0, sg, 3, 0, 11, 0);
    sess_xfer(s, 1, sg, 3, 0, 12, 0);
    uint64_t before = sess_records(s);
    sess_xfer(s, 0, sg, 3, 0x1000, 13, fault);
    sess_xfer(s, 1, sg, 3, 0x1000, 14, 0);
    CHECK(sess_close(s) == 0);
    recs rs;
    CHECK(recs_load(p, &rs) == 0);
    size_t want = SIZE_MAX;
    for (size_t i = before; i < rs.n && want == SIZE_MAX; i++)
        if (rs.r[i].kind == (at_desc ? DMT_K_DESC_WRITE : DMT_K_REG_WRITE) &&
            (at_desc || rs.r[i].off == DMM_CH_BASE(0) + DMM_CH_DESC_COUNT))
            want = i;
    recs_free(&rs);
    expect_first(p, want, kind, name);
}

static void test_faults(void)
{
    fault_case(SF_SKIP_LAST, "f_skip.dmat", RPL_DIV_DESCRIPTOR, true);
    fault_case(SF_DUP_FIRST, "f_dup.dmat", RPL_DIV_DESCRIPTOR, true);
    fault_case(SF_LEN_PLUS1, "f_len.dmat", RPL_DIV_DESCRIPTOR, true);
    fault_case(SF_COUNT_PLUS1, "f_count.dmat", RPL_DIV_PROGRAM, false);
    /* truncation only matters above 4 GiB */
    char p[512];
    test_path(p, sizeof p, "f_trunc.dmat");
    sess *s = sess_open(p, NULL);
    dmt_sg_elem sg[2] = {{0x123456000ull, 4096}, {0x11000000, 4096}};
    uint64_t before = sess_records(s);
    sess_xfer(s, 0, sg, 2, 0, 5, SF_ADDR_TRUNC);
    CHECK(sess_close(s) == 0);
    recs rs;
    CHECK(recs_load(p, &rs) == 0);
    size_t want = SIZE_MAX;
    for (size_t i = before; i < rs.n && want == SIZE_MAX; i++)
        if (rs.r[i].kind == DMT_K_DESC_WRITE)
            want = i;
    recs_free(&rs);
    expect_first(p, want, RPL_DIV_DESCRIPTOR, "f_trunc");
}

/* ---- model revisions and errata ---------------------------------------------- */

static void test_model_config(void)
{
    char p[512];
    test_path(p, sizeof p, "rev1.dmat");
    CHECK(sess_standard(p, NULL, 10, 21) == 0);
    recs rs;
    CHECK(recs_load(p, &rs) == 0);
    size_t id_read = recs_find(&rs, DMT_K_REG_READ, DMM_REG_ID, 0);
    size_t caps_read = recs_find(&rs, DMT_K_REG_READ, DMM_REG_CAPS, 0);
    size_t first_desc = recs_find(&rs, DMT_K_DESC_WRITE, UINT64_MAX, 0);
    recs_free(&rs);

    /* revision 2 model: the ID read, then descriptors it cannot parse */
    rpl_opts o;
    rpl_opts_default(&o);
    o.set_revision = true;
    o.revision = 2;
    rpl_replay *r = replay(p, &o);
    if (r) {
        const rpl_divergence *d = rpl_divergence_at(r, 0);
        CHECK(d && d->index == id_read && d->kind == RPL_DIV_REG_READ);
        CHECK(d && strstr(d->detail, "revision 2") && strstr(d->detail, "revision 1"));
        CHECK(rpl_get_summary(r)->model.revision == 2);
    }
    rpl_free(r);
    o.all = true;
    r = replay(p, &o);
    if (r) {
        const rpl_summary *s = rpl_get_summary(r);
        bool desc = false, status = false;
        for (uint64_t i = 0; i < s->kept; i++) {
            const rpl_divergence *d = rpl_divergence_at(r, i);
            if (d->index == first_desc && d->kind == RPL_DIV_DESCRIPTOR)
                desc = true;
            if (d->kind == RPL_DIV_REG_READ && strstr(d->subject, "STATUS") &&
                strstr(d->detail, "MAGIC"))
                status = true;
        }
        CHECK(desc);
        CHECK(status);
    }
    rpl_free(r);

    /* an erratum: lengths rounded down - odd-length elements move less */
    test_path(p, sizeof p, "odd.dmat");
    sess *s = sess_open(p, NULL);
    dmt_sg_elem sg[2] = {{0x11000000, 4095}, {0x11200000, 4097}};
    sess_xfer(s, 0, sg, 2, 0, 31, 0);
    sess_xfer(s, 1, sg, 2, 0, 32, 0);
    CHECK(sess_close(s) == 0);
    expect_clean(p, "odd lengths");
    rpl_opts_default(&o);
    o.set_errata = true;
    o.errata = DMM_ERRATUM_LEN_ROUND;
    o.all = true;
    r = replay(p, &o);
    if (r) {
        const rpl_summary *sm = rpl_get_summary(r);
        CHECK(sm->divergences >= 2);
        const rpl_divergence *d = rpl_divergence_at(r, 0);
        CHECK(d && d->index == caps_read && d->kind == RPL_DIV_REG_READ);
        bool digest = false;
        for (uint64_t i = 0; i < sm->kept; i++)
            if (rpl_divergence_at(r, i)->kind == RPL_DIV_DIGEST)
                digest = true;
        CHECK(digest);
    }
    rpl_free(r);

    /* 4g-wrap: an element crossing 4 GiB wraps to the bottom of the window */
    dmm_config c;
    dmm_config_default(&c);
    test_path(p, sizeof p, "cross4g.dmat");
    s = sess_open(p, &c);
    dmt_sg_elem x[1] = {{0xFFFFF000ull, 8192}};
    sess_xfer(s, 0, x, 1, 0, 41, 0);
    CHECK(sess_close(s) == 0);
    expect_clean(p, "crossing 4 GiB");
    rpl_opts_default(&o);
    o.set_errata = true;
    o.errata = DMM_ERRATUM_4G_WRAP;
    o.all = true;
    r = replay(p, &o);
    if (r) {
        bool unmapped = false;
        for (uint64_t i = 0; i < rpl_get_summary(r)->kept; i++) {
            const rpl_divergence *d = rpl_divergence_at(r, i);
            if (d->kind == RPL_DIV_REG_READ && strstr(d->detail, "UNMAPPED"))
                unmapped = true;
        }
        CHECK(unmapped);
    }
    rpl_free(r);
}

/* ---- loss ---------------------------------------------------------------------- */

static void test_loss(void)
{
    char base[512], p[512];
    test_path(base, sizeof base, "loss_base.dmat");
    CHECK(sess_standard(base, NULL, 24, 51) == 0);
    recs rs;
    CHECK(recs_load(base, &rs) == 0);
    /* lose a stretch in the middle of transfer 8: its doorbell and ISR */
    size_t i = recs_find(&rs, DMT_K_REG_WRITE, DMM_CH_BASE(0) + DMM_CH_CTRL, 4);
    CHECK(i != SIZE_MAX);
    size_t k = 6;
    for (size_t j = 0; j < k; j++)
        recs_remove(&rs, i);
    dmt_record l;
    memset(&l, 0, sizeof l);
    l.kind = DMT_K_LOST;
    l.ts = rs.r[i].ts;
    l.count = k;
    l.reason = DMT_LOST_RING_FULL;
    recs_insert(&rs, i, &l);
    test_path(p, sizeof p, "loss.dmat");
    CHECK(recs_write(p, &rs) == 0);
    recs_free(&rs);
    rpl_opts o;
    rpl_opts_default(&o);
    o.all = true;
    rpl_replay *r = replay(p, &o);
    if (r) {
        const rpl_summary *s = rpl_get_summary(r);
        CHECKF(s->divergences == 0, "%llu divergences after a loss",
               (unsigned long long)s->divergences);
        if (s->divergences)
            print_first(r);
        CHECK(s->lost_records == k);
        const rpl_limit *lim = rpl_limit_at(r, 0);
        CHECK(lim && lim->kind == RPL_LIMIT_LOST && lim->index == i && lim->count == k);
        rpl_str t;
        rpl_str_init(&t);
        rpl_report_text(&t, r, p);
        CHECK(strstr(t.p, "records lost") != NULL);
        CHECK(strstr(t.p, "0 divergences") != NULL);
        rpl_str_free(&t);
    }
    rpl_free(r);
}

/* ---- reports ------------------------------------------------------------------- */

static void test_reports(void)
{
    char p[512];
    test_path(p, sizeof p, "m_reg_read.dmat"); /* from test_mutations */
    rpl_opts o;
    rpl_opts_default(&o);
    rpl_replay *r = replay(p, &o);
    if (!r)
        return;
    rpl_str s;
    rpl_str_init(&s);
    rpl_report_text(&s, r, p);
    CHECK(strstr(s.p, "divergence at record ") == s.p);
    CHECK(strstr(s.p, "(seq ") && strstr(s.p, ", t=+") &&
          strstr(s.p, " ms): reg_read dev=1 off=0x104"));
    CHECK(strstr(s.p, "trace says 0x6, model returned 0x2"));
    CHECK(strstr(s.p, "(STATUS: DONE; trace: DONE|ERR desc 0)"));
    CHECK(strstr(s.p, "before it:"));
    CHECK(strstr(s.p, "stopped at the first divergence"));
    fprintf(stderr, "--- text report ---\n%s", s.p);
    rpl_str_free(&s);
    rpl_str_init(&s);
    rpl_report_json(&s, r, p, "model", NULL);
    CHECK(json_valid(s.p));
    CHECK(strstr(s.p, "\"format\":\"dmatrace-replay-1\""));
    CHECK(strstr(s.p, "\"divergences\":1,"));
    CHECK(strstr(s.p, "\"kind\":\"reg_read\""));
    CHECK(strstr(s.p, "\"context\":[{\"record\":"));
    rpl_str_free(&s);
    rpl_free(r);

    /* clean replay: the final line */
    test_path(p, sizeof p, "clean1.dmat");
    r = replay(p, &o);
    if (r) {
        rpl_str_init(&s);
        rpl_report_text(&s, r, p);
        char want[64];
        snprintf(want, sizeof want, "%llu records replayed, 0 divergences\n",
                 (unsigned long long)rpl_get_summary(r)->records);
        CHECK(!strcmp(s.p, want));
        rpl_str_free(&s);
        rpl_str_init(&s);
        rpl_report_json(&s, r, "we\"ird\\name\n", "model", "an \"error\"");
        CHECK(json_valid(s.p));
        rpl_str_free(&s);
    }
    rpl_free(r);
}

/* ---- digest policies: what was digested is verified, the rest is not ---------- */

/* A session of one 64 KiB upload (16 pages) whose DIGEST the builder
 * computes with policy, the byte at corrupt flipped (UINT64_MAX: none). */
static void policy_session(const char *path, uint32_t policy, uint64_t corrupt)
{
    dmt_sg_elem sg[16];
    for (uint32_t i = 0; i < 16; i++) {
        sg[i].addr = (0x12000ull + 2 * i) << 12; /* scattered pages */
        sg[i].len = 4096;
    }
    sess_digest_policy = policy;
    sess_corrupt_at = corrupt;
    sess *ss = sess_open(path, NULL);
    REQUIRE(ss != NULL);
    sess_xfer(ss, 0, sg, 16, 0, 77, 0);
    CHECK(sess_close(ss) == 0);
    sess_digest_policy = DMT_DIGEST_FULL;
    sess_corrupt_at = UINT64_MAX;
}

/* Replay path (and the store imported from it: the ranges survive the
 * store); the divergences and the bytes left unverified must be as given. */
static void expect_policy(const char *path, uint64_t divergences, uint64_t verified,
                          uint64_t unverified, const char *what)
{
    char db[512];
    snprintf(db, sizeof db, "%s.db", path);
    dmt_error err;
    CHECKF(dmt_store_import(path, db, NULL, NULL, &err) == 0, "%s: import: %s", what, err.msg);
    const char *files[2] = {path, db};
    for (int k = 0; k < 2; k++) {
        rpl_opts o;
        rpl_opts_default(&o);
        o.all = true;
        rpl_replay *r = replay(files[k], &o);
        if (!r)
            continue;
        const rpl_summary *sm = rpl_get_summary(r);
        CHECKF(sm->divergences == divergences, "%s (%s): %llu divergences", what, files[k],
               (unsigned long long)sm->divergences);
        CHECKF(sm->digest_bytes == verified && sm->digest_unverified == unverified,
               "%s (%s): %llu bytes verified, %llu not", what, files[k],
               (unsigned long long)sm->digest_bytes, (unsigned long long)sm->digest_unverified);
        /* the report says what was not verified: a limit and the summary line */
        bool limit = false;
        for (uint64_t i = 0; i < sm->n_limits && i < RPL_MAX_LIMITS; i++)
            limit |= rpl_limit_at(r, i)->kind == RPL_LIMIT_NOT_VERIFIED &&
                     strstr(rpl_limit_at(r, i)->text, "not verified") != NULL;
        CHECKF(limit == (unverified != 0), "%s (%s): not_verified limit %d", what, files[k], limit);
        rpl_str t;
        rpl_str_init(&t);
        rpl_report_text(&t, r, files[k]);
        CHECKF((strstr(t.p, " not verified (digest policy)") != NULL) == (unverified != 0),
               "%s: report:\n%s", what, t.p);
        rpl_str_free(&t);
        rpl_free(r);
    }
}

static void test_digest_policy(void)
{
    const uint64_t len = 16 * 4096;
    dmt_sg_elem rg[DMT_DIGEST_BOUNDED_MAX_RANGES];
    uint32_t nr = dmt_digest_bounded_ranges(len, rg);
    CHECK(nr == DMT_DIGEST_BOUNDED_MAX_RANGES);
    uint64_t covered = 0;
    for (uint32_t i = 0; i < nr; i++)
        covered += rg[i].len;
    CHECK(covered == DMT_DIGEST_BOUNDED_BUDGET);
    /* a byte between the head and the first sample: outside every range */
    const uint64_t outside = DMT_DIGEST_BOUNDED_HEAD + 100;
    CHECK(outside < rg[1].addr);
    char p[512];

    test_path(p, sizeof p, "policy-full.dmat");
    policy_session(p, DMT_DIGEST_FULL, UINT64_MAX);
    expect_policy(p, 0, len, 0, "full, clean");
    test_path(p, sizeof p, "policy-full-bad.dmat");
    policy_session(p, DMT_DIGEST_FULL, outside);
    expect_policy(p, 1, len, 0, "full, corrupt"); /* the corruption is visible in full */

    test_path(p, sizeof p, "policy-bounded.dmat");
    policy_session(p, DMT_DIGEST_BOUNDED, UINT64_MAX);
    expect_policy(p, 0, covered, len - covered, "bounded, clean");
    /* planted outside the ranges: not a divergence, and not "clean" either:
     * those bytes are reported as not verified */
    test_path(p, sizeof p, "policy-bounded-outside.dmat");
    policy_session(p, DMT_DIGEST_BOUNDED, outside);
    expect_policy(p, 0, covered, len - covered, "bounded, corrupt outside the ranges");
    /* planted inside a range (the head, a sample, the tail): a divergence */
    const uint64_t inside[3] = {10, rg[5].addr + 7, len - 1};
    for (int i = 0; i < 3; i++) {
        test_path(p, sizeof p, "policy-bounded-inside.dmat");
        policy_session(p, DMT_DIGEST_BOUNDED, inside[i]);
        expect_policy(p, 1, covered, len - covered, "bounded, corrupt inside a range");
    }

    test_path(p, sizeof p, "policy-off.dmat");
    policy_session(p, DMT_DIGEST_OFF, outside);
    expect_policy(p, 0, 0, len, "off");
}

/* The model digests a run when asked (device-model/README.md section 10);
 * the replay asks before the channel's next doorbell while the transfer
 * lives.  A transfer's DIGEST (and COMPLETE_DMA) logged after the next
 * transfer on its channel has run - over the same device memory - is still
 * checked against the bytes its own run moved: clean when right, a
 * divergence at that DIGEST when not. */
static void test_digest_after_next_run(void)
{
    char base[512], p[512];
    test_path(base, sizeof base, "later_base.dmat");
    sess *s = sess_open(base, NULL);
    dmt_sg_elem sg[2][2] = {{{0x11000000, 4096}, {0x11230000, 2048}},
                            {{0x12000000, 2048}, {0x12230000, 4096}}};
    for (unsigned ch = 0; ch < 2; ch++) {
        sess_xfer(s, ch, sg[0], 2, 0, 31 + ch, 0);
        sess_xfer(s, ch, sg[1], 2, 0, 41 + ch, 0);
    }
    CHECK(sess_close(s) == 0);
    for (int wrong = 0; wrong < 3; wrong++) {
        recs rs;
        CHECK(recs_load(base, &rs) == 0);
        size_t moved[2] = {SIZE_MAX, SIZE_MAX};
        for (unsigned ch = 0; ch < 2; ch++) {
            /* the channel's first transfer: DIGEST, COMPLETE_DMA and
             * BUFFER_UNLOCK after the doorbell of its second */
            size_t dg = recs_find(&rs, DMT_K_DIGEST, UINT64_MAX, 2 * ch);
            size_t bell = recs_find(&rs, DMT_K_REG_WRITE, DMM_CH_BASE(ch) + DMM_CH_CTRL, 1);
            CHECK(dg != SIZE_MAX && bell != SIZE_MAX && dg + 3 < bell);
            if (dg == SIZE_MAX || bell == SIZE_MAX || dg + 3 >= bell)
                break;
            CHECK(rs.r[dg + 1].kind == DMT_K_COMPLETE_DMA &&
                  rs.r[dg + 2].kind == DMT_K_BUFFER_UNLOCK);
            dmt_record m[3];
            for (int k = 0; k < 3; k++) {
                m[k] = rs.r[dg + (size_t)k];
                recs_own(&m[k]);
            }
            if (wrong == (int)ch + 1)
                m[0].value ^= 1;
            for (int k = 0; k < 3; k++)
                recs_remove(&rs, dg);
            for (int k = 0; k < 3; k++)
                recs_insert(&rs, bell - 2 + (size_t)k, &m[k]);
            moved[ch] = bell - 2;
            for (int k = 0; k < 3; k++) {
                free((void *)m[k].sg_list);
                free((void *)m[k].values);
                free((void *)m[k].bytes);
            }
        }
        test_path(p, sizeof p, wrong ? "later_wrong.dmat" : "later.dmat");
        CHECK(recs_write(p, &rs) == 0);
        recs_free(&rs);
        if (wrong)
            expect_first(p, moved[wrong - 1], RPL_DIV_DIGEST,
                         wrong == 1 ? "to-device digest after the next run, wrong"
                                    : "from-device digest after the next run, wrong");
        else
            expect_clean(p, "digest after the next run");
    }
}

/* Lazy buffers (replay_mdl.c, device-model "Lazy patterns"): an upload's
 * pattern reaches device memory and the buffers read back from it without
 * being written; only the bytes a digest covers are generated.  The session
 * builder's model moves real bytes, so its digests are the eager truth:
 * uploads of two patterns, the second over part of the first's device
 * memory at an offset inside a page, then read-backs through whole pages,
 * half pages and a region that straddles both uploads.  Clean under full and
 * bounded digests; one byte changed in a read-back's digest is a divergence
 * when the digest covers it (full: anywhere, bounded: inside its ranges) and
 * only "not verified" when it does not. */
#define LZ_PAGES 16u
static uint64_t lazy_session(const char *path, uint32_t policy, uint64_t corrupt, uint64_t *covered)
{
    dmt_sg_elem up[LZ_PAGES], half[2 * LZ_PAGES], down[LZ_PAGES];
    for (uint32_t i = 0; i < LZ_PAGES; i++) {
        up[i] = (dmt_sg_elem){(0x21000ull + 2 * i) << 12, 4096};
        down[i] = (dmt_sg_elem){(0x31000ull + 2 * i) << 12, 4096};
        half[2 * i] = (dmt_sg_elem){(0x41000ull + 2 * i) << 12, 2048};
        half[2 * i + 1] = (dmt_sg_elem){((0x41000ull + 2 * i) << 12) + 0x3000, 2048};
    }
    sess_digest_policy = policy;
    sess *ss = sess_open(path, NULL);
    REQUIRE(ss != NULL);
    uint64_t total = 0, cov = 0;
    dmt_sg_elem rg[DMT_DIGEST_BOUNDED_MAX_RANGES];
    struct {
        unsigned ch;
        const dmt_sg_elem *sg;
        uint32_t n;
        uint64_t dev;
    } plan[] = {
        {0, up, LZ_PAGES, 0},              /* pattern A -> device 0 .. 64 KiB */
        {1, down, LZ_PAGES, 0},            /* read back: A */
        {0, up, 4, 0x1800},                /* pattern B over 0x1800 .. 0x5800 */
        {1, half, 2 * LZ_PAGES, 0},        /* half pages: A, B, A */
        {1, down, LZ_PAGES, 0},            /* whole pages again: A, B, A */
        {0, down, LZ_PAGES, 0x20000},      /* another upload, device 128 KiB on */
        {1, up + 2, LZ_PAGES - 2, 0x20000} /* and read: its digest may be corrupt */
    };
    const size_t np = sizeof plan / sizeof plan[0];
    for (size_t k = 0; k < np; k++) {
        uint64_t len = (uint64_t)plan[k].n * plan[k].sg[0].len;
        uint32_t nr = dmt_digest_bounded_ranges(len, rg);
        uint64_t c = len;
        if (policy == DMT_DIGEST_BOUNDED && nr) {
            c = 0;
            for (uint32_t i = 0; i < nr; i++)
                c += rg[i].len;
        }
        total += len;
        cov += c;
        sess_corrupt_at = k + 1 == np ? corrupt : UINT64_MAX;
        sess_xfer(ss, plan[k].ch, plan[k].sg, plan[k].n, plan[k].dev, 100 + k, 0);
    }
    sess_corrupt_at = UINT64_MAX;
    sess_digest_policy = DMT_DIGEST_FULL;
    CHECK(sess_close(ss) == 0);
    *covered = cov;
    return total;
}

static void test_lazy_buffers(void)
{
    char p[512];
    uint64_t cov, total;
    const uint64_t last = (LZ_PAGES - 2) * 4096ull;
    dmt_sg_elem rg[DMT_DIGEST_BOUNDED_MAX_RANGES];
    CHECK(dmt_digest_bounded_ranges(last, rg) == DMT_DIGEST_BOUNDED_MAX_RANGES);
    const uint64_t outside = DMT_DIGEST_BOUNDED_HEAD + 100, inside = rg[7].addr + 3;
    CHECK(outside < rg[1].addr);

    test_path(p, sizeof p, "lazy-full.dmat");
    total = lazy_session(p, DMT_DIGEST_FULL, UINT64_MAX, &cov);
    expect_policy(p, 0, total, 0, "lazy buffers, full, clean");
    uint64_t bad[3] = {0, outside, last - 1};
    for (int i = 0; i < 3; i++) {
        test_path(p, sizeof p, "lazy-full-bad.dmat");
        total = lazy_session(p, DMT_DIGEST_FULL, bad[i], &cov);
        expect_policy(p, 1, total, 0, "lazy buffers, full, one byte changed");
    }

    test_path(p, sizeof p, "lazy-bounded.dmat");
    total = lazy_session(p, DMT_DIGEST_BOUNDED, UINT64_MAX, &cov);
    CHECK(cov < total);
    expect_policy(p, 0, cov, total - cov, "lazy buffers, bounded, clean");
    test_path(p, sizeof p, "lazy-bounded-outside.dmat");
    lazy_session(p, DMT_DIGEST_BOUNDED, outside, &cov);
    expect_policy(p, 0, cov, total - cov, "lazy buffers, bounded, changed outside the ranges");
    test_path(p, sizeof p, "lazy-bounded-inside.dmat");
    lazy_session(p, DMT_DIGEST_BOUNDED, inside, &cov);
    expect_policy(p, 1, cov, total - cov, "lazy buffers, bounded, changed inside a range");
}

/* ---- whole files: stops and reader errors --------------------------------------- */

/* rpl_replay_file must give what feeding the same records from memory
 * gives, whatever it reads ahead of the engine (a batching reader was
 * measured, BENCHMARKS.md Replay).  n scratch writes with
 * one read of a wrong value at `bad`, all in one chunk; with `damage` a
 * byte of the last write's value is changed, so the chunk's CRC fails at
 * the end of the file - after the stop when the replay stops at `bad`. */
static void scratch_trace(const char *path, size_t n, size_t bad, bool damage)
{
    recs rs;
    memset(&rs, 0, sizeof rs);
    snprintf(rs.hdr.producer, sizeof rs.hdr.producer, "test_replay");
    snprintf(rs.hdr.clock, sizeof rs.hdr.clock, "deterministic");
    rs.r = calloc(n, sizeof *rs.r);
    CHECK(rs.r != NULL);
    if (!rs.r)
        return;
    rs.n = rs.cap = n;
    for (size_t i = 0; i < n; i++) {
        dmt_record *r = &rs.r[i];
        r->kind = i == bad ? DMT_K_REG_READ : DMT_K_REG_WRITE;
        r->ts = (int64_t)i * 10;
        r->seq = i;
        r->width = 4;
        r->off = DMM_REG_SCRATCH;
        r->value = i == bad ? 0x5A5A5A5Au : 0x12345670u + (uint32_t)i;
    }
    CHECK(recs_write(path, &rs) == 0);
    free(rs.r);
    if (!damage)
        return;
    recs back;
    CHECK(recs_load(path, &back) == 0);
    /* the last byte of the last write: its value's low byte */
    uint64_t at = back.n == n ? back.r[n - 1].pos : 0;
    recs_free(&back);
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL && at > 0);
    if (!f)
        return;
    uint8_t b[16];
    CHECK(fseek(f, (long)at, SEEK_SET) == 0 && fread(b, 1, sizeof b, f) == sizeof b);
    /* find 0x12345670 + n - 1 encoded big-endian and change its low byte */
    uint32_t want = 0x12345670u + (uint32_t)(n - 1);
    long hit = -1;
    for (int i = 0; i + 4 <= (int)sizeof b && hit < 0; i++)
        if (((uint32_t)b[i] << 24 | (uint32_t)b[i + 1] << 16 | (uint32_t)b[i + 2] << 8 |
             b[i + 3]) == want)
            hit = i + 3;
    CHECK(hit >= 0);
    if (hit >= 0) {
        uint8_t x = b[hit] ^ 0x01u;
        CHECK(fseek(f, (long)at + hit, SEEK_SET) == 0 && fwrite(&x, 1, 1, f) == 1);
    }
    fclose(f);
}

static void test_file_stops(void)
{
    char path[512];
    /* divergences at the start, around 32 and 64 records and near the end */
    static const size_t bads[] = {0, 1, 30, 31, 32, 33, 63, 64, 70};
    for (size_t k = 0; k < sizeof bads / sizeof bads[0]; k++) {
        const size_t n = 75;
        test_path(path, sizeof path, "scratch.dmat");
        scratch_trace(path, n, bads[k], false);
        recs rs;
        CHECK(recs_load(path, &rs) == 0);
        for (int all = 0; all < 2; all++) {
            rpl_opts o;
            rpl_opts_default(&o);
            o.all = all;
            rpl_replay *rf = replay(path, &o);
            dmt_error err;
            rpl_replay *rm = rpl_new(&o, &err);
            CHECK(rm != NULL);
            if (!rf || !rm) {
                rpl_free(rf);
                rpl_free(rm);
                continue;
            }
            rpl_set_header(rm, &rs.hdr);
            for (size_t i = 0; i < rs.n; i++)
                if (rpl_feed(rm, &rs.r[i], &err) != 0)
                    break;
            rpl_finish(rm);
            const rpl_summary *a = rpl_get_summary(rf), *b = rpl_get_summary(rm);
            CHECKF(a->records == b->records && a->records == (all ? n : bads[k] + 1),
                   "bad at %zu, all %d: %llu records from the file, %llu from memory", bads[k], all,
                   (unsigned long long)a->records, (unsigned long long)b->records);
            CHECK(a->divergences == 1 && b->divergences == 1);
            CHECK(a->reg_writes == b->reg_writes && a->reg_reads == b->reg_reads);
            CHECK(a->stopped == !all && b->stopped == !all);
            CHECK(rpl_divergence_at(rf, 0) && rpl_divergence_at(rf, 0)->index == bads[k]);
            rpl_free(rf);
            rpl_free(rm);
        }
        recs_free(&rs);
    }
    /* a stop 5 records before a damaged chunk's end: no error (the reader
     * never got there); replaying on (--all) meets the error */
    test_path(path, sizeof path, "scratch_damaged.dmat");
    scratch_trace(path, 40, 35, true);
    rpl_opts o;
    rpl_opts_default(&o);
    rpl_replay *r = replay(path, &o);
    CHECK(r && rpl_get_summary(r)->stopped && rpl_get_summary(r)->records == 36);
    rpl_free(r);
    o.all = true;
    r = NULL;
    dmt_error err;
    dmt_error_clear(&err);
    int rc = rpl_replay_file(path, &o, &r, &err);
    CHECKF(rc == DMT_E_CHECKSUM, "damaged chunk, --all: rc %d (%s)", rc, err.msg);
    CHECK(err.code == DMT_E_CHECKSUM && strstr(err.msg, "CRC-32C") != NULL);
    CHECK(r && rpl_get_summary(r)->records == 40);
    rpl_free(r);
}

int main(void)
{
    test_clean();
    test_mutations();
    test_reorder_tolerated();
    test_faults();
    test_model_config();
    test_loss();
    test_reports();
    test_digest_policy();
    test_digest_after_next_run();
    test_lazy_buffers();
    test_file_stops();
    return tk_result("replay_test");
}
